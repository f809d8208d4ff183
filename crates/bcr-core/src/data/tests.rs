//! Loader tests: the real benchmark files (spot-checked gold answers), the
//! Parquet fixtures, and every kind of bad input.

use super::*;
use crate::Pack;
use std::path::PathBuf;

fn bench(b: Benchmark) -> Vec<Problem> {
    b.load().unwrap_or_else(|e| panic!("{b}: {e}"))
}

fn find<'a>(problems: &'a [Problem], id: &str) -> &'a Problem {
    problems.iter().find(|p| p.id == id).unwrap_or_else(|| panic!("no problem with id {id}"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data").join(name)
}

/// Writes `bytes` to `name` in a fresh temporary directory.
fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    (dir, path)
}

fn load(path: &Path, format: Format, skip_invalid: bool) -> Result<Loaded> {
    load_problems(path, &LoadOptions { format, skip_invalid })
}

#[test]
fn real_benchmarks_have_clean_gold_answers() {
    let checks: &[(Benchmark, &str, &str, &str)] = &[
        (Benchmark::Gsm8k, "0", "18", "Janet"),
        (Benchmark::Gsm8k, "2", "70000", "Josh"),
        (Benchmark::Math500, "test/precalculus/807.json", r"\left( 3, \frac{\pi}{2} \right)", "polar"),
        (Benchmark::Aime24, "60", "204", "Aya"),
        (Benchmark::Aime25, "0", "70", "bases"),
        (Benchmark::Amc23, "0", "27", "Alicia"),
        (Benchmark::Minerva, "0", "1.6", "Magellan"),
        (Benchmark::Minerva, "1", "4.5e33", "white dwarf"),
        (
            Benchmark::Minerva,
            "12",
            r"\frac{2 \pi c^{2} R^{2}}{\lambda^{5}\left[e^{h c /(\lambda k T)}-1\right] d^{2}}",
            "",
        ),
        (Benchmark::Minerva, "30", r"\sqrt{4 \pi G \rho_{0} r_{0}^{2}}", ""),
        (Benchmark::OlympiadBench, "1606", "2", "Xenia"),
        (Benchmark::OlympiadBench, "1664", "69,84", ""),
        (Benchmark::OlympiadBench, "1807", "-2,0,2", ""),
        (Benchmark::OlympiadBench, "1760", r"\angle B E A_{1}=90,\angle A E B_{1}=90", ""),
    ];
    for (b, id, gold, in_question) in checks {
        let problems = bench(*b);
        let p = find(&problems, id);
        assert_eq!(p.answer, *gold, "{b} id {id}");
        assert!(p.question.contains(in_question), "{b} id {id}: {}", p.question);
    }
    let math = bench(Benchmark::Math500);
    assert_eq!(math[0].difficulty, Some(2.0));
    assert!(math.iter().all(|p| p.difficulty.is_some_and(|d| (1.0..=5.0).contains(&d))));
    let amc = bench(Benchmark::Amc23);
    assert!(amc.iter().all(|p| !p.answer.ends_with(".0")), "AMC answers keep no `.0`");
    assert!(amc.iter().any(|p| p.answer == "-1"));
    let gsm = bench(Benchmark::Gsm8k);
    assert!(gsm.iter().any(|p| p.answer == "1,450,000"), "thousands separators stay verbatim");
    assert!(gsm.iter().all(|p| !p.answer.contains("####")));
}

#[test]
fn deepmath_parquet_fixture_loads_with_difficulties() {
    let loaded = load(&fixture("deepmath_sample.parquet"), Format::Auto, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.format, Format::DeepMath);
    assert_eq!(loaded.problems.len(), 48);
    let first = &loaded.problems[0];
    assert_eq!(first.id, "deepmath_sample-1");
    assert_eq!(first.question, "How many positive divisors does $1719$ have?");
    assert_eq!((first.answer.as_str(), first.difficulty), ("6", Some(6.5)));
    // Rows are numbered across the file's three row groups.
    assert_eq!(loaded.problems[47].id, "deepmath_sample-48");
    assert!(loaded.problems.iter().all(|p| p.difficulty.is_some()));
    // The explicit format gives the same problems.
    let explicit = load(&fixture("deepmath_sample.parquet"), Format::DeepMath, false).map(|l| l.problems);
    assert_eq!(explicit.ok(), Some(loaded.problems));
}

#[test]
fn olympiad_list_column_is_joined() {
    let loaded = load(&fixture("olympiad_list.parquet"), Format::Auto, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.format, Format::OlympiadBench);
    let got: Vec<(&str, &str)> = loaded.problems.iter().map(|p| (p.id.as_str(), p.answer.as_str())).collect();
    assert_eq!(got, [("7", "2"), ("8", "x=2, x=-2")]);
}

