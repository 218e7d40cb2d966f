//! Naming the addresses of sampled call chains, from the binaries they ran.
//!
//! Each address is turned into an offset in the file mapped there, and the
//! offsets of one file are symbolized in one `blazesym` call (ELF symbols,
//! DWARF, inlined frames), so a large binary is parsed once per profile.
//! A stripped binary is named from its separate debug file, found by
//! build-id or `.gnu_debuglink` (see `debuginfo`), where there is one.
//! An address no symbol covers becomes `module+0xSTART` when the unwind
//! information (`.eh_frame`) bounds a function around it, START being that
//! function's file offset, so a function's addresses share one name; else
//! `module+0xoffset`. One outside every known mapping is kept as a bare
//! address: no frame is dropped.
//!
//! Addresses in anonymous executable memory (JIT-compiled code) are named
//! by the process's perf map, `/tmp/perf-PID.map` (see `perfmap`), else by
//! the jitdump file it maps, `jit-PID.dump` (see `jitdump`), each read
//! while the command runs and once more at the end; one neither names (or
//! with neither) becomes `[anon]`.
//!
//! Names are demangled only where they carry a mangling prefix (see
//! `demangle`); blazesym's own demangling is off.
//!
//! Kernel addresses (the kernel's part of a chain, with kernel frames on)
//! are named from `/proc/kallsyms`, read once, when the first one is seen
//! (see `kernel`).
//!
//! Loading a binary's symbols (decompressing and indexing its DWARF) is most
//! of the cost, so it starts while the command still runs: a symbolizer
//! thread loads each executable file as soon as the drain thread sees it
//! mapped, and names the addresses once the command has ended. It does so
//! only on a CPU nothing else wants: while every CPU is taken (more runnable
//! threads than the CPUs perfhub may use), the work waits, and what is still
//! waiting when the command ends is done then. On a busy machine the loading
//! would otherwise take CPU time from the profiled command (tens of
//! milliseconds for CPython's DWARF, more than the Python frame reader's
//! whole cost at 100 Hz), and `perfhub profile` would slow down what it
//! measures; on a machine with a spare CPU nothing changes. JIT perf maps
//! are read at once, as before: the map may be gone when the command ends.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use perfhub_core::report::Note;
use perfhub_flame::{StackProfile, WeightUnit};

use super::SymbolConfig;
use super::debuginfo::{Debuginfod, ElfHeaders, Fetched, FunctionBounds};
use super::demangle::demangle;
use super::jitdump::JitDump;
use super::kernel::{self, Kallsyms};
use super::perfmap::{self, PerfMap};
use super::record::Raw;

/// Where code lives: what an address is looked up in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Code {
    /// A mapped file: addresses become file offsets, named by its symbols.
    File(PathBuf),
    /// Anonymous executable memory of this process (JIT code): addresses
    /// stay addresses, named by its perf map.
    Jit(u32),
    /// The kernel: addresses stay addresses, named by `/proc/kallsyms`.
    Kernel,
}

/// The name of an address in JIT code that the perf map does not name.
pub(crate) const UNNAMED_JIT: &str = "[anon]";

enum Job {
    /// Load this file's symbols now; the offset is one of its code.
    Load(PathBuf, u64),
    /// Name these offsets (addresses, for JIT code) now.
    Name(Code, Vec<u64>),
    /// This process maps this jitdump file: read it now.
    JitDump(u32, PathBuf),
    /// Name everything, with an off-CPU profile or not.
    Finish(Box<Raw>, bool),
}

/// What the symbolizer thread hands back.
pub(crate) struct Named {
    pub raw: Raw,
    /// The CPU samples, named.
    pub stacks: StackProfile,
    /// The off-CPU time, named, when asked for.
    pub off_cpu: Option<StackProfile>,
    /// The CPU samples in time order, per thread.
    pub threads: super::ThreadSamples,
    /// Binaries named from a separate debug file, and that file.
    pub debug_files: Vec<(PathBuf, PathBuf)>,
    /// Binaries some of whose frames were named by function bounds from
    /// their unwind information, for want of symbols.
    pub unwind_bounds: Vec<PathBuf>,
    /// Time spent loading and naming, in all.
    pub total: Duration,
    /// Of which after the command ended.
    pub after: Duration,
    /// What the report should say of how frames were named: kernel symbols
    /// hidden or unreadable, debuginfod downloads and failures.
    pub notes: Vec<Note>,
}

