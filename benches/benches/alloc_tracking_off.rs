//! Allocation cost with the tracking allocator and no heap profile running:
//! exact counts only.

use std::alloc::System;

use criterion::Criterion;
use perfhub_profile::alloc::Tracking;

#[path = "alloc_common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: Tracking<System> = Tracking::new(System);

fn main() {
    let mut c = Criterion::default().configure_from_args();
    common::alloc_benches(&mut c, "alloc_tracking_off");
    c.final_summary();
}
