//! pprof's protobuf format (`perftools.profiles.Profile`, gzip-compressed
//! on disk), as `go tool pprof`, Pyroscope and Parca read it.
//!
//! The messages below are the subset of pprof's `profile.proto` perfhub
//! reads and writes, written from the format's documentation; fields left
//! out are skipped on decode.

use std::collections::HashMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use prost::Message;

use crate::{FlameError, StackProfile, UNKNOWN_FRAME, WeightUnit};

/// The largest profile [`from_pprof`] inflates, so that a small gzip bomb
/// cannot exhaust memory.
const MAX_INFLATED: u64 = 1 << 30;

/// The two bytes every gzip stream starts with.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Clone, PartialEq, Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    /// Every string the other messages refer to by index; index 0 is "".
    /// Read as bytes so that a stray invalid UTF-8 name does not refuse
    /// the whole profile.
    #[prost(bytes = "vec", repeated, tag = "6")]
    string_table: Vec<Vec<u8>>,
    #[prost(message, optional, tag = "11")]
    period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    period: i64,
    /// String index of the preferred sample type; 0 means the last one.
    #[prost(int64, tag = "14")]
    default_sample_type: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ValueType {
    #[prost(int64, tag = "1")]
    r#type: i64,
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    /// Leaf first.
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    /// One per sample type.
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct Mapping {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "5")]
    filename: i64,
    #[prost(bool, tag = "7")]
    has_functions: bool,
}

#[derive(Clone, PartialEq, Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    mapping_id: u64,
    #[prost(uint64, tag = "3")]
    address: u64,
    /// Inlined functions first, the function they were inlined into last.
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
}

#[derive(Clone, PartialEq, Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "2")]
    name: i64,
    #[prost(int64, tag = "3")]
    system_name: i64,
}

/// The string table under construction: "" first, each string once.
#[derive(Default)]
struct Strings {
    table: Vec<Vec<u8>>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.get("");
        s
    }

    fn get(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.as_bytes().to_vec());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// The (type, unit) pprof names weights of `unit` by.
fn sample_type_names(unit: Option<WeightUnit>) -> (&'static str, &'static str) {
    match unit {
        Some(WeightUnit::Samples) | None => ("samples", "count"),
        Some(WeightUnit::Nanoseconds) => ("cpu", "nanoseconds"),
        Some(WeightUnit::Bytes) => ("space", "bytes"),
        Some(WeightUnit::Count) => ("events", "count"),
    }
}

