//! The benchmark loop: warm-up, adaptive run counts, prepare and cleanup,
//! shell start-up correction, and the executor that runs the commands.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::time::Duration;

use perfhub_probe::counters::{CounterPlan, Unavailable};
use perfhub_probe::spawn::{
    CommandSpec, Exit, Input, Output, PreparedCommand, ProcessRun, SpawnError,
};

use crate::config::{AUTO_COUNTER_MIN_RUN, CommandTemplate, CounterMode, RunConfig, RunCount};
use crate::params;

/// Runs commands and measures them. [`ProcessExecutor`] is the real one;
/// tests substitute a deterministic executor to check the statistics.
pub trait Executor {
    /// Checks that `spec` can be run (the program exists), without running it.
    fn check(&mut self, spec: &CommandSpec) -> Result<(), SpawnError>;
    /// Runs `spec` once and measures it.
    fn execute(&mut self, spec: &CommandSpec) -> Result<ProcessRun, SpawnError>;
    /// The perf_event counters this executor could not open, and why.
    fn unavailable_counters(&self) -> Vec<Unavailable>;
    /// Turns counting on or off for the runs that follow.
    fn set_counting(&mut self, _on: bool) {}
}

/// Runs real processes through [`PreparedCommand`].
pub struct ProcessExecutor {
    plan: CounterPlan,
    prepared: HashMap<(OsString, Vec<OsString>), PreparedCommand>,
}

impl ProcessExecutor {
    /// An executor that reads every perf_event counter the machine allows,
    /// or none when `counters` is false.
    pub fn new(counters: bool) -> Self {
        ProcessExecutor {
            plan: if counters {
                CounterPlan::all()
            } else {
                CounterPlan::none()
            },
            prepared: HashMap::new(),
        }
    }

    fn prepared(&mut self, spec: &CommandSpec) -> Result<&PreparedCommand, SpawnError> {
        let key = (spec.program.clone(), spec.args.clone());
        if !self.prepared.contains_key(&key) {
            let p = PreparedCommand::new(spec)?;
            self.prepared.insert(key.clone(), p);
        }
        Ok(&self.prepared[&key])
    }
}

impl Executor for ProcessExecutor {
    fn check(&mut self, spec: &CommandSpec) -> Result<(), SpawnError> {
        self.prepared(spec).map(|_| ())
    }

    fn execute(&mut self, spec: &CommandSpec) -> Result<ProcessRun, SpawnError> {
        let mut plan = std::mem::replace(&mut self.plan, CounterPlan::none());
        let result = self.prepared(spec).and_then(|p| p.run(&mut plan));
        self.plan = plan;
        result
    }

    fn unavailable_counters(&self) -> Vec<Unavailable> {
        self.plan.unavailable().to_vec()
    }

    fn set_counting(&mut self, on: bool) {
        self.plan.set_suspended(!on);
    }
}

/// Receives progress as the benchmarks run. The CLI draws a bar with it;
/// the library itself never prints.
pub trait Progress {
    /// A benchmark starts; `warmup` unmeasured runs come first.
    fn benchmark_started(&mut self, _name: &str, _warmup: u64) {}
    /// The number of measured runs is now known.
    fn runs_planned(&mut self, _total: u64) {}
    /// A warm-up run finished.
    fn warmup_done(&mut self) {}
    /// A measured run finished, taking `wall`.
    fn run_done(&mut self, _wall: Duration) {}
    /// The benchmark finished.
    fn benchmark_finished(&mut self, _name: &str) {}
    /// Whether to stop before the next run (the user pressed Ctrl-C).
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

/// One benchmark to run: a command with its parameters substituted.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Unique display name.
    pub name: String,
    /// The command line as run.
    pub command: String,
    /// Index of the command template it came from.
    pub template: usize,
    /// Parameter values.
    pub parameters: BTreeMap<String, String>,
    /// What to execute.
    pub spec: CommandSpec,
    /// The prepare command, substituted.
    pub prepare: Option<CommandSpec>,
    /// The cleanup command, substituted.
    pub cleanup: Option<CommandSpec>,
}

