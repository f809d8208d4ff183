//! `ModelConfig`: the Hugging Face `config.json` of a Llama, Qwen2 or Qwen3
//! checkpoint, read with the HF key names, validated once, with the derived
//! numbers (head dimension, KV groups, RoPE inverse frequencies) computed in
//! one place.
//!
//! RoPE (Su et al., "RoFormer", arXiv 2104.09864) scaling variants follow
//! transformers' `modeling_rope_utils`: `linear` (position interpolation,
//! Chen et al. arXiv 2306.15595), `llama3` (Meta's frequency-banded
//! interpolation) and `yarn` (Peng et al. arXiv 2309.00071).

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The architecture family, from `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `llama` (SmolLM2, Llama 2/3): optional bias on all projections.
    Llama,
    /// `qwen2` (DeepSeek-R1-Distill-Qwen): bias on q/k/v, none on o.
    Qwen2,
    /// `qwen3`: RMSNorm on each head of q and k before RoPE.
    Qwen3,
}

/// RoPE scaling as given by `rope_scaling` (or transformers 5's `rope_parameters`).
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE.
    Default,
    /// Positions divided by `factor`.
    Linear {
        /// Interpolation factor.
        factor: f64,
    },
    /// Llama 3.1 frequency-banded scaling.
    Llama3 {
        /// Interpolation factor for low frequencies.
        factor: f64,
        /// Wavelength band edge (low).
        low_freq_factor: f64,
        /// Wavelength band edge (high).
        high_freq_factor: f64,
        /// Context length of pre-training.
        original_max_position_embeddings: f64,
    },
    /// YaRN: NTK-by-parts interpolation plus an attention temperature.
    Yarn {
        /// Interpolation factor.
        factor: f64,
        /// Context length of pre-training.
        original_max_position_embeddings: f64,
        /// Rotations above which dimensions extrapolate.
        beta_fast: f64,
        /// Rotations below which dimensions interpolate.
        beta_slow: f64,
        /// Scale applied to cos and sin (YaRN's `mscale`).
        attention_factor: f64,
        /// Round the correction range to whole dimensions.
        truncate: bool,
    },
}

/// The config.json fields this implementation reads (HF key names).
#[derive(Debug, Clone, Deserialize)]
struct RawConfig {
    model_type: String,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    rms_norm_eps: f64,
    rope_theta: Option<f64>,
    rope_scaling: Option<serde_json::Value>,
    rope_parameters: Option<serde_json::Value>,
    #[serde(default = "default_max_pos")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: bool,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    vocab_size: usize,
    bos_token_id: Option<serde_json::Value>,
    eos_token_id: Option<serde_json::Value>,
    hidden_act: Option<String>,
    #[serde(default)]
    use_sliding_window: bool,
    partial_rotary_factor: Option<f64>,
    #[serde(default)]
    pretraining_tp: Option<usize>,
}

fn default_eps() -> f64 {
    1e-6
}

fn default_max_pos() -> usize {
    4096
}

/// A validated model config with the derived numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Architecture family.
    pub arch: Arch,
    /// Model width `d`.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (GQA; equal to query heads when absent).
    pub num_key_value_heads: usize,
    /// Per-head dimension (`head_dim` key, else hidden / heads).
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// RoPE scaling variant.
    pub rope_scaling: RopeScaling,
    /// Longest position the model accepts.
    pub max_position_embeddings: usize,
    /// `lm_head` shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Bias on q/k/v projections.
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Beginning-of-sequence id, when given.
    pub bos_token_id: Option<u32>,
    /// End-of-sequence ids (one or several).
    pub eos_token_ids: Vec<u32>,
}

impl ModelConfig {
    /// Read and validate a `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, path)
    }

    /// Parse and validate config text; `origin` names the file in errors.
    pub fn from_json_str(text: &str, origin: &Path) -> Result<Self> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| Error::json(origin, &e))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawConfig) -> Result<Self> {
        let arch = match raw.model_type.as_str() {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            other => {
                return Err(unsupported(
                    format!("model_type = {other:?}"),
                    "only llama, qwen2 and qwen3 decoders are implemented",
                ))
            }
        };
        reject_unsupported(&raw)?;
        let heads = positive("num_attention_heads", raw.num_attention_heads)?;
        positive("hidden_size", raw.hidden_size)?;
        positive("num_hidden_layers", raw.num_hidden_layers)?;
        positive("vocab_size", raw.vocab_size)?;
        let kv_heads = positive("num_key_value_heads", raw.num_key_value_heads.unwrap_or(heads))?;
        if heads % kv_heads != 0 {
            return Err(config_err(
                "num_key_value_heads",
                format!("{kv_heads} does not divide num_attention_heads = {heads}"),
            ));
        }
        let head_dim = match raw.head_dim {
            Some(h) => positive("head_dim", h)?,
            None if raw.hidden_size.is_multiple_of(heads) => raw.hidden_size / heads,
            None => {
                return Err(config_err(
                    "hidden_size",
                    format!("{} is not divisible by num_attention_heads = {heads}", raw.hidden_size),
                ))
            }
        };
        if head_dim % 2 != 0 {
            return Err(config_err("head_dim", format!("{head_dim} is odd; RoPE rotates pairs")));
        }
        let (rope_theta, rope_scaling) = parse_rope(&raw)?;
        let (qkv_bias, o_bias) = match arch {
            Arch::Qwen2 => (true, false),
            Arch::Llama | Arch::Qwen3 => (raw.attention_bias, raw.attention_bias),
        };
        Ok(ModelConfig {
            arch,
            hidden_size: raw.hidden_size,
            intermediate_size: positive("intermediate_size", raw.intermediate_size)?,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            rope_scaling,
            max_position_embeddings: raw.max_position_embeddings,
            tie_word_embeddings: raw.tie_word_embeddings,
            qkv_bias,
            o_bias,
            vocab_size: raw.vocab_size,
            bos_token_id: token_ids("bos_token_id", raw.bos_token_id.as_ref())?.first().copied(),
            eos_token_ids: token_ids("eos_token_id", raw.eos_token_id.as_ref())?,
        })
    }

    /// Query heads per key/value head.
    pub fn num_kv_groups(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// The architecture family.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// RoPE inverse frequencies (`head_dim / 2` values) after scaling, and
    /// the factor cos and sin are multiplied by (1 except for YaRN).
    pub fn rope_inv_freq(&self) -> (Vec<f64>, f64) {
        let dim = self.head_dim as f64;
        let base: Vec<f64> = (0..self.head_dim / 2).map(|i| 1.0 / self.rope_theta.powf(2.0 * i as f64 / dim)).collect();
        match &self.rope_scaling {
            RopeScaling::Default => (base, 1.0),
            RopeScaling::Linear { factor } => (base.iter().map(|f| f / factor).collect(), 1.0),
            RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } => {
                let old = *original_max_position_embeddings;
                let low_wavelen = old / low_freq_factor;
                let high_wavelen = old / high_freq_factor;
                let scaled = base.iter().map(|&f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        f / factor
                    } else {
                        let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                });
                (scaled.collect(), 1.0)
            }
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings,
                beta_fast,
                beta_slow,
                attention_factor,
                truncate,
            } => {
                let correction_dim = |rot: f64| {
                    dim * (original_max_position_embeddings / (rot * 2.0 * std::f64::consts::PI)).ln()
                        / (2.0 * self.rope_theta.ln())
                };
                let (mut low, mut high) = (correction_dim(*beta_fast), correction_dim(*beta_slow));
                if *truncate {
                    low = low.floor();
                    high = high.ceil();
                }
                let low = low.max(0.0);
                let high = high.min(dim - 1.0);
                let high = if low == high { high + 0.001 } else { high };
                let scaled = base.iter().enumerate().map(|(i, &f)| {
                    let ramp = ((i as f64 - low) / (high - low)).clamp(0.0, 1.0);
                    let extrapolation = 1.0 - ramp;
                    (f / factor) * (1.0 - extrapolation) + f * extrapolation
                });
                (scaled.collect(), *attention_factor)
            }
        }
    }
}

