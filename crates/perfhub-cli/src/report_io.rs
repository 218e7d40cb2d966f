//! Reading and writing the files commands take and give, with one wording
//! for their errors.

use std::path::Path;

use anyhow::{Context, Result};
use perfhub_core::fs::Durability;
use perfhub_core::report::Report;

/// Reads a perfhub report.
pub fn read_report(path: &Path) -> Result<Report> {
    Ok(perfhub_core::fs::read_report(path)?)
}

/// Writes `bytes` to `path` atomically (a temporary file, then a rename).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    perfhub_probe::fs::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `report` as JSON to `path` atomically, synced to disk.
pub fn write_report(path: &Path, report: &Report) -> Result<()> {
    write_report_as(path, report, Durability::Synced)
}

/// Writes `report` as JSON to `path` atomically, streamed through a buffer
/// rather than held in memory whole, synced or not.
pub fn write_report_as(path: &Path, report: &Report, durability: Durability) -> Result<()> {
    perfhub_core::fs::write_atomic_with(path, durability, |w| report.write_json(w))
        .with_context(|| format!("cannot write {}", path.display()))
}
