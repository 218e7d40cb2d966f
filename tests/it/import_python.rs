//! `perfhub import` of the Python tools' results through the binary:
//! pytest-benchmark, pyperf and asv, from the real runs saved under
//! `fixtures/`, by their subcommands and by `auto`; every mean (asv: its
//! median) within 0.1% of the tool's own figure; two pytest-benchmark runs
//! of the same code compared; malformed files refused with the file and
//! the field named.

use std::path::{Path, PathBuf};
use std::process::Output;

use perfhub_core::Report;
use serde_json::Value;

use crate::support::{perfhub, root, stderr, stdout};

fn fixture(path: &str) -> PathBuf {
    root().join("fixtures").join(path)
}

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

/// Imports `input` as `format` and reads the report written.
#[track_caller]
fn imported(format: &str, input: &Path, dir: &Path) -> Report {
    let (o, out) = import(format, input, dir, &format!("{format}.json"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    Report::from_json(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[track_caller]
fn assert_close(ours: f64, theirs: f64, what: &str) {
    assert!(
        ((ours - theirs) / theirs).abs() < 1e-3,
        "{what}: {ours} is not {theirs} within 0.1%"
    );
}

/// Asserts that the import failed, that standard error holds every one of
/// `parts`, and that no report was written.
#[track_caller]
fn assert_refused(o: &Output, out: &Path, parts: &[&str]) {
    let err = stderr(o);
    assert_ne!(o.status.code(), Some(0), "{err}{}", stdout(o));
    for part in parts {
        assert!(err.contains(part), "{part:?} not in {err:?}");
    }
    assert!(!out.exists(), "{} was written", out.display());
}

#[test]
fn pytest_benchmark_runs_import_with_their_means_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for run in ["a", "b"] {
        let input = fixture(&format!("pytest-benchmark/run-{run}.json"));
        let raw = read_json(&input);
        for format in ["pytest-benchmark", "auto"] {
            let report = imported(format, &input, dir.path());
            assert_eq!(report.benchmarks.len(), 9, "{format}");
            for (b, r) in report
                .benchmarks
                .iter()
                .zip(raw["benchmarks"].as_array().unwrap())
            {
                // Named as pytest-benchmark names them; by fullname where
                // two modules hold tests of one name.
                let expected = match r["name"].as_str().unwrap() {
                    "test_concat" => r["fullname"].as_str().unwrap(),
                    name => name,
                };
                assert_eq!(b.name, expected);
                let m = b.primary().unwrap();
                assert_eq!(m.metric, "wall_time");
                assert_eq!(
                    m.samples.len() as u64,
                    r["stats"]["rounds"].as_u64().unwrap()
                );
                assert_close(
                    m.summary.as_ref().unwrap().mean,
                    r["stats"]["mean"].as_f64().unwrap(),
                    &b.name,
                );
            }
            assert!(report.benchmark("test_sort[1000]").is_some());
            assert!(report.benchmark("bench_other.py::test_concat").is_some());
        }
        let out = dir.path().join(format!("run-{run}.json"));
        std::fs::rename(dir.path().join("auto.json"), &out).unwrap();
        reports.push(out);
    }

    // `perfhub compare` of the two runs: every benchmark compared.
    let cmp = dir.path().join("cmp.json");
    let o = perfhub(&[
        "compare",
        reports[0].to_str().unwrap(),
        reports[1].to_str().unwrap(),
        "--no-fail",
        "--export-json",
        cmp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    assert!(stdout(&o).contains("test_sort[100]"), "{}", stdout(&o));
    let compared = Report::from_json(&std::fs::read_to_string(&cmp).unwrap()).unwrap();
    assert_eq!(compared.comparisons.len(), 9);
    assert!(compared.comparisons.iter().all(|c| c.ratio > 0.0));
}

#[test]
fn pytest_benchmark_saved_runs_without_data_keep_their_summaries_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for n in ["0001", "0002"] {
        let input = fixture(&format!("pytest-benchmark/autosave-{n}-no-data.json"));
        let raw = read_json(&input);
        let report = imported("auto", &input, dir.path());
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "summary_only")
            .unwrap();
        assert!(
            note.message.contains("only summary statistics"),
            "{}",
            note.message
        );
        for (b, r) in report
            .benchmarks
            .iter()
            .zip(raw["benchmarks"].as_array().unwrap())
        {
            let m = b.primary().unwrap();
            assert!(m.samples.is_empty(), "{}", b.name);
            let s = m.summary.as_ref().unwrap();
            assert_eq!(s.n as u64, r["stats"]["rounds"].as_u64().unwrap());
            assert_close(s.mean, r["stats"]["mean"].as_f64().unwrap(), &b.name);
        }
        let out = dir.path().join(format!("saved-{n}.json"));
        std::fs::rename(dir.path().join("auto.json"), &out).unwrap();
        reports.push(out);
    }
    let cmp = dir.path().join("cmp.json");
    let o = perfhub(&[
        "compare",
        reports[0].to_str().unwrap(),
        reports[1].to_str().unwrap(),
        "--no-fail",
        "--export-json",
        cmp.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stderr(&o), stdout(&o));
    let compared = Report::from_json(&std::fs::read_to_string(&cmp).unwrap()).unwrap();
    assert_eq!(compared.comparisons.len(), 9);
    for c in &compared.comparisons {
        let method = c.method.as_deref().unwrap_or_default();
        assert!(method.starts_with("Welch"), "{}: {method}", c.benchmark);
    }
}

/// pyperf's own means (`pyperf.BenchmarkSuite.load(FILE)`, each benchmark's
/// `mean()`, pyperf 2.11.0) and numbers of values.
const PYPERF_MEANS: [(&str, &str, f64, usize); 5] = [
    ("bench.json", "build_dict[100]", 1.95006152369596e-05, 12),
    ("bench.json", "build_dict[1000]", 0.0002684228437506893, 12),
    ("bench.json", "sorted_x10", 4.295695898311654e-06, 12),
    ("timeit.json", "timeit", 3.0491132594395116e-05, 9),
    ("timeit.json.gz", "timeit", 8.549097677562006e-05, 9),
];

#[test]
fn pyperf_files_import_with_pyperfs_means() {
    let dir = tempfile::tempdir().unwrap();
    for (file, name, theirs, n) in PYPERF_MEANS {
        let input = fixture(&format!("pyperf/{file}"));
        // `auto` reads text: the gzip file goes through its subcommand.
        let formats: &[&str] = if file.ends_with(".gz") {
            &["pyperf"]
        } else {
            &["pyperf", "auto"]
        };
        for format in formats {
            let report = imported(format, &input, dir.path());
            let m = report.benchmark(name).unwrap().primary().unwrap();
            assert_eq!(
                (m.metric.as_str(), m.samples.len()),
                ("wall_time", n),
                "{file}"
            );
            assert_close(m.summary.as_ref().unwrap().mean, theirs, name);
        }
    }
    // Peak memory is a size, never a time.
    let report = imported("pyperf", &fixture("pyperf/tracemalloc.json"), dir.path());
    let m = report.benchmark("sorted_x10").unwrap().primary().unwrap();
    assert_eq!(m.metric, "peak_memory");
    assert_eq!(m.unit, perfhub_core::Unit::Bytes);
    assert_close(m.summary.as_ref().unwrap().mean, 213852.0, "sorted_x10");
}

#[test]
fn asv_results_import_with_asvs_figures() {
    let dir = tempfile::tempdir().unwrap();
    let results = "asv/results/fixture-vm";
    let with_samples = fixture(&format!(
        "{results}/52435798-existing-py_var_tmp_venv-hpy_bin_python3.json"
    ));
    for format in ["asv", "auto"] {
        let report = imported(format, &with_samples, dir.path());
        assert_eq!(report.benchmarks.len(), 10, "{format}");
        for (name, theirs) in [
            (
                "benchmarks.TimeSort.time_sorted(1000, 'desc')",
                1.253300069947727e-05,
            ),
            (
                "benchmarks.TimeDict.time_build(100)",
                2.3510220404324244e-05,
            ),
            ("benchmarks.time_join", 4.805246435230515e-05),
        ] {
            let m = report.benchmark(name).unwrap().primary().unwrap();
            assert_eq!(
                (m.metric.as_str(), m.samples.len()),
                ("wall_time", 10),
                "{name}"
            );
            // asv's figure is the median of its samples.
            assert_close(m.summary.as_ref().unwrap().median, theirs, name);
        }
        let sorted = report
            .benchmark("benchmarks.TimeSort.time_sorted(10, 'asc')")
            .unwrap();
        assert_eq!(sorted.parameters["order"], "'asc'");
        let track = report
            .benchmark("benchmarks.track_answer")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(
            (track.metric.as_str(), track.value),
            ("tracked_value", Some(42.0))
        );
        let peak = report
            .benchmark("benchmarks.peakmem_list")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(
            (peak.metric.as_str(), peak.unit),
            ("max_rss", perfhub_core::Unit::Bytes)
        );
    }
    // Without --record-samples: asv's median as the one value.
    let without = fixture(&format!(
        "{results}/ee99a045-existing-py_var_tmp_venv-hpy_bin_python3.json"
    ));
    let report = imported("auto", &without, dir.path());
    assert!(report.notes.iter().any(|n| n.code == "asv_median_only"));
    let m = report
        .benchmark("benchmarks.time_join")
        .unwrap()
        .primary()
        .unwrap();
    assert!(m.samples.is_empty() && m.value.is_some());
    // A --quick run, whose intervals asv writes as Python's Infinity.
    let quick = fixture(&format!(
        "{results}/da3b469e-existing-py_var_tmp_venv-hpy_bin_python3.json"
    ));
    let report = imported("asv", &quick, dir.path());
    assert_eq!(report.benchmarks.len(), 10);
}

#[test]
fn malformed_python_results_are_refused_with_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };

    let mut v = read_json(&fixture("pytest-benchmark/run-a.json"));
    v["benchmarks"][2]["stats"]["data"][1] = (-0.5).into();
    let bad = write("pytest.json", &v);
    for format in ["pytest-benchmark", "auto"] {
        let (o, out) = import(format, &bad, dir.path(), "out.json");
        assert_refused(
            &o,
            &out,
            &["pytest.json: field `benchmarks[2].stats.data[1]`: -0.5 s is negative"],
        );
    }
    let mut v = read_json(&fixture("pytest-benchmark/run-a.json"));
    v["benchmarks"][0]["stats"]["rounds"] = "many".into();
    let bad = write("rounds.json", &v);
    let (o, out) = import("pytest-benchmark", &bad, dir.path(), "out.json");
    assert_refused(
        &o,
        &out,
        &["rounds.json: field `benchmarks[0].stats.rounds`"],
    );

    let mut v = read_json(&fixture("pyperf/bench.json"));
    v["benchmarks"][1]["runs"][3]["values"][0] = 1e300.into();
    let bad = write("pyperf.json", &v);
    for format in ["pyperf", "auto"] {
        let (o, out) = import(format, &bad, dir.path(), "out.json");
        assert_refused(
            &o,
            &out,
            &[
                "pyperf.json: field `benchmarks[1].runs[3].values[0]`: 1e300 s is longer than any measurement",
            ],
        );
    }

    let mut v = read_json(&fixture(
        "asv/results/fixture-vm/52435798-existing-py_var_tmp_venv-hpy_bin_python3.json",
    ));
    v["results"]["benchmarks.TimeSort.time_sorted"][0] = serde_json::json!([1e-6, 2e-6]);
    let bad = write("asv.json", &v);
    for format in ["asv", "auto"] {
        let (o, out) = import(format, &bad, dir.path(), "out.json");
        assert_refused(
            &o,
            &out,
            &[
                "asv.json: field `results.benchmarks.TimeSort.time_sorted[0]`: 2 results for 4 combinations",
            ],
        );
    }
    let empty = write(
        "empty.json",
        &serde_json::json!({"version": 2, "result_columns": ["result"], "results": {}}),
    );
    let (o, out) = import("asv", &empty, dir.path(), "out.json");
    assert_refused(&o, &out, &["empty.json: no benchmark results", "asv run"]);
}
