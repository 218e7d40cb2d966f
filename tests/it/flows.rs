//! Scenarios that behave like users, end to end: a shop written here that
//! checks tokens and cookies, driven by sequence scenarios that log in with
//! a data file's credentials, extract the token, the order and the CSRF
//! value, and keep the session cookie.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::load::{ONE_AT_A_TIME, report, value};
use crate::support::{perfhub, stderr};

/// What the shop saw.
#[derive(Default, Debug)]
struct Seen {
    /// Requests by path (without the query).
    requests: BTreeMap<String, u64>,
    /// Successful logins by user.
    logins: BTreeMap<String, u64>,
    /// Requests refused for a missing or wrong token, cookie or CSRF value.
    refused: Vec<String>,
    /// Requests with a literal `${` anywhere in them.
    literal: u64,
    /// Connections open now, and the most at once.
    open: u64,
    most_open: u64,
}

/// A shop on a free loopback port: `POST /login` with a JSON body of user
/// and password answers a token, an order, an ETag, a CSRF value and
/// cookies (`session` for `/`, `cart` for `/cart` only, two expired ones);
/// `GET /orders` needs the bearer token and the session cookie and not the
/// cart cookie; `GET /cart/ORDER` needs both cookies, the CSRF value and
/// the ETag. Each connection is a thread.
struct Shop {
    addr: String,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

const USERS: [(&str, &str); 4] = [
    ("alice", "a-pw"),
    ("bob", "b-pw"),
    ("carol", "c-pw"),
    ("dave", "d-pw"),
];

impl Shop {
    fn start() -> Shop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        Shop { addr, seen, stop }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr.trim_start_matches("http://"));
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Seen>) {
    {
        let mut s = seen.lock().unwrap();
        s.open += 1;
        s.most_open = s.most_open.max(s.open);
    }
    exchange(conn, seen);
    seen.lock().unwrap().open -= 1;
}

