//! perfhub-core: reports, histograms and their interval log, budgets and
//! durations.

use std::path::Path;
use std::time::Duration;

use perfhub_core::budget::{Budget, Threshold};
use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::histogram::{
    IntervalEntry, LatencyHistogram, MAX_COUNT, parse_interval_log, write_interval_log,
};
use perfhub_core::report::metric::WALL_TIME;
use perfhub_core::units::parse_duration;
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};

use super::{json_or_bytes, round_trip_report, text, text_bombs};
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "report",
            group: "core",
            check: check_report,
            seeds: report_seeds,
            mutate: mutate_report,
            generate: generate_report,
            bombs: text_bombs,
            suite_cases: 300,
        },
        Target {
            name: "histogram",
            group: "core",
            check: check_histogram,
            seeds: histogram_seeds,
            mutate: mutate_histogram,
            generate: generate_histogram,
            bombs: histogram_bombs,
            suite_cases: 400,
        },
        Target {
            name: "interval-log",
            group: "core",
            check: check_interval_log,
            seeds: interval_log_seeds,
            mutate: mutate_interval_log,
            generate: generate_interval_log,
            bombs: no_bombs,
            suite_cases: 300,
        },
        Target {
            name: "budget",
            group: "core",
            check: check_budget,
            seeds: budget_seeds,
            mutate: mutate_budget,
            generate: generate_budget,
            bombs: no_bombs,
            suite_cases: 600,
        },
        Target {
            name: "duration",
            group: "core",
            check: check_duration,
            seeds: duration_seeds,
            mutate: mutate_duration,
            generate: generate_duration,
            bombs: no_bombs,
            suite_cases: 600,
        },
    ]
}

fn no_bombs() -> Vec<(&'static str, Vec<u8>)> {
    Vec::new()
}

// Reports.

fn check_report(input: &[u8]) -> Result<Outcome, String> {
    let report = match Report::from_json(&text(input)) {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    round_trip_report(&report)?;
    // What `compare` and `budgets` do with a report they read: refuse its
    // impossible values, or use them without a panic.
    if report.check_values().is_ok() {
        let criteria = ChangeCriteria {
            resamples: 50,
            ..ChangeCriteria::default()
        };
        let _ = compare_reports(&report, &report, &criteria);
        for b in [
            "mean < 1s",
            "p99 < 200ms",
            "max <= 1e9",
            "wall_time.median > 0ns",
        ] {
            if let Ok(budget) = Budget::parse(b)
                && let Ok(verdicts) = budget.evaluate(&report)
                && let Some(v) = verdicts.iter().find(|v| !v.actual.is_finite())
            {
                return Err(format!(
                    "budget `{b}` on a report of valid values gives a non-finite actual value {} for `{}`",
                    v.actual, v.benchmark
                ));
            }
        }
    }
    for b in &report.benchmarks {
        for m in &b.measurements {
            if m.histogram.is_some() {
                let _ = LatencyHistogram::from_measurement(m);
            }
        }
    }
    Ok(Outcome::Accepted)
}

fn seed_report() -> Report {
    let mut r = Report::new(ReportKind::Bench, "2026-01-02T03:04:05Z".parse().unwrap());
    let mut b = Benchmark::new("fib", WALL_TIME);
    b.measurements.push(Measurement::from_samples(
        WALL_TIME,
        Unit::Seconds,
        vec![1e-6, 2e-6, 1.5e-6],
    ));
    b.measurements
        .push(Measurement::from_value("rss", Unit::Bytes, 1024.0));
    let h: LatencyHistogram = [1u64, 5, 900, 1_000_000]
        .into_iter()
        .map(Duration::from_micros)
        .collect();
    b.measurements.push(h.to_measurement("latency"));
    r.benchmarks.push(b);
    r.notes.push(Note::warning("fuzz", "a note"));
    if let Ok(budget) = Budget::parse("mean < 1ms")
        && let Ok(v) = budget.evaluate(&r)
    {
        r.budgets = v;
    }
    r
}

fn report_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = vec![seed_report().to_json().into_bytes()];
    // Reports as the importers make them.
    let options = perfhub_import::ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap());
    for (format, file) in [
        (
            perfhub_import::Format::Hyperfine,
            "fixtures/hyperfine/export-1.15.json",
        ),
        (
            perfhub_import::Format::CargoCriterion,
            "fixtures/criterion/cargo-criterion-1.1.0.jsonl",
        ),
        (
            perfhub_import::Format::Libtest,
            "fixtures/criterion/libtest/nightly-2026-05-19.txt",
        ),
    ] {
        if let Ok(r) = perfhub_import::import(&root.join(file), format, None, &options) {
            seeds.push(r.to_json().into_bytes());
        }
    }
    seeds
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "null",
    "-1",
    "1e308",
    "\"schema_version\":",
];

