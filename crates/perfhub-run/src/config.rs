//! What to benchmark and how: the settings of `perfhub run`.

use std::time::Duration;

use perfhub_core::Budget;
use perfhub_probe::spawn::{Input, Output};

use crate::params::ParamScan;

/// A command to benchmark, before parameters are substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandTemplate {
    /// A command line: split into words like a shell would (without running
    /// one), or handed whole to the shell when one is configured.
    Line(String),
    /// A program and its arguments, exactly as given (after `--`).
    Argv(Vec<String>),
}

impl CommandTemplate {
    /// The command as people read it.
    pub fn display(&self) -> String {
        match self {
            CommandTemplate::Line(s) => s.clone(),
            CommandTemplate::Argv(v) => shell_words::join(v),
        }
    }
}

/// The command every other one is compared with (hyperfine's `--reference`).
///
/// It is benchmarked first, like any command, but without parameter
/// substitution: hyperfine runs it once, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The command.
    pub command: CommandTemplate,
    /// Its display name; the command line when `None`.
    pub name: Option<String>,
}

/// How many measured runs to make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunCount {
    /// Exactly this many.
    Exact(u64),
    /// Enough to fill `min_time`, but at least `min_runs` and at most
    /// `max_runs` (hyperfine's defaults are 10 runs and 3 seconds).
    Adaptive {
        /// The fewest runs.
        min_runs: u64,
        /// The most runs, if bounded.
        max_runs: Option<u64>,
        /// The least total time to spend measuring.
        min_time: Duration,
    },
}

impl Default for RunCount {
    fn default() -> Self {
        RunCount::Adaptive {
            min_runs: 10,
            max_runs: None,
            min_time: Duration::from_secs(3),
        }
    }
}

/// When to read perf_event counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterMode {
    /// For commands whose first run takes at least
    /// [`AUTO_COUNTER_MIN_RUN`]: below that, the counters' own cost (about
    /// 25 µs a run on a VM) would show in the measured time.
    #[default]
    Auto,
    /// For every command.
    Always,
    /// Never.
    Never,
}

/// The shortest first run for which [`CounterMode::Auto`] keeps counters.
pub const AUTO_COUNTER_MIN_RUN: Duration = Duration::from_millis(5);

/// The full configuration of a command benchmark.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The commands to compare.
    pub commands: Vec<CommandTemplate>,
    /// Display names for the commands, in order; missing ones default to the command line.
    pub names: Vec<String>,
    /// Parameter scans; every combination is a benchmark of every command.
    pub params: Vec<ParamScan>,
    /// Unmeasured runs before measuring.
    pub warmup: u64,
    /// How many measured runs.
    pub runs: RunCount,
    /// A command to benchmark first and compare every other one with,
    /// instead of the fastest (hyperfine's `--reference`).
    pub reference: Option<Reference>,
    /// Shell commands run once before each benchmark's runs (its warm-up
    /// included), not timed (hyperfine's `--setup`).
    ///
    /// This hook and the three below each take none, one that applies to
    /// every benchmark, or one per command in order (the reference first,
    /// when there is one). One per benchmark (each parameter combination of each
    /// command, in the order [`plan`](crate::engine::plan) lists them, the
    /// reference first) is also accepted, as hyperfine does.
    pub setup: Vec<String>,
    /// Shell commands run before every run (warm-up and measured), not timed.
    pub prepare: Vec<String>,
    /// Shell commands run after every run (warm-up and measured), not timed
    /// (hyperfine's `--conclude`).
    pub conclude: Vec<String>,
    /// Shell commands run after all runs of each benchmark.
    pub cleanup: Vec<String>,
    /// The shell used for command lines, `None` to run them without one.
    /// The hooks (`setup`, `prepare`, `conclude`, `cleanup`) always go
    /// through a shell (`sh` when `None`).
    pub shell: Option<String>,
    /// Without a shell, pass shell syntax (`|`, `>`, `*`, `$`, …) to the
    /// program as plain arguments, as hyperfine's `-N` does, instead of
    /// refusing a command line that looks written for a shell.
    pub literal_shell_syntax: bool,
    /// Keep going when a command exits non-zero.
    pub ignore_failure: bool,
    /// The commands' standard input.
    pub stdin: Input,
    /// The commands' standard output.
    pub stdout: Output,
    /// The commands' standard error.
    pub stderr: Output,
    /// When to read perf_event counters.
    pub counters: CounterMode,
    /// Budgets to evaluate on the result.
    pub budgets: Vec<Budget>,
    /// Seed for every randomized statistic, so reports are reproducible.
    pub seed: u64,
    /// The metric whose growth a parameter scan's complexity fit explains
    /// (`wall_time` by default; `max_rss` gives memory complexity).
    pub complexity_metric: String,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            commands: Vec::new(),
            names: Vec::new(),
            params: Vec::new(),
            warmup: 0,
            runs: RunCount::default(),
            reference: None,
            setup: Vec::new(),
            prepare: Vec::new(),
            conclude: Vec::new(),
            cleanup: Vec::new(),
            shell: None,
            literal_shell_syntax: false,
            ignore_failure: false,
            stdin: Input::Null,
            stdout: Output::Null,
            stderr: Output::Null,
            counters: CounterMode::Auto,
            budgets: Vec::new(),
            seed: 0x5eed,
            complexity_metric: perfhub_core::report::metric::WALL_TIME.to_string(),
        }
    }
}
