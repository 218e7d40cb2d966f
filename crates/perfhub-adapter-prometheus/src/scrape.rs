//! A scrape endpoint: the latest reports for Prometheus to pull
//! (`perfhub serve-metrics`).
//!
//! A small blocking HTTP/1.1 server: `GET /metrics` answers the reports in
//! the Prometheus text format, or in OpenMetrics when the `Accept` header
//! prefers it; every other path is 404. The report files are re-read when
//! their modification time or size changes, and directories are listed
//! again on every scrape, so new reports appear without a restart.
//!
//! ```no_run
//! use perfhub_adapter_prometheus::scrape::{ScrapeConfig, ScrapeServer};
//!
//! let config = ScrapeConfig::new("127.0.0.1:9464".parse().unwrap(), vec!["results/".into()]);
//! let server = ScrapeServer::bind(config).unwrap();
//! println!("serving {} report(s) on http://{}/metrics", server.report_count(), server.local_addr());
//! server.serve_until(&|| false);
//! ```

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use perfhub_core::report::Report;

use crate::{Format, Source, exposition_labeled};

/// Where the server's warnings go (a file that is not a report, a failed
/// accept): the caller decides how to show them.
pub type Warn = Arc<dyn Fn(String) + Send + Sync>;

/// What to serve, where.
#[derive(Clone)]
pub struct ScrapeConfig {
    /// The address to listen on (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Report files, or directories whose `*.json` perfhub reports are served.
    pub reports: Vec<PathBuf>,
    /// Where warnings go; by default nowhere.
    pub warn: Warn,
}

impl ScrapeConfig {
    /// Serves `reports` on `addr`, warnings dropped.
    pub fn new(addr: SocketAddr, reports: Vec<PathBuf>) -> ScrapeConfig {
        ScrapeConfig {
            addr,
            reports,
            warn: Arc::new(|_| {}),
        }
    }
}

impl std::fmt::Debug for ScrapeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeConfig")
            .field("addr", &self.addr)
            .field("reports", &self.reports)
            .finish()
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    /// A report path named does not exist.
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A bound scrape endpoint; [`ScrapeServer::serve_until`] answers scrapes.
pub struct ScrapeServer {
    listener: TcpListener,
    local: SocketAddr,
    reports: Arc<Mutex<Reports>>,
    warn: Warn,
}

impl ScrapeServer {
    /// Reads the reports and listens on the address.
    pub fn bind(config: ScrapeConfig) -> Result<ScrapeServer, ScrapeError> {
        if let Some(p) = config.reports.iter().find(|p| !p.exists()) {
            return Err(ScrapeError::Missing(p.clone()));
        }
        let mut reports = Reports {
            paths: config.reports,
            loaded: BTreeMap::new(),
            warned: HashSet::new(),
            warn: Arc::clone(&config.warn),
        };
        reports.refresh();
        let bind = |source| ScrapeError::Bind {
            addr: config.addr,
            source,
        };
        let listener = TcpListener::bind(config.addr).map_err(bind)?;
        // Polling accept lets the caller stop the loop between connections.
        listener.set_nonblocking(true).map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        Ok(ScrapeServer {
            listener,
            local,
            reports: Arc::new(Mutex::new(reports)),
            warn: config.warn,
        })
    }

    /// The address it listens on (with the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many reports it serves now.
    pub fn report_count(&self) -> usize {
        self.reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .loaded
            .len()
    }

    /// Answers scrapes, each on a thread of its own, until `stop` says so
    /// (asked at least every 50 ms).
    pub fn serve_until(&self, stop: &dyn Fn() -> bool) {
        while !stop() {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let reports = Arc::clone(&self.reports);
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
                    (self.warn)(format!("accept failed: {e}"));
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }
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
    /// Where warnings go.
    warn: Warn,
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
            (self.warn)(format!("{what} {}: {message}", path.display()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::report::{Benchmark, Measurement, ReportKind, metric};
    use perfhub_core::units::Unit;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_reports_and_sees_new_ones() {
        let dir = std::env::temp_dir().join(format!("perfhub-scrape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut report = Report::new(ReportKind::Run, "2026-12-05T12:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("build", metric::WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![1.0, 1.2],
        ));
        report.benchmarks.push(b);
        std::fs::write(dir.join("first.json"), report.to_json()).unwrap();
        std::fs::write(dir.join("notes.json"), "{\"not\": \"a report\"}").unwrap();
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&warnings);
        let config = ScrapeConfig {
            warn: Arc::new(move |w| seen.lock().unwrap().push(w)),
            ..ScrapeConfig::new("127.0.0.1:0".parse().unwrap(), vec![dir.clone()])
        };
        let server = Arc::new(ScrapeServer::bind(config).unwrap());
        assert_eq!(server.report_count(), 1);
        let addr = server.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let serving = {
            let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
            std::thread::spawn(move || server.serve_until(&|| stop.load(Ordering::Relaxed)))
        };
        let answer = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("report=\"first\""), "{answer}");
        // A report written later is served at the next scrape.
        std::fs::write(dir.join("second.json"), report.to_json()).unwrap();
        let answer = get(
            addr,
            "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n",
        );
        assert!(answer.contains("report=\"second\""), "{answer}");
        assert!(answer.contains("# EOF"), "{answer}");
        let answer = get(addr, "GET /other HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        let answer = get(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        stop.store(true, Ordering::Relaxed);
        serving.join().unwrap();
        // The file that is not a report was mentioned once.
        let w = warnings.lock().unwrap();
        assert_eq!(
            w.iter().filter(|w| w.contains("notes.json")).count(),
            1,
            "{w:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            ScrapeServer::bind(ScrapeConfig::new("127.0.0.1:0".parse().unwrap(), vec![dir])),
            Err(ScrapeError::Missing(_))
        ));
    }
}
