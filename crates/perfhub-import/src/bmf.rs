//! Bencher Metric Format (BMF) JSON: what `perfhub export --to bencher`
//! writes and `bencher run --adapter json` reads.
//!
//! ```json
//! { "<benchmark>": { "<measure slug>": { "value": 88.0, "lower_value": 87.42, "upper_value": 88.88 } } }
//! ```
//!
//! Every benchmark becomes a perfhub benchmark of the same name, in the
//! file's order, and each of its measures a measurement:
//!
//! - `latency`, Bencher's built-in measure in nanoseconds, becomes
//!   [`WALL_TIME`] in seconds (`latency` itself when the benchmark also has
//!   a `wall-time` measure); `throughput`, the built-in in operations per
//!   second, becomes [`THROUGHPUT`].
//! - Any other slug becomes a metric named by the slug in snake case
//!   (`max-rss` → `max_rss`), without the `perfhub-` prefix perfhub's
//!   exporter adds when two measures would share a slug. Where that is one
//!   of perfhub's own metrics, it takes the unit perfhub's exporter writes
//!   it in: times in nanoseconds (converted to seconds), bytes, counts, per
//!   second, fractions. Any other slug's unit is unknown: its values are
//!   kept as they are, as [`Unit::Number`] with no direction.
//! - The primary metric is `wall_time`, else `throughput`, else the first
//!   measure.
//!
//! BMF holds one `value` per measure: no samples, no spread and no count,
//! so each measurement is that single value (the mean, for perfhub's
//! export). `lower_value` and `upper_value` are checked (numbers, lower not
//! above upper) but not kept: BMF does not say what they bound (perfhub
//! writes a 95% confidence interval of the mean, Bencher's adapters for
//! other tools other ranges), so they cannot become the summary's
//! confidence interval.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use perfhub_core::report::metric::{self as m, LATENCY, THROUGHPUT, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Shape, shown};
use crate::tinybench::field_error;
use crate::{ImportOptions, metric};

/// Whether a JSON document with this outline is BMF: a non-empty object
/// whose every (inspected) value is a non-empty object of measures, each an
/// object with a numeric `value`. BMF's keys are the benchmarks' own names,
/// so this is tried after every other JSON format.
pub(crate) fn sniff(shape: &Shape) -> bool {
    let benchmarks = shape.fields();
    shape.is_object()
        && !benchmarks.is_empty()
        && benchmarks.iter().all(|(_, measures)| {
            measures.is_object()
                && !measures.fields().is_empty()
                && measures
                    .fields()
                    .iter()
                    .all(|(_, metric)| metric.get("value") == Some(&Shape::Number))
        })
}

/// Imports the BMF file at `path`.
pub fn import_bmf(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_bmf(&json::read_text(path)?, path, options)
}

