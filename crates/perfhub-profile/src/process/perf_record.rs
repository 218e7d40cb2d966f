//! `perf record` standing in for perfhub's own sampler, where the kernel
//! refuses perfhub's perf_event_open but an installed `perf` may sample
//! (a `perf` binary with file capabilities, say).
//!
//! [`record`] runs `perf record -F <hz> -g -o <tmp> -- <command>`, then
//! `perf script` on the data, and parses its text into stacks with
//! [`parse_script`]. The result matches the native sampler's:
//!
//! - **Event.** perf's default, chosen the way the native sampler chooses:
//!   hardware cycles, else the software cpu-clock where the machine has no
//!   cycle counter; user and kernel mode, else user mode only where
//!   `kernel.perf_event_paranoid` allows only that (perf steps down by
//!   itself, with a warning kept from the user). Kernel frames
//!   (`[kernel.kallsyms]`, kernel modules) are dropped, so time in the
//!   kernel is charged to the user call chain that entered it, as the native
//!   sampler, which asks for user call chains only, does.
//! - **Stacks.** Root first, the first frame being the process's command name
//!   (from its last `exec`, inherited over `fork`; thread names do not count),
//!   then the frames perf named. A frame perf cannot name becomes
//!   `module+0xOFFSET` (the file offset perf prints, as the native path
//!   does), or the bare address where no file maps it. Unlike the native
//!   path, inlined functions get no frames of their own (`--no-inline`:
//!   perf 6.1 here prints none even with `--inline`, and where perf expands
//!   them it runs `addr2line`, which can take minutes on large binaries).
//! - **Streams.** `perf record` writes its chatter to its standard error,
//!   which the command would inherit. So perf's standard error goes to a
//!   temporary file, shown only if perf fails, and the command reaches its
//!   own standard error through a one-line `/bin/sh` trampoline
//!   (`exec "$@" 2>&3 3>&-`) that perf starts. Standard input and output are
//!   the command's own and perf does not use them. The trampoline is sampled
//!   for the millisecond before its `exec`; those samples are dropped (every
//!   sample of the first process before its second `exec`). The command's
//!   `argv[0]` is its resolved path.
//! - **Exit status.** When the command exits with code N, `perf record`
//!   exits with N; when a signal kills the command, `perf record` re-raises
//!   that signal on itself as it exits (found by running perf 6.1; see
//!   `record__sig_exit` in perf's `builtin-record.c`). A successful perf
//!   prints `[ perf record: Captured and wrote ...` last, so perf's status is
//!   the command's exactly when that line is there, and perf's own failure
//!   otherwise. Whether the command dumped core is not passed on:
//!   `core_dumped` is always false. perf runs with a core size limit of 0, so
//!   re-raising `SIGSEGV` leaves no core of perf's (which would overwrite
//!   the command's own `core`); the trampoline restores the limit for the
//!   command. If perf itself gets `SIGINT` or `SIGTERM` (Ctrl-C), it
//!   re-raises that signal whatever the command's status was.
//! - **Wall time.** From the command's `exec` to its exit, from the
//!   timestamps of perf's task events; perf's own start and data writing
//!   are left out. Where those events are missing, it is the lifetime of the
//!   perf process.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use perfhub_flame::{StackProfile, WeightUnit};
use perfhub_probe::spawn::{self, CommandSpec, Exit, Output, PreparedCommand, SpawnError};

/// The fields `perf script` prints, which [`parse_script`] reads.
const SCRIPT_FIELDS: &str = "comm,pid,tid,time,ip,sym,dso";

/// The line `perf record` prints to its standard error once the data is
/// complete, and only then (perf's `__cmd_record`).
const RECORD_DONE: &str = "[ perf record: Captured and wrote";

/// The trampoline perf starts: `$1` is the core size limit to restore (in
/// 512-byte blocks, or `unlimited`), the rest is the command. It gives the
/// command descriptor 3 as its standard error, and closes 3.
const TRAMPOLINE: &str = r#"ulimit -S -c "$1" 2>/dev/null; shift; exec "$@" 2>&3 3>&-"#;

/// How many times the first process `exec`s before it is the command: once,
/// into the trampoline.
const TRAMPOLINE_EXECS: u32 = 1;

/// The most of perf's standard error an error message shows.
const STDERR_SHOWN: usize = 4000;

/// One run of a command under `perf record`.
pub(crate) struct PerfRecordRun {
    /// Samples by call stack (root first, the process's command name first),
    /// weighted in [`WeightUnit::Samples`], with the sampling period in ns.
    pub stacks: StackProfile,
    /// Samples taken of the command (those with at least one user frame).
    pub samples: u64,
    /// How the command ended (see the module documentation for how perf
    /// passes it on; `core_dumped` is always false).
    pub exit: Exit,
    /// From the command's `exec` to its exit.
    pub wall: Duration,
    /// perf's version, such as `6.1.192`.
    pub perf_version: String,
}

