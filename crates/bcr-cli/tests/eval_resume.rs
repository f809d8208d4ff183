//! Kill `bcr eval` midway and rerun the same command: the second session
//! asks only for what is missing, and every sample ends up present once.
//! Resuming with a different config is refused with the differing key.

mod eval_support;

use eval_support::{eval_cmd, key, problem_file, sample_lines, start};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn killed_run_resumes_without_loss_or_duplicates() {
    let server = start(Arc::new(|_, _| None), Duration::from_millis(60));
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 40);
    let out = dir.path().join("run");
    let args = ["--n", "1,2", "--concurrency", "2"];
    let mut child = eval_cmd(&server.url, &problems, &out, &args).spawn().unwrap();
    // Wait (bounded) until some samples are on disk, then kill hard.
    let mut waited = 0;
    while sample_lines(&out).len() < 10 && waited < 600 {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = sample_lines(&out).len();
    assert!((10..60).contains(&done), "killed after {done} samples");

    // Let the server finish the requests the killed client had in flight
    // (their answers were never recorded, so they are asked again).
    let mut waited = 0;
    while server.stats.answered.load(Ordering::SeqCst) < server.stats.received.load(Ordering::SeqCst) && waited < 100 {
        std::thread::sleep(Duration::from_millis(20));
        waited += 1;
    }
    let before = server.stats.answered.load(Ordering::SeqCst);
    let status = eval_cmd(&server.url, &problems, &out, &args).status().unwrap();
    assert!(status.success());
    // 40 packs at N=1 + 20 at N=2; the second session asked only for the rest.
    let lines = sample_lines(&out);
    assert_eq!(lines.len(), 60);
    assert_eq!(lines.iter().map(key).collect::<HashSet<_>>().len(), 60, "a key was written twice");
    assert_eq!(server.stats.answered.load(Ordering::SeqCst) - before, 60 - done);

    // A third run has nothing to do and asks nothing.
    let o = eval_cmd(&server.url, &problems, &out, &args).output().unwrap();
    assert!(o.status.success());
    assert_eq!(server.stats.answered.load(Ordering::SeqCst) - before, 60 - done);
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
}

#[test]
fn truncated_last_line_is_dropped_and_rerun() {
    let server = start(Arc::new(|_, _| None), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 4);
    let out = dir.path().join("run");
    assert!(eval_cmd(&server.url, &problems, &out, &["--n", "1"]).status().unwrap().success());
    // Simulate a crash mid-write: cut the last line in half.
    let path = out.join("samples.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let keep = text.trim_end().rfind('\n').unwrap() + 1 + 20;
    std::fs::write(&path, &text[..keep]).unwrap();
    assert_eq!(sample_lines(&out).len(), 3);

    let before = server.stats.answered.load(Ordering::SeqCst);
    assert!(eval_cmd(&server.url, &problems, &out, &["--n", "1"]).status().unwrap().success());
    assert_eq!(server.stats.answered.load(Ordering::SeqCst) - before, 1);
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after.lines().count(), 4);
    assert!(after.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

#[test]
fn resuming_with_a_different_config_is_refused() {
    let server = start(Arc::new(|_, _| None), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 3);
    let out = dir.path().join("run");
    assert!(eval_cmd(&server.url, &problems, &out, &["--n", "1"]).status().unwrap().success());
    let o = eval_cmd(&server.url, &problems, &out, &["--n", "1,2", "--temperature", "0.5"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("different config")
            && stderr.contains("ns: [1] -> [1,2]")
            && stderr.contains("temperature: 0.0 -> 0.5"),
        "{stderr}"
    );
    // Runtime settings (concurrency, endpoint) may change.
    let o = eval_cmd(&server.url, &problems, &out, &["--n", "1", "--concurrency", "3"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
