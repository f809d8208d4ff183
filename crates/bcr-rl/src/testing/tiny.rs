//! A tiny differentiable language model over a 12-token alphabet (digits,
//! space, end-of-sequence), used by the tests to check the gradient of the
//! whole loss and to show the trainer learning.
//!
//! Next-token logits from the context `c` (prompt + response so far):
//! `h = tanh(mean_emb(c) W_b + emb_last(c_last) W_l + b1)`, `logits = h W_o + b_o`.
//! Everything is a matmul of count/one-hot matrices, so `score` is one
//! batched, fully differentiable computation.

use candle_core::{DType, Device, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::loss::entropy_from_logits;
use crate::policy::{Completion, Policy, Sampling, TokenScores};

pub const VOCAB: usize = 12;
pub const SPACE: u32 = 10;
pub const EOS: u32 = 11;

pub struct TinyPolicy {
    vars: Vec<(String, Var)>,
    device: Device,
    dtype: DType,
}

fn init(rng: &mut ChaCha8Rng, shape: (usize, usize), scale: f64, dtype: DType) -> Result<Var> {
    let v: Vec<f64> = (0..shape.0 * shape.1).map(|_| rng.random_range(-scale..scale)).collect();
    Ok(Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu)?.to_dtype(dtype)?)?)
}

impl TinyPolicy {
    pub fn new(seed: u64, hidden: usize, dtype: DType) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let names = [
            ("bag", (VOCAB, hidden), 0.5),
            ("last", (VOCAB, hidden), 0.5),
            ("b1", (1, hidden), 0.1),
            ("out", (hidden, VOCAB), 0.5),
            ("b_out", (1, VOCAB), 0.1),
        ];
        let mut vars = Vec::new();
        for (name, shape, scale) in names {
            vars.push((name.to_string(), init(&mut rng, shape, scale, dtype)?));
        }
        Ok(TinyPolicy { vars, device: Device::Cpu, dtype })
    }

    fn var(&self, i: usize) -> &Tensor {
        self.vars[i].1.as_tensor()
    }

    /// Logits `(rows, VOCAB)` for a list of contexts.
    fn logits(&self, contexts: &[Vec<u32>]) -> Result<Tensor> {
        let r = contexts.len();
        let mut bag = vec![0f64; r * VOCAB];
        let mut last = vec![0f64; r * VOCAB];
        for (i, c) in contexts.iter().enumerate() {
            for &t in c {
                bag[i * VOCAB + t as usize] += 1.0 / c.len() as f64;
            }
            if let Some(&t) = c.last() {
                last[i * VOCAB + t as usize] = 1.0;
            }
        }
        let bag = Tensor::from_vec(bag, (r, VOCAB), &self.device)?.to_dtype(self.dtype)?;
        let last = Tensor::from_vec(last, (r, VOCAB), &self.device)?.to_dtype(self.dtype)?;
        let h = (bag.matmul(self.var(0))? + last.matmul(self.var(1))?)?;
        let h = h.broadcast_add(self.var(2))?.tanh()?;
        Ok(h.matmul(self.var(3))?.broadcast_add(self.var(4))?)
    }

    pub fn encode(text: &str) -> Result<Vec<u32>> {
        text.chars()
            .map(|c| match c {
                '0'..='9' => Ok(c as u32 - '0' as u32),
                ' ' => Ok(SPACE),
                other => Err(Error::Invalid(format!("tiny policy cannot encode {other:?}"))),
            })
            .collect()
    }

    pub fn decode(tokens: &[u32]) -> String {
        tokens
            .iter()
            .filter(|&&t| t != EOS)
            .map(|&t| if t == SPACE { ' ' } else { char::from(b'0' + t as u8) })
            .collect()
    }
}

impl Policy for TinyPolicy {
    fn named_vars(&self) -> Vec<(String, Var)> {
        self.vars.clone()
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn encode_prompt(&self, _system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        Self::encode(user)
    }

    fn generate(&self, prompts: &[Vec<u32>], s: &Sampling) -> Result<Vec<Completion>> {
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
        let mut out = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            let mut ctx = prompt.clone();
            let mut tokens = Vec::new();
            while tokens.len() < s.max_new_tokens {
                let logits = self.logits(std::slice::from_ref(&ctx))?;
                let probs = candle_nn::ops::softmax(&(logits / s.temperature)?, D::Minus1)?;
                let probs = probs.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let mut tok = (VOCAB - 1) as u32;
                for (i, p) in probs.iter().enumerate() {
                    acc += p;
                    if u < acc {
                        tok = i as u32;
                        break;
                    }
                }
                tokens.push(tok);
                ctx.push(tok);
                if tok == EOS {
                    break;
                }
            }
            let truncated = tokens.last() != Some(&EOS);
            out.push(Completion { text: Self::decode(&tokens), tokens, truncated });
        }
        Ok(out)
    }

    fn score(&self, rows: &[(&[u32], &[u32])], with_entropy: bool) -> Result<TokenScores> {
        let t = rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0).max(1);
        let mut contexts = Vec::with_capacity(rows.len() * t);
        let mut targets = Vec::with_capacity(rows.len() * t);
        for (prompt, completion) in rows {
            for i in 0..t {
                let k = i.min(completion.len().saturating_sub(1));
                let mut ctx = prompt.to_vec();
                ctx.extend_from_slice(&completion[..k]);
                contexts.push(ctx);
                targets.push(completion.get(k).copied().unwrap_or(EOS));
            }
        }
        let logits = self.logits(&contexts)?;
        let logp_all = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let idx = Tensor::from_vec(targets, (rows.len() * t, 1), &self.device)?;
        let logprobs = logp_all.gather(&idx, 1)?.reshape((rows.len(), t))?;
        let entropy = match with_entropy {
            true => Some(entropy_from_logits(&logits.reshape((rows.len(), t, VOCAB))?)?),
            false => None,
        };
        Ok(TokenScores { logprobs, entropy })
    }

    fn frozen_copy(&self) -> Result<Self> {
        Ok(TinyPolicy { vars: crate::policy::copy_vars(&self.vars)?, device: self.device.clone(), dtype: self.dtype })
    }
}
