//! github-action-benchmark's custom JSON: an array of
//! `{ "name", "unit", "value", "range"?, "extra"? }`.
//!
//! The action reads one file per run with one `tool:` setting, and the
//! setting fixes the direction: `customSmallerIsBetter` alerts when values
//! grow, `customBiggerIsBetter` when they shrink. So [`to_gab`] splits the
//! entries by [`Measurement::smaller_is_better`](perfhub_core::report::Measurement::smaller_is_better) into two arrays; write both and point
//! each `tool:` setting at its own file (most perfhub reports only fill the
//! smaller-is-better one: times, memory, error rates).
//!
//! - Only each benchmark's **primary** metric is exported, named after the
//!   benchmark: the action charts and alerts on every entry, and secondary
//!   metrics (context switches, page faults) are too noisy to alert on.
//! - **value**: the mean of the samples, or the single value; NaN and
//!   infinite values are left out.
//! - **unit**: times in `ns` (as the action's own `cargo` tool writes
//!   them), ratios in `%` (times 100), otherwise perfhub's base unit
//!   (`B`, `B/s`, `/s`, `count`, `number`).
//! - **range**: `± ` the standard deviation of the samples, in `unit`,
//!   where there are two or more samples.
//! - **extra**: the number of samples, the median, min and max with
//!   readable units, and the change against the base where the report
//!   compares one, for the chart's tooltip.

use std::fmt::Write as _;

use perfhub_core::report::Report;
use perfhub_core::units::{Quantity, Unit};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::values::central;

/// One entry of the array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GabEntry {
    /// The series' name: the benchmark's.
    pub name: String,
    /// The unit of `value`.
    pub unit: String,
    /// The value.
    pub value: f64,
    /// The spread, as text: `± 12.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Context for the tooltip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

/// The two arrays of a report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GabExport {
    /// For `tool: customSmallerIsBetter`.
    pub smaller_is_better: Vec<GabEntry>,
    /// For `tool: customBiggerIsBetter`.
    pub bigger_is_better: Vec<GabEntry>,
}

impl GabExport {
    /// The `customSmallerIsBetter` array as pretty-printed JSON.
    pub fn smaller_is_better_json(&self) -> Result<String, Error> {
        Ok(serde_json::to_string_pretty(&self.smaller_is_better)?)
    }

    /// The `customBiggerIsBetter` array as pretty-printed JSON.
    pub fn bigger_is_better_json(&self) -> Result<String, Error> {
        Ok(serde_json::to_string_pretty(&self.bigger_is_better)?)
    }
}

/// The unit written for a perfhub unit, and the factor from perfhub's base
/// unit to it.
pub fn unit_and_scale(unit: Unit) -> (&'static str, f64) {
    match unit {
        Unit::Seconds => ("ns", 1e9),
        Unit::Bytes => ("B", 1.0),
        Unit::Count => ("count", 1.0),
        Unit::PerSecond => ("/s", 1.0),
        Unit::BytesPerSecond => ("B/s", 1.0),
        Unit::Ratio => ("%", 100.0),
        Unit::Number => ("number", 1.0),
    }
}

/// A number without float noise: rounded to three decimals.
fn plain(x: f64) -> String {
    let r = (x * 1000.0).round() / 1000.0;
    if r.is_finite() {
        format!("{r}")
    } else {
        format!("{x}")
    }
}

/// The report's primary metrics, split by direction.
pub fn to_gab(report: &Report) -> GabExport {
    let mut out = GabExport::default();
    for b in &report.benchmarks {
        let Some(m) = b.primary() else { continue };
        let Some(c) = central(m) else { continue };
        let (unit, k) = unit_and_scale(m.unit);
        let value = c.mean * k;
        if !value.is_finite() {
            continue;
        }
        let q = |v: f64| Quantity::new(v, m.unit).to_string();
        let mut extra = String::new();
        let mut range = None;
        match &c.summary {
            Some(s) => {
                let _ = write!(
                    extra,
                    "mean of {} sample{}; median {}; min {}; max {}",
                    s.n,
                    if s.n == 1 { "" } else { "s" },
                    q(s.median),
                    q(s.min),
                    q(s.max)
                );
                if s.n >= 2 && (s.stddev * k).is_finite() {
                    range = Some(format!("± {}", plain(s.stddev * k)));
                }
            }
            None => extra.push_str("single value"),
        }
        if let Some(cmp) = report
            .comparisons
            .iter()
            .find(|x| x.benchmark == b.name && x.metric == m.metric)
        {
            let pct = |r: f64| {
                let x = r - 1.0;
                if x > 0.0 {
                    format!("+{}", Unit::Ratio.format(x))
                } else {
                    Unit::Ratio.format(x)
                }
            };
            let _ = write!(extra, "; vs {}: {}", cmp.reference, pct(cmp.ratio));
            if let Some(ci) = &cmp.ratio_ci {
                let _ = write!(extra, " [{}, {}]", pct(ci.lower), pct(ci.upper));
            }
            if let Some(v) = cmp.verdict {
                let _ = write!(extra, ", {}", v.as_str());
            }
        }
        let entry = GabEntry {
            name: b.name.clone(),
            unit: unit.to_string(),
            value,
            range,
            extra: Some(extra),
        };
        if m.smaller_is_better() {
            out.smaller_is_better.push(entry);
        } else {
            out.bigger_is_better.push(entry);
        }
    }
    // The Performance Score, where the report has one: bigger is better.
    if let Some(s) = &report.performance_score {
        let parts: Vec<String> = s
            .components
            .iter()
            .map(|c| format!("{} {:.0}", c.name, c.score))
            .collect();
        out.bigger_is_better.push(GabEntry {
            name: "Performance Score".to_string(),
            unit: "points".to_string(),
            value: s.score,
            range: None,
            extra: Some(parts.join("; ")),
        });
    }
    out
}
