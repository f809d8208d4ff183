//! The one error type of `bcr-model`.
//!
//! Every message carries the values at fault: the file, the tensor name,
//! the expected and found shapes, the config key and why it is rejected.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file (config.json, tokenizer_config.json, the safetensors
    /// index...) is not valid or misses a required key.
    #[error("{path}: line {line}, column {column}: {message}")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// 1-based line of the error (0 when unknown).
        line: usize,
        /// 1-based column of the error (0 when unknown).
        column: usize,
        /// What is wrong (serde's message names the field).
        message: String,
    },
    /// A config value is valid JSON but its value is impossible
    /// (e.g. `hidden_size` not divisible by `num_attention_heads`).
    #[error("config field `{field}`: {message}")]
    Config {
        /// The config.json key at fault.
        field: String,
        /// What is wrong, with the values.
        message: String,
    },
    /// A config option this implementation does not support, with the reason.
    #[error("unsupported config option `{option}`: {reason}")]
    Unsupported {
        /// The config.json key (and value) at fault.
        option: String,
        /// Why it is not supported.
        reason: String,
    },
    /// A tensor the model needs is not in the checkpoint.
    #[error("missing tensor `{name}` (expected shape {expected:?}) in {source_desc}")]
    MissingTensor {
        /// HF name of the tensor.
        name: String,
        /// The shape the model expects.
        expected: Vec<usize>,
        /// The checkpoint (file or directory) searched.
        source_desc: String,
    },
    /// The checkpoint holds tensors the model does not use.
    #[error("{count} unexpected tensor(s) in {source_desc}: {names:?}")]
    ExtraTensors {
        /// How many tensors were not used.
        count: usize,
        /// Their names (at most the first 10).
        names: Vec<String>,
        /// The checkpoint (file or directory).
        source_desc: String,
    },
    /// A tensor has a shape other than the one the config implies.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    TensorShape {
        /// HF name of the tensor.
        name: String,
        /// The shape the model expects.
        expected: Vec<usize>,
        /// The shape in the checkpoint.
        found: Vec<usize>,
    },
    /// A device or dtype name is not understood or not available in this build.
    #[error("device {spec:?}: {message}")]
    Device {
        /// The name as given (`cuda:0`, `bf16`...).
        spec: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Inputs to a model function are inconsistent (wrong rank, lengths
    /// that disagree, a position past `max_position_embeddings`...).
    #[error("invalid input: {0}")]
    Input(String),
    /// The tokenizer could not be built or failed to encode/decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A GGUF file is malformed or uses something unsupported.
    #[error("gguf {path}: {message}")]
    Gguf {
        /// The GGUF file.
        path: PathBuf,
        /// What is wrong, with the values.
        message: String,
    },
    /// Downloading from the Hugging Face Hub failed (or the hub is offline).
    #[error("hub: {0}")]
    Hub(String),
    /// A chat template failed to render.
    #[error(transparent)]
    Core(#[from] bcr_core::Error),
    /// An error inside candle (shape mismatch in an op, dtype...).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Wrap a serde_json error with the file it came from.
    pub fn json(path: impl Into<PathBuf>, err: &serde_json::Error) -> Self {
        Error::Json { path: path.into(), line: err.line(), column: err.column(), message: err.to_string() }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
