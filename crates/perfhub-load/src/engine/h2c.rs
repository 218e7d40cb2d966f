//! Cleartext HTTP/2 (h2c with prior knowledge), closed model or open, on one
//! epoll loop per worker with a client of its own, as `epoll.rs` does for
//! HTTP/1.1.
//!
//! Each connection carries up to `--streams` lanes, each lane one request at
//! a time, never more streams than the server's
//! SETTINGS_MAX_CONCURRENT_STREAMS (and one until the server's SETTINGS
//! arrive). A request's header block is written once per kind of request
//! (`hpack::put_field`, no dynamic table on our side); responses are decoded
//! with the connection's HPACK table, keeping only the status, the header
//! names checks ask for and the body's length (and what a body check needs).
//! Our receive windows are the largest HTTP/2 allows, so a server is never
//! held back by them and window updates are rare; request bodies respect the
//! server's windows. A request the server did not process (streams above a
//! GOAWAY's last stream, REFUSED_STREAM) is sent again and counted as
//! retried: up to [`H2_ATTEMPTS`](super::H2_ATTEMPTS) times in all, except
//! that a GOAWAY from a connection that processed some requests does not
//! use up an attempt. A request that times out cancels its stream (RST_STREAM CANCEL);
//! the connection goes on. TLS stays on tokio with the `h2` crate
//! (`http2.rs`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::epoll::{Next, connect_error, next, tick_at_or_after};
use super::{H2_ATTEMPTS, Plan, Shared, Stats, Tick, record};
use crate::hpack;
use crate::http1::{ErrorKind, Response};
use crate::request::{BodySearch, Check, RequestSpec};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

const REFUSED_STREAM: u32 = 0x7;
const CANCEL: u32 = 0x8;
const PROTOCOL_ERROR: u32 = 0x1;

/// Our receive window, per stream and for the connection: the largest
/// HTTP/2 allows.
const WINDOW: u32 = (1 << 31) - 1;
/// The window a connection starts with, before any update.
const DEFAULT_WINDOW: i64 = 65_535;
/// Credit is returned once this much has been received.
const REFILL: u64 = 1 << 30;
/// The largest frame payload we accept: the protocol's default.
const MAX_FRAME: usize = 16_384;
/// The largest header block read (HEADERS and its CONTINUATION frames).
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// The read buffer: a whole frame of the largest size, and room to read
/// more behind it.
const READ_BUFFER: usize = 4 * (MAX_FRAME + 9);

/// A request's header block, written once: the pseudo-headers, the
/// request's headers (lowercase, as HTTP/2 requires) and its length.
fn header_block(spec: &RequestSpec) -> Vec<u8> {
    let url = &spec.url;
    let method = spec.method.as_str();
    let mut authority = url.host_str().unwrap_or_default().to_string();
    if let Some(p) = url.port() {
        authority.push(':');
        authority.push_str(&p.to_string());
    }
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut block = Vec::new();
    hpack::put_field(&mut block, ":method", method);
    hpack::put_field(&mut block, ":scheme", "http");
    hpack::put_field(&mut block, ":authority", &authority);
    hpack::put_field(&mut block, ":path", &path);
    for (name, value) in &spec.headers {
        hpack::put_field(&mut block, &name.to_ascii_lowercase(), value);
    }
    if crate::http1::needs_length(method, spec.body.len()) {
        hpack::put_field(&mut block, "content-length", &spec.body.len().to_string());
    }
    block
}

