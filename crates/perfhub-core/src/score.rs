//! The Performance Score: one number from 0 to 100 that summarizes a report
//! against three targets, for dashboards and reviews that want one figure.
//!
//! Three components, each normalized to 0-100, then averaged (the mean of
//! the components the report can give; the ones it cannot are listed):
//!
//! - **latency**: `100 * min(1, target / p95)` with the p95 of the report's
//!   latency (a load test's `latency` measurement, else the primary metric
//!   of time) and the target 200 ms. Meeting the target scores 100; twice
//!   the target scores 50; ten times, 10.
//! - **CPU efficiency**: `100 * min(1, target / u)` where `u` is the mean CPU
//!   utilization as a share of the machine (`cpu_utilization`, in cores,
//!   divided by the environment's logical CPUs) and the target is 70%:
//!   a process that leaves 30% headroom scores 100, one that saturates the
//!   machine scores 70.
//! - **memory efficiency**: `100 * min(1, e / target)` where `e` is the mean
//!   resident set size over its peak (the `rss` series of a profile's
//!   timeline, or a `memory_efficiency` measurement) and the target is 85%:
//!   memory held at its peak for the whole run scores 100; a peak held a
//!   tenth of the time scores about 12.
//!
//! The score is a summary for people, not a gate: budgets gate.

use serde::{Deserialize, Serialize};

use crate::report::{Benchmark, Report, metric};
use crate::stats::percentile;
use crate::units::Unit;

/// The targets the components are normalized against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreTargets {
    /// The p95 latency target in seconds (default 0.2).
    pub p95_latency: f64,
    /// The CPU utilization ceiling as a share of the machine (default 0.7).
    pub cpu_utilization: f64,
    /// The memory efficiency floor (default 0.85).
    pub memory_efficiency: f64,
}

impl Default for ScoreTargets {
    fn default() -> Self {
        ScoreTargets {
            p95_latency: 0.2,
            cpu_utilization: 0.7,
            memory_efficiency: 0.85,
        }
    }
}

/// One component of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreComponent {
    /// `latency`, `cpu_efficiency` or `memory_efficiency`.
    pub name: String,
    /// 0 to 100.
    pub score: f64,
    /// The measured value it was computed from (seconds or a ratio).
    pub measured: f64,
    /// The target.
    pub target: f64,
    /// The benchmark it was read from.
    pub benchmark: String,
    /// The metric it was read from (`latency`, `wall_time`, `rss`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric: String,
}

/// The Performance Score of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerformanceScore {
    /// The mean of the components' scores, 0 to 100.
    pub score: f64,
    /// The components the report could give.
    pub components: Vec<ScoreComponent>,
    /// The components it could not, and why.
    pub missing: Vec<String>,
}

