//! The typed training config: one struct per TOML table, every default
//! written out in [`TrainConfig::default`] (and in `configs/*.toml`).
//!
//! Loading is three steps, each with errors that name where they come from:
//! the file is parsed with unknown keys rejected (`FILE:LINE: ...`), the
//! `--set key=value` overrides are applied with type checking (`--set KEY:
//! ...`, see [`crate::overrides`]), then [`TrainConfig::validate`] checks
//! the values (`config key algo.clip_low: ...`).

use bcr_core::{BudgetMode, PackStrategy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The whole training config (`bcr train --config FILE.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The policy model.
    pub model: ModelSection,
    /// Problems, packing and the token budget.
    pub data: DataSection,
    /// Sampling of the G responses per pack.
    pub rollout: RolloutSection,
    /// Reward of one response.
    pub reward: RewardSection,
    /// The policy-gradient algorithm.
    pub algo: AlgoSection,
    /// AdamW and the learning-rate schedule.
    pub optim: OptimSection,
    /// Length of the run, checkpoints, output.
    pub run: RunSection,
}

/// `[model]`: which checkpoint to train and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// A Hugging Face checkpoint directory, a `.gguf` file or a Hub id.
    pub path: String,
    /// Compute dtype of the trainable weights: `f32`, `bf16` or `f16`.
    pub dtype: String,
    /// `cpu` or `cuda:K`.
    pub device: String,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection { path: "HuggingFaceTB/SmolLM2-135M-Instruct".into(), dtype: "f32".into(), device: "cpu".into() }
    }
}

/// `[data]`: the problems, N, and the shared budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// Problem file (JSONL or Parquet) or a benchmark name (`gsm8k`, ...).
    pub path: String,
    /// Input format: `auto`, `problems`, `gsm8k`, `math500`, `deepmath`, ...
    pub format: String,
    /// Problems per pack. Several values = mixed N: step `s` uses `n[s % len]`.
    pub n: Vec<usize>,
    /// Packing strategy: `stratified` (the paper's), `random` or `sequential`.
    pub strategy: PackStrategy,
    /// Token budget (whole response, or per problem: see `budget_mode`).
    pub budget: usize,
    /// `total` (one budget for the whole response, the paper's) or
    /// `per-problem` (`budget x N`).
    pub budget_mode: BudgetMode,
    /// Use at most this many problems from the file (0 = all).
    pub max_problems: usize,
    /// Optional system message placed before the prompt ("" = none).
    pub system_prompt: String,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            path: "gsm8k".into(),
            format: "auto".into(),
            n: vec![3],
            strategy: PackStrategy::Stratified,
            budget: 5120,
            budget_mode: BudgetMode::Total,
            max_problems: 0,
            system_prompt: String::new(),
        }
    }
}

impl DataSection {
    /// `max_new_tokens` of a response to a pack of `n` problems.
    pub fn budget_for(&self, n: usize) -> usize {
        self.budget_mode.max_tokens(self.budget, n)
    }
}

/// `[rollout]`: G samples for each of B packs per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutSection {
    /// G: responses sampled per pack (the GRPO group).
    pub group_size: usize,
    /// B: packs per step.
    pub packs_per_step: usize,
    /// Sampling temperature (> 0).
    pub temperature: f64,
    /// Nucleus sampling mass (1.0 = off).
    pub top_p: f64,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Responses generated together (bounds the KV cache; 0 = all B * G at once).
    pub max_batch: usize,
}

impl Default for RolloutSection {
    fn default() -> Self {
        RolloutSection { group_size: 8, packs_per_step: 8, temperature: 1.0, top_p: 1.0, top_k: 0, max_batch: 0 }
    }
}

/// `[reward]`: accuracy + format (+ the explicit length penalty ablation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardSection {
    /// Weight of the format-compliance term.
    pub format_weight: f64,
    /// Weight of `-|y| / budget` (0 = off, the BCR default; the paper's
    /// ablation shows it collapses training).
    pub length_penalty: f64,
    /// Label text of the answers (`Answer k: \boxed{...}`).
    pub label: String,
    /// Parse answers only after the closing `</think>` when there is one.
    pub after_think: bool,
    /// When labels are missing, take the k-th `\boxed{}` as answer k.
    pub positional_fallback: bool,
    /// Only `Answer k: \boxed{...}` earns accuracy (the strict BCR format):
    /// an unlabelled box or a free-form answer scores 0.
    pub require_label: bool,
    /// For N = 1, read an answer without a box the way `bcr grade` does
    /// ("the answer is 7", the last `$...$`, the last number). Off by
    /// default in training: a truncated response's last number must not
    /// earn reward.
    pub free_form: bool,
}

impl Default for RewardSection {
    fn default() -> Self {
        RewardSection {
            format_weight: 0.1,
            length_penalty: 0.0,
            label: "Answer".into(),
            after_think: true,
            positional_fallback: false,
            require_label: false,
            free_form: false,
        }
    }
}

/// GRPO's group-normalised advantage or Dr.GRPO's un-normalised one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdvantageKind {
    /// `(r - mean) / (std + eps)` (Shao et al. 2024).
    Grpo,
    /// `r - mean` (Liu et al. 2025, "Understanding R1-Zero-like training").
    Drgrpo,
}

/// How per-token losses become one scalar (see [`crate::agg`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossAgg {
    /// Sum over all valid tokens / number of valid tokens (DAPO).
    TokenMean,
    /// Mean over sequences of each sequence's token mean (original GRPO).
    SeqMeanTokenMean,
    /// Sum over all valid tokens / (sequences x budget) (Dr.GRPO).
    DrgrpoConstant,
}

/// `[algo]`: advantages, the clipped surrogate, KL and entropy terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlgoSection {
    /// `grpo` or `drgrpo`.
    pub advantage: AdvantageKind,
    /// Added to the group std before dividing (GRPO only).
    pub adv_eps: f64,
    /// Lower clip: ratios below `1 - clip_low` stop the gradient for A < 0.
    pub clip_low: f64,
    /// Upper clip: ratios above `1 + clip_high` stop the gradient for A > 0.
    pub clip_high: f64,
    /// Dual-clip constant c > 1 bounding the loss for A < 0 (0 = off).
    pub dual_clip: f64,
    /// `token-mean`, `seq-mean-token-mean` or `drgrpo-constant`.
    pub loss_agg: LossAgg,
    /// Weight of the k3 KL to the initial policy (0 = off, no reference kept).
    pub kl_coef: f64,
    /// Weight of the entropy bonus (0 = entropy only logged).
    pub entropy_coef: f64,
    /// Drop groups whose G rewards are all equal (zero advantage) before the update.
    pub filter_equal_groups: bool,
    /// mu: update epochs over each rollout batch.
    pub epochs: usize,
}

impl Default for AlgoSection {
    fn default() -> Self {
        AlgoSection {
            advantage: AdvantageKind::Grpo,
            adv_eps: 1e-6,
            clip_low: 0.2,
            clip_high: 0.28,
            dual_clip: 0.0,
            loss_agg: LossAgg::TokenMean,
            kl_coef: 0.0,
            entropy_coef: 0.0,
            filter_equal_groups: true,
            epochs: 1,
        }
    }
}

/// Learning-rate schedule after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// Peak lr until the end.
    Constant,
    /// Cosine decay from the peak to `min_lr_ratio * lr` at the last step.
    Cosine,
}

/// `[optim]`: AdamW, schedule, clipping, micro-batching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimSection {
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW (beta1, beta2).
    pub betas: [f64; 2],
    /// AdamW epsilon.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Linear warmup steps from 0 to `lr`.
    pub warmup_steps: usize,
    /// `constant` or `cosine`.
    pub schedule: ScheduleKind,
    /// Floor of the cosine schedule as a fraction of `lr`.
    pub min_lr_ratio: f64,
    /// Global gradient-norm clip (0 = off).
    pub max_grad_norm: f64,
    /// Sequences per forward/backward; gradients are accumulated over them.
    pub micro_batch: usize,
}

impl Default for OptimSection {
    fn default() -> Self {
        OptimSection {
            lr: 1e-6,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 0.01,
            warmup_steps: 0,
            schedule: ScheduleKind::Constant,
            min_lr_ratio: 0.0,
            max_grad_norm: 1.0,
            micro_batch: 4,
        }
    }
}

/// `[run]`: length, checkpoints, logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// Optimizer steps (one rollout batch each).
    pub steps: usize,
    /// Checkpoint every K steps (0 = only at the end and on Ctrl-C).
    pub save_every: usize,
    /// Seed of packing, sampling and initialisation.
    pub seed: u64,
    /// Run directory (created; must not already hold a run unless resuming).
    pub out_dir: String,
    /// Responses written to `samples.jsonl` per step.
    pub samples_per_step: usize,
    /// Consecutive non-finite steps tolerated before aborting.
    pub max_bad_steps: usize,
    /// Checkpoints kept on disk, newest first (0 = all).
    pub keep_checkpoints: usize,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            steps: 100,
            save_every: 25,
            seed: 0,
            out_dir: "runs/bcr".into(),
            samples_per_step: 2,
            max_bad_steps: 3,
            keep_checkpoints: 2,
        }
    }
}

impl TrainConfig {
    /// Parses TOML text; `origin` (the file name) prefixes errors as `FILE:LINE`.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        Ok(bcr_core::parse_toml(text, origin)?)
    }

    /// Reads and parses a config file, then applies `--set` overrides (no
    /// validation: [`TrainConfig::validate`] runs when training starts).
    pub fn load(path: &Path, sets: &[String]) -> Result<Self> {
        Ok(bcr_core::load_toml(path, sets)?)
    }

    /// The resolved config as TOML (written to `RUN_DIR/config.toml`).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::config("config", e.to_string()))
    }

    /// Output directory as a path.
    pub fn out_dir(&self) -> PathBuf {
        PathBuf::from(&self.run.out_dir)
    }

    /// Checks every value; the error names the dotted key and the value.
    pub fn validate(&self) -> Result<()> {
        crate::validate::check(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    toml::Value::Table(_) => keys(v, &key, out),
                    _ => out.push(key),
                }
            }
        }
    }

    #[test]
    fn shipped_configs_parse_validate_and_write_every_key() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut want = Vec::new();
        keys(&toml::Value::try_from(TrainConfig::default()).unwrap(), "", &mut want);
        let mut seen = 0;
        for name in ["paper-1p5b", "paper-4b", "baseline-n1", "length-penalty", "smollm2-gsm8k"] {
            let path = dir.join(format!("{name}.toml"));
            let cfg = TrainConfig::load(&path, &[]).unwrap();
            cfg.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            let text = std::fs::read_to_string(&path).unwrap();
            let mut got = Vec::new();
            keys(&text.parse::<toml::Table>().map(toml::Value::Table).unwrap(), "", &mut got);
            got.sort();
            let mut want = want.clone();
            want.sort();
            assert_eq!(got, want, "{name} must write out every key");
            seen += 1;
        }
        assert_eq!(seen, 5);
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let cases = [
            ("[rollout]\ngroup_size = 4\ngroupsize = 3\n", "cfg.toml:3", "unknown field `groupsize`"),
            ("[algo]\n\nadvantage = \"ppo\"\n", "cfg.toml:3", "unknown variant `ppo`"),
            ("[optim]\nlr = \"fast\"\n", "cfg.toml:2", "invalid type"),
            ("[data\n", "cfg.toml:1", ""),
            ("[nope]\n", "cfg.toml:1", "unknown field `nope`"),
        ];
        for (text, at, msg) in cases {
            let err = TrainConfig::from_toml_str(text, "cfg.toml").unwrap_err().to_string();
            assert!(err.starts_with(at) && err.contains(msg), "{text:?}: {err}");
        }
        let partial = TrainConfig::from_toml_str("[rollout]\ngroup_size = 4\n", "x").unwrap();
        assert_eq!(partial.rollout.group_size, 4);
        assert_eq!(partial.algo, AlgoSection::default());
    }

    #[test]
    fn resolved_config_round_trips() {
        let c = TrainConfig::default();
        assert_eq!(TrainConfig::from_toml_str(&c.to_toml().unwrap(), "x").unwrap(), c);
    }

    #[test]
    fn budget_modes() {
        let mut d = DataSection { budget: 100, ..DataSection::default() };
        assert_eq!(d.budget_for(3), 100);
        d.budget_mode = BudgetMode::PerProblem;
        assert_eq!(d.budget_for(3), 300);
    }
}
