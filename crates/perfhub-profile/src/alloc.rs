//! The tracking global allocator: exact allocation counts, always on, and
//! allocation call sites sampled by bytes while a heap profile runs.
//!
//! Install [`Tracking`] once, around any allocator:
//!
//! ```no_run
//! use std::alloc::System;
//! use perfhub_profile::alloc::Tracking;
//!
//! #[global_allocator]
//! static ALLOC: Tracking<System> = Tracking::new(System);
//! # fn main() {}
//! ```
//!
//! # Counts
//!
//! [`stats`] snapshots the process's allocations, frees, reallocations,
//! bytes allocated and freed, live bytes and peak live bytes, all exact.
//! A [`HeapRegion`] gives the same counts for a stretch of code, with the
//! peak live bytes reached within it above its start
//! ([`HeapRegion::start`], process-wide), or for the calling thread alone
//! ([`HeapRegion::start_thread`]), which stays exact while other threads
//! allocate: the region of a test is not disturbed by the test harness or by
//! tests running in parallel.
//!
//! A reallocation counts once as a reallocation, not as an allocation or a
//! free; its new size counts as bytes allocated and its old size as bytes
//! freed (as dhat counts them), so live bytes are always bytes allocated
//! minus bytes freed, and live blocks are allocations minus frees.
//!
//! # Testing
//!
//! [`assert_allocations`] runs a closure and panics with the counts when it
//! made more allocations or bytes than allowed; [`measure`] returns them;
//! [`HeapDelta::assert_at_most`] and [`HeapDelta::assert_peak_at_most`]
//! check a region. Unlike dhat's heap assertions these count the calling
//! thread only, so such tests may sit beside others in one test binary.
//!
//! ```no_run
//! use std::alloc::System;
//! use perfhub_profile::alloc::{self, Tracking};
//!
//! #[global_allocator]
//! static ALLOC: Tracking<System> = Tracking::new(System);
//!
//! # fn main() {
//! let delta = alloc::assert_allocations(1, 1024, || {
//!     let v: Vec<u8> = Vec::with_capacity(1000);
//!     std::hint::black_box(v);
//! });
//! assert_eq!(delta.bytes_allocated, 1000);
//! # }
//! ```
//!
//! # Heap profiles
//!
//! A [`HeapProfiler`] samples allocation call sites by bytes, as jemalloc's
//! profiler does: each thread counts down the bytes it allocates, the
//! allocation that crosses zero is sampled, and the next countdown is drawn
//! from an exponential distribution of mean
//! [`sample_interval_bytes`](HeapProfileConfig::sample_interval_bytes)
//! (512 KiB by default). A sample's stack is walked inside the allocator
//! without allocating, and the sample is weighted by
//! `size / (1 - exp(-size / interval))`, the bytes it stands for, so the
//! totals per call site are unbiased. [`HeapProfiler::finish`] returns a
//! [`HeapProfile`]: the exact counts of the profile's region, the bytes
//! allocated by call site, and the live bytes at the peak by call site.
//!
//! Stacks are walked by frame pointers when the build keeps them
//! (`RUSTFLAGS="-C force-frame-pointers=yes"`), which costs well under a
//! microsecond per sample; otherwise (the default for Rust builds, debug
//! ones included) with the platform unwinder and the binary's unwind tables,
//! a few microseconds per sample. [`Unwinder::Auto`] checks which works.
//! The walk skips the profiler's own frames by stack address, and the
//! allocation glue above the caller (`Vec`, `Box`, `RawVec`, the allocator
//! shims) is trimmed by name or source file, so a stack's leaf is the
//! function that allocated. Names are as full as the debug info: under
//! `debug = "line-tables-only"` functions appear without their module path.
//!
//! The live bytes at the peak are a snapshot of the sampled live bytes per
//! call site, taken whenever the process's live bytes pass the last snapshot
//! by 1% of the growth since the profile started (at least 4 KiB), and once
//! more at the end if live bytes are then higher: the snapshot is within that
//! step of the true peak ([`HeapProfile::snapshot_live_bytes`] tells where
//! it was taken). Allocations made before the profile started are not
//! sampled, so they are not in it.
//!
//! # Cost
//!
//! With no profile running, an allocation or a free costs the inner
//! allocator plus a few loads and stores on a cache line of the thread's own
//! and one atomic add on the live byte count; with a profile running, a
//! countdown per allocation, a filter lookup per free, and a stack walk per
//! sample. `docs/benchmarks.md` has the figures.
//!
//! # Limits
//!
//! - Only one `Tracking` may be installed: a global allocator is a static,
//!   so the counts live in statics of this module, which every `Tracking`
//!   value feeds.
//! - The first 1024 threads alive at once count on slots of their own;
//!   threads beyond that (and threads in their last thread-local
//!   destructors) count with atomic adds on a shared slot: as exact, but
//!   slower, and their thread regions are not per-thread.
//! - A heap profile's tables have fixed capacity (16,384 stacks, 114,688
//!   sampled live pointers); samples beyond them are counted in
//!   [`HeapProfile::unattributed_samples`] and
//!   [`HeapProfile::untracked_samples`].
//! - A profile must not be left running across `fork` in a threaded
//!   program: the child may inherit its lock held by a thread it does not
//!   have.

