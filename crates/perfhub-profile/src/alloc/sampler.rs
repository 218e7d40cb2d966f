//! Call-site sampling by bytes, the allocator side: the per-thread
//! countdown, the estimator, and the shared tables behind a spin lock.
//!
//! Each thread counts down the bytes it allocates; when an allocation
//! crosses zero it is sampled and a new countdown is drawn from an
//! exponential distribution of mean `interval` (jemalloc's and tcmalloc's
//! scheme). By memorylessness an allocation of `s` bytes is then sampled with
//! probability `1 - exp(-s / interval)` whatever came before it, so weighing
//! each sample by `s / (1 - exp(-s / interval))` makes the weighted sums
//! unbiased estimates of the bytes allocated.

use std::cell::UnsafeCell;
use std::hint::spin_loop;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize};

use super::counters::{self, ThreadState};
use super::stack;
use super::tables::{PtrFilter, PtrTable, StackTable, mix};

/// Set while a heap profile runs; the allocator's fast path reads only this.
pub(super) static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Bumped by every profile start, so threads redraw their countdowns.
static EPOCH: AtomicU64 = AtomicU64::new(0);
static INTERVAL: AtomicU64 = AtomicU64::new(1);
static RAW_DEPTH: AtomicUsize = AtomicUsize::new(0);
static UNWINDER: AtomicU8 = AtomicU8::new(stack::UNWIND_TABLES);
/// Live bytes above which the next allocation takes a peak snapshot.
static SNAP_NEXT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Held by the one running `HeapProfiler`.
static OWNER: AtomicBool = AtomicBool::new(false);
static STATE: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());
static SEEDS: AtomicU64 = AtomicU64::new(0);

/// Most frames one walk records, allocator frames included.
pub(super) const MAX_RAW_FRAMES: usize = 192;
/// Stacks the table holds, the overflow entry included.
const STACK_ENTRIES: usize = 1 << 14;
const STACK_ARENA_FRAMES: usize = 1 << 20;
/// Slots for sampled live pointers (7/8 usable).
const PTR_SLOTS: usize = 1 << 17;
const FILTER_SLOTS: usize = 1 << 16;
/// The least growth of the peak that takes a new snapshot.
pub(super) const SNAPSHOT_MIN_STEP: u64 = 4096;

/// The tables, allocated by the first profile and kept for the life of the
/// process (a thread may still be reading them when a profile finishes), and
/// reused by every later profile.
///
/// Who may reference `tables`, and how:
///
/// - A sampling thread (`sample`, `forget_sampled`, `snapshot`) forms a
///   `&mut Tables` only through [`Locked::open_tables`]: with `locked` held,
///   and only after reading `open` as true. `open` lives outside the cell,
///   so reading it forms no reference to the tables.
/// - The owner of the running profile (the one that `start` returned `Ok`
///   to) forms a `&mut Tables` through [`Locked::owner_tables`], with
///   `locked` held, in `start` and in `finish`.
/// - `finish` then forms a shared `&Tables` without the lock, after it has
///   cleared `open` under the lock.
struct Shared {
    locked: AtomicBool,
    /// Whether samples are taken; false once `finish` has begun. Written only
    /// with `locked` held, by the owner; read with `locked` held, so the
    /// lock orders every access and `Relaxed` is enough.
    open: AtomicBool,
    tables: UnsafeCell<Tables>,
    filter: PtrFilter,
}

// SAFETY: every `&mut Tables` is formed with `locked` held (see
// `Locked::open_tables` and `Locked::owner_tables`), so no two exist at
// once. The one reference formed without the lock is the `&Tables` of
// `finish`: it is formed after `finish` cleared `open` under the lock, so any
// sampling thread that takes the lock afterwards reads `open` false and forms
// no reference, and any that took it before released it (and dropped its
// reference) before `finish` could clear `open`. Only `start` sets `open`
// again or calls `owner_tables` outside `finish`, and it must first take
// `OWNER`, which `finish` releases after dropping its `&Tables`. `filter` is
// atomics.
unsafe impl Sync for Shared {}

