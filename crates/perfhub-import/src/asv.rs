//! asv's (airspeed velocity's) result files: `.asv/results/<machine>/<commit>-<env>.json`,
//! what `asv run` writes (read from asv 0.6.6 with asv_runner 0.3.2; result
//! format version 2, asv 0.5 and later).
//!
//! The file holds `commit_hash`, `env_name`, `params` (the machine and
//! environment), `result_columns` (the names of the columns, such as
//! `result`, `params`, `version`, `started_at`, `duration`,
//! `stats_ci_99_a`, `stats_ci_99_b`, `stats_q_25`, `stats_q_75`,
//! `stats_number`, `stats_repeat`, `samples`, `profile`) and `results`,
//! which maps each benchmark's dotted name to a row of those columns
//! (trailing empty columns left out). A parametrized benchmark's `params`
//! lists each parameter's values (as Python reprs: `'asc'`), and `result`,
//! `samples` and the `stats_*` columns hold one item per combination of
//! them, in `itertools.product` order; `null` is a combination that failed
//! or was skipped. For timing benchmarks `result` is asv's figure, the
//! median of its samples, and `samples` (kept by `asv run
//! --record-samples`) are times per call in seconds.
//!
//! asv writes Python's JSON, with `Infinity` and `NaN` where a statistic has
//! no finite value; they are read as `null`.
//!
//! Only `time_*` benchmarks are times. `benchmarks.json`, in the results
//! directory beside the machine's directory, gives each benchmark's `type`
//! (`time`, `memory`, `peakmemory`, `track`), `unit` and `param_names`;
//! where it is not there, the type comes from the name's prefix (`time_`,
//! `timeraw_`, `mem_`, `peakmem_`, `track_`), as asv itself assigns it.
//! `mem_` (the size of the returned object) and `peakmem_` (the process's
//! peak RSS) become sizes in bytes, `track_` values plain numbers with
//! their unit in a note; benchmarks of any other type are left out and
//! listed in a warning.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use perfhub_core::report::Better;
use perfhub_core::report::metric::{MAX_RSS, WALL_TIME};
use perfhub_core::{Benchmark, Measurement, Note, Report, ReportKind, Unit};
use serde_json::Value;

use crate::ImportOptions;
use crate::error::{ImportError, Location};
use crate::json::{self, DAMAGED, Node, shown};

/// The size of the object a benchmark returned, bytes: asv's `mem_`
/// benchmarks. (A name for [`crate::metric`].)
const OBJECT_SIZE: &str = "object_size";
/// A value a benchmark reports itself: asv's `track_` benchmarks, in the
/// unit the benchmark names. (A name for [`crate::metric`].)
const TRACKED_VALUE: &str = "tracked_value";

/// Whether the document looks like an asv result file: `results` beside
/// `result_columns` (format 2), or beside `commit_hash` and `env_name`
/// (format 1, which the importer refuses with the way to upgrade it).
pub(crate) fn sniff(shape: &json::Shape) -> bool {
    shape.get("results").is_some_and(json::Shape::is_object)
        && (shape.has("result_columns") || (shape.has("commit_hash") && shape.has("env_name")))
}