/// Why `perf record` could not profile a command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PerfRecordError {
    /// No working `perf`.
    #[error(
        "perf is not installed, or does not work here (`perf --version` fails; on Debian, /usr/bin/perf is a wrapper that needs the linux-perf package of the running kernel); fix: install perf (Debian: `apt-get install linux-perf`; Ubuntu: `apt-get install linux-tools-$(uname -r)`; Fedora: `dnf install perf`)"
    )]
    NotInstalled,
    /// A sampling frequency of 0.
    #[error("sampling frequency {0} Hz is out of range; fix: give 1 Hz or more")]
    Frequency(u64),
    /// A perf command failed.
    #[error("`perf {stage}` failed ({status}): {}", shown(.stderr))]
    Failed {
        /// Which: `--version`, `record` or `script`.
        stage: &'static str,
        /// How it ended, such as `exit status: 255`.
        status: String,
        /// What perf wrote to its standard error.
        stderr: String,
    },
    /// `perf script` printed a line [`parse_script`] cannot read.
    #[error(
        "cannot read line {line} of `perf script` output ({problem}): {text:?}; fix: this perf prints a format perfhub does not know, so report the line with `perf --version`"
    )]
    Parse {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: &'static str,
        /// The line.
        text: String,
    },
    /// The command cannot be run (not found, a NUL in an argument, a
    /// redirection file that cannot be opened).
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Running perf, or its temporary files, failed.
    #[error("cannot run perf: {0}")]
    Io(#[from] io::Error),
}

/// The end of perf's standard error, for an error message.
fn shown(stderr: &str) -> String {
    let text = stderr.trim();
    if text.is_empty() {
        return "perf wrote nothing to its standard error".to_string();
    }
    if text.len() <= STDERR_SHOWN {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_SHOWN;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &text[start..])
}

/// Finds `perf` on `PATH`, if it works: `perf --version` must succeed and
/// print a version (on Debian, `/usr/bin/perf` is a wrapper that fails when
/// no `perf_<version>` matches the running kernel).
pub(crate) fn perf_available() -> Option<PathBuf> {
    let perf = spawn::resolve_program(OsStr::new("perf")).ok()?;
    version(&perf).ok()?;
    Some(perf)
}

/// `perf --version`, without its `perf version ` prefix.
fn version(perf: &Path) -> Result<String, PerfRecordError> {
    let out = Command::new(perf)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(not_installed)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim().strip_prefix("perf version ") {
        Some(v) if out.status.success() && !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(PerfRecordError::Failed {
            stage: "--version",
            status: out.status.to_string(),
            stderr: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        }),
    }
}

/// A missing perf binary is [`PerfRecordError::NotInstalled`].
fn not_installed(e: io::Error) -> PerfRecordError {
    if e.kind() == io::ErrorKind::NotFound {
        PerfRecordError::NotInstalled
    } else {
        PerfRecordError::Io(e)
    }
}

/// Runs `spec` under `perf record -F <frequency_hz> -g -o <tmpfile> --
/// <command>` (with `--call-graph dwarf` instead of `-g` when
/// `dwarf` is true, for code without frame pointers), calling `on_spawn`
/// with the pid of the perf process right after it starts, then reads the
/// data with `perf script` into stacks.
///
/// The command's standard streams follow `spec.stdin`, `spec.stdout` and
/// `spec.stderr`; perf's own messages are kept from them and appear only in
/// a [`PerfRecordError::Failed`]. The temporary directory holding the data
/// is removed before returning.
pub(crate) fn record(
    perf: &Path,
    spec: &CommandSpec,
    frequency_hz: u64,
    dwarf: bool,
    on_spawn: impl FnOnce(u32),
) -> Result<PerfRecordRun, PerfRecordError> {
    if frequency_hz == 0 {
        return Err(PerfRecordError::Frequency(frequency_hz));
    }
    // Checks the program and the arguments as a native run would.
    PreparedCommand::new(spec)?;
    let program = spawn::resolve_program(&spec.program)?;
    let perf_version = version(perf)?;
    let dir = tempfile::Builder::new()
        .prefix("perfhub-perf-record-")
        .tempdir()?;
    let data = dir.path().join("perf.data");
    let record_log = dir.path().join("record.stderr");

    let mut cmd = Command::new(perf);
    cmd.args(["record", "--no-buildid-cache", "-F"])
        .arg(frequency_hz.to_string());
    if dwarf {
        cmd.args(["--call-graph", "dwarf"]);
    } else {
        cmd.arg("-g");
    }
    cmd.arg("-o")
        .arg(&data)
        .args(["--", "/bin/sh", "-c", TRAMPOLINE, "sh"])
        .arg(core_limit_blocks(core_limit()?.rlim_cur))
        .arg(&program)
        .args(&spec.args)
        .stdin(spec.stdin.stdio()?)
        .stdout(spec.stdout.stdio()?)
        .stderr(File::create(&record_log)?);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let command_stderr = stderr_fd(&spec.stderr)?;
    let fd = command_stderr.as_raw_fd();
    // SAFETY: the closure makes only async-signal-safe calls (fcntl, dup2,
    // getrlimit, setrlimit) and allocates nothing.
    unsafe { cmd.pre_exec(move || perf_child_setup(fd)) };

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(not_installed)?;
    drop(cmd);
    drop(command_stderr);
    on_spawn(child.id());
    let status = child.wait()?;
    let perf_wall = started.elapsed();

    let log = read_lossy(&record_log);
    if !log.contains(RECORD_DONE) {
        return Err(PerfRecordError::Failed {
            stage: "record",
            status: status.to_string(),
            stderr: log,
        });
    }
    let exit = command_exit(status);
    let parsed = script(perf, &data, dir.path())?;
    let mut stacks = parsed.stacks;
    stacks.period = Some(1_000_000_000 / frequency_hz);
    Ok(PerfRecordRun {
        stacks,
        samples: parsed.samples,
        exit,
        wall: parsed.wall.unwrap_or(perf_wall),
        perf_version,
    })
}

/// The command's exit, from the status of the `perf record` that ran it.
fn command_exit(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal {
            signal,
            core_dumped: false,
        },
        // wait() reports only exits and deaths by signal.
        (None, None) => Exit::Code(libc::WEXITSTATUS(status.into_raw())),
    }
}

