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

impl RunOutcome {
    /// Whether every budget was judged and held: `false` when one could not
    /// be judged ([`RunOutcome::budget_error`]), where the report's own
    /// [`Report::budgets_pass`] sees no verdict that failed.
    pub fn budgets_pass(&self) -> bool {
        self.budget_error.is_none() && self.report.budgets_pass()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_that_could_not_be_judged_does_not_pass() {
        let report = Report::new(
            perfhub_core::ReportKind::Run,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        let budgets: Vec<perfhub_core::budget::Budget> =
            vec!["p95(no_such_metric) < 1s".parse().unwrap()];
        let error = perfhub_core::budget::evaluate(&budgets, &report).unwrap_err();
        let mut outcome = RunOutcome {
            report,
            failure: None,
            budget_error: None,
            interrupted: false,
        };
        assert!(outcome.budgets_pass());
        outcome.budget_error = Some(error);
        assert!(outcome.report.budgets_pass() && !outcome.budgets_pass());
    }
}
