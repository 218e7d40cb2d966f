//! The weekly performance review: a GitHub-flavoured Markdown page from a
//! week's reports, for a team's weekly meeting or an issue.
//!
//! - a heading with the ISO week of the latest report;
//! - a task list (`- [ ]`) of the regressions and breached budgets, each
//!   once (the latest numbers), with the task's id shared with the other
//!   task formats;
//! - the budgets: the latest result of each and how often it held;
//! - trends: per benchmark, the primary metric's first and last value in
//!   the week and the change;
//! - the Performance Score of each report;
//! - improvements found by comparisons.
//!
//! Names are escaped, so a benchmark called `*fast* | [x]` renders as
//! written and cannot break a table.

use std::collections::BTreeMap;

use perfhub_core::Report;
use perfhub_core::compare::Verdict;
use perfhub_core::report::{Benchmark, Measurement};
use perfhub_core::score::{ScoreTargets, performance_score};
use perfhub_core::units::Unit;

use crate::Error;
use crate::task::{Priority, TaskOptions, tasks};
use crate::time::UtcTime;

/// The Markdown review of `reports` (any order; they are sorted by
/// `created`). Task ids are those of [`tasks`] with default options.
pub fn weekly_review(reports: &[Report]) -> Result<String, Error> {
    if reports.is_empty() {
        return Err(Error::NoReports);
    }
    let mut order = Vec::with_capacity(reports.len());
    for (i, r) in reports.iter().enumerate() {
        order.push((r.created, i));
    }
    order.sort();
    let (first_time, _) = order[0];
    let (last_time, _) = order[order.len() - 1];
    let sorted: Vec<(UtcTime, &Report)> = order.iter().map(|&(t, i)| (t, &reports[i])).collect();

    let mut out = String::new();
    let (year, week) = last_time.iso_week();
    let monday = last_time.week_start();
    let sunday = UtcTime {
        unix: monday.unix + 6 * 86_400,
    };
    out.push_str(&format!("# Performance review: week {year}-W{week:02}\n\n"));
    out.push_str(&format!(
        "Week of Monday {} to Sunday {}: {} report{}, from {} to {}.\n",
        monday.date(),
        sunday.date(),
        sorted.len(),
        if sorted.len() == 1 { "" } else { "s" },
        stamp(first_time),
        stamp(last_time),
    ));
    if first_time < monday {
        out.push_str("Some reports are older than this week; they are included.\n");
    }
    let scores: Vec<Option<f64>> = sorted
        .iter()
        .map(|(_, r)| crate::task::score_of(r))
        .collect();
    let known: Vec<f64> = scores.iter().flatten().copied().collect();
    if let (Some(first), Some(last)) = (known.first(), known.last()) {
        out.push_str(&format!("Performance Score: **{last:.1}**/100"));
        if known.len() > 1 {
            out.push_str(&format!(" (first {first:.1}, last {last:.1})"));
        }
        out.push_str(".\n");
    }

    // To do.
    out.push_str("\n## To do\n\n");
    let todo = tasks(reports, &TaskOptions::default())?;
    if todo.is_empty() {
        out.push_str("Nothing to do: no regressions, and every budget held.\n");
    }
    for t in &todo {
        let priority = match t.priority {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        };
        out.push_str(&format!(
            "- [ ] {} (priority {priority}, {}, id `{}`)\n",
            escape(&t.summary),
            t.created_date(),
            &t.uuid[..8]
        ));
    }

    budgets(&mut out, &sorted);
    trends(&mut out, &sorted);

    // Performance Score per report.
    if !known.is_empty() {
        out.push_str("\n## Performance Score\n\n");
        out.push_str("| Report | Kind | Score | Latency | CPU efficiency | Memory efficiency |\n");
        out.push_str("|---|---|---:|---:|---:|---:|\n");
        for (time, report) in &sorted {
            let Some(s) = performance_score(report, &ScoreTargets::default(), None) else {
                continue;
            };
            let part = |name: &str| {
                s.component(name)
                    .map_or("–".to_string(), |c| format!("{:.1}", c.score))
            };
            out.push_str(&format!(
                "| {} | {} | {:.1} | {} | {} | {} |\n",
                stamp(*time),
                crate::task::kind_name(report),
                s.score,
                part("latency"),
                part("cpu_efficiency"),
                part("memory_efficiency"),
            ));
        }
    }

    // Improvements.
    let mut improved = BTreeMap::new();
    for (time, report) in &sorted {
        for c in &report.comparisons {
            if c.verdict == Some(Verdict::Improved) {
                let line = format!(
                    "- {}: {} {} {:.1}% ({})\n",
                    escape(&c.benchmark),
                    escape(&c.metric),
                    if c.ratio < 1.0 { "down" } else { "up" },
                    ((c.ratio - 1.0) * 100.0).abs(),
                    time.date()
                );
                improved.insert((c.benchmark.clone(), c.metric.clone()), line);
            }
        }
    }
    if !improved.is_empty() {
        out.push_str("\n## Improvements\n\n");
        for line in improved.values() {
            out.push_str(line);
        }
    }
    Ok(out)
}

