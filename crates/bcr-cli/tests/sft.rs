//! `bcr sft` end to end: the real binary on the shipped demo config, shrunk
//! with `--set` so it runs in seconds; and its one-line errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/demo-sft.toml")
}

fn bcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcr")).args(args).output().unwrap_or_else(|e| panic!("cannot run bcr: {e}"))
}

const SMALL: [&str; 14] = [
    "--set",
    "model.hidden_size=32",
    "--set",
    "model.num_layers=1",
    "--set",
    "model.intermediate_size=64",
    "--set",
    "data.examples=24",
    "--set",
    "data.vocab_size=300",
    "--set",
    "train.steps=3",
    "--set",
    "train.batch_size=2",
];

#[test]
fn small_run_writes_a_loadable_hf_directory_and_checks_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("warm");
    let out_set = format!("output={}", out.display());
    let cfg = config();
    let mut args = vec!["sft", "--config", cfg.to_str().unwrap_or_default(), "--set", &out_set, "--check", "2"];
    args.extend(SMALL);
    args.extend(["--budget", "8"]);
    let run = bcr(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "stderr: {}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("sft finished: 3 steps"), "{stdout}");
    assert!(stdout.contains("check N=1: 2 packs") && stdout.contains("check N=3: 1 packs"), "{stdout}");
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let log = std::fs::read_to_string(out.join("sft_log.jsonl")).unwrap_or_default();
    assert_eq!(log.lines().count(), 3, "{log}");
}

#[test]
fn bad_config_values_fail_with_one_line_naming_the_field() {
    let cfg = config();
    let cases: [(&[&str], &str); 5] = [
        (&["--set", "train.device=gpu0"], "train.device"),
        (&["--set", "train.steps=0"], "train.steps"),
        (&["--set", "model.num_kv_heads=3"], "model.num_kv_heads"),
        (&["--set", "data.pack_sizes=[]"], "data.pack_sizes"),
        (&["--set", "nokey"], "--set"),
    ];
    for (sets, needle) in cases {
        let mut args = vec!["sft", "--config", cfg.to_str().unwrap_or_default(), "--check-only", "--check", "1"];
        args.extend(sets);
        let run = bcr(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{sets:?}: {stderr}");
        assert!(stderr.contains(needle) && stderr.lines().count() == 1, "{sets:?}: {stderr}");
    }
    let run = bcr(&["sft", "--config", "/nonexistent/x.toml"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("/nonexistent/x.toml"));
}
