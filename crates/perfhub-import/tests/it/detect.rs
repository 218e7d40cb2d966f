use std::fs;

use perfhub_import::{Format, ImportError, detect, detect_text, import, import_auto};

use crate::{assert_message, fixture, options};

#[test]
fn each_fixture_is_recognized_and_imports() {
    for (rel, format) in [
        ("criterion/criterion-0.8.2", Format::Criterion),
        (
            "criterion/cargo-criterion-1.1.0.jsonl",
            Format::CargoCriterion,
        ),
        ("criterion/libtest/nightly-2026-05-19.txt", Format::Libtest),
        (
            "criterion/libtest/handwritten-integer-form.txt",
            Format::Libtest,
        ),
        ("hyperfine/export-1.15.json", Format::Hyperfine),
    ] {
        let path = fixture(rel);
        assert_eq!(detect(&path).unwrap(), format, "{rel}");
        let report = import(&path, format, None, &options()).unwrap();
        assert!(!report.benchmarks.is_empty());
    }
}

/// `import_auto` reads a file once; it must import exactly what `detect`
/// and `import` do, and fail where they fail, on every fixture of every
/// tool (and on the tools' source files, which are no results).
#[test]
fn import_auto_is_detect_then_import_on_every_fixture() {
    let mut paths = vec![fixture("criterion/criterion-0.8.2")];
    for dir in [
        "asv/results/fixture-vm",
        "benchmarkjs",
        "bmf",
        "criterion",
        "criterion/libtest",
        "go-test",
        "google-benchmark",
        "goose",
        "hyperfine",
        "iai-callgrind",
        "jmh",
        "k6",
        "pyperf",
        "pytest-benchmark",
        "tinybench",
    ] {
        for entry in fs::read_dir(fixture(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut imported = 0;
    for path in &paths {
        let expected = detect(path).and_then(|f| import(path, f, None, &options()).map(|r| (f, r)));
        match (import_auto(path, None, &options()), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{}", path.display());
                imported += 1;
            }
            (Err(got), Err(want)) => {
                assert_eq!(got.to_string(), want.to_string(), "{}", path.display())
            }
            (got, want) => panic!(
                "{}: import_auto gave {:?}, detect and import {:?}",
                path.display(),
                got.map(|(f, _)| f),
                want.map(|(f, _)| f)
            ),
        }
    }
    assert!(
        imported >= 25,
        "only {imported} of {} fixtures imported",
        paths.len()
    );
}

#[test]
fn format_names_round_trip() {
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>().unwrap(), f);
    }
    let err = "gbench".parse::<Format>().unwrap_err();
    assert!(
        err.contains("expected criterion, cargo-criterion, hyperfine, goose, k6,")
            && err.contains("google-benchmark")
            && err.contains("go-test"),
        "{err}"
    );
}

#[test]
fn unknown_text_is_refused_with_the_file_named() {
    assert_eq!(detect_text("hello\nworld\n"), None);
    assert_eq!(detect_text("{\"a\": 1}"), None);
    let stream =
        "   Compiling x v0.1.0\n{\"reason\":\"group-complete\"}\n{\"reason\":\"group-complete\"}\n";
    assert_eq!(detect_text(stream), Some(Format::CargoCriterion));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("notes.txt");
    fs::write(&path, "hello\n").unwrap();
    let err = detect(&path).unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }));
    assert_message(
        &err,
        &[&path.display().to_string(), "cannot tell which format"],
    );
    let err = detect(&tmp.path().join("absent.json")).unwrap_err();
    assert_message(&err, &["absent.json: no such file or directory"]);
}

#[test]
fn auto_says_a_json_file_was_cut_short_rather_than_of_no_known_format() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = fs::read_to_string(fixture("hyperfine/export-1.15.json")).unwrap();
    let path = tmp.path().join("cut.json");
    fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let err = import_auto(&path, None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
    assert_message(
        &err,
        &[
            &path.display().to_string(),
            "EOF while parsing",
            "cut short",
        ],
    );
}

#[test]
fn a_baseline_applies_to_criterion_only() {
    let err = import(
        &fixture("hyperfine/export-1.15.json"),
        Format::Hyperfine,
        Some("main"),
        &options(),
    )
    .unwrap_err();
    assert_message(
        &err,
        &["`baseline` `main` applies only to criterion directories, not to hyperfine output"],
    );
}

/// A damaged file that still shows its format's marks gets that format's
/// own error, naming the line or field, rather than "cannot tell which
/// format this is".
#[test]
fn auto_names_what_is_wrong_in_a_damaged_file_of_a_known_format() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        fs::write(&path, text).unwrap();
        path
    };
    let pytest = fs::read_to_string(fixture("pytest-benchmark/run-a.json")).unwrap();
    let gbench = fs::read_to_string(fixture("google-benchmark/run-a.json")).unwrap();
    let cases = [
        (
            write("junk.json", &format!("{pytest}\n}}junk")),
            "trailing characters",
        ),
        (
            write(
                "huge.json",
                &pytest.replacen("\"min\": ", "\"min\": 1e999, \"was\": ", 1),
            ),
            "number out of range",
        ),
        (
            write("noname.json", &gbench.replacen("\"name\":", "\"nome\":", 1)),
            "name",
        ),
        (
            write("go.txt", "BenchmarkParse-2   \t  100\t  abc ns/op\nPASS\n"),
            "ns/op",
        ),
        (
            write(
                "go-cut.txt",
                "BenchmarkParse-2   \t  100\t  1234 ns/op\t  64 B/op\t  9 allocs/o",
            ),
            "go-cut.txt:1: the file ends part-way through this result line",
        ),
        (
            write("empty.json", "\n"),
            "no benchmark results: the file is empty",
        ),
    ];
    for (path, expected) in cases {
        let err = import_auto(&path, None, &options()).unwrap_err();
        assert!(
            !matches!(err, ImportError::UnknownFormat { .. }),
            "{}: {err}",
            path.display()
        );
        assert_message(&err, &[&path.display().to_string(), expected]);
    }
    // Marks alone do not make a format: text with none is still unknown.
    let err = import_auto(&write("notes.json", "{\"a\": [1, 2"), None, &options());
    assert!(matches!(err, Err(ImportError::Json { .. })), "{err:?}");
    let err = import_auto(&write("notes.txt", "hello\n"), None, &options()).unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err}");
}

#[test]
fn auto_reads_pyperf_compressed_as_pyperf_writes_it() {
    let (format, report) =
        import_auto(&fixture("pyperf/timeit.json.gz"), None, &options()).unwrap();
    assert_eq!(format, Format::Pyperf);
    assert!(!report.benchmarks.is_empty());
    assert_eq!(
        detect(&fixture("pyperf/timeit.json.gz")).unwrap(),
        Format::Pyperf
    );
}
