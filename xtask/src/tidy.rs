//! The layer rules of ARCHITECTURE.md, checked on every `Cargo.toml` and
//! on the library sources, and the size of the CLI. A broken boundary fails
//! `cargo test`.

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

/// perfhub-cli's sources (`src/`, every `.rs` file, tests included) stay
/// below this many lines: the CLI translates flags into a library `Config`
/// and renders the `Outcome`, and what else a Rust user would want lives in
/// a library crate (issue 16).
const CLI_MAX_LINES: usize = 3500;

/// No function of perfhub-cli is longer than this, its signature and
/// closing brace included.
const CLI_MAX_FN_LINES: usize = 80;

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
        if name == "perfhub-cli" {
            check_cli_size(&dir.join("src"), &mut problems)?;
        } else {
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

/// The `.rs` files under `dir`, recursively, in name order.
fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// perfhub-cli under [`CLI_MAX_LINES`] lines, each function within
/// [`CLI_MAX_FN_LINES`].
fn check_cli_size(src: &Path, problems: &mut Vec<String>) -> Result<()> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let mut total = 0;
    for path in &files {
        let text = std::fs::read_to_string(path)?;
        total += text.lines().count();
        for (name, line, len) in function_lengths(&text) {
            if len > CLI_MAX_FN_LINES {
                problems.push(format!(
                    "perfhub-cli: {}:{line}: fn {name} is {len} lines, more than {CLI_MAX_FN_LINES}: split it into meaningful parts, or move what a library user would want into a library crate",
                    path.display()
                ));
            }
        }
    }
    if total >= CLI_MAX_LINES {
        problems.push(format!(
            "perfhub-cli: {} has {total} lines, the limit is fewer than {CLI_MAX_LINES}: the CLI translates flags into a library Config and renders the Outcome; move what a library user would want into a library crate",
            src.display()
        ));
    }
    Ok(())
}

/// Each function of rustfmt-formatted `text` with a body: its name, its
/// first line (1-based) and its length in lines, from `fn` to the closing
/// brace at the same indentation.
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let mut rest = trimmed;
        for prefix in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        rest = rest.strip_prefix("extern \"C\" ").unwrap_or(rest);
        let Some(signature) = rest.strip_prefix("fn ") else {
            continue;
        };
        let name: String = signature
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let indent = &line[..line.len() - trimmed.len()];
        // The signature ends at the body's `{`, or at `;` without a body.
        let Some(open) = lines[i..]
            .iter()
            .position(|l| l.contains('{') || l.trim_end().ends_with(';'))
        else {
            continue;
        };
        let opening = lines[i + open].trim_end();
        if !opening.contains('{') {
            continue;
        }
        let end = if opening.ends_with('}') && opening.trim_start() != "}" {
            Some(i + open)
        } else {
            lines[i + open..]
                .iter()
                .position(|l| l.strip_prefix(indent) == Some("}"))
                .map(|j| i + open + j)
        };
        if let Some(end) = end {
            found.push((name, i + 1, end - i + 1));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::function_lengths;

    #[test]
    fn measures_functions_from_fn_to_their_brace() {
        let text = "fn a() {}\n\
                    pub(crate) fn b(\n    x: u8,\n) -> u8 {\n    x\n}\n\
                    trait T {\n    fn c(&self);\n    fn d(&self) {\n        let _ = [0u8; 4];\n    }\n}\n";
        assert_eq!(
            function_lengths(text),
            [
                ("a".to_string(), 1, 1),
                ("b".to_string(), 2, 5),
                ("d".to_string(), 9, 3)
            ]
        );
    }
}
