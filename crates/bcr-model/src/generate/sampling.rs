//! Next-token sampling: greedy at temperature 0, otherwise temperature,
//! top-k, top-p (nucleus, Holtzman et al. arXiv 1904.09751) and min-p
//! (Nguyen et al. arXiv 2407.01082) applied in that order, then one draw
//! from a per-sequence ChaCha8 stream.
//!
//! Every sequence owns its generator, seeded from its own seed, so a
//! sequence's samples depend only on its seed and its logits: the same in
//! any batch, in any order, alone or not.
//!
//! The log-prob returned with each token is under the model's unmodified
//! distribution (`log_softmax` of the raw logits, temperature 1, no
//! truncation), the quantity a policy-gradient update compares against.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

/// How to sample and when to stop (the BCR budget is `max_new_tokens`).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingConfig {
    /// Hard cap on generated tokens (end-of-sequence included).
    pub max_new_tokens: usize,
    /// Softmax temperature; 0 means greedy (argmax, lowest id on ties).
    pub temperature: f64,
    /// Keep the smallest set of most likely tokens whose mass reaches
    /// `top_p` (1 disables).
    pub top_p: f64,
    /// Keep the `top_k` most likely tokens (0 disables).
    pub top_k: usize,
    /// Drop tokens with probability below `min_p` times the top one (0 disables).
    pub min_p: f64,
    /// Base seed; sequence `i` of a call uses [`row_seed`]`(seed, i)`.
    pub seed: u64,
    /// Stop when the generated text contains any of these (the text is cut
    /// before it; the tokens keep the one that completed it).
    pub stop: Vec<String>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            max_new_tokens: 256,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

impl SamplingConfig {
    /// Checks every field's range; the message names the field and value.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, v: String, want: &str| Err(Error::Input(format!("{field} = {v}: must be {want}")));
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens", "0".into(), "at least 1");
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad("temperature", self.temperature.to_string(), "finite and >= 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", self.top_p.to_string(), "in (0, 1]");
        }
        if !(0.0..1.0).contains(&self.min_p) {
            return bad("min_p", self.min_p.to_string(), "in [0, 1)");
        }
        if self.stop.iter().any(String::is_empty) {
            return bad("stop", "\"\"".into(), "non-empty strings");
        }
        Ok(())
    }
}

/// The seed of sequence `index` for base seed `seed` (SplitMix64 of both,
/// so neighbouring seeds and rows give unrelated streams).
pub fn row_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One sequence's sampler: the config's filters and its own random stream.
#[derive(Debug, Clone)]
pub struct Sampler {
    rng: ChaCha8Rng,
    temperature: f64,
    top_p: f64,
    top_k: usize,
    min_p: f64,
}

impl Sampler {
    /// A sampler for one sequence with seed `seed`.
    pub fn new(cfg: &SamplingConfig, seed: u64) -> Self {
        Sampler {
            rng: ChaCha8Rng::seed_from_u64(seed),
            temperature: cfg.temperature,
            top_p: cfg.top_p,
            top_k: cfg.top_k,
            min_p: cfg.min_p,
        }
    }

    /// Picks the next token from `logits` (one row, vocabulary size);
    /// returns it with its log-prob under the raw distribution.
    pub fn sample(&mut self, logits: &[f32]) -> Result<(u32, f32)> {
        if logits.is_empty() || logits.iter().any(|v| v.is_nan()) {
            return Err(Error::Input(format!("cannot sample from {} logits (empty or NaN)", logits.len())));
        }
        let token = if self.temperature == 0.0 { argmax(logits) } else { self.draw(logits) };
        Ok((token as u32, log_softmax_at(logits, token)))
    }

    fn draw(&mut self, logits: &[f32]) -> usize {
        let inv_t = 1.0 / self.temperature;
        let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
        let weight = |v: f32| ((v as f64 - max) * inv_t).exp();
        let need_order = self.top_k > 0 || self.top_p < 1.0;
        let mut cand: Vec<(usize, f64)> = if need_order {
            ordered_candidates(logits, self.top_k, self.top_p, &weight)
        } else {
            logits.iter().enumerate().map(|(i, &v)| (i, weight(v))).collect()
        };
        if self.min_p > 0.0 {
            // The most likely token has weight 1 (its logit is the max).
            cand.retain(|&(_, w)| w >= self.min_p);
        }
        let total: f64 = cand.iter().map(|c| c.1).sum();
        let mut u = self.rng.random::<f64>() * total;
        for &(i, w) in &cand {
            if u < w {
                return i;
            }
            u -= w;
        }
        // Rounding left `u` just above the last weight: take the last one.
        cand.last().map_or_else(|| argmax(logits), |c| c.0)
    }
}

/// Candidates (id, unnormalised weight) in decreasing probability (ties:
/// lower id first), cut to `top_k` and then to the top-`top_p` mass. Only
/// a prefix is sorted: the cut is found in the top `n` for growing `n`.
fn ordered_candidates(logits: &[f32], top_k: usize, top_p: f64, weight: &dyn Fn(f32) -> f64) -> Vec<(usize, f64)> {
    let cmp = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut all: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
    if top_k > 0 && top_k < all.len() {
        all.select_nth_unstable_by(top_k - 1, cmp);
        all.truncate(top_k);
    }
    let k = all.len();
    // top-p mass is relative to what top-k kept, as in transformers.
    let total: f64 = if top_p < 1.0 { all.iter().map(|&(_, v)| weight(v)).sum() } else { 0.0 };
    let mut n = k.min(64);
    loop {
        if n < all.len() {
            all.select_nth_unstable_by(n - 1, cmp);
        }
        let mut head: Vec<(usize, f32)> = all[..n].to_vec();
        head.sort_unstable_by(cmp);
        let mut out = Vec::with_capacity(n);
        let mut mass = 0.0;
        for &(i, v) in &head {
            let w = weight(v);
            out.push((i, w));
            mass += w;
            if top_p < 1.0 && mass >= top_p * total {
                return out;
            }
        }
        if n >= k {
            return out;
        }
        n = (n * 4).min(k);
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// `log_softmax(logits)[i]`: the log-sum-exp with 16-lane exponentials
/// (f32 terms, relative error < 3e-7 each) where the CPU has AVX-512,
/// else in f64. Once per sequence and step over the whole vocabulary, so
/// glibc's scalar `exp` was 4% of a batch-32 decode step.
pub fn log_softmax_at(logits: &[f32], i: usize) -> f32 {
    use crate::kernels::fused::Float;
    (logits[i] as f64 - <f32 as Float>::lse_row(logits).0) as f32
}

#[cfg(test)]
mod tests;
