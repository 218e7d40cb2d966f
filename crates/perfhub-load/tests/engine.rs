//! The load engine against perfhub's own target server: rates, coordinated
//! omission, faults.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use perfhub_load::ErrorKind;
use perfhub_load::engine::{LoadConfig, LoadOutcome, Model, NoProgress, Segment, run};
use perfhub_load::request::{RequestSpec, parse_url};
use perfhub_serve::{Fault, Latency, ServeConfig, Server, Stall};

/// One test at a time: each measures rates and latencies on a two-core
/// machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(addr: SocketAddr, model: Model, duration: Duration) -> LoadConfig {
    LoadConfig {
        requests: vec![RequestSpec::get(
            parse_url(&format!("http://{addr}/")).unwrap(),
        )],
        sequence: false,
        model,
        duration,
        connections: 16,
        threads: 1,
        timeout: Duration::from_secs(2),
        segment: Segment::WHOLE,
        interval: Duration::from_secs(1),
        tls: Default::default(),
        http2: false,
        resolve: Vec::new(),
        grace: None,
        start_at: None,
        flow: None,
        iterations: None,
        ramp: None,
        streams: 1,
        environment: false,
    }
}

fn open(rate: f64) -> Model {
    Model::Open {
        start: rate,
        stages: Vec::new(),
    }
}

fn load(config: &LoadConfig) -> LoadOutcome {
    run(config, &mut NoProgress).unwrap()
}

#[test]
fn the_outcome_carries_its_report() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(loopback(), ServeConfig::default()).unwrap();
    let mut c = config(server.addr(), open(200.0), Duration::from_millis(300));
    c.environment = true;
    let out = load(&c);
    let total = out.report.benchmark("total").expect("a total benchmark");
    let requests = total
        .measurement(perfhub_core::report::metric::LATENCY)
        .and_then(|m| m.summary.as_ref())
        .map(|s| s.n as u64);
    assert_eq!(requests, Some(out.stats.total().responses));
    assert!(out.report.environment.is_some());
    assert!(out.report.created.unix > 0);
    // Budgets judged on `total` and stored.
    let mut report = out.report.clone();
    perfhub_load::report::apply_budgets(&mut report, &["p95 < 10s".parse().unwrap()], &[]).unwrap();
    assert_eq!(report.budgets.len(), 1);
    assert_eq!(report.budgets[0].benchmark, "total");
    assert!(report.budgets_pass());
    server.stop();
}

#[test]
fn intervals_cover_the_run_and_hold_every_response() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(loopback(), ServeConfig::default()).unwrap();
    for (duration, interval) in [(1000, 1000), (1200, 500), (700, 1000)] {
        let mut c = config(
            server.addr(),
            Model::Closed {
                think_time: Duration::ZERO,
            },
            Duration::from_millis(duration),
        );
        c.connections = 4;
        c.interval = Duration::from_millis(interval);
        let out = load(&c);
        let counted: u64 = out.intervals.iter().map(|i| i.latency.len()).sum();
        assert_eq!(
            counted,
            out.stats.total().responses,
            "{duration}/{interval}"
        );
        // Whole intervals, the last ending with the run: none a sliver
        // whose rate would be its few responses over a millisecond.
        let whole = (duration / interval).max(1) as usize;
        assert!(
            out.intervals.len() == whole || out.intervals.len() == whole + 1,
            "{duration}/{interval}: {} intervals",
            out.intervals.len()
        );
        for i in &out.intervals {
            assert!(
                i.length >= Duration::from_millis(interval.min(duration) / 2),
                "{duration}/{interval}: an interval of {:?}",
                i.length
            );
        }
        let rates = out
            .report
            .benchmark("total")
            .unwrap()
            .measurement("interval_throughput")
            .unwrap()
            .samples
            .clone();
        let overall = out.stats.total().responses as f64 / out.elapsed.as_secs_f64();
        for r in rates {
            assert!(
                r < overall * 3.0,
                "{duration}/{interval}: {r} against {overall}"
            );
        }
    }
    server.stop();
}

