//! `perfhub export`: a report in another service's format.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use perfhub_core::report::Report;

use crate::Outcome;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Destination {
    /// Bencher Metric Format JSON, for `bencher run --adapter json`.
    Bencher,
    /// github-action-benchmark's `customSmallerIsBetter` (or, with
    /// `--bigger-is-better`, `customBiggerIsBetter`) JSON.
    GithubActionBenchmark,
}

/// Write a report in another service's format.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where the results go.
    #[arg(long = "to", value_enum, value_name = "DESTINATION")]
    to: Destination,

    /// The perfhub report.
    #[arg(value_name = "REPORT")]
    input: PathBuf,

    /// The file to write.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// github-action-benchmark only: write the metrics where bigger is
    /// better (throughput) instead of those where smaller is (times).
    #[arg(long)]
    bigger_is_better: bool,
}

/// Runs `perfhub export`.
pub fn export(args: ExportArgs) -> Result<Outcome> {
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let report = Report::from_json(&text)
        .with_context(|| format!("{}: not a perfhub report", args.input.display()))?;
    let json = match args.to {
        Destination::Bencher => perfhub_adapter_ci::bmf::to_bmf_json(&report)?,
        Destination::GithubActionBenchmark => {
            let gab = perfhub_adapter_ci::gab::to_gab(&report);
            if args.bigger_is_better {
                gab.bigger_is_better_json()?
            } else {
                gab.smaller_is_better_json()?
            }
        }
    };
    perfhub_probe::fs::write_atomic(&args.output, (json + "\n").as_bytes())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(Outcome::Success)
}
