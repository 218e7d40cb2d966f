//! `perfhub run`: flags into a [`RunConfig`], one library call, render, export.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use perfhub_core::{Budget, Report};
use perfhub_probe::spawn::{Input, Output};
use perfhub_run::{CommandTemplate, CounterMode, ParamScan, Progress, RunConfig, RunCount, export};

use crate::{Outcome, render};

/// Benchmark one or more commands.
///
/// Each quoted COMMAND is one command to compare, split into words like a
/// shell would (but run without one unless --shell is given). Everything
/// after `--` is one command, passed exactly as written.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  perfhub run -- sleep 0.1\n  perfhub run --warmup 3 'gzip -k -f big.txt' 'zstd -q -f big.txt'\n  perfhub run --param size=1000..64000:*2 'sort-bench {size}'\n  perfhub run --budget 'mean < 120ms' --budget 'max_rss < 64MiB' -- ./server --selftest",
    override_usage = "perfhub run [OPTIONS] <COMMAND>...\n       perfhub run [OPTIONS] -- <PROGRAM> [ARGS]..."
)]
pub struct RunArgs {
    /// Commands to benchmark, each one quoted argument.
    #[arg(value_name = "COMMAND")]
    commands: Vec<String>,

    /// One command given as separate words after `--`.
    #[arg(last = true, value_name = "PROGRAM")]
    argv: Vec<String>,

    /// Unmeasured runs before the measured ones (to warm caches).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    warmup: u64,

    /// Exactly this many measured runs (instead of an adaptive count).
    #[arg(short, long, value_name = "N", conflicts_with_all = ["min_runs", "max_runs", "min_time"])]
    runs: Option<u64>,

    /// The fewest measured runs of the adaptive count.
    #[arg(short = 'm', long, value_name = "N", default_value_t = 10)]
    min_runs: u64,

    /// The most measured runs of the adaptive count.
    #[arg(short = 'M', long, value_name = "N")]
    max_runs: Option<u64>,

    /// The adaptive count runs a command until this much time is spent (e.g. 3s, 500ms; at most 720h, 30 days).
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    min_time: Duration,

    /// A shell command to run before every run (not timed), e.g. to drop caches.
    #[arg(short, long, value_name = "CMD")]
    prepare: Option<String>,

    /// A shell command to run after all runs of each command.
    #[arg(short, long, value_name = "CMD")]
    cleanup: Option<String>,

    /// Run commands through a shell (`sh` unless named); its start-up time is measured and subtracted.
    #[arg(short = 'S', long, value_name = "SHELL", num_args = 0..=1, default_missing_value = "sh", require_equals = true)]
    shell: Option<String>,

    /// Scan a parameter, substituted for `{NAME}`: NAME=a,b,c | NAME=1..10 | NAME=0..100:25 | NAME=1000..64000:*2 (repeatable, each NAME once; at most 10000 values; integer ranges count exactly from -9223372036854775808 to 18446744073709551615, decimal ones up to 2^53).
    #[arg(short = 'P', long = "param", value_name = "SPEC")]
    params: Vec<String>,

    /// A display name for each command, in order (may use `{NAME}` placeholders).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    names: Vec<String>,

    /// Keep measuring when a command exits non-zero (warn instead of stopping).
    #[arg(short, long)]
    ignore_failure: bool,

    /// Feed the commands this file on standard input (default: /dev/null).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Where the commands' standard output and error go: null, inherit or a file path.
    #[arg(long, value_name = "WHERE", default_value = "null")]
    output: String,

    /// When to read perf_event counters: auto (for commands taking 5 ms or more, where their own cost does not show), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    counters: String,

    /// A budget such as 'mean < 120ms' or 'max_rss < 64MiB'; exit code 3 when one is breached.
    #[arg(short, long = "budget", value_name = "EXPR")]
    budgets: Vec<String>,

    /// Write perfhub's JSON report here.
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,

    /// Write hyperfine's JSON format here, for hyperfine tooling.
    #[arg(long, value_name = "FILE")]
    export_hyperfine_json: Option<PathBuf>,

    /// Write a Markdown table here.
    #[arg(long, value_name = "FILE")]
    export_markdown: Option<PathBuf>,

    /// Write a CSV table here.
    #[arg(long, value_name = "FILE")]
    export_csv: Option<PathBuf>,

    /// Seed for the randomized statistics (bootstrap), for reproducible reports.
    #[arg(long, value_name = "N", default_value_t = 0x5eed)]
    seed: u64,

