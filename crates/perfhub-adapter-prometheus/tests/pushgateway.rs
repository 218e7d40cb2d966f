//! Pushes to the real Pushgateway `scripts/ci-prometheus.sh` starts, then
//! reads every value back through the Pushgateway's own API
//! (`GET /api/v1/metrics`) and checks it arrived unchanged.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use perfhub_adapter_prometheus::{
    Error, Format, PushConfig, PushMethod, Source, delete_group, exposition_labeled, push,
    push_reports, push_text,
};
use serde_json::Value;

fn config(url: &str, job: &str, grouping: &[(&str, &str)]) -> PushConfig {
    let mut c = PushConfig::new(url, job);
    c.grouping = grouping
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    c.timeout = Duration::from_secs(5);
    c.retries = 1;
    c.backoff = Duration::from_millis(50);
    c
}

/// A job name no other test run uses.
fn unique_job(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("perfhub_test_{test}_{}_{nanos}", std::process::id())
}

/// The group whose labels are exactly `labels`, from `/api/v1/metrics`.
fn read_group(
    url: &str,
    labels: &BTreeMap<String, String>,
) -> Option<serde_json::Map<String, Value>> {
    let body = ureq::get(&format!("{url}/api/v1/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"].as_array().unwrap().iter().find_map(|g| {
        let got: BTreeMap<String, String> = g["labels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        (got == *labels).then(|| g.as_object().unwrap().clone())
    })
}

fn num(v: &Value) -> f64 {
    common::parse_value(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
}

/// The samples of a group as the Pushgateway holds them, in the same shape
/// as [`common::parse_samples`], without the grouping labels (and the
/// `instance=""` the Pushgateway adds) nor its own `push_*` metrics.
fn group_samples(
    group: &serde_json::Map<String, Value>,
    grouping: &BTreeMap<String, String>,
) -> BTreeMap<common::Key, f64> {
    let mut out = BTreeMap::new();
    let mut put = |name: String, labels: BTreeMap<String, String>, v: f64| {
        assert!(
            out.insert((name.clone(), labels.clone()), v).is_none(),
            "{name} {labels:?} twice"
        );
    };
    for (family, body) in group {
        if family == "labels" || family == "last_push_successful" || family.starts_with("push_") {
            continue;
        }
        let kind = body["type"].as_str().unwrap();
        for m in body["metrics"].as_array().unwrap() {
            let mut labels: BTreeMap<String, String> = m["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            for (k, v) in grouping {
                assert_eq!(
                    labels.remove(k).as_ref(),
                    Some(v),
                    "{family}: grouping label {k}"
                );
            }
            if labels.get("instance").is_some_and(String::is_empty)
                && !grouping.contains_key("instance")
            {
                labels.remove("instance");
            }
            match kind {
                "GAUGE" | "COUNTER" | "UNTYPED" => put(family.clone(), labels, num(&m["value"])),
                "SUMMARY" => {
                    for (q, v) in m["quantiles"].as_object().unwrap() {
                        let mut l = labels.clone();
                        l.insert("quantile".into(), q.clone());
                        put(family.clone(), l, num(v));
                    }
                    put(format!("{family}_sum"), labels.clone(), num(&m["sum"]));
                    put(format!("{family}_count"), labels, num(&m["count"]));
                }
                "HISTOGRAM" => {
                    for (le, v) in m["buckets"].as_object().unwrap() {
                        let mut l = labels.clone();
                        l.insert("le".into(), le.clone());
                        put(format!("{family}_bucket"), l, num(v));
                    }
                    put(format!("{family}_sum"), labels.clone(), num(&m["sum"]));
                    put(format!("{family}_count"), labels, num(&m["count"]));
                }
                other => panic!("unexpected type {other} of {family}"),
            }
        }
    }
    out
}

/// `le` and `quantile` as numbers, since the Pushgateway writes them in
/// Go's spelling (`1e-06` for our `0.000001`).
fn normalize(
    samples: BTreeMap<common::Key, f64>,
) -> BTreeMap<(String, Vec<(String, String)>), f64> {
    samples
        .into_iter()
        .map(|((name, labels), v)| {
            let labels = labels
                .into_iter()
                .map(|(k, v)| {
                    if k == "le" || k == "quantile" {
                        let n = common::parse_value(&v);
                        (k, format!("{:e}", n))
                    } else {
                        (k, v)
                    }
                })
                .collect();
            ((name, labels), v)
        })
        .collect()
}

fn assert_same_samples(
    sent: &str,
    group: &serde_json::Map<String, Value>,
    grouping: &BTreeMap<String, String>,
) {
    let sent = normalize(common::parse_samples(sent));
    let got = normalize(group_samples(group, grouping));
    let missing: Vec<_> = sent.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !sent.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    for (key, v) in &sent {
        assert!(
            common::same(got[key], *v),
            "{key:?}: sent {v}, the Pushgateway holds {}",
            got[key]
        );
    }
}

#[test]
fn every_pushed_value_reads_back_unchanged() {
    let url = common::service("PERFHUB_TEST_PUSHGATEWAY");
    let url = url.trim_end_matches('/').to_string();
    let load = common::fixture("load");
    let run = common::fixture("run");
    let job = unique_job("roundtrip");
    // Awkward grouping values travel base64-encoded.
    let c = config(
        &url,
        &job,
        &[
            ("instance", "ci/runner 1"),
            ("branch", ""),
            ("sha", "abc123"),
        ],
    );
    let grouping: BTreeMap<String, String> = [
        ("job", job.as_str()),
        ("instance", "ci/runner 1"),
        ("branch", ""),
        ("sha", "abc123"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let la = vec![("report".to_string(), "load".to_string())];
    let lb = vec![("report".to_string(), "run \"nightly\"\\x\ny".to_string())];
    let sources = [
        Source {
            report: &load,
            labels: &la,
        },
        Source {
            report: &run,
            labels: &lb,
        },
    ];
    let pushed = push_reports(&c, &sources).unwrap();
    assert_eq!(pushed.attempts, 1);
    let sent = exposition_labeled(&sources, Format::Prometheus);
    let group = read_group(&url, &grouping).expect("the group exists after the push");
    assert_eq!(group["last_push_successful"], true);
    assert_same_samples(&sent, &group, &grouping);

    // The values are the report's own, too: spot checks against the model.
    let samples = common::parse_samples(&sent);
    let key = |name: &str, labels: &[(&str, &str)]| -> common::Key {
        (
            name.to_string(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let lat = load
        .benchmark("total")
        .unwrap()
        .measurement("latency")
        .unwrap();
    let p95 = lat.summary.as_ref().unwrap().percentiles["p95"];
    assert!(common::same(
        samples[&key(
            "perfhub_latency_percentiles_seconds",
            &[
                ("benchmark", "total"),
                ("report", "load"),
                ("quantile", "0.95")
            ]
        )],
        p95
    ));
    let n = lat.summary.as_ref().unwrap().n as f64;
    assert!(common::same(
        samples[&key(
            "perfhub_latency_seconds_bucket",
            &[("benchmark", "total"), ("report", "load"), ("le", "+Inf")]
        )],
        n
    ));
    let er = load
        .benchmark("total")
        .unwrap()
        .measurement("error_rate")
        .unwrap()
        .value
        .unwrap();
    assert!(common::same(
        samples[&key(
            "perfhub_error_rate_ratio",
            &[("benchmark", "total"), ("report", "load")]
        )],
        er
    ));

    // PUT replaces the whole group: only the run report is left.
    let c_put = c.clone();
    push(&c_put, &run).unwrap();
    let group = read_group(&url, &grouping).unwrap();
    assert!(!group.contains_key("perfhub_latency_seconds"));
    assert_same_samples(
        &perfhub_adapter_prometheus::exposition(std::slice::from_ref(&run), Format::Prometheus),
        &group,
        &grouping,
    );

    // POST merges: the load report's families join the run's.
    let mut c_post = c.clone();
    c_post.method = PushMethod::Post;
    push(&c_post, &load).unwrap();
    let group = read_group(&url, &grouping).unwrap();
    assert!(group.contains_key("perfhub_latency_seconds"));
    assert!(group.contains_key("perfhub_wall_time_seconds"));

    delete_group(&c).unwrap();
    assert!(read_group(&url, &grouping).is_none());
}

#[test]
fn the_pushgateway_refusals_come_back_with_its_reasons_and_are_not_retried() {
    let url = common::service("PERFHUB_TEST_PUSHGATEWAY");
    let url = url.trim_end_matches('/').to_string();
    let job = unique_job("refused");
    let mut c = config(&url, &job, &[]);
    c.retries = 3;

    // Not the text format.
    let e = push_text(&c, "this is { not metrics\n").unwrap_err();
    match &e {
        Error::Status {
            status,
            body,
            attempts,
            ..
        } => {
            assert_eq!(*status, 400, "{e}");
            assert_eq!(*attempts, 1, "a 4xx is not retried: {e}");
            assert!(!body.is_empty() && body != "(empty body)", "{e}");
        }
        other => panic!("expected a status error, got {other}"),
    }
    let text = e.to_string();
    assert!(text.contains(&url) && text.contains("400"), "{text}");

    // A timestamp, which the Pushgateway refuses.
    let e = push_text(&c, "perfhub_x 1 1700000000000\n").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().to_lowercase().contains("timestamp"), "{e}");

    // Nothing was stored; the Pushgateway only notes the failed pushes.
    let grouping = [("job".to_string(), job.clone())].into_iter().collect();
    if let Some(group) = read_group(&url, &grouping) {
        assert_eq!(group["last_push_successful"], false);
        assert!(
            group.keys().all(|k| !k.starts_with("perfhub_")),
            "{group:?}"
        );
    }
    let _ = delete_group(&c);
}
