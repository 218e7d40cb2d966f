//! cargo-criterion's `--message-format=json` stream: one JSON object per
//! line, each with a `reason`. `benchmark-complete` messages carry a
//! benchmark's id, its samples (`iteration_count` and total
//! `measured_values` per sample, in `unit`) and its estimates with their
//! confidence intervals; other reasons (`group-complete`) are skipped, as
//! are lines that are not JSON objects (cargo's own messages, when stderr
//! was captured too).

use std::collections::BTreeMap;
use std::path::Path;

use perfhub_core::report::metric::WALL_TIME;
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};

use crate::criterion::{Estimate, Throughput, estimates_note, per_iteration_seconds};
use crate::error::{ImportError, Location};
use crate::json::{self, Node};
use crate::{ImportOptions, metric};

const ESTIMATES: [(&str, &str); 5] = [
    ("typical", metric::CRITERION_TYPICAL),
    ("slope", metric::CRITERION_SLOPE),
    ("mean", metric::CRITERION_MEAN),
    ("median", metric::CRITERION_MEDIAN),
    ("median_abs_dev", metric::CRITERION_MEDIAN_ABS_DEV),
];

/// Imports the cargo-criterion JSON stream in the file at `path`.
pub fn import_cargo_criterion(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_cargo_criterion(&json::read_text(path)?, path, options)
}

/// Imports a cargo-criterion JSON stream; `source` names it in errors and in
/// the report's note. Benchmarks are named by their criterion id, in the
/// order they completed.
pub fn parse_cargo_criterion(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let mut report = Report::new(ReportKind::Bench, options.created);
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if !line.trim_start().starts_with('{') {
            continue;
        }
        let location = Location::line(source, line_no);
        let value = json::parse(line, &location)?;
        let root = Node::root(&value, &location);
        if root.get("reason")?.str()? != "benchmark-complete" {
            continue;
        }
        let b = read_benchmark(&root)?;
        if let Some(&first) = first_line.get(&b.name) {
            return Err(ImportError::Duplicate {
                location,
                first: Location::line(source, first),
                name: b.name,
            });
        }
        first_line.insert(b.name.clone(), line_no);
        report.benchmarks.push(b);
    }
    if report.benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "no `benchmark-complete` messages; capture the standard output of `cargo criterion --message-format=json`".into(),
        });
    }
    report.notes.push(Note::info(
        "imported_from_cargo_criterion",
        format!(
            "imported from cargo-criterion's --message-format=json output in {} ({} benchmarks)",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    crate::checked(report, source)
}

fn read_benchmark(root: &Node<'_>) -> Result<Benchmark, ImportError> {
    let name = root.get("id")?.str()?.to_string();
    let unit = root.get("unit")?;
    let scale = seconds_per(&unit)?;
    let measured = root.get("measured_values")?;
    let seconds =
        per_iteration_seconds(&root.get("iteration_count")?, &measured, unit.str()?, scale)?;

    let mut b = Benchmark::new(name, WALL_TIME);
    b.measurements.push(Measurement::from_samples(
        WALL_TIME,
        Unit::Seconds,
        seconds.clone(),
    ));
    let throughputs = root.get_opt("throughput")?.map(|t| t.items()).transpose()?;
    let mut elements = None;
    let mut bytes = None;
    for t in throughputs.unwrap_or_default() {
        let amount = t.get("per_iteration")?.count()? as f64;
        let kind = t.get("unit")?;
        match kind.str()? {
            "bytes" => bytes = Some(amount),
            "elements" => elements = Some(amount),
            other => {
                return Err(kind.error(format!(
                    "unknown throughput unit `{other}` (expected bytes or elements)"
                )));
            }
        }
    }
    let throughput = match (elements, bytes) {
        (Some(elements), Some(bytes)) => Some(Throughput::ElementsAndBytes { elements, bytes }),
        (Some(elements), None) => Some(Throughput::Elements(elements)),
        (None, Some(bytes)) => Some(Throughput::Bytes(bytes)),
        (None, None) => None,
    };
    if let Some(t) = throughput {
        b.measurements.extend(t.measurements(&seconds, &measured)?);
    }

    let mut estimates = Vec::new();
    for (key, metric) in ESTIMATES {
        // `slope` is null in flat sampling mode.
        let node = if key == "slope" {
            root.get_opt(key)?
        } else {
            Some(root.get(key)?)
        };
        let Some(node) = node else { continue };
        let unit = node.get("unit")?;
        let (scale, unit) = (seconds_per(&unit)?, unit.str()?);
        let (lower, upper) = (node.get("lower_bound")?, node.get("upper_bound")?);
        let e = Estimate {
            point: node.get("estimate")?.time(unit, scale)?,
            level: 0.95,
            lower: lower.time(unit, scale)?,
            upper: upper.time(unit, scale)?,
        };
        e.check_bounds(&lower, &upper, unit)?;
        b.measurements
            .push(Measurement::from_value(metric, Unit::Seconds, e.point));
        estimates.push((key, e));
    }
    let mut note = estimates_note(None, estimates.into_iter());
    // cargo-criterion does not write the confidence level; criterion's default is 95%.
    note.push_str(
        " (the confidence level is criterion's default; cargo-criterion does not record it)",
    );
    b.notes.push(Note::info("criterion_estimates", note));
    if let Some(change) = root.get_opt("change")? {
        let verdict = change.get("change")?.str()?;
        b.notes.push(Note::info(
            "criterion_change",
            format!("cargo-criterion's verdict against the previous run: {verdict}"),
        ));
    }
    Ok(b)
}

/// Seconds per `unit` for the time units cargo-criterion's wall-time
/// formatter writes.
fn seconds_per(unit: &Node<'_>) -> Result<f64, ImportError> {
    Ok(match unit.str()? {
        "ps" => 1e-12,
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        other => {
            return Err(unit.error(format!(
                "unit `{other}` is not a time (expected ns, us, ms or s): perfhub imports criterion's wall-clock measurement only"
            )));
        }
    })
}
