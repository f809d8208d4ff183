//! CPU kernels, chosen at run time by CPU features (AVX-512F, AVX512_BF16, AVX512-VNNI)
//! and each with a switch to turn it off for side-by-side runs:
//!
//! - [`skinny`]: `x @ w^T` for the 1-64 rows of a decode step;
//! - [`quant`]: the same on a GGUF file's quantised blocks (Q4_0, Q4_1,
//!   Q8_0; AVX512-VNNI);
//! - [`attend`]: the decode step's attention over the strided KV cache;
//! - [`simd`]: vectorised rows (exp, softmax, reductions) they share;
//! - [`fused`]: the training path's graph nodes with hand-written backward
//!   passes (linear, attention, RoPE, SwiGLU, RMSNorm, vocabulary
//!   reductions, AdamW).
//!
//! Kernel functions may exceed the 80-line guideline where splitting would
//! cost registers or clarity of the tile loop; each says so.

pub(crate) mod attend;
pub(crate) mod fused;
pub(crate) mod quant;
pub(crate) mod simd;
pub(crate) mod skinny;
