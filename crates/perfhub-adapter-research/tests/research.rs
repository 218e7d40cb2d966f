//! The data package and the crate from real perfhub reports (tests/fixtures,
//! made with the CLI; see tests/fixtures/README.md), checked by the real
//! consumers: `frictionless validate` and Python's `rocrate`.
//!
//! The validators come from `scripts/ci-validators.sh`, which prints the
//! variables these tests read (`PERFHUB_TEST_FRICTIONLESS`,
//! `PERFHUB_TEST_PYTHON`); `cargo xtask ci` runs it. Without them the tests
//! that need them fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use perfhub_adapter_research::{
    CrateOptions, Error, PackageOptions, data_package_files, write_data_package, write_ro_crate,
};
use perfhub_core::Report;
use serde_json::Value;

fn fixture(name: &str) -> Report {
    let path = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("tests/fixtures")
        .join(name);
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The path of a validator from its variable; the test fails without it.
fn validator(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "{var} is not set: run the suite with `cargo xtask ci`, which installs the \
             validators, or `eval \"$(scripts/ci-validators.sh)\"` (as root, on Debian 12)"
        ),
    }
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `frictionless validate --json`: (valid, the report).
fn frictionless(bin: &Path, descriptor: &Path) -> (bool, Value) {
    let (_, stdout, stderr) = run(Command::new(bin)
        .arg("validate")
        .arg("--json")
        .arg(descriptor.file_name().unwrap())
        .current_dir(descriptor.parent().unwrap()));
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("frictionless said no JSON ({e}): {stdout}\n{stderr}"));
    (report["valid"] == true, report)
}

