//! Other benchmark tools' results as perfhub reports.
//!
//! Each importer reads one tool's output and returns a [`Report`] of kind
//! [`ReportKind::Bench`](perfhub_core::ReportKind::Bench) whose benchmarks
//! have [`WALL_TIME`](perfhub_core::report::metric::WALL_TIME), in seconds
//! per iteration, as their primary metric, with the raw samples where the
//! tool keeps them:
//!
//! - [`import_criterion_dir`]: criterion's `target/criterion` tree
//!   (`benchmark.json`, `sample.json` and `estimates.json` per benchmark and
//!   baseline);
//! - [`parse_cargo_criterion`]: cargo-criterion's `--message-format=json`
//!   stream;
//! - [`parse_libtest`]: libtest's `test NAME ... bench: N ns/iter (+/- D)`
//!   lines (one value per benchmark, no samples);
//! - [`parse_hyperfine`]: hyperfine's `--export-json` file;
//! - [`goose::import_goose_at`] and [`k6::import_k6`]: load tests run by
//!   goose (its JSON report) and k6 (its end-of-test summary), as reports
//!   of kind [`ReportKind::Load`](perfhub_core::ReportKind::Load) with one
//!   benchmark per endpoint and [`TOTAL`](perfhub_core::report::TOTAL);
//! - [`detect`] tells all of these apart, and [`import`] reads any of them.
//!
//! The importers are pure apart from reading their input: the caller passes
//! the report's timestamp in [`ImportOptions`] and fills in the
//! [`Environment`](perfhub_core::Environment). Every error is an
//! [`ImportError`] naming the file (and line) and the field that is wrong.
#![deny(missing_docs)]

mod asv;
mod benchmarkjs;
mod bmf;
mod cargo_criterion;
mod criterion;
mod error;
mod go_test;
mod google_benchmark;
pub mod goose;
mod hyperfine;
mod iai;
mod jmh;
mod json;
pub mod k6;
mod libtest;
mod pyperf;
mod pytest_benchmark;
mod tinybench;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use perfhub_core::Report;
use perfhub_core::time::UtcTime;

pub use asv::{import_asv, parse_asv};
pub use benchmarkjs::{import_benchmarkjs, parse_benchmarkjs};
pub use bmf::{import_bmf, parse_bmf};
pub use cargo_criterion::{import_cargo_criterion, parse_cargo_criterion};
pub use criterion::{DEFAULT_BASELINE, import_criterion_dir};
pub use error::{ImportError, Location};
pub use go_test::{import_go_test, parse_go_test};
pub use google_benchmark::{import_google_benchmark, parse_google_benchmark};
pub use hyperfine::{import_hyperfine, parse_hyperfine};
pub use iai::{import_iai, parse_iai};
pub use jmh::{import_jmh, parse_jmh};
pub use libtest::{import_libtest, parse_libtest};
pub use pyperf::{import_pyperf, parse_pyperf};
pub use pytest_benchmark::{import_pytest_benchmark, parse_pytest_benchmark};
pub use tinybench::{import_tinybench, parse_tinybench};

/// Names of the metrics the importers write besides the well-known ones in
/// [`perfhub_core::report::metric`].
pub mod metric {
    /// Criterion's bootstrap estimate of the slope of total time over
    /// iterations (its headline figure in linear sampling mode), seconds.
    pub const CRITERION_SLOPE: &str = "criterion_slope";
    /// Criterion's bootstrap estimate of the mean time per iteration, seconds.
    pub const CRITERION_MEAN: &str = "criterion_mean";
    /// Criterion's bootstrap estimate of the median time per iteration, seconds.
    pub const CRITERION_MEDIAN: &str = "criterion_median";
    /// Criterion's bootstrap estimate of the standard deviation, seconds.
    pub const CRITERION_STD_DEV: &str = "criterion_std_dev";
    /// Criterion's bootstrap estimate of the median absolute deviation, seconds.
    pub const CRITERION_MEDIAN_ABS_DEV: &str = "criterion_median_abs_dev";
    /// cargo-criterion's typical value (the slope where there is one, else
    /// the mean), seconds.
    pub const CRITERION_TYPICAL: &str = "criterion_typical";
    /// Bytes per second, beside [`THROUGHPUT`](perfhub_core::report::metric::THROUGHPUT)
    /// in elements per second, for criterion's `ElementsAndBytes` throughput.
    pub const BYTE_THROUGHPUT: &str = "byte_throughput";
    /// libtest's `+/-` figure: the range (max − min) of its winsorized
    /// per-iteration samples, seconds.
    pub const LIBTEST_RANGE: &str = "libtest_range";
}

