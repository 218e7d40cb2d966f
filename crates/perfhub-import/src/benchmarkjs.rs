//! benchmark.js results saved as JSON (read with benchmark.js 2.1.4).
//!
//! benchmark.js writes no file of its own; the common export, read here, is
//! the suite's benchmarks as a JSON array, written in the suite's
//! `complete` handler:
//!
//! ```js
//! JSON.stringify(this.map((b) => ({ name: b.name, hz: b.hz, stats: b.stats,
//!   times: b.times, count: b.count, cycles: b.cycles })))
//! ```
//!
//! (`JSON.stringify` of the `Benchmark` objects themselves gives the same
//! fields and reads too.) Of each benchmark, `name` and `stats` are read:
//! `stats.sample` holds the mean time per operation of each sampled cycle,
//! in seconds, and `stats.mean` is their mean; both are kept, the samples
//! as the wall-time samples. `hz` (`1 / stats.mean`), `stats.deviation`,
//! `stats.moe`, `stats.rme`, `count`, `cycles` and `times` follow from them
//! or from how benchmark.js ran, and are not read. A benchmark that errored
//! or was aborted has an empty `stats.sample`: it is left out with a
//! warning note.

use std::path::Path;

use perfhub_core::report::metric::WALL_TIME;
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Shape, shown};
use crate::tinybench::{Names, field_error};

/// Whether a JSON document with this outline is benchmark.js's benchmarks:
/// an array whose first element has `stats` with a `sample` array and
/// benchmark.js's `deviation` or `rme`.
pub(crate) fn sniff(shape: &Shape) -> bool {
    shape.first().and_then(|b| b.get("stats")).is_some_and(|s| {
        s.get("sample").is_some_and(Shape::is_array) && (s.has("deviation") || s.has("rme"))
    })
}

/// Imports the benchmark.js results at `path`.
pub fn import_benchmarkjs(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_benchmarkjs(&json::read_text(path)?, path, options)
}

#[derive(Deserialize)]
struct Bench {
    #[serde(default)]
    name: Option<String>,
    stats: Stats,
}

#[derive(Deserialize)]
struct Stats {
    sample: Vec<f64>,
    mean: f64,
}

