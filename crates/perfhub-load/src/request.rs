//! What a load test sends, and what it checks in each response.

use std::fmt;

/// An `http://` or `https://` URL: all a load test needs of one, read by
/// [`parse_url`] through `http::Uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    https: bool,
    /// Lower case; an IPv6 address keeps its brackets.
    host: String,
    port: Option<u16>,
    /// From the first `/`; `/` when the URL has none.
    path: String,
    query: Option<String>,
}

impl Url {
    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        if self.https { "https" } else { "http" }
    }

    /// The host: a name, an IPv4 address, or an IPv6 address in brackets.
    pub fn host_str(&self) -> Option<&str> {
        Some(&self.host)
    }

    /// The port, where the URL gives one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the scheme's (80 or 443).
    pub fn port_or_known_default(&self) -> Option<u16> {
        Some(self.port.unwrap_or(if self.https { 443 } else { 80 }))
    }

    /// The path, from its `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

/// An HTTP method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method(String);

impl Method {
    /// `GET`.
    pub fn get() -> Method {
        Method("GET".into())
    }

    /// A method by name; any token of letters is allowed (`PURGE`, say).
    pub fn parse(name: &str) -> Result<Method, RequestError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(RequestError::Method(name.to_string()));
        }
        Ok(Method(name.to_ascii_uppercase()))
    }

    /// The method's name, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A check on each response; a failed check is counted, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The status is one of these (inclusive ranges, such as 200..=299).
    Status(Vec<(u16, u16)>),
    /// The body contains this text.
    BodyContains(String),
    /// The response has this header (name compared case-insensitively).
    HeaderPresent(String),
}

impl Check {
    /// Whether `status` passes every status check among `checks`.
    pub(crate) fn status_passes(checks: &[Check], status: u16) -> bool {
        checks.iter().all(|c| match c {
            Check::Status(ranges) => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)),
            _ => true,
        })
    }

    /// Whether every header check among `checks` passes, `has` telling
    /// whether the response has a header (named as the check gives it).
    pub(crate) fn headers_present(checks: &[Check], has: impl Fn(&str) -> bool) -> bool {
        checks.iter().all(|c| match c {
            Check::HeaderPresent(name) => has(name),
            _ => true,
        })
    }
}

/// The body check of a request, fed the body as it arrives. It keeps only
/// the needle's length less one byte of what came before, so a match split
/// across two pieces is found without keeping the body; it allocates only
/// when there is a body check.
pub(crate) struct BodySearch {
    carry: Vec<u8>,
    found: bool,
}

/// The text a body check looks for, if there is one.
fn needle(checks: &[Check]) -> Option<&[u8]> {
    checks.iter().find_map(|c| match c {
        Check::BodyContains(text) => Some(text.as_bytes()),
        _ => None,
    })
}

impl BodySearch {
    /// The search for `checks`' body check; without one it has passed.
    pub fn new(checks: &[Check]) -> BodySearch {
        BodySearch {
            carry: Vec::new(),
            found: needle(checks).is_none_or(<[u8]>::is_empty),
        }
    }

    /// The next piece of the body; `checks` are the ones given to `new`.
    pub fn feed(&mut self, checks: &[Check], data: &[u8]) {
        if self.found {
            return;
        }
        let Some(needle) = needle(checks).filter(|n| !n.is_empty()) else {
            self.found = true;
            return;
        };
        self.carry.extend_from_slice(data);
        self.found = self.carry.windows(needle.len()).any(|w| w == needle);
        let keep = needle.len() - 1;
        if self.carry.len() > keep {
            self.carry.drain(..self.carry.len() - keep);
        }
    }

    /// Whether the needle was found (or there is none).
    pub fn found(&self) -> bool {
        self.found
    }
}

/// One kind of request: where, how, and what to check.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// The name results are reported under (the endpoint).
    pub name: String,
    /// The method.
    pub method: Method,
    /// The URL: `http://` or `https://`, host, optional port, path and query.
    pub url: Url,
    /// Extra headers (Host, Content-Length, Connection and
    /// Transfer-Encoding are set by perfhub).
    pub headers: Vec<(String, String)>,
    /// The body, empty for none.
    pub body: Vec<u8>,
    /// Checks on each response.
    pub checks: Vec<Check>,
    /// The relative weight of this request in a weighted mix.
    pub weight: u32,
    /// Budgets for this endpoint alone, in perfhub's or k6's syntax.
    pub budgets: Vec<String>,
    /// A pause after this request's response before the connection's next
    /// request, in the closed model; `None` for the test's think time.
    pub think_time: Option<std::time::Duration>,
    /// The longest this request may take; `None` for the test's timeout.
    pub timeout: Option<std::time::Duration>,
    /// A group whose results add up its requests' (k6's `group`).
    pub group: Option<String>,
}

impl RequestSpec {
    /// A GET of `url` named after its path, checking for a 2xx or 3xx status.
    pub fn get(url: Url) -> RequestSpec {
        RequestSpec {
            name: url.path().to_string(),
            method: Method::get(),
            url,
            headers: Vec::new(),
            body: Vec::new(),
            checks: vec![Check::Status(vec![(200, 399)])],
            weight: 1,
            budgets: Vec::new(),
            think_time: None,
            timeout: None,
            group: None,
        }
    }
}

