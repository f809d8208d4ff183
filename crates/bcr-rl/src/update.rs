//! The policy update of one step: old log-probs once, then mu epochs of
//! micro-batched loss -> backward -> accumulate -> clip -> AdamW.
//!
//! Shapes: a micro-batch of `b` rows is scored as `(b, t)` with `t` its
//! longest completion; `mask` and the broadcast advantages are `(b, t)` too.
//! Every aggregate divides by counts of the whole batch ([`Normaliser`]), so
//! the accumulated gradient equals the gradient of the un-split batch.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};

use crate::agg::{aggregate, Normaliser};
use crate::config::LossAgg;
use crate::error::{Error, Result};
use crate::loss::{clipped_surrogate, kl_k3, Clip};
use crate::optim::{clip_global_norm, AdamW, GradAccumulator};
use crate::policy::Policy;

/// One response to train on.
#[derive(Debug, Clone, Copy)]
pub struct TrainRow<'a> {
    /// Prompt token ids.
    pub prompt: &'a [u32],
    /// Response token ids.
    pub completion: &'a [u32],
    /// The response's advantage (shared by all of its tokens).
    pub advantage: f64,
}

/// The loss terms and their weights.
#[derive(Debug, Clone, Copy)]
pub struct LossSettings {
    /// Surrogate clipping.
    pub clip: Clip,
    /// Aggregation mode.
    pub agg: LossAgg,
    /// Weight of the k3 KL to the reference.
    pub kl_coef: f64,
    /// Weight of the entropy bonus (subtracted from the loss).
    pub entropy_coef: f64,
    /// Response budget (Dr.GRPO's constant length).
    pub budget: usize,
}

/// Sums over tokens for logging (divide by `tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossStats {
    /// The aggregated policy-gradient loss (sum over micro-batches).
    pub pg_loss: f64,
    /// Tokens whose gradient was clipped.
    pub clipped_tokens: f64,
    /// Sum of per-token k3 KL (0 without a reference).
    pub kl_sum: f64,
    /// Sum of per-token entropy.
    pub entropy_sum: f64,
    /// Valid tokens seen.
    pub tokens: f64,
}

impl LossStats {
    fn add(&mut self, o: &LossStats) {
        self.pg_loss += o.pg_loss;
        self.clipped_tokens += o.clipped_tokens;
        self.kl_sum += o.kl_sum;
        self.entropy_sum += o.entropy_sum;
        self.tokens += o.tokens;
    }
}

/// The differentiable loss of one micro-batch and its statistics.
pub struct LossParts {
    /// Scalar loss with the graph to the policy weights.
    pub total: Tensor,
    /// Token sums for logging.
    pub stats: LossStats,
}

/// `(mask, advantages)` of rows padded to `t`, both `(b, t)`.
pub fn row_tensors(rows: &[TrainRow], t: usize, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
    let mut mask = Vec::with_capacity(rows.len() * t);
    let mut adv = Vec::with_capacity(rows.len() * t);
    for r in rows {
        let len = r.completion.len();
        mask.extend((0..t).map(|i| if i < len { 1f64 } else { 0.0 }));
        adv.extend(std::iter::repeat_n(r.advantage, t));
    }
    let shape = (rows.len(), t);
    Ok((
        Tensor::from_vec(mask, shape, device)?.to_dtype(dtype)?,
        Tensor::from_vec(adv, shape, device)?.to_dtype(dtype)?,
    ))
}

fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

fn masked_sum(x: &Tensor, mask: &Tensor) -> Result<f64> {
    scalar(&(x.detach() * mask)?.sum_all()?)
}

/// Loss of one micro-batch. `old` are the behaviour log-probs `(b, t)`
/// (None: on-policy, i.e. the current log-probs detached, ratio 1);
/// `reference` the frozen policy's log-probs when the KL term is on.
pub fn microbatch_loss<P: Policy>(
    policy: &P,
    rows: &[TrainRow],
    old: Option<&Tensor>,
    reference: Option<&Tensor>,
    norm: &Normaliser,
    s: &LossSettings,
) -> Result<LossParts> {
    let pairs: Vec<(&[u32], &[u32])> = rows.iter().map(|r| (r.prompt, r.completion)).collect();
    let scores = policy.score(&pairs, true)?;
    let logp = scores.logprobs;
    let (b, t) = logp.dims2()?;
    if b != rows.len() {
        return Err(Error::Invalid(format!("score returned {b} rows for {}", rows.len())));
    }
    let (mask, adv) = row_tensors(rows, t, logp.dtype(), logp.device())?;
    let old = match old {
        Some(o) => o.clone(),
        None => logp.detach(),
    };
    let sur = clipped_surrogate(&logp, &old, &adv, s.clip)?;
    let pg = aggregate(&sur.loss, &mask, s.agg, norm)?;
    let mut stats = LossStats {
        pg_loss: scalar(&pg)?,
        clipped_tokens: masked_sum(&sur.clipped, &mask)?,
        tokens: masked_sum(&mask, &mask)?,
        ..LossStats::default()
    };
    let mut total = pg;
    if let (Some(r), true) = (reference, s.kl_coef != 0.0) {
        let kl = kl_k3(&logp, r)?;
        stats.kl_sum = masked_sum(&kl, &mask)?;
        total = (total + (aggregate(&kl, &mask, s.agg, norm)? * s.kl_coef)?)?;
    }
    if let Some(h) = scores.entropy {
        stats.entropy_sum = masked_sum(&h, &mask)?;
        if s.entropy_coef != 0.0 {
            total = (total - (aggregate(&h, &mask, s.agg, norm)? * s.entropy_coef)?)?;
        }
    }
    Ok(LossParts { total, stats })
}

