//! The HTTP/2 epoll engine (`engine/h2c.rs`) against a server built on the
//! `h2` crate, whose HPACK encoder indexes headers in its dynamic table and
//! refers to them later (nginx only ever sends literals), and which can be
//! told to keep small windows, few streams, and to hold a request forever.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use perfhub_load::ErrorKind;
use perfhub_load::engine::{LoadConfig, LoadOutcome, Model, NoProgress, run};
use perfhub_load::request::{Check, Method};

/// One test at a time: two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Connections the servers below accepted.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// The body `/upload` expects.
const UPLOAD: usize = 100_000;

/// An h2c server on a free loopback port, in a thread of its own for the
/// rest of the test process: `/indexed` answers 201 with a body in three
/// DATA frames and headers the encoder indexes; `/upload` reads the whole
/// body and answers 200 when it is `UPLOAD` bytes, 400 otherwise;
/// `/sometimes-slow` answers every twentieth request of a connection after
/// 600 ms, the others at once; `/never` never answers.
fn server(window: u32, streams: u32) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                ACCEPTED.fetch_add(1, Ordering::SeqCst);
                tokio::task::spawn_local(async move {
                    let mut conn = h2::server::Builder::new()
                        .initial_window_size(window)
                        .max_concurrent_streams(streams)
                        .handshake::<_, Bytes>(socket)
                        .await
                        .unwrap();
                    let mut n = 0u64;
                    while let Some(Ok((request, respond))) = conn.accept().await {
                        n += 1;
                        tokio::task::spawn_local(answer(request, respond, n));
                    }
                });
            }
        });
    });
    addr
}

async fn answer(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    n: u64,
) {
    match request.uri().path() {
        "/indexed" => {
            let response = http::Response::builder()
                .status(201)
                .header("x-fixed", "the same in every response")
                .header("x-count", n.to_string())
                .header("content-type", "text/plain")
                .body(())
                .unwrap();
            let mut send = respond.send_response(response, false).unwrap();
            for (piece, last) in [("abc nee", false), ("dle", false), (" xyz", true)] {
                send.send_data(Bytes::from(piece), last).unwrap();
            }
        }
        "/upload" => {
            let mut body = request.into_body();
            let mut got = 0;
            while let Some(Ok(chunk)) = body.data().await {
                got += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let status = if got == UPLOAD { 200 } else { 400 };
            let response = http::Response::builder().status(status).body(()).unwrap();
            let _ = respond.send_response(response, true);
        }
        "/sometimes-slow" => {
            // Every twentieth request of a connection takes 600 ms.
            if n.is_multiple_of(20) {
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            let response = http::Response::builder().status(200).body(()).unwrap();
            let _ = respond.send_response(response, true);
        }
        _ => {
            // Held until the client gives up on it.
            std::future::pending::<()>().await;
        }
    }
}

fn config(addr: SocketAddr, path: &str, connections: usize, streams: usize) -> LoadConfig {
    let mut c = LoadConfig::new(&format!("http://{addr}{path}")).unwrap();
    c.http2 = true;
    c.streams = streams;
    c.connections = connections;
    c.threads = 1;
    c.model = Model::Closed {
        think_time: Duration::ZERO,
    };
    c.duration = Duration::from_secs(1);
    c
}

fn load(config: &LoadConfig) -> LoadOutcome {
    run(config, &mut NoProgress).unwrap()
}

/// Every response is read whole through a dynamic table that fills,
/// evicts and is referred to: statuses, header checks and a body check
/// split across frames all pass.
#[test]
fn responses_from_an_indexing_encoder_are_read_whole() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = server(65_535, 100);
    let mut c = config(addr, "/indexed", 2, 4);
    c.requests[0].checks = vec![
        Check::Status(vec![(201, 201)]),
        Check::HeaderPresent("X-Fixed".into()),
        Check::BodyContains("needle".into()),
    ];
    let out = load(&c);
    let total = out.stats.total();
    assert!(total.responses > 100, "{}", total.responses);
    assert_eq!(out.stats.errors.len(), 0, "{:?}", out.stats.errors);
    assert_eq!(total.check_failures, 0);
    assert_eq!(total.statuses.get(&201), Some(&total.responses));
    assert_eq!(out.stats.bytes_received, total.responses * 14);

    // A header the responses lack fails its check, and only that.
    c.requests[0].checks = vec![Check::HeaderPresent("x-missing".into())];
    let out = load(&c);
    let total = out.stats.total();
    assert!(total.responses > 0);
    assert_eq!(total.check_failures, total.responses);
}

/// Request bodies larger than the server's windows are sent as the
/// server's WINDOW_UPDATEs allow, over fewer streams than lanes.
#[test]
fn bodies_wait_for_the_server_s_windows_and_streams() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = server(1_000, 3);
    let mut c = config(addr, "/upload", 1, 8);
    c.requests[0].method = Method::parse("POST").unwrap();
    c.requests[0].body = vec![b'x'; UPLOAD];
    let out = load(&c);
    let total = out.stats.total();
    assert!(total.responses > 3, "{}", total.responses);
    assert_eq!(out.stats.errors.len(), 0, "{:?}", out.stats.errors);
    assert_eq!(total.statuses.get(&200), Some(&total.responses));
    assert_eq!(out.stats.bytes_sent, total.responses * UPLOAD as u64);
    // The server's limit, fewer streams than asked for, is said.
    assert_eq!(out.stats.stream_limit, Some(3));
    assert!(out.report.benchmarks.iter().any(|b| {
        b.notes
            .iter()
            .any(|n| n.message.contains("allowed 3 concurrent streams"))
    }));
}

