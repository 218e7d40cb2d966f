//! The benchmark loop: warm-up, adaptive run counts, prepare and cleanup,
//! shell start-up correction, and the executor that runs the commands.

use perfhub_core::setting::ConfigError;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::time::Duration;

use perfhub_probe::counters::{CounterPlan, KernelWarmup, Unavailable};
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
    /// Turns counting on or off for the runs that follow (off until asked).
    fn set_counting(&mut self, _on: bool) {}
    /// The next run decides whether counting turns on: it will if the run
    /// takes `after` or more. [`ProcessExecutor`] prepares the kernel for
    /// counters meanwhile ([`KernelWarmup`]).
    fn counting_may_follow(&mut self, _after: Duration) {}
}

/// Runs real processes through [`PreparedCommand`].
pub struct ProcessExecutor {
    plan: CounterPlan,
    prepared: HashMap<(OsString, Vec<OsString>), PreparedCommand>,
    warmup: Option<KernelWarmup>,
}

impl ProcessExecutor {
    /// An executor that reads every perf_event counter the machine allows,
    /// or none when `counters` is false, once counting is turned on
    /// ([`Executor::set_counting`]): no counter is opened before.
    pub fn new(counters: bool) -> Self {
        let mut plan = if counters {
            CounterPlan::all()
        } else {
            CounterPlan::none()
        };
        plan.set_suspended(true);
        ProcessExecutor {
            plan,
            prepared: HashMap::new(),
            warmup: None,
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
        // The kernel keeps perf events enabled for a second after the
        // warm-up's event closes: the counters open well before that.
        self.warmup = None;
        self.plan.set_suspended(!on);
    }

    fn counting_may_follow(&mut self, after: Duration) {
        if !self.plan.active().is_empty() {
            self.warmup = KernelWarmup::after(after);
        }
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
    /// Index of the command template it came from; `usize::MAX` for the
    /// reference command, which comes from none.
    pub template: usize,
    /// Whether this is the reference command ([`RunConfig::reference`]).
    pub reference: bool,
    /// Parameter values.
    pub parameters: BTreeMap<String, String>,
    /// What to execute.
    pub spec: CommandSpec,
    /// The setup command, substituted: once before the benchmark's runs.
    pub setup: Option<CommandSpec>,
    /// The prepare command, substituted: before every run.
    pub prepare: Option<CommandSpec>,
    /// The conclude command, substituted: after every run.
    pub conclude: Option<CommandSpec>,
    /// The cleanup command, substituted: after the benchmark's runs.
    pub cleanup: Option<CommandSpec>,
}

/// The measured runs of one benchmark.
#[derive(Debug, Clone)]
pub struct BenchmarkRuns {
    /// What was run.
    pub planned: Planned,
    /// The measured runs, in order. Each run has counter values, or none;
    /// in [`CounterMode::Auto`] without warm-up, the first run decides
    /// whether counters are read and has none itself (see
    /// [`counting_from_start`]).
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

impl std::fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} ended with {}; the run stopped there (use `ignore_failure` to measure failing commands)",
            self.benchmark, self.exit
        )
    }
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
    #[error("no command to benchmark: `commands` is empty, or a command has no program to run")]
    NoCommand,
    /// A command line could not be split into words.
    #[error("cannot parse command {command:?}: {reason}")]
    Parse {
        /// The command line.
        command: String,
        /// Why.
        reason: String,
    },
    /// The settings cannot work: a command line uses shell syntax but no
    /// `shell` was asked for, two benchmarks share a name, or a hook is
    /// given a number of times that matches neither all commands nor each.
    /// The message names the settings as [`RunConfig`]
    /// does (`` `shell` ``).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A command cannot be started. Why is part of the message (not its
    /// source), so a chain of errors shows it once.
    #[error("{command:?}: {reason}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        reason: SpawnError,
    },
    /// A setup, prepare, conclude or cleanup command failed.
    #[error(
        "the {what} command {command:?} failed with {exit}; append ' || true' to it if that can be ignored"
    )]
    Hook {
        /// `setup`, `prepare`, `conclude` or `cleanup`.
        what: &'static str,
        /// The command line.
        command: String,
        /// How it ended.
        exit: Exit,
    },
    /// More names than commands.
    #[error(
        "{names} names given for {commands} commands: give at most one per command in order{}",
        per_benchmark("one", *.benchmarks, *.commands)
    )]
    TooManyNames {
        /// Names given.
        names: usize,
        /// Commands given.
        commands: usize,
        /// Benchmarks planned (commands times parameter combinations).
        benchmarks: usize,
    },
    /// A run count of zero.
    #[error("the number of runs must be at least 1")]
    ZeroRuns,
}

