//! Tests of the whole page on reports built here.

use perfhub_core::budget::BudgetVerdict;
use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Environment, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;

use crate::{Flame, HtmlReport, Trend, render};

const HOSTILE: &str = r#"<script>alert("x")</script> & 'q' </svg>"#;

fn run_bench(name: &str, scale: f64) -> Benchmark {
    let mut b = Benchmark::new(name, metric::WALL_TIME);
    b.command = Some(format!("{name} --flag"));
    b.measurements.push(Measurement::from_samples(
        metric::WALL_TIME,
        Unit::Seconds,
        (0..30)
            .map(|i| scale * (1.0 + f64::from(i % 7) * 0.01))
            .collect(),
    ));
    b
}

fn load_bench() -> Benchmark {
    let mut h = LatencyHistogram::new();
    for us in 1..=5000u64 {
        h.record_nanos(us * 1000);
    }
    let mut b = Benchmark::new("total", metric::LATENCY);
    b.measurements.push(h.to_measurement(metric::LATENCY));
    b.measurements.push(Measurement::from_value(
        metric::ERROR_RATE,
        Unit::Ratio,
        0.01,
    ));
    b.measurements
        .push(Measurement::from_value("status.200", Unit::Count, 4950.0));
    b.measurements
        .push(Measurement::from_value("status.500", Unit::Count, 50.0));
    b.measurements.push(Measurement::from_samples(
        "interval_throughput",
        Unit::PerSecond,
        vec![990.0, 1010.0, 1000.0, 1000.0, 1000.0],
    ));
    b.measurements.push(Measurement::from_samples(
        "interval_errors",
        Unit::Count,
        vec![0.0, 0.0, 30.0, 20.0, 0.0],
    ));
    b.measurements.push(Measurement::from_samples(
        "interval_p95",
        Unit::Seconds,
        vec![0.004, 0.0045, 0.02, 0.005, 0.004],
    ));
    b.measurements.push(Measurement::from_value(
        "interval_seconds",
        Unit::Seconds,
        1.0,
    ));
    b
}

fn profile_bench() -> Benchmark {
    let mut b = Benchmark::new("./server", metric::WALL_TIME);
    b.measurements.push(Measurement::from_value(
        metric::WALL_TIME,
        Unit::Seconds,
        2.0,
    ));
    b.measurements.push(Measurement::from_samples(
        metric::CPU_UTILIZATION,
        Unit::Ratio,
        vec![0.5, 1.5, 1.0, 0.8],
    ));
    b.measurements.push(Measurement::from_samples(
        "rss",
        Unit::Bytes,
        vec![1e6, 4e6, 3e6, 3e6],
    ));
    b.measurements.push(Measurement::from_samples(
        "threads",
        Unit::Count,
        vec![1.0, 4.0, 4.0, 2.0],
    ));
    b
}

fn check_report() -> Report {
    let mut r = Report::new(ReportKind::Check, "2026-01-01T00:00:00Z".parse().unwrap());
    r.environment = Some(Environment {
        logical_cpus: 2,
        arch: "x86_64".into(),
        ..Environment::default()
    });
    r.benchmarks = vec![
        run_bench(HOSTILE, 0.01),
        run_bench("sort", 0.002),
        load_bench(),
        profile_bench(),
    ];
    r.budgets.push(BudgetVerdict {
        budget: "p95 < 3ms".into(),
        benchmark: "total".into(),
        metric: "latency".into(),
        statistic: "p95".into(),
        actual: 0.00475,
        threshold: 0.003,
        unit: Unit::Seconds,
        passed: false,
    });
    r.notes.push(Note::warning("hostile", HOSTILE));
    r
}

const FLAME: &str = r#"<?xml version="1.0" standalone="no"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg version="1.1" width="1200" height="342" onload="init(evt)" xmlns="http://www.w3.org/2000/svg"><script type="text/ecmascript"><![CDATA[function init(evt) {}]]></script><g id="frames"><g><title>&lt;Vec&lt;T&gt; as Drop&gt;::drop "q" (1 samples)</title><rect x="0" y="0" width="10" height="15" fill="rgb(1,2,3)"/></g></g></svg>"#;

fn page(report: &Report, baseline: Option<&Report>) -> String {
    let mut p = HtmlReport::new(format!("title {HOSTILE}"), report);
    p.baseline = baseline;
    p.flamegraphs.push(Flame {
        title: HOSTILE.into(),
        svg: FLAME.into(),
    });
    p.trends.push(Trend {
        benchmark: HOSTILE.into(),
        metric: "wall_time".into(),
        unit: Unit::Seconds,
        points: vec![
            ("a<b".into(), 0.01),
            ("c&d".into(), 0.012),
            ("e".into(), 0.011),
        ],
    });
    render(&p)
}

