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
        let mut head = String::new();
        write_request_line(&mut head, spec.method.as_str(), &spec.url);
        for (name, value) in &spec.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        if needs_length(spec.method.as_str(), spec.body.len()) {
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

/// Appends the request line of `method` on `url` and its `Host` header,
/// each ended by CRLF.
pub(crate) fn write_request_line(out: &mut String, method: &str, url: &crate::request::Url) {
    out.push_str(method);
    out.push(' ');
    out.push_str(url.path());
    if let Some(q) = url.query() {
        out.push('?');
        out.push_str(q);
    }
    out.push_str(" HTTP/1.1\r\nHost: ");
    out.push_str(url.host_str().unwrap_or_default());
    if let Some(p) = url.port() {
        out.push(':');
        out.push_str(&p.to_string());
    }
    out.push_str("\r\n");
}

/// Whether a request says how long its body is: when it has one, and for
/// the methods that expect one (an empty POST says `Content-Length: 0`).
pub(crate) fn needs_length(method: &str, body_len: usize) -> bool {
    body_len > 0 || matches!(method, "POST" | "PUT" | "PATCH")
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
    /// An HTTP/2 server going away (GOAWAY) before processing the request,
    /// on the retries too.
    GoAway,
    /// An HTTP/2 server refusing the request's stream (REFUSED_STREAM), on
    /// the retries too.
    RefusedStream,
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
            ErrorKind::GoAway => "goaway",
            ErrorKind::RefusedStream => "refused_stream",
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
    #[cfg(test)]
    pub fn new() -> Reader {
        Reader::with_capacity(16 * 1024)
    }

    /// A reader whose buffer starts at `bytes` (it grows when a head or a
    /// line needs more).
    pub fn with_capacity(bytes: usize) -> Reader {
        Reader {
            buf: vec![0; bytes.max(1024)],
            filled: 0,
        }
    }

    /// The buffer for each of `lanes` connections: 16 KiB, less when there
    /// are so many that the buffers would pass 32 MiB in all (4 KiB at
    /// least), so that 10,000 virtual users stay small.
    pub fn for_lanes(lanes: usize) -> Reader {
        Reader::with_capacity(((32 << 20) / lanes.max(1)).clamp(4 * 1024, 16 * 1024))
    }

    /// Whether no bytes are left over after the last response.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Forgets what is buffered (the connection it came from is gone).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Room for the next read, grown when the buffer is full.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        &mut self.buf[self.filled..]
    }

    /// Takes in `n` bytes just read into `spare()`.
    pub fn filled(&mut self, n: usize) {
        self.filled += n;
    }

    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Result<(), ErrorKind> {
        match stream.read(self.spare()).await {
            Ok(0) => Err(ErrorKind::Closed),
            Ok(n) => {
                self.filled(n);
                Ok(())
            }
            Err(e) => Err(ErrorKind::of(&e)),
        }
    }

    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    /// The position of the first CRLF in what is buffered.
    fn line_end(&self) -> Option<usize> {
        self.buf[..self.filled]
            .windows(2)
            .position(|w| w == b"\r\n")
    }

    /// Reads one whole response and checks it, giving `sink` its headers
    /// and body as they are read.
    pub async fn read_response<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        request: &Prepared,
        sink: &mut dyn Sink,
    ) -> Result<Response, ErrorKind> {
        let mut parse = Parse::new(request);
        loop {
            if let Some(response) = parse.advance(self, request, sink)? {
                return Ok(response);
            }
            match self.fill(stream).await {
                Ok(()) => {}
                Err(ErrorKind::Closed) => return parse.closed(request),
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a response's reader passes on beyond the checks: the values a
/// virtual user extracts and the cookies it keeps (see `flow`).
pub(crate) trait Sink {
    /// Whether `header` and `body` want to be called at all.
    fn wants(&self) -> bool {
        true
    }
    /// One header of the final response.
    fn header(&mut self, name: &str, value: &[u8]);
    /// The next piece of the final response's body.
    fn body(&mut self, data: &[u8]);
}

/// A sink that takes nothing.
pub(crate) struct NoSink;

impl Sink for NoSink {
    fn wants(&self) -> bool {
        false
    }
    fn header(&mut self, _: &str, _: &[u8]) {}
    fn body(&mut self, _: &[u8]) {}
}

/// One response being read, without I/O of its own: each call to
/// [`Parse::advance`] takes what it can of the bytes a [`Reader`] holds, so
/// the async path and the epoll loop read responses with the same code.
/// It holds no borrow: the request is given to each call, so a request a
/// virtual user writes anew can be read from the user's own state.
pub(crate) struct Parse {
    state: State,
    search: BodySearch,
    status: u16,
    close: bool,
    header_ok: bool,
    /// Bytes of the response so far.
    total: u64,
}

#[derive(Clone, Copy)]
enum State {
    Head,
    /// This many body bytes are left.
    Length(u64),
    UntilClose,
    /// A chunk-size line is next.
    ChunkSize,
    /// This many bytes of a chunk and its CRLF are left.
    ChunkData(u64),
    Trailers,
}

impl Parse {
    pub fn new(request: &Prepared) -> Parse {
        Parse {
            state: State::Head,
            search: BodySearch::new(&request.checks),
            status: 0,
            close: false,
            header_ok: true,
            total: 0,
        }
    }

    fn done(&self, request: &Prepared, close: bool) -> Response {
        Response {
            status: self.status,
            bytes: self.total,
            checks_passed: Check::status_passes(&request.checks, self.status)
                && self.header_ok
                && self.search.found(),
            close,
        }
    }

    /// The connection closed: a response read until close ends here, any
    /// other is cut short.
    pub fn closed(&self, request: &Prepared) -> Result<Response, ErrorKind> {
        match self.state {
            State::UntilClose => Ok(self.done(request, true)),
            _ => Err(ErrorKind::Closed),
        }
    }

    /// Consumes what it can of `reader`'s bytes: the response once it is
    /// whole, `None` while more bytes are needed.
    pub fn advance(
        &mut self,
        reader: &mut Reader,
        request: &Prepared,
        sink: &mut dyn Sink,
    ) -> Result<Option<Response>, ErrorKind> {
        loop {
            match self.state {
                State::Head => {
                    if !self.head(reader, request, sink)? {
                        return Ok(None);
                    }
                }
                State::Length(left) => {
                    let take = (reader.filled as u64).min(left) as usize;
                    self.search.feed(&request.checks, &reader.buf[..take]);
                    sink.body(&reader.buf[..take]);
                    reader.consume(take);
                    self.total += take as u64;
                    if left == take as u64 {
                        return Ok(Some(self.done(request, self.close)));
                    }
                    self.state = State::Length(left - take as u64);
                    return Ok(None);
                }
                State::UntilClose => {
                    self.search
                        .feed(&request.checks, &reader.buf[..reader.filled]);
                    sink.body(&reader.buf[..reader.filled]);
                    self.total += reader.filled as u64;
                    reader.filled = 0;
                    return Ok(None);
                }
                State::ChunkSize => {
                    let Some(end) = reader.line_end() else {
                        return too_long(reader);
                    };
                    let text =
                        std::str::from_utf8(&reader.buf[..end]).map_err(|_| ErrorKind::Protocol)?;
                    let text = text.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(text, 16).map_err(|_| ErrorKind::Protocol)?;
                    reader.consume(end + 2);
                    self.total += end as u64 + 2;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        // The chunk and its CRLF.
                        State::ChunkData(size.checked_add(2).ok_or(ErrorKind::Protocol)?)
                    };
                }
                State::ChunkData(left) => {
                    let take = (reader.filled as u64).min(left) as usize;
                    // The chunk's data, not its closing CRLF.
                    let data = take.min(left.saturating_sub(2) as usize);
                    self.search.feed(&request.checks, &reader.buf[..data]);
                    sink.body(&reader.buf[..data]);
                    reader.consume(take);
                    self.total += take as u64;
                    if left == take as u64 {
                        self.state = State::ChunkSize;
                    } else {
                        self.state = State::ChunkData(left - take as u64);
                        return Ok(None);
                    }
                }
                State::Trailers => {
                    // Trailer lines, up to an empty one.
                    let Some(end) = reader.line_end() else {
                        return too_long(reader);
                    };
                    reader.consume(end + 2);
                    self.total += end as u64 + 2;
                    if end == 0 {
                        return Ok(Some(self.done(request, self.close)));
                    }
                }
            }
        }
    }

    /// Parses a head once it is all there; false while it is not. After an
    /// interim (1xx) head the state is still `Head`: the final one is next.
    fn head(
        &mut self,
        reader: &mut Reader,
        request: &Prepared,
        sink: &mut dyn Sink,
    ) -> Result<bool, ErrorKind> {
        // Uninitialized header slots: filling 64 of them for every response
        // would cost more than parsing a short head.
        let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut parsed,
            &reader.buf[..reader.filled],
            &mut headers,
        ) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return too_long::<()>(reader).map(|_| false),
            Err(_) => return Err(ErrorKind::Protocol),
        };
        let status = parsed.code.unwrap_or(0);
        let mut length = None;
        let mut chunked = false;
        let mut close = parsed.version == Some(0);
        let checks = &request.checks;
        self.header_ok = Check::headers_present(checks, |name| {
            parsed
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(name))
        });
        for h in parsed.headers.iter() {
            // By length first: most headers are none of these three.
            if h.name.len() == 14 && h.name.eq_ignore_ascii_case("content-length") {
                length = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if length.is_none() {
                    return Err(ErrorKind::Protocol);
                }
            } else if h.name.len() == 17 && h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .windows(7)
                    .any(|w| w.eq_ignore_ascii_case(b"chunked"));
            } else if h.name.len() == 10 && h.name.eq_ignore_ascii_case("connection") {
                if h.value.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                    close = false;
                }
            }
        }
        let interim = (100..200).contains(&status) && status != 101;
        if sink.wants() && !interim {
            for h in parsed.headers.iter() {
                sink.header(h.name, h.value);
            }
        }
        reader.consume(len);
        self.total += len as u64;
        if interim {
            // An interim response (100 Continue, 103 Early Hints): the final
            // one follows on the same connection.
            return Ok(true);
        }
        // 101 Switching Protocols ends HTTP on this connection.
        let close = close || status == 101;
        let no_body = request.head || status == 204 || status == 304 || status == 101;
        self.state = if no_body {
            State::Length(0)
        } else if chunked {
            State::ChunkSize
        } else if let Some(n) = length {
            State::Length(n)
        } else {
            State::UntilClose
        };
        self.status = status;
        self.close = close;
        Ok(true)
    }
}

