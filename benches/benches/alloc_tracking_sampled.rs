//! Allocation cost with the tracking allocator while a heap profile samples
//! call sites at the default interval (512 KiB).

use std::alloc::System;

use criterion::Criterion;
use perfhub_profile::alloc::{HeapProfileConfig, HeapProfiler, Tracking};

#[path = "alloc_common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: Tracking<System> = Tracking::new(System);

fn main() {
    let profiler = HeapProfiler::start(HeapProfileConfig::default()).expect("heap profile");
    let unwinder = profiler.unwinder();
    let mut c = Criterion::default().configure_from_args();
    common::alloc_benches(&mut c, "alloc_tracking_sampled");
    c.final_summary();
    let profile = profiler.finish();
    eprintln!(
        "heap profile: {} samples, {:?}, {} allocations",
        profile.samples, unwinder, profile.stats.allocations
    );
}
