//! Exports of a run report in other tools' formats: hyperfine's JSON (so
//! existing hyperfine tooling keeps working), its Markdown, AsciiDoc and
//! org-mode tables, and CSV; and the order and time unit hyperfine's
//! `--sort` and `--time-unit` choose, which the terminal summary shares;
//! and [`Exports`], the files `perfhub run --export-*` writes, with
//! [`check_writable`] to refuse an export path before measuring.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use perfhub_core::report::{Comparison, metric};
use perfhub_core::stats::Summary;
use perfhub_core::{Benchmark, Report};
use serde::Serialize;

/// One entry of hyperfine's `results` array (hyperfine 1.x `--export-json`).
/// All times are in seconds.
#[derive(Debug, Serialize)]
pub struct HyperfineResult {
    /// The command line.
    pub command: String,
    /// Mean wall time.
    pub mean: f64,
    /// Standard deviation of wall time, `null` for a single run.
    pub stddev: Option<f64>,
    /// Median wall time.
    pub median: f64,
    /// Mean user time.
    pub user: f64,
    /// Mean system time.
    pub system: f64,
    /// Fastest run.
    pub min: f64,
    /// Slowest run.
    pub max: f64,
    /// Every run's wall time.
    pub times: Vec<f64>,
    /// Every run's peak RSS in bytes.
    pub memory_usage_byte: Vec<u64>,
    /// Every run's exit code (`null` when a signal ended it).
    pub exit_codes: Vec<Option<i32>>,
    /// Parameter values, for parameter scans.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// hyperfine's JSON document.
#[derive(Debug, Serialize)]
pub struct HyperfineExport {
    /// One result per benchmark.
    pub results: Vec<HyperfineResult>,
}

fn samples<'a>(b: &'a Benchmark, metric: &str) -> &'a [f64] {
    b.measurement(metric).map_or(&[], |m| m.samples.as_slice())
}

fn mean(s: &[f64]) -> f64 {
    perfhub_core::stats::mean(s).unwrap_or(0.0)
}

/// What hyperfine writes in its `command` column: the name given with
/// `--command-name`, or else the command. A name perfhub made from the
/// command (with a ` (#n)` suffix when the command is listed twice) gives
/// the command itself, as hyperfine does.
fn command_field(b: &Benchmark) -> &str {
    let Some(command) = b.command.as_deref() else {
        return &b.name;
    };
    let derived = b.name == command
        || b.name.strip_prefix(command).is_some_and(|rest| {
            rest.strip_prefix(" (#")
                .and_then(|r| r.strip_suffix(')'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        });
    if derived { command } else { &b.name }
}

/// Converts a run report into hyperfine's result format. Benchmarks without
/// a completed run are left out, as hyperfine would have no numbers for them.
pub fn hyperfine(report: &Report) -> HyperfineExport {
    let results = report
        .benchmarks
        .iter()
        .filter_map(|b| {
            let wall = b.measurement(metric::WALL_TIME)?;
            let s = wall.summary.as_ref()?;
            Some(HyperfineResult {
                command: command_field(b).to_string(),
                mean: s.mean,
                stddev: (s.n > 1).then_some(s.stddev),
                median: s.median,
                user: mean(samples(b, metric::USER_TIME)),
                system: mean(samples(b, metric::SYSTEM_TIME)),
                min: s.min,
                max: s.max,
                times: wall.samples.clone(),
                memory_usage_byte: samples(b, metric::MAX_RSS)
                    .iter()
                    .map(|v| *v as u64)
                    .collect(),
                exit_codes: b.exit_codes.clone(),
                parameters: b.parameters.clone(),
            })
        })
        .collect();
    HyperfineExport { results }
}

/// hyperfine's JSON as text.
pub fn hyperfine_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&hyperfine(report)).expect("export serializes");
    s.push('\n');
    s
}

/// How the speed comparison and the markup tables order benchmarks
/// (hyperfine's `--sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// The comparison by mean time, the tables in command order.
    #[default]
    Auto,
    /// Both in the order the commands were given.
    Command,
    /// Both by mean time, fastest first.
    MeanTime,
}

