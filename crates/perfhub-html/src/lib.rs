//! perfhub's self-contained HTML report: one `report.html` that opens from
//! disk, loads nothing from the network, reads on a phone and prints.
//!
//! [`render`] turns an [`HtmlReport`] (a [`Report`], optionally a baseline
//! report, flame graphs and history [`Trend`]s) into the page's HTML. The
//! library never touches the file system: the caller writes the string.
//!
//! What the page shows depends on what each benchmark carries, not on the
//! report's kind, so a `check` report that combines capabilities gets every
//! section it needs:
//!
//! - a summary: pass or fail per budget and the Performance Score with its
//!   components ([`perfhub_core::score`]);
//! - the comparison with the baseline: the report's own verdicts (`perfhub
//!   compare`), else a comparison computed against [`HtmlReport::baseline`];
//! - a benchmark with `wall_time` samples: a box plot of its runs, beside the
//!   baseline's;
//! - a benchmark with a `latency` histogram: the percentile spectrum on
//!   HdrHistogram's log scale, and its rate, errors and p95 per interval
//!   when the report has them (`interval_throughput`, `interval_errors`,
//!   `interval_p95`, `interval_seconds`);
//! - a benchmark with an `rss` series (a profile's timeline): CPU, memory,
//!   threads and I/O over time;
//! - flame graphs, embedded with their own script so search and zoom work;
//! - history trends.
//!
//! Charts are inline SVG drawn here (no script); each is an
//! `<svg data-chart="KIND">` whose data marks have the class `mark`, and the
//! `<body>` carries `data-charts-expected="N"`, the number drawn, so a
//! browser test can check that every chart rendered.
#![deny(missing_docs)]

mod chart;
mod escape;
mod page;
pub mod spectrum;

use std::time::Duration;

use perfhub_core::report::Report;
use perfhub_core::score::ScoreTargets;
use perfhub_core::units::Unit;

pub use escape::html as escape_html;

/// Everything one report page shows.
#[derive(Debug, Clone)]
pub struct HtmlReport<'a> {
    /// The page's title.
    pub title: String,
    /// The report rendered.
    pub report: &'a Report,
    /// A report to compare with: its benchmarks' runs are drawn beside the
    /// report's, and, when the report carries no verdicts of its own, the
    /// two are compared ([`perfhub_core::compare::compare_reports`]).
    pub baseline: Option<&'a Report>,
    /// Flame graphs, as written by `perfhub profile` or `perfhub flamegraph`.
    pub flamegraphs: Vec<Flame>,
    /// History trends, one chart each.
    pub trends: Vec<Trend>,
    /// The targets the Performance Score is normalized against.
    pub score_targets: ScoreTargets,
    /// The sampling interval of resource timelines. The report does not
    /// record it; without it, a timeline's interval is its benchmark's
    /// wall time divided by its samples, else 50 ms (`perfhub profile`'s
    /// default).
    pub timeline_interval: Option<Duration>,
}

impl<'a> HtmlReport<'a> {
    /// A page for `report` with no baseline, flame graphs or trends.
    pub fn new(title: impl Into<String>, report: &'a Report) -> Self {
        HtmlReport {
            title: title.into(),
            report,
            baseline: None,
            flamegraphs: Vec::new(),
            trends: Vec::new(),
            score_targets: ScoreTargets::default(),
            timeline_interval: None,
        }
    }
}

/// A flame graph to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flame {
    /// The heading above it.
    pub title: String,
    /// The SVG document, as inferno writes it (with its script).
    pub svg: String,
}

/// The history of one metric of one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The benchmark's name.
    pub benchmark: String,
    /// The metric's name.
    pub metric: String,
    /// The unit of the values.
    pub unit: Unit,
    /// One point per recorded run, oldest first: a label (a commit, a
    /// date) and the value in `unit`'s base scale.
    pub points: Vec<(String, f64)>,
}

/// The page as a complete HTML document.
pub fn render(report: &HtmlReport<'_>) -> String {
    page::render(report)
}

#[cfg(test)]
mod tests;
