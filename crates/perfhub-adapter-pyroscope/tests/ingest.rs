//! Exact `/ingest` requests, checked against a local recording server (no
//! Pyroscope server is installable here), and the fault paths.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

use perfhub_adapter_pyroscope::{Error, PyroscopeConfig, upload_folded, upload_pprof};

const TOKEN: &str = "pyro-7d1e0b-SECRET";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")
    ))
    .unwrap()
}

fn config(url: &str) -> PyroscopeConfig {
    let mut cfg = PyroscopeConfig::new(
        url,
        "perfhub-test.cpu",
        UNIX_EPOCH + Duration::from_secs(1_764_000_000),
        UNIX_EPOCH + Duration::from_secs(1_764_000_012),
    );
    cfg.labels = BTreeMap::from([
        ("env".to_string(), "ci".to_string()),
        ("host".to_string(), "box-1".to_string()),
    ]);
    cfg.sample_rate = 997;
    cfg.token = Some(TOKEN.into());
    cfg.timeout = Duration::from_secs(5);
    cfg.retries = 2;
    cfg.backoff = Duration::from_millis(20);
    cfg
}

/// The server's answer to one request.
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str),
    Hang(Duration),
}

/// A recording HTTP/1.1 server: every request's raw bytes, in order.
struct Recorder {
    url: String,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn record(replies: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Recorder {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let reqs = requests.clone();
    let replies = Arc::new(replies);
    let count = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let (reqs, replies, count) = (reqs.clone(), replies.clone(), count.clone());
            thread::spawn(move || {
                while let Some(raw) = read_request(&mut s) {
                    reqs.lock().unwrap().push(raw);
                    match replies(count.fetch_add(1, Ordering::SeqCst)) {
                        Reply::Status(code, body) => {
                            let r = format!(
                                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(r.as_bytes()).is_err() {
                                return;
                            }
                        }
                        Reply::Hang(d) => {
                            thread::sleep(d);
                            return;
                        }
                    }
                }
            });
        }
    });
    Recorder { url, requests }
}

fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    Some(raw)
}

fn expected_request(url: &str, query: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let host = url.trim_start_matches("http://");
    let mut r = format!(
        "POST /ingest?{query} HTTP/1.1\r\n\
         content-length: {}\r\n\
         user-agent: perfhub/{version}\r\n\
         accept: */*\r\n\
         host: {host}\r\n\
         content-type: {content_type}\r\n\
         authorization: Bearer {TOKEN}\r\n\r\n",
        body.len(),
        version = env!("CARGO_PKG_VERSION"),
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// The head of a request, for readable failures (bodies are compared whole).
fn show(b: &[u8]) -> String {
    let end = b
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).to_string()
}

const NAME: &str = "perfhub-test.cpu%7Benv%3Dci%2Chost%3Dbox-1%7D";

#[test]
fn folded_stacks_are_sent_exactly() {
    let rec = record(|_| Reply::Status(200, ""));
    let folded = fixture("stacks.folded");
    let text = std::str::from_utf8(&folded).unwrap();
    upload_folded(&config(&rec.url), text).unwrap();
    let reqs = rec.requests.lock().unwrap();
    assert_eq!(reqs.len(), 1);
    let query = format!(
        "name={NAME}&from=1764000000&until=1764000012&format=folded&sampleRate=997&spyName=perfhub&units=samples&aggregationType=sum"
    );
    let want = expected_request(&rec.url, &query, "text/plain; charset=utf-8", &folded);
    assert_eq!(show(&reqs[0]), show(&want));
    assert_eq!(reqs[0], want);
}

#[test]
fn pprof_is_sent_as_multipart_exactly() {
    let rec = record(|_| Reply::Status(200, ""));
    let pprof = fixture("profile.pb.gz");
    upload_pprof(&config(&rec.url), &pprof).unwrap();
    let reqs = rec.requests.lock().unwrap();
    assert_eq!(reqs.len(), 1);
    let raw = &reqs[0];
    // The boundary is derived from the data; read it from the request.
    let head = show(raw);
    let boundary = head
        .split("boundary=")
        .nth(1)
        .and_then(|s| s.split("\r\n").next())
        .unwrap()
        .to_string();
    assert!(boundary.starts_with("perfhub-"), "{boundary}");
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&pprof);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let query =
        format!("name={NAME}&from=1764000000&until=1764000012&sampleRate=997&spyName=perfhub");
    let want = expected_request(
        &rec.url,
        &query,
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
    );
    assert_eq!(show(raw), show(&want));
    assert_eq!(raw, &want);
    // The same profile gives the same request.
    drop(reqs);
    upload_pprof(&config(&rec.url), &pprof).unwrap();
    let reqs = rec.requests.lock().unwrap();
    assert_eq!(reqs[1], want);
}