/// One of the two orders a [`SortOrder`] picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The order the commands were given (and run) in.
    Command,
    /// By mean wall time, fastest first.
    MeanTime,
}

impl SortOrder {
    /// The order of the speed comparison after the benchmarks.
    pub fn for_summary(self) -> Order {
        match self {
            SortOrder::Command => Order::Command,
            SortOrder::Auto | SortOrder::MeanTime => Order::MeanTime,
        }
    }

    /// The order of the rows of the Markdown, AsciiDoc and org-mode tables.
    pub fn for_tables(self) -> Order {
        match self {
            SortOrder::MeanTime => Order::MeanTime,
            SortOrder::Auto | SortOrder::Command => Order::Command,
        }
    }
}

impl std::str::FromStr for SortOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(SortOrder::Auto),
            "command" => Ok(SortOrder::Command),
            "mean-time" => Ok(SortOrder::MeanTime),
            _ => Err(format!(
                "unknown sort order {s:?}: give auto, command or mean-time"
            )),
        }
    }
}

/// The unit the times of the summary and of the markup tables are shown in
/// (hyperfine's `--time-unit`, plus nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// ns, no decimals.
    Nanosecond,
    /// µs, one decimal.
    Microsecond,
    /// ms, one decimal.
    Millisecond,
    /// s, three decimals.
    Second,
}

impl TimeUnit {
    /// The unit hyperfine picks for a time: µs under a millisecond, ms
    /// under a second, else s.
    pub fn auto(secs: f64) -> TimeUnit {
        if secs < 1e-3 {
            TimeUnit::Microsecond
        } else if secs < 1.0 {
            TimeUnit::Millisecond
        } else {
            TimeUnit::Second
        }
    }

    /// The unit's symbol: `ns`, `µs`, `ms` or `s`.
    pub fn symbol(self) -> &'static str {
        match self {
            TimeUnit::Nanosecond => "ns",
            TimeUnit::Microsecond => "µs",
            TimeUnit::Millisecond => "ms",
            TimeUnit::Second => "s",
        }
    }

    /// A time in seconds as a number in this unit, with hyperfine's
    /// decimals, without the symbol.
    pub fn value(self, secs: f64) -> String {
        match self {
            TimeUnit::Nanosecond => format!("{:.0}", secs * 1e9),
            TimeUnit::Microsecond => format!("{:.1}", secs * 1e6),
            TimeUnit::Millisecond => format!("{:.1}", secs * 1e3),
            TimeUnit::Second => format!("{secs:.3}"),
        }
    }

    /// A time in seconds in this unit, with its symbol: `12.3 ms`.
    pub fn format(self, secs: f64) -> String {
        format!("{} {}", self.value(secs), self.symbol())
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nanosecond" | "ns" => Ok(TimeUnit::Nanosecond),
            "microsecond" | "us" | "µs" => Ok(TimeUnit::Microsecond),
            "millisecond" | "ms" => Ok(TimeUnit::Millisecond),
            "second" | "s" => Ok(TimeUnit::Second),
            _ => Err(format!(
                "unknown time unit {s:?}: give nanosecond, microsecond, millisecond or second"
            )),
        }
    }
}

/// How the Markdown, AsciiDoc and org-mode tables are drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// The unit of every time; by default the one [`TimeUnit::auto`] picks
    /// for the first benchmark's mean, as hyperfine does.
    pub time_unit: Option<TimeUnit>,
    /// The order of the rows ([`SortOrder::for_tables`]).
    pub sort: SortOrder,
}

/// A benchmark's speed relative to the reference of the report's
/// comparisons (the `--reference` command, or else the fastest).
#[derive(Debug, Clone)]
pub struct RelativeSpeed<'a> {
    /// The benchmark.
    pub benchmark: &'a Benchmark,
    /// Its wall-time summary.
    pub summary: &'a Summary,
    /// Its mean over the reference's: above 1 when it is slower.
    pub ratio: f64,
    /// The standard deviation of `ratio`, when known.
    pub ratio_stddev: Option<f64>,
    /// The comparison with the reference (`None` for the reference itself).
    pub comparison: Option<&'a Comparison>,
    /// Whether this is the reference.
    pub is_reference: bool,
}

