//! The target server that ships with perfhub (`perfhub serve`), with the
//! parsers of its latency, stall and error rate settings.
//!
//! An HTTP/1.1 server on loopback whose behaviour is set by a
//! [`ServeConfig`]: a latency distribution sampled per request, a fraction of
//! responses answered 500, periodic stalls of the whole server, and faults
//! (connection resets, hung connections). Load tests, demos and perfhub's own
//! tests use it so they need no outside service.
//!
//! It is written to be cheap: one thread running a current-thread tokio
//! runtime, a hand-written request reader over `httparse` that handles
//! keep-alive and pipelining (several requests in one read are answered in
//! order, in one write), and responses formatted once at start. On one core it
//! serves well over 20,000 requests per second with keep-alive.
//!
//! Routes:
//! - `/stats` answers JSON counts of the responses sent so far,
//!   `{"requests": N, "by_status": {"200": N, ...}}`. It is a control
//!   endpoint: never delayed, failed, stalled or faulted, and not counted
//!   itself;
//! - `/status/<code>` answers `<code>` (200 to 599), after the configured
//!   latency and stalls but never replaced by an injected error;
//! - any other path answers 200 with a body of [`ServeConfig::body_bytes`]
//!   bytes, or 500 for a fraction [`ServeConfig::error_rate`] of requests.
//!
//! Request bodies are read by `Content-Length` and discarded; a request with
//! `Transfer-Encoding` (chunked) is answered 411 and the connection closed,
//! and a malformed request is answered 400 and the connection closed.
//!
//! Timers have tokio's resolution of one millisecond, so a latency is rounded
//! up to the next millisecond; a response is never sent early.
#![deny(missing_docs)]

mod tls;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::tls::Stream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The longest latency a [`Latency`] may be configured with, and the cap on
/// sampled log-normal latencies.
pub const MAX_LATENCY: Duration = Duration::from_secs(3600);

/// The default 200 response body, 13 bytes.
const HELLO: &[u8] = b"Hello, world\n";

/// The standard normal quantile at 0.99, Φ⁻¹(0.99).
const Z_99: f64 = 2.326_347_874_040_840_8;

/// The largest request head (request line and headers) read before answering
/// 431.
const MAX_HEAD: usize = 64 * 1024;

/// The most headers a request may have before it is answered 431.
const MAX_HEADERS: usize = 64;

/// Responses are written once this many bytes are pending, even mid-batch.
const FLUSH_AT: usize = 64 * 1024;

/// How long a stopping server waits for connections to finish the requests
/// they have read.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long a closing connection waits for the client to close its side, so
/// that unread client bytes do not turn the close into a reset.
const LINGER: Duration = Duration::from_millis(500);

/// How long each request waits before its response is sent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Latency {
    /// Answer at once.
    #[default]
    None,
    /// Always the same delay.
    Fixed(Duration),
    /// Uniformly distributed between `min` and `max`, both inclusive.
    Uniform {
        /// The shortest delay.
        min: Duration,
        /// The longest delay.
        max: Duration,
    },
    /// Log-normally distributed with this median and 99th percentile.
    ///
    /// A delay is `exp(μ + σ·Z)` seconds with `Z` standard normal. The median
    /// of that is `exp(μ)`, so `μ = ln(median)`; its 99th percentile is
    /// `exp(μ + σ·z₉₉)` with `z₉₉ = Φ⁻¹(0.99) ≈ 2.3263`, so
    /// `σ = ln(p99 / median) / z₉₉`. The mean is `median·exp(σ²/2)`, above
    /// the median: the long right tail of real services. `p99` must be at
    /// least `median` (equal gives a fixed delay); samples are capped at
    /// [`MAX_LATENCY`].
    LogNormal {
        /// The median delay.
        median: Duration,
        /// The 99th percentile delay.
        p99: Duration,
    },
}

impl Latency {
    /// Checks that the parameters describe a distribution: bounds in order,
    /// a positive median, a p99 at least the median, nothing above
    /// [`MAX_LATENCY`].
    pub fn validate(&self) -> Result<(), ServeError> {
        let bad = |reason: String| ServeError::Latency {
            text: self.to_string(),
            reason,
        };
        let too_long = |d: Duration| d > MAX_LATENCY;
        match *self {
            Latency::None => Ok(()),
            Latency::Fixed(d) if too_long(d) => {
                Err(bad("it is longer than the limit of 1 hour".into()))
            }
            Latency::Fixed(_) => Ok(()),
            Latency::Uniform { min, max } => {
                if min > max {
                    Err(bad(format!(
                        "the minimum {} is above the maximum {}",
                        Dur(min),
                        Dur(max)
                    )))
                } else if too_long(max) {
                    Err(bad("the maximum is longer than the limit of 1 hour".into()))
                } else {
                    Ok(())
                }
            }
            Latency::LogNormal { median, p99 } => {
                if median.is_zero() {
                    Err(bad("the median must be above zero".into()))
                } else if p99 < median {
                    Err(bad(format!(
                        "the p99 {} is below the median {}",
                        Dur(p99),
                        Dur(median)
                    )))
                } else if too_long(p99) {
                    Err(bad("the p99 is longer than the limit of 1 hour".into()))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Shown in [`parse_latency`]'s syntax: `none`, `5ms`, `1ms..10ms`,
/// `lognormal:median=5ms,p99=50ms`.
impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Latency::None => f.write_str("none"),
            Latency::Fixed(d) => write!(f, "{}", Dur(d)),
            Latency::Uniform { min, max } => write!(f, "{}..{}", Dur(min), Dur(max)),
            Latency::LogNormal { median, p99 } => {
                write!(f, "lognormal:median={},p99={}", Dur(median), Dur(p99))
            }
        }
    }
}

/// A periodic stall of the whole server: during `[k·every, k·every + pause)`
/// after start, for every `k ≥ 0`, no response is sent; responses due in that
/// window are held until it ends. Connections are still accepted and requests
/// still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// The period.
    pub every: Duration,
    /// How long each stall lasts, less than `every`.
    pub pause: Duration,
}

impl Stall {
    /// Checks that `0 < pause < every <= MAX_LATENCY` (1 hour).
    pub fn validate(&self) -> Result<(), ServeError> {
        let bad = |reason: &str| ServeError::Stall {
            text: self.to_string(),
            reason: reason.into(),
        };
        if self.pause.is_zero() {
            Err(bad("the pause must be above zero"))
        } else if self.pause >= self.every {
            Err(bad(
                "the pause must be shorter than the period, or the server never answers",
            ))
        } else if self.every > MAX_LATENCY {
            Err(bad(
                "the period is longer than the limit of 1 hour: give a period of 3600s or less",
            ))
        } else {
            Ok(())
        }
    }

