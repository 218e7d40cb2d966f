//! Parameter scans: `--param n=10,100,1000` and ranges, substituted into `{n}`.

use perfhub_core::setting::ConfigError;
use std::collections::BTreeMap;

/// One scanned parameter and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamScan {
    /// The name used in `{name}` placeholders.
    pub name: String,
    /// The values, in order.
    pub values: Vec<String>,
}

/// At most this many values per parameter, to catch typos like `1..1e9`.
pub const MAX_VALUES: usize = 10_000;

/// Why a parameter specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter {spec:?}: {reason}")]
pub struct ParamError {
    /// The specification as given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
    /// The setting at fault, when the reason names one (a range's `step`).
    #[source]
    pub setting: Option<ConfigError>,
}

impl ParamScan {
    /// Parses `NAME=LIST` or `NAME=RANGE`:
    ///
    /// - a list: `n=10,100,1000` (any text values);
    /// - an integer or decimal range, both ends included: `n=1..5`;
    /// - with an additive step: `n=0..100:25`;
    /// - with a factor, for geometric scans over input sizes: `n=1000..64000:*2`.
    ///
    /// A range written in integers is counted exactly, from
    /// [`MIN_INTEGER`] (`i64::MIN`) to [`MAX_INTEGER`] (`u64::MAX`); one with
    /// a decimal point or an exponent is stepped in floats, up to 2^53 in
    /// size. Beyond those, at more than [`MAX_VALUES`] values, or with a
    /// step too small to tell values apart, the spec is refused.
    pub fn parse(spec: &str) -> Result<ParamScan, ParamError> {
        let err = |reason: String| ParamError {
            spec: spec.to_string(),
            reason,
            setting: None,
        };
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| err("expected NAME=VALUES, such as n=10,100,1000 or n=1..10".into()))?;
        let name = name.trim();
        check_name(name).map_err(err)?;
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(err("no values given".into()));
        }
        let values = if let Some((start, end_step)) = rest.split_once("..") {
            let (end, step) = match end_step.split_once(':') {
                Some((e, s)) => (e, Some(s)),
                None => (end_step, None),
            };
            range_values(start.trim(), end.trim(), step.map(str::trim)).map_err(err)?
        } else {
            let values: Vec<String> = rest.split(',').map(|v| v.trim().to_string()).collect();
            if values.iter().any(String::is_empty) {
                return Err(err("empty value in list".into()));
            }
            values
        };
        if values.len() > MAX_VALUES {
            return Err(err(format!(
                "{} values is more than the limit of {MAX_VALUES}",
                values.len()
            )));
        }
        Ok(ParamScan {
            name: name.to_string(),
            values,
        })
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "parameter name {name:?} must be letters, digits or underscores"
        ));
    }
    Ok(())
}

impl ParamScan {
    /// hyperfine's `--parameter-scan NAME MIN MAX` with an optional
    /// `--parameter-step-size STEP`: both ends included, in steps of 1 for
    /// integers; decimal ends need a step, as in hyperfine. A step written
    /// `*F` scans geometrically, as `NAME=MIN..MAX:*F` does.
    pub fn range(
        name: &str,
        min: &str,
        max: &str,
        step: Option<&str>,
    ) -> Result<ParamScan, ParamError> {
        let spec = match step {
            Some(d) => format!("{name} {min} {max} (step {d})"),
            None => format!("{name} {min} {max}"),
        };
        let err = |reason: String| ParamError {
            spec: spec.clone(),
            reason,
            setting: None,
        };
        check_name(name).map_err(err)?;
        let (min, max) = (min.trim(), max.trim());
        if step.is_none() && !(is_integer(min) && is_integer(max)) {
            let e = ConfigError::naming(&["step"], |n| {
                format!(
                    "a range with decimal ends needs a step: give one with {}, such as 0.1",
                    n[0]
                )
            });
            return Err(ParamError {
                spec: spec.clone(),
                reason: e.message.clone(),
                setting: Some(e),
            });
        }
        let values = range_values(min, max, step.map(str::trim)).map_err(err)?;
        if values.len() > MAX_VALUES {
            return Err(err(too_many(Some(values.len().to_string()))));
        }
        Ok(ParamScan {
            name: name.to_string(),
            values,
        })
    }

