//! The history store against SQLite and PostgreSQL (`PERFHUB_TEST_POSTGRES`,
//! a server URL that `cargo xtask ci` provides): the same tests on both, each
//! on a fresh database. Without a server the PostgreSQL tests fail.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use perfhub_core::report::{Benchmark, Environment, Measurement, Report, ReportKind, metric};
use perfhub_core::units::Unit;
use perfhub_history::schema::{
    POSTGRES_MIGRATIONS, POSTGRES_VERSION_TABLE, SCHEMA_VERSION, SQLITE_APPLICATION_ID,
    SQLITE_MIGRATIONS,
};
use perfhub_history::{HistoryError, HistoryStore, RunFilter, RunId, RunMeta, SeriesFilter};

// ---------------------------------------------------------------------------
// Fresh databases

enum Fresh {
    /// Kept for its `Drop`, which removes the directory.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// A fresh, empty history location, removed when dropped.
struct TestDb {
    location: String,
    fresh: Fresh,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = dir
            .path()
            .join("nested/dir/history.db")
            .display()
            .to_string();
        TestDb {
            location,
            fresh: Fresh::Sqlite { _dir: dir },
        }
    }

    /// A fresh PostgreSQL database.
    fn postgres() -> TestDb {
        let url = match std::env::var("PERFHUB_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => url,
            _ => panic!(
                "PERFHUB_TEST_POSTGRES is not set: run the suite with `cargo xtask ci`, which \
                 starts a server, or set it to a server URL such as \
                 postgres://perfhub:perfhub@127.0.0.1:5432/postgres (scripts/ci-postgres.sh \
                 starts one and prints it)"
            ),
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "perfhub_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to PERFHUB_TEST_POSTGRES: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        TestDb {
            location: with_database(&url, &name),
            fresh: Fresh::Postgres {
                admin_url: url,
                name,
            },
        }
    }

    fn open(&self) -> HistoryStore {
        HistoryStore::open(&self.location)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.location))
    }

    fn is_postgres(&self) -> bool {
        matches!(self.fresh, Fresh::Postgres { .. })
    }

    /// A raw connection to the database, for setting up old or odd states.
    fn raw_postgres(&self) -> postgres::Client {
        postgres::Client::connect(&self.location, postgres::NoTls).expect("raw connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Fresh::Postgres { admin_url, name } = &self.fresh
            && let Ok(mut admin) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_start);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    format!("{}{authority}/{name}{query}", &url[..after_scheme])
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::TestDb::sqlite());
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::TestDb::postgres());
                }
            )*
        }
    };
}

on_both_backends!(
    records_and_reads_back_a_run,
    orders_and_filters_series_and_runs,
    readers_read_while_a_writer_records,
    a_failed_record_leaves_nothing,
    a_bad_time_is_refused,
    reopens_with_the_data,
    migrates_a_version_1_history_forward,
    refuses_a_newer_schema,
    concurrent_first_opens_create_the_schema_once,
    a_missing_run_is_an_error,
);

// ---------------------------------------------------------------------------
// Reports

fn report(created: &str, benches: &[(&str, f64)]) -> Report {
    let mut r = Report::new(ReportKind::Run, created.parse().unwrap());
    r.environment = Some(Environment {
        arch: "x86_64".into(),
        logical_cpus: 8,
        memory_bytes: 1 << 34,
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        git_branch: Some("main".into()),
        fingerprint: "feedfacecafebeef".into(),
        ..Environment::default()
    });
    for &(name, v) in benches {
        let mut b = Benchmark::new(name, metric::WALL_TIME);
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            vec![v * 0.9, v, v * 1.1],
        ));
        b.measurements.push(Measurement::from_value(
            metric::MAX_RSS,
            Unit::Bytes,
            1024.0 * 1024.0,
        ));
        // No value at all: kept in the report, not in the series.
        b.measurements
            .push(Measurement::from_samples("nothing", Unit::Count, vec![]));
        r.benchmarks.push(b);
    }
    r
}

