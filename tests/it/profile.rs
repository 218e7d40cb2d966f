//! `perfhub profile`: hot functions, threads, forks, crashes, attaching,
//! refusals and the outputs it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use perfhub_core::report::Report;

use crate::support::{perfhub_bin, refuse_perf_event_open, stderr, workload_built};

/// Profiles sample everything the machine's two cores run for the command:
/// one at a time keeps the shares clean.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `fixtures/workloads/hot.rs` with frame pointers and debug info.
fn hot() -> PathBuf {
    workload_built("hot", "-fp", &["-g", "-C", "force-frame-pointers=yes"])
}

/// The same program without frame pointers (rustc's default on x86_64).
fn hot_without_frame_pointers() -> PathBuf {
    workload_built("hot", "-nofp", &["-g", "-C", "force-frame-pointers=no"])
}

fn profile(args: &[&str], refuse: Option<i32>) -> (Output, tempfile::TempDir) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    profile_unlocked(args, refuse)
}

/// [`profile`] for a caller that holds [`ONE_AT_A_TIME`] already.
fn profile_unlocked(args: &[&str], refuse: Option<i32>) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = Command::new(perfhub_bin());
    cmd.arg("profile")
        .arg("-o")
        .arg(&out)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Some(errno) = refuse {
        refuse_perf_event_open(&mut cmd, errno);
    }
    (cmd.output().expect("perfhub starts"), dir)
}

fn out(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("out")
}

/// Inclusive weight of each of the two hot functions in folded stacks.
fn hot_weights(folded: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(folded).unwrap();
    let (mut one, mut three) = (0, 0);
    for line in text.lines() {
        let (stack, weight) = line.rsplit_once(' ').unwrap();
        let weight: u64 = weight.parse().unwrap();
        // With debug info, names carry their module path
        // (`hot::hot_fns::hot_one_share`).
        let has = |name: &str| {
            stack
                .split(';')
                .any(|f| f == name || f.ends_with(&format!("::{name}")))
        };
        if has("hot_one_share") {
            one += weight;
        }
        if has("hot_three_shares") {
            three += weight;
        }
    }
    (one, three)
}

fn assert_three_to_one(folded: &Path) {
    let (one, three) = hot_weights(folded);
    let total = (one + three) as f64;
    let share = three as f64 / total;
    // Samples are taken per CPU time, not wall time, so a busy machine does
    // not thin them: the `hot` runs profiled here do a fixed amount of work
    // worth about 1,300 samples at 999 Hz, and 100 leaves room for a CPU
    // thirteen times as fast.
    assert!(total > 100.0, "only {total} samples in the hot functions");
    assert!(
        (share - 0.75).abs() < 0.05,
        "hot_three_shares has {:.1}% of {total} samples",
        share * 100.0
    );
}

