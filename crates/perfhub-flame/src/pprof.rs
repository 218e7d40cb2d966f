//! pprof's protobuf format (`perftools.profiles.Profile`, gzip-compressed
//! on disk), as `go tool pprof`, Pyroscope and Parca read it.
//!
//! The messages below are the subset of pprof's `profile.proto` perfhub
//! reads and writes, written from the format's documentation; fields left
//! out are skipped on decode.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use prost::Message;

use crate::{FlameError, StackProfile, UNKNOWN_FRAME, WeightUnit};

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
///
/// The profile is decoded as it is decompressed, one top-level field at a
/// time, and never held whole: a string longer than a name can be
/// ([`FlameError::PprofTooLarge`]) is refused before it is read, and so is
/// a profile whose tables and stacks would take more than 512 MiB of memory,
/// or that inflates to more than 1 GiB. So a small gzip bomb costs neither
/// memory nor much time. A sample with more or fewer values than there are
/// sample types is refused, naming it.
pub fn from_pprof(bytes: &[u8]) -> Result<StackProfile, FlameError> {
    let decoded = if bytes.starts_with(&GZIP_MAGIC) {
        let inflated = GzDecoder::new(bytes).take(MAX_INFLATED + 1);
        read_fields(&mut Input {
            r: BufReader::with_capacity(64 << 10, inflated),
            pos: 0,
            gzip: true,
        })?
    } else {
        read_fields(&mut Input {
            r: bytes,
            pos: 0,
            gzip: false,
        })?
    };
    decoded.into_profile()
}

/// The largest profile [`from_pprof`] inflates, so that a small gzip bomb
/// cannot keep it busy for long.
const MAX_INFLATED: u64 = 1 << 30;

/// The longest string of the string table: symbol names, even the longest
/// generic Rust and C++ ones, stay far below it.
const MAX_STRING: u64 = 1 << 20;

/// The longest sample, location, function or value type message.
const MAX_MESSAGE: u64 = 16 << 20;

/// The most memory [`from_pprof`] lets the decoded profile take (its
/// tables, then the stacks drawn from them), estimated as it grows.
const MAX_DECODED: u64 = 512 << 20;

/// Protobuf wire types.
const VARINT: u64 = 0;
const I64: u64 = 1;
const LEN: u64 = 2;
const I32: u64 = 5;

/// A size for people: bytes, KiB or MiB.
fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn check_message_len(len: u64, what: &str) -> Result<(), FlameError> {
    if len > MAX_MESSAGE {
        return Err(FlameError::PprofTooLarge(format!(
            "a {what} is {}, more than the {} perfhub reads",
            size(len),
            size(MAX_MESSAGE)
        )));
    }
    Ok(())
}

fn truncated() -> FlameError {
    FlameError::PprofDecode("the data ends in the middle of a field".into())
}

/// The decompressed (or raw) protobuf, read front to back.
struct Input<R> {
    r: R,
    /// The bytes read so far.
    pos: u64,
    /// Whether `r` inflates gzip, whose errors are [`FlameError::Gzip`].
    gzip: bool,
}

impl<R: BufRead> Input<R> {
    fn error(&self, e: io::Error) -> FlameError {
        if self.gzip {
            FlameError::Gzip(e)
        } else {
            FlameError::PprofDecode(e.to_string())
        }
    }

