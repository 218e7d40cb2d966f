//! Project automation: `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks (format, clippy with `-D warnings`, tidy, the report schema, docs, all
//!   tests, and the CPU profiler's tests again in a release build);
//! - `tidy`: the layer rules of ARCHITECTURE.md, read from every `Cargo.toml`;
//! - `schema [--check]`: write (or check) `docs/report-schema.json`;
//! - `bench [ARGS]`: run perfhub's own criterion benchmarks in `benches/`.

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
        Some("bench") => run(
            "cargo",
            &[
                &["bench", "-p", "perfhub-benches", "--"],
                &to_refs(&args[1..])[..],
            ]
            .concat(),
        ),
        _ => {
            eprintln!("usage: cargo xtask <ci | tidy | schema [--check] | bench [criterion args]>");
            std::process::exit(2);
        }
    }
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
    eprintln!("ci: all checks passed");
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