impl PerformanceScore {
    /// The component with this name.
    pub fn component(&self, name: &str) -> Option<&ScoreComponent> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// The measurement the latency component reads: a load test's `latency`,
/// else a primary metric of time.
fn latency_measurement(b: &Benchmark) -> Option<&crate::report::Measurement> {
    b.measurement(metric::LATENCY)
        .or_else(|| b.primary().filter(|m| m.unit == Unit::Seconds))
}

fn p95_latency(b: &Benchmark) -> Option<f64> {
    let m = latency_measurement(b)?;
    if let Some(p) = m.summary.as_ref().and_then(|s| s.percentiles.get("p95")) {
        return Some(*p);
    }
    if !m.samples.is_empty() {
        return percentile(&m.samples, 95.0);
    }
    m.value
}

fn mean_of(b: &Benchmark, name: &str) -> Option<f64> {
    let m = b.measurement(name)?;
    if !m.samples.is_empty() {
        crate::stats::mean(&m.samples)
    } else {
        m.value.or(m.summary.as_ref().map(|s| s.mean))
    }
}

fn memory_efficiency(b: &Benchmark) -> Option<f64> {
    if let Some(e) = mean_of(b, "memory_efficiency") {
        return Some(e);
    }
    let rss = &b.measurement("rss")?.samples;
    let peak = rss.iter().copied().fold(f64::NAN, f64::max);
    let mean = crate::stats::mean(rss)?;
    (peak > 0.0).then(|| mean / peak)
}

/// The first benchmark (in order) for which `f` gives a finite value.
fn first(report: &Report, f: impl Fn(&Benchmark) -> Option<f64>) -> Option<(&Benchmark, f64)> {
    report
        .benchmarks
        .iter()
        .find_map(|b| f(b).filter(|v| v.is_finite()).map(|v| (b, v)))
}

/// Computes the score of `report`; `None` when no component can be computed.
///
/// For a report of several benchmarks, each component is read from the
/// first benchmark that has it (a load test's `total` comes first among
/// its endpoints only if listed first; name it in `prefer` to choose).
pub fn performance_score(
    report: &Report,
    targets: &ScoreTargets,
    prefer: Option<&str>,
) -> Option<PerformanceScore> {
    let ordered;
    let report = match prefer.and_then(|p| report.benchmark(p)) {
        Some(b) => {
            let mut r = report.clone();
            r.benchmarks.retain(|x| x.name != b.name);
            r.benchmarks.insert(0, b.clone());
            ordered = r;
            &ordered
        }
        None => report,
    };
    let mut components = Vec::new();
    let mut missing = Vec::new();
    let latency_metric =
        |b: &Benchmark| latency_measurement(b).map_or_else(String::new, |m| m.metric.clone());
    match first(report, p95_latency) {
        Some((b, p95)) if p95 > 0.0 => components.push(ScoreComponent {
            name: "latency".into(),
            score: 100.0 * (targets.p95_latency / p95).min(1.0),
            measured: p95,
            target: targets.p95_latency,
            benchmark: b.name.clone(),
            metric: latency_metric(b),
        }),
        Some((b, _)) => components.push(ScoreComponent {
            name: "latency".into(),
            score: 100.0,
            measured: 0.0,
            target: targets.p95_latency,
            benchmark: b.name.clone(),
            metric: latency_metric(b),
        }),
        None => missing.push("latency: no latency or time measurement".to_string()),
    }
    let cpus = report
        .environment
        .as_ref()
        .map(|e| e.logical_cpus)
        .filter(|&n| n > 0);
    match (first(report, |b| mean_of(b, metric::CPU_UTILIZATION)), cpus) {
        (Some((b, cores)), Some(n)) => {
            let u = cores / f64::from(n);
            components.push(ScoreComponent {
                name: "cpu_efficiency".into(),
                score: if u <= 0.0 {
                    100.0
                } else {
                    100.0 * (targets.cpu_utilization / u).min(1.0)
                },
                measured: u,
                target: targets.cpu_utilization,
                benchmark: b.name.clone(),
                metric: metric::CPU_UTILIZATION.to_string(),
            });
        }
        (Some(_), None) => missing.push(
            "cpu_efficiency: the report has no environment, so the machine's CPU count is unknown"
                .to_string(),
        ),
        (None, _) => missing.push("cpu_efficiency: no cpu_utilization measurement".to_string()),
    }
    match first(report, memory_efficiency) {
        Some((b, e)) => components.push(ScoreComponent {
            name: "memory_efficiency".into(),
            score: 100.0 * (e / targets.memory_efficiency).clamp(0.0, 1.0),
            measured: e,
            target: targets.memory_efficiency,
            benchmark: b.name.clone(),
            metric: if b.measurement("memory_efficiency").is_some() {
                "memory_efficiency".to_string()
            } else {
                "rss".to_string()
            },
        }),
        None => missing.push(
            "memory_efficiency: no rss timeline (perfhub profile) or memory_efficiency measurement"
                .to_string(),
        ),
    }
    if components.is_empty() {
        return None;
    }
    let score = components.iter().map(|c| c.score).sum::<f64>() / components.len() as f64;
    Some(PerformanceScore {
        score,
        components,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Environment, Measurement, ReportKind};

    fn report(benches: Vec<Benchmark>) -> Report {
        let mut r = Report::new(ReportKind::Check, "2026-01-01T00:00:00Z".parse().unwrap());
        r.environment = Some(Environment {
            logical_cpus: 4,
            ..Environment::default()
        });
        r.benchmarks = benches;
        r
    }

    #[test]
    fn each_component_follows_its_documented_normalization() {
        let mut load = Benchmark::new("total", metric::LATENCY);
        // p95 of 1..=100 ms is 95.05 ms: under the 200 ms target.
        load.measurements.push(Measurement::from_samples(
            metric::LATENCY,
            Unit::Seconds,
            (1..=100).map(|i| f64::from(i) * 1e-3).collect(),
        ));
        let mut proc_ = Benchmark::new("server", metric::WALL_TIME);
        // 3.5 cores of 4 = 87.5%: 70 / 87.5 = 80 points.
        proc_.measurements.push(Measurement::from_samples(
            metric::CPU_UTILIZATION,
            Unit::Ratio,
            vec![3.0, 4.0],
        ));
        // mean 75 of peak 100: 0.75 / 0.85 = 88.2 points.
        proc_.measurements.push(Measurement::from_samples(
            "rss",
            Unit::Bytes,
            vec![50.0, 100.0, 75.0],
        ));
        let s =
            performance_score(&report(vec![load, proc_]), &ScoreTargets::default(), None).unwrap();
        assert_eq!(s.component("latency").unwrap().score, 100.0);
        assert!((s.component("cpu_efficiency").unwrap().score - 80.0).abs() < 1e-9);
        let mem = s.component("memory_efficiency").unwrap().score;
        assert!((mem - 100.0 * 0.75 / 0.85).abs() < 1e-9);
        assert!((s.score - (100.0 + 80.0 + mem) / 3.0).abs() < 1e-9);
        assert!(s.missing.is_empty());
    }

    #[test]
    fn slow_latency_scores_in_proportion_and_missing_parts_are_named() {
        let mut b = Benchmark::new("cmd", metric::WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![0.4; 10],
        ));
        let s = performance_score(&report(vec![b]), &ScoreTargets::default(), None).unwrap();
        assert!((s.score - 50.0).abs() < 1e-9);
        assert_eq!(s.missing.len(), 2);
        assert!(performance_score(&report(vec![]), &ScoreTargets::default(), None).is_none());
    }
}
