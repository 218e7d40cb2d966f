//! Taskwarrior's import format: a JSON array of tasks for `task import`.
//!
//! Taskwarrior identifies tasks by `uuid`: importing a task whose UUID it
//! already holds modifies that task, so importing an export twice, or an
//! updated export, never duplicates. Dates are `YYYYMMDDTHHMMSSZ` in UTC,
//! from the report's `created`.
//!
//! The details become annotations. Taskwarrior keys an annotation by its
//! entry time to the second, so the annotations of one task are a second
//! apart (the report's time, then one second later, ...) to keep them all.

use perfhub_core::Report;
use serde_json::{Value, json};

use crate::Error;
use crate::task::{TaskOptions, tasks};

/// A JSON array of pending tasks, one per breached budget and regression
/// in `reports` (see [`tasks`]), for `task import`.
pub fn taskwarrior_json(reports: &[Report], options: &TaskOptions) -> Result<String, Error> {
    let tasks = tasks(reports, options)?;
    let project = word(&options.project);
    let mut out = Vec::with_capacity(tasks.len());
    for t in &tasks {
        let mut tags = vec!["perfhub".to_string(), t.kind.as_str().to_string()];
        for tag in &options.tags {
            let tag = word(tag);
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let annotations: Vec<Value> = t
            .details
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let at = crate::time::UtcTime {
                    unix: t.time.unix.saturating_add(i as i64),
                };
                json!({ "entry": at.basic(), "description": one_line(d) })
            })
            .collect();
        let mut task = json!({
            "uuid": t.uuid,
            "status": "pending",
            "description": one_line(&t.summary),
            "entry": t.created_basic(),
            "modified": t.created_basic(),
            "priority": t.priority.taskwarrior(),
            "tags": tags,
            "annotations": annotations,
        });
        if !project.is_empty() {
            task["project"] = Value::String(project.clone());
        }
        out.push(task);
    }
    let mut text = serde_json::to_string_pretty(&out)?;
    text.push('\n');
    Ok(text)
}

/// A tag or project: no whitespace (Taskwarrior's command line would
/// split it), no leading `+`/`-` (tag syntax).
fn word(s: &str) -> String {
    let w: String = s
        .trim()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    w.trim_start_matches(['+', '-']).to_string()
}

/// Taskwarrior shows descriptions on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