pub(super) struct Tables {
    pub(super) stacks: StackTable,
    ptrs: PtrTable,
    pub(super) samples: u64,
    pub(super) overflowed: u64,
    pub(super) untracked: u64,
    pub(super) start_live: u64,
    pub(super) snapshot_live: u64,
}

struct Locked<'a> {
    shared: &'a Shared,
}

impl Shared {
    fn lock(&self) -> Locked<'_> {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            while self.locked.load(Relaxed) {
                spins += 1;
                if spins < 100 {
                    spin_loop();
                } else {
                    // The holder may be descheduled (this is a 2-core world);
                    // sched_yield does not allocate.
                    std::thread::yield_now();
                }
            }
        }
        Locked { shared: self }
    }
}

impl Locked<'_> {
    /// The tables if a profile is taking samples, else `None` (and then no
    /// reference to them is formed: `finish` may be reading them unlocked).
    #[inline(always)]
    fn open_tables(&mut self) -> Option<&mut Tables> {
        if !self.shared.open.load(Relaxed) {
            return None;
        }
        // SAFETY: the lock is held for the life of `self`, and `&mut self`
        // keeps the borrow unique. `open` was true under the lock, so no
        // `finish` holds a `&Tables`: one forms it only after clearing
        // `open` under this lock, and drops it before releasing `OWNER`,
        // which the next `start` must take before it sets `open` again.
        Some(unsafe { &mut *self.shared.tables.get() })
    }

    /// The tables, open or closed. Only the owner of the running profile
    /// (in `start` and `finish`) calls this.
    fn owner_tables(&mut self) -> &mut Tables {
        // SAFETY: the lock is held for the life of `self`, and `&mut self`
        // keeps the borrow unique. The only reference formed without the
        // lock is a `finish`'s `&Tables`, and none is alive: `finish` calls
        // this before forming its own, and drops it before releasing
        // `OWNER`, which `start` takes (acquire) before calling this.
        unsafe { &mut *self.shared.tables.get() }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.shared.locked.store(false, Release);
    }
}

#[inline(always)]
fn shared() -> Option<&'static Shared> {
    // SAFETY: STATE is null or a leaked `Box<Shared>` that is never freed.
    unsafe { STATE.load(Acquire).as_ref() }
}

/// Weight of a sampled allocation of `size` bytes: the bytes it stands for.
pub(super) fn sample_weight(size: u64, interval: u64) -> f64 {
    let s = size as f64;
    let p = -(-s / interval as f64).exp_m1();
    if p > 0.0 { s / p } else { interval as f64 }
}

