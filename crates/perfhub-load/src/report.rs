//! A load test's outcome as a perfhub report, and its budgets.
//!
//! One benchmark per endpoint and one named `total`, each with:
//! `latency` (from the intended send time in the open model; a histogram,
//! the primary metric), `service_time` (from the actual send), `requests`,
//! `errors`, `check_failures`, `error_rate` (failed requests and failed
//! checks over requests: a response with an unexpected status fails the
//! default check), `throughput` (responses per second) and counts per status
//! (`status.200`, ...), and one per group of requests, `group:NAME`,
//! adding up its requests; in a sequence scenario also `skipped` (requests
//! not sent because an earlier request of their iteration was abandoned)
//! and `abandoned` (iterations this request abandoned, each reason in a
//! note: an extraction that found nothing, ...). `total` also has the target and achieved rates, late
//! and dropped requests, bytes, and counts per error kind
//! (`errors.timeout`, ...), and the run over time, one sample per reporting
//! interval: `interval_throughput` (responses per second), `interval_errors`
//! (failed requests and responses that failed a check, as counted in
//! `error_rate`), `interval_p95` (latency of the interval's responses;
//! 0 for an interval without one) and `interval_seconds` (the length).
//!
//! `total`'s parameters say which test it was: `schedule` (the model, rate
//! and stages, and the duration), and for a distributed test `segment`
//! (`i/N`) and `start_at` (RFC 3339): `perfhub load merge` merges only the
//! parts of one test.

use perfhub_core::budget::{Budget, BudgetError, BudgetVerdict};
use perfhub_core::report::{Benchmark, Measurement, Note, Report, ReportKind, metric};
use perfhub_core::units::Unit;

use crate::engine::{EndpointStats, LoadConfig, LoadOutcome, Model};

pub use perfhub_core::report::TOTAL;

/// `total`'s parameter holding the schedule (see [`schedule`]).
pub const PARAM_SCHEDULE: &str = "schedule";
/// `total`'s parameter holding the segment, `i/N`, when there are several.
pub const PARAM_SEGMENT: &str = "segment";
/// `total`'s parameter holding the start time given, RFC 3339.
pub const PARAM_START_AT: &str = "start_at";

/// The test's schedule in words that are equal for the segments of one
/// test and differ for another: the model, rates and stages, the duration.
pub fn schedule(config: &LoadConfig) -> String {
    let base = schedule_of_model(config);
    match &config.ramp {
        Some(r) => {
            let stages: Vec<String> = r
                .stages
                .iter()
                .map(|s| format!("{:?}:{}", s.duration, s.target))
                .collect();
            format!(
                "{base}, virtual users from {} through stages {}",
                r.start,
                stages.join(", ")
            )
        }
        None => base,
    }
}

fn schedule_of_model(config: &LoadConfig) -> String {
    match &config.model {
        Model::Closed { think_time } if think_time.is_zero() => {
            format!("closed model for {:?}", config.duration)
        }
        Model::Closed { think_time } => format!(
            "closed model with {think_time:?} think time for {:?}",
            config.duration
        ),
        Model::Open { start, stages } if stages.is_empty() => {
            format!("{start} requests/s for {:?}", config.duration)
        }
        Model::Open { start, stages } => {
            let stages: Vec<String> = stages
                .iter()
                .map(|s| format!("{:?}:{}", s.duration, s.target))
                .collect();
            format!(
                "from {start} requests/s through stages {} (at least {:?})",
                stages.join(", "),
                config.duration
            )
        }
    }
}

/// The request as the report shows it: method and URL, with a flow's
/// `${name}`s as written.
fn command(config: &LoadConfig, which: usize, spec: &crate::request::RequestSpec) -> String {
    let url = match &config.flow {
        Some(flow) if which < flow.requests.len() => flow.url_shown(which),
        _ => spec.url.to_string(),
    };
    format!("{} {url}", spec.method.as_str())
}

/// The error rate: failed requests and responses that failed a check,
/// over all requests (0 when there were none).
pub(crate) fn error_rate(failed: u64, requests: u64) -> Measurement {
    Measurement::from_value(
        metric::ERROR_RATE,
        Unit::Ratio,
        if requests == 0 {
            0.0
        } else {
            failed as f64 / requests as f64
        },
    )
}

fn count(name: &str, value: u64) -> Measurement {
    Measurement::from_value(name, Unit::Count, value as f64)
}

