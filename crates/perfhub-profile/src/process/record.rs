//! Opening the sampling events and draining their ring buffers.
//!
//! A drain thread reads every buffer in rounds, every 10 ms. Records of one
//! process can land in different CPUs' buffers, and a round reads the
//! buffers one after the other, so within a round the side-band records
//! (`mmap2`, `fork`, `comm`) are applied first and the samples after them:
//! a sample never waits for a mapping that sits in a buffer read later in
//! the same round.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use perf_event::events::Software;
use perf_event::{Builder, Counter, SampleFlag, Sampler};

use super::symbolize::{
    Code, Loader, Named, SymbolizerThread, locate, lookup_address, symbolize_here,
};
use super::unwind::{DwarfUnwinder, REGS_MASK, UserRegs, user_regs};
use super::{CallGraph, CommandProfileConfig, Mapping, SymbolConfig, kernel};

/// PERF_RECORD_MISC_COMM_EXEC: the comm record comes from an exec.
const COMM_EXEC: u16 = 1 << 13;
/// PERF_RECORD_MISC_SWITCH_OUT: the switch record is a switch-out.
pub(super) const SWITCH_OUT: u16 = 1 << 13;
/// PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: the task was preempted, not blocked.
pub(super) const SWITCH_OUT_PREEMPT: u16 = 1 << 14;
/// PERF_RECORD_SWITCH.
const RECORD_SWITCH: u32 = 14;

/// At most this many samples keep their thread and time (16 bytes each, so
/// 64 MiB at most), for the Firefox Profiler's per-thread tracks: about 70
/// thread-minutes at 999 Hz. Past it samples are still counted by stack.
pub(crate) const MAX_TIMED_SAMPLES: usize = 1 << 22;

/// What the drain thread collected: call chains per process, and what is
/// needed to name their addresses.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    /// Per pid, the call chains (leaf first), their counts and numbers.
    pub chains: HashMap<(u32, Vec<u64>), ChainCount>,
    /// Samples in the order read, with their thread, time and chain,
    /// up to [`MAX_TIMED_SAMPLES`].
    pub timed: Vec<TimedSample>,
    /// Samples past [`MAX_TIMED_SAMPLES`], counted by chain only.
    pub untimed: u64,
    /// Per pid, the file mappings, oldest first.
    pub maps: HashMap<u32, Vec<Mapping>>,
    /// Per pid, the command name.
    pub comms: HashMap<u32, String>,
    /// Per tid, the thread's name (its comm).
    pub thread_names: HashMap<u32, String>,
    /// The wall-clock time sampling started.
    pub started: Option<std::time::SystemTime>,
    pub samples: u64,
    pub lost: u64,
    pub unwind_failures: u64,
    /// Context switches, for the off-CPU profile.
    pub switches: Vec<Switch>,
}

/// How often a call chain was sampled, and its number: chains are numbered
/// 0, 1, 2… as first seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainCount {
    pub count: u64,
    pub id: u32,
}

/// One CPU sample: which thread, when (the kernel's perf clock, in
/// nanoseconds) and which call chain ([`ChainCount::id`]); 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedSample {
    pub time: u64,
    pub tid: u32,
    pub chain: u32,
}

/// One side of a context switch of one thread.
#[derive(Debug, Clone)]
pub(crate) struct Switch {
    pub pid: u32,
    pub tid: u32,
    pub time: u64,
    pub kind: SwitchKind,
}

#[derive(Debug, Clone)]
pub(crate) enum SwitchKind {
    /// The thread left the CPU here (leaf-first user call chain).
    Out(Vec<u64>),
    /// The kernel's switch-out record: whether it was a preemption.
    OutRecord { preempted: bool },
    /// The thread came back onto the CPU.
    In,
}

/// Running samplers and their drain thread.
pub(crate) struct Recording {
    stop: Arc<AtomicBool>,
    drain: Option<JoinHandle<Raw>>,
    symbolizer: Option<SymbolizerThread>,
    /// Where separate debug files are looked for.
    symbols: SymbolConfig,
    kernel: bool,
    kernel_frames: bool,
    /// Why kernel frames were asked for and not recorded.
    kernel_refusal: Option<String>,
    cycles: bool,
    /// Keeps the children's perf contexts from being clones of the spawning
    /// thread's, which the kernel would swap at context switches (see
    /// `perfhub_probe::counters::CounterPlan`).
    _unshared: Option<Counter>,
}

