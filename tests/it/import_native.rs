//! `perfhub import google-benchmark`, `go-test` and `jmh` (and `auto`) on
//! real output of those tools (`fixtures/google-benchmark`,
//! `fixtures/go-test`, `fixtures/jmh`): every benchmark's mean is the
//! tool's own figure within 0.1%, two runs of the same code compare, and
//! malformed input is refused naming the file and the field or line.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{perfhub, root, stderr, stdout};

/// `perfhub import <format> <input> -o <dir>/<out>`, with the output path.
fn import(format: &str, input: &Path, dir: &Path, out: &str) -> (Output, PathBuf) {
    let out = dir.join(out);
    let o = perfhub(&[
        "import",
        format,
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    (o, out)
}

/// Imports `input` as `format`, which must succeed, and returns the report.
#[track_caller]
fn imported(format: &str, input: &Path, dir: &Path, out: &str) -> (Value, PathBuf) {
    let (o, out) = import(format, input, dir, out);
    assert!(o.status.success(), "{}{}", stderr(&o), stdout(&o));
    let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (report, out)
}

/// Asserts that the import failed, that standard error holds every one of
/// `parts`, and that no report was written.
#[track_caller]
fn assert_refused(o: &Output, out: &Path, parts: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "{err}{}", stdout(o));
    for part in parts {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
    assert!(!out.exists(), "{} was written", out.display());
}

fn benchmark<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no benchmark {name}"))
}

/// The primary measurement of `b`.
fn primary(b: &Value) -> &Value {
    b["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == b["primary_metric"])
        .unwrap()
}

/// The mean of a measurement: its summary's, or its single value.
fn mean(m: &Value) -> f64 {
    m["summary"]["mean"]
        .as_f64()
        .or_else(|| m["value"].as_f64())
        .unwrap()
}

#[track_caller]
fn assert_close(ours: f64, theirs: f64, what: &str) {
    let rel = (ours - theirs).abs() / theirs.abs();
    assert!(rel < 1e-3, "{what}: {ours} vs the tool's {theirs}");
}

fn has_note(report: &Value, code: &str) -> bool {
    report["notes"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n["code"] == code))
}

/// A Google Benchmark file as JSON (its bare `NaN`s read as null).
fn gbench_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("NaN", "null");
    serde_json::from_str(&text).unwrap()
}

