//! Helpers shared by the integration tests: tiny random models.
#![allow(dead_code)]

use std::path::Path;

use bcr_model::{init_varmap, CausalLm, DType, Device, InitOptions, ModelConfig, VarBuilder, VarMap};

/// A tiny config of `model_type` with the real HF key names.
pub fn tiny_config(model_type: &str, extra: &str) -> ModelConfig {
    let text = format!(
        r#"{{"model_type": "{model_type}", "hidden_size": 32, "intermediate_size": 48,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 40, "max_position_embeddings": 128, "rms_norm_eps": 1e-6{extra}}}"#
    );
    ModelConfig::from_json_str(&text, Path::new("tiny/config.json")).expect("tiny config parses")
}

/// The three families as the tests exercise them.
pub fn families() -> Vec<(&'static str, ModelConfig)> {
    vec![
        ("llama", tiny_config("llama", r#", "tie_word_embeddings": true"#)),
        ("qwen2", tiny_config("qwen2", "")),
        ("qwen3", tiny_config("qwen3", r#", "head_dim": 12, "tie_word_embeddings": true"#)),
        // Head dimension 64: decode steps take the fused attention kernel.
        ("qwen3-hd64", tiny_config("qwen3", r#", "head_dim": 64"#)),
    ]
}

/// A random model and its variables.
pub fn random_model(cfg: &ModelConfig, dtype: DType, seed: u64) -> (CausalLm, VarMap) {
    let opts = InitOptions { seed, std: 0.3, perturb_norms_and_biases: true, dtype, device: Device::Cpu };
    let vm = init_varmap(cfg, &opts).expect("init");
    let vb = VarBuilder::from_varmap(&vm, dtype, &Device::Cpu);
    (CausalLm::new(cfg, vb).expect("model builds"), vm)
}

/// Deterministic token ids in `[0, vocab)`.
pub fn tokens(n: usize, vocab: usize, salt: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 7 + salt * 13 + 3) % vocab) as u32).collect()
}

/// Largest absolute difference of two same-shape tensors.
pub fn max_abs_diff(a: &bcr_model::Tensor, b: &bcr_model::Tensor) -> f64 {
    let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
    d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}
pub mod smollm2;
