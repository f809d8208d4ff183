//! The resolved configuration of an eval run, stored as `config.toml` in the
//! run directory. The `[run]` table is the run's identity: everything that
//! changes which samples are drawn or how they are graded. Resuming with a
//! different `[run]` is refused with the differing keys named. The
//! `[runtime]` table (endpoint URL, concurrency, timeouts) is informational
//! and may change between sessions (a server restarted on another port).

use crate::{Error, Result};
use bcr_core::BudgetMode;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One problem set of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkSpec {
    /// Name used in keys and reports (`gsm8k`, or a file stem).
    pub name: String,
    /// Problems evaluated (after `limit`).
    pub problems: usize,
    /// FNV-1a hash of the problems' ids, questions and answers, in hex: a
    /// changed file is a different run.
    pub fingerprint: String,
}

/// How a sweep samples and grades: what a user chooses besides the problem
/// sets, the template and the backend (part of a run's identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// Problems per context, in sweep order.
    pub ns: Vec<usize>,
    /// Packings per N (0 = file order, then seeded shuffles).
    pub shuffles: usize,
    /// Draws per pack (avg@k / pass@k).
    pub samples: usize,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus mass.
    pub top_p: f64,
    /// Token budget (see `budget_mode`).
    pub budget: usize,
    /// How the budget scales with N.
    pub budget_mode: BudgetMode,
    /// System message, if any (else the model's template default applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Answer label of the prompt (`Answer k: \boxed{...}`).
    pub label: String,
    /// Only labelled answers count (the strict BCR format).
    #[serde(default)]
    pub require_label: bool,
    /// For N = 1, read answers without a box ("the answer is 7", the last
    /// `$...$`, the last number), as `bcr grade` does.
    #[serde(default = "yes")]
    pub free_form: bool,
    /// Seed of shuffles and per-request sampling seeds.
    pub seed: u64,
}

fn yes() -> bool {
    true
}

impl SweepSettings {
    /// How responses are parsed and rewarded under these settings.
    pub fn reward(&self) -> bcr_core::RewardConfig {
        let extract = match self.free_form {
            true => bcr_core::ExtractOptions::default(),
            false => bcr_core::ExtractOptions::boxed_only(),
        };
        let parse = bcr_core::ParseOptions {
            label: self.label.clone(),
            require_label: self.require_label,
            extract,
            ..bcr_core::ParseOptions::default()
        };
        bcr_core::RewardConfig { parse, ..bcr_core::RewardConfig::default() }
    }
}

/// The identity of a run (`[run]` in `config.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Problem sets, in sweep order.
    pub benchmarks: Vec<BenchmarkSpec>,
    /// Sampling and grading (flattened into `[run]`).
    #[serde(flatten)]
    pub sweep: SweepSettings,
    /// Only the first `limit` problems of each set, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Fingerprint of the prompt template source ([`fingerprint`]).
    pub template: String,
    /// What generates: `http:chat:MODEL`, `http:completions:MODEL` or `native:SPEC`.
    pub backend: String,
}

/// Settings that may change between sessions (`[runtime]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Where problems were read from, per set.
    pub sources: Vec<String>,
    /// Backend description (endpoint URL, model).
    pub backend: String,
    /// Requests in flight.
    pub concurrency: usize,
}

/// The whole `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredConfig {
    /// Identity.
    pub run: RunConfig,
    /// Session settings (the latest session's).
    pub runtime: RuntimeConfig,
}

impl RunConfig {
    /// Rejects values no sweep can run with.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.benchmarks.is_empty() {
            return bad("no benchmark given".into());
        }
        if self.sweep.ns.is_empty() || self.sweep.ns.contains(&0) {
            return bad(format!("--n: every N must be at least 1, got {:?}", self.sweep.ns));
        }
        if self.sweep.samples == 0 || self.sweep.shuffles == 0 {
            return bad(format!(
                "--samples and --shuffles must be at least 1, got {} and {}",
                self.sweep.samples, self.sweep.shuffles
            ));
        }
        if self.sweep.budget == 0 {
            return bad("--budget: must be at least 1, got 0".into());
        }
        if !(self.sweep.temperature >= 0.0 && self.sweep.temperature.is_finite()) {
            return bad(format!("--temperature: must be >= 0, got {}", self.sweep.temperature));
        }
        if !(self.sweep.top_p > 0.0 && self.sweep.top_p <= 1.0) {
            return bad(format!("--top-p: must be in (0, 1], got {}", self.sweep.top_p));
        }
        if let Some(b) = self.benchmarks.iter().find(|b| b.problems == 0) {
            return bad(format!("benchmark `{}`: no problems to evaluate", b.name));
        }
        Ok(())
    }
}

