//! `perfhub run`: flags into a [`RunConfig`], one library call, render, export.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use perfhub_core::Budget;
use perfhub_probe::spawn::{Input, Output};
use perfhub_run::export::{Exports, SortOrder, TableOptions, TimeUnit};
use perfhub_run::{
    CommandTemplate, CounterMode, ParamScan, Progress, Reference, RunConfig, RunCount,
};

use crate::{Outcome, render};

/// Benchmark one or more commands.
///
/// Each quoted COMMAND is one command to compare, split into words like a
/// shell would (but run without one unless --shell is given). Everything
/// after `--` is one command, passed exactly as written.
///
/// hyperfine's options are accepted with hyperfine's spelling and meaning
/// (docs/hyperfine.md lists them), except --export-json, which writes
/// perfhub's report (--export-hyperfine-json writes hyperfine's).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  perfhub run -- sleep 0.1\n  perfhub run --warmup 3 'gzip -k -f big.txt' 'zstd -q -f big.txt'\n  perfhub run --param size=1000..64000:*2 'sort-bench {size}'\n  perfhub run -L compiler gcc,clang '{compiler} -O2 main.c'\n  perfhub run --budget 'mean < 120ms' --budget 'max_rss < 64MiB' -- ./server --selftest",
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
    #[arg(long, visible_alias = "min-benchmarking-time", value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    min_time: Duration,

    /// A shell command to run once before each command's runs, warm-up included (not timed), e.g. to build it. Once for all commands or once per command, in order.
    #[arg(short, long, value_name = "CMD")]
    setup: Vec<String>,

    /// A shell command to run before every run (not timed), e.g. to drop caches. Once for all commands or once per command, in order.
    #[arg(short, long, value_name = "CMD")]
    prepare: Vec<String>,

    /// A shell command to run after every run (not timed), e.g. to stop a server --prepare started. Once for all commands or once per command, in order.
    #[arg(short = 'C', long, value_name = "CMD")]
    conclude: Vec<String>,

    /// A shell command to run after all runs of each command. Once for all commands or once per command, in order.
    #[arg(short, long, value_name = "CMD")]
    cleanup: Vec<String>,

    /// Benchmark this command first and compare the others with it, instead of with the fastest.
    #[arg(long, value_name = "CMD")]
    reference: Option<String>,

    /// A display name for the --reference command.
    #[arg(long, value_name = "NAME", requires = "reference")]
    reference_name: Option<String>,

    /// Run commands through a shell (`sh` unless named; `none` for no shell, the default); its start-up time is measured and subtracted.
    #[arg(short = 'S', long, value_name = "SHELL", num_args = 0..=1, default_missing_value = "sh", require_equals = true)]
    shell: Option<String>,

    /// No shell, as hyperfine's -N: shell syntax such as `|` goes to the program as plain arguments (without -N, perfhub refuses such a line and suggests --shell).
    #[arg(short = 'N', conflicts_with = "shell")]
    no_shell: bool,

    /// Scan a parameter, substituted for `{NAME}`: NAME=a,b,c | NAME=1..10 | NAME=0..100:25 | NAME=1000..64000:*2 (repeatable, each NAME once; at most 10000 values; integer ranges count exactly from -9223372036854775808 to 18446744073709551615, decimal ones up to 2^53). `-P NAME MIN MAX` is hyperfine's --parameter-scan.
    #[arg(short = 'P', long = "param", value_name = "SPEC")]
    params: Vec<String>,

    /// hyperfine's range scan: VAR from MIN to MAX, both included, in steps of 1 or of --parameter-step-size.
    #[arg(long, num_args = 3, value_names = ["VAR", "MIN", "MAX"], allow_hyphen_values = true)]
    parameter_scan: Option<Vec<String>>,

    /// The step of --parameter-scan (required for decimal ranges).
    #[arg(
        short = 'D',
        long,
        value_name = "DELTA",
        requires = "parameter_scan",
        allow_hyphen_values = true
    )]
    parameter_step_size: Option<String>,

    /// hyperfine's list scan: VAR takes each of the comma-separated VALUES (`\,` for a comma within one); repeatable for every combination.
    #[arg(short = 'L', long, num_args = 2, value_names = ["VAR", "VALUES"], allow_hyphen_values = true)]
    parameter_list: Vec<String>,

    /// A display name for each command, in order (may use `{NAME}` placeholders), or one per benchmark of a parameter scan.
    #[arg(
        short = 'n',
        long = "name",
        visible_alias = "command-name",
        value_name = "NAME"
    )]
    names: Vec<String>,

    /// Keep measuring when a command exits non-zero (warn instead of stopping).
    #[arg(short, long)]
    ignore_failure: bool,

    /// Feed the commands this file on standard input (default: null, /dev/null).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,

    /// Where the commands' standard output and error go: null, pipe (read and discarded; standard error to null), inherit or a file path (./null for a file named null).
    #[arg(long, value_name = "WHERE", default_value = "null")]
    output: String,

    /// Show the commands' output (and the hooks'): --output inherit.
    #[arg(long, conflicts_with = "output")]
    show_output: bool,

    /// Output style: auto, basic (no color, no progress bar), full (color and progress bar), nocolor, color (no progress bar) or none (nothing on standard output).
    #[arg(long, value_name = "TYPE", default_value = "auto", value_parser = ["auto", "basic", "full", "nocolor", "color", "none"])]
    style: String,

    /// Order of the speed comparison and of the Markdown, AsciiDoc and org-mode tables: auto (comparison by mean time, tables by command), command or mean-time.
    #[arg(long, value_name = "METHOD", default_value = "auto", value_parser = ["auto", "command", "mean-time"])]
    sort: String,

    /// Show times in this unit on standard output and in the Markdown, AsciiDoc and org-mode tables (not in CSV or JSON).
    #[arg(short = 'u', long, value_name = "UNIT", value_parser = ["nanosecond", "microsecond", "millisecond", "second"])]
    time_unit: Option<String>,

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

    /// Write an AsciiDoc table here.
    #[arg(long, value_name = "FILE")]
    export_asciidoc: Option<PathBuf>,

    /// Write an Emacs org-mode table here.
    #[arg(long, value_name = "FILE")]
    export_orgmode: Option<PathBuf>,

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

