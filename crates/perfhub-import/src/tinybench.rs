//! tinybench's task results, and vitest bench's `--outputJson` file (vitest
//! runs its benchmarks on tinybench).
//!
//! tinybench writes no file of its own; the common export, and the one read
//! here, is the tasks' results as a JSON array:
//!
//! ```js
//! JSON.stringify(bench.tasks.map((t) => ({ name: t.name, result: t.result })))
//! ```
//!
//! Each `result` is read in either of tinybench's shapes, all times in
//! milliseconds per call of the task function:
//!
//! - tinybench 3 and later (read with 6.2): the latency statistics in
//!   `result.latency`: `samples` (kept only with `retainSamples: true` from
//!   tinybench 6 on, and sorted there), `samplesCount` (6), `mean`, `sd`,
//!   `min`, `max`, `mad`, `p50`, `p75`, `p99`, `p995`, `p999`; tinybench 6
//!   adds `result.state` (`completed`, `aborted-with-statistics`, `errored`,
//!   `aborted`, `not-started`). `result.throughput` (the mean of per-sample
//!   rates, not the reciprocal of the mean latency) is not read.
//! - tinybench 2 (read with 2.9, the version vitest 4 runs): the same
//!   statistics at the top of `result`: `samples`, `mean`, `sd`, `min`,
//!   `max`, `p75`, `p99`, `p995`, `p999` (no median nor MAD).
//!
//! vitest's `vitest bench --run --outputJson FILE` (read with vitest 4.1)
//! writes `{"files": [{"filepath", "groups": [{"fullName", "benchmarks":
//! [...]}]}]}`, each benchmark a tinybench 2 result plus `name`,
//! `sampleCount` and `median`, with `samples` always emptied (vitest's
//! `includeSamples` keeps them for its API, never in this file).
//!
//! Samples are kept where the file has them (each one call of the task,
//! milliseconds converted to seconds); otherwise (tinybench 6 without
//! `retainSamples`, and every vitest file) the benchmark keeps tinybench's
//! summary: count, mean, standard deviation, median, minimum, maximum,
//! MAD where tinybench gives it (vitest does not: the summary's `mad`
//! holds 0 there), and the percentiles, as `p50`, `p75`, `p99`, `p99.5`
//! and `p99.9`. A benchmark is named by its task's name; a vitest
//! benchmark by its group's full name and its own, `file > describe >
//! name`, as vitest prints them.
//!
//! `bench.table()` is not read: its figures are rounded text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use perfhub_core::report::metric::WALL_TIME;
use perfhub_core::stats::{OutlierCounts, Summary};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Shape, shown};

/// Whether a JSON document with this outline is tinybench's tasks (an array
/// of `{name, result}`) or vitest's `--outputJson` file (`files[]` with
/// `filepath` and `groups`).
pub(crate) fn sniff(shape: &Shape) -> bool {
    if let Some(task) = shape.first() {
        return task.get("name") == Some(&Shape::String)
            && task.get("result").is_some_and(Shape::is_object);
    }
    shape
        .get("files")
        .and_then(Shape::first)
        .is_some_and(|f| f.has("filepath") && f.get("groups").is_some_and(Shape::is_array))
}

/// Imports the tinybench tasks or vitest bench file at `path`.
pub fn import_tinybench(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_tinybench(&json::read_text(path)?, path, options)
}

