//! Python frames in the native profile, without `-X perf`.
//!
//! CPython 3.8 to 3.13 (and what else the `py-spy` crate reads: 2.7, 3.3
//! to 3.15) keeps its call stack in its own frame objects, which the native
//! unwinder sees only as one `_PyEval_EvalFrameDefault` call after another.
//! While the command runs, a sampler thread reads every Python process's
//! frames from the outside with py-spy's reader (its library, without its
//! command line or libunwind): `process_vm_readv`, never pausing the
//! process (py-spy's `--nonblocking`), at the profile's frequency. Each
//! read is a snapshot: per thread, the Python frames (leaf first) at about
//! the moment it was taken, on the kernel's `CLOCK_MONOTONIC`, which the
//! perf samples are timed with too.
//!
//! After the run, each perf sample of a thread is matched with that
//! thread's snapshot nearest in time (of the two around it, the one whose
//! depth fits the native stack, else the nearer), within a tolerance of two
//! sampling periods, and merged as py-spy's `--native` view does: each
//! `_PyEval_EvalFrameDefault` native frame stands for the Python frames of
//! one evaluation loop (one frame up to 3.10; since 3.11 the frames up to
//! the next entry frame), which replace it, named `function (file.py:LINE)`
//! with the function's first line. Where the native stack has as many
//! evaluation frames as the snapshot has loops, the merge is exact; where
//! the counts differ (the stack moved between the two moments, or the
//! native chain is cut short), the frames are paired from the root when the
//! native chain reaches the thread's start, else from the leaf, and the
//! leftover Python frames go onto the last evaluation frame paired; with no
//! evaluation frame at all (frame-pointer chains through a CPython built
//! without frame pointers) the Python frames follow the process name.
//!
//! Python before 3.11 does not keep the OS thread id: it is read from the
//! thread's glibc `struct pthread` (the Python thread id is its address),
//! at the offset where the main thread's holds the process id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use perfhub_core::report::Note;
use perfhub_flame::StackProfile;
use py_spy::config::{LineNo, LockingStrategy};
use py_spy::{Config, PythonSpy, StackTrace};

use super::ThreadSamples;

/// How often the process tree is looked over for new Python processes.
const DISCOVER_EVERY: Duration = Duration::from_millis(100);
/// How long a process that looks like Python is retried for, while its
/// interpreter starts.
const ATTACH_FOR: Duration = Duration::from_secs(10);

/// One Python frame: its name as shown, and whether it ends an evaluation
/// loop's frames (an entry frame, or the one before a shim).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyFrame {
    pub label: String,
    pub ends_loop: bool,
}

/// What the sampler thread read.
#[derive(Debug, Default)]
pub(crate) struct PySamples {
    /// Distinct Python stacks, leaf first.
    pub stacks: Vec<Vec<PyFrame>>,
    /// Per OS thread, its snapshots in time order: `CLOCK_MONOTONIC`
    /// nanoseconds and the stack's index.
    pub by_tid: HashMap<u32, Vec<(u64, u32)>>,
    /// The Python processes read: pid and CPython version.
    pub processes: Vec<(u32, String)>,
    /// Processes that looked like Python and could not be read, and why.
    pub failures: Vec<(u32, String)>,
    /// Snapshots taken, and reads that failed (torn by the process running
    /// on, or the process gone).
    pub snapshots: u64,
    pub errors: u64,
    /// Time the sampler thread spent reading.
    pub busy: Duration,
}

/// The Python sampler thread.
pub(crate) struct PySampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<PySamples>>,
}

