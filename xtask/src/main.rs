//! Project automation: `cargo xtask <task>`.
//!
//! - `ci`: provisions what the suite needs (Debian packages, virtualenvs,
//!   PostgreSQL, a Pushgateway and an MLflow server on loopback: see
//!   `provision.rs`), then runs everything CI checks (format, clippy with
//!   `-D warnings`, tidy, the report schema, docs, all tests without stopping
//!   at the first failure, and the CPU profiler's tests again in a release
//!   build), prints a summary of what failed, and stops the services it
//!   started;
//! - `tidy`: the layer rules of ARCHITECTURE.md, read from every `Cargo.toml`;
//! - `schema [--check]`: write (or check) `docs/report-schema.json`;
//! - `bench [ARGS]`: run perfhub's own criterion benchmarks in `benches/`;
//! - `bench --against REV [--rounds N] [ARGS]`: run the kernel benchmarks
//!   through perfhub's A/B gate (`perfhub ab`) against the revision REV, and
//!   exit 5 when one regressed.
//!
//! `ci` ends with the browser test: `perfhub check` on the demo plan
//! (`perfhub.toml`), and its `report.html` opened in headless Chromium.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

mod fuzz;
mod provision;
mod tidy;

fn main() {
    // The error's chain on one line, without anyhow's backtrace (which
    // RUST_BACKTRACE=1 would add to every failed step).
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => {
            let problems = tidy::check(&root)?;
            report_tidy(&problems)
        }
        Some("schema") => schema(&root, args.get(1).map(String::as_str) == Some("--check")),
        Some("bench") if args.get(1).is_some_and(|a| a.starts_with("--against")) => {
            bench_against(&root, &args[1..])
        }
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("bench") => run(
            "cargo",
            &[
                &["bench", "-p", "perfhub-benches", "--"],
                &to_refs(&args[1..])[..],
            ]
            .concat(),
        ),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | tidy | schema [--check] | bench [--against REV [--rounds N]] [criterion args] | fuzz --minutes N [--target NAME] [--jobs J]>"
            );
            std::process::exit(2);
        }
    }
}

