//! `perfhub serve-metrics`: the latest reports, for Prometheus to scrape.
//!
//! A small blocking HTTP/1.1 server: `GET /metrics` answers the reports in
//! the Prometheus text format, or in OpenMetrics when the `Accept` header
//! prefers it; every other path is 404. The report files are re-read when
//! their modification time or size changes, and directories are listed
//! again on every scrape, so new reports appear without a restart.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::Args;
use perfhub_adapter_prometheus::{Format, Source, exposition_labeled};
use perfhub_core::report::Report;

use crate::Outcome;

/// Serve the latest reports for Prometheus to scrape.
#[derive(Debug, Args)]
#[command(
    after_help = "Each report's series carry a `report` label, the file's name without .json. Files are re-read when they change; directories are listed again on every scrape.\n\nExamples:\n  perfhub serve-metrics results/                 # every *.json report in results/\n  perfhub serve-metrics --port 0 load.json run.json\n  curl -s http://127.0.0.1:9464/metrics"
)]
pub struct ServeMetricsArgs {
    /// The address to listen on (loopback unless you choose otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// The port (0 picks a free one, printed at start).
    #[arg(short, long, value_name = "PORT", default_value_t = 9464)]
    port: u16,

    /// Report files, or directories whose *.json perfhub reports are served.
    #[arg(value_name = "REPORTS", required = true)]
    reports: Vec<PathBuf>,
}

/// The largest request head read, in bytes.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One report file as last read.
struct Loaded {
    modified: Option<SystemTime>,
    len: u64,
    report: Report,
}

/// The report files and what was last read from each.
struct Reports {
    paths: Vec<PathBuf>,
    loaded: BTreeMap<PathBuf, Loaded>,
    /// Files (and their versions) already warned about, so a bad file is
    /// reported once, not on every scrape.
    warned: HashSet<(PathBuf, Option<SystemTime>, u64)>,
}

impl Reports {
    /// The report files now: the files named, and the `*.json` files of the
    /// directories named, in order.
    fn files(&self) -> Vec<(PathBuf, bool)> {
        let mut files = Vec::new();
        for p in &self.paths {
            if p.is_dir() {
                let mut found: Vec<PathBuf> = match std::fs::read_dir(p) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
                        .collect(),
                    Err(_) => Vec::new(),
                };
                found.sort();
                files.extend(found.into_iter().map(|f| (f, false)));
            } else {
                files.push((p.clone(), true));
            }
        }
        files
    }

    /// Re-reads the files that changed. A file that cannot be read or is not
    /// a report is warned about once per version; the last good version of
    /// it is served meanwhile.
    fn refresh(&mut self) {
        let files = self.files();
        let current: HashSet<&PathBuf> = files.iter().map(|(f, _)| f).collect();
        self.loaded.retain(|p, _| current.contains(p));
        for (path, named) in &files {
            let meta = match std::fs::metadata(path) {
                Ok(m) => m,
                Err(e) => {
                    self.warn(path, None, 0, &format!("cannot read it: {e}"), *named);
                    continue;
                }
            };
            let modified = meta.modified().ok();
            let len = meta.len();
            if let Some(l) = self.loaded.get(path)
                && l.modified == modified
                && l.len == len
                && modified.is_some()
            {
                continue;
            }
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read it: {e}"))
                .and_then(|text| Report::from_json(&text).map_err(|e| e.to_string()));
            match parsed {
                Ok(report) => {
                    self.loaded.insert(
                        path.clone(),
                        Loaded {
                            modified,
                            len,
                            report,
                        },
                    );
                }
                Err(message) => self.warn(path, modified, len, &message, *named),
            }
        }
    }

    fn warn(
        &mut self,
        path: &Path,
        modified: Option<SystemTime>,
        len: u64,
        message: &str,
        named: bool,
    ) {
        // JSON files in a directory that are not perfhub reports are skipped
        // quietly after one mention; named files always matter.
        if self.warned.insert((path.to_path_buf(), modified, len)) {
            let what = if named {
                "skipping"
            } else {
                "skipping file in directory"
            };
            eprintln!(
                "perfhub serve-metrics: {what} {}: {message}",
                path.display()
            );
        }
    }

    /// The exposition of every loaded report, each labelled with its file's
    /// name (its path where two files share a name).
    fn exposition(&mut self, format: Format) -> String {
        self.refresh();
        let mut used: HashSet<String> = HashSet::new();
        let labels: Vec<Vec<(String, String)>> = self
            .loaded
            .keys()
            .map(|path| {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = if used.insert(stem.clone()) {
                    stem
                } else {
                    path.display().to_string()
                };
                vec![("report".to_string(), name)]
            })
            .collect();
        let sources: Vec<Source<'_>> = self
            .loaded
            .values()
            .zip(&labels)
            .map(|(l, labels)| Source {
                report: &l.report,
                labels,
            })
            .collect();
        exposition_labeled(&sources, format)
    }
}

