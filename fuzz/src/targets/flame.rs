//! perfhub-flame: folded stacks and pprof. (Speedscope is only written.)

use std::io::Write as _;
use std::path::Path;

use perfhub_flame::{StackProfile, WeightUnit, from_pprof, parse_folded, to_folded, to_pprof};

use super::{fixture, text};
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "folded",
            group: "flame",
            check: check_folded,
            seeds: folded_seeds,
            mutate: mutate_folded,
            generate: generate_folded,
            bombs: folded_bombs,
            suite_cases: 400,
        },
        Target {
            name: "pprof",
            group: "flame",
            check: check_pprof,
            seeds: pprof_seeds,
            mutate: mutate_pprof,
            generate: generate_pprof,
            bombs: pprof_bombs,
            suite_cases: 400,
        },
    ]
}

/// The sum of every weight, or why there is none: a profile whose weights
/// add up past `u64` holds a wrong number somewhere.
fn checked_total(p: &StackProfile) -> Result<u64, String> {
    p.stacks
        .values()
        .try_fold(0u64, |a, &w| a.checked_add(w))
        .ok_or_else(|| "accepted with weights that add up past 2^64".to_string())
}

fn check_folded(input: &[u8]) -> Result<Outcome, String> {
    let text = text(input);
    let p = match parse_folded(&text) {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    checked_total(&p)?;
    if p.stacks.values().any(|&w| w == 0) {
        return Err("accepted with a stack of weight 0 kept".into());
    }
    // The writer changes what folded stacks cannot hold (documented on
    // `to_folded`): a line break in a name becomes a space, and stacks
    // that then read the same add up.
    let written = to_folded(&p);
    let back = parse_folded(&written)
        .map_err(|e| format!("the folded stacks written do not read back: {e}"))?;
    let mut expected = std::collections::BTreeMap::<Vec<String>, u64>::new();
    for (stack, &w) in &p.stacks {
        let stack = stack.iter().map(|f| f.replace(['\r', '\n'], " ")).collect();
        let e = expected.entry(stack).or_default();
        *e = e
            .checked_add(w)
            .ok_or("accepted with weights that add up past 2^64")?;
    }
    if back.stacks != expected {
        return Err("the folded stacks written read back different".into());
    }
    Ok(Outcome::Accepted)
}

fn check_pprof(input: &[u8]) -> Result<Outcome, String> {
    let p = match from_pprof(input) {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    checked_total(&p)?;
    if let Some(problem) = value_count_problem(input) {
        return Err(format!("accepted though {problem}"));
    }
    // pprof holds weights as i64: what fits must come back unchanged.
    if p.stacks.values().all(|&w| i64::try_from(w).is_ok()) {
        let back = from_pprof(&to_pprof(&p))
            .map_err(|e| format!("the pprof written does not read back: {e}"))?;
        let frames = |p: &StackProfile| -> Vec<(Vec<String>, u64)> {
            p.stacks
                .iter()
                .map(|(s, &w)| {
                    // The writer names an empty stack or frame `[unknown]`.
                    let s = if s.is_empty() {
                        vec![perfhub_flame::UNKNOWN_FRAME.to_string()]
                    } else {
                        s.iter()
                            .map(|f| {
                                if f.is_empty() {
                                    perfhub_flame::UNKNOWN_FRAME.to_string()
                                } else {
                                    f.clone()
                                }
                            })
                            .collect()
                    };
                    (s, w)
                })
                .collect()
        };
        let (mut a, mut b) = (frames(&p), frames(&back));
        a.sort();
        b.sort();
        let merged = |v: Vec<(Vec<String>, u64)>| {
            let mut m = std::collections::BTreeMap::<Vec<String>, u64>::new();
            for (s, w) in v {
                let e = m.entry(s).or_default();
                *e = e.saturating_add(w);
            }
            m
        };
        if merged(a) != merged(b) {
            return Err("the pprof written reads back with other stacks or weights".into());
        }
        if p.unit.is_some() && back.unit != p.unit {
            return Err(format!(
                "the pprof written reads back in {:?}, not {:?}",
                back.unit, p.unit
            ));
        }
    }
    Ok(Outcome::Accepted)
}

/// Reads a protobuf varint at `*at`.
fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A protobuf field: number, wire type, varint value, and the bytes of a
/// length-delimited field.
type Field<'a> = (u64, u8, u64, &'a [u8]);

/// The fields of a protobuf message; `None` when it does not parse.
fn fields(b: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let key = read_varint(b, &mut at)?;
        let (field, wire) = (key >> 3, (key & 7) as u8);
        match wire {
            0 => out.push((field, 0, read_varint(b, &mut at)?, &b[0..0])),
            1 => {
                at = at.checked_add(8).filter(|&e| e <= b.len())?;
            }
            2 => {
                let len = usize::try_from(read_varint(b, &mut at)?).ok()?;
                let end = at.checked_add(len).filter(|&e| e <= b.len())?;
                out.push((field, 2, 0, &b[at..end]));
                at = end;
            }
            5 => {
                at = at.checked_add(4).filter(|&e| e <= b.len())?;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Which sample of a pprof profile has another number of values than
/// there are sample types, read independently of the decoder under test.
fn value_count_problem(input: &[u8]) -> Option<String> {
    let mut inflated = Vec::new();
    let raw = if input.starts_with(&[0x1f, 0x8b]) {
        std::io::Read::read_to_end(
            &mut std::io::Read::take(flate2::read::GzDecoder::new(input), 64 << 20),
            &mut inflated,
        )
        .ok()?;
        &inflated[..]
    } else {
        input
    };
    let top = fields(raw)?;
    let types = top.iter().filter(|f| f.0 == 1 && f.1 == 2).count();
    for (n, sample) in top.iter().filter(|f| f.0 == 2 && f.1 == 2).enumerate() {
        let mut values = 0;
        for (field, wire, _, bytes) in fields(sample.3)? {
            if field != 2 {
                continue;
            }
            if wire == 0 {
                values += 1;
            } else if wire == 2 {
                let mut at = 0;
                while at < bytes.len() {
                    read_varint(bytes, &mut at)?;
                    values += 1;
                }
            }
        }
        if values != types && types > 0 {
            return Some(format!(
                "sample {n} has {values} values for {types} sample types"
            ));
        }
    }
    None
}

const FOLDED_TOKENS: &[&str] = &[
    ";",
    " ",
    "\t",
    "\n",
    "\r\n",
    "# ",
    "1",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "[unknown]",
    "\u{ff1b}",
    "\u{a0}",
    "\u{2003}",
];

fn folded_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        "fixtures/flame/cpu.folded",
        "fixtures/flame/before.folded",
        "fixtures/flame/after.folded",
        "fixtures/flame/weird-names.folded",
        "fixtures/flame/malformed.folded",
    ]
    .iter()
    .filter_map(|f| fixture(root, f))
    .collect();
    seeds.push(b"main;a 18446744073709551615\nmain;a 1\n".to_vec());
    seeds.push(b"# comment\n\nmain;<[u8; 4] as Debug>::fmt 3\r\n  main ;b\t2\n".to_vec());
    seeds
}

fn mutate_folded(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate::bytes(input, other, FOLDED_TOKENS, rng)
}

fn frame(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => rng.pick(mutate::STRINGS).to_string(),
        1 => format!("fn{}", rng.below(8)),
        2 => "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop".into(),
        3 => format!("a b {}", rng.below(3)),
        _ => ["main", "run", "alpha", "beta", "日本語"][rng.below(5)].into(),
    }
}

fn generate_folded(rng: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    for _ in 0..rng.small(40) {
        let frames: Vec<String> = (0..1 + rng.small(12)).map(|_| frame(rng)).collect();
        s.push_str(&frames.join(";"));
        let gap = *rng.pick(&[" ", "\t", "  ", " \u{a0}"]);
        s.push_str(gap);
        let weight = if rng.chance(0.7) {
            rng.below(1000).to_string()
        } else {
            rng.pick(mutate::NUMBERS).to_string()
        };
        s.push_str(&weight);
        let end = *rng.pick(&["\n", "\r\n", "\n\n"]);
        s.push_str(end);
    }
    s.into_bytes()
}

fn folded_bombs() -> Vec<(&'static str, Vec<u8>)> {
    let deep = {
        let mut s = vec!["f"; 50_000].join(";");
        s.push_str(" 1\n");
        s.into_bytes()
    };
    let many = (0..50_000)
        .map(|i| format!("main;f{i} 1\n"))
        .collect::<String>()
        .into_bytes();
    vec![
        ("a stack 200000 frames deep", deep),
        ("200000 stacks", many),
    ]
}

const PPROF_TOKENS: &[&str] = &[
    "\u{0}", "\u{1}", "\u{8}", "\u{10}", "\u{12}", "\u{1a}", "\u{22}", "\u{32}",
];

fn pprof_seeds(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = ["fixtures/flame/go-cpu.pb", "fixtures/flame/go-cpu.pb.gz"]
        .iter()
        .filter_map(|f| fixture(root, f))
        .collect();
    let mut p = StackProfile::new(WeightUnit::Samples);
    p.period = Some(10_101_010);
    p.add(vec!["main".into(), "<[u8; 4] as Debug>::fmt".into()], 3);
    p.add(vec!["main".into(), String::new()], 1);
    p.add(Vec::new(), 2);
    seeds.push(to_pprof(&p));
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&seeds[seeds.len() - 1][..]),
        &mut raw,
    );
    seeds.push(raw);
    seeds
}

