//! Budgets: expressions such as `p95 < 200ms`, parsed and evaluated against a report.
//!
//! # Syntax
//!
//! A budget is `<lhs> <op> <number>[<unit>]`; whitespace between the parts
//! is optional.
//!
//! - `<lhs>` is one of
//!   - a statistic alone: `mean` (or `avg`), `median` (or `med`), `min`,
//!     `max`, `stddev` (or `stdev`), `mad`, a percentile `pNN` or `pNN.N`
//!     (`p95`, `p99.9`, from `p0` to `p100`) or k6's `p(NN)`. It applies to
//!     each benchmark's primary metric
//!     ([`Benchmark::primary_metric`](crate::report::Benchmark::primary_metric));
//!   - a metric alone: any other name (letters, digits, `_` and `-`, not
//!     starting with a digit), such as `max_rss` or `error_rate`;
//!   - a statistic of a metric: `p95(latency)` or `latency.p95`.
//!
//!   Statistic names are reserved: a metric called `max` is written
//!   `max(max)`.
//! - `<op>` is `<`, `<=`, `>` or `>=`.
//! - `<unit>` is a time (`ns`, `us`, `µs`, `ms`, `s`, `m`, `min`, `h`), a size
//!   (`B`, `kB`/`KB`, `MB`, `GB`, `TB` in powers of 1000; `KiB`, `MiB`, `GiB`,
//!   `TiB` in powers of 1024), `%` (a ratio: `0.1%` is 0.001), a rate (`/s`
//!   or `rps`), a size per second (`MB/s`, `KiB/s`, ...), or nothing for a
//!   plain number. The threshold is kept as a [`Quantity`] in base units
//!   (seconds, bytes, a fraction, per second), or as a unitless number.
//!
//! # Evaluation
//!
//! [`evaluate`] gives one [`BudgetVerdict`] per budget and benchmark that has
//! the budget's metric; benchmarks without it are skipped. It is an error
//! when no benchmark has the metric (the error lists the metrics there are).
//!
//! - A statistic of a metric is read from the measurement's [`Summary`]. A
//!   percentile missing from the summary's map is computed from the raw
//!   samples (type-7 interpolation, [`stats::percentile`]), or else from the
//!   measurement's HdrHistogram. Without a summary, the statistic is
//!   computed from the samples or the histogram. A single-valued measurement
//!   is its own mean, median, minimum, maximum and percentiles. A standard
//!   deviation or MAD of one observation (a single value, one sample, a
//!   summary of one) is an error ([`BudgetError::NoSpread`]), not 0: one
//!   run says nothing of the spread.
//! - A metric alone means its `value` when the measurement is single-valued,
//!   and otherwise its worst sample: the maximum for `<` and `<=`, the
//!   minimum for `>` and `>=`. So `max_rss < 64MiB` must hold on every run.
//! - The threshold must measure what the metric measures: `mean < 64MiB` on
//!   a time is an error naming both, and `%` applies to ratios only. A
//!   threshold without a unit is a plain number, compared as it is with
//!   counts, ratios (`error_rate < 0.01` is 1%), rates and other numbers; on
//!   a time or a size it is an error asking for a unit, except that k6's
//!   `p(NN)` form takes a time without a unit as milliseconds, as k6 does
//!   (`p(95)<200` is `p95 < 200ms`).
//! - `actual` and `threshold` of the verdict are in the measurement's unit,
//!   and the comparison is exact: `mean < 120ms` fails when the mean is
//!   exactly 120 ms, `mean <= 120ms` passes. A NaN never passes.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::histogram::{HISTOGRAM_UNIT_SECONDS, HistogramError};
use crate::report::{Benchmark, Measurement, Report};
use crate::stats::{self, Summary};
use crate::units::{Dimension, Quantity, Unit};

/// A parsed budget expression.
///
/// Parse one with [`Budget::parse`] or [`str::parse`]; its [`Display`](fmt::Display)
/// is the normalized expression, which parses back to the same budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    source: String,
    metric: Option<String>,
    statistic: Option<Statistic>,
    k6: bool,
    op: Op,
    threshold: Threshold,
    written: Written,
}

/// The threshold as written, for display.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    number: f64,
    unit: String,
}

/// A statistic of a metric's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Statistic {
    /// The arithmetic mean (`mean`, `avg`).
    Mean,
    /// The median (`median`, `med`).
    Median,
    /// The smallest sample.
    Min,
    /// The largest sample.
    Max,
    /// The sample standard deviation (`stddev`, `stdev`).
    Stddev,
    /// The median absolute deviation from the median, unscaled.
    Mad,
    /// A percentile, from 0 to 100 (`p95`, `p99.9`, `p(95)`).
    Percentile(f64),
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::Mean => f.write_str("mean"),
            Statistic::Median => f.write_str("median"),
            Statistic::Min => f.write_str("min"),
            Statistic::Max => f.write_str("max"),
            Statistic::Stddev => f.write_str("stddev"),
            Statistic::Mad => f.write_str("mad"),
            Statistic::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `actual <op> threshold` holds (never for a NaN).
    pub fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => actual < threshold,
            Op::Le => actual <= threshold,
            Op::Gt => actual > threshold,
            Op::Ge => actual >= threshold,
        }
    }

    /// Whether larger values are worse (`<` and `<=`).
    fn is_upper_bound(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// The limit of a budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A number with a unit, in the unit's base scale (`120ms` is 0.12 seconds).
    Quantity(Quantity),
    /// A number written without a unit.
    Unitless(f64),
}

impl Budget {
    /// Parses a budget expression; see the [module documentation](self) for the syntax.
    pub fn parse(source: &str) -> Result<Budget, BudgetParseError> {
        Parser::new(source).budget()
    }

    /// The text the budget was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The metric named in the budget; `None` when it applies to each
    /// benchmark's primary metric.
    pub fn metric(&self) -> Option<&str> {
        self.metric.as_deref()
    }

    /// The statistic of the metric; `None` for a metric alone (its value, or
    /// its worst sample).
    pub fn statistic(&self) -> Option<Statistic> {
        self.statistic
    }

    /// Whether the percentile was written in k6's `p(NN)` form, which takes a
    /// time threshold without a unit as milliseconds.
    pub fn is_k6(&self) -> bool {
        self.k6
    }

    /// The comparison.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The limit.
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// Evaluates the budget on every benchmark of `report` that has its
    /// metric; see [`evaluate`]. The verdicts are returned, not stored:
    /// [`Report::apply_budgets`] stores them.
    #[must_use = "the verdicts are returned, not stored: use Report::apply_budgets to keep them"]
    pub fn evaluate(&self, report: &Report) -> Result<Vec<BudgetVerdict>, BudgetError> {
        let mut verdicts = Vec::new();
        for bench in &report.benchmarks {
            let metric = self.metric.as_deref().unwrap_or(&bench.primary_metric);
            let Some(m) = bench.measurement(metric) else {
                continue;
            };
            let threshold = self.threshold_in(m)?;
            let (statistic, actual) = self.actual(bench, m)?;
            verdicts.push(BudgetVerdict {
                budget: self.source.clone(),
                benchmark: bench.name.clone(),
                metric: metric.to_string(),
                statistic,
                actual,
                threshold,
                unit: m.unit,
                passed: self.op.holds(actual, threshold),
            });
        }
        if verdicts.is_empty() {
            let mut available: Vec<String> = report
                .benchmarks
                .iter()
                .flat_map(|b| b.measurements.iter().map(|m| m.metric.clone()))
                .collect();
            available.sort();
            available.dedup();
            let budget = self.source.clone();
            return Err(match &self.metric {
                Some(metric) => BudgetError::UnknownMetric {
                    budget,
                    metric: metric.clone(),
                    available,
                },
                None => BudgetError::NoPrimaryMetric { budget, available },
            });
        }
        Ok(verdicts)
    }

