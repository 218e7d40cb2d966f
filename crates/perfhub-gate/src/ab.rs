//! The interleaved A/B run: base and head built side by side, their bench
//! command run alternately for N rounds in a random order per round (or, for
//! criterion suites, each benchmark alone in short slices, see
//! [`crate::slices`]), each run imported, and the verdict taken from the
//! paired per-round ratios; with a time budget, rounds go on only for the
//! benchmarks still undecided ([`perfhub_core::sequential`]).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use perfhub_core::compare::{ChangeCriteria, ChangeSet, PairedSeries, percent_figure};
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::sequential::{Design, LookPlan, Sequential, Stop};
use perfhub_core::stats::median;
use perfhub_core::units::Unit;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::GateError;
use crate::git::{Checkout, Worktree};
use crate::instructions::{InstructionCounter, count_instructions};
use crate::slices::{self, BenchExe, SideBenchmarks, SliceConfig};

/// How base and head alternate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interleave {
    /// Slices for criterion suites run by `cargo bench` (with no `--build`
    /// of their own), whole runs otherwise.
    #[default]
    Auto,
    /// The whole bench command once per side per round.
    Whole,
    /// Each criterion benchmark alone, base and head back to back, for a
    /// short slice ([`SliceConfig`]).
    Slices,
}

/// What each run of the bench command yields, and how it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultFormat {
    /// criterion benches: the results criterion writes under
    /// `CRITERION_HOME`, which the gate points at a directory of its own.
    Criterion,
    /// libtest `bench:` lines on the command's standard output.
    Libtest,
    /// The command is the benchmark: its instruction count, from hardware
    /// counters where the machine has them, else under callgrind.
    Instructions,
    /// A results file the command writes, in any format `perfhub import`
    /// reads (pytest-benchmark, Google Benchmark, `go test` output saved
    /// by the command, ...): `path` is relative to the side's checkout; it
    /// is removed before each run, so a run that writes nothing is an error
    /// rather than the previous run's results read again.
    File {
        /// The file, relative to each side's checkout (or absolute, and
        /// then the same for both sides, which run one after the other).
        path: PathBuf,
        /// Its format; `None`: told apart by its content.
        format: Option<perfhub_import::Format>,
    },
}

/// One side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The base revision, in a temporary worktree.
    Base,
    /// The working directory as it is.
    Head,
}

impl Side {
    /// `"base"` or `"head"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Head => "head",
        }
    }
}

/// An A/B run's settings.
#[derive(Debug, Clone)]
pub struct AbConfig {
    /// The head's working directory (inside a git checkout).
    pub dir: PathBuf,
    /// The base revision, as git understands it.
    pub base: String,
    /// The number of rounds; each runs base and head once. With a time
    /// budget, the most rounds. `None`: the mode's default ([`Rounds::of`]).
    pub rounds: Option<usize>,
    /// How base and head alternate.
    pub interleave: Interleave,
    /// The length of each slice, in the sliced mode.
    pub slice: SliceConfig,
    /// Adaptive stopping: rounds go on, within this time (counted from
    /// the first round, after the builds), only for the benchmarks still
    /// undecided, tested at the planned looks of
    /// [`LookPlan::adaptive`]. `None` with `rounds` set: exactly `rounds`
    /// rounds; `None` with neither set: the mode's default ([`Rounds::of`]).
    pub time_budget: Option<Duration>,
    /// The bench command.
    pub command: Vec<OsString>,
    /// The build command run once per side before the rounds. `None`: for
    /// `cargo bench ...`, the same with `--no-run`; otherwise no build.
    pub build: Option<Vec<OsString>>,
    /// How results are read.
    pub format: ResultFormat,
    /// Where the base's cargo artifacts go; `None`: a directory beside the
    /// head's target directory, kept for the next run.
    pub base_target_dir: Option<PathBuf>,
    /// How changes are judged.
    pub criteria: ChangeCriteria,
    /// The seed of the per-round order.
    pub seed: u64,
    /// The time the report is stamped with.
    pub created: perfhub_core::time::UtcTime,
    /// Run the rounds at nice [`MEASURING_NICE`] where the OS allows it,
    /// so other work on the machine (a build beside the gate) takes less
    /// of the benchmarks' CPU; the report says whether it did.
    pub raise_priority: bool,
}

impl AbConfig {
    /// A gate of `command` (such as `cargo bench`) run in `dir`, the
    /// working directory as head, against `base`; every other setting at
    /// its default: the mode picked by the command, the mode's rounds,
    /// criterion results, a 95% level with a 3% minimum effect, the rounds
    /// at raised priority.
    pub fn new(
        dir: impl Into<PathBuf>,
        base: impl Into<String>,
        command: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> AbConfig {
        AbConfig {
            dir: dir.into(),
            base: base.into(),
            rounds: None,
            interleave: Interleave::Auto,
            slice: SliceConfig::default(),
            time_budget: None,
            command: command.into_iter().map(Into::into).collect(),
            build: None,
            format: ResultFormat::Criterion,
            base_target_dir: None,
            criteria: ChangeCriteria::default(),
            seed: 0,
            created: perfhub_core::time::UtcTime::now(),
            raise_priority: true,
        }
    }
}

/// How many rounds a run takes, and within what time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounds {
    /// The rounds, or with a budget the most rounds.
    pub max: usize,
    /// Adaptive stopping within this time; `None`: exactly `max` rounds.
    pub budget: Option<Duration>,
}

impl Rounds {
    /// Rounds in the sliced mode when neither is set: up to 60 within 4
    /// minutes, each benchmark stopping once decided. A slice pair takes
    /// under a second, so a few benchmarks take all 60 well within the
    /// budget, and a large suite is bounded by it.
    pub const SLICED: Rounds = Rounds {
        max: 60,
        budget: Some(Duration::from_secs(240)),
    };
    /// Rounds of whole runs when neither is set: 12, the fewest with which
    /// one round disturbed against the change cannot hide it.
    pub const WHOLE: Rounds = Rounds {
        max: 12,
        budget: None,
    };
    /// The most rounds of whole runs with a time budget and no `rounds`.
    pub const WHOLE_ADAPTIVE_MAX: usize = 40;

