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
            ($($kind:ident),*) => {
                match (w.kind(), rr) {
                    $(
                        (BlockKind::$kind, 1) => rows::<$kind, 1>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 2) => rows::<$kind, 2>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 3) => rows::<$kind, 3>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 4) => rows::<$kind, 4>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 5) => rows::<$kind, 5>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 6) => rows::<$kind, 6>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, 7) => rows::<$kind, 7>(w, a, r0, n0, n1, y, ldy),
                        (BlockKind::$kind, _) => rows::<$kind, ROWS>(w, a, r0, n0, n1, y, ldy),
                    )*
                }
            };
        }
        go!(Q4_0, Q4_1, Q8_0);
        r0 += rr;
    }
}

/// Activation rows `r0..r0 + R` against weight rows `n0..n1`: whole
/// groups of 16 blocks ([`group`]), then the row's last, shorter group
/// ([`dense_tail`] where its length divides 16, else [`group`] masked).
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
    let nb = a.k / QK;
    let full = nb / GROUP * GROUP;
    let tail = nb - full;
    for j in n0..n1 {
        let mut acc = [_mm512_setzero_ps(); R];
        let mut g0 = 0;
        while g0 < full {
            group::<KIND, R>(w, a, r0, j, g0, GROUP, &mut acc);
            g0 += GROUP;
        }
        if tail > 0 && GROUP % tail == 0 {
            dense_tail::<KIND, R>(w, a, r0, j, full, tail, &mut acc);
        } else if tail > 0 {
            group::<KIND, R>(w, a, r0, j, full, tail, &mut acc);
        }
        let mut r = 0;
        while r + 4 <= R {
            let s = hsum4(acc[r], acc[r + 1], acc[r + 2], acc[r + 3]);
            let mut v = [0f32; 4];
            _mm_storeu_ps(v.as_mut_ptr(), s);
            for (i, v) in v.iter().enumerate() {
                *y.add((r0 + r + i) * ldy + j) = *v;
            }
            r += 4;
        }
        for (i, acc) in acc.iter().enumerate().skip(r) {
            *y.add((r0 + i) * ldy + j) = _mm512_reduce_add_ps(*acc);
        }
    }
}

/// The 16 lanes of each of `a`, `b`, `c`, `d` summed: `[sum a, sum b, sum
/// c, sum d]` (one transposed reduction instead of four).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn hsum4(a: __m512, b: __m512, c: __m512, d: __m512) -> __m128 {
    let half = |v: __m512| {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        _mm256_add_ps(_mm512_castps512_ps256(v), hi)
    };
    let ab = _mm256_hadd_ps(half(a), half(b));
    let cd = _mm256_hadd_ps(half(c), half(d));
    let abcd = _mm256_hadd_ps(ab, cd);
    _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps::<1>(abcd))
}

/// One group of `gn` blocks (from block `g0`) of weight row `j` against
/// activation rows `r0..r0 + R`, added to `acc`: the codes loaded (4-bit:
/// split into nibbles) once, 8 `vpdpbusd` per activation row, lane `b` the
/// sum of block `b` (lanes `gn..` masked off).
///
/// # Safety
/// As [`rows`], with `g0 + gn <= ` the row's blocks and `gn <= 16`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn group<const KIND: u8, const R: usize>(
    w: &QMatrix,
    a: &QActs,
    r0: usize,
    j: usize,
    g0: usize,
    gn: usize,
    acc: &mut [__m512; R],
) {
    let (k, nb) = (a.k, a.k / QK);
    let cb = if KIND == Q8_0 { 32 } else { 16 };
    let low = _mm512_set1_epi8(0x0f);
    let mask = ((1u32 << gn) - 1) as __mmask16;
    let stride = 4 * gn;
    let wg = w.qs.as_ptr().add((j * nb + g0) * cb);
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
    let (dw, mw) = weight_scales::<KIND>(w, j * nb + g0, mask);
    for (r, acc) in acc.iter_mut().enumerate() {
        let row = r0 + r;
        let ag = a.q.as_ptr().add(row * k + g0 * QK);
        let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for c in 0..4 {
            let x0 = _mm512_maskz_loadu_epi32(mask, ag.add(c * stride).cast());
            let x1 = _mm512_maskz_loadu_epi32(mask, ag.add((c + 4) * stride).cast());
            s0 = _mm512_dpbusd_epi32(s0, wv[c], x0);
            s1 = _mm512_dpbusd_epi32(s1, wv[c + 4], x1);
        }
        *acc = apply::<KIND>(*acc, _mm512_add_epi32(s0, s1), dw, mw, a, row * nb + g0, mask);
    }
}