/// The most frames the kernel walks in a call chain:
/// `kernel.perf_event_max_stack`, 127 unless the machine says otherwise.
fn max_stack() -> u64 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_stack")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(127)
}

/// How often the drain thread reads the buffers, the smallest of which
/// holds `buffer_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    every: Duration,
    buffer_bytes: usize,
}

impl Pace {
    const FASTEST: Duration = Duration::from_millis(10);
    const SLOWEST: Duration = Duration::from_millis(100);
}

struct Plan {
    frequency_hz: u64,
    dwarf: Option<u32>,
    off_cpu: bool,
    /// Whether samples are taken in kernel mode too (charged to the user
    /// call chain that entered the kernel). Context switches happen in the
    /// kernel, so the off-CPU event needs it.
    kernel: bool,
    /// Whether to sample CPU cycles (a hardware counter) rather than the
    /// software cpu-clock.
    cycles: bool,
    /// Whether call chains keep the kernel's frames (which needs `kernel`).
    kernel_frames: bool,
    /// Why kernel frames were asked for and are not recorded.
    kernel_refusal: Option<String>,
}

impl Plan {
    fn of(config: &CommandProfileConfig) -> Plan {
        // Where the kernel will refuse kernel-mode sampling, kernel frames
        // are not even tried, and the profile says why.
        let kernel_refusal = config
            .kernel_frames
            .then(|| kernel::refusal(&perfhub_probe::perf_access::AccessFacts::read()))
            .flatten();
        Plan {
            frequency_hz: config.frequency_hz,
            dwarf: match config.call_graph {
                CallGraph::FramePointer => None,
                CallGraph::Dwarf { stack_bytes } => Some(stack_bytes),
            },
            off_cpu: config.off_cpu,
            kernel: true,
            cycles: true,
            kernel_frames: config.kernel_frames && kernel_refusal.is_none(),
            kernel_refusal,
        }
    }

