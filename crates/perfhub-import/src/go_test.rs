//! Go's `go test -bench` text output (read from Go 1.19; the line format is
//! the one `golang.org/x/perf/benchfmt` documents, unchanged since Go 1.0
//! apart from the `cpu:` line of 1.16):
//!
//! ```text
//! goos: linux
//! goarch: amd64
//! pkg: example.com/sorting
//! cpu: AMD EPYC
//! BenchmarkSort/size=10-2       128270          4798 ns/op         104 B/op          2 allocs/op
//! BenchmarkJoin-2                88756          8731 ns/op      49.13 MB/s            64.00 parts/op
//! PASS
//! ok      example.com/sorting 14.232s
//! ```
//!
//! A result line is the benchmark's name, the number of iterations, then
//! pairs of a value and its unit: `ns/op`, `B/op` and `allocs/op`
//! (`-benchmem`), `MB/s` (`b.SetBytes`, megabytes of 10^6 bytes) and the
//! benchmark's own `b.ReportMetric` figures. The name ends in `-N`, the
//! GOMAXPROCS it ran with, unless that was 1. Each `pkg:` line starts a
//! package's results; `-count N` repeats each benchmark's line N times, and
//! `-v` adds lines with the name alone, which are skipped with every other
//! line that is not a result.
//!
//! One perfhub benchmark per benchmark and GOMAXPROCS: named as Go names it
//! without the `-N` (kept as the parameter `procs`, with the package as
//! `pkg` and each `key=value` part of a sub-benchmark's name), except where
//! the same benchmark ran with several GOMAXPROCS (`-cpu 1,2`), which keep
//! Go's full names, and where benchmarks of several packages share a name,
//! which are prefixed with their package (`example.com/a.BenchmarkX`). Each
//! line is one sample: its `ns/op` is the wall time per operation, `B/op`
//! and `allocs/op` the memory allocated per operation, `MB/s` a byte
//! throughput, and the other units measurements named by their unit.

use std::collections::HashMap;
use std::path::Path;

use perfhub_core::report::Better;
use perfhub_core::report::metric::{THROUGHPUT, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};

use crate::error::{ImportError, Location};
use crate::{ImportOptions, json, metric};

/// Bytes allocated per operation (Go's `B/op`). To move to
/// `crate::metric::ALLOC_BYTES`.
const ALLOC_BYTES: &str = "alloc_bytes";
/// Heap allocations per operation (Go's `allocs/op`). To move to
/// `crate::metric::ALLOCS`.
const ALLOCS: &str = "allocs";

/// Whether `text` holds a `go test -bench` result line: `Benchmark` and a
/// name, the iterations, and a time in `ns/op`. libtest's `test NAME ...
/// bench:` lines are not.
pub(crate) fn sniff_text(text: &str) -> bool {
    text.lines().any(|line| {
        let mut fields = line.split_whitespace();
        matches!(
            (fields.next(), fields.next(), fields.next(), fields.next()),
            (Some(name), Some(n), Some(t), Some("ns/op"))
                if name.starts_with("Benchmark")
                    && n.parse::<u64>().is_ok()
                    && t.parse::<f64>().is_ok_and(f64::is_finite)
        )
    })
}

/// Imports `go test -bench` output in the file at `path`.
pub fn import_go_test(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    parse_go_test(&json::read_text(path)?, path, options)
}

/// One result line.
struct Line<'a> {
    /// The line number, from 1.
    at: usize,
    pkg: Option<&'a str>,
    /// The name as Go wrote it, `-N` included.
    full: &'a str,
    /// The name without `-N`.
    base: &'a str,
    procs: u32,
    /// The figures, unit and value, in line order.
    values: Vec<(&'a str, f64)>,
}

