//! The report model that every perfhub capability writes and every adapter reads.
//!
//! A [`Report`] holds [`Benchmark`]s (a command, an endpoint, a function: one
//! subject that was measured), each with named [`Measurement`]s. A measurement
//! keeps its raw samples where there are any, their [`Summary`], and its
//! [`Unit`]. The report also records the [`Environment`] it was taken in, the
//! verdicts of any budgets, and [`Note`]s such as "hardware counters not
//! supported here": a degraded measurement is data, not an error.
//!
//! The JSON form is versioned by [`SCHEMA_VERSION`] and described by
//! `docs/report-schema.json`, generated from these types by [`json_schema`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::budget::BudgetVerdict;
use crate::stats::Summary;
use crate::units::Unit;

/// The major version of the report format, bumped on every incompatible
/// change. A reader refuses a report of another major version.
pub const SCHEMA_VERSION: u32 = 1;

/// The minor version of the report format, bumped whenever fields are
/// added. A reader accepts any minor version of its major one: fields it
/// does not know are ignored (and so dropped if it writes the report
/// again), and fields a report lacks take their defaults.
pub const SCHEMA_MINOR: u32 = 3;
// Minor 1 added `schema_minor` itself and `Measurement::better`; minor 2
// `Comparison::mde` and the `inconclusive` verdict; minor 3
// `Summary::mad_unknown`.

/// The benchmark that sums up every endpoint of a load test (perfhub's own,
/// or one imported from goose or k6), on which overall budgets are judged.
pub const TOTAL: &str = "total";

/// Well-known metric names, shared by the capabilities that write them and
/// the budgets and adapters that read them.
pub mod metric {
    /// Wall-clock time of one run.
    pub const WALL_TIME: &str = "wall_time";
    /// User-mode CPU time of one run.
    pub const USER_TIME: &str = "user_time";
    /// Kernel-mode CPU time of one run.
    pub const SYSTEM_TIME: &str = "system_time";
    /// Peak resident set size.
    pub const MAX_RSS: &str = "max_rss";
    /// Bytes read through read-like syscalls (`rchar`).
    pub const READ_BYTES: &str = "read_bytes";
    /// Bytes written through write-like syscalls (`wchar`).
    pub const WRITE_BYTES: &str = "write_bytes";
    /// Bytes fetched from storage (`read_bytes` in `/proc/<pid>/io`).
    pub const STORAGE_READ_BYTES: &str = "storage_read_bytes";
    /// Bytes sent to storage (`write_bytes` in `/proc/<pid>/io`).
    pub const STORAGE_WRITE_BYTES: &str = "storage_write_bytes";
    /// Read syscalls.
    pub const READ_SYSCALLS: &str = "read_syscalls";
    /// Write syscalls.
    pub const WRITE_SYSCALLS: &str = "write_syscalls";
    /// Voluntary context switches.
    pub const VOLUNTARY_CONTEXT_SWITCHES: &str = "voluntary_context_switches";
    /// Involuntary context switches.
    pub const INVOLUNTARY_CONTEXT_SWITCHES: &str = "involuntary_context_switches";
    /// Minor page faults.
    pub const MINOR_PAGE_FAULTS: &str = "minor_page_faults";
    /// Major page faults.
    pub const MAJOR_PAGE_FAULTS: &str = "major_page_faults";
    /// CPU time counted by the perf_event task-clock software counter.
    pub const TASK_CLOCK: &str = "task_clock";
    /// Page faults counted by perf_event.
    pub const PAGE_FAULTS: &str = "page_faults";
    /// Context switches counted by perf_event.
    pub const CONTEXT_SWITCHES: &str = "context_switches";
    /// CPU migrations counted by perf_event.
    pub const CPU_MIGRATIONS: &str = "cpu_migrations";
    /// Retired instructions (hardware counter).
    pub const INSTRUCTIONS: &str = "instructions";
    /// CPU cycles (hardware counter).
    pub const CYCLES: &str = "cycles";
    /// Request or operation latency.
    pub const LATENCY: &str = "latency";
    /// Fraction of requests or runs that failed.
    pub const ERROR_RATE: &str = "error_rate";
    /// Achieved throughput.
    pub const THROUGHPUT: &str = "throughput";
    /// CPU time divided by wall time (1.0 is one core fully busy).
    pub const CPU_UTILIZATION: &str = "cpu_utilization";

