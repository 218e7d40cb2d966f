//! The adapter on whole reports: BMF and github-action-benchmark JSON,
//! and publishing to GitHub's files.

use std::collections::BTreeMap;

use perfhub_adapter_ci::github::{self, GithubEnv};
use perfhub_adapter_ci::{Error, to_bmf_json, to_gab};
use perfhub_core::compare::Verdict;
use perfhub_core::report::{Benchmark, Comparison, Measurement, Report, ReportKind, metric};
use perfhub_core::stats::ConfidenceInterval;
use perfhub_core::units::Unit;
use serde_json::{Value, json};

/// A comparison report: a wall-time benchmark of three samples (mean
/// 7.8125 ms, all values exact in binary) that regressed, and a throughput
/// benchmark with a single value.
fn report() -> Report {
    let mut r = Report::new(ReportKind::Compare, "2026-01-01T00:00:00Z".parse().unwrap());
    let mut parse = Benchmark::new("parse, json: big|file", metric::WALL_TIME);
    let mut m = Measurement::from_samples(
        metric::WALL_TIME,
        Unit::Seconds,
        vec![0.00732421875, 0.0078125, 0.00830078125],
    );
    // The t interval is not exact in binary; pin it.
    m.summary.as_mut().unwrap().mean_ci = Some(ConfidenceInterval {
        level: 0.95,
        lower: 0.0068359375,
        upper: 0.0087890625,
    });
    parse.measurements.push(m);
    parse.measurements.push(Measurement::from_value(
        metric::MAX_RSS,
        Unit::Bytes,
        4096.0,
    ));
    r.benchmarks.push(parse);

    let mut serve = Benchmark::new("serve", metric::THROUGHPUT);
    serve.measurements.push(Measurement::from_value(
        metric::THROUGHPUT,
        Unit::PerSecond,
        1500.0,
    ));
    r.benchmarks.push(serve);

    // From JSON, so that new optional fields of `Comparison` do not break
    // this test.
    let c: Comparison = serde_json::from_value(json!({
        "benchmark": "parse, json: big|file",
        "reference": "base",
        "metric": metric::WALL_TIME,
        "ratio": 1.25,
        "ratio_ci": { "level": 0.95, "lower": 1.125, "upper": 1.375 },
        "p_value": 0.001,
        "verdict": Verdict::Regressed,
        "min_effect": 0.03,
        "base_value": 0.00625,
        "head_value": 0.0078125,
        "method": "10 paired rounds",
    }))
    .unwrap();
    r.comparisons.push(c);
    r
}

#[test]
fn bmf_has_latency_in_nanoseconds_and_throughput() {
    let text = to_bmf_json(&report()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({
            "parse, json: big|file": {
                "latency": {
                    "value": 7812500.0,
                    "lower_value": 6835937.5,
                    "upper_value": 8789062.5
                },
                "max-rss": { "value": 4096.0 }
            },
            "serve": {
                "throughput": { "value": 1500.0 }
            }
        })
    );
    // The shape of Bencher's schema: objects of objects of metrics with a
    // numeric `value` and nothing but the three known keys.
    for (_, measures) in v.as_object().unwrap() {
        for (slug, metric) in measures.as_object().unwrap() {
            assert!(!slug.is_empty() && slug.len() <= 64);
            let metric = metric.as_object().unwrap();
            assert!(metric["value"].is_f64());
            for (k, x) in metric {
                assert!(["value", "lower_value", "upper_value"].contains(&k.as_str()));
                assert!(x.is_number());
            }
        }
    }
}

#[test]
fn bmf_of_odd_reports() {
    let empty = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
    assert_eq!(to_bmf_json(&empty).unwrap(), "{}");
    let mut r = empty.clone();
    let mut b = Benchmark::new("nan", metric::WALL_TIME);
    b.measurements.push(Measurement::from_samples(
        metric::WALL_TIME,
        Unit::Seconds,
        vec![f64::NAN, 1.0],
    ));
    b.measurements.push(Measurement::from_value(
        metric::MAX_RSS,
        Unit::Bytes,
        f64::INFINITY,
    ));
    r.benchmarks.push(b);
    r.benchmarks
        .push(Benchmark::new("nothing", metric::WALL_TIME));
    assert_eq!(to_bmf_json(&r).unwrap(), "{}");
}