/// Imports `go test -bench` output; `source` names it in errors and in the
/// report's note.
pub fn parse_go_test(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    let mut pkg: Option<&str> = None;
    let mut header: Vec<(&str, &str)> = Vec::new();
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut failed: Vec<&str> = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();
    let line_count = text.lines().count();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if let Some((key, value)) = config(line) {
            match key {
                "pkg" => pkg = Some(value),
                "goos" | "goarch" | "cpu" if !header.iter().any(|(k, _)| *k == key) => {
                    header.push((key, value));
                }
                _ => {}
            }
            continue;
        }
        if let Some(name) = line.trim_start().strip_prefix("--- FAIL: ") {
            failed.push(name.split_whitespace().next().unwrap_or(name));
            continue;
        }
        if let Some(name) = line.trim_start().strip_prefix("--- SKIP: ") {
            skipped.push(name.split_whitespace().next().unwrap_or(name));
            continue;
        }
        if !is_result_line(line) {
            continue;
        }
        // `go test` ends every line; a result on an unended last line was
        // cut short (`9 allocs/o` would read as a metric of its own).
        if i + 1 == line_count && !text.ends_with('\n') {
            return Err(ImportError::Line {
                location: Location::line(source, i + 1),
                problem: "the file ends part-way through this result line, so it was cut short; save the whole output of `go test` again".into(),
            });
        }
        let parsed = parse_line(line).map_err(|problem| ImportError::Line {
            location: Location::line(source, i + 1),
            problem,
        })?;
        let (base, procs) = split_procs(parsed.0);
        lines.push(Line {
            at: i + 1,
            pkg,
            full: parsed.0,
            base,
            procs,
            values: parsed.1,
        });
    }
    if lines.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "no `BenchmarkName  N  T ns/op` lines; save the standard output of `go test -run '^$' -bench . -benchmem -count 5` (not `-json`)".into(),
        });
    }

    // Benchmarks: one per package, name and GOMAXPROCS, in the order of
    // their first line.
    let mut procs_of: HashMap<(Option<&str>, &str), Vec<u32>> = HashMap::new();
    for l in &lines {
        let p = procs_of.entry((l.pkg, l.base)).or_default();
        if !p.contains(&l.procs) {
            p.push(l.procs);
        }
    }
    let short = |l: &Line<'_>| -> String {
        if procs_of[&(l.pkg, l.base)].len() > 1 {
            l.full.to_string()
        } else {
            l.base.to_string()
        }
    };
    let mut pkgs_of: HashMap<String, Vec<Option<&str>>> = HashMap::new();
    for l in &lines {
        let p = pkgs_of.entry(short(l)).or_default();
        if !p.contains(&l.pkg) {
            p.push(l.pkg);
        }
    }
    struct Group<'a> {
        name: String,
        first: &'a Line<'a>,
        lines: Vec<&'a Line<'a>>,
    }
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<(Option<&str>, &str), usize> = HashMap::new();
    let mut named: HashMap<String, usize> = HashMap::new();
    for l in &lines {
        if let Some(&g) = index.get(&(l.pkg, l.full)) {
            groups[g].lines.push(l);
            continue;
        }
        let s = short(l);
        let name = match l.pkg {
            Some(p) if pkgs_of[&s].len() > 1 => format!("{p}.{s}"),
            _ => s,
        };
        if let Some(&g) = named.get(&name) {
            return Err(ImportError::Duplicate {
                location: Location::line(source, l.at),
                first: Location::line(source, groups[g].first.at),
                name,
            });
        }
        named.insert(name.clone(), groups.len());
        index.insert((l.pkg, l.full), groups.len());
        groups.push(Group {
            name,
            first: l,
            lines: vec![l],
        });
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    for g in &groups {
        let mut bench = Benchmark::new(g.name.clone(), WALL_TIME);
        bench
            .parameters
            .insert("procs".into(), g.first.procs.to_string());
        if let Some(p) = g.first.pkg {
            bench.parameters.insert("pkg".into(), p.to_string());
        }
        for part in g.first.base.split('/').skip(1) {
            if let Some((k, v)) = part.split_once('=')
                && !k.is_empty()
                && !matches!(k, "procs" | "pkg")
            {
                bench.parameters.insert(k.to_string(), v.to_string());
            }
        }
        // Units in the order of the first line, then any others.
        let mut units: Vec<&str> = Vec::new();
        for l in &g.lines {
            for (u, _) in &l.values {
                if !units.contains(u) {
                    units.push(u);
                }
            }
        }
        for unit in units {
            let values: Vec<f64> = g
                .lines
                .iter()
                .filter_map(|l| l.values.iter().find(|(u, _)| *u == unit).map(|v| v.1))
                .collect();
            bench.measurements.push(measurement(unit, values));
        }
        if bench.measurement(WALL_TIME).is_none() {
            return Err(ImportError::Line {
                location: Location::line(source, g.first.at),
                problem: format!("`{}` has no `ns/op` figure", g.first.full),
            });
        }
        // ns/op first: the primary metric leads.
        bench.measurements.sort_by_key(|m| m.metric != WALL_TIME);
        report.benchmarks.push(bench);
    }

    let about: Vec<String> = header.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let about = if about.is_empty() {
        String::new()
    } else {
        format!("; {}", about.join(", "))
    };
    report.notes.push(Note::info(
        "imported_from_go_test",
        format!(
            "imported from `go test -bench` output in {} ({} benchmarks{about}); each result line is one sample",
            source.display(),
            report.benchmarks.len()
        ),
    ));
    if !failed.is_empty() {
        report.notes.push(Note::warning(
            "go_test_failed",
            format!(
                "the output reports failures (`--- FAIL`), whose benchmarks have no result line: {}",
                failed.join(", ")
            ),
        ));
    }
    if !skipped.is_empty() {
        report.notes.push(Note::info(
            "go_test_skipped",
            format!("skipped benchmarks (`--- SKIP`): {}", skipped.join(", ")),
        ));
    }
    crate::checked(report, source)
}

