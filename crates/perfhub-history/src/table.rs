//! The history as text tables, as `perfhub history list` and `perfhub
//! history show` print them: columns padded to their widest cell.

use std::io::{self, Write};

use crate::chart::{short_commit, sparkline};
use crate::{RunRow, Series};

/// Writes runs as a table: run, time, commit, branch, machine, kind and
/// number of benchmarks, one run a line under a header.
pub fn write_runs(out: &mut impl Write, runs: &[RunRow]) -> io::Result<()> {
    let header = [
        "RUN",
        "TIME",
        "COMMIT",
        "BRANCH",
        "MACHINE",
        "KIND",
        "BENCHMARKS",
    ];
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                r.time.clone(),
                r.commit.as_deref().map_or("-", short_commit).to_string(),
                r.branch.clone().unwrap_or_else(|| "-".into()),
                r.machine.clone().unwrap_or_else(|| "-".into()),
                r.kind.clone(),
                r.benchmarks.to_string(),
            ]
        })
        .collect();
    write_table(out, &header.map(str::to_string), &rows)
}

/// Writes series as a table of trends: per series, the benchmark, the
/// metric, the latest value, its change from the run before, the number of
/// runs and a sparkline.
pub fn write_trends(out: &mut impl Write, series: &[Series]) -> io::Result<()> {
    let header = ["BENCHMARK", "METRIC", "LATEST", "CHANGE", "RUNS", "TREND"].map(str::to_string);
    let rows: Vec<[String; 6]> = series.iter().map(trend_row).collect();
    write_table(out, &header, &rows)
}

/// Benchmark, metric, latest value, change from the run before, runs and sparkline.
fn trend_row(s: &Series) -> [String; 6] {
    let values: Vec<f64> = s.points.iter().map(|p| p.value).collect();
    let latest = s.points.last();
    let change = match s.points.len().checked_sub(2).map(|i| &s.points[i]) {
        Some(prev) if prev.value != 0.0 => {
            let latest = latest.map_or(f64::NAN, |p| p.value);
            format!("{:+.1}%", (latest / prev.value - 1.0) * 100.0)
        }
        _ => "-".to_string(),
    };
    [
        s.benchmark.clone(),
        s.metric.clone(),
        latest.map_or("-".to_string(), |p| p.unit.format(p.value)),
        change,
        s.points.len().to_string(),
        sparkline(&values),
    ]
}

/// Columns padded to their widest cell, the last one unpadded.
fn write_table<const N: usize>(
    out: &mut impl Write,
    header: &[String; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut widths = [0usize; N];
    for row in std::iter::once(header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Point, RunId};
    use perfhub_core::units::Unit;

    #[test]
    fn pads_every_column_but_the_last() {
        let run = RunRow {
            id: RunId(7),
            time: "2026-12-05T12:00:00Z".into(),
            time_millis: 0,
            commit: Some("0123456789abcdef".into()),
            branch: None,
            machine: Some("m".into()),
            kind: "run".into(),
            source: None,
            benchmarks: 12,
        };
        let mut out = Vec::new();
        write_runs(&mut out, &[run]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "RUN  TIME                  COMMIT    BRANCH  MACHINE  KIND  BENCHMARKS\n\
             7    2026-12-05T12:00:00Z  01234567  -       m        run   12\n"
        );
    }

    #[test]
    fn a_trend_has_its_change_from_the_run_before() {
        let point = |value| Point {
            run_id: RunId(1),
            time: String::new(),
            time_millis: 0,
            commit: None,
            branch: None,
            machine: None,
            value,
            unit: Unit::Seconds,
            samples: Vec::new(),
        };
        let series = Series {
            benchmark: "parse".into(),
            metric: "wall_time".into(),
            points: vec![point(1.0), point(1.1)],
        };
        let row = trend_row(&series);
        assert_eq!(row[3], "+10.0%");
        assert_eq!(row[4], "2");
    }
}
