//! `perfhub.toml`: a project's performance plan, read and checked before
//! anything runs, so that a mistake is reported with its file, line and key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use perfhub_load::scenario::{ScenarioError, error_at_offset, locate_toml_error};
use serde::Deserialize;
use toml::Spanned;

/// The seed's default budgets, on the plan's key figures (see
/// `perfhub_core::score`): the load tests' p95 latency and error rate, the
/// CPU utilization of the service under load (a share of the machine: the
/// built-in server, or the process of a load step's `pid_file`) and the
/// profiled processes' memory efficiency.
pub const DEFAULT_BUDGETS: [&str; 4] = [
    "latency_p95 < 200ms",
    "error_rate < 0.1%",
    "cpu_utilization < 70%",
    "memory_efficiency > 85%",
];

/// The destinations `[[export]]` accepts, with the keys each needs.
pub const EXPORT_DESTINATIONS: &[(&str, &[&str])] = &[
    ("bencher", &["path"]),
    ("github-action-benchmark", &["path"]),
    ("mlflow", &["url"]),
    ("prometheus", &["path"]),
    ("openmetrics", &["path"]),
    ("pushgateway", &["url"]),
    ("textfile", &["path"]),
    ("ical", &["path"]),
    ("taskwarrior", &["path"]),
    ("todotxt", &["path"]),
    ("review", &["path"]),
    ("datapackage", &["path"]),
    ("rocrate", &["path"]),
];

/// What kind of problem a [`PlanError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanErrorKind {
    /// The file does not exist.
    Missing,
    /// The file could not be read.
    Unreadable,
    /// The plan is not valid: bad TOML, an unknown key, a bad value.
    Invalid,
    /// A URL or a pid file the plan names does not answer (found by
    /// [`preflight`](crate::preflight), before anything runs).
    Unreachable,
}

/// A problem with a plan, located in its file.
///
/// Displayed as `file:line:column: key: message`, the message saying what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The file name, as given.
    pub file: String,
    /// The line, from 1; `None` when the problem is not at one place.
    pub line: Option<usize>,
    /// The column in characters, from 1; `None` when unknown.
    pub column: Option<usize>,
    /// The key, such as `run[0].warmup`; empty when the problem is not
    /// under one key.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// What kind of problem it is.
    pub kind: PlanErrorKind,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        perfhub_core::text::write_located(
            f,
            &self.file,
            self.line,
            self.column,
            &self.key,
            &self.message,
        )
    }
}

impl From<ScenarioError> for PlanError {
    fn from(e: ScenarioError) -> PlanError {
        PlanError {
            file: e.file,
            line: e.line,
            column: e.column,
            key: e.key,
            message: e.message,
            kind: PlanErrorKind::Invalid,
        }
    }
}

/// Where a value is written in the plan: its key, line and column, for the
/// errors found about it once the plan is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    /// The key, such as `load[0].url`.
    pub key: String,
    /// The line, from 1.
    pub line: Option<usize>,
    /// The column in characters, from 1.
    pub column: Option<usize>,
}

impl Spot {
    /// An error about the value written here.
    pub fn error(&self, file: &str, kind: PlanErrorKind, message: impl Into<String>) -> PlanError {
        PlanError {
            file: file.to_string(),
            line: self.line,
            column: self.column,
            key: self.key.clone(),
            message: message.into(),
            kind,
        }
    }
}

/// The plan, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file it came from, absolute.
    pub file: PathBuf,
    /// The file's name as given, for messages.
    pub name: String,
    /// The plan's directory, absolute: steps run there, and the paths the
    /// plan names are relative to it.
    pub dir: PathBuf,
    /// The report's title.
    pub title: String,
    /// Where `report.json`, `report.html` and the steps' outputs go.
    pub output: PathBuf,
    /// The history store, if any: a `postgres://` URL, or an SQLite file
    /// (absolute: the plan names it relative to its directory).
    pub history: Option<String>,
    /// Budgets on the key figures (the `kpi` benchmark).
    pub budgets: Vec<String>,
    /// The steps, in the order they run: load tests, profiles, command
    /// benchmarks, criterion suites.
    pub steps: Vec<Step>,
    /// Where results are pushed.
    pub exports: Vec<Export>,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, unique in the plan.
    pub name: String,
    /// A shell command run once before it, in the plan's directory.
    pub build: Option<String>,
    /// What it runs.
    pub kind: StepKind,
    /// The line of its table, for messages.
    pub line: usize,
}

