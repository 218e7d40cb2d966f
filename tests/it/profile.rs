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
    // In the output's directory: what the command leaves in its working
    // directory (Node's V8 log, for one) goes there too.
    cmd.arg("profile")
        .arg("-o")
        .arg(&out)
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
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

/// A Python program with known parts: recursive calls, a spinning loop, and
/// C's `sorted` calling back into Python (a second evaluation loop on the
/// same thread). The line numbers are asserted below.
const PYTHON_SCRIPT: &str = "import sys


def fibonacci_slow(n):
    if n < 2:
        return n
    return fibonacci_slow(n - 1) + fibonacci_slow(n - 2)


def hot_loop(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def key_of(x):
    return (x * 7919) % 10007


def sort_with_key(n):
    return sorted(range(n), key=key_of)[0]


def main(scale):
    for _ in range(scale):
        fibonacci_slow(22)
        hot_loop(60000)
        sort_with_key(30000)


main(int(sys.argv[1]))
";

/// The Python interpreter `python3` starts (not a shim that starts it, as
/// pyenv's is), and `script.py` written into `dir`.
fn python_and_script(dir: &Path) -> (String, PathBuf) {
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs: install it (Debian: apt-get install python3)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let python = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let script = dir.join("script.py");
    std::fs::write(&script, PYTHON_SCRIPT).unwrap();
    (python, script)
}

/// Inclusive weight of each Python frame (`function (file.py:LINE)`) in
/// folded stacks, and the weight of the samples in the test's script (the
/// interpreter's start-up, which imports what `site` finds, is left out).
fn python_weights(folded: &Path) -> (std::collections::BTreeMap<String, u64>, u64) {
    let mut by_frame = std::collections::BTreeMap::new();
    let mut total = 0;
    for line in std::fs::read_to_string(folded).unwrap().lines() {
        let (stack, weight) = line.rsplit_once(' ').unwrap();
        let weight: u64 = weight.parse().unwrap();
        let frames: std::collections::BTreeSet<&str> = stack
            .split(';')
            .filter(|f| f.ends_with(')') && f.contains(".py:"))
            .collect();
        if !frames.iter().any(|f| f.contains("(script.py:")) {
            continue;
        }
        total += weight;
        for f in frames {
            *by_frame.entry(f.to_string()).or_insert(0) += weight;
        }
    }
    (by_frame, total)
}

#[test]
fn names_python_functions_in_the_native_stack() {
    let work = tempfile::tempdir().unwrap();
    let (python, script) = python_and_script(work.path());
    for call_graph in ["dwarf", "fp"] {
        let (o, dir) = profile(
            &[
                "--call-graph",
                call_graph,
                "--",
                &python,
                script.to_str().unwrap(),
                "24",
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let folded_path = out(&dir).join("stacks.folded");
        let folded = std::fs::read_to_string(&folded_path).unwrap();
        let excerpt = &folded[..folded.len().min(3000)];
        let (weights, total) = python_weights(&folded_path);
        let share = |f: &str| weights.get(f).copied().unwrap_or(0) as f64 / total as f64;
        // Every sample of the script's run is under `main`, and the three
        // parts share it: fibonacci_slow about a quarter, hot_loop and
        // sort_with_key (with key_of under it) the rest, by py-spy's
        // measure on this script (see docs/benchmarks.md); the bounds leave
        // room for a Python version that runs one part faster.
        assert!(
            total > 60,
            "{call_graph}: {total} Python samples: {excerpt}"
        );
        assert!(
            share("main (script.py:25)") > 0.9,
            "{call_graph}: {weights:?}"
        );
        let fib = share("fibonacci_slow (script.py:4)");
        let hot = share("hot_loop (script.py:10)");
        let sort = share("sort_with_key (script.py:21)");
        assert!((0.1..0.6).contains(&fib), "{call_graph}: {weights:?}");
        assert!((0.1..0.6).contains(&hot), "{call_graph}: {weights:?}");
        assert!((0.1..0.7).contains(&sort), "{call_graph}: {weights:?}");
        assert!(fib + hot + sort > 0.9, "{call_graph}: {weights:?}");
        assert!(
            share("key_of (script.py:17)") > 0.02,
            "{call_graph}: {weights:?}"
        );
        let svg = std::fs::read_to_string(out(&dir).join("flamegraph.svg")).unwrap();
        assert!(svg.contains("fibonacci_slow (script.py:4)"), "{call_graph}");
        let r = report(&dir);
        let note = r.benchmarks[0]
            .notes
            .iter()
            .find(|n| n.code == "python_frames")
            .unwrap_or_else(|| panic!("{call_graph}: no python_frames note: {}", stderr(&o)));
        assert!(note.message.contains("Python 3."), "{}", note.message);
        if call_graph == "dwarf" {
            // The native frames stay around the Python ones: the evaluation
            // loop's frames are replaced, and the C code of `sorted` stands
            // between sort_with_key and the key function it calls.
            let nested = folded.lines().any(|l| {
                let (stack, _) = l.rsplit_once(' ').unwrap();
                let frames: Vec<&str> = stack.split(';').collect();
                let at = |name: &str| frames.iter().position(|f| *f == name);
                matches!(
                    (at("sort_with_key (script.py:21)"), at("key_of (script.py:17)")),
                    (Some(s), Some(k)) if k > s + 1
                        && frames[s + 1..k].iter().any(|f| !f.contains(".py:"))
                )
            });
            assert!(nested, "{excerpt}");
            assert!(
                folded.lines().any(|l| l.contains(";main (script.py:25);")
                    && !l.contains("_PyEval_EvalFrameDefault")),
                "{excerpt}"
            );
        }
    }
}

#[test]
fn names_python_functions_of_a_running_process() {
    let work = tempfile::tempdir().unwrap();
    let (python, script) = python_and_script(work.path());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    perfhub_bin();
    let mut child = Command::new(&python)
        .arg(&script)
        .arg("1000")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Past the interpreter's start-up.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = child.id().to_string();
    let (o, dir) = profile_unlocked(
        &["--call-graph", "dwarf", "-p", &pid, "--duration", "2s"],
        None,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (weights, total) = python_weights(&out(&dir).join("stacks.folded"));
    assert!(total > 50, "{total} Python samples: {weights:?}");
    assert!(
        weights.contains_key("fibonacci_slow (script.py:4)")
            && weights.contains_key("hot_loop (script.py:10)"),
        "{weights:?}"
    );
}

/// `perfhub profile` with `args` and these environment variables set (and
/// `DEBUGINFOD_URLS` removed unless given), one profile at a time.
fn profile_with_env(
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> (Output, tempfile::TempDir) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(perfhub_bin());
    cmd.arg("profile")
        .arg("-o")
        .arg(out(&dir))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DEBUGINFOD_URLS")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    (cmd.output().expect("perfhub starts"), dir)
}

/// `fixtures/workloads/<source>` built into `dir` with `cc` and `extra`
/// flags, its debug info split off into `<exe>.debug` by `objcopy
/// --only-keep-debug`, then stripped of everything: the binary and its debug
/// file.
fn c_split(dir: &Path, source: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let exe = dir.join(source.trim_end_matches(".c"));
    let debug = dir.join(format!("{}.debug", source.trim_end_matches(".c")));
    let run = |cmd: &mut Command| cmd.status().is_ok_and(|s| s.success());
    let ok = run(Command::new("cc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-fno-inline"])
        .args(extra)
        .arg("-o")
        .arg(&exe)
        .arg(
            crate::support::root()
                .join("fixtures/workloads")
                .join(source),
        ))
        && run(Command::new("objcopy")
            .arg("--only-keep-debug")
            .arg(&exe)
            .arg(&debug))
        && run(Command::new("strip").arg("--strip-all").arg(&exe));
    assert!(
        ok,
        "building {source} with separate debug info failed: install gcc and binutils (cc, objcopy, strip)"
    );
    (exe, debug)
}

/// The GNU build-id of `path` in hex, as `readelf -n` shows it.
fn gnu_build_id(path: &Path) -> String {
    let o = Command::new("readelf")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
        .expect("a build-id note")
}

/// `three_shares`' three functions are named, in their 1:2:3 shares.
fn assert_three_shares_named(folded: &Path) {
    let leaves = leaves(folded);
    let [one, two, three] =
        ["one_share", "two_shares", "three_shares"].map(|f| leaves.get(f).copied().unwrap_or(0));
    let total = (one + two + three) as f64;
    assert!(total > 100.0, "{leaves:?}");
    for (got, want) in [one, two, three]
        .iter()
        .zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0])
    {
        assert!(
            (*got as f64 / total - want).abs() < 0.07,
            "{one} / {two} / {three}: {leaves:?}"
        );
    }
}

/// The notes of the profile's benchmark with `code`.
fn notes_with(dir: &tempfile::TempDir, code: &str) -> Vec<String> {
    report(dir).benchmarks[0]
        .notes
        .iter()
        .filter(|n| n.code == code)
        .map(|n| n.message.clone())
        .collect()
}

/// Puts `debug` where `exe`'s build-id says its debug file is, in a tree
/// under `dir` given in `PERFHUB_DEBUG_DIRS`, and profiles `exe 100`;
/// returns the outcome and where the file went.
fn profile_with_build_id_tree(
    dir: &Path,
    exe: &Path,
    debug: &Path,
) -> (Output, tempfile::TempDir, PathBuf) {
    let id = gnu_build_id(exe);
    let tree = dir.join("debug");
    let target = tree
        .join(".build-id")
        .join(&id[..2])
        .join(format!("{}.debug", &id[2..]));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(debug, &target).unwrap();
    let (o, out_dir) = profile_with_env(
        &["--", exe.to_str().unwrap(), "100"],
        &[("PERFHUB_DEBUG_DIRS", tree.as_os_str())],
    );
    (o, out_dir, target)
}

#[test]
fn a_stripped_binary_is_named_from_a_build_id_tree_in_perfhub_debug_dirs() {
    let build = tempfile::tempdir().unwrap();
    let (exe, debug) = c_split(build.path(), "three_shares.c", &["-Wl,--build-id=sha1"]);
    let (o, dir, target) = profile_with_build_id_tree(build.path(), &exe, &debug);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_shares_named(&out(&dir).join("stacks.folded"));
    let notes = notes_with(&dir, "separate_debug_info");
    assert!(
        notes
            .iter()
            .any(|n| n.contains(&target.display().to_string())),
        "{notes:?}"
    );
}

#[test]
fn a_debug_file_of_another_build_is_not_used_and_the_profile_says_so() {
    let build = tempfile::tempdir().unwrap();
    let (exe, _) = c_split(build.path(), "three_shares.c", &["-Wl,--build-id=sha1"]);
    let id = gnu_build_id(&exe);
    // Another program's debug file, put where this binary's belongs.
    let other = tempfile::tempdir().unwrap();
    let (_, wrong) = c_split(other.path(), "c_names.c", &["-Wl,--build-id=sha1"]);
    let (o, dir, target) = profile_with_build_id_tree(build.path(), &exe, &wrong);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leaves = leaves(&out(&dir).join("stacks.folded"));
    assert!(
        !leaves.keys().any(|l| l == "f" || l == "g"),
        "named from the wrong file: {leaves:?}"
    );
    let notes = notes_with(&dir, "debug_file_rejected");
    assert!(
        notes.len() == 1
            && notes[0].contains(&target.display().to_string())
            && notes[0].contains(&format!("the binary's {id}")),
        "{notes:?}"
    );
}

#[test]
fn a_stripped_binary_is_named_through_its_gnu_debuglink() {
    let build = tempfile::tempdir().unwrap();
    // No build-id: the debug link alone can find the file.
    let (exe, debug) = c_split(build.path(), "three_shares.c", &["-Wl,--build-id=none"]);
    let linked = Command::new("objcopy")
        .arg(format!("--add-gnu-debuglink={}", debug.display()))
        .arg(&exe)
        .status()
        .is_ok_and(|s| s.success());
    assert!(linked, "objcopy --add-gnu-debuglink failed");
    // Under DIR/<directory of the binary>/, as gdb looks for it.
    let tree = build.path().join("debug");
    let exe_dir = exe.parent().unwrap().canonicalize().unwrap();
    let target = tree
        .join(exe_dir.strip_prefix("/").unwrap())
        .join("three_shares.debug");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(&debug, &target).unwrap();
    let (o, dir) = profile_with_env(
        &["--", exe.to_str().unwrap(), "100"],
        &[("PERFHUB_DEBUG_DIRS", tree.as_os_str())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_shares_named(&out(&dir).join("stacks.folded"));
    let notes = notes_with(&dir, "separate_debug_info");
    assert!(
        notes.iter().any(|n| n.contains("three_shares.debug")),
        "{notes:?}"
    );
}

/// A debuginfod server on loopback: `GET /buildid/HEX/debuginfo` answers
/// `files[HEX]`, anything else 404, or every request `status` when it is
/// not 200. Returns its URL and the paths asked for.
fn debuginfod_server(
    files: std::collections::HashMap<String, Vec<u8>>,
    status: u16,
) -> (String, std::sync::Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(path.clone());
            let body = path
                .strip_prefix("/buildid/")
                .and_then(|p| p.strip_suffix("/debuginfo"))
                .and_then(|id| files.get(id));
            let (code, body): (u16, &[u8]) = match body {
                _ if status != 200 => (status, b"server trouble"),
                Some(bytes) => (200, bytes),
                None => (404, b"not found"),
            };
            let mut w = &stream;
            let _ = write!(
                w,
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = w.write_all(body);
        }
    });
    (url, asked)
}

#[test]
fn debuginfod_serves_a_stripped_binarys_debug_file_and_it_is_cached() {
    let build = tempfile::tempdir().unwrap();
    let (exe, debug) = c_split(build.path(), "three_shares.c", &["-Wl,--build-id=sha1"]);
    let id = gnu_build_id(&exe);
    let files = [(id.clone(), std::fs::read(&debug).unwrap())].into();
    std::fs::remove_file(&debug).unwrap();
    let (url, asked) = debuginfod_server(files, 200);
    let cache = build.path().join("cache");
    let empty = build.path().join("no-debug-here");
    std::fs::create_dir(&empty).unwrap();
    let envs = [
        ("DEBUGINFOD_URLS", std::ffi::OsStr::new(&url)),
        ("DEBUGINFOD_CACHE_PATH", cache.as_os_str()),
        ("DEBUGINFOD_TIMEOUT", "20".as_ref()),
        ("PERFHUB_DEBUG_DIRS", empty.as_os_str()),
    ];
    let (o, dir) = profile_with_env(&["--", exe.to_str().unwrap(), "100"], &envs);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_shares_named(&out(&dir).join("stacks.folded"));
    let ours = format!("/buildid/{id}/debuginfo");
    assert_eq!(
        asked.lock().unwrap().iter().filter(|p| **p == ours).count(),
        1,
        "{:?}",
        asked.lock().unwrap()
    );
    // Cached as elfutils caches it.
    let cached = cache.join(&id).join("debuginfo");
    assert!(cached.is_file(), "{} missing", cached.display());
    let notes = notes_with(&dir, "debuginfod");
    assert!(
        notes.iter().any(|n| n.contains(&url) && n.contains(&id)),
        "{notes:?}"
    );

    // The next profile finds it in the cache and does not ask again.
    let (o, dir) = profile_with_env(&["--", exe.to_str().unwrap(), "100"], &envs);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_three_shares_named(&out(&dir).join("stacks.folded"));
    assert_eq!(
        asked.lock().unwrap().iter().filter(|p| **p == ours).count(),
        1,
        "{:?}",
        asked.lock().unwrap()
    );
    let notes = notes_with(&dir, "debuginfod");
    assert!(notes.iter().any(|n| n.contains("cache")), "{notes:?}");
}

#[test]
fn a_failing_debuginfod_server_is_a_note_not_a_failed_profile() {
    let build = tempfile::tempdir().unwrap();
    let (exe, _debug) = c_split(build.path(), "three_shares.c", &["-Wl,--build-id=sha1"]);
    let (url, _asked) = debuginfod_server(Default::default(), 500);
    let cache = build.path().join("cache");
    let empty = build.path().join("no-debug-here");
    std::fs::create_dir(&empty).unwrap();
    let (o, dir) = profile_with_env(
        &["--", exe.to_str().unwrap(), "50"],
        &[
            ("DEBUGINFOD_URLS", std::ffi::OsStr::new(&url)),
            ("DEBUGINFOD_CACHE_PATH", cache.as_os_str()),
            ("PERFHUB_DEBUG_DIRS", empty.as_os_str()),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Named by function bounds instead.
    let leaves = leaves(&out(&dir).join("stacks.folded"));
    assert!(
        leaves.keys().any(|l| l.starts_with("three_shares+0x")),
        "{leaves:?}"
    );
    let notes = notes_with(&dir, "debuginfod_failed");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("three_shares") && n.contains("HTTP 500")),
        "{notes:?}"
    );
    assert!(!cache.join(gnu_build_id(&exe)).exists());
}

/// Folded stacks as frames, root first, with their weights.
fn folded_stacks(folded: &Path) -> Vec<(Vec<String>, u64)> {
    std::fs::read_to_string(folded)
        .unwrap()
        .lines()
        .map(|line| {
            let (stack, weight) = line.rsplit_once(' ').unwrap();
            (
                stack.split(';').map(str::to_string).collect(),
                weight.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn kernel_frames_sit_on_top_of_the_user_stack_with_kernel() {
    let build = tempfile::tempdir().unwrap();
    let exe = c_built(build.path(), "syscalls.c", false);
    let exe = exe.to_str().unwrap();
    for call_graph in ["fp", "dwarf"] {
        let (o, dir) = profile(
            &["--kernel", "--call-graph", call_graph, "--", exe, "2"],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let stacks = folded_stacks(&out(&dir).join("stacks.folded"));
        let total: u64 = stacks.iter().map(|(_, w)| w).sum();
        let in_kernel: u64 = stacks
            .iter()
            .filter(|(s, _)| s.iter().any(|f| f.ends_with("_[k]")))
            .map(|(_, w)| w)
            .sum();
        let shown = || {
            let mut v: Vec<String> = stacks
                .iter()
                .take(12)
                .map(|(s, w)| format!("{} {w}", s.join(";")))
                .collect();
            v.sort();
            v.join("\n")
        };
        // Nearly all of its time is system calls.
        assert!(
            in_kernel as f64 > 0.3 * total as f64,
            "{call_graph}: {in_kernel} of {total} samples in the kernel:\n{}",
            shown()
        );
        // The system call's own functions, named from /proc/kallsyms.
        assert!(
            stacks
                .iter()
                .any(|(s, _)| s.iter().any(|f| f.ends_with("_[k]")
                    && (f.contains("sys_write") || f.contains("entry_SYSCALL")))),
            "{call_graph}:\n{}",
            shown()
        );
        // Kernel frames on top: none under a user frame, and user frames
        // (the program's, below the command name) under them.
        for (s, _) in &stacks {
            if let Some(first) = s.iter().position(|f| f.ends_with("_[k]")) {
                assert!(
                    s[first..].iter().all(|f| f.ends_with("_[k]")),
                    "{call_graph}: {}",
                    s.join(";")
                );
            }
        }
        assert!(
            stacks.iter().any(|(s, _)| {
                s.iter()
                    .position(|f| f.ends_with("_[k]"))
                    .is_some_and(|first| first >= 2)
            }),
            "{call_graph}:\n{}",
            shown()
        );
        let r = report(&dir);
        let sampler = r.benchmarks[0]
            .notes
            .iter()
            .find(|n| n.code == "sampler")
            .unwrap();
        assert!(
            sampler.message.contains("kernel's frames"),
            "{}",
            sampler.message
        );
        assert!(notes_with(&dir, "kernel_frames_refused").is_empty());
    }

    // Without --kernel, no kernel frame at all.
    let (o, dir) = profile(&["--", exe, "1"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stacks = folded_stacks(&out(&dir).join("stacks.folded"));
    assert!(!stacks.is_empty());
    assert!(
        stacks
            .iter()
            .all(|(s, _)| s.iter().all(|f| !f.ends_with("_[k]"))),
        "{:?}",
        stacks.iter().take(5).collect::<Vec<_>>()
    );
}

/// As a user without capabilities under `perf_event_paranoid` 2, `--kernel`
/// is refused and said so, and the user frames are still profiled. Needs
/// root (to become that user) and a paranoid level of 2: skipped otherwise.
#[test]
fn kernel_frames_refused_are_said_plainly() {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if paranoid != Some(2) || !root || !setpriv {
        eprintln!(
            "skipped: needs root, setpriv and kernel.perf_event_paranoid 2 (it is {paranoid:?})"
        );
        return;
    }
    let build = tempfile::tempdir().unwrap();
    let exe = c_built(build.path(), "syscalls.c", false);
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // World-writable, for the user the profile runs as.
    use std::os::unix::fs::PermissionsExt;
    for d in [dir.path(), build.path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(perfhub_bin())
        .arg("profile")
        .arg("-o")
        .arg(out(&dir))
        .args(["--kernel", "--"])
        .arg(&exe)
        .arg("1")
        .env("NO_COLOR", "1")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("setpriv starts");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary = stderr(&o);
    assert!(
        summary.contains("--kernel") && summary.contains("perf_event_paranoid is 2"),
        "{summary}"
    );
    let notes = notes_with(&dir, "kernel_frames_refused");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("user frames only") && n.contains("cap_perfmon")),
        "{notes:?}"
    );
    let stacks = folded_stacks(&out(&dir).join("stacks.folded"));
    assert!(!stacks.is_empty());
    assert!(
        stacks
            .iter()
            .all(|(s, _)| s.iter().all(|f| !f.ends_with("_[k]")))
    );
}

/// A Node script in `dir` whose hot function is `perfhubHotLoop`.
fn hot_js(dir: &Path) -> PathBuf {
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is needed for this test (JIT code named from its perf map and jitdump): install nodejs, as `cargo xtask ci` does"
    );
    let script = dir.join("hot.js");
    std::fs::write(
        &script,
        "function perfhubHotLoop(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
  return x;
}
let total = 0;
for (let round = 0; round < 200; round++) total += perfhubHotLoop(1000000);
console.log(total);
",
    )
    .unwrap();
    script
}

/// Asserts that most of `folded`'s samples have `perfhubHotLoop` as their
/// leaf, named as V8 names it.
fn assert_js_loop_named(folded: &Path) {
    let leaves = leaves(folded);
    let total: u64 = leaves.values().sum();
    let js: u64 = leaves
        .iter()
        .filter(|(name, _)| name.contains("perfhubHotLoop") && name.contains("hot.js"))
        .map(|(_, w)| w)
        .sum();
    // The loop is nearly all the program's work, once V8 has compiled it.
    assert!(
        js as f64 > 0.3 * total as f64,
        "{js} of {total} samples in perfhubHotLoop: {:?}",
        leaves
            .iter()
            .filter(|(_, w)| **w * 50 > total)
            .collect::<Vec<_>>()
    );
}

#[test]
fn names_javascript_functions_from_nodes_perf_map() {
    let scripts = tempfile::tempdir().unwrap();
    let script = hot_js(scripts.path());
    let (o, dir) = profile(
        &["--", "node", "--perf-basic-prof", script.to_str().unwrap()],
        None,
    );
    // node leaves its map in /tmp; this run's names the script's path.
    for entry in std::fs::read_dir("/tmp").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("perf-")
            && name.ends_with(".map")
            && std::fs::read_to_string(entry.path())
                .is_ok_and(|map| map.contains(script.to_str().unwrap()))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_js_loop_named(&out(&dir).join("stacks.folded"));
}

#[test]
fn names_javascript_functions_from_nodes_jitdump() {
    let scripts = tempfile::tempdir().unwrap();
    let script = hot_js(scripts.path());
    // `--perf-prof` writes jit-PID.dump into the working directory (the
    // profile's temporary one) and no perf map: the names come from the
    // jitdump file V8 maps.
    let (o, dir) = profile(
        &["--", "node", "--perf-prof", script.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dumps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("jit-") && n.ends_with(".dump"))
        .collect();
    assert_eq!(dumps.len(), 1, "node wrote no jitdump file: {dumps:?}");
    let pid = dumps[0]
        .trim_start_matches("jit-")
        .trim_end_matches(".dump");
    assert!(
        !Path::new(&format!("/tmp/perf-{pid}.map")).exists(),
        "node wrote a perf map too: the names could have come from it"
    );
    assert_js_loop_named(&out(&dir).join("stacks.folded"));
}

#[test]
fn attaches_to_a_process_whose_threads_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let churn = c_built(dir.path(), "thread_churn.c", false);
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    perfhub_bin();
    // Threads start and end under perfhub while it lists them and opens
    // their events: one gone before its events open is skipped, not an
    // error (it was, about one attach in three).
    let mut child = Command::new(&churn).arg("30").spawn().unwrap();
    let pid = child.id().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let args = ["-p", &pid, "--duration", "400ms", "--sampler", "perf-event"];
        outcomes.push(profile_unlocked(&args, None));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for (o, dir) in outcomes {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let leaves = leaves(&out(&dir).join("stacks.folded"));
        assert!(
            leaves.contains_key("spin_a_while"),
            "{leaves:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_file_as_the_output_directory_is_refused_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "not a directory\n").unwrap();
    let ran = dir.path().join("ran");
    for output in [file.clone(), file.join("sub")] {
        let o = Command::new(perfhub_bin())
            .arg("profile")
            .arg("-o")
            .arg(&output)
            .args(["--", "touch"])
            .arg(&ran)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{} is not a directory", file.display())),
            "{}",
            stderr(&o)
        );
        assert!(!ran.exists(), "the command ran: its profile would be lost");
    }
}

#[test]
fn a_profile_without_samples_says_why() {
    // At 10 Hz a sample needs 100 ms of one thread's CPU time: `sleep`
    // never gets there.
    let (o, dir) = profile(&["-F", "10", "--", "sleep", "0.2"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no CPU samples were taken"),
        "{}",
        stderr(&o)
    );
    assert_eq!(notes_with(&dir, "no_samples").len(), 1);
}

#[test]
fn names_the_vdsos_functions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = c_built(dir.path(), "clock_loop.c", false);
    let (o, out_dir) = profile(&["--", clock.to_str().unwrap(), "1"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let leaves = leaves(&out(&out_dir).join("stacks.folded"));
    let total: u64 = leaves.values().sum();
    // The vDSO's code is no file: it is named from a copy of its image
    // (`clock_gettime`, or its `__vdso_` alias), not `[vdso]+0x…`.
    let vdso: u64 = leaves
        .iter()
        .filter(|(name, _)| name.ends_with("clock_gettime") && !name.starts_with("__GI"))
        .map(|(_, w)| w)
        .sum();
    assert!(
        vdso as f64 > 0.2 * total as f64,
        "{vdso} of {total} samples in the vDSO's clock_gettime: {leaves:?}"
    );
    assert!(
        !leaves.keys().any(|name| name.starts_with("[vdso]")),
        "{leaves:?}"
    );
}
