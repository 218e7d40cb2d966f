//! Exact counts: per-thread counter slots, the process's live bytes and its
//! peaks.
//!
//! Every thread owns a slot of counters that only it writes, so counting an
//! allocation costs plain loads and stores on a cache line no other thread
//! writes; the one shared read-modify-write per operation is on the live
//! byte count, which the exact process peak needs. A thread gets its slot on
//! its first allocation and gives it back when it exits, folding its counts
//! into a shared slot; threads beyond [`SLOTS`] (or exiting, or created
//! before the release hook can be registered) count in the shared slot with
//! atomic adds, which is slower but just as exact.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize};
use std::sync::{Mutex, MutexGuard};

/// Slots owned by one thread each; the slot after them is shared.
pub(super) const SLOTS: usize = 1024;

/// One thread's counters, on cache lines of their own.
#[repr(C, align(128))]
pub(super) struct Counters {
    allocations: AtomicU64,
    frees: AtomicU64,
    reallocations: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
    /// The highest `bytes_allocated - bytes_freed` of the owner since its
    /// last thread region started; read and written by the owner only.
    peak_net: AtomicI64,
    claimed: AtomicBool,
}

impl Counters {
    const fn new() -> Self {
        Counters {
            allocations: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            peak_net: AtomicI64::new(0),
            claimed: AtomicBool::new(false),
        }
    }

    fn totals(&self) -> Totals {
        Totals {
            allocations: self.allocations.load(Relaxed),
            frees: self.frees.load(Relaxed),
            reallocations: self.reallocations.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            bytes_freed: self.bytes_freed.load(Relaxed),
        }
    }

    #[inline(always)]
    fn net(&self) -> i64 {
        self.bytes_allocated
            .load(Relaxed)
            .wrapping_sub(self.bytes_freed.load(Relaxed)) as i64
    }
}

static TABLE: [Counters; SLOTS + 1] = [const { Counters::new() }; SLOTS + 1];
const SHARED: &Counters = &TABLE[SLOTS];

/// One more than the highest slot index ever claimed.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
/// Makes a thread's fold into the shared slot atomic to readers.
static FOLD: Mutex<()> = Mutex::new(());
/// Set by the first allocation that goes through [`super::Tracking`].
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Live bytes and the highest value they reached since the last fold, on one
/// cache line: the allocation that writes the first reads the second for
/// free.
#[repr(C, align(128))]
struct Live {
    bytes: AtomicU64,
    window_peak: AtomicU64,
}

static LIVE: Live = Live {
    bytes: AtomicU64::new(0),
    window_peak: AtomicU64::new(0),
};

/// Everything the allocator keeps per thread. Only `Cell`s with constant
/// initializers and no destructor, so the allocator can reach it at any
/// time, even while the thread's other thread-locals are being destroyed,
/// and reaching it never allocates.
pub(super) struct ThreadState {
    slot: Cell<*const Counters>,
    shared: Cell<bool>,
    /// Set while this thread runs the profiler's own code (sampling,
    /// symbolizing): allocations and frees made then are counted but not
    /// sampled, so the profiler never re-enters itself.
    pub(super) guard: Cell<bool>,
    /// Bytes left before the next sampled allocation.
    pub(super) countdown: Cell<i64>,
    /// The profile epoch the countdown was drawn for.
    pub(super) epoch: Cell<u64>,
    pub(super) rng: Cell<u64>,
    /// The highest address of this thread's stack, 0 until asked.
    pub(super) stack_top: Cell<usize>,
}

impl ThreadState {
    const fn new() -> Self {
        ThreadState {
            slot: Cell::new(ptr::null()),
            shared: Cell::new(false),
            guard: Cell::new(false),
            countdown: Cell::new(0),
            epoch: Cell::new(0),
            rng: Cell::new(0),
            stack_top: Cell::new(0),
        }
    }

    #[inline(always)]
    fn counters(&self, from_allocator: bool) -> &'static Counters {
        let slot = self.slot.get();
        if slot.is_null() {
            self.claim(from_allocator)
        } else {
            // SAFETY: `slot` only ever points into the static `TABLE`.
            unsafe { &*slot }
        }
    }

    #[cold]
    #[inline(never)]
    fn claim(&self, from_allocator: bool) -> &'static Counters {
        if from_allocator {
            INSTALLED.store(true, Relaxed);
        }
        // Count in the shared slot while the release hook is registered:
        // registering may allocate, and those allocations must not claim.
        self.slot.set(SHARED);
        self.shared.set(true);
        if RELEASE.try_with(|_| ()).is_err() {
            // The thread is exiting: stay on the shared slot.
            return SHARED;
        }
        for (index, counters) in TABLE[..SLOTS].iter().enumerate() {
            if counters
                .claimed
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
            {
                HIGH_WATER.fetch_max(index + 1, Release);
                self.slot.set(counters);
                self.shared.set(false);
                return counters;
            }
        }
        SHARED
    }
}