/// Every benchmark with completed runs and its speed relative to the
/// reference, in `order`.
pub fn relative_speeds(report: &Report, order: Order) -> Vec<RelativeSpeed<'_>> {
    let reference = report.comparisons.first().map(|c| c.reference.as_str());
    let mut out: Vec<RelativeSpeed<'_>> = report
        .benchmarks
        .iter()
        .filter_map(|b| {
            let summary = b.primary()?.summary.as_ref()?;
            let comparison = report.comparisons.iter().find(|c| c.benchmark == b.name);
            Some(RelativeSpeed {
                benchmark: b,
                summary,
                ratio: comparison.map_or(1.0, |c| c.ratio),
                ratio_stddev: comparison.and_then(|c| c.ratio_stddev),
                comparison,
                is_reference: reference == Some(b.name.as_str()),
            })
        })
        .collect();
    if reference.is_none() && out.len() == 1 {
        out[0].is_reference = true;
    }
    if order == Order::MeanTime {
        out.sort_by(|a, b| a.summary.mean.total_cmp(&b.summary.mean));
    }
    out
}

/// The markup languages hyperfine exports tables in.
#[derive(Clone, Copy)]
enum Markup {
    Markdown,
    AsciiDoc,
    OrgMode,
}

impl Markup {
    fn row(self, cells: &[String]) -> String {
        match self {
            Markup::Markdown => format!("| {} |\n", cells.join(" | ")),
            Markup::AsciiDoc => format!("\n| {} \n", cells.join(" \n| ")),
            Markup::OrgMode => format!("| {}  |  {} |\n", cells[0], cells[1..].join(" |  ")),
        }
    }

    fn command(self, name: &str) -> String {
        let name = name.replace('|', "\\|");
        match self {
            Markup::Markdown | Markup::AsciiDoc => format!("`{}`", name.replace('`', "'")),
            Markup::OrgMode => format!("={name}="),
        }
    }
}

/// A table in hyperfine's layout for `markup`: command, mean ± σ, min, max,
/// relative speed.
fn markup_table(report: &Report, options: &TableOptions, markup: Markup) -> String {
    let unit = options.time_unit.unwrap_or_else(|| {
        // hyperfine takes the unit of the first benchmark run.
        let first = report
            .benchmarks
            .iter()
            .find_map(|b| b.primary()?.summary.as_ref());
        first.map_or(TimeUnit::Second, |s| TimeUnit::auto(s.mean))
    });
    let u = unit.symbol();
    let header = [
        "Command".to_string(),
        format!("Mean [{u}]"),
        format!("Min [{u}]"),
        format!("Max [{u}]"),
        "Relative".to_string(),
    ];
    let mut out = String::new();
    match markup {
        Markup::Markdown => {
            out.push_str(&markup.row(&header));
            out.push_str("|:---|---:|---:|---:|---:|\n");
        }
        Markup::AsciiDoc => {
            out.push_str("[cols=\"<,>,>,>,>\"]\n|===");
            out.push_str(&markup.row(&header));
        }
        Markup::OrgMode => {
            out.push_str(&markup.row(&header));
            out.push_str("|--+--+--+--+--|\n");
        }
    }
    for r in relative_speeds(report, options.sort.for_tables()) {
        let s = r.summary;
        let mean = if s.n > 1 {
            format!("{} ± {}", unit.value(s.mean), unit.value(s.stddev))
        } else {
            unit.value(s.mean)
        };
        let relative = match r.ratio_stddev {
            Some(sd) if !r.is_reference => format!("{:.2} ± {sd:.2}", r.ratio),
            _ => format!("{:.2}", r.ratio),
        };
        out.push_str(&markup.row(&[
            markup.command(&r.benchmark.name),
            mean,
            unit.value(s.min),
            unit.value(s.max),
            relative,
        ]));
    }
    if let Markup::AsciiDoc = markup {
        out.push_str("|===\n");
    }
    out
}

