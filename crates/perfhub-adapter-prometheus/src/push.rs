//! Pushing to a Prometheus Pushgateway.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use perfhub_core::report::Report;

use crate::exposition::{Format, Source, exposition_labeled};
use crate::names::is_valid_label_name;
use crate::{Error, TransportKind};

/// How a push treats the metrics already in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushMethod {
    /// `PUT`: the pushed metrics replace the whole group. Idempotent, so
    /// retried after timeouts and 5xx answers too.
    Put,
    /// `POST`: the pushed metrics replace only the metrics of the same names
    /// in the group. Retried only when the connection could not be opened,
    /// where the request certainly did not arrive.
    Post,
}

impl PushMethod {
    fn as_str(self) -> &'static str {
        match self {
            PushMethod::Put => "PUT",
            PushMethod::Post => "POST",
        }
    }
}

/// Where and how to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    /// The Pushgateway's base URL, such as `http://127.0.0.1:9091`.
    pub url: String,
    /// The `job` of the grouping key.
    pub job: String,
    /// The other labels of the grouping key, in order, such as
    /// `("instance", "ci-runner-3")`. Values may be anything, including
    /// empty or containing `/`: those travel base64-encoded.
    pub grouping: Vec<(String, String)>,
    /// `PUT` (replace the group) or `POST` (merge into it).
    pub method: PushMethod,
    /// The limit on each attempt, connecting included.
    pub timeout: Duration,
    /// Attempts after the first one, where a retry is safe.
    pub retries: u32,
    /// The wait before the first retry; each later wait doubles, up to 30 s.
    pub backoff: Duration,
}