use std::alloc::{GlobalAlloc, Layout};
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;

use perfhub_flame::{StackProfile, WeightUnit};

mod counters;
mod sampler;
mod stack;
mod symbolize;
mod tables;

use counters::{ThreadMark, Totals};

/// A global allocator that counts every allocation and, while a
/// [`HeapProfiler`] runs, samples allocation call sites; everything else is
/// forwarded to `inner`.
///
/// Install one per program (see the [module docs](self)).
#[derive(Debug, Default)]
pub struct Tracking<A: GlobalAlloc> {
    inner: A,
}

impl<A: GlobalAlloc> Tracking<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Tracking { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

/// Counts an allocation and, while a profile runs, counts down to the next
/// sample. `marker` is the stack pointer of the calling `GlobalAlloc`
/// method: a sample's stack walk skips the frames below it, so the
/// profiler's own frames never reach the profile, whatever their names.
#[inline(always)]
fn allocated(ptr: *mut u8, size: usize, marker: usize) {
    let t = counters::thread();
    let live = counters::on_alloc(t, size as u64);
    if sampler::ACTIVE.load(Relaxed) {
        sampler::on_alloc(t, ptr as usize, size as u64, live, marker);
    }
}

/// The stack pointer of the calling `GlobalAlloc` method's frame.
macro_rules! frame_marker {
    () => {
        stack::stack_pointer()
    };
}

#[inline(always)]
fn freeing(ptr: *mut u8, size: usize) {
    let t = counters::thread();
    if sampler::ACTIVE.load(Relaxed) {
        sampler::on_free(t, ptr as usize);
    }
    counters::on_free(t, size as u64);
}

// SAFETY: every method forwards to the inner allocator with the arguments
// it was given, so `Tracking` upholds whatever `inner` upholds; the counting
// around the calls neither touches the memory nor allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Tracking<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            allocated(ptr, layout.size(), frame_marker!());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            allocated(ptr, layout.size(), frame_marker!());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Before the inner free: once freed, the address may be handed to
        // another thread, whose sample of it must not be removed here.
        freeing(ptr, layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let t = counters::thread();
        if sampler::ACTIVE.load(Relaxed) {
            sampler::on_free(t, ptr as usize);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            let live = counters::on_realloc(t, layout.size() as u64, new_size as u64);
            if sampler::ACTIVE.load(Relaxed) {
                let marker = frame_marker!();
                sampler::on_alloc(t, new as usize, new_size as u64, live, marker);
            }
        }
        new
    }
}

/// Whether [`Tracking`] is the global allocator (it has seen an
/// allocation). Without it every count stays zero.
pub fn is_installed() -> bool {
    counters::installed()
}

/// The process's allocation counts since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Calls to `alloc` and `alloc_zeroed` that succeeded.
    pub allocations: u64,
    /// Calls to `dealloc`.
    pub frees: u64,
    /// Calls to `realloc` that succeeded.
    pub reallocations: u64,
    /// Bytes requested by allocations, plus the new size of every
    /// reallocation.
    pub bytes_allocated: u64,
    /// Bytes released by frees, plus the old size of every reallocation.
    pub bytes_freed: u64,
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// The highest `live_bytes` ever reached.
    pub peak_live_bytes: u64,
}

impl AllocStats {
    /// Blocks allocated and not yet freed.
    pub fn live_blocks(&self) -> u64 {
        self.allocations.wrapping_sub(self.frees)
    }
}