/// Imports tinybench's tasks (a JSON array of `{name, result}`) or vitest
/// bench's `--outputJson` file (an object with `files`); `source` names it
/// in errors and in the report's note.
pub fn parse_tinybench(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let vitest = text.trim_start().starts_with('{');
    let (benchmarks, skipped) = if vitest {
        read_vitest(json::typed(text, &location)?, &location)?
    } else {
        read_tasks(json::typed(text, &location)?, &location)?
    };
    if benchmarks.is_empty() {
        let hint = if !skipped.is_empty() {
            format!(
                "no task has results (without statistics: {})",
                skipped.join(", ")
            )
        } else if vitest {
            "`files` holds no benchmarks; write the file with `vitest bench --run --outputJson FILE`".into()
        } else {
            "expected tinybench's tasks as a JSON array of {name, result}, written after `await bench.run()` with `JSON.stringify(bench.tasks.map((t) => ({ name: t.name, result: t.result })))`".into()
        };
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint,
        });
    }
    let tool = if vitest { "vitest bench" } else { "tinybench" };
    let mut report = Report::new(ReportKind::Bench, options.created);
    report.notes.push(Note::info(
        if vitest {
            "imported_from_vitest"
        } else {
            "imported_from_tinybench"
        },
        format!(
            "imported from {}'s {} in {} ({} benchmarks)",
            tool,
            if vitest {
                "--outputJson file"
            } else {
                "task results"
            },
            source.display(),
            benchmarks.len()
        ),
    ));
    let summarized: Vec<&str> = benchmarks
        .iter()
        .filter(|b| b.primary().is_some_and(|m| m.samples.is_empty()))
        .map(|b| b.name.as_str())
        .collect();
    if !summarized.is_empty() {
        let why = if vitest {
            "vitest's --outputJson file drops the samples"
        } else {
            "the samples were not retained (tinybench's `retainSamples: true` keeps them)"
        };
        report.notes.push(Note::info(
            "summary_only",
            format!(
                "{tool} gives only summary statistics (count, mean, standard deviation, median, minimum, maximum, percentiles{}) for {} of {} benchmarks: {why}; compare uses them without inventing samples",
                if vitest { "; no MAD" } else { ", MAD" },
                summarized.len(),
                benchmarks.len()
            ),
        ));
    }
    if !skipped.is_empty() {
        report.notes.push(Note::warning(
            "tinybench_task_without_result",
            format!(
                "left out {} task(s) that have no statistics (errored, aborted or not run): {}",
                skipped.len(),
                skipped.join(", ")
            ),
        ));
    }
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

/// One task of tinybench's export.
#[derive(Deserialize)]
struct Task {
    name: String,
    #[serde(default)]
    result: Option<Stats>,
}

/// A task's result, or a vitest benchmark: latency statistics in
/// milliseconds, every field optional so that each shape reads (tinybench
/// 3+ nests them in `latency`; tinybench 2 and vitest have them at the top,
/// and tinybench 3 to 5 write both); what a benchmark needs is checked by
/// [`measurement`]. No `#[serde(flatten)]`, which would buffer the samples.
#[derive(Deserialize, Default)]
struct Stats {
    /// tinybench 6's task state.
    #[serde(default)]
    state: Option<String>,
    /// tinybench 3+'s latency statistics.
    #[serde(default)]
    latency: Option<Box<Stats>>,
    /// A vitest benchmark's name.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    samples: Option<Vec<f64>>,
    #[serde(default, rename = "samplesCount", alias = "sampleCount")]
    count: Option<f64>,
    #[serde(default)]
    mean: Option<f64>,
    #[serde(default)]
    sd: Option<f64>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    mad: Option<f64>,
    #[serde(default, alias = "median")]
    p50: Option<f64>,
    #[serde(default)]
    p75: Option<f64>,
    #[serde(default)]
    p99: Option<f64>,
    #[serde(default)]
    p995: Option<f64>,
    #[serde(default)]
    p999: Option<f64>,
}

impl Stats {
    fn has_statistics(&self) -> bool {
        self.mean.is_some()
    }
}

fn read_tasks(
    tasks: Vec<Task>,
    location: &Location,
) -> Result<(Vec<Benchmark>, Vec<String>), ImportError> {
    let mut names = Names::new(location);
    let mut benchmarks = Vec::with_capacity(tasks.len());
    let mut skipped = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let Some(result) = task.result else {
            skipped.push(task.name);
            continue;
        };
        let state = result.state.clone();
        let (stats, path) = match result.latency {
            Some(latency) => (*latency, format!("[{i}].result.latency")),
            None => (result, format!("[{i}].result")),
        };
        let errored = matches!(
            state.as_deref(),
            Some("errored" | "aborted" | "not-started" | "started")
        );
        if errored || !stats.has_statistics() {
            skipped.push(task.name);
            continue;
        }
        names.insert(&task.name)?;
        let mut b = Benchmark::new(task.name, WALL_TIME);
        b.measurements.push(measurement(stats, &path, location)?);
        benchmarks.push(b);
    }
    Ok((benchmarks, skipped))
}

