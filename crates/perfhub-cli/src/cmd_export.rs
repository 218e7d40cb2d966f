//! `perfhub export`: a report (or a profile) delivered to another service.
//!
//! Tokens come from environment variables only (`MLFLOW_TRACKING_TOKEN`,
//! `PYROSCOPE_AUTH_TOKEN`), never from flags, so they stay out of shell
//! history and process lists; the adapters never print them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use perfhub_core::units::parse_duration;

use crate::Outcome;
use crate::report_io::{read_report, write_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Destination {
    /// Bencher Metric Format JSON, for `bencher run --adapter json` (-o FILE).
    Bencher,
    /// github-action-benchmark's `customSmallerIsBetter` (or, with
    /// `--bigger-is-better`, `customBiggerIsBetter`) JSON (-o FILE).
    GithubActionBenchmark,
    /// An MLflow tracking server: a run with the report's metrics, params
    /// and tags (--url, --experiment; token from MLFLOW_TRACKING_TOKEN).
    Mlflow,
    /// A Pyroscope-compatible `/ingest` endpoint: the INPUT is a profile
    /// (`perfhub profile` output directory, folded stacks or pprof) (--url,
    /// --app; token from PYROSCOPE_AUTH_TOKEN).
    Pyroscope,
    /// Prometheus text exposition 0.0.4 (-o FILE).
    Prometheus,
    /// OpenMetrics 1.0 text (-o FILE).
    Openmetrics,
    /// A Prometheus Pushgateway: PUT to /metrics/job/JOB[/LABEL/VALUE...]
    /// (--url, --job, --label for the grouping key).
    Pushgateway,
    /// A node_exporter textfile: DIR/JOB.prom, written atomically (-o DIR, --job).
    Textfile,
    /// Budget breaches and regressions as iCalendar VTODOs (-o FILE.ics).
    Ical,
    /// Budget breaches and regressions as Taskwarrior import JSON (-o FILE).
    Taskwarrior,
    /// Budget breaches and regressions as todo.txt lines (-o FILE).
    Todotxt,
    /// A Markdown weekly performance review of one or more reports (-o FILE.md).
    Review,
    /// A Frictionless Data Package v2: datapackage.json and CSVs (-o DIR).
    Datapackage,
    /// The data package wrapped as an RO-Crate with provenance (-o DIR).
    Rocrate,
}

/// Deliver a report to another service or format.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where the results go.
    #[arg(long = "to", value_enum, value_name = "DESTINATION")]
    to: Destination,

    /// The perfhub report (for pyroscope: a profile; for the task and
    /// review destinations: one or more reports).
    #[arg(value_name = "INPUT", required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,

    /// The tasks' project (ical, taskwarrior, todotxt).
    #[arg(long, value_name = "NAME", default_value = "perfhub")]
    project: String,

    #[arg(skip)]
    input: PathBuf,

    /// The file (or, for textfile, datapackage and rocrate, the directory)
    /// to write; missing directories are created.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// github-action-benchmark only: write the metrics where bigger is
    /// better (throughput) instead of those where smaller is (times).
    #[arg(long)]
    bigger_is_better: bool,

    /// The service's base URL (MLflow tracking server, Pyroscope server).
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// MLflow: the experiment's name (created when missing).
    #[arg(long, value_name = "NAME", default_value = "perfhub")]
    experiment: String,

    /// MLflow: the run's name.
    #[arg(long, value_name = "NAME")]
    run_name: Option<String>,

    /// Pyroscope: the application's name.
    #[arg(long, value_name = "NAME")]
    app: Option<String>,

    /// Pushgateway and textfile: the job's name.
    #[arg(long, value_name = "NAME", default_value = "perfhub")]
    job: String,

    /// Pyroscope: a label; Pushgateway: a grouping label; `KEY=VALUE`
    /// (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    label: Vec<String>,

    /// Pyroscope with a file INPUT: how long the profile covers, ending at
    /// the file's modification time.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,

    /// Network destinations: the time allowed for each request.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,

    /// Network destinations: retries of a failed request, where a retry is safe.
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: u32,
}