    /// hyperfine's `--parameter-list NAME VALUES`: the values split at
    /// commas, where `\,` is a comma within a value and `\\` a backslash.
    /// Values are kept as written, empty ones too (`,-O2` scans without
    /// and with a flag).
    pub fn list(name: &str, values: &str) -> Result<ParamScan, ParamError> {
        let err = |reason: String| ParamError {
            spec: format!("{name} {values}"),
            reason,
            setting: None,
        };
        check_name(name).map_err(err)?;
        let values = split_list(values);
        if values.len() > MAX_VALUES {
            return Err(err(too_many(Some(values.len().to_string()))));
        }
        Ok(ParamScan {
            name: name.to_string(),
            values,
        })
    }

    /// Refuses a name scanned twice, as the second would silently replace
    /// the first's values.
    pub fn check_distinct(scans: &[ParamScan]) -> Result<(), ParamError> {
        for (i, scan) in scans.iter().enumerate() {
            if scans[..i].iter().any(|s| s.name == scan.name) {
                return Err(ParamError {
                    spec: scan.name.clone(),
                    reason: format!(
                        "parameter {:?} is given twice: give each parameter once, with all its values",
                        scan.name
                    ),
                    setting: None,
                });
            }
        }
        Ok(())
    }
}

/// Splits hyperfine's comma-separated list: `\,` is a comma, `\\` a
/// backslash, any other backslash is kept.
pub fn split_list(values: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut chars = values.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '\\')) => buf.push(next),
                Some(next) => {
                    buf.push('\\');
                    buf.push(next);
                }
                None => buf.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut buf)),
            _ => buf.push(c),
        }
    }
    out.push(buf);
    out
}

/// The smallest integer a range may reach: `i64::MIN`.
pub const MIN_INTEGER: i128 = i64::MIN as i128;
/// The largest integer a range may reach: `u64::MAX`, so that both signed
/// and unsigned 64-bit arguments can be scanned.
pub const MAX_INTEGER: i128 = u64::MAX as i128;

impl ParamScan {
    /// Parses every `--param` spec; a name given twice is refused, as the
    /// second would silently replace the first's values.
    pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<Vec<ParamScan>, ParamError> {
        let mut scans: Vec<ParamScan> = Vec::with_capacity(specs.len());
        for spec in specs {
            let scan = ParamScan::parse(spec.as_ref())?;
            if scans.iter().any(|s| s.name == scan.name) {
                return Err(ParamError {
                    spec: spec.as_ref().to_string(),
                    reason: format!(
                        "parameter {:?} is given twice: give each parameter once, with all its values (such as {}=1,2,3)",
                        scan.name, scan.name
                    ),
                    setting: None,
                });
            }
            scans.push(scan);
        }
        Ok(scans)
    }
}

fn number(s: &str, what: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{what} {s:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{what} {s:?} is not a finite number"));
    }
    Ok(v)
}

/// Whether `s` is written as an integer: an optional sign, then digits.
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An integer end or step of a range, within [`MIN_INTEGER`]..=[`MAX_INTEGER`].
fn integer(s: &str, what: &str) -> Result<i128, String> {
    let out_of_range = || {
        format!(
            "{what} {s} is beyond the integers a range can count ({MIN_INTEGER} to {MAX_INTEGER}): give a smaller number, or list the values"
        )
    };
    let v: i128 = s.parse().map_err(|_| out_of_range())?;
    if !(MIN_INTEGER..=MAX_INTEGER).contains(&v) {
        return Err(out_of_range());
    }
    Ok(v)
}

fn range_values(start: &str, end: &str, step: Option<&str>) -> Result<Vec<String>, String> {
    let values = match step {
        Some(s) if s.starts_with('*') => geometric(start, end, s[1..].trim())?,
        _ if is_integer(start) && is_integer(end) && step.is_none_or(is_integer) => {
            integer_range(start, end, step)?
        }
        _ => decimal_range(start, end, step)?,
    };
    if values.is_empty() {
        return Err(format!(
            "the range {start}..{end} gives no values: give its start and end in order"
        ));
    }
    Ok(values)
}

