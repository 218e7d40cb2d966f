//! Reports as metric families, written in the Prometheus text format 0.0.4
//! or OpenMetrics 1.0.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Measurement, Report};
use perfhub_core::score::{ScoreTargets, performance_score};
use perfhub_core::stats::Summary;
use perfhub_core::units::Unit;

use crate::names::{
    escape_help, escape_label_value, family_name, format_value, is_valid_label_name,
    quantile_label, sanitize_label_name, unit_suffix,
};

/// The two text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text exposition format 0.0.4, which Prometheus, the
    /// Pushgateway, node_exporter's textfile collector and `promtool` read.
    Prometheus,
    /// OpenMetrics 1.0 text: `_total` counters, `# UNIT`, `info` and `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The HTTP `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an HTTP `Accept` header asks for: OpenMetrics when it
    /// accepts `application/openmetrics-text` at least as much as the
    /// Prometheus text format (`text/plain`, `*/*`), else the text format,
    /// which is also the answer without a header.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Prometheus;
        };
        let mut openmetrics: f64 = 0.0;
        let mut text: f64 = 0.0;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0;
            for param in parts {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse::<f64>().unwrap_or(0.0);
                    if !(0.0..=1.0).contains(&q) {
                        q = 0.0;
                    }
                }
            }
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= text {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

/// A report with labels to put on each of its series, such as
/// `("env", "ci")`.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The report.
    pub report: &'a Report,
    /// Extra labels. Names are made valid (see [`sanitize_label_name`]);
    /// a label that perfhub sets itself (`benchmark`, `quantile`, ...) wins
    /// over an extra label of the same name.
    pub labels: &'a [(String, String)],
}

/// The exposition of `reports` in `format`.
///
/// Series are grouped into one family per metric across reports; when two
/// reports give a series with the same name and labels, the first one is
/// kept (give reports distinguishing labels with [`exposition_labeled`]).
/// No series carries a timestamp.
pub fn exposition(reports: &[Report], format: Format) -> String {
    let sources: Vec<Source<'_>> = reports
        .iter()
        .map(|report| Source {
            report,
            labels: &[],
        })
        .collect();
    exposition_labeled(&sources, format)
}

/// The exposition of reports, each with its own extra labels.
pub fn exposition_labeled(sources: &[Source<'_>], format: Format) -> String {
    let mut families = Families::default();
    for source in sources {
        add_report(&mut families, source);
    }
    families.render(format)
}

/// The `le` bounds of latency histograms in nanoseconds: 1-2.5-5 steps
/// from 1 µs to 100 s, the same for every series so that buckets add up
/// across benchmarks, reports and machines.
pub const LATENCY_BUCKETS_NANOS: [u64; 25] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    25_000_000_000,
    50_000_000_000,
    100_000_000_000,
];

/// Cumulative bucket counts of a histogram: for each bound in
/// [`LATENCY_BUCKETS_NANOS`], the number of recorded values whose value
/// in the histogram is at most the bound, then the total for `+Inf`.
///
/// A value's value in the histogram is the highest value equivalent to it
/// at the histogram's resolution, the one its percentiles and maximum
/// report; the counts are exact with respect to that value.
pub fn cumulative_buckets(h: &LatencyHistogram) -> Vec<u64> {
    let mut counts = vec![0u64; LATENCY_BUCKETS_NANOS.len() + 1];
    for v in h.inner().iter_recorded() {
        let value = v.value_iterated_to();
        let first = LATENCY_BUCKETS_NANOS.partition_point(|&b| b < value);
        // Adding each value to its first bucket, then a running sum, keeps
        // this linear in the recorded values.
        counts[first] = counts[first].saturating_add(v.count_at_value());
    }
    let mut running: u64 = 0;
    for c in &mut counts {
        running = running.saturating_add(*c);
        *c = running;
    }
    counts
}