/// What a step is.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// `[[run]]`: command benchmarks.
    Run(RunStep),
    /// `[[load]]`: an HTTP load test.
    Load(LoadStep),
    /// `[[profile]]`: a profiled command.
    Profile(ProfileStep),
    /// `[[criterion]]`: criterion results imported, or a suite gated A/B.
    Criterion(CriterionStep),
}

/// A `[[run]]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStep {
    /// The command lines to benchmark.
    pub commands: Vec<String>,
    /// Unmeasured runs first.
    pub warmup: Option<u64>,
    /// Exactly this many measured runs.
    pub runs: Option<u64>,
    /// At least this many measured runs.
    pub min_runs: Option<u64>,
    /// A shell command run before every run.
    pub prepare: Option<String>,
    /// The shell the commands run in.
    pub shell: Option<String>,
    /// Budgets on the commands.
    pub budgets: Vec<String>,
}

/// A `[[load]]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadStep {
    /// What is loaded.
    pub target: LoadTarget,
    /// A constant arrival rate, requests per second (the open model).
    pub rate: Option<f64>,
    /// Keep-alive connections.
    pub connections: Option<u64>,
    /// How long the test lasts, such as `30s`.
    pub duration: Option<String>,
    /// Budgets on the test.
    pub budgets: Vec<String>,
    /// A file holding the pid of the service under test (its first line):
    /// its CPU use is measured over the test. The built-in server's is
    /// measured without one.
    pub pid_file: Option<(PathBuf, Spot)>,
}

/// What a load step loads.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadTarget {
    /// A service at a URL.
    Url {
        /// The URL.
        url: String,
        /// Where it is written.
        at: Spot,
    },
    /// The requests of a scenario file (absolute).
    Scenario(PathBuf),
    /// perfhub's built-in target server, started for the step.
    Serve(ServeTarget),
}

/// The built-in target server of a load step (`serve = { ... }`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServeTarget {
    /// Its latency, as `perfhub serve --latency` takes it.
    pub latency: Option<String>,
    /// The share of requests answered with an error.
    pub error_rate: Option<f64>,
    /// Its stalls, as `perfhub serve --stall` takes them.
    pub stall: Option<String>,
    /// The path requested from it.
    pub path: String,
}

/// How a profile step walks the stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallGraph {
    /// Frame pointers (`"fp"`).
    FramePointer,
    /// DWARF unwinding of copied stacks (`"dwarf"`).
    Dwarf,
}

impl CallGraph {
    /// Its spelling in the plan and on `perfhub profile`'s command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CallGraph::FramePointer => "fp",
            CallGraph::Dwarf => "dwarf",
        }
    }
}

/// A `[[profile]]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileStep {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Samples per second.
    pub frequency: Option<u64>,
    /// How stacks are walked.
    pub call_graph: Option<CallGraph>,
    /// Off-CPU time as well.
    pub off_cpu: bool,
}

/// A `[[criterion]]` step.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionStep {
    /// A results directory (`target/criterion`) to import, absolute.
    pub results: Option<PathBuf>,
    /// A project to run through the A/B gate; when set, it is what runs.
    pub gate: Option<GateStep>,
    /// Budgets on the imported results.
    pub budgets: Vec<String>,
}

/// A criterion project gated A/B (`perfhub ab`).
#[derive(Debug, Clone, PartialEq)]
pub struct GateStep {
    /// The project's directory, absolute.
    pub project: PathBuf,
    /// The bench command.
    pub command: Vec<String>,
    /// The base revision.
    pub base: String,
    /// Rounds of base and head; `None`: `perfhub ab`'s default.
    pub rounds: Option<u64>,
    /// The least change called a regression, such as `3%`.
    pub min_effect: Option<String>,
}

