//! Spawning a command and measuring everything the kernel can tell about it.
//!
//! perfhub forks and execs by hand rather than through `std::process` so that
//! it can act between the two: the child waits on a pipe while the parent
//! attaches perf_event counters to it (enabled on exec, so perfhub's own work
//! is never counted), and after the child exits the parent reads
//! `/proc/<pid>/io` before reaping it (`waitid` with `WNOWAIT`), then takes
//! its resource usage from `wait4`.
//!
//! Between `fork` and `exec` the child only makes async-signal-safe calls on
//! data prepared beforehand, so this is sound in a multi-threaded parent.

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
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
    /// From just before `exec` to the exit notification.
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

/// A command resolved and encoded once, ready to run many times.
pub struct PreparedCommand {
    spec: CommandSpec,
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    cwd: Option<CString>,
}

impl fmt::Debug for PreparedCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCommand")
            .field("path", &self.path)
            .field("argv", &self.argv)
            .finish_non_exhaustive()
    }
}

fn cstring(s: &OsStr) -> Result<CString, SpawnError> {
    CString::new(s.as_bytes()).map_err(|_| SpawnError::Nul(s.to_string_lossy().into_owned()))
}

/// Finds `program` the way a shell would: a name with a slash is a path,
/// anything else is looked up on `PATH`.
pub fn resolve_program(program: &OsStr) -> Result<PathBuf, SpawnError> {
    let display = || program.to_string_lossy().into_owned();
    if program.is_empty() {
        return Err(SpawnError::Empty);
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

impl PreparedCommand {
    /// Resolves the program and encodes the arguments and environment.
    pub fn new(spec: &CommandSpec) -> Result<PreparedCommand, SpawnError> {
        let resolved = resolve_program(&spec.program)?;
        let path = cstring(resolved.as_os_str())?;
        let mut argv = Vec::with_capacity(spec.args.len() + 1);
        argv.push(cstring(&spec.program)?);
        for a in &spec.args {
            argv.push(cstring(a)?);
        }
        let mut envp = Vec::new();
        for (k, v) in std::env::vars_os() {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            // Variables with NUL cannot be passed on; the kernel would cut them.
            if let Ok(c) = CString::new(kv) {
                envp.push(c);
            }
        }
        let cwd = spec
            .cwd
            .as_deref()
            .map(|p| cstring(p.as_os_str()))
            .transpose()?;
        Ok(PreparedCommand {
            spec: spec.clone(),
            path,
            argv,
            envp,
            cwd,
        })
    }

    /// The command as given.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Runs the command once, measuring it, with the counters in `plan`.
    pub fn run(&self, plan: &mut CounterPlan) -> Result<ProcessRun, SpawnError> {
        let stdio = [
            open_input(&self.spec.stdin)?,
            open_output(&self.spec.stdout)?,
            open_output(&self.spec.stderr)?,
        ];
        let (go_r, go_w) = pipe()?;
        let (err_r, err_w) = pipe()?;

        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.envp.iter().map(|a| a.as_ptr()).collect();
        envp.push(std::ptr::null());
        let cwd = self.cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());

        // SAFETY: fork has no preconditions; the child branch only makes
        // async-signal-safe calls on memory prepared above, then execs or exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(os_error("fork"));
        }
        if pid == 0 {
            // SAFETY: all pointers were prepared before fork and stay alive.
            unsafe {
                child_after_fork(
                    &stdio,
                    go_r.0,
                    err_w.0,
                    cwd,
                    self.path.as_ptr(),
                    &argv,
                    &envp,
                )
            }
        }
        drop(go_r);
        drop(err_w);
        drop(stdio);

        let mut counters = plan.open_for_exec(pid);
        let start = Instant::now();
        let go_result = write_byte(&go_w);
        drop(go_w);
        if let Err(e) = go_result {
            reap(pid);
            return Err(e);
        }
        if let Some(errno) = read_exec_error(&err_r) {
            reap(pid);
            return Err(SpawnError::Exec {
                program: self.spec.program.to_string_lossy().into_owned(),
                source: io::Error::from_raw_os_error(errno),
            });
        }
        drop(err_r);

        wait_exited_keep_zombie(pid)?;
        let wall = start.elapsed();
        let io = ProcIo::read(pid as u32).ok();
        let counter_values = counters.read();
        drop(counters);

        let (status, usage) = wait4(pid)?;
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
            counters: counter_values,
        })
    }
}

