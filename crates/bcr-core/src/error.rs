//! The one error type of `bcr-core`. Messages name the file, the line (or
//! Parquet row) and the field at fault, with the value found, so that the CLI
//! can print them as a single line.

use std::path::PathBuf;

/// Where in an input a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input file.
    pub file: PathBuf,
    /// 1-based line (JSONL) or 1-based row (Parquet); 0 when the whole file is at fault.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// Everything that can go wrong in `bcr-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A record is malformed: bad JSON, a missing field, a wrong type, bad UTF-8.
    #[error("{at}: field `{field}`: {message}")]
    Record {
        /// File and line.
        at: Location,
        /// The field at fault (`-` when the whole record is).
        field: String,
        /// What was expected and what was found.
        message: String,
    },
    /// A whole input is unusable (empty file, unreadable Parquet, unknown format).
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A template (prompt or chat template) failed to compile or render.
    #[error("template `{name}`: {message}")]
    Template {
        /// Template name or source.
        name: String,
        /// The rendering error.
        message: String,
    },
    /// A config file or `--set` override is invalid.
    #[error("{at}: {message}")]
    Config {
        /// Where: `FILE:LINE`, `FILE` or `--set KEY=VALUE`.
        at: String,
        /// What is wrong, with the value found and what was expected.
        message: String,
    },
    /// An invalid argument or configuration value.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