    /// The next byte, or `None` at the end of the input.
    fn byte(&mut self) -> Result<Option<u8>, FlameError> {
        loop {
            match self.r.fill_buf() {
                Ok(buf) => {
                    let first = buf.first().copied();
                    if first.is_some() {
                        self.r.consume(1);
                        self.pos += 1;
                    }
                    return Ok(first);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e)),
            }
        }
    }

    /// The next varint, or `None` at the end of the input (before its
    /// first byte; an end within it is an error).
    fn varint(&mut self) -> Result<Option<u64>, FlameError> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(b) = self.byte()? else {
                return if i == 0 { Ok(None) } else { Err(truncated()) };
            };
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(FlameError::PprofDecode(
            "a varint runs on for more than 10 bytes".into(),
        ))
    }

    fn required_varint(&mut self) -> Result<u64, FlameError> {
        self.varint()?.ok_or_else(truncated)
    }

    /// Appends the next `len` bytes to `out`, which grows only as the bytes
    /// actually arrive.
    fn append(&mut self, len: u64, out: &mut Vec<u8>) -> Result<(), FlameError> {
        let got = (&mut self.r).take(len).read_to_end(out);
        let got = got.map_err(|e| self.error(e))? as u64;
        self.pos += got;
        if got < len {
            return Err(truncated());
        }
        Ok(())
    }

    fn skip(&mut self, len: u64) -> Result<(), FlameError> {
        let got = io::copy(&mut (&mut self.r).take(len), &mut io::sink());
        let got = got.map_err(|e| self.error(e))?;
        self.pos += got;
        if got < len {
            return Err(truncated());
        }
        Ok(())
    }

    /// Reads a message of `len` bytes into `scratch`.
    fn message(&mut self, len: u64, what: &str, scratch: &mut Vec<u8>) -> Result<(), FlameError> {
        check_message_len(len, what)?;
        scratch.clear();
        self.append(len, scratch)
    }
}

/// What a frame of a location is called.
#[derive(Clone, Copy)]
enum Name {
    /// An index into the string table.
    String(usize),
    /// An unsymbolized location's address.
    Address(u64),
    Unknown,
}

/// The top-level fields of a profile, with the samples still encoded.
#[derive(Default)]
struct Decoded {
    sample_type: Vec<ValueType>,
    /// Every sample as it was encoded, each behind its length as a varint:
    /// decoded one at a time once every table is in, since the tables
    /// usually come after the samples.
    samples: Vec<u8>,
    sample_count: usize,
    location: Vec<Location>,
    function: Vec<Function>,
    strings: Vec<String>,
    period_type: Option<ValueType>,
    period: i64,
    default_sample_type: i64,
    /// The memory taken so far, estimated.
    used: u64,
}

impl Decoded {
    /// Counts `bytes` more of memory, refusing a profile that needs more
    /// than [`MAX_DECODED`].
    fn charge(&mut self, bytes: u64) -> Result<(), FlameError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > MAX_DECODED {
            return Err(too_much_memory());
        }
        Ok(())
    }
}

fn too_much_memory() -> FlameError {
    FlameError::PprofTooLarge(format!(
        "its tables and stacks take more than {} of memory once decoded; keep fewer samples (such as with `go tool pprof -focus` or `-prune_from`) or split the profile",
        size(MAX_DECODED)
    ))
}