/// What the caller supplies so that the importers stay pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The report's `created` time. None of the formats records when its
    /// run started in a form every version keeps, so the caller decides
    /// (typically the input's modification time, or now).
    pub created: UtcTime,
}

impl ImportOptions {
    /// Options dating the report `created`.
    pub fn new(created: UtcTime) -> Self {
        ImportOptions { created }
    }
}

/// An input format the importers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A criterion output directory (`target/criterion`).
    Criterion,
    /// cargo-criterion's `--message-format=json` stream.
    CargoCriterion,
    /// libtest's `cargo bench` text output.
    Libtest,
    /// hyperfine's `--export-json` file.
    Hyperfine,
    /// goose's JSON report (`--report-file report.json`, goose 0.18 or later).
    Goose,
    /// k6's end-of-test summary (`--summary-export`, or the data
    /// `handleSummary` receives).
    K6,
    /// pytest-benchmark's `--benchmark-json` file (with the raw timings of
    /// `--benchmark-save-data` where present).
    PytestBenchmark,
    /// pyperf's JSON file (`-o`/`--output`).
    Pyperf,
    /// An asv (airspeed velocity) result file from `.asv/results/`.
    Asv,
    /// Google Benchmark's `--benchmark_format=json` (or `--benchmark_out`)
    /// file.
    GoogleBenchmark,
    /// Go's `go test -bench` text output.
    GoTest,
    /// JMH's `-rf json` result file.
    Jmh,
    /// tinybench's task results and vitest bench's `--outputJson` file.
    Tinybench,
    /// benchmark.js results as JSON.
    BenchmarkJs,
    /// Bencher Metric Format (what `perfhub export --to bencher` writes).
    Bmf,
    /// iai-callgrind's (gungraun's) summary JSON.
    Iai,
}

impl Format {
    /// Every format, in the order [`detect`] tries them.
    pub const ALL: [Format; 16] = [
        Format::Criterion,
        Format::CargoCriterion,
        Format::Hyperfine,
        Format::Goose,
        Format::K6,
        Format::PytestBenchmark,
        Format::Pyperf,
        Format::Asv,
        Format::GoogleBenchmark,
        Format::Jmh,
        Format::Tinybench,
        Format::BenchmarkJs,
        Format::Iai,
        Format::Bmf,
        Format::GoTest,
        Format::Libtest,
    ];

    /// Whether reports in this format are load tests (kind `load`, with a
    /// `total` benchmark) rather than micro-benchmarks.
    pub fn is_load_test(self) -> bool {
        matches!(self, Format::Goose | Format::K6)
    }

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Criterion => "criterion",
            Format::CargoCriterion => "cargo-criterion",
            Format::Libtest => "libtest",
            Format::Hyperfine => "hyperfine",
            Format::Goose => "goose",
            Format::K6 => "k6",
            Format::PytestBenchmark => "pytest-benchmark",
            Format::Pyperf => "pyperf",
            Format::Asv => "asv",
            Format::GoogleBenchmark => "google-benchmark",
            Format::GoTest => "go-test",
            Format::Jmh => "jmh",
            Format::Tinybench => "tinybench",
            Format::BenchmarkJs => "benchmarkjs",
            Format::Bmf => "bmf",
            Format::Iai => "iai-callgrind",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown format {s:?} (expected {})", names.join(", "))
            })
    }
}

/// Which format `path` holds: a directory is criterion's output; a file is
/// told apart by its content (see [`detect_text`]).
pub fn detect(path: &Path) -> Result<Format, ImportError> {
    let meta = std::fs::metadata(path).map_err(|e| ImportError::read(path, e))?;
    if meta.is_dir() {
        return Ok(Format::Criterion);
    }
    // pyperf compresses what it writes to a `.gz` path.
    let text = pyperf::read_maybe_gzip(path)?;
    detect_text(&text).ok_or_else(|| {
        json_cut_short(&text, path).unwrap_or_else(|| ImportError::UnknownFormat {
            path: path.to_path_buf(),
        })
    })
}

