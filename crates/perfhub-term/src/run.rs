//! The summary of `perfhub run`, hyperfine style.

use std::io::{self, Write};

use perfhub_core::report::metric;
use perfhub_core::stats::Summary;
use perfhub_core::{Benchmark, Report, ReportKind, Unit};
use perfhub_run::export::{Order, SortOrder, TimeUnit, relative_speeds};

use crate::{Style, write_budgets_and_notes, write_notes};

/// How the summary of a run looks: hyperfine's `--time-unit` and `--sort`,
/// and whether to color it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunView {
    /// ANSI colors.
    pub color: bool,
    /// The unit of every time; perfhub picks one per value when `None`.
    pub time_unit: Option<TimeUnit>,
    /// The order of the speed comparison.
    pub sort: SortOrder,
}

impl RunView {
    /// A time in the view's unit, else in the unit that suits it.
    fn time(&self, v: f64) -> String {
        match self.time_unit {
            Some(u) => u.format(v),
            None => Unit::Seconds.format(v),
        }
    }
}

/// Writes the summary of a run's report, hyperfine style: each benchmark,
/// the speed comparison, the complexity fits, then budgets and notes.
///
/// Output is written in many small pieces: give a buffered writer.
pub fn write_run(out: &mut impl Write, report: &Report, view: &RunView) -> io::Result<()> {
    let st = Style { color: view.color };
    for (i, b) in report.benchmarks.iter().enumerate() {
        write_benchmark(out, &st, view, report.kind, i, b)?;
    }
    if !report.comparisons.is_empty() {
        write_relative_speeds(out, &st, report, view.sort.for_summary())?;
    }
    write_complexity(out, &st, report)?;
    write_budgets_and_notes(out, &st, report)
}

fn mean_of(b: &Benchmark, metric: &str) -> Option<f64> {
    b.measurement(metric)?.summary.as_ref().map(|s| s.mean)
}

/// One benchmark: time, range, interval, resources and notes.
fn write_benchmark(
    out: &mut impl Write,
    st: &Style,
    view: &RunView,
    kind: ReportKind,
    i: usize,
    b: &Benchmark,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        st.bold(&format!("Benchmark {}:", i + 1)),
        b.name
    )?;
    let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
        writeln!(out, "  no completed runs")?;
        write_notes(out, st, &b.notes, "  ")?;
        return writeln!(out);
    };
    write_times(out, st, view, kind, b, s)?;
    write_resources(out, view, b)?;
    write_notes(out, st, &b.notes, "  ")?;
    writeln!(out)
}

/// Mean ± σ with the CPU times, the range and median, the interval of the mean.
fn write_times(
    out: &mut impl Write,
    st: &Style,
    view: &RunView,
    kind: ReportKind,
    b: &Benchmark,
    s: &Summary,
) -> io::Result<()> {
    let (mean, sd) = match view.time_unit {
        Some(u) => (u.format(s.mean), u.format(s.stddev)),
        None => perfhub_core::units::mean_and_spread(s.mean, s.stddev),
    };
    // Imported micro-benchmarks have no CPU times: say nothing rather
    // than "0 s".
    let cpu = match (
        mean_of(b, metric::USER_TIME),
        mean_of(b, metric::SYSTEM_TIME),
    ) {
        (Some(u), Some(s)) => format!("    [User: {}, System: {}]", view.time(u), view.time(s)),
        _ => String::new(),
    };
    if s.n == 1 {
        // One run has no spread: hyperfine's "abs ≡" line.
        writeln!(out, "  Time (abs ≡):        {}{cpu}", st.green(&mean))?;
    } else {
        writeln!(
            out,
            "  Time (mean ± σ):   {} ± {}{cpu}",
            st.green(&mean),
            st.green(&sd),
        )?;
    }
    if s.n == 1 {
        return Ok(());
    }
    writeln!(
        out,
        "  Range (min … max): {} … {}    median {}    {} {}",
        view.time(s.min),
        view.time(s.max),
        view.time(s.median),
        s.n,
        if kind == ReportKind::Bench {
            "samples"
        } else {
            "runs"
        }
    )?;
    if let Some(ci) = s.mean_ci {
        writeln!(
            out,
            "  {:.0}% CI of mean:    {} … {}",
            ci.level * 100.0,
            view.time(ci.lower),
            view.time(ci.upper)
        )?;
    }
    Ok(())
}

