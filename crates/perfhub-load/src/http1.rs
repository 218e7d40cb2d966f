//! HTTP/1.1 on the wire: requests serialized once, responses read into a
//! reused buffer and parsed in place (`httparse`), with no allocation per
//! request.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::request::{BodySearch, Check, RequestSpec};

/// A request serialized once, sent many times.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub bytes: Vec<u8>,
    /// A HEAD request's response has no body whatever its headers say.
    pub head: bool,
    pub checks: Vec<Check>,
}

impl Prepared {
    pub fn new(spec: &RequestSpec) -> Prepared {
        let url = &spec.url;
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::new(),
        };
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nHost: {host}\r\n",
            spec.method.as_str()
        );
        for (name, value) in &spec.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        let needs_length =
            !spec.body.is_empty() || matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH");
        if needs_length {
            head.push_str(&format!("Content-Length: {}\r\n", spec.body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&spec.body);
        Prepared {
            bytes,
            head: spec.method.as_str() == "HEAD",
            checks: spec.checks.clone(),
        }
    }
}

/// What went wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The connection could not be made: refused.
    ConnectRefused,
    /// The connection could not be made: another reason.
    Connect,
    /// The peer reset the connection.
    Reset,
    /// The peer closed the connection before a whole response.
    Closed,
    /// No whole response within the timeout.
    Timeout,
    /// The TLS handshake failed (an untrusted certificate, say).
    Tls,
    /// A response perfhub cannot read as HTTP/1.1.
    Protocol,
    /// Another I/O error.
    Io,
}

impl ErrorKind {
    /// A stable name for reports, such as `connect_refused`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::Connect => "connect_error",
            ErrorKind::Reset => "connection_reset",
            ErrorKind::Closed => "connection_closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls_error",
            ErrorKind::Protocol => "protocol_error",
            ErrorKind::Io => "io_error",
        }
    }

    pub(crate) fn of(e: &std::io::Error) -> ErrorKind {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused => ErrorKind::ConnectRefused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => ErrorKind::Reset,
            K::UnexpectedEof => ErrorKind::Closed,
            K::TimedOut => ErrorKind::Timeout,
            K::InvalidData => ErrorKind::Protocol,
            _ => ErrorKind::Io,
        }
    }
}

/// One response, as far as a load test cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub bytes: u64,
    pub checks_passed: bool,
    /// The server asked to close the connection.
    pub close: bool,
}

/// A connection's read buffer, reused for every response.
pub(crate) struct Reader {
    buf: Vec<u8>,
    /// Bytes of `buf` holding data not yet consumed.
    filled: usize,
}

const MAX_HEADERS: usize = 64;
const MAX_HEAD: usize = 64 * 1024;

impl Reader {
    pub fn new() -> Reader {
        Reader {
            buf: vec![0; 16 * 1024],
            filled: 0,
        }
    }

    /// Whether no bytes are left over after the last response.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Result<(), ErrorKind> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match stream.read(&mut self.buf[self.filled..]).await {
            Ok(0) => Err(ErrorKind::Closed),
            Ok(n) => {
                self.filled += n;
                Ok(())
            }
            Err(e) => Err(ErrorKind::of(&e)),
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    /// Reads one whole response and checks it.
    pub async fn read_response<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        request: &Prepared,
    ) -> Result<Response, ErrorKind> {
        // The head.
        let (status, head_len, body, close, header_ok) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            match parsed.parse(&self.buf[..self.filled]) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = parsed.code.unwrap_or(0);
                    let mut length = None;
                    let mut chunked = false;
                    let mut close = parsed.version == Some(0);
                    let header_ok = Check::headers_present(&request.checks, |name| {
                        parsed
                            .headers
                            .iter()
                            .any(|h| h.name.eq_ignore_ascii_case(name))
                    });
                    for h in parsed.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse::<u64>().ok());
                            if length.is_none() {
                                return Err(ErrorKind::Protocol);
                            }
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = h
                                .value
                                .windows(7)
                                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            if h.value.eq_ignore_ascii_case(b"close") {
                                close = true;
                            } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                                close = false;
                            }
                        }
                    }
                    let no_body = request.head
                        || status == 204
                        || status == 304
                        || (100..200).contains(&status);
                    let body = if no_body {
                        Body::Length(0)
                    } else if chunked {
                        Body::Chunked
                    } else if let Some(n) = length {
                        Body::Length(n)
                    } else {
                        Body::UntilClose
                    };
                    break (status, len, body, close, header_ok);
                }
                Ok(httparse::Status::Partial) => {
                    if self.filled >= MAX_HEAD {
                        return Err(ErrorKind::Protocol);
                    }
                    self.fill(stream).await?;
                }
                Err(_) => return Err(ErrorKind::Protocol),
            }
        };
        // The body: consumed as it arrives, and searched on the way.
        let mut search = BodySearch::new(&request.checks);
        self.consume(head_len);
        let mut total = head_len as u64;
        let close = match body {
            Body::Length(n) => {
                let mut left = n;
                loop {
                    let take = (self.filled as u64).min(left) as usize;
                    search.feed(&self.buf[..take]);
                    self.consume(take);
                    left -= take as u64;
                    total += take as u64;
                    if left == 0 {
                        break close;
                    }
                    self.fill(stream).await?;
                }
            }
            Body::UntilClose => loop {
                search.feed(&self.buf[..self.filled]);
                total += self.filled as u64;
                self.filled = 0;
                match self.fill(stream).await {
                    Ok(()) => {}
                    Err(ErrorKind::Closed) => break true,
                    Err(e) => return Err(e),
                }
            },
            Body::Chunked => {
                loop {
                    // A chunk-size line.
                    let line_end = loop {
                        if let Some(i) = self.buf[..self.filled]
                            .windows(2)
                            .position(|w| w == b"\r\n")
                        {
                            break i;
                        }
                        if self.filled >= MAX_HEAD {
                            return Err(ErrorKind::Protocol);
                        }
                        self.fill(stream).await?;
                    };
                    let size_text = std::str::from_utf8(&self.buf[..line_end])
                        .map_err(|_| ErrorKind::Protocol)?;
                    let size_text = size_text.split(';').next().unwrap_or("").trim();
                    let size =
                        u64::from_str_radix(size_text, 16).map_err(|_| ErrorKind::Protocol)?;
                    self.consume(line_end + 2);
                    total += line_end as u64 + 2;
                    if size == 0 {
                        // Trailers, up to an empty line.
                        loop {
                            if let Some(i) = self.buf[..self.filled]
                                .windows(2)
                                .position(|w| w == b"\r\n")
                            {
                                self.consume(i + 2);
                                total += i as u64 + 2;
                                if i == 0 {
                                    break;
                                }
                                continue;
                            }
                            if self.filled >= MAX_HEAD {
                                return Err(ErrorKind::Protocol);
                            }
                            self.fill(stream).await?;
                        }
                        break close;
                    }
                    // The chunk and its CRLF.
                    let mut left = size + 2;
                    loop {
                        let take = (self.filled as u64).min(left) as usize;
                        let data = take.min(left.saturating_sub(2) as usize);
                        search.feed(&self.buf[..data]);
                        self.consume(take);
                        left -= take as u64;
                        total += take as u64;
                        if left == 0 {
                            break;
                        }
                        self.fill(stream).await?;
                    }
                }
            }
        };
        Ok(Response {
            status,
            bytes: total,
            checks_passed: Check::status_passes(&request.checks, status)
                && header_ok
                && search.found(),
            close,
        })
    }
}

