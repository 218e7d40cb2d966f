//! perfhub-cli's `perfhub.toml`, through the built binary: the CLI is a
//! binary crate, and `perfhub check --only STEP` reads and checks the whole
//! plan before it looks for the step. A step name with a `/` cannot exist
//! (step names name files), so an accepted plan ends with "no such step"
//! and nothing runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{fixture, text_bombs, toml_or_bytes};
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![Target {
        name: "plan",
        group: "plan",
        check: check_plan,
        seeds: plan_seeds,
        mutate: mutate_plan,
        generate: generate_plan,
        bombs: text_bombs,
        suite_cases: 60,
    }]
}

static PERFHUB: OnceLock<PathBuf> = OnceLock::new();

/// The `perfhub` binary the plan target runs.
pub fn set_perfhub_binary(path: PathBuf) {
    let _ = PERFHUB.set(path);
}

/// The step name `--only` asks for: no plan can have it.
const NO_STEP: &str = "fuzz/no-such-step";

/// The longest one plan may take to be read; past it the case fails as a
/// hang (the binary reads a file and exits, in milliseconds).
const PATIENCE: Duration = Duration::from_secs(30);

fn check_plan(input: &[u8]) -> Result<Outcome, String> {
    let bin = PERFHUB
        .get()
        .cloned()
        .or_else(|| std::env::var_os("PERFHUB_FUZZ_BIN").map(PathBuf::from))
        .ok_or(
            "the plan target needs the perfhub binary: set_perfhub_binary or PERFHUB_FUZZ_BIN",
        )?;
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
    let plan = dir.path().join("perfhub.toml");
    std::fs::write(&plan, input).map_err(|e| format!("cannot write the plan: {e}"))?;
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(&bin)
        .args(["check", "--no-history", "--only", NO_STEP, "--config"])
        .arg(&plan)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > PATIENCE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "perfhub check still reading the plan after {} s",
                    PATIENCE.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(format!("cannot wait for perfhub: {e}")),
        }
    };
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let tail: String = {
        let lines: Vec<&str> = err.lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n")
    };
    if err.contains("panicked") || status.code().is_none() || status.code() == Some(101) {
        return Err(format!("perfhub check ended with {status}: {tail}"));
    }
    if status.success() {
        return Err(format!(
            "perfhub check exited 0 though --only names no step: {tail}"
        ));
    }
    if err.contains(NO_STEP) && err.contains("no such step") {
        return Ok(Outcome::Accepted);
    }
    Ok(Outcome::Refused(err))
}

fn plan_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = ["perfhub.toml", "crates/perfhub-cli/src/starter.toml"]
        .iter()
        .filter_map(|f| fixture(root, f))
        .collect();
    seeds.push(
        b"[[load]]\nname = \"l\"\nurl = \"http://127.0.0.1:1/\"\nrate = 1e308\nconnections = 18446744073709551615\nduration = \"9223372036854775807s\"\n[[criterion]]\nname = \"c\"\nresults = \"x\"\nmin_effect = \"-5%\"\n[[export]]\nto = \"prometheus\"\npath = \"missing/dir/out.prom\"\n"
            .to_vec(),
    );
    seeds
}

const PLAN_KEYS: &[&str] = &[
    "check",
    "title",
    "output",
    "history",
    "budgets",
    "run",
    "load",
    "profile",
    "criterion",
    "export",
    "name",
    "build",
    "commands",
    "warmup",
    "runs",
    "min_runs",
    "prepare",
    "shell",
    "url",
    "scenario",
    "serve",
    "rate",
    "connections",
    "duration",
    "latency",
    "error_rate",
    "stall",
    "path",
    "command",
    "frequency",
    "call_graph",
    "results",
    "project",
    "base",
    "rounds",
    "min_effect",
    "to",
    "job",
    "experiment",
];

fn mutate_plan(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    toml_or_bytes(input, other, PLAN_KEYS, rng)
}

fn generate_plan(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::from("[check]\n");
    s.push_str(&format!(
        "budgets = [\"{}\"]\n",
        rng.pick(mutate::STRINGS).replace(['"', '\\'], "")
    ));
    s.push_str(&format!(
        "[[load]]\nname = \"{}\"\nserve = {{ latency = \"{}\", error_rate = {} }}\nrate = {}\nduration = \"{}\"\nconnections = {}\n",
        rng.pick(&["l", "a/b", "", "x.y"]),
        rng.pick(&["lognormal:median=5ms,p99=50ms", "fixed:1ms", "x", "lognormal:median=-1ms,p99=1e309ms"]),
        rng.pick(&["0.1", "-1", "2", "nan"]),
        rng.pick(&["500", "0", "-1", "1e308", "nan"]),
        rng.pick(mutate::STRINGS).replace(['"', '\\'], ""),
        rng.pick(&["1", "0", "-1", "9223372036854775807"])
    ));
    s.into_bytes()
}
