use std::path::Path;

use perfhub_core::Unit;
use perfhub_core::report::metric::{SYSTEM_TIME, USER_TIME, WALL_TIME};
use perfhub_import::{ImportError, import_hyperfine, parse_hyperfine};

use crate::{assert_close, assert_message, fixture, options, read_json};

#[test]
fn the_hyperfine_fixture_imports_with_samples_and_parameters() {
    let path = fixture("hyperfine/export-1.15.json");
    let report = import_hyperfine(&path, &options()).unwrap();
    let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
    // Each command appears once per value of `n`.
    assert_eq!(
        names,
        ["sleep 0.01 (n=1)", "true 1", "sleep 0.01 (n=2)", "true 2"]
    );
    let json = read_json(&path);
    for (b, r) in report
        .benchmarks
        .iter()
        .zip(json["results"].as_array().unwrap())
    {
        assert_eq!(b.command.as_deref(), r["command"].as_str());
        assert_eq!(b.primary_metric, WALL_TIME);
        let wall = b.primary().unwrap();
        assert_eq!(wall.unit, Unit::Seconds);
        let times: Vec<f64> = r["times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect();
        assert_eq!(wall.samples, times);
        assert_close(
            b.measurement(USER_TIME).unwrap().value.unwrap(),
            r["user"].as_f64().unwrap(),
        );
        assert!(b.measurement(SYSTEM_TIME).is_some());
        assert_eq!(b.exit_codes, [Some(0), Some(0), Some(0)]);
        assert_eq!(
            b.parameters.get("n").map(String::as_str),
            r["parameters"]["n"].as_str()
        );
    }
    assert_close(
        report.benchmarks[0].primary().unwrap().samples[0],
        0.011319817000000001,
    );
}

#[test]
fn errors_name_the_file_and_field() {
    let source = Path::new("hyperfine.json");
    let parse = |text: &str| parse_hyperfine(text, source, &options()).unwrap_err();
    let cases = [
        ("{\"runs\": []}", "hyperfine.json: field `results`: missing"),
        (
            "{\"results\": []}",
            "hyperfine.json: no benchmark results: `results` is empty",
        ),
        (
            "{\"results\": [{\"command\": \"a\", \"times\": [0.1]}, {\"command\": \"b\", \"times\": 0.2}]}",
            "hyperfine.json: field `results[1].times`: expected an array of numbers, found a number",
        ),
        (
            "{\"results\": [{\"times\": [0.1]}]}",
            "hyperfine.json: field `results[0].command`: missing",
        ),
        (
            "{\"results\": [{\"command\": \"a\", \"times\": [0.1], \"exit_codes\": [\"ok\"]}]}",
            "hyperfine.json: field `results[0].exit_codes[0]`: expected an exit code",
        ),
        ("[1, 2", "hyperfine.json: invalid JSON"),
    ];
    for (text, expected) in cases {
        assert_message(&parse(text), &[expected]);
    }
    assert!(matches!(parse("[1, 2"), ImportError::Json { .. }));
}

#[test]
fn an_old_export_without_times_keeps_the_mean() {
    let report = parse_hyperfine(
        "{\"results\": [{\"command\": \"a\", \"mean\": 0.5}]}",
        Path::new("old.json"),
        &options(),
    )
    .unwrap();
    let wall = report.benchmarks[0].primary().unwrap();
    assert!(wall.samples.is_empty());
    assert_eq!(wall.value, Some(0.5));
}

/// The fixture's first result, edited by `edit`, imported as `bad.json`.
fn import_edited(
    edit: impl FnOnce(&mut serde_json::Value),
) -> Result<perfhub_core::Report, ImportError> {
    let mut v = read_json(&fixture("hyperfine/export-1.15.json"));
    v["results"].as_array_mut().unwrap().truncate(1);
    edit(&mut v["results"][0]);
    parse_hyperfine(&v.to_string(), Path::new("bad.json"), &options())
}

/// An edit of one result.
type Edit = fn(&mut serde_json::Value);

#[test]
fn impossible_times_are_refused_with_the_field_and_value() {
    let cases: [(Edit, &str); 14] = [
        (
            |r| r["times"][1] = (-2.0).into(),
            "bad.json: field `results[0].times[1]`: -2 s is negative, and a time cannot be; the file is damaged or was edited: run the benchmarks again",
        ),
        (
            |r| r["times"] = serde_json::json!([1e308, 1e308, 1e308]),
            "bad.json: field `results[0].times[0]`: 1e308 s is longer than any measurement",
        ),
        (
            |r| {
                r["times"] = serde_json::json!([1e308]);
                for key in ["mean", "median", "min", "max", "stddev"] {
                    r.as_object_mut().unwrap().remove(key);
                }
            },
            "bad.json: field `results[0].times[0]`: 1e308 s is longer than any measurement (at most 4611686018 s, about 146 years)",
        ),
        (
            |r| r["mean"] = (-2.0).into(),
            "field `results[0].mean`: -2 s is negative",
        ),
        (
            |r| r["mean"] = 1e308.into(),
            "field `results[0].mean`: 1e308 s is longer than any measurement",
        ),
        (
            |r| r["median"] = (-0.5).into(),
            "field `results[0].median`: -0.5 s is negative",
        ),
        (
            |r| r["stddev"] = (-1e-3).into(),
            "field `results[0].stddev`: -0.001 s is negative",
        ),
        (
            |r| r["user"] = (-1.0).into(),
            "field `results[0].user`: -1 s is negative",
        ),
        (
            |r| r["system"] = 1e300.into(),
            "field `results[0].system`: 1e300 s is longer than any measurement",
        ),
        (
            |r| r["min"] = 1.0.into(),
            "field `results[0].min`: 1 s is above the result's max 0.011319817000000001 s",
        ),
        (
            |r| r["mean"] = 0.5.into(),
            "field `results[0].mean`: 0.5 s is outside the result's min 0.011176463000000001 s and max 0.011319817000000001 s",
        ),
        (
            |r| r["median"] = 0.001.into(),
            "field `results[0].median`: 0.001 s is outside the result's min",
        ),
        (
            |r| r["times"][2] = 0.02.into(),
            "field `results[0].times[2]`: 0.02 s is outside the result's min 0.011176463000000001 s and max 0.011319817000000001 s",
        ),
        (
            |r| r["memory_usage_byte"] = serde_json::json!([1024, -4096, 2048]),
            "field `results[0].memory_usage_byte[1]`: expected a whole number from 0, found a number (-4096)",
        ),
    ];
    for (edit, expected) in cases {
        let err = import_edited(edit).unwrap_err();
        assert!(matches!(err, ImportError::Field { .. }), "{err:?}");
        assert_message(&err, &[expected]);
    }

    // Edge values that are possible still import: a zero time, equal
    // statistics, no stddev for one value, and memory in whole bytes.
    let report = import_edited(|r| {
        r["times"] = serde_json::json!([0.0, 0.0]);
        for key in ["mean", "median", "min", "max"] {
            r[key] = 0.0.into();
        }
        r["stddev"] = serde_json::Value::Null;
        r["memory_usage_byte"] = serde_json::json!([4096, 8192]);
    })
    .unwrap();
    let b = &report.benchmarks[0];
    assert_eq!(b.primary().unwrap().samples, [0.0, 0.0]);
    assert_eq!(
        b.measurement(perfhub_core::report::metric::MAX_RSS)
            .unwrap()
            .samples,
        [4096.0, 8192.0]
    );
}

#[test]
fn an_old_export_with_an_impossible_mean_is_refused() {
    for (mean, expected) in [
        (
            "-2.0",
            "old.json: field `results[0].mean`: -2 s is negative",
        ),
        (
            "1e308",
            "old.json: field `results[0].mean`: 1e308 s is longer than any measurement",
        ),
    ] {
        let text = format!("{{\"results\": [{{\"command\": \"a\", \"mean\": {mean}}}]}}");
        let err = parse_hyperfine(&text, Path::new("old.json"), &options()).unwrap_err();
        assert_message(&err, &[expected]);
    }
}
