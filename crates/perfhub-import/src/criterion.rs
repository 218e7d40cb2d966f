//! Criterion's output directory, `target/criterion`.
//!
//! Criterion writes, for every benchmark, a directory named after its id
//! (`<group>[/<function>][/<value>]`, sanitized) holding one directory per
//! baseline: `new` for the latest run, `base` for the default comparison
//! baseline (a copy of `new` after each run) and one per
//! `--save-baseline NAME`, plus `change/` and `report/` which are not
//! baselines. Each baseline holds `benchmark.json` (the id's parts and the
//! throughput), `sample.json` (iteration counts and total times in
//! nanoseconds, one pair per sample), `estimates.json` (bootstrap estimates
//! with confidence intervals) and `tukey.json`. None of these files is a
//! stable format, which is why every field is read by hand and every error
//! names the file and the field.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};

use crate::error::{ImportError, Location};
use crate::json::{self, Node};
use crate::{ImportOptions, metric};

/// The baseline criterion writes every run to, read when none is named.
pub const DEFAULT_BASELINE: &str = "new";

const NS: f64 = 1e-9;

/// Imports the criterion output directory `dir` (normally
/// `target/criterion`), reading each benchmark's `baseline` (`new` when
/// `None`). Benchmarks are named by criterion's full id
/// (`group/function/value`), ordered by directory with numeric values in
/// numeric order; the value of a parameterized benchmark becomes its `value`
/// parameter.
///
/// Benchmarks that lack the baseline while others have it (added after it
/// was saved) are left out with a warning note; when none has it the error
/// lists the baselines found.
pub fn import_criterion_dir(
    dir: &Path,
    baseline: Option<&str>,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let baseline = baseline.unwrap_or(DEFAULT_BASELINE);
    let meta = fs::metadata(dir).map_err(|e| ImportError::read(dir, e))?;
    if !meta.is_dir() {
        return Err(ImportError::Missing {
            path: dir.to_path_buf(),
            expected: Some("a criterion output directory such as target/criterion".into()),
        });
    }
    let mut found = Vec::new();
    find_benchmarks(dir, &mut found)?;
    if found.is_empty() {
        return Err(ImportError::NoCriterionBenchmarks {
            path: dir.to_path_buf(),
        });
    }
    let (with, without): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|b| b.baselines.iter().any(|n| n == baseline));
    if with.is_empty() {
        let names: BTreeSet<String> = without
            .iter()
            .flat_map(|b| b.baselines.iter().cloned())
            .collect();
        return Err(ImportError::UnknownBaseline {
            path: dir.to_path_buf(),
            baseline: baseline.to_string(),
            found: names.into_iter().collect(),
        });
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    for found in &with {
        report
            .benchmarks
            .push(read_benchmark(&found.dir.join(baseline))?);
    }
    report.notes.push(Note::info(
        "imported_from_criterion",
        format!(
            "imported from criterion's output in {} (baseline `{baseline}`, {} benchmarks); criterion's files record no unit, so the values are read as the nanoseconds of its default wall-clock measurement",
            dir.display(),
            with.len()
        ),
    ));
    if !without.is_empty() {
        let dirs: Vec<String> = without
            .iter()
            .map(|b| relative(dir, &b.dir).display().to_string())
            .collect();
        report.notes.push(Note::warning(
            "criterion_baseline_missing",
            format!(
                "{} benchmarks have no baseline `{baseline}` and were left out: {}",
                without.len(),
                dirs.join(", ")
            ),
        ));
    }
    crate::checked(report, dir)
}

struct FoundBenchmark {
    dir: PathBuf,
    /// Names of the subdirectories holding a `benchmark.json`, sorted.
    baselines: Vec<String>,
}

/// Collects every directory below `dir` one of whose subdirectories holds a
/// `benchmark.json`: those subdirectories are its baselines.
fn find_benchmarks(dir: &Path, out: &mut Vec<FoundBenchmark>) -> Result<(), ImportError> {
    let mut children = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| ImportError::read(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::read(dir, e))?;
        let path = entry.path();
        // Follows symbolic links, as criterion's own walk does.
        if path.is_dir() {
            children.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    children.sort_by(|a, b| natural_order(&a.0, &b.0));

    let mut baselines = Vec::new();
    let mut others = Vec::new();
    for (name, path) in children {
        if path.join("benchmark.json").is_file() {
            baselines.push(name);
        } else {
            others.push(path);
        }
    }
    if !baselines.is_empty() {
        baselines.sort();
        out.push(FoundBenchmark {
            dir: dir.to_path_buf(),
            baselines,
        });
    }
    // A benchmark `a` and another `a/b` nest, so benchmark directories are
    // searched too (their baselines are not).
    for path in others {
        find_benchmarks(&path, out)?;
    }
    Ok(())
}

/// Numbers in numeric order (`fib/2` before `fib/10`), the rest by text.
fn natural_order(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal).then(a.cmp(b)),
        _ => a.cmp(b),
    }
}

fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

fn read_json(path: &Path) -> Result<(serde_json::Value, Location), ImportError> {
    let location = Location::file(path);
    let text = json::read_text(path)?;
    Ok((json::parse(&text, &location)?, location))
}

