//! Names of JIT-compiled code, from perf map files.
//!
//! A runtime that compiles code at run time into anonymous executable
//! memory can say what it put where in `/tmp/perf-PID.map`: one line per
//! piece of code, `START SIZE name`, START and SIZE in hex (with or without
//! `0x`), the name the rest of the line (spaces included). Node writes it
//! with `--perf-basic-prof`, Python 3.12+ with `-X perf`, JVMs with an
//! agent. The file grows while the process runs, so it is read
//! incrementally, each time addresses of that process are named, and once
//! more at the end; a later line for the same code replaces an earlier one
//! (code moved or recompiled there).
//!
//! Like `perf`, only a regular file (not a symbolic link) owned by root or
//! by perfhub's own user is read, and at most [`MAX_BYTES`] of it.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most of one perf map that is read: a long-running runtime can write
/// gigabytes; the first 64 MiB name about a million pieces of code.
pub(crate) const MAX_BYTES: u64 = 64 << 20;

/// How many entries before an address are checked for one covering it.
const LOOK_BACK: usize = 8;

/// Where the perf map of process `pid` is.
pub(crate) fn path_of(pid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{pid}.map"))
}

/// Named pieces of code by address range; a later one covering an
/// earlier one's start replaces it (code moved or recompiled there).
#[derive(Debug, Default)]
pub(crate) struct CodeNames {
    /// Code by start address: (end, name).
    entries: BTreeMap<u64, (u64, String)>,
}

impl CodeNames {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Names `size` bytes of code from `start`; nothing for an empty or
    /// wrapping range.
    pub fn insert(&mut self, start: u64, size: u64, name: String) {
        let Some(end) = start.checked_add(size).filter(|_| size > 0) else {
            return;
        };
        // Code this range covers was replaced.
        let stale: Vec<u64> = self.entries.range(start..end).map(|(&s, _)| s).collect();
        for s in stale {
            self.entries.remove(&s);
        }
        self.entries.insert(start, (end, name));
    }

    /// The name of the code at `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        self.entries
            .range(..=addr)
            .rev()
            .take(LOOK_BACK)
            .find(|(_, (end, _))| addr < *end)
            .map(|(_, (_, name))| name.as_str())
    }
}

/// Opens `path` for reading if it is a regular file (not a symbolic link)
/// owned by root or by perfhub's own user, as perf trusts such files.
pub(crate) fn open_trusted(path: &Path) -> io::Result<Option<(std::fs::File, std::fs::Metadata)>> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    Ok((meta.is_file() && (meta.uid() == 0 || meta.uid() == euid)).then_some((file, meta)))
}

/// One process's perf map, as much of it as was read so far.
#[derive(Debug)]
pub(crate) struct PerfMap {
    names: CodeNames,
    /// Bytes of the file consumed so far (whole lines only).
    read: u64,
    /// The most to read.
    limit: u64,
    /// The file's identity (device, inode), to notice a new file.
    file: Option<(u64, u64)>,
}

impl Default for PerfMap {
    fn default() -> Self {
        PerfMap::with_limit(MAX_BYTES)
    }
}

impl PerfMap {
    /// An empty map that will read at most `limit` bytes of its file.
    pub fn with_limit(limit: u64) -> PerfMap {
        PerfMap {
            names: CodeNames::default(),
            read: 0,
            limit,
            file: None,
        }
    }

    /// How many pieces of code are named.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Reads what was added to `path` since the last call. A missing or
    /// untrusted file leaves the map as it is (a file the runtime deleted
    /// at exit keeps the names read while it ran).
    pub fn refresh(&mut self, path: &Path) {
        let _ = self.try_refresh(path);
    }

    fn try_refresh(&mut self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let Some((mut file, meta)) = open_trusted(path)? else {
            return Ok(());
        };
        let id = (meta.dev(), meta.ino());
        if self.file != Some(id) || meta.len() < self.read {
            // Another file (a reused pid) or one started over.
            *self = PerfMap::with_limit(self.limit);
            self.file = Some(id);
        }
        let budget = self.limit.saturating_sub(self.read);
        if budget == 0 || meta.len() <= self.read {
            return Ok(());
        }
        file.seek(SeekFrom::Start(self.read))?;
        let mut bytes = Vec::new();
        file.take(budget).read_to_end(&mut bytes)?;
        self.read += self.add(&bytes) as u64;
        Ok(())
    }

    /// Adds the whole lines of `bytes` (an unfinished last line is left for
    /// later) and returns how many bytes they take.
    pub fn add(&mut self, bytes: &[u8]) -> usize {
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
            return 0;
        };
        for line in bytes[..end].split(|&b| b == b'\n') {
            if let Some((start, size, name)) = parse_line(&String::from_utf8_lossy(line)) {
                self.names.insert(start, size, name.to_string());
            }
        }
        end + 1
    }

    /// The name of the code at `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        self.names.lookup(addr)
    }
}