/// The `le` label of a bound in nanoseconds, as an exact decimal of seconds.
fn le_label(nanos: u64) -> String {
    let whole = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The sum of a histogram's values in seconds, each value taken at the
/// middle of its equivalent range, as HdrHistogram's mean does.
fn histogram_sum_seconds(h: &LatencyHistogram) -> f64 {
    let inner = h.inner();
    let nanos: u128 = inner
        .iter_recorded()
        .map(|v| {
            u128::from(inner.median_equivalent(v.value_iterated_to()))
                * u128::from(v.count_at_value())
        })
        .sum();
    nanos as f64 * perfhub_core::histogram::HISTOGRAM_UNIT_SECONDS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Summary,
    Histogram,
    Info,
}

impl Kind {
    /// The word that moves a family of this kind aside from a family of
    /// another kind with the same name; not the type's name, which
    /// `promtool check metrics` refuses in metric names.
    fn aside(self) -> &'static str {
        match self {
            Kind::Gauge => "value",
            Kind::Counter => "events",
            Kind::Summary => "samples",
            Kind::Histogram => "distribution",
            Kind::Info => "details",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Summary => "summary",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
        }
    }
}

#[derive(Debug)]
enum Points {
    Value(f64),
    Summary {
        /// (quantile label, value), ascending.
        quantiles: Vec<(String, f64)>,
        sum: f64,
        count: u64,
    },
    Histogram {
        /// Cumulative counts, one per bound then `+Inf`.
        buckets: Vec<u64>,
        sum: f64,
    },
}

#[derive(Debug)]
struct Series {
    labels: Vec<(String, String)>,
    points: Points,
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: Kind,
    unit: Option<&'static str>,
    help: String,
    series: Vec<Series>,
    /// Hashes of the series' label sets: a report of 100,000 benchmarks
    /// makes families of 100,000 series, too many to compare each new one
    /// with every other.
    label_hashes: HashSet<u64>,
}

#[derive(Default)]
struct Families {
    list: Vec<Family>,
    index: HashMap<String, usize>,
}

/// Label names perfhub sets itself; extra labels of these names are dropped.
const OWN_LABELS: [&str; 7] = [
    "benchmark",
    "budget",
    "metric",
    "component",
    "quantile",
    "le",
    "kind",
];

/// A family to add a series to.
struct Target<'a> {
    name: String,
    kind: Kind,
    unit: Option<&'static str>,
    help: &'a str,
}