    /// The threshold in the base unit of `m`.
    fn threshold_in(&self, m: &Measurement) -> Result<f64, BudgetError> {
        let dimension = m.unit.dimension();
        match self.threshold {
            Threshold::Quantity(q) if q.unit.dimension() == dimension => Ok(q.value),
            Threshold::Quantity(q) => Err(BudgetError::UnitMismatch {
                budget: self.source.clone(),
                metric: m.metric.clone(),
                metric_unit: m.unit,
                threshold: self.written.to_string(),
                threshold_unit: q.unit,
            }),
            Threshold::Unitless(v) => {
                let v = match dimension {
                    Dimension::Time if self.k6 => v / 1e3,
                    Dimension::Time | Dimension::Size => {
                        return Err(BudgetError::MissingUnit {
                            budget: self.source.clone(),
                            metric: m.metric.clone(),
                            metric_unit: m.unit,
                        });
                    }
                    _ => v,
                };
                // A plain number's dimension is known only now: only a
                // number (a score, say) may be negative.
                if v < 0.0 && dimension != Dimension::Number {
                    return Err(BudgetError::BadThreshold {
                        budget: self.source.clone(),
                        reason: format!(
                            "{} is {dimension}, which is never negative, so a negative limit cannot mean anything: give a limit of 0 or more",
                            m.metric
                        ),
                    });
                }
                if v.is_subnormal() {
                    return Err(BudgetError::BadThreshold {
                        budget: self.source.clone(),
                        reason: format!(
                            "the limit on {}, taken as milliseconds, is too small to tell from 0 (it underflows a 64-bit float): write 0 if that is meant, or a larger limit",
                            m.metric
                        ),
                    });
                }
                Ok(v)
            }
        }
    }

    /// The statistic's label and the measured value.
    fn actual(&self, bench: &Benchmark, m: &Measurement) -> Result<(String, f64), BudgetError> {
        let histogram_error = |source| BudgetError::Histogram {
            budget: self.source.clone(),
            benchmark: bench.name.clone(),
            metric: m.metric.clone(),
            source,
        };
        let (statistic, value) = match self.statistic {
            Some(s @ (Statistic::Stddev | Statistic::Mad)) if single_observation(m) => {
                return Err(BudgetError::NoSpread {
                    budget: self.source.clone(),
                    benchmark: bench.name.clone(),
                    metric: m.metric.clone(),
                    statistic: s.to_string(),
                });
            }
            Some(s) => (s, statistic_of(m, s).map_err(histogram_error)?),
            None => {
                if let Some(v) = m.value {
                    return Ok(("value".to_string(), v));
                }
                let upper = self.op.is_upper_bound();
                let worst = if upper {
                    Statistic::Max
                } else {
                    Statistic::Min
                };
                let from_samples = m
                    .samples
                    .iter()
                    .copied()
                    .filter(|x| !x.is_nan())
                    .reduce(if upper { f64::max } else { f64::min });
                let value = match from_samples {
                    Some(v) => Some(v),
                    None => statistic_of(m, worst).map_err(histogram_error)?,
                };
                (worst, value)
            }
        };
        match value {
            Some(v) => Ok((statistic.to_string(), v)),
            None => Err(BudgetError::Unavailable {
                budget: self.source.clone(),
                benchmark: bench.name.clone(),
                metric: m.metric.clone(),
                statistic: statistic.to_string(),
            }),
        }
    }
}

/// Whether `m` holds one observation only (one sample, a summary of one, or
/// a single value), which has no spread to judge.
fn single_observation(m: &Measurement) -> bool {
    match (&m.summary, m.samples.len(), &m.histogram) {
        (Some(summary), _, _) => summary.n == 1,
        (None, 0, None) => m.value.is_some(),
        (None, n, _) => n == 1,
    }
}

/// A statistic of a measurement: from its summary, its samples, its
/// histogram or its single value, in that order; `None` when it has none of
/// them.
fn statistic_of(m: &Measurement, s: Statistic) -> Result<Option<f64>, HistogramError> {
    fn field(summary: &Summary, s: Statistic) -> Option<f64> {
        match s {
            Statistic::Mean => Some(summary.mean),
            Statistic::Median => Some(summary.median),
            Statistic::Min => Some(summary.min),
            Statistic::Max => Some(summary.max),
            Statistic::Stddev => summary.known_stddev(),
            Statistic::Mad => summary.known_mad(),
            Statistic::Percentile(p) => summary.percentiles.get(&format!("p{p}")).copied(),
        }
    }
    if let Some(v) = m.summary.as_ref().and_then(|summary| field(summary, s)) {
        return Ok(Some(v));
    }
    if !m.samples.is_empty() {
        let v = match s {
            Statistic::Percentile(p) => stats::percentile(&m.samples, p),
            _ => Summary::of(&m.samples).and_then(|summary| field(&summary, s)),
        };
        if v.is_some() {
            return Ok(v);
        }
    }
    if let Some(encoded) = &m.histogram {
        let scale = m
            .histogram_unit
            .filter(|u| u.is_finite() && *u > 0.0)
            .ok_or_else(|| HistogramError::HistogramUnit {
                metric: m.metric.clone(),
                unit: m.unit,
                histogram_unit: m.histogram_unit,
            })?;
        let h = encoded.histogram();
        if h.is_empty() {
            return Ok(None);
        }
        let v = match s {
            Statistic::Percentile(p) => h.value_at_quantile_nanos(p / 100.0) as f64 * scale,
            _ => h
                .percentile_summary()
                .and_then(|summary| field(&summary, s))
                .map_or(f64::NAN, |v| v / HISTOGRAM_UNIT_SECONDS * scale),
        };
        return Ok(Some(v));
    }
    Ok(m.value.map(|v| match s {
        Statistic::Stddev | Statistic::Mad => 0.0,
        _ => v,
    }))
}

/// Evaluates every budget on `report`: one verdict per budget and benchmark
/// that has the budget's metric, budgets in order and benchmarks in report
/// order. See the [module documentation](self) for the semantics. The
/// verdicts are returned, not stored: [`Report::apply_budgets`] stores them.
#[must_use = "the verdicts are returned, not stored: use Report::apply_budgets to keep them"]
pub fn evaluate(budgets: &[Budget], report: &Report) -> Result<Vec<BudgetVerdict>, BudgetError> {
    let mut verdicts = Vec::new();
    for budget in budgets {
        verdicts.extend(budget.evaluate(report)?);
    }
    Ok(verdicts)
}

impl FromStr for Budget {
    type Err = BudgetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Budget::parse(s)
    }
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, self.unit)
    }
}

impl fmt::Display for Budget {
    /// The normalized expression: `metric.stat <op> <number><unit>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stat = self.statistic.map(|s| match s {
            Statistic::Percentile(p) if self.k6 => format!("p({p})"),
            s => s.to_string(),
        });
        match (&self.metric, stat) {
            (Some(m), Some(s)) => write!(f, "{m}.{s}")?,
            (Some(m), None) => f.write_str(m)?,
            (None, Some(s)) => f.write_str(&s)?,
            (None, None) => {}
        }
        write!(f, " {} {}", self.op, self.written)
    }
}

