//! Units of measurement and the quantities that carry them.
//!
//! Every number in a [`Report`](crate::report::Report) is stored in the base
//! unit of its [`Unit`]: seconds for time, bytes for sizes, a plain count,
//! events per second for rates and a fraction (0.0 to 1.0) for ratios.
//! Scaling for display happens only when a quantity is formatted.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The unit of a measurement, always in its base scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Time in seconds.
    Seconds,
    /// A size in bytes.
    Bytes,
    /// A dimensionless count of events.
    Count,
    /// Events per second.
    PerSecond,
    /// Bytes per second.
    BytesPerSecond,
    /// A fraction, where 1.0 is 100%.
    Ratio,
    /// A score or other dimensionless number that is not a count.
    Number,
}

impl Unit {
    /// Every unit, in declaration order.
    pub const ALL: [Unit; 7] = [
        Unit::Seconds,
        Unit::Bytes,
        Unit::Count,
        Unit::PerSecond,
        Unit::BytesPerSecond,
        Unit::Ratio,
        Unit::Number,
    ];

    /// The kind of quantity this unit measures, for unit checks in budgets.
    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Seconds => Dimension::Time,
            Unit::Bytes => Dimension::Size,
            Unit::Count => Dimension::Count,
            Unit::PerSecond => Dimension::Rate,
            Unit::BytesPerSecond => Dimension::Throughput,
            Unit::Ratio => Dimension::Ratio,
            Unit::Number => Dimension::Number,
        }
    }

    /// A short symbol for the base unit, as used in tables.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Bytes => "B",
            Unit::Count => "",
            Unit::PerSecond => "/s",
            Unit::BytesPerSecond => "B/s",
            Unit::Ratio => "%",
            Unit::Number => "",
        }
    }

    /// Formats `value` (in this unit's base scale) with a readable scale.
    pub fn format(self, value: f64) -> String {
        format_value(value, self)
    }
}

/// What a unit measures. Two units can be compared only within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Durations.
    Time,
    /// Sizes.
    Size,
    /// Counts.
    Count,
    /// Events per unit of time.
    Rate,
    /// Bytes per unit of time.
    Throughput,
    /// Fractions and percentages.
    Ratio,
    /// Dimensionless numbers.
    Number,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Time => "a time",
            Dimension::Size => "a size",
            Dimension::Count => "a count",
            Dimension::Rate => "a rate",
            Dimension::Throughput => "a throughput",
            Dimension::Ratio => "a ratio",
            Dimension::Number => "a number",
        })
    }
}

/// A value together with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quantity {
    /// The value, in the unit's base scale.
    pub value: f64,
    /// The unit of `value`.
    pub unit: Unit,
}

impl Quantity {
    /// A new quantity.
    pub fn new(value: f64, unit: Unit) -> Self {
        Quantity { value, unit }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_value(self.value, self.unit))
    }
}

fn format_value(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    match unit {
        Unit::Seconds => format_seconds(value),
        Unit::Bytes => format_binary(value, "B"),
        Unit::BytesPerSecond => format_binary(value, "B/s"),
        Unit::Count | Unit::Number => format_plain(value),
        Unit::PerSecond => format!("{}/s", format_plain(value)),
        Unit::Ratio => format!("{}%", sig(value * 100.0)),
    }
}

fn format_seconds(s: f64) -> String {
    let a = s.abs();
    if a == 0.0 {
        "0 s".to_string()
    } else if a < 1e-6 {
        format!("{} ns", sig(s * 1e9))
    } else if a < 1e-3 {
        format!("{} µs", sig(s * 1e6))
    } else if a < 1.0 {
        format!("{} ms", sig(s * 1e3))
    } else {
        format!("{} s", sig(s))
    }
}

fn format_binary(v: f64, suffix: &str) -> String {
    const STEPS: [&str; 5] = ["", "Ki", "Mi", "Gi", "Ti"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1024.0 && i < STEPS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{} {suffix}", format_plain(x))
    } else {
        format!("{} {}{suffix}", sig(x), STEPS[i])
    }
}

fn format_plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        sig(v)
    }
}

/// Four significant digits, without trailing zeros past the decimal point.
fn sig(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 1000.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else {
        3
    };
    crate::text::decimal(v, decimals)
}

/// The longest duration [`parse_duration`] accepts: 30 days (720h). Every
/// duration perfhub takes (a load test, a stage, a window, a benchmark's
/// measuring time) fits, and a moment that far ahead is always one the
/// clock can hold, so adding it to an `Instant` cannot overflow.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// A mean time and its standard deviation, both in the mean's scale (ns,
/// µs, ms or s, three decimals), as people compare them: `1.234 ms` and
/// `0.056 ms`.
pub fn mean_and_spread(mean: f64, sd: f64) -> (String, String) {
    let (scale, unit) = match mean.abs() {
        a if a < 1e-6 => (1e9, "ns"),
        a if a < 1e-3 => (1e6, "µs"),
        a if a < 1.0 => (1e3, "ms"),
        _ => (1.0, "s"),
    };
    (
        format!("{:.3} {unit}", mean * scale),
        format!("{:.3} {unit}", sd * scale),
    )
}

/// Parses a duration as people write one on a command line or in a file:
/// `3s`, `500ms`, `1.5m`, `250us`, `2h`, or a bare number of seconds. A
/// duration longer than [`MAX_DURATION`] is refused.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    parse_duration_at_most(s, MAX_DURATION)
}

