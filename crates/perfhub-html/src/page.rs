//! The page: sections in reading order, each drawn from what the report's
//! benchmarks carry.

use std::fmt::Write as _;

use perfhub_core::budget::BudgetVerdict;
use perfhub_core::compare::{ChangeCriteria, compare_reports};
use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Comparison, Measurement, Note, Report, Severity, metric};
use perfhub_core::score::{PerformanceScore, performance_score};
use perfhub_core::stats::{mean, percentile};
use perfhub_core::units::Unit;

use crate::chart::{self, CompareRow, DistRow, Panel, SpectrumSeries, Style};
use crate::escape::html;
use crate::spectrum;
use crate::{Flame, HtmlReport, Trend};

const STYLE: &str = include_str!("style.css");

/// The body being written and the number of charts drawn into it.
#[derive(Default)]
struct Page {
    body: String,
    charts: usize,
    toc: Vec<(&'static str, &'static str)>,
}

impl Page {
    fn section(&mut self, id: &'static str, heading: &'static str) {
        self.toc.push((id, heading));
        let _ = write!(
            self.body,
            "<section id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{heading}</h2>"
        );
    }

    fn end_section(&mut self) {
        self.body.push_str("</section>");
    }

    /// Adds a chart (one `data-chart` SVG) in a figure with a caption.
    fn chart(&mut self, svg: String, caption: &str) {
        debug_assert_eq!(svg.matches("data-chart=").count(), 1);
        self.charts += 1;
        let _ = write!(
            self.body,
            "<figure class=\"figure\">{svg}<figcaption>{}</figcaption></figure>",
            html(caption)
        );
    }
}

pub(crate) fn render(r: &HtmlReport<'_>) -> String {
    let report = r.report;
    let mut p = Page::default();
    header(&mut p, r);
    summary(&mut p, r);
    comparisons(&mut p, r);
    distributions(&mut p, r);
    load_tests(&mut p, r);
    timelines(&mut p, r);
    flamegraphs(&mut p, &r.flamegraphs);
    trends(&mut p, &r.trends);
    notes(&mut p, report);

    let mut out = String::with_capacity(p.body.len() + STYLE.len() + 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    // Nothing on this page may come from the network. The flame graphs'
    // frames inherit this policy, and their own inline script and handlers
    // must run; the page itself has no script.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    let _ = writeln!(out, "<title>{}</title>", html(&r.title));
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>");
    let _ = writeln!(
        out,
        "<body data-charts-expected=\"{}\" data-report-kind=\"{}\">",
        p.charts,
        kind_name(report)
    );
    out.push_str("<main class=\"page\">\n");
    if p.toc.len() > 2 {
        out.push_str("<nav class=\"toc\" aria-label=\"Sections\">");
        for (id, heading) in &p.toc {
            let _ = write!(out, "<a href=\"#{id}\">{heading}</a>");
        }
        out.push_str("</nav>\n");
    }
    out.push_str(&p.body);
    let _ = write!(
        out,
        "\n<footer>Written by {} {} from a report of {}.</footer>\n</main>\n</body>\n</html>\n",
        html(&report.tool.name),
        html(&report.tool.version),
        html(&report.created.to_string())
    );
    out
}

fn kind_name(report: &Report) -> &'static str {
    use perfhub_core::report::ReportKind as K;
    match report.kind {
        K::Run => "run",
        K::Profile => "profile",
        K::Load => "load",
        K::Bench => "bench",
        K::Compare => "compare",
        K::Check => "check",
        _ => "report",
    }
}

fn header(p: &mut Page, r: &HtmlReport<'_>) {
    let report = r.report;
    let _ = write!(
        p.body,
        "<header class=\"masthead\"><p class=\"eyebrow\">perfhub · {} report</p><h1>{}</h1><p class=\"meta\">{}",
        kind_name(report),
        html(&r.title),
        html(&report.created.to_string())
    );
    if let Some(e) = &report.environment {
        let mut parts = Vec::new();
        if let Some(h) = &e.hostname {
            parts.push(h.clone());
        }
        if let Some(c) = &e.cpu_model {
            parts.push(c.clone());
        }
        parts.push(format!("{} logical CPUs", e.logical_cpus));
        if e.memory_bytes > 0 {
            parts.push(Unit::Bytes.format(e.memory_bytes as f64));
        }
        if let Some(os) = &e.os {
            parts.push(os.clone());
        }
        if let Some(c) = &e.git_commit {
            let short: String = c.chars().take(10).collect();
            let dirty = if e.git_dirty == Some(true) {
                " (dirty)"
            } else {
                ""
            };
            parts.push(format!(
                "{}{short}{dirty}",
                e.git_branch
                    .as_ref()
                    .map(|b| format!("{b} @ "))
                    .unwrap_or_default()
            ));
        }
        for part in parts {
            let _ = write!(p.body, " · {}", html(&part));
        }
    }
    p.body.push_str("</p></header>\n");
}

