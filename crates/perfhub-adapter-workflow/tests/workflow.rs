//! The task exports against real perfhub reports (tests/fixtures, made with
//! the CLI; see tests/fixtures/README.md) and the real consumers: Python's
//! `icalendar` parses the VTODOs and Taskwarrior imports the JSON.
//!
//! The consumers come from `scripts/ci-validators.sh`, which prints the
//! variables these tests read (`PERFHUB_TEST_PYTHON`, `PERFHUB_TEST_TASK`).
//! `cargo xtask ci` runs it. Without them the tests that need them fail.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use perfhub_adapter_workflow::{
    Error, TaskKind, TaskOptions, ical::MAX_LINE_OCTETS, ical_todos, task_uuid, tasks,
    taskwarrior_json, todo_txt, weekly_review,
};
use perfhub_core::Report;
use serde_json::Value;

fn fixture(name: &str) -> Report {
    let path = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    Report::from_json(&text).unwrap()
}

/// The run with a breached `mean < 1ms`, the load test with a breached
/// `p95 < 1us`, and a comparison with two regressions.
fn fixtures() -> Vec<Report> {
    vec![
        fixture("run-budget.json"),
        fixture("load-budget.json"),
        fixture("compare-regressed.json"),
    ]
}

/// The path of a validator from its variable; the test fails without it.
fn validator(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "{var} is not set: run the suite with `cargo xtask ci`, which installs the \
             validators, or `eval \"$(scripts/ci-validators.sh)\"` (as root, on Debian 12)"
        ),
    }
}

