//! hyperfine's `--export-json` file: `results[]`, each with the `command`,
//! the wall-clock `times` of every run in seconds, the `mean` and other
//! statistics, mean `user` and `system` times, `exit_codes` and the
//! `parameters` of a parameter scan; newer versions add
//! `memory_usage_byte` per run.

use std::collections::BTreeMap;
use std::path::Path;

use perfhub_core::report::metric::{MAX_RSS, SYSTEM_TIME, USER_TIME, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde_json::Value;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Node, shown};

/// Imports the hyperfine JSON export at `path`.
pub fn import_hyperfine(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_hyperfine(&json::read_text(path)?, path, options)
}

/// Imports a hyperfine JSON export; `source` names it in errors and in the
/// report's note. A benchmark is named by its command, with its parameters
/// appended (`sleep 0.1 (n=2)`) when the same command appears more than once.
pub fn parse_hyperfine(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let value = json::parse(text, &location)?;
    let root = Node::root(&value, &location);
    let results = root.get("results")?.items()?;
    if results.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "`results` is empty".into(),
        });
    }

    let mut benchmarks = Vec::with_capacity(results.len());
    for r in &results {
        benchmarks.push(read_result(r)?);
    }
    name_uniquely(&mut benchmarks);

    let mut report = Report::new(ReportKind::Bench, options.created);
    report.benchmarks = benchmarks;
    report.notes.push(Note::info(
        "imported_from_hyperfine",
        format!(
            "imported from hyperfine's JSON export in {} ({} commands)",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    crate::checked(report, source)
}

fn read_result(r: &Node<'_>) -> Result<Benchmark, ImportError> {
    let command = r.get("command")?.str()?.to_string();
    let mut b = Benchmark::new(command.clone(), WALL_TIME);
    b.command = Some(command);
    if let Some(params) = r.get_opt("parameters")? {
        for (k, v) in params.object()? {
            let node = params.get(k)?;
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(node.error("expected a string or a number")),
            };
            b.parameters.insert(k.clone(), value);
        }
    }
    let stats = Stats::read(r)?;
    // hyperfine before 1.6 wrote no `times`: only the statistics.
    match r.get_opt("times")? {
        Some(node) => {
            let times = node.seconds_array()?;
            if let (Some(min), Some(max)) = (stats.min, stats.max)
                && let Some(i) = times.iter().position(|&t| !within(t, min, max))
            {
                return Err(node.error_at(
                    i,
                    format!(
                        "{} s is outside the result's min {} s and max {} s; {DAMAGED}",
                        shown(times[i]),
                        shown(min),
                        shown(max)
                    ),
                ));
            }
            b.measurements
                .push(Measurement::from_samples(WALL_TIME, Unit::Seconds, times));
        }
        None => {
            let mean = match stats.mean {
                Some(mean) => mean,
                None => r.get("mean")?.time("s", 1.0)?,
            };
            b.measurements
                .push(Measurement::from_value(WALL_TIME, Unit::Seconds, mean));
        }
    }
    for (key, metric) in [("user", USER_TIME), ("system", SYSTEM_TIME)] {
        if let Some(v) = r.get_opt(key)? {
            b.measurements.push(Measurement::from_value(
                metric,
                Unit::Seconds,
                v.time("s", 1.0)?,
            ));
        }
    }
    if let Some(memory) = r.get_opt("memory_usage_byte")? {
        let bytes = memory
            .count_array()?
            .into_iter()
            .map(|n| n as f64)
            .collect();
        b.measurements
            .push(Measurement::from_samples(MAX_RSS, Unit::Bytes, bytes));
    }
    if let Some(codes) = r.get_opt("exit_codes")? {
        for code in codes.items()? {
            b.exit_codes.push(match code.value {
                Value::Null => None,
                v => Some(
                    v.as_i64()
                        .and_then(|c| i32::try_from(c).ok())
                        .ok_or_else(|| {
                            code.error("expected an exit code (a whole number) or null")
                        })?,
                ),
            });
        }
    }
    Ok(b)
}

/// hyperfine's statistics of one result's wall-clock times, in seconds,
/// where it wrote them (`stddev` is null for a single run, and old versions
/// wrote no `median`).
struct Stats {
    mean: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

impl Stats {
    /// Reads the statistics, each a time, and checks that they are in order:
    /// `min` ≤ `mean`, `median` ≤ `max`.
    fn read(r: &Node<'_>) -> Result<Stats, ImportError> {
        let read = |key: &str| -> Result<Option<(Node<'_>, f64)>, ImportError> {
            r.get_opt(key)?
                .map(|n| n.time("s", 1.0).map(|x| (n, x)))
                .transpose()
        };
        let mean = read("mean")?;
        let median = read("median")?;
        let min = read("min")?;
        let max = read("max")?;
        read("stddev")?;
        if let (Some((node, min)), Some((_, max))) = (&min, &max) {
            if min > max {
                return Err(node.error(format!(
                    "{} s is above the result's max {} s; {DAMAGED}",
                    shown(*min),
                    shown(*max)
                )));
            }
            for (node, x) in [&mean, &median].into_iter().flatten() {
                if !within(*x, *min, *max) {
                    return Err(node.error(format!(
                        "{} s is outside the result's min {} s and max {} s; {DAMAGED}",
                        shown(*x),
                        shown(*min),
                        shown(*max)
                    )));
                }
            }
        }
        Ok(Stats {
            mean: mean.map(|m| m.1),
            min: min.map(|m| m.1),
            max: max.map(|m| m.1),
        })
    }
}

/// Whether `x` lies within `[min, max]`, give or take the last digit (the
/// mean of equal times can differ from them there).
fn within(x: f64, min: f64, max: f64) -> bool {
    let slack = 1e-9 * max.abs().max(min.abs());
    x >= min - slack && x <= max + slack
}

/// Reports need unique names; hyperfine's parameter scans repeat a command
/// when the parameter is not in it.
fn name_uniquely(benchmarks: &mut [Benchmark]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for b in benchmarks.iter() {
        *count.entry(b.name.clone()).or_default() += 1;
    }
    for b in benchmarks.iter_mut() {
        if count[&b.name] > 1 && !b.parameters.is_empty() {
            let params: Vec<String> = b
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            b.name = format!("{} ({})", b.name, params.join(", "));
        }
    }
    // Whatever is still repeated is numbered.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let names: Vec<String> = benchmarks.iter().map(|b| b.name.clone()).collect();
    for (b, name) in benchmarks.iter_mut().zip(names) {
        let n = seen.entry(name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            b.name = format!("{name} #{n}");
        }
    }
}
