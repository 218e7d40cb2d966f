//! The adapter against a real MLflow tracking server (`scripts/ci-mlflow.sh`
//! starts one and prints `PERFHUB_TEST_MLFLOW`), and against small local TCP
//! servers for the faults a real server does not produce on demand.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use perfhub_adapter_mlflow::{
    Error, MlflowConfig, get_metric_history, get_or_create_experiment, log_report, plan,
};
use perfhub_core::report::Report;
use serde_json::{Value, json};

const TOKEN: &str = "tok-3f9a1c77e2-SECRET";

/// The tracking server's URL; the test fails without one.
fn server() -> String {
    match std::env::var("PERFHUB_TEST_MLFLOW") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "PERFHUB_TEST_MLFLOW is not set: run the suite with `cargo xtask ci`, which starts \
             a tracking server, or `eval \"$(scripts/ci-mlflow.sh)\"` first"
        ),
    }
}

fn fixture(name: &str) -> Report {
    let path = format!(
        "{}/tests/fixtures/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")
    );
    let bytes = std::fs::read(&path).unwrap();
    let text = if name.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    };
    Report::from_json(&text).unwrap()
}

fn unique(prefix: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{n}")
}

fn config(url: &str, experiment: &str) -> MlflowConfig {
    let mut cfg = MlflowConfig::new(url, experiment);
    cfg.token = Some(TOKEN.into());
    cfg.timeout = Duration::from_secs(20);
    cfg.retries = 2;
    cfg.backoff = Duration::from_millis(50);
    cfg
}

