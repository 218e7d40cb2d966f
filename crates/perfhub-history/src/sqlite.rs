//! The embedded SQLite backend: one file, WAL journal, version in
//! `PRAGMA user_version`, identity in `PRAGMA application_id`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::schema::{SCHEMA_VERSION, SQLITE_APPLICATION_ID, SQLITE_MIGRATIONS};
use crate::{
    HistoryError, NewRun, RawPoint, RunFilter, RunId, RunRow, SeriesFilter, SeriesKey, parse_key,
    sql_limit,
};

/// Every SQLite 3 database file starts with these 16 bytes.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a connection waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    location: String,
}

/// What the file holds, read before anything is written to it.
enum Contents {
    /// No tables and no identity: a new or empty file, ours to initialize.
    Empty,
    /// A perfhub history at this schema version.
    History(i64),
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, HistoryError> {
        let io = |error| HistoryError::Io {
            path: path.to_path_buf(),
            error,
        };
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                return Err(io(std::io::Error::other(
                    "is a directory, not a history database",
                )));
            }
            Ok(meta) if meta.len() > 0 => {
                // Look at the bytes before SQLite does: SQLite would take a
                // short or garbage file for an empty database it may write.
                let mut header = [0u8; 16];
                let complete = std::fs::File::open(path)
                    .and_then(|mut f| f.read_exact(&mut header))
                    .is_ok();
                if !complete || &header != SQLITE_HEADER {
                    return Err(HistoryError::NotADatabase {
                        path: path.to_path_buf(),
                    });
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|error| HistoryError::Io {
                        path: dir.to_path_buf(),
                        error,
                    })?;
                }
            }
            Err(e) => return Err(io(e)),
        }
        let location = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| map_open(path, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            location,
        };
        store.prepare()?;
        Ok(store)
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        |e| map_open(&self.path, e)
    }

    /// Checks what the file is, then creates or migrates the schema.
    fn prepare(&mut self) -> Result<(), HistoryError> {
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(self.err())?;
        // Reading only: nothing is written until the file is known to be ours.
        // The three reads share one read transaction, so they see one state
        // of the file even while another process creates the schema (read
        // one by one, they could see its tables but not yet its id).
        let contents = {
            let snapshot = self.conn.unchecked_transaction().map_err(self.err())?;
            let c = contents(&snapshot, &self.path);
            drop(snapshot);
            c?
        };
        if let Contents::History(v) = contents
            && v > SCHEMA_VERSION
        {
            return Err(too_new(&self.path, v));
        }
        // WAL lets readers read while a writer writes. The mode is stored in
        // the file, so this writes only once per database.
        // Switching to WAL needs the file to itself, and SQLite answers
        // "locked" at once, without its busy handler, while another
        // connection opens the file at the same time: retry within the
        // busy timeout.
        let started = std::time::Instant::now();
        let mode: String = loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            {
                Ok(mode) => break mode,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => return Err(map_open(&self.path, e)),
            }
        };
        debug_assert!(mode.eq_ignore_ascii_case("wal") || mode == "memory");
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .map_err(self.err())?;
        if matches!(contents, Contents::History(SCHEMA_VERSION)) {
            return Ok(());
        }
        self.migrate()
    }
}

