//! Charts drawn server-side as inline SVG: no script, no chart library.
//!
//! Every chart is one `<svg class="chart" data-chart="KIND" viewBox=...>`
//! whose data marks carry `class="mark ..."`, so a test can count charts
//! and check that each drew something. Colors come from the page's
//! stylesheet through classes (`c-head`, `c-base`, ...), so light and dark
//! schemes and print share one drawing.

use std::fmt::Write as _;

use perfhub_core::stats::percentile;
use perfhub_core::ticks::nice_ticks;
use perfhub_core::units::Unit;

use crate::escape::{html, truncate};
use crate::spectrum;

/// The width of every chart's coordinate system; the page scales it.
const W: f64 = 640.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 16.0;

/// A linear map from data to drawing coordinates.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let (d0, d1) = if (d1 - d0).abs() < f64::EPSILON * d0.abs().max(1e-300) || d1 <= d0 {
            // A constant series still needs a visible range around it.
            let pad = if d0 == 0.0 { 1.0 } else { d0.abs() * 0.1 };
            (d0 - pad, d0 + pad)
        } else {
            (d0, d1)
        };
        Scale { d0, d1, r0, r1 }
    }

    fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// Ticks for values in `unit`: round in the unit's display scale, so sizes
/// step by 256 KiB or 2 MiB rather than by 1e6 bytes.
fn unit_ticks(unit: Unit, lo: f64, hi: f64, target: usize) -> Vec<f64> {
    match unit {
        Unit::Bytes | Unit::BytesPerSecond if hi >= 1024.0 => {
            let k = (hi.log2() / 10.0).floor().min(4.0);
            let scale = 2f64.powf(10.0 * k);
            nice_ticks(lo / scale, hi / scale, target)
                .into_iter()
                .map(|v| v * scale)
                .collect()
        }
        _ => nice_ticks(lo, hi, target),
    }
}

/// `ticks` extended by one step when the last falls short of `hi`, so the
/// axis ends on a labelled value above the data.
fn covering(mut ticks: Vec<f64>, hi: f64) -> Vec<f64> {
    if let [.., a, b] = ticks[..]
        && b < hi
    {
        ticks.push(b + (b - a));
    }
    ticks
}

/// The start of a chart: the SVG element with its kind, accessible title and
/// size.
fn open(out: &mut String, kind: &str, h: f64, title: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" data-chart=\"{kind}\" viewBox=\"0 0 {W} {h:.0}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = html(title)
    );
}

fn text(out: &mut String, x: f64, y: f64, class: &str, s: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"{class}\">{}</text>",
        html(s)
    );
}

/// A horizontal value axis with grid lines at `ticks`, labels below `y`.
fn x_axis(out: &mut String, s: &Scale, ticks: &[(f64, String)], top: f64, y: f64) {
    for (v, label) in ticks {
        let x = s.map(*v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{y:.1}\"/>"
        );
        text(out, x, y + 16.0, "tick mid", label);
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
        s.r0, s.r1
    );
}

/// A vertical value axis with grid lines at `ticks`, labels left of `LEFT`.
fn y_axis(out: &mut String, s: &Scale, ticks: &[f64], unit: Unit) {
    for v in ticks {
        let y = s.map(*v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
            W - RIGHT
        );
        text(out, LEFT - 6.0, y + 4.0, "tick end", &unit.format(*v));
    }
}

fn polyline(out: &mut String, class: &str, pts: &[(f64, f64)]) {
    let mut d = String::new();
    for (i, (x, y)) in pts.iter().enumerate() {
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
    }
    let _ = write!(out, "<path class=\"mark line {class}\" d=\"{d}\"/>");
}

/// A deterministic jitter in -0.5..0.5 for the `i`-th dot of a strip.
fn jitter(i: usize) -> f64 {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (h % 1000) as f64 / 1000.0 - 0.5
}

/// One row of a distribution plot.
pub(crate) struct DistRow<'a> {
    pub label: &'a str,
    /// `c-head` or `c-base`.
    pub class: &'a str,
    pub samples: &'a [f64],
}