/// The status banner, the budgets and the Performance Score.
fn summary(p: &mut Page, r: &HtmlReport<'_>) {
    let report = r.report;
    p.section("summary", "Summary");
    let failed = report.budgets.iter().filter(|v| !v.passed).count();
    let regressed = verdicts(r)
        .iter()
        .filter(|c| c.verdict.map(|v| v.as_str()) == Some("regressed"))
        .count();
    let (class, word) = if failed > 0 || regressed > 0 {
        ("fail", "FAIL")
    } else if report.budgets.is_empty() {
        ("info", "NO BUDGETS")
    } else {
        ("pass", "PASS")
    };
    let mut detail = Vec::new();
    if !report.budgets.is_empty() {
        detail.push(format!(
            "{} of {} budgets held",
            report.budgets.len() - failed,
            report.budgets.len()
        ));
    }
    if regressed > 0 {
        detail.push(format!("{regressed} regressed against the baseline"));
    }
    detail.push(format!(
        "{} benchmark{}",
        report.benchmarks.len(),
        if report.benchmarks.len() == 1 {
            ""
        } else {
            "s"
        }
    ));
    let _ = write!(
        p.body,
        "<div class=\"cards\"><div class=\"card status {class}\" data-status=\"{class}\"><div class=\"big\">{word}</div><div>{}</div></div>",
        html(&detail.join(" · "))
    );
    let score = performance_score(report, &r.score_targets, None);
    match &score {
        Some(s) => {
            let grade = if s.score >= 90.0 {
                "pass"
            } else if s.score >= 50.0 {
                "warn"
            } else {
                "fail"
            };
            let _ = write!(
                p.body,
                "<div class=\"card score {grade}\" data-score=\"{:.1}\"><div class=\"big\">{:.0}<small>/100</small></div><div>Performance Score</div><div class=\"meter\"><span style=\"width:{:.1}%\"></span></div></div>",
                s.score,
                s.score,
                s.score.clamp(0.0, 100.0)
            );
        }
        None => p.body.push_str(
            "<div class=\"card score info\"><div class=\"big\">–</div><div>Performance Score: nothing to score</div></div>",
        ),
    }
    p.body.push_str("</div>");
    if !report.budgets.is_empty() {
        budgets_table(p, &report.budgets);
    }
    if let Some(s) = &score {
        score_table(p, s);
    }
    p.end_section();
}

fn budgets_table(p: &mut Page, budgets: &[BudgetVerdict]) {
    p.body.push_str(
        "<h3>Budgets</h3><div class=\"table-wrap\"><table class=\"budgets\"><thead><tr><th>Result</th><th>Budget</th><th>Benchmark</th><th class=\"num\">Measured</th><th class=\"num\">Limit</th></tr></thead><tbody>",
    );
    for v in budgets {
        let (cls, word) = if v.passed {
            ("pass", "pass")
        } else {
            ("fail", "fail")
        };
        let _ = write!(
            p.body,
            "<tr class=\"{cls}\"><td><span class=\"badge {cls}\">{word}</span></td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            html(&v.budget),
            html(&v.benchmark),
            html(&format!(
                "{} of {}",
                v.unit.format(v.actual),
                stat_label(&v.statistic, &v.metric)
            )),
            html(&v.unit.format(v.threshold)),
        );
    }
    p.body.push_str("</tbody></table></div>");
}

fn stat_label(statistic: &str, metric: &str) -> String {
    if statistic == "value" {
        metric.to_string()
    } else {
        format!("{statistic}({metric})")
    }
}