/// Errors evaluating budgets on a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// No benchmark has the metric the budget names.
    #[error("budget \"{budget}\": no benchmark has a metric \"{metric}\" (available: {})", list(.available))]
    UnknownMetric {
        /// The budget as written.
        budget: String,
        /// The metric it names.
        metric: String,
        /// The metrics the report's benchmarks have.
        available: Vec<String>,
    },
    /// The budget applies to primary metrics, and no benchmark has a
    /// measurement of its primary metric.
    #[error(
        "budget \"{budget}\": no benchmark has a measurement of its primary metric (available: {})",
        list(.available)
    )]
    NoPrimaryMetric {
        /// The budget as written.
        budget: String,
        /// The metrics the report's benchmarks have.
        available: Vec<String>,
    },
    /// The threshold's unit measures something else than the metric.
    #[error(
        "budget \"{budget}\": {metric} is {} but {threshold} is {}",
        .metric_unit.dimension(),
        .threshold_unit.dimension()
    )]
    UnitMismatch {
        /// The budget as written.
        budget: String,
        /// The metric compared.
        metric: String,
        /// The metric's unit.
        metric_unit: Unit,
        /// The threshold as written.
        threshold: String,
        /// The threshold's unit.
        threshold_unit: Unit,
    },
    /// A threshold without a unit compared with a time or a size.
    #[error(
        "budget \"{budget}\": {metric} is {}, so the threshold needs a unit, such as {}",
        .metric_unit.dimension(),
        unit_examples(*.metric_unit)
    )]
    MissingUnit {
        /// The budget as written.
        budget: String,
        /// The metric compared.
        metric: String,
        /// The metric's unit.
        metric_unit: Unit,
    },
    /// A spread (stddev, MAD) asked of a single observation.
    #[error(
        "budget \"{budget}\": the {statistic} of {metric} of benchmark \"{benchmark}\" is not defined: it was measured once, and one observation has no spread; measure it at least twice, or budget another statistic"
    )]
    NoSpread {
        /// The budget as written.
        budget: String,
        /// The benchmark.
        benchmark: String,
        /// The metric.
        metric: String,
        /// The statistic.
        statistic: String,
    },
    /// The statistic cannot be computed from what the measurement holds.
    #[error(
        "budget \"{budget}\": the {statistic} of {metric} of benchmark \"{benchmark}\" is not available: the measurement has no summary of it, no finite samples and no histogram"
    )]
    Unavailable {
        /// The budget as written.
        budget: String,
        /// The benchmark.
        benchmark: String,
        /// The metric.
        metric: String,
        /// The statistic.
        statistic: String,
    },
    /// A plain-number limit that the metric can never be compared with: a
    /// negative limit on a quantity that is never negative, or one too
    /// small to tell from 0.
    #[error("budget \"{budget}\": {reason}")]
    BadThreshold {
        /// The budget as written.
        budget: String,
        /// What is wrong, and what to give instead.
        reason: String,
    },
    /// The measurement's histogram could not be read.
    #[error(
        "budget \"{budget}\": cannot read the histogram of {metric} of benchmark \"{benchmark}\": {source}"
    )]
    Histogram {
        /// The budget as written.
        budget: String,
        /// The benchmark.
        benchmark: String,
        /// The metric.
        metric: String,
        /// Why.
        source: HistogramError,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn unit_examples(unit: Unit) -> &'static str {
    match unit.dimension() {
        Dimension::Time => "ms or s",
        Dimension::Size => "MiB or GB",
        _ => "one of its units",
    }
}

/// What kind of mistake a [`BudgetParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BudgetParseErrorKind {
    /// The input is empty.
    Empty,
    /// A statistic or metric name was expected.
    ExpectedName,
    /// A `(` has no matching `)`.
    Unclosed,
    /// A name in the place of a statistic is not one, or a percentile is out
    /// of range.
    UnknownStatistic,
    /// The comparison operator is missing or unsupported.
    MissingOperator,
    /// The threshold's number is missing.
    MissingNumber,
    /// The threshold's number is malformed or out of range.
    BadNumber,
    /// The threshold's unit is unknown.
    UnknownUnit,
    /// Something follows the threshold.
    TrailingInput,
}

/// A budget expression that does not parse, pointing at the bad part.
///
/// Its `Display` is one line, such as `invalid budget "p95 < 200 parsecs":
/// unknown unit "parsecs" (expected ...)`; the alternate form (`{:#}`) adds
/// the [`caret_line`](Self::caret_line) below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetParseError {
    input: String,
    span: Range<usize>,
    kind: BudgetParseErrorKind,
    message: String,
}

impl BudgetParseError {
    /// The expression that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The byte range of the bad part of [`input`](Self::input); empty where
    /// something is missing.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// What kind of mistake it is.
    pub fn kind(&self) -> BudgetParseErrorKind {
        self.kind
    }

    /// What is wrong, without the input.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The input, and under it `^` marks under the bad part, as two lines:
    ///
    /// ```text
    /// p95 < 200 parsecs
    ///           ^^^^^^^
    /// ```
    pub fn caret_line(&self) -> String {
        let column = self.input[..self.span.start].chars().count();
        let width = self.input[self.span.clone()].chars().count().max(1);
        format!(
            "{}\n{}{}",
            self.input,
            " ".repeat(column),
            "^".repeat(width)
        )
    }
}

