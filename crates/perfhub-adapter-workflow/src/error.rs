//! The crate's error type.

/// Errors turning reports into tasks and reviews.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A report's `created` is not an RFC 3339 timestamp, so the tasks'
    /// dates (DTSTAMP, `entry`, the todo.txt date) cannot be derived from it.
    #[error(
        "report {index} ({kind}): `created` is {value:?}, not an RFC 3339 timestamp such as 2026-01-05T08:00:00Z"
    )]
    Timestamp {
        /// The report's position in the input, from 0.
        index: usize,
        /// The report's kind, to help find it.
        kind: String,
        /// The value found.
        value: String,
    },
    /// A weekly review was asked of no reports.
    #[error("no reports to review: give at least one report")]
    NoReports,
    /// JSON serialization failed.
    #[error("cannot serialize JSON: {0}")]
    Json(#[from] serde_json::Error),
}
