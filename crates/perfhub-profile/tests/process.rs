//! Profiling another command: hot functions, threads, forks, failures.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use perfhub_probe::spawn::{CommandSpec, Exit, SpawnError};
use perfhub_profile::process::{
    CommandProfile, CommandProfileConfig, CommandProfileError, SamplerChoice, SamplerUsed,
    profile_command,
};

/// Where a fixture program named `name` is built: written under a name of
/// this process's own, then renamed into place in cargo's scratch
/// directory for tests, so test processes running at once never share a
/// half-written file and nothing is left in the system's temporary
/// directory.
fn built(name: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let part = dir.join(format!("{name}.{}.part", std::process::id()));
    (part, dir.join(name))
}

/// `fixtures/workloads/hot.rs`, optimized, with frame pointers and debug info.
fn hot() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../..");
        let (part, out) = built("perfhub-hot");
        let status = Command::new("rustc")
            .args([
                "-O",
                "-g",
                "-C",
                "force-frame-pointers=yes",
                "--edition",
                "2021",
                "-o",
            ])
            .arg(&part)
            .arg(root.join("fixtures/workloads/hot.rs"))
            .status()
            .expect("rustc runs");
        assert!(status.success());
        std::fs::rename(&part, &out).unwrap();
        out
    })
}

/// Profiles in this file run one at a time: each samples everything the
/// spawning thread starts, and the machine has two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn profile(spec: CommandSpec) -> Result<CommandProfile, CommandProfileError> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    profile_command(&spec, CommandProfileConfig::default())
}

fn share_of_three(p: &CommandProfile) -> (f64, f64) {
    let one = p.stacks.inclusive_weight("hot_one_share") as f64;
    let three = p.stacks.inclusive_weight("hot_three_shares") as f64;
    (three / (one + three), one + three)
}

#[test]
fn names_the_hot_functions_of_a_command_with_their_shares() {
    let p = profile(CommandSpec::new(hot(), ["400"])).unwrap();
    assert_eq!(p.exit, Some(Exit::Code(0)));
    assert_eq!(p.sampler, SamplerUsed::PerfEvent);
    assert!(!p.timeline.is_empty());
    let (share, total) = share_of_three(&p);
    eprintln!(
        "command: hot_three_shares {:.1}% of {total} hot samples",
        share * 100.0
    );
    // Samples follow CPU time, not wall time: `hot 400` is a fixed amount of
    // work, about 1,700 samples at 999 Hz however busy the machine, so 200
    // leaves room for a CPU eight times as fast.
    assert!(
        total > 200.0,
        "{} samples: {:?}",
        p.samples,
        p.stacks.stacks.keys().take(3).collect::<Vec<_>>()
    );
    assert!((share - 0.75).abs() < 0.05, "{:.1}%", share * 100.0);
    // Each stack starts with the process name.
    assert!(p.stacks.stacks.keys().all(|s| !s.is_empty()));
}

#[test]
fn the_timeline_only_sampler_still_measures_the_run() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = CommandProfileConfig {
        sampler: SamplerChoice::TimelineOnly,
        ..CommandProfileConfig::default()
    };
    let p = profile_command(&CommandSpec::new(hot(), ["200"]), config).unwrap();
    assert_eq!(p.sampler, SamplerUsed::TimelineOnly);
    assert_eq!(p.samples, 0);
    assert_eq!(p.stacks.total(), 0);
    let run = p.run.as_ref().unwrap();
    assert!(run.user > std::time::Duration::from_millis(50), "{run:?}");
    assert!(!p.timeline.is_empty());
    let report = p.to_report("2026-01-01T00:00:00Z".parse().unwrap());
    let b = &report.benchmarks[0];
    assert!(b.measurements.iter().all(|m| m.metric != "cpu_samples"));
    assert!(
        b.notes
            .iter()
            .any(|n| n.code == "sampler" && n.message.contains("timeline only"))
    );
}

#[test]
fn a_missing_command_is_an_error() {
    let err = profile(CommandSpec::new(
        "perfhub-no-such-command",
        Vec::<String>::new(),
    ))
    .unwrap_err();
    assert!(
        matches!(err, CommandProfileError::Spawn(SpawnError::NotFound { .. })),
        "{err}"
    );
}

