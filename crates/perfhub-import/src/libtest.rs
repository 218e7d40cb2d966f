//! libtest's `cargo bench` output (nightly `#[bench]`): one line per
//! benchmark,
//!
//! ```text
//! test fib_10       ... bench:         146.05 ns/iter (+/- 1,258.99)
//! test checksum     ... bench:       5,120 ns/iter (+/- 110) = 800 MB/s
//! ```
//!
//! Newer libtest prints two decimals, older prints whole nanoseconds; both
//! group thousands with commas. The figure is the median of libtest's
//! per-iteration samples and the `+/-` is their range (max − min after
//! winsorizing); the samples themselves are not printed, so each benchmark
//! has one value and no samples. Every other line is skipped.

use std::collections::BTreeMap;
use std::path::Path;

use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};

use crate::error::{ImportError, Location};
use crate::{ImportOptions, json, metric};

/// Imports libtest's bench output in the file at `path`.
pub fn import_libtest(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_libtest(&json::read_text(path)?, path, options)
}

/// Imports libtest's bench output; `source` names it in errors and in the
/// report's note. Benchmarks keep libtest's names and order.
pub fn parse_libtest(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let mut report = Report::new(ReportKind::Bench, options.created);
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if !is_bench_line(line) {
            continue;
        }
        let location = Location::line(source, i + 1);
        let parsed = parse_line(line).map_err(|problem| ImportError::Line {
            location: location.clone(),
            problem,
        })?;
        if let Some(&first) = first_line.get(&parsed.name) {
            return Err(ImportError::Duplicate {
                location,
                first: Location::line(source, first),
                name: parsed.name,
            });
        }
        first_line.insert(parsed.name.clone(), i + 1);

        let mut b = Benchmark::new(parsed.name, WALL_TIME);
        let seconds = parsed.ns_per_iter * 1e-9;
        b.measurements
            .push(Measurement::from_value(WALL_TIME, Unit::Seconds, seconds));
        b.measurements.push(Measurement::from_value(
            metric::LIBTEST_RANGE,
            Unit::Seconds,
            parsed.range_ns * 1e-9,
        ));
        if let Some(mb) = parsed.mb_per_s {
            b.measurements.push(Measurement::from_value(
                THROUGHPUT,
                Unit::BytesPerSecond,
                mb * 1e6,
            ));
        }
        report.benchmarks.push(b);
    }
    if report.benchmarks.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "no `test NAME ... bench: N ns/iter (+/- D)` lines; capture the output of `cargo +nightly bench` for libtest's #[bench] benchmarks".into(),
        });
    }
    report.notes.push(Note::info(
        "imported_from_libtest",
        format!(
            "imported from libtest's bench output in {} ({} benchmarks); libtest prints the median time per iteration and the range of its samples, not the samples",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    crate::checked(report, source)
}

/// Whether `line` is a libtest bench result line (well formed or not).
pub(crate) fn is_bench_line(line: &str) -> bool {
    line.starts_with("test ") && line.contains(" ... bench:")
}

#[derive(Debug, PartialEq)]
struct BenchLine {
    name: String,
    ns_per_iter: f64,
    range_ns: f64,
    mb_per_s: Option<f64>,
}

fn parse_line(line: &str) -> Result<BenchLine, String> {
    let (head, tail) = line
        .split_once(" ... bench:")
        .ok_or_else(|| "expected `test NAME ... bench: N ns/iter (+/- D)`".to_string())?;
    // `test ... bench:` has no name, and its "test " overlaps " ... ".
    let name = head.get("test ".len()..).unwrap_or("").trim();
    if name.is_empty() {
        return Err("the benchmark has no name".into());
    }
    let (value, rest) = tail
        .split_once("ns/iter")
        .ok_or_else(|| format!("`{name}`: expected `N ns/iter` after `bench:`"))?;
    let ns_per_iter = number(value).ok_or_else(|| {
        format!(
            "`{name}`: expected a number of nanoseconds before `ns/iter`, found {:?}",
            value.trim()
        )
    })?;
    let rest = rest.trim_start();
    let (range, rest) = rest
        .strip_prefix("(+/-")
        .and_then(|r| r.split_once(')'))
        .ok_or_else(|| format!("`{name}`: expected `(+/- D)` after `ns/iter`"))?;
    let range_ns = number(range).ok_or_else(|| {
        format!(
            "`{name}`: expected a number of nanoseconds after `+/-`, found {:?}",
            range.trim()
        )
    })?;
    for (shown, ns) in [
        (format!("{} ns/iter", json::shown(ns_per_iter)), ns_per_iter),
        (
            format!("the range +/- {} ns", json::shown(range_ns)),
            range_ns,
        ),
    ] {
        if let Some(problem) = json::time_problem(move || shown, ns * 1e-9) {
            return Err(format!("`{name}`: {problem}"));
        }
    }
    let rest = rest.trim();
    let mb_per_s = match rest.strip_prefix('=') {
        None if rest.is_empty() => None,
        None => return Err(format!("`{name}`: unexpected {rest:?} after `(+/- D)`")),
        Some(t) => {
            let t = t.trim();
            let value = t.strip_suffix("MB/s").and_then(number).ok_or_else(|| {
                format!("`{name}`: expected `= N MB/s` after `(+/- D)`, found {rest:?}")
            })?;
            if !(value * 1e6).is_finite() {
                return Err(format!(
                    "`{name}`: {} MB/s is more than any throughput (it overflows in bytes per second); {}",
                    json::shown(value),
                    json::DAMAGED
                ));
            }
            Some(value)
        }
    };
    Ok(BenchLine {
        name: name.to_string(),
        ns_per_iter,
        range_ns,
        mb_per_s,
    })
}

/// A number with thousands grouped by commas: `1,234.56`, `923,530`, `0`.
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'.')
    {
        return None;
    }
    s.replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_the_throughput() {
        let l = parse_line("test fib_10       ... bench:         146.05 ns/iter (+/- 1,258.99)")
            .unwrap();
        assert_eq!(l.name, "fib_10");
        assert_eq!(l.ns_per_iter, 146.05);
        assert_eq!(l.range_ns, 1258.99);
        assert_eq!(l.mb_per_s, None);
        let l = parse_line("test a::b ... bench:   5,120 ns/iter (+/- 110) = 800 MB/s").unwrap();
        assert_eq!(l.name, "a::b");
        assert_eq!(l.ns_per_iter, 5120.0);
        assert_eq!(l.mb_per_s, Some(800.0));
    }

    #[test]
    fn refuses_malformed_lines_with_the_reason() {
        for (line, expected) in [
            ("test x ... bench: fast ns/iter (+/- 1)", "before `ns/iter`"),
            ("test x ... bench: 12 ms/iter (+/- 1)", "`N ns/iter`"),
            ("test x ... bench: 12 ns/iter", "`(+/- D)`"),
            ("test x ... bench: 12 ns/iter (+/- lots)", "after `+/-`"),
            (
                "test x ... bench: 12 ns/iter (+/- 1) = many MB/s",
                "`= N MB/s`",
            ),
            ("test x ... bench: 12 ns/iter (+/- 1) junk", "unexpected"),
            ("test  ... bench: 12 ns/iter (+/- 1)", "no name"),
            // Found by the fuzz target `libtest`: sliced past its end.
            ("test ... bench: 12 ns/iter (+/- 1)", "no name"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(expected), "{line}: {err}");
        }
    }
}
