//! perfhub-load: scenario files.

use std::path::Path;

use perfhub_core::budget::Budget;
use perfhub_load::scenario::parse_scenario;

use super::{fixture, text, text_bombs, toml_or_bytes};
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![Target {
        name: "scenario",
        group: "load",
        check: check_scenario,
        seeds: scenario_seeds,
        mutate: mutate_scenario,
        generate: generate_scenario,
        bombs: text_bombs,
        suite_cases: 400,
    }]
}

fn check_scenario(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let s = match parse_scenario(&text, "fuzz.toml") {
        Ok(s) => s,
        Err(e) => {
            let lines = text.lines().count() + 1;
            if let Some(line) = e.line
                && (line == 0 || line > lines)
            {
                return Err(format!(
                    "refused naming line {line} of a text of {lines} lines: {e}"
                ));
            }
            return Ok(Outcome::Refused(e.to_string()));
        }
    };
    for b in &s.budgets {
        Budget::parse(b).map_err(|e| format!("accepted budget `{b}` does not parse: {e}"))?;
    }
    if s.named.is_empty() {
        check_one(&s)?;
    } else {
        if !s.requests.is_empty() {
            return Err("accepted requests beside named scenarios".into());
        }
        for (name, one) in &s.named {
            if !one.named.is_empty() {
                return Err(format!(
                    "scenario `{name}` accepted with scenarios of its own"
                ));
            }
            check_one(one).map_err(|e| format!("scenario `{name}`: {e}"))?;
        }
    }
    Ok(Outcome::Accepted)
}

/// What every accepted scenario (or named scenario) must be.
fn check_one(s: &perfhub_load::scenario::Scenario) -> Result<(), String> {
    if s.requests.is_empty() {
        return Err("accepted without requests".into());
    }
    if let Some(rate) = s.load.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(format!("accepted with a rate of {rate}"));
    }
    if s.load.connections == Some(0) {
        return Err("accepted with 0 connections".into());
    }
    for r in &s.requests {
        if r.weight == 0 {
            return Err(format!("request `{}` accepted with weight 0", r.name));
        }
    }
    for b in s
        .budgets
        .iter()
        .chain(s.requests.iter().flat_map(|r| &r.budgets))
    {
        Budget::parse(b).map_err(|e| format!("accepted budget `{b}` does not parse: {e}"))?;
    }
    if let Some(flow) = &s.flow {
        if flow.requests.len() != s.requests.len() {
            return Err("a flow whose requests do not match the scenario's".into());
        }
        if flow.data.as_ref().is_some_and(|d| d.rows.is_empty()) {
            return Err("accepted a data file without rows".into());
        }
    }
    Ok(())
}

/// The example at the top of scenario.rs, as a file.
fn documented_example(root: &Path) -> Option<Vec<u8>> {
    let source = fixture(root, "crates/perfhub-load/src/scenario.rs")?;
    let source = String::from_utf8_lossy(&source);
    let mut out = String::new();
    let mut inside = false;
    for line in source.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.starts_with("```") {
            if inside {
                break;
            }
            inside = doc.starts_with("```toml");
            continue;
        }
        if inside {
            out.push_str(doc);
            out.push('\n');
        }
    }
    (!out.is_empty()).then(|| out.into_bytes())
}

fn scenario_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = documented_example(root).into_iter().collect();
    seeds.push(
        b"mode = \"sequence\"\n[variables]\nhost = \"http://127.0.0.1:8080\"\n[load]\nduration = \"9223372036854775807s\"\ntimeout = \"2s\"\n[[request]]\nurl = \"${host}/health\"\n"
            .to_vec(),
    );
    seeds.push(
        b"budgets = [\"p95 < 200ms\"]\n[load]\nrate = 500\nconnections = 4\n[[request]]\nname = \"a\"\nurl = \"http://[::1]:8080/a?b=c\"\nmethod = \"PUT\"\nheaders = { x-a = \"1\" }\nbody = \"$$x\"\nchecks = { status = [200, \"3xx\", \"200-299\"], header = [\"a\"] }\n"
            .to_vec(),
    );
    // Virtual users: extractions, a data file (fixtures/k6's JSON is not
    // an array of objects: refused), cookies, stages, groups, named
    // scenarios.
    seeds.push(
        br#"mode = "sequence"
cookies = true
[data]
file = "users.csv"
order = "random"
[load]
iterations = 5
vus = 1
vus_stages = ["1s:3", "1s:0"]
[[request]]
method = "POST"
url = "http://127.0.0.1:9/login"
body = '{"u":"${user}"}'
extract = { token = "json:$.a[0]['b']", etag = "header:ETag", id = 'regex:id=(\d+)' }
timeout = "1s"
think_time = "10ms"
group = "g"
[[request]]
url = "http://127.0.0.1:9/o/${id}?t=${token}"
headers = { authorization = "Bearer ${token}", if-match = "${etag}" }
checks = { body_contains = "${token}" }
"#
        .to_vec(),
    );
    seeds.push(
        br#"budgets = ["p95 < 1s"]
[variables]
h = "http://127.0.0.1:9"
[scenario.a]
mode = "sequence"
[scenario.a.load]
stages = ["1s:10"]
[[scenario.a.request]]
url = "${h}/a"
extract = { x = "header:X" }
[[scenario.a.request]]
url = "${h}/b/${x}"
[scenario.b]
[[scenario.b.request]]
url = "${h}/c"
"#
        .to_vec(),
    );
    seeds
}

const SCENARIO_KEYS: &[&str] = &[
    "mode",
    "budgets",
    "variables",
    "load",
    "request",
    "rate",
    "connections",
    "duration",
    "timeout",
    "name",
    "url",
    "method",
    "headers",
    "body",
    "weight",
    "checks",
    "status",
    "body_contains",
    "header",
    "extract",
    "data",
    "file",
    "order",
    "cookies",
    "iterations",
    "stages",
    "vus",
    "vus_stages",
    "think_time",
    "group",
    "scenario",
];

fn mutate_scenario(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    toml_or_bytes(input, other, SCENARIO_KEYS, rng)
}

fn generate_scenario(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    if rng.chance(0.5) {
        s.push_str(&format!(
            "mode = \"{}\"\n",
            rng.pick(&["weighted", "sequence", "x"])
        ));
    }
    s.push_str("[variables]\nhost = \"http://127.0.0.1:8080\"\n");
    s.push_str(&format!(
        "[load]\nrate = {}\nconnections = {}\nduration = \"{}{}\"\ntimeout = \"{}\"\n",
        rng.pick(mutate::NUMBERS),
        rng.pick(&["1", "0", "-1", "4294967296", "64"]),
        rng.pick(mutate::NUMBERS),
        rng.pick(&["s", "ms", "h", ""]),
        rng.pick(mutate::STRINGS)
    ));
    for _ in 0..1 + rng.small(3) {
        s.push_str(&format!(
            "[[request]]\nurl = \"{}\"\nweight = {}\nbudgets = [\"{}\"]\n",
            rng.pick(&[
                "${host}/",
                "http://127.0.0.1:1/x",
                "${undefined}",
                "htp:/x",
                "http://[::1]/"
            ]),
            rng.pick(&["1", "0", "-3", "4294967296"]),
            rng.pick(mutate::STRINGS).replace(['"', '\\'], "")
        ));
    }
    s.into_bytes()
}
