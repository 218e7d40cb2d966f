//! Google Benchmark's JSON output: what a benchmark program writes with
//! `--benchmark_format=json` on standard output, or with
//! `--benchmark_out=FILE` (`--benchmark_out_format=json`, the default), read
//! from Google Benchmark 1.7.1 (Debian's `libbenchmark-dev`); the layout is
//! the same since 1.5, and older files (no `run_type`) are read too.
//!
//! The document holds a `context` (host, CPUs, caches, `library_build_type`,
//! `cpu_scaling_enabled`) and `benchmarks[]`, one row per run. A row's
//! `run_type` is `iteration` (one repetition: `repetition_index` of
//! `repetitions`) or `aggregate` (`aggregate_name` `mean`, `median`,
//! `stddev`, `cv`, or a user's statistic, over the repetitions; `BigO` and
//! `RMS` are a complexity fit over a family's arguments); `run_name` is the
//! benchmark it belongs to (`BM_Sort/64`), `name` the row's own name
//! (`BM_Sort/64_mean`). `real_time` and `cpu_time` are per iteration, in
//! `time_unit` (`ns`, `us`, `ms`, `s`); `iterations` is how many iterations
//! the repetition ran. Counters are further numeric keys of the row:
//! `bytes_per_second` and `items_per_second` (`SetBytesProcessed`,
//! `SetItemsProcessed`) and the user's own (`state.counters["x"]`), already
//! scaled by their flags. A failed run has `error_occurred` and
//! `error_message` (1.8 and later also `skipped` and `skip_message` for
//! `SkipWithMessage`). Google Benchmark writes a counter it cannot compute
//! (the `cv` of counters whose mean is 0) as a bare `NaN`, which is not
//! JSON: such values are read as absent.
//!
//! One perfhub benchmark per `run_name`, named as Google Benchmark names it
//! (with its arguments, `BM_Checksum/1024`). Its wall time keeps one sample
//! per repetition, the repetition's `real_time` per iteration, whose mean is
//! Google Benchmark's `mean` aggregate; `cpu_time`, `bytes_per_second`,
//! `items_per_second` and the user counters become further measurements,
//! one sample per repetition too. Where the file holds only the aggregates
//! (`--benchmark_report_aggregates_only`, or standard output with
//! `--benchmark_display_aggregates_only`), no samples are invented: each
//! figure is the `mean` aggregate, kept as a single value, and the report
//! says so. Failed runs are left out with a warning naming them and their
//! message; complexity fits (`BigO`, `RMS`) are not benchmarks and are
//! left out with a note.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use perfhub_core::report::Better;
use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{ImportError, Location};
use crate::json::{self, shown, time_problem};
use crate::{ImportOptions, metric};

/// CPU time of the benchmark's thread per iteration, seconds (Google
/// Benchmark's `cpu_time`). To move to `crate::metric::CPU_TIME`.
const CPU_TIME: &str = "cpu_time";

/// How many names a note lists before it says "and N more".
const NAMES_IN_NOTE: usize = 10;

/// Whether the document looks like Google Benchmark's: a `context` object
/// and a `benchmarks` array whose rows have Google Benchmark's `run_name`,
/// `run_type`, or (before 1.5) `real_time`, `cpu_time` and `time_unit`; or
/// an empty `benchmarks` beside a context with Google Benchmark's keys.
pub(crate) fn sniff(shape: &json::Shape) -> bool {
    let Some(context) = shape.get("context").filter(|c| c.is_object()) else {
        return false;
    };
    let Some(benchmarks) = shape.get("benchmarks").filter(|b| b.is_array()) else {
        return false;
    };
    match benchmarks.first() {
        Some(row) => {
            row.has("name")
                && (row.has("run_name")
                    || row.has("run_type")
                    || (row.has("real_time") && row.has("cpu_time") && row.has("time_unit")))
        }
        None => {
            context.has("library_build_type")
                || (context.has("num_cpus") && context.has("mhz_per_cpu"))
        }
    }
}

