//! Rough timings of one SmolLM2 layer's matmuls (q, k, v, o, gate, up,
//! down; Q4_1 blocks) on the quantised kernel against the f32 path
//! (`ops::linear`: the skinny kernel up to 64 rows, else the packed GEMM),
//! for the row counts of a decode step and of a prompt part, and the AVX2
//! kernel's time against the default kernel's where the CPU has both.
//! Ignored: run
//! by hand,
//!
//!     cargo test --release -p bcr-model quant::timing -- --ignored --nocapture
//!
//! and read the figures as rough on a shared machine.

use std::time::Instant;

use candle_core::{Device, Tensor};

use super::*;

/// (out, in) of one SmolLM2 layer's matrices.
const LAYER: &[(usize, usize)] =
    &[(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)];

fn random_q4_1(n: usize, k: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut out = Vec::new();
    for _ in 0..n * k / QK {
        out.extend(f16::from_f32(0.01).to_le_bytes());
        out.extend(f16::from_f32(-0.08).to_le_bytes());
        out.extend((0..16).map(|_| next() as u8));
    }
    out
}

/// Median seconds of `f` over `reps` runs (NaN for none).
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    if reps == 0 {
        return f64::NAN;
    }
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

#[test]
#[ignore]
fn layer_matmuls_quantised_against_f32() {
    let dev = Device::Cpu;
    let qs: Vec<QMatrix> = LAYER
        .iter()
        .enumerate()
        .map(|(i, &(n, k))| QMatrix::from_blocks(BlockKind::Q4_1, n, k, &random_q4_1(n, k, 7 + i as u64)).unwrap())
        .collect();
    let dense: Vec<Tensor> = qs
        .iter()
        .map(|q| {
            let (n, k) = q.dims();
            let mut v = vec![0f32; n * k];
            for (r, row) in v.chunks_exact_mut(k).enumerate() {
                q.dequantize_row(r, row);
            }
            Tensor::from_vec(v, (n, k), &dev).unwrap()
        })
        .collect();
    let macs_per_row: usize = LAYER.iter().map(|(n, k)| n * k).sum();
    for m in [1usize, 8, 32, 64, 256, 1024] {
        let xs: Vec<Tensor> = LAYER.iter().map(|&(_, k)| Tensor::randn(0f32, 1.0, (m, k), &dev).unwrap()).collect();
        let xv: Vec<Vec<f32>> = xs.iter().map(|x| x.flatten_all().unwrap().to_vec1().unwrap()).collect();
        let reps = (2048 / m).clamp(5, 200);
        let tq = median_secs(reps, || {
            for ((q, x), &(_, k)) in qs.iter().zip(&xv).zip(LAYER) {
                std::hint::black_box(matmul(x, q, m, k).unwrap());
            }
        });
        let t2 = median_secs(if Kernel::Avx2.available() { reps } else { 0 }, || {
            for ((q, x), &(_, k)) in qs.iter().zip(&xv).zip(LAYER) {
                std::hint::black_box(matmul_with(Kernel::Avx2, x, q, m, k).unwrap());
            }
        });
        let tf = median_secs(reps, || {
            for (w, x) in dense.iter().zip(&xs) {
                std::hint::black_box(crate::ops::linear(x, w, None).unwrap());
            }
        });
        let g = |t: f64| (m * macs_per_row) as f64 / t / 1e9;
        eprintln!(
            "m={m:5}: quant {:8.3} ms ({:6.1} GMAC/s)  f32 {:8.3} ms ({:6.1} GMAC/s)  quant/f32 time {:.2}  \
             avx2 {:8.3} ms ({:6.1} GMAC/s, {:.2}x the quant time)",
            tq * 1e3,
            g(tq),
            tf * 1e3,
            g(tf),
            tq / tf,
            t2 * 1e3,
            g(t2),
            t2 / tq
        );
    }
}