    /// Requests sent (a load test), a count.
    pub const REQUESTS: &str = "requests";
    /// Responses received (a load test), a count.
    pub const RESPONSES: &str = "responses";
    /// A load test's time from the actual send to the response, beside `latency` from the intended send.
    pub const SERVICE_TIME: &str = "service_time";
    /// The arrival rate a load test reached, requests per second.
    pub const ACHIEVED_RATE: &str = "achieved_rate";
    /// The arrival rate a load test aimed at, requests per second.
    pub const TARGET_RATE: &str = "target_rate";
    /// Requests due before a load test's end and never sent, a count.
    pub const DROPPED: &str = "dropped";
    /// Requests sent later than their intended time by more than the timer's slack, a count.
    pub const LATE: &str = "late";
    /// Responses per second in each interval of a load test.
    pub const INTERVAL_THROUGHPUT: &str = "interval_throughput";
    /// The 95th percentile latency in each interval of a load test.
    pub const INTERVAL_P95: &str = "interval_p95";
    /// Failed requests and checks in each interval of a load test.
    pub const INTERVAL_ERRORS: &str = "interval_errors";
    /// The length of a load test's intervals.
    pub const INTERVAL_SECONDS: &str = "interval_seconds";
    /// Bytes a load test sent.
    pub const BYTES_SENT: &str = "bytes_sent";
    /// Bytes a load test received.
    pub const BYTES_RECEIVED: &str = "bytes_received";
    /// Responses that failed their checks, a count.
    pub const CHECK_FAILURES: &str = "check_failures";
    /// Requests of a flow left out because an earlier one of the iteration failed, a count.
    pub const SKIPPED: &str = "skipped";
    /// Iterations of a flow given up, a count.
    pub const ABANDONED: &str = "abandoned";
    /// Requests sent again after the server did not process them (HTTP/2 GOAWAY, refused streams), a count.
    pub const RETRIED: &str = "retried";
    /// Which way is better for a metric perfhub writes, by name; `None`
    /// for a name it does not know.
    pub fn better(name: &str) -> Option<super::Better> {
        use super::Better::{Higher, Lower};
        match name {
            WALL_TIME
            | USER_TIME
            | SYSTEM_TIME
            | MAX_RSS
            | READ_BYTES
            | WRITE_BYTES
            | STORAGE_READ_BYTES
            | STORAGE_WRITE_BYTES
            | READ_SYSCALLS
            | WRITE_SYSCALLS
            | VOLUNTARY_CONTEXT_SWITCHES
            | INVOLUNTARY_CONTEXT_SWITCHES
            | MINOR_PAGE_FAULTS
            | MAJOR_PAGE_FAULTS
            | TASK_CLOCK
            | PAGE_FAULTS
            | CONTEXT_SWITCHES
            | CPU_MIGRATIONS
            | INSTRUCTIONS
            | CYCLES
            | LATENCY
            | ERROR_RATE
            | CPU_UTILIZATION
            | SERVICE_TIME
            | DROPPED
            | LATE
            | INTERVAL_P95
            | INTERVAL_ERRORS
            | CHECK_FAILURES
            | SKIPPED
            | ABANDONED
            | RETRIED => Some(Lower),
            THROUGHPUT | ACHIEVED_RATE | INTERVAL_THROUGHPUT => Some(Higher),
            _ => None,
        }
    }
}