/// `text` with the bare `NaN`, `Infinity` and `-Infinity` that Google
/// Benchmark writes for values it cannot compute turned into `null`, so
/// that it parses as JSON; `text` itself (not copied) where it has none.
pub(crate) fn nan_as_null(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    while let Some(at) = bytes.get(i..).and_then(|rest| {
        rest.iter()
            .position(|&b| matches!(b, b'"' | b'N' | b'I' | b'-'))
    }) {
        i += at;
        if bytes[i] == b'"' {
            // Skip the string: to its closing quote, past escapes.
            i += 1;
            loop {
                let next = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'));
                match next {
                    Some(at) if bytes[i + at] == b'\\' => i += at + 2,
                    Some(at) => {
                        i += at + 1;
                        break;
                    }
                    None => {
                        i = bytes.len();
                        break;
                    }
                }
            }
            continue;
        }
        match ["NaN", "-Infinity", "Infinity"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t.as_bytes()))
        {
            Some(t) => {
                out.push_str(&text[copied..i]);
                out.push_str("null");
                i += t.len();
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Imports the Google Benchmark JSON file at `path`.
pub fn import_google_benchmark(
    path: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    parse_owned(json::read_text(path)?, path, options)
}

/// [`parse_google_benchmark`] on text that may hold bare `NaN`s, without
/// keeping the original beside the copy made without them.
pub(crate) fn parse_owned(
    text: String,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let fixed = match nan_as_null(&text) {
        Cow::Owned(fixed) => Some(fixed),
        Cow::Borrowed(_) => None,
    };
    let text = fixed.unwrap_or(text);
    parse_json(&text, source, options)
}

/// The document, with only what the importer reads.
#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(default, borrow)]
    context: Option<Context<'a>>,
    #[serde(borrow)]
    benchmarks: Vec<Row<'a>>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(default, borrow)]
    library_build_type: Option<Cow<'a, str>>,
    #[serde(default)]
    cpu_scaling_enabled: Option<bool>,
    #[serde(default, borrow)]
    executable: Option<Cow<'a, str>>,
}

/// One row of `benchmarks`: the keys Google Benchmark gives every row, and
/// every other numeric key as a counter.
#[derive(Default)]
struct Row<'a> {
    name: Option<Cow<'a, str>>,
    run_name: Option<Cow<'a, str>>,
    run_type: Option<Cow<'a, str>>,
    aggregate_name: Option<Cow<'a, str>>,
    repetitions: Option<u64>,
    repetition_index: Option<u64>,
    iterations: Option<u64>,
    /// `Some(None)`: present but null (or `NaN`).
    real_time: Option<Option<f64>>,
    cpu_time: Option<Option<f64>>,
    time_unit: Option<Cow<'a, str>>,
    error_occurred: bool,
    error_message: Option<Cow<'a, str>>,
    skipped: bool,
    skip_message: Option<Cow<'a, str>>,
    label: Option<Cow<'a, str>>,
    /// Counters in file order; `None` for a null (`NaN`) value.
    counters: Vec<(Cow<'a, str>, Option<f64>)>,
}

/// A value of an unknown key: a number (a counter), null, or anything else
/// (skipped).
enum Extra {
    Number(f64),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Extra;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_f64<E>(self, x: f64) -> Result<Extra, E> {
                Ok(Extra::Number(x))
            }
            fn visit_i64<E>(self, x: i64) -> Result<Extra, E> {
                Ok(Extra::Number(x as f64))
            }
            fn visit_u64<E>(self, x: u64) -> Result<Extra, E> {
                Ok(Extra::Number(x as f64))
            }
            fn visit_unit<E>(self) -> Result<Extra, E> {
                Ok(Extra::Null)
            }
            fn visit_none<E>(self) -> Result<Extra, E> {
                Ok(Extra::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Extra, E> {
                Ok(Extra::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Extra, E> {
                Ok(Extra::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Extra, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Extra::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extra, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Extra::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Row<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a benchmark row (an object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row<'a>, A::Error> {
                let mut row = Row::default();
                while let Some(Str(key)) = map.next_key::<Str<'a>>()? {
                    match key.as_ref() {
                        "name" => row.name = Some(map.next_value::<Str<'a>>()?.0),
                        "run_name" => row.run_name = Some(map.next_value::<Str<'a>>()?.0),
                        "run_type" => row.run_type = Some(map.next_value::<Str<'a>>()?.0),
                        "aggregate_name" => {
                            row.aggregate_name = Some(map.next_value::<Str<'a>>()?.0)
                        }
                        "time_unit" => row.time_unit = Some(map.next_value::<Str<'a>>()?.0),
                        "error_message" => row.error_message = Some(map.next_value::<Str<'a>>()?.0),
                        "skip_message" => row.skip_message = Some(map.next_value::<Str<'a>>()?.0),
                        "label" => row.label = Some(map.next_value::<Str<'a>>()?.0),
                        "repetitions" => row.repetitions = map.next_value()?,
                        "repetition_index" => row.repetition_index = map.next_value()?,
                        "iterations" => row.iterations = map.next_value()?,
                        "real_time" => row.real_time = Some(map.next_value()?),
                        "cpu_time" => row.cpu_time = Some(map.next_value()?),
                        "error_occurred" => row.error_occurred = map.next_value()?,
                        "skipped" => row.skipped = map.next_value()?,
                        // Row bookkeeping and the complexity fit's figures.
                        "family_index"
                        | "per_family_instance_index"
                        | "threads"
                        | "aggregate_unit"
                        | "big_o"
                        | "cpu_coefficient"
                        | "real_coefficient"
                        | "rms" => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        _ => match map.next_value::<Extra>()? {
                            Extra::Number(x) => row.counters.push((key, Some(x))),
                            Extra::Null => row.counters.push((key, None)),
                            Extra::Other => {}
                        },
                    }
                }
                Ok(row)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A string, borrowed from the text where it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// What the rows of one benchmark (one `run_name`) are.
struct Group<'a> {
    name: &'a str,
    /// The repetitions, as indices into the rows.
    iterations: Vec<usize>,
    /// The `mean` aggregate's row.
    mean: Option<usize>,
    /// Failed or skipped rows.
    failed: Vec<usize>,
    /// Whether any aggregate row (of any statistic) is there.
    any_aggregate: bool,
}

/// Imports a Google Benchmark JSON document; `source` names it in errors
/// and in the report's note.
pub fn parse_google_benchmark(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    parse_json(&nan_as_null(text), source, options)
}

/// [`parse_google_benchmark`] on text without bare `NaN`s.
fn parse_json(text: &str, source: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let doc: Doc<'_> = json::typed(text, &location)?;
    let rows = &doc.benchmarks;
    let field = |i: usize, key: &str| format!("benchmarks[{i}].{key}");
    let error = |i: usize, key: &str, problem: String| ImportError::Field {
        location: location.clone(),
        field: field(i, key),
        problem,
    };
    if rows.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "`benchmarks` is empty: run the benchmark program with `--benchmark_format=json` (or `--benchmark_out=FILE`), and check that `--benchmark_filter` matches some benchmark".into(),
        });
    }

    // Rows by benchmark, in the order of first appearance.
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut complexity_fits: Vec<&str> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let name = row
            .name
            .as_deref()
            .ok_or_else(|| error(i, "name", "missing".into()))?;
        let aggregate =
            match row.run_type.as_deref() {
                Some("iteration") => None,
                Some("aggregate") => Some(row.aggregate_name.as_deref().ok_or_else(|| {
                    error(i, "aggregate_name", "missing in an aggregate row".into())
                })?),
                Some(other) => {
                    return Err(error(
                        i,
                        "run_type",
                        format!("expected `iteration` or `aggregate`, found {other:?}"),
                    ));
                }
                // Before 1.5: aggregates are told by their name's suffix.
                None => ["mean", "median", "stddev", "cv", "BigO", "RMS"]
                    .into_iter()
                    .find(|s| name.len() > s.len() + 1 && name.ends_with(&format!("_{s}"))),
            };
        let run_name: &str = match (&row.run_name, aggregate) {
            (Some(r), _) => r,
            (None, Some(stat)) => &name[..name.len() - stat.len() - 1],
            (None, None) => name,
        };
        if matches!(aggregate, Some("BigO" | "RMS")) {
            if !complexity_fits.contains(&run_name) {
                complexity_fits.push(run_name);
            }
            continue;
        }
        let g = *by_name.entry(run_name).or_insert_with(|| {
            groups.push(Group {
                name: run_name,
                iterations: Vec::new(),
                mean: None,
                failed: Vec::new(),
                any_aggregate: false,
            });
            groups.len() - 1
        });
        let group = &mut groups[g];
        if row.error_occurred || row.skipped {
            group.failed.push(i);
            continue;
        }
        match aggregate {
            None => {
                if let Some(index) = row.repetition_index
                    && let Some(&first) = group
                        .iterations
                        .iter()
                        .find(|&&j| rows[j].repetition_index == Some(index))
                {
                    return Err(error(
                        i,
                        "repetition_index",
                        format!(
                            "repetition {index} of `{run_name}` appears twice (first at benchmarks[{first}]); the file is damaged or joins two runs"
                        ),
                    ));
                }
                group.iterations.push(i);
            }
            Some(stat) => {
                group.any_aggregate = true;
                if stat == "mean" {
                    if let Some(first) = group.mean {
                        return Err(error(
                            i,
                            "aggregate_name",
                            format!(
                                "a second `mean` of `{run_name}` (first at benchmarks[{first}]); the file is damaged or joins two runs"
                            ),
                        ));
                    }
                    group.mean = Some(i);
                }
            }
        }
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    let mut summary_only: Vec<&str> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut partly_failed: Vec<String> = Vec::new();
    let mut mean_mismatch: Vec<String> = Vec::new();
    for group in &groups {
        if !group.failed.is_empty() {
            let r = &rows[group.failed[0]];
            let message = r
                .error_message
                .as_deref()
                .or(r.skip_message.as_deref())
                .unwrap_or("no message");
            let what = if r.error_occurred {
                "failed"
            } else {
                "skipped"
            };
            if group.iterations.is_empty() && group.mean.is_none() {
                failed.push(format!("`{}` {what}: {message}", group.name));
                continue;
            }
            partly_failed.push(format!(
                "`{}`: {} of its runs {what} ({message})",
                group.name,
                group.failed.len()
            ));
        }
        let mut bench = Benchmark::new(group.name, WALL_TIME);
        if !group.iterations.is_empty() {
            let mut wall = Vec::with_capacity(group.iterations.len());
            let mut cpu = Vec::with_capacity(group.iterations.len());
            for &i in &group.iterations {
                let (real, cpu_time) = times(&rows[i], i, &location)?;
                wall.push(real);
                if let Some(c) = cpu_time {
                    cpu.push(c);
                }
            }
            let m = Measurement::from_samples(WALL_TIME, Unit::Seconds, wall);
            if let Some(mean_row) = group.mean {
                let (tool_mean, _) = times(&rows[mean_row], mean_row, &location)?;
                let ours = m.summary.as_ref().map_or(f64::NAN, |s| s.mean);
                if (ours - tool_mean).abs() > 1e-6 * tool_mean.abs() {
                    mean_mismatch.push(format!(
                        "`{}` (samples {} s, `mean` {} s)",
                        group.name,
                        shown(ours),
                        shown(tool_mean)
                    ));
                }
            }
            bench.measurements.push(m);
            if cpu.len() == group.iterations.len() {
                bench.measurements.push(
                    Measurement::from_samples(CPU_TIME, Unit::Seconds, cpu)
                        .with_better(Better::Lower),
                );
            }
            for (metric, unit, better, values) in counters(rows, &group.iterations, &location)? {
                bench.measurements.push(with_better(
                    Measurement::from_samples(metric, unit, values),
                    better,
                ));
            }
        } else if let Some(i) = group.mean {
            let (real, cpu_time) = times(&rows[i], i, &location)?;
            bench
                .measurements
                .push(Measurement::from_value(WALL_TIME, Unit::Seconds, real));
            if let Some(c) = cpu_time {
                bench.measurements.push(
                    Measurement::from_value(CPU_TIME, Unit::Seconds, c).with_better(Better::Lower),
                );
            }
            for (metric, unit, better, values) in counters(rows, &[i], &location)? {
                bench.measurements.push(with_better(
                    Measurement::from_value(metric, unit, values[0]),
                    better,
                ));
            }
            summary_only.push(group.name);
        } else {
            debug_assert!(group.any_aggregate);
            let first = rows
                .iter()
                .position(|r| {
                    r.run_name.as_deref() == Some(group.name)
                        || r.name.as_deref() == Some(group.name)
                })
                .unwrap_or(0);
            return Err(error(
                first,
                "aggregate_name",
                format!(
                    "`{}` has neither repetitions (`run_type` `iteration`) nor a `mean` aggregate, so it has no time to import; run with `--benchmark_repetitions` and without `--benchmark_report_aggregates_only`, or keep the `mean` statistic",
                    group.name
                ),
            ));
        }
        // The label of the last repetition (`state.SetLabel`).
        if let Some(label) = group
            .iterations
            .iter()
            .chain(group.mean.iter())
            .rev()
            .find_map(|&i| rows[i].label.as_deref())
        {
            bench.parameters.insert("label".into(), label.to_string());
        }
        report.benchmarks.push(bench);
    }

    if report.benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: format!("every benchmark failed or was skipped: {}", listed(&failed)),
        });
    }

    let context = doc.context.as_ref();
    let program = context
        .and_then(|c| c.executable.as_deref())
        .map(|e| format!(" (program {e})"))
        .unwrap_or_default();
    report.notes.push(Note::info(
        "imported_from_google_benchmark",
        format!(
            "imported from Google Benchmark's JSON output in {}{program} ({} benchmarks)",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    if !summary_only.is_empty() {
        let names: Vec<String> = summary_only.iter().map(|n| format!("`{n}`")).collect();
        report.notes.push(Note::info(
            "summary_only",
            format!(
                "Google Benchmark's file gives only summary statistics (the aggregates mean, median, stddev and cv over the repetitions, written with --benchmark_report_aggregates_only or --benchmark_display_aggregates_only) for {} benchmarks: {}; each figure is the `mean` aggregate, kept as a single value with no samples invented (the aggregates give no minimum nor maximum, which a perfhub summary needs); compare shows their change but cannot test it, so never calls it a regression: keep the repetitions in the file to gate on them",
                names.len(),
                listed(&names)
            ),
        ));
    }
    if !failed.is_empty() {
        report.notes.push(Note::warning(
            "google_benchmark_failed",
            format!(
                "{} benchmarks failed or were skipped and are left out: {}",
                failed.len(),
                listed(&failed)
            ),
        ));
    }
    if !partly_failed.is_empty() {
        report.notes.push(Note::warning(
            "google_benchmark_failed",
            format!(
                "some runs failed or were skipped and are left out of these benchmarks: {}",
                listed(&partly_failed)
            ),
        ));
    }
    if !mean_mismatch.is_empty() {
        report.notes.push(Note::warning(
            "google_benchmark_mean_mismatch",
            format!(
                "the mean of the repetitions is not Google Benchmark's `mean` aggregate (repetitions missing from the file?): {}",
                listed(&mean_mismatch)
            ),
        ));
    }
    if !complexity_fits.is_empty() {
        let names: Vec<String> = complexity_fits.iter().map(|n| format!("`{n}`")).collect();
        report.notes.push(Note::info(
            "google_benchmark_complexity",
            format!(
                "the complexity fits (BigO, RMS) of {} are not imported: they fit a family's times over its arguments, and are not benchmarks",
                listed(&names)
            ),
        ));
    }
    if let Some(c) = context {
        if c.library_build_type.as_deref() == Some("debug") {
            report.notes.push(Note::warning(
                "google_benchmark_debug_build",
                "the Google Benchmark library reports a debug build (`context.library_build_type`); Google Benchmark warns that timings may be affected",
            ));
        }
        if c.cpu_scaling_enabled == Some(true) {
            report.notes.push(Note::warning(
                "cpu_scaling_enabled",
                "CPU frequency scaling was enabled during the run (`context.cpu_scaling_enabled`); Google Benchmark warns that real time measurements may be noisy",
            ));
        }
    }
    crate::checked(report, source)
}

/// A row's `real_time` and `cpu_time` per iteration, in seconds.
fn times(row: &Row<'_>, i: usize, location: &Location) -> Result<(f64, Option<f64>), ImportError> {
    let error = |key: &str, problem: String| ImportError::Field {
        location: location.clone(),
        field: format!("benchmarks[{i}].{key}"),
        problem,
    };
    let unit = row
        .time_unit
        .as_deref()
        .ok_or_else(|| error("time_unit", "missing".into()))?;
    // Units per second: a division rounds once (12 ns is 1.2e-8 s, where
    // 12 * 1e-9 is not).
    let per_second = match unit {
        "ns" => 1e9,
        "us" => 1e6,
        "ms" => 1e3,
        "s" => 1.0,
        other => {
            return Err(error(
                "time_unit",
                format!("expected `ns`, `us`, `ms` or `s`, found {other:?}"),
            ));
        }
    };
    let read = |key: &str, value: Option<Option<f64>>| -> Result<Option<f64>, ImportError> {
        match value {
            None => Ok(None),
            Some(None) => Err(error(
                key,
                format!("null or NaN, where a time is expected; {}", json::DAMAGED),
            )),
            Some(Some(raw)) => {
                let seconds = raw / per_second + 0.0;
                match time_problem(|| format!("{} {unit}", shown(raw)), seconds) {
                    Some(p) => Err(error(key, p)),
                    None => Ok(Some(seconds)),
                }
            }
        }
    };
    let real =
        read("real_time", row.real_time)?.ok_or_else(|| error("real_time", "missing".into()))?;
    if row.iterations == Some(0) {
        return Err(error(
            "iterations",
            format!("0 iterations cannot be timed; {}", json::DAMAGED),
        ));
    }
    Ok((real, read("cpu_time", row.cpu_time)?))
}

/// A counter's values across some rows.
type Counter = (String, Unit, Option<Better>, Vec<f64>);

/// The counters of `rows` (each one repetition, or one aggregate): metric,
/// unit, which way is better, and the values, in the order of the first
/// row. A value Google Benchmark could not compute (`NaN`) is left out; a
/// negative rate is refused.
fn counters(
    rows: &[Row<'_>],
    of: &[usize],
    location: &Location,
) -> Result<Vec<Counter>, ImportError> {
    let Some(&first) = of.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (key, _) in &rows[first].counters {
        let (metric, unit, better) = match key.as_ref() {
            "bytes_per_second" => (
                metric::BYTE_THROUGHPUT.to_string(),
                Unit::BytesPerSecond,
                Some(Better::Higher),
            ),
            "items_per_second" => (
                THROUGHPUT.to_string(),
                Unit::PerSecond,
                Some(Better::Higher),
            ),
            // A user's counter, whose meaning perfhub does not know; named
            // apart from the metrics above.
            name if [WALL_TIME, CPU_TIME, THROUGHPUT, metric::BYTE_THROUGHPUT].contains(&name) => {
                (format!("counter:{name}"), Unit::Number, None)
            }
            name => (name.to_string(), Unit::Number, None),
        };
        let mut values = Vec::with_capacity(of.len());
        for &i in of {
            let value = rows[i]
                .counters
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| *v);
            let Some(x) = value else { continue };
            if unit != Unit::Number && x < 0.0 {
                return Err(ImportError::Field {
                    location: location.clone(),
                    field: format!("benchmarks[{i}].{key}"),
                    problem: format!(
                        "{} is negative, and a rate cannot be; {}",
                        shown(x),
                        json::DAMAGED
                    ),
                });
            }
            values.push(x);
        }
        if !values.is_empty() {
            out.push((metric, unit, better, values));
        }
    }
    Ok(out)
}

/// `m`, saying which way is better where that is known, and nothing where
/// it is not (not even a guess from the name: a user's counter).
fn with_better(m: Measurement, better: Option<Better>) -> Measurement {
    match better {
        Some(b) => m.with_better(b),
        None => Measurement { better: None, ..m },
    }
}

/// The first few of `items`, and how many more.
fn listed(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(NAMES_IN_NOTE)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMES_IN_NOTE {
        s.push_str(&format!(" and {} more", items.len() - NAMES_IN_NOTE));
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/google-benchmark")
            .join(name)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_google_benchmark(text, Path::new("gbench.json"), &options())
    }

    /// Google Benchmark's own `mean` aggregate of every benchmark, seconds.
    fn tool_means(path: &Path) -> Vec<(String, f64)> {
        let text = nan_as_null(&std::fs::read_to_string(path).unwrap()).into_owned();
        let v: Value = serde_json::from_str(&text).unwrap();
        v["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["aggregate_name"] == "mean")
            .map(|r| {
                let per_second = match r["time_unit"].as_str().unwrap() {
                    "ns" => 1e9,
                    "us" => 1e6,
                    "ms" => 1e3,
                    _ => 1.0,
                };
                (
                    r["run_name"].as_str().unwrap().to_string(),
                    r["real_time"].as_f64().unwrap() / per_second,
                )
            })
            .collect()
    }

    #[test]
    fn repetitions_are_samples_whose_mean_is_the_tools_mean() {
        let mut worst: f64 = 0.0;
        for file in ["run-a.json", "run-b.json"] {
            let path = fixture(file);
            assert_eq!(
                crate::detect_text(&nan_as_null(&std::fs::read_to_string(&path).unwrap())),
                Some(crate::Format::GoogleBenchmark)
            );
            let report = import_google_benchmark(&path, &options()).unwrap();
            let means = tool_means(&path);
            assert_eq!(report.benchmarks.len(), means.len(), "{file}");
            assert_eq!(means.len(), 7);
            for (name, tool_mean) in &means {
                let b = report.benchmark(name).unwrap();
                let m = b.primary().unwrap();
                assert_eq!(m.samples.len(), 5, "{name}");
                let ours = m.summary.as_ref().unwrap().mean;
                let rel = (ours - tool_mean).abs() / tool_mean;
                worst = worst.max(rel);
                assert!(rel < 1e-3, "{file} {name}: {ours} vs {tool_mean}");
                let cpu = b.measurement(CPU_TIME).unwrap();
                assert_eq!(cpu.samples.len(), 5);
                assert_eq!(cpu.better, Some(Better::Lower));
            }
            assert!(
                !report.notes.iter().any(|n| n.code == "summary_only"),
                "{file}"
            );
            assert!(
                !report
                    .notes
                    .iter()
                    .any(|n| n.code == "google_benchmark_mean_mismatch"),
                "{file}"
            );
            assert!(report.notes.iter().any(
                |n| n.code == "google_benchmark_complexity" && n.message.contains("`BM_Sort`")
            ));
        }
        println!("google-benchmark: largest relative difference of the means {worst:e}");
    }

    #[test]
    fn counters_units_and_arguments() {
        let report = import_google_benchmark(&fixture("run-a.json"), &options()).unwrap();
        let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "BM_StringCopy",
                "BM_Sort/8",
                "BM_Sort/64",
                "BM_Sort/512",
                "BM_Checksum/1024",
                "BM_Checksum/16384",
                "BM_Fill/65536/8"
            ]
        );
        let b = report.benchmark("BM_Checksum/1024").unwrap();
        // `us` rows: the first repetition's real_time is 19.256549098713457 us.
        let wall = b.primary().unwrap();
        assert_eq!(
            wall.samples[0],
            "19.256549098713457".parse::<f64>().unwrap() / 1e6
        );
        let bytes = b.measurement(metric::BYTE_THROUGHPUT).unwrap();
        assert_eq!(bytes.unit, Unit::BytesPerSecond);
        assert_eq!(bytes.better, Some(Better::Higher));
        assert_eq!(bytes.samples[0], 326089522.98891187);
        let items = b.measurement(THROUGHPUT).unwrap();
        assert_eq!(items.unit, Unit::PerSecond);
        assert_eq!(items.samples.len(), 5);
        for counter in ["block_size", "checks_rate", "collisions"] {
            let m = b.measurement(counter).unwrap();
            assert_eq!(m.unit, Unit::Number);
            assert_eq!(m.better, None);
            assert_eq!(m.samples.len(), 5);
        }
        // `ms` rows.
        let fill = report
            .benchmark("BM_Fill/65536/8")
            .unwrap()
            .primary()
            .unwrap();
        assert!(fill.summary.as_ref().unwrap().mean > 1e-5);
        // Debian's library says it is a debug build.
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.code == "google_benchmark_debug_build")
        );
    }

    #[test]
    fn a_run_without_repetitions_has_one_sample_each() {
        let path = fixture("single.json");
        let report = import_google_benchmark(&path, &options()).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let rows: Vec<&Value> = v["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["run_type"] == "iteration")
            .collect();
        assert_eq!(report.benchmarks.len(), rows.len());
        for r in rows {
            let b = report.benchmark(r["name"].as_str().unwrap()).unwrap();
            let m = b.primary().unwrap();
            assert_eq!(m.samples.len(), 1);
            let scale = match r["time_unit"].as_str().unwrap() {
                "ns" => 1e-9,
                "us" => 1e-6,
                _ => 1e-3,
            };
            let tool = r["real_time"].as_f64().unwrap() * scale;
            assert!((m.samples[0] - tool).abs() <= 1e-12 * tool);
        }
    }

    #[test]
    fn aggregates_only_are_kept_as_the_mean_without_samples() {
        let path = fixture("aggregates-only.json");
        let report = import_google_benchmark(&path, &options()).unwrap();
        let means = tool_means(&path);
        assert_eq!(report.benchmarks.len(), 7);
        for (name, tool_mean) in &means {
            let m = report.benchmark(name).unwrap().primary().unwrap();
            assert!(m.samples.is_empty());
            assert_eq!(m.value, Some(*tool_mean), "{name}");
        }
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "summary_only")
            .unwrap();
        assert!(
            note.message.contains("for 7 benchmarks"),
            "{}",
            note.message
        );
        // The cv row's counter `collisions` is NaN in the file.
        let c = report.benchmark("BM_Checksum/1024").unwrap();
        assert_eq!(c.measurement("collisions").unwrap().value, Some(0.0));
    }

    #[test]
    fn failed_runs_are_left_out_with_a_warning() {
        let report = import_google_benchmark(&fixture("skipped.json"), &options()).unwrap();
        assert_eq!(report.benchmarks.len(), 1);
        assert_eq!(report.benchmarks[0].name, "BM_Works");
        let w = report
            .notes
            .iter()
            .find(|n| n.code == "google_benchmark_failed")
            .unwrap();
        assert!(
            w.message
                .contains("`BM_NeedsFile` failed: cannot open /nonexistent/input.bin"),
            "{}",
            w.message
        );

        let all_failed = r#"{"context": {}, "benchmarks": [{"name": "BM_x", "run_name": "BM_x",
            "run_type": "iteration", "error_occurred": true, "error_message": "boom",
            "iterations": 1, "real_time": 0, "cpu_time": 0, "time_unit": "ns"}]}"#;
        let err = parse(all_failed).unwrap_err();
        assert!(matches!(err, ImportError::NoResults { .. }), "{err}");
        assert!(err.to_string().contains("`BM_x` failed: boom"), "{err}");
    }

    #[test]
    fn old_files_without_run_type_are_grouped_by_name() {
        // The layout of Google Benchmark before 1.5.
        let text = r#"{"context": {"num_cpus": 2, "mhz_per_cpu": 2400},
          "benchmarks": [
            {"name": "BM_a/8", "iterations": 10, "real_time": 10, "cpu_time": 9, "time_unit": "ns"},
            {"name": "BM_a/8", "iterations": 10, "real_time": 12, "cpu_time": 9, "time_unit": "ns"},
            {"name": "BM_a/8_mean", "iterations": 10, "real_time": 11, "cpu_time": 9, "time_unit": "ns"},
            {"name": "BM_a/8_median", "iterations": 10, "real_time": 11, "cpu_time": 9, "time_unit": "ns"},
            {"name": "BM_a/8_stddev", "iterations": 10, "real_time": 1.4, "cpu_time": 0, "time_unit": "ns"}
          ]}"#;
        assert!(sniff(&json::Shape::of(text).unwrap()));
        let report = parse(text).unwrap();
        assert_eq!(report.benchmarks.len(), 1);
        let m = report.benchmarks[0].primary().unwrap();
        assert_eq!(m.samples, vec![10e-9, 12e-9]);
    }

    #[test]
    fn nan_becomes_null_outside_strings_only() {
        assert!(matches!(nan_as_null(r#"{"a": 1}"#), Cow::Borrowed(_)));
        assert_eq!(
            nan_as_null(r#"{"NaN \"NaN": NaN, "b": [-Infinity, Infinity], "c": "Infinity"}"#),
            r#"{"NaN \"NaN": null, "b": [null, null], "c": "Infinity"}"#
        );
        assert_eq!(nan_as_null("[NaN,-3,-Infinity]"), "[null,-3,null]");
        // Cut short anywhere, it neither panics nor loses text.
        let text = r#"{"a\"NaN\\": NaN, "b": "x\\"}"#;
        for end in 0..=text.len() {
            let part = &text[..end];
            let fixed = nan_as_null(part);
            assert_eq!(fixed.replace("null", "NaN").len(), part.len(), "{part}");
        }
    }

    #[test]
    fn malformed_rows_are_refused_naming_the_field() {
        let row = |extra: &str| {
            format!(
                r#"{{"context": {{}}, "benchmarks": [{{"name": "BM_ok", "run_name": "BM_ok", "run_type": "iteration", "iterations": 3, "real_time": 5, "cpu_time": 4, "time_unit": "ns"}}, {{"name": "BM_x", "run_name": "BM_x", "run_type": "iteration", "iterations": 3, "cpu_time": 4, {extra}}}]}}"#
            )
        };
        for (extra, field, problem) in [
            (
                r#""real_time": -2, "time_unit": "ns""#,
                "benchmarks[1].real_time",
                "-2 ns is negative",
            ),
            (
                r#""real_time": 1e308, "time_unit": "s""#,
                "benchmarks[1].real_time",
                "longer than any measurement",
            ),
            (
                r#""real_time": NaN, "time_unit": "ns""#,
                "benchmarks[1].real_time",
                "null or NaN",
            ),
            (
                r#""real_time": "slow", "time_unit": "ns""#,
                "benchmarks[1].real_time",
                "invalid type",
            ),
            (
                r#""real_time": 2, "time_unit": "weeks""#,
                "benchmarks[1].time_unit",
                "expected `ns`, `us`, `ms` or `s`",
            ),
            (r#""time_unit": "ns""#, "benchmarks[1].real_time", "missing"),
            (r#""real_time": 2"#, "benchmarks[1].time_unit", "missing"),
            (
                r#""real_time": 2, "time_unit": "ns", "run_type": "other""#,
                "benchmarks[1].run_type",
                "expected `iteration` or `aggregate`",
            ),
        ] {
            let err = parse(&row(extra)).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("gbench.json: field `{field}`")),
                "{extra}: {shown}"
            );
            assert!(shown.contains(problem), "{extra}: {shown}");
        }
        // Repetition 0 twice.
        let text = r#"{"context": {}, "benchmarks": [
            {"name": "BM_x", "run_name": "BM_x", "run_type": "iteration", "repetition_index": 0, "iterations": 3, "real_time": 5, "cpu_time": 4, "time_unit": "ns"},
            {"name": "BM_x", "run_name": "BM_x", "run_type": "iteration", "repetition_index": 0, "iterations": 3, "real_time": 5, "cpu_time": 4, "time_unit": "ns"}]}"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with("gbench.json: field `benchmarks[1].repetition_index`: repetition 0 of `BM_x` appears twice"),
            "{err}"
        );
        // Not JSON, and no benchmarks.
        assert!(matches!(
            parse("{\"benchmarks\": [").unwrap_err(),
            ImportError::Json { .. }
        ));
        let err = parse(r#"{"context": {}, "benchmarks": []}"#).unwrap_err();
        assert!(matches!(err, ImportError::NoResults { .. }), "{err}");
        assert!(err.to_string().contains("--benchmark_format=json"));
    }

    #[test]
    fn sniff_claims_only_google_benchmark() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "pytest-benchmark/run-a.json",
            "pyperf/bench.json",
        ] {
            let path = root.join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let shape = json::Shape::of(&text).unwrap();
            assert!(!sniff(&shape), "{file}");
        }
        for file in [
            "run-a.json",
            "run-b.json",
            "single.json",
            "aggregates-only.json",
            "skipped.json",
        ] {
            let text = std::fs::read_to_string(fixture(file)).unwrap();
            let shape = json::Shape::of(&nan_as_null(&text)).unwrap();
            assert!(sniff(&shape), "{file}");
            assert_eq!(
                crate::detect_text(&nan_as_null(&text)),
                Some(crate::Format::GoogleBenchmark),
                "{file}"
            );
        }
        assert!(sniff(
            &json::Shape::of(r#"{"context": {"library_build_type": "release"}, "benchmarks": []}"#)
                .unwrap()
        ));
        assert!(!sniff(&json::Shape::of(r#"{"benchmarks": []}"#).unwrap()));
    }
}
