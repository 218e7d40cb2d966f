//! From raw runs to a [`Report`]: measurements, summaries, notes,
//! comparisons between commands, complexity fits and budget verdicts.

use perfhub_core::budget::{self, BudgetError};
use perfhub_core::complexity;
use perfhub_core::report::{Comparison, Environment, Note, metric};
use perfhub_core::stats::{self, CompareConfig};
use perfhub_core::{Benchmark, Measurement, Report, ReportKind, Unit};
use perfhub_probe::counters::CounterKind;
use perfhub_probe::procfs::ProcIo;
use perfhub_probe::spawn::ProcessRun;

use crate::config::RunConfig;
use crate::engine::{BenchmarkRuns, RawResults};

/// Runs this many scaled MADs from the median earn an outlier warning.
const OUTLIER_WARNING_Z: f64 = 14.0;

/// A command faster than this is dominated by process start-up.
const SHORT_COMMAND_SECS: f64 = 0.005;

/// Builds the report of a finished (or stopped) run.
///
/// Budget evaluation errors (a budget naming a metric the report does not
/// have) are returned beside the report, which is complete without them.
pub fn build_report(
    config: &RunConfig,
    raw: &RawResults,
    created: perfhub_core::time::UtcTime,
    environment: Option<Environment>,
) -> (Report, Option<BudgetError>) {
    let mut report = Report::new(ReportKind::Run, created);
    report.environment = environment;
    for b in &raw.benchmarks {
        report.benchmarks.push(benchmark(b));
    }
    report.notes.extend(run_notes(raw));
    let reference = raw
        .benchmarks
        .iter()
        .find(|b| b.planned.reference)
        .map(|b| b.planned.name.as_str());
    report.comparisons = comparisons(&report, config.seed, reference);
    if let Some(name) = reference
        && report.comparisons.is_empty()
        && report.benchmarks.len() > 1
    {
        report.notes.push(Note::warning(
            "reference_without_runs",
            format!("the reference {name:?} has no completed run, so nothing is compared with it"),
        ));
    }
    for fit in complexity_fits(config, raw, &report) {
        match fit {
            Ok(a) => report.complexity.push(a),
            Err(note) => report.notes.push(note),
        }
    }
    let mut budget_error = None;
    if !config.budgets.is_empty() {
        match budget::evaluate(&config.budgets, &report) {
            Ok(verdicts) => report.budgets = verdicts,
            Err(e) => budget_error = Some(e),
        }
    }
    (report, budget_error)
}

fn secs(runs: &[ProcessRun], f: impl Fn(&ProcessRun) -> std::time::Duration) -> Vec<f64> {
    runs.iter().map(|r| f(r).as_secs_f64()).collect()
}

fn counts(runs: &[ProcessRun], f: impl Fn(&ProcessRun) -> u64) -> Vec<f64> {
    runs.iter().map(|r| f(r) as f64).collect()
}

