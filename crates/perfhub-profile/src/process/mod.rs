//! Profiling another command, or a running process, from the outside: CPU
//! samples of every thread and every process it starts, a resource timeline
//! of the process tree, and what `perfhub run` measures of the same run.
//!
//! The sampling events are opened on the spawning thread itself, one per
//! CPU, disabled, with `inherit` and `enable_on_exec`: the command (spawned
//! with `posix_spawn`) and everything it starts inherit them, and they start
//! counting at its `exec`, so perfhub's own start-up is never sampled.
//! Inherited events write into the spawning thread's ring buffers; a drain
//! thread reads the samples and the `mmap2`, `fork` and `comm` records that
//! say which file each address belongs to (see `record`). After the command
//! exits, the addresses are turned into file offsets and symbolized with
//! `blazesym` (ELF symbols and DWARF, inlined frames included) without
//! starting any other tool. A stripped binary is named from its separate
//! debug file, found by build-id or debug link in [`SymbolConfig`]'s debug
//! directories; addresses no symbol covers are shown as `module+0xSTART`
//! for the function the unwind information bounds around them, else as
//! `module+0xoffset` (see `symbolize`).
//!
//! Call chains come from the kernel's frame-pointer walk by default; with
//! [`CallGraph::Dwarf`] the kernel copies each sample's user stack instead
//! and the drain thread unwinds it with the binaries' DWARF call-frame
//! information (`framehop`; x86_64 and aarch64), for code built without
//! frame pointers. With [`CommandProfileConfig::kernel_frames`] the kernel's
//! own frames sit on top of the user stack, named from `/proc/kallsyms`
//! (see `kernel`).
//!
//! When the kernel refuses perf_event_open, [`profile_command`] says why and
//! falls back to `perf record` where it is installed and works, else to the
//! resource timeline alone; [`CommandProfile::sampler`] says which ran.
//! [`CommandProfile::write_outputs`] writes its files, and
//! [`CommandProfile::write_summary`] the text summary `perfhub profile`
//! prints.

mod debuginfo;
mod demangle;
mod firefox;
mod jitdump;
mod kernel;
pub(crate) use kernel::is_kernel_address;
mod offcpu;
mod perf_record;
mod perfmap;
mod python;
mod record;
mod summary;
mod symbolize;
mod unwind;

use perfhub_core::setting::ConfigError;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;
use perfhub_flame::{FlameOptions, StackProfile};
use perfhub_probe::counters::CounterPlan;
use perfhub_probe::spawn::{CommandSpec, Exit, PreparedCommand, ProcessRun, SpawnError};
use perfhub_probe::timeline::{self, Timeline, TimelineConfig, TimelineError, TimelinePoint};

pub use debuginfo::Debuginfod;
pub use firefox::{SampledThread, ThreadSamples};

use crate::WriteError;
use crate::profiler::write_file;

/// A file mapped into a process, as a `mmap2` record or `/proc/<pid>/maps`
/// tells it; anonymous executable memory (JIT code) has the path [`ANON`].
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub path: PathBuf,
}

/// The path of an anonymous mapping, as the kernel's `mmap2` records give it.
pub(crate) const ANON: &str = "//anon";

/// The path of the vDSO's mapping (the kernel's code mapped into every
/// process: `clock_gettime`, `gettimeofday`, …), in `mmap2` records and
/// `/proc/<pid>/maps`.
pub(crate) const VDSO: &str = "[vdso]";

impl Mapping {
    /// Whether this is anonymous memory rather than a file.
    pub fn is_anonymous(&self) -> bool {
        is_anonymous_path(&self.path)
    }
}

/// Whether a mapping's path names anonymous memory: `//anon` in `mmap2`
/// records, nothing or `[anon:NAME]` (named with `prctl`) in
/// `/proc/<pid>/maps`.
pub(crate) fn is_anonymous_path(path: &Path) -> bool {
    let path = path.as_os_str().as_encoded_bytes();
    path == ANON.as_bytes() || path.is_empty() || path.starts_with(b"[anon:")
}

