//! perfhub results for CI services.
//!
//! Everything here reads one [`perfhub_core::Report`] and writes text for a
//! CI service or a dashboard; nothing probes the machine or prints.
//!
//! - [`github`]: GitHub Actions. [`github::annotation_lines`] turns
//!   regressions, improvements, exceeded budgets and warnings into workflow
//!   commands (at most ten of each kind, as GitHub shows no more);
//!   [`github::job_summary`] renders the Markdown for `$GITHUB_STEP_SUMMARY`;
//!   [`github::outputs`] and [`github::output_entry`] write step outputs for
//!   `$GITHUB_OUTPUT`; [`github::publish`] does all three for the
//!   [`github::GithubEnv`] read from the environment.
//! - [`bmf`]: Bencher Metric Format JSON, for `bencher run --adapter json`.
//! - [`gab`]: the `customSmallerIsBetter` and `customBiggerIsBetter` JSON of
//!   github-action-benchmark.
//!
//! Odd input is data, not a panic: NaN values are left out of the JSON
//! exports, names with newlines, commas, colons or pipes are escaped for
//! each format, and an empty report gives an empty export.
#![deny(missing_docs)]

pub mod bmf;
mod error;
pub mod gab;
pub mod github;
mod values;

pub use bmf::{Bmf, BmfMetric, to_bmf, to_bmf_json};
pub use error::Error;
pub use gab::{GabEntry, GabExport, to_gab};
pub use github::{
    Annotation, Counts, GithubEnv, Level, OverallVerdict, annotation_lines, annotations,
    job_summary, output_entry, outputs, publish,
};
