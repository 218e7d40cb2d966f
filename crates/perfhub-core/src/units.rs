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
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Parses a duration as people write one on a command line or in a file:
/// `3s`, `500ms`, `1.5m`, `250us`, `2h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{t:?} is not a duration (try 3s, 500ms or 2m)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown time unit {other:?} in {t:?} (use ns, us, ms, s, m or h)"
            ));
        }
    };
    std::time::Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("{t:?} is out of range"))
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
}