/// A horizontal box plot per row, with every sample as a dot over it:
/// the box spans the quartiles, the thick line is the median, the diamond
/// the mean, the whiskers reach the furthest samples within 1.5 IQR.
pub(crate) fn distribution(title: &str, unit: Unit, rows: &[DistRow<'_>]) -> String {
    let row_h = 58.0;
    let top = 10.0;
    let axis_y = top + row_h * rows.len() as f64 + 4.0;
    let h = axis_y + 28.0;
    let all = rows.iter().flat_map(|r| r.samples.iter().copied());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let pad = (hi - lo).max(hi.abs() * 0.02) * 0.06;
    let s = Scale::new((lo - pad).max(0.0), hi + pad, LEFT, W - RIGHT);
    let mut out = String::new();
    open(&mut out, "distribution", h, title);
    let ticks: Vec<(f64, String)> = unit_ticks(unit, s.d0, s.d1, 5)
        .into_iter()
        .map(|v| (v, unit.format(v)))
        .collect();
    x_axis(&mut out, &s, &ticks, top, axis_y);
    for (i, row) in rows.iter().enumerate() {
        let cy = top + row_h * (i as f64 + 0.5);
        text(&mut out, LEFT - 8.0, cy + 4.0, "label end", row.label);
        let q = |p: f64| percentile(row.samples, p).unwrap_or(f64::NAN);
        let (q1, med, q3) = (q(25.0), q(50.0), q(75.0));
        let iqr = q3 - q1;
        let (flo, fhi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let inside = row
            .samples
            .iter()
            .copied()
            .filter(|v| *v >= flo && *v <= fhi);
        let (wlo, whi) = inside.fold((q1, q3), |(a, b), v| (a.min(v), b.max(v)));
        let mean = row.samples.iter().sum::<f64>() / row.samples.len().max(1) as f64;
        let bh = 26.0;
        let cls = row.class;
        let _ = write!(
            out,
            "<line class=\"mark whisker {cls}\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\"/>",
            s.map(wlo),
            s.map(whi)
        );
        for w in [wlo, whi] {
            let _ = write!(
                out,
                "<line class=\"mark whisker {cls}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
                cy - bh / 4.0,
                cy + bh / 4.0,
                x = s.map(w)
            );
        }
        let _ = write!(
            out,
            "<rect class=\"mark box {cls}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh}\" rx=\"2\"><title>{}: Q1 {}, median {}, Q3 {}, mean {} (n = {})</title></rect>",
            s.map(q1),
            cy - bh / 2.0,
            (s.map(q3) - s.map(q1)).max(1.0),
            html(row.label),
            unit.format(q1),
            unit.format(med),
            unit.format(q3),
            unit.format(mean),
            row.samples.len()
        );
        // Dots are drawn only up to a few thousand: beyond that they are ink.
        let step = row.samples.len().div_ceil(2000).max(1);
        for (j, v) in row.samples.iter().enumerate().step_by(step) {
            let outlier = *v < flo || *v > fhi;
            let _ = write!(
                out,
                "<circle class=\"mark dot {cls}{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\"/>",
                if outlier { " outlier" } else { "" },
                s.map(*v),
                cy + jitter(j) * (bh - 6.0),
                if outlier { 2.6 } else { 1.8 }
            );
        }
        let _ = write!(
            out,
            "<line class=\"mark median {cls}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            cy - bh / 2.0,
            cy + bh / 2.0,
            x = s.map(med)
        );
        let mx = s.map(mean);
        let _ = write!(
            out,
            "<path class=\"mark mean {cls}\" d=\"M{:.1},{cy:.1}L{mx:.1},{:.1}L{:.1},{cy:.1}L{mx:.1},{:.1}Z\"/>",
            mx - 5.0,
            cy - 5.0,
            mx + 5.0,
            cy + 5.0
        );
    }
    out.push_str("</svg>");
    out
}

/// One curve of a percentile spectrum.
pub(crate) struct SpectrumSeries<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub points: Vec<spectrum::Point>,
}

/// HdrHistogram's percentile distribution plot: latency against percentile
/// on a log scale of `1 / (1 - p)`, so 90%, 99%, 99.9% are equally spaced.
pub(crate) fn percentile_spectrum(title: &str, series: &[SpectrumSeries<'_>]) -> String {
    let top = 30.0;
    let bottom = 250.0;
    let h = bottom + 40.0;
    let xmax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .fold(2.0_f64, f64::max)
        .ceil();
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.value))
        .fold(0.0_f64, f64::max);
    let sx = Scale::new(0.0, xmax, LEFT, W - RIGHT);
    let yticks = covering(nice_ticks(0.0, ymax, 5), ymax);
    let ytop = yticks.last().copied().unwrap_or(1.0).max(ymax);
    let sy = Scale::new(0.0, ytop, bottom, top);
    let mut out = String::new();
    open(&mut out, "percentile-spectrum", h, title);
    y_axis(&mut out, &sy, &yticks, Unit::Seconds);
    let xticks: Vec<(f64, String)> = (0..=xmax as u32)
        .map(|k| (f64::from(k), spectrum::tick_label(k)))
        .collect();
    x_axis(&mut out, &sx, &xticks, top, bottom);
    text(
        &mut out,
        (LEFT + W - RIGHT) / 2.0,
        h - 4.0,
        "axis-title mid",
        "percentile",
    );
    for (i, s) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|p| (sx.map(p.x), sy.map(p.value)))
            .collect();
        polyline(&mut out, s.class, &pts);
        if let Some(last) = s.points.last() {
            let _ = write!(
                out,
                "<circle class=\"mark dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}: max {}</title></circle>",
                s.class,
                sx.map(last.x),
                sy.map(last.value),
                html(s.label),
                Unit::Seconds.format(last.value)
            );
        }
        legend(&mut out, i, s.class, s.label, top);
    }
    out.push_str("</svg>");
    out
}

