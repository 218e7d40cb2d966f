//! The load engine: worker threads, each a single-threaded tokio runtime
//! driving its share of the connections.
//!
//! - **Closed model** ([`Model::Closed`]): each connection sends its next
//!   request as soon as the previous response is in (wrk's model), after an
//!   optional think time. Latency is the service time: nothing else is
//!   knowable in a closed model.
//! - **Open model** ([`Model::Open`]): requests arrive on a schedule, the
//!   n-th at the time the cumulative rate reaches n (constant, or ramping
//!   linearly through stages). Requests are dealt round-robin to the
//!   connections; a connection sends each at its intended time or, when it
//!   is still busy with an earlier one, as soon as it is free. Latency is
//!   measured from the intended time, so a stalled server is charged for
//!   every request it held up (coordinated omission corrected, as wrk2
//!   does); the service time, from the actual send, is recorded beside it.
//!   A request sent more than the timer's slack (2 ms: tokio's timers fire
//!   on the first millisecond tick after their deadline, and the tick is
//!   seen when the thread next wakes) after its intended time is counted
//!   as late, and those 2 ms of timer slack are not
//!   charged to the server. Requests due before the end that were never sent
//!   (their connection was still busy when the time ran out) are counted as
//!   dropped.
//!
//! Each worker records into its own histograms; per interval (1 s) it sends
//! a histogram of that interval to the coordinating thread, which merges
//! them for live progress and the interval log. Nothing is kept per
//! request, so memory stays flat however long the run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::units::describe_limit;
use tokio::net::TcpStream;

use crate::http1::{ErrorKind, Prepared, Reader};
use crate::request::RequestSpec;
use crate::tls::Stream;

mod epoll;
mod h2c;

/// A stage of a ramping arrival rate: from the previous stage's end rate
/// (or `start` for the first) to `target`, linearly, over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The rate at the end of the stage, requests per second.
    pub target: f64,
}

impl Stage {
    /// Reads `DURATION:TARGET`, such as `30s:1000`; `what` names the
    /// target in errors (`RATE`, `USERS`).
    pub fn parse(text: &str, what: &str) -> Result<Stage, String> {
        let bad = |why: String| {
            format!("bad stage {text:?}: {why}; give DURATION:{what}, such as 30s:1000")
        };
        let (d, r) = text.split_once(':').ok_or_else(|| bad("no ':'".into()))?;
        let duration = perfhub_core::units::parse_duration(d).map_err(bad)?;
        let target: f64 = r
            .trim()
            .parse()
            .map_err(|_| bad(format!("{r:?} is not a number")))?;
        Ok(Stage { duration, target })
    }
}

/// The longest test, and the longest a ramp's stages may add up to: 30
/// days (`perfhub_core::units::MAX_DURATION`).
pub const MAX_DURATION: Duration = perfhub_core::units::MAX_DURATION;

/// The longest request timeout: 1 hour. A response slower than that is not
/// one a load test waits for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The longest think time: 1 hour.
pub const MAX_THINK_TIME: Duration = Duration::from_secs(3600);

/// How requests are paced.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Each connection sends as soon as its previous response is in, after
    /// `think_time`.
    Closed {
        /// A pause between a response and the next request.
        think_time: Duration,
    },
    /// Requests arrive on a schedule: `start` requests per second, then
    /// through each stage in turn; with no stages, `start` throughout.
    Open {
        /// The rate at the start, requests per second.
        start: f64,
        /// Ramps after the start; empty for a constant rate.
        stages: Vec<Stage>,
    },
}

/// Virtual users ramping in the closed model (k6's ramping-vus): `start`
/// users at first, then linearly to each stage's `target` users over its
/// duration. Connection `c` is active while there are more than `c` users;
/// one that is not waits, without a connection, until it is again. A
/// virtual user of a sequence scenario finishes its iteration first.
#[derive(Debug, Clone, PartialEq)]
pub struct VuRamp {
    /// The users at the start.
    pub start: f64,
    /// The stages; their targets are users.
    pub stages: Vec<Stage>,
}

impl VuRamp {
    /// The users `t` seconds after the start.
    pub fn users_at(&self, t: f64) -> f64 {
        let mut from = self.start;
        let mut t0 = 0.0;
        for s in &self.stages {
            let len = s.duration.as_secs_f64();
            if t < t0 + len {
                return from + (s.target - from) * ((t - t0) / len).max(0.0);
            }
            from = s.target;
            t0 += len;
        }
        from
    }

    /// Whether connection `c` is active `t` seconds after the start.
    pub fn active(&self, c: usize, t: f64) -> bool {
        self.users_at(t) + 1e-9 >= (c + 1) as f64
    }

    /// The first time from `t` on when connection `c` is active, in
    /// seconds after the start; `None` when it never is again.
    pub fn next_active(&self, c: usize, t: f64) -> Option<f64> {
        if self.active(c, t) {
            return Some(t);
        }
        let need = (c + 1) as f64;
        let mut from = self.start;
        let mut t0 = 0.0;
        for s in &self.stages {
            let len = s.duration.as_secs_f64();
            let end = t0 + len;
            if end > t && s.target >= need && s.target > from {
                let at = t0 + (need - from).max(0.0) / (s.target - from) * len;
                if at >= t {
                    return Some(at.min(end));
                }
            }
            from = s.target;
            t0 = end;
        }
        None
    }

    /// The most users at any time: the connections needed.
    pub fn most(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.target)
            .fold(self.start, f64::max)
    }
}

/// This process's share of a test run by several: worker `index` of
/// `count` sends every `count`-th request of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// From 0.
    pub index: u32,
    /// At least 1.
    pub count: u32,
}

impl Segment {
    /// The whole test.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// Parses `i/N` with 1 <= i <= N (one-based, as people count workers).
    pub fn parse(text: &str) -> Result<Segment, String> {
        let bad = || format!("bad segment {text:?}: give i/N with 1 <= i <= N, such as 2/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || i == 0 || i > n {
            return Err(bad());
        }
        Ok(Segment {
            index: i - 1,
            count: n,
        })
    }
}

/// The latest a test may be set to start (`--start-at`): 30 days ahead.
pub const MAX_START_DELAY: Duration = MAX_DURATION;

/// Parses a start time: RFC 3339 (`2026-12-05T14:00:00Z`,
/// `2026-12-05T15:00:00.5+01:00`) or `+DURATION` from `now` (`+30s`).
/// Every segment of a distributed test given the same instant sends its
/// share of one schedule, whenever each was started.
pub fn parse_start_at(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    let at = if let Some(after) = text.strip_prefix('+') {
        let d = perfhub_core::units::parse_duration(after)
            .map_err(|e| format!("bad start time {text:?}: {e}"))?;
        let at = now
            .checked_add(d)
            .ok_or_else(|| format!("bad start time {text:?}: beyond what the clock can hold"))?;
        // Up to the next whole second, so that segments started together
        // (within the same second) with the same `+30s` share one start.
        let since = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let whole = Duration::from_secs(since.as_secs() + u64::from(since.subsec_nanos() > 0));
        SystemTime::UNIX_EPOCH + whole
    } else {
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                format!(
                    "bad start time {text:?}: {e}; give RFC 3339 such as 2026-12-05T14:00:00Z, or +30s from now"
                )
            })?;
        SystemTime::from(t)
    };
    if let Ok(ahead) = at.duration_since(now)
        && ahead > MAX_START_DELAY
    {
        return Err(format!(
            "start time {text:?} is more than {} ahead: give one within 720h",
            describe_limit(MAX_START_DELAY)
        ));
    }
    Ok(at)
}

/// `at` in RFC 3339, UTC, to the nanosecond: how reports carry a start
/// time, so that the segments of one test compare equal.
pub fn format_start_at(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{at:?}"))
}

/// The most streams a connection may have in flight (`--streams`).
pub const MAX_STREAMS: usize = 1000;

/// The most requests in flight at once, over every connection.
pub const MAX_LANES: usize = 1 << 20;

