use std::fs;
use std::path::{Path, PathBuf};

use perfhub_core::report::Severity;
use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{ReportKind, Unit};
use perfhub_import::{ImportError, import_criterion_dir, metric};

use crate::{CREATED, assert_close, assert_message, fixture, options, read_json, write_json};

fn dir() -> PathBuf {
    fixture("criterion/criterion-0.8.2")
}

/// A copy of the fixture tree to break.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("criterion");
    copy_tree(&dir(), &root);
    (tmp, root)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `times[i] / iters[i]` of a fixture's `sample.json`, in seconds.
fn expected_samples(sample_json: &Path) -> Vec<f64> {
    let v = read_json(sample_json);
    let iters = v["iters"].as_array().unwrap();
    let times = v["times"].as_array().unwrap();
    times
        .iter()
        .zip(iters)
        .map(|(t, n)| t.as_f64().unwrap() / n.as_f64().unwrap() * 1e-9)
        .collect()
}

#[test]
fn the_fixture_imports_every_benchmark_with_its_samples() {
    let report = import_criterion_dir(&dir(), None, &options()).unwrap();
    assert_eq!(report.kind, ReportKind::Bench);
    assert_eq!(report.created.to_string(), CREATED);
    assert!(report.environment.is_none());
    let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "checksum/fnv1a",
            "fibonacci/fib/10",
            "fibonacci/fib/15",
            "fibonacci/fib/20",
            "sort_1024",
            "sum_1000",
        ]
    );
    for b in &report.benchmarks {
        assert_eq!(b.primary_metric, WALL_TIME);
        let wall = b.primary().unwrap();
        assert_eq!(wall.unit, Unit::Seconds);
        assert_eq!(wall.samples.len(), 20, "{}", b.name);
        assert_eq!(wall.summary.as_ref().unwrap().n, 20);
    }

    let sum = report.benchmark("sum_1000").unwrap();
    let wall = sum.primary().unwrap();
    // sum_1000/new/sample.json: iters[0] = 4751.0, times[0] = 1427476.0 ns;
    // iters[19] = 95020.0, times[19] = 44958140.0 ns.
    assert_close(wall.samples[0], 1427476.0 / 4751.0 * 1e-9);
    assert_close(wall.samples[19], 44958140.0 / 95020.0 * 1e-9);
    assert_eq!(
        wall.samples,
        expected_samples(&dir().join("sum_1000/new/sample.json"))
    );
    // estimates.json: mean.point_estimate and slope.point_estimate, in ns.
    let value = |m: &str| sum.measurement(m).unwrap().value.unwrap();
    assert_close(value(metric::CRITERION_MEAN), 515.7625612826587e-9);
    assert_close(value(metric::CRITERION_SLOPE), 514.3959921879641e-9);
    assert!(sum.measurement(metric::CRITERION_MEDIAN).is_some());
    assert!(sum.measurement(metric::CRITERION_STD_DEV).is_some());
    assert!(sum.measurement(metric::CRITERION_MEDIAN_ABS_DEV).is_some());
    let note = &sum.notes[0];
    assert_eq!(note.code, "criterion_estimates");
    assert!(
        note.message
            .starts_with("criterion's estimates (linear sampling): slope 514.4 ns (95% CI "),
        "{}",
        note.message
    );
    assert!(sum.parameters.is_empty());

    assert_eq!(report.notes.len(), 1);
    assert_eq!(report.notes[0].code, "imported_from_criterion");
    assert_eq!(
        perfhub_core::Report::from_json(&report.to_json()).unwrap(),
        report
    );
    assert!(
        report.notes[0]
            .message
            .contains("baseline `new`, 6 benchmarks")
    );
}

