//! `perfhub import` of tinybench / vitest bench, benchmark.js, Bencher
//! Metric Format and iai-callgrind / gungraun results, through the binary:
//! the saved real fixtures import with their subcommand and with `auto`,
//! every mean within 0.1% of the tool's own figure, and malformed files are
//! refused naming the file and the field.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{perfhub, root, stderr, stdout};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `perfhub import <format> <input> -o <dir>/out-<format>.json`: the output and
/// the report written.
fn import(format: &str, input: &Path, dir: &Path) -> (Output, PathBuf) {
    let out = dir.join(format!("out-{format}.json"));
    let o = perfhub(&[
        "import",
        format,
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    (o, out)
}

/// Imports `input` as `format` and with `auto`, checks that both succeed
/// and write the same benchmarks, and returns the report.
#[track_caller]
fn import_both_ways(format: &str, input: &Path) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let (o, out) = import(format, input, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    let report = read_json(&out);
    let (o, auto_out) = import("auto", input, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    let auto = read_json(&auto_out);
    assert_eq!(
        report["benchmarks"],
        auto["benchmarks"],
        "{}",
        input.display()
    );
    report
}

fn benchmark<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no benchmark {name:?} in {report}"))
}

/// A benchmark's primary measurement.
fn primary(b: &Value) -> &Value {
    b["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == b["primary_metric"])
        .unwrap()
}

/// The mean of a measurement: of its samples, else its summary's, else its value.
fn mean(m: &Value) -> f64 {
    match m["samples"].as_array() {
        Some(s) if !s.is_empty() => {
            s.iter().map(|x| x.as_f64().unwrap()).sum::<f64>() / s.len() as f64
        }
        _ => m["summary"]["mean"]
            .as_f64()
            .or_else(|| m["value"].as_f64())
            .unwrap(),
    }
}

fn has_note(report: &Value, code: &str) -> bool {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["code"] == code)
}

#[track_caller]
fn assert_close(ours: f64, theirs: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= 1e-3 * theirs.abs(),
        "{what}: {ours} vs {theirs}"
    );
}

/// Asserts that importing `text` (written to a file named `name`) as
/// `format` fails, with the file and every one of `parts` in stderr.
#[track_caller]
fn assert_refused(format: &str, name: &str, text: &str, parts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, text).unwrap();
    let (o, out) = import(format, &input, dir.path());
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0), "{err}{}", stdout(&o));
    assert!(err.contains(&input.display().to_string()), "{err}");
    for part in parts {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
    assert!(!out.exists());
}

#[test]
fn tinybench_and_vitest_files_import_with_their_means() {
    let dir = root().join("fixtures/tinybench");
    for (file, summary_only) in [
        ("tinybench-6-samples.json", false),
        ("tinybench-6-summary.json", true),
        ("tinybench-2.json", false),
    ] {
        let input = dir.join(file);
        let report = import_both_ways("tinybench", &input);
        let tasks = read_json(&input);
        for t in tasks.as_array().unwrap() {
            let r = &t["result"];
            let stats = r.get("latency").unwrap_or(r);
            let b = benchmark(&report, t["name"].as_str().unwrap());
            assert_eq!(b["primary_metric"], "wall_time");
            let m = primary(b);
            assert_close(mean(m), stats["mean"].as_f64().unwrap() / 1000.0, file);
            let samples = m["samples"].as_array().map_or(0, Vec::len);
            match stats["samples"].as_array() {
                Some(s) => assert_eq!(samples, s.len(), "{file}"),
                None => assert_eq!(samples, 0, "{file}"),
            }
        }
        assert_eq!(has_note(&report, "summary_only"), summary_only, "{file}");
        assert!(has_note(&report, "imported_from_tinybench"), "{file}");
    }

    let input = dir.join("vitest-4.json");
    let report = import_both_ways("tinybench", &input);
    let vitest = read_json(&input);
    let mut n = 0;
    for g in vitest["files"][0]["groups"].as_array().unwrap() {
        for own in g["benchmarks"].as_array().unwrap() {
            let name = format!(
                "{} > {}",
                g["fullName"].as_str().unwrap(),
                own["name"].as_str().unwrap()
            );
            let m = primary(benchmark(&report, &name));
            assert_close(mean(m), own["mean"].as_f64().unwrap() / 1000.0, &name);
            assert_eq!(m["summary"]["n"], own["sampleCount"]);
            assert!(m.get("samples").is_none());
            n += 1;
        }
    }
    assert_eq!(report["benchmarks"].as_array().unwrap().len(), n);
    assert!(has_note(&report, "summary_only"));
    assert!(has_note(&report, "imported_from_vitest"));
}

