//! `perfhub run` end to end, through the real binary.

use perfhub_core::Report;
use perfhub_core::complexity::ComplexityClass;

use crate::support::{perfhub, root, stderr, stdout, workload};

fn read_report(path: &std::path::Path) -> Report {
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn benchmarks_a_command_and_exports_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let out = perfhub(&[
        "run",
        "--runs",
        "5",
        "--warmup",
        "1",
        "--export-json",
        &p("r.json"),
        "--export-hyperfine-json",
        &p("h.json"),
        "--export-markdown",
        &p("t.md"),
        "--export-csv",
        &p("t.csv"),
        "sleep 0.01",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Benchmark 1: sleep 0.01"), "{text}");
    assert!(text.contains("times faster than"), "{text}");

    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report.benchmarks.len(), 2);
    let sleep = report.benchmark("sleep 0.01").unwrap();
    let wall = sleep.measurement("wall_time").unwrap();
    assert_eq!(wall.samples.len(), 5);
    // In seconds: `sleep 0.01` takes at least 10 ms on any machine, and far
    // under 5 s even on a busy one, while a time in the wrong unit would be
    // 10 (milliseconds) or more.
    assert!(
        wall.samples.iter().all(|&s| (0.009..5.0).contains(&s)),
        "{:?}",
        wall.samples
    );
    for m in [
        "user_time",
        "system_time",
        "max_rss",
        "read_bytes",
        "write_bytes",
        "read_syscalls",
        "voluntary_context_switches",
        "minor_page_faults",
    ] {
        assert!(sleep.measurement(m).is_some(), "missing {m}");
    }
    assert!(report.environment.as_ref().unwrap().logical_cpus >= 1);
    assert_eq!(report.comparisons.len(), 1);
    assert_eq!(report.comparisons[0].reference, "true");
    // `sleep 0.01` runs for at least 10 ms, `true` for about one: a machine
    // would have to slow `true` tenfold, and not the sleep, to reverse them.
    assert!(report.comparisons[0].ratio > 1.0);

    let md = std::fs::read_to_string(dir.path().join("t.md")).unwrap();
    assert!(md.starts_with("| Command | Mean ["), "{md}");
    assert!(md.contains("| `sleep 0.01` |"), "{md}");
    let csv = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "command,mean,stddev,median,user,system,min,max,max_rss_bytes"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with("sleep 0.01,"));
}

/// Every field hyperfine writes (checked against a real hyperfine export in
/// fixtures/hyperfine), with the same JSON types, plus `memory_usage_byte`
/// from newer hyperfine versions.
#[test]
fn hyperfine_json_has_hyperfines_field_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "3",
        "--param",
        "n=1,2",
        "--export-hyperfine-json",
        path.to_str().unwrap(),
        "true {n}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/hyperfine/export-1.15.json")).unwrap(),
    )
    .unwrap();
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
        serde_json::Value::String(_) => "string",
        _ => "other",
    };
    let our_result = ours["results"][0].as_object().unwrap();
    for (key, value) in theirs["results"][0].as_object().unwrap() {
        let mine = our_result
            .get(key)
            .unwrap_or_else(|| panic!("hyperfine field {key} missing"));
        assert_eq!(kind(mine), kind(value), "type of {key}");
    }
    assert_eq!(ours["results"].as_array().unwrap().len(), 2);
    assert_eq!(ours["results"][1]["parameters"]["n"], "2");
    assert_eq!(ours["results"][0]["command"], "true 1");
    assert_eq!(our_result["times"].as_array().unwrap().len(), 3);
    assert_eq!(our_result["memory_usage_byte"].as_array().unwrap().len(), 3);
    assert!(our_result["memory_usage_byte"][0].as_u64().unwrap() > 0);
    assert_eq!(our_result["exit_codes"], serde_json::json!([0, 0, 0]));
}