#[test]
fn a_parameterized_benchmark_is_named_by_its_full_id_with_its_value() {
    let report = import_criterion_dir(&dir(), None, &options()).unwrap();
    let fib = report.benchmark("fibonacci/fib/15").unwrap();
    assert_eq!(fib.parameters.get("value").map(String::as_str), Some("15"));
    assert_eq!(fib.parameters.len(), 1);
    assert_close(fib.primary().unwrap().samples[0], 2059948.0 / 1204.0 * 1e-9);
    // The costs are distinct: fib(20) is far slower than fib(10).
    let median = |name: &str| {
        let b = report.benchmark(name).unwrap();
        b.primary().unwrap().summary.as_ref().unwrap().median
    };
    assert!(median("fibonacci/fib/20") > 10.0 * median("fibonacci/fib/10"));
}

#[test]
fn throughput_and_flat_sampling_are_read() {
    let report = import_criterion_dir(&dir(), None, &options()).unwrap();
    let b = report.benchmark("checksum/fnv1a").unwrap();
    let wall = b.primary().unwrap();
    // Flat mode: every sample has the same iteration count (4757).
    assert_close(wall.samples[0], 29240043.0 / 4757.0 * 1e-9);
    let thrpt = b.measurement(THROUGHPUT).unwrap();
    assert_eq!(thrpt.unit, Unit::BytesPerSecond);
    assert_eq!(thrpt.samples.len(), 20);
    assert_close(thrpt.samples[0], 4096.0 / wall.samples[0]);
    // Criterion writes `"slope": null` in flat mode.
    assert!(b.measurement(metric::CRITERION_SLOPE).is_none());
    assert!(b.notes[0].message.contains("(flat sampling): mean "));
    assert!(
        report
            .benchmark("sum_1000")
            .unwrap()
            .measurement(THROUGHPUT)
            .is_none()
    );
}

#[test]
fn a_named_baseline_is_selected() {
    let main = import_criterion_dir(&dir(), Some("main"), &options()).unwrap();
    let new = import_criterion_dir(&dir(), None, &options()).unwrap();
    assert_eq!(main.benchmarks.len(), 6);
    for (m, n) in main.benchmarks.iter().zip(&new.benchmarks) {
        assert_eq!(m.name, n.name);
        assert_ne!(m.primary().unwrap().samples, n.primary().unwrap().samples);
    }
    let sum = main.benchmark("sum_1000").unwrap().primary().unwrap();
    // sum_1000/main/sample.json: iters[0] = 6391.0, times[0] = 2007650.0.
    assert_close(sum.samples[0], 2007650.0 / 6391.0 * 1e-9);
    assert_eq!(
        sum.samples,
        expected_samples(&dir().join("sum_1000/main/sample.json"))
    );
    assert!(main.notes[0].message.contains("baseline `main`"));

    // Criterion copies `new` to `base` after every run.
    let base = import_criterion_dir(&dir(), Some("base"), &options()).unwrap();
    assert_eq!(base.benchmarks, new.benchmarks);
}

#[test]
fn benchmarks_without_the_baseline_are_left_out_with_a_warning() {
    let (_tmp, root) = scratch();
    fs::remove_dir_all(root.join("sort_1024/main")).unwrap();
    let report = import_criterion_dir(&root, Some("main"), &options()).unwrap();
    assert_eq!(report.benchmarks.len(), 5);
    assert!(report.benchmark("sort_1024").is_none());
    let warning = &report.notes[1];
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(warning.code, "criterion_baseline_missing");
    assert!(warning.message.contains("sort_1024"), "{}", warning.message);
}

#[test]
fn an_unknown_baseline_lists_the_baselines_found() {
    let err = import_criterion_dir(&dir(), Some("release"), &options()).unwrap_err();
    assert!(matches!(err, ImportError::UnknownBaseline { .. }));
    assert_message(
        &err,
        &[
            "criterion-0.8.2",
            "no benchmark has a baseline named `release`",
            "(baselines found: base, main, new)",
        ],
    );
}

#[test]
fn an_empty_directory_says_to_run_cargo_bench() {
    let tmp = tempfile::tempdir().unwrap();
    // A `report/` directory without results is still empty.
    fs::create_dir_all(tmp.path().join("report")).unwrap();
    let err = import_criterion_dir(tmp.path(), None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::NoCriterionBenchmarks { .. }));
    assert_message(
        &err,
        &[
            &tmp.path().display().to_string(),
            "no criterion benchmarks found",
            "run `cargo bench` first",
        ],
    );
}

