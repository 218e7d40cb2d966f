use std::time::Duration;

use super::*;

fn quick() -> BenchConfig {
    BenchConfig {
        warm_up: Duration::from_millis(5),
        measurement: Duration::from_millis(30),
        samples: 10,
        environment: false,
        ..BenchConfig::default()
    }
}

#[test]
fn a_closure_is_timed_per_iteration_in_batches() {
    let mut calls = 0u64;
    let mut bench = Bench::new(quick());
    let b = bench
        .run("spin", || {
            calls += 1;
            std::hint::black_box((0..100u64).sum::<u64>())
        })
        .unwrap();
    let wall = b.primary().unwrap();
    assert_eq!(wall.metric, metric::WALL_TIME);
    assert_eq!(wall.samples.len(), 10);
    let iterations = b.measurement(ITERATIONS).unwrap().value.unwrap() as u64;
    // Fast closures run many iterations per sample, and every one measured
    // was a call (the warm-up made the others).
    assert!(iterations >= 10 * 10, "{iterations}");
    assert!(calls > iterations);
    let s = wall.summary.as_ref().unwrap();
    assert!(s.mean > 0.0 && s.mean < 1e-3, "{}", s.mean);
    let report = bench.finish().unwrap();
    assert_eq!(report.kind, ReportKind::Bench);
    assert!(report.environment.is_none());
}

#[test]
fn a_sleep_is_measured_at_its_length() {
    let mut bench = Bench::new(BenchConfig {
        warm_up: Duration::ZERO,
        measurement: Duration::from_millis(40),
        samples: 10,
        environment: false,
        ..BenchConfig::default()
    });
    let b = bench
        .run("sleep", || std::thread::sleep(Duration::from_millis(2)))
        .unwrap();
    let s = b.primary().unwrap().summary.as_ref().unwrap();
    // A slow closure: one iteration per sample, at least MIN_SAMPLES.
    assert_eq!(s.n, MIN_SAMPLES);
    assert!(s.median >= 0.002 && s.median < 0.02, "{}", s.median);
}

#[test]
fn a_fixed_count_measures_exactly_that_many_iterations() {
    let mut calls = 0u64;
    let mut bench = Bench::new(BenchConfig {
        warm_up: Duration::ZERO,
        iterations: Some(1003),
        ..quick()
    });
    let b = bench.run("count", || calls += 1).unwrap();
    assert_eq!(b.measurement(ITERATIONS).unwrap().value, Some(1003.0));
    assert_eq!(b.primary().unwrap().samples.len(), 10);
    // One warm-up call (the estimate), then exactly 1003.
    assert_eq!(calls, 1 + 1003);
    // Fewer iterations than samples: one sample each.
    let mut bench = Bench::new(BenchConfig {
        warm_up: Duration::ZERO,
        iterations: Some(3),
        ..quick()
    });
    let b = bench.run("three", || ()).unwrap();
    assert_eq!(b.primary().unwrap().samples.len(), 3);
}

#[test]
fn budgets_are_applied_and_stored() {
    let mut bench = Bench::new(BenchConfig {
        budgets: vec!["mean < 1s".parse().unwrap(), "max < 1ns".parse().unwrap()],
        ..quick()
    });
    bench.run("work", || (0..1000u64).product::<u64>());
    let report = bench.finish().unwrap();
    assert_eq!(report.budgets.len(), 2);
    assert!(report.budgets[0].passed);
    assert!(!report.budgets[1].passed);
    assert!(!report.budgets_pass());
}

#[test]
fn the_filter_selects_and_duplicates_are_refused() {
    let mut bench = Bench::new(BenchConfig {
        filter: Some("par".into()),
        ..quick()
    });
    assert!(bench.run("parse", || ()).is_some());
    assert!(bench.run("sort", || ()).is_none());
    assert_eq!(bench.report().benchmarks.len(), 1);
    bench.run("parse", || ());
    let e = bench.finish().unwrap_err();
    assert!(
        e.to_string().contains("two benchmarks are named \"parse\""),
        "{e}"
    );

    let mut exact = Bench::new(BenchConfig {
        filter: Some("par".into()),
        exact: true,
        ..quick()
    });
    assert!(exact.run("parse", || ()).is_none());
    assert!(exact.run("par", || ()).is_some());
}

