//! `bcr eval --model GGUF`: the native backend (bcr-model on candle) on the
//! real SmolLM2-135M-Instruct GGUF (`BCR_SMOLLM2_GGUF`; skips when unset).

use std::process::Command;

#[test]
fn native_backend_evaluates_gsm8k_packs() {
    let gguf = match std::env::var("BCR_SMOLLM2_GGUF") {
        Ok(p) if std::path::Path::new(&p).is_file() => p,
        _ => {
            println!("skipped: BCR_SMOLLM2_GGUF is unset or missing (scripts/fetch-smollm2.sh prints it)");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_bcr"))
            .args(["eval", "--model", &gguf, "--benchmarks", "gsm8k", "--limit", "2", "--n", "1,2"])
            .args(["--budget", "8", "--budget-mode", "per-problem", "--concurrency", "2", "--quiet"])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("samples.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "2 packs at N=1, 1 at N=2");
    for l in &lines {
        let max = l["max_tokens"].as_u64().unwrap();
        let tokens = l["completion_tokens"].as_u64().unwrap();
        assert_eq!(l["token_source"], "native");
        assert!(tokens >= 1 && tokens <= max, "{l}");
        assert_eq!(l["finish"] == "length", tokens == max, "{l}");
        assert!(!l["response"].as_str().unwrap().is_empty(), "{l}");
    }
    // Greedy and seeded: a rerun has nothing left to do and changes nothing.
    let o = run();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(out.join("samples.jsonl")).unwrap(), text);
}