/// Tells the symbolizer thread which files the profiled processes map.
#[derive(Clone)]
pub(crate) struct Loader {
    tx: Sender<Job>,
}

impl Loader {
    /// Asks for `path`'s symbols to be loaded; `offset` is in its code.
    pub fn load(&self, path: PathBuf, offset: u64) {
        // A closed channel means the profile is over: nothing to load.
        let _ = self.tx.send(Job::Load(path, offset));
    }

    /// Asks for these offsets of `code` to be named now.
    pub fn name(&self, code: Code, offsets: Vec<u64>) {
        let _ = self.tx.send(Job::Name(code, offsets));
    }

    /// Says that process `pid` maps the jitdump file `path`.
    pub fn jitdump(&self, pid: u32, path: PathBuf) {
        let _ = self.tx.send(Job::JitDump(pid, path));
    }
}

/// The symbolizer thread.
pub(crate) struct SymbolizerThread {
    tx: Sender<Job>,
    symbols: SymbolConfig,
    handle: JoinHandle<Option<Named>>,
}

impl SymbolizerThread {
    /// Starts the thread; separate debug files are looked for where
    /// `symbols` says.
    pub fn start(symbols: SymbolConfig) -> io::Result<SymbolizerThread> {
        let (tx, rx) = channel();
        let config = symbols.clone();
        let handle = std::thread::Builder::new()
            .name("perfhub-symbolize".into())
            .spawn(move || serve(&rx, config))?;
        Ok(SymbolizerThread {
            tx,
            symbols,
            handle,
        })
    }

    pub fn loader(&self) -> Loader {
        Loader {
            tx: self.tx.clone(),
        }
    }

    /// Names `raw`'s call chains, and its off-CPU intervals with `off_cpu`.
    pub fn finish(self, raw: Raw, off_cpu: bool) -> Named {
        let started = Instant::now();
        let sent = self.tx.send(Job::Finish(Box::new(raw), off_cpu));
        drop(self.tx);
        match (sent, self.handle.join()) {
            (Ok(()), Ok(Some(done))) => done,
            // The thread is gone (it panicked): name nothing rather than
            // lose the run; the raw data went with it.
            (Err(std::sync::mpsc::SendError(Job::Finish(raw, _))), _) => {
                symbolize_here(*raw, off_cpu, started, self.symbols)
            }
            _ => symbolize_here(Raw::default(), off_cpu, started, self.symbols),
        }
    }
}

/// Names `raw` on this thread, without anything loaded beforehand.
pub(crate) fn symbolize_here(
    raw: Raw,
    off_cpu: bool,
    started: Instant,
    symbols: SymbolConfig,
) -> Named {
    finish(
        &mut Namer::new(symbols),
        raw,
        off_cpu,
        started,
        Duration::ZERO,
    )
}

fn finish(namer: &mut Namer, raw: Raw, off_cpu: bool, started: Instant, before: Duration) -> Named {
    let stacks = namer.stacks(
        &raw,
        raw.chains.iter().map(|(key, c)| (key, c.count)),
        WeightUnit::Samples,
    );
    let threads = super::firefox::thread_samples(namer, &raw);
    let off_cpu = off_cpu.then(|| super::offcpu::profile(namer, &raw));
    let after = started.elapsed();
    let (debug_files, unwind_bounds) = namer.sources();
    let notes = namer.notes();
    Named {
        raw,
        stacks,
        off_cpu,
        threads,
        debug_files,
        unwind_bounds,
        total: before + after,
        after,
        notes,
    }
}

/// How soon work put off for want of a spare CPU first looks for one
/// again; each look that finds none doubles the wait, up to
/// [`LOOK_AT_MOST_EVERY`] (each look wakes this thread, a context switch on
/// a CPU the command wants).
const LOOK_AGAIN: Duration = Duration::from_millis(20);
const LOOK_AT_MOST_EVERY: Duration = Duration::from_millis(320);

