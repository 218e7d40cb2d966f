//! `perfhub history`: record reports into the history, list runs, show trends.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use perfhub_history::chart::short_commit;
use perfhub_history::{
    DEFAULT_LOCATION, HistoryStore, RunFilter, RunMeta, SeriesFilter, svg_chart,
};

use crate::Outcome;

/// Record reports into the history and show their trends.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    action: HistoryAction,
}

#[derive(Debug, Subcommand)]
enum HistoryAction {
    /// Record a report as one run of the history.
    Record(RecordArgs),
    /// List recorded runs, newest first.
    List(ListArgs),
    /// Show each benchmark's trend: latest value, change and a sparkline.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct Location {
    /// The history: an SQLite file or a postgres:// URL [default: $PERFHUB_HISTORY, else
    /// .perfhub/history.db].
    #[arg(long = "history", value_name = "LOCATION")]
    history: Option<String>,
}

impl Location {
    fn resolve(&self) -> String {
        self.history
            .clone()
            .or_else(|| std::env::var("PERFHUB_HISTORY").ok())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| DEFAULT_LOCATION.to_string())
    }

    fn open(&self) -> Result<HistoryStore> {
        let location = self.resolve();
        HistoryStore::open(&location).context("cannot open the history")
    }
}

#[derive(Debug, Args)]
struct RecordArgs {
    /// The perfhub report (JSON) to record.
    #[arg(value_name = "REPORT")]
    report: PathBuf,

    #[command(flatten)]
    location: Location,

    /// The commit measured [default: the report's, else `git rev-parse HEAD` here].
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,

    /// The branch measured [default: the report's, else `git branch --show-current` here].
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,

    /// The machine's fingerprint [default: the report's environment fingerprint].
    #[arg(long, value_name = "FINGERPRINT")]
    machine: Option<String>,

    /// When the run was taken, RFC 3339 [default: the report's creation time].
    #[arg(long, value_name = "TIME")]
    time: Option<String>,

    /// Where the run came from (a CI job, a message) [default: the report's file name].
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    location: Location,

    /// Only runs with a benchmark whose name contains this text.
    #[arg(short, long, value_name = "NAME")]
    benchmark: Option<String>,

    /// Only runs on this branch.
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,

    /// Only runs on this machine (fingerprint).
    #[arg(long, value_name = "FINGERPRINT")]
    machine: Option<String>,

    /// Only runs of this commit (a prefix is enough).
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,

    /// Show at most this many runs, the newest.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 20)]
    limit: usize,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    location: Location,

    /// Benchmarks whose name contains this text (repeatable) [default: all].
    #[arg(short, long = "benchmark", value_name = "NAME")]
    benchmarks: Vec<String>,

    /// The metric to show [default: each benchmark's primary metric].
    #[arg(short, long, value_name = "METRIC")]
    metric: Option<String>,

    /// Only runs on this branch.
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,

    /// Only runs on this machine (fingerprint).
    #[arg(long, value_name = "FINGERPRINT")]
    machine: Option<String>,

    /// The newest N runs of each benchmark.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 30)]
    limit: usize,

    /// Also draw the trends as an SVG line chart into this file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

/// Runs `perfhub history`.
pub fn history(args: HistoryArgs) -> Result<Outcome> {
    match args.action {
        HistoryAction::Record(a) => record(&a),
        HistoryAction::List(a) => list(&a),
        HistoryAction::Show(a) => show(&a),
    }
}

fn record(args: &RecordArgs) -> Result<Outcome> {
    let report = crate::report_io::read_report(&args.report)?;
    let from_report = RunMeta::from_report(&report);
    // Asked of git only for what neither the flags nor the report give.
    let git = || perfhub_probe::git::read(Path::new("."));
    let meta = RunMeta {
        commit: args
            .commit
            .clone()
            .or(from_report.commit)
            .or_else(|| git().commit),
        branch: args
            .branch
            .clone()
            .or(from_report.branch)
            .or_else(|| git().branch),
        machine: args.machine.clone().or(from_report.machine),
        time: args.time.clone().or(from_report.time),
        source: args
            .source
            .clone()
            .or_else(|| Some(args.report.display().to_string())),
    };
    let mut store = args.location.open()?;
    let id = store
        .record(&report, &meta)
        .with_context(|| format!("cannot record {}", args.report.display()))?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "recorded run {id} ({} benchmarks, commit {}, branch {}) in {}",
        report.benchmarks.len(),
        meta.commit.as_deref().map_or("unknown", short_commit),
        meta.branch.as_deref().unwrap_or("unknown"),
        store.location()
    )?;
    Ok(Outcome::Success)
}

fn list(args: &ListArgs) -> Result<Outcome> {
    let mut store = args.location.open()?;
    let runs = store
        .runs(&RunFilter {
            branch: args.branch.clone(),
            machine: args.machine.clone(),
            commit: args.commit.clone(),
            benchmark: args.benchmark.clone(),
            limit: Some(args.limit),
        })
        .context("cannot read the history")?;
    let mut out = io::stdout().lock();
    if runs.is_empty() {
        writeln!(out, "no runs match in {}", store.location())?;
        return Ok(Outcome::Success);
    }
    perfhub_history::table::write_runs(&mut out, &runs)?;
    Ok(Outcome::Success)
}

fn show(args: &ShowArgs) -> Result<Outcome> {
    let mut store = args.location.open()?;
    let filter = SeriesFilter {
        branch: args.branch.clone(),
        machine: args.machine.clone(),
        limit: Some(args.limit),
    };
    let keys = store
        .series_keys(&filter)
        .context("cannot read the history")?;
    let keys: Vec<_> = keys
        .into_iter()
        .filter(|k| {
            args.benchmarks.is_empty() || args.benchmarks.iter().any(|b| k.benchmark.contains(b))
        })
        .filter(|k| match &args.metric {
            Some(m) => &k.metric == m,
            None => k.primary,
        })
        .collect();
    if keys.is_empty() {
        let what = match &args.metric {
            Some(m) => format!("metric {m}"),
            None => "primary metric".to_string(),
        };
        bail!(
            "no benchmark with a recorded {what} matches in {}",
            store.location()
        );
    }
    let mut all = Vec::new();
    for k in &keys {
        let series = store
            .series(&k.benchmark, &k.metric, &filter)
            .context("cannot read the history")?;
        all.push(series);
    }

    let mut out = io::stdout().lock();
    perfhub_history::table::write_trends(&mut out, &all)?;

    if let Some(path) = &args.svg {
        let (drawn, left_out) = perfhub_history::chart::split_by_unit(all);
        if !left_out.is_empty() {
            let names: Vec<&str> = left_out.iter().map(|s| s.benchmark.as_str()).collect();
            let _ = writeln!(
                io::stderr(),
                "perfhub: warning: the chart has one unit; left out {}",
                names.join(", ")
            );
        }
        crate::report_io::write_file(path, svg_chart(&drawn).as_bytes())?;
        writeln!(out, "chart written to {}", path.display())?;
    }
    Ok(Outcome::Success)
}