/// Decodes the top-level fields of a `Profile` message from `input`.
fn read_fields<R: BufRead>(input: &mut Input<R>) -> Result<Decoded, FlameError> {
    let decode = |e: prost::DecodeError| FlameError::PprofDecode(e.to_string());
    let mut d = Decoded::default();
    let mut scratch = Vec::new();
    while let Some(key) = input.varint()? {
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(FlameError::PprofDecode(
                "a field has number 0, which protobuf does not allow".into(),
            ));
        }
        let expected = match field {
            1..=6 | 11 => Some(LEN),
            12 | 14 => Some(VARINT),
            _ => None,
        };
        if expected.is_some_and(|w| w != wire) {
            return Err(FlameError::PprofDecode(format!(
                "field {field} has wire type {wire}, not {}",
                expected.unwrap_or_default()
            )));
        }
        match (field, wire) {
            (1, _) => {
                let len = input.required_varint()?;
                input.message(len, "sample type", &mut scratch)?;
                d.sample_type
                    .push(ValueType::decode(&scratch[..]).map_err(decode)?);
                d.charge(32)?;
            }
            (2, _) => {
                let len = input.required_varint()?;
                check_message_len(len, "sample")?;
                d.charge(len + 10)?;
                prost::encoding::encode_varint(len, &mut d.samples);
                input.append(len, &mut d.samples)?;
                d.sample_count += 1;
            }
            (4, _) => {
                let len = input.required_varint()?;
                input.message(len, "location", &mut scratch)?;
                let loc = Location::decode(&scratch[..]).map_err(decode)?;
                d.charge(160 + 24 * loc.line.len() as u64)?;
                d.location.push(loc);
            }
            (5, _) => {
                let len = input.required_varint()?;
                input.message(len, "function", &mut scratch)?;
                d.function
                    .push(Function::decode(&scratch[..]).map_err(decode)?);
                d.charge(96)?;
            }
            (6, _) => {
                let len = input.required_varint()?;
                if len > MAX_STRING {
                    return Err(FlameError::PprofTooLarge(format!(
                        "string {} of the string table is {}, more than the {} a name may have",
                        d.strings.len(),
                        size(len),
                        size(MAX_STRING)
                    )));
                }
                // Read as bytes so that a stray invalid UTF-8 name does not
                // refuse the whole profile.
                let mut bytes = Vec::with_capacity(len as usize);
                input.append(len, &mut bytes)?;
                let s = String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                d.charge(s.len() as u64 + 48)?;
                d.strings.push(s);
            }
            (11, _) => {
                let len = input.required_varint()?;
                input.message(len, "period type", &mut scratch)?;
                d.period_type
                    .get_or_insert_with(ValueType::default)
                    .merge(&scratch[..])
                    .map_err(decode)?;
            }
            (12, _) => d.period = input.required_varint()? as i64,
            (14, _) => d.default_sample_type = input.required_varint()? as i64,
            // Fields perfhub does not use (mappings, comments, times...).
            (_, VARINT) => {
                input.required_varint()?;
            }
            (_, I64) => input.skip(8)?,
            (_, LEN) => {
                let len = input.required_varint()?;
                input.skip(len)?;
            }
            (_, I32) => input.skip(4)?,
            (_, wire) => {
                return Err(FlameError::PprofDecode(format!(
                    "field {field} has wire type {wire}, which profile.proto does not use"
                )));
            }
        }
        if input.gzip && input.pos > MAX_INFLATED {
            return Err(FlameError::PprofTooLarge(format!(
                "more than {} once decompressed",
                size(MAX_INFLATED)
            )));
        }
    }
    Ok(d)
}

