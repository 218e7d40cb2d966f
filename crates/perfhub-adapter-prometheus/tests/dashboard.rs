//! `docs/grafana-dashboard.json` is an importable Grafana dashboard whose
//! queries name only metrics and labels that the exposition produces.

mod common;

use std::collections::BTreeSet;

use perfhub_adapter_prometheus::{Format, exposition};
use serde_json::Value;

fn dashboard() -> Value {
    let path = std::path::Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../docs/grafana-dashboard.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The `perfhub_...` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("perfhub_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_is_importable_and_queries_what_perfhub_exposes() {
    let d = dashboard();
    assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(d["__inputs"][0]["pluginId"], "prometheus");
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(d["uid"].is_string() && d["title"].is_string());
    assert!(d["id"].is_null(), "an exported dashboard has no id");

    let panels = d["panels"].as_array().unwrap();
    let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "P95 latency",
        "Error rate",
        "CPU utilization",
        "Memory",
        "Performance Score",
    ] {
        assert!(
            titles.iter().any(|t| t.starts_with(wanted)),
            "no {wanted} panel in {titles:?}"
        );
    }
    for p in panels {
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        }
    }

    // Every metric a query names is in the exposition of real reports.
    let text = exposition(
        &[common::fixture("load"), common::fixture("run")],
        Format::Prometheus,
    );
    let exposed: BTreeSet<String> = common::parse_samples(&text)
        .into_keys()
        .map(|(name, _)| name)
        .collect();
    let mut exprs = Vec::new();
    collect_exprs(&d, &mut exprs);
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut used = BTreeSet::new();
    for expr in &exprs {
        for name in metric_names(expr) {
            assert!(
                exposed.contains(&name),
                "{name} (in `{expr}`) is not exposed"
            );
            used.insert(name);
        }
    }
    for wanted in [
        "perfhub_latency_seconds_bucket",
        "perfhub_latency_percentiles_seconds",
        "perfhub_error_rate_ratio",
        "perfhub_cpu_utilization_ratio",
        "perfhub_max_rss_bytes",
        "perfhub_performance_score",
        "perfhub_performance_score_component",
    ] {
        assert!(used.contains(wanted), "the dashboard does not use {wanted}");
    }
    // The quantiles the panels ask for are the ones summaries carry.
    for q in ["0.95", "0.5", "1"] {
        assert!(text.contains(&format!("quantile=\"{q}\"")), "{q}");
    }
}
