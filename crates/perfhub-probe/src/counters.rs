//! perf_event counters attached to a child process.
//!
//! See [`CounterPlan`] for how the counters count a child and every process
//! it starts, but none of perfhub's own work. Each kind that the machine
//! refuses is dropped from the plan once, with the reason kept for the report.

use std::io;

use perf_event::Builder;
use perf_event::events::{Hardware, Software};

use crate::perf_access::{self, AccessFacts, KernelMode};

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

/// The counters still worth trying, those already refused, and those open.
///
/// Counters are opened once, on the calling thread itself, disabled, with
/// `inherit` and `enable_on_exec`: every child the thread spawns gets a copy
/// that starts counting when the child calls `exec`, and adds its counts
/// back when it exits. perfhub itself never execs, so its own work is never
/// counted; a run's counts are the difference of two [`Snapshot`]s taken
/// around it. This costs two reads per counter and run instead of an
/// open and a close.
#[derive(Debug)]
pub struct CounterPlan {
    wanted: Vec<CounterKind>,
    unavailable: Vec<Unavailable>,
    open: Option<Open>,
    suspended: bool,
}

#[derive(Debug)]
struct Open {
    tid: libc::pid_t,
    counters: Vec<(CounterKind, perf_event::Counter)>,
    /// A non-inherited event kept open beside the counters; see
    /// [`CounterPlan::open_on_this_thread`].
    _unshared: Option<perf_event::Counter>,
}

/// Counter totals at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    values: Vec<(CounterKind, u64, u64, u64)>,
}

impl Snapshot {
    /// The counts accumulated between `earlier` and this snapshot, scaled
    /// for multiplexing where the kernel had to share the hardware.
    pub fn since(&self, earlier: &Snapshot) -> Vec<(CounterKind, u64)> {
        self.values
            .iter()
            .filter_map(|&(kind, count, enabled, running)| {
                let &(_, c0, e0, r0) = earlier.values.iter().find(|v| v.0 == kind)?;
                let count = count.checked_sub(c0)?;
                let (en, run) = (enabled.saturating_sub(e0), running.saturating_sub(r0));
                let value = if run > 0 && run < en {
                    (count as f64 * en as f64 / run as f64) as u64
                } else {
                    count
                };
                Some((kind, value))
            })
            .collect()
    }
}

