//! The history's schema and its migrations, in order.
//!
//! Migration `i` (counting from zero) takes a database from version `i` to
//! version `i + 1`; a database is always migrated forward inside one
//! transaction, and one written by a newer perfhub is refused.
//!
//! - Version 1: `perfhub_runs` (time, commit, branch, machine, the report's
//!   JSON) and `perfhub_results` (one row per benchmark and metric: unit,
//!   central value, samples as a JSON array).
//! - Version 2: runs keep the report's kind and where they came from
//!   (`source`); results mark the benchmark's primary metric, filled in for
//!   existing runs from their report JSON; an index serves series lookups by
//!   branch and machine.

/// The schema version this perfhub writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a perfhub history SQLite file: the bytes
/// `PfHb` (0x50664862). A file with another id and tables of its own is not
/// a perfhub history.
pub const SQLITE_APPLICATION_ID: i32 = 0x5066_4862;

/// The SQLite migrations: entry `i` takes version `i` to `i + 1`.
pub const SQLITE_MIGRATIONS: &[&str] = &[
    // 0 → 1
    "CREATE TABLE perfhub_runs (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        time_millis INTEGER NOT NULL,
        commit_sha TEXT,
        branch TEXT,
        machine TEXT,
        report_json TEXT NOT NULL
    );
    CREATE INDEX perfhub_runs_time ON perfhub_runs (time_millis);
    CREATE TABLE perfhub_results (
        run_id INTEGER NOT NULL REFERENCES perfhub_runs (id) ON DELETE CASCADE,
        benchmark TEXT NOT NULL,
        metric TEXT NOT NULL,
        unit TEXT NOT NULL,
        value REAL NOT NULL,
        samples TEXT NOT NULL,
        PRIMARY KEY (run_id, benchmark, metric)
    );
    CREATE INDEX perfhub_results_series ON perfhub_results (benchmark, metric);",
    // 1 → 2
    "ALTER TABLE perfhub_runs ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE perfhub_runs ADD COLUMN source TEXT;
    ALTER TABLE perfhub_results ADD COLUMN is_primary INTEGER NOT NULL DEFAULT 0;
    UPDATE perfhub_runs SET kind = coalesce(json_extract(report_json, '$.kind'), '');
    UPDATE perfhub_results SET is_primary = EXISTS (
        SELECT 1 FROM perfhub_runs AS r, json_each(r.report_json, '$.benchmarks') AS b
        WHERE r.id = perfhub_results.run_id
          AND json_extract(b.value, '$.name') = perfhub_results.benchmark
          AND json_extract(b.value, '$.primary_metric') = perfhub_results.metric
    );
    CREATE INDEX perfhub_runs_branch_machine ON perfhub_runs (branch, machine, time_millis);",
];

/// The PostgreSQL migrations: entry `i` takes version `i` to `i + 1`. The
/// version itself lives in the one-row table `perfhub_schema`.
pub const POSTGRES_MIGRATIONS: &[&str] = &[
    // 0 → 1
    "CREATE TABLE perfhub_runs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time TEXT NOT NULL,
        time_millis BIGINT NOT NULL,
        commit_sha TEXT,
        branch TEXT,
        machine TEXT,
        report_json TEXT NOT NULL
    );
    CREATE INDEX perfhub_runs_time ON perfhub_runs (time_millis);
    CREATE TABLE perfhub_results (
        run_id BIGINT NOT NULL REFERENCES perfhub_runs (id) ON DELETE CASCADE,
        benchmark TEXT NOT NULL,
        metric TEXT NOT NULL,
        unit TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        samples TEXT NOT NULL,
        PRIMARY KEY (run_id, benchmark, metric)
    );
    CREATE INDEX perfhub_results_series ON perfhub_results (benchmark, metric);",
    // 1 → 2
    "ALTER TABLE perfhub_runs ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE perfhub_runs ADD COLUMN source TEXT;
    ALTER TABLE perfhub_results ADD COLUMN is_primary BOOLEAN NOT NULL DEFAULT FALSE;
    UPDATE perfhub_runs SET kind = coalesce(report_json::jsonb ->> 'kind', '');
    UPDATE perfhub_results AS res SET is_primary = EXISTS (
        SELECT 1 FROM perfhub_runs AS r, jsonb_array_elements(r.report_json::jsonb -> 'benchmarks') AS b
        WHERE r.id = res.run_id
          AND b ->> 'name' = res.benchmark
          AND b ->> 'primary_metric' = res.metric
    );
    CREATE INDEX perfhub_runs_branch_machine ON perfhub_runs (branch, machine, time_millis);",
];

const _: () = assert!(SQLITE_MIGRATIONS.len() as i64 == SCHEMA_VERSION);
const _: () = assert!(POSTGRES_MIGRATIONS.len() as i64 == SCHEMA_VERSION);

/// The PostgreSQL table that holds the schema version (one row), created
/// before the first migration.
pub const POSTGRES_VERSION_TABLE: &str = "CREATE TABLE perfhub_schema (version BIGINT NOT NULL)";
