//! perfhub profiles in Pyroscope.
//!
//! [`upload_folded`] and [`upload_pprof`] send one profile (perfhub's
//! `stacks.folded` or `profile.pb.gz`) to a Pyroscope-compatible `POST
//! /ingest` endpoint (Pyroscope, Grafana Pyroscope, Grafana Alloy's
//! `pyroscope.receive_http`):
//!
//! - the query carries `name` (the segment key `app{k=v,...}`, see
//!   [`segment_key`]), `from` and `until` (Unix seconds), `sampleRate`,
//!   `spyName=perfhub`, and for folded stacks `format=folded`,
//!   `units=samples` and `aggregationType=sum`;
//! - folded stacks are the body as they are (`text/plain`);
//! - pprof goes as `multipart/form-data` with the field `profile`, without a
//!   `format` parameter: `format=pprof` makes the server read the whole body
//!   as a bare pprof message, while a multipart body is recognised by its
//!   content type, which is how Pyroscope's own agents send pprof.
//!
//! # Retries
//!
//! Pyroscope sums what it ingests, so a profile stored twice counts twice.
//! A request is sent again (with exponential backoff) only where it cannot
//! have been stored: no connection was made, or the server answered 429 or
//! 503. A timeout, a broken connection or another 5xx may follow a stored
//! profile: they are reported at once, saying so, and not sent again.
//!
//! # Secrets
//!
//! The token goes in `Authorization: Bearer`; the CLI reads it from
//! [`TOKEN_ENV`]. `Debug` of [`PyroscopeConfig`] hides it and error texts
//! from the server are scrubbed of it.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perfhub_core::text::{excerpt, percent_encode, without_userinfo};

mod source;
pub use source::{ProfileSource, SourceError};

/// The environment variable the CLI reads the token from (the one
/// Pyroscope's agents use).
pub const TOKEN_ENV: &str = "PYROSCOPE_AUTH_TOKEN";

/// The `spyName` perfhub's uploads carry.
pub const SPY_NAME: &str = "perfhub";

/// Where and how to upload.
#[derive(Clone)]
pub struct PyroscopeConfig {
    /// The server, such as `http://127.0.0.1:4040`; `/ingest` is appended.
    pub url: String,
    /// The application name, such as `my-service.cpu`: ASCII letters,
    /// digits, `_`, `-` and `.`.
    pub app_name: String,
    /// Labels: names of ASCII letters, digits and `_` not starting with
    /// `__`; values without `,{}=;"`, control characters or surrounding
    /// spaces (the segment key has no escaping).
    pub labels: BTreeMap<String, String>,
    /// When profiling started.
    pub from: SystemTime,
    /// When profiling stopped.
    pub until: SystemTime,
    /// Samples per second.
    pub sample_rate: u32,
    /// A bearer token, read by the caller from [`TOKEN_ENV`]; never printed.
    pub token: Option<String>,
    /// The limit for each HTTP request.
    pub timeout: Duration,
    /// How many times a request is sent again where that is safe.
    pub retries: u32,
    /// The wait before the first retry, doubled for each next one.
    pub backoff: Duration,
}