/// Why a URL or request is unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The URL does not parse.
    #[error("bad URL {url:?}: {reason}; give one such as http://127.0.0.1:8080/path")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A method that is not a token of letters.
    #[error("bad HTTP method {0:?}: give a name such as GET, POST or PUT")]
    Method(String),
}

/// Parses a target URL with `http::Uri` (the parse HTTP/2 uses too):
/// `http` or `https`, a host, an optional port, path and query. A
/// `#fragment` is dropped, as a client never sends it, and characters
/// outside ASCII in the path or query are sent percent-encoded as UTF-8
/// (`/café` goes out as `/caf%C3%A9`).
pub fn parse_url(text: &str) -> Result<Url, RequestError> {
    let bad = |reason: &str| RequestError::Url {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(&format!(
            "it contains {c:?}; percent-encode it (a space is %20)"
        )));
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(bad("it has no scheme: begin it with http:// or https://"));
    };
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        other => {
            return Err(bad(&format!(
                "the scheme is {other:?}, and only http and https are supported"
            )));
        }
    };
    let rest = rest.split('#').next().unwrap_or("");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return Err(bad(
            "it has user information before the host; give credentials in a header instead",
        ));
    }
    if !authority.is_ascii() {
        return Err(bad(
            "the host name is not ASCII; give its punycode form (xn--...), as DNS knows it",
        ));
    }
    let encoded = format!("{scheme}://{}", percent_encode_non_ascii(rest));
    let uri: http::Uri = encoded.parse().map_err(|e: http::uri::InvalidUri| {
        bad(&format!(
            "{e} (check the host, port and the characters used)"
        ))
    })?;
    let host = match uri.host() {
        Some(h) if !h.is_empty() => h.to_ascii_lowercase(),
        _ => return Err(bad("it has no host")),
    };
    if let Some(v6) = host.strip_prefix('[') {
        let addr = v6.strip_suffix(']').unwrap_or(v6);
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad(&format!("{addr:?} is not an IPv6 address")));
        }
    } else if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return Err(bad(&format!("{host:?} is not a host name or address")));
    }
    // The port as written: http::Uri reads it leniently, and a URL's port
    // is 1 to 65535.
    let port_text = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, "")) => None,
            Some((_, after)) => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("junk after the IPv6 address"))?,
            ),
            None => return Err(bad("an IPv6 address needs its closing bracket")),
        },
        None => authority.split_once(':').map(|(_, p)| p),
    };
    let port = match port_text {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| bad(&format!("the port {p:?} is not a number from 1 to 65535")))?,
        ),
    };
    Ok(Url {
        https,
        host,
        port,
        path: match uri.path() {
            "" => "/".into(),
            p => p.to_string(),
        },
        query: uri.query().map(str::to_string),
    })
}

/// Addresses pinned for a host and port, as curl's `--resolve
/// HOST:PORT:ADDR[,ADDR...]`: connections to that host and port go to
/// these addresses instead of what the resolver says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The host as the URL names it (without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The addresses, at least one.
    pub addrs: Vec<std::net::IpAddr>,
}

impl std::str::FromStr for Pin {
    type Err = String;

    /// `HOST:PORT:ADDR[,ADDR...]`; an IPv6 address may stand in brackets.
    fn from_str(text: &str) -> Result<Pin, String> {
        let bad = |why: &str| {
            format!(
                "bad address pin {text:?}: {why}; give HOST:PORT:ADDR, such as \
                 api.example.com:443:198.18.0.2 or api.example.com:443:[2001:db8::2]"
            )
        };
        let mut parts = text.splitn(3, ':');
        let (Some(host), Some(port), Some(addrs)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it needs three parts separated by colons"));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let port = port.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
            bad(&format!(
                "the port {port:?} is not a number from 1 to 65535"
            ))
        })?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                a.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| bad(&format!("{a:?} is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pin {
            host: host.to_ascii_lowercase(),
            port,
            addrs,
        })
    }
}

/// Headers perfhub writes itself, from the URL and the body (a body is
/// always sent with its length, never chunked).
pub const RESERVED_HEADERS: [&str; 4] =
    ["host", "content-length", "connection", "transfer-encoding"];

/// Whether `b` may stand in an HTTP token (a header name, a method).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why `name` cannot be sent as a request header's name, or `None`: the
/// same rule for `-H` and scenario files.
pub fn header_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Some(format!(
            "bad header name {name:?}: use letters, digits and !#$%&'*+-.^_`|~"
        ));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Some(format!(
            "{name} is set by perfhub (Host from the URL, Content-Length from the body, which is never sent chunked, and Connection); leave it out"
        ));
    }
    None
}

/// Why `value` cannot be sent as a header's value, or `None`.
pub fn header_value_problem(value: &str) -> Option<String> {
    value
        .contains(['\r', '\n', '\0'])
        .then(|| "a header value cannot contain a line break or a NUL byte".to_string())
}

