//! The architecture: the HF config, the decoder (Llama, Qwen2, Qwen3 in one
//! file, in reading order), the KV cache and row spans of ragged batches,
//! the differentiable ops it is built from, seeded initialisation, and the
//! matrices (dense, or a GGUF file's quantised blocks).

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod decoder;
pub(crate) mod init;
pub mod ops;
pub(crate) mod weight;
