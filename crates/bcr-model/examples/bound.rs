//! Single-stream decode against the memory-bandwidth bound, measured side
//! by side in one process. A batch-1 decode step reads every weight once
//! (`CausalLm::decode_weights`; a quantised model also its blocks,
//! `decode_block_bytes`), so it can produce at most `read bandwidth
//! / weight bytes` tokens per second. Each round decodes `NEW` greedy
//! tokens between two read windows of `WINDOW_SECS` that pass over those
//! very weights again and again (each of rayon's threads one contiguous
//! part of them, AVX-512 loads), and the fraction is taken per round:
//! - `read_gb_s`, the bound: the higher of the two windows' mean
//!   bandwidth. The decode runs for about a second, long enough to see the
//!   mean, not the peaks, of a bandwidth that moves from pass to pass;
//! - `best_pass_gb_s`: the fastest single pass of either window, a
//!   stricter bound (the maximum of noisy samples, biased upwards), also
//!   reported, with its fraction;
//! - this machine's read bandwidth moves with its neighbours' load (23-45
//!   GB/s within a minute was seen), so a bound measured in another run
//!   says little;
//! - it also differs between buffers of one process by up to 20% (their
//!   physical pages), so the bound reads the weights, not a copy.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p bcr-model --example bound -- MODEL PROMPTS.jsonl [f32|bf16|native] [ROUNDS] [NEW]
//! ```
//!
//! Prints one JSON line per round and a summary line with the median
//! fraction.

use std::time::Instant;

use bcr_model::{generate_with_stats, LoadOptions, Model, SamplingConfig, WeightDtype};
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    bcr_model::tune_cpu_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: bound MODEL PROMPTS.jsonl [f32|bf16|native] [ROUNDS] [NEW]".into());
    }
    let dtype = WeightDtype::parse(args.get(2).map_or("f32", String::as_str))?;
    let rounds: usize = args.get(3).map_or(Ok(7), |s| s.parse())?;
    let new: usize = args.get(4).map_or(Ok(64), |s| s.parse())?;
    let mut model = Model::load(&args[0], &LoadOptions { device: bcr_model::Device::Cpu, dtype })?;
    model.tokenizer.set_eos_ids(Vec::new());
    let text = std::fs::read_to_string(&args[1])?;
    let line = text.lines().find(|l| !l.trim().is_empty()).ok_or("no prompt")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let prompt = model.tokenizer.encode(v["prompt"].as_str().ok_or("a line without a string `prompt`")?, true)?;
    let weights = model.lm.decode_weights();
    let guards: Vec<_> = weights.iter().map(|w| w.storage_and_layout()).collect();
    let mut spans: Vec<&[u8]> = Vec::with_capacity(guards.len());
    for (st, layout) in &guards {
        spans.push(bytes_of(st, layout)?);
    }
    // A quantised model (`native`): the blocks of its matrices, beside the
    // dense vectors (norms) above.
    spans.extend(model.lm.decode_block_bytes());
    let bytes: usize = spans.iter().map(|s| s.len()).sum();
    let cfg = SamplingConfig { max_new_tokens: new, temperature: 0.0, ..Default::default() };
    let run = |cfg: &SamplingConfig| {
        generate_with_stats(&model.lm, &model.tokenizer, std::slice::from_ref(&prompt), &[0], cfg)
    };
    run(&SamplingConfig { max_new_tokens: 4, ..cfg.clone() })?; // warm-up
    let mut fractions = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (before, best0) = read_window(&spans, bytes);
        let (_, s) = run(&cfg)?;
        let (after, best1) = read_window(&spans, bytes);
        let (gbs, best) = (before.max(after), best0.max(best1));
        let tok_s = (s.generated_tokens - 1) as f64 / s.decode_secs;
        let bound = gbs * 1e9 / bytes as f64;
        let strict = tok_s * bytes as f64 / (best * 1e9);
        fractions.push((tok_s / bound, strict));
        println!(
            "{}",
            serde_json::json!({
                "round": round, "dtype": args.get(2).map_or("f32", String::as_str),
                "weight_mb_per_token": bytes as f64 / 1e6, "read_gb_s": gbs,
                "bound_tok_s": bound, "decode_tok_s": tok_s, "fraction": tok_s / bound,
                "best_pass_gb_s": best, "fraction_of_best_pass": strict,
            })
        );
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (med, lo, hi) = median(fractions.iter().map(|f| f.0).collect());
    let (strict, _, _) = median(fractions.iter().map(|f| f.1).collect());
    println!(
        "{}",
        serde_json::json!({
            "summary": true, "threads": rayon::current_num_threads(), "rounds": rounds, "new_tokens": new,
            "window_secs": WINDOW_SECS, "median_fraction": med, "min_fraction": lo, "max_fraction": hi,
            "median_fraction_of_best_pass": strict,
        })
    );
    Ok(())
}