fn python(py: &Path, script: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Parses an iCalendar file with `icalendar` and returns its VTODOs as
/// JSON objects of their decoded properties.
fn parse_ical(py: &Path, path: &Path) -> Vec<Value> {
    const SCRIPT: &str = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(open(sys.argv[1], 'rb').read())
assert cal.name == 'VCALENDAR', cal.name
assert str(cal['VERSION']) == '2.0'
assert str(cal['PRODID']).startswith('-//perfhub//')
todos = []
for c in cal.walk('VTODO'):
    cats = c.get('CATEGORIES')
    cats = cats if isinstance(cats, list) else [cats]
    todos.append({
        'uid': str(c['UID']),
        'summary': str(c['SUMMARY']),
        'description': str(c['DESCRIPTION']),
        'priority': int(c['PRIORITY']),
        'status': str(c['STATUS']),
        'dtstamp': c.decoded('DTSTAMP').strftime('%Y%m%dT%H%M%SZ'),
        'tz': str(c.decoded('DTSTAMP').tzinfo),
        'categories': [str(x) for cl in cats for x in cl.cats],
    })
print(json.dumps(todos))
"#;
    let out = python(py, SCRIPT, &[path.to_str().unwrap()]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn icalendar_parses_every_vtodo_as_written() {
    let py = validator("PERFHUB_TEST_PYTHON");
    let reports = fixtures();
    let options = TaskOptions {
        tags: vec!["ci, nightly".to_string()],
        ..TaskOptions::default()
    };
    let expected = tasks(&reports, &options).unwrap();
    // One breached budget in each of the first two, two regressions.
    assert_eq!(expected.len(), 4, "{expected:#?}");
    let ics = ical_todos(&reports, &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("perf.ics");
    std::fs::write(&path, &ics).unwrap();
    let todos = parse_ical(&py, &path);
    assert_eq!(todos.len(), expected.len());
    for (todo, task) in todos.iter().zip(&expected) {
        assert_eq!(todo["uid"], task.uuid.as_str());
        assert_eq!(todo["summary"], task.summary.as_str());
        assert_eq!(todo["description"], task.details.join("\n").as_str());
        assert_eq!(todo["priority"], u64::from(task.priority.ical()));
        assert_eq!(todo["status"], "NEEDS-ACTION");
        assert_eq!(todo["tz"], "UTC");
        assert_eq!(todo["dtstamp"], task.created_basic().as_str());
        assert_eq!(
            todo["categories"],
            serde_json::json!(["perfhub", task.kind.as_str(), "ci, nightly"])
        );
    }
    // The numbers and the score reach the text.
    let find = |prefix: &str| {
        todos
            .iter()
            .find(|t| t["summary"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no VTODO {prefix:?} in {todos:#?}"))
    };
    let budget = find("Budget breached on sleep 0.01");
    assert!(
        budget["summary"]
            .as_str()
            .unwrap()
            .starts_with("Budget breached on sleep 0.01: mean < 1ms (wall_time mean was "),
        "{budget}"
    );
    let description = budget["description"].as_str().unwrap();
    assert!(description.contains("Command: sleep 0.01"), "{description}");
    assert!(description.contains("Performance Score: "), "{description}");
    assert!(
        description.contains("Commit: f5d6a41355e9e91f560143aad61ff2212eccdbdc"),
        "{description}"
    );
    let regression = find("Regression in sleep 0.01");
    assert!(
        regression["summary"]
            .as_str()
            .unwrap()
            .starts_with("Regression in sleep 0.01: wall_time up 88.7% ("),
        "{regression}"
    );
}

/// A report with one breached budget on a benchmark called `name`.
fn breach(name: &str, created: &str, actual: f64, commit: Option<&str>) -> Report {
    let mut r = fixture("run-budget.json");
    r.created = created.parse().unwrap();
    r.benchmarks[0].name = name.to_string();
    r.benchmarks[0].command = Some(format!("./bench --name '{name}'"));
    r.budgets.retain(|v| !v.passed);
    r.budgets[0].benchmark = name.to_string();
    r.budgets[0].actual = actual;
    if let Some(env) = r.environment.as_mut() {
        env.git_commit = commit.map(str::to_string);
    }
    r
}

#[test]
fn long_utf8_names_fold_at_75_octets_and_round_trip() {
    // Three- and four-octet characters, and the four characters TEXT escapes.
    let name = "ベンチマーク🚀 ünïcødé \\ back; semi, comma\nnewline ".repeat(4);
    let reports = [breach(&name, "2026-01-06T10:00:00Z", 0.5, Some("abc"))];
    let ics = ical_todos(&reports, &TaskOptions::default()).unwrap();
    let bytes = ics.as_bytes();
    assert!(bytes.ends_with(b"END:VCALENDAR\r\n"));
    // Every line ends in CRLF, no bare LF or CR anywhere.
    let physical: Vec<&[u8]> = ics
        .strip_suffix("\r\n")
        .unwrap()
        .split("\r\n")
        .map(str::as_bytes)
        .collect();
    assert!(
        physical
            .iter()
            .all(|l| !l.contains(&b'\r') && !l.contains(&b'\n'))
    );
    let mut folds = 0;
    for (i, line) in physical.iter().enumerate() {
        // Never a split UTF-8 sequence: each physical line decodes alone.
        let text = std::str::from_utf8(line).expect("a fold split a UTF-8 sequence");
        assert!(
            line.len() <= MAX_LINE_OCTETS,
            "{} octets: {text}",
            line.len()
        );
        // Exactly greedy: a line is folded only when the next character
        // would not fit.
        if let Some(next) = physical.get(i + 1).filter(|n| n.starts_with(b" ")) {
            folds += 1;
            let next_char = std::str::from_utf8(&next[1..])
                .unwrap()
                .chars()
                .next()
                .unwrap();
            assert!(
                line.len() + next_char.len_utf8() > MAX_LINE_OCTETS,
                "line {i} folded early at {} octets",
                line.len()
            );
        }
    }
    assert!(folds >= 10, "{folds} folds");
    // Unfolded, the SUMMARY carries the escaped name.
    let unfolded = ics.replace("\r\n ", "");
    let summary = unfolded
        .lines()
        .find(|l| l.starts_with("SUMMARY:"))
        .unwrap();
    let escaped = name
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n");
    assert!(
        summary.starts_with(&format!("SUMMARY:Budget breached on {escaped}: mean < 1ms")),
        "{summary}"
    );

    // And a real parser reads the name back as it was.
    let py = validator("PERFHUB_TEST_PYTHON");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.ics");
    std::fs::write(&path, &ics).unwrap();
    let todos = parse_ical(&py, &path);
    assert_eq!(todos.len(), 1);
    let summary = todos[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("Budget breached on {name}: mean < 1ms")),
        "{summary}"
    );
    assert!(
        todos[0]["description"]
            .as_str()
            .unwrap()
            .contains(&format!("Command: ./bench --name '{name}'"))
    );
}

#[test]
fn uids_are_stable_across_exports_and_change_with_the_commit() {
    let reports = fixtures();
    let options = TaskOptions::default();
    // Byte for byte the same export twice.
    assert_eq!(
        ical_todos(&reports, &options).unwrap(),
        ical_todos(&reports, &options).unwrap()
    );
    assert_eq!(
        taskwarrior_json(&reports, &options).unwrap(),
        taskwarrior_json(&reports, &options).unwrap()
    );
    let first = tasks(&reports, &options).unwrap();
    let uuids: HashSet<&str> = first.iter().map(|t| t.uuid.as_str()).collect();
    assert_eq!(uuids.len(), first.len(), "task UUIDs collide");
    for t in &first {
        // A name-based (version 5) RFC 4122 UUID.
        let u = t.uuid.as_bytes();
        assert_eq!(t.uuid.len(), 36);
        assert_eq!(u[14], b'5', "{}", t.uuid);
        assert!(matches!(u[19], b'8' | b'9' | b'a' | b'b'), "{}", t.uuid);
        assert_eq!(
            t.uuid,
            task_uuid(
                t.kind,
                &t.benchmark,
                &t.metric,
                &t.statistic,
                t.commit.as_deref().unwrap_or("")
            )
        );
    }

    // A later run on the same commit with other numbers: same task.
    let a = breach("fib", "2026-01-05T08:00:00Z", 0.01, Some("c1"));
    let b = breach("fib", "2026-01-07T08:00:00Z", 0.02, Some("c1"));
    let ta = tasks(std::slice::from_ref(&a), &options).unwrap();
    let tb = tasks(std::slice::from_ref(&b), &options).unwrap();
    assert_eq!(ta[0].uuid, tb[0].uuid);
    assert_ne!(ta[0].summary, tb[0].summary);
    // Both in one export: once, with the latest numbers, whatever the order.
    let both = tasks(&[b.clone(), a.clone()], &options).unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].summary, tb[0].summary);
    // Another commit is another task; so is an override.
    let c = breach("fib", "2026-01-07T08:00:00Z", 0.02, Some("c2"));
    assert_ne!(tasks(&[c], &options).unwrap()[0].uuid, ta[0].uuid);
    let pinned = TaskOptions {
        commit: Some("release-1".into()),
        ..TaskOptions::default()
    };
    assert_ne!(tasks(&[a], &pinned).unwrap()[0].uuid, ta[0].uuid);
    assert_eq!(
        ta[0].uuid,
        task_uuid(TaskKind::Budget, "fib", "wall_time", "mean", "c1")
    );
}

/// Runs `task` with its own data directory and rc file.
struct Taskwarrior {
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Taskwarrior {
    fn new(bin: PathBuf) -> Self {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(
            home.path().join("taskrc"),
            format!("data.location={}\nconfirmation=off\n", data.display()),
        )
        .unwrap();
        Taskwarrior { bin, home }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .env("TASKRC", self.home.path().join("taskrc"))
            .env("TASKDATA", self.home.path().join("data"))
            .args(["rc.confirmation=off", "rc.hooks=off", "rc.verbose=nothing"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "task {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn import(&self, json: &str) {
        let path = self.home.path().join("import.json");
        std::fs::write(&path, json).unwrap();
        self.run(&["import", path.to_str().unwrap()]);
    }

    fn export(&self) -> Vec<Value> {
        serde_json::from_str(&self.run(&["rc.json.array=on", "export"])).unwrap()
    }
}

#[test]
fn taskwarrior_imports_twice_without_duplicates_and_updates_in_place() {
    let bin = validator("PERFHUB_TEST_TASK");
    let tw = Taskwarrior::new(bin);
    let reports = fixtures();
    let options = TaskOptions {
        project: "perf hub".to_string(),
        tags: vec!["nightly".to_string()],
        ..TaskOptions::default()
    };
    let expected = tasks(&reports, &options).unwrap();
    let json = taskwarrior_json(&reports, &options).unwrap();
    tw.import(&json);
    tw.import(&json);
    let stored = tw.export();
    assert_eq!(stored.len(), expected.len(), "{stored:#?}");
    let by_uuid: HashMap<&str, &Value> = stored
        .iter()
        .map(|t| (t["uuid"].as_str().unwrap(), t))
        .collect();
    for t in &expected {
        let s = by_uuid[t.uuid.as_str()];
        assert_eq!(s["description"], t.summary.as_str());
        assert_eq!(s["status"], "pending");
        assert_eq!(s["project"], "perf_hub");
        assert_eq!(s["priority"], t.priority.taskwarrior());
        assert_eq!(s["entry"], t.created_basic().as_str());
        let mut tags: Vec<&str> = s["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        tags.sort_unstable();
        let mut want = vec!["perfhub", t.kind.as_str(), "nightly"];
        want.sort_unstable();
        assert_eq!(tags, want);
        let notes: Vec<&str> = s["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["description"].as_str().unwrap())
            .collect();
        assert_eq!(
            notes,
            t.details.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    // A new run on the same commit breaches the same budget by more: the
    // import modifies the task rather than adding one.
    let mut later = reports[0].clone();
    later.created = "2026-12-01T09:30:00Z".parse().unwrap();
    let v = later.budgets.iter_mut().find(|v| !v.passed).unwrap();
    v.actual = 0.25;
    let updated = tasks(std::slice::from_ref(&later), &options).unwrap();
    assert!(
        updated[0].summary.contains("250 ms"),
        "{}",
        updated[0].summary
    );
    tw.import(&taskwarrior_json(&[later], &options).unwrap());
    let stored = tw.export();
    assert_eq!(stored.len(), expected.len());
    let task = stored
        .iter()
        .find(|t| t["uuid"] == updated[0].uuid.as_str())
        .unwrap();
    assert_eq!(task["description"], updated[0].summary.as_str());
    assert_eq!(
        task["tags"].as_array().unwrap().len(),
        3,
        "tags are replaced, not added to: {task}"
    );
}

#[test]
fn todo_txt_lines_carry_priority_date_project_context_and_id() {
    let mut reports = fixtures();
    reports.push(breach(
        "+fast @home GET http://x/ a:b",
        "2026-02-03T23:59:59-05:00",
        0.002,
        None,
    ));
    let options = TaskOptions::default();
    let expected = tasks(&reports, &options).unwrap();
    let text = todo_txt(&reports, &options).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len());
    for (line, task) in lines.iter().zip(&expected) {
        let words: Vec<&str> = line.split(' ').collect();
        // `(A) YYYY-MM-DD description`
        let priority = format!("({})", task.priority.todo_txt());
        assert_eq!(words[0], priority, "{line}");
        assert_eq!(words[1], task.created_date(), "{line}");
        assert_eq!(words[1].len(), 10);
        // Exactly one project and one context, ours.
        let projects: Vec<&&str> = words.iter().filter(|w| w.starts_with('+')).collect();
        let contexts: Vec<&&str> = words.iter().filter(|w| w.starts_with('@')).collect();
        assert_eq!(projects, [&"+perfhub"], "{line}");
        assert_eq!(contexts, [&"@performance"], "{line}");
        // key:value pairs, as todo.txt parsers find them: a word with a
        // colon between two non-empty parts.
        let pairs: Vec<(&str, &str)> = words
            .iter()
            .filter_map(|w| w.split_once(':'))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        assert_eq!(map.len(), pairs.len(), "repeated keys in {line}");
        assert_eq!(map["id"], task.uuid, "{line}");
        assert_eq!(map["kind"], task.kind.as_str());
        assert!(keys.starts_with(&["id", "kind", "metric"]), "{line}");
        match task.kind {
            TaskKind::Budget => assert_eq!(map["stat"], task.statistic),
            TaskKind::Regression => assert!(!map.contains_key("stat")),
        }
        if let Some(s) = task.score {
            assert_eq!(map["score"], format!("{s:.1}"));
        }
    }
    // Offsets count: 23:59:59-05:00 is the next day in UTC; the odd name
    // is encoded so it adds no project, context or key.
    let odd = lines.iter().find(|l| l.contains("%2Bfast")).unwrap();
    assert!(
        odd.starts_with(
            "(A) 2026-02-04 Budget breached on %2Bfast %40home GET http%3A//x/ a%3Ab: mean < 1ms"
        ),
        "{odd}"
    );
    assert!(!odd.contains("commit:"), "{odd}");
}

/// A week of the run fixture: budgets breached on Monday and Wednesday,
/// held on Friday, with the time falling; the comparison on Thursday.
fn week() -> Vec<Report> {
    let mut week = Vec::new();
    for (day, scale) in [(5, 1.0), (7, 0.9), (9, 0.06)] {
        let mut r = fixture("run-budget.json");
        r.created = format!("2026-01-{day:02}T08:00:00Z").parse().unwrap();
        r.benchmarks[0].name = "sleep | *10ms*".to_string();
        for m in &mut r.benchmarks[0].measurements {
            if m.metric == "wall_time" {
                m.samples.iter_mut().for_each(|s| *s *= scale);
                m.summary = perfhub_core::Summary::of(&m.samples);
            }
        }
        for v in &mut r.budgets {
            v.benchmark = "sleep | *10ms*".to_string();
            if v.metric == "wall_time" {
                v.actual *= scale;
                v.passed = v.actual < v.threshold;
            }
        }
        week.push(r);
    }
    let mut compare = fixture("compare-regressed.json");
    compare.created = "2026-01-08T12:00:00Z".parse().unwrap();
    week.push(compare);
    week
}

#[test]
fn weekly_review_lists_tasks_budgets_trends_and_the_score() {
    let reports = week();
    // Input order does not matter.
    let mut shuffled = reports.clone();
    shuffled.reverse();
    let md = weekly_review(&shuffled).unwrap();
    assert_eq!(md, weekly_review(&reports).unwrap());

    assert!(
        md.starts_with("# Performance review: week 2026-W02\n"),
        "{md}"
    );
    assert!(md.contains("Week of Monday 2026-01-05 to Sunday 2026-01-11: 4 reports"));

    // The task list: the two breaches (Monday's and Wednesday's on one
    // commit are one task, with Wednesday's numbers) and two regressions.
    let expected = tasks(&reports, &TaskOptions::default()).unwrap();
    assert_eq!(expected.len(), 3, "{expected:#?}");
    let items: Vec<&str> = md.lines().filter(|l| l.starts_with("- [ ] ")).collect();
    assert_eq!(items.len(), expected.len(), "{md}");
    for (item, task) in items.iter().zip(&expected) {
        assert!(
            item.contains(&format!("id `{}`", &task.uuid[..8])),
            "{item}"
        );
    }
    assert!(
        items[0].starts_with("- [ ] Budget breached on sleep \\| \\*10ms\\*: mean \\< 1ms"),
        "{}",
        items[0]
    );
    assert!(items[0].contains("2026-01-07"), "{}", items[0]);

    // Budgets: the latest result and how often each held.
    let row = md
        .lines()
        .find(|l| l.starts_with("| sleep \\| \\*10ms\\* | mean \\< 1ms |"))
        .unwrap();
    assert!(row.contains("| ✅ held | 1 of 3 |"), "{row}");
    let rss = md
        .lines()
        .find(|l| l.contains("| max\\_rss \\< 64MiB |"))
        .unwrap();
    assert!(rss.ends_with("| ✅ held | 3 of 3 |"), "{rss}");

    // Trends: the first and last mean of the week and the change.
    let first = week()[0].benchmarks[0]
        .primary()
        .unwrap()
        .summary
        .clone()
        .unwrap()
        .mean;
    let trend = md
        .lines()
        .find(|l| l.starts_with("| sleep \\| \\*10ms\\* | wall\\_time |"))
        .unwrap();
    let cells: Vec<&str> = trend.split(" | ").collect();
    assert_eq!(cells[4], "-94.0%", "{trend}");
    assert_eq!(cells[5], "3 |", "{trend}");
    let seconds = perfhub_core::Unit::Seconds;
    assert_eq!(cells[2], seconds.format(first), "{trend}");
    let last = week()[2].benchmarks[0]
        .primary()
        .unwrap()
        .summary
        .clone()
        .unwrap()
        .mean;
    assert_eq!(cells[3], seconds.format(last), "{trend}");
    // Every table row has as many cells as its header: nothing broke one.
    for table in md.split("\n\n").filter(|b| b.starts_with('|')) {
        let widths: HashSet<usize> = table
            .lines()
            .map(|l| l.replace("\\|", "").matches('|').count())
            .collect();
        assert_eq!(widths.len(), 1, "{table}");
    }

    // The Performance Score, one row per report that has one.
    assert!(md.contains("\n## Performance Score\n"));
    assert!(md.contains("Performance Score: **"));
    let score = perfhub_core::score::performance_score(
        &reports[2],
        &perfhub_core::score::ScoreTargets::default(),
        None,
    )
    .unwrap();
    assert!(
        md.contains(&format!(
            "| 2026-01-09 08:00 UTC | run | {:.1} |",
            score.score
        )),
        "{md}"
    );
}

#[test]
fn bad_input_is_an_error_or_an_empty_export_never_a_panic() {
    // A report whose `created` is not a time is refused as it is read.
    let mut json = serde_json::to_value(fixture("run-budget.json")).unwrap();
    json["created"] = "yesterday".into();
    let err = Report::from_json(&json.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"yesterday\" is not an RFC 3339 timestamp"),
        "{err}"
    );
    assert!(matches!(weekly_review(&[]), Err(Error::NoReports)));

    // Nothing to do: valid, empty exports.
    let ics = ical_todos(&[], &TaskOptions::default()).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
    assert!(!ics.contains("VTODO"));
    assert_eq!(
        taskwarrior_json(&[], &TaskOptions::default()).unwrap(),
        "[]\n"
    );
    assert_eq!(todo_txt(&[], &TaskOptions::default()).unwrap(), "");

    // Non-finite numbers and a zero threshold still give text.
    let mut r = breach("nan", "2026-01-05T00:00:00Z", f64::NAN, None);
    r.budgets[0].threshold = 0.0;
    let t = tasks(&[r.clone()], &TaskOptions::default()).unwrap();
    assert_eq!(t[0].priority, perfhub_adapter_workflow::Priority::High);
    assert!(weekly_review(&[r]).unwrap().contains("- [ ] "));
}