/// Creates `dir` and writes `config.toml`, or checks that an existing one
/// has the same `[run]` (then refreshes `[runtime]`).
pub fn prepare_run_dir(dir: &Path, config: &StoredConfig) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("config.toml");
    if path.exists() {
        let stored = load_config(&path)?;
        let diff = diff_run(&stored.run, &config.run);
        if !diff.is_empty() {
            return Err(Error::ConfigMismatch { dir: dir.to_path_buf(), diff: diff.join("; ") });
        }
    }
    let text = toml::to_string(config).map_err(|e| Error::Invalid(format!("config: cannot write TOML: {e}")))?;
    Ok(bcr_core::run::write_atomic(&path, text.as_bytes())?)
}

/// Reads a run's `config.toml`.
pub fn load_config(path: &Path) -> Result<StoredConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::record(path, 0, e.to_string().replace('\n', " ")))
}

/// Keys whose values differ, as `key: stored -> requested`.
pub fn diff_run(stored: &RunConfig, requested: &RunConfig) -> Vec<String> {
    let (a, b) = (to_map(stored), to_map(requested));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let none = serde_json::Value::Null;
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&none), b.get(k).unwrap_or(&none));
            (x != y).then(|| format!("{k}: {x} -> {y}"))
        })
        .collect()
}

fn to_map(c: &RunConfig) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// 64-bit FNV-1a over `parts`, each followed by a 0xFF separator, in hex.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.as_bytes().iter().chain(&[0xFF]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn run_config() -> RunConfig {
        let sweep = SweepSettings {
            ns: vec![1, 2],
            shuffles: 1,
            samples: 1,
            temperature: 0.0,
            top_p: 1.0,
            budget: 512,
            budget_mode: BudgetMode::PerProblem,
            system: None,
            label: "Answer".into(),
            require_label: false,
            free_form: true,
            seed: 0,
        };
        RunConfig {
            benchmarks: vec![BenchmarkSpec { name: "gsm8k".into(), problems: 5, fingerprint: "ab".into() }],
            sweep,
            limit: Some(5),
            template: "t".into(),
            backend: "http:chat:m".into(),
        }
    }

    fn stored(run: RunConfig, concurrency: usize) -> StoredConfig {
        let runtime = RuntimeConfig { sources: vec!["x".into()], backend: "b".into(), concurrency };
        StoredConfig { run, runtime }
    }

    #[test]
    fn resume_accepts_same_run_and_refuses_changes() {
        let dir = tempfile::tempdir().unwrap();
        prepare_run_dir(dir.path(), &stored(run_config(), 4)).unwrap();
        // Runtime may change.
        prepare_run_dir(dir.path(), &stored(run_config(), 32)).unwrap();
        assert_eq!(load_config(&dir.path().join("config.toml")).unwrap().runtime.concurrency, 32);
        let mut changed = run_config();
        changed.sweep.ns = vec![1, 2, 3];
        changed.sweep.system = Some("be brief".into());
        let err = prepare_run_dir(dir.path(), &stored(changed, 4)).unwrap_err().to_string();
        assert!(err.contains("ns: [1,2] -> [1,2,3]"), "{err}");
        assert!(err.contains("system: null -> \"be brief\""), "{err}");
    }

    #[test]
    fn validate_names_the_bad_value() {
        type Edit = fn(&mut RunConfig);
        let cases: Vec<(Edit, &str)> = vec![
            (|c| c.sweep.ns = vec![1, 0], "every N"),
            (|c| c.sweep.ns.clear(), "every N"),
            (|c| c.sweep.samples = 0, "--samples"),
            (|c| c.sweep.budget = 0, "--budget"),
            (|c| c.sweep.temperature = f64::NAN, "--temperature"),
            (|c| c.sweep.top_p = 0.0, "--top-p"),
            (|c| c.benchmarks[0].problems = 0, "no problems"),
            (|c| c.benchmarks.clear(), "no benchmark"),
        ];
        for (edit, want) in cases {
            let mut c = run_config();
            edit(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        run_config().validate().unwrap();
    }

    #[test]
    fn fingerprints() {
        assert_ne!(fingerprint(["ab", "c"]), fingerprint(["a", "bc"]));
        assert_eq!(fingerprint(["x"]), fingerprint(["x"]));
    }
}
