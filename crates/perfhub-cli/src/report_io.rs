//! Reading and writing the files commands take and give, with one wording
//! for their errors.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use perfhub_core::fs::Durability;
use perfhub_core::report::Report;

/// The largest report file perfhub reads: 256 MiB.
///
/// Real reports are far smaller (a load test of a thousand endpoints, with
/// its histograms, takes about 5 MiB; a run keeping 10,000 raw samples of
/// each of 100 commands about 20 MiB). A report is held in memory whole,
/// at about twice the size of its text while it is read, so this bound
/// keeps every command that reads reports (`compare`, `export`, `load
/// merge`, `history`...) well within 2 GiB, and a damaged or hostile file is
/// refused before it is read.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Reads a perfhub report.
pub fn read_report(path: &Path) -> Result<Report> {
    let cannot_read = || format!("cannot read {}", path.display());
    let too_large = |len: u64| {
        format!(
            "{}: {} MiB, more than the {} MiB a perfhub report may take; split the benchmarks over several reports, or keep fewer raw samples",
            path.display(),
            len.div_ceil(1 << 20),
            MAX_REPORT_BYTES >> 20
        )
    };
    let file = File::open(path).with_context(cannot_read)?;
    let len = file.metadata().with_context(cannot_read)?.len();
    if len > MAX_REPORT_BYTES {
        bail!(too_large(len));
    }
    // Bounded as well for what has no length, such as a pipe.
    let mut text = String::new();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(cannot_read)?;
    if text.len() as u64 > MAX_REPORT_BYTES {
        bail!(too_large(text.len() as u64));
    }
    Report::from_json(&text).with_context(|| path.display().to_string())
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
