//! Paired benchmarks: base and head builds of a perfhub-harness bench target
//! run as two processes in lockstep, batch for batch.
//!
//! [`run_ab`](crate::run_ab) alternates whole runs of the bench command, a
//! few seconds each, so a change of the machine's speed within a run (a
//! neighbour's build starting, the clock throttling) lands on one side of
//! a round. Here the unit is a batch of a few milliseconds: both builds'
//! bench binaries run at once in the harness's paired mode
//! ([`perfhub_bench::paired`]), each waiting on its standard input, and the
//! controller asks them in turn for a batch of the same number of
//! iterations, in a random order within each pair. Each pair's ratio
//! (head over base) saw nearly the same machine, and hundreds of pairs fit
//! in a second or two: the per-pair log ratios are combined as the rounds of
//! the A/B gate are (Hodges-Lehmann and the Wilcoxon signed-rank test,
//! [`compare_paired`]), so the verdicts, the minimum detectable effect and
//! the report are those of `perfhub ab`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use perfhub_bench::paired::{self as protocol, Reply};
use perfhub_core::compare::{ChangeCriteria, ChangeSet, PairedSeries, compare_paired};
use perfhub_core::report::{Note, Report, metric};
use perfhub_core::units::Unit;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ab::{
    BaseCheckout, SideSetup, default_base_target, head_beside_base, series_report, shown,
};
use crate::slices::{BenchExe, bench_executables, build_command, keep_copies, split_cargo_bench};
use crate::{GateError, Side};

/// The default time given to each benchmark's pairs.
pub const DEFAULT_TIME: Duration = Duration::from_secs(3);

/// The default time of one batch: long against the clock's resolution and
/// the cost of a message through a pipe (tens of microseconds, outside the
/// timed part but in the wall time of the run), short against the
/// scheduler's time slice, so that few batches are cut by a preemption.
pub const DEFAULT_BATCH: Duration = Duration::from_millis(1);

/// The fewest pairs a benchmark gets, however slow: enough for the
/// signed-rank test to reach 5% even after one disturbed pair.
pub const MIN_PAIRS: usize = 12;

/// The most pairs a benchmark gets: the Hodges-Lehmann estimate works on
/// all `n²/2` pairwise means, and more pairs than this add little.
pub const MAX_PAIRS: usize = 4000;

/// A paired run's settings.
#[derive(Debug, Clone)]
pub struct PairedConfig {
    /// The head's working directory (inside a git checkout).
    pub dir: PathBuf,
    /// The base revision, as git understands it.
    pub base: String,
    /// The bench command: `cargo bench [CARGO ARGS] [-- HARNESS ARGS]`.
    /// It is built with `--no-run`, and each bench target using perfhub's
    /// harness is run paired; harness arguments (a filter, `--exact`)
    /// select benchmarks.
    pub command: Vec<OsString>,
    /// Where the base's cargo artifacts go; `None`: a directory beside the
    /// head's target directory, kept for the next run.
    pub base_target_dir: Option<PathBuf>,
    /// How long each benchmark's pairs take (after calibration and
    /// warm-up).
    pub time: Duration,
    /// About how long each batch takes.
    pub batch: Duration,
    /// How changes are judged.
    pub criteria: ChangeCriteria,
    /// The seed of the order within each pair.
    pub seed: u64,
    /// The time the report is stamped with.
    pub created: perfhub_core::time::UtcTime,
}

