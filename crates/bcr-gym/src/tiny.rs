//! The tiny Qwen3-style model of the embedded default: its `config.json`
//! (Hugging Face keys, `model_type: qwen3`, tied embeddings, QK-norm) and
//! `generation_config.json`. With the default [`TinySpec`] (d = 128, 4
//! layers, 4 query / 2 key-value heads of 32, MLP 384) and a 512-token
//! vocabulary the model has 853,376 parameters, so an SFT step on 8 packs
//! takes a few seconds on two shared CPU cores.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::tokenizer::SPECIAL_TOKENS;

/// Shape of the tiny model (the `[model]` section of `configs/demo-sft.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TinySpec {
    /// Residual width.
    pub hidden_size: usize,
    /// Decoder layers.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (divides `num_heads`).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Longest sequence (prompt + response).
    pub max_position_embeddings: usize,
    /// RoPE base.
    pub rope_theta: f64,
}

#[cfg(test)]
impl TinySpec {
    /// The smallest model the tests train (one layer of width 32): seconds on a CPU.
    pub(crate) fn for_tests() -> Self {
        TinySpec {
            hidden_size: 32,
            num_layers: 1,
            num_heads: 2,
            num_kv_heads: 1,
            head_dim: 16,
            intermediate_size: 64,
            max_position_embeddings: 512,
            rope_theta: 1e4,
        }
    }
}

impl Default for TinySpec {
    fn default() -> Self {
        TinySpec {
            hidden_size: 128,
            num_layers: 4,
            num_heads: 4,
            num_kv_heads: 2,
            head_dim: 32,
            intermediate_size: 384,
            max_position_embeddings: 2048,
            rope_theta: 10_000.0,
        }
    }
}

impl TinySpec {
    /// Checks the shape; `file` names the config in the error.
    pub fn validate(&self, file: &str) -> Result<()> {
        let bad = |field: &str, message: String| Error::Config {
            file: file.to_string(),
            field: format!("model.{field}"),
            message,
        };
        for (field, v) in [
            ("hidden_size", self.hidden_size),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
            ("num_kv_heads", self.num_kv_heads),
            ("head_dim", self.head_dim),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(field, "must be at least 1, found 0".to_string()));
            }
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return Err(bad(
                "num_kv_heads",
                format!("must divide num_heads = {}, found {}", self.num_heads, self.num_kv_heads),
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(bad("head_dim", format!("must be even (RoPE), found {}", self.head_dim)));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return Err(bad("rope_theta", format!("must be > 1, found {}", self.rope_theta)));
        }
        Ok(())
    }

    /// The `config.json` of this shape for a vocabulary of `vocab_size`.
    pub fn config_json(&self, vocab_size: usize) -> Value {
        json!({
            "architectures": ["Qwen3ForCausalLM"],
            "model_type": "qwen3",
            "vocab_size": vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": 1e-6,
            "rope_theta": self.rope_theta,
            "tie_word_embeddings": true,
            "attention_bias": false,
            "bos_token_id": null,
            "eos_token_id": 0,
            "pad_token_id": 0,
            "torch_dtype": "float32",
        })
    }

    /// Parameter count for a vocabulary of `vocab_size` (tied embeddings).
    pub fn num_params(&self, vocab_size: usize) -> usize {
        let (d, h, kv, hd, f) =
            (self.hidden_size, self.num_heads, self.num_kv_heads, self.head_dim, self.intermediate_size);
        let attn = d * h * hd * 2 + d * kv * hd * 2 + 2 * hd;
        let layer = attn + 3 * d * f + 2 * d;
        vocab_size * d + self.num_layers * layer + d
    }
}

/// The files of a gym model directory besides its weights.
pub const HF_FILES: [&str; 4] = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"];

/// Writes `config.json` and `generation_config.json` into `dir`.
pub fn write_model_config(spec: &TinySpec, vocab_size: usize, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec.config_json(vocab_size))?)
        .map_err(|e| Error::io(&path, e))?;
    let generation = json!({
        "eos_token_id": 0,
        "pad_token_id": 0,
        "do_sample": false,
        "max_new_tokens": spec.max_position_embeddings / 2,
    });
    let path = dir.join("generation_config.json");
    std::fs::write(&path, serde_json::to_string_pretty(&generation)?).map_err(|e| Error::io(&path, e))?;
    debug_assert_eq!(SPECIAL_TOKENS[0], crate::tokenizer::END);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_under_a_million_params_and_parses() {
        let spec = TinySpec::default();
        spec.validate("t").unwrap();
        let n = spec.num_params(512);
        assert_eq!(n, 853_376);
        let dir = tempfile::tempdir().unwrap();
        write_model_config(&spec, 512, dir.path()).unwrap();
        let cfg = bcr_model::ModelConfig::from_file(&dir.path().join("config.json")).unwrap();
        assert_eq!(cfg.arch(), bcr_model::Arch::Qwen3);
        let expected: usize =
            bcr_model::CausalLm::expected_tensors(&cfg).iter().map(|(_, s)| s.iter().product::<usize>()).sum();
        assert_eq!(expected, n);
    }

    #[test]
    fn rejects_bad_shapes() {
        type Edit = fn(&mut TinySpec);
        let cases: [(Edit, &str); 4] = [
            (|s| s.hidden_size = 0, "hidden_size"),
            (|s| s.num_kv_heads = 3, "num_kv_heads"),
            (|s| s.head_dim = 7, "head_dim"),
            (|s| s.rope_theta = f64::NAN, "rope_theta"),
        ];
        for (edit, field) in cases {
            let mut s = TinySpec::default();
            edit(&mut s);
            let err = s.validate("demo-sft.toml").unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("demo-sft.toml"), "{err}");
        }
    }
}