fn python(py: &Path, script: &str, arg: &Path) -> Value {
    let (ok, stdout, stderr) = run(Command::new(py).arg("-c").arg(script).arg(arg));
    assert!(ok, "python failed: {stderr}\n{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn frictionless_validates_the_package_and_reads_the_typed_rows_back() {
    let fl = validator("PERFHUB_TEST_FRICTIONLESS");
    let py = validator("PERFHUB_TEST_PYTHON");
    for name in ["run-budget.json", "load-budget.json"] {
        let report = fixture(name);
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        let written = write_data_package(&pkg, &report, &PackageOptions::default()).unwrap();
        let names: Vec<&str> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "results.csv",
                "samples.csv",
                "environment.json",
                "datapackage.json"
            ]
        );
        let (valid, out) = frictionless(&fl, &pkg.join("datapackage.json"));
        assert!(valid, "{name}: {out:#}");
        // Every resource was checked, the tables row by row.
        let tasks = out["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 3, "{out:#}");

        // The rows come back typed, equal to the report's numbers.
        const READ: &str = r#"
import json, sys
from decimal import Decimal
from frictionless import Package
p = Package(sys.argv[1] + '/datapackage.json')
out = {}
for r in p.resources:
    if r.name in ('results', 'samples'):
        # Table Schema numbers are read as Decimal: exact, so float() of one
        # is the f64 the report holds.
        out[r.name] = [{k: (float(v) if isinstance(v, Decimal) else v)
                        for k, v in row.items()} for row in r.read_rows()]
out['fingerprint'] = p.custom.get('perfhub:fingerprint')
out['score'] = p.custom.get('perfhub:performanceScore')
print(json.dumps(out))
"#;
        let rows = python(&py, READ, &pkg);
        let results = rows["results"].as_array().unwrap();
        let measurements: Vec<_> = report
            .benchmarks
            .iter()
            .flat_map(|b| b.measurements.iter().map(move |m| (b, m)))
            .collect();
        assert_eq!(results.len(), measurements.len());
        for (row, (b, m)) in results.iter().zip(&measurements) {
            assert_eq!(row["benchmark"], b.name.as_str());
            assert_eq!(row["metric"], m.metric.as_str());
            assert_eq!(row["primary"], m.metric == b.primary_metric);
            match &m.summary {
                Some(s) => {
                    assert_eq!(row["n"], s.n as u64);
                    assert_eq!(row["mean"].as_f64().unwrap(), s.mean);
                    assert_eq!(row["p95"].as_f64(), s.percentiles.get("p95").copied());
                    assert_eq!(row["p99_9"].as_f64(), s.percentiles.get("p99.9").copied());
                }
                None => assert!(row["mean"].is_null(), "{row}"),
            }
            assert_eq!(row["value"].as_f64(), m.value, "{row}");
        }
        let samples = rows["samples"].as_array().unwrap();
        let all: Vec<f64> = measurements
            .iter()
            .flat_map(|(_, m)| m.samples.iter().copied())
            .collect();
        assert_eq!(samples.len(), all.len());
        for (row, v) in samples.iter().zip(&all) {
            assert_eq!(row["value"].as_f64().unwrap(), *v);
        }
        let fp = &report.environment.as_ref().unwrap().fingerprint;
        assert_eq!(rows["fingerprint"], fp.as_str());
        assert!(rows["score"]["score"].as_f64().unwrap() > 0.0, "{rows}");
    }
}

#[test]
fn frictionless_catches_a_tampered_package() {
    let fl = validator("PERFHUB_TEST_FRICTIONLESS");
    let dir = tempfile::tempdir().unwrap();
    write_data_package(
        dir.path(),
        &fixture("run-budget.json"),
        &PackageOptions::default(),
    )
    .unwrap();
    // A number column given text, keeping the size: the schema's types,
    // and the recorded hash, are really checked.
    let path = dir.path().join("results.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let mean = header.iter().position(|h| *h == "mean").unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let width = cells[mean].len();
    cells[mean] = "x".repeat(width);
    lines[1] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (valid, out) = frictionless(&fl, &dir.path().join("datapackage.json"));
    assert!(!valid, "{out:#}");
    let types: Vec<&str> = out["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["errors"].as_array().unwrap())
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"type-error"), "{types:?}");
    assert!(types.contains(&"hash-count"), "{types:?}");
}

#[test]
fn rocrate_loads_the_crate_and_finds_the_create_action() {
    let py = validator("PERFHUB_TEST_PYTHON");
    let report = fixture("run-budget.json");
    let dir = tempfile::tempdir().unwrap();
    let options = CrateOptions {
        package: PackageOptions {
            license: Some("CC-BY-4.0".into()),
            description: Some("sleep, measured".into()),
            ..PackageOptions::default()
        },
        end_time: Some("2026-11-26T01:00:00+01:00".into()),
    };
    let written = write_ro_crate(dir.path(), &report, &options).unwrap();
    assert_eq!(
        written.last().unwrap().file_name().unwrap(),
        "ro-crate-metadata.json"
    );
    const LOAD: &str = r#"
import json, sys
from rocrate.rocrate import ROCrate
crate = ROCrate(sys.argv[1])
actions = [e for e in crate.get_entities() if 'CreateAction' in e.type]
assert len(actions) == 1, actions
a = actions[0]
inst = a['instrument']
print(json.dumps({
    'root_name': crate.root_dataset['name'],
    'license': crate.root_dataset.get('license'),
    'parts': sorted(e.id for e in crate.data_entities),
    'instrument': {'type': inst.type, 'name': inst['name'], 'version': inst['version']},
    'result': sorted(r.id for r in a['result']),
    'object': [o['value'] for o in a['object']],
    'start': a['startTime'],
    'end': a['endTime'],
    'props': {p['name']: p['value'] for p in a['additionalProperty']},
    'mentioned': [m.id for m in crate.root_dataset['mentions']],
    'action': a.id,
}))
"#;
    let got = python(&py, LOAD, dir.path());
    let files = [
        "datapackage.json",
        "environment.json",
        "report.json",
        "results.csv",
        "samples.csv",
    ];
    assert_eq!(got["parts"], serde_json::json!(files), "{got:#}");
    assert_eq!(got["result"], serde_json::json!(files), "{got:#}");
    assert_eq!(got["instrument"]["type"], "SoftwareApplication");
    assert_eq!(got["instrument"]["name"], "perfhub");
    assert_eq!(got["instrument"]["version"], report.tool.version.as_str());
    assert_eq!(got["object"], serde_json::json!(["sleep 0.01"]));
    assert_eq!(got["start"], report.created.to_string());
    assert_eq!(got["end"], "2026-11-26T00:00:00Z");
    assert_eq!(got["license"], "CC-BY-4.0");
    assert_eq!(
        got["root_name"],
        format!("perfhub run report of {}", report.created)
    );
    let env = report.environment.as_ref().unwrap();
    assert_eq!(got["props"]["fingerprint"], env.fingerprint.as_str());
    assert_eq!(
        got["props"]["git_commit"],
        env.git_commit.as_deref().unwrap()
    );
    assert_eq!(got["mentioned"], serde_json::json!([got["action"]]));

    // The report inside is the report.
    let inside = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert_eq!(Report::from_json(&inside).unwrap(), report);
}

#[test]
fn the_crate_is_also_a_valid_data_package() {
    let fl = validator("PERFHUB_TEST_FRICTIONLESS");
    let dir = tempfile::tempdir().unwrap();
    write_ro_crate(
        dir.path(),
        &fixture("load-budget.json"),
        &CrateOptions::default(),
    )
    .unwrap();
    let (valid, out) = frictionless(&fl, &dir.path().join("datapackage.json"));
    assert!(valid, "{out:#}");
}

#[test]
fn files_are_reproducible_atomic_and_described() {
    let report = fixture("run-budget.json");
    let dir = tempfile::tempdir().unwrap();
    write_ro_crate(dir.path(), &report, &CrateOptions::default()).unwrap();
    let first: Vec<(String, Vec<u8>)> = read_dir(dir.path());
    // Again over the same directory: the same bytes, no temporary left.
    write_ro_crate(dir.path(), &report, &CrateOptions::default()).unwrap();
    let second = read_dir(dir.path());
    assert_eq!(first, second);
    let names: Vec<&str> = second.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "datapackage.json",
            "environment.json",
            "report.json",
            "results.csv",
            "ro-crate-metadata.json",
            "samples.csv"
        ]
    );

    // The descriptor: the v2 profiles, typed fields, sizes and hashes that
    // match the files, and the fingerprint.
    let d: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("datapackage.json")).unwrap())
            .unwrap();
    assert_eq!(
        d["$schema"],
        "https://datapackage.org/profiles/2.0/datapackage.json"
    );
    assert_eq!(d["created"], report.created.to_string());
    assert!(d["name"].as_str().unwrap().starts_with("perfhub-run-2026"));
    let env = report.environment.as_ref().unwrap();
    assert_eq!(d["perfhub:fingerprint"], env.fingerprint.as_str());
    for r in d["resources"].as_array().unwrap() {
        assert_eq!(
            r["$schema"],
            "https://datapackage.org/profiles/2.0/dataresource.json"
        );
        let bytes = std::fs::read(dir.path().join(r["path"].as_str().unwrap())).unwrap();
        assert_eq!(r["bytes"], bytes.len() as u64);
        assert!(r["hash"].as_str().unwrap().starts_with("sha256:"));
    }
    let results = &d["resources"][0];
    assert_eq!(results["type"], "table");
    assert_eq!(
        results["schema"]["$schema"],
        "https://datapackage.org/profiles/2.0/tableschema.json"
    );
    assert_eq!(results["schema"]["missingValues"], serde_json::json!([""]));
    let fields = results["schema"]["fields"].as_array().unwrap();
    let ty = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["type"].as_str().unwrap())
    };
    assert_eq!(ty("benchmark"), Some("string"));
    assert_eq!(ty("n"), Some("integer"));
    assert_eq!(ty("p95"), Some("number"));
    assert_eq!(ty("primary"), Some("boolean"));
    let header = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    let header = header.lines().next().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(header, names.join(","));
}

