//! Bencher Metric Format (BMF) JSON, read by `bencher run --adapter json`.
//!
//! ```json
//! { "<benchmark>": { "<measure slug>": { "value": 1.0, "lower_value": 0.9, "upper_value": 1.1 } } }
//! ```
//!
//! Every measurement of every benchmark with a finite value is exported:
//!
//! - **measure**: a time in seconds measured as `wall_time` or `latency`
//!   goes to Bencher's built-in `latency` measure, and a rate per second
//!   measured as `throughput` to the built-in `throughput` measure
//!   (operations per second). Any other metric becomes a measure named by
//!   its slug: the metric's name in kebab case (`max_rss` → `max-rss`),
//!   which Bencher creates on first use. When two measurements of one
//!   benchmark would share a slug, the primary metric keeps it and the other
//!   takes `perfhub-` and its own kebab name.
//! - **value**: the mean of the samples, or the single value.
//! - **lower_value** and **upper_value**: the bounds of the 95% confidence
//!   interval of the mean, where there is one (two or more samples), as
//!   Bencher's own adapters for criterion do; absent otherwise. The minimum
//!   and maximum are not exported.
//! - **units**: every time is in nanoseconds (Bencher's `latency` is in
//!   nanoseconds; custom time measures are too, for one scale throughout);
//!   everything else in perfhub's base unit: bytes, counts, per second,
//!   bytes per second, and a fraction (not a percentage) for ratios.
//!
//! Values that are NaN or infinite are left out (JSON has no number for
//! them), and a benchmark with nothing left is left out too.

use std::collections::BTreeMap;

use perfhub_core::report::{Measurement, Report, metric};
use perfhub_core::units::Unit;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::values::central;

/// Bencher's built-in latency measure (nanoseconds).
pub const LATENCY: &str = "latency";

/// Bencher's built-in throughput measure (operations per second).
pub const THROUGHPUT: &str = "throughput";

/// Bencher's limit on a measure slug's length.
const MAX_SLUG: usize = 64;

/// One measure's metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmfMetric {
    /// The central value.
    pub value: f64,
    /// The lower bound, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    /// The upper bound, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// A BMF document: benchmark name → measure slug → metric.
pub type Bmf = BTreeMap<String, BTreeMap<String, BmfMetric>>;

/// The factor from perfhub's base unit to the unit exported: 1e9 for
/// seconds (to nanoseconds), 1 otherwise.
pub fn scale(unit: Unit) -> f64 {
    match unit {
        Unit::Seconds => 1e9,
        _ => 1.0,
    }
}

/// The measure slug preferred for a metric: `latency`, `throughput`, or the
/// kebab-case name. A kebab name that would be a built-in measure in the
/// wrong unit (a `latency` counted in bytes) is prefixed with `perfhub-`.
pub fn measure_slug(metric_name: &str, unit: Unit) -> String {
    let builtin_latency = unit == Unit::Seconds
        && (metric_name == metric::WALL_TIME || metric_name == metric::LATENCY);
    let builtin_throughput = unit == Unit::PerSecond && metric_name == metric::THROUGHPUT;
    if builtin_latency {
        return LATENCY.to_string();
    }
    if builtin_throughput {
        return THROUGHPUT.to_string();
    }
    let slug = kebab(metric_name);
    if slug == LATENCY || slug == THROUGHPUT {
        prefixed(&slug)
    } else {
        slug
    }
}

fn prefixed(slug: &str) -> String {
    let mut s = format!("perfhub-{slug}");
    s.truncate(MAX_SLUG);
    s
}

/// Lowercase ASCII letters and digits, other runs of characters as one `-`,
/// at most 64 characters; `measure` when nothing is left.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_SLUG);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "measure".to_string()
    } else {
        trimmed.to_string()
    }
}

fn metric_of(m: &Measurement) -> Option<BmfMetric> {
    let c = central(m)?;
    let k = scale(m.unit);
    let value = c.mean * k;
    if !value.is_finite() {
        return None;
    }
    let (lower_value, upper_value) = match c.ci {
        Some((lo, hi)) if (lo * k).is_finite() && (hi * k).is_finite() => {
            (Some(lo * k), Some(hi * k))
        }
        _ => (None, None),
    };
    Some(BmfMetric {
        value,
        lower_value,
        upper_value,
    })
}

