//! Latency histograms on HdrHistogram, with its encodings and interval log format.
//!
//! A [`LatencyHistogram`] records durations in nanoseconds in an auto-resizing
//! [`hdrhistogram::Histogram<u64>`] that keeps 3 significant decimal digits by
//! default, with 1 ns as the lowest discernible value. Histograms recorded
//! separately (per worker thread, per machine) are combined with
//! [`LatencyHistogram::merge`], without loss beyond the histograms' own
//! resolution.
//!
//! # Encodings
//!
//! - The V2 compressed encoding of HdrHistogram ([`LatencyHistogram::to_v2_compressed`]),
//!   readable by every HdrHistogram implementation, and its base64 form
//!   ([`LatencyHistogram::to_base64`]), which is what
//!   [`Measurement::histogram`](crate::report::Measurement::histogram) holds
//!   in a report file. In memory it holds an [`EncodedHistogram`]: that
//!   text, checked to decode when the report is read.
//! - The HdrHistogram interval log ([`write_interval_log`], [`read_interval_log`]),
//!   a text file of one histogram per time interval, as written by `jHiccup`,
//!   `wrk2` and the Java `HistogramLogWriter`. Interval timestamps and lengths
//!   are written with millisecond resolution, as the format does.
//!
//! # Limits
//!
//! - Values above [`MAX_NANOS`] (about 73 years) are recorded as [`MAX_NANOS`].
//! - The total count of a histogram never exceeds [`MAX_COUNT`] (2^63 - 1, the
//!   largest count the V2 encoding can carry): recording beyond it saturates,
//!   and merging or decoding beyond it is an error. This keeps every histogram
//!   encodable, so the encoders cannot fail.
//! - Decoding never trusts the sizes an encoded histogram claims: the deflate
//!   stream is inflated here, bounded to [`MAX_DECODED_BYTES`], and the payload
//!   length is checked against the bytes actually present before the
//!   `hdrhistogram` decoder sees them. Corrupt input is an error, never a panic
//!   or a huge allocation.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, IntervalLogWriterError, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

use crate::report::Measurement;
use crate::stats::{OutlierCounts, Summary};
use crate::units::Unit;

/// The default number of significant decimal digits a histogram keeps.
pub const DEFAULT_SIGFIG: u8 = 3;

/// The largest value recorded, in nanoseconds (`i64::MAX / 2`, about 73
/// years, the largest value an auto-resizing HdrHistogram is meant to track).
/// Larger values are recorded as this one.
pub const MAX_NANOS: u64 = (i64::MAX / 2) as u64;

/// The largest total count of a histogram: the largest count the V2 encoding
/// can carry.
pub const MAX_COUNT: u64 = i64::MAX as u64;

/// The most bytes an encoded histogram may inflate to (64 MiB). A histogram
/// of the widest range at 5 significant digits needs about 6 million counts;
/// latency histograms are usually a few kilobytes.
pub const MAX_DECODED_BYTES: usize = 64 << 20;

/// The value of one histogram count in seconds: histograms count nanoseconds.
pub const HISTOGRAM_UNIT_SECONDS: f64 = 1e-9;

/// The percentiles [`LatencyHistogram::percentile_summary`] reports, as
/// (key, quantile).
const SUMMARY_PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// The cookie of the uncompressed V2 encoding.
const V2_COOKIE: u32 = 0x1c84_9313;
/// The cookie of the compressed V2 encoding.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// The size of the header of the uncompressed V2 encoding.
const V2_HEADER_LEN: usize = 40;

/// The divisor of the "max" column of interval logs: milliseconds for
/// nanosecond histograms, as the Java `HistogramLogWriter` writes it.
const LOG_MAX_VALUE_DIVISOR: f64 = 1e6;

/// Errors creating, combining, encoding and decoding histograms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistogramError {
    /// The number of significant digits is outside what HdrHistogram supports.
    #[error("significant figures must be between 0 and 5, got {0}")]
    SignificantFigures(u8),
    /// A base64 histogram is not valid base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// Encoded histogram bytes are corrupt, truncated or of an unsupported kind.
    #[error("invalid encoded histogram: {0}")]
    Decode(String),
    /// Two histograms cannot be merged.
    #[error("cannot merge histograms: {0}")]
    Merge(String),
    /// A histogram could not be encoded.
    #[error("cannot encode histogram: {0}")]
    Encode(String),
    /// A measurement has no histogram.
    #[error("measurement \"{metric}\" has no histogram")]
    NoHistogram {
        /// The measurement's metric.
        metric: String,
    },
    /// A measurement's histogram does not count nanoseconds of a time.
    #[error(
        "measurement \"{metric}\" has a histogram in units of {histogram_unit:?} {unit:?}; expected 1e-9 seconds (nanoseconds)"
    )]
    HistogramUnit {
        /// The measurement's metric.
        metric: String,
        /// The measurement's unit.
        unit: Unit,
        /// The measurement's `histogram_unit`.
        histogram_unit: Option<f64>,
    },
    /// A line of an interval log is malformed.
    #[error("interval log line {line}: {message}")]
    IntervalLog {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// An interval log tag contains a character the format cannot hold.
    #[error("invalid interval log tag \"{0}\": tags cannot contain commas, spaces or line breaks")]
    Tag(String),
    /// An interval log start time is not a representable time since the epoch.
    #[error(
        "invalid interval log start time {0}: expected non-negative seconds since the Unix epoch"
    )]
    StartTime(f64),
    /// Writing an interval log failed.
    #[error("cannot write interval log: {0}")]
    Io(#[from] std::io::Error),
}

/// A histogram of durations, recorded in nanoseconds.
///
/// Equality compares the configuration (significant digits, lowest
/// discernible value) and the recorded counts, not the memory layout, so a
/// histogram equals its decoded copy and a histogram merged from parts equals
/// one that recorded everything directly.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.h, &other.h);
        a.sigfig() == b.sigfig()
            && a.low() == b.low()
            && a.len() == b.len()
            && a.min_nz() == b.min_nz()
            && a.max() == b.max()
            && a.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .eq(b
                    .iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value())))
    }
}

impl LatencyHistogram {
    /// An empty histogram with [`DEFAULT_SIGFIG`] significant digits.
    pub fn new() -> Self {
        Self::with_sigfig(DEFAULT_SIGFIG).expect("the default significant figures are valid")
    }