/// xorshift64*: a small, fast generator, good enough for countdowns.
pub(super) fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// A countdown drawn from the exponential distribution of mean `interval`
/// bytes.
pub(super) fn draw_countdown(state: &mut u64, interval: u64) -> i64 {
    // Uniform in (0, 1]: never ln(0).
    let u = ((next_random(state) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
    let bytes = -u.ln() * interval as f64;
    bytes.min((i64::MAX / 2) as f64) as i64
}

fn thread_random(t: &ThreadState) -> u64 {
    let mut state = t.rng.get();
    if state == 0 {
        let seed = SEEDS.fetch_add(1, Relaxed) ^ (t as *const ThreadState as u64);
        state = mix(seed) | 1;
    }
    state
}

fn redraw(t: &ThreadState, interval: u64) {
    let mut state = thread_random(t);
    t.countdown.set(draw_countdown(&mut state, interval));
    t.rng.set(state);
}

/// The profiled part of an allocation of `size` bytes at `ptr`, live bytes
/// `live` after it: count down, and now and then sample or snapshot. The
/// common case (countdown not crossed) is a few thread-local loads and
/// stores, inlined into the allocator.
///
/// `marker` is the stack pointer of the allocator's `GlobalAlloc` method
/// (see [`stack::walk`]).
#[inline(always)]
pub(super) fn on_alloc(t: &ThreadState, ptr: usize, size: u64, live: u64, marker: usize) {
    if t.guard.get() {
        return;
    }
    let left = t.countdown.get() - size.min(i64::MAX as u64) as i64;
    if left >= 0 && t.epoch.get() == EPOCH.load(Relaxed) {
        t.countdown.set(left);
    } else {
        countdown_crossed(t, ptr, size, marker);
    }
    if live > SNAP_NEXT.load(Relaxed) {
        snapshot(t, live);
    }
}

/// The countdown crossed zero, or was drawn for an earlier profile.
#[cold]
#[inline(never)]
fn countdown_crossed(t: &ThreadState, ptr: usize, size: u64, marker: usize) {
    if !ACTIVE.load(Acquire) {
        return;
    }
    // The acquire load above saw the store that published these.
    let interval = INTERVAL.load(Relaxed);
    let epoch = EPOCH.load(Relaxed);
    if t.epoch.get() != epoch {
        // A new profile: a fresh countdown, then count this allocation.
        t.epoch.set(epoch);
        redraw(t, interval);
        let left = t.countdown.get() - size.min(i64::MAX as u64) as i64;
        if left >= 0 {
            t.countdown.set(left);
            return;
        }
    }
    redraw(t, interval);
    sample(t, ptr, size, interval, marker);
}

/// The profiled part of freeing `ptr`: if it was sampled, its bytes leave
/// its stack's live bytes. Runs before the inner allocator frees, so the
/// address cannot have been handed out again. Most frees stop at the filter.
#[inline(always)]
pub(super) fn on_free(t: &ThreadState, ptr: usize) {
    if t.guard.get() {
        return;
    }
    let Some(shared) = shared() else { return };
    if shared.filter.may_contain(ptr) {
        forget_sampled(t, shared, ptr);
    }
}

#[cold]
#[inline(never)]
fn forget_sampled(t: &ThreadState, shared: &Shared, ptr: usize) {
    t.guard.set(true);
    {
        let mut locked = shared.lock();
        if let Some(tables) = locked.open_tables()
            && let Some((stack, weight)) = tables.ptrs.remove(ptr)
        {
            let live = &mut tables.stacks.live[stack as usize];
            *live = live.saturating_sub(weight);
            shared.filter.remove(ptr);
        }
    }
    t.guard.set(false);
}

#[cold]
#[inline(never)]
fn sample(t: &ThreadState, ptr: usize, size: u64, interval: u64, marker: usize) {
    let Some(shared) = shared() else { return };
    t.guard.set(true);
    let weight = sample_weight(size, interval).round() as u64;
    let mut frames = [0usize; MAX_RAW_FRAMES];
    let depth = RAW_DEPTH.load(Relaxed).min(MAX_RAW_FRAMES);
    let n = stack::walk(UNWINDER.load(Relaxed), &mut frames[..depth], t, marker);
    {
        let mut locked = shared.lock();
        if let Some(tables) = locked.open_tables() {
            let stack = tables.stacks.intern(&frames[..n]);
            if stack == super::tables::OVERFLOW {
                tables.overflowed += 1;
            }
            tables.samples += 1;
            tables.stacks.allocated[stack as usize] += weight;
            match tables.ptrs.insert(ptr, stack, weight) {
                Ok(replaced) => {
                    if let Some((old_stack, old_weight)) = replaced {
                        let live = &mut tables.stacks.live[old_stack as usize];
                        *live = live.saturating_sub(old_weight);
                    } else {
                        shared.filter.add(ptr);
                    }
                    tables.stacks.live[stack as usize] += weight;
                }
                Err(_) => tables.untracked += 1,
            }
        }
    }
    t.guard.set(false);
}

/// The step of growth that takes the next snapshot: 1% of the growth above
/// the profile's start, at least [`SNAPSHOT_MIN_STEP`].
pub(super) fn snapshot_step(live: u64, start_live: u64) -> u64 {
    (live.saturating_sub(start_live) / 100).max(SNAPSHOT_MIN_STEP)
}

#[cold]
#[inline(never)]
fn snapshot(t: &ThreadState, live: u64) {
    let Some(shared) = shared() else { return };
    t.guard.set(true);
    {
        let mut locked = shared.lock();
        if let Some(tables) = locked.open_tables()
            && live > tables.snapshot_live
        {
            tables.stacks.snapshot_peak();
            tables.snapshot_live = live;
            SNAP_NEXT.store(live + snapshot_step(live, tables.start_live), Relaxed);
        }
    }
    t.guard.set(false);
}

/// Why sampling could not start.
pub(super) enum StartError {
    AlreadyRunning,
}

/// Starts sampling: allocates the tables on first use (outside the
/// allocator), empties them, publishes the settings, then turns sampling on.
pub(super) fn start(interval: u64, raw_depth: usize, unwinder: u8) -> Result<(), StartError> {
    if OWNER
        .compare_exchange(false, true, Acquire, Relaxed)
        .is_err()
    {
        return Err(StartError::AlreadyRunning);
    }
    let shared = match shared() {
        Some(shared) => shared,
        None => {
            let fresh = Box::new(Shared {
                locked: AtomicBool::new(false),
                open: AtomicBool::new(false),
                tables: UnsafeCell::new(Tables {
                    stacks: StackTable::new(STACK_ENTRIES, STACK_ARENA_FRAMES),
                    ptrs: PtrTable::new(PTR_SLOTS),
                    samples: 0,
                    overflowed: 0,
                    untracked: 0,
                    start_live: 0,
                    snapshot_live: 0,
                }),
                filter: PtrFilter::new(FILTER_SLOTS),
            });
            // Only the owner gets here, so there is no race to publish.
            STATE.store(Box::into_raw(fresh), Release);
            shared().expect("just published")
        }
    };
    let start_live = counters::live_bytes();
    {
        let mut locked = shared.lock();
        let tables = locked.owner_tables();
        tables.stacks.clear();
        tables.ptrs.clear();
        shared.filter.clear();
        tables.samples = 0;
        tables.overflowed = 0;
        tables.untracked = 0;
        tables.start_live = start_live;
        tables.snapshot_live = start_live;
        // Under the lock, as every access to `open` is.
        shared.open.store(true, Relaxed);
    }
    INTERVAL.store(interval.max(1), Relaxed);
    RAW_DEPTH.store(raw_depth.min(MAX_RAW_FRAMES), Relaxed);
    UNWINDER.store(unwinder, Relaxed);
    EPOCH.fetch_add(1, Relaxed);
    SNAP_NEXT.store(start_live + SNAPSHOT_MIN_STEP, Relaxed);
    ACTIVE.store(true, Release);
    Ok(())
}

/// What a finished profile sampled: per stack (leaf-first return
/// addresses), the sampled bytes allocated and live at the peak snapshot.
pub(super) struct Collected {
    pub stacks: Vec<(Vec<usize>, u64, u64)>,
    pub overflow: (u64, u64),
    pub samples: u64,
    pub overflowed: u64,
    pub untracked: u64,
    pub snapshot_above_start: u64,
}

/// Stops sampling and copies the tables out. The caller must own the
/// running profile (`start` returned `Ok`).
pub(super) fn finish(t: &ThreadState) -> Collected {
    ACTIVE.store(false, Release);
    SNAP_NEXT.store(u64::MAX, Relaxed);
    let shared = shared().expect("a running profile has tables");
    let was_guarded = t.guard.replace(true);
    {
        let mut locked = shared.lock();
        // Under the lock: every sampler that takes it after this sees the
        // tables closed and leaves them alone.
        shared.open.store(false, Relaxed);
        let tables = locked.owner_tables();
        // The end may be nearer the peak than the last snapshot was.
        if counters::live_bytes() > tables.snapshot_live {
            tables.stacks.snapshot_peak();
            tables.snapshot_live = counters::live_bytes();
        }
    }
    // Read the closed tables unlocked, so the copies below may allocate
    // freely (an allocation may sample, which takes the lock).
    // SAFETY: no `&mut Tables` exists now or while this borrow lives: the
    // owner's own `&mut` above was dropped with the lock; every sampling
    // thread forms one only under the lock and only after reading `open` as
    // true (`Locked::open_tables`), and `open` was cleared under the lock
    // above, so a sampler that held the lock earlier has released it and
    // dropped its reference, and one that takes it later reads `open` false
    // and forms none. `open` is set again, and `owner_tables` called, only
    // by `start`, which must first take `OWNER`, released below after this
    // borrow's last use.
    // The lock's release/acquire ordered every earlier write before these
    // reads.
    let tables = unsafe { &*shared.tables.get() };
    let st = &tables.stacks;
    let collected = Collected {
        stacks: (1..st.len() as u32)
            .map(|i| {
                (
                    st.frames(i).to_vec(),
                    st.allocated[i as usize],
                    st.peak[i as usize],
                )
            })
            .collect(),
        overflow: (st.allocated[0], st.peak[0]),
        samples: tables.samples,
        overflowed: tables.overflowed,
        untracked: tables.untracked,
        snapshot_above_start: tables.snapshot_live.saturating_sub(tables.start_live),
    };
    t.guard.set(was_guarded);
    OWNER.store(false, Release);
    collected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_is_the_interval_for_small_and_the_size_for_large() {
        let t = 512 * 1024;
        assert!((sample_weight(1, t) - t as f64).abs() < 1.0);
        assert!((sample_weight(64, t) / t as f64 - 1.0).abs() < 1e-3);
        let big = 64 * 1024 * 1024;
        assert!((sample_weight(big, t) - big as f64).abs() < 1.0);
        // s = interval: probability 1 - 1/e.
        let w = sample_weight(t, t);
        assert!((w - t as f64 / (1.0 - (-1.0f64).exp())).abs() < 1e-6 * w);
        // Sampling every byte: the weight is the size.
        assert!((sample_weight(100, 1) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn countdowns_are_exponential_with_the_interval_as_mean() {
        let mut rng = 0x5EED_u64;
        let n = 200_000;
        let interval = 4096;
        let draws: Vec<i64> = (0..n).map(|_| draw_countdown(&mut rng, interval)).collect();
        assert!(draws.iter().all(|&d| d >= 0));
        let mean = draws.iter().sum::<i64>() as f64 / n as f64;
        assert!((mean / interval as f64 - 1.0).abs() < 0.02, "mean {mean}");
        // P(X > interval) = 1/e for an exponential.
        let above = draws.iter().filter(|&&d| d > interval as i64).count() as f64 / n as f64;
        assert!((above - (-1.0f64).exp()).abs() < 0.01, "tail {above}");
    }

    /// The whole scheme (countdown, sampling on crossing, weighting) run over
    /// a fixed stream of mixed sizes estimates the bytes of each call site
    /// without bias; a fixed seed keeps the test deterministic.
    #[test]
    fn sampled_estimates_are_unbiased_per_call_site() {
        let interval = 64 * 1024;
        let mut rng = 42u64;
        let mut countdown = draw_countdown(&mut rng, interval);
        let mut sizes = 7u64;
        let mut truth = [0u64; 3];
        let mut estimate = [0f64; 3];
        for i in 0..2_000_000u64 {
            sizes = mix(sizes);
            // Site 0: small; site 1: medium; site 2: rare and huge.
            let (site, size) = match i % 100 {
                0 => (2, 1024 * 1024 + sizes % (4 * 1024 * 1024)),
                1..=30 => (1, 1024 + sizes % 8192),
                _ => (0, 8 + sizes % 120),
            };
            truth[site] += size;
            countdown -= size as i64;
            if countdown < 0 {
                countdown = draw_countdown(&mut rng, interval);
                estimate[site] += sample_weight(size, interval);
            }
        }
        for site in 0..3 {
            let ratio = estimate[site] / truth[site] as f64;
            // Samples of small allocations are a Poisson count of mean
            // truth / interval: allow four standard deviations.
            let sd = (interval as f64 / truth[site] as f64).sqrt();
            assert!(
                (ratio - 1.0).abs() < 4.0 * sd,
                "site {site}: ratio {ratio}, sd {sd}"
            );
        }
        // The rare huge allocations are nearly always sampled, at nearly
        // their own size: their estimate is close to exact.
        assert!((estimate[2] / truth[2] as f64 - 1.0).abs() < 0.01);
    }

    #[test]
    fn snapshot_steps_are_one_percent_with_a_floor() {
        assert_eq!(snapshot_step(1000, 0), SNAPSHOT_MIN_STEP);
        assert_eq!(snapshot_step(100 << 20, 0), (100 << 20) / 100);
        assert_eq!(
            snapshot_step((1 << 30) + (100 << 20), 1 << 30),
            (100 << 20) / 100
        );
        assert_eq!(snapshot_step(5, 10), SNAPSHOT_MIN_STEP);
    }
}
