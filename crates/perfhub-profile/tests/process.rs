//! Profiling another command: hot functions, threads, forks, failures.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use perfhub_probe::spawn::{CommandSpec, Exit, SpawnError};
use perfhub_profile::process::{
    CommandProfile, CommandProfileConfig, CommandProfileError, SamplerChoice, SamplerUsed,
    profile_command,
};

/// `fixtures/workloads/hot.rs`, optimized, with frame pointers and debug info.
fn hot() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../..");
        let out = std::env::temp_dir().join(format!("perfhub-hot-{}", std::process::id()));
        let status = Command::new("rustc")
            .args([
                "-O",
                "-g",
                "-C",
                "force-frame-pointers=yes",
                "--edition",
                "2021",
                "-o",
            ])
            .arg(&out)
            .arg(root.join("fixtures/workloads/hot.rs"))
            .status()
            .expect("rustc runs");
        assert!(status.success());
        out
    })
}

/// Profiles in this file run one at a time: each samples everything the
/// spawning thread starts, and the machine has two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn profile(spec: CommandSpec) -> Result<CommandProfile, CommandProfileError> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    profile_command(&spec, CommandProfileConfig::default())
}

fn share_of_three(p: &CommandProfile) -> (f64, f64) {
    let one = p.stacks.inclusive_weight("hot_one_share") as f64;
    let three = p.stacks.inclusive_weight("hot_three_shares") as f64;
    (three / (one + three), one + three)
}

#[test]
fn names_the_hot_functions_of_a_command_with_their_shares() {
    let p = profile(CommandSpec::new(hot(), ["400"])).unwrap();
    assert_eq!(p.exit, Some(Exit::Code(0)));
    assert_eq!(p.sampler, SamplerUsed::PerfEvent);
    assert!(!p.timeline.is_empty());
    let (share, total) = share_of_three(&p);
    eprintln!(
        "command: hot_three_shares {:.1}% of {total} hot samples",
        share * 100.0
    );
    // Samples follow CPU time, not wall time: `hot 400` is a fixed amount of
    // work, about 1,700 samples at 999 Hz however busy the machine, so 200
    // leaves room for a CPU eight times as fast.
    assert!(
        total > 200.0,
        "{} samples: {:?}",
        p.samples,
        p.stacks.stacks.keys().take(3).collect::<Vec<_>>()
    );
    assert!((share - 0.75).abs() < 0.05, "{:.1}%", share * 100.0);
    // Each stack starts with the process name.
    assert!(p.stacks.stacks.keys().all(|s| !s.is_empty()));
}

#[test]
fn the_timeline_only_sampler_still_measures_the_run() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = CommandProfileConfig {
        sampler: SamplerChoice::TimelineOnly,
        ..CommandProfileConfig::default()
    };
    let p = profile_command(&CommandSpec::new(hot(), ["200"]), config).unwrap();
    assert_eq!(p.sampler, SamplerUsed::TimelineOnly);
    assert_eq!(p.samples, 0);
    assert_eq!(p.stacks.total(), 0);
    let run = p.run.as_ref().unwrap();
    assert!(run.user > std::time::Duration::from_millis(50), "{run:?}");
    assert!(!p.timeline.is_empty());
    let report = p.to_report("2026-01-01T00:00:00Z");
    let b = &report.benchmarks[0];
    assert!(b.measurements.iter().all(|m| m.metric != "cpu_samples"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.code == "sampler" && n.message.contains("timeline only"))
    );
}

#[test]
fn a_missing_command_is_an_error() {
    let err = profile(CommandSpec::new(
        "perfhub-no-such-command",
        Vec::<String>::new(),
    ))
    .unwrap_err();
    assert!(
        matches!(err, CommandProfileError::Spawn(SpawnError::NotFound { .. })),
        "{err}"
    );
}
