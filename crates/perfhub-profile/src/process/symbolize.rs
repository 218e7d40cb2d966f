//! Naming the addresses of sampled call chains, from the binaries they ran.
//!
//! Each address is turned into an offset in the file mapped there, and the
//! offsets of one file are symbolized in one `blazesym` call (ELF symbols,
//! DWARF, inlined frames), so a large binary is parsed once per profile.
//! An address no symbol covers becomes `module+0xoffset`; one outside every
//! known mapping is kept as a bare address: no frame is dropped.
//!
//! Addresses in anonymous executable memory (JIT-compiled code) are named
//! by the process's perf map, `/tmp/perf-PID.map` (see `perfmap`), read
//! while the command runs and once more at the end; one the map does not
//! name (or with no map) becomes `[anon]`.
//!
//! Names are demangled only where they carry a mangling prefix (see
//! `demangle`); blazesym's own demangling is off.
//!
//! Loading a binary's symbols (decompressing and indexing its DWARF) is most
//! of the cost, so it starts while the command still runs: a symbolizer
//! thread loads each executable file as soon as the drain thread sees it
//! mapped, and names the addresses once the command has ended.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use perfhub_flame::{StackProfile, WeightUnit};

use super::demangle::demangle;
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
}

/// The name of an address in JIT code that the perf map does not name.
pub(crate) const UNNAMED_JIT: &str = "[anon]";

enum Job {
    /// Load this file's symbols now; the offset is one of its code.
    Load(PathBuf, u64),
    /// Name these offsets (addresses, for JIT code) now.
    Name(Code, Vec<u64>),
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
    /// Time spent loading and naming, in all.
    pub total: Duration,
    /// Of which after the command ended.
    pub after: Duration,
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
}

/// The symbolizer thread.
pub(crate) struct SymbolizerThread {
    tx: Sender<Job>,
    handle: JoinHandle<Option<Named>>,
}

impl SymbolizerThread {
    pub fn start() -> io::Result<SymbolizerThread> {
        let (tx, rx) = channel();
        let handle = std::thread::Builder::new()
            .name("perfhub-symbolize".into())
            .spawn(move || serve(&rx))?;
        Ok(SymbolizerThread { tx, handle })
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
                symbolize_here(*raw, off_cpu, started)
            }
            _ => symbolize_here(Raw::default(), off_cpu, started),
        }
    }
}

/// Names `raw` on this thread, without anything loaded beforehand.
pub(crate) fn symbolize_here(raw: Raw, off_cpu: bool, started: Instant) -> Named {
    finish(&mut Namer::new(), raw, off_cpu, started, Duration::ZERO)
}

fn finish(namer: &mut Namer, raw: Raw, off_cpu: bool, started: Instant, before: Duration) -> Named {
    let stacks = namer.stacks(&raw, &raw.chains, WeightUnit::Samples);
    let off_cpu = off_cpu.then(|| super::offcpu::profile(namer, &raw));
    let after = started.elapsed();
    Named {
        raw,
        stacks,
        off_cpu,
        total: before + after,
        after,
    }
}

fn serve(rx: &Receiver<Job>) -> Option<Named> {
    let mut namer = Namer::new();
    let mut total = Duration::ZERO;
    while let Ok(job) = rx.recv() {
        let started = Instant::now();
        match job {
            // The drain thread asks once per file. The name is not needed
            // yet: the symbolizer keeps the parsed file for the real lookups.
            Job::Load(path, offset) => namer.name(&path, &[offset]),
            Job::Name(code, offsets) => namer.name_in(&code, &offsets),
            Job::Finish(raw, with_off_cpu) => {
                return Some(finish(&mut namer, *raw, with_off_cpu, started, total));
            }
        }
        total += started.elapsed();
    }
    None
}

