//! JMH's JSON result file: what `java -jar benchmarks.jar -rf json` (or
//! `-rff FILE`) writes, read from JMH 1.37 (the layout is the same since
//! 1.x: an array of one object per benchmark run).
//!
//! Each object has the `benchmark` (`com.x.MyBench.method`), its `mode`
//! (`thrpt`, `avgt`, `sample`, `ss`), `threads`, `forks`,
//! `measurementIterations`, the `params` of a `@Param` benchmark, the
//! `primaryMetric` and the `secondaryMetrics` (the profilers' figures, such
//! as `-prof gc`'s `gc.alloc.rate.norm`, named with a leading `·` before
//! JMH 1.30). A metric has its `score`, `scoreError` (half the 99.9%
//! confidence interval), `scorePercentiles`, `scoreUnit` (`ns/op`,
//! `ops/ms`, `B/op`, `MB/sec`, `counts`, ...) and its raw data: `rawData`,
//! one array per fork of one figure per measurement iteration, or for
//! `sample` mode `rawDataHistogram`, per fork and iteration the pairs
//! `[time, count]` of the operations JMH sampled. JMH writes a figure it
//! cannot compute as a string (`"NaN"`, `"+INF"`).
//!
//! A benchmark is named by its method and parameters as JMH shows them
//! (`com.x.MyBench.sort (size=10)`), with its mode appended
//! (`... [thrpt]`) where one method runs in several modes. Time-per-op
//! modes (`avgt`, `ss`, `sample`) give a wall time in seconds per
//! operation; `thrpt` gives a [`THROUGHPUT`] in operations per second,
//! kept as such: the reciprocal of each iteration's figure is that
//! iteration's mean time per operation, but the mean of those is not the
//! reciprocal of JMH's score, so the score would be lost. The samples are
//! the `rawData` of every fork, iteration by iteration (their mean is JMH's
//! score); in `sample` mode they are the sampled operations' times,
//! expanded from the histogram (in the histogram's order within each
//! iteration), or, beyond [`MAX_EXPANDED`] samples, the histogram's exact
//! summary. Secondary metrics whose unit is clear become further
//! measurements (per-iteration samples where their mean is JMH's score,
//! else the score); `sample` mode's percentile secondaries (`p0.50`, ...)
//! are the primary metric's own and are not repeated.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use perfhub_core::report::Better;
use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::stats::{ConfidenceInterval, OutlierCounts, SUMMARY_CI_LEVEL, Summary};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, shown, time_problem};

/// Bytes allocated per operation (JMH's `gc.alloc.rate.norm`, Go's `B/op`).
/// To move to `crate::metric::ALLOC_BYTES`.
const ALLOC_BYTES: &str = "alloc_bytes";

/// The most samples a `sample`-mode benchmark keeps; beyond, its histogram
/// is summarized exactly instead.
pub(crate) const MAX_EXPANDED: u64 = 100_000;

/// Whether the document looks like JMH's: an array of objects with JMH's
/// `jmhVersion`, or its `benchmark`, `mode` and `primaryMetric`.
pub(crate) fn sniff(shape: &json::Shape) -> bool {
    shape.first().is_some_and(|first| {
        first.has("jmhVersion")
            || (first.has("benchmark") && first.has("mode") && first.has("primaryMetric"))
    })
}

/// Imports the JMH JSON result file at `path`.
pub fn import_jmh(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_jmh(&json::read_text(path)?, path, options)
}

/// One benchmark run: a method in one mode with one set of parameters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    #[serde(borrow)]
    benchmark: Cow<'a, str>,
    #[serde(borrow)]
    mode: Cow<'a, str>,
    #[serde(default)]
    jmh_version: Option<String>,
    #[serde(default)]
    forks: Option<u64>,
    #[serde(default)]
    measurement_iterations: Option<u64>,
    #[serde(default)]
    params: Option<Ordered<Text>>,
    primary_metric: Metric,
    #[serde(default)]
    secondary_metrics: Option<Ordered<Metric>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    score: Num,
    #[serde(default)]
    score_error: Option<Num>,
    #[serde(default)]
    score_percentiles: Option<BTreeMap<String, Num>>,
    score_unit: String,
    #[serde(default)]
    raw_data: Option<Vec<Vec<Num>>>,
    #[serde(default)]
    raw_data_histogram: Option<Histogram>,
}

/// `rawDataHistogram`: per fork and iteration, `[time, count]` pairs.
type Histogram = Vec<Vec<Vec<(Num, u64)>>>;

