//! What names a binary that carries no symbols of its own.
//!
//! A distribution's binaries are stripped, their symbols and DWARF shipped
//! apart, in a debug file found the way gdb and perf find it:
//!
//! - by the binary's GNU build-id note, as
//!   `DEBUG_DIR/.build-id/xx/yyyyyyyy.debug` (the first byte of the id in
//!   hex, then the rest), whose own build-id must match;
//! - by its `.gnu_debuglink` section (a file name and the CRC32 of the debug
//!   file), next to the binary, in its `.debug/` subdirectory, and under
//!   `DEBUG_DIR/<directory of the binary>/`, whose CRC must match.
//!
//! `DEBUG_DIR` is each of the configured debug directories in turn
//! (`/usr/lib/debug` by default). debuginfod is not asked.
//!
//! A stripped binary with no debug file still has its unwind information:
//! each `.eh_frame` FDE covers one function, so an address no symbol covers
//! is named by the start of the FDE around it ([`FunctionBounds`]), and all
//! the addresses of one function share one name.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSegment, ReadCache};

/// The debug directory of Linux distributions.
pub(crate) const DEFAULT_DEBUG_DIR: &str = "/usr/lib/debug";

/// A loadable segment: where its bytes are in the file and in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    offset: u64,
    size: u64,
    address: u64,
}

/// What perfhub needs of a binary's ELF headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct ElfHeaders {
    segments: Vec<Segment>,
    build_id: Option<Vec<u8>>,
    /// The `.gnu_debuglink` file name and CRC32.
    debuglink: Option<(Vec<u8>, u32)>,
}

impl ElfHeaders {
    /// The headers of the ELF file at `path`; `None` for anything else.
    /// Only the headers and notes are read, not the whole file.
    pub fn read(path: &Path) -> Option<ElfHeaders> {
        let cache = ReadCache::new(File::open(path).ok()?);
        let file = object::File::parse(&cache).ok()?;
        let segments = file
            .segments()
            .map(|s| {
                let (offset, size) = s.file_range();
                Segment {
                    offset,
                    size,
                    address: s.address(),
                }
            })
            .filter(|s| s.size > 0)
            .collect();
        Some(ElfHeaders {
            segments,
            build_id: file.build_id().ok().flatten().map(<[u8]>::to_vec),
            debuglink: file
                .gnu_debuglink()
                .ok()
                .flatten()
                .map(|(name, crc)| (name.to_vec(), crc)),
        })
    }

    /// The virtual address (as linked) that file offset `offset` is loaded
    /// at.
    pub fn address_of(&self, offset: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| (s.offset..s.offset + s.size).contains(&offset))
            .map(|s| offset - s.offset + s.address)
    }

    /// The file offset of virtual address `address`.
    pub fn offset_of(&self, address: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| (s.address..s.address + s.size).contains(&address))
            .map(|s| address - s.address + s.offset)
    }

    /// Whether the binary points at a separate debug file at all.
    pub fn may_have_debug_file(&self) -> bool {
        self.build_id.is_some() || self.debuglink.is_some()
    }

    /// The separate debug file of `binary` (whose headers these are), in
    /// `debug_dirs` and beside it: by build-id first, then by debug link.
    pub fn find_debug_file(&self, binary: &Path, debug_dirs: &[PathBuf]) -> Option<PathBuf> {
        if let Some(id) = self.build_id.as_deref().filter(|id| id.len() >= 2) {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            for dir in debug_dirs {
                let candidate = dir
                    .join(".build-id")
                    .join(&hex[..2])
                    .join(format!("{}.debug", &hex[2..]));
                if build_id_of(&candidate).as_deref() == Some(id) {
                    return Some(candidate);
                }
            }
        }
        let (name, crc) = self.debuglink.as_ref()?;
        let name = Path::new(OsStr::from_bytes(name));
        // A file name, nothing else: a link cannot point elsewhere.
        if name.file_name() != Some(name.as_os_str()) {
            return None;
        }
        let binary = binary
            .canonicalize()
            .unwrap_or_else(|_| binary.to_path_buf());
        let dir = binary.parent()?;
        let mut candidates = vec![dir.join(name), dir.join(".debug").join(name)];
        let relative = dir.strip_prefix("/").unwrap_or(dir);
        candidates.extend(debug_dirs.iter().map(|d| d.join(relative).join(name)));
        candidates
            .into_iter()
            .filter(|c| *c != binary)
            .find(|c| crc32_of(c) == Some(*crc))
    }
}

/// The build-id of the ELF file at `path`.
fn build_id_of(path: &Path) -> Option<Vec<u8>> {
    let cache = ReadCache::new(File::open(path).ok()?);
    let file = object::File::parse(&cache).ok()?;
    file.build_id().ok().flatten().map(<[u8]>::to_vec)
}