fn endpoint(name: &str, e: &EndpointStats, seconds: f64, flow: bool) -> Benchmark {
    let mut b = Benchmark::new(name, metric::LATENCY);
    let requests = e.responses + e.errors;
    let m = &mut b.measurements;
    m.push(e.latency.to_measurement(metric::LATENCY));
    m.push(e.service.to_measurement(metric::SERVICE_TIME));
    m.push(count(metric::REQUESTS, requests));
    m.push(count("errors", e.errors));
    m.push(count(metric::CHECK_FAILURES, e.check_failures));
    m.push(error_rate(e.errors + e.check_failures, requests));
    m.push(Measurement::from_value(
        metric::THROUGHPUT,
        Unit::PerSecond,
        e.responses as f64 / seconds.max(1e-9),
    ));
    for (status, n) in &e.statuses {
        m.push(count(&format!("status.{status}"), *n));
    }
    if flow {
        m.push(count(metric::SKIPPED, e.skipped));
        m.push(count(metric::ABANDONED, e.abandoned.values().sum()));
        for (why, n) in &e.abandoned {
            b.notes.push(Note::warning(
                "iteration_abandoned",
                format!("{n} × abandoned the iteration: {why}"),
            ));
        }
    }
    b
}

/// The report of several load tests run at once (the named scenarios of
/// one file): each one's benchmarks named `NAME/...` (`NAME/total` for
/// its whole), its notes prefixed with its name, then `total` for all of
/// them together.
pub fn build_named_report(
    named: &[(&str, &LoadConfig, &LoadOutcome)],
    created: perfhub_core::time::UtcTime,
) -> Report {
    let mut report = Report::new(ReportKind::Load, created);
    let mut all = EndpointStats::default();
    let (mut sent, mut dropped, mut late) = (0, 0, 0);
    let mut seconds: f64 = 0.0;
    let mut flow = false;
    for (name, config, outcome) in named {
        let one = build_report(config, outcome, created);
        for mut b in one.benchmarks {
            b.name = format!("{name}/{}", b.name);
            report.benchmarks.push(b);
        }
        for mut n in one.notes {
            n.message = format!("{name}: {}", n.message);
            report.notes.push(n);
        }
        all.merge(&outcome.stats.total());
        sent += outcome.stats.sent;
        dropped += outcome.stats.dropped;
        late += outcome.stats.late;
        seconds = seconds.max(outcome.duration.as_secs_f64());
        flow |= config.flow.is_some();
    }
    let mut b = endpoint(TOTAL, &all, seconds, flow);
    b.notes.retain(|n| n.code != "iteration_abandoned");
    b.measurements.push(count("sent", sent));
    b.measurements.push(count(metric::LATE, late));
    b.measurements.push(count(metric::DROPPED, dropped));
    report.benchmarks.push(b);
    report
}

