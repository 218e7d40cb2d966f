//! `perfhub check` and `perfhub init` end to end: the exit codes of a plan
//! whose budgets hold, one with a breach and one with a tool error, and
//! configuration errors that name the file, the line and the key.

use std::path::Path;
use std::process::{Command, Output};

use perfhub_core::report::{Report, ReportKind};

use crate::support::{perfhub_bin, spawn_announcing_url, stderr, stdout};

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
    // The seed's key figures, with limits no machine's speed decides: a
    // server that takes 1 ms cannot have a p95 of 10 s, nor use every core
    // for 200 requests a second. (The seed's own 200 ms p95 is a goal a
    // starved test process can miss: the demo plan holds it.)
    let plan = format!(
        "{PLAN_HEAD}budgets = [\"latency_p95 < 10s\", \"error_rate < 0.1%\", \"cpu_utilization < 100%\"]\n\n\
         [[run]]\nname = \"cmds\"\ncommands = [\"true\"]\nruns = 5\nbudgets = [\"mean < 10s\"]\n\n\
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
    // The budgets on the key figures.
    let kpi: Vec<&str> = r
        .budgets
        .iter()
        .filter(|v| v.benchmark == "kpi")
        .map(|v| v.budget.as_str())
        .collect();
    assert!(kpi.iter().any(|b| b.contains("latency_p95")), "{kpi:?}");
    assert!(kpi.iter().any(|b| b.contains("error_rate")), "{kpi:?}");
    // CPU: the built-in server's, read from /proc while the load test ran,
    // not the CPU use of the benchmarked command (which `cmds/true` has).
    let service = r.benchmark("api/service").expect("the server's CPU use");
    assert_eq!(service.primary_metric, "cpu_utilization");
    let cpu = service.measurement("cpu_utilization").unwrap();
    // Read every 100 ms through a test of at least a second.
    assert!(cpu.samples.len() >= 2, "{:?}", cpu.samples);
    assert!(cpu.samples.iter().all(|&c| c >= 0.0), "{:?}", cpu.samples);
    let score = r.performance_score.as_ref().expect("a score");
    assert!(score.score > 0.0 && score.score <= 100.0);
    let component = score.component("cpu_efficiency").unwrap();
    assert_eq!(component.benchmark, "api/service");
    let cpus = f64::from(r.environment.as_ref().unwrap().logical_cpus);
    let mean = cpu.samples.iter().sum::<f64>() / cpu.samples.len() as f64;
    let kpi_cpu = r
        .benchmark("kpi")
        .and_then(|b| b.measurement("cpu_utilization"))
        .and_then(|m| m.value)
        .expect("cpu_utilization among the key figures");
    assert!((kpi_cpu - mean / cpus).abs() < 1e-9, "{kpi_cpu} {mean}");
    assert!(
        r.budgets
            .iter()
            .any(|v| v.benchmark == "kpi" && v.budget.contains("cpu_utilization")),
        "{:?}",
        r.budgets
    );
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

/// A command's or a profiled program's CPU use is not the service's: a plan
/// with no service under load has no `cpu_utilization` key figure, and says
/// why its budget was not evaluated.
#[test]
fn cpu_utilization_is_not_taken_from_a_benchmarked_command() {
    let dir = tempfile::tempdir().unwrap();
    let plan = format!("{PLAN_HEAD}\n[[run]]\nname = \"cmds\"\ncommands = [\"true\"]\nruns = 3\n");
    let o = check(dir.path(), &plan, &["--no-history"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let r = report(dir.path());
    // The command has a CPU use of its own...
    assert!(
        r.benchmark("cmds/true")
            .unwrap()
            .measurement("cpu_utilization")
            .is_some()
    );
    // ...which is not the plan's key figure.
    assert!(
        r.benchmark("kpi")
            .and_then(|b| b.measurement("cpu_utilization"))
            .is_none(),
        "{:?}",
        r.benchmark("kpi")
    );
    assert!(
        !r.budgets
            .iter()
            .any(|v| v.budget.contains("cpu_utilization")),
        "{:?}",
        r.budgets
    );
    assert!(
        r.notes.iter().any(|n| n.code == "budget_not_applicable"
            && n.message.contains("cpu_utilization < 70%")
            && n.message.contains("service under load")),
        "{:?}",
        r.notes
    );
}

/// Processes started for a test, killed when it ends.
struct Killed(Vec<std::process::Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `pid_file` names the service's process: its CPU use over the load test
/// is the key figure. Here the "service" is a busy loop beside a server, so
/// the figure is known: about one core, or a share of one on a busy
/// machine, never more.
#[test]
fn a_services_pid_file_gives_the_cpu_figure() {
    let dir = tempfile::tempdir().unwrap();
    let (serve, url) =
        spawn_announcing_url(Command::new(perfhub_bin()).args(["serve", "--port", "0"]));
    let busy = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let busy_pid = busy.id();
    let _children = Killed(vec![serve, busy]);
    std::fs::write(dir.path().join("service.pid"), format!("{busy_pid}\n")).unwrap();
    let plan = format!(
        "{PLAN_HEAD}\n[[load]]\nname = \"api\"\nurl = \"{url}\"\nrate = 100\nduration = \"1s\"\npid_file = \"service.pid\"\n"
    );
    let o = check(dir.path(), &plan, &["--no-history"]);
    // A busy loop on a core of two or fewer machines' CPUs may breach
    // `cpu_utilization < 70%`: exit 0 or 3, both with a report.
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let r = report(dir.path());
    let service = r.benchmark("api/service").expect("the service's CPU use");
    assert!(
        service
            .command
            .as_deref()
            .unwrap_or("")
            .contains("service.pid"),
        "{:?}",
        service.command
    );
    let cpu = &service.measurement("cpu_utilization").unwrap().samples;
    let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
    // One thread: at most one core (with room for the 10 ms clock ticks
    // /proc counts in); at least a twentieth of one, which a busy loop gets
    // on any machine that runs the test at all.
    assert!((0.05..=1.2).contains(&mean), "{mean} cores: {cpu:?}");
    let cpus = f64::from(r.environment.as_ref().unwrap().logical_cpus);
    let verdict = r
        .budgets
        .iter()
        .find(|v| v.benchmark == "kpi" && v.budget.contains("cpu_utilization"))
        .expect("the cpu_utilization budget evaluated");
    assert!((verdict.actual - mean / cpus).abs() < 1e-9, "{verdict:?}");

    // A pid file that names no process is a configuration error, found
    // before anything runs.
    std::fs::write(dir.path().join("service.pid"), "4999999\n").unwrap();
    let o = check(dir.path(), &plan, &["--no-history"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("load[0].pid_file: no process with pid 4999999"),
        "{}",
        stderr(&o)
    );
}
