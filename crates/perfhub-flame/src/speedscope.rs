//! speedscope's JSON file format
//! (<https://www.speedscope.app/file-format-schema.json>).

use std::collections::HashMap;

use serde::Serialize;

use crate::{StackProfile, UNKNOWN_FRAME, WeightUnit};

/// The `$schema` every speedscope file names.
pub const SPEEDSCOPE_SCHEMA_URL: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize)]
struct File<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    shared: Shared<'a>,
    profiles: Vec<SampledProfile<'a>>,
    name: &'a str,
    #[serde(rename = "activeProfileIndex")]
    active_profile_index: u32,
    exporter: String,
}

#[derive(Serialize)]
struct Shared<'a> {
    frames: Vec<Frame<'a>>,
}

#[derive(Serialize)]
struct Frame<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct SampledProfile<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    unit: &'static str,
    #[serde(rename = "startValue")]
    start_value: u64,
    #[serde(rename = "endValue")]
    end_value: u64,
    /// Frame indices, root first.
    samples: Vec<Vec<usize>>,
    weights: Vec<u64>,
}

/// Writes `profile` as a speedscope file holding one sampled profile named
/// `name`.
///
/// Each stack is one sample (frame indices into `shared.frames`, root
/// first) weighted by its weight. speedscope knows times and bytes; weights
/// in samples or counts have the unit `none`. An empty stack or frame name
/// is `[unknown]`, as in the other formats.
pub fn to_speedscope(profile: &StackProfile, name: &str) -> String {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut frames = Vec::new();
    let mut samples = Vec::with_capacity(profile.stacks.len());
    let mut weights = Vec::with_capacity(profile.stacks.len());
    let unknown = [UNKNOWN_FRAME.to_string()];
    for (stack, &weight) in &profile.stacks {
        let stack = if stack.is_empty() {
            &unknown[..]
        } else {
            &stack[..]
        };
        let sample = stack
            .iter()
            .map(|frame| {
                let frame: &str = if frame.is_empty() {
                    UNKNOWN_FRAME
                } else {
                    frame
                };
                *index.entry(frame).or_insert_with(|| {
                    frames.push(Frame { name: frame });
                    frames.len() - 1
                })
            })
            .collect();
        samples.push(sample);
        weights.push(weight);
    }
    let unit = match profile.unit {
        Some(WeightUnit::Nanoseconds) => "nanoseconds",
        Some(WeightUnit::Bytes) => "bytes",
        Some(WeightUnit::Samples | WeightUnit::Count) | None => "none",
    };
    let file = File {
        schema: SPEEDSCOPE_SCHEMA_URL,
        shared: Shared { frames },
        profiles: vec![SampledProfile {
            kind: "sampled",
            name,
            unit,
            start_value: 0,
            end_value: profile.total(),
            samples,
            weights,
        }],
        name,
        active_profile_index: 0,
        exporter: format!("perfhub-flame {}", env!("CARGO_PKG_VERSION")),
    };
    serde_json::to_string(&file).expect("plain structs serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_samples_root_first_with_shared_frames() {
        let mut p = StackProfile::new(WeightUnit::Nanoseconds);
        p.add(vec!["main".into(), "a".into()], 30);
        p.add(vec!["main".into(), "b \"quoted\"".into(), "a".into()], 12);
        let v: serde_json::Value = serde_json::from_str(&to_speedscope(&p, "cpu")).unwrap();
        assert_eq!(v["$schema"], SPEEDSCOPE_SCHEMA_URL);
        let frames: Vec<&str> = v["shared"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(frames, ["main", "a", "b \"quoted\""]);
        let prof = &v["profiles"][0];
        assert_eq!(prof["type"], "sampled");
        assert_eq!(prof["unit"], "nanoseconds");
        assert_eq!(prof["name"], "cpu");
        assert_eq!(prof["startValue"], 0);
        assert_eq!(prof["endValue"], 42);
        assert_eq!(prof["samples"], serde_json::json!([[0, 1], [0, 2, 1]]));
        assert_eq!(prof["weights"], serde_json::json!([30, 12]));
        assert!(
            v["exporter"]
                .as_str()
                .unwrap()
                .starts_with("perfhub-flame ")
        );
    }

    #[test]
    fn units_speedscope_does_not_know_are_none() {
        for (unit, want) in [
            (Some(WeightUnit::Samples), "none"),
            (Some(WeightUnit::Count), "none"),
            (Some(WeightUnit::Bytes), "bytes"),
            (None, "none"),
        ] {
            let p = StackProfile {
                unit,
                ..StackProfile::default()
            };
            let v: serde_json::Value = serde_json::from_str(&to_speedscope(&p, "x")).unwrap();
            assert_eq!(v["profiles"][0]["unit"], want);
            assert_eq!(v["profiles"][0]["samples"], serde_json::json!([]));
        }
    }
}
