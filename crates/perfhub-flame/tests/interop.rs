//! perfhub's outputs read by independent tools: pprof by `protoc
//! --decode_raw` (Debian's `protobuf-compiler`), speedscope JSON validated
//! against the schema the `speedscope` npm package ships, by Python's
//! `jsonschema`. `cargo xtask ci` provides all three.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use perfhub_flame::{StackProfile, WeightUnit, from_pprof, to_pprof, to_speedscope};

/// The `speedscope` release whose schema `cargo xtask ci` fetches.
const SPEEDSCOPE_VERSION: &str = "1.25.0";

fn stack(frames: &[&str]) -> Vec<String> {
    frames.iter().map(|f| f.to_string()).collect()
}

/// Weights stay under 8 so that `--decode_raw` cannot mistake a packed
/// field for a nested message (a first byte under 8 is field 0, invalid).
fn profile() -> StackProfile {
    let mut p = StackProfile::new(WeightUnit::Samples);
    p.period = Some(10_101_010);
    p.add(stack(&["main", "work", "<Vec<T> as Drop>::drop"]), 7);
    p.add(stack(&["main", "work"]), 2);
    p.add(stack(&["main", "say \"hi\" & 'bye'", "日本語"]), 1);
    p
}

// ---- protoc --decode_raw ----

/// One field of `protoc --decode_raw`'s output.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Message(Vec<(u32, Node)>),
}

impl Node {
    fn fields(&self, tag: u32) -> impl Iterator<Item = &Node> {
        let Node::Message(fields) = self else {
            panic!("not a message: {self:?}")
        };
        fields
            .iter()
            .filter(move |(t, _)| *t == tag)
            .map(|(_, n)| n)
    }

    fn one(&self, tag: u32) -> &Node {
        self.fields(tag)
            .next()
            .unwrap_or_else(|| panic!("no field {tag} in {self:?}"))
    }

    fn int(&self, tag: u32) -> u64 {
        match self.one(tag) {
            Node::Scalar(s) => s.parse().unwrap_or_else(|_| panic!("{s} is no integer")),
            n => panic!("field {tag} is not a scalar: {n:?}"),
        }
    }

    /// A length-delimited field as bytes (strings and packed numbers).
    fn bytes(&self) -> Vec<u8> {
        match self {
            Node::Scalar(s) => unescape(s),
            n => panic!("not a string: {n:?}"),
        }
    }
}

fn parse_decode_raw(text: &str) -> Node {
    fn block<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Vec<(u32, Node)> {
        let mut fields = Vec::new();
        while let Some(line) = lines.next() {
            let line = line.trim();
            if line == "}" {
                break;
            }
            if let Some(tag) = line.strip_suffix(" {") {
                let tag = tag.parse().unwrap_or_else(|_| panic!("bad line {line:?}"));
                fields.push((tag, Node::Message(block(lines))));
            } else {
                let (tag, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
                fields.push((tag.parse().unwrap(), Node::Scalar(value.to_string())));
            }
        }
        fields
    }
    Node::Message(block(&mut text.lines()))
}

/// Undoes protoc's C escaping of a quoted string.
fn unescape(quoted: &str) -> Vec<u8> {
    let s = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a quoted string: {quoted}"))
        .as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    if i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                        v = v * 8 + u32::from(s[i] - b'0');
                        i += 1;
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let end = (i..s.len().min(i + 2))
                    .take_while(|&j| s[j].is_ascii_hexdigit())
                    .last()
                    .unwrap()
                    + 1;
                let hex = std::str::from_utf8(&s[i..end]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i = end;
            }
            other => out.push(other),
        }
    }
    out
}

fn varints(mut b: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[0];
            b = &b[1..];
            v |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        out.push(v);
    }
    out
}

