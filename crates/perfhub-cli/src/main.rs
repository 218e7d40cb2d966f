//! `perfhub`: benchmark and profile commands.
//!
//! The binary is thin: clap parses flags into library configs, one library
//! call does the work, and the libraries' writers (perfhub-term's summaries)
//! render the result here. It is the only crate that talks to a terminal.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_check;
mod cmd_export;
mod cmd_flame;
mod cmd_gate;
mod cmd_history;
mod cmd_import;
mod cmd_load;
mod cmd_profile;
mod cmd_run;
mod cmd_serve;
mod cmd_serve_metrics;
mod exit_codes;
mod github;
mod interrupt;
mod render;
mod report_io;

/// Performance analysis and benchmarking.
#[derive(Debug, Parser)]
#[command(name = "perfhub", version, about, long_about = None, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The command line of `perfhub run` alone, parsed without building the
/// other subcommands: building all of them takes about 0.3 ms, part of the
/// time `perfhub run` spends outside the runs it measures. Its `run` is the
/// one of [`Cli`] (a test compares their help).
#[derive(Debug, Parser)]
#[command(name = "perfhub", version, about, long_about = None, max_term_width = 100)]
struct RunCli {
    #[command(subcommand)]
    command: RunOnly,
}

#[derive(Debug, Subcommand)]
enum RunOnly {
    /// Benchmark commands: time, CPU, memory, I/O and counters per run, with statistics.
    Run(Box<cmd_run::RunArgs>),
}

/// Parses the command line, through [`RunCli`] for `perfhub run`.
fn parse(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    if args.get(1).is_some_and(|a| a == "run") {
        return RunCli::try_parse_from(args).map(|c| match c.command {
            RunOnly::Run(args) => Cli {
                command: Command::Run(args),
            },
        });
    }
    Cli::try_parse_from(args)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark commands: time, CPU, memory, I/O and counters per run, with statistics.
    Run(Box<cmd_run::RunArgs>),
    /// Profile a command or a running process: flame graph, resource timeline, report.
    Profile(Box<cmd_profile::ProfileArgs>),
    /// Load-test an HTTP service toward latency budgets (open or closed model).
    Load(Box<cmd_load::LoadArgs>),
    /// Serve HTTP with a chosen latency, error rate and stalls: a target for load tests.
    Serve(cmd_serve::ServeArgs),
    /// Turn another tool's results (criterion, hyperfine, pytest-benchmark, pyperf, asv, Google Benchmark, go test, JMH, tinybench, benchmark.js, iai-callgrind, Bencher, goose, k6) into a perfhub report.
    Import(cmd_import::ImportArgs),
    /// Compare two reports: per benchmark, the change, its interval and a verdict.
    Compare(cmd_gate::CompareArgs),
    /// The interleaved A/B regression gate: base and head built side by side and run alternately.
    Ab(Box<cmd_gate::AbArgs>),
    /// Serve the latest reports as Prometheus metrics (text format or OpenMetrics) for scraping.
    ServeMetrics(cmd_serve_metrics::ServeMetricsArgs),
    /// Record reports into the history (SQLite or PostgreSQL) and show their trends.
    History(cmd_history::HistoryArgs),
    /// Run the plan in perfhub.toml: benchmarks, load tests, profiles, budgets, score, report.html.
    Check(cmd_check::CheckArgs),
    /// Write a commented starter perfhub.toml.
    Init(cmd_check::InitArgs),
    /// Write a report in another service's format (Bencher, github-action-benchmark).
    Export(cmd_export::ExportArgs),
    /// Draw a flame graph (SVG) of folded stacks or a pprof profile.
    Flamegraph(cmd_flame::FlamegraphArgs),
    /// Draw a differential flame graph (SVG) between two profiles.
    Diff(cmd_flame::DiffArgs),
}

/// How a subcommand ended, when it did not fail outright.
pub enum Outcome {
    /// All went well.
    Success,
    /// A budget was breached.
    BudgetBreached,
    /// A benchmarked command failed.
    CommandFailed,
    /// The user interrupted the run.
    Interrupted,
    /// A comparison found a regression.
    Regressed,
    /// Exit with this code: a profiled command's own status.
    Exit(u8),
}