fn budgets(out: &mut String, sorted: &[(UtcTime, &Report)]) {
    struct Row {
        latest: String,
        passed: bool,
        held: usize,
        total: usize,
    }
    // Insertion order: first seen.
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    for (_, report) in sorted {
        for v in &report.budgets {
            let key = (v.benchmark.clone(), v.budget.clone());
            let row = rows.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                Row {
                    latest: String::new(),
                    passed: true,
                    held: 0,
                    total: 0,
                }
            });
            row.latest = v.unit.format(v.actual);
            row.passed = v.passed;
            row.total += 1;
            row.held += usize::from(v.passed);
        }
    }
    if keys.is_empty() {
        return;
    }
    out.push_str("\n## Budgets\n\n");
    out.push_str("| Benchmark | Budget | Latest | Result | Held |\n");
    out.push_str("|---|---|---:|---|---:|\n");
    for key in &keys {
        let row = &rows[key];
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} of {} |\n",
            escape(&key.0),
            escape(&key.1),
            escape(&row.latest),
            if row.passed {
                "✅ held"
            } else {
                "❌ breached"
            },
            row.held,
            row.total
        ));
    }
}

/// The value a trend follows: the mean of the samples, else the single
/// value.
fn level(m: &Measurement) -> Option<f64> {
    m.summary
        .as_ref()
        .map(|s| s.mean)
        .or(m.value)
        .or_else(|| {
            (!m.samples.is_empty()).then(|| m.samples.iter().sum::<f64>() / m.samples.len() as f64)
        })
        .filter(|v| v.is_finite())
}

fn trends(out: &mut String, sorted: &[(UtcTime, &Report)]) {
    struct Trend {
        unit: Unit,
        first: f64,
        last: f64,
        count: usize,
    }
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut series: BTreeMap<(String, String), Trend> = BTreeMap::new();
    for (_, report) in sorted {
        for b in &report.benchmarks {
            let Some((m, v)) = primary_level(b) else {
                continue;
            };
            let key = (b.name.clone(), m.metric.clone());
            match series.get_mut(&key) {
                Some(t) => {
                    t.last = v;
                    t.count += 1;
                }
                None => {
                    keys.push(key.clone());
                    series.insert(
                        key,
                        Trend {
                            unit: m.unit,
                            first: v,
                            last: v,
                            count: 1,
                        },
                    );
                }
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    out.push_str("\n## Trends\n\n");
    out.push_str("| Benchmark | Metric | First | Last | Change | Reports |\n");
    out.push_str("|---|---|---:|---:|---:|---:|\n");
    for key in &keys {
        let t = &series[key];
        let change = if t.count < 2 {
            "–".to_string()
        } else if t.first == 0.0 {
            "n/a".to_string()
        } else {
            format!("{:+.1}%", (t.last - t.first) / t.first.abs() * 100.0)
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            escape(&key.0),
            escape(&key.1),
            escape(&t.unit.format(t.first)),
            escape(&t.unit.format(t.last)),
            change,
            t.count
        ));
    }
}

fn primary_level(b: &Benchmark) -> Option<(&Measurement, f64)> {
    let m = b.primary()?;
    Some((m, level(m)?))
}

fn stamp(t: UtcTime) -> String {
    let c = t.civil();
    format!("{} {:02}:{:02} UTC", t.date(), c.hour, c.minute)
}

/// Escapes text for GitHub-flavoured Markdown, inline and in table cells:
/// the characters that open or close inline markup (emphasis, code,
/// links, HTML, strikethrough, entities) and `|` get a backslash; line
/// breaks become spaces. Line-start markup (`-`, `1.`) needs no escape:
/// names never start a line here.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '<' | '>' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_pipes() {
        assert_eq!(escape("*a* | [b](c)\n"), "\\*a\\* \\| \\[b\\](c) ");
        assert_eq!(
            escape("<br> &amp; ~x~ `c` _i_"),
            "\\<br\\> \\&amp; \\~x\\~ \\`c\\` \\_i\\_"
        );
        assert_eq!(escape("plain name 1"), "plain name 1");
    }
}