    fn builder(&self) -> Builder<'static> {
        if self.cycles {
            Builder::new(perf_event::events::Hardware::CPU_CYCLES)
        } else {
            Builder::new(Software::CPU_CLOCK)
        }
    }

    /// Opens the samplers with `open`, stepping down from cycles to the
    /// cpu-clock where the machine has no cycle counter, and from user and
    /// kernel mode to user mode where the kernel allows only that.
    fn open_with(
        &mut self,
        open: impl Fn(&Plan) -> io::Result<Vec<(Sampler, bool)>>,
    ) -> io::Result<Vec<(Sampler, bool)>> {
        loop {
            match open(self) {
                Err(e) if self.cycles && is_unsupported(&e) => self.cycles = false,
                Err(e) if self.kernel && !self.off_cpu && is_refusal(&e) => {
                    if self.kernel_frames {
                        self.kernel_frames = false;
                        self.kernel_refusal = Some(kernel::refused(
                            e.raw_os_error().unwrap_or(libc::EACCES),
                            &perfhub_probe::perf_access::AccessFacts::read(),
                        ));
                    }
                    self.kernel = false;
                }
                r => return r,
            }
        }
    }

    fn pages(&self) -> usize {
        // A DWARF sample carries its stack copy: give the buffer room for
        // a round of them.
        if self.dwarf.is_some() { 512 } else { 64 }
    }

    /// Pages per thread and CPU with `-p`: each buffer kept small.
    fn thread_pages(&self) -> usize {
        if self.dwarf.is_some() { 128 } else { 8 }
    }

    /// How often the drain thread reads buffers of `buffer_bytes` (see
    /// [`Pace`]): within half the time the largest samples this plan can
    /// take (a call chain as deep as the kernel walks, or a stack copy)
    /// fill one at the sampling rate, which one CPU's buffer never exceeds
    /// (the cpu-clock counts each thread's time on that CPU, one thread at
    /// a time); from every 10 ms to every 100 ms. Every wakeup is a context
    /// switch on a machine whose CPUs the command keeps busy, so at low
    /// rates the drain sleeps longer. Off-CPU events come at every
    /// context switch, with no bound: then every 10 ms.
    fn pace(&self, buffer_bytes: usize) -> Pace {
        let every = |every| Pace {
            every,
            buffer_bytes,
        };
        if self.off_cpu {
            return every(Pace::FASTEST);
        }
        let max_stack = max_stack();
        // Header, tid, time, and the chain's length and context markers.
        let mut sample = 64 + 8 * (max_stack + 8);
        if self.kernel_frames {
            sample += 8 * (max_stack + 8);
        }
        if let Some(stack) = self.dwarf {
            // Registers, the stack copy and its two sizes.
            sample += 8 * 64 + u64::from(stack) + 16;
        }
        let fill_ns = buffer_bytes as u64 * 1_000_000_000 / (sample * self.frequency_hz.max(1));
        every(Duration::from_nanos(fill_ns / 2).clamp(Pace::FASTEST, Pace::SLOWEST))
    }

    fn cpu_clock(&self, b: &mut Builder<'_>) {
        // Sample times on CLOCK_MONOTONIC, as the Python frames' snapshots
        // are (see `python`).
        b.clockid(perf_event::Clock::MONOTONIC);
        b.sample_frequency(self.frequency_hz)
            .exclude_kernel(!self.kernel);
        let mut flags = SampleFlag::TID | SampleFlag::TIME;
        match self.dwarf {
            None => flags |= SampleFlag::CALLCHAIN,
            Some(bytes) => {
                flags |= SampleFlag::REGS_USER | SampleFlag::STACK_USER;
                b.sample_regs_user(REGS_MASK).sample_stack_user(bytes);
                // The kernel's frames come from its own walk, the user's
                // from the stack copy.
                if self.kernel_frames {
                    flags |= SampleFlag::CALLCHAIN;
                    b.exclude_callchain_user(true);
                }
            }
        }
        b.sample(flags)
            .exclude_callchain_kernel(!self.kernel_frames)
            .mmap(true)
            .mmap2(true)
            .comm(true)
            .task(true)
            .sample_id_all(true)
            .context_switch(self.off_cpu);
        // No wakeup per sample (`wakeup_events` 1 would queue an interrupt
        // on the profiled command's CPU at every sample): the drain thread
        // reads the buffers on its own clock and never waits on them, so
        // the kernel's default (a wakeup at half a buffer) is enough.
    }

    fn switches(&self, b: &mut Builder<'_>) {
        b.clockid(perf_event::Clock::MONOTONIC);
        b.sample_period(1)
            .exclude_kernel(false)
            .sample(SampleFlag::TID | SampleFlag::TIME | SampleFlag::CALLCHAIN)
            .exclude_callchain_kernel(true)
            .sample_id_all(true);
    }
}

impl Recording {
    /// Events on this thread, per CPU, inherited by what it spawns next and
    /// enabled when that execs.
    pub fn inherited(
        config: &CommandProfileConfig,
        symbols: SymbolConfig,
    ) -> io::Result<Recording> {
        let mut plan = Plan::of(config);
        let samplers = plan.open_with(Recording::open_inherited)?;
        let pace = plan.pace(plan.pages() * 4096);
        let mut unshared = Builder::new(Software::DUMMY);
        unshared.observe_self().any_cpu().inherit(false);
        let unshared = unshared.build()?;
        Recording::start(
            samplers,
            plan,
            pace,
            Vec::new(),
            HashMap::new(),
            Some(unshared),
            symbols,
        )
    }

    fn open_inherited(plan: &Plan) -> io::Result<Vec<(Sampler, bool)>> {
        let mut samplers = Vec::new();
        for cpu in crate::cpu::online_cpus()? {
            let mut b = plan.builder();
            b.observe_self()
                .one_cpu(cpu)
                .inherit(true)
                .enable_on_exec(true);
            plan.cpu_clock(&mut b);
            samplers.push((b.build()?.sampled(plan.pages() * 4096)?, false));
            if plan.off_cpu {
                let mut b = Builder::new(Software::CONTEXT_SWITCHES);
                b.observe_self()
                    .one_cpu(cpu)
                    .inherit(true)
                    .enable_on_exec(true);
                plan.switches(&mut b);
                samplers.push((b.build()?.sampled(64 * 4096)?, true));
            }
        }
        Ok(samplers)
    }