/// One complete measurement record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The format's major version: [`SCHEMA_VERSION`] when written by
    /// this version of perfhub.
    pub schema_version: u32,
    /// The format's minor version: [`SCHEMA_MINOR`] when written by this
    /// version of perfhub; 0 in reports written before it was recorded.
    #[serde(default)]
    pub schema_minor: u32,
    /// What wrote the report.
    pub tool: Tool,
    /// Which capability produced the report.
    pub kind: ReportKind,
    /// When the run started, as an RFC 3339 timestamp in UTC.
    #[schemars(with = "String")]
    pub created: crate::time::UtcTime,
    /// The machine and software the report was taken on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// The measured subjects.
    pub benchmarks: Vec<Benchmark>,
    /// Comparisons between benchmarks (for example relative speed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<Comparison>,
    /// Empirical complexity fits over parameter scans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complexity: Vec<crate::complexity::ComplexityAnalysis>,
    /// Budget verdicts, one per budget and benchmark it applied to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetVerdict>,
    /// The Performance Score, where it was computed (`perfhub check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_score: Option<crate::score::PerformanceScore>,
    /// Notes that apply to the whole report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl Report {
    /// An empty report of `kind` written at `created`.
    pub fn new(kind: ReportKind, created: crate::time::UtcTime) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            schema_minor: SCHEMA_MINOR,
            tool: Tool::default(),
            kind,
            created,
            environment: None,
            benchmarks: Vec::new(),
            comparisons: Vec::new(),
            complexity: Vec::new(),
            budgets: Vec::new(),
            performance_score: None,
            notes: Vec::new(),
        }
    }

    /// An empty report of `kind` written now.
    pub fn now(kind: ReportKind) -> Self {
        Report::new(kind, crate::time::UtcTime::now())
    }

    /// Evaluates `budgets` on this report and stores their verdicts in
    /// [`Report::budgets`] (after any already there); see
    /// [`budget::evaluate`](crate::budget::evaluate). On error nothing is
    /// stored. [`Report::budgets_pass`] then says whether all held.
    pub fn apply_budgets(
        &mut self,
        budgets: &[crate::budget::Budget],
    ) -> Result<&[crate::budget::BudgetVerdict], crate::budget::BudgetError> {
        let verdicts = crate::budget::evaluate(budgets, self)?;
        let from = self.budgets.len();
        self.budgets.extend(verdicts);
        Ok(&self.budgets[from..])
    }

    /// Parses a report from JSON: any minor version of this major one
    /// (unknown fields ignored); another major version is refused, saying
    /// which.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        // The version comes first, from a pass over the text that keeps
        // nothing else, so that another version is refused as such; then the
        // report is read straight from the text. (A `serde_json::Value` in
        // between would take several times the text's size.)
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<serde_json::Value>,
        }
        if !text.trim_start().starts_with('{') {
            return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => ReportError::NotAReport,
                Err(e) => ReportError::Json(e),
            });
        }
        let version = match serde_json::from_str::<Version>(text) {
            Ok(v) => v.schema_version,
            // An object with the version twice.
            Err(e) if e.is_data() => None,
            Err(e) => return Err(ReportError::Json(e)),
        };
        match version.and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) if v > u64::from(SCHEMA_VERSION) => return Err(ReportError::Newer(v)),
            Some(v) => return Err(ReportError::Version(v)),
            None => return Err(ReportError::NotAReport),
        }
        serde_json::from_str(text).map_err(ReportError::Json)
    }

    /// The report as indented JSON, with arrays of samples on one line
    /// ([`crate::json`]).
    pub fn to_json(&self) -> String {
        // Serialization of these types cannot fail: all map keys are strings.
        crate::json::to_string(self).expect("report serializes")
    }

    /// Writes the report as [`Report::to_json`] does, and a final newline,
    /// into `writer` without holding the text in memory.
    pub fn write_json<W: std::io::Write>(&self, mut writer: W) -> std::io::Result<()> {
        crate::json::to_writer(&mut writer, self)?;
        writer.write_all(b"\n")
    }

    /// The benchmark called `name`, if any.
    pub fn benchmark(&self, name: &str) -> Option<&Benchmark> {
        self.benchmarks.iter().find(|b| b.name == name)
    }

    /// Whether every budget verdict in the report passed.
    pub fn budgets_pass(&self) -> bool {
        self.budgets.iter().all(|v| v.passed)
    }
}

/// Errors reading a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The text is not valid report JSON. The parser's message is part of
    /// this one (not its source), so a chain of errors shows it once.
    #[error("invalid report JSON: {0}")]
    Json(serde_json::Error),
    /// The report was written by a newer perfhub, in a format this one
    /// cannot read.
    #[error(
        "the report has schema version {0}, written by a newer perfhub (this one reads version {SCHEMA_VERSION} and its minor revisions); upgrade perfhub to read it"
    )]
    Newer(u64),
    /// The report's format is older than any this perfhub reads.
    #[error(
        "report schema version {0} is not supported (this perfhub reads version {SCHEMA_VERSION}); re-run the measurement with this version"
    )]
    Version(u64),
    /// The JSON has no `schema_version`.
    #[error(
        "not a perfhub report: no `schema_version` field (import other tools' results first with `perfhub import`)"
    )]
    NotAReport,
}

/// The program that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Program name.
    pub name: String,
    /// Program version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "perfhub".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The capability that produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReportKind {
    /// `perfhub run`: command benchmarks.
    Run,
    /// A profile of a process or a region.
    Profile,
    /// An HTTP load test.
    Load,
    /// Imported micro-benchmark results (criterion, libtest, hyperfine).
    Bench,
    /// A comparison of two reports.
    Compare,
    /// Several capabilities run from one plan.
    Check,
}

/// One measured subject: a command, an endpoint, a benchmark function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Benchmark {
    /// A unique name within the report.
    pub name: String,
    /// The command line, for benchmarks of commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Parameter values this benchmark was run with (for parameter scans).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// The metric that budgets without an explicit metric refer to.
    pub primary_metric: String,
    /// The measurements.
    pub measurements: Vec<Measurement>,
    /// Exit codes of the runs, for benchmarks of commands (`null` for a run
    /// ended by a signal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit_codes: Vec<Option<i32>>,
    /// Notes about this benchmark only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}

impl Benchmark {
    /// A benchmark with no measurements yet.
    pub fn new(name: impl Into<String>, primary_metric: impl Into<String>) -> Self {
        Benchmark {
            name: name.into(),
            command: None,
            parameters: BTreeMap::new(),
            primary_metric: primary_metric.into(),
            measurements: Vec::new(),
            exit_codes: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The measurement of `metric`, if any.
    pub fn measurement(&self, metric: &str) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.metric == metric)
    }

    /// The measurement of the primary metric, if present.
    pub fn primary(&self) -> Option<&Measurement> {
        self.measurement(&self.primary_metric)
    }
}