fn decode_raw(gz: &[u8]) -> Node {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .expect("our pprof output is gzip");
    let child = Command::new("protoc")
        .arg("--decode_raw")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run `protoc` ({e}): install Debian's `protobuf-compiler` package \
             (`cargo xtask ci` does) to decode pprof output with an independent reader"
        ),
    };
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "protoc --decode_raw refused our pprof output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_decode_raw(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn protoc_decodes_our_pprof() {
    let p = profile();
    let msg = decode_raw(&to_pprof(&p));

    // string_table (6), "" first.
    let strings: Vec<String> = msg
        .fields(6)
        .map(|n| String::from_utf8(n.bytes()).unwrap())
        .collect();
    assert_eq!(strings[0], "");
    let s = |i: u64| strings[i as usize].as_str();
    for name in ["samples", "count", "cpu", "nanoseconds", "main", "work"] {
        assert!(strings.iter().any(|x| x == name), "{name} in {strings:?}");
    }
    assert!(strings.iter().any(|x| x == "<Vec<T> as Drop>::drop"));
    assert!(strings.iter().any(|x| x == "say \"hi\" & 'bye'"));
    assert!(strings.iter().any(|x| x == "日本語"));

    // sample_type (1) and period_type (11), period (12).
    let types: Vec<(&str, &str)> = msg
        .fields(1)
        .map(|vt| (s(vt.int(1)), s(vt.int(2))))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    let pt = msg.one(11);
    assert_eq!((s(pt.int(1)), s(pt.int(2))), ("cpu", "nanoseconds"));
    assert_eq!(msg.int(12), 10_101_010);

    // function (5): id -> name; location (4): id -> function, one line each.
    let functions: std::collections::HashMap<u64, &str> =
        msg.fields(5).map(|f| (f.int(1), s(f.int(2)))).collect();
    let locations: std::collections::HashMap<u64, &str> = msg
        .fields(4)
        .map(|l| {
            assert_eq!(l.int(2), 1, "every location in mapping 1");
            (l.int(1), functions[&l.one(4).int(1)])
        })
        .collect();
    let mapping = msg.one(3);
    assert_eq!(
        (mapping.int(1), mapping.int(7)),
        (1, 1),
        "mapping 1, has_functions"
    );

    // sample (2): location ids leaf first, values [samples, samples * period].
    let mut samples: Vec<(Vec<&str>, Vec<u64>)> = msg
        .fields(2)
        .map(|smp| {
            let ids = varints(&smp.one(1).bytes());
            let names = ids.iter().map(|id| locations[id]).collect();
            (names, varints(&smp.one(2).bytes()))
        })
        .collect();
    samples.sort();
    assert_eq!(
        samples,
        [
            (
                vec!["<Vec<T> as Drop>::drop", "work", "main"],
                vec![7, 70_707_070]
            ),
            (vec!["work", "main"], vec![2, 20_202_020]),
            (
                vec!["日本語", "say \"hi\" & 'bye'", "main"],
                vec![1, 10_101_010]
            ),
        ]
    );
}

#[test]
fn pprof_round_trips_through_gzip_and_raw() {
    let p = profile();
    let gz = to_pprof(&p);
    assert_eq!(from_pprof(&gz).unwrap(), p);
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(from_pprof(&raw).unwrap(), p);
}

// ---- speedscope's schema ----

/// Where `cargo xtask ci` puts the schema: `$PERFHUB_SPEEDSCOPE_SCHEMA`, or the
/// same default path in the user's cache.
fn speedscope_schema() -> PathBuf {
    let path = match std::env::var_os("PERFHUB_SPEEDSCOPE_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .expect("HOME or XDG_CACHE_HOME is set");
            cache
                .join("perfhub")
                .join(format!("speedscope-{SPEEDSCOPE_VERSION}"))
                .join("file-format-schema.json")
        }
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "speedscope's file-format schema is not at {} ({e}): run `cargo xtask ci`, or \
             `npm pack speedscope@{SPEEDSCOPE_VERSION}` and put the package's \
             dist/release/file-format-schema.json there",
            path.display()
        )
    });
    assert!(
        text.contains("FileFormat.SampledProfile"),
        "{} is not speedscope's schema",
        path.display()
    );
    path
}

/// Validates `json` against speedscope's schema with Python's jsonschema;
/// the errors found, one per line (empty when valid).
fn schema_errors(json: &str) -> String {
    let schema = speedscope_schema();
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("profile.speedscope.json");
    std::fs::write(&doc, json).unwrap();
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft7Validator
schema = json.load(open(sys.argv[1]))
Draft7Validator.check_schema(schema)
doc = json.load(open(sys.argv[2]))
for e in sorted(Draft7Validator(schema).iter_errors(doc), key=str):
    print(list(e.absolute_path), e.message)
"#;
    // The validators' virtualenv has jsonschema (`cargo xtask ci` provides
    // it and sets PERFHUB_TEST_PYTHON); a python3 with jsonschema also does.
    let python = std::env::var_os("PERFHUB_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(&schema)
        .arg(&doc)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): speedscope output is validated with Python's jsonschema",
                python.to_string_lossy()
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the schema check did not run{}: {stderr}",
        if stderr.contains("No module named 'jsonschema'") {
            " (install it: `python3 -m pip install jsonschema`; `cargo xtask ci` provides it)"
        } else {
            ""
        }
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn speedscope_output_validates_against_speedscopes_schema() {
    for unit in [
        WeightUnit::Samples,
        WeightUnit::Nanoseconds,
        WeightUnit::Bytes,
        WeightUnit::Count,
    ] {
        let mut p = profile();
        p.unit = Some(unit);
        p.add(vec![], 3);
        let json = to_speedscope(&p, "cpu <test> & \"quotes\"");
        let errors = schema_errors(&json);
        assert!(errors.is_empty(), "{unit:?}:\n{errors}\n{json}");
    }
    let errors = schema_errors(&to_speedscope(&StackProfile::default(), "empty"));
    assert!(errors.is_empty(), "{errors}");
}

#[test]
fn the_schema_check_catches_a_broken_file() {
    let json = to_speedscope(&profile(), "cpu");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["profiles"][0]["unit"] = "furlongs".into();
    v["profiles"][0].as_object_mut().unwrap().remove("weights");
    let errors = schema_errors(&v.to_string());
    assert!(!errors.is_empty(), "a broken file passed the schema");
}
