//! A resource timeline of a process tree, sampled from `/proc`.
//!
//! [`Timeline::start`] spawns one background thread that, every
//! [`TimelineConfig::interval`], finds the root process and all its
//! descendants and records their summed CPU use, resident memory, I/O rates
//! and thread count as a [`TimelinePoint`]. [`to_measurements`] turns the
//! points into report measurements.
//!
//! CPU time and I/O bytes are cumulative counters per process, so each rate
//! is computed per pid from the values it had at the previous tick, and only
//! for pids seen in both ticks (with the same start time, so that a reused
//! pid is not mistaken for the process it replaces). Summing cumulative
//! counters over the tree and differencing the sums would instead make the
//! total drop whenever a process exits, giving negative rates. The price is
//! that the work a process does between its last tick and its exit, and
//! between its birth and its first tick, is not counted: at most one interval
//! per process.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use perfhub_core::report::Measurement;
use perfhub_core::units::Unit;

use crate::procfs::ProcIo;

/// The shortest sampling interval: below it, scanning `/proc` costs more
/// than the measured program can tolerate.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// The longest sampling interval: beyond it, a timeline has too few points
/// to show anything.
const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// How often a [`Timeline`] samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineConfig {
    /// The time between two samples, from 10 ms to 10 s.
    pub interval: Duration,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            interval: Duration::from_millis(50),
        }
    }
}

/// Why a [`Timeline`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimelineError {
    /// The interval is outside 10 ms to 10 s.
    #[error("sampling interval {0:?} is outside 10ms to 10s")]
    BadInterval(Duration),
    /// The root process does not exist.
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    /// The sampling thread could not be created.
    #[error("cannot start the sampling thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// One sample of the process tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelinePoint {
    /// When the sample was taken, since [`Timeline::start`].
    pub at: Duration,
    /// CPU use since the previous sample, summed over the tree; 100 is one
    /// core fully busy. Counted in clock ticks (10 ms), and never more than
    /// 100 per thread the tree had at this or the previous sample, nor per
    /// online CPU.
    pub cpu_percent: f64,
    /// Resident memory, summed over the tree.
    pub rss_bytes: u64,
    /// Bytes read through read-like syscalls per second since the previous
    /// sample (`rchar`), summed over the processes whose I/O is readable.
    pub read_bytes_per_sec: f64,
    /// Bytes written through write-like syscalls per second since the
    /// previous sample (`wchar`), summed over the processes whose I/O is
    /// readable.
    pub write_bytes_per_sec: f64,
    /// Threads, summed over the tree.
    pub threads: u64,
    /// Live processes in the tree; zombies and processes that have already
    /// released their memory on the way out are not counted.
    pub processes: u64,
}

/// A running sampler of a process tree's resources.
///
/// Dropping it without [`Timeline::finish`] stops and joins the thread and
/// discards the points.
#[derive(Debug)]
pub struct Timeline {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<TimelinePoint>>>,
}

