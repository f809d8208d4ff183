//! The one error type of `bcr-rl`. Messages carry the values at fault: the
//! config file and line, the `--set` key, the checkpoint path, the step.

use std::path::PathBuf;

/// Everything that can go wrong while configuring or running training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file or `--set` override is invalid. `at` is `FILE:LINE`,
    /// `--set KEY` or the dotted key that failed validation.
    #[error("{at}: {message}")]
    Config {
        /// Where: `FILE:LINE`, `--set KEY=VALUE` or `config key`.
        at: String,
        /// What is wrong, with the value found and what was expected.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error (in the message, not chained, so it prints once).
        error: std::io::Error,
    },
    /// A checkpoint is missing a piece or does not match the model.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Training diverged: too many consecutive steps had a NaN/Inf loss or gradient.
    #[error("step {step}: {count} consecutive steps with a non-finite loss or gradient (limit {limit}); last: {what}")]
    Diverged {
        /// The step at which training stopped.
        step: usize,
        /// Consecutive bad steps seen.
        count: usize,
        /// `run.max_bad_steps`.
        limit: usize,
        /// Which quantity was non-finite.
        what: String,
    },
    /// Inputs to an algorithm function have inconsistent sizes or values.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An error from the data, prompt or reward code of `bcr-core`.
    #[error(transparent)]
    Core(#[from] bcr_core::Error),
    /// An error inside candle (shape mismatch in an op, dtype...).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// The policy model failed (loading, generation, log-probs).
    #[error(transparent)]
    Model(#[from] bcr_model::Error),
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }

    /// A config error at `at`.
    pub fn config(at: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { at: at.into(), message: message.into() }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
