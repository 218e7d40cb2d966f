//! The in-process runner: each step through the library crates directly
//! (perfhub-run, perfhub-load, perfhub-profile, perfhub-import), with no
//! `perfhub` binary, for programs that link perfhub and for tests.

use std::path::Path;
use std::time::Duration;

use perfhub_core::budget::Budget;
use perfhub_core::report::Report;
use perfhub_load::engine::{LoadConfig, Model};

use crate::plan::{CriterionStep, LoadStep, LoadTarget, ProfileStep, RunStep, Step, StepKind};
use crate::runner::{RunnerError, StepContext, StepRun, StepRunner, StepStatus, probe_pid_file};

/// Runs each step in this process, through the library crates.
///
/// It differs from the [`ChildRunner`](crate::ChildRunner) in what a
/// process shares: the commands of `[[run]]` steps run in this process's
/// working directory (the plan's paths are absolute either way), the
/// standard streams of benchmarked and profiled commands are discarded,
/// the built-in target server of a load step runs beside the load
/// generator (so its CPU use cannot be told apart, and the report says
/// so), and a step that crashes takes this process with it. A scenario
/// file of named scenarios or of ramping virtual users, and a criterion
/// project gated A/B, need the `perfhub` binary: such a step fails, saying
/// so.
#[derive(Debug, Clone, Default)]
pub struct InProcessRunner {
    _private: (),
}

impl InProcessRunner {
    /// A runner in this process.
    pub fn new() -> InProcessRunner {
        InProcessRunner::default()
    }
}

impl StepRunner for InProcessRunner {
    fn run(&mut self, step: &Step, ctx: &StepContext<'_>) -> Result<StepRun, RunnerError> {
        let done = match &step.kind {
            StepKind::Run(run) => run_commands(run),
            StepKind::Load(load) => return Ok(run_load(step, load, ctx)),
            StepKind::Profile(profile) => {
                let done = run_profile(step, profile, ctx);
                let mut run = finish(step, ctx, done, StepRun::default());
                run.flamegraph = flamegraph_of(ctx.dir, step);
                return Ok(run);
            }
            StepKind::Criterion(criterion) => import_criterion(criterion),
        };
        Ok(finish(step, ctx, done, StepRun::default()))
    }
}

/// A step's report and status, or why it failed.
type Done = Result<(Report, StepStatus), String>;

/// Writes the step's report and says how it ended.
fn finish(step: &Step, ctx: &StepContext<'_>, done: Done, mut run: StepRun) -> StepRun {
    match done {
        Ok((report, status)) => {
            let written = perfhub_core::fs::write_atomic_with(
                ctx.report,
                perfhub_core::fs::Durability::Synced,
                |w| report.write_json(w),
            );
            run.status = status;
            if let Err(e) = written {
                run.status = StepStatus::ERROR;
                run.error = Some(format!(
                    "{}: cannot write {}: {e}",
                    step.name,
                    ctx.report.display()
                ));
            }
            run.report = Some(report);
        }
        Err(why) => {
            run.status = StepStatus::ERROR;
            run.error = Some(format!("{}: {why}", step.name));
        }
    }
    run
}

fn budgets(texts: &[String]) -> Result<Vec<Budget>, String> {
    texts
        .iter()
        .map(|b| Budget::parse(b).map_err(|e| format!("bad budget {b:?}: {}", e.message())))
        .collect()
}

/// The status a report's budget verdicts give.
fn judged(report: Report) -> Done {
    let status = if report.budgets_pass() {
        StepStatus::Passed
    } else {
        StepStatus::BudgetBreached
    };
    Ok((report, status))
}

