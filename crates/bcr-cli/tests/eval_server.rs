//! `bcr eval` against a real OpenAI-compatible server: llama.cpp serving
//! SmolLM2-135M-Instruct on loopback, started by `scripts/llama-server.sh`
//! (which `scripts/test.sh` sources) and found through `BCR_TEST_ENDPOINT`.
//! A few GSM8K problems at N=1 and N=2: samples, token counts, report files.

use std::collections::HashSet;
use std::process::Command;

#[test]
fn gsm8k_at_n1_and_n2_through_a_real_server() {
    let Ok(endpoint) = std::env::var("BCR_TEST_ENDPOINT") else {
        println!("skipped: BCR_TEST_ENDPOINT is unset (start a server with `. scripts/llama-server.sh`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_bcr"))
        .args(["eval", "--endpoint", &endpoint, "--served-model", "smollm2", "--benchmarks", "gsm8k"])
        .args([
            "--limit",
            "4",
            "--n",
            "1,2",
            "--budget",
            "48",
            "--budget-mode",
            "per-problem",
            "--concurrency",
            "2",
            "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let text = std::fs::read_to_string(out.join("samples.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // 4 problems: 4 packs at N=1, 2 at N=2.
    assert_eq!(lines.len(), 6);
    let mut seen = HashSet::new();
    for l in &lines {
        assert!(seen.insert((l["n"].clone(), l["pack_id"].clone())), "duplicate {l}");
        let n = l["problem_ids"].as_array().unwrap().len();
        let tokens = l["completion_tokens"].as_u64().unwrap();
        let max = l["max_tokens"].as_u64().unwrap();
        assert_eq!(max, 48 * n as u64, "{l}");
        assert_eq!(l["token_source"], "usage", "the server reports usage");
        assert!(tokens >= 1 && tokens <= max, "{l}");
        let finish = l["finish"].as_str().unwrap();
        assert!(finish == "stop" || finish == "length", "{l}");
        // A response cut by the budget used the whole budget.
        if finish == "length" {
            assert_eq!(tokens, max, "{l}");
        }
        assert!(!l["response"].as_str().unwrap().is_empty(), "{l}");
        assert_eq!(l["answers"].as_array().unwrap().len(), n);
    }
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].starts_with("gsm8k,1,4,4,4,") && rows[2].starts_with("gsm8k,2,4,2,2,"), "{csv}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| gsm8k | 1 | 4 |") && report.contains("Token counts from usage: 6 responses"),
        "{report}"
    );
    for f in ["summary.json", "scaling.svg", "scaling.png"] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 1000, "{f} too small");
    }
}
