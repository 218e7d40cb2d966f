//! Profiling stripped binaries: named from a separate debug file (by
//! build-id, by debug link), or by function bounds from unwind information.
//!
//! Each test builds `fixtures/workloads/three_shares.c` (three functions
//! doing one, two and three shares of the same work), splits its debug info
//! off with `objcopy --only-keep-debug`, strips it with `strip --strip-all`
//! and profiles it. Skipped where `cc`, `objcopy` or `strip` are missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use perfhub_probe::spawn::{CommandSpec, Exit};
use perfhub_profile::process::{
    CommandProfile, CommandProfileConfig, SymbolConfig, profile_command_with,
};

/// Profiles in this file run one at a time: each samples everything the
/// spawning thread starts, and the machine has two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Million iterations of the one-share loop: about 0.8 s of CPU in all.
const UNITS: &str = "100";

const FUNCTIONS: [&str; 3] = ["one_share", "two_shares", "three_shares"];

fn run(program: &str, args: &[&std::ffi::OsStr]) -> bool {
    matches!(Command::new(program).args(args).status(), Ok(s) if s.success())
}

/// `three_shares.c` built into `dir/three_shares` with `build_id`
/// (`sha1` or `none`), its debug info split into `dir/three_shares.debug`
/// and the binary stripped of everything. The C compiler and binutils
/// (`cc`, `objcopy`, `strip`) are needed: Rust's linker needs them too.
fn stripped(dir: &Path, build_id: &str) -> (PathBuf, PathBuf) {
    let root =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo")).join("../..");
    let bin = dir.join("three_shares");
    let debug = dir.join("three_shares.debug");
    let ok = run(
        "cc",
        &[
            "-O1".as_ref(),
            "-g".as_ref(),
            "-fno-omit-frame-pointer".as_ref(),
            "-fno-inline".as_ref(),
            format!("-Wl,--build-id={build_id}").as_ref(),
            "-o".as_ref(),
            bin.as_os_str(),
            root.join("fixtures/workloads/three_shares.c").as_os_str(),
        ],
    ) && run(
        "objcopy",
        &[
            "--only-keep-debug".as_ref(),
            bin.as_os_str(),
            debug.as_os_str(),
        ],
    ) && run("strip", &["--strip-all".as_ref(), bin.as_os_str()]);
    assert!(
        ok,
        "building the stripped fixture failed: install gcc and binutils (cc, objcopy, strip)"
    );
    (bin, debug)
}

/// The build-id of `path`, in hex, as `readelf -n` shows it.
fn build_id(path: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
        .expect("a build-id note")
}

fn profile(bin: &Path, debug_dirs: Vec<PathBuf>) -> CommandProfile {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = profile_command_with(
        &CommandSpec::new(bin, [UNITS]),
        CommandProfileConfig::default(),
        &SymbolConfig {
            debug_dirs,
            debuginfod: None,
        },
    )
    .unwrap();
    assert_eq!(p.exit, Some(Exit::Code(0)));
    p
}

/// Self samples per leaf frame.
fn leaves(p: &CommandProfile) -> HashMap<String, u64> {
    let mut leaves = HashMap::<String, u64>::new();
    for (stack, weight) in &p.stacks.stacks {
        if let Some(leaf) = stack.last() {
            *leaves.entry(leaf.clone()).or_default() += weight;
        }
    }
    leaves
}

/// The shares of `names` among themselves, checked against 1:2:3.
fn assert_one_two_three(what: &str, weights: [u64; 3]) {
    let total: u64 = weights.iter().sum();
    let shares = weights.map(|w| w as f64 / total as f64);
    eprintln!(
        "{what}: {:.1}% / {:.1}% / {:.1}% of {total} samples (expected 16.7 / 33.3 / 50.0)",
        shares[0] * 100.0,
        shares[1] * 100.0,
        shares[2] * 100.0
    );
    assert!(total > 100, "{what}: {total} samples");
    for (share, expected) in shares.iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
        assert!((share - expected).abs() < 0.07, "{what}: {shares:?}");
    }
}

/// The three functions are named, in their 1:2:3 shares.
fn assert_named(what: &str, p: &CommandProfile) {
    let leaves = leaves(p);
    let weights = FUNCTIONS.map(|f| leaves.get(f).copied().unwrap_or(0));
    let total = p.stacks.total();
    assert!(
        weights.iter().sum::<u64>() as f64 > 0.8 * total as f64,
        "{what}: {leaves:?}"
    );
    assert_one_two_three(what, weights);
}