#[test]
fn a_missing_directory_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("target/criterion");
    let err = import_criterion_dir(&missing, None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::Missing { .. }));
    assert_message(
        &err,
        &[&format!("{}: no such file or directory", missing.display())],
    );

    let file = tmp.path().join("report.json");
    fs::write(&file, "{}").unwrap();
    let err = import_criterion_dir(&file, None, &options()).unwrap_err();
    assert_message(
        &err,
        &["report.json: no such file or directory (a criterion output directory"],
    );
}

#[test]
fn a_missing_file_is_named() {
    for file in ["sample.json", "estimates.json"] {
        let (_tmp, root) = scratch();
        let path = root.join("sum_1000/new").join(file);
        fs::remove_file(&path).unwrap();
        let err = import_criterion_dir(&root, None, &options()).unwrap_err();
        assert!(matches!(err, ImportError::Missing { .. }), "{err:?}");
        assert_message(
            &err,
            &[&format!("{}: no such file or directory", path.display())],
        );
    }
}

#[test]
fn malformed_json_is_named() {
    let (_tmp, root) = scratch();
    let path = root.join("fibonacci/fib/15/new/estimates.json");
    fs::write(&path, "{\"mean\": {").unwrap();
    let err = import_criterion_dir(&root, None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::Json { .. }));
    assert_message(&err, &[&format!("{}: invalid JSON: EOF", path.display())]);
}

/// An edit that breaks a JSON file.
type Edit = fn(&mut serde_json::Value);

/// Breaks `file` of `sum_1000/new` with `edit` and returns the error message.
fn break_field(file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> (PathBuf, String) {
    let (_tmp, root) = scratch();
    let path = root.join("sum_1000/new").join(file);
    let mut v = read_json(&path);
    edit(&mut v);
    write_json(&path, &v);
    let err = import_criterion_dir(&root, None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::Field { .. }), "{err:?}");
    (path, err.to_string())
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    let cases: [(&str, Edit, &str); 7] = [
        (
            "sample.json",
            |v| v["times"] = "fast".into(),
            "field `times`: expected an array of numbers, found a string",
        ),
        (
            "sample.json",
            |v| v["iters"][3] = "x".into(),
            "field `iters`: expected an array of numbers, found a string (\"x\") at index 3",
        ),
        (
            "sample.json",
            |v| v["sampling_mode"] = 1.into(),
            "field `sampling_mode`: expected a string, found a number",
        ),
        (
            "benchmark.json",
            |v| v["full_id"] = serde_json::json!(["sum"]),
            "field `full_id`: expected a string, found an array",
        ),
        (
            "benchmark.json",
            |v| v["throughput"] = serde_json::json!({"Furlongs": 3}),
            "field `throughput`: unknown throughput kind `Furlongs` (expected Bytes, BytesDecimal, Bits, Elements or ElementsAndBytes)",
        ),
        (
            "estimates.json",
            |v| v["mean"]["confidence_interval"]["lower_bound"] = "low".into(),
            "field `mean.confidence_interval.lower_bound`: expected a number, found a string",
        ),
        (
            "estimates.json",
            |v| *v = serde_json::json!([1, 2]),
            "field `(the document)`: expected an object, found an array",
        ),
    ];
    for (file, edit, expected) in cases {
        let (path, message) = break_field(file, edit);
        assert_eq!(message, format!("{}: {expected}", path.display()));
    }
}

