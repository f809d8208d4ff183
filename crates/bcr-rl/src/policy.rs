//! What the trainer needs from a model, as a trait, so the GRPO loop can be
//! tested end to end on a tiny model and run on a real one
//! ([`crate::model_policy`] wraps `bcr-model`).
//!
//! Shapes: [`Policy::score`] takes `b` (prompt, completion) rows and returns
//! `(b, t)` tensors where `t` is the longest completion; entries past a row's
//! completion length are padding (arbitrary but finite) and are masked by the
//! caller.

use candle_core::{Device, Tensor, Var};

use crate::error::Result;

/// Sampling settings of one rollout call.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// Hard budget: tokens generated at most per response.
    pub max_new_tokens: usize,
    /// Softmax temperature (> 0).
    pub temperature: f64,
    /// Nucleus mass (1.0 = off).
    pub top_p: f64,
    /// Top-k (0 = off).
    pub top_k: usize,
    /// Seed of this call's sampling (the trainer draws it from its own RNG).
    pub seed: u64,
}

/// One sampled response.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Generated token ids, including the end-of-sequence token if one was
    /// sampled (its log-prob is trained: stopping is an action too).
    pub tokens: Vec<u32>,
    /// Decoded text without special tokens.
    pub text: String,
    /// True when the budget ran out before an end-of-sequence token.
    pub truncated: bool,
}

/// Per-token log-probs (and optionally entropies) of completions, `(b, t)`.
#[derive(Debug)]
pub struct TokenScores {
    /// `log pi(y_t | x, y_<t)`, with the autograd graph to the weights.
    pub logprobs: Tensor,
    /// Entropy of `pi(. | x, y_<t)`, when asked for.
    pub entropy: Option<Tensor>,
}

/// A trainable policy: sampling, scoring with gradients, and its weights.
pub trait Policy {
    /// Trainable variables with stable names (the checkpoint's tensor names).
    fn named_vars(&self) -> Vec<(String, Var)>;

    /// The device the weights live on.
    fn device(&self) -> &Device;

    /// Prompt token ids for a user message (and an optional system message),
    /// through the model's chat template with the generation prompt added.
    fn encode_prompt(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>>;

    /// Samples one completion per prompt.
    fn generate(&self, prompts: &[Vec<u32>], sampling: &Sampling) -> Result<Vec<Completion>>;

    /// Log-probs of each completion given its prompt (see the module docs
    /// for shapes); `with_entropy` also returns per-position entropies.
    fn score(&self, rows: &[(&[u32], &[u32])], with_entropy: bool) -> Result<TokenScores>;

    /// A copy with frozen weights (the reference policy of the KL term).
    fn frozen_copy(&self) -> Result<Self>
    where
        Self: Sized;
}

/// Detached copies of named variables (a frozen reference policy's weights).
pub fn copy_vars(vars: &[(String, Var)]) -> Result<Vec<(String, Var)>> {
    vars.iter().map(|(n, v)| Ok((n.clone(), Var::from_tensor(&v.as_tensor().detach().copy()?)?))).collect()
}