/// The part of a count error that mentions benchmarks, when parameter
/// combinations make more benchmarks than commands.
fn per_benchmark(each: &str, benchmarks: usize, commands: usize) -> String {
    if benchmarks == commands {
        String::new()
    } else {
        format!(
            ", or {each} for each of the {benchmarks} benchmarks the parameter combinations make"
        )
    }
}

/// The first piece of shell syntax in `line` (already split into `words`)
/// that running it without a shell would take literally, changing what it
/// means: operators and redirections, globs, expansions, subshells,
/// comments, a leading variable assignment. Quoted text is literal in a
/// shell too, and passes.
fn shell_syntax(line: &str, words: &[String]) -> Option<String> {
    if let Some(first) = words.first()
        && let Some((var, _)) = first.split_once('=')
        && var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(first.clone());
    }
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut quote = Quote::None;
    let mut word_start = true;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
                continue;
            }
            Quote::Double => {
                match c {
                    '"' => quote = Quote::None,
                    '\\' => {
                        chars.next();
                    }
                    '$' | '`' => return Some(c.to_string()),
                    _ => {}
                }
                continue;
            }
            Quote::None => {}
        }
        match c {
            '\'' => quote = Quote::Single,
            '"' => quote = Quote::Double,
            '\\' => {
                chars.next();
            }
            '|' | '&' | ';' | '<' | '>' => {
                let mut token = c.to_string();
                while let Some(&(_, next)) = chars.peek() {
                    if !"|&;<>".contains(next) {
                        break;
                    }
                    token.push(next);
                    chars.next();
                }
                return Some(token);
            }
            '(' | ')' | '$' | '`' | '*' | '?' => return Some(c.to_string()),
            // A bracket expression needs its closing bracket in the same word.
            '[' if line[i..]
                .split(char::is_whitespace)
                .next()
                .is_some_and(|w| w.contains(']')) =>
            {
                return Some(c.to_string());
            }
            '#' | '~' if word_start => return Some(c.to_string()),
            _ => {}
        }
        word_start = c.is_whitespace();
    }
    None
}

/// `shell -c line`; the shell may be a command line of its own, such as
/// `bash --norc`, as hyperfine allows.
fn shell_spec(shell: &str, line: &str) -> CommandSpec {
    let mut words = shell_words::split(shell)
        .ok()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| vec![shell.to_string()]);
    let program = words.remove(0);
    words.extend(["-c".to_string(), line.to_string()]);
    CommandSpec::new(program, words)
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
            if !config.literal_shell_syntax
                && let Some(token) = shell_syntax(&line, &words)
            {
                return Err(RunError::Config(ConfigError::naming(&["shell"], |n| {
                    format!(
                        "command {line:?} uses shell syntax ({token:?}); add {} to run it through a shell",
                        n[0]
                    )
                })));
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
    // A hook's output shows when the commands' does (hyperfine's
    // --show-output), and is discarded otherwise.
    let shown = |o: &Output| {
        if *o == Output::Inherit {
            Output::Inherit
        } else {
            Output::Null
        }
    };
    spec.stdout = shown(&config.stdout);
    spec.stderr = shown(&config.stderr);
    spec
}

/// The setup, prepare, conclude and cleanup commands of a run, matched to
/// benchmarks: one for all, one per command, or one per benchmark.
struct Hooks<'a> {
    config: &'a RunConfig,
    /// Commands, the reference included.
    commands: usize,
    /// 1 with a reference (it comes first), else 0.
    refs: usize,
}

impl Hooks<'_> {
    fn all(&self) -> [(&'static str, &[String]); 4] {
        let c = self.config;
        [
            ("setup", &c.setup),
            ("prepare", &c.prepare),
            ("conclude", &c.conclude),
            ("cleanup", &c.cleanup),
        ]
    }

    /// The hooks of the benchmark at `index` in the plan (the reference
    /// first), made from command `template` (`None` for the reference).
    fn specs(
        &self,
        template: Option<usize>,
        index: usize,
        values: &BTreeMap<String, String>,
    ) -> [Option<CommandSpec>; 4] {
        self.all().map(|(_, lines)| {
            let line = match lines.len() {
                0 => return None,
                1 => &lines[0],
                n if n == self.commands => &lines[template.map_or(0, |t| t + self.refs)],
                _ => &lines[index],
            };
            Some(hook_spec(self.config, line, values))
        })
    }
}