#[test]
fn open_model_rates_are_kept() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(loopback(), ServeConfig::default()).unwrap();
    // Whether a rate is achieved to 1% is a matter of the machine's speed,
    // measured in docs/benchmarks.md (1,000 to 20,000/s). What the engine
    // decides is the schedule, checked here: rate × duration arrivals, none
    // sent before its time, each sent or counted as dropped.
    let duration = Duration::from_secs(2);
    for rate in [250.0, 1000.0] {
        let c = config(server.addr(), open(rate), duration);
        let out = load(&c);
        let scheduled = (rate * duration.as_secs_f64()) as u64;
        let (sent, dropped) = (out.stats.sent, out.stats.dropped);
        // Every arrival of the schedule, exactly once: an engine that ignored
        // the rate and sent as fast as it could for 2 s would send far more.
        assert_eq!(
            sent + dropped,
            scheduled,
            "{rate}/s: sent {sent}, dropped {dropped}"
        );
        // The last arrival is due 1/rate before the end and is never sent
        // early, so the run cannot be shorter than that on any machine; an
        // engine that sent the whole schedule at once would end in a
        // fraction of it.
        let last_due = duration - Duration::from_secs_f64(1.0 / rate);
        assert!(
            out.elapsed >= last_due,
            "{rate}/s: ended after {:?}, the last request is due at {last_due:?}",
            out.elapsed
        );
        // A request is dropped only when its connection is still waiting on
        // an earlier one when the time is up. For half of them to go, the
        // client and the server (a few tens of microseconds a request) would
        // have to be starved of the CPU for most of the run: a wide margin,
        // and still a failure for an engine that drops what it should send.
        assert!(
            sent * 2 >= scheduled,
            "{rate}/s: sent {sent} of {scheduled}"
        );
        let total = out.stats.total();
        assert_eq!(total.responses, sent, "{:?}", out.stats.errors);
        assert_eq!(total.errors, 0);
        assert_eq!(total.statuses.get(&200), Some(&total.responses));
    }
}

#[test]
fn a_stalling_server_is_charged_for_every_request_it_held_up() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Pause 200 ms every second: a fifth of the arrivals land in a pause
    // and wait for its end, uniformly 0 to 200 ms, so P(latency > x) is
    // (0.2 - x) / 1 and the p99 is 190 ms.
    let serve = ServeConfig {
        stall: Some(Stall {
            every: Duration::from_secs(1),
            pause: Duration::from_millis(200),
        }),
        ..ServeConfig::default()
    };
    let server = Server::start(loopback(), serve).unwrap();
    let c = config(server.addr(), open(500.0), Duration::from_secs(4));
    let out = load(&c);
    let total = out.stats.total();
    let q = |h: &perfhub_core::histogram::LatencyHistogram, q: f64| {
        h.value_at_quantile(q).as_secs_f64()
    };
    // The analytic values bound the latencies from below on any machine:
    // a request due in a pause waits for its end however fast the machine,
    // and a slower or busier one only adds to the wait. The bounds leave
    // 10% for the histogram's precision and the 2 ms of timer slack the
    // engine does not charge. How close they come on a quiet machine (0.2%)
    // is a benchmark: docs/benchmarks.md, coordinated omission.
    let p99 = q(&total.latency, 0.99);
    let p90 = q(&total.latency, 0.90);
    assert!(p99 >= 0.171, "corrected p99 {p99:.3} s, analytic 0.190 s");
    assert!(p90 >= 0.085, "corrected p90 {p90:.3} s, analytic 0.100 s");
    // From above only wrong accounting could take them far: a 200 ms pause
    // cannot make 1% of the requests wait a second unless latency were
    // measured from the wrong moment (a busy machine adds milliseconds, or
    // tens of them, not 800).
    assert!(p99 < 1.0, "corrected p99 {p99:.3} s, analytic 0.190 s");
    // Without the correction, the requests that waited behind a stalled one
    // look fast: only those in flight when a pause began show it. Each
    // request's corrected latency is at least its service time (less the
    // timer slack), so on a busy machine both grow; the service time's p90
    // stays far under the corrected one's 100 ms.
    let service_p90 = q(&total.service, 0.90);
    assert!(
        service_p90 < p90 / 2.0,
        "service time p90 {service_p90:.3} s, corrected p90 {p90:.3} s"
    );
    assert!(out.stats.late > 0);
}

#[test]
fn segments_add_up_to_the_whole_schedule() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(loopback(), ServeConfig::default()).unwrap();
    let mut sent = 0;
    for i in 0..4 {
        let mut c = config(server.addr(), open(800.0), Duration::from_secs(1));
        c.segment = Segment { index: i, count: 4 };
        sent += load(&c).stats.sent;
    }
    assert_eq!(sent, 800);
}

#[test]
fn faults_are_counted_by_kind_in_the_open_model() {
    faults_are_counted_by_kind(open);
}

