//! The child-process runner: each step as a `perfhub` subcommand of its
//! own, so that a step behaves exactly as the command would on the command
//! line, prints what it prints, and a step that crashes cannot take the
//! check down. The command lines are made here, from the typed steps.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::plan::{
    CriterionStep, Export, GateStep, LoadStep, LoadTarget, ProfileStep, RunStep, ServeTarget, Step,
    StepKind,
};
use crate::runner::{
    RunnerError, ServiceProbe, StepContext, StepRun, StepRunner, StepStatus, probe_pid_file,
    read_step_report,
};

/// Runs each step as `perfhub <subcommand> ...`, a child process of the
/// `perfhub` binary at [`exe`](ChildRunner::exe), with this process's
/// standard output and error.
#[derive(Debug, Clone)]
pub struct ChildRunner {
    /// The `perfhub` binary.
    pub exe: PathBuf,
}

impl ChildRunner {
    /// A runner of the `perfhub` binary at `exe`.
    pub fn new(exe: impl Into<PathBuf>) -> ChildRunner {
        ChildRunner { exe: exe.into() }
    }

    /// Runs `perfhub <args>` in `dir`; its exit code (1 when a signal ended it).
    fn perfhub(&self, args: &[String], dir: Option<&Path>) -> Result<i32, RunnerError> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).stdin(Stdio::null());
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let status = cmd
            .status()
            .map_err(|e| RunnerError::io("cannot start perfhub", e))?;
        Ok(status.code().unwrap_or(StepStatus::ERROR.exit_code()))
    }

    /// Pushes `report` (a `report.json`) to one destination with `perfhub
    /// export`; whether it succeeded.
    pub fn export(&self, export: &Export, report: &Path) -> Result<bool, RunnerError> {
        Ok(self.perfhub(&export_args(export, report), None)? == 0)
    }

    fn run_load(
        &self,
        step: &Step,
        load: &LoadStep,
        ctx: &StepContext<'_>,
    ) -> Result<StepRun, RunnerError> {
        let mut run = StepRun::default();
        let target = match &load.target {
            LoadTarget::Serve(serve) => match Target::start(&self.exe, serve) {
                Ok(t) => Some(t),
                Err(e) => {
                    run.status = StepStatus::ERROR;
                    run.error = Some(format!(
                        "{}:{}: [{}] serve: {e}",
                        ctx.plan.file.display(),
                        step.line,
                        step.name
                    ));
                    return Ok(run);
                }
            },
            _ => None,
        };
        let args = load_args(load, ctx.report, target.as_ref().map(|t| t.url.as_str()));
        // The service under test: the built-in server, or the process of
        // `pid_file`. Its CPU use over the test is the plan's
        // `cpu_utilization` key figure.
        let probe = match (&target, &load.pid_file) {
            (Some(t), _) => Some(Ok(ServiceProbe::start(
                t.child.id(),
                "perfhub serve".to_string(),
            ))),
            (None, Some((file, _))) => Some(probe_pid_file(file)),
            (None, None) => None,
        };
        let code = self.perfhub(&args, Some(&ctx.plan.dir))?;
        run.service = probe.map(|p| p.and_then(ServiceProbe::finish));
        run.status = StepStatus::from_exit_code(code);
        run.report = read_step_report(ctx.report);
        Ok(run)
    }

    fn run_profile(
        &self,
        step: &Step,
        profile: &ProfileStep,
        ctx: &StepContext<'_>,
    ) -> Result<StepRun, RunnerError> {
        let out = ctx.dir.join(&step.name);
        let code = self.perfhub(&profile_args(profile, &out), Some(&ctx.plan.dir))?;
        let report = out.join("report.json");
        if report.exists() {
            std::fs::copy(&report, ctx.report).ok();
        }
        let svg = out.join("flamegraph.svg");
        // The profiled command's own status is its business; what matters
        // here is whether perfhub profiled it.
        let code = if ctx.report.exists() { 0 } else { code.max(1) };
        Ok(StepRun {
            status: StepStatus::from_exit_code(code),
            report: read_step_report(ctx.report),
            flamegraph: svg.exists().then_some(svg),
            ..StepRun::default()
        })
    }
}