/// A load test.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The requests, at least one.
    pub requests: Vec<RequestSpec>,
    /// Run the requests in order on each connection, rather than mixed by
    /// weight.
    pub sequence: bool,
    /// How requests are paced.
    pub model: Model,
    /// How long to send (in the open model, the stages' total when longer).
    pub duration: Duration,
    /// Keep-alive connections, at least 1.
    pub connections: usize,
    /// Worker threads, at least 1.
    pub threads: usize,
    /// Longest wait for a connection or a whole response.
    pub timeout: Duration,
    /// This process's share of a test run by several.
    pub segment: Segment,
    /// How often workers report progress and interval histograms.
    pub interval: Duration,
    /// How `https://` targets are trusted.
    pub tls: crate::tls::TlsOptions,
    /// Speak HTTP/2: negotiated by ALPN over TLS, with prior knowledge
    /// (h2c) over plain TCP.
    pub http2: bool,
    /// With `http2`, how many requests each connection has in flight at
    /// most (h2load's `-m`): at least 1, and never more than the server
    /// allows.
    pub streams: usize,
    /// Addresses given for a host and port instead of the resolver's
    /// (curl's `--resolve`).
    pub resolve: Vec<crate::request::Pin>,
    /// In the open model, how long after the end requests that were due
    /// before it may still be sent (k6's gracefulStop); `None` means the
    /// request timeout.
    pub grace: Option<Duration>,
    /// When the schedule starts; `None` for at once. The segments of a
    /// distributed test given the same instant send one test's schedule
    /// between them, however far apart they were started.
    pub start_at: Option<SystemTime>,
    /// Virtual users that run the requests in order and carry values
    /// between them (a sequence scenario); `None` for a weighted mix.
    pub flow: Option<Arc<crate::flow::Flow>>,
    /// Stop after exactly this many iterations (k6's shared-iterations):
    /// runs of the flow's sequence, or requests of a weighted mix, shared
    /// by the connections. The duration is then the longest the test may
    /// take. Closed model only.
    pub iterations: Option<u64>,
    /// Closed model: virtual users ramping through stages (k6's
    /// ramping-vus) over `connections` lanes; `None` for all of them
    /// throughout.
    pub ramp: Option<VuRamp>,
    /// Record this machine's environment in the outcome's report
    /// (collected while the test runs; `git` and `rustc` are asked inside
    /// a Cargo project).
    pub environment: bool,
}

impl Default for LoadConfig {
    /// What `perfhub load URL` runs when given nothing else, without the
    /// requests: the closed model with no think time over 64 connections
    /// for 10 s, one worker thread per CPU, a 5 s timeout, progress every
    /// second, the whole test in one process.
    fn default() -> Self {
        LoadConfig {
            requests: Vec::new(),
            sequence: false,
            model: Model::Closed {
                think_time: Duration::ZERO,
            },
            duration: Duration::from_secs(10),
            connections: 64,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Duration::from_secs(5),
            segment: Segment::WHOLE,
            interval: Duration::from_secs(1),
            tls: crate::tls::TlsOptions::default(),
            http2: false,
            streams: 1,
            resolve: Vec::new(),
            grace: None,
            start_at: None,
            flow: None,
            iterations: None,
            ramp: None,
            environment: true,
        }
    }
}

impl LoadConfig {
    /// A load test of `GET url` with the [defaults](LoadConfig::default),
    /// checking each response for a 2xx or 3xx status.
    pub fn new(url: &str) -> Result<LoadConfig, LoadError> {
        let url = crate::request::parse_url(url).map_err(|e| ConfigError::new(e.to_string()))?;
        Ok(LoadConfig {
            requests: vec![RequestSpec::get(url)],
            ..LoadConfig::default()
        })
    }
}

/// A setting of a load test, as a [`ConfigError`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// [`LoadConfig::connections`].
    Connections,
    /// [`LoadConfig::streams`].
    Streams,
    /// [`LoadConfig::http2`].
    Http2,
    /// [`LoadConfig::threads`].
    Threads,
    /// [`LoadConfig::duration`].
    Duration,
    /// [`LoadConfig::timeout`].
    Timeout,
    /// [`LoadConfig::iterations`].
    Iterations,
    /// The closed model's think time ([`Model::Closed`]).
    ThinkTime,
    /// The open model's starting rate ([`Model::Open`]).
    Rate,
    /// The open model's stages ([`Model::Open`]).
    Stages,
    /// The stages of the virtual users' ramp ([`LoadConfig::ramp`]).
    VusStages,
    /// [`LoadConfig::start_at`].
    StartAt,
}

impl Setting {
    /// Its name in messages, as a scenario file's `[load]` table names it:
    /// `connections`, `think_time`, `vus_stages`, ...
    pub fn name(self) -> &'static str {
        match self {
            Setting::Connections => "connections",
            Setting::Streams => "streams",
            Setting::Http2 => "http2",
            Setting::Threads => "threads",
            Setting::Duration => "duration",
            Setting::Timeout => "timeout",
            Setting::Iterations => "iterations",
            Setting::ThinkTime => "think_time",
            Setting::Rate => "rate",
            Setting::Stages => "stages",
            Setting::VusStages => "vus_stages",
            Setting::StartAt => "start_at",
        }
    }
}

/// A load test's settings that cannot run together or are out of range:
/// the message names each setting at fault in backticks (`` `streams` ``),
/// as [`Setting::name`] does.
pub use perfhub_core::setting::ConfigError;

/// An error whose message `message(names)` names `settings`.
fn naming(settings: &[Setting], message: impl FnOnce(&[String]) -> String) -> ConfigError {
    let names: Vec<&'static str> = settings.iter().map(|s| s.name()).collect();
    ConfigError::naming(&names, message)
}

/// Why a load test cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A setting is out of range, or settings do not go together.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The target's address does not resolve.
    #[error("cannot resolve {host}: {source}; check the host name")]
    Resolve {
        /// The host and port.
        host: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// TLS cannot be set up.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A worker thread could not start.
    #[error("cannot start a worker: {0}")]
    Thread(#[source] std::io::Error),
}

/// What one endpoint saw.
#[derive(Debug, Clone, Default)]
pub struct EndpointStats {
    /// Latency from the intended send time (open model) or the send (closed).
    pub latency: LatencyHistogram,
    /// Time from the actual send to the whole response.
    pub service: LatencyHistogram,
    /// Requests with a whole response.
    pub responses: u64,
    /// Requests that failed (no whole response).
    pub errors: u64,
    /// Responses that failed a check.
    pub check_failures: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests of a flow not sent because an earlier request of the same
    /// iteration was abandoned.
    pub skipped: u64,
    /// Why this request abandoned its iteration (an extraction that found
    /// nothing, ...), with how often.
    pub abandoned: BTreeMap<String, u64>,
}

impl EndpointStats {
    /// Adds `other`'s counts and histograms to these.
    pub fn merge(&mut self, other: &EndpointStats) {
        // Both histograms use the default precision, so merging cannot fail.
        let _ = self.latency.merge(&other.latency);
        let _ = self.service.merge(&other.service);
        self.responses += other.responses;
        self.errors += other.errors;
        self.check_failures += other.check_failures;
        for (s, n) in &other.statuses {
            *self.statuses.entry(*s).or_insert(0) += n;
        }
        self.skipped += other.skipped;
        for (why, n) in &other.abandoned {
            *self.abandoned.entry(why.clone()).or_insert(0) += n;
        }
    }
}

/// Everything a load test counted.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Per request spec, in the config's order.
    pub endpoints: Vec<EndpointStats>,
    /// Failed requests by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Requests sent.
    pub sent: u64,
    /// Requests sent more than the timer's slack (2 ms) after their
    /// intended time.
    pub late: u64,
    /// Requests due before the end that could not be sent within the grace
    /// period; each is in the latency histograms with the time it had
    /// waited when given up, a lower bound on its latency.
    pub dropped: u64,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
    /// Times HTTP/2 requests the server did not process (a GOAWAY, a
    /// refused stream) were sent again.
    pub retried: u64,
    /// Over HTTP/2, the fewest streams a server allowed at once on a
    /// connection (SETTINGS_MAX_CONCURRENT_STREAMS) when that was fewer than
    /// the streams asked for.
    pub stream_limit: Option<u64>,
}

impl Stats {
    fn new(endpoints: usize) -> Stats {
        Stats {
            endpoints: vec![EndpointStats::default(); endpoints],
            ..Stats::default()
        }
    }

    fn merge(&mut self, other: &Stats) {
        for (a, b) in self.endpoints.iter_mut().zip(&other.endpoints) {
            a.merge(b);
        }
        for (k, n) in &other.errors {
            *self.errors.entry(*k).or_insert(0) += n;
        }
        self.sent += other.sent;
        self.late += other.late;
        self.dropped += other.dropped;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.retried += other.retried;
        self.stream_limit = match (self.stream_limit, other.stream_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// All endpoints together.
    pub fn total(&self) -> EndpointStats {
        let mut t = EndpointStats::default();
        for e in &self.endpoints {
            t.merge(e);
        }
        t
    }
}

/// One interval of the run, all workers merged.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Since the start of the run.
    pub start: Duration,
    /// Its length.
    pub length: Duration,
    /// Latencies of the responses completed in it.
    pub latency: LatencyHistogram,
    /// Requests that failed in it (refused, reset, timed out, unreadable).
    pub errors: u64,
    /// Responses completed in it that failed a check.
    pub check_failures: u64,
}

/// Live progress, called once per interval from the coordinating thread.
pub trait Progress {
    /// The interval just ended.
    fn interval(&mut self, interval: &Interval);
    /// Whether to stop early (Ctrl-C, or a budget breached).
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn interval(&mut self, _: &Interval) {}
}

/// The result of a load test.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Everything counted.
    pub stats: Stats,
    /// Per interval.
    pub intervals: Vec<Interval>,
    /// From the first request's schedule to the last response.
    pub elapsed: Duration,
    /// How long requests were sent for.
    pub duration: Duration,
    /// The rate aimed at, on average over the run (open model, this
    /// process's share).
    pub target_rate: Option<f64>,
    /// Whether the run stopped early.
    pub stopped_early: bool,
    /// Why TLS handshakes failed, where they did (the first one's reason).
    pub tls_failure: Option<String>,
    /// The panics of worker threads or connections, each with where it
    /// happened: when there is one, the counts miss what it would have
    /// counted and the run is no result.
    pub failures: Vec<String>,
    /// The report of the test: one benchmark per endpoint, then `total`,
    /// with the environment when [`LoadConfig::environment`] asks for it.
    /// Budgets are not in it yet:
    /// [`apply_budgets`](crate::report::apply_budgets) judges and stores them.
    pub report: perfhub_core::Report,
}