fn report(dir: &tempfile::TempDir) -> Report {
    let text = std::fs::read_to_string(out(dir).join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn names_the_hot_functions_and_writes_every_output() {
    let hot = hot();
    let (o, dir) = profile(&["--", hot.to_str().unwrap(), "300"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for file in [
        "flamegraph.svg",
        "stacks.folded",
        "profile.pb.gz",
        "profile.speedscope.json",
        "report.json",
    ] {
        assert!(out(&dir).join(file).is_file(), "{file} missing");
    }
    assert_three_to_one(&out(&dir).join("stacks.folded"));
    // Sampling starts at the command's exec: nothing of perfhub's own.
    let folded = std::fs::read_to_string(out(&dir).join("stacks.folded")).unwrap();
    assert!(
        folded.lines().all(|l| l.starts_with("hot-fp;")),
        "{}",
        &folded[..folded.len().min(2000)]
    );
    let svg = std::fs::read_to_string(out(&dir).join("flamegraph.svg")).unwrap();
    assert!(svg.contains("hot_three_shares"));
    let r = report(&dir);
    let b = &r.benchmarks[0];
    let metrics: Vec<&str> = b.measurements.iter().map(|m| m.metric.as_str()).collect();
    for m in [
        "wall_time",
        "user_time",
        "max_rss",
        "cpu_samples",
        "cpu_utilization",
        "rss",
        "threads",
    ] {
        assert!(metrics.contains(&m), "{m} missing from {metrics:?}");
    }
    // The timeline saw the busy process: its CPU use, averaged over the run,
    // accounts for the CPU time the kernel charged the command. How much of
    // a core the command got depends on what else the machine runs, so the
    // two are compared with each other, within a factor of two (the
    // sampler's first and last intervals and its late ticks on a busy
    // machine move the average; a timeline that read nothing, or another
    // process, would not come close).
    let cpu = b.measurement("cpu_utilization").unwrap();
    let value = |m: &str| b.measurement(m).and_then(|m| m.value).unwrap();
    let timeline_cpu = cpu.summary.as_ref().unwrap().mean * value("wall_time");
    let charged = value("user_time") + value("system_time");
    assert!(
        (0.5..2.0).contains(&(timeline_cpu / charged)),
        "timeline {timeline_cpu:.3} s of CPU, charged {charged:.3} s: {:?}",
        cpu.samples
    );
    assert!(
        b.notes
            .iter()
            .any(|n| n.code == "sampler" && n.message.contains("perf_event_open"))
    );
    let summary = stderr(&o);
    assert!(summary.contains("hottest functions"), "{summary}");
}

#[test]
fn samples_every_thread_and_every_forked_process() {
    let hot = hot();
    let (o, dir) = profile(&["--", hot.to_str().unwrap(), "300", "4"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_to_one(&out(&dir).join("stacks.folded"));

    let script = format!("{0} 150 & {0} 150; wait", hot.display());
    let (o, dir) = profile(&["--", "sh", "-c", &script], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_to_one(&out(&dir).join("stacks.folded"));
    let r = report(&dir);
    let procs = r.benchmarks[0]
        .measurements
        .iter()
        .find(|m| m.metric == "threads")
        .unwrap();
    assert!(
        procs.samples.iter().any(|&t| t >= 2.0),
        "{:?}",
        procs.samples
    );
}

#[test]
fn unwinds_code_without_frame_pointers_with_dwarf() {
    let hot = hot_without_frame_pointers();
    let (o, dir) = profile(
        &["--call-graph", "dwarf", "--", hot.to_str().unwrap(), "300"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_to_one(&out(&dir).join("stacks.folded"));
    // Call chains reach the root of the worker thread (through libc, which
    // has no frame pointers either) from the hot functions.
    let folded = std::fs::read_to_string(out(&dir).join("stacks.folded")).unwrap();
    assert!(
        folded
            .lines()
            .any(|l| l.contains(";start_thread;") && l.contains("hot_three_shares")),
        "{}",
        &folded[..folded.len().min(2000)]
    );
}

#[test]
fn passes_the_exit_status_through_and_keeps_a_crashed_profile() {
    let (o, _dir) = profile(&["--", "sh", "-c", "exit 3"], None);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    let hot = hot();
    let script = format!("{} 150; kill -SEGV $$", hot.display());
    let (o, dir) = profile(&["--", "sh", "-c", &script], None);
    assert_eq!(o.status.code(), Some(128 + 11), "{}", stderr(&o));
    assert!(stderr(&o).contains("SIGSEGV"), "{}", stderr(&o));
    let (one, three) = hot_weights(&out(&dir).join("stacks.folded"));
    // `hot 150` is about 650 samples of CPU time, however busy the machine.
    assert!(one + three > 50, "{one} + {three}");
    let r = report(&dir);
    assert!(
        r.benchmarks[0]
            .notes
            .iter()
            .any(|n| n.code == "command_failed")
    );
}

#[test]
fn a_missing_command_or_pid_is_a_clear_error() {
    let (o, dir) = profile(&["--", "perfhub-no-such-command"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("command not found: \"perfhub-no-such-command\""),
        "{}",
        stderr(&o)
    );
    assert!(!out(&dir).exists());

    // pid_max is at most 2^22.
    let (o, _dir) = profile(&["-p", "4999999", "--duration", "1s"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no process with pid 4999999"),
        "{}",
        stderr(&o)
    );

    let (o, _dir) = profile(&[], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing to profile"), "{}", stderr(&o));
}

#[test]
fn attaches_to_a_running_process() {
    let hot = hot();
    // The program runs for seconds, not for ever: it must not finish while
    // this test waits for its turn or for perfhub to be built.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    perfhub_bin();
    let mut child = Command::new(&hot).arg("2000").spawn().unwrap();
    let pid = child.id().to_string();
    let (o, dir) = profile_unlocked(&["-p", &pid, "--duration", "1s"], None);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Within one second the program runs hot_one_share or hot_three_shares,
    // or both: whichever, it is named. How much CPU it got in that second
    // depends on the machine's other work, so the samples are checked
    // against the CPU time the timeline saw it use: at 999 Hz, nearly every
    // millisecond of it is a sample in one of the two (half, to leave room
    // for the timeline's edges and ticks).
    let (one, three) = hot_weights(&out(&dir).join("stacks.folded"));
    let r = report(&dir);
    let b = &r.benchmarks[0];
    let cpu = b.measurement("cpu_utilization").unwrap();
    let wall = b.measurement("wall_time").and_then(|m| m.value).unwrap();
    let cpu_seconds = cpu.summary.as_ref().unwrap().mean * wall;
    assert!(cpu_seconds > 0.0, "{:?}", cpu.samples);
    assert!(
        (one + three) as f64 >= 0.5 * 999.0 * cpu_seconds,
        "{one} + {three} samples for {cpu_seconds:.3} s of CPU: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&format!("pid {pid} (hot")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn says_why_when_perf_event_open_is_refused_and_falls_back() {
    let hot = hot();
    // The seccomp filter refuses perf_event_open to perfhub and to anything
    // it starts, `perf record` included: the timeline is what is left.
    let (o, dir) = profile(&["--", hot.to_str().unwrap(), "100"], Some(libc::EACCES));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = stderr(&o);
    assert!(summary.contains("seccomp"), "{summary}");
    assert!(summary.contains("timeline only"), "{summary}");
    let r = report(&dir);
    let notes = &r.benchmarks[0].notes;
    assert!(
        notes
            .iter()
            .any(|n| n.code == "sampler_fallback" && n.message.contains("seccomp")),
        "{notes:?}"
    );
    let metrics: Vec<&str> = r.benchmarks[0]
        .measurements
        .iter()
        .map(|m| m.metric.as_str())
        .collect();
    assert!(metrics.contains(&"cpu_utilization") && metrics.contains(&"user_time"));
    assert!(!out(&dir).join("flamegraph.svg").exists());

    // Asked for perf_event_open only, the refusal is an error that says why.
    let (o, _dir) = profile(
        &["--sampler", "perf-event", "--", hot.to_str().unwrap(), "10"],
        Some(libc::EPERM),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("seccomp"), "{}", stderr(&o));
}

#[test]
fn records_off_cpu_time_where_threads_wait() {
    let (o, dir) = profile(&["--off-cpu", "--", "sh", "-c", "sleep 0.3"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let folded = std::fs::read_to_string(out(&dir).join("offcpu.folded")).unwrap();
    let slept: u64 = folded
        .lines()
        .filter(|l| l.starts_with("sleep;[blocked]") && l.contains("nanosleep"))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    // 300 ms asleep, in nanoseconds. The interval runs to the moment the
    // thread is back on a CPU, so a busy machine adds its wake-up delay:
    // up to 300 ms is allowed for that, short of the 600 ms that counting
    // the sleep twice would give.
    assert!(
        (250_000_000..600_000_000).contains(&slept),
        "{slept} ns asleep: {folded}"
    );
}

#[test]
fn perf_record_stands_in_when_asked() {
    let hot = hot();
    let (o, dir) = profile(
        &[
            "--sampler",
            "perf-record",
            "--",
            hot.to_str().unwrap(),
            "300",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("perf record"), "{}", stderr(&o));
    assert_three_to_one(&out(&dir).join("stacks.folded"));
    let r = report(&dir);
    assert!(
        r.benchmarks[0]
            .notes
            .iter()
            .any(|n| n.code == "sampler" && n.message.starts_with("perf record"))
    );

    // The command's status passes through perf too.
    let (o, _dir) = profile(
        &["--sampler", "perf-record", "--", "sh", "-c", "exit 5"],
        None,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
}

/// A C fixture built with `cc` into `dir` (frame pointers, no inlining,
/// debug info), stripped of everything when `strip`.
fn c_built(dir: &Path, source: &str, strip: bool) -> PathBuf {
    let exe = dir.join(source.trim_end_matches(".c"));
    let status = Command::new("cc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o"])
        .arg(&exe)
        .arg(
            crate::support::root()
                .join("fixtures/workloads")
                .join(source),
        )
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cc could not build {source}: install gcc"
    );
    if strip {
        let status = Command::new("strip").arg("--strip-all").arg(&exe).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "strip failed: install binutils"
        );
    }
    exe
}

/// Self weight of each leaf frame in folded stacks.
fn leaves(folded: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(folded).unwrap().lines() {
        let (stack, weight) = line.rsplit_once(' ').unwrap();
        let leaf = stack.rsplit(';').next().unwrap().to_string();
        *out.entry(leaf).or_insert(0) += weight.parse::<u64>().unwrap();
    }
    out
}

#[test]
fn names_plain_c_functions_as_written_and_writes_a_firefox_profile() {
    let build = tempfile::tempdir().unwrap();
    // `f` and `g` are what a C++ demangler reads as `float` and `__float128`.
    let exe = c_built(build.path(), "c_names.c", false);
    let (o, dir) = profile(&["--", exe.to_str().unwrap(), "200"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leaves = leaves(&out(&dir).join("stacks.folded"));
    let total: u64 = leaves.values().sum();
    let share = |n: &str| leaves.get(n).copied().unwrap_or(0) as f64 / total as f64;
    assert!(
        !leaves.contains_key("float") && !leaves.contains_key("__float128"),
        "{leaves:?}"
    );
    // f runs one share of the work and g two.
    assert!((share("f") - 1.0 / 3.0).abs() < 0.05, "{leaves:?}");
    assert!((share("g") - 2.0 / 3.0).abs() < 0.05, "{leaves:?}");

    // The Firefox Profiler's format: a track per thread, samples in time
    // order, names resolved through its tables.
    let text = std::fs::read_to_string(out(&dir).join("profile.firefox.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["meta"]["version"].is_number() && v["meta"]["interval"].is_number());
    let threads = v["threads"].as_array().expect("threads");
    assert!(!threads.is_empty());
    let t = &threads[0];
    assert!(t["name"].is_string() && t["processName"].is_string(), "{t}");
    let samples = t["samples"]["length"].as_u64().expect("a sample count");
    assert!(samples > 100, "{samples} samples");
    let deltas = t["samples"]["timeDeltas"].as_array().expect("time deltas");
    assert_eq!(deltas.len() as u64, samples);
    assert!(deltas.iter().all(|d| d.as_f64().is_some_and(|d| d >= 0.0)));
    assert!(text.contains("\"f\"") && text.contains("\"g\""));
}

#[test]
fn a_stripped_binary_shows_one_row_per_function() {
    let build = tempfile::tempdir().unwrap();
    let exe = c_built(build.path(), "three_shares.c", true);
    let (o, dir) = profile(&["--", exe.to_str().unwrap(), "100"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leaves = leaves(&out(&dir).join("stacks.folded"));
    let total: u64 = leaves.values().sum();
    let mut ours: Vec<(&String, &u64)> = leaves
        .iter()
        .filter(|(name, _)| name.starts_with("three_shares+0x"))
        .collect();
    ours.sort_by(|a, b| b.1.cmp(a.1));
    // One row per function (from .eh_frame), not one per instruction.
    assert!(ours.len() <= 4, "{ours:?}");
    let shares: Vec<f64> = ours
        .iter()
        .take(3)
        .map(|(_, w)| **w as f64 / total as f64)
        .collect();
    assert_eq!(shares.len(), 3, "{ours:?}");
    for (got, want) in shares.iter().zip([0.5, 1.0 / 3.0, 1.0 / 6.0]) {
        assert!(
            (got - want).abs() < 0.05,
            "{shares:?} against 1/2, 1/3, 1/6: {ours:?}"
        );
    }
    let r = report(&dir);
    assert!(
        r.benchmarks[0]
            .notes
            .iter()
            .chain(&r.notes)
            .any(|n| n.code == "unwind_function_bounds"),
        "no note on the function bounds"
    );
}
