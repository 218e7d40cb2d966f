//! `perfhub load`: HTTP load tests toward latency budgets, and
//! `perfhub load merge` for tests run by several processes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use perfhub_core::budget::{Budget, BudgetError, BudgetVerdict};
use perfhub_core::report::Report;
use perfhub_core::time::UtcTime;
use perfhub_core::units::parse_duration_at_most;
use perfhub_load::engine::{
    Interval, LoadConfig, MAX_THINK_TIME, MAX_TIMEOUT, Model, Progress, Segment, Stage,
    parse_start_at, run,
};
use perfhub_load::report::evaluate_budgets;
use perfhub_load::request::{
    Check, Method, RequestSpec, parse_header, parse_status_range, parse_url,
};
use perfhub_load::scenario::{LoadDefaults, Mode, load_scenario};
use perfhub_load::watch::BreachWatch;
use perfhub_probe::env::{EnvConfig, collect};

use crate::Outcome;
use crate::cmd_run::parse_duration;
use crate::report_io::write_file;

/// Load-test an HTTP service toward latency budgets.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Without --rate, each connection sends as soon as its previous response is in (closed model, like wrk). With --rate (or --stage), requests arrive on a schedule and latency is measured from each request's intended send time, so a server that stalls is charged for every request it held up (coordinated omission corrected, like wrk2); the service time from the actual send is shown beside it.\n\nBudgets use perfhub's syntax (--budget 'p95 < 200ms', --budget 'error_rate < 0.1%') or k6's (--threshold 'p(95)<200'); exit code 3 when one is breached, 1 when perfhub itself fails. A host name is resolved by the system resolver and connections are spread over all its addresses (IPv4 and IPv6); --resolve pins a name to an address.\n\nLimits: --duration (or the stages in all) and --abort-on-breach at most 720h (30 days); --timeout and --think-time at most 1h; the same in a scenario file's [load] table.\n\nExamples:\n  perfhub load http://127.0.0.1:8080/ --connections 64 --duration 30s\n  perfhub load http://127.0.0.1:8080/api --rate 5000 --duration 1m --budget 'p95 < 200ms' --budget 'error_rate < 0.1%'\n  perfhub load http://127.0.0.1:8080/ --stage 30s:1000 --stage 1m:1000 --stage 30s:0\n  perfhub load http://127.0.0.1:8080/ --rate 20000 --segment 1/4 --start-at 2026-12-05T14:00:00Z --export-json part1.json\n  perfhub load merge part*.json --budget 'p99 < 1s'"
)]
pub struct LoadArgs {
    #[command(subcommand)]
    command: Option<LoadCommand>,

