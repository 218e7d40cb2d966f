//! Allocation cost with the plain System allocator: the baseline.

use std::alloc::System;

use criterion::Criterion;

#[path = "alloc_common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: System = System;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    common::alloc_benches(&mut c, "alloc_system");
    c.final_summary();
}
