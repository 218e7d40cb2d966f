//! A real refusal of `perf_event_open`: a child process runs under a
//! seccomp filter that answers it with an errno, as a container's seccomp
//! profile does, and perfhub's explanation must name seccomp.
//!
//! The child is this test binary itself, re-executed with
//! [`CHILD_ERRNO`] set so that the same test runs in child mode, with the
//! filter installed by [`seccomp::install_perf_event_open_refusal`] in a
//! `pre_exec` closure.

#[path = "support/seccomp.rs"]
mod seccomp;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use perf_event::Builder;
use perf_event::events::Software;
use perfhub_probe::counters::{self, CounterKind, CounterPlan};
use perfhub_probe::perf_access::AccessFacts;

/// Set in the re-executed child to the errno its filter answers.
const CHILD_ERRNO: &str = "PERFHUB_TEST_SECCOMP_CHILD_ERRNO";
/// The line the child prints when every check passed.
const CHILD_OK: &str = "perfhub-seccomp-child: ok: ";

/// Runs this test, and only this test, in a child under the filter.
fn run_child(test: &str, errno: i32) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ERRNO, errno.to_string());
    // SAFETY: the installer allocates nothing and only calls prctl.
    unsafe { cmd.pre_exec(move || seccomp::install_perf_event_open_refusal(errno)) };
    cmd.output().expect("the child starts")
}

/// In the child: the refusal is real, and explained as seccomp.
fn child(errno: i32) {
    let facts = AccessFacts::read();
    assert_eq!(facts.seccomp, Some(2), "the filter is installed: {facts:?}");

    let err = Builder::new(Software::TASK_CLOCK)
        .build()
        .expect_err("the filter refuses perf_event_open");
    assert_eq!(err.raw_os_error(), Some(errno), "{err}");
    let explained = counters::explain(&err);
    assert!(explained.contains("seccomp filter"), "{explained}");
    assert!(explained.contains("perf_event_open"), "{explained}");

    // The counters perfhub run opens: refused, dropped, and explained.
    let mut plan = CounterPlan::new(&[CounterKind::TaskClock, CounterKind::PageFaults]);
    let snapshot = plan.snapshot();
    assert!(snapshot.since(&snapshot).is_empty());
    assert!(plan.active().is_empty(), "{:?}", plan.active());
    assert_eq!(plan.unavailable().len(), 2);
    for u in plan.unavailable() {
        assert!(u.reason.contains("seccomp filter"), "{}", u.reason);
        assert!(u.reason.contains("fix:"), "{}", u.reason);
    }

    // Everything else still works under the filter.
    let status = std::fs::read_to_string("/proc/self/status").expect("readable");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    println!("{CHILD_OK}{}", plan.unavailable()[0].reason);
}

fn check_child(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The child really ran the checks: the test was not filtered out. The
    // harness writes the test's name on the same line, before the output.
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(CHILD_OK).map(|(_, reason)| reason))
        .unwrap_or_else(|| panic!("the child ran no checks:\n{stdout}\n{stderr}"));
    line.to_string()
}

#[test]
fn a_seccomp_refusal_is_explained_as_seccomp() {
    if let Ok(errno) = std::env::var(CHILD_ERRNO) {
        child(errno.parse().expect("an errno"));
        return;
    }
    // What filters answer: libseccomp's and Docker's default is EPERM;
    // others use EACCES or ENOSYS.
    for errno in [libc::EACCES, libc::EPERM, libc::ENOSYS] {
        let reason = check_child(&run_child(
            "a_seccomp_refusal_is_explained_as_seccomp",
            errno,
        ));
        assert!(reason.contains("seccomp"), "{reason}");
    }
}

#[test]
fn the_installer_rejects_impossible_errnos_in_pre_exec() {
    for errno in [0, -1, 4096, 70_000] {
        let mut cmd = Command::new("true");
        // SAFETY: the installer allocates nothing and only calls prctl.
        unsafe { cmd.pre_exec(move || seccomp::install_perf_event_open_refusal(errno)) };
        let err = cmd.status().expect_err("the pre_exec error is reported");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{errno}: {err}");
    }
}
