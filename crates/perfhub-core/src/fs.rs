//! Files written so that nothing is ever half-written, and reports read
//! within a bound ([`read_report`]).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::report::{Report, ReportError};

/// Numbers the temporary files of this process, so that threads writing the
/// same target at once never share one.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many temporary names to try when one is taken (say by a crashed
/// process that had this process's id).
const TRIES: usize = 16;

/// Writes `contents` to `path` atomically: into a new hidden temporary file
/// in the same directory (`.NAME.PID.N.tmp`), synced to disk, then renamed
/// over `path`; the directory is then synced so the rename survives a crash
/// too, where the file system allows it.
///
/// A reader sees either the old file or the new one, never a mix, and a
/// failed write leaves the old file as it was and no temporary file behind.
/// The temporary name starts with `.` and ends in `.tmp`, so collectors that
/// watch a directory for a suffix (node_exporter's `*.prom`) ignore it.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_replacing(path, true, |f| f.write_all(contents))
}

/// Writes `contents` to `path` atomically like [`write_atomic`], without
/// waiting for the disk: neither the file nor the directory is synced.
///
/// A reader still sees the old file or the new one, never a mix, and a
/// failed write still leaves the old file as it was. Only a crash of the
/// machine in the seconds after can lose the new file (leaving the old one,
/// or on some file systems an empty one). The two syncs cost a few
/// milliseconds on an idle disk and tens on a busy one; this is for outputs
/// that can be made again, written at the end of a command whose own time
/// counts: the exports of `perfhub run`, as hyperfine writes its own.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_replacing(path, false, |f| f.write_all(contents))
}

/// Whether [`write_atomic_with`] waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced, as [`write_atomic`]: the new file survives a crash of the
    /// machine once the call returns.
    Synced,
    /// Not synced, as [`write_atomic_unsynced`]: for outputs that can be
    /// made again.
    Unsynced,
}

/// Writes a file atomically like [`write_atomic`] (or
/// [`write_atomic_unsynced`]), with `fill` writing its contents through a
/// buffer: for large outputs that need not be held in memory whole. If
/// `fill` fails, the old file stays as it was.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    write_replacing(path, durability == Durability::Synced, |f| {
        let mut w = io::BufWriter::with_capacity(1 << 16, f);
        fill(&mut w)?;
        w.flush()
    })
}

fn write_replacing(
    path: &Path,
    sync: bool,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let (tmp, mut f) = create_temporary(dir, name)?;
    let result = (|| {
        fill(&mut f)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself survives a crash once the directory is synced; some
    // file systems refuse to open or sync a directory, which is no failure:
    // the file is in place either way.
    if sync && let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a fresh temporary file for `name` in `dir`: never an existing
/// file, so never one that another writer is filling or a link planted there.
fn create_temporary(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let mut tries = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries + 1 < TRIES => {
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The largest report file [`read_report`] reads: 256 MiB.
///
/// Real reports are far smaller (a load test of a thousand endpoints, with
/// its histograms, takes about 5 MiB; a run keeping 10,000 raw samples of
/// each of 100 commands about 20 MiB). A report is held in memory whole,
/// at about twice the size of its text while it is read, so this bound
/// keeps every command that reads reports (`compare`, `export`, `load
/// merge`, `history`...) well within 2 GiB, and a damaged or hostile file is
/// refused before it is read.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Why [`read_report`] read no report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadReportError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is larger than [`MAX_REPORT_BYTES`].
    #[error(
        "{}: {} MiB, more than the {} MiB a perfhub report may take; split the benchmarks over several reports, or keep fewer raw samples",
        path.display(),
        bytes.div_ceil(1 << 20),
        MAX_REPORT_BYTES >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size, or as much of it as was read.
        bytes: u64,
    },
    /// The text is not a perfhub report.
    #[error("{}", path.display())]
    Report {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: ReportError,
    },
}

/// Why [`read_bounded`] read nothing.
#[derive(Debug)]
pub enum BoundedReadError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The file holds more than the limit: its length, or as much of it as
    /// was read.
    TooLarge(u64),
}

/// The bytes of the file at `path`, of at most `limit` bytes: a larger
/// file is refused by its length before it is read, and one that has no
/// length (a pipe) or grows while it is read as soon as it has given more.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, BoundedReadError> {
    let file = File::open(path).map_err(BoundedReadError::Io)?;
    let len = file.metadata().map_err(BoundedReadError::Io)?.len();
    if len > limit {
        return Err(BoundedReadError::TooLarge(len));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a perfhub report (JSON) from a file of at most
/// [`MAX_REPORT_BYTES`], refusing a larger one before reading it (and a
/// pipe as soon as it has given more).
pub fn read_report(path: &Path) -> Result<Report, ReadReportError> {
    let cannot_read = |source| ReadReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = read_bounded(path, MAX_REPORT_BYTES).map_err(|e| match e {
        BoundedReadError::Io(source) => cannot_read(source),
        BoundedReadError::TooLarge(bytes) => ReadReportError::TooLarge {
            path: path.to_path_buf(),
            bytes,
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        cannot_read(io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })?;
    Report::from_json(&text).map_err(|source| ReadReportError::Report {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "perfhub-core-fs-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = scratch("replace");
        let path = dir.join("out.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&dir), vec!["out.json".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn replaces_the_file_unsynced_too() {
        let dir = scratch("unsynced");
        let path = dir.join("out.json");
        write_atomic_unsynced(&path, b"one").unwrap();
        write_atomic_unsynced(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&dir), vec!["out.json".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_streamed_write_replaces_the_file_and_a_failed_one_keeps_the_old() {
        let dir = scratch("streamed");
        let path = dir.join("out.json");
        for durability in [Durability::Synced, Durability::Unsynced] {
            write_atomic_with(&path, durability, |w| {
                w.write_all(b"streamed ")?;
                w.write_all(b"contents")
            })
            .unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"streamed contents");
        }
        let err = write_atomic_with(&path, Durability::Unsynced, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("the serializer gave up"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the serializer gave up");
        assert_eq!(std::fs::read(&path).unwrap(), b"streamed contents");
        assert_eq!(names(&dir), vec!["out.json".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fails_cleanly_in_a_missing_directory_or_without_a_name() {
        let path = Path::new("/nonexistent-perfhub-dir/out.json");
        assert!(write_atomic(path, b"x").is_err());
        let e = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_failed_rename_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("rename");
        // A directory in the way: the temporary file is written, the rename
        // over a non-empty directory fails.
        let path = dir.join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"old").unwrap();
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(names(&dir), vec!["taken".to_string()]);
        assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"old");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn threads_writing_one_file_never_share_a_temporary() {
        let dir = scratch("threads");
        let path = dir.join("shared.txt");
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..25 {
                        write_atomic(path, &[b'a' + t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]));
        assert_eq!(names(&dir), vec!["shared.txt".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
