//! perfhub-import's importers (criterion, cargo-criterion, libtest,
//! hyperfine) and perfhub-load's goose and k6 imports.

use std::path::{Component, Path, PathBuf};

use perfhub_import::{
    ImportOptions, detect_text, import_criterion_dir, parse_cargo_criterion, parse_hyperfine,
    parse_libtest,
};

use super::{fixture, json_or_bytes, sane_report, text, text_bombs};
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "criterion",
            group: "import",
            check: check_criterion,
            seeds: criterion_seeds,
            mutate: mutate_criterion,
            generate: generate_criterion,
            bombs: no_bombs,
            suite_cases: 150,
        },
        Target {
            name: "cargo-criterion",
            group: "import",
            check: check_cargo_criterion,
            seeds: cargo_criterion_seeds,
            mutate: mutate_json,
            generate: generate_cargo_criterion,
            bombs: text_bombs,
            suite_cases: 300,
        },
        Target {
            name: "libtest",
            group: "import",
            check: check_libtest,
            seeds: libtest_seeds,
            mutate: mutate_libtest,
            generate: generate_libtest,
            bombs: text_bombs,
            suite_cases: 400,
        },
        Target {
            name: "hyperfine",
            group: "import",
            check: check_hyperfine,
            seeds: hyperfine_seeds,
            mutate: mutate_json,
            generate: generate_hyperfine,
            bombs: text_bombs,
            suite_cases: 400,
        },
        Target {
            name: "goose",
            group: "import",
            check: check_goose,
            seeds: goose_seeds,
            mutate: mutate_json,
            generate: generate_goose,
            bombs: text_bombs,
            suite_cases: 120,
        },
        Target {
            name: "k6",
            group: "import",
            check: check_k6,
            seeds: k6_seeds,
            mutate: mutate_json,
            generate: generate_k6,
            bombs: text_bombs,
            suite_cases: 200,
        },
    ]
}

fn no_bombs() -> Vec<(&'static str, Vec<u8>)> {
    Vec::new()
}

fn options() -> ImportOptions {
    ImportOptions::new("2026-01-02T03:04:05Z".parse().unwrap())
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "-",
    "1e308",
    "-1",
    "0",
    "\"\"",
    "\"mean\"",
    "\"times\"",
    "\"unit\"",
    "\"ns\"",
    "\"ms\"",
    "\"estimate\"",
];

fn mutate_json(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    json_or_bytes(input, other, JSON_TOKENS, rng)
}

fn refused(e: impl std::fmt::Display) -> Result<Outcome, String> {
    Ok(Outcome::Refused(e.to_string()))
}

