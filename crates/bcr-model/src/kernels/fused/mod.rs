//! Fused CPU kernels with their own backward pass, for the ops that
//! dominate the training step's elementwise time. Each is one pass forward
//! and one pass backward over its rows (split over rayon threads), instead
//! of five to ten candle ops that each allocate a fresh tensor (and, in
//! candle's backward, a zero tensor plus an add per op).
//!
//! - `linear`: `x @ w^T` for any leading shape, as one graph node.
//! - `logsoftmax`: the log-probability of target tokens and the entropy,
//!   over the vocabulary, without materialising the log-softmax.
//! - `norm`: RMSNorm.
//! - `softmax`: softmax over the last dimension, and the attention
//!   weights `softmax(scale * scores + mask)` with a broadcast mask.
//! - `silu`: `silu(gate) * up`, the SwiGLU product.
//! - `adamw`: one AdamW update in one pass (and a sum of squares for the
//!   gradient norm).
//! - `attention`: grouped-query attention as one graph node with a
//!   hand-written backward (four matmuls and one softmax-backward pass).
//! - `rope`: rotary embedding fused with the `(b, t, h, d) -> (b, h, t, d)`
//!   transpose of the projected heads.
//!
//! Only contiguous f32/f64 CPU tensors take this path; `ops` falls back to
//! the differentiable compositions everywhere else (CUDA, half types) and
//! when `BCR_FUSED_OPS=0`. f32 rows use the AVX-512 primitives of
//! `crate::kernels::simd` when the CPU has AVX-512F; f64 (the finite-difference
//! tests) and other CPUs use the scalar twins here, which compute in f64.

pub(crate) mod adamw;
pub(crate) mod attention;
pub(crate) mod linear;
pub(crate) mod logsoftmax;
pub(crate) mod norm;
pub(crate) mod rope;
pub(crate) mod silu;
pub(crate) mod softmax;

use candle_core::{CpuStorage, Layout};

pub(crate) type CResult<T> = candle_core::Result<T>;

/// The float types the kernels are written for, with the row primitives
/// that have SIMD versions (the defaults are the scalar twins).
pub(crate) trait Float: Copy + Send + Sync + 'static + candle_core::WithDType {
    fn f(self) -> f64;
    fn from(v: f64) -> Self;

    /// `y = softmax(scale * x + mask)` over one row.
    fn softmax_row(x: &[Self], mask: Option<&[Self]>, scale: f64, y: &mut [Self]) {
        scalar::softmax_row(x, mask, scale, y)
    }

    /// `dx = scale * y * (g - sum(g * y))` over one row.
    fn softmax_bwd_row(y: &[Self], g: &[Self], scale: f64, dx: &mut [Self]) {
        scalar::softmax_bwd_row(y, g, scale, dx)
    }

    /// `y = silu(a) * b`, elementwise.
    fn silu_mul(a: &[Self], b: &[Self], y: &mut [Self]) {
        scalar::silu_mul(a, b, y)
    }

    /// Gradients of `silu(a) * b` given `gy` into `da` and `db`.
    fn silu_mul_bwd(a: &[Self], b: &[Self], gy: &[Self], da: &mut [Self], db: &mut [Self]) {
        scalar::silu_mul_bwd(a, b, gy, da, db)
    }

    /// `(logsumexp(x), sum(softmax(x) * x))` over one row.
    fn lse_row(x: &[Self]) -> (f64, f64) {
        scalar::lse_row(x)
    }

    /// `dx = c * exp(x - lse) * (x - shift)` (or without the last factor).
    fn softmax_scale_row(x: &[Self], lse: f64, c: f64, shift: Option<f64>, dx: &mut [Self]) {
        scalar::softmax_scale_row(x, lse, c, shift, dx)
    }
}

impl Float for f32 {
    fn f(self) -> f64 {
        self as f64
    }
    fn from(v: f64) -> Self {
        v as f32
    }

