//! `bcr train` end to end: the real binary on the gym's tiny warm-start model
//! with a handful of problems written to a temporary directory (two steps,
//! then `--resume` to a third); and its one-line config errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcr")).args(args).output().unwrap_or_else(|e| panic!("cannot run bcr: {e}"))
}

/// A tiny problems JSONL and a config training the warm start on it:
/// N = 2, G = 2, B = 1, a 32-token budget, a checkpoint every step.
fn write_run(dir: &Path) -> PathBuf {
    let problems: String = (0..8)
        .map(|i| {
            format!(
                "{{\"id\":\"p{i}\",\"question\":\"What is {i} + {}?\",\"answer\":\"{}\",\"difficulty\":{}}}\n",
                i + 1,
                2 * i + 1,
                i % 2
            )
        })
        .collect();
    let data = dir.join("problems.jsonl");
    std::fs::write(&data, problems).unwrap_or_else(|e| panic!("{e}"));
    let model = root().join("assets/demo/warm-start");
    let cfg = format!(
        "[model]\npath = {model:?}\ndtype = \"f32\"\ndevice = \"cpu\"\n\n\
         [data]\npath = {data:?}\nformat = \"problems\"\nn = [2]\nstrategy = \"random\"\nbudget = 32\n\n\
         [rollout]\ngroup_size = 2\npacks_per_step = 1\n\n\
         [algo]\nfilter_equal_groups = false\n\n\
         [optim]\nlr = 1e-4\nmicro_batch = 2\n\n\
         [run]\nsteps = 2\nsave_every = 1\nseed = 0\nout_dir = {out:?}\nkeep_checkpoints = 1\n",
        model = model.display().to_string(),
        data = data.display().to_string(),
        out = dir.join("run").display().to_string(),
    );
    let path = dir.join("train.toml");
    std::fs::write(&path, cfg).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn tiny_run_logs_checkpoints_and_resumes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = write_run(dir.path());
    let run_dir = dir.path().join("run");
    let run = bcr(&["train", "--config", cfg.to_str().unwrap_or_default(), "--quiet"]);
    assert!(run.status.success(), "stderr: {}", String::from_utf8_lossy(&run.stderr));
    let lines = metrics(&run_dir);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        let r = l["reward_mean"].as_f64().unwrap_or(f64::NAN);
        assert!(r.is_finite(), "{l}");
    }
    assert!(run_dir.join("summary.json").is_file());
    assert!(run_dir.join("config.toml").is_file());
    let latest = std::fs::read_to_string(run_dir.join("checkpoints/latest")).unwrap_or_default();
    let ckpt = run_dir.join("checkpoints").join(latest.trim());
    assert!(ckpt.join("model.safetensors").is_file(), "no checkpoint at {}", ckpt.display());

    let run_s = run_dir.to_str().unwrap_or_default();
    let resumed = bcr(&["train", "--resume", run_s, "--set", "run.steps=3", "--quiet"]);
    assert!(resumed.status.success(), "stderr: {}", String::from_utf8_lossy(&resumed.stderr));
    let lines = metrics(&run_dir);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[2]["reward_mean"].as_f64().is_some_and(f64::is_finite), "{}", lines[2]);
}

#[test]
fn bad_configs_fail_with_one_line_naming_the_file_or_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = write_run(dir.path());
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[model]\npath = \"x\"\nbogus = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.to_str().unwrap_or_default();
    let bad_s = bad.to_str().unwrap_or_default();
    let cases: [(&[&str], &str); 5] = [
        (&["--config", bad_s], "bogus"),
        (&["--config", cfg_s, "--set", "rollout.group_size=abc"], "rollout.group_size"),
        (&["--config", cfg_s, "--set", "rollout.nokey=1"], "rollout.nokey"),
        (&["--config", cfg_s, "--set", "nokey"], "--set"),
        (&["--config", "/nonexistent/x.toml"], "/nonexistent/x.toml"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["train"];
        all.extend(args);
        let run = bcr(&all);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(needle) && stderr.trim_end().lines().count() == 1, "{args:?}: {stderr}");
    }
    // The bad file's error names the file as well as the key.
    let run = bcr(&["train", "--config", bad_s]);
    assert!(String::from_utf8_lossy(&run.stderr).contains(bad_s));
}
