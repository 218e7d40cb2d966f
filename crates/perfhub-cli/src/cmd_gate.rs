//! `perfhub compare` and `perfhub ab`: change detection and the A/B gate.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::report::Report;
use perfhub_core::stats::Statistic;
use perfhub_gate::{AbConfig, AbProgress, Interleave, ResultFormat, Side, SliceConfig};

use crate::Outcome;
use crate::report_io::{read_report, write_report};

/// How changes are judged: shared by `compare` and `ab`.
#[derive(Debug, Args)]
pub struct CriteriaArgs {
    /// The smallest change that counts as a regression or an improvement,
    /// such as `3%` or `0.03`; smaller changes are "unchanged" however
    /// significant.
    #[arg(long, value_name = "EFFECT", default_value = "3%")]
    min_effect: String,

    /// A minimum effect for the benchmarks matching a pattern (`*` matches
    /// anything), such as `'fib/*=5%'`; repeatable, the first match wins.
    #[arg(long, value_name = "PATTERN=EFFECT")]
    min_effect_for: Vec<String>,

    /// The confidence level of the intervals; a change is significant when
    /// its interval excludes no change (a ratio of 1).
    #[arg(long, value_name = "LEVEL", default_value_t = 0.95)]
    level: f64,
}

impl CriteriaArgs {
    fn criteria(&self) -> Result<ChangeCriteria> {
        if !(self.level > 0.0 && self.level < 1.0) {
            bail!(
                "--level {}: give a confidence level between 0 and 1, such as 0.95",
                self.level
            );
        }
        let mut criteria = ChangeCriteria {
            min_effect: parse_effect(&self.min_effect).context("--min-effect")?,
            level: self.level,
            ..ChangeCriteria::default()
        };
        for o in &self.min_effect_for {
            let Some((pattern, effect)) = o.rsplit_once('=') else {
                bail!("--min-effect-for {o:?}: write PATTERN=EFFECT, such as 'fib/*=5%'");
            };
            let effect = parse_effect(effect).with_context(|| format!("--min-effect-for {o:?}"))?;
            criteria.overrides.push((pattern.to_string(), effect));
        }
        Ok(criteria)
    }
}

/// `3%` or `0.03` as 0.03.
fn parse_effect(s: &str) -> Result<f64> {
    perfhub_core::compare::parse_min_effect(s).map_err(anyhow::Error::msg)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatisticArg {
    Mean,
    Median,
}

/// Compare two reports benchmark by benchmark.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base report (perfhub JSON: `perfhub run`, `perfhub import`, ...).
    #[arg(value_name = "BASE")]
    base: PathBuf,

    /// The head report.
    #[arg(value_name = "HEAD")]
    head: PathBuf,

    #[command(flatten)]
    criteria: CriteriaArgs,

    /// The statistic compared.
    #[arg(long, value_enum, default_value = "mean")]
    statistic: StatisticArg,

    /// Write the comparison as a perfhub report (kind `compare`).
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,

    /// Exit 0 even when something regressed (the verdicts are still shown).
    #[arg(long)]
    no_fail: bool,
}

/// Runs `perfhub compare`.
pub fn compare(args: CompareArgs) -> Result<Outcome> {
    let base = read_checked(&args.base)?;
    let head = read_checked(&args.head)?;
    let mut criteria = args.criteria.criteria()?;
    criteria.statistic = match args.statistic {
        StatisticArg::Mean => Statistic::Mean,
        StatisticArg::Median => Statistic::Median,
    };
    let set = compare_reports(&base, &head, &criteria);
    if set.changes.is_empty() && !set.skipped.is_empty() {
        bail!("no benchmark could be compared: {}", set.skipped_reasons());
    }
    if set.changes.is_empty() {
        bail!(
            "{} and {} have no benchmark in common (base: {}; head: {})",
            args.base.display(),
            args.head.display(),
            names(&base),
            names(&head)
        );
    }
    let report = set.to_report(&head, perfhub_core::time::UtcTime::now());
    finish(&report, args.export_json.as_deref(), args.no_fail)
}

/// Reads a report to compare, refusing values no measurement can have (a
/// negative time would compare into a nonsense change).
fn read_checked(path: &Path) -> Result<Report> {
    let report = read_report(path)?;
    if let Err(e) = report.check_values() {
        bail!(
            "{}: {e}; the report is damaged or was edited: measure again, or import the tool's results again",
            path.display()
        );
    }
    Ok(report)
}

