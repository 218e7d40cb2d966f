//! The environment fingerprint: what machine and software a report was taken on.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use perfhub_core::report::Environment;
use perfhub_core::time::UtcTime;
use sysinfo::{CpuRefreshKind, System};

/// What to look up beyond the machine itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvConfig {
    /// Skip `rustc --version` and `git` (both start a process). Even when
    /// not skipped, `rustc` is asked only inside a Cargo project.
    pub skip_tools: bool,
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
        env.git_commit = command_line("git", &["rev-parse", "HEAD"]);
        if env.git_commit.is_some() {
            env.git_branch =
                command_line("git", &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD");
            env.git_dirty = Command::new("git")
                .args(["status", "--porcelain", "--untracked-files=no"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| !o.stdout.is_empty());
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
    fn collects_this_machine_with_a_stable_fingerprint() {
        let a = collect(EnvConfig { skip_tools: true });
        let b = collect(EnvConfig { skip_tools: true });
        assert!(a.logical_cpus >= 1);
        assert!(a.memory_bytes > 0);
        assert_eq!(a.fingerprint.len(), 16);
        assert_eq!(a.fingerprint, b.fingerprint);
    }
}