fn score_table(p: &mut Page, s: &PerformanceScore) {
    p.body.push_str(
        "<h3>Performance Score</h3><p class=\"hint\">The mean of the components below, each normalized to 0–100 against its target. A summary for people; budgets gate.</p><div class=\"table-wrap\"><table class=\"score-table\"><thead><tr><th>Component</th><th>Benchmark</th><th class=\"num\">Measured</th><th class=\"num\">Target</th><th>Normalization</th><th class=\"num\">Score</th></tr></thead><tbody>",
    );
    for c in &s.components {
        let (label, unit, formula) = match c.name.as_str() {
            "latency" => ("Latency (p95)", Unit::Seconds, "100 × min(1, target ÷ p95)"),
            "cpu_efficiency" => (
                "CPU efficiency",
                Unit::Ratio,
                "100 × min(1, target ÷ utilization); utilization = mean CPU ÷ logical CPUs",
            ),
            "memory_efficiency" => (
                "Memory efficiency",
                Unit::Ratio,
                "100 × min(1, efficiency ÷ target); efficiency = mean RSS ÷ peak RSS",
            ),
            _ => (c.name.as_str(), Unit::Number, ""),
        };
        let _ = write!(
            p.body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"formula\">{}</td><td class=\"num\"><span class=\"pill {}\">{:.0}</span></td></tr>",
            html(label),
            html(&c.benchmark),
            html(&unit.format(c.measured)),
            html(&unit.format(c.target)),
            html(formula),
            if c.score >= 90.0 {
                "pass"
            } else if c.score >= 50.0 {
                "warn"
            } else {
                "fail"
            },
            c.score
        );
    }
    for m in &s.missing {
        let (name, why) = m.split_once(": ").unwrap_or((m.as_str(), ""));
        let _ = write!(
            p.body,
            "<tr class=\"missing\"><td>{}</td><td colspan=\"4\">{}</td><td class=\"num\">–</td></tr>",
            html(&name.replace('_', " ")),
            html(why)
        );
    }
    p.body.push_str("</tbody></table></div>");
}

/// The comparisons with verdicts: the report's own, else computed against
/// the baseline.
fn verdicts(r: &HtmlReport<'_>) -> Vec<Comparison> {
    let own: Vec<Comparison> = r
        .report
        .comparisons
        .iter()
        .filter(|c| c.verdict.is_some())
        .cloned()
        .collect();
    if !own.is_empty() {
        return own;
    }
    match r.baseline {
        Some(base) => {
            compare_reports(base, r.report, &ChangeCriteria::default())
                .to_report(r.report, r.report.created)
                .comparisons
        }
        None => Vec::new(),
    }
}

fn comparisons(p: &mut Page, r: &HtmlReport<'_>) {
    let with_verdicts = verdicts(r);
    let relative: Vec<&Comparison> = r
        .report
        .comparisons
        .iter()
        .filter(|c| c.verdict.is_none())
        .collect();
    if with_verdicts.is_empty() && relative.is_empty() {
        return;
    }
    p.section("comparison", "Comparison");
    if !with_verdicts.is_empty() {
        let rows: Vec<CompareRow<'_>> = with_verdicts
            .iter()
            .map(|c| CompareRow {
                label: &c.benchmark,
                ratio: c.ratio,
                ci: c.ratio_ci.map(|ci| (ci.lower, ci.upper)),
                verdict: c.verdict.map_or("unchanged", |v| v.as_str()),
            })
            .collect();
        let min_effect = with_verdicts.iter().find_map(|c| c.min_effect);
        p.body.push_str("<h3>Against the baseline</h3>");
        p.chart(
            chart::comparison("Change against the baseline", &rows, min_effect),
            "Each dot is the change of the benchmark's primary metric, its bar the 95% confidence interval; the shaded band is the minimum effect that counts.",
        );
        p.body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>Benchmark</th><th>Metric</th><th class=\"num\">Baseline</th><th class=\"num\">This run</th><th class=\"num\">Change</th><th class=\"num\">95% CI</th><th class=\"num\">p (adj.)</th><th class=\"num\">Detectable</th><th>Verdict</th></tr></thead><tbody>",
        );
        for c in &with_verdicts {
            let unit = metric_unit(r.report, &c.benchmark, &c.metric);
            let v = c.verdict.map_or("unchanged", |v| v.as_str());
            let _ = write!(
                p.body,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><span class=\"badge v-{v}\">{v}</span></td></tr>",
                html(&c.benchmark),
                html(&c.metric),
                html(&c.base_value.map_or("–".into(), |x| unit.format(x))),
                html(&c.head_value.map_or("–".into(), |x| unit.format(x))),
                signed_pct(c.ratio),
                c.ratio_ci.map_or("–".into(), |ci| format!(
                    "{} … {}",
                    signed_pct(ci.lower),
                    signed_pct(ci.upper)
                )),
                c.p_adjusted.or(c.p_value).map_or("–".into(), p_value),
                perfhub_core::compare::detectable_cell(c, "≥", "–"),
            );
        }
        p.body.push_str("</tbody></table></div>");
        if let Some(method) = with_verdicts.iter().find_map(|c| c.method.as_deref()) {
            let _ = write!(p.body, "<p class=\"hint\">Method: {}.</p>", html(method));
        }
    }
    if !relative.is_empty() {
        p.body.push_str(
            "<h3>Relative speed</h3><div class=\"table-wrap\"><table><thead><tr><th>Benchmark</th><th>Against</th><th>Metric</th><th class=\"num\">Ratio</th><th class=\"num\">95% CI</th><th class=\"num\">p</th></tr></thead><tbody>",
        );
        for c in relative {
            let ratio = match c.ratio_stddev {
                Some(sd) => format!("{:.3} ± {:.3}", c.ratio, sd),
                None => format!("{:.3}", c.ratio),
            };
            let _ = write!(
                p.body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                html(&c.benchmark),
                html(&c.reference),
                html(&c.metric),
                html(&ratio),
                c.ratio_ci.map_or("–".into(), |ci| format!(
                    "{:.3} … {:.3}",
                    ci.lower, ci.upper
                )),
                c.p_value.map_or("–".into(), p_value),
            );
        }
        p.body.push_str("</tbody></table></div>");
    }
    p.end_section();
}

