use super::*;
use candle_core::Device;
use candle_core::Tensor;

fn reference(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut y = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            y[i * n + j] = (0..k).map(|c| x[i * k + c] as f64 * w[j * k + c] as f64).sum::<f64>() as f32;
        }
    }
    y
}

fn data(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `(m, k, n)` with remainders in every dimension: rows not a multiple
/// of the tile, k not a multiple of 16 or 32 (the masked tails), n not a
/// multiple of the tile, of 16 / rows (the sequential kernel, at most 4
/// rows) or of the block.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 16, 4),
    (1, 32, 6),
    (1, 576, 1536),
    (3, 17, 5),
    (5, 33, 130),
    (32, 576, 193),
    (64, 100, 67),
    (7, 1, 3),
    (2, 50, 37),
    (4, 97, 40),
    (1, 1, 9),
    (4, 64, 17),
    (4, 128, 17),
    (2, 200, 33),
];

#[test]
fn matches_a_reference_on_ragged_shapes() {
    if !has_avx512() {
        eprintln!("skipped: this CPU has no AVX-512F");
        return;
    }
    for &(m, k, n) in SHAPES {
        let x = data(m * k, (m * 31 + k) as u32);
        let w = data(n * k, (n * 7 + k) as u32);
        let y = matmul_xwt(&x, &w, m, k, n).unwrap();
        let r = reference(&x, &w, m, k, n);
        let worst = y.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-5 * (k as f32).sqrt(), "({m}, {k}, {n}): max error {worst}");
    }
}

#[test]
fn the_linear_op_matches_candle_and_keeps_gradients() -> candle_core::Result<()> {
    if !has_avx512() {
        eprintln!("skipped: this CPU has no AVX-512F");
        return Ok(());
    }
    let dev = Device::Cpu;
    let (m, k, n) = (6, 40, 9);
    let x = candle_core::Var::from_tensor(&Tensor::from_vec(data(m * k, 1), (m, k), &dev)?)?;
    let w = candle_core::Var::from_tensor(&Tensor::from_vec(data(n * k, 2), (n, k), &dev)?)?;
    let ours = x.apply_op2(&w, crate::kernels::fused::linear::Linear)?;
    let theirs = x.matmul(&w.t()?)?;
    let diff = (&ours - &theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
    assert!(diff < 1e-5, "forward differs by {diff}");
    let coef = Tensor::from_vec(data(m * n, 3), (m, n), &dev)?;
    let g1 = (ours * &coef)?.sum_all()?.backward()?;
    let g2 = (theirs * &coef)?.sum_all()?.backward()?;
    for v in [&x, &w] {
        let (a, b) = (g1.get(v).expect("gradient"), g2.get(v).expect("gradient"));
        let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 1e-5, "gradient differs by {d}");
    }
    Ok(())
}

#[test]
fn the_bf16_kernel_matches_a_reference_on_ragged_shapes() {
    if !has_avx512_bf16() {
        eprintln!("skipped: this CPU has no AVX512_BF16");
        return;
    }
    use half::bf16;
    for &(m, k, n) in SHAPES {
        let x = data(m * k, (m * 31 + k) as u32);
        let w: Vec<bf16> = data(n * k, (n * 7 + k) as u32).into_iter().map(bf16::from_f32).collect();
        let y = matmul_xwt_many_bf16(&x, &[&w], m, k).unwrap().pop().unwrap();
        // The kernel rounds x to bf16 (nearest even), then sums exactly
        // representable products in f32.
        let xr: Vec<f32> = x.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
        let wr: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
        let r = reference(&xr, &wr, m, k, n);
        let worst = y.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-5 * (k as f32).sqrt(), "({m}, {k}, {n}): max error {worst}");
    }
    assert!(matmul_xwt_many_bf16(&[0.0; 3], &[&[half::bf16::ZERO; 4]], 1, 4).is_err());
}

#[test]
fn mismatched_buffers_are_an_error() {
    assert!(matmul_xwt(&[0.0; 3], &[0.0; 4], 1, 4, 1).is_err());
}
