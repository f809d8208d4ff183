//! What a run writes besides checkpoints: `metrics.jsonl` (one line per
//! step), `samples.jsonl` (a few responses per step) and `summary.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// 1-based step number.
    pub step: usize,
    /// N of this step's packs.
    pub n: usize,
    /// Response budget of this step.
    pub budget: usize,
    /// Mean reward over the B * G responses.
    pub reward_mean: f64,
    /// Standard deviation of the rewards (population).
    pub reward_std: f64,
    /// Mean per-problem accuracy.
    pub accuracy: f64,
    /// Mean generated tokens per problem (response tokens / N).
    pub tokens_per_problem: f64,
    /// Share of responses that hit the budget.
    pub truncation_rate: f64,
    /// Share of responses without the required format.
    pub format_failure_rate: f64,
    /// Share of groups dropped because all their rewards were equal.
    pub filtered_share: f64,
    /// Share of trained tokens whose gradient was clipped.
    pub clip_fraction: f64,
    /// Mean per-token k3 KL to the reference (0 when off).
    pub kl: f64,
    /// Mean per-token entropy of the policy on its responses.
    pub entropy: f64,
    /// The aggregated policy-gradient loss.
    pub pg_loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate of this step.
    pub lr: f64,
    /// True when a non-finite loss or gradient skipped the update.
    pub skipped: bool,
    /// Seconds sampling and scoring.
    pub rollout_s: f64,
    /// Seconds computing old/reference log-probs.
    pub logprob_s: f64,
    /// Seconds in forward/backward/optimizer.
    pub update_s: f64,
    /// Whole step, seconds.
    pub step_s: f64,
    /// Generated tokens per second of rollout time.
    pub rollout_tokens_per_s: f64,
}

/// One line of `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// Step of the sample.
    pub step: usize,
    /// Pack id.
    pub pack_id: String,
    /// Gold answers of the pack.
    pub golds: Vec<String>,
    /// The response text.
    pub response: String,
    /// Response tokens.
    pub tokens: usize,
    /// Hit the budget.
    pub truncated: bool,
    /// Reward.
    pub reward: f64,
    /// Per-problem accuracy.
    pub accuracy: f64,
}

/// `summary.json`, written when the run ends (finished or interrupted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Steps completed.
    pub steps: usize,
    /// Steps the config asked for.
    pub steps_planned: usize,
    /// True when Ctrl-C stopped the run early.
    pub interrupted: bool,
    /// Mean reward over the first (up to) 10 steps of the whole run.
    pub reward_first: f64,
    /// Mean reward over the last (up to) 10 steps.
    pub reward_last: f64,
    /// Mean accuracy over the last (up to) 10 steps.
    pub accuracy_last: f64,
    /// Mean tokens per problem over the last (up to) 10 steps.
    pub tokens_per_problem_last: f64,
    /// Steps skipped for non-finite values.
    pub skipped_steps: usize,
    /// Last checkpoint directory.
    pub checkpoint: Option<PathBuf>,
}

impl Summary {
    /// Summarises a run from all its step metrics.
    pub fn from_metrics(all: &[StepMetrics], planned: usize, interrupted: bool, checkpoint: Option<PathBuf>) -> Self {
        let k = all.len().min(10);
        let mean = |xs: &[StepMetrics], f: fn(&StepMetrics) -> f64| {
            if xs.is_empty() {
                0.0
            } else {
                xs.iter().map(f).sum::<f64>() / xs.len() as f64
            }
        };
        let last = &all[all.len() - k..];
        Summary {
            steps: all.last().map_or(0, |m| m.step),
            steps_planned: planned,
            interrupted,
            reward_first: mean(&all[..k], |m| m.reward_mean),
            reward_last: mean(last, |m| m.reward_mean),
            accuracy_last: mean(last, |m| m.accuracy),
            tokens_per_problem_last: mean(last, |m| m.tokens_per_problem),
            skipped_steps: all.iter().filter(|m| m.skipped).count(),
            checkpoint,
        }
    }
}

/// Keeps the lines of a step-keyed JSONL log up to `step` (a resumed run
/// redoes the steps after its checkpoint).
pub fn truncate_after(path: &Path, step: usize) -> Result<()> {
    let kept = |v: &serde_json::Value| v.get("step").and_then(|s| s.as_u64()).is_some_and(|s| s as usize <= step);
    Ok(bcr_core::run::retain_jsonl(path, kept)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let log = bcr_core::run::Appender::open(&path).unwrap();
        for step in 1..=12 {
            log.append(&StepMetrics { step, reward_mean: step as f64, skipped: step == 3, ..Default::default() })
                .unwrap();
        }
        let all: Vec<StepMetrics> = bcr_core::run::read_jsonl(&path).unwrap();
        let s = Summary::from_metrics(&all, 20, true, None);
        assert_eq!((s.steps, s.skipped_steps), (12, 1));
        assert!((s.reward_first - 5.5).abs() < 1e-12 && (s.reward_last - 7.5).abs() < 1e-12);
        truncate_after(&path, 4).unwrap();
        let kept: Vec<StepMetrics> = bcr_core::run::read_jsonl(&path).unwrap();
        assert_eq!(kept.iter().map(|m| m.step).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }
}