fn serve(rx: &Receiver<Job>, symbols: SymbolConfig) -> Option<Named> {
    let mut namer = Namer::new(symbols);
    let mut total = Duration::ZERO;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Work put off while every CPU is taken, in the order it came.
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut look_again = LOOK_AGAIN;
    loop {
        let next = if waiting.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(look_again)
        };
        match next {
            Ok(Job::Finish(raw, with_off_cpu)) => {
                // The command has ended: what waited is done now.
                let started = Instant::now();
                for job in waiting.drain(..) {
                    run(&mut namer, job);
                }
                return Some(finish(&mut namer, *raw, with_off_cpu, started, total));
            }
            // A perf map is read at once: it may be gone at the end.
            Ok(job @ (Job::Name(Code::Jit(_), _) | Job::JitDump(..))) => {
                let started = Instant::now();
                run(&mut namer, job);
                total += started.elapsed();
            }
            Ok(job) => waiting.push_back(job),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
        let mut ran = false;
        while !waiting.is_empty() && spare_cpu(cpus) {
            let started = Instant::now();
            if let Some(job) = waiting.pop_front() {
                run(&mut namer, job);
            }
            total += started.elapsed();
            ran = true;
        }
        look_again = if ran {
            LOOK_AGAIN
        } else {
            (look_again * 2).min(LOOK_AT_MOST_EVERY)
        };
    }
}

/// Does a job other than [`Job::Finish`].
fn run(namer: &mut Namer, job: Job) {
    match job {
        // The drain thread asks once per file. The name is not needed yet:
        // the symbolizer keeps the parsed file for the real lookups.
        Job::Load(path, offset) => namer.name(&path, &[offset]),
        Job::Name(code, offsets) => namer.name_in(&code, &offsets),
        Job::JitDump(pid, path) => namer.add_jitdump(pid, path),
        Job::Finish(..) => {}
    }
}

/// Whether a CPU is free for this thread: no more threads are runnable
/// (this one included) than there are CPUs to run on, as `/proc/loadavg`
/// counts them right now (the whole machine's, so with fewer CPUs allowed
/// than the machine has, rarely: the work then waits for the end).
fn spare_cpu(cpus: usize) -> bool {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| runnable(&text))
        .is_none_or(|running| running <= cpus)
}

/// The threads runnable now, from the text of `/proc/loadavg`
/// (`0.52 0.58 0.59 3/467 12345`: 3).
fn runnable(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split_once('/')?
        .0
        .parse()
        .ok()
}

/// The file and file offset that `addr` of `pid` falls in, or the process's
/// JIT code and the address itself, or the kernel and the address itself;
/// the latest mapping covering it wins.
pub(crate) fn locate(
    maps: &HashMap<u32, Vec<super::Mapping>>,
    pid: u32,
    addr: u64,
) -> Option<(Code, u64)> {
    if kernel::is_kernel_address(addr) {
        return Some((Code::Kernel, addr));
    }
    maps.get(&pid)?
        .iter()
        .rev()
        .find(|m| (m.start..m.end).contains(&addr))
        .map(|m| {
            if m.is_anonymous() {
                (Code::Jit(pid), addr)
            } else {
                (Code::File(m.path.clone()), addr - m.start + m.pgoff)
            }
        })
}

/// The address to name for the `i`th entry of a leaf-first chain: a return
/// address points after its call, so the call itself is one byte before.
pub(crate) fn lookup_address(i: usize, addr: u64) -> u64 {
    if i == 0 { addr } else { addr.saturating_sub(1) }
}

/// Where a file offset's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The binary's own symbols or DWARF.
    Own,
    /// Its separate debug file.
    DebugFile,
    /// The bounds of the function around it, from the unwind information:
    /// `module+0xSTART`.
    Unwind,
    /// Nothing: `module+0xoffset`.
    Unknown,
}

/// What the namer knows of one mapped file.
struct FileInfo {
    headers: Option<ElfHeaders>,
    /// Its separate debug file, where one was found.
    debug_file: Option<PathBuf>,
    /// Files found where its debug file was looked for that were not it,
    /// and why.
    rejected: Vec<(PathBuf, String)>,
    /// Its function bounds, read when first needed.
    bounds: Option<Option<FunctionBounds>>,
}

