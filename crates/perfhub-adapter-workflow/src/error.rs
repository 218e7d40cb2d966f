//! The crate's error type.

/// Errors turning reports into tasks and reviews.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A weekly review was asked of no reports.
    #[error("no reports to review: give at least one report")]
    NoReports,
    /// JSON serialization failed.
    #[error("cannot serialize JSON: {0}")]
    Json(#[from] serde_json::Error),
}