fn benchmark(b: &BenchmarkRuns) -> Benchmark {
    let runs = &b.runs;
    let mut out = Benchmark::new(b.planned.name.clone(), metric::WALL_TIME);
    out.command = Some(b.planned.command.clone());
    out.parameters = b.planned.parameters.clone();
    out.exit_codes = runs.iter().map(|r| r.exit.code()).collect();
    if runs.is_empty() {
        out.notes.push(Note::warning(
            "no_runs",
            "no measured run completed for this command",
        ));
        return out;
    }
    let m = &mut out.measurements;
    m.push(Measurement::from_samples(
        metric::WALL_TIME,
        Unit::Seconds,
        secs(runs, |r| r.wall),
    ));
    m.push(Measurement::from_samples(
        metric::USER_TIME,
        Unit::Seconds,
        secs(runs, |r| r.user),
    ));
    m.push(Measurement::from_samples(
        metric::SYSTEM_TIME,
        Unit::Seconds,
        secs(runs, |r| r.system),
    ));
    let cpu: Vec<f64> = runs
        .iter()
        .map(|r| {
            let wall = r.wall.as_secs_f64();
            if wall > 0.0 {
                (r.user + r.system).as_secs_f64() / wall
            } else {
                0.0
            }
        })
        .collect();
    m.push(Measurement::from_samples(
        metric::CPU_UTILIZATION,
        Unit::Ratio,
        cpu,
    ));
    m.push(Measurement::from_samples(
        metric::MAX_RSS,
        Unit::Bytes,
        counts(runs, |r| r.max_rss_bytes),
    ));
    let ios: Option<Vec<_>> = runs.iter().map(|r| r.io.map(|io| io.metrics())).collect();
    if let Some(ios) = ios {
        for (i, (name, unit, _)) in ProcIo::default().metrics().into_iter().enumerate() {
            let samples = ios.iter().map(|io| io[i].2 as f64).collect();
            m.push(Measurement::from_samples(name, unit, samples));
        }
    } else {
        out.notes.push(Note::info(
            "io_unavailable",
            "/proc/<pid>/io could not be read for every run; I/O metrics are left out",
        ));
    }
    let m = &mut out.measurements;
    m.push(Measurement::from_samples(
        metric::VOLUNTARY_CONTEXT_SWITCHES,
        Unit::Count,
        counts(runs, |r| r.voluntary_context_switches),
    ));
    m.push(Measurement::from_samples(
        metric::INVOLUNTARY_CONTEXT_SWITCHES,
        Unit::Count,
        counts(runs, |r| r.involuntary_context_switches),
    ));
    m.push(Measurement::from_samples(
        metric::MINOR_PAGE_FAULTS,
        Unit::Count,
        counts(runs, |r| r.minor_page_faults),
    ));
    m.push(Measurement::from_samples(
        metric::MAJOR_PAGE_FAULTS,
        Unit::Count,
        counts(runs, |r| r.major_page_faults),
    ));
    // In auto mode without warm-up, the first run decided whether counters
    // are worth reading, without them: they cover the runs after it.
    let counted: &[ProcessRun] = match runs.as_slice() {
        [first, rest @ ..]
            if first.counters.is_empty()
                && !rest.is_empty()
                && rest.iter().all(|r| !r.counters.is_empty()) =>
        {
            rest
        }
        all => all,
    };
    let mut counter_metrics = 0;
    for kind in [
        CounterKind::TaskClock,
        CounterKind::PageFaults,
        CounterKind::ContextSwitches,
        CounterKind::CpuMigrations,
        CounterKind::Instructions,
        CounterKind::Cycles,
    ] {
        let values: Vec<u64> = counted
            .iter()
            .filter_map(|r| r.counters.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v))
            .collect();
        if values.len() != counted.len() {
            continue;
        }
        counter_metrics += 1;
        let (unit, samples): (Unit, Vec<f64>) = match kind {
            CounterKind::TaskClock => (
                Unit::Seconds,
                values.iter().map(|v| *v as f64 * 1e-9).collect(),
            ),
            _ => (Unit::Count, values.iter().map(|v| *v as f64).collect()),
        };
        m.push(Measurement::from_samples(kind.metric(), unit, samples));
    }
    let failed = runs.iter().filter(|r| !r.exit.success()).count();
    m.push(Measurement::from_value(
        metric::ERROR_RATE,
        Unit::Ratio,
        failed as f64 / runs.len() as f64,
    ));
    out.notes.extend(benchmark_notes(&out, runs));
    if counter_metrics > 0 && counted.len() < runs.len() {
        out.notes.push(Note::info(
            "counters_after_first_run",
            format!(
                "perf_event counters cover run{} 2{}: the first run, read without them, found the command long enough for them (use `warmup` 1 or `counters` always to count every run)",
                if runs.len() > 2 { "s" } else { "" },
                if runs.len() > 2 { format!(" to {}", runs.len()) } else { String::new() }
            ),
        ));
    }
    if b.counters_skipped {
        out.notes.push(Note::info(
            "counters_skipped",
            format!(
                "perf_event counters were not read: a run takes under {}, where their own cost would show in the times (use `counters` always to read them anyway)",
                Unit::Seconds.format(crate::config::AUTO_COUNTER_MIN_RUN.as_secs_f64())
            ),
        ));
    }
    out
}

