//! Trends drawn as text or SVG: pure functions of the points.

use std::fmt::Write;

use perfhub_core::ticks::nice_ticks_covering;
use perfhub_core::units::Unit;

use crate::Series;
use crate::time::{format_date, format_minutes};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One bar character per value, from `▁` (the smallest) to `█` (the
/// largest); a flat series is drawn at mid height, a non-finite value as a
/// space.
pub fn sparkline(values: &[f64]) -> String {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi <= lo {
                BARS[3]
            } else {
                // Halved so that the range of huge values cannot overflow.
                let level = ((v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0) * 7.0).round() as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// Colors of successive series (Okabe-Ito, readable by color-blind people).
const COLORS: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

const WIDTH: f64 = 880.0;
const PLOT_LEFT: f64 = 90.0;
const PLOT_RIGHT: f64 = 860.0;
const PLOT_TOP: f64 = 40.0;
const PLOT_BOTTOM: f64 = 340.0;
const LEGEND_ROW: f64 = 18.0;

/// A self-contained SVG line chart of `series`: one line per series, runs
/// evenly spaced in time order along the x axis, values along the y axis
/// labelled in the first series' unit, and a tooltip (`<title>`) on every
/// point with its value, commit and time.
pub fn svg_chart(series: &[Series]) -> String {
    let unit = series
        .iter()
        .flat_map(|s| s.points.first())
        .map(|p| p.unit)
        .next()
        .unwrap_or(Unit::Number);
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.value.is_finite())
    };
    let height = PLOT_BOTTOM + 60.0 + LEGEND_ROW * series.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    svg.push('\n');
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let metrics: Vec<&str> = {
        let mut m: Vec<&str> = series.iter().map(|s| s.metric.as_str()).collect();
        m.dedup();
        m
    };
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(&format!("{} over time", metrics.join(", ")))
    );

    let Some((t0, t1, v0, v1)) = bounds(finite()) else {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">no data</text>"#,
            WIDTH / 2.0,
            (PLOT_TOP + PLOT_BOTTOM) / 2.0
        );
        svg.push_str("</svg>\n");
        return svg;
    };
    let ticks = nice_ticks_covering(v0, v1, 5);
    let (y_lo, y_hi) = (
        ticks.first().copied().unwrap_or(v0),
        ticks.last().copied().unwrap_or(v1),
    );
    // Runs are spaced evenly in time order: runs taken close together (a
    // CI job recording several) stay apart, and a quiet month takes no room.
    let mut runs: Vec<(i64, crate::RunId)> = finite().map(|p| (p.time_millis, p.run_id)).collect();
    runs.sort();
    runs.dedup();
    let slot = |p: &crate::Point| runs.binary_search(&(p.time_millis, p.run_id)).unwrap_or(0);
    let x_at = |i: usize| {
        if runs.len() <= 1 {
            (PLOT_LEFT + PLOT_RIGHT) / 2.0
        } else {
            PLOT_LEFT + i as f64 / (runs.len() - 1) as f64 * (PLOT_RIGHT - PLOT_LEFT)
        }
    };
    let x_of = |p: &crate::Point| x_at(slot(p));
    let y_of = |v: f64| PLOT_BOTTOM - (v - y_lo) / (y_hi - y_lo) * (PLOT_BOTTOM - PLOT_TOP);

    // Grid and y axis labels.
    for &v in &ticks {
        let y = y_of(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="#e0e0e0"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            PLOT_LEFT - 6.0,
            y + 4.0,
            escape(&unit.format(v))
        );
    }
    // X axis labels: dates, or dates and times when the span is short.
    let span = t1 - t0;
    let label = |t: i64| {
        if span < 2 * 86_400_000 {
            format_minutes(t)
        } else {
            format_date(t)
        }
    };
    let last = runs.len().saturating_sub(1);
    let mut x_ticks: Vec<usize> = (0..=4).map(|i| last * i / 4).collect();
    x_ticks.dedup();
    for i in x_ticks {
        let x = x_at(i);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{PLOT_BOTTOM}" x2="{x:.1}" y2="{}" stroke="#333333"/>"##,
            PLOT_BOTTOM + 5.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            PLOT_BOTTOM + 20.0,
            escape(&label(runs[i].0))
        );
    }
    let _ = writeln!(
        svg,
        r##"<path d="M{PLOT_LEFT},{PLOT_TOP} V{PLOT_BOTTOM} H{PLOT_RIGHT}" fill="none" stroke="#333333"/>"##
    );
    let axis_unit = match unit.symbol() {
        "" => String::new(),
        s => format!(" ({s})"),
    };
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"#,
        (PLOT_TOP + PLOT_BOTTOM) / 2.0,
        (PLOT_TOP + PLOT_BOTTOM) / 2.0,
        escape(&format!("{}{axis_unit}", metrics.join(", ")))
    );

    // One line per series, a circle with a tooltip per point.
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<_> = s.points.iter().filter(|p| p.value.is_finite()).collect();
        let _ = write!(
            svg,
            r#"<g class="series" fill="none" stroke="{color}"><title>{}</title>"#,
            escape(&s.benchmark)
        );
        if points.len() > 1 {
            let path: Vec<String> = points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x_of(p), y_of(p.value)))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline points="{}" stroke-width="2"/>"#,
                path.join(" ")
            );
        }
        svg.push('\n');
        for p in points {
            let commit = p.commit.as_deref().map_or("no commit", short_commit);
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>{}: {} at {} ({})</title></circle>"#,
                x_of(p),
                y_of(p.value),
                escape(&s.benchmark),
                escape(&p.unit.format(p.value)),
                escape(commit),
                escape(&p.time)
            );
        }
        svg.push_str("</g>\n");
        let y = PLOT_BOTTOM + 48.0 + LEGEND_ROW * i as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{PLOT_LEFT}" y="{:.1}" width="14" height="4" fill="{color}"/><text x="{}" y="{y:.1}">{}</text>"#,
            y - 6.0,
            PLOT_LEFT + 20.0,
            escape(&format!("{} ({})", s.benchmark, s.metric))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `series` split for [`svg_chart`], which has one unit: those in the unit
