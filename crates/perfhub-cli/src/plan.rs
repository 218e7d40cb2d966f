//! `perfhub.toml`: a project's performance plan, read and checked before
//! anything runs, so a mistake is reported with its file, line and key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use perfhub_load::scenario::{ScenarioError as ConfigError, error_at_offset, locate_toml_error};
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

/// The plan, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file it came from.
    pub file: PathBuf,
    /// The report's title.
    pub title: String,
    /// Where `report.json`, `report.html` and the steps' outputs go.
    pub output: PathBuf,
    /// The history store, if any.
    pub history: Option<String>,
    /// Budgets on the key figures.
    pub budgets: Vec<String>,
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
    /// Where results are pushed.
    pub exports: Vec<Export>,
}

/// What a step is.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// `perfhub run`.
    Run {
        /// Its arguments, without the export.
        args: Vec<String>,
    },
    /// `perfhub load`, with a `perfhub serve` target when `serve` is set.
    Load {
        /// Arguments before the URL (or scenario).
        args: Vec<String>,
        /// The URL, or `None` when the step starts its own server.
        url: Option<String>,
        /// `perfhub serve` arguments for a built-in target.
        serve: Option<Vec<String>>,
        /// The path requested from the built-in target.
        path: String,
        /// Where `url` is written in the file, for a preflight error.
        url_at: Option<usize>,
        /// A file holding the pid of the service under test (its first
        /// line), and where the key is written: its CPU use is measured
        /// over the test. The built-in server's is measured without one.
        pid_file: Option<(PathBuf, usize)>,
    },
    /// `perfhub profile`.
    Profile {
        /// Its options; the command follows `--`.
        args: Vec<String>,
        /// The command.
        command: Vec<String>,
    },
    /// criterion: results imported, or a suite run through `perfhub ab`.
    Criterion {
        /// A results directory to import.
        results: Option<PathBuf>,
        /// A project to gate: directory, bench command, `perfhub ab` options.
        gate: Option<(PathBuf, Vec<String>, Vec<String>)>,
        /// Budgets on the imported results.
        budgets: Vec<String>,
    },
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, unique in the plan.
    pub name: String,
    /// A shell command run once before it.
    pub build: Option<String>,
    /// What it runs.
    pub kind: StepKind,
    /// The line of its table, for messages.
    pub line: usize,
}

/// One destination of `[[export]]`.
#[derive(Debug, Clone)]
pub struct Export {
    /// The destination (as `perfhub export --to`).
    pub to: String,
    /// `perfhub export` arguments after `--to`.
    pub args: Vec<String>,
    /// The URL it talks to, if any, and where it is written.
    pub url: Option<(String, usize)>,
    /// The line of its table.
    pub line: usize,
}

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

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
}

impl Ctx<'_> {
    fn err(
        &self,
        span: &Range<usize>,
        key: impl Into<String>,
        msg: impl Into<String>,
    ) -> ConfigError {
        error_at_offset(self.text, self.file, span.start, key, msg)
    }

    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn budgets(&self, raw: &[Spanned<String>], key: &str) -> Result<Vec<String>, ConfigError> {
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
    ) -> Result<String, ConfigError> {
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

    fn duration(&self, d: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        perfhub_core::units::parse_duration(d.get_ref())
            .map(|_| d.get_ref().clone())
            .map_err(|e| self.err(&d.span(), key, e))
    }
}

/// Reads and checks `path`.
pub fn load_plan(path: &Path) -> Result<Plan, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        column: None,
        key: String::new(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file: write one with `perfhub init`, or name another with --config".into()
        } else {
            format!("cannot read it: {e}")
        },
    })?;
    parse_plan(&text, &file, path)
}