fn meta(time: &str, commit: &str, branch: &str, machine: &str) -> RunMeta {
    RunMeta {
        commit: Some(commit.into()),
        branch: Some(branch.into()),
        machine: Some(machine.into()),
        time: Some(time.into()),
        source: Some("test".into()),
    }
}

fn day(d: u32) -> String {
    format!("2026-03-{d:02}T12:00:00Z")
}

// ---------------------------------------------------------------------------
// Tests on both backends

fn records_and_reads_back_a_run(db: &TestDb) {
    let mut store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let r = report(
        "2026-03-01T12:00:00Z",
        &[("parse", 0.010), ("render", 0.020)],
    );
    // A time given to the millisecond is kept to the millisecond.
    let meta = RunMeta {
        time: Some("2026-03-01T12:00:00.250Z".into()),
        ..RunMeta::from_report(&r)
    };
    let id = store.record(&r, &meta).unwrap();

    let runs = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.id, id);
    assert_eq!(run.time, "2026-03-01T12:00:00.250Z");
    assert_eq!(run.time_millis, 1_772_366_400_250);
    assert_eq!(
        run.commit.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(run.branch.as_deref(), Some("main"));
    assert_eq!(run.machine.as_deref(), Some("feedfacecafebeef"));
    assert_eq!(run.kind, "run");
    assert_eq!(run.source, None);
    assert_eq!(run.benchmarks, 2);

    assert_eq!(store.report(id).unwrap(), r, "the exact report comes back");

    let s = store
        .series("render", metric::WALL_TIME, &SeriesFilter::default())
        .unwrap();
    assert_eq!(s.points.len(), 1);
    let p = &s.points[0];
    assert_eq!(p.run_id, id);
    assert!((p.value - 0.020).abs() < 1e-12, "the mean: {}", p.value);
    assert_eq!(p.unit, Unit::Seconds);
    assert_eq!(p.samples, vec![0.020 * 0.9, 0.020, 0.020 * 1.1]);

    let rss = store
        .series("parse", metric::MAX_RSS, &SeriesFilter::default())
        .unwrap();
    assert_eq!(rss.points[0].value, 1024.0 * 1024.0);
    assert_eq!(rss.points[0].unit, Unit::Bytes);
    assert!(rss.points[0].samples.is_empty());

    let keys = store.series_keys(&SeriesFilter::default()).unwrap();
    let names: Vec<(&str, &str, bool)> = keys
        .iter()
        .map(|k| (k.benchmark.as_str(), k.metric.as_str(), k.primary))
        .collect();
    assert_eq!(
        names,
        [
            ("parse", "max_rss", false),
            ("parse", "wall_time", true),
            ("render", "max_rss", false),
            ("render", "wall_time", true),
        ],
        "measurements without a value are not series"
    );
}