/// `fixtures/workloads/c_names.c`, built with `cc` (frame pointers, no
/// inlining). A C compiler is needed (Rust's linker needs one too).
fn c_names() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../..");
        let (part, out) = built("perfhub-c-names");
        let status = Command::new("cc")
            .args(["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o"])
            .arg(&part)
            .arg(root.join("fixtures/workloads/c_names.c"))
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cc could not build fixtures/workloads/c_names.c: install gcc"
        );
        std::fs::rename(&part, &out).unwrap();
        out
    })
}

/// Self samples per leaf frame, hottest first.
fn hottest_leaves(p: &CommandProfile) -> Vec<(String, u64)> {
    let mut leaves = std::collections::HashMap::<String, u64>::new();
    for (stack, weight) in &p.stacks.stacks {
        if let Some(leaf) = stack.last() {
            *leaves.entry(leaf.clone()).or_default() += weight;
        }
    }
    let mut leaves: Vec<_> = leaves.into_iter().collect();
    leaves.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    leaves
}

#[test]
fn plain_c_names_are_not_demangled_as_types() {
    let bin = c_names();
    let p = profile(CommandSpec::new(bin, ["200"])).unwrap();
    assert_eq!(p.exit, Some(Exit::Code(0)));
    let hottest = hottest_leaves(&p);
    let total = p.stacks.total() as f64;
    let share = |name: &str| {
        hottest
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, w)| *w as f64 / total)
    };
    eprintln!(
        "C names: f {:.1}%, g {:.1}% of {total} samples; hottest {:?}",
        share("f") * 100.0,
        share("g") * 100.0,
        &hottest[..hottest.len().min(4)]
    );
    let top: Vec<&str> = hottest.iter().take(2).map(|(n, _)| n.as_str()).collect();
    assert!(top.contains(&"f") && top.contains(&"g"), "{hottest:?}");
    assert!(share("f") + share("g") > 0.8, "{hottest:?}");
    for stack in p.stacks.stacks.keys() {
        assert!(
            stack
                .iter()
                .all(|frame| !["float", "__float128"].contains(&frame.as_str())),
            "{stack:?}"
        );
    }
    // `main` calls both.
    assert!(p.stacks.inclusive_weight("main") as f64 > 0.9 * total);
}

/// A busy JavaScript function, for `node --perf-basic-prof -e`.
const SIEVE_JS: &str = "function sieveOfPrimes(n) {
  const composite = new Uint8Array(n + 1);
  let count = 0;
  for (let i = 2; i <= n; i++) {
    if (!composite[i]) {
      count++;
      for (let j = i * i; j <= n; j += i) composite[j] = 1;
    }
  }
  return count;
}
let total = 0;
for (let k = 0; k < 150; k++) total += sieveOfPrimes(200000);
if (total !== 150 * 17984) throw new Error('wrong count ' + total);
require('fs').writeFileSync(process.argv[1], String(process.pid));";

#[test]
fn jit_code_is_named_by_the_perf_map() {
    let works = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        works,
        "node is needed for this test (JIT code named from its perf map): install nodejs"
    );
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let mut spec = CommandSpec::new(
        "node",
        [
            "--perf-basic-prof",
            "-e",
            SIEVE_JS,
            pid_file.to_str().unwrap(),
        ],
    );
    // Node writes a V8 log into its working directory too.
    spec.cwd = Some(dir.path().to_path_buf());
    let p = profile(spec).unwrap();
    // Node leaves its perf map behind.
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", pid.trim()));
    }
    assert_eq!(p.exit, Some(Exit::Code(0)));
    let total = p.stacks.total() as f64;
    let sieve = p.stacks.inclusive_weight("sieveOfPrimes") as f64;
    let unnamed = p.stacks.inclusive_weight("[anon]") as f64;
    let hottest = hottest_leaves(&p);
    eprintln!(
        "node: sieveOfPrimes in {:.1}%, unnamed JIT code in {:.1}% of {total} samples; hottest {:?}",
        sieve / total * 100.0,
        unnamed / total * 100.0,
        &hottest[..hottest.len().min(4)]
    );
    assert!(
        hottest
            .iter()
            .any(|(name, _)| name.contains("sieveOfPrimes")),
        "{hottest:?}"
    );
    assert!(sieve / total > 0.3, "{hottest:?}");
}

