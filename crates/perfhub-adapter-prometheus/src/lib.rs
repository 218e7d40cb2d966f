//! perfhub reports for Prometheus.
//!
//! One function per destination, all reading [`Report`]s:
//!
//! - [`exposition`] / [`exposition_labeled`]: the Prometheus text format
//!   0.0.4 or OpenMetrics 1.0 ([`Format`], with [`Format::negotiate`] for an
//!   HTTP `Accept` header and [`Format::content_type`]);
//! - [`push`] / [`push_reports`]: a `PUT` or `POST` to a Pushgateway group
//!   ([`PushConfig`]), retried with exponential backoff where a retry is safe;
//! - [`write_textfile`]: a `.prom` file for node_exporter's textfile
//!   collector, written atomically.
//!
//! # Metrics
//!
//! Each measurement becomes one series labelled `benchmark` in the family
//! `perfhub_<metric>_<unit>` (`seconds`, `bytes`, `ratio`, `per_second`,
//! `bytes_per_second`; none for counts and numbers):
//!
//! - a latency recorded in an HdrHistogram becomes a **histogram** with the
//!   fixed `le` bounds [`LATENCY_BUCKETS_NANOS`] (1-2.5-5 steps from 1 µs to
//!   100 s), its cumulative counts taken from the HdrHistogram (see
//!   [`cumulative_buckets`]), plus a summary `perfhub_<metric>_percentiles_<unit>`
//!   of the HdrHistogram's exact percentiles;
//! - sampled measurements become a **summary**: `quantile` 0 (the minimum),
//!   the report's percentiles (`p95` is `0.95`), 1 (the maximum), `_sum` and
//!   `_count`;
//! - single values become a **gauge**, or a **counter** (`_total`) for
//!   non-negative counts.
//!
//! Where two measurements of one name need different types, the later
//! one's family gets a word before the unit (`_samples`, `_value`,
//! `_events`, `_distribution`), so that the exposition stays valid.
//!
//! Besides: `perfhub_report_info` (kind, tool, version, host, commit),
//! `perfhub_report_timestamp_seconds`, `perfhub_budget_passed{benchmark,
//! metric, budget}` (1 or 0), `perfhub_performance_score` and
//! `perfhub_performance_score_component{component, benchmark}` (0 to 100).
//! No sample carries a timestamp.
#![deny(missing_docs)]

mod exposition;
mod names;
mod push;
pub mod scrape;
mod textfile;

use std::path::PathBuf;

pub use perfhub_core::report::Report;

pub use exposition::{
    Format, LATENCY_BUCKETS_NANOS, Source, cumulative_buckets, exposition, exposition_labeled,
};
pub use names::{
    escape_help, escape_label_value, family_name, is_valid_label_name, sanitize_label_name,
};
pub use push::{
    PushConfig, PushMethod, Pushed, delete_group, group_url, push, push_reports, push_text,
};
pub use textfile::{write_textfile, write_textfile_reports};

/// Why a network request failed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection: refused, unreachable, or the name did not resolve.
    Connect,
    /// The server took longer than the timeout.
    Timeout,
    /// The connection broke or the answer was not HTTP.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "cannot connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Other => "connection failed",
        })
    }
}

/// Errors exporting to Prometheus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Pushgateway URL is not usable.
    #[error("invalid Pushgateway URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job or a grouping label cannot form a grouping key.
    #[error("invalid grouping key: {0}")]
    Grouping(String),
    /// The Pushgateway answered with an error status.
    #[error("{method} {url} answered HTTP {status} (after {attempts} attempt(s)): {body}")]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The group's URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body, which says what the Pushgateway
        /// refused.
        body: String,
        /// The attempts made.
        attempts: u32,
    },
    /// No answer: the server is down, unreachable or too slow.
    #[error("{method} {url} failed (after {attempts} attempt(s)): {kind}: {message}")]
    Transport {
        /// The HTTP method.
        method: &'static str,
        /// The group's URL.
        url: String,
        /// What kind of failure.
        kind: TransportKind,
        /// The client's description of the last failure.
        message: String,
        /// The attempts made.
        attempts: u32,
    },
    /// A textfile name is not a plain file name.
    #[error(
        "invalid textfile name {0:?}: give a file name without a directory, such as \"perfhub\" (written as perfhub.prom)"
    )]
    TextfileName(String),
    /// Writing a file failed. The cause is the error's source, not part
    /// of its message, so that a chain of errors shows it once.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The attempts made, for errors of a request.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Status { attempts, .. } | Error::Transport { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }
}