/// One destination of `[[export]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// The destination, one of [`EXPORT_DESTINATIONS`].
    pub to: String,
    /// The file written, absolute.
    pub path: Option<PathBuf>,
    /// The URL it talks to, and where it is written.
    pub url: Option<(String, Spot)>,
    /// The Pushgateway job.
    pub job: Option<String>,
    /// The MLflow experiment.
    pub experiment: Option<String>,
    /// The line of its table.
    pub line: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    check: RawCheck,
    #[serde(default)]
    run: Vec<Spanned<RawRun>>,
    #[serde(default)]
    load: Vec<Spanned<RawLoad>>,
    #[serde(default)]
    profile: Vec<Spanned<RawProfile>>,
    #[serde(default)]
    criterion: Vec<Spanned<RawCriterion>>,
    #[serde(default)]
    export: Vec<Spanned<RawExport>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    title: Option<String>,
    output: Option<String>,
    history: Option<Spanned<String>>,
    budgets: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    name: Spanned<String>,
    build: Option<Spanned<String>>,
    commands: Spanned<Vec<String>>,
    warmup: Option<u64>,
    runs: Option<u64>,
    min_runs: Option<u64>,
    prepare: Option<String>,
    shell: Option<String>,
    #[serde(default)]
    budgets: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    name: Spanned<String>,
    url: Option<Spanned<String>>,
    scenario: Option<Spanned<String>>,
    serve: Option<Spanned<RawServe>>,
    rate: Option<f64>,
    connections: Option<u64>,
    duration: Option<Spanned<String>>,
    pid_file: Option<Spanned<String>>,
    #[serde(default)]
    budgets: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    latency: Option<String>,
    error_rate: Option<f64>,
    stall: Option<String>,
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Spanned<String>,
    build: Option<Spanned<String>>,
    command: Spanned<Vec<String>>,
    frequency: Option<u64>,
    call_graph: Option<Spanned<String>>,
    #[serde(default)]
    off_cpu: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    name: Spanned<String>,
    results: Option<Spanned<String>>,
    project: Option<Spanned<String>>,
    command: Option<Vec<String>>,
    base: Option<String>,
    rounds: Option<u64>,
    min_effect: Option<String>,
    #[serde(default)]
    budgets: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    to: Spanned<String>,
    path: Option<String>,
    url: Option<Spanned<String>>,
    job: Option<String>,
    experiment: Option<String>,
}