/// Runs `perfhub serve-metrics` until interrupted.
pub fn serve_metrics(args: ServeMetricsArgs) -> Result<Outcome> {
    for p in &args.reports {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
    }
    let mut reports = Reports {
        paths: args.reports.clone(),
        loaded: BTreeMap::new(),
        warned: HashSet::new(),
    };
    reports.refresh();
    let count = reports.loaded.len();
    let reports = Arc::new(Mutex::new(reports));

    crate::interrupt::install();
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    // Polling accept lets Ctrl-C stop the loop between connections.
    listener
        .set_nonblocking(true)
        .context("cannot make the listening socket non-blocking")?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    eprintln!(
        "perfhub serve-metrics: serving {count} report(s) on http://{local}/metrics (Ctrl-C stops)"
    );
    while !crate::interrupt::requested() {
        match listener.accept() {
            Ok((stream, _)) => {
                let reports = Arc::clone(&reports);
                std::thread::spawn(move || {
                    // A client that goes away mid-answer is no error of ours.
                    let _ = handle(stream, &reports);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of file descriptors and the like: pause, keep serving.
                eprintln!("perfhub serve-metrics: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    eprintln!("perfhub serve-metrics: stopped");
    Ok(Outcome::Success)
}

/// The parts of a request this server reads.
struct Request {
    method: String,
    path: String,
    accept: Option<String>,
}

fn handle(mut stream: TcpStream, reports: &Mutex<Reports>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = match read_request(&mut stream) {
        Ok(r) => r,
        Err(status) => {
            return respond(
                &mut stream,
                status,
                "text/plain; charset=utf-8",
                b"bad request\n",
                false,
            );
        }
    };
    let head = request.method == "HEAD";
    if request.path != "/metrics" {
        return respond(
            &mut stream,
            "404 Not Found",
            "text/plain; charset=utf-8",
            b"not found: the metrics are at /metrics\n",
            head,
        );
    }
    if request.method != "GET" && !head {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"use GET\n",
            false,
        );
    }
    let format = Format::negotiate(request.accept.as_deref());
    let body = {
        // A panic in another scrape leaves the data as good as it was.
        let mut guard = reports.lock().unwrap_or_else(|p| p.into_inner());
        guard.exposition(format)
    };
    respond(
        &mut stream,
        "200 OK",
        format.content_type(),
        body.as_bytes(),
        head,
    )
}

/// Reads the request head; the error is the status to answer.
fn read_request(stream: &mut TcpStream) -> Result<Request, &'static str> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err("431 Request Header Fields Too Large");
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Err("400 Bad Request"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "400 Bad Request")?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version)) = (first.next(), first.next(), first.next())
    else {
        return Err("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return Err("400 Bad Request");
    }
    let accept = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("accept")
            .then(|| value.trim().to_string())
    });
    let path = target.split(['?', '#']).next().unwrap_or("").to_string();
    Ok(Request {
        method: method.to_string(),
        path,
        accept,
    })
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}
