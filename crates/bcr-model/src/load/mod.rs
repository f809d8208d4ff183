//! Loading: what a user names as a model (an HF checkpoint directory, a
//! GGUF file or a Hub id) resolved in one place ([`model`]), the two
//! checkpoint formats ([`hf`], [`gguf`]), and the tokenizer with its chat
//! template.

pub(crate) mod gguf;
pub(crate) mod hf;
pub(crate) mod model;
pub(crate) mod tokenizer;
