//! iai-callgrind's `summary.json`, and that of gungraun, its renamed
//! successor.
//!
//! With `--save-summary=json` (or `IAI_CALLGRIND_SAVE_SUMMARY=json`;
//! `GUNGRAUN_SAVE_SUMMARY=json` for gungraun), `cargo bench` writes one
//! `summary.json` per benchmark, under
//! `target/iai/<package>/<bench>/<group>/<function>.<id>/` (gungraun:
//! `target/gungraun/...`). One file is one benchmark; import each file
//! (see the report notes for how to gather several).
//!
//! Two layouts are read, told apart by the file's `version`:
//!
//! - versions 4 to 6 (read with iai-callgrind 0.16.1, which writes 6):
//!   `profiles[]`, one per Valgrind tool, each with `tool` and
//!   `summaries.total.summary`, an object keyed by the tool's kind
//!   (`{"Callgrind": {"Ir": {"metrics": {"Left": {"Int": 1789}}}, ...}}`,
//!   `"None"` for tools without metrics); a metric's value is `Left`
//!   (this run), `Right` (only the old run) or `Both` ([this run, old]),
//!   each `{"Int": n}` or `{"Float": x}` (a bare integer in version 4);
//! - version 7 (read with gungraun 0.20.0): `profiles[]` with `tool` and
//!   `data.total.metrics`, keyed by the metric's name
//!   (`{"Ir": {"values": {"new": 1789, "old": 1790}}}`), each value a bare
//!   number (or, for Linux perf, an object with its `value`).
//!
//! Only the values of this run (`Left`, `Both`'s first, `new`) are read;
//! the old run's, and the runner's own comparison, are not. The benchmark
//! is named by its `module_path` and its `id` where it has one
//! (`fib::fib_group::bench_fibonacci short`, as the runner prints it but
//! for the arguments, which become the `args` parameter).
//!
//! Every figure is an exact count of events from one run under Valgrind,
//! not a time: a single value per metric, no samples. Instruction counts
//! repeat exactly for the same binary and input; the simulated cache
//! figures can vary slightly (RAM hits 3 against 2 in two runs of one
//! unchanged benchmark here). The primary metric
//! is [`INSTRUCTIONS`] (callgrind's or cachegrind's `Ir`); the other events
//! are kept with descriptive names (`EstimatedCycles` →
//! `estimated_cycles`, `L1hits` → `l1_hits`, `D1mr` →
//! `l1d_read_misses`...), counts as [`Unit::Count`] and the hit and miss
//! rates, which iai-callgrind gives in percent, as [`Unit::Ratio`]
//! fractions. The metrics of the other tools (DHAT, Memcheck, Helgrind,
//! DRD, perf) are prefixed with the tool's name (`dhat_total_bytes`,
//! `memcheck_errors`).

use std::path::Path;

use perfhub_core::report::Better;
use perfhub_core::report::metric::INSTRUCTIONS;
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::ImportOptions;
use crate::bmf::Ordered;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Shape, shown};
use crate::tinybench::field_error;

/// Callgrind's estimate of the cycles a run takes, from its instruction
/// and cache counts (`Ir + 5 × L1 misses + 35 × LL misses`): a count, not a
/// hardware counter like [`CYCLES`](perfhub_core::report::metric::CYCLES).
/// (For `crate::metric::ESTIMATED_CYCLES`.)
const ESTIMATED_CYCLES: &str = "estimated_cycles";

/// Whether a JSON document with this outline is an iai-callgrind or
/// gungraun summary: `module_path`, a `profiles` array and a `version`
/// string, with iai-callgrind's `benchmark_exe`.
pub(crate) fn sniff(shape: &Shape) -> bool {
    shape.get("module_path") == Some(&Shape::String)
        && shape.get("version") == Some(&Shape::String)
        && shape.has("benchmark_exe")
        && shape.get("profiles").is_some_and(Shape::is_array)
}

/// Imports the iai-callgrind (or gungraun) `summary.json` at `path`.
pub fn import_iai(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_iai(&json::read_text(path)?, path, options)
}

#[derive(Deserialize)]
struct Version {
    version: String,
}

/// Versions 4 to 6.
#[derive(Deserialize)]
struct Summary6 {
    module_path: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    details: Option<String>,
    profiles: Vec<Profile6>,
}

#[derive(Deserialize)]
struct Profile6 {
    tool: String,
    summaries: Data6,
}

#[derive(Deserialize)]
struct Data6 {
    total: Total6,
}

#[derive(Deserialize)]
struct Total6 {
    summary: ToolSummary6,
    #[serde(default)]
    regressions: Vec<IgnoredAny>,
}

