//! Tiny random-weight Llama (llama3 RoPE), Qwen2 (q/k/v bias) and Qwen3
//! (q/k norm, head_dim != hidden/heads, YaRN) checkpoints: our logits must
//! equal transformers' on the same bf16-rounded weights, computed in f32,
//! for a plain batch and a left-padded one. Fixtures come from
//! `tests/fixtures/make_tiny.py`. Tolerance: 5e-5 absolute (logits have
//! std ~1.5; measured max differences 3e-6 to 5e-6, printed with --nocapture).

use std::path::PathBuf;

use bcr_model::{load_hf_dir, DType, Device, HfLoadOptions, RowSpan, Tensor};

const TOL: f64 = 5e-5;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
    d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}

fn compare(name: &str) {
    let dir = fixture(name);
    let (_cfg, lm) = load_hf_dir(&dir, &HfLoadOptions { device: Device::Cpu, dtype: DType::F32.into() }).unwrap();
    let refs = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu).unwrap();
    let ids = refs["ids"].to_dtype(DType::U32).unwrap();
    let b = ids.dim(0).unwrap();
    let logits = lm.forward(&ids, &vec![0; b], None).unwrap();
    let d = max_diff(&logits, &refs["logits"]);
    println!("{name}: plain batch max |diff| = {d:.2e}");
    assert!(d < TOL, "{name}: plain batch max |diff| {d}");

    let pad_ids = refs["pad_ids"].to_dtype(DType::U32).unwrap();
    let mask = refs["pad_mask"].to_dtype(DType::U32).unwrap().to_vec2::<u32>().unwrap();
    let t = mask[0].len();
    let spans: Vec<RowSpan> = mask.iter().map(|r| RowSpan::left_padded(r.iter().sum::<u32>() as usize, t)).collect();
    let got = lm.forward_rows(&pad_ids, &spans, None).unwrap();
    for (i, span) in spans.iter().enumerate() {
        let g = got.get(i).unwrap().narrow(0, span.left_pad, span.len).unwrap();
        let w = refs["pad_logits"].get(i).unwrap().narrow(0, span.left_pad, span.len).unwrap();
        let d = max_diff(&g, &w);
        println!("{name}: padded row {i} max |diff| = {d:.2e}");
        assert!(d < TOL, "{name}: padded row {i}: max |diff| {d}");
    }
}

#[test]
fn tiny_llama_matches_transformers() {
    compare("tiny-llama");
}

#[test]
fn tiny_qwen2_matches_transformers() {
    compare("tiny-qwen2");
}

#[test]
fn tiny_qwen3_matches_transformers() {
    compare("tiny-qwen3");
}