pub use perfhub_core::compare::parse_min_effect;

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
    /// The plan's directory, absolute.
    base: &'a Path,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: &Range<usize>,
        key: impl Into<String>,
        msg: impl Into<String>,
    ) -> PlanError {
        error_at_offset(self.text, self.file, span.start, key, msg).into()
    }

    fn spot(&self, offset: usize, key: String) -> Spot {
        let e = error_at_offset(self.text, self.file, offset, key, "");
        Spot {
            key: e.key,
            line: e.line,
            column: e.column,
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn budgets(&self, raw: &[Spanned<String>], key: &str) -> Result<Vec<String>, PlanError> {
        raw.iter()
            .enumerate()
            .map(|(i, b)| {
                perfhub_core::Budget::parse(b.get_ref())
                    .map(|_| b.get_ref().clone())
                    .map_err(|e| {
                        self.err(
                            &b.span(),
                            format!("{key}[{i}]"),
                            format!("bad budget {:?}: {}", b.get_ref(), e.message()),
                        )
                    })
            })
            .collect()
    }

    fn name(
        &self,
        name: &Spanned<String>,
        key: &str,
        seen: &mut Vec<String>,
    ) -> Result<String, PlanError> {
        let n = name.get_ref();
        let ok = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(self.err(
                &name.span(),
                key,
                format!(
                    "bad step name {n:?}: use letters, digits, `-`, `_` and `.` (it names files)"
                ),
            ));
        }
        if seen.contains(n) {
            return Err(self.err(
                &name.span(),
                key,
                format!("duplicate step name {n:?}: give each step its own name"),
            ));
        }
        seen.push(n.clone());
        Ok(n.clone())
    }

    fn duration(&self, d: &Spanned<String>, key: &str) -> Result<String, PlanError> {
        perfhub_core::units::parse_duration(d.get_ref())
            .map(|_| d.get_ref().clone())
            .map_err(|e| self.err(&d.span(), key, e))
    }

    fn load(
        &self,
        i: usize,
        s: &Spanned<RawLoad>,
        seen: &mut Vec<String>,
    ) -> Result<Step, PlanError> {
        let r = s.get_ref();
        let key = |k: &str| format!("load[{i}].{k}");
        let name = self.name(&r.name, &key("name"), seen)?;
        if let Some(rate) = r.rate
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(self.err(
                &s.span(),
                key("rate"),
                "the rate must be a positive number of requests per second",
            ));
        }
        let duration = match &r.duration {
            Some(d) => Some(self.duration(d, &key("duration"))?),
            None => None,
        };
        let budgets = self.budgets(&r.budgets, &key("budgets"))?;
        let targets = [r.url.is_some(), r.scenario.is_some(), r.serve.is_some()]
            .iter()
            .filter(|t| **t)
            .count();
        if targets > 1 {
            return Err(self.err(
                &r.name.span(),
                format!("load[{i}]"),
                "give only one target: `url`, `scenario` or `serve`",
            ));
        }
        if let (Some(pf), Some(_)) = (&r.pid_file, &r.serve) {
            return Err(self.err(
                &pf.span(),
                key("pid_file"),
                "`pid_file` names the process of a service under test; with `serve`, perfhub measures its own server: remove one",
            ));
        }
        let target = match (&r.url, &r.scenario, &r.serve) {
            (Some(u), _, _) => {
                perfhub_load::request::parse_url(u.get_ref())
                    .map_err(|e| self.err(&u.span(), key("url"), e.to_string()))?;
                LoadTarget::Url {
                    url: u.get_ref().clone(),
                    at: self.spot(u.span().start, key("url")),
                }
            }
            (None, Some(sc), _) => {
                let p = self.base.join(sc.get_ref());
                if !p.is_file() {
                    return Err(self.err(
                        &sc.span(),
                        key("scenario"),
                        format!("no scenario file at {}", p.display()),
                    ));
                }
                LoadTarget::Scenario(p)
            }
            (None, None, Some(sv)) => {
                let raw = sv.get_ref();
                if let Some(l) = &raw.latency {
                    perfhub_serve::parse_latency(l)
                        .map_err(|e| self.err(&sv.span(), key("serve.latency"), e.to_string()))?;
                }
                if let Some(st) = &raw.stall {
                    perfhub_serve::parse_stall(st)
                        .map_err(|e| self.err(&sv.span(), key("serve.stall"), e.to_string()))?;
                }
                LoadTarget::Serve(ServeTarget {
                    latency: raw.latency.clone(),
                    error_rate: raw.error_rate,
                    stall: raw.stall.clone(),
                    path: raw.path.clone().unwrap_or_else(|| "/".into()),
                })
            }
            (None, None, None) => {
                return Err(self.err(
                    &r.name.span(),
                    format!("load[{i}]"),
                    "missing target: give `url` (your service, such as http://api.internal:8080/), `scenario` (a scenario file) or `serve = {}` (perfhub's built-in target server)",
                ));
            }
        };
        let pid_file = r.pid_file.as_ref().map(|pf| {
            (
                self.base.join(pf.get_ref()),
                self.spot(pf.span().start, key("pid_file")),
            )
        });
        Ok(Step {
            name,
            build: None,
            kind: StepKind::Load(LoadStep {
                target,
                rate: r.rate,
                connections: r.connections,
                duration,
                budgets,
                pid_file,
            }),
            line: self.line(s.span().start),
        })
    }

    fn profile(
        &self,
        i: usize,
        s: &Spanned<RawProfile>,
        seen: &mut Vec<String>,
    ) -> Result<Step, PlanError> {
        let r = s.get_ref();
        let key = |k: &str| format!("profile[{i}].{k}");
        let name = self.name(&r.name, &key("name"), seen)?;
        if r.command.get_ref().is_empty() {
            return Err(self.err(&r.command.span(), key("command"), "the command is empty: give the program and its arguments, such as [\"./my-program\", \"--input\", \"big.txt\"]"));
        }
        let call_graph = match &r.call_graph {
            Some(cg) => Some(match cg.get_ref().as_str() {
                "fp" => CallGraph::FramePointer,
                "dwarf" => CallGraph::Dwarf,
                _ => {
                    return Err(self.err(
                        &cg.span(),
                        key("call_graph"),
                        "`call_graph` is \"fp\" (frame pointers) or \"dwarf\"",
                    ));
                }
            }),
            None => None,
        };
        Ok(Step {
            name,
            build: r.build.as_ref().map(|b| b.get_ref().clone()),
            kind: StepKind::Profile(ProfileStep {
                command: r.command.get_ref().clone(),
                frequency: r.frequency,
                call_graph,
                off_cpu: r.off_cpu,
            }),
            line: self.line(s.span().start),
        })
    }

    fn run(
        &self,
        i: usize,
        s: &Spanned<RawRun>,
        seen: &mut Vec<String>,
    ) -> Result<Step, PlanError> {
        let r = s.get_ref();
        let key = |k: &str| format!("run[{i}].{k}");
        let name = self.name(&r.name, &key("name"), seen)?;
        if r.commands.get_ref().is_empty() {
            return Err(self.err(
                &r.commands.span(),
                key("commands"),
                "no commands: give at least one, such as [\"sleep 0.05\"]",
            ));
        }
        Ok(Step {
            name,
            build: r.build.as_ref().map(|b| b.get_ref().clone()),
            kind: StepKind::Run(RunStep {
                commands: r.commands.get_ref().clone(),
                warmup: r.warmup,
                runs: r.runs,
                min_runs: r.min_runs,
                prepare: r.prepare.clone(),
                shell: r.shell.clone(),
                budgets: self.budgets(&r.budgets, &key("budgets"))?,
            }),
            line: self.line(s.span().start),
        })
    }

    fn criterion(
        &self,
        i: usize,
        s: &Spanned<RawCriterion>,
        seen: &mut Vec<String>,
    ) -> Result<Step, PlanError> {
        let r = s.get_ref();
        let key = |k: &str| format!("criterion[{i}].{k}");
        let name = self.name(&r.name, &key("name"), seen)?;
        let budgets = self.budgets(&r.budgets, &key("budgets"))?;
        let results = match &r.results {
            Some(d) => {
                let p = self.base.join(d.get_ref());
                if !p.is_dir() {
                    return Err(self.err(&d.span(), key("results"), format!("no criterion results at {}: run `cargo bench` first, or point at its target/criterion", p.display())));
                }
                Some(p)
            }
            None => None,
        };
        let gate = match &r.project {
            Some(d) => {
                let p = self.base.join(d.get_ref());
                if !p.is_dir() {
                    return Err(self.err(
                        &d.span(),
                        key("project"),
                        format!("no directory {}", p.display()),
                    ));
                }
                if let Some(m) = &r.min_effect {
                    parse_min_effect(m).map_err(|e| self.err(&s.span(), key("min_effect"), e))?;
                }
                if !r.budgets.is_empty() {
                    return Err(self.err(
                        &r.budgets[0].span(),
                        key("budgets"),
                        "budgets apply to imported `results`; a gated `project` is judged by its verdicts (regressed or not), so remove `budgets` or use `min_effect`",
                    ));
                }
                Some(GateStep {
                    project: p,
                    command: r
                        .command
                        .clone()
                        .unwrap_or_else(|| vec!["cargo".into(), "bench".into()]),
                    base: r.base.clone().unwrap_or_else(|| "HEAD".into()),
                    rounds: r.rounds,
                    min_effect: r.min_effect.clone(),
                })
            }
            None => None,
        };
        if results.is_none() && gate.is_none() {
            return Err(self.err(&r.name.span(), format!("criterion[{i}]"), "missing target: give `results` (a target/criterion directory to import) or `project` (a criterion project to run through the A/B gate)"));
        }
        Ok(Step {
            name,
            build: None,
            kind: StepKind::Criterion(CriterionStep {
                results,
                gate,
                budgets,
            }),
            line: self.line(s.span().start),
        })
    }

    fn export(&self, i: usize, s: &Spanned<RawExport>) -> Result<Export, PlanError> {
        let r = s.get_ref();
        let key = |k: &str| format!("export[{i}].{k}");
        let to = r.to.get_ref().as_str();
        let Some((_, needs)) = EXPORT_DESTINATIONS.iter().find(|(d, _)| *d == to) else {
            let known: Vec<&str> = EXPORT_DESTINATIONS.iter().map(|(d, _)| *d).collect();
            return Err(self.err(
                &r.to.span(),
                key("to"),
                format!("unknown destination {to:?}; known: {}", known.join(", ")),
            ));
        };
        let have = |k: &str| match k {
            "path" => r.path.is_some(),
            "url" => r.url.is_some(),
            "job" => r.job.is_some(),
            "experiment" => r.experiment.is_some(),
            _ => false,
        };
        if let Some(&k) = needs.iter().find(|&&k| !have(k)) {
            return Err(self.err(
                &r.to.span(),
                key(k),
                format!("the {to} destination needs `{k}`"),
            ));
        }
        Ok(Export {
            to: to.to_string(),
            path: r.path.as_ref().map(|p| self.base.join(p)),
            url: r
                .url
                .as_ref()
                .map(|u| (u.get_ref().clone(), self.spot(u.span().start, key("url")))),
            job: r.job.clone(),
            experiment: r.experiment.clone(),
            line: self.line(s.span().start),
        })
    }
}