/// Settings of the update loop.
#[derive(Debug, Clone, Copy)]
pub struct UpdateSettings {
    /// Loss terms.
    pub loss: LossSettings,
    /// mu: epochs over the batch (one optimizer step each).
    pub epochs: usize,
    /// Rows per forward/backward.
    pub micro_batch: usize,
    /// Global grad-norm clip (0 = off).
    pub max_grad_norm: f64,
    /// Learning rate of this step.
    pub lr: f64,
}

impl UpdateSettings {
    /// The update settings of `[algo]` and `[optim]` (budget and learning
    /// rate are set per step by [`UpdateSettings::at`]).
    pub fn from_config(c: &crate::TrainConfig) -> Self {
        let (a, o) = (&c.algo, &c.optim);
        UpdateSettings {
            loss: LossSettings {
                clip: Clip { low: a.clip_low, high: a.clip_high, dual: (a.dual_clip > 0.0).then_some(a.dual_clip) },
                agg: a.loss_agg,
                kl_coef: a.kl_coef,
                entropy_coef: a.entropy_coef,
                budget: c.data.budget,
            },
            epochs: a.epochs,
            micro_batch: o.micro_batch,
            max_grad_norm: o.max_grad_norm,
            lr: o.lr,
        }
    }

    /// These settings with this step's response budget and learning rate.
    pub fn at(&self, budget: usize, lr: f64) -> Self {
        UpdateSettings { loss: LossSettings { budget, ..self.loss }, lr, ..*self }
    }
}

/// What the update did.
#[derive(Debug, Clone, Default)]
pub struct UpdateOutcome {
    /// Gradient norm before clipping (last epoch).
    pub grad_norm: f64,
    /// Token statistics of the first epoch (the on-policy one).
    pub stats: LossStats,
    /// Why the step was skipped, if it was (a non-finite loss or gradient).
    pub skipped: Option<String>,
    /// Seconds spent computing old and reference log-probs.
    pub logprob_s: f64,
    /// Seconds spent in forward/backward/optimizer.
    pub update_s: f64,
}

fn detached_logprobs<P: Policy>(p: &P, rows: &[TrainRow]) -> Result<Tensor> {
    let pairs: Vec<(&[u32], &[u32])> = rows.iter().map(|r| (r.prompt, r.completion)).collect();
    Ok(p.score(&pairs, false)?.logprobs.detach())
}

/// mu epochs of micro-batched updates over `rows`.
pub fn update<P: Policy>(
    policy: &P,
    reference: Option<&P>,
    opt: &mut AdamW,
    rows: &[TrainRow],
    u: &UpdateSettings,
) -> Result<UpdateOutcome> {
    let mut out = UpdateOutcome::default();
    if rows.is_empty() {
        return Ok(out);
    }
    let t0 = Instant::now();
    let chunks: Vec<&[TrainRow]> = rows.chunks(u.micro_batch.max(1)).collect();
    // Behaviour log-probs are needed only when the policy moves between
    // epochs; with mu = 1 the current log-probs, detached, are the same numbers.
    let old: Vec<Option<Tensor>> = match u.epochs > 1 {
        true => chunks.iter().map(|c| detached_logprobs(policy, c).map(Some)).collect::<Result<_>>()?,
        false => vec![None; chunks.len()],
    };
    let refs: Vec<Option<Tensor>> = match (reference, u.loss.kl_coef != 0.0) {
        (Some(r), true) => chunks.iter().map(|c| detached_logprobs(r, c).map(Some)).collect::<Result<_>>()?,
        _ => vec![None; chunks.len()],
    };
    out.logprob_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let tokens: usize = rows.iter().map(|r| r.completion.len()).sum();
    let norm = Normaliser { tokens: tokens as f64, seqs: rows.len() as f64, max_len: u.loss.budget as f64 };
    for epoch in 0..u.epochs {
        let params = opt.params().to_vec();
        let mut acc = GradAccumulator::new(params.len());
        let mut stats = LossStats::default();
        for (i, chunk) in chunks.iter().enumerate() {
            let parts = microbatch_loss(policy, chunk, old[i].as_ref(), refs[i].as_ref(), &norm, &u.loss)?;
            let value = scalar(&parts.total)?;
            if !value.is_finite() {
                out.skipped = Some(format!("loss is {value} (epoch {epoch}, micro-batch {i})"));
                out.update_s = t1.elapsed().as_secs_f64();
                return Ok(out);
            }
            stats.add(&parts.stats);
            acc.add(&params, &parts.total.backward()?)?;
        }
        let mut grads = acc.finish(&params)?;
        let norm_value = clip_global_norm(&mut grads, u.max_grad_norm)?;
        if !norm_value.is_finite() {
            out.skipped = Some(format!("gradient norm is {norm_value} (epoch {epoch})"));
            out.update_s = t1.elapsed().as_secs_f64();
            return Ok(out);
        }
        opt.step(&grads, u.lr)?;
        out.grad_norm = norm_value;
        if epoch == 0 {
            out.stats = stats;
        }
    }
    out.update_s = t1.elapsed().as_secs_f64();
    Ok(out)
}