    /// When the stall window containing `since_start` ends, measured from
    /// start, or `None` outside a window.
    fn window_end(&self, since_start: Duration) -> Option<Duration> {
        let every = self.every.as_nanos();
        let phase = since_start.as_nanos() % every;
        (phase < self.pause.as_nanos()).then(|| {
            let end = since_start.as_nanos() - phase + self.pause.as_nanos();
            Duration::from_nanos(u64::try_from(end).unwrap_or(u64::MAX))
        })
    }
}

/// Shown in [`parse_stall`]'s syntax, `PAUSE/EVERY`: `1s/5s`.
impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Dur(self.pause), Dur(self.every))
    }
}

/// A fault injected on every connection (except requests for `/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accept, read a request, then close with `SO_LINGER` 0: the client
    /// sees a connection reset instead of a response.
    Reset,
    /// Accept and read, but never answer: for client timeouts.
    Hang,
}

/// How the server behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// How long each request waits before its response is sent.
    pub latency: Latency,
    /// The fraction of responses answered 500 instead of 200, from 0 to 1.
    pub error_rate: f64,
    /// A periodic stall of the whole server, if any.
    pub stall: Option<Stall>,
    /// A fault injected on every connection, if any.
    pub fault: Option<Fault>,
    /// The size of the 200 response body: `Hello, world\n` repeated and cut
    /// to this length (13 by default, the text once).
    pub body_bytes: usize,
    /// The seed of the random choices (latencies, errors); connection `n`
    /// draws from stream `n` of a ChaCha8 generator with this seed.
    pub seed: u64,
    /// Serve HTTPS with a self-signed certificate made at start (see
    /// [`Server::certificate_pem`]).
    pub tls: bool,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            latency: Latency::None,
            error_rate: 0.0,
            stall: None,
            fault: None,
            body_bytes: HELLO.len(),
            seed: 0,
            tls: false,
        }
    }
}

impl ServeConfig {
    /// Checks the latency, the stall and that the error rate is a fraction.
    pub fn validate(&self) -> Result<(), ServeError> {
        self.latency.validate()?;
        if let Some(stall) = &self.stall {
            stall.validate()?;
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(ServeError::ErrorRate(self.error_rate));
        }
        Ok(())
    }
}

/// Why a server setting is unusable.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ServeError {
    /// A latency that does not parse or does not describe a distribution.
    #[error(
        "bad latency {text:?}: {reason}; give one such as none, 5ms, 1ms..10ms or lognormal:median=5ms,p99=50ms"
    )]
    Latency {
        /// The latency as given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// A stall that does not parse or never lets the server answer.
    #[error("bad stall {text:?}: {reason}; give PAUSE/EVERY such as 1s/5s (pause 1 s every 5 s)")]
    Stall {
        /// The stall as given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// An error rate outside 0..=1.
    #[error(
        "bad error rate {0}: it is the fraction of responses answered 500, from 0 to 1; give e.g. 0.01 for 1%"
    )]
    ErrorRate(f64),
}

impl From<ServeError> for io::Error {
    fn from(e: ServeError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// Parses a latency: `none`, a duration such as `5ms` (fixed), `MIN..MAX`
/// such as `1ms..10ms` (uniform), or `lognormal:median=5ms,p99=50ms`.
///
/// Durations are a number and a unit: `ns`, `us` (or `µs`), `ms` or `s`, as in
/// `500us`, `5ms`, `1.5s`.
pub fn parse_latency(text: &str) -> Result<Latency, ServeError> {
    let bad = |reason: String| ServeError::Latency {
        text: text.to_string(),
        reason,
    };
    let t = text.trim();
    let latency = if t.eq_ignore_ascii_case("none") {
        Latency::None
    } else if let Some(params) = t
        .get(..10)
        .filter(|p| p.eq_ignore_ascii_case("lognormal:"))
        .map(|_| &t[10..])
    {
        let (mut median, mut p99) = (None, None);
        for part in params.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(bad(format!(
                    "{part:?} is not KEY=VALUE (the keys are median and p99)"
                )));
            };
            let value = parse_duration(value).map_err(&bad)?;
            match key.trim() {
                "median" => median = Some(value),
                "p99" => p99 = Some(value),
                other => {
                    return Err(bad(format!(
                        "unknown key {other:?} (the keys are median and p99)"
                    )));
                }
            }
        }
        match (median, p99) {
            (Some(median), Some(p99)) => Latency::LogNormal { median, p99 },
            (None, _) => return Err(bad("the median is missing".into())),
            (_, None) => return Err(bad("the p99 is missing".into())),
        }
    } else if let Some((min, max)) = t.split_once("..") {
        let max = max.strip_prefix('=').unwrap_or(max);
        Latency::Uniform {
            min: parse_duration(min).map_err(&bad)?,
            max: parse_duration(max).map_err(&bad)?,
        }
    } else {
        Latency::Fixed(parse_duration(t).map_err(&bad)?)
    };
    latency.validate().map_err(|e| match e {
        ServeError::Latency { reason, .. } => bad(reason),
        other => other,
    })?;
    Ok(latency)
}

/// Parses an error rate ([`ServeConfig::error_rate`]): a fraction such as
/// `0.001` or a percentage such as `0.1%`, from 0 to 1.
pub fn parse_error_rate(text: &str) -> Result<f64, String> {
    let bad =
        || format!("bad rate {text:?}: give a fraction such as 0.001 or a percentage such as 0.1%");
    let v = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
        None => text.trim().parse::<f64>().map_err(|_| bad())?,
    };
    if !(0.0..=1.0).contains(&v) {
        return Err(bad());
    }
    Ok(v)
}

/// Parses a stall as `PAUSE/EVERY`: `1s/5s` pauses the server for 1 s every
/// 5 s. Durations as in [`parse_latency`].
pub fn parse_stall(text: &str) -> Result<Stall, ServeError> {
    let bad = |reason: String| ServeError::Stall {
        text: text.to_string(),
        reason,
    };
    let Some((pause, every)) = text.trim().split_once('/') else {
        return Err(bad(
            "there is no '/' between the pause and the period".into()
        ));
    };
    let stall = Stall {
        pause: parse_duration(pause).map_err(&bad)?,
        every: parse_duration(every).map_err(&bad)?,
    };
    stall.validate().map_err(|e| match e {
        ServeError::Stall { reason, .. } => bad(reason),
        other => other,
    })?;
    Ok(stall)
}

