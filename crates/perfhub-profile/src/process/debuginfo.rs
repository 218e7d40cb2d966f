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
//! (`/usr/lib/debug` by default).
//!
//! Where none is found, the binary has a build-id and no DWARF of its own,
//! and `DEBUGINFOD_URLS` names debuginfod servers, [`Debuginfod`] asks them
//! in turn for `URL/buildid/HEX/debuginfo`, as elfutils' client does, and
//! keeps the answer in the same cache (`CACHE/HEX/debuginfo`), where the
//! next profile (or gdb, or perf) finds it without asking again.
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
use std::time::Duration;

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
    /// Whether the binary has DWARF of its own (a `.debug_info` section).
    has_debug_info: bool,
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
            has_debug_info: file.section_by_name(".debug_info").is_some(),
        })
    }

    /// The GNU build-id, where the binary has one.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }

    /// Whether debuginfod is worth asking: the binary has a build-id and no
    /// DWARF of its own.
    pub fn wants_debuginfod(&self) -> bool {
        self.build_id.as_ref().is_some_and(|id| id.len() >= 2) && !self.has_debug_info
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
    /// A file found where one is looked for that is not the binary's (a
    /// different build-id, a CRC32 not the link's) goes into `rejected`,
    /// with why.
    pub fn find_debug_file(
        &self,
        binary: &Path,
        debug_dirs: &[PathBuf],
        rejected: &mut Vec<(PathBuf, String)>,
    ) -> Option<PathBuf> {
        if let Some(id) = self.build_id.as_deref().filter(|id| id.len() >= 2) {
            let hex = hex(id);
            for dir in debug_dirs {
                let candidate = dir
                    .join(".build-id")
                    .join(&hex[..2])
                    .join(format!("{}.debug", &hex[2..]));
                match build_id_of(&candidate) {
                    Some(found) if found == id => return Some(candidate),
                    Some(found) => rejected.push((
                        candidate,
                        format!("its build-id is {}, the binary's {hex}", self::hex(&found)),
                    )),
                    None if candidate.exists() => rejected.push((
                        candidate,
                        "it is not an ELF file with a build-id".to_string(),
                    )),
                    None => {}
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
        for candidate in candidates.into_iter().filter(|c| *c != binary) {
            match crc32_of(&candidate) {
                Some(found) if found == *crc => return Some(candidate),
                Some(found) => rejected.push((
                    candidate,
                    format!(
                        "its CRC32 is {found:08x}, where the binary's .gnu_debuglink asks for {crc:08x}"
                    ),
                )),
                None => {}
            }
        }
        None
    }
}

/// The build-id of the ELF file at `path`.
fn build_id_of(path: &Path) -> Option<Vec<u8>> {
    let cache = ReadCache::new(File::open(path).ok()?);
    let file = object::File::parse(&cache).ok()?;
    file.build_id().ok().flatten().map(<[u8]>::to_vec)
}

/// A build-id in lower-case hex, as file names and URLs spell it.
pub(crate) fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where and how to ask debuginfod servers for debug files, as elfutils'
/// client reads its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debuginfod {
    /// The servers, asked in order (`DEBUGINFOD_URLS`, space-separated).
    pub urls: Vec<String>,
    /// The cache: a debug file is kept as `CACHE/BUILDID/debuginfo`
    /// (`DEBUGINFOD_CACHE_PATH`, else `$XDG_CACHE_HOME/debuginfod_client`,
    /// else `$HOME/.cache/debuginfod_client`).
    pub cache: PathBuf,
    /// How long to wait to connect, and for each read of the answer
    /// (`DEBUGINFOD_TIMEOUT` seconds; 90 by default). A server that times out
    /// or cannot be reached is not asked again in the same profile.
    pub timeout: Duration,
    /// The longest one download may take in all (`DEBUGINFOD_MAXTIME`
    /// seconds; no limit by default).
    pub max_time: Option<Duration>,
    /// The largest debug file downloaded (`DEBUGINFOD_MAXSIZE` bytes; 1 GiB
    /// by default): the download is held in memory before it is written.
    pub max_size: u64,
}

/// What asking debuginfod for one build-id came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// Found in the cache, from an earlier download.
    Cached(PathBuf),
    /// Downloaded from this URL into the cache, at that path.
    Downloaded { url: String, path: PathBuf },
    /// Every server asked answered 404.
    NotFound,
    /// What went wrong, server by server (404s included).
    Failed(String),
}

impl Debuginfod {
    /// The variable that lists the servers.
    pub const URLS_VAR: &'static str = "DEBUGINFOD_URLS";

    /// The configuration in this process's environment; `None` where
    /// `DEBUGINFOD_URLS` is unset or lists no server.
    pub fn from_env() -> Option<Debuginfod> {
        Debuginfod::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration that the variables `var` gives make.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Debuginfod> {
        let urls: Vec<String> = var(Debuginfod::URLS_VAR)?
            .split_whitespace()
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return None;
        }
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let cache = set("DEBUGINFOD_CACHE_PATH")
            .map(PathBuf::from)
            .or_else(|| set("XDG_CACHE_HOME").map(|d| Path::new(&d).join("debuginfod_client")))
            .or_else(|| set("HOME").map(|h| Path::new(&h).join(".cache/debuginfod_client")))
            .unwrap_or_else(|| std::env::temp_dir().join("debuginfod_client"));
        let seconds = |name: &str| {
            set(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&s| s > 0)
                .map(Duration::from_secs)
        };
        Some(Debuginfod {
            urls,
            cache,
            timeout: seconds("DEBUGINFOD_TIMEOUT").unwrap_or(Duration::from_secs(90)),
            max_time: seconds("DEBUGINFOD_MAXTIME"),
            max_size: set("DEBUGINFOD_MAXSIZE")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&s| s > 0)
                .unwrap_or(1 << 30),
        })
    }

    /// Where the debug file of build-id `id` is cached.
    pub(crate) fn cached_path(&self, id: &[u8]) -> PathBuf {
        self.cache.join(hex(id)).join("debuginfo")
    }

    /// The URL that serves the debug file of build-id `id` on `server`.
    pub(crate) fn url(server: &str, id: &[u8]) -> String {
        format!("{server}/buildid/{}/debuginfo", hex(id))
    }

    /// The debug file of build-id `id`: from the cache, else from the first
    /// server that has it (written into the cache atomically, after its
    /// build-id is checked). Servers in `dead` (which could not be reached
    /// or timed out earlier) are skipped, and servers that fail so now are
    /// added to it, with what went wrong.
    pub(crate) fn fetch(&self, id: &[u8], dead: &mut Vec<(String, String)>) -> Fetched {
        let cached = self.cached_path(id);
        if build_id_of(&cached).as_deref() == Some(id) {
            return Fetched::Cached(cached);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(self.timeout))
            .timeout_per_read(Some(self.timeout))
            .timeout_global(self.max_time)
            .http_status_as_error(false)
            .user_agent(concat!("perfhub/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut failures = Vec::new();
        let mut not_found = 0;
        for server in &self.urls {
            if dead.iter().any(|(s, _)| s == server) {
                failures.push(format!(
                    "{server}: skipped, it failed earlier in this profile"
                ));
                continue;
            }
            let url = Debuginfod::url(server, id);
            match self.download(&agent, &url, id) {
                Ok(bytes) => {
                    return match self.store(&cached, &bytes) {
                        Ok(()) => Fetched::Downloaded { url, path: cached },
                        Err(e) => Fetched::Failed(format!(
                            "{url}: downloaded, but it cannot be cached as {}: {e}",
                            cached.display()
                        )),
                    };
                }
                Err(Download::NotFound) => {
                    not_found += 1;
                    failures.push(format!("{url}: 404, not found"));
                }
                Err(Download::Unreachable(e)) => {
                    failures.push(format!("{url}: {e}"));
                    dead.push((server.clone(), e));
                }
                Err(Download::Failed(e)) => failures.push(format!("{url}: {e}")),
            }
        }
        if not_found == self.urls.len() {
            Fetched::NotFound
        } else {
            Fetched::Failed(failures.join("; "))
        }
    }

    fn download(&self, agent: &ureq::Agent, url: &str, id: &[u8]) -> Result<Vec<u8>, Download> {
        let timeout = self.timeout.as_secs();
        let transport = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => Download::Unreachable(format!(
                "no answer within {timeout} s (DEBUGINFOD_TIMEOUT): {e}"
            )),
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Io(_) => {
                Download::Unreachable(format!("cannot reach the server: {e}"))
            }
            ureq::Error::BodyExceedsLimit(limit) => Download::Failed(format!(
                "the debug file is larger than {limit} bytes (DEBUGINFOD_MAXSIZE)"
            )),
            e => Download::Failed(e.to_string()),
        };
        let mut resp = agent.get(url).call().map_err(transport)?;
        match resp.status().as_u16() {
            200 => {}
            404 => return Err(Download::NotFound),
            status => {
                return Err(Download::Failed(format!(
                    "the server answered HTTP {status}"
                )));
            }
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(self.max_size)
            .read_to_vec()
            .map_err(transport)?;
        let got = object::File::parse(&*bytes)
            .map_err(|e| Download::Failed(format!("the answer is not an ELF file ({e})")))?
            .build_id()
            .ok()
            .flatten()
            .map(<[u8]>::to_vec);
        if got.as_deref() != Some(id) {
            return Err(Download::Failed(format!(
                "the answer's build-id is {}, not the binary's",
                got.as_deref().map_or_else(|| "missing".to_string(), hex)
            )));
        }
        Ok(bytes)
    }

    fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        perfhub_core::fs::write_atomic(path, bytes)
    }
}

/// Why one server did not give a debug file.
enum Download {
    NotFound,
    /// It could not be reached or did not answer in time.
    Unreachable(String),
    Failed(String),
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

    #[test]
    fn debuginfod_reads_its_environment_as_elfutils_does() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Debuginfod::from_vars(vars(&[])), None);
        assert_eq!(
            Debuginfod::from_vars(vars(&[("DEBUGINFOD_URLS", "  ")])),
            None
        );
        let d = Debuginfod::from_vars(vars(&[
            (
                "DEBUGINFOD_URLS",
                "https://a.example/ http://b.example:8002\thttp://c",
            ),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
            ("DEBUGINFOD_TIMEOUT", "5"),
        ]))
        .unwrap();
        assert_eq!(
            d.urls,
            ["https://a.example", "http://b.example:8002", "http://c"]
        );
        assert_eq!(d.cache, Path::new("/xdg/debuginfod_client"));
        assert_eq!(d.timeout, Duration::from_secs(5));
        assert_eq!(d.max_time, None);
        assert_eq!(d.max_size, 1 << 30);
        let d = Debuginfod::from_vars(vars(&[
            ("DEBUGINFOD_URLS", "http://a"),
            ("DEBUGINFOD_CACHE_PATH", "/c"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("DEBUGINFOD_TIMEOUT", "soon"),
            ("DEBUGINFOD_MAXTIME", "60"),
            ("DEBUGINFOD_MAXSIZE", "1000"),
        ]))
        .unwrap();
        assert_eq!(d.cache, Path::new("/c"));
        assert_eq!(d.timeout, Duration::from_secs(90));
        assert_eq!(d.max_time, Some(Duration::from_secs(60)));
        assert_eq!(d.max_size, 1000);
        let d = Debuginfod::from_vars(vars(&[("DEBUGINFOD_URLS", "http://a"), ("HOME", "/h")]))
            .unwrap();
        assert_eq!(d.cache, Path::new("/h/.cache/debuginfod_client"));
        assert_eq!(
            d.cached_path(&[0xab, 0xcd, 0x01]),
            Path::new("/h/.cache/debuginfod_client/abcd01/debuginfo")
        );
        assert_eq!(
            Debuginfod::url("http://a", &[0xab, 0x01]),
            "http://a/buildid/ab01/debuginfo"
        );
    }

    /// An unreachable server is a plain failure, and is not asked again.
    #[test]
    fn an_unreachable_server_is_said_plainly_and_skipped_after() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = Debuginfod {
            urls: vec![format!("http://127.0.0.1:{port}")],
            cache: dir.path().to_path_buf(),
            timeout: Duration::from_secs(5),
            max_time: None,
            max_size: 1 << 20,
        };
        let mut dead = Vec::new();
        let Fetched::Failed(why) = d.fetch(&[1, 2, 3, 4], &mut dead) else {
            panic!("not a failure");
        };
        assert!(why.contains("/buildid/01020304/debuginfo"), "{why}");
        assert!(why.contains("cannot reach"), "{why}");
        assert_eq!(dead.len(), 1);
        let Fetched::Failed(why) = d.fetch(&[5, 6], &mut dead) else {
            panic!("not a failure");
        };
        assert!(why.contains("skipped"), "{why}");
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