/// The measured runs of one benchmark.
#[derive(Debug, Clone)]
pub struct BenchmarkRuns {
    /// What was run.
    pub planned: Planned,
    /// The measured runs, in order.
    pub runs: Vec<ProcessRun>,
    /// Whether counters were switched off for this benchmark because its
    /// runs are too short ([`CounterMode::Auto`]).
    pub counters_skipped: bool,
}

/// The mean cost of starting the shell, subtracted from every run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShellCorrection {
    /// Mean wall time of an empty shell command.
    pub wall: Duration,
    /// Mean user time.
    pub user: Duration,
    /// Mean system time.
    pub system: Duration,
}

/// A command that exited non-zero without `ignore_failure`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandFailure {
    /// The benchmark.
    pub benchmark: String,
    /// How its run ended.
    pub exit: Exit,
}

/// Everything measured, before analysis.
#[derive(Debug, Clone)]
pub struct RawResults {
    /// Per benchmark, the runs made (a failed benchmark keeps the runs before the failure).
    pub benchmarks: Vec<BenchmarkRuns>,
    /// The shell correction applied, if a shell was used.
    pub shell: Option<ShellCorrection>,
    /// Counters the machine refused.
    pub unavailable_counters: Vec<Unavailable>,
    /// The failure that stopped the run, if one did.
    pub failure: Option<CommandFailure>,
    /// Whether [`Progress::should_stop`] ended the run early.
    pub interrupted: bool,
}

/// Why a benchmark could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No command was given.
    #[error("no command to benchmark: give one after `--` or as a quoted argument")]
    NoCommand,
    /// A command line could not be split into words.
    #[error("cannot parse command {command:?}: {reason}")]
    Parse {
        /// The command line.
        command: String,
        /// Why.
        reason: String,
    },
    /// A command line uses shell syntax but no shell was asked for.
    #[error(
        "command {command:?} uses shell syntax ({token:?}); add --shell to run it through a shell"
    )]
    NeedsShell {
        /// The command line.
        command: String,
        /// The shell token found.
        token: String,
    },
    /// A command cannot be started.
    #[error("{command:?}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: SpawnError,
    },
    /// The prepare or cleanup command failed.
    #[error("the {what} command {command:?} failed with {exit}")]
    Hook {
        /// `prepare` or `cleanup`.
        what: &'static str,
        /// The command line.
        command: String,
        /// How it ended.
        exit: Exit,
    },
    /// Two commands got the same name.
    #[error("two benchmarks are named {0:?}; give distinct --name values")]
    DuplicateName(String),
    /// More names than commands.
    #[error("{names} names given for {commands} commands")]
    TooManyNames {
        /// Names given.
        names: usize,
        /// Commands given.
        commands: usize,
    },
    /// A run count of zero.
    #[error("the number of runs must be at least 1")]
    ZeroRuns,
}

const SHELL_TOKENS: [&str; 10] = ["|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"];

fn shell_spec(shell: &str, line: &str) -> CommandSpec {
    CommandSpec::new(shell, ["-c", line])
}

fn spec_for(
    config: &RunConfig,
    template: &CommandTemplate,
    values: &BTreeMap<String, String>,
) -> Result<(String, CommandSpec), RunError> {
    let (command, mut spec) = match (template, &config.shell) {
        (CommandTemplate::Line(line), Some(shell)) => {
            let line = params::substitute(line, values);
            (line.clone(), shell_spec(shell, &line))
        }
        (CommandTemplate::Line(line), None) => {
            let line = params::substitute(line, values);
            let words = shell_words::split(&line).map_err(|e| RunError::Parse {
                command: line.clone(),
                reason: e.to_string(),
            })?;
            if let Some(tok) = words.iter().find(|w| SHELL_TOKENS.contains(&w.as_str())) {
                return Err(RunError::NeedsShell {
                    command: line,
                    token: tok.clone(),
                });
            }
            let Some((program, args)) = words.split_first() else {
                return Err(RunError::NoCommand);
            };
            (line.clone(), CommandSpec::new(program, args.iter()))
        }
        (CommandTemplate::Argv(argv), _) => {
            let argv: Vec<String> = argv.iter().map(|a| params::substitute(a, values)).collect();
            let Some((program, args)) = argv.split_first() else {
                return Err(RunError::NoCommand);
            };
            if program.is_empty() {
                return Err(RunError::NoCommand);
            }
            (
                shell_words::join(&argv),
                CommandSpec::new(program, args.iter()),
            )
        }
    };
    spec.stdin = config.stdin.clone();
    spec.stdout = config.stdout.clone();
    spec.stderr = config.stderr.clone();
    Ok((command, spec))
}