fn signed_pct(ratio: f64) -> String {
    format!("{:+.2}%", (ratio - 1.0) * 100.0).replace('-', "−")
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn metric_unit(report: &Report, benchmark: &str, metric: &str) -> Unit {
    report
        .benchmark(benchmark)
        .and_then(|b| b.measurement(metric))
        .map_or(Unit::Number, |m| m.unit)
}

fn wall_samples(b: &Benchmark) -> Option<&[f64]> {
    b.measurement(metric::WALL_TIME)
        .map(|m| m.samples.as_slice())
        .filter(|s| s.len() >= 2 && s.iter().all(|v| v.is_finite()))
}

fn distributions(p: &mut Page, r: &HtmlReport<'_>) {
    let benches: Vec<&Benchmark> = r
        .report
        .benchmarks
        .iter()
        .filter(|b| wall_samples(b).is_some())
        .collect();
    if benches.is_empty() {
        return;
    }
    p.section("benchmarks", "Benchmarks");
    for b in benches {
        let head = wall_samples(b).unwrap_or_default();
        let base = r
            .baseline
            .and_then(|base| base.benchmark(&b.name))
            .and_then(wall_samples);
        p.body.push_str("<article class=\"bench\">");
        bench_heading(p, b);
        let mut rows = vec![DistRow {
            label: "this run",
            class: "c-head",
            samples: head,
        }];
        if let Some(s) = base {
            rows.push(DistRow {
                label: "baseline",
                class: "c-base",
                samples: s,
            });
        }
        p.chart(
            chart::distribution(&format!("Wall time of {}", b.name), Unit::Seconds, &rows),
            &format!(
                "Wall time per run ({} runs{}): box from the first to the third quartile, line at the median, diamond at the mean, whiskers to 1.5 IQR; every run is a dot.",
                head.len(),
                base.map_or(String::new(), |s| format!(", baseline {}", s.len()))
            ),
        );
        let mut stats = String::from(
            "<div class=\"table-wrap\"><table class=\"stats\"><thead><tr><th></th><th class=\"num\">n</th><th class=\"num\">mean ± σ</th><th class=\"num\">median</th><th class=\"num\">p95</th><th class=\"num\">min</th><th class=\"num\">max</th></tr></thead><tbody>",
        );
        for row in &rows {
            let s = row.samples;
            let f = |v: Option<f64>| v.map_or("–".into(), |x| Unit::Seconds.format(x));
            let sd = perfhub_core::stats::stddev(s);
            let _ = write!(
                stats,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{} ± {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                row.label,
                s.len(),
                f(mean(s)),
                f(sd),
                f(percentile(s, 50.0)),
                f(percentile(s, 95.0)),
                f(percentile(s, 0.0)),
                f(percentile(s, 100.0)),
            );
        }
        stats.push_str("</tbody></table></div>");
        p.body.push_str(&stats);
        other_measurements(p, b);
        p.body.push_str("</article>");
    }
    p.end_section();
}

fn bench_heading(p: &mut Page, b: &Benchmark) {
    let _ = write!(p.body, "<h3>{}</h3>", html(&b.name));
    let mut facts = Vec::new();
    if let Some(c) = b.command.as_deref().filter(|c| *c != b.name) {
        facts.push(format!("<code>{}</code>", html(c)));
    }
    for (k, v) in &b.parameters {
        facts.push(format!("{} = {}", html(k), html(v)));
    }
    if !facts.is_empty() {
        let _ = write!(p.body, "<p class=\"meta\">{}</p>", facts.join(" · "));
    }
}

/// The series a chart already shows, left out of the measurements table.
fn charted(m: &Measurement) -> bool {
    m.metric.starts_with("interval_")
        || m.histogram.is_some()
        || m.metric == metric::WALL_TIME && m.samples.len() >= 2
}

/// A benchmark's other measurements, folded away.
fn other_measurements(p: &mut Page, b: &Benchmark) {
    let rows: Vec<&Measurement> = b.measurements.iter().filter(|m| !charted(m)).collect();
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        p.body,
        "<details><summary>All measurements ({})</summary><div class=\"table-wrap\"><table class=\"measurements\"><thead><tr><th>Metric</th><th class=\"num\">Value or mean</th><th class=\"num\">Median</th><th class=\"num\">Max</th><th class=\"num\">n</th></tr></thead><tbody>",
        rows.len()
    );
    for m in rows {
        let u = m.unit;
        let f = |v: Option<f64>| v.map_or("–".into(), |x| u.format(x));
        let (value, median, max, n) = if !m.samples.is_empty() {
            (
                mean(&m.samples),
                percentile(&m.samples, 50.0),
                percentile(&m.samples, 100.0),
                m.samples.len().to_string(),
            )
        } else if let Some(v) = m.value {
            (Some(v), None, None, String::new())
        } else if let Some(s) = &m.summary {
            (Some(s.mean), Some(s.median), Some(s.max), s.n.to_string())
        } else {
            (None, None, None, String::new())
        };
        let _ = write!(
            p.body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            html(&m.metric),
            html(&f(value)),
            html(&f(median)),
            html(&f(max)),
            n
        );
    }
    p.body.push_str("</tbody></table></div></details>");
}

fn histogram_of(b: &Benchmark, metric: &str) -> Option<LatencyHistogram> {
    let h = b.measurement(metric)?.latency_histogram().ok()?;
    (!h.is_empty()).then_some(h)
}

fn value_of(b: &Benchmark, metric: &str) -> Option<f64> {
    let m = b.measurement(metric)?;
    m.value.or_else(|| m.summary.as_ref().map(|s| s.mean))
}

fn samples_of<'b>(b: &'b Benchmark, metric: &str) -> Option<&'b [f64]> {
    b.measurement(metric)
        .map(|m| m.samples.as_slice())
        .filter(|s| !s.is_empty())
}

