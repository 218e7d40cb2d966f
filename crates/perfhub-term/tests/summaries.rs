//! The summaries, written into a buffer.

use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::report::{Note, metric};
use perfhub_core::{Benchmark, Measurement, Report, ReportKind, Unit};
use perfhub_run::export::{SortOrder, TimeUnit};
use perfhub_term::{RunView, write_changes, write_load, write_run};

fn run_report(times: &[(&str, f64)]) -> Report {
    let mut report = Report::new(ReportKind::Run, "2026-12-05T12:00:00Z".parse().unwrap());
    for (name, t) in times {
        let mut b = Benchmark::new(*name, metric::WALL_TIME);
        let samples = (0..10).map(|i| t * (1.0 + i as f64 / 1000.0)).collect();
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            samples,
        ));
        report.benchmarks.push(b);
    }
    report
}

fn text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_run_in_the_unit_asked_without_color() {
    let mut report = run_report(&[("fast", 0.010), ("slow", 0.020)]);
    report.benchmarks[1].notes.push(Note::warning("x", "noisy"));
    let view = RunView {
        color: false,
        time_unit: Some(TimeUnit::Millisecond),
        sort: SortOrder::default(),
    };
    let out = text(|o| write_run(o, &report, &view));
    assert!(
        out.starts_with("Benchmark 1: fast\n  Time (mean ± σ):   10."),
        "{out}"
    );
    assert!(out.contains("Benchmark 2: slow\n"), "{out}");
    assert!(out.contains("10 runs"), "{out}");
    assert!(out.contains("  warning: noisy\n"), "{out}");
    assert!(!out.contains('\x1b'), "{out}");
    let colored = text(|o| {
        write_run(
            o,
            &report,
            &RunView {
                color: true,
                ..view
            },
        )
    });
    assert!(
        colored.contains("\x1b[1mBenchmark 1:\x1b[0m fast"),
        "{colored}"
    );
}

#[test]
fn a_benchmark_without_runs_says_so() {
    let mut report = run_report(&[]);
    report
        .benchmarks
        .push(Benchmark::new("never", metric::WALL_TIME));
    let out = text(|o| write_run(o, &report, &RunView::default()));
    assert_eq!(out, "Benchmark 1: never\n  no completed runs\n\n");
}

#[test]
fn a_load_test_with_its_counts() {
    let mut report = Report::new(ReportKind::Load, "2026-12-05T12:00:00Z".parse().unwrap());
    let mut b = Benchmark::new("total", metric::LATENCY);
    for (m, unit, v) in [
        (metric::REQUESTS, Unit::Count, 100.0),
        ("errors", Unit::Count, 2.0),
        (metric::ERROR_RATE, Unit::Ratio, 0.02),
        ("status.200", Unit::Count, 98.0),
    ] {
        b.measurements.push(Measurement::from_value(m, unit, v));
    }
    b.measurements.push(Measurement::from_samples(
        metric::LATENCY,
        Unit::Seconds,
        vec![0.001; 10],
    ));
    report.benchmarks.push(b);
    let out = text(|o| write_load(o, &report, false));
    assert!(
        out.starts_with("total\n  requests 100   errors 2   "),
        "{out}"
    );
    assert!(out.contains("  statuses 200 × 98\n"), "{out}");
    assert!(out.contains("  latency       "), "{out}");
}

#[test]
fn a_comparison_table_with_its_headline() {
    let base = run_report(&[("parse", 0.010)]);
    let head = run_report(&[("parse", 0.020)]);
    let set = compare_reports(&base, &head, &ChangeCriteria::default());
    let report = set.to_report(&head, "2026-12-05T12:00:00Z".parse().unwrap());
    let out = text(|o| write_changes(o, &report, false));
    let mut lines = out.lines();
    assert!(
        lines.next().unwrap().starts_with("benchmark  base "),
        "{out}"
    );
    assert!(lines.next().unwrap().starts_with("parse      "), "{out}");
    assert!(
        out.contains("1 regressed, 0 improved, 0 unchanged"),
        "{out}"
    );

    // A level split over planned looks is shown as it is, not rounded.
    let mut report = report;
    report.comparisons[0].min_effect = Some(0.03);
    report.comparisons[0].ratio_ci = Some(perfhub_core::stats::ConfidenceInterval {
        level: 0.9875,
        lower: 1.9,
        upper: 2.1,
    });
    report.comparisons[0].method = Some("21 paired rounds, Hodges-Lehmann".into());
    let mut other = report.comparisons[0].clone();
    other.benchmark = "other".into();
    other.method = Some("12 paired rounds, Hodges-Lehmann".into());
    report.comparisons.push(other);
    let out = text(|o| write_changes(o, &report, false));
    assert!(out.starts_with("benchmark  base "), "{out}");
    assert!(out.contains("change [98.75% CI]"), "{out}");
    assert!(out.contains("Holm-adjusted p below 0.0125)"), "{out}");
    assert!(
        out.contains("(12 to 21 paired rounds, Hodges-Lehmann)"),
        "{out}"
    );
}

#[test]
fn one_run_has_no_spread_to_show() {
    let mut report = Report::new(ReportKind::Run, "2026-12-05T12:00:00Z".parse().unwrap());
    let mut b = Benchmark::new("once", metric::WALL_TIME);
    b.measurements.push(Measurement::from_samples(
        metric::WALL_TIME,
        Unit::Seconds,
        vec![0.0125],
    ));
    report.benchmarks.push(b);
    let view = RunView {
        color: false,
        time_unit: Some(TimeUnit::Millisecond),
        sort: SortOrder::default(),
    };
    let out = text(|o| write_run(o, &report, &view));
    assert!(
        out.starts_with("Benchmark 1: once\n  Time (abs ≡):        12.5"),
        "{out}"
    );
    assert!(!out.contains('±') && !out.contains("Range"), "{out}");
}