fn hook_spec(config: &RunConfig, line: &str, values: &BTreeMap<String, String>) -> CommandSpec {
    let shell = config.shell.as_deref().unwrap_or("sh");
    let mut spec = shell_spec(shell, &params::substitute(line, values));
    spec.stdin = Input::Null;
    spec.stdout = Output::Null;
    spec.stderr = Output::Null;
    spec
}

/// Expands the commands and parameter combinations into benchmarks.
pub fn plan(config: &RunConfig) -> Result<Vec<Planned>, RunError> {
    if config.commands.is_empty() {
        return Err(RunError::NoCommand);
    }
    if config.names.len() > config.commands.len() {
        return Err(RunError::TooManyNames {
            names: config.names.len(),
            commands: config.commands.len(),
        });
    }
    if config.runs == RunCount::Exact(0) {
        return Err(RunError::ZeroRuns);
    }
    let combos = params::combinations(&config.params);
    let mut planned = Vec::new();
    for values in &combos {
        for (i, template) in config.commands.iter().enumerate() {
            let (command, spec) = spec_for(config, template, values)?;
            let name = match config.names.get(i) {
                Some(n) => params::substitute(n, values),
                None => command.clone(),
            };
            planned.push(Planned {
                name,
                command,
                template: i,
                parameters: values.clone(),
                spec,
                prepare: config
                    .prepare
                    .as_deref()
                    .map(|p| hook_spec(config, p, values)),
                cleanup: config
                    .cleanup
                    .as_deref()
                    .map(|c| hook_spec(config, c, values)),
            });
        }
    }
    // Identical names (the same command listed twice) get a suffix.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in &mut planned {
        let n = seen.entry(p.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            p.name = format!("{} (#{n})", p.name);
        }
    }
    let mut names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(RunError::DuplicateName(w[0].to_string()));
    }
    Ok(planned)
}

fn spawn_err(command: &str) -> impl FnOnce(SpawnError) -> RunError + '_ {
    move |source| RunError::Spawn {
        command: command.to_string(),
        source,
    }
}

fn run_hook(
    exec: &mut dyn Executor,
    what: &'static str,
    spec: &CommandSpec,
) -> Result<(), RunError> {
    let command = spec
        .args
        .last()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let r = exec.execute(spec).map_err(spawn_err(&command))?;
    if !r.exit.success() {
        return Err(RunError::Hook {
            what,
            command,
            exit: r.exit,
        });
    }
    Ok(())
}

fn measure_shell(
    config: &RunConfig,
    exec: &mut dyn Executor,
) -> Result<Option<ShellCorrection>, RunError> {
    let Some(shell) = &config.shell else {
        return Ok(None);
    };
    let spec = shell_spec(shell, "");
    exec.check(&spec).map_err(spawn_err(shell))?;
    const WARMUP: usize = 3;
    const RUNS: u32 = 30;
    for _ in 0..WARMUP {
        exec.execute(&spec).map_err(spawn_err(shell))?;
    }
    let (mut wall, mut user, mut system) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..RUNS {
        let r = exec.execute(&spec).map_err(spawn_err(shell))?;
        wall += r.wall;
        user += r.user;
        system += r.system;
    }
    Ok(Some(ShellCorrection {
        wall: wall / RUNS,
        user: user / RUNS,
        system: system / RUNS,
    }))
}

/// Why a benchmark's runs ended early.
enum Stop {
    /// [`Progress::should_stop`] asked to stop.
    Interrupted,
    /// The command failed without `ignore_failure`.
    Failed(Exit),
}

/// The runs of the benchmark being measured.
#[derive(Default)]
struct BenchmarkState {
    runs: Vec<ProcessRun>,
    counters_skipped: bool,
    first_run_seen: bool,
}

