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

use candle_core::Tensor;
use rayon::prelude::*;

pub(crate) mod logprobs;
pub mod sampling;

use crate::{CausalLm, Error, KvCache, Result, RowSpan, Tokenizer};
pub use bcr_core::FinishReason;
use sampling::{row_seed, Sampler, SamplingConfig};

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

struct Row {
    prompt_len: usize,
    sampler: Sampler,
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    /// Byte length of the text before a stop string, once one is found.
    cut: Option<usize>,
    finish: Option<FinishReason>,
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

fn generate_in_pool(
    lm: &CausalLm,
    tok: &Tokenizer,
    prompts: &[Vec<u32>],
    seeds: &[u64],
    cfg: &SamplingConfig,
) -> Result<(Vec<Generation>, GenerateStats)> {
    cfg.validate()?;
    check_prompts(lm, prompts, seeds)?;
    let mut stats = GenerateStats { prompt_tokens: prompts.iter().map(Vec::len).sum(), ..Default::default() };
    if prompts.is_empty() {
        return Ok((Vec::new(), stats));
    }
    let mut rows: Vec<Row> = prompts
        .iter()
        .zip(seeds)
        .map(|(p, &seed)| Row {
            prompt_len: p.len(),
            sampler: Sampler::new(cfg, seed),
            tokens: Vec::with_capacity(cfg.max_new_tokens),
            logprobs: Vec::with_capacity(cfg.max_new_tokens),
            cut: None,
            finish: None,
        })
        .collect();
    let start = Instant::now();
    let mut cache = KvCache::new(lm.config().num_hidden_layers);
    let mut logits = prefill(lm, prompts, &mut cache)?;
    stats.prefill_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut active: Vec<usize> = (0..rows.len()).collect();
    let max_pos = lm.config().max_position_embeddings;
    loop {
        sample_rows(&mut rows, &active, &logits)?;
        for &r in &active {
            let row = &mut rows[r];
            row.finish = finish_of(tok, row, cfg, max_pos)?;
        }
        let keep: Vec<usize> = (0..active.len()).filter(|&i| rows[active[i]].finish.is_none()).collect();
        if keep.is_empty() {
            break;
        }
        if keep.len() < active.len() {
            cache.select_rows(&keep)?;
            active = keep.iter().map(|&i| active[i]).collect();
        }
        logits = step(lm, &rows, &active, &mut cache)?;
    }
    stats.decode_secs = start.elapsed().as_secs_f64();
    stats.generated_tokens = rows.iter().map(|r| r.tokens.len()).sum();
    let out = rows.into_iter().map(|r| finalize(tok, r)).collect::<Result<Vec<_>>>()?;
    Ok((out, stats))
}

fn check_prompts(lm: &CausalLm, prompts: &[Vec<u32>], seeds: &[u64]) -> Result<()> {
    if seeds.len() != prompts.len() {
        return Err(Error::Input(format!("{} seeds for {} prompts", seeds.len(), prompts.len())));
    }
    let (vocab, max_pos) = (lm.config().vocab_size, lm.config().max_position_embeddings);
    for (i, p) in prompts.iter().enumerate() {
        if p.is_empty() {
            return Err(Error::Input(format!("prompt {i} is empty")));
        }
        if p.len() >= max_pos {
            return Err(Error::Input(format!(
                "prompt {i} has {} tokens; the model's max_position_embeddings is {max_pos}",
                p.len()
            )));
        }
        if let Some(&bad) = p.iter().find(|&&t| t as usize >= vocab) {
            return Err(Error::Input(format!("prompt {i} has token id {bad}, outside the vocabulary of {vocab}")));
        }
    }
    Ok(())
}

/// One left-padded forward over all prompts; logits of each last token.
fn prefill(lm: &CausalLm, prompts: &[Vec<u32>], cache: &mut KvCache) -> Result<Vec<Vec<f32>>> {
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = vec![0u32; prompts.len() * width];
    for (row, p) in ids.chunks_mut(width).zip(prompts) {
        row[width - p.len()..].copy_from_slice(p);
    }
    let spans: Vec<RowSpan> = prompts.iter().map(|p| RowSpan::left_padded(p.len(), width)).collect();
    let ids = Tensor::from_vec(ids, (prompts.len(), width), lm.device())?;
    let hidden = lm.hidden_rows(&ids, &spans, Some(cache))?;
    // Only the last column is needed: project it alone (a full (b, L, V)
    // logits tensor would dwarf the model for long prompts).
    let last = hidden.narrow(1, width - 1, 1)?;
    Ok(lm.logits(&last)?.squeeze(1)?.to_dtype(candle_core::DType::F32)?.to_vec2()?)
}

/// One decode step for the `active` rows (each fed its last token).
fn step(lm: &CausalLm, rows: &[Row], active: &[usize], cache: &mut KvCache) -> Result<Vec<Vec<f32>>> {
    let mut ids = Vec::with_capacity(active.len());
    let mut spans = Vec::with_capacity(active.len());
    for &r in active {
        let row = &rows[r];
        ids.push(*row.tokens.last().ok_or_else(|| Error::Input("decode step before sampling".into()))?);
        spans.push(RowSpan::dense(row.prompt_len + row.tokens.len() - 1, 1));
    }
    let ids = Tensor::from_vec(ids, (active.len(), 1), lm.device())?;
    Ok(lm.forward_rows(&ids, &spans, Some(cache))?.squeeze(1)?.to_dtype(candle_core::DType::F32)?.to_vec2()?)
}

/// Samples the next token of every active row, in parallel (each row has
/// its own generator, so the result does not depend on scheduling).
fn sample_rows(rows: &mut [Row], active: &[usize], logits: &[Vec<f32>]) -> Result<()> {
    let mut picked: Vec<&mut Row> = Vec::with_capacity(active.len());
    let mut want = active.iter().peekable();
    for (i, row) in rows.iter_mut().enumerate() {
        if want.peek() == Some(&&i) {
            picked.push(row);
            want.next();
        }
    }
    if picked.len() != logits.len() {
        return Err(Error::Input(format!("{} logit rows for {} active sequences", logits.len(), picked.len())));
    }
    picked.into_par_iter().zip(logits.par_iter()).try_for_each(|(row, l)| {
        let (t, lp) = row.sampler.sample(l)?;
        row.tokens.push(t);
        row.logprobs.push(lp);
        Ok(())
    })
}

fn finish_of(tok: &Tokenizer, row: &mut Row, cfg: &SamplingConfig, max_pos: usize) -> Result<Option<FinishReason>> {
    let last = *row.tokens.last().ok_or_else(|| Error::Input("no token sampled".into()))?;
    if tok.eos_token_ids().contains(&last) {
        return Ok(Some(FinishReason::Stop));
    }
    if !cfg.stop.is_empty() {
        let text = tok.decode(&row.tokens, false)?;
        if let Some(cut) = cfg.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            row.cut = Some(cut);
            return Ok(Some(FinishReason::Stop));
        }
    }
    // The next step would feed this token at position prompt_len + len - 1.
    if row.tokens.len() >= cfg.max_new_tokens || row.prompt_len + row.tokens.len() >= max_pos {
        return Ok(Some(FinishReason::Length));
    }
    Ok(None)
}

fn finalize(tok: &Tokenizer, row: Row) -> Result<Generation> {
    let ends_with_eos = row.tokens.last().is_some_and(|t| tok.eos_token_ids().contains(t));
    let body = if ends_with_eos { &row.tokens[..row.tokens.len() - 1] } else { &row.tokens[..] };
    let mut text = tok.decode(body, false)?;
    if let Some(cut) = row.cut {
        text.truncate(cut);
    }
    let finish = row.finish.unwrap_or(FinishReason::Length);
    Ok(Generation { tokens: row.tokens, text, logprobs: row.logprobs, finish })
}

#[cfg(test)]
mod tests;