    /// The metric a parameter scan's complexity fit explains, e.g. max_rss for memory complexity.
    #[arg(long, value_name = "METRIC", default_value = "wall_time")]
    complexity_metric: String,

    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

pub use perfhub_core::units::parse_duration;

fn exports(args: &RunArgs) -> Vec<&Path> {
    [
        &args.export_json,
        &args.export_hyperfine_json,
        &args.export_markdown,
        &args.export_csv,
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect()
}

/// Refuses an export path that cannot be written before any time is spent measuring.
fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "cannot write export {}: it is a directory; give a file path",
            path.display()
        );
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write export {}: directory {} does not exist; create it first",
            path.display(),
            dir.display()
        );
    }
    let probe = dir.join(format!(".perfhub-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "cannot write export {}: directory {} is not writable",
            path.display(),
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn into_config(args: &RunArgs) -> Result<RunConfig> {
    let mut commands: Vec<CommandTemplate> = args
        .commands
        .iter()
        .cloned()
        .map(CommandTemplate::Line)
        .collect();
    if !args.argv.is_empty() {
        commands.push(CommandTemplate::Argv(args.argv.clone()));
    }
    if commands.is_empty() {
        bail!(
            "no command to benchmark: give one after `--` (perfhub run -- sleep 0.1) or quoted (perfhub run 'sleep 0.1')"
        );
    }
    for c in &commands {
        let empty = match c {
            CommandTemplate::Line(l) => l.trim().is_empty(),
            CommandTemplate::Argv(v) => v.first().is_none_or(|p| p.is_empty()),
        };
        if empty {
            bail!("empty command: each command needs a program to run");
        }
    }
    let runs = match args.runs {
        Some(0) => bail!("--runs must be at least 1"),
        Some(n) => RunCount::Exact(n),
        None => {
            if args.min_runs == 0 {
                bail!("--min-runs must be at least 1");
            }
            if let Some(max) = args.max_runs
                && max < args.min_runs
            {
                bail!("--max-runs {max} is below --min-runs {}", args.min_runs);
            }
            RunCount::Adaptive {
                min_runs: args.min_runs,
                max_runs: args.max_runs,
                min_time: args.min_time,
            }
        }
    };
    let params = ParamScan::parse_all(&args.params)?;
    let budgets = args
        .budgets
        .iter()
        .map(|b| b.parse::<Budget>())
        .collect::<Result<Vec<_>, _>>()?;
    let output = match args.output.as_str() {
        "null" => Output::Null,
        "inherit" => Output::Inherit,
        path => Output::File(PathBuf::from(path)),
    };
    if let Some(input) = &args.input
        && !input.is_file()
    {
        bail!(
            "input file {} does not exist or is not a file",
            input.display()
        );
    }
    Ok(RunConfig {
        commands,
        names: args.names.clone(),
        params,
        warmup: args.warmup,
        runs,
        prepare: args.prepare.clone(),
        cleanup: args.cleanup.clone(),
        shell: args.shell.clone(),
        ignore_failure: args.ignore_failure,
        stdin: args.input.clone().map_or(Input::Null, Input::File),
        stderr: output.clone(),
        stdout: output,
        counters: match args.counters.as_str() {
            "always" => CounterMode::Always,
            "never" => CounterMode::Never,
            _ => CounterMode::Auto,
        },
        budgets,
        seed: args.seed,
        complexity_metric: args.complexity_metric.clone(),
    })
}

/// A progress bar on stderr, drawn only when a person is watching.
struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new(enabled: bool) -> Bar {
        Bar {
            bar: enabled.then(|| {
                let b = ProgressBar::new(0);
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} {bar:30.cyan/blue} {pos}/{len} {msg}",
                    )
                    .expect("valid template"),
                );
                b
            }),
        }
    }
}

impl Progress for Bar {
    fn benchmark_started(&mut self, name: &str, warmup: u64) {
        if let Some(b) = &self.bar {
            b.set_prefix(if warmup > 0 { "warm-up" } else { "measuring" });
            b.set_message(name.to_string());
            b.set_length(warmup);
            b.set_position(0);
        }
    }
    fn warmup_done(&mut self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
    fn runs_planned(&mut self, total: u64) {
        if let Some(b) = &self.bar {
            b.set_prefix("measuring");
            b.set_length(total);
            b.set_position(1);
        }
    }
    fn run_done(&mut self, _wall: Duration) {
        if let Some(b) = &self.bar
            && b.position() < b.length().unwrap_or(0)
        {
            b.inc(1);
        }
    }
    fn should_stop(&mut self) -> bool {
        crate::interrupt::requested()
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn write_exports(args: &RunArgs, report: &Report) -> Result<()> {
    let write = |path: &Option<PathBuf>, contents: String| -> Result<()> {
        if let Some(p) = path {
            perfhub_probe::fs::write_atomic(p, contents.as_bytes())
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        Ok(())
    };
    write(&args.export_json, report.to_json() + "\n")?;
    write(&args.export_hyperfine_json, export::hyperfine_json(report))?;
    write(&args.export_markdown, export::markdown(report))?;
    write(&args.export_csv, export::csv(report))?;
    Ok(())
}

/// Runs `perfhub run`.
pub fn run(args: RunArgs) -> Result<Outcome> {
    let config = into_config(&args)?;
    for p in exports(&args) {
        check_writable(p)?;
    }
    let show_progress =
        !args.no_progress && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    crate::interrupt::install();
    let outcome = {
        let mut bar = Bar::new(show_progress);
        perfhub_run::run(&config, &mut bar)?
    };
    // Exports first: what was measured is kept whatever happens next.
    write_exports(&args, &outcome.report)?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    render::print_run(&outcome.report, color)?;
    if outcome.interrupted || crate::interrupt::requested() {
        eprintln!("perfhub: interrupted; the runs completed so far were reported and exported");
        return Ok(Outcome::Interrupted);
    }
    if let Some(e) = outcome.budget_error {
        return Err(anyhow::Error::new(e).context("cannot evaluate budgets"));
    }
    if outcome.failure.is_some() {
        return Ok(Outcome::CommandFailed);
    }
    if !outcome.report.budgets_pass() {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration("3 parsecs")
                .unwrap_err()
                .contains("unknown time unit")
        );
    }
}