fn orders_and_filters_series_and_runs(db: &TestDb) {
    let mut store = db.open();
    // Recorded out of time order, on two branches and two machines.
    let plan = [
        (3, "c3", "main", "m1", 0.3),
        (1, "c1", "main", "m1", 0.1),
        (2, "c2", "feature", "m1", 0.2),
        (5, "c5", "main", "m2", 0.5),
        (4, "c4", "main", "m1", 0.4),
    ];
    for (d, commit, branch, machine, v) in plan {
        let r = report(&day(d), &[("parse", v), (&format!("only-{d}"), v)]);
        store
            .record(&r, &meta(&day(d), commit, branch, machine))
            .unwrap();
    }
    let values = |store: &mut HistoryStore, f: SeriesFilter| -> Vec<f64> {
        store
            .series("parse", metric::WALL_TIME, &f)
            .unwrap()
            .points
            .iter()
            .map(|p| (p.value * 10.0).round() / 10.0)
            .collect()
    };
    assert_eq!(
        values(&mut store, SeriesFilter::default()),
        [0.1, 0.2, 0.3, 0.4, 0.5]
    );
    let main = SeriesFilter {
        branch: Some("main".into()),
        ..SeriesFilter::default()
    };
    assert_eq!(values(&mut store, main.clone()), [0.1, 0.3, 0.4, 0.5]);
    let main_m1 = SeriesFilter {
        machine: Some("m1".into()),
        ..main.clone()
    };
    assert_eq!(values(&mut store, main_m1.clone()), [0.1, 0.3, 0.4]);
    let newest_two = SeriesFilter {
        limit: Some(2),
        ..main_m1
    };
    assert_eq!(
        values(&mut store, newest_two),
        [0.3, 0.4],
        "the newest, oldest first"
    );
    let s = store
        .series("parse", metric::WALL_TIME, &SeriesFilter::default())
        .unwrap();
    let commits: Vec<&str> = s
        .points
        .iter()
        .filter_map(|p| p.commit.as_deref())
        .collect();
    assert_eq!(commits, ["c1", "c2", "c3", "c4", "c5"]);
    assert!(
        s.points
            .windows(2)
            .all(|w| w[0].time_millis < w[1].time_millis)
    );
    assert!(
        store
            .series("absent", metric::WALL_TIME, &SeriesFilter::default())
            .unwrap()
            .points
            .is_empty()
    );

    let commits_of = |store: &mut HistoryStore, f: RunFilter| -> Vec<String> {
        store
            .runs(&f)
            .unwrap()
            .into_iter()
            .filter_map(|r| r.commit)
            .collect()
    };
    assert_eq!(
        commits_of(&mut store, RunFilter::default()),
        ["c5", "c4", "c3", "c2", "c1"]
    );
    let limited = RunFilter {
        limit: Some(2),
        ..RunFilter::default()
    };
    assert_eq!(commits_of(&mut store, limited), ["c5", "c4"]);
    let by_commit = RunFilter {
        commit: Some("c3".into()),
        ..RunFilter::default()
    };
    assert_eq!(commits_of(&mut store, by_commit), ["c3"]);
    let by_benchmark = RunFilter {
        benchmark: Some("ly-2".into()),
        ..RunFilter::default()
    };
    assert_eq!(commits_of(&mut store, by_benchmark), ["c2"]);
    let feature = RunFilter {
        branch: Some("feature".into()),
        ..RunFilter::default()
    };
    assert_eq!(commits_of(&mut store, feature), ["c2"]);

    let base = store
        .latest_run(&RunFilter {
            branch: Some("main".into()),
            machine: Some("m1".into()),
            ..RunFilter::default()
        })
        .unwrap()
        .expect("a run on main on m1");
    assert_eq!(base.commit.as_deref(), Some("c4"));
    let base_report = store.report(base.id).unwrap();
    assert!(base_report.benchmark("only-4").is_some());

    let keys = store.series_keys(&main).unwrap();
    assert!(
        keys.iter().all(|k| k.benchmark != "only-2"),
        "only-2 ran on feature only"
    );
    assert!(keys.iter().any(|k| k.benchmark == "only-5"));
}

fn readers_read_while_a_writer_records(db: &TestDb) {
    // Create the schema first, then write from one connection and read from another.
    drop(db.open());
    let done = Arc::new(AtomicBool::new(false));
    let location = db.location.clone();
    let writer_done = Arc::clone(&done);
    let writer = std::thread::spawn(move || {
        let mut store = HistoryStore::open(&location).expect("writer opens");
        for i in 0..50u32 {
            let time = format!("2026-04-01T00:00:{i:02}Z");
            let r = report(&time, &[("a", 1.0 + f64::from(i)), ("b", 2.0)]);
            store
                .record(&r, &meta(&time, &format!("c{i}"), "main", "m"))
                .expect("record while a reader reads");
        }
        writer_done.store(true, Ordering::SeqCst);
    });
    let mut reader = db.open();
    let mut last = 0;
    let mut reads = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let runs = reader
            .runs(&RunFilter::default())
            .expect("read while a writer writes");
        assert!(runs.len() >= last, "runs never disappear");
        last = runs.len();
        // A run is seen whole or not at all.
        assert!(runs.iter().all(|r| r.benchmarks == 2), "{runs:?}");
        let s = reader
            .series("a", metric::WALL_TIME, &SeriesFilter::default())
            .expect("series while a writer writes");
        assert!(s.points.len() >= runs.len());
        reads += 1;
        if finished {
            break;
        }
    }
    writer.join().expect("writer thread");
    assert_eq!(last, 50);
    assert!(reads >= 1);
}