/// Parses a duration as [`parse_duration`] does, refusing one longer than
/// `max` with a message that says the limit, such as `"2h" is longer than 1
/// hour, the most allowed here: give 1h or less`.
pub fn parse_duration_at_most(
    s: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let d = parse_any_duration(t).map_err(|e| e.unwrap_or_else(|| duration_too_long(t, max)))?;
    if d > max {
        return Err(duration_too_long(t, max));
    }
    Ok(d)
}

/// What [`parse_duration_at_most`] says of a duration `text` longer than
/// `max`.
pub fn duration_too_long(text: &str, max: std::time::Duration) -> String {
    format!(
        "{:?} is longer than {}, the most allowed here: give {} or less",
        text.trim(),
        describe_limit(max),
        limit_as_written(max)
    )
}

/// A limit in words: `30 days`, `1 hour`, `90 seconds`.
pub fn describe_limit(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if d.subsec_nanos() != 0 {
        return format_seconds(d.as_secs_f64());
    } else if s != 0 && s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s != 0 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s != 0 && s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A limit as [`parse_duration`] reads it: `720h`, `1h`, `90s`.
pub fn limit_as_written(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 {
        format!("{}ms", d.as_millis())
    } else if s != 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s != 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The duration `t` reads as, or why not: `Err(None)` when it is a
/// duration too long for a `Duration` at all.
fn parse_any_duration(t: &str) -> Result<std::time::Duration, Option<String>> {
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| Some(format!("{t:?} is not a duration (try 3s, 500ms or 2m)")))?;
    let nanos_per = match unit.trim() {
        "" | "s" => 1e9,
        "ms" => 1e6,
        "us" | "µs" => 1e3,
        "ns" => 1.0,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        other => {
            return Err(Some(format!(
                "unknown time unit {other:?} in {t:?} (use ns, us, ms, s, m or h)"
            )));
        }
    };
    // Only digits and a point come before the unit, so the value is finite
    // and not negative: the one way to fail is being too long. Counted in
    // nanoseconds and rounded, so that 0.7ms is 700µs exactly.
    let nanos = (value * nanos_per).round();
    if nanos >= u64::MAX as f64 {
        return Err(None);
    }
    Ok(std::time::Duration::from_nanos(nanos as u64))
}

/// Parses a duration as [`parse_duration_at_most`] does, but a bare number
/// is refused: where a duration is one of several numbers (a latency
/// distribution, a stall), its unit is always written.
pub fn parse_duration_with_unit(
    s: &str,
    max: std::time::Duration,
) -> Result<std::time::Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{t:?} has no unit (write a number and a unit: 500us, 5ms or 1.5s)"
        ));
    }
    parse_duration_at_most(t, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_each_unit_readably() {
        assert_eq!(Unit::Seconds.format(0.0123), "12.3 ms");
        assert_eq!(Unit::Seconds.format(1.5), "1.5 s");
        assert_eq!(Unit::Seconds.format(42e-6), "42 µs");
        assert_eq!(Unit::Seconds.format(7e-9), "7 ns");
        assert_eq!(Unit::Bytes.format(512.0), "512 B");
        assert_eq!(Unit::Bytes.format(3.0 * 1024.0 * 1024.0), "3 MiB");
        assert_eq!(Unit::Ratio.format(0.001), "0.1%");
        assert_eq!(Unit::Count.format(12.0), "12");
        assert_eq!(Unit::PerSecond.format(5000.0), "5000/s");
    }

    #[test]
    fn durations_are_exact_to_the_nanosecond() {
        use std::time::Duration;
        assert_eq!(parse_duration("0.7ms").unwrap(), Duration::from_micros(700));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        let hour = Duration::from_secs(3600);
        assert_eq!(
            parse_duration_with_unit("5ms", hour).unwrap(),
            Duration::from_millis(5)
        );
        let e = parse_duration_with_unit("5", hour).unwrap_err();
        assert!(e.contains("\"5\" has no unit"), "{e}");
        let e = parse_duration_with_unit("2h", hour).unwrap_err();
        assert!(e.contains("longer than 1 hour"), "{e}");
    }

    #[test]
    fn durations_in_every_unit_and_mistakes_named() {
        use std::time::Duration;
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration("3 parsecs")
                .unwrap_err()
                .contains("unknown time unit")
        );
    }

    #[test]
    fn durations_longer_than_the_limit_are_refused_with_the_limit() {
        use std::time::Duration;
        assert_eq!(parse_duration("720h").unwrap(), MAX_DURATION);
        assert_eq!(parse_duration("2.5m").unwrap(), Duration::from_secs(150));
        for text in [
            "720.001h",
            "9223372036854775807s",
            "18446744073709551616",
            "9999999999h",
            &"9".repeat(400),
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(
                e.contains("is longer than 30 days, the most allowed here: give 720h or less"),
                "{text}: {e}"
            );
        }
        let hour = Duration::from_secs(3600);
        assert_eq!(parse_duration_at_most("1h", hour).unwrap(), hour);
        assert_eq!(
            parse_duration_at_most("61m", hour).unwrap_err(),
            "\"61m\" is longer than 1 hour, the most allowed here: give 1h or less"
        );
        // Other mistakes keep their own message.
        assert!(
            parse_duration_at_most("-1s", hour)
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_duration_at_most("3 parsecs", hour)
                .unwrap_err()
                .contains("unknown time unit")
        );
        assert_eq!(describe_limit(Duration::from_secs(90)), "90 seconds");
        assert_eq!(describe_limit(Duration::from_secs(120)), "2 minutes");
        assert_eq!(describe_limit(Duration::from_millis(1500)), "1.5 s");
    }
}