/// In the perf process, before `exec`: the command's standard error on
/// descriptor 3, and no core dump of perf's own.
fn perf_child_setup(stderr_fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system calls on descriptors and a local rlimit.
    unsafe {
        if stderr_fd == 3 {
            // dup2 onto itself would keep close-on-exec.
            if libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
        } else if libc::dup2(stderr_fd, 3) == -1 {
            return Err(io::Error::last_os_error());
        }
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        limit.rlim_cur = 0;
        if libc::setrlimit(libc::RLIMIT_CORE, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// This process's core size limit.
fn core_limit() -> io::Result<libc::rlimit> {
    // SAFETY: a zeroed rlimit is a valid out-parameter.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: RLIMIT_CORE with a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// A core size limit in bytes as the shell's `ulimit -c` takes it: 512-byte
/// blocks, rounded up, or `unlimited`.
fn core_limit_blocks(bytes: libc::rlim_t) -> String {
    if bytes == libc::RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        bytes.div_ceil(512).to_string()
    }
}

/// A descriptor (3 or above, close-on-exec) for the command's standard error.
fn stderr_fd(o: &Output) -> Result<OwnedFd, PerfRecordError> {
    let fd: OwnedFd = match o {
        Output::Null | Output::Pipe => File::options().write(true).open("/dev/null")?.into(),
        Output::Inherit => io::stderr().as_fd().try_clone_to_owned()?,
        Output::File(p) => File::create(p)
            .map_err(|source| SpawnError::Stdio {
                path: p.clone(),
                source,
            })?
            .into(),
    };
    if fd.as_raw_fd() >= 3 {
        return Ok(fd);
    }
    // With standard descriptors closed, a new one can be 0 to 2, which the
    // child's own redirections would overwrite before it moves it to 3.
    // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved == -1 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: fcntl returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// A file's text, or an empty string if it cannot be read.
fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Runs `perf script` on `data` and parses its output as it comes.
fn script(perf: &Path, data: &Path, dir: &Path) -> Result<Parsed, PerfRecordError> {
    let log = dir.join("script.stderr");
    let mut child = Command::new(perf)
        .args(["--no-pager", "script", "-i"])
        .arg(data)
        .args([
            "-F",
            SCRIPT_FIELDS,
            "--ns",
            "--show-task-events",
            "--no-inline",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log)?)
        .spawn()
        .map_err(not_installed)?;
    let mut parser = Parser::new(TRAMPOLINE_EXECS);
    let read = match child.stdout.take() {
        Some(stdout) => feed(&mut parser, BufReader::new(stdout)),
        None => Err(io::Error::other("perf script's standard output was not captured").into()),
    };
    if read.is_err() {
        // Stop perf rather than wait for output nobody reads.
        let _ = child.kill();
    }
    let status = child.wait()?;
    read?;
    if !status.success() {
        return Err(PerfRecordError::Failed {
            stage: "script",
            status: status.to_string(),
            stderr: read_lossy(&log),
        });
    }
    Ok(parser.finish())
}

/// Feeds every line of `reader` to `parser` (lossily decoded: perf prints
/// symbol names as the binaries spell them).
fn feed(parser: &mut Parser, mut reader: impl BufRead) -> Result<(), PerfRecordError> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                parser.line(line.trim_end_matches(['\n', '\r']))?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Parses `perf script -F comm,pid,tid,time,ip,sym,dso --ns
/// --show-task-events` output into stacks (root first, weighted in
/// samples) and the number of samples.
///
/// Each sample is a header line (`comm pid/tid time:`) followed by its call
/// chain, leaf first, one `address symbol (dso)` line per frame, and a blank
/// line. The task events (`PERF_RECORD_COMM`, `_FORK`, `_EXIT`) give every
/// process's command name. Samples without a user-space frame are not
/// counted. A line of any other form is an error that quotes it.
///
/// Every sample is kept: [`record`] reads `perf script` as it runs through
/// the same parser, and also drops the samples of its shell trampoline.
// record() streams instead of holding perf script's whole output in memory,
// so outside the unit tests nothing calls this.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn parse_script(text: &str) -> Result<(StackProfile, u64), PerfRecordError> {
    let mut parser = Parser::new(0);
    for line in text.lines() {
        parser.line(line)?;
    }
    let parsed = parser.finish();
    Ok((parsed.stacks, parsed.samples))
}

/// What [`Parser`] makes of a whole `perf script` output.
struct Parsed {
    stacks: StackProfile,
    samples: u64,
    /// From the command's `exec` to the first process's exit.
    wall: Option<Duration>,
}

/// A sample being read.
struct Sample {
    pid: u32,
    /// The thread's name, for a process whose command name is unknown.
    thread_comm: String,
    keep: bool,
    /// Leaf first.
    frames: Vec<String>,
}

/// The line-by-line state of [`parse_script`].
struct Parser {
    /// `exec`s of the first process that precede the command.
    skip_execs: u32,
    stacks: StackProfile,
    samples: u64,
    /// Each process's command name.
    comms: HashMap<u32, String>,
    /// The first process that `exec`s: the one perf started.
    root: Option<u32>,
    root_execs: u32,
    started: Option<Duration>,
    ended: Option<Duration>,
    current: Option<Sample>,
    line_no: usize,
}

impl Parser {
    fn new(skip_execs: u32) -> Parser {
        Parser {
            skip_execs,
            stacks: StackProfile::new(WeightUnit::Samples),
            samples: 0,
            comms: HashMap::new(),
            root: None,
            root_execs: 0,
            started: None,
            ended: None,
            current: None,
            line_no: 0,
        }
    }

    fn error(&self, problem: &'static str, text: &str) -> PerfRecordError {
        PerfRecordError::Parse {
            line: self.line_no,
            problem,
            text: text.to_string(),
        }
    }

    fn line(&mut self, text: &str) -> Result<(), PerfRecordError> {
        self.line_no += 1;
        if text.trim().is_empty() {
            self.flush();
            return Ok(());
        }
        if text.starts_with([' ', '\t']) {
            let frame = frame(text.trim()).map_err(|problem| self.error(problem, text))?;
            let Some(sample) = self.current.as_mut() else {
                return Err(self.error("a call-chain frame outside any sample", text));
            };
            if sample.keep
                && let Some(name) = frame
            {
                sample.frames.push(name);
            }
            return Ok(());
        }
        self.flush();
        let Some(header) = header(text) else {
            return Err(self.error("not a `comm pid/tid time:` header", text));
        };
        if let Some(event) = header.rest.strip_prefix("PERF_RECORD_") {
            return self
                .event(event, header.time)
                .map_err(|problem| self.error(problem, text));
        }
        let keep = self.skip_execs == 0
            || self
                .root
                .is_some_and(|root| header.pid != root || self.root_execs > self.skip_execs);
        let mut sample = Sample {
            pid: header.pid,
            thread_comm: header.comm.to_string(),
            keep,
            frames: Vec::new(),
        };
        // Without a call chain, the one frame follows on the header line.
        if !header.rest.is_empty() {
            let frame = frame(header.rest).map_err(|problem| self.error(problem, text))?;
            if keep && let Some(name) = frame {
                sample.frames.push(name);
            }
        }
        self.current = Some(sample);
        Ok(())
    }

    /// A task event, after its `PERF_RECORD_` prefix.
    fn event(&mut self, event: &str, time: Duration) -> Result<(), &'static str> {
        if let Some(rest) = event.strip_prefix("COMM exec: ") {
            let (name, pid) = comm_event(rest).ok_or("a COMM event without name:pid/tid")?;
            self.comms.insert(pid, name.to_string());
            let root = *self.root.get_or_insert(pid);
            if pid == root {
                self.root_execs += 1;
                if self.root_execs == self.skip_execs + 1 {
                    self.started = Some(time);
                }
            }
        } else if let Some(rest) = event.strip_prefix("COMM: ") {
            // A thread renamed, or perf's name for the child before exec:
            // the process's command name stays.
            let (name, pid) = comm_event(rest).ok_or("a COMM event without name:pid/tid")?;
            self.comms.entry(pid).or_insert_with(|| name.to_string());
        } else if let Some(rest) = event.strip_prefix("FORK") {
            let ((pid, _), (ppid, _)) = task_event(rest).ok_or("a FORK event without ids")?;
            if pid != ppid
                && let Some(name) = self.comms.get(&ppid).cloned()
            {
                self.comms.entry(pid).or_insert(name);
            }
        } else if let Some(rest) = event.strip_prefix("EXIT") {
            let ((pid, tid), _) = task_event(rest).ok_or("an EXIT event without ids")?;
            if Some(pid) == self.root && pid == tid {
                self.ended = Some(time);
            }
        }
        Ok(())
    }

    /// Adds the sample being read, if any, to the stacks.
    fn flush(&mut self) {
        let Some(sample) = self.current.take() else {
            return;
        };
        if !sample.keep || sample.frames.is_empty() {
            return;
        }
        let comm = self
            .comms
            .get(&sample.pid)
            .cloned()
            .unwrap_or(sample.thread_comm);
        let mut stack = Vec::with_capacity(sample.frames.len() + 1);
        stack.push(comm);
        stack.extend(sample.frames.into_iter().rev());
        self.stacks.add(stack, 1);
        self.samples += 1;
    }

    fn finish(mut self) -> Parsed {
        self.flush();
        let wall = match (self.started, self.ended) {
            (Some(start), Some(end)) => end.checked_sub(start),
            _ => None,
        };
        Parsed {
            stacks: self.stacks,
            samples: self.samples,
            wall,
        }
    }
}

/// A header line: `comm pid/tid seconds.nanoseconds: rest`.
struct Header<'a> {
    comm: &'a str,
    pid: u32,
    time: Duration,
    rest: &'a str,
}

/// Splits a header line; the command name may hold spaces, so the header
/// is found as the first `pid/tid` followed by a `time:`.
fn header(text: &str) -> Option<Header<'_>> {
    let tokens: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|t| (t.as_ptr() as usize - text.as_ptr() as usize, t))
        .collect();
    tokens.windows(2).find_map(|pair| {
        let [(ids_at, ids), (time_at, time_token)] = pair else {
            return None;
        };
        let (pid, tid) = ids.split_once('/')?;
        tid.parse::<u32>().ok()?;
        let time = timestamp(time_token.strip_suffix(':')?)?;
        Some(Header {
            comm: text.get(..*ids_at)?.trim(),
            pid: pid.parse().ok()?,
            time,
            rest: text.get(time_at + time_token.len()..)?.trim(),
        })
    })
}

