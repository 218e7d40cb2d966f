//! The interleaved A/B run: base and head built side by side, their bench
//! command run alternately for N rounds in a random order per round, each
//! round imported, and the verdict taken from the paired per-round ratios.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use perfhub_core::compare::{ChangeCriteria, ChangeSet, PairedSeries, compare_paired};
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::stats::median;
use perfhub_core::units::Unit;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::GateError;
use crate::git::{Checkout, Worktree};
use crate::instructions::{InstructionCounter, count_instructions};

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
    /// The number of rounds; each runs base and head once.
    pub rounds: usize,
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
    /// The time the report is stamped with (RFC 3339).
    pub created: String,
}

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

struct SideSetup {
    side: Side,
    dir: PathBuf,
    env: Vec<(OsString, OsString)>,
}

/// Runs the A/B comparison.
///
/// The base is checked out into a temporary worktree (removed at the end)
/// and built into its own target directory; the head is the working
/// directory as it is. Each round runs both sides once, in an order drawn
/// from `seed`, and imports each run at once. A failure part-way still
/// yields the rounds completed so far (with `interrupted_by` set) when at
/// least two rounds completed; otherwise it is an error.
pub fn run_ab(config: &AbConfig, progress: &mut dyn AbProgress) -> Result<AbOutcome, GateError> {
    if config.rounds < 2 {
        return Err(GateError::Config(format!(
            "--rounds {}: at least 2 rounds are needed to compare pairs (10 or more recommended)",
            config.rounds
        )));
    }
    if config.command.is_empty() {
        return Err(GateError::Config(
            "no bench command: give it after `--`, such as `-- cargo bench`".into(),
        ));
    }
    // A format named up front is checked before anything is built or run.
    if let ResultFormat::File {
        path,
        format: Some(format),
    } = &config.format
    {
        gateable(*format, path)?;
    }
    let checkout = Checkout::of(&config.dir)?;
    let base_commit = checkout.resolve(&config.base)?;
    let worktree = Worktree::add(&checkout.toplevel, &base_commit)?;
    let base_dir = worktree.path().join(&checkout.subdir);
    if !base_dir.is_dir() {
        return Err(GateError::Config(format!(
            "{} does not exist at {}: the base revision predates this directory",
            checkout.subdir.display(),
            config.base
        )));
    }
    let scratch = tempfile::Builder::new()
        .prefix("perfhub-ab-runs-")
        .tempdir()
        .map_err(|e| GateError::Io {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let criterion_home = scratch.path().join("criterion");
    let base_target = match &config.base_target_dir {
        Some(d) => d.clone(),
        None => default_base_target(&config.dir),
    };
    let mut common_env: Vec<(OsString, OsString)> = Vec::new();
    if config.format == ResultFormat::Criterion {
        common_env.push(("CRITERION_HOME".into(), criterion_home.clone().into()));
    }
    let head_env = common_env.clone();
    let mut base_env = common_env;
    base_env.push(("CARGO_TARGET_DIR".into(), base_target.clone().into()));
    let sides = [
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

    if let Some(build) = build_command(config) {
        for s in &sides {
            progress.building(s.side, &shown(&build));
            build_side(&build, s, scratch.path())?;
        }
    }

    let counter = match config.format {
        ResultFormat::Instructions => Some(InstructionCounter::detect()),
        _ => None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut rounds: Vec<[RoundValues; 2]> = Vec::new();
    let mut orders = Vec::new();
    let mut criterion = CriterionVerdicts::default();
    let mut runs_so_far = 0usize;
    let mut interrupted_by = None;
    'rounds: for round in 0..config.rounds {
        let base_first = rng.random_bool(0.5);
        let order = if base_first { [0, 1] } else { [1, 0] };
        let mut values: [RoundValues; 2] = [RoundValues::new(), RoundValues::new()];
        for i in order {
            if progress.should_stop() {
                if rounds.len() >= 2 {
                    interrupted_by = Some("interrupted".to_string());
                    break 'rounds;
                }
                return Err(GateError::Interrupted {
                    rounds: rounds.len(),
                });
            }
            let s = &sides[i];
            progress.running(round + 1, config.rounds, s.side);
            let started = Instant::now();
            let result = run_side(config, s, scratch.path(), counter.as_ref(), &criterion_home);
            match result {
                Ok((v, output)) => {
                    progress.finished(round + 1, s.side, started.elapsed());
                    if config.format == ResultFormat::Criterion {
                        if runs_so_far > 0 {
                            criterion.comparisons += 1;
                        }
                        let n = output.matches("Performance has regressed").count();
                        criterion.lines += n;
                        if n > 0 {
                            criterion.runs_flagged += 1;
                        }
                    }
                    runs_so_far += 1;
                    values[i] = v;
                }
                Err(e) => {
                    if rounds.len() >= 2 {
                        interrupted_by = Some(format!("round {}: {e}", round + 1));
                        break 'rounds;
                    }
                    return Err(e);
                }
            }
        }
        orders.push(if base_first { "base,head" } else { "head,base" });
        rounds.push(values);
    }
    drop(worktree);

    let series = paired_series(&rounds);
    let changes = compare_paired(&series, &config.criteria);
    let report = build_report(
        config,
        &base_commit,
        &series,
        &changes,
        &orders,
        criterion,
        interrupted_by.as_deref(),
    );
    Ok(AbOutcome {
        changes,
        report,
        base_commit,
        criterion_regressed: criterion,
        interrupted_by,
    })
}

/// The base's target directory when none is given: `perfhub-ab-base`
/// inside the head's (`CARGO_TARGET_DIR`, else `target` in the directory).
fn default_base_target(dir: &Path) -> PathBuf {
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

fn shown(command: &[OsString]) -> String {
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
            return Err(GateError::Config(
                "instruction counts were asked for but no counter was set up".into(),
            ));
        }
        (ResultFormat::Criterion, _) => {
            // Only this run's results: criterion keeps the previous run as
            // its own baseline (`base/`), which is not touched.
            remove_new_dirs(criterion_home);
            let output = run_logged(&config.command, side, scratch, "run")?;
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
                    return Err(GateError::Config(format!(
                        "cannot remove the previous results {}: {e}",
                        path.display()
                    )));
                }
            }
            let output = run_logged(&config.command, side, scratch, "run")?;
            if !path.exists() {
                return Err(GateError::Import {
                    side: side.side.as_str(),
                    message: format!(
                        "{}: the bench command did not write its results there; check --results against where the command writes them",
                        path.display()
                    ),
                });
            }
            let format = match format {
                Some(f) => *f,
                None => perfhub_import::detect(&path).map_err(import_error)?,
            };
            gateable(format, &path)?;
            let report = perfhub_import::import(&path, format, None, &import_options(config))
                .map_err(import_error)?;
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
        return Err(GateError::Config(format!(
            "{}: {format} results cannot be gated through --results; use --format criterion for criterion benches",
            path.display()
        )));
    }
    Ok(())
}

fn import_options(config: &AbConfig) -> perfhub_import::ImportOptions {
    perfhub_import::ImportOptions::new(config.created.clone())
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
    let mut v = RoundValues::new();
    for b in &report.benchmarks {
        let Some(m) = b.primary() else { continue };
        let value = if !m.samples.is_empty() {
            median(&m.samples)
        } else {
            m.value.or(m.summary.as_ref().map(|s| s.median))
        };
        if let Some(value) = value {
            v.insert(b.name.clone(), (m.metric.clone(), m.unit, value));
        }
    }
    v
}

/// The per-benchmark series over complete rounds: rounds where a benchmark
/// is missing on either side are left out for that benchmark.
fn paired_series(rounds: &[[RoundValues; 2]]) -> Vec<PairedSeries> {
    let mut by_name: BTreeMap<&str, PairedSeries> = BTreeMap::new();
    for [base, head] in rounds {
        for (name, (metric_name, unit, h)) in head {
            let Some((_, _, b)) = base.get(name) else {
                continue;
            };
            let s = by_name.entry(name).or_insert_with(|| PairedSeries {
                benchmark: name.clone(),
                metric: metric_name.clone(),
                unit: *unit,
                base: Vec::new(),
                head: Vec::new(),
            });
            s.base.push(*b);
            s.head.push(*h);
        }
    }
    by_name.into_values().collect()
}

fn build_report(
    config: &AbConfig,
    base_commit: &str,
    series: &[PairedSeries],
    changes: &ChangeSet,
    orders: &[&str],
    criterion: CriterionVerdicts,
    interrupted_by: Option<&str>,
) -> Report {
    let mut head = Report::new(ReportKind::Bench, config.created.clone());
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
    let mut report = changes.to_report(&head, config.created.clone());
    report.notes.push(Note::info(
        "ab_rounds",
        format!(
            "{} interleaved rounds of `{}`, base {} against the working directory; orders: {}",
            orders.len(),
            shown(&config.command),
            &base_commit[..base_commit.len().min(12)],
            orders.join(" ")
        ),
    ));
    if config.format == ResultFormat::Criterion && criterion.comparisons > 0 {
        report.notes.push(Note::info(
            "criterion_own_verdicts",
            format!(
                "criterion's own change detection, comparing each run with the one before, \
                 printed \"Performance has regressed\" in {} of {} runs ({} lines)",
                criterion.runs_flagged, criterion.comparisons, criterion.lines
            ),
        ));
    }
    if let Some(why) = interrupted_by {
        report.notes.push(Note::warning(
            "ab_interrupted",
            format!(
                "stopped after {} of {} rounds: {why}",
                orders.len(),
                config.rounds
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
            dir: PathBuf::from("."),
            base: "HEAD".into(),
            rounds: 3,
            command: command.iter().map(OsString::from).collect(),
            build: None,
            format: ResultFormat::Criterion,
            base_target_dir: None,
            criteria: ChangeCriteria::default(),
            seed: 1,
            created: "2026-01-01T00:00:00Z".into(),
        }
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
    fn series_keep_only_complete_rounds() {
        let v = |pairs: &[(&str, f64)]| -> RoundValues {
            pairs
                .iter()
                .map(|(n, x)| (n.to_string(), ("wall_time".to_string(), Unit::Seconds, *x)))
                .collect()
        };
        let rounds = vec![
            [v(&[("a", 1.0), ("b", 2.0)]), v(&[("a", 1.1), ("b", 2.2)])],
            [v(&[("a", 1.0)]), v(&[("a", 1.2), ("b", 2.4)])],
        ];
        let s = paired_series(&rounds);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].base, vec![1.0, 1.0]);
        assert_eq!(s[0].head, vec![1.1, 1.2]);
        assert_eq!(s[1].base, vec![2.0]);
    }
}