fn check_cargo_criterion(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let _ = detect_text(&text);
    match parse_cargo_criterion(&text, Path::new("fuzz.jsonl"), &options()) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

fn check_libtest(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let _ = detect_text(&text);
    match parse_libtest(&text, Path::new("fuzz.txt"), &options()) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

fn check_hyperfine(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let _ = detect_text(&text);
    match parse_hyperfine(&text, Path::new("fuzz.json"), &options()) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

fn check_goose(input: &[u8]) -> Result<Outcome, String> {
    match perfhub_import::goose::import_goose_at(
        &text(input),
        "2026-01-02T03:04:05Z".parse().unwrap(),
    ) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

fn check_k6(input: &[u8]) -> Result<Outcome, String> {
    match perfhub_import::k6::import_k6(&text(input), "2026-01-02T03:04:05Z".parse().unwrap()) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

// criterion's output is a tree of files: an input is an archive of them,
// each `=== relative/path` line starting a file.

const MARK: &str = "=== ";

fn archive(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, content) in files {
        out.extend_from_slice(MARK.as_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(content);
        if !content.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

fn unarchive(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = text(input);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.strip_prefix(MARK) {
            files.push((path.trim_end_matches(['\n', '\r']).to_string(), Vec::new()));
        } else if let Some((_, content)) = files.last_mut() {
            content.extend_from_slice(line.as_bytes());
        }
    }
    files
}

/// Only plain relative paths inside the temporary folder, at most 8 deep.
fn safe(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let ok = p.components().count() <= 8
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !path.is_empty();
    ok.then(|| p.to_path_buf())
}

fn check_criterion(input: &[u8]) -> Result<Outcome, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
    for (path, content) in unarchive(input).into_iter().take(300) {
        let Some(rel) = safe(&path) else { continue };
        let file = dir.path().join(rel);
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&file, content);
    }
    match import_criterion_dir(dir.path(), None, &options()) {
        Ok(r) => sane_report(&r),
        Err(e) => refused(e),
    }
}

fn criterion_files(root: &Path, under: &str) -> Vec<(String, Vec<u8>)> {
    let base = root.join("fixtures/criterion/criterion-0.8.2");
    let mut out = Vec::new();
    let mut stack = vec![base.join(under)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let (Ok(rel), Ok(content)) = (p.strip_prefix(&base), std::fs::read(&p)) {
                out.push((rel.to_string_lossy().into_owned(), content));
            }
        }
    }
    out.sort();
    out
}

fn criterion_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = vec![archive(&criterion_files(root, ""))];
    for under in ["sort_1024", "fibonacci/fib/10", "checksum/fnv1a"] {
        let files: Vec<_> = criterion_files(root, under)
            .into_iter()
            .filter(|(p, _)| p.contains("/new/"))
            .collect();
        seeds.push(archive(&files));
    }
    seeds
}

fn mutate_criterion(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut files = unarchive(input);
    if files.is_empty() || rng.chance(0.1) {
        return mutate::bytes(
            input,
            other,
            &[MARK, "new/", "base/", "benchmark.json"],
            rng,
        );
    }
    for _ in 0..1 + rng.below(2) {
        let i = rng.below(files.len());
        match rng.below(10) {
            0 => {
                files.remove(i);
            }
            1 => {
                // Move a file to another benchmark or baseline.
                let from = *rng.pick(&["new", "base", "fib", "10"]);
                let to = *rng.pick(&["main", "", "..", "new/new", "20"]);
                files[i].0 = files[i].0.replace(from, to);
            }
            _ => {
                let content = std::mem::take(&mut files[i].1);
                files[i].1 = json_or_bytes(&content, other, JSON_TOKENS, rng);
            }
        }
        if files.is_empty() {
            break;
        }
    }
    archive(&files)
}

fn generate_criterion(rng: &mut Rng) -> Vec<u8> {
    let id = rng.pick(&["g/f/1", "a", "a/b", "日本"]).to_string();
    let n = 1 + rng.small(5);
    let iters: Vec<String> = (1..=n)
        .map(|i| (i * (1 + rng.below(100))).to_string())
        .collect();
    let times: Vec<String> = (0..n).map(|_| gen_number(rng)).collect();
    let estimate = |rng: &mut Rng| {
        format!(
            "{{\"confidence_interval\":{{\"confidence_level\":0.95,\"lower_bound\":{},\"upper_bound\":{}}},\"point_estimate\":{},\"standard_error\":{}}}",
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            gen_number(rng)
        )
    };
    let estimates = format!(
        "{{\"mean\":{},\"median\":{},\"median_abs_dev\":{},\"slope\":{},\"std_dev\":{}}}",
        estimate(rng),
        estimate(rng),
        estimate(rng),
        if rng.chance(0.5) {
            "null".into()
        } else {
            estimate(rng)
        },
        estimate(rng)
    );
    let files = vec![
        (
            format!("{id}/new/benchmark.json"),
            format!(
                "{{\"group_id\":\"{id}\",\"function_id\":null,\"value_str\":null,\"throughput\":null,\"full_id\":\"{id}\",\"directory_name\":\"{id}\",\"title\":\"{id}\"}}"
            )
            .into_bytes(),
        ),
        (
            format!("{id}/new/sample.json"),
            format!(
                "{{\"sampling_mode\":\"{}\",\"iters\":[{}],\"times\":[{}]}}",
                rng.pick(&["Linear", "Flat", "Auto", ""]),
                iters.join(","),
                times.join(",")
            )
            .into_bytes(),
        ),
        (format!("{id}/new/estimates.json"), estimates.into_bytes()),
    ];
    archive(&files)
}

/// A number, usually a plausible one.
fn gen_number(rng: &mut Rng) -> String {
    if rng.chance(0.75) {
        format!("{}", (1 + rng.below(1_000_000)) as f64 / 10.0)
    } else {
        rng.pick(mutate::NUMBERS).to_string()
    }
}

fn cargo_criterion_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    if let Some(all) = fixture(root, "fixtures/criterion/cargo-criterion-1.1.0.jsonl") {
        for line in all
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"{\"reason\":\"benchmark-complete"))
        {
            seeds.push(line.to_vec());
        }
        seeds.push(all);
    }
    seeds
}

