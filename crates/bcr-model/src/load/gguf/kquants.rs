//! The k-quant super-blocks of 256 values (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K).
//!
//! A super-block holds 8 or 16 sub-blocks, each with its own small scale
//! (and min), themselves scaled by the f16 `d` (and `dmin`) of the
//! super-block. Each function dequantizes one super-block `x` into `y`.

use super::dtype::f16_at;

/// Sub-block `j` (0..8) scale and min of Q4_K/Q5_K: 6 bits each, packed in
/// 12 bytes (the first four pairs in the low 6 bits of bytes 0..8, the last
/// four split between bytes 8..12 and the top 2 bits of bytes 0..8).
fn scale_min_k4(j: usize, s: &[u8]) -> (f32, f32) {
    let (sc, m) = if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    };
    (sc as f32, m as f32)
}

/// `scales: [u8; 16], qs: [u8; 64], d: f16, dmin: f16`. Each scale byte is a
/// 4-bit scale (low) and 4-bit min (high) for 16 values of 2 bits.
pub(super) fn q2_k(x: &[u8], y: &mut [f32]) {
    let (scales, qs) = (&x[0..16], &x[16..80]);
    let (d, dmin) = (f16_at(x, 80), f16_at(x, 82));
    let mut out = 0;
    let mut is = 0;
    for half in 0..2 {
        let q = &qs[half * 32..half * 32 + 32];
        for shift in [0, 2, 4, 6] {
            for part in 0..2 {
                let sc = scales[is];
                is += 1;
                let (dl, ml) = (d * (sc & 0x0f) as f32, dmin * (sc >> 4) as f32);
                for &b in &q[part * 16..part * 16 + 16] {
                    y[out] = dl * ((b >> shift) & 3) as f32 - ml;
                    out += 1;
                }
            }
        }
    }
}

/// The 16 signed 6-bit sub-scales of Q3_K packed in 12 bytes: low 4 bits in
/// bytes 0..8 (two per byte), high 2 bits in bytes 8..12 (four per byte).
fn q3_k_scales(s: &[u8]) -> [i32; 16] {
    let mut out = [0i32; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let low = if i < 8 { s[i] & 0x0f } else { s[i - 8] >> 4 };
        let high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        *o = (low | (high << 4)) as i32 - 32;
    }
    out
}

/// `hmask: [u8; 32], qs: [u8; 64], scales: [u8; 12], d: f16`. Values are
/// 2 low bits from `qs` plus a high bit from `hmask`; a clear high bit
/// subtracts 4.
pub(super) fn q3_k(x: &[u8], y: &mut [f32]) {
    let (hmask, qs) = (&x[0..32], &x[32..96]);
    let scales = q3_k_scales(&x[96..108]);
    let d = f16_at(x, 108);
    let mut out = 0;
    let mut is = 0;
    let mut m = 1u8;
    for half in 0..2 {
        let q = &qs[half * 32..half * 32 + 32];
        for shift in [0, 2, 4, 6] {
            for part in 0..2 {
                let dl = d * scales[is] as f32;
                is += 1;
                for l in part * 16..part * 16 + 16 {
                    let low = ((q[l] >> shift) & 3) as i32;
                    let sub = if hmask[l] & m != 0 { 0 } else { 4 };
                    y[out] = dl * (low - sub) as f32;
                    out += 1;
                }
            }
            m <<= 1;
        }
    }
}

/// `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]`. Four 64-value
/// chunks; in each, 32 bytes give the low nibbles (sub-block `2i`) and the
/// high nibbles (sub-block `2i + 1`); `y = d * sc * q - dmin * m`.
pub(super) fn q4_k(x: &[u8], y: &mut [f32]) {
    let (d, dmin) = (f16_at(x, 0), f16_at(x, 2));
    let (scales, qs) = (&x[4..16], &x[16..144]);
    for i in 0..4 {
        let q = &qs[i * 32..i * 32 + 32];
        let (s1, m1) = scale_min_k4(2 * i, scales);
        let (s2, m2) = scale_min_k4(2 * i + 1, scales);
        let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
        let y = &mut y[i * 64..i * 64 + 64];
        for l in 0..32 {
            y[l] = d1 * (q[l] & 0x0f) as f32 - m1;
            y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
        }
    }
}

