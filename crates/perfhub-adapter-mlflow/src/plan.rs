//! What a report becomes in MLflow: metrics, params and tags, with MLflow's
//! naming rules and limits applied, before anything is sent.

use std::collections::BTreeSet;

use perfhub_core::report::{Measurement, Report};
use perfhub_core::score::{ScoreTargets, performance_score};

/// At most this many metrics in one `runs/log-batch` (MLflow's `MAX_METRICS_PER_BATCH`).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// At most this many params in one `runs/log-batch` (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// At most this many tags in one `runs/log-batch` (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// At most this many metrics, params and tags together (`MAX_ENTITIES_PER_BATCH`).
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// MLflow refuses `runs/log-batch` bodies over 1 MB
/// (`MAX_BATCH_LOG_REQUEST_SIZE`); batches stay under this estimate.
pub const MAX_BATCH_BYTES: usize = 900_000;
/// Longest param value, in characters (`MAX_PARAM_VAL_LENGTH`, MLflow 2.x and 3.x).
pub const MAX_PARAM_VALUE_CHARS: usize = 6000;
/// Longest run tag value, in characters (`MAX_TAG_VAL_LENGTH`).
pub const MAX_TAG_VALUE_CHARS: usize = 8000;
/// Longest metric, param or tag key (`MAX_ENTITY_KEY_LENGTH`).
pub const MAX_KEY_CHARS: usize = 250;

/// One metric value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The key, valid for MLflow.
    pub key: String,
    /// The value (may be non-finite: sent as `"NaN"`, `"Infinity"`).
    pub value: f64,
    /// Milliseconds since the Unix epoch: the report's `created` time, so
    /// a value sent twice is the same entry.
    pub timestamp: i64,
    /// The sample index for histories, 0 otherwise.
    pub step: i64,
}

/// A param or a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, valid for MLflow.
    pub key: String,
    /// The value, within MLflow's length limit.
    pub value: String,
}

/// Everything one report logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The run's start time (ms since the epoch): the report's `created`.
    pub start_time: i64,
    /// Metrics, summaries first and sample histories after.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<KeyValue>,
    /// Tags (the client run id is added at upload).
    pub tags: Vec<KeyValue>,
    /// Keys whose values were cut to MLflow's limit.
    pub truncated: Vec<String>,
}

/// One `runs/log-batch` request's worth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<KeyValue>,
    /// Tags.
    pub tags: Vec<KeyValue>,
}

impl Batch {
    fn len(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }
}

/// The statistics of a summary logged for every measurement, in this order.
const STATS: [&str; 7] = ["mean", "median", "stddev", "min", "max", "mad", "n"];

