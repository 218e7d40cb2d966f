//! Mutations: byte-level ones for any input, and structure-aware ones that
//! parse a JSON or TOML seed, change its values (to the numbers and strings
//! parsers get wrong) and its shape, and write it back.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The largest input a mutation produces.
pub const MAX_LEN: usize = 256 << 10;

/// The random source of every generator and mutation: seeded, so a run of
/// the suite is the same run every time.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.0.random_range(0..n) }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p.clamp(0.0, 1.0))
    }

    /// Any 64-bit number.
    pub fn u64(&mut self) -> u64 {
        self.0.random()
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length from 0 to `max`, small ones far more often.
    pub fn small(&mut self, max: usize) -> usize {
        let bits = self.below(usize::BITS as usize - max.leading_zeros() as usize + 1);
        self.below((1usize << bits).min(max) + 1)
    }
}

/// Numbers as text that parsers get wrong: signs, zero, the edges of every
/// integer type, overflowing and underflowing floats, forms Rust's or
/// JSON's parsers refuse.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "0.5",
    "-0.5",
    "3.7",
    "127",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999999999999",
    "1e9",
    "1e18",
    "1e19",
    "1e20",
    "1e300",
    "1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e308",
    "1e-9",
    "1e-300",
    "1e-320",
    "5e-324",
    "1e-400",
    "-1e-400",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "1_000",
    "+1",
    "1.",
    ".5",
    "1e",
    "",
];

/// Strings that parsers get wrong, or that mean something to one of them.
pub const STRINGS: &[&str] = &[
    "",
    " ",
    "\n",
    "\t",
    "\0",
    "\u{7f}",
    "\u{feff}",
    "é",
    "日本語",
    "\u{202e}",
    ";",
    ";;",
    "a;b",
    "[unknown]",
    "# ",
    "..",
    "../..",
    "/",
    "%",
    "%%",
    "{}",
    "{n}",
    "${host}",
    "${undefined}",
    "$$",
    "$",
    "${",
    "ns",
    "us",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "bytes",
    "count",
    "samples",
    "cpu",
    "nanoseconds",
    "microseconds",
    "seconds",
    "0s",
    "-1s",
    "1e-400s",
    "1e309s",
    "9223372036854775807s",
    "18446744073709551615s",
    "9999999999h",
    "300ms",
    "p95 < 200ms",
    "p(99) < 300",
    "mean < -5ms",
    "mean < 1e-400s",
    "p101 < 1s",
    "error_rate < 0.1%",
    "error_rate < -1%",
    "throughput > 1e309",
    "http://127.0.0.1:1/",
    "http://[::1]:0/",
    "https://example.invalid/",
    "htp:/x",
    "http://127.0.0.1:8080/${undefined}",
    "GET",
    "POST",
    "TRACE",
    "2xx",
    "0xx",
    "600",
    "200-100",
    "benchmark-complete",
    "group-complete",
    "Linear",
    "Flat",
    "Elements",
    "Bytes",
    "BytesDecimal",
    "ElementsAndBytes",
];

fn number(rng: &mut Rng) -> String {
    if rng.chance(0.8) {
        return rng.pick(NUMBERS).to_string();
    }
    match rng.below(4) {
        0 => rng.u64().to_string(),
        1 => (rng.u64() as i64).to_string(),
        2 => format!("{:e}", f64::from_bits(rng.u64())),
        _ => format!("{}", rng.below(1000) as f64 / 7.0),
    }
}

fn string(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => number(rng),
        1 => "x".repeat(rng.small(70_000)),
        2 => {
            let a = rng.pick(STRINGS);
            let b = rng.pick(STRINGS);
            format!("{a}{b}")
        }
        _ => rng.pick(STRINGS).to_string(),
    }
}

/// One to eight byte-level changes to `input`: bits flipped, bytes set,
/// ranges inserted, deleted or repeated, tokens and numbers dropped in,
/// or a piece of `other` spliced in.
pub fn bytes(input: &[u8], other: &[u8], tokens: &[&str], rng: &mut Rng) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let pos = rng.below(v.len() + 1);
        match rng.below(12) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = *rng.pick(&[
                    0, 0xff, 0x7f, 0x80, b'\n', b'"', b'-', b'9', b';', b' ', b'{', b'[',
                ]);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.u64() as u8;
            }
            3 => {
                let n = rng.small(32);
                let fill: Vec<u8> = (0..n).map(|_| rng.u64() as u8).collect();
                v.splice(pos..pos, fill);
            }
            4 if !v.is_empty() => {
                let end = (pos + 1 + rng.small(64)).min(v.len());
                let start = pos.min(end.saturating_sub(1));
                v.drain(start..end);
            }
            5 if !v.is_empty() => {
                // Repeat a range, sometimes many times over.
                let start = rng.below(v.len());
                let end = (start + 1 + rng.small(256)).min(v.len());
                let times = 1 + rng.small(64);
                let piece = v[start..end].repeat(times);
                v.splice(end..end, piece);
            }
            6 | 7 if !tokens.is_empty() => {
                let t = rng.pick(tokens).as_bytes().to_vec();
                if rng.chance(0.5) || v.is_empty() {
                    v.splice(pos..pos, t);
                } else {
                    let end = (pos + t.len()).min(v.len());
                    v.splice(pos.min(end)..end, t);
                }
            }
            8 => {
                // Replace a run of digits (or insert) with an interesting number.
                let n = number(rng).into_bytes();
                let start = (pos..v.len()).find(|&i| v[i].is_ascii_digit());
                match start {
                    Some(s) => {
                        let e = (s..v.len())
                            .find(|&i| !(v[i].is_ascii_digit() || v[i] == b'.'))
                            .unwrap_or(v.len());
                        v.splice(s..e, n);
                    }
                    None => {
                        v.splice(pos..pos, n);
                    }
                }
            }
            9 if !other.is_empty() => {
                let start = rng.below(other.len());
                let end = (start + 1 + rng.small(1024)).min(other.len());
                v.splice(pos..pos, other[start..end].iter().copied());
            }
            10 => v.truncate(pos),
            _ => {
                let s = rng.pick(STRINGS).as_bytes().to_vec();
                v.splice(pos..pos, s);
            }
        }
        if v.len() > MAX_LEN {
            v.truncate(MAX_LEN);
        }
    }
    v
}

