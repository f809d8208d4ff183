//! `configs/demo.toml`: what `bcr demo` trains and evaluates.
//!
//! One file holds the task split, the evaluation sweep, the training config
//! every arm shares (the `bcr train` schema under `[train]`) and the arms
//! themselves, each a list of `--set` overrides on that shared config, so
//! the BCR run, the GRPO baseline and the length-penalty ablation differ
//! only where the overrides say. `quick` is a list of overrides on the demo
//! file that `--quick` applies (the CI smoke test).

use std::path::{Path, PathBuf};

use bcr_rl::TrainConfig;
use serde::{Deserialize, Serialize};

use crate::error::{require_nonzero, Error, Result};

/// The whole `configs/demo.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Overrides (`key=value`, as `--set`) applied by `--quick`.
    #[serde(default)]
    pub quick: Vec<String>,
    /// Run directory of the demo (rerunning the same command resumes it).
    pub out: PathBuf,
    /// The SFT warm start every arm starts from (an HF directory).
    pub warm_start: PathBuf,
    /// Seed of the tasks, the training runs and the evaluation samples.
    pub seed: u64,
    /// Training seeds per arm (`seed`, `seed + 1`, ...): each arm is trained
    /// once per seed and the verdicts use the mean over seeds.
    pub seeds: usize,
    /// `[tasks]`: the gym problems.
    pub tasks: TasksSection,
    /// `[eval]`: the task-scaling sweep.
    pub eval: EvalSection,
    /// `[train]`: the training config every arm shares (`bcr train` schema);
    /// the demo sets `model.path`, `data.path`, `run.out_dir` and `run.seed`.
    pub train: TrainConfig,
    /// `[[arm]]`: the training runs.
    #[serde(rename = "arm")]
    pub arms: Vec<ArmSection>,
}

/// `[tasks]`: train and held-out gym problems (never overlapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TasksSection {
    /// Highest difficulty level (1..=5), as in the warm start's corpus.
    pub max_difficulty: u8,
    /// Problems in the training file.
    pub train_problems: usize,
    /// Held-out problems each model is evaluated on, at every N.
    pub test_problems: usize,
}

/// `[eval]`: the sweep over N, through `bcr-eval`'s native backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// Problems per context.
    pub ns: Vec<usize>,
    /// Token budget per problem: a pack of N gets N times this, so the budget
    /// never forces tokens per problem down and the sweep measures what the
    /// model chooses to spend.
    pub budget_per_problem: usize,
    /// Sampling temperature (0 = greedy).
    pub temperature: f64,
    /// Samples per pack (avg@k).
    pub samples: usize,
    /// Packs decoded together.
    pub batch: usize,
}

/// What an arm stands for in the findings of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// BCR: N > 1 problems under one shared budget.
    Bcr,
    /// Standard GRPO at N = 1 with the same per-problem budget.
    Baseline,
    /// The explicit length penalty.
    LengthPenalty,
    /// Anything else (reported, not used by the findings).
    #[default]
    Other,
}

/// `[[arm]]`: one training run from the warm start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSection {
    /// Directory name under `out` (lower-case letters, digits, `-`).
    pub name: String,
    /// Name in the report and the plot.
    pub label: String,
    /// Its role in the findings: `bcr`, `baseline`, `length-penalty` or `other`.
    #[serde(default)]
    pub role: Role,
    /// Overrides of `[train]` for this arm, e.g. `"data.n=[3]"`.
    #[serde(default)]
    pub sets: Vec<String>,
}

impl DemoConfig {
    /// Reads `path`, applies the `quick` overrides when asked, then `sets`
    /// (strict: an unknown key names the nearest valid one), and validates.
    /// Errors name the file and line, or `--set` and the key.
    pub fn load(path: &Path, quick: bool, sets: &[String]) -> Result<Self> {
        let mut cfg: DemoConfig = bcr_core::load_toml(path, &[])?;
        if quick {
            cfg = bcr_core::apply_overrides(&cfg, &cfg.quick.clone())?;
        }
        cfg = bcr_core::apply_overrides(&cfg, sets)?;
        cfg.validate(&path.display().to_string())?;
        Ok(cfg)
    }

