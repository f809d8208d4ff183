//! The AVX2 kernel of [`super`] (AVX2 + FMA + F16C, for CPUs without
//! AVX512-VNNI), on the same regrouped layout: a 64-byte chunk of a group of
//! 16 weight rows is two 32-byte halves of 8 rows each, so a pass takes one
//! half (8 lanes of i32 sums, one per weight row) against up to [`ROWS`]
//! activation rows. Per row and chunk, `vpmaddubsw` multiplies the u8 codes
//! by four activation codes broadcast to every lane and adds pairs into
//! i16; `vpmaddwd` against ones adds those pairs into i32.
//!
//! `vpmaddubsw` saturates its i16 pair sums. 4-bit codes (0..15) times
//! int8 activations (-127..127) give at most 2 x 15 x 127 = 3810 a pair,
//! so the 8 chunks of a block add up in i16 (at most 30480) before one
//! `vpmaddwd`. Q8_0's stored codes (`q + 128`, 0..255) would reach
//! 2 x 255 x 127 = 64770 and saturate: they are turned back into signed
//! codes and, as llama.cpp does, `vpsignb` moves each code's sign onto the
//! activation (`|q| * sign(q) x`, at most 2 x 128 x 127 = 32512 a pair),
//! each chunk widened to i32 on its own; the sum is then the signed dot
//! product, with no offset to subtract.

use std::arch::x86_64::*;

use super::{BlockKind, QActs, QMatrix, LANES, QK};

const Q4_0: u8 = 0;
const Q4_1: u8 = 1;
const Q8_0: u8 = 2;

/// Weight rows per register (8 lanes of i32).
const HALF: usize = 8;
/// Activation rows per pass (16 ymm registers: 8 to 16 for the codes).
const ROWS: usize = 4;

/// Rows `n0..n1` of `w` against every row of `a`: columns `n0..n1` of the
/// `(m, ldy)` output `y`.
///
/// # Safety
/// AVX2, FMA and F16C must be present; `a` has `m` rows of `w`'s columns;
/// `y` points at `m * ldy` floats, `n0` is a multiple of 16 and
/// `n1 <= ldy`, `n1 <= w.rows`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn block(w: &QMatrix, a: &QActs, m: usize, n0: usize, n1: usize, y: *mut f32, ldy: usize) {
    for g in n0 / LANES..n1.div_ceil(LANES) {
        // Lanes of this group that are rows of the output.
        let live = (n1 - g * LANES).min(LANES);
        for h in 0..live.div_ceil(HALF) {
            let part = Part { g, h, live: (live - h * HALF).min(HALF) };
            let mut r0 = 0;
            while r0 < m {
                let rr = (m - r0).min(ROWS);
                macro_rules! go {
                    ($($kind:ident),*) => {
                        match (w.kind(), rr) {
                            $(
                                (BlockKind::$kind, 1) => rows::<$kind, 1>(w, a, r0, part, y, ldy),
                                (BlockKind::$kind, 2) => rows::<$kind, 2>(w, a, r0, part, y, ldy),
                                (BlockKind::$kind, 3) => rows::<$kind, 3>(w, a, r0, part, y, ldy),
                                (BlockKind::$kind, _) => rows::<$kind, ROWS>(w, a, r0, part, y, ldy),
                            )*
                        }
                    };
                }
                go!(Q4_0, Q4_1, Q8_0);
                r0 += rr;
            }
        }
    }
}

/// Half `h` of group `g` (weight rows `16 g + 8 h..`), of which `live`
/// lanes are rows of the output.
#[derive(Clone, Copy)]
struct Part {
    g: usize,
    h: usize,
    live: usize,
}

/// Activation rows `r0..r0 + R` against the 8 weight rows of `p`: the
/// first `p.live` lanes of each row's sums stored at `y[r, 16 g + 8 h..]`.
/// Kernel function: the block loop stays whole (registers).
///
/// # Safety
/// As [`block`], with `r0 + R <= m` and `16 g + 8 h + live <= ldy`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows<const KIND: u8, const R: usize>(w: &QMatrix, a: &QActs, r0: usize, p: Part, y: *mut f32, ldy: usize) {
    let (k, nb) = (a.k, a.k / QK);
    let cb = if KIND == Q8_0 { 32 } else { 16 };
    let low = _mm256_set1_epi8(0x0f);
    let flip = _mm256_set1_epi8(-128);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for blk in 0..nb {
        let at = (p.g * nb + blk) * LANES;
        let wg = w.qs.as_ptr().add(at * cb + p.h * 32);
        // 4-bit: the codes; Q8_0: the signed codes (`wv`) and their
        // magnitudes (`wa`).
        let mut wv = [_mm256_setzero_si256(); 8];
        let mut wa = [_mm256_setzero_si256(); 8];
        if KIND == Q8_0 {
            for c in 0..8 {
                wv[c] = _mm256_xor_si256(_mm256_loadu_si256(wg.add(64 * c).cast()), flip);
                wa[c] = _mm256_sign_epi8(wv[c], wv[c]);
            }
        } else {
            for c in 0..4 {
                let v = _mm256_loadu_si256(wg.add(64 * c).cast());
                wv[c] = _mm256_and_si256(v, low);
                wv[c + 4] = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
            }
        }
        let at = at + p.h * HALF;
        let dw = _mm256_cvtph_ps(_mm_loadu_si128(w.d.as_ptr().add(at).cast()));
        let mw = if KIND == Q4_1 {
            _mm256_cvtph_ps(_mm_loadu_si128(w.m.as_ptr().add(at).cast()))
        } else {
            _mm256_setzero_ps()
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            let row = r0 + r;
            let ax = a.q.as_ptr().add(row * k + blk * QK).cast::<i32>();
            let mut s = _mm256_setzero_si256();
            if KIND == Q8_0 {
                for c in 0..8 {
                    let x = _mm256_sign_epi8(_mm256_set1_epi32(ax.add(c).read_unaligned()), wv[c]);
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(wa[c], x), ones));
                }
            } else {
                let mut s16 = _mm256_setzero_si256();
                for (c, wv) in wv.iter().enumerate() {
                    let x = _mm256_set1_epi32(ax.add(c).read_unaligned());
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(*wv, x));
                }
                s = _mm256_madd_epi16(s16, ones);
            }
            let ab = row * nb + blk;
            let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*a.d.get_unchecked(ab)));
            *acc = if KIND == Q4_1 {
                let sx = _mm256_set1_ps(*a.s.get_unchecked(ab));
                _mm256_fmadd_ps(mw, sx, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), *acc))
            } else {
                if KIND == Q4_0 {
                    s = _mm256_sub_epi32(s, _mm256_set1_epi32(*a.n.get_unchecked(ab) << 3));
                }
                _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s), *acc)
            };
        }
    }
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(p.live as i32), lanes);
    for (r, acc) in acc.iter().enumerate() {
        _mm256_maskstore_ps(y.add((r0 + r) * ldy + p.g * LANES + p.h * HALF), mask, *acc);
    }
}
