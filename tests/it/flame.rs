//! `perfhub flamegraph` and `perfhub diff` end to end, through the real
//! binary, on the inputs in `fixtures/flame/`.
//!
//! The SVG is checked with Python's XML parser (expat, in Python's standard
//! library), an XML reader independent of the writer.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{perfhub, perfhub_peak_rss, root, stderr};

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

// ---- hostile profiles ----

/// A protobuf varint.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn len_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A packed repeated varint field.
fn packed(field: u64, values: &[u64], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    for &v in values {
        varint(v, &mut body);
    }
    len_field(field, &body, out);
}

/// A raw pprof profile with the sample types `samples`/`count` and
/// `cpu`/`nanoseconds`, one function `main`, and a sample of `values` on it.
fn pprof_with_values(values: &[u64]) -> Vec<u8> {
    let mut p = Vec::new();
    for (ty, unit) in [(1, 2), (3, 4)] {
        let mut vt = Vec::new();
        varint(1 << 3, &mut vt);
        varint(ty, &mut vt);
        varint(2 << 3, &mut vt);
        varint(unit, &mut vt);
        len_field(1, &vt, &mut p);
    }
    let mut sample = Vec::new();
    packed(1, &[1], &mut sample);
    packed(2, values, &mut sample);
    len_field(2, &sample, &mut p);
    let mut line = Vec::new();
    varint(1 << 3, &mut line);
    varint(1, &mut line);
    let mut location = Vec::new();
    varint(1 << 3, &mut location);
    varint(1, &mut location);
    len_field(4, &line, &mut location);
    len_field(4, &location, &mut p);
    let mut function = Vec::new();
    varint(1 << 3, &mut function);
    varint(1, &mut function);
    varint(2 << 3, &mut function);
    varint(5, &mut function);
    len_field(5, &function, &mut p);
    for s in ["", "samples", "count", "cpu", "nanoseconds", "main"] {
        len_field(6, s.as_bytes(), &mut p);
    }
    p
}

#[test]
fn refuses_samples_without_one_value_per_sample_type() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "out.svg");
    let good = out_path(&dir, "good.pb");
    std::fs::write(&good, pprof_with_values(&[3, 30_000_000])).unwrap();
    let out = perfhub(&[
        "flamegraph",
        good.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, titles) = parse_svg(&svg);
    assert!(has_title(&titles, "main (3 samples"), "{titles:?}");

    for (name, values) in [("fewer.pb", &[3][..]), ("more.pb", &[3, 30_000_000, 7][..])] {
        let path = out_path(&dir, name);
        std::fs::write(&path, pprof_with_values(values)).unwrap();
        let svg = out_path(&dir, &format!("{name}.svg"));
        let out = perfhub(&[
            "flamegraph",
            path.to_str().unwrap(),
            "-o",
            svg.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let want = format!(
            "{name}: invalid pprof profile: sample 0 has {} value(s) for 2 sample type(s)",
            values.len()
        );
        assert!(stderr(&out).contains(&want), "{}", stderr(&out));
        assert!(!svg.exists(), "{name}: nothing drawn");
    }
}

/// A gzip stream of `head`, `zero_mib` MiB of zero bytes, then `tail`.
/// Each part is deflated on its own up to a full flush, so the compressed
/// MiB of zeros is simply repeated: a bomb of a GiB is made at once.
fn gzip_bomb(head: &[u8], zero_mib: u32, tail: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    let deflate = |data: &[u8], flush: FlushCompress| {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(data.len() + 1024);
        c.compress_vec(data, &mut out, flush).unwrap();
        assert_eq!(c.total_in(), data.len() as u64, "deflated at once");
        out
    };
    let zeros = vec![0u8; 1 << 20];
    let zeros_deflated = deflate(&zeros, FlushCompress::Full);
    let mut zeros_crc = Crc::new();
    zeros_crc.update(&zeros);

    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut crc = Crc::new();
    out.extend(deflate(head, FlushCompress::Full));
    crc.update(head);
    for _ in 0..zero_mib {
        out.extend_from_slice(&zeros_deflated);
        crc.combine(&zeros_crc);
    }
    out.extend(deflate(tail, FlushCompress::Finish));
    crc.update(tail);
    out.extend(crc.sum().to_le_bytes());
    out.extend(crc.amount().to_le_bytes());
    out
}

#[test]
fn refuses_pprof_bombs_in_bounded_memory() {
    const MIB: u64 = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "out.svg");

    // A profile whose string table holds one string of 1000 MiB (zeros),
    // then the rest of a valid profile: about 1 MB on disk.
    let mut head = Vec::new();
    len_field(6, b"", &mut head);
    varint(6 << 3 | 2, &mut head);
    varint(1000 * MIB, &mut head);
    let tail = pprof_with_values(&[3, 30_000_000]);
    let bomb = out_path(&dir, "bomb.pb.gz");
    let bytes = gzip_bomb(&head, 1000, &tail);
    assert!(bytes.len() < 2 << 20, "{} bytes", bytes.len());
    std::fs::write(&bomb, bytes).unwrap();
    let (out, peak) = perfhub_peak_rss(&[
        "flamegraph",
        bomb.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "bomb.pb.gz: pprof profile too large: string 1 of the string table is 1000 MiB, more than the 1 MiB a name may have"
        ),
        "{}",
        stderr(&out)
    );
    assert!(peak < 512 * MIB, "peak RSS {} MiB", peak / MIB);

    // Nothing but zeros, 1000 MiB of them.
    let zeros = out_path(&dir, "zeros.pb.gz");
    std::fs::write(&zeros, gzip_bomb(b"", 1000, b"")).unwrap();
    let (out, peak) = perfhub_peak_rss(&[
        "flamegraph",
        zeros.to_str().unwrap(),
        "-o",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("zeros.pb.gz: not a pprof profile: a field has number 0"),
        "{}",
        stderr(&out)
    );
    assert!(peak < 512 * MIB, "peak RSS {} MiB", peak / MIB);
    assert!(!svg.exists());
}

#[test]
fn diff_refuses_an_empty_side_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let svg = out_path(&dir, "diff.svg");
    let empty = out_path(&dir, "empty.folded");
    std::fs::write(&empty, "# nothing\n").unwrap();
    let empty = empty.to_str().unwrap();
    let after = fixture("after.folded");
    for (before, after) in [(empty, after.as_str()), (after.as_str(), empty)] {
        let out = perfhub(&[
            "diff",
            "--normalize",
            before,
            after,
            "-o",
            svg.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "error: {empty}: the profile has no samples, so there is nothing to compare"
            )),
            "{}",
            stderr(&out)
        );
        assert!(!svg.exists(), "nothing drawn");
    }
}