impl Families {
    /// Adds a series, creating its family; a family of another type with the
    /// same name sends the series to `<name>_<aside word>` (before the unit).
    fn add(&mut self, target: Target<'_>, labels: Vec<(String, String)>, points: Points) {
        let mut name = target.name;
        if let Some(&i) = self.index.get(&name)
            && self.list[i].kind != target.kind
        {
            name = with_infix(&name, target.unit, target.kind.aside());
        }
        let i = match self.index.get(&name) {
            Some(&i) if self.list[i].kind == target.kind => i,
            // Still taken by another type: give up on this series rather
            // than write an invalid exposition.
            Some(_) => return,
            None => {
                self.list.push(Family {
                    name: name.clone(),
                    kind: target.kind,
                    unit: target.unit,
                    help: target.help.to_string(),
                    series: Vec::new(),
                    label_hashes: HashSet::new(),
                });
                self.index.insert(name, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let family = &mut self.list[i];
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&labels);
        // A hash seen before is a duplicate unless it is a collision.
        if !family.label_hashes.insert(hash) && family.series.iter().any(|s| s.labels == labels) {
            return;
        }
        family.series.push(Series { labels, points });
    }

    fn render(&self, format: Format) -> String {
        let om = format == Format::OpenMetrics;
        let mut out = String::new();
        for f in &self.list {
            if f.series.is_empty() {
                continue;
            }
            // The name on TYPE/HELP lines, and the name of value samples.
            let (meta_name, sample_name, type_word) = match (f.kind, om) {
                (Kind::Counter, true) => (f.name.clone(), format!("{}_total", f.name), "counter"),
                (Kind::Counter, false) => {
                    let n = format!("{}_total", f.name);
                    (n.clone(), n, "counter")
                }
                (Kind::Info, true) => (f.name.clone(), format!("{}_info", f.name), "info"),
                (Kind::Info, false) => {
                    let n = format!("{}_info", f.name);
                    (n.clone(), n, "gauge")
                }
                (kind, _) => (f.name.clone(), f.name.clone(), kind.word()),
            };
            let help = escape_help(&f.help, om);
            if om {
                let _ = writeln!(out, "# TYPE {meta_name} {type_word}");
                if let Some(unit) = f.unit
                    && meta_name.ends_with(&format!("_{unit}"))
                {
                    let _ = writeln!(out, "# UNIT {meta_name} {unit}");
                }
                let _ = writeln!(out, "# HELP {meta_name} {help}");
            } else {
                let _ = writeln!(out, "# HELP {meta_name} {help}");
                let _ = writeln!(out, "# TYPE {meta_name} {type_word}");
            }
            for s in &f.series {
                match &s.points {
                    Points::Value(v) => line(&mut out, &sample_name, &s.labels, None, *v),
                    Points::Summary {
                        quantiles,
                        sum,
                        count,
                    } => {
                        for (q, v) in quantiles {
                            line(&mut out, &f.name, &s.labels, Some(("quantile", q)), *v);
                        }
                        line(&mut out, &format!("{}_sum", f.name), &s.labels, None, *sum);
                        count_line(&mut out, &format!("{}_count", f.name), &s.labels, *count);
                    }
                    Points::Histogram { buckets, sum } => {
                        let bucket_name = format!("{}_bucket", f.name);
                        for (i, count) in buckets.iter().enumerate() {
                            let le = LATENCY_BUCKETS_NANOS
                                .get(i)
                                .map_or_else(|| "+Inf".to_string(), |&b| le_label(b));
                            let labels = with_label(&s.labels, "le", &le);
                            count_line(&mut out, &bucket_name, &labels, *count);
                        }
                        let total = buckets.last().copied().unwrap_or(0);
                        line(&mut out, &format!("{}_sum", f.name), &s.labels, None, *sum);
                        count_line(&mut out, &format!("{}_count", f.name), &s.labels, total);
                    }
                }
            }
        }
        if om {
            out.push_str("# EOF\n");
        }
        out
    }
}

fn with_label(labels: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut v = labels.to_vec();
    v.push((name.to_string(), value.to_string()));
    v
}

fn write_labels(out: &mut String, labels: &[(String, String)], extra: Option<(&str, &str)>) {
    let all = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra);
    let mut first = true;
    for (k, v) in all {
        out.push(if first { '{' } else { ',' });
        first = false;
        let _ = write!(out, "{k}=\"{}\"", escape_label_value(v));
    }
    if !first {
        out.push('}');
    }
}

fn line(
    out: &mut String,
    name: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    value: f64,
) {
    out.push_str(name);
    write_labels(out, labels, extra);
    let _ = writeln!(out, " {}", format_value(value));
}

fn count_line(out: &mut String, name: &str, labels: &[(String, String)], count: u64) {
    out.push_str(name);
    write_labels(out, labels, None);
    let _ = writeln!(out, " {count}");
}

/// `name` with `_<infix>` inserted before its unit suffix, or appended.
fn with_infix(name: &str, unit: Option<&str>, infix: &str) -> String {
    if let Some(unit) = unit
        && let Some(stem) = name.strip_suffix(&format!("_{unit}"))
    {
        return format!("{stem}_{infix}_{unit}");
    }
    format!("{name}_{infix}")
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "in seconds",
        Unit::Bytes => "in bytes",
        Unit::Count => "a count",
        Unit::PerSecond => "per second",
        Unit::BytesPerSecond => "in bytes per second",
        Unit::Ratio => "as a ratio (1 is 100%)",
        Unit::Number => "a number",
    }
}

/// The extra labels of a source, valid and without perfhub's own names.
fn extra_labels(source: &Source<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in source.labels {
        let k = if is_valid_label_name(k) {
            k.clone()
        } else {
            sanitize_label_name(k)
        };
        if OWN_LABELS.contains(&k.as_str()) || out.iter().any(|(e, _)| *e == k) {
            continue;
        }
        out.push((k, v.clone()));
    }
    out
}