/// Google Benchmark's `mean` aggregates: run name and seconds.
fn gbench_means(file: &Value) -> Vec<(String, f64)> {
    file["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["aggregate_name"] == "mean")
        .map(|r| {
            let per_second = match r["time_unit"].as_str().unwrap() {
                "ns" => 1e9,
                "us" => 1e6,
                "ms" => 1e3,
                _ => 1.0,
            };
            (
                r["run_name"].as_str().unwrap().to_string(),
                r["real_time"].as_f64().unwrap() / per_second,
            )
        })
        .collect()
}

#[test]
fn google_benchmark_runs_import_with_the_tools_means_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures/google-benchmark");
    let mut outs = Vec::new();
    for (file, format) in [("run-a.json", "google-benchmark"), ("run-b.json", "auto")] {
        let path = fixtures.join(file);
        let (report, out) = imported(format, &path, dir.path(), &format!("{file}.out.json"));
        let means = gbench_means(&gbench_json(&path));
        assert_eq!(report["benchmarks"].as_array().unwrap().len(), means.len());
        for (name, tool_mean) in &means {
            let m = primary(benchmark(&report, name));
            assert_eq!(m["unit"], "seconds");
            assert_eq!(m["samples"].as_array().unwrap().len(), 5, "{name}");
            assert_close(mean(m), *tool_mean, name);
        }
        assert!(has_note(&report, "imported_from_google_benchmark"));
        assert!(!has_note(&report, "summary_only"));
        outs.push(out);
    }
    let o = perfhub(&[
        "compare",
        outs[0].to_str().unwrap(),
        outs[1].to_str().unwrap(),
        "--no-fail",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    let shown = stdout(&o);
    for name in [
        "BM_StringCopy",
        "BM_Sort/512",
        "BM_Checksum/16384",
        "BM_Fill/65536/8",
    ] {
        assert!(shown.contains(name), "{name} not in {shown}");
    }
}

#[test]
fn google_benchmark_aggregates_only_keep_the_mean_without_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = root().join("fixtures/google-benchmark/aggregates-only.json");
    for format in ["google-benchmark", "auto"] {
        let (report, _) = imported(format, &path, dir.path(), &format!("{format}.json"));
        for (name, tool_mean) in gbench_means(&gbench_json(&path)) {
            let m = primary(benchmark(&report, &name));
            assert!(m.get("samples").is_none(), "{name}");
            assert_close(mean(m), tool_mean, &name);
        }
        assert!(has_note(&report, "summary_only"), "{format}");
    }
}

#[test]
fn google_benchmark_failures_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures/google-benchmark");
    // A failed benchmark is left out with a warning.
    let (report, _) = imported(
        "google-benchmark",
        &fixtures.join("skipped.json"),
        dir.path(),
        "skipped.json",
    );
    assert_eq!(report["benchmarks"].as_array().unwrap().len(), 1);
    assert!(has_note(&report, "google_benchmark_failed"));

    // A negative time.
    let mut v = gbench_json(&fixtures.join("single.json"));
    v["benchmarks"][2]["real_time"] = (-2.0).into();
    let bad = dir.path().join("negative.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let (o, out) = import("google-benchmark", &bad, dir.path(), "negative.out.json");
    assert_refused(
        &o,
        &out,
        &[
            "negative.json: field `benchmarks[2].real_time`",
            "-2 ns is negative",
        ],
    );
    // A time that is not a number.
    v["benchmarks"][2]["real_time"] = "slow".into();
    std::fs::write(&bad, v.to_string()).unwrap();
    let (o, out) = import("google-benchmark", &bad, dir.path(), "negative.out.json");
    assert_refused(
        &o,
        &out,
        &["negative.json: field `benchmarks[2].real_time`"],
    );
    // No benchmarks.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"context": {"num_cpus": 2}, "benchmarks": []}"#).unwrap();
    let (o, out) = import("google-benchmark", &empty, dir.path(), "empty.out.json");
    assert_refused(&o, &out, &["empty.json", "--benchmark_format=json"]);
}

/// Go's ns/op figures of every benchmark of a `go test -bench` output,
/// by name as Go wrote it.
fn go_ns_per_op(text: &str) -> Vec<(String, Vec<f64>)> {
    let mut out: Vec<(String, Vec<f64>)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[0].starts_with("Benchmark") && f[3] == "ns/op" {
            let v: f64 = f[2].parse().unwrap();
            match out.iter_mut().find(|(k, _)| k == f[0]) {
                Some((_, vs)) => vs.push(v),
                None => out.push((f[0].to_string(), vec![v])),
            }
        }
    }
    out
}