/// A JSON object's entries in the document's order (BMF's order is the
/// benchmarks' order; a map would sort them).
pub(crate) struct Ordered<T>(pub(crate) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<T>()?;
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// One measure's metric.
#[derive(Deserialize)]
struct BmfMetric {
    value: f64,
    #[serde(default)]
    lower_value: Option<f64>,
    #[serde(default)]
    upper_value: Option<f64>,
}

/// Imports BMF JSON; `source` names it in errors and in the report's note.
pub fn parse_bmf(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let doc: Ordered<Ordered<BmfMetric>> = json::typed(text, &location)?;
    let mut names = crate::tinybench::Names::new(&location);
    let mut benchmarks = Vec::with_capacity(doc.0.len());
    let mut bounds = 0usize;
    for (name, measures) in doc.0 {
        names.insert(&name)?;
        if measures.0.is_empty() {
            return Err(field_error(
                &location,
                &name,
                "no measures: a benchmark needs at least one, such as `latency`",
            ));
        }
        let has_wall_time = measures.0.iter().any(|(slug, _)| slug == "wall-time");
        let mut metrics: BTreeSet<String> = BTreeSet::new();
        let mut ms = Vec::with_capacity(measures.0.len());
        for (slug, value) in &measures.0 {
            let field = |key: &str| format!("{name}.{slug}.{key}");
            let (metric_name, unit) = measure(slug, has_wall_time);
            let metric_name = if metrics.contains(&metric_name) {
                slug.replace('-', "_")
            } else {
                metric_name
            };
            if !metrics.insert(metric_name.clone()) {
                return Err(field_error(
                    &location,
                    format!("{name}.{slug}"),
                    format!("a second measure of metric `{metric_name}`"),
                ));
            }
            // Nanoseconds divided (not multiplied by 1e-9, which is not
            // exact in binary) so that 88 ns reads as 8.8e-8 s exactly.
            let divisor = if unit == Unit::Seconds { 1e9 } else { 1.0 };
            let x = value.value / divisor + 0.0;
            if unit == Unit::Seconds {
                if let Some(p) = json::time_problem(|| format!("{} ns", shown(value.value)), x) {
                    return Err(field_error(&location, field("value"), p));
                }
            } else if unit != Unit::Number && x < 0.0 {
                return Err(field_error(
                    &location,
                    field("value"),
                    format!(
                        "{} is negative, and `{metric_name}` cannot be; {DAMAGED}",
                        shown(value.value)
                    ),
                ));
            }
            if let (Some(lo), Some(hi)) = (value.lower_value, value.upper_value)
                && lo > hi
            {
                return Err(field_error(
                    &location,
                    field("lower_value"),
                    format!(
                        "{} is above `upper_value` {}; {DAMAGED}",
                        shown(lo),
                        shown(hi)
                    ),
                ));
            }
            if value.lower_value.is_some() || value.upper_value.is_some() {
                bounds += 1;
            }
            let mut measurement = Measurement::from_value(metric_name, unit, x);
            if slug == "throughput" {
                measurement = measurement.with_better(perfhub_core::report::Better::Higher);
            }
            ms.push(measurement);
        }
        let primary = [WALL_TIME, THROUGHPUT]
            .into_iter()
            .find(|p| metrics.contains(*p))
            .map(str::to_string)
            .unwrap_or_else(|| ms[0].metric.clone());
        let mut b = Benchmark::new(name, primary);
        b.measurements = ms;
        benchmarks.push(b);
    }
    if benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint:
                "the BMF object is empty; a Bencher Metric Format file holds one benchmark per key"
                    .into(),
        });
    }
    let mut report = Report::new(ReportKind::Bench, options.created);
    report.notes.push(Note::info(
        "imported_from_bmf",
        format!(
            "imported from Bencher Metric Format JSON in {} ({} benchmarks)",
            source.display(),
            benchmarks.len()
        ),
    ));
    report.notes.push(Note::info(
        "summary_only",
        format!(
            "Bencher Metric Format gives one value per measure (no samples, spread or count) for these benchmarks; compare uses them without inventing samples{}",
            if bounds > 0 {
                format!(
                    "; the lower_value/upper_value bounds of {bounds} measure(s) are not kept, since BMF does not say what they bound"
                )
            } else {
                String::new()
            }
        ),
    ));
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

/// The metric and unit a measure slug stands for.
fn measure(slug: &str, has_wall_time: bool) -> (String, Unit) {
    match slug {
        "latency" if has_wall_time => return (LATENCY.to_string(), Unit::Seconds),
        "latency" => return (WALL_TIME.to_string(), Unit::Seconds),
        "throughput" => return (THROUGHPUT.to_string(), Unit::PerSecond),
        _ => {}
    }
    let snake = slug.replace('-', "_");
    if let Some(unit) = perfhub_unit(&snake) {
        return (snake, unit);
    }
    if let Some(rest) = snake.strip_prefix("perfhub_")
        && let Some(unit) = perfhub_unit(rest)
    {
        return (rest.to_string(), unit);
    }
    (snake, Unit::Number)
}