impl PyroscopeConfig {
    /// A configuration with no labels, 100 Hz, a 30 s timeout, 3 retries
    /// and a 500 ms backoff.
    pub fn new(
        url: impl Into<String>,
        app_name: impl Into<String>,
        from: SystemTime,
        until: SystemTime,
    ) -> Self {
        PyroscopeConfig {
            url: url.into(),
            app_name: app_name.into(),
            labels: BTreeMap::new(),
            from,
            until,
            sample_rate: 100,
            token: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for PyroscopeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyroscopeConfig")
            .field("url", &self.url)
            .field("app_name", &self.app_name)
            .field("labels", &self.labels)
            .field("from", &self.from)
            .field("until", &self.until)
            .field("sample_rate", &self.sample_rate)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid Pyroscope configuration: {0}")]
    Config(String),
    /// The application name breaks Pyroscope's rules.
    #[error("invalid Pyroscope application name {name:?}: {reason}")]
    AppName {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A label breaks Pyroscope's rules.
    #[error("invalid Pyroscope label {name:?}: {reason}")]
    Label {
        /// The label name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The profile is not what the format says.
    #[error("invalid profile: {0}")]
    Profile(String),
    /// No connection could be made, after every retry.
    #[error("cannot reach the Pyroscope server at {url} ({attempts} attempts): {message}")]
    Unreachable {
        /// The server URL, without credentials.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// What the last attempt ran into.
        message: String,
    },
    /// No answer in time; not sent again, since it may have been stored.
    #[error(
        "the Pyroscope server at {url} did not answer within {timeout:?}; the profile may have been stored, so it was not sent again"
    )]
    Timeout {
        /// The server URL.
        url: String,
        /// The per-request timeout.
        timeout: Duration,
    },
    /// The connection broke mid-request; not sent again.
    #[error(
        "the connection to the Pyroscope server broke: {0}; the profile may have been stored, so it was not sent again"
    )]
    Transport(String),
    /// HTTP 4xx (other than 429): the server refused the profile.
    #[error("Pyroscope refused the profile with HTTP {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        message: String,
    },
    /// HTTP 5xx or 429.
    #[error("the Pyroscope server failed with HTTP {status} ({attempts} attempts): {message}")]
    Server {
        /// The last HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The start of the body.
        message: String,
    },
}

/// The segment key `app{k1=v1,k2=v2}` (labels sorted by name), after
/// checking the name and labels against Pyroscope's parser rules.
pub fn segment_key(app_name: &str, labels: &BTreeMap<String, String>) -> Result<String, Error> {
    let app_err = |reason: &str| Error::AppName {
        name: app_name.to_string(),
        reason: reason.to_string(),
    };
    if app_name.is_empty() {
        return Err(app_err("it is empty"));
    }
    if let Some(c) = app_name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(app_err(&format!(
            "{c:?} is not allowed (only ASCII letters, digits, `_`, `-` and `.`)"
        )));
    }
    let mut key = app_name.to_string();
    key.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        let label_err = |reason: String| Error::Label {
            name: name.clone(),
            reason,
        };
        if name.is_empty() {
            return Err(label_err("the name is empty".into()));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(label_err(format!(
                "{c:?} is not allowed in a label name (only ASCII letters, digits and `_`)"
            )));
        }
        if name.starts_with("__") {
            return Err(label_err("names starting with `__` are reserved".into()));
        }
        if value.is_empty() {
            return Err(label_err("the value is empty".into()));
        }
        if value.trim() != value {
            return Err(label_err(
                "the value starts or ends with white space".into(),
            ));
        }
        if value.starts_with('~') {
            return Err(label_err("the value starts with `~`".into()));
        }
        if let Some(c) = value
            .chars()
            .find(|c| c.is_control() || matches!(c, ',' | '{' | '}' | '=' | ';' | '"'))
        {
            return Err(label_err(format!(
                "{c:?} is not allowed in a label value (the key format has no escaping)"
            )));
        }
        if i > 0 {
            key.push(',');
        }
        key.push_str(name);
        key.push('=');
        key.push_str(value);
    }
    key.push('}');
    Ok(key)
}

/// Uploads folded stacks (`frame;frame;frame count` per line).
pub fn upload_folded(cfg: &PyroscopeConfig, folded: &str) -> Result<(), Error> {
    check_folded(folded)?;
    let query = query(cfg, true)?;
    send(cfg, &query, "text/plain; charset=utf-8", folded.as_bytes())
}