    /// An empty histogram keeping `sigfig` significant decimal digits (0 to 5).
    pub fn with_sigfig(sigfig: u8) -> Result<Self, HistogramError> {
        Histogram::new(sigfig)
            .map(|h| LatencyHistogram { h })
            .map_err(|_| HistogramError::SignificantFigures(sigfig))
    }

    /// Wraps an HdrHistogram whose values are nanoseconds, turning on
    /// auto-resizing. Fails when its total count exceeds [`MAX_COUNT`], or
    /// when it holds a value above [`MAX_NANOS`], which no recording makes.
    pub fn from_inner(mut h: Histogram<u64>) -> Result<Self, HistogramError> {
        let mut total: u64 = 0;
        for v in h.iter_recorded() {
            let lowest = h.lowest_equivalent(v.value_iterated_to());
            if lowest > MAX_NANOS {
                return Err(HistogramError::Decode(format!(
                    "it holds a value of {lowest} ns, above the largest a histogram records ({MAX_NANOS} ns, about 146 years)"
                )));
            }
            total = total
                .checked_add(v.count_at_value())
                .filter(|t| *t <= MAX_COUNT)
                .ok_or_else(|| {
                    HistogramError::Decode("total count exceeds 2^63 - 1".to_string())
                })?;
        }
        h.auto(true);
        Ok(LatencyHistogram { h })
    }

    /// The underlying HdrHistogram, in nanoseconds.
    pub fn inner(&self) -> &Histogram<u64> {
        &self.h
    }

    /// The underlying HdrHistogram, in nanoseconds.
    pub fn into_inner(self) -> Histogram<u64> {
        self.h
    }