/// A direct REST call, independent of the adapter.
fn rest(url: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let full = format!("{url}/api/2.0/mlflow/{path}");
    let mut resp = match body {
        Some(b) if method == "POST" => ureq::post(&full)
            .header("Content-Type", "application/json")
            .send(b.to_string()),
        _ => ureq::get(&full).call(),
    }
    .unwrap();
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn history(url: &str, run_id: &str, key: &str) -> Vec<Value> {
    let q = format!(
        "metrics/get-history?run_id={run_id}&metric_key={}&max_results=25000",
        key.replace(' ', "%20").replace('/', "%2F")
    );
    rest(url, "GET", &q, None)["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        v => v.as_f64().unwrap(),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        v => v.as_i64().unwrap(),
    }
}

fn kv(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Checks that the run holds exactly the plan's values, each once.
fn assert_run_matches(url: &str, run_id: &str, report: &Report) {
    let p = plan::plan(report);
    let run = rest(url, "GET", &format!("runs/get?run_id={run_id}"), None);
    assert_eq!(run["run"]["info"]["status"], "FINISHED", "{run}");
    assert_eq!(int(&run["run"]["info"]["start_time"]), p.start_time);

    let params = kv(&run["run"]["data"]["params"]);
    let want: BTreeMap<_, _> = p
        .params
        .iter()
        .map(|x| (x.key.clone(), x.value.clone()))
        .collect();
    assert_eq!(params, want);
    let tags = kv(&run["run"]["data"]["tags"]);
    for t in &p.tags {
        assert_eq!(tags.get(&t.key), Some(&t.value), "tag {}", t.key);
    }
    for (k, v) in &tags {
        assert!(!v.contains(TOKEN) && !k.contains(TOKEN));
    }

    let mut expected: BTreeMap<&str, Vec<&plan::Metric>> = BTreeMap::new();
    for m in &p.metrics {
        expected.entry(&m.key).or_default().push(m);
    }
    let latest: Vec<Value> = run["run"]["data"]["metrics"].as_array().unwrap().clone();
    assert_eq!(latest.len(), expected.len());
    for (key, want) in &expected {
        let mut got = history(url, run_id, key);
        got.sort_by_key(|m| int(&m["step"]));
        assert_eq!(got.len(), want.len(), "history of {key}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(
                num(&g["value"]).to_bits(),
                w.value.to_bits(),
                "{key} step {}",
                w.step
            );
            assert_eq!(int(&g["step"]), w.step);
            assert_eq!(int(&g["timestamp"]), w.timestamp);
        }
    }
}

#[test]
fn pushes_a_large_report_and_reads_every_value_back() {
    let url = server();
    let report = fixture("run-1100-runs.json.gz");
    let p = plan::plan(&report);
    assert!(p.metrics.len() > 1000, "{} metric values", p.metrics.len());

    let mut cfg = config(&url, &unique("perfhub-it-large"));
    cfg.run_name = Some("true x1100".into());
    let info = log_report(&cfg, &report).unwrap();
    assert!(info.url.contains(&info.run_id));
    assert_run_matches(&url, &info.run_id, &report);

    // The distribution, straight from the report.
    let b = &report.benchmarks[0];
    let wall = b.primary().unwrap();
    let hist = get_metric_history(&cfg, &info.run_id, "true/wall_time").unwrap();
    assert_eq!(hist.len(), wall.samples.len());
    let mut hist = hist;
    hist.sort_by_key(|m| m.step);
    for (i, (m, s)) in hist.iter().zip(&wall.samples).enumerate() {
        assert_eq!((m.step, m.value.to_bits()), (i as i64, s.to_bits()));
    }
    let mean = get_metric_history(&cfg, &info.run_id, "true/wall_time.mean").unwrap();
    assert_eq!(mean.len(), 1);
    assert_eq!(mean[0].value, wall.summary.as_ref().unwrap().mean);
    let run = rest(
        &url,
        "GET",
        &format!("runs/get?run_id={}", info.run_id),
        None,
    );
    let tags = kv(&run["run"]["data"]["tags"]);
    assert_eq!(tags["mlflow.runName"], "true x1100");
    let env = report.environment.as_ref().unwrap();
    if let Some(c) = &env.git_commit {
        assert_eq!(&tags["mlflow.source.git.commit"], c);
    }
    assert_eq!(tags["perfhub.machine"], env.fingerprint);
    assert_eq!(tags["perfhub.report.kind"], "run");
}

#[test]
fn failed_budgets_and_load_reports_are_logged_as_finished_runs() {
    let url = server();
    let cfg = config(&url, &unique("perfhub-it-kinds"));
    let report = fixture("run-budget-failed.json");
    assert!(!report.budgets_pass());
    let info = log_report(&cfg, &report).unwrap();
    assert_run_matches(&url, &info.run_id, &report);
    let run = rest(
        &url,
        "GET",
        &format!("runs/get?run_id={}", info.run_id),
        None,
    );
    let tags = kv(&run["run"]["data"]["tags"]);
    assert_eq!(tags["perfhub.budgets"], "failed");
    assert_eq!(
        tags["perfhub.budgets.failed"],
        report
            .budgets
            .iter()
            .filter(|v| !v.passed)
            .count()
            .to_string()
    );

    let load = fixture("load.json");
    let info2 = log_report(&cfg, &load).unwrap();
    assert_eq!(info2.experiment_id, info.experiment_id);
    assert_run_matches(&url, &info2.run_id, &load);
    let score = get_metric_history(&cfg, &info2.run_id, "performance_score").unwrap();
    assert_eq!(score.len(), 1);
}

#[test]
fn experiments_are_created_once_and_found_after() {
    let url = server();
    let cfg = config(&url, &unique("perfhub-it-exp"));
    let a = get_or_create_experiment(&cfg).unwrap();
    let b = get_or_create_experiment(&cfg).unwrap();
    assert_eq!(a, b);
}

#[test]
fn invalid_requests_fail_with_mlflow_error_code_without_retries() {
    let url = server();
    let upstream = authority(&url);
    // Forwarded to the real server and counted: a retry would send a
    // request twice. (Counted rather than timed against a long backoff, so
    // a slow answer from the server is no failure.)
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let seen2 = seen.clone();
    let proxy = serve(move |req: &Request| {
        *seen2.lock().unwrap().entry(req.path_only()).or_default() += 1;
        Reply::Raw(forward(&upstream, req))
    });
    // MLflow limits experiment names to 500 characters.
    let cfg = config(&proxy, &"x".repeat(600));
    let err = log_report(&cfg, &fixture("load.json")).unwrap_err();
    match &err {
        Error::Rejected {
            status, error_code, ..
        } => {
            assert_eq!(
                (*status, error_code.as_str()),
                (400, "INVALID_PARAMETER_VALUE")
            );
        }
        other => panic!("{other:?}"),
    }
    let s = seen.lock().unwrap();
    assert!(!s.is_empty());
    assert!(s.values().all(|&n| n == 1), "retried: {s:?}");
    assert!(err.to_string().contains("INVALID_PARAMETER_VALUE"), "{err}");
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[test]
fn retries_after_lost_answers_leave_no_duplicates() {
    let url = server();
    let upstream = authority(&url);
    // Forward to the real server, but: the first get-by-name gets a 503
    // before reaching it; the first runs/create and the first log-batch
    // reach it and then lose their answers (a hang past the timeout, a 500).
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let seen2 = seen.clone();
    let proxy = serve(move |req: &Request| {
        let n = {
            let mut s = seen2.lock().unwrap();
            let c = s.entry(req.path_only()).or_default();
            *c += 1;
            *c
        };
        let path = req.path_only();
        if path.ends_with("experiments/get-by-name") && n == 1 {
            return Reply::Status(503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\"}".into());
        }
        let answer = forward(&upstream, req);
        if path.ends_with("runs/create") && n == 1 {
            return Reply::Hang(Duration::from_secs(10));
        }
        if path.ends_with("runs/log-batch") && n == 1 {
            return Reply::Status(500, "{\"error_code\":\"INTERNAL_ERROR\"}".into());
        }
        Reply::Raw(answer)
    });
    let mut cfg = config(&proxy, &unique("perfhub-it-faults"));
    // Long enough for a busy machine's MLflow to answer the other calls
    // (in a few hundred milliseconds when quiet), short of the hang.
    cfg.timeout = Duration::from_secs(5);
    let report = fixture("run-1100-runs.json.gz");
    let info = log_report(&cfg, &report).unwrap();
    assert_run_matches(&url, &info.run_id, &report);
    let runs = rest(
        &url,
        "POST",
        "runs/search",
        Some(json!({"experiment_ids": [info.experiment_id], "max_results": 10})),
    );
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    let s = seen.lock().unwrap();
    assert_eq!(s["/api/2.0/mlflow/runs/create"], 1, "{s:?}");
    assert!(s["/api/2.0/mlflow/runs/search"] >= 1, "{s:?}");
    assert!(s["/api/2.0/mlflow/metrics/get-history"] >= 1, "{s:?}");
}

#[test]
fn an_unreachable_server_is_a_clear_error_and_the_report_is_untouched() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = format!(
        "{}/tests/fixtures/load.json",
        std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")
    );
    let before = std::fs::read(&path).unwrap();
    let report = Report::from_json(std::str::from_utf8(&before).unwrap()).unwrap();
    let copy = report.clone();
    let mut cfg = config(&format!("http://127.0.0.1:{port}"), "e");
    cfg.retries = 2;
    cfg.backoff = Duration::from_millis(100);
    let start = Instant::now();
    let err = log_report(&cfg, &report).unwrap_err();
    // Backoff: 100 ms, then 200 ms, each jittered down to half at most.
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    match &err {
        Error::Unreachable { attempts, url, .. } => {
            assert_eq!(*attempts, 3);
            assert_eq!(url, &format!("http://127.0.0.1:{port}"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("cannot reach"), "{err}");
    assert_eq!(report, copy);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn server_errors_are_retried_with_backoff_then_reported() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let url = serve(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::Status(502, "<html>bad gateway</html>".into())
    });
    let mut cfg = config(&url, "e");
    cfg.retries = 3;
    cfg.backoff = Duration::from_millis(20);
    let err = log_report(&cfg, &fixture("load.json")).unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 4);
    match &err {
        Error::Server {
            status,
            attempts,
            message,
            ..
        } => {
            assert_eq!((*status, *attempts), (502, 4));
            assert!(message.contains("bad gateway"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeouts_are_retried_then_reported() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let url = serve(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        Reply::Hang(Duration::from_secs(2))
    });
    let mut cfg = config(&url, "e");
    cfg.timeout = Duration::from_millis(300);
    cfg.retries = 1;
    cfg.backoff = Duration::from_millis(10);
    let err = log_report(&cfg, &fixture("load.json")).unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer"), "{err}");
}

#[test]
fn the_token_is_sent_but_never_shown() {
    let seen_auth = Arc::new(Mutex::new(Vec::new()));
    let s = seen_auth.clone();
    // A server that echoes the whole request in its 403 (and 500) bodies.
    let url = serve(move |req: &Request| {
        s.lock()
            .unwrap()
            .push(req.header("authorization").unwrap_or_default());
        let echo = String::from_utf8_lossy(&req.raw).replace('"', "'");
        Reply::Status(
            403,
            format!(
                "{{\"error_code\":\"PERMISSION_DENIED\",\"message\":\"{}\"}}",
                echo.replace("\r\n", " ")
            ),
        )
    });
    let cfg = config(&url, "e");
    let err = log_report(&cfg, &fixture("load.json")).unwrap_err();
    assert_eq!(seen_auth.lock().unwrap()[0], format!("Bearer {TOKEN}"));
    let shown = format!("{err} | {err:?} | {cfg:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert_eq!(err.error_code(), Some("PERMISSION_DENIED"));
}

// ---- a tiny HTTP/1.1 server -------------------------------------------------

struct Request {
    raw: Vec<u8>,
    head: String,
}

impl Request {
    fn path_only(&self) -> String {
        let target = self.head.split(' ').nth(1).unwrap_or("");
        target.split('?').next().unwrap_or("").to_string()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

enum Reply {
    Status(u16, String),
    Hang(Duration),
    Raw(Vec<u8>),
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
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
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let mut req = Request {
        raw: Vec::new(),
        head,
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    req.raw = raw;
    Some(req)
}

/// Serves `handler` on a loopback port, one thread per connection.
fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let h = handler.clone();
            thread::spawn(move || {
                while let Some(req) = read_request(&mut s) {
                    match h(&req) {
                        Reply::Status(code, body) => {
                            let r = format!(
                                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
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
                        Reply::Raw(bytes) => {
                            let _ = s.write_all(&bytes);
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

/// Sends `req` to `upstream` on a new connection and returns its raw answer.
/// `host:port` of an `http://host:port/` URL, for [`forward`].
fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn forward(upstream: &str, req: &Request) -> Vec<u8> {
    let mut up = TcpStream::connect(upstream).unwrap();
    let head_end = req.raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut head = String::new();
    for line in req.head.trim_end().lines() {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("host:") {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&req.raw[head_end..]).unwrap();
    let mut out = Vec::new();
    up.read_to_end(&mut out).unwrap();
    out
}