fn exchange(conn: TcpStream, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let Some(request_line) = head.first().cloned() else {
            return;
        };
        let headers: BTreeMap<String, String> = head[1..]
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let (status, extra, text) = answer(&request_line, &headers, &body, seen);
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n{text}",
            text.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(
    request_line: &str,
    headers: &BTreeMap<String, String>,
    body: &str,
    seen: &Mutex<Seen>,
) -> (&'static str, String, String) {
    if request_line.starts_with("GET /slow ") {
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    let mut seen = seen.lock().unwrap();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("").to_string();
    *seen.requests.entry(path.clone()).or_insert(0) += 1;
    if request_line.contains("${")
        || body.contains("${")
        || headers.values().any(|v| v.contains("${"))
    {
        seen.literal += 1;
    }
    let cookies: BTreeMap<&str, &str> = headers
        .get("cookie")
        .map(|c| c.split("; ").filter_map(|kv| kv.split_once('=')).collect())
        .unwrap_or_default();
    let refuse = |seen: &mut Seen, why: String| {
        seen.refused.push(why.clone());
        ("401 Unauthorized", String::new(), why)
    };
    match (method, path.as_str()) {
        ("POST", "/login") => {
            let v: serde_json::Value = match serde_json::from_str(body) {
                Ok(v) => v,
                Err(e) => return refuse(&mut seen, format!("login body {body:?}: {e}")),
            };
            let (user, password) = (
                v["user"].as_str().unwrap_or(""),
                v["password"].as_str().unwrap_or(""),
            );
            if !USERS.contains(&(user, password)) {
                return refuse(&mut seen, format!("bad credentials {user}/{password}"));
            }
            *seen.logins.entry(user.to_string()).or_insert(0) += 1;
            let extra = format!(
                "ETag: \"e-{user}\"\r\nSet-Cookie: session=s-{user}; Path=/; Max-Age=600; HttpOnly\r\nSet-Cookie: cart=c-{user}; Path=/cart\r\nSet-Cookie: old=1; Path=/; Max-Age=0\r\nSet-Cookie: gone=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: application/json\r\n"
            );
            let text = format!(
                r#"{{"token": "tok-{user}", "orders": [{{"id": "o-{user}-1"}}, {{"id": "o-{user}-2"}}], "csrf": "x-{user}"}}"#
            );
            ("200 OK", extra, text)
        }
        ("GET", "/orders") => {
            let user = headers
                .get("authorization")
                .and_then(|a| a.strip_prefix("Bearer tok-"))
                .unwrap_or("");
            if !USERS.iter().any(|(u, _)| *u == user) {
                return refuse(&mut seen, format!("/orders without a token: {headers:?}"));
            }
            if cookies.get("session") != Some(&format!("s-{user}").as_str()) {
                return refuse(
                    &mut seen,
                    format!("/orders without the session: {headers:?}"),
                );
            }
            if cookies.contains_key("cart")
                || cookies.contains_key("old")
                || cookies.contains_key("gone")
            {
                return refuse(
                    &mut seen,
                    format!("/orders with a cookie not for it: {headers:?}"),
                );
            }
            ("200 OK", String::new(), format!("orders of {user}"))
        }
        ("GET", p) if p.starts_with("/cart/") => {
            let order = &p["/cart/".len()..];
            let user = order
                .strip_prefix("o-")
                .and_then(|o| o.strip_suffix("-1"))
                .unwrap_or("");
            let ok = cookies.get("session") == Some(&format!("s-{user}").as_str())
                && cookies.get("cart") == Some(&format!("c-{user}").as_str())
                && headers.get("x-csrf") == Some(&format!("x-{user}"))
                && headers.get("if-match") == Some(&format!("\"e-{user}\""));
            if !ok {
                return refuse(&mut seen, format!("{p} not authorized: {headers:?}"));
            }
            ("200 OK", String::new(), format!("cart of {user}"))
        }
        ("GET", "/slow" | "/fast") => ("200 OK", String::new(), "ok".to_string()),
        _ => ("404 Not Found", String::new(), String::new()),
    }
}

/// The login flow: credentials from `data`, a token by `json:`, the order
/// by `json:` with an index, the ETag by `header:`, the CSRF value by
/// `regex:`, the session and cart cookies kept by the jar.
fn login_flow(dir: &Path, shop: &Shop, data: &str, order: &str) -> std::path::PathBuf {
    let scenario = dir.join("shop.toml");
    std::fs::write(
        &scenario,
        format!(
            r#"mode = "sequence"

[variables]
host = "{}"

[data]
file = "{data}"
order = "{order}"

[[request]]
name = "login"
method = "POST"
url = "${{host}}/login"
body = '{{"user":"${{user}}","password":"${{password}}"}}'
extract = {{ token = "json:$.token", order = "json:$.orders[0].id", etag = "header:ETag", csrf = 'regex:"csrf": ?"([^"]+)"' }}

[[request]]
name = "orders"
url = "${{host}}/orders"
headers = {{ authorization = "Bearer ${{token}}" }}
checks = {{ status = [200], body_contains = "${{user}}" }}

[[request]]
name = "cart"
url = "${{host}}/cart/${{order}}"
headers = {{ x-csrf = "${{csrf}}", if-match = "${{etag}}" }}
checks = {{ status = [200] }}
"#,
            shop.addr
        ),
    )
    .unwrap();
    scenario
}

fn write_users_csv(dir: &Path) {
    let mut csv = String::from("user,password\n");
    for (u, p) in USERS {
        csv += &format!("{u},{p}\n");
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
}

fn run_load(args: &[&str]) -> std::process::Output {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    all.push("--no-progress");
    perfhub(&all)
}

#[test]
fn a_login_flow_from_a_csv_file_sends_exactly_its_iterations_all_authorized() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_users_csv(dir.path());
    // The epoll loop (no think time) and the async path (think time).
    for extra in [&[][..], &["--think-time", "1ms"][..]] {
        let shop = Shop::start();
        let scenario = login_flow(dir.path(), &shop, "users.csv", "round-robin");
        let out_json = dir.path().join("flow.json");
        let mut args = vec![
            "--scenario",
            scenario.to_str().unwrap(),
            "--connections",
            "4",
            "--iterations",
            "25",
            "--export-json",
            out_json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = run_load(&args);
        assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
        let seen = shop.seen();
        assert!(seen.refused.is_empty(), "{extra:?}: {:?}", seen.refused);
        assert_eq!(seen.literal, 0);
        // Exactly 3N requests, N of each.
        let total: u64 = seen.requests.values().sum();
        assert_eq!(total, 75, "{extra:?}: {:?}", seen.requests);
        assert_eq!(seen.requests["/login"], 25);
        assert_eq!(seen.requests["/orders"], 25);
        // Every user of the file logged in (four users, four connections).
        assert_eq!(seen.logins.len(), 4, "{:?}", seen.logins);
        let r = report(&out_json);
        assert_eq!(value(&r, "total", "requests"), 75.0);
        assert_eq!(value(&r, "total", "check_failures"), 0.0);
        assert_eq!(value(&r, "total", "skipped"), 0.0);
        assert_eq!(value(&r, "cart", "status.200"), 25.0);
    }
}

#[test]
fn a_json_data_file_in_random_order_logs_users_in() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<serde_json::Value> = USERS
        .iter()
        .map(|(u, p)| serde_json::json!({"user": u, "password": p}))
        .collect();
    std::fs::write(
        dir.path().join("users.json"),
        serde_json::to_string(&users).unwrap(),
    )
    .unwrap();
    let shop = Shop::start();
    let scenario = login_flow(dir.path(), &shop, "users.json", "random");
    let out = run_load(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--connections",
        "16",
        "--iterations",
        "32",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = shop.seen();
    assert!(seen.refused.is_empty(), "{:?}", seen.refused);
    assert_eq!(seen.requests.values().sum::<u64>(), 96);
    // Sixteen users drawn at random from four: more than one is used, and
    // only the file's.
    assert!(seen.logins.len() > 1, "{:?}", seen.logins);
    assert!(
        seen.logins
            .keys()
            .all(|u| USERS.iter().any(|(k, _)| k == u))
    );
}

#[test]
fn a_failed_extraction_skips_the_rest_of_the_iteration_and_sends_no_placeholder() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_users_csv(dir.path());
    let shop = Shop::start();
    let scenario = login_flow(dir.path(), &shop, "users.csv", "round-robin");
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("json:$.token", "json:$.session.token");
    std::fs::write(&scenario, text).unwrap();
    let out_json = dir.path().join("failed.json");
    let out = run_load(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--connections",
        "2",
        "--iterations",
        "10",
        "--export-json",
        out_json.to_str().unwrap(),
    ]);
    // Failed checks are counted, not a failure of perfhub.
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = shop.seen();
    assert_eq!(seen.literal, 0);
    assert_eq!(seen.requests.get("/login"), Some(&10));
    assert_eq!(seen.requests.get("/orders"), None, "{:?}", seen.requests);
    let r = report(&out_json);
    assert_eq!(value(&r, "login", "check_failures"), 10.0);
    assert_eq!(value(&r, "login", "abandoned"), 10.0);
    assert_eq!(value(&r, "orders", "skipped"), 10.0);
    assert_eq!(value(&r, "cart", "skipped"), 10.0);
    assert_eq!(value(&r, "total", "skipped"), 20.0);
    let login = r.benchmarks.iter().find(|b| b.name == "login").unwrap();
    assert!(
        login.notes.iter().any(|n| n
            .message
            .contains("`token` (json:$.session.token) found nothing")),
        "{:?}",
        login.notes
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("skipped 10"), "{stdout}");
}

#[test]
fn cookies_can_be_turned_off_and_the_server_then_refuses() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_users_csv(dir.path());
    let shop = Shop::start();
    let scenario = login_flow(dir.path(), &shop, "users.csv", "round-robin");
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(&scenario, format!("cookies = false\n{text}")).unwrap();
    let out_json = dir.path().join("nocookies.json");
    let out = run_load(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--connections",
        "1",
        "--iterations",
        "3",
        "--export-json",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = shop.seen();
    assert_eq!(seen.refused.len(), 6, "{:?}", seen.refused);
    let r = report(&out_json);
    assert_eq!(value(&r, "orders", "status.401"), 3.0);
}

#[test]
fn a_scenario_s_flow_mistakes_are_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let head = "mode = \"sequence\"\n[[request]]\nurl = \"http://127.0.0.1:9/login\"\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{head}extract = {{ t = \"xpath://a\" }}\n"),
            ":4:18: request[0].extract.t: unknown extraction source \"xpath\"",
        ),
        (
            format!("{head}extract = {{ t = \"json:$.a[x]\" }}\n"),
            "request[0].extract.t: bad JSON path",
        ),
        (
            format!("{head}extract = {{ t = \"regex:id=\\\\d+\" }}\n"),
            "request[0].extract.t: the regular expression \"id=\\\\d+\" has no capture group",
        ),
        (
            "mode = \"sequence\"\n[[request]]\nurl = \"http://127.0.0.1:9/a/${t}\"\n[[request]]\nurl = \"http://127.0.0.1:9/b\"\nextract = { t = \"header:X\" }\n".to_string(),
            ":3:29: request[0].url: `t` is extracted by request[1], which does not come before this request",
        ),
        (
            format!("{head}[[request]]\nurl = \"http://127.0.0.1:9/b\"\nbody = \"${{nope}}\"\n"),
            "request[1].body: undefined variable `nope`",
        ),
        (
            "mode = \"sequence\"\n[data]\nfile = \"missing.csv\"\n[[request]]\nurl = \"http://127.0.0.1:9/\"\n".to_string(),
            ":3:8: data.file: cannot read the data file",
        ),
        (
            "mode = \"sequence\"\n[data]\nfile = \"empty.csv\"\n[[request]]\nurl = \"http://127.0.0.1:9/\"\n".to_string(),
            "data.file: the data file",
        ),
        (
            "mode = \"sequence\"\n[data]\nfile = \"ragged.csv\"\n[[request]]\nurl = \"http://127.0.0.1:9/\"\n".to_string(),
            "line 3: a row of 1 values where the header has 2 columns",
        ),
        (
            "[[request]]\nurl = \"http://127.0.0.1:9/\"\nextract = { t = \"header:X\" }\n".to_string(),
            ":3:17: request[0].extract.t: `extract` is for the virtual users of mode = \"sequence\"",
        ),
    ];
    write("empty.csv", "");
    write("ragged.csv", "user,password\na,b\nc\n");
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = write(&format!("s{i}.toml"), text);
        let out = run_load(&["--scenario", file.to_str().unwrap(), "-d", "1s"]);
        assert_eq!(out.status.code(), Some(1), "case {i}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("s{i}.toml")) && err.contains(needle),
            "case {i}: {err}"
        );
    }
}

