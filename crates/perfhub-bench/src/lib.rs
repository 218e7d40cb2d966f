//! Benchmarks of Rust closures: warm-up, an adaptive iteration count,
//! statistics into a perfhub [`Report`], budgets applied and stored, and a
//! harness for `cargo bench` ([`main!`]).
//!
//! ```
//! use perfhub_bench::{Bench, BenchConfig};
//! use std::time::Duration;
//!
//! let mut bench = Bench::new(BenchConfig {
//!     warm_up: Duration::from_millis(20),
//!     measurement: Duration::from_millis(100),
//!     budgets: vec!["mean < 1s".parse().unwrap()],
//!     ..BenchConfig::default()
//! });
//! bench.run("sum", || (0..1000u64).sum::<u64>());
//! let report = bench.finish().unwrap();
//! let summary = report.benchmarks[0].primary().unwrap().summary.as_ref().unwrap();
//! assert!(summary.mean > 0.0);
//! assert!(report.budgets_pass());
//! ```
//!
//! # How a benchmark is timed
//!
//! The closure first runs for [`BenchConfig::warm_up`] in batches of 1, 2,
//! 4, … iterations, which also estimates its time per iteration. Each of
//! the [`BenchConfig::samples`] samples then times one batch of iterations
//! sized so that the samples together take about
//! [`BenchConfig::measurement`], and never shorter than
//! [`MIN_SAMPLE_TIME`], so that the clock's resolution (tens of
//! nanoseconds) is under 0.1% of a sample. A sample's value is its batch's
//! time divided by its iterations: seconds per iteration, the benchmark's
//! `wall_time`. A closure slower than a sample's share runs one iteration
//! per sample, and fewer samples are taken (at least [`MIN_SAMPLES`]) so
//! that the measurement does not take much longer than asked.
//!
//! With [`BenchConfig::iterations`] the count is fixed instead: exactly that
//! many iterations are measured, spread evenly over the samples. A paired
//! comparison of two builds uses it to give both the same work.
//!
//! The closure's result goes through [`std::hint::black_box`], so that the
//! compiler cannot drop the work that makes it.
//!
//! # A harness for `cargo bench`
//!
//! In `benches/sorting.rs`, with `[[bench]] name = "sorting"` and
//! `harness = false` in `Cargo.toml`:
//!
//! ```no_run
//! fn sorting(bench: &mut perfhub_bench::Bench) {
//!     let data: Vec<u32> = (0..1000).rev().collect();
//!     bench.run("sort 1000", || {
//!         let mut v = data.clone();
//!         v.sort();
//!         v
//!     });
//! }
//!
//! perfhub_bench::main!(sorting);
//! ```
//!
//! `cargo bench` then prints each benchmark's summary; the arguments
//! [`Args`] reads select benchmarks, set the timing, apply budgets and
//! save the report (`cargo bench -- --help` lists them).
//!
//! `perfhub ab --paired` compares two builds of such a target (a pull
//! request's base and head) by running both at once in the harness's paired
//! mode and asking them in turn for batches of a few milliseconds
//! ([`paired`] describes the protocol).
#![deny(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use perfhub_core::budget::{Budget, BudgetError};
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;

mod args;
pub mod paired;

pub use args::{Args, ArgsError, run_main, run_with};

/// The shortest time one sample's batch may take.
pub const MIN_SAMPLE_TIME: Duration = Duration::from_micros(100);

/// The fewest samples a benchmark takes, however slow its closure.
pub const MIN_SAMPLES: usize = 10;

/// The metric holding how many iterations were measured.
pub const ITERATIONS: &str = "iterations";

/// How benchmarks are run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// How long each closure runs before it is measured. With zero, one
    /// iteration runs first, cold, to size the batches; where it took over
    /// twice the median, the benchmark's `no_warm_up` warning says the
    /// batches came out too small.
    pub warm_up: Duration,
    /// About how long the samples of one benchmark take together.
    pub measurement: Duration,
    /// How many samples each benchmark takes (at least 2).
    pub samples: usize,
    /// Measure exactly this many iterations of each benchmark, spread over
    /// the samples, instead of an adaptive count.
    pub iterations: Option<u64>,
    /// Budgets evaluated on the report by [`Bench::finish`].
    pub budgets: Vec<Budget>,
    /// Run only the benchmarks whose name contains this (or equals it,
    /// with `exact`).
    pub filter: Option<String>,
    /// Whether `filter` must match a name exactly.
    pub exact: bool,
    /// Record this machine's environment in the report (a few
    /// milliseconds; `git` and `rustc` are asked inside a Cargo project).
    pub environment: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            warm_up: Duration::from_millis(500),
            measurement: Duration::from_secs(2),
            samples: 50,
            iterations: None,
            budgets: Vec::new(),
            filter: None,
            exact: false,
            environment: true,
        }
    }
}