fn add_report(families: &mut Families, source: &Source<'_>) {
    let report = source.report;
    let extra = extra_labels(source);
    let labeled = |own: &[(&str, &str)]| -> Vec<(String, String)> {
        own.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(
                extra
                    .iter()
                    .filter(|(k, _)| !own.iter().any(|(o, _)| o == k))
                    .cloned(),
            )
            .collect()
    };

    // What produced the report, as an info metric.
    let kind = report_kind(report);
    let mut info: Vec<(&str, &str)> = vec![
        ("kind", kind.as_str()),
        ("tool", report.tool.name.as_str()),
        ("version", report.tool.version.as_str()),
    ];
    if let Some(env) = &report.environment {
        let optional = [
            ("hostname", &env.hostname),
            ("git_commit", &env.git_commit),
            ("git_branch", &env.git_branch),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                info.push((k, v.as_str()));
            }
        }
        info.push(("fingerprint", env.fingerprint.as_str()));
    }
    families.add(
        Target {
            name: "perfhub_report".into(),
            kind: Kind::Info,
            unit: None,
            help: "The perfhub report: what wrote it, where, and at which commit",
        },
        labeled(&info),
        Points::Value(1.0),
    );
    families.add(
        Target {
            name: "perfhub_report_timestamp_seconds".into(),
            kind: Kind::Gauge,
            unit: Some("seconds"),
            help: "When the report's run started, in seconds since the Unix epoch",
        },
        labeled(&[]),
        Points::Value(report.created.unix as f64),
    );

    for b in &report.benchmarks {
        for m in &b.measurements {
            add_measurement(families, b, m, &extra);
        }
    }

    for v in &report.budgets {
        families.add(
            Target {
                name: "perfhub_budget_passed".into(),
                kind: Kind::Gauge,
                unit: None,
                help: "Whether a budget held (1) or was breached (0)",
            },
            labeled(&[
                ("benchmark", &v.benchmark),
                ("metric", &v.metric),
                ("budget", &v.budget),
            ]),
            Points::Value(if v.passed { 1.0 } else { 0.0 }),
        );
    }

    if let Some(score) = performance_score(report, &ScoreTargets::default(), None) {
        families.add(
            Target {
                name: "perfhub_performance_score".into(),
                kind: Kind::Gauge,
                unit: None,
                help: "The Performance Score of the report, 0 to 100, against the default targets",
            },
            labeled(&[]),
            Points::Value(score.score),
        );
        for c in &score.components {
            families.add(
                Target {
                    name: "perfhub_performance_score_component".into(),
                    kind: Kind::Gauge,
                    unit: None,
                    help: "One component of the Performance Score, 0 to 100, and the benchmark it was read from",
                },
                labeled(&[("component", &c.name), ("benchmark", &c.benchmark)]),
                Points::Value(c.score),
            );
        }
    }
}

