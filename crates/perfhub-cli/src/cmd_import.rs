//! `perfhub import`: other tools' results as perfhub reports.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use perfhub_core::budget::Budget;

use crate::Outcome;

/// Turn another tool's results into a perfhub report.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: ImportSource,
}

#[derive(Debug, Subcommand)]
enum ImportSource {
    /// A goose load test's JSON report (`--report-file report.json`, goose 0.18 or later).
    Goose(GooseArgs),
}

#[derive(Debug, Args)]
struct GooseArgs {
    /// goose's JSON report.
    #[arg(value_name = "REPORT")]
    input: PathBuf,

    /// Write the perfhub report here.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// A budget to evaluate on the result, in perfhub's or k6's syntax
    /// (repeatable); exit code 3 when one is breached.
    #[arg(short, long = "budget", value_name = "BUDGET")]
    budgets: Vec<String>,
}

/// Runs `perfhub import`.
pub fn import(args: ImportArgs) -> Result<Outcome> {
    match args.source {
        ImportSource::Goose(g) => goose(&g),
    }
}

fn goose(args: &GooseArgs) -> Result<Outcome> {
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut report = perfhub_load::goose::import_goose(&text)
        .with_context(|| format!("{}", args.input.display()))?;
    let budgets = args
        .budgets
        .iter()
        .map(|b| Budget::parse(b).map_err(|e| anyhow::anyhow!("bad budget {b:?}: {}", e.message())))
        .collect::<Result<Vec<_>>>()?;
    report.budgets = perfhub_load::report::evaluate_budgets(&report, &budgets, &[])
        .context("cannot evaluate budgets")?;
    perfhub_probe::fs::write_atomic(&args.output, (report.to_json() + "\n").as_bytes())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    crate::render::print_load(&report, color)?;
    if report.budgets.iter().any(|v| !v.passed) {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}
