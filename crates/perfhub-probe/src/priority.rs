//! The scheduling priority (nice value) of the calling thread, which the
//! processes it starts inherit.
//!
//! On Linux the nice value belongs to a thread: `setpriority(PRIO_PROCESS,
//! 0, …)` changes the calling thread's alone, and a process it spawns
//! starts with it. A benchmark started at nice −20 gets about 95% of a CPU
//! it shares with four ordinary tasks (a parallel build), where at nice 0
//! it gets a fifth.

use std::io;

/// The calling thread's nice value, −20 (most favoured) to 19.
pub fn nice() -> io::Result<i32> {
    // getpriority can return −1 as a value: errno tells it from an error.
    // SAFETY: errno is thread-local; writing it before the call is how
    // getpriority's result is told apart.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: getpriority takes plain integers.
    let value = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let err = io::Error::last_os_error();
    if value == -1 && err.raw_os_error().is_some_and(|e| e != 0) {
        return Err(err);
    }
    Ok(value)
}

/// Sets the calling thread's nice value. Lowering it (a higher priority)
/// needs root, `CAP_SYS_NICE` or a `RLIMIT_NICE` that allows it
/// (`ulimit -e`); otherwise the OS refuses with `EACCES` or `EPERM`.
pub fn set_nice(value: i32) -> io::Result<()> {
    // SAFETY: setpriority takes plain integers.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, value) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The calling thread at a higher priority until dropped, when its nice
/// value is put back.
#[derive(Debug)]
pub struct Raised {
    before: i32,
}

impl Raised {
    /// Raises the calling thread's priority to nice `value`; the processes
    /// it starts meanwhile run at that priority.
    pub fn to(value: i32) -> io::Result<Raised> {
        let before = nice()?;
        set_nice(value)?;
        Ok(Raised { before })
    }
}

impl Drop for Raised {
    fn drop(&mut self) {
        // Raising the nice value back is always allowed.
        let _ = set_nice(self.before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_inherits_the_raised_priority_and_the_old_one_comes_back() {
        // On a thread of its own, so the test harness's threads keep theirs.
        std::thread::spawn(|| {
            let before = nice().unwrap();
            match Raised::to(before - 5) {
                Ok(raised) => {
                    assert_eq!(nice().unwrap(), before - 5);
                    let out = std::process::Command::new("sh")
                        .args(["-c", "cut -d' ' -f19 /proc/self/stat"])
                        .output()
                        .unwrap();
                    let child: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                    assert_eq!(child, before - 5);
                    drop(raised);
                    assert_eq!(nice().unwrap(), before);
                }
                // Not allowed here: the refusal is an error, not a panic,
                // and nothing changed.
                Err(e) => {
                    assert!(
                        matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)),
                        "{e}"
                    );
                    assert_eq!(nice().unwrap(), before);
                }
            }
        })
        .join()
        .unwrap();
    }
}
