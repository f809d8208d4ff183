//! Rollouts: G responses for each of B packs under the shared budget, each
//! scored by the task.
//!
//! Layout: `samples` is flat `(B * G,)`, pack-major (the G responses to pack
//! `b` are `samples[b*G .. (b+1)*G]`), which is the layout
//! [`crate::advantages::group_advantages`] expects.

use bcr_core::Pack;

use crate::error::{Error, Result};
use crate::policy::{Completion, Policy, Sampling};
use crate::task::Task;
use bcr_core::Score;

/// One response to one pack, with its score.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Index of the pack in [`RolloutBatch::packs`].
    pub pack: usize,
    /// The response.
    pub completion: Completion,
    /// Its reward.
    pub score: Score,
}

/// Everything one step sampled.
#[derive(Debug, Clone)]
pub struct RolloutBatch {
    /// The B packs.
    pub packs: Vec<Pack>,
    /// Prompt token ids of each pack.
    pub prompts: Vec<Vec<u32>>,
    /// Budget (`max_new_tokens`) of every response.
    pub budget: usize,
    /// `B * G` samples, pack-major.
    pub samples: Vec<Sample>,
}

impl RolloutBatch {
    /// Rewards in sample order.
    pub fn rewards(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.score.reward).collect()
    }

    /// Tokens generated in total.
    pub fn generated_tokens(&self) -> usize {
        self.samples.iter().map(|s| s.completion.tokens.len()).sum()
    }
}

/// What a rollout needs besides the policy and the task.
#[derive(Debug, Clone)]
pub struct RolloutSpec {
    /// G.
    pub group_size: usize,
    /// Sampling settings (budget included).
    pub sampling: Sampling,
    /// Optional system message.
    pub system: Option<String>,
    /// Rows per generate call (0 = all at once).
    pub max_batch: usize,
}

impl RolloutSpec {
    /// The rollout settings of `[rollout]` and `[data]` (budget and seed
    /// are set per step by [`RolloutSpec::at`]).
    pub fn from_config(c: &crate::TrainConfig) -> Self {
        let r = &c.rollout;
        RolloutSpec {
            group_size: r.group_size,
            sampling: Sampling {
                max_new_tokens: c.data.budget,
                temperature: r.temperature,
                top_p: r.top_p,
                top_k: r.top_k,
                seed: 0,
            },
            system: Some(c.data.system_prompt.clone()).filter(|s| !s.is_empty()),
            max_batch: r.max_batch,
        }
    }

    /// These settings with this step's budget and sampling seed.
    pub fn at(&self, budget: usize, seed: u64) -> Self {
        let sampling = Sampling { max_new_tokens: budget, seed, ..self.sampling.clone() };
        RolloutSpec { sampling, ..self.clone() }
    }
}

/// Samples and scores G responses for each pack.
pub fn collect<P: Policy, T: Task>(policy: &P, task: &T, packs: Vec<Pack>, spec: &RolloutSpec) -> Result<RolloutBatch> {
    let g = spec.group_size;
    let mut prompts = Vec::with_capacity(packs.len());
    for pack in &packs {
        let user = task.user_message(pack)?;
        prompts.push(policy.encode_prompt(spec.system.as_deref(), &user)?);
    }
    let repeated: Vec<Vec<u32>> = prompts.iter().flat_map(|p| std::iter::repeat_n(p.clone(), g)).collect();
    let chunk = if spec.max_batch == 0 { repeated.len().max(1) } else { spec.max_batch };
    let mut completions = Vec::with_capacity(repeated.len());
    for (i, rows) in repeated.chunks(chunk).enumerate() {
        // Each chunk gets its own seed, derived from the step's seed.
        let sampling = Sampling { seed: spec.sampling.seed.wrapping_add(i as u64), ..spec.sampling.clone() };
        completions.extend(policy.generate(rows, &sampling)?);
    }
    if completions.len() != repeated.len() {
        return Err(Error::Invalid(format!(
            "generate returned {} completions for {} prompts",
            completions.len(),
            repeated.len()
        )));
    }
    let budget = spec.sampling.max_new_tokens;
    let mut samples = Vec::with_capacity(completions.len());
    for (i, completion) in completions.into_iter().enumerate() {
        let pack = i / g;
        let score = task.score(&packs[pack], &completion.text, completion.tokens.len(), budget)?;
        samples.push(Sample { pack, completion, score });
    }
    Ok(RolloutBatch { packs, prompts, budget, samples })
}
