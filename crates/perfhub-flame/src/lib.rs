//! Stack profiles and their formats.
//!
//! A [`StackProfile`] is a set of call stacks (root first) with a weight
//! each: samples for CPU profiles, bytes or allocations for heap profiles.
//! Every perfhub profiler produces one, and every output format is written
//! from one.
#![deny(missing_docs)]

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
}