/// What `report` becomes in MLflow.
///
/// Metric keys are `<benchmark>/<metric>.<statistic>` (`mean`, `median`,
/// `stddev`, `min`, `max`, `mad`, `n`, `p50`, `p90`, `p95`, `p99`,
/// `p99.9`, and `value` for single-valued measurements); the raw samples of
/// each benchmark's primary metric are the history `<benchmark>/<metric>`
/// with the sample index as step. The Performance Score is
/// `performance_score` and `performance_score.<component>`.
///
/// Names are made valid for MLflow by [`sanitize`]; two benchmarks whose
/// names sanitize alike get `_2`, `_3` in report order, and the param
/// `<benchmark>/name` keeps every original name.
pub fn plan(report: &Report) -> Plan {
    let start_time = start_millis(report);
    let mut metrics = Vec::new();
    let mut histories = Vec::new();
    let mut params = Vec::new();
    let mut tags = Vec::new();
    let mut truncated = Vec::new();
    let mut param = |key: String, value: &str, truncated: &mut Vec<String>| {
        let (value, cut) = limit(value, MAX_PARAM_VALUE_CHARS);
        if cut {
            truncated.push(key.clone());
        }
        params.push(KeyValue { key, value });
    };

    param("perfhub.tool".into(), &report.tool.name, &mut truncated);
    param(
        "perfhub.version".into(),
        &report.tool.version,
        &mut truncated,
    );
    param(
        "perfhub.schema_version".into(),
        &report.schema_version.to_string(),
        &mut truncated,
    );

    let mut used = BTreeSet::new();
    for bench in &report.benchmarks {
        let base = component(&bench.name, 120);
        let mut b = base.clone();
        let mut n = 2;
        while !used.insert(b.clone()) {
            b = format!("{base}_{n}");
            n += 1;
        }
        param(format!("{b}/name"), &bench.name, &mut truncated);
        if let Some(c) = &bench.command {
            param(format!("{b}/command"), c, &mut truncated);
        }
        param(
            format!("{b}/primary_metric"),
            &bench.primary_metric,
            &mut truncated,
        );
        for (k, v) in &bench.parameters {
            param(
                format!("{b}/param.{}", component(k, 100)),
                v,
                &mut truncated,
            );
        }
        for m in &bench.measurements {
            let mk = component(&m.metric, 100);
            param(format!("{b}/{mk}.unit"), &unit_name(m), &mut truncated);
            let mut metric = |stat: &str, value: f64| {
                metrics.push(Metric {
                    key: format!("{b}/{mk}.{stat}"),
                    value,
                    timestamp: start_time,
                    step: 0,
                });
            };
            if let Some(v) = m.value {
                metric("value", v);
            }
            if let Some(s) = &m.summary {
                let values = [
                    Some(s.mean),
                    Some(s.median),
                    s.known_stddev(),
                    Some(s.min),
                    Some(s.max),
                    s.known_mad(),
                    Some(s.n as f64),
                ];
                // A summary without a spread (k6's), or without a MAD
                // (pytest-benchmark's), has none to log.
                for (stat, v) in STATS.iter().zip(values) {
                    if let Some(v) = v {
                        metric(stat, v);
                    }
                }
                for (p, v) in &s.percentiles {
                    metric(&component(p, 20), *v);
                }
            }
            if m.metric == bench.primary_metric {
                for (i, v) in m.samples.iter().enumerate() {
                    histories.push(Metric {
                        key: format!("{b}/{mk}"),
                        value: *v,
                        timestamp: start_time,
                        step: i as i64,
                    });
                }
            }
        }
    }

    if let Some(score) = performance_score(report, &ScoreTargets::default(), None) {
        metrics.push(Metric {
            key: "performance_score".into(),
            value: score.score,
            timestamp: start_time,
            step: 0,
        });
        for c in &score.components {
            metrics.push(Metric {
                key: format!("performance_score.{}", component(&c.name, 100)),
                value: c.score,
                timestamp: start_time,
                step: 0,
            });
        }
    }
    metrics.extend(histories);

    let mut tag = |key: &str, value: &str| {
        let (value, cut) = limit(value, MAX_TAG_VALUE_CHARS);
        if cut {
            truncated.push(key.to_string());
        }
        tags.push(KeyValue {
            key: key.to_string(),
            value,
        });
    };
    tag("perfhub.report.kind", &json_name(&report.kind));
    tag("perfhub.report.created", &report.created.to_string());
    if let Some(env) = &report.environment {
        if let Some(c) = &env.git_commit {
            tag("mlflow.source.git.commit", c);
        }
        if let Some(b) = &env.git_branch {
            tag("perfhub.git.branch", b);
        }
        if let Some(d) = env.git_dirty {
            tag("perfhub.git.dirty", if d { "true" } else { "false" });
        }
        tag("perfhub.machine", &env.fingerprint);
        if let Some(h) = &env.hostname {
            tag("perfhub.host", h);
        }
        if let Some(o) = &env.os {
            tag("perfhub.os", o);
        }
        if let Some(k) = &env.kernel {
            tag("perfhub.kernel", k);
        }
        tag("perfhub.arch", &env.arch);
        if let Some(c) = &env.cpu_model {
            tag("perfhub.cpu", c);
        }
        tag("perfhub.logical_cpus", &env.logical_cpus.to_string());
        if let Some(r) = &env.rustc {
            tag("perfhub.rustc", r);
        }
    }
    let failed = report.budgets.iter().filter(|v| !v.passed).count();
    let passed = report.budgets.len() - failed;
    let verdict = match (report.budgets.is_empty(), failed) {
        (true, _) => "none",
        (false, 0) => "passed",
        _ => "failed",
    };
    tag("perfhub.budgets", verdict);
    tag("perfhub.budgets.passed", &passed.to_string());
    tag("perfhub.budgets.failed", &failed.to_string());
    if !report.notes.is_empty() {
        // MLflow shows this tag as the run's description.
        let text: Vec<String> = report
            .notes
            .iter()
            .map(|n| format!("- {} ({}): {}", json_name(&n.severity), n.code, n.message))
            .collect();
        tag("mlflow.note.content", &text.join("\n"));
    }

    Plan {
        start_time,
        metrics,
        params,
        tags,
        truncated,
    }
}

/// Splits a plan's entries into `runs/log-batch` requests within MLflow's
/// limits: params and tags first (they are idempotent), then metrics.
pub fn batches(metrics: &[Metric], params: &[KeyValue], tags: &[KeyValue]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut cur = Batch::default();
    let mut bytes = 0usize;
    let full = |cur: &Batch, bytes: usize, extra: usize| {
        cur.len() >= MAX_ENTITIES_PER_BATCH || bytes + extra > MAX_BATCH_BYTES
    };
    for t in tags {
        let size = t.key.len() + t.value.len() + 32;
        if cur.tags.len() >= MAX_TAGS_PER_BATCH || full(&cur, bytes, size) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.tags.push(t.clone());
    }
    for p in params {
        let size = p.key.len() + p.value.len() + 32;
        if cur.params.len() >= MAX_PARAMS_PER_BATCH || full(&cur, bytes, size) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.params.push(p.clone());
    }
    for m in metrics {
        let size = m.key.len() + 96;
        if cur.metrics.len() >= MAX_METRICS_PER_BATCH || full(&cur, bytes, size) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.metrics.push(m.clone());
    }
    if cur.len() > 0 {
        out.push(cur);
    }
    out
}

