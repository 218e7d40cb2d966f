//! pytest-benchmark's JSON file: what `pytest --benchmark-json=FILE` writes,
//! and the files `--benchmark-save`/`--benchmark-autosave` keep under
//! `.benchmarks/` (read from pytest-benchmark 5.3.1; the layout is the same
//! since 3.0).
//!
//! The document holds `machine_info`, `commit_info`, `version` and
//! `benchmarks[]`; each benchmark has its `name` (`test_sort[10]`), its
//! `fullname` (`bench_sample.py::test_sort[10]`), its `group`, the `params`
//! of a parametrized test and its `stats`: `min`, `max`, `mean`, `stddev`,
//! `median`, `q1`, `q3`, `rounds`, `iterations`, and, where the raw timings
//! were kept, `data`, the time of every round divided by `iterations`
//! (pytest-benchmark's `Metadata.update` divides before it stores; `mean`
//! is the mean of `data`). `--benchmark-json` always writes `data`; the
//! saved files have it only with `--benchmark-save-data`.
//!
//! With `data`, a benchmark's wall time keeps those per-iteration samples;
//! without, only pytest-benchmark's summary statistics are kept (no samples
//! are invented), and the report says so.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use perfhub_core::report::MAX_SECONDS;
use perfhub_core::report::metric::WALL_TIME;
use perfhub_core::stats::{OutlierCounts, Summary};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, shown, time_problem};

/// Whether the document looks like pytest-benchmark's: a `benchmarks`
/// array whose items have a `fullname` and `stats`, or an empty one beside
/// pytest-benchmark's `machine_info` and `commit_info`.
pub(crate) fn sniff(shape: &json::Shape) -> bool {
    let Some(benchmarks) = shape.get("benchmarks").filter(|b| b.is_array()) else {
        return false;
    };
    match benchmarks.first() {
        Some(first) => first.has("fullname") && first.has("stats"),
        None => shape.has("machine_info") && shape.has("commit_info"),
    }
}

/// Why `x` seconds cannot be a measured time (see [`time_problem`]), with
/// the message written only when it cannot: the importers check every
/// sample of files of millions.
pub(crate) fn seconds_problem(x: f64) -> Option<String> {
    if (0.0..=MAX_SECONDS).contains(&x) {
        None
    } else {
        time_problem(|| format!("{} s", shown(x)), x)
    }
}

/// Imports the pytest-benchmark JSON file at `path`.
pub fn import_pytest_benchmark(
    path: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    parse_pytest_benchmark(&json::read_text(path)?, path, options)
}

/// The document, with only what the importer reads.
#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    benchmarks: Vec<Bench<'a>>,
    #[serde(default, borrow)]
    version: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Bench<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    fullname: Cow<'a, str>,
    #[serde(default, borrow)]
    group: Option<Cow<'a, str>>,
    #[serde(default)]
    params: Option<BTreeMap<String, ParamValue>>,
    stats: Stats,
}