/// A `key: value` configuration line (`pkg: example.com/x`, `goos: linux`):
/// a key from a lower-case letter without spaces.
fn config(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(": ")?;
    let first = key.chars().next()?;
    (first.is_ascii_lowercase() && !key.contains(char::is_whitespace)).then(|| (key, value.trim()))
}

/// Whether `line` is a result, well formed or not: a name from
/// `Benchmark` and a number after it, or `ns/op` in it. A name alone (`-v`)
/// and a benchmark's log text are not.
fn is_result_line(line: &str) -> bool {
    let mut fields = line.split_whitespace();
    let Some(name) = fields.next() else {
        return false;
    };
    if !name.starts_with("Benchmark") {
        return false;
    }
    match fields.next() {
        None => false,
        Some(second) => {
            second.parse::<f64>().is_ok() || line.split_whitespace().any(|f| f == "ns/op")
        }
    }
}

type Parsed<'a> = (&'a str, Vec<(&'a str, f64)>);

/// The name and figures of a result line, or why it cannot be read.
fn parse_line(line: &str) -> Result<Parsed<'_>, String> {
    let mut fields = line.split_whitespace();
    let name = fields.next().unwrap_or_default();
    let n = fields.next().unwrap_or_default();
    match n.parse::<u64>() {
        Ok(0) => return Err(format!("`{name}`: 0 iterations cannot be timed")),
        Ok(_) => {}
        Err(_) => {
            return Err(format!(
                "`{name}`: expected the number of iterations after the name, found {n:?}"
            ));
        }
    }
    let rest: Vec<&str> = fields.collect();
    if rest.is_empty() {
        return Err(format!("`{name}`: no figures after the iterations"));
    }
    if !rest.len().is_multiple_of(2) {
        return Err(format!(
            "`{name}`: expected pairs of a value and its unit after the iterations, found {:?}",
            rest.join(" ")
        ));
    }
    let mut values: Vec<(&str, f64)> = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        let (v, unit) = (pair[0], pair[1]);
        let x = v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("`{name}`: expected a number before `{unit}`, found {v:?}"))?;
        if unit.parse::<f64>().is_ok() {
            return Err(format!(
                "`{name}`: expected a unit after {v}, found the number {unit}"
            ));
        }
        if values.iter().any(|(u, _)| *u == unit) {
            return Err(format!("`{name}`: `{unit}` appears twice"));
        }
        let problem = match unit {
            "ns/op" => json::time_problem(|| format!("{v} ns/op"), x / 1e9),
            "B/op" | "allocs/op" | "MB/s" if x < 0.0 => Some(format!(
                "{v} {unit} is negative, and it cannot be; {}",
                json::DAMAGED
            )),
            "MB/s" if !(x * 1e6).is_finite() => Some(format!(
                "{v} MB/s is more than any throughput; {}",
                json::DAMAGED
            )),
            _ => None,
        };
        if let Some(p) = problem {
            return Err(format!("`{name}`: {p}"));
        }
        values.push((unit, x));
    }
    if !values.iter().any(|(u, _)| *u == "ns/op") {
        return Err(format!("`{name}`: no `ns/op` figure"));
    }
    Ok((name, values))
}

