//! `perfhub ab --paired` end to end: a project whose benches use perfhub's
//! own harness, in a temporary git repository, its base and head bench
//! binaries run in lockstep.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use perfhub_core::compare::Verdict;
use perfhub_core::report::Report;

use crate::support::{git, perfhub_bin, root, stderr, stdout};

const REGRESSED: i32 = 5;

/// Where the fixture's builds go, shared by the tests and kept between
/// runs: `perfhub-bench-fixture` beside the test binary's profile
/// directory, so perfhub-bench and its dependencies compile once.
fn fixture_target() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-<hash>
    exe.ancestors()
        .nth(3)
        .expect("the target directory")
        .join("perfhub-bench-fixture")
}

/// `fixtures/perfhub-bench-project` committed into a new git repository,
/// its perfhub-bench dependency pointed at this checkout.
fn fixture_repo() -> tempfile::TempDir {
    let src = root().join("fixtures/perfhub-bench-project");
    let dir = tempfile::tempdir().unwrap();
    for f in ["Cargo.toml", "Cargo.lock", "src/lib.rs", "benches/spin.rs"] {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), &to).unwrap();
    }
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let bench_crate = root().join("crates/perfhub-bench");
    let text = text.replace(
        "\"../../crates/perfhub-bench\"",
        &format!("{:?}", bench_crate.to_str().unwrap()),
    );
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    dir
}

/// Runs `perfhub ab --paired=300ms` in `dir`, one test at a time: the
/// fixture's copies all build into the same two target directories, and
/// cargo names a package's binary by its path relative to its workspace,
/// so two copies built at once would overwrite each other's.
fn paired(dir: &Path, extra: &[&str], command: &[&str], env: &[(&str, &str)]) -> Output {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Nor does the fingerprint hold the path: cargo goes by the sources'
    // times, and a copy made before another test's build would look older
    // than that build.
    for f in ["src/lib.rs", "benches/spin.rs"] {
        if let Ok(file) = std::fs::File::options().append(true).open(dir.join(f)) {
            file.set_modified(std::time::SystemTime::now()).unwrap();
        }
    }
    let target = fixture_target();
    Command::new(perfhub_bin())
        .args([
            "ab",
            "--base",
            "HEAD",
            "--paired=300ms",
            "--base-target-dir",
        ])
        .arg(target.join("base"))
        .args(extra)
        .arg("--")
        .args(command)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target.join("head"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn read(path: &Path) -> Report {
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn worktrees(dir: &Path) -> usize {
    let list = Command::new("git")
        .args(["worktree", "list"])
        .current_dir(dir)
        .output()
        .unwrap();
    stdout(&list).lines().count()
}

#[test]
fn paired_identical_code_regresses_nothing_and_says_what_it_could_see() {
    let repo = fixture_repo();
    let out = repo.path().join("aa.json");
    let o = paired(
        repo.path(),
        &["--export-json", out.to_str().unwrap()],
        &["cargo", "bench"],
        &[],
    );
    let (text, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{text}{err}");
    // Unchanged, or inconclusive on a machine too busy for 300 ms to see
    // the minimum effect: never a regression.
    assert!(text.contains("0 regressed"), "{text}");
    assert!(text.contains("detectable"), "{text}");
    assert!(err.contains("pairs of"), "{err}");
    let r = read(&out);
    assert_eq!(r.comparisons.len(), 2);
    for c in &r.comparisons {
        assert_ne!(c.verdict, Some(Verdict::Regressed), "{c:?}");
        assert!(c.mde.is_some(), "a minimum detectable effect: {c:?}");
        let b = r.benchmark(&c.benchmark).unwrap();
        let head = &b.primary().unwrap().samples;
        let base = &b.measurement("base.wall_time").unwrap().samples;
        assert_eq!(head.len(), base.len(), "one value per side per pair");
        assert!(head.len() >= 12, "{}", head.len());
    }
    // Both sides built from one path: identical code, identical executable.
    assert!(
        r.notes
            .iter()
            .any(|n| n.code == "ab_paired" && n.message.contains("both built from one path")),
        "{:?}",
        r.notes
    );
    assert_eq!(worktrees(repo.path()), 1, "the base worktree is removed");
}

#[test]
fn paired_flags_a_30_percent_slowdown_in_the_working_tree() {
    let repo = fixture_repo();
    let lib = repo.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    let slower = text.replace("STEPS: u64 = 1000;", "STEPS: u64 = 1300;");
    assert_ne!(text, slower);
    std::fs::write(&lib, slower).unwrap();
    // And an untracked file beside it, which the head's build must see
    // too: the head is built from a copy of this working tree.
    std::fs::write(
        repo.path().join("src/extra.rs"),
        "pub const EXTRA: u64 = 1;\n",
    )
    .unwrap();
    std::fs::write(
        &lib,
        std::fs::read_to_string(&lib).unwrap() + "\npub mod extra;\n",
    )
    .unwrap();
    let out = repo.path().join("slow.json");
    let o = paired(
        repo.path(),
        &["--export-json", out.to_str().unwrap()],
        &["cargo", "bench", "--bench", "spin"],
        &[],
    );
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(REGRESSED), "{text}{}", stderr(&o));
    let notes = read(&out).notes;
    assert!(
        notes
            .iter()
            .any(|n| n.message.contains("both built from one path")),
        "{notes:?}"
    );
    let work = text.lines().find(|l| l.starts_with("work")).unwrap();
    assert!(work.ends_with("regressed"), "{work}");
    // The same code on both sides: unchanged, or inconclusive on a busy
    // machine, never regressed.
    let fixed = text.lines().find(|l| l.starts_with("fixed")).unwrap();
    assert!(!fixed.ends_with("regressed"), "{fixed}");
}

#[test]
fn paired_reports_a_panicking_benchmark_with_its_message() {
    let repo = fixture_repo();
    let o = paired(
        repo.path(),
        &[],
        &["cargo", "bench"],
        &[("PERFHUB_FIXTURE_PANIC", "1")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{}{err}", stdout(&o));
    assert!(err.contains("the fixture was told to panic"), "{err}");
    assert!(err.contains("(base") || err.contains("(head"), "{err}");
    assert_eq!(worktrees(repo.path()), 1, "the base worktree is removed");
}

#[test]
fn paired_refuses_what_it_cannot_run_and_says_how() {
    // Not a cargo bench command.
    let repo = fixture_repo();
    let o = paired(repo.path(), &[], &["sh", "bench.sh"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("cargo bench [--bench NAME]"), "{err}");

    // A bench target with another harness: named, with the fix.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"plain\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n\
         [[bench]]\nname = \"plain\"\nharness = false\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join("benches")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.path().join("benches/plain.rs"),
        "fn main() { println!(\"my own harness\"); }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), "target\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    let o = paired(dir.path(), &[], &["cargo", "bench"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("perfhub_bench::main!"), "{err}");
}
