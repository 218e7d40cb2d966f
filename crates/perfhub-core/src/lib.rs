//! The perfhub measurement kernel.
//!
//! Everything that turns numbers into conclusions lives here, and nothing
//! else: no OS probing, no network, no terminal, no printing.
//!
//! - [`report`]: the versioned [`Report`] model that every
//!   capability writes and every adapter reads;
//! - [`units`]: [`Unit`]s and their formatting;
//! - [`stats`]: summaries, outliers, confidence intervals and two-sample tests;
//! - [`signed_rank`]: the Wilcoxon signed-rank test and the Hodges-Lehmann
//!   estimator with its interval, behind paired comparisons;
//! - [`complexity`]: empirical complexity fitting over a parameter scan;
//! - [`time`]: moments in UTC, parsed from and written as RFC 3339 (the
//!   workspace's one RFC 3339 parser);
//! - [`histogram`]: latency histograms on HdrHistogram, with its log format;
//! - [`budget`]: budget expressions such as `p95 < 200ms`, parsed and evaluated;
//! - [`score`]: the Performance Score, latency, CPU and memory efficiency
//!   normalized to 0-100 against default targets;
//! - [`compare`]: change detection between a base and a head, independent or
//!   paired, with significance and a minimum effect size;
//! - [`sequential`]: adaptive stopping of paired rounds at planned looks,
//!   the level split across them;
//! - [`setting`]: configuration errors that name settings, so that a
//!   front end can name them its own way;
//! - [`ticks`]: round values for chart axes;
//! - [`fs`]: files written atomically (temporary file, sync, rename), the
//!   one file-system helper every crate writing results shares.
#![deny(missing_docs)]

pub mod budget;
pub mod compare;
pub mod complexity;
pub mod fs;
pub mod histogram;
pub mod json;
pub mod report;
pub mod retry;
pub mod score;
pub mod sequential;
pub mod setting;
pub mod signed_rank;
pub mod stats;
pub mod text;
pub mod ticks;
pub mod time;
pub mod units;

pub use budget::{Budget, BudgetVerdict};
pub use report::{Benchmark, Environment, Measurement, Note, Report, ReportKind};
pub use stats::Summary;
pub use units::{Quantity, Unit};