thread_local! {
    static THREAD: ThreadState = const { ThreadState::new() };
    static RELEASE: SlotRelease = const { SlotRelease };
}

/// The calling thread's state, without a closure (which keeps the
/// allocator's fast path small enough to inline).
#[inline(always)]
pub(super) fn thread() -> &'static ThreadState {
    // SAFETY: `THREAD` is const-initialized and has no destructor, so it is
    // never torn down and stays at one address for the thread's whole life.
    // `ThreadState` is not `Sync`, so the reference cannot leave the thread.
    THREAD.with(|t| unsafe { &*(t as *const ThreadState) })
}

/// Gives the thread's slot back when the thread exits.
struct SlotRelease;

impl Drop for SlotRelease {
    fn drop(&mut self) {
        {
            let t = thread();
            if t.shared.get() || t.slot.get().is_null() {
                return;
            }
            // SAFETY: `slot` only ever points into the static `TABLE`.
            let counters = unsafe { &*t.slot.get() };
            // From here on the thread's allocations count in the shared slot.
            t.slot.set(SHARED);
            t.shared.set(true);
            let _fold = fold_lock();
            for (from, to) in [
                (&counters.allocations, &SHARED.allocations),
                (&counters.frees, &SHARED.frees),
                (&counters.reallocations, &SHARED.reallocations),
                (&counters.bytes_allocated, &SHARED.bytes_allocated),
                (&counters.bytes_freed, &SHARED.bytes_freed),
            ] {
                to.fetch_add(from.swap(0, Relaxed), Relaxed);
            }
            counters.peak_net.store(0, Relaxed);
            counters.claimed.store(false, Release);
        }
    }
}

fn fold_lock() -> MutexGuard<'static, ()> {
    FOLD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Adds `x` to a counter: a plain load and store on an owned slot, an atomic
/// add on the shared one. Returns the new value.
#[inline(always)]
fn bump(counter: &AtomicU64, x: u64, shared: bool) -> u64 {
    if shared {
        counter.fetch_add(x, Relaxed).wrapping_add(x)
    } else {
        let v = counter.load(Relaxed).wrapping_add(x);
        counter.store(v, Relaxed);
        v
    }
}

#[inline(always)]
fn raise_peaks(counters: &Counters, shared: bool, live: u64) {
    if !shared {
        let net = counters.net();
        if net > counters.peak_net.load(Relaxed) {
            counters.peak_net.store(net, Relaxed);
        }
    }
    if live > LIVE.window_peak.load(Relaxed) {
        LIVE.window_peak.fetch_max(live, Relaxed);
    }
}

/// Counts an allocation of `size` bytes; returns the live bytes after it.
#[inline(always)]
pub(super) fn on_alloc(t: &ThreadState, size: u64) -> u64 {
    let counters = t.counters(true);
    let shared = t.shared.get();
    bump(&counters.allocations, 1, shared);
    bump(&counters.bytes_allocated, size, shared);
    let live = LIVE.bytes.fetch_add(size, Relaxed).wrapping_add(size);
    raise_peaks(counters, shared, live);
    live
}

/// Counts a free of `size` bytes.
#[inline(always)]
pub(super) fn on_free(t: &ThreadState, size: u64) {
    let counters = t.counters(true);
    let shared = t.shared.get();
    bump(&counters.frees, 1, shared);
    bump(&counters.bytes_freed, size, shared);
    LIVE.bytes.fetch_sub(size, Relaxed);
}

/// Counts a reallocation from `old` to `new` bytes; returns the live bytes
/// after it.
#[inline(always)]
pub(super) fn on_realloc(t: &ThreadState, old: u64, new: u64) -> u64 {
    let counters = t.counters(true);
    let shared = t.shared.get();
    bump(&counters.reallocations, 1, shared);
    bump(&counters.bytes_allocated, new, shared);
    bump(&counters.bytes_freed, old, shared);
    if new >= old {
        let grow = new - old;
        let live = LIVE.bytes.fetch_add(grow, Relaxed).wrapping_add(grow);
        raise_peaks(counters, shared, live);
        live
    } else {
        let shrink = old - new;
        LIVE.bytes.fetch_sub(shrink, Relaxed).wrapping_sub(shrink)
    }
}

/// Whether any allocation went through [`super::Tracking`] yet.
pub(super) fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The live bytes now.
pub(super) fn live_bytes() -> u64 {
    LIVE.bytes.load(Relaxed)
}

