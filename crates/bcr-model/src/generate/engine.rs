//! [`Engine`]: continuous batching. Sequences join the running batch
//! between decode steps and leave it as they finish, so a server keeps the
//! batch full instead of waiting for its slowest row (Yu et al., Orca,
//! OSDI 2022, "iteration-level scheduling").
//!
//! ```text
//! admit(k prompts): left-padded (k, L) prefill into a fresh cache, then its
//!                   rows are merged into the running cache (KvCache::extend_rows:
//!                   the shorter side is left-padded with invalid slots)
//! advance():        sample one token for every row -> rows that finished
//!                   leave (cache rows dropped, leading all-padding slots
//!                   trimmed) -> one (b, 1) forward for the rest
//! ```
//!
//! Invariant between calls: every row holds the logits of its next token.
//! Each row has its own [`SamplingConfig`] (budget, temperature, stop
//! strings) and its own seed, so its samples do not depend on the batch it
//! shares. [`crate::generate_with_stats`] is this engine with every prompt
//! admitted at once.

use candle_core::Tensor;
use rayon::prelude::*;

use super::sampling::{Sampler, SamplingConfig};
use super::{FinishReason, Generation};
use crate::{CausalLm, Error, KvCache, Result, RowSpan, Tokenizer};

/// A sequence to start: its caller's id, prompt ids, settings and seed.
#[derive(Debug, Clone)]
pub struct Admit {
    /// Returned with the finished [`Generation`].
    pub id: u64,
    /// Prompt token ids (non-empty, shorter than the model's context).
    pub prompt: Vec<u32>,
    /// Its budget (`max_new_tokens`), sampling settings and stop strings.
    pub cfg: SamplingConfig,
    /// Its generator's seed.
    pub seed: u64,
}

pub(super) struct Row {
    id: u64,
    cfg: SamplingConfig,
    prompt_len: usize,
    sampler: Sampler,
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    /// Logits of the next token.
    next: Vec<f32>,
    /// Byte length of the text before a stop string, once one is found.
    cut: Option<usize>,
    finish: Option<FinishReason>,
}

/// A running batch (see the module doc).
pub struct Engine<'m> {
    lm: &'m CausalLm,
    tok: &'m Tokenizer,
    rows: Vec<Row>,
    cache: KvCache,
    /// Whether rows joined a running batch since the cache was last empty
    /// (their left padding is then trimmed as older rows leave).
    joined: bool,
}

impl<'m> Engine<'m> {
    /// An empty batch on `lm`.
    pub fn new(lm: &'m CausalLm, tok: &'m Tokenizer) -> Self {
        Engine { lm, tok, rows: Vec::new(), cache: KvCache::new(lm.config().num_hidden_layers), joined: false }
    }

    /// Sequences running.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no sequence is running.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Cache slots per row (real and padding): what one step attends over.
    pub fn cache_len(&self) -> usize {
        self.cache.seq_len()
    }

    /// The tokens generated so far by sequence `id`, if it is running.
    pub fn tokens(&self, id: u64) -> Option<&[u32]> {
        self.rows.iter().find(|r| r.id == id).map(|r| r.tokens.as_slice())
    }