fn load_tests(p: &mut Page, r: &HtmlReport<'_>) {
    let benches: Vec<(&Benchmark, LatencyHistogram)> = r
        .report
        .benchmarks
        .iter()
        .filter_map(|b| histogram_of(b, metric::LATENCY).map(|h| (b, h)))
        .collect();
    if benches.is_empty() {
        return;
    }
    p.section("load", "Load tests");
    for (b, h) in benches {
        p.body.push_str("<article class=\"bench\">");
        bench_heading(p, b);
        let mut figures: Vec<(String, String)> = Vec::new();
        if let Some(n) = value_of(b, metric::REQUESTS) {
            figures.push((metric::REQUESTS.into(), Unit::Count.format(n)));
        }
        if let Some(t) = value_of(b, metric::THROUGHPUT) {
            figures.push(("throughput".into(), Unit::PerSecond.format(t)));
        }
        if let Some(e) = value_of(b, metric::ERROR_RATE) {
            figures.push(("error rate".into(), Unit::Ratio.format(e)));
        }
        for (label, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
            figures.push((
                label.into(),
                Unit::Seconds.format(h.value_at_quantile_nanos(q) as f64 * 1e-9),
            ));
        }
        figures.push((
            "max".into(),
            Unit::Seconds.format(h.max_nanos() as f64 * 1e-9),
        ));
        p.body.push_str("<dl class=\"figures\">");
        for (k, v) in &figures {
            let _ = write!(
                p.body,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                html(k),
                html(v)
            );
        }
        p.body.push_str("</dl>");

        let service = histogram_of(b, metric::SERVICE_TIME);
        let base = r
            .baseline
            .and_then(|base| base.benchmark(&b.name))
            .and_then(|bb| histogram_of(bb, metric::LATENCY));
        let mut series = vec![SpectrumSeries {
            label: "latency",
            class: "c-head",
            points: spectrum::points(&h),
        }];
        if let Some(s) = &service {
            series.push(SpectrumSeries {
                label: "service time",
                class: "c-alt",
                points: spectrum::points(s),
            });
        }
        if let Some(s) = &base {
            series.push(SpectrumSeries {
                label: "baseline latency",
                class: "c-base",
                points: spectrum::points(s),
            });
        }
        p.chart(
            chart::percentile_spectrum(&format!("Latency by percentile, {}", b.name), &series),
            &format!(
                "Latency percentile spectrum of {} responses (HdrHistogram): each step right is one more nine.{}",
                h.len(),
                if service.is_some() {
                    " Latency counts from each request's intended send time; service time from the actual send."
                } else {
                    ""
                }
            ),
        );
        percentile_table(
            p,
            &series.iter().map(|s| s.label).collect::<Vec<_>>(),
            &[Some(&h), service.as_ref(), base.as_ref()],
        );
        statuses(p, b);
        if let Some(tp) = samples_of(b, metric::INTERVAL_THROUGHPUT) {
            let dt = value_of(b, metric::INTERVAL_SECONDS)
                .filter(|v| *v > 0.0)
                .unwrap_or(1.0);
            let t: Vec<f64> = (1..=tp.len()).map(|i| i as f64 * dt).collect();
            let mut panels = vec![Panel {
                label: "throughput (responses per second)",
                unit: Unit::PerSecond,
                class: "c-head",
                style: Style::Area,
                values: tp,
            }];
            if let Some(e) = samples_of(b, metric::INTERVAL_ERRORS) {
                panels.push(Panel {
                    label: "errors per interval",
                    unit: Unit::Count,
                    class: "c-err",
                    style: Style::Bars,
                    values: e,
                });
            }
            if let Some(p95) = samples_of(b, metric::INTERVAL_P95) {
                panels.push(Panel {
                    label: "p95 latency",
                    unit: Unit::Seconds,
                    class: "c-alt",
                    style: Style::Line,
                    values: p95,
                });
            }
            p.chart(
                chart::time_panels("load-over-time", &format!("Rate and errors over time, {}", b.name), &t, dt, &panels),
                &format!("Per interval of {}: responses per second, failed requests and the 95th percentile of latency.", Unit::Seconds.format(dt)),
            );
        }
        other_measurements(p, b);
        p.body.push_str("</article>");
    }
    p.end_section();
}