/// Expands the commands and parameter combinations into benchmarks.
pub fn plan(config: &RunConfig) -> Result<Vec<Planned>, RunError> {
    if config.commands.is_empty() {
        return Err(RunError::NoCommand);
    }
    if config.runs == RunCount::Exact(0) {
        return Err(RunError::ZeroRuns);
    }
    let combos = params::combinations(&config.params);
    let templates = config.commands.len();
    let benchmarks = templates * combos.len();
    // Names go one per command, or, as hyperfine takes them, one per benchmark.
    let names_per_benchmark = config.names.len() > templates;
    if names_per_benchmark && config.names.len() != benchmarks {
        return Err(RunError::TooManyNames {
            names: config.names.len(),
            commands: templates,
            benchmarks,
        });
    }
    let refs = usize::from(config.reference.is_some());
    let hooks = Hooks {
        config,
        commands: templates + refs,
        refs,
    };
    for (what, lines) in hooks.all() {
        let n = lines.len();
        if n > 1 && n != templates + refs && n != benchmarks + refs {
            return Err(RunError::Config(ConfigError::naming(&[what], |w| {
                format!(
                    "{} is given {n} times for {} commands: give it once for all of them, or once per command in order{}",
                    w[0],
                    templates + refs,
                    per_benchmark("once", benchmarks + refs, templates + refs)
                )
            })));
        }
    }
    let mut planned = Vec::with_capacity(benchmarks + refs);
    if let Some(reference) = &config.reference {
        // Run as written, as hyperfine does: a reference has no parameters.
        let values = BTreeMap::new();
        let (command, spec) = spec_for(config, &reference.command, &values)?;
        let [setup, prepare, conclude, cleanup] = hooks.specs(None, 0, &values);
        planned.push(Planned {
            name: reference.name.clone().unwrap_or_else(|| command.clone()),
            command,
            template: usize::MAX,
            reference: true,
            parameters: values,
            spec,
            setup,
            prepare,
            conclude,
            cleanup,
        });
    }
    for values in &combos {
        for (i, template) in config.commands.iter().enumerate() {
            let (command, spec) = spec_for(config, template, values)?;
            let index = planned.len();
            let name = if names_per_benchmark {
                config.names.get(index - refs)
            } else {
                config.names.get(i)
            };
            let name = match name {
                Some(n) => params::substitute(n, values),
                None => command.clone(),
            };
            let [setup, prepare, conclude, cleanup] = hooks.specs(Some(i), index, values);
            planned.push(Planned {
                name,
                command,
                template: i,
                reference: false,
                parameters: values.clone(),
                spec,
                setup,
                prepare,
                conclude,
                cleanup,
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
        return Err(RunError::Config(ConfigError::naming(&["names"], |n| {
            format!(
                "two benchmarks are named {:?}; give distinct {} values",
                w[0], n[0]
            )
        })));
    }
    Ok(planned)
}

fn spawn_err(command: &str) -> impl FnOnce(SpawnError) -> RunError + '_ {
    move |reason| RunError::Spawn {
        command: command.to_string(),
        reason,
    }
}

/// Runs a setup, prepare, conclude or cleanup command; returns its wall time.
fn run_hook(
    exec: &mut dyn Executor,
    what: &'static str,
    spec: &CommandSpec,
) -> Result<Duration, RunError> {
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
    Ok(r.wall)
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

/// One run (warm-up or measured) between its prepare and conclude
/// commands, with the time those took; `None` when asked to stop first.
fn one_run(
    config: &RunConfig,
    exec: &mut dyn Executor,
    progress: &mut dyn Progress,
    p: &Planned,
    state: &mut BenchmarkState,
) -> Result<Option<(ProcessRun, Duration)>, RunError> {
    if progress.should_stop() {
        return Ok(None);
    }
    let mut hooks = Duration::ZERO;
    if let Some(prep) = &p.prepare {
        hooks += run_hook(exec, "prepare", prep)?;
    }
    if !state.first_run_seen && config.counters == CounterMode::Auto && !counting_from_start(config)
    {
        exec.counting_may_follow(AUTO_COUNTER_MIN_RUN);
    }
    let mut r = exec.execute(&p.spec).map_err(spawn_err(&p.command))?;
    // Concluded whatever the command's exit: it may stop what prepare started.
    if let Some(conclude) = &p.conclude {
        hooks += run_hook(exec, "conclude", conclude)?;
    }
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
    Ok(Some((r, hooks)))
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
    exec.set_counting(counting_from_start(config));
    let failed = |exit: Exit| !exit.success() && !config.ignore_failure;
    if let Some(setup) = &p.setup {
        run_hook(exec, "setup", setup)?;
    }
    for _ in 0..config.warmup {
        let Some((r, _)) = one_run(config, exec, progress, p, state)? else {
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
        let Some((mut r, hooks)) = one_run(config, exec, progress, p, state)? else {
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
                // The time to fill includes the hooks, as in hyperfine.
                let per_run = (r.wall + hooks).as_secs_f64().max(1e-6);
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

/// Whether a benchmark's counters are read from its first run on.
///
/// In [`CounterMode::Auto`], the first run (the first warm-up run, or the
/// first measured run without warm-up) runs without counters and decides:
/// the first perf_event counter opened costs the kernel's one-time set-up of
/// perf events (10 to 20 ms on a virtual machine), which a command too short
/// for counters should not pay. Only a benchmark that may have a single run
/// and no warm-up reads them from the start, so that a long command run once
/// still has them.
pub fn counting_from_start(config: &RunConfig) -> bool {
    match config.counters {
        CounterMode::Always => true,
        CounterMode::Never => false,
        CounterMode::Auto => {
            config.warmup == 0
                && match config.runs {
                    RunCount::Exact(n) => n <= 1,
                    RunCount::Adaptive { min_runs, .. } => min_runs <= 1,
                }
        }
    }
}

/// After a benchmark's first run, switches counters on for the rest of it,
/// or off when [`CounterMode::Auto`] finds the command too short.
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
    } else if config.counters == CounterMode::Auto {
        exec.set_counting(true);
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
    // Fail fast on a typo before spending minutes on the other commands;
    // but a setup or prepare command may build the program (hyperfine's
    // `--setup 'make'`), so those are found when they first run.
    for p in planned
        .iter()
        .filter(|p| p.setup.is_none() && p.prepare.is_none())
    {
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
            prepare: vec!["prep {n}".into()],
            cleanup: vec!["clean".into()],
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
    fn setup_and_conclude_bracket_the_runs_in_hyperfines_order() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            warmup: 1,
            runs: RunCount::Exact(2),
            setup: vec!["setup".into()],
            prepare: vec!["prep".into()],
            conclude: vec!["conclude".into()],
            cleanup: vec!["clean".into()],
            ..config(&["work"])
        };
        execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        let mut expected = vec!["sh -c setup"];
        for _ in 0..3 {
            expected.extend(["sh -c prep", "work", "sh -c conclude"]);
        }
        expected.push("sh -c clean");
        assert_eq!(exec.calls, expected);
    }

    #[test]
    fn hooks_given_per_command_go_to_their_command() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            runs: RunCount::Exact(1),
            prepare: vec!["prep-a".into(), "prep-b".into()],
            cleanup: vec!["clean-a".into(), "clean-b".into()],
            params: vec![crate::ParamScan::parse("n=1,2").unwrap()],
            ..config(&["a {n}", "b {n}"])
        };
        execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(
            exec.calls,
            [
                "sh -c prep-a",
                "a 1",
                "sh -c clean-a",
                "sh -c prep-b",
                "b 1",
                "sh -c clean-b",
                "sh -c prep-a",
                "a 2",
                "sh -c clean-a",
                "sh -c prep-b",
                "b 2",
                "sh -c clean-b",
            ]
        );
        // One per benchmark, as hyperfine counts them, is accepted too.
        let cfg = RunConfig {
            setup: (1..=4).map(|i| format!("setup{i}")).collect(),
            ..cfg
        };
        let planned = plan(&cfg).unwrap();
        let setups: Vec<String> = planned
            .iter()
            .map(|p| line(p.setup.as_ref().unwrap()))
            .collect();
        assert_eq!(
            setups,
            [
                "sh -c setup1",
                "sh -c setup2",
                "sh -c setup3",
                "sh -c setup4"
            ]
        );
        let cfg = RunConfig {
            conclude: vec!["x".into(), "y".into(), "z".into()],
            ..cfg
        };
        let err = plan(&cfg).unwrap_err().to_string();
        assert_eq!(
            err,
            "`conclude` is given 3 times for 2 commands: give it once for all of them, or once per command in order, or once for each of the 4 benchmarks the parameter combinations make"
        );
    }

    #[test]
    fn a_program_the_setup_builds_is_not_looked_for_before_it() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            runs: RunCount::Exact(1),
            setup: vec!["make".into()],
            ..config(&["missing"])
        };
        execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(exec.calls, ["sh -c make", "missing"]);
    }

    #[test]
    fn a_failing_hook_names_itself() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        exec.exit_for = |spec, _| {
            if line(spec) == "sh -c conclude" {
                Exit::Code(3)
            } else {
                Exit::Code(0)
            }
        };
        let cfg = RunConfig {
            runs: RunCount::Exact(2),
            conclude: vec!["conclude".into()],
            ..config(&["work"])
        };
        let err = execute(&cfg, &mut exec, &mut NoProgress)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the conclude command \"conclude\" failed"),
            "{err}"
        );
        assert!(err.contains("|| true"), "{err}");
    }

    #[test]
    fn the_reference_runs_first_with_the_first_per_command_hook() {
        let mut exec = MockExecutor::new(|_| Duration::from_millis(1));
        let cfg = RunConfig {
            runs: RunCount::Exact(1),
            reference: Some(crate::Reference {
                command: CommandTemplate::Line("base {n}".into()),
                name: Some("baseline".into()),
            }),
            prepare: vec!["p0".into(), "p1".into()],
            params: vec![crate::ParamScan::parse("n=1,2").unwrap()],
            ..config(&["work {n}"])
        };
        let planned = plan(&cfg).unwrap();
        let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["baseline", "work 1", "work 2"]);
        assert!(planned[0].reference && !planned[1].reference);
        // Run as written: the reference has no parameters.
        assert_eq!(planned[0].command, "base {n}");
        execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        assert_eq!(
            exec.calls,
            [
                "sh -c p0", "base {n}", "sh -c p1", "work 1", "sh -c p1", "work 2"
            ]
        );
    }

    #[test]
    fn names_go_per_command_or_per_benchmark() {
        let cfg = RunConfig {
            names: vec!["one-{n}".into(), "two".into()],
            params: vec![crate::ParamScan::parse("n=1,2").unwrap()],
            ..config(&["true {n}"])
        };
        let names: Vec<String> = plan(&cfg).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["one-1", "two"]);
        let cfg = RunConfig {
            names: vec!["a".into(), "b".into(), "c".into()],
            ..cfg
        };
        let err = plan(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("3 names given for 1 commands"), "{err}");
    }

    #[test]
    fn shell_syntax_is_found_outside_quotes_only() {
        let find = |l: &str| shell_syntax(l, &shell_words::split(l).unwrap());
        for (line, token) in [
            ("seq 10 | sort", "|"),
            ("a&&b", "&&"),
            ("echo hi;echo", ";"),
            ("cmd 2>&1", ">&"),
            ("grep -R TODO *", "*"),
            ("ls ?.txt", "?"),
            ("ls [ab].txt", "["),
            ("echo $HOME", "$"),
            ("echo \"$HOME\"", "$"),
            ("echo `date`", "`"),
            ("my_function() { sleep 1; }; my_function", "("),
            ("cat ~/x", "~"),
            ("true # comment", "#"),
            ("FOO=1 env", "FOO=1"),
        ] {
            assert_eq!(find(line).as_deref(), Some(token), "{line}");
        }
        for line in [
            "grep 'a|b' file",
            "grep \"a*b\" file",
            "echo '$HOME'",
            "echo a\\;b",
            "test [ -f x ]",
            "echo a#b x~y",
            "sleep 0.1",
            "env FOO=1 true",
        ] {
            assert_eq!(find(line), None, "{line}");
        }
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
        assert_eq!(
            line(&shell_spec("bash --norc", "echo hi | cat")),
            "bash --norc -c echo hi | cat"
        );
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
        assert!(matches!(err, RunError::Config(_)), "{err}");
        assert!(err.to_string().contains("add `shell`"));
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

#[cfg(test)]
mod counter_tests {
    use super::*;
    use perfhub_probe::counters::CounterKind;

    /// Every run "takes" `wall` and has a task-clock value when counting is
    /// on; the calls about counting are recorded.
    struct Recorder {
        wall: Duration,
        counting: bool,
        calls: Vec<String>,
    }

    impl Executor for Recorder {
        fn check(&mut self, _: &CommandSpec) -> Result<(), SpawnError> {
            Ok(())
        }
        fn execute(&mut self, _: &CommandSpec) -> Result<ProcessRun, SpawnError> {
            self.calls.push(format!("run counting={}", self.counting));
            Ok(ProcessRun {
                wall: self.wall,
                user: Duration::ZERO,
                system: Duration::ZERO,
                max_rss_bytes: 0,
                io: None,
                voluntary_context_switches: 0,
                involuntary_context_switches: 0,
                minor_page_faults: 0,
                major_page_faults: 0,
                exit: Exit::Code(0),
                counters: if self.counting {
                    vec![(CounterKind::TaskClock, 1)]
                } else {
                    Vec::new()
                },
            })
        }
        fn unavailable_counters(&self) -> Vec<Unavailable> {
            Vec::new()
        }
        fn set_counting(&mut self, on: bool) {
            self.counting = on;
        }
        fn counting_may_follow(&mut self, after: Duration) {
            self.calls.push(format!("may follow {after:?}"));
        }
    }

    fn run(wall_ms: u64, counters: CounterMode, warmup: u64, runs: u64) -> (Recorder, RawResults) {
        let mut exec = Recorder {
            wall: Duration::from_millis(wall_ms),
            counting: false,
            calls: Vec::new(),
        };
        let cfg = RunConfig {
            commands: vec![CommandTemplate::Line("work".into())],
            counters,
            warmup,
            runs: RunCount::Exact(runs),
            ..RunConfig::default()
        };
        let raw = execute(&cfg, &mut exec, &mut NoProgress).unwrap();
        (exec, raw)
    }

    fn counted(raw: &RawResults) -> Vec<bool> {
        raw.benchmarks[0]
            .runs
            .iter()
            .map(|r| !r.counters.is_empty())
            .collect()
    }

    #[test]
    fn auto_never_opens_counters_for_a_short_command() {
        let (exec, raw) = run(1, CounterMode::Auto, 0, 3);
        assert_eq!(
            exec.calls,
            [
                "may follow 5ms",
                "run counting=false",
                "run counting=false",
                "run counting=false"
            ]
        );
        assert!(raw.benchmarks[0].counters_skipped);
        assert_eq!(counted(&raw), [false, false, false]);
    }

    #[test]
    fn auto_counts_a_long_command_after_its_first_run() {
        let (exec, raw) = run(10, CounterMode::Auto, 0, 3);
        assert_eq!(exec.calls[..2], ["may follow 5ms", "run counting=false"]);
        assert!(!raw.benchmarks[0].counters_skipped);
        assert_eq!(counted(&raw), [false, true, true]);

        // A warm-up run decides instead: every measured run is counted.
        let (_, raw) = run(10, CounterMode::Auto, 1, 3);
        assert_eq!(counted(&raw), [true, true, true]);

        // A single run is counted from the start.
        let (exec, raw) = run(10, CounterMode::Auto, 0, 1);
        assert_eq!(exec.calls, ["run counting=true"]);
        assert_eq!(counted(&raw), [true]);
        let (_, raw) = run(1, CounterMode::Auto, 0, 1);
        assert_eq!(counted(&raw), [false]);
        assert!(raw.benchmarks[0].counters_skipped);
    }

    #[test]
    fn always_and_never_decide_nothing() {
        let (exec, raw) = run(1, CounterMode::Always, 0, 2);
        assert_eq!(exec.calls, ["run counting=true", "run counting=true"]);
        assert_eq!(counted(&raw), [true, true]);
        let (exec, raw) = run(10, CounterMode::Never, 0, 2);
        assert_eq!(exec.calls, ["run counting=false", "run counting=false"]);
        assert_eq!(counted(&raw), [false, false]);
    }
}
