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
