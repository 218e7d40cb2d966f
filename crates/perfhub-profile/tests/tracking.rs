//! The tracking allocator's counts are exact.
//!
//! Tests in this binary run in parallel and the harness allocates on its own
//! threads, so every exact check here counts one thread
//! ([`HeapRegion::start_thread`]); the process-wide counts are checked
//! exactly in `tracking_process.rs`, a binary with a single test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use perfhub_profile::alloc::{
    self, HeapDelta, HeapRegion, RegionScope, Tracking, assert_allocations,
};

#[global_allocator]
static ALLOC: Tracking<System> = Tracking::new(System);

/// The fixture: eight zeroed blocks of 1000 to 1007 bytes, the first grown
/// to 5000 bytes, the last three freed. Makes no other allocation.
#[inline(never)]
fn fixture(blocks: &mut [Option<Vec<u8>>; 8]) {
    for (i, block) in blocks.iter_mut().enumerate() {
        *block = Some(vec![0u8; 1000 + i]);
    }
    blocks[0].as_mut().expect("allocated").reserve_exact(4000);
    for block in &mut blocks[5..] {
        black_box(block.take());
    }
}

/// The fixture's counts, worked out by hand.
fn fixture_delta(scope: RegionScope) -> HeapDelta {
    let allocated: u64 = (1000..1008).sum();
    HeapDelta {
        scope,
        allocations: 8,
        frees: 3,
        reallocations: 1,
        bytes_allocated: allocated + 5000,
        bytes_freed: 1005 + 1006 + 1007 + 1000,
        // All eight blocks live, the first one grown: before the frees.
        peak_live_bytes: allocated + 4000,
    }
}

#[test]
fn the_allocator_is_installed() {
    assert!(alloc::is_installed());
}

#[test]
fn thread_region_counts_the_fixture_exactly() {
    let mut blocks: [Option<Vec<u8>>; 8] = Default::default();
    let region = HeapRegion::start_thread();
    fixture(&mut blocks);
    let delta = region.finish();
    assert_eq!(delta, fixture_delta(RegionScope::Thread));
    assert_eq!(delta.live_blocks_change(), 5);
    assert_eq!(
        delta.live_bytes_change(),
        (5000 + 1001 + 1002 + 1003 + 1004) as i64
    );
    assert_eq!(blocks.iter().flatten().count(), 5);
}

