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
///
/// perfhub is started by a small Python process, not by this one: Linux
/// carries the high-water mark of the process that calls `exec` into the
/// new program's `ru_maxrss`, and this test process, with other tests
/// running in its threads, may have been far larger than perfhub will be.
pub fn perfhub_peak_rss(args: &[&str]) -> (Output, u64) {
    const REAP: &str = r#"
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"#;
    let dir = tempfile::tempdir().unwrap();
    let rss = dir.path().join("maxrss");
    let output = Command::new("python3")
        .arg("-c")
        .arg(REAP)
        .arg(&rss)
        .arg(perfhub_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python3 runs: install it (Debian: apt-get install python3)");
    let kib: u64 = std::fs::read_to_string(&rss)
        .unwrap_or_else(|e| {
            panic!(
                "no peak RSS ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
        .parse()
        .unwrap();
    // Linux reports ru_maxrss in KiB.
    (output, kib * 1024)
}

/// Runs `git` in `dir` with a fixed author, which must succeed.
pub fn git(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
}
