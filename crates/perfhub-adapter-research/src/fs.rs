//! File writes for the packages: atomically through
//! [`perfhub_core::fs::write_atomic`] (a temporary file beside the target,
//! synced, renamed over it, so a reader sees the old file or the new one,
//! never half of one), with this crate's errors.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;

/// Writes `bytes` to `dir/name` atomically; returns the path.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    match perfhub_core::fs::write_atomic(&path, bytes) {
        Ok(()) => Ok(path),
        Err(source) => Err(Error::Write { path, source }),
    }
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })
}