fn exports(args: &RunArgs) -> Exports {
    Exports {
        json: args.export_json.clone(),
        hyperfine_json: args.export_hyperfine_json.clone(),
        markdown: args.export_markdown.clone(),
        csv: args.export_csv.clone(),
        asciidoc: args.export_asciidoc.clone(),
        orgmode: args.export_orgmode.clone(),
    }
}

/// perfhub's `--param` specs, then hyperfine's `--parameter-scan` and
/// `--parameter-list` scans.
fn params(args: &RunArgs) -> Result<Vec<ParamScan>> {
    let mut params = ParamScan::parse_all(&args.params)?;
    if let Some(scan) = &args.parameter_scan {
        let [name, min, max] = scan.as_slice() else {
            bail!("--parameter-scan takes three values: VAR MIN MAX");
        };
        params.push(ParamScan::range(
            name,
            min,
            max,
            args.parameter_step_size.as_deref(),
        )?);
    }
    // hyperfine varies the first list fastest; the last scan here is the
    // innermost loop, so lists go in reverse to run in hyperfine's order.
    for pair in args.parameter_list.chunks(2).rev() {
        let [name, values] = pair else {
            bail!("--parameter-list takes two values: VAR VALUES");
        };
        params.push(ParamScan::list(name, values)?);
    }
    ParamScan::check_distinct(&params)?;
    Ok(params)
}

/// Shells `-S`/`--shell` may name with a space before it, as hyperfine
/// writes them (`--shell zsh`): perfhub's `--shell` takes its value after
/// `=` only, so that `--shell 'seq 10 | sort'` is a command run by `sh`.
const SHELLS: [&str; 22] = [
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "oksh",
    "pdksh",
    "ash",
    "busybox",
    "fish",
    "tcsh",
    "csh",
    "yash",
    "posh",
    "nu",
    "elvish",
    "xonsh",
    "pwsh",
    "powershell",
    "none",
    "default",
];

fn names_a_shell(value: &str) -> bool {
    value
        .split_whitespace()
        .next()
        .and_then(|w| w.rsplit('/').next())
        .is_some_and(|w| SHELLS.contains(&w))
}

