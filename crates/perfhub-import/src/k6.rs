//! Imports k6's end-of-test summary, so k6 runs get perfhub's budgets,
//! history and adapters beside perfhub's own load tests.
//!
//! k6 writes it in two shapes, both read:
//!
//! - the `data` its `handleSummary(data)` receives (`JSON.stringify(data)`,
//!   k6 0.30 and later): `metrics.NAME` is `{type, contains, values,
//!   thresholds: {EXPR: {ok}}}`, `state.testRunDurationMs`, and the
//!   `root_group`'s groups and checks as arrays;
//! - the legacy `--summary-export FILE`: `metrics.NAME` holds the values
//!   themselves (`avg`, `med`, `p(95)`, `count`, `rate`, `passes`, ...) and
//!   `thresholds: {EXPR: FAILED}`, groups and checks as maps.
//!
//! The [`Report`] has kind [`ReportKind::Load`] and a [`TOTAL`] benchmark
//! whose `latency` is k6's `http_req_duration` (milliseconds read as
//! seconds): count, mean (`avg`), median (`med`), minimum, maximum and the
//! percentiles k6 gives (`p(90)` as `p90`, ...). k6's summary has no
//! standard deviation nor MAD, and no histogram: the summary says so
//! (`spread_unknown`), so budgets on `stddev` or `mad` are refused, and a
//! percentile k6 did not give (its `summaryTrendStats`) cannot be budgeted.
//! `requests` and `throughput` come from `http_reqs`, `errors` and
//! `error_rate` from `http_req_failed` (whose passes are failed requests),
//! `check_failures` from `checks`. Every sub-metric of `http_req_duration`
//! (`http_req_duration{name:login}`) is a benchmark named by its tags
//! (`name:login`; a group's, `group:::checkout`, as `group:checkout`),
//! and every other metric is a measurement of `total`
//! named `k6.NAME`: trends as summaries (seconds when k6 says they hold
//! time), counters as counts (`k6.NAME.rate` per second beside), rates as
//! ratios, gauges as their last value.
//!
//! Notes record the import, k6's thresholds with their verdicts, and every
//! check that failed. Values no run can produce (negative, a minimum above
//! the maximum, more failures than requests) are refused with their JSON
//! path.

use std::collections::BTreeMap;

use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::stats::{OutlierCounts, Summary};
use perfhub_core::time::UtcTime;
use perfhub_core::units::Unit;
use serde_json::Value;

use perfhub_core::report::TOTAL;

/// Why a k6 summary cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum K6Error {
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
    /// A field is missing, has the wrong shape or an impossible value.
    #[error("{path}: {message}")]
    Field {
        /// Where, such as `metrics.http_req_duration.values.avg`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Values that each look right but together make an impossible
    /// measurement (see [`Report::check_values`]).
    #[error("{0}; the summary is damaged or was edited")]
    Invalid(perfhub_core::report::InvalidMeasurement),
}