impl PySampler {
    /// Starts watching `root` and the processes it starts for Python
    /// interpreters, reading their stacks `frequency_hz` times a second.
    pub fn start(root: u32, frequency_hz: u64) -> Option<PySampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let period = Duration::from_nanos(1_000_000_000 / frequency_hz.max(1));
        let handle = std::thread::Builder::new()
            .name("perfhub-python".into())
            .spawn(move || Sampler::new(root, period).run(&flag))
            .ok()?;
        Some(PySampler {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread and hands back what it read.
    pub fn finish(mut self) -> PySamples {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .and_then(|h| {
                h.thread().unpark();
                h.join().ok()
            })
            .unwrap_or_default()
    }
}

impl Drop for PySampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

enum Watched {
    /// Not (yet) readable: tried since then.
    Pending {
        since: Instant,
    },
    Attached(Box<Attached>),
    /// Not Python, gone, or given up on.
    Done,
}

struct Attached {
    spy: PythonSpy,
    /// Python < 3.11: OS thread ids by pthread id.
    tids: TidMap,
}

struct Sampler {
    root: u32,
    period: Duration,
    watched: HashMap<u32, Watched>,
    interned: HashMap<Vec<PyFrame>, u32>,
    out: PySamples,
    config: Config,
}

impl Sampler {
    fn new(root: u32, period: Duration) -> Sampler {
        let config = Config {
            blocking: LockingStrategy::NonBlocking,
            native: false,
            lineno: LineNo::First,
            collect_thread_names: false,
            gil_only: false,
            dump_locals: 0,
            ..Config::default()
        };
        Sampler {
            root,
            period,
            watched: HashMap::new(),
            interned: HashMap::new(),
            out: PySamples::default(),
            config,
        }
    }

    fn run(mut self, stop: &AtomicBool) -> PySamples {
        let mut next = Instant::now();
        let mut discovered = None::<Instant>;
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if discovered.is_none_or(|d| now - d >= DISCOVER_EVERY) {
                self.discover();
                self.attach_pending();
                discovered = Some(now);
            }
            let started = Instant::now();
            let reading = self.snapshot();
            self.out.busy += started.elapsed();
            // With no Python process to read, wait for the next look.
            next += if reading { self.period } else { DISCOVER_EVERY };
            let now = Instant::now();
            if next <= now {
                // Behind (a slow read): skip what was missed.
                next = now;
            } else {
                std::thread::park_timeout(next - now);
            }
        }
        self.out
    }

    /// Adds `root` and its descendants not watched yet.
    fn discover(&mut self) {
        let mut todo = vec![self.root];
        let mut seen = HashSet::new();
        while let Some(pid) = todo.pop() {
            if !seen.insert(pid) {
                continue;
            }
            self.watched.entry(pid).or_insert(Watched::Pending {
                since: Instant::now(),
            });
            todo.extend(children(pid));
        }
    }

    fn attach_pending(&mut self) {
        for (&pid, w) in &mut self.watched {
            let Watched::Pending { since } = w else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                *w = Watched::Done;
                continue;
            }
            if !looks_like_python(pid) {
                // It may exec Python soon (a shim, a shell's `exec`).
                if since.elapsed() > ATTACH_FOR {
                    *w = Watched::Done;
                }
                continue;
            }
            match PythonSpy::new(pid as py_spy::Pid, &self.config) {
                Ok(spy) => {
                    self.out.processes.push((pid, spy.version.to_string()));
                    *w = Watched::Attached(Box::new(Attached {
                        spy,
                        tids: TidMap::default(),
                    }));
                }
                Err(e) if since.elapsed() > ATTACH_FOR => {
                    self.out.failures.push((pid, format!("{e:#}")));
                    *w = Watched::Done;
                }
                // The interpreter is not up yet: try again next round.
                Err(_) => {}
            }
        }
    }

    /// Reads every attached process once; whether there was any.
    fn snapshot(&mut self) -> bool {
        let mut any = false;
        let mut gone = Vec::new();
        for (&pid, w) in &mut self.watched {
            let Watched::Attached(a) = w else { continue };
            any = true;
            let t0 = monotonic_ns();
            let traces = a.spy.get_stack_traces();
            let t1 = monotonic_ns();
            let time = t0 + (t1.saturating_sub(t0)) / 2;
            match traces {
                Ok(traces) => {
                    self.out.snapshots += 1;
                    let single = traces.len() == 1;
                    for trace in traces {
                        let Some(tid) = os_tid(pid, &trace, single, &mut a.tids) else {
                            continue;
                        };
                        let stack = frames(&trace);
                        let next = self.interned.len() as u32;
                        let id = *self.interned.entry(stack).or_insert_with_key(|s| {
                            self.out.stacks.push(s.clone());
                            next
                        });
                        self.out.by_tid.entry(tid).or_default().push((time, id));
                    }
                }
                Err(_) => {
                    self.out.errors += 1;
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        gone.push(pid);
                    }
                }
            }
        }
        for pid in gone {
            self.watched.insert(pid, Watched::Done);
        }
        any
    }
}