/// Writes `profile` as a gzip-compressed pprof profile.
///
/// Each distinct frame name is one function and one location (with a
/// single line and no address), all in one mapping marked as symbolized.
/// Weights are the first sample type, named after the unit (`samples`/
/// `count`, `cpu`/`nanoseconds`, `space`/`bytes`, `events`/`count`). A
/// sampled profile with a known period also gets a second sample type,
/// `cpu`/`nanoseconds` (samples times period, what pprof shows by
/// default), and the period as `period_type`/`period`, as Go's CPU
/// profiles have. An empty stack becomes one `[unknown]` frame, because
/// pprof readers refuse samples without locations.
pub fn to_pprof(profile: &StackProfile) -> Vec<u8> {
    let mut strings = Strings::new();
    let (ty, unit) = sample_type_names(profile.unit);
    let mut sample_type = vec![ValueType {
        r#type: strings.get(ty),
        unit: strings.get(unit),
    }];
    let cpu_period = match (profile.unit, profile.period) {
        (Some(WeightUnit::Samples), Some(p)) if p > 0 => Some(p),
        _ => None,
    };
    let mut period_type = None;
    if let Some(period) = cpu_period {
        let vt = ValueType {
            r#type: strings.get("cpu"),
            unit: strings.get("nanoseconds"),
        };
        sample_type.push(vt.clone());
        period_type = Some((vt, period));
    }

    let mut ids: HashMap<&str, u64> = HashMap::new();
    let mut function = Vec::new();
    let mut location = Vec::new();
    let mut sample = Vec::with_capacity(profile.stacks.len());
    let unknown = [UNKNOWN_FRAME.to_string()];
    for (stack, &weight) in &profile.stacks {
        let frames = if stack.is_empty() {
            &unknown[..]
        } else {
            &stack[..]
        };
        let location_id = frames
            .iter()
            .rev()
            .map(|frame| {
                let name: &str = if frame.is_empty() {
                    UNKNOWN_FRAME
                } else {
                    frame
                };
                *ids.entry(name).or_insert_with(|| {
                    let id = function.len() as u64 + 1;
                    let name = strings.get(name);
                    function.push(Function {
                        id,
                        name,
                        system_name: name,
                    });
                    location.push(Location {
                        id,
                        mapping_id: 1,
                        address: 0,
                        line: vec![Line { function_id: id }],
                    });
                    id
                })
            })
            .collect();
        let weight = i64::try_from(weight).unwrap_or(i64::MAX);
        let mut value = vec![weight];
        if let Some(period) = cpu_period {
            value.push(weight.saturating_mul(i64::try_from(period).unwrap_or(i64::MAX)));
        }
        sample.push(Sample { location_id, value });
    }

    let message = Profile {
        sample_type,
        sample,
        mapping: vec![Mapping {
            id: 1,
            filename: 0,
            has_functions: true,
        }],
        location,
        function,
        string_table: strings.table,
        period: period_type
            .as_ref()
            .map_or(0, |(_, p)| i64::try_from(*p).unwrap_or(i64::MAX)),
        period_type: period_type.map(|(vt, _)| vt),
        default_sample_type: 0,
    };
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    gz.write_all(&message.encode_to_vec())
        .expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

/// Reads a pprof profile, gzip-compressed (as written to disk) or raw.
///
/// Of several sample types, the weights come from the one named by
/// `default_sample_type`; otherwise from `samples`/`count` where there is
/// one (Go's CPU profiles, and ours), which keeps the weights sample
/// counts with the period beside them; otherwise from the last one, as
/// pprof's documentation asks. Inlined frames become frames of their own.
/// Weights in micro-, milli- or whole seconds are converted to
/// nanoseconds. A location without symbols is named by its address.
pub fn from_pprof(bytes: &[u8]) -> Result<StackProfile, FlameError> {
    let inflated;
    let raw = if bytes.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        GzDecoder::new(bytes)
            .take(MAX_INFLATED + 1)
            .read_to_end(&mut out)
            .map_err(FlameError::Gzip)?;
        if out.len() as u64 > MAX_INFLATED {
            return Err(FlameError::InvalidPprof(format!(
                "more than {} MiB once decompressed",
                MAX_INFLATED >> 20
            )));
        }
        inflated = out;
        &inflated[..]
    } else {
        bytes
    };
    let p = Profile::decode(raw).map_err(|e| FlameError::PprofDecode(e.to_string()))?;
    let invalid = |what: String| FlameError::InvalidPprof(what);
    let string = |i: i64| -> Result<String, FlameError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .ok_or_else(|| invalid(format!("string index {i} is out of the string table")))
    };

    if p.sample_type.is_empty() {
        if p.sample.is_empty() {
            return Ok(StackProfile::default());
        }
        return Err(invalid("samples but no sample types".into()));
    }
    let types = p
        .sample_type
        .iter()
        .map(|vt| Ok((string(vt.r#type)?, string(vt.unit)?)))
        .collect::<Result<Vec<_>, FlameError>>()?;
    let chosen = if p.default_sample_type != 0 {
        let name = string(p.default_sample_type)?;
        types
            .iter()
            .position(|(t, _)| *t == name)
            .ok_or_else(|| invalid(format!("default sample type `{name}` is not a sample type")))?
    } else if let Some(i) = types
        .iter()
        .position(|(t, u)| t == "samples" && u == "count")
    {
        i
    } else {
        types.len() - 1
    };
    let (ty, unit_name) = &types[chosen];
    let (unit, scale) = match unit_name.as_str() {
        "count" if ty == "samples" => (Some(WeightUnit::Samples), 1),
        "count" => (Some(WeightUnit::Count), 1),
        "bytes" => (Some(WeightUnit::Bytes), 1),
        "nanoseconds" => (Some(WeightUnit::Nanoseconds), 1),
        "microseconds" => (Some(WeightUnit::Nanoseconds), 1_000),
        "milliseconds" => (Some(WeightUnit::Nanoseconds), 1_000_000),
        "seconds" => (Some(WeightUnit::Nanoseconds), 1_000_000_000),
        _ => (None, 1),
    };
    let mut profile = StackProfile {
        unit,
        ..StackProfile::default()
    };
    if unit == Some(WeightUnit::Samples) && p.period > 0 {
        let period_unit = match &p.period_type {
            Some(vt) => string(vt.unit)?,
            None => String::new(),
        };
        if period_unit == "nanoseconds" {
            profile.period = Some(p.period as u64);
        }
    }

    let functions: HashMap<u64, String> = p
        .function
        .iter()
        .map(|f| {
            let mut name = string(f.name)?;
            if name.is_empty() {
                name = string(f.system_name)?;
            }
            if name.is_empty() {
                name = UNKNOWN_FRAME.to_string();
            }
            Ok((f.id, name))
        })
        .collect::<Result<_, FlameError>>()?;
    // The frames of each location, innermost inlined function first.
    let mut locations: HashMap<u64, Vec<&str>> = HashMap::new();
    let mut unsymbolized: HashMap<u64, String> = HashMap::new();
    for loc in &p.location {
        if loc.line.is_empty() {
            let name = if loc.address == 0 {
                UNKNOWN_FRAME.to_string()
            } else {
                format!("{:#x}", loc.address)
            };
            unsymbolized.insert(loc.id, name);
            continue;
        }
        let frames = loc
            .line
            .iter()
            .map(|line| {
                functions
                    .get(&line.function_id)
                    .map(String::as_str)
                    .ok_or_else(|| {
                        invalid(format!(
                            "location {} refers to function {}, which is not in the profile",
                            loc.id, line.function_id
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        locations.insert(loc.id, frames);
    }

    for (n, s) in p.sample.iter().enumerate() {
        let value = *s.value.get(chosen).ok_or_else(|| {
            invalid(format!(
                "sample {n} has {} values for {} sample types",
                s.value.len(),
                types.len()
            ))
        })?;
        let weight = u64::try_from(value)
            .map_err(|_| invalid(format!("sample {n} has a negative value ({value})")))?
            .saturating_mul(scale);
        let mut stack = Vec::new();
        for id in &s.location_id {
            if let Some(frames) = locations.get(id) {
                stack.extend(frames.iter().map(|f| f.to_string()));
            } else if let Some(name) = unsymbolized.get(id) {
                stack.push(name.clone());
            } else {
                return Err(invalid(format!(
                    "sample {n} refers to location {id}, which is not in the profile"
                )));
            }
        }
        stack.reverse();
        profile.add(stack, weight);
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &[&str]) -> Vec<String> {
        frames.iter().map(|f| f.to_string()).collect()
    }

    fn decode(bytes: &[u8]) -> Profile {
        let mut raw = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut raw).unwrap();
        Profile::decode(&raw[..]).unwrap()
    }

    fn sample_profile() -> StackProfile {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.period = Some(10_101_010);
        p.add(stack(&["main", "work", "<Vec<T> as Drop>::drop"]), 7);
        p.add(stack(&["main", "work"]), 2);
        p.add(stack(&["main", "idle & \"wait\""]), 1);
        p
    }

    #[test]
    fn round_trips() {
        let p = sample_profile();
        let bytes = to_pprof(&p);
        assert_eq!(&bytes[..2], &GZIP_MAGIC);
        assert_eq!(from_pprof(&bytes).unwrap(), p);

        for unit in [
            WeightUnit::Bytes,
            WeightUnit::Nanoseconds,
            WeightUnit::Count,
        ] {
            let mut q = p.clone();
            q.unit = Some(unit);
            q.period = None;
            assert_eq!(from_pprof(&to_pprof(&q)).unwrap(), q, "{unit:?}");
        }
    }

    #[test]
    fn writes_the_layout_pprof_expects() {
        let msg = decode(&to_pprof(&sample_profile()));
        assert_eq!(msg.string_table[0], b"");
        let s = |i: i64| String::from_utf8(msg.string_table[i as usize].clone()).unwrap();
        let types: Vec<_> = msg
            .sample_type
            .iter()
            .map(|vt| (s(vt.r#type), s(vt.unit)))
            .collect();
        assert_eq!(
            types,
            [
                ("samples".to_string(), "count".to_string()),
                ("cpu".to_string(), "nanoseconds".to_string())
            ]
        );
        let pt = msg.period_type.as_ref().unwrap();
        assert_eq!(
            (s(pt.r#type), s(pt.unit)),
            ("cpu".into(), "nanoseconds".into())
        );
        assert_eq!(msg.period, 10_101_010);
        // Leaf first: the deepest sample ends at main.
        let deep = msg
            .sample
            .iter()
            .find(|s| s.location_id.len() == 3)
            .unwrap();
        let name_of = |loc: u64| {
            let l = msg.location.iter().find(|l| l.id == loc).unwrap();
            let f = msg
                .function
                .iter()
                .find(|f| f.id == l.line[0].function_id)
                .unwrap();
            s(f.name)
        };
        assert_eq!(name_of(deep.location_id[0]), "<Vec<T> as Drop>::drop");
        assert_eq!(name_of(deep.location_id[2]), "main");
        assert_eq!(deep.value, [7, 70_707_070]);
        // Every string once.
        let mut sorted = msg.string_table.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), msg.string_table.len());
        assert!(msg.location.iter().all(|l| l.mapping_id == 1));
        assert_eq!(msg.mapping.len(), 1);
    }

    #[test]
    fn reads_raw_protobuf_too() {
        let p = sample_profile();
        let mut raw = Vec::new();
        GzDecoder::new(&to_pprof(&p)[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(from_pprof(&raw).unwrap(), p);
    }

    /// A profile as Go writes them: inlined frames, several sample types,
    /// an unsymbolized location and a default sample type.
    fn go_like(default_sample_type: &str) -> Vec<u8> {
        let mut strings = Strings::new();
        let mut vt = |t: &str, u: &str| ValueType {
            r#type: strings.get(t),
            unit: strings.get(u),
        };
        let sample_type = vec![vt("alloc_objects", "count"), vt("alloc_space", "bytes")];
        let f = |id: u64, name: i64| Function {
            id,
            name,
            system_name: 0,
        };
        let function = vec![
            f(11, strings.get("main.main")),
            f(12, strings.get("main.caller")),
            f(13, strings.get("bytes.inlined")),
        ];
        let location = vec![
            Location {
                id: 1,
                mapping_id: 0,
                address: 0x1000,
                line: vec![Line { function_id: 11 }],
            },
            Location {
                id: 2,
                mapping_id: 0,
                address: 0x2000,
                line: vec![Line { function_id: 13 }, Line { function_id: 12 }],
            },
            Location {
                id: 3,
                mapping_id: 0,
                address: 0xdead,
                line: vec![],
            },
        ];
        let sample = vec![
            Sample {
                location_id: vec![3, 2, 1],
                value: vec![2, 4096],
            },
            Sample {
                location_id: vec![1],
                value: vec![1, 16],
            },
        ];
        let default_sample_type = if default_sample_type.is_empty() {
            0
        } else {
            strings.get(default_sample_type)
        };
        Profile {
            sample_type,
            sample,
            mapping: vec![],
            location,
            function,
            string_table: strings.table,
            period_type: None,
            period: 0,
            default_sample_type,
        }
        .encode_to_vec()
    }

    #[test]
    fn reads_inlined_frames_and_picks_the_sample_type() {
        let p = from_pprof(&go_like("")).unwrap();
        assert_eq!(p.unit, Some(WeightUnit::Bytes), "the last type by default");
        let deep = stack(&["main.main", "main.caller", "bytes.inlined", "0xdead"]);
        assert_eq!(p.stacks[&deep], 4096);
        assert_eq!(p.stacks[&stack(&["main.main"])], 16);

        let p = from_pprof(&go_like("alloc_objects")).unwrap();
        assert_eq!(p.unit, Some(WeightUnit::Count));
        assert_eq!(p.stacks[&deep], 2);
    }

    #[test]
    fn refuses_what_is_not_a_profile() {
        let e = from_pprof(b"\x1f\x8b\x08\x00garbage").unwrap_err();
        assert!(matches!(e, FlameError::Gzip(_)), "{e}");
        let e = from_pprof(&[0x0a, 0xff, 0xff]).unwrap_err();
        assert!(matches!(e, FlameError::PprofDecode(_)), "{e}");

        let mut msg = Profile::decode(&go_like("")[..]).unwrap();
        msg.sample[0].location_id.push(99);
        let e = from_pprof(&msg.encode_to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid pprof profile: sample 0 refers to location 99, which is not in the profile"
        );
        let mut msg = Profile::decode(&go_like("")[..]).unwrap();
        msg.sample[1].value[1] = -5;
        let e = from_pprof(&msg.encode_to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid pprof profile: sample 1 has a negative value (-5)"
        );
        let mut msg = Profile::decode(&go_like("")[..]).unwrap();
        msg.function[0].name = 1000;
        let e = from_pprof(&msg.encode_to_vec()).unwrap_err();
        assert!(e.to_string().contains("string index 1000"), "{e}");
    }

    #[test]
    fn an_empty_stack_becomes_unknown() {
        let mut p = StackProfile::new(WeightUnit::Count);
        p.add(vec![], 3);
        let back = from_pprof(&to_pprof(&p)).unwrap();
        assert_eq!(back.stacks[&stack(&["[unknown]"])], 3);
    }
}
