//! The `cargo bench` harness: its arguments and its `main`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use perfhub_core::budget::Budget;
use perfhub_core::units::parse_duration;

use crate::paired::{Reply, Server};
use crate::{Bench, BenchConfig, summary_text};

/// What the harness's command line asks for: `[FILTER] [--exact] [--list]
/// [--warm-up TIME] [--measurement TIME] [--samples N] [--iterations N]
/// [--budget EXPR]... [--save FILE] [--quiet]`. cargo's own `--bench` is
/// accepted and ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// How the benchmarks run (filter, timing, budgets).
    pub config: BenchConfig,
    /// List the benchmarks' names instead of running them (libtest's
    /// `NAME: benchmark` lines).
    pub list: bool,
    /// Write the report (perfhub's JSON) to this file, atomically.
    pub save: Option<PathBuf>,
    /// Print nothing but errors and breached budgets.
    pub quiet: bool,
    /// Print the usage and stop.
    pub help: bool,
    /// The paired protocol ([`crate::paired`], argument
    /// `--perfhub-paired`): offer the benchmarks to `perfhub ab --paired`
    /// on standard input and output instead of measuring them. Not in the
    /// usage: people do not type it.
    pub paired: bool,
}

/// A command line the harness cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}\n(run with --help for the arguments)")]
pub struct ArgsError(String);

const USAGE: &str = "\
Runs this target's benchmarks (perfhub's harness).

Usage: cargo bench --bench NAME -- [FILTER] [OPTIONS]

  FILTER              run only benchmarks whose name contains FILTER
  --exact             FILTER must equal the name
  --list              list the benchmarks' names instead of running them
  --warm-up TIME      run each closure this long before measuring [default: 500ms]
  --measurement TIME  about how long each benchmark's samples take [default: 2s]
  --samples N         samples per benchmark, at least 2 [default: 50]
  --iterations N      measure exactly N iterations of each benchmark
  --budget EXPR       a budget such as \"mean < 2ms\" (repeatable); exit 3 if breached
  --save FILE         write the report (perfhub JSON) to FILE
  --quiet             print only errors and breached budgets
";

impl Args {
    /// Reads the arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
        let mut out = Args {
            config: BenchConfig::default(),
            list: false,
            save: None,
            quiet: false,
            help: false,
            paired: false,
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| -> Result<String, ArgsError> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| ArgsError(format!("{flag} needs {what}")))
            };
            match flag.as_str() {
                "--bench" => {}
                "--exact" => out.config.exact = true,
                "--list" => out.list = true,
                "--quiet" | "-q" => out.quiet = true,
                "--help" | "-h" => out.help = true,
                crate::paired::FLAG => out.paired = true,
                "--warm-up" => out.config.warm_up = duration(&flag, &value("a time")?)?,
                "--measurement" => {
                    out.config.measurement = duration(&flag, &value("a time")?)?;
                }
                "--samples" => out.config.samples = count(&flag, &value("a number")?)? as usize,
                "--iterations" => out.config.iterations = Some(count(&flag, &value("a number")?)?),
                "--budget" => {
                    let text = value("a budget such as \"mean < 2ms\"")?;
                    let budget = Budget::parse(&text)
                        .map_err(|e| ArgsError(format!("--budget {text:?}: {e}")))?;
                    out.config.budgets.push(budget);
                }
                "--save" => out.save = Some(PathBuf::from(value("a file")?)),
                f if f.starts_with('-') => {
                    return Err(ArgsError(format!("unknown argument {f}")));
                }
                _ => {
                    if let Some(first) = &out.config.filter {
                        return Err(ArgsError(format!(
                            "two filters, {first:?} and {arg:?}: give one"
                        )));
                    }
                    out.config.filter = Some(arg);
                }
            }
        }
        Ok(out)
    }
}

fn duration(flag: &str, text: &str) -> Result<Duration, ArgsError> {
    parse_duration(text).map_err(|e| ArgsError(format!("{flag} {text:?}: {e}")))
}

fn count(flag: &str, text: &str) -> Result<u64, ArgsError> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| ArgsError(format!("{flag} {text:?}: not a whole number")))
}