fn mutate_report(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    json_or_bytes(input, other, JSON_TOKENS, rng)
}

fn generate_report(rng: &mut Rng) -> Vec<u8> {
    let mut r = seed_report();
    let units = Unit::ALL;
    for i in 0..rng.small(4) {
        let mut b = Benchmark::new(format!("b{i}"), WALL_TIME);
        let samples: Vec<f64> = (0..rng.small(20))
            .map(|_| rng.pick(mutate::NUMBERS).parse().unwrap_or(1e-3))
            .collect();
        b.measurements.push(Measurement::from_samples(
            WALL_TIME,
            *rng.pick(&units),
            samples,
        ));
        r.benchmarks.push(b);
    }
    r.to_json().into_bytes()
}

// Histograms.

fn check_histogram(input: &[u8]) -> Result<Outcome, String> {
    let h = match LatencyHistogram::from_v2_compressed(input) {
        Ok(h) => h,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    if h.len() > MAX_COUNT {
        return Err(format!("accepted with a count of {} past the cap", h.len()));
    }
    if !h.is_empty() && (h.min_nanos() > h.max_nanos() || !h.mean_nanos().is_finite()) {
        return Err("accepted with a minimum above the maximum or a non-finite mean".into());
    }
    let back = LatencyHistogram::from_v2_compressed(&h.to_v2_compressed())
        .map_err(|e| format!("the histogram written does not read back: {e}"))?;
    if back != h {
        return Err("the histogram written reads back different".into());
    }
    let m = h.to_measurement("latency");
    if let Err(e) = m.check_values() {
        return Err(format!(
            "the histogram's measurement holds an impossible value: {e}"
        ));
    }
    Ok(Outcome::Accepted)
}

fn some_histogram(rng: &mut Rng) -> LatencyHistogram {
    let mut h = LatencyHistogram::new();
    for _ in 0..rng.small(50) {
        let v = match rng.below(4) {
            0 => rng.u64(),
            1 => rng.below(1000) as u64,
            _ => rng.below(1 << 30) as u64,
        };
        h.record_n(v, 1 + rng.small(1000) as u64);
    }
    h
}

fn histogram_seeds(_root: &Path) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(7);
    let mut seeds: Vec<Vec<u8>> = (0..4)
        .map(|_| some_histogram(&mut rng).to_v2_compressed())
        .collect();
    seeds.push(LatencyHistogram::new().to_v2_compressed());
    seeds.push(uncompressed(&some_histogram(&mut rng)));
    seeds
}

/// The V2 encoding without its deflate layer.
fn uncompressed(h: &LatencyHistogram) -> Vec<u8> {
    let c = h.to_v2_compressed();
    let mut out = Vec::new();
    if c.len() > 8 {
        let _ = std::io::Read::read_to_end(
            &mut std::io::Read::take(flate2::read::ZlibDecoder::new(&c[8..]), 1 << 20),
            &mut out,
        );
    }
    out
}