fn run_commands(run: &RunStep) -> Done {
    use perfhub_run::{CommandTemplate, RunConfig, RunCount};
    let config = RunConfig {
        commands: run
            .commands
            .iter()
            .cloned()
            .map(CommandTemplate::Line)
            .collect(),
        warmup: run.warmup.unwrap_or(0),
        runs: match run.runs {
            Some(n) => RunCount::Exact(n),
            None => RunCount::Adaptive {
                min_runs: run.min_runs.unwrap_or(10),
                max_runs: None,
                min_time: Duration::from_secs(3),
            },
        },
        prepare: run.prepare.iter().cloned().collect(),
        shell: match run.shell.as_deref().map(str::trim) {
            None | Some("none") => None,
            Some("default") => Some("sh".into()),
            Some(s) => Some(s.to_string()),
        },
        budgets: budgets(&run.budgets)?,
        ..RunConfig::default()
    };
    let outcome =
        perfhub_run::run(&config, &mut perfhub_run::NoProgress).map_err(|e| e.to_string())?;
    if let Some(e) = outcome.budget_error {
        return Err(format!("cannot evaluate budgets: {e}"));
    }
    let status = if outcome.interrupted {
        StepStatus::Interrupted
    } else if outcome.failure.is_some() {
        StepStatus::CommandFailed
    } else if !outcome.report.budgets_pass() {
        StepStatus::BudgetBreached
    } else {
        StepStatus::Passed
    };
    Ok((outcome.report, status))
}

/// A load test to run: the engine's configuration, the overall budgets and
/// the per-endpoint ones.
struct LoadTest {
    config: LoadConfig,
    overall: Vec<Budget>,
    per_endpoint: Vec<(String, Vec<Budget>)>,
}

/// The load test of a load step, for `url`, or the scenario file's requests.
fn load_test(load: &LoadStep, url: Option<&str>) -> Result<LoadTest, String> {
    let mut overall = budgets(&load.budgets)?;
    let mut per_endpoint = Vec::new();
    let base = LoadConfig::default();
    let (mut config, defaults) = match (&load.target, url) {
        (LoadTarget::Scenario(path), _) => {
            let scenario =
                perfhub_load::scenario::load_scenario(path).map_err(|e| e.to_string())?;
            if !scenario.named.is_empty() || !scenario.load.vu_stages.is_empty() {
                return Err(format!(
                    "{}: named scenarios and ramping virtual users run through the perfhub binary (the child-process runner)",
                    path.display()
                ));
            }
            overall.extend(budgets(&scenario.budgets)?);
            for r in &scenario.requests {
                if !r.budgets.is_empty() {
                    per_endpoint.push((r.name.clone(), budgets(&r.budgets)?));
                }
            }
            let config = LoadConfig {
                sequence: scenario.mode == perfhub_load::scenario::Mode::Sequence,
                requests: scenario.requests,
                flow: scenario.flow.map(std::sync::Arc::new),
                ..LoadConfig::default()
            };
            (config, scenario.load)
        }
        (_, Some(url)) => (
            LoadConfig::new(url).map_err(|e| e.to_string())?,
            Default::default(),
        ),
        (_, None) => return Err("no URL to load".into()),
    };
    let rate = load.rate.or(defaults.rate);
    config.model = match (rate, defaults.stages.is_empty()) {
        (None, true) => Model::Closed {
            think_time: Duration::ZERO,
        },
        (rate, _) => Model::Open {
            start: rate.unwrap_or(0.0),
            stages: defaults.stages,
        },
    };
    config.duration = match &load.duration {
        Some(d) => perfhub_core::units::parse_duration(d)?,
        None => defaults.duration.unwrap_or(base.duration),
    };
    config.connections = load
        .connections
        .map(|c| c as usize)
        .or(defaults.connections.map(|c| c as usize))
        .unwrap_or(base.connections);
    config.timeout = defaults.timeout.unwrap_or(base.timeout);
    config.iterations = defaults.iterations;
    Ok(LoadTest {
        config,
        overall,
        per_endpoint,
    })
}

