//! The bf16-weight kernel: the same tiles and reduction as [`avx512`],
//! with 32 bf16 pairs per step.

use super::avx512::{MR, NR};
use std::arch::x86_64::*;

/// `xb = bf16(x)`, rounded to nearest even.
///
/// # Safety
/// AVX512_BF16, AVX-512BW and AVX-512VL must be present; `xb` as long
/// as `x`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub(super) unsafe fn round(x: &[f32], xb: &mut [u16]) {
    let n = x.len().min(xb.len());
    for i in (0..n).step_by(16) {
        let lanes: __mmask16 = if i + 16 <= n { 0xffff } else { ((1u32 << (n - i)) - 1) as __mmask16 };
        let v = _mm512_maskz_loadu_ps(lanes, x.as_ptr().add(i));
        let b: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        _mm256_mask_storeu_epi16(xb.as_mut_ptr().add(i).cast(), lanes, b);
    }
}

/// Columns `n0..n1` of `y` (`m` rows, leading dimension `n`).
///
/// # Safety
/// AVX512_BF16 and AVX-512BW must be present; `x` is `m * k`, `w` is
/// `n * k`, `y` points at `m * n` floats and `n1 <= n`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn block(x: &[u16], w: &[u16], m: usize, k: usize, n: usize, n0: usize, n1: usize, y: *mut f32) {
    // SAFETY: the caller's contract, passed on.
    unsafe { super::block_body!(x, w, m, k, n, n0, n1, y) }
}

/// [`super::avx512::rows_seq`] over bf16 pairs, 64 values per step.
///
/// # Safety
/// As there, with AVX512_BF16 and AVX-512BW.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn rows_seq<const M: usize>(
    x: *const u16,
    w: *const u16,
    k: usize,
    n0: usize,
    n1: usize,
    y: *mut f32,
    ldy: usize,
) {
    let full = k / 64 * 64;
    let tail = |o: usize| -> __mmask32 {
        let left = k.saturating_sub(o).min(32);
        ((1u64 << left) - 1) as __mmask32
    };
    let (t0, t1) = (tail(full), tail(full + 32));
    let per = 16 / M;
    let dp = |a: __m512, x: __m512i, w: __m512i| {
        _mm512_dpbf16_ps(a, std::mem::transmute::<__m512i, __m512bh>(x), std::mem::transmute::<__m512i, __m512bh>(w))
    };
    let mut j = n0;
    while j < n1 {
        let g = (n1 - j).min(per);
        let mut v = [_mm512_setzero_ps(); 16];
        for r in 0..g {
            let wr = w.add((j + r) * k);
            let mut a = [[_mm512_setzero_ps(); 2]; M];
            let mut off = 0;
            while off < full {
                let (w0, w1) = (_mm512_loadu_si512(wr.add(off).cast()), _mm512_loadu_si512(wr.add(off + 32).cast()));
                for (i, ai) in a.iter_mut().enumerate() {
                    ai[0] = dp(ai[0], _mm512_loadu_si512(x.add(i * k + off).cast()), w0);
                    ai[1] = dp(ai[1], _mm512_loadu_si512(x.add(i * k + off + 32).cast()), w1);
                }
                off += 64;
            }
            if full < k {
                let w0 = _mm512_maskz_loadu_epi16(t0, wr.add(full).cast());
                let w1 = _mm512_maskz_loadu_epi16(t1, wr.add(full + 32).cast());
                for (i, ai) in a.iter_mut().enumerate() {
                    ai[0] = dp(ai[0], _mm512_maskz_loadu_epi16(t0, x.add(i * k + full).cast()), w0);
                    ai[1] = dp(ai[1], _mm512_maskz_loadu_epi16(t1, x.add(i * k + full + 32).cast()), w1);
                }
            }
            for (i, ai) in a.iter().enumerate() {
                v[r * M + i] = _mm512_add_ps(ai[0], ai[1]);
            }
        }
        super::avx512::scatter_sums(&v, g, M, y.add(j), ldy);
        j += g;
    }
}

/// `y[i * ldy + j] = dot(x[i * k ..], w[j * k ..])` over bf16 pairs.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn tile<const A: usize, const B: usize>(x: *const u16, w: *const u16, k: usize, y: *mut f32, ldy: usize) {
    let mut acc = [[_mm512_setzero_ps(); B]; A];
    let step = |acc: &mut [[__m512; B]; A], off: usize, lanes: __mmask32| {
        let mut wv = [_mm512_setzero_si512(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_epi16(lanes, w.add(j * k + off).cast());
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let xv: __m512bh = std::mem::transmute(_mm512_maskz_loadu_epi16(lanes, x.add(i * k + off).cast()));
            for (a, v) in row.iter_mut().zip(&wv) {
                *a = _mm512_dpbf16_ps(*a, xv, std::mem::transmute::<__m512i, __m512bh>(*v));
            }
        }
    };
    let full = k / 32;
    for c in 0..full {
        step(&mut acc, c * 32, u32::MAX);
    }
    let rem = k - full * 32;
    if rem > 0 {
        step(&mut acc, full * 32, ((1u64 << rem) - 1) as __mmask32);
    }
    super::avx512::store_sums(&acc, y, ldy);
}
