//! Decode-throughput probe for `bench/decode/run.sh`: loads a model, takes
//! the first `batch` prompts of a JSONL file (`{"prompt": ...}`, raw text),
//! generates `new` greedy tokens per row with end-of-sequence ignored, and
//! prints one JSON line with prefill and decode tokens/s and the resident
//! memory of the process once the model is loaded (`rss_mb_loaded`, from
//! `/proc/self/status`: the weights in their loaded form, plus the binary).
//!
//! cargo run --release -p bcr-model --example decode -- MODEL PROMPTS.jsonl BATCH NEW [f32|bf16|native] [cpu|cuda:K]

use bcr_model::{generate_with_stats, LoadOptions, Model, SamplingConfig, WeightDtype};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    bcr_model::tune_cpu_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        return Err("usage: decode MODEL PROMPTS.jsonl BATCH NEW [f32|bf16|native] [cpu|cuda:K]".into());
    }
    let (batch, new): (usize, usize) = (args[2].parse()?, args[3].parse()?);
    let dtype = WeightDtype::parse(args.get(4).map_or("f32", String::as_str))?;
    let device = bcr_model::parse_device(args.get(5).map_or("cpu", String::as_str))?;
    let mut model = Model::load(&args[0], &LoadOptions { device: device.clone(), dtype })?;
    let rss_mb_loaded = rss_mb();
    model.tokenizer.set_eos_ids(Vec::new());
    let text = std::fs::read_to_string(&args[1])?;
    let mut prompts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(batch) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let p = v["prompt"].as_str().ok_or("a line without a string `prompt`")?;
        prompts.push(model.tokenizer.encode(p, true)?);
    }
    let cfg = SamplingConfig { max_new_tokens: new, temperature: 0.0, ..Default::default() };
    let seeds = vec![0; prompts.len()];
    // Warm-up (allocator, thread pool), then the timed run.
    generate_with_stats(
        &model.lm,
        &model.tokenizer,
        &prompts,
        &seeds,
        &SamplingConfig { max_new_tokens: 2, ..cfg.clone() },
    )?;
    let (_, s) = generate_with_stats(&model.lm, &model.tokenizer, &prompts, &seeds, &cfg)?;
    let decoded = s.generated_tokens - prompts.len(); // the first token comes from the prompt pass
    let line = serde_json::json!({
        "impl": format!("bcr-{}", args.get(4).map_or("f32", String::as_str)),
        "device": bcr_model::device_name(&device),
        "batch": prompts.len(),
        "prompt_tokens": s.prompt_tokens,
        "prefill_s": s.prefill_secs,
        "decode_s": s.decode_secs,
        "decode_tok_s": decoded as f64 / s.decode_secs,
        "prefill_tok_s": s.prompt_tokens as f64 / s.prefill_secs,
        "rss_mb_loaded": rss_mb_loaded,
    });
    println!("{line}");
    Ok(())
}

/// The process's resident memory in MB (`VmRSS`), or -1 where unknown.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.map_or(-1.0, |kb| kb / 1024.0)
}
