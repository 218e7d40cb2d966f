//! pyperf's JSON file: what `python -m pyperf timeit ... -o FILE` and a
//! script's `pyperf.Runner` (`bench_func`, `bench_time_func`, ... with
//! `-o FILE`) write, plain or gzip-compressed (`-o FILE.json.gz`); read
//! from pyperf 2.11.0, file format version `1.0` (pyperf 1.0 and later).
//!
//! The document holds `version`, the `metadata` common to every benchmark
//! and `benchmarks[]`, each with its own `metadata` (overriding the common
//! one) and `runs[]`. A run (one worker process) has its `metadata`
//! (overriding its benchmark's), its `warmups` (pairs of loops and value,
//! not samples) and its `values`; a run without `values` is a calibration
//! run. The metadata name the benchmark (`name`), the unit of its values
//! (`unit`: `second` by default, `byte` with `--tracemalloc` or
//! `--track-memory`), and the `loops` and `inner_loops` of each value. In
//! version 1.0 every value is already divided by `loops × inner_loops`: it
//! is the time of one iteration, and pyperf's own mean (`pyperf stats`) is
//! the mean of every run's values.
//!
//! A benchmark becomes one perfhub benchmark whose samples are those
//! values: wall time per iteration for `second`, the peak memory for
//! `byte`; each run's `mem_max_rss` (the worker's peak RSS), where every
//! run has one, becomes a `max_rss` measurement with one sample per run.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use perfhub_core::report::Better;
use perfhub_core::report::metric::{MAX_RSS, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, shown};
use crate::pytest_benchmark::seconds_problem;

/// The peak memory a benchmark used, bytes: pyperf's `--tracemalloc`
/// (tracemalloc's peak) and `--track-memory` (the process's peak usage)
/// figures. (A name for [`crate::metric`].)
const PEAK_MEMORY: &str = "peak_memory";

/// Whether the document looks like pyperf's: a `benchmarks` array whose
/// items have `runs`.
pub(crate) fn sniff(shape: &json::Shape) -> bool {
    shape
        .get("benchmarks")
        .and_then(json::Shape::first)
        .is_some_and(|b| b.has("runs"))
}

/// Imports the pyperf JSON file at `path`, gzip-compressed or not (pyperf
/// compresses what it writes to a `.gz` path).
pub fn import_pyperf(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_pyperf(&read_maybe_gzip(path)?, path, options)
}

/// The text of `path`, decompressed when it starts with gzip's magic bytes.
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<String, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::read(path, e))?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return String::from_utf8(bytes).map_err(|e| {
            ImportError::read(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        });
    }
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .map_err(|e| {
            ImportError::read(
                path,
                std::io::Error::new(e.kind(), format!("not a gzip file of JSON text: {e}")),
            )
        })?;
    Ok(text)
}

#[derive(Deserialize)]
struct Suite<'a> {
    #[serde(borrow)]
    version: Version<'a>,
    #[serde(default, borrow)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow)]
    benchmarks: Vec<Bench<'a>>,
}

/// The file format's version: `"1.0"` since pyperf 1.0; the `perf`
/// module's files before it had numbers (5, 6).
#[derive(Deserialize)]
#[serde(untagged)]
enum Version<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(f64),
}

/// The metadata the importer reads; the rest is skipped.
#[derive(Deserialize, Default, Clone)]
struct Meta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    unit: Option<Cow<'a, str>>,
    #[serde(default)]
    mem_max_rss: Option<u64>,
}

impl<'a> Meta<'a> {
    /// `self` with `over`'s fields where it has them.
    fn under(&self, over: Option<&Meta<'a>>) -> Meta<'a> {
        let Some(over) = over else {
            return self.clone();
        };
        Meta {
            name: over.name.clone().or_else(|| self.name.clone()),
            unit: over.unit.clone().or_else(|| self.unit.clone()),
            mem_max_rss: over.mem_max_rss.or(self.mem_max_rss),
        }
    }
}

#[derive(Deserialize)]
struct Bench<'a> {
    #[serde(default, borrow)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow)]
    runs: Vec<Run<'a>>,
}

#[derive(Deserialize)]
struct Run<'a> {
    #[serde(default, borrow)]
    metadata: Option<Meta<'a>>,
    #[serde(default)]
    values: Vec<f64>,
}