fn a_failed_record_leaves_nothing(db: &TestDb) {
    let mut store = db.open();
    // The same benchmark twice: its second insert fails after the run row and
    // the first benchmark's rows are written; all of it must roll back.
    let mut r = report(&day(1), &[("twice", 1.0), ("other", 2.0)]);
    r.benchmarks.push(r.benchmarks[0].clone());
    let err = store.record(&r, &RunMeta::from_report(&r)).unwrap_err();
    assert!(
        matches!(&err, HistoryError::Duplicate { benchmark, metric } if benchmark == "twice" && metric == "wall_time"),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was recorded"), "{err}");
    assert!(store.runs(&RunFilter::default()).unwrap().is_empty());
    assert!(
        store
            .series_keys(&SeriesFilter::default())
            .unwrap()
            .is_empty()
    );
    // The store works on after the rollback.
    let good = report(&day(2), &[("twice", 1.0)]);
    store.record(&good, &RunMeta::from_report(&good)).unwrap();
    assert_eq!(store.runs(&RunFilter::default()).unwrap().len(), 1);
}

fn a_bad_time_is_refused(db: &TestDb) {
    let mut store = db.open();
    let r = report(&day(2), &[("x", 1.0)]);
    let yesterday = RunMeta {
        time: Some("yesterday".into()),
        ..RunMeta::default()
    };
    let err = store.record(&r, &yesterday).unwrap_err();
    assert!(matches!(err, HistoryError::BadTime(_)), "{err}");
    assert!(err.to_string().contains("\"yesterday\""), "{err}");
    // An explicit time overrides the report's.
    store
        .record(
            &r,
            &RunMeta {
                time: Some(day(1)),
                ..RunMeta::default()
            },
        )
        .unwrap();
    let runs = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs[0].time, day(1));
    assert_eq!(runs[0].commit, None);
}

fn reopens_with_the_data(db: &TestDb) {
    let r = report(&day(1), &[("x", 1.0)]);
    let id = db.open().record(&r, &RunMeta::from_report(&r)).unwrap();
    let mut again = db.open();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(again.report(id).unwrap(), r);
    let id2 = again.record(&r, &RunMeta::from_report(&r)).unwrap();
    assert!(id2 > id);
}