fn unsupported(option: impl Into<String>, reason: &str) -> Error {
    Error::Unsupported { option: option.into(), reason: reason.to_string() }
}

fn config_err(field: &str, message: String) -> Error {
    Error::Config { field: field.to_string(), message }
}

fn positive(field: &str, v: usize) -> Result<usize> {
    if v == 0 {
        return Err(config_err(field, "must be positive, found 0".to_string()));
    }
    Ok(v)
}

fn reject_unsupported(raw: &RawConfig) -> Result<()> {
    if let Some(act) = raw.hidden_act.as_deref() {
        if act != "silu" {
            return Err(unsupported(format!("hidden_act = {act:?}"), "only the SiLU-gated MLP is implemented"));
        }
    }
    if raw.use_sliding_window {
        return Err(unsupported(
            "use_sliding_window = true",
            "sliding-window attention is not implemented; every layer attends to the full context",
        ));
    }
    if let Some(p) = raw.partial_rotary_factor {
        if p != 1.0 {
            return Err(unsupported(format!("partial_rotary_factor = {p}"), "RoPE is applied to the whole head"));
        }
    }
    if raw.mlp_bias {
        return Err(unsupported("mlp_bias = true", "the MLP projections are bias-free in every supported checkpoint"));
    }
    if let Some(tp) = raw.pretraining_tp {
        if tp > 1 {
            return Err(unsupported(
                format!("pretraining_tp = {tp}"),
                "tensor-parallel sliced projections are not implemented",
            ));
        }
    }
    Ok(())
}

