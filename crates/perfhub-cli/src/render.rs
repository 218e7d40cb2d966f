//! The terminal summaries of perfhub-term, on standard output.

use std::io::{self, IsTerminal, Write};

use perfhub_core::Report;
pub use perfhub_term::RunView;

/// Colors on standard output: a terminal, and `NO_COLOR` unset.
pub fn color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Prints the summary of a run (or an import) with a view.
pub fn print_run(report: &Report, view: &RunView) -> io::Result<()> {
    // Buffered: stdout alone flushes every line, and an imported file can
    // hold tens of thousands of benchmarks.
    let mut out = io::BufWriter::new(io::stdout().lock());
    perfhub_term::write_run(&mut out, report, view)?;
    out.flush()
}

/// Prints the summary of a load test.
pub fn print_load(report: &Report, color: bool) -> io::Result<()> {
    perfhub_term::write_load(&mut io::stdout().lock(), report, color)
}

/// Prints the table of a comparison.
pub fn print_changes(report: &Report, color: bool) -> io::Result<()> {
    perfhub_term::write_changes(&mut io::stdout().lock(), report, color)
}