#[test]
fn tinybench_refuses_malformed_files_naming_the_field() {
    assert_refused(
        "tinybench",
        "tasks.json",
        r#"[{"name": "a", "result": {"latency": {"mean": 1, "samples": [1, -1]}}}]"#,
        &["field `[0].result.latency.samples[1]`", "-1 ms is negative"],
    );
    assert_refused(
        "tinybench",
        "vitest.json",
        r#"{"files": [{"filepath": "a.js", "groups": [{"fullName": "a.js", "benchmarks": [{"name": "x", "mean": "slow"}]}]}]}"#,
        &["field `files[0].groups[0].benchmarks[0].mean`"],
    );
    assert_refused("tinybench", "empty.json", "[]", &["no benchmark results"]);
}

#[test]
fn benchmarkjs_results_import_with_their_samples() {
    let input = root().join("fixtures/benchmarkjs/benchmarkjs-2.1.4.json");
    let report = import_both_ways("benchmarkjs", &input);
    let own = read_json(&input);
    for b in own.as_array().unwrap() {
        let m = primary(benchmark(&report, b["name"].as_str().unwrap()));
        assert_eq!(
            m["samples"].as_array().unwrap().len(),
            b["stats"]["sample"].as_array().unwrap().len()
        );
        assert_close(
            mean(m),
            b["stats"]["mean"].as_f64().unwrap(),
            "benchmark.js",
        );
    }
    assert!(has_note(&report, "imported_from_benchmarkjs"));
    assert_refused(
        "benchmarkjs",
        "suite.json",
        r#"[{"name": "a", "stats": {"sample": [1e-6, "x"], "mean": 1e-6}}]"#,
        &["field `[0].stats.sample[1]`"],
    );
}

#[test]
fn bmf_written_by_perfhub_export_reads_back_with_the_same_means() {
    let dir = tempfile::tempdir().unwrap();
    let (o, original) = import(
        "hyperfine",
        &root().join("fixtures/hyperfine/export-1.15.json"),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bmf = dir.path().join("bmf-export.json");
    let o = perfhub(&[
        "export",
        "--to",
        "bencher",
        original.to_str().unwrap(),
        "-o",
        bmf.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let back = import_both_ways("bmf", &bmf);
    let original = read_json(&original);
    let originals = original["benchmarks"].as_array().unwrap();
    assert_eq!(
        back["benchmarks"].as_array().unwrap().len(),
        originals.len()
    );
    for b in originals {
        let name = b["name"].as_str().unwrap();
        let ours = benchmark(&back, name);
        assert_eq!(ours["primary_metric"], "wall_time");
        let m = primary(ours);
        assert_eq!(m["unit"], "seconds");
        let (a, e) = (mean(m), mean(primary(b)));
        assert!((a - e).abs() <= 1e-12 * e, "{name}: {a} vs {e}");
    }
    assert!(has_note(&back, "summary_only"));

    // Bencher's documented example, with custom measures.
    let report = import_both_ways(
        "bmf",
        &root().join("fixtures/bmf/bencher-docs-example.json"),
    );
    let b = benchmark(&report, "my_binary");
    assert_eq!(b["primary_metric"], "file_size");
    assert_eq!(primary(b)["value"], 42.0);

    assert_refused(
        "bmf",
        "bmf.json",
        r#"{"fib": {"latency": {"value": -5}}}"#,
        &["field `fib.latency.value`", "-5 ns is negative"],
    );
}

#[test]
fn iai_callgrind_and_gungraun_summaries_keep_exact_instruction_counts() {
    let dir = root().join("fixtures/iai-callgrind");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for input in files {
        let report = import_both_ways("iai-callgrind", &input);
        let own = read_json(&input);
        let name = format!(
            "{} {}",
            own["module_path"].as_str().unwrap(),
            own["id"].as_str().unwrap()
        );
        let b = benchmark(&report, &name);
        assert_eq!(b["primary_metric"], "instructions");
        let ir = if own["version"] == "7" {
            own["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]["new"].clone()
        } else {
            let m =
                &own["profiles"][0]["summaries"]["total"]["summary"]["Callgrind"]["Ir"]["metrics"];
            m.get("Left").unwrap_or(&m["Both"][0])["Int"].clone()
        };
        let m = primary(b);
        assert_eq!(m["value"].as_f64(), ir.as_f64(), "{}", input.display());
        assert_eq!(m["unit"], "count");
        assert!(has_note(&report, "exact_counts"));
    }
    assert_refused(
        "iai-callgrind",
        "summary.json",
        r#"{"version": "7", "module_path": "b", "benchmark_exe": "x", "profiles": [{"tool": "Callgrind", "data": {"total": {"metrics": {"Ir": {"values": {"new": "many"}}}}}}]}"#,
        &["field `profiles[0].data.total.metrics.Ir.values.new`"],
    );
}
