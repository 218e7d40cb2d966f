//! A Frictionless Data Package (v2, <https://datapackage.org>) of one
//! report.
//!
//! The package is a directory:
//!
//! - `results.csv`: one row per benchmark and measurement, with the unit,
//!   the summary statistics, the percentiles and the confidence interval
//!   of the mean; an empty cell is a value the report does not have;
//! - `samples.csv`: every raw sample (`benchmark`, `metric`, `index`,
//!   `value`);
//! - `environment.json`: the machine and software the report was taken on;
//! - `datapackage.json`: the descriptor, with a typed Table Schema for
//!   each CSV (primary and foreign keys where the names are unique), each
//!   file's size and SHA-256, and perfhub's own properties under the
//!   `perfhub:` prefix: the environment fingerprint, the git commit, the
//!   Performance Score.
//!
//! Each file is written atomically. Non-finite numbers are written as
//! Table Schema's `NaN`, `INF` and `-INF`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use perfhub_core::Report;
use perfhub_core::report::Measurement;
use perfhub_core::score::{ScoreTargets, performance_score};
use perfhub_core::stats::Summary;
use perfhub_core::units::Unit;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::Error;

/// The Data Package profile the descriptor declares.
pub const DATAPACKAGE_PROFILE: &str = "https://datapackage.org/profiles/2.0/datapackage.json";
/// The Data Resource profile each resource declares.
pub const DATARESOURCE_PROFILE: &str = "https://datapackage.org/profiles/2.0/dataresource.json";
/// The Table Schema profile each table's schema declares.
pub const TABLESCHEMA_PROFILE: &str = "https://datapackage.org/profiles/2.0/tableschema.json";
/// The Table Dialect profile each table's dialect declares.
pub const TABLEDIALECT_PROFILE: &str = "https://datapackage.org/profiles/2.0/tabledialect.json";

/// The file names the package uses.
pub mod files {
    /// The descriptor.
    pub const DATAPACKAGE: &str = "datapackage.json";
    /// Summaries, one row per benchmark and measurement.
    pub const RESULTS: &str = "results.csv";
    /// Raw samples.
    pub const SAMPLES: &str = "samples.csv";
    /// The environment.
    pub const ENVIRONMENT: &str = "environment.json";
}

/// What the package says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageOptions {
    /// The package's `name`: lower-case letters, digits, `.`, `_`, `-`.
    /// Default `perfhub-<kind>-<created, as 20260105t080000z>`.
    pub name: Option<String>,
    /// The `title`. Default `perfhub <kind> report of <created>`.
    pub title: Option<String>,
    /// A `description`, for example what the paper measured.
    pub description: Option<String>,
    /// A license for the package (an SPDX identifier such as `CC-BY-4.0`),
    /// written as the package's `licenses`.
    pub license: Option<String>,
}

/// One file of the package, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageFile {
    /// The file name inside the package directory.
    pub name: String,
    /// Its media type.
    pub media_type: &'static str,
    /// What it holds, for people.
    pub description: String,
    /// Its bytes.
    pub contents: Vec<u8>,
}