/// A parameter's value as the test received it, written as text.
struct ParamValue(String);

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(ParamValue(match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

#[derive(Deserialize)]
struct Stats {
    min: f64,
    max: f64,
    mean: f64,
    stddev: f64,
    median: f64,
    rounds: u64,
    #[serde(default)]
    q1: Option<f64>,
    #[serde(default)]
    q3: Option<f64>,
    #[serde(default)]
    iterations: Option<u64>,
    #[serde(default)]
    data: Option<Vec<f64>>,
}

/// Imports a pytest-benchmark JSON document; `source` names it in errors
/// and in the report's note. A benchmark is named as pytest-benchmark names
/// it (`test_sort[10]`, with its parameters), or by its `fullname`
/// (`bench_other.py::test_concat`) where two modules hold tests of the same
/// name.
pub fn parse_pytest_benchmark(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let doc: Doc<'_> = json::typed(text, &location)?;
    if doc.benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "`benchmarks` is empty: run `pytest --benchmark-json=FILE` on tests that use the `benchmark` fixture (pytest-benchmark leaves out the benchmarks that failed)".into(),
        });
    }

    // `name` where it is unique, else `fullname`.
    let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
    for b in &doc.benchmarks {
        *name_count.entry(b.name.to_string()).or_default() += 1;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut benchmarks = Vec::with_capacity(doc.benchmarks.len());
    let mut summary_only = Vec::new();
    for (i, b) in doc.benchmarks.into_iter().enumerate() {
        let name = if name_count[b.name.as_ref()] > 1 {
            b.fullname.to_string()
        } else {
            b.name.to_string()
        };
        if !seen.insert(name.clone()) {
            return Err(ImportError::Duplicate {
                location: location.clone(),
                first: location.clone(),
                name,
            });
        }
        let has_data = b.stats.data.is_some();
        let bench = read_benchmark(b, name, i, &location)?;
        if !has_data {
            summary_only.push(bench.name.clone());
        }
        benchmarks.push(bench);
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    let version = doc.version.map(|v| format!(" {v}")).unwrap_or_default();
    report.notes.push(Note::info(
        "imported_from_pytest_benchmark",
        format!(
            "imported from pytest-benchmark{version}'s JSON file in {} ({} benchmarks)",
            source.display(),
            benchmarks.len()
        ),
    ));
    if !summary_only.is_empty() {
        report.notes.push(Note::info(
            "summary_only",
            format!(
                "pytest-benchmark's file gives only summary statistics (mean, stddev, median, min, max, quartiles, rounds) for these benchmarks, saved without --benchmark-save-data: {}; compare uses them without inventing samples (pytest-benchmark gives no median absolute deviation, so none is reported)",
                summary_only.join(", ")
            ),
        ));
    }
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

/// One benchmark: its samples where `data` is there, else its summary.
fn read_benchmark(
    b: Bench<'_>,
    name: String,
    index: usize,
    location: &Location,
) -> Result<Benchmark, ImportError> {
    let field = |key: &str| format!("benchmarks[{index}].stats.{key}");
    let error = |key: &str, problem: String| ImportError::Field {
        location: location.clone(),
        field: field(key),
        problem,
    };
    let s = b.stats;
    for (key, x) in [
        ("min", s.min),
        ("max", s.max),
        ("mean", s.mean),
        ("median", s.median),
        ("stddev", s.stddev),
    ]
    .into_iter()
    .chain(s.q1.map(|x| ("q1", x)))
    .chain(s.q3.map(|x| ("q3", x)))
    {
        if let Some(p) = seconds_problem(x) {
            return Err(error(key, p));
        }
    }
    if s.min > s.max {
        return Err(error(
            "min",
            format!(
                "{} s is above the benchmark's max {} s; {DAMAGED}",
                shown(s.min),
                shown(s.max)
            ),
        ));
    }
    if s.rounds == 0 {
        return Err(error(
            "rounds",
            format!("0 rounds cannot have statistics; {DAMAGED}"),
        ));
    }
    if s.iterations == Some(0) {
        return Err(error(
            "iterations",
            format!("0 iterations per round cannot be timed; {DAMAGED}"),
        ));
    }

    let mut bench = Benchmark::new(name, WALL_TIME);
    if let Some(params) = b.params {
        for (k, v) in params {
            bench.parameters.insert(k, v.0);
        }
    }
    if let Some(group) = b.group {
        bench
            .parameters
            .entry("group".into())
            .or_insert_with(|| group.into_owned());
    }

    let measurement = match s.data {
        Some(data) => {
            if data.len() as u64 != s.rounds {
                return Err(error(
                    "data",
                    format!("{} values for {} rounds; {DAMAGED}", data.len(), s.rounds),
                ));
            }
            for (i, &x) in data.iter().enumerate() {
                if let Some(p) = seconds_problem(x) {
                    return Err(error(&format!("data[{i}]"), p));
                }
            }
            let m = Measurement::from_samples(WALL_TIME, Unit::Seconds, data);
            // `data` are per-iteration times whose mean is `mean`: a file
            // whose data are not is not one pytest-benchmark wrote.
            let mean = m.summary.as_ref().map_or(s.mean, |x| x.mean);
            if (mean - s.mean).abs() > 1e-6 * s.mean.abs().max(f64::MIN_POSITIVE) {
                return Err(error(
                    "data",
                    format!(
                        "the mean of the values, {} s, is not the benchmark's mean {} s; {DAMAGED}",
                        shown(mean),
                        shown(s.mean)
                    ),
                ));
            }
            m
        }
        None => {
            let mut percentiles = BTreeMap::new();
            percentiles.insert("p50".to_string(), s.median);
            if let Some(q1) = s.q1 {
                percentiles.insert("p25".to_string(), q1);
            }
            if let Some(q3) = s.q3 {
                percentiles.insert("p75".to_string(), q3);
            }
            Measurement {
                metric: WALL_TIME.to_string(),
                unit: Unit::Seconds,
                samples: Vec::new(),
                value: None,
                summary: Some(Summary {
                    n: usize::try_from(s.rounds).unwrap_or(usize::MAX),
                    mean: s.mean,
                    stddev: s.stddev,
                    median: s.median,
                    min: s.min,
                    max: s.max,
                    mad: 0.0,
                    percentiles,
                    mean_ci: None,
                    outliers: OutlierCounts::default(),
                    spread_unknown: false,
                    mad_unknown: true,
                }),
                histogram: None,
                histogram_unit: None,
                better: None,
            }
            .known_better()
        }
    };
    bench.measurements.push(measurement);
    Ok(bench)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::Format;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/pytest-benchmark")
            .join(name)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_pytest_benchmark(text, Path::new("bench.json"), &options())
    }

    /// The fixture's benchmarks as pytest-benchmark wrote them.
    fn raw(name: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        v["benchmarks"].as_array().unwrap().clone()
    }

    #[test]
    fn real_runs_are_detected_and_keep_per_iteration_samples() {
        for file in ["run-a.json", "run-b.json"] {
            let path = fixture(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(crate::detect_text(&text), Some(Format::PytestBenchmark));
            let report = import_pytest_benchmark(&path, &options()).unwrap();
            let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "test_sort[10]",
                    "test_sort[100]",
                    "test_sort[1000]",
                    "test_sha256[64]",
                    "test_sha256[4096]",
                    "bench_sample.py::test_concat",
                    "test_pedantic_sum",
                    "test_build",
                    "bench_other.py::test_concat",
                ],
                "{file}"
            );
            let sort = report.benchmark("test_sort[10]").unwrap();
            assert_eq!(sort.parameters["n"], "10");
            assert_eq!(sort.parameters["group"], "sort");
            assert!(report.notes.iter().all(|n| n.code != "summary_only"));
            // Every mean is pytest-benchmark's own within 0.1% (in fact
            // to the last digits), over one sample per round.
            for (b, r) in report.benchmarks.iter().zip(raw(file)) {
                let m = b.primary().unwrap();
                let stats = &r["stats"];
                assert_eq!(m.samples.len() as u64, stats["rounds"].as_u64().unwrap());
                let mean = m.summary.as_ref().unwrap().mean;
                let theirs = stats["mean"].as_f64().unwrap();
                assert!(
                    ((mean - theirs) / theirs).abs() < 1e-9,
                    "{}: {mean} vs {theirs}",
                    b.name
                );
                let median = m.summary.as_ref().unwrap().median;
                let theirs = stats["median"].as_f64().unwrap();
                assert!(((median - theirs) / theirs).abs() < 1e-9, "{}", b.name);
            }
            // pedantic(iterations=10): the data are already per call.
            let pedantic = report
                .benchmark("test_pedantic_sum")
                .unwrap()
                .primary()
                .unwrap();
            assert_eq!(pedantic.samples.len(), 20);
            assert!(pedantic.samples.iter().all(|&s| s > 1e-5 && s < 1e-2));
        }
    }

    #[test]
    fn saved_runs_without_data_keep_the_summary_only() {
        let path = fixture("autosave-0001-no-data.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(crate::detect_text(&text), Some(Format::PytestBenchmark));
        let report = import_pytest_benchmark(&path, &options()).unwrap();
        assert_eq!(report.benchmarks.len(), 9);
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "summary_only")
            .unwrap();
        assert!(note.message.contains("test_sort[10]"), "{}", note.message);
        for (b, r) in report
            .benchmarks
            .iter()
            .zip(raw("autosave-0001-no-data.json"))
        {
            let m = b.primary().unwrap();
            assert!(m.samples.is_empty() && m.value.is_none());
            let s = m.summary.as_ref().unwrap();
            let stats = &r["stats"];
            assert_eq!(s.n as u64, stats["rounds"].as_u64().unwrap());
            for (ours, key) in [
                (s.mean, "mean"),
                (s.stddev, "stddev"),
                (s.median, "median"),
                (s.min, "min"),
                (s.max, "max"),
                (s.percentiles["p25"], "q1"),
                (s.percentiles["p75"], "q3"),
            ] {
                assert_eq!(ours, stats[key].as_f64().unwrap(), "{} {key}", b.name);
            }
            assert!(!s.spread_unknown);
        }
    }

    /// run-a.json with its first benchmark edited by `edit`.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let text = std::fs::read_to_string(fixture("run-a.json")).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        edit(&mut v["benchmarks"][0]);
        v.to_string()
    }

    #[track_caller]
    fn refused(text: &str, parts: &[&str]) {
        let message = parse(text).unwrap_err().to_string();
        for part in parts {
            assert!(message.contains(part), "{part:?} not in {message:?}");
        }
    }

    #[test]
    fn malformed_files_are_refused_with_the_field() {
        refused(
            &edited(|b| b["stats"]["data"][3] = (-1.0).into()),
            &["bench.json: field `benchmarks[0].stats.data[3]`: -1 s is negative"],
        );
        refused(
            &edited(|b| b["stats"]["mean"] = "fast".into()),
            &[
                "bench.json: field `benchmarks[0].stats.mean`",
                "invalid type: string",
            ],
        );
        refused(
            &edited(|b| {
                b["stats"].as_object_mut().unwrap().remove("median");
            }),
            &[
                "bench.json: field `benchmarks[0].stats`",
                "missing field `median`",
            ],
        );
        refused(
            &edited(|b| b["stats"]["rounds"] = 3.into()),
            &["field `benchmarks[0].stats.data`: 21 values for 3 rounds"],
        );
        refused(
            &edited(|b| b["stats"]["mean"] = 1.0.into()),
            &["field `benchmarks[0].stats.data`: the mean of the values"],
        );
        refused(
            &edited(|b| b["stats"]["max"] = 1e300.into()),
            &["field `benchmarks[0].stats.max`: 1e300 s is longer than any measurement"],
        );
        refused(
            r#"{"machine_info": {}, "commit_info": {}, "benchmarks": []}"#,
            &["bench.json: no benchmark results", "--benchmark-json"],
        );
        refused(r#"{"benchmarks": [}"#, &["bench.json: invalid JSON"]);
    }

    #[test]
    fn two_tests_of_one_fullname_are_a_duplicate() {
        let text = edited(|b| {
            b["name"] = "test_sort[100]".into();
            b["fullname"] = "bench_sample.py::test_sort[100]".into();
        });
        let err = parse(&text).unwrap_err();
        assert!(
            matches!(&err, ImportError::Duplicate { name, .. } if name == "bench_sample.py::test_sort[100]"),
            "{err}"
        );
    }

    #[test]
    fn the_other_tools_files_are_not_claimed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let shape = json::Shape::of(text.trim_start()).unwrap();
            assert!(!sniff(&shape), "{file}");
            assert!(!crate::pyperf::sniff(&shape), "{file}");
            assert!(!crate::asv::sniff(&shape), "{file}");
        }
    }
}
