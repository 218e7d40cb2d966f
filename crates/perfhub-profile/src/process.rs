//! CPU sampling of another command, with its threads and the processes it
//! starts, symbolized from the binaries it ran.
//!
//! The sampling events are opened on the spawning thread itself, one per
//! CPU, disabled, with `inherit` and `enable_on_exec`: the command (spawned
//! with `posix_spawn`) and everything it starts inherit them, and they start
//! counting at its `exec`, so perfhub's own start-up is never sampled.
//! Inherited events write into the spawning thread's ring buffers; a drain
//! thread reads the samples and the `mmap2`, `fork` and `comm` records that
//! say which file each address belongs to. After the command exits, the
//! addresses are turned into file offsets and symbolized with `blazesym`
//! (ELF symbols and DWARF, inlined frames included) without starting any
//! other tool; addresses no symbol covers are shown as `module+0xoffset`.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};
use perfhub_flame::{StackProfile, WeightUnit};
use perfhub_probe::counters::CounterPlan;
use perfhub_probe::spawn::{CommandSpec, PreparedCommand, ProcessRun, SpawnError};

/// How to profile a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandProfileConfig {
    /// Samples per second of CPU time, per thread.
    pub frequency_hz: u64,
}

impl Default for CommandProfileConfig {
    fn default() -> Self {
        CommandProfileConfig { frequency_hz: 999 }
    }
}

/// Why a command could not be profiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandProfileError {
    /// A frequency of 0 or above the maximum.
    #[error("sampling frequency {0} Hz is out of range (1 to {max} Hz)", max = crate::cpu::MAX_FREQUENCY_HZ)]
    Frequency(u64),
    /// The kernel refused perf_event_open.
    #[error("perf_event_open refused sampling: {0}")]
    Refused(String),
    /// The command could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Setting up the sampler failed.
    #[error("cannot set up sampling: {0}")]
    Io(#[from] io::Error),
}

/// The profile of one command run.
#[derive(Debug, Clone)]
pub struct CommandProfile {
    /// Samples by call stack (root first), symbolized; each stack starts
    /// with the process's command name.
    pub stacks: StackProfile,
    /// Samples taken.
    pub samples: u64,
    /// Samples the kernel dropped because a buffer was full.
    pub lost: u64,
    /// What `perfhub run` measures of the same run: times, RSS, I/O, exit.
    pub run: ProcessRun,
    /// How the samples were taken.
    pub mechanism: String,
    /// Time spent symbolizing.
    pub symbolize_time: Duration,
}

#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    pgoff: u64,
    path: PathBuf,
}

#[derive(Debug, Default)]
struct Raw {
    /// Per pid, the call chains (leaf first) and their counts.
    chains: HashMap<(u32, Vec<u64>), u64>,
    maps: HashMap<u32, Vec<Mapping>>,
    comms: HashMap<u32, String>,
    samples: u64,
    lost: u64,
}

fn open(cpu: usize, hz: u64) -> io::Result<Sampler> {
    let mut b = Builder::new(Software::CPU_CLOCK);
    b.observe_self()
        .one_cpu(cpu)
        .inherit(true)
        .enable_on_exec(true)
        .sample_frequency(hz)
        .sample(SampleFlag::TID | SampleFlag::CALLCHAIN)
        .exclude_callchain_kernel(true)
        .mmap(true)
        .mmap2(true)
        .comm(true)
        .task(true)
        .wakeup_events(1);
    b.build()?.sampled(64 * 4096)
}

