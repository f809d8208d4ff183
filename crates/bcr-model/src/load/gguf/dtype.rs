//! ggml tensor storage types: ids, block sizes, and dequantization to f32.
//!
//! Quantized types store blocks of `block_len` values in `block_bytes` bytes;
//! the block layouts are ggml's (`ggml-common.h`). Dequantization is a pure
//! function of the bytes; rows of a tensor are whole blocks because every
//! GGUF row length is a multiple of the block length.

use half::{bf16, f16};
use rayon::prelude::*;

use super::{kquants, quants};

/// A ggml tensor type that GGUF files carry and this crate can dequantize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
    /// 32 x 4 bits, scale: `d * (q - 8)`.
    Q4_0,
    /// 32 x 4 bits, scale and min: `d * q + m`.
    Q4_1,
    /// 32 x 5 bits, scale: `d * (q - 16)`.
    Q5_0,
    /// 32 x 5 bits, scale and min.
    Q5_1,
    /// 32 x int8, scale.
    Q8_0,
    /// 256-value super-blocks, 2 bits.
    Q2K,
    /// 256-value super-blocks, 3 bits.
    Q3K,
    /// 256-value super-blocks, 4 bits with 6-bit sub-scales and mins.
    Q4K,
    /// 256-value super-blocks, 5 bits.
    Q5K,
    /// 256-value super-blocks, 6 bits with int8 sub-scales.
    Q6K,
    /// 256 x int8 with an f32 scale.
    Q8K,
}

impl GgmlType {
    /// The type for a ggml type id, if supported.
    pub fn from_u32(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            30 => Self::Bf16,
            _ => return None,
        })
    }

    /// (values per block, bytes per block).
    pub fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::Bf16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q2K => (256, 84),
            Self::Q3K => (256, 110),
            Self::Q4K => (256, 144),
            Self::Q5K => (256, 176),
            Self::Q6K => (256, 210),
            Self::Q8K => (256, 292),
        }
    }

    /// Bytes needed for `n` values, or why `n` does not fit whole blocks.
    pub fn byte_size(self, n: u64) -> std::result::Result<usize, String> {
        let (len, bytes) = self.block();
        if !n.is_multiple_of(len as u64) {
            return Err(format!("{n} values are not a whole number of {self:?} blocks of {len}"));
        }
        usize::try_from(n / len as u64 * bytes as u64).map_err(|e| e.to_string())
    }

    /// Dequantizes `data` (whole blocks) to f32 values.
    pub fn dequantize(self, data: &[u8]) -> std::result::Result<Vec<f32>, String> {
        let (len, bytes) = self.block();
        if !data.len().is_multiple_of(bytes) {
            return Err(format!("{} bytes are not a whole number of {self:?} blocks of {bytes}", data.len()));
        }
        let n_blocks = data.len() / bytes;
        let mut out = vec![0f32; n_blocks * len];
        let f = self.block_fn();
        // Chunks of many blocks keep rayon's overhead small on big tensors.
        let per_task = (4096 / len).max(1);
        out.par_chunks_mut(len * per_task).zip(data.par_chunks(bytes * per_task)).for_each(|(out, data)| {
            for (y, x) in out.chunks_exact_mut(len).zip(data.chunks_exact(bytes)) {
                f(x, y);
            }
        });
        Ok(out)
    }

    fn block_fn(self) -> fn(&[u8], &mut [f32]) {
        match self {
            Self::F32 => |x, y| y[0] = f32::from_le_bytes([x[0], x[1], x[2], x[3]]),
            Self::F16 => |x, y| y[0] = f16::from_le_bytes([x[0], x[1]]).to_f32(),
            Self::Bf16 => |x, y| y[0] = bf16::from_le_bytes([x[0], x[1]]).to_f32(),
            Self::Q4_0 => quants::q4_0,
            Self::Q4_1 => quants::q4_1,
            Self::Q5_0 => quants::q5_0,
            Self::Q5_1 => quants::q5_1,
            Self::Q8_0 => quants::q8_0,
            Self::Q2K => kquants::q2_k,
            Self::Q3K => kquants::q3_k,
            Self::Q4K => kquants::q4_k,
            Self::Q5K => kquants::q5_k,
            Self::Q6K => kquants::q6_k,
            Self::Q8K => kquants::q8_k,
        }
    }
}

/// Reads the f16 at `x[at..at + 2]` as f32.
pub(super) fn f16_at(x: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([x[at], x[at + 1]]).to_f32()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_types_round_trip() {
        let vals = [0.0f32, -1.5, 65504.0, 1e-3];
        let f32s: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(GgmlType::F32.dequantize(&f32s).unwrap(), vals);
        let f16s: Vec<u8> = vals.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect();
        let back = GgmlType::F16.dequantize(&f16s).unwrap();
        assert_eq!(back[..3], vals[..3]);
        assert!((back[3] - 1e-3).abs() < 1e-6);
        let bf16s: Vec<u8> = vals.iter().flat_map(|&v| bf16::from_f32(v).to_le_bytes()).collect();
        assert_eq!(GgmlType::Bf16.dequantize(&bf16s).unwrap()[..2], vals[..2]);
    }

    #[test]
    fn sizes_and_partial_blocks() {
        assert_eq!(GgmlType::Q4_1.byte_size(576 * 192), Ok(576 * 192 / 32 * 20));
        assert_eq!(GgmlType::Q6K.byte_size(512), Ok(420));
        assert!(GgmlType::Q4K.byte_size(100).unwrap_err().contains("100 values"));
        assert!(GgmlType::Q8_0.dequantize(&[0; 35]).unwrap_err().contains("35 bytes"));
        assert_eq!(GgmlType::from_u32(30), Some(GgmlType::Bf16));
        assert_eq!(GgmlType::from_u32(4), None);
    }
}
