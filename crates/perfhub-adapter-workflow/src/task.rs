//! Budget breaches and regressions as [`Task`]s, the one model every
//! task format writes.
//!
//! A task's identity is a name-based UUID (version 5) of its kind, the
//! benchmark, the metric, the budget's statistic and the git commit, so
//! the same breach found again (a second export, a re-run on the same
//! commit) gets the same UUID and updates the task rather than adding one.
//! A new commit is a new task.

use std::collections::HashSet;

use perfhub_core::Report;
use perfhub_core::compare::Verdict;
use perfhub_core::report::Comparison;
use perfhub_core::score::{ScoreTargets, performance_score};
use perfhub_core::units::Unit;
use uuid::Uuid;

use crate::Error;
use crate::time::UtcTime;

/// What the export does, for every task format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOptions {
    /// The project: Taskwarrior's `project`, todo.txt's `+project`, the
    /// first iCalendar category. Whitespace becomes `_` where a format
    /// cannot hold it. Default `perfhub`.
    pub project: String,
    /// todo.txt's `@context`. Default `performance`.
    pub context: String,
    /// More tags (Taskwarrior `tags`, iCalendar `CATEGORIES`).
    pub tags: Vec<String>,
    /// The commit the tasks belong to, instead of each report's
    /// `environment.git_commit` (which is used when this is `None`).
    pub commit: Option<String>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            project: "perfhub".to_string(),
            context: "performance".to_string(),
            tags: Vec::new(),
            commit: None,
        }
    }
}

/// Why a task exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// A budget verdict that did not pass.
    Budget,
    /// A comparison whose verdict is `regressed`.
    Regression,
}

impl TaskKind {
    /// `budget` or `regression`: a tag, a category and the todo.txt `kind:`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Budget => "budget",
            TaskKind::Regression => "regression",
        }
    }
}

/// How urgent a task is, from how far the value is from its limit (a
/// budget) or from the base (a regression): at least 50% is high, at
/// least 10% medium, less is low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// 50% or more past the limit or worse than the base.
    High,
    /// 10% to 50%.
    Medium,
    /// Less than 10%.
    Low,
}

impl Priority {
    fn from_excess(excess: f64) -> Priority {
        if excess.is_nan() || excess >= 0.5 {
            Priority::High
        } else if excess >= 0.1 {
            Priority::Medium
        } else {
            Priority::Low
        }
    }

    /// iCalendar `PRIORITY`: 1 (high), 5 (medium), 9 (low).
    pub fn ical(self) -> u8 {
        match self {
            Priority::High => 1,
            Priority::Medium => 5,
            Priority::Low => 9,
        }
    }

    /// Taskwarrior `priority`: `H`, `M`, `L`.
    pub fn taskwarrior(self) -> &'static str {
        match self {
            Priority::High => "H",
            Priority::Medium => "M",
            Priority::Low => "L",
        }
    }

    /// todo.txt priority letter: `A`, `B`, `C`.
    pub fn todo_txt(self) -> char {
        match self {
            Priority::High => 'A',
            Priority::Medium => 'B',
            Priority::Low => 'C',
        }
    }
}

/// One thing to do about a report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Task {
    /// The deterministic UUID (see [`task_uuid`]), lower-case hyphenated.
    pub uuid: String,
    /// Why the task exists.
    pub kind: TaskKind,
    /// The benchmark.
    pub benchmark: String,
    /// The metric.
    pub metric: String,
    /// The budget's statistic (`mean`, `p95`, ...); empty for regressions.
    pub statistic: String,
    /// The commit the task belongs to, where known.
    pub commit: Option<String>,
    /// One line for a title.
    pub summary: String,
    /// More lines: the numbers, the command, the commit, the machine and
    /// the report's Performance Score.
    pub details: Vec<String>,
    /// How urgent it is.
    pub priority: Priority,
    /// The Performance Score (0-100) of the report the task came from.
    pub score: Option<f64>,
    /// The position of that report in the input, from 0.
    pub report_index: usize,
    pub(crate) time: UtcTime,
}

