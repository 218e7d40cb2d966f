//! `promtool check metrics` (Prometheus's own parser and linter) accepts the
//! text-format exposition. promtool 2.42 (Debian 12) reads only the text
//! format 0.0.4, so the OpenMetrics form is checked here by its structure.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use perfhub_adapter_prometheus::{Format, Source, exposition, exposition_labeled};
use perfhub_core::report::{Benchmark, Measurement, Report, ReportKind};
use perfhub_core::units::Unit;

fn promtool_check(promtool: &str, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {promtool}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A report with the names, labels and values that need escaping or repair.
fn awkward_report() -> Report {
    let mut r = Report::new(
        ReportKind::Bench,
        "2026-03-04T05:06:07.25Z".parse().unwrap(),
    );
    let mut b = Benchmark::new("parse \"json\"\\fast\nline two", "Time/op (mean) ✓");
    b.measurements.push(Measurement::from_samples(
        "Time/op (mean) ✓",
        Unit::Seconds,
        vec![1e-6, 2e-6, 3e-6],
    ));
    b.measurements
        .push(Measurement::from_value("9lives", Unit::Count, 9.0));
    b.measurements
        .push(Measurement::from_value("score_total", Unit::Number, 1.5));
    b.measurements
        .push(Measurement::from_value("drift", Unit::Number, f64::NAN));
    b.measurements
        .push(Measurement::from_value("hits_count", Unit::Count, 3.0));
    r.benchmarks.push(b);
    r.benchmarks.push(Benchmark::new("", "nothing"));
    r
}

#[test]
fn promtool_accepts_the_text_format() {
    let promtool = common::service("PERFHUB_TEST_PROMTOOL");
    let load = common::fixture("load");
    let run = common::fixture("run");
    let labels_a = vec![("report".to_string(), "load".to_string())];
    let labels_b = vec![("report".to_string(), "run".to_string())];
    let labels_c = vec![("report".to_string(), "awkward".to_string())];
    let awkward = awkward_report();
    let cases = [
        (
            "load",
            exposition(std::slice::from_ref(&load), Format::Prometheus),
        ),
        (
            "run",
            exposition(std::slice::from_ref(&run), Format::Prometheus),
        ),
        (
            "awkward",
            exposition(std::slice::from_ref(&awkward), Format::Prometheus),
        ),
        (
            "empty",
            exposition(
                &[Report::new(
                    ReportKind::Run,
                    perfhub_core::time::UtcTime { unix: 0 },
                )],
                Format::Prometheus,
            ),
        ),
        (
            "all three",
            exposition_labeled(
                &[
                    Source {
                        report: &load,
                        labels: &labels_a,
                    },
                    Source {
                        report: &run,
                        labels: &labels_b,
                    },
                    Source {
                        report: &awkward,
                        labels: &labels_c,
                    },
                ],
                Format::Prometheus,
            ),
        ),
    ];
    for (name, text) in cases {
        let (ok, said) = promtool_check(&promtool, &text);
        assert!(ok, "promtool refused the {name} exposition: {said}\n{text}");
        // Our own reader agrees: no series twice, no timestamps.
        common::parse_samples(&text);
    }
}

#[test]
fn openmetrics_has_units_counters_info_and_eof() {
    let load = common::fixture("load");
    let text = exposition(std::slice::from_ref(&load), Format::OpenMetrics);
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);
    assert!(text.contains(
        "# TYPE perfhub_latency_seconds histogram\n# UNIT perfhub_latency_seconds seconds\n"
    ));
    assert!(text.contains("# TYPE perfhub_requests counter\n"), "{text}");
    assert!(
        text.contains("\nperfhub_requests_total{benchmark=\"total\"} "),
        "{text}"
    );
    assert!(text.contains("# TYPE perfhub_report info\n"), "{text}");
    assert!(
        text.contains("\nperfhub_report_info{kind=\"load\""),
        "{text}"
    );
    // Every sample belongs to the family declared last before it, and each
    // family is declared once.
    let mut declared = std::collections::HashSet::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap().to_string();
            assert!(declared.insert(current.clone()), "declared twice: {line}");
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let suffix = name
                .strip_prefix(&current)
                .unwrap_or_else(|| panic!("{line} outside {current}"));
            assert!(
                ["", "_total", "_info", "_bucket", "_sum", "_count"].contains(&suffix),
                "{line}"
            );
        }
    }
    // The same samples as the text format, but for counters' and info's names.
    let om = common::parse_samples(&text.replace("# EOF\n", ""));
    let prom = common::parse_samples(&exposition(std::slice::from_ref(&load), Format::Prometheus));
    assert_eq!(om.len(), prom.len());
    for (key, v) in &prom {
        assert!(common::same(om[key], *v), "{key:?}");
    }
}