#[test]
fn a_missing_field_is_named() {
    let cases: [(&str, Edit, &str); 4] = [
        (
            "benchmark.json",
            |v| drop(v.as_object_mut().unwrap().remove("full_id")),
            "field `full_id`: missing",
        ),
        (
            "sample.json",
            |v| drop(v.as_object_mut().unwrap().remove("times")),
            "field `times`: missing",
        ),
        (
            "estimates.json",
            |v| {
                drop(
                    v["median"]
                        .as_object_mut()
                        .unwrap()
                        .remove("point_estimate"),
                )
            },
            "field `median.point_estimate`: missing",
        ),
        (
            "estimates.json",
            |v| drop(v.as_object_mut().unwrap().remove("std_dev")),
            "field `std_dev`: missing",
        ),
    ];
    for (file, edit, expected) in cases {
        let (path, message) = break_field(file, edit);
        assert_eq!(message, format!("{}: {expected}", path.display()));
    }
}

#[test]
fn impossible_samples_are_named() {
    let (path, message) = break_field("sample.json", |v| {
        v["times"].as_array_mut().unwrap().pop();
    });
    assert_eq!(
        message,
        format!(
            "{}: field `times`: has 19 values but `iters` has 20: one of each per sample",
            path.display()
        )
    );
    let (_, message) = break_field("sample.json", |v| v["iters"][0] = 0.0.into());
    assert!(
        message.ends_with("field `iters`: iteration count 0 at index 0 is not positive"),
        "{message}"
    );
    let (_, message) = break_field("sample.json", |v| {
        v["iters"] = serde_json::json!([]);
        v["times"] = serde_json::json!([]);
    });
    assert!(message.ends_with("field `iters`: is empty: criterion records at least one sample"));
}

#[test]
fn impossible_estimates_and_times_are_refused_with_the_field_and_value() {
    let cases: [(&str, Edit, &str); 7] = [
        (
            "estimates.json",
            |v| v["mean"]["point_estimate"] = (-2.0).into(),
            "field `mean.point_estimate`: -2 ns is negative, and a time cannot be; the file is damaged or was edited: run the benchmarks again",
        ),
        (
            "estimates.json",
            |v| v["std_dev"]["point_estimate"] = (-0.25).into(),
            "field `std_dev.point_estimate`: -0.25 ns is negative",
        ),
        (
            "estimates.json",
            |v| v["median"]["confidence_interval"]["upper_bound"] = 1e308.into(),
            "field `median.confidence_interval.upper_bound`: 1e308 ns is longer than any measurement (at most 4611686018 s, about 146 years)",
        ),
        (
            "estimates.json",
            |v| v["mean"]["confidence_interval"]["lower_bound"] = 600.0.into(),
            "field `mean.confidence_interval.lower_bound`: 600 ns is above the upper bound 565.8071695168122 ns",
        ),
        (
            "estimates.json",
            |v| v["slope"]["confidence_interval"]["confidence_level"] = 95.0.into(),
            "field `slope.confidence_interval.confidence_level`: 95 is not a confidence level (between 0 and 1)",
        ),
        (
            "sample.json",
            |v| v["times"][4] = 1e308.into(),
            "field `times[4]`: 1e308 ns over 23755 iterations is longer than any measurement",
        ),
        (
            "sample.json",
            |v| v["times"][0] = 1e23.into(),
            "field `times[0]`: 1e23 ns over 4751 iterations is longer than any measurement",
        ),
    ];
    for (file, edit, expected) in cases {
        let (path, message) = break_field(file, edit);
        assert!(
            message.starts_with(&format!("{}: {expected}", path.display())),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn a_throughput_that_overflows_is_refused() {
    let (_tmp, root) = scratch();
    let dir = root.join("sum_1000/new");
    let mut benchmark = read_json(&dir.join("benchmark.json"));
    benchmark["throughput"] = serde_json::json!({"Elements": 1000});
    write_json(&dir.join("benchmark.json"), &benchmark);
    let mut sample = read_json(&dir.join("sample.json"));
    sample["times"][3] = 1e-300.into();
    write_json(&dir.join("sample.json"), &sample);
    let err = import_criterion_dir(&root, None, &options()).unwrap_err();
    assert_message(
        &err,
        &[&format!(
            "{}: field `times[3]`: 5.262050095e-314 s per iteration is too short to be measured: 1000 per iteration would be done at an infinite rate",
            dir.join("sample.json").display()
        )],
    );
}