/// The report of a load test: one benchmark per endpoint, then `total`.
pub fn build_report(
    config: &LoadConfig,
    outcome: &LoadOutcome,
    created: perfhub_core::time::UtcTime,
) -> Report {
    let mut report = Report::new(ReportKind::Load, created);
    let seconds = outcome.duration.as_secs_f64();
    let stats = &outcome.stats;
    if config.requests.len() > 1 {
        for (i, (spec, e)) in config.requests.iter().zip(&stats.endpoints).enumerate() {
            let mut b = endpoint(&spec.name, e, seconds, config.flow.is_some());
            b.command = Some(command(config, i, spec));
            report.benchmarks.push(b);
        }
    }
    // Each group adds up its requests, named `group:NAME` (k6's groups).
    let mut groups: Vec<(&str, EndpointStats)> = Vec::new();
    for (spec, e) in config.requests.iter().zip(&stats.endpoints) {
        let Some(group) = spec.group.as_deref() else {
            continue;
        };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, sum)) => sum.merge(e),
            None => groups.push((group, e.clone())),
        }
    }
    for (group, e) in &groups {
        let mut b = endpoint(&format!("group:{group}"), e, seconds, config.flow.is_some());
        b.notes.retain(|n| n.code != "iteration_abandoned");
        report.benchmarks.push(b);
    }
    let total = stats.total();
    let mut b = endpoint(TOTAL, &total, seconds, config.flow.is_some());
    if config.requests.len() > 1 {
        // Each request's benchmark says why it abandoned iterations.
        b.notes.retain(|n| n.code != "iteration_abandoned");
    }
    b.parameters
        .insert(PARAM_SCHEDULE.to_string(), schedule(config));
    if config.segment.count > 1 {
        b.parameters.insert(
            PARAM_SEGMENT.to_string(),
            format!("{}/{}", config.segment.index + 1, config.segment.count),
        );
    }
    if let Some(at) = config.start_at {
        b.parameters.insert(
            PARAM_START_AT.to_string(),
            crate::engine::format_start_at(at),
        );
    }
    if let [spec] = config.requests.as_slice() {
        b.command = Some(command(config, 0, spec));
    }
    let m = &mut b.measurements;
    if let Some(rate) = outcome.target_rate {
        m.push(Measurement::from_value(
            metric::TARGET_RATE,
            Unit::PerSecond,
            rate,
        ));
    }
    m.push(Measurement::from_value(
        metric::ACHIEVED_RATE,
        Unit::PerSecond,
        stats.sent as f64 / seconds.max(1e-9),
    ));
    m.push(count("sent", stats.sent));
    m.push(count(metric::LATE, stats.late));
    m.push(count(metric::DROPPED, stats.dropped));
    if config.http2 {
        m.push(count(metric::RETRIED, stats.retried));
    }
    m.push(Measurement::from_value(
        metric::BYTES_SENT,
        Unit::Bytes,
        stats.bytes_sent as f64,
    ));
    m.push(Measurement::from_value(
        metric::BYTES_RECEIVED,
        Unit::Bytes,
        stats.bytes_received as f64,
    ));
    for (kind, n) in &stats.errors {
        m.push(count(&format!("errors.{}", kind.name()), *n));
    }
    if !outcome.intervals.is_empty() {
        let secs = |i: &crate::engine::Interval| i.length.as_secs_f64().max(1e-9);
        m.push(Measurement::from_samples(
            metric::INTERVAL_THROUGHPUT,
            Unit::PerSecond,
            outcome
                .intervals
                .iter()
                .map(|i| i.latency.len() as f64 / secs(i))
                .collect(),
        ));
        m.push(Measurement::from_samples(
            metric::INTERVAL_ERRORS,
            Unit::Count,
            outcome
                .intervals
                .iter()
                .map(|i| (i.errors + i.check_failures) as f64)
                .collect(),
        ));
        m.push(Measurement::from_samples(
            metric::INTERVAL_P95,
            Unit::Seconds,
            outcome
                .intervals
                .iter()
                .map(|i| {
                    if i.latency.is_empty() {
                        0.0
                    } else {
                        i.latency.value_at_quantile(0.95).as_secs_f64()
                    }
                })
                .collect(),
        ));
        m.push(Measurement::from_value(
            metric::INTERVAL_SECONDS,
            Unit::Seconds,
            outcome.intervals[0].length.as_secs_f64(),
        ));
    }
    let model = match &config.model {
        Model::Closed { think_time } if think_time.is_zero() => format!(
            "closed model: {} connections, each sending as soon as its previous response is in; latency is service time (a closed model cannot see coordinated omission)",
            config.connections
        ),
        Model::Closed { think_time } => format!(
            "closed model: {} connections with {} of think time",
            config.connections,
            Unit::Seconds.format(think_time.as_secs_f64())
        ),
        Model::Open { .. } => format!(
            "open model on {} connections: latency is measured from each request's intended send time (coordinated omission corrected); service_time from the actual send",
            config.connections
        ),
    };
    b.notes.push(Note::info("load_model", model));
    if config.segment.count > 1 {
        b.notes.push(Note::info(
            "segment",
            format!(
                "segment {}/{} of a distributed test: merge the segments' reports with `perfhub load merge`",
                config.segment.index + 1,
                config.segment.count
            ),
        ));
    }
    b.notes
        .extend(count_notes(stats.late, stats.sent, stats.dropped));
    if let Some(limit) = stats.stream_limit {
        b.notes.push(Note::warning(
            "stream_limit",
            format!(
                "the server allowed {limit} concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS), fewer than the {} asked for: requests waited in the client for a free stream, and that wait is in their latency",
                config.streams
            ),
        ));
    }
    if let Some(why) = &outcome.tls_failure {
        b.notes.push(Note::warning(
            "tls_failure",
            format!("TLS handshakes failed: {why}; trust the server's certificate with `ca_file` FILE, or skip the check with `insecure`"),
        ));
    }
    if outcome.stopped_early {
        b.notes.push(Note::warning(
            "stopped_early",
            "the test stopped early; the figures cover what ran",
        ));
    }
    report.benchmarks.push(b);
    for why in &outcome.failures {
        report.notes.push(Note::warning(
            "load_worker_failed",
            format!(
                "{why}; the counts miss what it would have counted, so this run is not a result (a bug in perfhub: please report it with this message)"
            ),
        ));
    }
    report
}

