//! Finer interleaving for criterion suites: both sides' bench executables
//! built once, their benchmarks listed, and each benchmark run alone for a
//! short slice (`--bench --exact NAME`), base and head back to back in a
//! random order, so the two sides of a pair run seconds apart rather than a
//! whole `cargo bench` apart.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::GateError;

/// How long each slice measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceConfig {
    /// criterion's `--warm-up-time` for each slice.
    pub warm_up: Duration,
    /// criterion's `--measurement-time` for each slice.
    pub measurement: Duration,
    /// criterion's `--sample-size` for each slice (criterion needs 10 or
    /// more).
    pub sample_size: usize,
}

impl Default for SliceConfig {
    fn default() -> Self {
        SliceConfig {
            warm_up: Duration::from_millis(50),
            measurement: Duration::from_millis(100),
            sample_size: 30,
        }
    }
}

impl SliceConfig {
    /// The defaults, with each setting given replacing its default.
    pub fn or_default(
        warm_up: Option<Duration>,
        measurement: Option<Duration>,
        sample_size: Option<usize>,
    ) -> SliceConfig {
        let d = SliceConfig::default();
        SliceConfig {
            warm_up: warm_up.unwrap_or(d.warm_up),
            measurement: measurement.unwrap_or(d.measurement),
            sample_size: sample_size.unwrap_or(d.sample_size),
        }
    }

    /// Refuses settings criterion would refuse with a panic.
    pub fn check(&self) -> Result<(), GateError> {
        if self.sample_size < 10 {
            return Err(GateError::naming(&["slice.sample_size"], |n| {
                format!(
                    "{} {}: criterion needs at least 10 samples per benchmark; give 10 or more",
                    n[0], self.sample_size
                )
            }));
        }
        if self.warm_up.is_zero() || self.measurement.is_zero() {
            return Err(GateError::naming(
                &["slice.warm_up", "slice.measurement"],
                |n| {
                    format!(
                        "{} and {} must be longer than zero, such as 500ms and 1s",
                        n[0], n[1]
                    )
                },
            ));
        }
        Ok(())
    }

    /// The arguments that run `name` alone for one slice.
    pub(crate) fn args(&self, name: &str) -> Vec<OsString> {
        vec![
            "--bench".into(),
            "--exact".into(),
            name.into(),
            "--warm-up-time".into(),
            format!("{}", self.warm_up.as_secs_f64()).into(),
            "--measurement-time".into(),
            format!("{}", self.measurement.as_secs_f64()).into(),
            "--sample-size".into(),
            self.sample_size.to_string().into(),
            "--noplot".into(),
        ]
    }
}

/// A bench executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BenchExe {
    /// The bench target's name.
    pub target: String,
    /// The executable.
    pub path: PathBuf,
    /// Its package's directory, where `cargo bench` runs it.
    pub cwd: PathBuf,
}

/// `cargo bench [ARGS] [-- BENCH_ARGS]` split into the cargo part and the
/// arguments for the bench executables; `None` when the command is not
/// `cargo bench`.
pub(crate) fn split_cargo_bench(command: &[OsString]) -> Option<(Vec<OsString>, Vec<OsString>)> {
    if !(command.len() >= 2 && command[0] == "cargo" && command[1] == "bench") {
        return None;
    }
    let split = command
        .iter()
        .position(|a| a == "--")
        .unwrap_or(command.len());
    let bench_args = command.get(split + 1..).unwrap_or_default().to_vec();
    Some((command[..split].to_vec(), bench_args))
}

/// The build command of the sliced mode: the cargo part with `--no-run`
/// and cargo's JSON messages, which name the executables.
pub(crate) fn build_command(cargo: &[OsString]) -> Vec<OsString> {
    let mut build: Vec<OsString> = cargo
        .iter()
        .filter(|a| !a.to_string_lossy().starts_with("--message-format"))
        .cloned()
        .collect();
    build.push("--no-run".into());
    build.push("--message-format=json-render-diagnostics".into());
    build
}