fn put_frame(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

enum Phase {
    /// No connection.
    Closed,
    Connecting,
    Open,
}

struct Conn {
    stream: Option<TcpStream>,
    phase: Phase,
    /// Frames to write, from `written` on.
    out: Vec<u8>,
    written: usize,
    /// The socket had no room: wait for it to be writable.
    blocked: bool,
    buf: Box<[u8]>,
    /// `buf[lo..hi]` is read and not yet handled.
    lo: usize,
    hi: usize,
    hpack: hpack::Decoder,
    /// The server's first SETTINGS arrived.
    settings: bool,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS.
    peer_streams: usize,
    /// The server's SETTINGS_INITIAL_WINDOW_SIZE and MAX_FRAME_SIZE.
    peer_window: i64,
    max_frame: usize,
    /// What the connection lets us send.
    window: i64,
    next_id: u32,
    /// The last stream a GOAWAY said the server processes: no new streams.
    going_away: Option<u32>,
    /// Bytes received since credit was last returned.
    received: u64,
    /// Requests on a stream.
    open: Vec<Req>,
    /// Requests waiting for a stream.
    queue: VecDeque<Req>,
    /// A header block continued in CONTINUATION frames: its stream, whether
    /// it ends the stream, the fragments so far.
    continued: Option<(u32, bool, Vec<u8>)>,
    /// Counts the connections made, so that frames of a connection ended
    /// while they were being handled are not handled further.
    generation: u64,
    /// Lanes not done.
    live: usize,
}

impl Conn {
    fn new(lanes: usize) -> Conn {
        Conn {
            stream: None,
            phase: Phase::Closed,
            out: Vec::new(),
            written: 0,
            blocked: false,
            buf: Box::default(),
            lo: 0,
            hi: 0,
            hpack: hpack::Decoder::new(hpack::DEFAULT_TABLE_SIZE),
            settings: false,
            peer_streams: usize::MAX,
            peer_window: DEFAULT_WINDOW,
            max_frame: MAX_FRAME,
            window: DEFAULT_WINDOW,
            next_id: 1,
            going_away: None,
            received: 0,
            open: Vec::new(),
            queue: VecDeque::new(),
            continued: None,
            generation: 0,
            live: lanes,
        }
    }

    /// How many streams may be open at once.
    fn limit(&self, streams: usize) -> usize {
        if self.settings {
            self.peer_streams.min(streams)
        } else {
            1
        }
    }
}

#[derive(Clone, Copy)]
enum LaneState {
    /// Waiting until then to start its next request (closed model) or for
    /// its next arrival (open model).
    Idle(Instant),
    /// Closed model: its request is queued or on a stream.
    Busy,
    Done,
}

/// A lane: in the closed model, a loop of one request at a time; in the
/// open model, a share of the schedule's arrivals, each queued on the
/// lane's connection when due and sent on whichever stream is free.
struct Lane {
    /// The lane's number in the whole run (connection × streams + stream).
    c: usize,
    /// Its connection, an index into the loop's connections.
    conn: usize,
    /// Requests started.
    j: u64,
    state: LaneState,
}

/// One request, queued for a stream or on one.
struct Req {
    lane: usize,
    which: usize,
    /// When it was sent: in the closed model when the lane began it, in the
    /// open model when its stream opened (its wait for a stream is late).
    sent_at: Instant,
    deadline: Instant,
    /// In the open model, when it was due: latency counts from it.
    intended: Option<Instant>,
    attempts: usize,
    stream: u32,
    /// The final status, 0 until it has come.
    status: u16,
    header_ok: bool,
    bytes: u64,
    search: BodySearch,
    /// The request body's bytes sent, and what the stream lets us send.
    body_at: usize,
    window: i64,
    /// Bytes received on the stream since credit was last returned.
    received: u64,
}

impl Req {
    /// How late it was sent (open model).
    fn late_by(&self) -> Duration {
        self.intended.map_or(Duration::ZERO, |at| {
            self.sent_at.saturating_duration_since(at)
        })
    }
}

/// Runs the lanes of `conns` (connection numbers) on this thread until the
/// run ends.
pub(super) fn worker(
    plan: &Plan,
    conns: &[usize],
    stop: &AtomicBool,
    tx: &mpsc::Sender<Tick>,
) -> Stats {
    let mut shared = Shared::new(plan.config.requests.len());
    let streams = plan.config.streams;
    let Ok(mut poll) = Poll::new() else {
        shared.stats.sent += (conns.len() * streams) as u64;
        *shared.stats.errors.entry(ErrorKind::Io).or_insert(0) += (conns.len() * streams) as u64;
        return shared.stats;
    };
    let mut events = Events::with_capacity(conns.len().clamp(16, 1024));
    let lanes: Vec<Lane> = conns
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| {
            (0..streams).map(move |s| Lane {
                c: c * streams + s,
                conn: i,
                j: 0,
                state: LaneState::Idle(plan.t0),
            })
        })
        .collect();
    let mut l = Loop {
        plan,
        poll: &mut poll,
        shared: &mut shared,
        stop,
        blocks: plan.config.requests.iter().map(header_block).collect(),
        conns: conns.iter().map(|_| Conn::new(streams)).collect(),
        live: lanes.len(),
        outstanding: 0,
        idle: (0..lanes.len()).map(|i| Reverse((plan.t0, i))).collect(),
        lanes,
        restart: Vec::new(),
        dirty: Vec::new(),
        next_scan: plan.t0 + plan.config.timeout,
        dropped_queues: false,
    };
    let mut k = 0u64;
    let mut next_report = plan.t0 + plan.config.interval;
    while l.live > 0 || l.outstanding > 0 {
        let now = Instant::now();
        if l.next_idle().is_some_and(|at| at <= now) {
            while let Some(&Reverse((at, i))) = l.idle.peek() {
                if at > now {
                    break;
                }
                l.idle.pop();
                if matches!(l.lanes[i].state, LaneState::Idle(want) if want == at) {
                    l.start(i, now);
                }
            }
            l.settle();
            continue;
        }
        if now >= l.next_scan {
            l.next_scan = l.time_out(now);
            l.settle();
            continue;
        }
        let grace_over = plan.end + plan.grace;
        if l.open_model() && !l.dropped_queues && now >= grace_over {
            l.drop_queued(now);
            continue;
        }
        if now >= next_report {
            let _ = tx.send(l.shared.take_interval(k));
            k += 1;
            next_report = plan.t0 + plan.config.interval * (k as u32 + 1);
            continue;
        }
        let mut wake = l.next_scan.min(next_report);
        if let Some(at) = l.next_idle() {
            wake = wake.min(at);
        }
        if l.open_model() && !l.dropped_queues {
            wake = wake.min(grace_over);
        }
        match l
            .poll
            .poll(&mut events, Some(wake.saturating_duration_since(now)))
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                l.abandon();
                break;
            }
        }
        for event in &events {
            let ci = event.token().0;
            if ci < l.conns.len() {
                l.ready(ci, event.is_readable(), event.is_writable());
            }
        }
        l.settle();
    }
    let _ = tx.send(shared.take_interval(k));
    shared.stats
}

