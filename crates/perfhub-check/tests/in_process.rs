//! Plans run in this process, through the library crates, with no `perfhub`
//! binary: the combined report, the key figures, the budgets' verdicts, the
//! history's baseline and the files written.

use std::path::Path;

use perfhub_check::{
    CheckError, CheckOptions, CheckStatus, InProcessRunner, NoProgress, Plan, PlanErrorKind,
    StepStatus, parse_plan, run_plan,
};

fn plan(dir: &Path, text: &str) -> Plan {
    parse_plan(text, "perfhub.toml", &dir.join("perfhub.toml")).unwrap()
}

#[test]
fn a_plan_runs_in_process_with_its_budgets_judged() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(
        dir.path(),
        r#"
[check]
output = "out"
history = ""
budgets = ["latency_p95 < 10s", "error_rate < 0.1%", "cpu_utilization < 100%"]

[[run]]
name = "fast"
commands = ["true"]
runs = 3
budgets = ["mean < 10s"]

[[run]]
name = "slow"
commands = ["sleep 0.01"]
runs = 3
budgets = ["mean < 1us"]

[[load]]
name = "api"
serve = { latency = "1ms" }
rate = 100
duration = "500ms"
connections = 2
"#,
    );
    let outcome = run_plan(
        &plan,
        &mut InProcessRunner::new(),
        &mut NoProgress,
        &CheckOptions::default(),
    )
    .unwrap();

    let steps: Vec<(&str, StepStatus)> = outcome
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status))
        .collect();
    assert_eq!(
        steps,
        [
            ("api", StepStatus::Passed),
            ("fast", StepStatus::Passed),
            ("slow", StepStatus::BudgetBreached)
        ]
    );
    assert!(outcome.failures().is_empty(), "{:?}", outcome.failures());
    assert_eq!(outcome.status(), CheckStatus::BudgetBreached);

    let r = &outcome.report;
    for name in ["fast/true", "slow/sleep 0.01", "api/total", "kpi"] {
        assert!(
            r.benchmark(name).is_some(),
            "{name} in {:?}",
            r.benchmarks.iter().map(|b| &b.name).collect::<Vec<_>>()
        );
    }
    // The steps' own budgets, renamed with their step.
    let verdict = |benchmark: &str, budget: &str| {
        r.budgets
            .iter()
            .find(|v| v.benchmark == benchmark && v.budget.contains(budget))
            .unwrap_or_else(|| panic!("{benchmark} {budget} in {:?}", r.budgets))
            .passed
    };
    assert!(verdict("fast/true", "mean"));
    assert!(!verdict("slow/sleep 0.01", "mean"));
    // The plan's budgets on the key figures of the load test.
    assert!(verdict("kpi", "latency_p95"));
    assert!(verdict("kpi", "error_rate"));
    // The built-in server runs in this process: its CPU use is not told
    // apart from the load generator's, which the report says, and the
    // budget on it is not evaluated.
    assert!(r.benchmark("api/service").is_none());
    assert!(
        r.notes
            .iter()
            .any(|n| n.code == "service_cpu_unavailable" && n.message.starts_with("api: ")),
        "{:?}",
        r.notes
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.code == "budget_not_applicable" && n.message.contains("cpu_utilization")),
        "{:?}",
        r.notes
    );
    let score = r.performance_score.as_ref().expect("a score");
    assert!(score.score > 0.0 && score.score <= 100.0);

    // The files: the steps' reports, report.json (the same report) and the page.
    let out = dir.path().join("out");
    assert_eq!(outcome.json, out.join("report.json"));
    for step in ["api", "fast", "slow"] {
        assert!(out.join(format!("steps/{step}.json")).is_file(), "{step}");
    }
    let written =
        perfhub_core::Report::from_json(&std::fs::read_to_string(&outcome.json).unwrap()).unwrap();
    assert_eq!(written.budgets.len(), r.budgets.len());
    let html = std::fs::read_to_string(&outcome.html).unwrap();
    assert!(html.contains("slow/sleep 0.01"));
}

#[test]
fn the_history_gives_the_next_check_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    // The history's file is relative to the plan's directory, wherever
    // the check runs from.
    let history = dir.path().join("h/history.db");
    let plan = plan(
        dir.path(),
        "[check]\noutput = \"out\"\nhistory = \"h/history.db\"\n\n\
         [[run]]\nname = \"cmds\"\ncommands = [\"true\"]\nruns = 3\n",
    );
    let run = || {
        run_plan(
            &plan,
            &mut InProcessRunner::new(),
            &mut NoProgress,
            &CheckOptions::default(),
        )
        .unwrap()
    };
    let first = run();
    assert_eq!(first.status(), CheckStatus::Passed);
    assert!(first.baseline.is_none());
    assert!(history.is_file());
    let second = run();
    let baseline = second.baseline.as_ref().expect("the first check");
    assert_eq!(baseline.created, first.report.created);
    assert!(
        second
            .report
            .comparisons
            .iter()
            .any(|c| c.benchmark == "cmds/true"),
        "{:?}",
        second.report.comparisons
    );
    // Without the history, no baseline.
    let third = run_plan(
        &plan,
        &mut InProcessRunner::new(),
        &mut NoProgress,
        &CheckOptions { history: false },
    )
    .unwrap();
    assert!(third.baseline.is_none() && third.report.comparisons.is_empty());
}

#[test]
fn a_target_that_does_not_answer_stops_the_check_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) is not listening on loopback here.
    let plan = plan(
        dir.path(),
        "[check]\noutput = \"out\"\nhistory = \"\"\n\n\
         [[load]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let e = run_plan(
        &plan,
        &mut InProcessRunner::new(),
        &mut NoProgress,
        &CheckOptions::default(),
    )
    .unwrap_err();
    let CheckError::Plan(e) = e else {
        panic!("{e}")
    };
    assert_eq!(e.kind, PlanErrorKind::Unreachable);
    assert!(
        e.to_string()
            .starts_with("perfhub.toml:7:7: load[0].url: http://127.0.0.1:9/ does not answer"),
        "{e}"
    );
    assert!(!dir.path().join("out").exists(), "nothing ran");
}