/// The metrics of one tool, keyed by its kind; `"None"` for none.
#[derive(Deserialize)]
enum ToolSummary6 {
    None,
    ErrorTool(Ordered<Diff6>),
    Dhat(Ordered<Diff6>),
    Callgrind(Ordered<Diff6>),
    Cachegrind(Ordered<Diff6>),
}

#[derive(Deserialize)]
struct Diff6 {
    metrics: EitherOrBoth,
}

#[derive(Deserialize)]
enum EitherOrBoth {
    Left(Number),
    Right(IgnoredAny),
    Both(Number, IgnoredAny),
}

/// Version 7 (gungraun).
#[derive(Deserialize)]
struct Summary7 {
    module_path: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    profiles: Vec<Profile7>,
}

#[derive(Deserialize)]
struct Profile7 {
    tool: String,
    data: Data7,
}

#[derive(Deserialize)]
struct Data7 {
    total: Total7,
}

#[derive(Deserialize)]
struct Total7 {
    metrics: Ordered<Result7>,
    #[serde(default)]
    regressions: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
struct Result7 {
    values: NewOld,
}

#[derive(Deserialize)]
struct NewOld {
    #[serde(default)]
    new: Option<Number>,
}

/// A metric's value: `{"Int": n}` or `{"Float": x}` (versions 5 and 6), a
/// bare number (4 and 7), or perf's `{"value": n, ...}` (7).
#[derive(Clone, Copy)]
enum Number {
    Int(u64),
    Float(f64),
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a metric: a number, {\"Int\": n} or {\"Float\": x}")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Number, E> {
                Ok(Number::Int(n))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Number, E> {
                Err(E::custom(format!(
                    "{n} is negative, and an event count cannot be; {DAMAGED}"
                )))
            }

            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Number, E> {
                Ok(Number::Float(x))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "Int" => found = Some(Number::Int(map.next_value()?)),
                        "Float" => found = Some(Number::Float(map.next_value()?)),
                        "value" => found = Some(map.next_value::<Number>()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                found.ok_or_else(|| de::Error::custom("expected `Int`, `Float` or `value`"))
            }
        }
        d.deserialize_any(V)
    }
}

/// One tool's metrics of this run, whichever the layout.
struct ToolMetrics {
    tool: String,
    metrics: Vec<(String, Option<Number>)>,
    regressions: usize,
    /// The field path of the metrics, for errors.
    path: String,
}

/// A summary's `module_path`, `id`, arguments and metrics by tool.
type Parsed = (String, Option<String>, Option<String>, Vec<ToolMetrics>);

/// Imports an iai-callgrind or gungraun `summary.json`; `source` names it
/// in errors and in the report's note.
pub fn parse_iai(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let version: Version = json::typed(text, &location)?;
    let (module_path, id, args, tools): Parsed = match version.version.as_str() {
        "4" | "5" | "6" => {
            let s: Summary6 = json::typed(text, &location)?;
            let tools = s
                .profiles
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let (kind, metrics) = match p.summaries.total.summary {
                        ToolSummary6::None => ("None", Vec::new()),
                        ToolSummary6::ErrorTool(m) => ("ErrorTool", m.0),
                        ToolSummary6::Dhat(m) => ("Dhat", m.0),
                        ToolSummary6::Callgrind(m) => ("Callgrind", m.0),
                        ToolSummary6::Cachegrind(m) => ("Cachegrind", m.0),
                    };
                    ToolMetrics {
                        tool: p.tool,
                        metrics: metrics
                            .into_iter()
                            .map(|(name, d)| {
                                let value = match d.metrics {
                                    EitherOrBoth::Left(n) | EitherOrBoth::Both(n, _) => Some(n),
                                    EitherOrBoth::Right(_) => None,
                                };
                                (name, value)
                            })
                            .collect(),
                        regressions: p.summaries.total.regressions.len(),
                        path: format!("profiles[{i}].summaries.total.summary.{kind}"),
                    }
                })
                .collect();
            (s.module_path, s.id, s.details, tools)
        }
        "7" => {
            let s: Summary7 = json::typed(text, &location)?;
            let tools = s
                .profiles
                .into_iter()
                .enumerate()
                .map(|(i, p)| ToolMetrics {
                    tool: p.tool,
                    metrics: p
                        .data
                        .total
                        .metrics
                        .0
                        .into_iter()
                        .map(|(name, r)| (name, r.values.new))
                        .collect(),
                    regressions: p.data.total.regressions.len(),
                    path: format!("profiles[{i}].data.total.metrics"),
                })
                .collect();
            (s.module_path, s.id, s.description, tools)
        }
        other => {
            return Err(field_error(
                &location,
                "version",
                format!(
                    "summary format version {other:?} is not read: this importer reads versions 4 to 6 (iai-callgrind up to 0.16) and 7 (gungraun 0.20); run the benchmarks again with one of these"
                ),
            ));
        }
    };

    let name = match &id {
        Some(id) => format!("{module_path} {id}"),
        None => module_path.clone(),
    };
    let mut measurements: Vec<Measurement> = Vec::new();
    let mut regressions = 0usize;
    let mut main_tool_seen = false;
    for t in &tools {
        regressions += t.regressions;
        // Callgrind's or cachegrind's events keep plain names; a second
        // such tool, and every other tool, prefix theirs.
        let main_tool = matches!(t.tool.as_str(), "Callgrind" | "Cachegrind") && !main_tool_seen;
        main_tool_seen |= main_tool;
        for (event, value) in &t.metrics {
            let Some(value) = value else { continue };
            let field = format!("{}.{event}", t.path);
            let (metric, unit, better) = describe(&t.tool, event, main_tool);
            let x = match (*value, unit) {
                (Number::Int(n), _) => {
                    if n >= 1 << 53 {
                        return Err(field_error(
                            &location,
                            field,
                            format!("{n} is more events than a measurement holds exactly"),
                        ));
                    }
                    n as f64
                }
                (Number::Float(x), Unit::Ratio) => x / 100.0,
                (Number::Float(x), _) => x,
            };
            if !x.is_finite() || (x < 0.0 && unit != Unit::Number) {
                return Err(field_error(
                    &location,
                    field,
                    format!(
                        "{} is negative, and `{event}` cannot be; {DAMAGED}",
                        shown(x)
                    ),
                ));
            }
            if measurements.iter().any(|m| m.metric == metric) {
                return Err(field_error(
                    &location,
                    field,
                    format!("a second `{metric}` in one summary; {DAMAGED}"),
                ));
            }
            let mut m = Measurement::from_value(metric, unit, x);
            if let Some(b) = better {
                m = m.with_better(b);
            }
            measurements.push(m);
        }
    }
    if measurements.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "no profile of this run has metrics; run `cargo bench -- --save-summary=json` (callgrind is the default tool) and import a `summary.json` from under `target/iai` (gungraun: `target/gungraun`)".into(),
        });
    }
    let primary = if measurements.iter().any(|m| m.metric == INSTRUCTIONS) {
        INSTRUCTIONS.to_string()
    } else {
        measurements[0].metric.clone()
    };
    let mut b = Benchmark::new(name.clone(), primary);
    if let Some(id) = id {
        b.parameters.insert("id".into(), id);
    }
    if let Some(args) = args.filter(|a| !a.is_empty()) {
        b.parameters.insert("args".into(), args);
    }
    b.measurements = measurements;

    let tool = if version.version == "7" {
        "gungraun"
    } else {
        "iai-callgrind"
    };
    let mut report = Report::new(ReportKind::Bench, options.created);
    report.notes.push(Note::info(
        if version.version == "7" {
            "imported_from_gungraun"
        } else {
            "imported_from_iai_callgrind"
        },
        format!(
            "imported from {tool}'s summary (format version {}) in {} (1 benchmark)",
            version.version,
            source.display()
        ),
    ));
    report.notes.push(Note::info(
        "exact_counts",
        format!(
            "{tool}'s figures are exact event counts (instructions, cache hits and misses, estimated cycles) from one run under Valgrind: single values, no samples, and not times; instruction counts are deterministic for the same binary and input, cache figures can vary slightly between runs; the primary metric is `{}`. {tool} writes one summary.json per benchmark: import each one",
            b.primary_metric
        ),
    ));
    if regressions > 0 {
        report.notes.push(Note::warning(
            "iai_callgrind_regression",
            format!("{tool} flagged {regressions} regression(s) of `{name}` against its old run"),
        ));
    }
    report.benchmarks.push(b);
    crate::checked(report, source)
}

