//! perfhub reports in MLflow tracking runs.
//!
//! [`log_report`] sends one [`Report`] to an MLflow tracking server through
//! its REST API (`/api/2.0/mlflow/...`) as one run:
//!
//! 1. the experiment by name (`experiments/get-by-name`, else
//!    `experiments/create`);
//! 2. `runs/create`, tagged with a client-generated `perfhub.client_run_id`;
//! 3. `runs/log-batch` calls within MLflow's limits (see [`plan`] for what
//!    becomes a metric, a param or a tag, and [`plan::batches`]);
//! 4. `runs/update` with status `FINISHED`.
//!
//! The run ends `FINISHED` whenever every value arrived, even when the
//! report's budgets failed: MLflow's status says whether the run completed,
//! and the budgets' verdict is data, in the tags `perfhub.budgets`
//! (`passed`, `failed` or `none`), `perfhub.budgets.passed` and
//! `perfhub.budgets.failed`. A run the upload could not complete is marked
//! `FAILED` where the server still answers, and the error is
//! [`Error::Incomplete`] with its id.
//!
//! # Retries
//!
//! Connection failures, timeouts, HTTP 429 and 5xx are retried with
//! exponential backoff (`backoff`, doubled each attempt, at most 10 s;
//! `Retry-After` is honoured up to that cap) where sending again is safe:
//!
//! - reads, `runs/update`, and tags and params (MLflow applies the same
//!   key and value idempotently) are always retried;
//! - `experiments/create` after an unknown outcome looks the name up again;
//! - `runs/create` after an unknown outcome (a timeout, a broken
//!   connection, a 5xx) searches the experiment for the run's
//!   `perfhub.client_run_id` before creating it again, so a lost answer does
//!   not leave a duplicate run;
//! - `runs/log-batch` appends metric values (MLflow keeps every
//!   `(key, value, timestamp, step)` it is sent; only its SQL store drops
//!   exact duplicates), so after an unknown outcome the adapter reads the
//!   batch's metric histories back (`metrics/get-history`) and sends only
//!   the values that are missing. Every value carries the report's
//!   `created` time as timestamp and its sample index as step, so "already
//!   there" is an exact comparison.
//!
//! A request that certainly never reached the server (connection refused,
//! 429) is always sent again. HTTP 4xx answers are final and reported with
//! MLflow's `error_code` and `message`.
//!
//! # Secrets
//!
//! The token is sent as `Authorization: Bearer`; the CLI reads it from
//! [`TOKEN_ENV`]. `Debug` of [`MlflowConfig`] shows `token: Some("***")`,
//! and every error text that came from the server or the HTTP stack is
//! scrubbed of the token before it is stored in an [`Error`].
//!
//! The report is only read: a failed upload leaves it, and any file it was
//! read from, as it was.
#![deny(missing_docs)]

mod error;
mod http;
pub mod plan;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perfhub_core::report::Report;
use serde_json::{Value, json};

pub use error::Error;
use http::{Client, Failure, Retry};
use plan::{Batch, Metric};

/// The environment variable the CLI reads the token from (MLflow's own).
pub const TOKEN_ENV: &str = "MLFLOW_TRACKING_TOKEN";

/// The tag holding the id the client gives each run before creating it.
pub const CLIENT_RUN_ID_TAG: &str = "perfhub.client_run_id";

/// Where and how to log.
#[derive(Clone)]
pub struct MlflowConfig {
    /// The tracking server, such as `http://127.0.0.1:5000`.
    pub tracking_uri: String,
    /// The experiment name; created when missing.
    pub experiment: String,
    /// The run name (MLflow picks one when `None`).
    pub run_name: Option<String>,
    /// A bearer token, read by the caller from [`TOKEN_ENV`]; never printed.
    pub token: Option<String>,
    /// The limit for each HTTP request.
    pub timeout: Duration,
    /// How many times a failed request is sent again where that is safe.
    pub retries: u32,
    /// The wait before the first retry, doubled for each next one.
    pub backoff: Duration,
}