/// How call chains are collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallGraph {
    /// The kernel walks the frame pointers at each sample: cheap, and exact
    /// for code built with frame pointers.
    #[default]
    FramePointer,
    /// The kernel copies the top `stack_bytes` of the user stack at each
    /// sample, and perfhub unwinds it with the binaries' DWARF call-frame
    /// information: for code built without frame pointers, at a higher cost.
    Dwarf {
        /// How many bytes of stack each sample copies (at most 65,528).
        stack_bytes: u32,
    },
}

impl CallGraph {
    /// DWARF unwinding with 16 KiB of stack per sample.
    pub const DWARF: CallGraph = CallGraph::Dwarf {
        stack_bytes: 16 * 1024,
    };
}

/// Which sampler to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SamplerChoice {
    /// perf_event_open, else `perf record`, else the timeline alone.
    #[default]
    Auto,
    /// perf_event_open only: a refusal is an error.
    PerfEvent,
    /// `perf record` (the command only, not `-p`).
    PerfRecord,
    /// No CPU samples: the resource timeline and totals only.
    TimelineOnly,
}

/// The sampler that produced a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerUsed {
    /// perfhub's own perf_event_open sampler.
    PerfEvent,
    /// `perf record`, post-processed with `perf script`.
    PerfRecord,
    /// None: the profile holds the timeline and totals only.
    TimelineOnly,
}

impl SamplerUsed {
    /// A short name, such as `perf_event_open`.
    pub fn name(self) -> &'static str {
        match self {
            SamplerUsed::PerfEvent => "perf_event_open",
            SamplerUsed::PerfRecord => "perf record",
            SamplerUsed::TimelineOnly => "timeline only",
        }
    }
}

/// How to profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandProfileConfig {
    /// Samples per second of CPU time, per thread.
    pub frequency_hz: u64,
    /// How call chains are collected.
    pub call_graph: CallGraph,
    /// Whether to also record where threads wait off the CPU (blocked in a
    /// syscall, or preempted), from context-switch events.
    pub off_cpu: bool,
    /// How often the resource timeline samples `/proc`.
    pub timeline: TimelineConfig,
    /// Which sampler to use.
    pub sampler: SamplerChoice,
    /// Whether to record the kernel's frames too (named from
    /// `/proc/kallsyms`, shown as `function_[k]` on top of the user stack).
    /// The kernel allows it where `kernel.perf_event_paranoid` is 1 or lower,
    /// or with `CAP_PERFMON`; where it refuses, the profile has user frames
    /// only and a `kernel_frames_refused` note that says why.
    pub kernel_frames: bool,
}

impl Default for CommandProfileConfig {
    fn default() -> Self {
        CommandProfileConfig {
            frequency_hz: 999,
            call_graph: CallGraph::FramePointer,
            off_cpu: false,
            timeline: TimelineConfig::default(),
            sampler: SamplerChoice::Auto,
            kernel_frames: false,
        }
    }
}

/// Where perfhub looks for the symbols of stripped binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolConfig {
    /// The global debug directories, searched in order for a binary's
    /// separate debug file: `DIR/.build-id/xx/yyyy.debug` by its build-id,
    /// and `DIR/<directory of the binary>/NAME` by its `.gnu_debuglink`
    /// (which is also looked for beside the binary and in its `.debug/`
    /// subdirectory).
    pub debug_dirs: Vec<PathBuf>,
    /// The debuginfod servers asked for the debug file of a binary with a
    /// build-id and no DWARF of its own when none is found in `debug_dirs`;
    /// `None` asks none.
    pub debuginfod: Option<Debuginfod>,
}

impl SymbolConfig {
    /// The environment variable that adds debug directories, searched
    /// before the default one: a `:`-separated list.
    pub const DEBUG_DIRS_VAR: &'static str = "PERFHUB_DEBUG_DIRS";
}

impl Default for SymbolConfig {
    /// The directories in `PERFHUB_DEBUG_DIRS`, then `/usr/lib/debug`
    /// (where distributions install debug packages, so setting the variable
    /// adds to it rather than hiding it); the debuginfod servers in
    /// `DEBUGINFOD_URLS` (see [`Debuginfod::from_env`]).
    fn default() -> Self {
        SymbolConfig {
            debug_dirs: debug_dirs(std::env::var_os(SymbolConfig::DEBUG_DIRS_VAR)),
            debuginfod: Debuginfod::from_env(),
        }
    }
}