#[test]
fn virtual_users_ramp_up_and_down_in_flags_and_in_a_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let shop = Shop::start();
    let url = format!("{}/fast", shop.addr);
    let ramp_dir = tempfile::tempdir().unwrap();
    let ramp_json = ramp_dir.path().join("ramp.json");
    // 1 user, up to 4 over 1 s, 4 for 0.5 s, down to 0 over 1 s.
    let out = run_load(&[
        &url,
        "--vus",
        "1",
        "--vus-stage",
        "1s:4",
        "--vus-stage",
        "500ms:4",
        "--vus-stage",
        "1s:0",
        "--export-json",
        ramp_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The ramp lasts as long as its stages (2.5 s; the last user leaves at
    // 2.25 s, when fewer than one is left), and throughput is over that
    // time, not a default duration's.
    let r = report(&ramp_json);
    let (requests, throughput) = (
        value(&r, "total", "requests"),
        value(&r, "total", "throughput"),
    );
    assert!(
        throughput * 2.7 >= requests && throughput * 2.0 <= requests,
        "{requests} requests at {throughput}/s"
    );
    {
        let seen = shop.seen();
        assert_eq!(seen.most_open, 4, "{seen:?}");
        assert!(seen.requests["/fast"] > 0);
    }
    // Every connection was closed as the users went down to 0.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while shop.seen().open > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(shop.seen().open, 0);

    // The same from a scenario's [load] table, and arrival stages there.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ramp.toml");
    std::fs::write(
        &file,
        format!(
            "[load]\nvus = 1\nvus_stages = [\"1s:3\", \"500ms:3\"]\n[[request]]\nurl = \"{}/fast\"\n",
            shop.addr
        ),
    )
    .unwrap();
    let shop2 = Shop::start();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&shop.addr, &shop2.addr);
    std::fs::write(&file, text).unwrap();
    let out = run_load(&["--scenario", file.to_str().unwrap(), "-d", "1s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shop2.seen().most_open, 3);

    let rate = dir.path().join("rate.toml");
    std::fs::write(
        &rate,
        format!(
            "[load]\nstages = [\"1s:60\"]\n[[request]]\nurl = \"{}/fast\"\n",
            shop2.addr
        ),
    )
    .unwrap();
    let out_json = dir.path().join("rate.json");
    let out = run_load(&[
        "--scenario",
        rate.to_str().unwrap(),
        "-d",
        "1s",
        "--export-json",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 0 to 60 requests/s over 1 s: exactly 30 due.
    let r = report(&out_json);
    assert_eq!(
        value(&r, "total", "sent") + value(&r, "total", "dropped"),
        30.0
    );
}

#[test]
fn requests_have_their_own_timeout_and_groups_add_up() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let shop = Shop::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("groups.toml");
    std::fs::write(
        &file,
        format!(
            r#"mode = "sequence"
[[request]]
name = "slow"
url = "{0}/slow"
timeout = "100ms"
group = "browse"
[[request]]
name = "fast"
url = "{0}/fast"
think_time = "10ms"
group = "browse"
[[request]]
name = "orders"
url = "{0}/orders"
checks = {{ status = [401] }}
"#,
            shop.addr
        ),
    )
    .unwrap();
    let out_json = dir.path().join("groups.json");
    let out = run_load(&[
        "--scenario",
        file.to_str().unwrap(),
        "-c",
        "2",
        "--iterations",
        "4",
        "--timeout",
        "5s",
        "--export-json",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out_json);
    // The slow request times out at its own 100 ms, not the test's 5 s.
    assert_eq!(value(&r, "slow", "errors"), 4.0);
    assert_eq!(value(&r, "total", "errors.timeout"), 4.0);
    assert_eq!(value(&r, "fast", "status.200"), 4.0);
    // The group adds up its two requests.
    assert_eq!(value(&r, "group:browse", "requests"), 8.0);
    assert_eq!(value(&r, "group:browse", "errors"), 4.0);
    assert_eq!(value(&r, "orders", "status.401"), 4.0);
}

#[test]
fn two_scenarios_in_one_file_run_at_once_and_are_reported_each_and_together() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    write_users_csv(dir.path());
    let shop = Shop::start();
    let flow = login_flow(dir.path(), &shop, "users.csv", "round-robin");
    let flow_text = std::fs::read_to_string(&flow).unwrap();
    // The login flow as [scenario.checkout], a weighted browse beside it.
    let checkout = flow_text
        .replace("mode = \"sequence\"\n", "")
        .replace("[variables]\n", "")
        .replace(&format!("host = \"{}\"\n", shop.addr), "")
        .replace("[data]", "[scenario.checkout.data]")
        .replace("[[request]]", "[[scenario.checkout.request]]");
    let text = format!(
        r#"budgets = ["error_rate < 1%"]

[variables]
host = "{host}"

[scenario.browse]
budgets = ["p99 < 5s"]

[scenario.browse.load]
connections = 1
duration = "1s"

[[scenario.browse.request]]
url = "${{host}}/fast"

[scenario.checkout]
mode = "sequence"

[scenario.checkout.load]
connections = 2
iterations = 6
{checkout}"#,
        host = shop.addr
    );
    let file = dir.path().join("two.toml");
    std::fs::write(&file, text).unwrap();
    let out_json = dir.path().join("two.json");
    let out = run_load(&[
        "--scenario",
        file.to_str().unwrap(),
        "--export-json",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = shop.seen();
    assert!(seen.refused.is_empty(), "{:?}", seen.refused);
    assert_eq!(seen.requests["/login"], 6);
    assert_eq!(seen.requests["/orders"], 6);
    let r = report(&out_json);
    assert_eq!(value(&r, "checkout/total", "requests"), 18.0);
    assert_eq!(value(&r, "checkout/cart", "status.200"), 6.0);
    let browse = value(&r, "browse/total", "requests");
    assert_eq!(browse, seen.requests["/fast"] as f64);
    assert_eq!(value(&r, "total", "requests"), 18.0 + browse);
    // The file's budget on all of them, each scenario's on its own.
    let budgets: Vec<&str> = r.budgets.iter().map(|v| v.benchmark.as_str()).collect();
    assert!(
        budgets.contains(&"total") && budgets.contains(&"browse/total"),
        "{budgets:?}"
    );

    // Requests at the top level beside named scenarios are refused.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[request]]\nurl = \"http://127.0.0.1:9/\"\n[scenario.a]\n[[scenario.a.request]]\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let out = run_load(&["--scenario", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.toml:1:1: request: with [scenario.NAME] tables"),
        "{}",
        stderr(&out)
    );
    // So is a top-level mode, which each scenario has of its own.
    std::fs::write(
        &bad,
        "mode = \"sequence\"\n[scenario.a]\n[[scenario.a.request]]\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let out = run_load(&["--scenario", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.toml:1:8: mode: with [scenario.NAME] tables"),
        "{}",
        stderr(&out)
    );
}
