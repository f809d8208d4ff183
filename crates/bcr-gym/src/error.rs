//! The one error type of `bcr-gym`.

use std::path::PathBuf;

/// Everything that can go wrong in the gym, the tokenizer, the tiny model and SFT.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Training, saving or using the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A configuration value is invalid.
    #[error("{file}: field `{field}`: {message}")]
    Config {
        /// The config file (or `--set` for overrides).
        file: String,
        /// The TOML key.
        field: String,
        /// What is wrong, with the value found.
        message: String,
    },
    /// An error from bcr-core (prompt or chat template).
    #[error(transparent)]
    Core(#[from] bcr_core::Error),
    /// An error from bcr-model.
    #[error(transparent)]
    Model(#[from] bcr_model::Error),
    /// An error from bcr-rl (optimizer, checkpoint).
    #[error(transparent)]
    Rl(#[from] bcr_rl::Error),
    /// An error from bcr-eval (the sweep of `bcr demo`).
    #[error(transparent)]
    Eval(#[from] bcr_eval::Error),
    /// Ctrl-C stopped a training run after saving a checkpoint.
    #[error("interrupted: {0} holds a checkpoint; rerun the same command to resume")]
    Interrupted(PathBuf),
    /// A tensor operation failed.
    #[error("tensor: {0}")]
    Candle(#[from] candle_core::Error),
    /// Writing JSON failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// The first of `fields` (key, value) that is 0, as a config error of `file`.
pub(crate) fn require_nonzero(file: &str, fields: &[(&str, usize)]) -> Result<()> {
    match fields.iter().find(|(_, v)| *v == 0) {
        Some((field, _)) => Err(Error::Config {
            file: file.to_string(),
            field: field.to_string(),
            message: "must be at least 1, found 0".into(),
        }),
        None => Ok(()),
    }
}

/// `Result` with the gym [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
