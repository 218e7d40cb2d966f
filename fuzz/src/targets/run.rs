//! perfhub-run: `--param` specifications.

use std::path::Path;

use perfhub_run::ParamScan;
use perfhub_run::params::{MAX_VALUES, combinations, substitute};

use super::text;
use crate::mutate::{self, Rng};
use crate::{Outcome, Target};

pub(super) fn targets() -> Vec<Target> {
    vec![Target {
        name: "params",
        group: "run",
        check: check_params,
        seeds: params_seeds,
        mutate: mutate_params,
        generate: generate_params,
        bombs: no_bombs,
        suite_cases: 800,
    }]
}

fn no_bombs() -> Vec<(&'static str, Vec<u8>)> {
    Vec::new()
}

/// An integer as the spec writes it (`12`, `-3`), or `None`.
fn integer(s: &str) -> Option<i128> {
    s.trim().parse().ok()
}

fn check_params(input: &[u8]) -> Result<Outcome, String> {
    let spec = text(input);
    let scan = match ParamScan::parse(&spec) {
        Ok(s) => s,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    if scan.values.is_empty() {
        return Err("accepted with no values".into());
    }
    if scan.values.len() > MAX_VALUES {
        return Err(format!("accepted with {} values", scan.values.len()));
    }
    if scan.name.is_empty() {
        return Err("accepted with an empty name".into());
    }
    // An integer range yields integers within its ends, in order.
    if let Some((_, rest)) = spec.split_once('=')
        && let Some((start, end)) = rest.split_once("..")
    {
        let (end, step) = end.split_once(':').unwrap_or((end, "1"));
        let step = step.trim();
        let step = step.strip_prefix('*').unwrap_or(step);
        if let (Some(a), Some(b), Some(_)) = (integer(start), integer(end), integer(step)) {
            let mut last: Option<i128> = None;
            for v in &scan.values {
                let Some(x) = integer(v) else {
                    return Err(format!(
                        "the range {a}..{b} gave the value {v:?}, not an integer"
                    ));
                };
                if x < a || x > b {
                    return Err(format!("the range {a}..{b} gave {x}, outside it"));
                }
                if last.is_some_and(|l| l >= x) {
                    return Err(format!(
                        "the range {a}..{b} gave {x} after {}",
                        last.unwrap_or(x)
                    ));
                }
                last = Some(x);
            }
        }
    }
    let combos = combinations(std::slice::from_ref(&scan));
    if combos.len() != scan.values.len() {
        return Err("one parameter's combinations are not its values".into());
    }
    let _ = substitute(&format!("echo {{{}}}", scan.name), &combos[0]);
    Ok(Outcome::Accepted)
}

fn params_seeds(_root: &Path) -> Vec<Vec<u8>> {
    [
        "n=10,100,1000",
        "n=1..4",
        "n=0..100:25",
        "n=1000..64000:*2",
        "x=0.1..0.3:0.1",
        "mode=fast, slow",
        "n=1..18446744073709551616",
        "n=18446744073709551615..18446744073709551615",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

const PARAM_TOKENS: &[&str] = &["=", "..", ":", ":*", ",", "-", ".", "e", " ", "_"];

fn mutate_params(input: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate::bytes(input, other, PARAM_TOKENS, rng)
}

fn generate_params(rng: &mut Rng) -> Vec<u8> {
    let name = rng.pick(&["n", "size_2", "", "a b", "é", "N"]);
    let value = match rng.below(3) {
        0 => (0..1 + rng.small(5))
            .map(|_| rng.pick(mutate::NUMBERS).to_string())
            .collect::<Vec<_>>()
            .join(","),
        _ => {
            let a = rng.pick(mutate::NUMBERS);
            let b = rng.pick(mutate::NUMBERS);
            let step = match rng.below(3) {
                0 => String::new(),
                1 => format!(":{}", rng.pick(mutate::NUMBERS)),
                _ => format!(":*{}", rng.pick(mutate::NUMBERS)),
            };
            format!("{a}..{b}{step}")
        }
    };
    format!("{name}={value}").into_bytes()
}
