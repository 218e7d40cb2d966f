//! GitHub Actions: annotations, the job summary and step outputs.
//!
//! Three channels, each with GitHub's own rules:
//!
//! - **Annotations** are workflow commands printed to stdout
//!   (`::error title=...::message`). The message is escaped with
//!   [`escape_data`] (`%`, CR, LF) and property values such as the title
//!   with [`escape_property`] (also `:` and `,`), so a benchmark named
//!   `a,b:c` cannot end a property or start a new command. GitHub shows at
//!   most ten error and ten warning annotations per step and drops the rest
//!   silently, so [`annotation_lines`] writes at most
//!   [`MAX_ANNOTATIONS_PER_KIND`] of each level: when there are more, nine
//!   and a tenth that says how many more there are, which GitHub then shows.
//! - **The job summary** is Markdown appended to `$GITHUB_STEP_SUMMARY`.
//!   GitHub refuses a step summary above 1 MiB ([`SUMMARY_LIMIT`]);
//!   [`job_summary`] stays under half of that ([`SUMMARY_BUDGET`]) by
//!   shortening long names and cutting tables with a note.
//! - **Outputs** are appended to `$GITHUB_OUTPUT`: `name=value` for one
//!   line, `name<<DELIMITER` … `DELIMITER` for several, with a random
//!   delimiter checked to be absent from the value ([`output_entry`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use perfhub_core::compare::Verdict;
use perfhub_core::report::{Comparison, Note, Report, ReportKind, Severity};
use perfhub_core::units::{Quantity, Unit};

use crate::error::Error;
use crate::values::central;

/// Annotations of one level GitHub shows per step; more are dropped.
pub const MAX_ANNOTATIONS_PER_KIND: usize = 10;

/// GitHub's limit on one step's job summary: 1 MiB.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// The size [`job_summary`] keeps under: half of [`SUMMARY_LIMIT`], so
/// other tools in the same step still have room.
pub const SUMMARY_BUDGET: usize = SUMMARY_LIMIT / 2;

/// Characters of a name or other text kept in one table cell.
const MAX_CELL_CHARS: usize = 200;

/// Characters of a note kept in the summary.
const MAX_NOTE_CHARS: usize = 2000;

/// Escapes the data (message) of a workflow command: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command: as [`escape_data`], and
/// also `:` and `,`, which would end the property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The level of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// `::error`: a regression or an exceeded budget.
    Error,
    /// `::warning`: a warning note.
    Warning,
    /// `::notice`: an improvement.
    Notice,
}

impl Level {
    /// The workflow command's name.
    pub fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Level::Error => "errors",
            Level::Warning => "warnings",
            Level::Notice => "notices",
        }
    }
}

/// One annotation, before escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Its level.
    pub level: Level,
    /// A title shown above the message.
    pub title: Option<String>,
    /// The file it points at, relative to the repository's root.
    pub file: Option<String>,
    /// The line in `file`.
    pub line: Option<u32>,
    /// The message.
    pub message: String,
}

impl Annotation {
    /// An annotation with a title and no location.
    pub fn new(level: Level, title: impl Into<String>, message: impl Into<String>) -> Self {
        Annotation {
            level,
            title: Some(title.into()),
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// The workflow command, escaped, without a line break:
    /// `::error file=src/a.rs,line=3,title=T::message`.
    pub fn to_command(&self) -> String {
        let mut props = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
        }
        if let Some(line) = self.line {
            props.push(format!("line={line}"));
        }
        if let Some(title) = &self.title {
            props.push(format!("title={}", escape_property(title)));
        }
        let mut command = format!("::{}", self.level.command());
        if !props.is_empty() {
            command.push(' ');
            command.push_str(&props.join(","));
        }
        command.push_str("::");
        command.push_str(&escape_data(&self.message));
        command
    }
}

/// What an annotation is about, for the "and N more" line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Regression,
    Budget,
    Warning,
    Improvement,
    Inconclusive,
}

impl Topic {
    fn noun(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Topic::Regression, true) => "regression",
            (Topic::Regression, false) => "regressions",
            (Topic::Budget, true) => "exceeded budget",
            (Topic::Budget, false) => "exceeded budgets",
            (Topic::Warning, true) => "warning",
            (Topic::Warning, false) => "warnings",
            (Topic::Improvement, true) => "improvement",
            (Topic::Improvement, false) => "improvements",
            (Topic::Inconclusive, true) => "inconclusive change",
            (Topic::Inconclusive, false) => "inconclusive changes",
        }
    }
}

/// Every annotation of a report, in the order they are written:
/// regressions (largest change first) and exceeded budgets as errors,
/// warning notes as warnings, improvements as notices. Not capped: see
/// [`annotation_lines`].
pub fn annotations(report: &Report) -> Vec<Annotation> {
    topical_annotations(report)
        .into_iter()
        .map(|(_, a)| a)
        .collect()
}

