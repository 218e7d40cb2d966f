//! `perfhub flamegraph` and `perfhub diff` end to end, through the real
//! binary, on the inputs in `fixtures/flame/`.
//!
//! The SVG is checked with Python's XML parser (expat, in Python's standard
//! library), an XML reader independent of the writer.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{perfhub, root, stderr};

fn fixture(name: &str) -> String {
    root()
        .join("fixtures/flame")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Parses `svg` as XML and returns its title and subtitle (the first two
/// `<text>` elements) and the `<title>` of every frame.
fn parse_svg(svg: &Path) -> (Vec<String>, Vec<String>) {
    const SCRIPT: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
texts = [t.text or "" for t in root.iter(ns + "text")][:2]
titles = [t.text or "" for t in root.iter(ns + "title")]
print(json.dumps([texts, titles]))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(svg)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): the SVG is checked with its XML parser")
        });
    assert!(
        out.status.success(),
        "{} is not valid XML: {}",
        svg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn has_title(titles: &[String], prefix: &str) -> bool {
    titles.iter().any(|t| t.starts_with(prefix))
}

fn out_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn draws_folded_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "cpu.svg");
    let out = perfhub(&[
        "flamegraph",
        &fixture("cpu.folded"),
        "-o",
        svg.to_str().unwrap(),
        "--title",
        "CPU <release> & \"friends\"",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (texts, titles) = parse_svg(&svg);
    assert_eq!(texts, ["CPU <release> & \"friends\"", "cpu.folded"]);
    assert!(
        has_title(&titles, "app::hot::alpha (70 samples, 70.00%)"),
        "{titles:?}"
    );
    assert!(
        has_title(&titles, "app::cold::beta (20 samples, 20.00%)"),
        "{titles:?}"
    );
    assert!(
        has_title(&titles, "main (100 samples, 100.00%)"),
        "{titles:?}"
    );
    assert!(has_title(
        &titles,
        "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop (4 samples"
    ));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("function search("),
        "inferno's interactive search"
    );
}

#[test]
fn weird_frame_names_make_valid_xml() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "weird.svg");
    let out = perfhub(&[
        "flamegraph",
        &fixture("weird-names.folded"),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, titles) = parse_svg(&svg);
    // Every leaf comes back whole once XML is unescaped.
    let input = std::fs::read_to_string(fixture("weird-names.folded")).unwrap();
    for line in input.lines() {
        let (stack, weight) = line.rsplit_once(' ').unwrap();
        let leaf = stack.rsplit(';').next().unwrap();
        let want = format!("{leaf} ({weight} samples");
        assert!(has_title(&titles, &want), "no {want:?} in {titles:?}");
    }
}

#[test]
fn refuses_a_malformed_file_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "out.svg");
    std::fs::write(&svg, "previous").unwrap();
    let out = perfhub(&[
        "flamegraph",
        &fixture("malformed.folded"),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("malformed.folded: line 4: no weight after the stack"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&svg).unwrap(),
        "previous",
        "nothing half-drawn"
    );
}

#[test]
fn refuses_empty_and_binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "out.svg");
    let empty = out_path(&dir, "empty.folded");
    std::fs::write(&empty, "\n# nothing here\n").unwrap();
    let out = perfhub(&[
        "flamegraph",
        empty.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the profile has no samples"),
        "{}",
        stderr(&out)
    );

    let garbage = out_path(&dir, "garbage.pb");
    std::fs::write(&garbage, [0x0a, 0x05, 0x00, 0xff, 0xff]).unwrap();
    let out = perfhub(&[
        "flamegraph",
        garbage.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("garbage.pb: not a pprof profile"),
        "{}",
        stderr(&out)
    );
    assert!(!svg.exists());

    let out = perfhub(&[
        "flamegraph",
        "no-such-profile.folded",
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read no-such-profile.folded"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn draws_pprof_gzipped_or_raw() {
    let dir = tempfile::tempdir().unwrap();
    for input in ["go-cpu.pb.gz", "go-cpu.pb"] {
        let svg = out_path(&dir, &format!("{input}.svg"));
        let out = perfhub(&["flamegraph", &fixture(input), "-o", svg.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{input}: {}", stderr(&out));
        let (texts, titles) = parse_svg(&svg);
        assert_eq!(texts[1], input);
        // Sample counts (not nanoseconds), inlined frames as frames, an
        // unsymbolized location by its address.
        for want in [
            "main.main (100 samples, 100.00%)",
            "app.compare (70 samples",
            "bytes.Equal (70 samples",
            "app.(*Tree[go.shape.int]).Insert<&\"x\"> (25 samples",
            "0x40bffd (5 samples",
        ] {
            assert!(
                has_title(&titles, want),
                "{input}: no {want:?} in {titles:?}"
            );
        }
    }
}

#[test]
fn draws_a_differential_flame_graph() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "diff.svg");
    let out = perfhub(&[
        "diff",
        &fixture("before.folded"),
        &fixture("after.folded"),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (texts, titles) = parse_svg(&svg);
    assert_eq!(
        texts,
        ["Differential Flame Graph", "before.folded → after.folded"]
    );
    for want in [
        "app::compute (70 samples, 70.00%; +30.00%)",
        "app::parse (20 samples, 20.00%; -30.00%)",
        "<app::New<T> as core::fmt::Display>::fmt (10 samples, 10.00%; +10.00%)",
    ] {
        assert!(has_title(&titles, want), "no {want:?} in {titles:?}");
    }
    assert!(!has_title(&titles, "app::removed"), "{titles:?}");

    // pprof against folded, normalized; a delta is of self weight.
    let out = perfhub(&[
        "diff",
        "--normalize",
        &fixture("go-cpu.pb.gz"),
        &fixture("cpu.folded"),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, titles) = parse_svg(&svg);
    assert!(
        has_title(&titles, "app::hot::alpha (70 samples, 70.00%; +61.00%)"),
        "{titles:?}"
    );
}

#[test]
fn diff_refuses_a_malformed_side_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "diff.svg");
    let out = perfhub(&[
        "diff",
        &fixture("before.folded"),
        &fixture("malformed.folded"),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("malformed.folded: line 4: "),
        "{}",
        stderr(&out)
    );
    assert!(!svg.exists());
}