fn compressed(v2: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = z.write_all(v2);
    let body = z.finish().unwrap_or_default();
    let mut out = 0x1c84_9314u32.to_be_bytes().to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn mutate_histogram(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    // Change the V2 header and counts under the compression as often as
    // the bytes as they are.
    if input.len() > 8 && input[..4] == 0x1c84_9314u32.to_be_bytes() && rng.chance(0.6) {
        let mut raw = Vec::new();
        let _ = std::io::Read::read_to_end(
            &mut std::io::Read::take(flate2::read::ZlibDecoder::new(&input[8..]), 1 << 20),
            &mut raw,
        );
        if raw.len() >= 40 {
            let mut v = raw;
            match rng.below(3) {
                0 => {
                    // A header field: payload length, offset, sigfig, lowest,
                    // highest, conversion ratio.
                    let at = *rng.pick(&[4usize, 8, 12, 16, 24, 32]);
                    let width = if at < 16 { 4 } else { 8 };
                    for i in 0..width {
                        v[at + i] = if rng.chance(0.5) {
                            0xff
                        } else {
                            rng.u64() as u8
                        };
                    }
                    if rng.chance(0.3) {
                        v[at..at + width].fill(0);
                    }
                }
                _ => v = mutate::bytes(&v, other, &[], rng),
            }
            return compressed(&v);
        }
    }
    mutate::bytes(input, other, &[], rng)
}

fn generate_histogram(rng: &mut Rng) -> Vec<u8> {
    // A V2 header with any field values and a few counts.
    let mut v = 0x1c84_9313u32.to_be_bytes().to_vec();
    let counts: Vec<u8> = (0..rng.small(40)).map(|_| rng.u64() as u8).collect();
    v.extend_from_slice(&(counts.len() as u32).to_be_bytes());
    v.extend_from_slice(&(rng.below(3) as u32).to_be_bytes());
    v.extend_from_slice(&(rng.below(7) as u32).to_be_bytes());
    let lowest = *rng.pick(&[1u64, 0, 2, 1000, u64::MAX, 1 << 62]);
    let highest = *rng.pick(&[2u64, u64::MAX, i64::MAX as u64, 1 << 40, 0, 3]);
    v.extend_from_slice(&lowest.to_be_bytes());
    v.extend_from_slice(&highest.to_be_bytes());
    v.extend_from_slice(&1.0f64.to_be_bytes());
    v.extend_from_slice(&counts);
    if rng.chance(0.6) { compressed(&v) } else { v }
}

fn histogram_bombs() -> Vec<(&'static str, Vec<u8>)> {
    // A header claiming the widest range at 5 digits: a counts array of
    // millions of entries if the decoder believed it.
    let mut v = 0x1c84_9313u32.to_be_bytes().to_vec();
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(&5u32.to_be_bytes());
    v.extend_from_slice(&1u64.to_be_bytes());
    v.extend_from_slice(&u64::MAX.to_be_bytes());
    v.extend_from_slice(&1.0f64.to_be_bytes());
    let mut zeros = 0x1c84_9313u32.to_be_bytes().to_vec();
    zeros.extend_from_slice(&[0; 36]);
    zeros.resize(200 << 20, 0);
    vec![
        ("a V2 header claiming 1..2^64 at 5 digits", compressed(&v)),
        ("200 MiB of V2 compressed zeros", compressed(&zeros)),
    ]
}

// Interval logs.

fn check_interval_log(input: &[u8]) -> Result<Outcome, String> {
    let log = match parse_interval_log(input) {
        Ok(l) => l,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    if let Some(t) = log.start_time
        && !(t.is_finite() && t >= 0.0)
    {
        return Err(format!("accepted with a start time of {t}"));
    }
    let mut out = Vec::new();
    match write_interval_log(&mut out, &log.entries, log.start_time) {
        Ok(()) => {
            let back = parse_interval_log(&out)
                .map_err(|e| format!("the interval log written does not read back: {e}"))?;
            if back.entries.len() != log.entries.len()
                || back
                    .entries
                    .iter()
                    .zip(&log.entries)
                    .any(|(a, b)| a.histogram != b.histogram || a.tag != b.tag)
            {
                return Err("the interval log written reads back different".into());
            }
        }
        // Times past what the writer can date are refused by it, not lost.
        Err(e) => return Ok(Outcome::Refused(format!("accepted, not writable: {e}"))),
    }
    Ok(Outcome::Accepted)
}

fn interval_log(rng: &mut Rng, start: Option<f64>) -> Vec<u8> {
    let entries: Vec<IntervalEntry> = (0..1 + rng.small(4))
        .map(|i| IntervalEntry {
            tag: rng.chance(0.3).then(|| format!("t{i}")),
            start_offset: Duration::from_millis(rng.below(100_000) as u64),
            duration: Duration::from_millis(rng.below(10_000) as u64),
            histogram: some_histogram(rng),
        })
        .collect();
    let mut out = Vec::new();
    let _ = write_interval_log(&mut out, &entries, start);
    out
}

fn interval_log_seeds(_root: &Path) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(11);
    vec![
        interval_log(&mut rng, Some(1_700_000_000.0)),
        interval_log(&mut rng, None),
        b"#[StartTime: 1700000000.000 (seconds since epoch)]\n#[BaseTime: 1700000000.000 (seconds since epoch)]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n".to_vec(),
    ]
}

const LOG_TOKENS: &[&str] = &[
    "#[StartTime: ",
    "#[BaseTime: ",
    "Tag=",
    ",",
    "\n",
    "1e308",
    "-1",
    "0.000",
    " (seconds since epoch)]",
];

fn mutate_interval_log(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    // Now and then swap a histogram's base64 for a mutated histogram's.
    if rng.chance(0.3) {
        let text = String::from_utf8_lossy(input).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        if let Some(i) = (0..lines.len()).find(|&i| lines[i].contains("HISTF")) {
            let fields: Vec<&str> = lines[i].rsplitn(2, ',').collect();
            if fields.len() == 2 {
                use base64::Engine as _;
                let e = base64::engine::general_purpose::STANDARD;
                let bytes = e.decode(fields[0]).unwrap_or_default();
                let new = e.encode(mutate_histogram(&bytes, &[], rng));
                let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                out[i] = format!("{},{new}", fields[1]);
                return out.join("\n").into_bytes();
            }
        }
    }
    mutate::bytes(input, other, LOG_TOKENS, rng)
}

fn generate_interval_log(rng: &mut Rng) -> Vec<u8> {
    let start = if rng.chance(0.5) {
        Some(*rng.pick(&[0.0, 1.5, 1_700_000_000.0, 1e12]))
    } else {
        None
    };
    interval_log(rng, start)
}

// Budgets.

fn check_budget(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let budget = match Budget::parse(&text) {
        Ok(b) => b,
        Err(e) => {
            let span = e.span();
            if span.start > span.end || span.end > e.input().len() {
                return Err(format!(
                    "refused with a span {span:?} outside the input of {} bytes",
                    e.input().len()
                ));
            }
            let _ = e.caret_line();
            return Ok(Outcome::Refused(e.to_string()));
        }
    };
    let value = match budget.threshold() {
        Threshold::Quantity(q) => q.value,
        Threshold::Unitless(v) => v,
    };
    if !value.is_finite() {
        return Err(format!("accepted with a limit of {value}"));
    }
    if let Threshold::Quantity(q) = budget.threshold()
        && q.value < 0.0
    {
        return Err(format!("accepted with a negative limit: {q}"));
    }
    if let Some(perfhub_core::budget::Statistic::Percentile(p)) = budget.statistic()
        && !(0.0..=100.0).contains(&p)
    {
        return Err(format!("accepted with percentile {p}"));
    }
    let reparsed = Budget::parse(budget.source())
        .map_err(|e| format!("its own source does not parse: {e}"))?;
    if reparsed.threshold() != budget.threshold() {
        return Err("its own source parses to another limit".into());
    }
    // Evaluate it on a report with a measurement of every unit.
    let mut r = Report::new(ReportKind::Bench, "2026-01-02T03:04:05Z".parse().unwrap());
    let metric = budget.metric().unwrap_or(WALL_TIME).to_string();
    for (i, unit) in [
        Unit::Seconds,
        Unit::Bytes,
        Unit::Ratio,
        Unit::PerSecond,
        Unit::Count,
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = Benchmark::new(format!("b{i}"), metric.clone());
        b.measurements.push(Measurement::from_samples(
            metric.clone(),
            unit,
            vec![0.001, 0.002, 0.0015],
        ));
        r.benchmarks.push(b);
    }
    if let Ok(verdicts) = budget.evaluate(&r)
        && let Some(v) = verdicts
            .iter()
            .find(|v| !v.actual.is_finite() || !v.threshold.is_finite())
    {
        return Err(format!(
            "evaluated to a non-finite figure: actual {} against {}",
            v.actual, v.threshold
        ));
    }
    Ok(Outcome::Accepted)
}

fn budget_seeds(_root: &Path) -> Vec<Vec<u8>> {
    [
        "p95 < 200ms",
        "p(99)<300",
        "mean < 1.5s",
        "error_rate < 0.1%",
        "latency_p95 < 200ms",
        "wall_time.median <= 10us",
        "throughput > 1000/s",
        "rss < 512MiB",
        "memory_efficiency > 85%",
        "cpu_utilization < 70%",
        "max <= 2",
        "mean < -5ms",
        "mean < 1e-400s",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

const BUDGET_TOKENS: &[&str] = &[
    "<", "<=", ">", ">=", "p", "p(", ")", ".", "%", "ms", "s", "us", "ns", "MiB", "GB", "/s",
    "mean", "median", "stddev", "mad", "min", "max", "e", "-", " ",
];

fn mutate_budget(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate::bytes(input, other, BUDGET_TOKENS, rng)
}

fn generate_budget(rng: &mut Rng) -> Vec<u8> {
    let metric = rng.pick(&["", "wall_time.", "latency.", "error_rate", "rss.", "x."]);
    let stat = rng.pick(&[
        "mean", "p95", "p(99.9)", "p100", "p0", "p101", "median", "max", "stddev", "", "p-1",
    ]);
    let op = rng.pick(&["<", "<=", ">", ">=", "=", "<<"]);
    let value = rng.pick(mutate::NUMBERS);
    let unit = rng.pick(&[
        "", "ms", "s", "us", "ns", "%", "MiB", "B", "/s", "KB/s", "h", "x",
    ]);
    let space = rng.pick(&["", " ", "  "]);
    format!("{metric}{stat}{space}{op}{space}{value}{unit}").into_bytes()
}

// Durations.

fn check_duration(input: &[u8]) -> Result<Outcome, String> {
    match parse_duration(&text(input)) {
        Ok(d) => {
            if d > perfhub_core::units::MAX_DURATION {
                return Err(format!(
                    "accepted as {d:?}, past the cap of {:?}",
                    perfhub_core::units::MAX_DURATION
                ));
            }
            Ok(Outcome::Accepted)
        }
        Err(e) => Ok(Outcome::Refused(e)),
    }
}

fn duration_seeds(_root: &Path) -> Vec<Vec<u8>> {
    [
        "3s",
        "500ms",
        "1.5m",
        "250us",
        "2h",
        "10",
        "9223372036854775807s",
        "9999999999h",
        "0.000000001ns",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

const DURATION_TOKENS: &[&str] = &[
    "s", "ms", "us", "µs", "ns", "m", "min", "h", ".", "e", "-", " ",
];

fn mutate_duration(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate::bytes(input, other, DURATION_TOKENS, rng)
}

fn generate_duration(rng: &mut Rng) -> Vec<u8> {
    let value = rng.pick(mutate::NUMBERS);
    let unit = rng.pick(&[
        "", "s", "ms", "us", "µs", "ns", "m", "min", "h", "d", " s", "S", "sec",
    ]);
    format!("{value}{unit}").into_bytes()
}