/// A named metric with its unit, raw samples and summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measurement {
    /// The metric's name; see [`metric`] for the well-known ones.
    pub metric: String,
    /// The unit of every number in this measurement.
    pub unit: Unit,
    /// The raw samples, in order, where the capability keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<f64>,
    /// A single value, for metrics that are not sampled (an error rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Summary statistics of the samples or of the histogram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// An HdrHistogram in the V2 compressed encoding, base64, for metrics
    /// recorded in a histogram (latencies, in the histogram's own unit
    /// given by `histogram_unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub histogram: Option<crate::histogram::EncodedHistogram>,
    /// The value of one histogram count in `unit` (1e-9 for nanoseconds
    /// when `unit` is seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram_unit: Option<f64>,
    /// Which way is better for this metric, as the writer knows it; `None`
    /// when the writer did not say (reports written before this field, or
    /// a metric of unknown meaning), where [`Measurement::smaller_is_better`]
    /// falls back on the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub better: Option<Better>,
}

impl Measurement {
    /// A measurement of raw samples, summarized with `summary`.
    pub fn from_samples(metric: impl Into<String>, unit: Unit, samples: Vec<f64>) -> Self {
        let summary = Summary::of(&samples);
        Measurement {
            metric: metric.into(),
            unit,
            samples,
            value: None,
            summary,
            histogram: None,
            histogram_unit: None,
            better: None,
        }
        .known_better()
    }

    /// A single-valued measurement.
    pub fn from_value(metric: impl Into<String>, unit: Unit, value: f64) -> Self {
        Measurement {
            metric: metric.into(),
            unit,
            samples: Vec::new(),
            value: Some(value),
            summary: None,
            histogram: None,
            histogram_unit: None,
            better: None,
        }
        .known_better()
    }

    /// The same measurement, saying which way is better (for a metric
    /// whose name perfhub does not know).
    pub fn with_better(mut self, better: Better) -> Self {
        self.better = Some(better);
        self
    }

    /// The direction [`metric::better`] knows for this metric's name, if
    /// none is set yet.
    pub fn known_better(mut self) -> Self {
        if self.better.is_none() {
            self.better = metric::better(&self.metric);
        }
        self
    }

    /// Whether a smaller value is better: what the writer said, else
    /// [`metric::better`], else a guess from the name
    /// ([`compare::smaller_is_better`](crate::compare::smaller_is_better)).
    pub fn smaller_is_better(&self) -> bool {
        match self.better.or_else(|| metric::better(&self.metric)) {
            Some(b) => b == Better::Lower,
            None => crate::compare::smaller_is_better(&self.metric),
        }
    }

    /// The histogram of a time in seconds whose histogram counts
    /// nanoseconds, as
    /// [`LatencyHistogram::to_measurement`](crate::histogram::LatencyHistogram::to_measurement)
    /// writes it, decoded; an error when there is none or it counts another
    /// unit.
    pub fn latency_histogram(
        &self,
    ) -> Result<crate::histogram::LatencyHistogram, crate::histogram::HistogramError> {
        use crate::histogram::{HISTOGRAM_UNIT_SECONDS, HistogramError};
        let encoded = self
            .histogram
            .as_ref()
            .ok_or_else(|| HistogramError::NoHistogram {
                metric: self.metric.clone(),
            })?;
        let nanoseconds = self
            .histogram_unit
            .is_some_and(|u| (u / HISTOGRAM_UNIT_SECONDS - 1.0).abs() < 1e-9);
        if self.unit != Unit::Seconds || !nanoseconds {
            return Err(HistogramError::HistogramUnit {
                metric: self.metric.clone(),
                unit: self.unit,
                histogram_unit: self.histogram_unit,
            });
        }
        Ok(encoded.histogram())
    }
}

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Smaller values are better (times, memory, errors).
    Lower,
    /// Larger values are better (throughput, scores).
    Higher,
}

/// The longest time a measurement holds, in seconds: what perfhub's latency
/// histograms hold ([`MAX_NANOS`](crate::histogram::MAX_NANOS) nanoseconds,
/// about 146 years). A longer time is a damaged input, not a measurement.
pub const MAX_SECONDS: f64 = crate::histogram::MAX_NANOS as f64 * 1e-9;

/// A measurement holding a number no measurement can have, as
/// [`Report::check_values`] finds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("benchmark `{benchmark}`, metric `{metric}`: {problem}")]
pub struct InvalidMeasurement {
    /// The benchmark's name.
    pub benchmark: String,
    /// The measurement's metric.
    pub metric: String,
    /// What is wrong, with the value.
    pub problem: String,
}

impl Report {
    /// Checks every measurement with [`Measurement::check_values`], so that
    /// a damaged or doctored report is refused rather than compared or
    /// budgeted into a nonsense figure.
    pub fn check_values(&self) -> Result<(), InvalidMeasurement> {
        for b in &self.benchmarks {
            for m in &b.measurements {
                m.check_values().map_err(|problem| InvalidMeasurement {
                    benchmark: b.name.clone(),
                    metric: m.metric.clone(),
                    problem,
                })?;
            }
        }
        Ok(())
    }
}

