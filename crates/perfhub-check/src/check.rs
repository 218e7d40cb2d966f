//! Running a plan: the preflight, the steps through a [`StepRunner`], then
//! one report of kind `check` with the key figures (`kpi`), the Performance
//! Score, the plan's budgets, the history's baseline and trends, written as
//! `report.json` and `report.html`.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use perfhub_core::budget::{Budget, BudgetError};
use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::fs::Durability;
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::score::{PerformanceScore, ScoreTargets, performance_score};
use perfhub_core::units::Unit;

use crate::plan::{LoadTarget, Plan, PlanError, PlanErrorKind, Step, StepKind};
use crate::runner::{RunnerError, SERVICE, StepContext, StepRun, StepRunner, StepStatus};

/// What a check is told as it goes, and asked whether to stop.
pub trait CheckProgress {
    /// The plan passed its preflight; the steps are about to run (where a
    /// caller starts catching Ctrl-C, say).
    fn steps_begin(&mut self) {}
    /// `step` starts.
    fn step_start(&mut self, _step: &Step) {}
    /// `step` is skipped, since the check was asked to stop.
    fn step_skipped(&mut self, _step: &Step) {}
    /// `step`'s build command starts.
    fn building(&mut self, _step: &Step, _command: &str) {}
    /// Whether to skip the steps not started yet; the report is still made
    /// of those that ran.
    fn should_stop(&self) -> bool {
        false
    }
}

/// A [`CheckProgress`] that is told nothing and never stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl CheckProgress for NoProgress {}

/// How a check runs, beyond its plan.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Compare with the plan's history and record into it (when the plan
    /// has one).
    pub history: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { history: true }
    }
}

/// How one step ended.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub status: StepStatus,
    /// What went wrong, if something did.
    pub error: Option<String>,
    /// The flame graph (SVG) of a profile step.
    pub flamegraph: Option<PathBuf>,
}

impl StepOutcome {
    /// Whether the step failed: perfhub could not run it, or it wrote no
    /// report.
    pub fn failed(&self) -> bool {
        self.error.is_some() || matches!(self.status, StepStatus::Failed(_))
    }
}

/// What a check found, before its exit: the combined report (written as
/// `report.json` and `report.html`) and how each step ended.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The combined report: every step's benchmarks as `<step>/<name>`,
    /// the key figures as `kpi`, the verdicts of every budget, the score,
    /// and the comparison with the baseline.
    pub report: Report,
    /// The steps that ran, in order.
    pub steps: Vec<StepOutcome>,
    /// The history's last check on this branch and machine, if any.
    pub baseline: Option<Report>,
    /// Where `report.json` was written.
    pub json: PathBuf,
    /// Where `report.html` was written.
    pub html: PathBuf,
    /// Whether the check was stopped early.
    pub interrupted: bool,
}

/// How a check ended, when no step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// Every step passed and every budget held.
    Passed,
    /// A budget was breached.
    BudgetBreached,
    /// A gated suite regressed.
    Regressed,
    /// A benchmarked command failed.
    CommandFailed,
    /// The check was interrupted.
    Interrupted,
}

impl CheckOutcome {
    /// What failed, one sentence each: steps perfhub could not run.
    pub fn failures(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.failed())
            .map(|s| {
                s.error.clone().unwrap_or_else(|| {
                    format!(
                        "step {} failed (perfhub exited {})",
                        s.name,
                        s.status.exit_code()
                    )
                })
            })
            .collect()
    }

    /// How the check ended, the failures aside: interrupted, then a budget
    /// breached, a regression, a command failed.
    pub fn status(&self) -> CheckStatus {
        let any = |st: StepStatus| self.steps.iter().any(|s| s.status == st);
        if self.interrupted || any(StepStatus::Interrupted) {
            CheckStatus::Interrupted
        } else if !self.report.budgets_pass() || any(StepStatus::BudgetBreached) {
            CheckStatus::BudgetBreached
        } else if any(StepStatus::Regressed) {
            CheckStatus::Regressed
        } else if any(StepStatus::CommandFailed) {
            CheckStatus::CommandFailed
        } else {
            CheckStatus::Passed
        }
    }

    /// Writes the summary `perfhub check` ends with: how each step ended,
    /// the budgets, the Performance Score, and where the report went.
    pub fn write_summary(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let report = &self.report;
        writeln!(out, "\n== perfhub check: summary ==")?;
        for s in &self.steps {
            let what = match s.status {
                StepStatus::Passed => "ok".to_string(),
                StepStatus::BudgetBreached => "budget breached".to_string(),
                StepStatus::Regressed => "regressed".to_string(),
                StepStatus::CommandFailed => "a command failed".to_string(),
                st => format!("failed (exit {})", st.exit_code()),
            };
            writeln!(out, "  step {:<24} {what}", s.name)?;
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
        writeln!(
            out,
            "\n  {}\n  {}",
            self.json.display(),
            self.html.display()
        )
    }
}

