//! Per-token log-probabilities of completions, the quantity every policy
//! gradient loss is built from (GRPO: Shao et al., arXiv 2402.03300).
//!
//! For a batch of (prompt, completion) token sequences, row `i` is fed as
//! `prompt ++ completion`, right-padded, and
//! `logprobs[i, j] = log p(completion[j] | prompt, completion[..j])`,
//! shape `(b, t_c)` with `t_c` the longest completion; `mask[i, j]` is 1
//! for real completion tokens and 0 for padding (where `logprobs` is 0).
//!
//! Only the hidden states that predict completion tokens go through the
//! `(d, V)` output projection, and the log-softmax is a differentiable
//! composition (`ops::log_softmax_gather`). With [`Grad::Track`] the result
//! carries the graph back to every weight; with [`Grad::Detached`] each
//! micro-batch is detached as soon as it is computed (old and reference
//! policies), so memory stays that of one micro-batch.

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};
use crate::ops::log_softmax_gather;
use crate::{CausalLm, RowSpan};

/// One sequence: the prompt tokens and the completion tokens scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqPair {
    /// Conditioning tokens (at least one).
    pub prompt: Vec<u32>,
    /// Tokens whose log-probabilities are returned.
    pub completion: Vec<u32>,
}

/// Whether the result keeps the autograd graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grad {
    /// Keep the graph: for the policy being trained.
    Track,
    /// Detach each micro-batch: for old and reference policies.
    Detached,
}

/// How to run [`completion_logprobs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogprobOptions {
    /// Rows per forward pass (at least 1).
    pub micro_batch: usize,
    /// Keep or drop the graph.
    pub grad: Grad,
}

/// Log-probabilities and mask of a batch of completions.
#[derive(Debug, Clone)]
pub struct CompletionLogprobs {
    /// `(b, t_c)`, f32 (f64 for an f64 model); 0 where `mask` is 0.
    pub logprobs: Tensor,
    /// `(b, t_c)`, same dtype, 1 for real completion tokens.
    pub mask: Tensor,
}

/// Log-probabilities of each completion token given its prompt and the
/// completion tokens before it. Rows are processed `micro_batch` at a time
/// and concatenated. With `Grad::Track` and more rows than one micro-batch,
/// the graph of every micro-batch is alive at once: for gradient
/// accumulation call this once per micro-batch and backpropagate each.
pub fn completion_logprobs(lm: &CausalLm, pairs: &[SeqPair], opts: &LogprobOptions) -> Result<CompletionLogprobs> {
    if pairs.is_empty() {
        return Err(Error::Input("completion_logprobs: no sequences".to_string()));
    }
    if opts.micro_batch == 0 {
        return Err(Error::Input("completion_logprobs: micro_batch must be at least 1".to_string()));
    }
    let vocab = lm.config().vocab_size;
    for (i, p) in pairs.iter().enumerate() {
        if p.prompt.is_empty() {
            return Err(Error::Input(format!("sequence {i}: empty prompt (the first token has no context)")));
        }
        if let Some(&bad) = p.prompt.iter().chain(&p.completion).find(|&&t| t as usize >= vocab) {
            return Err(Error::Input(format!("sequence {i}: token id {bad} >= vocab_size {vocab}")));
        }
    }
    let t_c = pairs.iter().map(|p| p.completion.len()).max().unwrap_or(0).max(1);
    let mut lps = Vec::new();
    let mut masks = Vec::new();
    for chunk in pairs.chunks(opts.micro_batch) {
        let (lp, mask) = micro_batch(lm, chunk, t_c)?;
        lps.push(match opts.grad {
            Grad::Track => lp,
            Grad::Detached => lp.detach(),
        });
        masks.push(mask);
    }
    Ok(CompletionLogprobs { logprobs: Tensor::cat(&lps, 0)?, mask: Tensor::cat(&masks, 0)? })
}

/// One forward pass over `pairs`, completions padded to `t_c` columns.
fn micro_batch(lm: &CausalLm, pairs: &[SeqPair], t_c: usize) -> Result<(Tensor, Tensor)> {
    let b = pairs.len();
    let t = pairs.iter().map(|p| p.prompt.len() + p.completion.len()).max().unwrap_or(1);
    let mut ids = vec![0u32; b * t];
    let mut gather = vec![0u32; b * t_c];
    let mut targets = vec![0u32; b * t_c];
    let mut mask = vec![0f64; b * t_c];
    let mut rows = Vec::with_capacity(b);
    for (i, p) in pairs.iter().enumerate() {
        let n = p.prompt.len() + p.completion.len();
        for (slot, &tok) in ids[i * t..].iter_mut().zip(p.prompt.iter().chain(&p.completion)) {
            *slot = tok;
        }
        for (j, &tok) in p.completion.iter().enumerate() {
            // Completion token j is predicted by the hidden state just before it.
            gather[i * t_c + j] = (i * t + p.prompt.len() + j - 1) as u32;
            targets[i * t_c + j] = tok;
            mask[i * t_c + j] = 1.0;
        }
        rows.push(RowSpan::right_padded(n));
    }
    let dev = lm.device();
    let ids = Tensor::from_vec(ids, (b, t), dev)?;
    let hidden = lm.hidden_rows(&ids, &rows, None)?;
    let d = hidden.dim(2)?;
    let picked = hidden.reshape((b * t, d))?.index_select(&Tensor::from_vec(gather, b * t_c, dev)?, 0)?;
    let logits = lm.logits(&picked)?;
    let lp = log_softmax_gather(&logits, &Tensor::from_vec(targets, b * t_c, dev)?)?;
    let out_dtype = if logits.dtype() == DType::F64 { DType::F64 } else { DType::F32 };
    let mask = Tensor::from_vec(mask, (b, t_c), dev)?.to_dtype(out_dtype)?;
    let lp = (lp.reshape((b, t_c))? * &mask)?;
    Ok((lp, mask))
}

/// Logits at every position of right-padded `seqs`: `(b, t, V)` with `t`
/// the longest sequence, and each row's length (logits past it are
/// meaningless).
pub fn full_logits(lm: &CausalLm, seqs: &[Vec<u32>]) -> Result<(Tensor, Vec<usize>)> {
    let t = seqs.iter().map(Vec::len).max().unwrap_or(0);
    if t == 0 {
        return Err(Error::Input("full_logits: no tokens".to_string()));
    }
    let b = seqs.len();
    let mut ids = vec![0u32; b * t];
    for (i, s) in seqs.iter().enumerate() {
        ids[i * t..i * t + s.len()].copy_from_slice(s);
    }
    let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let rows: Vec<RowSpan> = lens.iter().map(|&n| RowSpan::right_padded(n)).collect();
    let ids = Tensor::from_vec(ids, (b, t), lm.device())?;
    Ok((lm.forward_rows(&ids, &rows, None)?, lens))
}