/// One run (warm-up or measured) after its prepare command; `None` when
/// asked to stop first.
fn one_run(
    config: &RunConfig,
    exec: &mut dyn Executor,
    progress: &mut dyn Progress,
    p: &Planned,
    state: &mut BenchmarkState,
) -> Result<Option<ProcessRun>, RunError> {
    if progress.should_stop() {
        return Ok(None);
    }
    if let Some(prep) = &p.prepare {
        run_hook(exec, "prepare", prep)?;
    }
    let mut r = exec.execute(&p.spec).map_err(spawn_err(&p.command))?;
    decide_counters(
        config,
        exec,
        r.wall,
        &mut state.runs,
        &mut state.first_run_seen,
        &mut state.counters_skipped,
    );
    if state.counters_skipped {
        r.counters.clear();
    }
    Ok(Some(r))
}

/// Warm-up and measured runs of one benchmark, into `state`.
fn measure_benchmark(
    config: &RunConfig,
    exec: &mut dyn Executor,
    progress: &mut dyn Progress,
    shell: Option<ShellCorrection>,
    p: &Planned,
    state: &mut BenchmarkState,
) -> Result<Option<Stop>, RunError> {
    exec.set_counting(config.counters != CounterMode::Never);
    let failed = |exit: Exit| !exit.success() && !config.ignore_failure;
    for _ in 0..config.warmup {
        let Some(r) = one_run(config, exec, progress, p, state)? else {
            return Ok(Some(Stop::Interrupted));
        };
        progress.warmup_done();
        if failed(r.exit) {
            return Ok(Some(Stop::Failed(r.exit)));
        }
    }
    let mut total = match config.runs {
        RunCount::Exact(n) => n,
        RunCount::Adaptive { min_runs, .. } => min_runs.max(1),
    };
    let mut i = 0;
    while i < total {
        let Some(mut r) = one_run(config, exec, progress, p, state)? else {
            return Ok(Some(Stop::Interrupted));
        };
        if let Some(c) = shell {
            r.wall = r.wall.saturating_sub(c.wall);
            r.user = r.user.saturating_sub(c.user);
            r.system = r.system.saturating_sub(c.system);
        }
        if i == 0 {
            if let RunCount::Adaptive {
                min_runs,
                max_runs,
                min_time,
            } = config.runs
            {
                let per_run = r.wall.as_secs_f64().max(1e-6);
                let wanted = (min_time.as_secs_f64() / per_run).ceil() as u64;
                total = wanted.max(min_runs.max(1));
                if let Some(max) = max_runs {
                    total = total.min(max.max(1));
                }
            }
            progress.runs_planned(total);
        }
        progress.run_done(r.wall);
        let exit = r.exit;
        state.runs.push(r);
        i += 1;
        if failed(exit) {
            return Ok(Some(Stop::Failed(exit)));
        }
    }
    Ok(None)
}

/// After a benchmark's first run, switches counters off for the rest of it
/// when [`CounterMode::Auto`] finds the command too short.
fn decide_counters(
    config: &RunConfig,
    exec: &mut dyn Executor,
    wall: Duration,
    runs: &mut [ProcessRun],
    first_run_seen: &mut bool,
    skipped: &mut bool,
) {
    if std::mem::replace(first_run_seen, true) {
        return;
    }
    if config.counters == CounterMode::Auto && wall < AUTO_COUNTER_MIN_RUN {
        exec.set_counting(false);
        *skipped = true;
        // Runs keep counters all or none: drop any already read.
        for r in runs.iter_mut() {
            r.counters.clear();
        }
    }
}

