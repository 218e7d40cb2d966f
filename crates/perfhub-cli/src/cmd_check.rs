//! `perfhub check` runs a project's plan (`perfhub.toml`), and `perfhub init`
//! writes a starter plan.
//!
//! Each step runs as a `perfhub` subcommand of its own (the same binary), so
//! a step behaves exactly as the command would on the command line, prints
//! what it prints, and leaves its own report in the output directory. The
//! steps' reports are then combined into one report of kind `check`, with
//! the Performance Score and the plan's budgets on the key figures, recorded
//! into the history, drawn as `report.html` and pushed to the exports.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use perfhub_core::budget::Budget;
use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::score::{ScoreTargets, performance_score};
use perfhub_core::units::Unit;

use crate::Outcome;
use crate::exit_codes;
use crate::plan::{Plan, StepKind, load_plan};
use crate::report_io::{read_report, write_file, write_report};

/// Run the plan in perfhub.toml: every benchmark, load test and profile, budgets, score, report.html.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plan.
    #[arg(short, long, value_name = "FILE", default_value = "perfhub.toml")]
    config: PathBuf,

    /// Run only these steps (repeatable).
    #[arg(long, value_name = "STEP")]
    only: Vec<String>,

    /// Do not record into the history or compare with it.
    #[arg(long)]
    no_history: bool,
}

/// Write a commented starter perfhub.toml.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(short, long, value_name = "FILE", default_value = "perfhub.toml")]
    config: PathBuf,

    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

/// The starter plan `perfhub init` writes.
pub const STARTER: &str = include_str!("starter.toml");

/// Runs `perfhub init`.
pub fn init(args: InitArgs) -> Result<Outcome> {
    if args.config.exists() && !args.force {
        bail!(
            "{} exists already; pass --force to replace it",
            args.config.display()
        );
    }
    write_file(&args.config, STARTER.as_bytes())?;
    eprintln!(
        "wrote {}; run it with `perfhub check`",
        args.config.display()
    );
    Ok(Outcome::Success)
}

/// How one step ended.
struct StepResult {
    name: String,
    code: i32,
    report: Option<Report>,
    flamegraph: Option<PathBuf>,
    error: Option<String>,
    /// A load step's service under test: its CPU use over the test.
    service: Option<Benchmark>,
}

/// The benchmark of a load step that holds the CPU use of the service
/// under test (`<step>/service` in the check's report).
const SERVICE: &str = "service";

/// How often the service's CPU use is read from `/proc` during a load step.
const SERVICE_INTERVAL: Duration = Duration::from_millis(100);

/// Reads the pid in the first line of `path` and checks that the process
/// is there.
fn pid_from_file(path: &Path) -> Result<u32, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim();
    let pid: u32 = first
        .parse()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| {
            format!(
                "{} does not start with a pid (its first line is {first:?}): name the file your service writes its pid to",
                path.display()
            )
        })?;
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return Err(format!(
            "no process with pid {pid} (from {}): start the service first",
            path.display()
        ));
    }
    Ok(pid)
}

/// Samples the CPU use of `pid` and its children, from `/proc`, while a
/// load step runs.
struct ServiceProbe {
    pid: u32,
    what: String,
    timeline: Option<perfhub_probe::timeline::Timeline>,
    failure: Option<String>,
}

impl ServiceProbe {
    fn start(pid: u32, what: String) -> ServiceProbe {
        let config = perfhub_probe::timeline::TimelineConfig {
            interval: SERVICE_INTERVAL,
        };
        let (timeline, failure) = match perfhub_probe::timeline::Timeline::start(pid, config) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        };
        ServiceProbe {
            pid,
            what,
            timeline,
            failure,
        }
    }

    /// The service's benchmark: `cpu_utilization` (1 is one core) every
    /// [`SERVICE_INTERVAL`] of the test; named `name`.
    fn finish(self, name: &str) -> Result<Benchmark, String> {
        let points = match (self.timeline, self.failure) {
            (Some(t), _) => t.finish(),
            (None, Some(why)) => return Err(why),
            (None, None) => Vec::new(),
        };
        if points.is_empty() {
            return Err(format!(
                "no reading of the CPU use of {} (pid {}) came in during the test: did it exit?",
                self.what, self.pid
            ));
        }
        let mut b = Benchmark::new(name, metric::CPU_UTILIZATION);
        b.command = Some(self.what.clone());
        b.measurements.push(Measurement::from_samples(
            metric::CPU_UTILIZATION,
            Unit::Ratio,
            points.iter().map(|p| p.cpu_percent / 100.0).collect(),
        ));
        b.notes.push(Note::info(
            "service_cpu",
            format!(
                "the CPU use of {} (pid {}, with its children) while the load test ran, read from /proc every {} ms; 1 is one core",
                self.what,
                self.pid,
                SERVICE_INTERVAL.as_millis()
            ),
        ));
        Ok(b)
    }
}

