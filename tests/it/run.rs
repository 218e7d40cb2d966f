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
    // Counters are opened only where they are read: always, for `true`.
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--counters",
        "always",
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

    // The rule is the first run's: under 5 ms, no counters. On a loaded
    // machine even `true` may take longer once, so the rule is checked on
    // every attempt, and a few attempts must see the short case.
    let mut seen_short = false;
    for _ in 0..5 {
        let auto_short = run(&["true"]);
        let b = &auto_short.benchmarks[0];
        let first = b.measurement("wall_time").unwrap().samples[0];
        let skipped = b.notes.iter().any(|n| n.code == "counters_skipped");
        assert_eq!(skipped, first < 0.005, "first run {first} s: {:?}", b.notes);
        if skipped {
            assert!(b.measurement("task_clock").is_none());
            seen_short = true;
            break;
        }
    }
    assert!(
        seen_short,
        "`true` took 5 ms or more on its first run five times"
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
        // The first run decided, without counters; they cover the other two.
        assert_eq!(b.measurement("task_clock").unwrap().samples.len(), 2);
        assert!(
            b.notes.iter().any(|n| n.code == "counters_after_first_run"),
            "{:?}",
            b.notes
        );
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

// hyperfine's options (docs/hyperfine.md), each through the binary.

/// A command line that appends `mark` to `log`, for hooks and commands.
fn mark(log: &std::path::Path, mark: &str) -> String {
    format!("sh -c 'echo {mark} >> {}'", log.display())
}

fn marks(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn setup_prepare_conclude_and_cleanup_run_in_hyperfines_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let (setup, conclude, cleanup) = (
        format!("echo setup >> {}", log.display()),
        format!("echo conclude >> {}", log.display()),
        format!("echo cleanup >> {}", log.display()),
    );
    // Per command: the first prepare goes to the first command.
    let (prep_a, prep_b) = (
        format!("echo prep-a >> {}", log.display()),
        format!("echo prep-b >> {}", log.display()),
    );
    let (a, b) = (mark(&log, "a"), mark(&log, "b"));
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--warmup",
        "1",
        "--setup",
        &setup,
        "--prepare",
        &prep_a,
        "--prepare",
        &prep_b,
        "--conclude",
        &conclude,
        "--cleanup",
        &cleanup,
        &a,
        &b,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut expected = Vec::new();
    for (prep, run) in [("prep-a", "a"), ("prep-b", "b")] {
        expected.push("setup");
        for _ in 0..3 {
            expected.extend([prep, run, "conclude"]);
        }
        expected.push("cleanup");
    }
    assert_eq!(marks(&log), expected);
}

#[test]
fn short_hook_flags_are_hyperfines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hook = |m: &str| format!("echo {m} >> {}", log.display());
    let (s, p, c, cl) = (hook("s"), hook("p"), hook("C"), hook("c"));
    let out = perfhub(&[
        "run", "-r", "1", "-s", &s, "-p", &p, "-C", &c, "-c", &cl, "-N", "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(marks(&log), ["s", "p", "C", "c"]);
}

#[test]
fn a_hook_given_a_wrong_number_of_times_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let prep = format!("echo p >> {}", log.display());
    let out = perfhub(&[
        "run",
        "--runs",
        "1",
        "--prepare",
        &prep,
        "--prepare",
        &prep,
        "--prepare",
        &prep,
        "true",
        "false",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "--prepare is given 3 times for 2 commands: give it once for all of them, or once per command in order"
        ),
        "{err}"
    );
    assert!(marks(&log).is_empty(), "nothing ran");
    // A failing hook names itself and the fix.
    let out = perfhub(&["run", "--runs", "1", "--conclude", "exit 3", "true"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the conclude command \"exit 3\" failed with exit code 3")
            && err.contains("|| true"),
        "{err}"
    );
}

#[test]
fn the_reference_is_run_first_and_compared_with() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let md = dir.path().join("t.md");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--reference",
        "sleep 0.05",
        "--reference-name",
        "base",
        "--export-json",
        json.to_str().unwrap(),
        "--export-markdown",
        md.to_str().unwrap(),
        "sleep 0.2",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Benchmark 1: base"), "{text}");
    assert!(text.contains("base ran"), "{text}");
    // `true` takes a millisecond or so, `sleep 0.2` at least 200 ms: on
    // either side of a 50 ms sleep on any machine.
    assert!(text.contains("times slower than true"), "{text}");
    assert!(text.contains("times faster than sleep 0.2"), "{text}");
    let report = read_report(&json);
    assert_eq!(report.benchmarks[0].name, "base");
    assert_eq!(report.comparisons.len(), 2);
    assert!(report.comparisons.iter().all(|c| c.reference == "base"));
    let table = std::fs::read_to_string(&md).unwrap();
    let base_row = table.lines().find(|l| l.starts_with("| `base` |")).unwrap();
    assert!(base_row.ends_with("| 1.00 |"), "{table}");
}

