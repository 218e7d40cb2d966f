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
    /// criterion's results directory (`target/criterion`): per-iteration times of every benchmark.
    Criterion(BenchArgs),
    /// cargo-criterion's `--message-format=json` output.
    CargoCriterion(BenchArgs),
    /// libtest `bench:` lines (`cargo +nightly bench` output).
    Libtest(BenchArgs),
    /// hyperfine's `--export-json` file.
    Hyperfine(BenchArgs),
    /// pytest-benchmark's `--benchmark-json` file (raw timings kept with `--benchmark-save-data`).
    PytestBenchmark(BenchArgs),
    /// pyperf's JSON file (`python -m pyperf ... -o FILE`).
    Pyperf(BenchArgs),
    /// An asv (airspeed velocity) result file (`.asv/results/MACHINE/COMMIT-ENV.json`).
    Asv(BenchArgs),
    /// Google Benchmark's JSON (`--benchmark_format=json` or `--benchmark_out=FILE`).
    GoogleBenchmark(BenchArgs),
    /// Go's `go test -bench` text output (`-count N` runs become samples; `-benchmem` columns kept).
    GoTest(BenchArgs),
    /// JMH's JSON result file (`-rf json`).
    Jmh(BenchArgs),
    /// tinybench's results or vitest bench's `--outputJson` file.
    Tinybench(BenchArgs),
    /// benchmark.js results saved as JSON.
    Benchmarkjs(BenchArgs),
    /// Bencher Metric Format (BMF) JSON, as `perfhub export --to bencher` writes it.
    Bmf(BenchArgs),
    /// iai-callgrind's (gungraun's) `summary.json`.
    IaiCallgrind(BenchArgs),
    /// Any of the formats above, or goose or k6, told apart by the content.
    Auto(BenchArgs),
    /// A goose load test's JSON report (`--report-file report.json`, goose 0.18 or later).
    Goose(GooseArgs),
    /// k6's end-of-test summary: `k6 run --summary-export FILE`, or
    /// `JSON.stringify(data)` written by `handleSummary`.
    K6(GooseArgs),
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The results: a directory for criterion, a file otherwise.
    #[arg(value_name = "PATH")]
    input: PathBuf,

    /// Write the perfhub report here.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// criterion only: read this saved baseline (`--save-baseline NAME`)
    /// instead of the latest run (`new`).
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,

    /// A budget to evaluate on the result (repeatable), such as
    /// `'mean < 2ms'`; exit code 3 when one is breached.
    #[arg(short, long = "budget", value_name = "BUDGET")]
    budgets: Vec<String>,
}

#[derive(Debug, Args)]
struct GooseArgs {
    /// The load tool's JSON report or summary.
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
    use perfhub_import::Format;
    match args.source {
        ImportSource::Criterion(a) => bench(&a, Some(Format::Criterion)),
        ImportSource::CargoCriterion(a) => bench(&a, Some(Format::CargoCriterion)),
        ImportSource::Libtest(a) => bench(&a, Some(Format::Libtest)),
        ImportSource::Hyperfine(a) => bench(&a, Some(Format::Hyperfine)),
        ImportSource::PytestBenchmark(a) => bench(&a, Some(Format::PytestBenchmark)),
        ImportSource::Pyperf(a) => bench(&a, Some(Format::Pyperf)),
        ImportSource::Asv(a) => bench(&a, Some(Format::Asv)),
        ImportSource::GoogleBenchmark(a) => bench(&a, Some(Format::GoogleBenchmark)),
        ImportSource::GoTest(a) => bench(&a, Some(Format::GoTest)),
        ImportSource::Jmh(a) => bench(&a, Some(Format::Jmh)),
        ImportSource::Tinybench(a) => bench(&a, Some(Format::Tinybench)),
        ImportSource::Benchmarkjs(a) => bench(&a, Some(Format::BenchmarkJs)),
        ImportSource::Bmf(a) => bench(&a, Some(Format::Bmf)),
        ImportSource::IaiCallgrind(a) => bench(&a, Some(Format::Iai)),
        ImportSource::Auto(a) => bench(&a, None),
        ImportSource::Goose(g) => load_test(&g.input, &g.output, &g.budgets, None, Format::Goose),
        ImportSource::K6(k) => load_test(&k.input, &k.output, &k.budgets, None, Format::K6),
    }
}

fn parse_budgets(budgets: &[String]) -> Result<Vec<Budget>> {
    budgets
        .iter()
        .map(|b| Budget::parse(b).map_err(|e| anyhow::anyhow!("bad budget {b:?}: {}", e.message())))
        .collect()
}

fn bench(args: &BenchArgs, format: Option<perfhub_import::Format>) -> Result<Outcome> {
    let baseline = args.baseline.as_deref();
    if let Some(format) = format.filter(|f| f.is_load_test()) {
        return load_test(&args.input, &args.output, &args.budgets, baseline, format);
    }
    let budgets = parse_budgets(&args.budgets)?;
    let options = perfhub_import::ImportOptions::new(perfhub_core::time::UtcTime::now());
    // The machine and the checkout are looked up while the file is parsed.
    let environment = perfhub_probe::env::collect_in_background(Default::default());
    let (format, mut report) = match format {
        Some(f) => (
            f,
            perfhub_import::import(&args.input, f, baseline, &options)?,
        ),
        None => perfhub_import::import_auto(&args.input, baseline, &options)?,
    };
    if format.is_load_test() {
        return load_report(&args.output, &args.budgets, report);
    }
    report.environment = Some(environment.wait());
    report.budgets =
        perfhub_core::budget::evaluate(&budgets, &report).context("cannot evaluate budgets")?;
    let view = crate::render::RunView {
        color: crate::render::color(),
        ..Default::default()
    };
    // The summary is printed while the report is written: on a file of tens
    // of thousands of benchmarks, each takes a tenth of a second or more.
    std::thread::scope(|scope| -> Result<()> {
        let summary = scope.spawn(|| crate::render::print_run(&report, &view));
        // Not synced: the report is made again from its source by importing
        // again, and the sync of a large report costs as long as its parse.
        let written = crate::report_io::write_report_as(
            &args.output,
            &report,
            perfhub_core::fs::Durability::Unsynced,
        );
        let printed = summary
            .join()
            .map_err(|_| anyhow::anyhow!("printing the summary failed"))?;
        written?;
        Ok(printed?)
    })?;
    crate::github::publish_if_in_actions(&report)?;
    if !report.budgets_pass() {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}

/// Imports a load tool's report (goose, k6), dated now.
fn load_test(
    input: &std::path::Path,
    output: &std::path::Path,
    budgets: &[String],
    baseline: Option<&str>,
    format: perfhub_import::Format,
) -> Result<Outcome> {
    let options = perfhub_import::ImportOptions::new(perfhub_core::time::UtcTime::now());
    let report = perfhub_import::import(input, format, baseline, &options)?;
    load_report(output, budgets, report)
}

/// Budgets, the written report and the summary of an imported load test.
fn load_report(
    output: &std::path::Path,
    budgets: &[String],
    mut report: perfhub_core::Report,
) -> Result<Outcome> {
    let budgets = parse_budgets(budgets)?;
    report.budgets = perfhub_load::report::evaluate_budgets(&report, &budgets, &[])
        .context("cannot evaluate budgets")?;
    crate::report_io::write_report(output, &report)?;
    crate::render::print_load(&report, crate::render::color())?;
    if report.budgets.iter().any(|v| !v.passed) {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}