/// The arrival schedule of the open model.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    /// (start time, start rate, end rate, length, arrivals before it).
    stages: Vec<(f64, f64, f64, f64, f64)>,
    end: f64,
}

impl Schedule {
    pub fn new(start: f64, stages: &[Stage], duration: Duration) -> Schedule {
        let mut out = Vec::new();
        let (mut t, mut rate, mut before) = (0.0, start, 0.0);
        for s in stages {
            let len = s.duration.as_secs_f64();
            out.push((t, rate, s.target, len, before));
            before += (rate + s.target) / 2.0 * len;
            t += len;
            rate = s.target;
        }
        let end = t.max(duration.as_secs_f64());
        if end > t {
            out.push((t, rate, rate, end - t, before));
        }
        Schedule { stages: out, end }
    }

    /// How many arrivals are due before the end.
    pub fn total(&self) -> f64 {
        self.stages.last().map_or(0.0, |&(_, r0, r1, len, before)| {
            before + (r0 + r1) / 2.0 * len
        })
    }

    /// The time of arrival `n` (from 0), in seconds; `None` at or after the
    /// end.
    pub fn time_of(&self, n: u64) -> Option<f64> {
        let n = n as f64;
        for &(t0, r0, r1, len, before) in &self.stages {
            let after = before + (r0 + r1) / 2.0 * len;
            if n >= after {
                continue;
            }
            let m = n - before;
            let a = (r1 - r0) / (2.0 * len);
            let t = if a.abs() < 1e-12 {
                if r0 <= 0.0 {
                    continue;
                }
                m / r0
            } else {
                // a t² + r0 t - m = 0, the root in [0, len].
                let disc = (r0 * r0 + 4.0 * a * m).max(0.0);
                (-r0 + disc.sqrt()) / (2.0 * a)
            };
            let t = t0 + t.clamp(0.0, len);
            return (t < self.end).then_some(t);
        }
        None
    }
}

/// The order in which a connection sends the requests: each spec repeated
/// by its weight, interleaved so that a mix of 3:1 sends A A B A A A B ...
/// evenly, not in runs.
fn mix(requests: &[RequestSpec], sequence: bool) -> Vec<usize> {
    if sequence {
        return (0..requests.len()).collect();
    }
    let total: u64 = requests.iter().map(|r| u64::from(r.weight.max(1))).sum();
    let mut credit = vec![0i64; requests.len()];
    let mut out = Vec::with_capacity(total as usize);
    // Smooth weighted round robin.
    for _ in 0..total {
        let mut best = 0;
        for (i, r) in requests.iter().enumerate() {
            credit[i] += i64::from(r.weight.max(1));
            if credit[i] > credit[best] {
                best = i;
            }
        }
        credit[best] -= total as i64;
        out.push(best);
    }
    out
}

/// What the worker's watchdog knows of one connection's request in flight.
/// The watchdog never touches the connection's socket: it wakes the
/// exchange, which selects on `cancel` and drops the connection itself, so
/// no descriptor number can outlive its socket here.
#[derive(Default)]
struct Watch {
    /// When the request in flight times out.
    deadline: std::cell::Cell<Option<Instant>>,
    /// Woken by the watchdog when the deadline passes.
    cancel: tokio::sync::Notify,
    /// Set by the watchdog: the request timed out.
    fired: std::cell::Cell<bool>,
}

/// A worker's counts: the whole run's, and the current interval's.
pub(crate) struct Shared {
    pub stats: Stats,
    pub interval: Tick,
}

impl Shared {
    pub fn new(endpoints: usize) -> Shared {
        Shared {
            stats: Stats::new(endpoints),
            interval: Tick::default(),
        }
    }

    /// The current interval's counts, as interval `k`; the next starts empty.
    pub fn take_interval(&mut self, k: u64) -> Tick {
        let mut t = std::mem::take(&mut self.interval);
        t.k = k;
        t
    }
}

/// One worker's part of one reporting interval, sent to the coordinating
/// thread, which adds up the workers' parts.
#[derive(Default)]
pub(crate) struct Tick {
    /// The interval's number from the start of the run.
    pub k: u64,
    pub latency: LatencyHistogram,
    pub errors: u64,
    pub check_failures: u64,
}

impl Tick {
    fn merge(&mut self, other: &Tick) {
        let _ = self.latency.merge(&other.latency);
        self.errors += other.errors;
        self.check_failures += other.check_failures;
    }

    fn into_interval(self, length: Duration) -> Interval {
        Interval {
            start: length * self.k as u32,
            length,
            latency: self.latency,
            errors: self.errors,
            check_failures: self.check_failures,
        }
    }
}

type SharedStats = Rc<RefCell<Shared>>;

struct Plan {
    config: LoadConfig,
    /// Whether the workers run an epoll loop (`epoll.rs`, or `h2c.rs`
    /// when speaking HTTP/2) rather than tokio.
    epoll: bool,
    /// Why the first TLS handshake that failed did, for the report.
    tls_failure: std::sync::Mutex<Option<String>>,
    /// The requests in HTTP/2's form, when speaking it.
    prepared2: Option<Vec<crate::http2::Prepared2>>,
    /// For an `https://` target: the connector and the name to verify.
    tls: Option<(crate::tls::Client, String)>,
    prepared: Vec<Prepared>,
    mix: Vec<usize>,
    /// Every address of the target; connections take them in turn.
    addrs: Vec<std::net::SocketAddr>,
    next_addr: std::sync::atomic::AtomicUsize,
    /// How long after `end` due requests may still be sent.
    grace: Duration,
    schedule: Option<Schedule>,
    t0: Instant,
    end: Instant,
    /// Panics of workers and connections; the run stops at the first.
    failures: Failures,
    /// Iterations begun, with `--iterations`.
    claimed: std::sync::atomic::AtomicU64,
}