    /// Checks every value; errors name `file` and the key.
    pub fn validate(&self, file: &str) -> Result<()> {
        let bad =
            |field: &str, message: String| Error::Config { file: file.to_string(), field: field.to_string(), message };
        if !(crate::tasks::MIN_DIFFICULTY..=crate::tasks::MAX_DIFFICULTY).contains(&self.tasks.max_difficulty) {
            return Err(bad("tasks.max_difficulty", format!("must be in 1..=5, found {}", self.tasks.max_difficulty)));
        }
        require_nonzero(
            file,
            &[
                ("seeds", self.seeds),
                ("tasks.train_problems", self.tasks.train_problems),
                ("tasks.test_problems", self.tasks.test_problems),
                ("eval.budget_per_problem", self.eval.budget_per_problem),
                ("eval.samples", self.eval.samples),
                ("eval.batch", self.eval.batch),
            ],
        )?;
        if self.eval.ns.is_empty() || self.eval.ns.contains(&0) {
            return Err(bad("eval.ns", format!("must be non-empty sizes >= 1, found {:?}", self.eval.ns)));
        }
        if let Some(&n) = self.eval.ns.iter().find(|&&n| !self.tasks.test_problems.is_multiple_of(n)) {
            return Err(bad(
                "tasks.test_problems",
                format!(
                    "must be a multiple of every N in eval.ns (so every pack is full), {} is not a multiple of {n}",
                    self.tasks.test_problems
                ),
            ));
        }
        if !(self.eval.temperature.is_finite() && self.eval.temperature >= 0.0) {
            return Err(bad("eval.temperature", format!("must be finite and >= 0, found {}", self.eval.temperature)));
        }
        let model = &self.train.model;
        // Opened here, not only spelled right: a CPU build asked for a GPU
        // fails before any work, naming the demo's key.
        if let Err(e) = bcr_model::parse_device(&model.device) {
            return Err(bad("train.model.device", e.to_string()));
        }
        if let Err(e) = bcr_model::parse_dtype(&model.dtype) {
            return Err(bad("train.model.dtype", e.to_string()));
        }
        if self.arms.is_empty() {
            return Err(bad("arm", "at least one [[arm]] is needed".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for arm in &self.arms {
            let ok = !arm.name.is_empty()
                && arm.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && arm.name != "warm-start"
                && arm.name != "eval"
                && arm.name != "tasks";
            if !ok {
                return Err(bad(
                    "arm.name",
                    format!("`{}` must be lower-case letters, digits and `-`, and not warm-start/eval/tasks", arm.name),
                ));
            }
            if !seen.insert(arm.name.as_str()) {
                return Err(bad("arm.name", format!("`{}` appears twice", arm.name)));
            }
        }
        Ok(())
    }

    /// The run name of `arm` trained with seed number `i` (`bcr-n3-s0`).
    pub fn run_name(arm: &ArmSection, i: usize) -> String {
        format!("{}-s{i}", arm.name)
    }

    /// The training config of `arm` with seed number `i`: `[train]` with the
    /// demo's paths and seed `seed + i`, then the arm's overrides; validated.
    pub fn arm_train_config(&self, arm: &ArmSection, i: usize, train_file: &Path) -> Result<TrainConfig> {
        let mut base = self.train.clone();
        base.model.path = self.warm_start.display().to_string();
        base.data.path = train_file.display().to_string();
        base.data.format = "problems".into();
        base.run.out_dir = self.out.join(Self::run_name(arm, i)).display().to_string();
        base.run.seed = self.seed.wrapping_add(i as u64);
        let cfg = bcr_core::apply_overrides(&base, &arm.sets)?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/demo.toml")
    }

    #[test]
    fn shipped_config_loads_full_and_quick() {
        let full = DemoConfig::load(&shipped(), false, &[]).unwrap();
        let quick = DemoConfig::load(&shipped(), true, &[]).unwrap();
        assert_eq!(full.eval.ns, vec![1, 2, 3, 4, 6, 8]);
        assert!(quick.train.run.steps < full.train.run.steps);
        assert!(quick.tasks.test_problems < full.tasks.test_problems);
        assert_ne!(quick.out, full.out, "--quick must not resume a full run");
        for arm in &full.arms {
            let cfg = full.arm_train_config(arm, 1, Path::new("train.jsonl")).unwrap();
            assert_eq!(cfg.run.out_dir, full.out.join(format!("{}-s1", arm.name)).display().to_string());
            assert_eq!(cfg.run.seed, full.seed + 1);
        }
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases: &[(&str, &str)] = &[
            ("eval.ns=[]", "eval.ns"),
            ("tasks.test_problems=50", "tasks.test_problems"),
            ("tasks.max_difficulty=9", "tasks.max_difficulty"),
            ("eval.batch=0", "eval.batch"),
            ("seeds=0", "seeds"),
            ("eval.temperature=-1.0", "eval.temperature"),
            ("train.model.device=\"gpu\"", "train.model.device"),
            ("train.model.device=\"cuda:x\"", "train.model.device"),
            ("train.model.dtype=\"f8\"", "train.model.dtype"),
        ];
        for (set, key) in cases {
            let err = DemoConfig::load(&shipped(), false, &[set.to_string()]).unwrap_err().to_string();
            assert!(err.contains(key), "{set}: {err}");
        }
        let err = DemoConfig::load(&shipped(), false, &["train.algo.clip_low=oops".into()]).unwrap_err().to_string();
        assert!(err.contains("clip_low"), "{err}");
        let full = DemoConfig::load(&shipped(), false, &[]).unwrap();
        let mut arm = full.arms[0].clone();
        arm.sets.push("algo.clip_low=-3.0".into());
        let err = full.arm_train_config(&arm, 0, Path::new("t.jsonl")).unwrap_err().to_string();
        assert!(err.contains("clip_low"), "{err}");
    }
}