fn run_load(step: &Step, load: &LoadStep, ctx: &StepContext<'_>) -> StepRun {
    use perfhub_serve::{ServeConfig, Server, parse_latency, parse_stall};
    let mut run = StepRun::default();
    let server = match &load.target {
        LoadTarget::Serve(serve) => {
            let config = (|| -> Result<ServeConfig, String> {
                Ok(ServeConfig {
                    latency: match &serve.latency {
                        Some(l) => parse_latency(l).map_err(|e| e.to_string())?,
                        None => ServeConfig::default().latency,
                    },
                    error_rate: serve.error_rate.unwrap_or(0.0),
                    stall: match &serve.stall {
                        Some(s) => Some(parse_stall(s).map_err(|e| e.to_string())?),
                        None => None,
                    },
                    ..ServeConfig::default()
                })
            })();
            let started = config.and_then(|c| {
                Server::start(([127, 0, 0, 1], 0).into(), c)
                    .map_err(|e| format!("cannot start the target server: {e}"))
            });
            match started {
                Ok(s) => Some(s),
                Err(why) => return finish(step, ctx, Err(why), run),
            }
        }
        _ => None,
    };
    let url = match (&load.target, &server) {
        (LoadTarget::Url { url, .. }, _) => Some(url.clone()),
        (LoadTarget::Serve(serve), Some(s)) => Some(format!("http://{}{}", s.addr(), serve.path)),
        _ => None,
    };
    let probe = match (&server, &load.pid_file) {
        (Some(_), _) => Some(Err(
            "the built-in server runs in this process, beside the load generator, so its CPU use is not told apart: run the check through the perfhub binary for it".to_string(),
        )),
        (None, Some((file, _))) => Some(probe_pid_file(file)),
        (None, None) => None,
    };
    let done = load_test(load, url.as_deref()).and_then(|test| {
        let outcome =
            perfhub_load::engine::run(&test.config, &mut perfhub_load::engine::NoProgress)
                .map_err(|e| e.to_string())?;
        if !outcome.failures.is_empty() {
            return Err(format!(
                "the load test failed: {}",
                outcome.failures.join("; ")
            ));
        }
        let mut report = outcome.report;
        report.budgets =
            perfhub_load::report::evaluate_budgets(&report, &test.overall, &test.per_endpoint)
                .map_err(|e| format!("cannot evaluate budgets: {e}"))?;
        judged(report)
    });
    run.service = probe.map(|p| p.and_then(crate::runner::ServiceProbe::finish));
    if let Some(s) = server {
        s.stop();
    }
    finish(step, ctx, done, run)
}

fn run_profile(step: &Step, profile: &ProfileStep, ctx: &StepContext<'_>) -> Done {
    use perfhub_profile::process::{CallGraph, CommandProfileConfig, profile_command};
    let Some((program, args)) = profile.command.split_first() else {
        return Err("the command is empty".into());
    };
    let mut spec = perfhub_probe::spawn::CommandSpec::new(program, args);
    spec.cwd = Some(ctx.plan.dir.clone());
    let defaults = CommandProfileConfig::default();
    let config = CommandProfileConfig {
        frequency_hz: profile.frequency.unwrap_or(defaults.frequency_hz),
        call_graph: match profile.call_graph {
            Some(crate::plan::CallGraph::Dwarf) => CallGraph::DWARF,
            Some(crate::plan::CallGraph::FramePointer) | None => CallGraph::FramePointer,
        },
        off_cpu: profile.off_cpu,
        ..defaults
    };
    let result = profile_command(&spec, config).map_err(|e| e.to_string())?;
    let report = result.to_report(perfhub_core::time::UtcTime::now());
    let out = ctx.dir.join(&step.name);
    result
        .write_outputs(&out, &report)
        .map_err(|e| format!("cannot write the profile into {}: {e}", out.display()))?;
    // The profiled command's own status is its business; what matters here
    // is whether it was profiled.
    Ok((report, StepStatus::Passed))
}

fn import_criterion(criterion: &CriterionStep) -> Done {
    let Some(results) = criterion
        .results
        .as_deref()
        .filter(|_| criterion.gate.is_none())
    else {
        return Err(
            "a criterion project gated A/B runs through the perfhub binary (the child-process runner)"
                .into(),
        );
    };
    let options = perfhub_import::ImportOptions::new(perfhub_core::time::UtcTime::now());
    let mut report =
        perfhub_import::import_criterion_dir(results, None, &options).map_err(|e| e.to_string())?;
    report.budgets = perfhub_core::budget::evaluate(&budgets(&criterion.budgets)?, &report)
        .map_err(|e| format!("cannot evaluate budgets: {e}"))?;
    judged(report)
}

/// The flame graph a profile step wrote, if it did.
fn flamegraph_of(dir: &Path, step: &Step) -> Option<std::path::PathBuf> {
    let svg = dir.join(&step.name).join("flamegraph.svg");
    svg.exists().then_some(svg)
}
