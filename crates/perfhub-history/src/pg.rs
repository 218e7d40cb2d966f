//! The PostgreSQL backend, for a history shared by a team.
//!
//! The schema version lives in the one-row table `perfhub_schema`; the
//! first opener creates it. Opening migrates inside one transaction that
//! holds an advisory lock, so concurrent first openers take turns.

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use crate::schema::{POSTGRES_MIGRATIONS, POSTGRES_VERSION_TABLE, SCHEMA_VERSION};
use crate::{
    HistoryError, NewRun, RawPoint, RunFilter, RunId, RunRow, SeriesFilter, SeriesKey, parse_key,
};

/// The advisory lock key that serializes schema migrations: "perfhub" in ASCII.
const MIGRATION_LOCK: i64 = 0x0070_6572_6668_7562;

pub(crate) struct PgStore {
    client: Client,
    location: String,
}

impl PgStore {
    pub(crate) fn open(url: &str) -> Result<PgStore, HistoryError> {
        let location = redact(url);
        let client = Client::connect(url, NoTls).map_err(|error| HistoryError::Postgres {
            location: location.clone(),
            error,
        })?;
        let mut store = PgStore { client, location };
        store.migrate()?;
        Ok(store)
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    fn err(location: &str) -> impl Fn(postgres::Error) -> HistoryError + '_ {
        move |error| HistoryError::Postgres {
            location: location.to_string(),
            error,
        }
    }

