//! Terminal rendering of reports.

use std::io::{self, Write};

use perfhub_core::report::{Severity, metric};
use perfhub_core::{Benchmark, Report, Unit};
use perfhub_run::export::{Order, SortOrder, TimeUnit, relative_speeds};

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

fn fmt_s(v: f64) -> String {
    Unit::Seconds.format(v)
}

fn mean_of(b: &Benchmark, metric: &str) -> Option<f64> {
    b.measurement(metric)?.summary.as_ref().map(|s| s.mean)
}

/// How `perfhub run` shows its summary: hyperfine's `--time-unit` and
/// `--sort`, and whether to color it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunView {
    /// ANSI colors.
    pub color: bool,
    /// The unit of every time; perfhub picks one per value when `None`.
    pub time_unit: Option<TimeUnit>,
    /// The order of the speed comparison.
    pub sort: SortOrder,
}

/// Prints the summary of a `perfhub run` report, hyperfine style.
pub fn print_run(report: &Report, color: bool) -> io::Result<()> {
    print_run_with(
        report,
        &RunView {
            color,
            ..RunView::default()
        },
    )
}

/// [`print_run`] with a time unit and an order for the comparison.
pub fn print_run_with(report: &Report, view: &RunView) -> io::Result<()> {
    let st = Style { color: view.color };
    let fmt_s = |v: f64| match view.time_unit {
        Some(u) => u.format(v),
        None => fmt_s(v),
    };
    // Buffered: stdout alone flushes every line, and an imported file can
    // hold tens of thousands of benchmarks.
    let mut out = io::BufWriter::new(io::stdout().lock());
    for (i, b) in report.benchmarks.iter().enumerate() {
        writeln!(
            out,
            "{} {}",
            st.bold(&format!("Benchmark {}:", i + 1)),
            b.name
        )?;
        let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
            writeln!(out, "  no completed runs")?;
            print_notes(&mut out, &st, &b.notes, "  ")?;
            writeln!(out)?;
            continue;
        };
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
            (Some(u), Some(s)) => format!("    [User: {}, System: {}]", fmt_s(u), fmt_s(s)),
            _ => String::new(),
        };
        writeln!(
            out,
            "  Time (mean ± σ):   {} ± {}{cpu}",
            st.green(&mean),
            st.green(&sd),
        )?;
        writeln!(
            out,
            "  Range (min … max): {} … {}    median {}    {} {}",
            fmt_s(s.min),
            fmt_s(s.max),
            fmt_s(s.median),
            s.n,
            if report.kind == perfhub_core::ReportKind::Bench {
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
                fmt_s(ci.lower),
                fmt_s(ci.upper)
            )?;
        }
        let max = |m: &str| {
            b.measurement(m)
                .and_then(|m| m.summary.as_ref())
                .map(|s| s.max)
        };
        let mean = |m: &str| mean_of(b, m);
        if let Some(rss) = max(metric::MAX_RSS) {
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
                    Unit::Count.format(minor.round()),
                    Unit::Count.format(major.round())
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
                Unit::Count.format(mean(metric::READ_SYSCALLS).unwrap_or(0.0).round()),
                Unit::Count.format(mean(metric::WRITE_SYSCALLS).unwrap_or(0.0).round()),
            )?;
        }
        if let (Some(v), Some(iv)) = (
            mean(metric::VOLUNTARY_CONTEXT_SWITCHES),
            mean(metric::INVOLUNTARY_CONTEXT_SWITCHES),
        ) {
            writeln!(
                out,
                "  Context switches:  {} voluntary, {} involuntary (mean)",
                Unit::Count.format(v.round()),
                Unit::Count.format(iv.round())
            )?;
        }
        let mut counters = Vec::new();
        if let Some(tc) = mean(metric::TASK_CLOCK) {
            counters.push(format!("task-clock {}", fmt_s(tc)));
        }
        for (m, label) in [
            (metric::INSTRUCTIONS, "instructions"),
            (metric::CYCLES, "cycles"),
            (metric::PAGE_FAULTS, "page-faults"),
            (metric::CONTEXT_SWITCHES, "context-switches"),
            (metric::CPU_MIGRATIONS, "migrations"),
        ] {
            if let Some(v) = mean(m) {
                counters.push(format!("{label} {}", Unit::Count.format(v.round())));
            }
        }
        if !counters.is_empty() {
            writeln!(out, "  Counters (mean):   {}", counters.join(", "))?;
        }
        print_notes(&mut out, &st, &b.notes, "  ")?;
        writeln!(out)?;
    }

    if !report.comparisons.is_empty() {
        print_relative_speeds(&mut out, &st, report, view.sort.for_summary())?;
    }

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

    print_budgets_and_notes(&mut out, &st, report)?;
    out.flush()
}