/// The file and file offset that `addr` of `pid` falls in, or the process's
/// JIT code and the address itself; the latest mapping covering it wins.
pub(crate) fn locate(
    maps: &HashMap<u32, Vec<super::Mapping>>,
    pid: u32,
    addr: u64,
) -> Option<(Code, u64)> {
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

/// Names file offsets, remembering every name it found, and JIT code by the
/// perf maps read so far.
pub(crate) struct Namer {
    symbolizer: Symbolizer,
    names: HashMap<(PathBuf, u64), Vec<String>>,
    perf_maps: HashMap<u32, PerfMap>,
}

impl Namer {
    pub fn new() -> Namer {
        Namer {
            // blazesym would run every name through a C++ demangler, which
            // reads a C function `f` as the type `float`: names are
            // demangled here, only those with a mangling prefix.
            symbolizer: Symbolizer::builder().enable_demangling(false).build(),
            names: HashMap::new(),
            perf_maps: HashMap::new(),
        }
    }

    /// Names these offsets of `code` not named yet; for JIT code, reads
    /// what the process added to its perf map since last time (the names
    /// are looked up at the end, when the map is complete).
    pub fn name_in(&mut self, code: &Code, offsets: &[u64]) {
        match code {
            Code::File(path) => self.name(path, offsets),
            Code::Jit(pid) => self.read_perf_map(*pid),
        }
    }

    fn read_perf_map(&mut self, pid: u32) {
        self.perf_maps
            .entry(pid)
            .or_default()
            .refresh(&perfmap::path_of(pid));
    }

    /// The names of what `key` locates, if it is named.
    fn names_of(&self, key: (Code, u64)) -> Option<Vec<String>> {
        match key {
            (Code::File(path), off) => self.names.get(&(path, off)).cloned(),
            (Code::Jit(pid), addr) => Some(vec![
                self.perf_maps
                    .get(&pid)
                    .and_then(|m| m.lookup(addr))
                    .unwrap_or(UNNAMED_JIT)
                    .to_string(),
            ]),
        }
    }

    /// Names the offsets of `path` not named yet, in one blazesym call:
    /// blazesym parses a file once.
    pub fn name(&mut self, path: &std::path::Path, offsets: &[u64]) {
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
        let unknown = |off: &u64| vec![format!("{module}+{off:#x}")];
        let names: Vec<Vec<String>> = if path.is_file() {
            match self
                .symbolizer
                .symbolize(&Source::Elf(Elf::new(path)), Input::FileOffset(&offsets))
            {
                Ok(results) => results
                    .into_iter()
                    .zip(&offsets)
                    .map(|(r, off)| match r {
                        Symbolized::Sym(sym) => {
                            let mut frames = vec![demangle(&sym.name).into_owned()];
                            frames
                                .extend(sym.inlined.iter().map(|f| demangle(&f.name).into_owned()));
                            frames
                        }
                        Symbolized::Unknown(_) => unknown(off),
                    })
                    .collect(),
                Err(_) => offsets.iter().map(unknown).collect(),
            }
        } else {
            offsets.iter().map(unknown).collect()
        };
        for (off, frames) in offsets.iter().zip(names) {
            self.names.insert((path.to_path_buf(), *off), frames);
        }
    }

    /// Names every address of `chains` (per pid, leaf first, with weights
    /// in `unit`) with `raw`'s mappings and command names.
    pub fn stacks(
        &mut self,
        raw: &Raw,
        chains: &HashMap<(u32, Vec<u64>), u64>,
        unit: WeightUnit,
    ) -> StackProfile {
        let mut wanted: HashMap<Code, Vec<u64>> = HashMap::new();
        for (pid, chain) in chains.keys() {
            for (i, &addr) in chain.iter().enumerate() {
                if let Some((code, off)) = locate(&raw.maps, *pid, lookup_address(i, addr)) {
                    wanted.entry(code).or_default().push(off);
                }
            }
        }
        for (code, offsets) in wanted {
            self.name_in(&code, &offsets);
        }
        let mut stacks = StackProfile::new(unit);
        for ((pid, chain), count) in chains {
            let mut frames = vec![
                raw.comms
                    .get(pid)
                    .cloned()
                    .unwrap_or_else(|| format!("pid {pid}")),
            ];
            for (i, &addr) in chain.iter().enumerate().rev() {
                match locate(&raw.maps, *pid, lookup_address(i, addr))
                    .and_then(|key| self.names_of(key))
                {
                    Some(names) => frames.extend(names),
                    None => frames.push(format!("{addr:#x}")),
                }
            }
            stacks.add(frames, *count);
        }
        stacks
    }
}
