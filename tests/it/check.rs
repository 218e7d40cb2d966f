//! `perfhub check` and `perfhub init` end to end: the exit codes of a plan
//! whose budgets hold, one with a breach and one with a tool error, and
//! configuration errors that name the file, the line and the key.

use std::path::Path;
use std::process::{Command, Output};

use perfhub_core::report::{Report, ReportKind};

use crate::support::{perfhub_bin, stderr, stdout};

fn check(dir: &Path, plan: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("perfhub.toml"), plan).unwrap();
    Command::new(perfhub_bin())
        .arg("check")
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

fn report(dir: &Path) -> Report {
    let text = std::fs::read_to_string(dir.join("out/report.json")).unwrap();
    Report::from_json(&text).unwrap()
}

const PLAN_HEAD: &str = "[check]\noutput = \"out\"\nhistory = \".perfhub/h.db\"\n";

#[test]
fn a_plan_whose_budgets_hold_exits_0_with_the_report_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let plan = format!(
        "{PLAN_HEAD}\n[[run]]\nname = \"cmds\"\ncommands = [\"true\"]\nruns = 5\nbudgets = [\"mean < 10s\"]\n\n\
         [[load]]\nname = \"api\"\nserve = {{ latency = \"1ms\" }}\nrate = 200\nduration = \"1s\"\nconnections = 4\n"
    );
    let o = check(dir.path(), &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r = report(dir.path());
    assert_eq!(r.kind, ReportKind::Check);
    assert!(
        r.benchmark("cmds/true").is_some(),
        "{:?}",
        r.benchmarks.iter().map(|b| &b.name).collect::<Vec<_>>()
    );
    assert!(r.benchmark("api/total").is_some());
    // The seed's budgets on the key figures that exist: p95 and error rate.
    let kpi: Vec<&str> = r
        .budgets
        .iter()
        .filter(|v| v.benchmark == "kpi")
        .map(|v| v.budget.as_str())
        .collect();
    assert!(kpi.iter().any(|b| b.contains("latency_p95")), "{kpi:?}");
    assert!(kpi.iter().any(|b| b.contains("error_rate")), "{kpi:?}");
    let score = r.performance_score.as_ref().expect("a score");
    assert!(score.score > 0.0 && score.score <= 100.0);
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("cmds/true"));
    assert!(dir.path().join(".perfhub/h.db").exists());
    // A second check has the first as its baseline.
    let o = check(dir.path(), &plan, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!report(dir.path()).comparisons.is_empty());
}

#[test]
fn a_breached_budget_exits_3_and_still_writes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let plan = format!(
        "{PLAN_HEAD}\n[[run]]\nname = \"cmds\"\ncommands = [\"sleep 0.01\"]\nruns = 3\nbudgets = [\"mean < 1us\"]\n\n\
         [[export]]\nto = \"todotxt\"\npath = \"out/todo.txt\"\n"
    );
    let o = check(dir.path(), &plan, &["--no-history"]);
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    // The export ran on the combined report: the breach became a task.
    let todo = std::fs::read_to_string(dir.path().join("out/todo.txt")).unwrap();
    assert!(
        todo.contains("cmds/sleep 0.01") || todo.contains("cmds/sleep"),
        "{todo}"
    );
    assert!(stdout(&o).contains("FAIL"), "{}", stdout(&o));
    let r = report(dir.path());
    assert!(!r.budgets_pass());
    assert!(dir.path().join("out/report.html").exists());
}

#[test]
fn a_tool_error_exits_1_and_keeps_what_other_steps_measured() {
    let dir = tempfile::tempdir().unwrap();
    let plan = format!(
        "{PLAN_HEAD}\n[[run]]\nname = \"ok\"\ncommands = [\"true\"]\nruns = 3\n\n\
         [[run]]\nname = \"broken\"\ncommands = [\"/nonexistent/program\"]\nruns = 3\n"
    );
    let o = check(dir.path(), &plan, &["--no-history"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("broken"), "{}", stderr(&o));
    let r = report(dir.path());
    assert!(r.benchmark("ok/true").is_some());
}

#[test]
fn configuration_errors_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[run]]\nname = \"a\"\ncommands = [\"true\"]\nwarmpu = 3\n",
            "perfhub.toml:4:1: run[0].warmpu: unknown field `warmpu`",
        ),
        (
            "[[run]]\nname = \"a\"\ncommands = [\"true\"]\nwarmup = \"three\"\n",
            "perfhub.toml:4:10: run[0].warmup:",
        ),
        (
            "[[load]]\nname = \"api\"\nrate = 10\n",
            "perfhub.toml:2:8: load[0]: missing target",
        ),
        (
            // Port 9 (discard) is not listening on loopback here.
            "[[load]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n",
            "perfhub.toml:3:7: load[0].url: http://127.0.0.1:9/ does not answer",
        ),
        (
            "[[run]]\nname = \"a\"\ncommands = [\"true\"]\n\n[[export]]\nto = \"mlflow\"\nurl = \"http://127.0.0.1:9\"\n",
            "perfhub.toml:7:7: export[0].url: unreachable adapter: http://127.0.0.1:9 does not answer",
        ),
    ];
    for (plan, want) in cases {
        let o = check(dir.path(), plan, &[]);
        assert_eq!(o.status.code(), Some(1), "{plan}\n{}", stderr(&o));
        assert!(
            stderr(&o).contains(want),
            "{plan}\nwant {want:?} in:\n{}",
            stderr(&o)
        );
    }
    let plan = "[[criterion]]\nname = \"gate\"\nproject = \".\"\nmin_effect = \"lots\"\n";
    let o = check(dir.path(), plan, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("criterion[0].min_effect"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(perfhub_bin())
        .args(["check", "--config", "missing.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing.toml: no such file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_plan_in_another_directory_finds_its_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/perfhub.toml"),
        format!("{PLAN_HEAD}\n[[run]]\nname = \"cmds\"\ncommands = [\"true\"]\nruns = 3\n"),
    )
    .unwrap();
    let o = Command::new(perfhub_bin())
        .args(["check", "--no-history", "--config", "sub/perfhub.toml"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(dir.path().join("sub/out/report.json").exists());
    assert!(dir.path().join("sub/out/steps/cmds.json").exists());
}

#[test]
fn init_writes_a_plan_that_check_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(perfhub_bin())
        .args(["init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let again = Command::new(perfhub_bin())
        .args(["init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "no silent overwrite");
    assert!(stderr(&again).contains("--force"));
    let o = Command::new(perfhub_bin())
        .args(["check", "--only", "commands", "--no-history"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(dir.path().join("perfhub-report/report.html").exists());
}