    /// The URL to load (http:// or https://, any host).
    #[arg(
        value_name = "URL",
        required_unless_present = "scenario",
        conflicts_with = "scenario"
    )]
    url: Option<String>,

    /// A scenario file (TOML): named requests with weights or in sequence,
    /// variables, budgets per endpoint; flags override its [load] table.
    #[arg(short, long, value_name = "FILE")]
    scenario: Option<PathBuf>,

    /// Keep-alive connections [default: 64].
    #[arg(short, long, value_name = "N")]
    connections: Option<usize>,

    /// How long to send requests [default: 10s; at most 720h, 30 days].
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// A constant arrival rate, requests per second (open model).
    #[arg(short, long, value_name = "PER_SECOND")]
    rate: Option<f64>,

    /// Stop after exactly N iterations shared by the connections (k6's
    /// shared-iterations): N runs of a sequence scenario's requests, or N
    /// requests otherwise. Closed model; --duration is then the longest
    /// the test may take [default: 10m].
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,

    /// Virtual users (connections) at the start of a --vus-stage ramp
    /// (k6's startVUs) [default: 1]; without --vus-stage, the same as
    /// --connections.
    #[arg(long, value_name = "N")]
    vus: Option<usize>,

    /// A virtual user stage DURATION:USERS, such as 30s:50: the active
    /// users ramp linearly to USERS over DURATION (closed model, k6's
    /// ramping-vus; repeat for several, from --vus). Connections beyond
    /// the users of the moment are closed and wait; a sequence scenario's
    /// user finishes its iteration first. The test lasts as long as the
    /// stages unless --duration is longer.
    #[arg(long = "vus-stage", value_name = "DURATION:USERS", value_parser = |t: &str| Stage::parse(t, "USERS"))]
    vu_stages: Vec<Stage>,

    /// A ramp stage DURATION:RATE, such as 30s:1000 (open model; repeat
    /// for several, starting from --rate or 0; the stages add up to 720h,
    /// 30 days, at most).
    #[arg(long = "stage", value_name = "DURATION:RATE", value_parser = |t: &str| Stage::parse(t, "RATE"))]
    stages: Vec<Stage>,

    /// A pause after each response before the next request (closed model;
    /// at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = |t: &str| parse_duration_at_most(t, MAX_THINK_TIME))]
    think_time: Duration,

    /// Worker threads (default: one per core).
    #[arg(short, long, value_name = "N")]
    threads: Option<usize>,

    /// Longest wait for a connection or a whole response [default: 5s; at
    /// most 1h].
    #[arg(long, value_name = "DURATION", value_parser = |t: &str| parse_duration_at_most(t, MAX_TIMEOUT))]
    timeout: Option<Duration>,

    /// With --rate or --stage: how long after the duration requests that
    /// were due before its end may still be sent, their latency counted
    /// from their intended time (k6's gracefulStop) [default: the timeout].
    /// Only what is not sent by then is dropped.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    grace: Option<Duration>,

    /// Trust the certificates in this PEM file too, for an https:// target
    /// (such as the one `perfhub serve --tls --cert-out FILE` writes).
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,

    /// Do not verify an https:// target's certificate at all.
    #[arg(long)]
    insecure: bool,

    /// Speak HTTP/2: by ALPN over https://, with prior knowledge (h2c) over
    /// http://. Each connection keeps one request in flight, as with
    /// HTTP/1.1, or up to --streams.
    #[arg(long)]
    http2: bool,

    /// With --http2: requests in flight on each connection at once, each on
    /// a stream of its own (h2load's -m), at most 1000 and never more than
    /// the server's SETTINGS_MAX_CONCURRENT_STREAMS. In the open model the
    /// schedule's arrivals go to the streams in turn.
    #[arg(long, value_name = "N", default_value_t = 1)]
    streams: usize,

    /// Send to ADDR instead of what the resolver gives for HOST:PORT, as
    /// curl's --resolve: for testing a host before DNS points at it
    /// (repeatable; ADDR may be a comma-separated list, IPv6 in brackets).
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    resolve: Vec<perfhub_load::request::Pin>,

    /// The HTTP method.
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET")]
    method: String,

    /// A request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,

    /// The request body.
    #[arg(long, value_name = "TEXT", conflicts_with = "body_file")]
    body: Option<String>,

    /// The request body, from a file.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,

    /// Statuses that pass the check, such as 200 or 200-299 (repeatable;
    /// default 200-399).
    #[arg(long = "expect-status", value_name = "CODES", value_parser = parse_status_range)]
    expect_status: Vec<(u16, u16)>,

    /// Text each response body must contain.
    #[arg(long, value_name = "TEXT")]
    expect_body: Option<String>,

    /// A header each response must have.
    #[arg(long, value_name = "NAME")]
    expect_header: Option<String>,

    /// A budget in perfhub's syntax, such as 'p95 < 200ms' (repeatable).
    #[arg(short, long = "budget", value_name = "BUDGET")]
    budgets: Vec<String>,

    /// A threshold in k6's syntax, such as 'p(95)<200' (repeatable).
    #[arg(long = "threshold", value_name = "THRESHOLD")]
    thresholds: Vec<String>,

    /// Stop as soon as an overall budget is breached over the last WINDOW
    /// of the run (such as 10s, at most 720h), evaluated every second; exit
    /// code 3.
    #[arg(long, value_name = "WINDOW", value_parser = parse_duration)]
    abort_on_breach: Option<Duration>,

    /// Run this share of the test: segment i of N (each sends every N-th
    /// request of the schedule); merge the reports with `perfhub load merge`.
    #[arg(long, value_name = "i/N", value_parser = Segment::parse)]
    segment: Option<Segment>,

    /// Start the schedule at this instant: RFC 3339 (2026-12-05T14:00:00Z)
    /// or +DURATION from now (+30s). Give every segment of a distributed
    /// test the same time and, however far apart they are started, they
    /// send one test's schedule between them; `load merge` checks it.
    #[arg(long, value_name = "TIME", value_parser = |t: &str| parse_start_at(t, SystemTime::now()))]
    start_at: Option<SystemTime>,

    /// Write the report (JSON) here.
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,

    /// Write the latency histograms here, in the HdrHistogram interval log
    /// format: one per second, then the whole run per endpoint (tagged).
    #[arg(long, value_name = "FILE")]
    hdr_log: Option<PathBuf>,

    /// No live progress, even on a terminal.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Subcommand)]