/// Uploads a pprof profile (gzipped or not, as perfhub's `profile.pb.gz`).
pub fn upload_pprof(cfg: &PyroscopeConfig, pprof: &[u8]) -> Result<(), Error> {
    if pprof.is_empty() {
        return Err(Error::Profile("the pprof profile is empty".into()));
    }
    let query = query(cfg, false)?;
    let boundary = boundary(pprof);
    let mut body = Vec::with_capacity(pprof.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(pprof);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    send(
        cfg,
        &query,
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
    )
}

fn check_folded(folded: &str) -> Result<(), Error> {
    let mut stacks = 0;
    for (i, line) in folded.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ok = line
            .rsplit_once(' ')
            .is_some_and(|(stack, n)| !stack.is_empty() && n.parse::<u64>().is_ok());
        if !ok {
            return Err(Error::Profile(format!(
                "line {} is not `stack count`: {:?}",
                i + 1,
                line.chars().take(120).collect::<String>()
            )));
        }
        stacks += 1;
    }
    if stacks == 0 {
        return Err(Error::Profile("no stacks in the folded profile".into()));
    }
    Ok(())
}

/// A boundary that does not occur in `data`, the same for the same data.
fn boundary(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut n = 0u32;
    loop {
        let b = format!("perfhub-{h:016x}-{n}");
        if !data.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
        n += 1;
    }
}

fn unix_seconds(t: SystemTime, what: &str) -> Result<u64, Error> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::Config(format!("`{what}` is before 1970")))
}

fn query(cfg: &PyroscopeConfig, folded: bool) -> Result<String, Error> {
    let name = segment_key(&cfg.app_name, &cfg.labels)?;
    let from = unix_seconds(cfg.from, "from")?;
    let until = unix_seconds(cfg.until, "until")?;
    if until < from {
        return Err(Error::Config(format!(
            "`until` ({until}) is before `from` ({from})"
        )));
    }
    if cfg.sample_rate == 0 {
        return Err(Error::Config("the sample rate must be positive".into()));
    }
    let mut q = format!("name={}&from={from}&until={until}", percent_encode(&name));
    if folded {
        q.push_str("&format=folded");
    }
    q.push_str(&format!(
        "&sampleRate={}&spyName={SPY_NAME}",
        cfg.sample_rate
    ));
    if folded {
        q.push_str("&units=samples&aggregationType=sum");
    }
    Ok(q)
}

enum Attempt {
    NotSent(String),
    Retryable(u16, String),
    Fatal(Error),
}