    /// The rounds `config` asks for, in the sliced mode or not.
    pub fn of(config: &AbConfig, sliced: bool) -> Rounds {
        match (config.rounds, config.time_budget, sliced) {
            (None, None, true) => Rounds::SLICED,
            (None, None, false) => Rounds::WHOLE,
            (Some(max), budget, _) => Rounds { max, budget },
            (None, Some(budget), sliced) => Rounds {
                max: if sliced {
                    Rounds::SLICED.max
                } else {
                    Rounds::WHOLE_ADAPTIVE_MAX
                },
                budget: Some(budget),
            },
        }
    }
}

/// The nice value the rounds run at with
/// [`raise_priority`](AbConfig::raise_priority): the most favoured.
pub const MEASURING_NICE: i32 = -20;

/// What an A/B run reports as it goes.
pub trait AbProgress {
    /// A side is being built.
    fn building(&mut self, side: Side, command: &str);
    /// A round's side starts.
    fn running(&mut self, round: usize, rounds: usize, side: Side);
    /// A round's side finished in `elapsed`.
    fn finished(&mut self, round: usize, side: Side, elapsed: Duration);
    /// Whether to stop before the next run (the user interrupted): the
    /// rounds completed so far are compared if there are at least two.
    fn should_stop(&mut self) -> bool {
        false
    }
    /// In the sliced mode, a round's side of one benchmark starts (then
    /// [`AbProgress::finished`] is called as for whole runs).
    fn running_slice(&mut self, round: usize, rounds: usize, benchmark: &str, side: Side) {
        let _ = benchmark;
        self.running(round, rounds, side);
    }
    /// With a time budget, the looks planned (once the first round has
    /// shown how many benchmarks there are), tested at `level` split
    /// across them.
    fn planned(&mut self, _plan: &LookPlan, _level: f64) {}
    /// With a time budget, a benchmark took its last round, and why.
    fn stopped(&mut self, _benchmark: &str, _stop: Stop) {}
}

/// Progress that says nothing.
pub struct NoProgress;

impl AbProgress for NoProgress {
    fn building(&mut self, _: Side, _: &str) {}
    fn running(&mut self, _: usize, _: usize, _: Side) {}
    fn finished(&mut self, _: usize, _: Side, _: Duration) {}
}

/// The outcome of an A/B run.
#[derive(Debug, Clone)]
pub struct AbOutcome {
    /// The verdicts.
    pub changes: ChangeSet,
    /// The report: kind `compare`, one benchmark per compared benchmark with
    /// the head's per-round values (metric as given) and the base's (metric
    /// prefixed `base.`), a comparison with the verdict each, and notes.
    pub report: Report,
    /// The base's full commit hash.
    pub base_commit: String,
    /// How many times criterion's own change detection printed
    /// "Performance has regressed" over all runs, and in how many runs
    /// (criterion compares each run with the previous one, which is the
    /// other side in every round but the first).
    pub criterion_regressed: CriterionVerdicts,
    /// The error that ended the run early, if one did; the report holds
    /// the rounds that completed.
    pub interrupted_by: Option<String>,
}

/// criterion's own verdicts on the same runs, for comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CriterionVerdicts {
    /// Runs in which criterion compared with a previous run.
    pub comparisons: usize,
    /// Runs in which it printed "Performance has regressed" at least once.
    pub runs_flagged: usize,
    /// "Performance has regressed" lines in all.
    pub lines: usize,
}

/// The per-round values of one side: benchmark name to (metric, unit, value).
type RoundValues = BTreeMap<String, (String, Unit, f64)>;

/// One side's directory and environment.
pub(crate) struct SideSetup {
    pub side: Side,
    pub dir: PathBuf,
    pub env: Vec<(OsString, OsString)>,
}

/// Where the head is built once the base's executables are copied away:
/// where the base was, into the same target directory, so that the two
/// executables differ only by the change. Built from two paths, identical
/// code was laid out differently (cargo's hash of a path dependency
/// includes its directory) and one loop ran 12 to 20% slower than the
/// other. Where the head's tree cannot be copied there, it is built in
/// `in_place`. The text says which, for the report.
pub(crate) fn head_beside_base(
    worktree: &Worktree,
    checkout: &Checkout,
    base: &SideSetup,
    in_place: &Path,
) -> (SideSetup, String) {
    match worktree.take_tree_of(checkout) {
        Ok(()) => (
            SideSetup {
                side: Side::Head,
                dir: base.dir.clone(),
                env: base.env.clone(),
            },
            "both built from one path, so identical code gives the same executable".to_string(),
        ),
        Err(e) => (
            SideSetup {
                side: Side::Head,
                dir: in_place.to_path_buf(),
                env: Vec::new(),
            },
            format!(
                "the head built in its own directory, as its tree could not be copied beside the base's ({e}): the two builds' code may be laid out differently, which alone can change a tight loop's speed by several percent"
            ),
        ),
    }
}