fn percentile_table(p: &mut Page, labels: &[&str], hists: &[Option<&LatencyHistogram>]) {
    let present: Vec<&LatencyHistogram> = hists.iter().flatten().copied().collect();
    p.body
        .push_str("<div class=\"table-wrap\"><table class=\"percentiles\"><thead><tr><th></th>");
    for k in 0..=4u32 {
        let _ = write!(
            p.body,
            "<th class=\"num\">{}</th>",
            if k == 0 {
                "p50".to_string()
            } else {
                format!("p{}", spectrum::tick_label(k).trim_end_matches('%'))
            }
        );
    }
    p.body
        .push_str("<th class=\"num\">max</th></tr></thead><tbody>");
    for (label, h) in labels.iter().zip(present) {
        let _ = write!(p.body, "<tr><th scope=\"row\">{}</th>", html(label));
        for k in 0..=4u32 {
            let q = if k == 0 {
                0.5
            } else {
                spectrum::p_of(f64::from(k))
            };
            let _ = write!(
                p.body,
                "<td class=\"num\">{}</td>",
                Unit::Seconds.format(h.value_at_quantile_nanos(q) as f64 * 1e-9)
            );
        }
        let _ = write!(
            p.body,
            "<td class=\"num\">{}</td></tr>",
            Unit::Seconds.format(h.max_nanos() as f64 * 1e-9)
        );
    }
    p.body.push_str("</tbody></table></div>");
}

fn statuses(p: &mut Page, b: &Benchmark) {
    let mut parts: Vec<String> = Vec::new();
    for m in &b.measurements {
        if let Some(code) = m.metric.strip_prefix("status.") {
            let n = m.value.unwrap_or(0.0);
            let class = if code.starts_with('2') || code.starts_with('3') {
                "ok"
            } else {
                "bad"
            };
            parts.push(format!(
                "<span class=\"status-code {class}\">{}</span> × {}",
                html(code),
                Unit::Count.format(n)
            ));
        }
        if let Some(kind) = m.metric.strip_prefix("errors.") {
            parts.push(format!(
                "<span class=\"status-code bad\">{}</span> × {}",
                html(kind),
                Unit::Count.format(m.value.unwrap_or(0.0))
            ));
        }
    }
    if !parts.is_empty() {
        let _ = write!(
            p.body,
            "<p class=\"statuses\">Responses: {}</p>",
            parts.join(", ")
        );
    }
}