/// Which format `text` is in. A JSON document is told apart by its
/// outline (read in one pass without building the tree):
/// hyperfine's export has a `results` array, goose's report
/// `raw_request_metrics`, k6's summary a `metrics` object, and each of the
/// other tools' files its own keys (see each format's module). JSON lines
/// with a `reason` are cargo-criterion's stream; text with `BenchmarkX  N
/// ... ns/op` lines is `go test -bench` output, and text with a `test NAME
/// ... bench:` line libtest's.
pub fn detect_text(text: &str) -> Option<Format> {
    let trimmed = text.trim_start();
    // Google Benchmark writes bare `NaN`s, which are not JSON.
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Some(shape) =
            json::Shape::of(trimmed).or_else(|| match google_benchmark::nan_as_null(trimmed) {
                std::borrow::Cow::Owned(fixed) => json::Shape::of(&fixed),
                std::borrow::Cow::Borrowed(_) => None,
            })
    {
        return detect_shape(&shape);
    }
    // cargo-criterion's stream, perhaps with cargo's own lines around it.
    let first_object = text.lines().find(|l| l.trim_start().starts_with('{'));
    if let Some(Ok(serde_json::Value::Object(o))) =
        first_object.map(serde_json::from_str::<serde_json::Value>)
        && o.contains_key("reason")
    {
        return Some(Format::CargoCriterion);
    }
    if go_test::sniff_text(text) {
        return Some(Format::GoTest);
    }
    text.lines()
        .any(libtest::is_bench_line)
        .then_some(Format::Libtest)
}

/// Whether a JSON outline is in a format.
type Sniff = fn(&json::Shape) -> bool;

/// Which format a JSON document with this outline is in.
fn detect_shape(shape: &json::Shape) -> Option<Format> {
    // The tools with distinctive keys first; BMF, whose keys are the
    // benchmarks' own names, last.
    let sniffers: [(Format, Sniff); 12] = [
        (Format::PytestBenchmark, pytest_benchmark::sniff),
        (Format::Pyperf, pyperf::sniff),
        (Format::Asv, asv::sniff),
        (Format::GoogleBenchmark, google_benchmark::sniff),
        (Format::Jmh, jmh::sniff),
        (Format::Tinybench, tinybench::sniff),
        (Format::BenchmarkJs, benchmarkjs::sniff),
        (Format::Iai, iai::sniff),
        (Format::Hyperfine, |s| {
            s.get("results").is_some_and(json::Shape::is_array)
        }),
        (Format::Goose, |s| {
            s.has("raw_request_metrics") || s.has("raw_metrics")
        }),
        (Format::K6, |s| {
            s.get("metrics").is_some_and(json::Shape::is_object)
        }),
        (Format::CargoCriterion, |s| s.has("reason")),
    ];
    if let Some((format, _)) = sniffers.iter().find(|(_, sniff)| sniff(shape)) {
        return Some(*format);
    }
    bmf::sniff(shape).then_some(Format::Bmf)
}

/// `report`, imported from `path`, unless a value in it is impossible: the
/// importers check each field as they read it, and this checks what they
/// made of them.
pub(crate) fn checked(report: Report, path: &Path) -> Result<Report, ImportError> {
    match report.check_values() {
        Ok(()) => Ok(report),
        Err(invalid) => Err(ImportError::Invalid {
            path: path.to_path_buf(),
            invalid,
        }),
    }
}

