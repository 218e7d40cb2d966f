//! Imports a [goose](https://github.com/tag1consulting/goose) load test
//! report, so goose scenarios get perfhub's budgets, history and adapters.
//!
//! Goose writes the report with `--report-file report.json` (goose 0.18 and
//! later; 0.17 writes HTML only). Its JSON is goose's `ReportData`:
//! `raw_request_metrics` (per request: method, name, counts, requests per
//! second), `raw_response_metrics` (percentiles 50 to 100 in milliseconds),
//! `co_request_metrics` and `co_response_metrics` (the same with coordinated
//! omission mitigation, when it ran), `status_code_metrics`, `errors`, and
//! `raw_metrics`, goose's own aggregates, holding each request's response
//! times as millisecond buckets and its status counts. Each table ends with
//! an `Aggregated` row.
//!
//! The [`Report`] has kind [`ReportKind::Load`] and one [`Benchmark`] per
//! request, named `METHOD name` (`GET /`, `POST login`), then
//! [`TOTAL`] from goose's `Aggregated` rows, each with:
//!
//! - `latency` (primary, seconds): count, mean, minimum and maximum from
//!   goose's exact totals; percentiles `p50`, `p60`, `p70`, `p80`, `p90`,
//!   `p95`, `p99` and `p100` as goose reported them (moved to the minimum or
//!   maximum where goose's bucket puts them just outside); an HdrHistogram, the
//!   standard deviation and the MAD rebuilt from goose's response-time
//!   buckets (exact to 100 ms, then rounded to 10 ms up to 500 ms, 100 ms up
//!   to 1 s, 1 s above), so other percentiles can be budgeted too;
//! - `latency_co_mitigated`, the same over goose's coordinated omission
//!   mitigated times, when goose ran with `--co-mitigation`;
//! - `requests`, `failures` (goose's failed requests: a non-2xx status or a
//!   transaction that marked it failed), `error_rate` (failures over
//!   requests), `throughput` (goose's requests per second) and
//!   `status.<code>` counts.
//!
//! Notes record the import, the run's length and users, goose's
//! coordinated omission setting, the errors goose logged, and percentiles
//! left out because they contradict the minimum and maximum (goose 0.18.1
//! can report 0 ms for the `Aggregated` row's upper percentiles).
//!
//! Goose's JSON report does not record goose's version nor when the run
//! started; the report's `created` is the import time unless given.
//!
//! Values no run can produce (a negative rate, more failures than requests,
//! a minimum above the maximum, a total time whose mean is outside them, a
//! time beyond what perfhub's histograms hold) are refused with their JSON
//! path.
//!
//! Newer goose versions wrap numbers as `{"value": 1, "delta": -2}` when
//! comparing with a baseline, write `null` for undefined averages and add
//! per-status breakdown rows (`is_breakdown`); all are read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::time::UtcTime;
use perfhub_core::units::Unit;
use serde_json::Value;

use crate::json::kind;

use perfhub_core::report::TOTAL;

/// The measurement of goose's coordinated omission mitigated latency.
pub const LATENCY_CO_MITIGATED: &str = "latency_co_mitigated";

/// Why a goose report cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GooseError {
    /// The text is not JSON.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What the JSON parser found.
        message: String,
    },
    /// A field is missing or has the wrong shape.
    #[error("{path}: {message}")]
    Field {
        /// Where, such as `raw_response_metrics[2].percentile_95`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Values that each look right but together make an impossible
    /// measurement (see [`Report::check_values`]).
    #[error("{0}; {DAMAGED}")]
    Invalid(perfhub_core::report::InvalidMeasurement),
}

/// What every error about an impossible value ends with.
const DAMAGED: &str = "the report is damaged or was edited: run the load test again";

/// The longest time goose's milliseconds can hold here: what perfhub's
/// latency histograms hold.
const MAX_MS: u64 = perfhub_core::histogram::MAX_NANOS / 1_000_000;