/// Why a check could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The plan is wrong, or names a target that does not answer.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A runner could not start at all.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// A file or directory could not be made.
    #[error("{what}")]
    Io {
        /// What could not be done, naming the path.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A budget on the key figures could not be evaluated.
    #[error("{0}")]
    Budget(String),
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

/// Checks what the plan names outside itself before anything runs: the
/// load targets' URLs answer, the pid files name running processes, the
/// exports' URLs answer. A failure is located at its key.
pub fn preflight(plan: &Plan) -> Result<(), PlanError> {
    let unreachable = PlanErrorKind::Unreachable;
    let loads = plan.steps.iter().filter_map(|s| match &s.kind {
        StepKind::Load(l) => Some(l),
        _ => None,
    });
    for l in loads.clone() {
        if let LoadTarget::Url { url, at } = &l.target
            && let Err(why) = reachable(url)
        {
            return Err(at.error(&plan.name, unreachable, why));
        }
    }
    for l in loads {
        if let Some((file, at)) = &l.pid_file
            && let Err(why) = crate::runner::pid_from_file(file)
        {
            return Err(at.error(&plan.name, unreachable, why));
        }
    }
    for e in &plan.exports {
        if let Some((url, at)) = &e.url
            && let Err(why) = reachable(url)
        {
            return Err(at.error(
                &plan.name,
                unreachable,
                format!("unreachable adapter: {why}"),
            ));
        }
    }
    Ok(())
}

/// Runs `plan`: the [`preflight`], each step through `runner` (its build
/// first), then the combined report, its key figures, score and budgets,
/// the history (unless `options` says not to) and the files `report.json`
/// and `report.html` in the plan's output directory.
///
/// The plan's exports are the caller's to run on `report.json`
/// ([`ChildRunner::export`](crate::ChildRunner::export)).
pub fn run_plan(
    plan: &Plan,
    runner: &mut dyn StepRunner,
    progress: &mut dyn CheckProgress,
    options: &CheckOptions,
) -> Result<CheckOutcome, CheckError> {
    preflight(plan)?;
    let steps_dir = plan.output.join("steps");
    std::fs::create_dir_all(&steps_dir).map_err(|source| CheckError::Io {
        what: format!("cannot create {}", steps_dir.display()),
        source,
    })?;
    let environment = std::thread::spawn(|| perfhub_probe::env::collect(Default::default()));
    progress.steps_begin();
    let mut runs = Vec::new();
    for step in &plan.steps {
        if progress.should_stop() {
            progress.step_skipped(step);
            continue;
        }
        progress.step_start(step);
        let report = steps_dir.join(format!("{}.json", step.name));
        let ctx = StepContext {
            plan,
            dir: &steps_dir,
            report: &report,
        };
        runs.push((step, run_step(step, &ctx, runner, progress)?));
    }
    let mut combined = combine(&runs);
    combined.report.environment = environment.join().ok();
    let mut report = combined.report;
    key_figures(
        plan,
        &mut report,
        combined.prefer.as_deref(),
        &combined.services,
    )?;
    let interrupted = progress.should_stop();
    let steps: Vec<StepOutcome> = runs
        .into_iter()
        .map(|(step, run)| StepOutcome {
            name: step.name.clone(),
            status: run.status,
            error: run.error,
            flamegraph: run.flamegraph,
        })
        .collect();

    // The history: the last check on this branch and machine is the
    // baseline; this one is recorded after.
    let mut history = History::default();
    if let (Some(loc), true) = (&plan.history, options.history) {
        // A check that failed or was cut short is not a baseline for the
        // next one: it is compared, but not recorded.
        let complete = !interrupted && steps.iter().all(|s| !s.failed());
        if let Err(e) = history.step(loc, &mut report, complete) {
            report.notes.push(Note::warning(
                "history_unavailable",
                format!("the history at {loc} was not used: {e}"),
            ));
        }
    }
    let (json, html) = write_outputs(plan, &report, &steps, &mut history)?;
    Ok(CheckOutcome {
        report,
        steps,
        baseline: history.baseline,
        json,
        html,
        interrupted,
    })
}

/// Runs one step: its build, then the runner; the notes on its service.
fn run_step(
    step: &Step,
    ctx: &StepContext<'_>,
    runner: &mut dyn StepRunner,
    progress: &mut dyn CheckProgress,
) -> Result<StepRun, CheckError> {
    if let Some(build) = &step.build {
        progress.building(step, build);
        let status = Command::new("sh")
            .args(["-c", build])
            .current_dir(&ctx.plan.dir)
            .status()
            .map_err(|e| RunnerError::io("cannot start sh", e))?;
        if !status.success() {
            return Ok(StepRun {
                status: StepStatus::ERROR,
                error: Some(format!(
                    "{}:{}: [{}] build: `{build}` failed ({status})",
                    ctx.plan.file.display(),
                    step.line,
                    step.name
                )),
                ..StepRun::default()
            });
        }
    }
    let mut run = runner.run(step, ctx)?;
    if run.report.is_none() && run.status != StepStatus::ERROR && run.error.is_none() {
        run.error = Some(format!("{}: the step wrote no report", step.name));
    }
    // A service whose CPU could not be read is a measurement missing, said
    // in the report (and the cpu_utilization budget is then not
    // evaluated), not a failed load test.
    if let (Some(Err(why)), Some(r)) = (&run.service, &mut run.report) {
        r.notes.push(Note::warning(
            "service_cpu_unavailable",
            format!("the CPU use of the service under test was not measured: {why}"),
        ));
    }
    // The service's benchmark goes beside the step's own, under a name they
    // do not use.
    if let (Some(Ok(service)), Some(r)) = (&mut run.service, &run.report)
        && r.benchmark(SERVICE).is_some()
    {
        service.name = format!("{SERVICE}-process");
    }
    Ok(run)
}

/// The steps' reports as one.
struct Combined {
    report: Report,
    /// The first load test's `total`: the latency the score reads.
    prefer: Option<String>,
    /// The services' benchmarks, by their names in `report`.
    services: Vec<String>,
}

/// Every step's benchmarks, verdicts, comparisons and notes, renamed
/// `<step>/<name>`.
fn combine(runs: &[(&Step, StepRun)]) -> Combined {
    let mut report = Report::new(ReportKind::Check, perfhub_core::time::UtcTime::now());
    let mut prefer = None;
    let mut services = Vec::new();
    for (step, run) in runs {
        let Some(sr) = &run.report else { continue };
        let name = &step.name;
        for b in &sr.benchmarks {
            let mut b = b.clone();
            if sr.kind == ReportKind::Load
                && b.name == perfhub_load::report::TOTAL
                && prefer.is_none()
            {
                prefer = Some(format!("{name}/{}", b.name));
            }
            b.name = format!("{name}/{}", b.name);
            report.benchmarks.push(b);
        }
        if let Some(Ok(service)) = &run.service {
            let mut b = service.clone();
            b.name = format!("{name}/{}", b.name);
            services.push(b.name.clone());
            report.benchmarks.push(b);
        }
        for v in &sr.budgets {
            let mut v = v.clone();
            v.benchmark = format!("{name}/{}", v.benchmark);
            report.budgets.push(v);
        }
        for c in &sr.comparisons {
            let mut c = c.clone();
            c.benchmark = format!("{name}/{}", c.benchmark);
            report.comparisons.push(c);
        }
        for n in &sr.notes {
            let mut n = n.clone();
            n.message = format!("{name}: {}", n.message);
            report.notes.push(n);
        }
    }
    Combined {
        report,
        prefer,
        services,
    }
}

/// The score, the key figures (`kpi`) and the plan's budgets on them.
fn key_figures(
    plan: &Plan,
    report: &mut Report,
    prefer: Option<&str>,
    services: &[String],
) -> Result<(), CheckError> {
    let score = performance_score(report, &ScoreTargets::default(), prefer);
    let kpi = kpi_benchmark(report, score.as_ref(), services);
    let mut kpi_report = Report::new(ReportKind::Check, report.created);
    kpi_report.benchmarks.push(kpi.clone());
    let file = &plan.name;
    for text in &plan.budgets {
        let budget = Budget::parse(text).map_err(|e| {
            CheckError::Budget(format!(
                "{file}: check.budgets: bad budget {text:?}: {}",
                e.message()
            ))
        })?;
        match budget.evaluate(&kpi_report) {
            Ok(v) => report.budgets.extend(v),
            Err(BudgetError::UnknownMetric { metric: m, .. }) => {
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
            Err(e) => return Err(CheckError::Budget(format!("{file}: check.budgets: {e}"))),
        }
    }
    if !kpi.measurements.is_empty() {
        report.benchmarks.push(kpi);
    }
    report.performance_score = score;
    Ok(())
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
    score: Option<&PerformanceScore>,
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

/// What the history gave: the baseline and the trends drawn in the page.
#[derive(Default)]
struct History {
    baseline: Option<Report>,
    trends: Vec<perfhub_html::Trend>,
}

/// An error with its causes, as `outer: inner: ...`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

impl History {
    /// Compares `report` with the last check in the history at `loc`, and
    /// records it there when `record`; an error as its message.
    fn step(&mut self, loc: &str, report: &mut Report, record: bool) -> Result<(), String> {
        use perfhub_history::{HistoryStore, RunFilter, RunMeta, SeriesFilter};
        if !perfhub_history::is_postgres_url(loc)
            && let Some(parent) = Path::new(loc).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let mut store = HistoryStore::open(loc).map_err(|e| chain(&e))?;
        let env = report.environment.clone().unwrap_or_default();
        let filter = RunFilter {
            branch: env.git_branch.clone(),
            machine: Some(env.fingerprint.clone()),
            limit: Some(20),
            ..RunFilter::default()
        };
        let previous = store
            .runs(&filter)
            .map_err(|e| chain(&e))?
            .into_iter()
            .find(|r| r.kind == "check");
        if let Some(prev) = previous {
            let prev = store.report(prev.id).map_err(|e| chain(&e))?;
            let set = compare_reports(&prev, report, &ChangeCriteria::default());
            if report.comparisons.is_empty() {
                let cmp = set.to_report(report, report.created);
                report.comparisons = cmp.comparisons;
            }
            self.baseline = Some(prev);
        }
        if record {
            store
                .record(report, &RunMeta::from_report(report))
                .map_err(|e| chain(&e))?;
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
        for b in report.benchmarks.iter().filter(|b| b.name != "kpi") {
            let series = store
                .series(&b.name, &b.primary_metric, &sfilter)
                .map_err(|e| chain(&e))?;
            if series.points.len() < 2 {
                continue;
            }
            self.trends.push(perfhub_html::Trend {
                benchmark: b.name.clone(),
                metric: b.primary_metric.clone(),
                unit: series.points[0].unit,
                points: series
                    .points
                    .iter()
                    .map(|p| {
                        let label = p
                            .commit
                            .as_deref()
                            .map_or_else(|| p.time.clone(), |c| c[..c.len().min(8)].to_string());
                        (label, p.value)
                    })
                    .collect(),
            });
        }
        Ok(())
    }
}

/// Writes `report.json` and `report.html` into the plan's output; their paths.
fn write_outputs(
    plan: &Plan,
    report: &Report,
    steps: &[StepOutcome],
    history: &mut History,
) -> Result<(PathBuf, PathBuf), CheckError> {
    let cannot_write = |path: &Path| {
        let what = format!("cannot write {}", path.display());
        move |source| CheckError::Io { what, source }
    };
    std::fs::create_dir_all(&plan.output).ok();
    let json = plan.output.join("report.json");
    perfhub_core::fs::write_atomic_with(&json, Durability::Synced, |w| report.write_json(w))
        .map_err(cannot_write(&json))?;
    let html = plan.output.join("report.html");
    let mut page = perfhub_html::HtmlReport::new(plan.title.clone(), report);
    page.baseline = history.baseline.as_ref();
    page.trends = std::mem::take(&mut history.trends);
    page.flamegraphs = steps
        .iter()
        .filter_map(|s| {
            let svg = std::fs::read_to_string(s.flamegraph.as_ref()?).ok()?;
            Some(perfhub_html::Flame {
                title: s.name.clone(),
                svg,
            })
        })
        .collect();
    perfhub_core::fs::write_atomic(&html, perfhub_html::render(&page).as_bytes())
        .map_err(cannot_write(&html))?;
    Ok((json, html))
}