fn generate_cargo_criterion(rng: &mut Rng) -> Vec<u8> {
    let n = 1 + rng.small(6);
    let list = |rng: &mut Rng| {
        (0..n)
            .map(|_| gen_number(rng))
            .collect::<Vec<_>>()
            .join(",")
    };
    let estimate = |rng: &mut Rng| {
        format!(
            "{{\"estimate\":{},\"lower_bound\":{},\"upper_bound\":{},\"unit\":\"{}\"}}",
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            rng.pick(&["ns", "us", "ms", "s", "%", ""])
        )
    };
    let throughput = if rng.chance(0.3) {
        format!(
            "[{{\"per_iteration\":{},\"unit\":\"{}\"}}]",
            gen_number(rng),
            rng.pick(&["bytes", "elements", "bytes_decimal", "x"])
        )
    } else {
        "[]".into()
    };
    format!(
        "cargo output\n{{\"reason\":\"benchmark-complete\",\"id\":\"{}\",\"report_directory\":\"/r\",\"iteration_count\":[{}],\"measured_values\":[{}],\"unit\":\"{}\",\"throughput\":{throughput},\"typical\":{},\"mean\":{},\"median\":{},\"median_abs_dev\":{},\"slope\":{}}}\n",
        rng.pick(&["a", "g/f", "", "a b"]),
        list(rng),
        list(rng),
        rng.pick(&["ns", "us", "ms", "s", "bytes", ""]),
        estimate(rng),
        estimate(rng),
        estimate(rng),
        estimate(rng),
        if rng.chance(0.5) { "null".into() } else { estimate(rng) }
    )
    .into_bytes()
}

const LIBTEST_TOKENS: &[&str] = &[
    "test ",
    " ... ",
    "bench:",
    " ns/iter",
    " (+/- ",
    ")",
    ",",
    ".",
    "-",
    "\n",
    "1,000",
    "18,446,744,073,709,551,616",
];

fn libtest_seeds(root: &Path) -> Vec<Vec<u8>> {
    [
        "fixtures/criterion/libtest/nightly-2026-05-19.txt",
        "fixtures/criterion/libtest/handwritten-integer-form.txt",
    ]
    .iter()
    .filter_map(|f| fixture(root, f))
    .collect()
}

fn mutate_libtest(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate::bytes(input, other, LIBTEST_TOKENS, rng)
}

