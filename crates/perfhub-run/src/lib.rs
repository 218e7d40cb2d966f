//! Benchmarking of commands: what `perfhub run` does, as a library.
//!
//! A [`RunConfig`] says what to run; [`run`] plans the benchmarks (every
//! command for every parameter combination), runs them through an
//! [`Executor`] while reporting to a [`Progress`], and turns the runs into a
//! perfhub `Report` with [`analysis::build_report`].
//! [`export`] writes hyperfine's JSON, its Markdown, AsciiDoc and org-mode
//! tables, and CSV.
//!
//! ```no_run
//! use perfhub_run::{CommandTemplate, RunConfig, RunCount};
//!
//! let config = RunConfig {
//!     commands: vec![CommandTemplate::Line("sleep 0.01".into())],
//!     runs: RunCount::Exact(5),
//!     ..RunConfig::default()
//! };
//! let outcome = perfhub_run::run(&config, &mut perfhub_run::NoProgress).unwrap();
//! println!("{}", outcome.report.to_json());
//! ```
#![deny(missing_docs)]

pub mod analysis;
pub mod config;
pub mod engine;
pub mod export;
pub mod params;

pub use config::{CommandTemplate, CounterMode, Reference, RunConfig, RunCount};
pub use engine::{CommandFailure, Executor, NoProgress, ProcessExecutor, Progress, RunError};
pub use params::ParamScan;

use perfhub_core::Report;
use perfhub_core::budget::BudgetError;

/// The result of [`run`]: the report, and what went wrong if anything did.
#[derive(Debug)]
pub struct RunOutcome {
    /// Everything measured, including budget verdicts.
    pub report: Report,
    /// The command failure that stopped the run early, if any.
    pub failure: Option<CommandFailure>,
    /// A budget that could not be evaluated, if any.
    pub budget_error: Option<BudgetError>,
    /// Whether the run was stopped early through [`Progress::should_stop`].
    pub interrupted: bool,
}

/// Runs the benchmarks of `config` on real processes and analyzes them,
/// recording the environment of this machine.
pub fn run(config: &RunConfig, progress: &mut dyn Progress) -> Result<RunOutcome, RunError> {
    let created = perfhub_core::time::UtcTime::now();
    // Collected beside the runs, on a thread started before any counter
    // is opened.
    let env = perfhub_probe::env::collect_in_background(perfhub_probe::env::EnvConfig::default());
    let mut executor = ProcessExecutor::new(config.counters != CounterMode::Never);
    let raw = engine::execute(config, &mut executor, progress)?;
    let env = env.wait();
    let (report, budget_error) = analysis::build_report(config, &raw, created, Some(env));
    Ok(RunOutcome {
        report,
        failure: raw.failure,
        budget_error,
        interrupted: raw.interrupted,
    })
}