/// The unit perfhub's own metric `name` is measured in, as perfhub's BMF
/// export writes it (times in nanoseconds), if perfhub writes that metric.
fn perfhub_unit(name: &str) -> Option<Unit> {
    Some(match name {
        m::WALL_TIME
        | m::USER_TIME
        | m::SYSTEM_TIME
        | m::TASK_CLOCK
        | m::LATENCY
        | m::SERVICE_TIME
        | m::INTERVAL_P95
        | m::INTERVAL_SECONDS
        | metric::CRITERION_SLOPE
        | metric::CRITERION_MEAN
        | metric::CRITERION_MEDIAN
        | metric::CRITERION_STD_DEV
        | metric::CRITERION_MEDIAN_ABS_DEV
        | metric::CRITERION_TYPICAL
        | metric::LIBTEST_RANGE => Unit::Seconds,
        m::MAX_RSS
        | m::READ_BYTES
        | m::WRITE_BYTES
        | m::STORAGE_READ_BYTES
        | m::STORAGE_WRITE_BYTES
        | m::BYTES_SENT
        | m::BYTES_RECEIVED => Unit::Bytes,
        m::READ_SYSCALLS
        | m::WRITE_SYSCALLS
        | m::VOLUNTARY_CONTEXT_SWITCHES
        | m::INVOLUNTARY_CONTEXT_SWITCHES
        | m::MINOR_PAGE_FAULTS
        | m::MAJOR_PAGE_FAULTS
        | m::PAGE_FAULTS
        | m::CONTEXT_SWITCHES
        | m::CPU_MIGRATIONS
        | m::INSTRUCTIONS
        | m::CYCLES
        | m::REQUESTS
        | m::RESPONSES
        | m::DROPPED
        | m::LATE
        | m::INTERVAL_ERRORS
        | m::CHECK_FAILURES
        | m::SKIPPED
        | m::ABANDONED
        | m::RETRIED => Unit::Count,
        m::THROUGHPUT | m::ACHIEVED_RATE | m::TARGET_RATE | m::INTERVAL_THROUGHPUT => {
            Unit::PerSecond
        }
        metric::BYTE_THROUGHPUT => Unit::BytesPerSecond,
        m::ERROR_RATE | m::CPU_UTILIZATION => Unit::Ratio,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/bmf")
                .join(name),
        )
        .unwrap()
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_bmf(
            text,
            Path::new("bmf.json"),
            &ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap()),
        )
    }

    #[test]
    fn benchers_documented_example_reads_with_its_custom_measures() {
        let text = fixture("bencher-docs-example.json");
        assert_eq!(crate::detect_text(&text), Some(Format::Bmf));
        let r = parse(&text).unwrap();
        let names: Vec<&str> = r.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "benchmark_name",
                "/bin/sh -c ./my_build_script.sh",
                "my_binary"
            ]
        );
        let b = &r.benchmarks[0];
        assert_eq!(b.primary_metric, WALL_TIME);
        assert_eq!(b.primary().unwrap().value, Some(88.0e-9));
        assert_eq!(b.primary().unwrap().unit, Unit::Seconds);
        let t = b.measurement(THROUGHPUT).unwrap();
        assert_eq!((t.value, t.unit), (Some(5.55), Unit::PerSecond));
        assert!(!t.smaller_is_better());
        let build = &r.benchmarks[1];
        assert_eq!(build.primary_metric, "build_time");
        let m = build.primary().unwrap();
        assert_eq!(
            (m.value, m.unit, m.better),
            (Some(87.0), Unit::Number, None)
        );
        assert!(r.notes.iter().any(|n| n.code == "summary_only"
            && n.message.contains("bounds of 2 measure(s) are not kept")));
    }

    #[test]
    fn perfhubs_export_reads_back_with_its_units_and_means() {
        let text = fixture("perfhub-export-hyperfine.json");
        assert_eq!(crate::detect_text(&text), Some(Format::Bmf));
        let r = parse(&text).unwrap();
        let exported: serde_json::Value = serde_json::from_str(&text).unwrap();
        for b in &r.benchmarks {
            let ns = exported[&b.name]["latency"]["value"].as_f64().unwrap();
            let m = b.primary().unwrap();
            assert_eq!(b.primary_metric, WALL_TIME);
            assert!((m.value.unwrap() - ns * 1e-9).abs() <= 1e-12 * ns * 1e-9);
            let user = b.measurement(m::USER_TIME).unwrap();
            assert_eq!(user.unit, Unit::Seconds);
            assert!(user.value.unwrap() < 1.0);
        }
    }

    #[test]
    fn slugs_map_to_perfhubs_metrics_and_units() {
        assert_eq!(measure("latency", false), (WALL_TIME.into(), Unit::Seconds));
        assert_eq!(measure("latency", true), (LATENCY.into(), Unit::Seconds));
        assert_eq!(measure("max-rss", false), (m::MAX_RSS.into(), Unit::Bytes));
        assert_eq!(
            measure("perfhub-latency", false),
            (LATENCY.into(), Unit::Seconds)
        );
        assert_eq!(
            measure("error-rate", false),
            (m::ERROR_RATE.into(), Unit::Ratio)
        );
        assert_eq!(
            measure("file-size", false),
            ("file_size".into(), Unit::Number)
        );
        let r = parse(r#"{"b": {"wall-time": {"value": 5}, "latency": {"value": 7}}}"#).unwrap();
        let b = &r.benchmarks[0];
        assert_eq!(b.measurement(WALL_TIME).unwrap().value, Some(5e-9));
        assert_eq!(b.measurement(LATENCY).unwrap().value, Some(7e-9));
    }

    #[test]
    fn other_formats_are_not_claimed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "tinybench/vitest-4.json",
            "tinybench/tinybench-6-summary.json",
            "benchmarkjs/benchmarkjs-2.1.4.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            assert!(!sniff(&Shape::of(&text).unwrap()), "{file}");
        }
        for text in [
            "{}",
            r#"{"a": {}}"#,
            r#"{"a": {"latency": {"value": "1"}}}"#,
            r#"{"a": {"latency": {"value": 1}}, "b": 3}"#,
            r#"{"a": {"latency": {"value": 1}, "n": {"count": 1}}}"#,
        ] {
            assert!(!sniff(&Shape::of(text).unwrap()), "{text}");
        }
    }

    /// No JSON fixture of another tool, anywhere under `fixtures/`, is
    /// taken for one of the JavaScript, Bencher or iai-callgrind formats.
    #[test]
    fn no_other_tools_fixture_is_claimed_by_these_formats() {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p
                    .extension()
                    .is_some_and(|e| e == "json" || e == "txt" || e == "log")
                {
                    out.push(p);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mine = ["tinybench", "benchmarkjs", "bmf", "iai-callgrind"];
        let mut files = Vec::new();
        for e in std::fs::read_dir(&root).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !mine.iter().any(|m| p.ends_with(m)) {
                walk(&p, &mut files);
            }
        }
        assert!(files.len() > 5, "{files:?}");
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let found = crate::detect_text(&text);
            assert!(
                !matches!(
                    found,
                    Some(Format::Tinybench | Format::BenchmarkJs | Format::Bmf | Format::Iai)
                ),
                "{} detected as {found:?}",
                file.display()
            );
        }
    }

    #[test]
    fn malformed_input_is_refused_naming_the_field() {
        for (text, expected) in [
            (
                r#"{"fib": {"latency": {"value": "x"}}}"#,
                "bmf.json: field `fib.latency.value`",
            ),
            (
                r#"{"fib": {"latency": {"lower_value": 1}}}"#,
                "bmf.json: field `fib.latency`: missing field `value`",
            ),
            (
                r#"{"fib": {"latency": {"value": -5}}}"#,
                "bmf.json: field `fib.latency.value`: -5 ns is negative",
            ),
            (
                r#"{"fib": {"max-rss": {"value": -5}}}"#,
                "bmf.json: field `fib.max-rss.value`: -5 is negative, and `max_rss` cannot be",
            ),
            (
                r#"{"fib": {"latency": {"value": 5, "lower_value": 6, "upper_value": 4}}}"#,
                "bmf.json: field `fib.latency.lower_value`: 6 is above `upper_value` 4",
            ),
            (r#"{"fib": {}}"#, "bmf.json: field `fib`: no measures"),
            (
                r#"{"fib": {"latency": {"value": 1}}, "fib": {"latency": {"value": 1}}}"#,
                "benchmark `fib` appears twice",
            ),
            ("{}", "bmf.json: no benchmark results"),
            ("[1]", "bmf.json"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}\n{err}");
        }
    }
}
