//! Instruction counts: a metric that the machine's load does not move.
//!
//! Where the CPU exposes a retired-instructions counter to perf_event, the
//! command runs under it (inherited by every process it starts). Where it
//! does not (most virtual machines, this project's CI among them), the
//! command runs under valgrind's callgrind, which counts the instructions it
//! executes in its simulated CPU: slower by 20-100x, but the same count for
//! the same binary and input whatever else the machine is doing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use perfhub_probe::counters::{CounterKind, CounterPlan};
use perfhub_probe::spawn::{CommandSpec, Output, PreparedCommand};

use crate::GateError;

/// How instructions are counted on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstructionCounter {
    /// The hardware counter, through perf_event.
    Hardware,
    /// valgrind's callgrind (the path of `valgrind`), because the hardware
    /// counter is refused for the reason given.
    Callgrind {
        /// Why the hardware counter could not be used.
        why: String,
    },
}

impl InstructionCounter {
    /// The hardware counter if the machine opens it, else callgrind.
    pub fn detect() -> InstructionCounter {
        let mut plan = CounterPlan::new(&[CounterKind::Instructions]);
        // The plan opens its counters on the first snapshot.
        let _ = plan.snapshot();
        match plan.unavailable().first() {
            None if plan.active().contains(&CounterKind::Instructions) => {
                InstructionCounter::Hardware
            }
            Some(u) => InstructionCounter::Callgrind {
                why: u.reason.clone(),
            },
            None => InstructionCounter::Callgrind {
                why: "the instructions counter did not open".into(),
            },
        }
    }

    /// For people: what counts.
    pub fn describe(&self) -> String {
        match self {
            InstructionCounter::Hardware => "hardware instructions counter (perf_event)".into(),
            InstructionCounter::Callgrind { why } => {
                format!("valgrind --tool=callgrind (hardware counter unavailable: {why})")
            }
        }
    }
}

/// The instructions `command` executes, with every process it starts, run
/// in `dir` with `env` added; its output is discarded.
pub fn count_instructions(
    counter: &InstructionCounter,
    command: &[OsString],
    dir: &Path,
    env: &[(OsString, OsString)],
) -> Result<u64, GateError> {
    let shown = command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    match counter {
        InstructionCounter::Hardware => {
            let mut spec = CommandSpec::new(command[0].clone(), command[1..].iter().cloned());
            spec.cwd = Some(dir.to_path_buf());
            spec.env = env.to_vec();
            spec.stdout = Output::Null;
            spec.stderr = Output::Null;
            let prepared = PreparedCommand::new(&spec).map_err(|e| GateError::Spawn {
                command: shown.clone(),
                side: "",
                message: e.to_string(),
            })?;
            let mut plan = CounterPlan::new(&[CounterKind::Instructions]);
            let run = prepared.run(&mut plan).map_err(|e| GateError::Spawn {
                command: shown.clone(),
                side: "",
                message: e.to_string(),
            })?;
            if !run.exit.success() {
                return Err(GateError::CommandFailed {
                    command: shown,
                    side: "",
                    status: format!("{:?}", run.exit),
                    tail: String::new(),
                });
            }
            run.counters
                .iter()
                .find(|(k, _)| *k == CounterKind::Instructions)
                .map(|(_, v)| *v)
                .ok_or_else(|| GateError::config("the instructions counter gave no value"))
        }
        InstructionCounter::Callgrind { .. } => callgrind(command, dir, env, &shown),
    }
}

fn callgrind(
    command: &[OsString],
    dir: &Path,
    env: &[(OsString, OsString)],
    shown: &str,
) -> Result<u64, GateError> {
    let out_dir = tempfile::Builder::new()
        .prefix("perfhub-callgrind-")
        .tempdir()
        .map_err(|e| GateError::Io {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let pattern: PathBuf = out_dir.path().join("callgrind.out.%p");
    let mut out_arg = OsString::from("--callgrind-out-file=");
    out_arg.push(&pattern);
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--trace-children=yes", "--quiet"])
        .arg(out_arg)
        .arg("--")
        .args(command)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| GateError::Spawn {
            command: format!("valgrind --tool=callgrind -- {shown}"),
            side: "",
            message: format!(
                "{e}; the machine has no hardware instructions counter, so instruction \
                 counts need valgrind (Debian: apt-get install valgrind)"
            ),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        return Err(GateError::CommandFailed {
            command: format!("valgrind --tool=callgrind -- {shown}"),
            side: "",
            status: output.status.to_string(),
            tail: lines[lines.len().saturating_sub(15)..].join("\n"),
        });
    }
    let mut total = 0u64;
    let mut files = 0;
    let entries = std::fs::read_dir(out_dir.path()).map_err(|e| GateError::Io {
        path: out_dir.path().to_path_buf(),
        source: e,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).map_err(|e| GateError::Io {
            path: path.clone(),
            source: e,
        })?;
        total += callgrind_total(&text).ok_or_else(|| {
            GateError::config(format!(
                "{}: callgrind's output has no `totals:` or `summary:` line",
                path.display()
            ))
        })?;
        files += 1;
    }
    if files == 0 {
        return Err(GateError::config(format!(
            "callgrind wrote no output for `{shown}`"
        )));
    }
    Ok(total)
}

/// The total instruction count (`Ir`, the first event) of a callgrind
/// output file: its `totals:` line, else its `summary:` line.
fn callgrind_total(text: &str) -> Option<u64> {
    let first = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    first("totals:").or_else(|| first("summary:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_then_summary() {
        assert_eq!(
            callgrind_total("events: Ir\nfl=x\n0 3\nsummary: 123\ntotals: 456\n"),
            Some(456)
        );
        assert_eq!(callgrind_total("events: Ir\nsummary: 789 1\n"), Some(789));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }
}
