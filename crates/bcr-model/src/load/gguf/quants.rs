//! The 32-value block quantizations (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
//!
//! Each function dequantizes one block `x` into `y` (32 values). In the
//! 4/5-bit types byte `j` of `qs` holds value `j` in its low nibble and value
//! `j + 16` in its high nibble; Q5 types keep the fifth bits in a 32-bit
//! little-endian mask `qh` (bit `j` for value `j`).

use super::dtype::f16_at;

/// `d: f16, qs: [u8; 16]`; `y = d * (q - 8)`.
pub(super) fn q4_0(x: &[u8], y: &mut [f32]) {
    let d = f16_at(x, 0);
    let qs = &x[2..18];
    for (j, &q) in qs.iter().enumerate() {
        y[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
        y[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
    }
}

/// `d: f16, m: f16, qs: [u8; 16]`; `y = d * q + m`.
pub(super) fn q4_1(x: &[u8], y: &mut [f32]) {
    let (d, m) = (f16_at(x, 0), f16_at(x, 2));
    let qs = &x[4..20];
    for (j, &q) in qs.iter().enumerate() {
        y[j] = (q & 0x0f) as f32 * d + m;
        y[j + 16] = (q >> 4) as f32 * d + m;
    }
}

/// The 5-bit codes of a Q5 block, `qh` at `x[at..at + 4]`, `qs` after it.
fn q5_codes(x: &[u8], at: usize) -> [u8; 32] {
    let qh = u32::from_le_bytes([x[at], x[at + 1], x[at + 2], x[at + 3]]);
    let qs = &x[at + 4..at + 20];
    let mut codes = [0u8; 32];
    for (j, &q) in qs.iter().enumerate() {
        let hi0 = ((qh >> j) & 1) as u8;
        let hi1 = ((qh >> (j + 16)) & 1) as u8;
        codes[j] = (q & 0x0f) | (hi0 << 4);
        codes[j + 16] = (q >> 4) | (hi1 << 4);
    }
    codes
}

/// `d: f16, qh: u32, qs: [u8; 16]`; `y = d * (q - 16)`.
pub(super) fn q5_0(x: &[u8], y: &mut [f32]) {
    let d = f16_at(x, 0);
    for (y, q) in y.iter_mut().zip(q5_codes(x, 2)) {
        *y = (q as i32 - 16) as f32 * d;
    }
}

/// `d: f16, m: f16, qh: u32, qs: [u8; 16]`; `y = d * q + m`.
pub(super) fn q5_1(x: &[u8], y: &mut [f32]) {
    let (d, m) = (f16_at(x, 0), f16_at(x, 2));
    for (y, q) in y.iter_mut().zip(q5_codes(x, 4)) {
        *y = q as f32 * d + m;
    }
}

/// `d: f16, qs: [i8; 32]`; `y = d * q`.
pub(super) fn q8_0(x: &[u8], y: &mut [f32]) {
    let d = f16_at(x, 0);
    for (y, &q) in y.iter_mut().zip(&x[2..34]) {
        *y = q as i8 as f32 * d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn h(v: f32) -> [u8; 2] {
        f16::from_f32(v).to_le_bytes()
    }

    #[test]
    fn hand_built_blocks() {
        // Q4_0: low nibble 0 -> -8, high nibble 15 -> 7, scale 0.5.
        let mut b = h(0.5).to_vec();
        b.extend([0xf0u8; 16]);
        let mut y = [0f32; 32];
        q4_0(&b, &mut y);
        assert_eq!((y[0], y[15], y[16], y[31]), (-4.0, -4.0, 3.5, 3.5));

        // Q4_1: q = 3 (low) / 1 (high), d = 2, m = -1.
        let mut b = [h(2.0), h(-1.0)].concat();
        b.extend([0x13u8; 16]);
        q4_1(&b, &mut y);
        assert_eq!((y[0], y[16]), (5.0, 1.0));

        // Q5_0: qh bit 0 and bit 16 set; nibbles 0 -> codes 16 and 16 -> 0.
        let mut b = h(1.0).to_vec();
        b.extend(0x0001_0001u32.to_le_bytes());
        b.extend([0u8; 16]);
        q5_0(&b, &mut y);
        assert_eq!((y[0], y[1], y[16], y[17]), (0.0, -16.0, 0.0, -16.0));

        // Q5_1: all fifth bits set, nibbles 0xf -> code 31.
        let mut b = [h(1.0), h(0.5)].concat();
        b.extend(u32::MAX.to_le_bytes());
        b.extend([0xffu8; 16]);
        q5_1(&b, &mut y);
        assert!(y.iter().all(|&v| v == 31.5));

        // Q8_0: signed bytes.
        let mut b = h(0.25).to_vec();
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        q8_0(&b, &mut y);
        assert_eq!((y[0], y[16], y[31]), (-4.0, 0.0, 3.75));
    }
}
