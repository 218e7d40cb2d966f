//! An RO-Crate 1.1 (<https://w3id.org/ro/crate/1.1>) around the data
//! package: the record of a measurement to cite in a paper.
//!
//! The crate directory holds the data package's files, the perfhub report
//! itself (`report.json`) and `ro-crate-metadata.json`, which describes:
//!
//! - the root `Dataset`, with every file as a `File` entity (media type,
//!   size, SHA-256);
//! - perfhub as a `SoftwareApplication` with its version;
//! - a `CreateAction` whose `instrument` is perfhub, whose `object` is what
//!   was measured (the commands, else the benchmarks' names, as
//!   `PropertyValue`s), whose `result` is the files, with `startTime` (the
//!   report's `created`) and `endTime`;
//! - the machine (the environment fingerprint, CPU, OS, git commit) as
//!   `PropertyValue`s in the action's `additionalProperty`.

use std::path::{Path, PathBuf};

use perfhub_core::Report;
use serde_json::{Value, json};

use crate::Error;
use crate::datapackage::{
    DATAPACKAGE_PROFILE, PackageFile, PackageOptions, data_package_files, kind_name,
};
use crate::time::UtcTime;

/// The metadata file's name.
pub const METADATA: &str = "ro-crate-metadata.json";
/// The report's file name inside the crate.
pub const REPORT: &str = "report.json";

/// What the crate says beyond the data package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrateOptions {
    /// The data package inside (its title, description and license are
    /// also the crate's).
    pub package: PackageOptions,
    /// When the measurement ended (RFC 3339). Default: the report's
    /// `created` plus the wall time of every run it records (a lower
    /// bound), or `created` itself when it records none.
    pub end_time: Option<String>,
}