    /// Events on every thread of `pid`, per CPU, enabled now and inherited
    /// by the threads and processes they start.
    pub fn attached(
        pid: u32,
        config: &CommandProfileConfig,
        symbols: SymbolConfig,
    ) -> io::Result<Recording> {
        let mut plan = Plan::of(config);
        let mut samplers = plan.open_with(|p| Recording::open_attached(pid, p))?;
        // What is mapped already: the kernel reports only new mappings.
        let maps = read_maps(pid);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim().to_string())
            .unwrap_or_default();
        let known = vec![(pid, maps, comm)];
        // The threads' names: the kernel reports only renames from now on.
        let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let tid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                let name = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).ok()?;
                Some((tid, name.trim().to_string()))
            })
            .collect();
        for (s, _) in &mut samplers {
            // A thread that ended since its events were opened: nothing
            // to enable.
            match s.enable() {
                Err(e) if e.raw_os_error() != Some(libc::ESRCH) => return Err(e),
                _ => {}
            }
        }
        let pace = plan.pace(plan.thread_pages() * 4096);
        Recording::start(samplers, plan, pace, known, threads, None, symbols)
    }

    fn open_attached(pid: u32, plan: &Plan) -> io::Result<Vec<(Sampler, bool)>> {
        let cpus = crate::cpu::online_cpus()?;
        let mut samplers = Vec::new();
        let mut covered: HashSet<i32> = HashSet::new();
        // A thread started after the listing, by a thread whose events were
        // not open yet, inherits nothing: list again until no thread is new.
        loop {
            let mut new = Vec::new();
            for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
                if let Some(tid) = entry?.file_name().to_str().and_then(|s| s.parse().ok())
                    && covered.insert(tid)
                {
                    new.push(tid);
                }
            }
            if new.is_empty() {
                return Ok(samplers);
            }
            for tid in new {
                match Recording::open_thread(tid, &cpus, plan) {
                    Ok(opened) => samplers.extend(opened),
                    // A thread that ended since the listing has nothing
                    // left to sample; the process itself ending is an error.
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) && tid != pid as i32 => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }

    /// The events of one thread, on each CPU.
    fn open_thread(tid: i32, cpus: &[usize], plan: &Plan) -> io::Result<Vec<(Sampler, bool)>> {
        let mut samplers = Vec::new();
        for &cpu in cpus {
            let mut b = plan.builder();
            b.observe_pid(tid).one_cpu(cpu).inherit(true);
            plan.cpu_clock(&mut b);
            // Per thread and CPU: keep each buffer small.
            samplers.push((b.build()?.sampled(plan.thread_pages() * 4096)?, false));
            if plan.off_cpu {
                let mut b = Builder::new(Software::CONTEXT_SWITCHES);
                b.observe_pid(tid).one_cpu(cpu).inherit(true);
                plan.switches(&mut b);
                samplers.push((b.build()?.sampled(8 * 4096)?, true));
            }
        }
        Ok(samplers)
    }

    /// Whether samples include time in kernel mode.
    pub fn kernel_included(&self) -> bool {
        self.kernel
    }

    /// Whether the samples count CPU cycles (else the software cpu-clock).
    pub fn cycles(&self) -> bool {
        self.cycles
    }

    /// Whether call chains carry the kernel's frames.
    pub fn kernel_frames(&self) -> bool {
        self.kernel_frames
    }

    /// Why kernel frames were asked for and are not recorded.
    pub fn kernel_refusal(&self) -> Option<String> {
        self.kernel_refusal.clone()
    }

    fn start(
        samplers: Vec<(Sampler, bool)>,
        plan: Plan,
        pace: Pace,
        known: Vec<(u32, Vec<Mapping>, String)>,
        threads: HashMap<u32, String>,
        unshared: Option<Counter>,
        symbols: SymbolConfig,
    ) -> io::Result<Recording> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let (kernel, cycles, kernel_frames) = (plan.kernel, plan.cycles, plan.kernel_frames);
        let kernel_refusal = plan.kernel_refusal.clone();
        let symbolizer = SymbolizerThread::start(symbols.clone())?;
        let loader = symbolizer.loader();
        let drain = std::thread::Builder::new()
            .name("perfhub-profile-drain".into())
            .spawn(move || {
                let mut drain = Drain::new(plan.dwarf.is_some(), plan.kernel_frames, loader);
                for (pid, maps, comm) in known {
                    for m in maps {
                        drain.add_mapping(pid, m);
                    }
                    drain.raw.comms.insert(pid, comm);
                }
                drain.raw.thread_names = threads;
                drain.raw.started = Some(std::time::SystemTime::now());
                drain.run(samplers, &flag, pace)
            })?;
        Ok(Recording {
            stop,
            drain: Some(drain),
            symbolizer: Some(symbolizer),
            symbols,
            kernel,
            kernel_frames,
            kernel_refusal,
            cycles,
            _unshared: unshared,
        })
    }

    /// Stops sampling, drains what is left and names it, with an off-CPU
    /// profile or not.
    pub fn finish(mut self, off_cpu: bool) -> Named {
        self.stop.store(true, Ordering::SeqCst);
        let raw = self
            .drain
            .take()
            .and_then(|d| {
                d.thread().unpark();
                d.join().ok()
            })
            .unwrap_or_default();
        match self.symbolizer.take() {
            Some(s) => s.finish(raw, off_cpu),
            None => symbolize_here(
                raw,
                off_cpu,
                std::time::Instant::now(),
                self.symbols.clone(),
            ),
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(d) = self.drain.take() {
            d.thread().unpark();
            let _ = d.join();
        }
    }
}

