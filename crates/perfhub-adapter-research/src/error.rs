//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Errors writing a data package or a crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The output directory or a file in it could not be written. The cause
    /// is the error's source, not part of its message, so that a chain of
    /// errors shows it once.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The package name is not one Data Package allows.
    #[error(
        "invalid data package name {0:?}: use lower-case letters, digits, `.`, `_` and `-` only"
    )]
    Name(String),
    /// An end time given in the options is not an RFC 3339 timestamp.
    #[error("end time {0:?} is not an RFC 3339 timestamp such as 2026-01-05T08:00:00Z")]
    EndTime(String),
    /// JSON serialization failed.
    #[error("cannot serialize JSON: {0}")]
    Json(#[from] serde_json::Error),
}