/// An owned file descriptor that closes on drop; -1 means none.
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: we own this descriptor.
            unsafe { libc::close(self.0) };
        }
    }
}

fn os_error(call: &'static str) -> SpawnError {
    SpawnError::Os {
        call,
        source: io::Error::last_os_error(),
    }
}

fn pipe() -> Result<(Fd, Fd), SpawnError> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_error("pipe2"));
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

fn open_file(path: &Path, flags: libc::c_int) -> Result<Fd, SpawnError> {
    let c = cstring(path.as_os_str())?;
    // SAFETY: c is a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd < 0 {
        return Err(SpawnError::Stdio {
            path: path.to_path_buf(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(Fd(fd))
}

fn open_input(input: &Input) -> Result<Fd, SpawnError> {
    match input {
        Input::Null => open_file(Path::new("/dev/null"), libc::O_RDONLY),
        Input::Inherit => Ok(Fd(-1)),
        Input::File(p) => open_file(p, libc::O_RDONLY),
    }
}

fn open_output(output: &Output) -> Result<Fd, SpawnError> {
    match output {
        Output::Null => open_file(Path::new("/dev/null"), libc::O_WRONLY),
        Output::Inherit => Ok(Fd(-1)),
        Output::File(p) => open_file(p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
    }
}

/// The child's side: wire up stdio, wait for the go signal, exec.
///
/// # Safety
/// Must only be called in the child right after `fork`, with pointers that
/// stay valid; it never returns.
unsafe fn child_after_fork(
    stdio: &[Fd; 3],
    go_r: libc::c_int,
    err_w: libc::c_int,
    cwd: *const libc::c_char,
    path: *const libc::c_char,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> ! {
    // SAFETY: only async-signal-safe calls follow, on valid descriptors and
    // NUL-terminated arrays prepared by the parent.
    unsafe {
        for (target, fd) in stdio.iter().enumerate() {
            if fd.0 >= 0 && libc::dup2(fd.0, target as libc::c_int) < 0 {
                fail_child(err_w);
            }
        }
        // Rust ignores SIGPIPE in its own processes; the program should not.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        if !cwd.is_null() && libc::chdir(cwd) != 0 {
            fail_child(err_w);
        }
        let mut byte = 0u8;
        loop {
            let r = libc::read(go_r, (&mut byte as *mut u8).cast(), 1);
            if r == 1 {
                break;
            }
            if r == 0 || *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        libc::execve(path, argv.as_ptr(), envp.as_ptr());
        fail_child(err_w)
    }
}

/// Reports errno to the parent through the exec-error pipe and exits.
///
/// # Safety
/// Child side only.
unsafe fn fail_child(err_w: libc::c_int) -> ! {
    // SAFETY: writing four bytes from a local to a valid descriptor.
    unsafe {
        let errno = *libc::__errno_location();
        let bytes = errno.to_ne_bytes();
        libc::write(err_w, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(127)
    }
}

fn write_byte(fd: &Fd) -> Result<(), SpawnError> {
    let byte = 1u8;
    loop {
        // SAFETY: one byte from a local.
        let r = unsafe { libc::write(fd.0, (&byte as *const u8).cast(), 1) };
        if r == 1 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(SpawnError::Os {
                call: "write",
                source: e,
            });
        }
    }
}

/// `Some(errno)` when the child reported a failure before exec.
fn read_exec_error(fd: &Fd) -> Option<i32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reading into the rest of a local buffer.
        let r = unsafe { libc::read(fd.0, buf[got..].as_mut_ptr().cast(), 4 - got) };
        if r == 0 {
            break;
        }
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        got += r as usize;
    }
    (got == 4).then(|| i32::from_ne_bytes(buf))
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
            reap(pid);
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

fn reap(pid: libc::pid_t) {
    let _ = wait4(pid);
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
    fn software_counters_count_the_child() {
        let mut plan = CounterPlan::new(&CounterKind::SOFTWARE);
        let spec = CommandSpec::new(
            "sh",
            ["-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"],
        );
        let r = PreparedCommand::new(&spec).unwrap().run(&mut plan).unwrap();
        if plan.unavailable().is_empty() {
            let clock = r
                .counters
                .iter()
                .find(|(k, _)| *k == CounterKind::TaskClock)
                .unwrap()
                .1;
            assert!(clock > 0);
        } else {
            // A machine that refuses them must say why.
            assert!(!plan.unavailable()[0].reason.is_empty());
        }
    }
}
