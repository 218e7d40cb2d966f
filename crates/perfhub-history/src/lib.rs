//! The history of benchmark results.
//!
//! A [`HistoryStore`] keeps every recorded [`Report`]: one run row (commit,
//! branch, machine fingerprint, time, kind, source and the full report JSON)
//! and one result row per benchmark and metric, with the metric's central
//! value, its unit and its raw samples, so trends ([`HistoryStore::series`])
//! and comparisons against an earlier run ([`HistoryStore::report`]) are read
//! back without the original files.
//!
//! Two backends share one API and one schema:
//!
//! - SQLite, embedded (the default, one file such as `.perfhub/history.db`):
//!   WAL journal so readers work while a writer writes, each record in one
//!   transaction, the schema version in `PRAGMA user_version` and
//!   [`schema::SQLITE_APPLICATION_ID`] in `PRAGMA application_id`, so a file
//!   that is not a perfhub history is refused and never touched;
//! - PostgreSQL (`postgres://…` or `postgresql://…`), for teams sharing one
//!   history, with the version in a `perfhub_schema` table and migrations
//!   serialized by an advisory lock.
//!
//! [`chart`] draws a series as a text sparkline or an SVG line chart, and
//! [`table`] writes runs and trends as text tables.

#![deny(missing_docs)]
// Built with neither backend, every store method ends in a match on an
// uninhabited value, and the helpers the backends share go unused.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unreachable_code, unused_variables, dead_code)
)]

use std::path::PathBuf;

use perfhub_core::report::Report;
use perfhub_core::units::Unit;

pub mod chart;
#[cfg(feature = "postgres")]
mod pg;
pub mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod table;
mod time;

pub use chart::{sparkline, svg_chart};
pub use time::parse_rfc3339_millis;

/// The history location used when none is given.
pub const DEFAULT_LOCATION: &str = ".perfhub/history.db";

/// A recorded run's identifier, unique within one history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What is recorded about a run beside its report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// The commit measured.
    pub commit: Option<String>,
    /// The branch measured.
    pub branch: Option<String>,
    /// The machine's fingerprint (`Environment::fingerprint`).
    pub machine: Option<String>,
    /// When the run was taken, RFC 3339; the report's `created` when `None`.
    pub time: Option<String>,
    /// Where the run came from: a file name, a CI job, a message.
    pub source: Option<String>,
}

impl RunMeta {
    /// The commit, branch, machine and time the report itself names.
    pub fn from_report(report: &Report) -> RunMeta {
        let env = report.environment.as_ref();
        RunMeta {
            commit: env.and_then(|e| e.git_commit.clone()),
            branch: env.and_then(|e| e.git_branch.clone()),
            machine: env.map(|e| e.fingerprint.clone()).filter(|f| !f.is_empty()),
            time: Some(report.created.to_string()),
            source: None,
        }
    }
}

/// One recorded run, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The run's identifier.
    pub id: RunId,
    /// When it was taken, as recorded (RFC 3339).
    pub time: String,
    /// `time` as milliseconds since the Unix epoch, the order of runs.
    pub time_millis: i64,
    /// The commit measured.
    pub commit: Option<String>,
    /// The branch measured.
    pub branch: Option<String>,
    /// The machine's fingerprint.
    pub machine: Option<String>,
    /// The report's kind (`run`, `load`, …).
    pub kind: String,
    /// Where the run came from.
    pub source: Option<String>,
    /// How many benchmarks the run holds.
    pub benchmarks: usize,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs on this branch.
    pub branch: Option<String>,
    /// Only runs on this machine.
    pub machine: Option<String>,
    /// Only runs of this commit.
    pub commit: Option<String>,
    /// Only runs with a benchmark whose name contains this text.
    pub benchmark: Option<String>,
    /// At most this many runs, the newest.
    pub limit: Option<usize>,
}

/// Which points of a series to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesFilter {
    /// Only runs on this branch.
    pub branch: Option<String>,
    /// Only runs on this machine.
    pub machine: Option<String>,
    /// At most this many points, the newest.
    pub limit: Option<usize>,
}