#[test]
fn invalid_input_is_refused_before_sending() {
    let rec = record(|_| Reply::Status(200, ""));
    let mut cfg = config(&rec.url);
    cfg.labels.insert("bad-name".into(), "v".into());
    assert!(matches!(
        upload_folded(&cfg, "a;b 1\n"),
        Err(Error::Label { .. })
    ));
    let mut cfg = config(&rec.url);
    cfg.app_name = "my app".into();
    assert!(matches!(
        upload_folded(&cfg, "a;b 1\n"),
        Err(Error::AppName { .. })
    ));
    let cfg = config(&rec.url);
    assert!(matches!(
        upload_folded(&cfg, "not folded\n"),
        Err(Error::Profile(_))
    ));
    assert!(matches!(upload_pprof(&cfg, &[]), Err(Error::Profile(_))));
    let mut cfg = config(&rec.url);
    std::mem::swap(&mut cfg.from, &mut cfg.until);
    assert!(matches!(upload_folded(&cfg, "a 1"), Err(Error::Config(_))));
    assert!(rec.requests.lock().unwrap().is_empty());
}

#[test]
fn an_unreachable_server_is_retried_then_reported() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.backoff = Duration::from_millis(100);
    let start = Instant::now();
    let err = upload_folded(&cfg, "a;b 1\n").unwrap_err();
    // Waits of 100 and 200 ms, jittered down to half at most.
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert!(
        matches!(err, Error::Unreachable { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot reach"), "{err}");
}

#[test]
fn unavailable_is_retried_but_other_server_errors_are_not() {
    let rec = record(|n| {
        if n < 2 {
            Reply::Status(503, "busy")
        } else {
            Reply::Status(200, "")
        }
    });
    upload_folded(&config(&rec.url), "a;b 1\n").unwrap();
    assert_eq!(rec.requests.lock().unwrap().len(), 3);

    let rec = record(|_| Reply::Status(503, "still busy"));
    let err = upload_folded(&config(&rec.url), "a;b 1\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(rec.requests.lock().unwrap().len(), 3);

    let rec = record(|_| Reply::Status(500, "boom"));
    let err = upload_folded(&config(&rec.url), "a;b 1\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("may have been stored"), "{err}");
    assert_eq!(rec.requests.lock().unwrap().len(), 1);
}

#[test]
fn client_errors_are_final_and_never_show_the_token() {
    // The body echoes the Authorization header, as a careless proxy might.
    let rec = record(|_| Reply::Status(401, "bad credentials: Bearer pyro-7d1e0b-SECRET"));
    let cfg = config(&rec.url);
    let err = upload_folded(&cfg, "a;b 1\n").unwrap_err();
    assert_eq!(rec.requests.lock().unwrap().len(), 1);
    assert!(
        matches!(err, Error::Rejected { status: 401, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?} {cfg:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[test]
fn timeouts_are_reported_without_sending_again() {
    let rec = record(|_| Reply::Hang(Duration::from_secs(2)));
    let mut cfg = config(&rec.url);
    cfg.timeout = Duration::from_millis(300);
    let err = upload_folded(&cfg, "a;b 1\n").unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("not sent again"), "{err}");
    assert_eq!(rec.requests.lock().unwrap().len(), 1);
}