#[derive(Deserialize)]
struct VitestFile {
    files: Vec<VitestModule>,
}

#[derive(Deserialize)]
struct VitestModule {
    groups: Vec<VitestGroup>,
}

#[derive(Deserialize)]
struct VitestGroup {
    #[serde(rename = "fullName")]
    full_name: String,
    benchmarks: Vec<Stats>,
}

fn read_vitest(
    file: VitestFile,
    location: &Location,
) -> Result<(Vec<Benchmark>, Vec<String>), ImportError> {
    let mut names = Names::new(location);
    let mut benchmarks = Vec::new();
    for (f, module) in file.files.into_iter().enumerate() {
        for (g, group) in module.groups.into_iter().enumerate() {
            for (i, bench) in group.benchmarks.into_iter().enumerate() {
                let path = format!("files[{f}].groups[{g}].benchmarks[{i}]");
                let Some(own) = &bench.name else {
                    return Err(field_error(location, format!("{path}.name"), "missing"));
                };
                let name = format!("{} > {own}", group.full_name);
                names.insert(&name)?;
                let mut b = Benchmark::new(name, WALL_TIME);
                b.measurements.push(measurement(bench, &path, location)?);
                benchmarks.push(b);
            }
        }
    }
    Ok((benchmarks, Vec::new()))
}

/// Names seen so far, refusing a second one.
pub(crate) struct Names<'a> {
    seen: BTreeSet<String>,
    location: &'a Location,
}

impl<'a> Names<'a> {
    pub(crate) fn new(location: &'a Location) -> Self {
        Names {
            seen: BTreeSet::new(),
            location,
        }
    }

    /// Records `name`, or the error that it appears twice.
    pub(crate) fn insert(&mut self, name: &str) -> Result<(), ImportError> {
        if self.seen.insert(name.to_string()) {
            Ok(())
        } else {
            Err(ImportError::Duplicate {
                location: self.location.clone(),
                first: self.location.clone(),
                name: name.to_string(),
            })
        }
    }
}

/// The error about `field`.
pub(crate) fn field_error(
    location: &Location,
    field: impl Into<String>,
    problem: impl Into<String>,
) -> ImportError {
    ImportError::Field {
        location: location.clone(),
        field: field.into(),
        problem: problem.into(),
    }
}

/// A time in milliseconds at `field`, in seconds.
fn millis(x: f64, field: &str, location: &Location) -> Result<f64, ImportError> {
    let seconds = x / 1000.0 + 0.0;
    match json::time_problem(|| format!("{} ms", shown(x)), seconds) {
        Some(p) => Err(field_error(location, field, p)),
        None => Ok(seconds),
    }
}