/// Runs the A/B comparison.
///
/// The base is checked out into a temporary worktree (removed at the end)
/// and built into its own target directory; the head is the working
/// directory as it is. Each round runs both sides once, in an order drawn
/// from `seed`, and imports each run at once: the whole bench command, or
/// in the sliced mode each benchmark alone, base and head back to back.
/// With a time budget, the rounds go on only for the benchmarks still
/// undecided at the planned looks, while the budget has room for another
/// round (at least two rounds run). A failure part-way still yields the
/// rounds completed so far (with `interrupted_by` set) when at least two
/// rounds completed; otherwise it is an error.
pub fn run_ab(config: &AbConfig, progress: &mut dyn AbProgress) -> Result<AbOutcome, GateError> {
    if let Some(rounds) = config.rounds
        && rounds < 2
    {
        return Err(GateError::naming(&["rounds"], |n| {
            format!(
                "{} {rounds}: at least 2 rounds are needed to compare pairs (10 or more recommended)",
                n[0]
            )
        }));
    }
    if config.command.is_empty() {
        return Err(GateError::naming(&["command"], |n| {
            format!(
                "no bench command: {} is empty; give the command that runs the benchmarks, such as `cargo bench`",
                n[0]
            )
        }));
    }
    if config.time_budget.is_some_and(|b| b.is_zero()) {
        return Err(GateError::naming(&["time_budget"], |n| {
            format!("{} 0: give the time the rounds may take, such as 5m", n[0])
        }));
    }
    let sliced = sliced_mode(config)?;
    if sliced {
        config.slice.check()?;
    }
    let rounds = Rounds::of(config, sliced);
    // A format named up front is checked before anything is built or run.
    if let ResultFormat::File {
        path,
        format: Some(format),
    } = &config.format
    {
        gateable(*format, path)?;
    }
    let BaseCheckout {
        base_commit,
        worktree,
        base_dir,
        scratch,
        checkout,
    } = BaseCheckout::new(&config.dir, &config.base, "perfhub-ab-runs-")?;
    let criterion_home = scratch.path().join("criterion");
    let base_target = match &config.base_target_dir {
        Some(d) => d.clone(),
        None => default_base_target(&config.dir),
    };
    let mut common_env: Vec<(OsString, OsString)> = Vec::new();
    if config.format == ResultFormat::Criterion && !sliced {
        common_env.push(("CRITERION_HOME".into(), criterion_home.clone().into()));
    }
    let head_env = common_env.clone();
    let mut base_env = common_env;
    base_env.push(("CARGO_TARGET_DIR".into(), base_target.clone().into()));
    let mut sides = [
        SideSetup {
            side: Side::Base,
            dir: base_dir,
            env: base_env,
        },
        SideSetup {
            side: Side::Head,
            dir: config.dir.clone(),
            env: head_env,
        },
    ];

    let mut notes = Vec::new();
    let mut runner = if sliced {
        Runner::Slices(prepare_slices(
            config,
            (&worktree, &checkout),
            &mut sides,
            scratch.path(),
            progress,
            &mut notes,
        )?)
    } else {
        if let Some(build) = build_command(config) {
            for s in &sides {
                progress.building(s.side, &shown(&build));
                build_side(&build, s, scratch.path())?;
            }
        }
        Runner::Whole {
            counter: match config.format {
                ResultFormat::Instructions => Some(InstructionCounter::detect()),
                _ => None,
            },
            criterion: CriterionVerdicts::default(),
            runs_so_far: 0,
        }
    };

    // The builds ran at the usual priority; the rounds run favoured.
    let _raised = raise_priority(config, &mut notes);
    let design = match rounds.budget {
        Some(_) => Design::Adaptive(rounds.max),
        None => Design::Fixed(rounds.max),
    };
    let mut seq = Sequential::new(design, config.criteria.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut orders = Vec::new();
    let mut interrupted_by = None;
    let mut ended = Ended::MaxRounds;
    let started = Instant::now();
    // What the next round will take: the last round's time per benchmark
    // (sliced) or in all (whole runs).
    let mut pair_time: BTreeMap<String, Duration> = BTreeMap::new();
    let mut round_time = Duration::ZERO;
    loop {
        if seq.rounds() >= seq.max_rounds() {
            break;
        }
        if seq.all_decided() {
            ended = Ended::Decided;
            break;
        }
        if let Some(budget) = rounds.budget
            && seq.rounds() >= 2
        {
            let next = match &runner {
                Runner::Slices(s) => s
                    .order
                    .iter()
                    .filter(|n| seq.is_active(n))
                    .filter_map(|n| pair_time.get(n))
                    .sum(),
                Runner::Whole { .. } => round_time,
            };
            if started.elapsed() + next > budget {
                ended = Ended::Budget;
                break;
            }
        }
        let round = seq.rounds() + 1;
        let round_started = Instant::now();
        let result = match &mut runner {
            Runner::Whole {
                counter,
                criterion,
                runs_so_far,
            } => whole_round(
                config,
                &sides,
                scratch.path(),
                counter.as_ref(),
                &criterion_home,
                (round, seq.max_rounds()),
                &mut rng,
                progress,
                criterion,
                runs_so_far,
            )
            .map(|(values, base_first)| {
                orders.push(if base_first { "base,head" } else { "head,base" });
                values
            }),
            Runner::Slices(s) => slices_round(
                config,
                s,
                &sides,
                scratch.path(),
                (round, seq.max_rounds()),
                &seq,
                &mut rng,
                progress,
                &mut pair_time,
            ),
        };
        match result {
            Ok(values) => {
                round_time = round_started.elapsed();
                let [base, head] = &values;
                for (name, (metric_name, unit, h)) in head {
                    if let Some((_, _, b)) = base.get(name)
                        && seq.is_active(name)
                    {
                        seq.push(name, metric_name, *unit, *b, *h);
                    }
                }
                let had_plan = seq.plan().is_some();
                let stopped = seq.end_round();
                if let (false, Some(plan), Some(_)) = (had_plan, seq.plan(), rounds.budget) {
                    progress.planned(plan, config.criteria.level);
                }
                for (name, stop) in stopped {
                    progress.stopped(&name, stop);
                }
            }
            Err(RoundError::Stopped) => {
                if seq.rounds() >= 2 {
                    interrupted_by = Some("interrupted".to_string());
                    ended = Ended::Interrupted;
                    break;
                }
                return Err(GateError::Interrupted {
                    rounds: seq.rounds(),
                });
            }
            Err(RoundError::Failed(e)) => {
                if seq.rounds() >= 2 {
                    interrupted_by = Some(format!("round {round}: {e}"));
                    ended = Ended::Interrupted;
                    break;
                }
                return Err(e);
            }
        }
    }
    drop(worktree);

    let adaptive = rounds.budget.is_some();
    let outcome = seq.finish(|rounds| match ended {
        Ended::Budget => Stop::BudgetSpent { rounds },
        Ended::Interrupted => Stop::Interrupted { rounds },
        Ended::MaxRounds | Ended::Decided => Stop::MaxRounds { rounds },
    });
    if adaptive {
        for (name, stop) in &outcome.stops {
            if !matches!(stop, Stop::Decided { .. }) {
                progress.stopped(name, *stop);
            }
        }
    }
    let mut changes = outcome.changes;
    let criterion = match &runner {
        Runner::Whole { criterion, .. } => *criterion,
        Runner::Slices(s) => {
            changes.only_in_base = s.only_in_base.clone();
            changes.only_in_head = s.only_in_head.clone();
            CriterionVerdicts::default()
        }
    };
    let run = RunSummary {
        rounds: seq_rounds(&outcome.series),
        orders: &orders,
        criterion,
        interrupted_by: interrupted_by.as_deref(),
        sliced,
        stops: adaptive.then_some(&outcome.stops[..]),
        plan: &outcome.plan,
        ended,
        planned: rounds,
    };
    let report = build_report(config, &base_commit, &outcome.series, &changes, &run, notes);
    Ok(AbOutcome {
        changes,
        report,
        base_commit,
        criterion_regressed: criterion,
        interrupted_by,
    })
}

/// The most rounds any benchmark took.
fn seq_rounds(series: &[PairedSeries]) -> usize {
    series.iter().map(|s| s.base.len()).max().unwrap_or(0)
}

/// Why the rounds ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The planned rounds ran.
    MaxRounds,
    /// Every benchmark was decided.
    Decided,
    /// The time budget had no room for another round.
    Budget,
    /// The user or a failure stopped the run.
    Interrupted,
}