/// Reads one baseline directory of one benchmark.
fn read_benchmark(dir: &Path) -> Result<Benchmark, ImportError> {
    let (value, location) = read_json(&dir.join("benchmark.json"))?;
    let root = Node::root(&value, &location);
    root.object()?;
    let name = root.get("full_id")?.str()?.to_string();
    let value_str = root.get_opt("value_str")?.map(|v| v.str()).transpose()?;
    let throughput = match root.get_opt("throughput")? {
        Some(node) => Some(Throughput::read(&node)?),
        None => None,
    };

    let (value, location) = read_json(&dir.join("sample.json"))?;
    let root = Node::root(&value, &location);
    root.object()?;
    let mode = root
        .get_opt("sampling_mode")?
        .map(|m| m.str())
        .transpose()?
        .map(str::to_string);
    let iters_node = root.get("iters")?;
    let times_node = root.get("times")?;
    let seconds = per_iteration_seconds(&iters_node, &times_node, "ns", NS)?;

    let (value, location) = read_json(&dir.join("estimates.json"))?;
    let root = Node::root(&value, &location);
    root.object()?;
    let mut estimates = Vec::new();
    for (key, metric) in ESTIMATES {
        // Criterion writes `"slope": null` in flat sampling mode.
        let node = if key == "slope" {
            root.get_opt(key)?
        } else {
            Some(root.get(key)?)
        };
        if let Some(node) = node {
            estimates.push((key, metric, Estimate::read(&node)?));
        }
    }

    let mut b = Benchmark::new(name, WALL_TIME);
    if let Some(v) = value_str {
        b.parameters.insert("value".into(), v.to_string());
    }
    if let Some(t) = &throughput {
        b.measurements
            .extend(t.measurements(&seconds, &times_node)?);
    }
    b.measurements.insert(
        0,
        Measurement::from_samples(WALL_TIME, Unit::Seconds, seconds),
    );
    for (_, metric, e) in &estimates {
        b.measurements
            .push(Measurement::from_value(*metric, Unit::Seconds, e.point));
    }
    b.notes.push(Note::info(
        "criterion_estimates",
        estimates_note(
            mode.as_deref(),
            estimates.iter().map(|(key, _, e)| (*key, *e)),
        ),
    ));
    Ok(b)
}

const ESTIMATES: [(&str, &str); 5] = [
    ("slope", metric::CRITERION_SLOPE),
    ("mean", metric::CRITERION_MEAN),
    ("median", metric::CRITERION_MEDIAN),
    ("std_dev", metric::CRITERION_STD_DEV),
    ("median_abs_dev", metric::CRITERION_MEDIAN_ABS_DEV),
];

/// `times[i] / iters[i]`: the mean time of one iteration in each sample, in
/// seconds, where `times` are in `unit`, of which one is `seconds_per_unit`
/// seconds. This holds in both of criterion's sampling modes (linear:
/// iterations grow by sample; flat: every sample has the same count).
pub(crate) fn per_iteration_seconds(
    iters: &Node<'_>,
    times: &Node<'_>,
    unit: &str,
    seconds_per_unit: f64,
) -> Result<Vec<f64>, ImportError> {
    let counts = iters.f64_array()?;
    let totals = times.f64_array()?;
    if counts.is_empty() {
        return Err(iters.error("is empty: criterion records at least one sample"));
    }
    if counts.len() != totals.len() {
        return Err(times.error(format!(
            "has {} values but `{}` has {}: one of each per sample",
            totals.len(),
            iters.path(),
            counts.len()
        )));
    }
    if let Some(i) = counts.iter().position(|&n| n <= 0.0) {
        return Err(iters.error(format!(
            "iteration count {} at index {i} is not positive",
            counts[i]
        )));
    }
    if let Some(i) = totals.iter().position(|&t| t < 0.0) {
        return Err(times.error(format!("time {} at index {i} is negative", totals[i])));
    }
    let mut seconds = Vec::with_capacity(totals.len());
    for (i, (t, n)) in totals.iter().zip(&counts).enumerate() {
        let s = t / n * seconds_per_unit;
        let shown = || {
            format!(
                "{} {unit} over {} iterations",
                json::shown(*t),
                json::shown(*n)
            )
        };
        if let Some(problem) = json::time_problem(shown, s) {
            return Err(times.error_at(i, problem));
        }
        seconds.push(s);
    }
    Ok(seconds)
}

/// How much work one iteration does, from criterion's `Throughput`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Throughput {
    Bytes(f64),
    Elements(f64),
    ElementsAndBytes { elements: f64, bytes: f64 },
}

