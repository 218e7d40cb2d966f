//! perfhub-check: a project's performance plan, `perfhub.toml`, read,
//! checked and run; what `perfhub check` does.
//!
//! - [`load_plan`] and [`parse_plan`] read the plan into a typed [`Plan`]:
//!   its [`Step`]s (`[[run]]` command benchmarks, `[[load]]` load tests,
//!   `[[profile]]` profiles, `[[criterion]]` imports and A/B gates), the
//!   budgets on its key figures and its [`Export`]s. A mistake is a
//!   [`PlanError`] naming the file, the line, the key and what to do.
//! - [`run_plan`] runs it: the [`preflight`] (targets that do not answer
//!   are found before anything runs), each step through a [`StepRunner`],
//!   then one report of kind `check` with every step's benchmarks, the key
//!   figures (`kpi`), the Performance Score, the plan's budgets and the
//!   history's baseline, written as `report.json` and `report.html`. The
//!   [`CheckOutcome`] says how each step and the check ended.
//! - Two runners: [`ChildRunner`] runs each step as a `perfhub` subcommand
//!   of its own (what the CLI uses: a step that crashes cannot take the
//!   check down), [`InProcessRunner`] calls the library crates directly.
//!
//! ```no_run
//! use perfhub_check::{CheckOptions, InProcessRunner, NoProgress, load_plan, run_plan};
//!
//! let plan = load_plan(std::path::Path::new("perfhub.toml"))?;
//! let outcome = run_plan(&plan, &mut InProcessRunner::new(), &mut NoProgress, &CheckOptions::default())?;
//! assert!(outcome.report.budgets_pass());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod check;
mod child;
mod inprocess;
mod plan;
mod runner;

pub use check::{
    CheckError, CheckOptions, CheckOutcome, CheckProgress, CheckStatus, NoProgress, StepOutcome,
    preflight, run_plan,
};
pub use child::ChildRunner;
pub use inprocess::InProcessRunner;
pub use plan::{
    CallGraph, CriterionStep, DEFAULT_BUDGETS, EXPORT_DESTINATIONS, Export, GateStep, LoadStep,
    LoadTarget, Plan, PlanError, PlanErrorKind, ProfileStep, RunStep, ServeTarget, Spot, Step,
    StepKind, UnknownStep, load_plan, parse_min_effect, parse_plan,
};
pub use runner::{RunnerError, StepContext, StepRun, StepRunner, StepStatus};