/// The bench executables in cargo's JSON messages (`compiler-artifact` of
/// targets of kind `bench` with an executable).
pub(crate) fn bench_executables(messages: &str) -> Vec<BenchExe> {
    let mut out: Vec<BenchExe> = Vec::new();
    for line in messages.lines() {
        let line = line.trim();
        if !line.starts_with('{') {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bench = v["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "bench"));
        let (Some(exe), Some(target), Some(manifest)) = (
            v["executable"].as_str(),
            v["target"]["name"].as_str(),
            v["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if !is_bench {
            continue;
        }
        let exe = BenchExe {
            target: target.to_string(),
            path: PathBuf::from(exe),
            cwd: Path::new(manifest)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        };
        if !out.contains(&exe) {
            out.push(exe);
        }
    }
    out
}

/// The benchmarks in a criterion executable's `--list` output: criterion
/// writes `NAME: benchmark` per benchmark (libtest writes `: bench` and
/// `: test`, so other harnesses list none).
pub(crate) fn listed_benchmarks(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect()
}

/// criterion truncates the names it lists past this many bytes (and adds
/// `...`), so such a name cannot be run alone with `--exact`.
pub(crate) const CRITERION_MAX_TITLE: usize = 100;

/// Whether `name` is a truncated criterion title.
pub(crate) fn truncated(name: &str) -> bool {
    name.len() > CRITERION_MAX_TITLE && name.ends_with("...")
}

/// The benchmarks of one side: name to the executable that runs it, in
/// the order listed, with the targets that list no criterion benchmark.
#[derive(Debug, Default)]
pub(crate) struct SideBenchmarks {
    pub by_name: BTreeMap<String, BenchExe>,
    pub order: Vec<String>,
    /// Bench targets whose `--list` shows no criterion benchmark.
    pub not_criterion: Vec<String>,
    /// Names listed twice (by two targets), kept from the first.
    pub duplicates: Vec<String>,
    /// Names criterion truncated, which cannot be run alone.
    pub truncated: Vec<String>,
}

impl SideBenchmarks {
    pub(crate) fn add(&mut self, exe: &BenchExe, listed: Vec<String>) {
        if listed.is_empty() {
            self.not_criterion.push(exe.target.clone());
            return;
        }
        for name in listed {
            if truncated(&name) {
                self.truncated.push(name);
            } else if self.by_name.contains_key(&name) {
                self.duplicates.push(name);
            } else {
                self.by_name.insert(name.clone(), exe.clone());
                self.order.push(name);
            }
        }
    }
}

/// `built`, each executable copied into `dir`: the head is built next into
/// the same target directory, over the base's files.
pub(crate) fn keep_copies(built: Vec<BenchExe>, dir: &Path) -> Result<Vec<BenchExe>, GateError> {
    let io = |path: &Path, e: std::io::Error| GateError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    built
        .into_iter()
        .enumerate()
        .map(|(i, mut b)| {
            let name = b
                .path
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default();
            let mut to = dir.join(format!("{i}-"));
            to.as_mut_os_string().push(name);
            std::fs::copy(&b.path, &to).map_err(|e| io(&to, e))?;
            b.path = to;
            Ok(b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cargo_part_and_the_bench_arguments_are_split() {
        let c: Vec<OsString> = ["cargo", "bench", "--bench", "k", "--", "sum", "--quiet"]
            .map(OsString::from)
            .to_vec();
        let (cargo, args) = split_cargo_bench(&c).unwrap();
        assert_eq!(
            cargo,
            ["cargo", "bench", "--bench", "k"].map(OsString::from)
        );
        assert_eq!(args, ["sum", "--quiet"].map(OsString::from));
        assert_eq!(
            build_command(&cargo),
            [
                "cargo",
                "bench",
                "--bench",
                "k",
                "--no-run",
                "--message-format=json-render-diagnostics"
            ]
            .map(OsString::from)
        );
        assert!(split_cargo_bench(&["./bench.sh".into()]).is_none());
        let (_, none) = split_cargo_bench(&["cargo".into(), "bench".into()]).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn bench_executables_come_from_compiler_artifacts() {
        let messages = r#"   Compiling criterion v0.8.2
{"reason":"compiler-artifact","package_id":"x","manifest_path":"/p/Cargo.toml","target":{"kind":["lib"],"name":"x"},"executable":null}
{"reason":"compiler-artifact","package_id":"x","manifest_path":"/p/Cargo.toml","target":{"kind":["bench"],"name":"fixture"},"executable":"/t/release/deps/fixture-abc"}
{"reason":"build-finished","success":true}
not json {"#;
        let exes = bench_executables(messages);
        assert_eq!(
            exes,
            vec![BenchExe {
                target: "fixture".into(),
                path: "/t/release/deps/fixture-abc".into(),
                cwd: "/p".into()
            }]
        );
    }

    #[test]
    fn only_criterion_listings_count() {
        let criterion = "sum_1000: benchmark\nfibonacci/fib/10: benchmark\n";
        assert_eq!(
            listed_benchmarks(criterion),
            vec!["sum_1000".to_string(), "fibonacci/fib/10".to_string()]
        );
        let libtest = "tests::a: test\nbench_x: bench\n\n2 tests, 1 benchmarks\n";
        assert!(listed_benchmarks(libtest).is_empty());
        let mut side = SideBenchmarks::default();
        let exe = BenchExe {
            target: "t".into(),
            path: "/x".into(),
            cwd: "/".into(),
        };
        side.add(&exe, vec![]);
        let long = format!("{}...", "a".repeat(100));
        side.add(&exe, vec!["a".into(), "a".into(), long.clone()]);
        assert_eq!(side.order, vec!["a".to_string()]);
        assert_eq!(side.not_criterion, vec!["t".to_string()]);
        assert_eq!(side.duplicates, vec!["a".to_string()]);
        assert_eq!(side.truncated, vec![long]);
        assert!(SliceConfig::default().check().is_ok());
        let few = SliceConfig {
            sample_size: 5,
            ..SliceConfig::default()
        };
        assert!(few.check().unwrap_err().to_string().contains("at least 10"));
    }
}