fn timelines(p: &mut Page, r: &HtmlReport<'_>) {
    let benches: Vec<&Benchmark> = r
        .report
        .benchmarks
        .iter()
        .filter(|b| samples_of(b, "rss").is_some_and(|s| s.len() >= 2))
        .collect();
    if benches.is_empty() {
        return;
    }
    p.section("timeline", "Resource timeline");
    for b in benches {
        let n = samples_of(b, "rss").map_or(0, <[f64]>::len);
        let dt = r
            .timeline_interval
            .map(|d| d.as_secs_f64())
            .or_else(|| {
                b.measurement(metric::WALL_TIME)
                    .filter(|m| m.samples.is_empty())
                    .and_then(|m| m.value)
                    .map(|w| w / n as f64)
            })
            .filter(|v| *v > 0.0)
            .unwrap_or(0.05);
        let t: Vec<f64> = (1..=n).map(|i| i as f64 * dt).collect();
        let mut panels = Vec::new();
        if let Some(cpu) = samples_of(b, metric::CPU_UTILIZATION) {
            panels.push(Panel {
                label: "CPU (100% = one core)",
                unit: Unit::Ratio,
                class: "c-head",
                style: Style::Area,
                values: cpu,
            });
        }
        if let Some(rss) = samples_of(b, "rss") {
            panels.push(Panel {
                label: "resident memory (RSS)",
                unit: Unit::Bytes,
                class: "c-mem",
                style: Style::Area,
                values: rss,
            });
        }
        if let Some(th) = samples_of(b, "threads") {
            panels.push(Panel {
                label: "threads",
                unit: Unit::Count,
                class: "c-alt",
                style: Style::Line,
                values: th,
            });
        }
        for (name, label) in [
            ("read_rate", "read (bytes per second)"),
            ("write_rate", "written (bytes per second)"),
        ] {
            if let Some(s) = samples_of(b, name).filter(|s| s.iter().any(|v| *v > 0.0)) {
                panels.push(Panel {
                    label,
                    unit: Unit::BytesPerSecond,
                    class: "c-io",
                    style: Style::Line,
                    values: s,
                });
            }
        }
        p.body.push_str("<article class=\"bench\">");
        bench_heading(p, b);
        p.chart(
            chart::time_panels(
                "resource-timeline",
                &format!("Resources over time, {}", b.name),
                &t,
                dt,
                &panels,
            ),
            &format!(
                "{n} samples, one every {}, of the whole process tree.",
                Unit::Seconds.format(dt)
            ),
        );
        other_measurements(p, b);
        p.body.push_str("</article>");
    }
    p.end_section();
}

/// A script run inside each flame graph before inferno's, for two things a
/// frame does that a stand-alone SVG does not:
///
/// - inferno records its search and zoom in the URL with
///   `history.replaceState`, which a frame without a URL of its own
///   (`about:srcdoc`) may not do (it throws): the call is made harmless;
/// - a frame can be zero pixels wide for a moment (while the page lays out,
///   or is resized for printing or a screenshot), and inferno's resize
///   handler then gives the graph a negative width, which the browser
///   reports as an error: the handler waits until the frame has a width.
const FLAME_SHIM: &str = "<script type=\"text/ecmascript\"><![CDATA[(function(){\
var r=history.replaceState;history.replaceState=function(){try{return r.apply(history,arguments);}catch(e){}};\
var wide=function(){var s=document.querySelector('svg');return document.documentElement.clientWidth>40&&(!s||s.getBoundingClientRect().width>40);};\
var add=window.addEventListener;window.addEventListener=function(t,f,o){if(t==='resize'&&typeof f==='function'){var g=f;f=function(e){if(wide())return g.call(this,e);};}return add.call(this,t,f,o);};\
window.__perfhubWide=wide;})();]]></script>";

/// A script run inside each flame graph after inferno's: its `init` (the
/// root's `onload`) sizes the graph to the frame, so it waits until the
/// frame has a width.
const FLAME_INIT: &str = "<script type=\"text/ecmascript\"><![CDATA[(function(){if(typeof init!=='function')return;var i=init;init=function(evt){(function go(){if(window.__perfhubWide()){i(evt);}else{setTimeout(go,20);}})();};})();]]></script>";