impl PushConfig {
    /// A `PUT` of `job` to the Pushgateway at `url`, with a 10 s timeout and
    /// 3 retries after 0.5 s, 1 s and 2 s.
    pub fn new(url: impl Into<String>, job: impl Into<String>) -> Self {
        PushConfig {
            url: url.into(),
            job: job.into(),
            grouping: Vec::new(),
            method: PushMethod::Put,
            timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// What a successful push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The URL of the group.
    pub url: String,
    /// The attempts it took.
    pub attempts: u32,
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an error answer's body goes into the error.
const MAX_ERROR_BODY: usize = 2048;

/// Pushes `report` in the text format 0.0.4, without timestamps (the
/// Pushgateway refuses them).
pub fn push(config: &PushConfig, report: &Report) -> Result<Pushed, Error> {
    push_reports(
        config,
        &[Source {
            report,
            labels: &[],
        }],
    )
}

/// Pushes several reports, each with its own labels, as one group.
pub fn push_reports(config: &PushConfig, sources: &[Source<'_>]) -> Result<Pushed, Error> {
    let body = exposition_labeled(sources, Format::Prometheus);
    push_text(config, &body)
}

/// Pushes an exposition in the text format 0.0.4 as it is.
pub fn push_text(config: &PushConfig, body: &str) -> Result<Pushed, Error> {
    let url = group_url(config)?;
    send(config, config.method.as_str(), &url, Some(body))
}

/// Deletes the group (`DELETE`), retried like a `PUT`.
pub fn delete_group(config: &PushConfig) -> Result<Pushed, Error> {
    let url = group_url(config)?;
    send(config, "DELETE", &url, None)
}

/// The URL of the group: `<url>/metrics/job/<job>/<label>/<value>...`, each
/// value that is empty, a dot segment or not made of URL-safe characters
/// written as `<label>@base64/<URL-safe base64>`.
pub fn group_url(config: &PushConfig) -> Result<String, Error> {
    let base = config.url.trim().trim_end_matches('/');
    let bad_url = |reason: &str| Error::Url {
        url: config.url.clone(),
        reason: reason.to_string(),
    };
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or_else(|| bad_url("it must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad_url("it has no host"));
    }
    if rest.contains(['?', '#']) || rest.contains(char::is_whitespace) {
        return Err(bad_url(
            "give the Pushgateway's base URL, without a query, fragment or spaces",
        ));
    }
    if config.job.is_empty() {
        return Err(Error::Grouping("the job name is empty".into()));
    }
    let mut url = format!("{base}/metrics");
    url.push_str(&segment("job", &config.job));
    for (i, (name, value)) in config.grouping.iter().enumerate() {
        if name == "job" {
            return Err(Error::Grouping(
                "`job` is set by the job name, not by a grouping label".into(),
            ));
        }
        if !is_valid_label_name(name) {
            return Err(Error::Grouping(format!(
                "{name:?} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            )));
        }
        if config.grouping[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::Grouping(format!("label {name:?} is given twice")));
        }
        url.push_str(&segment(name, value));
    }
    Ok(url)
}

fn segment(name: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if plain {
        format!("/{name}/{value}")
    } else if value.is_empty() {
        // The Pushgateway's spelling of an empty value.
        format!("/{name}@base64/=")
    } else {
        format!("/{name}@base64/{}", URL_SAFE.encode(value))
    }
}

enum Failure {
    Status {
        status: u16,
        body: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    Transport {
        kind: TransportKind,
        message: String,
    },
}

fn send(
    config: &PushConfig,
    method: &'static str,
    url: &str,
    body: Option<&str>,
) -> Result<Pushed, Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(config.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("perfhub/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let failure = match attempt(&agent, method, url, body) {
            Ok(()) => {
                return Ok(Pushed {
                    url: url.to_string(),
                    attempts,
                });
            }
            Err(f) => f,
        };
        let retry_safe = match &failure {
            Failure::Status { status, .. } => {
                (*status >= 500 || *status == 429) && method != "POST"
            }
            Failure::Transport { kind, .. } => *kind == TransportKind::Connect || method != "POST",
        };
        if !retry_safe || attempts > config.retries {
            return Err(match failure {
                Failure::Status { status, body, .. } => Error::Status {
                    method,
                    url: url.to_string(),
                    status,
                    body,
                    attempts,
                },
                Failure::Transport { kind, message } => Error::Transport {
                    method,
                    url: url.to_string(),
                    kind,
                    message,
                    attempts,
                },
            });
        }
        let retry_after = match &failure {
            Failure::Status { retry_after, .. } => *retry_after,
            Failure::Transport { .. } => None,
        };
        let backoff = perfhub_core::retry::Backoff {
            retries: config.retries,
            base: config.backoff,
            max: MAX_BACKOFF,
        };
        std::thread::sleep(backoff.wait(attempts, perfhub_core::retry::jitter(), retry_after));
    }
}

fn attempt(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> Result<(), Failure> {
    let content_type = Format::Prometheus.content_type();
    let result = match (method, body) {
        ("PUT", Some(b)) => agent
            .put(url)
            .header("Content-Type", content_type)
            .send(b.as_bytes()),
        ("POST", Some(b)) => agent
            .post(url)
            .header("Content-Type", content_type)
            .send(b.as_bytes()),
        _ => agent.delete(url).call(),
    };
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| perfhub_core::retry::retry_after(v, std::time::SystemTime::now()));
            let text = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_else(|e| format!("(the body could not be read: {e})"));
            Err(Failure::Status {
                status,
                body: clip(text.trim()),
                retry_after,
            })
        }
        Err(e) => Err(Failure::Transport {
            kind: classify(&e),
            message: e.to_string(),
        }),
    }
}

fn classify(e: &ureq::Error) -> TransportKind {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
            TransportKind::Connect
        }
        ureq::Error::Timeout(_) => TransportKind::Timeout,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => TransportKind::Connect,
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NotFound => TransportKind::Connect,
            K::TimedOut | K::WouldBlock => TransportKind::Timeout,
            _ => TransportKind::Other,
        },
        _ => TransportKind::Other,
    }
}

fn clip(text: &str) -> String {
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    if text.len() <= MAX_ERROR_BODY {
        return text.to_string();
    }
    let mut end = MAX_ERROR_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(job: &str, grouping: &[(&str, &str)]) -> PushConfig {
        let mut c = PushConfig::new("http://127.0.0.1:9091/", job);
        c.grouping = grouping
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c
    }

    #[test]
    fn grouping_keys_are_encoded_as_the_pushgateway_reads_them() {
        assert_eq!(
            group_url(&config("bench", &[("instance", "ci-1.x")])).unwrap(),
            "http://127.0.0.1:9091/metrics/job/bench/instance/ci-1.x"
        );
        // URL-safe base64 for a value with `/`; `=` for an empty one.
        assert_eq!(
            group_url(&config("a/b", &[("path", "/var/tmp"), ("empty", "")])).unwrap(),
            "http://127.0.0.1:9091/metrics/job@base64/YS9i/path@base64/L3Zhci90bXA=/empty@base64/="
        );
        assert_eq!(
            group_url(&config("x", &[("q", "??>"), ("dot", "..")])).unwrap(),
            "http://127.0.0.1:9091/metrics/job/x/q@base64/Pz8-/dot@base64/Li4="
        );
    }

    #[test]
    fn bad_grouping_keys_and_urls_are_refused_before_sending() {
        for (c, needle) in [
            (config("", &[]), "job name is empty"),
            (config("j", &[("job", "x")]), "`job`"),
            (config("j", &[("1a", "x")]), "not a valid label name"),
            (config("j", &[("__a", "x")]), "not a valid label name"),
            (config("j", &[("a", "x"), ("a", "y")]), "twice"),
        ] {
            let e = group_url(&c).unwrap_err();
            assert!(matches!(e, Error::Grouping(_)), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        }
        for url in ["127.0.0.1:9091", "ftp://x", "http://", "http://h/?a=1"] {
            let mut c = config("j", &[]);
            c.url = url.into();
            assert!(matches!(group_url(&c), Err(Error::Url { .. })), "{url}");
        }
    }

    #[test]
    fn long_bodies_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(3000);
        let clipped = clip(&long);
        assert!(clipped.len() < 2100);
        assert!(clipped.ends_with("(6000 bytes in all)"));
        assert_eq!(clip(""), "(empty body)");
    }
}