/// The CRC32 of the file at `path`, as `.gnu_debuglink` records it.
fn crc32_of(path: &Path) -> Option<u32> {
    let mut file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(hasher.finalize()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The address ranges of a binary's functions, as its unwind information
/// gives them: one per FDE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FunctionBounds {
    /// `start..end` virtual addresses, sorted by start.
    ranges: Vec<(u64, u64)>,
}

impl FunctionBounds {
    /// Bounds from `start..end` ranges in any order; empty ones are left
    /// out.
    pub fn from_ranges(mut ranges: Vec<(u64, u64)>) -> FunctionBounds {
        ranges.retain(|(start, end)| start < end);
        ranges.sort_unstable();
        ranges.dedup();
        FunctionBounds { ranges }
    }

    /// The function bounds of the ELF file at `path`, from its `.eh_frame`
    /// section; `None` if it has none or it cannot be read.
    pub fn read(path: &Path) -> Option<FunctionBounds> {
        let cache = ReadCache::new(File::open(path).ok()?);
        let file = object::File::parse(&cache).ok()?;
        let eh_frame = file.section_by_name(".eh_frame")?;
        let data = eh_frame.data().ok()?;
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let mut section = gimli::EhFrame::new(data, endian);
        section.set_address_size(if file.is_64() { 8 } else { 4 });
        let mut bases = gimli::BaseAddresses::default().set_eh_frame(eh_frame.address());
        if let Some(text) = file.section_by_name(".text") {
            bases = bases.set_text(text.address());
        }
        if let Some(got) = file.section_by_name(".got") {
            bases = bases.set_got(got.address());
        }
        if let Some(hdr) = file.section_by_name(".eh_frame_hdr") {
            bases = bases.set_eh_frame_hdr(hdr.address());
        }
        let mut ranges = Vec::new();
        let mut entries = gimli::UnwindSection::entries(&section, &bases);
        // A malformed entry ends the walk: the ones before it still count.
        while let Ok(Some(entry)) = entries.next() {
            if let gimli::CieOrFde::Fde(partial) = entry
                && let Ok(fde) = partial.parse(gimli::UnwindSection::cie_from_offset)
            {
                let start = fde.initial_address();
                ranges.push((start, start.saturating_add(fde.len())));
            }
        }
        (!ranges.is_empty()).then(|| FunctionBounds::from_ranges(ranges))
    }

    /// The start of the function whose range holds `address`.
    pub fn start_of(&self, address: u64) -> Option<u64> {
        let after = self.ranges.partition_point(|&(start, _)| start <= address);
        // FDEs do not nest: the last range starting at or before `address`
        // is the only one that can hold it.
        let &(start, end) = self.ranges.get(after.checked_sub(1)?)?;
        (address < end).then_some(start)
    }

    /// How many functions there are.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_named_by_the_range_around_it() {
        let bounds =
            FunctionBounds::from_ranges(vec![(0x1200, 0x1280), (0x1000, 0x1100), (0x1100, 0x1180)]);
        assert_eq!(bounds.len(), 3);
        assert_eq!(bounds.start_of(0x1000), Some(0x1000));
        assert_eq!(bounds.start_of(0x10ff), Some(0x1000));
        assert_eq!(bounds.start_of(0x1100), Some(0x1100));
        assert_eq!(bounds.start_of(0x117f), Some(0x1100));
        // Gaps between functions (padding, PLT stubs) and both ends.
        assert_eq!(bounds.start_of(0x1180), None);
        assert_eq!(bounds.start_of(0x11ff), None);
        assert_eq!(bounds.start_of(0x1250), Some(0x1200));
        assert_eq!(bounds.start_of(0x1280), None);
        assert_eq!(bounds.start_of(0xfff), None);
        assert_eq!(bounds.start_of(0), None);
        assert_eq!(bounds.start_of(u64::MAX), None);
    }

    #[test]
    fn empty_and_duplicate_ranges_are_dropped() {
        let bounds = FunctionBounds::from_ranges(vec![(0x10, 0x10), (0x20, 0x30), (0x20, 0x30)]);
        assert_eq!(bounds.len(), 1);
        assert_eq!(bounds.start_of(0x10), None);
        assert_eq!(FunctionBounds::default().start_of(0x10), None);
    }

    #[test]
    fn segments_translate_offsets_and_addresses() {
        let headers = ElfHeaders {
            segments: vec![
                Segment {
                    offset: 0,
                    size: 0x600,
                    address: 0x400000,
                },
                Segment {
                    offset: 0x1000,
                    size: 0x2000,
                    address: 0x401000,
                },
            ],
            ..ElfHeaders::default()
        };
        assert_eq!(headers.address_of(0x1234), Some(0x401234));
        assert_eq!(headers.offset_of(0x401234), Some(0x1234));
        assert_eq!(headers.address_of(0x800), None);
        assert_eq!(headers.offset_of(0x403000), None);
    }

    /// This test's own executable: not stripped, with unwind information.
    #[test]
    fn a_real_binary_has_function_bounds() {
        let exe = std::env::current_exe().unwrap();
        let bounds = FunctionBounds::read(&exe).expect("an .eh_frame");
        assert!(bounds.len() > 100, "{} FDEs", bounds.len());
        let headers = ElfHeaders::read(&exe).expect("ELF");
        // This very function starts one of them: find its link-time address
        // from where it runs and the mapping of the executable.
        let here = a_real_binary_has_function_bounds as *const () as u64;
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let file_offset = maps
            .lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                let (lo, hi) = fields.next()?.split_once('-')?;
                let lo = u64::from_str_radix(lo, 16).ok()?;
                let hi = u64::from_str_radix(hi, 16).ok()?;
                let offset = u64::from_str_radix(fields.nth(1)?, 16).ok()?;
                (lo..hi).contains(&here).then(|| here - lo + offset)
            })
            .unwrap();
        let linked = headers.address_of(file_offset).unwrap();
        assert_eq!(bounds.start_of(linked), Some(linked));
    }
}