/// Runs `spec` once and samples it.
pub fn profile_command(
    spec: &CommandSpec,
    config: CommandProfileConfig,
) -> Result<CommandProfile, CommandProfileError> {
    if config.frequency_hz == 0 || config.frequency_hz > crate::cpu::MAX_FREQUENCY_HZ {
        return Err(CommandProfileError::Frequency(config.frequency_hz));
    }
    let command = PreparedCommand::new(spec)?;
    let cpus = crate::cpu::online_cpus()?;
    let mut samplers = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        samplers.push(
            open(cpu, config.frequency_hz)
                .map_err(|e| CommandProfileError::Refused(perfhub_probe::counters::explain(&e)))?,
        );
    }
    // Keeps the children's perf contexts from being clones of this thread's,
    // which the kernel would swap at context switches (see
    // perfhub_probe::counters::CounterPlan).
    let mut unshared = Builder::new(Software::DUMMY);
    unshared.observe_self().any_cpu().inherit(false);
    let _unshared = unshared.build()?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let drain = std::thread::Builder::new()
        .name("perfhub-profile-drain".into())
        .spawn(move || drain_loop(samplers, &flag))?;
    let run = command.run(&mut CounterPlan::none());
    stop.store(true, Ordering::SeqCst);
    let raw = drain.join().unwrap_or_default();
    let run = run?;

    let started = Instant::now();
    let stacks = symbolize(&raw);
    Ok(CommandProfile {
        stacks,
        samples: raw.samples,
        lost: raw.lost,
        run,
        mechanism: format!(
            "perf_event_open: software cpu-clock at {} Hz per thread, inherited by every process the command starts, enabled at exec",
            config.frequency_hz
        ),
        symbolize_time: started.elapsed(),
    })
}

fn drain_loop(samplers: Vec<Sampler>, stop: &AtomicBool) -> Raw {
    let mut raw = Raw::default();
    crate::cpu::drain_until_stopped(samplers, stop, |s| drain_one(s, &mut raw));
    raw
}

fn drain_one(sampler: &mut Sampler, raw: &mut Raw) {
    use perf_event::data::Record;
    // PERF_RECORD_MISC_COMM_EXEC: the comm record comes from an exec.
    const COMM_EXEC: u16 = 1 << 13;
    while let Some(record) = sampler.next_record() {
        let misc = record.misc();
        match record.parse_record() {
            Ok(Record::Sample(sample)) => {
                let (Some(pid), Some(chain)) = (
                    sample.pid(),
                    sample.callchain().and_then(crate::cpu::user_chain),
                ) else {
                    continue;
                };
                raw.samples += 1;
                *raw.chains.entry((pid, chain)).or_insert(0) += 1;
            }
            Ok(Record::Mmap2(m)) => {
                let path = PathBuf::from(std::ffi::OsStr::new(
                    std::str::from_utf8(&m.filename).unwrap_or_default(),
                ));
                raw.maps.entry(m.pid).or_default().push(Mapping {
                    start: m.addr,
                    end: m.addr + m.len,
                    pgoff: m.pgoff,
                    path,
                });
            }
            // Records of one process can land in different CPUs' buffers,
            // and this loop reads the buffers one after the other: a fork
            // may be read after the child's own mappings. So a fork only
            // fills in what the child does not have yet, and an exec keeps
            // the old mappings (lookups prefer the newest that matches).
            Ok(Record::Fork(f)) if f.pid != f.ppid => {
                // A forked child shares its parent's mappings until it execs.
                if let Some(parent) = raw.maps.get(&f.ppid).cloned() {
                    raw.maps.entry(f.pid).or_insert(parent);
                }
                if let Some(name) = raw.comms.get(&f.ppid).cloned() {
                    raw.comms.entry(f.pid).or_insert(name);
                }
            }
            Ok(Record::Comm(c)) => {
                let name = String::from_utf8_lossy(&c.comm).into_owned();
                if misc & COMM_EXEC != 0 {
                    raw.comms.insert(c.pid, name);
                } else {
                    raw.comms.entry(c.pid).or_insert(name);
                }
            }
            Ok(Record::Lost(l)) => raw.lost += l.lost,
            _ => {}
        }
    }
}

fn symbolize(raw: &Raw) -> StackProfile {
    let symbolizer = Symbolizer::new();
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
    for (pid, chain) in raw.chains.keys() {
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
    let mut stacks = StackProfile::new(WeightUnit::Samples);
    for ((pid, chain), count) in &raw.chains {
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