impl PackageFile {
    /// The lower-case hex SHA-256 of the contents.
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.contents))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The package's files, `datapackage.json` last, without writing them.
pub fn data_package_files(
    report: &Report,
    options: &PackageOptions,
) -> Result<Vec<PackageFile>, Error> {
    let created = report.created;
    let kind = kind_name(report);
    let name = match &options.name {
        Some(n) if valid_name(n) => n.clone(),
        Some(n) => return Err(Error::Name(n.clone())),
        None => format!("perfhub-{kind}-{}", created.compact()),
    };

    let results = PackageFile {
        name: files::RESULTS.to_string(),
        media_type: "text/csv",
        description: "One row per benchmark and measurement: the unit, the summary statistics, percentiles and the 95% confidence interval of the mean.".to_string(),
        contents: results_csv(report).into_bytes(),
    };
    let samples = PackageFile {
        name: files::SAMPLES.to_string(),
        media_type: "text/csv",
        description: "Every raw sample, in the order it was taken.".to_string(),
        contents: samples_csv(report).into_bytes(),
    };
    let mut env_text = serde_json::to_string_pretty(&report.environment)?;
    env_text.push('\n');
    let environment = PackageFile {
        name: files::ENVIRONMENT.to_string(),
        media_type: "application/json",
        description: "The machine and software the measurements were taken on (null when the report does not record them).".to_string(),
        contents: env_text.into_bytes(),
    };

    let unique = unique_keys(report);
    let mut results_res = table_resource("results", &results, results_fields());
    if unique {
        results_res["schema"]["primaryKey"] = json!(["benchmark", "metric"]);
    }
    let mut samples_res = table_resource("samples", &samples, samples_fields());
    if unique {
        samples_res["schema"]["primaryKey"] = json!(["benchmark", "metric", "index"]);
        samples_res["schema"]["foreignKeys"] = json!([{
            "fields": ["benchmark", "metric"],
            "reference": { "resource": "results", "fields": ["benchmark", "metric"] }
        }]);
    }
    let env_res = json!({
        "$schema": DATARESOURCE_PROFILE,
        "name": "environment",
        "path": environment.name,
        "format": "json",
        "mediatype": environment.media_type,
        "encoding": "utf-8",
        "description": environment.description,
        "bytes": environment.contents.len(),
        "hash": format!("sha256:{}", environment.sha256()),
    });

    let mut d = Map::new();
    d.insert("$schema".into(), json!(DATAPACKAGE_PROFILE));
    d.insert("name".into(), json!(name));
    d.insert(
        "title".into(),
        json!(
            options
                .title
                .clone()
                .unwrap_or_else(|| format!("perfhub {kind} report of {}", report.created))
        ),
    );
    if let Some(desc) = &options.description {
        d.insert("description".into(), json!(desc));
    }
    d.insert("created".into(), json!(created.rfc3339()));
    d.insert(
        "keywords".into(),
        json!(["performance", "benchmark", "perfhub", kind]),
    );
    d.insert(
        "contributors".into(),
        json!([{
            "title": format!("{} {}", report.tool.name, report.tool.version),
            "roles": ["creator"]
        }]),
    );
    if let Some(l) = &options.license {
        d.insert("licenses".into(), json!([{ "name": l }]));
    }
    d.insert(
        "resources".into(),
        json!([results_res, samples_res, env_res]),
    );
    // Custom properties, prefixed so they cannot clash with a future
    // version of the standard.
    d.insert(
        "perfhub:tool".into(),
        json!({ "name": report.tool.name, "version": report.tool.version }),
    );
    d.insert("perfhub:reportKind".into(), json!(kind));
    d.insert("perfhub:schemaVersion".into(), json!(report.schema_version));
    if let Some(env) = &report.environment {
        d.insert("perfhub:fingerprint".into(), json!(env.fingerprint));
        if let Some(c) = &env.git_commit {
            d.insert("perfhub:gitCommit".into(), json!(c));
        }
        if let Some(dirty) = env.git_dirty {
            d.insert("perfhub:gitDirty".into(), json!(dirty));
        }
    }
    if let Some(s) = performance_score(report, &ScoreTargets::default(), None)
        && s.score.is_finite()
    {
        let components: Map<String, Value> = s
            .components
            .iter()
            .filter(|c| c.score.is_finite())
            .map(|c| (c.name.clone(), json!(c.score)))
            .collect();
        d.insert(
            "perfhub:performanceScore".into(),
            json!({ "score": s.score, "components": components }),
        );
    }
    if !report.budgets.is_empty() {
        d.insert("perfhub:budgetsPassed".into(), json!(report.budgets_pass()));
    }
    let mut descriptor = serde_json::to_string_pretty(&Value::Object(d))?;
    descriptor.push('\n');
    let datapackage = PackageFile {
        name: files::DATAPACKAGE.to_string(),
        media_type: "application/json",
        description: "The Data Package descriptor (Data Package v2).".to_string(),
        contents: descriptor.into_bytes(),
    };
    Ok(vec![results, samples, environment, datapackage])
}

/// Writes the data package of `report` into `dir` (created if missing):
/// `results.csv`, `samples.csv`, `environment.json` and, last,
/// `datapackage.json`, each atomically. Returns the paths written.
pub fn write_data_package(
    dir: &Path,
    report: &Report,
    options: &PackageOptions,
) -> Result<Vec<PathBuf>, Error> {
    let files = data_package_files(report, options)?;
    write_files(dir, &files)
}

pub(crate) fn write_files(dir: &Path, files: &[PackageFile]) -> Result<Vec<PathBuf>, Error> {
    crate::fs::create_dir(dir)?;
    files
        .iter()
        .map(|f| crate::fs::write_atomic(dir, &f.name, &f.contents))
        .collect()
}