fn benchmark_notes(b: &Benchmark, runs: &[ProcessRun]) -> Vec<Note> {
    let mut notes = Vec::new();
    let failed: Vec<_> = runs.iter().filter(|r| !r.exit.success()).collect();
    if !failed.is_empty() {
        let signals = failed.iter().filter(|r| r.exit.code().is_none()).count();
        let mut msg = format!(
            "{} of {} runs failed (first: {})",
            failed.len(),
            runs.len(),
            failed[0].exit
        );
        if signals > 0 {
            msg.push_str(&format!("; {signals} killed by a signal"));
        }
        notes.push(Note::warning("nonzero_exit", msg));
    }
    let Some(summary) = b.primary().and_then(|m| m.summary.as_ref()) else {
        return notes;
    };
    // Tukey's fences flag a few runs of almost any timing distribution,
    // whose tail is long; a warning needs runs far from the rest by the
    // median absolute deviation, which the tail does not move.
    let walls: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    let extreme = stats::modified_z_scores(&walls)
        .iter()
        .filter(|z| z.abs() > OUTLIER_WARNING_Z)
        .count();
    if summary.n >= 5 && extreme > 0 {
        notes.push(Note::warning(
            "outliers",
            format!(
                "{extreme} of {} runs are far outside the rest (modified z-score above {OUTLIER_WARNING_Z}); other programs may have interfered: rerun on a quieter system, or use `warmup` or `prepare`",
                summary.n,
            ),
        ));
    }
    if runs.len() >= 3 {
        let first = runs[0].wall.as_secs_f64();
        let rest: Vec<f64> = runs[1..].iter().map(|r| r.wall.as_secs_f64()).collect();
        if let Some(med) = stats::median(&rest)
            && med > 0.0
            && first > 2.0 * med
            && summary.stddev > 0.0
        {
            notes.push(Note::warning(
                "slow_first_run",
                format!(
                    "the first run took {} against a median of {} for the rest, probably from cold caches; try `warmup` 3 or a `prepare` command",
                    Unit::Seconds.format(first),
                    Unit::Seconds.format(med)
                ),
            ));
        }
    }
    if summary.mean < SHORT_COMMAND_SECS {
        notes.push(Note::info(
            "short_command",
            format!(
                "the command takes under {} per run, so process start-up is a large part of what is measured",
                Unit::Seconds.format(SHORT_COMMAND_SECS)
            ),
        ));
    }
    notes
}

fn run_notes(raw: &RawResults) -> Vec<Note> {
    let mut notes = Vec::new();
    if let Some(c) = raw.shell {
        notes.push(Note::info(
            "shell_correction",
            format!(
                "the mean start-up time of the shell ({} wall, {} user, {} system) was subtracted from every run",
                Unit::Seconds.format(c.wall.as_secs_f64()),
                Unit::Seconds.format(c.user.as_secs_f64()),
                Unit::Seconds.format(c.system.as_secs_f64()),
            ),
        ));
    }
    let hw: Vec<_> = raw
        .unavailable_counters
        .iter()
        .filter(|u| u.kind.is_hardware())
        .collect();
    if let Some(first) = hw.first() {
        let names: Vec<&str> = hw.iter().map(|u| u.kind.metric()).collect();
        notes.push(Note::info(
            "hardware_counters_unsupported",
            format!(
                "hardware counters ({}) are unavailable: {}; they are left out of this report",
                names.join(", "),
                first.reason
            ),
        ));
    }
    let sw: Vec<_> = raw
        .unavailable_counters
        .iter()
        .filter(|u| !u.kind.is_hardware())
        .collect();
    if let Some(first) = sw.first() {
        let names: Vec<&str> = sw.iter().map(|u| u.kind.metric()).collect();
        notes.push(Note::warning(
            "software_counters_unavailable",
            format!(
                "perf_event software counters ({}) could not be opened: {}; times and faults still come from getrusage",
                names.join(", "),
                first.reason
            ),
        ));
    }
    if raw.interrupted {
        notes.push(Note::warning(
            "interrupted",
            "the run was interrupted; the report holds the runs completed before that",
        ));
    }
    if let Some(f) = &raw.failure {
        notes.push(Note::warning("command_failed", f.to_string()));
    }
    notes
}

