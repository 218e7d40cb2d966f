//! Project automation: `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks (format, clippy with `-D warnings`, tidy, the report schema, docs, all
//!   tests, and the CPU profiler's tests again in a release build);
//! - `tidy`: the layer rules of ARCHITECTURE.md, read from every `Cargo.toml`;
//! - `schema [--check]`: write (or check) `docs/report-schema.json`;
//! - `bench [ARGS]`: run perfhub's own criterion benchmarks in `benches/`;
//! - `bench --against REV [--rounds N] [ARGS]`: run the kernel benchmarks
//!   through perfhub's A/B gate (`perfhub ab`) against the revision REV, and
//!   exit 5 when one regressed.
//!
//! `ci` ends with the browser test: `perfhub check` on the demo plan
//! (`perfhub.toml`), and its `report.html` opened in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod tidy;

fn main() -> Result<()> {
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
                "usage: cargo xtask <ci | tidy | schema [--check] | bench [--against REV [--rounds N]] [criterion args]>"
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
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

fn ci() -> Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
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
    )?;
    report_tidy(&tidy::check(&project_root())?)?;
    schema(&project_root(), true)?;
    // Broken intra-doc links fail too.
    eprintln!("$ RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace --locked");
    let status = Command::new("cargo")
        .args(["doc", "--no-deps", "--workspace", "--locked", "--quiet"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .status()
        .context("cannot start cargo doc")?;
    if !status.success() {
        bail!("`cargo doc` failed ({status})");
    }
    run("cargo", &["build", "--workspace", "--bins", "--locked"])?;
    run("cargo", &["test", "--workspace", "--locked"])?;
    // Profiles must name the hot functions with the right shares in
    // optimized builds too, where inlining and tail calls change the frames.
    run(
        "cargo",
        &[
            "test",
            "--release",
            "--locked",
            "-p",
            "perfhub-profile",
            "--test",
            "cpu",
        ],
    )?;
    browser()?;
    eprintln!("ci: all checks passed");
    Ok(())
}

/// README's main job (`perfhub check` on the demo plan), then its
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
    run(
        "cargo",
        &[
            "run",
            "--locked",
            "-q",
            "-p",
            "perfhub-cli",
            "--",
            "check",
            "--config",
            "perfhub.toml",
        ],
    )?;
    let browser_dir = root.join("tests/browser");
    if !browser_dir.join("node_modules/playwright-core").exists() {
        eprintln!("$ (cd tests/browser && npm ci)");
        let status = Command::new("npm")
            .args(["ci", "--silent"])
            .current_dir(&browser_dir)
            .status()
            .context("cannot start npm: install Node.js and npm")?;
        if !status.success() {
            bail!("`npm ci` in tests/browser failed ({status})");
        }
    }
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

    #[test]
    fn report_schema_is_up_to_date() {
        let have = std::fs::read_to_string(project_root().join("docs/report-schema.json")).unwrap();
        assert!(
            have == perfhub_core::report::json_schema(),
            "docs/report-schema.json is out of date: run `cargo xtask schema`"
        );
    }
}
