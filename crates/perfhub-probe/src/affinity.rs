//! Which CPU a process runs on.

use std::io;

/// The CPU the calling thread is running on now, if the OS says.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and returns a number.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// Restricts process `pid` (all of it, as seen from its main thread at
/// the time) to CPU `cpu`. Fails where the CPU is outside the process's
/// allowed set (a container's cpuset) or the OS refuses.
pub fn pin(pid: u32, cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "CPU {cpu} is beyond the {} a CPU set holds",
                libc::CPU_SETSIZE
            ),
        ));
    }
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    // SAFETY: cpu_set_t is a plain bit array, and all zeros is the empty
    // set; CPU_SET sets bit `cpu`, which is within the set (checked above).
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed, alive for the
    // call; the kernel only reads it.
    let r = unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_pinned_to_the_cpu_asked() {
        let cpu = current_cpu().expect("Linux says which CPU a thread runs on");
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        pin(child.id(), cpu).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(allowed, cpu.to_string());
        let err = pin(std::process::id(), libc::CPU_SETSIZE as usize).unwrap_err();
        assert!(err.to_string().contains("beyond"), "{err}");
    }
}