/// A figure as JMH writes it: a number, or `"NaN"`, `"+INF"`, `"-INF"`.
#[derive(Clone, Copy)]
struct Num(f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number (or \"NaN\", \"+INF\", \"-INF\")")
            }
            fn visit_f64<E>(self, x: f64) -> Result<Num, E> {
                Ok(Num(x))
            }
            fn visit_i64<E>(self, x: i64) -> Result<Num, E> {
                Ok(Num(x as f64))
            }
            fn visit_u64<E>(self, x: u64) -> Result<Num, E> {
                Ok(Num(x as f64))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Num, E> {
                match s {
                    "NaN" => Ok(Num(f64::NAN)),
                    "+INF" | "Infinity" => Ok(Num(f64::INFINITY)),
                    "-INF" | "-Infinity" => Ok(Num(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A parameter's value, written as text (JMH writes strings).
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E>(self, s: &str) -> Result<Text, E> {
                Ok(Text(s.to_string()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Text, E> {
                Ok(Text(x.to_string()))
            }
            fn visit_i64<E>(self, x: i64) -> Result<Text, E> {
                Ok(Text(x.to_string()))
            }
            fn visit_u64<E>(self, x: u64) -> Result<Text, E> {
                Ok(Text(x.to_string()))
            }
            fn visit_bool<E>(self, x: bool) -> Result<Text, E> {
                Ok(Text(x.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object's entries in file order.
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    entries.push((k, v));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// What a metric's unit measures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Time per operation; the value is how many of the unit make a second.
    TimePerOp(f64),
    /// Operations per time; the value is how many of the unit make a second.
    OpsPerTime(f64),
}

/// How many of JMH's time unit `u` make a second.
fn per_second(u: &str) -> Option<f64> {
    Some(match u {
        "ns" => 1e9,
        "us" | "µs" => 1e6,
        "ms" => 1e3,
        "s" => 1.0,
        "min" => 1.0 / 60.0,
        "hr" => 1.0 / 3600.0,
        "day" => 1.0 / 86400.0,
        _ => return None,
    })
}

fn kind(unit: &str) -> Option<Kind> {
    if let Some(t) = unit.strip_suffix("/op") {
        return per_second(t).map(Kind::TimePerOp);
    }
    if let Some(t) = unit.strip_prefix("ops/") {
        return per_second(t).map(Kind::OpsPerTime);
    }
    None
}

impl Kind {
    /// `x` of this unit in seconds per operation or operations per second.
    fn convert(self, x: f64) -> f64 {
        match self {
            // A division rounds once: 12 ns is 1.2e-8 s.
            Kind::TimePerOp(per) if per >= 1.0 => x / per,
            Kind::TimePerOp(per) => x * (1.0 / per).round(),
            Kind::OpsPerTime(per) if per >= 1.0 => x * per,
            Kind::OpsPerTime(per) => x / (1.0 / per).round(),
        }
    }

    fn metric(self) -> (&'static str, Unit) {
        match self {
            Kind::TimePerOp(_) => (WALL_TIME, Unit::Seconds),
            Kind::OpsPerTime(_) => (THROUGHPUT, Unit::PerSecond),
        }
    }
}

/// Imports a JMH JSON result document; `source` names it in errors and in
/// the report's note.
pub fn parse_jmh(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let runs: Vec<Run<'_>> = json::typed(text, &location)?;
    if runs.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "the array is empty: run the benchmarks with `-rf json` (and `-rff FILE`), and check that the benchmark filter matches some".into(),
        });
    }
    let error = |i: usize, key: &str, problem: String| ImportError::Field {
        location: location.clone(),
        field: format!("[{i}].{key}"),
        problem,
    };

    // Names: the method and its parameters, and the mode where one method
    // with the same parameters runs in several.
    let base: Vec<String> = runs
        .iter()
        .map(|r| match &r.params {
            Some(p) if !p.0.is_empty() => {
                let params: Vec<String> = p.0.iter().map(|(k, v)| format!("{k}={}", v.0)).collect();
                format!("{} ({})", r.benchmark, params.join(", "))
            }
            _ => r.benchmark.to_string(),
        })
        .collect();
    let mut modes: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, r) in base.iter().zip(&runs) {
        let m = modes.entry(name).or_default();
        if !m.contains(&r.mode.as_ref()) {
            m.push(&r.mode);
        }
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let mut throughput: Vec<String> = Vec::new();
    let mut summary_only: Vec<String> = Vec::new();
    let mut mismatch: Vec<String> = Vec::new();
    let mut unclear: Vec<String> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let name = if modes[base[i].as_str()].len() > 1 {
            format!("{} [{}]", base[i], r.mode)
        } else {
            base[i].clone()
        };
        if let Some(&first) = first_at.get(&name) {
            return Err(error(
                i,
                "benchmark",
                format!(
                    "`{name}` appears twice (first at [{first}]); the file is damaged or joins two runs"
                ),
            ));
        }
        first_at.insert(name.clone(), i);

        let pm = &r.primary_metric;
        let kind = kind(&pm.score_unit).ok_or_else(|| {
            error(
                i,
                "primaryMetric.scoreUnit",
                format!(
                    "expected a time per operation (`ns/op`) or operations per time (`ops/s`), found {:?}",
                    pm.score_unit
                ),
            )
        })?;
        let score = pm.score.0;
        if !score.is_finite() {
            return Err(error(
                i,
                "primaryMetric.score",
                format!("{} is not a figure; {DAMAGED}", shown(score)),
            ));
        }
        let (metric, unit) = kind.metric();
        let mut bench = Benchmark::new(name.clone(), metric);
        if let Some(p) = &r.params {
            for (k, v) in &p.0 {
                bench.parameters.insert(k.clone(), v.0.clone());
            }
        }
        let field = |key: &str| format!("primaryMetric.{key}");
        let primary = match (&pm.raw_data_histogram, &pm.raw_data) {
            (Some(h), _) if h.iter().any(|fork| !fork.is_empty()) => {
                histogram(h, kind, unit, |key, p| error(i, &field(key), p))?
            }
            (_, Some(raw)) if raw.iter().any(|fork| !fork.is_empty()) => {
                let samples = values(raw, kind, |key, p| error(i, &field(key), p))?;
                Measurement::from_samples(metric, unit, samples)
            }
            _ => {
                summary_only.push(format!("`{name}`"));
                from_summary(r, kind, unit, |key, p| error(i, &field(key), p))?
            }
        };
        let ours = primary.summary.as_ref().map_or(f64::NAN, |s| s.mean);
        let theirs = kind.convert(score);
        if (ours - theirs).abs() > 1e-6 * theirs.abs() {
            mismatch.push(format!(
                "`{name}` (samples {}, score {})",
                shown(ours),
                shown(theirs)
            ));
        }
        bench.measurements.push(primary);
        if kind.metric().0 == THROUGHPUT {
            throughput.push(format!("`{name}`"));
        }

        // The number of measurement iterations, for telling which
        // secondary metrics have one figure per iteration.
        let iterations: usize = pm
            .raw_data
            .as_ref()
            .map(|raw| raw.iter().map(Vec::len).sum())
            .or_else(|| {
                pm.raw_data_histogram
                    .as_ref()
                    .map(|h| h.iter().map(Vec::len).sum())
            })
            .unwrap_or(0);
        if let Some(secondaries) = &r.secondary_metrics {
            for (key, m) in &secondaries.0 {
                let path = format!("secondaryMetrics.{key}");
                match secondary(key, m, &pm.score_unit, iterations, |k, p| {
                    error(i, &format!("{path}.{k}"), p)
                })? {
                    Secondary::Kept(m) => {
                        if bench.measurement(&m.metric).is_none() {
                            bench.measurements.push(*m);
                        }
                    }
                    Secondary::Unclear => {
                        let u = format!("`{key}` ({})", m.score_unit);
                        if !unclear.contains(&u) {
                            unclear.push(u);
                        }
                    }
                    Secondary::Skipped => {}
                }
            }
        }
        report.benchmarks.push(bench);
    }

    let version = runs[0]
        .jmh_version
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    report.notes.push(Note::info(
        "imported_from_jmh",
        format!(
            "imported from JMH{version}'s JSON results in {} ({} benchmarks)",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    if !throughput.is_empty() {
        report.notes.push(Note::info(
            "jmh_throughput",
            format!(
                "throughput-mode (thrpt) benchmarks keep JMH's operations per second as their primary metric `throughput` (higher is better), not a time: {}",
                throughput.join(", ")
            ),
        ));
    }
    if !summary_only.is_empty() {
        report.notes.push(Note::info(
            "summary_only",
            format!(
                "JMH's file gives only summary statistics (score, score error, percentiles; written without raw data) for these benchmarks: {}; compare uses them without inventing samples (JMH gives no median absolute deviation, so none is reported)",
                summary_only.join(", ")
            ),
        ));
    }
    if !mismatch.is_empty() {
        report.notes.push(Note::warning(
            "jmh_score_mismatch",
            format!(
                "the mean of the raw data is not JMH's score for: {}",
                mismatch.join(", ")
            ),
        ));
    }
    if !unclear.is_empty() {
        report.notes.push(Note::info(
            "jmh_secondary_unit",
            format!(
                "secondary metrics in units perfhub does not convert are left out: {}",
                unclear.join(", ")
            ),
        ));
    }
    crate::checked(report, source)
}

/// `rawData` flattened, fork by fork, converted; `error` makes the error
/// for a field below the metric.
fn values(
    raw: &[Vec<Num>],
    kind: Kind,
    error: impl Fn(&str, String) -> ImportError,
) -> Result<Vec<f64>, ImportError> {
    let mut out = Vec::with_capacity(raw.iter().map(Vec::len).sum());
    for (f, fork) in raw.iter().enumerate() {
        for (j, x) in fork.iter().enumerate() {
            let v = kind.convert(x.0);
            if let Some(p) = problem(x.0, v, kind) {
                return Err(error(&format!("rawData[{f}][{j}]"), p));
            }
            out.push(v + 0.0);
        }
    }
    Ok(out)
}

/// Why `raw` (`converted`) cannot be a figure of `kind`, if it cannot.
fn problem(raw: f64, converted: f64, kind: Kind) -> Option<String> {
    match kind {
        Kind::TimePerOp(_) => time_problem(|| shown(raw), converted),
        Kind::OpsPerTime(_) if !(converted.is_finite() && converted >= 0.0) => Some(format!(
            "{} is not a number of operations per time from 0; {DAMAGED}",
            shown(raw)
        )),
        Kind::OpsPerTime(_) => None,
    }
}

/// `sample` mode's histogram: the samples, or beyond [`MAX_EXPANDED`] their
/// exact summary.
fn histogram(
    h: &Histogram,
    kind: Kind,
    unit: Unit,
    error: impl Fn(&str, String) -> ImportError,
) -> Result<Measurement, ImportError> {
    let (metric, _) = kind.metric();
    let mut pairs: Vec<(f64, u64)> = Vec::new();
    let mut total: u64 = 0;
    for (f, fork) in h.iter().enumerate() {
        for (j, iteration) in fork.iter().enumerate() {
            for (k, (x, count)) in iteration.iter().enumerate() {
                let v = kind.convert(x.0);
                if let Some(p) = problem(x.0, v, kind) {
                    return Err(error(&format!("rawDataHistogram[{f}][{j}][{k}][0]"), p));
                }
                total = total.saturating_add(*count);
                pairs.push((v + 0.0, *count));
            }
        }
    }
    if total == 0 {
        return Err(error(
            "rawDataHistogram",
            format!("no operation was sampled; {DAMAGED}"),
        ));
    }
    if total <= MAX_EXPANDED {
        let mut samples = Vec::with_capacity(total as usize);
        for (v, c) in pairs {
            samples.extend(std::iter::repeat_n(v, c as usize));
        }
        return Ok(Measurement::from_samples(metric, unit, samples));
    }
    Ok(Measurement {
        metric: metric.to_string(),
        unit,
        samples: Vec::new(),
        value: None,
        summary: Some(weighted_summary(pairs)),
        histogram: None,
        histogram_unit: None,
        better: None,
    }
    .known_better())
}

/// The summary of values with counts, as [`Summary::of`] would make it of
/// the values repeated.
fn weighted_summary(mut pairs: Vec<(f64, u64)>) -> Summary {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n: u64 = pairs.iter().map(|p| p.1).sum();
    let nf = n as f64;
    let mean = pairs.iter().map(|&(v, c)| v * c as f64).sum::<f64>() / nf;
    let ss: f64 = pairs
        .iter()
        .map(|&(v, c)| c as f64 * (v - mean) * (v - mean))
        .sum();
    let stddev = if n >= 2 {
        (ss / (nf - 1.0)).sqrt()
    } else {
        0.0
    };
    let median = weighted_percentile(&pairs, n, 50.0);
    let mut deviations: Vec<(f64, u64)> = pairs
        .iter()
        .map(|&(v, c)| ((v - median).abs(), c))
        .collect();
    deviations.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mad = weighted_percentile(&deviations, n, 50.0);
    let percentiles = perfhub_core::stats::SUMMARY_PERCENTILES
        .iter()
        .map(|&(key, p)| (key.to_string(), weighted_percentile(&pairs, n, p)))
        .collect();
    let mean_ci = (n >= 2)
        .then(|| {
            let t =
                perfhub_core::stats::student_t_quantile(0.5 + SUMMARY_CI_LEVEL / 2.0, nf - 1.0)?;
            let half = t * stddev / nf.sqrt();
            Some(ConfidenceInterval {
                level: SUMMARY_CI_LEVEL,
                lower: mean - half,
                upper: mean + half,
            })
        })
        .flatten();
    // Tukey's fences.
    let q1 = weighted_percentile(&pairs, n, 25.0);
    let q3 = weighted_percentile(&pairs, n, 75.0);
    let iqr = q3 - q1;
    let mut outliers = OutlierCounts::default();
    for &(v, c) in &pairs {
        let c = c as usize;
        if v < q1 - 3.0 * iqr {
            outliers.low_severe += c;
        } else if v < q1 - 1.5 * iqr {
            outliers.low_mild += c;
        } else if v > q3 + 3.0 * iqr {
            outliers.high_severe += c;
        } else if v > q3 + 1.5 * iqr {
            outliers.high_mild += c;
        }
    }
    Summary {
        n: n as usize,
        mean,
        stddev,
        median,
        min: pairs[0].0,
        max: pairs[pairs.len() - 1].0,
        mad,
        percentiles,
        mean_ci,
        outliers,
        spread_unknown: false,
        mad_unknown: true,
    }
}

/// The `p` percentile of `n` values given sorted with their counts,
/// interpolated between neighbours as perfhub's summaries are.
fn weighted_percentile(sorted: &[(f64, u64)], n: u64, p: f64) -> f64 {
    let h = (n - 1) as f64 * p / 100.0;
    let lo = h.floor() as u64;
    let frac = h - lo as f64;
    let at = |rank: u64| -> f64 {
        let mut seen = 0u64;
        for &(v, c) in sorted {
            seen += c;
            if rank < seen {
                return v;
            }
        }
        sorted[sorted.len() - 1].0
    };
    let a = at(lo);
    if frac <= 0.0 || lo + 1 >= n {
        a
    } else {
        a + frac * (at(lo + 1) - a)
    }
}

/// A benchmark written without raw data: JMH's summary. The number of
/// iterations is `forks` × `measurementIterations`; the standard deviation
/// is the one JMH's 99.9% score error was made of.
fn from_summary(
    r: &Run<'_>,
    kind: Kind,
    unit: Unit,
    error: impl Fn(&str, String) -> ImportError,
) -> Result<Measurement, ImportError> {
    let pm = &r.primary_metric;
    let (metric, _) = kind.metric();
    let mean = kind.convert(pm.score.0);
    let n = match (r.forks, r.measurement_iterations) {
        (Some(f), Some(m)) if r.mode != "sample" && f * m > 0 => (f * m) as usize,
        _ => {
            // How many operations `sample` mode sampled is not written.
            return Ok(Measurement::from_value(metric, unit, mean));
        }
    };
    let percentile = |key: &str| -> Result<Option<f64>, ImportError> {
        let Some(x) = pm.score_percentiles.as_ref().and_then(|p| p.get(key)) else {
            return Ok(None);
        };
        let v = kind.convert(x.0);
        match problem(x.0, v, kind) {
            Some(p) => Err(error(&format!("scorePercentiles.{key}"), p)),
            None => Ok(Some(v)),
        }
    };
    let (Some(a), Some(b), Some(median)) = (
        percentile("0.0")?,
        percentile("100.0")?,
        percentile("50.0")?,
    ) else {
        return Ok(Measurement::from_value(metric, unit, mean));
    };
    let (min, max) = (a.min(b), a.max(b));
    let mut percentiles = BTreeMap::new();
    for (key, name) in [
        ("50.0", "p50"),
        ("90.0", "p90"),
        ("95.0", "p95"),
        ("99.0", "p99"),
        ("99.9", "p99.9"),
    ] {
        if let Some(v) = percentile(key)? {
            percentiles.insert(name.to_string(), v);
        }
    }
    let error_half = pm.score_error.map(|e| kind.convert(e.0).abs());
    let t = perfhub_core::stats::student_t_quantile(0.9995, n as f64 - 1.0);
    let (stddev, spread_unknown) = match (error_half, t) {
        (Some(e), Some(t)) if n >= 2 && e.is_finite() => (e * (n as f64).sqrt() / t, false),
        _ => (0.0, true),
    };
    Ok(Measurement {
        metric: metric.to_string(),
        unit,
        samples: Vec::new(),
        value: None,
        summary: Some(Summary {
            n,
            mean,
            stddev,
            median,
            min,
            max,
            mad: 0.0,
            percentiles,
            mean_ci: None,
            outliers: OutlierCounts::default(),
            spread_unknown,
            mad_unknown: true,
        }),
        histogram: None,
        histogram_unit: None,
        better: None,
    }
    .known_better())
}

enum Secondary {
    Kept(Box<Measurement>),
    /// A unit perfhub does not convert.
    Unclear,
    /// Not a figure of its own (`sample` mode's percentiles), or no figure
    /// (`NaN`).
    Skipped,
}

/// A secondary metric as a measurement, where its unit is clear.
fn secondary(
    key: &str,
    m: &Metric,
    primary_unit: &str,
    iterations: usize,
    error: impl Fn(&str, String) -> ImportError,
) -> Result<Secondary, ImportError> {
    // Before JMH 1.30 the profilers' metrics were named `·gc.alloc.rate`.
    let name = key.trim_start_matches(':').trim_start_matches('·');
    let is_percentile =
        name.starts_with('p') && name[1..].parse::<f64>().is_ok() && m.score_unit == primary_unit;
    if is_percentile {
        return Ok(Secondary::Skipped);
    }
    let gc = name.starts_with("gc.");
    // (metric, unit, better, scale: figures are multiplied by it).
    let (metric, unit, better, scale): (String, Unit, Option<Better>, f64) =
        match (kind(&m.score_unit), m.score_unit.as_str()) {
            (Some(k @ Kind::TimePerOp(_)), _) => {
                // Scaled by `convert` below.
                return kept(
                    name,
                    m,
                    Unit::Seconds,
                    Some(Better::Lower),
                    iterations,
                    |x| k.convert(x),
                    error,
                );
            }
            (Some(k @ Kind::OpsPerTime(_)), _) => {
                return kept(
                    name,
                    m,
                    Unit::PerSecond,
                    Some(Better::Higher),
                    iterations,
                    |x| k.convert(x),
                    error,
                );
            }
            (None, "B/op") if name == "gc.alloc.rate.norm" => (
                ALLOC_BYTES.to_string(),
                Unit::Bytes,
                Some(Better::Lower),
                1.0,
            ),
            (None, "B/op") => (name.to_string(), Unit::Bytes, None, 1.0),
            // JMH's GC profiler counts megabytes of 2^20 bytes.
            (None, "MB/sec") if gc => (
                name.to_string(),
                Unit::BytesPerSecond,
                Some(Better::Lower),
                1024.0 * 1024.0,
            ),
            (None, "counts") => (
                name.to_string(),
                Unit::Count,
                gc.then_some(Better::Lower),
                1.0,
            ),
            (None, "ms") if gc => (name.to_string(), Unit::Seconds, Some(Better::Lower), 1e-3),
            (None, "#/op" | "#") => (name.to_string(), Unit::Number, None, 1.0),
            _ => return Ok(Secondary::Unclear),
        };
    kept(&metric, m, unit, better, iterations, |x| x * scale, error)
}

/// The secondary metric `m` as `metric`: its per-iteration figures where
/// there is one per iteration and their mean is JMH's score, else the score.
fn kept(
    metric: &str,
    m: &Metric,
    unit: Unit,
    better: Option<Better>,
    iterations: usize,
    convert: impl Fn(f64) -> f64,
    error: impl Fn(&str, String) -> ImportError,
) -> Result<Secondary, ImportError> {
    let score = m.score.0;
    if !score.is_finite() {
        return Ok(Secondary::Skipped);
    }
    let check = |field: &str, raw: f64, v: f64| -> Result<(), ImportError> {
        let bad = !v.is_finite()
            || (unit != Unit::Number && v < 0.0)
            || (unit == Unit::Seconds && time_problem(String::new, v).is_some());
        if bad {
            return Err(error(
                field,
                format!(
                    "{} {} cannot be a measurement; {DAMAGED}",
                    shown(raw),
                    m.score_unit
                ),
            ));
        }
        Ok(())
    };
    let converted_score = convert(score) + 0.0;
    check("score", score, converted_score)?;
    let raw: Vec<f64> = m.raw_data.iter().flatten().flatten().map(|x| x.0).collect();
    let measurement =
        if iterations > 0 && raw.len() == iterations && raw.iter().all(|x| x.is_finite()) {
            let mean = raw.iter().sum::<f64>() / raw.len() as f64;
            if (mean - score).abs() <= 1e-6 * score.abs().max(f64::MIN_POSITIVE) {
                let mut samples = Vec::with_capacity(raw.len());
                for (i, &x) in raw.iter().enumerate() {
                    let v = convert(x) + 0.0;
                    check(&format!("rawData (figure {i})"), x, v)?;
                    samples.push(v);
                }
                Measurement::from_samples(metric, unit, samples)
            } else {
                Measurement::from_value(metric, unit, converted_score)
            }
        } else {
            Measurement::from_value(metric, unit, converted_score)
        };
    Ok(Secondary::Kept(Box::new(match better {
        Some(b) => measurement.with_better(b),
        None => Measurement {
            better: None,
            ..measurement
        },
    })))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/jmh/results.json")
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_jmh(text, Path::new("jmh.json"), &options())
    }

    #[test]
    fn every_mode_imports_with_jmhs_score_as_the_mean() {
        let path = fixture();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(crate::detect_text(&text), Some(crate::Format::Jmh));
        let report = import_jmh(&path, &options()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let runs = v.as_array().unwrap();
        assert_eq!(report.benchmarks.len(), runs.len());
        let mut worst: f64 = 0.0;
        for (b, r) in report.benchmarks.iter().zip(runs) {
            let pm = &r["primaryMetric"];
            let unit = pm["scoreUnit"].as_str().unwrap();
            let score = pm["score"].as_f64().unwrap();
            let expected = match unit {
                "ns/op" => score / 1e9,
                "us/op" => score / 1e6,
                "ms/op" => score / 1e3,
                "ops/ms" => score * 1e3,
                other => panic!("{other}"),
            };
            let m = b.primary().unwrap();
            let mean = m.summary.as_ref().unwrap().mean;
            let rel = (mean - expected).abs() / expected;
            worst = worst.max(rel);
            assert!(rel < 1e-3, "{}: {mean} vs {expected}", b.name);
            let n: usize = match pm.get("rawData") {
                Some(raw) => raw
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_array().unwrap().len())
                    .sum(),
                None => pm["rawDataHistogram"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|f| f.as_array().unwrap())
                    .flat_map(|it| it.as_array().unwrap())
                    .map(|pair| pair[1].as_u64().unwrap() as usize)
                    .sum(),
            };
            assert_eq!(m.samples.len(), n, "{}", b.name);
            if unit.starts_with("ops/") {
                assert_eq!(b.primary_metric, THROUGHPUT);
                assert_eq!(m.unit, Unit::PerSecond);
                assert_eq!(m.better, Some(Better::Higher));
            } else {
                assert_eq!(b.primary_metric, WALL_TIME);
            }
            assert_eq!(b.parameters["size"], r["params"]["size"].as_str().unwrap());
        }
        println!("jmh: largest relative difference of the means {worst:e}");
        let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert!(names.contains(&"perfhub.fixture.Bench.join (size=10) [thrpt]"));
        assert!(names.contains(&"perfhub.fixture.Bench.join (size=10) [avgt]"));
        assert!(names.contains(&"perfhub.fixture.Bench.sort (size=1000)"));
        assert!(names.contains(&"perfhub.fixture.Bench.sum (size=10)"));
        assert!(names.contains(&"perfhub.fixture.Bench.shuffle (size=10)"));
        assert!(!report.notes.iter().any(|n| n.code == "jmh_score_mismatch"));
        assert!(report.notes.iter().any(|n| n.code == "jmh_throughput"));
    }

    #[test]
    fn the_gc_profilers_figures_become_measurements() {
        let report = import_jmh(&fixture(), &options()).unwrap();
        let b = report
            .benchmark("perfhub.fixture.Bench.sort (size=10)")
            .unwrap();
        let alloc = b.measurement(ALLOC_BYTES).unwrap();
        assert_eq!(alloc.unit, Unit::Bytes);
        assert_eq!(alloc.samples.len(), 6);
        let rate = b.measurement("gc.alloc.rate").unwrap();
        assert_eq!(rate.unit, Unit::BytesPerSecond);
        let count = b.measurement("gc.count").unwrap();
        assert_eq!(count.unit, Unit::Count);
        // JMH's gc.count score is the sum over the iterations: kept as is.
        assert!(count.value.is_some());
        // Sample mode's percentiles are not repeated.
        let s = report
            .benchmark("perfhub.fixture.Bench.sum (size=10)")
            .unwrap();
        assert!(s.measurement("p0.50").is_none());
        assert!(s.measurements.iter().all(|m| !m.metric.starts_with('p')));
    }

    #[test]
    fn a_large_histogram_is_summarized_exactly() {
        let pairs = vec![(3.0, 2), (1.0, 3), (2.0, 5)];
        let s = weighted_summary(pairs);
        let expanded = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0];
        let t = Summary::of(&expanded).unwrap();
        assert_eq!(s.n, t.n);
        assert!((s.mean - t.mean).abs() < 1e-12);
        assert!((s.stddev - t.stddev).abs() < 1e-12);
        assert_eq!(s.median, t.median);
        assert_eq!(s.mad, t.mad);
        assert_eq!(s.min, t.min);
        assert_eq!(s.max, t.max);
        assert_eq!(s.percentiles, t.percentiles);
        assert_eq!(s.outliers, t.outliers);
        let (a, b) = (s.mean_ci.unwrap(), t.mean_ci.unwrap());
        assert!((a.lower - b.lower).abs() < 1e-9 && (a.upper - b.upper).abs() < 1e-9);

        let big = format!(
            r#"[{{"benchmark": "a.B.m", "mode": "sample", "primaryMetric": {{"score": 1.5, "scoreUnit": "us/op",
              "rawDataHistogram": [[[[1.0, {}], [2.0, {}]]]]}}}}]"#,
            MAX_EXPANDED, MAX_EXPANDED
        );
        let report = parse(&big).unwrap();
        let m = report.benchmarks[0].primary().unwrap();
        assert!(m.samples.is_empty());
        let s = m.summary.as_ref().unwrap();
        assert_eq!(s.n as u64, 2 * MAX_EXPANDED);
        assert!((s.mean - 1.5e-6).abs() < 1e-15);
    }

    #[test]
    fn without_raw_data_the_summary_is_kept() {
        let text = r#"[{"jmhVersion": "1.37", "benchmark": "a.B.m", "mode": "avgt", "forks": 2,
            "measurementIterations": 5, "primaryMetric": {"score": 10.0, "scoreError": 2.0,
            "scorePercentiles": {"0.0": 8.0, "50.0": 9.5, "90.0": 12.0, "95.0": 12.0, "99.0": 12.0,
            "99.9": 12.0, "99.99": 12.0, "99.999": 12.0, "99.9999": 12.0, "100.0": 12.0},
            "scoreUnit": "ns/op", "rawData": []}, "secondaryMetrics": {}}]"#;
        let report = parse(text).unwrap();
        let m = report.benchmarks[0].primary().unwrap();
        assert!(m.samples.is_empty());
        let s = m.summary.as_ref().unwrap();
        assert_eq!(s.n, 10);
        assert!((s.mean - 10e-9).abs() < 1e-20);
        assert!((s.min - 8e-9).abs() < 1e-20 && (s.max - 12e-9).abs() < 1e-20);
        // 2.0 = t(0.9995, 9) * sd / sqrt(10)
        let t = perfhub_core::stats::student_t_quantile(0.9995, 9.0).unwrap();
        assert!((s.stddev - 2e-9 * 10f64.sqrt() / t).abs() < 1e-18);
        assert!(report.notes.iter().any(|n| n.code == "summary_only"));
    }

    #[test]
    fn malformed_results_are_refused_naming_the_field() {
        let run = |pm: &str| {
            format!(
                r#"[{{"benchmark": "a.B.m", "mode": "avgt", "primaryMetric": {{"score": 1.0, "scoreUnit": "ns/op", "rawData": [[1.0]]}}}}, {{"benchmark": "a.B.n", "mode": "avgt", "primaryMetric": {pm}}}]"#
            )
        };
        for (pm, field, problem) in [
            (
                r#"{"score": 1.0, "scoreUnit": "ns/op", "rawData": [[1.0, -2.0]]}"#,
                "[1].primaryMetric.rawData[0][1]",
                "-2 is negative",
            ),
            (
                r#"{"score": 1.0, "scoreUnit": "ns/op", "rawData": [[1.0, "x"]]}"#,
                "[1].primaryMetric.rawData[0][1]",
                "invalid value",
            ),
            (
                r#"{"score": 1.0, "scoreUnit": "furlongs", "rawData": [[1.0]]}"#,
                "[1].primaryMetric.scoreUnit",
                "expected a time per operation",
            ),
            (
                r#"{"score": "NaN", "scoreUnit": "ns/op", "rawData": [[1.0]]}"#,
                "[1].primaryMetric.score",
                "NaN is not a figure",
            ),
            (
                r#"{"scoreUnit": "ns/op", "rawData": [[1.0]]}"#,
                "[1].primaryMetric",
                "missing field `score`",
            ),
        ] {
            let err = parse(&run(pm)).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("jmh.json: field `{field}`")),
                "{pm}: {err}"
            );
            assert!(err.contains(problem), "{pm}: {err}");
        }
        let twice = r#"[{"benchmark": "a.B.m", "mode": "avgt", "primaryMetric": {"score": 1.0, "scoreUnit": "ns/op", "rawData": [[1.0]]}},
                        {"benchmark": "a.B.m", "mode": "avgt", "primaryMetric": {"score": 1.0, "scoreUnit": "ns/op", "rawData": [[1.0]]}}]"#;
        let err = parse(twice).unwrap_err().to_string();
        assert!(
            err.starts_with("jmh.json: field `[1].benchmark`: `a.B.m` appears twice"),
            "{err}"
        );
        let err = parse("[]").unwrap_err();
        assert!(matches!(err, ImportError::NoResults { .. }), "{err}");
        assert!(matches!(parse("[{").unwrap_err(), ImportError::Json { .. }));
    }

    #[test]
    fn sniff_claims_only_jmh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "pytest-benchmark/run-a.json",
            "google-benchmark/single.json",
        ] {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            assert!(!sniff(&json::Shape::of(&text).unwrap()), "{file}");
        }
        assert!(sniff(
            &json::Shape::of(&std::fs::read_to_string(fixture()).unwrap()).unwrap()
        ));
        assert!(!sniff(&json::Shape::of("[]").unwrap()));
        assert!(!sniff(&json::Shape::of(r#"[{"name": "x"}]"#).unwrap()));
    }
}
