//! perfhub: performance analysis and benchmarking, as a library.
//!
//! One crate to depend on, one module per job, each behind a cargo feature
//! so that a program compiles only what it uses (`run` and `profile` by
//! default; `full` for everything):
//!
//! | module | feature | what it does |
//! |---|---|---|
//! | [`core`] (and [`Report`], [`budget`], [`stats`], …) | always | the report model, units, statistics, histograms, budgets, comparisons |
//! | `bench` | `bench` | benchmarks of closures, and a harness for `cargo bench` |
//! | `run` | `run` | benchmarks of commands, as `perfhub run` does them |
//! | `profile`, `alloc` | `profile` | CPU, allocation and I/O profiles of a region of this program, and of other commands (with an HTTP client, `ureq` over `rustls`, for debuginfod downloads of debug files) |
//! | `flame` | `flame` (in `profile`) | folded stacks, pprof, speedscope and SVG flame graphs |
//! | `load` | `load` | HTTP load tests, scenario files |
//! | `serve` | `serve` | the target server of `perfhub serve` (latency, stalls, error rate, faults) |
//! | `import` | `import` | criterion, libtest, hyperfine, goose and k6 results as reports |
//! | `gate` | `gate` | the A/B regression gate between two commits |
//! | `history` | `sqlite`, `postgres` | a history of results in SQLite or PostgreSQL |
//! | `export` | `export` | CI, Prometheus, MLflow, Pyroscope, task workflows, research records |
//! | `html` | `html` | the self-contained HTML report |
//! | `term` | `term` | the terminal summaries `perfhub` prints, into any `io::Write` |
//! | `check` | `check` | the plan of `perfhub check`: `perfhub.toml` read, checked and run |
//! | `probe` | `probe` (in `bench`, `run`, `profile`) | the environment fingerprint, measured process spawning |
//!
//! Every capability ends in a [`Report`]: the same JSON `perfhub` writes,
//! which budgets judge ([`Report::apply_budgets`]), [`core::compare`]
//! compares, and the history and adapters take. Each module's page is
//! listed below when its feature is on (docs.rs shows all of them), and
//! `docs/library.md` in the repository has the Rust equivalent of each
//! command.
//!
//! # Benchmark a closure
//!
//! ```
//! # #[cfg(feature = "bench")] {
//! use perfhub::bench::{Bench, BenchConfig};
//! use std::time::Duration;
//!
//! let mut bench = Bench::new(BenchConfig {
//!     warm_up: Duration::from_millis(10),
//!     measurement: Duration::from_millis(50),
//!     budgets: vec!["p95 < 10ms".parse().unwrap()],
//!     ..BenchConfig::default()
//! });
//! bench.run("sort 1000", || {
//!     let mut v: Vec<u32> = (0..1000).rev().collect();
//!     v.sort();
//!     v
//! });
//! let report = bench.finish().unwrap();
//! let wall = report.benchmarks[0].primary().unwrap().summary.as_ref().unwrap();
//! let p95 = wall.percentile(perfhub::stats::Percentile::P95).unwrap();
//! assert!(p95 > 0.0 && report.budgets_pass());
//! # }
//! ```
//!
//! # Benchmark a command
//!
//! ```
//! # #[cfg(feature = "run")] {
//! use perfhub::run::{CommandTemplate, NoProgress, RunConfig, RunCount};
//!
//! let config = RunConfig {
//!     commands: vec![CommandTemplate::Line("true".into())],
//!     runs: RunCount::Exact(3),
//!     warmup: 0,
//!     ..RunConfig::default()
//! };
//! let outcome = perfhub::run::run(&config, &mut NoProgress).unwrap();
//! assert_eq!(outcome.report.benchmarks[0].primary().unwrap().samples.len(), 3);
//! # }
//! ```
//!
//! # Profile a region
//!
//! ```
//! # #[cfg(feature = "profile")] {
//! use perfhub::profile::{ProfileConfig, Profiler};
//!
//! let profiler = Profiler::start(ProfileConfig::default()).unwrap();
//! let sum: u64 = (0..2_000_000u64).map(std::hint::black_box).sum();
//! let profile = profiler.finish();
//! let report = profile.to_report(perfhub::core::time::UtcTime::now());
//! assert!(sum > 0 && !report.benchmarks.is_empty());
//! # }
//! ```
//!
//! Allocations are counted by installing the tracking allocator in the
//! binary; see [`alloc`]:
//!
//! ```no_run
//! # #[cfg(feature = "profile")] mod m {
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: perfhub::alloc::Tracking<System> = perfhub::alloc::Tracking::new(System);
//! # }
//! ```
//!
//! # Draw a flame graph
//!
//! ```
//! # #[cfg(feature = "flame")] {
//! let profile = perfhub::flame::parse_folded("main;parse 30\nmain;sort 70\n").unwrap();
//! let mut svg = Vec::new();
//! perfhub::flame::write_flamegraph(&profile, &Default::default(), &mut svg).unwrap();
//! assert!(String::from_utf8(svg).unwrap().contains("sort"));
//! # }
//! ```
//!
//! # Load-test a service
//!
//! Against perfhub's own target server on loopback here; any URL works.
//!
//! ```
//! # #[cfg(all(feature = "load", feature = "serve"))] {
//! use perfhub::load::engine::{LoadConfig, NoProgress};
//! use perfhub::serve::{ServeConfig, Server};
//! use std::time::Duration;
//!
//! let server = Server::start("127.0.0.1:0".parse().unwrap(), ServeConfig::default()).unwrap();
//! let config = LoadConfig {
//!     duration: Duration::from_millis(300),
//!     connections: 2,
//!     threads: 1,
//!     ..LoadConfig::new(&format!("http://{}/", server.addr())).unwrap()
//! };
//! let outcome = perfhub::load::engine::run(&config, &mut NoProgress).unwrap();
//! let mut report = outcome.report;   // endpoints, `total` and the environment
//! // Overall budgets judge `total`; per-endpoint ones, their endpoint.
//! perfhub::load::report::apply_budgets(&mut report, &["p95 < 1s".parse().unwrap()], &[]).unwrap();
//! assert!(report.budgets_pass());
//! server.stop();
//! # }
//! ```
//!
//! # Import results and compare them
//!
//! ```
//! # #[cfg(feature = "import")] {
//! use perfhub::import::{ImportOptions, parse_hyperfine};
//! use std::path::Path;
//!
//! let json = |mean: f64| format!(
//!     r#"{{"results":[{{"command":"sleep","mean":{mean},"stddev":0.001,"median":{mean},
//!        "user":0.0,"system":0.0,"min":{mean},"max":{mean},"times":[{mean},{mean},{mean}]}}]}}"#);
//! let options = ImportOptions::new(perfhub::core::time::UtcTime::now());
//! let base = parse_hyperfine(&json(0.010), Path::new("base.json"), &options).unwrap();
//! let head = parse_hyperfine(&json(0.020), Path::new("head.json"), &options).unwrap();
//! let changes = perfhub::core::compare::compare_reports(&base, &head, &Default::default());
//! assert!((changes.changes[0].ratio - 2.0).abs() < 1e-9);
//! # }
//! ```
//!
//! # Keep a history
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use perfhub::history::{HistoryStore, RunMeta, SeriesFilter};
//! use perfhub::{Report, core::{Benchmark, Measurement, ReportKind, Unit}};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = HistoryStore::open(dir.path().join("history.db").to_str().unwrap()).unwrap();
//! let mut report = Report::now(ReportKind::Bench);
//! let mut b = Benchmark::new("parse", "wall_time");
//! b.measurements.push(Measurement::from_samples("wall_time", Unit::Seconds, vec![0.01, 0.011]));
//! report.benchmarks.push(b);
//! store.record(&report, &RunMeta::from_report(&report)).unwrap();
//! let series = store.series("parse", "wall_time", &SeriesFilter::default()).unwrap();
//! assert_eq!(series.points.len(), 1);
//! # }
//! ```
//!
//! # Export to monitoring, and render HTML
//!
//! ```
//! # #[cfg(all(feature = "export", feature = "html"))] {
//! use perfhub::{Report, core::{Benchmark, Measurement, ReportKind, Unit}};
//!
//! let mut report = Report::now(ReportKind::Run);
//! let mut b = Benchmark::new("build", "wall_time");
//! b.measurements.push(Measurement::from_samples("wall_time", Unit::Seconds, vec![1.5, 1.6]));
//! report.benchmarks.push(b);
//! let text = perfhub::export::prometheus::exposition(
//!     std::slice::from_ref(&report),
//!     perfhub::export::prometheus::Format::Prometheus,
//! );
//! assert!(text.contains("perfhub_wall_time_seconds"));
//! let html = perfhub::html::render(&perfhub::html::HtmlReport::new("build", &report));
//! assert!(html.contains("<html"));
//! # }
//! ```
//!
//! # Run a plan
//!
//! The steps of a `perfhub.toml` run here in this process; the check writes
//! `report.json` and `report.html` and judges the budgets.
//!
//! ```
//! # #[cfg(feature = "check")] {
//! use perfhub::check::{CheckOptions, CheckStatus, InProcessRunner, NoProgress, parse_plan, run_plan};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let text = r#"
//! [check]
//! output = "out"
//! history = ""
//! budgets = []
//!
//! [[run]]
//! name = "cmds"
//! commands = ["true"]
//! runs = 3
//! budgets = ["mean < 10s"]
//! "#;
//! let plan = parse_plan(text, "perfhub.toml", &dir.path().join("perfhub.toml")).unwrap();
//! let outcome =
//!     run_plan(&plan, &mut InProcessRunner::new(), &mut NoProgress, &CheckOptions::default()).unwrap();
//! assert_eq!(outcome.status(), CheckStatus::Passed);
//! assert!(outcome.report.benchmark("cmds/true").is_some());
//! assert!(outcome.html.exists());
//! # }
//! ```
//!
//! # Every module, by name
//!
//! ```
//! # #[cfg(feature = "full")] {
//! #[allow(unused_imports)]
//! use perfhub::{alloc, bench, check, core, export, flame, gate, history, html, import, load, probe, profile, run, term};
//! #[allow(unused_imports)]
//! use perfhub::export::{ci, mlflow, prometheus, pyroscope, research, workflow};
//! # }
//! ```
#![deny(missing_docs)]

