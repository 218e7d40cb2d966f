//! The central value of a measurement, shared by the exports.

use perfhub_core::report::Measurement;
use perfhub_core::stats::Summary;

/// A measurement reduced to what the exports write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Central {
    /// The mean of the samples, or the single value.
    pub mean: f64,
    /// The confidence interval of the mean, where there is one.
    pub ci: Option<(f64, f64)>,
    /// The summary, where there are samples.
    pub summary: Option<Summary>,
}

/// The mean (from the summary, else the samples, else the single value)
/// with its interval; `None` when there is no finite value.
pub(crate) fn central(m: &Measurement) -> Option<Central> {
    let summary = match &m.summary {
        Some(s) if s.mean.is_finite() => Some(s.clone()),
        _ => Summary::of(&m.samples),
    };
    let Some(summary) = summary else {
        return m.value.filter(|v| v.is_finite()).map(|v| Central {
            mean: v,
            ci: None,
            summary: None,
        });
    };
    let ci = summary
        .mean_ci
        .filter(|ci| ci.lower.is_finite() && ci.upper.is_finite())
        .map(|ci| (ci.lower, ci.upper));
    Some(Central {
        mean: summary.mean,
        ci,
        summary: Some(summary),
    })
}