/// A legend entry, right-aligned in rows above the plot area.
fn legend(out: &mut String, i: usize, class: &str, label: &str, top: f64) {
    let x = LEFT + 8.0 + 190.0 * i as f64;
    let y = top - 14.0;
    let _ = write!(
        out,
        "<rect class=\"swatch {class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\"/>",
        y - 4.0
    );
    text(out, x + 20.0, y + 1.0, "legend", &truncate(label, 26));
}

/// How a panel of a time chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// A line with the area below it filled.
    Area,
    /// One bar per point.
    Bars,
    /// A line.
    Line,
}

/// One panel of a time chart: one series on its own value axis.
pub(crate) struct Panel<'a> {
    pub label: &'a str,
    pub unit: Unit,
    pub class: &'a str,
    pub style: Style,
    pub values: &'a [f64],
}

/// Stacked panels over one time axis (seconds from the start): a load
/// test's rate, errors and p95 per interval, or a profile's CPU and memory.
/// `t[i]` is the end of the `i`-th interval, `dt` its length.
pub(crate) fn time_panels(
    kind: &str,
    title: &str,
    t: &[f64],
    dt: f64,
    panels: &[Panel<'_>],
) -> String {
    let panel_h = 96.0;
    let gap = 40.0;
    let top = 28.0;
    let bottom = top + panels.len() as f64 * (panel_h + gap) - gap;
    let h = bottom + 40.0;
    let tmax = t.last().copied().unwrap_or(1.0).max(dt);
    let sx = Scale::new(0.0, tmax, LEFT, W - RIGHT);
    let mut out = String::new();
    open(&mut out, kind, h, title);
    for (i, p) in panels.iter().enumerate() {
        let ptop = top + i as f64 * (panel_h + gap);
        let pbot = ptop + panel_h;
        let vmax = p
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let hi = if vmax > 0.0 { vmax } else { 1.0 };
        let ticks = covering(unit_ticks(p.unit, 0.0, hi, 3), hi);
        let ytop = ticks
            .last()
            .copied()
            .unwrap_or(1.0)
            .max(vmax)
            .max(f64::MIN_POSITIVE);
        let sy = Scale::new(0.0, ytop, pbot, ptop);
        y_axis(&mut out, &sy, &ticks, p.unit);
        text(&mut out, LEFT, ptop - 14.0, "panel-title", p.label);
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{pbot:.1}\" y2=\"{pbot:.1}\"/>",
            W - RIGHT
        );
        let n = p.values.len().min(t.len());
        match p.style {
            Style::Bars => {
                let bw = (sx.map(dt) - sx.map(0.0)).max(1.0);
                for (&tk, &value) in t.iter().zip(p.values) {
                    let v = value.max(0.0);
                    if v <= 0.0 {
                        continue;
                    }
                    let y = sy.map(v);
                    let _ = write!(
                        out,
                        "<rect class=\"mark bar {}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{:.1} s: {}</title></rect>",
                        p.class,
                        sx.map(tk - dt) + bw * 0.1,
                        bw * 0.8,
                        (pbot - y).max(0.5),
                        tk,
                        p.unit.format(v)
                    );
                }
                // An all-zero series (no errors) is still data: say so.
                if p.values.iter().all(|v| *v <= 0.0) {
                    let _ = write!(
                        out,
                        "<line class=\"mark zero {}\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{pbot:.1}\" y2=\"{pbot:.1}\"/>",
                        p.class,
                        W - RIGHT
                    );
                    text(
                        &mut out,
                        W - RIGHT - 4.0,
                        pbot - 8.0,
                        "note-text end",
                        "none",
                    );
                }
            }
            Style::Area | Style::Line => {
                let pts: Vec<(f64, f64)> = (0..n)
                    .map(|k| (sx.map(t[k]), sy.map(p.values[k])))
                    .collect();
                if p.style == Style::Area && pts.len() > 1 {
                    let mut d = format!("M{:.1},{pbot:.1}", pts[0].0);
                    for (x, y) in &pts {
                        let _ = write!(d, "L{x:.1},{y:.1}");
                    }
                    let _ = write!(d, "L{:.1},{pbot:.1}Z", pts[pts.len() - 1].0);
                    let _ = write!(out, "<path class=\"area {}\" d=\"{d}\"/>", p.class);
                }
                polyline(&mut out, p.class, &pts);
                if pts.len() == 1 {
                    let _ = write!(
                        out,
                        "<circle class=\"mark dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                        p.class, pts[0].0, pts[0].1
                    );
                }
            }
        }
    }
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, tmax, 6)
        .into_iter()
        .map(|v| (v, format!("{} s", Unit::Number.format(v))))
        .collect();
    for (v, label) in &ticks {
        text(&mut out, sx.map(*v), bottom + 16.0, "tick mid", label);
    }
    text(
        &mut out,
        (LEFT + W - RIGHT) / 2.0,
        h - 4.0,
        "axis-title mid",
        "time since start",
    );
    out.push_str("</svg>");
    out
}

