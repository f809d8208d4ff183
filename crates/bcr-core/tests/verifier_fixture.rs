//! The labelled verifier set (`fixtures/verifier/freeform.tsv`): pairs written
//! for bcr from the categories of free-form answers models write (no box,
//! numbers as people write them, chains, relations, sets, matrices), with
//! hard negatives. Every row must get its expected verdict; a failure lists
//! every row that disagrees.

use std::collections::BTreeMap;

const FIXTURE: &str = include_str!("fixtures/verifier/freeform.tsv");

struct Row<'a> {
    line: usize,
    gold: String,
    pred: String,
    expected: bool,
    category: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    let mut out = Vec::new();
    for (k, line) in FIXTURE.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("gold\t") || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [gold, pred, expected, category] = fields.as_slice() else {
            panic!("freeform.tsv:{}: expected 4 tab-separated fields, found {}", k + 1, fields.len());
        };
        let expected = match *expected {
            "yes" => true,
            "no" => false,
            other => panic!("freeform.tsv:{}: field `expected`: `{other}` is not yes or no", k + 1),
        };
        let unescape = |s: &str| s.replace('⏎', "\n");
        out.push(Row { line: k + 1, gold: unescape(gold), pred: unescape(pred), expected, category });
    }
    out
}

#[test]
fn every_labelled_pair_gets_its_verdict() {
    let rows = rows();
    assert!(rows.len() >= 300, "the set has {} rows, fewer than 300", rows.len());
    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for row in &rows {
        let got = bcr_core::verify(&row.gold, &row.pred);
        let entry = per_category.entry(row.category).or_default();
        entry.1 += 1;
        if got.equivalent == row.expected {
            entry.0 += 1;
        } else {
            failures.push(format!(
                "  line {} [{}] gold {:?} pred {:?}: expected {}, got {:?}",
                row.line, row.category, row.gold, row.pred, row.expected, got
            ));
        }
    }
    let summary: Vec<String> = per_category.iter().map(|(c, (ok, n))| format!("{c} {ok}/{n}")).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree ({}):\n{}",
        failures.len(),
        rows.len(),
        summary.join(", "),
        failures.join("\n")
    );
}

#[test]
fn the_set_has_hard_negatives_in_every_category() {
    let rows = rows();
    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for row in &rows {
        let e = per_category.entry(row.category).or_default();
        e.0 += usize::from(!row.expected);
        e.1 += 1;
    }
    for (category, (negatives, n)) in per_category {
        let share = negatives as f64 / n as f64;
        assert!((0.2..0.5).contains(&share), "{category}: {negatives} negatives of {n}");
    }
}