/// Reads and checks the plan at `path`.
pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        PlanError {
            file: file.clone(),
            line: None,
            column: None,
            key: String::new(),
            message: if missing {
                "no such file: write one with `perfhub init`".into()
            } else {
                format!("cannot read it: {e}")
            },
            kind: if missing {
                PlanErrorKind::Missing
            } else {
                PlanErrorKind::Unreadable
            },
        }
    })?;
    parse_plan(&text, &file, path)
}

/// Checks the plan in `text`, read from `path` (named `file` in messages).
pub fn parse_plan(text: &str, file: &str, path: &Path) -> Result<Plan, PlanError> {
    let raw: RawPlan =
        toml::from_str(text).map_err(|e| PlanError::from(locate_toml_error(text, file, &e)))?;
    // Absolute, since each step runs in a directory of its own (the plan's,
    // a criterion project's) and must still find the paths the plan names.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let cx = Ctx {
        text,
        file,
        base: &base,
    };
    let history = match &raw.check.history {
        None => Some(perfhub_history::DEFAULT_LOCATION.to_string()),
        Some(h) if h.get_ref().is_empty() => None,
        Some(h) => Some(h.get_ref().clone()),
    }
    // A file is relative to the plan's directory, as `output` is.
    .map(|h| {
        if perfhub_history::is_postgres_url(&h) {
            h
        } else {
            base.join(&h).to_string_lossy().into_owned()
        }
    });
    let budgets = match &raw.check.budgets {
        Some(b) => cx.budgets(b, "check.budgets")?,
        None => DEFAULT_BUDGETS.map(String::from).to_vec(),
    };
    let mut seen = Vec::new();
    let mut steps = Vec::new();
    for (i, s) in raw.load.iter().enumerate() {
        steps.push(cx.load(i, s, &mut seen)?);
    }
    for (i, s) in raw.profile.iter().enumerate() {
        steps.push(cx.profile(i, s, &mut seen)?);
    }
    for (i, s) in raw.run.iter().enumerate() {
        steps.push(cx.run(i, s, &mut seen)?);
    }
    for (i, s) in raw.criterion.iter().enumerate() {
        steps.push(cx.criterion(i, s, &mut seen)?);
    }
    let exports = raw
        .export
        .iter()
        .enumerate()
        .map(|(i, s)| cx.export(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err(PlanError {
            file: file.to_string(),
            line: None,
            column: None,
            key: String::new(),
            message: "the plan has no steps: add a [[run]], [[load]], [[profile]] or [[criterion]] table (`perfhub init` writes an example)".into(),
            kind: PlanErrorKind::Invalid,
        });
    }
    Ok(Plan {
        file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        name: file.to_string(),
        output: base.join(raw.check.output.as_deref().unwrap_or("perfhub-report")),
        dir: base,
        title: raw
            .check
            .title
            .clone()
            .unwrap_or_else(|| "perfhub check".into()),
        history,
        budgets,
        steps,
        exports,
    })
}

