//! Profiling another command: hot functions, threads, forks, failures.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use perfhub_probe::spawn::{CommandSpec, Exit, SpawnError};
use perfhub_profile::process::{
    CommandProfile, CommandProfileConfig, CommandProfileError, profile_command,
};

/// `fixtures/workloads/hot.rs`, optimized, with frame pointers and debug info.
fn hot() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
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
    assert_eq!(p.run.exit, Exit::Code(0));
    let (share, total) = share_of_three(&p);
    eprintln!(
        "command: hot_three_shares {:.1}% of {total} hot samples",
        share * 100.0
    );
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
fn samples_every_thread_and_every_forked_process() {
    let threads = profile(CommandSpec::new(hot(), ["400", "4"])).unwrap();
    let (share, total) = share_of_three(&threads);
    assert!(
        total > 200.0 && (share - 0.75).abs() < 0.05,
        "{share} of {total}"
    );

    let script = format!("{0} 200 & {0} 200; wait", hot().display());
    let forked = profile(CommandSpec::new("sh", ["-c", script.as_str()])).unwrap();
    let (share, total) = share_of_three(&forked);
    assert!(
        total > 200.0 && (share - 0.75).abs() < 0.05,
        "{share} of {total}"
    );
}

#[test]
fn a_crashing_command_still_leaves_its_profile() {
    let script = format!("{} 200; kill -SEGV $$", hot().display());
    let p = profile(CommandSpec::new("sh", ["-c", script.as_str()])).unwrap();
    assert!(
        matches!(
            p.run.exit,
            Exit::Signal {
                signal: libc::SIGSEGV,
                ..
            }
        ),
        "{:?}",
        p.run.exit
    );
    assert!(
        share_of_three(&p).1 > 50.0,
        "{} samples: {:?}",
        p.samples,
        p.stacks.stacks.iter().take(3).collect::<Vec<_>>()
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