/// Why benchmarks could not be run or judged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The configuration cannot be run.
    #[error("{0}")]
    Config(String),
    /// Two benchmarks have the same name.
    #[error("two benchmarks are named {0:?}: give each its own name")]
    Duplicate(String),
    /// A budget cannot be evaluated on the results.
    #[error(transparent)]
    Budget(#[from] BudgetError),
}

/// A set of benchmarks being run: [`Bench::run`] each, then
/// [`Bench::finish`] for the report.
#[derive(Debug)]
pub struct Bench {
    config: BenchConfig,
    report: Report,
    error: Option<BenchError>,
    /// The harness's `--list`: names are noted, nothing is run.
    listing: bool,
    listed: Vec<String>,
    /// The harness's paired mode: benchmarks are offered to a controller
    /// instead of measured here.
    paired: Option<paired::Server>,
}

impl Bench {
    /// Starts a set of benchmarks run as `config` says.
    pub fn new(config: BenchConfig) -> Bench {
        let error = check(&config).err().map(BenchError::Config);
        Bench {
            config,
            report: Report::now(ReportKind::Bench),
            error,
            listing: false,
            listed: Vec::new(),
            paired: None,
        }
    }

    /// Whether a benchmark named `name` is selected by the filter.
    pub fn selected(&self, name: &str) -> bool {
        match &self.config.filter {
            None => true,
            Some(f) if self.config.exact => name == f,
            Some(f) => name.contains(f.as_str()),
        }
    }

    /// Benchmarks `f` under `name`; returns its results, or `None` when
    /// the filter leaves it out or the configuration is invalid (then
    /// [`Bench::finish`] says why).
    pub fn run<R>(&mut self, name: &str, mut f: impl FnMut() -> R) -> Option<&Benchmark> {
        if self.error.is_some() || !self.selected(name) {
            return None;
        }
        if self.listing {
            self.listed.push(name.to_string());
            return None;
        }
        if self.report.benchmark(name).is_some() {
            self.error = Some(BenchError::Duplicate(name.to_string()));
            return None;
        }
        if let Some(server) = &mut self.paired {
            server.serve(name, &mut f);
            return None;
        }
        let timing = measure(&self.config, &mut f);
        self.report.benchmarks.push(timing.into_benchmark(name));
        self.report.benchmarks.last()
    }

    /// The results so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Ends the set: records the environment, applies the budgets (their
    /// verdicts are stored in the report) and returns the report.
    pub fn finish(mut self) -> Result<Report, BenchError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.config.environment {
            self.report.environment = Some(perfhub_probe::env::collect(
                perfhub_probe::env::EnvConfig::default(),
            ));
        }
        self.report.apply_budgets(&self.config.budgets)?;
        Ok(self.report)
    }
}

fn check(config: &BenchConfig) -> Result<(), String> {
    if config.samples < 2 {
        return Err(format!(
            "{} sample{} cannot give a spread: take at least 2",
            config.samples,
            if config.samples == 1 { "" } else { "s" }
        ));
    }
    if config.measurement.is_zero() && config.iterations.is_none() {
        return Err(
            "the measurement time is 0: give a time above 0 or a number of iterations".into(),
        );
    }
    if config.iterations == Some(0) {
        return Err("0 iterations measure nothing: give at least 1".into());
    }
    Ok(())
}

/// What timing one closure gave.
struct Timing {
    /// Seconds per iteration, one per sample.
    per_iteration: Vec<f64>,
    /// Iterations in each sample.
    batches: Vec<u64>,
    /// The warm-up's estimate of one iteration, seconds.
    estimate: f64,
    /// Whether the batches were sized from that estimate with no warm-up
    /// (one cold iteration).
    cold: bool,
}

impl Timing {
    fn into_benchmark(self, name: &str) -> Benchmark {
        let mut b = Benchmark::new(name, metric::WALL_TIME);
        let total: u64 = self.batches.iter().sum();
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            self.per_iteration,
        ));
        b.measurements.push(Measurement::from_value(
            ITERATIONS,
            Unit::Count,
            total as f64,
        ));
        let (lo, hi) = (
            self.batches.iter().min().copied().unwrap_or(0),
            self.batches.iter().max().copied().unwrap_or(0),
        );
        let batch = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo} to {hi}")
        };
        if let Some(note) = b
            .primary()
            .and_then(|m| m.summary.as_ref())
            .and_then(|s| too_fast(s.median))
        {
            b.notes.push(note);
        }
        let median = b
            .primary()
            .and_then(|m| m.summary.as_ref())
            .map(|s| s.median);
        if let Some(note) = median.and_then(|m| cold_estimate(self.cold, self.estimate, m)) {
            b.notes.push(note);
        }
        b.notes.push(Note::info(
            "batches",
            format!(
                "{} samples of {batch} iterations each, {total} in all (warm-up estimate {} per iteration)",
                self.batches.len(),
                Unit::Seconds.format(self.estimate)
            ),
        ));
        b
    }
}