/// Imports goose's JSON report, dated `created`: goose does not record
/// when the run started.
pub fn import_goose_at(json: &str, created: UtcTime) -> Result<Report, GooseError> {
    let value: Value = serde_json::from_str(json).map_err(|e| GooseError::Json {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let root = Node::root(&value);
    if !value.is_object() {
        return Err(root.error(format!(
            "expected goose's report object, found {}",
            kind(&value)
        )));
    }
    if value.get("raw_request_metrics").is_none() {
        return Err(GooseError::Field {
            path: "raw_request_metrics".into(),
            message: "missing: this is not a goose JSON report (goose 0.18 and later write one with --report-file report.json)".into(),
        });
    }
    let data = GooseData::read(root)?;
    let report = build(&data, created);
    report.check_values().map_err(GooseError::Invalid)?;
    Ok(report)
}

/// serde_json's message without its " at line L column C" suffix.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Reading, with the JSON path of every value for errors.

#[derive(Clone)]
struct Node<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    fn root(value: &'a Value) -> Self {
        Node {
            value,
            path: String::new(),
        }
    }

    fn error(&self, message: impl Into<String>) -> GooseError {
        GooseError::Field {
            path: if self.path.is_empty() {
                "(the document)".into()
            } else {
                self.path.clone()
            },
            message: message.into(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        let plain = !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !key.as_bytes()[0].is_ascii_digit();
        match (plain, self.path.is_empty()) {
            (true, true) => key.to_string(),
            (true, false) => format!("{}.{key}", self.path),
            (false, _) => format!("{}[{key:?}]", self.path),
        }
    }

    fn object(&self) -> Result<&'a serde_json::Map<String, Value>, GooseError> {
        self.value
            .as_object()
            .ok_or_else(|| self.error(format!("expected an object, found {}", kind(self.value))))
    }

    /// The field `key`, which must be there (and may be null).
    fn get(&self, key: &str) -> Result<Node<'a>, GooseError> {
        let object = self.object()?;
        let path = self.child_path(key);
        let value = object.get(key).ok_or_else(|| GooseError::Field {
            path: path.clone(),
            message: "missing".into(),
        })?;
        Ok(Node { value, path })
    }

    /// The field `key`, or `None` when it is absent or null.
    fn get_opt(&self, key: &str) -> Result<Option<Node<'a>>, GooseError> {
        let object = self.object()?;
        Ok(object.get(key).filter(|v| !v.is_null()).map(|value| Node {
            value,
            path: self.child_path(key),
        }))
    }

    fn items(&self) -> Result<Vec<Node<'a>>, GooseError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error(format!("expected an array, found {}", kind(self.value))))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                value,
                path: format!("{}[{i}]", self.path),
            })
            .collect())
    }

    fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>, GooseError> {
        Ok(self
            .object()?
            .iter()
            .map(|(k, value)| {
                (
                    k.as_str(),
                    Node {
                        value,
                        path: self.child_path(k),
                    },
                )
            })
            .collect())
    }

    fn str(&self) -> Result<&'a str, GooseError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("expected a string, found {}", kind(self.value))))
    }

    /// Newer goose writes `{"value": v, "delta": d}` after a baseline
    /// comparison; the value is what was measured.
    fn unwrap_delta(&self) -> Node<'a> {
        match self.value.as_object().and_then(|o| o.get("value")) {
            Some(value) => Node {
                value,
                path: format!("{}.value", self.path),
            },
            None => self.clone(),
        }
    }

    fn count(&self) -> Result<u64, GooseError> {
        let n = self.unwrap_delta();
        n.value.as_u64().ok_or_else(|| {
            n.error(format!(
                "expected a count (a whole number from 0), found {}",
                describe(n.value)
            ))
        })
    }

    /// A number, or `None` for goose's `null` (an average of nothing).
    fn float(&self) -> Result<Option<f64>, GooseError> {
        let n = self.unwrap_delta();
        match n.value {
            Value::Null => Ok(None),
            Value::Number(x) => Ok(x.as_f64().filter(|x| x.is_finite())),
            other => Err(n.error(format!("expected a number, found {}", describe(other)))),
        }
    }

    /// A number from 0, such as `what` (a rate, a percentage), or `None`
    /// for `null`.
    fn non_negative(&self, what: &str) -> Result<Option<f64>, GooseError> {
        let x = self.float()?;
        if let Some(x) = x
            && x < 0.0
        {
            return Err(self
                .unwrap_delta()
                .error(format!("{x} is negative, and {what} cannot be; {DAMAGED}")));
        }
        Ok(x)
    }

    /// A time in milliseconds, no longer than [`MAX_MS`].
    fn ms(&self) -> Result<u64, GooseError> {
        let ms = self.count()?;
        check_ms(self, ms)?;
        Ok(ms)
    }
}

/// Refuses `ms` milliseconds, read from `node`, when they are longer than
/// any measurement perfhub holds.
fn check_ms(node: &Node<'_>, ms: u64) -> Result<(), GooseError> {
    if ms > MAX_MS {
        return Err(node.unwrap_delta().error(format!(
            "{ms} ms is longer than any measurement (at most {MAX_MS} ms, about 146 years); {DAMAGED}"
        )));
    }
    Ok(())
}

/// A value for error messages: its kind, and the value when short.
fn describe(v: &Value) -> String {
    match v {
        Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        other => kind(other).to_string(),
    }
}

/// One of goose's response-time distributions, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq)]
struct Timing {
    /// Rounded milliseconds to how many responses took that long.
    times: BTreeMap<u64, u64>,
    /// The shortest non-zero time (goose does not count 0 ms as a minimum).
    minimum: u64,
    maximum: u64,
    total: u64,
    counter: u64,
}

impl Timing {
    fn read(node: &Node<'_>) -> Result<Timing, GooseError> {
        let times_node = node.get("times")?;
        let mut times = BTreeMap::new();
        for (key, value) in times_node.entries()? {
            let ms: u64 = key.parse().map_err(|_| {
                value.error(format!(
                    "expected a number of milliseconds as the key, found {key:?}"
                ))
            })?;
            check_ms(&value, ms)?;
            let n = value.count()?;
            if n > 0 {
                let slot = times.entry(ms).or_insert(0u64);
                *slot = slot.saturating_add(n);
            }
        }
        let minimum_node = node.get("minimum_time")?;
        let total_node = node.get("total_time")?;
        let timing = Timing {
            times,
            minimum: minimum_node.ms()?,
            maximum: node.get("maximum_time")?.ms()?,
            total: total_node.count()?,
            counter: node.get("counter")?.count()?,
        };
        if timing.minimum > timing.maximum {
            return Err(minimum_node.unwrap_delta().error(format!(
                "{} ms is above maximum_time {} ms; {DAMAGED}",
                timing.minimum, timing.maximum
            )));
        }
        if timing.counter > 0 {
            // goose's total of the exact times: their mean lies between the
            // shortest and the longest.
            let mean = timing.total as f64 / timing.counter as f64;
            let (min, max) = (timing.min_ms() as f64, timing.maximum as f64);
            if mean < min * (1.0 - 1e-9) || mean > max * (1.0 + 1e-9) {
                return Err(total_node.unwrap_delta().error(format!(
                    "{} ms over {} responses is a mean of {mean} ms, outside minimum_time {min} ms and maximum_time {max} ms; {DAMAGED}",
                    timing.total, timing.counter
                )));
            }
        }
        Ok(timing)
    }

    /// Goose's aggregation of several distributions.
    fn merge(&mut self, other: &Timing) {
        for (ms, n) in &other.times {
            let slot = self.times.entry(*ms).or_insert(0u64);
            *slot = slot.saturating_add(*n);
        }
        self.minimum = match (self.minimum, other.minimum) {
            (0, m) | (m, 0) => m,
            (a, b) => a.min(b),
        };
        self.maximum = self.maximum.max(other.maximum);
        self.total = self.total.saturating_add(other.total);
        self.counter = self.counter.saturating_add(other.counter);
    }

    /// The shortest time: 0 when goose bucketed responses under 1 ms, which
    /// its `minimum_time` leaves out.
    fn min_ms(&self) -> u64 {
        if self.times.get(&0).is_some_and(|&n| n > 0) {
            0
        } else {
            self.minimum
        }
    }
}

/// Goose's percentile columns and perfhub's names for them.
const PERCENTILES: [(&str, &str); 8] = [
    ("percentile_50", "p50"),
    ("percentile_60", "p60"),
    ("percentile_70", "p70"),
    ("percentile_80", "p80"),
    ("percentile_90", "p90"),
    ("percentile_95", "p95"),
    ("percentile_99", "p99"),
    ("percentile_100", "p100"),
];