/// The harness's `main`: reads the process's arguments and runs
/// [`run_with`], printing to standard output and error. [`main!`](crate::main)
/// calls it.
pub fn run_main(groups: &[fn(&mut Bench)]) -> ExitCode {
    let code = run_with(
        std::env::args().skip(1),
        groups,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// Runs every group (a function that calls [`Bench::run`]) as `args` say
/// (the arguments after the program's name), writes each benchmark's
/// summary and the budgets to `out` and problems to `err`, and saves the
/// report if asked. Returns the exit code: 0, 3 when a budget is breached,
/// 2 for bad arguments and 1 for other errors (the report is still saved
/// when a budget is breached).
///
/// With `--perfhub-paired` the benchmarks are offered to a controller on the
/// process's standard input and output instead ([`crate::paired`]).
pub fn run_with(
    args: impl IntoIterator<Item = String>,
    groups: &[fn(&mut Bench)],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let args = match Args::parse(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    if args.help {
        let _ = write!(out, "{USAGE}");
        return 0;
    }
    if args.paired {
        return serve_paired(
            &args,
            groups,
            Box::new(std::io::BufReader::new(std::io::stdin())),
            Box::new(std::io::stdout()),
            err,
        );
    }
    let mut bench = Bench::new(args.config.clone());
    if args.list {
        bench.listing = true;
        for group in groups {
            group(&mut bench);
        }
        for name in &bench.listed {
            let _ = writeln!(out, "{name}: benchmark");
        }
        return 0;
    }
    for group in groups {
        let before = bench.report().benchmarks.len();
        group(&mut bench);
        if !args.quiet {
            for b in &bench.report().benchmarks[before..] {
                let _ = writeln!(out, "{}", summary_text(b));
            }
        }
    }
    let report = match bench.finish() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 1;
        }
    };
    if report.benchmarks.is_empty() {
        let _ = writeln!(
            err,
            "warning: no benchmark {}",
            match &args.config.filter {
                Some(f) => format!("matches {f:?}"),
                None => "was run".to_string(),
            }
        );
    }
    for v in &report.budgets {
        if !v.passed || !args.quiet {
            let _ = writeln!(
                out,
                "{} {} on {}: {}",
                if v.passed { "held:" } else { "BREACHED:" },
                v.budget,
                v.benchmark,
                v.unit.format(v.actual)
            );
        }
    }
    if let Some(path) = &args.save
        && let Err(e) = perfhub_probe::fs::write_atomic(path, report.to_json().as_bytes())
    {
        let _ = writeln!(err, "error: cannot write {}: {e}", path.display());
        return 1;
    }
    if report.budgets_pass() { 0 } else { 3 }
}

/// The paired mode of [`run_with`], on the given input and output.
pub(crate) fn serve_paired(
    args: &Args,
    groups: &[fn(&mut Bench)],
    input: Box<dyn BufRead>,
    output: Box<dyn Write>,
    err: &mut dyn Write,
) -> u8 {
    let mut bench = Bench::new(BenchConfig {
        environment: false,
        ..args.config.clone()
    });
    if let Some(e) = &bench.error {
        let _ = writeln!(err, "error: {e}");
        return 2;
    }
    let mut server = Server::new(input, output);
    server.send(&Reply::Hello(crate::paired::VERSION));
    if args.list {
        bench.listing = true;
        for group in groups {
            group(&mut bench);
        }
        for name in std::mem::take(&mut bench.listed) {
            server.send(&Reply::Bench(name));
        }
        server.send(&Reply::Done);
        return 0;
    }
    bench.paired = Some(server);
    for group in groups {
        group(&mut bench);
    }
    if let Some(server) = &mut bench.paired {
        server.send(&Reply::Done);
    }
    0
}

/// The `main` of a `harness = false` bench target: runs each group, a
/// `fn(&mut Bench)`, as [`run_main`] says.
///
/// ```no_run
/// fn parse(bench: &mut perfhub_bench::Bench) {
///     bench.run("parse 42", || "42".parse::<u32>());
/// }
/// perfhub_bench::main!(parse);
/// ```
#[macro_export]
macro_rules! main {
    ($($group:path),+ $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::run_main(&[$($group),+])
        }
    };
}