/// A history trend: one value per recorded run, in order, as a line.
pub(crate) fn trend(title: &str, unit: Unit, points: &[(String, f64)]) -> String {
    let top = 14.0;
    let bottom = 170.0;
    let h = bottom + 34.0;
    let vmax = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let vmin = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let pad = (vmax - vmin).max(vmax.abs() * 0.05) * 0.1;
    let ticks = unit_ticks(unit, (vmin - pad).max(0.0), vmax + pad, 4);
    let lo = ticks.first().copied().unwrap_or(vmin).min(vmin);
    let hi = ticks.last().copied().unwrap_or(vmax).max(vmax);
    let sy = Scale::new(lo, hi, bottom, top);
    let n = points.len();
    let sx = Scale::new(0.0, (n.max(2) - 1) as f64, LEFT + 10.0, W - RIGHT - 10.0);
    let mut out = String::new();
    open(&mut out, "trend", h, title);
    y_axis(&mut out, &sy, &ticks, unit);
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{bottom}\" y2=\"{bottom}\"/>",
        W - RIGHT
    );
    let every = n.div_ceil(6).max(1);
    for (i, (label, _)) in points.iter().enumerate() {
        if i % every == 0 || i + 1 == n {
            text(
                &mut out,
                sx.map(i as f64),
                bottom + 16.0,
                "tick mid",
                &truncate(label, 12),
            );
        }
    }
    let pts: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (sx.map(i as f64), sy.map(p.1)))
        .collect();
    polyline(&mut out, "c-head", &pts);
    for ((x, y), (label, v)) in pts.iter().zip(points) {
        let _ = write!(
            out,
            "<circle class=\"mark dot c-head\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\"><title>{}: {}</title></circle>",
            html(label),
            unit.format(*v)
        );
    }
    out.push_str("</svg>");
    out
}

/// One row of a comparison chart.
pub(crate) struct CompareRow<'a> {
    pub label: &'a str,
    pub ratio: f64,
    pub ci: Option<(f64, f64)>,
    /// `improved`, `regressed` or `unchanged`.
    pub verdict: &'a str,
}