/// `rope_theta` and the scaling, from `rope_scaling` (transformers 4) or
/// `rope_parameters` (transformers 5, which also holds `rope_theta`).
fn parse_rope(raw: &RawConfig) -> Result<(f64, RopeScaling)> {
    let params = raw.rope_scaling.as_ref().or(raw.rope_parameters.as_ref()).filter(|v| !v.is_null());
    let theta = raw
        .rope_theta
        .or_else(|| params.and_then(|p| p.get("rope_theta")).and_then(|v| v.as_f64()))
        .unwrap_or(10_000.0);
    let Some(p) = params else {
        return Ok((theta, RopeScaling::Default));
    };
    let kind = p.get("rope_type").or_else(|| p.get("type")).and_then(|v| v.as_str()).unwrap_or("default");
    let num = |key: &str| p.get(key).and_then(|v| v.as_f64());
    let need = |key: &str| {
        num(key).ok_or_else(|| config_err(&format!("rope_scaling.{key}"), format!("required for rope_type {kind:?}")))
    };
    let orig = num("original_max_position_embeddings").unwrap_or(raw.max_position_embeddings as f64);
    let scaling = match kind {
        "default" => RopeScaling::Default,
        "linear" => RopeScaling::Linear { factor: need("factor")? },
        "llama3" => RopeScaling::Llama3 {
            factor: need("factor")?,
            low_freq_factor: need("low_freq_factor")?,
            high_freq_factor: need("high_freq_factor")?,
            original_max_position_embeddings: need("original_max_position_embeddings")?,
        },
        "yarn" => {
            let factor = need("factor")?;
            let mscale = |scale: f64, m: f64| {
                if scale <= 1.0 {
                    1.0
                } else {
                    0.1 * m * scale.ln() + 1.0
                }
            };
            let attention_factor = match (num("attention_factor"), num("mscale"), num("mscale_all_dim")) {
                (Some(a), _, _) => a,
                (None, Some(m), Some(all)) if m != 0.0 && all != 0.0 => mscale(factor, m) / mscale(factor, all),
                _ => mscale(factor, 1.0),
            };
            RopeScaling::Yarn {
                factor,
                original_max_position_embeddings: orig,
                beta_fast: num("beta_fast").unwrap_or(32.0),
                beta_slow: num("beta_slow").unwrap_or(1.0),
                attention_factor,
                truncate: p.get("truncate").and_then(|v| v.as_bool()).unwrap_or(true),
            }
        }
        other => {
            return Err(unsupported(
                format!("rope_scaling.rope_type = {other:?}"),
                "supported RoPE scalings are default, linear, llama3 and yarn",
            ))
        }
    };
    Ok((theta, scaling))
}

/// A token id field that is an integer, a list of integers, or null.
fn token_ids(field: &str, v: Option<&serde_json::Value>) -> Result<Vec<u32>> {
    let one = |x: &serde_json::Value| {
        x.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| config_err(field, format!("expected a token id, found {x}")))
    };
    match v {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items.iter().map(one).collect(),
        Some(x) => Ok(vec![one(x)?]),
    }
}

#[cfg(test)]
mod tests;
