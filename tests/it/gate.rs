//! `perfhub import`, `compare`, `ab` and `export` end to end: verdicts and
//! exit codes, the A/B gate on real git worktrees, GitHub Actions files.

use std::path::Path;
use std::process::{Command, Output};

use perfhub_core::report::Report;

use crate::support::{git, perfhub, perfhub_bin, root, stderr, stdout};

const REGRESSED: i32 = 5;

fn read(path: &Path) -> Report {
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A report of benchmarks with the given samples, as perfhub writes it.
fn bench_report(dir: &Path, name: &str, benches: &[(&str, Vec<f64>)]) -> std::path::PathBuf {
    let benchmarks: Vec<serde_json::Value> = benches
        .iter()
        .map(|(n, s)| {
            serde_json::json!({
                "name": n,
                "primary_metric": "wall_time",
                "measurements": [{"metric": "wall_time", "unit": "seconds", "samples": s}]
            })
        })
        .collect();
    let json = serde_json::json!({
        "schema_version": 1,
        "tool": {"name": "perfhub", "version": "0.1.0"},
        "kind": "bench",
        "created": "2026-01-01T00:00:00Z",
        "benchmarks": benchmarks,
    });
    let path = dir.join(name);
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn jitter(center: f64, n: usize, phase: usize) -> Vec<f64> {
    (0..n)
        .map(|i| center * (1.0 + 0.01 * (((i * 7 + phase) % 11) as f64 / 5.0 - 1.0)))
        .collect()
}

#[test]
fn import_criterion_reads_every_benchmark_of_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let fixture = root().join("fixtures/criterion/criterion-0.8.2");
    let o = perfhub(&[
        "import",
        "criterion",
        fixture.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read(&out);
    let names: Vec<&str> = r.benchmarks.iter().map(|b| b.name.as_str()).collect();
    assert!(names.contains(&"fibonacci/fib/20"), "{names:?}");
    assert!(names.contains(&"sum_1000"), "{names:?}");
    let b = r.benchmark("sum_1000").unwrap();
    assert_eq!(b.primary().unwrap().samples.len(), 20);
    assert!(r.environment.is_some());
    // auto detection gives the same benchmarks.
    let auto = dir.path().join("a.json");
    let o = perfhub(&[
        "import",
        "auto",
        fixture.to_str().unwrap(),
        "-o",
        auto.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&auto).benchmarks.len(), r.benchmarks.len());
}

#[test]
fn import_of_a_missing_directory_names_it() {
    let o = perfhub(&[
        "import",
        "criterion",
        "/nonexistent/criterion",
        "-o",
        "/tmp/x.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/criterion"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn compare_exits_5_on_a_regression_and_0_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let base = bench_report(
        dir.path(),
        "base.json",
        &[("fast", jitter(1e-3, 40, 0)), ("same", jitter(2e-3, 40, 1))],
    );
    let head = bench_report(
        dir.path(),
        "head.json",
        &[
            ("fast", jitter(1.2e-3, 40, 3)),
            ("same", jitter(2e-3, 40, 5)),
        ],
    );
    let out = dir.path().join("cmp.json");
    let o = perfhub(&[
        "compare",
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--export-json",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(REGRESSED), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("1 regressed, 0 improved, 1 unchanged"),
        "{text}"
    );
    let r = read(&out);
    let fast = r
        .comparisons
        .iter()
        .find(|c| c.benchmark == "fast")
        .unwrap();
    assert_eq!(
        fast.verdict,
        Some(perfhub_core::compare::Verdict::Regressed)
    );
    assert!((fast.ratio - 1.2).abs() < 0.01);
    // Each line says what the run could have seen: the header, and the
    // minimum detectable effect in the table and in the report.
    assert!(text.contains("detectable"), "{text}");
    let same = r
        .comparisons
        .iter()
        .find(|c| c.benchmark == "same")
        .unwrap();
    let mde = same.mde.expect("the minimum detectable effect is reported");
    assert!(mde > 0.0 && mde < 0.03, "{mde}");
    let line = text.lines().find(|l| l.starts_with("same")).unwrap();
    assert!(
        line.contains(&format!(
            ">= {}",
            perfhub_core::compare::percent_figure(mde)
        )),
        "{line}"
    );
    assert_eq!(
        same.verdict,
        Some(perfhub_core::compare::Verdict::Unchanged)
    );

    // Three noisy samples a side could not have seen 3%: inconclusive, said
    // so in words, and not a failure.
    let noisy = |name: &str, values: Vec<f64>| bench_report(dir.path(), name, &[("noisy", values)]);
    let nb = noisy("nb.json", vec![1.0e-3, 1.4e-3, 0.8e-3]);
    let nh = noisy("nh.json", vec![1.1e-3, 1.3e-3, 0.9e-3]);
    let o = perfhub(&["compare", nb.to_str().unwrap(), nh.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("1 inconclusive"), "{text}");
    assert!(
        text.contains("noisy: inconclusive: this run could have seen changes of"),
        "{text}"
    );

    // A 25% threshold for `fast*` makes the 20% change count as unchanged.
    let o = perfhub(&[
        "compare",
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--min-effect-for",
        "fast*=25%",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // --no-fail reports but exits 0.
    let o = perfhub(&[
        "compare",
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--no-fail",
    ]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn compare_refuses_bad_input_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"a report\"}").unwrap();
    let good = bench_report(dir.path(), "good.json", &[("a", vec![1.0, 2.0])]);
    let o = perfhub(&["compare", junk.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("junk.json"), "{}", stderr(&o));
    let other = bench_report(dir.path(), "other.json", &[("b", vec![1.0, 2.0])]);
    let o = perfhub(&["compare", good.to_str().unwrap(), other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no benchmark in common"),
        "{}",
        stderr(&o)
    );
    let o = perfhub(&[
        "compare",
        good.to_str().unwrap(),
        good.to_str().unwrap(),
        "--min-effect",
        "lots",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--min-effect"), "{}", stderr(&o));
}

#[test]
fn compare_in_github_actions_writes_annotations_summary_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let base = bench_report(
        dir.path(),
        "base.json",
        &[("slow,er: x", jitter(1e-3, 40, 0))],
    );
    let head = bench_report(
        dir.path(),
        "head.json",
        &[("slow,er: x", jitter(1.5e-3, 40, 2))],
    );
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let outputs = dir.path().join("outputs");
    let o = Command::new(perfhub_bin())
        .args(["compare", base.to_str().unwrap(), head.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(REGRESSED), "{}", stderr(&o));
    let annotation = stdout(&o)
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_else(|| panic!("no annotation in {}", stdout(&o)))
        .to_string();
    // Property values escape `,` and `:`.
    assert!(annotation.contains("slow%2Cer%3A x"), "{annotation}");
    let s = std::fs::read_to_string(&summary).unwrap();
    assert!(
        s.starts_with("earlier step\n"),
        "appended, not replaced: {s}"
    );
    assert!(s.contains("regressed"), "{s}");
    let out = std::fs::read_to_string(&outputs).unwrap();
    assert!(out.contains("regressed=1\n"), "{out}");
    assert!(out.contains("summary<<ghadelimiter_"), "{out}");
}

#[test]
fn export_writes_bencher_and_github_action_benchmark_json() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench_report(dir.path(), "r.json", &[("a", vec![1e-6, 3e-6])]);
    let bmf = dir.path().join("bmf.json");
    let o = perfhub(&[
        "export",
        "--to",
        "bencher",
        r.to_str().unwrap(),
        "-o",
        bmf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bmf).unwrap()).unwrap();
    let ns = v["a"]["latency"]["value"].as_f64().unwrap();
    assert!((ns - 2000.0).abs() < 1e-6, "{v}");
    let gab = dir.path().join("gab.json");
    let o = perfhub(&[
        "export",
        "--to",
        "github-action-benchmark",
        r.to_str().unwrap(),
        "-o",
        gab.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gab).unwrap()).unwrap();
    assert_eq!(v[0]["name"], "a");
    assert_eq!(v[0]["unit"], "ns");
}

/// A git repository with one committed file, `bench.sh`, whose output is
/// `body`; returns the directory.
fn repo_with(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| git(dir.path(), args);
    git(&["init", "-q"]);
    std::fs::write(dir.path().join("bench.sh"), body).unwrap();
    git(&["add", "bench.sh"]);
    git(&["commit", "-q", "-m", "base"]);
    dir
}

fn ab(dir: &Path, extra: &[&str], command: &[&str]) -> Output {
    Command::new(perfhub_bin())
        .arg("ab")
        .args(extra)
        .arg("--")
        .args(command)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

#[test]
fn ab_finds_a_regression_in_the_working_tree_and_none_in_identical_code() {
    let libtest = |ns: u32| {
        format!(
            "echo 'test parse ... bench:       {ns} ns/iter (+/- 3)'\n\
             echo 'test fixed ... bench:       500 ns/iter (+/- 3)'\n"
        )
    };
    let dir = repo_with(&libtest(1000));
    let out = dir.path().join("aa.json");
    let o = ab(
        dir.path(),
        &[
            "--base",
            "HEAD",
            "--rounds",
            "3",
            "--format",
            "libtest",
            "--export-json",
            out.to_str().unwrap(),
        ],
        &["sh", "bench.sh"],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("0 regressed, 0 improved, 2 unchanged"),
        "{}",
        stdout(&o)
    );
    let r = read(&out);
    let parse = r.benchmark("parse").unwrap();
    assert_eq!(
        parse.primary().unwrap().samples.len(),
        3,
        "one value per round"
    );
    assert!(r.notes.iter().any(|n| n.code == "ab_rounds"));

    // An uncommitted change that makes `parse` 20% slower.
    std::fs::write(dir.path().join("bench.sh"), libtest(1200)).unwrap();
    let o = ab(
        dir.path(),
        &["--base", "HEAD", "--rounds", "3", "--format", "libtest"],
        &["sh", "bench.sh"],
    );
    assert_eq!(
        o.status.code(),
        Some(REGRESSED),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("parse")).unwrap();
    assert!(
        line.contains("+20.00%") && line.ends_with("regressed"),
        "{line}"
    );
    // The temporary worktree is gone.
    let list = Command::new("git")
        .args(["worktree", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(stdout(&list).lines().count(), 1, "{}", stdout(&list));
}

/// Any tool's results file gates through `--results`: here a hyperfine
/// export written by the bench script, 20% slower in the working tree; a
/// script that writes nothing is an error naming the file.
#[test]
fn ab_gates_a_results_file_in_any_imported_format() {
    let script = |mean: f64| {
        let times: Vec<String> = (0..8)
            .map(|i| format!("{:.6}", mean * (1.0 + 0.001 * f64::from(i % 3))))
            .collect();
        format!(
            "cat > results.json <<'EOF'\n{{\"results\": [{{\"command\": \"parse\", \"mean\": {mean}, \"times\": [{}]}}]}}\nEOF\n",
            times.join(", ")
        )
    };
    let dir = repo_with(&script(0.010));
    std::fs::write(dir.path().join("bench.sh"), script(0.012)).unwrap();
    let out = dir.path().join("ab.json");
    let o = ab(
        dir.path(),
        &[
            "--base",
            "HEAD",
            "--rounds",
            "6",
            "--results",
            "results.json",
            "--export-json",
            out.to_str().unwrap(),
        ],
        &["sh", "bench.sh"],
    );
    assert_eq!(
        o.status.code(),
        Some(REGRESSED),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let r = read(&out);
    let c = &r.comparisons[0];
    assert_eq!(c.benchmark, "parse");
    assert!((c.ratio - 1.2).abs() < 0.01, "{c:?}");

    // A bench command that writes no results file.
    std::fs::write(dir.path().join("bench.sh"), "true\n").unwrap();
    let o = ab(
        dir.path(),
        &[
            "--base",
            "HEAD",
            "--rounds",
            "2",
            "--results",
            "results.json",
        ],
        &["sh", "bench.sh"],
    );
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("results.json: the bench command did not write its results there"),
        "{err}"
    );
}

#[test]
fn ab_counts_instructions_deterministically() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        // perf_event hardware counters would serve instead; this machine
        // class has none, so `cargo xtask ci` installs valgrind.
        panic!(
            "valgrind is needed for instruction counts on this machine: apt-get install valgrind"
        );
    }
    let dir = repo_with("seq 2000 > /dev/null\n");
    std::fs::write(dir.path().join("bench.sh"), "seq 200000 > /dev/null\n").unwrap();
    let out = dir.path().join("i.json");
    let o = ab(
        dir.path(),
        &[
            "--base",
            "HEAD",
            "--rounds",
            "2",
            "--format",
            "instructions",
            "--export-json",
            out.to_str().unwrap(),
        ],
        &["sh", "bench.sh"],
    );
    assert_eq!(
        o.status.code(),
        Some(REGRESSED),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let r = read(&out);
    let b = &r.benchmarks[0];
    let head = &b.measurement("instructions").unwrap().samples;
    let base = &b.measurement("base.instructions").unwrap().samples;
    assert_eq!(head[0], head[1], "the same count in every round");
    assert_eq!(base[0], base[1]);
    assert!(head[0] > base[0] * 2.0, "{head:?} vs {base:?}");
}

#[test]
fn ab_outside_a_repository_or_with_an_unknown_revision_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = ab(
        dir.path(),
        &["--base", "HEAD", "--format", "libtest"],
        &["true"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not inside a git repository"),
        "{}",
        stderr(&o)
    );
    let repo = repo_with("true\n");
    let o = ab(
        repo.path(),
        &["--base", "no-such-branch", "--format", "libtest"],
        &["true"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown revision \"no-such-branch\""),
        "{}",
        stderr(&o)
    );
    let o = ab(
        repo.path(),
        &["--base", "HEAD", "--rounds", "1", "--format", "libtest"],
        &["true"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("at least 2 rounds"), "{}", stderr(&o));
}

#[test]
fn ab_reports_a_failing_bench_command_with_its_output() {
    let repo = repo_with("echo 'compile error: oops' >&2; exit 3\n");
    let o = ab(
        repo.path(),
        &["--base", "HEAD", "--rounds", "2", "--format", "libtest"],
        &["sh", "bench.sh"],
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("sh bench.sh") && e.contains("compile error: oops"),
        "{e}"
    );
}

#[test]
fn serve_metrics_answers_a_scrape_with_the_reports_metrics() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    bench_report(
        dir.path(),
        "nightly.json",
        &[("parse", vec![1e-3, 2e-3, 3e-3])],
    );
    let (mut child, url) = crate::support::spawn_announcing_url(
        Command::new(perfhub_bin())
            .args(["serve-metrics", "--port", "0"])
            .arg(dir.path()),
    );
    let hostport = url.trim_start_matches("http://").split('/').next().unwrap();
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("text/plain; version=0.0.4"), "{body}");
    assert!(
        body.contains("benchmark=\"parse\"") && body.contains("report=\"nightly\""),
        "{body}"
    );
}

#[test]
fn ab_interrupted_reports_the_rounds_so_far_and_removes_its_worktree() {
    let repo = repo_with("sleep 0.2; echo 'test parse ... bench:       1000 ns/iter (+/- 3)'\n");
    let out = repo.path().join("ab.json");
    let child = Command::new(perfhub_bin())
        .args([
            "ab",
            "--base",
            "HEAD",
            "--rounds",
            "50",
            "--format",
            "libtest",
            "--export-json",
        ])
        .arg(&out)
        .args(["--", "sh", "bench.sh"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // 50 rounds take 20 s; after 3 s several rounds are complete.
    std::thread::sleep(std::time::Duration::from_secs(3));
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}{}", stdout(&o), stderr(&o));
    let r = read(&out);
    let rounds = r
        .benchmark("parse")
        .unwrap()
        .primary()
        .unwrap()
        .samples
        .len();
    assert!((2..50).contains(&rounds), "{rounds} rounds");
    assert!(
        r.notes.iter().any(|n| n.code == "ab_interrupted"),
        "{:?}",
        r.notes
    );
    let list = Command::new("git")
        .args(["worktree", "list"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(stdout(&list).lines().count(), 1, "{}", stdout(&list));
}

/// Where the criterion fixture's builds go, kept between runs so criterion
/// compiles once: `criterion-fixture-{head,base}` beside the test binary's
/// profile directory.
fn criterion_fixture_target(side: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-<hash>
    exe.ancestors()
        .nth(3)
        .expect("the target directory")
        .join(format!("criterion-fixture-{side}"))
}

/// `fixtures/criterion-project` committed into a new git repository, then
/// `sum_1000` made to sum three times as many numbers in the working tree:
/// a large, certain slowdown of that benchmark alone.
fn criterion_repo_with_a_slowdown() -> tempfile::TempDir {
    let src = root().join("fixtures/criterion-project");
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "benches/fixture.rs",
    ] {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), &to).unwrap();
    }
    std::fs::write(dir.path().join(".gitignore"), "target\n").unwrap();
    let git = |args: &[&str]| git(dir.path(), args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    let bench = dir.path().join("benches/fixture.rs");
    let text = std::fs::read_to_string(&bench).unwrap();
    assert!(text.contains("sum_to(black_box(1000))"));
    std::fs::write(
        &bench,
        text.replace("sum_to(black_box(1000))", "sum_to(black_box(3000))"),
    )
    .unwrap();
    dir
}

fn ab_criterion(dir: &Path, extra: &[&str]) -> Output {
    Command::new(perfhub_bin())
        .args(["ab", "--base", "HEAD", "--base-target-dir"])
        .arg(criterion_fixture_target("base"))
        .args(["--slice-warm-up", "100ms", "--slice-time", "300ms"])
        .args(extra)
        // Two of the fixture's six benchmarks, by criterion's filter.
        .args(["--", "cargo", "bench", "-q", "--bench", "fixture", "--"])
        .arg("^(sum_1000|fibonacci/fib/15)$")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", criterion_fixture_target("head"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

/// The sliced mode on a real criterion project: each benchmark alone, base
/// and head back to back, finds a 3x slowdown of one benchmark; with a time
/// budget, the slowed benchmark stops at the first planned look, and the
/// report says why each benchmark stopped and what it could have seen.
#[test]
fn ab_slices_find_a_large_criterion_slowdown_and_stop_it_early() {
    let dir = criterion_repo_with_a_slowdown();
    let out = dir.path().join("ab.json");
    let o = ab_criterion(
        dir.path(),
        &["--rounds", "8", "--export-json", out.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(REGRESSED),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let r = read(&out);
    let names: Vec<&str> = r.comparisons.iter().map(|c| c.benchmark.as_str()).collect();
    assert_eq!(
        names,
        ["fibonacci/fib/15", "sum_1000"],
        "{:?}",
        r.comparisons
    );
    let sum = r
        .comparisons
        .iter()
        .find(|c| c.benchmark == "sum_1000")
        .unwrap();
    assert_eq!(sum.verdict, Some(perfhub_core::compare::Verdict::Regressed));
    assert!(sum.ratio > 2.0, "{sum:?}");
    assert!(sum.mde.is_some(), "{sum:?}");
    let samples = &r.benchmark("sum_1000").unwrap().primary().unwrap().samples;
    assert_eq!(samples.len(), 8, "one value per round");
    let rounds = r.notes.iter().find(|n| n.code == "ab_rounds").unwrap();
    assert!(rounds.message.contains("rounds of slices"), "{rounds:?}");
    // The head was built where the base was, so that only the change
    // tells the two executables apart.
    let path = r.notes.iter().find(|n| n.code == "ab_build_path").unwrap();
    assert!(
        path.message.starts_with("both built from one path"),
        "{path:?}"
    );
    // The rounds ran favoured where the OS allows it (root here), and the
    // report says which.
    let priority = r.notes.iter().find(|n| n.code == "ab_priority").unwrap();
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let expected = if root {
        "the rounds ran at nice -20"
    } else {
        "the rounds ran at the usual priority: raising it to nice -20 was refused"
    };
    assert!(priority.message.starts_with(expected), "{priority:?}");
    let err = stderr(&o);
    assert!(err.contains("round 8/8: sum_1000: "), "{err}");
    // The table states what each benchmark could have seen.
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("sum_1000")).unwrap();
    assert!(line.contains(">= "), "{line}");

    // Adaptive: at most 14 rounds, looks after 10, 12 and 14 for two
    // benchmarks; the 3x slowdown is decided at the first.
    let out = dir.path().join("adaptive.json");
    let o = ab_criterion(
        dir.path(),
        &[
            "--rounds",
            "14",
            "--time-budget",
            "10m",
            "--export-json",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(REGRESSED),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("sum_1000: decided after 10 rounds: changed by at least the minimum effect"),
        "{err}"
    );
    assert!(
        err.contains("adaptive stopping: looks after 10, 12 and 14 rounds, each at 1.667%"),
        "{err}"
    );
    let r = read(&out);
    let samples = &r.benchmark("sum_1000").unwrap().primary().unwrap().samples;
    assert_eq!(samples.len(), 10, "no rounds after it was decided");
    let stopped: Vec<&str> = r
        .notes
        .iter()
        .filter(|n| n.code == "ab_stopped")
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(stopped.len(), 2, "{stopped:?}");
    assert!(
        stopped[1].starts_with("sum_1000: decided after 10 rounds")
            && stopped[1].contains("minimum detectable effect"),
        "{stopped:?}"
    );
    assert!(r.notes.iter().any(|n| n.code == "ab_adaptive"));
    let sum = r
        .comparisons
        .iter()
        .find(|c| c.benchmark == "sum_1000")
        .unwrap();
    assert_eq!(sum.verdict, Some(perfhub_core::compare::Verdict::Regressed));
    // Each look tests at 5% / 3.
    let level = sum.ratio_ci.unwrap().level;
    assert!((level - (1.0 - 0.05 / 3.0)).abs() < 1e-9, "{level}");
}

#[test]
fn ab_refuses_slices_and_budgets_that_cannot_work() {
    let repo = repo_with("true\n");
    let cases: [(&[&str], &[&str], &str); 4] = [
        (
            &["--interleave", "slices"],
            &["sh", "bench.sh"],
            "needs a `cargo bench ...` command",
        ),
        (
            &["--interleave", "slices", "--format", "libtest"],
            &["cargo", "bench"],
            "it needs --format criterion",
        ),
        (
            &["--slice-samples", "5"],
            &["cargo", "bench"],
            "criterion needs at least 10 samples",
        ),
        (
            &["--time-budget", "0s", "--format", "libtest"],
            &["sh", "bench.sh"],
            "--time-budget 0",
        ),
    ];
    for (extra, command, message) in cases {
        let mut args = vec!["--base", "HEAD"];
        args.extend_from_slice(extra);
        let o = ab(repo.path(), &args, command);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{extra:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}
