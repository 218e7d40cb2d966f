//! Stack profiles and their formats.
//!
//! A [`StackProfile`] is a set of call stacks (root first) with a weight
//! each: samples for CPU profiles, bytes or allocations for heap profiles.
//! Every perfhub profiler produces one, and every output format is written
//! from one:
//!
//! - folded stacks ([`to_folded`], [`parse_folded`]), the lingua franca of
//!   flame graph tools;
//! - flame graphs and differential flame graphs as interactive SVG
//!   ([`write_flamegraph`], [`write_diff_flamegraph`], drawn by inferno
//!   with [`FlameOptions`]);
//! - pprof's gzip-compressed protobuf ([`to_pprof`], [`from_pprof`]), for
//!   `go tool pprof`, Pyroscope and Parca;
//! - speedscope's JSON ([`to_speedscope`]).
//!
//! [`read_profile`] reads folded stacks or pprof, whichever the bytes are,
//! and [`read_profile_file`] a file of either. Every failure is a
//! [`FlameError`] (in a [`ReadFileError`] for a file).
#![deny(missing_docs)]

mod error;
mod folded;
mod pprof;
mod speedscope;
mod svg;

pub use error::{FlameError, FoldedProblem, ReadFileError};
pub use folded::{NUMBER_SIGN_REPLACEMENT, SEMICOLON_REPLACEMENT, parse_folded, to_folded};
pub use pprof::{from_pprof, to_pprof};
pub use speedscope::{SPEEDSCOPE_SCHEMA_URL, to_speedscope};
pub use svg::{FlameOptions, write_diff_flamegraph, write_flamegraph};

use std::collections::BTreeMap;

/// What the weights of a [`StackProfile`] count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightUnit {
    /// CPU samples.
    Samples,
    /// Nanoseconds of CPU time.
    Nanoseconds,
    /// Bytes (allocated, or live).
    Bytes,
    /// Allocations or other events.
    Count,
}

/// Call stacks with weights: the common form of every profile perfhub takes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StackProfile {
    /// Weight per stack; each stack lists frame names from the root (the
    /// outermost caller) to the leaf.
    pub stacks: BTreeMap<Vec<String>, u64>,
    /// What the weights count.
    pub unit: Option<WeightUnit>,
    /// The sampling period in `unit`s where the weights are samples (for
    /// example 10,101,010 ns at 99 Hz), so tools can scale them to time.
    pub period: Option<u64>,
}

impl StackProfile {
    /// An empty profile whose weights count `unit`.
    pub fn new(unit: WeightUnit) -> Self {
        StackProfile {
            stacks: BTreeMap::new(),
            unit: Some(unit),
            period: None,
        }
    }

    /// Adds `weight` to `stack` (root first).
    pub fn add(&mut self, stack: Vec<String>, weight: u64) {
        if weight > 0 {
            *self.stacks.entry(stack).or_insert(0) += weight;
        }
    }

    /// The sum of all weights.
    pub fn total(&self) -> u64 {
        self.stacks.values().sum()
    }

    /// The weight of every stack that passes through a frame whose name
    /// contains `needle` (each stack counted once).
    pub fn inclusive_weight(&self, needle: &str) -> u64 {
        self.stacks
            .iter()
            .filter(|(stack, _)| stack.iter().any(|f| f.contains(needle)))
            .map(|(_, w)| *w)
            .sum()
    }
}

/// The name written for a frame, or a whole stack, that has none.
pub const UNKNOWN_FRAME: &str = "[unknown]";

/// The formats [`read_profile`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputFormat {
    /// Folded stacks (text).
    Folded,
    /// pprof protobuf, gzip-compressed or raw.
    Pprof,
}

/// Tells folded stacks from pprof by content: gzip's magic bytes mean
/// pprof; so do control bytes, which raw protobuf is full of and text
/// never holds; anything else is folded stacks.
pub fn detect_format(bytes: &[u8]) -> InputFormat {
    if bytes.starts_with(&pprof::GZIP_MAGIC) {
        return InputFormat::Pprof;
    }
    // Control bytes other than tab and line breaks never appear in text,
    // and fill protobuf (field tags and lengths); a stray non-UTF-8
    // byte in text is left for the folded parser to report at its line.
    let head = &bytes[..bytes.len().min(4096)];
    if head
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
    {
        InputFormat::Pprof
    } else {
        InputFormat::Folded
    }
}

/// Reads a profile in any format [`detect_format`] recognizes.
pub fn read_profile(bytes: &[u8]) -> Result<StackProfile, FlameError> {
    match detect_format(bytes) {
        InputFormat::Folded => folded::parse_folded_bytes(bytes),
        InputFormat::Pprof => from_pprof(bytes),
    }
}

/// The largest profile file [`read_profile_file`] reads: 1 GiB, as much as
/// a pprof profile may inflate to, and more than any real folded stacks take.
pub const MAX_PROFILE_BYTES: u64 = 1 << 30;

/// Reads a profile file in any format [`detect_format`] recognizes, of at
/// most [`MAX_PROFILE_BYTES`] (a larger one is refused before it is read).
pub fn read_profile_file(path: &std::path::Path) -> Result<StackProfile, ReadFileError> {
    use perfhub_core::fs::{BoundedReadError, read_bounded};
    let bytes = read_bounded(path, MAX_PROFILE_BYTES).map_err(|e| match e {
        BoundedReadError::Io(source) => ReadFileError::Io {
            path: path.to_path_buf(),
            source,
        },
        BoundedReadError::TooLarge(_) => ReadFileError::TooLarge {
            path: path.to_path_buf(),
        },
    })?;
    read_profile(&bytes).map_err(|source| ReadFileError::Profile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_totals() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(vec!["main".into(), "alpha".into()], 3);
        p.add(vec!["main".into(), "beta".into()], 1);
        p.add(vec!["main".into(), "alpha".into()], 2);
        p.add(vec!["main".into()], 0);
        assert_eq!(p.total(), 6);
        assert_eq!(p.stacks.len(), 2);
        assert_eq!(p.inclusive_weight("alpha"), 5);
        assert_eq!(p.inclusive_weight("main"), 6);
    }

    #[test]
    fn detects_the_format_by_content() {
        let mut p = StackProfile::new(WeightUnit::Samples);
        p.add(vec!["main".into(), "<Vec<T> as Drop>::drop".into()], 3);
        let pprof = to_pprof(&p);
        assert_eq!(detect_format(&pprof), InputFormat::Pprof);
        assert_eq!(read_profile(&pprof).unwrap(), p);

        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&pprof[..]), &mut raw)
            .unwrap();
        assert_eq!(detect_format(&raw), InputFormat::Pprof);
        assert_eq!(read_profile(&raw).unwrap(), p);

        let folded = to_folded(&p);
        assert_eq!(detect_format(folded.as_bytes()), InputFormat::Folded);
        assert_eq!(read_profile(folded.as_bytes()).unwrap().stacks, p.stacks);
        assert_eq!(
            detect_format("日本語;関数 1\n".as_bytes()),
            InputFormat::Folded
        );
        assert_eq!(detect_format(b""), InputFormat::Folded);
        // Text with a stray bad byte is still text, refused at its line.
        let e = read_profile(b"main;a 1\nmain;\xff 2\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: not UTF-8 text");
    }
}