fn names(r: &Report) -> String {
    let n: Vec<&str> = r.benchmarks.iter().map(|b| b.name.as_str()).collect();
    if n.is_empty() {
        "none".into()
    } else {
        n.join(", ")
    }
}

/// Writes the report, prints the table, publishes to GitHub Actions when
/// running there, and maps the verdicts to an outcome.
fn finish(report: &Report, export: Option<&Path>, no_fail: bool) -> Result<Outcome> {
    if let Some(path) = export {
        write_report(path, report)?;
    }
    crate::render::print_changes(report, crate::render::color())?;
    crate::github::publish_if_in_actions(report)?;
    let regressed = report
        .comparisons
        .iter()
        .any(|c| c.verdict == Some(perfhub_core::compare::Verdict::Regressed));
    if regressed && !no_fail {
        return Ok(Outcome::Regressed);
    }
    Ok(Outcome::Success)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InterleaveArg {
    /// Slices for criterion suites run by `cargo bench`, whole runs otherwise.
    Auto,
    /// Each criterion benchmark alone per slice, base and head back to back.
    Slices,
    /// The whole bench command once per side per round.
    Whole,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// criterion benches (results read from the directory perfhub gives
    /// criterion as `CRITERION_HOME`).
    Criterion,
    /// libtest `bench:` lines on standard output.
    Libtest,
    /// The command's instruction count: hardware counter, else callgrind.
    Instructions,
}

/// The interleaved A/B gate: base and head built side by side, run alternately.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// The base revision (commit, branch, tag): checked out into a temporary
    /// git worktree and built there; the head is the working directory as
    /// it is.
    #[arg(long, value_name = "REV")]
    base: String,

    /// Rounds; each runs base and head once, in a random order. By default,
    /// sliced: up to 60 within a 4-minute --time-budget; whole runs: 12 (the
    /// fewest with which one disturbed round cannot hide a change), at most
    /// 40 with --time-budget. --rounds alone: exactly N rounds.
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,

    /// How base and head alternate: `slices` runs each criterion benchmark
    /// alone for a short slice, base and head back to back (seconds apart);
    /// `whole` runs the whole bench command once per side per round;
    /// `auto` slices criterion suites run by `cargo bench` (without
    /// --build) and runs everything else whole.
    #[arg(long, value_enum, default_value = "auto")]
    interleave: InterleaveArg,

    /// Sliced mode: criterion's warm-up time for each slice [default: 50ms].
    #[arg(long, value_name = "TIME", value_parser = perfhub_core::units::parse_duration)]
    slice_warm_up: Option<Duration>,

    /// Sliced mode: criterion's measurement time per slice [default: 100ms].
    #[arg(long, value_name = "TIME", value_parser = perfhub_core::units::parse_duration)]
    slice_time: Option<Duration>,

    /// Sliced mode: criterion's sample size per slice, 10 or more [default: 30].
    #[arg(long, value_name = "N")]
    slice_samples: Option<usize>,

    /// Adaptive stopping: keep adding rounds, within TIME (such as `5m`, counted after the
    /// builds), only for the benchmarks still undecided, and stop once every benchmark changed
    /// by at least its minimum effect or had that ruled out. The rounds are tested at a few
    /// planned looks with the level split across them, so looking again adds no false alarms.
    #[arg(long, value_name = "TIME", value_parser = perfhub_core::units::parse_duration)]
    time_budget: Option<Duration>,

    /// The build command, run once in each side before the rounds (default:
    /// for `cargo bench ...`, the same with `--no-run`; otherwise none).
    #[arg(long, value_name = "COMMAND")]
    build: Option<String>,

    /// What the bench command produces.
    #[arg(long, value_enum, default_value = "criterion")]
    format: FormatArg,

    /// The bench command writes its results to this file (relative to the
    /// checkout), in any format `perfhub import` reads: pytest-benchmark's
    /// `--benchmark-json`, Google Benchmark's `--benchmark_out`, `go test
    /// -bench` output redirected to a file, ... Read after every run.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    results: Option<PathBuf>,

    /// The format of `--results` (default: told apart by its content), by
    /// its `perfhub import` name, such as `pytest-benchmark`.
    #[arg(long, value_name = "FORMAT", requires = "results")]
    results_format: Option<perfhub_import::Format>,

    /// Where the base's cargo artifacts go (default: `perfhub-ab-base`
    /// inside the head's target directory, reused by the next run).
    #[arg(long, value_name = "DIR")]
    base_target_dir: Option<PathBuf>,

    #[command(flatten)]
    criteria: CriteriaArgs,

    /// The seed of the rounds' order.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,

    /// Run the rounds at the usual priority. By default the rounds of the
    /// sliced and whole-run modes run at nice -20 where the OS allows it
    /// (root, CAP_SYS_NICE or `ulimit -e`), so other work on the machine
    /// takes less of the benchmarks' CPU.
    #[arg(long)]
    normal_priority: bool,

    /// Write the comparison as a perfhub report (kind `compare`), with
    /// every round's values.
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,

    /// Exit 0 even when something regressed.
    #[arg(long)]
    no_fail: bool,

    /// Run benches that use perfhub's harness (`perfhub_bench::main!`)
    /// paired: both builds' bench binaries in lockstep, alternating batches
    /// of about a millisecond, for TIME per benchmark (`--paired` alone: 3s).
    /// The command is `cargo bench [ARGS] [-- FILTER]`; --rounds, --build
    /// and --format do not apply.
    #[arg(long, value_name = "TIME", num_args = 0..=1, require_equals = true,
          default_missing_value = "3s", value_parser = perfhub_core::units::parse_duration)]
    paired: Option<Duration>,

    /// The bench command, after `--`, such as `-- cargo bench --bench kernel`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// Whether a progress line waits for its time (an error ends it first).
