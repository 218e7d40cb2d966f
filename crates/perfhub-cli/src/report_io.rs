//! Reading and writing the files commands take and give, with one wording
//! for their errors.

use std::path::Path;

use anyhow::{Context, Result};
use perfhub_core::report::Report;

/// Reads a perfhub report.
pub fn read_report(path: &Path) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Report::from_json(&text).with_context(|| {
        format!(
            "{}: not a perfhub report (import other tools' results first with `perfhub import`)",
            path.display()
        )
    })
}

/// Writes `bytes` to `path` atomically (a temporary file, then a rename).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    perfhub_probe::fs::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `report` as JSON to `path` atomically.
pub fn write_report(path: &Path, report: &Report) -> Result<()> {
    write_file(path, (report.to_json() + "\n").as_bytes())
}
