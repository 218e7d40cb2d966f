//! Merging the reports of a load test run in segments by several processes.
//!
//! Percentiles are never averaged: each segment's report carries its
//! latency histograms, and they are merged bucket by bucket (HdrHistogram
//! merging is exact), then the percentiles are read off the merged
//! histogram. Counts add up; rates add up; the error rate is recomputed
//! from the summed counts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// A report is not a load test's.
    #[error(
        "{path}: not a load test report (its kind is {kind}); merge the reports `perfhub load --export-json` writes"
    )]
    NotLoad {
        /// The report.
        path: PathBuf,
        /// Its kind.
        kind: String,
    },
    /// A histogram cannot be read or merged.
    #[error("{path}: benchmark {benchmark:?}, {metric}: {reason}")]
    Histogram {
        /// The report.
        path: PathBuf,
        /// The benchmark.
        benchmark: String,
        /// The measurement.
        metric: String,
        /// What is wrong.
        reason: String,
    },
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
}

/// Metrics whose values add up across segments.
fn adds_up(metric: &str) -> bool {
    matches!(
        metric,
        "requests"
            | "errors"
            | "check_failures"
            | "sent"
            | "late"
            | "dropped"
            | "bytes_sent"
            | "bytes_received"
            | "target_rate"
            | "achieved_rate"
            | metric::THROUGHPUT
    ) || metric.starts_with("errors.")
        || metric.starts_with("status.")
}

const HISTOGRAMS: [&str; 2] = [metric::LATENCY, "service_time"];

/// What is known of one benchmark so far.
#[derive(Default)]
struct Merged {
    command: Option<String>,
    /// The histograms merged so far, by metric, in the V2 compressed
    /// encoding: a decoded histogram takes a hundred times the memory (its
    /// buckets up to the largest value), too much to hold for every
    /// benchmark of a large report at once.
    histograms: BTreeMap<String, Vec<u8>>,
    sums: BTreeMap<String, (Unit, f64)>,
    notes: Vec<Note>,
}

/// Merges the reports of the segments of one load test, one report at a
/// time: only the merged counts and (encoded) histograms are kept between
/// them, so the memory needed does not grow with the number of segments.
#[derive(Default)]
pub struct Merger {
    order: Vec<String>,
    merged: HashMap<String, Merged>,
    segments: usize,
}

impl Merger {
    /// Nothing merged yet.
    pub fn new() -> Self {
        Merger::default()
    }

    /// Adds the report of one segment; `path` names it in errors.
    pub fn add(&mut self, path: &Path, report: &Report) -> Result<(), MergeError> {
        if report.kind != ReportKind::Load {
            return Err(MergeError::NotLoad {
                path: path.to_path_buf(),
                kind: format!("{:?}", report.kind).to_lowercase(),
            });
        }
        for b in &report.benchmarks {
            let into = match self.merged.get_mut(&b.name) {
                Some(into) => into,
                None => {
                    self.order.push(b.name.clone());
                    self.merged.entry(b.name.clone()).or_default()
                }
            };
            into.command = into.command.take().or_else(|| b.command.clone());
            for m in &b.measurements {
                if HISTOGRAMS.contains(&m.metric.as_str()) {
                    let bad = |reason: String| MergeError::Histogram {
                        path: path.to_path_buf(),
                        benchmark: b.name.clone(),
                        metric: m.metric.clone(),
                        reason,
                    };
                    let mut h =
                        LatencyHistogram::from_measurement(m).map_err(|e| bad(e.to_string()))?;
                    if let Some(acc) = into.histograms.get(&m.metric) {
                        let acc = LatencyHistogram::from_v2_compressed(acc)
                            .map_err(|e| bad(e.to_string()))?;
                        h.merge(&acc).map_err(|e| bad(e.to_string()))?;
                    }
                    into.histograms
                        .insert(m.metric.clone(), h.to_v2_compressed());
                } else if adds_up(&m.metric) {
                    let e = into.sums.entry(m.metric.clone()).or_insert((m.unit, 0.0));
                    e.1 += m.value.unwrap_or(0.0);
                }
            }
            for n in &b.notes {
                if n.code != "segment" && !into.notes.iter().any(|x| x.code == n.code) {
                    into.notes.push(n.clone());
                }
            }
        }
        self.segments += 1;
        Ok(())
    }