impl CounterPlan {
    /// A plan that tries `kinds`.
    pub fn new(kinds: &[CounterKind]) -> Self {
        CounterPlan {
            wanted: kinds.to_vec(),
            unavailable: Vec::new(),
            open: None,
            suspended: false,
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

    /// Closes the counters until `set_suspended(false)`: children spawned
    /// meanwhile carry no perf events at all, and snapshots are empty.
    pub fn set_suspended(&mut self, suspended: bool) {
        self.suspended = suspended;
        if suspended {
            self.open = None;
        }
    }

    /// Counters refused so far.
    pub fn unavailable(&self) -> &[Unavailable] {
        &self.unavailable
    }

    /// Counters that opened (or have not been tried yet).
    pub fn active(&self) -> &[CounterKind] {
        &self.wanted
    }

    /// The current totals of the children of this thread, opening the
    /// counters on first use (and again if called from another thread).
    /// Kinds that fail to open are dropped from the plan for good.
    pub fn snapshot(&mut self) -> Snapshot {
        if self.wanted.is_empty() || self.suspended {
            return Snapshot::default();
        }
        thread_local! {
            // SAFETY: gettid has no preconditions.
            static TID: libc::pid_t = unsafe { libc::gettid() };
        }
        let tid = TID.with(|t| *t);
        if self.open.as_ref().is_none_or(|o| o.tid != tid) {
            self.open = Some(self.open_on_this_thread(tid));
        }
        let open = self.open.as_mut().expect("opened above");
        let values = open
            .counters
            .iter_mut()
            .filter_map(|(kind, c)| {
                let d = c.read_full().ok()?;
                let ns = |t: Option<std::time::Duration>| t.map_or(0, |t| t.as_nanos() as u64);
                Some((*kind, d.count(), ns(d.time_enabled()), ns(d.time_running())))
            })
            .collect();
        Snapshot { values }
    }

    /// Opens the counters on the calling thread.
    ///
    /// One more event is opened without `inherit`. The kernel marks a
    /// child's perf context as a clone of its parent's only when every event
    /// was inherited, and swaps the contexts of clones at context switches
    /// between parent and child as an optimization, which would move
    /// perfhub's own disabled counters into the child and enable them on its
    /// `exec`. With one event not inherited, the contexts are never clones,
    /// each child keeps its own copies, and their counts add up exactly.
    fn open_on_this_thread(&mut self, tid: libc::pid_t) -> Open {
        let mut counters = Vec::with_capacity(self.wanted.len());
        let mut refused = Vec::new();
        let build = |kind: CounterKind, user_only: bool| {
            let mut b = kind.builder();
            if user_only {
                b.exclude_kernel(true);
            }
            b.observe_self()
                .any_cpu()
                .inherit(true)
                .enable_on_exec(true);
            b.build()
        };
        for &kind in &self.wanted {
            // Software counters count kernel mode too; hardware ones do not.
            let first_mode = if kind.is_hardware() {
                KernelMode::Excluded
            } else {
                KernelMode::Included
            };
            // A kernel that refuses kernel-mode counting may still count user mode.
            let result = build(kind, false)
                .map_err(|e| (e, first_mode))
                .or_else(|(e, mode)| {
                    if !kind.is_hardware() && is_permission(&e) {
                        build(kind, true).map_err(|e| (e, KernelMode::Excluded))
                    } else {
                        Err((e, mode))
                    }
                });
            match result {
                Ok(c) => counters.push((kind, c)),
                Err((e, mode)) => refused.push(Unavailable {
                    kind,
                    reason: explain_event(&e, mode),
                }),
            }
        }
        for u in refused {
            self.wanted.retain(|k| *k != u.kind);
            self.unavailable.push(u);
        }
        let unshared = if counters.is_empty() {
            None
        } else {
            let mut b = Builder::new(Software::DUMMY);
            b.observe_self().any_cpu().inherit(false);
            b.build().ok()
        };
        Open {
            tid,
            counters,
            _unshared: unshared,
        }
    }
}

/// Pays the kernel's one-time cost of the first perf event on another
/// thread, while a command runs.
///
/// The kernel enables the scheduler hooks of perf events when the first
/// one on the machine opens (patching its code on every CPU), and disables
/// them again about a second after the last one closes. That costs 10 to
/// 20 ms on a virtual machine, and would fall on whichever open comes first.
/// [`KernelWarmup::after`] starts a thread that, unless dropped before
/// `delay` elapses, opens one event on itself (a dummy one, which counts
/// nothing) and keeps it open until dropped: a command that turns out long
/// enough for counters has paid that cost while it ran, and opening the
/// counters after it is cheap.
#[derive(Debug)]
pub struct KernelWarmup {
    _stop: std::sync::mpsc::Sender<()>,
}

impl KernelWarmup {
    /// Starts the thread; `None` if it cannot be started.
    ///
    /// Call it while no inherited counter is open on the calling thread: the
    /// new thread would inherit them.
    pub fn after(delay: std::time::Duration) -> Option<KernelWarmup> {
        use std::sync::mpsc::{RecvTimeoutError, channel};
        let (stop, stopped) = channel::<()>();
        std::thread::Builder::new()
            .name("perfhub-perf-warmup".into())
            .spawn(move || {
                if stopped.recv_timeout(delay) == Err(RecvTimeoutError::Timeout) {
                    let mut b = Builder::new(Software::DUMMY);
                    b.observe_self().any_cpu();
                    let event = b.build().ok();
                    // Held until the warm-up is dropped.
                    let _ = stopped.recv();
                    drop(event);
                }
            })
            .ok()?;
        Some(KernelWarmup { _stop: stop })
    }
}

fn is_permission(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM))
}

/// Words for why perf_event_open refused, with what would fix it.
///
/// An OS error is diagnosed from its errno and the facts of this process
/// (`kernel.perf_event_paranoid`, seccomp mode, capabilities); see
/// [`perf_access::diagnose`].
pub fn explain(e: &io::Error) -> String {
    explain_event(e, KernelMode::Unknown)
}

/// [`explain`] for an event whose kernel-mode setting is known: pass
/// [`KernelMode::Excluded`] when a user-only retry was refused too, so that
/// `kernel.perf_event_paranoid` 2 is not blamed for it.
pub fn explain_event(e: &io::Error, kernel: KernelMode) -> String {
    match e.raw_os_error() {
        Some(errno) => perf_access::diagnose_event(errno, &AccessFacts::read(), kernel),
        None => format!(
            "perf_event_open could not be set up: {e}; this is not a refusal by the kernel but a configuration perfhub should not have asked for; fix: report it with this message"
        ),
    }
}
