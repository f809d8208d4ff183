//! HF checkpoint directories: sharded safetensors load the same model as a
//! single file; a missing, extra or mis-shaped tensor is an error naming
//! the tensor and the shapes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bcr_model::{load_hf_dir, DType, Device, HfLoadOptions, Tensor};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-qwen2")
}

fn opts() -> HfLoadOptions {
    HfLoadOptions { device: Device::Cpu, dtype: DType::F32.into() }
}

fn weights() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture().join("model.safetensors"), &Device::Cpu).unwrap()
}

/// A checkpoint dir with the fixture's config and `tensors` in one file.
fn write_dir(dir: &Path, tensors: &HashMap<String, Tensor>) {
    std::fs::copy(fixture().join("config.json"), dir.join("config.json")).unwrap();
    candle_core::safetensors::save(tensors, dir.join("model.safetensors")).unwrap();
}

fn load_err(tensors: HashMap<String, Tensor>) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), &tensors);
    match load_hf_dir(dir.path(), &opts()) {
        Ok(_) => panic!("loaded a broken checkpoint"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn sharded_checkpoint_equals_single_file() {
    let all = weights();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture().join("config.json"), dir.path().join("config.json")).unwrap();
    let mut names: Vec<&String> = all.keys().collect();
    names.sort();
    let mut map = serde_json::Map::new();
    for (k, part) in names.chunks(names.len() / 2 + 1).enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", k + 1);
        let shard: HashMap<String, Tensor> = part.iter().map(|n| ((*n).clone(), all[*n].clone())).collect();
        candle_core::safetensors::save(&shard, dir.path().join(&file)).unwrap();
        for n in part {
            map.insert((*n).clone(), serde_json::Value::String(file.clone()));
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(dir.path().join("model.safetensors.index.json"), index.to_string()).unwrap();
    let (_, sharded) = load_hf_dir(dir.path(), &opts()).unwrap();
    let (_, single) = load_hf_dir(&fixture(), &opts()).unwrap();
    let ids = Tensor::new(&[[3u32, 17, 99, 5]], &Device::Cpu).unwrap();
    let a = sharded.forward(&ids, &[0], None).unwrap();
    let b = single.forward(&ids, &[0], None).unwrap();
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(d, 0.0);
}

#[test]
fn missing_tensor_is_named_with_its_shape() {
    let mut t = weights();
    t.remove("model.layers.1.self_attn.k_proj.bias");
    let msg = load_err(t);
    assert!(msg.contains("missing tensor `model.layers.1.self_attn.k_proj.bias`"), "{msg}");
    assert!(msg.contains("[32]"), "{msg}");
}

#[test]
fn misshaped_tensor_names_both_shapes() {
    let mut t = weights();
    let bad = Tensor::zeros((96, 63), DType::BF16, &Device::Cpu).unwrap();
    t.insert("model.layers.0.mlp.up_proj.weight".to_string(), bad);
    let msg = load_err(t);
    assert!(msg.contains("model.layers.0.mlp.up_proj.weight"), "{msg}");
    assert!(msg.contains("[96, 63]") && msg.contains("[96, 64]"), "{msg}");
}

#[test]
fn extra_tensor_is_named() {
    let mut t = weights();
    t.insert("model.layers.7.mlp.up_proj.weight".to_string(), Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap());
    // Rotary buffers of old checkpoints are ignored, as transformers does.
    t.insert(
        "model.layers.0.self_attn.rotary_emb.inv_freq".to_string(),
        Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap(),
    );
    let msg = load_err(t);
    assert!(msg.contains("1 unexpected tensor(s)") && msg.contains("model.layers.7.mlp.up_proj.weight"), "{msg}");
}

#[test]
fn missing_shard_and_bad_index_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture().join("config.json"), dir.path().join("config.json")).unwrap();
    let index = dir.path().join("model.safetensors.index.json");
    std::fs::write(&index, r#"{"weight_map": {"model.norm.weight": "absent.safetensors"}}"#).unwrap();
    let msg = load_hf_dir(dir.path(), &opts()).expect_err("missing shard").to_string();
    assert!(msg.contains("absent.safetensors"), "{msg}");
    std::fs::write(&index, r#"{"metadata": {}}"#).unwrap();
    let msg = load_hf_dir(dir.path(), &opts()).expect_err("no weight_map").to_string();
    assert!(msg.contains("weight_map"), "{msg}");
}

#[test]
fn decode_weights_are_every_tensor_but_the_input_embedding() {
    for name in ["tiny-llama", "tiny-qwen2", "tiny-qwen3"] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        let (_, lm) = load_hf_dir(&dir, &opts()).unwrap();
        let cfg = lm.config();
        // The embedding table is read in full only as a tied output head.
        let want: Vec<usize> = bcr_model::CausalLm::expected_tensors(cfg)
            .iter()
            .filter(|(n, _)| cfg.tie_word_embeddings || n != "model.embed_tokens.weight")
            .map(|(_, s)| s.iter().product())
            .collect();
        let got: Vec<usize> = lm.decode_weights().iter().map(|t| t.elem_count()).collect();
        assert_eq!(got.len(), want.len(), "{name}: tensor count");
        assert_eq!(got.iter().sum::<usize>(), want.iter().sum::<usize>(), "{name}: elements");
    }
}
