//! `bcr pack` end to end: the real binary on the bundled MATH-500 file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn math500() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/benchmarks/math500.jsonl")
}

fn bcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcr")).args(args).output().unwrap_or_else(|e| panic!("cannot run bcr: {e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

fn read_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad output line {l}: {e}"))).collect()
}

#[test]
fn sequential_math500_n3_gives_167_packs_covering_every_problem_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("p.jsonl");
    let run = bcr(&["pack", "--input", s(&math500()), "--n", "3", "--strategy", "sequential", "--output", s(&out)]);
    assert!(run.status.success(), "stderr: {}", String::from_utf8_lossy(&run.stderr));
    let packs = read_lines(&out);
    assert_eq!(packs.len(), 167);
    let mut ids = Vec::new();
    for (i, pack) in packs.iter().enumerate() {
        let problems = pack["problems"].as_array().unwrap_or_else(|| panic!("pack {i} has no problems"));
        assert_eq!(pack["n"].as_u64(), Some(problems.len() as u64));
        assert_eq!(problems.len(), if i < 166 { 3 } else { 2 }, "pack {i}");
        ids.extend(problems.iter().filter_map(|p| p["id"].as_str().map(str::to_string)));
    }
    assert_eq!(ids.len(), 500);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
    // Sequential keeps the file order.
    assert_eq!(ids[0], "test/precalculus/807.json");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("packed 500 problems") && stderr.contains("167 packs"), "{stderr}");
}

#[test]
fn stratified_by_benchmark_name_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for out in [&a, &b] {
        let run = bcr(&["pack", "--input", "math500", "--n", "4", "--seed", "5", "--output", s(out)]);
        assert!(run.status.success(), "stderr: {}", String::from_utf8_lossy(&run.stderr));
    }
    let (pa, pb) = (read_lines(&a), read_lines(&b));
    assert_eq!(pa, pb);
    assert_eq!(pa.len(), 125);
    assert_eq!(pa[0]["pack_id"].as_str(), Some("stratified-5-0"));
}

#[test]
fn malformed_line_exits_1_with_one_line_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = dir.path().join("broken.jsonl");
    let good = r#"{"problem":"1+1?","answer":"2","level":1,"unique_id":"a"}"#;
    let bad = r#"{"problem":"2+2?","answer":"4","level":"hard","unique_id":"b"}"#;
    std::fs::write(&input, format!("{good}\n{bad}\n{{not json\n")).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("p.jsonl");
    let run = bcr(&["pack", "--input", s(&input), "--n", "2", "--output", s(&out)]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {}:2: field `level`", input.display())), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // With --skip-invalid the two bad lines are counted and the rest is packed.
    let run = bcr(&["pack", "--input", s(&input), "--n", "2", "--skip-invalid", "--output", s(&out)]);
    assert!(run.status.success(), "stderr: {}", String::from_utf8_lossy(&run.stderr));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("skipped 2 invalid record(s)"), "{stderr}");
    assert_eq!(read_lines(&out).len(), 1);
}

#[test]
fn bad_flags_and_missing_input_are_user_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("p.jsonl");
    let run = bcr(&["pack", "--input", "no/such/file.jsonl", "--n", "3", "--output", s(&out)]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no/such/file.jsonl"));
    let run = bcr(&["pack", "--input", s(&math500()), "--n", "0", "--output", s(&out)]);
    assert_ne!(run.status.code(), Some(0));
    let run = bcr(&["pack", "--input", s(&math500()), "--n", "3", "--format", "csv", "--output", s(&out)]);
    assert_ne!(run.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown format `csv`"));
}

#[test]
fn help_explains_each_strategy_with_a_math500_example() {
    let run = bcr(&["pack", "--help"]);
    assert!(run.status.success());
    let help = String::from_utf8_lossy(&run.stdout);
    for words in ["sequential", "random", "stratified", "data/benchmarks/math500.jsonl", "--skip-invalid", "--format"] {
        assert!(help.contains(words), "help lacks {words:?}:\n{help}");
    }
}
