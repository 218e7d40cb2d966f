use std::path::{Path, PathBuf};

use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{ReportKind, Unit};
use perfhub_import::{ImportError, import_cargo_criterion, metric, parse_cargo_criterion};

use crate::{CREATED, assert_close, assert_message, fixture, options};

fn stream() -> PathBuf {
    fixture("criterion/cargo-criterion-1.1.0.jsonl")
}

#[test]
fn the_fixture_imports_every_completed_benchmark() {
    let report = import_cargo_criterion(&stream(), &options()).unwrap();
    assert_eq!(report.kind, ReportKind::Bench);
    assert_eq!(report.created.to_string(), CREATED);
    let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sum_1000",
            "sort_1024",
            "fibonacci/fib/10",
            "fibonacci/fib/15",
            "fibonacci/fib/20",
            "checksum/fnv1a",
        ]
    );
    for b in &report.benchmarks {
        assert_eq!(b.primary_metric, WALL_TIME);
        assert_eq!(b.primary().unwrap().samples.len(), 20, "{}", b.name);
        assert_eq!(b.primary().unwrap().unit, Unit::Seconds);
    }
    let sum = report.benchmark("sum_1000").unwrap();
    // Line 1: iteration_count[0] = 4950, measured_values[0] = 1495748.0 ns.
    assert_close(sum.primary().unwrap().samples[0], 1495748.0 / 4950.0 * 1e-9);
    assert_close(
        sum.measurement(metric::CRITERION_MEAN)
            .unwrap()
            .value
            .unwrap(),
        646.8960992624424e-9,
    );
    assert!(sum.measurement(metric::CRITERION_TYPICAL).is_some());
    assert!(sum.measurement(metric::CRITERION_SLOPE).is_some());
    assert!(
        sum.notes
            .iter()
            .any(|n| n.code == "criterion_change" && n.message.ends_with("NoChange"))
    );

    let fnv = report.benchmark("checksum/fnv1a").unwrap();
    // Flat sampling: `"slope": null`.
    assert!(fnv.measurement(metric::CRITERION_SLOPE).is_none());
    let thrpt = fnv.measurement(THROUGHPUT).unwrap();
    assert_eq!(thrpt.unit, Unit::BytesPerSecond);
    assert_close(thrpt.samples[0], 4096.0 / fnv.primary().unwrap().samples[0]);
    assert_eq!(report.notes[0].code, "imported_from_cargo_criterion");
}

fn parse(text: &str) -> Result<perfhub_core::Report, ImportError> {
    parse_cargo_criterion(text, Path::new("stream.jsonl"), &options())
}

/// The fixture's first `benchmark-complete` line, as JSON to edit.
fn first_message() -> serde_json::Value {
    let text = std::fs::read_to_string(stream()).unwrap();
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

#[test]
fn other_reasons_and_non_json_lines_are_skipped() {
    let text = format!(
        "   Compiling criterion-fixture v0.0.0\n{{\"reason\":\"group-complete\",\"group_name\":\"x\"}}\n{}\n",
        first_message()
    );
    let report = parse(&text).unwrap();
    assert_eq!(report.benchmarks.len(), 1);
}

#[test]
fn errors_name_the_line_and_field() {
    let good = first_message().to_string();
    let with = |edit: fn(&mut serde_json::Value)| {
        let mut v = first_message();
        edit(&mut v);
        format!("{{\"reason\":\"group-complete\"}}\n{good}\n{v}\n")
    };
    let cases: [(String, &str); 6] = [
        (
            format!("{good}\n{{\"reason\": \n"),
            "stream.jsonl:2: invalid JSON: EOF",
        ),
        (
            with(|v| drop(v.as_object_mut().unwrap().remove("measured_values"))),
            "stream.jsonl:3: field `measured_values`: missing",
        ),
        (
            with(|v| v["iteration_count"] = "many".into()),
            "stream.jsonl:3: field `iteration_count`: expected an array of numbers, found a string",
        ),
        (
            with(|v| v["mean"]["unit"] = "cycles".into()),
            "stream.jsonl:3: field `mean.unit`: unit `cycles` is not a time",
        ),
        (
            with(|v| v["throughput"] = serde_json::json!([{"per_iteration": 1, "unit": "lines"}])),
            "stream.jsonl:3: field `throughput[0].unit`: unknown throughput unit `lines`",
        ),
        (
            "{\"id\": \"x\"}\n".to_string(),
            "stream.jsonl:1: field `reason`: missing",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).unwrap_err();
        assert_message(&err, &[expected]);
    }
}

#[test]
fn a_repeated_id_is_refused() {
    let line = first_message().to_string();
    let err = parse(&format!("{line}\n\n{line}\n")).unwrap_err();
    assert!(matches!(err, ImportError::Duplicate { .. }));
    assert_message(
        &err,
        &["stream.jsonl:3: benchmark `sum_1000` appears twice (first at stream.jsonl:1)"],
    );
}

#[test]
fn a_stream_without_results_is_refused() {
    let err = parse("{\"reason\":\"group-complete\"}\n").unwrap_err();
    assert!(matches!(err, ImportError::NoResults { .. }));
    assert_message(
        &err,
        &["stream.jsonl: no benchmark results: no `benchmark-complete` messages"],
    );
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing.jsonl");
    let err = import_cargo_criterion(&missing, &options()).unwrap_err();
    assert_message(
        &err,
        &[&format!("{}: no such file or directory", missing.display())],
    );
}

#[test]
fn impossible_times_are_refused_with_the_field_and_value() {
    let with = |edit: fn(&mut serde_json::Value)| {
        let mut v = first_message();
        edit(&mut v);
        format!("{{\"reason\":\"group-complete\"}}\n{v}\n")
    };
    let cases: [(String, &str); 7] = [
        (
            with(|v| v["median"]["estimate"] = (-2.0).into()),
            "stream.jsonl:2: field `median.estimate`: -2 ns is negative, and a time cannot be; the file is damaged or was edited: run the benchmarks again",
        ),
        (
            with(|v| v["slope"]["lower_bound"] = (-1.5).into()),
            "stream.jsonl:2: field `slope.lower_bound`: -1.5 ns is negative",
        ),
        (
            with(|v| {
                v["typical"]["estimate"] = 1e300.into();
                v["typical"]["unit"] = "ms".into();
            }),
            "stream.jsonl:2: field `typical.estimate`: 1e300 ms is longer than any measurement (at most 4611686018 s, about 146 years)",
        ),
        (
            with(|v| v["mean"]["lower_bound"] = 900.0.into()),
            "stream.jsonl:2: field `mean.lower_bound`: 900 ns is above the upper bound 723.6857573012402 ns",
        ),
        (
            with(|v| v["measured_values"][2] = 1e308.into()),
            "stream.jsonl:2: field `measured_values[2]`: 1e308 ns over 14850 iterations is longer than any measurement",
        ),
        (
            with(|v| {
                v["unit"] = "s".into();
                v["measured_values"][0] = 1e14.into();
            }),
            "stream.jsonl:2: field `measured_values[0]`: 100000000000000 s over 4950 iterations is longer than any measurement",
        ),
        (
            with(|v| {
                v["measured_values"][0] = 1e-300.into();
                v["throughput"] = serde_json::json!([{"per_iteration": 4096, "unit": "bytes"}]);
            }),
            "stream.jsonl:2: field `measured_values[0]`: 2.0202020202e-313 s per iteration is too short to be measured: 4096 per iteration would be done at an infinite rate",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(&text).unwrap_err();
        assert!(matches!(err, ImportError::Field { .. }), "{err:?}");
        assert_message(&err, &[expected]);
    }
}