impl Measurement {
    /// Checks that every number is one a measurement can have: finite; from
    /// 0 unless the unit is [`Unit::Number`]; a time no longer than
    /// [`MAX_SECONDS`]; a summary whose median and mean lie between its
    /// minimum and maximum, with deviations from 0, and whose confidence
    /// interval is in order. The error says which number is wrong and why.
    pub fn check_values(&self) -> Result<(), String> {
        let quantity = match self.unit {
            Unit::Seconds => "a time",
            Unit::Bytes => "a size",
            Unit::Count => "a count",
            Unit::PerSecond | Unit::BytesPerSecond => "a rate",
            Unit::Ratio => "a ratio",
            Unit::Number => "a number",
        };
        // What is wrong with `x`, if anything: "is ..." follows its name.
        let fault = |x: f64| -> Option<String> {
            if !x.is_finite() {
                Some(format!("is {}, not a finite number", shown(x)))
            } else if x < 0.0 && self.unit != Unit::Number {
                Some(format!(
                    "is {}, and {quantity} cannot be negative",
                    shown(x)
                ))
            } else if self.unit == Unit::Seconds && x > MAX_SECONDS {
                Some(format!(
                    "is {} s, longer than any measurement (at most {MAX_SECONDS:.0} s, about 146 years)",
                    shown(x)
                ))
            } else {
                None
            }
        };
        let check = |what: &str, x: f64| match fault(x) {
            Some(problem) => Err(format!("{what} {problem}")),
            None => Ok(()),
        };
        // What a measurement holds: samples (and their summary), a
        // histogram (and its summary), a summary alone (imported), or one
        // value; never a value beside the others, never none of them.
        let holds_value = self.value.is_some();
        let holds_other =
            !self.samples.is_empty() || self.summary.is_some() || self.histogram.is_some();
        if holds_value && holds_other {
            return Err(
                "it holds a single value beside samples, a summary or a histogram: one or the other".into(),
            );
        }
        if !holds_value && !holds_other {
            return Err("it holds no figure: no samples, summary, histogram or value".into());
        }
        if self.histogram_unit.is_some() && self.histogram.is_none() {
            return Err("it gives a histogram unit but no histogram".into());
        }
        if let Some(s) = &self.summary
            && !self.samples.is_empty()
            && s.n != self.samples.len()
        {
            return Err(format!(
                "its summary counts {} samples but it holds {}",
                s.n,
                self.samples.len()
            ));
        }
        // Named only when wrong: a report can hold millions of samples.
        for (i, &x) in self.samples.iter().enumerate() {
            if let Some(problem) = fault(x) {
                return Err(format!("sample {i} {problem}"));
            }
        }
        if let Some(v) = self.value {
            check("the value", v)?;
        }
        let Some(s) = &self.summary else {
            return Ok(());
        };
        for (what, x) in [
            ("the summary's minimum", s.min),
            ("the summary's maximum", s.max),
            ("the summary's mean", s.mean),
            ("the summary's median", s.median),
        ] {
            check(what, x)?;
        }
        for (name, &x) in &s.percentiles {
            if let Some(problem) = fault(x) {
                return Err(format!("the summary's {name} {problem}"));
            }
        }
        for (what, x) in [
            ("the summary's standard deviation", s.stddev),
            ("the summary's median absolute deviation", s.mad),
        ] {
            if !(x.is_finite() && x >= 0.0) {
                return Err(format!(
                    "{what} is {}, and a deviation is a number from 0",
                    shown(x)
                ));
            }
        }
        if s.min > s.max {
            return Err(format!(
                "the summary's minimum {} is above its maximum {}",
                shown(s.min),
                shown(s.max)
            ));
        }
        // The mean of equal samples can differ from them in the last digit.
        let slack = 1e-9 * s.min.abs().max(s.max.abs());
        for (what, x) in [("mean", s.mean), ("median", s.median)] {
            if x < s.min - slack || x > s.max + slack {
                return Err(format!(
                    "the summary's {what} {} is outside its minimum {} and maximum {}",
                    shown(x),
                    shown(s.min),
                    shown(s.max)
                ));
            }
        }
        if let Some(ci) = &s.mean_ci
            && !(ci.lower.is_finite() && ci.upper.is_finite() && ci.lower <= ci.upper)
        {
            return Err(format!(
                "the summary's confidence interval of the mean, {} to {}, is not an interval",
                shown(ci.lower),
                shown(ci.upper)
            ));
        }
        Ok(())
    }
}