    fn migrate(&mut self) -> Result<(), HistoryError> {
        let err = Self::err(&self.location);
        let mut tx = self.client.transaction().map_err(&err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(&err)?;
        let row = tx
            .query_one(
                "SELECT to_regclass('perfhub_schema') IS NOT NULL,
                        to_regclass('perfhub_runs') IS NOT NULL
                            OR to_regclass('perfhub_results') IS NOT NULL",
                &[],
            )
            .map_err(&err)?;
        let (has_version, has_tables): (bool, bool) = (row.get(0), row.get(1));
        let from = if has_version {
            let versions: Vec<i64> = tx
                .query("SELECT version FROM perfhub_schema", &[])
                .map_err(&err)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            match versions[..] {
                [v] => v,
                _ => {
                    return Err(HistoryError::Corrupt {
                        location: self.location.clone(),
                        detail: format!(
                            "perfhub_schema holds {} rows instead of one",
                            versions.len()
                        ),
                    });
                }
            }
        } else if has_tables {
            return Err(HistoryError::Foreign {
                location: self.location.clone(),
                detail: "it has perfhub tables but no perfhub_schema table".to_string(),
            });
        } else {
            tx.batch_execute(POSTGRES_VERSION_TABLE).map_err(&err)?;
            tx.execute("INSERT INTO perfhub_schema (version) VALUES (0)", &[])
                .map_err(&err)?;
            0
        };
        if from > SCHEMA_VERSION {
            return Err(HistoryError::TooNew {
                location: self.location.clone(),
                found: from,
                supported: SCHEMA_VERSION,
            });
        }
        if from == SCHEMA_VERSION {
            return tx.commit().map_err(&err);
        }
        for sql in POSTGRES_MIGRATIONS
            .iter()
            .skip(usize::try_from(from).unwrap_or(0))
        {
            tx.batch_execute(sql).map_err(&err)?;
        }
        tx.execute("UPDATE perfhub_schema SET version = $1", &[&SCHEMA_VERSION])
            .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    pub(crate) fn schema_version(&mut self) -> Result<i64, HistoryError> {
        let err = Self::err(&self.location);
        let row = self
            .client
            .query_one("SELECT version FROM perfhub_schema", &[])
            .map_err(err)?;
        Ok(row.get(0))
    }

    pub(crate) fn record(&mut self, run: &NewRun) -> Result<RunId, HistoryError> {
        let err = Self::err(&self.location);
        let mut tx = self.client.transaction().map_err(&err)?;
        let row = tx
            .query_one(
                "INSERT INTO perfhub_runs
                    (time, time_millis, commit_sha, branch, machine, kind, source, report_json)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 RETURNING id",
                &[
                    &run.time,
                    &run.time_millis,
                    &run.commit,
                    &run.branch,
                    &run.machine,
                    &run.kind,
                    &run.source,
                    &run.report_json,
                ],
            )
            .map_err(&err)?;
        let id: i64 = row.get(0);
        let insert = tx
            .prepare(
                "INSERT INTO perfhub_results
                    (run_id, benchmark, metric, unit, value, samples, is_primary)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .map_err(&err)?;
        for r in &run.results {
            tx.execute(
                &insert,
                &[
                    &id,
                    &r.benchmark,
                    &r.metric,
                    &r.unit,
                    &r.value,
                    &r.samples_json,
                    &r.primary,
                ],
            )
            .map_err(|e| {
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    HistoryError::Duplicate {
                        benchmark: r.benchmark.clone(),
                        metric: r.metric.clone(),
                    }
                } else {
                    err(e)
                }
            })?;
        }
        tx.commit().map_err(&err)?;
        Ok(RunId(id))
    }

    pub(crate) fn runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRow>, HistoryError> {
        let err = Self::err(&self.location);
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = self
            .client
            .query(
                "SELECT r.id, r.time, r.time_millis, r.commit_sha, r.branch, r.machine, r.kind,
                        r.source,
                        (SELECT count(DISTINCT x.benchmark) FROM perfhub_results AS x
                         WHERE x.run_id = r.id)
                 FROM perfhub_runs AS r
                 WHERE ($1::TEXT IS NULL OR r.branch = $1::TEXT)
                   AND ($2::TEXT IS NULL OR r.machine = $2::TEXT)
                   AND ($3::TEXT IS NULL OR left(r.commit_sha, length($3::TEXT)) = $3::TEXT)
                   AND ($4::TEXT IS NULL OR EXISTS (
                        SELECT 1 FROM perfhub_results AS y
                        WHERE y.run_id = r.id AND strpos(y.benchmark, $4::TEXT) > 0))
                 ORDER BY r.time_millis DESC, r.id DESC
                 LIMIT $5::BIGINT",
                &[
                    &filter.branch,
                    &filter.machine,
                    &filter.commit,
                    &filter.benchmark,
                    &limit,
                ],
            )
            .map_err(&err)?;
        Ok(rows
            .iter()
            .map(|r| RunRow {
                id: RunId(r.get(0)),
                time: r.get(1),
                time_millis: r.get(2),
                commit: r.get(3),
                branch: r.get(4),
                machine: r.get(5),
                kind: r.get(6),
                source: r.get(7),
                benchmarks: usize::try_from(r.get::<_, i64>(8)).unwrap_or(0),
            })
            .collect())
    }

    pub(crate) fn series(
        &mut self,
        benchmark: &str,
        metric: &str,
        filter: &SeriesFilter,
    ) -> Result<Vec<crate::Point>, HistoryError> {
        let err = Self::err(&self.location);
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = self
            .client
            .query(
                "SELECT * FROM (
                    SELECT r.id, r.time, r.time_millis, r.commit_sha, r.branch, r.machine,
                           x.value, x.unit, x.samples
                    FROM perfhub_results AS x JOIN perfhub_runs AS r ON r.id = x.run_id
                    WHERE x.benchmark = $1 AND x.metric = $2
                      AND ($3::TEXT IS NULL OR r.branch = $3::TEXT)
                      AND ($4::TEXT IS NULL OR r.machine = $4::TEXT)
                    ORDER BY r.time_millis DESC, r.id DESC
                    LIMIT $5::BIGINT) AS newest
                 ORDER BY time_millis ASC, id ASC",
                &[&benchmark, &metric, &filter.branch, &filter.machine, &limit],
            )
            .map_err(&err)?;
        rows.iter()
            .map(|r| {
                RawPoint {
                    run_id: r.get(0),
                    time: r.get(1),
                    time_millis: r.get(2),
                    commit: r.get(3),
                    branch: r.get(4),
                    machine: r.get(5),
                    value: r.get(6),
                    unit: r.get(7),
                    samples: r.get(8),
                }
                .into_point(&self.location)
            })
            .collect()
    }

    pub(crate) fn series_keys(
        &mut self,
        filter: &SeriesFilter,
    ) -> Result<Vec<SeriesKey>, HistoryError> {
        let err = Self::err(&self.location);
        let rows = self
            .client
            .query(
                "SELECT DISTINCT ON (x.benchmark, x.metric)
                        x.benchmark, x.metric, x.unit, x.is_primary
                 FROM perfhub_results AS x JOIN perfhub_runs AS r ON r.id = x.run_id
                 WHERE ($1::TEXT IS NULL OR r.branch = $1::TEXT)
                   AND ($2::TEXT IS NULL OR r.machine = $2::TEXT)
                 ORDER BY x.benchmark, x.metric, r.time_millis DESC, r.id DESC",
                &[&filter.branch, &filter.machine],
            )
            .map_err(&err)?;
        let mut keys: Vec<SeriesKey> = rows
            .iter()
            .map(|r| parse_key(&self.location, r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect::<Result<_, _>>()?;
        // PostgreSQL sorts text by its collation, SQLite by bytes: sort the
        // same way on both.
        keys.sort_by(|a, b| (&a.benchmark, &a.metric).cmp(&(&b.benchmark, &b.metric)));
        Ok(keys)
    }

    pub(crate) fn report_json(&mut self, id: RunId) -> Result<Option<String>, HistoryError> {
        let err = Self::err(&self.location);
        let row = self
            .client
            .query_opt(
                "SELECT report_json FROM perfhub_runs WHERE id = $1",
                &[&id.0],
            )
            .map_err(err)?;
        Ok(row.map(|r| r.get(0)))
    }
}

/// What went wrong, with the server's message and detail where there is one.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = db.message().to_string();
        if let Some(detail) = db.detail() {
            text.push_str(": ");
            text.push_str(detail);
        }
        if let Some(hint) = db.hint() {
            text.push_str(" (");
            text.push_str(hint);
            text.push(')');
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let s = cause.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = cause.source();
    }
    text
}

/// `url` without its password, for messages: the user-info password and a
/// `password=` query parameter become `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..rest_start].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://perfhub:secret@127.0.0.1:5432/db"),
            "postgres://perfhub:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=x&sslmode=disable"),
            "postgresql://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://h:5432"), "postgres://h:5432");
        assert_eq!(redact("postgres://a:b:c@d@h/x"), "postgres://a:***@h/x");
    }
}
