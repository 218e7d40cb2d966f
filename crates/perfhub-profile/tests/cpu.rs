//! CPU sampling names the hot functions of this program with the right shares.

use std::hint::black_box;
use std::time::Instant;

use perfhub_profile::cpu::{CpuProfileConfig, CpuSampler, Mechanism};

#[path = "../../../fixtures/workloads/hot_fns.rs"]
mod hot_fns;
use hot_fns::{hot_one_share, hot_three_shares, spin};

/// The sampler sees every thread of the process, other tests' included:
/// profiles in this file are taken one at a time.
static ONE_PROFILE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This thread's CPU time in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Iterations of `spin` that take about `seconds` of this thread's CPU
/// time: measured in CPU time, not wall time, so a busy machine (where the
/// thread gets a fraction of a core) still gets a workload worth the
/// samples the tests count on.
fn calibrate(seconds: f64) -> u64 {
    let start = thread_cpu_seconds();
    let wall = Instant::now();
    black_box(spin(2_000_000));
    let cpu = thread_cpu_seconds() - start;
    let per_iter = if cpu > 0.0 {
        cpu
    } else {
        wall.elapsed().as_secs_f64()
    } / 2e6;
    (seconds / per_iter) as u64
}

fn check_shares(mechanism: Mechanism) {
    let _one = ONE_PROFILE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // SIGPROF timers fire at most at the kernel's tick rate (under 100 Hz
    // measured here), far below the 1 kHz asked for: that sampler gets more
    // time and, with fewer samples, a wider tolerance (3.5 standard errors).
    let (unit, min_samples, tolerance) = match mechanism {
        Mechanism::Signal => (calibrate(1.0), 150.0, 0.10),
        _ => (calibrate(0.3), 300.0, 0.05),
    };
    let config = CpuProfileConfig {
        frequency_hz: 1000,
        mechanism,
    };
    let sampler = CpuSampler::start(config).expect("sampling starts");
    black_box(hot_one_share(unit));
    black_box(hot_three_shares(unit));
    let profile = sampler.finish();

    let one = profile.stacks.inclusive_weight("hot_one_share") as f64;
    let three = profile.stacks.inclusive_weight("hot_three_shares") as f64;
    let total = one + three;
    assert!(
        total >= min_samples,
        "too few samples in the hot functions: {total} of {}",
        profile.samples
    );
    let share = three / total;
    eprintln!(
        "{mechanism:?}: hot_three_shares {:.1}% of {total} hot samples (expected 75%)",
        share * 100.0
    );
    assert!(
        (share - 0.75).abs() < tolerance,
        "hot_three_shares has {:.1}% of the hot samples, expected 75% ± {}: {:#?}",
        share * 100.0,
        tolerance * 100.0,
        profile
            .stacks
            .stacks
            .iter()
            .filter(|(_, w)| **w > 5)
            .collect::<Vec<_>>()
    );
    let expected = match mechanism {
        Mechanism::Signal => "SIGPROF",
        _ => "perf_event_open",
    };
    assert!(
        profile.mechanism.starts_with(expected),
        "{}",
        profile.mechanism
    );
}

#[test]
fn shares_of_two_hot_functions_are_within_five_points() {
    check_shares(Mechanism::PerfEvent);
}

/// The fallback where perf_event_open is refused, forced here.
#[test]
fn the_signal_fallback_finds_the_same_shares() {
    check_shares(Mechanism::Signal);
}

#[test]
fn threads_started_during_the_profile_are_sampled() {
    let _one = ONE_PROFILE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let unit = calibrate(0.2);
    let sampler = CpuSampler::start(CpuProfileConfig::at(1000)).expect("sampling starts");
    let handle = std::thread::spawn(move || black_box(hot_three_shares(unit)));
    black_box(handle.join().unwrap());
    let profile = sampler.finish();
    assert!(
        profile.stacks.inclusive_weight("hot_three_shares") > 100,
        "{} samples: {:?}",
        profile.samples,
        profile.stacks.stacks.keys().take(5).collect::<Vec<_>>()
    );
}

#[test]
fn refuses_out_of_range_frequencies() {
    assert!(CpuSampler::start(CpuProfileConfig::at(0)).is_err());
    assert!(CpuSampler::start(CpuProfileConfig::at(1_000_000)).is_err());
}

#[test]
fn a_profile_reports_cpu_and_io_of_the_region() {
    use perfhub_profile::{ProfileConfig, Profiler};
    let _one = ONE_PROFILE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let unit = calibrate(0.1);
    let path = std::env::temp_dir().join(format!("perfhub-profile-io-{}", std::process::id()));
    let profiler = Profiler::start(ProfileConfig {
        name: "region".into(),
        cpu: Some(CpuProfileConfig::at(500)),
        heap: None,
    })
    .expect("profiling starts");
    black_box(hot_one_share(unit));
    std::fs::write(&path, vec![1u8; 300_000]).unwrap();
    let profile = profiler.finish();
    std::fs::remove_file(&path).unwrap();

    let report = profile.to_report("2026-01-01T00:00:00Z".parse().unwrap());
    let b = report.benchmark("region").unwrap();
    let value = |m: &str| {
        b.measurement(m)
            .and_then(|m| m.value)
            .unwrap_or_else(|| panic!("no {m}"))
    };
    assert!(value("cpu_samples") >= 10.0);
    assert!(value("user_time") > 0.05);
    assert!(value("write_bytes") >= 300_000.0);
    assert!(b.notes.iter().any(|n| n.code == "cpu_sampling"));
    assert!(
        profile
            .cpu
            .unwrap()
            .stacks
            .inclusive_weight("hot_one_share")
            > 10
    );
}