fn perfhub_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot find the perfhub binary itself")
}

/// Checks that `url`'s host and port accept a TCP connection.
fn reachable(url: &str) -> Result<(), String> {
    let parsed = perfhub_load::request::parse_url(url).map_err(|e| e.to_string())?;
    let hostport = format!(
        "{}:{}",
        parsed.host_str().unwrap_or_default(),
        parsed.port_or_known_default().unwrap_or(80)
    );
    let addrs = hostport
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?;
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "{url} does not answer ({last}): start it, or fix the URL"
    ))
}

/// Runs `perfhub <args>` with the terminal's streams; its exit code.
fn run_perfhub(args: &[String], dir: Option<&Path>) -> Result<i32> {
    let mut cmd = Command::new(perfhub_exe()?);
    cmd.args(args).stdin(Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let status = cmd.status().context("cannot start perfhub")?;
    Ok(status.code().unwrap_or(exit_codes::ERROR))
}

/// `perfhub serve` on a free loopback port, stopped on drop.
struct Target {
    child: Child,
    url: String,
}

impl Target {
    fn start(args: &[String]) -> Result<Target> {
        let mut child = Command::new(perfhub_exe()?)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start perfhub serve")?;
        let mut line = String::new();
        let read = match child.stderr.take() {
            Some(stderr) => BufReader::new(stderr).read_line(&mut line).map(|_| ()),
            None => Err(std::io::Error::other(
                "no standard error to read the URL from",
            )),
        };
        if let Err(e) = read {
            let _ = child.kill();
            let _ = child.wait();
            bail!("perfhub serve did not say where it listens: {e}");
        }
        let Some(url) = line.split_whitespace().find(|w| w.starts_with("http")) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("perfhub serve did not start: {}", line.trim());
        };
        Ok(Target {
            url: url.trim_end_matches('/').to_string(),
            child,
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_step(plan: &Plan, step: &crate::plan::Step, dir: &Path) -> Result<StepResult> {
    let base = plan.file.parent().unwrap_or(Path::new("")).to_path_buf();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    let mut result = StepResult {
        name: step.name.clone(),
        code: 0,
        report: None,
        flamegraph: None,
        error: None,
        service: None,
    };
    if let Some(build) = &step.build {
        eprintln!("perfhub check: {}: building: {build}", step.name);
        let status = Command::new("sh")
            .args(["-c", build])
            .current_dir(&base)
            .status()
            .context("cannot start sh")?;
        if !status.success() {
            result.code = exit_codes::ERROR;
            result.error = Some(format!(
                "{}:{}: [{}] build: `{build}` failed ({status})",
                plan.file.display(),
                step.line,
                step.name
            ));
            return Ok(result);
        }
    }
    let json = dir.join(format!("{}.json", step.name));
    let mut service_failure = None;
    let s = |x: &str| x.to_string();
    let code = match &step.kind {
        StepKind::Run { args } => {
            let mut a = vec![s("run"), s("--export-json"), json.display().to_string()];
            a.extend(args.iter().cloned());
            run_perfhub(&a, Some(&base))?
        }
        StepKind::Load {
            args,
            url,
            serve,
            path,
            pid_file,
            ..
        } => {
            let target = match serve.as_ref().map(|sv| Target::start(sv)) {
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    result.code = exit_codes::ERROR;
                    result.error = Some(format!(
                        "{}:{}: [{}] serve: {e:#}",
                        plan.file.display(),
                        step.line,
                        step.name
                    ));
                    return Ok(result);
                }
                None => None,
            };
            let mut a = vec![
                s("load"),
                s("--no-progress"),
                s("--export-json"),
                json.display().to_string(),
            ];
            a.extend(args.iter().cloned());
            match (&target, url) {
                (Some(t), _) => a.push(format!("{}{path}", t.url)),
                (None, Some(u)) => a.push(u.clone()),
                (None, None) => {}
            }
            // The service under test: the built-in server, or the process
            // of `pid_file`. Its CPU use over the test is the plan's
            // `cpu_utilization` key figure.
            let probe = match (&target, pid_file) {
                (Some(t), _) => Some(Ok((t.child.id(), "perfhub serve".to_string()))),
                (None, Some((file, _))) => Some(
                    pid_from_file(file)
                        .map(|pid| (pid, format!("the process of {}", file.display()))),
                ),
                (None, None) => None,
            }
            .map(|p| p.map(|(pid, what)| ServiceProbe::start(pid, what)));
            let code = run_perfhub(&a, Some(&base))?;
            // A service whose CPU could not be read is a measurement
            // missing, said in the report (and the cpu_utilization budget
            // is then not evaluated), not a failed load test.
            match probe.map(|p| p.and_then(|p| p.finish(SERVICE))) {
                Some(Ok(b)) => result.service = Some(b),
                Some(Err(why)) => service_failure = Some(why),
                None => {}
            }
            code
        }
        StepKind::Profile { args, command } => {
            let out = dir.join(&step.name);
            let mut a = vec![s("profile"), s("-o"), out.display().to_string()];
            a.extend(args.iter().cloned());
            a.push(s("--"));
            a.extend(command.iter().cloned());
            let code = run_perfhub(&a, Some(&base))?;
            let report = out.join("report.json");
            if report.exists() {
                std::fs::copy(&report, &json).ok();
            }
            let svg = out.join("flamegraph.svg");
            if svg.exists() {
                result.flamegraph = Some(svg);
            }
            // The profiled command's own status is its business; what
            // matters here is whether perfhub profiled it.
            if json.exists() { 0 } else { code.max(1) }
        }
        StepKind::Criterion {
            results,
            gate,
            budgets,
        } => {
            if let Some((project, ab, command)) = gate {
                let mut a = vec![s("ab")];
                a.extend(ab.iter().cloned());
                a.extend([s("--export-json"), json.display().to_string(), s("--")]);
                a.extend(command.iter().cloned());
                run_perfhub(&a, Some(project))?
            } else if let Some(dir_) = results {
                let mut a = vec![
                    s("import"),
                    s("criterion"),
                    dir_.display().to_string(),
                    s("-o"),
                    json.display().to_string(),
                ];
                for b in budgets {
                    a.extend([s("--budget"), b.clone()]);
                }
                run_perfhub(&a, Some(&base))?
            } else {
                exit_codes::ERROR
            }
        }
    };
    result.code = code;
    result.report = read_report(&json).ok();
    if result.report.is_none() && code != exit_codes::ERROR {
        result.error = Some(format!("{}: the step wrote no report", step.name));
    }
    if let (Some(why), Some(r)) = (service_failure, &mut result.report) {
        r.notes.push(Note::warning(
            "service_cpu_unavailable",
            format!("the CPU use of the service under test was not measured: {why}"),
        ));
    }
    // The service's benchmark goes beside the step's own, under a name they
    // do not use.
    if let (Some(service), Some(r)) = (&mut result.service, &result.report)
        && r.benchmark(SERVICE).is_some()
    {
        service.name = format!("{SERVICE}-process");
    }
    Ok(result)
}

/// The key figures the plan's budgets apply to, as one benchmark `kpi`.
///
/// `cpu_utilization` is the CPU use of a service under load (one of
/// `services`, the load steps' `<step>/service` benchmarks), as a share of
/// the machine: the headroom a service keeps while it serves the plan's
/// load. A profiled or benchmarked program's CPU use is not it: a CPU-bound
/// batch program saturates a core by design.
fn kpi_benchmark(
    report: &Report,
    score: Option<&perfhub_core::score::PerformanceScore>,
    services: &[String],
) -> Benchmark {
    let mut b = Benchmark::new("kpi", "latency_p95");
    if let Some(s) = score {
        // Only a load test's latency: a command's run time is not a
        // service's latency, and a budget on it would mislead.
        if let Some(c) = s
            .component("latency")
            .filter(|c| c.metric == metric::LATENCY)
        {
            b.measurements.push(Measurement::from_value(
                "latency_p95",
                Unit::Seconds,
                c.measured,
            ));
        }
        // Load steps run first and their services follow their own
        // benchmarks, so the score reads a service's CPU use before any
        // profile's or command's.
        if let Some(c) = s
            .component("cpu_efficiency")
            .filter(|c| services.contains(&c.benchmark))
        {
            b.measurements.push(Measurement::from_value(
                metric::CPU_UTILIZATION,
                Unit::Ratio,
                c.measured,
            ));
        }
        if let Some(c) = s.component("memory_efficiency") {
            b.measurements.push(Measurement::from_value(
                "memory_efficiency",
                Unit::Ratio,
                c.measured,
            ));
        }
    }
    // The worst error rate of the load tests.
    let worst = report
        .benchmarks
        .iter()
        .filter_map(|x| x.measurement(metric::ERROR_RATE)?.value)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(e) = worst {
        b.measurements
            .push(Measurement::from_value(metric::ERROR_RATE, Unit::Ratio, e));
    }
    b
}

/// Runs `perfhub check`.
pub fn check(args: CheckArgs) -> Result<Outcome> {
    let mut plan = load_plan(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = std::fs::read_to_string(&args.config).unwrap_or_default();
    let file = args.config.display().to_string();
    if !args.only.is_empty() {
        for o in &args.only {
            if !plan.steps.iter().any(|s| &s.name == o) {
                let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "--only {o:?}: no such step in {file} (steps: {})",
                    names.join(", ")
                );
            }
        }
        plan.steps.retain(|s| args.only.contains(&s.name));
    }
    // Preflight: targets and adapters that do not answer are configuration
    // errors, found before anything runs.
    for (i, s) in plan.steps.iter().enumerate() {
        if let StepKind::Load {
            url: Some(u),
            url_at: Some(at),
            ..
        } = &s.kind
        {
            let idx = plan.steps[..i]
                .iter()
                .filter(|x| matches!(x.kind, StepKind::Load { .. }))
                .count();
            if let Err(why) = reachable(u) {
                bail!(crate::plan::unreachable(
                    &text,
                    &file,
                    *at,
                    &format!("load[{idx}].url"),
                    why
                ));
            }
        }
    }
    for (i, s) in plan.steps.iter().enumerate() {
        if let StepKind::Load {
            pid_file: Some((pf, at)),
            ..
        } = &s.kind
        {
            let idx = plan.steps[..i]
                .iter()
                .filter(|x| matches!(x.kind, StepKind::Load { .. }))
                .count();
            if let Err(why) = pid_from_file(pf) {
                bail!(crate::plan::unreachable(
                    &text,
                    &file,
                    *at,
                    &format!("load[{idx}].pid_file"),
                    why
                ));
            }
        }
    }
    for (i, e) in plan.exports.iter().enumerate() {
        if let Some((u, at)) = &e.url
            && let Err(why) = reachable(u)
        {
            bail!(crate::plan::unreachable(
                &text,
                &file,
                *at,
                &format!("export[{i}].url"),
                format!("unreachable adapter: {why}")
            ));
        }
    }
    let steps_dir = plan.output.join("steps");
    std::fs::create_dir_all(&steps_dir)
        .with_context(|| format!("cannot create {}", steps_dir.display()))?;
    let environment = std::thread::spawn(|| perfhub_probe::env::collect(Default::default()));

    // Ctrl-C reaches the running step too, which reports what it measured;
    // the steps after it are skipped, and the report is still written.
    crate::interrupt::install();
    let mut results = Vec::new();
    for step in &plan.steps {
        if crate::interrupt::requested() {
            eprintln!("perfhub check: interrupted; {} is skipped", step.name);
            continue;
        }
        eprintln!("\n== perfhub check: {} (line {}) ==", step.name, step.line);
        results.push(run_step(&plan, step, &steps_dir)?);
    }

    // One report of everything.
    let mut report = Report::new(ReportKind::Check, perfhub_probe::env::now_rfc3339());
    report.environment = environment.join().ok();
    let mut prefer = None;
    let mut services = Vec::new();
    for r in &results {
        let Some(sr) = &r.report else { continue };
        for b in &sr.benchmarks {
            let mut b = b.clone();
            if sr.kind == ReportKind::Load
                && b.name == perfhub_load::report::TOTAL
                && prefer.is_none()
            {
                prefer = Some(format!("{}/{}", r.name, b.name));
            }
            b.name = format!("{}/{}", r.name, b.name);
            report.benchmarks.push(b);
        }
        if let Some(service) = &r.service {
            let mut b = service.clone();
            b.name = format!("{}/{}", r.name, b.name);
            services.push(b.name.clone());
            report.benchmarks.push(b);
        }
        for v in &sr.budgets {
            let mut v = v.clone();
            v.benchmark = format!("{}/{}", r.name, v.benchmark);
            report.budgets.push(v);
        }
        for c in &sr.comparisons {
            let mut c = c.clone();
            c.benchmark = format!("{}/{}", r.name, c.benchmark);
            report.comparisons.push(c);
        }
        for n in &sr.notes {
            let mut n = n.clone();
            n.message = format!("{}: {}", r.name, n.message);
            report.notes.push(n);
        }
    }
    let score = performance_score(&report, &ScoreTargets::default(), prefer.as_deref());
    let kpi = kpi_benchmark(&report, score.as_ref(), &services);
    let kpi_report = {
        let mut r = Report::new(ReportKind::Check, report.created.clone());
        r.benchmarks.push(kpi.clone());
        r
    };
    for text in &plan.budgets {
        let budget = Budget::parse(text).map_err(|e| {
            anyhow::anyhow!(
                "{file}: check.budgets: bad budget {text:?}: {}",
                e.message()
            )
        })?;
        match budget.evaluate(&kpi_report) {
            Ok(v) => report.budgets.extend(v),
            Err(perfhub_core::budget::BudgetError::UnknownMetric { metric: m, .. }) => {
                let why = if m == metric::CPU_UTILIZATION {
                    "cpu_utilization is the CPU use of a service under load, and no [[load]] step measured one (it does with `serve`, or with `pid_file` naming your service's pid file)".to_string()
                } else {
                    format!("the plan measures no {m}")
                };
                report.notes.push(Note::info(
                    "budget_not_applicable",
                    format!("budget \"{text}\" not evaluated: {why}"),
                ));
            }
            Err(e) => bail!("{file}: check.budgets: {e}"),
        }
    }
    if !kpi.measurements.is_empty() {
        report.benchmarks.push(kpi);
    }
    report.performance_score = score;

    // The history: the last check on this branch and machine is the
    // baseline; this one is recorded after.
    let mut trends = Vec::new();
    let mut baseline = None;
    if let (Some(loc), false) = (&plan.history, args.no_history) {
        // A check that failed or was cut short is not a baseline for the
        // next one: it is compared, but not recorded.
        let complete = !crate::interrupt::requested()
            && results.iter().all(|r| {
                r.error.is_none() && r.code != exit_codes::ERROR && r.code != exit_codes::USAGE
            });
        match history_step(loc, &mut report, &mut trends, &mut baseline, complete) {
            Ok(()) => {}
            Err(e) => report.notes.push(Note::warning(
                "history_unavailable",
                format!("the history at {loc} was not used: {e:#}"),
            )),
        }
    }

    std::fs::create_dir_all(&plan.output).ok();
    let json_path = plan.output.join("report.json");
    write_report(&json_path, &report)?;
    let html_path = plan.output.join("report.html");
    let flames: Vec<(String, String)> = results
        .iter()
        .filter_map(|r| {
            let svg = std::fs::read_to_string(r.flamegraph.as_ref()?).ok()?;
            Some((r.name.clone(), svg))
        })
        .collect();
    let mut page = perfhub_html::HtmlReport::new(plan.title.clone(), &report);
    page.baseline = baseline.as_ref();
    page.trends = trends;
    page.flamegraphs = flames
        .into_iter()
        .map(|(title, svg)| perfhub_html::Flame { title, svg })
        .collect();
    let html = perfhub_html::render(&page);
    write_file(&html_path, html.as_bytes())?;

    let mut export_failures = Vec::new();
    for e in &plan.exports {
        let mut a = vec!["export".to_string(), "--to".to_string()];
        a.extend(e.args.iter().cloned());
        a.push(json_path.display().to_string());
        let code = run_perfhub(&a, None)?;
        if code != 0 {
            export_failures.push(format!("{}:{}: export to {} failed", file, e.line, e.to));
        }
    }

    print_summary(&report, &results, &json_path, &html_path)?;
    crate::github::publish_if_in_actions(&report)?;

    let errors: Vec<String> = results
        .iter()
        .filter(|r| r.code == exit_codes::ERROR || r.code == exit_codes::USAGE || r.error.is_some())
        .map(|r| {
            r.error
                .clone()
                .unwrap_or_else(|| format!("step {} failed (perfhub exited {})", r.name, r.code))
        })
        .chain(export_failures)
        .collect();
    if !errors.is_empty() {
        bail!(
            "{}; report.json and report.html hold what was measured",
            errors.join("; ")
        );
    }
    if crate::interrupt::requested() || results.iter().any(|r| r.code == exit_codes::INTERRUPTED) {
        return Ok(Outcome::Interrupted);
    }
    if !report.budgets_pass()
        || results
            .iter()
            .any(|r| r.code == exit_codes::BUDGET_BREACHED)
    {
        return Ok(Outcome::BudgetBreached);
    }
    if results.iter().any(|r| r.code == exit_codes::REGRESSED) {
        return Ok(Outcome::Regressed);
    }
    if results.iter().any(|r| r.code == exit_codes::COMMAND_FAILED) {
        return Ok(Outcome::CommandFailed);
    }
    Ok(Outcome::Success)
}

fn history_step(
    loc: &str,
    report: &mut Report,
    trends: &mut Vec<perfhub_html::Trend>,
    baseline: &mut Option<Report>,
    record: bool,
) -> Result<()> {
    use perfhub_history::{HistoryStore, RunFilter, RunMeta, SeriesFilter};
    if !perfhub_history::is_postgres_url(loc)
        && let Some(parent) = Path::new(loc).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut store = HistoryStore::open(loc)?;
    let env = report.environment.clone().unwrap_or_default();
    let filter = RunFilter {
        branch: env.git_branch.clone(),
        machine: Some(env.fingerprint.clone()),
        ..RunFilter::default()
    };
    let previous = store
        .runs(&RunFilter {
            limit: Some(20),
            ..filter.clone()
        })?
        .into_iter()
        .find(|r| r.kind == "check");
    if let Some(prev) = previous {
        let prev = store.report(prev.id)?;
        let set = compare_reports(&prev, report, &ChangeCriteria::default());
        if report.comparisons.is_empty() {
            let cmp = set.to_report(report, report.created.clone());
            report.comparisons = cmp.comparisons;
        }
        *baseline = Some(prev);
    }
    if record {
        store.record(report, &RunMeta::from_report(report))?;
    } else {
        report.notes.push(Note::info(
            "history_not_recorded",
            "not recorded into the history: a step failed or the check was interrupted",
        ));
    }
    let sfilter = SeriesFilter {
        branch: env.git_branch.clone(),
        machine: Some(env.fingerprint.clone()),
        limit: Some(30),
    };
    for b in &report.benchmarks {
        if b.name == "kpi" {
            continue;
        }
        let series = store.series(&b.name, &b.primary_metric, &sfilter)?;
        if series.points.len() >= 2 {
            trends.push(perfhub_html::Trend {
                benchmark: b.name.clone(),
                metric: b.primary_metric.clone(),
                unit: series.points[0].unit,
                points: series
                    .points
                    .iter()
                    .map(|p| {
                        (
                            p.commit.as_deref().map_or_else(
                                || p.time.clone(),
                                |c| c[..c.len().min(8)].to_string(),
                            ),
                            p.value,
                        )
                    })
                    .collect(),
            });
        }
    }
    Ok(())
}

fn print_summary(report: &Report, results: &[StepResult], json: &Path, html: &Path) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n== perfhub check: summary ==")?;
    for r in results {
        let what = match r.code {
            0 => "ok".to_string(),
            c if c == exit_codes::BUDGET_BREACHED => "budget breached".to_string(),
            c if c == exit_codes::REGRESSED => "regressed".to_string(),
            c if c == exit_codes::COMMAND_FAILED => "a command failed".to_string(),
            c => format!("failed (exit {c})"),
        };
        writeln!(out, "  step {:<24} {what}", r.name)?;
    }
    if !report.budgets.is_empty() {
        writeln!(out)?;
        for v in &report.budgets {
            writeln!(
                out,
                "  {}  {} on {}: {}",
                if v.passed { "pass" } else { "FAIL" },
                v.budget,
                v.benchmark,
                v.unit.format(v.actual)
            )?;
        }
    }
    if let Some(s) = &report.performance_score {
        writeln!(out)?;
        write!(out, "  Performance Score {:.0}/100 (", s.score)?;
        let parts: Vec<String> = s
            .components
            .iter()
            .map(|c| format!("{} {:.0}", c.name, c.score))
            .collect();
        writeln!(out, "{})", parts.join(", "))?;
    }
    writeln!(out, "\n  {}\n  {}", json.display(), html.display())?;
    Ok(())
}
