//! Names of JIT-compiled code, from jitdump files.
//!
//! A runtime can describe the code it compiles in a jitdump file,
//! `jit-PID.dump` (the format `perf inject --jit` reads): a header, then
//! records, of which `JIT_CODE_LOAD` gives a piece of code's address, size
//! and name, and `JIT_CODE_MOVE` moves one. V8 (`node --perf-prof`), the
//! JVM's and .NET's perf agents and wasmtime write one, where they like
//! (most often the working directory), and map it executable so that a
//! profiler learns where from the mapping. perfhub reads the file a
//! process maps under that name, with the `linux-perf-data` crate, as it
//! grows while the command runs and once more at the end. As with perf
//! maps, only a regular file owned by root or by perfhub's own user is
//! read, and at most [`MAX_BYTES`] of it (the records carry the code's
//! bytes too).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Take};
use std::path::{Path, PathBuf};

use linux_perf_data::jitdump::{JitDumpReader, JitDumpRecord, JitDumpRecordHeader};

use super::perfmap::{CodeNames, open_trusted};

/// The most of one jitdump file that is read.
pub(crate) const MAX_BYTES: u64 = 1 << 30;

/// Whether `path` names a jitdump file: `jit-PID.dump`.
pub(crate) fn is_jitdump(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("jit-")?.strip_suffix(".dump"))
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// One process's jitdump file, as much of it as was read so far.
pub(crate) struct JitDump {
    path: PathBuf,
    /// Open once the file has its header; reads on from where it stopped.
    reader: Option<JitDumpReader<Take<File>>>,
    names: CodeNames,
    /// Each piece of code's name by its index, for moves.
    by_index: HashMap<u64, String>,
    limit: u64,
}

impl JitDump {
    pub fn new(path: PathBuf) -> JitDump {
        JitDump::with_limit(path, MAX_BYTES)
    }

    pub fn with_limit(path: PathBuf, limit: u64) -> JitDump {
        JitDump {
            path,
            reader: None,
            names: CodeNames::default(),
            by_index: HashMap::new(),
            limit,
        }
    }