impl MlflowConfig {
    /// A configuration with a 30 s timeout, 3 retries and a 500 ms backoff.
    pub fn new(tracking_uri: impl Into<String>, experiment: impl Into<String>) -> Self {
        MlflowConfig {
            tracking_uri: tracking_uri.into(),
            experiment: experiment.into(),
            run_name: None,
            token: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for MlflowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlflowConfig")
            .field("tracking_uri", &self.tracking_uri)
            .field("experiment", &self.experiment)
            .field("run_name", &self.run_name)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// The run a report was logged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// MLflow's run id.
    pub run_id: String,
    /// MLflow's experiment id.
    pub experiment_id: String,
    /// The run's page in the MLflow UI.
    pub url: String,
}

/// Logs `report` as one MLflow run; see the crate documentation.
pub fn log_report(cfg: &MlflowConfig, report: &Report) -> Result<RunInfo, Error> {
    let client = Client::new(cfg)?;
    let plan = plan::plan(report);
    let experiment_id = experiment_id(&client, &cfg.experiment)?;
    let client_run_id = client_run_id(report);
    let run_id = create_run(
        &client,
        cfg,
        &experiment_id,
        &client_run_id,
        plan.start_time,
    )?;

    let upload = || -> Result<(), Error> {
        for batch in plan::batches(&plan.metrics, &plan.params, &plan.tags) {
            log_batch(&client, &run_id, &batch, cfg.retries)?;
        }
        update_run(&client, &run_id, "FINISHED")
    };
    if let Err(e) = upload() {
        // Best effort: a run left RUNNING would look like one in progress.
        let _ = update_run(&client, &run_id, "FAILED");
        return Err(Error::Incomplete {
            run_id,
            source: Box::new(e),
        });
    }
    Ok(RunInfo {
        url: format!(
            "{}/#/experiments/{experiment_id}/runs/{run_id}",
            client.display_url()
        ),
        run_id,
        experiment_id,
    })
}

/// The id of the experiment named `cfg.experiment`, created when missing.
pub fn get_or_create_experiment(cfg: &MlflowConfig) -> Result<String, Error> {
    experiment_id(&Client::new(cfg)?, &cfg.experiment)
}

fn experiment_id(client: &Client, name: &str) -> Result<String, Error> {
    if name.trim().is_empty() {
        return Err(Error::Config("the experiment name is empty".into()));
    }
    // Twice: a concurrent client (or our own create whose answer was lost)
    // may create the experiment between the lookup and the create.
    let mut last = None;
    for _ in 0..2 {
        if let Some(id) = find_experiment(client, name)? {
            return Ok(id);
        }
        match client.post(
            "experiments/create",
            &json!({ "name": name }),
            Retry::WhenUnsent,
        ) {
            Ok(v) => {
                return str_field(&v, "experiment_id", "POST experiments/create");
            }
            Err(Failure::Fatal(e)) if e.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {
                last = Some(e)
            }
            Err(Failure::Unknown(e)) => last = Some(e),
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
    match find_experiment(client, name)? {
        Some(id) => Ok(id),
        None => Err(last.unwrap_or_else(|| Error::Protocol {
            endpoint: "POST experiments/create".into(),
            message: "the experiment was neither found nor created".into(),
        })),
    }
}

fn find_experiment(client: &Client, name: &str) -> Result<Option<String>, Error> {
    match client.get("experiments/get-by-name", &[("experiment_name", name)]) {
        Ok(v) => {
            let exp = v.get("experiment").unwrap_or(&Value::Null);
            let id = str_field(exp, "experiment_id", "GET experiments/get-by-name")?;
            if exp.get("lifecycle_stage").and_then(Value::as_str) == Some("deleted") {
                return Err(Error::ExperimentDeleted {
                    name: name.to_string(),
                    experiment_id: id,
                });
            }
            Ok(Some(id))
        }
        Err(f) => {
            let e = f.into_error();
            if e.error_code() == Some("RESOURCE_DOES_NOT_EXIST") {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

fn create_run(
    client: &Client,
    cfg: &MlflowConfig,
    experiment_id: &str,
    client_run_id: &str,
    start_time: i64,
) -> Result<String, Error> {
    let mut body = json!({
        "experiment_id": experiment_id,
        "start_time": start_time,
        "tags": [{ "key": CLIENT_RUN_ID_TAG, "value": client_run_id }],
    });
    if let Some(name) = &cfg.run_name {
        body["run_name"] = Value::String(name.clone());
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.post("runs/create", &body, Retry::WhenUnsent) {
            Ok(v) => {
                let info = v.pointer("/run/info").unwrap_or(&Value::Null);
                return str_field(info, "run_id", "POST runs/create");
            }
            Err(Failure::Unknown(e)) => {
                // The run may exist: look for our id before creating another.
                if let Some(id) = find_run(client, experiment_id, client_run_id)? {
                    return Ok(id);
                }
                if attempt > cfg.retries {
                    return Err(e);
                }
                std::thread::sleep(cfg.backoff.saturating_mul(1 << attempt.min(5)));
            }
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
}

fn find_run(
    client: &Client,
    experiment_id: &str,
    client_run_id: &str,
) -> Result<Option<String>, Error> {
    let body = json!({
        "experiment_ids": [experiment_id],
        "filter": format!("tags.`{CLIENT_RUN_ID_TAG}` = '{client_run_id}'"),
        "max_results": 1,
        "run_view_type": "ALL",
    });
    let v = client
        .post("runs/search", &body, Retry::Always)
        .map_err(Failure::into_error)?;
    Ok(v.pointer("/runs/0/info/run_id")
        .and_then(Value::as_str)
        .map(str::to_string))
}

fn log_batch(client: &Client, run_id: &str, batch: &Batch, retries: u32) -> Result<(), Error> {
    let body = |metrics: &[Metric]| {
        json!({
            "run_id": run_id,
            "metrics": metrics.iter().map(metric_json).collect::<Vec<_>>(),
            "params": batch.params.iter().map(|p| json!({"key": p.key, "value": p.value})).collect::<Vec<_>>(),
            "tags": batch.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        })
    };
    let mut pending = batch.metrics.clone();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.post("runs/log-batch", &body(&pending), Retry::WhenUnsent) {
            Ok(_) => return Ok(()),
            Err(Failure::Unknown(e)) => {
                if attempt > retries {
                    return Err(e);
                }
                pending = missing_metrics(client, run_id, &pending)?;
            }
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
}

/// The metrics of `sent` that the run does not hold yet.
fn missing_metrics(client: &Client, run_id: &str, sent: &[Metric]) -> Result<Vec<Metric>, Error> {
    let mut keys: Vec<&str> = sent.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut present = std::collections::HashSet::new();
    for key in keys {
        for m in metric_history(client, run_id, key)? {
            present.insert(identity(&m));
        }
    }
    Ok(sent
        .iter()
        .filter(|m| !present.contains(&identity(m)))
        .cloned()
        .collect())
}

fn identity(m: &Metric) -> (String, i64, i64, u64) {
    let bits = if m.value.is_nan() {
        f64::NAN.to_bits()
    } else {
        m.value.to_bits()
    };
    (m.key.clone(), m.timestamp, m.step, bits)
}

/// Every value of metric `key` in run `run_id`, in the server's order.
pub fn get_metric_history(
    cfg: &MlflowConfig,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>, Error> {
    metric_history(&Client::new(cfg)?, run_id, key)
}

fn metric_history(client: &Client, run_id: &str, key: &str) -> Result<Vec<Metric>, Error> {
    let endpoint = "GET metrics/get-history";
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let mut query = vec![
            ("run_id", run_id),
            ("metric_key", key),
            ("max_results", "25000"),
        ];
        if !token.is_empty() {
            query.push(("page_token", token.as_str()));
        }
        let v = client
            .get("metrics/get-history", &query)
            .map_err(Failure::into_error)?;
        for m in v
            .get("metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(metric_from_json(m).ok_or_else(|| Error::Protocol {
                endpoint: endpoint.into(),
                message: format!("not a metric: {m}"),
            })?);
        }
        match v.get("next_page_token").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => return Ok(out),
        }
    }
}

fn update_run(client: &Client, run_id: &str, status: &str) -> Result<(), Error> {
    let body = json!({ "run_id": run_id, "status": status, "end_time": now_millis() });
    client
        .post("runs/update", &body, Retry::Always)
        .map(|_| ())
        .map_err(Failure::into_error)
}

fn metric_json(m: &Metric) -> Value {
    json!({ "key": m.key, "value": f64_json(m.value), "timestamp": m.timestamp, "step": m.step })
}

/// Protobuf's JSON mapping of a double: non-finite values are strings.
fn f64_json(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v == f64::INFINITY {
        Value::from("Infinity")
    } else if v == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Value::from(v)
    }
}

/// A metric as MLflow's JSON gives it (numbers may be strings: int64
/// fields and non-finite doubles).
pub(crate) fn metric_from_json(v: &Value) -> Option<Metric> {
    let num = |v: &Value| -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                s => s.parse().ok(),
            },
            _ => None,
        }
    };
    let int = |v: Option<&Value>| -> Option<i64> {
        match v {
            None => Some(0),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
    };
    Some(Metric {
        key: v.get("key")?.as_str()?.to_string(),
        value: num(v.get("value")?)?,
        timestamp: int(v.get("timestamp"))?,
        step: int(v.get("step"))?,
    })
}

fn str_field(v: &Value, field: &str, endpoint: &str) -> Result<String, Error> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Protocol {
            endpoint: endpoint.into(),
            message: format!("no `{field}` in {}", truncate(&v.to_string(), 300)),
        })
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An id unique to this upload: a hash of the report, the time and the
/// process, as 32 hex digits.
fn client_run_id(report: &Report) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{}|{now}|{}", report.created, std::process::id());
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for b in seed.bytes().chain(report.to_json().bytes()) {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        h2 = (h2 ^ u64::from(b))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(5);
    }
    format!("{h1:016x}{h2:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let mut cfg = MlflowConfig::new("http://127.0.0.1:1", "e");
        cfg.token = Some("s3cr3t-token".into());
        let text = format!("{cfg:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("***"), "{text}");
    }

    #[test]
    fn non_finite_values_use_protobuf_names() {
        assert_eq!(f64_json(f64::NAN), Value::from("NaN"));
        assert_eq!(f64_json(f64::NEG_INFINITY), Value::from("-Infinity"));
        let m = metric_from_json(
            &json!({"key": "k", "value": "Infinity", "timestamp": "5", "step": "2"}),
        )
        .unwrap();
        assert_eq!((m.value, m.timestamp, m.step), (f64::INFINITY, 5, 2));
    }
}
