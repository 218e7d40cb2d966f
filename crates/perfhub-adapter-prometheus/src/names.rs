//! Metric and label names, escaping and number formatting, per the
//! Prometheus text format 0.0.4 and OpenMetrics 1.0.

use perfhub_core::units::Unit;

/// The prefix of every metric perfhub writes.
pub const PREFIX: &str = "perfhub_";

/// Suffixes that the histogram, summary, counter and info types append to a
/// family's name: a family named with one of them would read as a part of
/// another family.
const RESERVED_SUFFIXES: [&str; 8] = [
    "_total", "_count", "_sum", "_bucket", "_created", "_info", "_gcount", "_gsum",
];

/// The name suffix (and OpenMetrics `# UNIT`) of a unit, where it has one.
pub fn unit_suffix(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::Seconds => Some("seconds"),
        Unit::Bytes => Some("bytes"),
        Unit::Ratio => Some("ratio"),
        Unit::PerSecond => Some("per_second"),
        Unit::BytesPerSecond => Some("bytes_per_second"),
        Unit::Count | Unit::Number => None,
    }
}

/// `text` with every character outside `[a-zA-Z0-9_]` replaced by `_`,
/// runs of `_` collapsed and `_` trimmed at both ends, lowercased; `fallback`
/// when nothing is left.
pub fn sanitize(text: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// The family name of a measurement of `metric` in `unit`:
/// `perfhub_<metric>_<unit suffix>`, without repeating a unit the metric's
/// name already ends with, and with `_value` after a name that would end in
/// a suffix the types reserve. Counters get their `_total` from the renderer.
pub fn family_name(metric: &str, unit: Unit) -> String {
    let mut base = sanitize(metric, "unnamed");
    // A counter's `_total` is added when rendering; a metric already named
    // `..._total` must not get two.
    if unit == Unit::Count
        && let Some(stripped) = base.strip_suffix("_total")
        && !stripped.is_empty()
    {
        base = stripped.to_string();
    }
    let mut name = format!("{PREFIX}{base}");
    match unit_suffix(unit) {
        Some(suffix) => {
            let already = base == suffix || base.ends_with(&format!("_{suffix}"));
            if !already {
                name.push('_');
                name.push_str(suffix);
            }
        }
        None => {
            if RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                name.push_str("_value");
            }
        }
    }
    name
}

/// Whether `name` is a valid label name that perfhub may set: the
/// Prometheus pattern `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the
/// reserved `__`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__")
}

/// A label name made valid: invalid characters become `_`, a leading digit
/// gets a `_` before it, and a leading `__` loses its first underscore.
pub fn sanitize_label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    while out.starts_with("__") {
        out.remove(0);
    }
    if out == "_" || out.is_empty() {
        out = "label".to_string();
    }
    out
}