/// `seconds.fraction` as perf prints times.
fn timestamp(text: &str) -> Option<Duration> {
    let (secs, frac) = text.split_once('.')?;
    if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = frac.parse().ok()?;
    Some(Duration::new(
        secs.parse().ok()?,
        nanos * 10u32.pow(9 - frac.len() as u32),
    ))
}

/// `name:pid/tid` of a COMM event; the name may hold colons.
fn comm_event(text: &str) -> Option<(&str, u32)> {
    let (name, ids) = text.trim().rsplit_once(':')?;
    let (pid, tid) = ids.split_once('/')?;
    tid.parse::<u32>().ok()?;
    Some((name, pid.parse().ok()?))
}

/// `(pid:tid):(ppid:ptid)` of a FORK or EXIT event.
fn task_event(text: &str) -> Option<((u32, u32), (u32, u32))> {
    let pair = |s: &str| -> Option<(u32, u32)> {
        let s = s.trim().strip_prefix('(')?.strip_suffix(')')?;
        let (a, b) = s.split_once(':')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let (child, parent) = text.split_once("):(")?;
    Some((pair(&format!("{child})"))?, pair(&format!("({parent}"))?))
}

/// One call-chain line, `address symbol (dso)`: the frame's name, or
/// `None` for a kernel frame.
fn frame(text: &str) -> Result<Option<String>, &'static str> {
    let (address, rest) = text
        .split_once([' ', '\t'])
        .ok_or("a frame without symbol and module")?;
    let ip =
        u64::from_str_radix(address, 16).map_err(|_| "a frame address that is not hexadecimal")?;
    let (symbol, dso) = split_dso(rest.trim()).ok_or("a frame without its (module) at the end")?;
    if is_kernel(dso, ip) {
        return Ok(None);
    }
    if !symbol.is_empty() && symbol != "[unknown]" {
        return Ok(Some(symbol.to_string()));
    }
    if dso.is_empty() || dso == "[unknown]" {
        return Ok(Some(format!("{ip:#x}")));
    }
    let module = Path::new(dso)
        .file_name()
        .map_or_else(|| dso.into(), |f| f.to_string_lossy());
    Ok(Some(format!("{module}+{ip:#x}")))
}

