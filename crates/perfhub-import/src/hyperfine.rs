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
use crate::json::{self, Node};

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

    let mut report = Report::new(ReportKind::Bench, options.created.clone());
    report.benchmarks = benchmarks;
    report.notes.push(Note::info(
        "imported_from_hyperfine",
        format!(
            "imported from hyperfine's JSON export in {} ({} commands)",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    Ok(report)
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
    // hyperfine before 1.6 wrote no `times`: only the statistics.
    match r.get_opt("times")? {
        Some(times) => {
            let times = times.f64_array()?;
            b.measurements
                .push(Measurement::from_samples(WALL_TIME, Unit::Seconds, times));
        }
        None => {
            let mean = r.get("mean")?.f64()?;
            b.measurements
                .push(Measurement::from_value(WALL_TIME, Unit::Seconds, mean));
        }
    }
    for (key, metric) in [("user", USER_TIME), ("system", SYSTEM_TIME)] {
        if let Some(v) = r.get_opt(key)? {
            b.measurements
                .push(Measurement::from_value(metric, Unit::Seconds, v.f64()?));
        }
    }
    if let Some(memory) = r.get_opt("memory_usage_byte")? {
        b.measurements.push(Measurement::from_samples(
            MAX_RSS,
            Unit::Bytes,
            memory.f64_array()?,
        ));
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