/// Runs every planned benchmark and returns the raw measurements.
///
/// Errors that make the whole run meaningless (a missing program, a failing
/// prepare command) are returned as errors; a command that exits non-zero
/// without `ignore_failure` ends the run early, and the runs made so far
/// are returned with [`RawResults::failure`] set.
pub fn execute(
    config: &RunConfig,
    exec: &mut dyn Executor,
    progress: &mut dyn Progress,
) -> Result<RawResults, RunError> {
    let planned = plan(config)?;
    // Fail fast on a typo before spending minutes on the other commands.
    for p in &planned {
        exec.check(&p.spec).map_err(spawn_err(&p.command))?;
    }
    let shell = measure_shell(config, exec)?;
    let mut results = Vec::with_capacity(planned.len());
    let mut failure = None;
    let mut interrupted = false;
    for p in planned {
        progress.benchmark_started(&p.name, config.warmup);
        let mut state = BenchmarkState::default();
        let stop = measure_benchmark(config, exec, progress, shell, &p, &mut state)?;
        if stop.is_none() {
            if let Some(cleanup) = &p.cleanup {
                run_hook(exec, "cleanup", cleanup)?;
            }
            progress.benchmark_finished(&p.name);
        }
        let name = p.name.clone();
        results.push(BenchmarkRuns {
            planned: p,
            runs: state.runs,
            counters_skipped: state.counters_skipped,
        });
        match stop {
            None => {}
            Some(Stop::Interrupted) => {
                interrupted = true;
                break;
            }
            Some(Stop::Failed(exit)) => {
                failure = Some(CommandFailure {
                    benchmark: name,
                    exit,
                });
                break;
            }
        }
    }
    exec.set_counting(false);
    Ok(RawResults {
        benchmarks: results,
        shell,
        unavailable_counters: exec.unavailable_counters(),
        failure,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs nothing: every command "takes" a wall time looked up by its first
    /// argument, and exits with the code given by `exit_for`.
    struct MockExecutor {
        calls: Vec<String>,
        wall: fn(&CommandSpec) -> Duration,
        exit_for: fn(&CommandSpec, usize) -> Exit,
    }

    impl MockExecutor {
        fn new(wall: fn(&CommandSpec) -> Duration) -> Self {
            MockExecutor {
                calls: Vec::new(),
                wall,
                exit_for: |_, _| Exit::Code(0),
            }
        }
    }

    fn line(spec: &CommandSpec) -> String {
        std::iter::once(&spec.program)
            .chain(&spec.args)
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    impl Executor for MockExecutor {
        fn check(&mut self, spec: &CommandSpec) -> Result<(), SpawnError> {
            if spec.program == "missing" {
                return Err(SpawnError::NotFound {
                    program: "missing".into(),
                });
            }
            Ok(())
        }
        fn execute(&mut self, spec: &CommandSpec) -> Result<ProcessRun, SpawnError> {
            self.calls.push(line(spec));
            let wall = (self.wall)(spec);
            Ok(ProcessRun {
                wall,
                user: wall / 2,
                system: wall / 4,
                max_rss_bytes: 1 << 20,
                io: None,
                voluntary_context_switches: 1,
                involuntary_context_switches: 0,
                minor_page_faults: 10,
                major_page_faults: 0,
                exit: (self.exit_for)(spec, self.calls.len()),
                counters: Vec::new(),
            })
        }
        fn unavailable_counters(&self) -> Vec<Unavailable> {
            Vec::new()
        }
    }

    fn config(commands: &[&str]) -> RunConfig {
        RunConfig {
            commands: commands
                .iter()
                .map(|c| CommandTemplate::Line(c.to_string()))
                .collect(),
            ..RunConfig::default()
        }
    }

    #[test]
    fn adaptive_count_fills_the_minimum_time() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(100));
        let cfg = RunConfig {
            runs: RunCount::Adaptive {
                min_runs: 10,
                max_runs: None,
                min_time: Duration::from_secs(3),
            },
            ..config(&["work"])
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(raw.benchmarks[0].runs.len(), 30);
    }

    #[test]
    fn adaptive_count_respects_min_and_max() {
        let cfg = |max| RunConfig {
            runs: RunCount::Adaptive {
                min_runs: 10,
                max_runs: max,
                min_time: Duration::from_secs(3),
            },
            ..config(&["work"])
        };
        let mut slow = MockExecutor::new(|_| Duration::from_secs(2));
        assert_eq!(
            execute(&cfg(None), &mut slow, &mut NoProgress)
                .unwrap()
                .benchmarks[0]
                .runs
                .len(),
            10
        );
        let mut fast = MockExecutor::new(|_| Duration::from_micros(10));
        assert_eq!(
            execute(&cfg(Some(50)), &mut fast, &mut NoProgress)
                .unwrap()
                .benchmarks[0]
                .runs
                .len(),
            50
        );
    }

    #[test]
    fn warmup_and_prepare_run_before_each_run_and_cleanup_once() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            warmup: 2,
            runs: RunCount::Exact(3),
            prepare: Some("prep {n}".into()),
            cleanup: Some("clean".into()),
            params: vec![crate::ParamScan::parse("n=7").unwrap()],
            ..config(&["work {n}"])
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(raw.benchmarks[0].runs.len(), 3);
        let expected: Vec<&str> = vec![
            "sh -c prep 7",
            "work 7",
            "sh -c prep 7",
            "work 7",
            "sh -c prep 7",
            "work 7",
            "sh -c prep 7",
            "work 7",
            "sh -c prep 7",
            "work 7",
            "sh -c clean",
        ];
        assert_eq!(exec.calls, expected);
    }

    #[test]
    fn a_failing_command_stops_the_run_but_keeps_its_runs() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        exec.exit_for = |_, call| {
            if call == 3 {
                Exit::Code(1)
            } else {
                Exit::Code(0)
            }
        };
        let cfg = RunConfig {
            runs: RunCount::Exact(5),
            ..config(&["first", "second"])
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(raw.benchmarks.len(), 1);
        assert_eq!(raw.benchmarks[0].runs.len(), 3);
        assert_eq!(raw.failure.as_ref().unwrap().exit, Exit::Code(1));

        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        exec.exit_for = |_, call| {
            if call == 3 {
                Exit::Code(1)
            } else {
                Exit::Code(0)
            }
        };
        let cfg = RunConfig {
            ignore_failure: true,
            ..cfg
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(raw.benchmarks.len(), 2);
        assert!(raw.failure.is_none());
    }

    #[test]
    fn shell_start_up_is_subtracted() {
        let mut exec = MockExecutor::new(|spec| {
            if spec.args.last().is_some_and(|a| a.is_empty()) {
                Duration::from_millis(2)
            } else {
                Duration::from_millis(12)
            }
        });
        let cfg = RunConfig {
            shell: Some("sh".into()),
            runs: RunCount::Exact(4),
            ..config(&["echo hi | cat"])
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(raw.shell.unwrap().wall, Duration::from_millis(2));
        assert!(
            raw.benchmarks[0]
                .runs
                .iter()
                .all(|r| r.wall == Duration::from_millis(10))
        );
    }

    #[test]
    fn planning_refuses_bad_commands() {
        assert!(matches!(plan(&config(&[])), Err(RunError::NoCommand)));
        let err = plan(&config(&["seq 10 | sort"])).unwrap_err();
        assert!(matches!(err, RunError::NeedsShell { .. }), "{err}");
        assert!(err.to_string().contains("--shell"));
        let err = plan(&config(&["echo 'unterminated"])).unwrap_err();
        assert!(matches!(err, RunError::Parse { .. }), "{err}");
        let cfg = RunConfig {
            runs: RunCount::Exact(0),
            ..config(&["true"])
        };
        assert!(matches!(plan(&cfg), Err(RunError::ZeroRuns)));
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let err = execute(&config(&["true", "missing"]), &mut exec, &mut NoProgress).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(
            exec.calls.is_empty(),
            "nothing runs when a command is missing"
        );
    }

    #[test]
    fn stopping_keeps_the_runs_made_so_far() {
        struct StopAfter(u32);
        impl Progress for StopAfter {
            fn should_stop(&mut self) -> bool {
                self.0 = self.0.saturating_sub(1);
                self.0 == 0
            }
        }
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            runs: RunCount::Exact(10),
            ..config(&["work", "other"])
        };
        let raw = execute(&cfg, &mut exec, &mut StopAfter(5)).unwrap();
        assert!(raw.interrupted);
        assert_eq!(raw.benchmarks.len(), 1);
        assert_eq!(raw.benchmarks[0].runs.len(), 4);
    }

    #[test]
    fn the_same_command_twice_gets_distinct_names() {
        let planned = plan(&config(&["true", "true"])).unwrap();
        assert_eq!(planned[0].name, "true");
        assert_eq!(planned[1].name, "true (#2)");
    }
}
