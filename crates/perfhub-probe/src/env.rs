//! The environment fingerprint: what machine and software a report was taken on.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use perfhub_core::report::Environment;
use perfhub_core::time::UtcTime;
use sysinfo::{CpuRefreshKind, System};

/// What to look up beyond the machine itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvConfig {
    /// Skip `rustc --version` and the git state (which may start `git`).
    /// Even when not skipped, `rustc` is asked only inside a Cargo project,
    /// and `git` only inside a git repository (see [`crate::git`]).
    pub skip_tools: bool,
}

/// The environment being collected on a background thread; see
/// [`collect_in_background`].
#[derive(Debug)]
pub struct PendingEnvironment {
    config: EnvConfig,
    thread: Option<std::thread::JoinHandle<Option<Environment>>>,
}

impl PendingEnvironment {
    /// The environment: waits for the background thread, or collects it
    /// now when it was deferred or the thread failed.
    pub fn wait(self) -> Environment {
        match self.thread.map(|t| t.join()) {
            Some(Ok(Some(env))) => env,
            _ => collect(self.config),
        }
    }
}

/// Starts collecting the environment on a background thread, so that it
/// costs nothing beside work done meanwhile (the runs of a benchmark);
/// [`PendingEnvironment::wait`] returns it.
///
/// Call it before opening perf_event counters on the calling thread: a
/// thread started later would inherit them, and so would the `git` and
/// `rustc` it may start, whose counts would add to the counters' totals.
///
/// With a single CPU, nothing runs in the background, where it would take
/// time from a measured command: the environment is collected by `wait`.
/// The git state is that of the start (a command that edits tracked files
/// while it is measured does not make the checkout dirty).
pub fn collect_in_background(config: EnvConfig) -> PendingEnvironment {
    let thread = std::thread::Builder::new()
        .name("perfhub-env".into())
        .spawn(move || {
            // Asked here rather than before: it reads cgroup files.
            let spare_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
            spare_cpu.then(|| collect(config))
        })
        .ok();
    PendingEnvironment { config, thread }
}

/// Collects the environment of this process.
///
/// Facts that cannot be read are left out rather than guessed.
pub fn collect(config: EnvConfig) -> Environment {
    let mut sys = System::new();
    sys.refresh_memory();
    sys.refresh_cpu_list(CpuRefreshKind::nothing());
    let cpu_model = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|s| !s.is_empty());
    let logical_cpus = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(sys.cpus().len() as u32);
    let mut env = Environment {
        hostname: System::host_name(),
        os: System::long_os_version().or_else(System::name),
        kernel: System::kernel_version(),
        arch: System::cpu_arch(),
        cpu_model,
        logical_cpus,
        physical_cores: System::physical_core_count().map(|n| n as u32),
        memory_bytes: sys.total_memory(),
        ..Environment::default()
    };
    if !config.skip_tools {
        // Starting rustc through rustup costs tens of milliseconds: ask only
        // where the answer matters, inside a Cargo project.
        if in_cargo_project() {
            env.rustc = command_line("rustc", &["--version"]);
        }
        if let Ok(dir) = std::env::current_dir() {
            let git = crate::git::read(&dir);
            env.git_commit = git.commit;
            env.git_branch = git.branch;
            env.git_dirty = git.dirty;
        }
    }
    env.fingerprint = fingerprint(&env);
    env
}

/// A short stable hash of the hardware and OS: equal on the same machine,
/// different when the CPU, core count, memory size, OS or kernel change.
pub fn fingerprint(env: &Environment) -> String {
    let gib = env.memory_bytes / (1 << 30);
    let key = format!(
        "{}|{}|{}|{}|{}|{}",
        env.arch,
        env.cpu_model.as_deref().unwrap_or(""),
        env.logical_cpus,
        gib,
        env.os.as_deref().unwrap_or(""),
        env.kernel.as_deref().unwrap_or("")
    );
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn in_cargo_project() -> bool {
    let Ok(mut dir) = std::env::current_dir() else {
        return false;
    };
    loop {
        if dir.join("Cargo.toml").is_file() {
            return true;
        }
        if !dir.pop() {
            return false;
        }
    }
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The current time as an RFC 3339 timestamp in UTC, to the second.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC (through
/// [`UtcTime::rfc3339`], perfhub-core's one RFC 3339 writer).
pub fn rfc3339(unix_secs: u64) -> String {
    UtcTime {
        unix: i64::try_from(unix_secs).unwrap_or(i64::MAX),
    }
    .rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn collects_the_same_in_the_background() {
        let config = EnvConfig { skip_tools: true };
        let now = collect(config);
        let later = collect_in_background(config).wait();
        assert_eq!(now.fingerprint, later.fingerprint);
        assert_eq!(now.hostname, later.hostname);
    }

    #[test]
    fn collects_this_machine_with_a_stable_fingerprint() {
        let a = collect(EnvConfig { skip_tools: true });
        let b = collect(EnvConfig { skip_tools: true });
        assert!(a.logical_cpus >= 1);
        assert!(a.memory_bytes > 0);
        assert_eq!(a.fingerprint.len(), 16);
        assert_eq!(a.fingerprint, b.fingerprint);
    }
}