/// Imports `path` as `format`. `baseline` selects a criterion baseline
/// (`new` when `None`) and is refused for the other formats, which have none.
pub fn import(
    path: &Path,
    format: Format,
    baseline: Option<&str>,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    if format != Format::Criterion
        && let Some(name) = baseline
    {
        return Err(ImportError::baseline_not_applicable(format, name));
    }
    match format {
        Format::Criterion => import_criterion_dir(path, baseline, options),
        Format::CargoCriterion => import_cargo_criterion(path, options),
        Format::Libtest => import_libtest(path, options),
        Format::Hyperfine => import_hyperfine(path, options),
        Format::PytestBenchmark => import_pytest_benchmark(path, options),
        Format::Pyperf => import_pyperf(path, options),
        Format::Asv => import_asv(path, options),
        Format::GoogleBenchmark => import_google_benchmark(path, options),
        Format::GoTest => import_go_test(path, options),
        Format::Jmh => import_jmh(path, options),
        Format::Tinybench => import_tinybench(path, options),
        Format::BenchmarkJs => import_benchmarkjs(path, options),
        Format::Bmf => import_bmf(path, options),
        Format::Iai => import_iai(path, options),
        Format::Goose | Format::K6 => {
            let text = json::read_text(path)?;
            let imported = if format == Format::Goose {
                goose::import_goose_at(&text, options.created).map_err(|e| e.to_string())
            } else {
                k6::import_k6(&text, options.created).map_err(|e| e.to_string())
            };
            imported.map_err(|message| ImportError::LoadReport {
                path: path.to_path_buf(),
                message,
            })
        }
    }
}

/// Tells the format of `path` apart by its content ([`detect`]) and
/// imports it ([`import`]), reading a file once rather than twice: on a
/// large file, the second read costs a tenth of the import.
pub fn import_auto(
    path: &Path,
    baseline: Option<&str>,
    options: &ImportOptions,
) -> Result<(Format, Report), ImportError> {
    let meta = std::fs::metadata(path).map_err(|e| ImportError::read(path, e))?;
    let text = if meta.is_dir() {
        None
    } else {
        // A file that is not text (pyperf's gzip) is read by its importer.
        std::fs::read_to_string(path).ok()
    };
    let Some(text) = text else {
        let format = detect(path)?;
        return import(path, format, baseline, options).map(|r| (format, r));
    };
    let Some(format) = detect_text(&text) else {
        return Err(diagnose(text, path, options));
    };
    if let Some(name) = baseline {
        return Err(ImportError::baseline_not_applicable(format, name));
    }
    let report = parse_as(format, text, path, options)?;
    Ok((format, report))
}

/// Imports `text`, the content of `path`, as `format`.
fn parse_as(
    format: Format,
    text: String,
    path: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    match format {
        Format::CargoCriterion => parse_cargo_criterion(&text, path, options),
        Format::Libtest => parse_libtest(&text, path, options),
        Format::Hyperfine => parse_hyperfine(&text, path, options),
        Format::PytestBenchmark => parse_pytest_benchmark(&text, path, options),
        Format::GoogleBenchmark => google_benchmark::parse_owned(text, path, options),
        Format::GoTest => parse_go_test(&text, path, options),
        Format::Jmh => parse_jmh(&text, path, options),
        Format::Tinybench => parse_tinybench(&text, path, options),
        Format::BenchmarkJs => parse_benchmarkjs(&text, path, options),
        Format::Bmf => parse_bmf(&text, path, options),
        Format::Iai => parse_iai(&text, path, options),
        // asv reads the suite's `benchmarks.json` beside the file, and
        // pyperf may be compressed: their importers read the file; criterion
        // is a directory, and goose and k6 are small.
        Format::Asv | Format::Pyperf | Format::Criterion | Format::Goose | Format::K6 => {
            drop(text);
            import(path, format, None, options)
        }
    }
}

/// Keys (or, for `go test`, words on one line) that a damaged file of a
/// format still shows when its outline no longer fits: the first format
/// all of whose marks are in the text is tried, so that its importer names
/// what is wrong and where.
const MARKS: [(Format, &[&str]); 9] = [
    (
        Format::GoogleBenchmark,
        &["\"context\"", "\"benchmarks\"", "\"num_cpus\""],
    ),
    (
        Format::PytestBenchmark,
        &["\"machine_info\"", "\"benchmarks\""],
    ),
    (
        Format::Pyperf,
        &["\"benchmarks\"", "\"runs\"", "\"metadata\""],
    ),
    (Format::Jmh, &["\"jmhVersion\""]),
    (
        Format::Hyperfine,
        &["\"results\"", "\"command\"", "\"times\""],
    ),
    (Format::Goose, &["\"raw_request_metrics\""]),
    (Format::K6, &["\"metrics\"", "\"http_reqs\""]),
    (Format::Iai, &["\"benchmark_exe\"", "\"module_path\""]),
    (Format::GoTest, &["Benchmark", "ns/op"]),
];