/// Runs a load test.
pub fn run(config: &LoadConfig, progress: &mut dyn Progress) -> Result<LoadOutcome, LoadError> {
    validate(config)?;
    let created = perfhub_core::time::UtcTime::now();
    let environment = config.environment.then(|| {
        std::thread::spawn(|| perfhub_probe::env::collect(perfhub_probe::env::EnvConfig::default()))
    });
    let addrs = resolve(&config.requests[0], &config.resolve)?;
    let duration = match &config.model {
        Model::Closed { .. } => match &config.ramp {
            Some(r) => config
                .duration
                .max(r.stages.iter().map(|s| s.duration).sum()),
            None => config.duration,
        },
        Model::Open { stages, .. } => config.duration.max(stages.iter().map(|s| s.duration).sum()),
    };
    let schedule = match &config.model {
        Model::Closed { .. } => None,
        Model::Open { start, stages } => Some(Schedule::new(*start, stages, duration)),
    };
    let target_rate = schedule
        .as_ref()
        .map(|s| s.total() / duration.as_secs_f64() / f64::from(config.segment.count));
    // A short head start lets every worker connect before the first
    // request is due.
    let head_start = Duration::from_millis(50);
    let t0 = match config.start_at {
        None => Instant::now() + head_start,
        Some(at) => wait_for(at, head_start, progress)?,
    };
    // `validate` keeps the duration within MAX_DURATION, which the clock
    // can always hold; checked all the same, as it comes from the user.
    let end = t0.checked_add(duration).ok_or_else(|| {
        LoadError::Config(naming(&[Setting::Duration], |n| {
            format!(
                "the test's end, {} from now, is beyond what the clock can hold: give a {} of at most 720h (30 days)",
                perfhub_core::units::Unit::Seconds.format(duration.as_secs_f64()),
                n[0]
            )
        }))
    })?;
    let first = &config.requests[0].url;
    let tls = if first.scheme() == "https" {
        Some((
            crate::tls::Client::new(&config.tls, config.http2)?,
            first.host_str().unwrap_or_default().to_string(),
        ))
    } else {
        None
    };
    let prepared2 = if config.http2 {
        Some(
            config
                .requests
                .iter()
                .map(crate::http2::Prepared2::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    LoadError::Config(ConfigError::new(format!(
                        "cannot send this over HTTP/2: {e}"
                    )))
                })?,
        )
    } else {
        None
    };
    // Cleartext HTTP/1.1 and HTTP/2 run on a plain epoll loop (epoll.rs,
    // h2c.rs), the open model and the closed one without think time; TLS
    // and think time on tokio.
    let epoll = tls.is_none()
        && match &config.model {
            Model::Closed { think_time } => {
                think_time.is_zero()
                    && config
                        .requests
                        .iter()
                        .all(|r| r.think_time.is_none_or(|t| t.is_zero()))
            }
            Model::Open { .. } => true,
        };
    let plan = Arc::new(Plan {
        epoll,
        tls_failure: std::sync::Mutex::new(None),
        prepared2,
        tls,
        prepared: config.requests.iter().map(Prepared::new).collect(),
        mix: mix(&config.requests, config.sequence),
        addrs,
        next_addr: std::sync::atomic::AtomicUsize::new(0),
        grace: config.grace.unwrap_or(config.timeout),
        schedule,
        t0,
        end,
        config: config.clone(),
        failures: Failures::default(),
        claimed: std::sync::atomic::AtomicU64::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<Tick>();
    let threads = config.threads.min(config.connections).max(1);
    let mut handles = Vec::new();
    for w in 0..threads {
        let conns: Vec<usize> = (w..config.connections).step_by(threads).collect();
        let plan = Arc::clone(&plan);
        let stop = Arc::clone(&stop);
        let tx = tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("perfhub-load-{w}"))
            .spawn(move || {
                guarded(&plan.failures, &stop, w, plan.config.requests.len(), || {
                    if plan.epoll && plan.prepared2.is_some() {
                        h2c::worker(&plan, &conns, &stop, &tx)
                    } else if plan.epoll {
                        epoll::worker(&plan, &conns, &stop, &tx)
                    } else {
                        worker(&plan, &conns, &stop, &tx)
                    }
                })
            })
            .map_err(LoadError::Thread)?;
        handles.push(handle);
    }
    drop(tx);

    // Intervals: each worker sends its part of each; an interval is whole
    // once every worker's part is in.
    let interval_len = config.interval;
    let mut pending: BTreeMap<u64, (usize, Tick)> = BTreeMap::new();
    let mut intervals = Vec::new();
    let mut stopped_early = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(tick) => {
                let e = pending.entry(tick.k).or_insert_with(|| {
                    (
                        0,
                        Tick {
                            k: tick.k,
                            ..Tick::default()
                        },
                    )
                });
                e.0 += 1;
                e.1.merge(&tick);
                while let Some(entry) = pending.first_entry() {
                    if entry.get().0 < threads {
                        break;
                    }
                    let (_, (_, tick)) = entry.remove_entry();
                    let interval = tick.into_interval(interval_len);
                    progress.interval(&interval);
                    intervals.push(interval);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if !stopped_early && progress.should_stop() {
            stopped_early = true;
            stop.store(true, Ordering::SeqCst);
        }
    }
    // What is left of the last, partial interval.
    for (_, (_, tick)) in pending {
        intervals.push(tick.into_interval(interval_len));
    }
    let mut stats = Stats::new(config.requests.len());
    for (w, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(s) => stats.merge(&s),
            Err(payload) => plan.failures.record(
                &stop,
                format!(
                    "worker thread {w} panicked: {}",
                    panic_message(payload.as_ref())
                ),
            ),
        }
    }
    let elapsed = Instant::now().saturating_duration_since(t0);
    // The last intervals end with the run, not a whole interval later.
    for i in &mut intervals {
        i.length = i
            .length
            .min(elapsed.saturating_sub(i.start))
            .max(Duration::from_millis(1));
    }
    // A sliver at the end (the responses of requests in flight when the
    // duration ended) joins the interval before it, rather than standing as
    // an interval of its own whose rate, over a few milliseconds, means
    // nothing.
    if intervals.len() >= 2
        && let Some(last) = intervals.last()
        && last.length < interval_len / 2
        && let Some(last) = intervals.pop()
        && let Some(before) = intervals.last_mut()
    {
        let _ = before.latency.merge(&last.latency);
        before.errors += last.errors;
        before.check_failures += last.check_failures;
        before.length = (last.start + last.length).saturating_sub(before.start);
    }
    let mut outcome = LoadOutcome {
        stats,
        intervals,
        elapsed,
        duration: if stopped_early || config.iterations.is_some() || config.ramp.is_some() {
            elapsed.min(duration)
        } else {
            duration
        },
        target_rate,
        stopped_early,
        tls_failure: plan.tls_failure.lock().ok().and_then(|f| f.clone()),
        failures: plan.failures.take(),
        report: perfhub_core::Report::new(perfhub_core::ReportKind::Load, created),
    };
    outcome.report = crate::report::build_report(config, &outcome, created);
    outcome.report.environment = environment.and_then(|h| h.join().ok());
    Ok(outcome)
}

/// Runs several load tests at once, each with workers of its own, as the
/// named scenarios of one file are; each outcome in order. `stop` is asked
/// every 100 ms: once it says so, every test stops.
pub fn run_many(
    configs: &[LoadConfig],
    stop: &(dyn Fn() -> bool + Sync),
) -> Vec<Result<LoadOutcome, LoadError>> {
    struct StopWhen<'a>(&'a (dyn Fn() -> bool + Sync));
    impl Progress for StopWhen<'_> {
        fn interval(&mut self, _: &Interval) {}
        fn should_stop(&mut self) -> bool {
            (self.0)()
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = configs
            .iter()
            .map(|config| scope.spawn(move || run(config, &mut StopWhen(stop))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|payload| {
                    Err(LoadError::Config(ConfigError::new(format!(
                        "the load test's thread panicked: {} (a bug in perfhub: please report it)",
                        panic_message(payload.as_ref())
                    ))))
                })
            })
            .collect()
    })
}

/// Waits until `head_start` before `at` (or until told to stop), and
/// returns the instant `at` is on the monotonic clock. A time already past
/// is refused: the schedule's first requests would all be late.
fn wait_for(
    at: SystemTime,
    head_start: Duration,
    progress: &mut dyn Progress,
) -> Result<Instant, LoadError> {
    let now = SystemTime::now();
    let ahead = at.duration_since(now).map_err(|e| {
        LoadError::Config(naming(&[Setting::StartAt], |n| {
            format!(
                "the start time ({} {}) passed {} ago: start every segment before it, or give a later one",
                n[0],
                format_start_at(at),
                perfhub_core::units::Unit::Seconds.format(e.duration().as_secs_f64())
            )
        }))
    })?;
    if ahead > MAX_START_DELAY {
        return Err(LoadError::Config(naming(&[Setting::StartAt], |n| {
            format!(
                "the start time ({} {}) is more than 720h ahead",
                n[0],
                format_start_at(at)
            )
        })));
    }
    let t0 = Instant::now() + ahead;
    loop {
        let left = t0.saturating_duration_since(Instant::now());
        if left <= head_start || progress.should_stop() {
            return Ok(t0);
        }
        std::thread::sleep((left - head_start).min(Duration::from_millis(100)));
    }
}

/// Why parts of a run failed (panics, a runtime that would not start),
/// shared by the workers.
#[derive(Default)]
struct Failures(std::sync::Mutex<Vec<String>>);

impl Failures {
    /// Records why part of the run failed, and stops the run: what that
    /// part would have counted is missing, so going on would measure
    /// nothing that could be reported.
    fn record(&self, stop: &AtomicBool, why: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(why);
        stop.store(true, Ordering::SeqCst);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Runs worker thread `w`'s `body`. A panic is perfhub's bug: it is
/// recorded and stops the run, never taken for a worker that counted
/// nothing.
fn guarded(
    failures: &Failures,
    stop: &AtomicBool,
    w: usize,
    endpoints: usize,
    body: impl FnOnce() -> Stats,
) -> Stats {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        failures.record(
            stop,
            format!(
                "worker thread {w} panicked: {}",
                panic_message(payload.as_ref())
            ),
        );
        Stats::new(endpoints)
    })
}

/// Waits for a worker's connections in the order they end, so that a
/// connection's panic is recorded and stops the run at once, not when the
/// connections before it are done.
async fn join_connections(
    tasks: &mut tokio::task::JoinSet<()>,
    failures: &Failures,
    stop: &AtomicBool,
) {
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done
            && e.is_panic()
        {
            failures.record(
                stop,
                format!(
                    "a connection panicked: {}",
                    panic_message(e.into_panic().as_ref())
                ),
            );
        }
    }
}

/// What a panic said: its message when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