/// Imports benchmark.js results (a JSON array of benchmarks with `name` and
/// `stats`); `source` names it in errors and in the report's note.
pub fn parse_benchmarkjs(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let benches: Vec<Bench> = json::typed(text, &location)?;
    let mut names = Names::new(&location);
    let mut benchmarks = Vec::with_capacity(benches.len());
    let mut skipped = Vec::new();
    for (i, bench) in benches.into_iter().enumerate() {
        let Some(name) = bench.name else {
            return Err(field_error(
                &location,
                format!("[{i}].name"),
                "missing: export each benchmark's `name` (benchmark.js's `new Benchmark(name, fn)` or `suite.add(name, fn)`)",
            ));
        };
        if bench.stats.sample.is_empty() {
            skipped.push(name);
            continue;
        }
        names.insert(&name)?;
        let mut samples = bench.stats.sample;
        for (j, x) in samples.iter_mut().enumerate() {
            if let Some(p) = json::time_problem(|| format!("{} s", shown(*x)), *x) {
                return Err(field_error(
                    &location,
                    format!("[{i}].stats.sample[{j}]"),
                    p,
                ));
            }
            *x += 0.0;
        }
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let own = bench.stats.mean;
        if (mean - own).abs() > 1e-6 * mean.abs().max(own.abs()) || own.is_nan() {
            return Err(field_error(
                &location,
                format!("[{i}].stats.mean"),
                format!(
                    "the mean of `stats.sample`, {} s, is not benchmark.js's mean {} s; {DAMAGED}",
                    shown(mean),
                    shown(own)
                ),
            ));
        }
        let mut b = Benchmark::new(name, WALL_TIME);
        b.measurements
            .push(Measurement::from_samples(WALL_TIME, Unit::Seconds, samples));
        benchmarks.push(b);
    }
    if benchmarks.is_empty() {
        let hint = if skipped.is_empty() {
            "expected benchmark.js's benchmarks as a JSON array, written in the suite's `complete` handler with `JSON.stringify(this.map((b) => ({ name: b.name, hz: b.hz, stats: b.stats })))`".to_string()
        } else {
            format!(
                "no benchmark has samples (errored or aborted: {})",
                skipped.join(", ")
            )
        };
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint,
        });
    }
    let mut report = Report::new(ReportKind::Bench, options.created);
    report.notes.push(Note::info(
        "imported_from_benchmarkjs",
        format!(
            "imported from benchmark.js's results in {} ({} benchmarks)",
            source.display(),
            benchmarks.len()
        ),
    ));
    if !skipped.is_empty() {
        report.notes.push(Note::warning(
            "benchmarkjs_without_samples",
            format!(
                "left out {} benchmark(s) with no samples (errored or aborted): {}",
                skipped.len(),
                skipped.join(", ")
            ),
        ));
    }
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    const FIXTURE: &str = include_str!("../../../fixtures/benchmarkjs/benchmarkjs-2.1.4.json");

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_benchmarkjs(
            text,
            Path::new("suite.json"),
            &ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap()),
        )
    }

    #[test]
    fn the_fixture_is_detected_and_its_means_match_benchmarkjs_within_0_1_percent() {
        assert_eq!(crate::detect_text(FIXTURE), Some(Format::BenchmarkJs));
        let report = parse(FIXTURE).unwrap();
        let v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let own = v.as_array().unwrap();
        assert_eq!(report.benchmarks.len(), own.len());
        for b in own {
            let name = b["name"].as_str().unwrap();
            let ours = report.benchmark(name).unwrap().primary().unwrap();
            let samples = b["stats"]["sample"].as_array().unwrap();
            assert_eq!(ours.samples.len(), samples.len(), "{name}");
            let mean = ours.samples.iter().sum::<f64>() / ours.samples.len() as f64;
            let theirs = b["stats"]["mean"].as_f64().unwrap();
            let error = (mean - theirs).abs() / theirs;
            eprintln!("{name}: imported {mean:e} s, benchmark.js {theirs:e} s, error {error:e}");
            assert!(error < 1e-3, "{name}");
            // benchmark.js's mean is exactly the mean of its samples.
            assert_eq!(mean, theirs, "{name}");
            assert!(
                (1.0 / mean - b["hz"].as_f64().unwrap()).abs() < 1e-6 * b["hz"].as_f64().unwrap()
            );
        }
    }

    #[test]
    fn other_formats_are_not_claimed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "tinybench/tinybench-2.json",
            "tinybench/tinybench-6-samples.json",
            "tinybench/vitest-4.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            assert!(!sniff(&Shape::of(&text).unwrap()), "{file}");
        }
    }

    #[test]
    fn malformed_input_is_refused_naming_the_field() {
        for (text, expected) in [
            (
                r#"[{"name": "a", "stats": {"sample": [1e-6, "x"], "mean": 1e-6}}]"#,
                "suite.json: field `[0].stats.sample[1]`",
            ),
            (
                r#"[{"name": "a", "stats": {"sample": [1e-6, -1e-6], "mean": 0}}]"#,
                "suite.json: field `[0].stats.sample[1]`: -0.000001 s is negative",
            ),
            (
                r#"[{"name": "a", "stats": {"sample": [1, 3], "mean": 1}}]"#,
                "suite.json: field `[0].stats.mean`: the mean of `stats.sample`, 2 s, is not benchmark.js's mean 1 s",
            ),
            (
                r#"[{"stats": {"sample": [1], "mean": 1}}]"#,
                "suite.json: field `[0].name`: missing",
            ),
            (
                r#"[{"name": "a"}]"#,
                "suite.json: field `[0]`: missing field `stats`",
            ),
            (
                r#"[{"name": "a", "stats": {"sample": [1], "mean": 1}}, {"name": "a", "stats": {"sample": [1], "mean": 1}}]"#,
                "benchmark `a` appears twice",
            ),
            ("[]", "suite.json: no benchmark results"),
            (
                r#"[{"name": "a", "stats": {"sample": [], "mean": 0}}]"#,
                "no benchmark has samples (errored or aborted: a)",
            ),
            ("{", "suite.json: invalid JSON"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}\n{err}");
        }
    }
}