/// The report in BMF.
pub fn to_bmf(report: &Report) -> Bmf {
    let mut bmf = Bmf::new();
    for b in &report.benchmarks {
        // The primary metric first, so it gets the built-in measure.
        let mut ms: Vec<&Measurement> = b.measurements.iter().collect();
        ms.sort_by_key(|m| m.metric != b.primary_metric);
        let mut measures = bmf.remove(&b.name).unwrap_or_default();
        for m in ms {
            let Some(value) = metric_of(m) else { continue };
            let preferred = measure_slug(&m.metric, m.unit);
            let own = kebab(&m.metric);
            let mut candidates = vec![preferred, prefixed(&own)];
            if let Some(n) = (2..).find(|n| !measures.contains_key(&format!("{own}-{n}"))) {
                let mut s = format!("{own}-{n}");
                s.truncate(MAX_SLUG);
                candidates.push(s);
            }
            if let Some(slug) = candidates.into_iter().find(|s| !measures.contains_key(s)) {
                measures.insert(slug, value);
            }
        }
        if !measures.is_empty() {
            bmf.insert(b.name.clone(), measures);
        }
    }
    // The Performance Score, where the report has one (`perfhub check`),
    // as measures of a benchmark named `performance-score`.
    if let Some(s) = &report.performance_score {
        let mut measures = BTreeMap::new();
        measures.insert(
            "performance-score".to_string(),
            BmfMetric {
                value: s.score,
                lower_value: None,
                upper_value: None,
            },
        );
        for c in &s.components {
            measures.insert(
                format!("performance-score-{}", kebab(&c.name)),
                BmfMetric {
                    value: c.score,
                    lower_value: None,
                    upper_value: None,
                },
            );
        }
        bmf.insert("performance-score".to_string(), measures);
    }
    bmf
}

/// The report in BMF, as pretty-printed JSON.
pub fn to_bmf_json(report: &Report) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(&to_bmf(report))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::report::{Benchmark, ReportKind};

    #[test]
    fn slugs() {
        assert_eq!(measure_slug("wall_time", Unit::Seconds), "latency");
        assert_eq!(measure_slug("latency", Unit::Seconds), "latency");
        assert_eq!(measure_slug("throughput", Unit::PerSecond), "throughput");
        assert_eq!(
            measure_slug("throughput", Unit::BytesPerSecond),
            "perfhub-throughput"
        );
        assert_eq!(measure_slug("max_rss", Unit::Bytes), "max-rss");
        assert_eq!(
            measure_slug("p99.9 Latency!", Unit::Seconds),
            "p99-9-latency"
        );
        assert_eq!(measure_slug("__", Unit::Count), "measure");
        assert_eq!(measure_slug(&"a".repeat(100), Unit::Count).len(), 64);
    }

    #[test]
    fn colliding_slugs_keep_the_primary_on_the_builtin() {
        let mut r = Report::new(ReportKind::Load, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("GET /", metric::LATENCY);
        b.measurements.push(Measurement::from_value(
            metric::WALL_TIME,
            Unit::Seconds,
            2.0,
        ));
        b.measurements
            .push(Measurement::from_value(metric::LATENCY, Unit::Seconds, 1.0));
        b.measurements
            .push(Measurement::from_value("wall-time", Unit::Seconds, 3.0));
        b.measurements
            .push(Measurement::from_value("nan", Unit::Count, f64::NAN));
        r.benchmarks.push(b);
        let bmf = to_bmf(&r);
        let m = &bmf["GET /"];
        assert_eq!(m["latency"].value, 1e9);
        assert_eq!(m["perfhub-wall-time"].value, 2e9);
        assert_eq!(m["wall-time"].value, 3e9);
        assert!(!m.contains_key("nan"));
        assert_eq!(m.len(), 3);
    }
}