/// What a paired run reports as it goes.
pub trait PairedProgress {
    /// A side is being built.
    fn building(&mut self, side: Side, command: &str);
    /// Benchmark `index` (from 1) of `count` starts.
    fn benchmark(&mut self, index: usize, count: usize, name: &str);
    /// It is done: `pairs` pairs of `iterations` iterations each, in
    /// `elapsed` (calibration and warm-up included).
    fn measured(&mut self, name: &str, pairs: usize, iterations: u64, elapsed: Duration);
    /// Whether to stop (the user interrupted): the benchmarks measured so
    /// far are compared.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// The outcome of a paired run: what [`crate::AbOutcome`] holds for the
/// A/B gate, and a report of the same shape.
#[derive(Debug, Clone)]
pub struct PairedOutcome {
    /// The verdicts.
    pub changes: ChangeSet,
    /// The report: kind `compare`, one benchmark per compared benchmark
    /// with the head's per-pair values (seconds per iteration, metric
    /// `wall_time`) and the base's (`base.wall_time`), a comparison with
    /// the verdict each, and notes.
    pub report: Report,
    /// The base's full commit hash.
    pub base_commit: String,
    /// The error or interruption that ended the run before every benchmark
    /// was measured; the report holds those that were.
    pub interrupted_by: Option<String>,
}

/// A bench target built on one side that speaks the paired protocol.
#[derive(Debug, Clone)]
struct Target {
    name: String,
    exe: PathBuf,
    /// Where cargo would run it: its package's directory.
    dir: PathBuf,
    benchmarks: Vec<String>,
}

/// Runs the paired comparison: builds both sides' bench targets, then runs
/// each benchmark both have in lockstep (see the module's documentation).
pub fn run_paired(
    config: &PairedConfig,
    progress: &mut dyn PairedProgress,
) -> Result<PairedOutcome, GateError> {
    let (cargo_args, harness_args) = split_command(&config.command)?;
    for (setting, time, such_as) in [("time", config.time, "3s"), ("batch", config.batch, "1ms")] {
        if time.is_zero() {
            return Err(GateError::naming(&[setting], |n| {
                format!("{} must be above 0, such as {such_as}", n[0])
            }));
        }
    }
    let BaseCheckout {
        base_commit,
        worktree,
        base_dir,
        scratch,
        checkout,
    } = BaseCheckout::new(&config.dir, &config.base, "perfhub-paired-")?;
    let base_target = match &config.base_target_dir {
        Some(d) => d.clone(),
        None => default_base_target(&config.dir),
    };
    let base_env = vec![("CARGO_TARGET_DIR".into(), base_target.into())];
    let build = build_command(&cargo_args);
    let base = SideSetup {
        side: Side::Base,
        dir: base_dir.clone(),
        env: base_env.clone(),
    };
    progress.building(Side::Base, &shown(&build));
    let built = build_side(&build, &base, scratch.path())?;
    let built = keep_copies(built, &scratch.path().join("base-bin"))?;
    let base_targets = probe_targets(&built, &harness_args, &base, scratch.path())?;
    let (head, layout) = head_beside_base(&worktree, &checkout, &base, &config.dir);
    progress.building(Side::Head, &shown(&build));
    let built = build_side(&build, &head, scratch.path())?;
    let targets = [
        base_targets,
        probe_targets(&built, &harness_args, &head, scratch.path())?,
    ];
    if targets[1].is_empty() {
        return Err(GateError::naming(&["run_paired", "format"], |n| {
            format!(
                "no bench target built by `{}` uses perfhub's harness: {} runs targets whose `main` is `perfhub_bench::main!` (with `harness = false`); use {} for criterion or libtest benches",
                shown(&config.command),
                n[0],
                n[1]
            )
        }));
    }
    // cargo names a package's binaries by its path relative to the
    // workspace, the same in the worktree and here: one target directory
    // for both would leave one side's build in place of the other's.
    if let Some(t) = targets[1]
        .iter()
        .find(|h| targets[0].iter().any(|b| b.exe == h.exe))
    {
        return Err(GateError::naming(&["base_target_dir"], |n| {
            format!(
                "base and head built the bench target {} into the same file, {}: give the base a target directory of its own with {} (by default one inside the head's)",
                t.name,
                t.exe.display(),
                n[0]
            )
        }));
    }
    let plan = plan(&targets[0], &targets[1]);

    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut series = Vec::new();
    let mut notes = Vec::new();
    let mut interrupted_by = None;
    for (k, item) in plan.pairs.iter().enumerate() {
        if progress.should_stop() {
            interrupted_by = Some("interrupted".to_string());
            break;
        }
        progress.benchmark(k + 1, plan.pairs.len(), &item.shown);
        let started = Instant::now();
        match measure(config, item, &mut rng, scratch.path(), progress) {
            Ok(m) => {
                progress.measured(&item.shown, m.base.len(), m.iterations, started.elapsed());
                notes.push(format!(
                    "{}: {} pairs of {} iterations",
                    item.shown,
                    m.base.len(),
                    m.iterations
                ));
                series.push(PairedSeries {
                    benchmark: item.shown.clone(),
                    metric: metric::WALL_TIME.to_string(),
                    unit: Unit::Seconds,
                    base: m.base,
                    head: m.head,
                });
            }
            Err(e) if progress.should_stop() => {
                interrupted_by = Some(format!("interrupted ({e})"));
                break;
            }
            Err(e) if !series.is_empty() => {
                interrupted_by = Some(format!("{}: {e}", item.shown));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    drop(worktree);

    let mut changes = compare_paired(&series, &config.criteria);
    changes.only_in_base = plan.only_in_base;
    changes.only_in_head = plan.only_in_head;
    let mut report = changes.to_report(&series_report(&series, config.created), config.created);
    report.notes.push(Note::info(
        "ab_paired",
        format!(
            "base {} and the working directory run paired: both builds' bench binaries in lockstep, \
             batches of about {} alternating in a random order within each pair, {} per benchmark; {layout}; {}",
            &base_commit[..base_commit.len().min(12)],
            Unit::Seconds.format(config.batch.as_secs_f64()),
            Unit::Seconds.format(config.time.as_secs_f64()),
            notes.join("; ")
        ),
    ));
    if let Some(why) = &interrupted_by {
        report.notes.push(Note::warning(
            "ab_interrupted",
            format!(
                "stopped after {} of {} benchmarks: {why}",
                series.len(),
                plan.pairs.len()
            ),
        ));
    }
    Ok(PairedOutcome {
        changes,
        report,
        base_commit,
        interrupted_by,
    })
}

/// `cargo bench [CARGO ARGS] [-- HARNESS ARGS]` split into the cargo
/// command and the harness's arguments, which must leave the running to
/// perfhub.
fn split_command(command: &[OsString]) -> Result<(Vec<OsString>, Vec<OsString>), GateError> {
    let Some((cargo, harness)) = split_cargo_bench(command) else {
        return Err(GateError::naming(&["run_paired"], |n| {
            format!(
                "{} builds the bench targets with cargo: give `-- cargo bench [--bench NAME] [-- FILTER]`, not `{}`",
                n[0],
                shown(command)
            )
        }));
    };
    if let Some(bad) = harness.iter().find(|a| {
        matches!(
            a.to_str(),
            Some("--list" | "--save" | "--quiet" | "-q" | "--help" | "-h")
        )
    }) {
        return Err(GateError::naming(&["run_paired"], |n| {
            format!(
                "harness argument {}: {} runs the benchmarks itself; give the bench harness only a filter (and --exact)",
                bad.to_string_lossy(),
                n[0]
            )
        }));
    }
    Ok((cargo, harness))
}

/// Builds a side; returns its bench executables.
fn build_side(
    build: &[OsString],
    s: &SideSetup,
    scratch: &Path,
) -> Result<Vec<BenchExe>, GateError> {
    let err_path = scratch.join(format!("{}-build.err", s.side.as_str()));
    let err = File::create(&err_path).map_err(|e| GateError::Io {
        path: err_path.clone(),
        source: e,
    })?;
    let out = Command::new(&build[0])
        .args(&build[1..])
        .current_dir(&s.dir)
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(err)
        .output()
        .map_err(|e| GateError::Spawn {
            command: shown(build),
            side: s.side.as_str(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(GateError::CommandFailed {
            command: shown(build),
            side: s.side.as_str(),
            status: out.status.to_string(),
            tail: tail(&err_path, 15),
        });
    }
    Ok(bench_executables(&String::from_utf8_lossy(&out.stdout)))
}

/// The last `n` lines of a log file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Asks each executable for its benchmarks in paired mode; keeps those that
/// answer (targets with another harness refuse the argument).
fn probe_targets(
    built: &[BenchExe],
    harness_args: &[OsString],
    s: &SideSetup,
    scratch: &Path,
) -> Result<Vec<Target>, GateError> {
    let mut out = Vec::new();
    for b in built {
        let err_path = scratch.join(format!("{}-{}-list.err", s.side.as_str(), b.target));
        let err = File::create(&err_path).map_err(|e| GateError::Io {
            path: err_path.clone(),
            source: e,
        })?;
        let o = Command::new(&b.path)
            .arg(protocol::FLAG)
            .arg("--list")
            .args(harness_args)
            .current_dir(&b.cwd)
            .stdin(Stdio::null())
            .stderr(err)
            .output()
            .map_err(|e| GateError::Spawn {
                command: b.path.display().to_string(),
                side: s.side.as_str(),
                message: e.to_string(),
            })?;
        let text = String::from_utf8_lossy(&o.stdout);
        let replies: Vec<Reply> = text
            .lines()
            .filter_map(Reply::parse)
            .filter_map(Result::ok)
            .collect();
        if !matches!(replies.first(), Some(Reply::Hello(_))) {
            continue;
        }
        if !o.status.success() {
            return Err(GateError::CommandFailed {
                command: format!("{} {} --list", b.path.display(), protocol::FLAG),
                side: s.side.as_str(),
                status: o.status.to_string(),
                tail: tail(&err_path, 15),
            });
        }
        let benchmarks = replies
            .into_iter()
            .filter_map(|r| match r {
                Reply::Bench(name) => Some(name),
                _ => None,
            })
            .collect();
        out.push(Target {
            name: b.target.clone(),
            exe: b.path.clone(),
            dir: b.cwd.clone(),
            benchmarks,
        });
    }
    Ok(out)
}

/// A benchmark both sides have.
#[derive(Debug, Clone)]
struct Item {
    /// Its name in the report: `target/name` when several targets are run.
    shown: String,
    name: String,
    base: Target,
    head: Target,
}

/// What to run, and what only one side has.
#[derive(Debug, Default)]
struct Plan {
    pairs: Vec<Item>,
    only_in_base: Vec<String>,
    only_in_head: Vec<String>,
}

fn plan(base: &[Target], head: &[Target]) -> Plan {
    let several = head.len() > 1 || base.len() > 1;
    let shown = |t: &Target, n: &str| {
        if several {
            format!("{}/{n}", t.name)
        } else {
            n.to_string()
        }
    };
    let mut p = Plan::default();
    for h in head {
        let b = base.iter().find(|b| b.name == h.name);
        for name in &h.benchmarks {
            match b {
                Some(b) if b.benchmarks.contains(name) => p.pairs.push(Item {
                    shown: shown(h, name),
                    name: name.clone(),
                    base: b.clone(),
                    head: h.clone(),
                }),
                _ => p.only_in_head.push(shown(h, name)),
            }
        }
    }
    for b in base {
        let h = head.iter().find(|h| h.name == b.name);
        for name in &b.benchmarks {
            if !h.is_some_and(|h| h.benchmarks.contains(name)) {
                p.only_in_base.push(shown(b, name));
            }
        }
    }
    p
}

/// A bench binary in paired mode, offering one benchmark.
struct Harness {
    side: Side,
    exe: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    err_path: PathBuf,
    line: String,
}

impl Harness {
    /// Starts `target`'s harness for `name`, on CPU `cpu` where given and
    /// allowed (otherwise where the scheduler puts it).
    fn start(
        target: &Target,
        name: &str,
        side: Side,
        scratch: &Path,
        cpu: Option<usize>,
    ) -> Result<Harness, GateError> {
        let err_path = scratch.join(format!("{}-{}-run.err", side.as_str(), target.name));
        let err = File::create(&err_path).map_err(|e| GateError::Io {
            path: err_path.clone(),
            source: e,
        })?;
        let mut child = Command::new(&target.exe)
            .arg(protocol::FLAG)
            .arg("--exact")
            .arg(name)
            .current_dir(&target.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| GateError::Spawn {
                command: target.exe.display().to_string(),
                side: side.as_str(),
                message: e.to_string(),
            })?;
        if let Some(cpu) = cpu {
            // Pinned before it is first asked for a batch; a refusal (a
            // cpuset without that CPU) leaves it to the scheduler.
            let _ = perfhub_probe::affinity::pin(child.id(), cpu);
        }
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut h = Harness {
            side,
            exe: target.exe.clone(),
            child,
            stdin,
            stdout,
            err_path,
            line: String::new(),
        };
        match h.read()? {
            Reply::Hello(v) if v == protocol::VERSION => {}
            Reply::Hello(v) => {
                return Err(h.failed(format!(
                    "speaks version {v} of the paired protocol, perfhub speaks {}: build both sides with the same perfhub version",
                    protocol::VERSION
                )));
            }
            other => return Err(h.failed(format!("unexpected {other:?} at the start"))),
        }
        match h.read()? {
            Reply::Bench(n) if n == name => Ok(h),
            other => Err(h.failed(format!("offered {other:?} instead of {name:?}"))),
        }
    }

    /// The next protocol message, skipping the benchmark's own output.
    fn read(&mut self) -> Result<Reply, GateError> {
        loop {
            self.line.clear();
            match self.stdout.read_line(&mut self.line) {
                Ok(0) | Err(_) => return Err(self.failed("ended".to_string())),
                Ok(_) => {}
            }
            match Reply::parse(&self.line) {
                None => continue,
                Some(Ok(r)) => return Ok(r),
                Some(Err(e)) => return Err(self.failed(e)),
            }
        }
    }

    /// Times a batch of `n` iterations.
    fn run(&mut self, n: u64) -> Result<Duration, GateError> {
        let line = protocol::Command::Run(n).to_line();
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(line.as_bytes()).and_then(|()| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.failed("stopped reading its commands".to_string()));
        }
        match self.read()? {
            Reply::Time(ns) => Ok(Duration::from_nanos(ns)),
            other => Err(self.failed(format!("answered {other:?} to `run {n}`"))),
        }
    }

    /// An error naming the side, with the end of the binary's standard
    /// error (a panic's message).
    fn failed(&mut self, what: String) -> GateError {
        self.stdin = None;
        let status = match self.child.try_wait() {
            Ok(Some(s)) => s.to_string(),
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                "stopped by perfhub".to_string()
            }
        };
        GateError::CommandFailed {
            command: format!("{} {}", self.exe.display(), protocol::FLAG),
            side: self.side.as_str(),
            status: format!("{what}; {status}"),
            tail: tail(&self.err_path, 15),
        }
    }

    /// Ends the session: end of input, then the harness exits.
    fn finish(mut self) {
        self.stdin = None;
        let _ = self.child.wait();
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stdin = None;
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One benchmark's pairs: seconds per iteration on each side.
struct Measured {
    iterations: u64,
    base: Vec<f64>,
    head: Vec<f64>,
}

/// Calibrates, warms up and takes the pairs of one benchmark.
fn measure(
    config: &PairedConfig,
    item: &Item,
    rng: &mut ChaCha8Rng,
    scratch: &Path,
    progress: &mut dyn PairedProgress,
) -> Result<Measured, GateError> {
    // Both sides on one CPU: they never run at once, and so each sees the
    // same neighbours. Left to the scheduler, the two processes can settle
    // on different CPUs, one of them shared with another job, and a side
    // that is slower only for where it runs reads as a change.
    let cpu = perfhub_probe::affinity::current_cpu();
    let mut sides = [
        Harness::start(&item.base, &item.name, Side::Base, scratch, cpu)?,
        Harness::start(&item.head, &item.name, Side::Head, scratch, cpu)?,
    ];
    let iterations = calibrate(config.batch, |n| Ok([sides[0].run(n)?, sides[1].run(n)?]))?;
    let mut pair = |rng: &mut ChaCha8Rng| -> Result<[Duration; 2], GateError> {
        let mut t = [Duration::ZERO; 2];
        let order = if rng.random_bool(0.5) { [0, 1] } else { [1, 0] };
        for i in order {
            t[i] = sides[i].run(iterations)?;
        }
        Ok(t)
    };
    // Warm-up: the first batches after calibration still find cold caches
    // and a clock that has not yet settled.
    let warm = (config.time / 10).min(Duration::from_millis(300));
    let started = Instant::now();
    while started.elapsed() < warm {
        pair(rng)?;
    }
    let (mut base, mut head) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while (started.elapsed() < config.time || base.len() < MIN_PAIRS) && base.len() < MAX_PAIRS {
        if progress.should_stop() && base.len() >= MIN_PAIRS {
            break;
        }
        let [b, h] = pair(rng)?;
        let per = |d: Duration| d.as_secs_f64() / iterations as f64;
        base.push(per(b));
        head.push(per(h));
    }
    let [b, h] = sides;
    b.finish();
    h.finish();
    Ok(Measured {
        iterations,
        base,
        head,
    })
}

/// The iteration count of a batch: doubled (at least) from 1 until a batch
/// takes `batch` on both sides. `time` times both sides at `n`; the faster
/// of the two is taken, so that one batch slowed by a preemption cannot end
/// the calibration with batches far too short.
fn calibrate(
    batch: Duration,
    mut time: impl FnMut(u64) -> Result<[Duration; 2], GateError>,
) -> Result<u64, GateError> {
    let mut n = 1u64;
    loop {
        let [b, h] = time(n)?;
        let faster = b.min(h);
        if faster >= batch || n >= u64::MAX / 2 {
            return Ok(n);
        }
        // Grow towards the target, at least doubling and at most by 100x a
        // step, so that a first cold batch cannot overshoot by much.
        let per = faster.as_secs_f64().max(1e-9) / n as f64;
        // Less a hair, so that rounding (1ms / 4µs = 250.00000001) does
        // not add an iteration.
        let want = (batch.as_secs_f64() / per * (1.0 - 1e-9)).ceil();
        let next = want.clamp(n as f64 * 2.0, n as f64 * 100.0);
        n = if next >= u64::MAX as f64 / 2.0 {
            u64::MAX / 2
        } else {
            next as u64
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_splits_into_cargo_and_harness_arguments() {
        let (cargo, harness) = split_command(&os(&[
            "cargo", "bench", "--bench", "k", "--", "sort", "--exact",
        ]))
        .unwrap();
        assert_eq!(cargo, os(&["cargo", "bench", "--bench", "k"]));
        assert_eq!(harness, os(&["sort", "--exact"]));
        assert_eq!(
            build_command(&cargo),
            os(&[
                "cargo",
                "bench",
                "--bench",
                "k",
                "--no-run",
                "--message-format=json-render-diagnostics"
            ])
        );
        let (cargo, harness) = split_command(&os(&["cargo", "bench"])).unwrap();
        assert!(cargo == os(&["cargo", "bench"]) && harness.is_empty());
        let e = split_command(&os(&["./bench.sh"])).unwrap_err().to_string();
        assert!(e.contains("cargo bench") && e.contains("./bench.sh"), "{e}");
        let e = split_command(&os(&["cargo", "bench", "--", "--save", "x"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--save"), "{e}");
    }

    #[test]
    fn the_plan_pairs_common_benchmarks_and_names_the_rest() {
        let t = |name: &str, b: &[&str]| Target {
            name: name.into(),
            exe: PathBuf::new(),
            dir: PathBuf::new(),
            benchmarks: b.iter().map(|s| s.to_string()).collect(),
        };
        let p = plan(&[t("a", &["x", "gone"])], &[t("a", &["x", "new"])]);
        let names: Vec<&str> = p.pairs.iter().map(|i| i.shown.as_str()).collect();
        assert_eq!(names, ["x"]);
        assert_eq!(p.only_in_base, ["gone"]);
        assert_eq!(p.only_in_head, ["new"]);
        // Several targets: names are qualified.
        let p = plan(
            &[t("a", &["x"]), t("b", &["y"])],
            &[t("a", &["x"]), t("b", &["y"])],
        );
        let names: Vec<&str> = p.pairs.iter().map(|i| i.shown.as_str()).collect();
        assert_eq!(names, ["a/x", "b/y"]);
    }

    #[test]
    fn calibration_grows_the_batch_until_both_sides_take_the_target() {
        // 2.5µs an iteration on the base, 4µs on the head: 1ms needs 400.
        let mut asked = Vec::new();
        let n = calibrate(Duration::from_millis(1), |n| {
            asked.push(n);
            Ok([Duration::from_nanos(2500 * n), Duration::from_micros(4 * n)])
        })
        .unwrap();
        assert_eq!(n, 400);
        assert_eq!(asked, [1, 100, 400]);
        // A preemption that slows one side's batch does not end it early.
        let mut asked = Vec::new();
        let n = calibrate(Duration::from_millis(1), |n| {
            asked.push(n);
            let spike = if n == 100 { 5 } else { 0 };
            Ok([
                Duration::from_micros(4 * n + spike * 1000),
                Duration::from_micros(4 * n),
            ])
        })
        .unwrap();
        assert_eq!(n, 250);
        assert_eq!(asked, [1, 100, 250]);
        // A closure slower than the target: one iteration.
        assert_eq!(
            calibrate(Duration::from_millis(1), |_| Ok(
                [Duration::from_millis(5); 2]
            ))
            .unwrap(),
            1
        );
        // A clock that reads 0: the count still grows, and stops.
        let n = calibrate(Duration::from_millis(1), |_| Ok([Duration::ZERO; 2])).unwrap();
        assert!(n >= u64::MAX / 4);
    }
}
