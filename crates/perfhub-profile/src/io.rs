//! I/O of a region: `/proc/self/io` for the process and per thread.

use std::collections::BTreeMap;

use perfhub_probe::procfs::ProcIo;

/// I/O counters at one moment, for the process and each of its threads.
#[derive(Debug, Clone, Default)]
pub struct IoSnapshot {
    process: Option<ProcIo>,
    threads: BTreeMap<u32, (String, ProcIo)>,
}

/// I/O done during a region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IoProfile {
    /// The whole process (all threads, and children it reaped), where
    /// `/proc/self/io` could be read.
    pub process: Option<ProcIo>,
    /// Per thread that did any I/O, by thread id: its name and its I/O.
    /// Threads that ended during the region are counted in `process` only.
    pub threads: BTreeMap<u32, (String, ProcIo)>,
}

fn thread_io(tid: u32) -> Option<(String, ProcIo)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/io")).ok()?;
    let io = ProcIo::parse(&text)?;
    let name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Some((name, io))
}

impl IoSnapshot {
    /// Reads the counters now.
    pub fn take() -> IoSnapshot {
        let mut threads = BTreeMap::new();
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                if let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok())
                    && let Some(t) = thread_io(tid)
                {
                    threads.insert(tid, t);
                }
            }
        }
        IoSnapshot {
            process: ProcIo::read(0).ok(),
            threads,
        }
    }

    /// What happened between `self` (earlier) and `later`.
    pub fn until(&self, later: &IoSnapshot) -> IoProfile {
        let process = match (self.process, later.process) {
            (Some(a), Some(b)) => Some(b.since(&a)),
            _ => None,
        };
        let threads = later
            .threads
            .iter()
            .filter_map(|(tid, (name, io))| {
                let delta = match self.threads.get(tid) {
                    Some((_, before)) => io.since(before),
                    None => *io,
                };
                (delta != ProcIo::default()).then(|| (*tid, (name.clone(), delta)))
            })
            .collect();
        IoProfile { process, threads }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn counts_what_a_region_reads_and_writes() {
        let dir = std::env::temp_dir().join(format!("perfhub-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data");
        let before = IoSnapshot::take();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&[7u8; 100_000])
            .unwrap();
        let mut buf = Vec::new();
        std::fs::File::open(&path)
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap();
        let io = before.until(&IoSnapshot::take());
        std::fs::remove_dir_all(&dir).unwrap();
        let p = io.process.unwrap();
        assert!(p.wchar >= 100_000, "{p:?}");
        assert!(p.rchar >= 100_000, "{p:?}");
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let (_, mine) = &io.threads[&tid];
        assert!(mine.wchar >= 100_000 && mine.syscw >= 1, "{mine:?}");
    }
}