/// Why `auto` could not place `text`: a JSON document that ends part-way
/// says so; a file that still shows a format's marks (see [`MARKS`]) gets
/// that format's importer's error, which names the line or field; anything
/// else is an unknown format.
fn diagnose(text: String, path: &Path, options: &ImportOptions) -> ImportError {
    if text.trim().is_empty() {
        return ImportError::NoResults {
            path: path.to_path_buf(),
            hint: "the file is empty; did the benchmark run write its results there?".into(),
        };
    }
    if let Some(e) = json_cut_short(&text, path) {
        return e;
    }
    let json = {
        let t = text.trim_start();
        t.starts_with('{') || t.starts_with('[')
    };
    let marked = MARKS.iter().find(|(format, marks)| {
        if *format == Format::GoTest {
            !json
                && text
                    .lines()
                    .any(|l| l.starts_with(marks[0]) && l.contains(marks[1]))
        } else {
            json && marks.iter().all(|m| text.contains(m))
        }
    });
    if let Some(&(format, _)) = marked
        && let Err(e) = parse_as(format, text, path, options)
    {
        return e;
    }
    ImportError::UnknownFormat {
        path: path.to_path_buf(),
    }
}

/// A JSON document that ends part-way, as an error that says so and where.
fn json_cut_short(text: &str, path: &Path) -> Option<ImportError> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(trimmed)
        && e.is_eof()
    {
        return Some(ImportError::Json {
            location: Location::file(path),
            message: format!(
                "{e}: the file ends part-way through its JSON, so it was cut short (a run that stopped early, a copy that did not finish); write it again"
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use perfhub_core::report::metric::WALL_TIME;
    use perfhub_core::{Benchmark, Measurement, ReportKind, Unit};

    use super::*;

    #[test]
    fn load_tools_reports_are_told_apart_and_imported() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let options = ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap());
        for (file, format) in [
            ("goose/report.json", Format::Goose),
            ("k6/handle-summary.json", Format::K6),
            ("k6/summary-export.json", Format::K6),
        ] {
            let path = root.join(file);
            assert_eq!(detect(&path).unwrap(), format, "{file}");
            assert!(format.is_load_test());
            let report = import(&path, format, None, &options).unwrap();
            assert_eq!(report.kind, ReportKind::Load, "{file}");
            assert!(
                report.benchmark(perfhub_core::report::TOTAL).is_some(),
                "{file}"
            );
        }
        // Errors name the file and the place in it.
        let dir = std::env::temp_dir().join(format!("perfhub-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("summary.json");
        std::fs::write(
            &bad,
            r#"{"metrics": {"http_req_duration": {"values": {"avg": "x"}}}}"#,
        )
        .unwrap();
        let err = import(&bad, Format::K6, None, &options).unwrap_err();
        assert!(
            err.to_string().starts_with(&bad.display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("http_req_duration"), "{err}");
        assert_eq!(err.location(), Some(Location::file(&bad)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_report_with_an_impossible_value_is_refused_naming_the_file() {
        let mut report = Report::new(ReportKind::Bench, "2026-01-02T03:04:05Z".parse().unwrap());
        let mut b = Benchmark::new("fib", WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            WALL_TIME,
            Unit::Seconds,
            vec![1e-6, 2e-6],
        ));
        report.benchmarks.push(b);
        let path = Path::new("results.json");
        assert_eq!(checked(report.clone(), path).unwrap(), report);

        report.benchmarks[0].measurements[0].samples[1] = -2e-6;
        let err = checked(report, path).unwrap_err();
        assert!(matches!(err, ImportError::Invalid { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "results.json: benchmark `fib`, metric `wall_time`: sample 1 is -0.000002, and a time cannot be negative; the file is damaged or was edited: run the benchmarks again"
        );
        assert_eq!(err.location(), Some(Location::file(path)));
    }
}
