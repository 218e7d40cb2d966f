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

use crate::engine::{ConfigError, Segment};
use crate::report::{PARAM_SCHEDULE, PARAM_SEGMENT, PARAM_START_AT, TOTAL};

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// A report is not a load test's.
    #[error("{path}: not a load test report (its kind is {kind}); merge the reports of load tests")]
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
    /// A report is a segment of another test than the first one given.
    #[error("{setting}")]
    NotOneTest {
        /// The report that does not belong.
        path: PathBuf,
        /// The first report given.
        first: PathBuf,
        /// What differs.
        difference: String,
        /// The message, which names the settings one distributed run shares
        /// (`` `start_at` ``, `` `segment` ``).
        #[source]
        setting: ConfigError,
    },
    /// The same segment is given twice.
    #[error("segment {segment} is given twice: {first} and {path}")]
    Duplicate {
        /// The segment, `i/N`.
        segment: String,
        /// The first report holding it.
        first: PathBuf,
        /// The second.
        path: PathBuf,
    },
    /// Not every segment of the test is given.
    #[error(
        "incomplete: segment {missing} of {count} missing; merge the reports of all {count} segments"
    )]
    Incomplete {
        /// The missing segments' numbers, `3` or `2, 4`.
        missing: String,
        /// How many segments the test has.
        count: u32,
    },
    /// A segment report's parameters cannot be read.
    #[error("{path}: the total's parameter {key} = {value:?} is not {expected}")]
    Parameter {
        /// The report.
        path: PathBuf,
        /// The parameter.
        key: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// Which test a report is a part of, from its `total`'s parameters.
struct Part {
    path: PathBuf,
    schedule: Option<String>,
    start_at: Option<String>,
    /// Index from 0, and count.
    segment: Option<(u32, u32)>,
}

impl Part {
    fn of(path: &Path, report: &Report) -> Result<Part, MergeError> {
        let params = report.benchmark(TOTAL).map(|b| &b.parameters);
        let get = |k: &str| params.and_then(|p| p.get(k)).cloned();
        let segment = match get(PARAM_SEGMENT) {
            None => None,
            Some(v) => {
                let s = Segment::parse(&v).map_err(|_| MergeError::Parameter {
                    path: path.to_path_buf(),
                    key: PARAM_SEGMENT,
                    value: v.clone(),
                    expected: "i/N with 1 <= i <= N",
                })?;
                Some((s.index, s.count))
            }
        };
        Ok(Part {
            path: path.to_path_buf(),
            schedule: get(PARAM_SCHEDULE),
            start_at: get(PARAM_START_AT),
            segment,
        })
    }

    /// How `self` differs from `first` as a part of one test, if it does.
    fn difference(&self, first: &Part) -> Option<String> {
        let shown = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".into());
        match (first.segment, self.segment) {
            (None, None) => return None,
            (Some((_, n)), None) => {
                return Some(format!("it is a whole test, the first is a segment of {n}"));
            }
            (None, Some((_, n))) => {
                return Some(format!("it is a segment of {n}, the first is a whole test"));
            }
            (Some((_, a)), Some((_, b))) if a != b => {
                return Some(format!("it is a segment of {b}, the first of {a}"));
            }
            _ => {}
        }
        if self.start_at != first.start_at {
            return Some(format!(
                "it started at {}, the first at {}",
                shown(&self.start_at),
                shown(&first.start_at)
            ));
        }
        if self.schedule != first.schedule {
            return Some(format!(
                "its schedule is {}, the first's {}",
                shown(&self.schedule),
                shown(&first.schedule)
            ));
        }
        None
    }
}

/// Metrics whose values add up across segments.
fn adds_up(metric: &str) -> bool {
    matches!(
        metric,
        metric::REQUESTS
            | "errors"
            | metric::CHECK_FAILURES
            | "sent"
            | metric::LATE
            | metric::DROPPED
            | metric::RETRIED
            | metric::BYTES_SENT
            | metric::BYTES_RECEIVED
            | metric::TARGET_RATE
            | metric::ACHIEVED_RATE
            | metric::THROUGHPUT
    ) || metric.starts_with("errors.")
        || metric.starts_with("status.")
}

const HISTOGRAMS: [&str; 2] = [metric::LATENCY, metric::SERVICE_TIME];

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
    /// The first report's part, which the others must match.
    first: Option<Part>,
    /// The segments seen, by index, with their reports.
    seen: BTreeMap<u32, PathBuf>,
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
        let part = Part::of(path, report)?;
        match &self.first {
            None => {}
            Some(first) => {
                if let Some(difference) = part.difference(first) {
                    let setting = ConfigError::naming(&["start_at", "segment"], |n| {
                        format!(
                            "{} is not a part of the test {} is: {difference}; merge the reports of one distributed run (the same schedule, {} and N in {} i/N)",
                            path.display(),
                            first.path.display(),
                            n[0],
                            n[1]
                        )
                    });
                    return Err(MergeError::NotOneTest {
                        path: path.to_path_buf(),
                        first: first.path.clone(),
                        difference,
                        setting,
                    });
                }
            }
        }
        if let Some((i, n)) = part.segment {
            if let Some(earlier) = self.seen.get(&i) {
                return Err(MergeError::Duplicate {
                    segment: format!("{}/{n}", i + 1),
                    first: earlier.clone(),
                    path: path.to_path_buf(),
                });
            }
            self.seen.insert(i, path.to_path_buf());
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
                    let mut h = m.latency_histogram().map_err(|e| bad(e.to_string()))?;
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
                // A part's counts and connections are its own: the notes
                // that give them are made again from the added counts.
                let per_part = ["segment", "load_model", "late_requests", "dropped_requests"];
                if !per_part.contains(&n.code.as_str())
                    && !into.notes.iter().any(|x| x.code == n.code)
                {
                    into.notes.push(n.clone());
                }
            }
        }
        self.segments += 1;
        if self.first.is_none() {
            self.first = Some(part);
        }
        Ok(())
    }

    /// The merged report, written at `created`.
    pub fn finish(mut self, created: perfhub_core::time::UtcTime) -> Result<Report, MergeError> {
        if self.segments == 0 {
            return Err(MergeError::Empty);
        }
        let first = self.first.take();
        if let Some((_, n)) = first.as_ref().and_then(|f| f.segment) {
            let missing: Vec<String> = (0..n)
                .filter(|i| !self.seen.contains_key(i))
                .map(|i| (i + 1).to_string())
                .collect();
            if !missing.is_empty() {
                return Err(MergeError::Incomplete {
                    missing: missing.join(", "),
                    count: n,
                });
            }
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
            let requests = get(metric::REQUESTS);
            let failed = get("errors") + get(metric::CHECK_FAILURES);
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
            b.notes.extend(crate::report::count_notes(
                get(metric::LATE) as u64,
                get("sent") as u64,
                get(metric::DROPPED) as u64,
            ));
            // What the parts were of: their schedule and start, and how
            // many segments made it.
            if b.name == TOTAL
                && let Some(f) = &first
            {
                for (k, v) in [(PARAM_SCHEDULE, &f.schedule), (PARAM_START_AT, &f.start_at)] {
                    if let Some(v) = v {
                        b.parameters.insert(k.to_string(), v.clone());
                    }
                }
                if let Some((_, n)) = f.segment {
                    b.parameters.insert("segments".to_string(), n.to_string());
                }
            }
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
    created: perfhub_core::time::UtcTime,
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
        let mut r = Report::new(ReportKind::Load, "2026-01-01T00:00:00Z".parse().unwrap());
        r.benchmarks.push(b);
        r
    }

    /// Segment `i` of `n` of the test `schedule` started at `start`.
    fn part(i: u32, n: u32, schedule: &str, start: &str) -> Report {
        let mut r = segment(&[1, 2, 3], 0.0);
        let p = &mut r.benchmarks[0].parameters;
        p.insert(PARAM_SEGMENT.into(), format!("{i}/{n}"));
        p.insert(PARAM_SCHEDULE.into(), schedule.into());
        p.insert(PARAM_START_AT.into(), start.into());
        r
    }

    fn merge_parts(parts: &[Report]) -> Result<Report, MergeError> {
        let named: Vec<(PathBuf, Report)> = parts
            .iter()
            .enumerate()
            .map(|(i, r)| (PathBuf::from(format!("p{i}.json")), r.clone()))
            .collect();
        merge_reports(&named, perfhub_core::time::UtcTime::now())
    }

    #[test]
    fn merges_only_every_segment_of_one_test() {
        let t = "2026-12-05T14:00:00Z";
        let s = "500 requests/s for 20s";
        let all: Vec<Report> = (1..=4).map(|i| part(i, 4, s, t)).collect();
        let merged = merge_parts(&all).unwrap();
        let total = merged.benchmark(TOTAL).unwrap();
        assert_eq!(total.parameters["segments"], "4");
        assert_eq!(total.parameters[PARAM_START_AT], t);
        assert_eq!(total.parameters[PARAM_SCHEDULE], s);
        assert!(!total.parameters.contains_key(PARAM_SEGMENT));
        assert_eq!(total.measurement("requests").unwrap().value, Some(12.0));

        let refused = |parts: &[Report]| merge_parts(parts).unwrap_err().to_string();
        let e = refused(&[all[0].clone(), all[1].clone(), all[3].clone()]);
        assert_eq!(
            e,
            "incomplete: segment 3 of 4 missing; merge the reports of all 4 segments"
        );
        let e = refused(&[all[0].clone(), all[2].clone()]);
        assert!(e.contains("segment 2, 4 of 4 missing"), "{e}");
        let e = refused(&[all[0].clone(), all[1].clone(), all[1].clone()]);
        assert_eq!(e, "segment 2/4 is given twice: p1.json and p2.json");
        for (other, why) in [
            (
                part(2, 4, s, "2026-12-05T14:00:01Z"),
                "it started at 2026-12-05T14:00:01Z, the first at 2026-12-05T14:00:00Z",
            ),
            (
                part(2, 4, "400 requests/s for 20s", t),
                "its schedule is 400 requests/s for 20s, the first's 500 requests/s for 20s",
            ),
            (part(2, 3, s, t), "it is a segment of 3, the first of 4"),
            (
                segment(&[1], 0.0),
                "it is a whole test, the first is a segment of 4",
            ),
        ] {
            let e = refused(&[all[0].clone(), other]);
            assert!(
                e.starts_with("p1.json is not a part of the test p0.json is: "),
                "{e}"
            );
            assert!(e.contains(why), "{e}");
        }
        let mut bad = all[1].clone();
        bad.benchmarks[0]
            .parameters
            .insert(PARAM_SEGMENT.into(), "5/4".into());
        let e = refused(&[all[0].clone(), bad]);
        assert!(e.contains("segment = \"5/4\" is not i/N"), "{e}");
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
            perfhub_core::time::UtcTime::now(),
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

    /// A part's notes that give its own counts or connections are made
    /// again from the added counts, never copied from the first part.
    #[test]
    fn notes_with_counts_are_made_from_the_merged_counts() {
        let parts: Vec<(PathBuf, Report)> = [(1.0, 0.0), (3.0, 2.0)]
            .into_iter()
            .enumerate()
            .map(|(i, (late, dropped))| {
                let mut r = segment(&[1, 2, 3, 4, 5], 0.0);
                let b = &mut r.benchmarks[0];
                for (m, v) in [
                    ("sent", 5.0),
                    (metric::LATE, late),
                    (metric::DROPPED, dropped),
                ] {
                    b.measurements
                        .push(Measurement::from_value(m, Unit::Count, v));
                }
                b.notes
                    .extend(crate::report::count_notes(late as u64, 5, dropped as u64));
                b.notes
                    .push(Note::info("load_model", "open model on 4 connections"));
                (PathBuf::from(format!("p{i}.json")), r)
            })
            .collect();
        let merged = merge_reports(&parts, perfhub_core::time::UtcTime::now()).unwrap();
        let notes = &merged.benchmarks[0].notes;
        let text = |code: &str| {
            notes
                .iter()
                .filter(|n| n.code == code)
                .map(|n| n.message.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(text("late_requests").len(), 1);
        assert!(
            text("late_requests")[0].starts_with("4 of 10 requests"),
            "{notes:?}"
        );
        assert!(
            text("dropped_requests")[0].starts_with("2 requests due"),
            "{notes:?}"
        );
        assert!(text("load_model").is_empty(), "{notes:?}");
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
        let merged = merger.finish(perfhub_core::time::UtcTime::now()).unwrap();
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
        let e = merge_reports(
            &[("run.json".into(), r)],
            perfhub_core::time::UtcTime::now(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("run.json"), "{e}");
        assert!(matches!(
            merge_reports(&[], perfhub_core::time::UtcTime::now()),
            Err(MergeError::Empty)
        ));
    }
}