/// `cargo xtask bench --against REV [--rounds N] [criterion args]`.
fn bench_against(root: &Path, args: &[String]) -> Result<()> {
    let mut rest = args.iter();
    let mut rev = None;
    let mut rounds = "10".to_string();
    let mut criterion_args: Vec<String> = Vec::new();
    while let Some(a) = rest.next() {
        if let Some(v) = a.strip_prefix("--against=") {
            rev = Some(v.to_string());
        } else if a == "--against" {
            rev = rest.next().cloned();
        } else if let Some(v) = a.strip_prefix("--rounds=") {
            rounds = v.to_string();
        } else if a == "--rounds" {
            rounds = rest.next().cloned().context("--rounds needs a number")?;
        } else {
            criterion_args.push(a.clone());
        }
    }
    let rev = rev.context("--against needs a git revision, such as origin/main")?;
    if criterion_args.is_empty() {
        // Short runs: the gate's power comes from the rounds, not from
        // long measurements within one run.
        criterion_args = ["--warm-up-time", "0.5", "--measurement-time", "1"]
            .map(String::from)
            .to_vec();
    }
    run("cargo", &["build", "--release", "-q", "-p", "perfhub-cli"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let perfhub = target.join("release/perfhub");
    let export = target.join("perfhub-ab.json");
    let mut argv: Vec<String> = vec![
        "ab".into(),
        "--base".into(),
        rev,
        "--rounds".into(),
        rounds,
        "--export-json".into(),
        export.display().to_string(),
        "--".into(),
        "cargo".into(),
        "bench".into(),
        "-q".into(),
        "-p".into(),
        "perfhub-benches".into(),
        "--bench".into(),
        "kernel".into(),
        "--".into(),
    ];
    argv.extend(criterion_args);
    eprintln!("$ {} {}", perfhub.display(), argv.join(" "));
    let status = Command::new(&perfhub)
        .args(&argv)
        .status()
        .with_context(|| format!("cannot start {}", perfhub.display()))?;
    std::process::exit(status.code().unwrap_or(1));
}

fn to_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn project_root() -> PathBuf {
    // At run time (cargo run sets it): a build kept in a target directory
    // shared with a clone at another path holds that clone's path.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn report_tidy(problems: &[String]) -> Result<()> {
    if problems.is_empty() {
        eprintln!("tidy: all layer rules hold");
        return Ok(());
    }
    for p in problems {
        eprintln!("tidy: {p}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

fn schema(root: &Path, check: bool) -> Result<()> {
    let path = root.join("docs/report-schema.json");
    let want = perfhub_core::report::json_schema();
    if check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            bail!("docs/report-schema.json is out of date: run `cargo xtask schema`");
        }
        eprintln!("schema: docs/report-schema.json is up to date");
    } else {
        std::fs::write(&path, want)?;
        eprintln!("schema: wrote {}", path.display());
    }
    Ok(())
}

/// Whether Ctrl-C (or SIGTERM, SIGHUP) arrived: the running step's processes
/// get the signal themselves; xtask stops between steps and cleans up.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; handlers are reset to the default in children
        // at exec, so the steps' processes still stop on the signal.
        unsafe {
            libc::signal(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
}

/// One step of `ci`, and how it went.
struct Step {
    name: &'static str,
    outcome: Result<()>,
    took: Duration,
}

/// Test counts read from libtest's `test result:` lines, and the names of
/// the tests that failed.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    /// Reads one line of libtest's output.
    fn line(&mut self, line: &str) {
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|l| l.strip_suffix(" ... FAILED"))
        {
            self.failures.push(name.to_string());
        } else if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split([';', '.']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next()) {
                    let Ok(n) = n.parse::<u64>() else { continue };
                    match what {
                        "passed" => self.passed += n,
                        "failed" => self.failed += n,
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Everything CI checks, on a machine this provisions first. Every step
/// runs even when an earlier one failed, so one run shows every failure;
/// the summary at the end lists them. Services this run started are
/// stopped at the end, pass or fail.
fn ci() -> Result<()> {
    catch_interrupts();
    let started = Instant::now();
    let mut services = provision::provision()?;
    let mut tally = Tally::default();
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return;
        }
        eprintln!("ci: --- {name}");
        let t = Instant::now();
        let outcome = f();
        if let Err(e) = &outcome {
            eprintln!("ci: {name} failed: {e:#}");
        }
        steps.push(Step {
            name,
            outcome,
            took: t.elapsed(),
        });
    };
    let root = project_root();
    step("fmt", &mut || run("cargo", &["fmt", "--all", "--check"]));
    step("clippy", &mut || {
        run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
        )
    });
    step("tidy", &mut || report_tidy(&tidy::check(&root)?));
    step("schema", &mut || schema(&root, true));
    // Broken intra-doc links fail too.
    step("doc", &mut || {
        eprintln!("$ RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace --locked");
        let status = Command::new("cargo")
            .args(["doc", "--no-deps", "--workspace", "--locked", "--quiet"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .status()
            .context("cannot start cargo doc")?;
        if !status.success() {
            bail!("`cargo doc` failed ({status})");
        }
        // The façade documents every module only with all its features.
        eprintln!(
            "$ RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p perfhub --all-features --locked"
        );
        let status = Command::new("cargo")
            .args([
                "doc",
                "--no-deps",
                "-p",
                "perfhub",
                "--all-features",
                "--locked",
                "--quiet",
            ])
            .env("RUSTDOCFLAGS", "-D warnings")
            .status()
            .context("cannot start cargo doc")?;
        if !status.success() {
            bail!("`cargo doc -p perfhub --all-features` failed ({status})");
        }
        Ok(())
    });
    step("tests", &mut || {
        run_tests(
            &["test", "--workspace", "--locked", "--no-fail-fast"],
            &mut tally,
        )
    });
    // Profiles must name the hot functions with the right shares in
    // optimized builds too, where inlining and tail calls change the frames.
    step("release profile tests", &mut || {
        run_tests(
            &[
                "test",
                "--release",
                "--locked",
                "--no-fail-fast",
                "-p",
                "perfhub-profile",
                "--test",
                "cpu",
            ],
            &mut tally,
        )
    });
    step("browser", &mut browser);
    services.stop();

    eprintln!();
    eprintln!("ci: summary ({:.0?} in all)", started.elapsed());
    for s in &steps {
        match &s.outcome {
            Ok(()) => eprintln!("  ok      {:<22} {:>7.1?}", s.name, s.took),
            Err(e) => eprintln!("  FAILED  {:<22} {:>7.1?}  {e:#}", s.name, s.took),
        }
    }
    for name in &tally.failures {
        eprintln!("  failed test: {name}");
    }
    let failed_steps = steps.iter().filter(|s| s.outcome.is_err()).count();
    // The closing line in the form CI runners read.
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    if INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("ci: interrupted; the steps after the last one above did not run");
        std::process::exit(130);
    }
    if failed_steps > 0 {
        bail!("{failed_steps} of {} steps failed", steps.len());
    }
    eprintln!("ci: all checks passed");
    Ok(())
}

/// `cargo ARGS`, its standard output echoed and read for libtest's results.
fn run_tests(args: &[&str], tally: &mut Tally) -> Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        tally.line(&line);
        let _ = writeln!(out, "{line}");
    }
    drop(out);
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// README's main job (`cargo run --release -- check`, the demo plan), then its
/// `report.html` opened in headless Chromium by tests/browser: no console
/// errors, every chart drawn, the flame graph's search working, no network.
/// The screenshots go to the target directory, for CI to keep.
fn browser() -> Result<()> {
    let root = project_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        bail!(
            "the browser test needs Chromium at {chromium}: run scripts/ci-browser.sh (as root), or set CHROMIUM"
        );
    }
    // README's main job, exactly as README gives it (a release build).
    run("cargo", &["run", "--release", "--locked", "--", "check"])?;
    let browser_dir = root.join("tests/browser");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let shot = target.join("report-screenshot.png");
    let page = root.join("perfhub-report/report.html");
    eprintln!("$ node tests/browser/report.test.mjs {}", page.display());
    let status = Command::new("node")
        .arg("report.test.mjs")
        .arg(&page)
        .current_dir(&browser_dir)
        .env("CHROMIUM", &chromium)
        .env("PERFHUB_SCREENSHOT", &shot)
        .env("PERFHUB_FLAME_FRAME", "hot_three_shares")
        .status()
        .context("cannot start node")?;
    if !status.success() {
        bail!("the browser test failed ({status})");
    }
    eprintln!("ci: screenshots in {}", target.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_rules_hold() {
        let problems = tidy::check(&project_root()).unwrap();
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    /// actionlint, from `PERFHUB_TEST_ACTIONLINT` (`cargo xtask ci` installs it).
    fn actionlint() -> String {
        std::env::var("PERFHUB_TEST_ACTIONLINT")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "PERFHUB_TEST_ACTIONLINT is not set: run the suite with `cargo xtask ci`, \
                     which installs actionlint, or `eval \"$(scripts/ci-validators.sh)\"`"
                )
            })
    }

    /// actionlint's findings in the project at `dir` (empty when clean).
    fn lint(dir: &Path) -> String {
        let out = Command::new(actionlint())
            .args(["-no-color", "-oneline"])
            .current_dir(dir)
            .output()
            .expect("actionlint runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match out.status.code() {
            Some(0) => {
                assert!(text.trim().is_empty(), "{text}");
                String::new()
            }
            // 1: problems found; anything else: actionlint itself failed.
            Some(1) => text,
            _ => panic!("actionlint failed ({}): {text}", out.status),
        }
    }

    #[test]
    fn workflows_pass_actionlint() {
        let findings = lint(&project_root());
        assert!(findings.is_empty(), "actionlint:\n{findings}");
    }

    /// actionlint reads a local action's metadata where a workflow uses it:
    /// `action.yml` is checked through a workflow in a scratch repository
    /// that calls it with every input, and one that names an input the
    /// action does not have must be refused (so the check is not vacuous).
    #[test]
    fn the_action_passes_actionlint() {
        let dir = std::env::temp_dir().join(format!("perfhub-actionlint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
        // actionlint looks for the repository's root.
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::copy(project_root().join("action.yml"), dir.join("action.yml")).unwrap();
        let workflow = |with: &str| {
            format!(
                "name: gate\non: [pull_request]\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    \
                 steps:\n      - uses: actions/checkout@v5\n        with:\n          fetch-depth: 0\n      \
                 - id: perfhub\n        uses: ./\n        with:\n{with}      \
                 - run: echo \"$VERDICT\"\n        env:\n          VERDICT: ${{{{ steps.perfhub.outputs.verdict }}}}\n"
            )
        };
        let path = dir.join(".github/workflows/gate.yml");
        std::fs::write(
            &path,
            workflow(
                "          base: main\n          rounds: \"5\"\n          command: cargo bench\n          min-effect: 2%\n",
            ),
        )
        .unwrap();
        let clean = lint(&dir);
        std::fs::write(&path, workflow("          round: \"5\"\n")).unwrap();
        let broken = lint(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(clean.is_empty(), "actionlint on action.yml:\n{clean}");
        assert!(
            broken.contains("input \"round\" is not defined"),
            "actionlint did not read action.yml: {broken}"
        );
    }

    /// The Indexed Job in docs/load.md, as a user would copy it, against the
    /// Kubernetes API schema (`kubernetes-validate --strict`, offline, from
    /// `PERFHUB_TEST_KUBERNETES_VALIDATE`); the same manifest with a
    /// misspelt field must be refused, so the check is not vacuous.
    #[test]
    fn the_kubernetes_job_in_the_docs_validates() {
        let validator = std::env::var("PERFHUB_TEST_KUBERNETES_VALIDATE")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "PERFHUB_TEST_KUBERNETES_VALIDATE is not set: run the suite with `cargo xtask ci`, \
                     which installs kubernetes-validate, or `eval \"$(scripts/ci-validators.sh)\"`"
                )
            });
        let docs = std::fs::read_to_string(project_root().join("docs/load.md")).unwrap();
        let section = docs
            .split_once("### As a Kubernetes Indexed Job")
            .expect("docs/load.md has the Kubernetes section")
            .1;
        let manifest = section
            .split_once("```yaml\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .expect("the section has a yaml block")
            .0;
        // The recipe that works: one start time for every segment.
        assert!(manifest.contains("--start-at"), "{manifest}");
        assert!(manifest.contains("completionMode: Indexed"), "{manifest}");
        let dir = std::env::temp_dir().join(format!("perfhub-k8s-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let validate = |text: &str| {
            let path = dir.join("job.yaml");
            std::fs::write(&path, text).unwrap();
            let out = Command::new(&validator)
                .args(["--strict", "-k", "1.34.0"])
                .arg(&path)
                .output()
                .expect("kubernetes-validate runs");
            (
                out.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        };
        let good = validate(manifest);
        let broken = validate(&manifest.replace("parallelism:", "paralellism:"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(good.0, Some(0), "{}", good.1);
        assert!(
            good.1.contains("passed for resource job/perfhub-load"),
            "{}",
            good.1
        );
        assert_eq!(broken.0, Some(1), "{}", broken.1);
        assert!(broken.1.contains("paralellism"), "{}", broken.1);
    }

    #[test]
    fn test_results_are_tallied() {
        let mut t = Tally::default();
        for line in [
            "test a::b ... ok",
            "test a::c ... FAILED",
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 2 filtered out; finished in 0.01s",
            "test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s",
        ] {
            t.line(line);
        }
        assert_eq!((t.passed, t.failed), (10, 1));
        assert_eq!(t.failures, vec!["a::c".to_string()]);
    }

    #[test]
    fn report_schema_is_up_to_date() {
        let have = std::fs::read_to_string(project_root().join("docs/report-schema.json")).unwrap();
        assert!(
            have == perfhub_core::report::json_schema(),
            "docs/report-schema.json is out of date: run `cargo xtask schema`"
        );
    }
}
