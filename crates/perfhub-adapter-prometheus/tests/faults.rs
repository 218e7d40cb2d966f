//! Network faults: a server that is down, answers 4xx or 5xx, or never
//! answers. Each gives a clear error naming the URL; retries happen where a
//! retry is safe, with backoff; the report on disk is never touched.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use perfhub_adapter_prometheus::{Error, PushConfig, PushMethod, TransportKind, push};
use perfhub_core::report::Report;

/// What the fake server does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Reads the request and answers this status with a body.
    Answer(u16, &'static str),
    /// Reads the request and never answers.
    Hang,
}

/// A server on loopback that counts the requests it gets.
struct FakeServer {
    url: String,
    requests: Arc<AtomicU32>,
}

fn fake_server(behaviour: Behaviour) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                if read_request(&mut stream).is_none() {
                    return;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match behaviour {
                    Behaviour::Answer(status, body) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Behaviour::Hang => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    FakeServer { url, requests }
}

/// Reads a request with a Content-Length body; `None` if the client left.
fn read_request(stream: &mut TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(())
}

fn config(url: &str, method: PushMethod, retries: u32) -> PushConfig {
    let mut c = PushConfig::new(url, "perfhub_faults");
    c.method = method;
    c.retries = retries;
    c.timeout = Duration::from_millis(400);
    c.backoff = Duration::from_millis(40);
    c
}

/// The report, read from a copy on disk that each test checks afterwards.
struct OnDisk {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bytes: Vec<u8>,
    report: Report,
}

fn report_on_disk() -> OnDisk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.json");
    std::fs::copy(common::fixtures_dir().join("load.json"), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let report = Report::from_json(std::str::from_utf8(&bytes).unwrap()).unwrap();
    OnDisk {
        _dir: dir,
        path,
        bytes,
        report,
    }
}

impl OnDisk {
    fn assert_unchanged(&self) {
        assert_eq!(
            std::fs::read(&self.path).unwrap(),
            self.bytes,
            "the report on disk changed"
        );
    }
}

#[test]
fn a_server_that_is_down_is_retried_with_backoff_then_named() {
    // A port that was free a moment ago: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let disk = report_on_disk();
    for method in [PushMethod::Put, PushMethod::Post] {
        let started = Instant::now();
        let e = push(&config(&url, method, 3), &disk.report).unwrap_err();
        let took = started.elapsed();
        match &e {
            Error::Transport { kind, attempts, .. } => {
                assert_eq!(*kind, TransportKind::Connect, "{e}");
                // Nothing reached the server, so even a POST is retried.
                assert_eq!(*attempts, 4, "{e}");
            }
            other => panic!("expected a transport error, got {other}"),
        }
        // Waits of 40, 80 and 160 ms between the attempts, jittered down
        // to half at most.
        assert!(took >= Duration::from_millis(140), "{took:?}");
        let text = e.to_string();
        assert!(text.contains(&url) && text.contains("4 attempt"), "{text}");
        assert!(text.contains("cannot connect"), "{text}");
    }
    disk.assert_unchanged();
}

#[test]
fn a_4xx_is_reported_with_its_body_and_not_retried() {
    let server = fake_server(Behaviour::Answer(
        400,
        "pushed metrics are invalid: bad grouping",
    ));
    let disk = report_on_disk();
    let e = push(&config(&server.url, PushMethod::Put, 3), &disk.report).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("bad grouping") && text.contains(&server.url) && text.contains("400"),
        "{text}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    disk.assert_unchanged();
}

#[test]
fn a_5xx_is_retried_for_put_but_not_for_post() {
    let server = fake_server(Behaviour::Answer(503, "storage is full"));
    let disk = report_on_disk();
    let e = push(&config(&server.url, PushMethod::Put, 2), &disk.report).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("storage is full"), "{e}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);

    // A POST that reached the server may have been applied: not repeated.
    let e = push(&config(&server.url, PushMethod::Post, 2), &disk.report).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    disk.assert_unchanged();
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = fake_server(Behaviour::Hang);
    let disk = report_on_disk();
    let started = Instant::now();
    let e = push(&config(&server.url, PushMethod::Put, 2), &disk.report).unwrap_err();
    let took = started.elapsed();
    match &e {
        Error::Transport { kind, attempts, .. } => {
            assert_eq!(*kind, TransportKind::Timeout, "{e}");
            assert_eq!(*attempts, 3, "{e}");
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(e.to_string().contains("timed out"), "{e}");
    // Three attempts of 400 ms and two waits, well short of the hang.
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);

    let e = push(&config(&server.url, PushMethod::Post, 2), &disk.report).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Transport {
                kind: TransportKind::Timeout,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    disk.assert_unchanged();
}
