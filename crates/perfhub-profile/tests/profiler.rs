//! One profile of a region: CPU samples, allocations and I/O together, as
//! the example uses it.

use std::alloc::System;
use std::hint::black_box;

use perfhub_profile::alloc::Tracking;
use perfhub_profile::{ProfileConfig, Profiler};

#[global_allocator]
static ALLOC: Tracking<System> = Tracking::new(System);

#[inline(never)]
fn allocate_heavily() -> usize {
    let blocks: Vec<Vec<u8>> = (0..256).map(|i| vec![i as u8; 64 * 1024]).collect();
    black_box(blocks).len()
}

#[inline(never)]
fn compute() -> u64 {
    let mut acc = 1u64;
    for i in 0..80_000_000u64 {
        acc = black_box(acc.wrapping_mul(31).wrapping_add(i));
    }
    acc
}

#[test]
fn cpu_heap_and_io_in_one_profile_and_one_report() {
    let dir = tempfile_dir();
    let profiler = Profiler::start(ProfileConfig {
        name: "region".into(),
        ..ProfileConfig::default()
    })
    .expect("profiling starts");
    black_box(allocate_heavily());
    black_box(compute());
    std::fs::write(dir.join("data"), vec![3u8; 200_000]).unwrap();
    let profile = profiler.finish();

    let heap = profile
        .heap
        .as_ref()
        .expect("heap profile with Tracking installed");
    assert!(heap.stats.allocations >= 257, "{:?}", heap.stats);
    assert!(heap.stats.bytes_allocated >= 256 * 64 * 1024);
    // The region's own allocations (and the samplers' while it ran), not
    // those of naming the CPU samples after it: symbol tables, some
    // hundreds of thousands of allocations and hundreds of megabytes.
    assert!(heap.stats.allocations < 2_000, "{:?}", heap.stats);
    assert!(heap.stats.bytes_allocated < 64 << 20, "{:?}", heap.stats);
    assert!(heap.allocated.inclusive_weight("allocate_heavily") > 0);

    let report = profile.to_report("2026-01-01T00:00:00Z".parse().unwrap());
    let b = report.benchmark("region").unwrap();
    let value = |m: &str| {
        b.measurement(m)
            .and_then(|m| m.value)
            .unwrap_or_else(|| panic!("no {m}"))
    };
    assert!(value("allocations") >= 257.0);
    assert!(value("peak_live_bytes") >= (256 * 64 * 1024) as f64);
    assert!(value("write_bytes") >= 200_000.0);
    assert!(value("cpu_samples") >= 1.0);

    profile.write_flamegraph(dir.join("cpu.svg")).unwrap();
    profile
        .write_heap_flamegraph(dir.join("heap.svg"), false)
        .unwrap();
    profile
        .write_heap_flamegraph(dir.join("live.svg"), true)
        .unwrap();
    profile.write_pprof(dir.join("cpu.pb.gz")).unwrap();
    profile.write_speedscope(dir.join("cpu.json")).unwrap();
    let heap_svg = std::fs::read_to_string(dir.join("heap.svg")).unwrap();
    assert!(heap_svg.contains("allocate_heavily"));
    assert!(
        std::fs::read_to_string(dir.join("cpu.svg"))
            .unwrap()
            .contains("compute")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("perfhub-profiler-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