/// A JSON value to put in place of another.
fn json_value(rng: &mut Rng, donor: Option<&serde_json::Value>) -> JsonPiece {
    use serde_json::Value;
    match rng.below(10) {
        0..=3 => JsonPiece::Raw(number(rng)),
        4 => JsonPiece::Value(Value::String(string(rng))),
        5 => JsonPiece::Value(Value::Null),
        6 => JsonPiece::Value(Value::Bool(rng.chance(0.5))),
        7 => JsonPiece::Value(Value::Array(Vec::new())),
        8 => JsonPiece::Value(Value::Object(Default::default())),
        _ => JsonPiece::Value(donor.cloned().unwrap_or(Value::Null)),
    }
}

enum JsonPiece {
    Value(serde_json::Value),
    /// Text written as it is: numbers JSON's model cannot hold (`1e999`,
    /// `NaN`, `-0`), so the parser under test sees them.
    Raw(String),
}

/// Every node of `v`, as paths of steps from the root.
fn json_paths(v: &serde_json::Value, path: &mut Vec<JsonStep>, out: &mut Vec<Vec<JsonStep>>) {
    out.push(path.clone());
    if out.len() > 20_000 {
        return;
    }
    match v {
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(JsonStep::Index(i));
                json_paths(x, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                path.push(JsonStep::Key(k.clone()));
                json_paths(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum JsonStep {
    Key(String),
    Index(usize),
}

fn json_at<'a>(
    v: &'a mut serde_json::Value,
    path: &[JsonStep],
) -> Option<&'a mut serde_json::Value> {
    let mut v = v;
    for step in path {
        v = match step {
            JsonStep::Key(k) => v.get_mut(k)?,
            JsonStep::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

/// One to four changes to the JSON document `text` (or, for JSON lines,
/// to its objects), or `None` when it is not JSON.
pub fn json(text: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return Some(mutate_json(v, rng).into_bytes());
    }
    // JSON lines: change some of the objects, keep the rest.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let objects: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with('{'))
        .collect();
    if objects.is_empty() {
        return None;
    }
    for _ in 0..1 + rng.below(3) {
        let i = *rng.pick(&objects);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&lines[i]) {
            lines[i] = mutate_json(v, rng).replace('\n', " ");
        }
        if rng.chance(0.2) {
            let j = *rng.pick(&objects);
            let copy = lines[j].clone();
            lines.insert(rng.below(lines.len() + 1), copy);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out.into_bytes())
}

fn mutate_json(mut v: serde_json::Value, rng: &mut Rng) -> String {
    use serde_json::Value;
    let mut raws: Vec<String> = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let mut paths = Vec::new();
        json_paths(&v, &mut Vec::new(), &mut paths);
        let path = rng.pick(&paths).clone();
        let donor_path = rng.pick(&paths).clone();
        let donor = json_at(&mut v, &donor_path).map(|d| d.clone());
        let Some(node) = json_at(&mut v, &path) else {
            continue;
        };
        match rng.below(8) {
            0..=3 => match json_value(rng, donor.as_ref()) {
                JsonPiece::Value(x) => *node = x,
                JsonPiece::Raw(text) => {
                    *node = Value::String(format!("\u{1}raw{}\u{1}", raws.len()));
                    raws.push(text);
                }
            },
            4 => match node {
                // Drop a key or an element.
                Value::Object(o) if !o.is_empty() => {
                    let k = o
                        .keys()
                        .nth(rng.below(o.len()))
                        .cloned()
                        .unwrap_or_default();
                    o.remove(&k);
                }
                Value::Array(a) if !a.is_empty() => {
                    a.remove(rng.below(a.len()));
                }
                _ => *node = Value::Null,
            },
            5 => match node {
                // Repeat an element, sometimes many times.
                Value::Array(a) if !a.is_empty() => {
                    let x = a[rng.below(a.len())].clone();
                    for _ in 0..1 + rng.small(2000) {
                        a.push(x.clone());
                    }
                }
                Value::Object(o) => {
                    o.insert(string(rng), donor.unwrap_or(Value::Null));
                }
                _ => *node = Value::Array(vec![node.clone(); 1 + rng.small(8)]),
            },
            6 => {
                // Wrap it, or nest it deeply.
                let depth = if rng.chance(0.1) { 200 } else { 1 };
                for _ in 0..depth {
                    *node = Value::Array(vec![node.take()]);
                }
            }
            _ => {
                if let Value::Number(n) = node {
                    // Negate, or scale into nonsense.
                    let x = n.as_f64().unwrap_or(0.0);
                    let y = *rng.pick(&[-x, x * 1e300, x * 1e-300, x + 1.0, -1.0, 0.0]);
                    *node = serde_json::Number::from_f64(y).map_or(Value::Null, Value::Number);
                } else {
                    *node = Value::String(string(rng));
                }
            }
        }
    }
    let mut out = if rng.chance(0.5) {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    }
    .unwrap_or_default();
    for (i, raw) in raws.iter().enumerate() {
        out = out.replace(&format!("\"\\u0001raw{i}\\u0001\""), raw);
    }
    out
}

/// A TOML value to put in place of another.
fn toml_value(rng: &mut Rng, donor: Option<&toml::Value>) -> toml::Value {
    use toml::Value;
    match rng.below(10) {
        0..=1 => {
            let any = rng.u64() as i64;
            Value::Integer(*rng.pick(&[
                0,
                -1,
                1,
                i64::MAX,
                i64::MIN,
                u32::MAX as i64,
                1 << 53,
                any,
            ]))
        }
        2 => Value::Float(*rng.pick(&[
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            -0.0,
            1e308,
            -1.0,
            5e-324,
            0.5,
        ])),
        3..=6 => Value::String(string(rng)),
        7 => Value::Boolean(rng.chance(0.5)),
        8 => Value::Array(vec![
            donor.cloned().unwrap_or(Value::Integer(1));
            rng.small(8)
        ]),
        _ => donor.cloned().unwrap_or(Value::Table(Default::default())),
    }
}

fn toml_leaves(v: &toml::Value, path: &mut Vec<JsonStep>, out: &mut Vec<Vec<JsonStep>>) {
    out.push(path.clone());
    match v {
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(JsonStep::Index(i));
                toml_leaves(x, path, out);
                path.pop();
            }
        }
        toml::Value::Table(t) => {
            for (k, x) in t {
                path.push(JsonStep::Key(k.clone()));
                toml_leaves(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn toml_at<'a>(v: &'a mut toml::Value, path: &[JsonStep]) -> Option<&'a mut toml::Value> {
    let mut v = v;
    for step in path {
        v = match step {
            JsonStep::Key(k) => v.get_mut(k.as_str())?,
            JsonStep::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

/// One to four changes to the TOML document `text`: values replaced (by
/// numbers, durations, budgets, URLs and strings that parsers get wrong),
/// keys dropped, added or repeated; `None` when it is not TOML.
pub fn toml(text: &[u8], keys: &[&str], rng: &mut Rng) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let table: toml::Table = toml::from_str(text).ok()?;
    let mut v = toml::Value::Table(table);
    for _ in 0..1 + rng.below(4) {
        let mut paths = Vec::new();
        toml_leaves(&v, &mut Vec::new(), &mut paths);
        let path = rng.pick(&paths).clone();
        let donor_path = rng.pick(&paths).clone();
        let donor = toml_at(&mut v, &donor_path).map(|d| d.clone());
        let Some(node) = toml_at(&mut v, &path) else {
            continue;
        };
        match rng.below(6) {
            0..=2 if !path.is_empty() => *node = toml_value(rng, donor.as_ref()),
            3 => match node {
                toml::Value::Table(t) if !t.is_empty() => {
                    let k = t
                        .keys()
                        .nth(rng.below(t.len()))
                        .cloned()
                        .unwrap_or_default();
                    t.remove(&k);
                }
                toml::Value::Array(a) if !a.is_empty() => {
                    a.remove(rng.below(a.len()));
                }
                _ => {}
            },
            4 => match node {
                toml::Value::Table(t) => {
                    let key = if keys.is_empty() || rng.chance(0.2) {
                        string(rng)
                    } else {
                        rng.pick(keys).to_string()
                    };
                    t.insert(key, toml_value(rng, donor.as_ref()));
                }
                toml::Value::Array(a) if !a.is_empty() => {
                    let x = a[rng.below(a.len())].clone();
                    for _ in 0..1 + rng.small(100) {
                        a.push(x.clone());
                    }
                }
                _ => {}
            },
            _ => {
                if let toml::Value::String(s) = node {
                    // Keep the value, change its number or unit.
                    let mut b = bytes(s.as_bytes(), &[], STRINGS, rng);
                    b.truncate(4096);
                    *s = String::from_utf8_lossy(&b).into_owned();
                }
            }
        }
    }
    let toml::Value::Table(t) = v else {
        return None;
    };
    toml::to_string(&t).ok().map(String::into_bytes)
}
