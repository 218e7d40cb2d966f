//! The targets, one module per crate they fuzz, and what they share.

mod core;
mod flame;
mod import;
mod load;
mod plan;

pub use flame::gzip_with_zeros;
pub use plan::set_perfhub_binary;
mod run;

use std::borrow::Cow;
use std::path::Path;

use perfhub_core::Report;

use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(crate) fn all() -> Vec<Target> {
    let mut t = Vec::new();
    t.extend(flame::targets());
    t.extend(import::targets());
    t.extend(core::targets());
    t.extend(load::targets());
    t.extend(run::targets());
    t.extend(plan::targets());
    t
}

/// The input as text; bytes that are not UTF-8 become U+FFFD, as they
/// would for a caller that reads a file with `from_utf8_lossy`.
pub(crate) fn text(input: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(input)
}

/// A file of the workspace, if it is there.
pub(crate) fn fixture(root: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(root.join(rel)).ok()
}

/// The property of every importer's report: each number one a measurement
/// can have ([`Report::check_values`]), at least one benchmark (an import
/// of nothing is an error, not an empty report), and a report that the
/// report reader takes back unchanged.
pub(crate) fn sane_report(report: &Report) -> Result<Outcome, String> {
    report
        .check_values()
        .map_err(|e| format!("accepted with an impossible value: {e}"))?;
    if report.benchmarks.is_empty() {
        return Err("accepted as a report without benchmarks".into());
    }
    round_trip_report(report)?;
    Ok(Outcome::Accepted)
}

/// The report survives its writer and reader unchanged.
pub(crate) fn round_trip_report(report: &Report) -> Result<(), String> {
    let json = report.to_json();
    let back = Report::from_json(&json)
        .map_err(|e| format!("the report written does not read back: {e}"))?;
    if &back != report {
        return Err("the report written reads back different".into());
    }
    Ok(())
}

/// A JSON-aware change most of the time, byte changes otherwise.
pub(crate) fn json_or_bytes(input: &[u8], other: &[u8], tokens: &[&str], rng: &mut Rng) -> Vec<u8> {
    if rng.chance(0.7)
        && let Some(v) = mutate::json(input, rng)
    {
        if rng.chance(0.15) {
            return mutate::bytes(&v, other, tokens, rng);
        }
        return v;
    }
    mutate::bytes(input, other, tokens, rng)
}

/// A TOML-aware change most of the time, byte changes otherwise.
pub(crate) fn toml_or_bytes(input: &[u8], other: &[u8], keys: &[&str], rng: &mut Rng) -> Vec<u8> {
    if rng.chance(0.7)
        && let Some(v) = mutate::toml(input, keys, rng)
    {
        if rng.chance(0.15) {
            return mutate::bytes(&v, other, keys, rng);
        }
        return v;
    }
    mutate::bytes(input, other, keys, rng)
}

/// `open` repeated `depth` times, then `close` as often: nesting a
/// recursive parser may not survive.
pub(crate) fn nested(prefix: &str, open: &str, close: &str, depth: usize) -> Vec<u8> {
    let mut s = String::with_capacity(prefix.len() + depth * (open.len() + close.len()));
    s.push_str(prefix);
    for _ in 0..depth {
        s.push_str(open);
    }
    for _ in 0..depth {
        s.push_str(close);
    }
    s.into_bytes()
}

/// The bombs every text parser must survive: deep nesting of JSON and
/// TOML, a long line, many lines.
pub(crate) fn text_bombs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("json nested 100000 deep", nested("", "[", "]", 100_000)),
        (
            "json objects nested 100000 deep",
            nested("", "{\"a\":", "}", 100_000),
        ),
        (
            "toml arrays nested 100000 deep",
            nested("a = ", "[", "]", 100_000),
        ),
        (
            "toml inline tables nested 100000 deep",
            nested("a = ", "{b = ", "}", 100_000),
        ),
        ("a line of 2 MiB", vec![b'a'; 2 << 20]),
        ("a million blank lines", vec![b'\n'; 1 << 20]),
    ]
}