    /// The number of significant decimal digits kept.
    pub fn sigfig(&self) -> u8 {
        self.h.sigfig()
    }

    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        self.record_n(duration_nanos(d), 1);
    }

    /// Records one value in nanoseconds.
    pub fn record_nanos(&mut self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    /// Records `count` occurrences of a value in nanoseconds. The total count
    /// saturates at [`MAX_COUNT`].
    pub fn record_n(&mut self, nanos: u64, count: u64) {
        let count = count.min(MAX_COUNT - self.h.len());
        if count == 0 {
            return;
        }
        let nanos = nanos.min(MAX_NANOS);
        if self.h.record_n(nanos, count).is_err() {
            // Cannot happen for values up to MAX_NANOS in an auto-resizing
            // histogram; record at the top of the range rather than lose it.
            let top = self.h.high();
            let _ = self.h.record_n(top, count);
        }
    }

    /// Records a value in nanoseconds, correcting for coordinated omission
    /// as HdrHistogram's `recordValueWithExpectedInterval` does.
    ///
    /// When a request that should have started every
    /// `expected_interval_nanos` took longer than that, the requests that a
    /// closed-loop load generator did not send while it waited would have seen
    /// `nanos - interval`, `nanos - 2 × interval`, ... down to `interval`:
    /// those values are back-filled. An interval of 0 records `nanos` alone.
    /// The back-fill is computed per histogram bucket, so it takes time
    /// proportional to the buckets it spans, not to `nanos / interval`, with
    /// the same result as recording each value.
    pub fn record_corrected(&mut self, nanos: u64, expected_interval_nanos: u64) {
        let value = nanos.min(MAX_NANOS);
        let interval = expected_interval_nanos;
        self.record_n(value, 1);
        if interval == 0 || value / interval < 2 {
            return;
        }
        // The missing values are value - k × interval for k = 1..=steps, all
        // at least `interval`.
        let steps = value / interval - 1;
        let last = value - interval;
        let mut cur = value - steps * interval;
        while cur <= last {
            let top = self.h.highest_equivalent(cur).min(last);
            let n = (top - cur) / interval + 1;
            self.record_n(cur, n);
            match n.checked_mul(interval).and_then(|d| cur.checked_add(d)) {
                Some(next) => cur = next,
                None => break,
            }
        }
    }

    /// Adds every count of `other` to this histogram. The result keeps this
    /// histogram's significant digits.
    pub fn merge(&mut self, other: &LatencyHistogram) -> Result<(), HistogramError> {
        match self.h.len().checked_add(other.h.len()) {
            Some(total) if total <= MAX_COUNT => {}
            _ => {
                return Err(HistogramError::Merge(
                    "the total count would exceed 2^63 - 1".to_string(),
                ));
            }
        }
        self.h
            .add(&other.h)
            .map_err(|e| HistogramError::Merge(lowercase_first(&e.to_string())))
    }

    /// Removes every recorded value, keeping the configuration.
    pub fn clear(&mut self) {
        self.h.reset();
    }

    /// The number of values recorded.
    pub fn len(&self) -> u64 {
        self.h.len()
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }

    /// The smallest value recorded, in nanoseconds (to the histogram's
    /// resolution); 0 when empty.
    pub fn min_nanos(&self) -> u64 {
        if self.is_empty() { 0 } else { self.h.min() }
    }

    /// The largest value recorded, in nanoseconds (to the histogram's
    /// resolution); 0 when empty.
    pub fn max_nanos(&self) -> u64 {
        self.h.max()
    }

    /// The mean, in nanoseconds; 0 when empty.
    pub fn mean_nanos(&self) -> f64 {
        self.h.mean()
    }

    /// The population standard deviation (as HdrHistogram computes it), in
    /// nanoseconds; 0 when empty.
    pub fn stddev_nanos(&self) -> f64 {
        self.h.stdev()
    }

    /// The smallest value recorded; zero when empty.
    pub fn min(&self) -> Duration {
        Duration::from_nanos(self.min_nanos())
    }

    /// The largest value recorded; zero when empty.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_nanos())
    }

    /// The mean, rounded to the nanosecond; zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.mean_nanos().round() as u64)
    }

    /// The population standard deviation, rounded to the nanosecond; zero
    /// when empty.
    pub fn stddev(&self) -> Duration {
        Duration::from_nanos(self.stddev_nanos().round() as u64)
    }

    /// The value at quantile `q` in nanoseconds: the highest value equivalent
    /// to the smallest recorded value with at least `q` of all values at or
    /// below it. `q` is clamped into 0 to 1 (NaN counts as 0); 0 when empty.
    pub fn value_at_quantile_nanos(&self, q: f64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        self.h.value_at_quantile(q)
    }

    /// The value at quantile `q` (0 to 1, clamped; NaN counts as 0); zero when
    /// empty. See [`value_at_quantile_nanos`](Self::value_at_quantile_nanos).
    pub fn value_at_quantile(&self, q: f64) -> Duration {
        Duration::from_nanos(self.value_at_quantile_nanos(q))
    }

    /// Summary statistics in seconds; `None` when empty.
    ///
    /// `n` is the count, `min`, `max`, `median` and the percentiles (`p50`,
    /// `p90`, `p95`, `p99`, `p99.9`) are values at quantiles as
    /// [`value_at_quantile`](Self::value_at_quantile) computes them, `stddev`
    /// is the sample standard deviation (HdrHistogram's population figure
    /// scaled by `sqrt(n / (n - 1))`), and `mad` is the weighted median of the
    /// distances of the buckets' values from the median, so exact to the
    /// histogram's resolution. There is no confidence interval of the mean and
    /// no outlier count.
    pub fn percentile_summary(&self) -> Option<Summary> {
        if self.is_empty() {
            return None;
        }
        // A value recorded at MAX_NANOS reads back as the top of its bucket,
        // which can lie above MAX_NANOS: no figure goes past what was recorded.
        let secs = |nanos: u64| nanos.min(MAX_NANOS) as f64 * HISTOGRAM_UNIT_SECONDS;
        let count = self.h.len();
        let median_nanos = self.value_at_quantile_nanos(0.5);
        let stddev = if count > 1 {
            let n = count as f64;
            self.stddev_nanos() * (n / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let percentiles: BTreeMap<String, f64> = SUMMARY_PERCENTILES
            .iter()
            .map(|(k, q)| (k.to_string(), secs(self.value_at_quantile_nanos(*q))))
            .collect();
        Some(Summary {
            n: usize::try_from(count).unwrap_or(usize::MAX),
            mean: self.mean_nanos().min(MAX_NANOS as f64) * HISTOGRAM_UNIT_SECONDS,
            stddev: stddev * HISTOGRAM_UNIT_SECONDS,
            median: secs(median_nanos),
            min: secs(self.min_nanos()),
            max: secs(self.max_nanos()),
            mad: secs(self.mad_nanos(median_nanos)),
            percentiles,
            mean_ci: None,
            outliers: OutlierCounts::default(),
            spread_unknown: false,
            mad_unknown: false,
        })
    }

    /// The median absolute deviation from `median`, to bucket resolution.
    fn mad_nanos(&self, median: u64) -> u64 {
        let mut devs: Vec<(u64, u64)> = self
            .h
            .iter_recorded()
            .map(|v| (v.value_iterated_to().abs_diff(median), v.count_at_value()))
            .collect();
        devs.sort_unstable();
        // The same rank rule as HdrHistogram's quantiles: ceil(count / 2).
        let target = self.h.len().div_ceil(2).max(1);
        let mut seen: u64 = 0;
        for (dev, count) in &devs {
            seen += count;
            if seen >= target {
                return *dev;
            }
        }
        devs.last().map_or(0, |d| d.0)
    }

    /// The histogram in HdrHistogram's V2 compressed (deflate) encoding.
    pub fn to_v2_compressed(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Every count fits the encoding (the total is at most MAX_COUNT) and
        // writing to a Vec cannot fail, so this cannot fail either.
        if let Err(e) = V2DeflateSerializer::new().serialize(&self.h, &mut out) {
            debug_assert!(false, "V2 serialization failed: {e}");
        }
        out
    }

    /// Decodes HdrHistogram's V2 compressed encoding (the uncompressed V2
    /// encoding is accepted too). Values are taken as nanoseconds.
    pub fn from_v2_compressed(bytes: &[u8]) -> Result<Self, HistogramError> {
        let decode = |m: &str| HistogramError::Decode(m.to_string());
        let cookie = read_u32(bytes, 0).ok_or_else(|| decode("too short for a histogram"))?;
        let v2: Cow<'_, [u8]> = match cookie {
            V2_COMPRESSED_COOKIE => {
                let len = read_u32(bytes, 4)
                    .ok_or_else(|| decode("truncated compressed histogram header"))?;
                let body = bytes
                    .get(8..)
                    .and_then(|b| b.get(..usize::try_from(len).ok()?))
                    .ok_or_else(|| {
                        decode(&format!(
                            "compressed payload claims {len} bytes but only {} follow",
                            bytes.len().saturating_sub(8)
                        ))
                    })?;
                Cow::Owned(
                    inflate_bounded(body, MAX_DECODED_BYTES)
                        .map_err(|e| decode(&format!("corrupt compressed payload: {e}")))?,
                )
            }
            V2_COOKIE => Cow::Borrowed(bytes),
            other => {
                return Err(decode(&format!(
                    "unknown encoding cookie {other:#010x} (expected V2 or V2 compressed)"
                )));
            }
        };
        if v2.len() < V2_HEADER_LEN {
            return Err(decode("truncated histogram header"));
        }
        if read_u32(&v2, 0) != Some(V2_COOKIE) {
            return Err(decode("compressed payload is not a V2 histogram"));
        }
        let payload_len = read_u32(&v2, 4).map_or(0, |n| n as usize);
        if payload_len > v2.len() - V2_HEADER_LEN {
            return Err(decode(&format!(
                "histogram payload claims {payload_len} bytes but only {} are present",
                v2.len() - V2_HEADER_LEN
            )));
        }
        if let Some(at) = unnegatable_count(&v2[V2_HEADER_LEN..V2_HEADER_LEN + payload_len]) {
            return Err(decode(&format!(
                "the count at payload byte {at} is -2^63, which no histogram holds"
            )));
        }
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &v2[..])
            .map_err(|e| decode(&lowercase_first(&e.to_string())))?;
        Self::from_inner(h)
    }

    /// The V2 compressed encoding in standard base64, as
    /// [`Measurement::histogram`] holds it.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_v2_compressed())
    }

    /// Decodes [`to_base64`](Self::to_base64)'s output (surrounding whitespace
    /// is ignored).
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        let bytes = BASE64.decode(text.trim()).map_err(HistogramError::Base64)?;
        Self::from_v2_compressed(&bytes)
    }

    /// A measurement of `metric` in seconds holding this histogram (base64,
    /// with `histogram_unit` 1e-9) and its
    /// [`percentile_summary`](Self::percentile_summary), without raw samples.
    pub fn to_measurement(&self, metric: &str) -> Measurement {
        Measurement {
            metric: metric.to_string(),
            unit: Unit::Seconds,
            samples: Vec::new(),
            value: None,
            summary: self.percentile_summary(),
            histogram: Some(EncodedHistogram::new(self)),
            histogram_unit: Some(HISTOGRAM_UNIT_SECONDS),
            // A histogram of times: shorter is better.
            better: Some(crate::report::Better::Lower),
        }
    }

    /// The histogram of a measurement written by
    /// [`to_measurement`](Self::to_measurement):
    /// [`Measurement::latency_histogram`].
    pub fn from_measurement(m: &Measurement) -> Result<Self, HistogramError> {
        m.latency_histogram()
    }
}