/// A Markdown table in hyperfine's layout: mean ± σ, min, max, relative.
pub fn markdown(report: &Report, options: &TableOptions) -> String {
    markup_table(report, options, Markup::Markdown)
}

/// An AsciiDoc table in hyperfine's layout (`--export-asciidoc`).
pub fn asciidoc(report: &Report, options: &TableOptions) -> String {
    markup_table(report, options, Markup::AsciiDoc)
}

/// An Emacs org-mode table in hyperfine's layout (`--export-orgmode`).
pub fn orgmode(report: &Report, options: &TableOptions) -> String {
    markup_table(report, options, Markup::OrgMode)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV table with hyperfine's columns, plus peak memory, and one
/// `parameter_<name>` column per scanned parameter. Times in seconds.
pub fn csv(report: &Report) -> String {
    let mut params: Vec<&str> = Vec::new();
    for b in &report.benchmarks {
        for k in b.parameters.keys() {
            if !params.contains(&k.as_str()) {
                params.push(k);
            }
        }
    }
    let mut out = String::from("command,mean,stddev,median,user,system,min,max,max_rss_bytes");
    for p in &params {
        let _ = write!(out, ",parameter_{}", csv_field(p));
    }
    out.push('\n');
    for b in &report.benchmarks {
        let Some(s) = b.primary().and_then(|m| m.summary.as_ref()) else {
            continue;
        };
        let rss = samples(b, metric::MAX_RSS)
            .iter()
            .copied()
            .fold(0.0, f64::max);
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            csv_field(command_field(b)),
            s.mean,
            s.stddev,
            s.median,
            mean(samples(b, metric::USER_TIME)),
            mean(samples(b, metric::SYSTEM_TIME)),
            s.min,
            s.max,
            rss as u64
        );
        for p in &params {
            let _ = write!(
                out,
                ",{}",
                csv_field(b.parameters.get(*p).map_or("", String::as_str))
            );
        }
        out.push('\n');
    }
    out
}

/// The files of `perfhub run`'s `--export-*` flags, each written where a
/// path is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exports {
    /// perfhub's JSON report.
    pub json: Option<PathBuf>,
    /// hyperfine's JSON ([`hyperfine_json`]).
    pub hyperfine_json: Option<PathBuf>,
    /// The Markdown table ([`markdown`]).
    pub markdown: Option<PathBuf>,
    /// The CSV table ([`csv`]).
    pub csv: Option<PathBuf>,
    /// The AsciiDoc table ([`asciidoc`]).
    pub asciidoc: Option<PathBuf>,
    /// The org-mode table ([`orgmode`]).
    pub orgmode: Option<PathBuf>,
}

/// An export that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct ExportWriteError {
    /// The export's path.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl Exports {
    /// The paths given.
    pub fn paths(&self) -> Vec<&Path> {
        [
            &self.json,
            &self.hyperfine_json,
            &self.markdown,
            &self.csv,
            &self.asciidoc,
            &self.orgmode,
        ]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect()
    }

    /// Refuses the first path that cannot be written ([`check_writable`]).
    pub fn check_writable(&self) -> Result<(), ExportPathError> {
        self.paths().into_iter().try_for_each(check_writable)
    }

    /// Writes the exports of `report`, the tables drawn with `tables`. Each
    /// is replaced atomically but not synced to disk: the syncs would cost
    /// more than the rest of perfhub's own time (a few ms on an idle disk,
    /// tens on a busy one), for files a rerun makes again.
    pub fn write(&self, report: &Report, tables: &TableOptions) -> Result<(), ExportWriteError> {
        let write =
            |path: &Option<PathBuf>, contents: String| match path {
                Some(p) => perfhub_core::fs::write_atomic_unsynced(p, contents.as_bytes()).map_err(
                    |source| ExportWriteError {
                        path: p.clone(),
                        source,
                    },
                ),
                None => Ok(()),
            };
        write(&self.json, report.to_json() + "\n")?;
        write(&self.hyperfine_json, hyperfine_json(report))?;
        write(&self.markdown, markdown(report, tables))?;
        write(&self.asciidoc, asciidoc(report, tables))?;
        write(&self.orgmode, orgmode(report, tables))?;
        write(&self.csv, csv(report))
    }
}

