//! Stopping a load test early when a budget is breached (`perfhub load
//! --abort-on-breach`): the overall budgets judged over a sliding window
//! of the most recent intervals, as they arrive.

use std::collections::VecDeque;
use std::time::Duration;

use perfhub_core::budget::Budget;
use perfhub_core::histogram::LatencyHistogram;
use perfhub_core::report::{Benchmark, Report, ReportKind, metric};
use perfhub_core::units::Unit;

use crate::engine::{Interval, Progress};

/// Judges budgets over the last `window` of a running test; a
/// [`Progress`] that asks the test to stop once one is breached.
///
/// The window holds the latencies of the responses completed in it and its
/// error rate (failed requests and responses that failed a check, over all
/// requests), as the report's `total` does. A budget on any other metric
/// cannot be judged while the test runs and is left to the end. Nothing is
/// judged before a whole window has passed.
#[derive(Debug)]
pub struct BreachWatch {
    window: Duration,
    budgets: Vec<Budget>,
    recent: VecDeque<Interval>,
    breach: Option<String>,
}

impl BreachWatch {
    /// Watches `budgets` over windows of `window`.
    pub fn new(window: Duration, budgets: Vec<Budget>) -> BreachWatch {
        BreachWatch {
            window,
            budgets,
            recent: VecDeque::new(),
            breach: None,
        }
    }

    /// Takes in the interval just ended, and judges the window ending with
    /// it (once no budget has been breached yet).
    pub fn observe(&mut self, i: &Interval) {
        self.recent.push_back(i.clone());
        while self
            .recent
            .front()
            .is_some_and(|f| f.start + self.window < i.start + i.length)
        {
            self.recent.pop_front();
        }
        if self.breach.is_none() {
            self.breach = self.judge();
        }
    }

    /// What was breached, when, and by how much, once a budget was.
    pub fn breach(&self) -> Option<&str> {
        self.breach.as_deref()
    }

    fn judge(&self) -> Option<String> {
        let (first, last) = (self.recent.front()?, self.recent.back()?);
        if last.start + last.length < first.start + self.window {
            return None;
        }
        let mut latency = LatencyHistogram::new();
        let (mut errors, mut failed) = (0, 0);
        for i in &self.recent {
            let _ = latency.merge(&i.latency);
            errors += i.errors;
            failed += i.errors + i.check_failures;
        }
        let requests = latency.len() + errors;
        let mut b = Benchmark::new(crate::report::TOTAL, metric::LATENCY);
        b.measurements.push(latency.to_measurement(metric::LATENCY));
        b.measurements
            .push(crate::report::error_rate(failed, requests));
        let mut r = Report::new(ReportKind::Load, perfhub_core::time::UtcTime { unix: 0 });
        r.benchmarks.push(b);
        self.budgets.iter().find_map(|budget| {
            // A budget on a metric the window does not have is left to the
            // end of the run.
            let verdicts = budget.evaluate(&r).ok()?;
            let v = verdicts.into_iter().find(|v| !v.passed)?;
            Some(format!(
                "`{}` was breached over the {} ending at {:.0} s ({} {} was {}): the test stopped early",
                v.budget,
                Unit::Seconds.format(self.window.as_secs_f64()),
                (last.start + last.length).as_secs_f64(),
                v.statistic,
                v.metric,
                v.unit.format(v.actual)
            ))
        })
    }
}

impl Progress for BreachWatch {
    fn interval(&mut self, interval: &Interval) {
        self.observe(interval);
    }

    fn should_stop(&mut self) -> bool {
        self.breach.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(k: u64, latency_ms: u64, responses: u64, errors: u64) -> Interval {
        let mut latency = LatencyHistogram::new();
        for _ in 0..responses {
            latency.record(Duration::from_millis(latency_ms));
        }
        Interval {
            start: Duration::from_secs(k),
            length: Duration::from_secs(1),
            latency,
            errors,
            check_failures: 0,
        }
    }

    #[test]
    fn a_breach_over_a_whole_window_stops_the_test() {
        let budgets = vec!["p95 < 100ms".parse().unwrap()];
        // Slow from the start: nothing is judged before a whole window.
        let mut w = BreachWatch::new(Duration::from_secs(3), budgets.clone());
        w.interval(&interval(0, 500, 100, 0));
        w.interval(&interval(1, 500, 100, 0));
        assert!(!w.should_stop());
        w.interval(&interval(2, 500, 100, 0));
        assert!(w.should_stop());
        let why = w.breach().unwrap();
        assert!(
            why.contains("`p95 < 100ms` was breached over the 3 s ending at 3 s"),
            "{why}"
        );
        // The first breach is kept.
        w.interval(&interval(3, 900, 100, 0));
        assert!(w.breach().unwrap().contains("ending at 3 s"));

        // Fast throughout: never stopped; old intervals leave the window.
        let mut w = BreachWatch::new(Duration::from_secs(3), budgets);
        for k in 0..10 {
            w.interval(&interval(k, 10, 100, 0));
        }
        assert!(!w.should_stop());
        assert!(w.recent.len() <= 4);
    }

    #[test]
    fn errors_count_toward_the_error_rate_and_other_metrics_wait() {
        let mut w = BreachWatch::new(
            Duration::from_secs(1),
            vec![
                "throughput > 1000000/s".parse().unwrap(),
                "error_rate < 10%".parse().unwrap(),
            ],
        );
        w.interval(&interval(0, 10, 80, 20));
        let why = w.breach().expect("20% errors breach");
        assert!(why.contains("error_rate"), "{why}");
    }
}