    /// How many pieces of code are named.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Reads the records added since the last call. A file not there yet,
    /// untrusted or without its whole header is tried again next time; a
    /// malformed record ends the reading (what came before it stays).
    pub fn refresh(&mut self) {
        if self.reader.is_none() {
            let Ok(Some((file, _))) = open_trusted(&self.path) else {
                return;
            };
            match JitDumpReader::new(file.take(self.limit)) {
                Ok(reader) => self.reader = Some(reader),
                Err(_) => return,
            }
        }
        let Some(reader) = &mut self.reader else {
            return;
        };
        loop {
            // A record shorter than its own header is corrupt: stop there.
            match reader.next_record_header() {
                Ok(Some(h)) if (h.total_size as usize) < JitDumpRecordHeader::SIZE => return,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
            let record = match reader.next_record() {
                Ok(Some(raw)) => raw.parse(),
                Ok(None) | Err(_) => return,
            };
            match record {
                Ok(JitDumpRecord::CodeLoad(load)) => {
                    let name = String::from_utf8_lossy(&load.function_name.as_slice()).into_owned();
                    let size = load.code_bytes.len() as u64;
                    self.by_index.insert(load.code_index, name.clone());
                    self.names.insert(load.code_addr, size, name);
                }
                Ok(JitDumpRecord::CodeMove(moved)) => {
                    let name = self
                        .by_index
                        .get(&moved.code_index)
                        .cloned()
                        .or_else(|| self.names.lookup(moved.old_code_addr).map(str::to_string));
                    if let Some(name) = name {
                        self.names
                            .insert(moved.new_code_addr, moved.code_size, name);
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }

    /// The name of the code at `addr`.
    pub fn lookup(&self, addr: u64) -> Option<&str> {
        self.names.lookup(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian jitdump header for `pid`.
    fn header(pid: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(0x4A69_5444u32.to_le_bytes()); // "JiTD", as written on this machine
        h.extend(1u32.to_le_bytes()); // version
        h.extend(40u32.to_le_bytes()); // header size
        h.extend(62u32.to_le_bytes()); // EM_X86_64
        h.extend(0u32.to_le_bytes()); // padding
        h.extend(pid.to_le_bytes());
        h.extend(0u64.to_le_bytes()); // timestamp
        h.extend(0u64.to_le_bytes()); // flags
        h
    }

    fn record(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend(kind.to_le_bytes());
        r.extend(((JitDumpRecordHeader::SIZE + body.len()) as u32).to_le_bytes());
        r.extend(7u64.to_le_bytes()); // timestamp
        r.extend(body);
        r
    }

    fn load(addr: u64, code: &[u8], index: u64, name: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(1u32.to_le_bytes()); // pid
        b.extend(1u32.to_le_bytes()); // tid
        b.extend(addr.to_le_bytes()); // vma
        b.extend(addr.to_le_bytes()); // code_addr
        b.extend((code.len() as u64).to_le_bytes());
        b.extend(index.to_le_bytes());
        b.extend(name.as_bytes());
        b.push(0);
        b.extend(code);
        record(0, &b)
    }

    fn moved(old: u64, new: u64, size: u64, index: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(1u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(new.to_le_bytes()); // vma
        b.extend(old.to_le_bytes());
        b.extend(new.to_le_bytes());
        b.extend(size.to_le_bytes());
        b.extend(index.to_le_bytes());
        record(1, &b)
    }

    #[test]
    fn only_jit_pid_dump_is_a_jitdump() {
        assert!(is_jitdump(Path::new("/srv/app/jit-4242.dump")));
        assert!(is_jitdump(Path::new("jit-1.dump")));
        for not in [
            "/tmp/jit-.dump",
            "/tmp/jit-12a.dump",
            "/tmp/perf-12.map",
            "/tmp/jit-12.dump.old",
        ] {
            assert!(!is_jitdump(Path::new(not)), "{not}");
        }
    }

    #[test]
    fn names_loaded_and_moved_code_of_a_growing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jit-1.dump");
        let mut bytes = header(1);
        // Not even the whole header yet: nothing, and no error.
        std::fs::write(&path, &bytes[..20]).unwrap();
        let mut dump = JitDump::new(path.clone());
        dump.refresh();
        assert_eq!(dump.len(), 0);

        bytes.extend(load(0x1000, &[0x90; 0x40], 1, "JS:*fib app.js:3:13"));
        bytes.extend(load(0x2000, &[0xc3; 0x10], 2, "Builtin:Add"));
        // The third record only half written.
        let third = load(0x3000, &[0x90; 0x20], 3, "JS:~main app.js:1:1");
        std::fs::write(&path, [&bytes[..], &third[..10]].concat()).unwrap();
        let mut dump = JitDump::new(path.clone());
        dump.refresh();
        assert_eq!(dump.lookup(0x1000), Some("JS:*fib app.js:3:13"));
        assert_eq!(dump.lookup(0x103f), Some("JS:*fib app.js:3:13"));
        assert_eq!(dump.lookup(0x1040), None);
        assert_eq!(dump.lookup(0x2008), Some("Builtin:Add"));
        assert_eq!(dump.lookup(0x3000), None);

        // The rest arrives, and a move.
        bytes.extend(&third);
        bytes.extend(moved(0x1000, 0x5000, 0x40, 1));
        std::fs::write(&path, &bytes).unwrap();
        dump.refresh();
        assert_eq!(dump.lookup(0x3010), Some("JS:~main app.js:1:1"));
        assert_eq!(dump.lookup(0x5020), Some("JS:*fib app.js:3:13"));

        // Deleted at exit: what was read stays.
        std::fs::remove_file(&path).unwrap();
        dump.refresh();
        assert_eq!(dump.len(), 4);
    }

    #[test]
    fn garbage_and_corrupt_records_end_the_reading_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jit-2.dump");
        std::fs::write(&path, b"not a jitdump file at all, just text\n").unwrap();
        let mut dump = JitDump::new(path.clone());
        dump.refresh();
        assert_eq!(dump.len(), 0);

        let mut bytes = header(2);
        bytes.extend(load(0x1000, &[0x90; 8], 1, "good"));
        // A record claiming to be 4 bytes long, shorter than its header.
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(4u32.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend(load(0x2000, &[0x90; 8], 2, "after the corruption"));
        std::fs::write(&path, &bytes).unwrap();
        let mut dump = JitDump::new(path.clone());
        dump.refresh();
        dump.refresh();
        assert_eq!(dump.lookup(0x1000), Some("good"));
        assert_eq!(dump.lookup(0x2000), None);
    }

    #[test]
    fn reads_at_most_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jit-3.dump");
        let mut bytes = header(3);
        for i in 0..1000u64 {
            bytes.extend(load(
                0x10000 + i * 0x100,
                &[0x90; 0x80],
                i,
                &format!("fn_{i}"),
            ));
        }
        std::fs::write(&path, &bytes).unwrap();
        let mut dump = JitDump::with_limit(path, 16 * 1024);
        dump.refresh();
        dump.refresh();
        assert!(dump.len() > 50 && dump.len() < 200, "{}", dump.len());
        assert_eq!(dump.lookup(0x10000), Some("fn_0"));
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.dump");
        let mut bytes = header(4);
        bytes.extend(load(0x1000, &[0x90; 8], 1, "secret"));
        std::fs::write(&real, &bytes).unwrap();
        let link = dir.path().join("jit-4.dump");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut dump = JitDump::new(link);
        dump.refresh();
        assert_eq!(dump.len(), 0);
    }
}