/// Parses a number and its unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`),
/// exactly to the nanosecond, in perfhub's one duration grammar; the limits
/// of each setting are checked by its caller.
fn parse_duration(text: &str) -> Result<Duration, String> {
    perfhub_core::units::parse_duration_with_unit(text, Duration::from_nanos(u64::MAX))
}

/// Formats a duration in the largest unit that shows it exactly.
struct Dur(Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        match ns {
            0 => f.write_str("0ms"),
            _ if ns.is_multiple_of(1_000_000_000) => write!(f, "{}s", ns / 1_000_000_000),
            _ if ns.is_multiple_of(1_000_000) => write!(f, "{}ms", ns / 1_000_000),
            _ if ns.is_multiple_of(1_000) => write!(f, "{}us", ns / 1_000),
            _ => write!(f, "{ns}ns"),
        }
    }
}

/// Counts of the responses a server has sent, as `/stats` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServeStats {
    /// Responses sent (counted as they are written), `/stats` answers
    /// excepted.
    pub requests: u64,
    /// Responses sent by status code.
    pub by_status: BTreeMap<u16, u64>,
}

/// Counters shared by the connections and the [`Server`] handle.
struct Shared {
    requests: AtomicU64,
    /// Responses by status, indexed by the code (0 to 599).
    by_status: Box<[AtomicU64]>,
    stopping: AtomicBool,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            requests: AtomicU64::new(0),
            by_status: (0..600).map(|_| AtomicU64::new(0)).collect(),
            stopping: AtomicBool::new(false),
        }
    }

    fn record(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.by_status.get(usize::from(status)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> ServeStats {
        let by_status = self
            .by_status
            .iter()
            .enumerate()
            .filter_map(|(code, c)| {
                let n = c.load(Ordering::Relaxed);
                (n > 0).then_some((code as u16, n))
            })
            .collect();
        ServeStats {
            requests: self.requests.load(Ordering::Relaxed),
            by_status,
        }
    }
}

/// A running target server; dropping it stops it (see [`Server::stop`]).
pub struct Server {
    addr: SocketAddr,
    certificate: Option<String>,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    started: std::time::Instant,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("requests_served", &self.requests_served())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts serving on `addr` (usually `127.0.0.1:0`, any free port) on a
    /// thread of its own with its own tokio runtime, and returns once the
    /// socket listens.
    ///
    /// Any address may be bound (`0.0.0.0:8080` to serve from a container).
    /// Fails with [`io::ErrorKind::InvalidInput`] (wrapping a
    /// [`ServeError`]) for an invalid config, or with the OS error when the
    /// address cannot be bound.
    pub fn start(addr: SocketAddr, config: ServeConfig) -> io::Result<Server> {
        config.validate()?;
        let identity = if config.tls {
            Some(crate::tls::SelfSigned::new()?)
        } else {
            None
        };
        let certificate = identity.as_ref().map(|i| i.certificate_pem().to_string());
        let shared = Arc::new(Shared::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        // The runtime is built, and dropped, on the server thread: a runtime
        // must not be dropped in an async context, and the caller may be in
        // one.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("perfhub-serve".into())
            .spawn(move || {
                let setup = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        let listener = {
                            let _context = runtime.enter();
                            listen(addr)?
                        };
                        Ok((runtime, listener))
                    });
                let (runtime, listener) = match setup {
                    Ok(ready) => ready,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let started = std::time::Instant::now();
                let ctx = Arc::new(Ctx::new(&config, Instant::from_std(started), thread_shared));
                let local = listener.local_addr();
                let ok = local.is_ok();
                let _ = ready_tx.send(local.map(|addr| (addr, started)));
                if ok {
                    runtime.block_on(accept_loop(listener, ctx, shutdown_rx, identity));
                }
            })?;
        let ready = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the server thread ended while starting")));
        let (addr, started) = match ready {
            Ok(ready) => ready,
            Err(e) => {
                let _ = thread.join();
                return Err(e);
            }
        };
        Ok(Server {
            addr,
            certificate,
            shared,
            shutdown,
            thread: Some(thread),
            started,
        })
    }

    /// With TLS, the server's self-signed certificate, PEM-encoded: what a
    /// client should trust (`perfhub load --cacert`).
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// The address the server listens on (with the port chosen when `0` was
    /// asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's root URL, such as `http://127.0.0.1:41234/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// When the server started: stall windows are measured from here.
    pub fn started_at(&self) -> std::time::Instant {
        self.started
    }

    /// How many responses the server has sent, `/stats` answers excepted.
    pub fn requests_served(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The responses sent so far by status, as `/stats` answers them.
    pub fn stats(&self) -> ServeStats {
        self.shared.stats()
    }

    /// Stops gracefully: stops accepting, closes idle and hung connections,
    /// lets connections answer the requests they have read (waiting at most
    /// 5 s), and joins the server thread.
    pub fn stop(mut self) {
        self.shutdown_and_join();
    }

    fn shutdown_and_join(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        self.shutdown.send_replace(true);
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been reported there.
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown_and_join();
    }
}

/// Binds and listens on `addr`, with a backlog for many connections opened
/// at once; needs a runtime context.
fn listen(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {addr}: {e}; choose another port, or port 0 for any free one"
            ),
        )
    })?;
    socket.listen(1024)
}

/// The `Connection` header a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnMode {
    /// HTTP/1.1 keep-alive, the default: no header.
    KeepAlive = 0,
    /// HTTP/1.0 keep-alive: `Connection: keep-alive`.
    KeepAlive10 = 1,
    /// `Connection: close`, and the server closes after the response.
    Close = 2,
}

/// One status's responses, formatted once: `[mode][head]`.
type Canned = [[Vec<u8>; 2]; 3];

fn canned(status: u16, content_type: &str, body: &[u8]) -> Canned {
    let one = |mode, head| response(status, mode, head, content_type, body);
    [ConnMode::KeepAlive, ConnMode::KeepAlive10, ConnMode::Close]
        .map(|mode| [one(mode, false), one(mode, true)])
}