/// One point of a series: a metric's central value in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The run it belongs to.
    pub run_id: RunId,
    /// When the run was taken (RFC 3339).
    pub time: String,
    /// `time` as milliseconds since the Unix epoch.
    pub time_millis: i64,
    /// The commit measured.
    pub commit: Option<String>,
    /// The branch measured.
    pub branch: Option<String>,
    /// The machine's fingerprint.
    pub machine: Option<String>,
    /// The central value: the summary's mean, else its median, else the
    /// measurement's single value, else the mean of its samples.
    pub value: f64,
    /// The unit of `value` and `samples`.
    pub unit: Unit,
    /// The raw samples (empty where the measurement had none).
    pub samples: Vec<f64>,
}

/// A metric of a benchmark over time, oldest point first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The benchmark's name.
    pub benchmark: String,
    /// The metric's name.
    pub metric: String,
    /// The points, oldest first.
    pub points: Vec<Point>,
}

/// A (benchmark, metric) pair that has at least one point in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesKey {
    /// The benchmark's name.
    pub benchmark: String,
    /// The metric's name.
    pub metric: String,
    /// The unit of the most recent point.
    pub unit: Unit,
    /// Whether the metric is the benchmark's primary metric in its most
    /// recent run.
    pub primary: bool,
}

/// Errors of the history store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The file exists and is not an SQLite database.
    #[error(
        "{path}: not a perfhub history database (the file is not an SQLite database); it was left untouched"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The database belongs to another application.
    #[error("{location}: not a perfhub history database ({detail}); it was left untouched")]
    Foreign {
        /// The file or URL (without password).
        location: String,
        /// What was found instead.
        detail: String,
    },
    /// The database was written by a newer perfhub.
    #[error(
        "{location}: the history has schema version {found}, written by a newer perfhub (this one knows up to version {supported}); upgrade perfhub"
    )]
    TooNew {
        /// The file or URL (without password).
        location: String,
        /// The version found.
        found: i64,
        /// The newest version this perfhub knows.
        supported: i64,
    },
    // The causes below are in the message and not chained as `source`, so
    // that `{:#}` does not print them twice.
    /// The file could not be opened or its directory created.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// SQLite failed.
    #[cfg(feature = "sqlite")]
    #[error("{location}: {error}")]
    Sqlite {
        /// The file.
        location: String,
        /// The cause.
        error: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[cfg(feature = "postgres")]
    #[error("{location}: {}", pg::describe(error))]
    Postgres {
        /// The URL, without password.
        location: String,
        /// The cause.
        error: postgres::Error,
    },
    /// The report names one benchmark and metric twice; nothing was recorded.
    #[error("the report measures {metric} of benchmark {benchmark:?} twice; nothing was recorded")]
    Duplicate {
        /// The benchmark.
        benchmark: String,
        /// The metric.
        metric: String,
    },
    /// The history is of a kind this build of perfhub-history leaves out
    /// (its cargo feature `sqlite` or `postgres` is off).
    #[error(
        "{location}: {backend} histories are not built in: enable perfhub-history's `{feature}` feature"
    )]
    NotBuilt {
        /// The file or URL (without password).
        location: String,
        /// "SQLite" or "PostgreSQL".
        backend: &'static str,
        /// The cargo feature that adds it.
        feature: &'static str,
    },
    /// A time is not RFC 3339.
    #[error("{0:?} is not an RFC 3339 time (such as 2026-01-01T12:00:00Z)")]
    BadTime(String),
    /// No run has this id.
    #[error("{location}: no run {id}")]
    NoSuchRun {
        /// The file or URL (without password).
        location: String,
        /// The id asked for.
        id: RunId,
    },
    /// A stored row cannot be read back.
    #[error("{location}: stored data is invalid: {detail}")]
    Corrupt {
        /// The file or URL (without password).
        location: String,
        /// What is wrong.
        detail: String,
    },
}

/// A history of benchmark results in SQLite or PostgreSQL.
///
/// Every method takes `&mut self`: one store is one connection. Open one
/// store per thread; SQLite readers proceed while another connection writes.
pub struct HistoryStore {
    backend: Backend,
}

enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(Box<pg::PgStore>),
    /// With neither backend built in, no store can be opened.
    #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
    #[allow(dead_code)]
    None(std::convert::Infallible),
}

