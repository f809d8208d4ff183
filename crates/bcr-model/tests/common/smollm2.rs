//! SmolLM2-135M-Instruct (the Q4_1 GGUF named by `BCR_SMOLLM2_GGUF`) and
//! its fixtures, shared by `smollm2.rs` (f32, bf16) and `native_gguf.rs`
//! (quantised blocks kept).

use std::path::PathBuf;

use bcr_model::{Device, KvCache, LoadOptions, Model, Tensor, WeightDtype};

/// `tests/fixtures/smollm2/<name>` as JSON.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The model in `dtype`, or `None` (with a message) when the file is absent.
pub fn load(dtype: WeightDtype) -> Option<Model> {
    let Some(path) = std::env::var_os("BCR_SMOLLM2_GGUF").map(PathBuf::from).filter(|p| p.exists()) else {
        eprintln!("skipping: set BCR_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to run this test");
        return None;
    };
    Some(Model::load(path.to_str().unwrap(), &LoadOptions { device: Device::Cpu, dtype }).unwrap())
}

/// A JSON array of token ids.
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Logits along `tokens` after `prompt`, one decode step per token (the
/// path generation takes): row `s` predicts `tokens[s]`.
pub fn teacher_forced(m: &Model, prompt: &[u32], tokens: &[u32]) -> Vec<Vec<f32>> {
    let row = |v: &[u32]| Tensor::new(v, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let mut cache = KvCache::new(m.lm.config().num_hidden_layers);
    let mut logits = m.lm.forward(&row(prompt), &[0], Some(&mut cache)).unwrap();
    let mut out = Vec::with_capacity(tokens.len());
    for (s, &t) in tokens.iter().enumerate() {
        out.push(logits.get(0).unwrap().get(logits.dim(1).unwrap() - 1).unwrap().to_vec1().unwrap());
        logits = m.lm.forward(&row(&[t]), &[prompt.len() + s], Some(&mut cache)).unwrap();
    }
    out
}

/// Steps at which the model's greedy pick, fed `tokens` after `prompt`,
/// is the next token of `tokens`.
pub fn agreement(m: &Model, prompt: &[u32], tokens: &[u32]) -> usize {
    let logits = teacher_forced(m, prompt, tokens);
    logits.iter().zip(tokens).filter(|(l, &t)| bcr_model::sampling::argmax(l) as u32 == t).count()
}