fn is_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) | Some(libc::ENODEV) | Some(libc::EINVAL)
    )
}

fn is_refusal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
}

/// The executable mappings of a running process: files, and anonymous
/// memory (JIT code).
pub(crate) fn read_maps(pid: u32) -> Vec<Mapping> {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return Vec::new();
    };
    text.lines().filter_map(parse_maps_line).collect()
}

/// One line of `/proc/<pid>/maps`, if it maps a file or anonymous memory
/// executable: `start-end perms offset dev inode [path]`. Anonymous memory
/// gets the path `//anon`, as in `mmap2` records; the kernel's own
/// (`[vdso]`, `[vsyscall]`) are left out.
fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut fields = line.split_whitespace();
    let range = fields.next()?;
    let perms = fields.next()?;
    let offset = fields.next()?;
    let _dev = fields.next()?;
    let _inode = fields.next()?;
    let path = PathBuf::from(fields.collect::<Vec<_>>().join(" "));
    if !perms.contains('x') {
        return None;
    }
    let path = if super::is_anonymous_path(&path) {
        PathBuf::from(super::ANON)
    } else if path.starts_with("/") || path.as_os_str() == super::VDSO {
        path
    } else {
        return None;
    };
    let (start, end) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        pgoff: u64::from_str_radix(offset, 16).ok()?,
        path,
    })
}

/// A sample waiting for the end of its round to be unwound.
struct Pending {
    pid: u32,
    tid: u32,
    time: u64,
    /// The kernel's frames, leaf first, with kernel frames on.
    kernel: Vec<u64>,
    regs: UserRegs,
    stack: Vec<u8>,
}

struct Drain {
    raw: Raw,
    unwinder: Option<DwarfUnwinder>,
    /// Whether samples' call chains keep the kernel's frames.
    kernel_frames: bool,
    pending: Vec<Pending>,
    loader: Loader,
    loading: HashSet<PathBuf>,
    /// Chains first seen this round, whose addresses are named next.
    new_chains: Vec<(u32, Vec<u64>)>,
    /// Addresses sent for naming already.
    sent: HashSet<(Code, u64)>,
}

impl Drain {
    fn new(dwarf: bool, kernel_frames: bool, loader: Loader) -> Drain {
        Drain {
            raw: Raw::default(),
            unwinder: dwarf.then(DwarfUnwinder::new),
            kernel_frames,
            pending: Vec::new(),
            loader,
            loading: HashSet::new(),
            new_chains: Vec::new(),
            sent: HashSet::new(),
        }
    }