/// A name made valid as one path segment of an MLflow key: ASCII letters,
/// digits, `_ - . space` are kept, every other character (including `/`)
/// becomes `_`; empty, `.` and `..` become `_`; names longer than `max`
/// characters are cut and end with a hash of the whole name. The same name
/// always gives the same segment.
pub fn sanitize(name: &str, max: usize) -> String {
    component(name, max)
}

fn component(name: &str, max: usize) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        // `.`, `..` and friends would be read as paths by MLflow's check.
        s = s.replace('.', "_");
        if s.is_empty() {
            s.push('_');
        }
    }
    if s.len() > max {
        let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
        s.truncate(max.saturating_sub(hash.len() + 1));
        s.push('_');
        s.push_str(&hash);
    }
    s
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `value` cut to `max` characters (as MLflow counts them: code points).
fn limit(value: &str, max: usize) -> (String, bool) {
    match value.char_indices().nth(max) {
        Some((i, _)) => (value[..i].to_string(), true),
        None => (value.to_string(), false),
    }
}

fn unit_name(m: &Measurement) -> String {
    json_name(&m.unit)
}

/// The serde name of a unit enum, such as `seconds` or `run`.
fn json_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Milliseconds since the epoch of the report's `created` time.
fn start_millis(report: &Report) -> i64 {
    report.created.unix.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_deterministically() {
        assert_eq!(sanitize("GET /api/v1?x=1", 100), "GET _api_v1_x_1");
        assert_eq!(sanitize("sleep 0.01", 100), "sleep 0.01");
        assert_eq!(sanitize("..", 100), "__");
        assert_eq!(sanitize("", 100), "_");
        assert_eq!(sanitize("ünï", 100), "_n_");
        let long = "x".repeat(300);
        let s = sanitize(&long, 120);
        assert_eq!(s.len(), 120);
        assert_eq!(s, sanitize(&long, 120));
        assert_ne!(s, sanitize(&"x".repeat(301), 120));
    }

    #[test]
    fn start_time_is_the_created_time_in_millis() {
        use perfhub_core::report::ReportKind;
        let start =
            |created: &str| start_millis(&Report::new(ReportKind::Run, created.parse().unwrap()));
        assert_eq!(start("1970-01-01T00:00:00Z"), 0);
        assert_eq!(start("2026-01-02T03:04:05Z"), 1_767_323_045_000);
        assert_eq!(start("2026-01-02T05:04:05+02:00"), 1_767_323_045_000);
    }

    #[test]
    fn limits_by_characters() {
        assert_eq!(limit("ééé", 2), ("éé".to_string(), true));
        assert_eq!(limit("ab", 2), ("ab".to_string(), false));
    }

    #[test]
    fn batches_respect_every_limit() {
        let m = |i: usize| Metric {
            key: format!("k{i}"),
            value: i as f64,
            timestamp: 0,
            step: 0,
        };
        let kv = |i: usize| KeyValue {
            key: format!("p{i}"),
            value: "v".repeat(5000),
        };
        let metrics: Vec<_> = (0..2500).map(m).collect();
        let params: Vec<_> = (0..250).map(kv).collect();
        let tags: Vec<_> = (0..150).map(kv).collect();
        let out = batches(&metrics, &params, &tags);
        for b in &out {
            assert!(b.metrics.len() <= MAX_METRICS_PER_BATCH);
            assert!(b.params.len() <= MAX_PARAMS_PER_BATCH);
            assert!(b.tags.len() <= MAX_TAGS_PER_BATCH);
            assert!(b.len() <= MAX_ENTITIES_PER_BATCH);
            let size: usize = b.params.iter().chain(&b.tags).map(|p| p.value.len()).sum();
            assert!(size < 1_000_000);
        }
        let count = |f: fn(&Batch) -> usize| out.iter().map(f).sum::<usize>();
        assert_eq!(count(|b| b.metrics.len()), 2500);
        assert_eq!(count(|b| b.params.len()), 250);
        assert_eq!(count(|b| b.tags.len()), 150);
        let flat: Vec<_> = out.iter().flat_map(|b| b.metrics.clone()).collect();
        assert_eq!(flat, metrics);
    }
}
