//! `perfhub load` and `perfhub serve` end to end: budgets and exit codes,
//! faults that still leave a report, segments merged, bad input.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

use perfhub_core::report::Report;

use crate::support::{perfhub, perfhub_bin, spawn_announcing_url, spawn_perfhub, stderr};

/// One load test at a time on a two-core machine.
pub(crate) static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A `perfhub serve` process on a free loopback port, stopped on drop.
pub(crate) struct Serve {
    child: Child,
    pub(crate) url: String,
}

impl Serve {
    pub(crate) fn start(args: &[&str]) -> Serve {
        Serve::spawn(
            Command::new(perfhub_bin())
                .args(["serve", "--port", "0"])
                .args(args),
        )
    }

    /// A server started by `cmd`, which must exec `perfhub serve` (possibly
    /// through `ip netns exec`) so that its pid is the server's.
    pub(crate) fn spawn(cmd: &mut Command) -> Serve {
        let (child, url) = spawn_announcing_url(cmd);
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SIGTERM: the server stops cleanly.
        // SAFETY: kill on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

pub(crate) fn report(path: &Path) -> Report {
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn value(r: &Report, bench: &str, metric: &str) -> f64 {
    r.benchmarks
        .iter()
        .find(|b| b.name == bench)
        .and_then(|b| b.measurement(metric))
        .and_then(|m| m.value)
        .unwrap_or(0.0)
}

fn percentile(r: &Report, q: &str) -> f64 {
    let total = r.benchmarks.iter().find(|b| b.name == "total").unwrap();
    total
        .measurement("latency")
        .unwrap()
        .summary
        .as_ref()
        .unwrap()
        .percentiles[q]
}

/// The open model's schedule, to the request: `n` arrivals, each sent or
/// counted as dropped (a request its connection could not send in time, as
/// a busy machine may leave one), and every one sent answered or failed.
fn assert_scheduled(r: &Report, n: f64) {
    let (sent, dropped) = (value(r, "total", "sent"), value(r, "total", "dropped"));
    assert_eq!(sent + dropped, n, "sent {sent}, dropped {dropped}");
    assert_eq!(value(r, "total", "requests"), sent);
}

fn load(args: &[&str]) -> Output {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    all.push("--no-progress");
    perfhub(&all)
}

#[test]
fn budgets_decide_the_exit_code_and_the_report_is_written() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--latency", "2ms"]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let hlog = dir.path().join("r.hlog");
    let o = load(&[
        &serve.url,
        "--rate",
        "200",
        "-d",
        "1s",
        "--budget",
        "p95 < 1s",
        "--threshold",
        "p(99)<1000",
        "--budget",
        "error_rate < 0.1%",
        "--export-json",
        json.to_str().unwrap(),
        "--hdr-log",
        hlog.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&json);
    assert_eq!(r.budgets.len(), 3);
    // p95 and p99 under 1 s against a server that takes 2 ms: a busy
    // machine adds milliseconds, not the best part of a second.
    assert!(r.budgets.iter().all(|v| v.passed), "{:?}", r.budgets);
    assert_scheduled(&r, 200.0);
    // The server's 2 ms are a floor on any machine.
    assert!(percentile(&r, "p50") >= 0.002);
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.starts_with("#[Logged with perfhub"), "{log}");
    assert!(log.contains("Tag=total,"), "{log}");

    let o = load(&[
        &serve.url,
        "--rate",
        "100",
        "-d",
        "1s",
        "--budget",
        "p95 < 1us",
        "--export-json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = report(&json);
    assert!(r.budgets.iter().any(|v| !v.passed));
}

#[test]
fn every_fault_is_counted_and_still_reported() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let json = json.to_str().unwrap();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = format!("http://127.0.0.1:{closed_port}/");
    let reset = Serve::start(&["--fault", "reset"]);
    let hang = Serve::start(&["--fault", "hang"]);
    let failing = Serve::start(&["--error-rate", "1"]);
    for (url, kind, extra) in [
        (refused.as_str(), "errors.connect_refused", None),
        (reset.url.as_str(), "errors.connection_reset", None),
        (hang.url.as_str(), "errors.timeout", Some("200ms")),
        (failing.url.as_str(), "status.500", None),
    ] {
        let mut args = vec![
            url,
            "--rate",
            "50",
            "-d",
            "500ms",
            "--budget",
            "error_rate < 0.1%",
            "--export-json",
            json,
        ];
        if let Some(t) = extra {
            args.extend(["--timeout", t]);
        }
        let o = load(&args);
        // The budget on errors is breached: exit code 3, report written.
        assert_eq!(o.status.code(), Some(3), "{kind}: {}", stderr(&o));
        let r = report(Path::new(json));
        let seen = value(&r, "total", kind);
        let closed = value(&r, "total", "errors.connection_closed");
        assert!(
            seen + closed > 0.0,
            "{kind}: {:?}",
            r.benchmarks[0].measurements
        );
        assert_eq!(value(&r, "total", "error_rate"), 1.0, "{kind}");
    }
}

#[test]
fn segments_merge_into_the_single_test() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--latency", "5ms"]);
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<String> = (1..=4)
        .map(|i| {
            dir.path()
                .join(format!("part{i}.json"))
                .display()
                .to_string()
        })
        .collect();
    // Four worker processes started a second apart, as pods come up, each
    // a quarter of 400/s for 2 s, all anchored to one instant 6 s ahead.
    let start = std::time::SystemTime::now() + std::time::Duration::from_secs(6);
    let start_at = perfhub_load::engine::format_start_at(start);
    let workers: Vec<Child> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if i > 0 {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Command::new(perfhub_bin())
                .args([
                    "load",
                    &serve.url,
                    "--rate",
                    "400",
                    "-d",
                    "2s",
                    "-c",
                    "8",
                    "-t",
                    "1",
                    "--no-progress",
                    "--segment",
                    &format!("{}/4", i + 1),
                    "--start-at",
                    &start_at,
                    "--export-json",
                    part,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        // Each waited for the anchor and ran its 2 s from there, whenever it
        // was started: none can be done before the schedule's end (without
        // the anchor, the first would end 3 s before the last).
        assert!(
            std::time::SystemTime::now() >= start + std::time::Duration::from_secs(2),
            "a segment ended before its schedule did"
        );
    }
    let merged = dir.path().join("merged.json");
    let mut args = vec!["load", "merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend([
        "--budget",
        "p99 < 10s",
        "--export-json",
        merged.to_str().unwrap(),
    ]);
    let o = perfhub(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = report(&merged);
    // Exactly the single test's schedule: 400/s for 2 s.
    assert_scheduled(&m, 800.0);
    let total = m.benchmarks.iter().find(|b| b.name == "total").unwrap();
    assert_eq!(total.parameters["start_at"], start_at);
    assert_eq!(total.parameters["segments"], "4");
    assert_eq!(total.parameters["schedule"], "400 requests/s for 2s");

    // Parts of one test only, and all of them.
    let o = perfhub(&["load", "merge", &parts[0], &parts[1], &parts[3]]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("incomplete: segment 3 of 4 missing"),
        "{}",
        stderr(&o)
    );
    let o = perfhub(&["load", "merge", &parts[0], &parts[1], &parts[1], &parts[2]]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("segment 2/4 is given twice"),
        "{}",
        stderr(&o)
    );
    let parts: Vec<Report> = parts.iter().map(|p| report(Path::new(p))).collect();
    let parts_sum: f64 = parts.iter().map(|p| value(p, "total", "status.200")).sum();
    assert_eq!(value(&m, "total", "status.200"), parts_sum);
    // The median of the merged histograms lies between the parts' medians,
    // as the median of a union does (exact merging; timing plays no part).
    let p50s: Vec<f64> = parts.iter().map(|p| percentile(p, "p50")).collect();
    let merged_p50 = percentile(&m, "p50");
    let (lo, hi) = p50s.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    assert!(
        (lo..=hi).contains(&merged_p50),
        "merged p50 {merged_p50}, parts' {p50s:?}"
    );

    let single = dir.path().join("single.json");
    let o = load(&[
        &serve.url,
        "--rate",
        "400",
        "-d",
        "2s",
        "-c",
        "32",
        "--export-json",
        single.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = report(&single);
    let part1 = dir.path().join("part1.json");
    let o = perfhub(&[
        "load",
        "merge",
        part1.to_str().unwrap(),
        single.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("it is a whole test, the first is a segment of 4"),
        "{}",
        stderr(&o)
    );
    // The same schedule in one process. How close the two medians come
    // depends on how four processes share two cores, so only the server's
    // 5 ms floor is checked of them; the merge itself is exact (above).
    assert_scheduled(&s, 800.0);
    for (what, p50) in [("merged", merged_p50), ("single", percentile(&s, "p50"))] {
        assert!(p50 >= 0.005, "{what} p50 {p50}");
    }
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let o = load(&["ftp://127.0.0.1/"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("only http and https"), "{}", stderr(&o));

    let o = load(&["http://127.0.0.1:9/", "--threshold", "p(95)<<200"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad budget"), "{}", stderr(&o));

    let o = load(&["http://127.0.0.1:9/", "--stage", "30s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("DURATION:RATE"), "{}", stderr(&o));

    // Any address may be bound, but not one this machine does not have
    // (198.51.100.0/24 is reserved for documentation).
    let o = perfhub(&["serve", "--bind", "198.51.100.7", "--port", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot listen on 198.51.100.7"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scenario_files_run_and_their_errors_name_file_line_and_key() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            r#"budgets = ["error_rate < 0.1%"]

[variables]
host = "{}"

[load]
rate = 200
duration = "1s"
connections = 8

[[request]]
name = "home"
url = "${{host}}"
weight = 3
budgets = ["p95 < 1s"]

[[request]]
name = "missing"
url = "${{host}}status/404"
checks = {{ status = [404] }}
"#,
            serve.url
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let o = load(&[
        "--scenario",
        good.to_str().unwrap(),
        "--export-json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&json);
    assert_scheduled(&r, 200.0);
    // Three to one; a request a busy machine dropped is missing from one of
    // the two.
    let dropped = value(&r, "total", "dropped");
    let home = value(&r, "home", "requests");
    let missing = value(&r, "missing", "status.404");
    assert!((150.0 - dropped..=150.0).contains(&home), "{home}");
    assert!((50.0 - dropped..=50.0).contains(&missing), "{missing}");
    assert_eq!(value(&r, "missing", "check_failures"), 0.0);
    assert!(r.budgets.iter().any(|v| v.benchmark == "home" && v.passed));

    for (text, line, key) in [
        (
            "[[request]]\nurl = \"http://127.0.0.1/\"\nwieght = 2\n",
            3,
            "wieght",
        ),
        ("[[request]]\nurl = \"htp:/x\"\n", 2, "url"),
        (
            "budgets = [\"p95 < 200 parsecs\"]\n[[request]]\nurl = \"http://127.0.0.1/\"\n",
            1,
            "budgets",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let o = load(&["--scenario", bad.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{text}");
        let err = stderr(&o);
        assert!(err.contains(&format!("bad.toml:{line}:")), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn goose_reports_import_with_budgets() {
    let fixture = crate::support::root().join("fixtures/goose/report.json");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.json");
    let o = perfhub(&[
        "import",
        "goose",
        fixture.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--budget",
        "error_rate < 0.1%",
    ]);
    // POST login failed 11% of its requests: the budget is breached.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = report(&out);
    assert_eq!(value(&r, "total", "requests"), 2840.0);
    assert!(r.budgets.iter().any(|v| !v.passed));
}

#[test]
fn k6_summaries_import_in_both_shapes_with_budgets() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["handle-summary.json", "summary-export.json"] {
        let fixture = crate::support::root().join("fixtures/k6").join(name);
        let out = dir.path().join(name);
        let o = perfhub(&[
            "import",
            "k6",
            fixture.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--budget",
            "p95 < 200ms",
        ]);
        // k6's p95 was 215.95 ms: the budget is breached.
        assert_eq!(o.status.code(), Some(3), "{name}: {}", stderr(&o));
        let r = report(&out);
        assert_eq!(value(&r, "total", "requests"), 1000.0);
        assert_eq!(value(&r, "total", "errors"), 12.0);
        assert!((percentile(&r, "p95") - 0.21595).abs() < 1e-9);
        // What k6 does not give cannot be budgeted.
        let o = perfhub(&[
            "import",
            "k6",
            fixture.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--budget",
            "stddev < 1s",
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"metrics": {"http_reqs": {"count": -3, "rate": 1}}}"#,
    )
    .unwrap();
    let o = perfhub(&["import", "k6", bad.to_str().unwrap(), "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("metrics.http_reqs.count: -3 is negative"),
        "{}",
        stderr(&o)
    );
}

/// Runs a 60 s test against `serve` with `budget` and a 2 s
/// `--abort-on-breach` window; checks that it stopped early, well before
/// the 60 s, naming the budget; returns its report.
fn stopped_early_by(serve: &Serve, model: &[&str], budget: &str) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let started = std::time::Instant::now();
    let mut args = vec![serve.url.as_str()];
    args.extend_from_slice(model);
    args.extend_from_slice(&["-d", "60s", "--budget", budget, "--abort-on-breach", "2s"]);
    args.extend_from_slice(&["--export-json", json.to_str().unwrap()]);
    let o = load(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Without the window the test would run its 60 s; the breach shows in
    // the first 2 s window, which leaves 28 s for start-up and a busy
    // machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let r = report(&json);
    assert!(
        r.notes
            .iter()
            .any(|n| n.code == "budget_breached_early" && n.message.contains(budget)),
        "{:?}",
        r.notes
    );
    r
}

#[test]
fn a_budget_breached_over_a_window_stops_the_test() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--latency", "50ms"]);
    let r = stopped_early_by(&serve, &["--rate", "100"], "p95 < 10ms");
    // 60 s at 100/s would be 6,000; stopping within 10 s leaves under 1,000.
    assert!(value(&r, "total", "requests") < 1000.0);
}

/// Responses that fail a check count toward the window's error rate, as they
/// do toward the report's (here in the closed model, on the epoll loop).
#[test]
fn failed_checks_breach_an_error_rate_budget_over_a_window() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--error-rate", "50%", "--latency", "1ms"]);
    let r = stopped_early_by(&serve, &["-c", "4"], "error_rate < 1%");
    assert_eq!(value(&r, "total", "errors"), 0.0);
}

#[test]
fn https_with_the_servers_own_certificate() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let serve = Serve::start(&["--tls", "--cert-out", cert.to_str().unwrap()]);
    assert!(serve.url.starts_with("https://"), "{}", serve.url);
    let json = dir.path().join("r.json");
    let o = load(&[
        &serve.url,
        "--rate",
        "100",
        "-d",
        "1s",
        "--cacert",
        cert.to_str().unwrap(),
        "--budget",
        "error_rate < 0.1%",
        "--export-json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&json);
    assert_scheduled(&r, 100.0);
    assert_eq!(value(&r, "total", "status.200"), value(&r, "total", "sent"));

    let o = load(&[&serve.url, "-d", "1s", "--cacert", "/nonexistent/ca.pem"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/ca.pem"), "{}", stderr(&o));
}

/// An nginx on a free loopback port with HTTP/2, over plain TCP (h2c with
/// prior knowledge) and over TLS (ALPN), logging each request's protocol.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    h2c: u16,
    h2: u16,
    /// The ports of the extra servers, in order.
    extra: Vec<u16>,
}

impl Nginx {
    fn start() -> Nginx {
        Nginx::start_with(&[])
    }

    /// With an h2c server more for each of `servers`, the directives inside
    /// its `server` block (`{port}` and `{www}` filled in).
    fn start_with(servers: &[&str]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("www")).unwrap();
        std::fs::write(d.join("www/index.html"), "Hello, world\n").unwrap();
        let openssl = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            // A certificate that is its own trust anchor must not be a CA:
            // webpki refuses a CA certificate as a server's.
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(d.join("key.pem"))
            .arg("-out")
            .arg(d.join("cert.pem"))
            .output()
            .expect("openssl runs (Debian package openssl)");
        assert!(
            openssl.status.success(),
            "{}",
            String::from_utf8_lossy(&openssl.stderr)
        );
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (h2c, h2) = (free(), free());
        let extra: Vec<u16> = servers.iter().map(|_| free()).collect();
        let extra_servers: String = servers
            .iter()
            .zip(&extra)
            .map(|(body, port)| {
                format!(
                    "server {{ listen 127.0.0.1:{port} http2; {} }}\n",
                    body.replace("{www}", &format!("{}/www", d.display()))
                )
            })
            .collect();
        let conf = format!(
            "worker_processes 1; daemon off; error_log {d}/error.log; pid {d}/nginx.pid;
             events {{ worker_connections 256; }}
             http {{
               log_format p '$server_protocol $status'; access_log {d}/access.log p;
               client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
               uwsgi_temp_path {d}; scgi_temp_path {d};
               server {{ listen 127.0.0.1:{h2c} http2; root {d}/www; }}
               server {{ listen 127.0.0.1:{h2} ssl http2; root {d}/www;
                        ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem; }}
               {extra_servers}
             }}",
            d = d.display()
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (Debian package nginx)");
        // Until both ports accept.
        for _ in 0..100 {
            if [h2c, h2]
                .iter()
                .chain(&extra)
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Nginx {
            child,
            dir,
            h2c,
            h2,
            extra,
        }
    }

    fn protocols(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http2_with_prior_knowledge_and_over_tls() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let cert = nginx.dir.path().join("cert.pem");
    let h2c = format!("http://127.0.0.1:{}/index.html", nginx.h2c);
    let h2 = format!("https://127.0.0.1:{}/index.html", nginx.h2);
    let mut answered = 0.0;
    for args in [
        vec![h2c.as_str(), "--http2"],
        vec![h2.as_str(), "--http2", "--cacert", cert.to_str().unwrap()],
    ] {
        let mut all = args.clone();
        all.extend(["--rate", "50", "-d", "1s", "--expect-body", "Hello"]);
        all.extend(["--export-json", json.to_str().unwrap()]);
        let o = load(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let r = report(&json);
        assert_scheduled(&r, 50.0);
        let ok = value(&r, "total", "status.200");
        assert_eq!(ok, value(&r, "total", "sent"), "{args:?}");
        assert_eq!(value(&r, "total", "check_failures"), 0.0, "{args:?}");
        answered += ok;
    }
    // Every request nginx answered came over HTTP/2.
    let log = nginx.protocols();
    assert_eq!(
        log.lines().filter(|l| *l == "HTTP/2.0 200").count() as f64,
        answered,
        "{log}"
    );
    assert_eq!(log.lines().count() as f64, answered, "{log}");
}

/// `--streams`: requests multiplexed on one HTTP/2 connection, within the
/// server's SETTINGS_MAX_CONCURRENT_STREAMS, and a GOAWAY's unprocessed
/// requests sent again on a new connection. nginx proxies `/slow` to a
/// server that answers after 200 ms.
#[test]
fn http2_streams_multiplex_within_the_server_s_limits() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let slow = Serve::start(&["--latency", "200ms"]);
    let proxy = format!("location /slow {{ proxy_pass {}; }}", slow.url);
    let nginx = Nginx::start_with(&[
        &proxy,
        &format!("http2_max_concurrent_streams 2; {proxy}"),
        // A GOAWAY after every 7 requests on a connection.
        "keepalive_requests 7; root {www};",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let run = |port: u16, path: &str, streams: &str| {
        let url = format!("http://127.0.0.1:{port}{path}");
        let o = load(&[
            &url,
            "--http2",
            "--streams",
            streams,
            "-c",
            "1",
            "-d",
            "2s",
            "--export-json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{url} {streams}: {}", stderr(&o));
        let r = report(&json);
        let requests = value(&r, "total", "requests");
        assert_eq!(value(&r, "total", "errors"), 0.0, "{url} {streams}");
        assert_eq!(
            value(&r, "total", "status.200"),
            requests,
            "{url} {streams}"
        );
        (requests, value(&r, "total", "retried"))
    };
    // One stream at a time on one connection: at most one response every
    // 200 ms, in 2 s and the one in flight at the end.
    let (one, _) = run(nginx.extra[0], "/slow", "1");
    assert!((1.0..=11.0).contains(&one), "{one}");
    // Ten: more than one stream can carry, so several were in flight.
    let (ten, _) = run(nginx.extra[0], "/slow", "10");
    assert!(ten > 11.0, "10 streams answered {ten}, one stream {one}");
    // A server allowing 2 streams: requests wait for a free one (or are
    // refused before its SETTINGS arrive and sent again), none fails.
    let (two, _) = run(nginx.extra[1], "/slow", "10");
    assert!(two > 0.0);
    // GOAWAY every 7 requests: what the server did not take is sent again.
    // Ten streams: a connection sends well beyond the 7 before the GOAWAY
    // comes, and every request left out is sent again without failing.
    let (many, retried) = run(nginx.extra[2], "/index.html", "10");
    assert!(many > 7.0, "{many}");
    assert!(retried > 0.0, "no request sent again after {many}");

    // --streams without --http2, and out of range.
    for (args, why) in [
        (vec!["--streams", "4"], "give --http2 too"),
        (vec!["--streams", "0", "--http2"], "at least 1"),
        (vec!["--streams", "1001", "--http2"], "more than 1000"),
    ] {
        let mut all = vec!["http://127.0.0.1:9/", "-d", "1s"];
        all.extend(args);
        let o = load(&all);
        assert_eq!(o.status.code(), Some(1), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{all:?}: {}", stderr(&o));
    }
}

/// Runs `perfhub ARGS` for at most `limit`: its output when it ended by
/// then, `None` (after killing it) when it was still running.
fn output_within(args: &[&str], limit: std::time::Duration) -> Option<Output> {
    let mut child = spawn_perfhub(args);
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Asserts that `perfhub ARGS` is refused at once: it ends within 30 s,
/// neither succeeding nor panicking, and says every one of `needles`.
fn assert_refused(args: &[&str], needles: &[&str]) {
    let o = output_within(args, std::time::Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{args:?} was still running after 30 s"));
    let err = stderr(&o);
    assert!(
        matches!(o.status.code(), Some(1 | 2)),
        "{args:?}: {:?}\n{err}",
        o.status
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: no {needle:?} in\n{err}");
    }
}

#[test]
fn durations_beyond_their_caps_are_refused_before_anything_is_sent() {
    // Nothing listens on the discard port; nothing is sent to it either.
    let url = "http://127.0.0.1:9/";
    let month = "is longer than 30 days, the most allowed here: give 720h or less";
    let hour = "is longer than 1 hour, the most allowed here: give 1h or less";
    for (args, needles) in [
        // Panicked: overflow when adding duration to instant.
        (
            vec!["-d", "9223372036854775807s"],
            vec!["--duration", month],
        ),
        // Ran until killed.
        (vec!["-d", "9999999999h"], vec!["--duration", month]),
        // A worker panicked, and the run passed with 0 requests.
        (
            vec!["-d", "300ms", "--timeout", "9223372036854775807s"],
            vec!["--timeout", "\"9223372036854775807s\" ", hour],
        ),
        (
            vec!["--think-time", "2h", "-d", "300ms"],
            vec!["--think-time", hour],
        ),
        (vec!["--stage", "5000000000000h:10"], vec!["--stage", month]),
        (
            vec!["--stage", "500h:10", "--stage", "500h:0"],
            vec!["the --stage durations add up to more than 30 days", "720h"],
        ),
        (
            vec![
                "-d",
                "300ms",
                "--abort-on-breach",
                "9999999h",
                "--budget",
                "p95 < 1s",
            ],
            vec!["--abort-on-breach", month],
        ),
    ] {
        let mut all = vec!["load", url, "--no-progress"];
        all.extend(args);
        assert_refused(&all, &needles);
    }
}

#[test]
fn a_scenario_file_s_durations_beyond_their_caps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let refused = |scenario: &str, needles: &[&str]| {
        std::fs::write(&path, scenario).unwrap();
        assert_refused(
            &[
                "load",
                "--scenario",
                path.to_str().unwrap(),
                "--no-progress",
            ],
            needles,
        );
    };
    for (load, needles) in [
        (
            "duration = \"9999999999h\"",
            ["load.duration", "is longer than 30 days", "720h"],
        ),
        (
            "duration = 9223372036854775807",
            ["load.duration", "is longer than 30 days", "720h"],
        ),
        (
            "duration = \"300ms\"\ntimeout = \"9223372036854775807s\"",
            ["load.timeout", "is longer than 1 hour", "1h or less"],
        ),
    ] {
        refused(
            &format!("[load]\n{load}\n[[request]]\nurl = \"http://127.0.0.1:9/\"\n"),
            &needles,
        );
    }
    // And budgets that could never pass.
    refused(
        "budgets = [\"mean < -5ms\"]\n[load]\nduration = \"300ms\"\n[[request]]\nurl = \"http://127.0.0.1:9/\"\n",
        &["budgets[0]", "\"-5ms\" is negative, and a time never is"],
    );
}

#[test]
fn budgets_that_could_never_pass_are_refused_before_the_test() {
    for (flag, budget, needle) in [
        (
            "--budget",
            "mean < -5ms",
            "\"-5ms\" is negative, and a time never is",
        ),
        (
            "--budget",
            "mean < 1e-400s",
            "\"1e-400s\" is too small to tell from 0",
        ),
        (
            "--threshold",
            "p(95)<1e-400",
            "\"1e-400\" is too small to tell from 0",
        ),
    ] {
        assert_refused(
            &[
                "load",
                "http://127.0.0.1:9/",
                "-d",
                "300ms",
                "--no-progress",
                flag,
                budget,
            ],
            &[budget, needle],
        );
    }
}

#[test]
fn serve_refuses_a_stall_period_beyond_its_cap() {
    assert_refused(
        &[
            "serve",
            "--port",
            "0",
            "--stall",
            "18446744073s/18446744073.5s",
        ],
        &["the period is longer than the limit of 1 hour"],
    );
}
