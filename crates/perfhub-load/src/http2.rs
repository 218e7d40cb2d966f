//! HTTP/2 on the wire (the `h2` crate). Each load connection is one HTTP/2
//! connection; with `--streams N` up to N requests are in flight on it at
//! once (h2load's `-m`), each stream sent by a lane of its own that shares
//! the connection, and never more than the server's
//! SETTINGS_MAX_CONCURRENT_STREAMS (`h2` holds a request until a stream is
//! free). A request the server did not process is sent again: after a
//! GOAWAY on a new connection, after REFUSED_STREAM on the same one (whose
//! limit is known by then).

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::http1::{ErrorKind, Response};
use crate::request::{BodySearch, Check, RequestSpec};

/// A request in the form `h2` sends.
#[derive(Debug, Clone)]
pub(crate) struct Prepared2 {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
    checks: Vec<Check>,
}

impl Prepared2 {
    pub fn new(spec: &RequestSpec) -> Result<Prepared2, String> {
        let method = http::Method::from_bytes(spec.method.as_str().as_bytes())
            .map_err(|e| format!("{}: {e}", spec.method.as_str()))?;
        let uri: http::Uri = spec
            .url
            .to_string()
            .parse()
            .map_err(|e| format!("{}: {e}", spec.url))?;
        let mut headers = http::HeaderMap::new();
        for (name, value) in &spec.headers {
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "keep-alive" | "proxy-connection" | "upgrade"
            ) || (lower == "te" && !value.eq_ignore_ascii_case("trailers"))
            {
                return Err(format!(
                    "{name} is a connection-specific header, which HTTP/2 forbids (RFC 9113, 8.2.2); leave it out"
                ));
            }
            let name = http::HeaderName::from_bytes(lower.as_bytes())
                .map_err(|e| format!("header {name:?}: {e}"))?;
            let value =
                http::HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
            headers.append(name, value);
        }
        Ok(Prepared2 {
            method,
            uri,
            headers,
            body: Bytes::from(spec.body.clone()),
            checks: spec.checks.clone(),
        })
    }
}

/// An HTTP/2 connection's sending half; clones share the connection.
#[derive(Clone)]
pub(crate) struct Connection {
    send: h2::client::SendRequest<Bytes>,
}

fn kind(e: &h2::Error) -> ErrorKind {
    match e.get_io() {
        Some(io) => ErrorKind::of(io),
        // Not processed by the server, so safe to send again (RFC 9113,
        // 8.7): streams it refused (more than its
        // SETTINGS_MAX_CONCURRENT_STREAMS, sent before its SETTINGS
        // arrived), and those a graceful GOAWAY left out.
        None if e.reason() == Some(h2::Reason::REFUSED_STREAM) => ErrorKind::RefusedStream,
        None if e.is_go_away() && e.reason() == Some(h2::Reason::NO_ERROR) => ErrorKind::GoAway,
        None if e.is_go_away() || e.is_reset() => ErrorKind::Reset,
        None => ErrorKind::Protocol,
    }
}

impl Connection {
    /// The HTTP/2 handshake over `io`; the connection's driver runs as a
    /// task on the current `LocalSet`.
    pub async fn handshake<S>(io: S) -> Result<Connection, ErrorKind>
    where
        S: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        // One stream until the server's SETTINGS say how many it takes:
        // servers differ in how they treat streams beyond their limit
        // (nginx refuses them, others reset the connection).
        let (send, driver) = h2::client::Builder::new()
            .initial_max_send_streams(1)
            .handshake(io)
            .await
            .map_err(|e| kind(&e))?;
        tokio::task::spawn_local(async move {
            let _ = driver.await;
        });
        Ok(Connection { send })
    }

    /// Sends one request and reads its whole response.
    pub async fn exchange(&mut self, request: &Prepared2) -> Result<(Response, u64), ErrorKind> {
        let mut send = self.send.clone().ready().await.map_err(|e| kind(&e))?;
        let mut head = http::Request::new(());
        *head.method_mut() = request.method.clone();
        *head.uri_mut() = request.uri.clone();
        *head.headers_mut() = request.headers.clone();
        let end = request.body.is_empty();
        let (response, mut body_tx) = send.send_request(head, end).map_err(|e| kind(&e))?;
        if !end {
            body_tx
                .send_data(request.body.clone(), true)
                .map_err(|e| kind(&e))?;
        }
        let response = response.await.map_err(|e| kind(&e))?;
        let status = response.status().as_u16();
        let header_ok = Check::headers_present(&request.checks, |name| {
            response
                .headers()
                .contains_key(name.to_ascii_lowercase().as_str())
        });
        let mut search = BodySearch::new(&request.checks);
        let mut bytes = 0u64;
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| kind(&e))?;
            bytes += chunk.len() as u64;
            search.feed(&request.checks, &chunk);
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        self.send = send;
        Ok((
            Response {
                status,
                bytes,
                checks_passed: Check::status_passes(&request.checks, status)
                    && header_ok
                    && search.found(),
                close: false,
            },
            request.body.len() as u64,
        ))
    }
}