/// Other threads allocating and freeing as fast as they can do not
/// disturb a thread region.
#[test]
fn thread_region_is_exact_while_other_threads_allocate() {
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let noisy: Vec<_> = (0..2)
        .map(|_| {
            let (stop, made) = (Arc::clone(&stop), Arc::clone(&made));
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    black_box(vec![n as u8; 1 + (n % 3000) as usize]);
                    n += 1;
                    made.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Measure while the noise runs, however the threads are scheduled.
    let mut rounds = 0;
    while rounds < 50 || made.load(Ordering::Relaxed) < 10_000 {
        let mut blocks: [Option<Vec<u8>>; 8] = Default::default();
        let region = HeapRegion::start_thread();
        fixture(&mut blocks);
        assert_eq!(region.finish(), fixture_delta(RegionScope::Thread));
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for t in noisy {
        t.join().unwrap();
    }
}

/// Raw `GlobalAlloc` calls through the global allocator, every kind.
#[test]
fn every_allocator_call_is_counted() {
    let layout = Layout::from_size_align(256, 64).unwrap();
    let region = HeapRegion::start_thread();
    // SAFETY: non-zero sizes, each pointer freed once with its layout.
    // (`black_box` keeps optimized builds from eliding the unused blocks.)
    unsafe {
        let a = black_box(std::alloc::alloc(layout));
        let z = black_box(std::alloc::alloc_zeroed(layout));
        assert!(!a.is_null() && !z.is_null());
        assert_eq!(*z.add(255), 0);
        let grown = black_box(std::alloc::realloc(a, layout, 4096));
        let grown_layout = Layout::from_size_align(4096, 64).unwrap();
        let shrunk = black_box(std::alloc::realloc(grown, grown_layout, 100));
        std::alloc::dealloc(shrunk, Layout::from_size_align(100, 64).unwrap());
        std::alloc::dealloc(z, layout);
    }
    let delta = region.finish();
    assert_eq!(
        delta,
        HeapDelta {
            scope: RegionScope::Thread,
            allocations: 2,
            frees: 2,
            reallocations: 2,
            bytes_allocated: 256 + 256 + 4096 + 100,
            bytes_freed: 256 + 4096 + 100 + 256,
            peak_live_bytes: 256 + 4096,
        }
    );
    assert_eq!(delta.live_bytes_change(), 0);
}

/// Memory allocated on one thread and freed on another counts as a free of
/// the thread that freed it.
#[test]
fn frees_count_on_the_freeing_thread() {
    let v = thread::spawn(|| vec![7u8; 3000]).join().unwrap();
    let region = HeapRegion::start_thread();
    drop(v);
    let delta = region.finish();
    assert_eq!((delta.allocations, delta.frees), (0, 1));
    assert_eq!(delta.bytes_freed, 3000);
    assert_eq!(delta.live_bytes_change(), -3000);
    assert_eq!(delta.peak_live_bytes, 0);
}

/// Nested thread regions each see their own peak, and the outer one keeps
/// the peak reached before and inside the inner one.
#[test]
fn nested_regions_keep_their_own_peaks() {
    let outer = HeapRegion::start_thread();
    black_box(vec![1u8; 1 << 20]);
    let inner = HeapRegion::start_thread();
    let held = black_box(vec![1u8; 256 << 10]);
    black_box(vec![1u8; 64 << 10]);
    let inner = inner.finish();
    assert_eq!(inner.peak_live_bytes, (256 << 10) + (64 << 10));
    assert_eq!(inner.live_bytes_change(), 256 << 10);
    drop(held);
    let after = outer.finish();
    assert_eq!(after.peak_live_bytes, 1 << 20);
    assert_eq!(after.allocations, 3);
    assert_eq!(after.frees, 3);

    // A region dropped unfinished gives its enclosing region the peak back.
    let outer = HeapRegion::start_thread();
    black_box(vec![1u8; 100_000]);
    drop(HeapRegion::start_thread());
    assert_eq!(outer.finish().peak_live_bytes, 100_000);
}

#[test]
fn measure_returns_the_value_and_the_counts() {
    let (v, delta) = alloc::measure(|| vec![3u8; 500]);
    assert_eq!(v.len(), 500);
    assert_eq!((delta.allocations, delta.frees), (1, 0));
    assert_eq!(delta.bytes_allocated, 500);
}

#[test]
fn assert_allocations_passes_within_budget() {
    let delta = assert_allocations(2, 2048, || {
        let mut v: Vec<u8> = Vec::with_capacity(1000);
        v.extend_from_slice(&[1; 1000]);
        v.reserve_exact(24);
        black_box(v);
    });
    assert_eq!((delta.allocations, delta.reallocations), (1, 1));
    assert_eq!(delta.bytes_allocated, 1000 + 1024);
    assert_allocations(0, 0, || {
        black_box(Vec::<u8>::new());
    });
}

#[test]
fn assert_allocations_fails_with_the_counts() {
    let failure = std::panic::catch_unwind(|| {
        assert_allocations(1, 1 << 20, || {
            black_box(vec![0u8; 10]);
            black_box(vec![0u8; 20]);
        });
    })
    .unwrap_err();
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("2 allocations and reallocations (at most 1 allowed)"),
        "{message}"
    );
    assert!(message.contains("30 bytes allocated"), "{message}");

    let failure = std::panic::catch_unwind(|| {
        assert_allocations(10, 100, || {
            black_box(vec![0u8; 101]);
        });
    })
    .unwrap_err();
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("101 bytes allocated (at most 100 allowed)"),
        "{message}"
    );
}

/// The process-wide counts include this thread's, whatever else runs.
#[test]
fn process_region_includes_the_thread_region() {
    let process = HeapRegion::start();
    let thread = HeapRegion::start_thread();
    let mut blocks: [Option<Vec<u8>>; 8] = Default::default();
    fixture(&mut blocks);
    let t = thread.finish();
    let p = process.finish();
    assert_eq!(p.scope, RegionScope::Process);
    assert!(p.allocations >= t.allocations);
    assert!(p.frees >= t.frees);
    assert!(p.reallocations >= t.reallocations);
    assert!(p.bytes_allocated >= t.bytes_allocated);
    assert!(p.bytes_freed >= t.bytes_freed);

    let s = alloc::stats();
    assert!(s.allocations >= s.frees);
    assert!(s.peak_live_bytes >= s.live_bytes);
    assert!(s.bytes_allocated >= s.bytes_freed);
}

/// Threads give their counter slots back when they exit, and their counts
/// stay in the process totals.
#[test]
fn exited_threads_keep_their_counts() {
    for round in 0..3 {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                thread::spawn(move || {
                    let region = HeapRegion::start_thread();
                    black_box(vec![0u8; 100 + i + round]);
                    let d = region.finish();
                    assert_eq!((d.allocations, d.frees), (1, 1));
                    d.bytes_allocated
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), (100 + i + round) as u64);
        }
    }
}

/// Allocating through the tracking allocator by hand (as a second instance
/// would) feeds the same counts: one set of statics.
#[test]
fn another_instance_feeds_the_same_counts() {
    let second: Tracking<System> = Tracking::new(System);
    let layout = Layout::from_size_align(64, 8).unwrap();
    let region = HeapRegion::start_thread();
    // SAFETY: a non-zero layout, freed once.
    unsafe {
        let p = second.alloc(layout);
        assert!(!p.is_null());
        second.dealloc(p, layout);
    }
    let d = region.finish();
    assert_eq!((d.allocations, d.frees, d.bytes_allocated), (1, 1, 64));
}