/// The percentiles of one row of `raw_response_metrics` or
/// `co_response_metrics`, in milliseconds.
/// The percentiles goose computed for the row `key` of `rows`, none when it
/// has no such row.
fn percentiles_at(
    rows: &BTreeMap<(String, String), Node<'_>>,
    key: &(String, String),
) -> Result<Vec<(&'static str, u64)>, GooseError> {
    rows.get(key).map_or(Ok(Vec::new()), read_percentiles)
}

/// A row's `requests_per_second`, where it has one.
fn per_second(row: &Node<'_>) -> Result<Option<f64>, GooseError> {
    Ok(match row.get_opt("requests_per_second")? {
        Some(v) => v.non_negative("a rate")?,
        None => None,
    })
}

/// A row's `number_of_requests` and `number_of_failures`: a request fails
/// at most once.
fn requests_and_failures(row: &Node<'_>) -> Result<(u64, u64), GooseError> {
    let requests = row.get("number_of_requests")?.count()?;
    let failures_node = row.get("number_of_failures")?;
    let failures = failures_node.count()?;
    if failures > requests {
        return Err(failures_node.unwrap_delta().error(format!(
            "{failures} failures of {requests} requests, and a request fails at most once; {DAMAGED}"
        )));
    }
    Ok((requests, failures))
}

fn read_percentiles(row: &Node<'_>) -> Result<Vec<(&'static str, u64)>, GooseError> {
    let mut out = Vec::new();
    for (field, name) in PERCENTILES {
        if let Some(v) = row.get_opt(field)? {
            out.push((name, v.ms()?));
        }
    }
    Ok(out)
}

/// One request of the report (or the `Aggregated` row).
#[derive(Debug)]
struct RequestData {
    method: String,
    name: String,
    requests: u64,
    failures: u64,
    per_second: Option<f64>,
    timing: Timing,
    percentiles: Vec<(&'static str, u64)>,
    co_timing: Option<Timing>,
    co_percentiles: Vec<(&'static str, u64)>,
    statuses: BTreeMap<u16, u64>,
}

struct GooseData {
    requests: Vec<RequestData>,
    total: RequestData,
    duration: Option<u64>,
    maximum_users: Option<u64>,
    total_users: Option<u64>,
    errors: Vec<(String, u64)>,
    co_events: Option<(u64, u64, Option<f64>)>,
}

/// The `(method, name)` of a row.
fn row_key(row: &Node<'_>) -> Result<(String, String), GooseError> {
    Ok((
        row.get("method")?.str()?.to_string(),
        row.get("name")?.str()?.to_string(),
    ))
}

fn is_aggregated(method: &str, name: &str) -> bool {
    method.is_empty() && name == "Aggregated"
}

/// The rows of an optional table by `(method, name)`; the first wins.
fn rows_by_key<'a>(
    table: Option<Node<'a>>,
) -> Result<BTreeMap<(String, String), Node<'a>>, GooseError> {
    let mut out = BTreeMap::new();
    if let Some(table) = table {
        for row in table.items()? {
            let key = row_key(&row)?;
            out.entry(key).or_insert(row);
        }
    }
    Ok(out)
}

/// Parses `status_codes` as goose writes it: `"1,300 [200], 144 [404]"`.
fn parse_status_codes(node: &Node<'_>) -> Result<BTreeMap<u16, u64>, GooseError> {
    let text = node.str()?;
    let mut out = BTreeMap::new();
    for part in text.split(']') {
        let part = part.trim().trim_start_matches(',').trim();
        if part.is_empty() {
            continue;
        }
        let parsed = part.split_once('[').and_then(|(count, code)| {
            let count: u64 = count.trim().replace(',', "").parse().ok()?;
            let code: u16 = code.trim().parse().ok()?;
            Some((code, count))
        });
        let (code, count) = parsed.ok_or_else(|| {
            node.error(format!(
                "expected counts and codes such as \"1,300 [200], 144 [404]\", found {text:?}"
            ))
        })?;
        let slot = out.entry(code).or_insert(0u64);
        *slot = slot.saturating_add(count);
    }
    Ok(out)
}

impl GooseData {
    fn read(root: Node<'_>) -> Result<GooseData, GooseError> {
        let raw_metrics = root.get("raw_metrics")?;
        let raw_requests = raw_metrics.get("requests")?;
        let responses = rows_by_key(Some(root.get("raw_response_metrics")?))?;
        let co_responses = rows_by_key(root.get_opt("co_response_metrics")?)?;
        let status_rows = rows_by_key(root.get_opt("status_code_metrics")?)?;

        let mut requests: Vec<RequestData> = Vec::new();
        let mut aggregated: Option<Node<'_>> = None;
        for row in root.get("raw_request_metrics")?.items()? {
            if let Some(b) = row.get_opt("is_breakdown")?
                && b.value.as_bool() == Some(true)
            {
                continue;
            }
            let (method, name) = row_key(&row)?;
            if is_aggregated(&method, &name) {
                aggregated = Some(row);
                continue;
            }
            if requests
                .iter()
                .any(|r| r.method == method && r.name == name)
            {
                return Err(row.error(format!("a second row for {method} {name}")));
            }
            let key = format!("{method} {name}");
            let raw = raw_requests.get(&key).map_err(|_| GooseError::Field {
                path: raw_requests.child_path(&key),
                message: format!(
                    "missing: raw_request_metrics has {key} but goose's response times for it are not here"
                ),
            })?;
            let timing = Timing::read(&raw.get("raw_data")?)?;
            let co_timing = match raw.get_opt("coordinated_omission_data")? {
                Some(co) => Some(Timing::read(&co)?),
                None => None,
            };
            let rk = (method.clone(), name.clone());
            let statuses = match raw.get_opt("status_code_counts")? {
                Some(counts) => {
                    let mut out = BTreeMap::new();
                    for (code, n) in counts.entries()? {
                        let code: u16 = code.parse().map_err(|_| {
                            n.error(format!(
                                "expected an HTTP status as the key, found {code:?}"
                            ))
                        })?;
                        out.insert(code, n.count()?);
                    }
                    out
                }
                None => match status_rows.get(&rk) {
                    Some(row) => parse_status_codes(&row.get("status_codes")?)?,
                    None => BTreeMap::new(),
                },
            };
            let (number, failures) = requests_and_failures(&row)?;
            requests.push(RequestData {
                requests: number,
                failures,
                per_second: per_second(&row)?,
                timing,
                percentiles: percentiles_at(&responses, &rk)?,
                co_timing,
                co_percentiles: percentiles_at(&co_responses, &rk)?,
                statuses,
                method,
                name,
            });
        }

        let total = Self::total(&requests, aggregated, &responses, &co_responses)?;
        let number = |key: &str| -> Result<Option<u64>, GooseError> {
            raw_metrics.get_opt(key)?.map(|n| n.count()).transpose()
        };
        let mut errors = Vec::new();
        if let Some(list) = root.get_opt("errors")? {
            for e in list.items()? {
                errors.push((
                    e.get("error")?.str()?.to_string(),
                    e.get("occurrences")?.count()?,
                ));
            }
        }
        errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let co_events = match root.get_opt("coordinated_omission_metrics")? {
            Some(co) => {
                let pct = match co.get_opt("synthetic_percentage")? {
                    Some(p) => {
                        let pct = p.non_negative("a percentage")?;
                        if let Some(x) = pct.filter(|&x| x > 100.0) {
                            return Err(p.unwrap_delta().error(format!(
                                "{x} is above 100, and a percentage of all requests cannot be; {DAMAGED}"
                            )));
                        }
                        pct
                    }
                    None => None,
                };
                Some((
                    co.get("total_co_events")?.count()?,
                    co.get("synthetic_requests")?.count()?,
                    pct,
                ))
            }
            None => None,
        };
        Ok(GooseData {
            requests,
            total,
            duration: number("duration")?,
            maximum_users: number("maximum_users")?,
            total_users: number("total_users")?,
            errors,
            co_events,
        })
    }

