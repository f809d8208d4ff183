//! The one error type of `bcr-eval`. Messages carry the values at fault (the
//! file and line, the URL and status, the differing config keys) so that the
//! CLI prints them as one line.

use std::path::PathBuf;

/// Everything that can go wrong in `bcr-eval`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    // The OS error is in the message, not a `source`, so that `{:#}` chains
    // print it once.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Loading, packing, prompting or scoring failed in `bcr-core`.
    #[error(transparent)]
    Core(#[from] bcr_core::Error),
    /// The native model failed to load or generate.
    #[error(transparent)]
    Model(#[from] bcr_model::Error),
    /// A request to an OpenAI-compatible server failed. `retryable` is true
    /// for connection errors, timeouts, 429, 5xx and unreadable bodies.
    #[error("{url}: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// What happened (status and body excerpt, or the transport error).
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// A run directory holds a different configuration than the one asked for.
    #[error("{dir}: the run directory was made with a different config ({diff}); use a new --out directory or the original flags")]
    ConfigMismatch {
        /// The run directory.
        dir: PathBuf,
        /// The differing keys, `key: stored -> requested`.
        diff: String,
    },
    /// Some requests still failed after every retry; their samples are not
    /// written, and rerunning the same command retries exactly them.
    #[error("{failed} of {total} requests failed after retries (first error: {first}); rerun the same command to retry them")]
    Incomplete {
        /// Requests that failed.
        failed: usize,
        /// Requests attempted in this session.
        total: usize,
        /// The first failure.
        first: String,
    },
    /// Plotting failed.
    #[error("plot {path}: {message}")]
    Plot {
        /// The image being written.
        path: PathBuf,
        /// The plotting error.
        message: String,
    },
    /// An invalid argument or configuration value.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// A malformed record of a run file (`line` 0: the whole file).
    pub(crate) fn record(path: &std::path::Path, line: usize, message: String) -> Self {
        let at = bcr_core::Location { file: path.to_path_buf(), line };
        Error::Core(bcr_core::Error::Record { at, field: "-".into(), message })
    }

    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), error: source }
    }

    /// Whether a retry of the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Http { retryable: true, .. })
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