impl fmt::Display for BudgetParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid budget \"{}\": {}", self.input, self.message)?;
        if f.alternate() {
            for line in self.caret_line().lines() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for BudgetParseError {}

/// How a unit symbol scales its number to the base unit.
#[derive(Debug, Clone, Copy)]
enum Scale {
    /// Multiply (larger units). Exact for the powers of 2 and small integers used.
    Mul(f64),
    /// Divide (smaller units): `120 / 1e3` rounds once, to the double nearest 0.12.
    Div(f64),
}

impl Scale {
    fn apply(self, x: f64) -> f64 {
        match self {
            Scale::Mul(f) => x * f,
            Scale::Div(f) => x / f,
        }
    }
}

const TIME_UNITS: [(&str, Scale); 10] = [
    ("ns", Scale::Div(1e9)),
    ("us", Scale::Div(1e6)),
    ("µs", Scale::Div(1e6)),
    ("μs", Scale::Div(1e6)),
    ("ms", Scale::Div(1e3)),
    ("s", Scale::Mul(1.0)),
    ("m", Scale::Mul(60.0)),
    ("min", Scale::Mul(60.0)),
    ("h", Scale::Mul(3600.0)),
    ("sec", Scale::Mul(1.0)),
];

const SIZE_UNITS: [(&str, f64); 10] = [
    ("B", 1.0),
    ("kB", 1e3),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("KiB", 1024.0),
    ("MiB", 1048576.0),
    ("GiB", 1073741824.0),
    ("TiB", 1099511627776.0),
];

const UNIT_LIST: &str = "ns, us, ms, s, m, min, h, B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, %, /s, rps or a size per second such as MB/s";

/// The unit and scale of a unit symbol.
fn lookup_unit(symbol: &str) -> Option<(Unit, Scale)> {
    if let Some((_, scale)) = TIME_UNITS.iter().find(|(s, _)| *s == symbol) {
        return Some((Unit::Seconds, *scale));
    }
    let size = |s: &str| SIZE_UNITS.iter().find(|(u, _)| *u == s).map(|(_, f)| *f);
    if let Some(f) = size(symbol) {
        return Some((Unit::Bytes, Scale::Mul(f)));
    }
    match symbol {
        "%" => Some((Unit::Ratio, Scale::Div(100.0))),
        "/s" | "rps" => Some((Unit::PerSecond, Scale::Mul(1.0))),
        _ => symbol
            .strip_suffix("/s")
            .and_then(size)
            .map(|f| (Unit::BytesPerSecond, Scale::Mul(f))),
    }
}

/// Whether a number written as `text` (not 0) came out as 0 or as a
/// subnormal `value`, where a float keeps too few digits to compare with.
fn underflows(text: &str, value: f64) -> bool {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    (nonzero && value == 0.0) || value.is_subnormal()
}

/// A statistic name; `None` when `name` is not one (so it names a metric),
/// an error message when it looks like a percentile but is not a valid one.
fn statistic_named(name: &str) -> Option<Result<Statistic, String>> {
    let s = match name {
        "mean" | "avg" => Statistic::Mean,
        "median" | "med" => Statistic::Median,
        "min" => Statistic::Min,
        "max" => Statistic::Max,
        "stddev" | "stdev" => Statistic::Stddev,
        "mad" => Statistic::Mad,
        _ => {
            let digits = name.strip_prefix('p')?;
            if !digits.starts_with(|c: char| c.is_ascii_digit())
                || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            {
                return None;
            }
            return Some(percentile_value(digits).map_err(|()| {
                format!("unknown statistic \"{name}\": percentiles go from p0 to p100")
            }));
        }
    };
    Some(Ok(s))
}

/// A percentile from 0 to 100.
fn percentile_value(text: &str) -> Result<Statistic, ()> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(Statistic::Percentile(p)),
        _ => Err(()),
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

/// The left-hand side of a budget.
struct Lhs {
    metric: Option<String>,
    statistic: Option<Statistic>,
    k6: bool,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser { input, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Consumes characters while `f` holds; returns their span.
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> Range<usize> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !f(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
        start..self.pos
    }

    /// The span of the word at the cursor (up to whitespace), without consuming it.
    fn word_at(&self) -> Range<usize> {
        let len = self
            .rest()
            .find(char::is_whitespace)
            .unwrap_or(self.rest().len());
        self.pos..self.pos + len
    }

    fn error(
        &self,
        kind: BudgetParseErrorKind,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> BudgetParseError {
        BudgetParseError {
            input: self.input.to_string(),
            span,
            kind,
            message: message.into(),
        }
    }

    fn budget(mut self) -> Result<Budget, BudgetParseError> {
        use BudgetParseErrorKind as K;
        self.skip_ws();
        if self.rest().is_empty() {
            return Err(self.error(
                K::Empty,
                0..self.input.len(),
                "empty budget (expected an expression such as \"p95 < 200ms\")",
            ));
        }
        let lhs_start = self.pos;
        let lhs = self.lhs()?;
        let lhs_text = &self.input[lhs_start..self.pos];
        let op = self.op(lhs_text)?;
        let (number, number_span) = self.number(op)?;
        let unit_span = self.unit();
        let unit_text = &self.input[unit_span.clone()];
        let written_span = if unit_text.is_empty() {
            number_span.clone()
        } else {
            number_span.start..unit_span.end
        };
        let written = &self.input[written_span.clone()];
        let threshold = if unit_text.is_empty() {
            if number < 0.0 && matches!(lhs.statistic, Some(Statistic::Stddev | Statistic::Mad)) {
                return Err(self.error(
                    K::BadNumber,
                    number_span,
                    format!(
                        "threshold \"{written}\" is negative, and a deviation never is: give a limit of 0 or more"
                    ),
                ));
            }
            Threshold::Unitless(number)
        } else {
            let (unit, scale) = lookup_unit(unit_text).ok_or_else(|| {
                self.error(
                    K::UnknownUnit,
                    unit_span.clone(),
                    format!("unknown unit \"{unit_text}\" (expected {UNIT_LIST})"),
                )
            })?;
            let value = scale.apply(number);
            if !value.is_finite() {
                return Err(self.error(
                    K::BadNumber,
                    number_span.start..unit_span.end,
                    format!(
                        "threshold \"{}\" is out of range",
                        &self.input[number_span.start..unit_span.end]
                    ),
                ));
            }
            if number < 0.0 {
                return Err(self.error(
                    K::BadNumber,
                    written_span.clone(),
                    format!(
                        "threshold \"{written}\" is negative, and {} never is: give a limit of 0 or more",
                        unit.dimension()
                    ),
                ));
            }
            Threshold::Quantity(Quantity::new(value, unit))
        };
        let value = match threshold {
            Threshold::Quantity(q) => q.value,
            Threshold::Unitless(v) => v,
        };
        if underflows(&self.input[number_span], value) {
            return Err(self.error(
                K::BadNumber,
                written_span,
                format!(
                    "threshold \"{written}\" is too small to tell from 0 (it underflows a 64-bit float): write 0 if that is meant, or a larger limit"
                ),
            ));
        }
        self.skip_ws();
        if !self.rest().is_empty() {
            let span = self.pos..self.input.trim_end().len();
            return Err(self.error(
                K::TrailingInput,
                span.clone(),
                format!("unexpected \"{}\" after the threshold", &self.input[span]),
            ));
        }
        Ok(Budget {
            source: self.input.to_string(),
            metric: lhs.metric,
            statistic: lhs.statistic,
            k6: lhs.k6,
            op,
            threshold,
            written: Written {
                number,
                unit: unit_text.to_string(),
            },
        })
    }

    /// A name, extended by `.digits` when it is a percentile such as `p99.9`.
    fn name(&mut self) -> Option<Range<usize>> {
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        let span = self.take_while(is_name_char);
        let text = &self.input[span.clone()];
        let is_percentile = text.len() > 1
            && text.starts_with('p')
            && text[1..].bytes().all(|b| b.is_ascii_digit());
        let mut after = self.rest().chars();
        if is_percentile
            && after.next() == Some('.')
            && after.next().is_some_and(|c| c.is_ascii_digit())
        {
            self.pos += 1;
            let digits = self.take_while(|c| c.is_ascii_digit());
            return Some(span.start..digits.end);
        }
        Some(span)
    }

    fn lhs(&mut self) -> Result<Lhs, BudgetParseError> {
        use BudgetParseErrorKind as K;
        let Some(first) = self.name() else {
            return Err(self.error(
                K::ExpectedName,
                self.word_at(),
                "expected a statistic or a metric name, such as p95, mean or max_rss",
            ));
        };
        let first_text = &self.input[first.clone()];
        match self.peek() {
            Some('(') if first_text == "p" => {
                let statistic = self.k6_percentile()?;
                let metric = if self.peek() == Some('(') {
                    Some(self.parenthesized_metric()?)
                } else {
                    None
                };
                Ok(Lhs {
                    metric,
                    statistic: Some(statistic),
                    k6: true,
                })
            }
            Some('(') => {
                let statistic = self.statistic(first)?;
                let metric = self.parenthesized_metric()?;
                Ok(Lhs {
                    metric: Some(metric),
                    statistic: Some(statistic),
                    k6: false,
                })
            }
            Some('.') if self.rest()[1..].starts_with(is_name_start) => {
                self.pos += 1;
                let stat = self.name().expect("a name starts here");
                let stat_text = &self.input[stat.clone()];
                let (statistic, k6) = if stat_text == "p" && self.peek() == Some('(') {
                    (self.k6_percentile()?, true)
                } else {
                    (self.statistic(stat)?, false)
                };
                Ok(Lhs {
                    metric: Some(first_text.to_string()),
                    statistic: Some(statistic),
                    k6,
                })
            }
            _ => match statistic_named(first_text) {
                None => Ok(Lhs {
                    metric: Some(first_text.to_string()),
                    statistic: None,
                    k6: false,
                }),
                Some(Ok(statistic)) => Ok(Lhs {
                    metric: None,
                    statistic: Some(statistic),
                    k6: false,
                }),
                Some(Err(message)) => Err(self.error(K::UnknownStatistic, first, message)),
            },
        }
    }

    /// The statistic named by the text at `span`.
    fn statistic(&self, span: Range<usize>) -> Result<Statistic, BudgetParseError> {
        let text = &self.input[span.clone()];
        match statistic_named(text) {
            Some(Ok(s)) => Ok(s),
            Some(Err(message)) => Err(self.error(BudgetParseErrorKind::UnknownStatistic, span, message)),
            None => Err(self.error(
                BudgetParseErrorKind::UnknownStatistic,
                span,
                format!(
                    "unknown statistic \"{text}\" (expected mean, avg, median, med, min, max, stddev, mad, pNN or p(NN))"
                ),
            )),
        }
    }

    /// `(NN)` after k6's `p`.
    fn k6_percentile(&mut self) -> Result<Statistic, BudgetParseError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let inner = self.take_while(|c| c != ')' && !c.is_whitespace());
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error(
                BudgetParseErrorKind::Unclosed,
                open..open + 1,
                "\"p(\" is not closed with \")\"",
            ));
        }
        self.pos += 1;
        let text = &self.input[inner.clone()];
        percentile_value(text).map_err(|()| {
            self.error(
                BudgetParseErrorKind::UnknownStatistic,
                inner,
                format!("invalid percentile \"{text}\" in p(...): expected a number from 0 to 100"),
            )
        })
    }

    /// `(metric)`.
    fn parenthesized_metric(&mut self) -> Result<String, BudgetParseError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let Some(name) = self.name() else {
            return Err(self.error(
                BudgetParseErrorKind::ExpectedName,
                self.pos..self.pos + self.peek().map_or(0, char::len_utf8),
                "expected a metric name in parentheses",
            ));
        };
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error(
                BudgetParseErrorKind::Unclosed,
                open..open + 1,
                "\"(\" is not closed with \")\"",
            ));
        }
        self.pos += 1;
        Ok(self.input[name].to_string())
    }

    fn op(&mut self, lhs: &str) -> Result<Op, BudgetParseError> {
        self.skip_ws();
        let rest = self.rest();
        let (op, len) = if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else if rest.starts_with('<') {
            (Op::Lt, 1)
        } else if rest.starts_with('>') {
            (Op::Gt, 1)
        } else {
            let operator = self.pos
                ..self.pos
                    + rest
                        .find(|c: char| !"=!<>".contains(c))
                        .unwrap_or(rest.len());
            let message = if !operator.is_empty() {
                format!(
                    "unsupported operator \"{}\" (expected <, <=, > or >=)",
                    &self.input[operator.clone()]
                )
            } else if rest.is_empty() {
                format!("expected an operator (<, <=, > or >=) after \"{lhs}\"")
            } else {
                format!(
                    "expected an operator (<, <=, > or >=) after \"{lhs}\", found \"{}\"",
                    &self.input[self.word_at()]
                )
            };
            let span = if operator.is_empty() {
                self.word_at()
            } else {
                operator
            };
            return Err(self.error(BudgetParseErrorKind::MissingOperator, span, message));
        };
        self.pos += len;
        Ok(op)
    }

    fn number(&mut self, op: Op) -> Result<(f64, Range<usize>), BudgetParseError> {
        use BudgetParseErrorKind as K;
        self.skip_ws();
        let start = self.pos;
        if self.peek().is_some_and(|c| c == '+' || c == '-') {
            self.pos += 1;
        }
        self.take_while(|c| c.is_ascii_digit() || c == '.');
        // An exponent, when `e` is followed by digits (`1e3ms`, not `5EiB`).
        let rest = self.rest();
        if rest.starts_with(['e', 'E']) {
            let after = rest[1..].strip_prefix(['+', '-']).unwrap_or(&rest[1..]);
            if after.starts_with(|c: char| c.is_ascii_digit()) {
                self.pos += rest.len() - after.len();
                self.take_while(|c| c.is_ascii_digit());
            }
        }
        let span = start..self.pos;
        let text = &self.input[span.clone()];
        if text.is_empty() {
            let found = self.word_at();
            let message = if found.is_empty() {
                format!("expected a number after \"{op}\"")
            } else {
                format!(
                    "expected a number after \"{op}\", found \"{}\"",
                    &self.input[found.clone()]
                )
            };
            return Err(self.error(K::MissingNumber, found, message));
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok((v, span)),
            Ok(_) => Err(self.error(
                K::BadNumber,
                span,
                format!("number \"{text}\" is out of range"),
            )),
            Err(_) => Err(self.error(K::BadNumber, span, format!("invalid number \"{text}\""))),
        }
    }

    /// The unit symbol after the number (possibly empty).
    fn unit(&mut self) -> Range<usize> {
        self.skip_ws();
        self.take_while(|c| c.is_alphabetic() || c == '%' || c == '/')
    }
}