struct Loop<'a, 'p> {
    plan: &'a Plan,
    poll: &'p mut Poll,
    shared: &'p mut Shared,
    stop: &'a AtomicBool,
    /// Each request's header block.
    blocks: Vec<Vec<u8>>,
    conns: Vec<Conn>,
    lanes: Vec<Lane>,
    /// Lanes not done.
    live: usize,
    /// Requests queued or on a stream.
    outstanding: usize,
    idle: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Closed-model lanes to start again once the events at hand are
    /// handled (never from inside a handler, so nothing recurses).
    restart: Vec<usize>,
    /// Connections with frames to write.
    dirty: Vec<usize>,
    next_scan: Instant,
    /// The open model's grace period is over and what was still queued
    /// then is counted as dropped.
    dropped_queues: bool,
}

impl Loop<'_, '_> {
    fn open_model(&self) -> bool {
        self.plan.schedule.is_some()
    }

    /// Starts what waits to start, and writes what waits to be written.
    fn settle(&mut self) {
        while !self.restart.is_empty() {
            let now = Instant::now();
            for i in std::mem::take(&mut self.restart) {
                self.start(i, now);
            }
        }
        for ci in std::mem::take(&mut self.dirty) {
            self.flush(ci);
        }
    }

    /// Starts lane `i`'s next request, waits for it, or ends the lane; in
    /// the open model, queues every arrival already due.
    fn start(&mut self, i: usize, now: Instant) {
        let plan = self.plan;
        loop {
            let lane = &mut self.lanes[i];
            match next(plan, self.shared, lane.c, &mut lane.j, None, now, self.stop) {
                Next::Send { which, intended } => {
                    lane.j += 1;
                    let deadline = now + plan.timeout_of(which);
                    self.next_scan = self.next_scan.min(deadline);
                    let req = Req {
                        lane: i,
                        which,
                        sent_at: now,
                        deadline,
                        intended,
                        attempts: 1,
                        stream: 0,
                        status: 0,
                        header_ok: true,
                        bytes: 0,
                        search: BodySearch::new(&[]),
                        body_at: 0,
                        window: 0,
                        received: 0,
                    };
                    self.outstanding += 1;
                    let ci = lane.conn;
                    if intended.is_none() {
                        lane.state = LaneState::Busy;
                        self.enqueue(ci, req, false);
                        return;
                    }
                    self.enqueue(ci, req, false);
                }
                Next::Wait(at) | Next::Inactive(Some(at)) => return self.wait_until(i, at),
                Next::Inactive(None) | Next::Done => return self.done(i),
            }
        }
    }

    /// Once the open model's grace period is over: requests still waiting
    /// for a stream are dropped, each recorded with its wait so far (a lower
    /// bound on its latency), as arrivals never sent are.
    fn drop_queued(&mut self, now: Instant) {
        if self.dropped_queues {
            return;
        }
        self.dropped_queues = true;
        for ci in 0..self.conns.len() {
            for req in std::mem::take(&mut self.conns[ci].queue) {
                let waited = now.saturating_duration_since(req.intended.unwrap_or(req.sent_at));
                self.shared.stats.endpoints[req.which]
                    .latency
                    .record(waited);
                self.shared.stats.dropped += 1;
                self.outstanding -= 1;
            }
            self.close_if_idle(ci);
        }
    }

    fn wait_until(&mut self, i: usize, at: Instant) {
        self.lanes[i].state = LaneState::Idle(at);
        self.idle.push(Reverse((at, i)));
    }

    /// The first millisecond tick at or after the earliest wait, as in
    /// `epoll.rs`.
    fn next_idle(&self) -> Option<Instant> {
        let &Reverse((at, _)) = self.idle.peek()?;
        Some(tick_at_or_after(self.plan.t0, at))
    }

    fn done(&mut self, i: usize) {
        self.lanes[i].state = LaneState::Done;
        self.live -= 1;
        let ci = self.lanes[i].conn;
        self.conns[ci].live -= 1;
        self.close_if_idle(ci);
    }