/// The names of a Firefox Profiler thread's frames for one sample's stack,
/// root first.
fn firefox_stack(thread: &serde_json::Value, mut stack: Option<usize>) -> Vec<String> {
    let strings = thread["stringArray"].as_array().unwrap();
    let stacks = &thread["stackTable"];
    let frames = &thread["frameTable"];
    let funcs = &thread["funcTable"];
    let mut names = Vec::new();
    while let Some(s) = stack {
        let frame = stacks["frame"][s].as_u64().unwrap() as usize;
        let func = frames["func"][frame].as_u64().unwrap() as usize;
        let name = funcs["name"][func].as_u64().unwrap() as usize;
        names.push(strings[name].as_str().unwrap().to_string());
        stack = stacks["prefix"][s].as_u64().map(|p| p as usize);
    }
    names.reverse();
    names
}

#[test]
fn writes_a_firefox_profile_with_a_track_per_thread() {
    let p = profile(CommandSpec::new(hot(), ["400", "2"])).unwrap();
    assert_eq!(p.exit, Some(Exit::Code(0)));
    assert_eq!(p.sampler, SamplerUsed::PerfEvent);
    let dir = tempfile::tempdir().unwrap();
    let written = p
        .write_outputs(
            dir.path(),
            &p.to_report("2026-01-01T00:00:00Z".parse().unwrap()),
        )
        .unwrap();
    let path = dir.path().join("profile.firefox.json");
    assert!(written.contains(&path), "{written:?}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

    let meta = &v["meta"];
    assert!(meta["version"].is_number(), "{meta}");
    assert!((meta["interval"].as_f64().unwrap() - 1000.0 / 999.0).abs() < 0.01);
    assert!(meta["startTime"].as_f64().unwrap() > 1.6e12, "{meta}");
    assert!(meta["product"].as_str().unwrap().contains("perfhub-hot"));

    let threads = v["threads"].as_array().unwrap();
    let (mut all, mut one, mut three, mut workers_hot) = (0u64, 0u64, 0u64, 0);
    for t in threads {
        let name = t["name"].as_str().unwrap();
        assert!(!name.is_empty());
        assert!(
            t["processName"]
                .as_str()
                .unwrap()
                .starts_with("perfhub-hot")
        );
        let pid: u32 = t["pid"].as_str().unwrap().parse().unwrap();
        let tid: u32 = t["tid"].as_str().unwrap().parse().unwrap();
        let samples = &t["samples"];
        let n = samples["length"].as_u64().unwrap() as usize;
        let stacks = samples["stack"].as_array().unwrap();
        let deltas = samples["timeDeltas"].as_array().unwrap();
        assert_eq!((stacks.len(), deltas.len()), (n, n), "{name}");
        // Times are deltas from the previous sample: never negative.
        assert!(deltas.iter().all(|d| d.as_f64().unwrap() >= 0.0), "{name}");
        let mut hot_here = 0;
        for s in stacks {
            let frames = firefox_stack(t, s.as_u64().map(|s| s as usize));
            // As `inclusive_weight` counts: `hot_fns::hot_one_share`.
            let has = |f: &str| frames.iter().any(|n| n.contains(f));
            one += u64::from(has("hot_one_share"));
            three += u64::from(has("hot_three_shares"));
            hot_here += usize::from(has("hot_one_share") || has("hot_three_shares"));
        }
        all += n as u64;
        eprintln!("firefox: thread {name} ({pid}/{tid}): {n} samples, {hot_here} hot");
        if tid != pid && hot_here > 100 {
            workers_hot += 1;
        }
    }
    // Every sample is on its thread's track, with the flame graph's stacks.
    assert_eq!(all, p.samples);
    assert_eq!(one, p.stacks.inclusive_weight("hot_one_share"));
    assert_eq!(three, p.stacks.inclusive_weight("hot_three_shares"));
    let share = three as f64 / (one + three) as f64;
    assert!((share - 0.75).abs() < 0.05, "{:.1}%", share * 100.0);
    // The two worker threads, each on its own track.
    assert_eq!(workers_hot, 2, "{threads:#?}");
}
