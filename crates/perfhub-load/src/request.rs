//! What a load test sends, and what it checks in each response.

use url::Url;

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

/// One kind of request: where, how, and what to check.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// The name results are reported under (the endpoint).
    pub name: String,
    /// The method.
    pub method: Method,
    /// The URL: `http://` or `https://`, host, optional port, path and query.
    pub url: Url,
    /// Extra headers (Host, Content-Length and Connection are set by
    /// perfhub).
    pub headers: Vec<(String, String)>,
    /// The body, empty for none.
    pub body: Vec<u8>,
    /// Checks on each response.
    pub checks: Vec<Check>,
    /// The relative weight of this request in a weighted mix.
    pub weight: u32,
    /// Budgets for this endpoint alone, in perfhub's or k6's syntax.
    pub budgets: Vec<String>,
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

/// Parses a target URL: `http` or `https`, with a host.
pub fn parse_url(text: &str) -> Result<Url, RequestError> {
    let bad = |reason: String| RequestError::Url {
        url: text.to_string(),
        reason,
    };
    let url = Url::parse(text).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme is {:?}, and only http and https are supported",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn methods_are_tokens() {
        assert_eq!(Method::parse("post").unwrap().as_str(), "POST");
        assert!(Method::parse("GE T").is_err());
        assert!(Method::parse("").is_err());
    }
}