    fn softmax_row(x: &[f32], mask: Option<&[f32]>, scale: f64, y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            return unsafe { crate::kernels::simd::avx512::softmax_row(x, mask, scale as f32, y) };
        }
        scalar::softmax_row(x, mask, scale, y)
    }

    fn softmax_bwd_row(y: &[f32], g: &[f32], scale: f64, dx: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            return unsafe { crate::kernels::simd::avx512::softmax_bwd_row(y, g, scale as f32, dx) };
        }
        scalar::softmax_bwd_row(y, g, scale, dx)
    }

    fn silu_mul(a: &[f32], b: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            return unsafe { crate::kernels::simd::avx512::silu_mul(a, b, y) };
        }
        scalar::silu_mul(a, b, y)
    }

    fn silu_mul_bwd(a: &[f32], b: &[f32], gy: &[f32], da: &mut [f32], db: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            return unsafe { crate::kernels::simd::avx512::silu_mul_bwd(a, b, gy, da, db) };
        }
        scalar::silu_mul_bwd(a, b, gy, da, db)
    }

    fn lse_row(x: &[f32]) -> (f64, f64) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            let (l, m) = unsafe { crate::kernels::simd::avx512::lse_row(x) };
            return (l as f64, m as f64);
        }
        scalar::lse_row(x)
    }

    fn softmax_scale_row(x: &[f32], lse: f64, c: f64, shift: Option<f64>, dx: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if simd_on() {
            // SAFETY: AVX-512F is present (simd_on).
            return unsafe {
                crate::kernels::simd::avx512::softmax_scale_row(x, lse as f32, c as f32, shift.map(|v| v as f32), dx)
            };
        }
        scalar::softmax_scale_row(x, lse, c, shift, dx)
    }
}

impl Float for f64 {
    fn f(self) -> f64 {
        self
    }
    fn from(v: f64) -> Self {
        v
    }
}

/// Whether f32 rows take the AVX-512 primitives: the CPU has AVX-512F and
/// `BCR_SIMD=0` is not set (for side-by-side runs and for testing the
/// scalar twins on this machine).
pub(crate) fn simd_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BCR_SIMD").map_or(true, |v| v != "0") && crate::kernels::simd::has_avx512())
}

/// Whether `ops` routes contiguous f32/f64 CPU tensors to these kernels;
/// `BCR_FUSED_OPS=0` turns them off (the candle compositions run instead).
pub(crate) fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("BCR_FUSED_OPS").map_or(true, |v| v != "0"))
}

/// The scalar row primitives, computed in f64.
pub(crate) mod scalar {
    use super::Float;

    pub(crate) fn softmax_row<T: Float>(x: &[T], mask: Option<&[T]>, scale: f64, y: &mut [T]) {
        let z = |j: usize| x[j].f() * scale + mask.map_or(0.0, |m| m[j].f());
        let max = (0..x.len()).fold(f64::NEG_INFINITY, |m, j| m.max(z(j)));
        let mut sum = 0.0;
        for (j, o) in y.iter_mut().enumerate() {
            let e = (z(j) - max).exp();
            sum += e;
            *o = T::from(e);
        }
        let inv = 1.0 / sum;
        for o in y.iter_mut() {
            *o = T::from(o.f() * inv);
        }
    }

    pub(crate) fn softmax_bwd_row<T: Float>(y: &[T], g: &[T], scale: f64, dx: &mut [T]) {
        let dot: f64 = y.iter().zip(g).map(|(a, b)| a.f() * b.f()).sum();
        for ((o, a), b) in dx.iter_mut().zip(y).zip(g) {
            *o = T::from(scale * a.f() * (b.f() - dot));
        }
    }

    fn sigmoid(a: f64) -> f64 {
        1.0 / (1.0 + (-a).exp())
    }

    pub(crate) fn silu_mul<T: Float>(a: &[T], b: &[T], y: &mut [T]) {
        for ((o, a), b) in y.iter_mut().zip(a).zip(b) {
            *o = T::from(a.f() * sigmoid(a.f()) * b.f());
        }
    }

    pub(crate) fn lse_row<T: Float>(x: &[T]) -> (f64, f64) {
        let m = x.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.f()));
        let (mut s, mut t) = (0.0, 0.0);
        for v in x {
            let e = (v.f() - m).exp();
            s += e;
            t += e * v.f();
        }
        (m + s.ln(), t / s)
    }

    pub(crate) fn softmax_scale_row<T: Float>(x: &[T], lse: f64, c: f64, shift: Option<f64>, dx: &mut [T]) {
        for (o, v) in dx.iter_mut().zip(x) {
            let p = c * (v.f() - lse).exp();
            *o = T::from(shift.map_or(p, |s| p * (v.f() - s)));
        }
    }

    pub(crate) fn silu_mul_bwd<T: Float>(a: &[T], b: &[T], gy: &[T], da: &mut [T], db: &mut [T]) {
        for (i, (da, db)) in da.iter_mut().zip(db.iter_mut()).enumerate() {
            let (a, b, g) = (a[i].f(), b[i].f(), gy[i].f());
            let s = sigmoid(a);
            *da = T::from(g * b * s * (1.0 + a * (1.0 - s)));
            *db = T::from(g * a * s);
        }
    }
}

