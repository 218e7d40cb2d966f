//! The sample page drawn from the checked-in fixtures: every section a
//! `check` report can have, for the tests and for the browser test
//! (`cargo run -p perfhub-html --example sample -- report.html`).
//!
//! The fixtures are real outputs of the perfhub CLI (see
//! `tests/fixtures/README.md`); the sample combines them into one `check`
//! report, as `perfhub check` will.

use std::path::PathBuf;

use perfhub_core::report::{Report, ReportKind};
use perfhub_core::units::Unit;
use perfhub_html::{Flame, HtmlReport, Trend};

/// A frame the fixture flame graph is known to contain.
#[allow(dead_code)]
pub const KNOWN_FRAME: &str = "hot_three_shares";

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn report(name: &str) -> Report {
    Report::from_json(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One `check` report of the run, load, profile and imported criterion
/// fixtures, in that order.
pub fn check_report() -> Report {
    let parts = [
        report("run.json"),
        report("load.json"),
        report("profile.json"),
        report("bench.json"),
    ];
    let mut check = Report::new(ReportKind::Check, parts[0].created);
    check.environment = parts[0].environment.clone();
    for p in parts {
        check.benchmarks.extend(p.benchmarks);
        check.budgets.extend(p.budgets);
        check.notes.extend(p.notes);
    }
    check
}

pub fn trends() -> Vec<Trend> {
    fixture("history.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut f = line.split('\t');
            let benchmark = f.next().unwrap().to_string();
            let metric = f.next().unwrap().to_string();
            let unit = match f.next().unwrap() {
                "seconds" => Unit::Seconds,
                "bytes" => Unit::Bytes,
                _ => Unit::Number,
            };
            let points = f
                .map(|p| {
                    let (label, v) = p.split_once(':').unwrap();
                    (label.to_string(), v.parse().unwrap())
                })
                .collect();
            Trend {
                benchmark,
                metric,
                unit,
                points,
            }
        })
        .collect()
}

/// The sample page.
pub fn sample_html() -> String {
    let check = check_report();
    let base = report("run-base.json");
    let mut page = HtmlReport::new("perfhub check: sample <report> & friends", &check);
    page.baseline = Some(&base);
    page.flamegraphs.push(Flame {
        title: "./hot 300 2 (CPU)".into(),
        svg: fixture("flamegraph.svg"),
    });
    page.trends = trends();
    perfhub_html::render(&page)
}