/// The destination as `--to` names it.
fn destination(args: &ExportArgs) -> String {
    args.to
        .to_possible_value()
        .map_or("?".into(), |v| v.get_name().to_string())
}

fn output(args: &ExportArgs) -> Result<&Path> {
    let to = destination(args);
    let missing = || format!("--to {to}: give the file to write with -o FILE");
    args.output.as_deref().with_context(missing)
}

/// The file to write (-o), its directory created when missing.
fn output_file(args: &ExportArgs) -> Result<&Path> {
    let path = output(args)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    Ok(path)
}

/// The directory to write into (-o), created when missing.
fn output_dir(args: &ExportArgs) -> Result<&Path> {
    let dir = output(args)?;
    create_dir(dir)?;
    Ok(dir)
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))
}

fn url(args: &ExportArgs) -> Result<&str> {
    let to = destination(args);
    let missing = || format!("--to {to}: give the server's URL with --url");
    args.url.as_deref().with_context(missing)
}

fn write(path: &Path, text: String) -> Result<()> {
    write_file(path, (text + "\n").as_bytes())
}

fn token(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|t| !t.is_empty())
}

/// `--label KEY=VALUE` pairs.
fn labels(args: &ExportArgs) -> Result<Vec<(String, String)>> {
    let pair = |l: &String| match l.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => bail!("--label {l:?}: write KEY=VALUE"),
    };
    args.label.iter().map(pair).collect()
}

/// Runs `perfhub export`.
pub fn export(mut args: ExportArgs) -> Result<Outcome> {
    let many = matches!(
        args.to,
        Destination::Ical | Destination::Taskwarrior | Destination::Todotxt | Destination::Review
    );
    if !many && args.inputs.len() != 1 {
        bail!(
            "this destination takes one input, not {}",
            args.inputs.len()
        );
    }
    args.input = args.inputs[0].clone();
    match args.to {
        Destination::Bencher => {
            let report = read_report(&args.input)?;
            write(
                output_file(&args)?,
                perfhub_adapter_ci::bmf::to_bmf_json(&report)?,
            )?;
        }
        Destination::GithubActionBenchmark => {
            let report = read_report(&args.input)?;
            let gab = perfhub_adapter_ci::gab::to_gab(&report);
            let json = if args.bigger_is_better {
                gab.bigger_is_better_json()?
            } else {
                gab.smaller_is_better_json()?
            };
            write(output_file(&args)?, json)?;
        }
        Destination::Mlflow => mlflow(&args)?,
        Destination::Pyroscope => pyroscope(&args)?,
        Destination::Prometheus | Destination::Openmetrics | Destination::Pushgateway => {
            prometheus(&args)?;
        }
        Destination::Textfile => {
            let report = read_report(&args.input)?;
            let dir = output_dir(&args)?;
            let path = perfhub_adapter_prometheus::write_textfile(dir, &args.job, &report)?;
            eprintln!("wrote {}", path.display());
        }
        Destination::Ical
        | Destination::Taskwarrior
        | Destination::Todotxt
        | Destination::Review => workflow(&args)?,
        Destination::Datapackage | Destination::Rocrate => research(&args)?,
    }
    Ok(Outcome::Success)
}

fn mlflow(args: &ExportArgs) -> Result<()> {
    use perfhub_adapter_mlflow::{MlflowConfig, TOKEN_ENV, log_report};
    let report = read_report(&args.input)?;
    let mut cfg = MlflowConfig::new(url(args)?, args.experiment.clone());
    cfg.run_name = args.run_name.clone();
    cfg.token = token(TOKEN_ENV);
    cfg.timeout = args.timeout;
    cfg.retries = args.retries;
    let run = log_report(&cfg, &report)
        .with_context(|| format!("cannot log {} to MLflow", args.input.display()))?;
    eprintln!("logged to MLflow: run {} ({})", run.run_id, run.url);
    Ok(())
}

