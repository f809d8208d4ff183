//! `bcr grade` end to end: the real binary on the bundled MATH-500 answers
//! and on hand-written pair files with bad lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn math500() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/benchmarks/math500.jsonl")
}

fn bcr(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bcr"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run bcr: {e}"));
    // Feed stdin from another thread: bcr writes output while it still reads,
    // so writing everything first would deadlock on full pipes.
    let feeder = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => {
            let text = text.to_string();
            Some(std::thread::spawn(move || pipe.write_all(text.as_bytes())))
        }
        _ => None,
    };
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("bcr: {e}"));
    if let Some(f) = feeder {
        f.join().unwrap_or_else(|_| panic!("stdin thread")).unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad output line {l}: {e}")))
        .collect()
}

#[test]
fn all_math500_golds_are_equivalent_to_themselves() {
    let text = std::fs::read_to_string(math500()).unwrap_or_else(|e| panic!("{e}"));
    let mut pairs = String::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        let answer = v["answer"].clone();
        pairs.push_str(&serde_json::json!({"gold": answer, "pred": answer}).to_string());
        pairs.push('\n');
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = write(dir.path(), "pairs.jsonl", &pairs);
    let out = dir.path().join("out.jsonl");
    let run = bcr(&["grade", "--input", s(&input), "--output", s(&out)], None);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let graded = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    let graded: Vec<serde_json::Value> =
        graded.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}"))).collect();
    assert_eq!(graded.len(), 500);
    let wrong: Vec<_> = graded.iter().filter(|g| g["equivalent"] != true).collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("graded 500 pairs: 500 equivalent"));
}

#[test]
fn keeps_order_and_fields_and_flags_bad_records_without_stopping() {
    let input = concat!(
        r#"{"id": 7, "gold": "\\frac12", "pred": "0.5"}"#,
        "\n",
        r#"{"gold": "(1,2)", "pred": "\\{1,2\\}"}"#,
        "\n\n",
        r#"{"gold": "3"}"#,
        "\n",
        r#"{"gold": "3", "pred": 3}"#,
        "\n",
        r#"{"pred": "x", "gold": "x", "equivalent": "stale"}"#,
        "\n",
    );
    let run = bcr(&["grade", "--input", "-"], Some(input));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8_lossy(&run.stdout).to_string();
    let first = text.lines().next().unwrap_or("");
    assert!(first.starts_with(r#"{"id": 7, "gold""#), "key order kept: {first}");
    let out = lines(&run);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0]["equivalent"], true);
    assert_eq!(out[0]["id"], 7);
    assert_eq!(out[1]["equivalent"], false);
    assert_eq!(out[2]["error"], "field `pred`: missing (fields present: gold)");
    assert_eq!(out[3]["error"], "field `pred`: expected a string, found number 3");
    assert_eq!(out[3]["equivalent"], false);
    assert_eq!(out[4]["equivalent"], true);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("5 pairs: 2 equivalent, 1 not, 2 could not be graded"), "{err}");
}

#[test]
fn malformed_json_stops_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input =
        write(dir.path(), "bad.jsonl", "{\"gold\": \"1\", \"pred\": \"1\"}\n\n{\"gold\": \"1\", \"pred\": \n[1, 2]\n");
    let run = bcr(&["grade", "--input", s(&input)], None);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.jsonl:3: field `-`: malformed JSON"), "{err}");

    let array = write(dir.path(), "array.jsonl", "[1, 2]\n");
    let run = bcr(&["grade", "--input", s(&array)], None);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("array.jsonl:1: field `-`: expected a JSON object"));

    let missing = bcr(&["grade", "--input", s(&dir.path().join("nope.jsonl"))], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.jsonl"));
}

#[test]
fn thread_count_does_not_change_the_output() {
    let mut pairs = String::new();
    for k in 0..10_000 {
        let pred = if k % 3 == 0 { format!("\\frac{{{}}}{{2}}", 2 * k) } else { format!("{}", k + 1) };
        pairs.push_str(&serde_json::json!({"gold": k.to_string(), "pred": pred}).to_string());
        pairs.push('\n');
    }
    let one = bcr(&["grade", "--input", "-", "--threads", "1"], Some(&pairs));
    let all = bcr(&["grade", "--input", "-"], Some(&pairs));
    assert!(one.status.success() && all.status.success());
    assert_eq!(one.stdout, all.stdout);
    let out = lines(&one);
    assert_eq!(out.len(), 10_000);
    for (k, o) in out.iter().enumerate() {
        assert_eq!(o["equivalent"], k % 3 == 0, "line {k}");
    }
}