#[cfg(feature = "postgres")]
fn open_postgres(location: &str) -> Result<Backend, HistoryError> {
    Ok(Backend::Postgres(Box::new(pg::PgStore::open(location)?)))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(location: &str) -> Result<Backend, HistoryError> {
    Err(HistoryError::NotBuilt {
        location: perfhub_core::text::without_userinfo(location),
        backend: "PostgreSQL",
        feature: "postgres",
    })
}

#[cfg(feature = "sqlite")]
fn open_sqlite(location: &str) -> Result<Backend, HistoryError> {
    Ok(Backend::Sqlite(sqlite::SqliteStore::open(
        location.as_ref(),
    )?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(location: &str) -> Result<Backend, HistoryError> {
    Err(HistoryError::NotBuilt {
        location: location.to_string(),
        backend: "SQLite",
        feature: "sqlite",
    })
}

/// Runs `$body` with `$s` bound to the store of whichever backend is open.
macro_rules! each {
    ($backend:expr, $s:ident => $body:expr) => {
        match $backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($s) => $body,
            #[cfg(feature = "postgres")]
            Backend::Postgres($s) => $body,
            #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
            Backend::None(never) => match *never {},
        }
    };
}

impl std::fmt::Debug for HistoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryStore")
            .field("location", &self.location())
            .finish()
    }
}

/// Whether `location` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

impl HistoryStore {
    /// Opens the history at `location`: a `postgres://` or `postgresql://`
    /// URL, or else the path of an SQLite file, created with its parent
    /// directory when missing. The schema is created or migrated forward.
    pub fn open(location: &str) -> Result<HistoryStore, HistoryError> {
        let backend = if is_postgres_url(location) {
            open_postgres(location)?
        } else {
            open_sqlite(location)?
        };
        Ok(HistoryStore { backend })
    }

    /// The file or URL of the history (a URL without its password).
    pub fn location(&self) -> &str {
        each!(&self.backend, s => s.location())
    }

    /// The schema version of the open history (always
    /// [`schema::SCHEMA_VERSION`] once opened).
    pub fn schema_version(&mut self) -> Result<i64, HistoryError> {
        each!(&mut self.backend, s => s.schema_version())
    }

    /// Records `report` as one run, all or nothing.
    pub fn record(&mut self, report: &Report, meta: &RunMeta) -> Result<RunId, HistoryError> {
        let run = NewRun::of(report, meta)?;
        each!(&mut self.backend, s => s.record(&run))
    }

    /// The runs that match `filter`, newest first.
    pub fn runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRow>, HistoryError> {
        each!(&mut self.backend, s => s.runs(filter))
    }

    /// The newest run that matches `filter` (its `limit` is ignored): for
    /// example the latest run on `main` on this machine, as a comparison base.
    pub fn latest_run(&mut self, filter: &RunFilter) -> Result<Option<RunRow>, HistoryError> {
        let filter = RunFilter {
            limit: Some(1),
            ..filter.clone()
        };
        Ok(self.runs(&filter)?.into_iter().next())
    }

    /// The points of `metric` of `benchmark`, oldest first; with a limit,
    /// the newest `limit` points.
    pub fn series(
        &mut self,
        benchmark: &str,
        metric: &str,
        filter: &SeriesFilter,
    ) -> Result<Series, HistoryError> {
        let points = each!(&mut self.backend, s => s.series(benchmark, metric, filter)?);
        Ok(Series {
            benchmark: benchmark.to_string(),
            metric: metric.to_string(),
            points,
        })
    }

    /// Every (benchmark, metric) pair with points in runs that match
    /// `filter` (its branch and machine), sorted by benchmark then metric.
    pub fn series_keys(&mut self, filter: &SeriesFilter) -> Result<Vec<SeriesKey>, HistoryError> {
        each!(&mut self.backend, s => s.series_keys(filter))
    }

    /// The report recorded as run `id`, exactly as it was recorded.
    pub fn report(&mut self, id: RunId) -> Result<Report, HistoryError> {
        let json: Option<String> = each!(&mut self.backend, s => s.report_json(id)?);
        let Some(json) = json else {
            return Err(HistoryError::NoSuchRun {
                location: self.location().to_string(),
                id,
            });
        };
        Report::from_json(&json).map_err(|e| HistoryError::Corrupt {
            location: self.location().to_string(),
            detail: format!("run {id}: {e}"),
        })
    }
}

/// A run ready to insert: everything computed before the transaction.
struct NewRun {
    time: String,
    time_millis: i64,
    commit: Option<String>,
    branch: Option<String>,
    machine: Option<String>,
    kind: String,
    source: Option<String>,
    report_json: String,
    results: Vec<NewResult>,
}

struct NewResult {
    benchmark: String,
    metric: String,
    unit: String,
    value: f64,
    samples_json: String,
    primary: bool,
}

impl NewRun {
    fn of(report: &Report, meta: &RunMeta) -> Result<NewRun, HistoryError> {
        let time = meta
            .time
            .clone()
            .unwrap_or_else(|| report.created.to_string());
        let time_millis =
            parse_rfc3339_millis(&time).ok_or_else(|| HistoryError::BadTime(time.clone()))?;
        let mut results = Vec::new();
        for b in &report.benchmarks {
            for m in &b.measurements {
                let Some(value) = central_value(m) else {
                    continue;
                };
                results.push(NewResult {
                    benchmark: b.name.clone(),
                    metric: m.metric.clone(),
                    unit: unit_name(m.unit),
                    value,
                    samples_json: samples_to_json(&m.samples),
                    primary: m.metric == b.primary_metric,
                });
            }
        }
        Ok(NewRun {
            time,
            time_millis,
            commit: meta.commit.clone(),
            branch: meta.branch.clone(),
            machine: meta.machine.clone(),
            kind: serde_json::to_value(report.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            source: meta.source.clone(),
            report_json: report.to_json(),
            results,
        })
    }
}

/// The value a trend follows: the summary's mean, else its median, else the
/// single value, else the mean of the samples. `None` when none is finite.
fn central_value(m: &perfhub_core::report::Measurement) -> Option<f64> {
    let summary = m.summary.as_ref();
    let candidates = [
        summary.map(|s| s.mean),
        summary.map(|s| s.median),
        m.value,
        (!m.samples.is_empty()).then(|| m.samples.iter().sum::<f64>() / m.samples.len() as f64),
    ];
    candidates.into_iter().flatten().find(|v| v.is_finite())
}

fn unit_name(unit: Unit) -> String {
    serde_json::to_value(unit)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_unit(name: &str) -> Option<Unit> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// Samples as a JSON array; a non-finite sample becomes `null`.
fn samples_to_json(samples: &[f64]) -> String {
    let values: Vec<Option<f64>> = samples
        .iter()
        .map(|v| v.is_finite().then_some(*v))
        .collect();
    serde_json::to_string(&values).unwrap_or_else(|_| "[]".to_string())
}

fn samples_from_json(text: &str) -> Option<Vec<f64>> {
    let values: Vec<Option<f64>> = serde_json::from_str(text).ok()?;
    Some(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// A stored point's raw columns, turned into a [`Point`] by [`RawPoint::into_point`].
struct RawPoint {
    run_id: i64,
    time: String,
    time_millis: i64,
    commit: Option<String>,
    branch: Option<String>,
    machine: Option<String>,
    value: f64,
    unit: String,
    samples: String,
}

impl RawPoint {
    fn into_point(self, location: &str) -> Result<Point, HistoryError> {
        let corrupt = |detail: String| HistoryError::Corrupt {
            location: location.to_string(),
            detail,
        };
        let unit = parse_unit(&self.unit)
            .ok_or_else(|| corrupt(format!("run {}: unknown unit {:?}", self.run_id, self.unit)))?;
        let samples = samples_from_json(&self.samples)
            .ok_or_else(|| corrupt(format!("run {}: samples are not a JSON array", self.run_id)))?;
        Ok(Point {
            run_id: RunId(self.run_id),
            time: self.time,
            time_millis: self.time_millis,
            commit: self.commit,
            branch: self.branch,
            machine: self.machine,
            value: self.value,
            unit,
            samples,
        })
    }
}

fn parse_key(
    location: &str,
    benchmark: String,
    metric: String,
    unit: String,
    primary: bool,
) -> Result<SeriesKey, HistoryError> {
    let unit = parse_unit(&unit).ok_or_else(|| HistoryError::Corrupt {
        location: location.to_string(),
        detail: format!("unknown unit {unit:?} of {benchmark}/{metric}"),
    })?;
    Ok(SeriesKey {
        benchmark,
        metric,
        unit,
        primary,
    })
}

/// `limit` as an SQL `LIMIT` value (negative means none in SQLite; PostgreSQL
/// takes `NULL` as none, see the PostgreSQL backend).
#[cfg(feature = "sqlite")]
fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
}
