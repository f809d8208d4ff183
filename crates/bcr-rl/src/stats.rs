//! Turning a step's rollouts and update outcome into its metrics line and
//! its sample records.

use crate::metrics::{SampleRecord, StepMetrics};
use crate::rollout::RolloutBatch;
use crate::update::UpdateOutcome;

/// Wall-clock pieces measured by the trainer itself.
#[derive(Debug, Clone, Copy)]
pub struct StepTimes {
    /// Sampling and scoring.
    pub rollout_s: f64,
    /// The whole step.
    pub step_s: f64,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = xs.fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// The metrics line of step `step` (1-based).
pub fn step_metrics(
    step: usize,
    n: usize,
    batch: &RolloutBatch,
    filtered_share: f64,
    lr: f64,
    u: &UpdateOutcome,
    t: StepTimes,
) -> StepMetrics {
    let s = &batch.samples;
    let reward_mean = mean(s.iter().map(|x| x.score.reward));
    let reward_var = mean(s.iter().map(|x| (x.score.reward - reward_mean).powi(2)));
    let tokens = batch.generated_tokens() as f64;
    StepMetrics {
        step,
        n,
        budget: batch.budget,
        reward_mean,
        reward_std: reward_var.sqrt(),
        accuracy: mean(s.iter().map(|x| x.score.accuracy)),
        tokens_per_problem: ratio(tokens, (s.len() * n) as f64),
        truncation_rate: mean(s.iter().map(|x| f64::from(u8::from(x.completion.truncated)))),
        format_failure_rate: mean(s.iter().map(|x| f64::from(u8::from(!x.score.format_ok())))),
        filtered_share,
        clip_fraction: ratio(u.stats.clipped_tokens, u.stats.tokens),
        kl: ratio(u.stats.kl_sum, u.stats.tokens),
        entropy: ratio(u.stats.entropy_sum, u.stats.tokens),
        pg_loss: u.stats.pg_loss,
        grad_norm: u.grad_norm,
        lr,
        skipped: u.skipped.is_some(),
        rollout_s: t.rollout_s,
        logprob_s: u.logprob_s,
        update_s: u.update_s,
        step_s: t.step_s,
        rollout_tokens_per_s: ratio(tokens, t.rollout_s),
    }
}

/// The first response of each of the first `count` packs (one per group, so
/// that the samples show different problems).
pub fn sample_records(step: usize, batch: &RolloutBatch, count: usize) -> Vec<SampleRecord> {
    let g = batch.samples.len() / batch.packs.len().max(1);
    (0..batch.packs.len().min(count))
        .filter_map(|p| batch.samples.get(p * g))
        .map(|s| {
            let pack = &batch.packs[s.pack];
            SampleRecord {
                step,
                pack_id: pack.pack_id.clone(),
                golds: pack.golds().iter().map(|g| g.to_string()).collect(),
                response: s.completion.text.clone(),
                tokens: s.completion.tokens.len(),
                truncated: s.completion.truncated,
                reward: s.score.reward,
                accuracy: s.score.accuracy,
            }
        })
        .collect()
}