/// The bytes of a contiguous CPU tensor's storage.
fn bytes_of<'a>(st: &'a candle_core::Storage, layout: &candle_core::Layout) -> Result<&'a [u8], String> {
    use candle_core::{CpuStorage, Storage};
    let Some((a, b)) = layout.contiguous_offsets() else { return Err("a non-contiguous weight".into()) };
    // SAFETY: a slice of plain numbers viewed as its bytes.
    let raw = |p: *const u8, size: usize| unsafe { std::slice::from_raw_parts(p.add(a * size), (b - a) * size) };
    match st {
        Storage::Cpu(CpuStorage::F32(v)) => Ok(raw(v.as_ptr().cast(), 4)),
        Storage::Cpu(CpuStorage::BF16(v)) => Ok(raw(v.as_ptr().cast(), 2)),
        _ => Err("weights must be f32 or bf16 CPU tensors".into()),
    }
}

/// Seconds of each read window around a decode round.
const WINDOW_SECS: f64 = 0.3;

/// Passes over `spans` for at least [`WINDOW_SECS`]: (mean GB/s over the
/// window, fastest pass's GB/s).
fn read_window(spans: &[&[u8]], total: usize) -> (f64, f64) {
    let t = Instant::now();
    let (mut passes, mut best) = (0usize, 0f64);
    while passes == 0 || t.elapsed().as_secs_f64() < WINDOW_SECS {
        best = best.max(read_gbs(spans, total));
        passes += 1;
    }
    ((passes * total) as f64 / t.elapsed().as_secs_f64() / 1e9, best)
}

/// One pass reading `spans` (`total` bytes), each of rayon's threads one
/// contiguous part of their concatenation; GB/s.
fn read_gbs(spans: &[&[u8]], total: usize) -> f64 {
    let threads = rayon::current_num_threads();
    let part = total.div_ceil(threads);
    let t = Instant::now();
    let sum: u64 = (0..threads)
        .into_par_iter()
        .map(|i| {
            let (lo, hi) = (i * part, ((i + 1) * part).min(total));
            let (mut at, mut s) = (0usize, 0u64);
            for span in spans {
                let (a, b) = (lo.max(at), hi.min(at + span.len()));
                if a < b {
                    s = s.wrapping_add(sum_bytes(&span[a - at..b - at]));
                }
                at += span.len();
            }
            s
        })
        .sum();
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    total as f64 / secs / 1e9
}

/// Sums `c` as u64 words with eight independent accumulators: with
/// AVX-512, full-width loads (the fastest reader tried here; a loop that
/// touches one word per cache line reached only 19-26 GB/s, below the
/// decode kernel itself, because it keeps too few loads in flight).
fn sum_bytes(c: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was detected just above.
        return unsafe { sum_avx512(c) };
    }
    c.chunks_exact(8).fold(0u64, |s, w| s.wrapping_add(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))))
}

/// # Safety
/// AVX-512F must be present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_avx512(c: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_si512(); 8];
    let p = c.as_ptr();
    let mut i = 0;
    while i + 512 <= c.len() {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 512 <= len, so every 64-byte load is in bounds.
            *a = _mm512_add_epi64(*a, unsafe { _mm512_loadu_si512(p.add(i + 64 * j).cast()) });
        }
        i += 512;
    }
    let t = acc.iter().fold(_mm512_setzero_si512(), |t, &a| _mm512_add_epi64(t, a));
    _mm512_reduce_add_epi64(t) as u64
}