    /// Closes a connection whose lanes are all done and which carries
    /// nothing more.
    fn close_if_idle(&mut self, ci: usize) {
        let conn = &mut self.conns[ci];
        if conn.live == 0 && conn.open.is_empty() && conn.queue.is_empty() {
            conn.stream = None;
            conn.phase = Phase::Closed;
        }
    }

    /// Puts `req` in connection `ci`'s queue (at the front when it is sent
    /// again) and opens what streams the connection allows.
    fn enqueue(&mut self, ci: usize, req: Req, again: bool) {
        let queue = &mut self.conns[ci].queue;
        if again {
            queue.push_front(req);
        } else {
            queue.push_back(req);
        }
        self.pump(ci);
    }

    /// Connects, or opens streams for queued requests while the server
    /// allows.
    fn pump(&mut self, ci: usize) {
        let streams = self.plan.config.streams;
        let open_model = self.open_model();
        let conn = &mut self.conns[ci];
        match conn.phase {
            Phase::Closed if !conn.queue.is_empty() => return self.connect(ci),
            Phase::Closed | Phase::Connecting => return,
            Phase::Open => {}
        }
        if conn.going_away.is_some() {
            // New streams wait for the next connection.
            return;
        }
        let mut opened = false;
        let mut now = None;
        while conn.open.len() < conn.limit(streams) && conn.next_id < (1 << 31) {
            let Some(mut req) = conn.queue.pop_front() else {
                break;
            };
            let id = conn.next_id;
            conn.next_id += 2;
            if open_model {
                req.sent_at = *now.get_or_insert_with(Instant::now);
            }
            req.stream = id;
            req.status = 0;
            req.header_ok = true;
            req.bytes = 0;
            req.received = 0;
            req.body_at = 0;
            req.window = conn.peer_window;
            req.search = BodySearch::new(&self.plan.config.requests[req.which].checks);
            let block = &self.blocks[req.which];
            let end = if self.plan.config.requests[req.which].body.is_empty() {
                END_STREAM
            } else {
                0
            };
            // The block in a HEADERS frame and as many CONTINUATION frames
            // as the server's frame size needs.
            let mut chunks = block.chunks(conn.max_frame).peekable();
            let first = chunks.next().unwrap_or_default();
            let last = chunks.peek().is_none();
            put_frame(
                &mut conn.out,
                first.len(),
                HEADERS,
                end | if last { END_HEADERS } else { 0 },
                id,
            );
            conn.out.extend_from_slice(first);
            while let Some(chunk) = chunks.next() {
                let flags = if chunks.peek().is_none() {
                    END_HEADERS
                } else {
                    0
                };
                put_frame(&mut conn.out, chunk.len(), CONTINUATION, flags, id);
                conn.out.extend_from_slice(chunk);
            }
            conn.open.push(req);
            opened = true;
        }
        if conn.next_id >= (1 << 31) && conn.going_away.is_none() {
            // Stream numbers used up: a new connection for what follows.
            conn.going_away = Some(conn.next_id - 2);
        }
        if opened {
            self.send_bodies(ci);
            self.dirty.push(ci);
        }
    }

    /// Sends what request bodies the windows allow.
    fn send_bodies(&mut self, ci: usize) {
        let plan = self.plan;
        let conn = &mut self.conns[ci];
        for req in &mut conn.open {
            let body = &plan.config.requests[req.which].body;
            while req.body_at < body.len() {
                let room = conn.window.min(req.window).min(conn.max_frame as i64);
                if room <= 0 {
                    break;
                }
                let n = (body.len() - req.body_at).min(room as usize);
                let end = req.body_at + n == body.len();
                put_frame(
                    &mut conn.out,
                    n,
                    DATA,
                    if end { END_STREAM } else { 0 },
                    req.stream,
                );
                conn.out
                    .extend_from_slice(&body[req.body_at..req.body_at + n]);
                req.body_at += n;
                conn.window -= n as i64;
                req.window -= n as i64;
                self.dirty.push(ci);
            }
        }
    }

