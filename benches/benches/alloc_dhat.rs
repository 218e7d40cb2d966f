//! Allocation cost under dhat-rs's heap profiler, for comparison (testing
//! mode: the same tracking, no file written at the end).

use criterion::Criterion;

#[path = "alloc_common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut c = Criterion::default().configure_from_args();
    common::alloc_benches(&mut c, "alloc_dhat");
    c.final_summary();
}
