//! Readers of the Linux `/proc` files that perfhub measures with.

use std::io;

use perfhub_core::report::metric;
use perfhub_core::units::Unit;

/// The I/O accounting of a process, from `/proc/<pid>/io`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcIo {
    /// Bytes read through read-like syscalls, from any source.
    pub rchar: u64,
    /// Bytes written through write-like syscalls, to any destination.
    pub wchar: u64,
    /// Read-like syscalls.
    pub syscr: u64,
    /// Write-like syscalls.
    pub syscw: u64,
    /// Bytes fetched from the storage layer.
    pub read_bytes: u64,
    /// Bytes sent to the storage layer.
    pub write_bytes: u64,
}

impl ProcIo {
    /// Parses the text of an `io` file.
    pub fn parse(text: &str) -> Option<ProcIo> {
        let mut io = ProcIo::default();
        let mut seen = 0;
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<u64>() else {
                continue;
            };
            let slot = match key {
                "rchar" => &mut io.rchar,
                "wchar" => &mut io.wchar,
                "syscr" => &mut io.syscr,
                "syscw" => &mut io.syscw,
                "read_bytes" => &mut io.read_bytes,
                "write_bytes" => &mut io.write_bytes,
                _ => continue,
            };
            *slot = value;
            seen += 1;
        }
        (seen == 6).then_some(io)
    }

    /// Reads `/proc/<pid>/io`; `pid` 0 means this process.
    ///
    /// This runs once per measured run, so it makes three system calls
    /// (open, one read into a stack buffer, close) and allocates only the path.
    pub fn read(pid: u32) -> io::Result<ProcIo> {
        use std::io::Read;
        let path = if pid == 0 {
            "/proc/self/io".to_string()
        } else {
            format!("/proc/{pid}/io")
        };
        let mut buf = [0u8; 512];
        let n = std::fs::File::open(path)?.read(&mut buf)?;
        std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(ProcIo::parse)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc io format"))
    }

    /// Each counter with its report metric name and unit, in report order.
    pub fn metrics(&self) -> [(&'static str, Unit, u64); 6] {
        [
            (metric::READ_BYTES, Unit::Bytes, self.rchar),
            (metric::WRITE_BYTES, Unit::Bytes, self.wchar),
            (metric::READ_SYSCALLS, Unit::Count, self.syscr),
            (metric::WRITE_SYSCALLS, Unit::Count, self.syscw),
            (metric::STORAGE_READ_BYTES, Unit::Bytes, self.read_bytes),
            (metric::STORAGE_WRITE_BYTES, Unit::Bytes, self.write_bytes),
        ]
    }

    /// The counts accumulated since `earlier`.
    pub fn since(&self, earlier: &ProcIo) -> ProcIo {
        ProcIo {
            rchar: self.rchar.saturating_sub(earlier.rchar),
            wchar: self.wchar.saturating_sub(earlier.wchar),
            syscr: self.syscr.saturating_sub(earlier.syscr),
            syscw: self.syscw.saturating_sub(earlier.syscw),
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_format() {
        let text = "rchar: 323934931\nwchar: 323929600\nsyscr: 632687\nsyscw: 632675\nread_bytes: 0\nwrite_bytes: 323932160\ncancelled_write_bytes: 0\n";
        let io = ProcIo::parse(text).unwrap();
        assert_eq!(io.rchar, 323934931);
        assert_eq!(io.syscw, 632675);
        assert_eq!(io.write_bytes, 323932160);
        assert!(ProcIo::parse("rchar: 1\n").is_none());
    }

    #[test]
    fn reads_this_process() {
        let io = ProcIo::read(0).unwrap();
        assert!(io.syscr > 0);
    }
}