/// Formats a whole response; `head` leaves the body out (a HEAD request).
fn response(status: u16, mode: ConnMode, head: bool, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status} {}\r\nServer: perfhub\r\n",
        reason(status)
    );
    let bodiless = matches!(status, 204 | 304);
    if !bodiless {
        r.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    match mode {
        ConnMode::KeepAlive => {}
        ConnMode::KeepAlive10 => r.push_str("Connection: keep-alive\r\n"),
        ConnMode::Close => r.push_str("Connection: close\r\n"),
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    if !head && !bodiless {
        r.extend_from_slice(body);
    }
    r
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Latency as the connections sample it.
#[derive(Debug, Clone, Copy)]
enum Sampler {
    None,
    Fixed(Duration),
    Uniform { min_ns: u64, max_ns: u64 },
    LogNormal { mu: f64, sigma: f64 },
}

impl Sampler {
    fn new(latency: &Latency) -> Sampler {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match *latency {
            Latency::None => Sampler::None,
            Latency::Fixed(d) => Sampler::Fixed(d),
            Latency::Uniform { min, max } => Sampler::Uniform {
                min_ns: ns(min),
                max_ns: ns(max),
            },
            Latency::LogNormal { median, p99 } => {
                let mu = median.as_secs_f64().ln();
                let sigma = (p99.as_secs_f64() / median.as_secs_f64()).ln() / Z_99;
                Sampler::LogNormal { mu, sigma }
            }
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        match *self {
            Sampler::None => Duration::ZERO,
            Sampler::Fixed(d) => d,
            Sampler::Uniform { min_ns, max_ns } => {
                Duration::from_nanos(rng.random_range(min_ns..=max_ns))
            }
            Sampler::LogNormal { mu, sigma } => {
                // Box-Muller: u1 in (0, 1] keeps the logarithm finite.
                let u1 = 1.0 - rng.random::<f64>();
                let u2 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let secs = (mu + sigma * z).exp();
                Duration::try_from_secs_f64(secs)
                    .unwrap_or(MAX_LATENCY)
                    .min(MAX_LATENCY)
            }
        }
    }
}

/// What every connection reads: the config, compiled.
struct Ctx {
    sampler: Sampler,
    error_rate: f64,
    stall: Option<Stall>,
    fault: Option<Fault>,
    seed: u64,
    started: Instant,
    ok: Canned,
    error: Canned,
    shared: Arc<Shared>,
}

impl Ctx {
    fn new(config: &ServeConfig, started: Instant, shared: Arc<Shared>) -> Ctx {
        let body: Vec<u8> = HELLO
            .iter()
            .copied()
            .cycle()
            .take(config.body_bytes)
            .collect();
        Ctx {
            sampler: Sampler::new(&config.latency),
            error_rate: config.error_rate,
            stall: config.stall,
            fault: config.fault,
            seed: config.seed,
            started,
            ok: canned(200, "text/plain", &body),
            error: canned(500, "text/plain", b"Internal Server Error\n"),
            shared,
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
    identity: Option<crate::tls::SelfSigned>,
) {
    // Every connection holds a sender; `recv` ends once all are gone.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let (ctx, id, shutdown, alive) = (ctx.clone(), next_id, shutdown.clone(), alive.clone());
                    let identity = identity.clone();
                    tokio::spawn(async move {
                        let stream = match identity {
                            None => Stream::Plain(stream),
                            // A failed handshake just ends the connection.
                            Some(identity) => match identity.accept(stream).await {
                                Ok(s) => s,
                                Err(_) => return,
                            },
                        };
                        Conn::new(stream, ctx, id, shutdown).run(alive).await;
                    });
                    next_id += 1;
                }
                // Out of file descriptors, say: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    drop(alive);
    let _ = tokio::time::timeout(STOP_GRACE, all_closed.recv()).await;
}

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Any path: 200 with the body, or an injected 500.
    Body,
    /// `/status/<code>`.
    Status(u16),
    /// `/status/<something else>`.
    BadStatus,
    /// `/stats`.
    Stats,
}

/// A parsed request head.
#[derive(Debug, Clone, Copy)]
struct Head {
    /// Bytes of request line and headers.
    len: usize,
    is_head: bool,
    route: Route,
    mode: ConnMode,
    body_len: u64,
    expect_continue: bool,
}

#[derive(Debug)]
enum Parsed {
    Partial,
    Request(Head),
    /// Answer this status with this explanation, then close.
    Reject(u16, String),
}

fn parse_head(bytes: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Reject(431, format!("more than {MAX_HEADERS} headers"));
        }
        Err(e) => return Parsed::Reject(400, format!("malformed request: {e}")),
    };
    let (mut body_len, mut chunked, mut close, mut keep_alive, mut expect_continue) =
        (None::<u64>, false, false, false, false);
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok());
            match (value, body_len) {
                (None, _) => {
                    return Parsed::Reject(400, "Content-Length is not a number".into());
                }
                (Some(v), Some(prev)) if v != prev => {
                    return Parsed::Reject(400, "conflicting Content-Length headers".into());
                }
                (Some(v), _) => body_len = Some(v),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("expect") {
            expect_continue = h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
    }
    if chunked {
        return Parsed::Reject(
            411,
            "Transfer-Encoding request bodies are not supported; send the body with a Content-Length"
                .into(),
        );
    }
    let mode = match req.version {
        Some(1) if !close => ConnMode::KeepAlive,
        Some(0) if keep_alive && !close => ConnMode::KeepAlive10,
        _ => ConnMode::Close,
    };
    let path = req.path.unwrap_or("/");
    // The absolute form, `GET http://host/path`, as proxies send it.
    let path = match path.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let route = if path == "/stats" {
        Route::Stats
    } else if let Some(code) = path.strip_prefix("/status/") {
        match code.parse::<u16>() {
            Ok(code) if (200..=599).contains(&code) => Route::Status(code),
            _ => Route::BadStatus,
        }
    } else {
        Route::Body
    };
    Parsed::Request(Head {
        len,
        is_head: req.method == Some("HEAD"),
        route,
        mode,
        body_len: body_len.unwrap_or(0),
        expect_continue,
    })
}

/// Why a connection task ends early.
struct Closed;

/// One connection: its buffers, its random stream and its pending responses.
struct Conn {
    stream: Stream,
    ctx: Arc<Ctx>,
    shutdown: watch::Receiver<bool>,
    rng: ChaCha8Rng,
    /// Bytes read; `buf[start..end]` is not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// When the last read completed: requests in the buffer arrived by then.
    arrival: Instant,
    /// Responses formatted but not yet written, and their statuses.
    out: Vec<u8>,
    pending: Vec<u16>,
}

impl Conn {
    fn new(stream: Stream, ctx: Arc<Ctx>, id: u64, shutdown: watch::Receiver<bool>) -> Conn {
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        rng.set_stream(id);
        Conn {
            stream,
            ctx,
            shutdown,
            rng,
            buf: vec![0; 4 * 1024],
            start: 0,
            end: 0,
            arrival: Instant::now(),
            out: Vec::new(),
            pending: Vec::new(),
        }
    }

    async fn run(mut self, _alive: mpsc::Sender<()>) {
        if self.serve().await.is_ok() {
            self.close_gracefully().await;
        }
    }

    /// Serves requests until the connection is to be closed after a response
    /// with `Connection: close` (`Ok`) or is gone (`Err`).
    async fn serve(&mut self) -> Result<(), Closed> {
        loop {
            while self.start < self.end {
                let head = match parse_head(&self.buf[self.start..self.end]) {
                    Parsed::Partial => break,
                    Parsed::Request(head) => head,
                    Parsed::Reject(status, why) => {
                        self.push_reject(status, &why);
                        self.flush().await?;
                        return Ok(());
                    }
                };
                self.start += head.len;
                if head.body_len > 0 {
                    self.skip_body(head).await?;
                }
                if self.answer(head).await? == ConnMode::Close {
                    self.flush().await?;
                    return Ok(());
                }
                if self.out.len() >= FLUSH_AT {
                    self.flush().await?;
                }
            }
            self.flush().await?;
            if !self.make_room() {
                self.push_reject(431, "the request head is longer than 64 KiB");
                self.flush().await?;
                return Ok(());
            }
            self.read_more().await?;
        }
    }

    /// Formats the answer to one request, waiting for its latency first.
    async fn answer(&mut self, head: Head) -> Result<ConnMode, Closed> {
        let mode = if self.ctx.shared.stopping.load(Ordering::Relaxed) {
            ConnMode::Close
        } else {
            head.mode
        };
        if head.route == Route::Stats {
            // Count the responses before this one.
            self.flush().await?;
            let stats = serde_json::to_vec(&self.ctx.shared.stats()).unwrap_or_default();
            let r = response(200, mode, head.is_head, "application/json", &stats);
            self.out.extend_from_slice(&r);
            return Ok(mode);
        }
        match self.ctx.fault {
            None => {}
            Some(Fault::Reset) => {
                self.flush().await?;
                let _ = self.stream.tcp().set_zero_linger();
                return Err(Closed);
            }
            Some(Fault::Hang) => {
                self.flush().await?;
                self.discard_until_closed().await;
                return Err(Closed);
            }
        }
        let delay = self.ctx.sampler.sample(&mut self.rng);
        let status = match head.route {
            Route::Status(code) => code,
            Route::BadStatus => 400,
            Route::Body | Route::Stats => {
                if self.ctx.error_rate > 0.0 && self.rng.random::<f64>() < self.ctx.error_rate {
                    500
                } else {
                    200
                }
            }
        };
        if !delay.is_zero() {
            let due = self.arrival + delay;
            if due > Instant::now() {
                // Earlier responses are not held back by this one's latency.
                self.flush().await?;
                tokio::time::sleep_until(due).await;
            }
        }
        let (mi, hi) = (mode as usize, usize::from(head.is_head));
        match status {
            200 => self.out.extend_from_slice(&self.ctx.ok[mi][hi]),
            500 => self.out.extend_from_slice(&self.ctx.error[mi][hi]),
            code => {
                let body = if head.route == Route::BadStatus {
                    "bad status code: use /status/<code> with a code from 200 to 599\n".into()
                } else {
                    format!("{code} {}\n", reason(code))
                };
                let r = response(code, mode, head.is_head, "text/plain", body.as_bytes());
                self.out.extend_from_slice(&r);
            }
        }
        self.pending.push(status);
        Ok(mode)
    }

    /// Queues the answer to a request the server cannot read, with
    /// `Connection: close`.
    fn push_reject(&mut self, status: u16, why: &str) {
        let body = format!("{status} {}: {why}\n", reason(status));
        let r = response(
            status,
            ConnMode::Close,
            false,
            "text/plain",
            body.as_bytes(),
        );
        self.out.extend_from_slice(&r);
        self.pending.push(status);
    }

    /// Writes the queued responses, after any stall window they fall in.
    async fn flush(&mut self) -> Result<(), Closed> {
        if self.out.is_empty() {
            return Ok(());
        }
        if !self.pending.is_empty()
            && let Some(stall) = self.ctx.stall
        {
            loop {
                let since = Instant::now().saturating_duration_since(self.ctx.started);
                match stall.window_end(since) {
                    Some(end) => tokio::time::sleep_until(self.ctx.started + end).await,
                    None => break,
                }
            }
        }
        // Counted before the write, so a client holding a response sees it
        // counted.
        for status in self.pending.drain(..) {
            self.ctx.shared.record(status);
        }
        self.stream.write_all(&self.out).await.map_err(|_| Closed)?;
        self.stream.flush().await.map_err(|_| Closed)?;
        self.out.clear();
        // Do not keep a large buffer for the connection's lifetime.
        if self.out.capacity() > 4 * FLUSH_AT {
            self.out = Vec::new();
        }
        Ok(())
    }

    /// Reads and drops a request body of `head.body_len` bytes, answering
    /// `Expect: 100-continue` first.
    async fn skip_body(&mut self, head: Head) -> Result<(), Closed> {
        let mut remaining = head.body_len;
        let buffered = (self.end - self.start) as u64;
        if buffered >= remaining {
            self.start += remaining as usize;
            return Ok(());
        }
        remaining -= buffered;
        self.start = 0;
        self.end = 0;
        if head.expect_continue {
            self.flush().await?;
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| Closed)?;
        }
        while remaining > 0 {
            self.read_more().await?;
            let n = self.end as u64;
            if n > remaining {
                // The rest is the next request.
                self.start = remaining as usize;
                remaining = 0;
            } else {
                remaining -= n;
                self.end = 0;
            }
        }
        Ok(())
    }

    /// Makes room in the buffer for a read: drops consumed bytes and grows
    /// for a long head; `false` for a head over [`MAX_HEAD`].
    fn make_room(&mut self) -> bool {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_HEAD {
                return false;
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        true
    }

    /// Reads into `buf[end..]`; `Err` on end of stream, error or stop.
    async fn read_more(&mut self) -> Result<(), Closed> {
        if self.ctx.shared.stopping.load(Ordering::Relaxed) {
            return Err(Closed);
        }
        let n = tokio::select! {
            read = self.stream.read(&mut self.buf[self.end..]) => match read {
                Ok(0) | Err(_) => return Err(Closed),
                Ok(n) => n,
            },
            _ = self.shutdown.changed() => return Err(Closed),
        };
        self.end += n;
        if !matches!(self.ctx.sampler, Sampler::None) {
            self.arrival = Instant::now();
        }
        Ok(())
    }

    /// Reads and drops everything until the client closes or the server
    /// stops: a hung connection.
    async fn discard_until_closed(&mut self) {
        loop {
            self.start = 0;
            self.end = 0;
            if self.read_more().await.is_err() {
                return;
            }
        }
    }

    /// Closes our side, then waits a little for the client to close its own
    /// so that unread client bytes do not turn the close into a reset that
    /// could destroy the last response.
    async fn close_gracefully(&mut self) {
        let _ = self.stream.shutdown().await;
        let mut scratch = [0u8; 4096];
        let drain = async {
            while let Ok(n) = self.stream.read(&mut scratch).await {
                if n == 0 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    fn start(config: ServeConfig) -> Server {
        Server::start(loopback(), config).expect("start the server")
    }

    fn connect(server: &Server) -> TcpStream {
        let s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
    }

    #[derive(Debug)]
    struct Resp {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Resp {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn body(&self) -> &str {
            std::str::from_utf8(&self.body).unwrap()
        }
    }

    /// Reads one response; bytes past it stay in `buf` for the next.
    fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head_request: bool) -> Resp {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut r = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) = r.parse(buf).unwrap() {
                let status = r.code.unwrap();
                let headers: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8(h.value.to_vec()).unwrap();
                        (h.name.to_string(), value)
                    })
                    .collect();
                let body_len: usize = if head_request {
                    0
                } else {
                    headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .map_or(0, |(_, v)| v.parse().unwrap())
                };
                while buf.len() < len + body_len {
                    read_some(s, buf);
                }
                let body = buf[len..len + body_len].to_vec();
                buf.drain(..len + body_len);
                return Resp {
                    status,
                    headers,
                    body,
                };
            }
            read_some(s, buf);
        }
    }

    fn read_some(s: &mut TcpStream, buf: &mut Vec<u8>) {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).expect("read a response");
        assert!(n > 0, "the server closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    }

    fn roundtrip(s: &mut TcpStream, path: &str) -> Resp {
        s.write_all(get(path).as_bytes()).unwrap();
        read_response(s, &mut Vec::new(), false)
    }

    /// Reads until the server closes, expecting no more bytes.
    fn assert_closed(s: &mut TcpStream) {
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("a clean close");
        assert!(rest.is_empty(), "unexpected bytes {rest:?}");
    }

    #[test]
    fn keep_alive_and_pipelining() {
        let server = start(ServeConfig::default());
        let mut s = connect(&server);
        let mut buf = Vec::new();
        for _ in 0..2 {
            s.write_all(get("/").as_bytes()).unwrap();
            let r = read_response(&mut s, &mut buf, false);
            assert_eq!(r.status, 200);
            assert_eq!(r.body(), "Hello, world\n");
            assert_eq!(r.header("content-length"), Some("13"));
            assert_eq!(r.header("connection"), None);
        }
        // Two requests in one write, a third split across writes.
        s.write_all(format!("{}{}GET /a HT", get("/x"), get("/status/201")).as_bytes())
            .unwrap();
        assert_eq!(read_response(&mut s, &mut buf, false).status, 200);
        assert_eq!(read_response(&mut s, &mut buf, false).status, 201);
        s.write_all(b"TP/1.1\r\nHost: t\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s, &mut buf, false).status, 200);
        assert!(buf.is_empty());
        drop(s);
        assert_eq!(server.requests_served(), 5);
        let stats = server.stats();
        assert_eq!(stats.by_status, BTreeMap::from([(200, 4), (201, 1)]));
    }

    #[test]
    fn bodies_head_and_connection_close() {
        let server = start(ServeConfig {
            body_bytes: 30,
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        let mut buf = Vec::new();
        // A body split across writes, then a request pipelined behind it.
        s.write_all(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.write_all(format!("56789{}", get("/")).as_bytes())
            .unwrap();
        let r = read_response(&mut s, &mut buf, false);
        assert_eq!(r.status, 200);
        assert_eq!(r.body(), "Hello, world\nHello, world\nHell");
        assert_eq!(read_response(&mut s, &mut buf, false).status, 200);
        s.write_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let r = read_response(&mut s, &mut buf, true);
        assert_eq!((r.status, r.header("content-length")), (200, Some("30")));
        s.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s, &mut buf, false);
        assert_eq!(r.header("connection"), Some("close"));
        assert!(buf.is_empty());
        assert_closed(&mut s);
        // HTTP/1.0 closes unless asked to keep alive.
        let mut s = connect(&server);
        s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s, &mut buf, false);
        assert_eq!(r.header("connection"), Some("keep-alive"));
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let r = read_response(&mut s, &mut buf, false);
        assert_eq!(r.header("connection"), Some("close"));
        assert_closed(&mut s);
    }

    #[test]
    fn expect_continue_gets_100_first() {
        let server = start(ServeConfig::default());
        let mut s = connect(&server);
        s.write_all(b"PUT / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
            .unwrap();
        let mut buf = Vec::new();
        assert_eq!(read_response(&mut s, &mut buf, true).status, 100);
        s.write_all(b"abc").unwrap();
        assert_eq!(read_response(&mut s, &mut buf, false).status, 200);
    }

    #[test]
    fn bad_requests_get_4xx_and_close() {
        let server = start(ServeConfig::default());
        let cases: [(&[u8], u16); 4] = [
            (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
            (b"\x00\x01\x02 nonsense\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                411,
            ),
            (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ];
        for (request, status) in cases {
            let mut s = connect(&server);
            s.write_all(request).unwrap();
            let r = read_response(&mut s, &mut Vec::new(), false);
            assert_eq!(r.status, status, "{}", String::from_utf8_lossy(request));
            assert_eq!(r.header("connection"), Some("close"));
            assert_closed(&mut s);
        }
        let mut s = connect(&server);
        let r = roundtrip(&mut s, "/status/abc");
        assert_eq!(r.status, 400);
        assert!(r.body().contains("/status/<code>"), "{}", r.body());
        // A well-formed request with a bad code keeps the connection.
        assert_eq!(roundtrip(&mut s, "/status/404").status, 404);
        // A head over 64 KiB.
        let mut s = connect(&server);
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        // The server may answer and close before taking all of it.
        let _ = s.write_all(long.as_bytes());
        assert_eq!(read_response(&mut s, &mut Vec::new(), false).status, 431);
    }

    #[test]
    fn status_routes_and_stats() {
        let server = start(ServeConfig::default());
        let mut s = connect(&server);
        let r = roundtrip(&mut s, "/status/404");
        assert_eq!((r.status, r.body()), (404, "404 Not Found\n"));
        let r = roundtrip(&mut s, "/status/204?x=1");
        assert_eq!((r.status, r.header("content-length")), (204, None));
        assert_eq!(roundtrip(&mut s, "/status/599").status, 599);
        assert_eq!(roundtrip(&mut s, "/status/100").status, 400);
        // /stats after a pipelined request counts it.
        s.write_all(format!("{}{}", get("/"), get("/stats")).as_bytes())
            .unwrap();
        let mut buf = Vec::new();
        assert_eq!(read_response(&mut s, &mut buf, false).status, 200);
        let r = read_response(&mut s, &mut buf, false);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let stats: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            stats,
            serde_json::json!({
                "requests": 5,
                "by_status": {"200": 1, "204": 1, "400": 1, "404": 1, "599": 1}
            })
        );
        assert_eq!(server.requests_served(), 5);
    }

    #[test]
    fn error_rate() {
        for (rate, expected) in [(1.0, 500), (0.0, 200)] {
            let server = start(ServeConfig {
                error_rate: rate,
                ..ServeConfig::default()
            });
            let mut s = connect(&server);
            for _ in 0..20 {
                assert_eq!(roundtrip(&mut s, "/").status, expected, "rate {rate}");
            }
            // An explicit status is never replaced.
            assert_eq!(roundtrip(&mut s, "/status/202").status, 202);
        }
        // A fraction: the seeded draws give a fixed count near it.
        let server = start(ServeConfig {
            error_rate: 0.25,
            seed: 7,
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        let errors = (0..400)
            .filter(|_| roundtrip(&mut s, "/").status == 500)
            .count();
        assert!((60..=140).contains(&errors), "{errors} errors of 400");
        assert_eq!(server.stats().by_status[&500], errors as u64);
    }

    #[test]
    fn fixed_latency_is_respected() {
        let latency = Duration::from_millis(50);
        let server = start(ServeConfig {
            latency: Latency::Fixed(latency),
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        for _ in 0..2 {
            let sent = std::time::Instant::now();
            assert_eq!(roundtrip(&mut s, "/").status, 200);
            let took = sent.elapsed();
            assert!(took >= latency, "answered after {took:?}");
            assert!(took < latency + Duration::from_secs(2), "{took:?}");
        }
        // /stats is never delayed; here only checked to answer.
        assert_eq!(roundtrip(&mut s, "/stats").status, 200);
    }

    #[test]
    fn latency_distributions_sample_as_configured() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (min, max) = (Duration::from_millis(1), Duration::from_millis(10));
        let uniform = Sampler::new(&Latency::Uniform { min, max });
        let samples: Vec<Duration> = (0..10_000).map(|_| uniform.sample(&mut rng)).collect();
        assert!(samples.iter().all(|d| (min..=max).contains(d)));
        let mean = samples.iter().sum::<Duration>() / 10_000;
        assert!(mean.abs_diff(Duration::from_micros(5500)) < Duration::from_micros(200));

        let (median, p99) = (Duration::from_millis(5), Duration::from_millis(50));
        let lognormal = Sampler::new(&Latency::LogNormal { median, p99 });
        let mut samples: Vec<f64> = (0..100_001)
            .map(|_| lognormal.sample(&mut rng).as_secs_f64() * 1e3)
            .collect();
        samples.sort_by(f64::total_cmp);
        let (m, p) = (samples[50_000], samples[99_000]);
        assert!((m - 5.0).abs() < 0.25, "median {m} ms");
        assert!((p - 50.0).abs() < 4.0, "p99 {p} ms");
    }

    #[test]
    fn stalls_hold_responses_until_the_window_ends() {
        let (every, pause) = (Duration::from_millis(400), Duration::from_millis(200));
        let server = start(ServeConfig {
            stall: Some(Stall { every, pause }),
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        // Window 0 is [0, 200 ms) after start, and the server starts in it;
        // then the next window, whichever it is. A request sent late, after
        // its window, is answered after the window too: no flakiness.
        for round in 0..2 {
            let elapsed = server.started_at().elapsed();
            let k = if round == 0 {
                0
            } else {
                (elapsed.as_nanos() / every.as_nanos()) as u32 + 1
            };
            let send_at = every * k + Duration::from_millis(10);
            std::thread::sleep(send_at.saturating_sub(elapsed));
            assert_eq!(roundtrip(&mut s, "/").status, 200);
            let answered = server.started_at().elapsed();
            assert!(
                answered >= every * k + pause,
                "a request sent in window {k} was answered {answered:?} after start"
            );
        }
        assert_eq!(server.requests_served(), 2);
    }

    #[test]
    fn stats_are_not_stalled() {
        let server = start(ServeConfig {
            stall: Some(Stall {
                every: Duration::from_secs(20),
                pause: Duration::from_secs(10),
            }),
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        assert_eq!(roundtrip(&mut s, "/stats").status, 200);
        // Well inside the 10 s window.
        assert!(server.started_at().elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn stall_windows() {
        let s = Stall {
            every: Duration::from_millis(400),
            pause: Duration::from_millis(200),
        };
        let ms = Duration::from_millis;
        assert_eq!(s.window_end(ms(0)), Some(ms(200)));
        assert_eq!(s.window_end(ms(199)), Some(ms(200)));
        assert_eq!(s.window_end(ms(200)), None);
        assert_eq!(s.window_end(ms(399)), None);
        assert_eq!(s.window_end(ms(450)), Some(ms(600)));
    }

    #[test]
    fn reset_fault_resets_the_connection() {
        let server = start(ServeConfig {
            fault: Some(Fault::Reset),
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        s.write_all(get("/").as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        let e = s.read(&mut buf).expect_err("a reset, not a response");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        // /stats is exempt from faults.
        let mut s = connect(&server);
        assert_eq!(roundtrip(&mut s, "/stats").status, 200);
        assert_eq!(server.requests_served(), 0);
    }

    #[test]
    fn hang_fault_never_answers() {
        let server = start(ServeConfig {
            fault: Some(Fault::Hang),
            ..ServeConfig::default()
        });
        let mut s = connect(&server);
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s.write_all(get("/").as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        let e = s.read(&mut buf).expect_err("no response");
        // Linux reports a timed-out read as EAGAIN.
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
        // Stopping closes hung connections rather than waiting for them.
        let stopping = std::time::Instant::now();
        server.stop();
        assert!(stopping.elapsed() < Duration::from_secs(2));
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_closed(&mut s);
    }

    #[test]
    fn stop_closes_the_listener() {
        let server = start(ServeConfig::default());
        let addr = server.addr();
        let mut s = connect(&server);
        assert_eq!(roundtrip(&mut s, "/").status, 200);
        server.stop();
        assert_closed(&mut s);
        assert!(TcpStream::connect(addr).is_err());
    }

    #[test]
    fn starts_and_stops_inside_an_async_context() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let server = start(ServeConfig::default());
            // A failed start drops its runtime without panicking here.
            let e = Server::start(server.addr(), ServeConfig::default()).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
            assert!(e.to_string().contains("choose another port"), "{e}");
            let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
            s.write_all(get("http://t/status/203").as_bytes())
                .await
                .unwrap();
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"HTTP/1.1 203");
            drop(server);
        });
    }

    #[test]
    fn binds_any_address_it_is_given() {
        // The wildcard addresses listen (on every interface); the server is
        // only started, and no traffic leaves loopback.
        for addr in ["0.0.0.0:0", "127.0.0.2:0"] {
            let server = Server::start(addr.parse().unwrap(), ServeConfig::default()).unwrap();
            assert_eq!(server.addr().ip(), addr.parse::<SocketAddr>().unwrap().ip());
        }
        // An address this machine does not have is the OS's refusal.
        let Err(e) = Server::start("198.51.100.7:0".parse().unwrap(), ServeConfig::default())
        else {
            panic!("198.51.100.7 is not an address of this machine");
        };
        assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable, "{e}");
    }

    #[test]
    fn invalid_configs_are_refused() {
        let bad = [
            ServeConfig {
                error_rate: 1.5,
                ..ServeConfig::default()
            },
            ServeConfig {
                stall: Some(Stall {
                    every: Duration::from_secs(1),
                    pause: Duration::from_secs(1),
                }),
                ..ServeConfig::default()
            },
            ServeConfig {
                latency: Latency::Uniform {
                    min: Duration::from_millis(5),
                    max: Duration::from_millis(1),
                },
                ..ServeConfig::default()
            },
        ];
        for config in bad {
            let e = Server::start(loopback(), config).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        }
        let e = ServeConfig {
            error_rate: f64::NAN,
            ..ServeConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("from 0 to 1"), "{e}");
    }

    #[test]
    fn parses_latencies() {
        let ms = Duration::from_millis;
        assert_eq!(parse_latency("none").unwrap(), Latency::None);
        assert_eq!(parse_latency(" 5ms ").unwrap(), Latency::Fixed(ms(5)));
        assert_eq!(
            parse_latency("1.5s").unwrap(),
            Latency::Fixed(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_latency("250us").unwrap(),
            Latency::Fixed(Duration::from_micros(250))
        );
        assert_eq!(
            parse_latency("1ms..10ms").unwrap(),
            Latency::Uniform {
                min: ms(1),
                max: ms(10)
            }
        );
        assert_eq!(
            parse_latency("1ms..=10ms").unwrap(),
            parse_latency("1ms..10ms").unwrap()
        );
        let lognormal = Latency::LogNormal {
            median: ms(5),
            p99: ms(50),
        };
        assert_eq!(
            parse_latency("lognormal:median=5ms,p99=50ms").unwrap(),
            lognormal
        );
        assert_eq!(
            parse_latency("lognormal:p99=50ms,median=5ms").unwrap(),
            lognormal
        );
        // Display gives the same syntax back.
        for text in [
            "none",
            "5ms",
            "1ms..10ms",
            "lognormal:median=5ms,p99=50ms",
            "250us",
        ] {
            assert_eq!(parse_latency(text).unwrap().to_string(), text);
        }

        let err = |text: &str| parse_latency(text).unwrap_err().to_string();
        let e = err("5");
        assert!(
            e.contains("\"5\" has no unit") && e.contains("such as none, 5ms"),
            "{e}"
        );
        assert!(err("5 parsecs").contains("unknown time unit \"parsecs\""));
        assert!(err("fast").contains("\"fast\" is not a duration"));
        assert!(err("-5ms").contains("is not a duration"));
        assert!(err("10ms..1ms").contains("the minimum 10ms is above the maximum 1ms"));
        assert!(err("1ms..x").contains("\"x\" is not a duration"));
        assert!(err("lognormal:median=5ms").contains("the p99 is missing"));
        assert!(err("lognormal:median=5ms,p90=9ms").contains("unknown key \"p90\""));
        assert!(err("lognormal:median=50ms,p99=5ms").contains("the p99 5ms is below the median"));
        assert!(err("lognormal:median=0ms,p99=5ms").contains("median must be above zero"));
        assert!(err("lognormal:5ms").contains("is not KEY=VALUE"));
        assert!(err("2h").contains("limit of 1 hour"));
        assert!(err("7200s").contains("limit of 1 hour"));
    }

    #[test]
    fn parses_stalls() {
        let s = parse_stall("1s/5s").unwrap();
        assert_eq!(
            s,
            Stall {
                pause: Duration::from_secs(1),
                every: Duration::from_secs(5)
            }
        );
        assert_eq!(s.to_string(), "1s/5s");
        assert_eq!(
            parse_stall("200ms/400ms").unwrap().every,
            Duration::from_millis(400)
        );
        let err = |text: &str| parse_stall(text).unwrap_err().to_string();
        let e = err("1s");
        assert!(e.contains("no '/'") && e.contains("such as 1s/5s"), "{e}");
        assert!(err("5s/1s").contains("shorter than the period"));
        assert!(err("0s/1s").contains("above zero"));
        assert!(err("1s/x").contains("\"x\" is not a duration"));
        for long in ["1s/3601s", "18446744073s/18446744073.5s"] {
            let e = err(long);
            assert!(
                e.contains(
                    "the period is longer than the limit of 1 hour: give a period of 3600s or less"
                ),
                "{e}"
            );
        }
        assert_eq!(
            parse_stall("3599s/3600s").unwrap().every,
            Duration::from_secs(3600)
        );
    }
}