fn field(path: &str, message: impl Into<String>) -> K6Error {
    K6Error::Field {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Imports k6's summary (either shape), dated `created`: the summary does
/// not record when the run started.
pub fn import_k6(json: &str, created: UtcTime) -> Result<Report, K6Error> {
    let value: Value = serde_json::from_str(json).map_err(|e| K6Error::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Some(root) = value.as_object() else {
        return Err(field("$", "expected k6's summary object"));
    };
    let Some(metrics) = root.get("metrics").and_then(Value::as_object) else {
        return Err(field(
            "metrics",
            "missing: this is not a k6 summary (k6 writes one with --summary-export FILE, or JSON.stringify(data) in handleSummary)",
        ));
    };
    // The handleSummary shape has `values` under each metric.
    let modern = metrics.values().any(|m| m.get("values").is_some());
    let mut read = BTreeMap::new();
    for (name, m) in metrics {
        read.insert(name.as_str(), Metric::read(name, m, modern)?);
    }
    let mut report = Report::new(ReportKind::Load, created);
    let mut total = Benchmark::new(TOTAL, metric::LATENCY);
    let duration = read.get("http_req_duration");
    match duration {
        Some(Metric::Trend { stats, .. }) => {
            let n = read
                .get("http_reqs")
                .and_then(|m| m.count())
                .map(|c| c as usize);
            total
                .measurements
                .push(trend(metric::LATENCY, stats, true, n, "http_req_duration")?);
        }
        _ => total.primary_metric = metric::REQUESTS.into(),
    }
    if let Some(Metric::Counter { count, rate }) = read.get("http_reqs") {
        total.measurements.push(Measurement::from_value(
            metric::REQUESTS,
            Unit::Count,
            *count,
        ));
        total.measurements.push(Measurement::from_value(
            metric::THROUGHPUT,
            Unit::PerSecond,
            *rate,
        ));
    }
    if let Some(Metric::Rate {
        rate,
        passes,
        fails,
    }) = read.get("http_req_failed")
    {
        // A pass of http_req_failed is a failed request.
        total
            .measurements
            .push(Measurement::from_value("errors", Unit::Count, *passes));
        total.measurements.push(Measurement::from_value(
            metric::ERROR_RATE,
            Unit::Ratio,
            *rate,
        ));
        if let Some(requests) = read.get("http_reqs").and_then(Metric::count)
            && passes + fails > requests + 0.5
        {
            return Err(field(
                "metrics.http_req_failed",
                format!(
                    "{} requests passed or failed, more than the {requests} http_reqs counted: the summary is damaged or was edited",
                    passes + fails
                ),
            ));
        }
    }
    if let Some(Metric::Rate { fails, .. }) = read.get("checks") {
        total.measurements.push(Measurement::from_value(
            metric::CHECK_FAILURES,
            Unit::Count,
            *fails,
        ));
    }
    for (name, m) in &read {
        let (base, tags) = split_tags(name);
        if base == "http_req_duration"
            && let Some(tags) = tags
        {
            if let Metric::Trend { stats, .. } = m {
                // k6's group tag is the group's path, `::checkout`: named
                // `group:checkout` as perfhub's own groups are.
                let tags = match tags.strip_prefix("group:::") {
                    Some(group) => format!("group:{group}"),
                    None => tags.to_string(),
                };
                let mut b = Benchmark::new(&tags, metric::LATENCY);
                b.measurements
                    .push(trend(metric::LATENCY, stats, true, None, name)?);
                report.benchmarks.push(b);
            }
            continue;
        }
        if matches!(*name, "http_req_duration" | "http_reqs" | "http_req_failed") {
            continue;
        }
        let key = format!("k6.{name}");
        match m {
            Metric::Trend { stats, time } => {
                total
                    .measurements
                    .push(trend(&key, stats, *time, None, name)?);
            }
            Metric::Counter { count, rate } => {
                total
                    .measurements
                    .push(Measurement::from_value(&key, Unit::Count, *count));
                total.measurements.push(Measurement::from_value(
                    format!("{key}.rate"),
                    Unit::PerSecond,
                    *rate,
                ));
            }
            Metric::Rate { rate, .. } => {
                total
                    .measurements
                    .push(Measurement::from_value(&key, Unit::Ratio, *rate));
            }
            Metric::Gauge { value } => {
                total
                    .measurements
                    .push(Measurement::from_value(&key, Unit::Number, *value));
            }
        }
    }
    let shape = if modern {
        "the data of handleSummary"
    } else {
        "--summary-export"
    };
    let seconds = root
        .get("state")
        .and_then(|s| s.get("testRunDurationMs"))
        .and_then(Value::as_f64)
        .map(|ms| format!(", a run of {:.1} s", ms / 1000.0))
        .unwrap_or_default();
    report.notes.push(Note::info(
        "imported_k6",
        format!(
            "imported from k6's end-of-test summary ({shape}{seconds}); k6 gives no standard deviation, MAD or histogram, so latency has only the statistics k6 summarized"
        ),
    ));
    for (name, m) in metrics {
        if let Some(thresholds) = m.get("thresholds").and_then(Value::as_object) {
            for (expr, verdict) in thresholds {
                let passed = match verdict {
                    // --summary-export: true when the threshold failed.
                    Value::Bool(failed) => !failed,
                    Value::Object(o) => o.get("ok").and_then(Value::as_bool).unwrap_or(false),
                    _ => {
                        return Err(field(
                            &format!("metrics.{name}.thresholds.{expr}"),
                            "expected a boolean or {\"ok\": ...}",
                        ));
                    }
                };
                let message = format!(
                    "k6 threshold on {name} `{expr}`: {}",
                    if passed { "passed" } else { "failed" }
                );
                report.notes.push(if passed {
                    Note::info("k6_threshold", message)
                } else {
                    Note::warning("k6_threshold", message)
                });
            }
        }
    }
    if let Some(group) = root.get("root_group") {
        failed_checks(group, &mut report.notes);
    }
    report.benchmarks.push(total);
    report.check_values().map_err(K6Error::Invalid)?;
    Ok(report)
}

/// One of k6's metrics, by type.
enum Metric {
    Trend {
        stats: BTreeMap<String, f64>,
        /// It holds time, in milliseconds.
        time: bool,
    },
    Counter {
        count: f64,
        rate: f64,
    },
    Rate {
        rate: f64,
        passes: f64,
        fails: f64,
    },
    Gauge {
        value: f64,
    },
}

impl Metric {
    fn read(name: &str, m: &Value, modern: bool) -> Result<Metric, K6Error> {
        let path = format!("metrics.{name}");
        let Some(object) = m.as_object() else {
            return Err(field(&path, "expected an object"));
        };
        let (values, values_path, kind, time) = if modern {
            let values = object
                .get("values")
                .and_then(Value::as_object)
                .ok_or_else(|| field(&format!("{path}.values"), "missing or not an object"))?;
            let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
            let time = object.get("contains").and_then(Value::as_str) == Some("time");
            (values, format!("{path}.values"), kind.to_string(), time)
        } else {
            let kind = if object.contains_key("avg") || object.contains_key("med") {
                "trend"
            } else if object.contains_key("passes") {
                "rate"
            } else if object.contains_key("count") {
                "counter"
            } else {
                "gauge"
            };
            // The legacy export does not say what a trend holds: k6's
            // own time trends are known by name.
            let base = split_tags(name).0;
            let time = base.starts_with("http_req_") && base != "http_req_failed"
                || matches!(base, "iteration_duration" | "group_duration");
            (object, path.clone(), kind.to_string(), time)
        };
        let number = |key: &str| -> Result<Option<f64>, K6Error> {
            match values.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => {
                    let v = n.as_f64().unwrap_or(f64::NAN);
                    if !v.is_finite() {
                        return Err(field(
                            &format!("{values_path}.{key}"),
                            "not a finite number",
                        ));
                    }
                    Ok(Some(v))
                }
                Some(_) => Err(field(&format!("{values_path}.{key}"), "expected a number")),
            }
        };
        let needed = |key: &str| -> Result<f64, K6Error> {
            number(key)?.ok_or_else(|| field(&format!("{values_path}.{key}"), "missing"))
        };
        let non_negative = |key: &str, v: f64| -> Result<f64, K6Error> {
            if v < 0.0 {
                return Err(field(
                    &format!("{values_path}.{key}"),
                    format!("{v} is negative: the summary is damaged or was edited"),
                ));
            }
            Ok(v)
        };
        Ok(match kind.as_str() {
            "trend" => {
                let mut stats = BTreeMap::new();
                for k in values.keys() {
                    if k == "thresholds" {
                        continue;
                    }
                    let Some(v) = number(k)? else { continue };
                    stats.insert(k.clone(), v);
                }
                Metric::Trend { stats, time }
            }
            "counter" => Metric::Counter {
                count: non_negative("count", needed("count")?)?,
                rate: non_negative("rate", number("rate")?.unwrap_or(0.0))?,
            },
            "rate" => {
                let passes = non_negative("passes", needed("passes")?)?;
                let fails = non_negative("fails", needed("fails")?)?;
                let rate = match number(if modern { "rate" } else { "value" })? {
                    Some(r) => r,
                    None if passes + fails > 0.0 => passes / (passes + fails),
                    None => 0.0,
                };
                if !(0.0..=1.0).contains(&rate) {
                    return Err(field(
                        &format!("{values_path}.{}", if modern { "rate" } else { "value" }),
                        format!("{rate} is not a rate from 0 to 1"),
                    ));
                }
                Metric::Rate {
                    rate,
                    passes,
                    fails,
                }
            }
            "gauge" => Metric::Gauge {
                value: needed("value")?,
            },
            other => {
                return Err(field(
                    &format!("{path}.type"),
                    format!("unknown metric type {other:?}: k6 has trend, counter, rate and gauge"),
                ));
            }
        })
    }

    fn count(&self) -> Option<f64> {
        match self {
            Metric::Counter { count, .. } => Some(*count),
            _ => None,
        }
    }
}

/// `http_req_duration{name:login}` as (`http_req_duration`, `name:login`).
fn split_tags(name: &str) -> (&str, Option<&str>) {
    match name.split_once('{') {
        Some((base, rest)) => (base, Some(rest.trim_end_matches('}'))),
        None => (name, None),
    }
}

/// A trend's statistics as a measurement with a summary (no spread).
fn trend(
    metric_name: &str,
    stats: &BTreeMap<String, f64>,
    time: bool,
    n: Option<usize>,
    k6_name: &str,
) -> Result<Measurement, K6Error> {
    let scale = if time { 1e-3 } else { 1.0 };
    let path = |k: &str| format!("metrics.{k6_name}.{k}");
    let get = |k: &str| stats.get(k).map(|v| v * scale);
    let (Some(min), Some(max)) = (get("min"), get("max")) else {
        return Err(field(
            &path("min"),
            "a trend needs its min and max (k6's summaryTrendStats must keep them)",
        ));
    };
    if min > max || (time && min < 0.0) {
        return Err(field(
            &path("min"),
            format!(
                "the minimum {min} is above the maximum {max} or negative: the summary is damaged or was edited"
            ),
        ));
    }
    let mut percentiles = BTreeMap::new();
    for (k, v) in stats {
        let Some(p) = k.strip_prefix("p(").and_then(|p| p.strip_suffix(')')) else {
            continue;
        };
        let value = v * scale;
        if value < min || value > max {
            return Err(field(
                &path(k),
                format!("{value} is outside the minimum {min} and maximum {max}"),
            ));
        }
        percentiles.insert(format!("p{p}"), value);
    }
    let median = get("med").or_else(|| percentiles.get("p50").copied());
    if let Some(m) = median
        && !(min..=max).contains(&m)
    {
        return Err(field(
            &path("med"),
            format!("the median {m} is outside the minimum {min} and maximum {max}"),
        ));
    }
    let mean = get("avg");
    if let Some(median) = median {
        percentiles.insert("p50".into(), median);
    }
    let count = stats.get("count").map(|c| *c as usize).or(n).unwrap_or(0);
    let mean = mean.unwrap_or(median.unwrap_or(min));
    if !(min..=max).contains(&mean) {
        return Err(field(
            &path("avg"),
            format!("the mean {mean} is outside the minimum {min} and maximum {max}"),
        ));
    }
    let unit = if time { Unit::Seconds } else { Unit::Number };
    Ok(Measurement {
        metric: metric_name.to_string(),
        unit,
        samples: Vec::new(),
        value: None,
        summary: Some(Summary {
            n: count,
            mean,
            stddev: 0.0,
            median: median.unwrap_or(mean),
            min,
            max,
            mad: 0.0,
            percentiles,
            mean_ci: None,
            outliers: OutlierCounts::default(),
            spread_unknown: true,
            mad_unknown: false,
        }),
        histogram: None,
        histogram_unit: None,
        // k6's trends are times (durations, waiting) better shorter; its
        // other trends' direction is unknown.
        better: time.then_some(perfhub_core::report::Better::Lower),
    }
    .known_better())
}

/// A note for every check that failed, in both shapes of groups.
fn failed_checks(group: &Value, notes: &mut Vec<Note>) {
    let items = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(o)) => o.values().cloned().collect(),
            _ => Vec::new(),
        }
    };
    for check in items(group.get("checks")) {
        let fails = check.get("fails").and_then(Value::as_u64).unwrap_or(0);
        let passes = check.get("passes").and_then(Value::as_u64).unwrap_or(0);
        if fails > 0 {
            let path = check
                .get("path")
                .and_then(Value::as_str)
                .or_else(|| check.get("name").and_then(Value::as_str))
                .unwrap_or("?");
            notes.push(Note::warning(
                "k6_check_failed",
                format!(
                    "k6 check `{path}`: {fails} of {} failed",
                    fails.saturating_add(passes)
                ),
            ));
        }
    }
    for g in items(group.get("groups")) {
        failed_checks(&g, notes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::budget::{Budget, evaluate};

    const MODERN: &str = include_str!("../../../fixtures/k6/handle-summary.json");
    const LEGACY: &str = include_str!("../../../fixtures/k6/summary-export.json");

    fn bench<'a>(r: &'a Report, name: &str) -> &'a Benchmark {
        r.benchmarks
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn value(r: &Report, name: &str, metric: &str) -> f64 {
        bench(r, name).measurement(metric).unwrap().value.unwrap()
    }

    #[test]
    fn both_shapes_of_the_summary_read_the_same() {
        for text in [MODERN, LEGACY] {
            let r = import_k6(text, "2026-12-05T00:00:00Z".parse().unwrap()).unwrap();
            r.check_values().unwrap();
            let s = bench(&r, TOTAL)
                .measurement(metric::LATENCY)
                .unwrap()
                .summary
                .clone()
                .unwrap();
            assert!((s.percentiles["p95"] - 0.21595).abs() < 1e-12);
            assert!((s.median - 0.11047).abs() < 1e-12);
            assert!((s.mean - 0.14456).abs() < 1e-12);
            assert!((s.max - 1.1402).abs() < 1e-12);
            assert_eq!(s.n, 1000);
            assert!(s.spread_unknown);
            assert_eq!(value(&r, TOTAL, "requests"), 1000.0);
            assert_eq!(value(&r, TOTAL, "errors"), 12.0);
            assert_eq!(value(&r, TOTAL, metric::ERROR_RATE), 0.012);
            assert_eq!(value(&r, TOTAL, "check_failures"), 20.0);
            assert_eq!(value(&r, TOTAL, "k6.iterations"), 200.0);
            let it = bench(&r, TOTAL)
                .measurement("k6.iteration_duration")
                .unwrap();
            assert_eq!(it.unit, Unit::Seconds);
            let group = bench(&r, "group:checkout")
                .measurement(metric::LATENCY)
                .unwrap();
            assert!((group.summary.as_ref().unwrap().percentiles["p95"] - 0.3007).abs() < 1e-12);
            let notes: Vec<&str> = r.notes.iter().map(|n| n.message.as_str()).collect();
            assert!(
                notes.contains(&"k6 threshold on http_req_duration `p(95)<200`: failed"),
                "{notes:?}"
            );
            assert!(notes.contains(&"k6 threshold on http_req_duration `avg<500`: passed"));
            assert!(notes.contains(&"k6 check `::checkout::cart is 200`: 20 of 200 failed"));
            // perfhub's budgets read what k6 gave, and refuse what it did not.
            let verdicts = evaluate(&[Budget::parse("p95 < 200ms").unwrap()], &r).unwrap();
            assert!(verdicts.iter().any(|v| v.benchmark == TOTAL && !v.passed));
            assert!(evaluate(&[Budget::parse("stddev < 1s").unwrap()], &r).is_err());
        }
        let r = import_k6(MODERN, "2026-12-05T00:00:00Z".parse().unwrap()).unwrap();
        let items = bench(&r, TOTAL).measurement("k6.cart_items").unwrap();
        assert_eq!(items.unit, Unit::Number);
        assert!(
            bench(&r, "expected_response:true")
                .measurement(metric::LATENCY)
                .is_some()
        );
    }

    #[test]
    fn impossible_values_are_refused_with_their_path() {
        let cases = [
            ("[1]", "$"),
            ("{}", "metrics"),
            (
                r#"{"metrics": {"http_req_duration": {"avg": 5, "min": 9, "max": 3}}}"#,
                "metrics.http_req_duration.min",
            ),
            (
                r#"{"metrics": {"http_req_duration": {"avg": -5, "min": -9, "max": 3}}}"#,
                "metrics.http_req_duration.min",
            ),
            (
                r#"{"metrics": {"http_req_duration": {"avg": 50, "min": 1, "max": 3}}}"#,
                "metrics.http_req_duration.avg",
            ),
            (
                r#"{"metrics": {"http_reqs": {"count": -1, "rate": 1}}}"#,
                "metrics.http_reqs.count",
            ),
            (
                r#"{"metrics": {"http_reqs": {"count": 5, "rate": 1}, "http_req_failed": {"value": 0.5, "passes": 4, "fails": 4}}}"#,
                "metrics.http_req_failed",
            ),
            (
                r#"{"metrics": {"checks": {"value": 1.5, "passes": 1, "fails": 0}}}"#,
                "metrics.checks.value",
            ),
            (
                r#"{"metrics": {"x": {"type": "histogram", "values": {}}}}"#,
                "metrics.x.type",
            ),
            (
                r#"{"metrics": {"http_req_duration": {"avg": "fast", "min": 1, "max": 3}}}"#,
                "metrics.http_req_duration.avg",
            ),
        ];
        for (text, path) in cases {
            match import_k6(text, "2026-12-05T00:00:00Z".parse().unwrap()) {
                Err(K6Error::Field { path: p, .. }) => assert_eq!(p, path, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            import_k6("{not json", UtcTime { unix: 0 }),
            Err(K6Error::Json { line: 1, .. })
        ));
    }
}