/// The outcome of one budget on one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetVerdict {
    /// The budget as written.
    pub budget: String,
    /// The benchmark it was evaluated on.
    pub benchmark: String,
    /// The metric it read.
    pub metric: String,
    /// The statistic of the metric it read (`p95`, `mean`, `value`, ...).
    pub statistic: String,
    /// The measured value, in `unit`.
    pub actual: f64,
    /// The limit, in `unit`.
    pub threshold: f64,
    /// The unit of `actual` and `threshold`.
    pub unit: Unit,
    /// Whether the budget held.
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::histogram::LatencyHistogram;
    use crate::report::ReportKind;
    use crate::stats::OutlierCounts;

    const MIB: f64 = 1024.0 * 1024.0;

    fn q(value: f64, unit: Unit) -> Threshold {
        Threshold::Quantity(Quantity::new(value, unit))
    }

    fn p(x: f64) -> Option<Statistic> {
        Some(Statistic::Percentile(x))
    }

    /// Input, normalized form, metric, statistic, operator, threshold.
    type ParseCase = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<Statistic>,
        Op,
        Threshold,
    );

    #[test]
    fn parses_every_form() {
        use Statistic::*;
        #[rustfmt::skip]
        let cases: &[ParseCase] = &[
            ("mean < 120ms", "mean < 120ms", None, Some(Mean), Op::Lt, q(0.12, Unit::Seconds)),
            ("mean<120ms", "mean < 120ms", None, Some(Mean), Op::Lt, q(0.12, Unit::Seconds)),
            ("  avg <= 1.5 s  ", "mean <= 1.5s", None, Some(Mean), Op::Le, q(1.5, Unit::Seconds)),
            ("median > 10us", "median > 10us", None, Some(Median), Op::Gt, q(1e-5, Unit::Seconds)),
            ("med>=10µs", "median >= 10µs", None, Some(Median), Op::Ge, q(1e-5, Unit::Seconds)),
            ("min >= 5ns", "min >= 5ns", None, Some(Min), Op::Ge, q(5e-9, Unit::Seconds)),
            ("max < 2m", "max < 2m", None, Some(Max), Op::Lt, q(120.0, Unit::Seconds)),
            ("stddev < 3min", "stddev < 3min", None, Some(Stddev), Op::Lt, q(180.0, Unit::Seconds)),
            ("stdev < 1e3ms", "stddev < 1000ms", None, Some(Stddev), Op::Lt, q(1.0, Unit::Seconds)),
            ("mad < 1h", "mad < 1h", None, Some(Mad), Op::Lt, q(3600.0, Unit::Seconds)),
            ("p95 < 200ms", "p95 < 200ms", None, p(95.0), Op::Lt, q(0.2, Unit::Seconds)),
            ("p99.9<1s", "p99.9 < 1s", None, p(99.9), Op::Lt, q(1.0, Unit::Seconds)),
            ("p0 > 0s", "p0 > 0s", None, p(0.0), Op::Gt, q(0.0, Unit::Seconds)),
            ("p100 < 1s", "p100 < 1s", None, p(100.0), Op::Lt, q(1.0, Unit::Seconds)),
            ("p(95)<200", "p(95) < 200", None, p(95.0), Op::Lt, Threshold::Unitless(200.0)),
            ("p( 99.9 ) < 1.5", "p(99.9) < 1.5", None, p(99.9), Op::Lt, Threshold::Unitless(1.5)),
            ("max_rss < 64MiB", "max_rss < 64MiB", Some("max_rss"), None, Op::Lt, q(64.0 * MIB, Unit::Bytes)),
            ("error_rate < 0.1%", "error_rate < 0.1%", Some("error_rate"), None, Op::Lt, q(0.001, Unit::Ratio)),
            ("error_rate<0.01", "error_rate < 0.01", Some("error_rate"), None, Op::Lt, Threshold::Unitless(0.01)),
            ("user_time < 2s", "user_time < 2s", Some("user_time"), None, Op::Lt, q(2.0, Unit::Seconds)),
            ("instructions < 1e9", "instructions < 1000000000", Some("instructions"), None, Op::Lt, Threshold::Unitless(1e9)),
            ("throughput > 1000/s", "throughput > 1000/s", Some("throughput"), None, Op::Gt, q(1000.0, Unit::PerSecond)),
            ("throughput >= 50 rps", "throughput >= 50rps", Some("throughput"), None, Op::Ge, q(50.0, Unit::PerSecond)),
            ("write_bytes < 10MB/s", "write_bytes < 10MB/s", Some("write_bytes"), None, Op::Lt, q(1e7, Unit::BytesPerSecond)),
            ("disk-io < 2KiB/s", "disk-io < 2KiB/s", Some("disk-io"), None, Op::Lt, q(2048.0, Unit::BytesPerSecond)),
            ("p95(latency) < 200ms", "latency.p95 < 200ms", Some("latency"), p(95.0), Op::Lt, q(0.2, Unit::Seconds)),
            ("mean( wall_time ) < 1s", "wall_time.mean < 1s", Some("wall_time"), Some(Mean), Op::Lt, q(1.0, Unit::Seconds)),
            ("wall_time.p95 < 1s", "wall_time.p95 < 1s", Some("wall_time"), p(95.0), Op::Lt, q(1.0, Unit::Seconds)),
            ("wall_time.p99.9<1s", "wall_time.p99.9 < 1s", Some("wall_time"), p(99.9), Op::Lt, q(1.0, Unit::Seconds)),
            ("latency.p(99) < 250", "latency.p(99) < 250", Some("latency"), p(99.0), Op::Lt, Threshold::Unitless(250.0)),
            ("p(95)(latency) < 300", "latency.p(95) < 300", Some("latency"), p(95.0), Op::Lt, Threshold::Unitless(300.0)),
            ("max(max) < 3", "max.max < 3", Some("max"), Some(Max), Op::Lt, Threshold::Unitless(3.0)),
            ("p95x < 3", "p95x < 3", Some("p95x"), None, Op::Lt, Threshold::Unitless(3.0)),
            ("score > -5", "score > -5", Some("score"), None, Op::Gt, Threshold::Unitless(-5.0)),
            ("x < 1B", "x < 1B", Some("x"), None, Op::Lt, q(1.0, Unit::Bytes)),
            ("x < 1kB", "x < 1kB", Some("x"), None, Op::Lt, q(1e3, Unit::Bytes)),
            ("x < 1KB", "x < 1KB", Some("x"), None, Op::Lt, q(1e3, Unit::Bytes)),
            ("x < 2GB", "x < 2GB", Some("x"), None, Op::Lt, q(2e9, Unit::Bytes)),
            ("x < 1TB", "x < 1TB", Some("x"), None, Op::Lt, q(1e12, Unit::Bytes)),
            ("x < 1KiB", "x < 1KiB", Some("x"), None, Op::Lt, q(1024.0, Unit::Bytes)),
            ("x < 1.5GiB", "x < 1.5GiB", Some("x"), None, Op::Lt, q(1.5 * 1024.0 * MIB, Unit::Bytes)),
            ("x < 1TiB", "x < 1TiB", Some("x"), None, Op::Lt, q(1024.0 * 1024.0 * MIB, Unit::Bytes)),
        ];
        for (input, display, metric, statistic, op, threshold) in cases {
            let b = Budget::parse(input).unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(b.source(), *input);
            assert_eq!(b.metric(), *metric, "{input}");
            assert_eq!(b.statistic(), *statistic, "{input}");
            assert_eq!(b.op(), *op, "{input}");
            assert_eq!(b.threshold(), *threshold, "{input}");
            assert_eq!(b.to_string(), *display, "{input}");
            // The normalized form parses back to the same budget.
            let again: Budget = display.parse().unwrap();
            assert_eq!(again.to_string(), *display);
            assert_eq!(
                (
                    again.metric(),
                    again.statistic(),
                    again.op(),
                    again.threshold(),
                    again.is_k6()
                ),
                (b.metric(), b.statistic(), b.op(), b.threshold(), b.is_k6()),
                "{input}"
            );
        }
        assert!(Budget::parse("p(95)<200").unwrap().is_k6());
        assert!(!Budget::parse("p95<200ms").unwrap().is_k6());
    }

    #[test]
    fn reports_every_error_with_its_span() {
        use BudgetParseErrorKind::*;
        #[rustfmt::skip]
        let cases: &[(&str, BudgetParseErrorKind, Range<usize>, &str)] = &[
            ("", Empty, 0..0, "empty budget"),
            ("   ", Empty, 0..3, "empty budget"),
            ("< 5ms", ExpectedName, 0..1, "expected a statistic or a metric name"),
            ("95 < 5ms", ExpectedName, 0..2, "expected a statistic or a metric name"),
            ("p95", MissingOperator, 3..3, "expected an operator (<, <=, > or >=) after \"p95\""),
            ("p95 200ms", MissingOperator, 4..9, "after \"p95\", found \"200ms\""),
            ("p95 == 200ms", MissingOperator, 4..6, "unsupported operator \"==\""),
            ("p95 = 200ms", MissingOperator, 4..5, "unsupported operator \"=\""),
            ("p95 <", MissingNumber, 5..5, "expected a number after \"<\""),
            ("p95 < ms", MissingNumber, 6..8, "expected a number after \"<\", found \"ms\""),
            ("p95 < 1.2.3ms", BadNumber, 6..11, "invalid number \"1.2.3\""),
            ("p95 < .", BadNumber, 6..7, "invalid number \".\""),
            ("p95 < 1e999", BadNumber, 6..11, "number \"1e999\" is out of range"),
            ("x < 1e308TiB", BadNumber, 4..12, "threshold \"1e308TiB\" is out of range"),
            ("p95 < 200 parsecs", UnknownUnit, 10..17, "unknown unit \"parsecs\" (expected ns, us, ms, s, m, min, h, B, kB"),
            ("p95 < 200mb", UnknownUnit, 9..11, "unknown unit \"mb\""),
            ("p95 < 5EiB", UnknownUnit, 7..10, "unknown unit \"EiB\""),
            ("p101 < 5ms", UnknownStatistic, 0..4, "unknown statistic \"p101\": percentiles go from p0 to p100"),
            ("latency.p200 < 5ms", UnknownStatistic, 8..12, "unknown statistic \"p200\""),
            ("p(abc) < 5", UnknownStatistic, 2..5, "invalid percentile \"abc\" in p(...)"),
            ("p(101)<5", UnknownStatistic, 2..5, "invalid percentile \"101\""),
            ("p() < 5", UnknownStatistic, 2..2, "invalid percentile \"\""),
            ("p(95 < 5", Unclosed, 1..2, "\"p(\" is not closed"),
            ("foo(latency) < 5ms", UnknownStatistic, 0..3, "unknown statistic \"foo\" (expected mean"),
            ("latency.foo < 5ms", UnknownStatistic, 8..11, "unknown statistic \"foo\""),
            ("p95(latency < 5ms", Unclosed, 3..4, "\"(\" is not closed"),
            ("p95() < 5ms", ExpectedName, 4..5, "expected a metric name in parentheses"),
            ("p95 < 200ms extra", TrailingInput, 12..17, "unexpected \"extra\" after the threshold"),
            ("p95 < 200ms)", TrailingInput, 11..12, "unexpected \")\""),
            ("p95 < 200ms 5 ", TrailingInput, 12..13, "unexpected \"5\""),
            ("mean < -5ms", BadNumber, 7..11, "threshold \"-5ms\" is negative, and a time never is: give a limit of 0 or more"),
            ("error_rate < -1%", BadNumber, 13..16, "threshold \"-1%\" is negative, and a ratio never is"),
            ("max_rss <= -2 MiB", BadNumber, 11..17, "threshold \"-2 MiB\" is negative, and a size never is"),
            ("throughput > -1e3/s", BadNumber, 13..19, "is negative, and a rate never is"),
            ("stddev < -1", BadNumber, 9..11, "threshold \"-1\" is negative, and a deviation never is"),
            ("mean < 1e-400s", BadNumber, 7..14, "threshold \"1e-400s\" is too small to tell from 0 (it underflows a 64-bit float): write 0 if that is meant, or a larger limit"),
            ("mean < 1e-300ns", BadNumber, 7..15, "threshold \"1e-300ns\" is too small to tell from 0"),
            ("x < 1e-320", BadNumber, 4..10, "threshold \"1e-320\" is too small to tell from 0"),
        ];
        for (input, kind, span, message) in cases {
            let err = Budget::parse(input).expect_err(input);
            assert_eq!(err.kind(), *kind, "{input}: {err}");
            assert_eq!(err.span(), *span, "{input}: {err}");
            assert!(err.message().contains(message), "{input}: {err}");
            assert_eq!(err.input(), *input);
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid budget \"{input}\": ")),
                "{err}"
            );
            assert!(!err.message().ends_with('.'), "{err}");
            assert!(!err.message().starts_with(char::is_uppercase), "{err}");
        }
    }

    #[test]
    fn renders_a_caret_line_under_the_bad_part() {
        let err = Budget::parse("p95 < 200 parsecs").unwrap_err();
        assert_eq!(err.caret_line(), "p95 < 200 parsecs\n          ^^^^^^^");
        assert_eq!(
            format!("{err:#}"),
            format!("{err}\n  p95 < 200 parsecs\n            ^^^^^^^")
        );
        // Columns count characters, not bytes; a missing part gets one caret.
        let err = Budget::parse("µ < ").unwrap_err();
        assert_eq!(err.kind(), BudgetParseErrorKind::ExpectedName);
        assert_eq!(err.caret_line(), "µ < \n^");
        let err = Budget::parse("med < 5µsx").unwrap_err();
        assert_eq!(err.caret_line(), "med < 5µsx\n       ^^^");
        let err = Budget::parse("p95 <").unwrap_err();
        assert_eq!(err.caret_line(), "p95 <\n     ^");
    }

    fn summary(mean: f64, min: f64, max: f64, percentiles: &[(&str, f64)]) -> Summary {
        Summary {
            n: 3,
            mean,
            stddev: 0.01,
            median: mean,
            min,
            max,
            mad: 0.005,
            percentiles: percentiles
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
            mean_ci: None,
            outliers: OutlierCounts::default(),
            spread_unknown: false,
            mad_unknown: false,
        }
    }

    fn measurement(metric: &str, unit: Unit, samples: Vec<f64>, summary: Summary) -> Measurement {
        Measurement {
            metric: metric.to_string(),
            unit,
            samples,
            value: None,
            summary: Some(summary),
            histogram: None,
            histogram_unit: None,
            better: None,
        }
    }

    /// Two command benchmarks and a load test.
    fn report() -> Report {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut fast = Benchmark::new("fast", "wall_time");
        fast.measurements.push(measurement(
            "wall_time",
            Unit::Seconds,
            vec![0.1, 0.12, 0.14, 0.11],
            summary(0.12, 0.1, 0.14, &[("p95", 0.137)]),
        ));
        fast.measurements.push(measurement(
            "max_rss",
            Unit::Bytes,
            vec![50.0 * MIB, 70.0 * MIB, 60.0 * MIB],
            summary(60.0 * MIB, 50.0 * MIB, 70.0 * MIB, &[]),
        ));
        fast.measurements.push(measurement(
            "instructions",
            Unit::Count,
            vec![2e9, 1e9],
            summary(1.5e9, 1e9, 2e9, &[]),
        ));
        r.benchmarks.push(fast);
        let mut slow = Benchmark::new("slow", "wall_time");
        slow.measurements.push(measurement(
            "wall_time",
            Unit::Seconds,
            vec![0.2, 0.3],
            summary(0.25, 0.2, 0.3, &[("p95", 0.295)]),
        ));
        r.benchmarks.push(slow);
        let mut load = Benchmark::new("GET /", "latency");
        let mut h = LatencyHistogram::new();
        for ms in 1..=1000u64 {
            h.record_nanos(ms * 100_000); // 0.1 ms to 100 ms
        }
        load.measurements.push(h.to_measurement("latency"));
        load.measurements
            .push(Measurement::from_value("error_rate", Unit::Ratio, 0.001));
        load.measurements.push(Measurement::from_value(
            "throughput",
            Unit::PerSecond,
            950.0,
        ));
        r.benchmarks.push(load);
        r
    }

    fn verdicts(budget: &str) -> Vec<BudgetVerdict> {
        Budget::parse(budget)
            .unwrap()
            .evaluate(&report())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// (benchmark, statistic, actual, threshold, passed) of each verdict.
    fn outcome(budget: &str) -> Vec<(String, String, f64, f64, bool)> {
        verdicts(budget)
            .into_iter()
            .map(|v| (v.benchmark, v.statistic, v.actual, v.threshold, v.passed))
            .collect()
    }

    fn o(
        b: &str,
        s: &str,
        actual: f64,
        threshold: f64,
        passed: bool,
    ) -> (String, String, f64, f64, bool) {
        (b.to_string(), s.to_string(), actual, threshold, passed)
    }

    #[test]
    fn evaluates_statistics_of_primary_metrics_on_every_benchmark() {
        let v = verdicts("mean < 200ms");
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0],
            BudgetVerdict {
                budget: "mean < 200ms".to_string(),
                benchmark: "fast".to_string(),
                metric: "wall_time".to_string(),
                statistic: "mean".to_string(),
                actual: 0.12,
                threshold: 0.2,
                unit: Unit::Seconds,
                passed: true,
            }
        );
        assert_eq!((v[1].benchmark.as_str(), v[1].passed), ("slow", false));
        // The load test's primary metric is its latency histogram.
        assert_eq!(
            (v[2].metric.as_str(), v[2].unit),
            ("latency", Unit::Seconds)
        );
        assert!((v[2].actual - 0.05).abs() < 1e-4, "{}", v[2].actual);
        // Percentiles come from the summary where it has them.
        assert_eq!(
            outcome("p95 <= 295ms")[..2],
            [
                o("fast", "p95", 0.137, 0.295, true),
                o("slow", "p95", 0.295, 0.295, true)
            ]
        );
    }

    #[test]
    fn boundary_equality_depends_on_the_operator() {
        let on_fast = |budget: &str| outcome(budget)[0].4;
        assert!(!on_fast("wall_time.mean < 120ms"));
        assert!(on_fast("wall_time.mean <= 120ms"));
        assert!(!on_fast("wall_time.mean > 120ms"));
        assert!(on_fast("wall_time.mean >= 120ms"));
        assert!(!on_fast("wall_time.mean >= 0.12000001s"));
        assert_eq!(
            outcome("error_rate < 0.1%"),
            [o("GET /", "value", 0.001, 0.001, false)]
        );
        assert_eq!(
            outcome("error_rate <= 0.1%"),
            [o("GET /", "value", 0.001, 0.001, true)]
        );
    }

    #[test]
    fn bare_metrics_use_the_value_or_the_worst_sample() {
        let mib = |x: f64| x * MIB;
        // Every run must stay below the limit: the largest sample counts.
        assert_eq!(
            outcome("max_rss < 64MiB"),
            [o("fast", "max", mib(70.0), mib(64.0), false)]
        );
        assert_eq!(
            outcome("max_rss < 71MiB"),
            [o("fast", "max", mib(70.0), mib(71.0), true)]
        );
        // For a lower bound the smallest does.
        assert_eq!(
            outcome("max_rss >= 55MiB"),
            [o("fast", "min", mib(50.0), mib(55.0), false)]
        );
        assert_eq!(
            outcome("instructions < 1.5e9"),
            [o("fast", "max", 2e9, 1.5e9, false)]
        );
        assert_eq!(
            outcome("throughput > 1000/s"),
            [o("GET /", "value", 950.0, 1000.0, false)]
        );
        assert_eq!(
            outcome("throughput > 900"),
            [o("GET /", "value", 950.0, 900.0, true)]
        );
        assert_eq!(
            outcome("error_rate < 0.01"),
            [o("GET /", "value", 0.001, 0.01, true)]
        );
        // Without samples, the histogram's extremes.
        let v = outcome("latency < 1s");
        assert_eq!((v[0].1.as_str(), v[0].4), ("max", true));
        assert!((v[0].2 - 0.1).abs() < 1e-3);
    }

    #[test]
    fn k6_percentiles_default_to_milliseconds() {
        let v = outcome("p(95)<200");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], o("fast", "p95", 0.137, 0.2, true));
        assert_eq!(v[1], o("slow", "p95", 0.295, 0.2, false));
        // The summary of the histogram has p95 (95 ms).
        assert_eq!((v[2].3, v[2].4), (0.2, true));
        assert!((v[2].2 - 0.095).abs() < 1e-4);
        // Only k6's form: other unitless times are errors.
        let err = Budget::parse("p95 < 200")
            .unwrap()
            .evaluate(&report())
            .unwrap_err();
        assert!(matches!(err, BudgetError::MissingUnit { .. }));
        assert_eq!(
            err.to_string(),
            "budget \"p95 < 200\": wall_time is a time, so the threshold needs a unit, such as ms or s"
        );
        let err = Budget::parse("max_rss < 64")
            .unwrap()
            .evaluate(&report())
            .unwrap_err();
        assert!(err.to_string().contains("max_rss is a size"), "{err}");
        assert!(err.to_string().ends_with("such as MiB or GB"), "{err}");
        // k6's default is for times only.
        let err = Budget::parse("max_rss.p(95) < 64")
            .unwrap()
            .evaluate(&report())
            .unwrap_err();
        assert!(matches!(err, BudgetError::MissingUnit { .. }), "{err}");
    }

    #[test]
    fn percentiles_missing_from_the_summary_are_computed() {
        // From the samples, with type-7 interpolation: the 50th percentile of
        // 0.1, 0.11, 0.12, 0.14 is 0.115.
        let v = outcome("wall_time.p50 < 1s");
        assert!((v[0].2 - 0.115).abs() < 1e-12, "{}", v[0].2);
        assert!((v[1].2 - 0.25).abs() < 1e-12, "{}", v[1].2);
        // From the histogram, beyond the summary's percentiles.
        let v = outcome("p99.99(latency) < 1s");
        assert!((v[0].2 - 0.1).abs() < 1e-3, "{}", v[0].2);
        // A single value is its own percentile.
        assert_eq!(outcome("p50(throughput) > 900")[0].2, 950.0);
    }

    #[test]
    fn a_spread_of_one_observation_is_an_error_not_zero() {
        // A single value.
        let err = Budget::parse("stddev(throughput) < 1")
            .unwrap()
            .evaluate(&report())
            .unwrap_err();
        assert!(matches!(err, BudgetError::NoSpread { .. }), "{err}");
        assert!(err.to_string().contains("measured once"), "{err}");
        // One sample, with or without its summary.
        let mut r = report();
        let m = &mut r.benchmarks[0].measurements[0];
        m.samples.truncate(1);
        m.summary = Summary::of(&m.samples);
        for budget in ["wall_time.stddev < 1s", "mad(wall_time) < 1s"] {
            let err = Budget::parse(budget).unwrap().evaluate(&r).unwrap_err();
            assert!(
                matches!(err, BudgetError::NoSpread { .. }),
                "{budget}: {err}"
            );
        }
        r.benchmarks[0].measurements[0].summary = None;
        let err = Budget::parse("wall_time.stddev < 1s")
            .unwrap()
            .evaluate(&r)
            .unwrap_err();
        assert!(matches!(err, BudgetError::NoSpread { .. }), "{err}");
        // Two are enough.
        let v = outcome("wall_time.stddev < 1s");
        assert!(v[0].2 > 0.0, "{}", v[0].2);
    }

    #[test]
    fn statistics_without_data_to_compute_them_are_errors() {
        let mut r = report();
        r.benchmarks[0].measurements[0].samples.clear();
        let err = Budget::parse("wall_time.p75 < 1s")
            .unwrap()
            .evaluate(&r)
            .unwrap_err();
        assert!(matches!(err, BudgetError::Unavailable { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("the p75 of wall_time of benchmark \"fast\""),
            "{err}"
        );
    }

    #[test]
    fn unit_mismatches_name_both_dimensions() {
        let cases = [
            (
                "mean < 64MiB",
                "budget \"mean < 64MiB\": wall_time is a time but 64MiB is a size",
            ),
            (
                "max_rss < 2s",
                "budget \"max_rss < 2s\": max_rss is a size but 2s is a time",
            ),
            (
                "instructions < 5%",
                "instructions is a count but 5% is a ratio",
            ),
            (
                "throughput > 5MB/s",
                "throughput is a rate but 5MB/s is a throughput",
            ),
        ];
        for (budget, message) in cases {
            let err = Budget::parse(budget)
                .unwrap()
                .evaluate(&report())
                .unwrap_err();
            assert!(matches!(err, BudgetError::UnitMismatch { .. }), "{err}");
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn unknown_metrics_list_the_available_ones() {
        let err = Budget::parse("p95(lat) < 1s")
            .unwrap()
            .evaluate(&report())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "budget \"p95(lat) < 1s\": no benchmark has a metric \"lat\" (available: error_rate, instructions, latency, max_rss, throughput, wall_time)"
        );
        let empty = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let err = Budget::parse("p95 < 1s")
            .unwrap()
            .evaluate(&empty)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "budget \"p95 < 1s\": no benchmark has a measurement of its primary metric (available: none)"
        );
    }

    #[test]
    fn evaluates_many_budgets_in_order() {
        let budgets: Vec<Budget> = ["mean < 200ms", "max_rss < 64MiB", "error_rate < 1%"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let v = evaluate(&budgets, &report()).unwrap();
        let got: Vec<(&str, &str, bool)> = v
            .iter()
            .map(|v| (v.budget.as_str(), v.benchmark.as_str(), v.passed))
            .collect();
        assert_eq!(
            got,
            [
                ("mean < 200ms", "fast", true),
                ("mean < 200ms", "slow", false),
                ("mean < 200ms", "GET /", true),
                ("max_rss < 64MiB", "fast", false),
                ("error_rate < 1%", "GET /", true),
            ]
        );
        // The first failing budget's error stops evaluation.
        let budgets = [budgets[0].clone(), "nope < 1".parse().unwrap()];
        assert!(matches!(
            evaluate(&budgets, &report()),
            Err(BudgetError::UnknownMetric { .. })
        ));
        assert_eq!(evaluate(&[], &report()).unwrap(), []);
    }

    #[test]
    fn zero_and_negative_numbers_are_kept_where_they_mean_something() {
        // Zero written in any way is zero, not an underflow.
        for zero in ["p0 > 0s", "x > 0.000e-999", "mean >= -0ms", "x < 0"] {
            Budget::parse(zero).unwrap_or_else(|e| panic!("{e:#}"));
        }
        // A plain number may be negative where the metric is a number.
        let mut r = report();
        r.benchmarks[0]
            .measurements
            .push(Measurement::from_value("score", Unit::Number, -2.0));
        let v = Budget::parse("score > -5").unwrap().evaluate(&r).unwrap();
        assert!(v[0].passed);
    }

    #[test]
    fn plain_number_limits_a_metric_can_never_meet_are_refused() {
        for (budget, needle) in [
            (
                "error_rate < -0.01",
                "budget \"error_rate < -0.01\": error_rate is a ratio, which is never negative, so a negative limit cannot mean anything: give a limit of 0 or more",
            ),
            (
                "instructions > -1",
                "instructions is a count, which is never negative",
            ),
            (
                "throughput >= -5",
                "throughput is a rate, which is never negative",
            ),
            (
                "p(95) < -200",
                "wall_time is a time, which is never negative",
            ),
            (
                "p(95) < 1e-306",
                "the limit on wall_time, taken as milliseconds, is too small to tell from 0",
            ),
        ] {
            let e = Budget::parse(budget)
                .unwrap()
                .evaluate(&report())
                .unwrap_err();
            assert!(
                matches!(e, BudgetError::BadThreshold { .. }),
                "{budget}: {e}"
            );
            assert!(e.to_string().contains(needle), "{budget}: {e}");
        }
    }

    #[test]
    fn nan_never_passes() {
        let mut r = report();
        r.benchmarks[2].measurements[1].value = Some(f64::NAN);
        for budget in ["error_rate < 1%", "error_rate > 1%"] {
            let v = Budget::parse(budget).unwrap().evaluate(&r).unwrap();
            assert!(!v[0].passed, "{budget}");
        }
    }
}