    /// The merged report, written at `created`.
    pub fn finish(mut self, created: impl Into<String>) -> Result<Report, MergeError> {
        if self.segments == 0 {
            return Err(MergeError::Empty);
        }
        let mut out = Report::new(ReportKind::Load, created);
        for name in self.order {
            let Some(m) = self.merged.remove(&name) else {
                continue;
            };
            let mut b = Benchmark::new(name, metric::LATENCY);
            b.command = m.command;
            for metric in HISTOGRAMS {
                if let Some(bytes) = m.histograms.get(metric) {
                    // Encoded here from a histogram that decoded before.
                    let h = LatencyHistogram::from_v2_compressed(bytes).map_err(|e| {
                        MergeError::Histogram {
                            path: PathBuf::from("(merged)"),
                            benchmark: b.name.clone(),
                            metric: metric.to_string(),
                            reason: e.to_string(),
                        }
                    })?;
                    b.measurements.push(h.to_measurement(metric));
                }
            }
            let get = |k: &str| m.sums.get(k).map_or(0.0, |v| v.1);
            let requests = get("requests");
            let failed = get("errors") + get("check_failures");
            b.measurements.push(Measurement::from_value(
                metric::ERROR_RATE,
                Unit::Ratio,
                if requests > 0.0 {
                    failed / requests
                } else {
                    0.0
                },
            ));
            for (metric, (unit, value)) in &m.sums {
                b.measurements
                    .push(Measurement::from_value(metric, *unit, *value));
            }
            b.notes = m.notes;
            out.benchmarks.push(b);
        }
        out.notes.push(Note::info(
            "merged",
            format!(
                "merged from {} segment reports: histograms merged exactly, counts and rates added",
                self.segments
            ),
        ));
        Ok(out)
    }
}

/// Merges the reports of the segments of one load test (see [`Merger`]).
pub fn merge_reports(
    reports: &[(PathBuf, Report)],
    created: impl Into<String>,
) -> Result<Report, MergeError> {
    let mut merger = Merger::new();
    for (path, report) in reports {
        merger.add(path, report)?;
    }
    merger.finish(created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn segment(values_ms: &[u64], errors: f64) -> Report {
        let mut h = LatencyHistogram::new();
        for v in values_ms {
            h.record(Duration::from_millis(*v));
        }
        let mut b = Benchmark::new("total", metric::LATENCY);
        b.measurements.push(h.to_measurement(metric::LATENCY));
        b.measurements.push(Measurement::from_value(
            "requests",
            Unit::Count,
            values_ms.len() as f64 + errors,
        ));
        b.measurements
            .push(Measurement::from_value("errors", Unit::Count, errors));
        b.measurements.push(Measurement::from_value(
            "status.200",
            Unit::Count,
            values_ms.len() as f64,
        ));
        let mut r = Report::new(ReportKind::Load, "2026-01-01T00:00:00Z");
        r.benchmarks.push(b);
        r
    }

    #[test]
    fn merges_histograms_exactly_and_adds_counts() {
        let a: Vec<u64> = (1..=100).collect();
        let b: Vec<u64> = (101..=300).collect();
        let merged = merge_reports(
            &[
                ("a.json".into(), segment(&a, 1.0)),
                ("b.json".into(), segment(&b, 2.0)),
            ],
            "now",
        )
        .unwrap();
        let t = &merged.benchmarks[0];
        let whole: LatencyHistogram = (1..=300u64).map(Duration::from_millis).collect();
        let h = LatencyHistogram::from_measurement(t.measurement("latency").unwrap()).unwrap();
        assert_eq!(h, whole);
        assert_eq!(t.measurement("requests").unwrap().value, Some(303.0));
        assert_eq!(t.measurement("status.200").unwrap().value, Some(300.0));
        let rate = t.measurement("error_rate").unwrap().value.unwrap();
        assert!((rate - 3.0 / 303.0).abs() < 1e-12);
    }

    #[test]
    fn merges_one_report_at_a_time() {
        let mut merger = Merger::new();
        for part in [1..=10u64, 11..=1000, 1001..=5000] {
            let values: Vec<u64> = part.collect();
            merger
                .add(Path::new("part.json"), &segment(&values, 0.0))
                .unwrap();
        }
        let merged = merger.finish("now").unwrap();
        let t = &merged.benchmarks[0];
        let whole: LatencyHistogram = (1..=5000u64).map(Duration::from_millis).collect();
        let h = LatencyHistogram::from_measurement(t.measurement("latency").unwrap()).unwrap();
        assert_eq!(h, whole);
        assert_eq!(
            t.measurement("latency").unwrap().summary,
            whole.percentile_summary()
        );
        assert_eq!(t.measurement("requests").unwrap().value, Some(5000.0));
        assert!(merged.notes[0].message.contains("from 3 segment reports"));
    }

    #[test]
    fn refuses_other_reports() {
        let mut r = segment(&[1], 0.0);
        r.kind = ReportKind::Run;
        let e = merge_reports(&[("run.json".into(), r)], "now").unwrap_err();
        assert!(e.to_string().contains("run.json"), "{e}");
        assert!(matches!(merge_reports(&[], "now"), Err(MergeError::Empty)));
    }
}