fn validate(config: &LoadConfig) -> Result<(), LoadError> {
    use Setting::{
        Connections, Http2, Iterations, Rate, Stages, Streams, ThinkTime, Threads, Timeout,
        VusStages,
    };
    let bad = |m: &str| Err(LoadError::Config(ConfigError::new(m)));
    // `naming` puts the settings' names, in backticks, into the message.
    let bad_setting = |settings: &[Setting], m: &dyn Fn(&[String]) -> String| {
        Err(LoadError::Config(naming(settings, m)))
    };
    if config.requests.is_empty() {
        return bad("no requests: give a URL or a scenario file");
    }
    if config.connections == 0 {
        return bad_setting(&[Connections], &|n| format!("{} must be at least 1", n[0]));
    }
    if config.streams == 0 {
        return bad_setting(&[Streams], &|n| format!("{} must be at least 1", n[0]));
    }
    if config.streams > MAX_STREAMS {
        return bad_setting(&[Streams], &|n| {
            format!(
                "{} {} is more than {MAX_STREAMS}, the most streams a connection may have in flight here",
                n[0], config.streams
            )
        });
    }
    if config.streams > 1 && !config.http2 {
        return bad_setting(&[Streams, Http2], &|n| {
            format!(
                "more than one stream per connection ({} {}) needs HTTP/2: give {} too (an HTTP/1.1 connection has one request in flight)",
                n[0], config.streams, n[1]
            )
        });
    }
    if config.connections.saturating_mul(config.streams) > MAX_LANES {
        return bad_setting(&[Connections, Streams], &|n| {
            format!(
                "{} {} times {} {} is more than {MAX_LANES} requests in flight",
                n[0], config.connections, n[1], config.streams
            )
        });
    }
    if config.threads == 0 {
        return bad_setting(&[Threads], &|n| format!("{} must be at least 1", n[0]));
    }
    if let Some(flow) = &config.flow {
        if flow.requests.len() != config.requests.len() {
            return bad("the flow's requests do not match the load test's requests");
        }
        if config.http2 {
            return bad_setting(&[Http2], &|n| {
                format!(
                    "a sequence scenario (values carried between requests, cookies, data files) runs over HTTP/1.1: leave out {}",
                    n[0]
                )
            });
        }
    }
    if let Some(ramp) = &config.ramp {
        if matches!(config.model, Model::Open { .. }) {
            return bad_setting(&[VusStages, Rate, Stages], &|n| {
                format!(
                    "virtual users ramp in the closed model: {} cannot be given with {} or {}",
                    n[0], n[1], n[2]
                )
            });
        }
        let finite = |v: f64| v.is_finite() && v >= 0.0;
        if !finite(ramp.start)
            || ramp
                .stages
                .iter()
                .any(|s| !finite(s.target) || s.duration.is_zero())
        {
            return bad(
                "each virtual user stage needs a duration above 0 and a number of users, 0 or more, such as 30s:50",
            );
        }
        if ramp.stages.iter().map(|s| s.duration).sum::<Duration>() > MAX_DURATION {
            return bad_setting(&[VusStages], &|n| {
                format!("the {} durations add up to more than 720h (30 days)", n[0])
            });
        }
        if ramp.most() > config.connections as f64 {
            return bad_setting(&[Connections], &|n| {
                format!(
                    "the ramp reaches {} virtual users but there are {} connections: give {} {} or more",
                    ramp.most(),
                    config.connections,
                    n[0],
                    ramp.most().ceil()
                )
            });
        }
        if ramp.most() < 1.0 {
            return bad("the ramp never has a virtual user: nothing would be sent");
        }
    }
    if config.iterations == Some(0) {
        return bad_setting(&[Iterations], &|n| format!("{} must be at least 1", n[0]));
    }
    if config.iterations.is_some() && matches!(config.model, Model::Open { .. }) {
        return bad_setting(&[Iterations, Rate, Stages, Connections], &|n| {
            format!(
                "{} runs in the closed model (k6's shared-iterations): leave out {} and {}, and give {} (the virtual users)",
                n[0], n[1], n[2], n[3]
            )
        });
    }
    if config.timeout.is_zero() {
        return bad_setting(&[Timeout], &|n| format!("{} must be more than 0", n[0]));
    }
    if config.timeout > MAX_TIMEOUT {
        return bad_setting(&[Timeout], &|n| {
            format!(
                "{} {} is longer than {}, the longest a request may take: give 1h or less",
                n[0],
                written(config.timeout),
                describe_limit(MAX_TIMEOUT)
            )
        });
    }
    if config.duration > MAX_DURATION {
        return bad_setting(&[Setting::Duration], &|n| {
            format!(
                "{} {} is longer than {}, the longest test: give 720h or less (or run several tests)",
                n[0],
                written(config.duration),
                describe_limit(MAX_DURATION)
            )
        });
    }
    if config.interval < Duration::from_millis(100) {
        return bad("the reporting interval must be at least 100ms");
    }
    if config.interval > MAX_DURATION {
        return bad("the reporting interval must be at most 720h (30 days)");
    }
    if config.segment.count == 0 || config.segment.index >= config.segment.count {
        return bad("bad segment: give i/N with 1 <= i <= N");
    }
    match &config.model {
        Model::Closed { .. } if config.duration.is_zero() => {
            bad_setting(&[Setting::Duration], &|n| {
                format!("{} must be more than 0", n[0])
            })
        }
        Model::Closed { think_time } if *think_time > MAX_THINK_TIME => {
            bad_setting(&[ThinkTime], &|n| {
                format!(
                    "{} {} is longer than {}, the longest pause allowed: give 1h or less",
                    n[0],
                    written(*think_time),
                    describe_limit(MAX_THINK_TIME)
                )
            })
        }
        Model::Open { start, stages } => {
            if !start.is_finite() || *start < 0.0 {
                return bad_setting(&[Rate], &|n| {
                    format!(
                        "{} must be a number of requests per second, 0 or more",
                        n[0]
                    )
                });
            }
            if stages
                .iter()
                .any(|s| !s.target.is_finite() || s.target < 0.0 || s.duration.is_zero())
            {
                return bad(
                    "each stage needs a duration above 0 and a target rate of 0 or more, such as 30s:1000",
                );
            }
            let total = stages
                .iter()
                .try_fold(Duration::ZERO, |sum, s| sum.checked_add(s.duration))
                .filter(|total| *total <= MAX_DURATION);
            let Some(total) = total else {
                return bad_setting(&[Stages], &|n| {
                    format!(
                        "the {} durations add up to more than {}, the longest test: give shorter stages, 720h in all at most",
                        n[0],
                        describe_limit(MAX_DURATION)
                    )
                });
            };
            if config.duration.max(total).is_zero() {
                return bad_setting(&[Setting::Duration], &|n| {
                    format!("{} must be more than 0", n[0])
                });
            }
            if *start == 0.0 && stages.iter().all(|s| s.target == 0.0) {
                return bad("the rate is 0 throughout: nothing would be sent");
            }
            Ok(())
        }
        Model::Closed { .. } => Ok(()),
    }
}

/// A duration as the user might have written it, for errors: whole seconds
/// when it is, else seconds with a fraction.
fn written(d: Duration) -> String {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    if nanos == 0 {
        format!("{secs}s")
    } else {
        format!("{secs}.{}s", format!("{nanos:09}").trim_end_matches('0'))
    }
}

/// Every address of the target's host: a `--resolve` pin for its host and
/// port, else all the system resolver gives (A and AAAA records), in its
/// order, without repeats.
fn resolve(
    spec: &RequestSpec,
    pins: &[crate::request::Pin],
) -> Result<Vec<std::net::SocketAddr>, LoadError> {
    use std::net::ToSocketAddrs;
    let url = &spec.url;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    if let Some(pin) = pins
        .iter()
        .find(|p| p.port == port && p.host.eq_ignore_ascii_case(host))
    {
        return Ok(pin
            .addrs
            .iter()
            .map(|&ip| std::net::SocketAddr::new(ip, port))
            .collect());
    }
    let name = format!("{host}:{port}");
    let mut addrs: Vec<std::net::SocketAddr> = Vec::new();
    for a in (host, port)
        .to_socket_addrs()
        .map_err(|source| LoadError::Resolve {
            host: name.clone(),
            source,
        })?
    {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(LoadError::Resolve {
            host: name,
            source: std::io::Error::other("no address"),
        });
    }
    Ok(addrs)
}

impl Plan {
    /// The address for the next new connection: the target's addresses in
    /// turn, so connections spread over all of them.
    fn next_target(&self) -> std::net::SocketAddr {
        let i = self.next_addr.fetch_add(1, Ordering::Relaxed);
        self.addrs[i % self.addrs.len()]
    }

    /// With a virtual user ramp, whether closed-model lane `c` must wait:
    /// `None` when it may send now (or there is no ramp), else until when
    /// (`None` inside: never again). A virtual user in the middle of an
    /// iteration (`between` false) finishes it first.
    fn waiting(&self, c: usize, now: Instant, between: bool) -> Option<Option<Instant>> {
        let ramp = self.config.ramp.as_ref()?;
        let t = now.saturating_duration_since(self.t0).as_secs_f64();
        if !between || ramp.active(c, t) {
            return None;
        }
        Some(
            ramp.next_active(c, t)
                .map(|s| self.t0 + Duration::from_secs_f64(s))
                .filter(|at| *at < self.end),
        )
    }

    /// How long request `which` may take.
    fn timeout_of(&self, which: usize) -> Duration {
        self.config.requests[which]
            .timeout
            .unwrap_or(self.config.timeout)
    }

