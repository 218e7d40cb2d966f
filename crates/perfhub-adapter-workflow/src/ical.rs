//! iCalendar (RFC 5545) to-dos: one `VCALENDAR` holding a `VTODO` per task.
//!
//! Content lines end in CRLF and are folded so no line is longer than 75
//! octets (the CRLF not counted), a fold never splitting a UTF-8 sequence;
//! TEXT values escape `\`, `;`, `,` and line breaks. Each VTODO carries the
//! task's deterministic UUID as its `UID`, so a calendar that imports the
//! file again updates its to-dos, and a `DTSTAMP` taken from the report's
//! `created`, so the same reports give the same file.

use perfhub_core::Report;

use crate::Error;
use crate::task::{TaskOptions, tasks};

/// The longest content line, in octets, without its CRLF (RFC 5545 3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// A `VCALENDAR` with one `VTODO` per breached budget and regression in
/// `reports` (see [`tasks`]). No tasks gives a calendar
/// with no components.
pub fn ical_todos(reports: &[Report], options: &TaskOptions) -> Result<String, Error> {
    let tasks = tasks(reports, options)?;
    let version = reports
        .first()
        .map_or(env!("CARGO_PKG_VERSION"), |r| r.tool.version.as_str());
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(
        &mut out,
        &format!("PRODID:-//perfhub//perfhub {}//EN", escape_text(version)),
    );
    line(&mut out, "CALSCALE:GREGORIAN");
    for t in &tasks {
        let stamp = t.created_basic();
        line(&mut out, "BEGIN:VTODO");
        line(&mut out, &format!("UID:{}", t.uuid));
        line(&mut out, &format!("DTSTAMP:{stamp}"));
        line(&mut out, &format!("CREATED:{stamp}"));
        line(&mut out, &format!("LAST-MODIFIED:{stamp}"));
        line(&mut out, &format!("SUMMARY:{}", escape_text(&t.summary)));
        line(
            &mut out,
            &format!("DESCRIPTION:{}", escape_text(&t.details.join("\n"))),
        );
        line(&mut out, &format!("PRIORITY:{}", t.priority.ical()));
        line(&mut out, "STATUS:NEEDS-ACTION");
        let mut categories = vec![options.project.as_str(), t.kind.as_str()];
        categories.extend(options.tags.iter().map(String::as_str));
        let categories: Vec<String> = categories
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .map(escape_text)
            .collect();
        line(&mut out, &format!("CATEGORIES:{}", categories.join(",")));
        line(&mut out, "END:VTODO");
    }
    line(&mut out, "END:VCALENDAR");
    Ok(out)
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and
/// line breaks (CRLF, CR or LF become `\n`); other control characters,
/// which TEXT cannot hold, become spaces.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line (RFC 5545 3.1): at most [`MAX_LINE_OCTETS`]
/// octets per physical line, continuation lines starting with a space
/// (which counts), never splitting a UTF-8 sequence. Each physical line
/// ends in CRLF.
pub fn fold_line(content: &str) -> String {
    let mut out = String::with_capacity(content.len() + content.len() / 70 * 3 + 2);
    let mut used = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if used + n > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

fn line(out: &mut String, content: &str) {
    out.push_str(&fold_line(content));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_by_octets_without_splitting_characters() {
        let s = format!("SUMMARY:{}", "é".repeat(80));
        let folded = fold_line(&s);
        for l in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= MAX_LINE_OCTETS, "{} octets: {l}", l.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, s);
        assert_eq!(fold_line("A:b"), "A:b\r\n");
        let exact = "X".repeat(75);
        assert_eq!(fold_line(&exact), format!("{exact}\r\n"));
        let over = "X".repeat(76);
        assert_eq!(fold_line(&over), format!("{}\r\n X\r\n", "X".repeat(75)));
    }

    #[test]
    fn escapes_text_values() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg\u{7}"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng "
        );
    }
}