fn generate_libtest(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::from("running 2 tests\n");
    for i in 0..1 + rng.small(5) {
        let value = if rng.chance(0.6) {
            let n = rng.below(10_000_000);
            // libtest's thousands separators.
            let digits = n.to_string();
            let mut grouped = String::new();
            for (k, c) in digits.chars().enumerate() {
                if k > 0 && (digits.len() - k).is_multiple_of(3) {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            grouped
        } else {
            rng.pick(mutate::NUMBERS).to_string()
        };
        s.push_str(&format!(
            "test b{i}{} ... bench: {:>12} ns/iter (+/- {})\n",
            rng.pick(&["", "::x", " ", "   "]),
            value,
            gen_number(rng)
        ));
    }
    s.push_str("\ntest result: ok.\n");
    s.into_bytes()
}

fn hyperfine_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = fixture(root, "fixtures/hyperfine/export-1.15.json")
        .into_iter()
        .collect();
    seeds.push(
        br#"{"results":[{"command":"x","mean":-2,"stddev":0,"median":-2,"user":0,"system":0,"min":-2,"max":-2,"times":[-2,-2]}]}"#
            .to_vec(),
    );
    seeds
}

fn generate_hyperfine(rng: &mut Rng) -> Vec<u8> {
    let mut results = Vec::new();
    for _ in 0..1 + rng.small(3) {
        let times: Vec<String> = (0..rng.small(6)).map(|_| gen_number(rng)).collect();
        let mut fields = vec![
            format!("\"command\":\"{}\"", rng.pick(&["sleep 0.1", "", "x"])),
            format!("\"mean\":{}", gen_number(rng)),
            format!("\"stddev\":{}", gen_number(rng)),
            format!("\"median\":{}", gen_number(rng)),
            format!("\"user\":{}", gen_number(rng)),
            format!("\"system\":{}", gen_number(rng)),
            format!("\"min\":{}", gen_number(rng)),
            format!("\"max\":{}", gen_number(rng)),
            format!("\"times\":[{}]", times.join(",")),
        ];
        if rng.chance(0.5) {
            fields.push(format!(
                "\"exit_codes\":[{}]",
                vec!["0"; times.len()].join(",")
            ));
        }
        if rng.chance(0.3) {
            fields.push("\"parameters\":{\"n\":\"1\"}".into());
        }
        // Drop one now and then.
        if rng.chance(0.3) {
            let i = rng.below(fields.len());
            fields.remove(i);
        }
        results.push(format!("{{{}}}", fields.join(",")));
    }
    format!("{{\"results\":[{}]}}", results.join(",")).into_bytes()
}

fn goose_seeds(root: &Path) -> Vec<Vec<u8>> {
    let Some(full) = fixture(root, "fixtures/goose/report.json") else {
        return Vec::new();
    };
    let mut seeds = Vec::new();
    // The same report with every array cut to its first two items: small
    // seeds mutate faster and keep every field.
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&full) {
        fn cut(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Array(a) => {
                    a.truncate(2);
                    a.iter_mut().for_each(cut);
                }
                serde_json::Value::Object(o) => o.values_mut().for_each(cut),
                _ => {}
            }
        }
        cut(&mut v);
        if let Ok(s) = serde_json::to_vec(&v) {
            seeds.push(s);
        }
    }
    seeds.push(full);
    seeds
}

fn k6_seeds(root: &Path) -> Vec<Vec<u8>> {
    [
        "fixtures/k6/handle-summary.json",
        "fixtures/k6/summary-export.json",
    ]
    .iter()
    .filter_map(|f| fixture(root, f))
    .collect()
}

fn generate_k6(rng: &mut Rng) -> Vec<u8> {
    // Both shapes of the summary, with numbers that go wrong.
    let mut n = || gen_number(rng);
    let trend = format!(
        "\"avg\":{},\"min\":{},\"med\":{},\"max\":{},\"p(95)\":{}",
        n(),
        n(),
        n(),
        n(),
        n()
    );
    let (count, rate, passes, fails) = (n(), n(), n(), n());
    if count.len() % 2 == 0 {
        format!("{{\"metrics\":{{\"http_req_duration\":{{\"type\":\"trend\",\"contains\":\"time\",\"values\":{{{trend}}}}},\"http_reqs\":{{\"type\":\"counter\",\"values\":{{\"count\":{count},\"rate\":{rate}}}}},\"http_req_failed\":{{\"type\":\"rate\",\"values\":{{\"rate\":{rate},\"passes\":{passes},\"fails\":{fails}}}}}}}}}")
            .into_bytes()
    } else {
        format!("{{\"metrics\":{{\"http_req_duration\":{{{trend}}},\"http_reqs\":{{\"count\":{count},\"rate\":{rate}}},\"checks\":{{\"value\":{rate},\"passes\":{passes},\"fails\":{fails}}}}}}}")
            .into_bytes()
    }
}

fn generate_goose(rng: &mut Rng) -> Vec<u8> {
    // The smallest shape goose writes, with numbers that go wrong.
    let row = |rng: &mut Rng, method: &str, name: &str| {
        format!(
            "{{\"method\":\"{method}\",\"name\":\"{name}\",\"number_of_requests\":{},\"number_of_failures\":{},\"response_time_average\":{},\"response_time_minimum\":{},\"response_time_maximum\":{},\"requests_per_second\":{},\"failures_per_second\":{}}}",
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            gen_number(rng),
            gen_number(rng)
        )
    };
    let a = row(rng, "GET", "/");
    let b = row(rng, "", "Aggregated");
    format!("{{\"raw_request_metrics\":[{a},{b}],\"raw_response_metrics\":[],\"co_request_metrics\":null,\"co_response_metrics\":null,\"scenario_metrics\":[],\"transaction_metrics\":[],\"errors\":[],\"status_code_metrics\":[]}}")
        .into_bytes()
}
