//! `perfhub check` runs a project's plan (`perfhub.toml`), and `perfhub init`
//! writes a starter plan.
//!
//! The plan is read and run by perfhub-check; each step runs as a `perfhub`
//! subcommand of its own (the same binary, through its `ChildRunner`), so a
//! step behaves exactly as the command would on the command line and prints
//! what it prints. Here the flags become the library's options, the exports
//! run on the combined report, and the outcome is rendered.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use perfhub_check::{
    CheckOptions, CheckProgress, CheckStatus, ChildRunner, PlanErrorKind, Step, load_plan, run_plan,
};

use crate::Outcome;
use crate::report_io::write_file;

/// Run the plan in perfhub.toml: every benchmark, load test and profile, budgets, score, report.html.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plan.
    #[arg(short, long, value_name = "FILE", default_value = "perfhub.toml")]
    config: PathBuf,

    /// Run only these steps (repeatable).
    #[arg(long, value_name = "STEP")]
    only: Vec<String>,

    /// Do not record into the history or compare with it.
    #[arg(long)]
    no_history: bool,
}

/// Write a commented starter perfhub.toml.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(short, long, value_name = "FILE", default_value = "perfhub.toml")]
    config: PathBuf,

    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

/// The starter plan `perfhub init` writes.
pub const STARTER: &str = include_str!("starter.toml");

/// Runs `perfhub init`.
pub fn init(args: InitArgs) -> Result<Outcome> {
    if args.config.exists() && !args.force {
        bail!(
            "{} exists already; pass --force to replace it",
            args.config.display()
        );
    }
    write_file(&args.config, STARTER.as_bytes())?;
    eprintln!(
        "wrote {}; run it with `perfhub check`",
        args.config.display()
    );
    Ok(Outcome::Success)
}

/// The terminal's view of a check: a header per step, Ctrl-C caught once
/// the steps start.
struct Terminal;

impl CheckProgress for Terminal {
    fn steps_begin(&mut self) {
        // Ctrl-C reaches the running step too, which reports what it
        // measured; the steps after it are skipped, and the report is
        // still written.
        crate::interrupt::install();
    }

    fn step_start(&mut self, step: &Step) {
        eprintln!("\n== perfhub check: {} (line {}) ==", step.name, step.line);
    }

    fn step_skipped(&mut self, step: &Step) {
        eprintln!("perfhub check: interrupted; {} is skipped", step.name);
    }

    fn building(&mut self, step: &Step, command: &str) {
        eprintln!("perfhub check: {}: building: {command}", step.name);
    }

    fn should_stop(&self) -> bool {
        crate::interrupt::requested()
    }
}

/// Runs `perfhub check`.
pub fn check(args: CheckArgs) -> Result<Outcome> {
    let mut plan = load_plan(&args.config).map_err(|e| match e.kind {
        PlanErrorKind::Missing => anyhow!("{e}, or name another with --config"),
        _ => anyhow!("{e}"),
    })?;
    if !args.only.is_empty() {
        plan.retain_steps(&args.only).map_err(|e| {
            anyhow!(
                "--only {:?}: no such step in {} (steps: {})",
                e.name,
                e.file,
                e.steps.join(", ")
            )
        })?;
    }
    let exe = std::env::current_exe().context("cannot find the perfhub binary itself")?;
    let mut runner = ChildRunner::new(exe);
    let options = CheckOptions {
        history: !args.no_history,
    };
    let outcome = run_plan(&plan, &mut runner, &mut Terminal, &options)?;
    let mut errors = outcome.failures();
    for e in &plan.exports {
        if !runner.export(e, &outcome.json)? {
            errors.push(format!(
                "{}:{}: export to {} failed",
                plan.name, e.line, e.to
            ));
        }
    }
    outcome.write_summary(&mut std::io::stdout().lock())?;
    crate::github::publish_if_in_actions(&outcome.report)?;
    if !errors.is_empty() {
        bail!(
            "{}; report.json and report.html hold what was measured",
            errors.join("; ")
        );
    }
    if crate::interrupt::requested() {
        return Ok(Outcome::Interrupted);
    }
    Ok(match outcome.status() {
        CheckStatus::Passed => Outcome::Success,
        CheckStatus::Interrupted => Outcome::Interrupted,
        CheckStatus::BudgetBreached => Outcome::BudgetBreached,
        CheckStatus::Regressed => Outcome::Regressed,
        CheckStatus::CommandFailed => Outcome::CommandFailed,
    })
}
