//! `cargo xtask fuzz --minutes N [--target NAME]... [--jobs J] [--seed S]`:
//! a fuzz campaign on the stable toolchain.
//!
//! The driver is the `perfhub-fuzz` package (`fuzz/`); this builds it with
//! LLVM's SanitizerCoverage counters (`-Cpasses=sancov-module`, stable
//! `-C` options, no nightly), so its mutations are guided by the edges each
//! input reaches, builds the `perfhub` binary the `perfhub.toml` target
//! runs, and starts the campaign: every group of targets (or those named)
//! for N minutes each, J groups at a time. New crashing inputs go to
//! `fixtures/fuzz/<target>/crash-<hash>`; the closing table gives each
//! target's cases and crashes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str =
    "usage: cargo xtask fuzz --minutes N [--target NAME|GROUP]... [--jobs J] [--seed S]";

/// The coverage instrumentation, and the frame pointers the workspace
/// builds with (`RUSTFLAGS` replaces `.cargo/config.toml`'s flags).
const COVERAGE_FLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=3 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cforce-frame-pointers=yes";

pub fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let mut minutes = None;
    let mut passed: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--minutes" => minutes = Some(value()?),
            "--target" | "--jobs" | "--seed" => {
                let v = value()?;
                passed.extend([a.clone(), v]);
            }
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let minutes = minutes.with_context(|| format!("--minutes is required\n{USAGE}"))?;

    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let host = host_triple()?;

    // The plan target runs the CLI; an ordinary build serves.
    cargo(
        root,
        &["build", "-p", "perfhub-cli", "--bin", "perfhub"],
        None,
    )?;
    let perfhub = target_dir.join("debug").join("perfhub");
    // The driver, instrumented; `--target` keeps the flags off build
    // scripts and proc macros, which run on the host uninstrumented.
    cargo(
        root,
        &[
            "build",
            "--profile",
            "fuzz",
            "-p",
            "perfhub-fuzz",
            "--bin",
            "perfhub-fuzz",
            "--target",
            &host,
        ],
        Some(COVERAGE_FLAGS),
    )?;
    let driver = target_dir.join(&host).join("fuzz").join("perfhub-fuzz");

    let mut cmd = Command::new(&driver);
    cmd.arg("campaign")
        .args(["--minutes", &minutes])
        .arg("--root")
        .arg(root)
        .arg("--perfhub")
        .arg(&perfhub)
        .args(&passed);
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", driver.display()))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(1) => bail!(
            "the campaign found crashing inputs: they are in fixtures/fuzz/<target>/crash-*; replay one with `cargo run -p perfhub-fuzz -- replay TARGET FILE`"
        ),
        _ => bail!("the campaign failed ({status})"),
    }
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV names no host")
}

fn cargo(root: &Path, args: &[&str], rustflags: Option<&str>) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root).args(args);
    cmd.env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Some(flags) = rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    eprintln!("$ cargo {}", args.join(" "));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
