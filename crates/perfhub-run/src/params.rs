//! Parameter scans: `--param n=10,100,1000` and ranges, substituted into `{n}`.

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
}

impl ParamScan {
    /// Parses `NAME=LIST` or `NAME=RANGE`:
    ///
    /// - a list: `n=10,100,1000` (any text values);
    /// - an integer or decimal range, both ends included: `n=1..5`;
    /// - with an additive step: `n=0..100:25`;
    /// - with a factor, for geometric scans over input sizes: `n=1000..64000:*2`.
    pub fn parse(spec: &str) -> Result<ParamScan, ParamError> {
        let err = |reason: String| ParamError {
            spec: spec.to_string(),
            reason,
        };
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| err("expected NAME=VALUES, such as n=10,100,1000 or n=1..10".into()))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(format!(
                "parameter name {name:?} must be letters, digits or underscores"
            )));
        }
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

fn number(s: &str, what: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{what} {s:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{what} {s:?} is not a finite number"));
    }
    Ok(v)
}

fn range_values(start: &str, end: &str, step: Option<&str>) -> Result<Vec<String>, String> {
    let a = number(start, "range start")?;
    let b = number(end, "range end")?;
    if b < a {
        return Err(format!("range end {end} is below its start {start}"));
    }
    let integral = |s: &str| !s.contains(['.', 'e', 'E']);
    let mut all_integers = integral(start) && integral(end);
    let mut values = Vec::new();
    match step {
        Some(s) if s.starts_with('*') => {
            let f = number(&s[1..], "range factor")?;
            if f <= 1.0 {
                return Err(format!("range factor {f} must be greater than 1"));
            }
            if a <= 0.0 {
                return Err("a geometric range must start above 0".into());
            }
            all_integers &= integral(&s[1..]);
            let mut v = a;
            while v <= b * (1.0 + 1e-12) {
                values.push(v);
                if values.len() > MAX_VALUES {
                    break;
                }
                v *= f;
            }
        }
        _ => {
            let d = match step {
                Some(s) => {
                    all_integers &= integral(s);
                    number(s, "range step")?
                }
                None => 1.0,
            };
            if d <= 0.0 {
                return Err(format!("range step {d} must be greater than 0"));
            }
            let count = ((b - a) / d + 1e-9).floor() as usize + 1;
            if count > MAX_VALUES {
                return Err(format!(
                    "{count} values is more than the limit of {MAX_VALUES}"
                ));
            }
            values.extend((0..count).map(|i| a + d * i as f64));
        }
    }
    Ok(values
        .into_iter()
        .map(|v| {
            if all_integers {
                format!("{}", v.round() as i64)
            } else {
                // Trim the noise of repeated addition.
                let s = format!("{v:.10}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        })
        .collect())
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
        ] {
            let err = ParamScan::parse(spec).unwrap_err();
            assert!(err.to_string().contains(needle), "{spec}: {err}");
        }
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