/// Relative change against the baseline per benchmark: a dot at the ratio of
/// the means, its confidence interval as a bar, 1.0 as the reference line
/// and the minimum effect as a shaded band around it.
pub(crate) fn comparison(title: &str, rows: &[CompareRow<'_>], min_effect: Option<f64>) -> String {
    let row_h = 40.0;
    let top = 8.0;
    let bottom = top + row_h * rows.len() as f64;
    let h = bottom + 40.0;
    let pct = |r: f64| (r - 1.0) * 100.0;
    let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
    for r in rows {
        let (a, b) = r.ci.unwrap_or((r.ratio, r.ratio));
        for v in [pct(a), pct(b), pct(r.ratio)] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if let Some(e) = min_effect {
        lo = lo.min(-e * 100.0);
        hi = hi.max(e * 100.0);
    }
    let span = (hi - lo).max(2.0);
    let ticks = nice_ticks(lo - span * 0.08, hi + span * 0.08, 6);
    let s = Scale::new(
        ticks.first().copied().unwrap_or(lo).min(lo),
        ticks.last().copied().unwrap_or(hi).max(hi),
        LEFT + 90.0,
        W - RIGHT,
    );
    let mut out = String::new();
    open(&mut out, "comparison", h, title);
    if let Some(e) = min_effect {
        let (x0, x1) = (s.map(-e * 100.0), s.map(e * 100.0));
        let _ = write!(
            out,
            "<rect class=\"band\" x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{:.1}\"/>",
            x1 - x0,
            bottom - top
        );
    }
    let labelled: Vec<(f64, String)> = ticks
        .iter()
        .map(|v| {
            (
                *v,
                format!(
                    "{}{}%",
                    if *v > 0.0 { "+" } else { "" },
                    Unit::Number.format(*v)
                ),
            )
        })
        .collect();
    x_axis(&mut out, &s, &labelled, top, bottom);
    let x1 = s.map(0.0);
    let _ = write!(
        out,
        "<line class=\"ref\" x1=\"{x1:.1}\" x2=\"{x1:.1}\" y1=\"{top}\" y2=\"{bottom:.1}\"/>"
    );
    for (i, r) in rows.iter().enumerate() {
        let cy = top + row_h * (i as f64 + 0.5);
        text(
            &mut out,
            LEFT + 82.0,
            cy + 4.0,
            "label end",
            &truncate(r.label, 24),
        );
        let cls = format!("v-{}", r.verdict);
        if let Some((a, b)) = r.ci {
            let _ = write!(
                out,
                "<line class=\"mark ci {cls}\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\"/>",
                s.map(pct(a)),
                s.map(pct(b))
            );
        }
        let _ = write!(
            out,
            "<circle class=\"mark dot {cls}\" cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"5\"><title>{}: {:+.2}% ({})</title></circle>",
            s.map(pct(r.ratio)),
            html(r.label),
            pct(r.ratio),
            r.verdict
        );
    }
    text(
        &mut out,
        (s.r0 + s.r1) / 2.0,
        h - 4.0,
        "axis-title mid",
        "change against the baseline (95% CI)",
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ticks_are_round_in_binary_units() {
        let mib = 1024.0 * 1024.0;
        assert_eq!(
            unit_ticks(Unit::Bytes, 0.0, 2.0 * mib, 4),
            vec![0.0, 0.5 * mib, mib, 1.5 * mib, 2.0 * mib]
        );
        assert_eq!(
            unit_ticks(Unit::Seconds, 0.0, 0.002, 2),
            vec![0.0, 0.001, 0.002]
        );
    }

    #[test]
    fn every_chart_has_its_kind_and_a_mark() {
        let samples = [1.0, 2.0, 2.5, 3.0, 10.0];
        let charts = [
            distribution(
                "d",
                Unit::Seconds,
                &[DistRow {
                    label: "head",
                    class: "c-head",
                    samples: &samples,
                }],
            ),
            time_panels(
                "load-over-time",
                "t",
                &[1.0, 2.0],
                1.0,
                &[Panel {
                    label: "errors",
                    unit: Unit::Count,
                    class: "c-err",
                    style: Style::Bars,
                    values: &[0.0, 0.0],
                }],
            ),
            trend("t", Unit::Seconds, &[("a".into(), 1.0), ("b".into(), 2.0)]),
            comparison(
                "c",
                &[CompareRow {
                    label: "x",
                    ratio: 1.1,
                    ci: Some((1.0, 1.2)),
                    verdict: "regressed",
                }],
                Some(0.03),
            ),
        ];
        for c in &charts {
            assert!(c.starts_with("<svg class=\"chart\" data-chart=\""), "{c}");
            assert!(c.contains("class=\"mark"), "{c}");
            assert!(c.ends_with("</svg>"));
            assert!(!c.contains("NaN") && !c.contains("inf"), "{c}");
        }
    }
}