fn topical_annotations(report: &Report) -> Vec<(Topic, Annotation)> {
    let mut out = Vec::new();
    let units = Units::of(report);
    let by_size = |verdict: Verdict| {
        let mut cs: Vec<&Comparison> = report
            .comparisons
            .iter()
            .filter(|c| c.verdict == Some(verdict))
            .collect();
        // Largest change first, so the ones shown are the ones that matter;
        // NaN sorts last.
        cs.sort_by(|a, b| {
            let size = |c: &Comparison| {
                let r = (c.ratio - 1.0).abs();
                if r.is_nan() { -1.0 } else { r }
            };
            size(b).total_cmp(&size(a))
        });
        cs
    };
    for c in by_size(Verdict::Regressed) {
        out.push((
            Topic::Regression,
            Annotation::new(
                Level::Error,
                format!(
                    "perfhub: {} regressed",
                    shorten(&c.benchmark, MAX_CELL_CHARS)
                ),
                change_sentence(&units, c),
            ),
        ));
    }
    for v in report.budgets.iter().filter(|v| !v.passed) {
        out.push((
            Topic::Budget,
            Annotation::new(
                Level::Error,
                format!(
                    "perfhub: budget exceeded on {}",
                    shorten(&v.benchmark, MAX_CELL_CHARS)
                ),
                format!(
                    "{}: budget `{}` failed: {} of {} is {} (limit {})",
                    v.benchmark,
                    v.budget,
                    v.statistic,
                    v.metric,
                    Quantity::new(v.actual, v.unit),
                    Quantity::new(v.threshold, v.unit)
                ),
            ),
        ));
    }
    for (scope, note) in notes(report) {
        if note.severity != Severity::Warning {
            continue;
        }
        let text = shorten(&note.message, MAX_NOTE_CHARS);
        let message = match scope {
            Some(bench) => format!("{}: {text}", shorten(bench, MAX_CELL_CHARS)),
            None => text.into_owned(),
        };
        out.push((
            Topic::Warning,
            Annotation::new(
                Level::Warning,
                format!("perfhub: {}", shorten(&note.code, MAX_CELL_CHARS)),
                message,
            ),
        ));
    }
    for c in by_size(Verdict::Inconclusive) {
        out.push((
            Topic::Inconclusive,
            Annotation::new(
                Level::Notice,
                format!(
                    "perfhub: {} inconclusive",
                    shorten(&c.benchmark, MAX_CELL_CHARS)
                ),
                change_sentence(&units, c),
            ),
        ));
    }
    for c in by_size(Verdict::Improved) {
        out.push((
            Topic::Improvement,
            Annotation::new(
                Level::Notice,
                format!(
                    "perfhub: {} improved",
                    shorten(&c.benchmark, MAX_CELL_CHARS)
                ),
                change_sentence(&units, c),
            ),
        ));
    }
    out
}

/// The annotations of a report as workflow commands, one per line, at most
/// [`MAX_ANNOTATIONS_PER_KIND`] per level: when a level has more, the first
/// nine are written and a tenth says how many more there are ("and 7 more
/// regressions: see the job summary"), so that GitHub, which drops
/// annotations past the tenth, still shows it.
pub fn annotation_lines(report: &Report) -> Vec<String> {
    cap(topical_annotations(report))
        .iter()
        .map(Annotation::to_command)
        .collect()
}

fn cap(all: Vec<(Topic, Annotation)>) -> Vec<Annotation> {
    let mut out = Vec::new();
    for level in [Level::Error, Level::Warning, Level::Notice] {
        let of_level: Vec<&(Topic, Annotation)> =
            all.iter().filter(|(_, a)| a.level == level).collect();
        if of_level.len() <= MAX_ANNOTATIONS_PER_KIND {
            out.extend(of_level.iter().map(|(_, a)| a.clone()));
            continue;
        }
        let keep = MAX_ANNOTATIONS_PER_KIND - 1;
        out.extend(of_level[..keep].iter().map(|(_, a)| a.clone()));
        // Count what was left out, topic by topic, in first-seen order.
        let mut rest: Vec<(Topic, usize)> = Vec::new();
        for (topic, _) in &of_level[keep..] {
            match rest.iter_mut().find(|(t, _)| t == topic) {
                Some((_, n)) => *n += 1,
                None => rest.push((*topic, 1)),
            }
        }
        let parts: Vec<String> = rest
            .iter()
            .map(|(t, n)| format!("{n} more {}", t.noun(*n)))
            .collect();
        out.push(Annotation::new(
            level,
            format!("perfhub: more {}", level.plural()),
            format!("and {}: see the job summary", parts.join(" and ")),
        ));
    }
    out
}

/// The report's notes, then each benchmark's with its name.
fn notes(report: &Report) -> impl Iterator<Item = (Option<&str>, &Note)> {
    report.notes.iter().map(|n| (None, n)).chain(
        report
            .benchmarks
            .iter()
            .flat_map(|b| b.notes.iter().map(move |n| (Some(b.name.as_str()), n))),
    )
}

/// The units of the report's measurements by benchmark and metric, so
/// that looking comparisons up stays linear in big reports.
struct Units<'a>(HashMap<(&'a str, &'a str), Unit>);

impl<'a> Units<'a> {
    fn of(report: &'a Report) -> Self {
        let mut map = HashMap::new();
        for b in &report.benchmarks {
            for m in &b.measurements {
                map.entry((b.name.as_str(), m.metric.as_str()))
                    .or_insert(m.unit);
            }
        }
        Units(map)
    }

    /// The unit of a comparison's metric, from the compared benchmark.
    fn of_comparison(&self, c: &Comparison) -> Unit {
        self.0
            .get(&(c.benchmark.as_str(), c.metric.as_str()))
            .copied()
            .unwrap_or(Unit::Number)
    }
}

/// A relative change with its sign: `+9.8%`, `-20%`, `0%`.
fn signed_percent(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", Unit::Ratio.format(x))
    } else if x == 0.0 {
        Unit::Ratio.format(0.0)
    } else {
        Unit::Ratio.format(x)
    }
}

