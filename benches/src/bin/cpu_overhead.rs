//! CPU sampling overhead, side by side: the same CPU-bound workload with no
//! profiler, under perfhub's sampler, and under pprof-rs, at one frequency.
//!
//! Usage: `cargo run --release -p perfhub-benches --bin cpu-overhead -- [HZ] [REPS]`
//! (defaults 99 Hz, 15 repetitions). Each repetition runs every mode once, in
//! a rotating order; the workload's wall time is measured with the profiler
//! already running, so start-up and symbolization are reported apart.

use std::hint::black_box;
use std::time::{Duration, Instant};

use perfhub_profile::cpu::{CpuProfileConfig, CpuSampler};

#[path = "../../../fixtures/workloads/hot_fns.rs"]
#[allow(dead_code)]
mod hot_fns;
use hot_fns::spin as workload;

fn timed(iterations: u64) -> Duration {
    let start = Instant::now();
    black_box(workload(iterations));
    start.elapsed()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let hz: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(99);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    // About half a second of work per measurement.
    let probe = 50_000_000;
    let per_iter = timed(probe).as_secs_f64() / probe as f64;
    let iterations = (0.5 / per_iter) as u64;

    let modes = ["none", "perfhub", "pprof-rs"];
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut setup: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for rep in 0..reps {
        for k in 0..modes.len() {
            let m = (rep + k) % modes.len();
            match modes[m] {
                "none" => walls[m].push(timed(iterations).as_secs_f64()),
                "perfhub" => {
                    let t0 = Instant::now();
                    let sampler = CpuSampler::start(CpuProfileConfig::at(hz))
                        .expect("perfhub sampler starts");
                    let t_start = t0.elapsed();
                    walls[m].push(timed(iterations).as_secs_f64());
                    let t1 = Instant::now();
                    let profile = sampler.finish();
                    setup[m].push((t_start + t1.elapsed()).as_secs_f64());
                    samples[m].push(profile.samples as f64);
                }
                _ => {
                    let t0 = Instant::now();
                    let guard = pprof::ProfilerGuardBuilder::default()
                        .frequency(hz as i32)
                        .build()
                        .expect("pprof-rs starts");
                    let t_start = t0.elapsed();
                    walls[m].push(timed(iterations).as_secs_f64());
                    let t1 = Instant::now();
                    let report = guard.report().build().expect("pprof-rs report");
                    setup[m].push((t_start + t1.elapsed()).as_secs_f64());
                    samples[m].push(report.data.values().sum::<isize>() as f64);
                    drop(guard);
                }
            }
        }
    }
    let base = median(&mut walls[0].clone());
    println!("{reps} repetitions at {hz} Hz; workload of {iterations} iterations; medians.\n");
    println!("| mode | workload wall time | overhead | samples | start + finish |");
    println!("|---|---:|---:|---:|---:|");
    for m in 0..modes.len() {
        let w = median(&mut walls[m].clone());
        let over = (w / base - 1.0) * 100.0;
        let s = if samples[m].is_empty() {
            "-".to_string()
        } else {
            format!("{:.0}", median(&mut samples[m].clone()))
        };
        let st = if setup[m].is_empty() {
            "-".to_string()
        } else {
            format!("{:.1} ms", median(&mut setup[m].clone()) * 1e3)
        };
        println!(
            "| {} | {:.2} ms | {over:+.2}% | {s} | {st} |",
            modes[m],
            w * 1e3
        );
    }
}