/// The crate's files, `ro-crate-metadata.json` last, without writing them.
pub fn ro_crate_files(report: &Report, options: &CrateOptions) -> Result<Vec<PackageFile>, Error> {
    let start = report.created;
    let end = match &options.end_time {
        Some(t) => UtcTime::parse(t)
            .ok_or_else(|| Error::EndTime(t.clone()))?
            .rfc3339(),
        None => estimated_end(report, start).rfc3339(),
    };
    let mut files = data_package_files(report, &options.package)?;
    let mut report_json = report.to_json();
    report_json.push('\n');
    files.insert(
        files.len() - 1,
        PackageFile {
            name: REPORT.to_string(),
            media_type: "application/json",
            description: format!(
                "The perfhub report (schema version {}) the other files were made from.",
                report.schema_version
            ),
            contents: report_json.into_bytes(),
        },
    );

    let kind = kind_name(report);
    let software_id = "#perfhub";
    let action_id = format!("#{}-{kind}", report.tool.name);
    let title = options
        .package
        .title
        .clone()
        .unwrap_or_else(|| format!("perfhub {kind} report of {}", report.created));
    let description = options.package.description.clone().unwrap_or_else(|| {
        format!(
            "Performance measurements taken by {} {} ({kind}), as a Frictionless Data Package with the raw samples and the environment.",
            report.tool.name, report.tool.version
        )
    });

    let mut graph = vec![
        json!({
            "@id": METADATA,
            "@type": "CreativeWork",
            "conformsTo": { "@id": "https://w3id.org/ro/crate/1.1" },
            "about": { "@id": "./" }
        }),
        {
            let mut root = json!({
                "@id": "./",
                "@type": "Dataset",
                "name": title,
                "description": description,
                "datePublished": start.rfc3339(),
                "hasPart": files.iter().map(|f| json!({ "@id": f.name })).collect::<Vec<_>>(),
                "mentions": [{ "@id": action_id }],
                "keywords": ["performance", "benchmark", "perfhub"],
            });
            if let Some(l) = &options.package.license {
                root["license"] = json!(l);
            }
            root
        },
    ];
    for f in &files {
        let mut entity = json!({
            "@id": f.name,
            "@type": "File",
            "name": f.name,
            "description": f.description,
            "encodingFormat": f.media_type,
            "contentSize": f.contents.len().to_string(),
            "sha256": f.sha256(),
        });
        if f.name == crate::datapackage::files::DATAPACKAGE {
            entity["conformsTo"] = json!({ "@id": DATAPACKAGE_PROFILE });
        }
        graph.push(entity);
    }
    graph.push(json!({
        "@id": DATAPACKAGE_PROFILE,
        "@type": "CreativeWork",
        "name": "Data Package 2.0 profile"
    }));
    graph.push(json!({
        "@id": software_id,
        "@type": "SoftwareApplication",
        "name": report.tool.name,
        "version": report.tool.version,
        "softwareVersion": report.tool.version,
    }));

    let mut objects = Vec::new();
    for (i, b) in report.benchmarks.iter().enumerate() {
        let id = format!("#benchmark-{}", i + 1);
        let mut o = json!({
            "@id": id,
            "@type": "PropertyValue",
            "name": b.name,
        });
        match &b.command {
            Some(cmd) => {
                o["propertyID"] = json!("command");
                o["value"] = json!(cmd);
            }
            None => {
                o["propertyID"] = json!("benchmark");
                o["value"] = json!(b.name);
            }
        }
        objects.push(o);
    }
    let mut props = Vec::new();
    if let Some(env) = &report.environment {
        let mut add = |name: &str, value: Value| {
            let id = format!("#environment-{name}");
            props.push(json!({
                "@id": id,
                "@type": "PropertyValue",
                "name": name,
                "value": value,
            }));
        };
        add("fingerprint", json!(env.fingerprint));
        add("arch", json!(env.arch));
        add("logical_cpus", json!(env.logical_cpus));
        add("memory_bytes", json!(env.memory_bytes));
        for (name, v) in [
            ("hostname", &env.hostname),
            ("os", &env.os),
            ("kernel", &env.kernel),
            ("cpu_model", &env.cpu_model),
            ("rustc", &env.rustc),
            ("git_commit", &env.git_commit),
            ("git_branch", &env.git_branch),
        ] {
            if let Some(v) = v {
                add(name, json!(v));
            }
        }
        if let Some(d) = env.git_dirty {
            add("git_dirty", json!(d));
        }
    }
    let result: Vec<Value> = files.iter().map(|f| json!({ "@id": f.name })).collect();
    let mut action = json!({
        "@id": action_id,
        "@type": "CreateAction",
        "name": format!("perfhub {kind}"),
        "description": format!("{} {} measured {} benchmark{}.", report.tool.name, report.tool.version, report.benchmarks.len(), if report.benchmarks.len() == 1 { "" } else { "s" }),
        "instrument": { "@id": software_id },
        "object": objects.iter().map(|o| json!({ "@id": o["@id"] })).collect::<Vec<_>>(),
        "result": result,
        "startTime": report.created,
        "endTime": end,
        "actionStatus": { "@id": "http://schema.org/CompletedActionStatus" },
    });
    if !props.is_empty() {
        action["additionalProperty"] = json!(
            props
                .iter()
                .map(|p| json!({ "@id": p["@id"] }))
                .collect::<Vec<_>>()
        );
    }
    graph.push(action);
    graph.extend(objects);
    graph.extend(props);

    let metadata = json!({
        "@context": "https://w3id.org/ro/crate/1.1/context",
        "@graph": graph,
    });
    let mut text = serde_json::to_string_pretty(&metadata)?;
    text.push('\n');
    files.push(PackageFile {
        name: METADATA.to_string(),
        media_type: "application/ld+json",
        description: "The RO-Crate metadata.".to_string(),
        contents: text.into_bytes(),
    });
    Ok(files)
}

/// Writes the crate of `report` into `dir` (created if missing): the data
/// package, `report.json` and, last, `ro-crate-metadata.json`, each
/// atomically. Returns the paths written.
pub fn write_ro_crate(
    dir: &Path,
    report: &Report,
    options: &CrateOptions,
) -> Result<Vec<PathBuf>, Error> {
    let files = ro_crate_files(report, options)?;
    crate::datapackage::write_files(dir, &files)
}

/// `start` plus the wall time of every recorded run.
fn estimated_end(report: &Report, start: UtcTime) -> UtcTime {
    let total: f64 = report
        .benchmarks
        .iter()
        .filter_map(|b| b.measurement(perfhub_core::report::metric::WALL_TIME))
        .flat_map(|m| m.samples.iter())
        .filter(|v| v.is_finite() && **v > 0.0)
        .sum();
    // Round up: the run took at least this long.
    let secs = total.ceil();
    let secs = if secs.is_finite() && secs < 1e12 {
        secs as i64
    } else {
        0
    };
    UtcTime {
        unix: start.unix.saturating_add(secs),
    }
}
