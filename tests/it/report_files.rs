//! Report files as commands read and write them: the size perfhub reads,
//! `perfhub load merge` on reports of many benchmarks, and where `perfhub
//! export` writes.

use std::path::Path;

use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Measurement, Report, ReportKind, metric};
use perfhub_core::units::Unit;

use crate::support::{perfhub, perfhub_peak_rss, stderr};

const MIB: u64 = 1 << 20;

/// A load test's report of `benchmarks` endpoints, each with latency and
/// service time histograms from 1 µs to `max_nanos` and `requests` requests.
fn load_report(benchmarks: usize, max_nanos: u64, requests: u64) -> Report {
    let mut h = LatencyHistogram::new();
    let mut v = 1_000;
    while v < max_nanos {
        h.record_n(v, requests);
        v = v.saturating_mul(3);
    }
    h.record_nanos(max_nanos);
    let latency = h.to_measurement(metric::LATENCY);
    let service = h.to_measurement("service_time");
    let mut r = Report::new(ReportKind::Load, "2026-01-01T00:00:00Z".parse().unwrap());
    for i in 0..benchmarks {
        let mut b = Benchmark::new(format!("GET /endpoint/{i}"), metric::LATENCY);
        b.measurements.push(latency.clone());
        b.measurements.push(service.clone());
        b.measurements.push(Measurement::from_value(
            "requests",
            Unit::Count,
            h.len() as f64,
        ));
        b.measurements
            .push(Measurement::from_value("errors", Unit::Count, 1.0));
        r.benchmarks.push(b);
    }
    r
}

fn write_report(path: &Path, r: &Report) {
    std::fs::write(path, r.to_json()).unwrap();
}

#[test]
fn refuses_an_oversized_report_before_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    // 300 MiB that take no disk (a sparse file) and no time to make.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 * MIB)
        .unwrap();
    let big = big.to_str().unwrap();
    let out_file = dir.path().join("out.json");
    let out_file = out_file.to_str().unwrap();
    for args in [
        &["load", "merge", big][..],
        &["export", "--to", "bencher", big, "-o", out_file][..],
        &["compare", big, big][..],
    ] {
        let (out, peak) = perfhub_peak_rss(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{big}: 300 MiB, more than the 256 MiB a perfhub report may take"
            )),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(peak < 100 * MIB, "{args:?}: peak RSS {} MiB", peak / MIB);
    }
}

#[test]
fn a_damaged_report_is_refused_with_the_parser_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1, oops}").unwrap();
    let bad = bad.to_str().unwrap();
    for args in [
        &["load", "merge", bad][..],
        &["export", "--to", "bencher", bad, "-o", "unused.json"][..],
    ] {
        let out = perfhub(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{bad}: invalid report JSON: ")),
            "{err}"
        );
        assert_eq!(err.matches("line 1 column").count(), 1, "{err}");
    }
}

#[test]
fn load_merge_holds_no_decoded_histogram_per_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let day = 86_400 * 1_000_000_000;
    // The peak of merging one benchmark twice: the program itself.
    let one = dir.path().join("one.json");
    write_report(&one, &load_report(1, day, 2));
    let one = one.to_str().unwrap();
    let (out, baseline) = perfhub_peak_rss(&["load", "merge", one, one]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Histograms reaching a day take about 300 KiB each once decoded, but
    // a few hundred bytes in the report.
    const BENCHMARKS: usize = 40;
    let r = load_report(BENCHMARKS, day, 2);
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    write_report(&a, &r);
    write_report(&b, &r);
    let report_size = std::fs::metadata(&a).unwrap().len();
    let merged = dir.path().join("merged.json");
    let (out, peak) = perfhub_peak_rss(&[
        "load",
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--export-json",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A quarter of what two decoded histograms per benchmark take.
    let decoded = BENCHMARKS as u64 * 2 * 300 * 1024;
    assert!(
        peak.saturating_sub(baseline) < decoded / 4,
        "peak RSS {} MiB ({} MiB for one benchmark) for reports of {} KiB",
        peak / MIB,
        baseline / MIB,
        report_size >> 10
    );

    let merged = Report::from_json(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    assert_eq!(merged.benchmarks.len(), BENCHMARKS);
    let mut whole = LatencyHistogram::from_measurement(&r.benchmarks[0].measurements[0]).unwrap();
    whole.merge(&whole.clone()).unwrap();
    for b in [&merged.benchmarks[0], &merged.benchmarks[BENCHMARKS - 1]] {
        let h =
            LatencyHistogram::from_measurement(b.measurement(metric::LATENCY).unwrap()).unwrap();
        assert_eq!(h, whole, "{}", b.name);
        assert_eq!(
            b.measurement("requests").unwrap().value,
            Some(whole.len() as f64)
        );
    }
}

/// Every `--to` destination that writes files, with the output `-o` names.
const FILE_DESTINATIONS: [&str; 8] = [
    "bencher",
    "github-action-benchmark",
    "prometheus",
    "openmetrics",
    "ical",
    "taskwarrior",
    "todotxt",
    "review",
];
const DIR_DESTINATIONS: [&str; 3] = ["textfile", "datapackage", "rocrate"];

#[test]
fn exports_create_missing_directories_and_say_why_once_when_they_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    write_report(&report, &load_report(2, 5_000_000, 10));
    let report = report.to_str().unwrap();
    let export = |to: &str, output: &Path| {
        perfhub(&["export", "--to", to, report, "-o", output.to_str().unwrap()])
    };
    for to in FILE_DESTINATIONS {
        let path = dir.path().join(to).join("missing/sub/out");
        let out = export(to, &path);
        assert_eq!(out.status.code(), Some(0), "{to}: {}", stderr(&out));
        assert!(path.is_file(), "{to}: nothing at {}", path.display());
    }
    for to in DIR_DESTINATIONS {
        let path = dir.path().join(to).join("missing/sub");
        let out = export(to, &path);
        assert_eq!(out.status.code(), Some(0), "{to}: {}", stderr(&out));
        assert!(
            std::fs::read_dir(&path).unwrap().next().is_some(),
            "{to}: nothing in {}",
            path.display()
        );
    }
    let textfile = dir.path().join("textfile/missing/sub/perfhub.prom");
    assert!(textfile.is_file(), "{}", textfile.display());

    // A directory that cannot be made (a file is in the way), and a file
    // that cannot be written (a directory is in its place): the error,
    // with the system's reason once.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    for to in FILE_DESTINATIONS.iter().chain(&DIR_DESTINATIONS) {
        let out = export(to, &blocker.join("sub/out"));
        assert_eq!(out.status.code(), Some(1), "{to}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "cannot create the directory {}",
                blocker
                    .join(if DIR_DESTINATIONS.contains(to) {
                        "sub/out"
                    } else {
                        "sub"
                    })
                    .display()
            )),
            "{to}: {err}"
        );
        assert_eq!(err.matches("os error").count(), 1, "{to}: {err}");
        assert_eq!(err.lines().count(), 1, "{to}: {err}");
    }
    let taken = dir.path().join("taken");
    std::fs::create_dir_all(taken.join("perfhub.prom")).unwrap();
    std::fs::create_dir_all(taken.join("out.json")).unwrap();
    for (to, output) in [
        ("textfile", taken.clone()),
        ("bencher", taken.join("out.json")),
    ] {
        let out = export(to, &output);
        assert_eq!(out.status.code(), Some(1), "{to}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot write "), "{to}: {err}");
        assert_eq!(err.matches("os error").count(), 1, "{to}: {err}");
    }
}
