//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Errors writing CI files and exports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file (the job summary, the outputs file) could not be opened or
    /// appended to.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A step output name that GitHub cannot parse back.
    #[error(
        "invalid output name {0:?}: it must be non-empty and contain no `=`, `<<` or line break"
    )]
    OutputName(String),
    /// No random heredoc delimiter absent from an output's value was found.
    #[error("cannot find a heredoc delimiter that does not occur in the value of output {0:?}")]
    Delimiter(String),
    /// JSON serialization failed.
    #[error("cannot serialize JSON: {0}")]
    Json(#[from] serde_json::Error),
}