    /// The `Aggregated` rows, with goose's aggregation of the distributions.
    fn total(
        requests: &[RequestData],
        aggregated: Option<Node<'_>>,
        responses: &BTreeMap<(String, String), Node<'_>>,
        co_responses: &BTreeMap<(String, String), Node<'_>>,
    ) -> Result<RequestData, GooseError> {
        let row = aggregated.ok_or_else(|| GooseError::Field {
            path: "raw_request_metrics".into(),
            message: "no \"Aggregated\" row (goose ends the table with one)".into(),
        })?;
        let key = (String::new(), "Aggregated".to_string());
        let mut timing = Timing::default();
        let mut co_timing: Option<Timing> = None;
        let mut statuses = BTreeMap::new();
        for r in requests {
            timing.merge(&r.timing);
            for (code, n) in &r.statuses {
                let slot = statuses.entry(*code).or_insert(0u64);
                *slot = slot.saturating_add(*n);
            }
        }
        if requests.iter().any(|r| r.co_timing.is_some()) {
            let mut co = Timing::default();
            for r in requests {
                co.merge(r.co_timing.as_ref().unwrap_or(&r.timing));
            }
            co_timing = Some(co);
        }
        let (number, failures) = requests_and_failures(&row)?;
        Ok(RequestData {
            method: String::new(),
            name: TOTAL.to_string(),
            requests: number,
            failures,
            per_second: per_second(&row)?,
            timing,
            percentiles: percentiles_at(responses, &key)?,
            co_timing,
            co_percentiles: percentiles_at(co_responses, &key)?,
            statuses,
        })
    }
}

// ---------------------------------------------------------------------------
// Building the report.

const MS: f64 = 1e-3;

/// Half the width of goose's bucket around a rounded time, in milliseconds.
fn half_bucket(ms: u64) -> u64 {
    match ms {
        0..=100 => 0,
        101..=500 => 5,
        501..=1000 => 50,
        _ => 500,
    }
}

