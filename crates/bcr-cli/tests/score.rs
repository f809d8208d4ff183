//! `bcr score` end to end: the real binary on small pack and response files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcr")).args(args).output().unwrap_or_else(|e| panic!("cannot run bcr: {e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

fn write_packs(dir: &Path) -> PathBuf {
    let p = |id: &str, q: &str, a: &str| serde_json::json!({"id": id, "question": q, "answer": a});
    let packs = [
        serde_json::json!({"pack_id": "p0", "n": 1, "problems": [p("a", "1+1?", "2")]}),
        serde_json::json!({"pack_id": "p1", "n": 3, "problems": [p("b", "2+3?", "5"), p("c", "x^2=4, x>0", "2"), p("d", "10/4?", "\\frac{5}{2}")]}),
    ];
    let path = dir.join("packs.jsonl");
    std::fs::write(&path, packs.iter().map(|p| format!("{p}\n")).collect::<String>()).unwrap();
    path
}

fn write_lines(path: &Path, lines: &[serde_json::Value]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn outputs(out: &Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn close(a: &serde_json::Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

#[test]
fn scores_several_responses_per_pack_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let responses = dir.path().join("responses.jsonl");
    write_lines(
        &responses,
        &[
            serde_json::json!({"pack_id": "p1", "response": "Answer 1: \\boxed{5}\nAnswer 2: \\boxed{2}\nAnswer 3: \\boxed{2.5}", "response_tokens": 40}),
            serde_json::json!({"pack_id": "p0", "response": "<think>maybe \\boxed{3}</think> so \\boxed{2}"}),
            serde_json::json!({"pack_id": "p1", "response": "Answer 2: \\boxed{-2}\nAnswer 1: \\boxed{5}\nAnswer 3: \\boxed{\\frac{5}{"}),
        ],
    );
    let out = bcr(&["score", "--packs", s(&packs), "--responses", s(&responses)]);
    let got = outputs(&out);
    assert_eq!(got.len(), 3);
    // 1: all three right: 1 + 0.1 * 1
    assert_eq!(got[0]["pack_id"], "p1");
    assert_eq!(got[0]["line"], 1);
    assert_eq!(got[0]["correct"], serde_json::json!([true, true, true]));
    assert!(close(&got[0]["reward"], 1.1));
    // 2: N = 1, the draft inside <think> is ignored
    assert_eq!(got[1]["answers"], serde_json::json!(["2"]));
    assert!(close(&got[1]["reward"], 1.1));
    // 3: right, wrong, cut off: accuracy 1/3, format 2/3 -> 1/3 + 0.1 * 2/3 = 0.4
    assert_eq!(got[2]["correct"], serde_json::json!([true, false, false]));
    assert!(close(&got[2]["accuracy"], 1.0 / 3.0) && close(&got[2]["format"], 2.0 / 3.0));
    assert!(close(&got[2]["reward"], 0.4));
    assert_eq!(
        got[2]["diagnostics"],
        serde_json::json!([{"kind": "out_of_order", "k": 1, "after": 2}, {"kind": "truncated", "k": 3}])
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scored 3 responses to 2 packs"), "{err}");
    assert!(err.contains("mean reward 0.8667"), "{err}"); // (1.1 + 1.1 + 0.4) / 3

    // Flags: format weight 0, and the length penalty -1 * 40 / 80 on the first.
    let out = bcr(&["score", "--packs", s(&packs), "--responses", s(&responses), "--format-weight", "0"]);
    assert!(close(&outputs(&out)[2]["reward"], 1.0 / 3.0));
    let run =
        bcr(&["score", "--packs", s(&packs), "--responses", s(&responses), "--length-penalty", "1", "--budget", "80"]);
    assert_eq!(run.status.code(), Some(1), "response 2 has no response_tokens");
    assert!(String::from_utf8_lossy(&run.stderr).contains("responses.jsonl:2: field `response_tokens`"));
}

#[test]
fn length_penalty_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let line = serde_json::json!({"pack_id": "p0", "response": "\\boxed{2}", "response_tokens": 40});
    let mut child = Command::new(env!("CARGO_BIN_EXE_bcr"))
        .args(["score", "--packs", s(&packs), "--responses", "-", "--length-penalty", "1", "--budget", "80"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{line}\n\n").as_bytes()).unwrap();
    let got = outputs(&child.wait_with_output().unwrap());
    assert!(close(&got[0]["length_penalty"], -0.5));
    assert!(close(&got[0]["reward"], 0.6)); // 1 + 0.1 - 0.5
}

#[test]
fn many_responses_keep_their_order_across_chunks_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let responses = dir.path().join("many.jsonl");
    // 2500 responses (> 2 chunks); response i answers problem 1 of p1 with i mod 7.
    let lines: Vec<serde_json::Value> = (0..2500)
        .map(|i| serde_json::json!({"pack_id": "p1", "response": format!("Answer 1: \\boxed{{{}}}", i % 7)}))
        .collect();
    write_lines(&responses, &lines);
    let out_path = dir.path().join("scores.jsonl");
    let run =
        bcr(&["score", "--packs", s(&packs), "--responses", s(&responses), "--threads", "2", "--output", s(&out_path)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&out_path).unwrap();
    let got: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), 2500);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["line"], i + 1);
        assert_eq!(v["answers"][0], (i % 7).to_string());
        assert_eq!(v["correct"][0], i % 7 == 5, "line {}", i + 1);
    }
}

#[test]
fn bad_inputs_exit_1_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let dup = dir.path().join("dup.jsonl");
    let mut text = std::fs::read_to_string(&packs).unwrap();
    text.push_str(&text.clone());
    std::fs::write(&dup, text).unwrap();
    let cases: Vec<(&str, &str)> = vec![
        (r#"{"pack_id": "nope", "response": "x"}"#, "bad.jsonl:2: field `pack_id`: unknown pack `nope`"),
        (r#"{"pack_id": "p0"}"#, "bad.jsonl:2: field `response`: missing"),
        (r#"{"pack_id": 3, "response": "x"}"#, "bad.jsonl:2: field `pack_id`: expected a string"),
        (r#"{"pack_id": "p0", "response": "x", "response_tokens": -1}"#, "bad.jsonl:2: field `response_tokens`"),
        (r#"{"pack_id": "p0", "#, "bad.jsonl:2: field `-`: malformed JSON"),
        ("[1, 2]", "bad.jsonl:2: field `-`: expected a JSON object"),
    ];
    for (line, needle) in cases {
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, format!("{{\"pack_id\": \"p0\", \"response\": \"\\\\boxed{{2}}\"}}\n{line}\n")).unwrap();
        let out = bcr(&["score", "--packs", s(&packs), "--responses", s(&bad)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{line}: {err}");
        assert!(err.contains(needle), "{line}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{line}: {err}");
    }
    let ok = dir.path().join("ok.jsonl");
    std::fs::write(&ok, "{\"pack_id\": \"p0\", \"response\": \"x\"}\n").unwrap();
    let out = bcr(&["score", "--packs", s(&dup), "--responses", s(&ok)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dup.jsonl: field `pack_id`: `p0` appears twice"));
    let out = bcr(&["score", "--packs", s(&packs), "--responses", s(&ok), "--format-weight=-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("format weight"));
    // --length-penalty needs --budget (a usage error).
    assert!(!bcr(&["score", "--packs", s(&packs), "--responses", s(&ok), "--length-penalty", "1"]).status.success());
}