/// Names file offsets, remembering every name it found, and JIT code by the
/// perf maps read so far.
pub(crate) struct Namer {
    symbolizer: Symbolizer,
    debug_dirs: Vec<PathBuf>,
    /// Where to ask for debug files found nowhere else.
    debuginfod: Option<Debuginfod>,
    /// Servers that could not be reached, not asked again, and why.
    dead_servers: Vec<(String, String)>,
    /// Each binary debuginfod was asked about, its build-id and the answer.
    debuginfod_log: Vec<(PathBuf, String, Fetched)>,
    /// The binaries some sampled frame is in.
    sampled: BTreeSet<PathBuf>,
    /// The kernel's symbols, read at the first kernel address.
    kernel: Option<Result<Kallsyms, String>>,
    files: HashMap<PathBuf, FileInfo>,
    names: HashMap<(PathBuf, u64), (Vec<String>, Origin)>,
    perf_maps: HashMap<u32, PerfMap>,
    jit_dumps: HashMap<u32, JitDump>,
    /// The vDSO's image, copied out of perfhub's own memory into a
    /// temporary file on first use (`None` inside when it could not be).
    vdso: Option<Option<tempfile::NamedTempFile>>,
    /// The binaries whose sampled frames were named by a separate debug
    /// file, and that file.
    used_debug_files: BTreeMap<PathBuf, PathBuf>,
    /// The binaries some of whose sampled frames were named by function
    /// bounds from the unwind information.
    used_unwind_bounds: BTreeSet<PathBuf>,
}

impl Namer {
    /// A namer that looks for separate debug files where `symbols` says
    /// (and beside each binary).
    pub fn new(symbols: SymbolConfig) -> Namer {
        let SymbolConfig {
            debug_dirs,
            debuginfod,
        } = symbols;
        Namer {
            // blazesym would run every name through a C++ demangler, which
            // reads a C function `f` as the type `float`: names are
            // demangled here, only those with a mangling prefix. Its own
            // debug-link search looks where perfhub's does.
            symbolizer: Symbolizer::builder()
                .enable_demangling(false)
                .set_debug_dirs(Some(&debug_dirs))
                .build(),
            debug_dirs,
            debuginfod,
            dead_servers: Vec::new(),
            debuginfod_log: Vec::new(),
            sampled: BTreeSet::new(),
            kernel: None,
            files: HashMap::new(),
            names: HashMap::new(),
            perf_maps: HashMap::new(),
            jit_dumps: HashMap::new(),
            vdso: None,
            used_debug_files: BTreeMap::new(),
            used_unwind_bounds: BTreeSet::new(),
        }
    }

    /// Names these offsets of `code` not named yet; for JIT code, reads
    /// what the process added to its perf map and jitdump file since last
    /// time (the names are looked up at the end, when they are complete).
    pub fn name_in(&mut self, code: &Code, offsets: &[u64]) {
        match code {
            Code::File(path) => self.name(path, offsets),
            Code::Jit(pid) => self.read_perf_map(*pid),
            Code::Kernel => {
                self.kallsyms();
            }
        }
    }

    /// The kernel's symbols, read on first use.
    fn kallsyms(&mut self) -> Option<&Kallsyms> {
        self.kernel.get_or_insert_with(Kallsyms::read).as_ref().ok()
    }

    fn read_perf_map(&mut self, pid: u32) {
        self.perf_maps
            .entry(pid)
            .or_default()
            .refresh(&perfmap::path_of(pid));
        if let Some(dump) = self.jit_dumps.get_mut(&pid) {
            dump.refresh();
        }
    }

    /// Reads the jitdump file process `pid` maps (the first one it maps).
    pub fn add_jitdump(&mut self, pid: u32, path: PathBuf) {
        self.jit_dumps
            .entry(pid)
            .or_insert_with(|| JitDump::new(path))
            .refresh();
    }

    /// The names of what `key` locates, if it is named; notes which way
    /// of naming a file's frames was used.
    fn names_of(&mut self, key: (Code, u64)) -> Option<Vec<String>> {
        match key {
            (Code::File(path), off) => {
                let (names, origin) = self.names.get(&(path.clone(), off))?;
                let names = names.clone();
                if !self.sampled.contains(&path) {
                    self.sampled.insert(path.clone());
                }
                match origin {
                    Origin::DebugFile => {
                        if let Some(debug) =
                            self.files.get(&path).and_then(|f| f.debug_file.clone())
                        {
                            self.used_debug_files.insert(path, debug);
                        }
                    }
                    Origin::Unwind => {
                        self.used_unwind_bounds.insert(path);
                    }
                    Origin::Own | Origin::Unknown => {}
                }
                Some(names)
            }
            (Code::Jit(pid), addr) => Some(vec![
                self.perf_maps
                    .get(&pid)
                    .and_then(|m| m.lookup(addr))
                    .or_else(|| self.jit_dumps.get(&pid)?.lookup(addr))
                    .unwrap_or(UNNAMED_JIT)
                    .to_string(),
            ]),
            (Code::Kernel, addr) => Some(vec![match self.kallsyms() {
                Some(k) => k.frame(addr),
                None => kernel::UNKNOWN.to_string(),
            }]),
        }
    }

