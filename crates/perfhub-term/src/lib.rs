//! perfhub's terminal summaries: the text `perfhub run`, `perfhub load` and
//! `perfhub compare` print, for any [`Report`] of the same kind.
//!
//! - [`write_run`]: benchmarks hyperfine style (mean ± σ, range, CPU,
//!   memory, I/O, counters), the speed comparison, complexity fits,
//!   budgets and notes; for reports of `perfhub run`, of benchmarks
//!   of code and of imported results.
//! - [`write_load`]: per endpoint, requests, rates, latency percentiles
//!   beside service time, statuses and errors; budgets and notes.
//! - [`write_changes`]: the table of a comparison (`perfhub compare`,
//!   `perfhub ab`) with its verdicts, and what they mean.
//!
//! Each writes to any [`std::io::Write`] (a locked standard output, a
//! buffer, a file); colors are ANSI escapes, on when asked.
//!
//! ```
//! use perfhub_core::{Benchmark, Measurement, Report, ReportKind, Unit};
//!
//! let mut report = Report::now(ReportKind::Run);
//! let mut b = Benchmark::new("sleep 0.01", "wall_time");
//! b.measurements.push(Measurement::from_samples("wall_time", Unit::Seconds, vec![0.010, 0.011, 0.012]));
//! report.benchmarks.push(b);
//! let mut out = Vec::new();
//! perfhub_term::write_run(&mut out, &report, &perfhub_term::RunView::default()).unwrap();
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("Benchmark 1: sleep 0.01\n  Time (mean ± σ):"));
//! ```
#![deny(missing_docs)]

use std::io::{self, Write};

use perfhub_core::Report;
use perfhub_core::report::{Note, Severity};

mod changes;
mod load;
mod run;

pub use changes::write_changes;
pub use load::write_load;
pub use run::{RunView, write_run};

/// ANSI colors, or none.
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

/// The report's budgets, pass or fail, then its notes.
fn write_budgets_and_notes(out: &mut impl Write, st: &Style, report: &Report) -> io::Result<()> {
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
    write_notes(out, st, &report.notes, "")
}

fn write_notes(out: &mut impl Write, st: &Style, notes: &[Note], indent: &str) -> io::Result<()> {
    for n in notes {
        match n.severity {
            Severity::Warning => writeln!(out, "{indent}{} {}", st.yellow("warning:"), n.message)?,
            Severity::Info => writeln!(out, "{indent}{} {}", st.dim("note:"), n.message)?,
        }
    }
    Ok(())
}