#[test]
fn a_config_that_cannot_run_says_why() {
    for (config, want) in [
        (
            BenchConfig {
                samples: 1,
                ..quick()
            },
            "at least 2",
        ),
        (
            BenchConfig {
                iterations: Some(0),
                ..quick()
            },
            "0 iterations",
        ),
        (
            BenchConfig {
                measurement: Duration::ZERO,
                ..quick()
            },
            "measurement time is 0",
        ),
    ] {
        let mut bench = Bench::new(config);
        assert!(bench.run("x", || ()).is_none());
        let e = bench.finish().unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn the_summary_reads_like_perfhub_run() {
    let mut bench = Bench::new(quick());
    bench.run("spin", || (0..100u64).sum::<u64>());
    let text = summary_text(&bench.report().benchmarks[0]);
    assert!(text.starts_with("spin\n"), "{text}");
    assert!(text.contains("Time (mean ± σ):"), "{text}");
    assert!(text.contains("10 samples"), "{text}");
}

#[test]
fn harness_arguments_are_read_and_bad_ones_named() {
    let args = |v: &[&str]| Args::parse(v.iter().map(|s| s.to_string()));
    let a = args(&[
        "--bench",
        "parse",
        "--exact",
        "--samples=20",
        "--iterations",
        "500",
        "--warm-up",
        "100ms",
        "--budget",
        "p95 < 2ms",
        "--save",
        "out.json",
    ])
    .unwrap();
    assert_eq!(a.config.filter.as_deref(), Some("parse"));
    assert!(a.config.exact);
    assert_eq!(a.config.samples, 20);
    assert_eq!(a.config.iterations, Some(500));
    assert_eq!(a.config.warm_up, Duration::from_millis(100));
    assert_eq!(a.config.budgets.len(), 1);
    assert_eq!(a.save, Some(std::path::PathBuf::from("out.json")));
    for (bad, want) in [
        (vec!["--samples", "many"], "not a whole number"),
        (vec!["--warm-up"], "needs a time"),
        (vec!["--budget", "p95 <"], "--budget"),
        (vec!["--frobnicate"], "unknown argument --frobnicate"),
        (vec!["a", "b"], "two filters"),
    ] {
        let e = args(&bad).unwrap_err().to_string();
        assert!(e.contains(want), "{bad:?}: {e}");
    }
}

fn group(bench: &mut Bench) {
    bench.run("add", || std::hint::black_box(2u64) + 2);
    bench.run("mul", || std::hint::black_box(3u64) * 3);
}

fn harness(args: &[&str]) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(
        args.iter().map(|s| s.to_string()),
        &[group],
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn the_harness_lists_runs_saves_and_judges() {
    let (code, out, _) = harness(&["--list"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "add: benchmark\nmul: benchmark\n")
    );

    let dir = std::env::temp_dir().join(format!("perfhub-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let save = dir.join("report.json");
    let quick = [
        "--warm-up",
        "1ms",
        "--measurement",
        "10ms",
        "--samples",
        "5",
        "--save",
        save.to_str().unwrap(),
    ];
    let (code, out, err) = harness(&[&["mul", "--budget", "mean < 1s"], &quick[..]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mul\n  Time (mean ± σ):"), "{out}");
    assert!(!out.contains("add\n"), "{out}");
    assert!(out.contains("held: mean < 1s on mul"), "{out}");
    let report = Report::from_json(&std::fs::read_to_string(&save).unwrap()).unwrap();
    assert_eq!(report.benchmarks.len(), 1);
    assert_eq!(report.budgets.len(), 1);

    // A breached budget exits 3 and the report is still saved, verdict in it.
    std::fs::remove_file(&save).unwrap();
    let (code, out, _) = harness(&[&["--budget", "mean < 0.001ns"], &quick[..]].concat());
    assert_eq!(code, 3);
    assert!(out.contains("BREACHED: mean < 0.001ns on add"), "{out}");
    let report = Report::from_json(&std::fs::read_to_string(&save).unwrap()).unwrap();
    assert!(!report.budgets_pass());
    std::fs::remove_dir_all(&dir).unwrap();

    let (code, _, err) = harness(&["--samples", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--samples \"x\": not a whole number"), "{err}");
    let (code, _, err) = harness(&["nothing-matches", "--measurement", "1ms"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("no benchmark matches \"nothing-matches\""),
        "{err}"
    );
}

#[test]
fn work_the_compiler_removed_is_flagged() {
    let note = too_fast(0.4e-9).expect("0.4 ns is flagged");
    assert_eq!(note.code, "optimized_away");
    assert!(note.message.contains("black_box"), "{}", note.message);
    assert!(too_fast(2e-9).is_none());
    // A real closure well above a nanosecond carries no such warning.
    let mut bench = Bench::new(quick());
    let b = bench
        .run("sleep", || std::thread::sleep(Duration::from_micros(50)))
        .unwrap();
    assert!(!b.notes.iter().any(|n| n.code == "optimized_away"));
}

mod paired_protocol {
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;

    use crate::paired::{Command, Reply};
    use crate::{Args, Bench};

    /// An output the test reads after the session.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn two(bench: &mut Bench) {
        let mut calls = 0u64;
        bench.run("count", || {
            calls += 1;
            calls
        });
        bench.run("other", || 1 + 1);
    }

    fn session(args: &[&str], input: &str) -> (u8, Vec<Reply>, String) {
        let args = Args::parse(args.iter().map(|s| s.to_string())).unwrap();
        let out = Shared::default();
        let mut err = Vec::new();
        let code = super::super::args::serve_paired(
            &args,
            &[two],
            Box::new(std::io::Cursor::new(input.to_string())),
            Box::new(out.clone()),
            &mut err,
        );
        let text = String::from_utf8(out.0.borrow().clone()).unwrap();
        let replies = text
            .lines()
            .map(|l| Reply::parse(l).expect("prefixed").expect("valid"))
            .collect();
        (code, replies, String::from_utf8(err).unwrap())
    }

    #[test]
    fn commands_and_replies_survive_their_lines() {
        for c in [Command::Run(1), Command::Run(u64::MAX), Command::Next] {
            assert_eq!(Command::parse(&c.to_line()), Ok(c));
        }
        for r in [
            Reply::Hello(1),
            Reply::Bench("sort 1000/with\\odd\nname".into()),
            Reply::Time(12345),
            Reply::Error("x".into()),
            Reply::Done,
        ] {
            assert_eq!(Reply::parse(&r.to_line()), Some(Ok(r)));
        }
        assert_eq!(Reply::parse("hello from a benchmark"), None);
        assert!(Reply::parse("@perfhub time soon").unwrap().is_err());
        assert!(Command::parse("run 0").unwrap_err().contains("above 0"));
        assert!(
            Command::parse("go")
                .unwrap_err()
                .contains("`run N` or `next`")
        );
    }

    #[test]
    fn a_session_offers_each_benchmark_and_times_the_batches_asked() {
        let (code, replies, err) = session(
            &["--perfhub-paired"],
            "run 3\nrun 1000\nbogus\nnext\nrun 2\nnext\n",
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(replies[0], Reply::Hello(1));
        assert_eq!(replies[1], Reply::Bench("count".into()));
        assert!(matches!(replies[2], Reply::Time(_)));
        assert!(matches!(replies[3], Reply::Time(_)));
        assert!(matches!(&replies[4], Reply::Error(e) if e.contains("bogus")));
        assert_eq!(replies[5], Reply::Bench("other".into()));
        assert!(matches!(replies[6], Reply::Time(_)));
        assert_eq!(replies[7], Reply::Done);
        assert_eq!(replies.len(), 8);
    }

    #[test]
    fn a_listing_names_the_selected_benchmarks_and_end_of_input_skips_the_rest() {
        let (code, replies, _) = session(&["--perfhub-paired", "--list", "oth"], "");
        assert_eq!(code, 0);
        assert_eq!(
            replies,
            [Reply::Hello(1), Reply::Bench("other".into()), Reply::Done]
        );
        let (code, replies, _) = session(&["--perfhub-paired"], "run 1\n");
        assert_eq!(code, 0);
        // The controller went away after the first batch: nothing more is
        // offered, and nothing is written to a pipe nobody reads.
        assert_eq!(replies.len(), 3, "{replies:?}");
        assert!(matches!(replies[2], Reply::Time(_)));
    }

    #[test]
    fn settings_that_cannot_run_are_refused_before_the_session() {
        let (code, replies, err) = session(&["--perfhub-paired", "--samples", "1"], "");
        assert_eq!(code, 2);
        assert!(replies.is_empty());
        assert!(err.contains("at least 2"), "{err}");
    }
}

#[test]
fn batches_sized_from_a_cold_iteration_are_said_to_be() {
    // No warm-up, and the one cold iteration took 50 times the median.
    let note = cold_estimate(true, 50e-6, 1e-6).expect("a warning");
    assert_eq!(note.code, "no_warm_up");
    assert!(note.message.contains("50x the median"), "{}", note.message);
    // With a warm-up, or an estimate close to the median: nothing to say.
    assert!(cold_estimate(false, 50e-6, 1e-6).is_none());
    assert!(cold_estimate(true, 1.5e-6, 1e-6).is_none());
}
