//! Criterion benchmarks of the kernel's hot paths.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Measurement, Report, ReportKind, metric};
use perfhub_core::stats::{self, CompareConfig, Statistic, Summary};
use perfhub_core::units::Unit;
use perfhub_profile::criterion::FlameGraphProfiler;

/// Deterministic samples shaped like run times: a base with a long tail.
fn samples(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            0.010 + 0.002 * u + if u > 0.98 { 0.02 * u } else { 0.0 }
        })
        .collect()
}

fn statistics(c: &mut Criterion) {
    let mut g = c.benchmark_group("stats");
    for n in [100usize, 10_000] {
        let s = samples(n, 7);
        g.bench_with_input(BenchmarkId::new("summary", n), &s, |b, s| {
            b.iter(|| Summary::of(black_box(s)))
        });
    }
    let a = samples(100, 1);
    let h = samples(100, 2);
    g.bench_function("bootstrap_ci_100x2000", |b| {
        b.iter(|| stats::bootstrap_ci(black_box(&a), Statistic::Mean, 0.95, 2000, 1))
    });
    let cfg = CompareConfig {
        resamples: 2000,
        ..CompareConfig::default()
    };
    g.bench_function("compare_samples_100_100", |b| {
        b.iter(|| stats::compare_samples(black_box(&a), black_box(&h), &cfg))
    });
    g.bench_function("mann_whitney_100_100", |b| {
        b.iter(|| stats::mann_whitney_u(black_box(&a), black_box(&h)))
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram");
    let values: Vec<u64> = samples(100_000, 3)
        .iter()
        .map(|s| (s * 1e9) as u64)
        .collect();
    g.bench_function("record_100k", |b| {
        b.iter(|| {
            let mut h = LatencyHistogram::new();
            for &v in &values {
                h.record_nanos(v);
            }
            h
        })
    });
    let mut one = LatencyHistogram::new();
    let mut two = LatencyHistogram::new();
    for (i, &v) in values.iter().enumerate() {
        if i % 2 == 0 {
            one.record_nanos(v);
        } else {
            two.record_nanos(v * 3);
        }
    }
    g.bench_function("merge", |b| {
        b.iter(|| {
            let mut m = one.clone();
            m.merge(black_box(&two)).unwrap();
            m
        })
    });
    g.bench_function("v2_encode_decode", |b| {
        b.iter(|| {
            LatencyHistogram::from_v2_compressed(&black_box(&one).to_v2_compressed()).unwrap()
        })
    });
    g.finish();
}

fn report_serialization(c: &mut Criterion) {
    let mut report = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
    for i in 0..10 {
        let mut b = Benchmark::new(format!("bench {i}"), metric::WALL_TIME);
        for m in [metric::WALL_TIME, metric::USER_TIME, metric::SYSTEM_TIME] {
            b.measurements.push(Measurement::from_samples(
                m,
                Unit::Seconds,
                samples(1000, i + 1),
            ));
        }
        report.benchmarks.push(b);
    }
    let json = report.to_json();
    let mut g = c.benchmark_group("report");
    g.bench_function("to_json_10x3x1000", |b| {
        b.iter(|| black_box(&report).to_json())
    });
    g.bench_function("from_json_10x3x1000", |b| {
        b.iter(|| Report::from_json(black_box(&json)).unwrap())
    });
    g.finish();
}

/// Folded-stack collapsing: 100,000 samples of 500 distinct 16-frame stacks
/// added into a profile (the work of a profiler's drain), then written as
/// folded text and parsed back.
fn folded_stacks(c: &mut Criterion) {
    use perfhub_flame::{StackProfile, WeightUnit, parse_folded, to_folded};
    let distinct: Vec<Vec<String>> = (0..500)
        .map(|s| {
            (0..16)
                .map(|d| format!("crate::module{}::function_{}", d, (s * 7 + d * 13) % 97))
                .collect()
        })
        .collect();
    let mut g = c.benchmark_group("folded");
    g.bench_function("collapse_100k_samples", |b| {
        b.iter(|| {
            let mut p = StackProfile::new(WeightUnit::Samples);
            for i in 0..100_000usize {
                p.add(distinct[(i * 31) % distinct.len()].clone(), 1);
            }
            black_box(p)
        })
    });
    let mut profile = StackProfile::new(WeightUnit::Samples);
    for (i, s) in distinct.iter().enumerate() {
        profile.add(s.clone(), 1 + i as u64);
    }
    let text = to_folded(&profile);
    g.bench_function("write_500_stacks", |b| {
        b.iter(|| to_folded(black_box(&profile)))
    });
    g.bench_function("parse_500_stacks", |b| {
        b.iter(|| parse_folded(black_box(&text)).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // `cargo xtask bench -- --profile-time 5` draws a flame graph of each
    // benchmark under target/criterion/<benchmark>/profile/.
    config = Criterion::default().with_profiler(FlameGraphProfiler::new(997));
    targets = statistics, histograms, report_serialization, folded_stacks
}
criterion_main!(benches);