/// `x` as written in a message: plain, or in exponent form where plain
/// would run to many digits (`1e308`, not 309 of them).
fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-7..1e16).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A comparison of one benchmark against a reference benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// The benchmark compared.
    pub benchmark: String,
    /// The reference it is compared with.
    pub reference: String,
    /// The metric compared.
    pub metric: String,
    /// `benchmark / reference` of the means.
    pub ratio: f64,
    /// The standard deviation of `ratio`, by propagation of uncertainty,
    /// where it was computed (comparisons of independent commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_stddev: Option<f64>,
    /// A confidence interval of the ratio, when one was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_ci: Option<crate::stats::ConfidenceInterval>,
    /// The p-value of "the ratio is 1", when computed: for two sample sets,
    /// the bootstrap p-value from the resamples of `ratio_ci`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The p-value adjusted for the benchmarks compared together (Holm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    /// The verdict of a change detection (`perfhub compare`, `perfhub ab`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::compare::Verdict>,
    /// The minimum relative effect the verdict required, such as 0.03.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_effect: Option<f64>,
    /// The minimum detectable effect: the smallest relative change (such as
    /// 0.018 for 1.8%) the comparison would have flagged with 90% power for
    /// the noise it measured; absent when it could flag none (single
    /// values, too few rounds) or did not compute it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mde: Option<f64>,
    /// The reference's value of the compared statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_value: Option<f64>,
    /// The benchmark's value of the compared statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_value: Option<f64>,
    /// How the change was estimated, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// How serious a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Context for the reader.
    Info,
    /// The numbers may mislead without it.
    Warning,
}

/// A remark attached to a report or benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// How serious it is.
    pub severity: Severity,
    /// A stable machine-readable code, such as `hardware_counters_unsupported`.
    pub code: String,
    /// The text for people.
    pub message: String,
}