/// Rewrites hyperfine's spellings that clap cannot tell from perfhub's in
/// `perfhub run`'s arguments (before a `--`): `-P VAR MIN MAX` (a NAME
/// without `=`) is `--parameter-scan`, and `-S SHELL`, `-SSHELL` or
/// `--shell SHELL` naming a known shell (or `none`, `default`) is
/// `--shell=SHELL`. Everything else passes unchanged.
pub fn hyperfine_spellings(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_none_or(|a| a != "run") {
        return args;
    }
    let mut i = 2;
    while i < args.len() {
        let Some(arg) = args[i].to_str().map(String::from) else {
            i += 1;
            continue;
        };
        let next = args.get(i + 1).and_then(|a| a.to_str()).map(String::from);
        match (arg.as_str(), next) {
            ("--", _) => break,
            ("-P", Some(n)) if !n.contains('=') => args[i] = "--parameter-scan".into(),
            ("-S" | "--shell", Some(n)) if names_a_shell(&n) => {
                args[i] = format!("--shell={n}").into();
                args.remove(i + 1);
            }
            (a, _) if a.len() > 2 && a.starts_with("-S") && names_a_shell(&a[2..]) => {
                args[i] = format!("--shell={}", &a[2..]).into();
            }
            _ => {}
        }
        i += 1;
    }
    args
}

/// The commands: the quoted ones, then the one after `--`.
fn commands(args: &RunArgs) -> Result<Vec<CommandTemplate>> {
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
    Ok(commands)
}

fn run_count(args: &RunArgs) -> Result<RunCount> {
    Ok(match args.runs {
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
    })
}

/// Where the commands' standard output and error go.
fn outputs(args: &RunArgs) -> Result<(Output, Output)> {
    let output = if args.show_output {
        Output::Inherit
    } else {
        match args.output.as_str() {
            "null" => Output::Null,
            "pipe" => Output::Pipe,
            "inherit" => Output::Inherit,
            "" => bail!("--output is empty: give null, pipe, inherit or a file path"),
            path => Output::File(PathBuf::from(path)),
        }
    };
    // hyperfine pipes standard output only.
    Ok(match output {
        Output::Pipe => (Output::Pipe, Output::Null),
        o => (o.clone(), o),
    })
}

fn input(args: &RunArgs) -> Result<Input> {
    let input = args.input.as_ref().filter(|i| i.as_os_str() != "null");
    if let Some(input) = input
        && !input.is_file()
    {
        bail!(
            "input file {} does not exist or is not a file (give --input null for no input)",
            input.display()
        );
    }
    Ok(input.cloned().map_or(Input::Null, Input::File))
}

fn shell(args: &RunArgs) -> Result<Option<String>> {
    if args.no_shell {
        return Ok(None);
    }
    Ok(match args.shell.as_deref().map(str::trim) {
        Some("none") => None,
        Some("default") => Some("sh".to_string()),
        Some("") => bail!(
            "--shell= names no shell: give --shell alone for sh, --shell=SHELL, or --shell=none"
        ),
        other => other.map(String::from),
    })
}

fn reference(args: &RunArgs) -> Result<Option<Reference>> {
    Ok(match &args.reference {
        Some(c) if c.trim().is_empty() => {
            bail!("empty --reference command: give the command to compare the others with")
        }
        Some(c) => Some(Reference {
            command: CommandTemplate::Line(c.clone()),
            name: args.reference_name.clone(),
        }),
        None => None,
    })
}

