//! Spawning a command and measuring everything the kernel can tell about it.
//!
//! The child is started with `std::process::Command`, which uses
//! `posix_spawn` (a `vfork`-style clone) where it can, the cheapest start
//! Linux offers, and the one hyperfine uses too. The clock starts just before
//! the spawn and stops when the child is reaped; it is paused while perfhub
//! reads the child's accounting in between. perf_event counters
//! are inherited from the spawning thread (see
//! `CounterPlan` in [`counters`](crate::counters)). After the child exits,
//! perfhub reads `/proc/<pid>/io` before reaping it (`waitid` with
//! `WNOWAIT`), then takes its resource usage from `wait4`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::counters::{CounterKind, CounterPlan};
use crate::procfs::ProcIo;

/// Where a child's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Input {
    /// `/dev/null`.
    #[default]
    Null,
    /// perfhub's own standard input.
    Inherit,
    /// A file, opened afresh for each run.
    File(PathBuf),
}

/// Where a child's standard output or error goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// `/dev/null`.
    #[default]
    Null,
    /// perfhub's own stream.
    Inherit,
    /// A file, truncated for each run.
    File(PathBuf),
    /// A pipe that perfhub reads to the end and discards, for programs that
    /// behave differently when writing to `/dev/null` (hyperfine's
    /// `--output=pipe`). For standard output only: as standard error it is
    /// `/dev/null`, as in hyperfine.
    Pipe,
}

/// A command to run, as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The program: a path, or a name looked up on `PATH`.
    pub program: OsString,
    /// Its arguments, without the program name.
    pub args: Vec<OsString>,
    /// The working directory, if not perfhub's own.
    pub cwd: Option<PathBuf>,
    /// Variables set in the child's environment, on top of perfhub's own.
    pub env: Vec<(OsString, OsString)>,
    /// Standard input.
    pub stdin: Input,
    /// Standard output.
    pub stdout: Output,
    /// Standard error.
    pub stderr: Output,
}

impl CommandSpec {
    /// A command with null standard streams.
    pub fn new(
        program: impl Into<OsString>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        CommandSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            cwd: None,
            env: Vec::new(),
            stdin: Input::Null,
            stdout: Output::Null,
            stderr: Output::Null,
        }
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
}

impl Exit {
    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    /// The exit code, or `None` when a signal ended the process.
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            Exit::Signal { .. } => None,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by signal {signal} ({})", signal_name(signal))?;
                if core_dumped {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
        }
    }
}

/// The name of a common signal, such as `SIGSEGV`.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => "unknown signal",
    }
}

