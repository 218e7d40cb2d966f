//! Small text helpers the HTTP adapters share: what of a server's answer to
//! show in an error, URLs without credentials, and query encoding; and how
//! an error in a configuration file names its place.

/// The start of `text`, trimmed, cut after 300 characters (with `...`):
/// enough of a server's answer to name the problem in an error message.
pub fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}

/// `v` with at most `places` decimals, without trailing zeros past the
/// decimal point: `decimal(0.0125, 4)` is `0.0125`, `decimal(98.75, 2)` is
/// `98.75`, `decimal(5.0, 3)` is `5`.
pub fn decimal(v: f64, places: usize) -> String {
    let s = format!("{v:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `url` without the `user:password@` part of its authority, for messages.
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Writes an error located in a file, as `file:line:column: key: message`:
/// the line and column when known, the key (such as `run[0].warmup`) when
/// the problem is under one. Plan and scenario files report their errors
/// this way.
pub fn write_located(
    f: &mut std::fmt::Formatter<'_>,
    file: &str,
    line: Option<usize>,
    column: Option<usize>,
    key: &str,
    message: &str,
) -> std::fmt::Result {
    f.write_str(file)?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
        if let Some(column) = column {
            write!(f, ":{column}")?;
        }
    }
    f.write_str(": ")?;
    if !key.is_empty() {
        write!(f, "{key}: ")?;
    }
    f.write_str(message)
}

/// An error and its causes (`source()` after `source()`) joined by ": ",
/// leaving out a cause whose text an earlier part already holds: a library
/// error that shows its source in its own message, and hands it on as its
/// source too, reads once.
pub fn error_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let part = err.to_string();
        if !part.is_empty() && !out.contains(&part) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&part);
        }
        next = err.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_without_trailing_zeros() {
        assert_eq!(decimal(0.0125, 4), "0.0125");
        assert_eq!(decimal(98.75, 2), "98.75");
        assert_eq!(decimal(5.0, 3), "5");
        assert_eq!(decimal(120.0, 0), "120");
        assert_eq!(decimal(0.016666, 4), "0.0167");
    }

    #[test]
    fn strips_credentials_from_urls() {
        assert_eq!(without_userinfo("https://u:p@host:1/x"), "https://host:1/x");
        assert_eq!(without_userinfo("http://host"), "http://host");
        assert_eq!(without_userinfo("http://host/a@b"), "http://host/a@b");
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(percent_encode("a b/é&="), "a%20b%2F%C3%A9%26%3D");
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("  short \n"), "short");
        let long = "é".repeat(400);
        assert_eq!(excerpt(&long), format!("{}...", "é".repeat(300)));
    }

    #[test]
    fn a_cause_already_in_the_message_is_shown_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("x.json: cannot read: {0}")]
        struct Read(#[source] std::io::Error);
        let e = Read(std::io::Error::other("stream did not contain valid UTF-8"));
        assert_eq!(
            error_message(&e),
            "x.json: cannot read: stream did not contain valid UTF-8"
        );
        #[derive(Debug, thiserror::Error)]
        #[error("cannot write r.json")]
        struct Write(#[source] std::io::Error);
        let e = Write(std::io::Error::other("disk full"));
        assert_eq!(error_message(&e), "cannot write r.json: disk full");
    }
}
