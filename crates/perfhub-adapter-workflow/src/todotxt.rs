//! todo.txt lines (<https://github.com/todotxt/todo.txt>): one task per line,
//!
//! ```text
//! (A) 2026-01-05 Budget breached on sleep: mean < 1ms (wall_time mean was 10.1 ms) +perfhub @performance id:6f1c... kind:budget metric:wall_time commit:4e5d... score:5.0
//! ```
//!
//! The priority (A high, B medium, C low), the report's date, the summary,
//! the `+project` and `@context`, then `key:value` pairs. `id:` is the
//! task's deterministic UUID, so a tool can find the line again and
//! replace it. todo.txt has no escaping, so text from names that would
//! read as syntax is percent-encoded: a word starting with `+` or `@`
//! (`%2B`, `%40`), a `:` inside a word (`%3A`), and whitespace in values.

use perfhub_core::Report;

use crate::Error;
use crate::task::{TaskOptions, tasks};

/// One todo.txt line per breached budget and regression in `reports` (see
/// [`tasks`]), each ending in `\n`.
pub fn todo_txt(reports: &[Report], options: &TaskOptions) -> Result<String, Error> {
    let tasks = tasks(reports, options)?;
    let project = value(&options.project);
    let context = value(&options.context);
    let mut out = String::new();
    for t in &tasks {
        out.push('(');
        out.push(t.priority.todo_txt());
        out.push_str(") ");
        out.push_str(&t.created_date());
        out.push(' ');
        out.push_str(&description(&t.summary));
        if !project.is_empty() {
            out.push_str(" +");
            out.push_str(&project);
        }
        if !context.is_empty() {
            out.push_str(" @");
            out.push_str(&context);
        }
        out.push_str(&format!(" id:{}", t.uuid));
        out.push_str(&format!(" kind:{}", t.kind.as_str()));
        out.push_str(&format!(" metric:{}", value(&t.metric)));
        if !t.statistic.is_empty() {
            out.push_str(&format!(" stat:{}", value(&t.statistic)));
        }
        if let Some(c) = &t.commit {
            out.push_str(&format!(" commit:{}", value(c)));
        }
        if let Some(s) = t.score {
            out.push_str(&format!(" score:{s:.1}"));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Free text on one line, with words that todo.txt would read as a
/// project, a context or a `key:value` pair encoded.
fn description(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            let mut out = String::with_capacity(w.len());
            let chars: Vec<char> = w.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                match c {
                    '+' if i == 0 => out.push_str("%2B"),
                    '@' if i == 0 => out.push_str("%40"),
                    // A colon with text on both sides reads as key:value.
                    ':' if i > 0 && i + 1 < chars.len() => out.push_str("%3A"),
                    c => out.push(c),
                }
            }
            out
        })
        .collect();
    words.join(" ")
}

/// A `key:value` value, a project or a context: one word, no colon.
fn value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            ':' => out.push_str("%3A"),
            '%' => out.push_str("%25"),
            c if c.is_whitespace() => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_todo_txt_would_parse() {
        assert_eq!(
            description("GET http://x/ +fast @home a: b\nc"),
            "GET http%3A//x/ %2Bfast %40home a: b c"
        );
        assert_eq!(value("p95 lat:ms 5%"), "p95%20lat%3Ams%205%25");
    }
}
