//! Batched KV-cache generation: the rollout engine of BCR (Yang et al.,
//! arXiv 2604.02322), where `max_new_tokens` is the hard token budget.
//!
//! ```text
//! prompts: b ragged token lists -> left-padded (b, L) prefill, one call
//! loop: sample (b_active) tokens -> drop finished rows (cache compacted)
//!       -> forward (b_active, 1) at per-row positions
//! ```
//!
//! A row finishes on any end-of-sequence id or stop string (`Stop`), or when
//! it reaches `max_new_tokens` or the model's last position (`Length`).
//! Finished rows leave the batch and the cache, so they stop costing
//! compute. Returned `tokens` include the end-of-sequence token (it counts
//! against the budget); `text` excludes it and is cut before a stop string.
//! `logprobs[i]` is the log-prob of `tokens[i]` under the model's raw
//! distribution (see [`crate::sampling`]).

use std::time::Instant;

pub mod engine;
pub(crate) mod logprobs;
pub mod sampling;

use crate::{CausalLm, Error, Result, Tokenizer};
pub use bcr_core::FinishReason;
pub use engine::{Admit, Engine};
use sampling::{row_seed, SamplingConfig};

/// One generated sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated token ids (end-of-sequence included).
    pub tokens: Vec<u32>,
    /// Decoded text, without the end-of-sequence token, cut before a stop string.
    pub text: String,
    /// Log-prob of each token under the raw model distribution.
    pub logprobs: Vec<f32>,
    /// Why it ended.
    pub finish: FinishReason,
}

/// Where the time of one [`generate_with_stats`] call went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerateStats {
    /// Seconds in the prompt forward pass.
    pub prefill_secs: f64,
    /// Seconds in decode steps (forward and sampling).
    pub decode_secs: f64,
    /// Prompt tokens processed (padding excluded).
    pub prompt_tokens: usize,
    /// Tokens generated over all rows.
    pub generated_tokens: usize,
}

/// Generates a continuation of every prompt; row `i` samples with seed
/// [`row_seed`]`(cfg.seed, i)`.
pub fn generate(lm: &CausalLm, tok: &Tokenizer, prompts: &[Vec<u32>], cfg: &SamplingConfig) -> Result<Vec<Generation>> {
    let seeds: Vec<u64> = (0..prompts.len() as u64).map(|i| row_seed(cfg.seed, i)).collect();
    Ok(generate_with_stats(lm, tok, prompts, &seeds, cfg)?.0)
}

/// [`generate`] with an explicit seed per prompt (so a sequence's samples
/// do not depend on the batch it is in), returning timing too.
pub fn generate_with_stats(
    lm: &CausalLm,
    tok: &Tokenizer,
    prompts: &[Vec<u32>],
    seeds: &[u64],
    cfg: &SamplingConfig,
) -> Result<(Vec<Generation>, GenerateStats)> {
    // The whole loop runs on one of rayon's threads: each decode step hands
    // several small kernels to rayon, and from a thread outside the pool
    // every hand-off is a wake-up of a pool thread plus a sleep of the
    // caller (about 12% of a batch-1 step in scheduling). Inside the pool
    // the caller works on its own kernels and only the other threads steal.
    rayon::scope(|_| generate_in_pool(lm, tok, prompts, seeds, cfg))
}

/// The [`Engine`] with every prompt admitted at once.
fn generate_in_pool(
    lm: &CausalLm,
    tok: &Tokenizer,
    prompts: &[Vec<u32>],
    seeds: &[u64],
    cfg: &SamplingConfig,
) -> Result<(Vec<Generation>, GenerateStats)> {
    if seeds.len() != prompts.len() {
        return Err(Error::Input(format!("{} seeds for {} prompts", seeds.len(), prompts.len())));
    }
    cfg.validate()?;
    let mut stats = GenerateStats { prompt_tokens: prompts.iter().map(Vec::len).sum(), ..Default::default() };
    if prompts.is_empty() {
        return Ok((Vec::new(), stats));
    }
    let start = Instant::now();
    let mut engine = Engine::new(lm, tok);
    let seqs = prompts.iter().zip(seeds).enumerate();
    engine.admit(
        seqs.map(|(i, (p, &seed))| Admit { id: i as u64, prompt: p.clone(), cfg: cfg.clone(), seed }).collect(),
    )?;
    stats.prefill_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut out: Vec<Option<Generation>> = vec![None; prompts.len()];
    while !engine.is_empty() {
        for (id, g) in engine.advance()? {
            out[id as usize] = Some(g);
        }
    }
    stats.decode_secs = start.elapsed().as_secs_f64();
    let never = || Error::Input("a sequence never finished".into());
    let out: Vec<Generation> = out.into_iter().map(|g| g.ok_or_else(never)).collect::<Result<_>>()?;
    stats.generated_tokens = out.iter().map(|g| g.tokens.len()).sum();
    Ok((out, stats))
}

#[cfg(test)]
mod tests;
