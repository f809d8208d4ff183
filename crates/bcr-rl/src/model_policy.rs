//! [`ModelPolicy`]: a `bcr-model` transformer (Llama, Qwen2, Qwen3) as a
//! trainable [`Policy`].
//!
//! The checkpoint's tensors (HF safetensors directory, GGUF file dequantised
//! to `model.dtype`, or a Hub id) become `Var`s of a `VarMap` named exactly
//! as in the checkpoint (`model.layers.3.mlp.up_proj.weight`), so a saved
//! `model.safetensors` loads back into any HF tooling. Only the tensors the
//! architecture uses are kept; a missing or mis-shaped one is an error
//! before any is used (a `VarMap` would otherwise silently initialise it).
//!
//! Shapes in [`Policy::score`]: rows are `prompt ++ completion`, right-padded;
//! the hidden state before completion token `j` is projected to `(V,)`
//! logits, giving log-probs and entropies `(b, t_c)`.

use std::collections::HashMap;

use bcr_core::ChatMessage;
use bcr_model::{CausalLm, Checkpoint, ModelConfig, RowSpan, SamplingConfig, Tokenizer};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::config::ModelSection;
use crate::error::{Error, Result};
use crate::loss::entropy_from_logits;
use crate::policy::{Completion, Policy, Sampling, TokenScores};

/// A transformer policy with trainable weights and its tokenizer.
pub struct ModelPolicy {
    cfg: ModelConfig,
    lm: CausalLm,
    tokenizer: Tokenizer,
    vars: Vec<(String, Var)>,
    dtype: DType,
    device: Device,
}

/// `cpu` or `cuda:K` as a candle device (the `model.device` config key).
pub fn parse_device(spec: &str) -> Result<Device> {
    bcr_model::parse_device(spec).map_err(|e| Error::config("config key model.device", e.to_string()))
}

/// `f32`, `bf16` or `f16` as a candle dtype (the `model.dtype` config key).
pub fn parse_dtype(spec: &str) -> Result<DType> {
    bcr_model::parse_dtype(spec).map_err(|e| Error::config("config key model.dtype", e.to_string()))
}

impl ModelPolicy {
    /// Loads `[model]`: the checkpoint (resolved as everywhere in bcr,
    /// [`Checkpoint::open`]), its tokenizer, on the device and dtype asked for.
    pub fn load(section: &ModelSection) -> Result<Self> {
        let device = parse_device(&section.device)?;
        let dtype = parse_dtype(&section.dtype)?;
        let ckpt = Checkpoint::open(&section.path)?;
        let tensors = ckpt.tensors(dtype, &device)?;
        Self::from_tensors(ckpt.config, tensors, ckpt.tokenizer, &section.path)
    }

    /// Builds the policy from named tensors (checked against the config).
    pub fn from_tensors(
        cfg: ModelConfig,
        tensors: HashMap<String, Tensor>,
        mut tokenizer: Tokenizer,
        source: &str,
    ) -> Result<Self> {
        let shapes = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
        bcr_model::check_tensors(&cfg, &shapes, source)?;
        let wanted: Vec<String> = CausalLm::expected_tensors(&cfg).into_iter().map(|(n, _)| n).collect();
        let mut vars = Vec::with_capacity(wanted.len());
        for name in wanted {
            if let Some(t) = tensors.get(&name) {
                vars.push((name, Var::from_tensor(t)?));
            }
        }
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tokenizer.add_eos_ids(&cfg.eos_token_ids);
        Self::assemble(cfg, vars, tokenizer)
    }

    fn assemble(cfg: ModelConfig, vars: Vec<(String, Var)>, tokenizer: Tokenizer) -> Result<Self> {
        let (dtype, device) = match vars.first() {
            Some((_, v)) => (v.dtype(), v.device().clone()),
            None => return Err(Error::Invalid("the checkpoint has no tensors".into())),
        };
        let map = VarMap::new();
        {
            let mut data = map.data().lock().map_err(|_| Error::Invalid("variable map lock poisoned".into()))?;
            for (name, var) in &vars {
                data.insert(name.clone(), var.clone());
            }
        }
        let lm = CausalLm::new(&cfg, VarBuilder::from_varmap(&map, dtype, &device))?;
        Ok(ModelPolicy { cfg, lm, tokenizer, vars, dtype, device })
    }

    /// The network.
    pub fn lm(&self) -> &CausalLm {
        &self.lm
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The weights' dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
}

impl Policy for ModelPolicy {
    fn named_vars(&self) -> Vec<(String, Var)> {
        self.vars.clone()
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn encode_prompt(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        let mut messages: Vec<ChatMessage> = system.map(ChatMessage::system).into_iter().collect();
        messages.push(ChatMessage::user(user));
        Ok(self.tokenizer.encode_chat(&messages)?)
    }

    fn generate(&self, prompts: &[Vec<u32>], s: &Sampling) -> Result<Vec<Completion>> {
        let cfg = SamplingConfig {
            max_new_tokens: s.max_new_tokens,
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: s.top_k,
            min_p: 0.0,
            seed: s.seed,
            stop: Vec::new(),
        };
        let gens = bcr_model::generate(&self.lm, &self.tokenizer, prompts, &cfg)?;
        Ok(gens
            .into_iter()
            .map(|g| Completion {
                truncated: g.finish == bcr_core::FinishReason::Length,
                tokens: g.tokens,
                text: g.text,
            })
            .collect())
    }

    fn score(&self, rows: &[(&[u32], &[u32])], with_entropy: bool) -> Result<TokenScores> {
        let b = rows.len();
        let t_c = rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0).max(1);
        let t = rows.iter().map(|(p, c)| p.len() + c.len()).max().unwrap_or(1);
        let mut ids = vec![0u32; b * t];
        let mut gather = vec![0u32; b * t_c];
        let mut targets = vec![0u32; b * t_c];
        let mut spans = Vec::with_capacity(b);
        for (i, (prompt, completion)) in rows.iter().enumerate() {
            if prompt.is_empty() {
                return Err(Error::Invalid(format!("row {i}: empty prompt")));
            }
            for (slot, &tok) in ids[i * t..].iter_mut().zip(prompt.iter().chain(completion.iter())) {
                *slot = tok;
            }
            for (j, &tok) in completion.iter().enumerate() {
                // Completion token j is predicted by the hidden state just before it.
                gather[i * t_c + j] = (i * t + prompt.len() + j - 1) as u32;
                targets[i * t_c + j] = tok;
            }
            spans.push(RowSpan::right_padded(prompt.len() + completion.len()));
        }
        let dev = &self.device;
        let ids = Tensor::from_vec(ids, (b, t), dev)?;
        let hidden = self.lm.hidden_rows(&ids, &spans, None)?;
        let d = hidden.dim(2)?;
        let picked = hidden.reshape((b * t, d))?.index_select(&Tensor::from_vec(gather, b * t_c, dev)?, 0)?;
        let logits = self.lm.logits(&picked)?;
        let targets = Tensor::from_vec(targets, b * t_c, dev)?;
        let logprobs = bcr_model::ops::log_softmax_gather(&logits, &targets)?.reshape((b, t_c))?;
        let entropy = match with_entropy {
            true => Some(entropy_from_logits(&logits)?.reshape((b, t_c))?),
            false => None,
        };
        Ok(TokenScores { logprobs, entropy })
    }

    fn frozen_copy(&self) -> Result<Self> {
        Self::assemble(self.cfg.clone(), crate::policy::copy_vars(&self.vars)?, self.tokenizer.clone())
    }
}
