//! The allocation microbenchmark shared by the `alloc_*` benches, each of
//! which installs a different global allocator (a global allocator is per
//! binary): the same body measures System, the tracking allocator without
//! and with a heap profile, and dhat.

use std::hint::black_box;

use criterion::{Criterion, Throughput};

/// Sizes of the mixed loop: 8 B to 4 KiB, spread log-uniformly and shuffled
/// by a fixed permutation, so size classes alternate as in real programs.
const MIXED: [usize; 64] = {
    let mut sizes = [0usize; 64];
    let mut i = 0;
    while i < 64 {
        // 8 << (0..=9), plus an offset within the class.
        let j = (i * 37) % 64;
        sizes[i] = (8usize << (j % 10)) + (j * 13) % 64;
        i += 1;
    }
    sizes
};

/// Registers the benchmarks under `group` (the allocator's name).
pub fn alloc_benches(c: &mut Criterion, group: &str) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("box_64B_pair", |b| {
        b.iter(|| {
            let boxed = black_box(Box::new([0u8; 64]));
            drop(boxed);
        })
    });
    g.throughput(Throughput::Elements(MIXED.len() as u64));
    g.bench_function("mixed_64_pairs", |b| {
        b.iter(|| {
            let held: [Vec<u8>; 64] = std::array::from_fn(|i| Vec::with_capacity(MIXED[i]));
            black_box(&held);
        })
    });
    g.finish();
}
