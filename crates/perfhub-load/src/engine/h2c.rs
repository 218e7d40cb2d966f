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
//! GOAWAY's last stream, REFUSED_STREAM) is sent again, up to
//! [`H2_ATTEMPTS`](super::H2_ATTEMPTS) times in all, and counted as
//! retried. A request that times out cancels its stream (RST_STREAM CANCEL);
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

use super::epoll::{Next, connect_error, next};
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

/// Our receive window, per stream and for the connection: the largest
/// HTTP/2 allows.
const WINDOW: u32 = (1 << 31) - 1;
/// The window a connection starts with, before any update.
const DEFAULT_WINDOW: i64 = 65_535;
/// Credit is returned once this much has been received.
const REFILL: u64 = 1 << 30;
/// The largest frame payload we accept: the protocol's default.
const MAX_FRAME: usize = 16_384;
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
    /// Lanes with a stream open.
    open: Vec<usize>,
    /// Lanes waiting for a stream.
    queue: VecDeque<usize>,
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
    /// Waiting until then to start its next request.
    Idle(Instant),
    /// Waiting for a stream of its connection.
    Queued,
    /// Its request is on a stream.
    Open,
    /// Done or between requests.
    Resting,
    Done,
}

struct Lane {
    /// The lane's number in the whole run (connection × streams + stream).
    c: usize,
    /// Its connection, an index into the loop's connections.
    conn: usize,
    /// Requests started.
    j: u64,
    state: LaneState,
    which: usize,
    sent_at: Instant,
    deadline: Instant,
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
                which: 0,
                sent_at: plan.t0,
                deadline: plan.t0,
                intended: None,
                attempts: 0,
                stream: 0,
                status: 0,
                header_ok: true,
                bytes: 0,
                search: BodySearch::new(&[]),
                body_at: 0,
                window: 0,
                received: 0,
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
        idle: (0..lanes.len()).map(|i| Reverse((plan.t0, i))).collect(),
        lanes,
        restart: Vec::new(),
        dirty: Vec::new(),
        next_scan: plan.t0 + plan.config.timeout,
    };
    let mut k = 0u64;
    let mut next_report = plan.t0 + plan.config.interval;
    while l.live > 0 {
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
    idle: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Lanes to start again once the events at hand are handled (never
    /// from inside a handler, so nothing recurses).
    restart: Vec<usize>,
    /// Connections with frames to write.
    dirty: Vec<usize>,
    next_scan: Instant,
}

impl Loop<'_, '_> {
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

    /// Starts lane `i`'s next request, waits for it, or ends the lane.
    fn start(&mut self, i: usize, now: Instant) {
        let plan = self.plan;
        let lane = &mut self.lanes[i];
        match next(plan, self.shared, lane.c, &mut lane.j, None, now, self.stop) {
            Next::Send { which, intended } => {
                lane.which = which;
                lane.j += 1;
                lane.sent_at = now;
                lane.deadline = now + plan.timeout_of(which);
                lane.intended = intended;
                lane.attempts = 1;
                self.next_scan = self.next_scan.min(lane.deadline);
                self.enqueue(i, false);
            }
            Next::Wait(at) | Next::Inactive(Some(at)) => self.wait_until(i, at),
            Next::Inactive(None) | Next::Done => self.done(i),
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
        let since = at.saturating_duration_since(self.plan.t0).as_nanos();
        let tick = super::epoll::TICK.as_nanos();
        Some(self.plan.t0 + Duration::from_nanos((since.div_ceil(tick) * tick) as u64))
    }

    fn done(&mut self, i: usize) {
        self.lanes[i].state = LaneState::Done;
        self.live -= 1;
        let ci = self.lanes[i].conn;
        let conn = &mut self.conns[ci];
        conn.live -= 1;
        if conn.live == 0 {
            // Every lane of the connection is done.
            conn.stream = None;
            conn.phase = Phase::Closed;
        }
    }

    /// Puts lane `i` in its connection's queue (at the front when it is
    /// sent again) and opens what streams the connection allows.
    fn enqueue(&mut self, i: usize, again: bool) {
        self.lanes[i].state = LaneState::Queued;
        let ci = self.lanes[i].conn;
        let queue = &mut self.conns[ci].queue;
        if again {
            queue.push_front(i);
        } else {
            queue.push_back(i);
        }
        self.pump(ci);
    }

    /// Connects, or opens streams for queued lanes while the server allows.
    fn pump(&mut self, ci: usize) {
        let streams = self.plan.config.streams;
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
        while conn.open.len() < conn.limit(streams) && conn.next_id < (1 << 31) {
            let Some(i) = conn.queue.pop_front() else {
                break;
            };
            let lane = &mut self.lanes[i];
            let id = conn.next_id;
            conn.next_id += 2;
            conn.open.push(i);
            lane.state = LaneState::Open;
            lane.stream = id;
            lane.status = 0;
            lane.header_ok = true;
            lane.bytes = 0;
            lane.received = 0;
            lane.body_at = 0;
            lane.window = conn.peer_window;
            lane.search = BodySearch::new(&self.plan.config.requests[lane.which].checks);
            let block = &self.blocks[lane.which];
            let end = if self.plan.config.requests[lane.which].body.is_empty() {
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
        for &i in &conn.open {
            let lane = &mut self.lanes[i];
            let body = &plan.config.requests[lane.which].body;
            while lane.body_at < body.len() {
                let room = conn.window.min(lane.window).min(conn.max_frame as i64);
                if room <= 0 {
                    break;
                }
                let n = (body.len() - lane.body_at).min(room as usize);
                let end = lane.body_at + n == body.len();
                put_frame(
                    &mut conn.out,
                    n,
                    DATA,
                    if end { END_STREAM } else { 0 },
                    lane.stream,
                );
                conn.out
                    .extend_from_slice(&body[lane.body_at..lane.body_at + n]);
                lane.body_at += n;
                conn.window -= n as i64;
                lane.window -= n as i64;
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

    /// The connection could not be made: its queued lanes' requests fail.
    fn fail_queued(&mut self, ci: usize, kind: ErrorKind) {
        let conn = &mut self.conns[ci];
        conn.stream = None;
        conn.phase = Phase::Closed;
        for i in std::mem::take(&mut conn.queue) {
            self.finish(i, Err(kind));
        }
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

    /// The lane whose stream is `id` on connection `ci`, if it is still
    /// waiting for it.
    fn lane_of(&self, ci: usize, id: u32) -> Option<usize> {
        self.conns[ci]
            .open
            .iter()
            .copied()
            .find(|&i| self.lanes[i].stream == id)
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
                if flags & END_HEADERS != 0 {
                    self.headers(ci, id, &block, end_stream);
                } else {
                    self.conns[ci].continued = Some((stream, end_stream, block));
                }
            }
            RST_STREAM if payload.len() == 4 => {
                if let Some(i) = self.lane_of(ci, id) {
                    self.close_stream(ci, i);
                    if u32_at(payload, 0) == REFUSED_STREAM {
                        self.again(i, ErrorKind::RefusedStream);
                    } else {
                        self.finish(i, Err(ErrorKind::Reset));
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
                } else if let Some(i) = self.lane_of(ci, id) {
                    self.lanes[i].window += increment;
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
        let Some(i) = self.lane_of(ci, id) else {
            return;
        };
        let lane = &mut self.lanes[i];
        lane.bytes += data.len() as u64;
        lane.search
            .feed(&self.plan.config.requests[lane.which].checks, data);
        lane.received += payload.len() as u64;
        if lane.received >= REFILL && flags & END_STREAM == 0 {
            let conn = &mut self.conns[ci];
            put_frame(&mut conn.out, 4, WINDOW_UPDATE, 0, id);
            conn.out
                .extend_from_slice(&(lane.received as u32).to_be_bytes());
            lane.received = 0;
            self.dirty.push(ci);
        }
        if flags & END_STREAM != 0 {
            self.complete(ci, i);
        }
    }

    /// A whole header block on stream `id`: decoded whichever stream it is
    /// for (the table must follow every block); the status and the header
    /// checks taken for a lane waiting on it.
    fn headers(&mut self, ci: usize, id: u32, block: &[u8], end_stream: bool) {
        let lane = self.lane_of(ci, id);
        let checks: &[Check] = match lane {
            Some(i) => &self.plan.config.requests[self.lanes[i].which].checks,
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
        let Some(i) = lane else {
            return;
        };
        let l = &mut self.lanes[i];
        if l.status == 0 {
            match status {
                // An interim response: the final one follows.
                Some(s) if (100..200).contains(&s) && !end_stream => return,
                Some(s) => {
                    l.status = s;
                    l.header_ok = !wanted
                        || checks
                            .iter()
                            .zip(&seen)
                            .all(|(c, seen)| !matches!(c, Check::HeaderPresent(_)) || *seen);
                }
                None => {
                    self.cancel(ci, i, 0x1);
                    self.finish(i, Err(ErrorKind::Protocol));
                    return self.drained(ci);
                }
            }
        }
        // Otherwise trailers, which end the stream.
        if end_stream {
            self.complete(ci, i);
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
                0x3 => conn.peer_streams = value as usize,
                0x4 => {
                    if value > WINDOW {
                        return self.fail(ci, ErrorKind::Protocol);
                    }
                    let delta = i64::from(value) - conn.peer_window;
                    conn.peer_window = i64::from(value);
                    for &i in &conn.open {
                        self.lanes[i].window += delta;
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
        self.conns[ci].going_away = Some(last);
        let unprocessed: Vec<usize> = self.conns[ci]
            .open
            .iter()
            .copied()
            .filter(|&i| self.lanes[i].stream > last)
            .collect();
        for i in unprocessed {
            self.close_stream(ci, i);
            self.again(i, ErrorKind::GoAway);
        }
        self.drained(ci);
    }

    /// A stream ended: a queued lane may take its place; and once a
    /// connection going away has no stream left, it is closed, and its
    /// queued lanes go on a new one.
    fn drained(&mut self, ci: usize) {
        let conn = &mut self.conns[ci];
        if conn.going_away.is_some() && conn.open.is_empty() {
            conn.stream = None;
            conn.phase = Phase::Closed;
            conn.generation += 1;
        }
        self.pump(ci);
    }

    /// Lane `i`'s stream is no longer open on connection `ci`.
    fn close_stream(&mut self, ci: usize, i: usize) {
        self.conns[ci].open.retain(|&o| o != i);
    }

    /// Cancels lane `i`'s stream with RST_STREAM and `code`.
    fn cancel(&mut self, ci: usize, i: usize, code: u32) {
        let id = self.lanes[i].stream;
        self.close_stream(ci, i);
        let conn = &mut self.conns[ci];
        put_frame(&mut conn.out, 4, RST_STREAM, 0, id);
        conn.out.extend_from_slice(&code.to_be_bytes());
        self.dirty.push(ci);
    }

    /// A request the server did not process: sent again while attempts
    /// are left, else failed with `kind`.
    fn again(&mut self, i: usize, kind: ErrorKind) {
        let lane = &mut self.lanes[i];
        if lane.attempts < H2_ATTEMPTS {
            lane.attempts += 1;
            self.shared.stats.retried += 1;
            self.enqueue(i, true);
        } else {
            self.finish(i, Err(kind));
        }
    }

    /// Lane `i`'s response is whole.
    fn complete(&mut self, ci: usize, i: usize) {
        self.close_stream(ci, i);
        let lane = &self.lanes[i];
        let checks = &self.plan.config.requests[lane.which].checks;
        let response = Response {
            status: lane.status,
            bytes: lane.bytes,
            checks_passed: Check::status_passes(checks, lane.status)
                && lane.header_ok
                && lane.search.found(),
            close: false,
        };
        let sent = self.plan.config.requests[lane.which].body.len() as u64;
        self.finish(i, Ok((response, sent)));
        self.drained(ci);
    }

    /// Counts lane `i`'s request; its next starts once the events at hand
    /// are handled.
    fn finish(&mut self, i: usize, result: Result<(Response, u64), ErrorKind>) {
        let done = Instant::now();
        let lane = &mut self.lanes[i];
        lane.state = LaneState::Resting;
        let late_by = lane.intended.take().map_or(Duration::ZERO, |at| {
            lane.sent_at.saturating_duration_since(at)
        });
        let outcome = record(self.shared, lane.which, lane.sent_at, done, late_by, result);
        if outcome.backoff {
            // A refused target is not hammered in a loop: a closed-model
            // lane pauses; an open-model one goes on with its schedule.
            let pause = match self.plan.schedule {
                None => Duration::from_millis(10),
                Some(_) => Duration::ZERO,
            };
            self.wait_until(i, done + pause);
        } else {
            self.restart.push(i);
        }
    }

    /// The connection failed: the requests on it fail with `kind`, and its
    /// queued lanes wait for a new one.
    fn fail(&mut self, ci: usize, kind: ErrorKind) {
        let conn = &mut self.conns[ci];
        conn.stream = None;
        conn.phase = Phase::Closed;
        conn.generation += 1;
        conn.continued = None;
        for i in std::mem::take(&mut conn.open) {
            self.finish(i, Err(kind));
        }
        self.pump(ci);
    }

    /// Requests past their deadline fail as timed out, their streams
    /// cancelled; returns the earliest deadline left.
    fn time_out(&mut self, now: Instant) -> Instant {
        for i in 0..self.lanes.len() {
            let lane = &self.lanes[i];
            if now < lane.deadline {
                continue;
            }
            let ci = lane.conn;
            match lane.state {
                LaneState::Open => {
                    self.cancel(ci, i, CANCEL);
                    self.finish(i, Err(ErrorKind::Timeout));
                    self.drained(ci);
                }
                LaneState::Queued => {
                    self.conns[ci].queue.retain(|&q| q != i);
                    self.finish(i, Err(ErrorKind::Timeout));
                    if matches!(self.conns[ci].phase, Phase::Connecting)
                        && self.conns[ci].queue.is_empty()
                    {
                        // A connect that never finished: the next request
                        // tries a new one.
                        self.conns[ci].stream = None;
                        self.conns[ci].phase = Phase::Closed;
                    }
                }
                _ => {}
            }
        }
        self.lanes
            .iter()
            .filter(|l| matches!(l.state, LaneState::Open | LaneState::Queued))
            .map(|l| l.deadline)
            .min()
            .unwrap_or(now + self.plan.config.timeout)
    }

    /// epoll itself failed: every request under way counts as an I/O error
    /// and the run ends.
    fn abandon(&mut self) {
        for i in 0..self.lanes.len() {
            if matches!(self.lanes[i].state, LaneState::Open | LaneState::Queued) {
                let lane = &self.lanes[i];
                let late_by = lane.intended.map_or(Duration::ZERO, |at| {
                    lane.sent_at.saturating_duration_since(at)
                });
                record(
                    self.shared,
                    lane.which,
                    lane.sent_at,
                    Instant::now(),
                    late_by,
                    Err(ErrorKind::Io),
                );
            }
            self.lanes[i].state = LaneState::Done;
        }
        for conn in &mut self.conns {
            conn.stream = None;
        }
        self.live = 0;
    }
}