fn too_many(count: Option<String>) -> String {
    match count {
        Some(count) => format!(
            "{count} values is more than the limit of {MAX_VALUES}: give a larger step or a smaller range"
        ),
        None => format!(
            "the range gives more than {MAX_VALUES} values, the limit: give a larger step or a smaller range"
        ),
    }
}

/// `a..b` or `a..b:d` in integers, counted exactly (no float rounding).
fn integer_range(start: &str, end: &str, step: Option<&str>) -> Result<Vec<String>, String> {
    let a = integer(start, "range start")?;
    let b = integer(end, "range end")?;
    if b < a {
        return Err(format!("range end {end} is below its start {start}"));
    }
    let d = match step {
        Some(s) => integer(s, "range step")?,
        None => 1,
    };
    if d <= 0 {
        return Err(format!("range step {d} must be greater than 0"));
    }
    // |b - a| < 2^65, so none of this overflows an i128.
    let count = (b - a) / d + 1;
    if count > MAX_VALUES as i128 {
        return Err(too_many(Some(count.to_string())));
    }
    Ok((0..count).map(|i| (a + d * i).to_string()).collect())
}

/// `a..b:*f`: a geometric scan, in integers when all three are.
fn geometric(start: &str, end: &str, factor: &str) -> Result<Vec<String>, String> {
    if is_integer(start) && is_integer(end) && is_integer(factor) {
        let a = integer(start, "range start")?;
        let b = integer(end, "range end")?;
        let f = integer(factor, "range factor")?;
        if b < a {
            return Err(format!("range end {end} is below its start {start}"));
        }
        if f <= 1 {
            return Err(format!("range factor {f} must be greater than 1"));
        }
        if a <= 0 {
            return Err("a geometric range must start above 0".into());
        }
        let mut values = Vec::new();
        let mut v = Some(a);
        // At most 64 values: each is at least twice the one before.
        while let Some(x) = v.filter(|&x| x <= b) {
            values.push(x.to_string());
            v = x.checked_mul(f);
        }
        return Ok(values);
    }
    let a = number(start, "range start")?;
    let b = number(end, "range end")?;
    let f = number(factor, "range factor")?;
    if b < a {
        return Err(format!("range end {end} is below its start {start}"));
    }
    if f <= 1.0 {
        let rounded = if f.to_string() == factor {
            String::new()
        } else {
            format!(" (as a 64-bit float it is {f})")
        };
        return Err(format!(
            "range factor {factor} must be greater than 1{rounded}"
        ));
    }
    if a <= 0.0 {
        return Err("a geometric range must start above 0".into());
    }
    let mut values = Vec::new();
    let mut v = a;
    while v <= b * (1.0 + 1e-12) {
        values.push(v);
        if values.len() > MAX_VALUES {
            return Err(too_many(None));
        }
        let next = v * f;
        if next <= v {
            // A factor so close to 1 that the float does not move.
            return Err(format!(
                "range factor {factor} is too close to 1 to step from {v}: give a larger factor"
            ));
        }
        v = next;
    }
    decimals(values, &format!("range factor *{factor}"))
}

/// `a..b` or `a..b:d` with decimals: the values as decimals, each distinct.
fn decimal_range(start: &str, end: &str, step: Option<&str>) -> Result<Vec<String>, String> {
    let a = number(start, "range start")?;
    let b = number(end, "range end")?;
    if b < a {
        return Err(format!("range end {end} is below its start {start}"));
    }
    let d = match step {
        Some(s) => number(s, "range step")?,
        None => 1.0,
    };
    if d <= 0.0 {
        return Err(format!("range step {d} must be greater than 0"));
    }
    // Counted in floats first: a count beyond usize (or infinite) must not
    // wrap around to a small one.
    let count = ((b - a) / d + 1e-9).floor() + 1.0;
    if count.is_nan() || count > MAX_VALUES as f64 {
        return Err(too_many((count < 1e15).then(|| format!("{count:.0}"))));
    }
    let values = (0..count as usize).map(|i| a + d * i as f64).collect();
    decimals(values, &format!("range step {}", step.unwrap_or("1")))
}