fn into_config(args: &RunArgs) -> Result<RunConfig> {
    let commands = commands(args)?;
    let runs = run_count(args)?;
    let params = params(args)?;
    let budgets = args
        .budgets
        .iter()
        .map(|b| b.parse::<Budget>())
        .collect::<Result<Vec<_>, _>>()?;
    let (stdout, stderr) = outputs(args)?;
    let stdin = input(args)?;
    let shell = shell(args)?;
    Ok(RunConfig {
        commands,
        names: args.names.clone(),
        params,
        warmup: args.warmup,
        runs,
        reference: reference(args)?,
        setup: args.setup.clone(),
        prepare: args.prepare.clone(),
        conclude: args.conclude.clone(),
        cleanup: args.cleanup.clone(),
        // Asked for no shell by name (hyperfine's -N, --shell=none): the
        // words go to the program as they are.
        literal_shell_syntax: shell.is_none() && (args.no_shell || args.shell.is_some()),
        shell,
        ignore_failure: args.ignore_failure,
        stdin,
        stdout,
        stderr,
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
    fn new(enabled: bool, color: bool) -> Bar {
        let template = if color {
            "{prefix:.bold} {bar:30.cyan/blue} {pos}/{len} {msg}"
        } else {
            "{prefix} {bar:30} {pos}/{len} {msg}"
        };
        Bar {
            bar: enabled.then(|| {
                let b = ProgressBar::new(0);
                b.set_style(ProgressStyle::with_template(template).expect("valid template"));
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

fn table_options(args: &RunArgs) -> TableOptions {
    // clap has checked both values against the lists the parsers accept.
    TableOptions {
        time_unit: args
            .time_unit
            .as_deref()
            .and_then(|u| u.parse::<TimeUnit>().ok()),
        sort: args.sort.parse::<SortOrder>().unwrap_or_default(),
    }
}

/// What hyperfine's `--style` asks of the terminal output.
struct Look {
    color: bool,
    progress: bool,
    /// Print the summary at all (`--style none` prints nothing).
    summary: bool,
}

fn look(args: &RunArgs, config: &RunConfig) -> Look {
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    let (color, progress, summary) = match args.style.as_str() {
        "basic" => (false, false, true),
        // A bar is drawn where a person watches: indicatif hides it elsewhere.
        "full" => (true, stderr_tty, true),
        "nocolor" => (false, stderr_tty, true),
        "color" => (true, false, true),
        "none" => (false, false, false),
        // auto: as basic when the commands' output is shown, as hyperfine does.
        _ if config.stdout == Output::Inherit || !stdout_tty => (false, false, true),
        _ => (
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            stderr_tty,
            true,
        ),
    };
    Look {
        color,
        progress: progress && !args.no_progress,
        summary,
    }
}

/// Runs `perfhub run`.
pub fn run(args: RunArgs) -> Result<Outcome> {
    let config = into_config(&args)?;
    let exports = exports(&args);
    exports.check_writable()?;
    let look = look(&args, &config);
    crate::interrupt::install();
    let outcome = {
        let mut bar = Bar::new(look.progress, look.color);
        perfhub_run::run(&config, &mut bar)?
    };
    // Exports first: what was measured is kept whatever happens next.
    exports.write(&outcome.report, &table_options(&args))?;
    if look.summary {
        let tables = table_options(&args);
        let view = render::RunView {
            color: look.color,
            time_unit: tables.time_unit,
            sort: tables.sort,
        };
        render::print_run(&outcome.report, &view)?;
    }
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

    fn spell(args: &[&str]) -> Vec<String> {
        hyperfine_spellings(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn rewrites_hyperfines_spellings_only() {
        assert_eq!(
            spell(&["perfhub", "run", "-P", "n", "1", "3", "true {n}"]),
            [
                "perfhub",
                "run",
                "--parameter-scan",
                "n",
                "1",
                "3",
                "true {n}"
            ]
        );
        assert_eq!(
            spell(&["perfhub", "run", "-P", "n=1..3", "true {n}"]),
            ["perfhub", "run", "-P", "n=1..3", "true {n}"]
        );
        assert_eq!(
            spell(&[
                "perfhub",
                "run",
                "-S",
                "zsh",
                "a",
                "--shell",
                "/bin/bash --norc",
                "b"
            ]),
            [
                "perfhub",
                "run",
                "--shell=zsh",
                "a",
                "--shell=/bin/bash --norc",
                "b"
            ]
        );
        assert_eq!(
            spell(&["perfhub", "run", "-Snone", "a"]),
            ["perfhub", "run", "--shell=none", "a"]
        );
        // perfhub's own `--shell` before a command, and anything after `--`.
        for args in [
            &["perfhub", "run", "--shell", "seq 10 | sort"][..],
            &["perfhub", "run", "--", "-P", "x", "-S", "sh"],
            &["perfhub", "profile", "-S", "sh"],
        ] {
            assert_eq!(spell(args), args);
        }
    }
}