    /// Begins an iteration: false when `--iterations` are all begun.
    fn claim(&self) -> bool {
        self.config
            .iterations
            .is_none_or(|n| self.claimed.fetch_add(1, Ordering::Relaxed) < n)
    }

    /// Lane `c`'s virtual user, in a flow.
    fn user(&self, c: usize) -> Option<crate::flow::Vu> {
        let seg = self.config.segment;
        let v = u64::from(seg.index) + u64::from(seg.count) * c as u64;
        self.config
            .flow
            .as_ref()
            .map(|f| f.user(v, &self.config.requests))
    }

    /// What a closed-model lane sends next: its virtual user's next
    /// request, written with the user's values (`Err` with the reason and
    /// the requests left out when it cannot be), or the mix's next; `None`
    /// when `--iterations` are all begun.
    fn next_closed(
        &self,
        c: usize,
        j: u64,
        vu: Option<&mut crate::flow::Vu>,
    ) -> Option<Result<usize, (usize, String)>> {
        match vu {
            Some(vu) => {
                let (which, begins) = vu.next();
                if begins && !self.claim() {
                    return None;
                }
                Some(match vu.render(which, &self.config.requests[which]) {
                    Ok(_) => Ok(which),
                    Err(why) => Err((which, why)),
                })
            }
            None => self
                .claim()
                .then(|| Ok(self.mix[(c + j as usize) % self.mix.len()])),
        }
    }
}

/// The most reasons for abandoned iterations kept per request; the rest
/// are counted under one.
const MAX_REASONS: usize = 32;

/// Counts a flow's request `which` that abandoned its iteration for `why`,
/// and the requests it left out.
pub(crate) fn record_abandoned(
    s: &mut Shared,
    which: usize,
    why: String,
    skipped: std::ops::Range<usize>,
) {
    let e = &mut s.stats.endpoints[which];
    let why = if e.abandoned.len() >= MAX_REASONS && !e.abandoned.contains_key(&why) {
        "other reasons".to_string()
    } else {
        why
    };
    *e.abandoned.entry(why).or_insert(0) += 1;
    for k in skipped {
        s.stats.endpoints[k].skipped += 1;
    }
}

fn worker(
    plan: &Arc<Plan>,
    conns: &[usize],
    stop: &Arc<AtomicBool>,
    tx: &mpsc::Sender<Tick>,
) -> Stats {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            plan.failures
                .record(stop, format!("a worker thread could not start: {e}"));
            return Stats::new(plan.config.requests.len());
        }
    };
    let shared: SharedStats = Rc::new(RefCell::new(Shared::new(plan.config.requests.len())));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut tasks = tokio::task::JoinSet::new();
        // A lane sends one request at a time: one per connection, or with
        // --streams one per stream, the lanes of a connection sharing it.
        let streams = plan.config.streams;
        let lanes: Vec<(usize, Rc<H2Slot>)> = conns
            .iter()
            .flat_map(|&c| {
                let slot = Rc::new(H2Slot::default());
                (0..streams).map(move |s| (c * streams + s, Rc::clone(&slot)))
            })
            .collect();
        let watches: Vec<Rc<Watch>> = lanes.iter().map(|_| Rc::new(Watch::default())).collect();
        for ((lane, slot), watch) in lanes.into_iter().zip(&watches) {
            let plan = Arc::clone(plan);
            let shared = Rc::clone(&shared);
            let stop = Arc::clone(stop);
            let watch = Rc::clone(watch);
            tasks.spawn_local(async move {
                connection(lane, &plan, &shared, &stop, &watch, &slot).await;
            });
        }
        // Timeouts: rather than a timer per request, one watchdog per worker
        // looks at every request in flight every 10 ms and cancels one that
        // is overdue; its connection is then closed, and the request counts
        // as timed out.
        let watchdog = tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(WATCHDOG_PERIOD).await;
                let now = Instant::now();
                for w in &watches {
                    if let Some(deadline) = w.deadline.get()
                        && now >= deadline
                    {
                        w.fired.set(true);
                        w.deadline.set(None);
                        // Wakes only an exchange waiting now: no permit is
                        // left behind for the connection's next request.
                        w.cancel.notify_waiters();
                    }
                }
            }
        });
        // Interval reports, until every connection is done.
        // The first interval not reported yet.
        let next = Rc::new(std::cell::Cell::new(0u64));
        let reporter = {
            let shared = Rc::clone(&shared);
            let plan = Arc::clone(plan);
            let tx = tx.clone();
            let next = Rc::clone(&next);
            tokio::task::spawn_local(async move {
                loop {
                    let k = next.get();
                    let due = plan.t0 + plan.config.interval * (k as u32 + 1);
                    tokio::time::sleep_until(due.into()).await;
                    let tick = shared.borrow_mut().take_interval(k);
                    next.set(k + 1);
                    if tx.send(tick).is_err() {
                        return;
                    }
                }
            })
        };
        join_connections(&mut tasks, &plan.failures, stop).await;
        reporter.abort();
        watchdog.abort();
        // What came in since the last report belongs to the first interval
        // not reported yet (the run can end between an interval's end and
        // its report: that interval's counts are not a later one's).
        let _ = tx.send(shared.borrow_mut().take_interval(next.get()));
    });
    shared.borrow().stats.clone()
}

/// The arrival number of lane `c`'s `j`-th request in the whole schedule
/// (every segment's lanes together).
fn arrival(plan: &Plan, c: u64, j: u64) -> u64 {
    let seg = plan.config.segment;
    let lanes = (plan.config.connections * plan.config.streams) as u64;
    u64::from(seg.index) + u64::from(seg.count) * (c + lanes * j)
}

/// Lane `c`'s requests from its `j`-th on, due before the end and never
/// sent (the grace period is over, or the run was stopped): counted as
/// dropped, and in the histograms with the wait so far, a lower bound on
/// their latency, so the tail is never left out.
fn drop_rest(plan: &Plan, shared: &mut Shared, c: u64, j: u64, now: Instant) {
    let Some(schedule) = &plan.schedule else {
        return;
    };
    let mut k = j;
    loop {
        let n = arrival(plan, c, k);
        let Some(t) = schedule.time_of(n) else {
            break;
        };
        let waited = now.saturating_duration_since(plan.t0 + Duration::from_secs_f64(t));
        let which = plan.mix[(n % plan.mix.len() as u64) as usize];
        shared.stats.endpoints[which].latency.record(waited);
        shared.stats.dropped += 1;
        k += 1;
    }
}

/// The slack the timer is allowed: tokio's timer wheel has 1 ms ticks, a
/// timer fires on the first tick after its deadline, and the thread sees
/// the tick when it next wakes from `epoll_wait`, whose timeout is whole
/// milliseconds too.
pub const TIMER_SLACK: Duration = Duration::from_millis(2);

/// How often the watchdog looks for overdue requests: timeouts fire up to
/// this much late.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(10);

/// One HTTP/2 connection, shared by the lanes of its streams.
#[derive(Default)]
struct H2Slot {
    /// The connection and its generation, when there is one.
    conn: RefCell<Option<(u64, crate::http2::Connection)>>,
    generation: std::cell::Cell<u64>,
    /// Held while connecting, so that the lanes make one connection.
    connecting: tokio::sync::Mutex<()>,
}

impl H2Slot {
    fn get(&self) -> Option<(u64, crate::http2::Connection)> {
        self.conn.borrow().clone()
    }

    /// Drops the connection of generation `g`, if it is still the one.
    fn close(&self, g: u64) {
        let mut conn = self.conn.borrow_mut();
        if conn.as_ref().is_some_and(|(have, _)| *have == g) {
            *conn = None;
        }
    }
}

