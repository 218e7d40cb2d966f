//! Cleartext HTTP/1.1, closed model or open, driven by one epoll loop per
//! worker (through mio) instead of tokio tasks.
//!
//! This is the case that load tests spend most CPU on, and where the client's
//! own cost per request decides how hard one machine can push: on loopback
//! the kernel's TCP work is most of it, and what is left is this loop. It
//! keeps a small state machine per connection, reads each response with the
//! same parser as the async path (`http1::Parse`), and records through the
//! same `record`, so the two paths count alike. Connections that wait (for
//! the open model's next arrival, the start, a ramp or a pause after a
//! refused connection) wait in one timer heap the loop sleeps on; the
//! timeout given to `epoll_wait` is whole milliseconds, so arrivals due
//! within a millisecond of each other are sent in one wakeup, as tokio's
//! timer wheel would. Think time, TLS and HTTP/2 stay on tokio, where the
//! TLS layer and h2 live.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::{Plan, Shared, Stats, Tick, arrival, drop_rest, record, record_abandoned};
use crate::flow::Vu;
use crate::http1::{ErrorKind, NoSink, Parse, Prepared, Reader, Sink};

/// The loop looks at waiting connections once a millisecond.
pub(super) const TICK: Duration = Duration::from_millis(1);

const _: () = assert!(TICK.as_nanos() <= super::TIMER_SLACK.as_nanos());

/// Where one connection is.
enum State {
    /// Waiting until this time to send its next request (the start of the
    /// run, or a pause after the target refused a connection).
    Idle(Instant),
    /// Connecting, for a request not yet sent.
    Connecting,
    /// This many bytes of the request are written.
    Sending(usize),
    /// The request is sent; the response is being read.
    Receiving,
    /// The run is over for this connection.
    Done,
}

struct Conn {
    /// The connection's number in the whole run (for the request mix).
    c: usize,
    /// Requests started so far.
    j: u64,
    state: State,
    stream: Option<TcpStream>,
    reader: Reader,
    parse: Option<Parse>,
    /// In a flow, the virtual user this connection runs.
    vu: Option<Vu>,
    /// The request in flight: which, when it started, when it times out.
    which: usize,
    sent_at: Instant,
    deadline: Instant,
    /// In the open model, the request in flight's intended time: latency
    /// counts from it.
    intended: Option<Instant>,
    /// The last read filled the buffer: the socket may hold more, and
    /// epoll (edge-triggered) will not say so again.
    unread: bool,
}

