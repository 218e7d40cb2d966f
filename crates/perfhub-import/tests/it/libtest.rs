use std::path::Path;

use perfhub_core::Unit;
use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_import::{ImportError, import_libtest, metric, parse_libtest};

use crate::{assert_close, assert_message, fixture, options};

#[test]
fn real_nightly_output_with_decimals_imports() {
    let report = import_libtest(
        &fixture("criterion/libtest/nightly-2026-05-19.txt"),
        &options(),
    )
    .unwrap();
    let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["fib_10", "fib_25", "nested::noop", "sum_1000"]);
    // `test fib_25       ... bench:     923,530.30 ns/iter (+/- 900,225.11)`
    let fib = report.benchmark("fib_25").unwrap();
    assert_eq!(fib.primary_metric, WALL_TIME);
    let wall = fib.primary().unwrap();
    assert_eq!(wall.unit, Unit::Seconds);
    assert!(wall.samples.is_empty());
    assert_close(wall.value.unwrap(), 923_530.30e-9);
    assert_close(
        fib.measurement(metric::LIBTEST_RANGE)
            .unwrap()
            .value
            .unwrap(),
        900_225.11e-9,
    );
    assert_close(
        report
            .benchmark("nested::noop")
            .unwrap()
            .primary()
            .unwrap()
            .value
            .unwrap(),
        0.55e-9,
    );
    assert_eq!(report.notes[0].code, "imported_from_libtest");
}

#[test]
fn the_older_integer_form_imports_with_its_throughput() {
    let report = import_libtest(
        &fixture("criterion/libtest/handwritten-integer-form.txt"),
        &options(),
    )
    .unwrap();
    assert_eq!(report.benchmarks.len(), 5);
    let fib = report.benchmark("fib_25").unwrap();
    assert_close(fib.primary().unwrap().value.unwrap(), 923_530e-9);
    assert_close(
        fib.measurement(metric::LIBTEST_RANGE)
            .unwrap()
            .value
            .unwrap(),
        90_022e-9,
    );
    let checksum = report.benchmark("checksum").unwrap();
    let thrpt = checksum.measurement(THROUGHPUT).unwrap();
    assert_eq!(thrpt.unit, Unit::BytesPerSecond);
    assert_close(thrpt.value.unwrap(), 800e6);
    assert_eq!(
        report
            .benchmark("nested::noop")
            .unwrap()
            .primary()
            .unwrap()
            .value,
        Some(0.0)
    );
}

#[test]
fn errors_name_the_line() {
    let text = "running 2 tests\ntest a ... bench: 10 ns/iter (+/- 1)\ntest b ... bench: ten ns/iter (+/- 1)\n";
    let err = parse_libtest(text, Path::new("bench.txt"), &options()).unwrap_err();
    assert!(matches!(err, ImportError::Line { .. }));
    assert_message(
        &err,
        &["bench.txt:3: `b`: expected a number of nanoseconds before `ns/iter`, found \"ten\""],
    );

    let text = "test a ... bench: 10 ns/iter (+/- 1)\ntest a ... bench: 11 ns/iter (+/- 1)\n";
    let err = parse_libtest(text, Path::new("bench.txt"), &options()).unwrap_err();
    assert_message(
        &err,
        &["bench.txt:2: benchmark `a` appears twice (first at bench.txt:1)"],
    );

    let err = parse_libtest(
        "running 1 test\ntest t ... ok\n",
        Path::new("bench.txt"),
        &options(),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::NoResults { .. }));
    assert_message(
        &err,
        &["bench.txt: no benchmark results: no `test NAME ... bench:"],
    );
}

#[test]
fn figures_beyond_any_measurement_are_refused() {
    let huge = format!("1{}", "0".repeat(300));
    let cases = [
        (
            format!("test a ... bench: {huge} ns/iter (+/- 1)"),
            "bench.txt:1: `a`: 1e300 ns/iter is longer than any measurement (at most 4611686018 s, about 146 years); the file is damaged or was edited: run the benchmarks again",
        ),
        (
            "test a ... bench: 5,000,000,000,000,000,000 ns/iter (+/- 1)".to_string(),
            "bench.txt:1: `a`: 5e18 ns/iter is longer than any measurement",
        ),
        (
            format!("test a ... bench: 10 ns/iter (+/- {huge})"),
            "bench.txt:1: `a`: the range +/- 1e300 ns is longer than any measurement",
        ),
        (
            format!("test a ... bench: 10 ns/iter (+/- 1) = {huge}00000 MB/s"),
            "bench.txt:1: `a`: 1e305 MB/s is more than any throughput (it overflows in bytes per second)",
        ),
    ];
    for (text, expected) in cases {
        let err = parse_libtest(&text, Path::new("bench.txt"), &options()).unwrap_err();
        assert!(matches!(err, ImportError::Line { .. }), "{err:?}");
        assert_message(&err, &[expected]);
    }
}
