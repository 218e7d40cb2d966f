//! Helpers shared by the integration tests: fixtures, the services
//! `scripts/ci-prometheus.sh` starts, and a small reader of the text format.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use perfhub_core::report::Report;

/// The directory of the checked-in reports.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("tests/fixtures")
}

/// A checked-in report: `load` (a `perfhub load` run against `perfhub
/// serve` with 2% errors, latency histograms, two budgets) or `run` (two
/// commands, five runs each, four budgets).
pub fn fixture(name: &str) -> Report {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Report::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of a service variable such as `PERFHUB_TEST_PUSHGATEWAY`; the
/// test fails without it.
pub fn service(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{var} is unset: run the suite with `cargo xtask ci`, which starts a Pushgateway \
             and installs promtool, or `eval \"$(scripts/ci-prometheus.sh)\"` first"
        ),
    }
}

/// One sample: its name and its labels, sorted.
pub type Key = (String, BTreeMap<String, String>);

/// The samples of a text-format exposition, by name and labels. Panics on
/// lines it cannot read, and on a series given twice.
pub fn parse_samples(text: &str) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value: {line}"),
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            let end;
            loop {
                let (start, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("unterminated: {line}"));
                if c == '}' {
                    end = Some(start + 1);
                    break;
                }
                let c = if c == ',' {
                    chars.next().unwrap().0
                } else {
                    start
                };
                let eq = r[c..].find('=').unwrap() + c;
                let label = r[c..eq].to_string();
                let mut value = String::new();
                // Skip to the opening quote.
                for (i, _) in chars.by_ref() {
                    if i == eq + 1 {
                        break;
                    }
                }
                loop {
                    let (_, c) = chars
                        .next()
                        .unwrap_or_else(|| panic!("unterminated value: {line}"));
                    match c {
                        '"' => break,
                        '\\' => match chars.next().unwrap().1 {
                            'n' => value.push('\n'),
                            other => value.push(other),
                        },
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(label, value).is_none(), "label twice: {line}");
                if chars.peek().is_some_and(|(_, c)| *c == '}') {
                    end = Some(chars.next().unwrap().0 + 1);
                    break;
                }
            }
            rest = &r[end.unwrap()..];
        }
        let value = rest.trim();
        assert!(
            !value.contains(' '),
            "a timestamp or junk after the value: {line}"
        );
        let v = parse_value(value);
        let key = (name.to_string(), labels);
        assert!(out.insert(key, v).is_none(), "series twice: {line}");
    }
    out
}

/// A value as the formats spell it.
pub fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        t => t.parse().unwrap_or_else(|_| panic!("not a number: {t}")),
    }
}

/// Whether two values are the same `f64` (NaN equals NaN).
pub fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