/// A snapshot of the process's counts. Each counter is exact as of some
/// moment during the call; while other threads allocate the counters are
/// not one atomic snapshot.
pub fn stats() -> AllocStats {
    let t = counters::process_totals();
    let live_bytes = counters::live_bytes();
    AllocStats {
        allocations: t.allocations,
        frees: t.frees,
        reallocations: t.reallocations,
        bytes_allocated: t.bytes_allocated,
        bytes_freed: t.bytes_freed,
        live_bytes,
        peak_live_bytes: counters::peak_ever().max(live_bytes),
    }
}

/// Whose allocations a region counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionScope {
    /// Every thread of the process.
    Process,
    /// The thread that started the region: its allocations and its frees
    /// (of memory allocated anywhere).
    Thread,
}

/// The counts of a [`HeapRegion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapDelta {
    /// Whose allocations were counted.
    pub scope: RegionScope,
    /// Allocations made in the region.
    pub allocations: u64,
    /// Frees made in the region.
    pub frees: u64,
    /// Reallocations made in the region.
    pub reallocations: u64,
    /// Bytes allocated in the region (reallocations' new sizes included).
    pub bytes_allocated: u64,
    /// Bytes freed in the region (reallocations' old sizes included).
    pub bytes_freed: u64,
    /// The highest live bytes reached in the region, above the live bytes at
    /// its start (for a thread region: the thread's bytes allocated minus
    /// bytes freed since the start).
    pub peak_live_bytes: u64,
}

impl HeapDelta {
    fn new(scope: RegionScope, t: Totals, peak_live_bytes: u64) -> HeapDelta {
        HeapDelta {
            scope,
            allocations: t.allocations,
            frees: t.frees,
            reallocations: t.reallocations,
            bytes_allocated: t.bytes_allocated,
            bytes_freed: t.bytes_freed,
            peak_live_bytes,
        }
    }

    /// Live bytes at the end minus live bytes at the start.
    pub fn live_bytes_change(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// Live blocks at the end minus live blocks at the start.
    pub fn live_blocks_change(&self) -> i64 {
        self.allocations.wrapping_sub(self.frees) as i64
    }

    /// Panics, with the counts, unless the region made at most
    /// `max_allocations` allocations and reallocations together, and
    /// allocated at most `max_bytes` bytes.
    #[track_caller]
    pub fn assert_at_most(&self, max_allocations: u64, max_bytes: u64) -> &Self {
        let made = self.allocations + self.reallocations;
        if made > max_allocations || self.bytes_allocated > max_bytes {
            panic!(
                "heap region over budget: {made} allocations and reallocations (at most \
                 {max_allocations} allowed), {} bytes allocated (at most {max_bytes} allowed); \
                 {self:?}",
                self.bytes_allocated
            );
        }
        self
    }

    /// Panics, with the counts, unless the region's peak live bytes above its
    /// start were at most `max_peak_bytes`.
    #[track_caller]
    pub fn assert_peak_at_most(&self, max_peak_bytes: u64) -> &Self {
        if self.peak_live_bytes > max_peak_bytes {
            panic!(
                "heap region over budget: peak of {} live bytes above its start (at most \
                 {max_peak_bytes} allowed); {self:?}",
                self.peak_live_bytes
            );
        }
        self
    }
}

/// A process region: its peak registration and its counts at the start.
struct ProcessMark {
    id: u64,
    live0: u64,
    start: Totals,
    open: bool,
}

impl ProcessMark {
    fn start() -> ProcessMark {
        let (id, live0) = counters::open_peak();
        ProcessMark {
            id,
            live0,
            start: counters::process_totals(),
            open: true,
        }
    }