pub(crate) fn kind_name(report: &Report) -> String {
    serde_json::to_value(report.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "report".to_string())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Whether (benchmark, metric) is unique among the results, so it can be
/// their primary key and the samples' foreign key.
fn unique_keys(report: &Report) -> bool {
    let mut seen = HashSet::new();
    report
        .benchmarks
        .iter()
        .flat_map(|b| b.measurements.iter().map(move |m| (&b.name, &m.metric)))
        .all(|k| seen.insert(k))
}

fn table_resource(name: &str, file: &PackageFile, fields: Vec<Value>) -> Value {
    json!({
        "$schema": DATARESOURCE_PROFILE,
        "name": name,
        "type": "table",
        "path": file.name,
        "format": "csv",
        "mediatype": file.media_type,
        "encoding": "utf-8",
        "description": file.description,
        "bytes": file.contents.len(),
        "hash": format!("sha256:{}", file.sha256()),
        "dialect": {
            "$schema": TABLEDIALECT_PROFILE,
            "header": true,
            "delimiter": ",",
            "lineTerminator": "\n",
            "quoteChar": "\"",
            "doubleQuote": true
        },
        "schema": {
            "$schema": TABLESCHEMA_PROFILE,
            "fields": fields,
            "missingValues": [""]
        }
    })
}

fn field(name: &str, ty: &str, description: &str) -> Value {
    json!({ "name": name, "type": ty, "description": description })
}

/// The statistics columns of `results.csv`, after the identifying ones:
/// (name, description, getter).
type Stat = (&'static str, &'static str, fn(&Measurement) -> Option<f64>);

fn pct(m: &Measurement, key: &str) -> Option<f64> {
    m.summary.as_ref()?.percentiles.get(key).copied()
}

const STATS: &[Stat] = &[
    (
        "value",
        "The single value of an unsampled metric (an error rate), in `unit`.",
        |m| m.value,
    ),
    ("mean", "Arithmetic mean of the samples, in `unit`.", |m| {
        m.summary.as_ref().map(|s| s.mean)
    }),
    (
        "stddev",
        "Sample standard deviation (n - 1), in `unit`.",
        |m| m.summary.as_ref().and_then(Summary::known_stddev),
    ),
    ("median", "Median, in `unit`.", |m| {
        m.summary.as_ref().map(|s| s.median)
    }),
    ("min", "Smallest sample, in `unit`.", |m| {
        m.summary.as_ref().map(|s| s.min)
    }),
    ("max", "Largest sample, in `unit`.", |m| {
        m.summary.as_ref().map(|s| s.max)
    }),
    (
        "mad",
        "Median absolute deviation from the median (unscaled), in `unit`.",
        |m| m.summary.as_ref().and_then(Summary::known_mad),
    ),
    ("p50", "50th percentile, in `unit`.", |m| pct(m, "p50")),
    ("p90", "90th percentile, in `unit`.", |m| pct(m, "p90")),
    ("p95", "95th percentile, in `unit`.", |m| pct(m, "p95")),
    ("p99", "99th percentile, in `unit`.", |m| pct(m, "p99")),
    ("p99_9", "99.9th percentile, in `unit`.", |m| {
        pct(m, "p99.9")
    }),
    (
        "mean_ci_level",
        "Confidence level of the interval of the mean (0.95 is 95%).",
        |m| m.summary.as_ref()?.mean_ci.map(|c| c.level),
    ),
    (
        "mean_ci_lower",
        "Lower bound of the confidence interval of the mean, in `unit`.",
        |m| m.summary.as_ref()?.mean_ci.map(|c| c.lower),
    ),
    (
        "mean_ci_upper",
        "Upper bound of the confidence interval of the mean, in `unit`.",
        |m| m.summary.as_ref()?.mean_ci.map(|c| c.upper),
    ),
];

fn unit_name(u: Unit) -> String {
    serde_json::to_value(u)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn results_fields() -> Vec<Value> {
    let mut fields = vec![
        {
            let mut f = field(
                "benchmark",
                "string",
                "The benchmark's name, unique in the report.",
            );
            f["constraints"] = json!({ "required": true });
            f
        },
        field(
            "command",
            "string",
            "The command line, for benchmarks of commands.",
        ),
        field(
            "parameters",
            "string",
            "Parameter values of a parameter scan, as name=value pairs separated by `;`.",
        ),
        {
            let mut f = field("metric", "string", "The metric's name, such as wall_time.");
            f["constraints"] = json!({ "required": true });
            f
        },
        {
            let mut f = field(
                "unit",
                "string",
                "The unit of every number in the row: seconds, bytes, count, per_second, bytes_per_second, ratio (1.0 is 100%) or number.",
            );
            let names: Vec<String> = Unit::ALL.iter().map(|u| unit_name(*u)).collect();
            f["constraints"] = json!({ "required": true, "enum": names });
            f
        },
        {
            let mut f = field(
                "primary",
                "boolean",
                "Whether this is the benchmark's primary metric.",
            );
            f["trueValues"] = json!(["true"]);
            f["falseValues"] = json!(["false"]);
            f
        },
        {
            let mut f = field("n", "integer", "Number of samples summarized.");
            f["constraints"] = json!({ "minimum": 0 });
            f
        },
    ];
    fields.extend(
        STATS
            .iter()
            .map(|(name, desc, _)| field(name, "number", desc)),
    );
    fields
}

fn samples_fields() -> Vec<Value> {
    vec![
        {
            let mut f = field("benchmark", "string", "The benchmark's name.");
            f["constraints"] = json!({ "required": true });
            f
        },
        {
            let mut f = field("metric", "string", "The metric's name.");
            f["constraints"] = json!({ "required": true });
            f
        },
        {
            let mut f = field(
                "index",
                "integer",
                "The sample's position, from 0, in the order taken.",
            );
            f["constraints"] = json!({ "required": true, "minimum": 0 });
            f
        },
        field(
            "value",
            "number",
            "The sample, in the unit of the measurement in results.csv.",
        ),
    ]
}

/// `results.csv`: a header and one row per benchmark and measurement.
pub fn results_csv(report: &Report) -> String {
    let mut header: Vec<&str> = vec![
        "benchmark",
        "command",
        "parameters",
        "metric",
        "unit",
        "primary",
        "n",
    ];
    header.extend(STATS.iter().map(|(name, _, _)| *name));
    let mut out = String::new();
    push_row(&mut out, header.iter().map(|s| s.to_string()));
    for b in &report.benchmarks {
        let params = b
            .parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        for m in &b.measurements {
            let n = m
                .summary
                .as_ref()
                .map(|s| s.n)
                .or((!m.samples.is_empty()).then_some(m.samples.len()));
            let mut row = vec![
                b.name.clone(),
                b.command.clone().unwrap_or_default(),
                params.clone(),
                m.metric.clone(),
                unit_name(m.unit),
                (m.metric == b.primary_metric).to_string(),
                n.map(|n| n.to_string()).unwrap_or_default(),
            ];
            row.extend(STATS.iter().map(|(_, _, get)| number(get(m))));
            push_row(&mut out, row.into_iter());
        }
    }
    out
}

/// `samples.csv`: a header and one row per raw sample.
pub fn samples_csv(report: &Report) -> String {
    let mut out = String::new();
    push_row(
        &mut out,
        ["benchmark", "metric", "index", "value"]
            .iter()
            .map(|s| s.to_string()),
    );
    for b in &report.benchmarks {
        for m in &b.measurements {
            for (i, v) in m.samples.iter().enumerate() {
                push_row(
                    &mut out,
                    [
                        b.name.clone(),
                        m.metric.clone(),
                        i.to_string(),
                        number(Some(*v)),
                    ]
                    .into_iter(),
                );
            }
        }
    }
    out
}

/// A number as Table Schema reads it; empty (a missing value) for `None`.
fn number(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v.is_nan() => "NaN".to_string(),
        Some(v) if v == f64::INFINITY => "INF".to_string(),
        Some(v) if v == f64::NEG_INFINITY => "-INF".to_string(),
        // Rust's shortest round-trip form, never an exponent.
        Some(v) => format!("{v}"),
    }
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let mut first = true;
    for cell in cells {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&csv_cell(&cell));
    }
    out.push('\n');
}

/// RFC 4180 quoting, for cells with a delimiter, a quote, a line break or
/// surrounding spaces.
fn csv_cell(cell: &str) -> String {
    let needs = cell.contains([',', '"', '\n', '\r'])
        || cell.starts_with(char::is_whitespace)
        || cell.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_cells_that_need_it() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
        assert_eq!(csv_cell(" x"), "\" x\"");
    }

    #[test]
    fn numbers_never_use_exponents() {
        assert_eq!(number(Some(1e-9)), "0.000000001");
        assert_eq!(number(Some(f64::NAN)), "NaN");
        assert_eq!(number(Some(f64::NEG_INFINITY)), "-INF");
        assert_eq!(number(None), "");
    }
}