struct StderrProgress(bool);

impl Drop for StderrProgress {
    fn drop(&mut self) {
        if self.0 {
            eprintln!();
        }
    }
}

impl AbProgress for StderrProgress {
    fn building(&mut self, side: Side, command: &str) {
        eprintln!("perfhub ab: building {} ({command})", side.as_str());
    }
    fn running(&mut self, round: usize, rounds: usize, side: Side) {
        self.0 = true;
        eprint!("perfhub ab: round {round}/{rounds}: {}", side.as_str());
        let _ = std::io::stderr().flush();
    }
    fn finished(&mut self, _: usize, _: Side, elapsed: Duration) {
        self.0 = false;
        eprintln!(" {:.1} s", elapsed.as_secs_f64());
    }
    fn running_slice(&mut self, round: usize, rounds: usize, benchmark: &str, side: Side) {
        self.0 = true;
        eprint!(
            "perfhub ab: round {round}/{rounds}: {benchmark}: {}",
            side.as_str()
        );
        let _ = std::io::stderr().flush();
    }
    fn planned(&mut self, plan: &perfhub_gate::LookPlan, level: f64) {
        eprintln!("perfhub ab: adaptive stopping: {}", plan.describe(level));
    }
    fn stopped(&mut self, benchmark: &str, stop: perfhub_gate::Stop) {
        eprintln!("perfhub ab: {benchmark}: {}", stop.describe());
    }
    fn should_stop(&mut self) -> bool {
        crate::interrupt::requested()
    }
}

/// The flags of `perfhub ab` (without `--paired`) as the gate's configuration.
fn ab_config(args: &AbArgs) -> Result<AbConfig> {
    let build = match &args.build {
        Some(b) => Some(
            shell_words::split(b)
                .with_context(|| format!("--build {b:?}: unbalanced quotes"))?
                .into_iter()
                .map(OsString::from)
                .collect(),
        ),
        None => None,
    };
    Ok(AbConfig {
        dir: std::env::current_dir().context("cannot read the working directory")?,
        base: args.base.clone(),
        rounds: args.rounds,
        interleave: match args.interleave {
            InterleaveArg::Auto => Interleave::Auto,
            InterleaveArg::Slices => Interleave::Slices,
            InterleaveArg::Whole => Interleave::Whole,
        },
        slice: SliceConfig::or_default(args.slice_warm_up, args.slice_time, args.slice_samples),
        time_budget: args.time_budget,
        command: args.command.clone(),
        build,
        format: match (&args.results, args.format) {
            (Some(path), _) => ResultFormat::File {
                path: path.clone(),
                format: args.results_format,
            },
            (None, FormatArg::Criterion) => ResultFormat::Criterion,
            (None, FormatArg::Libtest) => ResultFormat::Libtest,
            (None, FormatArg::Instructions) => ResultFormat::Instructions,
        },
        base_target_dir: args.base_target_dir.clone(),
        criteria: args.criteria.criteria()?,
        seed: args.seed,
        created: perfhub_core::time::UtcTime::now(),
        raise_priority: !args.normal_priority,
    })
}