enum LoadCommand {
    /// Merge the reports of a test run in segments: histograms merged
    /// exactly, counts added, budgets evaluated on the result.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// The segments' reports (from --export-json).
    #[arg(value_name = "REPORT", required = true)]
    reports: Vec<PathBuf>,

    /// A budget in perfhub's syntax (repeatable).
    #[arg(short, long = "budget", value_name = "BUDGET")]
    budgets: Vec<String>,

    /// A threshold in k6's syntax (repeatable).
    #[arg(long = "threshold", value_name = "THRESHOLD")]
    thresholds: Vec<String>,

    /// Write the merged report here.
    #[arg(long, value_name = "FILE")]
    export_json: Option<PathBuf>,
}

fn parse_budgets(budgets: &[String], thresholds: &[String]) -> Result<Vec<Budget>> {
    budgets
        .iter()
        .chain(thresholds)
        .map(|text| {
            Budget::parse(text).map_err(|e| {
                anyhow::anyhow!(
                    "bad budget {text:?}: {}\n  {}\n  {}",
                    e.message(),
                    e.input(),
                    e.caret_line()
                )
            })
        })
        .collect()
}

/// The budgets of a scenario file, a wrong one named with the file.
fn file_budgets(path: &Path, texts: &[String]) -> Result<Vec<Budget>> {
    let parse = |text: &String| {
        Budget::parse(text).map_err(|e| {
            anyhow::anyhow!("{}: bad budget {text:?}: {}", path.display(), e.message())
        })
    };
    texts.iter().map(parse).collect()
}

/// The budgets of each request that has some, by `prefix` and its name.
fn request_budgets(
    prefix: &str,
    requests: &[RequestSpec],
    per_endpoint: &mut Vec<(String, Vec<Budget>)>,
) -> Result<()> {
    for r in requests.iter().filter(|r| !r.budgets.is_empty()) {
        let budgets = parse_budgets(&r.budgets, &[])?;
        per_endpoint.push((format!("{prefix}{}", r.name), budgets));
    }
    Ok(())
}

/// Judges the budgets, stores their verdicts in the report when they could
/// be judged, and writes the report where asked: what was measured is
/// written before anything can fail.
fn judge_and_export(
    export: Option<&Path>,
    report: &mut Report,
    budgets: &[Budget],
    per_endpoint: &[(String, Vec<Budget>)],
) -> Result<BudgetResult> {
    let budget_result = evaluate_budgets(report, budgets, per_endpoint);
    if let Ok(verdicts) = &budget_result {
        report.budgets = verdicts.clone();
    }
    if let Some(path) = export {
        write_file(path, (report.to_json() + "\n").as_bytes())?;
    }
    Ok(budget_result)
}