impl StepRunner for ChildRunner {
    fn run(&mut self, step: &Step, ctx: &StepContext<'_>) -> Result<StepRun, RunnerError> {
        let code = match &step.kind {
            StepKind::Run(run) => self.perfhub(&run_args(run, ctx.report), Some(&ctx.plan.dir))?,
            StepKind::Load(load) => return self.run_load(step, load, ctx),
            StepKind::Profile(profile) => return self.run_profile(step, profile, ctx),
            StepKind::Criterion(CriterionStep {
                gate: Some(gate), ..
            }) => self.perfhub(&gate_args(gate, ctx.report), Some(&gate.project))?,
            StepKind::Criterion(CriterionStep {
                results: Some(results),
                budgets,
                ..
            }) => self.perfhub(
                &import_args(results, budgets, ctx.report),
                Some(&ctx.plan.dir),
            )?,
            StepKind::Criterion(_) => StepStatus::ERROR.exit_code(),
        };
        Ok(StepRun {
            status: StepStatus::from_exit_code(code),
            report: read_step_report(ctx.report),
            ..StepRun::default()
        })
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `perfhub run`'s command line for a `[[run]]` step.
fn run_args(run: &RunStep, json: &Path) -> Vec<String> {
    let mut a = vec![s("run"), s("--export-json"), path(json)];
    let flags = [
        ("--warmup", run.warmup.map(|w| w.to_string())),
        ("--runs", run.runs.map(|n| n.to_string())),
        ("--min-runs", run.min_runs.map(|n| n.to_string())),
        ("--prepare", run.prepare.clone()),
        ("--shell", run.shell.clone()),
    ];
    for (flag, value) in flags {
        if let Some(v) = value {
            a.extend([s(flag), v]);
        }
    }
    for b in &run.budgets {
        a.extend([s("--budget"), b.clone()]);
    }
    a.extend(run.commands.iter().cloned());
    a
}

/// `perfhub load`'s command line for a `[[load]]` step, the built-in
/// server's URL given when it is the target.
fn load_args(load: &LoadStep, json: &Path, served: Option<&str>) -> Vec<String> {
    let mut a = vec![
        s("load"),
        s("--no-progress"),
        s("--export-json"),
        path(json),
    ];
    if let Some(rate) = load.rate {
        a.extend([s("--rate"), rate.to_string()]);
    }
    if let Some(c) = load.connections {
        a.extend([s("--connections"), c.to_string()]);
    }
    if let Some(d) = &load.duration {
        a.extend([s("--duration"), d.clone()]);
    }
    for b in &load.budgets {
        a.extend([s("--budget"), b.clone()]);
    }
    match (&load.target, served) {
        (LoadTarget::Scenario(p), _) => a.extend([s("--scenario"), path(p)]),
        (LoadTarget::Url { url, .. }, _) => a.push(url.clone()),
        (LoadTarget::Serve(serve), Some(base)) => a.push(format!("{base}{}", serve.path)),
        (LoadTarget::Serve(_), None) => {}
    }
    a
}

/// `perfhub serve`'s options for a built-in target.
fn serve_args(serve: &ServeTarget) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(l) = &serve.latency {
        a.extend([s("--latency"), l.clone()]);
    }
    if let Some(e) = serve.error_rate {
        a.extend([s("--error-rate"), e.to_string()]);
    }
    if let Some(st) = &serve.stall {
        a.extend([s("--stall"), st.clone()]);
    }
    a
}

/// `perfhub profile`'s command line for a `[[profile]]` step writing into `out`.
fn profile_args(profile: &ProfileStep, out: &Path) -> Vec<String> {
    let mut a = vec![s("profile"), s("-o"), path(out)];
    if let Some(f) = profile.frequency {
        a.extend([s("--frequency"), f.to_string()]);
    }
    if let Some(cg) = profile.call_graph {
        a.extend([s("--call-graph"), s(cg.as_str())]);
    }
    if profile.off_cpu {
        a.push(s("--off-cpu"));
    }
    a.push(s("--"));
    a.extend(profile.command.iter().cloned());
    a
}

/// `perfhub ab`'s command line for a gated criterion project.
fn gate_args(gate: &GateStep, json: &Path) -> Vec<String> {
    let mut a = vec![s("ab"), s("--base"), gate.base.clone()];
    if let Some(rounds) = gate.rounds {
        a.extend([s("--rounds"), rounds.to_string()]);
    }
    if let Some(m) = &gate.min_effect {
        a.extend([s("--min-effect"), m.clone()]);
    }
    a.extend([s("--export-json"), path(json), s("--")]);
    a.extend(gate.command.iter().cloned());
    a
}

/// `perfhub import criterion`'s command line for criterion results.
fn import_args(results: &Path, budgets: &[String], json: &Path) -> Vec<String> {
    let mut a = vec![
        s("import"),
        s("criterion"),
        path(results),
        s("-o"),
        path(json),
    ];
    for b in budgets {
        a.extend([s("--budget"), b.clone()]);
    }
    a
}

/// `perfhub export`'s command line pushing `report` to one destination.
fn export_args(e: &Export, report: &Path) -> Vec<String> {
    let mut a = vec![s("export"), s("--to"), e.to.clone()];
    if let Some(p) = &e.path {
        a.extend([s("-o"), path(p)]);
    }
    if let Some((u, _)) = &e.url {
        a.extend([s("--url"), u.clone()]);
    }
    if let Some(j) = &e.job {
        a.extend([s("--job"), j.clone()]);
    }
    if let Some(x) = &e.experiment {
        a.extend([s("--experiment"), x.clone()]);
    }
    a.push(path(report));
    a
}

/// `perfhub serve` on a free loopback port, stopped on drop.
struct Target {
    child: Child,
    url: String,
}

impl Target {
    fn start(exe: &Path, serve: &ServeTarget) -> Result<Target, String> {
        let mut child = Command::new(exe)
            .args(["serve", "--port", "0"])
            .args(serve_args(serve))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start perfhub serve: {e}"))?;
        let mut line = String::new();
        let read = match child.stderr.take() {
            Some(stderr) => BufReader::new(stderr).read_line(&mut line).map(|_| ()),
            None => Err(std::io::Error::other(
                "no standard error to read the URL from",
            )),
        };
        let stop = |mut child: Child| {
            let _ = child.kill();
            let _ = child.wait();
        };
        if let Err(e) = read {
            stop(child);
            return Err(format!("perfhub serve did not say where it listens: {e}"));
        }
        let Some(url) = line.split_whitespace().find(|w| w.starts_with("http")) else {
            stop(child);
            return Err(format!("perfhub serve did not start: {}", line.trim()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_plan;

    fn plan(text: &str) -> crate::Plan {
        parse_plan(text, "perfhub.toml", Path::new("/p/perfhub.toml")).unwrap()
    }

    #[test]
    fn command_lines_from_the_typed_steps() {
        let p = plan(
            "[[run]]\nname = \"cmds\"\ncommands = [\"sleep 0.01\", \"true\"]\nwarmup = 1\nruns = 3\nbudgets = [\"mean < 1s\"]\n\n\
             [[load]]\nname = \"api\"\nserve = { latency = \"1ms\", path = \"/x\" }\nrate = 100\nduration = \"2s\"\n\n\
             [[profile]]\nname = \"hot\"\ncommand = [\"./hot\", \"10\"]\ncall_graph = \"dwarf\"\noff_cpu = true\n\n\
             [[export]]\nto = \"todotxt\"\npath = \"out/todo.txt\"\n",
        );
        let json = Path::new("/o/x.json");
        let StepKind::Load(load) = &p.steps[0].kind else {
            panic!("{:?}", p.steps[0].kind)
        };
        assert_eq!(
            load_args(load, json, Some("http://127.0.0.1:5")),
            [
                "load",
                "--no-progress",
                "--export-json",
                "/o/x.json",
                "--rate",
                "100",
                "--duration",
                "2s",
                "http://127.0.0.1:5/x"
            ]
        );
        let LoadTarget::Serve(serve) = &load.target else {
            panic!("{:?}", load.target)
        };
        assert_eq!(serve_args(serve), ["--latency", "1ms"]);
        let StepKind::Profile(profile) = &p.steps[1].kind else {
            panic!("{:?}", p.steps[1].kind)
        };
        assert_eq!(
            profile_args(profile, Path::new("/o/hot")),
            [
                "profile",
                "-o",
                "/o/hot",
                "--call-graph",
                "dwarf",
                "--off-cpu",
                "--",
                "./hot",
                "10"
            ]
        );
        let StepKind::Run(run) = &p.steps[2].kind else {
            panic!("{:?}", p.steps[2].kind)
        };
        assert_eq!(
            run_args(run, json),
            [
                "run",
                "--export-json",
                "/o/x.json",
                "--warmup",
                "1",
                "--runs",
                "3",
                "--budget",
                "mean < 1s",
                "sleep 0.01",
                "true"
            ]
        );
        assert_eq!(
            export_args(&p.exports[0], Path::new("/o/report.json")),
            [
                "export",
                "--to",
                "todotxt",
                "-o",
                "/p/out/todo.txt",
                "/o/report.json"
            ]
        );
    }
}