    fn finish(&mut self) -> HeapDelta {
        let totals = counters::process_totals().since(self.start);
        let peak = counters::close_peak(self.id);
        self.open = false;
        HeapDelta::new(
            RegionScope::Process,
            totals,
            peak.saturating_sub(self.live0),
        )
    }
}

impl Drop for ProcessMark {
    fn drop(&mut self) {
        if self.open {
            counters::close_peak(self.id);
        }
    }
}

enum Mark {
    Process(ProcessMark),
    Thread(ThreadMark),
}

/// Counts the allocations between [`start`](HeapRegion::start) (or
/// [`start_thread`](HeapRegion::start_thread)) and
/// [`finish`](HeapRegion::finish).
///
/// Regions may nest and overlap. Thread regions must finish on their thread
/// (the type is not `Send`), innermost first.
///
/// ```no_run
/// use perfhub_profile::alloc::HeapRegion;
///
/// let region = HeapRegion::start_thread();
/// let v = vec![0u8; 4096];
/// drop(v);
/// let delta = region.finish();
/// assert_eq!((delta.allocations, delta.frees), (1, 1));
/// assert_eq!(delta.peak_live_bytes, 4096);
/// ```
pub struct HeapRegion {
    mark: Option<Mark>,
    _not_send: PhantomData<*const ()>,
}

impl HeapRegion {
    /// Starts counting every thread's allocations.
    pub fn start() -> HeapRegion {
        HeapRegion {
            mark: Some(Mark::Process(ProcessMark::start())),
            _not_send: PhantomData,
        }
    }

    /// Starts counting the calling thread's allocations and frees only,
    /// exactly, whatever other threads do.
    pub fn start_thread() -> HeapRegion {
        HeapRegion {
            mark: Some(Mark::Thread(ThreadMark::start())),
            _not_send: PhantomData,
        }
    }

    /// Stops counting; returns the counts within the region.
    pub fn finish(mut self) -> HeapDelta {
        match self.mark.take() {
            Some(Mark::Process(mut mark)) => mark.finish(),
            Some(Mark::Thread(mark)) => {
                let totals = mark.totals_now().since(mark.start);
                let peak = mark.close();
                HeapDelta::new(RegionScope::Thread, totals, peak)
            }
            None => unreachable!("a region finishes once"),
        }
    }
}

impl Drop for HeapRegion {
    fn drop(&mut self) {
        if let Some(Mark::Thread(mark)) = self.mark.take() {
            mark.close();
        }
    }
}

impl std::fmt::Debug for HeapRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scope = match self.mark {
            Some(Mark::Process(_)) => "process",
            Some(Mark::Thread(_)) => "thread",
            None => "finished",
        };
        f.debug_struct("HeapRegion").field("scope", &scope).finish()
    }
}

/// Runs `f` and returns its result with the calling thread's counts while it
/// ran.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, HeapDelta) {
    let region = HeapRegion::start_thread();
    let r = f();
    (r, region.finish())
}

/// Runs `f` and panics, with the counts, if the calling thread made more than
/// `max_allocations` allocations and reallocations together or allocated
/// more than `max_bytes` bytes while it ran; returns the counts otherwise.
///
/// Counts the calling thread only (work `f` hands to other threads is not
/// counted), which keeps the check exact while other tests run.
///
/// # Panics
///
/// Also panics if [`Tracking`] is not the global allocator, rather than
/// passing with zero counts.
#[track_caller]
pub fn assert_allocations(max_allocations: u64, max_bytes: u64, f: impl FnOnce()) -> HeapDelta {
    assert!(
        is_installed(),
        "assert_allocations needs the tracking allocator: \
         #[global_allocator] static A: Tracking<System> = Tracking::new(System);"
    );
    let ((), delta) = measure(f);
    delta.assert_at_most(max_allocations, max_bytes);
    delta
}

/// How a heap profile walks the stack of a sampled allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Unwinder {
    /// Frame pointers if this build keeps them, else unwind tables.
    #[default]
    Auto,
    /// Follow frame pointers (x86_64 and aarch64 Linux): fast, but only as
    /// complete as the frame pointers (`-C force-frame-pointers=yes`).
    FramePointers,
    /// The platform unwinder with the binary's DWARF unwind tables
    /// (`_Unwind_Backtrace`): works in any build, a few microseconds per
    /// sample.
    UnwindTables,
}

/// The most frames a heap profile keeps per stack.
pub const MAX_FRAMES: usize = 128;
/// Frames walked beyond `max_frames`, for the allocator's own frames that
/// are trimmed afterwards.
const TRIM_ALLOWANCE: usize = 48;
/// The largest sample interval, 1 TiB.
pub const MAX_SAMPLE_INTERVAL_BYTES: u64 = 1 << 40;