    /// What is known of `path`, read on first use: its headers, and its
    /// separate debug file, from the debug directories or else from
    /// debuginfod.
    fn file_info(&mut self, path: &Path) -> &mut FileInfo {
        if !self.files.contains_key(path) {
            let headers = ElfHeaders::read(path);
            let mut rejected = Vec::new();
            let mut debug_file = headers
                .as_ref()
                .filter(|h| h.may_have_debug_file())
                .and_then(|h| h.find_debug_file(path, &self.debug_dirs, &mut rejected));
            if debug_file.is_none()
                && let Some(debuginfod) = &self.debuginfod
                && let Some(id) = headers
                    .as_ref()
                    .filter(|h| h.wants_debuginfod())
                    .and_then(ElfHeaders::build_id)
            {
                let fetched = debuginfod.fetch(id, &mut self.dead_servers);
                if let Fetched::Cached(file) | Fetched::Downloaded { path: file, .. } = &fetched {
                    debug_file = Some(file.clone());
                }
                self.debuginfod_log
                    .push((path.to_path_buf(), super::debuginfo::hex(id), fetched));
            }
            let info = FileInfo {
                headers,
                debug_file,
                rejected,
                bounds: None,
            };
            self.files.insert(path.to_path_buf(), info);
        }
        self.files.get_mut(path).expect("inserted above")
    }

    /// What the report should say of kernel symbols and debuginfod.
    pub fn notes(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        match &self.kernel {
            Some(Err(why)) => notes.push(Note::warning("kernel_symbols", why.clone())),
            Some(Ok(k)) if k.hidden() => {
                let (kptr_restrict, paranoid) = kernel::restrictions();
                notes.push(Note::warning(
                    "kernel_symbols",
                    kernel::hidden_reason(kptr_restrict, paranoid),
                ));
            }
            _ => {}
        }
        for binary in &self.sampled {
            let Some(info) = self.files.get(binary).filter(|i| i.debug_file.is_none()) else {
                continue;
            };
            for (candidate, why) in &info.rejected {
                notes.push(Note::warning(
                    "debug_file_rejected",
                    format!(
                        "{}: {} is not its debug file ({why}), so it was not used",
                        binary.display(),
                        candidate.display()
                    ),
                ));
            }
        }
        for (server, why) in &self.dead_servers {
            notes.push(Note::warning(
                "debuginfod_failed",
                format!(
                    "debuginfod server {server} failed ({why}) and was not asked again in this profile"
                ),
            ));
        }
        let mut not_found = Vec::new();
        for (binary, id, fetched) in &self.debuginfod_log {
            let sampled = self.sampled.contains(binary);
            match fetched {
                Fetched::Downloaded { url, path } => notes.push(Note::info(
                    "debuginfod",
                    format!(
                        "{}: debug file (build-id {id}) downloaded from {url} into {}",
                        binary.display(),
                        path.display()
                    ),
                )),
                Fetched::Cached(path) if sampled => notes.push(Note::info(
                    "debuginfod",
                    format!(
                        "{}: debug file (build-id {id}) from the debuginfod cache, {}",
                        binary.display(),
                        path.display()
                    ),
                )),
                Fetched::NotFound if sampled => not_found.push(binary.display().to_string()),
                Fetched::Failed(why) if sampled => notes.push(Note::warning(
                    "debuginfod_failed",
                    format!(
                        "{} (build-id {id}): no debug file from debuginfod: {why}; its frames are named without one",
                        binary.display()
                    ),
                )),
                _ => {}
            }
        }
        if !not_found.is_empty() {
            let servers = self
                .debuginfod
                .as_ref()
                .map(|d| d.urls.join(" "))
                .unwrap_or_default();
            notes.push(Note::info(
                "debuginfod_not_found",
                format!(
                    "no debuginfod server ({servers}) has debug info for {}",
                    not_found.join(", ")
                ),
            ));
        }
        notes
    }