fn wall_samples(b: &Benchmark) -> Option<&[f64]> {
    b.measurement(metric::WALL_TIME)
        .map(|m| m.samples.as_slice())
        .filter(|s| !s.is_empty())
}

/// Every benchmark against the reference: the one named, or else the fastest.
fn comparisons(report: &Report, seed: u64, reference: Option<&str>) -> Vec<Comparison> {
    let with_samples: Vec<(&Benchmark, &[f64])> = report
        .benchmarks
        .iter()
        .filter_map(|b| wall_samples(b).map(|s| (b, s)))
        .collect();
    if with_samples.len() < 2 {
        return Vec::new();
    }
    let mean = |s: &[f64]| stats::mean(s).unwrap_or(f64::NAN);
    let (fastest, fastest_samples) = match reference {
        Some(name) => match with_samples.iter().find(|(b, _)| b.name == name) {
            Some(r) => *r,
            None => return Vec::new(),
        },
        None => with_samples
            .iter()
            .min_by(|a, b| mean(a.1).total_cmp(&mean(b.1)))
            .copied()
            .expect("two or more benchmarks"),
    };
    let config = CompareConfig {
        seed,
        resamples: 2000,
        ..CompareConfig::default()
    };
    let sd = |s: &[f64]| stats::stddev(s).unwrap_or(0.0);
    with_samples
        .iter()
        .filter(|(b, _)| b.name != fastest.name)
        .map(|(b, s)| {
            let (ratio, ratio_stddev) = stats::ratio_with_uncertainty(
                mean(s),
                sd(s),
                mean(fastest_samples),
                sd(fastest_samples),
            );
            // One run of either gives no spread: no ± nor interval, as
            // hyperfine shows none.
            let spread = s.len() >= 2 && fastest_samples.len() >= 2;
            let cmp = spread
                .then(|| stats::compare_samples(fastest_samples, s, &config))
                .flatten();
            Comparison {
                benchmark: b.name.clone(),
                reference: fastest.name.clone(),
                metric: metric::WALL_TIME.to_string(),
                ratio,
                ratio_stddev: spread.then_some(ratio_stddev),
                ratio_ci: cmp.as_ref().map(|c| c.ratio_ci),
                p_value: cmp.map(|c| c.p_value),
                p_adjusted: None,
                verdict: None,
                min_effect: None,
                mde: None,
                base_value: None,
                head_value: None,
                method: None,
            }
        })
        .collect()
}