#[test]
fn parquet_null_cell_names_row_and_field_or_is_skipped() {
    let path = fixture("deepmath_null_question.parquet");
    let err = load(&path, Format::Auto, false).map(|_| ()).unwrap_err();
    let Error::Record { at, field, message } = &err else { panic!("expected a record error, got {err}") };
    assert_eq!((at.line, field.as_str()), (2, "question"));
    assert!(message.contains("found null") && message.contains("Parquet row 2"), "{message}");
    let loaded = load(&path, Format::Auto, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((loaded.problems.len(), loaded.skipped.len()), (2, 1));
    assert_eq!(loaded.problems[1].id, "deepmath_null_question-3");
}

#[test]
fn unreadable_parquet_is_an_input_error() {
    for (name, bytes) in [("bad.parquet", &b"not parquet at all"[..]), ("magic.bin", b"PAR1\x00\x01garbage")] {
        let (_dir, path) = temp_file(name, bytes);
        let err = load(&path, Format::Auto, true).map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::Input { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains("unreadable Parquet"), "{msg}");
    }
}

/// `(file content, format, line, field, words in the message)`.
type BadCase = (&'static [u8], Format, usize, &'static str, &'static str);

#[test]
fn bad_records_name_file_line_and_field() {
    let ok = br#"{"id":"a","question":"1+1?","answer":"2"}"#;
    let cases: Vec<(Vec<u8>, Format, usize, &str, &str)> = [
        (
            &b"{\"id\":\"a\",\"question\":\"q\",\"answer\":\"2\"}\n{\"id\": \"b\", \"question\": \n"[..],
            Format::Auto,
            2,
            "-",
            "malformed JSON",
        ),
        (b"{\"id\":\"b\",\"question\":\"q\"}", Format::Problems, 1, "answer", "missing (fields present: id, question)"),
        (
            b"{\"id\":\"b\",\"question\":5,\"answer\":\"2\"}",
            Format::Problems,
            1,
            "question",
            "expected a string, found number 5",
        ),
        (
            b"{\"id\":\"b\",\"question\":\"q\",\"answer\":[1]}",
            Format::Problems,
            1,
            "answer",
            "found an array of 1 items",
        ),
        (
            b"{\"id\":\"b\",\"question\":\"q\",\"answer\":\"2\",\"difficulty\":\"hard\"}",
            Format::Problems,
            1,
            "difficulty",
            "expected a number, found string \"hard\"",
        ),
        (b"{\"id\":true,\"question\":\"q\",\"answer\":\"2\"}", Format::Problems, 1, "id", "found boolean true"),
        (b"{\"id\":\"b\",\"question\":\"  \",\"answer\":\"2\"}", Format::Problems, 1, "question", "empty"),
        (b"[1, 2]", Format::Problems, 1, "-", "expected a JSON object, found an array"),
        (b"\n\n{\"question\":\"q\",\"answer\":\"\xff\xfe\"}", Format::Gsm8k, 3, "-", "invalid UTF-8 at byte 26"),
        (b"{\"question\":\"q\",\"answer\":\"it is 4\"}", Format::Gsm8k, 1, "answer", "####"),
        (b"{\"problem\":\"q\",\"solution\":\"so 4\"}", Format::Minerva, 1, "solution", "\\boxed"),
        (b"{\"problem\":\"q\",\"answer\":\"4\",\"level\":\"Level ?\"}", Format::Math500, 1, "level", "\"Level ?\""),
        (
            b"{\"question\":\"q\",\"final_answer\":\"['unclosed]\"}",
            Format::OlympiadBench,
            1,
            "final_answer",
            "malformed list",
        ),
        (b"{\"question\":\"q\",\"final_answer\":[]}", Format::OlympiadBench, 1, "final_answer", "empty"),
        (b"{\"question\":\"q\",\"final_answer\":\"4\"}", Format::DeepMath, 1, "difficulty", "missing"),
        (b"{\"problem\":\"q\",\"answer\":null}", Format::Aime, 1, "answer", "found null"),
    ]
    .into_iter()
    .map(|(b, f, l, fl, m): BadCase| (b.to_vec(), f, l, fl, m))
    .chain([([ok.as_slice(), b"\n", ok.as_slice()].concat(), Format::Auto, 2, "id", "already used")])
    .collect();
    for (i, (bytes, format, line, field, words)) in cases.iter().enumerate() {
        let (_dir, path) = temp_file("bad.jsonl", bytes);
        let err = load(&path, *format, false).map(|_| ()).unwrap_err();
        let one_line = err.to_string();
        let Error::Record { at, field: f, message } = err else { panic!("case {i}: not a record error: {one_line}") };
        assert_eq!((at.line, f.as_str()), (*line, *field), "case {i}: {one_line}");
        assert!(message.contains(words), "case {i}: {one_line}");
        assert!(one_line.starts_with(&format!("{}:{line}: field `{field}`", path.display())), "case {i}: {one_line}");
        assert!(!one_line.contains('\n'), "case {i}: one line, got {one_line:?}");
    }
}

#[test]
fn whole_file_problems_are_input_errors_even_when_skipping() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "empty file"),
        (b"\n  \n\r\n", "empty file"),
        (
            b"{\"prompt\":\"x\",\"response\":\"y\"}\n",
            "cannot detect the format from the fields of line 1 (prompt, response)",
        ),
        (b"{\"question\":5,\"answer\":\"#### 1\"}\n[]\n", "no valid records (2 skipped"),
    ];
    for (bytes, words) in cases {
        let (_dir, path) = temp_file("in.jsonl", bytes);
        let err = load(&path, Format::Auto, true).map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::Input { .. }) && err.to_string().contains(words), "{err}");
    }
    let err = load(Path::new("/nonexistent/x.jsonl"), Format::Auto, false).map(|_| ()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("/nonexistent/x.jsonl"), "{err}");
}