    /// Names the offsets of `path` not named yet, in one blazesym call:
    /// blazesym parses a file once. The separate debug file names them
    /// first, where there is one, then the binary's own symbols, then the
    /// bounds of the functions in its unwind information.
    pub fn name(&mut self, path: &Path, offsets: &[u64]) {
        // The vDSO is no file: its names come from a copy of its image.
        let vdso = (path.as_os_str() == super::VDSO)
            .then(|| self.vdso_image())
            .flatten();
        let mut offsets: Vec<u64> = offsets
            .iter()
            .copied()
            .filter(|off| !self.names.contains_key(&(path.to_path_buf(), *off)))
            .collect();
        if offsets.is_empty() {
            return;
        }
        offsets.sort_unstable();
        offsets.dedup();
        let module = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut names: Vec<Option<(Vec<String>, Origin)>> = vec![None; offsets.len()];
        if let Some(image) = &vdso {
            for (name, frames) in
                names
                    .iter_mut()
                    .zip(self.symbols(image, false, Input::FileOffset(&offsets)))
            {
                *name = frames.map(|f| (f, Origin::Own));
            }
        } else if path.is_file() {
            let info = self.file_info(path);
            let headers = info.headers.clone();
            let debug_file = info.debug_file.clone();
            if let (Some(headers), Some(debug_file)) = (&headers, &debug_file) {
                let todo: Vec<(usize, u64)> = offsets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, off)| Some((i, headers.address_of(*off)?)))
                    .collect();
                let addresses: Vec<u64> = todo.iter().map(|(_, a)| *a).collect();
                for ((i, _), frames) in
                    todo.iter()
                        .zip(self.symbols(debug_file, true, Input::VirtOffset(&addresses)))
                {
                    names[*i] = frames.map(|f| (f, Origin::DebugFile));
                }
            }
            let todo: Vec<usize> = (0..offsets.len()).filter(|i| names[*i].is_none()).collect();
            if !todo.is_empty() {
                let wanted: Vec<u64> = todo.iter().map(|i| offsets[*i]).collect();
                // With a debug file found, the binary's own DWARF is gone;
                // without, blazesym looks for one too, and a stale one it
                // rejects fails the whole file: then its symbols alone.
                let mut own = self.symbols(path, debug_file.is_none(), Input::FileOffset(&wanted));
                if own.is_empty() && debug_file.is_none() {
                    own = self.symbols(path, false, Input::FileOffset(&wanted));
                }
                for (i, frames) in todo.iter().zip(own) {
                    names[*i] = frames.map(|f| (f, Origin::Own));
                }
            }
            if names.iter().any(Option::is_none)
                && let Some(headers) = &headers
            {
                let info = self.file_info(path);
                let bounds = info
                    .bounds
                    .get_or_insert_with(|| FunctionBounds::read(path));
                if let Some(bounds) = bounds {
                    for (name, off) in names.iter_mut().zip(&offsets) {
                        if name.is_some() {
                            continue;
                        }
                        let Some(start) = headers.address_of(*off).and_then(|a| bounds.start_of(a))
                        else {
                            continue;
                        };
                        // A file offset, as every `module+0x…` name is.
                        let start = headers.offset_of(start).unwrap_or(start);
                        *name = Some((vec![format!("{module}+{start:#x}")], Origin::Unwind));
                    }
                }
            }
        }
        for (off, name) in offsets.iter().zip(names) {
            let name =
                name.unwrap_or_else(|| (vec![format!("{module}+{off:#x}")], Origin::Unknown));
            self.names.insert((path.to_path_buf(), *off), name);
        }
    }

    /// Where the vDSO's image was copied, on first use: the vDSO is the
    /// same in every process of one kernel (and one ABI), so perfhub's own
    /// is read, from `/proc/self/mem`, as perf does.
    fn vdso_image(&mut self) -> Option<PathBuf> {
        self.vdso
            .get_or_insert_with(|| {
                use std::io::{Read, Seek, SeekFrom, Write};
                let vdso = super::record::read_maps(std::process::id())
                    .into_iter()
                    .find(|m| m.path.as_os_str() == super::VDSO)?;
                let mut image = vec![0; usize::try_from(vdso.end.checked_sub(vdso.start)?).ok()?];
                let mut mem = std::fs::File::open("/proc/self/mem").ok()?;
                mem.seek(SeekFrom::Start(vdso.start)).ok()?;
                mem.read_exact(&mut image).ok()?;
                let mut file = tempfile::Builder::new()
                    .prefix("perfhub-vdso-")
                    .tempfile()
                    .ok()?;
                file.write_all(&image).ok()?;
                Some(file)
            })
            .as_ref()
            .map(|f| f.path().to_path_buf())
    }

    /// The frames (outermost first, then inlined ones) that blazesym names
    /// `input` of the ELF file `path` with, one entry per address; nothing
    /// if it fails.
    fn symbols(
        &self,
        path: &Path,
        debug_syms: bool,
        input: Input<&[u64]>,
    ) -> Vec<Option<Vec<String>>> {
        let mut elf = Elf::new(path);
        elf.debug_syms = debug_syms;
        match self.symbolizer.symbolize(&Source::Elf(elf), input) {
            Ok(results) => results
                .into_iter()
                .map(|r| match r {
                    Symbolized::Sym(sym) => {
                        let mut frames = vec![demangle(&sym.name).into_owned()];
                        frames.extend(sym.inlined.iter().map(|f| demangle(&f.name).into_owned()));
                        Some(frames)
                    }
                    Symbolized::Unknown(_) => None,
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The binaries named from a separate debug file (with that file), and
    /// those named in part by function bounds from unwind information, in
    /// the frames named so far by [`Namer::stacks`].
    pub fn sources(&self) -> (Vec<(PathBuf, PathBuf)>, Vec<PathBuf>) {
        (
            self.used_debug_files
                .iter()
                .map(|(b, d)| (b.clone(), d.clone()))
                .collect(),
            self.used_unwind_bounds.iter().cloned().collect(),
        )
    }

    /// Names every address of `chains` (per pid, leaf first, with weights
    /// in `unit`) with `raw`'s mappings and command names.
    pub fn stacks<'a>(
        &mut self,
        raw: &Raw,
        chains: impl Iterator<Item = (&'a (u32, Vec<u64>), u64)> + Clone,
        unit: WeightUnit,
    ) -> StackProfile {
        self.name_chains(raw, chains.clone().map(|(key, _)| key));
        let mut stacks = StackProfile::new(unit);
        for ((pid, chain), count) in chains {
            stacks.add(self.frames(raw, *pid, chain), count);
        }
        stacks
    }

    /// Names every address of `chains` (per pid, leaf first) not named yet.
    pub fn name_chains<'a>(
        &mut self,
        raw: &Raw,
        chains: impl Iterator<Item = &'a (u32, Vec<u64>)>,
    ) {
        let mut wanted: HashMap<Code, Vec<u64>> = HashMap::new();
        for (pid, chain) in chains {
            for (i, &addr) in chain.iter().enumerate() {
                if let Some((code, off)) = locate(&raw.maps, *pid, lookup_address(i, addr)) {
                    wanted.entry(code).or_default().push(off);
                }
            }
        }
        for (code, offsets) in wanted {
            self.name_in(&code, &offsets);
        }
    }

    /// The frames of `pid`'s `chain` (leaf first), root first, after the
    /// process's command name; addresses [`Namer::name_chains`] did not
    /// name are kept as bare addresses.
    pub fn frames(&mut self, raw: &Raw, pid: u32, chain: &[u64]) -> Vec<String> {
        let mut frames = vec![
            raw.comms
                .get(&pid)
                .cloned()
                .unwrap_or_else(|| format!("pid {pid}")),
        ];
        for (i, &addr) in chain.iter().enumerate().rev() {
            match locate(&raw.maps, pid, lookup_address(i, addr)).and_then(|key| self.names_of(key))
            {
                // Unnamed kernel frames in a row are one.
                Some(names)
                    if names.len() == 1
                        && names[0] == kernel::UNKNOWN
                        && frames.last().is_some_and(|f| f == kernel::UNKNOWN) => {}
                Some(names) => frames.extend(names),
                None => frames.push(format!("{addr:#x}")),
            }
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_threads_come_from_the_fourth_field_of_loadavg() {
        assert_eq!(runnable("0.52 0.58 0.59 3/467 12345\n"), Some(3));
        assert_eq!(runnable("7.07 5.62 3.80 12/1024 99"), Some(12));
        assert_eq!(runnable("0.52 0.58 0.59"), None);
        assert_eq!(runnable("0.52 0.58 0.59 x/467 1"), None);
    }
}
