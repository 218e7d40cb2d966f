//! The sample page from the CLI's real outputs (`tests/fixtures`): every
//! fixture is read, every section drawn. With `PERFHUB_HTML_OUT=path`, the
//! page is also written there for the browser test (`tests/browser`).

mod common;

#[test]
fn the_sample_page_draws_every_fixture() {
    let html = common::sample_html();
    let kinds: Vec<&str> = html
        .split("data-chart=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    // Two commands of `perfhub run` and six criterion benchmarks.
    assert_eq!(count("distribution"), 8, "{kinds:?}");
    assert_eq!(count("percentile-spectrum"), 1);
    assert_eq!(count("resource-timeline"), 1);
    assert_eq!(count("comparison"), 1);
    assert_eq!(count("trend"), 2);
    assert!(html.contains(&format!("data-charts-expected=\"{}\"", kinds.len())));
    // The run fixture's name, escaped.
    assert!(html.contains("sleep &lt;10ms&gt; &amp; &quot;wait&quot;"));
    assert!(!html.contains("sleep <10ms>"));
    // The flame graph, with the frame the browser test searches for.
    assert!(html.contains(common::KNOWN_FRAME));
    assert!(html.contains("<iframe class=\"flamegraph\""));
    if let Ok(path) = std::env::var("PERFHUB_HTML_OUT") {
        std::fs::write(&path, &html).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[test]
fn every_fixture_report_renders_alone() {
    for name in [
        "run.json",
        "run-base.json",
        "load.json",
        "profile.json",
        "bench.json",
        "compare.json",
    ] {
        let report = common::report(name);
        let html = perfhub_html::render(&perfhub_html::HtmlReport::new(name, &report));
        let charts = html.matches("data-chart=\"").count();
        assert!(charts > 0, "{name} drew no chart");
        assert!(
            html.contains(&format!("data-charts-expected=\"{charts}\"")),
            "{name}"
        );
    }
}