fn contents(conn: &Connection, path: &Path) -> Result<Contents, HistoryError> {
    let read = || -> rusqlite::Result<(i32, i64, i64)> {
        let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = read().map_err(|e| map_open(path, e))?;
    if app == SQLITE_APPLICATION_ID {
        Ok(Contents::History(version))
    } else if app == 0 && version == 0 && objects == 0 {
        Ok(Contents::Empty)
    } else if app != 0 {
        Err(HistoryError::Foreign {
            location: path.display().to_string(),
            detail: format!(
                "an SQLite database of another application, application_id {app:#010x}"
            ),
        })
    } else {
        Err(HistoryError::Foreign {
                location: path.display().to_string(),
                detail: "an SQLite database of another application: it has tables and no perfhub application_id".to_string(),
            })
    }
}

fn too_new(path: &Path, found: i64) -> HistoryError {
    HistoryError::TooNew {
        location: path.display().to_string(),
        found,
        supported: SCHEMA_VERSION,
    }
}

impl SqliteStore {
    /// Runs the missing migrations in one immediate transaction, checking the
    /// file again under the write lock: another process may have got there first.
    fn migrate(&mut self) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let err = |e| map_open(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let from = match contents(&tx, &path)? {
            Contents::Empty => 0,
            Contents::History(v) if v > SCHEMA_VERSION => return Err(too_new(&path, v)),
            Contents::History(v) => v,
        };
        let from_index = usize::try_from(from).unwrap_or(0);
        for sql in SQLITE_MIGRATIONS.iter().skip(from_index) {
            tx.execute_batch(sql).map_err(err)?;
        }
        tx.execute_batch(&format!(
            "PRAGMA application_id = {SQLITE_APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    pub(crate) fn schema_version(&mut self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.err())
    }

    pub(crate) fn record(&mut self, run: &NewRun) -> Result<RunId, HistoryError> {
        let path = self.path.clone();
        let err = |e| map_open(&path, e);
        // Immediate: take the write lock now, so the busy timeout applies
        // instead of a deadlock error when two writers upgrade at once.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "INSERT INTO perfhub_runs
                (time, time_millis, commit_sha, branch, machine, kind, source, report_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                run.time,
                run.time_millis,
                run.commit,
                run.branch,
                run.machine,
                run.kind,
                run.source,
                run.report_json
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO perfhub_results
                        (run_id, benchmark, metric, unit, value, samples, is_primary)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(err)?;
            for r in &run.results {
                insert
                    .execute(params![
                        id,
                        r.benchmark,
                        r.metric,
                        r.unit,
                        r.value,
                        r.samples_json,
                        r.primary
                    ])
                    .map_err(|e| match e.sqlite_error_code() {
                        Some(ErrorCode::ConstraintViolation) => HistoryError::Duplicate {
                            benchmark: r.benchmark.clone(),
                            metric: r.metric.clone(),
                        },
                        _ => err(e),
                    })?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(RunId(id))
    }

    pub(crate) fn runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRow>, HistoryError> {
        let path = self.path.clone();
        let err = |e| map_open(&path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.time, r.time_millis, r.commit_sha, r.branch, r.machine, r.kind,
                        r.source,
                        (SELECT count(DISTINCT x.benchmark) FROM perfhub_results AS x
                         WHERE x.run_id = r.id)
                 FROM perfhub_runs AS r
                 WHERE (?1 IS NULL OR r.branch = ?1)
                   AND (?2 IS NULL OR r.machine = ?2)
                   AND (?3 IS NULL OR substr(r.commit_sha, 1, length(?3)) = ?3)
                   AND (?4 IS NULL OR EXISTS (
                        SELECT 1 FROM perfhub_results AS y
                        WHERE y.run_id = r.id AND instr(y.benchmark, ?4) > 0))
                 ORDER BY r.time_millis DESC, r.id DESC
                 LIMIT ?5",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![
                    filter.branch,
                    filter.machine,
                    filter.commit,
                    filter.benchmark,
                    sql_limit(filter.limit)
                ],
                |r| {
                    Ok(RunRow {
                        id: RunId(r.get(0)?),
                        time: r.get(1)?,
                        time_millis: r.get(2)?,
                        commit: r.get(3)?,
                        branch: r.get(4)?,
                        machine: r.get(5)?,
                        kind: r.get(6)?,
                        source: r.get(7)?,
                        benchmarks: usize::try_from(r.get::<_, i64>(8)?).unwrap_or(0),
                    })
                },
            )
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    pub(crate) fn series(
        &mut self,
        benchmark: &str,
        metric: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<crate::Point>, HistoryError> {
        let path = self.path.clone();
        let err = |e| map_open(&path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM (
                    SELECT r.id, r.time, r.time_millis, r.commit_sha, r.branch, r.machine,
                           x.value, x.unit, x.samples
                    FROM perfhub_results AS x JOIN perfhub_runs AS r ON r.id = x.run_id
                    WHERE x.benchmark = ?1 AND x.metric = ?2
                      AND (?3 IS NULL OR r.branch = ?3)
                      AND (?4 IS NULL OR r.machine = ?4)
                    ORDER BY r.time_millis DESC, r.id DESC
                    LIMIT ?5)
                 ORDER BY time_millis ASC, id ASC",
            )
            .map_err(err)?;
        let raw = stmt
            .query_map(
                params![
                    benchmark,
                    metric,
                    filter.branch,
                    filter.machine,
                    sql_limit(filter.limit)
                ],
                |r| {
                    Ok(RawPoint {
                        run_id: r.get(0)?,
                        time: r.get(1)?,
                        time_millis: r.get(2)?,
                        commit: r.get(3)?,
                        branch: r.get(4)?,
                        machine: r.get(5)?,
                        value: r.get(6)?,
                        unit: r.get(7)?,
                        samples: r.get(8)?,
                    })
                },
            )
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        raw.into_iter()
            .map(|p| p.into_point(&self.location))
            .collect()
    }

    pub(crate) fn series_keys(
        &mut self,
        filter: &SeriesFilter,
    ) -> Result<Vec<SeriesKey>, HistoryError> {
        let path = self.path.clone();
        let err = |e| map_open(&path, e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.benchmark, x.metric, x.unit, x.is_primary
                 FROM perfhub_results AS x JOIN perfhub_runs AS r ON r.id = x.run_id
                 WHERE (?1 IS NULL OR r.branch = ?1) AND (?2 IS NULL OR r.machine = ?2)
                 ORDER BY x.benchmark, x.metric, r.time_millis DESC, r.id DESC",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![filter.branch, filter.machine], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(err)?
            .collect::<Result<Vec<(String, String, String, bool)>, _>>()
            .map_err(err)?;
        let mut keys: Vec<SeriesKey> = Vec::new();
        for (benchmark, metric, unit, primary) in rows {
            // The newest row of each pair comes first.
            if keys
                .last()
                .is_some_and(|k| k.benchmark == benchmark && k.metric == metric)
            {
                continue;
            }
            keys.push(parse_key(&self.location, benchmark, metric, unit, primary)?);
        }
        Ok(keys)
    }

    pub(crate) fn report_json(&mut self, id: RunId) -> Result<Option<String>, HistoryError> {
        self.conn
            .query_row(
                "SELECT report_json FROM perfhub_runs WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }
}

/// An SQLite error, or "not a database" when SQLite says the file is not one.
fn map_open(path: &Path, e: rusqlite::Error) -> HistoryError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => HistoryError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => HistoryError::Sqlite {
            location: path.display().to_string(),
            error: e,
        },
    }
}
