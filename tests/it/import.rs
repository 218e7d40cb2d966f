//! `perfhub import` and `perfhub compare` refuse values no measurement can
//! have (negative or overlong times, impossible statistics) with the file,
//! the field and the value named, instead of a report of "-2.000 s" and a
//! comparison of "-100.00% unchanged".

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{perfhub, root, stderr, stdout};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, value.to_string()).unwrap();
}

/// `perfhub import <format> <input> -o <dir>/out.json`, with the output path.
fn import(format: &str, input: &Path, dir: &Path) -> (Output, PathBuf) {
    let out = dir.join("out.json");
    let o = perfhub(&[
        "import",
        format,
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    (o, out)
}

/// Asserts that the import failed with exit code 1, that standard error
/// holds every one of `parts`, and that no report was written.
#[track_caller]
fn assert_refused(o: &Output, out: &Path, parts: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}{}", stdout(o));
    for part in parts {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
    assert!(!out.exists(), "{} was written", out.display());
}

/// The hyperfine fixture's first result, edited by `edit`, in `dir/name`.
fn hyperfine_file(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v = read_json(&root().join("fixtures/hyperfine/export-1.15.json"));
    v["results"].as_array_mut().unwrap().truncate(1);
    edit(&mut v["results"][0]);
    let path = dir.join(name);
    write_json(&path, &v);
    path
}

#[test]
fn import_hyperfine_refuses_negative_and_overlong_times() {
    let dir = tempfile::tempdir().unwrap();
    let negative = hyperfine_file(dir.path(), "negative.json", |r| {
        r["mean"] = (-2.0).into();
        r["times"] = serde_json::json!([-2.0, -2.0, -2.0]);
    });
    let (o, out) = import("hyperfine", &negative, dir.path());
    assert_refused(
        &o,
        &out,
        &[
            "negative.json: field `results[0].mean`: -2 s is negative, and a time cannot be",
            "the file is damaged or was edited: run the benchmarks again",
        ],
    );

    let huge = hyperfine_file(dir.path(), "huge.json", |r| {
        for key in ["mean", "median", "min", "max"] {
            r[key] = 1e308.into();
        }
        r["times"] = serde_json::json!([1e308, 1e308, 1e308]);
    });
    let (o, out) = import("hyperfine", &huge, dir.path());
    assert_refused(
        &o,
        &out,
        &["huge.json: field `results[0].mean`: 1e308 s is longer than any measurement"],
    );

    let unordered = hyperfine_file(dir.path(), "unordered.json", |r| r["min"] = 5.0.into());
    let (o, out) = import("hyperfine", &unordered, dir.path());
    assert_refused(
        &o,
        &out,
        &["unordered.json: field `results[0].min`: 5 s is above the result's max"],
    );
}

#[test]
fn import_cargo_criterion_refuses_a_negative_median_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(root().join("fixtures/criterion/cargo-criterion-1.1.0.jsonl"))
            .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut first: Value = serde_json::from_str(&lines[0]).unwrap();
    first["median"]["estimate"] = (-2.0).into();
    lines[0] = first.to_string();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let (o, out) = import("cargo-criterion", &bad, dir.path());
    assert_refused(
        &o,
        &out,
        &["bad.jsonl:1: field `median.estimate`: -2 ns is negative, and a time cannot be"],
    );
}

#[test]
fn import_auto_refuses_impossible_values_in_every_format() {
    let dir = tempfile::tempdir().unwrap();

    // hyperfine, told apart by its content.
    let hyperfine = hyperfine_file(dir.path(), "hyperfine.json", |r| {
        r["times"][1] = (-0.5).into();
    });
    let (o, out) = import("auto", &hyperfine, dir.path());
    assert_refused(
        &o,
        &out,
        &["hyperfine.json: field `results[0].times[1]`: -0.5 s is negative"],
    );

    // cargo-criterion: a total time whose iterations last a billion years.
    let text =
        std::fs::read_to_string(root().join("fixtures/criterion/cargo-criterion-1.1.0.jsonl"))
            .unwrap();
    let mut first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    first["measured_values"][0] = 1e308.into();
    let stream = dir.path().join("stream.jsonl");
    std::fs::write(&stream, format!("{first}\n")).unwrap();
    let (o, out) = import("auto", &stream, dir.path());
    assert_refused(
        &o,
        &out,
        &[
            "stream.jsonl:1: field `measured_values[0]`: 1e308 ns over 4950 iterations is longer than any measurement",
        ],
    );

    // libtest: a figure beyond what perfhub holds.
    let libtest = dir.path().join("bench.txt");
    std::fs::write(
        &libtest,
        format!(
            "running 1 test\ntest fib ... bench: 1{} ns/iter (+/- 1)\n",
            "0".repeat(300)
        ),
    )
    .unwrap();
    let (o, out) = import("auto", &libtest, dir.path());
    assert_refused(
        &o,
        &out,
        &["bench.txt:2: `fib`: 1e300 ns/iter is longer than any measurement"],
    );

    // criterion's directory: a negative bootstrap estimate.
    let criterion = dir.path().join("criterion");
    copy_tree(
        &root().join("fixtures/criterion/criterion-0.8.2"),
        &criterion,
    );
    let estimates = criterion.join("sum_1000/new/estimates.json");
    let mut v = read_json(&estimates);
    v["median"]["point_estimate"] = (-534.0).into();
    write_json(&estimates, &v);
    let (o, out) = import("auto", &criterion, dir.path());
    assert_refused(
        &o,
        &out,
        &[&format!(
            "{}: field `median.point_estimate`: -534 ns is negative",
            estimates.display()
        )],
    );
}

#[test]
fn import_goose_refuses_impossible_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&root().join("fixtures/goose/report.json"));
    v["raw_request_metrics"][0]["requests_per_second"] = (-42.5).into();
    let bad = dir.path().join("goose.json");
    write_json(&bad, &v);
    let (o, out) = import("goose", &bad, dir.path());
    assert_refused(
        &o,
        &out,
        &[
            "goose.json",
            "raw_request_metrics[0].requests_per_second: -42.5 is negative, and a rate cannot be",
        ],
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn compare_refuses_a_doctored_report_naming_the_benchmark_and_metric() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("fixtures/hyperfine/export-1.15.json");
    let (o, good) = import("hyperfine", &fixture, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // The real report compares with itself.
    let o = perfhub(&["compare", good.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    type Edit = fn(&mut Value);
    let cases: [(Edit, &str); 4] = [
        (
            |m| m["samples"][0] = (-2.0).into(),
            "sample 0 is -2, and a time cannot be negative",
        ),
        (
            |m| m["samples"][2] = 1e308.into(),
            "sample 2 is 1e308 s, longer than any measurement",
        ),
        (
            |m| m["summary"]["mean"] = (-2.0).into(),
            "the summary's mean is -2, and a time cannot be negative",
        ),
        (
            |m| m["summary"]["median"] = 5.0.into(),
            "the summary's median 5 is outside its minimum",
        ),
    ];
    for (edit, expected) in cases {
        let mut v = read_json(&good);
        let wall = v["benchmarks"][0]["measurements"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m["metric"] == "wall_time")
            .unwrap();
        edit(wall);
        let doctored = dir.path().join("doctored.json");
        write_json(&doctored, &v);
        for (base, head) in [(&good, &doctored), (&doctored, &good)] {
            let o = perfhub(&["compare", base.to_str().unwrap(), head.to_str().unwrap()]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{err}{}", stdout(&o));
            for part in [
                &format!(
                    "{}: benchmark `sleep 0.01 (n=1)`, metric `wall_time`: {expected}",
                    doctored.display()
                ),
                "the report is damaged or was edited",
            ] {
                assert!(err.contains(part), "{part:?} not in {err:?}");
            }
            assert!(!stdout(&o).contains('%'), "{}", stdout(&o));
        }
    }
}