impl Task {
    /// The report's `created` in UTC, `YYYYMMDDTHHMMSSZ` (iCalendar
    /// DTSTAMP, Taskwarrior `entry`).
    pub fn created_basic(&self) -> String {
        self.time.basic()
    }

    /// The report's `created` date in UTC, `YYYY-MM-DD`.
    pub fn created_date(&self) -> String {
        self.time.date()
    }
}

/// The UUID of the task for `kind` on `benchmark`'s `metric` (and the
/// budget's `statistic`, empty for regressions) at `commit` (empty when
/// unknown): a version-5 UUID of those fields in perfhub's namespace.
pub fn task_uuid(
    kind: TaskKind,
    benchmark: &str,
    metric: &str,
    statistic: &str,
    commit: &str,
) -> String {
    let namespace = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://perfhub.invalid/workflow/task",
    );
    // Unit separators keep ("a b", "c") and ("a", "b c") apart.
    let name = [kind.as_str(), benchmark, metric, statistic, commit].join("\u{1f}");
    Uuid::new_v5(&namespace, name.as_bytes())
        .hyphenated()
        .to_string()
}

pub(crate) fn kind_name(report: &Report) -> String {
    serde_json::to_value(report.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "report".to_string())
}

pub(crate) fn score_of(report: &Report) -> Option<f64> {
    performance_score(report, &ScoreTargets::default(), None)
        .map(|s| s.score)
        .filter(|s| s.is_finite())
}

/// The tasks for `reports`: one per breached budget and per regression.
///
/// Reports are taken in the order of their `created` time (ties keep the
/// input order). When several give the same task (the same UUID), the
/// latest wins, so the export holds each task once, with the newest
/// numbers; tasks are listed in that order.
pub fn tasks(reports: &[Report], options: &TaskOptions) -> Result<Vec<Task>, Error> {
    let mut order = Vec::with_capacity(reports.len());
    for (i, r) in reports.iter().enumerate() {
        order.push((r.created, i));
    }
    order.sort();
    let mut all = Vec::new();
    for (time, index) in order {
        let report = &reports[index];
        let ctx = Context::new(report, index, time, options);
        for v in report.budgets.iter().filter(|v| !v.passed) {
            all.push(ctx.budget_task(v));
        }
        for c in &report.comparisons {
            if c.verdict == Some(Verdict::Regressed) {
                all.push(ctx.regression_task(c));
            }
        }
    }
    // Keep the last occurrence of each UUID.
    let mut seen = HashSet::new();
    let mut out: Vec<Task> = all
        .into_iter()
        .rev()
        .filter(|t| seen.insert(t.uuid.clone()))
        .collect();
    out.reverse();
    Ok(out)
}

/// What a task's identity is made of, with the commit.
struct Key<'a> {
    kind: TaskKind,
    benchmark: &'a str,
    metric: &'a str,
    statistic: &'a str,
}

/// What every task of one report shares.
struct Context<'a> {
    report: &'a Report,
    index: usize,
    time: UtcTime,
    commit: Option<String>,
    score: Option<f64>,
    trailer: Vec<String>,
}

impl<'a> Context<'a> {
    fn new(report: &'a Report, index: usize, time: UtcTime, options: &TaskOptions) -> Self {
        let env = report.environment.as_ref();
        let commit = options
            .commit
            .clone()
            .or_else(|| env.and_then(|e| e.git_commit.clone()))
            .filter(|c| !c.trim().is_empty());
        let score = score_of(report);
        let mut trailer = Vec::new();
        if let Some(c) = &commit {
            let mut line = format!("Commit: {c}");
            if let Some(b) = env.and_then(|e| e.git_branch.as_deref()) {
                line.push_str(&format!(" on {b}"));
            }
            if env.and_then(|e| e.git_dirty) == Some(true) {
                line.push_str(", with uncommitted changes");
            }
            trailer.push(line);
        }
        trailer.push(format!(
            "Report: {} report created {} by {} {}",
            kind_name(report),
            report.created,
            report.tool.name,
            report.tool.version
        ));
        if let Some(e) = env {
            let host = e.hostname.as_deref().unwrap_or("unknown host");
            trailer.push(format!(
                "Machine: {host}, {} x{} ({}), fingerprint {}",
                e.cpu_model.as_deref().unwrap_or(&e.arch),
                e.logical_cpus,
                e.os.as_deref().unwrap_or("unknown OS"),
                e.fingerprint
            ));
        }
        if let Some(s) = score {
            trailer.push(format!("Performance Score: {s:.1}/100"));
        }
        Context {
            report,
            index,
            time,
            commit,
            score,
            trailer,
        }
    }