/// The metric name, unit and direction of `tool`'s `event`; `plain` for
/// the first callgrind or cachegrind profile, whose events are not prefixed.
fn describe(tool: &str, event: &str, plain: bool) -> (String, Unit, Option<Better>) {
    use Better::{Higher, Lower};
    let cache = matches!(tool, "Callgrind" | "Cachegrind");
    let known = if cache {
        match event {
            "Ir" => Some((INSTRUCTIONS, Unit::Count, Some(Lower))),
            "Dr" => Some(("data_reads", Unit::Count, Some(Lower))),
            "Dw" => Some(("data_writes", Unit::Count, Some(Lower))),
            "I1mr" => Some(("l1i_read_misses", Unit::Count, Some(Lower))),
            "D1mr" => Some(("l1d_read_misses", Unit::Count, Some(Lower))),
            "D1mw" => Some(("l1d_write_misses", Unit::Count, Some(Lower))),
            "ILmr" => Some(("lli_read_misses", Unit::Count, Some(Lower))),
            "DLmr" => Some(("lld_read_misses", Unit::Count, Some(Lower))),
            "DLmw" => Some(("lld_write_misses", Unit::Count, Some(Lower))),
            "L1hits" => Some(("l1_hits", Unit::Count, None)),
            "LLhits" => Some(("ll_hits", Unit::Count, None)),
            "RamHits" => Some(("ram_hits", Unit::Count, Some(Lower))),
            "TotalRW" => Some(("total_read_write", Unit::Count, Some(Lower))),
            "EstimatedCycles" => Some((ESTIMATED_CYCLES, Unit::Count, Some(Lower))),
            "I1MissRate" => Some(("l1i_miss_rate", Unit::Ratio, Some(Lower))),
            "D1MissRate" => Some(("l1d_miss_rate", Unit::Ratio, Some(Lower))),
            "LLiMissRate" => Some(("lli_miss_rate", Unit::Ratio, Some(Lower))),
            "LLdMissRate" => Some(("lld_miss_rate", Unit::Ratio, Some(Lower))),
            "LLMissRate" => Some(("ll_miss_rate", Unit::Ratio, Some(Lower))),
            "L1HitRate" => Some(("l1_hit_rate", Unit::Ratio, Some(Higher))),
            "LLHitRate" => Some(("ll_hit_rate", Unit::Ratio, None)),
            "RamHitRate" => Some(("ram_hit_rate", Unit::Ratio, Some(Lower))),
            "SysCount" => Some(("syscalls", Unit::Count, Some(Lower))),
            "Bc" => Some(("conditional_branches", Unit::Count, Some(Lower))),
            "Bcm" => Some(("conditional_branch_misses", Unit::Count, Some(Lower))),
            "Bi" => Some(("indirect_branches", Unit::Count, Some(Lower))),
            "Bim" => Some(("indirect_branch_misses", Unit::Count, Some(Lower))),
            "GlobalBus" => Some(("global_bus_events", Unit::Count, Some(Lower))),
            _ => None,
        }
    } else {
        None
    };
    let prefix = |name: &str| {
        if plain {
            name.to_string()
        } else {
            format!("{}_{name}", tool.to_ascii_lowercase())
        }
    };
    if let Some((name, unit, better)) = known {
        return (prefix(name), unit, better);
    }
    let snake = snake_case(event);
    let (unit, better) = if tool == "Perf" || matches!(event, "SysTime" | "SysCpuTime") {
        // perf's units vary by event, callgrind's system times by
        // `--collect-systime`: unknown here.
        (Unit::Number, None)
    } else if event.ends_with("Rate") {
        (Unit::Ratio, None)
    } else if event.ends_with("Bytes") {
        (Unit::Bytes, Some(Lower))
    } else {
        (Unit::Count, Some(Lower))
    };
    let name = if cache && plain {
        snake
    } else {
        format!("{}_{snake}", tool.to_ascii_lowercase())
    };
    (name, unit, better)
}