impl Note {
    /// An informational note.
    pub fn info(code: impl Into<String>, message: impl Into<String>) -> Self {
        Note {
            severity: Severity::Info,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(code: impl Into<String>, message: impl Into<String>) -> Self {
        Note {
            severity: Severity::Warning,
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The machine and software a report was taken on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Operating system name and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Kernel version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// CPU architecture.
    pub arch: String,
    /// CPU model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Logical CPUs.
    pub logical_cpus: u32,
    /// Physical cores, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<u32>,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// `rustc --version`, where a compiler is on the PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc: Option<String>,
    /// The git commit of the working directory, where it is in a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The git branch, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// Whether the working tree had uncommitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    /// A stable short hash of the hardware and OS, for grouping history.
    pub fingerprint: String,
}

/// The JSON schema of [`Report`], as written to `docs/report-schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn applied_budgets_are_stored_and_judged() {
        let mut report = Report::now(ReportKind::Run);
        assert!(report.created.unix > 0);
        let mut b = Benchmark::new("sort", metric::WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![0.010, 0.011, 0.012],
        ));
        report.benchmarks.push(b);
        let held = crate::budget::Budget::parse("mean < 20ms").unwrap();
        let breached = crate::budget::Budget::parse("max < 11ms").unwrap();
        let verdicts = report.apply_budgets(&[held, breached]).unwrap();
        assert_eq!(verdicts.len(), 2);
        assert_eq!(report.budgets.len(), 2);
        assert!(report.budgets[0].passed);
        assert!(!report.budgets[1].passed);
        assert!(!report.budgets_pass());
        // A budget on a unit the metric does not have stores nothing.
        let wrong = crate::budget::Budget::parse("mean < 5 MB").unwrap();
        assert!(report.apply_budgets(&[wrong]).is_err());
        assert_eq!(report.budgets.len(), 2);
    }

    use super::*;

    fn sample_report() -> Report {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("sleep", metric::WALL_TIME);
        b.command = Some("sleep 0.1".into());
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![0.1, 0.11, 0.105],
        ));
        b.exit_codes = vec![Some(0), Some(0), None];
        r.benchmarks.push(b);
        r.notes.push(Note::info(
            "hardware_counters_unsupported",
            "hardware counters are not supported here",
        ));
        r
    }

    #[test]
    fn round_trips_through_json() {
        let r = sample_report();
        let back = Report::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn created_is_written_to_the_second_in_utc_and_read_in_any_rfc3339_form() {
        let r = sample_report();
        assert!(
            r.to_json()
                .contains("\"created\": \"2026-01-01T00:00:00Z\"")
        );
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for same in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T02:00:00+02:00",
            "2026-01-01t00:00:00.999z",
            " 2026-01-01 00:00:00Z\n",
        ] {
            v["created"] = same.into();
            assert_eq!(Report::from_json(&v.to_string()).unwrap(), r, "{same:?}");
        }
        for (bad, why) in [
            ("yesterday", "\"yesterday\" is not an RFC 3339 timestamp"),
            (
                "2026-02-30T00:00:00Z",
                "\"2026-02-30T00:00:00Z\" is not an RFC 3339",
            ),
            ("", "\"\" is not an RFC 3339 timestamp"),
        ] {
            v["created"] = bad.into();
            let err = Report::from_json(&v.to_string()).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        v["created"] = 1_767_225_600.into();
        let err = Report::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(
            err.contains("expected an RFC 3339 timestamp such as 2026-01-05T08:00:00Z"),
            "{err}"
        );
    }

    #[test]
    fn histograms_are_decoded_as_read_and_written_back_as_they_were() {
        use crate::histogram::{EncodedHistogram, LatencyHistogram};
        let h: LatencyHistogram = [1_u64, 7, 900, 123_456]
            .iter()
            .map(|&n| std::time::Duration::from_nanos(n))
            .collect();
        let mut r = sample_report();
        r.benchmarks[0]
            .measurements
            .push(h.to_measurement("latency"));
        let text = r.to_json();
        assert!(text.contains(&format!("\"histogram\": \"{}\"", h.to_base64())));
        let back = Report::from_json(&text).unwrap();
        assert_eq!(back.to_json(), text);
        assert_eq!(
            back.benchmarks[0].measurements[1]
                .latency_histogram()
                .unwrap(),
            h
        );

        // Text another writer encoded differently (uncompressed V2, white
        // space around it) is decoded and written back unchanged.
        let mut raw = Vec::new();
        hdrhistogram::serialization::Serializer::serialize(
            &mut hdrhistogram::serialization::V2Serializer::new(),
            h.inner(),
            &mut raw,
        )
        .unwrap();
        use base64::Engine as _;
        let other = format!(
            " {}\n",
            base64::engine::general_purpose::STANDARD.encode(&raw)
        );
        let odd = text.replace(&h.to_base64(), &other.replace('\n', "\\n"));
        let back = Report::from_json(&odd).unwrap();
        let m = &back.benchmarks[0].measurements[1];
        assert_eq!(
            m.histogram.as_ref().map(EncodedHistogram::as_base64),
            Some(other.as_str())
        );
        assert_eq!(m.latency_histogram().unwrap(), h);
        assert_eq!(back.to_json(), odd);

        for (bad, why) in [
            ("not base64!", "histogram is not valid base64"),
            (
                "AAAA",
                "invalid encoded histogram: too short for a histogram",
            ),
        ] {
            let err = Report::from_json(&text.replace(&h.to_base64(), bad))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_other_versions_and_non_reports() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_report().to_json()).unwrap();
        v["schema_version"] = 2.into();
        let err = Report::from_json(&v.to_string()).unwrap_err();
        assert!(matches!(err, ReportError::Newer(2)), "{err}");
        assert!(
            err.to_string()
                .contains("schema version 2, written by a newer perfhub"),
            "{err}"
        );
        v["schema_version"] = 0.into();
        let err = Report::from_json(&v.to_string()).unwrap_err();
        assert!(matches!(err, ReportError::Version(0)), "{err}");
        for not_a_report in ["{\"a\": 1}", "[1, 2]", "{\"schema_version\": \"1\"}", "3"] {
            let err = Report::from_json(not_a_report).unwrap_err();
            assert!(
                matches!(err, ReportError::NotAReport),
                "{not_a_report}: {err}"
            );
        }
        let err = Report::from_json("not json").unwrap_err();
        assert!(matches!(err, ReportError::Json(_)), "{err}");
        // A damaged report is refused with the place of the damage.
        let text = sample_report().to_json().replace("\"sleep\"", "7");
        let err = Report::from_json(&text).unwrap_err();
        assert!(err.to_string().contains(" at line "), "{err}");
    }

    #[test]
    fn sane_measurements_pass_the_value_check() {
        let mut r = sample_report();
        let b = &mut r.benchmarks[0];
        // The mean of equal samples is off in the last digit.
        b.measurements.push(Measurement::from_samples(
            "equal",
            Unit::Seconds,
            vec![0.1; 3],
        ));
        b.measurements
            .push(Measurement::from_value("drift", Unit::Number, -3.5));
        let h: crate::histogram::LatencyHistogram = [1_u64, 7, 7, 900, 123_456]
            .iter()
            .map(|&ms| std::time::Duration::from_millis(ms))
            .collect();
        b.measurements.push(h.to_measurement(metric::LATENCY));
        assert_eq!(r.check_values(), Ok(()));
    }

    #[test]
    fn impossible_values_are_named_with_the_benchmark_and_metric() {
        let refused = |edit: &dyn Fn(&mut Measurement)| {
            let mut r = sample_report();
            edit(&mut r.benchmarks[0].measurements[0]);
            r.check_values().unwrap_err().to_string()
        };
        type Edit<'a> = &'a dyn Fn(&mut Measurement);
        let cases: [(Edit<'_>, &str); 10] = [
            (
                &|m| m.samples[1] = -2.0,
                "benchmark `sleep`, metric `wall_time`: sample 1 is -2, and a time cannot be negative",
            ),
            (
                &|m| {
                    m.samples.clear();
                    m.summary = None;
                    m.value = Some(f64::NAN);
                },
                "the value is NaN, not a finite number",
            ),
            (&|m| m.samples[0] = 1e308, "sample 0 is 1e308 s"),
            (&|m| m.samples[0] = 1e308, "longer than any measurement"),
            (
                &|m| m.summary.as_mut().unwrap().min = 0.2,
                "the summary's minimum 0.2 is above its maximum 0.11",
            ),
            (
                &|m| m.summary.as_mut().unwrap().mean = 0.5,
                "the summary's mean 0.5 is outside its minimum 0.1 and maximum 0.11",
            ),
            (
                &|m| m.summary.as_mut().unwrap().median = 0.01,
                "the summary's median 0.01 is outside",
            ),
            (
                &|m| m.summary.as_mut().unwrap().stddev = -1.0,
                "the summary's standard deviation is -1, and a deviation is a number from 0",
            ),
            (
                &|m| {
                    m.summary
                        .as_mut()
                        .unwrap()
                        .percentiles
                        .insert("p99".into(), f64::INFINITY);
                },
                "the summary's p99 is inf",
            ),
            (
                &|m| {
                    let ci = m.summary.as_mut().unwrap().mean_ci.as_mut().unwrap();
                    ci.lower = ci.upper + 1.0;
                },
                "is not an interval",
            ),
        ];
        for (edit, expected) in cases {
            let message = refused(edit);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
        let mut r = sample_report();
        r.benchmarks[0].measurements.push(Measurement::from_value(
            metric::MAX_RSS,
            Unit::Bytes,
            -1.0,
        ));
        assert_eq!(
            r.check_values().unwrap_err(),
            InvalidMeasurement {
                benchmark: "sleep".into(),
                metric: metric::MAX_RSS.into(),
                problem: "the value is -1, and a size cannot be negative".into(),
            }
        );
    }

    #[test]
    fn reads_a_report_from_a_newer_minor_version() {
        // What a later perfhub might write: a higher minor version and
        // fields this one has never heard of, at every level.
        let mut v: serde_json::Value = serde_json::from_str(&sample_report().to_json()).unwrap();
        v["schema_minor"] = (SCHEMA_MINOR + 7).into();
        v["provenance"] = serde_json::json!({"ci": "github", "attempt": 2});
        v["tool"]["build"] = "abc123".into();
        v["benchmarks"][0]["owner"] = "team-a".into();
        v["benchmarks"][0]["measurements"][0]["better"] = "lower".into();
        v["benchmarks"][0]["measurements"][0]["summary"]["p42"] = 1.0.into();
        let read = Report::from_json(&v.to_string()).unwrap();
        assert_eq!(read.schema_minor, SCHEMA_MINOR + 7);
        let mut want = sample_report();
        want.schema_minor = SCHEMA_MINOR + 7;
        assert_eq!(read, want);
    }

    #[test]
    fn contradictory_measurements_are_refused() {
        let ok = Measurement::from_samples("t", Unit::Seconds, vec![1.0, 2.0]);
        assert!(ok.check_values().is_ok());
        let mut both = ok.clone();
        both.value = Some(1.0);
        assert!(
            both.check_values()
                .unwrap_err()
                .contains("single value beside")
        );
        let mut empty = Measurement::from_value("t", Unit::Seconds, 1.0);
        empty.value = None;
        assert!(empty.check_values().unwrap_err().contains("no figure"));
        let mut unit_alone = Measurement::from_value("t", Unit::Seconds, 1.0);
        unit_alone.histogram_unit = Some(1e-9);
        assert!(
            unit_alone
                .check_values()
                .unwrap_err()
                .contains("no histogram")
        );
        let mut miscounted = ok.clone();
        miscounted.samples.push(3.0);
        assert!(
            miscounted
                .check_values()
                .unwrap_err()
                .contains("counts 2 samples but it holds 3")
        );
    }

    #[test]
    fn a_measurement_knows_which_way_is_better() {
        let m = |name: &str| Measurement::from_samples(name, Unit::Number, vec![1.0]);
        assert_eq!(m(metric::WALL_TIME).better, Some(Better::Lower));
        assert_eq!(m(metric::THROUGHPUT).better, Some(Better::Higher));
        assert_eq!(m("cache_miss_rate").better, None);
        // Unknown to perfhub: the name decides, and a miss rate is better
        // smaller, as it is once the writer says so.
        assert!(m("cache_miss_rate").smaller_is_better());
        assert!(!m("hits").with_better(Better::Higher).smaller_is_better());
        // What the writer says wins over the name.
        assert!(
            m("widget_score")
                .with_better(Better::Lower)
                .smaller_is_better()
        );
        // It survives the JSON, and old reports without it read as None.
        let mut r = sample_report();
        r.benchmarks[0]
            .measurements
            .push(m("hits").with_better(Better::Higher));
        let back = Report::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert!(r.to_json().contains("\"better\": \"higher\""));
    }

    #[test]
    fn reads_a_report_written_before_the_minor_version() {
        let mut v: serde_json::Value = serde_json::from_str(&sample_report().to_json()).unwrap();
        v.as_object_mut().unwrap().remove("schema_minor");
        let read = Report::from_json(&v.to_string()).unwrap();
        assert_eq!(read.schema_minor, 0);
    }
}