/// A label value escaped for both formats: `\` as `\\`, `"` as `\"` and a
/// line feed as `\n`.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escaped: `\` and line feeds in both formats, and `"` too in
/// OpenMetrics, whose HELP is escaped like a label value.
pub fn escape_help(text: &str, openmetrics: bool) -> String {
    if openmetrics {
        return escape_label_value(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as both formats write it: the shortest decimal that
/// reads back as the same `f64`, and `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else if v == 0.0 {
        // Negative zero reads the same and looks odd.
        "0".to_string()
    } else {
        // Rust's `Display` is the shortest representation that round-trips.
        format!("{v}")
    }
}

/// The `quantile` label of a percentile key such as `p99.9`: the percent
/// moved two decimal places by string manipulation, so `p99.9` is exactly
/// `0.999` and not the nearest `f64` to `99.9 / 100`. `None` for keys that
/// are not `p` followed by a number from 0 to 100.
pub fn quantile_label(key: &str) -> Option<String> {
    let digits = key.strip_prefix('p')?;
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty()
        || int.len() > 3
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let percent: u32 = int.parse().ok()?;
    if percent > 100 || (percent == 100 && frac.bytes().any(|b| b != b'0')) {
        return None;
    }
    // Two digits of the integer part go after the decimal point.
    let padded = format!("{int:0>3}");
    let (whole, hundredths) = padded.split_at(1);
    let decimals = format!("{hundredths}{frac}");
    let decimals = decimals.trim_end_matches('0');
    Some(if decimals.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{decimals}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_unit_once_and_avoid_reserved_suffixes() {
        assert_eq!(
            family_name("wall_time", Unit::Seconds),
            "perfhub_wall_time_seconds"
        );
        assert_eq!(family_name("max_rss", Unit::Bytes), "perfhub_max_rss_bytes");
        assert_eq!(family_name("read_bytes", Unit::Bytes), "perfhub_read_bytes");
        assert_eq!(
            family_name("error_rate", Unit::Ratio),
            "perfhub_error_rate_ratio"
        );
        assert_eq!(
            family_name("throughput", Unit::PerSecond),
            "perfhub_throughput_per_second"
        );
        assert_eq!(
            family_name("instructions", Unit::Count),
            "perfhub_instructions"
        );
        assert_eq!(
            family_name("requests_total", Unit::Count),
            "perfhub_requests"
        );
        assert_eq!(
            family_name("request_count", Unit::Number),
            "perfhub_request_count_value"
        );
        assert_eq!(
            family_name("Weird name/µs (p95)", Unit::Seconds),
            "perfhub_weird_name_s_p95_seconds"
        );
        assert_eq!(family_name("", Unit::Number), "perfhub_unnamed");
        assert_eq!(family_name("🙂", Unit::Bytes), "perfhub_unnamed_bytes");
    }

    #[test]
    fn label_names_are_checked_and_repaired() {
        assert!(is_valid_label_name("env"));
        assert!(is_valid_label_name("_x1"));
        assert!(!is_valid_label_name("1x"));
        assert!(!is_valid_label_name("__name__"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
        assert_eq!(sanitize_label_name("a-b"), "a_b");
        assert_eq!(sanitize_label_name("1x"), "_1x");
        assert_eq!(sanitize_label_name("__x"), "_x");
        assert_eq!(sanitize_label_name(""), "label");
        for name in ["a-b", "1x", "__x", "", "é", "__"] {
            assert!(is_valid_label_name(&sanitize_label_name(name)), "{name}");
        }
    }

    #[test]
    fn escaping_follows_each_format() {
        assert_eq!(
            escape_label_value("a\\b\"c\nd"),
            "a\\\\b\\\"c\\nd".to_string()
        );
        assert_eq!(escape_help("say \"hi\"\\\n", false), "say \"hi\"\\\\\\n");
        assert_eq!(escape_help("say \"hi\"\\\n", true), "say \\\"hi\\\"\\\\\\n");
        assert_eq!(escape_label_value("tab\tand ünïcode"), "tab\tand ünïcode");
    }

    #[test]
    fn values_round_trip_and_specials_are_spelled_out() {
        for v in [
            0.1,
            1e-9,
            123456789.123,
            2.5e-6,
            f64::MAX,
            f64::MIN_POSITIVE,
            -3.0,
        ] {
            let text = format_value(v);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{text}"
            );
        }
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(3.0), "3");
    }

    #[test]
    fn percentile_keys_become_exact_quantiles() {
        assert_eq!(quantile_label("p50").as_deref(), Some("0.5"));
        assert_eq!(quantile_label("p90").as_deref(), Some("0.9"));
        assert_eq!(quantile_label("p99").as_deref(), Some("0.99"));
        assert_eq!(quantile_label("p99.9").as_deref(), Some("0.999"));
        assert_eq!(quantile_label("p99.99").as_deref(), Some("0.9999"));
        assert_eq!(quantile_label("p5").as_deref(), Some("0.05"));
        assert_eq!(quantile_label("p0").as_deref(), Some("0"));
        assert_eq!(quantile_label("p100").as_deref(), Some("1"));
        for bad in ["p", "p101", "p100.1", "x50", "p-1", "p5e1", "p.5", "p1000"] {
            assert_eq!(quantile_label(bad), None, "{bad}");
        }
    }
}