/// Why a round did not complete.
enum RoundError {
    /// The user interrupted.
    Stopped,
    /// A run failed.
    Failed(GateError),
}

impl From<GateError> for RoundError {
    fn from(e: GateError) -> Self {
        RoundError::Failed(e)
    }
}

enum Runner {
    Whole {
        counter: Option<InstructionCounter>,
        criterion: CriterionVerdicts,
        runs_so_far: usize,
    },
    Slices(Slices),
}

/// The sliced mode's benchmarks: those both sides list, each with the
/// executable of each side.
struct Slices {
    order: Vec<String>,
    exes: BTreeMap<String, [BenchExe; 2]>,
    homes: [PathBuf; 2],
    only_in_base: Vec<String>,
    only_in_head: Vec<String>,
}

/// Whether this run uses slices: asked for, or `auto` with a criterion
/// suite run by `cargo bench` and no build command of its own.
fn sliced_mode(config: &AbConfig) -> Result<bool, GateError> {
    let cargo_bench = slices::split_cargo_bench(&config.command).is_some();
    match config.interleave {
        Interleave::Whole => Ok(false),
        Interleave::Auto => {
            Ok(config.format == ResultFormat::Criterion && cargo_bench && config.build.is_none())
        }
        Interleave::Slices => {
            if config.format != ResultFormat::Criterion {
                return Err(GateError::naming(&["interleave", "format"], |n| {
                    let [i, f] = [&n[0], &n[1]];
                    format!(
                        "{i} slices runs criterion benchmarks one by one: it needs {f} criterion (the default); use {i} whole for other formats"
                    )
                }));
            }
            if !cargo_bench {
                return Err(GateError::naming(&["interleave"], |n| {
                    format!(
                        "{i} slices needs a `cargo bench ...` command, which perfhub builds with --no-run to find the bench executables, not `{}`; use {i} whole for other commands",
                        shown(&config.command),
                        i = n[0]
                    )
                }));
            }
            if config.build.is_some() {
                return Err(GateError::naming(&["interleave", "build"], |n| {
                    let [i, b] = [&n[0], &n[1]];
                    format!(
                        "{i} slices builds with `cargo bench --no-run` itself: leave out {b}, or use {i} whole"
                    )
                }));
            }
            Ok(true)
        }
    }
}

/// Builds both sides with cargo's JSON messages, lists each bench
/// executable's benchmarks, and keeps those both sides have.
fn prepare_slices(
    config: &AbConfig,
    (worktree, checkout): (&Worktree, &Checkout),
    sides: &mut [SideSetup; 2],
    scratch: &Path,
    progress: &mut dyn AbProgress,
    notes: &mut Vec<Note>,
) -> Result<Slices, GateError> {
    let Some((cargo, bench_args)) = slices::split_cargo_bench(&config.command) else {
        return Err(GateError::config("not a `cargo bench` command"));
    };
    let build = slices::build_command(&cargo);
    let mut listed: Vec<SideBenchmarks> = Vec::new();
    for i in 0..2 {
        if i == 1 {
            // The base's executables are copied away and the head built
            // where the base was (see `head_beside_base`).
            let (head, layout) = head_beside_base(worktree, checkout, &sides[0], &config.dir);
            notes.push(Note::info("ab_build_path", layout));
            sides[1] = head;
        }
        let s = &sides[i];
        progress.building(s.side, &shown(&build));
        let messages = run_logged(&build, s, scratch, "build")?;
        let mut exes = slices::bench_executables(&messages);
        if exes.is_empty() {
            return Err(GateError::naming(&["interleave"], |n| {
                format!(
                    "`{}` built no bench target in the {}: check the command's --bench/-p options, or use {} whole",
                    shown(&build),
                    s.side.as_str(),
                    n[0]
                )
            }));
        }
        if i == 0 {
            exes = slices::keep_copies(exes, &scratch.join("base-bin"))?;
        }
        let mut found = SideBenchmarks::default();
        for exe in &exes {
            let mut list: Vec<OsString> = vec![exe.path.clone().into(), "--bench".into()];
            list.push("--list".into());
            list.extend(bench_args.iter().cloned());
            let at = SideSetup {
                side: s.side,
                dir: exe.cwd.clone(),
                env: s.env.clone(),
            };
            let output = run_logged(&list, &at, scratch, "list")?;
            found.add(exe, slices::listed_benchmarks(&output));
        }
        listed.push(found);
    }
    let [base, head] = [&listed[0], &listed[1]];
    if head.order.is_empty() {
        let filter = if bench_args.is_empty() {
            String::new()
        } else {
            format!(" with the filter `{}`", shown(&bench_args))
        };
        return Err(GateError::naming(
            &["interleave", "format", "format.path"],
            |n| {
                format!(
                    "no criterion benchmark listed by the head's bench targets ({}){filter}: `--bench --list` shows no `NAME: benchmark` line; for libtest or other harnesses use {} whole with {} libtest or {}",
                    head.not_criterion.join(", "),
                    n[0],
                    n[1],
                    n[2]
                )
            },
        ));
    }
    for (side, l) in [("base", base), ("head", head)] {
        if !l.not_criterion.is_empty() {
            notes.push(Note::warning(
                "ab_target_not_criterion",
                format!(
                    "the {side}'s bench targets {} list no criterion benchmark and were not run; `interleave` whole runs them",
                    l.not_criterion.join(", ")
                ),
            ));
        }
        for name in &l.duplicates {
            notes.push(Note::warning(
                "ab_benchmark_duplicate",
                format!(
                    "{name}: listed by two of the {side}'s bench targets; only the first was run"
                ),
            ));
        }
        for name in &l.truncated {
            notes.push(Note::warning(
                "ab_benchmark_name_truncated",
                format!(
                    "{name}: criterion lists this name cut short, so it cannot be run alone; shorten it, or use `interleave` whole"
                ),
            ));
        }
    }
    let mut exes = BTreeMap::new();
    let mut order = Vec::new();
    for name in &head.order {
        if let (Some(b), Some(h)) = (base.by_name.get(name), head.by_name.get(name)) {
            exes.insert(name.clone(), [b.clone(), h.clone()]);
            order.push(name.clone());
        }
    }
    let only_in_head = head
        .order
        .iter()
        .filter(|n| !base.by_name.contains_key(*n))
        .cloned()
        .collect();
    let only_in_base = base
        .order
        .iter()
        .filter(|n| !head.by_name.contains_key(*n))
        .cloned()
        .collect();
    if order.is_empty() {
        return Err(GateError::config(format!(
            "base and head have no criterion benchmark in common (base: {}; head: {})",
            if base.order.is_empty() {
                "none".to_string()
            } else {
                base.order.join(", ")
            },
            head.order.join(", ")
        )));
    }
    let homes = [
        scratch.join("criterion-base"),
        scratch.join("criterion-head"),
    ];
    Ok(Slices {
        order,
        exes,
        homes,
        only_in_base,
        only_in_head,
    })
}