/// The latency measurement of one distribution, and the percentiles left
/// out because they contradict its minimum or maximum.
fn latency(
    metric_name: &str,
    timing: &Timing,
    percentiles: &[(&'static str, u64)],
) -> Option<(Measurement, Vec<(&'static str, u64)>)> {
    if timing.counter == 0 || timing.times.is_empty() {
        return None;
    }
    let mut histogram = LatencyHistogram::new();
    for (ms, n) in &timing.times {
        histogram.record_n(ms.saturating_mul(1_000_000), *n);
    }
    let mut m = histogram.to_measurement(metric_name);
    let summary = m.summary.as_mut()?;
    let (min, max) = (timing.min_ms(), timing.maximum.max(timing.min_ms()));
    summary.n = usize::try_from(timing.counter).unwrap_or(usize::MAX);
    summary.mean = timing.total as f64 / timing.counter as f64 * MS;
    summary.min = min as f64 * MS;
    summary.max = max as f64 * MS;
    summary.percentiles.clear();
    let mut dropped = Vec::new();
    for &(name, ms) in percentiles {
        let half = half_bucket(ms);
        if ms.saturating_add(half) < min || ms.saturating_sub(half) > max {
            dropped.push((name, ms));
            continue;
        }
        // Within half a bucket of the range: the true value is in it.
        let value = ms.clamp(min, max) as f64 * MS;
        summary.percentiles.insert(name.to_string(), value);
        if name == "p50" {
            summary.median = value;
        }
    }
    // Without goose's p50, the median is the histogram's, to a bucket.
    summary.median = summary.median.clamp(summary.min, summary.max);
    Some((m, dropped))
}

fn benchmark(r: &RequestData, is_total: bool) -> Benchmark {
    let name = if is_total {
        TOTAL.to_string()
    } else {
        format!("{} {}", r.method, r.name)
    };
    let mut b = Benchmark::new(&name, metric::LATENCY);
    if let Some((m, dropped)) = latency(metric::LATENCY, &r.timing, &r.percentiles) {
        b.measurements.push(m);
        dropped_note(&mut b, "", &dropped, &r.timing);
    } else {
        b.primary_metric = metric::REQUESTS.into();
    }
    if let Some(co) = &r.co_timing
        && let Some((m, dropped)) = latency(LATENCY_CO_MITIGATED, co, &r.co_percentiles)
    {
        b.measurements.push(m);
        dropped_note(&mut b, " (coordinated omission mitigated)", &dropped, co);
    }
    let count = |metric: &str, n: u64| Measurement::from_value(metric, Unit::Count, n as f64);
    b.measurements.push(count(metric::REQUESTS, r.requests));
    b.measurements.push(count("failures", r.failures));
    if r.requests > 0 {
        b.measurements.push(Measurement::from_value(
            metric::ERROR_RATE,
            Unit::Ratio,
            r.failures as f64 / r.requests as f64,
        ));
    }
    if let Some(rps) = r.per_second {
        b.measurements.push(Measurement::from_value(
            metric::THROUGHPUT,
            Unit::PerSecond,
            rps,
        ));
    }
    for (code, n) in &r.statuses {
        b.measurements.push(count(&format!("status.{code}"), *n));
    }
    b
}

fn dropped_note(b: &mut Benchmark, what: &str, dropped: &[(&str, u64)], timing: &Timing) {
    if dropped.is_empty() {
        return;
    }
    let list = dropped
        .iter()
        .map(|(name, ms)| format!("{name} = {ms} ms"))
        .collect::<Vec<_>>()
        .join(", ");
    b.notes.push(Note::warning(
        "goose_inconsistent_percentiles",
        format!(
            "goose reported {list}{what}, outside its own minimum ({} ms) and maximum ({} ms); they are left out, and budgets on them read the histogram of goose's response-time buckets instead",
            timing.min_ms(),
            timing.maximum
        ),
    ));
}

fn build(data: &GooseData, created: UtcTime) -> Report {
    let mut report = Report::new(ReportKind::Load, created);
    for r in &data.requests {
        report.benchmarks.push(benchmark(r, false));
    }
    report.benchmarks.push(benchmark(&data.total, true));

    let mut imported = String::from(
        "imported from a goose JSON report (goose 0.18 or later; the report does not record goose's version)",
    );
    if let Some(seconds) = data.duration {
        let _ = write!(imported, "; goose ran {seconds} s");
        match (data.maximum_users, data.total_users) {
            (Some(max), Some(total)) if max != total => {
                let _ = write!(imported, " with up to {max} users ({total} in all)");
            }
            (Some(max), _) => {
                let _ = write!(imported, " with up to {max} users");
            }
            _ => {}
        }
    }
    report
        .notes
        .push(Note::info("imported_from_goose", imported));
    report.notes.push(Note::info(
        "goose_resolution",
        "goose measures whole milliseconds and keeps response times in buckets (exact to 100 ms, then rounded to 10 ms up to 500 ms, 100 ms up to 1 s, 1 s above); its percentiles come from those buckets, and so do the latency histograms, standard deviations and MADs here; counts, means, minimums and maximums are exact",
    ));

    let co_ran = data.requests.iter().any(|r| r.co_timing.is_some());
    if co_ran {
        let mut message = String::from(
            "goose ran with coordinated omission mitigation (--co-mitigation): `latency` holds the response times goose measured, and `latency_co_mitigated` adds the requests goose back-filled where a user's cadence stalled",
        );
        if let Some((events, synthetic, pct)) = data.co_events {
            let _ = write!(message, " ({events} events, {synthetic} synthetic requests");
            if let Some(p) = pct {
                let _ = write!(message, ", {p:.1}% of all");
            }
            message.push(')');
        }
        let timed: u64 = data.requests.iter().map(|r| r.timing.counter).sum();
        let extra = data.total.requests.saturating_sub(timed);
        if extra > 0 {
            let _ = write!(
                message,
                "; goose counts back-filled requests in `requests`, `failures`, `status.*` and `throughput` ({extra} more requests than responses it timed)"
            );
        }
        message.push_str(
            "; budgets without a metric read `latency`: write p95(latency_co_mitigated) < 200ms for the mitigated figures",
        );
        report
            .notes
            .push(Note::info("goose_coordinated_omission", message));
    } else {
        report.notes.push(Note::warning(
            "goose_coordinated_omission",
            "goose ran without coordinated omission mitigation (its default): each goose user waits for a response before sending its next request, so while the server stalls the requests that would have been sent are never measured, and these latencies can understate what users see; goose back-fills them when run with --co-mitigation average (or minimum, maximum)",
        ));
    }

    if !data.errors.is_empty() {
        let shown: Vec<String> = data
            .errors
            .iter()
            .take(5)
            .map(|(e, n)| format!("{e} ({n}×)"))
            .collect();
        let more = data.errors.len().saturating_sub(shown.len());
        let mut message = format!("goose logged errors: {}", shown.join("; "));
        if more > 0 {
            let _ = write!(message, "; and {more} more");
        }
        report.notes.push(Note::warning("goose_errors", message));
    }
    report
}

#[cfg(test)]
mod tests {
    use perfhub_core::budget::{Budget, evaluate};
    use perfhub_core::report::Severity;

    use super::*;

    const FIXTURE: &str = include_str!("../../../fixtures/goose/report.json");

    fn import(json: &str) -> Result<Report, GooseError> {
        import_goose_at(json, "2026-11-25T22:36:30Z".parse().unwrap())
    }

    fn value(b: &Benchmark, metric: &str) -> f64 {
        b.measurement(metric)
            .and_then(|m| m.value)
            .unwrap_or_else(|| panic!("{} has no value of {metric}", b.name))
    }

    fn summary(b: &Benchmark, metric: &str) -> perfhub_core::stats::Summary {
        b.measurement(metric)
            .and_then(|m| m.summary.clone())
            .unwrap_or_else(|| panic!("{} has no summary of {metric}", b.name))
    }

    fn pct(b: &Benchmark, metric: &str, p: &str) -> Option<f64> {
        b.measurement(metric)?
            .summary
            .as_ref()?
            .percentiles
            .get(p)
            .copied()
    }

    fn field_error(json: &str) -> (String, String) {
        match import(json).unwrap_err() {
            GooseError::Field { path, message } => (path, message),
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn the_fixture_imports_with_goose_counts_and_percentiles() {
        let r = import(FIXTURE).unwrap();
        assert_eq!(r.kind, ReportKind::Load);
        assert_eq!(r.created.to_string(), "2026-11-25T22:36:30Z");
        let names: Vec<&str> = r.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["GET about", "GET home", "POST login", "total"]);

        let home = r.benchmark("GET home").unwrap();
        assert_eq!(home.primary_metric, metric::LATENCY);
        assert_eq!(value(home, "requests"), 1711.0);
        assert_eq!(value(home, "failures"), 0.0);
        assert_eq!(value(home, metric::ERROR_RATE), 0.0);
        assert!((value(home, metric::THROUGHPUT) - 85.55).abs() < 1e-9);
        assert_eq!(value(home, "status.200"), 1711.0);
        let lat = home.measurement(metric::LATENCY).unwrap();
        assert_eq!(lat.unit, Unit::Seconds);
        let s = lat.summary.as_ref().unwrap();
        // goose timed 1506 responses; its 1711 requests include the ones
        // its coordinated omission mitigation back-filled.
        assert_eq!(s.n, 1506);
        assert!((s.mean - 0.033_169_987).abs() < 1e-6, "{}", s.mean);
        assert_eq!((s.min, s.max), (0.004, 1.242));
        assert_eq!(s.median, 0.015);
        let expected = [
            ("p50", 0.015),
            ("p60", 0.019),
            ("p70", 0.023),
            ("p80", 0.030),
            ("p90", 0.042),
            ("p95", 0.054),
            ("p99", 1.0),
            ("p100", 1.0),
        ];
        for (p, v) in expected {
            assert_eq!(pct(home, metric::LATENCY, p), Some(v), "{p}");
        }
        assert!(s.stddev > 0.0 && s.mad > 0.0);
        let hist = LatencyHistogram::from_measurement(lat).unwrap();
        assert_eq!(hist.len(), 1506);
        let co = home.measurement(LATENCY_CO_MITIGATED).unwrap();
        let co_summary = co.summary.as_ref().unwrap();
        assert_eq!((co_summary.n, co_summary.max), (1711, 1.721));

        let login = r.benchmark("POST login").unwrap();
        assert_eq!(value(login, "requests"), 279.0);
        assert_eq!(value(login, "failures"), 32.0);
        assert!((value(login, metric::ERROR_RATE) - 32.0 / 279.0).abs() < 1e-12);
        assert_eq!(value(login, "status.503"), 32.0);
        assert_eq!(value(login, "status.200"), 247.0);
        assert_eq!(pct(login, metric::LATENCY, "p95"), Some(0.44));
        assert_eq!(pct(login, LATENCY_CO_MITIGATED, "p95"), Some(0.8));

        let total = r.benchmark(TOTAL).unwrap();
        assert_eq!(value(total, "requests"), 2840.0);
        assert_eq!(value(total, "failures"), 32.0);
        assert_eq!(value(total, "status.200"), 2808.0);
        assert!((value(total, metric::THROUGHPUT) - 142.0).abs() < 1e-9);
        let total_lat = total.measurement(metric::LATENCY).unwrap();
        assert_eq!(total_lat.summary.as_ref().unwrap().n, 1506 + 755 + 255);
        assert_eq!(pct(total, metric::LATENCY, "p80"), Some(0.15));
        // goose 0.18.1 wrote 0 ms for the Aggregated p90 to p100: left out,
        // with a warning, rather than kept as a latency of 0.
        assert_eq!(pct(total, metric::LATENCY, "p90"), None);
        let warning = &total.notes[0];
        assert_eq!(warning.code, "goose_inconsistent_percentiles");
        assert!(
            warning.message.contains("p90 = 0 ms"),
            "{}",
            warning.message
        );
        assert_eq!(pct(total, LATENCY_CO_MITIGATED, "p90"), Some(0.37));

        let codes: Vec<&str> = r.notes.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "imported_from_goose",
                "goose_resolution",
                "goose_coordinated_omission",
                "goose_errors"
            ]
        );
        assert!(
            r.notes[0]
                .message
                .contains("goose ran 20 s with up to 8 users")
        );
        assert!(
            r.notes[2]
                .message
                .contains("153 events, 179 synthetic requests, 6.4% of all")
        );
        assert!(
            r.notes[2]
                .message
                .contains("324 more requests than responses it timed")
        );
        assert!(
            r.notes[3]
                .message
                .contains("503 Service Unavailable: login (36×)")
        );

        // The report is valid perfhub JSON, and budgets read it.
        assert_eq!(Report::from_json(&r.to_json()).unwrap(), r);
        let budgets: Vec<Budget> = ["p95 < 100ms", "error_rate < 5%", "p99.9(latency) < 2s"]
            .iter()
            .map(|b| Budget::parse(b).unwrap())
            .collect();
        let verdicts = evaluate(&budgets, &r).unwrap();
        let verdict = |budget: &str, bench: &str| {
            verdicts
                .iter()
                .find(|v| v.budget == budget && v.benchmark == bench)
                .unwrap()
        };
        assert!(verdict("p95 < 100ms", "GET home").passed);
        assert!(!verdict("p95 < 100ms", "POST login").passed);
        assert!(!verdict("error_rate < 5%", "POST login").passed);
        assert!(verdict("error_rate < 5%", TOTAL).passed);
        // p90 of the total is not in the summary: read from the histogram.
        let p90 = Budget::parse("p90 < 1s").unwrap().evaluate(&r).unwrap();
        let total_p90 = p90.iter().find(|v| v.benchmark == TOTAL).unwrap();
        assert!(
            total_p90.actual > 0.1 && total_p90.actual < 0.5,
            "{}",
            total_p90.actual
        );
        assert!(verdict("p99.9(latency) < 2s", "GET home").passed);
    }

    /// A small report in the shape of newer goose versions: numbers wrapped
    /// after a baseline comparison, per-status breakdown rows, null averages
    /// and no coordinated omission mitigation.
    const NEWER: &str = r#"{
      "raw_metrics": {
        "hash": 0, "duration": 10, "maximum_users": 2, "total_users": 2,
        "requests": {
          "GET /": {
            "path": "/", "method": "Get",
            "raw_data": {"times": {"0": 2, "5": 6, "120": 2}, "minimum_time": 5,
                         "maximum_time": 123, "total_time": 276, "counter": 10},
            "coordinated_omission_data": null,
            "status_code_counts": {"200": 9, "500": 1},
            "success_count": 9, "fail_count": 1, "load_test_hash": 0, "custom_method": ""
          }
        },
        "transactions": [], "errors": {}
      },
      "raw_request_metrics": [
        {"method": "GET", "name": "/", "number_of_requests": {"value": 10, "delta": 2},
         "number_of_failures": 1, "response_time_average": 27.6,
         "response_time_minimum": 5, "response_time_maximum": 123,
         "requests_per_second": {"value": 1.0, "delta": 0.2}, "failures_per_second": 0.1,
         "is_breakdown": false},
        {"method": "200 (90.0%)", "name": "", "number_of_requests": 9, "number_of_failures": 0,
         "response_time_average": 17.0, "response_time_minimum": 5, "response_time_maximum": 120,
         "requests_per_second": 0.0, "failures_per_second": 0.0, "is_breakdown": true},
        {"method": "", "name": "Aggregated", "number_of_requests": 10, "number_of_failures": 1,
         "response_time_average": null, "response_time_minimum": 5, "response_time_maximum": 123,
         "requests_per_second": 1.0, "failures_per_second": 0.1, "is_breakdown": false}
      ],
      "raw_response_metrics": [
        {"method": "GET", "name": "/", "percentile_50": 5, "percentile_60": 5, "percentile_70": 5,
         "percentile_80": 5, "percentile_90": {"value": 120, "delta": 10}, "percentile_95": 120,
         "percentile_99": 120, "percentile_100": 120},
        {"method": "└─ 200 (90.0%)", "name": "/", "percentile_50": 5, "percentile_60": 5,
         "percentile_70": 5, "percentile_80": 5, "percentile_90": 5, "percentile_95": 120,
         "percentile_99": 120, "percentile_100": 120},
        {"method": "", "name": "Aggregated", "percentile_50": 5, "percentile_60": 5, "percentile_70": 5,
         "percentile_80": 5, "percentile_90": 120, "percentile_95": 120, "percentile_99": 120,
         "percentile_100": 120}
      ],
      "co_request_metrics": null,
      "co_response_metrics": null,
      "status_code_metrics": [
        {"method": "GET", "name": "/", "status_codes": "1 [500], 9 [200]"},
        {"method": "", "name": "Aggregated", "status_codes": "1 [500], 9 [200]"}
      ],
      "errors": null,
      "coordinated_omission_metrics": null
    }"#;

    #[test]
    fn newer_goose_shapes_are_read() {
        let r = import(NEWER).unwrap();
        let names: Vec<&str> = r.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["GET /", "total"]);
        let get = &r.benchmarks[0];
        assert_eq!(value(get, "requests"), 10.0);
        assert_eq!(value(get, metric::THROUGHPUT), 1.0);
        assert_eq!(
            (value(get, "status.200"), value(get, "status.500")),
            (9.0, 1.0)
        );
        assert_eq!(pct(get, metric::LATENCY, "p90"), Some(0.12));
        let s = summary(get, metric::LATENCY);
        // Two responses under 1 ms: the minimum is 0, not goose's 5 ms.
        assert_eq!((s.min, s.max, s.n), (0.0, 0.123, 10));
        assert!(get.measurement(LATENCY_CO_MITIGATED).is_none());
        let co = r
            .notes
            .iter()
            .find(|n| n.code == "goose_coordinated_omission")
            .unwrap();
        assert_eq!(co.severity, Severity::Warning);
        assert!(
            co.message
                .contains("without coordinated omission mitigation")
        );
        assert!(!r.notes.iter().any(|n| n.code == "goose_errors"));
    }

    #[test]
    fn status_codes_fall_back_to_goose_text() {
        let mut v: Value = serde_json::from_str(NEWER).unwrap();
        v["raw_metrics"]["requests"]["GET /"]
            .as_object_mut()
            .unwrap()
            .remove("status_code_counts");
        v["status_code_metrics"][0]["status_codes"] = "1,204 [200], 3 [404]".into();
        let r = import(&v.to_string()).unwrap();
        assert_eq!(value(&r.benchmarks[0], "status.200"), 1204.0);
        assert_eq!(value(&r.benchmarks[0], "status.404"), 3.0);

        v["status_code_metrics"][0]["status_codes"] = "lots [200]".into();
        let (path, message) = field_error(&v.to_string());
        assert_eq!(path, "status_code_metrics[0].status_codes");
        assert!(message.contains("\"lots [200]\""), "{message}");
    }

    #[test]
    fn malformed_reports_name_the_json_path() {
        match import("{\"raw_request_metrics\": [}").unwrap_err() {
            GooseError::Json { line, column, .. } => assert_eq!((line, column), (1, 26)),
            other => panic!("{other}"),
        }
        let (path, message) = field_error("[1, 2]");
        assert_eq!(path, "(the document)");
        assert!(message.contains("found an array"), "{message}");
        let (path, message) = field_error("{\"schema_version\": 1}");
        assert_eq!(path, "raw_request_metrics");
        assert!(message.contains("not a goose JSON report"), "{message}");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_response_metrics"][2]["percentile_95"] = "fast".into();
        let (path, message) = field_error(&v.to_string());
        assert_eq!(path, "raw_response_metrics[2].percentile_95");
        assert!(message.contains("the string \"fast\""), "{message}");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_request_metrics"][1]["number_of_requests"] = (-4).into();
        let (path, _) = field_error(&v.to_string());
        assert_eq!(path, "raw_request_metrics[1].number_of_requests");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_request_metrics"][0]
            .as_object_mut()
            .unwrap()
            .remove("name");
        let (path, message) = field_error(&v.to_string());
        assert_eq!(
            (path.as_str(), message.as_str()),
            ("raw_request_metrics[0].name", "missing")
        );

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_metrics"]["requests"]
            .as_object_mut()
            .unwrap()
            .remove("GET home");
        let (path, message) = field_error(&v.to_string());
        assert_eq!(path, "raw_metrics.requests[\"GET home\"]");
        assert!(message.contains("missing"), "{message}");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_metrics"]["requests"]["POST login"]["raw_data"]["times"]["1ms"] = 1.into();
        let (path, message) = field_error(&v.to_string());
        assert_eq!(
            path,
            "raw_metrics.requests[\"POST login\"].raw_data.times[\"1ms\"]"
        );
        assert!(message.contains("milliseconds"), "{message}");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_request_metrics"].as_array_mut().unwrap().pop();
        let (path, message) = field_error(&v.to_string());
        assert_eq!(path, "raw_request_metrics");
        assert!(message.contains("Aggregated"), "{message}");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["errors"][0]["occurrences"] = 1.5.into();
        let (path, _) = field_error(&v.to_string());
        assert_eq!(path, "errors[0].occurrences");

        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["raw_request_metrics"] = serde_json::json!({"a": 1});
        let (path, message) = field_error(&v.to_string());
        assert_eq!(path, "raw_request_metrics");
        assert!(
            message.contains("expected an array, found an object"),
            "{message}"
        );
    }

    #[test]
    fn impossible_values_are_refused_with_the_json_path_and_value() {
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit, &str, &str); 11] = [
            (
                FIXTURE,
                |v| v["raw_request_metrics"][0]["requests_per_second"] = (-42.5).into(),
                "raw_request_metrics[0].requests_per_second",
                "-42.5 is negative, and a rate cannot be; the report is damaged or was edited: run the load test again",
            ),
            (
                NEWER,
                |v| {
                    v["raw_request_metrics"][0]["requests_per_second"] =
                        serde_json::json!({"value": -1.0, "delta": 0.2});
                },
                "raw_request_metrics[0].requests_per_second.value",
                "-1 is negative, and a rate cannot be",
            ),
            (
                FIXTURE,
                |v| v["coordinated_omission_metrics"]["synthetic_percentage"] = (-6.4).into(),
                "coordinated_omission_metrics.synthetic_percentage",
                "-6.4 is negative, and a percentage cannot be",
            ),
            (
                FIXTURE,
                |v| v["coordinated_omission_metrics"]["synthetic_percentage"] = 640.0.into(),
                "coordinated_omission_metrics.synthetic_percentage",
                "640 is above 100, and a percentage of all requests cannot be",
            ),
            (
                FIXTURE,
                |v| v["raw_request_metrics"][0]["number_of_failures"] = 851.into(),
                "raw_request_metrics[0].number_of_failures",
                "851 failures of 850 requests, and a request fails at most once",
            ),
            (
                NEWER,
                |v| v["raw_request_metrics"][2]["number_of_failures"] = 11.into(),
                "raw_request_metrics[2].number_of_failures",
                "11 failures of 10 requests",
            ),
            (
                NEWER,
                |v| {
                    v["raw_metrics"]["requests"]["GET /"]["raw_data"]["times"]["18446744073709551"] =
                        1.into();
                },
                "raw_metrics.requests[\"GET /\"].raw_data.times[\"18446744073709551\"]",
                "18446744073709551 ms is longer than any measurement (at most 4611686018427 ms, about 146 years)",
            ),
            (
                NEWER,
                |v| {
                    v["raw_metrics"]["requests"]["GET /"]["raw_data"]["maximum_time"] =
                        u64::MAX.into();
                },
                "raw_metrics.requests[\"GET /\"].raw_data.maximum_time",
                "18446744073709551615 ms is longer than any measurement",
            ),
            (
                NEWER,
                |v| v["raw_metrics"]["requests"]["GET /"]["raw_data"]["minimum_time"] = 500.into(),
                "raw_metrics.requests[\"GET /\"].raw_data.minimum_time",
                "500 ms is above maximum_time 123 ms",
            ),
            (
                NEWER,
                |v| v["raw_metrics"]["requests"]["GET /"]["raw_data"]["total_time"] = 99_000.into(),
                "raw_metrics.requests[\"GET /\"].raw_data.total_time",
                "99000 ms over 10 responses is a mean of 9900 ms, outside minimum_time 0 ms and maximum_time 123 ms",
            ),
            (
                FIXTURE,
                |v| v["raw_response_metrics"][1]["percentile_95"] = 10_000_000_000_000_u64.into(),
                "raw_response_metrics[1].percentile_95",
                "10000000000000 ms is longer than any measurement",
            ),
        ];
        for (json, edit, expected_path, expected) in cases {
            let mut v: Value = serde_json::from_str(json).unwrap();
            edit(&mut v);
            let (path, message) = field_error(&v.to_string());
            assert_eq!(path, expected_path);
            assert!(
                message.contains(expected),
                "{expected:?} not in {message:?}"
            );
        }
    }

    #[test]
    fn percentiles_within_half_a_bucket_of_the_range_are_kept_inside_it() {
        // Every response took 123 or 124 ms, in goose's 120 ms bucket: its
        // percentiles say 120 ms, below the exact minimum.
        let mut v: Value = serde_json::from_str(NEWER).unwrap();
        v["raw_metrics"]["requests"]["GET /"]["raw_data"] = serde_json::json!({
            "times": {"120": 10}, "minimum_time": 123, "maximum_time": 124,
            "total_time": 1235, "counter": 10
        });
        for p in [50, 60, 70, 80, 90, 95, 99, 100] {
            v["raw_response_metrics"][0][format!("percentile_{p}")] = 120.into();
        }
        let r = import(&v.to_string()).unwrap();
        let get = &r.benchmarks[0];
        let s = summary(get, metric::LATENCY);
        assert_eq!((s.min, s.median, s.max), (0.123, 0.123, 0.124));
        assert_eq!(pct(get, metric::LATENCY, "p99"), Some(0.123));
        // The total has no goose p50 in range: the histogram's median is
        // kept inside too.
        let total = r.benchmark(TOTAL).unwrap();
        let s = summary(total, metric::LATENCY);
        assert_eq!((s.min, s.median, s.max), (0.123, 0.123, 0.124));
        assert_eq!(r.check_values(), Ok(()));
    }

    #[test]
    fn a_request_without_responses_has_no_latency() {
        let mut v: Value = serde_json::from_str(NEWER).unwrap();
        v["raw_metrics"]["requests"]["GET /"]["raw_data"] = serde_json::json!({
            "times": {}, "minimum_time": 0, "maximum_time": 0, "total_time": 0, "counter": 0
        });
        let r = import(&v.to_string()).unwrap();
        let get = &r.benchmarks[0];
        assert!(get.measurement(metric::LATENCY).is_none());
        assert_eq!(get.primary_metric, "requests");
        assert_eq!(Report::from_json(&r.to_json()).unwrap(), r);
    }
}
