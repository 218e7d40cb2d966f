//! Naming the addresses of sampled call chains, from the binaries they ran.
//!
//! Each address is turned into an offset in the file mapped there, and the
//! offsets of one file are symbolized in one `blazesym` call (ELF symbols,
//! DWARF, inlined frames), so a large binary is parsed once per profile.
//! An address no symbol covers becomes `module+0xoffset`; one outside every
//! known mapping is kept as a bare address: no frame is dropped.
//!
//! Loading a binary's symbols (decompressing and indexing its DWARF) is most
//! of the cost, so it starts while the command still runs: a symbolizer
//! thread loads each executable file as soon as the drain thread sees it
//! mapped, and names the addresses once the command has ended.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use perfhub_flame::{StackProfile, WeightUnit};

use super::record::Raw;

enum Job {
    /// Load this file's symbols now; the offset is one of its code.
    Load(PathBuf, u64),
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
    let symbolizer = Symbolizer::new();
    let stacks = symbolize_weighted(&symbolizer, &raw, &raw.chains, WeightUnit::Samples);
    let off_cpu = off_cpu.then(|| super::offcpu::profile(&symbolizer, &raw));
    Named {
        raw,
        stacks,
        off_cpu,
        total: started.elapsed(),
        after: started.elapsed(),
    }
}

fn serve(rx: &Receiver<Job>) -> Option<Named> {
    let symbolizer = Symbolizer::new();
    let mut loaded = HashSet::new();
    let mut total = Duration::ZERO;
    while let Ok(job) = rx.recv() {
        match job {
            Job::Load(path, offset) => {
                if loaded.insert(path.clone()) && path.is_file() {
                    let started = Instant::now();
                    // The result is not needed: the symbolizer keeps the
                    // parsed file for the real lookups.
                    let _ = symbolizer
                        .symbolize(&Source::Elf(Elf::new(&path)), Input::FileOffset(&[offset]));
                    total += started.elapsed();
                }
            }
            Job::Finish(raw, with_off_cpu) => {
                let started = Instant::now();
                let stacks =
                    symbolize_weighted(&symbolizer, &raw, &raw.chains, WeightUnit::Samples);
                let off_cpu = with_off_cpu.then(|| super::offcpu::profile(&symbolizer, &raw));
                let after = started.elapsed();
                return Some(Named {
                    raw: *raw,
                    stacks,
                    off_cpu,
                    total: total + after,
                    after,
                });
            }
        }
    }
    None
}

/// Names every address of `chains` (per pid, leaf first, with weights in
/// `unit`) with `raw`'s mappings and command names, one blazesym call per
/// file.
pub(crate) fn symbolize_weighted(
    symbolizer: &Symbolizer,
    raw: &Raw,
    chains: &HashMap<(u32, Vec<u64>), u64>,
    unit: WeightUnit,
) -> StackProfile {
    let mut cache: HashMap<(PathBuf, u64), Vec<String>> = HashMap::new();
    // Resolve each file's offsets in one call: blazesym parses a file once.
    let mut wanted: HashMap<PathBuf, Vec<u64>> = HashMap::new();
    let locate = |pid: u32, addr: u64| -> Option<(PathBuf, u64)> {
        // The latest mapping covering the address wins.
        raw.maps
            .get(&pid)?
            .iter()
            .rev()
            .find(|m| (m.start..m.end).contains(&addr))
            .map(|m| (m.path.clone(), addr - m.start + m.pgoff))
    };
    for (pid, chain) in chains.keys() {
        for (i, &addr) in chain.iter().enumerate() {
            let a = if i == 0 { addr } else { addr.saturating_sub(1) };
            if let Some((path, off)) = locate(*pid, a) {
                wanted.entry(path).or_default().push(off);
            }
        }
    }
    for (path, mut offsets) in wanted {
        offsets.sort_unstable();
        offsets.dedup();
        let module = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let names: Vec<Vec<String>> = if path.is_file() {
            match symbolizer.symbolize(&Source::Elf(Elf::new(&path)), Input::FileOffset(&offsets)) {
                Ok(results) => results
                    .into_iter()
                    .zip(&offsets)
                    .map(|(r, off)| match r {
                        Symbolized::Sym(sym) => {
                            let mut frames = vec![sym.name.to_string()];
                            frames.extend(sym.inlined.iter().map(|f| f.name.to_string()));
                            frames
                        }
                        Symbolized::Unknown(_) => vec![format!("{module}+{off:#x}")],
                    })
                    .collect(),
                Err(_) => offsets
                    .iter()
                    .map(|off| vec![format!("{module}+{off:#x}")])
                    .collect(),
            }
        } else {
            offsets
                .iter()
                .map(|off| vec![format!("{module}+{off:#x}")])
                .collect()
        };
        for (off, frames) in offsets.iter().zip(names) {
            cache.insert((path.clone(), *off), frames);
        }
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
            let a = if i == 0 { addr } else { addr.saturating_sub(1) };
            match locate(*pid, a) {
                Some(key) => match cache.get(&key) {
                    Some(names) => frames.extend(names.iter().cloned()),
                    None => frames.push(format!("{:#x}", addr)),
                },
                None => frames.push(format!("{addr:#x}")),
            }
        }
        stacks.add(frames, *count);
    }
    stacks
}
