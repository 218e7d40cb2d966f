//! Exports of a run report in other tools' formats: hyperfine's JSON (so
//! existing hyperfine tooling keeps working), Markdown and CSV tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use perfhub_core::report::metric;
use perfhub_core::{Benchmark, Report};
use serde::Serialize;

/// One entry of hyperfine's `results` array (hyperfine 1.x `--export-json`).
/// All times are in seconds.
#[derive(Debug, Serialize)]
pub struct HyperfineResult {
    /// The command line.
    pub command: String,
    /// Mean wall time.
    pub mean: f64,
    /// Standard deviation of wall time, `null` for a single run.
    pub stddev: Option<f64>,
    /// Median wall time.
    pub median: f64,
    /// Mean user time.
    pub user: f64,
    /// Mean system time.
    pub system: f64,
    /// Fastest run.
    pub min: f64,
    /// Slowest run.
    pub max: f64,
    /// Every run's wall time.
    pub times: Vec<f64>,
    /// Every run's peak RSS in bytes.
    pub memory_usage_byte: Vec<u64>,
    /// Every run's exit code (`null` when a signal ended it).
    pub exit_codes: Vec<Option<i32>>,
    /// Parameter values, for parameter scans.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// hyperfine's JSON document.
#[derive(Debug, Serialize)]
pub struct HyperfineExport {
    /// One result per benchmark.
    pub results: Vec<HyperfineResult>,
}

fn samples<'a>(b: &'a Benchmark, metric: &str) -> &'a [f64] {
    b.measurement(metric).map_or(&[], |m| m.samples.as_slice())
}

fn mean(s: &[f64]) -> f64 {
    perfhub_core::stats::mean(s).unwrap_or(0.0)
}

/// Converts a run report into hyperfine's result format. Benchmarks without
/// a completed run are left out, as hyperfine would have no numbers for them.
pub fn hyperfine(report: &Report) -> HyperfineExport {
    let results = report
        .benchmarks
        .iter()
        .filter_map(|b| {
            let wall = b.measurement(metric::WALL_TIME)?;
            let s = wall.summary.as_ref()?;
            Some(HyperfineResult {
                command: b.command.clone().unwrap_or_else(|| b.name.clone()),
                mean: s.mean,
                stddev: (s.n > 1).then_some(s.stddev),
                median: s.median,
                user: mean(samples(b, metric::USER_TIME)),
                system: mean(samples(b, metric::SYSTEM_TIME)),
                min: s.min,
                max: s.max,
                times: wall.samples.clone(),
                memory_usage_byte: samples(b, metric::MAX_RSS)
                    .iter()
                    .map(|v| *v as u64)
                    .collect(),
                exit_codes: b.exit_codes.clone(),
                parameters: b.parameters.clone(),
            })
        })
        .collect();
    HyperfineExport { results }
}

/// hyperfine's JSON as text.
pub fn hyperfine_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&hyperfine(report)).expect("export serializes");
    s.push('\n');
    s
}

/// The scale a table uses for all its times, chosen from the fastest mean.
fn time_scale(report: &Report) -> (f64, &'static str) {
    let fastest = report
        .benchmarks
        .iter()
        .filter_map(|b| b.primary()?.summary.as_ref().map(|s| s.mean))
        .fold(f64::INFINITY, f64::min);
    if fastest < 1e-3 {
        (1e6, "µs")
    } else if fastest < 1.0 {
        (1e3, "ms")
    } else {
        (1.0, "s")
    }
}

fn relative(report: &Report, name: &str) -> String {
    match report.comparisons.iter().find(|c| c.benchmark == name) {
        Some(c) => format!("{:.2} ± {:.2}", c.ratio, c.ratio_stddev.unwrap_or(0.0)),
        // The reference, or the only benchmark.
        None => "1.00".to_string(),
    }
}

fn escape_md(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}

/// A Markdown table in hyperfine's layout: mean ± σ, min, max, relative.
pub fn markdown(report: &Report) -> String {
    let (scale, unit) = time_scale(report);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| Command | Mean [{unit}] | Min [{unit}] | Max [{unit}] | Relative |"
    );
    out.push_str("|:---|---:|---:|---:|---:|\n");
    for b in &report.benchmarks {
        let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
            continue;
        };
        let _ = writeln!(
            out,
            "| `{}` | {:.1} ± {:.1} | {:.1} | {:.1} | {} |",
            escape_md(&b.name),
            s.mean * scale,
            s.stddev * scale,
            s.min * scale,
            s.max * scale,
            relative(report, &b.name)
        );
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV table with hyperfine's columns, plus peak memory, and one
/// `parameter_<name>` column per scanned parameter. Times in seconds.
pub fn csv(report: &Report) -> String {
    let mut params: Vec<&str> = Vec::new();
    for b in &report.benchmarks {
        for k in b.parameters.keys() {
            if !params.contains(&k.as_str()) {
                params.push(k);
            }
        }
    }
    let mut out = String::from("command,mean,stddev,median,user,system,min,max,max_rss_bytes");
    for p in &params {
        let _ = write!(out, ",parameter_{}", csv_field(p));
    }
    out.push('\n');
    for b in &report.benchmarks {
        let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
            continue;
        };
        let rss = samples(b, metric::MAX_RSS)
            .iter()
            .copied()
            .fold(0.0, f64::max);
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            csv_field(b.command.as_deref().unwrap_or(&b.name)),
            s.mean,
            s.stddev,
            s.median,
            mean(samples(b, metric::USER_TIME)),
            mean(samples(b, metric::SYSTEM_TIME)),
            s.min,
            s.max,
            rss as u64
        );
        for p in &params {
            let _ = write!(
                out,
                ",{}",
                csv_field(b.parameters.get(*p).map_or("", String::as_str))
            );
        }
        out.push('\n');
    }
    out
}