/// `+9.8% [+8.1%, +11.5%]`, or the change alone without an interval.
fn change_cell(c: &Comparison, with_level: bool) -> String {
    let mut s = signed_percent(c.ratio - 1.0);
    if let Some(ci) = &c.ratio_ci {
        let level = if with_level {
            format!(" at {}", Unit::Ratio.format(ci.level))
        } else {
            String::new()
        };
        let _ = write!(
            s,
            " [{}, {}]{level}",
            signed_percent(ci.lower - 1.0),
            signed_percent(ci.upper - 1.0)
        );
    }
    s
}

/// One sentence about a change, for an annotation.
fn change_sentence(units: &Units<'_>, c: &Comparison) -> String {
    let unit = units.of_comparison(c);
    let mut s = format!("{}: {}", c.benchmark, c.metric);
    if let (Some(b), Some(h)) = (c.base_value, c.head_value) {
        let _ = write!(
            s,
            " {} -> {}",
            Quantity::new(b, unit),
            Quantity::new(h, unit)
        );
    }
    let _ = write!(s, ", {}", signed_percent(c.ratio - 1.0));
    if let Some(ci) = &c.ratio_ci {
        let _ = write!(
            s,
            " ({} confidence interval {} to {})",
            Unit::Ratio.format(ci.level),
            signed_percent(ci.lower - 1.0),
            signed_percent(ci.upper - 1.0)
        );
    }
    if let Some(e) = c.min_effect {
        let _ = write!(s, "; minimum effect {}", Unit::Ratio.format(e));
    }
    if let Some(m) = &c.method {
        let _ = write!(s, "; {m}");
    }
    if c.mde.is_some() || c.verdict == Some(Verdict::Inconclusive) {
        let _ = write!(s, "; {}", perfhub_core::compare::detectable_sentence(c.mde));
    }
    s
}

/// How many changes and budgets went which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Comparisons that regressed.
    pub regressed: usize,
    /// Comparisons that improved.
    pub improved: usize,
    /// Comparisons judged unchanged.
    pub unchanged: usize,
    /// Comparisons too noisy to have seen the minimum effect.
    pub inconclusive: usize,
    /// Budgets that held.
    pub budgets_passed: usize,
    /// Budgets that failed.
    pub budgets_failed: usize,
}

impl Counts {
    /// The counts of a report.
    pub fn of(report: &Report) -> Counts {
        let mut n = Counts::default();
        for c in &report.comparisons {
            match c.verdict {
                Some(Verdict::Regressed) => n.regressed += 1,
                Some(Verdict::Improved) => n.improved += 1,
                Some(Verdict::Unchanged) => n.unchanged += 1,
                Some(Verdict::Inconclusive) => n.inconclusive += 1,
                None => {}
            }
        }
        for v in &report.budgets {
            if v.passed {
                n.budgets_passed += 1;
            } else {
                n.budgets_failed += 1;
            }
        }
        n
    }

    fn judged(&self) -> usize {
        self.regressed + self.improved + self.unchanged + self.inconclusive
    }
}

/// The one-word outcome of a report, the `verdict` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverallVerdict {
    /// Some comparison regressed (whatever the budgets say).
    Regressed,
    /// Nothing regressed, the budgets held, and something improved.
    Improved,
    /// Changes were judged, none regressed or improved, and the budgets held.
    Unchanged,
    /// Nothing regressed or improved, the budgets held, and some changes
    /// were too noisy to have seen the minimum effect.
    Inconclusive,
    /// No change was judged, and every budget held (or there were none).
    Pass,
    /// Nothing regressed but a budget failed.
    Fail,
}

impl OverallVerdict {
    /// The verdict of a report.
    pub fn of(report: &Report) -> OverallVerdict {
        let n = Counts::of(report);
        if n.regressed > 0 {
            OverallVerdict::Regressed
        } else if n.budgets_failed > 0 {
            OverallVerdict::Fail
        } else if n.improved > 0 {
            OverallVerdict::Improved
        } else if n.inconclusive > 0 {
            OverallVerdict::Inconclusive
        } else if n.unchanged > 0 {
            OverallVerdict::Unchanged
        } else {
            OverallVerdict::Pass
        }
    }

    /// `regressed`, `improved`, `unchanged`, `inconclusive`, `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverallVerdict::Regressed => "regressed",
            OverallVerdict::Improved => "improved",
            OverallVerdict::Unchanged => "unchanged",
            OverallVerdict::Inconclusive => "inconclusive",
            OverallVerdict::Pass => "pass",
            OverallVerdict::Fail => "fail",
        }
    }

    /// Whether a CI gate should fail on it.
    pub fn is_failure(self) -> bool {
        matches!(self, OverallVerdict::Regressed | OverallVerdict::Fail)
    }
}

