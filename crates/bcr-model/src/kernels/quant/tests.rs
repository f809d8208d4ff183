//! The quantised kernel against the dequantised f32 product, per block
//! type, on random blocks that include the extremes of each scale (zero,
//! f16 subnormals, 65504, negative offsets) and of the codes (all 0, all
//! 15 / 255), with shapes that leave short groups (18 and 17 blocks).
//!
//! Tolerance, stated per block type by one formula: quantising the
//! activations to int8 moves each `x_i` by at most `dx / 2 + 127 |dx -
//! f16(dx)|` (`dx = max|x| / 127` of its block, kept as f16 as llama.cpp
//! does; all of `x_i` where `dx` rounds to 0 in f16), so `|y - y_f32| <=
//! sum_i |w_i| * that`; Q4_1 adds its offset term's f16 `sx`, `|mw| *
//! (sum |x| + 32 dx) * 2^-11`; plus f32 rounding of the per-block terms,
//! `1e-5 * sum_b M_b * sum_i (|x_i| + dx_b)` with `M_b = 128 |dw_b| + |mw_b|`.
//! The kernel and its scalar twin do the same integer sums: they agree
//! within the rounding term.

use super::*;
use crate::load::gguf::GgmlType;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.next() as usize % xs.len()]
    }
}

const SCALES: &[f32] = &[0.0, 6.0e-8, 1.0e-3, 0.07, 1.0, 65504.0, -0.5, -65504.0];

/// `rows * cols / 32` random GGUF blocks of `kind`.
fn blocks(kind: BlockKind, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rows * cols / QK {
        out.extend(f16::from_f32(rng.pick(SCALES)).to_le_bytes());
        if kind == BlockKind::Q4_1 {
            out.extend(f16::from_f32(rng.pick(SCALES)).to_le_bytes());
        }
        let fill = rng.next() % 8;
        for _ in 0..kind.code_bytes() {
            out.push(match fill {
                0 => 0x00,
                1 => 0xff,
                _ => rng.next() as u8,
            });
        }
    }
    out
}

fn ggml(kind: BlockKind) -> GgmlType {
    match kind {
        BlockKind::Q4_0 => GgmlType::Q4_0,
        BlockKind::Q4_1 => GgmlType::Q4_1,
        BlockKind::Q8_0 => GgmlType::Q8_0,
    }
}

fn activations(len: usize, rng: &mut Rng) -> Vec<f32> {
    let mut x = Vec::with_capacity(len);
    for _ in 0..len / QK {
        let scale = rng.pick(&[0.0f32, 1e-6, 1.0, 1e4]);
        x.extend((0..QK).map(|_| rng.unit() * scale));
    }
    x
}

/// (allowed error against the f32 product, rounding term alone).
fn tolerance(kind: BlockKind, raw: &[u8], w: &[f32], x: &[f32]) -> (f64, f64) {
    let bb = kind.file_bytes();
    let (mut quant, mut round) = (0f64, 0f64);
    for (b, (wb, xb)) in w.chunks(QK).zip(x.chunks(QK)).enumerate() {
        let head = &raw[b * bb..];
        let dw = f16::from_le_bytes([head[0], head[1]]).to_f32().abs() as f64;
        let mw =
            if kind == BlockKind::Q4_1 { f16::from_le_bytes([head[2], head[3]]).to_f32().abs() as f64 } else { 0.0 };
        let dx = xb.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
        let dx16 = f16::from_f32(dx).to_f32() as f64;
        let dx = dx as f64;
        // |x_i - dx16 * qx_i|: half a step, plus 127 codes of the f16
        // rounding of dx (all of x where dx rounds to 0).
        let err = |x: f32| if dx16 == 0.0 { x.abs() as f64 } else { dx / 2.0 + 127.0 * (dx - dx16).abs() };
        let xsum: f64 = xb.iter().map(|v| v.abs() as f64).sum();
        quant += wb.iter().zip(xb).map(|(w, &x)| w.abs() as f64 * err(x)).sum::<f64>();
        // Q4_1's offset term uses sx rounded to f16 (2^-11 relative).
        quant += mw * (xsum + 32.0 * dx) * 4.9e-4;
        round += 1e-5 * (128.0 * dw + mw) * xb.iter().map(|v| v.abs() as f64 + dx).sum::<f64>();
    }
    (quant * 1.001 + round, round)
}

/// (m, k, n): last groups of 2, 1, 4, 8 blocks (whole pieces), of 12 and
/// 3 (masked), none; row passes of 8 with 1..7 left over; prompts of 33 and
/// 100 rows (two parts).
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 32, 1),
    (1, 576, 25),
    (3, 544, 7),
    (4, 1536, 9),
    (5, 64, 49),
    (9, 576, 3),
    (2, 512, 24),
    (8, 640, 5),
    (13, 768, 3),
    (2, 896, 4),
    (17, 96, 2),
    (33, 576, 7),
    (100, 64, 5),
];