impl Throughput {
    /// Criterion's externally tagged enum: `{"Bytes": 4096}`,
    /// `{"BytesDecimal": n}`, `{"Bits": n}`, `{"Elements": n}` or
    /// `{"ElementsAndBytes": {"elements": e, "bytes": b}}`.
    fn read(node: &Node<'_>) -> Result<Throughput, ImportError> {
        let object = node.object()?;
        let mut keys = object.keys();
        let (Some(kind), None) = (keys.next(), keys.next()) else {
            return Err(node.error(format!(
                "expected one of Bytes, BytesDecimal, Bits, Elements or ElementsAndBytes, found an object with {} keys",
                object.len()
            )));
        };
        let inner = node.get(kind)?;
        Ok(match kind.as_str() {
            "Bytes" | "BytesDecimal" => Throughput::Bytes(inner.count()? as f64),
            "Bits" => Throughput::Bytes(inner.count()? as f64 / 8.0),
            "Elements" => Throughput::Elements(inner.count()? as f64),
            "ElementsAndBytes" => Throughput::ElementsAndBytes {
                elements: inner.get("elements")?.count()? as f64,
                bytes: inner.get("bytes")?.count()? as f64,
            },
            other => {
                return Err(node.error(format!(
                    "unknown throughput kind `{other}` (expected Bytes, BytesDecimal, Bits, Elements or ElementsAndBytes)"
                )));
            }
        })
    }

    /// Throughput samples, one per time sample (`seconds` per iteration,
    /// read from `times`, which errors name) that is not zero.
    pub(crate) fn measurements(
        self,
        seconds: &[f64],
        times: &Node<'_>,
    ) -> Result<Vec<Measurement>, ImportError> {
        let rate = |amount: f64| -> Result<Vec<f64>, ImportError> {
            let mut rates = Vec::with_capacity(seconds.len());
            for (i, &s) in seconds.iter().enumerate() {
                if s > 0.0 {
                    let rate = amount / s;
                    if !rate.is_finite() {
                        return Err(times.error_at(
                            i,
                            format!(
                                "{} s per iteration is too short to be measured: {} per iteration would be done at an infinite rate; {}",
                                json::shown(s),
                                json::shown(amount),
                                json::DAMAGED
                            ),
                        ));
                    }
                    rates.push(rate);
                }
            }
            Ok(rates)
        };
        Ok(match self {
            Throughput::Bytes(bytes) => vec![Measurement::from_samples(
                THROUGHPUT,
                Unit::BytesPerSecond,
                rate(bytes)?,
            )],
            Throughput::Elements(elements) => vec![Measurement::from_samples(
                THROUGHPUT,
                Unit::PerSecond,
                rate(elements)?,
            )],
            Throughput::ElementsAndBytes { elements, bytes } => vec![
                Measurement::from_samples(THROUGHPUT, Unit::PerSecond, rate(elements)?),
                Measurement::from_samples(
                    metric::BYTE_THROUGHPUT,
                    Unit::BytesPerSecond,
                    rate(bytes)?,
                ),
            ],
        })
    }
}

/// One of criterion's bootstrap estimates, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) point: f64,
    pub(crate) level: f64,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
}

impl Estimate {
    fn read(node: &Node<'_>) -> Result<Estimate, ImportError> {
        let ci = node.get("confidence_interval")?;
        let level = ci.get("confidence_level")?;
        let e = Estimate {
            point: node.get("point_estimate")?.time("ns", NS)?,
            level: level.f64()?,
            lower: ci.get("lower_bound")?.time("ns", NS)?,
            upper: ci.get("upper_bound")?.time("ns", NS)?,
        };
        if !(e.level > 0.0 && e.level < 1.0) {
            return Err(level.error(format!(
                "{} is not a confidence level (between 0 and 1); {}",
                json::shown(e.level),
                json::DAMAGED
            )));
        }
        e.check_bounds(&ci.get("lower_bound")?, &ci.get("upper_bound")?, "ns")?;
        Ok(e)
    }

    /// Refuses a lower bound above the upper one, read from the fields
    /// `lower` and `upper` in `unit`.
    pub(crate) fn check_bounds(
        &self,
        lower: &Node<'_>,
        upper: &Node<'_>,
        unit: &str,
    ) -> Result<(), ImportError> {
        if self.lower > self.upper {
            return Err(lower.error(format!(
                "{} {unit} is above the upper bound {} {unit}; {}",
                json::shown(lower.f64()?),
                json::shown(upper.f64()?),
                json::DAMAGED
            )));
        }
        Ok(())
    }
}

/// `criterion's estimates (linear sampling): slope 514.4 ns (95% CI 475.8 ns
/// to 568.7 ns); mean ...`, the confidence intervals the measurements leave
/// out.
pub(crate) fn estimates_note<'a>(
    mode: Option<&str>,
    estimates: impl Iterator<Item = (&'a str, Estimate)>,
) -> String {
    let parts: Vec<String> = estimates
        .map(|(name, e)| {
            format!(
                "{name} {} ({}% CI {} to {})",
                Unit::Seconds.format(e.point),
                e.level * 100.0,
                Unit::Seconds.format(e.lower),
                Unit::Seconds.format(e.upper)
            )
        })
        .collect();
    match mode {
        Some(mode) => format!(
            "criterion's estimates ({} sampling): {}",
            mode.to_lowercase(),
            parts.join("; ")
        ),
        None => format!("criterion's estimates: {}", parts.join("; ")),
    }
}