#[test]
fn a_stripped_binary_is_named_from_its_build_id_debug_file() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, debug) = stripped(dir.path(), "sha1");
    let id = build_id(&bin);
    let debug_dir = dir.path().join("debug");
    let target = debug_dir
        .join(".build-id")
        .join(&id[..2])
        .join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(&debug, &target).unwrap();

    let p = profile(&bin, vec![debug_dir]);
    assert_named("by build-id", &p);
    assert_eq!(p.debug_files, vec![(bin.clone(), target)]);
    // (The C library's own stripped functions may be named by bounds.)
    assert!(!p.unwind_bounds.contains(&bin), "{:?}", p.unwind_bounds);
    let report = p.to_report("2026-01-01T00:00:00Z".parse().unwrap());
    assert!(
        report.benchmarks[0]
            .notes
            .iter()
            .any(|n| n.code == "separate_debug_info"),
        "{:?}",
        report.benchmarks[0].notes
    );
}

#[test]
fn a_stripped_binary_is_named_from_its_debug_link() {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    // No build-id: the debug link alone finds the file.
    let (bin, debug) = stripped(&bin_dir, "none");
    let mut link = std::ffi::OsString::from("--add-gnu-debuglink=");
    link.push(&debug);
    assert!(run("objcopy", &[link.as_os_str(), bin.as_os_str()]));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();

    // In the binary's `.debug/` subdirectory.
    let in_subdir = bin_dir.join(".debug").join("three_shares.debug");
    std::fs::create_dir(in_subdir.parent().unwrap()).unwrap();
    std::fs::rename(&debug, &in_subdir).unwrap();
    let p = profile(&bin, vec![empty.clone()]);
    assert_named("by debug link, in .debug/", &p);
    assert_eq!(p.debug_files, vec![(bin.clone(), in_subdir.clone())]);

    // Under a debug directory, at the binary's own directory.
    let debug_dir = dir.path().join("debug");
    let canonical_dir = bin_dir.canonicalize().unwrap();
    let in_debug_dir = debug_dir
        .join(canonical_dir.strip_prefix("/").unwrap())
        .join("three_shares.debug");
    std::fs::create_dir_all(in_debug_dir.parent().unwrap()).unwrap();
    std::fs::rename(&in_subdir, &in_debug_dir).unwrap();
    let p = profile(&bin, vec![empty.clone(), debug_dir]);
    assert_named("by debug link, under the debug directory", &p);
    assert_eq!(p.debug_files, vec![(bin.clone(), in_debug_dir.clone())]);

    // A file of that name whose CRC does not match is not used.
    std::fs::write(&in_subdir, b"not the debug file").unwrap();
    let p = profile(&bin, vec![empty]);
    assert!(p.debug_files.is_empty(), "{:?}", p.debug_files);
    assert!(!leaves(&p).contains_key("three_shares"));
}

#[test]
fn a_stripped_binary_without_debug_info_is_named_by_function_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, _debug) = stripped(dir.path(), "sha1");
    // Nowhere to find the debug file (it stays beside the binary, but
    // nothing links to it by name).
    let p = profile(&bin, vec![dir.path().join("nowhere")]);
    let total = p.stacks.total();
    let mut ours: Vec<(String, u64)> = leaves(&p)
        .into_iter()
        .filter(|(name, _)| name.starts_with("three_shares+0x"))
        .collect();
    ours.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    eprintln!("stripped leaves: {ours:?} of {total} samples");
    let in_module: u64 = ours.iter().map(|(_, w)| w).sum();
    assert!(in_module as f64 > 0.8 * total as f64, "{ours:?}");
    // One name per function, not one per sampled instruction.
    assert!(ours.len() <= 4, "{} names: {ours:?}", ours.len());
    assert!(ours.len() >= 3, "{ours:?}");
    let mut top = [ours[2].1, ours[1].1, ours[0].1];
    top.sort_unstable();
    assert_one_two_three("stripped, by unwind info", top);
    assert!(p.unwind_bounds.contains(&bin), "{:?}", p.unwind_bounds);
    let report = p.to_report("2026-01-01T00:00:00Z".parse().unwrap());
    let note = report.benchmarks[0]
        .notes
        .iter()
        .find(|n| n.code == "unwind_function_bounds")
        .expect("a note on the stripped binary");
    assert!(
        note.message
            .contains("function bounds from unwind info, no symbol"),
        "{}",
        note.message
    );
}