#[test]
fn skip_invalid_collects_every_bad_record_in_order() {
    let text = "\u{feff}{\"question\":\"a\",\"answer\":\"#### 1\"}\r\n\
                {\"question\":\"b\",\"answer\":\"no marker\"}\n\
                not json\n\
                \n\
                {\"question\":\"c\",\"answer\":\"x\\n#### 3\"}\n\
                {\"question\":7,\"answer\":\"#### 4\"}";
    let (_dir, path) = temp_file("mixed.jsonl", text.as_bytes());
    let loaded = load(&path, Format::Auto, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.format, Format::Gsm8k);
    let got: Vec<(&str, &str)> = loaded.problems.iter().map(|p| (p.id.as_str(), p.answer.as_str())).collect();
    assert_eq!(got, [("mixed-1", "1"), ("mixed-5", "3")]);
    let lines: Vec<usize> = loaded
        .skipped
        .iter()
        .map(|e| match e {
            Error::Record { at, .. } => at.line,
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(lines, [2, 3, 6]);
    // Without the flag the first bad record stops the load.
    let err = load(&path, Format::Auto, false).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("mixed.jsonl:2: field `answer`"), "{err}");
}

#[test]
fn format_override_wins_over_detection() {
    // GSM8K records read as bcr's own format lack the required `id`.
    let path = benchmark_path(Benchmark::Gsm8k).unwrap_or_else(|e| panic!("{e}"));
    let err = load(&path, Format::Problems, false).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("gsm8k.jsonl:1: field `id`: missing"), "{err}");
}

#[test]
fn problems_and_packs_round_trip_through_jsonl() {
    let problems = bench(Benchmark::Math500);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("problems.jsonl");
    assert_eq!(write_jsonl(&path, &problems).ok(), Some(500));
    let back = load(&path, Format::Auto, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((back.format, &back.problems), (Format::Problems, &problems));

    let packs = vec![Pack::new("a", problems[..3].to_vec()), Pack::new("b", problems[3..4].to_vec())];
    let pack_path = dir.path().join("packs.jsonl");
    assert_eq!(write_jsonl(&pack_path, &packs).ok(), Some(2));
    assert_eq!(read_packs(&pack_path).ok(), Some(packs));
}

#[test]
fn bad_pack_files_name_line_and_field() {
    let p = r#"{"id":"x","question":"q","answer":"1"}"#;
    let cases: Vec<(String, usize, &str, &str)> = vec![
        (format!(r#"{{"pack_id":"a","n":2,"problems":[{p}]}}"#), 1, "n", "is 2 but `problems` holds 1"),
        (
            format!(
                r#"{{"pack_id":"a","n":1,"problems":[{p}]}}{}{{"pack_id":"b","n":1,"problems":[{{"id":"y","question":"q"}}]}}"#,
                "\n"
            ),
            2,
            "problems[0].answer",
            "missing",
        ),
        (r#"{"pack_id":"a","n":-1,"problems":[]}"#.to_string(), 1, "n", "non-negative integer, found number -1"),
        (r#"{"pack_id":"a","n":0,"problems":{}}"#.to_string(), 1, "problems", "expected an array"),
        (r#"{"pack_id":"a","n":1,"problems":[3]}"#.to_string(), 1, "problems[0]", "expected an object, found number 3"),
        (r#"{"n":0,"problems":[]}"#.to_string(), 1, "pack_id", "missing"),
    ];
    for (text, line, field, words) in cases {
        let (_dir, path) = temp_file("packs.jsonl", text.as_bytes());
        let err = read_packs(&path).map(|_| ()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{}:{line}: field `{field}`", path.display())), "{msg}");
        assert!(msg.contains(words), "{msg}");
    }
    let (_dir, path) = temp_file("empty.jsonl", b"\n");
    let err = read_packs(&path).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("empty file: no packs"), "{err}");
}