/// The name without its `-N` GOMAXPROCS suffix, and N (1 where there is
/// none: Go leaves it out for 1).
fn split_procs(name: &str) -> (&str, u32) {
    if let Some((base, n)) = name.rsplit_once('-')
        && !base.is_empty()
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Ok(procs) = n.parse::<u32>()
    {
        return (base, procs);
    }
    (name, 1)
}

/// The measurement of one unit's values, one per line.
fn measurement(unit: &str, values: Vec<f64>) -> Measurement {
    match unit {
        "ns/op" => Measurement::from_samples(
            WALL_TIME,
            Unit::Seconds,
            values.into_iter().map(|x| x / 1e9 + 0.0).collect(),
        ),
        "B/op" => {
            Measurement::from_samples(ALLOC_BYTES, Unit::Bytes, values).with_better(Better::Lower)
        }
        "allocs/op" => {
            Measurement::from_samples(ALLOCS, Unit::Count, values).with_better(Better::Lower)
        }
        "MB/s" => Measurement::from_samples(
            metric::BYTE_THROUGHPUT,
            Unit::BytesPerSecond,
            values.into_iter().map(|x| x * 1e6).collect(),
        )
        .with_better(Better::Higher),
        other => {
            // The benchmark's own figure (`b.ReportMetric`), named by its
            // unit, whose direction perfhub does not know.
            let name = if [
                WALL_TIME,
                THROUGHPUT,
                metric::BYTE_THROUGHPUT,
                ALLOC_BYTES,
                ALLOCS,
            ]
            .contains(&other)
            {
                format!("metric:{other}")
            } else {
                other.to_string()
            };
            Measurement {
                better: None,
                ..Measurement::from_samples(name, Unit::Number, values)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/go-test")
            .join(name)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_go_test(text, Path::new("go.txt"), &options())
    }

    /// Go's own ns/op figures of every benchmark, by full name, read
    /// independently of the importer.
    fn go_figures(text: &str) -> Vec<(String, Vec<f64>)> {
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        let mut pkg = String::new();
        for line in text.lines() {
            if let Some(p) = line.strip_prefix("pkg: ") {
                pkg = p.to_string();
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 4 && f[0].starts_with("Benchmark") && f[3] == "ns/op" {
                let key = format!("{pkg} {}", f[0]);
                let v: f64 = f[2].parse().unwrap();
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, vs)) => vs.push(v),
                    None => out.push((key, vec![v])),
                }
            }
        }
        out
    }

    #[test]
    fn each_line_is_a_sample_whose_mean_is_gos() {
        let mut worst: f64 = 0.0;
        for file in [
            "run-a.txt",
            "run-b.txt",
            "cpu-1-2.txt",
            "two-packages.txt",
            "verbose.txt",
        ] {
            let path = fixture(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(sniff_text(&text), "{file}");
            assert_eq!(
                crate::detect_text(&text),
                Some(crate::Format::GoTest),
                "{file}"
            );
            let report = import_go_test(&path, &options()).unwrap();
            let figures = go_figures(&text);
            assert_eq!(report.benchmarks.len(), figures.len(), "{file}");
            for (b, (key, ns)) in report.benchmarks.iter().zip(&figures) {
                let m = b.primary().unwrap();
                assert_eq!(m.samples.len(), ns.len(), "{file} {key}");
                let go_mean = ns.iter().sum::<f64>() / ns.len() as f64 / 1e9;
                let ours = m.summary.as_ref().unwrap().mean;
                let rel = (ours - go_mean).abs() / go_mean;
                worst = worst.max(rel);
                assert!(rel < 1e-3, "{file} {key}: {ours} vs {go_mean}");
            }
        }
        println!("go-test: largest relative difference of the means {worst:e}");
    }

    #[test]
    fn names_procs_packages_and_units() {
        let report = import_go_test(&fixture("run-a.txt"), &options()).unwrap();
        let names: Vec<&str> = report.benchmarks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "BenchmarkFib",
                "BenchmarkSort/size=10",
                "BenchmarkSort/size=1000",
                "BenchmarkJoin",
                "BenchmarkBaseline"
            ]
        );
        let sort = report.benchmark("BenchmarkSort/size=1000").unwrap();
        assert_eq!(sort.parameters["procs"], "2");
        assert_eq!(sort.parameters["size"], "1000");
        assert_eq!(sort.parameters["pkg"], "example.com/perfhubfixture/sorting");
        assert_eq!(sort.primary().unwrap().samples[0], 862831e-9);
        let bytes = sort.measurement(ALLOC_BYTES).unwrap();
        assert_eq!((bytes.unit, bytes.samples[0]), (Unit::Bytes, 8216.0));
        let allocs = sort.measurement(ALLOCS).unwrap();
        assert_eq!((allocs.unit, allocs.samples[0]), (Unit::Count, 2.0));
        let join = report.benchmark("BenchmarkJoin").unwrap();
        let mb = join.measurement(metric::BYTE_THROUGHPUT).unwrap();
        assert_eq!(mb.samples[0], 67.11e6);
        assert_eq!(mb.better, Some(Better::Higher));
        let parts = join.measurement("parts/op").unwrap();
        assert_eq!(
            (parts.unit, parts.samples[0], parts.better),
            (Unit::Number, 64.0, None)
        );
        assert!(
            report.notes[0]
                .message
                .contains("goos linux, goarch amd64, cpu AMD EPYC")
        );

        // -cpu 1,2: the same benchmark with two GOMAXPROCS.
        let report = import_go_test(&fixture("cpu-1-2.txt"), &options()).unwrap();
        let fib1 = report.benchmark("BenchmarkFib").unwrap();
        let fib2 = report.benchmark("BenchmarkFib-2").unwrap();
        assert_eq!(fib1.parameters["procs"], "1");
        assert_eq!(fib2.parameters["procs"], "2");
        assert_eq!(fib1.primary().unwrap().samples.len(), 3);

        // Two packages: the name both have is prefixed with its package.
        let report = import_go_test(&fixture("two-packages.txt"), &options()).unwrap();
        assert!(report.benchmark("BenchmarkSHA256").is_some());
        assert!(report.benchmark("BenchmarkFib").is_some());
        assert!(
            report
                .benchmark("example.com/perfhubfixture/hashing.BenchmarkBaseline")
                .is_some()
        );
        assert!(
            report
                .benchmark("example.com/perfhubfixture/sorting.BenchmarkBaseline")
                .is_some()
        );
        assert!(report.benchmark("BenchmarkBaseline").is_none());
    }

    #[test]
    fn malformed_lines_are_refused_with_the_line_number() {
        let head = "goos: linux\npkg: x\nBenchmarkOk-8   \t 100\t 10 ns/op\n";
        for (line, problem) in [
            (
                "BenchmarkX-8 \t 100 \t abc ns/op",
                "expected a number before `ns/op`, found \"abc\"",
            ),
            (
                "BenchmarkX-8 \t 100 \t 12 ns/op \t 5",
                "pairs of a value and its unit",
            ),
            (
                "BenchmarkX-8 \t 100 \t 12 ns/op 3 B/op 4 B/op",
                "`B/op` appears twice",
            ),
            ("BenchmarkX-8 \t 100 \t -12 ns/op", "-12 ns/op is negative"),
            (
                "BenchmarkX-8 \t 100 \t 1e30 ns/op",
                "longer than any measurement",
            ),
            ("BenchmarkX-8 \t 100 \t 12 B/op", "no `ns/op` figure"),
            ("BenchmarkX-8 \t 0 \t 12 ns/op", "0 iterations"),
            ("BenchmarkX-8 \t 1.5 \t 12 ns/op", "number of iterations"),
            ("BenchmarkX-8 \t 100", "no figures"),
            (
                "BenchmarkX-8 \t 100 \t 12 ns/op \t -3 B/op",
                "-3 B/op is negative",
            ),
        ] {
            let err = parse(&format!("{head}{line}\nPASS\n")).unwrap_err();
            let shown = err.to_string();
            assert!(
                shown.starts_with("go.txt:4: `BenchmarkX-8`: "),
                "{line}: {shown}"
            );
            assert!(shown.contains(problem), "{line}: {shown}");
            assert!(matches!(err, ImportError::Line { .. }));
        }
        // Not results: a name alone (-v), log text, libtest's lines.
        let text = "BenchmarkX\nBenchmarks are fun\ntest a ... bench: 10 ns/iter (+/- 1)\n";
        assert!(matches!(
            parse(text).unwrap_err(),
            ImportError::NoResults { .. }
        ));
        assert!(!sniff_text(text));
        let err = parse("").unwrap_err();
        assert!(
            err.to_string()
                .contains("go test -run '^$' -bench . -benchmem -count 5")
        );
    }

    #[test]
    fn failures_are_noted() {
        let text = "pkg: x\nBenchmarkA-2 \t 10 \t 5 ns/op\n--- FAIL: BenchmarkB\n    b_test.go:9: boom\nFAIL\n";
        let report = parse(text).unwrap();
        assert_eq!(report.benchmarks.len(), 1);
        let w = report
            .notes
            .iter()
            .find(|n| n.code == "go_test_failed")
            .unwrap();
        assert!(w.message.contains("BenchmarkB"));
    }

    #[test]
    fn procs_suffix() {
        assert_eq!(split_procs("BenchmarkX-8"), ("BenchmarkX", 8));
        assert_eq!(split_procs("BenchmarkX/n=1-16"), ("BenchmarkX/n=1", 16));
        assert_eq!(split_procs("BenchmarkX"), ("BenchmarkX", 1));
        assert_eq!(split_procs("BenchmarkX/a-b"), ("BenchmarkX/a-b", 1));
        assert_eq!(split_procs("BenchmarkX-"), ("BenchmarkX-", 1));
    }

    #[test]
    fn sniff_claims_only_go_output() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for file in [
            "hyperfine/export-1.15.json",
            "k6/handle-summary.json",
            "k6/summary-export.json",
            "goose/report.json",
            "criterion/cargo-criterion-1.1.0.jsonl",
            "jmh/results.json",
            "google-benchmark/run-a.json",
        ] {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            assert!(!sniff_text(&text), "{file}");
        }
        if let Ok(dir) = std::fs::read_dir(root.join("criterion/libtest")) {
            for entry in dir.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                assert!(!sniff_text(&text), "{}", entry.path().display());
            }
        }
    }
}