/// `text` with Python's non-standard `Infinity`, `-Infinity` and `NaN`
/// (outside strings) as `null`, which serde_json reads; the text itself
/// when it has none of them.
pub(crate) fn python_json(text: &str) -> Cow<'_, str> {
    if !(text.contains("Infinity") || text.contains("NaN")) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t.as_bytes()));
        match token {
            Some(t) => {
                out.push_str(&text[copied..i]);
                out.push_str("null");
                i += t.len();
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Imports the asv result file at `path`, with the benchmarks' types,
/// units and parameter names from the `benchmarks.json` of its results
/// directory (`path/../../benchmarks.json`) where it is there.
pub fn import_asv(path: &Path, options: &ImportOptions) -> Result<Report, ImportError> {
    let text = json::read_text(path)?;
    let info_path = path
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("benchmarks.json"));
    let info = match info_path {
        Some(p) if p.is_file() => {
            let info_text = json::read_text(&p)?;
            Some(BenchmarksInfo::read(&info_text, &p)?)
        }
        _ => None,
    };
    parse_with(&text, path, options, info)
}

/// Imports an asv result file's text; `source` names it in errors and in
/// the report's note. Without asv's `benchmarks.json` (see
/// [`import_asv`]), each benchmark's type comes from its name.
pub fn parse_asv(
    text: &str,
    source: &Path,
    options: &ImportOptions,
) -> Result<Report, ImportError> {
    parse_with(text, source, options, None)
}

/// What asv's `benchmarks.json` says of each benchmark.
struct BenchmarksInfo {
    path: PathBuf,
    by_name: BTreeMap<String, Info>,
}

struct Info {
    kind: String,
    unit: Option<String>,
    param_names: Vec<String>,
}

impl BenchmarksInfo {
    fn read(text: &str, path: &Path) -> Result<BenchmarksInfo, ImportError> {
        let location = Location::file(path);
        let text = python_json(text);
        let value = json::parse(&text, &location)?;
        let root = Node::root(&value, &location);
        let mut by_name = BTreeMap::new();
        for name in root.object()?.keys() {
            if name == "version" {
                continue;
            }
            let node = root.get(name)?;
            let kind = node.get("type")?.str()?.to_string();
            let unit = node
                .get_opt("unit")?
                .map(|u| u.str().map(str::to_string))
                .transpose()?;
            let param_names = match node.get_opt("param_names")? {
                Some(names) => names
                    .items()?
                    .iter()
                    .map(|n| n.str().map(str::to_string))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            by_name.insert(
                name.clone(),
                Info {
                    kind,
                    unit,
                    param_names,
                },
            );
        }
        Ok(BenchmarksInfo {
            path: path.to_path_buf(),
            by_name,
        })
    }
}

/// A benchmark's kind, as perfhub imports it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Time,
    Memory,
    PeakMemory,
    Track,
}

impl Kind {
    fn of_type(kind: &str) -> Option<Kind> {
        match kind {
            "time" | "timeraw" => Some(Kind::Time),
            "memory" => Some(Kind::Memory),
            "peakmemory" => Some(Kind::PeakMemory),
            "track" => Some(Kind::Track),
            _ => None,
        }
    }

    /// asv's rule: the prefix of the function's (or method's) name.
    fn of_name(name: &str) -> Option<Kind> {
        let last = name.rsplit('.').next().unwrap_or(name);
        [
            ("time_", Kind::Time),
            ("timeraw_", Kind::Time),
            ("mem_", Kind::Memory),
            ("peakmem_", Kind::PeakMemory),
            ("track_", Kind::Track),
        ]
        .into_iter()
        .find(|(prefix, _)| last.starts_with(prefix))
        .map(|(_, kind)| kind)
    }

    fn metric(self) -> (&'static str, Unit) {
        match self {
            Kind::Time => (WALL_TIME, Unit::Seconds),
            Kind::Memory => (OBJECT_SIZE, Unit::Bytes),
            Kind::PeakMemory => (MAX_RSS, Unit::Bytes),
            Kind::Track => (TRACKED_VALUE, Unit::Number),
        }
    }
}

fn parse_with(
    text: &str,
    source: &Path,
    options: &ImportOptions,
    info: Option<BenchmarksInfo>,
) -> Result<Report, ImportError> {
    let location = Location::file(source);
    let text = python_json(text);
    let value = json::parse(&text, &location)?;
    let root = Node::root(&value, &location);
    if let Some(version) = root.get_opt("version")? {
        let v = version.f64()?;
        if v != 2.0 {
            return Err(version.error(format!(
                "asv result format {} is not one perfhub reads (it reads 2, what asv 0.5 and later write): upgrade the results with `asv update`",
                shown(v)
            )));
        }
    }
    let columns: Vec<&str> = root
        .get("result_columns")?
        .items()?
        .iter()
        .map(Node::str)
        .collect::<Result<_, _>>()?;
    let column = |key: &str| columns.iter().position(|c| *c == key);
    let Some(result_col) = column("result") else {
        return Err(root
            .get("result_columns")?
            .error("has no `result` column: this is not a result file asv wrote"));
    };
    let params_col = column("params");
    let samples_col = column("samples");
    let results = root.get("results")?;
    let names: Vec<&String> = results.object()?.keys().collect();
    if names.is_empty() {
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint: "`results` is empty: run `asv run` (with `--record-samples` to keep the timings) and import a file from `.asv/results/<machine>/`".into(),
        });
    }

    let mut benchmarks = Vec::new();
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    let mut median_only = Vec::new();
    let mut tracked = Vec::new();
    for name in names {
        let row = results.get(name)?;
        let cells = row.items()?;
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .filter(|c| !c.value.is_null())
                .cloned()
        };
        let known = info.as_ref().and_then(|i| i.by_name.get(name.as_str()));
        let kind = match known {
            Some(k) => Kind::of_type(&k.kind),
            None => Kind::of_name(name),
        };
        let Some(kind) = kind else {
            let why = match known {
                Some(k) => format!("{name} (type {:?})", k.kind),
                None => format!("{name} (no time_, mem_, peakmem_ or track_ prefix)"),
            };
            skipped.push(why);
            continue;
        };

        // The parameters' values, and the names of the combinations.
        let params: Vec<Vec<String>> = match cell(params_col) {
            Some(p) => p
                .items()?
                .iter()
                .map(|values| {
                    values
                        .items()?
                        .iter()
                        .map(|v| match v.value {
                            Value::String(s) => Ok(s.clone()),
                            Value::Number(n) => Ok(n.to_string()),
                            _ => Err(v.error("expected a parameter value (a string)")),
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let combinations: usize = params.iter().map(Vec::len).product();
        let param_names: Vec<String> = match known {
            Some(k) if k.param_names.len() == params.len() => k.param_names.clone(),
            _ => (1..=params.len()).map(|i| format!("param{i}")).collect(),
        };

        let Some(result) = cell(Some(result_col)) else {
            failed.push(name.clone());
            continue;
        };
        let result = result.items()?;
        if result.len() != combinations {
            return Err(row.error_at(
                result_col,
                format!(
                    "{} results for {combinations} combinations of the parameters; {DAMAGED}",
                    result.len()
                ),
            ));
        }
        let samples = match cell(samples_col) {
            Some(s) => {
                let items = s.items()?;
                if items.len() != combinations {
                    return Err(s.error(format!(
                        "{} lists of samples for {combinations} combinations of the parameters; {DAMAGED}",
                        items.len()
                    )));
                }
                items.into_iter().map(Some).collect()
            }
            None => vec![None; combinations],
        };

        for (c, (value, samples)) in result.iter().zip(samples).enumerate() {
            // The combination's parameter values: itertools.product order.
            let mut chosen = vec![""; params.len()];
            let mut rest = c;
            for (p, values) in params.iter().enumerate().rev() {
                chosen[p] = &values[rest % values.len()];
                rest /= values.len();
            }
            let full_name = if params.is_empty() {
                name.clone()
            } else {
                format!("{name}({})", chosen.join(", "))
            };
            if value.value.is_null() {
                failed.push(full_name);
                continue;
            }
            let (metric, unit) = kind.metric();
            let figure = value.f64()?;
            check(kind, figure, value)?;
            let mut bench = Benchmark::new(full_name.clone(), metric);
            for (n, v) in param_names.iter().zip(&chosen) {
                bench.parameters.insert(n.clone(), v.to_string());
            }
            let samples = match samples.filter(|s| !s.value.is_null()) {
                Some(s) if kind == Kind::Time => {
                    let list = s.seconds_array()?;
                    (!list.is_empty()).then_some(list)
                }
                _ => None,
            };
            let m = match samples {
                Some(list) => Measurement::from_samples(metric, unit, list),
                None => {
                    if kind == Kind::Time {
                        median_only.push(full_name.clone());
                    }
                    Measurement::from_value(metric, unit, figure)
                }
            };
            let m = match kind {
                Kind::Memory => m.with_better(Better::Lower),
                _ => m,
            };
            if kind == Kind::Track {
                let unit = known.and_then(|k| k.unit.as_deref()).unwrap_or("unknown");
                bench.notes.push(Note::info(
                    "asv_track",
                    format!(
                        "asv track_ benchmark: a value in {unit:?}, which way is better unknown"
                    ),
                ));
                tracked.push(format!("{full_name} ({unit})"));
            }
            bench.measurements.push(m);
            benchmarks.push(bench);
        }
    }
    if benchmarks.is_empty() {
        let mut hint = "no benchmark in `results` has a result".to_string();
        if !failed.is_empty() {
            hint.push_str(&format!(
                " (failed or skipped in asv: {})",
                failed.join(", ")
            ));
        }
        if !skipped.is_empty() {
            hint.push_str(&format!(
                " (of a type perfhub does not import: {})",
                skipped.join(", ")
            ));
        }
        return Err(ImportError::NoResults {
            path: source.to_path_buf(),
            hint,
        });
    }

    let mut report = Report::new(ReportKind::Bench, options.created);
    let commit = root
        .get_opt("commit_hash")?
        .and_then(|c| c.value.as_str())
        .map(|c| format!("commit {c}, "))
        .unwrap_or_default();
    let env = root
        .get_opt("env_name")?
        .and_then(|c| c.value.as_str())
        .map(|e| format!("environment {e}, "))
        .unwrap_or_default();
    report.notes.push(Note::info(
        "imported_from_asv",
        format!(
            "imported from asv's result file in {} ({commit}{env}{} benchmarks)",
            source.display(),
            benchmarks.len()
        ),
    ));
    match &info {
        Some(i) => report.notes.push(Note::info(
            "asv_benchmark_types",
            format!(
                "benchmark types, units and parameter names from {}",
                i.path.display()
            ),
        )),
        None => report.notes.push(Note::info(
            "asv_benchmark_types",
            "no asv benchmarks.json beside the result file (in the results directory): benchmark types told from their names' prefixes (time_, timeraw_, mem_, peakmem_, track_), parameters named param1, param2, ..., track_ units unknown",
        )),
    }
    if !median_only.is_empty() {
        report.notes.push(Note::info(
            "asv_median_only",
            format!(
                "asv kept only its result (the median of its samples) for these time benchmarks, run without --record-samples: {}; each is imported as that one value",
                median_only.join(", ")
            ),
        ));
    }
    if !tracked.is_empty() {
        report.notes.push(Note::info(
            "asv_track",
            format!(
                "asv track_ benchmarks are values in their own units, not times: {}",
                tracked.join(", ")
            ),
        ));
    }
    if !failed.is_empty() {
        report.notes.push(Note::warning(
            "asv_failed",
            format!(
                "asv recorded no result (the benchmark failed or was skipped) for: {}",
                failed.join(", ")
            ),
        ));
    }
    if !skipped.is_empty() {
        report.notes.push(Note::warning(
            "asv_skipped",
            format!(
                "left out, of a type that is neither a time, a memory size nor a tracked value: {}",
                skipped.join(", ")
            ),
        ));
    }
    report.benchmarks = benchmarks;
    crate::checked(report, source)
}

/// Refuses a figure no benchmark of `kind` can have.
fn check(kind: Kind, x: f64, node: &Node<'_>) -> Result<(), ImportError> {
    let problem = match kind {
        Kind::Time => crate::pytest_benchmark::seconds_problem(x),
        Kind::Memory | Kind::PeakMemory if x < 0.0 => Some(format!(
            "{} bytes is negative, and a size cannot be; {DAMAGED}",
            shown(x)
        )),
        _ => None,
    };
    match problem {
        Some(p) => Err(node.error(p)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::Format;

    const WITH_SAMPLES: &str = "52435798-existing-py_var_tmp_venv-hpy_bin_python3.json";
    const WITHOUT_SAMPLES: &str = "ee99a045-existing-py_var_tmp_venv-hpy_bin_python3.json";
    const QUICK: &str = "da3b469e-existing-py_var_tmp_venv-hpy_bin_python3.json";

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/asv/results/fixture-vm")
            .join(name)
    }

    fn options() -> ImportOptions {
        ImportOptions::new("2026-12-05T00:00:00Z".parse().unwrap())
    }

    fn parse(text: &str) -> Result<Report, ImportError> {
        parse_asv(text, Path::new("result.json"), &options())
    }

    /// asv's own figure (`result`: the median of the samples) for every
    /// timing in the run with `--record-samples`.
    const ASV_RESULTS: [(&str, f64); 7] = [
        (
            "benchmarks.TimeDict.time_build(100)",
            2.3510220404324244e-05,
        ),
        (
            "benchmarks.TimeDict.time_build(1000)",
            0.00020691403721897626,
        ),
        (
            "benchmarks.TimeSort.time_sorted(10, 'asc')",
            1.522501406725496e-06,
        ),
        (
            "benchmarks.TimeSort.time_sorted(10, 'desc')",
            1.417498424416408e-06,
        ),
        (
            "benchmarks.TimeSort.time_sorted(1000, 'asc')",
            1.1717002053046599e-05,
        ),
        (
            "benchmarks.TimeSort.time_sorted(1000, 'desc')",
            1.253300069947727e-05,
        ),
        ("benchmarks.time_join", 4.805246435230515e-05),
    ];

    #[test]
    fn a_run_with_samples_keeps_them_and_asvs_medians() {
        let path = fixture(WITH_SAMPLES);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(crate::detect_text(&python_json(&text)), Some(Format::Asv));
        let report = import_asv(&path, &options()).unwrap();
        assert_eq!(report.benchmarks.len(), 10);
        for (name, theirs) in ASV_RESULTS {
            let b = report.benchmark(name).unwrap_or_else(|| panic!("{name}"));
            let m = b.primary().unwrap();
            assert_eq!((m.metric.as_str(), m.unit), (WALL_TIME, Unit::Seconds));
            assert_eq!(m.samples.len(), 10, "{name}");
            let median = m.summary.as_ref().unwrap().median;
            assert!(
                ((median - theirs) / theirs).abs() < 1e-9,
                "{name}: {median} vs {theirs}"
            );
        }
        let sorted = report
            .benchmark("benchmarks.TimeSort.time_sorted(1000, 'desc')")
            .unwrap();
        assert_eq!(sorted.parameters["n"], "1000");
        assert_eq!(sorted.parameters["order"], "'desc'");
        let built = report
            .benchmark("benchmarks.TimeDict.time_build(100)")
            .unwrap();
        assert_eq!(built.parameters["param1"], "100");

        // Sizes and tracked values, never times.
        let mem = report
            .benchmark("benchmarks.mem_list")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(
            (mem.metric.as_str(), mem.unit, mem.value),
            (OBJECT_SIZE, Unit::Bytes, Some(80056.0))
        );
        let peak = report
            .benchmark("benchmarks.peakmem_list")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(
            (peak.metric.as_str(), peak.unit, peak.value),
            (MAX_RSS, Unit::Bytes, Some(24698880.0))
        );
        let track = report.benchmark("benchmarks.track_answer").unwrap();
        let m = track.primary().unwrap();
        assert_eq!(
            (m.metric.as_str(), m.unit, m.value),
            (TRACKED_VALUE, Unit::Number, Some(42.0))
        );
        assert!(track.notes[0].message.contains("\"widgets\""));
        let codes: Vec<&str> = report.notes.iter().map(|n| n.code.as_str()).collect();
        assert!(codes.contains(&"asv_benchmark_types"), "{codes:?}");
        assert!(!codes.contains(&"asv_median_only"), "{codes:?}");
    }

    #[test]
    fn a_run_without_samples_keeps_asvs_result_as_one_value() {
        let report = import_asv(&fixture(WITHOUT_SAMPLES), &options()).unwrap();
        assert_eq!(report.benchmarks.len(), 10);
        let text = std::fs::read_to_string(fixture(WITHOUT_SAMPLES)).unwrap();
        let raw: Value = serde_json::from_str(&python_json(&text)).unwrap();
        let theirs = raw["results"]["benchmarks.time_join"][0][0]
            .as_f64()
            .unwrap();
        let m = report
            .benchmark("benchmarks.time_join")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(m.value, Some(theirs));
        assert!(m.samples.is_empty());
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "asv_median_only")
            .unwrap();
        assert!(
            note.message.contains("benchmarks.time_join"),
            "{}",
            note.message
        );
    }

    #[test]
    fn a_quick_run_with_pythons_infinity_imports() {
        // `asv run --quick` takes one sample, whose confidence interval
        // asv writes as -Infinity to Infinity.
        let text = std::fs::read_to_string(fixture(QUICK)).unwrap();
        assert!(text.contains("-Infinity"));
        assert!(serde_json::from_str::<Value>(&text).is_err());
        assert_eq!(crate::detect_text(&python_json(&text)), Some(Format::Asv));
        let report = import_asv(&fixture(QUICK), &options()).unwrap();
        assert_eq!(report.benchmarks.len(), 10);
        let m = report
            .benchmark("benchmarks.time_join")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(m.samples, [3.598700277507305e-05]);
    }

    #[test]
    fn without_benchmarks_json_the_names_tell_the_types() {
        let text = std::fs::read_to_string(fixture(WITH_SAMPLES)).unwrap();
        let report = parse(&text).unwrap();
        assert_eq!(report.benchmarks.len(), 10);
        let built = report
            .benchmark("benchmarks.TimeDict.time_build(100)")
            .unwrap();
        assert_eq!(built.parameters["param1"], "100");
        let sorted = report
            .benchmark("benchmarks.TimeSort.time_sorted(10, 'asc')")
            .unwrap();
        assert_eq!(sorted.parameters["param2"], "'asc'");
        let peak = report
            .benchmark("benchmarks.peakmem_list")
            .unwrap()
            .primary()
            .unwrap();
        assert_eq!(peak.metric, MAX_RSS);
        let note = report
            .notes
            .iter()
            .find(|n| n.code == "asv_benchmark_types")
            .unwrap();
        assert!(
            note.message.contains("no asv benchmarks.json"),
            "{}",
            note.message
        );
    }

    /// The run with samples, edited by `edit`.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let text = std::fs::read_to_string(fixture(WITH_SAMPLES)).unwrap();
        let mut v: Value = serde_json::from_str(&python_json(&text)).unwrap();
        edit(&mut v);
        v.to_string()
    }

    #[track_caller]
    fn refused(text: &str, parts: &[&str]) {
        let message = parse(text).unwrap_err().to_string();
        for part in parts {
            assert!(message.contains(part), "{part:?} not in {message:?}");
        }
    }

    #[test]
    fn malformed_files_are_refused_with_the_field() {
        refused(
            &edited(|v| v["results"]["benchmarks.time_join"][0][0] = (-1.0).into()),
            &["result.json: field `results.benchmarks.time_join[0][0]`: -1 s is negative"],
        );
        refused(
            &edited(|v| v["results"]["benchmarks.time_join"][11][0][4] = (-1.0).into()),
            &["field `results.benchmarks.time_join[11][0][4]`: -1 s is negative"],
        );
        refused(
            &edited(|v| v["results"]["benchmarks.time_join"][0] = serde_json::json!([1.0, 2.0])),
            &["field `results.benchmarks.time_join[0]`: 2 results for 1 combinations"],
        );
        refused(
            &edited(|v| v["results"]["benchmarks.mem_list"][0][0] = "big".into()),
            &["field `results.benchmarks.mem_list[0][0]`: expected a number, found a string"],
        );
        refused(
            &edited(|v| v["version"] = 1.into()),
            &["field `version`: asv result format 1", "asv update"],
        );
        refused(
            &edited(|v| {
                v.as_object_mut().unwrap().remove("result_columns");
            }),
            &["field `result_columns`: missing"],
        );
        refused(
            &edited(|v| v["results"] = serde_json::json!({})),
            &["result.json: no benchmark results", "asv run"],
        );
        refused("{\"results\": {", &["result.json: invalid JSON"]);
    }

    #[test]
    fn failed_and_unknown_benchmarks_are_listed_not_hidden() {
        let report = parse(&edited(|v| {
            v["results"]["benchmarks.TimeDict.time_build"][0][1] = Value::Null;
            v["results"]["benchmarks.time_join"][0] = Value::Null;
            v["results"]["benchmarks.sample_thing"] = serde_json::json!([[1.0], []]);
        }))
        .unwrap();
        assert_eq!(report.benchmarks.len(), 8);
        let failed = report
            .notes
            .iter()
            .find(|n| n.code == "asv_failed")
            .unwrap();
        assert!(
            failed
                .message
                .contains("benchmarks.TimeDict.time_build(1000)")
        );
        assert!(failed.message.contains("benchmarks.time_join"));
        let skipped = report
            .notes
            .iter()
            .find(|n| n.code == "asv_skipped")
            .unwrap();
        assert!(
            skipped.message.contains("benchmarks.sample_thing"),
            "{}",
            skipped.message
        );
    }

    #[test]
    fn python_json_reads_infinity_and_nan_outside_strings() {
        let text = r#"{"a": [-Infinity, Infinity, NaN, 1.5], "b": "NaN -Infinity \" Infinity"}"#;
        let v: Value = serde_json::from_str(&python_json(text)).unwrap();
        assert_eq!(v["a"], serde_json::json!([null, null, null, 1.5]));
        assert_eq!(v["b"], "NaN -Infinity \" Infinity");
        assert!(matches!(python_json("{\"a\": 1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_fixture_of_the_python_tools_is_told_apart() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        for (file, format) in [
            ("pytest-benchmark/run-a.json", Some(Format::PytestBenchmark)),
            ("pytest-benchmark/run-b.json", Some(Format::PytestBenchmark)),
            (
                "pytest-benchmark/autosave-0001-no-data.json",
                Some(Format::PytestBenchmark),
            ),
            (
                "pytest-benchmark/autosave-0002-no-data.json",
                Some(Format::PytestBenchmark),
            ),
            ("pyperf/bench.json", Some(Format::Pyperf)),
            ("pyperf/timeit.json", Some(Format::Pyperf)),
            ("pyperf/tracemalloc.json", Some(Format::Pyperf)),
            (
                &format!("asv/results/fixture-vm/{WITH_SAMPLES}"),
                Some(Format::Asv),
            ),
            (
                &format!("asv/results/fixture-vm/{WITHOUT_SAMPLES}"),
                Some(Format::Asv),
            ),
            (
                &format!("asv/results/fixture-vm/{QUICK}"),
                Some(Format::Asv),
            ),
            ("hyperfine/export-1.15.json", Some(Format::Hyperfine)),
            ("k6/handle-summary.json", Some(Format::K6)),
            ("k6/summary-export.json", Some(Format::K6)),
            ("goose/report.json", Some(Format::Goose)),
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            assert_eq!(crate::detect_text(&python_json(&text)), format, "{file}");
        }
        // asv's benchmarks.json is not a result file.
        let text = std::fs::read_to_string(root.join("asv/results/benchmarks.json")).unwrap();
        let shape = json::Shape::of(&text).unwrap();
        assert!(!sniff(&shape));
    }
}