    fn task(
        &self,
        key: Key<'_>,
        summary: String,
        mut details: Vec<String>,
        priority: Priority,
    ) -> Task {
        let commit = self.commit.clone();
        let Key {
            kind,
            benchmark,
            metric,
            statistic,
        } = key;
        if let Some(cmd) = self
            .report
            .benchmark(benchmark)
            .and_then(|b| b.command.as_deref())
        {
            details.insert(0, format!("Command: {cmd}"));
        }
        details.insert(0, format!("Benchmark: {benchmark}"));
        details.extend(self.trailer.iter().cloned());
        Task {
            uuid: task_uuid(
                kind,
                benchmark,
                metric,
                statistic,
                commit.as_deref().unwrap_or(""),
            ),
            kind,
            benchmark: benchmark.to_string(),
            metric: metric.to_string(),
            statistic: statistic.to_string(),
            commit,
            summary,
            details,
            priority,
            score: self.score,
            report_index: self.index,
            time: self.time,
        }
    }

    fn budget_task(&self, v: &perfhub_core::BudgetVerdict) -> Task {
        let actual = v.unit.format(v.actual);
        let limit = v.unit.format(v.threshold);
        let summary = format!(
            "Budget breached on {}: {} ({} {} was {actual})",
            v.benchmark, v.budget, v.metric, v.statistic
        );
        let excess = if v.threshold != 0.0 {
            ((v.actual - v.threshold) / v.threshold).abs()
        } else {
            f64::NAN
        };
        let details = vec![format!(
            "Budget: {} on {} ({}): actual {actual}, limit {limit}",
            v.budget, v.metric, v.statistic
        )];
        self.task(
            Key {
                kind: TaskKind::Budget,
                benchmark: &v.benchmark,
                metric: &v.metric,
                statistic: &v.statistic,
            },
            summary,
            details,
            Priority::from_excess(excess),
        )
    }

    fn regression_task(&self, c: &Comparison) -> Task {
        let unit = self
            .report
            .benchmark(&c.benchmark)
            .and_then(|b| b.measurement(&c.metric))
            .map_or(Unit::Number, |m| m.unit);
        let change = (c.ratio - 1.0) * 100.0;
        let direction = if change >= 0.0 { "up" } else { "down" };
        let mut summary = format!(
            "Regression in {}: {} {direction} {:.1}%",
            c.benchmark,
            c.metric,
            change.abs()
        );
        if let (Some(b), Some(h)) = (c.base_value, c.head_value) {
            summary.push_str(&format!(" ({} → {})", unit.format(b), unit.format(h)));
        }
        let mut change_line = format!("Change: ratio {:.4} of the base", c.ratio);
        if let Some(ci) = &c.ratio_ci {
            change_line.push_str(&format!(
                ", {:.0}% CI {:.4} to {:.4}",
                ci.level * 100.0,
                ci.lower,
                ci.upper
            ));
        }
        if let Some(p) = c.p_adjusted.or(c.p_value) {
            change_line.push_str(&format!(", p = {p:.3e}"));
        }
        let mut details = vec![change_line];
        if c.reference != c.benchmark {
            details.push(format!("Reference: {}", c.reference));
        }
        if let Some(e) = c.min_effect {
            details.push(format!("Minimum effect: {:.1}%", e * 100.0));
        }
        if let Some(m) = &c.method {
            details.push(format!("Method: {m}"));
        }
        self.task(
            Key {
                kind: TaskKind::Regression,
                benchmark: &c.benchmark,
                metric: &c.metric,
                statistic: "",
            },
            summary,
            details,
            Priority::from_excess((c.ratio - 1.0).abs()),
        )
    }
}