fn read_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn odd_names_and_values_are_quoted_and_typed() {
    let mut report = fixture("run-budget.json");
    report.benchmarks[0].name = "a, \"quoted\"\nname ".into();
    report.benchmarks[0].measurements[0].samples[0] = f64::NAN;
    report.benchmarks[0].measurements[0].samples[1] = f64::INFINITY;
    let files = data_package_files(&report, &PackageOptions::default()).unwrap();
    let samples = String::from_utf8(files[1].contents.clone()).unwrap();
    assert!(
        samples.contains("\n\"a, \"\"quoted\"\"\nname \",wall_time,0,NaN\n"),
        "{samples}"
    );
    assert!(samples.contains(",wall_time,1,INF\n"), "{samples}");

    let fl = validator("PERFHUB_TEST_FRICTIONLESS");
    let dir = tempfile::tempdir().unwrap();
    write_data_package(dir.path(), &report, &PackageOptions::default()).unwrap();
    let (valid, out) = frictionless(&fl, &dir.path().join("datapackage.json"));
    assert!(valid, "{out:#}");
}

#[test]
fn bad_input_is_a_typed_error() {
    let report = fixture("run-budget.json");
    let dir = tempfile::tempdir().unwrap();
    let bad = PackageOptions {
        name: Some("Not A Name".into()),
        ..PackageOptions::default()
    };
    let err = write_data_package(dir.path(), &report, &bad).unwrap_err();
    assert!(matches!(err, Error::Name(_)), "{err}");
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let opts = CrateOptions {
        end_time: Some("soon".into()),
        ..CrateOptions::default()
    };
    let err = write_ro_crate(dir.path(), &report, &opts).unwrap_err();
    assert!(matches!(err, Error::EndTime(_)), "{err}");

    // A directory that cannot exist: a file is in the way.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err =
        write_data_package(&file.join("pkg"), &report, &PackageOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err}");
    assert!(err.to_string().contains("file/pkg"), "{err}");
}