/// The closed model runs on its own epoll loop: the same faults, counted
/// the same way.
#[test]
fn faults_are_counted_by_kind_in_the_closed_model() {
    faults_are_counted_by_kind(|_| Model::Closed {
        think_time: Duration::ZERO,
    });
}

/// `open` gives the model at a rate (the closed model ignores it).
fn faults_are_counted_by_kind(open: fn(f64) -> Model) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Refused: a port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind(loopback()).unwrap();
        l.local_addr().unwrap()
    };
    let out = load(&config(closed, open(100.0), Duration::from_millis(500)));
    assert!(
        out.stats
            .errors
            .get(&ErrorKind::ConnectRefused)
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(out.stats.total().responses, 0);

    let reset = Server::start(
        loopback(),
        ServeConfig {
            fault: Some(Fault::Reset),
            ..ServeConfig::default()
        },
    )
    .unwrap();
    let out = load(&config(
        reset.addr(),
        open(100.0),
        Duration::from_millis(500),
    ));
    let resets = out
        .stats
        .errors
        .get(&ErrorKind::Reset)
        .copied()
        .unwrap_or(0)
        + out
            .stats
            .errors
            .get(&ErrorKind::Closed)
            .copied()
            .unwrap_or(0);
    assert!(resets > 0, "{:?}", out.stats.errors);

    let hang = Server::start(
        loopback(),
        ServeConfig {
            fault: Some(Fault::Hang),
            ..ServeConfig::default()
        },
    )
    .unwrap();
    let mut c = config(hang.addr(), open(50.0), Duration::from_millis(500));
    c.timeout = Duration::from_millis(200);
    let out = load(&c);
    assert!(
        out.stats
            .errors
            .get(&ErrorKind::Timeout)
            .copied()
            .unwrap_or(0)
            > 0
    );

    let failing = Server::start(
        loopback(),
        ServeConfig {
            error_rate: 1.0,
            latency: Latency::None,
            ..ServeConfig::default()
        },
    )
    .unwrap();
    let out = load(&config(
        failing.addr(),
        open(200.0),
        Duration::from_millis(500),
    ));
    let total = out.stats.total();
    assert!(total.responses > 0);
    assert_eq!(total.check_failures, total.responses);
    assert_eq!(total.statuses.get(&500), Some(&total.responses));
}

#[test]
fn the_closed_model_keeps_every_connection_busy() {
    use std::io::Write;
    use std::sync::atomic::Ordering;

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    SERVED.store(0, Ordering::SeqCst);
    REUSED.store(0, Ordering::SeqCst);
    // Each answer takes 10 ms.
    let addr = scripted_server(|n, _, _, writer| {
        std::thread::sleep(Duration::from_millis(10));
        SERVED.fetch_add(1, Ordering::SeqCst);
        if n == 2 {
            REUSED.fetch_add(1, Ordering::SeqCst);
        }
        writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_ok()
    });
    let c = config(
        addr,
        Model::Closed {
            think_time: Duration::ZERO,
        },
        Duration::from_secs(1),
    );
    let out = load(&c);
    let total = out.stats.total();
    assert!(out.stats.errors.is_empty(), "{:?}", out.stats.errors);
    // Each of the 16 connections was opened once, kept alive and carried a
    // second request: two 10 ms exchanges fit in the second with room for a
    // machine dozens of times slower than a quiet one.
    assert_eq!(REUSED.load(Ordering::SeqCst), 16);
    // The server's 10 ms bound the count from above on any machine: at most
    // 101 exchanges per connection in 1 s.
    assert!(total.responses <= 16 * 101, "{} responses", total.responses);
    // More than one connection could complete alone, so they were busy at
    // the same time (about 1,600 on a quiet machine; 102 needs each
    // connection's exchange under 150 ms, fifteen times the server's time).
    assert!(total.responses > 101, "{} responses", total.responses);
    let p50 = total.latency.value_at_quantile(0.5);
    assert!(p50 >= Duration::from_millis(10), "{p50:?}");
    assert_eq!(SERVED.load(Ordering::SeqCst), total.responses);
}