    fn add_mapping(&mut self, pid: u32, m: Mapping) {
        if !m.is_anonymous() && self.loading.insert(m.path.clone()) {
            // A runtime maps its jitdump file to say where it is; it is
            // read for names of JIT code, not as a binary.
            if super::jitdump::is_jitdump(&m.path) {
                self.loader.jitdump(pid, m.path.clone());
            } else {
                self.loader.load(m.path.clone(), m.pgoff);
            }
        }
        if let Some(u) = &mut self.unwinder {
            u.add_mapping(pid, &m);
        }
        self.raw.maps.entry(pid).or_default().push(m);
    }

    /// Reads the buffers every `pace.every`, and every 10 ms after a
    /// round that found one a quarter full (a burst: a fork storm's task
    /// and mapping records, which no sampling rate bounds).
    fn run(mut self, mut samplers: Vec<(Sampler, bool)>, stop: &AtomicBool, pace: Pace) -> Raw {
        loop {
            let stopping = stop.load(Ordering::SeqCst);
            if stopping {
                for (s, _) in &mut samplers {
                    let _ = s.disable();
                }
            }
            let mut fullest = 0;
            for (s, switches) in &mut samplers {
                fullest = fullest.max(self.read(s, *switches));
            }
            self.end_round();
            if stopping {
                return self.raw;
            }
            // Woken early by `Recording::finish`, so that the last round
            // starts as soon as the command has ended.
            std::thread::park_timeout(if fullest * 4 >= pace.buffer_bytes {
                Pace::FASTEST
            } else {
                pace.every
            });
        }
    }

    /// Reads one buffer, `switches` marking the context-switch event's;
    /// how many bytes it held.
    fn read(&mut self, sampler: &mut Sampler, switches: bool) -> usize {
        use perf_event::data::Record;
        let mut bytes = 0;
        while let Some(record) = sampler.next_record() {
            bytes += record.len();
            let misc = record.misc();
            if record.ty() == RECORD_SWITCH {
                // The parsed form drops the sample id; it is the record's
                // whole body here: pid, tid (u32 each), then time (u64).
                let body = record.to_contiguous();
                if body.len() >= 16 {
                    let u32_at = |i: usize| u32::from_ne_bytes(body[i..i + 4].try_into().unwrap());
                    let time = u64::from_ne_bytes(body[8..16].try_into().unwrap());
                    let kind = if misc & SWITCH_OUT != 0 {
                        SwitchKind::OutRecord {
                            preempted: misc & SWITCH_OUT_PREEMPT != 0,
                        }
                    } else {
                        SwitchKind::In
                    };
                    self.raw.switches.push(Switch {
                        pid: u32_at(0),
                        tid: u32_at(4),
                        time,
                        kind,
                    });
                }
                continue;
            }
            match record.parse_record() {
                Ok(Record::Sample(sample)) => {
                    let (Some(pid), Some(tid)) = (sample.pid(), sample.tid()) else {
                        continue;
                    };
                    if switches {
                        if let (Some(time), Some(chain)) = (
                            sample.time(),
                            sample.callchain().and_then(crate::cpu::user_chain),
                        ) {
                            self.raw.switches.push(Switch {
                                pid,
                                tid,
                                time,
                                kind: SwitchKind::Out(chain),
                            });
                        }
                        continue;
                    }
                    if self.unwinder.is_some() {
                        let regs = sample.regs_user().and_then(|r| user_regs(&r.regs));
                        let kernel = match self.kernel_frames {
                            true => sample
                                .callchain()
                                .and_then(|c| kernel::sample_chain(c, true))
                                .unwrap_or_default(),
                            false => Vec::new(),
                        };
                        let time = sample.time().unwrap_or(0);
                        match (regs, sample.stack_user()) {
                            (Some(regs), Some(stack)) => self.pending.push(Pending {
                                pid,
                                tid,
                                time,
                                kernel,
                                regs,
                                stack: stack.to_vec(),
                            }),
                            // A sample taken in the kernel with no user
                            // registers (a kernel thread, or exit): its
                            // kernel frames alone, where they are recorded.
                            _ if !kernel.is_empty() => {
                                self.raw.samples += 1;
                                self.add_chain(pid, tid, time, kernel);
                            }
                            _ => self.raw.unwind_failures += 1,
                        }
                        continue;
                    }
                    match sample
                        .callchain()
                        .and_then(|c| kernel::sample_chain(c, self.kernel_frames))
                    {
                        Some(chain) => {
                            self.raw.samples += 1;
                            self.add_chain(pid, tid, sample.time().unwrap_or(0), chain);
                        }
                        None => self.raw.unwind_failures += 1,
                    }
                }
                Ok(Record::Mmap2(m)) => {
                    if m.prot & libc::PROT_EXEC as u32 == 0 {
                        continue;
                    }
                    let path = PathBuf::from(m.filename_os());
                    self.add_mapping(
                        m.pid,
                        Mapping {
                            start: m.addr,
                            end: m.addr + m.len,
                            pgoff: m.pgoff,
                            path,
                        },
                    );
                }
                // A new thread is named as the thread that started it,
                // until it renames itself (a comm record).
                Ok(Record::Fork(f)) if f.pid == f.ppid => {
                    if let Some(name) = self.raw.thread_names.get(&f.ptid).cloned() {
                        self.raw.thread_names.entry(f.tid).or_insert(name);
                    }
                }
                // A fork only fills in what the child does not have yet (its
                // own records may have been read first), and an exec keeps
                // the old mappings (lookups prefer the newest that matches).
                Ok(Record::Fork(f)) => {
                    if let Some(parent) = self.raw.maps.get(&f.ppid).cloned() {
                        self.raw.maps.entry(f.pid).or_insert(parent);
                    }
                    if let Some(name) = self.raw.comms.get(&f.ppid).cloned() {
                        self.raw.comms.entry(f.pid).or_insert(name);
                    }
                    if let Some(name) = self.raw.thread_names.get(&f.ptid).cloned() {
                        self.raw.thread_names.entry(f.tid).or_insert(name);
                    }
                    if let Some(u) = &mut self.unwinder {
                        u.fork(f.ppid, f.pid);
                    }
                }
                Ok(Record::Comm(c)) => {
                    let name = String::from_utf8_lossy(&c.comm).into_owned();
                    // An exec or a rename (prctl) names the thread.
                    self.raw.thread_names.insert(c.tid, name.clone());
                    if misc & COMM_EXEC != 0 {
                        self.raw.comms.insert(c.pid, name);
                        if self.unwinder.is_some() {
                            // Samples taken before the exec belong to the
                            // old program: unwind them first.
                            self.end_round();
                        }
                        if let Some(u) = &mut self.unwinder {
                            u.exec(c.pid);
                        }
                    } else {
                        self.raw.comms.entry(c.pid).or_insert(name);
                    }
                }
                Ok(Record::Lost(l)) => self.raw.lost += l.lost,
                _ => {}
            }
        }
        bytes
    }