/// A header written `Name: value`, as curl's and perfhub's `-H` take it,
/// trimmed and checked ([`header_name_problem`], [`header_value_problem`]);
/// the error says what is wrong.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':').filter(|(n, _)| !n.trim().is_empty()) else {
        return Err(format!("bad header {text:?}: give \"Name: value\""));
    };
    let (name, value) = (name.trim(), value.trim());
    if let Some(problem) = header_name_problem(name).or_else(|| header_value_problem(value)) {
        return Err(format!("-H {text:?}: {problem}"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// The statuses of `--expect-status`: a code such as `200`, or an
/// inclusive range such as `200-299`, between 100 and 599.
pub fn parse_status_range(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("bad status {text:?}: give a code such as 200 or a range such as 200-299");
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(bad)
    };
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (code(a)?, code(b)?);
            if a > b {
                return Err(bad());
            }
            Ok((a, b))
        }
        None => {
            let c = code(text)?;
            Ok((c, c))
        }
    }
}

/// `text` with every byte outside ASCII written as `%XX`.
fn percent_encode_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_parts_a_client_needs() {
        let u = parse_url("HTTP://LocalHost:8080/a/b?c=d&e#frag").unwrap();
        assert_eq!(
            (u.scheme(), u.host_str(), u.port(), u.path(), u.query()),
            ("http", Some("localhost"), Some(8080), "/a/b", Some("c=d&e"))
        );
        assert_eq!(u.to_string(), "http://localhost:8080/a/b?c=d&e");
        let u = parse_url("https://[::1]/").unwrap();
        assert_eq!(
            (u.host_str(), u.port_or_known_default()),
            (Some("[::1]"), Some(443))
        );
        let u = parse_url("http://127.0.0.1?x").unwrap();
        assert_eq!((u.path(), u.query()), ("/", Some("x")));
        for bad in [
            "http://h:0/",
            "http://h:99999/",
            "http://h:x/",
            "http://u@h/",
            "http://[::1/",
            "http://[zz]/",
            "http://a b/",
            "http://h/a b",
            "http://h^/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_ascii_paths_are_percent_encoded_and_hosts_refused() {
        let u = parse_url("http://127.0.0.1:8080/café/ü?q=ñ").unwrap();
        assert_eq!(u.path(), "/caf%C3%A9/%C3%BC");
        assert_eq!(u.query(), Some("q=%C3%B1"));
        assert_eq!(
            u.to_string(),
            "http://127.0.0.1:8080/caf%C3%A9/%C3%BC?q=%C3%B1"
        );
        let e = parse_url("http://bücher.example/").unwrap_err();
        assert!(e.to_string().contains("punycode"), "{e}");
        let u = parse_url("http://[2001:db8::1]:8443/x").unwrap();
        assert_eq!(
            (u.host_str(), u.port()),
            (Some("[2001:db8::1]"), Some(8443))
        );
        let u = parse_url("http://[::1]/x").unwrap();
        assert_eq!((u.host_str(), u.port()), (Some("[::1]"), None));
        let u = parse_url("http://svc.internal.example:8080").unwrap();
        assert_eq!(
            (u.host_str(), u.port(), u.path()),
            (Some("svc.internal.example"), Some(8080), "/")
        );
        for bad in [
            "http://h::1/",
            "http://[::1]x/",
            "http://h:/",
            "http://:80/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pins_read_like_curls_resolve() {
        let p: Pin = "API.example.com:8443:198.18.0.2,[2001:db8::2]"
            .parse()
            .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("api.example.com", 8443));
        assert_eq!(
            p.addrs,
            vec![
                "198.18.0.2".parse::<std::net::IpAddr>().unwrap(),
                "2001:db8::2".parse().unwrap()
            ]
        );
        for bad in [
            "h:80",
            "h:0:1.2.3.4",
            "h:80:nope",
            ":80:1.2.3.4",
            "h:x:1.2.3.4",
        ] {
            let e = bad.parse::<Pin>().unwrap_err();
            assert!(e.contains("HOST:PORT:ADDR"), "{bad}: {e}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:8080/a?b=c").is_ok());
        assert!(parse_url("https://localhost/").is_ok());
        let e = parse_url("ftp://x/").unwrap_err();
        assert!(e.to_string().contains("only http and https"), "{e}");
        let e = parse_url("127.0.0.1:80").unwrap_err();
        assert!(e.to_string().contains("bad URL"), "{e}");
        assert!(parse_url("http://").is_err());
    }

    #[test]
    fn finds_a_needle_split_across_pieces() {
        let checks = [Check::BodyContains("Hello".into())];
        let mut search = BodySearch::new(&checks);
        search.feed(&checks, b"abcHel");
        assert!(!search.found());
        search.feed(&checks, b"lo!");
        assert!(search.found());
        assert!(BodySearch::new(&[]).found());
    }

    #[test]
    fn methods_are_tokens() {
        assert_eq!(Method::parse("post").unwrap().as_str(), "POST");
        assert!(Method::parse("GE T").is_err());
        assert!(Method::parse("").is_err());
    }
}