/// `d: f16, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`: Q4_K
/// plus a fifth bit per value from `qh` (bits `2i` and `2i + 1` for chunk `i`).
pub(super) fn q5_k(x: &[u8], y: &mut [f32]) {
    let (d, dmin) = (f16_at(x, 0), f16_at(x, 2));
    let (scales, qh, qs) = (&x[4..16], &x[16..48], &x[48..176]);
    for i in 0..4 {
        let q = &qs[i * 32..i * 32 + 32];
        let (s1, m1) = scale_min_k4(2 * i, scales);
        let (s2, m2) = scale_min_k4(2 * i + 1, scales);
        let (d1, m1, d2, m2) = (d * s1, dmin * m1, d * s2, dmin * m2);
        let (u1, u2) = (1u8 << (2 * i), 1u8 << (2 * i + 1));
        let y = &mut y[i * 64..i * 64 + 64];
        for l in 0..32 {
            let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
            let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
            y[l] = d1 * ((q[l] & 0x0f) + h1) as f32 - m1;
            y[l + 32] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
        }
    }
}

/// `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`. Two 128-value
/// halves; 6-bit codes minus 32 times an int8 scale per 16 values.
pub(super) fn q6_k(x: &[u8], y: &mut [f32]) {
    let (ql, qh, sc) = (&x[0..128], &x[128..192], &x[192..208]);
    let d = f16_at(x, 208);
    for half in 0..2 {
        let (ql, qh) = (&ql[half * 64..half * 64 + 64], &qh[half * 32..half * 32 + 32]);
        let sc = &sc[half * 8..half * 8 + 8];
        let y = &mut y[half * 128..half * 128 + 128];
        for l in 0..32 {
            let is = l / 16;
            let code = |low: u8, shift: u8| ((low | (((qh[l] >> shift) & 3) << 4)) as i32 - 32) as f32;
            y[l] = d * sc[is] as i8 as f32 * code(ql[l] & 0x0f, 0);
            y[l + 32] = d * sc[is + 2] as i8 as f32 * code(ql[l + 32] & 0x0f, 2);
            y[l + 64] = d * sc[is + 4] as i8 as f32 * code(ql[l] >> 4, 4);
            y[l + 96] = d * sc[is + 6] as i8 as f32 * code(ql[l + 32] >> 4, 6);
        }
    }
}

/// `d: f32, qs: [i8; 256], bsums: [i16; 16]`; `y = d * q` (bsums unused).
pub(super) fn q8_k(x: &[u8], y: &mut [f32]) {
    let d = f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
    for (y, &q) in y.iter_mut().zip(&x[4..260]) {
        *y = d * q as i8 as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_min_k4_unpacks_high_bits() {
        // Sub-block 5: scale low nibble from byte 9, high 2 bits from byte 1.
        let mut s = [0u8; 12];
        s[9] = 0x3a; // scale nibble 0xa, min nibble 0x3
        s[1] = 0b1100_0000; // scale high bits 3
        s[5] = 0b0100_0000; // min high bits 1
        assert_eq!(scale_min_k4(5, &s), ((0xa | (3 << 4)) as f32, (0x3 | (1 << 4)) as f32));
        s[0] = 0b1010_1010;
        s[4] = 0b0001_0001;
        assert_eq!(scale_min_k4(0, &s), (0b10_1010 as f32, 0b01_0001 as f32));
    }

    #[test]
    fn q3_k_scales_match_ggml_bit_twiddling() {
        // ggml's aux-word shuffle, recomputed here as the independent oracle.
        let s: [u8; 12] = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x1b, 0x2c, 0x3d, 0x4e];
        let mut aux = [0u32; 4];
        for i in 0..3 {
            aux[i] = u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
        }
        let (k1, k2, tmp) = (0x0303_0303u32, 0x0f0f_0f0fu32, aux[2]);
        aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4);
        aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4);
        aux[0] = (aux[0] & k2) | ((tmp & k1) << 4);
        aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4);
        let want: Vec<i32> = aux.iter().flat_map(|w| w.to_le_bytes()).map(|b| b as i8 as i32 - 32).collect();
        assert_eq!(q3_k_scales(&s).to_vec(), want);
    }
}