#[test]
fn https_targets_are_verified_against_the_given_certificates() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(
        loopback(),
        ServeConfig {
            tls: true,
            ..ServeConfig::default()
        },
    )
    .unwrap();
    let pem = server.certificate_pem().unwrap();
    let ca = std::env::temp_dir().join(format!("perfhub-test-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, pem).unwrap();
    let https = |tls: perfhub_load::tls::TlsOptions| {
        let mut c = config(server.addr(), open(200.0), Duration::from_millis(500));
        c.requests[0].url = parse_url(&format!("https://{}/", server.addr())).unwrap();
        c.tls = tls;
        load(&c)
    };
    let trusted = https(perfhub_load::tls::TlsOptions {
        ca_file: Some(ca.clone()),
        insecure: false,
    });
    std::fs::remove_file(&ca).unwrap();
    let total = trusted.stats.total();
    assert_eq!(total.responses, 100, "{:?}", trusted.stats.errors);
    assert_eq!(total.errors, 0);

    // A self-signed certificate nobody vouches for is refused...
    let untrusted = https(perfhub_load::tls::TlsOptions::default());
    assert_eq!(untrusted.stats.total().responses, 0);
    assert!(
        untrusted
            .stats
            .errors
            .get(&ErrorKind::Tls)
            .copied()
            .unwrap_or(0)
            > 0
    );
    // ...unless verification is off.
    let insecure = https(perfhub_load::tls::TlsOptions {
        ca_file: None,
        insecure: true,
    });
    assert_eq!(insecure.stats.total().responses, 100);
}

/// A server on loopback that reads each request's head and hands it to
/// `answer` (connection's request number from 1, Content-Length, the reader
/// positioned at the body, the writer); `answer` reads the body itself and
/// returns false to close the connection.
fn scripted_server(
    answer: fn(
        u64,
        u64,
        &mut std::io::BufReader<std::net::TcpStream>,
        &mut std::net::TcpStream,
    ) -> bool,
) -> SocketAddr {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                for n in 1.. {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    if !answer(n, length, &mut reader, &mut writer) {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// The closed model on `connections` connections for a second, POSTing
/// `body_len` bytes.
fn closed_post(addr: SocketAddr, connections: usize, body_len: usize) -> LoadConfig {
    let mut c = config(
        addr,
        Model::Closed {
            think_time: Duration::ZERO,
        },
        Duration::from_secs(1),
    );
    c.connections = connections;
    c.requests[0].method = perfhub_load::request::Method::parse("POST").unwrap();
    c.requests[0].body = vec![b'x'; body_len];
    c
}

/// Responses the scripted servers below sent.
static SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Connections on which a scripted server answered a second request.
static REUSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Connections a scripted server answered a first request on.
static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The closed model's epoll loop against a server that makes it work for
/// each response: a request too big for one write, a chunked body that
/// arrives in pieces, and a connection closed after every third response.
#[test]
fn the_closed_model_reads_pieces_reconnects_and_writes_in_parts() {
    use perfhub_load::request::Check;
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    SERVED.store(0, Ordering::SeqCst);
    OPENED.store(0, Ordering::SeqCst);
    let addr = scripted_server(|n, length, reader, writer| {
        if n == 1 {
            OPENED.fetch_add(1, Ordering::SeqCst);
        }
        if std::io::copy(&mut reader.take(length), &mut std::io::sink()).unwrap_or(0) < length {
            return false;
        }
        let close = n % 3 == 0;
        let head = format!(
            "HTTP/1.1 200 OK\r\nX-Trace: {n}\r\nTransfer-Encoding: chunked\r\n{}\r\n5\r\nhel",
            if close { "Connection: close\r\n" } else { "" }
        );
        SERVED.fetch_add(1, Ordering::SeqCst);
        let _ = writer.write_all(head.as_bytes());
        std::thread::sleep(Duration::from_millis(1));
        let _ = writer.write_all(b"lo\r\n6\r\n world\r\n0\r\n\r\n");
        !close
    });
    let body_len = 4 << 20;
    let mut c = closed_post(addr, 4, body_len);
    c.requests[0].checks = vec![
        Check::Status(vec![(200, 299)]),
        Check::BodyContains("lo wo".into()),
        Check::HeaderPresent("x-trace".into()),
    ];
    let out = load(&c);
    let total = out.stats.total();
    assert!(out.stats.errors.is_empty(), "{:?}", out.stats.errors);
    // The server closed a connection after its third response and the
    // client opened another: more than the 4 it started with. That takes
    // four exchanges of 4 MiB on one connection within the second; a quiet
    // machine does well over a hundred in all.
    assert!(
        OPENED.load(Ordering::SeqCst) > 4,
        "{} connections for {} responses",
        OPENED.load(Ordering::SeqCst),
        total.responses
    );
    assert_eq!(total.check_failures, 0);
    assert_eq!(SERVED.load(Ordering::SeqCst), total.responses);
    assert!(out.stats.bytes_sent >= total.responses * body_len as u64);
}

/// A server may answer before it has read a large body: the response then
/// arrives while the closed model's loop is still writing the request, and
/// must still be read when the write ends.
#[test]
fn a_response_that_comes_before_the_whole_request_is_read() {
    use std::io::{Read, Write};

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let addr = scripted_server(|_, length, reader, writer| {
        // Answer first, then read and drop the body.
        let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        std::io::copy(&mut reader.take(length), &mut std::io::sink()).unwrap_or(0) == length
    });
    // A response left unread would time the request out (2 s): an error.
    let c = closed_post(addr, 2, 8 << 20);
    let out = load(&c);
    assert!(out.stats.errors.is_empty(), "{:?}", out.stats.errors);
    // More exchanges than connections: a connection whose response came
    // early went on to the next request. Three exchanges of 8 MiB in the
    // second leave a wide margin; a quiet machine does dozens.
    assert!(
        out.stats.total().responses >= 3,
        "{}",
        out.stats.total().responses
    );
}

#[test]
fn a_failed_run_says_so_in_its_report() {
    let config = config(
        "127.0.0.1:9".parse().unwrap(),
        Model::Closed {
            think_time: Duration::ZERO,
        },
        Duration::from_secs(1),
    );
    let outcome = LoadOutcome {
        stats: Default::default(),
        intervals: Vec::new(),
        elapsed: Duration::from_secs(1),
        duration: Duration::from_secs(1),
        target_rate: None,
        stopped_early: false,
        tls_failure: None,
        failures: vec!["worker thread 0 panicked: boom".into()],
        report: perfhub_core::Report::now(perfhub_core::ReportKind::Load),
    };
    let report = perfhub_load::report::build_report(
        &config,
        &outcome,
        "2026-01-01T00:00:00Z".parse().unwrap(),
    );
    let note = report
        .notes
        .iter()
        .find(|n| n.code == "load_worker_failed")
        .expect("a note on the failure");
    assert!(
        note.message
            .starts_with("worker thread 0 panicked: boom; the counts miss what it would have counted, so this run is not a result"),
        "{}",
        note.message
    );
}

#[test]
fn durations_beyond_the_caps_are_refused_before_the_run() {
    let base = config(
        "127.0.0.1:9".parse().unwrap(),
        Model::Closed {
            think_time: Duration::ZERO,
        },
        Duration::from_secs(1),
    );
    let stage = |secs: u64| perfhub_load::engine::Stage {
        duration: Duration::from_secs(secs),
        target: 10.0,
    };
    let cases: [(LoadConfig, &str); 5] = [
        (
            LoadConfig {
                duration: Duration::MAX,
                ..base.clone()
            },
            "`duration` 18446744073709551615.999999999s is longer than 30 days, the longest test: give 720h or less",
        ),
        (
            LoadConfig {
                timeout: Duration::from_secs(u64::from(u32::MAX)),
                ..base.clone()
            },
            "`timeout` 4294967295s is longer than 1 hour, the longest a request may take: give 1h or less",
        ),
        (
            LoadConfig {
                model: Model::Closed {
                    think_time: Duration::from_secs(3601),
                },
                ..base.clone()
            },
            "`think_time` 3601s is longer than 1 hour, the longest pause allowed: give 1h or less",
        ),
        (
            LoadConfig {
                model: Model::Open {
                    start: 1.0,
                    stages: vec![stage(u64::MAX), stage(u64::MAX)],
                },
                ..base.clone()
            },
            "the `stages` durations add up to more than 30 days",
        ),
        (
            LoadConfig {
                model: Model::Open {
                    start: 1.0,
                    stages: vec![stage(20 * 86_400), stage(20 * 86_400)],
                },
                ..base.clone()
            },
            "the `stages` durations add up to more than 30 days, the longest test: give shorter stages, 720h in all at most",
        ),
    ];
    for (config, message) in cases {
        let e = run(&config, &mut NoProgress).unwrap_err();
        assert!(e.to_string().starts_with(message), "{e}");
        // The message names each setting it lists, in backticks.
        let perfhub_load::engine::LoadError::Config(c) = &e else {
            panic!("{e}");
        };
        assert!(!c.settings.is_empty(), "{e}");
        for s in &c.settings {
            assert!(message.contains(&format!("`{s}`")), "{e}");
        }
    }
}