/// Imports a pyperf JSON document; `source` names it in errors and in the
/// report's note. Each benchmark is named by its `name` metadata.
pub fn parse_pyperf(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let suite: Suite<'_> = json::typed(text, &location)?;
    let field_error = |field: String, problem: String| ImportError::Field {
        location: location.clone(),
        field,
        problem,
    };
    match &suite.version {
        Version::Text(v) if v == "1.0" => {}
        Version::Text(v) => {
            return Err(field_error(
                "version".into(),
                format!(
                    "pyperf file format {v:?} is not one perfhub reads (it reads \"1.0\", what pyperf 1.0 and later write)"
                ),
            ));
        }
        Version::Number(v) => {
            return Err(field_error(
                "version".into(),
                format!(
                    "file format {v} is the old `perf` module's; convert it with `python -m pyperf convert OLD.json -o NEW.json` (pyperf 1.0 or later), which writes format \"1.0\""
                ),
            ));
        }
    }
    if suite.benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "`benchmarks` is empty: write the results with `python -m pyperf timeit ... -o FILE`, or run a pyperf.Runner script with `-o FILE`".into(),
        });
    }
    let common = suite.metadata.unwrap_or_default();
    let mut names = BTreeSet::new();
    let mut benchmarks = Vec::with_capacity(suite.benchmarks.len());
    let mut memory = Vec::new();
    for (i, b) in suite.benchmarks.iter().enumerate() {
        let meta = common.under(b.metadata.as_ref());
        let Some(name) = meta.name.as_deref() else {
            return Err(field_error(
                format!("benchmarks[{i}].metadata.name"),
                "missing (pyperf names every benchmark)".into(),
            ));
        };
        if !names.insert(name.to_string()) {
            return Err(ImportError::Duplicate {
                location: location.clone(),
                first: location.clone(),
                name: name.to_string(),
            });
        }
        let unit = meta.unit.as_deref().unwrap_or("second");
        let (metric, perfhub_unit) = match unit {
            "second" => (WALL_TIME, Unit::Seconds),
            "byte" => (PEAK_MEMORY, Unit::Bytes),
            other => {
                return Err(field_error(
                    format!("benchmarks[{i}].metadata.unit"),
                    format!(
                        "unit {other:?} is not a measurement perfhub imports (it reads \"second\", and \"byte\" from --tracemalloc or --track-memory); pyperf writes \"integer\" only for metadata extracted with `pyperf convert --extract-metadata`"
                    ),
                ));
            }
        };
        let mut values = Vec::new();
        let mut rss = Vec::new();
        let mut every_run_has_rss = true;
        for (r, run) in b.runs.iter().enumerate() {
            if run.values.is_empty() {
                // A calibration run: warmups only.
                continue;
            }
            for (v, &x) in run.values.iter().enumerate() {
                let problem = if perfhub_unit == Unit::Seconds {
                    seconds_problem(x)
                } else if !(x.is_finite() && x >= 0.0) {
                    Some(format!(
                        "{} bytes is negative, and a size cannot be; {}",
                        shown(x),
                        json::DAMAGED
                    ))
                } else {
                    None
                };
                if let Some(p) = problem {
                    return Err(field_error(
                        format!("benchmarks[{i}].runs[{r}].values[{v}]"),
                        p,
                    ));
                }
            }
            values.extend_from_slice(&run.values);
            match meta.under(run.metadata.as_ref()).mem_max_rss {
                Some(bytes) => rss.push(bytes as f64),
                None => every_run_has_rss = false,
            }
        }
        if values.is_empty() {
            return Err(field_error(
                format!("benchmarks[{i}].runs"),
                "no run has values, only calibration runs (warmups): run the benchmark without --calibrate-loops to measure it".into(),
            ));
        }
        let mut bench = Benchmark::new(name, metric);
        let mut m = Measurement::from_samples(metric, perfhub_unit, values);
        if metric == PEAK_MEMORY {
            m = m.with_better(Better::Lower);
            memory.push(name.to_string());
        }
        bench.measurements.push(m);
        if every_run_has_rss && !rss.is_empty() {
            bench
                .measurements
                .push(Measurement::from_samples(MAX_RSS, Unit::Bytes, rss));
        }
        benchmarks.push(bench);
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    report.notes.push(Note::info(
        "imported_from_pyperf",
        format!(
            "imported from pyperf's JSON file in {} ({} benchmarks)",
            source.display(),
            benchmarks.len()
        ),
    ));
    if !memory.is_empty() {
        report.notes.push(Note::info(
            "pyperf_memory",
            format!(
                "pyperf measured peak memory, not time, for {} (unit \"byte\", --tracemalloc or --track-memory): their primary metric is `{PEAK_MEMORY}` in bytes",
                memory.join(", ")
            ),
        ));
    }
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::Format;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/pyperf")
            .join(name)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_pyperf(text, Path::new("bench.json"), &options())
    }

    /// pyperf's own figures (`pyperf.BenchmarkSuite.load(FILE)`, then each
    /// benchmark's `mean()` and `len(get_values())`, pyperf 2.11.0).
    const PYPERF_MEANS: [(&str, &str, f64, usize); 8] = [
        ("bench.json", "build_dict[100]", 1.95006152369596e-05, 12),
        ("bench.json", "build_dict[1000]", 0.0002684228437506893, 12),
        ("bench.json", "sorted_x10", 4.295695898311654e-06, 12),
        ("timeit.json", "timeit", 3.0491132594395116e-05, 9),
        ("timeit.json.gz", "timeit", 8.549097677562006e-05, 9),
        ("tracemalloc.json", "build_dict[100]", 213653.66666666666, 3),
        (
            "tracemalloc.json",
            "build_dict[1000]",
            214048.33333333334,
            3,
        ),
        ("tracemalloc.json", "sorted_x10", 213852.0, 3),
    ];

    #[test]
    fn every_mean_is_pyperfs_own() {
        for (file, name, theirs, n) in PYPERF_MEANS {
            let path = fixture(file);
            let report = import_pyperf(&path, &options()).unwrap();
            let b = report.benchmark(name).unwrap();
            let m = b.primary().unwrap();
            assert_eq!(m.samples.len(), n, "{file} {name}");
            let mean = m.summary.as_ref().unwrap().mean;
            assert!(
                ((mean - theirs) / theirs).abs() < 1e-9,
                "{file} {name}: {mean} vs {theirs}"
            );
            if file == "tracemalloc.json" {
                assert_eq!((m.metric.as_str(), m.unit), (PEAK_MEMORY, Unit::Bytes));
                assert_eq!(m.better, Some(Better::Lower));
            } else {
                assert_eq!((m.metric.as_str(), m.unit), (WALL_TIME, Unit::Seconds));
            }
            // One peak RSS per run with values.
            let rss = b.measurement(MAX_RSS).unwrap();
            assert_eq!(rss.samples.len(), if n == 3 { 3 } else { n / 3 }, "{file}");
            assert!(rss.samples.iter().all(|&x| x > 1e6));
            assert!(
                report
                    .notes
                    .iter()
                    .any(|n| n.code == "imported_from_pyperf")
            );
        }
    }

    #[test]
    fn pyperfs_files_are_detected() {
        for file in ["bench.json", "timeit.json", "tracemalloc.json"] {
            let text = std::fs::read_to_string(fixture(file)).unwrap();
            assert_eq!(crate::detect_text(&text), Some(Format::Pyperf), "{file}");
        }
        // The compressed one once decompressed (`detect` reads text).
        let text = read_maybe_gzip(&fixture("timeit.json.gz")).unwrap();
        assert_eq!(crate::detect_text(&text), Some(Format::Pyperf));
    }

    /// bench.json edited by `edit`.
    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let text = std::fs::read_to_string(fixture("bench.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(&mut v);
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
            &edited(|v| v["benchmarks"][0]["runs"][1]["values"][2] = (-3.0).into()),
            &["bench.json: field `benchmarks[0].runs[1].values[2]`: -3 s is negative"],
        );
        refused(
            &edited(|v| v["benchmarks"][1]["runs"][2]["values"][0] = "x".into()),
            &[
                "bench.json: field `benchmarks[1].runs[2].values[0]`",
                "invalid type: string",
            ],
        );
        refused(
            &edited(|v| {
                v["benchmarks"][2]["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            }),
            &["field `benchmarks[2].metadata.name`: missing"],
        );
        refused(
            &edited(|v| v["benchmarks"][2]["metadata"]["name"] = "build_dict[100]".into()),
            &["benchmark `build_dict[100]` appears twice"],
        );
        refused(
            &edited(|v| v["benchmarks"][0]["metadata"]["unit"] = "integer".into()),
            &["field `benchmarks[0].metadata.unit`: unit \"integer\""],
        );
        refused(
            &edited(|v| {
                let runs = v["benchmarks"][0]["runs"].as_array_mut().unwrap();
                runs.truncate(1);
            }),
            &["field `benchmarks[0].runs`: no run has values"],
        );
        refused(
            &edited(|v| v["version"] = 6.into()),
            &["field `version`", "pyperf convert"],
        );
        refused(
            &edited(|v| v["benchmarks"] = serde_json::json!([])),
            &["bench.json: no benchmark results", "-o FILE"],
        );
        refused("{\"version\": \"1.0\", ", &["bench.json: invalid JSON"]);
    }

    #[test]
    fn a_broken_gzip_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.json.gz");
        let bytes = std::fs::read(fixture("timeit.json.gz")).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let message = import_pyperf(&path, &options()).unwrap_err().to_string();
        assert!(message.contains("cut.json.gz: cannot read"), "{message}");
    }
}
