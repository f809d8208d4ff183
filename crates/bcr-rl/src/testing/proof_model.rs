//! The same evidence as [`crate::testing::proof`], through the real transformer of
//! `bcr-model` wrapped by [`ModelPolicy`]: a tiny Llama-style checkpoint
//! directory (config.json, tokenizer.json, model.safetensors) is written,
//! loaded through [`ModelPolicy::load`], checked against finite differences
//! and trained on the shift task.

use std::collections::HashMap;
use std::path::Path;

use bcr_model::{CausalLm, ModelConfig};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};

use crate::agg::Normaliser;
use crate::config::{LossAgg, ModelSection};
use crate::loss::Clip;
use crate::model_policy::ModelPolicy;
use crate::policy::{Policy, Sampling};
use crate::testing::proof::{config, problems, ShiftTask};
use crate::trainer::Trainer;
use crate::update::{microbatch_loss, LossSettings, TrainRow};

const CONFIG: &str = r#"{"model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 12,
    "max_position_embeddings": 64, "rope_theta": 10000.0, "tie_word_embeddings": false,
    "rms_norm_eps": 1e-5, "eos_token_id": 10}"#;

/// Digits are tokens 0-9, `<eos>` 10, `<unk>` 11; words split on whitespace.
fn tokenizer_json() -> String {
    let vocab: Vec<String> = (0..10).map(|d| format!("\"{d}\": {d}")).collect();
    format!(
        r#"{{"version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [{{"id": 10, "content": "<eos>", "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true}}],
        "normalizer": null, "pre_tokenizer": {{"type": "Whitespace"}}, "post_processor": null,
        "decoder": null,
        "model": {{"type": "WordLevel", "vocab": {{{}, "<eos>": 10, "<unk>": 11}}, "unk_token": "<unk>"}}}}"#,
        vocab.join(", ")
    )
}

fn write_checkpoint(dir: &Path, seed: u64) {
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    let cfg = ModelConfig::from_json_str(CONFIG, Path::new("config.json")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut tensors = HashMap::new();
    for (name, shape) in CausalLm::expected_tensors(&cfg) {
        let n: usize = shape.iter().product();
        let norm = name.ends_with("norm.weight");
        let data: Vec<f32> = (0..n)
            .map(|_| if norm { 1.0 + rng.random_range(-0.1..0.1) } else { rng.random_range(-0.5..0.5) })
            .collect();
        tensors.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
}

fn load(dir: &Path, dtype: &str) -> ModelPolicy {
    let section = ModelSection { path: dir.display().to_string(), dtype: dtype.into(), device: "cpu".into() };
    ModelPolicy::load(&section).unwrap()
}

#[test]
fn transformer_loss_gradient_matches_finite_differences() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), 1);
    let policy = load(dir.path(), "f64");
    assert_eq!(policy.encode_prompt(None, "3 5").unwrap(), vec![3, 5]);
    let prompts: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![7]];
    let completions: Vec<Vec<u32>> = vec![vec![4, 5, 10], vec![0], vec![9, 8, 8, 10]];
    let advs = [0.9, -1.3, 0.5];
    let rows: Vec<TrainRow> = completions
        .iter()
        .enumerate()
        .map(|(i, c)| TrainRow { prompt: &prompts[i % 2], completion: c, advantage: advs[i] })
        .collect();
    let pairs: Vec<(&[u32], &[u32])> = rows.iter().map(|r| (r.prompt, r.completion)).collect();
    let base = policy.score(&pairs, false).unwrap().logprobs.detach();
    let (b, t) = base.dims2().unwrap();
    let shifted = |k: f64| {
        let v: Vec<f64> = (0..b * t).map(|i| k * (((i * 5) % 7) as f64 - 3.0)).collect();
        (&base + Tensor::from_vec(v, (b, t), &Device::Cpu).unwrap()).unwrap()
    };
    let (old, reference) = (shifted(0.09), shifted(-0.17));
    let norm = Normaliser { tokens: 8.0, seqs: 3.0, max_len: 4.0 };
    let s = LossSettings {
        clip: Clip { low: 0.2, high: 0.28, dual: Some(3.0) },
        agg: LossAgg::TokenMean,
        kl_coef: 0.2,
        entropy_coef: 0.03,
        budget: 4,
    };
    let loss = |p: &ModelPolicy| microbatch_loss(p, &rows, Some(&old), Some(&reference), &norm, &s).unwrap().total;
    let grads = loss(&policy).backward().unwrap();
    let vars = policy.named_vars();
    assert!(vars.len() >= 18, "{} variables", vars.len());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for (name, var) in &vars {
        let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name}: no gradient"));
        let g = g.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let theta = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        // Two coordinates of every tensor.
        for _ in 0..2 {
            let i = rng.random_range(0..theta.len());
            let at = |delta: f64| {
                let mut v = theta.clone();
                v[i] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
                let l = loss(&policy).to_scalar::<f64>().unwrap();
                var.set(&Tensor::from_vec(theta.clone(), var.shape(), &Device::Cpu).unwrap()).unwrap();
                l
            };
            let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
            assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "{name}[{i}]: analytic {} vs fd {fd}", g[i]);
        }
    }
}

#[test]
fn transformer_policy_samples_and_learns_the_shift_task() {
    let model_dir = tempfile::tempdir().unwrap();
    write_checkpoint(model_dir.path(), 7);
    let policy = load(model_dir.path(), "f32");
    let s = Sampling { max_new_tokens: 3, temperature: 1.0, top_p: 1.0, top_k: 0, seed: 1 };
    let outs = policy.generate(&[vec![1, 2], vec![3]], &s).unwrap();
    for o in &outs {
        assert!(!o.tokens.is_empty() && o.tokens.len() <= 3);
        assert_eq!(o.truncated, !o.tokens.ends_with(&[10]));
    }
    let run = tempfile::tempdir().unwrap();
    let mut cfg = config(run.path(), 30);
    cfg.optim.lr = 0.01;
    cfg.optim.weight_decay = 0.0;
    let mut trainer = Trainer::new(cfg, policy, ShiftTask, problems(200)).unwrap();
    trainer.run(&|| false, true).unwrap();
    let rewards = crate::testing::reward_curve(run.path());
    let first = rewards[..5].iter().sum::<f64>() / 5.0;
    let last = rewards[rewards.len() - 5..].iter().sum::<f64>() / 5.0;
    eprintln!("transformer shift task: first 5 steps {first:.3}, last 5 {last:.3}; curve {rewards:.2?}");
    assert!(last > first + 0.3, "first {first:.3} last {last:.3}: {rewards:?}");
    // The trained weights reload from the checkpoint under their HF names.
    let ckpt = crate::checkpoint::latest(run.path()).unwrap().unwrap();
    let fresh = load(model_dir.path(), "f32");
    crate::checkpoint::load_weights(&ckpt, crate::checkpoint::MODEL_FILE, &fresh.named_vars()).unwrap();
    let a: Vec<Vec<f32>> =
        fresh.named_vars().iter().map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()).collect();
    let b: Vec<Vec<f32>> = trainer
        .policy()
        .named_vars()
        .iter()
        .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
        .collect();
    assert_eq!(a, b);
}