/// Checks the plan in `text`, read from `path`.
pub fn parse_plan(text: &str, file: &str, path: &Path) -> Result<Plan, ConfigError> {
    let raw: RawPlan = toml::from_str(text).map_err(|e| locate_toml_error(text, file, &e))?;
    let cx = Ctx { text, file };
    // Absolute, since each step runs in a directory of its own (the plan's,
    // a criterion project's) and must still find the paths the plan names.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base_buf = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let base = base_buf.as_path();
    let history = match &raw.check.history {
        None => Some(perfhub_history::DEFAULT_LOCATION.to_string()),
        Some(h) if h.get_ref().is_empty() => None,
        Some(h) => Some(h.get_ref().clone()),
    };
    let budgets = match &raw.check.budgets {
        Some(b) => cx.budgets(b, "check.budgets")?,
        None => DEFAULT_BUDGETS.map(String::from).to_vec(),
    };
    let mut seen = Vec::new();
    let mut steps = Vec::new();
    for (i, s) in raw.load.iter().enumerate() {
        let r = s.get_ref();
        let key = |k: &str| format!("load[{i}].{k}");
        let name = cx.name(&r.name, &key("name"), &mut seen)?;
        let mut args = Vec::new();
        if let Some(rate) = r.rate {
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(cx.err(
                    &s.span(),
                    key("rate"),
                    "the rate must be a positive number of requests per second",
                ));
            }
            args.extend(["--rate".to_string(), rate.to_string()]);
        }
        if let Some(c) = r.connections {
            args.extend(["--connections".to_string(), c.to_string()]);
        }
        if let Some(d) = &r.duration {
            args.extend(["--duration".to_string(), cx.duration(d, &key("duration"))?]);
        }
        for b in cx.budgets(&r.budgets, &key("budgets"))? {
            args.extend(["--budget".to_string(), b]);
        }
        let targets = [r.url.is_some(), r.scenario.is_some(), r.serve.is_some()]
            .iter()
            .filter(|t| **t)
            .count();
        if targets != 1 {
            return Err(cx.err(
                &r.name.span(),
                format!("load[{i}]"),
                if targets == 0 {
                    "missing target: give `url` (your service, such as http://api.internal:8080/), `scenario` (a scenario file) or `serve = {}` (perfhub's built-in target server)"
                } else {
                    "give only one target: `url`, `scenario` or `serve`"
                },
            ));
        }
        let mut url = None;
        let mut url_at = None;
        if let Some(u) = &r.url {
            perfhub_load::request::parse_url(u.get_ref())
                .map_err(|e| cx.err(&u.span(), key("url"), e.to_string()))?;
            url = Some(u.get_ref().clone());
            url_at = Some(u.span().start);
        }
        if let Some(sc) = &r.scenario {
            let p = base.join(sc.get_ref());
            if !p.is_file() {
                return Err(cx.err(
                    &sc.span(),
                    key("scenario"),
                    format!("no scenario file at {}", p.display()),
                ));
            }
            args.extend(["--scenario".to_string(), p.display().to_string()]);
        }
        let pid_file = match (&r.pid_file, &r.serve) {
            (Some(pf), Some(_)) => {
                return Err(cx.err(
                    &pf.span(),
                    key("pid_file"),
                    "`pid_file` names the process of a service under test; with `serve`, perfhub measures its own server: remove one",
                ));
            }
            (Some(pf), None) => Some((base.join(pf.get_ref()), pf.span().start)),
            (None, _) => None,
        };
        let mut serve = None;
        let mut serve_path = "/".to_string();
        if let Some(sv) = &r.serve {
            let sv_ref = sv.get_ref();
            let mut a = Vec::new();
            if let Some(l) = &sv_ref.latency {
                perfhub_load::serve::parse_latency(l)
                    .map_err(|e| cx.err(&sv.span(), key("serve.latency"), e.to_string()))?;
                a.extend(["--latency".to_string(), l.clone()]);
            }
            if let Some(e) = sv_ref.error_rate {
                a.extend(["--error-rate".to_string(), e.to_string()]);
            }
            if let Some(st) = &sv_ref.stall {
                perfhub_load::serve::parse_stall(st)
                    .map_err(|e| cx.err(&sv.span(), key("serve.stall"), e.to_string()))?;
                a.extend(["--stall".to_string(), st.clone()]);
            }
            if let Some(p) = &sv_ref.path {
                serve_path = p.clone();
            }
            serve = Some(a);
        }
        steps.push(Step {
            name,
            build: None,
            kind: StepKind::Load {
                args,
                url,
                serve,
                path: serve_path,
                url_at,
                pid_file,
            },
            line: cx.line(s.span().start),
        });
    }
    for (i, s) in raw.profile.iter().enumerate() {
        let r = s.get_ref();
        let key = |k: &str| format!("profile[{i}].{k}");
        let name = cx.name(&r.name, &key("name"), &mut seen)?;
        if r.command.get_ref().is_empty() {
            return Err(cx.err(&r.command.span(), key("command"), "the command is empty: give the program and its arguments, such as [\"./my-program\", \"--input\", \"big.txt\"]"));
        }
        let mut args = Vec::new();
        if let Some(f) = r.frequency {
            args.extend(["--frequency".to_string(), f.to_string()]);
        }
        if let Some(cg) = &r.call_graph {
            if !matches!(cg.get_ref().as_str(), "fp" | "dwarf") {
                return Err(cx.err(
                    &cg.span(),
                    key("call_graph"),
                    "`call_graph` is \"fp\" (frame pointers) or \"dwarf\"",
                ));
            }
            args.extend(["--call-graph".to_string(), cg.get_ref().clone()]);
        }
        if r.off_cpu {
            args.push("--off-cpu".into());
        }
        steps.push(Step {
            name,
            build: r.build.as_ref().map(|b| b.get_ref().clone()),
            kind: StepKind::Profile {
                args,
                command: r.command.get_ref().clone(),
            },
            line: cx.line(s.span().start),
        });
    }
    for (i, s) in raw.run.iter().enumerate() {
        let r = s.get_ref();
        let key = |k: &str| format!("run[{i}].{k}");
        let name = cx.name(&r.name, &key("name"), &mut seen)?;
        if r.commands.get_ref().is_empty() {
            return Err(cx.err(
                &r.commands.span(),
                key("commands"),
                "no commands: give at least one, such as [\"sleep 0.05\"]",
            ));
        }
        let mut args = Vec::new();
        if let Some(w) = r.warmup {
            args.extend(["--warmup".to_string(), w.to_string()]);
        }
        if let Some(n) = r.runs {
            args.extend(["--runs".to_string(), n.to_string()]);
        }
        if let Some(n) = r.min_runs {
            args.extend(["--min-runs".to_string(), n.to_string()]);
        }
        if let Some(p) = &r.prepare {
            args.extend(["--prepare".to_string(), p.clone()]);
        }
        if let Some(sh) = &r.shell {
            args.extend(["--shell".to_string(), sh.clone()]);
        }
        for b in cx.budgets(&r.budgets, &key("budgets"))? {
            args.extend(["--budget".to_string(), b]);
        }
        args.extend(r.commands.get_ref().iter().cloned());
        steps.push(Step {
            name,
            build: r.build.as_ref().map(|b| b.get_ref().clone()),
            kind: StepKind::Run { args },
            line: cx.line(s.span().start),
        });
    }
    for (i, s) in raw.criterion.iter().enumerate() {
        let r = s.get_ref();
        let key = |k: &str| format!("criterion[{i}].{k}");
        let name = cx.name(&r.name, &key("name"), &mut seen)?;
        let budgets = cx.budgets(&r.budgets, &key("budgets"))?;
        let results = match &r.results {
            Some(d) => {
                let p = base.join(d.get_ref());
                if !p.is_dir() {
                    return Err(cx.err(&d.span(), key("results"), format!("no criterion results at {}: run `cargo bench` first, or point at its target/criterion", p.display())));
                }
                Some(p)
            }
            None => None,
        };
        let gate = match &r.project {
            Some(d) => {
                let p = base.join(d.get_ref());
                if !p.is_dir() {
                    return Err(cx.err(
                        &d.span(),
                        key("project"),
                        format!("no directory {}", p.display()),
                    ));
                }
                let command = r
                    .command
                    .clone()
                    .unwrap_or_else(|| vec!["cargo".into(), "bench".into()]);
                let mut ab = vec![
                    "--base".to_string(),
                    r.base.clone().unwrap_or_else(|| "HEAD".into()),
                    "--rounds".to_string(),
                    r.rounds.unwrap_or(12).to_string(),
                ];
                if let Some(m) = &r.min_effect {
                    crate::cmd_gate::parse_effect(m)
                        .map_err(|e| cx.err(&s.span(), key("min_effect"), e.to_string()))?;
                    ab.extend(["--min-effect".to_string(), m.clone()]);
                }
                if !r.budgets.is_empty() {
                    return Err(cx.err(
                        &r.budgets[0].span(),
                        key("budgets"),
                        "budgets apply to imported `results`; a gated `project` is judged by its verdicts (regressed or not), so remove `budgets` or use `min_effect`",
                    ));
                }
                Some((p, ab, command))
            }
            None => None,
        };
        if results.is_none() && gate.is_none() {
            return Err(cx.err(&r.name.span(), format!("criterion[{i}]"), "missing target: give `results` (a target/criterion directory to import) or `project` (a criterion project to run through the A/B gate)"));
        }
        steps.push(Step {
            name,
            build: None,
            kind: StepKind::Criterion {
                results,
                gate,
                budgets,
            },
            line: cx.line(s.span().start),
        });
    }
    let mut exports = Vec::new();
    for (i, s) in raw.export.iter().enumerate() {
        let r = s.get_ref();
        let key = |k: &str| format!("export[{i}].{k}");
        let to = r.to.get_ref().as_str();
        let Some((_, needs)) = EXPORT_DESTINATIONS.iter().find(|(d, _)| *d == to) else {
            let known: Vec<&str> = EXPORT_DESTINATIONS.iter().map(|(d, _)| *d).collect();
            return Err(cx.err(
                &r.to.span(),
                key("to"),
                format!("unknown destination {to:?}; known: {}", known.join(", ")),
            ));
        };
        let mut args = vec![to.to_string()];
        let have = |k: &str| match k {
            "path" => r.path.is_some(),
            "url" => r.url.is_some(),
            "job" => r.job.is_some(),
            "experiment" => r.experiment.is_some(),
            _ => false,
        };
        for k in *needs {
            if !have(k) {
                return Err(cx.err(
                    &r.to.span(),
                    key(k),
                    format!("the {to} destination needs `{k}`"),
                ));
            }
        }
        if let Some(p) = &r.path {
            args.extend(["-o".to_string(), base.join(p).display().to_string()]);
        }
        if let Some(u) = &r.url {
            args.extend(["--url".to_string(), u.get_ref().clone()]);
        }
        if let Some(j) = &r.job {
            args.extend(["--job".to_string(), j.clone()]);
        }
        if let Some(e) = &r.experiment {
            args.extend(["--experiment".to_string(), e.clone()]);
        }
        exports.push(Export {
            to: to.to_string(),
            args,
            url: r
                .url
                .as_ref()
                .map(|u| (u.get_ref().clone(), u.span().start)),
            line: cx.line(s.span().start),
        });
    }
    if steps.is_empty() {
        return Err(ConfigError {
            file: file.to_string(),
            line: None,
            column: None,
            key: String::new(),
            message: "the plan has no steps: add a [[run]], [[load]], [[profile]] or [[criterion]] table (`perfhub init` writes an example)".into(),
        });
    }
    Ok(Plan {
        file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        title: raw
            .check
            .title
            .clone()
            .unwrap_or_else(|| "perfhub check".into()),
        output: base.join(raw.check.output.as_deref().unwrap_or("perfhub-report")),
        history,
        budgets,
        steps,
        exports,
    })
}

/// The error for a URL (of a load target or an export) that does not
/// answer, located at its key.
pub fn unreachable(
    plan_text: &str,
    file: &str,
    offset: usize,
    key: &str,
    why: String,
) -> ConfigError {
    error_at_offset(plan_text, file, offset, key, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, ConfigError> {
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
        let StepKind::Run { args } = &p.steps[2].kind else {
            panic!()
        };
        assert_eq!(args, &["--warmup", "1", "sleep 0.01"]);
        assert_eq!(p.steps[2].line, 6, "the line of its [[run]] header");
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
    }
}