/// Beyond this, a float no longer holds every integer, so a decimal range
/// would print numbers other than the ones it stepped through.
const MAX_EXACT_DECIMAL: f64 = 9_007_199_254_740_992.0; // 2^53

/// The values as text, to 10 decimals without the noise of repeated
/// addition; refused when one is too large for a float to hold exactly, or
/// when two come out the same (a step below what a float can tell apart at
/// that size). `step` names the step, such as `range step 0.1`.
fn decimals(values: Vec<f64>, step: &str) -> Result<Vec<String>, String> {
    if let Some(v) = values.iter().find(|v| v.abs() > MAX_EXACT_DECIMAL) {
        return Err(format!(
            "the range reaches {v:e}, beyond 2^53, where decimals are no longer exact: write the range in integers (without a point or an exponent), or list the values"
        ));
    }
    let texts: Vec<String> = values
        .iter()
        .map(|v| perfhub_core::text::decimal(*v, 10))
        .collect();
    if let Some(w) = texts.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "{step} is too small to tell values apart near {}: give a larger one",
            w[0]
        ));
    }
    Ok(texts)
}

/// Every combination of the scans' values, the first scan varying slowest.
pub fn combinations(scans: &[ParamScan]) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for scan in scans {
        let mut next = Vec::with_capacity(out.len() * scan.values.len());
        for combo in &out {
            for v in &scan.values {
                let mut c = combo.clone();
                c.insert(scan.name.clone(), v.clone());
                next.push(c);
            }
        }
        out = next;
    }
    out
}