/// `AtTGmaxBytes` as `at_tgmax_bytes`: a `_` before each capital that
/// follows a small letter or a digit, all small; `-` becomes `_`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_uppercase()
            && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(if c == '-' {
            '_'
        } else {
            c.to_ascii_lowercase()
        });
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn fixtures() -> Vec<(String, std::path::PathBuf)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/iai-callgrind");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert!(files.len() >= 4, "{files:?}");
        files
            .into_iter()
            .map(|p| (std::fs::read_to_string(&p).unwrap(), p))
            .collect()
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_iai(
            text,
            Path::new("summary.json"),
            &ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap()),
        )
    }

    /// This run's `Ir` as the tool wrote it, in either layout.
    fn own_ir(v: &serde_json::Value) -> u64 {
        let p = &v["profiles"][0];
        if v["version"] == "7" {
            p["data"]["total"]["metrics"]["Ir"]["values"]["new"]
                .as_u64()
                .unwrap()
        } else {
            let m = &p["summaries"]["total"]["summary"]["Callgrind"]["Ir"]["metrics"];
            m.get("Left")
                .or_else(|| m.get("Both").map(|b| &b[0]))
                .unwrap()["Int"]
                .as_u64()
                .unwrap()
        }
    }

    #[test]
    fn every_fixture_is_detected_and_keeps_the_exact_instruction_count() {
        for (text, path) in fixtures() {
            let file = path.display();
            assert_eq!(crate::detect_text(&text), Some(Format::Iai), "{file}");
            let r = parse_iai(
                &text,
                &path,
                &ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap()),
            )
            .unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let b = &r.benchmarks[0];
            assert_eq!(
                b.name,
                format!(
                    "{} {}",
                    v["module_path"].as_str().unwrap(),
                    v["id"].as_str().unwrap()
                )
            );
            assert_eq!(b.primary_metric, INSTRUCTIONS);
            let ir = b.primary().unwrap();
            assert_eq!(ir.value, Some(own_ir(&v) as f64), "{file}");
            eprintln!("{file}: {}: Ir {}", b.name, ir.value.unwrap());
            assert_eq!(ir.unit, Unit::Count);
            assert!(ir.samples.is_empty());
            let cycles = b.measurement(ESTIMATED_CYCLES).unwrap();
            assert!(cycles.value.unwrap() >= ir.value.unwrap());
            let hit = b.measurement("l1_hit_rate").unwrap().value.unwrap();
            assert!((0.9..=1.0).contains(&hit), "{file}: {hit}");
            assert!(r.notes.iter().any(|n| n.code == "exact_counts"));
        }
    }

    #[test]
    fn other_formats_are_not_claimed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "tinybench/vitest-4.json",
            "benchmarkjs/benchmarkjs-2.1.4.json",
            "bmf/bencher-docs-example.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            assert!(!sniff(&Shape::of(&text).unwrap()), "{file}");
        }
    }

    #[test]
    fn names_are_descriptive_and_other_tools_are_prefixed() {
        assert_eq!(describe("Callgrind", "Ir", true).0, INSTRUCTIONS);
        assert_eq!(
            describe("Cachegrind", "Ir", false).0,
            "cachegrind_instructions"
        );
        assert_eq!(
            describe("DHAT", "AtTGmaxBytes", false),
            (
                "dhat_at_tgmax_bytes".into(),
                Unit::Bytes,
                Some(Better::Lower)
            )
        );
        assert_eq!(
            describe("Memcheck", "SuppressedErrors", false).0,
            "memcheck_suppressed_errors"
        );
        assert_eq!(describe("Callgrind", "ILdmr", true).0, "ildmr");
        assert_eq!(describe("Callgrind", "SysTime", true).1, Unit::Number);
    }

    #[test]
    fn malformed_input_is_refused_naming_the_field() {
        let v6 = |metric: &str| {
            format!(
                r#"{{"version": "6", "module_path": "b::g::f", "id": "x", "benchmark_exe": "b",
                "profiles": [{{"tool": "Callgrind", "summaries": {{"total": {{"regressions": [],
                "summary": {{"Callgrind": {{"Ir": {{"diffs": null, "metrics": {metric}}}}}}}}}}}}}]}}"#
            )
        };
        for (text, expected) in [
            (
                v6(r#"{"Left": {"Int": "x"}}"#),
                "summary.json: field `profiles[0].summaries.total.summary.Callgrind.Ir.metrics.Left",
            ),
            (
                v6(r#"{"Left": {"Int": -3}}"#),
                "summary.json: field `profiles[0].summaries.total.summary.Callgrind.Ir.metrics.Left",
            ),
            (
                v6(r#"{"Right": {"Int": 3}}"#),
                "summary.json: no benchmark results: no profile of this run has metrics",
            ),
            (
                r#"{"version": "3", "module_path": "b", "profiles": []}"#.to_string(),
                "summary.json: field `version`: summary format version \"3\" is not read",
            ),
            (
                r#"{"version": "7", "module_path": "b", "profiles": [{"tool": "Callgrind", "data": {"total": {"metrics": {"Ir": {"values": {"new": -1}}}}}}]}"#.to_string(),
                "summary.json: field `profiles[0].data.total.metrics.Ir.values.new`: -1 is negative",
            ),
            (
                r#"{"module_path": "b"}"#.to_string(),
                "missing field `version`",
            ),
            ("{".to_string(), "summary.json: invalid JSON"),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}\n{err}");
        }
        // Both values: this run's is kept.
        let r = parse(&v6(r#"{"Both": [{"Int": 10}, {"Int": 12}]}"#)).unwrap();
        assert_eq!(r.benchmarks[0].primary().unwrap().value, Some(10.0));
        assert_eq!(r.benchmarks[0].name, "b::g::f x");
    }
}