/// One lane: `c` numbers it among `connections * streams` lanes (with one
/// stream, a connection of its own).
async fn connection(
    c: usize,
    plan: &Plan,
    shared: &SharedStats,
    stop: &AtomicBool,
    watch: &Watch,
    h2: &H2Slot,
) {
    let config = &plan.config;
    let mut stream: Option<Stream> = None;
    let mut reader = Reader::for_lanes(config.connections * config.streams);
    // The generation of the HTTP/2 connection the last request used.
    let used = std::cell::Cell::new(0u64);
    let retried = std::cell::Cell::new(0u64);
    let mut j: u64 = 0;
    let mut vu = plan.user(c);
    let mut no_sink = crate::http1::NoSink;
    tokio::time::sleep_until(plan.t0.into()).await;
    loop {
        let (intended, which) = match &plan.schedule {
            Some(schedule) => {
                let n = arrival(plan, c as u64, j);
                let Some(t) = schedule.time_of(n) else {
                    return;
                };
                let intended = plan.t0 + Duration::from_secs_f64(t);
                let now = Instant::now();
                // Requests due before the end are still sent after it, for
                // the grace period: a stall at the very end is measured, not
                // cut off.
                if now >= plan.end + plan.grace || stop.load(Ordering::Relaxed) {
                    drop_rest(plan, &mut shared.borrow_mut(), c as u64, j, now);
                    return;
                }
                if intended > now {
                    tokio::time::sleep_until(intended.into()).await;
                }
                match vu.as_mut() {
                    // A virtual user sends its requests in order.
                    Some(vu) => {
                        let which = vu.next().0;
                        if let Err(why) = vu.render(which, &config.requests[which]) {
                            let rest = vu.abandon(which);
                            record_abandoned(&mut shared.borrow_mut(), which, why, which..rest.end);
                            j += 1;
                            continue;
                        }
                        (Some(intended), which)
                    }
                    // By the arrival's place in the whole schedule, so that
                    // every segment and connection together keep the weights
                    // exactly.
                    None => (
                        Some(intended),
                        plan.mix[(n % plan.mix.len() as u64) as usize],
                    ),
                }
            }
            None => {
                let now = Instant::now();
                if now >= plan.end || stop.load(Ordering::Relaxed) {
                    return;
                }
                let between = vu.as_ref().is_none_or(|vu| vu.next().1);
                if let Some(wait) = plan.waiting(c, now, between) {
                    // Not one of the ramp's users now: no connection held.
                    stream = None;
                    reader.clear();
                    let Some(at) = wait else {
                        return;
                    };
                    // Woken at least every 100 ms to see a stop.
                    let at = at.min(now + Duration::from_millis(100));
                    tokio::time::sleep_until(at.into()).await;
                    continue;
                }
                match plan.next_closed(c, j, vu.as_mut()) {
                    None => return,
                    Some(Ok(which)) => (None, which),
                    Some(Err((which, why))) => {
                        let rest = vu
                            .as_mut()
                            .map_or(which + 1..which + 1, |vu| vu.abandon(which));
                        record_abandoned(&mut shared.borrow_mut(), which, why, which..rest.end);
                        j += 1;
                        continue;
                    }
                }
            }
        };
        j += 1;
        let (request, sink): (&Prepared, &mut dyn crate::http1::Sink) = match vu.as_mut() {
            Some(vu) => vu.split(which),
            None => (&plan.prepared[which], &mut no_sink),
        };
        let sent_at = Instant::now();
        watch.deadline.set(Some(sent_at + plan.timeout_of(which)));
        let exchanged = async {
            match &plan.prepared2 {
                Some(p2) => exchange2(h2, plan, &p2[which], &used, &retried).await,
                None => exchange(&mut stream, &mut reader, plan, request, sink).await,
            }
        };
        // The exchange registers for `cancel` on its first poll, before
        // this task yields to the watchdog (one thread per worker).
        let mut result = tokio::select! {
            biased;
            r = exchanged => r,
            () = watch.cancel.notified() => Err(ErrorKind::Timeout),
        };
        watch.deadline.set(None);
        if watch.fired.replace(false) {
            // Cut off mid-exchange: the connection's state is unknown, so
            // it is closed below (an error always closes it).
            result = Err(ErrorKind::Timeout);
        }
        let done = Instant::now();
        let late_by = intended.map_or(Duration::ZERO, |i| sent_at.saturating_duration_since(i));
        if result.is_err() {
            h2.close(used.get());
        }
        shared.borrow_mut().stats.retried += retried.replace(0);
        let after = vu.as_mut().map(|vu| vu.after(which, &mut result));
        let outcome = record(
            &mut shared.borrow_mut(),
            which,
            sent_at,
            done,
            late_by,
            result,
        );
        if let Some(crate::flow::After {
            abandoned: Some(why),
            skipped,
        }) = after
        {
            record_abandoned(&mut shared.borrow_mut(), which, why, skipped);
        }
        if outcome.close {
            stream = None;
            reader.clear();
        }
        // A refused or failing target is not hammered in a loop: a
        // closed-model connection waits a little before the next try (an
        // open-model one waits for its schedule anyway).
        if outcome.backoff && plan.schedule.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        if let Model::Closed { think_time } = &config.model {
            let pause = config.requests[which].think_time.unwrap_or(*think_time);
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// What the connection does after a request.
pub(crate) struct Outcome {
    /// The connection could not be made: wait a little before the next try.
    pub backoff: bool,
    /// The connection is done with (an error, or the server asked to close).
    pub close: bool,
}

/// Counts one request's outcome.
pub(crate) fn record(
    s: &mut Shared,
    which: usize,
    sent_at: Instant,
    done: Instant,
    late_by: Duration,
    result: Result<(crate::http1::Response, u64), ErrorKind>,
) -> Outcome {
    s.stats.sent += 1;
    if late_by > TIMER_SLACK {
        s.stats.late += 1;
    }
    match result {
        Ok((response, sent_bytes)) => {
            let service = done.duration_since(sent_at);
            let latency = service + late_by.saturating_sub(TIMER_SLACK);
            let e = &mut s.stats.endpoints[which];
            e.latency.record(latency);
            e.service.record(service);
            e.responses += 1;
            if !response.checks_passed {
                e.check_failures += 1;
                s.interval.check_failures += 1;
            }
            *e.statuses.entry(response.status).or_insert(0) += 1;
            s.interval.latency.record(latency);
            s.stats.bytes_sent += sent_bytes;
            s.stats.bytes_received += response.bytes;
            Outcome {
                backoff: false,
                close: response.close,
            }
        }
        Err(kind) => {
            if kind == ErrorKind::Timeout {
                // It took at least this long: in the latency percentiles as
                // a lower bound, so a budget on them cannot pass while
                // requests time out.
                let waited = done.duration_since(sent_at) + late_by.saturating_sub(TIMER_SLACK);
                s.stats.endpoints[which].latency.record(waited);
                s.interval.latency.record(waited);
            }
            s.stats.endpoints[which].errors += 1;
            *s.stats.errors.entry(kind).or_insert(0) += 1;
            s.interval.errors += 1;
            Outcome {
                backoff: matches!(kind, ErrorKind::ConnectRefused | ErrorKind::Connect),
                close: true,
            }
        }
    }
}

/// A new connection to the target, TLS included; connecting is rare, so a
/// timer of its own is cheap enough here.
async fn connect(plan: &Plan) -> Result<Stream, ErrorKind> {
    let connect = async {
        let tcp =
            TcpStream::connect(plan.next_target())
                .await
                .map_err(|e| match ErrorKind::of(&e) {
                    ErrorKind::ConnectRefused => ErrorKind::ConnectRefused,
                    ErrorKind::Timeout => ErrorKind::Timeout,
                    _ => ErrorKind::Connect,
                })?;
        let _ = tcp.set_nodelay(true);
        match &plan.tls {
            None => Ok(Stream::Plain(tcp)),
            Some((client, host)) => client.connect(host, tcp).await.map_err(|e| {
                if let Ok(mut first) = plan.tls_failure.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
                ErrorKind::Tls
            }),
        }
    };
    tokio::time::timeout(plan.config.timeout, connect)
        .await
        .map_err(|_| ErrorKind::Timeout)?
}

/// The lane's HTTP/2 connection: the shared one, or a new one made by
/// the first lane to need it while the others wait.
async fn connection2(
    h2: &H2Slot,
    plan: &Plan,
) -> Result<(u64, crate::http2::Connection), ErrorKind> {
    if let Some(c) = h2.get() {
        return Ok(c);
    }
    let _connecting = h2.connecting.lock().await;
    if let Some(c) = h2.get() {
        return Ok(c);
    }
    let stream = connect(plan).await?;
    let handshake = crate::http2::Connection::handshake(stream);
    let conn = tokio::time::timeout(plan.config.timeout, handshake)
        .await
        .map_err(|_| ErrorKind::Timeout)??;
    let g = h2.generation.get() + 1;
    h2.generation.set(g);
    *h2.conn.borrow_mut() = Some((g, conn.clone()));
    Ok((g, conn))
}

/// How many times an HTTP/2 request the server did not process is sent.
const H2_ATTEMPTS: usize = 3;

/// One request over HTTP/2, on a stream of the lane's shared connection.
/// `used` is set to the connection's generation. A request the server did
/// not process is sent again, up to [`H2_ATTEMPTS`] times in all, and
/// `retried` counts the retries: after a GOAWAY on a new connection, after
/// a refused stream on the same one.
async fn exchange2(
    h2: &H2Slot,
    plan: &Plan,
    request: &crate::http2::Prepared2,
    used: &std::cell::Cell<u64>,
    retried: &std::cell::Cell<u64>,
) -> Result<(crate::http1::Response, u64), ErrorKind> {
    let mut attempt = 1;
    loop {
        let (g, mut conn) = connection2(h2, plan).await?;
        used.set(g);
        match conn.exchange(request).await {
            Err(kind @ (ErrorKind::GoAway | ErrorKind::RefusedStream)) if attempt < H2_ATTEMPTS => {
                if kind == ErrorKind::GoAway {
                    h2.close(g);
                }
                retried.set(retried.get() + 1);
                attempt += 1;
            }
            r => return r,
        }
    }
}

async fn exchange(
    stream: &mut Option<Stream>,
    reader: &mut Reader,
    plan: &Plan,
    request: &Prepared,
    sink: &mut dyn crate::http1::Sink,
) -> Result<(crate::http1::Response, u64), ErrorKind> {
    if stream.is_none() {
        *stream = Some(connect(plan).await?);
    }
    let Some(s) = stream.as_mut() else {
        return Err(ErrorKind::Connect);
    };
    let sent = crate::http1::send(s, request).await?;
    let response = reader.read_response(s, request, sink).await?;
    if let (true, Stream::Plain(tcp)) = (reader.is_empty(), &*s) {
        // The whole response is read, and a server sends nothing unasked:
        // the socket is empty. Telling tokio so (without a system call)
        // makes the next read wait for the kernel's readiness event rather
        // than first trying a read that would fail with WouldBlock, which
        // saves a system call per request. (Not under TLS, whose layer may
        // hold bytes of its own.)
        let _ = tcp.try_io(tokio::io::Interest::READABLE, || {
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
    }
    Ok((response, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_schedule_spaces_arrivals_evenly() {
        let s = Schedule::new(100.0, &[], Duration::from_secs(2));
        assert_eq!(s.total(), 200.0);
        assert_eq!(s.time_of(0), Some(0.0));
        assert!((s.time_of(50).unwrap() - 0.5).abs() < 1e-9);
        assert!((s.time_of(199).unwrap() - 1.99).abs() < 1e-9);
        assert_eq!(s.time_of(200), None);
    }

    #[test]
    fn a_ramp_follows_the_integral_of_the_rate() {
        // 0 to 100/s over 10 s: 500 arrivals; the n-th at sqrt(n / 5).
        let s = Schedule::new(
            0.0,
            &[Stage {
                duration: Duration::from_secs(10),
                target: 100.0,
            }],
            Duration::ZERO,
        );
        assert!((s.total() - 500.0).abs() < 1e-9);
        for n in [1u64, 20, 125, 499] {
            let t = s.time_of(n).unwrap();
            assert!((t - (n as f64 / 5.0).sqrt()).abs() < 1e-6, "{n}: {t}");
        }
        assert_eq!(s.time_of(500), None);
        // Then a hold at 100/s for the rest of a 12 s run.
        let s = Schedule::new(
            0.0,
            &[Stage {
                duration: Duration::from_secs(10),
                target: 100.0,
            }],
            Duration::from_secs(12),
        );
        assert!((s.total() - 700.0).abs() < 1e-9);
        assert!((s.time_of(600).unwrap() - 11.0).abs() < 1e-9);
    }

    #[test]
    fn weights_interleave() {
        let url = crate::request::parse_url("http://127.0.0.1/").unwrap();
        let mut a = RequestSpec::get(url.clone());
        a.weight = 3;
        let b = RequestSpec::get(url);
        let m = mix(&[a, b], false);
        assert_eq!(m.len(), 4);
        assert_eq!(m.iter().filter(|&&i| i == 0).count(), 3);
        // Spread out, not in a run of three.
        assert_eq!(m, [0, 0, 1, 0]);
    }

    #[test]
    fn start_times_are_rfc_3339_or_from_now() {
        // 2027-01-15T08:00:00Z.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            parse_start_at("+30s", now).unwrap(),
            now + Duration::from_secs(30)
        );
        // Two segments started 1.4 ms apart in one second share a start.
        for started in [1, 1_400_001] {
            assert_eq!(
                parse_start_at("+30s", now + Duration::from_nanos(started)).unwrap(),
                now + Duration::from_secs(31)
            );
        }
        let at = parse_start_at("2027-01-15T09:00:00.5+01:00", now).unwrap();
        assert_eq!(at, now + Duration::from_millis(500));
        assert_eq!(format_start_at(at), "2027-01-15T08:00:00.5Z");
        for (text, why) in [
            ("tomorrow", "give RFC 3339 such as"),
            ("2027-13-01T00:00:00Z", "give RFC 3339 such as"),
            ("+5 parsecs", "bad start time"),
            ("+800h", "longer than 30 days"),
            ("2027-03-01T00:00:00Z", "more than 30 days ahead"),
        ] {
            let e = parse_start_at(text, now).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn a_start_time_already_past_is_refused() {
        let at = SystemTime::now() - Duration::from_secs(3);
        let e = wait_for(at, Duration::from_millis(50), &mut NoProgress).unwrap_err();
        assert!(e.to_string().contains("passed 3 s ago"), "{e}");
        let at = SystemTime::now() + Duration::from_millis(300);
        let t0 = wait_for(at, Duration::from_millis(50), &mut NoProgress).unwrap();
        // It returns at the head start before the time, not after it.
        assert!(t0 > Instant::now(), "returned after the start time");
    }

    #[test]
    fn a_panicking_worker_is_recorded_and_stops_the_run() {
        let failures = Failures::default();
        let stop = AtomicBool::new(false);
        let stats = guarded(&failures, &stop, 0, 2, || {
            let mut s = Stats::new(2);
            s.sent = 5;
            s
        });
        assert_eq!(stats.sent, 5);
        assert!(!stop.load(Ordering::SeqCst));
        let stats = guarded(&failures, &stop, 3, 2, || {
            panic!("overflow when adding duration to instant")
        });
        assert_eq!(stats.endpoints.len(), 2);
        assert!(stop.load(Ordering::SeqCst));
        assert_eq!(
            failures.take(),
            ["worker thread 3 panicked: overflow when adding duration to instant"]
        );
        let n = 7;
        guarded(&failures, &stop, 1, 1, || panic!("{n} is too many"));
        guarded(&failures, &stop, 2, 1, || std::panic::panic_any(42));
        assert_eq!(
            failures.take(),
            [
                "worker thread 1 panicked: 7 is too many",
                "worker thread 2 panicked: a panic without a message"
            ]
        );
    }

    #[test]
    fn a_panicking_connection_is_recorded_and_stops_the_run() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let failures = Failures::default();
        let stop = Arc::new(AtomicBool::new(false));
        let saw_stop = Rc::new(std::cell::Cell::new(false));
        tokio::task::LocalSet::new().block_on(&runtime, async {
            let mut tasks = tokio::task::JoinSet::new();
            // A connection that runs until the run stops (or gives up): the
            // panic of the other one must be seen while this one is still
            // going.
            let until_stopped = Arc::clone(&stop);
            let saw_stop = Rc::clone(&saw_stop);
            tasks.spawn_local(async move {
                for _ in 0..100_000 {
                    if until_stopped.load(Ordering::SeqCst) {
                        saw_stop.set(true);
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            });
            tasks.spawn_local(async { panic!("connection 1 broke") });
            tasks.spawn_local(async {});
            join_connections(&mut tasks, &failures, &stop).await;
        });
        assert!(saw_stop.get(), "the panic stopped the other connection");
        assert_eq!(
            failures.take(),
            ["a connection panicked: connection 1 broke"]
        );
    }

    #[test]
    fn a_virtual_user_ramp_activates_each_connection_in_turn() {
        let s = |secs: u64, target: f64| Stage {
            duration: Duration::from_secs(secs),
            target,
        };
        // 1 user, to 5 over 4 s, 5 for 2 s, to 0 over 5 s.
        let ramp = VuRamp {
            start: 1.0,
            stages: vec![s(4, 5.0), s(2, 5.0), s(5, 0.0)],
        };
        assert_eq!(ramp.most(), 5.0);
        assert_eq!(ramp.users_at(0.0), 1.0);
        assert_eq!(ramp.users_at(2.0), 3.0);
        assert_eq!(ramp.users_at(5.0), 5.0);
        assert_eq!(ramp.users_at(8.5), 2.5);
        assert_eq!(ramp.users_at(100.0), 0.0);
        assert!(ramp.active(0, 0.0) && !ramp.active(1, 0.0));
        // Connection 2 (the third user) comes in when there are 3 users.
        assert_eq!(ramp.next_active(2, 0.0), Some(2.0));
        assert_eq!(ramp.next_active(2, 2.5), Some(2.5));
        // Connection 4 leaves at 6 s, never to come back.
        assert!(ramp.active(4, 6.0) && !ramp.active(4, 6.5));
        assert_eq!(ramp.next_active(4, 6.5), None);
        // A ramp that dips and comes back.
        let dip = VuRamp {
            start: 2.0,
            stages: vec![s(1, 0.0), s(1, 2.0)],
        };
        assert_eq!(dip.next_active(1, 0.5), Some(2.0));
    }

    #[test]
    fn segments_are_one_based() {
        assert_eq!(
            Segment::parse("1/4").unwrap(),
            Segment { index: 0, count: 4 }
        );
        assert_eq!(
            Segment::parse("4/4").unwrap(),
            Segment { index: 3, count: 4 }
        );
        for bad in ["0/4", "5/4", "1/0", "x", "1-4"] {
            assert!(Segment::parse(bad).is_err(), "{bad}");
        }
    }
}