/// A request that times out cancels its stream; the connection carries the
/// next ones.
#[test]
fn a_timed_out_request_cancels_its_stream_not_the_connection() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = server(65_535, 100);
    let before = ACCEPTED.load(Ordering::SeqCst);
    let mut c = config(addr, "/never", 1, 2);
    c.timeout = Duration::from_millis(200);
    let out = load(&c);
    let total = out.stats.total();
    // Two lanes, a timeout every 200 ms each, in 1 s and the end.
    assert!(total.errors >= 6, "{}", total.errors);
    assert_eq!(
        out.stats.errors.get(&ErrorKind::Timeout),
        Some(&total.errors)
    );
    assert_eq!(ACCEPTED.load(Ordering::SeqCst) - before, 1);
}

/// The open model puts each arrival on whichever stream is free: while a
/// slow response holds one stream, arrivals go out on the others. Had each
/// stream kept its own arrivals (one in four, every 80 ms), about seven
/// would wait behind each 600 ms response, a third of all requests, and
/// the p90 latency would be hundreds of milliseconds; with any free stream
/// only the slow twentieth is slow. (A bound on the latency, not on the
/// count of late requests: a loaded machine makes a few requests late by
/// some milliseconds, never by hundreds.)
#[test]
fn open_model_arrivals_take_any_free_stream() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = server(65_535, 100);
    let mut c = config(addr, "/sometimes-slow", 1, 4);
    c.model = Model::Open {
        start: 50.0,
        stages: Vec::new(),
    };
    c.duration = Duration::from_secs(2);
    let out = load(&c);
    let total = out.stats.total();
    assert_eq!(total.responses, 100);
    assert_eq!(out.stats.errors.len(), 0, "{:?}", out.stats.errors);
    assert_eq!(out.stats.dropped, 0);
    let p90 = total.latency.value_at_quantile(0.9);
    assert!(p90 < Duration::from_millis(100), "p90 {p90:?}");
}

/// Arrivals still waiting for a stream when the grace period ends are
/// dropped, and recorded with their wait so far; those on a stream run to
/// their timeout.
#[test]
fn arrivals_left_waiting_for_a_stream_after_the_grace_are_dropped() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = server(65_535, 100);
    let mut c = config(addr, "/never", 1, 2);
    c.model = Model::Open {
        start: 20.0,
        stages: Vec::new(),
    };
    c.timeout = Duration::from_millis(1500);
    c.grace = Some(Duration::ZERO);
    let out = load(&c);
    let total = out.stats.total();
    assert_eq!(total.responses, 0);
    // Two on the streams time out; the rest waited for one and are dropped.
    assert_eq!(out.stats.errors.get(&ErrorKind::Timeout), Some(&2));
    assert_eq!(out.stats.dropped, 18);
    // Both in the latency percentiles, as lower bounds.
    assert_eq!(total.latency.len(), 20);
}