fn report_kind(report: &Report) -> String {
    // The kind's serialized name (`run`, `load`, ...), without serde here.
    let debug = format!("{:?}", report.kind);
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn add_measurement(
    families: &mut Families,
    b: &Benchmark,
    m: &Measurement,
    extra: &[(String, String)],
) {
    let name = family_name(&m.metric, m.unit);
    let unit = unit_suffix(m.unit);
    let mut labels = vec![("benchmark".to_string(), b.name.clone())];
    labels.extend(extra.iter().cloned());
    let unit_text = unit_words(m.unit);

    if m.histogram.is_some()
        && let Ok(h) = m.latency_histogram()
    {
        let help = format!(
            "{} of each perfhub benchmark {unit_text}, bucketed from its HdrHistogram",
            m.metric
        );
        families.add(
            Target {
                name: name.clone(),
                kind: Kind::Histogram,
                unit,
                help: &help,
            },
            labels.clone(),
            Points::Histogram {
                buckets: cumulative_buckets(&h),
                sum: histogram_sum_seconds(&h),
            },
        );
        // The exact percentiles beside the buckets, which only bound them.
        if let Some(summary) = m.summary.clone().or_else(|| h.percentile_summary()) {
            let help = format!(
                "{} of each perfhub benchmark {unit_text}: percentiles of its HdrHistogram",
                m.metric
            );
            families.add(
                Target {
                    name: with_infix(&name, unit, "percentiles"),
                    kind: Kind::Summary,
                    unit,
                    help: &help,
                },
                labels,
                summary_points(&summary, &[]),
            );
        }
        return;
    }

    let summary = m.summary.clone().or_else(|| Summary::of(&m.samples));
    if let Some(summary) = summary {
        let help = format!(
            "{} of each perfhub benchmark {unit_text}: percentiles of its samples",
            m.metric
        );
        families.add(
            Target {
                name,
                kind: Kind::Summary,
                unit,
                help: &help,
            },
            labels,
            summary_points(&summary, &m.samples),
        );
        return;
    }
    if !m.samples.is_empty() {
        // Samples that cannot be summarized (NaN, infinities): their count
        // and sum still say something.
        let help = format!(
            "{} of each perfhub benchmark {unit_text}: its samples",
            m.metric
        );
        families.add(
            Target {
                name,
                kind: Kind::Summary,
                unit,
                help: &help,
            },
            labels,
            Points::Summary {
                quantiles: Vec::new(),
                sum: m.samples.iter().sum(),
                count: m.samples.len() as u64,
            },
        );
        return;
    }
    if let Some(v) = m.value {
        let help = format!("{} of each perfhub benchmark {unit_text}", m.metric);
        let counter = m.unit == Unit::Count && v.is_finite() && v >= 0.0;
        families.add(
            Target {
                name,
                kind: if counter { Kind::Counter } else { Kind::Gauge },
                unit,
                help: &help,
            },
            labels,
            Points::Value(v),
        );
    }
}

fn summary_points(s: &Summary, samples: &[f64]) -> Points {
    let mut quantiles: Vec<(String, f64)> = Vec::new();
    quantiles.push(("0".to_string(), s.min));
    for (key, v) in &s.percentiles {
        if let Some(q) = quantile_label(key) {
            quantiles.push((q, *v));
        }
    }
    if !quantiles.iter().any(|(q, _)| q == "0.5") {
        quantiles.push(("0.5".to_string(), s.median));
    }
    quantiles.push(("1".to_string(), s.max));
    // By quantile; a percentile key `p0` or `p100` gives way to min and max.
    quantiles.sort_by(|a, b| {
        let (x, y) = (
            a.0.parse::<f64>().unwrap_or(0.0),
            b.0.parse::<f64>().unwrap_or(0.0),
        );
        x.total_cmp(&y)
    });
    quantiles.dedup_by(|later, earlier| later.0 == earlier.0);
    let sum = if samples.is_empty() {
        s.mean * s.n as f64
    } else {
        samples.iter().sum()
    };
    Points::Summary {
        quantiles,
        sum,
        count: s.n as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfhub_core::report::{Measurement, ReportKind, metric};

    fn hist(values_nanos: &[u64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for &v in values_nanos {
            h.record_nanos(v);
        }
        h
    }

    #[test]
    fn buckets_are_cumulative_and_exact_at_the_bounds() {
        // 1 µs sits on a bound; 1001 ns is above it at 3 significant digits.
        let h = hist(&[500, 1_000, 1_001, 2_400, 7_000_000, 200_000_000_000]);
        let b = cumulative_buckets(&h);
        assert_eq!(b.len(), LATENCY_BUCKETS_NANOS.len() + 1);
        assert_eq!(b[0], 2, "500 ns and 1000 ns are <= 1 µs");
        assert_eq!(b[1], 4, "1001 ns and 2400 ns are <= 2.5 µs");
        let ten_ms = LATENCY_BUCKETS_NANOS
            .iter()
            .position(|&x| x == 10_000_000)
            .unwrap();
        assert_eq!(b[ten_ms - 1], 4, "7 ms is above 5 ms");
        assert_eq!(b[ten_ms], 5);
        assert_eq!(
            b[LATENCY_BUCKETS_NANOS.len() - 1],
            5,
            "200 s is above 100 s"
        );
        assert_eq!(*b.last().unwrap(), 6);
        assert!(b.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn bucket_counts_agree_with_the_histograms_own_counts() {
        let values: Vec<u64> = (1..=5000u64).map(|i| i * i * 37 % 90_000_000 + 1).collect();
        let h = hist(&values);
        let b = cumulative_buckets(&h);
        for (i, &bound) in LATENCY_BUCKETS_NANOS.iter().enumerate() {
            let expected: u64 = h
                .inner()
                .iter_recorded()
                .filter(|v| v.value_iterated_to() <= bound)
                .map(|v| v.count_at_value())
                .sum();
            assert_eq!(b[i], expected, "le {bound}");
        }
        assert_eq!(*b.last().unwrap(), h.len());
        let mean = h.mean_nanos() * 1e-9;
        let sum = histogram_sum_seconds(&h);
        assert!((sum / h.len() as f64 - mean).abs() < 1e-12, "{sum} {mean}");
    }

    #[test]
    fn le_labels_are_exact_decimals() {
        assert_eq!(le_label(1_000), "0.000001");
        assert_eq!(le_label(2_500), "0.0000025");
        assert_eq!(le_label(250_000_000), "0.25");
        assert_eq!(le_label(1_000_000_000), "1");
        assert_eq!(le_label(2_500_000_000), "2.5");
        assert_eq!(le_label(100_000_000_000), "100");
        for &b in &LATENCY_BUCKETS_NANOS {
            let parsed: f64 = le_label(b).parse().unwrap();
            assert_eq!(parsed, b as f64 / 1e9);
        }
    }

    #[test]
    fn accept_headers_choose_the_format() {
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=1.0.0")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Prometheus
        );
        assert_eq!(Format::negotiate(Some(";;,=,q")), Format::Prometheus);
    }

    #[test]
    fn empty_and_odd_reports_render_without_panicking() {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let empty = exposition(&[], format);
            assert_eq!(
                empty,
                if format == Format::OpenMetrics {
                    "# EOF\n"
                } else {
                    ""
                }
            );
            let mut r = Report::new(ReportKind::Run, perfhub_core::time::UtcTime { unix: 0 });
            let mut b = Benchmark::new("we\"ird\\na\nme", "x");
            b.measurements.push(Measurement::from_samples(
                "nan",
                Unit::Seconds,
                vec![f64::NAN, 1.0],
            ));
            b.measurements
                .push(Measurement::from_value("inf", Unit::Ratio, f64::INFINITY));
            b.measurements
                .push(Measurement::from_value("neg", Unit::Count, -1.0));
            b.measurements
                .push(Measurement::from_value("neg", Unit::Count, 2.0));
            b.measurements.push(Measurement::from_value(
                metric::ERROR_RATE,
                Unit::Ratio,
                f64::NAN,
            ));
            let mut broken = Measurement::from_value("latency", Unit::Seconds, 0.1);
            // A histogram of another unit than nanoseconds.
            broken.histogram = Some((&LatencyHistogram::new()).into());
            broken.histogram_unit = Some(1e-3);
            b.measurements.push(broken);
            b.measurements
                .push(Measurement::from_samples("", Unit::Number, vec![]));
            r.benchmarks.push(b);
            let text = exposition(&[r.clone(), r], format);
            assert!(
                text.contains("benchmark=\"we\\\"ird\\\\na\\nme\""),
                "{text}"
            );
            assert!(text.contains("perfhub_nan_seconds_count{"), "{text}");
            assert!(text.contains("perfhub_inf_ratio{"), "{text}");
            assert!(
                text.contains("perfhub_error_rate_ratio{benchmark=\"we\\\"ird\\\\na\\nme\"} NaN"),
                "{text}"
            );
            // The broken histogram falls back to its value.
            assert!(text.contains("perfhub_latency_seconds{"), "{text}");
            // -1 is a gauge; 2, a counter of the same name, moves aside.
            assert!(text.contains("perfhub_neg{benchmark"), "{text}");
            assert!(
                text.contains("perfhub_neg_events_total{benchmark"),
                "{text}"
            );
            // perfhub_report_info and perfhub_report_timestamp_seconds,
            // once each for the two reports.
            assert_eq!(text.matches("# TYPE perfhub_report").count(), 2, "{text}");
        }
    }

    #[test]
    fn a_kind_conflict_moves_the_later_family_aside() {
        let mut r = Report::new(ReportKind::Run, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut a = Benchmark::new("a", "t");
        a.measurements
            .push(Measurement::from_value("t", Unit::Seconds, 1.0));
        let mut b = Benchmark::new("b", "t");
        b.measurements.push(Measurement::from_samples(
            "t",
            Unit::Seconds,
            vec![1.0, 2.0],
        ));
        r.benchmarks = vec![a, b];
        let text = exposition(&[r], Format::OpenMetrics);
        assert!(text.contains("# TYPE perfhub_t_seconds gauge"), "{text}");
        assert!(
            text.contains("# TYPE perfhub_t_samples_seconds summary"),
            "{text}"
        );
        assert!(
            text.contains("# UNIT perfhub_t_samples_seconds seconds"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn extra_labels_are_repaired_and_never_override_perfhubs() {
        let mut r = Report::new(ReportKind::Load, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("total", "error_rate");
        b.measurements
            .push(Measurement::from_value("error_rate", Unit::Ratio, 0.25));
        r.benchmarks.push(b);
        let labels = vec![
            ("benchmark".to_string(), "nope".to_string()),
            ("env-name".to_string(), "c\"i".to_string()),
        ];
        let text = exposition_labeled(
            &[Source {
                report: &r,
                labels: &labels,
            }],
            Format::Prometheus,
        );
        assert!(
            text.contains("perfhub_error_rate_ratio{benchmark=\"total\",env_name=\"c\\\"i\"} 0.25"),
            "{text}"
        );
        assert!(
            text.contains("perfhub_report_info{kind=\"load\",tool=\"perfhub\""),
            "{text}"
        );
    }
}