/// Prometheus's text formats into a file, or to a Pushgateway.
fn prometheus(args: &ExportArgs) -> Result<()> {
    use perfhub_adapter_prometheus::{Format, PushConfig, exposition, push};
    let report = read_report(&args.input)?;
    let format = match args.to {
        Destination::Prometheus => Format::Prometheus,
        Destination::Openmetrics => Format::OpenMetrics,
        _ => {
            let mut cfg = PushConfig::new(url(args)?, args.job.clone());
            cfg.grouping = labels(args)?;
            cfg.timeout = args.timeout;
            cfg.retries = args.retries;
            let pushed = push(&cfg, &report).with_context(|| {
                format!("cannot push {} to the Pushgateway", args.input.display())
            })?;
            eprintln!("pushed to {} ({} attempt(s))", pushed.url, pushed.attempts);
            return Ok(());
        }
    };
    let text = exposition(std::slice::from_ref(&report), format);
    write_file(output_file(args)?, text.as_bytes())
}

/// Budget breaches and regressions as tasks, or the weekly review.
fn workflow(args: &ExportArgs) -> Result<()> {
    use perfhub_adapter_workflow::{
        TaskOptions, ical_todos, taskwarrior_json, todo_txt, weekly_review,
    };
    let reports = args
        .inputs
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<_>>>()?;
    let options = TaskOptions {
        project: args.project.clone(),
        ..TaskOptions::default()
    };
    let text = match args.to {
        Destination::Ical => ical_todos(&reports, &options)?,
        Destination::Taskwarrior => taskwarrior_json(&reports, &options)?,
        Destination::Todotxt => todo_txt(&reports, &options)?,
        _ => weekly_review(&reports)?,
    };
    write_file(output_file(args)?, text.as_bytes())
}

/// A data package, or an RO-Crate of one.
fn research(args: &ExportArgs) -> Result<()> {
    use perfhub_adapter_research::{
        CrateOptions, PackageOptions, write_data_package, write_ro_crate,
    };
    let report = read_report(&args.input)?;
    let dir = output_dir(args)?;
    let files = if args.to == Destination::Datapackage {
        write_data_package(dir, &report, &PackageOptions::default())?
    } else {
        let options = CrateOptions {
            end_time: Some(perfhub_probe::env::now_rfc3339()),
            ..CrateOptions::default()
        };
        write_ro_crate(dir, &report, &options)?
    };
    eprintln!("wrote {} files into {}", files.len(), dir.display());
    Ok(())
}

fn pyroscope(args: &ExportArgs) -> Result<()> {
    use perfhub_adapter_pyroscope::{
        ProfileSource, PyroscopeConfig, TOKEN_ENV, upload_folded, upload_pprof,
    };
    let app = args
        .app
        .as_deref()
        .context("--to pyroscope: give the application's name with --app")?;
    let labels = labels(args)?;
    let source = ProfileSource::locate(&args.input, args.duration)?;
    let file = &source.file;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut cfg = PyroscopeConfig::new(url(args)?, app, source.from, source.until);
    cfg.labels = labels.into_iter().collect();
    cfg.token = token(TOKEN_ENV);
    cfg.timeout = args.timeout;
    cfg.retries = args.retries;
    if source.is_pprof(&bytes) {
        upload_pprof(&cfg, &bytes)
    } else {
        let text = String::from_utf8(bytes)
            .with_context(|| format!("{}: neither pprof nor folded stacks", file.display()))?;
        upload_folded(&cfg, &text)
    }
    .with_context(|| format!("cannot upload {} to Pyroscope", file.display()))?;
    eprintln!("uploaded {} to Pyroscope as {app}", file.display());
    Ok(())
}