    /// Opens connection `ci`; its preface and settings wait in its output.
    fn connect(&mut self, ci: usize) {
        let lanes = self.conns[ci].live;
        let generation = self.conns[ci].generation + 1;
        let mut conn = Conn::new(lanes);
        conn.generation = generation;
        conn.queue = std::mem::take(&mut self.conns[ci].queue);
        conn.buf = vec![0; READ_BUFFER].into_boxed_slice();
        conn.out.extend_from_slice(PREFACE);
        // SETTINGS: no server push, the largest stream window.
        put_frame(&mut conn.out, 12, SETTINGS, 0, 0);
        conn.out.extend_from_slice(&[0, 2, 0, 0, 0, 0, 0, 4]);
        conn.out.extend_from_slice(&WINDOW.to_be_bytes());
        put_frame(&mut conn.out, 4, WINDOW_UPDATE, 0, 0);
        conn.out
            .extend_from_slice(&(WINDOW - DEFAULT_WINDOW as u32).to_be_bytes());
        let connected = TcpStream::connect(self.plan.next_target()).and_then(|mut s| {
            self.poll.registry().register(
                &mut s,
                Token(ci),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(s)
        });
        match connected {
            Ok(s) => {
                conn.stream = Some(s);
                conn.phase = Phase::Connecting;
                self.conns[ci] = conn;
            }
            Err(e) => {
                self.conns[ci] = conn;
                self.fail_queued(ci, connect_error(&e));
            }
        }
    }

    /// The connection could not be made: its queued requests fail.
    fn fail_queued(&mut self, ci: usize, kind: ErrorKind) {
        let conn = &mut self.conns[ci];
        conn.stream = None;
        conn.phase = Phase::Closed;
        for req in std::mem::take(&mut conn.queue) {
            self.finish(req, Err(kind));
        }
        self.close_if_idle(ci);
    }

    /// epoll says connection `ci`'s socket changed.
    fn ready(&mut self, ci: usize, readable: bool, writable: bool) {
        match self.conns[ci].phase {
            Phase::Closed => {}
            Phase::Connecting => {
                let Some(stream) = self.conns[ci].stream.as_ref() else {
                    return;
                };
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => return self.fail_queued(ci, connect_error(&e)),
                    Ok(None) => {}
                }
                match stream.peer_addr() {
                    Ok(_) => {
                        let _ = stream.set_nodelay(true);
                        self.conns[ci].phase = Phase::Open;
                        self.pump(ci);
                        self.dirty.push(ci);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {}
                    Err(e) => self.fail_queued(ci, connect_error(&e)),
                }
            }
            Phase::Open => {
                if writable && self.conns[ci].blocked {
                    self.conns[ci].blocked = false;
                    self.dirty.push(ci);
                }
                if readable {
                    self.receive(ci);
                }
            }
        }
    }

    /// Writes connection `ci`'s pending frames, as far as the socket takes
    /// them.
    fn flush(&mut self, ci: usize) {
        let conn = &mut self.conns[ci];
        if conn.blocked || !matches!(conn.phase, Phase::Open) {
            return;
        }
        let Some(stream) = conn.stream.as_mut() else {
            return;
        };
        while conn.written < conn.out.len() {
            match stream.write(&conn.out[conn.written..]) {
                Ok(0) => return self.fail(ci, ErrorKind::Closed),
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    conn.blocked = true;
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(ci, ErrorKind::of(&e)),
            }
        }
        conn.out.clear();
        conn.written = 0;
    }

    /// Reads what has arrived and handles every whole frame.
    fn receive(&mut self, ci: usize) {
        loop {
            let conn = &mut self.conns[ci];
            let Some(stream) = conn.stream.as_mut() else {
                return;
            };
            if conn.lo > 0 && conn.buf.len() - conn.hi < MAX_FRAME + 9 {
                conn.buf.copy_within(conn.lo..conn.hi, 0);
                conn.hi -= conn.lo;
                conn.lo = 0;
            }
            let room = conn.buf.len() - conn.hi;
            let n = match stream.read(&mut conn.buf[conn.hi..]) {
                Ok(0) => return self.fail(ci, ErrorKind::Closed),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(ci, ErrorKind::of(&e)),
            };
            conn.hi += n;
            if !self.frames(ci) {
                return;
            }
            // A short read emptied the socket; the next bytes bring a new
            // edge.
            if n < room {
                return;
            }
        }
    }

    /// Handles the whole frames in the buffer; false when the connection
    /// ended meanwhile.
    fn frames(&mut self, ci: usize) -> bool {
        let generation = self.conns[ci].generation;
        let buf = std::mem::take(&mut self.conns[ci].buf);
        let mut alive = true;
        loop {
            let conn = &mut self.conns[ci];
            let (lo, hi) = (conn.lo, conn.hi);
            if hi - lo < 9 {
                break;
            }
            let head = &buf[lo..lo + 9];
            let len =
                (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
            if len > MAX_FRAME {
                self.fail(ci, ErrorKind::Protocol);
                alive = false;
                break;
            }
            if hi - lo < 9 + len {
                break;
            }
            conn.lo = lo + 9 + len;
            let (kind, flags, id) = (head[3], head[4], u32_at(head, 5) & 0x7fff_ffff);
            self.frame(ci, kind, flags, id, &buf[lo + 9..lo + 9 + len]);
            if self.conns[ci].generation != generation
                || !matches!(self.conns[ci].phase, Phase::Open)
            {
                alive = false;
                break;
            }
        }
        if alive {
            let conn = &mut self.conns[ci];
            conn.buf = buf;
            if conn.lo == conn.hi {
                conn.lo = 0;
                conn.hi = 0;
            }
        }
        alive
    }

    /// Where the request on stream `id` of connection `ci` is among its
    /// open ones, if one still waits for it.
    fn open_of(&self, ci: usize, id: u32) -> Option<usize> {
        self.conns[ci].open.iter().position(|r| r.stream == id)
    }

    /// Handles one frame.
    fn frame(&mut self, ci: usize, kind: u8, flags: u8, id: u32, payload: &[u8]) {
        if self.conns[ci].continued.is_some() && kind != CONTINUATION {
            return self.fail(ci, ErrorKind::Protocol);
        }
        match kind {
            DATA => self.data(ci, flags, id, payload),
            HEADERS => {
                let mut start = 0;
                let mut end = payload.len();
                if flags & PADDED != 0 {
                    let pad = usize::from(payload.first().copied().unwrap_or(0));
                    start = 1;
                    end = end.saturating_sub(pad);
                }
                if flags & PRIORITY != 0 {
                    start += 5;
                }
                if id == 0 || start > end {
                    return self.fail(ci, ErrorKind::Protocol);
                }
                let fragment = &payload[start..end];
                let end_stream = flags & END_STREAM != 0;
                if flags & END_HEADERS != 0 {
                    self.headers(ci, id, fragment, end_stream);
                } else {
                    self.conns[ci].continued = Some((id, end_stream, fragment.to_vec()));
                }
            }
            CONTINUATION => {
                let Some((stream, end_stream, mut block)) = self.conns[ci].continued.take() else {
                    return self.fail(ci, ErrorKind::Protocol);
                };
                if stream != id {
                    return self.fail(ci, ErrorKind::Protocol);
                }
                block.extend_from_slice(payload);
                if block.len() > MAX_HEADER_BLOCK {
                    // A server that never ends its headers.
                    return self.fail(ci, ErrorKind::Protocol);
                }
                if flags & END_HEADERS != 0 {
                    self.headers(ci, id, &block, end_stream);
                } else {
                    self.conns[ci].continued = Some((stream, end_stream, block));
                }
            }
            RST_STREAM if payload.len() == 4 => {
                if let Some(k) = self.open_of(ci, id) {
                    let req = self.conns[ci].open.remove(k);
                    if u32_at(payload, 0) == REFUSED_STREAM {
                        self.again(ci, req, ErrorKind::RefusedStream);
                    } else {
                        self.finish(req, Err(ErrorKind::Reset));
                    }
                    self.drained(ci);
                }
            }
            SETTINGS if flags & ACK == 0 => self.settings(ci, payload),
            PUSH_PROMISE => self.fail(ci, ErrorKind::Protocol),
            PING if flags & ACK == 0 && payload.len() == 8 => {
                let conn = &mut self.conns[ci];
                put_frame(&mut conn.out, 8, PING, ACK, 0);
                conn.out.extend_from_slice(payload);
                self.dirty.push(ci);
            }
            GOAWAY if payload.len() >= 8 => self.go_away(ci, u32_at(payload, 0) & 0x7fff_ffff),
            WINDOW_UPDATE if payload.len() == 4 => {
                let increment = i64::from(u32_at(payload, 0) & 0x7fff_ffff);
                if id == 0 {
                    self.conns[ci].window += increment;
                } else if let Some(k) = self.open_of(ci, id) {
                    self.conns[ci].open[k].window += increment;
                }
                self.send_bodies(ci);
            }
            RST_STREAM | PING | GOAWAY | WINDOW_UPDATE => self.fail(ci, ErrorKind::Protocol),
            // PRIORITY, a SETTINGS acknowledgement, and frame types this
            // client does not know are ignored (RFC 9113, 4.1).
            _ => {}
        }
    }

    fn data(&mut self, ci: usize, flags: u8, id: u32, payload: &[u8]) {
        if id == 0 {
            return self.fail(ci, ErrorKind::Protocol);
        }
        let mut data = payload;
        if flags & PADDED != 0 {
            let pad = usize::from(payload.first().copied().unwrap_or(0));
            if pad + 1 > payload.len() {
                return self.fail(ci, ErrorKind::Protocol);
            }
            data = &payload[1..payload.len() - pad];
        }
        let conn = &mut self.conns[ci];
        // Flow control counts the whole payload, padding included.
        conn.received += payload.len() as u64;
        if conn.received >= REFILL {
            put_frame(&mut conn.out, 4, WINDOW_UPDATE, 0, 0);
            conn.out
                .extend_from_slice(&(conn.received as u32).to_be_bytes());
            conn.received = 0;
            self.dirty.push(ci);
        }
        let Some(k) = self.open_of(ci, id) else {
            return;
        };
        let conn = &mut self.conns[ci];
        let req = &mut conn.open[k];
        req.bytes += data.len() as u64;
        req.search
            .feed(&self.plan.config.requests[req.which].checks, data);
        req.received += payload.len() as u64;
        if req.received >= REFILL && flags & END_STREAM == 0 {
            put_frame(&mut conn.out, 4, WINDOW_UPDATE, 0, id);
            conn.out
                .extend_from_slice(&(req.received as u32).to_be_bytes());
            req.received = 0;
            self.dirty.push(ci);
        }
        if flags & END_STREAM != 0 {
            self.complete(ci, k);
        }
    }

    /// A whole header block on stream `id`: decoded whichever stream it is
    /// for (the table must follow every block); the status and the header
    /// checks taken for a request waiting on it.
    fn headers(&mut self, ci: usize, id: u32, block: &[u8], end_stream: bool) {
        let open = self.open_of(ci, id);
        let checks: &[Check] = match open {
            Some(k) => &self.plan.config.requests[self.conns[ci].open[k].which].checks,
            None => &[],
        };
        let mut status = None;
        let wanted = checks.iter().any(|c| matches!(c, Check::HeaderPresent(_)));
        // Which checks' headers came (allocated only when a check asks).
        let mut seen = if wanted {
            vec![false; checks.len()]
        } else {
            Vec::new()
        };
        let decoded = self.conns[ci].hpack.decode(block, |name, value| {
            if name == b":status" {
                status = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u16>().ok());
            } else if wanted {
                for (k, c) in checks.iter().enumerate() {
                    if let Check::HeaderPresent(n) = c
                        && n.as_bytes().eq_ignore_ascii_case(name)
                    {
                        seen[k] = true;
                    }
                }
            }
        });
        if decoded.is_err() {
            return self.fail(ci, ErrorKind::Protocol);
        }
        let Some(k) = open else {
            return;
        };
        let req = &mut self.conns[ci].open[k];
        if req.status == 0 {
            match status {
                // An interim response: the final one follows.
                Some(s) if (100..200).contains(&s) && !end_stream => return,
                Some(s) => {
                    req.status = s;
                    req.header_ok = !wanted
                        || checks
                            .iter()
                            .zip(&seen)
                            .all(|(c, seen)| !matches!(c, Check::HeaderPresent(_)) || *seen);
                }
                None => {
                    // No status: a malformed response (RFC 9113, 8.1.1).
                    let req = self.cancel(ci, k, PROTOCOL_ERROR);
                    self.finish(req, Err(ErrorKind::Protocol));
                    return self.drained(ci);
                }
            }
        }
        // Otherwise trailers, which end the stream.
        if end_stream {
            self.complete(ci, k);
        }
    }

    fn settings(&mut self, ci: usize, payload: &[u8]) {
        if !payload.len().is_multiple_of(6) {
            return self.fail(ci, ErrorKind::Protocol);
        }
        let conn = &mut self.conns[ci];
        for p in payload.chunks_exact(6) {
            let value = u32_at(p, 2);
            match u16::from_be_bytes([p[0], p[1]]) {
                0x3 => {
                    conn.peer_streams = value as usize;
                    let streams = self.plan.config.streams as u64;
                    if u64::from(value) < streams {
                        let limit = self.shared.stats.stream_limit.get_or_insert(streams);
                        *limit = (*limit).min(u64::from(value));
                    }
                }
                0x4 => {
                    if value > WINDOW {
                        return self.fail(ci, ErrorKind::Protocol);
                    }
                    let delta = i64::from(value) - conn.peer_window;
                    conn.peer_window = i64::from(value);
                    for req in &mut conn.open {
                        req.window += delta;
                    }
                }
                0x5 => {
                    if !(16_384..=16_777_215).contains(&value) {
                        return self.fail(ci, ErrorKind::Protocol);
                    }
                    conn.max_frame = value as usize;
                }
                // The header table size (our blocks use no table), push,
                // the header list size and settings this client does not
                // know.
                _ => {}
            }
        }
        put_frame(&mut conn.out, 0, SETTINGS, ACK, 0);
        conn.settings = true;
        self.dirty.push(ci);
        self.send_bodies(ci);
        self.pump(ci);
    }

    /// GOAWAY: the streams above `last` were not processed and are sent
    /// again on a new connection; the others finish on this one.
    fn go_away(&mut self, ci: usize, last: u32) {
        let conn = &mut self.conns[ci];
        conn.going_away = Some(last);
        let (kept, unprocessed): (Vec<Req>, Vec<Req>) = std::mem::take(&mut conn.open)
            .into_iter()
            .partition(|r| r.stream <= last);
        conn.open = kept;
        for mut req in unprocessed {
            if last > 0 {
                // The connection got something done: a request it left out
                // is sent again on the next without using up an attempt
                // (a server that closes connections after N requests leaves
                // out those sent beyond, however often).
                req.attempts -= 1;
            }
            self.again(ci, req, ErrorKind::GoAway);
        }
        self.drained(ci);
    }

    /// A stream ended: a queued request may take its place; and once a
    /// connection going away has no stream left, it is closed, and its
    /// queued requests go on a new one.
    fn drained(&mut self, ci: usize) {
        let conn = &mut self.conns[ci];
        if conn.going_away.is_some() && conn.open.is_empty() {
            conn.stream = None;
            conn.phase = Phase::Closed;
            conn.generation += 1;
        }
        self.pump(ci);
        self.close_if_idle(ci);
    }

    /// Cancels open request `k` of connection `ci` with RST_STREAM and
    /// `code`, and gives it back.
    fn cancel(&mut self, ci: usize, k: usize, code: u32) -> Req {
        let conn = &mut self.conns[ci];
        let req = conn.open.remove(k);
        put_frame(&mut conn.out, 4, RST_STREAM, 0, req.stream);
        conn.out.extend_from_slice(&code.to_be_bytes());
        self.dirty.push(ci);
        req
    }

    /// A request the server did not process: sent again while attempts
    /// are left, else failed with `kind`.
    fn again(&mut self, ci: usize, mut req: Req, kind: ErrorKind) {
        if req.attempts < H2_ATTEMPTS {
            req.attempts += 1;
            self.shared.stats.retried += 1;
            self.enqueue(ci, req, true);
        } else {
            self.finish(req, Err(kind));
        }
    }

    /// Open request `k` of connection `ci` has its whole response.
    fn complete(&mut self, ci: usize, k: usize) {
        let req = self.conns[ci].open.remove(k);
        let checks = &self.plan.config.requests[req.which].checks;
        let response = Response {
            status: req.status,
            bytes: req.bytes,
            checks_passed: Check::status_passes(checks, req.status)
                && req.header_ok
                && req.search.found(),
            close: false,
        };
        let sent = self.plan.config.requests[req.which].body.len() as u64;
        self.finish(req, Ok((response, sent)));
        self.drained(ci);
    }

    /// Counts a request; in the closed model its lane's next starts once
    /// the events at hand are handled.
    fn finish(&mut self, req: Req, result: Result<(Response, u64), ErrorKind>) {
        let done = Instant::now();
        self.outstanding -= 1;
        let late_by = req.late_by();
        let outcome = record(self.shared, req.which, req.sent_at, done, late_by, result);
        if self.open_model() {
            // The lane keeps to its schedule on its own.
            return;
        }
        if outcome.backoff {
            // A refused target is not hammered in a loop: the lane pauses.
            self.wait_until(req.lane, done + Duration::from_millis(10));
        } else {
            self.restart.push(req.lane);
        }
    }

    /// The connection failed: the requests on it fail with `kind`, and its
    /// queued ones wait for a new one.
    fn fail(&mut self, ci: usize, kind: ErrorKind) {
        let conn = &mut self.conns[ci];
        conn.stream = None;
        conn.phase = Phase::Closed;
        conn.generation += 1;
        conn.continued = None;
        for req in std::mem::take(&mut conn.open) {
            self.finish(req, Err(kind));
        }
        self.pump(ci);
        self.close_if_idle(ci);
    }

    /// Requests past their deadline fail as timed out, their streams
    /// cancelled; returns the earliest deadline left.
    fn time_out(&mut self, now: Instant) -> Instant {
        let mut earliest = now + self.plan.config.timeout;
        for ci in 0..self.conns.len() {
            while let Some(k) = self.conns[ci].open.iter().position(|r| now >= r.deadline) {
                let req = self.cancel(ci, k, CANCEL);
                self.finish(req, Err(ErrorKind::Timeout));
            }
            let conn = &mut self.conns[ci];
            let (late, waiting): (VecDeque<Req>, VecDeque<Req>) = std::mem::take(&mut conn.queue)
                .into_iter()
                .partition(|r| now >= r.deadline);
            conn.queue = waiting;
            let stuck = matches!(conn.phase, Phase::Connecting)
                && conn.queue.is_empty()
                && !late.is_empty();
            if stuck {
                // A connect that never finished: the next request tries a
                // new one.
                conn.stream = None;
                conn.phase = Phase::Closed;
            }
            for req in late {
                self.finish(req, Err(ErrorKind::Timeout));
            }
            self.drained(ci);
            let conn = &self.conns[ci];
            for r in conn.open.iter().chain(&conn.queue) {
                earliest = earliest.min(r.deadline);
            }
        }
        earliest
    }

    /// epoll itself failed: every request under way counts as an I/O error
    /// and the run ends.
    fn abandon(&mut self) {
        let now = Instant::now();
        for conn in &mut self.conns {
            for req in conn.open.drain(..).chain(conn.queue.drain(..)) {
                let late_by = req.late_by();
                record(
                    self.shared,
                    req.which,
                    req.sent_at,
                    now,
                    late_by,
                    Err(ErrorKind::Io),
                );
            }
            conn.stream = None;
        }
        for lane in &mut self.lanes {
            lane.state = LaneState::Done;
        }
        self.live = 0;
        self.outstanding = 0;
    }
}