/// The notes on requests sent late and dropped, from their counts (a
/// merged report's are made again from the added counts).
pub(crate) fn count_notes(late: u64, sent: u64, dropped: u64) -> Vec<Note> {
    let mut notes = Vec::new();
    if late > 0 {
        notes.push(Note::warning(
            "late_requests",
            format!(
                "{late} of {sent} requests were sent more than 2 ms (the timer's slack) after their intended time: the target or the client could not keep up, and their latency includes the wait"
            ),
        ));
    }
    if dropped > 0 {
        notes.push(Note::warning(
            "dropped_requests",
            format!(
                "{dropped} requests due before the end could not be sent within the grace period (`grace`): their connections were still waiting on earlier ones; each is counted in the latency percentiles with the time it had waited, a lower bound on its latency"
            ),
        ));
    }
    notes
}

/// Judges `overall` budgets on the report's `total` and each endpoint's
/// budgets on that endpoint (as [`evaluate_budgets`]) and stores the
/// verdicts in the report; on error nothing is stored.
pub fn apply_budgets(
    report: &mut Report,
    overall: &[Budget],
    per_endpoint: &[(String, Vec<Budget>)],
) -> Result<(), BudgetError> {
    let verdicts = evaluate_budgets(report, overall, per_endpoint)?;
    report.budgets.extend(verdicts);
    Ok(())
}

/// Evaluates `overall` budgets on the `total` benchmark and each endpoint's
/// own budgets on that endpoint.
pub fn evaluate_budgets(
    report: &Report,
    overall: &[Budget],
    per_endpoint: &[(String, Vec<Budget>)],
) -> Result<Vec<BudgetVerdict>, BudgetError> {
    let mut verdicts = Vec::new();
    let only = |name: &str| {
        let mut r = report.clone();
        r.benchmarks.retain(|b| b.name == name);
        r
    };
    let total = only(TOTAL);
    for budget in overall {
        verdicts.extend(budget.evaluate(&total)?);
    }
    for (name, budgets) in per_endpoint {
        // With one endpoint, its numbers are the total's.
        let mut scoped = only(name);
        if scoped.benchmarks.is_empty() {
            scoped = total.clone();
        }
        for budget in budgets {
            let mut v = budget.evaluate(&scoped)?;
            for verdict in &mut v {
                verdict.benchmark = name.clone();
            }
            verdicts.extend(v);
        }
    }
    Ok(verdicts)
}

/// Writes the latency histograms of a run as an HdrHistogram interval log
/// (`perfhub load --hdr-log`): one untagged entry per reporting interval,
/// then the whole run of each endpoint (when there are several) and of
/// `total`, tagged with their names (spaces and commas made `_`). The log
/// starts when the run did, counted back from now.
pub fn write_hdr_log(
    out: impl std::io::Write,
    config: &LoadConfig,
    outcome: &LoadOutcome,
) -> Result<(), perfhub_core::histogram::HistogramError> {
    use perfhub_core::histogram::{IntervalEntry, LatencyHistogram, write_interval_log};
    let mut entries: Vec<IntervalEntry> = outcome
        .intervals
        .iter()
        .map(|i| IntervalEntry {
            tag: None,
            start_offset: i.start,
            duration: i.length,
            histogram: i.latency.clone(),
        })
        .collect();
    let whole = |name: &str, h: &LatencyHistogram| IntervalEntry {
        tag: Some(log_tag(name)),
        start_offset: std::time::Duration::ZERO,
        duration: outcome.duration,
        histogram: h.clone(),
    };
    for (spec, e) in config.requests.iter().zip(&outcome.stats.endpoints) {
        if config.requests.len() > 1 {
            entries.push(whole(&spec.name, &e.latency));
        }
    }
    entries.push(whole(TOTAL, &outcome.stats.total().latency));
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() - outcome.elapsed.as_secs_f64())
        .ok();
    write_interval_log(out, &entries, start)
}

/// A tag for the interval log: no spaces or commas.
fn log_tag(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_whitespace() || c == ',' {
                '_'
            } else {
                c
            }
        })
        .collect()
}
