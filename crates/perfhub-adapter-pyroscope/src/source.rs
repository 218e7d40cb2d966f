//! Where a profile to upload comes from, and the time it covers.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use perfhub_core::fs::{ReadReportError, read_report};
use perfhub_core::report::metric;

/// A profile file and the time it covers: the `from` and `until` of
/// [`PyroscopeConfig::new`](crate::PyroscopeConfig::new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSource {
    /// The file to upload: folded stacks or pprof.
    pub file: PathBuf,
    /// When the profile starts.
    pub from: SystemTime,
    /// When it ends.
    pub until: SystemTime,
}

/// Why [`ProfileSource::locate`] found no profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The report of a `perfhub profile` directory is unreadable.
    #[error(transparent)]
    Report(#[from] ReadReportError),
    /// The file's time could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ProfileSource {
    /// The profile `input` stands for. A `perfhub profile` output directory
    /// gives its `stacks.folded`, covering the profiled run's wall time from
    /// its `report.json` (at least 1 s; `duration` when the report has
    /// none) up to the file's modification time (now, when unknown). A file
    /// covers `duration` up to its modification time.
    pub fn locate(input: &Path, duration: Duration) -> Result<ProfileSource, SourceError> {
        if !input.is_dir() {
            let until = std::fs::metadata(input)
                .and_then(|m| m.modified())
                .map_err(|source| SourceError::Io {
                    path: input.to_path_buf(),
                    source,
                })?;
            return Ok(ProfileSource {
                file: input.to_path_buf(),
                from: until.checked_sub(duration).unwrap_or(until),
                until,
            });
        }
        let report = read_report(&input.join("report.json"))?;
        let file = input.join("stacks.folded");
        let wall = report
            .benchmarks
            .first()
            .and_then(|b| b.measurement(metric::WALL_TIME))
            .and_then(|m| m.value.or(m.summary.as_ref().map(|s| s.mean)))
            .unwrap_or(duration.as_secs_f64());
        let until = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| SystemTime::now());
        let from = until
            .checked_sub(Duration::try_from_secs_f64(wall.max(1.0)).unwrap_or(duration))
            .unwrap_or(until);
        Ok(ProfileSource { file, from, until })
    }

    /// Whether `bytes`, the file's contents, are pprof (gzip-compressed, or
    /// a `.pb` file) rather than folded stacks.
    pub fn is_pprof(&self, bytes: &[u8]) -> bool {
        bytes.starts_with(&[0x1f, 0x8b]) || self.file.extension().is_some_and(|e| e == "pb")
    }
}
