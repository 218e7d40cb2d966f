//! The layer rules of ARCHITECTURE.md, checked on every `Cargo.toml` and
//! on the library sources. A broken boundary fails `cargo test`.

use std::path::Path;

use anyhow::{Context, Result};

/// Crates the kernel must never depend on: no CLI, no async runtime, no
/// network, no terminal, no OS probing.
const CORE_FORBIDDEN: &[&str] = &[
    "clap",
    "tokio",
    "hyper",
    "reqwest",
    "ureq",
    "rustls",
    "indicatif",
    "console",
    "sysinfo",
    "libc",
    "nix",
    "perf-event2",
    "anyhow",
];

/// Only the CLI talks to a terminal or parses flags.
const CLI_ONLY: &[&str] = &["clap", "indicatif", "console", "anyhow"];

/// Print macros that no library crate may use.
const PRINTS: &[&str] = &["println!", "eprintln!", "print!(", "eprint!(", "dbg!("];

/// Every problem found, as one line each.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let crates = root.join("crates");
    for entry in std::fs::read_dir(&crates).context("reading crates/")? {
        let dir = entry?.path();
        let manifest_path = dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let manifest: toml::Table = text
            .parse()
            .with_context(|| format!("parsing {}", manifest_path.display()))?;
        let dir_name = dir.file_name().unwrap().to_string_lossy().to_string();
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default()
            .to_string();
        if name != dir_name {
            problems.push(format!(
                "crates/{dir_name}: package name {name:?} differs from its directory"
            ));
        }
        let lints_inherited = manifest
            .get("lints")
            .and_then(|l| l.get("workspace"))
            .and_then(|w| w.as_bool())
            == Some(true);
        if !lints_inherited {
            problems.push(format!("{name}: add `[lints] workspace = true`"));
        }
        let deps: Vec<String> = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        if name == "perfhub-core" {
            for d in &deps {
                if CORE_FORBIDDEN.contains(&d.as_str()) || d.starts_with("perfhub") {
                    problems.push(format!(
                        "perfhub-core must not depend on {d}: the kernel is pure"
                    ));
                }
            }
        }
        if name != "perfhub-cli" {
            for d in &deps {
                if CLI_ONLY.contains(&d.as_str()) {
                    problems.push(format!(
                        "{name} must not depend on {d}: only perfhub-cli talks to a terminal"
                    ));
                }
            }
            if name.starts_with("perfhub") && deps.iter().any(|d| d == "perfhub-cli") {
                problems.push(format!("{name} must not depend on perfhub-cli"));
            }
            // Libraries never print.
            check_sources(&dir.join("src"), &name, &mut problems)?;
            // Every library documents its whole public surface.
            let lib = dir.join("src/lib.rs");
            if lib.is_file() {
                let text = std::fs::read_to_string(&lib)?;
                if !text.lines().any(|l| l.trim() == "#![deny(missing_docs)]") {
                    problems.push(format!(
                        "{name}: src/lib.rs needs `#![deny(missing_docs)]`: every public item of a library is documented"
                    ));
                }
            }
        }
        // Adapters depend on core only, never on each other.
        if name.starts_with("perfhub-adapter") {
            for d in &deps {
                if d.starts_with("perfhub-") && d != "perfhub-core" {
                    problems.push(format!("{name} must depend on perfhub-core only, not {d}"));
                }
            }
        }
    }
    Ok(problems)
}

fn check_sources(dir: &Path, name: &str, problems: &mut Vec<String>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            check_sources(&path, name, problems)?;
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        // Tests may print; only code before the test module counts.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            if PRINTS.iter().any(|p| trimmed.contains(p)) {
                problems.push(format!(
                    "{name}: {}:{} prints; libraries return data and let the CLI render it",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    Ok(())
}