/// `s` cut to `max_chars` characters with an ellipsis, so one odd name
/// cannot fill a title or a summary.
fn shorten(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// Escapes text for a Markdown table cell or list item: line breaks become
/// spaces, the characters Markdown (and GitHub's extensions: tables, math,
/// strikethrough) give meaning to get a backslash, and text longer than
/// `max_chars` is cut with an ellipsis.
pub fn escape_markdown(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (i, ch) in s.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        match ch {
            '\r' | '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '&' | '$'
            | '{' | '}' | '(' | ')' => {
                out.push('\\');
                out.push(ch);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cell(s: &str) -> String {
    escape_markdown(s, MAX_CELL_CHARS)
}

/// A table with a byte budget: rows past it are left out with a note.
struct Table {
    text: String,
    budget: usize,
    left_out: usize,
}

impl Table {
    fn new(header: &[&str], align: &[&str], budget: usize) -> Table {
        let mut text = format!("| {} |\n", header.join(" | "));
        let _ = writeln!(text, "| {} |", align.join(" | "));
        Table {
            text,
            budget,
            left_out: 0,
        }
    }

    /// Whether rows are being left out already: callers may skip
    /// formatting them.
    fn is_full(&self) -> bool {
        self.left_out > 0
    }

    fn row(&mut self, cells: &[String]) {
        let row = format!("| {} |\n", cells.join(" | "));
        if self.left_out > 0 || self.text.len() + row.len() > self.budget {
            self.left_out += 1;
        } else {
            self.text.push_str(&row);
        }
    }

    fn finish(self, what: &str, out: &mut String) {
        out.push_str(&self.text);
        if self.left_out > 0 {
            let _ = writeln!(
                out,
                "\n_{} more {what} not shown: the summary is limited in size; the report JSON has them all._",
                self.left_out
            );
        }
        out.push('\n');
    }
}

fn title(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Run => "command benchmarks",
        ReportKind::Profile => "profile",
        ReportKind::Load => "load test",
        ReportKind::Bench => "benchmarks",
        ReportKind::Compare => "comparison",
        ReportKind::Check => "check",
        _ => "report",
    }
}

fn verdict_rank(v: Option<Verdict>) -> u8 {
    match v {
        Some(Verdict::Regressed) => 0,
        Some(Verdict::Improved) => 1,
        Some(Verdict::Inconclusive) => 2,
        Some(Verdict::Unchanged) => 3,
        None => 4,
    }
}

/// The job summary: GitHub-flavored Markdown for `$GITHUB_STEP_SUMMARY`.
///
/// A headline (how many changes regressed, improved and stayed unchanged,
/// how many budgets passed and failed), then a table of changes
/// (regressions first) or, for a report without comparisons, of each
/// benchmark's primary metric; then the budgets and the notes. Always under
/// [`SUMMARY_BUDGET`] bytes.
pub fn job_summary(report: &Report) -> String {
    let n = Counts::of(report);
    let mut out = format!("## perfhub: {}\n\n", title(report.kind));

    // The headline.
    let mut head = Vec::new();
    if n.judged() > 0 {
        let regressed = if n.regressed > 0 {
            format!("**{} regressed**", n.regressed)
        } else {
            "0 regressed".to_string()
        };
        let inconclusive = if n.inconclusive > 0 {
            format!(", {} inconclusive", n.inconclusive)
        } else {
            String::new()
        };
        head.push(format!(
            "{regressed}, {} improved, {} unchanged{inconclusive}.",
            n.improved, n.unchanged
        ));
    } else if report.benchmarks.is_empty() {
        head.push("No benchmarks.".to_string());
    } else {
        let b = report.benchmarks.len();
        head.push(format!("{b} benchmark{}.", if b == 1 { "" } else { "s" }));
    }
    if !report.budgets.is_empty() {
        let failed = if n.budgets_failed > 0 {
            format!("**{} failed**", n.budgets_failed)
        } else {
            "0 failed".to_string()
        };
        head.push(format!("Budgets: {} passed, {failed}.", n.budgets_passed));
    }
    out.push_str(&head.join(" "));
    out.push_str("\n\n");
    if let Some(env) = &report.environment
        && let Some(commit) = &env.git_commit
    {
        let _ = write!(out, "Commit {}", escape_markdown(commit, 64));
        if let Some(branch) = &env.git_branch {
            let _ = write!(out, " on {}", escape_markdown(branch, 100));
        }
        out.push_str(".\n\n");
    }

    let table_budget = SUMMARY_BUDGET / 2;
    let side_budget = SUMMARY_BUDGET / 5;
    if !report.comparisons.is_empty() {
        let levels: Vec<f64> = report
            .comparisons
            .iter()
            .filter_map(|c| c.ratio_ci.map(|ci| ci.level))
            .collect();
        let one_level = match levels.as_slice() {
            [l, rest @ ..] if rest.iter().all(|x| x == l) => Some(*l),
            _ => None,
        };
        let change_header = match one_level {
            Some(l) => format!("Change [{} CI]", Unit::Ratio.format(l)),
            None => "Change [CI]".to_string(),
        };
        out.push_str("### Changes\n\n");
        if n.judged() > 0 {
            out.push_str(
                "A change counts when it is statistically significant and at least the minimum effect. *Detectable*: the smallest change this run would have flagged (90% power) for the noise it measured; a benchmark that could not have seen the minimum effect is *inconclusive*, not unchanged.\n\n",
            );
        }
        let mut table = Table::new(
            &[
                "Benchmark",
                "Metric",
                "Base",
                "Head",
                &change_header,
                "p (adj.)",
                "Detectable",
                "Verdict",
            ],
            &[":--", ":--", "--:", "--:", "--:", "--:", "--:", ":--"],
            table_budget,
        );
        let units = Units::of(report);
        let mut sorted: Vec<&Comparison> = report.comparisons.iter().collect();
        sorted.sort_by_key(|c| verdict_rank(c.verdict));
        for c in sorted {
            if table.is_full() {
                table.left_out += 1;
                continue;
            }
            let unit = units.of_comparison(c);
            let name = if c.reference == "base" {
                cell(&c.benchmark)
            } else {
                format!("{} vs {}", cell(&c.benchmark), cell(&c.reference))
            };
            let value =
                |v: Option<f64>| v.map_or("-".to_string(), |v| Quantity::new(v, unit).to_string());
            let verdict = match c.verdict {
                Some(Verdict::Regressed) => "**regressed**".to_string(),
                Some(v) => v.as_str().to_string(),
                None => "-".to_string(),
            };
            table.row(&[
                name,
                cell(&c.metric),
                value(c.base_value),
                value(c.head_value),
                change_cell(c, one_level.is_none()),
                c.p_adjusted
                    .or(c.p_value)
                    .map_or("-".to_string(), |p| format!("{p:.3}")),
                perfhub_core::compare::detectable_cell(c, "≥", "-"),
                verdict,
            ]);
        }
        table.finish("changes", &mut out);
    } else if !report.benchmarks.is_empty() {
        out.push_str("### Benchmarks\n\n");
        let mut table = Table::new(
            &[
                "Benchmark",
                "Metric",
                "Mean",
                "Std. dev.",
                "Min",
                "Max",
                "Samples",
            ],
            &[":--", ":--", "--:", "--:", "--:", "--:", "--:"],
            table_budget,
        );
        for b in &report.benchmarks {
            let Some(m) = b.primary() else {
                table.row(&[
                    cell(&b.name),
                    cell(&b.primary_metric),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "0".into(),
                ]);
                continue;
            };
            let q = |v: f64| Quantity::new(v, m.unit).to_string();
            let cells = match central(m) {
                Some(c) => match &c.summary {
                    Some(s) => [q(c.mean), q(s.stddev), q(s.min), q(s.max), s.n.to_string()],
                    None => [q(c.mean), "-".into(), "-".into(), "-".into(), "1".into()],
                },
                None => ["-".into(), "-".into(), "-".into(), "-".into(), "0".into()],
            };
            let mut row = vec![cell(&b.name), cell(&m.metric)];
            row.extend(cells);
            table.row(&row);
        }
        table.finish("benchmarks", &mut out);
    }

    if !report.budgets.is_empty() {
        out.push_str("### Budgets\n\n");
        let mut table = Table::new(
            &["Budget", "Benchmark", "Actual", "Limit", "Result"],
            &[":--", ":--", "--:", "--:", ":--"],
            side_budget,
        );
        let mut sorted: Vec<_> = report.budgets.iter().collect();
        sorted.sort_by_key(|v| v.passed);
        for v in sorted {
            table.row(&[
                cell(&v.budget),
                cell(&v.benchmark),
                format!(
                    "{} of {}: {}",
                    cell(&v.statistic),
                    cell(&v.metric),
                    Quantity::new(v.actual, v.unit)
                ),
                Quantity::new(v.threshold, v.unit).to_string(),
                if v.passed { "passed" } else { "**failed**" }.to_string(),
            ]);
        }
        table.finish("budgets", &mut out);
    }

    let all_notes: Vec<_> = notes(report).collect();
    if !all_notes.is_empty() {
        out.push_str("### Notes\n\n");
        let mut left_out = 0;
        let start = out.len();
        for (scope, note) in all_notes {
            let severity = match note.severity {
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let mut line = format!("- {severity} ({}): ", escape_markdown(&note.code, 100));
            if let Some(bench) = scope {
                let _ = write!(line, "{}: ", cell(bench));
            }
            line.push_str(&escape_markdown(&note.message, MAX_NOTE_CHARS));
            line.push('\n');
            if left_out > 0 || out.len() - start + line.len() > side_budget {
                left_out += 1;
            } else {
                out.push_str(&line);
            }
        }
        if left_out > 0 {
            let _ = writeln!(
                out,
                "\n_{left_out} more notes not shown: the summary is limited in size; the report JSON has them all._"
            );
        }
        out.push('\n');
    }
    out
}

/// The step outputs of a report, in order: `regressed`, `improved`,
/// `unchanged` (counts of comparisons), `verdict` (see [`OverallVerdict`])
/// and `summary` (the [`job_summary`] Markdown).
pub fn outputs(report: &Report) -> Vec<(&'static str, String)> {
    outputs_with_summary(report, job_summary(report))
}

fn outputs_with_summary(report: &Report, summary: String) -> Vec<(&'static str, String)> {
    let n = Counts::of(report);
    vec![
        ("regressed", n.regressed.to_string()),
        ("improved", n.improved.to_string()),
        ("unchanged", n.unchanged.to_string()),
        ("inconclusive", n.inconclusive.to_string()),
        ("verdict", OverallVerdict::of(report).as_str().to_string()),
        ("summary", summary),
    ]
}

/// One entry of `$GITHUB_OUTPUT`, ending with a line break: `name=value`
/// when the value is one line, else
/// `name<<ghadelimiter_<random hex>`, the value, and the delimiter again.
/// The delimiter is drawn again whenever it occurs in the value.
pub fn output_entry(name: &str, value: &str) -> Result<String, Error> {
    output_entry_with(name, value, random_delimiter)
}

fn output_entry_with(
    name: &str,
    value: &str,
    mut delimiter: impl FnMut() -> String,
) -> Result<String, Error> {
    if name.is_empty() || name.contains('=') || name.contains("<<") || name.contains(['\n', '\r']) {
        return Err(Error::OutputName(name.to_string()));
    }
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    for _ in 0..16 {
        let d = delimiter();
        if !d.is_empty() && !value.contains(&d) && !name.contains(&d) {
            return Ok(format!("{name}<<{d}\n{value}\n{d}\n"));
        }
    }
    Err(Error::Delimiter(name.to_string()))
}

/// `ghadelimiter_` and 32 random hex digits, as GitHub's own toolkit
/// writes them. The randomness is std's hash keys, which the OS seeds.
fn random_delimiter() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hex = String::from("ghadelimiter_");
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(nanos);
        let _ = write!(hex, "{:016x}", h.finish());
    }
    hex
}

/// Where GitHub Actions wants its files, read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GithubEnv {
    /// Whether this runs under GitHub Actions (`GITHUB_ACTIONS=true`).
    pub actions: bool,
    /// The job summary file (`GITHUB_STEP_SUMMARY`).
    pub step_summary: Option<PathBuf>,
    /// The step outputs file (`GITHUB_OUTPUT`).
    pub output: Option<PathBuf>,
}

impl GithubEnv {
    /// Reads `GITHUB_ACTIONS`, `GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT`;
    /// unset or empty paths are `None`.
    pub fn from_env() -> GithubEnv {
        let path = |key: &str| {
            std::env::var_os(key)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        GithubEnv {
            actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
            output: path("GITHUB_OUTPUT"),
        }
    }
}

/// Appends the job summary and the step outputs of `report` to the files
/// `env` names (creating them when missing; a file that is not named is
/// skipped) and returns the annotation lines for the caller to print to
/// stdout.
///
/// It does not look at [`GithubEnv::actions`]: callers decide whether to
/// publish at all, and whether to print the annotations.
pub fn publish(report: &Report, env: &GithubEnv) -> Result<Vec<String>, Error> {
    let summary = job_summary(report);
    if let Some(path) = &env.step_summary {
        append(path, &summary, true)?;
    }
    if let Some(path) = &env.output {
        let mut text = String::new();
        for (name, value) in outputs_with_summary(report, summary) {
            text.push_str(&output_entry(name, &value)?);
        }
        append(path, &text, false)?;
    }
    Ok(annotation_lines(report))
}

/// Appends `text` in one write; with `separate`, after a blank line when
/// the file already has content, so Markdown blocks do not run together.
fn append(path: &Path, text: &str, separate: bool) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(err)?;
    let has_content = file.metadata().map_err(err)?.len() > 0;
    let mut block = String::with_capacity(text.len() + 1);
    if separate && has_content {
        block.push('\n');
    }
    block.push_str(text);
    file.write_all(block.as_bytes()).map_err(err)?;
    file.flush().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::budget::BudgetVerdict;
    use perfhub_core::report::{Benchmark, Measurement, metric};

    /// Built from JSON, so that new optional fields of `Comparison` do not
    /// break these tests.
    fn comparison(name: &str, ratio: f64, verdict: Verdict) -> Comparison {
        serde_json::from_value(serde_json::json!({
            "benchmark": name,
            "reference": "base",
            "metric": metric::WALL_TIME,
            "ratio": ratio,
            "ratio_ci": { "level": 0.95, "lower": ratio - 0.01, "upper": ratio + 0.01 },
            "p_value": 0.001,
            "verdict": verdict,
            "min_effect": 0.03,
            "base_value": 0.010,
            "head_value": 0.010 * ratio,
            "method": "10 paired rounds",
        }))
        .unwrap()
    }

    fn compare_report(comparisons: Vec<Comparison>) -> Report {
        let mut r = Report::new(ReportKind::Compare, "2026-01-01T00:00:00Z".parse().unwrap());
        for c in &comparisons {
            let mut b = Benchmark::new(c.benchmark.clone(), metric::WALL_TIME);
            b.measurements.push(Measurement::from_samples(
                metric::WALL_TIME,
                Unit::Seconds,
                vec![0.010, 0.011],
            ));
            r.benchmarks.push(b);
        }
        r.comparisons = comparisons;
        r
    }

    #[test]
    fn escapes_data_and_properties_exactly() {
        assert_eq!(escape_data("50%\r\nnext: a,b"), "50%25%0D%0Anext: a,b");
        assert_eq!(
            escape_property("50%\r\nnext: a,b"),
            "50%25%0D%0Anext%3A a%2Cb"
        );
        // `%` first, so an escape in the input is not read back as one.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn annotation_commands_are_escaped_exactly() {
        let a = Annotation {
            level: Level::Error,
            title: Some("a,b: c".into()),
            file: Some("src/x,y.rs".into()),
            line: Some(3),
            message: "line one\nline two: 5%".into(),
        };
        assert_eq!(
            a.to_command(),
            "::error file=src/x%2Cy.rs,line=3,title=a%2Cb%3A c::line one%0Aline two: 5%25"
        );
        let bare = Annotation {
            level: Level::Notice,
            title: None,
            file: None,
            line: None,
            message: "hi".into(),
        };
        assert_eq!(bare.to_command(), "::notice::hi");
    }

    #[test]
    fn a_regression_annotation_reads_well() {
        let r = compare_report(vec![comparison("fib/20", 1.1, Verdict::Regressed)]);
        let lines = annotation_lines(&r);
        assert_eq!(
            lines,
            vec![
                "::error title=perfhub%3A fib/20 regressed::fib/20: wall_time 10 ms -> 11 ms, +10%25 (95%25 confidence interval +9%25 to +11%25); minimum effect 3%25; 10 paired rounds"
            ]
        );
    }

    #[test]
    fn names_with_separators_cannot_break_a_command() {
        let r = compare_report(vec![comparison("a,b::c\nd|e", 1.1, Verdict::Regressed)]);
        let line = &annotation_lines(&r)[0];
        assert!(!line.contains('\n'));
        assert!(line.starts_with("::error title=perfhub%3A a%2Cb%3A%3Ac%0Ad|e regressed::"));
    }

    #[test]
    fn at_most_ten_per_level_with_a_summary_of_the_rest() {
        let mut cs: Vec<Comparison> = (0..16)
            .map(|i| comparison(&format!("r{i}"), 1.1 + i as f64 * 0.01, Verdict::Regressed))
            .collect();
        cs.extend((0..3).map(|i| comparison(&format!("i{i}"), 0.8, Verdict::Improved)));
        let mut r = compare_report(cs);
        for i in 0..2 {
            r.budgets.push(BudgetVerdict {
                budget: "mean < 1ms".into(),
                benchmark: format!("r{i}"),
                metric: metric::WALL_TIME.into(),
                statistic: "mean".into(),
                actual: 0.002,
                threshold: 0.001,
                unit: Unit::Seconds,
                passed: false,
            });
        }
        // 18 errors: 9 shown, then the count of the other 9.
        let lines = annotation_lines(&r);
        let errors: Vec<_> = lines.iter().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), MAX_ANNOTATIONS_PER_KIND);
        // The largest regression comes first.
        assert!(errors[0].starts_with("::error title=perfhub%3A r15 regressed::"));
        assert_eq!(
            errors[9],
            "::error title=perfhub%3A more errors::and 7 more regressions and 2 more exceeded budgets: see the job summary"
        );
        let notices = lines.iter().filter(|l| l.starts_with("::notice")).count();
        assert_eq!(notices, 3);
        // Exactly ten of a kind are all shown, with no summary.
        let r = compare_report(
            (0..10)
                .map(|i| comparison(&format!("r{i}"), 1.1, Verdict::Regressed))
                .collect(),
        );
        let lines = annotation_lines(&r);
        assert_eq!(lines.len(), 10);
        assert!(lines.iter().all(|l| l.contains(" regressed::")));
        // Eleven: nine and "2 more".
        let r = compare_report(
            (0..11)
                .map(|i| comparison(&format!("r{i}"), 1.1, Verdict::Regressed))
                .collect(),
        );
        let lines = annotation_lines(&r);
        assert_eq!(lines.len(), 10);
        assert!(lines[9].ends_with("::and 2 more regressions: see the job summary"));
        assert_eq!(annotations(&r).len(), 11);
    }

    #[test]
    fn long_names_are_shortened_in_titles() {
        let name = "n".repeat(1000);
        let r = compare_report(vec![comparison(&name, 1.1, Verdict::Regressed)]);
        let a = &annotations(&r)[0];
        assert_eq!(
            a.title.as_deref(),
            Some(format!("perfhub: {}… regressed", "n".repeat(200)).as_str())
        );
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hé", 2), "hé");
    }

    #[test]
    fn warning_notes_become_warnings_and_info_notes_do_not() {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        r.notes.push(Note::warning("noisy", "the machine was busy"));
        r.notes.push(Note::info("fyi", "nothing to see"));
        let mut b = Benchmark::new("b", metric::WALL_TIME);
        b.notes.push(Note::warning("exit", "a run failed"));
        r.benchmarks.push(b);
        assert_eq!(
            annotation_lines(&r),
            vec![
                "::warning title=perfhub%3A noisy::the machine was busy",
                "::warning title=perfhub%3A exit::b: a run failed",
            ]
        );
    }

    #[test]
    fn summary_has_headline_changes_budgets_and_notes() {
        let mut r = compare_report(vec![
            comparison("unchanged|pipe", 1.0, Verdict::Unchanged),
            comparison("slow_*thing*", 1.1, Verdict::Regressed),
            comparison("fast", 0.8, Verdict::Improved),
        ]);
        r.budgets.push(BudgetVerdict {
            budget: "p95 < 200ms".into(),
            benchmark: "fast".into(),
            metric: metric::WALL_TIME.into(),
            statistic: "p95".into(),
            actual: 0.25,
            threshold: 0.2,
            unit: Unit::Seconds,
            passed: false,
        });
        r.notes.push(Note::warning("w", "line\nbreak"));
        let s = job_summary(&r);
        assert!(s.starts_with("## perfhub: comparison\n\n**1 regressed**, 1 improved, 1 unchanged. Budgets: 0 passed, **1 failed**.\n"), "{s}");
        assert!(
            s.contains(
                "| Benchmark | Metric | Base | Head | Change [95% CI] | p (adj.) | Detectable | Verdict |"
            ),
            "{s}"
        );
        assert!(s.contains("| slow\\_\\*thing\\* | wall\\_time | 10 ms | 11 ms | +10% [+9%, +11%] | 0.001 | - | **regressed** |"), "{s}");
        assert!(s.contains("| unchanged\\|pipe |"), "{s}");
        // Regressions first, then improvements, then the rest.
        let pos = |needle: &str| s.find(needle).unwrap();
        assert!(pos("slow") < pos("| fast") && pos("| fast") < pos("unchanged\\|"));
        assert!(
            s.contains(
                "| p95 \\< 200ms | fast | p95 of wall\\_time: 250 ms | 200 ms | **failed** |"
            ),
            "{s}"
        );
        assert!(s.contains("**failed**"));
        assert!(s.contains("- warning (w): line break\n"), "{s}");
    }

    #[test]
    fn summary_of_a_plain_run_lists_benchmarks() {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("sleep", metric::WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![0.1, 0.2, f64::NAN],
        ));
        r.benchmarks.push(b);
        let s = job_summary(&r);
        assert!(s.contains("1 benchmark."), "{s}");
        // Samples with a NaN cannot be summarized: dashes, not a panic.
        assert!(
            s.contains("| sleep | wall\\_time | - | - | - | - | 0 |"),
            "{s}"
        );
        assert_eq!(OverallVerdict::of(&r), OverallVerdict::Pass);
        let empty = Report::new(ReportKind::Bench, "2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            job_summary(&empty),
            "## perfhub: benchmarks\n\nNo benchmarks.\n\n"
        );
        assert!(annotation_lines(&empty).is_empty());
    }

    #[test]
    fn huge_reports_are_cut_to_the_budget() {
        let long = "x".repeat(300);
        let cs: Vec<Comparison> = (0..3_000)
            .map(|i| comparison(&format!("{long}{i}"), 1.0, Verdict::Unchanged))
            .collect();
        let r = compare_report(cs);
        let s = job_summary(&r);
        assert!(s.len() < SUMMARY_BUDGET, "{}", s.len());
        assert!(s.contains("more changes not shown"));
        // Names are shortened in cells.
        assert!(s.contains("x…"));
    }

    #[test]
    fn verdicts() {
        let v = |cs| OverallVerdict::of(&compare_report(cs));
        assert_eq!(
            v(vec![
                comparison("a", 1.1, Verdict::Regressed),
                comparison("b", 0.8, Verdict::Improved)
            ]),
            OverallVerdict::Regressed
        );
        assert_eq!(
            v(vec![comparison("b", 0.8, Verdict::Improved)]),
            OverallVerdict::Improved
        );
        assert_eq!(
            v(vec![comparison("b", 1.0, Verdict::Unchanged)]),
            OverallVerdict::Unchanged
        );
        assert_eq!(v(vec![]), OverallVerdict::Pass);
        let mut r = compare_report(vec![comparison("b", 0.8, Verdict::Improved)]);
        r.budgets.push(BudgetVerdict {
            budget: "mean < 1ms".into(),
            benchmark: "b".into(),
            metric: metric::WALL_TIME.into(),
            statistic: "mean".into(),
            actual: 0.002,
            threshold: 0.001,
            unit: Unit::Seconds,
            passed: false,
        });
        assert_eq!(OverallVerdict::of(&r), OverallVerdict::Fail);
        assert!(OverallVerdict::Fail.is_failure());
    }

    #[test]
    fn single_line_outputs_are_name_value() {
        assert_eq!(output_entry("verdict", "pass").unwrap(), "verdict=pass\n");
        assert_eq!(output_entry("x", "").unwrap(), "x=\n");
        assert_eq!(output_entry("x", "a<<b=c").unwrap(), "x=a<<b=c\n");
        for bad in ["", "a=b", "a<<b", "a\nb"] {
            assert!(
                matches!(output_entry(bad, "v"), Err(Error::OutputName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn multi_line_outputs_use_a_random_heredoc_delimiter() {
        let value = "## title\n\n| a | b |\n";
        let entry = output_entry("summary", value).unwrap();
        let (first, rest) = entry.split_once('\n').unwrap();
        let delimiter = first.strip_prefix("summary<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        let hex = &delimiter["ghadelimiter_".len()..];
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(rest, format!("{value}\n{delimiter}\n"));
        // Two entries get different delimiters.
        let again = output_entry("summary", value).unwrap();
        assert_ne!(again.lines().next(), Some(first));
    }

    #[test]
    fn a_delimiter_found_in_the_value_is_drawn_again() {
        let mut draws = vec!["EOF".to_string(), "ZZZ".to_string()].into_iter();
        let entry =
            output_entry_with("s", "a\nEOF\nb", || draws.next().unwrap_or_default()).unwrap();
        assert_eq!(entry, "s<<ZZZ\na\nEOF\nb\nZZZ\n");
        let err = output_entry_with("s", "a\nEOF", || "EOF".to_string()).unwrap_err();
        assert!(matches!(err, Error::Delimiter(_)));
    }

    #[test]
    fn an_inconclusive_change_says_what_the_run_could_have_seen() {
        let mut noisy = comparison("noisy", 1.02, Verdict::Inconclusive);
        noisy.mde = Some(0.05);
        let mut quiet = comparison("quiet", 1.001, Verdict::Unchanged);
        quiet.mde = Some(0.012);
        let r = compare_report(vec![quiet, noisy]);
        let s = job_summary(&r);
        assert!(
            s.contains("0 regressed, 0 improved, 1 unchanged, 1 inconclusive."),
            "{s}"
        );
        assert!(s.contains("| ≥ 5.0% | inconclusive |"), "{s}");
        assert!(s.contains("| ≥ 1.2% | unchanged |"), "{s}");
        // Inconclusive rows come before unchanged ones.
        assert!(s.find("noisy").unwrap() < s.find("quiet").unwrap(), "{s}");
        let notes = annotation_lines(&r);
        assert!(
            notes.iter().any(|l| l.starts_with("::notice")
                && l.contains("noisy inconclusive")
                && l.contains("this run could have seen changes of 5.0%25 or more")),
            "{notes:?}"
        );
        assert_eq!(OverallVerdict::of(&r), OverallVerdict::Inconclusive);
        assert!(!OverallVerdict::of(&r).is_failure());
        let outputs = outputs(&r);
        assert!(
            outputs.contains(&("inconclusive", "1".to_string())),
            "{outputs:?}"
        );
        assert!(outputs.contains(&("verdict", "inconclusive".to_string())));
    }
}