fn kinds(html: &str) -> Vec<String> {
    html.split("data-chart=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

fn expected(html: &str) -> usize {
    let at = html.find("data-charts-expected=\"").unwrap() + "data-charts-expected=\"".len();
    html[at..].split('"').next().unwrap().parse().unwrap()
}

/// Checks that the page's elements open and close in order: void elements
/// need no end tag, SVG elements may close themselves, and no `<` appears
/// unescaped in text or attribute values (so the tokenizer below is exact
/// for this page, which has no `<script>` or `<style>` in its body).
fn assert_well_formed(html: &str) {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let body_start = html.find("</style>").expect("one stylesheet") + "</style>".len();
    assert!(html[..body_start].starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    let mut stack: Vec<String> = vec!["html".into(), "head".into()];
    let mut rest = &html[body_start..];
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        assert!(!tag.contains('<'), "unescaped < in tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn groups_benchmarks_by_what_they_carry_and_counts_every_chart() {
    let report = check_report();
    let html = page(&report, None);
    let k = kinds(&html);
    let count = |kind: &str| k.iter().filter(|x| *x == kind).count();
    assert_eq!(count("distribution"), 2, "{k:?}");
    assert_eq!(count("percentile-spectrum"), 1);
    assert_eq!(count("load-over-time"), 1);
    assert_eq!(count("resource-timeline"), 1);
    assert_eq!(count("trend"), 1);
    assert_eq!(count("comparison"), 0);
    assert_eq!(expected(&html), k.len());
    assert_eq!(html.matches("<iframe class=\"flamegraph\"").count(), 1);
    // Every chart is an SVG with at least one data mark.
    for chart in html.split("<svg class=\"chart\"").skip(1) {
        let chart = &chart[..chart.find("</svg>").unwrap()];
        assert!(chart.contains("class=\"mark"), "{chart}");
    }
}

#[test]
fn a_baseline_adds_its_runs_and_a_comparison() {
    let report = check_report();
    let mut base = check_report();
    for b in &mut base.benchmarks {
        if let Some(m) = b
            .measurements
            .iter_mut()
            .find(|m| m.metric == metric::WALL_TIME && m.samples.len() > 1)
        {
            *m = Measurement::from_samples(
                metric::WALL_TIME,
                Unit::Seconds,
                m.samples.iter().map(|v| v * 0.8).collect(),
            );
        }
    }
    let html = page(&report, Some(&base));
    let k = kinds(&html);
    assert_eq!(k.iter().filter(|x| *x == "comparison").count(), 1, "{k:?}");
    assert_eq!(expected(&html), k.len());
    assert!(html.contains("class=\"mark box c-base\""));
    assert!(html.contains("baseline latency"));
    assert!(
        html.contains("badge v-regressed"),
        "25% slower must be a regression"
    );
    assert!(html.contains("data-status=\"fail\""));
}

#[test]
fn escapes_every_string_from_the_report() {
    let html = page(&check_report(), None);
    assert!(
        !html.contains("<script"),
        "no script outside the flame graph's escaped document"
    );
    assert!(!html.contains(HOSTILE));
    assert!(html.contains(
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; &lt;/svg&gt;"
    ));
    // The flame graph's document is escaped into its attribute, frame names
    // escaped twice (once by inferno, once for the attribute).
    assert!(html.contains("&amp;lt;Vec&amp;lt;T&amp;gt; as Drop&amp;gt;::drop &quot;q&quot;"));
    assert_well_formed(&html);
}

#[test]
fn loads_nothing_from_the_network() {
    let html = page(&check_report(), None);
    let lower = html.to_ascii_lowercase();
    for needle in [
        "src=\"http",
        "src=\"//",
        "href=\"http",
        "href=\"//",
        "url(http",
        "url(//",
        "@import",
        "<link",
        "srcset=",
    ] {
        assert!(!lower.contains(needle), "{needle}");
    }
    // The only hrefs are the table of contents' fragments.
    for href in lower.split("href=\"").skip(1) {
        assert!(href.starts_with('#'), "{}", &href[..20.min(href.len())]);
    }
    // The flame graph's doctype URL is gone with its doctype.
    assert!(!html.contains("svg11.dtd"));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn an_empty_report_is_still_a_page() {
    let r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
    let html = render(&HtmlReport::new("empty", &r));
    assert_eq!(expected(&html), 0);
    assert!(html.contains("NO BUDGETS"));
    assert_well_formed(&html);
}

#[test]
fn the_flame_graph_frame_gets_its_shims_and_height() {
    let html = page(&check_report(), None);
    let frame = html.split("<iframe class=\"flamegraph\"").nth(1).unwrap();
    assert!(frame.contains("height=\"344\""), "{}", &frame[..200]);
    let srcdoc = frame
        .split("srcdoc=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(srcdoc.starts_with("&lt;!DOCTYPE html&gt;"));
    let shim = srcdoc.find("history.replaceState").unwrap();
    let inferno = srcdoc.find("function init(evt)").unwrap();
    let init = srcdoc.rfind("var i=init").unwrap();
    assert!(
        shim < inferno && inferno < init,
        "shim, then inferno, then the init wrapper"
    );
}