fn send(cfg: &PyroscopeConfig, query: &str, content_type: &str, body: &[u8]) -> Result<(), Error> {
    let base = cfg.url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::Config(format!(
            "the server URL must start with http:// or https://, not {:?}",
            without_userinfo(base)
        )));
    }
    if cfg.timeout.is_zero() {
        return Err(Error::Config("the timeout must be positive".into()));
    }
    if let Some(t) = &cfg.token
        && (t.is_empty() || t.chars().any(|c| c.is_control()))
    {
        return Err(Error::Config(
            "the token is empty or holds control characters".into(),
        ));
    }
    let url = format!("{base}/ingest?{query}");
    let shown = without_userinfo(base);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("perfhub/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let scrub = |s: String| match &cfg.token {
        Some(t) => s.replace(t.as_str(), "[redacted]"),
        None => s,
    };
    let attempts_allowed = cfg.retries.saturating_add(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut req = agent.post(&url).header("Content-Type", content_type);
        if let Some(t) = &cfg.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut retry_after = None;
        let outcome = match req.send(body) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        perfhub_core::retry::retry_after(v, std::time::SystemTime::now())
                    });
                let text = resp
                    .body_mut()
                    .with_config()
                    .limit(1024 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                let message = scrub(excerpt(&text));
                match status {
                    200..=299 => return Ok(()),
                    429 | 503 => Attempt::Retryable(status, message),
                    500..=599 => Attempt::Fatal(Error::Server {
                        status,
                        attempts: attempt,
                        message: format!(
                            "{message} (not sent again: the profile may have been stored)"
                        ),
                    }),
                    _ => Attempt::Fatal(Error::Rejected { status, message }),
                }
            }
            Err(e) => {
                let message = scrub(e.to_string());
                match e {
                    ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                        Attempt::NotSent(message)
                    }
                    ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
                        Attempt::NotSent(message)
                    }
                    ureq::Error::Timeout(_) => Attempt::Fatal(Error::Timeout {
                        url: shown.clone(),
                        timeout: cfg.timeout,
                    }),
                    ureq::Error::Io(io)
                        if matches!(
                            io.kind(),
                            ErrorKind::ConnectionRefused
                                | ErrorKind::AddrNotAvailable
                                | ErrorKind::NetworkUnreachable
                                | ErrorKind::HostUnreachable
                        ) =>
                    {
                        Attempt::NotSent(message)
                    }
                    ureq::Error::Io(io) if io.kind() == ErrorKind::TimedOut => {
                        Attempt::Fatal(Error::Timeout {
                            url: shown.clone(),
                            timeout: cfg.timeout,
                        })
                    }
                    _ => Attempt::Fatal(Error::Transport(message)),
                }
            }
        };
        match outcome {
            Attempt::Fatal(e) => return Err(e),
            Attempt::NotSent(_) | Attempt::Retryable(..) if attempt < attempts_allowed => {
                let backoff = perfhub_core::retry::Backoff {
                    retries: cfg.retries,
                    base: cfg.backoff,
                    max: Duration::from_secs(10),
                };
                let wait = backoff.wait(attempt, perfhub_core::retry::jitter(), retry_after);
                std::thread::sleep(wait);
            }
            Attempt::NotSent(message) => {
                return Err(Error::Unreachable {
                    url: shown,
                    attempts: attempt,
                    message,
                });
            }
            Attempt::Retryable(status, message) => {
                return Err(Error::Server {
                    status,
                    attempts: attempt,
                    message,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn builds_sorted_segment_keys() {
        let l = labels(&[("region", "us-west-1"), ("env", "staging")]);
        assert_eq!(
            segment_key("my.app.cpu", &l).unwrap(),
            "my.app.cpu{env=staging,region=us-west-1}"
        );
        assert_eq!(segment_key("app", &BTreeMap::new()).unwrap(), "app{}");
    }

    #[test]
    fn refuses_what_the_key_format_cannot_carry() {
        let bad = |name: &str, l: &[(&str, &str)]| segment_key(name, &labels(l)).unwrap_err();
        assert!(matches!(bad("", &[]), Error::AppName { .. }));
        assert!(matches!(bad("my app", &[]), Error::AppName { .. }));
        assert!(matches!(bad("app{x}", &[]), Error::AppName { .. }));
        for (k, v) in [
            ("", "v"),
            ("a-b", "v"),
            ("a.b", "v"),
            ("__name__", "v"),
            ("k", ""),
            ("k", "a,b"),
            ("k", "a}"),
            ("k", "a=b"),
            ("k", " a"),
            ("k", "~re"),
            ("k", "a\nb"),
        ] {
            let e = bad("app", &[(k, v)]);
            assert!(matches!(e, Error::Label { .. }), "{k}={v}: {e}");
        }
        assert!(segment_key("app", &labels(&[("k", "a b/c:d")])).is_ok());
    }

    #[test]
    fn checks_folded_text() {
        assert!(check_folded("a;b 3\nc 1\n").is_ok());
        assert!(check_folded("").is_err());
        assert!(check_folded("a;b three\n").is_err());
        assert!(check_folded("7\n").is_err());
    }

    #[test]
    fn boundaries_avoid_the_data() {
        let data = b"xx".to_vec();
        let b = boundary(&data);
        let mut tricky = b.as_bytes().to_vec();
        tricky.extend_from_slice(b"tail");
        assert_ne!(
            boundary(&tricky),
            String::from_utf8(tricky.clone()).unwrap()
        );
        assert!(
            !tricky
                .windows(boundary(&tricky).len())
                .any(|w| w == boundary(&tricky).as_bytes())
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let mut cfg = PyroscopeConfig::new("http://x", "a", UNIX_EPOCH, UNIX_EPOCH);
        cfg.token = Some("hunter2-token".into());
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
