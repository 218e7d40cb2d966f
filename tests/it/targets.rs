//! `perfhub load` against targets beyond 127.0.0.1: a host in a network
//! namespace that the test creates (on a veth pair, with addresses from
//! 198.18.0.0/15, the range reserved for benchmarking), a name pinned with
//! `--resolve` and spread over two addresses, IPv6 loopback, and headers
//! refused before anything is sent. Traffic goes to nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::load::{ONE_AT_A_TIME, Serve, report, value};
use crate::support::{perfhub, perfhub_bin, stderr};

/// A network namespace holding one end of a veth pair: `inside` is its
/// address there, the other end has the /30's other address out here.
/// Removed on drop, with the pair.
struct TestHost {
    ns: String,
    veth: String,
    inside: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip (Debian's iproute2): {e}"));
    assert!(
        out.status.success(),
        "ip {}: {} (the test host needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestHost {
    fn create() -> TestHost {
        let id = std::process::id();
        // Interface names have at most 15 characters.
        let host = TestHost {
            ns: format!("perfhub-t{id}"),
            veth: format!("phv{}", id % 1_000_000),
            inside: format!("198.18.{}.2", id % 256),
        };
        let peer = format!("{}n", host.veth);
        let outside = format!("198.18.{}.1/30", id % 256);
        let inside = format!("{}/30", host.inside);
        ip(&["netns", "add", &host.ns]);
        ip(&[
            "link", "add", &host.veth, "type", "veth", "peer", "name", &peer,
        ]);
        ip(&["link", "set", &peer, "netns", &host.ns]);
        ip(&["addr", "add", &outside, "dev", &host.veth]);
        ip(&["link", "set", &host.veth, "up"]);
        let exec = ["netns", "exec", host.ns.as_str(), "ip"];
        ip(&[&exec[..], &["addr", "add", &inside, "dev", &peer]].concat());
        ip(&[&exec[..], &["link", "set", &peer, "up"]].concat());
        ip(&[&exec[..], &["link", "set", "lo", "up"]].concat());
        host
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

/// `GET /stats` of a `perfhub serve`: the requests it has answered.
fn served(url: &str) -> u64 {
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /stats HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let stats: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"));
    stats["requests"].as_u64().unwrap()
}

fn load_ok(args: &[&str]) -> perfhub_core::report::Report {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut all = vec!["load", "-d", "1s", "-c", "4"];
    all.extend_from_slice(args);
    all.extend(["--export-json", json.to_str().unwrap()]);
    let o = perfhub(&all);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&json);
    let requests = value(&r, "total", "requests");
    assert!(requests > 0.0, "{}", stderr(&o));
    assert_eq!(value(&r, "total", "status.200"), requests, "{}", stderr(&o));
    r
}

#[test]
fn loads_a_host_in_a_network_namespace() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let host = TestHost::create();
    let serve = Serve::spawn(
        Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(perfhub_bin())
            .args(["serve", "--bind", &host.inside, "--port", "0"]),
    );
    assert!(serve.url.contains(&host.inside), "{}", serve.url);
    load_ok(&[&serve.url]);
    drop(serve);
    drop(host);
}

#[test]
fn resolve_pins_a_name_and_connections_spread_over_its_addresses() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let a = Serve::start(&["--bind", "127.0.0.1"]);
    let port = a
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let b = Serve::spawn(Command::new(perfhub_bin()).args([
        "serve",
        "--bind",
        "127.0.0.2",
        "--port",
        &port,
    ]));
    // A name no resolver knows ends in a clear error...
    let url = format!("http://perfhub-target.invalid:{port}/");
    let o = perfhub(&["load", &url, "-d", "300ms"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot resolve"), "{}", stderr(&o));
    // ...and pinned, it reaches both addresses.
    let pin = format!("perfhub-target.invalid:{port}:127.0.0.1,127.0.0.2");
    load_ok(&[&url, "--resolve", &pin]);
    assert!(served(&a.url) > 0, "127.0.0.1 got no request");
    assert!(served(&b.url) > 0, "127.0.0.2 got no request");

    let o = perfhub(&["load", &url, "--resolve", "perfhub-target.invalid:80"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("HOST:PORT:ADDR"), "{}", stderr(&o));
}

#[test]
fn loads_ipv6_loopback() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--bind", "::1"]);
    assert!(serve.url.contains("[::1]"), "{}", serve.url);
    load_ok(&[&serve.url]);
}

#[test]
fn bad_headers_are_refused_before_anything_is_sent() {
    for (header, why) in [
        ("Host: other.example", "set by perfhub"),
        ("content-length: 5", "set by perfhub"),
        ("Transfer-Encoding: chunked", "never sent chunked"),
        ("X-Bad\u{1}: 1", "bad header name"),
        ("X-Split: a\r\nX-Injected: b", "line break"),
        ("no colon", "Name: value"),
    ] {
        // Port 9 (discard) on loopback: nothing is listening, and nothing
        // is sent, since the header is refused first.
        let o = perfhub(&["load", "http://127.0.0.1:9/", "-d", "200ms", "-H", header]);
        assert_eq!(o.status.code(), Some(1), "{header:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{header:?}: {}", stderr(&o));
    }
    // Over HTTP/2, connection-specific headers are refused too.
    for header in ["Upgrade: h2c", "Keep-Alive: 5", "TE: gzip"] {
        let o = perfhub(&[
            "load",
            "http://127.0.0.1:9/",
            "-d",
            "200ms",
            "--http2",
            "-H",
            header,
        ]);
        assert_eq!(o.status.code(), Some(1), "{header:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("connection-specific header"),
            "{header:?}: {}",
            stderr(&o)
        );
    }
}

/// Requests due before the end but queued behind busy connections are sent
/// after it, within the grace period, and measured from their intended
/// time; with no grace they are dropped, counted, and their wait is still
/// in the percentiles. A server answering each request after 500 ms on 10
/// connections serves 20/s, so of 40 due in the first second about 20 are
/// still queued when the duration ends.
#[test]
fn due_requests_are_sent_within_the_grace_period() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let serve = Serve::start(&["--latency", "500ms"]);
    let run = |grace: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        let mut args = vec![
            "load",
            &serve.url,
            "--rate",
            "40",
            "-d",
            "1s",
            "-c",
            "10",
            "--timeout",
            "10s",
            "--export-json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(grace);
        let o = perfhub(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        report(&json)
    };
    let r = run(&[]);
    assert_eq!(value(&r, "total", "dropped"), 0.0);
    assert_eq!(value(&r, "total", "status.200"), 40.0);

    let r = run(&["--grace", "0s"]);
    let dropped = value(&r, "total", "dropped");
    assert!(dropped > 0.0, "nothing was dropped without a grace period");
    assert_eq!(value(&r, "total", "status.200") + dropped, 40.0);
    let total = r.benchmarks.iter().find(|b| b.name == "total").unwrap();
    assert!(
        total.notes.iter().any(|n| n.code == "dropped_requests"),
        "{:?}",
        total.notes
    );
    // The dropped requests' waits are in the latency histogram too.
    let latency = total.measurement("latency").unwrap();
    assert_eq!(
        latency.summary.as_ref().map(|s| s.n),
        Some(40),
        "{latency:?}"
    );
}