/// A histogram as [`Measurement::histogram`] holds it: its base64 V2
/// compressed text, checked to decode when the measurement is made or its
/// report read, and written back as it was, so a report read and written
/// again keeps its bytes.
///
/// It keeps the text rather than the decoded histogram because a decoded
/// histogram takes a hundred times the memory (its buckets up to the
/// largest value), too much to hold for every benchmark of a large report
/// at once; [`EncodedHistogram::histogram`] decodes it, which cannot fail.
///
/// Deserializing refuses text that does not decode, with the
/// [`HistogramError`]'s message. Equality compares the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedHistogram {
    base64: String,
}

impl EncodedHistogram {
    /// Encodes `histogram` ([`LatencyHistogram::to_base64`]).
    pub fn new(histogram: &LatencyHistogram) -> Self {
        EncodedHistogram {
            base64: histogram.to_base64(),
        }
    }

    /// Checks that `text` decodes ([`LatencyHistogram::from_base64`]) and
    /// keeps it as given.
    pub fn from_base64(text: &str) -> Result<Self, HistogramError> {
        LatencyHistogram::from_base64(text)?;
        Ok(EncodedHistogram {
            base64: text.to_string(),
        })
    }

    /// The histogram, decoded.
    pub fn histogram(&self) -> LatencyHistogram {
        LatencyHistogram::from_base64(&self.base64)
            .expect("an EncodedHistogram holds only text that decodes")
    }

    /// The base64 text it was read from or encoded to.
    pub fn as_base64(&self) -> &str {
        &self.base64
    }
}

impl From<&LatencyHistogram> for EncodedHistogram {
    fn from(histogram: &LatencyHistogram) -> Self {
        EncodedHistogram::new(histogram)
    }
}

impl serde::Serialize for EncodedHistogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.base64)
    }
}

impl<'de> serde::Deserialize<'de> for EncodedHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EncodedHistogram;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HdrHistogram in the V2 compressed encoding, base64")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<EncodedHistogram, E> {
                EncodedHistogram::from_base64(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl Extend<Duration> for LatencyHistogram {
    fn extend<I: IntoIterator<Item = Duration>>(&mut self, iter: I) {
        for d in iter {
            self.record(d);
        }
    }
}

impl FromIterator<Duration> for LatencyHistogram {
    fn from_iter<I: IntoIterator<Item = Duration>>(iter: I) -> Self {
        let mut h = LatencyHistogram::new();
        h.extend(iter);
        h
    }
}

/// One histogram of an interval log: what was recorded during one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalEntry {
    /// The interval's tag, if any (no commas, spaces or line breaks).
    pub tag: Option<String>,
    /// When the interval started, from the log's start time (see
    /// [`write_interval_log`]). Millisecond resolution in the log.
    pub start_offset: Duration,
    /// How long the interval lasted. Millisecond resolution in the log.
    pub duration: Duration,
    /// The values recorded during the interval.
    pub histogram: LatencyHistogram,
}

/// A parsed interval log.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalLog {
    /// The log's first `StartTime` header, in seconds since the Unix epoch.
    pub start_time: Option<f64>,
    /// The interval histograms, in the order of the log.
    pub entries: Vec<IntervalEntry>,
}

