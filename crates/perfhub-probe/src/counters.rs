//! perf_event counters attached to a child process.
//!
//! Counters are opened on the child between `fork` and `exec` with
//! `enable_on_exec` and `inherit`, so they count the benchmarked program and
//! every process it starts, but none of perfhub's own work. Each kind that
//! the machine refuses is dropped from the [`CounterPlan`] once, with the
//! reason kept for the report.

use std::io;

use perf_event::Builder;
use perf_event::events::{Hardware, Software};

/// A perf_event counter perfhub knows how to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterKind {
    /// CPU time of the task, in nanoseconds (software).
    TaskClock,
    /// Page faults (software).
    PageFaults,
    /// Context switches (software).
    ContextSwitches,
    /// Migrations between CPUs (software).
    CpuMigrations,
    /// Retired instructions (hardware).
    Instructions,
    /// CPU cycles (hardware).
    Cycles,
}

impl CounterKind {
    /// The software counters.
    pub const SOFTWARE: [CounterKind; 4] = [
        CounterKind::TaskClock,
        CounterKind::PageFaults,
        CounterKind::ContextSwitches,
        CounterKind::CpuMigrations,
    ];
    /// The hardware counters.
    pub const HARDWARE: [CounterKind; 2] = [CounterKind::Instructions, CounterKind::Cycles];

    /// The report metric name of this counter.
    pub fn metric(self) -> &'static str {
        use perfhub_core::report::metric;
        match self {
            CounterKind::TaskClock => metric::TASK_CLOCK,
            CounterKind::PageFaults => metric::PAGE_FAULTS,
            CounterKind::ContextSwitches => metric::CONTEXT_SWITCHES,
            CounterKind::CpuMigrations => metric::CPU_MIGRATIONS,
            CounterKind::Instructions => metric::INSTRUCTIONS,
            CounterKind::Cycles => metric::CYCLES,
        }
    }

    /// Whether this is a hardware (PMU) counter.
    pub fn is_hardware(self) -> bool {
        matches!(self, CounterKind::Instructions | CounterKind::Cycles)
    }

    fn builder(self) -> Builder<'static> {
        let mut b = match self {
            CounterKind::TaskClock => Builder::new(Software::TASK_CLOCK),
            CounterKind::PageFaults => Builder::new(Software::PAGE_FAULTS),
            CounterKind::ContextSwitches => Builder::new(Software::CONTEXT_SWITCHES),
            CounterKind::CpuMigrations => Builder::new(Software::CPU_MIGRATIONS),
            CounterKind::Instructions => Builder::new(Hardware::INSTRUCTIONS),
            CounterKind::Cycles => Builder::new(Hardware::CPU_CYCLES),
        };
        if !self.is_hardware() {
            // Software events happen in the kernel on the task's behalf.
            b.include_kernel();
        }
        b
    }
}

/// A counter kind the machine refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// The refused counter.
    pub kind: CounterKind,
    /// Why, in words for the report.
    pub reason: String,
}

/// The counters still worth trying, and those already refused.
#[derive(Debug, Clone)]
pub struct CounterPlan {
    wanted: Vec<CounterKind>,
    unavailable: Vec<Unavailable>,
}

impl CounterPlan {
    /// A plan that tries `kinds`.
    pub fn new(kinds: &[CounterKind]) -> Self {
        CounterPlan {
            wanted: kinds.to_vec(),
            unavailable: Vec::new(),
        }
    }

    /// A plan that tries every software and hardware counter.
    pub fn all() -> Self {
        let mut kinds = CounterKind::SOFTWARE.to_vec();
        kinds.extend(CounterKind::HARDWARE);
        CounterPlan::new(&kinds)
    }

    /// A plan that opens nothing.
    pub fn none() -> Self {
        CounterPlan::new(&[])
    }

    /// Counters refused so far.
    pub fn unavailable(&self) -> &[Unavailable] {
        &self.unavailable
    }

    /// Counters that opened so far (or have not been tried).
    pub fn active(&self) -> &[CounterKind] {
        &self.wanted
    }

    /// Opens the planned counters on `pid`, to start counting when it calls
    /// `exec`. Kinds that fail are dropped from the plan for good.
    pub fn open_for_exec(&mut self, pid: i32) -> Counters {
        let mut opened = Vec::with_capacity(self.wanted.len());
        let mut refused = Vec::new();
        for &kind in &self.wanted {
            let mut b = kind.builder();
            b.observe_pid(pid)
                .any_cpu()
                .inherit(true)
                .enable_on_exec(true);
            let result = b.build().or_else(|e| {
                // A kernel that refuses kernel-mode counting may still count
                // user mode.
                if !kind.is_hardware() && is_permission(&e) {
                    let mut b = kind.builder();
                    b.exclude_kernel(true);
                    b.observe_pid(pid)
                        .any_cpu()
                        .inherit(true)
                        .enable_on_exec(true);
                    b.build()
                } else {
                    Err(e)
                }
            });
            match result {
                Ok(c) => opened.push((kind, c)),
                Err(e) => refused.push(Unavailable {
                    kind,
                    reason: explain(&e),
                }),
            }
        }
        for u in refused {
            self.wanted.retain(|k| *k != u.kind);
            self.unavailable.push(u);
        }
        Counters { opened }
    }
}

/// Counters open on one process.
pub struct Counters {
    opened: Vec<(CounterKind, perf_event::Counter)>,
}

impl Counters {
    /// Reads every counter, scaled for multiplexing where the kernel had to
    /// share the hardware.
    pub fn read(&mut self) -> Vec<(CounterKind, u64)> {
        let mut out = Vec::with_capacity(self.opened.len());
        for (kind, counter) in &mut self.opened {
            if let Ok(data) = counter.read_full() {
                let count = data.count();
                let value = match (data.time_enabled(), data.time_running()) {
                    (Some(en), Some(run)) if !run.is_zero() && run < en => {
                        (count as f64 * en.as_secs_f64() / run.as_secs_f64()) as u64
                    }
                    _ => count,
                };
                out.push((*kind, value));
            }
        }
        out
    }
}

fn is_permission(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
}

/// Words for why perf_event_open refused, with what would fix it.
pub fn explain(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) => {
            "not supported here (the CPU or hypervisor exposes no such counter)".to_string()
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".to_string());
            format!(
                "refused: kernel.perf_event_paranoid is {paranoid}, or a seccomp profile or missing CAP_PERFMON forbids it; run as root or set kernel.perf_event_paranoid to 1 or lower"
            )
        }
        Some(libc::ENOSYS) => {
            "perf_event_open is not available (blocked by seccomp or not built into the kernel)"
                .to_string()
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            "no file descriptors left to open the counter".to_string()
        }
        _ => format!("perf_event_open failed: {e}"),
    }
}