/// Below this many output elements a kernel runs on the calling thread:
/// handing a decode step's single row to rayon's pool from a thread outside
/// it costs a cross-thread wake-up and a wait, more than the work itself.
const SERIAL_BELOW: usize = 1 << 14;

/// `f(i, piece)` over the `chunk`-sized pieces of `out` (the `i`-th piece
/// starts at `i * chunk`): on rayon's threads, or serially when `out` is
/// small.
pub(crate) fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    if out.len() < SERIAL_BELOW {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// The contiguous part of a storage that a layout describes.
pub(crate) fn slice<'a, T>(s: &'a [T], l: &Layout) -> CResult<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s[a..b]),
        None => candle_core::bail!("fused kernel needs a contiguous input"),
    }
}

/// The typed, contiguous slice of a second or third operand.
pub(crate) fn operand<'a, T: Float>(s: &'a CpuStorage, l: &Layout) -> CResult<&'a [T]> {
    slice(s.as_slice::<T>()?, l)
}

/// The (non-zero) length of the last dimension: the row length.
pub(crate) fn last_dim(l: &Layout) -> CResult<usize> {
    match l.shape().dims().last() {
        Some(&n) if n > 0 => Ok(n),
        _ => candle_core::bail!("fused kernel needs a non-empty last dimension"),
    }
}

/// Dispatch a generic kernel over the f32 and f64 storages.
macro_rules! dispatch {
    ($storage:expr, $f:ident, $($arg:expr),*) => {
        match $storage {
            CpuStorage::F32(s) => $f::<f32>(s, $($arg),*),
            CpuStorage::F64(s) => $f::<f64>(s, $($arg),*),
            _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
        }
    };
}
pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::{scalar, Float};

    fn data(n: usize, salt: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(salt * 97)) % 2000) as f32 / 250.0 - 4.0)
            .collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
        }
    }

    /// The f32 rows (AVX-512 where the CPU has it) against the f64 scalar
    /// twins, on lengths that exercise the partial last chunk, with a
    /// causal-style mask.
    #[test]
    fn f32_rows_match_the_scalar_twins() {
        for n in [1usize, 5, 16, 17, 31, 64, 100, 513] {
            let x = data(n, 1);
            let g = data(n, 2);
            let mask: Vec<f32> = (0..n).map(|j| if j > n / 2 { f32::NEG_INFINITY } else { 0.0 }).collect();
            for m in [None, Some(mask.as_slice())] {
                let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
                f32::softmax_row(&x, m, 0.7, &mut a);
                scalar::softmax_row(&x, m, 0.7, &mut b);
                close(&a, &b, 1e-6, "softmax");
                if m.is_some() {
                    assert!(a[n / 2 + 1..].iter().all(|&v| v == 0.0), "masked entries are exactly 0");
                }
                let (mut da, mut db) = (vec![0f32; n], vec![0f32; n]);
                f32::softmax_bwd_row(&a, &g, 0.7, &mut da);
                scalar::softmax_bwd_row(&a, &g, 0.7, &mut db);
                close(&da, &db, 1e-5, "softmax backward");
            }
            let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
            f32::silu_mul(&x, &g, &mut a);
            scalar::silu_mul(&x, &g, &mut b);
            close(&a, &b, 1e-6, "silu_mul");
            let gy = data(n, 3);
            let (mut da1, mut db1, mut da2, mut db2) = (vec![0f32; n], vec![0f32; n], vec![0f32; n], vec![0f32; n]);
            f32::silu_mul_bwd(&x, &g, &gy, &mut da1, &mut db1);
            scalar::silu_mul_bwd(&x, &g, &gy, &mut da2, &mut db2);
            close(&da1, &da2, 1e-5, "silu_mul da");
            close(&db1, &db2, 1e-5, "silu_mul db");
            let (l1, m1) = f32::lse_row(&x);
            let (l2, m2) = scalar::lse_row(&x);
            assert!((l1 - l2).abs() < 1e-5 * (1.0 + l2.abs()) && (m1 - m2).abs() < 1e-5 * (1.0 + m2.abs()), "lse");
            for shift in [None, Some(0.3)] {
                let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
                f32::softmax_scale_row(&x, l2, -0.7, shift, &mut a);
                scalar::softmax_scale_row(&x, l2, -0.7, shift, &mut b);
                close(&a, &b, 1e-6, "softmax_scale_row");
            }
        }
    }
}