/// One round of slices: every benchmark still undecided, base and head back
/// to back in a random order.
#[allow(clippy::too_many_arguments)]
fn slices_round(
    config: &AbConfig,
    slices: &Slices,
    sides: &[SideSetup; 2],
    scratch: &Path,
    (round, rounds): (usize, usize),
    seq: &Sequential,
    rng: &mut ChaCha8Rng,
    progress: &mut dyn AbProgress,
    pair_time: &mut BTreeMap<String, Duration>,
) -> Result<[RoundValues; 2], RoundError> {
    let mut values: [RoundValues; 2] = [RoundValues::new(), RoundValues::new()];
    for name in slices.order.iter().filter(|n| seq.is_active(n)) {
        let order = if rng.random_bool(0.5) { [0, 1] } else { [1, 0] };
        let pair_started = Instant::now();
        for i in order {
            if progress.should_stop() {
                return Err(RoundError::Stopped);
            }
            let s = &sides[i];
            progress.running_slice(round, rounds, name, s.side);
            let started = Instant::now();
            let v = run_slice(
                config,
                &slices.exes[name][i],
                name,
                s,
                &slices.homes[i],
                scratch,
            )?;
            progress.finished(round, s.side, started.elapsed());
            values[i].insert(name.clone(), v);
        }
        pair_time.insert(name.clone(), pair_started.elapsed());
    }
    Ok(values)
}