/// Memory, I/O, context switches and counters, each when measured.
fn write_resources(out: &mut impl Write, view: &RunView, b: &Benchmark) -> io::Result<()> {
    let mean = |m: &str| mean_of(b, m);
    let count = |v: f64| Unit::Count.format(v.round());
    let max_rss = b
        .measurement(metric::MAX_RSS)
        .and_then(|m| m.summary.as_ref())
        .map(|s| s.max);
    if let Some(rss) = max_rss {
        write!(
            out,
            "  Memory:            {} max RSS",
            Unit::Bytes.format(rss)
        )?;
        if let (Some(minor), Some(major)) = (
            mean(metric::MINOR_PAGE_FAULTS),
            mean(metric::MAJOR_PAGE_FAULTS),
        ) {
            write!(
                out,
                "    page faults {} minor, {} major",
                count(minor),
                count(major)
            )?;
        }
        writeln!(out)?;
    }
    if let (Some(r), Some(w)) = (mean(metric::READ_BYTES), mean(metric::WRITE_BYTES)) {
        writeln!(
            out,
            "  I/O (mean):        {} read, {} written in {} + {} syscalls",
            Unit::Bytes.format(r.round()),
            Unit::Bytes.format(w.round()),
            count(mean(metric::READ_SYSCALLS).unwrap_or(0.0)),
            count(mean(metric::WRITE_SYSCALLS).unwrap_or(0.0)),
        )?;
    }
    if let (Some(v), Some(iv)) = (
        mean(metric::VOLUNTARY_CONTEXT_SWITCHES),
        mean(metric::INVOLUNTARY_CONTEXT_SWITCHES),
    ) {
        writeln!(
            out,
            "  Context switches:  {} voluntary, {} involuntary (mean)",
            count(v),
            count(iv)
        )?;
    }
    let mut counters = Vec::new();
    if let Some(tc) = mean(metric::TASK_CLOCK) {
        counters.push(format!("task-clock {}", view.time(tc)));
    }
    for (m, label) in [
        (metric::INSTRUCTIONS, "instructions"),
        (metric::CYCLES, "cycles"),
        (metric::PAGE_FAULTS, "page-faults"),
        (metric::CONTEXT_SWITCHES, "context-switches"),
        (metric::CPU_MIGRATIONS, "migrations"),
    ] {
        if let Some(v) = mean(m) {
            counters.push(format!("{label} {}", count(v)));
        }
    }
    if !counters.is_empty() {
        writeln!(out, "  Counters (mean):   {}", counters.join(", "))?;
    }
    Ok(())
}

/// The complexity fits of a parameter scan, best first.
fn write_complexity(out: &mut impl Write, st: &Style, report: &Report) -> io::Result<()> {
    for a in &report.complexity {
        writeln!(
            out,
            "{} of {} ({}) over {}",
            st.bold("Complexity"),
            a.subject,
            a.metric,
            a.parameter
        )?;
        for (i, f) in a.fits.iter().take(3).enumerate() {
            let line = format!("{:<11} R² = {:.4}", f.class.to_string(), f.r_squared);
            if i == 0 {
                writeln!(out, "  best fit: {}", st.green(&line))?;
            } else {
                writeln!(out, "  then:     {}", st.dim(&line))?;
            }
        }
        if let Some(f) = a.growth_not_shown() {
            writeln!(
                out,
                "  note: {} follows the data (R² = {:.4}) but its growth is not significant at the {}% level with this few sizes, so O(1) stands; scan 5 or more sizes, or more runs per size",
                f.class,
                f.r_squared,
                perfhub_core::complexity::CONSTANT_F_TEST_ALPHA * 100.0
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// hyperfine's speed comparison: by mean time, "REF ran N times faster than
/// X"; in command order, each benchmark's mean over the reference's.
fn write_relative_speeds(
    out: &mut impl Write,
    st: &Style,
    report: &Report,
    order: Order,
) -> io::Result<()> {
    let speeds = relative_speeds(report, order);
    if order == Order::Command {
        writeln!(out, "{}", st.bold("Relative speed comparison"))?;
        for r in &speeds {
            let sd = match r.ratio_stddev {
                Some(sd) if !r.is_reference => format!(" ± {}", st.green(&format!("{sd:5.2}"))),
                _ => " ".repeat(8),
            };
            writeln!(
                out,
                "  {}{sd}  {}",
                st.green(&format!("{:10.2}", r.ratio)),
                r.benchmark.name
            )?;
        }
        return writeln!(out);
    }
    let Some(reference) = speeds.iter().find(|r| r.is_reference) else {
        return Ok(());
    };
    writeln!(out, "{}", st.bold("Summary"))?;
    writeln!(out, "  {} ran", st.bold(&reference.benchmark.name))?;
    for r in speeds.iter().filter(|r| !r.is_reference) {
        let sd = r.ratio_stddev;
        // Seen from the reference: slower commands make it faster.
        let (factor, factor_sd, relation) = if r.ratio >= 1.0 {
            (r.ratio, sd, "times faster than")
        } else {
            (
                1.0 / r.ratio,
                sd.map(|sd| sd / (r.ratio * r.ratio)),
                "times slower than",
            )
        };
        let factor_sd = factor_sd
            .map(|sd| format!(" ± {}", st.green(&format!("{sd:.2}"))))
            .unwrap_or_default();
        let c = r.comparison;
        let p = match c.and_then(|c| c.p_value) {
            Some(p) if p < 0.001 => "p < 0.001".to_string(),
            Some(p) => format!("p = {p:.3}"),
            None => String::new(),
        };
        let ci = c
            .and_then(|c| c.ratio_ci)
            .map(|ci| {
                let (lo, hi) = if r.ratio >= 1.0 {
                    (ci.lower, ci.upper)
                } else {
                    (1.0 / ci.upper, 1.0 / ci.lower)
                };
                format!(", {:.0}% CI {lo:.2} … {hi:.2}", ci.level * 100.0)
            })
            .unwrap_or_default();
        let why = if p.is_empty() && ci.is_empty() {
            String::new()
        } else {
            format!("   {}", st.dim(&format!("({p}{ci})")))
        };
        writeln!(
            out,
            "    {}{factor_sd} {relation} {}{why}",
            st.green(&format!("{factor:.2}")),
            st.bold(&r.benchmark.name),
        )?;
    }
    writeln!(out)
}