/// Everything measured about one run of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRun {
    /// From just before the spawn to the reaping of the child, less the
    /// time perfhub spends reading the child's accounting in between.
    pub wall: Duration,
    /// User-mode CPU time of the process and its reaped descendants.
    pub user: Duration,
    /// Kernel-mode CPU time of the process and its reaped descendants.
    pub system: Duration,
    /// Peak resident set size of the largest process in the tree, in bytes.
    pub max_rss_bytes: u64,
    /// I/O accounting, where `/proc/<pid>/io` could be read.
    pub io: Option<ProcIo>,
    /// Voluntary context switches.
    pub voluntary_context_switches: u64,
    /// Involuntary context switches.
    pub involuntary_context_switches: u64,
    /// Minor page faults.
    pub minor_page_faults: u64,
    /// Major page faults.
    pub major_page_faults: u64,
    /// How the process ended.
    pub exit: Exit,
    /// perf_event counter values.
    pub counters: Vec<(CounterKind, u64)>,
}

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The command is empty.
    #[error("empty command: give a program to run")]
    Empty,
    /// The program is not on `PATH` or does not exist.
    #[error("command not found: {program:?}; check the spelling, or give its full path")]
    NotFound {
        /// The program as given.
        program: String,
    },
    /// The program exists but cannot be executed.
    #[error("cannot execute {program:?}: {source}")]
    Exec {
        /// The program as resolved.
        program: String,
        /// The error from `execve`.
        #[source]
        source: io::Error,
    },
    /// An argument holds a NUL byte.
    #[error("argument {0:?} contains a NUL byte")]
    Nul(String),
    /// An input or output file could not be opened.
    #[error("cannot open {path}: {source}")]
    Stdio {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A system call failed.
    #[error("{call} failed: {source}")]
    Os {
        /// The system call.
        call: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// A command resolved once, ready to run many times.
#[derive(Debug)]
pub struct PreparedCommand {
    spec: CommandSpec,
    path: PathBuf,
}

/// Finds `program` the way a shell would: a name with a slash is a path,
/// anything else is looked up on `PATH`.
pub fn resolve_program(program: &OsStr) -> Result<PathBuf, SpawnError> {
    let display = || program.to_string_lossy().into_owned();
    if program.is_empty() {
        return Err(SpawnError::Empty);
    }
    if program.as_bytes().contains(&0) {
        return Err(SpawnError::Nul(display()));
    }
    let is_executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.as_bytes().contains(&b'/') {
        let p = PathBuf::from(program);
        if p.exists() {
            return Ok(p);
        }
        return Err(SpawnError::NotFound { program: display() });
    }
    let path =
        std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(SpawnError::NotFound { program: display() })
}

fn open(path: &Path, write: bool) -> Result<File, SpawnError> {
    let r = if write {
        File::create(path)
    } else {
        File::open(path)
    };
    r.map_err(|source| SpawnError::Stdio {
        path: path.to_path_buf(),
        source,
    })
}

impl Input {
    /// The child's standard input; a file is opened afresh.
    pub fn stdio(&self) -> Result<Stdio, SpawnError> {
        Ok(match self {
            Input::Null => Stdio::null(),
            Input::Inherit => Stdio::inherit(),
            Input::File(p) => open(p, false)?.into(),
        })
    }
}

impl Output {
    /// The child's standard output or error; a file is truncated.
    pub fn stdio(&self) -> Result<Stdio, SpawnError> {
        Ok(match self {
            Output::Null => Stdio::null(),
            Output::Inherit => Stdio::inherit(),
            Output::File(p) => open(p, true)?.into(),
            Output::Pipe => Stdio::piped(),
        })
    }
}

impl PreparedCommand {
    /// Resolves the program and checks the arguments.
    pub fn new(spec: &CommandSpec) -> Result<PreparedCommand, SpawnError> {
        let path = resolve_program(&spec.program)?;
        if let Some(a) = spec.args.iter().find(|a| a.as_bytes().contains(&0)) {
            return Err(SpawnError::Nul(a.to_string_lossy().into_owned()));
        }
        Ok(PreparedCommand {
            spec: spec.clone(),
            path,
        })
    }

    /// The command as given.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Runs the command once, measuring it, with the counters in `plan`.
    pub fn run(&self, plan: &mut CounterPlan) -> Result<ProcessRun, SpawnError> {
        self.run_observed(plan, |_| {})
    }

    /// Like [`PreparedCommand::run`], calling `on_spawn` with the child's
    /// pid as soon as it is started, so that a caller can watch the child
    /// (its `/proc` entries, say) while it runs. The time `on_spawn` takes
    /// is inside the timed window.
    pub fn run_observed(
        &self,
        plan: &mut CounterPlan,
        on_spawn: impl FnOnce(u32),
    ) -> Result<ProcessRun, SpawnError> {
        let mut cmd = Command::new(&self.path);
        cmd.arg0(&self.spec.program)
            .args(&self.spec.args)
            .stdin(self.spec.stdin.stdio()?)
            .stdout(self.spec.stdout.stdio()?)
            .stderr(match self.spec.stderr {
                // One pipe is drained at a time: a second could fill and
                // block the child.
                Output::Pipe => Stdio::null(),
                ref other => other.stdio()?,
            });
        if let Some(dir) = &self.spec.cwd {
            cmd.current_dir(dir);
        }
        cmd.envs(self.spec.env.iter().map(|(k, v)| (k, v)));
        let before = plan.snapshot();
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|source| SpawnError::Exec {
            program: self.spec.program.to_string_lossy().into_owned(),
            source,
        })?;
        let pid = child.id() as libc::pid_t;
        let piped = child.stdout.take();
        // The child is reaped by wait4 below, not by `Child`, whose drop
        // neither waits nor kills.
        drop(child);
        on_spawn(pid as u32);
        if let Some(mut out) = piped {
            // Read to the end, as hyperfine does, inside the timed window.
            let _ = io::copy(&mut out, &mut io::sink());
        }
        wait_exited_keep_zombie(pid)?;
        let exited = start.elapsed();
        // perfhub's own reads happen while the child is a zombie, and the
        // clock is paused for them: the window is spawn to reap, as
        // hyperfine times it, less perfhub's bookkeeping.
        let io = ProcIo::read(pid as u32).ok();
        let counters = plan.snapshot().since(&before);
        let reap = Instant::now();
        let (status, usage) = wait4(pid)?;
        let wall = exited + reap.elapsed();
        Ok(ProcessRun {
            wall,
            user: timeval(usage.ru_utime),
            system: timeval(usage.ru_stime),
            max_rss_bytes: (usage.ru_maxrss.max(0) as u64) * 1024,
            io,
            voluntary_context_switches: usage.ru_nvcsw.max(0) as u64,
            involuntary_context_switches: usage.ru_nivcsw.max(0) as u64,
            minor_page_faults: usage.ru_minflt.max(0) as u64,
            major_page_faults: usage.ru_majflt.max(0) as u64,
            exit: decode_status(status),
            counters,
        })
    }
}

fn wait_exited_keep_zombie(pid: libc::pid_t) -> Result<(), SpawnError> {
    loop {
        // SAFETY: info is a valid out-pointer.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            let _ = wait4(pid);
            return Err(SpawnError::Os {
                call: "waitid",
                source: e,
            });
        }
    }
}

