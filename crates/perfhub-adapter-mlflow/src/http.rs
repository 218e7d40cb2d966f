//! One MLflow REST call at a time, with the retry policy of each.

use std::io::ErrorKind;
use std::time::Duration;

use perfhub_core::text::{excerpt, percent_encode, without_userinfo};
use serde_json::Value;

use crate::MlflowConfig;
use crate::error::Error;

/// Whether a call may be sent again after an attempt whose outcome is
/// unknown (a timeout, a broken connection, a 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, and writes the server applies idempotently.
    Always,
    /// Writes that could apply twice: retried only when the request
    /// certainly did not reach the server (no connection, 429); an unknown
    /// outcome is returned as [`Failure::Unknown`] for the caller to settle.
    WhenUnsent,
}

/// The outcome of the attempts of one call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A definite error.
    Fatal(Error),
    /// A `WhenUnsent` call whose last attempt may or may not have been
    /// applied; the error to report if the caller cannot settle it.
    Unknown(Error),
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Fatal(e) | Failure::Unknown(e) => e,
        }
    }
}

/// What one attempt ran into.
enum Attempt {
    /// Nothing reached the server.
    NotSent(String),
    /// HTTP 429: refused before any work; wait and send again.
    Throttled(Option<Duration>, String),
    /// The request may have been applied.
    Timeout,
    Broken(String),
    ServerError(u16, String, Option<Duration>),
    /// A final answer.
    Refused(u16, String, String),
    Protocol(String),
}

pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    display_url: String,
    token: Option<String>,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl Client {
    pub(crate) fn new(cfg: &MlflowConfig) -> Result<Client, Error> {
        let base = cfg.tracking_uri.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!(
                "the tracking URI must start with http:// or https://, not {:?}",
                without_userinfo(&base)
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("perfhub/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            agent,
            display_url: without_userinfo(&base),
            base,
            token: cfg.token.clone(),
            timeout: cfg.timeout,
            retries: cfg.retries,
            backoff: cfg.backoff,
        })
    }

    pub(crate) fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Removes the token from text that came from outside (a body that
    /// echoes the request, an HTTP stack message).
    fn scrub(&self, text: &str) -> String {
        match &self.token {
            Some(t) if !t.is_empty() => text.replace(t.as_str(), "[redacted]"),
            _ => text.to_string(),
        }
    }

    /// `GET api/2.0/mlflow/<path>?<query>`.
    pub(crate) fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
        let mut url = format!("{}/api/2.0/mlflow/{path}", self.base);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&percent_encode(k));
            url.push('=');
            url.push_str(&percent_encode(v));
        }
        self.call("GET", path, &url, None, Retry::Always)
    }

    /// `POST api/2.0/mlflow/<path>` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &Value, retry: Retry) -> Result<Value, Failure> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let text = body.to_string();
        self.call("POST", path, &url, Some(&text), retry)
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        url: &str,
        body: Option<&str>,
        retry: Retry,
    ) -> Result<Value, Failure> {
        let endpoint = format!("{method} {path}");
        let attempts_allowed = self.retries.saturating_add(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.attempt(method, url, body);
            let last = attempt >= attempts_allowed;
            let (retryable, wait_hint) = match &outcome {
                Ok(_) => (false, None),
                Err(Attempt::NotSent(_)) => (true, None),
                Err(Attempt::Throttled(hint, _)) => (true, *hint),
                Err(Attempt::Timeout | Attempt::Broken(_)) => (retry == Retry::Always, None),
                Err(Attempt::ServerError(_, _, hint)) => (retry == Retry::Always, *hint),
                Err(Attempt::Refused(..) | Attempt::Protocol(_)) => (false, None),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(_) if retryable && !last => {
                    std::thread::sleep(self.delay(attempt, wait_hint));
                }
                Err(a) => return Err(self.failure(a, &endpoint, attempt, retry)),
            }
        }
    }

    /// The wait before attempt `attempt + 1`: perfhub's backoff (doubling,
    /// jittered, capped at 10 s), never shorter than the server's
    /// `Retry-After`.
    fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let backoff = perfhub_core::retry::Backoff {
            retries: self.retries,
            base: self.backoff,
            max: Duration::from_secs(10),
        };
        backoff.wait(attempt, perfhub_core::retry::jitter(), hint)
    }

    fn failure(&self, a: Attempt, endpoint: &str, attempts: u32, retry: Retry) -> Failure {
        let unknown = |e| {
            if retry == Retry::WhenUnsent {
                Failure::Unknown(e)
            } else {
                Failure::Fatal(e)
            }
        };
        match a {
            Attempt::NotSent(message) => Failure::Fatal(Error::Unreachable {
                url: self.display_url.clone(),
                attempts,
                message,
            }),
            Attempt::Throttled(_, message) => Failure::Fatal(Error::Server {
                endpoint: endpoint.to_string(),
                status: 429,
                attempts,
                message,
            }),
            Attempt::Timeout => unknown(Error::Timeout {
                url: self.display_url.clone(),
                endpoint: endpoint.to_string(),
                timeout: self.timeout,
                attempts,
            }),
            Attempt::Broken(message) => unknown(Error::Transport {
                endpoint: endpoint.to_string(),
                attempts,
                message,
            }),
            Attempt::ServerError(status, message, _) => unknown(Error::Server {
                endpoint: endpoint.to_string(),
                status,
                attempts,
                message,
            }),
            Attempt::Refused(status, error_code, message) => Failure::Fatal(Error::Rejected {
                endpoint: endpoint.to_string(),
                status,
                error_code,
                message,
            }),
            Attempt::Protocol(message) => Failure::Fatal(Error::Protocol {
                endpoint: endpoint.to_string(),
                message,
            }),
        }
    }

    fn attempt(&self, method: &str, url: &str, body: Option<&str>) -> Result<Value, Attempt> {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = if method == "GET" {
            let mut req = self.agent.get(url).header("Accept", "application/json");
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        } else {
            let mut req = self
                .agent
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.send(body.unwrap_or("{}"))
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return Err(self.classify(e)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| perfhub_core::retry::retry_after(v, std::time::SystemTime::now()));
        let text = match response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
        {
            Ok(t) => t,
            Err(e) if (200..300).contains(&status) => return Err(self.classify(e)),
            Err(_) => String::new(),
        };
        let text = self.scrub(&text);
        if (200..300).contains(&status) {
            return if text.trim().is_empty() {
                Ok(Value::Object(Default::default()))
            } else {
                serde_json::from_str(&text).map_err(|e| {
                    Attempt::Protocol(format!(
                        "HTTP {status} body is not JSON ({e}): {}",
                        excerpt(&text)
                    ))
                })
            };
        }
        let (code, message) = mlflow_error(&text);
        match status {
            429 => Err(Attempt::Throttled(retry_after, message)),
            500..=599 => Err(Attempt::ServerError(status, message, retry_after)),
            _ => Err(Attempt::Refused(
                status,
                code.unwrap_or_else(|| "(no error_code)".into()),
                message,
            )),
        }
    }

    fn classify(&self, e: ureq::Error) -> Attempt {
        let message = self.scrub(&e.to_string());
        match e {
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => Attempt::NotSent(message),
            ureq::Error::Timeout(t) => match t {
                ureq::Timeout::Resolve | ureq::Timeout::Connect => Attempt::NotSent(message),
                _ => Attempt::Timeout,
            },
            ureq::Error::Io(io) => match io.kind() {
                ErrorKind::ConnectionRefused
                | ErrorKind::AddrNotAvailable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::HostUnreachable => Attempt::NotSent(message),
                ErrorKind::TimedOut | ErrorKind::WouldBlock => Attempt::Timeout,
                _ => Attempt::Broken(message),
            },
            _ => Attempt::Broken(message),
        }
    }
}

/// MLflow's `{"error_code": ..., "message": ...}`, or the start of the body.
fn mlflow_error(text: &str) -> (Option<String>, String) {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let code = v
            .get("error_code")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return (code, m.to_string());
        }
        if code.is_some() {
            return (code, String::new());
        }
    }
    (None, excerpt(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mlflow_errors() {
        let (c, m) = mlflow_error(r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no"}"#);
        assert_eq!(c.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
        assert_eq!(m, "no");
        let (c, m) = mlflow_error("<html>oops</html>");
        assert_eq!(c, None);
        assert_eq!(m, "<html>oops</html>");
    }
}
