//! The paired protocol: how `perfhub ab --paired` drives two builds of a
//! bench target in lockstep.
//!
//! Started with [`FLAG`], the harness measures nothing on its own. It
//! announces itself, then offers each selected benchmark in turn and times
//! batches of it as it is told, on standard input and output:
//!
//! ```text
//! harness                       controller
//! @perfhub paired 1
//! @perfhub bench sort 1000
//!                               run 64
//! @perfhub time 1043210         (nanoseconds for the 64 iterations)
//!                               next
//! @perfhub bench parse
//!                               ...
//! @perfhub done
//! ```
//!
//! With `--list` as well, it announces itself and lists the selected
//! benchmarks (`@perfhub bench NAME`) without running anything. Lines the
//! harness writes start with [`PREFIX`], so that a benchmark printing to
//! standard output does not break the exchange: the controller skips other
//! lines. End of input ends the session: the remaining benchmarks are
//! skipped.
//!
//! The controller does the rest (calibration, the order within each pair,
//! the statistics); the harness only times batches, so that both builds are
//! timed by the same code as far as they share it.

use std::io::{BufRead, Write};
use std::time::Duration;

/// The argument that starts the protocol.
pub const FLAG: &str = "--perfhub-paired";

/// The start of every line the harness writes in paired mode.
pub const PREFIX: &str = "@perfhub ";

/// The protocol's version, announced as `@perfhub paired 1`.
pub const VERSION: u32 = 1;

/// A controller's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Time this many iterations of the offered benchmark as one batch.
    Run(u64),
    /// Leave the offered benchmark for the next one.
    Next,
}

impl Command {
    /// Reads a command line (without its newline).
    pub fn parse(line: &str) -> Result<Command, String> {
        let line = line.trim();
        match line.split_once(' ') {
            None if line == "next" => Ok(Command::Next),
            Some(("run", n)) => match n.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Command::Run(n)),
                _ => Err(format!(
                    "run {n:?}: give a whole number of iterations above 0"
                )),
            },
            _ => Err(format!(
                "unknown command {line:?}: expected `run N` or `next`"
            )),
        }
    }

    /// The command as a line, with its newline.
    pub fn to_line(self) -> String {
        match self {
            Command::Run(n) => format!("run {n}\n"),
            Command::Next => "next\n".to_string(),
        }
    }
}

/// A harness's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The harness speaks this version of the protocol.
    Hello(u32),
    /// A benchmark is offered (or listed).
    Bench(String),
    /// A batch took this many nanoseconds.
    Time(u64),
    /// A command could not be read.
    Error(String),
    /// No more benchmarks.
    Done,
}

impl Reply {
    /// Reads a line the harness wrote: `None` for a line without
    /// [`PREFIX`] (a benchmark's own output) and `Some(Err)` for one with
    /// the prefix that makes no sense.
    pub fn parse(line: &str) -> Option<Result<Reply, String>> {
        let rest = line.trim_end_matches(['\n', '\r']).strip_prefix(PREFIX)?;
        let (word, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(match word {
            "paired" => arg
                .parse()
                .map(Reply::Hello)
                .map_err(|_| format!("bad protocol version {arg:?}")),
            "bench" => Ok(Reply::Bench(unescape(arg))),
            "time" => arg
                .parse()
                .map(Reply::Time)
                .map_err(|_| format!("bad batch time {arg:?}")),
            "error" => Ok(Reply::Error(arg.to_string())),
            "done" => Ok(Reply::Done),
            _ => Err(format!("unknown message {rest:?}")),
        })
    }

    /// The message as a line, with its newline.
    pub fn to_line(&self) -> String {
        match self {
            Reply::Hello(v) => format!("{PREFIX}paired {v}\n"),
            Reply::Bench(name) => format!("{PREFIX}bench {}\n", escape(name)),
            Reply::Time(ns) => format!("{PREFIX}time {ns}\n"),
            Reply::Error(e) => format!("{PREFIX}error {}\n", escape(e)),
            Reply::Done => format!("{PREFIX}done\n"),
        }
    }
}

/// A name on one line: backslashes and line breaks escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The harness's side of a session: where commands come from and replies go.
pub(crate) struct Server {
    input: Box<dyn BufRead>,
    output: Box<dyn Write>,
    /// The controller has gone (end of input, or a broken pipe): every
    /// further benchmark is skipped.
    closed: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Server {
    pub(crate) fn new(input: Box<dyn BufRead>, output: Box<dyn Write>) -> Server {
        Server {
            input,
            output,
            closed: false,
        }
    }

    pub(crate) fn send(&mut self, reply: &Reply) {
        if self.closed {
            return;
        }
        let sent = self
            .output
            .write_all(reply.to_line().as_bytes())
            .and_then(|()| self.output.flush());
        if sent.is_err() {
            self.closed = true;
        }
    }

    /// Offers `name` and times batches of `f` until told `next`.
    pub(crate) fn serve<R>(&mut self, name: &str, f: &mut impl FnMut() -> R) {
        self.send(&Reply::Bench(name.to_string()));
        let mut line = String::new();
        while !self.closed {
            line.clear();
            match self.input.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    self.closed = true;
                    return;
                }
                Ok(_) => {}
            }
            match Command::parse(&line) {
                Ok(Command::Run(n)) => {
                    let t = crate::time_batch(f, n);
                    self.send(&Reply::Time(nanos(t)));
                }
                Ok(Command::Next) => return,
                Err(e) => self.send(&Reply::Error(e)),
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
