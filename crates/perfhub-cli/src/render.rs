//! The terminal summaries of perfhub-term, on standard output.

use std::io::{self, IsTerminal, Write};

use perfhub_core::Report;
pub use perfhub_term::RunView;

/// Colors on standard output: a terminal, and `NO_COLOR` unset.
pub fn color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The settings that the libraries' notes name, which summaries name by
/// their flags.
const NOTE_SETTINGS: &str =
    "warmup counters prepare ignore_failure grace ca_file insecure interleave kernel_frames";

/// What `summary` writes (in one piece: an imported file can hold tens of
/// thousands of benchmarks), the settings its notes name written as flags.
pub fn flagged(summary: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut text = Vec::new();
    summary(&mut text)?;
    let settings: Vec<&str> = NOTE_SETTINGS.split(' ').collect();
    let text = String::from_utf8_lossy(&text);
    Ok(perfhub_core::setting::rename(&text, &settings, crate::flag))
}

/// Prints the summary of a run (or an import) with a view.
pub fn print_run(report: &Report, view: &RunView) -> io::Result<()> {
    let text = flagged(|o| perfhub_term::write_run(o, report, view))?;
    io::stdout().lock().write_all(text.as_bytes())
}

/// Prints the summary of a load test.
pub fn print_load(report: &Report, color: bool) -> io::Result<()> {
    let text = flagged(|o| perfhub_term::write_load(o, report, color))?;
    io::stdout().lock().write_all(text.as_bytes())
}

/// Prints the table of a comparison.
pub fn print_changes(report: &Report, color: bool) -> io::Result<()> {
    let text = flagged(|o| perfhub_term::write_changes(o, report, color))?;
    io::stdout().lock().write_all(text.as_bytes())
}