#[test]
fn go_test_output_imports_each_line_as_a_sample_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures/go-test");
    let mut outs = Vec::new();
    for (file, format) in [("run-a.txt", "go-test"), ("run-b.txt", "auto")] {
        let path = fixtures.join(file);
        let (report, out) = imported(format, &path, dir.path(), &format!("{file}.json"));
        let figures = go_ns_per_op(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(
            report["benchmarks"].as_array().unwrap().len(),
            figures.len()
        );
        for (full, ns) in &figures {
            // `BenchmarkSort/size=10-2` is `BenchmarkSort/size=10`, procs 2.
            let name = full.strip_suffix("-2").unwrap();
            let b = benchmark(&report, name);
            assert_eq!(b["parameters"]["procs"], "2");
            let m = primary(b);
            assert_eq!(m["samples"].as_array().unwrap().len(), ns.len());
            let go_mean = ns.iter().sum::<f64>() / ns.len() as f64 / 1e9;
            assert_close(mean(m), go_mean, name);
        }
        let sort = benchmark(&report, "BenchmarkSort/size=1000");
        assert_eq!(sort["parameters"]["size"], "1000");
        let metrics: Vec<&str> = sort["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["metric"].as_str().unwrap())
            .collect();
        assert_eq!(metrics, ["wall_time", "alloc_bytes", "allocs"]);
        outs.push(out);
    }
    let o = perfhub(&[
        "compare",
        outs[0].to_str().unwrap(),
        outs[1].to_str().unwrap(),
        "--no-fail",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    assert!(
        stdout(&o).contains("BenchmarkSort/size=1000"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn go_test_output_of_two_packages_and_malformed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures/go-test");
    let (report, _) = imported(
        "auto",
        &fixtures.join("two-packages.txt"),
        dir.path(),
        "two.json",
    );
    for name in [
        "example.com/perfhubfixture/hashing.BenchmarkBaseline",
        "example.com/perfhubfixture/sorting.BenchmarkBaseline",
        "BenchmarkSHA256",
        "BenchmarkFib",
    ] {
        let b = benchmark(&report, name);
        assert_eq!(primary(b)["samples"].as_array().unwrap().len(), 3);
    }
    let (report, _) = imported(
        "go-test",
        &fixtures.join("cpu-1-2.txt"),
        dir.path(),
        "cpu.json",
    );
    assert_eq!(
        benchmark(&report, "BenchmarkFib")["parameters"]["procs"],
        "1"
    );
    assert_eq!(
        benchmark(&report, "BenchmarkFib-2")["parameters"]["procs"],
        "2"
    );

    let text = std::fs::read_to_string(fixtures.join("run-a.txt")).unwrap();
    let broken = text.replacen("ns/op", "ns/op\t 12", 1);
    let bad = dir.path().join("broken.txt");
    std::fs::write(&bad, broken).unwrap();
    let (o, out) = import("go-test", &bad, dir.path(), "broken.json");
    assert_refused(
        &o,
        &out,
        &[
            "broken.txt:5: `BenchmarkFib-2`",
            "pairs of a value and its unit",
        ],
    );
    // The first figure of run-a.txt, made negative.
    let first = text.lines().find(|l| l.contains("ns/op")).unwrap();
    let ns = first.split_whitespace().nth(2).unwrap();
    let negative = text.replacen(&format!(" {ns} ns/op"), &format!(" -{ns} ns/op"), 1);
    std::fs::write(&bad, negative).unwrap();
    let (o, out) = import("go-test", &bad, dir.path(), "broken.json");
    assert_refused(&o, &out, &["broken.txt:5: `BenchmarkFib-2`", "is negative"]);
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "PASS\nok  \texample.com/x\t0.01s\n").unwrap();
    let (o, out) = import("go-test", &empty, dir.path(), "empty.json");
    assert_refused(&o, &out, &["empty.txt", "go test -run '^$' -bench ."]);
}

#[test]
fn jmh_results_import_in_every_mode_with_jmhs_scores() {
    let dir = tempfile::tempdir().unwrap();
    let path = root().join("fixtures/jmh/results.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for format in ["jmh", "auto"] {
        let (report, _) = imported(format, &path, dir.path(), &format!("{format}.json"));
        let benchmarks = report["benchmarks"].as_array().unwrap();
        assert_eq!(benchmarks.len(), file.as_array().unwrap().len());
        for (b, run) in benchmarks.iter().zip(file.as_array().unwrap()) {
            let pm = &run["primaryMetric"];
            let score = pm["score"].as_f64().unwrap();
            let expected = match pm["scoreUnit"].as_str().unwrap() {
                "ns/op" => score / 1e9,
                "us/op" => score / 1e6,
                "ms/op" => score / 1e3,
                "ops/ms" => score * 1e3,
                other => panic!("unit {other}"),
            };
            let name = b["name"].as_str().unwrap();
            assert!(
                name.starts_with(run["benchmark"].as_str().unwrap()),
                "{name}"
            );
            let m = primary(b);
            assert_close(mean(m), expected, name);
            assert!(!m["samples"].as_array().unwrap().is_empty(), "{name}");
        }
        let thrpt = benchmark(&report, "perfhub.fixture.Bench.join (size=10) [thrpt]");
        assert_eq!(thrpt["primary_metric"], "throughput");
        assert_eq!(primary(thrpt)["samples"].as_array().unwrap().len(), 6);
        let avgt = benchmark(&report, "perfhub.fixture.Bench.join (size=10) [avgt]");
        assert_eq!(avgt["primary_metric"], "wall_time");
        let ss = benchmark(&report, "perfhub.fixture.Bench.shuffle (size=1000)");
        assert_eq!(primary(ss)["samples"].as_array().unwrap().len(), 10);
        let sort = benchmark(&report, "perfhub.fixture.Bench.sort (size=10)");
        assert!(
            sort["measurements"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["metric"] == "alloc_bytes" && m["unit"] == "bytes")
        );
        assert!(has_note(&report, "jmh_throughput"));
    }

    let mut bad = file.clone();
    bad[4]["primaryMetric"]["rawData"][1][2] = (-5.0).into();
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let (o, out) = import("jmh", &bad_path, dir.path(), "bad.out.json");
    assert_refused(
        &o,
        &out,
        &[
            "bad.json: field `[4].primaryMetric.rawData[1][2]`",
            "-5 is negative",
        ],
    );
    let mut bad = file;
    bad[0]["primaryMetric"]["scoreUnit"] = "parsecs".into();
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let (o, out) = import("jmh", &bad_path, dir.path(), "bad.out.json");
    assert_refused(
        &o,
        &out,
        &[
            "bad.json: field `[0].primaryMetric.scoreUnit`",
            "\"parsecs\"",
        ],
    );
}