    /// Prefills `seqs` together and adds them to the batch. Checked first:
    /// on an error nothing is added and the running rows are untouched.
    pub fn admit(&mut self, seqs: Vec<Admit>) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        for (i, s) in seqs.iter().enumerate() {
            s.cfg.validate()?;
            check_prompt(self.lm, i, &s.prompt)?;
        }
        let prompts: Vec<&[u32]> = seqs.iter().map(|s| s.prompt.as_slice()).collect();
        let mut cache = KvCache::new(self.lm.config().num_hidden_layers);
        let logits = prefill(self.lm, &prompts, &mut cache)?;
        self.joined |= !self.rows.is_empty();
        self.cache.extend_rows(cache)?;
        self.rows.extend(seqs.into_iter().zip(logits).map(|(s, next)| Row {
            id: s.id,
            prompt_len: s.prompt.len(),
            sampler: Sampler::new(&s.cfg, s.seed),
            tokens: Vec::with_capacity(s.cfg.max_new_tokens),
            logprobs: Vec::with_capacity(s.cfg.max_new_tokens),
            cfg: s.cfg,
            next,
            cut: None,
            finish: None,
        }));
        Ok(())
    }

    /// One token for every running sequence; returns those that finished
    /// (in batch order). The rest are fed their new token.
    pub fn advance(&mut self) -> Result<Vec<(u64, Generation)>> {
        sample_rows(&mut self.rows)?;
        let max_pos = self.lm.config().max_position_embeddings;
        for row in &mut self.rows {
            row.finish = finish_of(self.tok, row, max_pos)?;
        }
        let keep: Vec<usize> = (0..self.rows.len()).filter(|&i| self.rows[i].finish.is_none()).collect();
        let mut done = Vec::new();
        if keep.len() < self.rows.len() {
            let mut kept = Vec::with_capacity(keep.len());
            for row in std::mem::take(&mut self.rows) {
                match row.finish {
                    Some(_) => done.push((row.id, finalize(self.tok, row)?)),
                    None => kept.push(row),
                }
            }
            self.rows = kept;
            if self.rows.is_empty() {
                self.cache = KvCache::new(self.lm.config().num_hidden_layers);
                self.joined = false;
                return Ok(done);
            }
            self.cache.select_rows(&keep)?;
            // Only after a join: a batch started at once keeps its slots, so
            // `generate` computes exactly what a static batch does.
            if self.joined {
                self.cache.trim_front()?;
            }
        }
        let logits = step(self.lm, &self.rows, &mut self.cache)?;
        for (row, l) in self.rows.iter_mut().zip(logits) {
            row.next = l;
        }
        Ok(done)
    }
}

fn check_prompt(lm: &CausalLm, i: usize, p: &[u32]) -> Result<()> {
    let (vocab, max_pos) = (lm.config().vocab_size, lm.config().max_position_embeddings);
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
    Ok(())
}

/// One left-padded forward over all prompts; logits of each last token.
fn prefill(lm: &CausalLm, prompts: &[&[u32]], cache: &mut KvCache) -> Result<Vec<Vec<f32>>> {
    let width = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
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

/// One decode step for every row (each fed its last token).
fn step(lm: &CausalLm, rows: &[Row], cache: &mut KvCache) -> Result<Vec<Vec<f32>>> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut spans = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(*row.tokens.last().ok_or_else(|| Error::Input("decode step before sampling".into()))?);
        spans.push(RowSpan::dense(row.prompt_len + row.tokens.len() - 1, 1));
    }
    let ids = Tensor::from_vec(ids, (rows.len(), 1), lm.device())?;
    Ok(lm.forward_rows(&ids, &spans, Some(cache))?.squeeze(1)?.to_dtype(candle_core::DType::F32)?.to_vec2()?)
}

/// Samples the next token of every row, in parallel (each row has its own
/// generator, so the result does not depend on scheduling).
fn sample_rows(rows: &mut [Row]) -> Result<()> {
    rows.par_iter_mut().try_for_each(|row| {
        let (t, lp) = row.sampler.sample(&row.next)?;
        row.tokens.push(t);
        row.logprobs.push(lp);
        Ok(())
    })
}

fn finish_of(tok: &Tokenizer, row: &mut Row, max_pos: usize) -> Result<Option<FinishReason>> {
    let last = *row.tokens.last().ok_or_else(|| Error::Input("no token sampled".into()))?;
    if tok.eos_token_ids().contains(&last) {
        return Ok(Some(FinishReason::Stop));
    }
    if !row.cfg.stop.is_empty() {
        let text = tok.decode(&row.tokens, false)?;
        if let Some(cut) = row.cfg.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            row.cut = Some(cut);
            return Ok(Some(FinishReason::Stop));
        }
    }
    // The next step would feed this token at position prompt_len + len - 1.
    if row.tokens.len() >= row.cfg.max_new_tokens || row.prompt_len + row.tokens.len() >= max_pos {
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
