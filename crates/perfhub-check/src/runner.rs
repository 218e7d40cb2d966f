//! What runs a step: the [`StepRunner`] trait, what a step gives back, and
//! the measurement of a service's CPU use both runners share.

use std::path::{Path, PathBuf};
use std::time::Duration;

use perfhub_core::report::{Benchmark, Measurement, Note, Report, metric};
use perfhub_core::units::Unit;

use crate::plan::{Plan, Step};

/// How a step ended, as the exit code of the `perfhub` subcommand it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepStatus {
    /// All went well (exit 0).
    #[default]
    Passed,
    /// A budget of the step was breached (exit 3).
    BudgetBreached,
    /// A benchmarked command failed (exit 4).
    CommandFailed,
    /// A gated suite regressed (exit 5).
    Regressed,
    /// The step was interrupted (exit 130).
    Interrupted,
    /// The step failed, with this exit code (1 for an error of perfhub's
    /// own, 2 for a command line it refused).
    Failed(i32),
}

impl StepStatus {
    /// The status of a `perfhub` subcommand that exited with `code`.
    pub fn from_exit_code(code: i32) -> StepStatus {
        match code {
            0 => StepStatus::Passed,
            3 => StepStatus::BudgetBreached,
            4 => StepStatus::CommandFailed,
            5 => StepStatus::Regressed,
            130 => StepStatus::Interrupted,
            c => StepStatus::Failed(c),
        }
    }

    /// The exit code of a `perfhub` subcommand that ended so.
    pub fn exit_code(self) -> i32 {
        match self {
            StepStatus::Passed => 0,
            StepStatus::BudgetBreached => 3,
            StepStatus::CommandFailed => 4,
            StepStatus::Regressed => 5,
            StepStatus::Interrupted => 130,
            StepStatus::Failed(c) => c,
        }
    }

    /// An error of perfhub's own: exit code 1.
    pub const ERROR: StepStatus = StepStatus::Failed(1);
}

/// Where a step runs and writes.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// The plan the step is of.
    pub plan: &'a Plan,
    /// The directory of the steps' outputs (`<output>/steps`).
    pub dir: &'a Path,
    /// Where the step's report goes: `<output>/steps/<name>.json`.
    pub report: &'a Path,
}

/// What a step gave back to the check.
#[derive(Debug, Default)]
pub struct StepRun {
    /// How it ended.
    pub status: StepStatus,
    /// Its report, if it wrote one.
    pub report: Option<Report>,
    /// The flame graph (SVG) of a profile step.
    pub flamegraph: Option<PathBuf>,
    /// What went wrong, in a sentence that names the step.
    pub error: Option<String>,
    /// A load step's service under test: its CPU use over the test, or why
    /// it could not be read.
    pub service: Option<Result<Benchmark, String>>,
}

/// A failure that stops the whole check, not one step (a runner that
/// cannot start at all).
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct RunnerError {
    /// What could not be done.
    pub what: String,
    /// Why.
    #[source]
    pub source: Option<std::io::Error>,
}

impl RunnerError {
    /// An error saying `what`, from `source`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> RunnerError {
        RunnerError {
            what: what.into(),
            source: Some(source),
        }
    }
}

/// Runs the steps of a plan: in child processes ([`ChildRunner`](crate::ChildRunner),
/// what `perfhub check` uses) or in this one ([`InProcessRunner`](crate::InProcessRunner)).
pub trait StepRunner {
    /// Runs `step` (its `build` has run already), leaving its report at
    /// `ctx.report`. A failure of the step is data in the [`StepRun`]; an
    /// `Err` stops the check.
    fn run(&mut self, step: &Step, ctx: &StepContext<'_>) -> Result<StepRun, RunnerError>;
}

/// The benchmark of a load step that holds the CPU use of the service
/// under test (`<step>/service` in the check's report).
pub(crate) const SERVICE: &str = "service";

/// How often the service's CPU use is read from `/proc` during a load step.
const SERVICE_INTERVAL: Duration = Duration::from_millis(100);

/// Reads the pid in the first line of `path` and checks that the process
/// is there.
pub(crate) fn pid_from_file(path: &Path) -> Result<u32, String> {
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
pub(crate) struct ServiceProbe {
    pid: u32,
    what: String,
    timeline: Option<perfhub_probe::timeline::Timeline>,
    failure: Option<String>,
}

impl ServiceProbe {
    pub(crate) fn start(pid: u32, what: String) -> ServiceProbe {
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

    /// The service's benchmark, `service`: `cpu_utilization` (1 is one
    /// core) every [`SERVICE_INTERVAL`] of the test.
    pub(crate) fn finish(self) -> Result<Benchmark, String> {
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
        let mut b = Benchmark::new(SERVICE, metric::CPU_UTILIZATION);
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

/// The probe of a load step's service named by its pid file.
pub(crate) fn probe_pid_file(file: &Path) -> Result<ServiceProbe, String> {
    pid_from_file(file)
        .map(|pid| ServiceProbe::start(pid, format!("the process of {}", file.display())))
}

/// Reads a step's report, `None` when it wrote none (or not a report).
pub(crate) fn read_step_report(path: &Path) -> Option<Report> {
    let text = std::fs::read_to_string(path).ok()?;
    Report::from_json(&text).ok()
}