/// Replaces every `{name}` in `template` with its value.
pub fn substitute(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut s = template.to_string();
    for (k, v) in values {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str) -> Vec<String> {
        ParamScan::parse(spec).unwrap().values
    }

    #[test]
    fn hyperfine_scans_and_lists() {
        let r = ParamScan::range("threads", "1", "4", None).unwrap();
        assert_eq!(r.values, ["1", "2", "3", "4"]);
        let r = ParamScan::range("delay", "0.3", "0.7", Some("0.2")).unwrap();
        assert_eq!(r.values, ["0.3", "0.5", "0.7"]);
        let e = ParamScan::range("delay", "0.3", "0.7", None).unwrap_err();
        assert!(e.to_string().contains("give one with `step`"), "{e}");
        let e = ParamScan::range("n", "5", "1", None).unwrap_err();
        assert!(e.to_string().contains("below its start"), "{e}");
        let e = ParamScan::range("n-1", "1", "2", None).unwrap_err();
        assert!(e.to_string().contains("parameter name"), "{e}");

        let l = ParamScan::list("compiler", "gcc,clang").unwrap();
        assert_eq!(l.values, ["gcc", "clang"]);
        // A range in a list is one value, as in hyperfine.
        assert_eq!(ParamScan::list("v", "1..3").unwrap().values, ["1..3"]);
        assert_eq!(split_list(r"a\,b,c\\,,d\x"), ["a,b", "c\\", "", "d\\x"]);
        assert_eq!(split_list(""), [""]);

        let twice = [l.clone(), l];
        let e = ParamScan::check_distinct(&twice).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
    }

    #[test]
    fn parses_lists_and_ranges() {
        assert_eq!(values("n=10,100,1000"), ["10", "100", "1000"]);
        assert_eq!(values("n=1..4"), ["1", "2", "3", "4"]);
        assert_eq!(values("n=0..100:25"), ["0", "25", "50", "75", "100"]);
        assert_eq!(values("n=1000..8000:*2"), ["1000", "2000", "4000", "8000"]);
        assert_eq!(values("x=0.1..0.3:0.1"), ["0.1", "0.2", "0.3"]);
        assert_eq!(values("mode=fast, slow"), ["fast", "slow"]);
    }

    #[test]
    fn refuses_bad_specs_with_reasons() {
        for (spec, needle) in [
            ("n", "expected NAME=VALUES"),
            ("=1,2", "parameter name"),
            ("n=", "no values"),
            ("n=1,,2", "empty value"),
            ("n=5..1", "below its start"),
            ("n=1..x", "not a number"),
            ("n=1..10:0", "greater than 0"),
            ("n=1..10:*1", "greater than 1"),
            ("n=0..10:*2", "start above 0"),
            ("n=1..100000000", "limit"),
            // Integers beyond 64 bits, and float counts beyond usize, are
            // refused rather than wrapped.
            (
                "n=1..18446744073709551616",
                "range end 18446744073709551616 is beyond the integers a range can count (-9223372036854775808 to 18446744073709551615)",
            ),
            (
                "n=-9223372036854775809..0",
                "range start -9223372036854775809 is beyond",
            ),
            (
                "n=0..10:18446744073709551616",
                "range step 18446744073709551616 is beyond",
            ),
            (
                "n=0..18446744073709551615",
                "18446744073709551616 values is more than the limit",
            ),
            (
                "n=0..1e300:1e-300",
                "the range gives more than 10000 values, the limit",
            ),
            (
                "n=1..2:*1.000000000001",
                "the range gives more than 10000 values, the limit",
            ),
            ("n=0.5..1e300", "the range gives more than 10000 values"),
            (
                "n=0..20000.5",
                "20001 values is more than the limit of 10000",
            ),
            (
                "n=1e300..1e300",
                "beyond 2^53, where decimals are no longer exact",
            ),
            ("n=1.5..1e17:*2", "beyond 2^53"),
            (
                "n=1..1.0000000000001:0.00000000000001",
                "range step 0.00000000000001 is too small to tell values apart near 1",
            ),
            (
                "n=1..2:*1.00000000000000001",
                "range factor 1.00000000000000001 must be greater than 1 (as a 64-bit float it is 1)",
            ),
            (
                "n=1..1.0000000001:*1.00000000001",
                "range factor *1.00000000001 is too small to tell values apart near 1: give a larger one",
            ),
        ] {
            let err = ParamScan::parse(spec).unwrap_err();
            assert!(err.to_string().contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn integer_ranges_are_exact_to_64_bits() {
        assert_eq!(
            values("n=18446744073709551615..18446744073709551615"),
            ["18446744073709551615"]
        );
        assert_eq!(
            values("n=18446744073709551613..18446744073709551615"),
            [
                "18446744073709551613",
                "18446744073709551614",
                "18446744073709551615"
            ]
        );
        assert_eq!(
            values("n=-9223372036854775808..-9223372036854775807"),
            ["-9223372036854775808", "-9223372036854775807"]
        );
        assert_eq!(values("n=-2..2:2"), ["-2", "0", "2"]);
        assert_eq!(values("n=+1..3"), ["1", "2", "3"]);
        // A geometric scan stops before it would pass the end, or overflow.
        let v = values("n=1..18446744073709551615:*2");
        assert_eq!(v.len(), 64);
        assert_eq!(v[63], "9223372036854775808");
        assert_eq!(
            values("n=4611686018427387904..18446744073709551615:*4611686018427387904"),
            ["4611686018427387904"]
        );
        assert_eq!(values("n=1e3..4e3:*2"), ["1000", "2000", "4000"]);
        assert_eq!(
            values("n=1000..4000:*1.5"),
            ["1000", "1500", "2250", "3375"]
        );
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        let scans = ParamScan::parse_all(&["n=1,2", "m=3"]).unwrap();
        assert_eq!(scans.len(), 2);
        let err = ParamScan::parse_all(&["n=1,2", "m=3", "n=4"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter \"n=4\": parameter \"n\" is given twice: give each parameter once, with all its values (such as n=1,2,3)"
        );
    }

    #[test]
    fn combines_and_substitutes() {
        let scans = [
            ParamScan::parse("a=1,2").unwrap(),
            ParamScan::parse("b=x,y").unwrap(),
        ];
        let combos = combinations(&scans);
        assert_eq!(combos.len(), 4);
        assert_eq!(substitute("run {a} {b} {c}", &combos[1]), "run 1 y {c}");
        assert_eq!(combinations(&[]).len(), 1);
    }
}