/// Runs `conns` (connection numbers) on this thread until the run ends.
pub(super) fn worker(
    plan: &Plan,
    conns: &[usize],
    stop: &AtomicBool,
    tx: &mpsc::Sender<Tick>,
) -> Stats {
    let mut shared = Shared::new(plan.config.requests.len());
    let mut poll = match Poll::new() {
        Ok(p) => p,
        Err(_) => {
            // Nothing could be sent: every connection's first request is an
            // I/O error rather than silently missing.
            shared.stats.sent += conns.len() as u64;
            *shared.stats.errors.entry(ErrorKind::Io).or_insert(0) += conns.len() as u64;
            return shared.stats;
        }
    };
    let mut events = Events::with_capacity(conns.len().clamp(16, 1024));
    let mut loop_ = Loop {
        plan,
        poll: &mut poll,
        shared: &mut shared,
        conns: conns
            .iter()
            .map(|&c| Conn {
                c,
                j: 0,
                state: State::Idle(plan.t0),
                stream: None,
                reader: Reader::for_lanes(plan.config.connections),
                parse: None,
                vu: plan.user(c),
                which: 0,
                sent_at: plan.t0,
                deadline: plan.t0,
                intended: None,
                unread: false,
            })
            .collect(),
        live: conns.len(),
        idle: (0..conns.len()).map(|i| Reverse((plan.t0, i))).collect(),
        again: Vec::new(),
        next_scan: plan.t0 + plan.config.timeout,
    };
    let mut k = 0u64;
    let mut next_report = plan.t0 + plan.config.interval;
    while loop_.live > 0 {
        let now = Instant::now();
        if loop_.next_idle().is_some_and(|at| at <= now) {
            // Connections whose wait is over start their next request.
            while let Some(&Reverse((at, i))) = loop_.idle.peek() {
                if at > now {
                    break;
                }
                loop_.idle.pop();
                // Only the entry of the connection's current wait counts.
                if matches!(loop_.conns[i].state, State::Idle(want) if want == at) {
                    loop_.start(i, now, stop);
                }
            }
            loop_.run_again(stop);
            continue;
        }
        if now >= loop_.next_scan {
            loop_.next_scan = loop_.time_out(now, stop);
            loop_.run_again(stop);
            continue;
        }
        if now >= next_report {
            let _ = tx.send(loop_.shared.take_interval(k));
            k += 1;
            next_report = plan.t0 + plan.config.interval * (k as u32 + 1);
            continue;
        }
        let mut wake = loop_.next_scan.min(next_report);
        if let Some(at) = loop_.next_idle() {
            wake = wake.min(at);
        }
        match loop_
            .poll
            .poll(&mut events, Some(wake.saturating_duration_since(now)))
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                // epoll itself failed: what is in flight cannot finish.
                loop_.abandon();
                break;
            }
        }
        for event in &events {
            let i = event.token().0;
            if i < loop_.conns.len() {
                loop_.ready(i, stop);
            }
        }
        loop_.run_again(stop);
    }
    // What came in since the last report belongs to the first interval not
    // reported yet (the run can end between an interval's end and its
    // report: that interval's counts are not a later one's).
    let _ = tx.send(shared.take_interval(k));
    shared.stats
}

struct Loop<'a, 'p> {
    plan: &'a Plan,
    poll: &'p mut Poll,
    shared: &'p mut Shared,
    conns: Vec<Conn>,
    /// Connections not yet done.
    live: usize,
    /// When waiting connections are due (a connection's stale entries,
    /// left when its wait changed, are skipped when they come up).
    idle: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Connections to read from before waiting again: bytes may be there
    /// with no edge left to announce them (kept as a list rather than read
    /// at once, so that a server sending ahead cannot make this recurse).
    again: Vec<usize>,
    /// When to look for requests past their deadline: the earliest deadline
    /// at the last look, or of a request started since.
    next_scan: Instant,
}