#[doc(inline)]
pub use perfhub_core as core;
pub use perfhub_core::{Report, budget, histogram, report, stats, units};

#[cfg(feature = "bench")]
#[doc(inline)]
pub use perfhub_bench as bench;
#[cfg(feature = "check")]
#[doc(inline)]
pub use perfhub_check as check;
#[cfg(feature = "flame")]
#[doc(inline)]
pub use perfhub_flame as flame;
#[cfg(feature = "gate")]
#[doc(inline)]
pub use perfhub_gate as gate;
#[cfg(feature = "history")]
#[doc(inline)]
pub use perfhub_history as history;
#[cfg(feature = "html")]
#[doc(inline)]
pub use perfhub_html as html;
#[cfg(feature = "import")]
#[doc(inline)]
pub use perfhub_import as import;
#[cfg(feature = "load")]
#[doc(inline)]
pub use perfhub_load as load;
#[cfg(feature = "probe")]
#[doc(inline)]
pub use perfhub_probe as probe;
#[cfg(feature = "profile")]
#[doc(inline)]
pub use perfhub_profile as profile;
#[cfg(feature = "profile")]
#[doc(inline)]
pub use perfhub_profile::alloc;
#[cfg(feature = "run")]
#[doc(inline)]
pub use perfhub_run as run;
#[cfg(feature = "serve")]
#[doc(inline)]
pub use perfhub_serve as serve;
#[cfg(feature = "term")]
#[doc(inline)]
pub use perfhub_term as term;

/// Results into other systems: CI, monitoring, experiment tracking,
/// continuous profiling, task workflows and research records (feature
/// `export`).
#[cfg(feature = "export")]
pub mod export {
    #[doc(inline)]
    pub use perfhub_adapter_ci as ci;
    #[doc(inline)]
    pub use perfhub_adapter_mlflow as mlflow;
    #[doc(inline)]
    pub use perfhub_adapter_prometheus as prometheus;
    #[doc(inline)]
    pub use perfhub_adapter_pyroscope as pyroscope;
    #[doc(inline)]
    pub use perfhub_adapter_research as research;
    #[doc(inline)]
    pub use perfhub_adapter_workflow as workflow;
}

/// The examples of `docs/library.md`, run as doctests so that the guide
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/library.md")]
mod library_guide {}