fn wait4(pid: libc::pid_t) -> Result<(libc::c_int, libc::rusage), SpawnError> {
    loop {
        let mut status = 0;
        // SAFETY: valid out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(SpawnError::Os {
                call: "wait4",
                source: e,
            });
        }
    }
}

/// User and system CPU time of this process so far (`getrusage(RUSAGE_SELF)`).
pub fn own_cpu_time() -> (Duration, Duration) {
    // SAFETY: a zeroed rusage is a valid out-parameter.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (timeval(u.ru_utime), timeval(u.ru_stime))
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

fn decode_status(status: libc::c_int) -> Exit {
    if libc::WIFSIGNALED(status) {
        Exit::Signal {
            signal: libc::WTERMSIG(status),
            core_dumped: libc::WCOREDUMP(status),
        }
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(program: &str, args: &[&str]) -> Result<ProcessRun, SpawnError> {
        let spec = CommandSpec::new(program, args.iter().copied());
        PreparedCommand::new(&spec)?.run(&mut CounterPlan::all())
    }

    #[test]
    fn measures_a_simple_command() {
        let r = run("sh", &["-c", "exit 3"]).unwrap();
        assert_eq!(r.exit, Exit::Code(3));
        assert!(r.wall > Duration::ZERO);
        assert!(r.max_rss_bytes > 0);
    }

    #[test]
    fn a_piped_output_is_drained_to_the_end() {
        // Far more than a pipe holds: the child would block if unread.
        let mut spec = CommandSpec::new("sh", ["-c", "head -c 4000000 /dev/zero; echo err >&2"]);
        spec.stdout = Output::Pipe;
        spec.stderr = Output::Pipe;
        let r = PreparedCommand::new(&spec)
            .unwrap()
            .run(&mut CounterPlan::none())
            .unwrap();
        assert_eq!(r.exit, Exit::Code(0));
        let io = r.io.expect("io readable");
        assert!(io.wchar >= 4_000_000, "{io:?}");
    }

    #[test]
    fn reads_io_of_the_child_before_reaping() {
        let r = run(
            "dd",
            &["if=/dev/zero", "of=/dev/null", "bs=4096", "count=100"],
        )
        .unwrap();
        let io = r.io.expect("io readable");
        assert!(io.rchar >= 409_600, "{io:?}");
        assert!(io.wchar >= 409_600, "{io:?}");
        assert!(io.syscr >= 100);
    }

    #[test]
    fn reports_a_signal() {
        let r = run("sh", &["-c", "kill -SEGV $$"]).unwrap();
        assert!(
            matches!(
                r.exit,
                Exit::Signal {
                    signal: libc::SIGSEGV,
                    ..
                }
            ),
            "{:?}",
            r.exit
        );
        assert!(r.exit.to_string().contains("SIGSEGV"));
    }

    #[test]
    fn missing_programs_are_named() {
        let err = run("perfhub-no-such-program", &[]).unwrap_err();
        assert!(matches!(err, SpawnError::NotFound { .. }));
        assert!(err.to_string().contains("perfhub-no-such-program"));
        let err = run("/nonexistent/prog", &[]).unwrap_err();
        assert!(matches!(err, SpawnError::NotFound { .. }));
    }

    #[test]
    fn exec_failures_are_reported() {
        // A directory is found but cannot be executed.
        let err = run("/tmp", &[]).unwrap_err();
        assert!(matches!(err, SpawnError::Exec { .. }), "{err:?}");
    }

    #[test]
    fn software_counters_count_the_child_and_nothing_else() {
        let mut plan = CounterPlan::new(&CounterKind::SOFTWARE);
        let spec = CommandSpec::new(
            "sh",
            ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"],
        );
        let cmd = PreparedCommand::new(&spec).unwrap();
        for _ in 0..3 {
            let r = cmd.run(&mut plan).unwrap();
            if !plan.unavailable().is_empty() {
                // A machine that refuses them must say why.
                assert!(!plan.unavailable()[0].reason.is_empty());
                return;
            }
            let get = |k| r.counters.iter().find(|(kind, _)| *kind == k).unwrap().1;
            // task-clock and getrusage measure the same CPU time of the
            // same child, by different means.
            let cpu = (r.user + r.system).as_nanos() as f64;
            let clock = get(CounterKind::TaskClock) as f64;
            assert!(
                clock > 0.5 * cpu && clock < 1.5 * cpu + 2e6,
                "task-clock {clock} ns, rusage {cpu} ns"
            );
            assert!(get(CounterKind::PageFaults) > 10);
        }
    }
}