fn main() -> ExitCode {
    let cli = match parse(cmd_run::hyperfine_spellings(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit_codes::USAGE as u8
            } else {
                0
            });
        }
    };
    let result = match cli.command {
        Command::Run(args) => cmd_run::run(*args),
        Command::Profile(args) => cmd_profile::profile(*args),
        Command::Load(args) => cmd_load::load(*args),
        Command::Serve(args) => cmd_serve::serve(args),
        Command::Import(args) => cmd_import::import(args),
        Command::Compare(args) => cmd_gate::compare(args),
        Command::Ab(args) => cmd_gate::ab(*args),
        Command::Export(args) => cmd_export::export(args),
        Command::Check(args) => cmd_check::check(args),
        Command::Init(args) => cmd_check::init(args),
        Command::History(args) => cmd_history::history(args),
        Command::ServeMetrics(args) => cmd_serve_metrics::serve_metrics(args),
        Command::Flamegraph(args) => cmd_flame::flamegraph(args),
        Command::Diff(args) => cmd_flame::diff(args),
    };
    let code = match result {
        Ok(Outcome::Success) => exit_codes::SUCCESS,
        Ok(Outcome::BudgetBreached) => exit_codes::BUDGET_BREACHED,
        Ok(Outcome::CommandFailed) => exit_codes::COMMAND_FAILED,
        Ok(Outcome::Interrupted) => exit_codes::INTERRUPTED,
        Ok(Outcome::Regressed) => exit_codes::REGRESSED,
        Ok(Outcome::Exit(code)) => i32::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                exit_codes::SUCCESS
            } else {
                let _ = writeln!(std::io::stderr(), "perfhub: error: {}", by_flags(&e));
                exit_codes::ERROR
            }
        }
    };
    ExitCode::from(code as u8)
}

/// The error's message, the settings its configuration errors name
/// written as the flags that set them.
fn by_flags(e: &anyhow::Error) -> String {
    use perfhub_core::setting::{ConfigError, rename};
    let named = e.chain().filter_map(|c| c.downcast_ref::<ConfigError>());
    let settings: Vec<&str> = named.flat_map(|c| c.settings.clone()).collect();
    rename(
        &perfhub_core::text::error_message(e.as_ref()),
        &settings,
        flag,
    )
}

/// Library settings whose flags are not their names with `-` for `_` and `.`.
#[rustfmt::skip]
const FLAGS: &[(&str, &str)] = &[
    ("stages", "--stage"), ("vus_stages", "--vus-stage"), ("slice.sample_size", "--slice-samples"),
    ("slice.measurement", "--slice-time"), ("format.path", "--results"), ("time", "--paired"),
    ("run_paired", "--paired"), ("names", "--name"), ("step", "-D/--parameter-step-size"),
    ("ca_file", "--cacert"), ("kernel_frames", "--kernel"), ("command", "the command after `--`"),
];

/// The flag that sets a library's setting, named as its `Config` does.
pub fn flag(setting: &str) -> String {
    FLAGS.iter().find(|(s, _)| *s == setting).map_or_else(
        || format!("--{}", setting.replace(['_', '.'], "-")),
        |(_, f)| f.to_string(),
    )
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn run_help(mut cli: clap::Command) -> String {
        cli.build();
        let run = cli.find_subcommand_mut("run").expect("a run subcommand");
        format!(
            "{}\n{}\n{}",
            run.render_long_help(),
            run.render_help(),
            run.render_usage()
        )
    }

    #[test]
    fn run_alone_parses_as_in_the_full_command_line() {
        assert_eq!(run_help(RunCli::command()), run_help(Cli::command()));
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let cli = parse(args(&["perfhub", "run", "--runs", "3", "--", "true"])).unwrap();
        assert!(matches!(cli.command, Command::Run(_)));
        assert!(parse(args(&["perfhub", "run", "--no-such-flag"])).is_err());
        let cli = parse(args(&["perfhub", "init"])).unwrap();
        assert!(matches!(cli.command, Command::Init(_)));
    }
}