impl<'a> Loop<'a, '_> {
    /// Starts connection `i`'s next request, waits for it, or ends the
    /// connection when the run is over.
    fn start(&mut self, i: usize, now: Instant, stop: &AtomicBool) {
        let conn = &mut self.conns[i];
        match next(
            self.plan,
            self.shared,
            conn.c,
            &mut conn.j,
            conn.vu.as_mut(),
            now,
            stop,
        ) {
            Next::Send { which, intended } => {
                conn.intended = intended;
                self.launch(i, which, now, stop);
            }
            Next::Wait(at) => self.wait_until(i, at),
            Next::Inactive(wait) => {
                // Not one of the ramp's users now: no connection held.
                conn.stream = None;
                conn.reader.clear();
                conn.unread = false;
                match wait {
                    Some(at) => self.wait_until(i, at),
                    None => self.done(i),
                }
            }
            Next::Done => self.done(i),
        }
    }

    /// Sends request `which` on connection `i`, connecting first if it has
    /// no connection.
    fn launch(&mut self, i: usize, which: usize, now: Instant, stop: &AtomicBool) {
        let plan = self.plan;
        let conn = &mut self.conns[i];
        conn.which = which;
        conn.j += 1;
        conn.sent_at = now;
        conn.deadline = now + plan.timeout_of(which);
        // A request with a shorter timeout than those in flight may be the
        // first to be overdue.
        self.next_scan = self.next_scan.min(conn.deadline);
        conn.parse = Some(Parse::new(conn.request(plan)));
        if conn.stream.is_some() {
            self.send(i, 0, stop);
            return;
        }
        let connected = TcpStream::connect(plan.next_target()).and_then(|mut s| {
            self.poll.registry().register(
                &mut s,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(s)
        });
        match connected {
            Ok(s) => {
                conn.stream = Some(s);
                conn.state = State::Connecting;
            }
            Err(e) => self.finish(i, Err(connect_error(&e)), stop),
        }
    }

    /// Writes the request from byte `from` on; waits for room if the socket
    /// has none.
    fn send(&mut self, i: usize, from: usize, stop: &AtomicBool) {
        let plan = self.plan;
        let conn = &mut self.conns[i];
        let request: &Prepared = match &conn.vu {
            Some(vu) => vu.prepared(conn.which),
            None => &plan.prepared[conn.which],
        };
        let Some(stream) = conn.stream.as_mut() else {
            return self.finish(i, Err(ErrorKind::Closed), stop);
        };
        let mut at = from;
        while at < request.bytes.len() {
            match stream.write(&request.bytes[at..]) {
                Ok(0) => return self.finish(i, Err(ErrorKind::Closed), stop),
                Ok(n) => at += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    conn.state = State::Sending(at);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return self.finish(i, Err(ErrorKind::of(&e)), stop),
            }
        }
        conn.state = State::Receiving;
        if conn.unread || !conn.reader.is_empty() {
            self.again.push(i);
        }
    }

    /// Reads what has arrived and finishes the request if its response is
    /// whole.
    fn receive(&mut self, i: usize, stop: &AtomicBool) {
        let plan = self.plan;
        let conn = &mut self.conns[i];
        let (State::Receiving, Some(stream), Some(parse)) =
            (&conn.state, conn.stream.as_mut(), conn.parse.as_mut())
        else {
            return;
        };
        let mut no_sink = NoSink;
        let (request, sink): (&Prepared, &mut dyn Sink) = match conn.vu.as_mut() {
            Some(vu) => vu.split(conn.which),
            None => (&plan.prepared[conn.which], &mut no_sink),
        };
        // What is already buffered may hold the whole response.
        let mut result = parse.advance(&mut conn.reader, request, sink).transpose();
        while result.is_none() {
            let spare = conn.reader.spare();
            let room = spare.len();
            result = match stream.read(spare) {
                Ok(0) => Some(parse.closed(request)),
                Ok(n) => {
                    conn.reader.filled(n);
                    conn.unread = n == room;
                    parse.advance(&mut conn.reader, request, sink).transpose()
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    conn.unread = false;
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => None,
                Err(e) => Some(Err(ErrorKind::of(&e))),
            };
        }
        let Some(result) = result else {
            return;
        };
        let sent = request.bytes.len() as u64;
        self.finish(i, result.map(|r| (r, sent)), stop);
    }

    /// Reads from the connections that may hold unannounced bytes.
    fn run_again(&mut self, stop: &AtomicBool) {
        while let Some(i) = self.again.pop() {
            self.receive(i, stop);
        }
    }

    /// Connection `i` waits until `at`.
    fn wait_until(&mut self, i: usize, at: Instant) {
        self.conns[i].state = State::Idle(at);
        self.idle.push(Reverse((at, i)));
    }

    /// When the loop next looks at the waiting connections, if any waits:
    /// the first millisecond tick (counted from the start) at or after the
    /// earliest is due. Connections due within one tick start together,
    /// so their responses come back together and one wakeup reads several
    /// (one wakeup per arrival costs more than the requests themselves).
    /// A request sent up to a tick late is within the timer's slack.
    fn next_idle(&self) -> Option<Instant> {
        let &Reverse((at, _)) = self.idle.peek()?;
        Some(tick_at_or_after(self.plan.t0, at))
    }

    /// Ends connection `i`: the run is over for it.
    fn done(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        conn.state = State::Done;
        conn.stream = None;
        self.live -= 1;
    }

    /// Counts connection `i`'s request and starts its next one.
    fn finish(
        &mut self,
        i: usize,
        result: Result<(crate::http1::Response, u64), ErrorKind>,
        stop: &AtomicBool,
    ) {
        let done = Instant::now();
        let conn = &mut self.conns[i];
        conn.parse = None;
        let mut result = result;
        let after = conn.vu.as_mut().map(|vu| vu.after(conn.which, &mut result));
        let late_by = conn.late_by();
        let outcome = record(self.shared, conn.which, conn.sent_at, done, late_by, result);
        if let Some(crate::flow::After {
            abandoned: Some(why),
            skipped,
        }) = after
        {
            record_abandoned(self.shared, conn.which, why, skipped);
        }
        if outcome.close {
            conn.stream = None;
            conn.reader.clear();
            conn.unread = false;
        }
        if outcome.backoff {
            // A refused or failing target is not hammered in a loop: a
            // closed-model connection pauses; an open-model one goes on
            // with its schedule, from the loop rather than from here, so
            // that a backlog of due arrivals failing at once cannot
            // recurse.
            let pause = match self.plan.schedule {
                None => Duration::from_millis(10),
                Some(_) => Duration::ZERO,
            };
            self.wait_until(i, done + pause);
        } else {
            self.start(i, done, stop);
        }
    }

    /// epoll says connection `i`'s socket changed.
    fn ready(&mut self, i: usize, stop: &AtomicBool) {
        match self.conns[i].state {
            State::Connecting => {
                let Some(stream) = self.conns[i].stream.as_ref() else {
                    return;
                };
                match stream.take_error() {
                    Ok(Some(e)) | Err(e) => return self.finish(i, Err(connect_error(&e)), stop),
                    Ok(None) => {}
                }
                match stream.peer_addr() {
                    Ok(_) => {
                        let _ = stream.set_nodelay(true);
                        self.send(i, 0, stop);
                    }
                    // Not connected yet: a later event says when.
                    Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {}
                    Err(e) => self.finish(i, Err(connect_error(&e)), stop),
                }
            }
            State::Sending(at) => {
                self.send(i, at, stop);
                // The response may have begun while the request was still
                // being written (a server may answer before reading a large
                // body): that edge went to the write, so look now.
                if matches!(self.conns[i].state, State::Receiving) {
                    self.again.push(i);
                }
            }
            State::Receiving => self.receive(i, stop),
            State::Idle(_) | State::Done => {}
        }
    }

    /// Requests past their deadline fail as timed out; returns the earliest
    /// deadline left (or one timeout from now when nothing is in flight).
    fn time_out(&mut self, now: Instant, stop: &AtomicBool) -> Instant {
        for i in 0..self.conns.len() {
            if self.conns[i].in_flight() && now >= self.conns[i].deadline {
                self.conns[i].stream = None;
                self.finish(i, Err(ErrorKind::Timeout), stop);
            }
        }
        self.conns
            .iter()
            .filter(|c| c.in_flight())
            .map(|c| c.deadline)
            .min()
            .unwrap_or(now + self.plan.config.timeout)
    }
}

impl Loop<'_, '_> {
    /// Counts every request in flight as an I/O error and ends the run.
    fn abandon(&mut self) {
        let done = Instant::now();
        for conn in &mut self.conns {
            if conn.in_flight() {
                let late_by = conn.late_by();
                record(
                    self.shared,
                    conn.which,
                    conn.sent_at,
                    done,
                    late_by,
                    Err(ErrorKind::Io),
                );
            }
            conn.state = State::Done;
            conn.stream = None;
        }
        self.live = 0;
    }
}

impl Conn {
    /// The request in flight, as written for it.
    fn request<'p>(&'p self, plan: &'p Plan) -> &'p Prepared {
        match &self.vu {
            Some(vu) => vu.prepared(self.which),
            None => &plan.prepared[self.which],
        }
    }

    /// How late the request in flight was sent (open model).
    fn late_by(&mut self) -> Duration {
        self.intended.take().map_or(Duration::ZERO, |at| {
            self.sent_at.saturating_duration_since(at)
        })
    }

    /// Whether a request is under way (and so may time out).
    fn in_flight(&self) -> bool {
        matches!(
            self.state,
            State::Connecting | State::Sending(_) | State::Receiving
        )
    }
}

/// What lane `c` does next: in the closed model, its next request right
/// away; in the open model, its next arrival when it is due (late, when the
/// previous response took longer than the gap), and after the end the
/// arrivals already due for the grace period, the rest counted as dropped.
/// `j` counts the lane's requests begun (an iteration abandoned before its
/// request was sent counts here; a request sent is counted by the caller).
pub(super) enum Next {
    /// Send request `which` now; in the open model, `intended` is when it
    /// was due.
    Send {
        which: usize,
        intended: Option<Instant>,
    },
    /// Wait until then (for the next arrival, or to see a stop).
    Wait(Instant),
    /// Not one of a ramp's users now: hold no connection, and look again
    /// then (never, when the ramp has no place left for this lane).
    Inactive(Option<Instant>),
    /// The run is over for this lane.
    Done,
}

/// See [`Next`].
pub(super) fn next(
    plan: &Plan,
    shared: &mut Shared,
    c: usize,
    j: &mut u64,
    mut vu: Option<&mut Vu>,
    now: Instant,
    stop: &AtomicBool,
) -> Next {
    // Woken at least every 100 ms to see a stop (at a low rate the next
    // arrival may be far off).
    let soon = now + Duration::from_millis(100);
    let Some(schedule) = &plan.schedule else {
        let between = vu.as_ref().is_none_or(|vu| vu.next().1);
        if !(now >= plan.end || stop.load(Ordering::Relaxed))
            && let Some(wait) = plan.waiting(c, now, between)
        {
            return Next::Inactive(wait.map(|at| at.min(soon)));
        }
        loop {
            let next = if now >= plan.end || stop.load(Ordering::Relaxed) {
                None
            } else {
                plan.next_closed(c, *j, vu.as_deref_mut())
            };
            match next {
                None => return Next::Done,
                Some(Ok(which)) => {
                    return Next::Send {
                        which,
                        intended: None,
                    };
                }
                Some(Err((which, why))) => {
                    // Not sent: this user's iteration is abandoned.
                    *j += 1;
                    let rest = vu
                        .as_deref_mut()
                        .map_or(which + 1..which + 1, |vu| vu.abandon(which));
                    record_abandoned(shared, which, why, which..rest.end);
                }
            }
        }
    };
    loop {
        let n = arrival(plan, c as u64, *j);
        let Some(t) = schedule.time_of(n) else {
            return Next::Done;
        };
        if now >= plan.end + plan.grace || stop.load(Ordering::Relaxed) {
            drop_rest(plan, shared, c as u64, *j, now);
            return Next::Done;
        }
        let intended = plan.t0 + Duration::from_secs_f64(t);
        if intended > now {
            return Next::Wait(intended.min(soon));
        }
        let which = match vu.as_deref_mut() {
            // A virtual user sends its requests in order.
            Some(vu) => {
                let which = vu.next().0;
                if let Err(why) = vu.render(which, &plan.config.requests[which]) {
                    let rest = vu.abandon(which);
                    record_abandoned(shared, which, why, which..rest.end);
                    *j += 1;
                    continue;
                }
                which
            }
            // By the arrival's place in the whole schedule, as on the
            // async path.
            None => plan.mix[(n % plan.mix.len() as u64) as usize],
        };
        return Next::Send {
            which,
            intended: Some(intended),
        };
    }
}

/// The first millisecond tick, counted from `t0`, at or after `at`: when a
/// loop looks at what waits until `at`.
pub(super) fn tick_at_or_after(t0: Instant, at: Instant) -> Instant {
    let since = at.saturating_duration_since(t0).as_nanos();
    let tick = TICK.as_nanos();
    t0 + Duration::from_nanos((since.div_ceil(tick) * tick) as u64)
}

/// A failed connect, by kind, as the async path counts it.
pub(super) fn connect_error(e: &std::io::Error) -> ErrorKind {
    match ErrorKind::of(e) {
        ErrorKind::ConnectRefused => ErrorKind::ConnectRefused,
        ErrorKind::Timeout => ErrorKind::Timeout,
        _ => ErrorKind::Connect,
    }
}