#[test]
fn gab_splits_by_direction() {
    let gab = to_gab(&report());
    let smaller: Value = serde_json::from_str(&gab.smaller_is_better_json().unwrap()).unwrap();
    let bigger: Value = serde_json::from_str(&gab.bigger_is_better_json().unwrap()).unwrap();
    assert_eq!(
        smaller,
        json!([{
            "name": "parse, json: big|file",
            "unit": "ns",
            "value": 7812500.0,
            "range": "± 488281.25",
            "extra": "mean of 3 samples; median 7.812 ms; min 7.324 ms; max 8.301 ms; vs base: +25% [+12.5%, +37.5%], regressed"
        }])
    );
    assert_eq!(
        bigger,
        json!([{
            "name": "serve",
            "unit": "/s",
            "value": 1500.0,
            "extra": "single value"
        }])
    );
    // github-action-benchmark's shape: an array of objects with a string
    // name and unit, a numeric value, and optional string range and extra.
    for entry in smaller
        .as_array()
        .unwrap()
        .iter()
        .chain(bigger.as_array().unwrap())
    {
        let e = entry.as_object().unwrap();
        assert!(e["name"].is_string() && e["unit"].is_string() && e["value"].is_number());
        for key in ["range", "extra"] {
            assert!(e.get(key).is_none_or(Value::is_string));
        }
        for k in e.keys() {
            assert!(["name", "unit", "value", "range", "extra"].contains(&k.as_str()));
        }
    }
    let empty = to_gab(&Report::new(
        ReportKind::Run,
        "2026-01-01T00:00:00Z".parse().unwrap(),
    ));
    assert_eq!(empty.smaller_is_better_json().unwrap(), "[]");
    assert_eq!(empty.bigger_is_better_json().unwrap(), "[]");
}

/// Reads `$GITHUB_OUTPUT` as the runner does: `name=value` lines and
/// `name<<DELIMITER` blocks.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delimiter {
                        break;
                    }
                    value.push(l);
                }
                out.insert(name.to_string(), value.join("\n"));
            }
            _ => panic!("unparseable output line {line:?}"),
        }
    }
    out
}

#[test]
fn publish_appends_summary_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let output = dir.path().join("output");
    std::fs::write(&summary, "previous step\n").unwrap();
    std::fs::write(&output, "earlier=1\n").unwrap();
    let env = GithubEnv {
        actions: true,
        step_summary: Some(summary.clone()),
        output: Some(output.clone()),
    };
    let r = report();
    let lines = github::publish(&r, &env).unwrap();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("::error title=perfhub%3A parse%2C json%3A big|file regressed::"));

    let written = std::fs::read_to_string(&summary).unwrap();
    let expected = github::job_summary(&r);
    assert_eq!(written, format!("previous step\n\n{expected}"));
    assert!(
        expected.contains("| parse, json: big\\|file | wall\\_time | 6.25 ms | 7.812 ms |"),
        "{expected}"
    );

    let outputs = parse_outputs(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(outputs["earlier"], "1");
    assert_eq!(outputs["regressed"], "1");
    assert_eq!(outputs["improved"], "0");
    assert_eq!(outputs["unchanged"], "0");
    assert_eq!(outputs["verdict"], "regressed");
    assert_eq!(outputs["summary"], expected);

    // A second publish appends again, truncating nothing.
    github::publish(&r, &env).unwrap();
    let twice = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(twice, format!("previous step\n\n{expected}\n{expected}"));
}

#[test]
fn publish_creates_missing_files_and_skips_unset_ones() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("new-summary.md");
    let env = GithubEnv {
        actions: true,
        step_summary: Some(summary.clone()),
        output: None,
    };
    let lines = github::publish(&report(), &env).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        github::job_summary(&report())
    );
    // Nothing named, nothing written.
    let lines = github::publish(&report(), &GithubEnv::default()).unwrap();
    assert_eq!(lines.len(), 1);
}

#[test]
fn an_unwritable_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("summary.md");
    let env = GithubEnv {
        actions: true,
        step_summary: Some(path.clone()),
        output: None,
    };
    let err = github::publish(&report(), &env).unwrap_err();
    match &err {
        Error::Write { path: p, .. } => assert_eq!(p, &path),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[test]
fn the_performance_score_is_exported_where_the_report_has_one() {
    use perfhub_core::score::{PerformanceScore, ScoreComponent};
    let mut r = Report::new(ReportKind::Check, "2026-01-01T00:00:00Z".parse().unwrap());
    r.performance_score = Some(PerformanceScore {
        score: 90.0,
        components: vec![ScoreComponent {
            name: "latency".into(),
            score: 80.0,
            measured: 0.25,
            target: 0.2,
            benchmark: "api/total".into(),
            metric: "latency".into(),
        }],
        missing: Vec::new(),
    });
    let bmf = perfhub_adapter_ci::bmf::to_bmf(&r);
    assert_eq!(bmf["performance-score"]["performance-score"].value, 90.0);
    assert_eq!(
        bmf["performance-score"]["performance-score-latency"].value,
        80.0
    );
    let gab = to_gab(&r);
    let e = &gab.bigger_is_better[0];
    assert_eq!(
        (e.name.as_str(), e.unit.as_str(), e.value),
        ("Performance Score", "points", 90.0)
    );
    assert!(gab.smaller_is_better.is_empty());
}