fn migrates_a_version_1_history_forward(db: &TestDb) {
    // A history as version 1 wrote it: no kind, no source, no primary flag,
    // and reports without the format's minor version (perfhub wrote none
    // then).
    let mut r = report(&day(1), &[("old", 0.5)]);
    let mut old: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    old.as_object_mut().unwrap().remove("schema_minor");
    let json = old.to_string();
    r.schema_minor = 0;
    let samples = "[0.45,0.5,0.55]";
    let old_id = if db.is_postgres() {
        let mut c = db.raw_postgres();
        c.batch_execute(POSTGRES_VERSION_TABLE).unwrap();
        c.batch_execute("INSERT INTO perfhub_schema (version) VALUES (1)")
            .unwrap();
        c.batch_execute(POSTGRES_MIGRATIONS[0]).unwrap();
        let id: i64 = c
            .query_one(
                "INSERT INTO perfhub_runs (time, time_millis, commit_sha, branch, machine, report_json)
                 VALUES ($1, $2, 'c-old', 'main', 'm', $3) RETURNING id",
                &[&day(1), &1_772_366_400_000i64, &json],
            )
            .unwrap()
            .get(0);
        for (m, unit, v) in [
            ("wall_time", "seconds", 0.5),
            ("max_rss", "bytes", 1048576.0),
        ] {
            c.execute(
                "INSERT INTO perfhub_results VALUES ($1, 'old', $2, $3, $4, $5)",
                &[&id, &m, &unit, &v, &samples],
            )
            .unwrap();
        }
        RunId(id)
    } else {
        let path = Path::new(&db.location);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(SQLITE_MIGRATIONS[0]).unwrap();
        c.execute_batch(&format!(
            "PRAGMA application_id = {SQLITE_APPLICATION_ID}; PRAGMA user_version = 1;"
        ))
        .unwrap();
        c.execute(
            "INSERT INTO perfhub_runs VALUES (7, ?1, ?2, 'c-old', 'main', 'm', ?3)",
            rusqlite::params![day(1), 1_772_366_400_000i64, json],
        )
        .unwrap();
        for (m, unit, v) in [
            ("wall_time", "seconds", 0.5),
            ("max_rss", "bytes", 1048576.0),
        ] {
            c.execute(
                "INSERT INTO perfhub_results VALUES (7, 'old', ?1, ?2, ?3, ?4)",
                rusqlite::params![m, unit, v, samples],
            )
            .unwrap();
        }
        RunId(7)
    };

    let mut store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let runs = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, old_id);
    assert_eq!(runs[0].kind, "run", "filled in from the report JSON");
    assert_eq!(runs[0].commit.as_deref(), Some("c-old"));
    let keys = store.series_keys(&SeriesFilter::default()).unwrap();
    let primary: Vec<(&str, bool)> = keys
        .iter()
        .map(|k| (k.metric.as_str(), k.primary))
        .collect();
    assert_eq!(
        primary,
        [("max_rss", false), ("wall_time", true)],
        "filled in"
    );
    assert_eq!(store.report(old_id).unwrap(), r);
    let s = store
        .series("old", metric::WALL_TIME, &SeriesFilter::default())
        .unwrap();
    assert_eq!(s.points[0].samples, [0.45, 0.5, 0.55]);
    // New runs go in beside the migrated one.
    let id = store
        .record(&r, &meta(&day(2), "c-new", "main", "m"))
        .unwrap();
    assert!(id > old_id);
    drop(store);
    assert_eq!(db.open().runs(&RunFilter::default()).unwrap().len(), 2);
}

fn refuses_a_newer_schema(db: &TestDb) {
    let r = report(&day(1), &[("x", 1.0)]);
    db.open().record(&r, &RunMeta::from_report(&r)).unwrap();
    let before = if db.is_postgres() {
        db.raw_postgres()
            .batch_execute("UPDATE perfhub_schema SET version = 99")
            .unwrap();
        None
    } else {
        let c = rusqlite::Connection::open(&db.location).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
        // Leave a checkpointed file behind, so its bytes can be compared.
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        drop(c);
        Some(std::fs::read(&db.location).unwrap())
    };
    let err = HistoryStore::open(&db.location).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::TooNew {
                found: 99,
                supported: SCHEMA_VERSION,
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("newer perfhub") && text.contains("upgrade"),
        "{text}"
    );
    if let Some(before) = before {
        assert_eq!(
            std::fs::read(&db.location).unwrap(),
            before,
            "left untouched"
        );
    } else {
        let v: i64 = db
            .raw_postgres()
            .query_one("SELECT version FROM perfhub_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(v, 99, "left untouched");
    }
}

fn concurrent_first_opens_create_the_schema_once(db: &TestDb) {
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let location = db.location.clone();
            std::thread::spawn(move || {
                let mut store =
                    HistoryStore::open(&location).unwrap_or_else(|e| panic!("opener {i}: {e}"));
                let r = report(&day(1), &[("x", 1.0)]);
                store.record(&r, &RunMeta::from_report(&r)).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().expect("opener thread");
    }
    let mut store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.runs(&RunFilter::default()).unwrap().len(), 6);
}

fn a_missing_run_is_an_error(db: &TestDb) {
    let mut store = db.open();
    let err = store.report(RunId(12345)).unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::NoSuchRun {
                id: RunId(12345),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no run 12345"), "{err}");
}

// ---------------------------------------------------------------------------
// SQLite only: files that are not ours

fn sqlite_error_leaves_file(name: &str, contents: &[u8]) -> HistoryError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    let err = HistoryStore::open(path.to_str().unwrap()).unwrap_err();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        contents,
        "{name} was changed"
    );
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    err
}