/// hyperfine's speed comparison: by mean time, "REF ran N times faster than
/// X"; in command order, each benchmark's mean over the reference's.
fn print_relative_speeds(
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
        let sd = r.ratio_stddev.unwrap_or(0.0);
        // Seen from the reference: slower commands make it faster.
        let (factor, factor_sd, relation) = if r.ratio >= 1.0 {
            (r.ratio, sd, "times faster than")
        } else {
            (1.0 / r.ratio, sd / (r.ratio * r.ratio), "times slower than")
        };
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
        writeln!(
            out,
            "    {} ± {} {relation} {}   {}",
            st.green(&format!("{factor:.2}")),
            st.green(&format!("{factor_sd:.2}")),
            st.bold(&r.benchmark.name),
            st.dim(&format!("({p}{ci})"))
        )?;
    }
    writeln!(out)
}

fn print_budgets_and_notes(out: &mut impl Write, st: &Style, report: &Report) -> io::Result<()> {
    if !report.budgets.is_empty() {
        writeln!(out, "{}", st.bold("Budgets"))?;
        for v in &report.budgets {
            let mark = if v.passed {
                st.green("pass")
            } else {
                st.red("FAIL")
            };
            writeln!(
                out,
                "  {mark}  {}  on {}: {} {} is {}",
                v.budget,
                v.benchmark,
                v.statistic,
                v.metric,
                v.unit.format(v.actual)
            )?;
        }
        writeln!(out)?;
    }
    print_notes(out, st, &report.notes, "")?;
    Ok(())
}

/// Prints the summary of a `perfhub load` report: per benchmark, requests,
/// rates, latency percentiles (and service time beside them), errors and
/// statuses; then budgets and notes.
pub fn print_load(report: &Report, color: bool) -> io::Result<()> {
    let st = Style { color };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for b in &report.benchmarks {
        writeln!(out, "{}", st.bold(&b.name))?;
        if let Some(cmd) = &b.command {
            writeln!(out, "  {}", st.dim(cmd))?;
        }
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
        let latency = b
            .measurement(metric::LATENCY)
            .and_then(|m| m.summary.as_ref());
        let service = b
            .measurement(metric::SERVICE_TIME)
            .and_then(|m| m.summary.as_ref());
        if let Some(l) = latency {
            let p = |s: &perfhub_core::stats::Summary, k: &str| {
                s.percentiles.get(k).map_or("-".to_string(), |v| fmt_s(*v))
            };
            writeln!(
                out,
                "  {:<14}{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "", "p50", "p90", "p95", "p99", "p99.9", "max"
            )?;
            for (label, s) in [("latency", Some(l)), ("service time", service)] {
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
                        fmt_s(s.max)
                    )?;
                }
            }
        }
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
        print_notes(&mut out, &st, &b.notes, "  ")?;
        writeln!(out)?;
    }
    print_budgets_and_notes(&mut out, &st, report)
}

fn print_notes(
    out: &mut impl Write,
    st: &Style,
    notes: &[perfhub_core::Note],
    indent: &str,
) -> io::Result<()> {
    for n in notes {
        match n.severity {
            Severity::Warning => writeln!(out, "{indent}{} {}", st.yellow("warning:"), n.message)?,
            Severity::Info => writeln!(out, "{indent}{} {}", st.dim("note:"), n.message)?,
        }
    }
    Ok(())
}