/// The debug directories: those of `listed` (`PERFHUB_DEBUG_DIRS`), then
/// the system's.
fn debug_dirs(listed: Option<std::ffi::OsString>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = listed
        .map(|dirs| {
            std::env::split_paths(&dirs)
                .filter(|d| !d.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let system = PathBuf::from(debuginfo::DEFAULT_DEBUG_DIR);
    if !dirs.contains(&system) {
        dirs.push(system);
    }
    dirs
}

/// Why a command or process could not be profiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandProfileError {
    /// The settings cannot work; the message names them as
    /// [`CommandProfileConfig`] does (`` `sampler` ``).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A frequency of 0 or above the maximum.
    #[error("sampling frequency {0} Hz is out of range (1 to {max} Hz)", max = crate::cpu::MAX_FREQUENCY_HZ)]
    Frequency(u64),
    /// A DWARF stack size of 0, above the kernel's limit or not a multiple
    /// of 8.
    #[error("DWARF stack copy of {0} bytes is out of range: give a multiple of 8 from 8 to 65528")]
    StackSize(u32),
    /// The kernel refused perf_event_open and no fallback was allowed.
    #[error("perf_event_open refused sampling: {0}")]
    Refused(String),
    /// `perf record` was asked for and failed or is missing.
    #[error("perf record: {0}")]
    PerfRecord(String),
    /// The command could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The process to attach to does not exist.
    #[error("no process with pid {0}: check the pid with `ps`, or profile a command instead")]
    NoSuchProcess(u32),
    /// The timeline could not start.
    #[error(transparent)]
    Timeline(#[from] TimelineError),
    /// Setting up the sampler failed.
    #[error("cannot set up sampling: {0}")]
    Io(#[from] std::io::Error),
}

/// The profile of one command run, or of a process over a while.
#[derive(Debug, Clone)]
pub struct CommandProfile {
    /// What was profiled: the command line, or `pid N (comm)`.
    pub name: String,
    /// CPU samples by call stack (root first), symbolized; each stack starts
    /// with the process's command name. Empty for a timeline-only profile.
    pub stacks: StackProfile,
    /// Off-CPU time by call stack, in nanoseconds, when asked for.
    pub off_cpu: Option<StackProfile>,
    /// The CPU samples per thread, in time order, for the Firefox
    /// Profiler's format: perfhub's own sampler only (empty with `perf
    /// record` or none).
    pub threads: ThreadSamples,
    /// Samples taken.
    pub samples: u64,
    /// Samples the kernel dropped because a buffer was full.
    pub lost: u64,
    /// Samples whose call chain could not be recovered at all.
    pub unwind_failures: u64,
    /// What `perfhub run` measures of the same run (a command only).
    pub run: Option<ProcessRun>,
    /// How the command ended (a command only).
    pub exit: Option<Exit>,
    /// How long the profile ran.
    pub wall: Duration,
    /// The resource timeline of the process tree.
    pub timeline: Vec<TimelinePoint>,
    /// The sampler that ran.
    pub sampler: SamplerUsed,
    /// How the samples were taken, in words.
    pub mechanism: String,
    /// Why a better sampler was not used, where one was not.
    pub fallback_reason: Option<String>,
    /// Time spent symbolizing in all: loading the binaries' symbols, which
    /// starts while the command runs, and naming the addresses.
    pub symbolize_time: Duration,
    /// Of that, the time spent after the command ended.
    pub symbolize_wait: Duration,
    /// Binaries whose frames were named from a separate debug file (found
    /// by build-id or debug link), with that file.
    pub debug_files: Vec<(PathBuf, PathBuf)>,
    /// Stripped binaries some of whose frames had no symbol and are named
    /// `module+0xSTART` by the start of their function, as the unwind
    /// information (`.eh_frame`) bounds it.
    pub unwind_bounds: Vec<PathBuf>,
    /// More notes on how the profile was taken: kernel frames refused or
    /// unnamed, debuginfod downloads and failures.
    pub notes: Vec<Note>,
}

fn validate(config: &CommandProfileConfig) -> Result<(), CommandProfileError> {
    if config.frequency_hz == 0 || config.frequency_hz > crate::cpu::MAX_FREQUENCY_HZ {
        return Err(CommandProfileError::Frequency(config.frequency_hz));
    }
    if let CallGraph::Dwarf { stack_bytes } = config.call_graph
        && (stack_bytes == 0 || stack_bytes > 65528 || stack_bytes % 8 != 0)
    {
        return Err(CommandProfileError::StackSize(stack_bytes));
    }
    Ok(())
}

fn describe(config: &CommandProfileConfig, recording: &record::Recording, what: &str) -> String {
    let kernel = recording.kernel_included();
    let chains = match config.call_graph {
        CallGraph::FramePointer => "frame-pointer call chains".to_string(),
        CallGraph::Dwarf { stack_bytes } => format!(
            "DWARF call-frame unwinding of {} KiB user-stack copies",
            stack_bytes / 1024
        ),
    };
    let modes = if recording.kernel_frames() {
        "user and kernel mode, with the kernel's frames on top of the user call chain"
    } else if kernel {
        "user and kernel mode (time in the kernel is charged to the user call chain that entered it)"
    } else {
        "user mode only (the kernel refused kernel-mode sampling: kernel.perf_event_paranoid is 2 or higher)"
    };
    let event = if recording.cycles() {
        "hardware CPU cycles"
    } else {
        "software cpu-clock (this machine has no hardware cycle counter)"
    };
    format!(
        "{event} at {} Hz per thread, {what}; {modes}; {chains}",
        config.frequency_hz
    )
}

/// Checks that the profile can be written into `dir`: that it, or where it
/// is missing the nearest of its parents that exists, is a directory in
/// which files can be made. Nothing is left behind. Call it before
/// profiling, so that a bad output directory is an error before the command
/// runs rather than after, when its profile would be lost;
/// [`CommandProfile::write_outputs`] checks too, then creates `dir`.
pub fn check_output_dir(dir: &Path) -> Result<(), WriteError> {
    // The directory, or one of its parents, is a file.
    if let Some(file) = dir.ancestors().find(|a| a.exists() && !a.is_dir()) {
        return Err(WriteError::NotADirectory {
            path: file.to_path_buf(),
        });
    }
    let existing = dir
        .ancestors()
        .find(|a| a.is_dir())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::NamedTempFile::new_in(existing)
        .map(drop)
        .map_err(|source| WriteError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Runs `spec` once and profiles it, with the default [`SymbolConfig`].
pub fn profile_command(
    spec: &CommandSpec,
    config: CommandProfileConfig,
) -> Result<CommandProfile, CommandProfileError> {
    profile_command_with(spec, config, &SymbolConfig::default())
}

/// Runs `spec` once and profiles it, looking for stripped binaries' symbols
/// where `symbols` says.
pub fn profile_command_with(
    spec: &CommandSpec,
    config: CommandProfileConfig,
    symbols: &SymbolConfig,
) -> Result<CommandProfile, CommandProfileError> {
    validate(&config)?;
    let command = PreparedCommand::new(spec)?;
    let name = command_line(spec);
    let mut fallback_reason = None;
    if matches!(
        config.sampler,
        SamplerChoice::Auto | SamplerChoice::PerfEvent
    ) {
        match record::Recording::inherited(&config, symbols.clone()) {
            Ok(recording) => {
                let mut python = None;
                let (run, wall, points) = run_with_timeline(&command, config.timeline, |pid| {
                    python = python::PySampler::start(pid, config.frequency_hz);
                });
                let run = run?;
                return Ok(from_recording(
                    name,
                    (recording, python),
                    &config,
                    Some(run),
                    wall,
                    points,
                    "inherited by every process the command starts, enabled at exec",
                ));
            }
            Err(e) if config.sampler == SamplerChoice::Auto => {
                fallback_reason = Some(format!(
                    "perf_event_open refused sampling: {}",
                    perfhub_probe::counters::explain(&e)
                ));
            }
            Err(e) => {
                return Err(CommandProfileError::Refused(
                    perfhub_probe::counters::explain(&e),
                ));
            }
        }
    }
    if matches!(
        config.sampler,
        SamplerChoice::Auto | SamplerChoice::PerfRecord
    ) {
        match perf_record::perf_available() {
            Some(perf) => {
                let mut timeline = None;
                let result = perf_record::record(
                    &perf,
                    spec,
                    config.frequency_hz,
                    matches!(config.call_graph, CallGraph::Dwarf { .. }),
                    |pid| timeline = Timeline::start(pid, config.timeline).ok(),
                );
                let points = timeline.map(Timeline::finish).unwrap_or_default();
                match result {
                    Ok(r) => {
                        return Ok(CommandProfile {
                            name,
                            samples: r.samples,
                            stacks: r.stacks,
                            off_cpu: None,
                            threads: ThreadSamples::default(),
                            lost: 0,
                            unwind_failures: 0,
                            run: None,
                            exit: Some(r.exit),
                            wall: r.wall,
                            timeline: points,
                            sampler: SamplerUsed::PerfRecord,
                            mechanism: format!(
                                "perf record ({}) at {} Hz, symbolized by perf script; the timeline includes perf itself",
                                r.perf_version, config.frequency_hz
                            ),
                            fallback_reason,
                            symbolize_time: Duration::ZERO,
                            symbolize_wait: Duration::ZERO,
                            debug_files: Vec::new(),
                            unwind_bounds: Vec::new(),
                            notes: config
                                .kernel_frames
                                .then(|| {
                                    Note::warning(
                                        "kernel_frames_refused",
                                        "kernel frames were asked for (`kernel_frames`) but the perf record fallback keeps user frames only",
                                    )
                                })
                                .into_iter()
                                .collect(),
                        });
                    }
                    // `perf record` itself failed: it stops before the
                    // command runs when it cannot sample, so the command
                    // can still be run once more, for the timeline.
                    Err(
                        e @ perf_record::PerfRecordError::Failed {
                            stage: "record", ..
                        },
                    ) if config.sampler == SamplerChoice::Auto => {
                        add_reason(
                            &mut fallback_reason,
                            format!("perf record could not stand in: {e}"),
                        );
                    }
                    // Anything later (the command ran, its samples were
                    // lost): running it again would run it twice.
                    Err(e) => return Err(CommandProfileError::PerfRecord(e.to_string())),
                }
            }
            None if config.sampler == SamplerChoice::PerfRecord => {
                return Err(CommandProfileError::PerfRecord(
                    "perf is not installed or does not work here (`perf --version` failed); install it (Debian: apt-get install linux-perf)".into(),
                ));
            }
            None => {
                add_reason(
                    &mut fallback_reason,
                    "perf is not installed, so `perf record` could not stand in".into(),
                );
            }
        }
    }
    // The timeline alone, with the totals `perfhub run` reports.
    let (run, wall, points) = run_with_timeline(&command, config.timeline, |_| {});
    let run = run?;
    Ok(CommandProfile::without_samples(
        name,
        Some(run),
        wall,
        points,
        fallback_reason,
    ))
}

/// Runs `command` once with a timeline of its process tree; `on_spawn`
/// gets its pid.
fn run_with_timeline(
    command: &PreparedCommand,
    config: TimelineConfig,
    on_spawn: impl FnOnce(u32),
) -> (Result<ProcessRun, SpawnError>, Duration, Vec<TimelinePoint>) {
    let mut timeline = None;
    let started = Instant::now();
    let run = command.run_observed(&mut CounterPlan::none(), |pid| {
        timeline = Timeline::start(pid, config).ok();
        on_spawn(pid);
    });
    let wall = started.elapsed();
    (
        run,
        wall,
        timeline.map(Timeline::finish).unwrap_or_default(),
    )
}

/// `reason`, after whatever was said before.
fn add_reason(said: &mut Option<String>, reason: String) {
    *said = Some(match said.take() {
        Some(before) => format!("{before}; {reason}"),
        None => reason,
    });
}

/// Profiles the running process `pid` (all its threads, and what they start
/// while sampled) for `duration`, until it exits, or until `should_stop`
/// says so (checked every 20 ms).
pub fn profile_pid(
    pid: u32,
    duration: Duration,
    config: CommandProfileConfig,
    should_stop: &dyn Fn() -> bool,
) -> Result<CommandProfile, CommandProfileError> {
    validate(&config)?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map_err(|_| CommandProfileError::NoSuchProcess(pid))?;
    let name = format!("pid {pid} ({})", comm.trim());
    let timeline = Timeline::start(pid, config.timeline).map_err(|e| match e {
        TimelineError::NoSuchProcess(p) => CommandProfileError::NoSuchProcess(p),
        e => e.into(),
    })?;
    let started = Instant::now();
    let (fallback_reason, recording) = match config.sampler {
        SamplerChoice::TimelineOnly => (None, None),
        SamplerChoice::PerfRecord => {
            return Err(CommandProfileError::Config(ConfigError::naming(
                &["sampler"],
                |n| {
                    format!(
                        "attaching to a pid is done with perfhub's own sampler; give {} auto or perf-event",
                        n[0]
                    )
                },
            )));
        }
        SamplerChoice::Auto | SamplerChoice::PerfEvent => {
            match record::Recording::attached(pid, &config, SymbolConfig::default()) {
                Ok(r) => (None, Some(r)),
                Err(e) if config.sampler == SamplerChoice::Auto => (
                    Some(format!(
                        "perf_event_open refused sampling: {}",
                        perfhub_probe::counters::explain(&e)
                    )),
                    None,
                ),
                Err(e) => {
                    return Err(CommandProfileError::Refused(
                        perfhub_probe::counters::explain(&e),
                    ));
                }
            }
        }
    };
    // Python frames, where the process (or one it starts) is Python.
    let python = recording
        .as_ref()
        .and_then(|_| python::PySampler::start(pid, config.frequency_hz));
    // Until the duration is over or the process is gone.
    let deadline = started + duration;
    while Instant::now() < deadline && timeline.is_sampling() && !should_stop() {
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(20)));
    }
    let wall = started.elapsed();
    let points = timeline.finish();
    match recording {
        Some(recording) => Ok(from_recording(
            name,
            (recording, python),
            &config,
            None,
            wall,
            points,
            "on every thread of the process and what they start after attaching",
        )),
        None => Ok(CommandProfile::without_samples(
            name,
            None,
            wall,
            points,
            fallback_reason,
        )),
    }
}

/// The profile of a finished recording, with the Python frames its reader
/// read where it ran; `reach` says what was sampled, for the mechanism's
/// description.
fn from_recording(
    name: String,
    (recording, python): (record::Recording, Option<python::PySampler>),
    config: &CommandProfileConfig,
    run: Option<ProcessRun>,
    wall: Duration,
    timeline: Vec<TimelinePoint>,
    reach: &str,
) -> CommandProfile {
    let mechanism = describe(config, &recording, reach);
    let mut notes: Vec<Note> = recording
        .kernel_refusal()
        .map(|why| Note::warning("kernel_frames_refused", why))
        .into_iter()
        .collect();
    let python = python.map(python::PySampler::finish);
    let done = recording.finish(config.off_cpu);
    notes.extend(done.notes);
    let mut stacks = done.stacks;
    stacks.period = Some(1_000_000_000 / config.frequency_hz);
    let raw = done.raw;
    let mut threads = done.threads;
    if let Some(py) = python {
        notes.extend(python::merge_into(
            &py,
            &mut stacks,
            &mut threads,
            &raw,
            1_000_000_000 / config.frequency_hz,
        ));
    }
    CommandProfile {
        name,
        stacks,
        off_cpu: done.off_cpu,
        threads,
        samples: raw.samples,
        lost: raw.lost,
        unwind_failures: raw.unwind_failures,
        exit: run.as_ref().map(|r| r.exit),
        run,
        wall,
        timeline,
        sampler: SamplerUsed::PerfEvent,
        mechanism,
        fallback_reason: None,
        symbolize_time: done.total,
        symbolize_wait: done.after,
        debug_files: done.debug_files,
        unwind_bounds: done.unwind_bounds,
        notes,
    }
}

fn command_line(spec: &CommandSpec) -> String {
    std::iter::once(&spec.program)
        .chain(&spec.args)
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The files [`CommandProfile::write_outputs`] writes into a directory.
pub const OUTPUT_FILES: [&str; 6] = [
    "flamegraph.svg",
    "stacks.folded",
    "profile.pb.gz",
    "profile.speedscope.json",
    "profile.firefox.json",
    "report.json",
];

impl CommandProfile {
    /// A profile of the timeline and totals alone.
    fn without_samples(
        name: String,
        run: Option<ProcessRun>,
        wall: Duration,
        timeline: Vec<TimelinePoint>,
        fallback_reason: Option<String>,
    ) -> CommandProfile {
        CommandProfile {
            name,
            stacks: StackProfile::new(perfhub_flame::WeightUnit::Samples),
            off_cpu: None,
            threads: ThreadSamples::default(),
            samples: 0,
            lost: 0,
            unwind_failures: 0,
            exit: run.as_ref().map(|r| r.exit),
            run,
            wall,
            timeline,
            sampler: SamplerUsed::TimelineOnly,
            mechanism: "no CPU sampling: resource timeline and totals only".into(),
            fallback_reason,
            symbolize_time: Duration::ZERO,
            symbolize_wait: Duration::ZERO,
            debug_files: Vec::new(),
            unwind_bounds: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A warning when a sampler ran and took no sample at all.
    pub(crate) fn no_samples_note(&self) -> Option<Note> {
        (self.sampler != SamplerUsed::TimelineOnly && self.samples == 0).then(|| {
            Note::warning(
                "no_samples",
                "no CPU samples were taken: no thread ran on a CPU for a whole sampling period \
                 (each thread is sampled after each period of its own CPU time, 1 ms at 999 Hz), \
                 as with perf record: the process was idle, or its work was done by threads too \
                 short-lived to be sampled; sample at a higher frequency, or for longer",
            )
        })
    }

    /// Writes everything into `dir` (created if missing): the flame graph
    /// SVG, folded stacks, pprof and speedscope profiles (where there are CPU
    /// samples), the Firefox Profiler's profile with a track per thread
    /// (where the samples have their threads and times: perfhub's own
    /// sampler), the off-CPU flame graph and folded stacks (where asked
    /// for), and the report as JSON. Returns the paths written.
    pub fn write_outputs(&self, dir: &Path, report: &Report) -> Result<Vec<PathBuf>, WriteError> {
        check_output_dir(dir)?;
        std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = Vec::new();
        let mut put = |name: &str, bytes: &[u8]| -> Result<(), WriteError> {
            let path = dir.join(name);
            write_file(&path, bytes)?;
            written.push(path);
            Ok(())
        };
        if self.stacks.total() > 0 {
            let mut svg = Vec::new();
            let options = FlameOptions::new(format!("CPU: {}", self.name));
            perfhub_flame::write_flamegraph(&self.stacks, &options, &mut svg)?;
            put("flamegraph.svg", &svg)?;
            put(
                "stacks.folded",
                perfhub_flame::to_folded(&self.stacks).as_bytes(),
            )?;
            put("profile.pb.gz", &perfhub_flame::to_pprof(&self.stacks))?;
            put(
                "profile.speedscope.json",
                perfhub_flame::to_speedscope(&self.stacks, &self.name).as_bytes(),
            )?;
        }
        if !self.threads.threads.is_empty() {
            let interval = self.stacks.period.unwrap_or(1_000_000);
            let json =
                firefox::to_firefox_json(&self.name, &self.threads, interval).map_err(|e| {
                    WriteError::Io {
                        path: dir.join("profile.firefox.json"),
                        source: e.into(),
                    }
                })?;
            put("profile.firefox.json", &json)?;
        }
        if let Some(off) = self.off_cpu.as_ref().filter(|p| p.total() > 0) {
            let mut svg = Vec::new();
            let options = FlameOptions::new(format!("Off-CPU time: {}", self.name));
            perfhub_flame::write_flamegraph(off, &options, &mut svg)?;
            put("offcpu.svg", &svg)?;
            put("offcpu.folded", perfhub_flame::to_folded(off).as_bytes())?;
        }
        let json = serde_json::to_vec_pretty(report).map_err(|e| WriteError::Io {
            path: dir.join("report.json"),
            source: e.into(),
        })?;
        put("report.json", &json)?;
        Ok(written)
    }

    /// The profile as a perfhub report: the totals `perfhub run` reports,
    /// sample counts, the resource timeline (sampled measurements
    /// `cpu_utilization`, `rss`, `read_rate`, `write_rate`, `threads`), and
    /// notes on how it was taken.
    pub fn to_report(&self, created: perfhub_core::time::UtcTime) -> Report {
        let mut report = Report::new(ReportKind::Profile, created);
        let mut b = Benchmark::new(self.name.clone(), metric::WALL_TIME);
        let m = &mut b.measurements;
        m.extend(crate::profiler::times(
            self.wall,
            self.run.as_ref().map(|r| (r.user, r.system)),
        ));
        if let Some(run) = &self.run {
            let counts = [
                (metric::MAX_RSS, Unit::Bytes, run.max_rss_bytes),
                (
                    metric::VOLUNTARY_CONTEXT_SWITCHES,
                    Unit::Count,
                    run.voluntary_context_switches,
                ),
                (
                    metric::INVOLUNTARY_CONTEXT_SWITCHES,
                    Unit::Count,
                    run.involuntary_context_switches,
                ),
                (
                    metric::MINOR_PAGE_FAULTS,
                    Unit::Count,
                    run.minor_page_faults,
                ),
                (
                    metric::MAJOR_PAGE_FAULTS,
                    Unit::Count,
                    run.major_page_faults,
                ),
            ];
            for (name, unit, value) in counts {
                m.push(Measurement::from_value(name, unit, value as f64));
            }
            if let Some(io) = &run.io {
                for (name, unit, value) in io.metrics() {
                    m.push(Measurement::from_value(name, unit, value as f64));
                }
            }
        }
        if self.sampler != SamplerUsed::TimelineOnly {
            m.push(Measurement::from_value(
                "cpu_samples",
                Unit::Count,
                self.samples as f64,
            ));
        }
        if !self.timeline.is_empty() {
            m.extend(timeline::to_measurements(&self.timeline));
        }
        b.notes.push(Note::info(
            "sampler",
            format!("{}: {}", self.sampler.name(), self.mechanism),
        ));
        if let Some(why) = &self.fallback_reason {
            b.notes.push(Note::warning("sampler_fallback", why.clone()));
        }
        b.notes
            .extend(crate::profiler::lost_samples_note(self.lost));
        b.notes.extend(self.no_samples_note());
        if self.threads.untimed > 0 {
            b.notes.push(Note::warning(
                "untimed_samples",
                format!(
                    "{} samples past the first {} are in the flame graph and stacks but not in \
                     profile.firefox.json's thread tracks (a bound on memory)",
                    self.threads.untimed,
                    record::MAX_TIMED_SAMPLES
                ),
            ));
        }
        if self.unwind_failures > 0 {
            b.notes.push(Note::warning(
                "unwind_failures",
                format!(
                    "{} samples had no recoverable call chain and are left out",
                    self.unwind_failures
                ),
            ));
        }
        for (binary, debug) in &self.debug_files {
            b.notes.push(Note::info(
                "separate_debug_info",
                format!(
                    "{} is named from its separate debug file {}",
                    binary.display(),
                    debug.display()
                ),
            ));
        }
        // A binary named from its debug file has its debug info: where an
        // address has no symbol even there (a `.plt` entry), its function
        // bounds are no reason to install what is installed.
        let named_from_debug_file = |b: &PathBuf| self.debug_files.iter().any(|(d, _)| d == b);
        for binary in self
            .unwind_bounds
            .iter()
            .filter(|b| !named_from_debug_file(b))
        {
            b.notes.push(Note::warning(
                "unwind_function_bounds",
                format!(
                    "{}: function bounds from unwind info, no symbol: the stripped binary's \
                     functions without a symbol are shown as `{}+0xSTART` (the function's \
                     file offset); install its debug info (by build-id under /usr/lib/debug, \
                     or in a directory of {}) for names",
                    binary.display(),
                    binary
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    SymbolConfig::DEBUG_DIRS_VAR
                ),
            ));
        }
        b.notes.extend(self.notes.iter().cloned());
        if let Some(exit) = self.exit.filter(|e| !e.success()) {
            b.notes.push(Note::warning(
                "command_failed",
                format!("the command ended with {exit}; the profile covers what it ran"),
            ));
        }
        report.benchmarks.push(b);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_debug_dirs_come_before_the_systems_and_do_not_hide_it() {
        let system = PathBuf::from("/usr/lib/debug");
        assert_eq!(debug_dirs(None), vec![system.clone()]);
        assert_eq!(debug_dirs(Some("".into())), vec![system.clone()]);
        assert_eq!(
            debug_dirs(Some("/a:/b::".into())),
            vec![PathBuf::from("/a"), PathBuf::from("/b"), system.clone()]
        );
        // Listed already: searched where it is listed, once.
        assert_eq!(
            debug_dirs(Some("/usr/lib/debug:/a".into())),
            vec![system, PathBuf::from("/a")]
        );
    }
}