/// Protobuf by hand, so generated profiles can hold what `prost` would
/// never write: indexes out of range, values of the wrong count.
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }

    fn int(&mut self, field: u32, v: u64) {
        self.varint(u64::from(field) << 3);
        self.varint(v);
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.varint((u64::from(field) << 3) | 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn packed(&mut self, field: u32, vs: &[u64]) {
        let mut inner = Pb(Vec::new());
        for &v in vs {
            inner.varint(v);
        }
        self.bytes(field, &inner.0);
    }
}

fn index(rng: &mut Rng, len: usize) -> u64 {
    match rng.below(10) {
        0 => rng.u64(),
        1 => (len + rng.below(3)) as u64,
        2 => u64::MAX, // -1 as int64
        _ => rng.below(len.max(1)) as u64,
    }
}

fn generate_pprof(rng: &mut Rng) -> Vec<u8> {
    let names = [
        "",
        "samples",
        "count",
        "cpu",
        "nanoseconds",
        "microseconds",
        "seconds",
        "bytes",
        "space",
        "main",
        "f",
        "g",
    ];
    let strings = 1 + rng.small(names.len() + 4);
    let mut pb = Pb(Vec::new());
    for _ in 0..rng.small(4) {
        let mut vt = Pb(Vec::new());
        vt.int(1, index(rng, strings));
        vt.int(2, index(rng, strings));
        pb.bytes(1, &vt.0);
    }
    let functions = rng.small(8);
    let locations = rng.small(8);
    for _ in 0..rng.small(30) {
        let mut s = Pb(Vec::new());
        let ids: Vec<u64> = (0..rng.small(10))
            .map(|_| index(rng, locations).wrapping_add(1))
            .collect();
        s.packed(1, &ids);
        let values: Vec<u64> = (0..rng.small(4))
            .map(|_| {
                if rng.chance(0.8) {
                    rng.below(1000) as u64
                } else {
                    *rng.pick(&[u64::MAX, i64::MAX as u64, 1 << 63, 0])
                }
            })
            .collect();
        s.packed(2, &values);
        pb.bytes(2, &s.0);
    }
    for id in 1..=locations {
        let mut l = Pb(Vec::new());
        l.int(
            1,
            if rng.chance(0.9) {
                id as u64
            } else {
                index(rng, locations)
            },
        );
        if rng.chance(0.2) {
            l.int(3, rng.u64());
        }
        for _ in 0..rng.small(3) {
            let mut line = Pb(Vec::new());
            line.int(1, index(rng, functions).wrapping_add(1));
            l.bytes(4, &line.0);
        }
        pb.bytes(4, &l.0);
    }
    for id in 1..=functions {
        let mut f = Pb(Vec::new());
        f.int(1, id as u64);
        f.int(2, index(rng, strings));
        f.int(3, index(rng, strings));
        pb.bytes(5, &f.0);
    }
    for i in 0..strings {
        let s = if i == 0 && rng.chance(0.9) {
            String::new()
        } else if rng.chance(0.7) {
            rng.pick(&names).to_string()
        } else {
            rng.pick(mutate::STRINGS).to_string()
        };
        pb.bytes(6, s.as_bytes());
    }
    if rng.chance(0.5) {
        let mut vt = Pb(Vec::new());
        vt.int(1, index(rng, strings));
        vt.int(2, index(rng, strings));
        pb.bytes(11, &vt.0);
        pb.int(12, index(rng, 1 << 30));
    }
    if rng.chance(0.3) {
        pb.int(14, index(rng, strings));
    }
    if rng.chance(0.5) { gzip(&pb.0) } else { pb.0 }
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(raw);
    gz.finish().unwrap_or_default()
}

fn mutate_pprof(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    // Change the protobuf inside the gzip as often as the gzip itself.
    if input.starts_with(&[0x1f, 0x8b]) && rng.chance(0.5) {
        let mut raw = Vec::new();
        let mut d = flate2::read::GzDecoder::new(input).take_limited();
        if std::io::Read::read_to_end(&mut d, &mut raw).is_ok() {
            return gzip(&mutate::bytes(&raw, other, PPROF_TOKENS, rng));
        }
    }
    mutate::bytes(input, other, PPROF_TOKENS, rng)
}

trait TakeLimited: std::io::Read + Sized {
    fn take_limited(self) -> std::io::Take<Self> {
        self.take(mutate::MAX_LEN as u64)
    }
}

impl<R: std::io::Read> TakeLimited for R {}

/// Raw deflate of `input` with `flush`, appended to `out`.
fn deflate(
    c: &mut flate2::Compress,
    input: &[u8],
    flush: flate2::FlushCompress,
    out: &mut Vec<u8>,
) {
    let mut at = 0;
    loop {
        out.reserve(64 << 10);
        let before_in = c.total_in();
        let status = c.compress_vec(&input[at..], out, flush);
        at += (c.total_in() - before_in) as usize;
        let done = at == input.len() && out.len() < out.capacity();
        if status.is_err() || done || matches!(status, Ok(flate2::Status::StreamEnd)) {
            return;
        }
    }
}

/// A gzip stream of `raw`'s bytes followed by `zeros` zero bytes (a whole
/// number of MiB), built without compressing the zeros more than once:
/// after a full flush the compressor starts afresh, so every MiB of zeros
/// compresses to the same bytes, which are repeated.
pub fn gzip_with_zeros(raw: &[u8], zeros: usize) -> Vec<u8> {
    const CHUNK: usize = 1 << 20;
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut crc = flate2::Crc::new();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    deflate(&mut c, raw, flate2::FlushCompress::Full, &mut out);
    crc.update(raw);
    let zero = vec![0u8; CHUNK];
    let mut block = Vec::new();
    deflate(&mut c, &zero, flate2::FlushCompress::Full, &mut block);
    for _ in 0..zeros / CHUNK {
        out.extend_from_slice(&block);
        crc.update(&zero);
    }
    deflate(&mut c, &[], flate2::FlushCompress::Finish, &mut out);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&((raw.len() + zeros / CHUNK * CHUNK) as u32).to_le_bytes());
    out
}

/// The bombs of issue 13: a 1 MB gzip whose string table holds one
/// 1000 MiB entry, and plain zero bombs.
pub(crate) fn pprof_bombs() -> Vec<(&'static str, Vec<u8>)> {
    // A Profile with one string_table entry (field 6) of 1000 MiB of zeros.
    let len: u64 = 1000 << 20;
    let mut head = Pb(Vec::new());
    head.bytes(6, b"");
    head.varint((6 << 3) | 2);
    head.varint(len);
    let string_bomb = gzip_with_zeros(&head.0, len as usize);
    let zero_bomb = gzip_with_zeros(&[], 1100 << 20);
    vec![
        ("gzip pprof with a 1000 MiB string", string_bomb),
        ("gzip of 1100 MiB of zeros", zero_bomb),
    ]
}