    fn add_chain(&mut self, pid: u32, tid: u32, time: u64, chain: Vec<u64>) {
        let next = self.raw.chains.len() as u32;
        let id = match self.raw.chains.entry((pid, chain)) {
            Entry::Occupied(mut e) => {
                e.get_mut().count += 1;
                e.get().id
            }
            Entry::Vacant(e) => {
                self.new_chains.push(e.key().clone());
                e.insert(ChainCount { count: 1, id: next });
                next
            }
        };
        if self.raw.timed.len() < MAX_TIMED_SAMPLES {
            self.raw.timed.push(TimedSample {
                time,
                tid,
                chain: id,
            });
        } else {
            self.raw.untimed += 1;
        }
    }

    fn end_round(&mut self) {
        if let Some(unwinder) = &mut self.unwinder {
            let pending = std::mem::take(&mut self.pending);
            let chains: Vec<_> = pending
                .into_iter()
                .map(|p| {
                    let mut chain = p.kernel;
                    chain.extend(unwinder.unwind(p.pid, p.regs, &p.stack));
                    (p.pid, p.tid, p.time, chain)
                })
                .collect();
            for (pid, tid, time, chain) in chains {
                self.raw.samples += 1;
                self.add_chain(pid, tid, time, chain);
            }
        }
        // The symbolizer names the round's new addresses while the command
        // runs on, so little is left to name when it ends.
        let mut batches: HashMap<Code, Vec<u64>> = HashMap::new();
        for (pid, chain) in self.new_chains.drain(..) {
            for (i, &addr) in chain.iter().enumerate() {
                if let Some(key) = locate(&self.raw.maps, pid, lookup_address(i, addr))
                    && self.sent.insert(key.clone())
                {
                    batches.entry(key.0).or_default().push(key.1);
                }
            }
        }
        for (code, offsets) in batches {
            self.loader.name(code, offsets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(frequency_hz: u64, dwarf: Option<u32>, off_cpu: bool) -> Plan {
        Plan {
            frequency_hz,
            dwarf,
            off_cpu,
            kernel: true,
            cycles: false,
            kernel_frames: false,
            kernel_refusal: None,
        }
    }

    #[test]
    fn the_drain_sleeps_longer_at_low_rates_but_never_lets_a_buffer_fill() {
        let max_stack = max_stack();
        for (plan, bytes) in [
            (plan(100, None, false), 64 * 4096),
            (plan(999, None, false), 64 * 4096),
            (plan(999, None, false), 8 * 4096),
            (plan(999, Some(16384), false), 512 * 4096),
            (plan(4999, Some(16384), false), 512 * 4096),
            (plan(10_000, Some(65528), false), 128 * 4096),
        ] {
            let pace = plan.pace(bytes);
            assert_eq!(pace.buffer_bytes, bytes);
            assert!((Pace::FASTEST..=Pace::SLOWEST).contains(&pace.every));
            // Between two reads, at most half a buffer of the largest
            // samples, unless the fastest pace is all there is.
            let largest = 64 + 8 * (max_stack + 8) + plan.dwarf.map_or(0, |d| u64::from(d) + 528);
            let filled = largest * plan.frequency_hz * pace.every.as_millis() as u64 / 1000;
            assert!(
                filled <= bytes as u64 / 2 || pace.every == Pace::FASTEST,
                "{} Hz, {bytes} bytes: {filled} bytes in {:?}",
                plan.frequency_hz,
                pace.every
            );
        }
        // The default 999 Hz frame-pointer buffers: read every 100 ms, not 10.
        assert_eq!(plan(999, None, false).pace(64 * 4096).every, Pace::SLOWEST);
        assert_eq!(plan(100, None, false).pace(8 * 4096).every, Pace::SLOWEST);
        // Off-CPU events have no rate to go by.
        assert_eq!(plan(1, None, true).pace(64 * 4096).every, Pace::FASTEST);
    }

    #[test]
    fn the_vdso_is_a_mapping_of_its_own() {
        let m = parse_maps_line(
            "7ffd1b7f3000-7ffd1b7f5000 r-xp 00000000 00:00 0                          [vdso]",
        )
        .unwrap();
        assert_eq!(m.path, PathBuf::from(super::super::VDSO));
        assert!(!m.is_anonymous());
        // Other kernel mappings are not code perfhub can name.
        assert!(
            parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]")
                .is_none()
        );
    }

    #[test]
    fn parses_executable_file_mappings_only() {
        let m =
            parse_maps_line("55d0c8a00000-55d0c8a21000 r-xp 00002000 fd:01 1234 /usr/bin/my prog")
                .unwrap();
        assert_eq!(m.start, 0x55d0c8a00000);
        assert_eq!(m.end, 0x55d0c8a21000);
        assert_eq!(m.pgoff, 0x2000);
        assert_eq!(m.path, PathBuf::from("/usr/bin/my prog"));
        assert!(parse_maps_line("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]").is_none());
        // Anonymous executable memory: JIT code, named by perf maps.
        for line in [
            "7f8efe7c3000-7f8efe7ff000 rwxp 00000000 00:00 0 ",
            "7f8efe7c3000-7f8efe7ff000 r-xp 00000000 00:00 0",
            "7f8efe7c3000-7f8efe7ff000 r-xp 00000000 00:00 0   [anon:v8 code]",
        ] {
            let m = parse_maps_line(line).unwrap();
            assert!(m.is_anonymous(), "{line}");
            assert_eq!((m.start, m.end), (0x7f8efe7c3000, 0x7f8efe7ff000));
        }
        assert!(parse_maps_line("7f8efe7c3000-7f8efe7ff000 rw-p 00000000 00:00 0").is_none());
        assert!(parse_maps_line("7f00-7f10 r--p 00000000 fd:01 1 /lib/x.so").is_none());
        assert!(parse_maps_line("garbage").is_none());
    }
}
