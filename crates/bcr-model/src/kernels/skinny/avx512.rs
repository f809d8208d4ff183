//! The f32 kernel: 3x6 register tiles of AVX-512 dot products, and one
//! weight row after another for 1-4 rows (`rows_seq`).

use std::arch::x86_64::*;

/// Rows of `x` per tile.
pub(super) const MR: usize = 3;
/// Rows of `w` per tile. A tile holds `MR * NR` accumulators, `NR`
/// weight vectors and one input vector: 25 of the 32 zmm registers.
/// Every step of a tile loads `MR` vectors of `x`, which at batch 32
/// (73 KB for SmolLM2) come from L2, for `MR * NR` FMAs: a wider tile
/// loads less of `x` per FMA. 3 x 6 beat 4 x 4 by 1.3-1.5x at 32 rows
/// (interleaved probe, 2 threads); 4 x 6 and wider spill registers.
pub(super) const NR: usize = 6;

/// Columns `n0..n1` of `y` (`m` rows, leading dimension `n`).
///
/// # Safety
/// AVX-512F must be present; `x` is `m * k`, `w` is `n * k`, `y`
/// points at `m * n` floats and `n1 <= n`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn block(x: &[f32], w: &[f32], m: usize, k: usize, n: usize, n0: usize, n1: usize, y: *mut f32) {
    // SAFETY: the caller's contract, passed on.
    unsafe { super::block_body!(x, w, m, k, n, n0, n1, y) }
}

/// Up to this many rows of `x`, [`rows_seq`] instead of the tiles.
pub(super) const SEQ_ROWS: usize = 4;

/// `M` rows of `x` against weight rows `n0..n1`, read one row after
/// another: one sequential stream per thread, which the hardware
/// prefetcher follows. A tile reads 6 rows side by side (6 short
/// streams); at batch 1, where only memory bandwidth matters, that ran
/// at about 20 GB/s against 35 GB/s for a plain sequential read on this
/// machine. `16 / M` weight rows' sums share one transposing reduction.
///
/// # Safety
/// AVX-512F; `x` is `M * k`, `w` holds rows `n0..n1` of length `k`, `y`
/// is `(M, ldy)` with `n1 <= ldy`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn rows_seq<const M: usize>(
    x: *const f32,
    w: *const f32,
    k: usize,
    n0: usize,
    n1: usize,
    y: *mut f32,
    ldy: usize,
) {
    let full = k / 32 * 32;
    let tail = |o: usize| -> __mmask16 {
        let left = k.saturating_sub(o).min(16);
        ((1u32 << left) - 1) as __mmask16
    };
    let (t0, t1) = (tail(full), tail(full + 16));
    let per = 16 / M;
    let mut j = n0;
    while j < n1 {
        let g = (n1 - j).min(per);
        let mut v = [_mm512_setzero_ps(); 16];
        for r in 0..g {
            let wr = w.add((j + r) * k);
            // Two accumulators per row of x: M = 1 still has two FMA chains.
            let mut a = [[_mm512_setzero_ps(); 2]; M];
            let mut off = 0;
            while off < full {
                let (w0, w1) = (_mm512_loadu_ps(wr.add(off)), _mm512_loadu_ps(wr.add(off + 16)));
                for (i, ai) in a.iter_mut().enumerate() {
                    ai[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i * k + off)), w0, ai[0]);
                    ai[1] = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i * k + off + 16)), w1, ai[1]);
                }
                off += 32;
            }
            if full < k {
                let (w0, w1) = (_mm512_maskz_loadu_ps(t0, wr.add(full)), _mm512_maskz_loadu_ps(t1, wr.add(full + 16)));
                for (i, ai) in a.iter_mut().enumerate() {
                    ai[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t0, x.add(i * k + full)), w0, ai[0]);
                    ai[1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t1, x.add(i * k + full + 16)), w1, ai[1]);
                }
            }
            for (i, ai) in a.iter().enumerate() {
                v[r * M + i] = _mm512_add_ps(ai[0], ai[1]);
            }
        }
        scatter_sums(&v, g, M, y.add(j), ldy);
        j += g;
    }
}

/// Reduces `v` (lane `r * mr + i` = partial sums of weight row `r`
/// against `x` row `i`) and writes `y[i * ldy + r]` for `r < g`.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn scatter_sums(v: &[__m512; 16], g: usize, mr: usize, y: *mut f32, ldy: usize) {
    let mut sums = [0f32; 16];
    _mm512_storeu_ps(sums.as_mut_ptr(), crate::kernels::simd::avx512::reduce16(v));
    for r in 0..g {
        for i in 0..mr {
            *y.add(i * ldy + r) = sums[r * mr + i];
        }
    }
}

/// `y[i * ldy + j] = dot(x[i * k ..], w[j * k ..])` for `i < A`, `j < B`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const A: usize, const B: usize>(x: *const f32, w: *const f32, k: usize, y: *mut f32, ldy: usize) {
    let mut acc = [[_mm512_setzero_ps(); B]; A];
    let full = k / 16;
    for c in 0..full {
        let off = c * 16;
        let mut wv = [_mm512_setzero_ps(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(w.add(j * k + off));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let xv = _mm512_loadu_ps(x.add(i * k + off));
            for (a, v) in row.iter_mut().zip(&wv) {
                *a = _mm512_fmadd_ps(xv, *v, *a);
            }
        }
    }
    let rem = k - full * 16;
    if rem > 0 {
        let off = full * 16;
        let mask: __mmask16 = ((1u32 << rem) - 1) as __mmask16;
        let mut wv = [_mm512_setzero_ps(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_ps(mask, w.add(j * k + off));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let xv = _mm512_maskz_loadu_ps(mask, x.add(i * k + off));
            for (a, v) in row.iter_mut().zip(&wv) {
                *a = _mm512_fmadd_ps(xv, *v, *a);
            }
        }
    }
    store_sums(&acc, y, ldy);
}

/// `y[i * ldy + j] = sum of the lanes of acc[i][j]`: 16 accumulators
/// per transposing reduction (the last group padded with zeros).
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn store_sums<const A: usize, const B: usize>(acc: &[[__m512; B]; A], y: *mut f32, ldy: usize) {
    let mut flat = [_mm512_setzero_ps(); 2 * 16];
    for (i, row) in acc.iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            flat[i * B + j] = *a;
        }
    }
    let mut sums = [0f32; 2 * 16];
    for g in 0..(A * B).div_ceil(16) {
        let mut v = [_mm512_setzero_ps(); 16];
        v.copy_from_slice(&flat[g * 16..g * 16 + 16]);
        _mm512_storeu_ps(sums.as_mut_ptr().add(g * 16), crate::kernels::simd::avx512::reduce16(&v));
    }
    for i in 0..A {
        for j in 0..B {
            *y.add(i * ldy + j) = sums[i * B + j];
        }
    }
}