/// Why an export path cannot be written, found by [`check_writable`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportPathError {
    /// The path is a directory.
    #[error("cannot write export {}: it is a directory; give a file path", path.display())]
    IsDirectory {
        /// The export path.
        path: PathBuf,
    },
    /// The directory it would go into does not exist.
    #[error(
        "cannot write export {}: directory {} does not exist; create it first",
        path.display(),
        dir.display()
    )]
    NoDirectory {
        /// The export path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
    },
    /// A file cannot be created in its directory.
    #[error(
        "cannot write export {}: directory {} is not writable",
        path.display(),
        dir.display()
    )]
    NotWritable {
        /// The export path.
        path: PathBuf,
        /// Its directory.
        dir: PathBuf,
        /// Why a file could not be created there.
        #[source]
        source: std::io::Error,
    },
}

/// Refuses an export path that cannot be written, before any time is spent
/// measuring: a directory, a missing directory, or one where a file cannot
/// be created (tried with an empty hidden file, removed at once).
pub fn check_writable(path: &Path) -> Result<(), ExportPathError> {
    let path_buf = || path.to_path_buf();
    if path.is_dir() {
        return Err(ExportPathError::IsDirectory { path: path_buf() });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let dir = dir.to_path_buf();
        return Err(ExportPathError::NoDirectory {
            path: path_buf(),
            dir,
        });
    }
    let probe = dir.join(format!(".perfhub-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|source| ExportPathError::NotWritable {
        path: path_buf(),
        dir: dir.to_path_buf(),
        source,
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use perfhub_core::report::Comparison;
    use perfhub_core::{Measurement, ReportKind, Unit};

    use super::*;

    /// A report of benchmarks with these wall times (seconds), compared
    /// with the one named `reference`.
    fn report(walls: &[(&str, &[f64])], reference: &str) -> Report {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        for (name, samples) in walls {
            let mut b = Benchmark::new(name.to_string(), metric::WALL_TIME);
            b.measurements.push(Measurement::from_samples(
                metric::WALL_TIME,
                Unit::Seconds,
                samples.to_vec(),
            ));
            r.benchmarks.push(b);
        }
        let mean = |n: &str| {
            let b = r.benchmark(n).unwrap();
            b.primary().unwrap().summary.as_ref().unwrap().mean
        };
        let comparisons: Vec<Comparison> = walls
            .iter()
            .filter(|(n, _)| *n != reference)
            .map(|(n, _)| Comparison {
                benchmark: n.to_string(),
                reference: reference.to_string(),
                metric: metric::WALL_TIME.to_string(),
                ratio: mean(n) / mean(reference),
                ratio_stddev: Some(0.05),
                ratio_ci: None,
                p_value: None,
                p_adjusted: None,
                verdict: None,
                min_effect: None,
                mde: None,
                base_value: None,
                head_value: None,
                method: None,
            })
            .collect();
        r.comparisons = comparisons;
        r
    }

    fn two() -> Report {
        report(
            &[
                ("sleep 0.02", &[0.020, 0.021]),
                ("sleep 0.01", &[0.010, 0.011]),
            ],
            "sleep 0.01",
        )
    }

    #[test]
    fn markup_tables_have_hyperfines_layout() {
        let r = two();
        let opts = TableOptions::default();
        assert_eq!(
            markdown(&r, &opts),
            "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |\n\
             |:---|---:|---:|---:|---:|\n\
             | `sleep 0.02` | 20.5 ± 0.7 | 20.0 | 21.0 | 1.95 ± 0.05 |\n\
             | `sleep 0.01` | 10.5 ± 0.7 | 10.0 | 11.0 | 1.00 |\n"
        );
        assert_eq!(
            asciidoc(&r, &opts),
            "[cols=\"<,>,>,>,>\"]\n|===\n| Command \n| Mean [ms] \n| Min [ms] \n| Max [ms] \n| Relative \n\
             \n| `sleep 0.02` \n| 20.5 ± 0.7 \n| 20.0 \n| 21.0 \n| 1.95 ± 0.05 \n\
             \n| `sleep 0.01` \n| 10.5 ± 0.7 \n| 10.0 \n| 11.0 \n| 1.00 \n|===\n"
        );
        assert_eq!(
            orgmode(&r, &opts),
            "| Command  |  Mean [ms] |  Min [ms] |  Max [ms] |  Relative |\n\
             |--+--+--+--+--|\n\
             | =sleep 0.02=  |  20.5 ± 0.7 |  20.0 |  21.0 |  1.95 ± 0.05 |\n\
             | =sleep 0.01=  |  10.5 ± 0.7 |  10.0 |  11.0 |  1.00 |\n"
        );
    }

    #[test]
    fn tables_follow_sort_and_time_unit() {
        let r = two();
        let opts = TableOptions {
            time_unit: Some(TimeUnit::Microsecond),
            sort: SortOrder::MeanTime,
        };
        let md = markdown(&r, &opts);
        let rows: Vec<&str> = md.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| `sleep 0.01` | 10500.0 ± 707.1 | 10000.0 | 11000.0 | 1.00 |",
                "| `sleep 0.02` | 20500.0 ± 707.1 | 20000.0 | 21000.0 | 1.95 ± 0.05 |",
            ]
        );
        assert!(md.starts_with("| Command | Mean [µs] |"), "{md}");
    }

    #[test]
    fn relative_speeds_are_ordered_as_asked() {
        let r = report(
            &[("b", &[2.0, 2.0]), ("a", &[1.0, 1.0]), ("c", &[4.0, 4.0])],
            "b",
        );
        let names = |o| {
            relative_speeds(&r, o)
                .iter()
                .map(|s| (s.benchmark.name.clone(), s.ratio, s.is_reference))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Order::Command),
            [
                ("b".to_string(), 1.0, true),
                ("a".to_string(), 0.5, false),
                ("c".to_string(), 2.0, false)
            ]
        );
        let by_mean: Vec<String> = names(Order::MeanTime).into_iter().map(|n| n.0).collect();
        assert_eq!(by_mean, ["a", "b", "c"]);
        assert_eq!(SortOrder::Auto.for_summary(), Order::MeanTime);
        assert_eq!(SortOrder::Auto.for_tables(), Order::Command);
        assert_eq!(SortOrder::Command.for_summary(), Order::Command);
        assert_eq!(SortOrder::MeanTime.for_tables(), Order::MeanTime);
        assert_eq!("mean-time".parse::<SortOrder>(), Ok(SortOrder::MeanTime));
        assert!(
            "fastest"
                .parse::<SortOrder>()
                .unwrap_err()
                .contains("auto, command or mean-time")
        );
    }

    #[test]
    fn time_units_format_like_hyperfine() {
        assert_eq!(TimeUnit::Second.format(1.3), "1.300 s");
        assert_eq!(TimeUnit::Millisecond.format(1.3), "1300.0 ms");
        assert_eq!(TimeUnit::Microsecond.format(0.00123456), "1234.6 µs");
        assert_eq!(TimeUnit::Nanosecond.format(0.0000012), "1200 ns");
        assert_eq!(TimeUnit::auto(0.0005), TimeUnit::Microsecond);
        assert_eq!(TimeUnit::auto(0.999), TimeUnit::Millisecond);
        assert_eq!(TimeUnit::auto(1.0), TimeUnit::Second);
        assert_eq!("microsecond".parse(), Ok(TimeUnit::Microsecond));
        assert_eq!("ns".parse(), Ok(TimeUnit::Nanosecond));
        assert!(
            "hour"
                .parse::<TimeUnit>()
                .unwrap_err()
                .contains("millisecond")
        );
    }

    #[test]
    fn a_single_run_has_no_spread_in_tables() {
        let r = report(&[("once", &[0.5])], "once");
        let md = markdown(&r, &TableOptions::default());
        assert!(
            md.ends_with("| `once` | 500.0 | 500.0 | 500.0 | 1.00 |\n"),
            "{md}"
        );
    }
}