impl Decoded {
    fn into_profile(mut self) -> Result<StackProfile, FlameError> {
        let invalid = |what: String| FlameError::InvalidPprof(what);
        let strings = std::mem::take(&mut self.strings);
        let string = |i: i64| -> Result<&str, FlameError> {
            usize::try_from(i)
                .ok()
                .and_then(|i| strings.get(i))
                .map(String::as_str)
                .ok_or_else(|| invalid(format!("string index {i} is out of the string table")))
        };
        let string_index = |i: i64| -> Result<usize, FlameError> {
            string(i)?;
            Ok(i as usize)
        };

        if self.sample_type.is_empty() {
            if self.sample_count == 0 {
                return Ok(StackProfile::default());
            }
            return Err(invalid("samples but no sample types".into()));
        }
        let types = self
            .sample_type
            .iter()
            .map(|vt| Ok((string(vt.r#type)?, string(vt.unit)?)))
            .collect::<Result<Vec<_>, FlameError>>()?;
        let chosen = if self.default_sample_type != 0 {
            let name = string(self.default_sample_type)?;
            types.iter().position(|(t, _)| *t == name).ok_or_else(|| {
                invalid(format!("default sample type `{name}` is not a sample type"))
            })?
        } else if let Some(i) = types
            .iter()
            .position(|(t, u)| *t == "samples" && *u == "count")
        {
            i
        } else {
            types.len() - 1
        };
        let (ty, unit_name) = types[chosen];
        let (unit, scale) = match unit_name {
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
        if unit == Some(WeightUnit::Samples) && self.period > 0 {
            let period_unit = match &self.period_type {
                Some(vt) => string(vt.unit)?,
                None => "",
            };
            if period_unit == "nanoseconds" {
                profile.period = Some(self.period as u64);
            }
        }

        let mut functions: HashMap<u64, Name> = HashMap::with_capacity(self.function.len());
        for f in std::mem::take(&mut self.function) {
            let mut name = string_index(f.name)?;
            if strings[name].is_empty() {
                name = string_index(f.system_name)?;
            }
            let name = if strings[name].is_empty() {
                Name::Unknown
            } else {
                Name::String(name)
            };
            functions.insert(f.id, name);
        }
        // The frames of each location, innermost inlined function first.
        let mut locations: HashMap<u64, Vec<Name>> = HashMap::with_capacity(self.location.len());
        for loc in std::mem::take(&mut self.location) {
            if loc.line.is_empty() {
                let name = if loc.address == 0 {
                    Name::Unknown
                } else {
                    Name::Address(loc.address)
                };
                locations.insert(loc.id, vec![name]);
                continue;
            }
            let frames = loc
                .line
                .iter()
                .map(|line| {
                    functions.get(&line.function_id).copied().ok_or_else(|| {
                        invalid(format!(
                            "location {} refers to function {}, which is not in the profile",
                            loc.id, line.function_id
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            locations.insert(loc.id, frames);
        }
        drop(functions);
        let name_len = |name: &Name| match name {
            Name::String(i) => strings[*i].len(),
            Name::Address(_) => 18,
            Name::Unknown => UNKNOWN_FRAME.len(),
        };
        let name = |name: &Name| match name {
            Name::String(i) => strings[*i].clone(),
            Name::Address(a) => format!("{a:#x}"),
            Name::Unknown => UNKNOWN_FRAME.to_string(),
        };

        let samples = std::mem::take(&mut self.samples);
        let mut rest = &samples[..];
        let mut total: u64 = 0;
        for n in 0..self.sample_count {
            let len = prost::encoding::decode_varint(&mut rest)
                .map_err(|e| FlameError::PprofDecode(e.to_string()))?
                as usize;
            let (encoded, after) = rest.split_at(len);
            rest = after;
            let s = Sample::decode(encoded).map_err(|e| FlameError::PprofDecode(e.to_string()))?;
            if s.value.len() != types.len() {
                return Err(invalid(format!(
                    "sample {n} has {} value(s) for {} sample type(s); each sample needs one value per sample type",
                    s.value.len(),
                    types.len()
                )));
            }
            let value = s.value[chosen];
            let weight = u64::try_from(value)
                .map_err(|_| invalid(format!("sample {n} has a negative value ({value})")))?
                .checked_mul(scale)
                .ok_or_else(|| {
                    invalid(format!(
                        "sample {n}'s value ({value} {unit_name}) does not fit in 64 bits as nanoseconds"
                    ))
                })?;
            total = total.checked_add(weight).ok_or_else(|| {
                invalid(format!(
                    "the weights add up to more than {} by sample {n}",
                    u64::MAX
                ))
            })?;
            // What the stack would take, before it is built.
            let mut cost: u64 = 64;
            for id in &s.location_id {
                let frames = locations.get(id).ok_or_else(|| {
                    invalid(format!(
                        "sample {n} refers to location {id}, which is not in the profile"
                    ))
                })?;
                cost += frames.iter().map(|f| name_len(f) as u64 + 32).sum::<u64>();
            }
            if weight == 0 {
                continue;
            }
            if self.used.saturating_add(cost) > MAX_DECODED {
                return Err(too_much_memory());
            }
            let mut stack: Vec<String> = s
                .location_id
                .iter()
                .flat_map(|id| locations[id].iter().map(name))
                .collect();
            stack.reverse();
            if !profile.stacks.contains_key(&stack) {
                self.charge(cost)?;
            }
            profile.add(stack, weight);
        }
        Ok(profile)
    }
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
    fn refuses_samples_with_too_few_or_too_many_values() {
        for values in [vec![2], vec![2, 4096, 7]] {
            let mut msg = Profile::decode(&go_like("")[..]).unwrap();
            let n = values.len();
            msg.sample[1].value = values;
            let e = from_pprof(&msg.encode_to_vec()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid pprof profile: sample 1 has {n} value(s) for 2 sample type(s); each sample needs one value per sample type"
                )
            );
        }
    }

    #[test]
    fn refuses_weights_that_overflow() {
        let mut msg = Profile::decode(&go_like("")[..]).unwrap();
        msg.sample[0].value[1] = i64::MAX;
        msg.sample[1].value[1] = i64::MAX;
        msg.sample.push(msg.sample[0].clone());
        let e = from_pprof(&msg.encode_to_vec()).unwrap_err();
        assert!(e.to_string().contains("add up to more than"), "{e}");
    }

    #[test]
    fn refuses_an_overlong_string_before_reading_it() {
        // A string that claims 2 GiB, with only a few bytes behind it.
        let mut raw = go_like("");
        raw.push(0x32);
        prost::encoding::encode_varint(2 << 30, &mut raw);
        raw.extend_from_slice(b"abc");
        let e = from_pprof(&raw).unwrap_err();
        assert!(matches!(e, FlameError::PprofTooLarge(_)), "{e}");
        assert!(
            e.to_string()
                .contains("is 2048 MiB, more than the 1 MiB a name may have"),
            "{e}"
        );
        // One just under the limit is a name like any other.
        let mut msg = Profile::decode(&go_like("")[..]).unwrap();
        let long = "x".repeat((1 << 20) - 1);
        msg.string_table.push(long.clone().into_bytes());
        msg.function[0].name = msg.string_table.len() as i64 - 1;
        let p = from_pprof(&msg.encode_to_vec()).unwrap();
        assert_eq!(p.stacks[&vec![long]], 16);
    }

    #[test]
    fn reads_fields_in_any_order_and_skips_unknown_ones() {
        let msg = Profile::decode(&go_like("")[..]).unwrap();
        let mut raw = Vec::new();
        // Strings first, then the rest; a comment (field 13) and a
        // mapping in between are skipped.
        for s in &msg.string_table {
            prost::encoding::bytes::encode(6, s, &mut raw);
        }
        prost::encoding::int64::encode(13, &3, &mut raw);
        prost::encoding::message::encode(
            3,
            &Mapping {
                id: 1,
                filename: 1,
                has_functions: true,
            },
            &mut raw,
        );
        let rest = Profile {
            string_table: vec![],
            ..msg
        };
        raw.extend(rest.encode_to_vec());
        assert_eq!(from_pprof(&raw).unwrap(), from_pprof(&go_like("")).unwrap());
    }

    #[test]
    fn refuses_truncated_and_zero_filled_data() {
        let raw = go_like("");
        let e = from_pprof(&raw[..raw.len() - 3]).unwrap_err();
        assert!(matches!(e, FlameError::PprofDecode(_)), "{e}");
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&vec![0; 1 << 20]).unwrap();
        let e = from_pprof(&gz.finish().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a pprof profile: a field has number 0, which protobuf does not allow"
        );
    }

    #[test]
    fn an_empty_stack_becomes_unknown() {
        let mut p = StackProfile::new(WeightUnit::Count);
        p.add(vec![], 3);
        let back = from_pprof(&to_pprof(&p)).unwrap();
        assert_eq!(back.stacks[&stack(&["[unknown]"])], 3);
    }
}