/// How to take a heap profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapProfileConfig {
    /// Mean bytes allocated between samples (per thread), 512 KiB by
    /// default. Smaller intervals cost more and see more call sites.
    pub sample_interval_bytes: u64,
    /// Frames kept per stack, leaf first, after the allocator's own frames
    /// are trimmed (1 to [`MAX_FRAMES`]; 64 by default).
    pub max_frames: usize,
    /// How to walk stacks.
    pub unwinder: Unwinder,
}

impl Default for HeapProfileConfig {
    fn default() -> Self {
        HeapProfileConfig {
            sample_interval_bytes: 512 * 1024,
            max_frames: 64,
            unwinder: Unwinder::Auto,
        }
    }
}

/// Why a heap profile could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeapProfileError {
    /// [`Tracking`] is not the global allocator.
    #[error(
        "the tracking allocator is not installed \
         (#[global_allocator] static A: Tracking<System> = Tracking::new(System);)"
    )]
    NotInstalled,
    /// Another heap profile is running.
    #[error("a heap profile is already running")]
    AlreadyRunning,
    /// A sample interval of 0 or above [`MAX_SAMPLE_INTERVAL_BYTES`].
    #[error("sample interval of {0} bytes is out of range (1 byte to 1 TiB)")]
    SampleInterval(u64),
    /// `max_frames` of 0 or above [`MAX_FRAMES`].
    #[error("max_frames {0} is out of range (1 to {MAX_FRAMES})")]
    MaxFrames(usize),
    /// [`Unwinder::FramePointers`] on a target without a frame-pointer
    /// walker.
    #[error("frame-pointer unwinding is not supported on this target")]
    FramePointersUnsupported,
}

/// A running heap profile: samples allocation call sites across all threads
/// until [`finish`](HeapProfiler::finish). One runs at a time; dropping it
/// stops it.
#[derive(Debug)]
pub struct HeapProfiler {
    config: HeapProfileConfig,
    unwinder: Unwinder,
    mark: Option<ProcessMark>,
    running: bool,
}

impl std::fmt::Debug for ProcessMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessMark")
            .field("live0", &self.live0)
            .finish_non_exhaustive()
    }
}

impl HeapProfiler {
    /// Starts sampling.
    pub fn start(config: HeapProfileConfig) -> Result<HeapProfiler, HeapProfileError> {
        if config.sample_interval_bytes == 0
            || config.sample_interval_bytes > MAX_SAMPLE_INTERVAL_BYTES
        {
            return Err(HeapProfileError::SampleInterval(
                config.sample_interval_bytes,
            ));
        }
        if config.max_frames == 0 || config.max_frames > MAX_FRAMES {
            return Err(HeapProfileError::MaxFrames(config.max_frames));
        }
        if config.unwinder == Unwinder::FramePointers && !stack::HAS_FRAME_POINTER_WALKER {
            return Err(HeapProfileError::FramePointersUnsupported);
        }
        if !is_installed() {
            return Err(HeapProfileError::NotInstalled);
        }
        let unwinder = stack::resolve(config.unwinder);
        let code = match unwinder {
            Unwinder::FramePointers => stack::FRAME_POINTERS,
            _ => stack::UNWIND_TABLES,
        };
        let mark = ProcessMark::start();
        sampler::start(
            config.sample_interval_bytes,
            config.max_frames + TRIM_ALLOWANCE,
            code,
        )
        .map_err(|sampler::StartError::AlreadyRunning| HeapProfileError::AlreadyRunning)?;
        Ok(HeapProfiler {
            config,
            unwinder,
            mark: Some(mark),
            running: true,
        })
    }

    /// The unwinder this profile walks stacks with ([`Unwinder::Auto`]
    /// resolved).
    pub fn unwinder(&self) -> Unwinder {
        self.unwinder
    }