/// A warning for a benchmark whose median iteration takes under a
/// nanosecond, a few CPU cycles: its work was most likely computed at build
/// time or dropped.
fn too_fast(median: f64) -> Option<Note> {
    (median < 1e-9).then(|| {
        Note::warning(
            "optimized_away",
            format!(
                "{} per iteration is less than a nanosecond, a few CPU cycles: the compiler has probably computed the result at build time or dropped the work; pass the closure's inputs through std::hint::black_box",
                Unit::Seconds.format(median)
            ),
        )
    })
}

/// A warning when batches sized with no warm-up, from one cold iteration,
/// came out too small: that iteration took over twice the median.
fn cold_estimate(cold: bool, estimate: f64, median: f64) -> Option<Note> {
    (cold && median > 0.0 && estimate > 2.0 * median).then(|| {
        Note::warning(
            "no_warm_up",
            format!(
                "with no warm-up, the batches were sized from one cold iteration ({}), {:.0}x the median ({}): they hold fewer iterations than the samples' time asks for; give a warm-up (500 ms by default) to size them from warm runs",
                Unit::Seconds.format(estimate),
                estimate / median,
                Unit::Seconds.format(median)
            ),
        )
    })
}

/// Times `f` as `config` says.
fn measure<R>(config: &BenchConfig, f: &mut impl FnMut() -> R) -> Timing {
    let estimate = warm_up(config.warm_up, f);
    let batches = match config.iterations {
        Some(n) => {
            // Exactly n, spread evenly: the first (n % samples) batches
            // take one more.
            let samples = (config.samples as u64).min(n);
            (0..samples)
                .map(|i| n / samples + u64::from(i < n % samples))
                .collect()
        }
        None => {
            let per_sample = config.measurement.as_secs_f64() / config.samples as f64;
            let per_sample = per_sample.max(MIN_SAMPLE_TIME.as_secs_f64());
            let batch = (per_sample / estimate.max(1e-12)).floor().max(1.0) as u64;
            let samples = if batch == 1 {
                // Slow closures: about the time asked, never under MIN_SAMPLES.
                let fit = (config.measurement.as_secs_f64() / estimate.max(1e-12)) as usize;
                fit.clamp(MIN_SAMPLES.min(config.samples), config.samples)
            } else {
                config.samples
            };
            vec![batch; samples]
        }
    };
    let per_iteration = batches
        .iter()
        .map(|&batch| time_batch(f, batch).as_secs_f64() / batch as f64)
        .collect();
    Timing {
        per_iteration,
        batches,
        estimate,
        cold: config.warm_up.is_zero() && config.iterations.is_none(),
    }
}

/// Runs `f` for about `time` in growing batches; returns the estimated
/// seconds per iteration (from a single iteration when `time` is 0).
fn warm_up<R>(time: Duration, f: &mut impl FnMut() -> R) -> f64 {
    let start = Instant::now();
    let (mut batch, mut iterations, mut spent) = (1u64, 0u64, Duration::ZERO);
    loop {
        spent += time_batch(f, batch);
        iterations += batch;
        if start.elapsed() >= time {
            break;
        }
        batch = batch.saturating_mul(2);
    }
    spent.as_secs_f64() / iterations as f64
}

fn time_batch<R>(f: &mut impl FnMut() -> R, batch: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..batch {
        black_box(f());
    }
    start.elapsed()
}

/// A benchmark's summary as `perfhub run` prints one: mean ± σ, range,
/// median, the confidence interval of the mean and the number of samples.
pub fn summary_text(b: &Benchmark) -> String {
    let mut out = format!("{}\n", b.name);
    let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
        out.push_str("  no samples\n");
        return out;
    };
    let fmt = |v: f64| Unit::Seconds.format(v);
    let (mean, sd) = perfhub_core::units::mean_and_spread(s.mean, s.stddev);
    let _ = writeln!(out, "  Time (mean ± σ):   {mean} ± {sd}");
    let _ = writeln!(
        out,
        "  Range (min … max): {} … {}    median {}    {} samples",
        fmt(s.min),
        fmt(s.max),
        fmt(s.median),
        s.n
    );
    if let Some(ci) = s.mean_ci {
        let _ = writeln!(
            out,
            "  {:.0}% CI of mean:    {} … {}",
            ci.level * 100.0,
            fmt(ci.lower),
            fmt(ci.upper)
        );
    }
    let outliers = s.outliers.total();
    if outliers > 0 {
        let _ = writeln!(
            out,
            "  Outliers:          {outliers} of {} samples (Tukey's fences)",
            s.n
        );
    }
    out
}

#[cfg(test)]
mod tests;
