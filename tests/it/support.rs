//! Helpers: the real `perfhub` binary, compiled fixture workloads, temp dirs.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use perfhub_tests::{perfhub_bin, root};

/// Starts `perfhub` with `args`, no input and its output piped.
pub fn spawn_perfhub(args: &[&str]) -> std::process::Child {
    use std::process::Stdio;
    Command::new(perfhub_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("perfhub starts")
}

/// Runs `perfhub` with `args`.
pub fn perfhub(args: &[&str]) -> Output {
    Command::new(perfhub_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("perfhub starts")
}
/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fixture workload from `fixtures/workloads/<name>.rs`, compiled with
/// `rustc -O` once per test run.
pub fn workload(name: &str) -> PathBuf {
    workload_built(name, "", &[])
}

/// A fixture workload compiled with `rustc -O` and `flags`, once per test
/// run and `variant` (a name for that set of flags).
pub fn workload_built(name: &str, variant: &str, flags: &[&str]) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = dir.path().join(format!("{name}{variant}"));
    if !out.exists() {
        let src = root().join("fixtures/workloads").join(format!("{name}.rs"));
        let tmp = dir.path().join(format!("{name}{variant}.building"));
        let status = Command::new("rustc")
            .args(["-O", "--edition", "2021"])
            .args(flags)
            .arg("-o")
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("rustc runs");
        assert!(status.success(), "compiling {} failed", src.display());
        std::fs::rename(&tmp, &out).unwrap();
    }
    out
}

#[path = "../../crates/perfhub-probe/tests/support/seccomp.rs"]
mod seccomp;

/// Makes `cmd`'s process (and everything it starts) run under a seccomp
/// filter that fails `perf_event_open` with `errno`, as a container's
/// default seccomp profile does: a real refusal by the kernel, for tests of
/// what perfhub does when it cannot sample.
pub fn refuse_perf_event_open(cmd: &mut Command, errno: i32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the installer runs between fork and exec, allocates nothing
    // and makes only prctl calls.
    unsafe {
        cmd.pre_exec(move || seccomp::install_perf_event_open_refusal(errno));
    }
}

/// Starts a server command (`perfhub serve`, `perfhub serve-metrics`) with
/// standard error piped, and returns it with the URL its first line of
/// standard error announces.
pub fn spawn_announcing_url(cmd: &mut Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (child, url)
}

/// Runs `perfhub` with `args` and returns its output and its peak resident
/// set size in bytes, as the kernel reports it when the process is reaped
/// (`wait4`'s `ru_maxrss`): a measure of memory, not of time.
// The child is reaped by `wait4` itself, which std's `wait` cannot stand
// in for: it discards the child's resource usage.
#[allow(clippy::zombie_processes)]
pub fn perfhub_peak_rss(args: &[&str]) -> (Output, u64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    let mut child = spawn_perfhub(args);
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let stdout = reader.join().unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet reaped (`child` is never
        // waited for); the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "wait4: {e}");
    }
    let output = Output {
        status: ExitStatus::from_raw(status),
        stdout,
        stderr,
    };
    // Linux reports ru_maxrss in KiB.
    (output, u64::try_from(usage.ru_maxrss).unwrap() * 1024)
}