#[test]
fn sort_orders_the_summary_and_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("t.md");
    let run = |sort: &str| {
        let out = perfhub(&[
            "run",
            "--runs",
            "2",
            "--sort",
            sort,
            "--export-markdown",
            md.to_str().unwrap(),
            "sleep 0.05",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let table = std::fs::read_to_string(&md).unwrap();
        let rows: Vec<String> = table
            .lines()
            .skip(2)
            .map(|l| l.split(" | ").next().unwrap().to_string())
            .collect();
        (stdout(&out), rows)
    };
    let (text, rows) = run("auto");
    assert!(text.contains("Summary\n  true ran"), "{text}");
    assert_eq!(rows, ["| `sleep 0.05`", "| `true`"]);
    let (text, rows) = run("mean-time");
    assert!(text.contains("Summary\n  true ran"), "{text}");
    assert_eq!(rows, ["| `true`", "| `sleep 0.05`"]);
    let (text, rows) = run("command");
    let summary: Vec<&str> = text
        .split("Relative speed comparison\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"))
        .lines()
        .take(2)
        .collect();
    assert!(summary[0].ends_with("  sleep 0.05"), "{text}");
    assert!(
        summary[1].trim_start().starts_with("1.00") && summary[1].ends_with("  true"),
        "{text}"
    );
    assert_eq!(rows, ["| `sleep 0.05`", "| `true`"]);
    let out = perfhub(&["run", "--sort", "fastest", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mean-time"), "{}", stderr(&out));
}

#[test]
fn time_unit_sets_the_unit_of_the_summary_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("t.md");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "-u",
        "microsecond",
        "--export-markdown",
        md.to_str().unwrap(),
        "sleep 0.01",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let time = text
        .lines()
        .find(|l| l.contains("Time (mean ± σ)"))
        .unwrap();
    // 10 ms and more, in µs with one decimal: five digits before the point.
    assert!(
        time.contains(" µs ± ") && time.matches(" µs").count() == 4,
        "{time}"
    );
    let mean: f64 = time
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    assert!(mean >= 10_000.0, "{time}");
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(
        table.starts_with("| Command | Mean [µs] | Min [µs] | Max [µs] |"),
        "{table}"
    );

    let out = perfhub(&["run", "--runs", "2", "--time-unit", "second", "sleep 0.01"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let time = text
        .lines()
        .find(|l| l.contains("Time (mean ± σ)"))
        .unwrap();
    assert!(time.contains("0.0") && time.contains(" s ± "), "{time}");
    let out = perfhub(&["run", "--time-unit", "minute", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("millisecond"), "{}", stderr(&out));
}

#[test]
fn style_controls_color_and_output() {
    let run = |style: &str| {
        let out = perfhub(&["run", "--runs", "2", "--style", style, "true"]);
        assert_eq!(out.status.code(), Some(0), "{style}: {}", stderr(&out));
        stdout(&out)
    };
    assert!(run("none").is_empty());
    // Colors even into a pipe and with NO_COLOR set: asked for explicitly.
    for style in ["color", "full"] {
        let text = run(style);
        assert!(text.contains("\x1b[1mBenchmark 1:"), "{style}: {text}");
    }
    for style in ["basic", "nocolor", "auto"] {
        let text = run(style);
        assert!(
            text.contains("Benchmark 1: true") && !text.contains('\x1b'),
            "{style}: {text}"
        );
    }
}

#[test]
fn show_output_passes_the_commands_output_through() {
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--show-output",
        "--",
        "echo",
        "hello-from-child",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let shown = |t: &str| t.lines().filter(|l| *l == "hello-from-child").count();
    assert_eq!(shown(&text), 2, "{text}");
    // Without it, nothing of the child's shows.
    let out = perfhub(&["run", "--runs", "2", "--", "echo", "hello-from-child"]);
    assert_eq!(shown(&stdout(&out)), 0, "{}", stdout(&out));
    let out = perfhub(&["run", "--show-output", "--output", "null", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn output_pipe_drains_what_the_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // 4 MB: far more than a pipe holds, so it must be read as it comes.
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--output=pipe",
        "--input",
        "null",
        "--export-json",
        json.to_str().unwrap(),
        "--",
        "head",
        "-c",
        "4000000",
        "/dev/zero",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains('\0'));
    let report = read_report(&json);
    let written = report.benchmarks[0].measurement("write_bytes").unwrap();
    assert!(
        written.samples.iter().all(|&w| w >= 4e6),
        "{:?}",
        written.samples
    );
}

#[test]
fn no_shell_is_the_default_and_shells_take_hyperfines_spelling() {
    let out = perfhub(&["run", "--runs", "2", "-N", "echo x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = perfhub(&["run", "--runs", "2", "--shell=none", "echo x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = perfhub(&["run", "-N", "--shell=sh", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // hyperfine's `-S SHELL` and `--shell SHELL`, and a shell with options.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    for shell in [&["-S", "sh"][..], &["--shell", "sh"], &["--shell=sh -e"]] {
        let mut args = vec![
            "run",
            "--runs",
            "2",
            "--export-json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(shell);
        args.push("seq 3 | sort");
        let out = perfhub(&args);
        assert_eq!(out.status.code(), Some(0), "{shell:?}: {}", stderr(&out));
        let report = read_report(&json);
        assert_eq!(report.benchmarks[0].name, "seq 3 | sort", "{shell:?}");
        assert!(report.notes.iter().any(|n| n.code == "shell_correction"));
    }
    // A glob without a shell would reach the program as a literal `*`.
    let out = perfhub(&["run", "--runs", "1", "grep -R TODO *"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("(\"*\"); add --shell"), "{err}");
    // Asked for no shell by name (hyperfine's -N, --shell=none), the words
    // go to the program as they are: `echo` prints the `|`.
    for no_shell in ["-N", "--shell=none"] {
        let out = perfhub(&[
            "run",
            "--runs",
            "1",
            "--show-output",
            no_shell,
            "echo a | cat",
        ]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{no_shell}: {}", stderr(&out));
        assert!(text.contains("a | cat"), "{no_shell}: {text}");
    }
}

#[test]
fn asciidoc_and_orgmode_exports_have_hyperfines_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (adoc, org) = (dir.path().join("t.adoc"), dir.path().join("t.org"));
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--export-asciidoc",
        adoc.to_str().unwrap(),
        "--export-orgmode",
        org.to_str().unwrap(),
        "sleep 0.02",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let a = std::fs::read_to_string(&adoc).unwrap();
    assert!(
        a.starts_with("[cols=\"<,>,>,>,>\"]\n|===\n| Command \n| Mean [ms] \n| Min [ms] \n| Max [ms] \n| Relative \n\n| `sleep 0.02` \n| "),
        "{a}"
    );
    assert!(
        a.contains("\n| `true` \n| ") && a.ends_with("| 1.00 \n|===\n"),
        "{a}"
    );
    let o = std::fs::read_to_string(&org).unwrap();
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(lines.len(), 4, "{o}");
    assert_eq!(
        lines[0],
        "| Command  |  Mean [ms] |  Min [ms] |  Max [ms] |  Relative |"
    );
    assert_eq!(lines[1], "|--+--+--+--+--|");
    assert!(lines[2].starts_with("| =sleep 0.02=  |  "), "{o}");
    assert!(
        lines[3].starts_with("| =true=  |  ") && lines[3].ends_with("|  1.00 |"),
        "{o}"
    );
    // Refused before measuring, like every export.
    let out = perfhub(&[
        "run",
        "--export-orgmode",
        "/nonexistent-dir/t.org",
        "sleep 5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent-dir"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hyperfine_parameter_scans_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let names = |args: &[&str]| {
        let mut all = vec![
            "run",
            "--runs",
            "1",
            "--export-json",
            json.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let out = perfhub(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        read_report(&json)
            .benchmarks
            .iter()
            .map(|b| b.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&["-P", "n", "1", "3", "true {n}"]),
        ["true 1", "true 2", "true 3"]
    );
    assert_eq!(
        names(&[
            "--parameter-scan",
            "d",
            "0.01",
            "0.03",
            "-D",
            "0.01",
            "sleep {d}"
        ]),
        ["sleep 0.01", "sleep 0.02", "sleep 0.03"]
    );
    // The first list varies fastest, as in hyperfine; `\,` is a comma.
    assert_eq!(
        names(&[
            "-L",
            "a",
            "x,y",
            "--parameter-list",
            "b",
            "1\\,5,2",
            "echo {a}{b}"
        ]),
        ["echo x1,5", "echo y1,5", "echo x2", "echo y2"]
    );
    // perfhub's own spelling still works beside them.
    assert_eq!(names(&["-P", "n=1,2", "true {n}"]), ["true 1", "true 2"]);
    // Names: per command, or one per benchmark as hyperfine counts them.
    assert_eq!(
        names(&[
            "-L",
            "n",
            "1,2",
            "--command-name",
            "one",
            "--command-name",
            "two",
            "true {n}"
        ]),
        ["one", "two"]
    );
    let out = perfhub(&["run", "--parameter-scan", "d", "0.1", "0.3", "sleep {d}"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("-D/--parameter-step-size"), "{err}");
    let out = perfhub(&["run", "-D", "2", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn hyperfines_readme_examples_run_with_the_same_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--export-json", json.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = perfhub(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        read_report(&json)
    };
    // Scaled down (fewer runs, shorter sleeps) to keep the suite fast.
    let r = run(&["--runs", "2", "sleep 0.03"]);
    assert_eq!(r.benchmarks[0].primary().unwrap().samples.len(), 2);
    let r = run(&[
        "--runs",
        "2",
        "--warmup",
        "1",
        "cat Cargo.toml",
        "wc Cargo.toml",
    ]);
    assert_eq!(r.benchmarks.len(), 2);
    let r = run(&[
        "--runs",
        "1",
        "--prepare",
        "sync; true",
        "--parameter-scan",
        "num_threads",
        "1",
        "3",
        "echo -j {num_threads}",
    ]);
    assert_eq!(r.benchmarks.len(), 3);
    let r = run(&[
        "--runs",
        "1",
        "--parameter-scan",
        "delay",
        "0.01",
        "0.03",
        "-D",
        "0.01",
        "sleep {delay}",
    ]);
    assert_eq!(r.benchmarks[2].name, "sleep 0.03");
    let r = run(&[
        "--runs",
        "1",
        "-L",
        "compiler",
        "echo,true",
        "{compiler} -O2 main.cpp",
    ]);
    assert_eq!(r.benchmarks[1].name, "true -O2 main.cpp");
    let r = run(&[
        "--runs",
        "1",
        "--shell",
        "sh",
        "for i in 1 2 3; do echo test; done",
    ]);
    assert!(r.notes.iter().any(|n| n.code == "shell_correction"));
    let r = run(&[
        "--runs",
        "1",
        "-N",
        "grep -c TODO Cargo.toml",
        "--ignore-failure",
    ]);
    assert_eq!(r.benchmarks.len(), 1);
    let r = run(&[
        "--runs",
        "1",
        "--shell=sh",
        "my_function() { true; }; my_function",
    ]);
    assert_eq!(r.benchmarks[0].exit_codes, [Some(0)]);
}

#[test]
fn command_name_and_min_benchmarking_time_are_hyperfines_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = perfhub(&[
        "run",
        "-m",
        "2",
        "-M",
        "3",
        "--min-benchmarking-time",
        "0.05",
        "--command-name",
        "nap",
        "--export-json",
        json.to_str().unwrap(),
        "sleep 0.02",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_report(&json);
    assert_eq!(report.benchmarks[0].name, "nap");
    // 50 ms of 20 ms runs: 3, or 2 on a slow machine; never the default 10.
    let n = report.benchmarks[0].primary().unwrap().samples.len();
    assert!((2..=3).contains(&n), "{n}");

    // hyperfine's exports name a benchmark by its given name, and by its
    // command when none was given, even when the command is listed twice.
    let hjson = dir.path().join("h.json");
    let csv = dir.path().join("h.csv");
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--command-name",
        "first",
        "--export-hyperfine-json",
        hjson.to_str().unwrap(),
        "--export-csv",
        csv.to_str().unwrap(),
        "true",
        "true",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&hjson).unwrap()).unwrap();
    let commands: Vec<&str> = h["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["first", "true", "true"]);
    let csv = std::fs::read_to_string(&csv).unwrap();
    let column: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(column, ["first", "true", "true"], "{csv}");
}

#[test]
fn setup_can_build_the_program_it_benchmarks() {
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("built");
    let build = format!(
        "printf '#!/bin/sh\\nexit 0\\n' > {0} && chmod +x {0}",
        prog.display()
    );
    let out = perfhub(&[
        "run",
        "--runs",
        "2",
        "--setup",
        &build,
        prog.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 runs"), "{}", stdout(&out));
}