/// of the first series with a point, and the others.
pub fn split_by_unit(series: Vec<Series>) -> (Vec<Series>, Vec<Series>) {
    let unit = series.iter().find_map(|s| s.points.last()).map(|p| p.unit);
    series
        .into_iter()
        .partition(|s| s.points.last().map(|p| p.unit) == unit)
}

/// The first 8 characters of a commit hash.
pub fn short_commit(commit: &str) -> &str {
    match commit.char_indices().nth(8) {
        Some((i, _)) => &commit[..i],
        None => commit,
    }
}

/// Time and value ranges of the points, `None` when there are none.
fn bounds<'a>(points: impl Iterator<Item = &'a crate::Point>) -> Option<(i64, i64, f64, f64)> {
    points.fold(None, |acc, p| {
        Some(match acc {
            None => (p.time_millis, p.time_millis, p.value, p.value),
            Some((t0, t1, v0, v1)) => (
                t0.min(p.time_millis),
                t1.max(p.time_millis),
                v0.min(p.value),
                v1.max(p.value),
            ),
        })
    })
}

/// Escapes `text` for XML (this SVG is a standalone XML document): text
/// and quoted attribute values. Not perfhub-html's HTML escaper: XML keeps
/// `\r` and has `&apos;`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Point, RunId};

    #[test]
    fn sparkline_spans_the_bars() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0, 5.0]), "▄▄▄");
        assert_eq!(sparkline(&[0.0, f64::NAN, 1.0]), "▁ █");
        assert_eq!(sparkline(&[f64::INFINITY]), " ");
        assert_eq!(sparkline(&[-1e308, 1e308]), "▁█");
    }

    fn point(i: i64, value: f64, commit: &str) -> Point {
        Point {
            run_id: RunId(i),
            time: format!("2026-01-0{}T00:00:00Z", i + 1),
            time_millis: 1_767_225_600_000 + i * 86_400_000,
            commit: Some(commit.to_string()),
            branch: Some("main".into()),
            machine: None,
            value,
            unit: Unit::Seconds,
            samples: vec![],
        }
    }

    #[test]
    fn svg_chart_is_xml_with_tooltips_and_units() {
        let series = vec![
            Series {
                benchmark: "parse <big> & \"small\"".into(),
                metric: "wall_time".into(),
                points: (0..5)
                    .map(|i| point(i, 0.010 + i as f64 * 0.001, "0123456789abcdef"))
                    .collect(),
            },
            Series {
                benchmark: "render".into(),
                metric: "wall_time".into(),
                points: vec![point(1, 0.02, "fedcba9876543210")],
            },
        ];
        let svg = svg_chart(&series);
        let doc = roxmltree::Document::parse(&svg).expect("the chart is XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let polylines = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .count();
        assert_eq!(polylines, 1, "a single point draws no line");
        let titles: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text())
            .collect();
        assert!(
            titles
                .iter()
                .any(|t| t.contains("01234567") && !t.contains("012345678") && t.contains("ms")),
            "{titles:?}"
        );
        assert!(titles.iter().any(|t| t.contains("parse <big> & \"small\"")));
        assert!(svg.contains(" ms<"), "y axis labels carry units");
        assert!(svg.contains("2026-01-01"));
    }

    #[test]
    fn runs_at_the_same_time_stay_apart() {
        let mut a = point(0, 1.0, "a");
        let mut b = point(0, 2.0, "b");
        a.run_id = RunId(1);
        b.run_id = RunId(2);
        let svg = svg_chart(&[Series {
            benchmark: "x".into(),
            metric: "m".into(),
            points: vec![a, b],
        }]);
        let doc = roxmltree::Document::parse(&svg).expect("XML");
        let xs: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .filter_map(|n| n.attribute("cx"))
            .collect();
        assert_eq!(xs.len(), 2);
        assert_ne!(xs[0], xs[1]);
    }

    #[test]
    fn svg_chart_of_nothing_is_still_a_chart() {
        for series in [
            vec![],
            vec![Series {
                benchmark: "x".into(),
                metric: "m".into(),
                points: vec![],
            }],
        ] {
            let svg = svg_chart(&series);
            roxmltree::Document::parse(&svg).expect("XML");
            assert!(svg.contains("no data"));
        }
        let one = vec![Series {
            benchmark: "x".into(),
            metric: "m".into(),
            points: vec![point(0, 1.0, "abc")],
        }];
        roxmltree::Document::parse(&svg_chart(&one)).expect("XML");
    }
}