/// Prints the comparisons of a `perfhub compare` or `perfhub ab` report: per
/// benchmark, base and head, the change with its interval, the adjusted
/// p-value, the smallest change the run could have seen, and the verdict.
pub fn print_changes(report: &Report, color: bool) -> io::Result<()> {
    use perfhub_core::compare::{Verdict, percent_figure};
    let st = Style { color };
    let mut out = io::stdout().lock();
    let rows: Vec<[String; 7]> = report
        .comparisons
        .iter()
        .map(|c| {
            let unit = report
                .benchmark(&c.benchmark)
                .and_then(|b| b.measurement(&c.metric))
                .map_or(Unit::Count, |m| m.unit);
            let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| unit.format(v));
            let change = match c.ratio_ci {
                Some(ci) => format!(
                    "{:+.2}% [{:+.2}%, {:+.2}%]",
                    (c.ratio - 1.0) * 100.0,
                    (ci.lower - 1.0) * 100.0,
                    (ci.upper - 1.0) * 100.0
                ),
                None => format!("{:+.2}%", (c.ratio - 1.0) * 100.0),
            };
            let verdict = c.verdict.map_or("-", Verdict::as_str).to_string();
            let p = c
                .p_adjusted
                .or(c.p_value)
                .map_or_else(|| "-".to_string(), |p| format!("{p:.3}"));
            let detectable = perfhub_core::compare::detectable_cell(c, ">=", "-");
            [
                c.benchmark.clone(),
                fmt(c.base_value),
                fmt(c.head_value),
                change,
                p,
                detectable,
                verdict,
            ]
        })
        .collect();
    let headers = [
        "benchmark",
        "base",
        "head",
        "change [95% CI]",
        "p (adj.)",
        "detectable",
        "verdict",
    ];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let line: Vec<String> = headers.iter().zip(widths).map(|(h, w)| pad(h, w)).collect();
    writeln!(out, "{}", st.bold(line.join("  ").trim_end()))?;
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                let padded = pad(cell, w);
                if i == 6 {
                    match cell.as_str() {
                        "regressed" => st.red(&padded),
                        "improved" => st.green(&padded),
                        "inconclusive" => st.yellow(&padded),
                        _ => st.dim(&padded),
                    }
                } else {
                    padded
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    let count = |v: Verdict| {
        report
            .comparisons
            .iter()
            .filter(|c| c.verdict == Some(v))
            .count()
    };
    let (reg, imp, unc, inc) = (
        count(Verdict::Regressed),
        count(Verdict::Improved),
        count(Verdict::Unchanged),
        count(Verdict::Inconclusive),
    );
    writeln!(out)?;
    let mut headline = format!("{reg} regressed, {imp} improved, {unc} unchanged");
    if inc > 0 {
        headline.push_str(&format!(", {inc} inconclusive"));
    }
    writeln!(
        out,
        "{}",
        if reg > 0 {
            st.red(&headline)
        } else {
            st.green(&headline)
        }
    )?;
    if let Some(c) = report.comparisons.first()
        && let Some(e) = c.min_effect
    {
        writeln!(
                out,
                "{}",
                st.dim(&format!(
                    "a change counts when it is significant (interval excludes 0, Holm-adjusted p below {:.2}) and at least {:.1}% ({})",
                    1.0 - c.ratio_ci.map_or(0.95, |ci| ci.level),
                    e * 100.0,
                    c.method.as_deref().unwrap_or("")
                ))
            )?;
        writeln!(
            out,
            "{}",
            st.dim("detectable: the smallest change this run would have flagged (90% power) for the noise it measured; inconclusive: not significant, and unable to see the minimum effect")
        )?;
    }
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.verdict == Some(Verdict::Inconclusive))
    {
        writeln!(
            out,
            "{}: inconclusive: {}{}; more rounds or a quieter machine would decide it",
            c.benchmark,
            perfhub_core::compare::detectable_sentence(c.mde),
            c.min_effect
                .map(|e| format!(", and the minimum effect is {}", percent_figure(e)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out)?;
    print_budgets_and_notes(&mut out, &st, report)
}