/// Writes `entries` as an HdrHistogram interval log (format version 1.3).
///
/// With a `start_time` (seconds since the Unix epoch), the log gets
/// `StartTime` and `BaseTime` headers of that time, and each interval's
/// timestamp is its `start_offset` from it. Without one, each timestamp is
/// the `start_offset` as it is, which readers of the format take as seconds
/// since the epoch. The "max" column is in milliseconds, as the Java
/// implementation writes it. Times are written with millisecond resolution.
pub fn write_interval_log<W: Write>(
    mut w: W,
    entries: &[IntervalEntry],
    start_time: Option<f64>,
) -> Result<(), HistogramError> {
    let tags = entries
        .iter()
        .map(|e| match &e.tag {
            None => Ok(None),
            Some(t) => Tag::new(t)
                .filter(|_| !t.is_empty())
                .map(Some)
                .ok_or_else(|| HistogramError::Tag(t.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(concat!(
            "[Logged with perfhub ",
            env!("CARGO_PKG_VERSION"),
            "]"
        ))
        .add_comment("[Histogram log format version 1.3]")
        .with_max_value_divisor(LOG_MAX_VALUE_DIVISOR);
    if let Some(st) = start_time {
        let time = Duration::try_from_secs_f64(st)
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_add(d))
            .ok_or(HistogramError::StartTime(st))?;
        builder.with_start_time(time).with_base_time(time);
    }
    let mut serializer = V2DeflateSerializer::new();
    let mut log = builder.begin_log_with(&mut w, &mut serializer)?;
    for (entry, tag) in entries.iter().zip(tags) {
        log.write_histogram(&entry.histogram.h, entry.start_offset, entry.duration, tag)
            .map_err(|e| match e {
                IntervalLogWriterError::IoError(e) => HistogramError::Io(e),
                IntervalLogWriterError::SerializeError(e) => {
                    HistogramError::Encode(lowercase_first(&e.to_string()))
                }
            })?;
    }
    drop(log);
    w.flush()?;
    Ok(())
}

/// Reads the interval histograms of an HdrHistogram interval log.
///
/// See [`parse_interval_log`] for how timestamps are read.
pub fn read_interval_log(text: &[u8]) -> Result<Vec<IntervalEntry>, HistogramError> {
    parse_interval_log(text).map(|log| log.entries)
}

/// Parses an HdrHistogram interval log, with its start time.
///
/// Comments, the CSV legend line and blank lines are skipped; any other line
/// must be a `StartTime` or `BaseTime` header or an interval histogram, or
/// the log is rejected with the line's number. Each entry's `start_offset` is
/// its time from the log's `StartTime` (or from its `BaseTime` when there is
/// no `StartTime`, or from the epoch when there is neither; an interval
/// before that time gets an offset of zero). As in the Java reader, interval
/// timestamps are taken as offsets from `BaseTime` when there is one, and
/// otherwise, with a `StartTime`, as offsets from it when they are more than
/// a year smaller than it and as times since the epoch when not.
pub fn parse_interval_log(text: &[u8]) -> Result<IntervalLog, HistogramError> {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    let mut start_time: Option<Duration> = None;
    let mut base_time: Option<Duration> = None;
    let mut first_start_time: Option<f64> = None;
    let mut entries = Vec::new();
    let mut line_buf = Vec::new();
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let err = |message: String| HistogramError::IntervalLog {
            line: line_no,
            message,
        };
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        line_buf.clear();
        line_buf.extend_from_slice(line);
        line_buf.push(b'\n');
        let entry = match IntervalLogIterator::new(&line_buf).next() {
            None => continue, // a comment or the legend
            Some(Err(_)) => return Err(err(diagnose_log_line(line))),
            Some(Ok(entry)) => entry,
        };
        match entry {
            LogEntry::StartTime(t) => {
                start_time = Some(t);
                first_start_time.get_or_insert(t.as_secs_f64());
            }
            LogEntry::BaseTime(t) => base_time = Some(t),
            LogEntry::Interval(ilh) => {
                let histogram = LatencyHistogram::from_base64(ilh.encoded_histogram())
                    .map_err(|e| err(format!("invalid histogram: {e}")))?;
                let ts = ilh.start_timestamp();
                let base = match (base_time, start_time) {
                    (Some(b), _) => b,
                    (None, Some(s)) if ts.checked_add(YEAR).is_some_and(|t| t < s) => s,
                    _ => Duration::ZERO,
                };
                let absolute = base
                    .checked_add(ts)
                    .ok_or_else(|| err("interval timestamp is out of range".to_string()))?;
                let origin = start_time.or(base_time).unwrap_or(Duration::ZERO);
                entries.push(IntervalEntry {
                    tag: ilh.tag().map(|t| t.as_str().to_string()),
                    start_offset: absolute.saturating_sub(origin),
                    duration: ilh.duration(),
                    histogram,
                });
            }
        }
    }
    Ok(IntervalLog {
        start_time: first_start_time,
        entries,
    })
}

/// Says what is wrong with a line the interval log parser refused.
fn diagnose_log_line(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let shown: String = text.chars().take(60).collect();
    let ellipsis = if shown.len() < text.len() { "..." } else { "" };
    let mut fields: Vec<&str> = text.split(',').collect();
    if fields.first().is_some_and(|f| f.starts_with("Tag=")) {
        fields.remove(0);
    }
    let is_time = |s: &str| {
        s.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
    };
    let problem = if fields.len() != 4 {
        format!(
            "expected a comment or an interval histogram \
             ([Tag=<tag>,]<start>,<length>,<max>,<histogram>), found {} comma-separated field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        )
    } else if !is_time(fields[0]) {
        format!("invalid interval start timestamp \"{}\"", fields[0])
    } else if !is_time(fields[1]) {
        format!("invalid interval length \"{}\"", fields[1])
    } else if fields[2].parse::<f64>().is_err() {
        format!("invalid interval max \"{}\"", fields[2])
    } else {
        "malformed interval histogram line".to_string()
    };
    format!("{problem}: \"{shown}{ellipsis}\"")
}

/// Inflates a zlib stream, refusing to produce more than `limit` bytes: the
/// length a payload claims is never trusted for an allocation.
fn inflate_bounded(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| lowercase_first(&e.to_string()))?;
    if out.len() > limit {
        return Err(format!("it inflates to more than {limit} bytes"));
    }
    Ok(out)
}

/// Where the V2 payload `counts` holds the count -2^63 (the zigzag
/// encoding of `u64::MAX`), if it does: `hdrhistogram` negates a negative
/// count (a run of zeros) without a check, so that one overflows (a panic
/// with overflow checks, a wrong run without). Varints are read as
/// `hdrhistogram` reads them: 7 bits a byte, the ninth byte whole.
fn unnegatable_count(counts: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < counts.len() {
        let start = at;
        let mut value: u64 = 0;
        for i in 0..9 {
            let &b = counts.get(at)?;
            at += 1;
            if i == 8 {
                value |= u64::from(b) << 56;
                break;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        if value == u64::MAX {
            return Some(start);
        }
    }
    None
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `hdrhistogram`'s messages start with a capital and some end with a period.
fn lowercase_first(s: &str) -> String {
    let s = s.trim_end_matches('.');
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl fmt::Display for LatencyHistogram {
    /// A one-line summary: count, min, p50, p99 and max.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |nanos: u64| Unit::Seconds.format(nanos as f64 * HISTOGRAM_UNIT_SECONDS);
        write!(
            f,
            "n={} min={} p50={} p99={} max={}",
            self.len(),
            s(self.min_nanos()),
            s(self.value_at_quantile_nanos(0.5)),
            s(self.value_at_quantile_nanos(0.99)),
            s(self.max_nanos())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An uncompressed V2 histogram (1 ns to 2^62 ns, 3 digits) whose
    /// payload is `counts`.
    fn v2_with_payload(counts: &[u8]) -> Vec<u8> {
        let mut v = V2_COOKIE.to_be_bytes().to_vec();
        v.extend_from_slice(&(counts.len() as u32).to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&3u32.to_be_bytes());
        v.extend_from_slice(&1u64.to_be_bytes());
        v.extend_from_slice(&(1u64 << 62).to_be_bytes());
        v.extend_from_slice(&1.0f64.to_be_bytes());
        v.extend_from_slice(counts);
        v
    }

    #[test]
    fn a_count_of_minus_2_pow_63_is_refused_not_negated() {
        // Found by the fuzz target `histogram`: hdrhistogram negated it
        // and overflowed.
        let mut counts = vec![0x02, 0x04];
        counts.extend_from_slice(&[0xff; 9]);
        counts.push(0x02);
        let e = LatencyHistogram::from_v2_compressed(&v2_with_payload(&counts)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid encoded histogram: the count at payload byte 2 is -2^63, which no histogram holds"
        );
        // The counts before it decode.
        let h = LatencyHistogram::from_v2_compressed(&v2_with_payload(&counts[..2])).unwrap();
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn a_value_above_max_nanos_is_refused_and_a_clamped_one_stays_within_it() {
        // Found by the fuzz target `histogram`: a decoded value of 152
        // years gave a summary that Measurement::check_values refuses.
        let mut raw: Histogram<u64> = Histogram::new(3).unwrap();
        raw.auto(true);
        raw.record(MAX_NANOS * 2).unwrap();
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&raw, &mut bytes)
            .unwrap();
        let e = LatencyHistogram::from_v2_compressed(&bytes).unwrap_err();
        assert!(
            e.to_string()
                .contains("above the largest a histogram records"),
            "{e}"
        );

        let mut h = LatencyHistogram::new();
        h.record_nanos(u64::MAX);
        let m = h.to_measurement("latency");
        m.check_values().unwrap();
        let back = LatencyHistogram::from_v2_compressed(&h.to_v2_compressed()).unwrap();
        assert_eq!(back, h);
    }

    use rand::{Rng as _, SeedableRng as _};

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(7)
    }

    /// Latency-like values over several orders of magnitude.
    fn random_histogram(n: usize, seed: u64) -> LatencyHistogram {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut h = LatencyHistogram::new();
        for _ in 0..n {
            let exp: f64 = r.random_range(2.0..9.0);
            h.record_nanos(10f64.powf(exp) as u64);
        }
        h
    }

    /// Every (value, count) pair recorded.
    fn counts(h: &LatencyHistogram) -> Vec<(u64, u64)> {
        h.inner()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn records_and_reports_statistics() {
        let mut h = LatencyHistogram::new();
        assert!(h.is_empty());
        assert_eq!(h.value_at_quantile(0.5), Duration::ZERO);
        assert_eq!(h.percentile_summary(), None);
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.len(), 100);
        assert!(!h.is_empty());
        let close = |d: Duration, ms: f64| (d.as_secs_f64() * 1e3 - ms).abs() <= ms * 1e-3;
        assert!(close(h.min(), 1.0), "{:?}", h.min());
        assert!(close(h.max(), 100.0), "{:?}", h.max());
        assert!(close(h.mean(), 50.5), "{:?}", h.mean());
        assert!(close(h.value_at_quantile(0.5), 50.0));
        assert!(close(h.value_at_quantile(0.99), 99.0));
        assert_eq!(h.value_at_quantile(7.0), h.max());
        assert_eq!(h.value_at_quantile(f64::NAN), h.value_at_quantile(0.0));
        assert!(close(h.value_at_quantile(-1.0), 1.0));
        // population stddev of 1..=100 ms is 28.866 ms
        assert!((h.stddev().as_secs_f64() * 1e3 - 28.866).abs() < 0.05);
        assert!(
            h.to_string().starts_with("n=100 min=999.9 µs p50=50 ms"),
            "{h}"
        );
    }

    #[test]
    fn summary_is_in_seconds() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.percentile_summary().unwrap();
        assert_eq!(s.n, 100);
        assert!((s.mean - 0.0505).abs() < 1e-4, "{}", s.mean);
        // sample stddev of 1..=100 ms is 29.011 ms
        assert!((s.stddev - 0.029011).abs() < 5e-5, "{}", s.stddev);
        assert!((s.median - 0.050).abs() < 1e-4);
        assert!((s.min - 0.001).abs() < 1e-6);
        assert!((s.max - 0.100).abs() < 1e-4);
        // mad of 1..=100 around 50 is 25
        assert!((s.mad - 0.025).abs() < 1e-4, "{}", s.mad);
        let keys: Vec<&str> = s.percentiles.keys().map(String::as_str).collect();
        assert_eq!(keys, ["p50", "p90", "p95", "p99", "p99.9"]);
        assert!((s.percentiles["p95"] - 0.095).abs() < 1e-4);
        assert!(s.mean_ci.is_none());
    }

    #[test]
    fn sigfig_is_validated() {
        assert_eq!(LatencyHistogram::with_sigfig(5).unwrap().sigfig(), 5);
        assert_eq!(LatencyHistogram::new().sigfig(), 3);
        let err = LatencyHistogram::with_sigfig(6).unwrap_err();
        assert!(matches!(err, HistogramError::SignificantFigures(6)));
        assert_eq!(
            err.to_string(),
            "significant figures must be between 0 and 5, got 6"
        );
    }

    #[test]
    fn extreme_values_and_counts_saturate() {
        let mut h = LatencyHistogram::new();
        h.record_nanos(u64::MAX);
        h.record(Duration::MAX);
        assert_eq!(h.len(), 2);
        assert!(h.max_nanos() >= MAX_NANOS);
        h.record_n(5, u64::MAX);
        h.record_n(7, u64::MAX);
        assert_eq!(h.len(), MAX_COUNT);
        // Still encodable, and still answers quantiles.
        let back = LatencyHistogram::from_v2_compressed(&h.to_v2_compressed()).unwrap();
        assert_eq!(back, h);
        assert_eq!(h.value_at_quantile_nanos(0.5), 5);
        let err = h.clone().merge(&h).unwrap_err();
        assert!(err.to_string().contains("exceed"), "{err}");
    }

    #[test]
    fn round_trips_through_v2_compressed_and_base64() {
        for (n, seed) in [(0, 1), (1, 2), (1000, 3), (50_000, 4)] {
            let h = random_histogram(n, seed);
            let bytes = h.to_v2_compressed();
            let back = LatencyHistogram::from_v2_compressed(&bytes).unwrap();
            assert_eq!(counts(&back), counts(&h));
            assert_eq!(back, h);
            assert_eq!(back.len(), h.len());
            assert_eq!(back.min_nanos(), h.min_nanos());
            assert_eq!(back.max_nanos(), h.max_nanos());
            let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
            assert_eq!(back, h);
            // The decoder of the hdrhistogram crate reads the same bytes.
            let theirs: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
            assert_eq!(LatencyHistogram::from_inner(theirs).unwrap(), h);
        }
    }

    #[test]
    fn decoded_histograms_keep_growing() {
        let mut h = LatencyHistogram::new();
        h.record_nanos(1000);
        let mut back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        back.record(Duration::from_secs(3600));
        assert_eq!(back.len(), 2);
        assert!(back.max() >= Duration::from_secs(3599));
    }

    #[test]
    fn reads_uncompressed_v2_and_other_configurations() {
        let mut raw = Histogram::<u64>::new_with_bounds(1000, 10_000_000_000, 2).unwrap();
        raw.record(1_234_567).unwrap();
        raw.record_n(5_000_000, 3).unwrap();
        let mut bytes = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&raw, &mut bytes)
            .unwrap();
        let h = LatencyHistogram::from_v2_compressed(&bytes).unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h.sigfig(), 2);
        assert_eq!(h.inner().low(), 1000);
    }

    #[test]
    fn measurement_round_trip() {
        let h = random_histogram(2000, 9);
        let m = h.to_measurement("latency");
        assert_eq!(m.metric, "latency");
        assert_eq!(m.unit, Unit::Seconds);
        assert_eq!(m.histogram_unit, Some(1e-9));
        assert!(m.samples.is_empty() && m.value.is_none());
        assert_eq!(m.summary, h.percentile_summary());
        assert_eq!(LatencyHistogram::from_measurement(&m).unwrap(), h);

        let mut wrong = m.clone();
        wrong.histogram_unit = Some(1e-6);
        let err = LatencyHistogram::from_measurement(&wrong).unwrap_err();
        assert!(matches!(err, HistogramError::HistogramUnit { .. }), "{err}");
        let plain = Measurement::from_value("latency", Unit::Seconds, 1.0);
        let err = LatencyHistogram::from_measurement(&plain).unwrap_err();
        assert_eq!(err.to_string(), "measurement \"latency\" has no histogram");
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let mut r = rng();
        let mut all = LatencyHistogram::new();
        let mut parts = [LatencyHistogram::new(), LatencyHistogram::new()];
        // The second part sees much larger values, so merging must resize.
        for i in 0..20_000u64 {
            let part = (i % 2) as usize;
            let v = if part == 0 {
                r.random_range(1_000..1_000_000)
            } else {
                r.random_range(1_000..60_000_000_000)
            };
            all.record_nanos(v);
            parts[part].record_nanos(v);
        }
        let mut merged = parts[0].clone();
        merged.merge(&parts[1]).unwrap();
        assert_eq!(merged.len(), parts[0].len() + parts[1].len());
        assert_eq!(merged, all);
        for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                merged.value_at_quantile(q),
                all.value_at_quantile(q),
                "q={q}"
            );
        }
        assert_eq!(merged.percentile_summary(), all.percentile_summary());

        // Merging into an empty histogram, and merging an empty one.
        let mut empty = LatencyHistogram::new();
        empty.merge(&all).unwrap();
        assert_eq!(empty, all);
        let before = all.clone();
        all.merge(&LatencyHistogram::new()).unwrap();
        assert_eq!(all, before);
        // Across significant digits: every value still counted.
        let mut coarse = LatencyHistogram::with_sigfig(2).unwrap();
        coarse.merge(&all).unwrap();
        assert_eq!(coarse.len(), all.len());
        assert_eq!(coarse.sigfig(), 2);
    }

    #[test]
    fn corrected_recording_back_fills_like_hdrhistogram() {
        let mut h = LatencyHistogram::new();
        h.record_corrected(10, 3);
        // 10, then 7 and 4 back-filled
        assert_eq!(counts(&h), [(4, 1), (7, 1), (10, 1)]);

        let mut h = LatencyHistogram::new();
        h.record_corrected(1_000_000, 100_000);
        assert_eq!(h.len(), 10);
        assert_eq!(h.min_nanos(), h.inner().lowest_equivalent(100_000));

        // No back-fill at or below the interval, or with no interval.
        for (v, i) in [(5, 5), (9, 5), (100, 0), (0, 10)] {
            let mut h = LatencyHistogram::new();
            h.record_corrected(v, i);
            assert_eq!(h.len(), 1, "{v} {i}");
        }

        // The same counts as hdrhistogram's own one-by-one back-fill.
        let mut r = rng();
        let mut ours = LatencyHistogram::new();
        let mut theirs = Histogram::<u64>::new(3).unwrap();
        for _ in 0..200 {
            let v = r.random_range(1..50_000_000);
            let i = r.random_range(1..2_000_000);
            ours.record_corrected(v, i);
            theirs.record_correct(v, i).unwrap();
        }
        let theirs = LatencyHistogram::from_inner(theirs).unwrap();
        assert_eq!(counts(&ours), counts(&theirs));
        assert_eq!(ours, theirs);
    }

    #[test]
    fn corrected_recording_of_huge_ratios_is_fast_and_exact() {
        // 10 s at a 1 ns interval: ten billion back-filled values, counted
        // per bucket rather than one by one.
        let mut h = LatencyHistogram::new();
        h.record_corrected(10_000_000_000, 1);
        assert_eq!(h.len(), 10_000_000_000);
        assert_eq!(h.min_nanos(), 1);
        let median = h.value_at_quantile_nanos(0.5) as f64;
        assert!((median / 5e9 - 1.0).abs() < 1e-3, "{median}");
    }

    #[test]
    fn corrupt_encodings_are_errors() {
        let good = random_histogram(500, 5).to_v2_compressed();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "too short"),
            (vec![1, 2, 3, 4, 5, 6, 7, 8], "unknown encoding cookie"),
            (good[..6].to_vec(), "truncated compressed histogram header"),
            (good[..good.len() - 3].to_vec(), "only"),
            (
                {
                    let mut b = good.clone();
                    let n = b.len();
                    b[n / 2] ^= 0x55;
                    b
                },
                "corrupt compressed payload",
            ),
            (
                {
                    let mut b = good.clone();
                    let n = b.len();
                    b[n - 1] ^= 1; // the adler32 checksum
                    b
                },
                "corrupt compressed payload",
            ),
        ];
        for (bytes, expected) in cases {
            let err = LatencyHistogram::from_v2_compressed(&bytes).unwrap_err();
            assert!(matches!(err, HistogramError::Decode(_)), "{err}");
            assert!(
                err.to_string().contains(expected),
                "{err} lacks {expected:?}"
            );
        }
        let err = LatencyHistogram::from_base64("not base64!").unwrap_err();
        assert!(matches!(err, HistogramError::Base64(_)), "{err}");
    }

    #[test]
    fn lying_payload_lengths_are_refused_before_allocation() {
        // A compressed V2 histogram whose inner header claims a payload of
        // almost 4 GiB: 37 bytes that made the hdrhistogram decoder allocate
        // and zero 4 GiB before noticing the data is missing.
        let evil = [
            0x1c, 0x84, 0x93, 0x14, 0x00, 0x00, 0x00, 0x1d, 0x78, 0x9c, 0x93, 0x69, 0x99, 0x2c,
            0xfc, 0xff, 0xff, 0xff, 0x0f, 0x0c, 0x10, 0xc0, 0x0c, 0xa5, 0x19, 0x21, 0x14, 0x07,
            0x83, 0x3d, 0x54, 0x06, 0x00, 0xc1, 0xf0, 0x06, 0x6f,
        ];
        let err = LatencyHistogram::from_v2_compressed(&evil).unwrap_err();
        assert!(err.to_string().contains("claims 4294967280 bytes"), "{err}");
        // The same lie, uncompressed.
        let mut raw = vec![0x1c, 0x84, 0x93, 0x13, 0xff, 0xff, 0xff, 0xf0];
        raw.extend_from_slice(&[0; 32]);
        let err = LatencyHistogram::from_v2_compressed(&raw).unwrap_err();
        assert!(err.to_string().contains("claims"), "{err}");
    }

    #[test]
    fn random_corruption_never_panics() {
        let h = random_histogram(3000, 6);
        let mut uncompressed = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(h.inner(), &mut uncompressed)
            .unwrap();
        let mut r = rng();
        // Without the checksum of the compressed form, corruption reaches
        // the hdrhistogram decoder itself.
        for good in [h.to_v2_compressed(), uncompressed] {
            for _ in 0..500 {
                let mut b = good.clone();
                for _ in 0..r.random_range(1..4) {
                    let i = r.random_range(0..b.len());
                    b[i] = r.random();
                }
                if r.random_bool(0.2) {
                    b.truncate(r.random_range(0..b.len()));
                }
                if let Ok(h) = LatencyHistogram::from_v2_compressed(&b) {
                    let _ = (h.percentile_summary(), h.to_base64());
                }
            }
        }
    }

    #[test]
    fn inflates_stored_fixed_and_dynamic_blocks() {
        // zlib.compress(b"hello hello hello", level 0), level 1 (fixed codes);
        // dynamic codes are exercised by every larger histogram above.
        let stored = [
            0x78, 0x01, 0x01, 0x11, 0x00, 0xee, 0xff, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x68,
            0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x3a, 0x2e, 0x06, 0x7d,
        ];
        let fixed = [
            0x78, 0x01, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x3a, 0x2e,
            0x06, 0x7d,
        ];
        for data in [&stored[..], &fixed[..]] {
            assert_eq!(inflate_bounded(data, 1000).unwrap(), b"hello hello hello");
            assert!(inflate_bounded(data, 10).is_err());
        }
    }

    fn sample_entries() -> Vec<IntervalEntry> {
        (0..4)
            .map(|i| IntervalEntry {
                tag: (i % 2 == 1).then(|| format!("worker-{i}")),
                start_offset: Duration::from_millis(1000 * i + 250),
                duration: Duration::from_millis(1000),
                histogram: random_histogram(200 * i as usize, i),
            })
            .collect()
    }

    #[test]
    fn round_trips_through_the_interval_log() {
        let entries = sample_entries();
        for start in [None, Some(1_700_000_000.5)] {
            let mut buf = Vec::new();
            write_interval_log(&mut buf, &entries, start).unwrap();
            let text = String::from_utf8(buf.clone()).unwrap();
            assert!(
                text.contains("#[Histogram log format version 1.3]"),
                "{text}"
            );
            assert!(text.contains("Tag=worker-1,1.250,1.000,"), "{text}");
            let log = parse_interval_log(&buf).unwrap();
            assert_eq!(log.start_time, start);
            assert_eq!(log.entries, entries);
            assert_eq!(read_interval_log(&buf).unwrap(), entries);
        }
    }

    #[test]
    fn reads_java_style_logs() {
        let h = random_histogram(100, 11);
        let enc = h.to_base64();
        let text = format!(
            "#[Logged with jHiccup version 2.0.10]\r\n\
             #[Histogram log format version 1.3]\r\n\
             #[StartTime: 1441812123.120 (seconds since epoch), Wed Sep 09 08:22:03 PDT 2015]\r\n\
             \"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\r\n\
             0.127,1.007,2.769,{enc}\r\n\
             \r\n\
             Tag=b,1441812125.120,1.000,2.769,{enc}"
        );
        let log = parse_interval_log(text.as_bytes()).unwrap();
        assert_eq!(log.start_time, Some(1441812123.12));
        assert_eq!(log.entries.len(), 2);
        // A small timestamp with only a StartTime is an offset from it...
        assert_eq!(log.entries[0].start_offset, Duration::from_millis(127));
        assert_eq!(log.entries[0].duration, Duration::from_millis(1007));
        assert_eq!(log.entries[0].histogram, h);
        // ...and an epoch timestamp is absolute.
        assert_eq!(log.entries[1].start_offset, Duration::from_secs(2));
        assert_eq!(log.entries[1].tag.as_deref(), Some("b"));
    }

    #[test]
    fn malformed_logs_name_the_line() {
        let enc = random_histogram(10, 12).to_base64();
        let cases = [
            (
                format!("#c\n0.1,1.0,2.0,{enc}\nhello\n"),
                3,
                "found 1 comma-separated field",
            ),
            (
                format!("#c\nx.1,1.0,2.0,{enc}\n"),
                2,
                "invalid interval start timestamp \"x.1\"",
            ),
            (
                format!("0.1,1,2.0,{enc}\n"),
                1,
                "invalid interval length \"1\"",
            ),
            (format!("0.1,1.0,max,{enc}\n"), 1, "invalid interval max"),
            (
                "#c\n\n0.100,1.000,2.0,AAAA$$\n".to_string(),
                3,
                "not valid base64",
            ),
            (
                "0.100,1.000,2.0,AAAAAAAA\n".to_string(),
                1,
                "invalid encoded histogram",
            ),
        ];
        for (text, line, message) in cases {
            let err = read_interval_log(text.as_bytes()).unwrap_err();
            match &err {
                HistogramError::IntervalLog {
                    line: l,
                    message: m,
                } => {
                    assert_eq!(*l, line, "{err}");
                    assert!(m.contains(message), "{err} lacks {message:?}");
                }
                other => panic!("unexpected error {other}"),
            }
        }
    }

    #[test]
    fn writing_refuses_bad_tags_and_start_times() {
        let mut entries = sample_entries();
        entries[0].tag = Some("has space".to_string());
        let err = write_interval_log(Vec::new(), &entries, None).unwrap_err();
        assert!(matches!(err, HistogramError::Tag(_)), "{err}");
        entries[0].tag = None;
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = write_interval_log(Vec::new(), &entries, Some(bad)).unwrap_err();
            assert!(matches!(err, HistogramError::StartTime(_)), "{err}");
        }
    }

    #[test]
    fn collects_from_durations() {
        let h: LatencyHistogram = (1..=10).map(Duration::from_micros).collect();
        assert_eq!(h.len(), 10);
        assert_eq!(h.min(), Duration::from_micros(1));
    }
}