/// The names of a plan's steps that are not in it, of `names`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no such step {name:?} in {file} (steps: {})", steps.join(", "))]
pub struct UnknownStep {
    /// The name asked for.
    pub name: String,
    /// The plan's file, as given.
    pub file: String,
    /// The steps the plan has.
    pub steps: Vec<String>,
}

impl Plan {
    /// Keeps only the steps named in `names`, in the plan's order; an error
    /// for a name that is not a step.
    pub fn retain_steps(&mut self, names: &[String]) -> Result<(), UnknownStep> {
        for n in names {
            if !self.steps.iter().any(|s| &s.name == n) {
                return Err(UnknownStep {
                    name: n.clone(),
                    file: self.name.clone(),
                    steps: self.steps.iter().map(|s| s.name.clone()).collect(),
                });
            }
        }
        self.steps.retain(|s| names.contains(&s.name));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, PlanError> {
        parse_plan(text, "perfhub.toml", Path::new("perfhub.toml"))
    }

    #[test]
    fn a_plan_of_every_kind() {
        let p = parse(
            r#"
[check]
title = "demo"
budgets = ["latency_p95 < 100ms"]

[[run]]
name = "cmds"
commands = ["sleep 0.01"]
warmup = 1

[[load]]
name = "api"
serve = { latency = "1ms" }
rate = 100
duration = "2s"

[[profile]]
name = "hot"
command = ["./hot", "10"]
"#,
        )
        .unwrap();
        assert_eq!(p.title, "demo");
        assert_eq!(p.budgets, vec!["latency_p95 < 100ms"]);
        let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["api", "hot", "cmds"], "load, profile, run");
        let StepKind::Run(run) = &p.steps[2].kind else {
            panic!("{:?}", p.steps[2].kind)
        };
        assert_eq!(run.commands, ["sleep 0.01"]);
        assert_eq!(run.warmup, Some(1));
        assert_eq!(p.steps[2].line, 6, "the line of its [[run]] header");
        let StepKind::Load(load) = &p.steps[0].kind else {
            panic!("{:?}", p.steps[0].kind)
        };
        assert_eq!(
            load.target,
            LoadTarget::Serve(ServeTarget {
                latency: Some("1ms".into()),
                path: "/".into(),
                ..ServeTarget::default()
            })
        );
        assert_eq!(load.rate, Some(100.0));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = parse("[[run]]\nname = \"a\"\ncommands = [\"x\"]\nwarmpu = 3\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.to_string().contains("unknown field `warmpu`"), "{e}");
        let e =
            parse("[[run]]\nname = \"a\"\ncommands = [\"x\"]\nwarmup = \"three\"\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.key.contains("warmup"), "{e}");
        let e = parse("[[load]]\nname = \"a\"\nrate = 10\n").unwrap_err();
        assert!(e.to_string().contains("missing target"), "{e}");
        assert_eq!(e.line, Some(2));
        let e = parse("[[run]]\nname = \"a\"\ncommands = [\"x\"]\nbudgets = [\"p95 <\"]\n")
            .unwrap_err();
        assert_eq!(e.key, "run[0].budgets[0]", "{e}");
        let e = parse("[[load]]\nname = \"a\"\nserve = {}\npid_file = \"/run/nginx.pid\"\n")
            .unwrap_err();
        assert_eq!(e.key, "load[0].pid_file", "{e}");
        assert_eq!(e.line, Some(4), "{e}");
        let e = parse("[[export]]\nto = \"carrier-pigeon\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown destination"), "{e}");
        let e = parse("").unwrap_err();
        assert!(e.to_string().contains("no steps"), "{e}");
        assert_eq!(e.kind, PlanErrorKind::Invalid);
    }

    #[test]
    fn spots_locate_values_checked_later() {
        let p = parse("[[load]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n").unwrap();
        let StepKind::Load(LoadStep {
            target: LoadTarget::Url { at, .. },
            ..
        }) = &p.steps[0].kind
        else {
            panic!("{:?}", p.steps[0].kind)
        };
        let e = at.error(&p.name, PlanErrorKind::Unreachable, "it does not answer");
        assert_eq!(
            e.to_string(),
            "perfhub.toml:3:7: load[0].url: it does not answer"
        );
    }

    #[test]
    fn retain_steps_names_the_missing_one() {
        let mut p = parse(
            "[[run]]\nname = \"a\"\ncommands = [\"x\"]\n[[run]]\nname = \"b\"\ncommands = [\"y\"]\n",
        )
        .unwrap();
        let e = p.retain_steps(&["c".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no such step \"c\" in perfhub.toml (steps: a, b)"
        );
        p.retain_steps(&["b".into()]).unwrap();
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].name, "b");
    }

    #[test]
    fn min_effects() {
        assert_eq!(parse_min_effect("3%").unwrap(), 0.03);
        assert_eq!(parse_min_effect(" 2.5 % ").unwrap(), 0.025);
        assert!(
            parse_min_effect("lots")
                .unwrap_err()
                .contains("not an effect size")
        );
        assert!(parse_min_effect("150%").is_err());
    }
}
