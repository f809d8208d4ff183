//! The one error type of `bcr-serve`: what stops the server from starting
//! or running. Errors of one request are not here; they are OpenAI error
//! bodies (`crate::openai::ApiError`) sent to that caller.

/// Everything that can stop `bcr serve`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or serving the listening socket failed.
    #[error("{addr}: {source}")]
    Io {
        /// The address (or file) concerned.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The backend could not be opened (model load, bad endpoint).
    #[error(transparent)]
    Backend(#[from] bcr_eval::Error),
    /// Rendering a prompt or reading a config in `bcr-core` failed.
    #[error(transparent)]
    Core(#[from] bcr_core::Error),
    /// An invalid setting (`--n`, `--max-n`, the API-key file, ...).
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