/// Runs one benchmark of one side for a slice and reads its value
/// ([`slice_values`]).
fn run_slice(
    config: &AbConfig,
    exe: &BenchExe,
    name: &str,
    side: &SideSetup,
    home: &Path,
    scratch: &Path,
) -> Result<(String, Unit, f64), GateError> {
    // A fresh home per slice: only this slice's results are read, and
    // criterion finds no earlier run to compare with (which would cost a
    // bootstrap per slice).
    let _ = std::fs::remove_dir_all(home);
    std::fs::create_dir_all(home).map_err(|e| GateError::Io {
        path: home.to_path_buf(),
        source: e,
    })?;
    let mut command: Vec<OsString> = vec![exe.path.clone().into()];
    command.extend(config.slice.args(name));
    let mut env = side.env.clone();
    env.retain(|(k, _)| k != "CRITERION_HOME");
    env.push(("CRITERION_HOME".into(), home.into()));
    env.push(("CARGO_MANIFEST_DIR".into(), exe.cwd.clone().into()));
    let at = SideSetup {
        side: side.side,
        dir: exe.cwd.clone(),
        env,
    };
    run_logged(&command, &at, scratch, "slice")?;
    let import_error = |message: String| GateError::Import {
        side: side.side.as_str(),
        message,
    };
    let report = perfhub_import::import_criterion_dir(home, None, &import_options(config))
        .map_err(|e| {
            import_error(format!(
                "{name}: `{} --bench --exact {name:?}` left no results ({e}); does the benchmark run when named exactly?",
                exe.path.display()
            ))
        })?;
    let values = slice_values(&report);
    let value = values
        .get(name)
        .or_else(|| {
            (values.len() == 1)
                .then(|| values.values().next())
                .flatten()
        })
        .cloned()
        .ok_or_else(|| {
            import_error(format!(
                "{name}: the slice wrote results for {} instead",
                values.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
    Ok(value)
}

/// One round of whole runs, in a random order; returns the values and
/// whether base ran first.
#[allow(clippy::too_many_arguments)]
fn whole_round(
    config: &AbConfig,
    sides: &[SideSetup; 2],
    scratch: &Path,
    counter: Option<&InstructionCounter>,
    criterion_home: &Path,
    (round, rounds): (usize, usize),
    rng: &mut ChaCha8Rng,
    progress: &mut dyn AbProgress,
    criterion: &mut CriterionVerdicts,
    runs_so_far: &mut usize,
) -> Result<([RoundValues; 2], bool), RoundError> {
    let base_first = rng.random_bool(0.5);
    let order = if base_first { [0, 1] } else { [1, 0] };
    let mut values: [RoundValues; 2] = [RoundValues::new(), RoundValues::new()];
    for i in order {
        if progress.should_stop() {
            return Err(RoundError::Stopped);
        }
        let s = &sides[i];
        progress.running(round, rounds, s.side);
        let started = Instant::now();
        let (v, output) = run_side(config, s, scratch, counter, criterion_home)?;
        progress.finished(round, s.side, started.elapsed());
        if config.format == ResultFormat::Criterion {
            if *runs_so_far > 0 {
                criterion.comparisons += 1;
            }
            let n = output.matches("Performance has regressed").count();
            criterion.lines += n;
            if n > 0 {
                criterion.runs_flagged += 1;
            }
        }
        *runs_so_far += 1;
        values[i] = v;
    }
    Ok((values, base_first))
}

/// With [`AbConfig::raise_priority`], the calling thread (and the runs it
/// starts) at nice [`MEASURING_NICE`] until the guard drops; a note says
/// what was done, or why not.
fn raise_priority(
    config: &AbConfig,
    notes: &mut Vec<Note>,
) -> Option<perfhub_probe::priority::Raised> {
    if !config.raise_priority {
        return None;
    }
    match perfhub_probe::priority::Raised::to(MEASURING_NICE) {
        Ok(raised) => {
            notes.push(Note::info(
                "ab_priority",
                format!(
                    "the rounds ran at nice {MEASURING_NICE}, so other work on the machine took less of the benchmarks' CPU"
                ),
            ));
            Some(raised)
        }
        Err(e) => {
            notes.push(Note::info(
                "ab_priority",
                format!(
                    "the rounds ran at the usual priority: raising it to nice {MEASURING_NICE} was refused ({e}); as root, with CAP_SYS_NICE or with `ulimit -e 40`, other work on the machine would take less of the benchmarks' CPU"
                ),
            ));
            None
        }
    }
}

/// The base revision checked out beside the head, and a scratch directory
/// for the run's files.
pub(crate) struct BaseCheckout {
    /// The base's full commit hash.
    pub base_commit: String,
    /// The temporary worktree, removed when dropped.
    pub worktree: Worktree,
    /// The head's directory, in the base's worktree.
    pub base_dir: PathBuf,
    /// Where the run's logs and outputs go.
    pub scratch: tempfile::TempDir,
    /// The head's checkout.
    pub checkout: Checkout,
}

impl BaseCheckout {
    /// Checks out `base` for the checkout holding `dir`; the scratch
    /// directory's name starts with `prefix`.
    pub(crate) fn new(dir: &Path, base: &str, prefix: &str) -> Result<BaseCheckout, GateError> {
        let checkout = Checkout::of(dir)?;
        let base_commit = checkout.resolve(base)?;
        let worktree = Worktree::add(&checkout.toplevel, &base_commit)?;
        let base_dir = worktree.path().join(&checkout.subdir);
        if !base_dir.is_dir() {
            return Err(GateError::config(format!(
                "{} does not exist at {base}: the base revision predates this directory",
                checkout.subdir.display(),
            )));
        }
        let scratch = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| GateError::Io {
                path: std::env::temp_dir(),
                source: e,
            })?;
        Ok(BaseCheckout {
            base_commit,
            worktree,
            base_dir,
            scratch,
            checkout,
        })
    }
}

/// The head's side of paired series as a report: one benchmark per series
/// with the head's values (the metric as given) and the base's (the metric
/// prefixed `base.`), what [`ChangeSet::to_report`] compares against.
pub(crate) fn series_report(
    series: &[PairedSeries],
    created: perfhub_core::time::UtcTime,
) -> Report {
    let mut head = Report::new(ReportKind::Bench, created);
    for s in series {
        let mut b = Benchmark::new(s.benchmark.clone(), s.metric.clone());
        b.measurements.push(Measurement::from_samples(
            s.metric.clone(),
            s.unit,
            s.head.clone(),
        ));
        b.measurements.push(Measurement::from_samples(
            format!("base.{}", s.metric),
            s.unit,
            s.base.clone(),
        ));
        head.benchmarks.push(b);
    }
    head
}

/// The base's target directory when none is given: `perfhub-ab-base`
/// inside the head's (`CARGO_TARGET_DIR`, else `target` in the directory).
pub(crate) fn default_base_target(dir: &Path) -> PathBuf {
    let head_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let head_target = if head_target.is_relative() {
        dir.join(head_target)
    } else {
        head_target
    };
    head_target.join("perfhub-ab-base")
}

/// The build command: the one given, or `cargo bench ... --no-run` for a
/// `cargo bench` command.
fn build_command(config: &AbConfig) -> Option<Vec<OsString>> {
    if let Some(b) = &config.build {
        return (!b.is_empty()).then(|| b.clone());
    }
    let c = &config.command;
    if c.len() >= 2 && c[0] == "cargo" && c[1] == "bench" {
        let split = c.iter().position(|a| a == "--").unwrap_or(c.len());
        let mut build: Vec<OsString> = c[..split].to_vec();
        build.push("--no-run".into());
        return Some(build);
    }
    None
}

/// A command as one line, for messages.
pub(crate) fn shown(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` for a side with its output in files under `scratch`;
/// returns the combined output, or an error with its tail.
fn run_logged(
    command: &[OsString],
    side: &SideSetup,
    scratch: &Path,
    what: &str,
) -> Result<String, GateError> {
    let out_path = scratch.join(format!("{}-{what}.out", side.side.as_str()));
    let err_path = scratch.join(format!("{}-{what}.err", side.side.as_str()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| GateError::Io { path, source: e }
    };
    let out = File::create(&out_path).map_err(io(&out_path))?;
    let err = File::create(&err_path).map_err(io(&err_path))?;
    let status = Command::new(&command[0])
        .args(&command[1..])
        .current_dir(&side.dir)
        .envs(side.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| GateError::Spawn {
            command: shown(command),
            side: side.side.as_str(),
            message: e.to_string(),
        })?;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if !status.success() {
        // Errors go to stderr (cargo's, a panic's): last, so they survive
        // the cut to the final lines.
        let tail: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
        let tail = tail[tail.len().saturating_sub(15)..].join("\n");
        return Err(GateError::CommandFailed {
            command: shown(command),
            side: side.side.as_str(),
            status: status.to_string(),
            tail,
        });
    }
    Ok(stdout + &stderr)
}

fn build_side(build: &[OsString], side: &SideSetup, scratch: &Path) -> Result<(), GateError> {
    run_logged(build, side, scratch, "build").map(|_| ())
}

/// Runs one side once and reads its values.
fn run_side(
    config: &AbConfig,
    side: &SideSetup,
    scratch: &Path,
    counter: Option<&InstructionCounter>,
    criterion_home: &Path,
) -> Result<(RoundValues, String), GateError> {
    let import_error = |e: perfhub_import::ImportError| GateError::Import {
        side: side.side.as_str(),
        message: e.to_string(),
    };
    let report = match (&config.format, counter) {
        (ResultFormat::Instructions, Some(counter)) => {
            let count = count_instructions(counter, &config.command, &side.dir, &side.env)?;
            let mut v = RoundValues::new();
            v.insert(
                shown(&config.command),
                (metric::INSTRUCTIONS.to_string(), Unit::Count, count as f64),
            );
            return Ok((v, String::new()));
        }
        (ResultFormat::Instructions, None) => {
            return Err(GateError::config(
                "instruction counts were asked for but no counter was set up",
            ));
        }
        (ResultFormat::Criterion, _) => {
            // Only this run's results: criterion keeps the previous run as
            // its own baseline (`base/`), which is not touched.
            remove_new_dirs(criterion_home);
            let output = run_logged(&config.command, side, scratch, "run")?;
            if !criterion_home.is_dir() {
                return Err(GateError::naming(&["format", "format.path"], |n| {
                    format!(
                        "the {} run of `{}` wrote no criterion results (criterion writes them under CRITERION_HOME, which perfhub sets): for another tool give {} libtest or instructions, or {} FILE",
                        side.side.as_str(),
                        shown(&config.command),
                        n[0],
                        n[1]
                    )
                }));
            }
            let report =
                perfhub_import::import_criterion_dir(criterion_home, None, &import_options(config))
                    .map_err(import_error)?;
            (report, output)
        }
        (ResultFormat::File { path, format }, _) => {
            let path = side.dir.join(path);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(GateError::config(format!(
                        "cannot remove the previous results {}: {e}",
                        path.display()
                    )));
                }
            }
            let output = run_logged(&config.command, side, scratch, "run")?;
            if !path.exists() {
                return Err(GateError::naming(&["format.path"], |n| {
                    format!(
                        "reading the {} run's results: {}: the bench command did not write its results there; check {} against where the command writes them",
                        side.side.as_str(),
                        path.display(),
                        n[0]
                    )
                }));
            }
            let options = import_options(config);
            let (format, report) = match format {
                Some(f) => {
                    gateable(*f, &path)?;
                    let report = perfhub_import::import(&path, *f, None, &options);
                    (*f, report.map_err(import_error)?)
                }
                // Told apart and imported in one read of the file.
                None => perfhub_import::import_auto(&path, None, &options).map_err(import_error)?,
            };
            gateable(format, &path)?;
            (report, output)
        }
        (ResultFormat::Libtest, _) => {
            let output = run_logged(&config.command, side, scratch, "run")?;
            let report = perfhub_import::parse_libtest(
                &output,
                Path::new("<standard output>"),
                &import_options(config),
            )
            .map_err(import_error)?;
            (report, output)
        }
    };
    Ok((round_values(&report.0), report.1))
}

/// Whether results in `format` (read from `path`) can be gated through a
/// results file: not load tests, and not criterion's directory, which has
/// its own format.
fn gateable(format: perfhub_import::Format, path: &Path) -> Result<(), GateError> {
    if format.is_load_test() || format == perfhub_import::Format::Criterion {
        return Err(GateError::naming(&["format.path", "format"], |n| {
            format!(
                "{}: {format} results cannot be gated through {}; use {} criterion for criterion benches",
                path.display(),
                n[0],
                n[1]
            )
        }));
    }
    Ok(())
}

fn import_options(config: &AbConfig) -> perfhub_import::ImportOptions {
    perfhub_import::ImportOptions::new(config.created)
}

/// Removes every `new` directory under criterion's home, so a benchmark
/// that stops existing is not read from an earlier run.
fn remove_new_dirs(home: &Path) {
    fn walk(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    let _ = std::fs::remove_dir_all(&p);
                } else {
                    walk(&p);
                }
            }
        }
    }
    walk(home);
}

/// A round's value per benchmark: the median of its samples (robust to a
/// stray slow sample within the round), else its single value.
fn round_values(report: &Report) -> RoundValues {
    values_by(report, median)
}

/// A slice's value per benchmark: the fastest per-iteration time of its
/// larger samples. Other work on the machine only ever slows a sample
/// down, and a short slice's samples are milliseconds long, so the fastest
/// is the one least disturbed; on a busy machine it varies from slice to
/// slice far less than the median does (docs/ci.md gives the figures).
/// Only the second half of the samples is looked at: in criterion's linear
/// sampling those hold the most iterations (its samples are recorded in
/// order of their iteration counts), so a lucky sample of one or two
/// iterations of a slow benchmark cannot stand for the slice.
fn slice_values(report: &Report) -> RoundValues {
    values_by(report, fastest_of_larger_half)
}

/// The smallest of the second half of `samples`.
fn fastest_of_larger_half(samples: &[f64]) -> Option<f64> {
    samples[samples.len() / 2..]
        .iter()
        .copied()
        .reduce(f64::min)
}

fn values_by(report: &Report, of_samples: impl Fn(&[f64]) -> Option<f64>) -> RoundValues {
    let mut v = RoundValues::new();
    for b in &report.benchmarks {
        let Some(m) = b.primary() else { continue };
        let value = if !m.samples.is_empty() {
            of_samples(&m.samples)
        } else {
            m.value.or(m.summary.as_ref().map(|s| s.median))
        };
        if let Some(value) = value {
            v.insert(b.name.clone(), (m.metric.clone(), m.unit, value));
        }
    }
    v
}

/// How the rounds went, for the report's notes.
struct RunSummary<'a> {
    rounds: usize,
    orders: &'a [&'a str],
    criterion: CriterionVerdicts,
    interrupted_by: Option<&'a str>,
    sliced: bool,
    /// With a time budget, why each benchmark stopped.
    stops: Option<&'a [(String, Stop)]>,
    plan: &'a LookPlan,
    ended: Ended,
    /// The rounds asked for.
    planned: Rounds,
}

fn build_report(
    config: &AbConfig,
    base_commit: &str,
    series: &[PairedSeries],
    changes: &ChangeSet,
    run: &RunSummary<'_>,
    notes: Vec<Note>,
) -> Report {
    let mut report = changes.to_report(&series_report(series, config.created), config.created);
    let base_short = &base_commit[..base_commit.len().min(12)];
    if run.sliced {
        let s = &config.slice;
        report.notes.push(Note::info(
            "ab_rounds",
            format!(
                "{} rounds of slices from `{}`, base {base_short} against the working directory: \
                 in each round each benchmark ran alone on each side (`--bench --exact`, warm-up {:.2} s, \
                 measurement {:.2} s, {} samples), base and head back to back in a random order; \
                 a slice's value is the fastest per-iteration time of its larger half of samples",
                run.rounds,
                shown(&config.command),
                s.warm_up.as_secs_f64(),
                s.measurement.as_secs_f64(),
                s.sample_size
            ),
        ));
    } else {
        report.notes.push(Note::info(
            "ab_rounds",
            format!(
                "{} interleaved rounds of `{}`, base {base_short} against the working directory; orders: {}",
                run.orders.len(),
                shown(&config.command),
                run.orders.join(" ")
            ),
        ));
    }
    report.notes.extend(notes);
    if let Some(stops) = run.stops {
        let budget = run
            .planned
            .budget
            .map_or_else(String::new, |b| format!("{:.0} s", b.as_secs_f64()));
        let end = match run.ended {
            Ended::Decided => "every benchmark was decided",
            Ended::Budget => "the time budget was spent",
            Ended::MaxRounds => "the last planned look was reached",
            Ended::Interrupted => "the run stopped early",
        };
        report.notes.push(Note::info(
            "ab_adaptive",
            format!(
                "adaptive stopping within a time budget of {budget}, at most {} rounds: {}, \
                 Holm across the benchmarks at each; a benchmark stops once it changed by at \
                 least its minimum effect or its interval rules that out; the rounds ended because {end}",
                run.planned.max,
                run.plan.describe(config.criteria.level)
            ),
        ));
        for (name, stop) in stops {
            let mde = changes
                .changes
                .iter()
                .find(|c| &c.benchmark == name)
                .and_then(|c| c.mde)
                .map_or_else(
                    || "no change was detectable".to_string(),
                    |m| format!("minimum detectable effect {}", percent_figure(m)),
                );
            report.notes.push(Note::info(
                "ab_stopped",
                format!("{name}: {}; {mde}", stop.describe()),
            ));
        }
    }
    if config.format == ResultFormat::Criterion && run.criterion.comparisons > 0 {
        report.notes.push(Note::info(
            "criterion_own_verdicts",
            format!(
                "criterion's own change detection, comparing each run with the one before, \
                 printed \"Performance has regressed\" in {} of {} runs ({} lines)",
                run.criterion.runs_flagged, run.criterion.comparisons, run.criterion.lines
            ),
        ));
    }
    if let Some(why) = run.interrupted_by {
        report.notes.push(Note::warning(
            "ab_interrupted",
            format!(
                "stopped after {} of {} rounds: {why}",
                run.rounds, run.planned.max
            ),
        ));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(command: &[&str]) -> AbConfig {
        AbConfig {
            rounds: Some(3),
            seed: 1,
            created: "2026-01-01T00:00:00Z".parse().unwrap(),
            raise_priority: false,
            ..AbConfig::new(".", "HEAD", command)
        }
    }

    #[test]
    fn a_slice_is_its_fastest_larger_sample() {
        // Linear sampling: the first samples hold the fewest iterations.
        assert_eq!(
            fastest_of_larger_half(&[1.0, 9.0, 5.0, 4.0, 6.0]),
            Some(4.0)
        );
        assert_eq!(fastest_of_larger_half(&[3.0]), Some(3.0));
        assert_eq!(fastest_of_larger_half(&[]), None);
    }

    #[test]
    fn rounds_default_by_mode_unless_set() {
        let mut c = AbConfig::new(".", "HEAD", ["cargo", "bench"]);
        assert_eq!(Rounds::of(&c, true), Rounds::SLICED);
        assert_eq!(Rounds::of(&c, false), Rounds::WHOLE);
        c.rounds = Some(20);
        let fixed = Rounds {
            max: 20,
            budget: None,
        };
        assert_eq!(Rounds::of(&c, true), fixed);
        c.rounds = None;
        c.time_budget = Some(Duration::from_secs(60));
        assert_eq!(Rounds::of(&c, false).max, Rounds::WHOLE_ADAPTIVE_MAX);
        assert_eq!(Rounds::of(&c, true).max, Rounds::SLICED.max);
        assert_eq!(Rounds::of(&c, true).budget, Some(Duration::from_secs(60)));
    }

    #[test]
    fn cargo_bench_is_built_with_no_run_before_its_own_arguments() {
        let c = config(&[
            "cargo",
            "bench",
            "--bench",
            "k",
            "--",
            "--warm-up-time",
            "1",
        ]);
        assert_eq!(
            build_command(&c).unwrap(),
            ["cargo", "bench", "--bench", "k", "--no-run"]
                .map(OsString::from)
                .to_vec()
        );
        assert!(build_command(&config(&["./bench.sh"])).is_none());
        let mut given = config(&["./bench.sh"]);
        given.build = Some(vec!["make".into()]);
        assert_eq!(build_command(&given).unwrap(), vec![OsString::from("make")]);
    }

    #[test]
    fn interleave_auto_slices_only_criterion_suites_run_by_cargo_bench() {
        let mut c = config(&["cargo", "bench", "--bench", "k"]);
        assert!(sliced_mode(&c).unwrap());
        c.build = Some(vec!["make".into()]);
        assert!(!sliced_mode(&c).unwrap());
        c.interleave = Interleave::Slices;
        assert!(
            sliced_mode(&c)
                .unwrap_err()
                .to_string()
                .contains("leave out `build`")
        );
        let mut c = config(&["./bench.sh"]);
        assert!(!sliced_mode(&c).unwrap());
        c.interleave = Interleave::Slices;
        let e = sliced_mode(&c).unwrap_err().to_string();
        assert!(
            e.contains("needs a `cargo bench ...` command") && e.contains("`interleave` whole"),
            "{e}"
        );
        let mut c = config(&["cargo", "bench"]);
        c.format = ResultFormat::Libtest;
        assert!(!sliced_mode(&c).unwrap());
        c.interleave = Interleave::Slices;
        assert!(
            sliced_mode(&c)
                .unwrap_err()
                .to_string()
                .contains("`format` criterion")
        );
        c.interleave = Interleave::Whole;
        assert!(!sliced_mode(&c).unwrap());
    }
}
