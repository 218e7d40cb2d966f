//! The summary of `perfhub load`.

use std::io::{self, Write};

use perfhub_core::report::metric;
use perfhub_core::stats::Summary;
use perfhub_core::{Benchmark, Report, Unit};

use crate::{Style, write_budgets_and_notes, write_notes};

/// Writes the summary of a load test's report: per benchmark (endpoint),
/// requests, rates, latency percentiles (and service time beside them),
/// errors and statuses; then budgets and notes.
pub fn write_load(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let st = Style { color };
    for b in &report.benchmarks {
        writeln!(out, "{}", st.bold(&b.name))?;
        if let Some(cmd) = &b.command {
            writeln!(out, "  {}", st.dim(cmd))?;
        }
        write_counts(out, b)?;
        write_latency(out, b)?;
        write_tallies(out, &st, b)?;
        write_notes(out, &st, &b.notes, "  ")?;
        writeln!(out)?;
    }
    write_budgets_and_notes(out, &st, report)
}

/// Requests, errors and throughput; the target and achieved rates.
fn write_counts(out: &mut impl Write, b: &Benchmark) -> io::Result<()> {
    let value = |m: &str| b.measurement(m).and_then(|m| m.value);
    let count = |m: &str| value(m).unwrap_or(0.0) as u64;
    // A benchmark without counts (an imported tool's latency alone)
    // shows none rather than zeros.
    if b.measurement(metric::REQUESTS).is_some() {
        let mut line = format!(
            "  requests {}   errors {}   check failures {}   error rate {}",
            count(metric::REQUESTS),
            count("errors"),
            count(metric::CHECK_FAILURES),
            Unit::Ratio.format(value(metric::ERROR_RATE).unwrap_or(0.0))
        );
        if let Some(t) = value(metric::THROUGHPUT) {
            line += &format!("   throughput {}", Unit::PerSecond.format(t));
        }
        if let Some(skipped) = value(metric::SKIPPED) {
            line += &format!("   skipped {}", skipped as u64);
        }
        // Requests an HTTP/2 server did not process, sent again.
        if let Some(retried) = value(metric::RETRIED).filter(|r| *r > 0.0) {
            line += &format!("   retried {}", retried as u64);
        }
        writeln!(out, "{line}")?;
    }
    if let (Some(target), Some(achieved)) =
        (value(metric::TARGET_RATE), value(metric::ACHIEVED_RATE))
    {
        writeln!(
            out,
            "  rate     {} achieved of {} targeted   late {}   dropped {}",
            Unit::PerSecond.format(achieved),
            Unit::PerSecond.format(target),
            count(metric::LATE),
            count(metric::DROPPED)
        )?;
    }
    Ok(())
}

/// The latency percentiles, with the service time's beneath them.
fn write_latency(out: &mut impl Write, b: &Benchmark) -> io::Result<()> {
    let summary = |m: &str| b.measurement(m).and_then(|m| m.summary.as_ref());
    let Some(latency) = summary(metric::LATENCY) else {
        return Ok(());
    };
    let time = |v: f64| Unit::Seconds.format(v);
    let p = |s: &Summary, k: &str| s.percentiles.get(k).map_or("-".to_string(), |v| time(*v));
    writeln!(
        out,
        "  {:<14}{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "p50", "p90", "p95", "p99", "p99.9", "max"
    )?;
    let service = summary(metric::SERVICE_TIME);
    for (label, s) in [("latency", Some(latency)), ("service time", service)] {
        if let Some(s) = s {
            writeln!(
                out,
                "  {:<14}{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                label,
                p(s, "p50"),
                p(s, "p90"),
                p(s, "p95"),
                p(s, "p99"),
                p(s, "p99.9"),
                time(s.max)
            )?;
        }
    }
    Ok(())
}

/// The responses by status, and the errors by kind.
fn write_tallies(out: &mut impl Write, st: &Style, b: &Benchmark) -> io::Result<()> {
    let tally = |prefix: &str| {
        b.measurements
            .iter()
            .filter_map(|m| {
                let key = m.metric.strip_prefix(prefix)?;
                Some(format!("{key} × {}", m.value.unwrap_or(0.0) as u64))
            })
            .collect::<Vec<_>>()
    };
    let statuses = tally("status.");
    if !statuses.is_empty() {
        writeln!(out, "  statuses {}", statuses.join(", "))?;
    }
    let errors = tally("errors.");
    if !errors.is_empty() {
        writeln!(out, "  {} {}", st.yellow("errors  "), errors.join(", "))?;
    }
    Ok(())
}