/// The document a flame graph's frame holds: the SVG from its root element
/// on (the XML prolog and doctype mean nothing to HTML), with the shim after
/// the root's start tag and [`FLAME_INIT`] before its end tag, in a minimal
/// HTML page; and the SVG's height.
///
/// The HTML parser keeps inferno's script working: `<![CDATA[` is honoured
/// inside `<svg>`, the root's `onload` fires, and `fg:x`-style attributes
/// stay readable by name. HTML gives a `<svg>` without a width 300 px, so the
/// page's style makes it fill the frame, as inferno's fluid drawing expects.
fn flame_document(svg: &str) -> (String, Option<u32>) {
    let start = svg.find("<svg").unwrap_or(0);
    let end = svg[start..].find('>').map_or(start, |i| start + i + 1);
    let tag = &svg[start..end];
    let height = tag
        .split_once(" height=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|h| h.trim_end_matches("px").parse::<f64>().ok())
        .filter(|h| h.is_finite() && *h > 0.0)
        .map(|h| h.ceil() as u32);
    let mut doc = String::with_capacity(svg.len() + FLAME_SHIM.len() + 200);
    doc.push_str(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>html,body{margin:0;background:#fff}body>svg{display:block;width:100%}</style></head><body>",
    );
    doc.push_str(&svg[start..end]);
    doc.push_str(FLAME_SHIM);
    let rest = &svg[end..];
    match rest.rfind("</svg>") {
        Some(close) => {
            doc.push_str(&rest[..close]);
            doc.push_str(FLAME_INIT);
            doc.push_str(&rest[close..]);
        }
        None => doc.push_str(rest),
    }
    doc.push_str("</body></html>");
    (doc, height)
}

fn flamegraphs(p: &mut Page, flames: &[Flame]) {
    if flames.is_empty() {
        return;
    }
    p.section("flamegraphs", "Flame graphs");
    p.body.push_str("<p class=\"hint no-print\">Click a frame to zoom in; Search (top right of the graph, or Ctrl+F inside it) highlights frames by name.</p>");
    for (i, f) in flames.iter().enumerate() {
        let (doc, height) = flame_document(&f.svg);
        // The SVG keeps its own document (inferno's script expects to be the
        // whole page) in a frame whose content travels in the attribute: no
        // file beside the page, no URL length limit, and, unlike a data:
        // URL, the frame shares the page's origin, so the browser lets its
        // Search button ask for the term.
        let _ = write!(
            p.body,
            "<figure class=\"flame\"><h3>{t}</h3><iframe class=\"flamegraph\" data-flame=\"{i}\" title=\"Flame graph: {t}\" height=\"{h}\" style=\"height:{h}px\" srcdoc=\"{}\"></iframe></figure>",
            html(&doc),
            t = html(&f.title),
            h = height.unwrap_or(480) + 2,
        );
    }
    p.end_section();
}

fn trends(p: &mut Page, trends: &[Trend]) {
    let drawn: Vec<&Trend> = trends
        .iter()
        .filter(|t| !t.points.is_empty() && t.points.iter().all(|x| x.1.is_finite()))
        .collect();
    if drawn.is_empty() {
        return;
    }
    p.section("trends", "History");
    p.body.push_str("<div class=\"grid-2\">");
    for t in drawn {
        let last = t
            .points
            .last()
            .map(|x| t.unit.format(x.1))
            .unwrap_or_default();
        let title = format!("{} · {}", t.benchmark, t.metric);
        let _ = write!(p.body, "<div><h3>{}</h3>", html(&title));
        p.chart(
            chart::trend(&title, t.unit, &t.points),
            &format!("{} recorded runs, latest {last}", t.points.len()),
        );
        p.body.push_str("</div>");
    }
    p.body.push_str("</div>");
    p.end_section();
}

fn notes(p: &mut Page, report: &Report) {
    let mut all: Vec<(Option<&str>, &Note)> = report.notes.iter().map(|n| (None, n)).collect();
    for b in &report.benchmarks {
        all.extend(b.notes.iter().map(|n| (Some(b.name.as_str()), n)));
    }
    if all.is_empty() {
        return;
    }
    p.section("notes", "Notes");
    p.body.push_str("<ul class=\"notes\">");
    for (bench, n) in all {
        let sev = match n.severity {
            Severity::Warning => "warning",
            _ => "info",
        };
        let _ = write!(
            p.body,
            "<li class=\"{sev}\"><span class=\"badge {sev}\">{sev}</span> {}{}</li>",
            bench.map_or(String::new(), |b| format!("<strong>{}</strong>: ", html(b))),
            html(&n.message)
        );
    }
    p.body.push_str("</ul>");
    p.end_section();
}
