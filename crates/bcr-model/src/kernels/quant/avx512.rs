//! The AVX512-VNNI kernel of [`super`]: per group of 16 weight rows and
//! block, the codes are loaded (4-bit: split into nibbles) once per pass of
//! up to [`ROWS`] activation rows; each activation row then costs 8
//! `vpdpbusd` against its codes broadcast four at a time (one chain), the
//! offset subtracted in integers, one conversion and one or two FMAs with
//! the 16 rows' scales, lane-wise. Lane `i` of a row's accumulator is
//! `y[r, j0 + i]`.

use std::arch::x86_64::*;

use super::{BlockKind, QActs, QMatrix, LANES, QK, ROWS};

const Q4_0: u8 = 0;
const Q4_1: u8 = 1;
const Q8_0: u8 = 2;

/// Rows `n0..n1` of `w` against every row of `a`: columns `n0..n1` of the
/// `(m, ldy)` output `y`.
///
/// # Safety
/// AVX-512F/BW/VL and AVX512-VNNI must be present; `a` has `m` rows of
/// `w`'s columns; `y` points at `m * ldy` floats, `n0` is a multiple of 16
/// and `n1 <= ldy`, `n1 <= w.rows`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn block(w: &QMatrix, a: &QActs, m: usize, n0: usize, n1: usize, y: *mut f32, ldy: usize) {
    for g in n0 / LANES..n1.div_ceil(LANES) {
        // Lanes of this group that are rows of the output.
        let live = (n1 - g * LANES).min(LANES);
        let mut r0 = 0;
        while r0 < m {
            let rr = (m - r0).min(ROWS);
            macro_rules! go {
                ($($kind:ident),*) => {
                    match (w.kind(), rr) {
                        $(
                            (BlockKind::$kind, 1) => rows::<$kind, 1>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 2) => rows::<$kind, 2>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 3) => rows::<$kind, 3>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 4) => rows::<$kind, 4>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 5) => rows::<$kind, 5>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 6) => rows::<$kind, 6>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, 7) => rows::<$kind, 7>(w, a, r0, g, live, y, ldy),
                            (BlockKind::$kind, _) => rows::<$kind, ROWS>(w, a, r0, g, live, y, ldy),
                        )*
                    }
                };
            }
            go!(Q4_0, Q4_1, Q8_0);
            r0 += rr;
        }
    }
}

/// Activation rows `r0..r0 + R` against the 16 weight rows of group `g`:
/// the first `live` lanes of each row's sums stored at `y[r, 16 g..]`.
/// Kernel function: the block loop stays whole (registers).
///
/// # Safety
/// As [`block`], with `r0 + R <= m` and `16 g + live <= ldy`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rows<const KIND: u8, const R: usize>(
    w: &QMatrix,
    a: &QActs,
    r0: usize,
    g: usize,
    live: usize,
    y: *mut f32,
    ldy: usize,
) {
    let (k, nb) = (a.k, a.k / QK);
    let cb = if KIND == Q8_0 { 32 } else { 16 };
    let low = _mm512_set1_epi8(0x0f);
    // log2 of the code offset subtracted in integers (Q4_0: 8, Q8_0: 128).
    let shift = if KIND == Q4_0 { 3 } else { 7 };
    let mut acc = [_mm512_setzero_ps(); R];
    for blk in 0..nb {
        let at = (g * nb + blk) * LANES;
        let wg = w.qs.as_ptr().add(at * cb);
        let mut wv = [_mm512_setzero_si512(); 8];
        if KIND == Q8_0 {
            for (c, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_si512(wg.add(64 * c).cast());
            }
        } else {
            for c in 0..4 {
                let v = _mm512_loadu_si512(wg.add(64 * c).cast());
                wv[c] = _mm512_and_si512(v, low);
                wv[c + 4] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
            }
        }
        let dw = _mm512_cvtph_ps(_mm256_loadu_si256(w.d.as_ptr().add(at).cast()));
        let mw = if KIND == Q4_1 {
            _mm512_cvtph_ps(_mm256_loadu_si256(w.m.as_ptr().add(at).cast()))
        } else {
            _mm512_setzero_ps()
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            let row = r0 + r;
            let ax = a.q.as_ptr().add(row * k + blk * QK).cast::<i32>();
            let mut s = _mm512_setzero_si512();
            for (c, wv) in wv.iter().enumerate() {
                s = _mm512_dpbusd_epi32(s, *wv, _mm512_set1_epi32(ax.add(c).read_unaligned()));
            }
            let ab = row * nb + blk;
            let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*a.d.get_unchecked(ab)));
            *acc = if KIND == Q4_1 {
                let sx = _mm512_set1_ps(*a.s.get_unchecked(ab));
                _mm512_fmadd_ps(mw, sx, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), *acc))
            } else {
                s = _mm512_sub_epi32(s, _mm512_set1_epi32(*a.n.get_unchecked(ab) << shift));
                _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), *acc)
            };
        }
    }
    let mask = ((1u32 << live) - 1) as __mmask16;
    for (r, acc) in acc.iter().enumerate() {
        _mm512_mask_storeu_ps(y.add((r0 + r) * ldy + g * LANES), mask, *acc);
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
