//! `bcr compare RUN_A RUN_B`: the paper-style table (BCR paper, Table 1;
//! `BCR.md`) of run B against run A per benchmark and N: accuracy change in
//! points and token change in percent, e.g. a base model (A) against its
//! BCR-trained version (B).

use crate::report::{Row, Summary};
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// One compared benchmark x N.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// Benchmark name.
    pub benchmark: String,
    /// Problems per context.
    pub n: usize,
    /// Accuracy of A and B, in percent.
    pub acc: (f64, f64),
    /// Tokens per problem of A and B.
    pub tokens: (f64, f64),
    /// Reflection phrases per problem of A and B.
    pub reflections: (f64, f64),
    /// Reflection phrases per 1,000 generated tokens of A and B.
    pub reflections_per_1k: (f64, f64),
}

impl Delta {
    /// B minus A, in accuracy points.
    pub fn acc_points(&self) -> f64 {
        self.acc.1 - self.acc.0
    }

    /// Token change of B relative to A, in percent (`None` when A used none).
    pub fn token_change_pct(&self) -> Option<f64> {
        (self.tokens.0 > 0.0).then(|| 100.0 * (self.tokens.1 - self.tokens.0) / self.tokens.0)
    }
}

/// Reads a run directory's `summary.json`.
pub fn load_summary(dir: &Path) -> Result<Summary> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::record(&path, e.line(), e.to_string()))
}

/// Pairs the rows with data in both runs; also returns the `benchmark N=n`
/// labels present in only one.
pub fn compare(a: &Summary, b: &Summary) -> (Vec<Delta>, Vec<String>) {
    let has = |r: &&Row| r.responses > 0;
    let mut deltas = Vec::new();
    let mut unmatched = Vec::new();
    for ra in a.rows.iter().filter(has) {
        match b.rows.iter().filter(has).find(|rb| rb.benchmark == ra.benchmark && rb.n == ra.n) {
            Some(rb) => deltas.push(Delta {
                benchmark: ra.benchmark.clone(),
                n: ra.n,
                acc: (100.0 * ra.accuracy, 100.0 * rb.accuracy),
                tokens: (ra.tokens_per_problem, rb.tokens_per_problem),
                reflections: (ra.reflections_per_problem, rb.reflections_per_problem),
                reflections_per_1k: (ra.reflections_per_1k_tokens, rb.reflections_per_1k_tokens),
            }),
            None => unmatched.push(format!("{} N={} (only in A)", ra.benchmark, ra.n)),
        }
    }
    for rb in b.rows.iter().filter(has) {
        if !a.rows.iter().filter(has).any(|ra| ra.benchmark == rb.benchmark && ra.n == rb.n) {
            unmatched.push(format!("{} N={} (only in B)", rb.benchmark, rb.n));
        }
    }
    (deltas, unmatched)
}

/// The Markdown table, with the two runs named in the header.
pub fn table(a_name: &str, b_name: &str, deltas: &[Delta], unmatched: &[String]) -> String {
    let mut out = format!("A = {a_name}\nB = {b_name}\n\n");
    out.push_str("| benchmark | N | acc A (%) | acc B (%) | Δ acc (pts) | tokens A | tokens B | Δ tokens (%) | reflections/problem A | B | reflections/1k tokens A | B |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for d in deltas {
        let pct = d.token_change_pct().map_or("-".to_string(), |p| format!("{p:+.1}%"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:+.1} | {:.0} | {:.0} | {pct} | {:.2} | {:.2} | {:.1} | {:.1} |",
            d.benchmark,
            d.n,
            d.acc.0,
            d.acc.1,
            d.acc_points(),
            d.tokens.0,
            d.tokens.1,
            d.reflections.0,
            d.reflections.1,
            d.reflections_per_1k.0,
            d.reflections_per_1k.1
        );
    }
    if !unmatched.is_empty() {
        let _ = writeln!(out, "\nNot compared: {}", unmatched.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_and_percentages() {
        type Case = ((f64, f64), (f64, f64), f64, Option<f64>);
        let cases: &[Case] = &[
            ((40.0, 43.3), (1000.0, 374.0), 3.3, Some(-62.6)),
            ((50.0, 46.2), (200.0, 200.0), -3.8, Some(0.0)),
            ((0.0, 0.0), (0.0, 10.0), 0.0, None),
        ];
        for &(acc, tokens, pts, pct) in cases {
            let d = Delta {
                benchmark: "x".into(),
                n: 1,
                acc,
                tokens,
                reflections: (0.0, 0.0),
                reflections_per_1k: (0.0, 0.0),
            };
            assert!((d.acc_points() - pts).abs() < 1e-9, "{acc:?}");
            match (d.token_change_pct(), pct) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{g} vs {w}"),
                (g, w) => assert_eq!(g, w),
            }
        }
        let t = table(
            "base",
            "bcr",
            &[Delta {
                benchmark: "aime25".into(),
                n: 4,
                acc: (10.0, 12.5),
                tokens: (800.0, 200.0),
                reflections: (3.5, 0.25),
                reflections_per_1k: (4.375, 1.5),
            }],
            &["x N=2 (only in A)".into()],
        );
        assert!(
            t.contains("| aime25 | 4 | 10.0 | 12.5 | +2.5 | 800 | 200 | -75.0% | 3.50 | 0.25 | 4.4 | 1.5 |"),
            "{t}"
        );
        assert!(t.contains("Not compared: x N=2 (only in A)"), "{t}");
    }
}