/// Cumulative counts, process-wide or of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Totals {
    pub allocations: u64,
    pub frees: u64,
    pub reallocations: u64,
    pub bytes_allocated: u64,
    pub bytes_freed: u64,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.allocations = self.allocations.wrapping_add(other.allocations);
        self.frees = self.frees.wrapping_add(other.frees);
        self.reallocations = self.reallocations.wrapping_add(other.reallocations);
        self.bytes_allocated = self.bytes_allocated.wrapping_add(other.bytes_allocated);
        self.bytes_freed = self.bytes_freed.wrapping_add(other.bytes_freed);
    }

    pub(super) fn since(self, start: Totals) -> Totals {
        Totals {
            allocations: self.allocations.wrapping_sub(start.allocations),
            frees: self.frees.wrapping_sub(start.frees),
            reallocations: self.reallocations.wrapping_sub(start.reallocations),
            bytes_allocated: self.bytes_allocated.wrapping_sub(start.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(start.bytes_freed),
        }
    }
}

/// The process's counts: every slot plus the shared one. Each counter is
/// exact as of some moment during the call; a thread exiting meanwhile is
/// counted once.
pub(super) fn process_totals() -> Totals {
    let _fold = fold_lock();
    let mut sum = SHARED.totals();
    for counters in &TABLE[..HIGH_WATER.load(Acquire).min(SLOTS)] {
        sum.add(counters.totals());
    }
    sum
}

/// The calling thread's own counters, read at the start and end of a thread
/// region.
pub(super) struct ThreadMark {
    counters: &'static Counters,
    /// Whether the thread counts in the shared slot (and so the region is
    /// not exact).
    pub shared: bool,
    pub start: Totals,
    net0: i64,
    saved_peak: i64,
}

impl ThreadMark {
    /// Starts measuring the calling thread; the thread's peak restarts at its
    /// current net bytes.
    pub(super) fn start() -> ThreadMark {
        {
            let t = thread();
            let counters = t.counters(false);
            let shared = t.shared.get();
            let net0 = counters.net();
            let saved_peak = counters.peak_net.load(Relaxed);
            if !shared {
                counters.peak_net.store(net0, Relaxed);
            }
            ThreadMark {
                counters,
                shared,
                start: counters.totals(),
                net0,
                saved_peak,
            }
        }
    }

    /// The counts since the start, and the thread's peak above its start.
    pub(super) fn totals_now(&self) -> Totals {
        self.counters.totals()
    }

    /// Ends the mark: returns the thread's highest net bytes above the start
    /// and gives an enclosing mark its peak back.
    pub(super) fn close(&self) -> u64 {
        if self.shared {
            return 0;
        }
        let peak = self.counters.peak_net.load(Relaxed);
        self.counters
            .peak_net
            .store(peak.max(self.saved_peak), Relaxed);
        peak.saturating_sub(self.net0).max(0) as u64
    }
}

/// Process peaks. Allocations only raise `LIVE.window_peak`; whenever a
/// region opens or closes, the window is folded into every open region and
/// into the all-time peak and restarted, so regions may overlap freely.
struct PeakBook {
    ever: u64,
    /// (region id, highest live bytes seen since the region opened)
    open: Vec<(u64, u64)>,
    next_id: u64,
}

static PEAKS: Mutex<PeakBook> = Mutex::new(PeakBook {
    ever: 0,
    open: Vec::new(),
    next_id: 0,
});

fn peaks() -> MutexGuard<'static, PeakBook> {
    PEAKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PeakBook {
    fn fold(&mut self) {
        let window = LIVE.window_peak.swap(0, Relaxed);
        self.ever = self.ever.max(window);
        for (_, peak) in &mut self.open {
            *peak = (*peak).max(window);
        }
    }
}

/// The highest live bytes the process ever had.
pub(super) fn peak_ever() -> u64 {
    let mut book = peaks();
    book.fold();
    book.ever
}

/// Opens a process peak region; returns its id and the live bytes at its
/// start.
pub(super) fn open_peak() -> (u64, u64) {
    let mut book = peaks();
    // Grow the list before reading the live bytes, so the region's own
    // bookkeeping is not part of it.
    book.open.reserve(1);
    book.fold();
    let live0 = LIVE.bytes.load(Relaxed);
    let id = book.next_id;
    book.next_id += 1;
    book.open.push((id, live0));
    (id, live0)
}

/// Closes a process peak region; returns the highest live bytes it saw.
pub(super) fn close_peak(id: u64) -> u64 {
    let mut book = peaks();
    book.fold();
    match book.open.iter().position(|(open, _)| *open == id) {
        Some(i) => book.open.swap_remove(i).1,
        None => 0,
    }
}