#[test]
fn regrouped_blocks_dequantize_like_the_file() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for kind in [BlockKind::Q4_0, BlockKind::Q4_1, BlockKind::Q8_0] {
        for &(_, k, n) in SHAPES {
            let raw = blocks(kind, n, k, &mut rng);
            let want = ggml(kind).dequantize(&raw).unwrap();
            let q = QMatrix::from_blocks(kind, n, k, &raw).unwrap();
            let mut row = vec![0f32; k];
            for r in 0..n {
                q.dequantize_row(r, &mut row);
                assert_eq!(row, want[r * k..(r + 1) * k], "{kind:?} ({n}, {k}) row {r}");
            }
        }
    }
}

/// The kernels this CPU runs (the AVX2 kernel too where AVX-512 is there).
fn kernels() -> Vec<Kernel> {
    let ks: Vec<Kernel> = [Kernel::Vnni, Kernel::Avx2, Kernel::Scalar].into_iter().filter(|k| k.available()).collect();
    eprintln!("quant kernels tested: {ks:?}");
    ks
}

#[test]
fn each_block_type_matches_the_dequantized_f32_product() {
    for kernel in kernels() {
        matches_the_f32_product(kernel);
    }
}

fn matches_the_f32_product(kernel: Kernel) {
    let mut rng = Rng(0x2545f4914f6cdd1d);
    for kind in [BlockKind::Q4_0, BlockKind::Q4_1, BlockKind::Q8_0] {
        for &(m, k, n) in SHAPES {
            let raw = blocks(kind, n, k, &mut rng);
            let w = ggml(kind).dequantize(&raw).unwrap();
            let x = activations(m * k, &mut rng);
            let q = QMatrix::from_blocks(kind, n, k, &raw).unwrap();
            let y = matmul_with(kernel, &x, &q, m, k).unwrap();
            let a = QActs::new(&x, m, k);
            let row_bytes = k / QK * kind.file_bytes();
            for r in 0..m {
                for j in 0..n {
                    let (wj, xr) = (&w[j * k..(j + 1) * k], &x[r * k..(r + 1) * k]);
                    let exact: f64 = wj.iter().zip(xr).map(|(&a, &b)| a as f64 * b as f64).sum();
                    let (tol, round) = tolerance(kind, &raw[j * row_bytes..(j + 1) * row_bytes], wj, xr);
                    let got = y[r * n + j] as f64;
                    assert!(
                        (got - exact).abs() <= tol,
                        "{kernel:?} {kind:?} ({m}, {k}, {n}) [{r}, {j}]: {got} vs f32 {exact}, tolerance {tol}"
                    );
                    let twin = dot_reference(&q, j, &a, r) as f64;
                    assert!(
                        (got - twin).abs() <= 2.0 * round + 1e-30,
                        "{kernel:?} {kind:?} ({m}, {k}, {n}) [{r}, {j}]: kernel {got} vs scalar twin {twin}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_kernel_switch() {
    assert_eq!(pick(Some("0")), None);
    assert_eq!(pick(Some("scalar")), Some(Kernel::Scalar));
    let best = [Kernel::Vnni, Kernel::Avx2].into_iter().find(|k| k.available());
    assert_eq!(pick(None), best);
    assert_eq!(pick(Some("1")), best);
    let avx2 = if Kernel::Avx2.available() { Some(Kernel::Avx2) } else { best };
    assert_eq!(pick(Some("avx2")), avx2);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(kernels().contains(&Kernel::Avx2), "AVX2 without FMA/F16C?");
    }
}

#[test]
fn malformed_sizes_are_errors() {
    let err = QMatrix::from_blocks(BlockKind::Q4_1, 2, 64, &[0; 79]).unwrap_err();
    assert!(err.contains("79 bytes"), "{err}");
    assert!(QMatrix::from_blocks(BlockKind::Q8_0, 1, 48, &[0; 51]).is_err());
    let q = QMatrix::from_blocks(BlockKind::Q8_0, 1, 32, &[0; 34]).unwrap();
    assert!(matmul_many(&[0.0; 31], &[&q], 1, 31).is_err());
}

#[test]
fn vector_and_scalar_activation_codes_agree() {
    let mut rng = Rng(7);
    for _ in 0..200 {
        let x = activations(QK, &mut rng);
        let xs: &[f32; QK] = x.as_slice().try_into().unwrap();
        // Ties: dx = 1 (max 127), the other values halfway between codes.
        let ties: [f32; QK] = std::array::from_fn(|i| if i == 0 { 127.0 } else { i as f32 - 15.5 });
        for block in [xs, &ties] {
            assert_eq!(quantize_block(block), quantize_block_scalar(block), "{block:?}");
        }
    }
}