#[test]
fn a_missing_command_is_a_clear_error() {
    let out = perfhub(&["run", "--runs", "2", "perfhub-no-such-command --flag"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("command not found") && err.contains("perfhub-no-such-command"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn empty_commands_are_refused() {
    for args in [vec!["run"], vec!["run", ""], vec!["run", "   "]] {
        let out = perfhub(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("command"), "{err}");
        assert_eq!(err.lines().count(), 1, "one-line error: {err}");
    }
}

#[test]
fn a_bad_budget_points_at_the_problem() {
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--budget",
        "p95 < 200 parsecs",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("parsecs"), "{err}");
    let out = perfhub(&["run", "--runs", "2", "--budget", "mean 200ms", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mean 200ms"), "{}", stderr(&out));
}

#[test]
fn a_bad_parameter_range_is_refused() {
    let out = perfhub(&["run", "--param", "n=10..1", "true {n}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("below its start"), "{}", stderr(&out));
    let out = perfhub(&["run", "--param", "n=1..x", "true {n}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a number"), "{}", stderr(&out));
}

#[test]
fn an_unwritable_export_path_fails_before_measuring() {
    let out = perfhub(&["run", "--export-json", "/nonexistent-dir/r.json", "sleep 5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent-dir"),
        "{}",
        stderr(&out)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = perfhub(&["run", "--export-csv", dir.path().to_str().unwrap(), "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn a_failing_command_exits_4_and_still_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "3",
        "--export-json",
        json.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = read_report(&json);
    assert_eq!(report.benchmarks[0].exit_codes, vec![Some(7)]);
    assert!(report.notes.iter().any(|n| n.code == "command_failed"));
    assert!(stdout(&out).contains("exit code 7"), "{}", stdout(&out));

    let out = perfhub(&[
        "run",
        "--runs",
        "3",
        "--ignore-failure",
        "--export-json",
        json.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_report(&json);
    assert_eq!(report.benchmarks[0].exit_codes.len(), 3);
    let rate = report.benchmarks[0]
        .measurement("error_rate")
        .unwrap()
        .value;
    assert_eq!(rate, Some(1.0));
}

#[test]
fn a_command_killed_by_a_signal_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--export-json",
        json.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "kill -SEGV $$",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("signal") && text.contains("SIGSEGV"),
        "{text}"
    );
    let report = read_report(&json);
    assert_eq!(report.benchmarks[0].exit_codes, vec![None]);
}

#[test]
fn budgets_pass_or_fail_with_their_own_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let ok = perfhub(&[
        "run",
        "--runs",
        "3",
        // Ten seconds for `true`: far above what any machine takes.
        "--budget",
        "mean < 10s",
        "--budget",
        "max_rss < 1GiB",
        "true",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let breached = perfhub(&[
        "run",
        "--runs",
        "3",
        "--budget",
        "mean < 1ms",
        "--export-json",
        json.to_str().unwrap(),
        "sleep 0.02",
    ]);
    assert_eq!(breached.status.code(), Some(3), "{}", stderr(&breached));
    assert!(stdout(&breached).contains("FAIL"), "{}", stdout(&breached));
    let report = read_report(&json);
    assert_eq!(report.budgets.len(), 1);
    assert!(!report.budgets[0].passed);
    assert!(report.budgets[0].actual > 0.019);
}

#[test]
fn shell_syntax_without_shell_is_explained_and_works_with_it() {
    let out = perfhub(&["run", "--runs", "2", "seq 10 | sort"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--shell"), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "3",
        "--shell",
        "--export-json",
        json.to_str().unwrap(),
        "seq 10 | sort",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_report(&json);
    assert!(report.notes.iter().any(|n| n.code == "shell_correction"));
}

#[test]
fn hardware_counters_are_reported_or_explained() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--export-json",
        json.to_str().unwrap(),
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_report(&json);
    let b = &report.benchmarks[0];
    let has_hw = b.measurement("instructions").is_some();
    let explained = report
        .notes
        .iter()
        .any(|n| n.code == "hardware_counters_unsupported");
    assert!(
        has_hw != explained,
        "either counts or a note: {:?}",
        report.notes
    );
}

/// Fits the complexity of `io_cost CLASS {n}` on its bytes written, which
/// are an exact function of `n` (timing-free, so the test is deterministic;
/// the CPU workloads are checked by timing in docs/benchmarks.md).
fn fitted_class(class: &str, scan: &str) -> ComplexityClass {
    let bin = workload("io_cost");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let template = format!("{} {class} {{n}}", bin.display());
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--complexity-metric",
        "write_bytes",
        "--param",
        scan,
        "--export-json",
        json.to_str().unwrap(),
        &template,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Complexity of"), "{}", stdout(&out));
    let report = read_report(&json);
    assert_eq!(report.complexity.len(), 1, "{:?}", report.notes);
    let fit = &report.complexity[0];
    assert_eq!(fit.metric, "write_bytes");
    assert_eq!(fit.parameter, "n");
    fit.best
}

#[test]
fn complexity_of_a_linear_workload() {
    assert_eq!(
        fitted_class("linear", "n=1000..512000:*2"),
        ComplexityClass::Linear
    );
}

#[test]
fn complexity_of_an_n_log_n_workload() {
    assert_eq!(
        fitted_class("nlogn", "n=1000..512000:*2"),
        ComplexityClass::Linearithmic
    );
}

#[test]
fn complexity_of_a_quadratic_workload() {
    assert_eq!(
        fitted_class("quadratic", "n=100..3200:*2"),
        ComplexityClass::Quadratic
    );
}

#[test]
fn a_complexity_metric_the_report_lacks_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--complexity-metric",
        "no_such_metric",
        "--param",
        "n=1,2,3",
        "--export-json",
        json.to_str().unwrap(),
        "true {n}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_report(&json);
    assert!(report.complexity.is_empty());
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.code == "complexity_not_fitted"),
        "{:?}",
        report.notes
    );
}

#[test]
fn counters_are_skipped_for_very_short_commands_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let run = |args: &[&str]| {
        let mut all = vec![
            "run",
            "--runs",
            "3",
            "--export-json",
            json.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let out = perfhub(&all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        read_report(&json)
    };
    let software_refused = |r: &Report| {
        r.notes
            .iter()
            .any(|n| n.code == "software_counters_unavailable")
    };

    let auto_short = run(&["true"]);
    let b = &auto_short.benchmarks[0];
    assert!(b.measurement("task_clock").is_none());
    assert!(
        b.notes.iter().any(|n| n.code == "counters_skipped"),
        "{:?}",
        b.notes
    );

    // Where the machine refuses software counters too, the documented
    // degraded behaviour is asserted instead: a note, and no counter values.
    let degraded = |r: &Report| {
        assert!(
            r.benchmarks[0].measurement("task_clock").is_none(),
            "{:?}",
            r.notes
        );
    };
    let always = run(&["--counters", "always", "true"]);
    if software_refused(&always) {
        degraded(&always);
    } else {
        assert!(always.benchmarks[0].measurement("task_clock").is_some());
    }

    let auto_long = run(&["sleep 0.01"]);
    if software_refused(&auto_long) {
        degraded(&auto_long);
    } else {
        let b = &auto_long.benchmarks[0];
        assert!(b.measurement("task_clock").is_some(), "{:?}", b.notes);
        assert!(
            b.measurement("page_faults")
                .unwrap()
                .summary
                .as_ref()
                .unwrap()
                .mean
                > 10.0
        );
    }

    let never = run(&["--counters", "never", "sleep 0.01"]);
    assert!(never.benchmarks[0].measurement("task_clock").is_none());
}

#[test]
fn parameter_ranges_are_exact_or_refused() {
    // The range's end is beyond 64 bits: refused, not a run of nothing.
    let o = perfhub(&[
        "run",
        "--param",
        "n=1..18446744073709551616",
        "--",
        "echo",
        "{n}",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "invalid parameter \"n=1..18446744073709551616\": range end 18446744073709551616 is beyond the integers a range can count (-9223372036854775808 to 18446744073709551615)"
        ),
        "{err}"
    );
    // u64's largest value is run as itself, not wrapped to i64's.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let o = perfhub(&[
        "run",
        "--runs",
        "1",
        "--export-json",
        json.to_str().unwrap(),
        "--param",
        "n=18446744073709551615..18446744073709551615",
        "--",
        "echo",
        "{n}",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<String> = read_report(&json)
        .benchmarks
        .iter()
        .map(|b| b.name.clone())
        .collect();
    assert_eq!(names, ["echo 18446744073709551615"]);
    // The same name twice: the second would silently replace the first.
    let o = perfhub(&[
        "run", "--runs", "1", "--param", "n=1,2", "--param", "n=3", "--", "echo", "{n}",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid parameter \"n=3\": parameter \"n\" is given twice"),
        "{err}"
    );
}

#[test]
fn budgets_that_could_never_pass_are_refused_before_measuring() {
    for (budget, needle) in [
        (
            "mean < -5ms",
            "threshold \"-5ms\" is negative, and a time never is: give a limit of 0 or more",
        ),
        (
            "mean < 1e-400s",
            "threshold \"1e-400s\" is too small to tell from 0",
        ),
    ] {
        let o = perfhub(&["run", "--runs", "2", "--budget", budget, "--", "true"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{budget}: {err}");
        assert!(err.contains(needle), "{budget}: {err}");
        assert!(stdout(&o).is_empty(), "{budget}: measured anyway");
    }
}