    /// Stops sampling and returns the profile: the region's exact counts
    /// and the sampled call sites, symbolized.
    pub fn finish(mut self) -> HeapProfile {
        // The counts first, before this function's own allocations.
        let stats = self.mark.take().expect("a running profile").finish();
        let collected = sampler::finish(counters::thread());
        self.running = false;

        // Symbolizing allocates: mark the thread as the profiler's own.
        let was_guarded = counters::thread().guard.replace(true);
        let mut symbolizer = symbolize::Symbolizer::default();
        let mut allocated = StackProfile::new(WeightUnit::Bytes);
        let mut live_at_peak = StackProfile::new(WeightUnit::Bytes);
        for (frames, bytes, peak) in &collected.stacks {
            let names = symbolizer.stack(frames, self.config.max_frames);
            live_at_peak.add(names.clone(), *peak);
            allocated.add(names, *bytes);
        }
        let full = vec!["[stack table full]".to_owned()];
        allocated.add(full.clone(), collected.overflow.0);
        live_at_peak.add(full, collected.overflow.1);
        drop(symbolizer);
        counters::thread().guard.set(was_guarded);

        HeapProfile {
            stats,
            allocated,
            live_at_peak,
            sample_interval_bytes: self.config.sample_interval_bytes,
            unwinder: self.unwinder,
            samples: collected.samples,
            unattributed_samples: collected.overflowed,
            untracked_samples: collected.untracked,
            snapshot_live_bytes: collected.snapshot_above_start,
        }
    }
}

impl Drop for HeapProfiler {
    fn drop(&mut self) {
        if self.running {
            sampler::finish(counters::thread());
        }
    }
}

/// A finished heap profile.
#[derive(Debug, Clone)]
pub struct HeapProfile {
    /// The exact counts of the profile's region, process-wide.
    pub stats: HeapDelta,
    /// Estimated bytes allocated, by call site (root first; the leaf is the
    /// function that called into the allocator).
    pub allocated: StackProfile,
    /// Estimated live bytes by call site at the peak snapshot (see the
    /// [module docs](self)); covers allocations made during the profile.
    pub live_at_peak: StackProfile,
    /// The mean bytes between samples.
    pub sample_interval_bytes: u64,
    /// How stacks were walked.
    pub unwinder: Unwinder,
    /// Allocations sampled.
    pub samples: u64,
    /// Samples whose stack did not fit the stack table: they are counted
    /// under the single frame `[stack table full]`.
    pub unattributed_samples: u64,
    /// Samples whose pointer did not fit the live-pointer table: their bytes
    /// are allocated but never live in `live_at_peak`.
    pub untracked_samples: u64,
    /// The process's live bytes, above the profile's start, when the
    /// `live_at_peak` snapshot was taken (compare `stats.peak_live_bytes`).
    pub snapshot_live_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This unit-test binary does not install the allocator.
    #[test]
    fn profiles_need_the_allocator_and_a_valid_config() {
        assert!(!is_installed());
        assert_eq!(
            HeapProfiler::start(HeapProfileConfig::default()).unwrap_err(),
            HeapProfileError::NotInstalled
        );
        let bad_interval = HeapProfileConfig {
            sample_interval_bytes: 0,
            ..HeapProfileConfig::default()
        };
        assert_eq!(
            HeapProfiler::start(bad_interval).unwrap_err(),
            HeapProfileError::SampleInterval(0)
        );
        let bad_frames = HeapProfileConfig {
            max_frames: MAX_FRAMES + 1,
            ..HeapProfileConfig::default()
        };
        assert_eq!(
            HeapProfiler::start(bad_frames).unwrap_err(),
            HeapProfileError::MaxFrames(MAX_FRAMES + 1)
        );
    }

    #[test]
    fn deltas_check_their_budgets() {
        let d = HeapDelta {
            scope: RegionScope::Thread,
            allocations: 2,
            frees: 1,
            reallocations: 1,
            bytes_allocated: 300,
            bytes_freed: 100,
            peak_live_bytes: 250,
        };
        assert_eq!(d.live_bytes_change(), 200);
        assert_eq!(d.live_blocks_change(), 1);
        d.assert_at_most(3, 300).assert_peak_at_most(250);
        let over = std::panic::catch_unwind(|| {
            d.assert_at_most(2, 1000);
        })
        .unwrap_err();
        let message = over.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("3 allocations and reallocations (at most 2 allowed)"),
            "{message}"
        );
        let over = std::panic::catch_unwind(|| {
            d.assert_peak_at_most(249);
        })
        .unwrap_err();
        let message = over.downcast_ref::<String>().unwrap();
        assert!(message.contains("peak of 250 live bytes"), "{message}");
    }

    #[test]
    fn assert_allocations_refuses_to_pass_without_the_allocator() {
        let failure = std::panic::catch_unwind(|| {
            assert_allocations(0, 0, || {});
        })
        .unwrap_err();
        let message = failure
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| failure.downcast_ref::<&str>().unwrap().to_string());
        assert!(message.contains("tracking allocator"), "{message}");
    }
}