/// More bytes are needed for a head or a line: fine, unless there are
/// already too many.
fn too_long<T>(reader: &Reader) -> Result<Option<T>, ErrorKind> {
    if reader.filled >= MAX_HEAD {
        Err(ErrorKind::Protocol)
    } else {
        Ok(None)
    }
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
        Reader::new()
            .read_response(&mut stream, request, &mut NoSink)
            .await
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

    /// Feeds `bytes` to a parser `step` bytes at a time, as the epoll loop
    /// does when responses arrive in pieces.
    fn parse_in_pieces(
        bytes: &[u8],
        step: usize,
        request: &Prepared,
    ) -> Result<Response, ErrorKind> {
        let mut reader = Reader::new();
        let mut parse = Parse::new(request);
        for piece in bytes.chunks(step) {
            reader.spare()[..piece.len()].copy_from_slice(piece);
            reader.filled(piece.len());
            if let Some(r) = parse.advance(&mut reader, request, &mut NoSink)? {
                return Ok(r);
            }
        }
        parse.closed(request)
    }

    #[test]
    fn a_response_in_pieces_reads_as_a_whole_one() {
        let check = prepared(vec![Check::BodyContains("lo wo".into())]);
        let responses: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: 1\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nhello world",
        ];
        for bytes in responses {
            let whole = block_on(read(bytes, &check)).unwrap();
            assert!(whole.checks_passed);
            for step in 1..bytes.len() {
                assert_eq!(
                    parse_in_pieces(bytes, step, &check),
                    Ok(whole),
                    "step {step}"
                );
            }
        }
        // Cut short: an error however it arrives.
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        for step in 1..cut.len() {
            assert_eq!(parse_in_pieces(cut, step, &check), Err(ErrorKind::Closed));
        }
    }

    #[test]
    fn interim_responses_are_skipped_for_the_final_one() {
        let p = prepared(vec![Check::HeaderPresent("x-final".into())]);
        let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nok";
        let r = block_on(read(bytes, &p)).unwrap();
        assert_eq!(
            (r.status, r.bytes, r.close),
            (200, bytes.len() as u64, false)
        );
        assert!(r.checks_passed);
        for step in 1..bytes.len() {
            assert_eq!(parse_in_pieces(bytes, step, &p), Ok(r), "step {step}");
        }
        // Nothing of the final response is left for the next request.
        let mut reader = Reader::new();
        reader.spare()[..bytes.len()].copy_from_slice(bytes);
        reader.filled(bytes.len());
        assert!(
            Parse::new(&p)
                .advance(&mut reader, &p, &mut NoSink)
                .unwrap()
                .is_some()
        );
        assert!(reader.is_empty());
        // 101 ends HTTP on the connection.
        let r = block_on(read(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
            &p,
        ))
        .unwrap();
        assert_eq!((r.status, r.close), (101, true));
    }

    #[test]
    fn a_chunk_size_that_overflows_is_a_protocol_error() {
        let p = prepared(vec![]);
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx";
        assert_eq!(
            parse_in_pieces(bytes, bytes.len(), &p),
            Err(ErrorKind::Protocol)
        );
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