/// The verdicts of the budgets, or why they could not be judged.
type BudgetResult = std::result::Result<Vec<BudgetVerdict>, BudgetError>;

fn request_of(args: &LoadArgs, url: &str) -> Result<RequestSpec> {
    let mut spec = RequestSpec::get(parse_url(url)?);
    spec.method = Method::parse(&args.method)?;
    for h in &args.headers {
        spec.headers
            .push(parse_header(h).map_err(anyhow::Error::msg)?);
    }
    if let Some(body) = &args.body {
        spec.body = body.clone().into_bytes();
    }
    if let Some(path) = &args.body_file {
        spec.body =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    if !args.expect_status.is_empty() {
        spec.checks = vec![Check::Status(args.expect_status.clone())];
    }
    if let Some(text) = &args.expect_body {
        spec.checks.push(Check::BodyContains(text.clone()));
    }
    if let Some(name) = &args.expect_header {
        spec.checks.push(Check::HeaderPresent(name.clone()));
    }
    Ok(spec)
}

/// Watches the run interval by interval: live progress on a terminal
/// (rate, p95, errors), Ctrl-C, and with `--abort-on-breach`, the overall
/// budgets over the last window of the run.
struct Monitor {
    show: bool,
    completed: u64,
    /// With --abort-on-breach, the budgets judged over a sliding window.
    watch: Option<BreachWatch>,
}

impl Progress for Monitor {
    fn interval(&mut self, i: &Interval) {
        self.completed += i.latency.len();
        if self.show {
            eprint!(
                "\r\x1b[K{:>5.0}s  {:>8} req/s  p95 {:>9}  failed {}  total {}",
                (i.start + i.length).as_secs_f64(),
                (i.latency.len() as f64 / i.length.as_secs_f64()).round(),
                perfhub_core::units::Unit::Seconds
                    .format(i.latency.value_at_quantile(0.95).as_secs_f64()),
                i.errors + i.check_failures,
                self.completed
            );
        }
        if let Some(watch) = &mut self.watch {
            watch.observe(i);
        }
    }

    fn should_stop(&mut self) -> bool {
        crate::interrupt::requested() || self.breach().is_some()
    }
}

impl Monitor {
    /// The budget breached over a window, and when.
    fn breach(&self) -> Option<String> {
        self.watch
            .as_ref()
            .and_then(|w| w.breach())
            .map(str::to_string)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if self.show {
            eprint!("\r\x1b[K");
        }
    }
}

/// The open model with a rate or stages (flags over the scenario's), else
/// the closed one.
fn model(args: &LoadArgs, defaults: &LoadDefaults) -> Model {
    let rate = args.rate.or(defaults.rate);
    let stages = if args.stages.is_empty() {
        defaults.stages.clone()
    } else {
        args.stages.clone()
    };
    match (rate, stages.is_empty()) {
        (None, true) => Model::Closed {
            think_time: args.think_time,
        },
        (rate, _) => Model::Open {
            start: rate.unwrap_or(0.0),
            stages,
        },
    }
}

/// The engine's configuration: the flags, over the scenario's `[load]`
/// defaults, over perfhub's.
fn build_config(
    args: &LoadArgs,
    requests: Vec<RequestSpec>,
    sequence: bool,
    defaults: &LoadDefaults,
    flow: Option<std::sync::Arc<perfhub_load::flow::Flow>>,
) -> LoadConfig {
    let model = model(args, defaults);
    let base = LoadConfig::default();
    let threads = args.threads.unwrap_or(base.threads);
    let iterations = args.iterations.or(defaults.iterations);
    let vu_stages = if args.vu_stages.is_empty() {
        defaults.vu_stages.clone()
    } else {
        args.vu_stages.clone()
    };
    let vus = args.vus.or(defaults.vus.map(|v| v as usize));
    let ramp = (!vu_stages.is_empty()).then(|| perfhub_load::engine::VuRamp {
        start: vus.unwrap_or(1) as f64,
        stages: vu_stages,
    });
    let connections = match (&ramp, args.connections) {
        (_, Some(c)) => c,
        (Some(r), None) => r.most().ceil().max(1.0) as usize,
        (None, None) => vus
            .or(defaults.connections.map(|c| c as usize))
            .unwrap_or(base.connections),
    };
    LoadConfig {
        requests,
        sequence,
        model,
        // With --iterations the duration is the longest the test may take
        // (k6's maxDuration, 10 minutes by default).
        duration: args
            .duration
            .or(defaults.duration)
            .unwrap_or(match (&ramp, iterations) {
                // A ramp lasts as long as its stages, as k6's ramping-vus.
                (Some(r), _) => r.stages.iter().map(|s| s.duration).sum(),
                (None, Some(_)) => Duration::from_secs(600),
                (None, None) => base.duration,
            }),
        connections,
        threads,
        timeout: args.timeout.or(defaults.timeout).unwrap_or(base.timeout),
        segment: args.segment.unwrap_or(base.segment),
        interval: base.interval,
        tls: perfhub_load::tls::TlsOptions {
            ca_file: args.cacert.clone(),
            insecure: args.insecure,
        },
        http2: args.http2,
        streams: args.streams,
        resolve: args.resolve.clone(),
        grace: args.grace,
        start_at: args.start_at,
        flow,
        iterations,
        ramp,
        environment: base.environment,
    }
}

/// Runs `perfhub load` or `perfhub load merge`.
pub fn load(args: LoadArgs) -> Result<Outcome> {
    if let Some(LoadCommand::Merge(m)) = &args.command {
        return merge(m);
    }
    let mut budgets = parse_budgets(&args.budgets, &args.thresholds)?;
    let mut per_endpoint = Vec::new();
    let (requests, sequence, defaults, flow) = match (&args.scenario, &args.url) {
        (Some(path), _) => {
            let scenario = load_scenario(path)?;
            if !scenario.named.is_empty() {
                return load_named(&args, path, scenario, budgets);
            }
            budgets.extend(file_budgets(path, &scenario.budgets)?);
            request_budgets("", &scenario.requests, &mut per_endpoint)?;
            (
                scenario.requests,
                scenario.mode == Mode::Sequence,
                scenario.load,
                scenario.flow.map(std::sync::Arc::new),
            )
        }
        (None, Some(url)) => (
            vec![request_of(&args, url)?],
            false,
            LoadDefaults::default(),
            None,
        ),
        (None, None) => {
            bail!("give the URL to load, such as http://127.0.0.1:8080/, or --scenario FILE")
        }
    };
    let config = build_config(&args, requests, sequence, &defaults, flow);
    crate::interrupt::install();
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let mut monitor = Monitor {
        show,
        completed: 0,
        watch: args
            .abort_on_breach
            .map(|window| BreachWatch::new(window, budgets.clone())),
    };
    let outcome = run(&config, &mut monitor)?;
    let breach = monitor.breach();
    drop(monitor);
    // The outcome's report holds the endpoints, `total` and the environment.
    let mut report = outcome.report.clone();
    if let Some(why) = &breach {
        report.notes.push(perfhub_core::report::Note::warning(
            "budget_breached_early",
            why.clone(),
        ));
    }
    let budget_result = judge_and_export(
        args.export_json.as_deref(),
        &mut report,
        &budgets,
        &per_endpoint,
    )?;
    if let Some(path) = &args.hdr_log {
        let mut bytes = Vec::new();
        perfhub_load::report::write_hdr_log(&mut bytes, &config, &outcome)
            .context("cannot encode the histogram log")?;
        write_file(path, &bytes)?;
    }
    conclude(&report, &outcome.failures, budget_result, breach.is_some())
}

/// Prints the report and decides how `perfhub load` ends: an engine that
/// failed is an error whatever the budgets say (what it would have counted
/// is missing); then interrupted, a budget breached, or success.
fn conclude(
    report: &Report,
    failures: &[String],
    budget_result: BudgetResult,
    breached_early: bool,
) -> Result<Outcome> {
    crate::render::print_load(report, crate::render::color())?;
    if !failures.is_empty() {
        bail!(
            "the load test failed: {}; the counts above miss what it would have counted, so they are not a result (a bug in perfhub: please report it with this message)",
            failures.join("; ")
        );
    }
    let verdicts = budget_result.context("cannot evaluate budgets")?;
    if crate::interrupt::requested() {
        return Ok(Outcome::Interrupted);
    }
    if breached_early || verdicts.iter().any(|v| !v.passed) {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}

/// A file of several named scenarios: all run at once, each reported as
/// `NAME/...`, and all together as `total`.
fn load_named(
    args: &LoadArgs,
    path: &Path,
    scenario: perfhub_load::scenario::Scenario,
    mut budgets: Vec<Budget>,
) -> Result<Outcome> {
    if args.hdr_log.is_some() {
        bail!(
            "--hdr-log writes one test's histograms: give a scenario file with one scenario, or leave it out"
        );
    }
    budgets.extend(file_budgets(path, &scenario.budgets)?);
    let mut per_endpoint = Vec::new();
    let mut configs = Vec::with_capacity(scenario.named.len());
    for (name, s) in scenario.named {
        let mine = file_budgets(path, &s.budgets)?;
        if !mine.is_empty() {
            per_endpoint.push((format!("{name}/total"), mine));
        }
        request_budgets(&format!("{name}/"), &s.requests, &mut per_endpoint)?;
        let sequence = s.mode == Mode::Sequence;
        let flow = s.flow.map(std::sync::Arc::new);
        configs.push((
            name,
            build_config(args, s.requests, sequence, &s.load, flow),
        ));
    }
    crate::interrupt::install();
    let environment = std::thread::spawn(|| collect(EnvConfig::default()));
    // The environment is recorded once, for the whole file.
    let only: Vec<LoadConfig> = configs
        .iter()
        .map(|(_, c)| LoadConfig {
            environment: false,
            ..c.clone()
        })
        .collect();
    let outcomes = perfhub_load::engine::run_many(&only, &crate::interrupt::requested);
    let mut done = Vec::with_capacity(configs.len());
    for ((name, config), outcome) in configs.iter().zip(outcomes) {
        let outcome = outcome.with_context(|| format!("scenario {name}"))?;
        done.push((name.as_str(), config, outcome));
    }
    let named: Vec<(&str, &LoadConfig, &perfhub_load::engine::LoadOutcome)> =
        done.iter().map(|(n, c, o)| (*n, *c, o)).collect();
    let mut report = perfhub_load::report::build_named_report(&named, UtcTime::now());
    report.environment = environment.join().ok();
    let budget_result = judge_and_export(
        args.export_json.as_deref(),
        &mut report,
        &budgets,
        &per_endpoint,
    )?;
    let failures: Vec<String> = done
        .iter()
        .flat_map(|(name, _, o)| o.failures.iter().map(move |f| format!("{name}: {f}")))
        .collect();
    conclude(&report, &failures, budget_result, false)
}

fn merge(args: &MergeArgs) -> Result<Outcome> {
    let budgets = parse_budgets(&args.budgets, &args.thresholds)?;
    // One report in memory at a time, besides what is merged so far.
    let mut merger = perfhub_load::merge::Merger::new();
    for path in &args.reports {
        merger.add(path, &crate::report_io::read_report(path)?)?;
    }
    let mut merged = merger.finish(UtcTime::now())?;
    let verdicts = evaluate_budgets(&merged, &budgets, &[]).context("cannot evaluate budgets")?;
    merged.budgets = verdicts.clone();
    if let Some(path) = &args.export_json {
        write_file(path, (merged.to_json() + "\n").as_bytes())?;
    }
    crate::render::print_load(&merged, crate::render::color())?;
    if verdicts.iter().any(|v| !v.passed) {
        return Ok(Outcome::BudgetBreached);
    }
    Ok(Outcome::Success)
}