/// Runs `perfhub ab`.
pub fn ab(args: AbArgs) -> Result<Outcome> {
    if let Some(time) = args.paired {
        return ab_paired(&args, time);
    }
    let config = ab_config(&args)?;
    if config.format == ResultFormat::Instructions {
        eprintln!(
            "perfhub ab: counting instructions with {}",
            perfhub_gate::InstructionCounter::detect().describe()
        );
    }
    // Ctrl-C stops the bench command (it gets the signal too) and then the
    // rounds, instead of killing perfhub: the temporary worktree is removed
    // and the rounds completed so far are still compared.
    crate::interrupt::install();
    let outcome = perfhub_gate::run_ab(&config, &mut StderrProgress(false))?;
    let mut report = outcome.report;
    report.environment = Some(perfhub_probe::env::collect(Default::default()));
    if outcome.changes.changes.is_empty() {
        if let Some(path) = &args.export_json {
            write_report(path, &report)?;
        }
        bail!(
            "no benchmark could be compared{}",
            if outcome.changes.skipped.is_empty() {
                ": the command produced no results in the expected format".to_string()
            } else {
                format!(": {}", outcome.changes.skipped_reasons())
            }
        );
    }
    let result = finish(&report, args.export_json.as_deref(), args.no_fail)?;
    if crate::interrupt::requested() {
        return Ok(Outcome::Interrupted);
    }
    if let Some(why) = outcome.interrupted_by {
        bail!("the A/B run stopped early ({why}); the rounds that completed were reported");
    }
    Ok(result)
}

struct PairedStderr;

impl perfhub_gate::PairedProgress for PairedStderr {
    fn building(&mut self, side: Side, command: &str) {
        eprintln!("perfhub ab: building {} ({command})", side.as_str());
    }
    fn benchmark(&mut self, index: usize, count: usize, name: &str) {
        eprint!("perfhub ab: {index}/{count} {name}: paired");
        let _ = std::io::stderr().flush();
    }
    fn measured(&mut self, _: &str, pairs: usize, iterations: u64, elapsed: Duration) {
        eprintln!(
            " {pairs} pairs of {iterations} iterations, {:.1} s",
            elapsed.as_secs_f64()
        );
    }
    fn should_stop(&mut self) -> bool {
        crate::interrupt::requested()
    }
}

/// `perfhub ab --paired`: perfhub-harness benches in lockstep.
fn ab_paired(args: &AbArgs, time: Duration) -> Result<Outcome> {
    let config = perfhub_gate::PairedConfig {
        dir: std::env::current_dir().context("cannot read the working directory")?,
        base: args.base.clone(),
        command: args.command.clone(),
        base_target_dir: args.base_target_dir.clone(),
        time,
        batch: perfhub_gate::DEFAULT_BATCH,
        criteria: args.criteria.criteria()?,
        seed: args.seed,
        created: perfhub_core::time::UtcTime::now(),
    };
    crate::interrupt::install();
    let outcome = perfhub_gate::run_paired(&config, &mut PairedStderr)?;
    let mut report = outcome.report;
    report.environment = Some(perfhub_probe::env::collect(Default::default()));
    if outcome.changes.changes.is_empty() {
        if let Some(path) = &args.export_json {
            write_report(path, &report)?;
        }
        bail!(
            "no benchmark could be compared: base and head have no perfhub-harness benchmark in common (see the notes with --export-json)"
        );
    }
    let result = finish(&report, args.export_json.as_deref(), args.no_fail)?;
    if crate::interrupt::requested() {
        return Ok(Outcome::Interrupted);
    }
    if let Some(why) = outcome.interrupted_by {
        bail!("the paired run stopped early ({why}); the benchmarks measured were reported");
    }
    Ok(result)
}
