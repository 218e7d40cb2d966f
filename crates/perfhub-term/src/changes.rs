//! The table of `perfhub compare` and `perfhub ab`.

use std::io::{self, Write};

use perfhub_core::compare::{Verdict, detectable_cell, detectable_sentence, percent_figure};
use perfhub_core::report::Comparison;
use perfhub_core::text::decimal;
use perfhub_core::{Report, Unit};

use crate::{Style, write_budgets_and_notes};

const HEADERS: [&str; 7] = [
    "benchmark",
    "base",
    "head",
    "change [95% CI]",
    "p (adj.)",
    "detectable",
    "verdict",
];

/// Writes the comparisons of a report (`perfhub compare`, `perfhub ab`):
/// per benchmark, base and head, the change with its interval, the adjusted
/// p-value, the smallest change the run could have seen, and the verdict;
/// then the count of each verdict, what they mean, budgets and notes.
pub fn write_changes(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let st = Style { color };
    let rows: Vec<[String; 7]> = report.comparisons.iter().map(|c| row(report, c)).collect();
    // The interval's level as the comparisons used it (98.75% at four
    // planned looks).
    let level = report
        .comparisons
        .iter()
        .find_map(|c| c.ratio_ci)
        .map_or(0.95, |ci| ci.level);
    let change = format!("change [{}% CI]", decimal(level * 100.0, 2));
    let mut headers = HEADERS.map(str::to_string);
    headers[3] = change;
    write_table(out, &st, &headers, &rows)?;
    write_headline(out, &st, report)?;
    for c in report
        .comparisons
        .iter()
        .filter(|c| c.verdict == Some(Verdict::Inconclusive))
    {
        writeln!(
            out,
            "{}: inconclusive: {}{}; more rounds or a quieter machine would decide it",
            c.benchmark,
            detectable_sentence(c.mde),
            c.min_effect
                .map(|e| format!(", and the minimum effect is {}", percent_figure(e)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out)?;
    write_budgets_and_notes(out, &st, report)
}

/// The cells of one comparison, under [`HEADERS`].
fn row(report: &Report, c: &Comparison) -> [String; 7] {
    let unit = report
        .benchmark(&c.benchmark)
        .and_then(|b| b.measurement(&c.metric))
        .map_or(Unit::Count, |m| m.unit);
    let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| unit.format(v));
    let change = match c.ratio_ci {
        Some(ci) => format!(
            "{:+.2}% [{:+.2}%, {:+.2}%]",
            (c.ratio - 1.0) * 100.0,
            (ci.lower - 1.0) * 100.0,
            (ci.upper - 1.0) * 100.0
        ),
        None => format!("{:+.2}%", (c.ratio - 1.0) * 100.0),
    };
    let verdict = c.verdict.map_or("-", Verdict::as_str).to_string();
    let p = c
        .p_adjusted
        .or(c.p_value)
        .map_or_else(|| "-".to_string(), |p| format!("{p:.3}"));
    [
        c.benchmark.clone(),
        fmt(c.base_value),
        fmt(c.head_value),
        change,
        p,
        detectable_cell(c, ">=", "-"),
        verdict,
    ]
}

/// The columns padded to their widest cell, the verdicts colored.
fn write_table(
    out: &mut impl Write,
    st: &Style,
    headers: &[String; 7],
    rows: &[[String; 7]],
) -> io::Result<()> {
    let mut widths = headers.clone().map(|h| h.len());
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let line: Vec<String> = headers.iter().zip(widths).map(|(h, w)| pad(h, w)).collect();
    writeln!(out, "{}", st.bold(line.join("  ").trim_end()))?;
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                let padded = pad(cell, w);
                if i == 6 {
                    match cell.as_str() {
                        "regressed" => st.red(&padded),
                        "improved" => st.green(&padded),
                        "inconclusive" => st.yellow(&padded),
                        _ => st.dim(&padded),
                    }
                } else {
                    padded
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// How many regressed, improved, stayed and could not tell; what counts.
fn write_headline(out: &mut impl Write, st: &Style, report: &Report) -> io::Result<()> {
    let count = |v: Verdict| {
        report
            .comparisons
            .iter()
            .filter(|c| c.verdict == Some(v))
            .count()
    };
    let (reg, imp, unc, inc) = (
        count(Verdict::Regressed),
        count(Verdict::Improved),
        count(Verdict::Unchanged),
        count(Verdict::Inconclusive),
    );
    writeln!(out)?;
    let mut headline = format!("{reg} regressed, {imp} improved, {unc} unchanged");
    if inc > 0 {
        headline.push_str(&format!(", {inc} inconclusive"));
    }
    let headline = if reg > 0 {
        st.red(&headline)
    } else {
        st.green(&headline)
    };
    writeln!(out, "{headline}")?;
    if let Some(c) = report.comparisons.first()
        && let Some(e) = c.min_effect
    {
        // The level as given: 0.05, or split over planned looks (0.0125).
        let alpha = 1.0 - c.ratio_ci.map_or(0.95, |ci| ci.level);
        let criterion = format!(
            "a change counts when it is significant (interval excludes 0, Holm-adjusted p below {}) and at least {:.1}% ({})",
            decimal(alpha, 4),
            e * 100.0,
            methods(report)
        );
        writeln!(out, "{}", st.dim(&criterion))?;
        writeln!(
            out,
            "{}",
            st.dim(
                "detectable: the smallest change this run would have flagged (90% power) for the noise it measured; inconclusive: not significant, and unable to see the minimum effect"
            )
        )?;
    }
    Ok(())
}

/// The comparisons' method: the first one's, with the range of round
/// counts where benchmarks took different numbers of rounds ("12 to 21
/// paired rounds, ...").
fn methods(report: &Report) -> String {
    let all: Vec<&str> = report
        .comparisons
        .iter()
        .filter_map(|c| c.method.as_deref())
        .collect();
    let Some(first) = all.first() else {
        return String::new();
    };
    let split = |m: &str| -> Option<(u64, String)> {
        let (n, rest) = m.split_once(' ')?;
        Some((n.parse().ok()?, rest.to_string()))
    };
    let parts: Option<Vec<(u64, String)>> = all.iter().map(|m| split(m)).collect();
    match parts {
        Some(p) if p.iter().all(|(_, rest)| *rest == p[0].1) => {
            let lo = p.iter().map(|(n, _)| *n).min().unwrap_or(0);
            let hi = p.iter().map(|(n, _)| *n).max().unwrap_or(0);
            match lo == hi {
                true => first.to_string(),
                false => format!("{lo} to {hi} {}", p[0].1),
            }
        }
        _ => first.to_string(),
    }
}