/// The wall-time measurement of one benchmark's statistics at `path`: its
/// samples where it has them, else its summary.
fn measurement(stats: Stats, path: &str, location: &Location) -> Result<Measurement, ImportError> {
    // vitest's names for the count and the median.
    let vitest = stats.name.is_some();
    let (count_key, median_key) = if vitest {
        ("sampleCount", "median")
    } else {
        ("samplesCount", "p50")
    };
    let at = |key: &str| format!("{path}.{key}");
    let need = |value: Option<f64>, key: &str| -> Result<f64, ImportError> {
        let x = value.ok_or_else(|| field_error(location, at(key), "missing"))?;
        millis(x, &at(key), location)
    };
    let mean = need(stats.mean, "mean")?;
    let count = match stats.count {
        Some(c) if c >= 0.0 && c.fract() == 0.0 && c < 2f64.powi(53) => Some(c as usize),
        Some(c) => {
            return Err(field_error(
                location,
                at(count_key),
                format!(
                    "expected a whole number from 0, found {}; {DAMAGED}",
                    shown(c)
                ),
            ));
        }
        None => None,
    };
    if let Some(samples) = stats.samples.filter(|s| !s.is_empty()) {
        if let Some(n) = count
            && n != samples.len()
        {
            return Err(field_error(
                location,
                at("samples"),
                format!(
                    "{} samples, but the samples count says {n}; {DAMAGED}",
                    samples.len()
                ),
            ));
        }
        let seconds = samples
            .iter()
            .enumerate()
            .map(|(i, &x)| millis(x, &format!("{path}.samples[{i}]"), location))
            .collect::<Result<Vec<f64>, _>>()?;
        let m = Measurement::from_samples(WALL_TIME, Unit::Seconds, seconds);
        let of_samples = m.summary.as_ref().map_or(mean, |s| s.mean);
        if (of_samples - mean).abs() > 1e-6 * mean.abs().max(of_samples.abs()) {
            return Err(field_error(
                location,
                at("mean"),
                format!(
                    "the mean of the samples, {} ms, is not the result's mean {} ms; {DAMAGED}",
                    shown(of_samples * 1000.0),
                    shown(mean * 1000.0)
                ),
            ));
        }
        return Ok(m);
    }
    // Only the statistics: tinybench 6 without `retainSamples`, or vitest.
    let n = count.ok_or_else(|| {
        field_error(
            location,
            at(count_key),
            "missing: without samples, the statistics need their count",
        )
    })?;
    let min = need(stats.min, "min")?;
    let max = need(stats.max, "max")?;
    let median = need(stats.p50, median_key)?;
    let (stddev, spread_unknown) = match stats.sd {
        Some(sd) if sd.is_finite() && sd >= 0.0 => (sd / 1000.0, false),
        Some(sd) => {
            return Err(field_error(
                location,
                at("sd"),
                format!(
                    "{} is not a standard deviation (a number from 0); {DAMAGED}",
                    shown(sd)
                ),
            ));
        }
        None => (0.0, true),
    };
    let (mad, mad_unknown) = match stats.mad {
        Some(mad) => (millis(mad, &at("mad"), location)?, false),
        None => (0.0, true),
    };
    if min > max {
        return Err(field_error(
            location,
            at("min"),
            format!(
                "{} ms is above the maximum {} ms; {DAMAGED}",
                shown(min * 1000.0),
                shown(max * 1000.0)
            ),
        ));
    }
    let slack = 1e-9 * max;
    let within = |x: f64, key: &str| -> Result<(), ImportError> {
        if x < min - slack || x > max + slack {
            return Err(field_error(
                location,
                at(key),
                format!(
                    "{} ms is outside the minimum {} ms and maximum {} ms; {DAMAGED}",
                    shown(x * 1000.0),
                    shown(min * 1000.0),
                    shown(max * 1000.0)
                ),
            ));
        }
        Ok(())
    };
    within(mean, "mean")?;
    within(median, median_key)?;
    let mut percentiles = BTreeMap::from([("p50".to_string(), median)]);
    for (key, name, value) in [
        ("p75", "p75", stats.p75),
        ("p99", "p99", stats.p99),
        ("p995", "p99.5", stats.p995),
        ("p999", "p99.9", stats.p999),
    ] {
        if let Some(x) = value {
            let x = millis(x, &at(key), location)?;
            within(x, key)?;
            percentiles.insert(name.to_string(), x);
        }
    }
    Ok(Measurement {
        metric: WALL_TIME.to_string(),
        unit: Unit::Seconds,
        samples: Vec::new(),
        value: None,
        summary: Some(Summary {
            n,
            mean,
            stddev,
            median,
            min,
            max,
            mad,
            percentiles,
            mean_ci: None,
            outliers: OutlierCounts::default(),
            spread_unknown,
            mad_unknown,
        }),
        histogram: None,
        histogram_unit: None,
        better: None,
    }
    .known_better())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn fixture(name: &str) -> (String, std::path::PathBuf) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/tinybench")
            .join(name);
        (std::fs::read_to_string(&path).unwrap(), path)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_tinybench(text, Path::new("bench.json"), &options())
    }

    /// The tool's own mean, in seconds, of every benchmark in a fixture, by
    /// the name the importer gives it.
    fn own_means(text: &str) -> Vec<(String, f64, Option<usize>)> {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        if let Some(files) = v.get("files") {
            for f in files.as_array().unwrap() {
                for g in f["groups"].as_array().unwrap() {
                    for b in g["benchmarks"].as_array().unwrap() {
                        out.push((
                            format!(
                                "{} > {}",
                                g["fullName"].as_str().unwrap(),
                                b["name"].as_str().unwrap()
                            ),
                            b["mean"].as_f64().unwrap() / 1000.0,
                            None,
                        ));
                    }
                }
            }
        } else {
            for t in v.as_array().unwrap() {
                let r = &t["result"];
                let stats = r.get("latency").unwrap_or(r);
                let n = stats
                    .get("samples")
                    .and_then(|s| s.as_array())
                    .map(Vec::len);
                out.push((
                    t["name"].as_str().unwrap().to_string(),
                    stats["mean"].as_f64().unwrap() / 1000.0,
                    n,
                ));
            }
        }
        out
    }

    #[test]
    fn every_fixture_is_detected_and_its_means_match_the_tools_within_0_1_percent() {
        for (file, summary_only) in [
            ("tinybench-6-samples.json", false),
            ("tinybench-6-summary.json", true),
            ("tinybench-2.json", false),
            ("vitest-4.json", true),
        ] {
            let (text, path) = fixture(file);
            assert_eq!(crate::detect_text(&text), Some(Format::Tinybench), "{file}");
            let report = parse_tinybench(&text, &path, &options()).unwrap();
            let own = own_means(&text);
            assert_eq!(report.benchmarks.len(), own.len(), "{file}");
            for (name, mean, n) in own {
                let b = report
                    .benchmark(&name)
                    .unwrap_or_else(|| panic!("{file}: {name}"));
                assert_eq!(b.primary_metric, WALL_TIME);
                let m = b.primary().unwrap();
                let imported = if m.samples.is_empty() {
                    m.summary.as_ref().unwrap().mean
                } else {
                    m.samples.iter().sum::<f64>() / m.samples.len() as f64
                };
                let error = (imported - mean).abs() / mean;
                assert!(error < 1e-3, "{file}: {name}: {imported} vs {mean}");
                eprintln!(
                    "{file}: {name}: imported {imported:e} s, tool {mean:e} s, error {error:e}"
                );
                assert_eq!(m.samples.is_empty(), summary_only, "{file}: {name}");
                if let Some(n) = n {
                    assert_eq!(m.samples.len(), n, "{file}: {name}");
                }
            }
            assert_eq!(
                report.notes.iter().any(|n| n.code == "summary_only"),
                summary_only,
                "{file}"
            );
        }
    }

    #[test]
    fn a_summary_keeps_tinybenchs_statistics_in_seconds() {
        let (text, path) = fixture("tinybench-6-summary.json");
        let report = parse_tinybench(&text, &path, &options()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let lat = &v[0]["result"]["latency"];
        let s = report.benchmarks[0]
            .primary()
            .unwrap()
            .summary
            .clone()
            .unwrap();
        assert_eq!(s.n as u64, lat["samplesCount"].as_u64().unwrap());
        for (ours, key) in [
            (s.mean, "mean"),
            (s.stddev, "sd"),
            (s.median, "p50"),
            (s.min, "min"),
            (s.max, "max"),
            (s.mad, "mad"),
            (s.percentiles["p99.9"], "p999"),
        ] {
            assert!(
                (ours - lat[key].as_f64().unwrap() / 1000.0).abs() < 1e-15,
                "{key}"
            );
        }
        assert!(!s.spread_unknown);

        let (text, path) = fixture("vitest-4.json");
        let report = parse_tinybench(&text, &path, &options()).unwrap();
        let b = report
            .benchmark("arrays.bench.js > arrays > sort copy")
            .unwrap();
        let s = b.primary().unwrap().summary.clone().unwrap();
        assert_eq!(s.n, 295);
        let own: serde_json::Value = serde_json::from_str(&text).unwrap();
        let median = own["files"][0]["groups"][1]["benchmarks"][0]["median"]
            .as_f64()
            .unwrap();
        assert!((s.median - median / 1000.0).abs() < 1e-15);
        assert_eq!(s.mad, 0.0);
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.code == "imported_from_vitest")
        );
    }

    #[test]
    fn other_formats_are_not_claimed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "benchmarkjs/benchmarkjs-2.1.4.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let shape = Shape::of(&text).unwrap();
            assert!(!sniff(&shape), "{file}");
        }
    }

    #[test]
    fn malformed_input_is_refused_naming_the_field() {
        let cases = [
            (
                r#"[{"name": "a", "result": {"latency": {"mean": "x"}}}]"#,
                "bench.json: field `[0].result.latency.mean`",
            ),
            (
                r#"[{"name": "a", "result": {"latency": {"mean": 1, "samples": [1, -1]}}}]"#,
                "bench.json: field `[0].result.latency.samples[1]`: -1 ms is negative",
            ),
            (
                r#"[{"name": "a", "result": {"samples": [1, 2], "mean": 5}}]"#,
                "bench.json: field `[0].result.mean`: the mean of the samples, 1.5 ms, is not the result's mean 5 ms",
            ),
            (
                r#"[{"name": "a", "result": {"latency": {"mean": 1, "min": 1, "max": 1, "p50": 1}}}]"#,
                "bench.json: field `[0].result.latency.samplesCount`: missing",
            ),
            (
                r#"[{"name": "a", "result": {"latency": {"mean": 1, "samplesCount": 3, "min": 2, "max": 3, "p50": 2}}}]"#,
                "bench.json: field `[0].result.latency.mean`: 1 ms is outside the minimum 2 ms",
            ),
            (
                r#"{"files": [{"filepath": "a.js", "groups": [{"fullName": "a.js", "benchmarks": [{"name": "x", "mean": 1e30, "sampleCount": 1, "min": 1, "max": 1, "median": 1}]}]}]}"#,
                "bench.json: field `files[0].groups[0].benchmarks[0].mean`: 1e30 ms is longer than any measurement",
            ),
            (
                r#"{"files": [{"filepath": "a.js", "groups": [{"fullName": "a.js", "benchmarks": [{"name": "x"}]}]}]}"#,
                "bench.json: field `files[0].groups[0].benchmarks[0].mean`: missing",
            ),
            (
                r#"[{"name": "a", "result": {"samples": [1], "mean": 1}}, {"name": "a", "result": {"samples": [1], "mean": 1}}]"#,
                "benchmark `a` appears twice",
            ),
            ("[", "bench.json: invalid JSON"),
            ("[]", "bench.json: no benchmark results"),
            (
                r#"[{"name": "a", "result": {"state": "errored"}}]"#,
                "no task has results (without statistics: a)",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}\n{err}");
        }
    }

    #[test]
    fn tasks_without_statistics_are_left_out_with_a_warning() {
        let text = r#"[{"name": "ok", "result": {"state": "completed", "latency": {"mean": 2, "samples": [1, 3]}}},
            {"name": "boom", "result": {"state": "errored", "error": {}}},
            {"name": "never"}]"#;
        let report = parse(text).unwrap();
        assert_eq!(report.benchmarks.len(), 1);
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "tinybench_task_without_result")
            .unwrap();
        assert!(note.message.contains("boom, never"), "{}", note.message);
    }
}
