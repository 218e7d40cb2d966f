//! HTML escaping: every string that comes from a report goes through here.

use std::fmt::Write as _;

/// Escapes `s` for HTML text and for double- or single-quoted attribute
/// values (`&`, `<`, `>`, `"` and `'`).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed
            // in HTML text; a benchmark name has no business holding them.
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\u{FFFD}");
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` shortened to at most `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<Vec<T> as Drop>::drop & "x" 'y'"#),
            "&lt;Vec&lt;T&gt; as Drop&gt;::drop &amp; &quot;x&quot; &#39;y&#39;"
        );
        assert_eq!(html("a\u{0}b"), "a\u{FFFD}b");
        assert_eq!(html("plain µs"), "plain µs");
    }

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate("µµµµ", 4), "µµµµ");
        assert_eq!(truncate("µµµµµ", 4), "µµµ…");
    }
}
