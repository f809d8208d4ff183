//! The AVX512-VNNI kernel of [`super`]: per group of 16 blocks, the codes
//! are loaded (4-bit: split into nibbles) once per weight row and pass of
//! up to [`ROWS`] activation rows; each activation row then costs 8
//! `vpdpbusd` (two chains of 4), the offset subtracted in integers, one
//! conversion and one or two FMAs with the scales, lane-wise.

use std::arch::x86_64::*;

use super::{BlockKind, QActs, QMatrix, GROUP, QK, ROWS};

const Q4_0: u8 = 0;
const Q4_1: u8 = 1;
const Q8_0: u8 = 2;

/// Rows `n0..n1` of `w` against every row of `a`: columns `n0..n1` of the
/// `(m, ldy)` output `y`.
///
/// # Safety
/// AVX-512F/BW/VL and AVX512-VNNI must be present; `a` has `m` rows of
/// `w`'s columns; `y` points at `m * ldy` floats and `n1 <= ldy`,
/// `n1 <= w.rows`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn block(w: &QMatrix, a: &QActs, m: usize, n0: usize, n1: usize, y: *mut f32, ldy: usize) {
    let mut r0 = 0;
    while r0 < m {
        let rr = (m - r0).min(ROWS);
        macro_rules! go {
            ($($kind:ident => $k:expr),*) => {
                match (w.kind(), rr) {
                    $(
                        (BlockKind::$kind, 1) => rows::<$k, 1>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 2) => rows::<$k, 2>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 3) => rows::<$k, 3>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, _) => rows::<$k, 4>(w, a, r0, n0, n1, y, ldy),
                    )*
                }
            };
        }
        go!(Q4_0 => Q4_0, Q4_1 => Q4_1, Q8_0 => Q8_0);
        r0 += rr;
    }
}

/// Activation rows `r0..r0 + R` against weight rows `n0..n1`. Kernel
/// function: the group loop stays whole (registers).
///
/// # Safety
/// As [`block`], with `r0 + R <= m`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rows<const KIND: u8, const R: usize>(
    w: &QMatrix,
    a: &QActs,
    r0: usize,
    n0: usize,
    n1: usize,
    y: *mut f32,
    ldy: usize,
) {
    let k = a.k;
    let nb = k / QK;
    let cb = if KIND == Q8_0 { 32 } else { 16 };
    let low = _mm512_set1_epi8(0x0f);
    let (qs, wd, wm) = (w.qs.as_ptr(), w.d.as_ptr().cast::<u16>(), w.m.as_ptr().cast::<u16>());
    let (aq, ad, asum, an) = (a.q.as_ptr(), a.d.as_ptr(), a.s.as_ptr(), a.n.as_ptr());
    // log2 of the code offset subtracted in integers (Q4_0: 8, Q8_0: 128).
    let shift = if KIND == Q4_0 { 3 } else { 7 };
    for j in n0..n1 {
        let mut acc = [_mm512_setzero_ps(); R];
        let mut g0 = 0;
        while g0 < nb {
            let gn = (nb - g0).min(GROUP);
            let mask = ((1u32 << gn) - 1) as __mmask16;
            let stride = 4 * gn;
            let wg = qs.add((j * nb + g0) * cb);
            let mut wv = [_mm512_setzero_si512(); 8];
            if KIND == Q8_0 {
                for (c, v) in wv.iter_mut().enumerate() {
                    *v = _mm512_maskz_loadu_epi32(mask, wg.add(c * stride).cast());
                }
            } else {
                for c in 0..4 {
                    let v = _mm512_maskz_loadu_epi32(mask, wg.add(c * stride).cast());
                    wv[c] = _mm512_and_si512(v, low);
                    wv[c + 4] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
                }
            }
            let dw = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, wd.add(j * nb + g0).cast()));
            let mw = if KIND == Q4_1 {
                _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, wm.add(j * nb + g0).cast()))
            } else {
                _mm512_setzero_ps()
            };
            for (r, acc) in acc.iter_mut().enumerate() {
                let row = r0 + r;
                let ag = aq.add(row * k + g0 * QK);
                let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
                for c in 0..4 {
                    let x0 = _mm512_maskz_loadu_epi32(mask, ag.add(c * stride).cast());
                    let x1 = _mm512_maskz_loadu_epi32(mask, ag.add((c + 4) * stride).cast());
                    s0 = _mm512_dpbusd_epi32(s0, wv[c], x0);
                    s1 = _mm512_dpbusd_epi32(s1, wv[c + 4], x1);
                }
                let mut s = _mm512_add_epi32(s0, s1);
                let at = row * nb + g0;
                let scale = _mm512_mul_ps(dw, _mm512_maskz_loadu_ps(mask, ad.add(at)));
                *acc = if KIND == Q4_1 {
                    let sx = _mm512_maskz_loadu_ps(mask, asum.add(at));
                    _mm512_fmadd_ps(mw, sx, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), *acc))
                } else {
                    let nx = _mm512_maskz_loadu_epi32(mask, an.add(at));
                    s = _mm512_sub_epi32(s, _mm512_sllv_epi32(nx, _mm512_set1_epi32(shift)));
                    _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), *acc)
                };
            }
            g0 += gn;
        }
        for (r, acc) in acc.iter().enumerate() {
            *y.add((r0 + r) * ldy + j) = _mm512_reduce_add_ps(*acc);
        }
    }
}

/// [`super::quantize_block`] with AVX-512: the same codes (`vcvtps2dq`
/// rounds to nearest, ties to even, as the scalar twin does).
///
/// # Safety
/// AVX-512F/BW/VL must be present.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn quantize_block(xs: &[f32; QK]) -> ([i8; QK], f32, i32) {
    let (a, b) = (_mm512_loadu_ps(xs.as_ptr()), _mm512_loadu_ps(xs.as_ptr().add(16)));
    let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
    let d = amax / 127.0;
    let id = _mm512_set1_ps(if amax > 0.0 { 127.0 / amax } else { 0.0 });
    let (qa, qb) = (_mm512_cvtps_epi32(_mm512_mul_ps(a, id)), _mm512_cvtps_epi32(_mm512_mul_ps(b, id)));
    let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb));
    let mut q = [0i8; QK];
    _mm_storeu_si128(q.as_mut_ptr().cast(), _mm512_cvtepi32_epi8(qa));
    _mm_storeu_si128(q.as_mut_ptr().add(16).cast(), _mm512_cvtepi32_epi8(qb));
    (q, d, sum)
}