/// A trace's frames, leaf first, named `function (file.py:LINE)`.
fn frames(trace: &StackTrace) -> Vec<PyFrame> {
    trace
        .frames
        .iter()
        .map(|f| {
            let file = f.short_filename.as_deref().unwrap_or(&f.filename);
            PyFrame {
                label: format!("{} ({}:{})", f.name, file, f.line),
                ends_loop: f.is_entry || f.is_shim_entry,
            }
        })
        .collect()
}

/// The process's children, from `/proc/PID/task/*/children`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether `pid` runs a Python interpreter: its executable is named
/// `python…`, or it maps `libpython`.
fn looks_like_python(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    if exe
        .as_ref()
        .and_then(|e| e.file_name())
        .is_some_and(|n| n.to_string_lossy().starts_with("python"))
    {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .is_ok_and(|maps| maps.contains("/libpython"))
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// OS thread ids of Python < 3.11's threads, by pthread id.
#[derive(Default)]
struct TidMap {
    /// The offset of `tid` in glibc's `struct pthread`, once found.
    offset: Option<usize>,
    known: HashMap<u64, u32>,
}

/// The OS thread id of `trace`'s thread: Python 3.11+ keeps it; before,
/// it is read from the thread's `struct pthread`, or is the process id
/// when the process has a single Python thread.
fn os_tid(pid: u32, trace: &StackTrace, single: bool, map: &mut TidMap) -> Option<u32> {
    if let Some(tid) = trace.os_thread_id {
        return u32::try_from(tid).ok();
    }
    let pthread = trace.thread_id;
    if let Some(&tid) = map.known.get(&pthread) {
        return Some(tid);
    }
    let tid = pthread_tid(pid, pthread, map).or(single.then_some(pid))?;
    map.known.insert(pthread, tid);
    Some(tid)
}

/// The bytes of `struct pthread` searched for the thread id.
const PTHREAD_BYTES: usize = 2048;

fn pthread_tid(pid: u32, pthread: u64, map: &mut TidMap) -> Option<u32> {
    let bytes = read_remote(pid, pthread, PTHREAD_BYTES)?;
    let at = |off: usize| -> Option<u32> {
        let v = i32::from_ne_bytes(bytes.get(off..off + 4)?.try_into().ok()?);
        u32::try_from(v).ok().filter(|v| *v > 0)
    };
    let tids: HashSet<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let taken: HashSet<u32> = map.known.values().copied().collect();
    if let Some(off) = map.offset
        && let Some(tid) = at(off).filter(|t| tids.contains(t) && !taken.contains(t))
    {
        return Some(tid);
    }
    // The first 4-aligned word that holds a live thread id of the process
    // not claimed yet: glibc's `tid` field (0x2d0 on x86_64 today).
    let off = (0..PTHREAD_BYTES - 4)
        .step_by(4)
        .find(|off| at(*off).is_some_and(|t| tids.contains(&t) && !taken.contains(&t)))?;
    map.offset = Some(off);
    at(off)
}

/// `len` bytes at `addr` of process `pid`.
fn read_remote(pid: u32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: `local` covers `buf`, which lives through the call; the
    // kernel checks the remote range.
    let n = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    (n == len as isize).then_some(buf)
}

/// How the samples were merged.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergeStats {
    /// Samples of threads with Python snapshots.
    pub python_threads_samples: u64,
    /// Of those, merged with a snapshot: exactly (as many evaluation frames
    /// as Python loops), or approximately.
    pub exact: u64,
    pub approximate: u64,
    /// Samples with no snapshot of their thread near enough in time.
    pub unmatched: u64,
    /// Merged samples whose native stack had no evaluation frame.
    pub no_eval: u64,
}

/// Merges `py` into the profile's stacks and thread samples (see
/// [`merge`]), and says how, as notes.
pub(crate) fn merge_into(
    py: &PySamples,
    stacks: &mut StackProfile,
    threads: &mut ThreadSamples,
    raw: &super::record::Raw,
    period_ns: u64,
) -> Vec<Note> {
    let mut notes = Vec::new();
    for (pid, why) in &py.failures {
        notes.push(Note::warning(
            "python_unreadable",
            format!("pid {pid} looks like Python but its frames could not be read: {why}"),
        ));
    }
    if py.processes.is_empty() {
        return notes;
    }
    let origin = raw.timed.iter().map(|s| s.time).min().unwrap_or(0);
    let stats = merge(py, stacks, threads, origin, period_ns);
    let processes = py
        .processes
        .iter()
        .map(|(pid, v)| format!("pid {pid} (Python {v})"))
        .collect::<Vec<_>>()
        .join(", ");
    notes.push(Note::info(
        "python_frames",
        format!(
            "Python frames of {processes}, read from outside the process with py-spy's reader \
             (process_vm_readv, never pausing it) at {} Hz: {} snapshots in {:.0} ms of \
             reading, {} reads torn or failed; of {} samples of Python threads, {} merged \
             exactly (one evaluation frame per Python loop), {} approximately (the native and \
             Python depths differed), {} with no snapshot within {} ms (native frames only)",
            1_000_000_000 / period_ns.max(1),
            py.snapshots,
            py.busy.as_secs_f64() * 1000.0,
            py.errors,
            stats.python_threads_samples,
            stats.exact,
            stats.approximate,
            stats.unmatched,
            tolerance(period_ns) / 1_000_000,
        ),
    ));
    let merged = stats.exact + stats.approximate;
    if merged > 0 && stats.no_eval * 2 > merged {
        notes.push(Note::warning(
            "python_no_eval_frames",
            format!(
                "{} of {merged} samples of Python threads had no `_PyEval_EvalFrameDefault` \
                 frame in their native call chain (the interpreter was built without frame \
                 pointers): their Python frames are put under the process name; give \
                 `--call-graph dwarf` for the native frames around them",
                stats.no_eval
            ),
        ));
    }
    notes
}

/// How far in time a snapshot may be from the sample it is merged with.
fn tolerance(period_ns: u64) -> u64 {
    (2 * period_ns).clamp(2_000_000, 100_000_000)
}

/// Puts the Python frames of `py` into the timed samples of `threads` and
/// into `stacks` (whose samples past the timed ones stay native);
/// `origin` is the perf time of the first timed sample, `period_ns` the
/// sampling period.
pub(crate) fn merge(
    py: &PySamples,
    stacks: &mut StackProfile,
    threads: &mut ThreadSamples,
    origin: u64,
    period_ns: u64,
) -> MergeStats {
    let mut stats = MergeStats::default();
    if py.by_tid.is_empty() {
        return stats;
    }
    let tolerance = tolerance(period_ns);
    let mut new_stacks: Vec<Vec<String>> = Vec::new();
    let mut index: HashMap<Vec<String>, u32> = HashMap::new();
    let mut timed: BTreeMap<u32, u64> = BTreeMap::new();
    let mut merged: HashMap<u32, u64> = HashMap::new();
    let mut cache: HashMap<(u32, u32), (u32, bool)> = HashMap::new();
    for thread in &mut threads.threads {
        let snaps = py.by_tid.get(&thread.tid);
        for (rel, stack) in &mut thread.samples {
            *timed.entry(*stack).or_default() += 1;
            let native = &threads.stacks[*stack as usize];
            let chosen = snaps.and_then(|s| {
                stats.python_threads_samples += 1;
                choose(s, origin + *rel, tolerance, &py.stacks, native)
            });
            let key = match chosen {
                None => {
                    if snaps.is_some() {
                        stats.unmatched += 1;
                    }
                    (*stack, u32::MAX)
                }
                Some(id) => (*stack, id),
            };
            let (id, exact) = match cache.get(&key) {
                Some(hit) => *hit,
                None => {
                    let (frames, exact) = match chosen {
                        None => (native.clone(), true),
                        Some(id) => merge_frames(native, &py.stacks[id as usize]),
                    };
                    let next = new_stacks.len() as u32;
                    let id = *index.entry(frames).or_insert_with_key(|f| {
                        new_stacks.push(f.clone());
                        next
                    });
                    cache.insert(key, (id, exact));
                    (id, exact)
                }
            };
            if chosen.is_some() {
                if !native.iter().any(|f| is_eval_frame(f)) {
                    stats.no_eval += 1;
                }
                if exact {
                    stats.exact += 1;
                } else {
                    stats.approximate += 1;
                }
            }
            *merged.entry(id).or_default() += 1;
            *stack = id;
        }
    }
    // The flame graph's counts: the timed samples' native stacks out, their
    // merged stacks in; the untimed samples stay as they were.
    let mut by_names: HashMap<&Vec<String>, u64> = HashMap::new();
    for (id, n) in &timed {
        *by_names.entry(&threads.stacks[*id as usize]).or_default() += n;
    }
    let mut profile = StackProfile {
        stacks: BTreeMap::new(),
        ..stacks.clone()
    };
    for (stack, w) in &stacks.stacks {
        let rest = w.saturating_sub(by_names.get(stack).copied().unwrap_or(0));
        if rest > 0 {
            profile.add(stack.clone(), rest);
        }
    }
    for (id, n) in merged {
        profile.add(new_stacks[id as usize].clone(), n);
    }
    *stacks = profile;
    threads.stacks = new_stacks;
    stats
}

/// Of `snaps` (time order), the snapshot to merge with a sample at `time`:
/// of the one before and the one after (within `tolerance`), the one whose
/// loops match the native stack's evaluation frames, else the nearer.
fn choose(
    snaps: &[(u64, u32)],
    time: u64,
    tolerance: u64,
    stacks: &[Vec<PyFrame>],
    native: &[String],
) -> Option<u32> {
    let i = snaps.partition_point(|(t, _)| *t < time);
    let mut near: Vec<(u64, u32)> = [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|j| snaps.get(j))
        .map(|(t, id)| (t.abs_diff(time), *id))
        .filter(|(d, _)| *d <= tolerance)
        .collect();
    near.sort_unstable();
    let evals = native.iter().filter(|f| is_eval_frame(f)).count();
    near.iter()
        .find(|(_, id)| loops(&stacks[*id as usize]).len() == evals)
        .or(near.first())
        .map(|(_, id)| *id)
}

/// Whether a native frame is CPython's evaluation loop.
fn is_eval_frame(name: &str) -> bool {
    name.starts_with("_PyEval_EvalFrameDefault") || name == "PyEval_EvalFrameEx"
}

/// The Python frames grouped by evaluation loop: root first, each loop's
/// frames root first.
fn loops(py: &[PyFrame]) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for f in py {
        current.push(f.label.as_str());
        if f.ends_loop {
            current.reverse();
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        current.reverse();
        out.push(current);
    }
    out.reverse();
    out
}

/// The native frames that begin a thread: a chain that reaches one is whole.
const THREAD_ROOTS: &[&str] = &[
    "_start",
    "__libc_start_main",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
];

/// `native` (root first, the process name first) with its evaluation frames
/// replaced by `py`'s frames (leaf first); whether the pairing was exact.
fn merge_frames(native: &[String], py: &[PyFrame]) -> (Vec<String>, bool) {
    let loops = loops(py);
    if loops.is_empty() {
        return (native.to_vec(), true);
    }
    let evals: Vec<usize> = (0..native.len())
        .filter(|i| is_eval_frame(&native[*i]))
        .collect();
    // What each evaluation frame gets: a range of loops.
    let mut given: HashMap<usize, std::ops::Range<usize>> = HashMap::new();
    let (e, c) = (evals.len(), loops.len());
    if e == 0 {
        let mut out = vec![native.first().cloned().unwrap_or_default()];
        out.extend(loops.iter().flatten().map(|s| s.to_string()));
        out.extend(native.iter().skip(1).cloned());
        return (out, false);
    }
    let whole = native
        .iter()
        .skip(1)
        .take(3)
        .any(|f| THREAD_ROOTS.contains(&f.as_str()));
    if e == c || whole {
        // From the root: the last paired evaluation frame takes the rest.
        for (k, &at) in evals.iter().enumerate().take(c) {
            let end = if k + 1 == e.min(c) { c } else { k + 1 };
            given.insert(at, k..end);
        }
    } else {
        // From the leaf: the rootmost paired frame takes the rest.
        let pairs = e.min(c);
        for k in 0..pairs {
            let at = evals[e - 1 - k];
            let end = c - k;
            let start = if k + 1 == pairs { 0 } else { end - 1 };
            given.insert(at, start..end);
        }
    }
    let mut out = Vec::with_capacity(native.len() + py.len());
    for (i, f) in native.iter().enumerate() {
        match given.get(&i) {
            Some(range) => out.extend(loops[range.clone()].iter().flatten().map(|s| s.to_string())),
            None => out.push(f.clone()),
        }
    }
    (out, e == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(frames: &[(&str, bool)]) -> Vec<PyFrame> {
        frames
            .iter()
            .map(|(l, e)| PyFrame {
                label: l.to_string(),
                ends_loop: *e,
            })
            .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn each_evaluation_frame_takes_its_loop() {
        // 3.11: `main` and `run` share one loop, `cb` runs in a second one
        // entered from C.
        let py = py(&[
            ("cb (a.py:9)", true),
            ("run (a.py:5)", false),
            ("main (a.py:1)", true),
        ]);
        let native = s(&[
            "python3",
            "_start",
            "Py_RunMain",
            "_PyEval_EvalFrameDefault",
            "PyObject_Call",
            "_PyEval_EvalFrameDefault",
            "long_add",
        ]);
        let (out, exact) = merge_frames(&native, &py);
        assert!(exact);
        assert_eq!(
            out,
            s(&[
                "python3",
                "_start",
                "Py_RunMain",
                "main (a.py:1)",
                "run (a.py:5)",
                "PyObject_Call",
                "cb (a.py:9)",
                "long_add",
            ])
        );
    }

    #[test]
    fn mismatched_depths_pair_from_the_root_or_the_leaf() {
        let py = py(&[
            ("c (a.py:3)", true),
            ("b (a.py:2)", true),
            ("a (a.py:1)", true),
        ]);
        // A whole chain with one evaluation frame: it takes all three.
        let native = s(&["p", "_start", "_PyEval_EvalFrameDefault", "f"]);
        let (out, exact) = merge_frames(&native, &py);
        assert!(!exact);
        assert_eq!(
            out,
            s(&["p", "_start", "a (a.py:1)", "b (a.py:2)", "c (a.py:3)", "f"])
        );
        // A chain cut short at the root: pair from the leaf.
        let native = s(&[
            "p",
            "_PyEval_EvalFrameDefault",
            "x",
            "_PyEval_EvalFrameDefault",
            "f",
        ]);
        let (out, _) = merge_frames(&native, &py);
        assert_eq!(
            out,
            s(&["p", "a (a.py:1)", "b (a.py:2)", "x", "c (a.py:3)", "f"])
        );
        // No evaluation frame at all: after the process name.
        let native = s(&["p", "f"]);
        let (out, _) = merge_frames(&native, &py);
        assert_eq!(
            out,
            s(&["p", "a (a.py:1)", "b (a.py:2)", "c (a.py:3)", "f"])
        );
    }

    #[test]
    fn samples_take_the_nearest_snapshot_of_their_thread() {
        let py = PySamples {
            stacks: vec![
                py(&[("a (a.py:1)", true)]),
                py(&[("b (a.py:2)", true), ("a (a.py:1)", true)]),
            ],
            by_tid: HashMap::from([(7, vec![(1_000_000, 0), (2_000_000, 1)])]),
            ..PySamples::default()
        };
        let native = s(&["p", "_start", "_PyEval_EvalFrameDefault", "f"]);
        let mut threads = ThreadSamples {
            stacks: vec![native.clone()],
            threads: vec![super::super::SampledThread {
                pid: 7,
                tid: 7,
                process_name: "p".into(),
                name: "p".into(),
                samples: vec![(0, 0), (2_500_000, 0), (900_000_000, 0)],
            }],
            untimed: 0,
            started: None,
        };
        let mut stacks = StackProfile::new(perfhub_flame::WeightUnit::Samples);
        stacks.add(native.clone(), 4);
        let stats = merge(&py, &mut stacks, &mut threads, 1_000_000, 1_000_000);
        assert_eq!(stats.python_threads_samples, 3);
        assert_eq!(stats.exact, 1);
        assert_eq!(stats.approximate, 1);
        assert_eq!(stats.unmatched, 1);
        // One untimed sample and the unmatched one stay native.
        assert_eq!(stacks.stacks.get(&native), Some(&2));
        assert_eq!(
            stacks.stacks.get(&s(&["p", "_start", "a (a.py:1)", "f"])),
            Some(&1)
        );
        assert_eq!(stacks.inclusive_weight("b (a.py:2)"), 1);
        assert_eq!(stacks.total(), 4);
    }
}
