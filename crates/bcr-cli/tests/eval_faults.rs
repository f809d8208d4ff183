//! `bcr eval` against a fault-injecting OpenAI-compatible server on loopback:
//! every request first meets one or two faults (dropped connection, 500,
//! 503, 429 with Retry-After, malformed JSON, a stall past the timeout), and
//! the run still completes with every sample present exactly once and graded.

mod eval_support;

use eval_support::{eval_cmd, key, problem_file, sample_lines, start, Fault};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const FAULTS: [Fault; 6] =
    [Fault::Drop, Fault::Status500, Fault::Status429, Fault::Malformed, Fault::Stall, Fault::Status503];

#[test]
fn faulty_server_loses_and_duplicates_nothing() {
    // Attempt 0 always fails; attempt 1 fails for every other request; then success.
    let plan = Arc::new(|seed: u64, attempt: usize| match attempt {
        0 => Some(FAULTS[(seed % 6) as usize]),
        1 if seed.is_multiple_of(2) => Some(FAULTS[((seed / 6) % 6) as usize]),
        _ => None,
    });
    let server = start(plan, Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 7);
    let out = dir.path().join("run");
    let status = eval_cmd(
        &server.url,
        &problems,
        &out,
        &["--n", "1,2,3", "--samples", "2", "--concurrency", "6", "--timeout", "1"],
    )
    .status()
    .unwrap();
    assert!(status.success());

    // 7 problems: N=1 -> 7 packs, N=2 -> 4, N=3 -> 3; x 2 samples.
    let lines = sample_lines(&out);
    assert_eq!(lines.len(), (7 + 4 + 3) * 2);
    let keys: HashSet<String> = lines.iter().map(key).collect();
    assert_eq!(keys.len(), lines.len(), "a key was written twice");
    for l in &lines {
        assert!(l["correct"].as_array().unwrap().iter().all(|c| c == true), "{l}");
        assert!(l["attempts"].as_u64().unwrap() >= 2, "{l}");
        assert_eq!(l["token_source"], "usage");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for row in summary["rows"].as_array().unwrap() {
        assert_eq!(row["accuracy"], 1.0, "{row}");
        assert_eq!(row["responses"], row["expected"], "{row}");
        assert_eq!(row["tokens_per_problem"], 5.0, "{row}");
    }
    for f in ["summary.csv", "report.md", "scaling.svg", "scaling.png", "config.toml", "metrics.jsonl"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn requests_failing_every_retry_are_rerun_by_the_next_session() {
    // Seeds divisible by 3 always fail with 500 in the first session.
    let flaky = Arc::new(|seed: u64, _attempt: usize| seed.is_multiple_of(3).then_some(Fault::Status500));
    let server = start(flaky, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 9);
    let out = dir.path().join("run");
    let first =
        eval_cmd(&server.url, &problems, &out, &["--n", "1", "--retries", "1", "--concurrency", "4"]).output().unwrap();
    assert_eq!(first.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("requests failed after retries") && stderr.contains("status 500"), "{stderr}");
    let after_first = sample_lines(&out).len();
    assert!(after_first < 9, "some requests should have failed");
    assert!(out.join("report.md").is_file(), "reports are written for what is done");

    let healthy = start(Arc::new(|_, _| None), Duration::ZERO);
    let second = eval_cmd(&healthy.url, &problems, &out, &["--n", "1", "--concurrency", "4"]).output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(healthy.stats.answered.load(std::sync::atomic::Ordering::SeqCst), 9 - after_first);
    let lines = sample_lines(&out);
    assert_eq!(lines.len(), 9);
    assert_eq!(lines.iter().map(key).collect::<HashSet<_>>().len(), 9);
}

#[test]
fn a_client_error_stops_the_run_at_once_with_the_status() {
    // 4xx other than 429/408 is not retried: every request would fail the same way.
    let server = start(Arc::new(|_, _| Some(Fault::Status400)), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 5);
    let out = dir.path().join("run");
    let o = eval_cmd(&server.url, &problems, &out, &["--n", "1", "--concurrency", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("status 400") && stderr.contains("not found"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(server.stats.received.load(std::sync::atomic::Ordering::SeqCst), 1, "no retry, no further request");
}

#[test]
fn unreachable_server_is_one_line_error_naming_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let problems = problem_file(dir.path(), 2);
    let out = dir.path().join("run");
    // Bind then drop a listener: the port is (almost surely) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let o = eval_cmd(&url, &problems, &out, &["--n", "1", "--retries", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