/// The last group of a row when its `gn` blocks divide 16 (SmolLM2's 576
/// columns: 2): its `32 gn` code values are contiguous in the group layout
/// in the same order as the activations' bytes (lane `l` of every 64-byte
/// piece belongs to block `l % gn`), so they take `gn / 2` `vpdpbusd` (at
/// least one) instead of 8; the lanes of each block are then folded in
/// integers into lane `b`, as [`group`] has them.
///
/// # Safety
/// As [`group`], with `gn` in 1, 2, 4, 8 and the group the row's last.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dense_tail<const KIND: u8, const R: usize>(
    w: &QMatrix,
    a: &QActs,
    r0: usize,
    j: usize,
    g0: usize,
    gn: usize,
    acc: &mut [__m512; R],
) {
    let (k, nb) = (a.k, a.k / QK);
    let cb = if KIND == Q8_0 { 32 } else { 16 };
    let low = _mm512_set1_epi8(0x0f);
    let mask = ((1u32 << gn) - 1) as __mmask16;
    // Values of the group as bytes, and 64-byte pieces of them.
    let bytes = QK * gn;
    let pieces = bytes.div_ceil(64);
    let pmask = if bytes >= 64 { 0xffff } else { ((1u32 << (bytes / 4)) - 1) as __mmask16 };
    let wg = w.qs.as_ptr().add((j * nb + g0) * cb);
    let mut wv = [_mm512_setzero_si512(); 4];
    if KIND == Q8_0 {
        for (p, v) in wv.iter_mut().enumerate().take(pieces) {
            *v = _mm512_maskz_loadu_epi32(pmask, wg.add(64 * p).cast());
        }
    } else if bytes >= 128 {
        // Low nibbles are the first half of the values, high the second.
        let h = bytes / 128;
        for p in 0..h {
            let v = _mm512_loadu_si512(wg.add(64 * p).cast());
            wv[p] = _mm512_and_si512(v, low);
            wv[h + p] = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
        }
    } else {
        // 16 or 32 code bytes: low nibbles, then high, in one register.
        let n = (bytes / 8) as i32;
        let v = _mm512_maskz_loadu_epi32(((1u32 << n) - 1) as __mmask16, wg.cast());
        let (lo, hi) = (_mm512_and_si512(v, low), _mm512_and_si512(_mm512_srli_epi16::<4>(v), low));
        let l = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let idx = _mm512_mask_add_epi32(l, _mm512_cmpge_epi32_mask(l, _mm512_set1_epi32(n)), l, _mm512_set1_epi32(16 - n));
        wv[0] = _mm512_permutex2var_epi32(lo, idx, hi);
    }
    let (dw, mw) = weight_scales::<KIND>(w, j * nb + g0, mask);
    for (r, acc) in acc.iter_mut().enumerate() {
        let row = r0 + r;
        let ag = a.q.as_ptr().add(row * k + g0 * QK);
        let mut s = _mm512_setzero_si512();
        for (p, wv) in wv.iter().enumerate().take(pieces) {
            s = _mm512_dpbusd_epi32(s, *wv, _mm512_maskz_loadu_epi32(pmask, ag.add(64 * p).cast()));
        }
        // Fold lanes l and l + 8, then + 4, ... down to gn lanes.
        if gn <= 8 {
            s = _mm512_add_epi32(s, _mm512_shuffle_i32x4::<0b0100_1110>(s, s));
        }
        if gn <= 4 {
            s = _mm512_add_epi32(s, _mm512_shuffle_i32x4::<0b1011_0001>(s, s));
        }
        if gn <= 2 {
            s = _mm512_add_epi32(s, _mm512_shuffle_epi32::<0b0100_1110>(s));
        }
        if gn == 1 {
            s = _mm512_add_epi32(s, _mm512_shuffle_epi32::<0b1011_0001>(s));
        }
        *acc = apply::<KIND>(*acc, s, dw, mw, a, row * nb + g0, mask);
    }
}

/// The f16 scales (and Q4_1's offsets) of blocks `at..` of a weight, as
/// f32 in the lanes of `mask`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn weight_scales<const KIND: u8>(w: &QMatrix, at: usize, mask: __mmask16) -> (__m512, __m512) {
    let dw = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, w.d.as_ptr().add(at).cast()));
    let mw = if KIND == Q4_1 {
        _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, w.m.as_ptr().add(at).cast()))
    } else {
        _mm512_setzero_ps()
    };
    (dw, mw)
}

/// `acc` plus the blocks' dot products from their integer sums `s` (lane
/// `b`: block `at + b` of the activations), per the module doc's formulas.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn apply<const KIND: u8>(
    acc: __m512,
    s: __m512i,
    dw: __m512,
    mw: __m512,
    a: &QActs,
    at: usize,
    mask: __mmask16,
) -> __m512 {
    let scale = _mm512_mul_ps(dw, _mm512_maskz_loadu_ps(mask, a.d.as_ptr().add(at)));
    if KIND == Q4_1 {
        let sx = _mm512_maskz_loadu_ps(mask, a.s.as_ptr().add(at));
        _mm512_fmadd_ps(mw, sx, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), acc))
    } else {
        // log2 of the code offset subtracted in integers (Q4_0: 8, Q8_0: 128).
        let shift = _mm512_set1_epi32(if KIND == Q4_0 { 3 } else { 7 });
        let nx = _mm512_maskz_loadu_epi32(mask, a.n.as_ptr().add(at));
        let s = _mm512_sub_epi32(s, _mm512_sllv_epi32(nx, shift));
        _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), acc)
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
