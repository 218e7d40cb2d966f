//! Process-wide counts are exact.
//!
//! This binary has no test harness (`harness = false` in Cargo.toml): its
//! `main` is the only thread, so a process region sees this thread's
//! allocations and nothing else. (Under libtest, the harness's main thread
//! allocated now and then while the test ran, which made the exact counts
//! flaky.)

use std::alloc::System;
use std::hint::black_box;

use perfhub_profile::alloc::{self, HeapRegion, RegionScope, Tracking};

#[global_allocator]
static ALLOC: Tracking<System> = Tracking::new(System);

#[inline(never)]
fn fixture(blocks: &mut [Option<Box<[u8]>>; 16]) {
    for (i, block) in blocks.iter_mut().enumerate() {
        *block = Some(vec![i as u8; 4096 * (i + 1)].into_boxed_slice());
    }
    for block in blocks.iter_mut().step_by(2) {
        black_box(block.take());
    }
}

fn main() {
    process_counts_are_exact();
    println!("tracking_process: 1 passed, 0 failed");
}

fn process_counts_are_exact() {
    // The first region allocates the list of open regions, once.
    HeapRegion::start().finish();
    // The process is quiet, so the snapshot is consistent.
    let before = alloc::stats();
    assert_eq!(
        before.live_bytes,
        before.bytes_allocated - before.bytes_freed
    );
    assert!(before.peak_live_bytes >= before.live_bytes);

    let mut blocks: [Option<Box<[u8]>>; 16] = Default::default();
    let region = HeapRegion::start();
    fixture(&mut blocks);
    let delta = region.finish();
    let all: u64 = (1..=16).map(|i| 4096 * i).sum();
    let freed: u64 = (1..=16).step_by(2).map(|i| 4096 * i).sum();
    assert_eq!(delta.scope, RegionScope::Process);
    assert_eq!(
        (delta.allocations, delta.frees, delta.reallocations),
        (16, 8, 0)
    );
    assert_eq!((delta.bytes_allocated, delta.bytes_freed), (all, freed));
    assert_eq!(delta.peak_live_bytes, all);

    let after = alloc::stats();
    assert_eq!(after.live_bytes, after.bytes_allocated - after.bytes_freed);
    assert_eq!(after.allocations - before.allocations, 16);
    assert_eq!(after.frees - before.frees, 8);
    assert_eq!(after.live_bytes - before.live_bytes, all - freed);
    assert!(after.peak_live_bytes >= before.live_bytes + all);

    // Threads that exit fold their counts into the process totals.
    let region = HeapRegion::start();
    let kept = std::thread::spawn(|| {
        black_box(vec![1u8; 10_000]);
        vec![2u8; 20_000]
    })
    .join()
    .unwrap();
    let delta = region.finish();
    // What the spawn itself allocated (the thread's handle and packet) is
    // freed by the join: only `kept` stays live.
    assert_eq!(delta.live_bytes_change(), 20_000);
    assert!(delta.bytes_allocated >= 30_000);
    drop(kept);
    drop(blocks);
    let end = alloc::stats();
    assert_eq!(end.live_bytes, end.bytes_allocated - end.bytes_freed);
}