enum Body {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Sends `request` on `stream`.
pub(crate) async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    request: &Prepared,
) -> Result<u64, ErrorKind> {
    stream
        .write_all(&request.bytes)
        .await
        .map_err(|e| ErrorKind::of(&e))?;
    // A no-op on plain TCP; under TLS, sends what the TLS layer holds.
    stream.flush().await.map_err(|e| ErrorKind::of(&e))?;
    Ok(request.bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Method, RequestSpec, parse_url};

    fn prepared(checks: Vec<Check>) -> Prepared {
        let mut spec = RequestSpec::get(parse_url("http://127.0.0.1:8080/a?b=1").unwrap());
        spec.checks = checks;
        Prepared::new(&spec)
    }

    async fn read(bytes: &[u8], request: &Prepared) -> Result<Response, ErrorKind> {
        let mut stream: &[u8] = bytes;
        Reader::new().read_response(&mut stream, request).await
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn serializes_requests() {
        let mut spec = RequestSpec::get(parse_url("http://localhost:8080/x?y=z").unwrap());
        spec.method = Method::parse("POST").unwrap();
        spec.headers.push(("X-A".into(), "1".into()));
        spec.body = b"hi".to_vec();
        let p = Prepared::new(&spec);
        assert_eq!(
            String::from_utf8(p.bytes).unwrap(),
            "POST /x?y=z HTTP/1.1\r\nHost: localhost:8080\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi"
        );
    }

    #[test]
    fn reads_length_chunked_and_until_close_bodies() {
        block_on(async {
            let r = read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                &prepared(vec![]),
            )
            .await
            .unwrap();
            assert_eq!((r.status, r.bytes, r.close), (200, 43, false));

            let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: 1\r\n\r\n";
            let check = prepared(vec![Check::BodyContains("lo wo".into())]);
            let r = read(chunked, &check).await.unwrap();
            assert_eq!(r.bytes, chunked.len() as u64);
            assert!(r.checks_passed);

            let r = read(b"HTTP/1.0 200 OK\r\n\r\nuntil close", &prepared(vec![]))
                .await
                .unwrap();
            assert!(r.close);
        });
    }

    #[test]
    fn checks_status_body_and_headers() {
        block_on(async {
            let resp = b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nX-Trace: 1\r\n\r\nbusy";
            let ok = prepared(vec![Check::Status(vec![(200, 299)])]);
            assert!(!read(resp, &ok).await.unwrap().checks_passed);
            let any = prepared(vec![
                Check::Status(vec![(500, 599)]),
                Check::HeaderPresent("x-trace".into()),
                Check::BodyContains("bus".into()),
            ]);
            assert!(read(resp, &any).await.unwrap().checks_passed);
            let missing = prepared(vec![Check::HeaderPresent("x-other".into())]);
            assert!(!read(resp, &missing).await.unwrap().checks_passed);
        });
    }

    #[test]
    fn bad_or_cut_responses_are_errors() {
        block_on(async {
            let p = prepared(vec![]);
            assert_eq!(read(b"garbage\r\n\r\n", &p).await, Err(ErrorKind::Protocol));
            assert_eq!(
                read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", &p).await,
                Err(ErrorKind::Closed)
            );
            assert_eq!(
                read(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", &p).await,
                Err(ErrorKind::Protocol)
            );
            assert_eq!(read(b"HTTP/1.1 200", &p).await, Err(ErrorKind::Closed));
        });
    }
}