#[test]
fn sqlite_refuses_files_that_are_not_databases() {
    let mut noise = Vec::new();
    let mut x: u32 = 0x1234_5678;
    for _ in 0..8192 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    for (name, contents) in [
        ("noise.db", noise.as_slice()),
        ("notes.txt", b"remember the milk\n".as_slice()),
        ("short.db", b"SQLite".as_slice()),
        ("report.json", b"{\"schema_version\": 1}".as_slice()),
    ] {
        let err = sqlite_error_leaves_file(name, contents);
        assert!(
            matches!(err, HistoryError::NotADatabase { .. }),
            "{name}: {err}"
        );
        assert!(
            err.to_string().contains("not a perfhub history database"),
            "{err}"
        );
    }
}

#[test]
fn sqlite_refuses_a_corrupt_database() {
    // An SQLite header followed by garbage.
    let mut contents = b"SQLite format 3\0".to_vec();
    contents.extend((0..4080u32).map(|i| (i * 7 + 3) as u8));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    std::fs::write(&path, &contents).unwrap();
    let err = HistoryStore::open(path.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), contents);
}

#[test]
fn sqlite_refuses_other_applications_databases() {
    for (name, setup) in [
        (
            "tables.db",
            "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');",
        ),
        (
            "appid.db",
            "PRAGMA application_id = 1234; CREATE TABLE t (x);",
        ),
        ("appid-empty.db", "PRAGMA application_id = 1234;"),
        ("user-version.db", "PRAGMA user_version = 3;"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(setup).unwrap();
        drop(c);
        let before = std::fs::read(&path).unwrap();
        let err = HistoryStore::open(path.to_str().unwrap()).unwrap_err();
        assert!(matches!(err, HistoryError::Foreign { .. }), "{name}: {err}");
        assert!(
            err.to_string().contains("not a perfhub history database"),
            "{err}"
        );
        assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name} was changed");
        assert!(
            !dir.path().join(format!("{name}-wal")).exists(),
            "{name}: no WAL left"
        );
    }
}

#[test]
fn sqlite_creates_the_directory_and_uses_wal() {
    let db = TestDb::sqlite();
    assert!(!Path::new(&db.location).exists());
    db.open();
    let c = rusqlite::Connection::open(&db.location).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, SQLITE_APPLICATION_ID);
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn sqlite_takes_an_empty_file_and_refuses_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let mut store = HistoryStore::open(path.to_str().unwrap()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let err = HistoryStore::open(dir.path().to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
}

// ---------------------------------------------------------------------------
// PostgreSQL only

#[test]
fn postgres_refuses_a_database_with_unversioned_perfhub_tables() {
    let db = TestDb::postgres();
    db.raw_postgres()
        .batch_execute("CREATE TABLE perfhub_runs (id INT); INSERT INTO perfhub_runs VALUES (1)")
        .unwrap();
    let err = HistoryStore::open(&db.location).unwrap_err();
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err}");
    let n: i64 = db
        .raw_postgres()
        .query_one("SELECT count(*) FROM perfhub_runs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "left untouched");
}

#[test]
fn postgres_errors_hide_the_password() {
    let db = TestDb::postgres();
    let url = db.location.clone();
    let secret = "wrong-secret-4711";
    let after_scheme = url.find("://").unwrap() + 3;
    let at = url.rfind('@').expect("the test URL has a user");
    let user = url[after_scheme..at].split(':').next().unwrap();
    let bad = format!("{}{user}:{secret}{}", &url[..after_scheme], &url[at..]);
    let err = HistoryStore::open(&bad).unwrap_err();
    let text = format!("{err}");
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains(":***@"), "{text}");
    assert!(text.contains("password"), "the server's reason: {text}");
}