/// Splits `symbol (dso)` at the parenthesis that opens the last balanced
/// group, so parentheses inside the symbol or the path are kept.
fn split_dso(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_suffix(')')?;
    let mut depth = 1usize;
    for (at, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some((inner[..at].trim_end(), &inner[at + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a frame is in the kernel: `[kernel.kallsyms]` and the like, or a
/// kernel module (`[name]` at a kernel address); `[vsyscall]` is user space.
fn is_kernel(dso: &str, ip: u64) -> bool {
    dso.starts_with("[kernel.")
        || dso.starts_with("[guest.kernel.")
        || (dso.starts_with('[')
            && dso.ends_with(']')
            && dso != "[vsyscall]"
            && dso != "[unknown]"
            && ip >= 0xffff_0000_0000_0000)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// `perf record -e cpu-clock:u -F 97 -g` of `hot 20` (fixtures/workloads/hot.rs
    /// built with frame pointers) through the trampoline, then
    /// `perf script -F comm,pid,tid,time,ip,sym,dso --ns --show-task-events
    /// --no-inline` (perf 6.1): the task events, the first six samples and
    /// the exits.
    const HOT: &str = r#"perf-exec     0/0         0.000000000: PERF_RECORD_COMM: perf-exec:17010/17010
sh 17010/17010 10389.810064803: PERF_RECORD_COMM exec: sh:17010/17010
hot 17010/17010 10389.810797915: PERF_RECORD_COMM exec: hot:17010/17010
hot 17010/17010 10389.812958377: PERF_RECORD_FORK(17010:17012):(17010:17010)
hot 17010/17012 10389.823360723: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           153ed hot::hot_fns::hot_one_share (/tmp/perfrec-dev/work/hot)
	           15503 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.833676676: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           153ed hot::hot_fns::hot_one_share (/tmp/perfrec-dev/work/hot)
	           15503 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.844222682: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           15412 hot::hot_fns::hot_three_shares (/tmp/perfrec-dev/work/hot)
	           15517 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.854532916: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           15412 hot::hot_fns::hot_three_shares (/tmp/perfrec-dev/work/hot)
	           15517 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.864843070: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           1541d hot::hot_fns::hot_three_shares (/tmp/perfrec-dev/work/hot)
	           15517 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.875165332: 
	           15488 hot::hot_fns::spin (/tmp/perfrec-dev/work/hot)
	           1541d hot::hot_fns::hot_three_shares (/tmp/perfrec-dev/work/hot)
	           15517 std::sys::backtrace::__rust_begin_short_backtrace (/tmp/perfrec-dev/work/hot)
	           16208 core::ops::function::FnOnce::call_once{{vtable.shim}} (/tmp/perfrec-dev/work/hot)
	           419ef <std::sys::thread::unix::Thread>::new::thread_start (/tmp/perfrec-dev/work/hot)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

hot 17010/17012 10389.902184981: PERF_RECORD_EXIT(17010:17012):(17009:17009)
hot 17010/17010 10389.902303538: PERF_RECORD_EXIT(17010:17010):(17009:17009)
"#;

    /// The same of a stripped program whose main thread writes to
    /// /dev/null while a thread named "busy worker" spins, recorded with
    /// `-e cpu-clock` (kernel mode too): unknown frames, kernel frames, and
    /// a thread name that is not the process's.
    const MIX: &str = r#"perf-exec     0/0         0.000000000: PERF_RECORD_COMM: perf-exec:14174/14174
sh 14174/14174 10289.577948997: PERF_RECORD_COMM exec: sh:14174/14174
mix 14174/14174 10289.578642630: PERF_RECORD_COMM exec: mix:14174/14174
mix 14174/14174 10289.579326538: PERF_RECORD_FORK(14174:14176):(14174:14174)
busy worker 14174/14176 10289.580040091: PERF_RECORD_COMM: busy worker:14174/14176
busy worker 14174/14176 10289.582982984: 
	           14fb4 [unknown] (/tmp/perfrec-dev/work/mix)
	           15449 [unknown] (/tmp/perfrec-dev/work/mix)
	           15fe1 [unknown] (/tmp/perfrec-dev/work/mix)
	           40c4f [unknown] (/tmp/perfrec-dev/work/mix)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

mix 14174/14174 10289.588008678: 
	ffffffff821ef666 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           f838f __GI___libc_write (/usr/lib/x86_64-linux-gnu/libc.so.6)
	           150d1 [unknown] (/tmp/perfrec-dev/work/mix)
	           14e92 [unknown] (/tmp/perfrec-dev/work/mix)
	           15436 [unknown] (/tmp/perfrec-dev/work/mix)
	           153fc [unknown] (/tmp/perfrec-dev/work/mix)
	           3c814 [unknown] (/tmp/perfrec-dev/work/mix)
	           1599d [unknown] (/tmp/perfrec-dev/work/mix)
	           2724a __libc_start_call_main (/usr/lib/x86_64-linux-gnu/libc.so.6)

busy worker 14174/14176 10289.593031047: 
	           14fb4 [unknown] (/tmp/perfrec-dev/work/mix)
	           15449 [unknown] (/tmp/perfrec-dev/work/mix)
	           15fe1 [unknown] (/tmp/perfrec-dev/work/mix)
	           40c4f [unknown] (/tmp/perfrec-dev/work/mix)
	           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)

mix 14174/14174 10289.597065150: 
	ffffffff816bb9b8 ksys_write ([kernel.kallsyms])
	ffffffff821ef691 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           f838f __GI___libc_write (/usr/lib/x86_64-linux-gnu/libc.so.6)
	           150d1 [unknown] (/tmp/perfrec-dev/work/mix)
	           14e92 [unknown] (/tmp/perfrec-dev/work/mix)
	           15436 [unknown] (/tmp/perfrec-dev/work/mix)
	           153fc [unknown] (/tmp/perfrec-dev/work/mix)
	           3c814 [unknown] (/tmp/perfrec-dev/work/mix)
	           1599d [unknown] (/tmp/perfrec-dev/work/mix)
	           2724a __libc_start_call_main (/usr/lib/x86_64-linux-gnu/libc.so.6)

busy worker 14174/14176 10289.640907466: PERF_RECORD_EXIT(14174:14176):(14173:14173)
mix 14174/14174 10289.649041424: PERF_RECORD_EXIT(14174:14174):(14173:14173)
"#;

    /// `/bin/true` through the trampoline at 20 kHz: the trampoline (`sh`,
    /// mostly in the dynamic loader) is sampled before it execs the command.
    const TRAMPOLINE_SAMPLES: &str = r#"perf-exec     0/0         0.000000000: PERF_RECORD_COMM: perf-exec:14276/14276
sh 14276/14276 10297.307404857: PERF_RECORD_COMM exec: sh:14276/14276
sh 14276/14276 10297.307548922: 
	           197ca _dl_sysdep_parse_arguments (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	           1ab78 _dl_start_user (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)

sh 14276/14276 10297.307598696: 
	           148f2 get_common_indices.constprop.0 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	               0 [unknown] ([unknown])

sh 14276/14276 10297.307649151: 
	           153e0 update_active.constprop.0 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)

sh 14276/14276 10297.307698064: 
	           1462a handle_amd (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	               0 [unknown] ([unknown])

sh 14276/14276 10297.307747638: 
	           14645 handle_amd (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	               0 [unknown] ([unknown])

sh 14276/14276 10297.307847627: 
	           12dd9 search_cache (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	            81e3 _dl_map_object (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	    7faf388678a8 [unknown] ([unknown])
	               0 [unknown] ([unknown])

sh 14276/14276 10297.308245880: 
	           12f19 [unknown] (/usr/bin/dash)

true 14276/14276 10297.308385958: PERF_RECORD_COMM exec: true:14276/14276
true 14276/14276 10297.308495181: 
	           13a74 __GI___tunables_init (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	    7fff4d35eed6 [unknown] ([unknown])
	  687361622f6e69 [unknown] ([unknown])

true 14276/14276 10297.308545536: 
	           15c51 init_cpu_features.constprop.0 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
	               0 [unknown] ([unknown])

true 14276/14276 10297.308939853: PERF_RECORD_EXIT(14276:14276):(14275:14275)
"#;

    fn stack(frames: &[&str]) -> Vec<String> {
        frames.iter().map(|f| f.to_string()).collect()
    }

    fn parse(text: &str, skip_execs: u32) -> Parsed {
        let mut parser = Parser::new(skip_execs);
        for line in text.lines() {
            parser.line(line).unwrap();
        }
        parser.finish()
    }

    #[test]
    fn parses_symbolized_multi_frame_stacks_root_first() {
        let (stacks, samples) = parse_script(HOT).unwrap();
        assert_eq!(samples, 6);
        assert_eq!(stacks.unit, Some(WeightUnit::Samples));
        assert_eq!(stacks.total(), 6);
        let common = [
            "hot",
            "start_thread",
            "<std::sys::thread::unix::Thread>::new::thread_start",
            "core::ops::function::FnOnce::call_once{{vtable.shim}}",
            "std::sys::backtrace::__rust_begin_short_backtrace",
        ];
        let one = stack(
            &[
                &common[..],
                &["hot::hot_fns::hot_one_share", "hot::hot_fns::spin"],
            ]
            .concat(),
        );
        let three = stack(
            &[
                &common[..],
                &["hot::hot_fns::hot_three_shares", "hot::hot_fns::spin"],
            ]
            .concat(),
        );
        assert_eq!(stacks.stacks.get(&one), Some(&2), "{:#?}", stacks.stacks);
        assert_eq!(stacks.stacks.get(&three), Some(&4), "{:#?}", stacks.stacks);
        assert_eq!(stacks.inclusive_weight("hot_three_shares"), 4);
        assert_eq!(stacks.inclusive_weight("hot_one_share"), 2);
    }

    #[test]
    fn unknown_frames_are_module_plus_offset_and_kernel_frames_are_dropped() {
        let (stacks, samples) = parse_script(MIX).unwrap();
        assert_eq!(samples, 4);
        // The thread is named "busy worker"; its process is "mix".
        let worker = stack(&[
            "mix",
            "start_thread",
            "mix+0x40c4f",
            "mix+0x15fe1",
            "mix+0x15449",
            "mix+0x14fb4",
        ]);
        let main = stack(&[
            "mix",
            "__libc_start_call_main",
            "mix+0x1599d",
            "mix+0x3c814",
            "mix+0x153fc",
            "mix+0x15436",
            "mix+0x14e92",
            "mix+0x150d1",
            "__GI___libc_write",
        ]);
        assert_eq!(stacks.stacks.len(), 2, "{:#?}", stacks.stacks);
        assert_eq!(stacks.stacks.get(&worker), Some(&2), "{:#?}", stacks.stacks);
        assert_eq!(stacks.stacks.get(&main), Some(&2), "{:#?}", stacks.stacks);
        assert_eq!(stacks.inclusive_weight("kallsyms"), 0);
        assert_eq!(stacks.inclusive_weight("do_syscall_64"), 0);
        assert_eq!(stacks.inclusive_weight("busy worker"), 0);
    }

    #[test]
    fn the_trampoline_is_dropped_and_the_wall_time_is_the_commands() {
        let parsed = parse(TRAMPOLINE_SAMPLES, TRAMPOLINE_EXECS);
        assert_eq!(parsed.samples, 2);
        let expected: BTreeMap<Vec<String>, u64> = [
            (
                stack(&[
                    "true",
                    "0x687361622f6e69",
                    "0x7fff4d35eed6",
                    "__GI___tunables_init",
                ]),
                1,
            ),
            (stack(&["true", "0x0", "init_cpu_features.constprop.0"]), 1),
        ]
        .into();
        assert_eq!(parsed.stacks.stacks, expected);
        // true's exec at 10297.308385958, its exit at 10297.308939853.
        assert_eq!(parsed.wall, Some(Duration::from_nanos(553_895)));

        // Read as any perf script output, the trampoline's samples stay.
        let (stacks, samples) = parse_script(TRAMPOLINE_SAMPLES).unwrap();
        assert_eq!(samples, 9);
        assert_eq!(stacks.inclusive_weight("dash+0x12f19"), 1);
        assert_eq!(stacks.stacks.keys().filter(|s| s[0] == "sh").count(), 6);

        let hot = parse(HOT, TRAMPOLINE_EXECS);
        assert_eq!(hot.samples, 6);
        assert_eq!(hot.wall, Some(Duration::from_nanos(91_505_623)));
        // Without the trampoline, the first exec starts the clock.
        assert_eq!(parse(HOT, 0).wall, Some(Duration::from_nanos(92_238_735)));
    }

    #[test]
    fn names_and_paths_with_spaces_colons_and_parentheses() {
        let text = "perf-exec 0/0 0.000000000: PERF_RECORD_COMM: perf-exec:12/12\n\
            my:prog 12/12 5.000000000: PERF_RECORD_COMM exec: my:prog:12/12\n\
            Web Content 12/13 5.100000000: PERF_RECORD_COMM: Web Content:12/13\n\
            Web Content 12/13 5.200000000: \n\
            \t  1234 std::function<void (int)>::operator() (/opt/App (x86)/lib.so)\n\
            \t  5678 [unknown] (/opt/App (x86)/lib.so)\n\
            \tffffffffc0a01234 nft_do_chain ([nf_tables])\n\
            \tffffffffff600000 [unknown] ([vsyscall])\n\
            \n";
        let (stacks, samples) = parse_script(text).unwrap();
        assert_eq!(samples, 1);
        let expected = stack(&[
            "my:prog",
            "[vsyscall]+0xffffffffff600000",
            "lib.so+0x5678",
            "std::function<void (int)>::operator()",
        ]);
        assert_eq!(
            stacks.stacks.get(&expected),
            Some(&1),
            "{:#?}",
            stacks.stacks
        );
    }

    #[test]
    fn forks_inherit_the_command_name_and_unknown_processes_use_the_thread_name() {
        let text = "a 1/1 1.000000000: PERF_RECORD_COMM exec: a:1/1\n\
            a 1/1 1.100000000: PERF_RECORD_FORK(2:2):(1:1)\n\
            a 2/2 1.200000000: \n\
            \t 10 f (/bin/a)\n\
            \n\
            b 7/8 1.300000000: \n\
            \t 20 g (/bin/b)\n\
            \n\
            c 9/9 1.400000000:  30 h (/bin/c)\n";
        let (stacks, samples) = parse_script(text).unwrap();
        assert_eq!(samples, 3);
        for s in [stack(&["a", "f"]), stack(&["b", "g"]), stack(&["c", "h"])] {
            assert_eq!(stacks.stacks.get(&s), Some(&1), "{:#?}", stacks.stacks);
        }
    }

    #[test]
    fn samples_without_user_frames_and_empty_output_count_nothing() {
        let text = "x 1/1 1.000000000: \n\
            \tffffffff821ef666 do_syscall_64 ([kernel.kallsyms])\n\
            \n\
            x 1/1 1.100000000: PERF_RECORD_LOST something\n";
        let (stacks, samples) = parse_script(text).unwrap();
        assert_eq!((samples, stacks.total()), (0, 0));
        let (stacks, samples) = parse_script("").unwrap();
        assert_eq!((samples, stacks.stacks.len()), (0, 0));
    }

    #[test]
    fn malformed_lines_are_errors_that_quote_them() {
        for (text, line, problem) in [
            ("x 1/1 1.000000000: \n\tzz12 f (/bin/x)\n", 2, "hexadecimal"),
            ("\t 1234 f (/bin/x)\n", 1, "outside any sample"),
            ("x 1/1 1.000000000: \n\t 1234 f /bin/x\n", 2, "(module)"),
            ("x 1/1 1.000000000: \n\t1234\n", 2, "without symbol"),
            ("hello world\n", 1, "header"),
            ("x 1/1 1.0000000001: \n", 1, "header"),
            (
                "x 1/1 1.000000000: PERF_RECORD_COMM exec: name\n",
                1,
                "COMM",
            ),
            ("x 1/1 1.000000000: PERF_RECORD_FORK(1:2)\n", 1, "FORK"),
            (
                "x 1/1 1.000000000: PERF_RECORD_EXIT(a:b):(c:d)\n",
                1,
                "EXIT",
            ),
        ] {
            match parse_script(text) {
                Err(e @ PerfRecordError::Parse { .. }) => {
                    let PerfRecordError::Parse {
                        line: l,
                        problem: p,
                        ..
                    } = &e
                    else {
                        unreachable!()
                    };
                    assert_eq!(*l, line, "{text:?}: {e}");
                    assert!(
                        p.contains(problem) || e.to_string().contains(problem),
                        "{text:?}: {e}"
                    );
                    assert!(e.to_string().contains("fix:"), "{e}");
                }
                other => panic!("{text:?}: {:?}", other.map(|(_, n)| n)),
            }
        }
    }

    #[test]
    fn truncated_and_garbled_input_never_panics() {
        for text in [HOT, MIX, TRAMPOLINE_SAMPLES] {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                for cut in (0..=line.len()).filter(|&c| line.is_char_boundary(c)) {
                    let mut damaged = lines.clone();
                    damaged[i] = &line[..cut];
                    let _ = parse_script(&damaged.join("\n"));
                }
            }
        }
        // Lines made of the characters perf's output is made of.
        let alphabet: Vec<char> = " \t()[]:/.0123456789abcdefxé_PERF_RECORD_COMM exec FORK EXIT"
            .chars()
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut line = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for k in 0..(state % 40) {
                let r = state.rotate_left(k as u32 * 5);
                line.push(alphabet[(r % alphabet.len() as u64) as usize]);
            }
            let _ = parse_script(&format!("x 1/1 1.000000000: \n{line}\n"));
            let _ = parse_script(&line);
        }
    }

    #[test]
    fn timestamps_are_exact() {
        assert_eq!(
            timestamp("10297.308385958"),
            Some(Duration::new(10297, 308_385_958))
        );
        assert_eq!(timestamp("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(timestamp("0.000001"), Some(Duration::from_micros(1)));
        for bad in ["1.", ".5", "1.1234567890", "a.1", "1.-1", "1.+1", "", "1"] {
            assert_eq!(timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn perfs_status_is_the_commands() {
        assert_eq!(command_exit(ExitStatus::from_raw(0)), Exit::Code(0));
        assert_eq!(command_exit(ExitStatus::from_raw(3 << 8)), Exit::Code(3));
        assert_eq!(
            command_exit(ExitStatus::from_raw(255 << 8)),
            Exit::Code(255)
        );
        let segv = Exit::Signal {
            signal: libc::SIGSEGV,
            core_dumped: false,
        };
        assert_eq!(command_exit(ExitStatus::from_raw(libc::SIGSEGV)), segv);
        // perf's own core dump says nothing about the command's.
        assert_eq!(
            command_exit(ExitStatus::from_raw(libc::SIGSEGV | 0x80)),
            segv
        );
    }

    #[test]
    fn core_limits_are_given_in_shell_blocks() {
        assert_eq!(core_limit_blocks(libc::RLIM_INFINITY), "unlimited");
        assert_eq!(core_limit_blocks(0), "0");
        assert_eq!(core_limit_blocks(1), "1");
        assert_eq!(core_limit_blocks(1024), "2");
    }

    #[test]
    fn error_messages_name_the_problem_and_the_fix() {
        assert!(
            PerfRecordError::NotInstalled
                .to_string()
                .contains("apt-get install linux-perf")
        );
        assert!(PerfRecordError::Frequency(0).to_string().contains("fix:"));
        let failed = PerfRecordError::Failed {
            stage: "record",
            status: "exit status: 255".into(),
            stderr: "Error:\nAccess to performance monitoring and observability operations is limited.\n"
                .into(),
        };
        let text = failed.to_string();
        assert!(
            text.starts_with("`perf record` failed (exit status: 255): Error:"),
            "{text}"
        );
        assert!(shown("  \n").contains("nothing"));
        let long = "é".repeat(5000);
        let cut = shown(&long);
        assert!(
            cut.starts_with("...") && cut.len() <= STDERR_SHOWN + 3,
            "{}",
            cut.len()
        );
    }
}