fn complexity_fits(
    config: &RunConfig,
    raw: &RawResults,
    report: &Report,
) -> Vec<Result<complexity::ComplexityAnalysis, Note>> {
    let [scan] = config.params.as_slice() else {
        return Vec::new();
    };
    let numeric = scan
        .values
        .iter()
        .filter(|v| v.parse::<f64>().is_ok())
        .count();
    if numeric != scan.values.len() || numeric < 3 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (t, template) in config.commands.iter().enumerate() {
        let mut points = Vec::new();
        let metric = config.complexity_metric.as_str();
        // The report lists the benchmarks in the order they were run.
        for (b, measured) in raw.benchmarks.iter().zip(&report.benchmarks) {
            if b.planned.template != t {
                continue;
            }
            let Some(n) = b
                .planned
                .parameters
                .get(&scan.name)
                .and_then(|v| v.parse::<f64>().ok())
            else {
                continue;
            };
            if let Some(m) = measured.measurement(metric) {
                points.extend(m.samples.iter().map(|&y| (n, y)));
            }
        }
        let name = config
            .names
            .get(t)
            .cloned()
            .unwrap_or_else(|| template.display());
        match complexity::fit_complexity(&scan.name, metric, &points) {
            Ok(mut a) => {
                a.subject = name;
                out.push(Ok(a));
            }
            Err(e) => out.push(Err(Note::info(
                "complexity_not_fitted",
                format!("no complexity fit for {name:?}: {e}"),
            ))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use perfhub_probe::spawn::Exit;

    use super::*;
    use crate::engine::{Planned, plan};
    use crate::{CommandTemplate, RunConfig};

    fn run_of(ms: f64, exit: Exit) -> ProcessRun {
        ProcessRun {
            wall: Duration::from_secs_f64(ms / 1e3),
            user: Duration::from_secs_f64(ms / 2e3),
            system: Duration::ZERO,
            max_rss_bytes: 4 << 20,
            io: None,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            minor_page_faults: 0,
            major_page_faults: 0,
            exit,
            counters: Vec::new(),
        }
    }

    fn report_of(walls_ms: &[&[f64]]) -> Report {
        let config = RunConfig {
            commands: (0..walls_ms.len())
                .map(|i| CommandTemplate::Line(format!("cmd{i}")))
                .collect(),
            ..RunConfig::default()
        };
        let planned: Vec<Planned> = plan(&config).unwrap();
        let raw = RawResults {
            benchmarks: planned
                .into_iter()
                .zip(walls_ms)
                .map(|(planned, walls)| BenchmarkRuns {
                    planned,
                    runs: walls.iter().map(|&w| run_of(w, Exit::Code(0))).collect(),
                    counters_skipped: false,
                })
                .collect(),
            shell: None,
            unavailable_counters: Vec::new(),
            failure: None,
            interrupted: false,
        };
        build_report(&config, &raw, "2026-01-01T00:00:00Z".parse().unwrap(), None).0
    }

    fn codes(b: &Benchmark) -> Vec<&str> {
        b.notes.iter().map(|n| n.code.as_str()).collect()
    }

    #[test]
    fn warns_of_far_outliers_but_not_of_a_long_tail() {
        let mut far = vec![10.0; 19];
        far.iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w += i as f64 * 0.01);
        far.push(100.0);
        let r = report_of(&[&far]);
        assert!(codes(&r.benchmarks[0]).contains(&"outliers"));

        let tail: Vec<f64> = (0..20).map(|i| 10.0 + (i as f64).powi(2) * 0.005).collect();
        let r = report_of(&[&tail]);
        assert!(
            !codes(&r.benchmarks[0]).contains(&"outliers"),
            "{:?}",
            r.benchmarks[0].notes
        );
    }

    #[test]
    fn compares_every_command_with_the_fastest() {
        let fast: Vec<f64> = (0..10).map(|i| 10.0 + i as f64 * 0.1).collect();
        let slow: Vec<f64> = fast.iter().map(|w| w * 2.0).collect();
        let r = report_of(&[&slow, &fast]);
        assert_eq!(r.comparisons.len(), 1);
        let c = &r.comparisons[0];
        assert_eq!(c.reference, "cmd1");
        assert_eq!(c.benchmark, "cmd0");
        assert!((c.ratio - 2.0).abs() < 1e-9, "{}", c.ratio);
        assert!(c.p_value.unwrap() < 0.001);
        let ci = c.ratio_ci.unwrap();
        assert!(ci.lower <= 2.0 && 2.0 <= ci.upper);
    }

    #[test]
    fn compares_with_the_reference_when_one_is_given() {
        let config = RunConfig {
            commands: vec![
                CommandTemplate::Line("fast".into()),
                CommandTemplate::Line("slow".into()),
            ],
            reference: Some(crate::Reference {
                command: CommandTemplate::Line("base".into()),
                name: None,
            }),
            ..RunConfig::default()
        };
        let walls: [&[f64]; 3] = [&[20.0, 20.2, 19.8], &[10.0, 10.1, 9.9], &[40.0, 40.4, 39.6]];
        let raw = RawResults {
            benchmarks: plan(&config)
                .unwrap()
                .into_iter()
                .zip(walls)
                .map(|(planned, walls)| BenchmarkRuns {
                    planned,
                    runs: walls.iter().map(|&w| run_of(w, Exit::Code(0))).collect(),
                    counters_skipped: false,
                })
                .collect(),
            shell: None,
            unavailable_counters: Vec::new(),
            failure: None,
            interrupted: false,
        };
        let r = build_report(&config, &raw, "2026-01-01T00:00:00Z".parse().unwrap(), None).0;
        assert_eq!(r.benchmarks[0].name, "base");
        let ratios: Vec<(&str, &str, f64)> = r
            .comparisons
            .iter()
            .map(|c| (c.benchmark.as_str(), c.reference.as_str(), c.ratio))
            .collect();
        assert_eq!(ratios.len(), 2);
        assert_eq!((ratios[0].0, ratios[0].1), ("fast", "base"));
        assert!((ratios[0].2 - 0.5).abs() < 1e-9, "{ratios:?}");
        assert_eq!((ratios[1].0, ratios[1].1), ("slow", "base"));
        assert!((ratios[1].2 - 2.0).abs() < 1e-9, "{ratios:?}");
    }

    #[test]
    fn error_rate_and_first_run_notes() {
        let mut walls = vec![30.0];
        walls.extend(std::iter::repeat_n(10.0, 9));
        let r = report_of(&[&walls]);
        let b = &r.benchmarks[0];
        assert!(codes(b).contains(&"slow_first_run"), "{:?}", b.notes);
        assert_eq!(b.measurement(metric::ERROR_RATE).unwrap().value, Some(0.0));
        assert_eq!(
            b.measurement(metric::CPU_UTILIZATION)
                .unwrap()
                .summary
                .as_ref()
                .unwrap()
                .mean,
            0.5
        );
    }
}

#[cfg(test)]
mod counter_tests {
    use std::time::Duration;

    use perfhub_probe::counters::CounterKind;
    use perfhub_probe::spawn::{Exit, ProcessRun};

    use super::*;
    use crate::CommandTemplate;
    use crate::engine::plan;

    fn run_with(task_clock: Option<u64>) -> ProcessRun {
        ProcessRun {
            wall: Duration::from_millis(10),
            user: Duration::from_millis(9),
            system: Duration::ZERO,
            max_rss_bytes: 1 << 20,
            io: None,
            voluntary_context_switches: 0,
            involuntary_context_switches: 0,
            minor_page_faults: 0,
            major_page_faults: 0,
            exit: Exit::Code(0),
            counters: task_clock
                .map(|v| vec![(CounterKind::TaskClock, v)])
                .unwrap_or_default(),
        }
    }

    fn benchmark_of(runs: Vec<ProcessRun>) -> Benchmark {
        let config = RunConfig {
            commands: vec![CommandTemplate::Line("work".into())],
            ..RunConfig::default()
        };
        let planned = plan(&config).unwrap().remove(0);
        let raw = RawResults {
            benchmarks: vec![BenchmarkRuns {
                planned,
                runs,
                counters_skipped: false,
            }],
            shell: None,
            unavailable_counters: Vec::new(),
            failure: None,
            interrupted: false,
        };
        build_report(&config, &raw, "2026-01-01T00:00:00Z".parse().unwrap(), None)
            .0
            .benchmarks
            .remove(0)
    }

    #[test]
    fn counters_read_after_a_deciding_first_run_cover_the_other_runs() {
        let b = benchmark_of(vec![
            run_with(None),
            run_with(Some(9_000_000)),
            run_with(Some(11_000_000)),
        ]);
        let m = b.measurement(metric::TASK_CLOCK).expect("task clock");
        assert_eq!(m.samples, [9_000_000.0 * 1e-9, 11_000_000.0 * 1e-9]);
        let note = b
            .notes
            .iter()
            .find(|n| n.code == "counters_after_first_run")
            .expect("note");
        assert!(note.message.contains("runs 2 to 3"), "{}", note.message);
        assert_eq!(b.primary().unwrap().samples.len(), 3);

        // Counters on every run: all of them, no note.
        let b = benchmark_of(vec![run_with(Some(1)), run_with(Some(2))]);
        assert_eq!(b.measurement(metric::TASK_CLOCK).unwrap().samples.len(), 2);
        assert!(!b.notes.iter().any(|n| n.code == "counters_after_first_run"));

        // None read: no counter metric, no note.
        let b = benchmark_of(vec![run_with(None), run_with(None)]);
        assert!(b.measurement(metric::TASK_CLOCK).is_none());
        assert!(!b.notes.iter().any(|n| n.code == "counters_after_first_run"));
    }
}