/// One line of a perf map: `START SIZE name`, hex numbers with or without
/// `0x`, the name the rest of the line. Lines without a name, with a size
/// of 0 or past the end of the address space are not code.
pub(crate) fn parse_line(line: &str) -> Option<(u64, u64, &str)> {
    fn hex(s: &str) -> Option<u64> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(digits, 16).ok()
    }
    let line = line.strip_suffix('\r').unwrap_or(line).trim_start();
    let (start, rest) = line.split_once(|c: char| c.is_ascii_whitespace())?;
    let (size, name) = rest
        .trim_start()
        .split_once(|c: char| c.is_ascii_whitespace())?;
    let name = name.trim_start();
    let (start, size) = (hex(start)?, hex(size)?);
    if name.is_empty() || size == 0 {
        return None;
    }
    start.checked_add(size)?;
    Some((start, size, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_lines_and_skips_malformed_ones() {
        assert_eq!(
            parse_line("7f8efe7c6700 250 JS:*sieveOfPrimes /tmp/sieve.js:1:23"),
            Some((
                0x7f8efe7c6700,
                0x250,
                "JS:*sieveOfPrimes /tmp/sieve.js:1:23"
            ))
        );
        assert_eq!(
            parse_line("0x7f00001000 0x40 py::run:/srv/app.py"),
            Some((0x7f00001000, 0x40, "py::run:/srv/app.py"))
        );
        assert_eq!(
            parse_line("1000\t20   LazyCompile:~a b  c\r"),
            Some((0x1000, 0x20, "LazyCompile:~a b  c"))
        );
        for bad in [
            "",
            "garbage",
            "1000 20",
            "1000 20 ",
            "1000 0 zero_size",
            "xyz 20 bad_start",
            "1000 2g bad_size",
            "0x 20 empty_hex",
            "-1000 20 negative",
            "ffffffffffffffff 2 wraps",
            "10000000000000000 2 too_big",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_addresses_newest_line_first() {
        let mut map = PerfMap::default();
        let text = "1000 100 first\nnot a line\n2000 10 second thing\n1000 80 first again\n";
        assert_eq!(map.add(text.as_bytes()), text.len());
        assert_eq!(map.lookup(0x1000), Some("first again"));
        assert_eq!(map.lookup(0x107f), Some("first again"));
        // Past the newer, shorter line: nothing (the older one was replaced).
        assert_eq!(map.lookup(0x1080), None);
        assert_eq!(map.lookup(0x2005), Some("second thing"));
        assert_eq!(map.lookup(0x2010), None);
        assert_eq!(map.lookup(0xfff), None);
        // A line covering older code replaces it.
        map.add(b"1f00 200 big\n");
        assert_eq!(map.lookup(0x2005), Some("big"));
        assert_eq!(map.lookup(0x1000), Some("first again"));
    }

    #[test]
    fn an_unfinished_line_waits() {
        let mut map = PerfMap::default();
        assert_eq!(map.add(b"1000 10 a\n2000 10 b"), 10);
        assert_eq!(map.lookup(0x2000), None);
        assert_eq!(map.add(b"2000 10 b\n"), 10);
        assert_eq!(map.lookup(0x2000), Some("b"));
    }

    #[test]
    fn reads_a_growing_file_and_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perf-1.map");
        let line = |i: u64| format!("{:x} 10 fn_{i} with spaces\n", 0x10000 + i * 0x10);
        let mut text: String = (0..10).map(line).collect();
        std::fs::write(&path, &text).unwrap();
        let mut map = PerfMap::default();
        map.refresh(&path);
        assert_eq!(map.len(), 10);
        assert_eq!(map.lookup(0x10095), Some("fn_9 with spaces"));
        // The runtime appends, the last line still being written.
        text.push_str(&line(10));
        text.push_str("100b0 10 fn_1");
        std::fs::write(&path, &text).unwrap();
        map.refresh(&path);
        assert_eq!(map.len(), 11);
        text.push_str("1 late\n");
        std::fs::write(&path, &text).unwrap();
        map.refresh(&path);
        assert_eq!(map.lookup(0x100b0), Some("fn_11 late"));
        // Deleted at exit: what was read stays.
        std::fs::remove_file(&path).unwrap();
        map.refresh(&path);
        assert_eq!(map.len(), 12);

        // A huge file: only the first `limit` bytes are read.
        let huge: String = (0..100_000).map(line).collect();
        std::fs::write(&path, &huge).unwrap();
        let limit = 64 * 1024;
        let mut map = PerfMap::with_limit(limit);
        map.refresh(&path);
        map.refresh(&path);
        let (shortest, longest) = (line(0).len() as u64, line(99_999).len() as u64);
        assert!(map.len() as u64 <= limit / shortest, "{}", map.len());
        assert!(map.len() as u64 >= limit / longest - 1, "{}", map.len());
        assert_eq!(map.lookup(0x10000), Some("fn_0 with spaces"));
        assert_eq!(map.lookup(0x10000 + 99_999 * 0x10), None);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.map");
        std::fs::write(&real, "1000 10 secret\n").unwrap();
        let link = dir.path().join("perf-2.map");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut map = PerfMap::default();
        map.refresh(&link);
        assert_eq!(map.len(), 0);
        map.refresh(&real);
        assert_eq!(map.lookup(0x1005), Some("secret"));
    }
}