impl Timeline {
    /// Starts sampling `root_pid` and its descendants every
    /// `config.interval`, until [`Timeline::finish`] or until the whole
    /// tree is gone.
    pub fn start(root_pid: u32, config: TimelineConfig) -> Result<Timeline, TimelineError> {
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&config.interval) {
            return Err(TimelineError::BadInterval(config.interval));
        }
        let root_start = read_stat(root_pid)
            .ok_or(TimelineError::NoSuchProcess(root_pid))?
            .starttime;
        let started = Instant::now();
        let mut sampler = Sampler::new(root_pid, root_start, started);
        // The baseline is taken here rather than in the thread so that the
        // first point already has a previous tick to compute rates from.
        sampler.tick();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let interval = config.interval;
        let handle = std::thread::Builder::new()
            .name("perfhub-timeline".into())
            .spawn(move || sampler.run(interval, &thread_stop))
            .map_err(TimelineError::Spawn)?;
        Ok(Timeline {
            stop,
            handle: Some(handle),
        })
    }

    /// Whether the sampling thread is still running; it ends by itself once
    /// the whole tree is gone.
    pub fn is_sampling(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Stops sampling and returns the points, oldest first.
    ///
    /// A sampler that panicked yields no points rather than propagating the
    /// panic into the measured program's caller.
    pub fn finish(mut self) -> Vec<TimelinePoint> {
        self.stop_and_join().unwrap_or_default()
    }

    fn stop_and_join(&mut self) -> Option<Vec<TimelinePoint>> {
        let handle = self.handle.take()?;
        self.stop.store(true, Ordering::Release);
        // Wakes the thread from its sleep so that finishing does not wait
        // for the rest of a long interval.
        handle.thread().unpark();
        handle.join().ok()
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The timeline as sampled measurements: `cpu_utilization` (a ratio, 1 is
/// one core), `rss`, `read_rate`, `write_rate` and `threads`.
pub fn to_measurements(points: &[TimelinePoint]) -> Vec<Measurement> {
    let series = |f: fn(&TimelinePoint) -> f64| points.iter().map(f).collect::<Vec<f64>>();
    vec![
        Measurement::from_samples(
            "cpu_utilization",
            Unit::Ratio,
            series(|p| p.cpu_percent / 100.0),
        ),
        Measurement::from_samples("rss", Unit::Bytes, series(|p| p.rss_bytes as f64)),
        Measurement::from_samples(
            "read_rate",
            Unit::BytesPerSecond,
            series(|p| p.read_bytes_per_sec),
        ),
        Measurement::from_samples(
            "write_rate",
            Unit::BytesPerSecond,
            series(|p| p.write_bytes_per_sec),
        ),
        Measurement::from_samples("threads", Unit::Count, series(|p| p.threads as f64)),
    ]
}

/// The fields of `/proc/<pid>/stat` the timeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    state: char,
    ppid: u32,
    utime: u64,
    stime: u64,
    num_threads: u64,
    starttime: u64,
}

impl ProcStat {
    /// Parses a `stat` line. The command name in field 2 is in parentheses
    /// and may itself contain spaces and `)`, so the fields are taken from
    /// after the last `)`.
    fn parse(text: &str) -> Option<ProcStat> {
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Indices count from field 3 (state) of proc(5).
        let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(ProcStat {
            state: fields.first()?.chars().next()?,
            ppid: u32::try_from(field(1)?).ok()?,
            utime: field(11)?,
            stime: field(12)?,
            num_threads: field(17)?,
            starttime: field(19)?,
        })
    }

    /// A zombie has released its memory and threads and only waits to be
    /// reaped; counting it would keep a finished tree alive.
    fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

fn read_stat(pid: u32) -> Option<ProcStat> {
    ProcStat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn read_rss_pages(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

fn sysconf(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let value = unsafe { libc::sysconf(name) };
    u64::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .unwrap_or(fallback)
}

/// What a process looked like at the previous tick.
#[derive(Debug, Clone, Copy)]
struct Seen {
    starttime: u64,
    cpu_ticks: u64,
    io: Option<(u64, u64)>,
}

struct Sampler {
    root_pid: u32,
    root_start: u64,
    started: Instant,
    clock_ticks: f64,
    page_size: u64,
    /// The online CPUs: no more can be busy at once.
    cpus: u64,
    last_at: Option<Instant>,
    /// The tree's threads at the previous tick.
    last_threads: u64,
    seen: HashMap<u32, Seen>,
    points: Vec<TimelinePoint>,
}

impl Sampler {
    fn new(root_pid: u32, root_start: u64, started: Instant) -> Sampler {
        Sampler {
            root_pid,
            root_start,
            started,
            clock_ticks: sysconf(libc::_SC_CLK_TCK, 100) as f64,
            page_size: sysconf(libc::_SC_PAGESIZE, 4096),
            cpus: sysconf(libc::_SC_NPROCESSORS_ONLN, 1),
            last_at: None,
            last_threads: 0,
            seen: HashMap::new(),
            points: Vec::new(),
        }
    }

    fn run(mut self, interval: Duration, stop: &AtomicBool) -> Vec<TimelinePoint> {
        let mut next = Instant::now() + interval;
        loop {
            // park_timeout may wake early (spuriously or from finish), so
            // sleep until the deadline or the stop flag, whichever first.
            loop {
                if stop.load(Ordering::Acquire) {
                    return self.points;
                }
                let now = Instant::now();
                if now >= next {
                    break;
                }
                std::thread::park_timeout(next - now);
            }
            // Deadlines advance by whole intervals so that a slow tick does
            // not shift every later one.
            next += interval;
            let now = Instant::now();
            while next <= now {
                next += interval;
            }
            if !self.tick() {
                return self.points;
            }
        }
    }

    /// Takes one sample; false once the tree is gone.
    fn tick(&mut self) -> bool {
        let now = Instant::now();
        let tree = self.scan_tree();
        if tree.is_empty() {
            return false;
        }
        let mut cpu_ticks = 0u64;
        let (mut read, mut written) = (0u64, 0u64);
        let (mut rss_pages, mut threads) = (0u64, 0u64);
        let mut seen = HashMap::with_capacity(tree.len());
        let mut processes = 0u64;
        for &(pid, stat) in &tree {
            // A process whose memory is already released is in the middle of
            // exiting: its counters are final and its RSS reads as zero, so
            // it counts as gone, like a zombie.
            let Some(rss) = read_rss_pages(pid).filter(|&pages| pages > 0) else {
                continue;
            };
            processes += 1;
            rss_pages += rss;
            let ticks = stat.utime + stat.stime;
            let io = ProcIo::read(pid).ok().map(|io| (io.rchar, io.wchar));
            if let Some(prev) = self
                .seen
                .get(&pid)
                .filter(|p| p.starttime == stat.starttime)
            {
                cpu_ticks += ticks.saturating_sub(prev.cpu_ticks);
                if let (Some((r, w)), Some((pr, pw))) = (io, prev.io) {
                    read += r.saturating_sub(pr);
                    written += w.saturating_sub(pw);
                }
            }
            threads += stat.num_threads;
            seen.insert(
                pid,
                Seen {
                    starttime: stat.starttime,
                    cpu_ticks: ticks,
                    io,
                },
            );
        }
        self.seen = seen;
        // When everything is exiting there is nothing to show; the next tick
        // finds the tree gone.
        let threads_seen = threads.max(std::mem::replace(&mut self.last_threads, threads));
        if let Some(last) = self.last_at.replace(now).filter(|_| processes > 0) {
            let secs = now.duration_since(last).as_secs_f64().max(1e-9);
            // CPU time comes in clock ticks (10 ms), counted when they end:
            // an interval can hold a tick more than its threads ran, which
            // would read 120% for one thread over 50 ms. No more than the
            // threads there were, nor than the CPUs, can have run.
            let most = 100.0 * threads_seen.clamp(1, self.cpus) as f64;
            self.points.push(TimelinePoint {
                at: now.duration_since(self.started),
                cpu_percent: (cpu_ticks as f64 / self.clock_ticks / secs * 100.0).min(most),
                rss_bytes: rss_pages * self.page_size,
                read_bytes_per_sec: read as f64 / secs,
                write_bytes_per_sec: written as f64 / secs,
                threads,
                processes,
            });
        }
        true
    }

    /// The live processes of the tree: the root, the members of the previous
    /// tick that are still alive (a descendant whose parent exited is
    /// reparented out of the tree, but still belongs to it), and every
    /// descendant of those.
    ///
    /// Descendants are found through each thread's `children` file, which
    /// costs in proportion to the tree; where the kernel has no such file,
    /// through the parent pid of every process on the machine.
    fn scan_tree(&self) -> Vec<(u32, ProcStat)> {
        let mut starts: Vec<(u32, u64)> = self
            .seen
            .iter()
            .map(|(pid, seen)| (*pid, seen.starttime))
            .collect();
        starts.push((self.root_pid, self.root_start));
        let children_files =
            std::path::Path::new(&format!("/proc/self/task/{}/children", std::process::id()))
                .exists();
        let mut tree: Vec<(u32, ProcStat)> = if children_files {
            self.walk_children(&starts)
        } else {
            self.walk_all_processes(&starts)
        };
        tree.sort_unstable_by_key(|&(pid, _)| pid);
        tree
    }

    fn walk_children(&self, starts: &[(u32, u64)]) -> Vec<(u32, ProcStat)> {
        let mut stack: Vec<u32> = starts
            .iter()
            .filter(|(pid, start)| read_stat(*pid).is_some_and(|s| s.starttime == *start))
            .map(|(pid, _)| *pid)
            .collect();
        let mut members = HashMap::new();
        while let Some(pid) = stack.pop() {
            if members.contains_key(&pid) {
                continue;
            }
            let Some(stat) = read_stat(pid).filter(|s| !s.is_dead()) else {
                continue;
            };
            members.insert(pid, stat);
            stack.extend(children(pid));
        }
        members.into_iter().collect()
    }

    fn walk_all_processes(&self, starts: &[(u32, u64)]) -> Vec<(u32, ProcStat)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let all: HashMap<u32, ProcStat> = dir
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| Some((pid, read_stat(pid)?)))
            .filter(|(_, stat)| !stat.is_dead())
            .collect();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for (&pid, stat) in &all {
            children.entry(stat.ppid).or_default().push(pid);
        }
        let mut stack: Vec<u32> = starts
            .iter()
            .filter(|(pid, start)| all.get(pid).is_some_and(|s| s.starttime == *start))
            .map(|(pid, _)| *pid)
            .collect();
        let mut members = HashSet::new();
        while let Some(pid) = stack.pop() {
            if members.insert(pid) {
                stack.extend(children.get(&pid).into_iter().flatten().copied());
            }
        }
        members.into_iter().map(|pid| (pid, all[&pid])).collect()
    }
}

/// The children of every thread of `pid`, from `/proc/<pid>/task/*/children`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn parses_a_comm_with_spaces_and_parentheses() {
        let line = "1234 ((a) b)) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    7 3 0 0 20 0 5 0 987654 1000000 200 18446744073709551615";
        let stat = ProcStat::parse(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                ppid: 1,
                utime: 7,
                stime: 3,
                num_threads: 5,
                starttime: 987654,
            }
        );
        let plain = "1 (a) b) R 0 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 42 0 0";
        assert_eq!(ProcStat::parse(plain).unwrap().ppid, 0);
        assert_eq!(ProcStat::parse("1 (truncated) S 0"), None);
        assert_eq!(ProcStat::parse("no parenthesis"), None);
    }

    #[test]
    fn parses_this_process() {
        let stat = read_stat(std::process::id()).unwrap();
        assert!(stat.num_threads >= 1);
        assert!(!stat.is_dead());
    }

    #[test]
    fn refuses_a_missing_process() {
        // pid_max is at most 2^22, so this pid cannot exist.
        let err = Timeline::start(u32::MAX - 1, TimelineConfig::default()).unwrap_err();
        assert!(matches!(err, TimelineError::NoSuchProcess(_)));
        assert_eq!(
            err.to_string(),
            format!("no process with pid {}", u32::MAX - 1)
        );
    }

    #[test]
    fn refuses_a_bad_interval() {
        for interval in [
            Duration::from_millis(9),
            Duration::from_secs(11),
            Duration::ZERO,
        ] {
            let err = Timeline::start(std::process::id(), TimelineConfig { interval }).unwrap_err();
            assert!(matches!(err, TimelineError::BadInterval(i) if i == interval));
        }
        let ok = TimelineConfig {
            interval: Duration::from_millis(10),
        };
        Timeline::start(std::process::id(), ok).unwrap().finish();
    }

    #[test]
    fn one_thread_never_reads_more_than_one_core() {
        // One shell spinning for about half a second, sampled every 10 ms:
        // as long as a clock tick, so a sample can hold two ticks of it.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done")
            .spawn()
            .unwrap();
        let config = TimelineConfig {
            interval: Duration::from_millis(10),
        };
        let timeline = Timeline::start(child.id(), config).unwrap();
        child.wait().unwrap();
        let points = timeline.finish();
        assert!(points.iter().any(|p| p.cpu_percent > 50.0), "{points:?}");
        assert!(
            points
                .iter()
                .all(|p| p.threads == 1 && p.cpu_percent <= 100.0),
            "{points:?}"
        );
    }

    #[test]
    fn samples_a_busy_process_tree() {
        // The root and a forked child both spin for half a second, checking
        // the clock only every few hundred iterations so that the time goes
        // to the shells rather than to short-lived `date` processes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                "busy() { end=$(( $(date +%s%N) + 500000000 )); \
                 while [ $(date +%s%N) -lt $end ]; do \
                 i=0; while [ $i -lt 500 ]; do i=$((i+1)); done; done; }; \
                 busy & busy; wait",
            )
            .spawn()
            .unwrap();
        let config = TimelineConfig {
            interval: Duration::from_millis(20),
        };
        let timeline = Timeline::start(child.id(), config).unwrap();
        child.wait().unwrap();
        // The reaped tree ends the sampler by itself.
        let deadline = Instant::now() + Duration::from_secs(10);
        while timeline.is_sampling() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!timeline.is_sampling());
        let points = timeline.finish();

        assert!(points.len() >= 3, "{points:?}");
        assert!(
            points.iter().map(|p| p.processes).max().unwrap() >= 2,
            "{points:?}"
        );
        assert!(points.iter().any(|p| p.cpu_percent > 20.0), "{points:?}");
        assert!(
            points.iter().all(|p| p.rss_bytes > 0 && p.threads >= 1),
            "{points:?}"
        );
        assert!(points.windows(2).all(|w| w[0].at < w[1].at));

        let measurements = to_measurements(&points);
        let names: Vec<&str> = measurements.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(
            names,
            [
                "cpu_utilization",
                "rss",
                "read_rate",
                "write_rate",
                "threads"
            ]
        );
        assert!(measurements.iter().all(|m| m.samples.len() == points.len()));
        assert_eq!(measurements[0].unit, Unit::Ratio);
    }

    #[test]
    fn finish_stops_a_sampler_of_a_live_process() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let timeline = Timeline::start(child.id(), TimelineConfig::default()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(timeline.is_sampling());
        let began = Instant::now();
        let points = timeline.finish();
        // Joining returned, so the thread is gone; it did not wait for the
        // child, which still runs.
        assert!(began.elapsed() < Duration::from_secs(5));
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!points.is_empty());
        assert!(points.iter().all(|p| p.processes == 1 && p.rss_bytes > 0));
    }
}
