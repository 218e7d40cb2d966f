//! Descriptive statistics, outliers, confidence intervals and two-sample tests.
//!
//! Conventions shared by every function here:
//!
//! - functions that compute a number from samples return `None` for an empty
//!   slice or when any sample is not finite (NaN or infinite), rather than
//!   silently ignoring samples or producing NaN; the per-sample classifiers
//!   ([`classify_tukey`], [`modified_z_scores`]) say in their docs what they
//!   do with non-finite samples;
//! - percentiles interpolate linearly between order statistics, as R's
//!   `quantile(type = 7)` and numpy's default `percentile` do, and take `p`
//!   in percent (`0..=100`);
//! - variances and standard deviations are sample ones (`n - 1` in the
//!   denominator);
//! - resampling is deterministic: the bootstrap draws from a
//!   [`ChaCha8Rng`] seeded with the caller's seed, so a given seed gives the
//!   same interval on every platform and run.
//!
//! The distribution functions needed ([`normal_cdf`], [`student_t_quantile`])
//! are implemented here from the regularized incomplete gamma and beta
//! functions (continued fractions as in Numerical Recipes, ch. 6), accurate to
//! 9 significant digits or better, far beyond what the statistics need.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::signed_rank::{hodges_lehmann_interval, min_p_value, signed_rank_test};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Summary statistics of a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); 0 for one sample.
    pub stddev: f64,
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Percentiles keyed `p50`, `p90`, `p95`, `p99`, `p99.9`.
    pub percentiles: BTreeMap<String, f64>,
    /// A 95% confidence interval of the mean, where there are 2 or more samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ci: Option<ConfidenceInterval>,
    /// Outliers by Tukey's fences.
    pub outliers: OutlierCounts,
    /// The source gave no standard deviation nor MAD (a summary imported
    /// from a tool that reports only some statistics, such as k6's):
    /// `stddev` and `mad` hold 0 and mean nothing, budgets on them are
    /// refused, and exporters leave them out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spread_unknown: bool,
    /// The source gave a standard deviation but no median absolute
    /// deviation (pytest-benchmark's, JMH's and vitest's summaries): `mad`
    /// holds 0 and means nothing, budgets on it are refused, and exporters
    /// leave it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mad_unknown: bool,
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfidenceInterval {
    /// Confidence level, such as 0.95.
    pub level: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

impl ConfidenceInterval {
    /// Whether `value` lies within the interval, bounds included.
    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }
}

/// Counts of samples outside Tukey's fences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutlierCounts {
    /// Below Q1 - 3 IQR.
    pub low_severe: usize,
    /// Between Q1 - 3 IQR and Q1 - 1.5 IQR.
    pub low_mild: usize,
    /// Between Q3 + 1.5 IQR and Q3 + 3 IQR.
    pub high_mild: usize,
    /// Above Q3 + 3 IQR.
    pub high_severe: usize,
}

impl OutlierCounts {
    /// The number of outliers of any kind.
    pub fn total(&self) -> usize {
        self.low_severe + self.low_mild + self.high_mild + self.high_severe
    }
}

/// The percentiles a [`Summary`] reports: key and `p` in percent.
pub const SUMMARY_PERCENTILES: [(&str, f64); 5] = [
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
];

/// One of the percentiles every [`Summary`] holds, for
/// [`Summary::percentile`] (rather than looking them up by string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Percentile {
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
    /// The 99.9th percentile.
    P999,
}

impl Percentile {
    /// Every percentile a summary holds, in increasing order.
    pub const ALL: [Percentile; 5] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P95,
        Percentile::P99,
        Percentile::P999,
    ];

    /// Its key in [`Summary::percentiles`] (`"p95"`, `"p99.9"`).
    pub fn key(self) -> &'static str {
        SUMMARY_PERCENTILES[self as usize].0
    }

    /// Its value in percent (95.0, 99.9).
    pub fn percent(self) -> f64 {
        SUMMARY_PERCENTILES[self as usize].1
    }
}

/// The confidence level of [`Summary::mean_ci`].
pub const SUMMARY_CI_LEVEL: f64 = 0.95;

impl Summary {
    /// Summarizes `samples`.
    ///
    /// `None` when there are no samples, when any sample is not finite (NaN
    /// or infinite: a summary of such data would be meaningless and could not
    /// be written as JSON), or when a statistic overflows.
    ///
    /// Sorts one copy of the samples; the cost is `O(n log n)`.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || !all_finite(samples) {
            return None;
        }
        let sorted = sorted_copy(samples);
        let n = sorted.len();
        let mean = mean_unchecked(&sorted);
        let stddev = if n >= 2 {
            variance_unchecked(&sorted, mean).sqrt()
        } else {
            0.0
        };
        let median = percentile_sorted_unchecked(&sorted, 50.0);
        let mad = mad_about(&sorted, median);
        let percentiles = SUMMARY_PERCENTILES
            .iter()
            .map(|&(key, p)| (key.to_string(), percentile_sorted_unchecked(&sorted, p)))
            .collect();
        let mean_ci = if n >= 2 {
            t_interval(mean, stddev, n, SUMMARY_CI_LEVEL)
        } else {
            None
        };
        let fences = TukeyFences::of_sorted(&sorted);
        let mut outliers = OutlierCounts::default();
        for &x in &sorted {
            outliers.add(fences.classify(x));
        }
        let summary = Summary {
            n,
            mean,
            stddev,
            median,
            min: sorted[0],
            max: sorted[n - 1],
            mad,
            percentiles,
            mean_ci,
            outliers,
            spread_unknown: false,
            mad_unknown: false,
        };
        summary.is_finite().then_some(summary)
    }

    /// The standard deviation, unless the source gave none.
    pub fn known_stddev(&self) -> Option<f64> {
        (!self.spread_unknown).then_some(self.stddev)
    }

    /// The median absolute deviation, unless the source gave none.
    pub fn known_mad(&self) -> Option<f64> {
        (!self.spread_unknown && !self.mad_unknown).then_some(self.mad)
    }

    /// The percentile `p` of the samples. `None` only for a summary that
    /// was read from elsewhere without it (an imported report whose tool
    /// gave no such percentile); a summary made by [`Summary::of`] has all.
    pub fn percentile(&self, p: Percentile) -> Option<f64> {
        self.percentiles.get(p.key()).copied()
    }

    fn is_finite(&self) -> bool {
        [
            self.mean,
            self.stddev,
            self.median,
            self.min,
            self.max,
            self.mad,
        ]
        .iter()
        .chain(self.percentiles.values())
        .all(|x| x.is_finite())
            && self
                .mean_ci
                .is_none_or(|ci| ci.lower.is_finite() && ci.upper.is_finite())
    }
}

// ---------------------------------------------------------------------------
// Descriptive statistics
// ---------------------------------------------------------------------------

/// The arithmetic mean; `None` when empty or when any sample is not finite.
pub fn mean(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() || !all_finite(samples) {
        return None;
    }
    Some(mean_unchecked(samples)).filter(|m| m.is_finite())
}

/// The median (the type-7 50th percentile: the mean of the two middle
/// samples when their number is even); `None` when empty or when any sample
/// is not finite.
///
/// Runs in linear time on a copy of the samples.
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() || !all_finite(samples) {
        return None;
    }
    let mut copy = samples.to_vec();
    Some(median_in_place(&mut copy))
}

/// The sample variance (`n - 1` in the denominator).
///
/// `None` with fewer than 2 samples, when any sample is not finite, or when
/// the variance overflows.
pub fn variance(samples: &[f64]) -> Option<f64> {
    if samples.len() < 2 || !all_finite(samples) {
        return None;
    }
    let m = mean_unchecked(samples);
    Some(variance_unchecked(samples, m)).filter(|v| v.is_finite())
}

/// The sample standard deviation (`n - 1` in the denominator).
///
/// `None` with fewer than 2 samples, when any sample is not finite, or when
/// the variance overflows.
pub fn stddev(samples: &[f64]) -> Option<f64> {
    variance(samples).map(f64::sqrt)
}

/// The `p`th percentile (`p` in percent, `0..=100`) of samples in any order,
/// interpolating linearly between order statistics (R type 7, numpy's
/// default).
///
/// `None` when empty, when any sample is not finite, or when `p` is outside
/// `0..=100` or NaN.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() || !all_finite(samples) || !(0.0..=100.0).contains(&p) {
        return None;
    }
    Some(percentile_sorted_unchecked(&sorted_copy(samples), p))
}

/// Like [`percentile`] on samples already sorted ascending, without copying.
///
/// The order is not checked: unsorted input gives a meaningless (but not
/// panicking) result. `None` when empty, when any sample is not finite, or
/// when `p` is outside `0..=100` or NaN.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !all_finite(sorted) || !(0.0..=100.0).contains(&p) {
        return None;
    }
    Some(percentile_sorted_unchecked(sorted, p))
}

/// The median absolute deviation from the median, unscaled (multiply by
/// 1.4826 to estimate the standard deviation of normal data).
///
/// `None` when empty or when any sample is not finite.
pub fn mad(samples: &[f64]) -> Option<f64> {
    let m = median(samples)?;
    Some(mad_about(samples, m))
}

/// A Student-t confidence interval of the mean at `level` (such as 0.95).
///
/// `None` with fewer than 2 samples, when any sample is not finite, or when
/// `level` is not strictly between 0 and 1.
pub fn mean_confidence_interval(samples: &[f64], level: f64) -> Option<ConfidenceInterval> {
    let sd = stddev(samples)?;
    let m = mean(samples)?;
    t_interval(m, sd, samples.len(), level)
}

// ---------------------------------------------------------------------------
// Outliers
// ---------------------------------------------------------------------------

/// Where a sample lies relative to Tukey's fences (Q1 - k IQR and Q3 + k IQR
/// with k = 1.5 for mild and 3 for severe outliers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutlierClass {
    /// Within the inner fences.
    Normal,
    /// Between Q1 - 3 IQR and Q1 - 1.5 IQR.
    LowMild,
    /// Below Q1 - 3 IQR.
    LowSevere,
    /// Between Q3 + 1.5 IQR and Q3 + 3 IQR.
    HighMild,
    /// Above Q3 + 3 IQR.
    HighSevere,
}

impl OutlierClass {
    /// Whether the sample is an outlier of any kind.
    pub fn is_outlier(self) -> bool {
        self != OutlierClass::Normal
    }
}

impl OutlierCounts {
    fn add(&mut self, class: OutlierClass) {
        match class {
            OutlierClass::Normal => {}
            OutlierClass::LowMild => self.low_mild += 1,
            OutlierClass::LowSevere => self.low_severe += 1,
            OutlierClass::HighMild => self.high_mild += 1,
            OutlierClass::HighSevere => self.high_severe += 1,
        }
    }
}

/// The threshold of [`modified_z_scores`] above which (in absolute value) a
/// sample is an outlier, as recommended by Iglewicz and Hoaglin.
pub const MODIFIED_Z_OUTLIER: f64 = 3.5;

/// Tukey's fences; comparisons are strict, so a sample on a fence is inside.
struct TukeyFences {
    low_severe: f64,
    low_mild: f64,
    high_mild: f64,
    high_severe: f64,
}

impl TukeyFences {
    /// Fences from finite samples sorted ascending (not empty).
    fn of_sorted(sorted: &[f64]) -> TukeyFences {
        let q1 = percentile_sorted_unchecked(sorted, 25.0);
        let q3 = percentile_sorted_unchecked(sorted, 75.0);
        let iqr = q3 - q1;
        TukeyFences {
            low_severe: q1 - 3.0 * iqr,
            low_mild: q1 - 1.5 * iqr,
            high_mild: q3 + 1.5 * iqr,
            high_severe: q3 + 3.0 * iqr,
        }
    }

    fn classify(&self, x: f64) -> OutlierClass {
        if x < self.low_severe {
            OutlierClass::LowSevere
        } else if x < self.low_mild {
            OutlierClass::LowMild
        } else if x > self.high_severe {
            OutlierClass::HighSevere
        } else if x > self.high_mild {
            OutlierClass::HighMild
        } else {
            OutlierClass::Normal
        }
    }
}

/// Classifies each sample by Tukey's fences, in the order given.
///
/// The quartiles are type-7 percentiles of the finite samples. Infinite
/// samples lie beyond every fence (severe outliers); NaN lies on no side of
/// a fence and is classified [`OutlierClass::Normal`]. With no finite
/// samples, every sample is `Normal`.
pub fn classify_tukey(samples: &[f64]) -> Vec<OutlierClass> {
    let finite: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return vec![OutlierClass::Normal; samples.len()];
    }
    let mut sorted = finite;
    sorted.sort_unstable_by(f64::total_cmp);
    let fences = TukeyFences::of_sorted(&sorted);
    samples.iter().map(|&x| fences.classify(x)).collect()
}

/// Counts the samples outside Tukey's fences, as classified by
/// [`classify_tukey`].
pub fn tukey_outliers(samples: &[f64]) -> OutlierCounts {
    let mut counts = OutlierCounts::default();
    for class in classify_tukey(samples) {
        counts.add(class);
    }
    counts
}

/// The modified z-score of each sample (Iglewicz and Hoaglin, 1993):
/// `0.6745 * (x - median) / MAD`, in the order given. A sample whose score
/// exceeds [`MODIFIED_Z_OUTLIER`] in absolute value is an outlier.
///
/// When the MAD is 0 (more than half the samples are equal), the score falls
/// back to `(x - median) / (1.253314 * MeanAD)`, where MeanAD is the mean
/// absolute deviation from the median (1.253314 = sqrt(pi / 2) makes it, like
/// `MAD / 0.6745`, an estimate of the standard deviation of normal data).
/// When that is 0 too (all samples equal), samples equal to the median score
/// 0 and no other finite sample exists.
///
/// The median and deviations are taken over the finite samples. An infinite
/// sample scores plus or minus infinity, NaN scores NaN, and with no finite
/// samples every score is NaN. An empty slice gives an empty vector.
pub fn modified_z_scores(samples: &[f64]) -> Vec<f64> {
    let mut finite: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return vec![f64::NAN; samples.len()];
    }
    let med = median_in_place(&mut finite);
    let mad = mad_about(&finite, med);
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        let mean_ad = finite.iter().map(|x| (x - med).abs()).sum::<f64>() / finite.len() as f64;
        1.253314 * mean_ad
    };
    samples
        .iter()
        .map(|&x| {
            let d = x - med;
            if scale > 0.0 {
                d / scale
            } else if d == 0.0 {
                0.0
            } else {
                // Infinite (or NaN) x with all finite samples equal.
                d * f64::INFINITY
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------

/// A statistic to estimate or compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The arithmetic mean.
    Mean,
    /// The median.
    Median,
}

impl Statistic {
    /// The statistic of `samples`; `None` when empty or when any sample is
    /// not finite.
    pub fn compute(self, samples: &[f64]) -> Option<f64> {
        match self {
            Statistic::Mean => mean(samples),
            Statistic::Median => median(samples),
        }
    }
}

/// The statistic of one bootstrap resample of `samples` (finite, not empty),
/// drawn with replacement. `buf` is scratch space, reused across calls.
fn resample_statistic(
    statistic: Statistic,
    samples: &[f64],
    buf: &mut Vec<f64>,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let n = samples.len();
    match statistic {
        Statistic::Mean => {
            let mut sum = 0.0;
            for _ in 0..n {
                sum += samples[rng.random_range(0..n)];
            }
            sum / n as f64
        }
        Statistic::Median => {
            buf.clear();
            buf.extend((0..n).map(|_| samples[rng.random_range(0..n)]));
            median_in_place(buf)
        }
    }
}

fn valid_level(level: f64) -> bool {
    level > 0.0 && level < 1.0
}

/// The two-sided percentile interval at `level` of bootstrap statistics.
fn percentile_interval(mut stats: Vec<f64>, level: f64) -> Option<ConfidenceInterval> {
    if stats.is_empty() || !all_finite(&stats) {
        return None;
    }
    stats.sort_unstable_by(f64::total_cmp);
    let tail = 100.0 * (1.0 - level) / 2.0;
    Some(ConfidenceInterval {
        level,
        lower: percentile_sorted_unchecked(&stats, tail),
        upper: percentile_sorted_unchecked(&stats, 100.0 - tail),
    })
}

/// A bootstrap confidence interval of `statistic` by the percentile method:
/// `resamples` resamples with replacement, each of the size of `samples`,
/// and the type-7 percentiles `(1 - level) / 2` and `(1 + level) / 2` of
/// their statistics.
///
/// Deterministic: the resamples are drawn from [`ChaCha8Rng`] seeded with
/// `seed`. `None` when `samples` is empty or has a non-finite sample, when
/// `level` is not strictly between 0 and 1, or when `resamples` is 0.
///
/// Allocates one vector of `resamples` statistics (and, for the median, one
/// scratch resample reused throughout); the cost is `O(resamples * n)`.
pub fn bootstrap_ci(
    samples: &[f64],
    statistic: Statistic,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<ConfidenceInterval> {
    if samples.is_empty() || !all_finite(samples) || !valid_level(level) || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(buf_capacity(statistic, samples.len()));
    let stats = (0..resamples)
        .map(|_| resample_statistic(statistic, samples, &mut buf, &mut rng))
        .collect();
    percentile_interval(stats, level)
}

/// A bootstrap confidence interval of `statistic(head) / statistic(base)` by
/// the percentile method, resampling `base` and `head` independently (each
/// resample of the size of its sample set).
///
/// Deterministic under `seed`, as [`bootstrap_ci`]. `None` when either set
/// is empty or has a non-finite sample, when `level` is not strictly between
/// 0 and 1, when `resamples` is 0, or when some resample of `base` has a
/// statistic of 0 (the ratio is then undefined; this cannot happen with
/// positive samples such as times).
pub fn bootstrap_ratio_ci(
    base: &[f64],
    head: &[f64],
    statistic: Statistic,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<ConfidenceInterval> {
    if !valid_level(level) {
        return None;
    }
    percentile_interval(
        bootstrap_ratios(base, head, statistic, resamples, seed)?,
        level,
    )
}

/// `resamples` bootstrap ratios `statistic(head*) / statistic(base*)`;
/// `None` when either set is empty or has a non-finite sample, when
/// `resamples` is 0, or when a ratio is not finite.
fn bootstrap_ratios(
    base: &[f64],
    head: &[f64],
    statistic: Statistic,
    resamples: usize,
    seed: u64,
) -> Option<Vec<f64>> {
    if base.is_empty()
        || head.is_empty()
        || !all_finite(base)
        || !all_finite(head)
        || resamples == 0
    {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(buf_capacity(statistic, base.len().max(head.len())));
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let b = resample_statistic(statistic, base, &mut buf, &mut rng);
        let h = resample_statistic(statistic, head, &mut buf, &mut rng);
        let ratio = h / b;
        if !ratio.is_finite() {
            return None;
        }
        stats.push(ratio);
    }
    Some(stats)
}

/// The two-sided bootstrap p-value of "the ratio is 1": twice the share of
/// the bootstrap ratios on the far side of 1 (ties counting one half), with
/// one added to both counts so that it is never 0. It is below `1 - level`
/// where the percentile interval at `level` leaves 1 out (up to one
/// resample at the edge), so the p-value and the interval agree.
fn bootstrap_p_value(ratios: &[f64]) -> f64 {
    let n = ratios.len() as f64;
    let below = ratios.iter().filter(|&&r| r < 1.0).count() as f64;
    let ties = ratios.iter().filter(|&&r| r == 1.0).count() as f64;
    let below = below + ties / 2.0;
    let far = below.min(n - below);
    (2.0 * (far + 1.0) / (n + 1.0)).min(1.0)
}

fn buf_capacity(statistic: Statistic, n: usize) -> usize {
    match statistic {
        Statistic::Mean => 0,
        Statistic::Median => n,
    }
}

// ---------------------------------------------------------------------------
// Two-sample comparison
// ---------------------------------------------------------------------------

/// The result of a two-sided Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MannWhitney {
    /// The U statistic of the first sample set: the number of pairs `(a, b)`
    /// with `a > b`, ties counting one half.
    pub u: f64,
    /// The continuity-corrected standard normal score of `u`; positive when
    /// the first set tends to be larger.
    pub z: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

/// The two-sided Mann-Whitney U (Wilcoxon rank-sum) test of `a` against `b`.
///
/// Uses the normal approximation with the tie correction of the variance
/// and a continuity correction of 0.5 (as `scipy.stats.mannwhitneyu(a, b,
/// alternative="two-sided", method="asymptotic", use_continuity=True)`);
/// the approximation is good from about 8 samples per set. When every
/// sample of both sets is equal the variance is 0: the result then has
/// `z = 0` and `p_value = 1` (no evidence of a difference).
///
/// `None` when either set is empty or has a non-finite sample.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() || !all_finite(a) || !all_finite(b) {
        return None;
    }
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Samples i..j are tied and share the mean of ranks i + 1 ..= j.
        let rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        let in_a = all[i..j].iter().filter(|e| e.1).count() as f64;
        rank_sum_a += rank * in_a;
        i = j;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mu = n1 * n2 / 2.0;
    let nf = n as f64;
    let var = n1 * n2 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let sd = var.max(0.0).sqrt();
    let diff = u - mu;
    if sd.is_nan() || sd <= 0.0 {
        return Some(MannWhitney {
            u,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let corrected = (diff.abs() - 0.5).max(0.0).copysign(diff);
    let z = corrected / sd;
    let p_value = (2.0 * normal_sf(z.abs())).min(1.0);
    Some(MannWhitney { u, z, p_value })
}

/// How [`compare_samples`] compares two sample sets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CompareConfig {
    /// The statistic whose ratio is estimated.
    pub statistic: Statistic,
    /// The confidence level of the ratio's interval.
    pub level: f64,
    /// The number of bootstrap resamples.
    pub resamples: usize,
    /// The seed of the bootstrap.
    pub seed: u64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            statistic: Statistic::Mean,
            level: 0.95,
            resamples: 10_000,
            seed: 0x5eed,
        }
    }
}

/// A comparison of a `head` sample set with a `base` one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TwoSampleComparison {
    /// `statistic(head) / statistic(base)`: above 1 when head is larger
    /// (slower, for times).
    pub ratio: f64,
    /// A bootstrap confidence interval of `ratio`.
    pub ratio_ci: ConfidenceInterval,
    /// The two-sided bootstrap p-value of "the ratio is 1", from the same
    /// resamples as the interval, so the two agree: below `1 - level`
    /// where the interval leaves 1 out (up to one resample at the edge).
    pub p_value: f64,
}

/// Compares `head` with `base`: the ratio of their statistics, its bootstrap
/// interval ([`bootstrap_ratio_ci`]) and the bootstrap p-value from the same
/// resamples. (A rank test such as [`mann_whitney_u`] asks another question,
/// whether one set tends to be larger, and could call a change of the mean
/// significant while the mean's interval holds 1, or the reverse.)
///
/// `None` when either set is empty or has a non-finite sample, when the
/// statistic of `base` (or of one of its resamples) is 0, or when the
/// configuration is invalid (`level` not strictly between 0 and 1, no
/// resamples).
pub fn compare_samples(
    base: &[f64],
    head: &[f64],
    config: &CompareConfig,
) -> Option<TwoSampleComparison> {
    let b = config.statistic.compute(base)?;
    let h = config.statistic.compute(head)?;
    let ratio = h / b;
    if !ratio.is_finite() {
        return None;
    }
    if !valid_level(config.level) {
        return None;
    }
    let ratios = bootstrap_ratios(base, head, config.statistic, config.resamples, config.seed)?;
    let p_value = bootstrap_p_value(&ratios);
    let ratio_ci = percentile_interval(ratios, config.level)?;
    Some(TwoSampleComparison {
        ratio,
        ratio_ci,
        p_value,
    })
}

/// How a [`PairedRatio`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairedMethod {
    /// Every pair has the same ratio (a deterministic metric such as an
    /// instruction count): the interval is that ratio, and the p-value 1 if
    /// it is 1, else 0.
    Identical,
    /// Hodges-Lehmann and the signed-rank test from the exact distribution.
    #[default]
    Exact,
    /// Hodges-Lehmann and the signed-rank test from the normal
    /// approximation (more than [`crate::signed_rank::EXACT_MAX_N`] pairs).
    Normal,
}

/// The change between paired measurements: the Hodges-Lehmann estimate of
/// the per-pair ratio `head[i] / base[i]` (on their logarithms), with the
/// distribution-free interval and the p-value of the Wilcoxon signed-rank
/// test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairedRatio {
    /// The typical ratio `head[i] / base[i]`: the exponential of the
    /// Hodges-Lehmann estimate (the median of the Walsh averages) of the log
    /// ratios.
    pub ratio: f64,
    /// The interval of that ratio that inverts the signed-rank test, at
    /// the level asked (see `achieved_level` for the one attained).
    pub ratio_ci: ConfidenceInterval,
    /// The two-sided p-value of the Wilcoxon signed-rank test of the log
    /// ratios against 0.
    pub p_value: f64,
    /// The number of pairs.
    pub pairs: usize,
    /// The pairs the test used: those whose ratio is not exactly 1.
    #[serde(default)]
    pub tested_pairs: usize,
    /// The smallest p-value the test could give with `tested_pairs`,
    /// `2 / 2^tested_pairs`: when it is not below `1 - level`, no number of
    /// these pairs can show a significant change (0 for
    /// [`PairedMethod::Identical`], which decides without the test).
    #[serde(default)]
    pub min_p_value: f64,
    /// The confidence the interval actually has: at or just above the
    /// level asked, or below it when there are too few pairs (the interval
    /// is then the widest, from the smallest to the largest ratio).
    #[serde(default)]
    pub achieved_level: f64,
    /// How the result was computed.
    #[serde(default)]
    pub method: PairedMethod,
}

/// Compares paired measurements such as the rounds of an interleaved A/B
/// run, where `base[i]` and `head[i]` were taken back to back: the noise
/// they share (the machine's state at that moment) cancels in their ratio.
///
/// Robust to a disturbed pair: on the log ratios, the estimate is the
/// Hodges-Lehmann one (the median of the Walsh averages), the interval the
/// distribution-free one that inverts the Wilcoxon signed-rank test, and the
/// p-value that of the two-sided signed-rank test (exact up to
/// [`crate::signed_rank::EXACT_MAX_N`] pairs, normal approximation above; pairs with a ratio of
/// exactly 1 are left out of the test). None of them assumes normal log
/// ratios, only symmetric ones, and one wild pair moves them by one rank
/// instead of dragging a mean and inflating a standard deviation.
///
/// The test is discrete: with `n` pairs the smallest p-value is `2 / 2^n`
/// (`min_p_value`), so at 95% at least 6 pairs are needed for anything to
/// be significant ([`crate::signed_rank::pairs_needed`]), and more when
/// several benchmarks are adjusted together.
///
/// When every pair has the same ratio (deterministic metrics such as
/// instruction counts), the interval is that ratio and the p-value is 1 if
/// it is 1, else 0.
///
/// `None` with fewer than 2 pairs, sets of different lengths, a value that
/// is not finite and positive, or `level` not strictly between 0 and 1.
pub fn paired_ratio(base: &[f64], head: &[f64], level: f64) -> Option<PairedRatio> {
    let n = base.len();
    if n < 2 || head.len() != n || !valid_level(level) {
        return None;
    }
    let positive = |x: &f64| x.is_finite() && *x > 0.0;
    if !base.iter().all(positive) || !head.iter().all(positive) {
        return None;
    }
    let logs: Vec<f64> = base.iter().zip(head).map(|(b, h)| (h / b).ln()).collect();
    if !all_finite(&logs) {
        return None;
    }
    let (lo, hi) = logs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let m = mean_unchecked(&logs);
    let tested_pairs = logs.iter().filter(|&&x| x != 0.0).count();
    if hi - lo <= 1e-12 * m.abs().max(1.0) {
        let ratio = m.exp();
        return Some(PairedRatio {
            ratio,
            ratio_ci: ConfidenceInterval {
                level,
                lower: ratio,
                upper: ratio,
            },
            p_value: if m.abs() <= 1e-12 { 1.0 } else { 0.0 },
            pairs: n,
            tested_pairs,
            min_p_value: 0.0,
            achieved_level: 1.0,
            method: PairedMethod::Identical,
        });
    }
    let hl = hodges_lehmann_interval(&logs, level)?;
    let test = signed_rank_test(&logs)?;
    Some(PairedRatio {
        ratio: hl.estimate.exp(),
        ratio_ci: ConfidenceInterval {
            level,
            lower: hl.ci.lower.exp(),
            upper: hl.ci.upper.exp(),
        },
        p_value: test.p_value,
        pairs: n,
        tested_pairs: test.n,
        min_p_value: min_p_value(test.n),
        achieved_level: hl.achieved_level,
        method: if test.exact && hl.exact {
            PairedMethod::Exact
        } else {
            PairedMethod::Normal
        },
    })
}

/// The ratio `mean_a / mean_b` and its standard deviation by first-order
/// propagation of uncertainty (as hyperfine's relative speed):
/// `ratio * sqrt((sd_a / mean_a)^2 + (sd_b / mean_b)^2)`.
///
/// The deviation is computed in the equivalent form
/// `sqrt(sd_a^2 + (ratio * sd_b)^2) / |mean_b|`, which stays finite when
/// `mean_a` is 0. Both values are non-finite when `mean_b` is 0 (or an input
/// is not finite): check before storing them.
pub fn ratio_with_uncertainty(mean_a: f64, sd_a: f64, mean_b: f64, sd_b: f64) -> (f64, f64) {
    let ratio = mean_a / mean_b;
    let sd = sd_a.hypot(ratio * sd_b) / mean_b.abs();
    (ratio, sd)
}

// ---------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------

/// The complementary error function, accurate to about `1e-13` relative.
///
/// Computed as the regularized upper incomplete gamma function
/// `Q(1/2, x^2)` (series or continued fraction, whichever converges).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x > 27.3 {
        // erfc(27.3) < 1e-325: below the smallest subnormal.
        return 0.0;
    }
    let x2 = x * x;
    if x2 < 1.5 {
        1.0 - gamma_p_series(0.5, x2)
    } else {
        gamma_q_fraction(0.5, x2)
    }
}

/// The standard normal cumulative distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal survival function `1 - Φ(x)`, accurate in the tail.
pub(crate) fn normal_sf(x: f64) -> f64 {
    0.5 * erfc(x / std::f64::consts::SQRT_2)
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom
/// (`df` need not be an integer), to about 9 significant digits (12 up to a
/// million degrees of freedom).
///
/// For example `student_t_quantile(0.975, 9.0)` is 2.262. `None` when `p` is
/// not strictly between 0 and 1 or `df` is not a positive finite number.
pub fn student_t_quantile(p: f64, df: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0 && df > 0.0 && df.is_finite()) {
        return None;
    }
    if p == 0.5 {
        return Some(0.0);
    }
    if p > 0.5 {
        t_upper_quantile(1.0 - p, df)
    } else {
        t_upper_quantile(p, df).map(|t| -t)
    }
}

/// The t > 0 with `P(T > t) = tail`, `0 < tail < 0.5`, by bisection.
///
/// The last answer is kept: a report's summaries all ask for the same
/// quantile (one level, the same number of runs), and the bisection costs
/// tens of microseconds.
fn t_upper_quantile(tail: f64, df: f64) -> Option<f64> {
    // Each bisection takes some 200 evaluations of the distribution; a file
    // of thousands of benchmarks asks for the same few sample sizes again
    // and again, so the answers are kept (a bounded number of them).
    type Key = (u64, u64);
    const KEPT: usize = 4096;
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<Key, Option<f64>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    let key = (tail.to_bits(), df.to_bits());
    if let Some(q) = KNOWN.with_borrow(|known| known.get(&key).copied()) {
        return q;
    }
    let q = t_upper_quantile_bisect(tail, df);
    KNOWN.with_borrow_mut(|known| {
        if known.len() >= KEPT {
            known.clear();
        }
        known.insert(key, q);
    });
    q
}

fn t_upper_quantile_bisect(tail: f64, df: f64) -> Option<f64> {
    let mut lo = 0.0_f64;
    let mut hi = 1.0_f64;
    while student_t_sf(hi, df) > tail {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if student_t_sf(mid, df) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo + (hi - lo) / 2.0)
}

/// `P(T > t)` for Student's t with `df` degrees of freedom, `t >= 0`.
fn student_t_sf(t: f64, df: f64) -> f64 {
    if df > 1e10 {
        // Closer to the normal than the incomplete beta can resolve: the
        // relative difference of the quantiles is about (t^2 + 1) / (4 df).
        return normal_sf(t);
    }
    let t2 = t * t;
    // P(T > t) = I_{df / (df + t^2)}(df / 2, 1 / 2) / 2.
    0.5 * reg_inc_beta(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
}

/// `P(F > f)` for Snedecor's F distribution with `d1` and `d2` degrees of
/// freedom.
pub(crate) fn f_distribution_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() {
        return f64::NAN;
    }
    if f <= 0.0 {
        return 1.0;
    }
    if f == f64::INFINITY {
        return 0.0;
    }
    let d1f = d1 * f;
    reg_inc_beta(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1f), d1f / (d2 + d1f))
}

/// The comparison of two means known only from summary statistics (a tool
/// that keeps no samples): Welch's t-test of the difference and an interval
/// of the ratio `head / base`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchRatio {
    /// `head_mean / base_mean`.
    pub ratio: f64,
    /// The interval of the ratio: `exp(ln ratio ± t·se)`, with the standard
    /// error of the log ratio by the delta method and Welch-Satterthwaite
    /// degrees of freedom.
    pub ratio_ci: ConfidenceInterval,
    /// Two-sided p-value of Welch's t-test of the difference of the means.
    pub p_value: f64,
    /// The standard error of the log ratio (delta method).
    pub se_log: f64,
    /// Its Welch-Satterthwaite degrees of freedom.
    pub df: f64,
}

/// Welch's comparison of two means from their summaries: `(mean, stddev,
/// n)` of the base and of the head, each with `n >= 2`. `None` when either
/// side has fewer than two observations, a mean that is not positive, a
/// negative or non-finite spread, or an invalid `level`.
pub fn welch_ratio(
    base: (f64, f64, usize),
    head: (f64, f64, usize),
    level: f64,
) -> Option<WelchRatio> {
    let (mb, sb, nb) = base;
    let (mh, sh, nh) = head;
    let valid =
        |m: f64, s: f64, n: usize| n >= 2 && m.is_finite() && m > 0.0 && s.is_finite() && s >= 0.0;
    if !valid(mb, sb, nb) || !valid(mh, sh, nh) || !valid_level(level) {
        return None;
    }
    let (nb, nh) = (nb as f64, nh as f64);
    let ratio = mh / mb;
    // The variances of the two means, absolute and relative.
    let (vb, vh) = (sb * sb / nb, sh * sh / nh);
    let (rb, rh) = (vb / (mb * mb), vh / (mh * mh));
    let satterthwaite = |a: f64, b: f64| {
        let den = a * a / (nb - 1.0) + b * b / (nh - 1.0);
        if den > 0.0 {
            (a + b).powi(2) / den
        } else {
            f64::INFINITY
        }
    };
    let se = (vb + vh).sqrt();
    let p_value = if se == 0.0 {
        if mh == mb { 1.0 } else { 0.0 }
    } else {
        let df = satterthwaite(vb, vh).min(1e12);
        (2.0 * student_t_sf(((mh - mb) / se).abs(), df)).min(1.0)
    };
    let se_log = (rb + rh).sqrt();
    let df_log = satterthwaite(rb, rh).min(1e12);
    let half = if se_log == 0.0 {
        0.0
    } else {
        t_upper_quantile((1.0 - level) / 2.0, df_log)? * se_log
    };
    Some(WelchRatio {
        ratio,
        ratio_ci: ConfidenceInterval {
            level,
            lower: ratio * (-half).exp(),
            upper: ratio * half.exp(),
        },
        p_value,
        se_log,
        df: df_log,
    })
}

/// A t interval of the mean.
fn t_interval(mean: f64, stddev: f64, n: usize, level: f64) -> Option<ConfidenceInterval> {
    if n < 2 || !valid_level(level) {
        return None;
    }
    let t = t_upper_quantile((1.0 - level) / 2.0, (n - 1) as f64)?;
    let half = t * stddev / (n as f64).sqrt();
    Some(ConfidenceInterval {
        level,
        lower: mean - half,
        upper: mean + half,
    })
}

const EPS: f64 = 1e-15;
const FPMIN: f64 = 1e-300;

/// The natural logarithm of the gamma function for `x > 0` (Lanczos, g = 7).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, &c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) - ln Γ(a + b)`.
///
/// When one argument is large, `ln Γ(big + small) - ln Γ(big)` is taken from
/// the difference of Stirling's series rather than of two large logarithms,
/// which would cancel to a few digits (the t distribution with a million
/// degrees of freedom needs `a = 500 000`).
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a < b { (a, b) } else { (b, a) };
    if big < 20.0 {
        return ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    }
    // Stirling: ln Γ(x) = (x - 1/2) ln x - x + ln(2π) / 2 + δ(x).
    let delta = |x: f64| {
        let x2 = x * x;
        (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x
    };
    // ln Γ(big + small) - ln Γ(big)
    let diff = (big - 0.5) * (small / big).ln_1p() + small * (big + small).ln() - small
        + delta(big + small)
        - delta(big);
    ln_gamma(small) - diff
}

/// The regularized incomplete beta function `I_x(a, b)`, given both `x` and
/// `y = 1 - x` (computed by the caller without cancellation).
fn reg_inc_beta(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let ln_x = if y < 0.5 { (-y).ln_1p() } else { x.ln() };
    let ln_y = if x < 0.5 { (-x).ln_1p() } else { y.ln() };
    let front = (a * ln_x + b * ln_y - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, y) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < FPMIN {
        d = FPMIN;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = 1.0 + aa / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularized lower incomplete gamma function `P(a, x)` by its series,
/// for `x < a + 1`.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let mut ap = a;
    let mut del = 1.0 / a;
    let mut sum = del;
    for _ in 0..10_000 {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if del.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

/// The regularized upper incomplete gamma function `Q(a, x)` by its
/// continued fraction (modified Lentz), for `x >= a + 1`.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / FPMIN;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let i = f64::from(i);
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < FPMIN {
            d = FPMIN;
        }
        c = b + an / c;
        if c.abs() < FPMIN {
            c = FPMIN;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn all_finite(samples: &[f64]) -> bool {
    samples.iter().all(|x| x.is_finite())
}

fn sorted_copy(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

/// The mean of finite, non-empty samples (scaling first if the sum overflows).
fn mean_unchecked(samples: &[f64]) -> f64 {
    let n = samples.len() as f64;
    let m = samples.iter().sum::<f64>() / n;
    if m.is_finite() {
        m
    } else {
        samples.iter().map(|x| x / n).sum()
    }
}

/// The sample variance of at least 2 finite samples about their `mean`, by
/// the corrected two-pass algorithm.
fn variance_unchecked(samples: &[f64], mean: f64) -> f64 {
    let n = samples.len() as f64;
    let (squares, sum) = samples.iter().fold((0.0, 0.0), |(sq, s), &x| {
        let d = x - mean;
        (sq + d * d, s + d)
    });
    ((squares - sum * sum / n) / (n - 1.0)).max(0.0)
}

/// The type-7 percentile of finite, non-empty samples sorted ascending,
/// `p` in `0..=100`.
fn percentile_sorted_unchecked(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * p / 100.0;
    let lo = (h.floor() as usize).min(n - 1);
    let frac = h - lo as f64;
    if frac <= 0.0 || lo + 1 >= n {
        sorted[lo]
    } else {
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    }
}

/// The median of finite, non-empty samples, reordering them.
fn median_in_place(samples: &mut [f64]) -> f64 {
    let n = samples.len();
    let mid = n / 2;
    let (left, upper, _) = samples.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lower + 0.5 * (upper - lower)
    }
}

/// The median absolute deviation of finite, non-empty samples about `center`.
fn mad_about(samples: &[f64], center: f64) -> f64 {
    let mut deviations: Vec<f64> = samples.iter().map(|x| (x - center).abs()).collect();
    median_in_place(&mut deviations)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_are_read_by_name() {
        let samples: Vec<f64> = (1..=1000).map(f64::from).collect();
        let s = Summary::of(&samples).unwrap();
        for p in Percentile::ALL {
            assert_eq!(s.percentile(p), Some(s.percentiles[p.key()]));
        }
        assert_eq!(Percentile::P999.key(), "p99.9");
        assert_eq!(Percentile::P95.percent(), 95.0);
        assert!((s.percentile(Percentile::P50).unwrap() - s.median).abs() < 1e-9);
    }

    #[test]
    fn paired_ratio_of_a_known_set() {
        // Log ratios ln 1.1, ln 1.2, 0: Walsh averages 0, ln(1.1)/2,
        // ln(1.2)/2, ln 1.1, (ln 1.1 + ln 1.2)/2, ln 1.2; the median is the
        // mean of the 3rd and 4th.
        let p = paired_ratio(&[1.0, 2.0, 4.0], &[1.1, 2.4, 4.0], 0.95).unwrap();
        let (a, b) = (1.1f64.ln(), 1.2f64.ln());
        assert!((p.ratio - ((b / 2.0 + a) / 2.0).exp()).abs() < 1e-12);
        // Three pairs cannot reach 95%: the interval is the widest, from
        // the smallest to the largest ratio, at confidence 1 - 2/8.
        assert!((p.ratio_ci.lower - 1.0).abs() < 1e-12, "{p:?}");
        assert!((p.ratio_ci.upper - 1.2).abs() < 1e-12, "{p:?}");
        assert_eq!(p.achieved_level, 0.75);
        // The test drops the pair with ratio 1: two positive log ratios,
        // W+ = 3, P(W+ >= 3) = 1/4, p = 1/2.
        assert_eq!((p.pairs, p.tested_pairs), (3, 2));
        assert_eq!(p.p_value, 0.5);
        assert_eq!(p.min_p_value, 0.5);
        assert_eq!(p.method, PairedMethod::Exact);
        assert!(paired_ratio(&[1.0], &[1.0], 0.95).is_none());
        assert!(paired_ratio(&[1.0, 2.0], &[1.0], 0.95).is_none());
        assert!(paired_ratio(&[1.0, 0.0], &[1.0, 1.0], 0.95).is_none());
        assert!(paired_ratio(&[1.0, 1.0], &[1.0, 1.0], 1.0).is_none());
    }

    #[test]
    fn paired_ratio_of_identical_ratios() {
        let p = paired_ratio(&[2.0, 4.0, 8.0], &[2.2, 4.4, 8.8], 0.95).unwrap();
        assert_eq!(p.method, PairedMethod::Identical);
        assert!((p.ratio - 1.1).abs() < 1e-12);
        assert_eq!(p.ratio_ci.lower, p.ratio);
        assert_eq!(p.ratio_ci.upper, p.ratio);
        assert_eq!(p.p_value, 0.0);
        let p = paired_ratio(&[2.0, 4.0], &[2.0, 4.0], 0.95).unwrap();
        assert_eq!((p.ratio, p.p_value, p.tested_pairs), (1.0, 1.0, 0));
    }

    #[test]
    fn paired_ratio_resists_one_wild_round() {
        // Eight rounds 10% slower, ±1%, one of them disturbed to 1.8 times
        // its ratio: the t interval of the mean log ratio opens past 1, the
        // rank-based one stays around 1.10.
        let ratios = [1.10, 1.11, 1.09, 1.105, 1.10 * 1.8, 1.095, 1.102, 1.098];
        let base = [1.0; 8];
        let p = paired_ratio(&base, &ratios, 0.95).unwrap();
        assert!(p.ratio_ci.lower > 1.09 && p.ratio_ci.upper < 1.5, "{p:?}");
        assert!((p.ratio - 1.10).abs() < 0.01, "{p:?}");
        assert_eq!(p.p_value, 2.0 / 256.0);
        let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
        let t = mean_confidence_interval(&logs, 0.95).unwrap();
        assert!(t.lower < 0.0, "{t:?}");
    }

    use super::*;

    /// Asserts `|actual - expected| <= tol * max(1, |expected|)`.
    #[track_caller]
    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol * expected.abs().max(1.0),
            "{actual} is not within {tol} of {expected}"
        );
    }

    /// Asserts a relative error of at most `tol`.
    #[track_caller]
    fn close_rel(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol * expected.abs(),
            "{actual} is not within relative {tol} of {expected}"
        );
    }

    // The classic textbook sample: mean 5, population sd 2.
    const A: [f64; 8] = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    // Timings around 10 with outliers 5, 14 and 25.
    const B: [f64; 20] = [
        10.2, 9.8, 10.1, 10.0, 9.9, 10.3, 10.1, 9.7, 10.0, 10.2, 14.0, 10.1, 9.9, 10.0, 25.0, 10.1,
        5.0, 10.0, 9.8, 10.2,
    ];

    #[test]
    fn descriptive_statistics_match_numpy() {
        // Reference: numpy 2 (mean, std(ddof=1), median, percentile default
        // method "linear" = R type 7).
        close(mean(&A).unwrap(), 5.0, 1e-15);
        close(stddev(&A).unwrap(), 2.138089935299395, 1e-14);
        close(variance(&A).unwrap(), 32.0 / 7.0, 1e-14);
        close(median(&A).unwrap(), 4.5, 1e-15);
        close(mad(&A).unwrap(), 0.5, 1e-15);
        let expected = [
            (0.0, 2.0),
            (25.0, 4.0),
            (50.0, 4.5),
            (75.0, 5.5),
            (90.0, 7.6),
            (95.0, 8.3),
            (99.0, 8.86),
            (99.9, 8.986),
            (100.0, 9.0),
        ];
        for (p, v) in expected {
            close(percentile(&A, p).unwrap(), v, 1e-12);
        }

        close(mean(&B).unwrap(), 10.72, 1e-13);
        close(stddev(&B).unwrap(), 3.671167891041014, 1e-13);
        close(median(&B).unwrap(), 10.05, 1e-14);
        close(mad(&B).unwrap(), 0.15, 1e-12);
        close(percentile(&B, 90.0).unwrap(), 10.670000000000005, 1e-12);
        close(percentile(&B, 95.0).unwrap(), 14.550000000000008, 1e-12);
        close(percentile(&B, 99.0).unwrap(), 22.909999999999986, 1e-12);
        close(percentile(&B, 99.9).unwrap(), 24.791000000000018, 1e-12);
    }

    #[test]
    fn percentile_by_hand() {
        // Type 7: h = (n - 1) p / 100 = 3 * 0.5 = 1.5, between 20 and 30.
        assert_eq!(percentile(&[40.0, 10.0, 30.0, 20.0], 50.0), Some(25.0));
        // h = 3 * 0.1 = 0.3: 10 + 0.3 * 10.
        close(
            percentile(&[40.0, 10.0, 30.0, 20.0], 10.0).unwrap(),
            13.0,
            1e-12,
        );
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile_sorted(&sorted, 25.0), Some(2.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn bad_input_gives_none() {
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[]), None);
        assert_eq!(mad(&[]), None);
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(variance(&[1.0]), None);
        assert_eq!(stddev(&[]), None);
        assert_eq!(mean(&[1.0, f64::NAN]), None);
        assert_eq!(median(&[1.0, f64::INFINITY]), None);
        assert_eq!(variance(&[1.0, 2.0, f64::NAN]), None);
        assert_eq!(percentile(&[1.0, 2.0], 101.0), None);
        assert_eq!(percentile(&[1.0, 2.0], -1.0), None);
        assert_eq!(percentile(&[1.0, 2.0], f64::NAN), None);
        assert_eq!(percentile_sorted(&[1.0, f64::NAN], 50.0), None);
        assert_eq!(mean_confidence_interval(&[1.0], 0.95), None);
        assert_eq!(mean_confidence_interval(&[1.0, 2.0], 1.0), None);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
        assert_eq!(Summary::of(&[1.0, f64::NEG_INFINITY]), None);
        // Overflowing statistics are refused rather than written as JSON null.
        assert_eq!(Summary::of(&[-f64::MAX, f64::MAX]), None);
    }

    #[test]
    fn summary_fills_every_field() {
        let s = Summary::of(&A).unwrap();
        assert_eq!(s.n, 8);
        close(s.mean, 5.0, 1e-15);
        close(s.stddev, 2.138089935299395, 1e-14);
        close(s.median, 4.5, 1e-15);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        close(s.mad, 0.5, 1e-15);
        let keys: Vec<&str> = s.percentiles.keys().map(String::as_str).collect();
        assert_eq!(keys, ["p50", "p90", "p95", "p99", "p99.9"]);
        close(s.percentiles["p50"], 4.5, 1e-15);
        close(s.percentiles["p90"], 7.6, 1e-12);
        close(s.percentiles["p95"], 8.3, 1e-12);
        close(s.percentiles["p99"], 8.86, 1e-12);
        close(s.percentiles["p99.9"], 8.986, 1e-12);
        // Reference: scipy.stats.t.interval(0.95, 7, loc=mean, scale=sd/sqrt(8)).
        let ci = s.mean_ci.unwrap();
        assert_eq!(ci.level, 0.95);
        close(ci.lower, 3.21251208176379, 1e-10);
        close(ci.upper, 6.787487918236209, 1e-10);
        // Quartiles 4 and 5.5, IQR 1.5: fences -0.5, 1.75, 7.75, 10; 9 is mild.
        assert_eq!(
            s.outliers,
            OutlierCounts {
                high_mild: 1,
                ..OutlierCounts::default()
            }
        );
        // The summary survives a JSON round trip.
        let json = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!((back.n, back.percentiles.len()), (s.n, 5));
        close(back.mean_ci.unwrap().lower, ci.lower, 1e-15);
    }

    #[test]
    fn summary_of_one_sample() {
        let s = Summary::of(&[3.5]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.stddev, s.median, s.mad),
            (1, 3.5, 0.0, 3.5, 0.0)
        );
        assert_eq!(s.mean_ci, None);
        assert_eq!(s.percentiles["p99.9"], 3.5);
        assert_eq!(s.outliers, OutlierCounts::default());
    }

    #[test]
    fn summary_of_many_samples() {
        // 100k samples: the statistics of 0, 1, ..., 99 999 are known exactly.
        let samples: Vec<f64> = (0..100_000).rev().map(f64::from).collect();
        let s = Summary::of(&samples).unwrap();
        close(s.mean, 49_999.5, 1e-12);
        close(s.median, 49_999.5, 1e-12);
        // Type 7: h = 99 999 * 0.999 = 99 899.001.
        close(s.percentiles["p99.9"], 99_899.001, 1e-9);
        // sd of 0..n-1 is sqrt(n (n + 1) / 12).
        close(s.stddev, (100_000.0_f64 * 100_001.0 / 12.0).sqrt(), 1e-12);
        close(s.mad, 25_000.0, 1e-12);
        assert_eq!(s.outliers.total(), 0);
        let ci = s.mean_ci.unwrap();
        // t(0.975, 99 999) = 1.9599877075346095 (scipy.stats.t.ppf).
        let half = 1.9599877075346095 * s.stddev / 100_000.0_f64.sqrt();
        close(ci.upper - s.mean, half, 1e-9);
    }

    #[test]
    fn tukey_classification() {
        // B: Q1 9.9, Q3 10.2, IQR 0.3 (numpy): fences 9.0, 9.45, 10.65, 11.1.
        let classes = classify_tukey(&B);
        assert_eq!(classes.len(), B.len());
        assert_eq!(classes[10], OutlierClass::HighSevere); // 14.0
        assert_eq!(classes[14], OutlierClass::HighSevere); // 25.0
        assert_eq!(classes[16], OutlierClass::LowSevere); // 5.0
        assert_eq!(classes.iter().filter(|c| c.is_outlier()).count(), 3);
        // Mild ones: quartiles of 1..=8 and 10 are 3 and 7, IQR 4: fences
        // -9, -3, 13, 19.
        let samples = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -4.0, 15.0, 30.0];
        // Recompute by hand: sorted -4 1 2 3 4 5 6 7 8 15 30, n = 11: Q1 at
        // h = 2.5 -> 2.5, Q3 at h = 7.5 -> 7.5, IQR 5: fences -12.5, -5, 15, 22.5.
        let classes = classify_tukey(&samples);
        assert_eq!(classes[8], OutlierClass::Normal); // -4 > -5
        assert_eq!(classes[9], OutlierClass::Normal); // 15 is on the fence
        assert_eq!(classes[10], OutlierClass::HighSevere);
        let samples = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -6.0, 16.0, 30.0, -20.0,
        ];
        // sorted -20 -6 1 2 3 4 5 6 7 8 16 30, n = 12: Q1 at h = 2.75 ->
        // 1.75, Q3 at h = 8.25 -> 7.25, IQR 5.5: fences -14.75, -6.5, 15.5, 23.75.
        let classes = classify_tukey(&samples);
        assert_eq!(
            classes[8..],
            [
                OutlierClass::Normal,
                OutlierClass::HighMild,
                OutlierClass::HighSevere,
                OutlierClass::LowSevere
            ]
        );
        let samples = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -7.0, 16.0, 30.0, -20.0,
        ];
        // sorted -20 -7 1 ..: Q1 at h = 2.75 -> 1.75, fences as above but
        // the low mild fence is -6.5: -7 is low mild.
        assert_eq!(classify_tukey(&samples)[8], OutlierClass::LowMild);
        assert_eq!(
            tukey_outliers(&samples),
            OutlierCounts {
                low_severe: 1,
                low_mild: 1,
                high_mild: 1,
                high_severe: 1
            }
        );
        assert_eq!(
            Summary::of(&samples).unwrap().outliers,
            tukey_outliers(&samples)
        );
    }

    #[test]
    fn tukey_with_non_finite_samples() {
        let samples = [1.0, 2.0, 3.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        assert_eq!(
            classify_tukey(&samples),
            [
                OutlierClass::Normal,
                OutlierClass::Normal,
                OutlierClass::Normal,
                OutlierClass::Normal,
                OutlierClass::HighSevere,
                OutlierClass::LowSevere
            ]
        );
        assert_eq!(classify_tukey(&[f64::NAN]), [OutlierClass::Normal]);
        assert!(classify_tukey(&[]).is_empty());
        assert_eq!(tukey_outliers(&[]), OutlierCounts::default());
    }

    #[test]
    fn modified_z_scores_match_formula() {
        // Reference: numpy, 0.6745 * (x - median) / MAD with MAD 0.5, median 4.5.
        let z = modified_z_scores(&A);
        let expected = [
            -3.3725, -0.6745, -0.6745, -0.6745, 0.6745, 0.6745, 3.3725, 6.0705,
        ];
        for (z, e) in z.iter().zip(expected) {
            close(*z, e, 1e-12);
        }
        let z = modified_z_scores(&B);
        close(z[14], 67.22516666666729, 1e-9);
        close(z[16], -22.708166666666884, 1e-9);
        close(z[7], -1.5738333333333545, 1e-9);
        let outliers = z.iter().filter(|z| z.abs() > MODIFIED_Z_OUTLIER).count();
        assert_eq!(outliers, 3);
    }

    #[test]
    fn modified_z_scores_fallbacks() {
        // MAD 0: median 1, MeanAD = 4 / 7, so z(5) = 4 / (1.253314 * 4 / 7).
        let z = modified_z_scores(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0]);
        close(z[6], 7.0 / 1.253314, 1e-12);
        assert_eq!(z[0], 0.0);
        // All equal: zeros; an infinite sample is infinitely far.
        assert_eq!(modified_z_scores(&[2.0, 2.0, 2.0]), [0.0, 0.0, 0.0]);
        let z = modified_z_scores(&[2.0, 2.0, f64::INFINITY, f64::NEG_INFINITY]);
        assert_eq!(z, [0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY]);
        let z = modified_z_scores(&[1.0, 2.0, 3.0, f64::NAN]);
        assert!(z[3].is_nan());
        close(z[2], 0.6745, 1e-12);
        assert!(modified_z_scores(&[]).is_empty());
        assert!(modified_z_scores(&[f64::NAN])[0].is_nan());
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Reference: scipy.stats.t.ppf (the brief's table values to 3-4 digits).
        let table = [
            (1.0, 0.975, 12.706204736174694),
            (1.0, 0.9995, 636.6192487687897),
            (2.0, 0.995, 9.924843200918287),
            (4.0, 0.975, 2.7764451051977934),
            (9.0, 0.975, 2.262157162798205),
            (9.0, 0.6, 0.260955336473911),
            (29.0, 0.975, 2.045229642132703),
            (29.0, 0.9995, 3.6594050194663748),
            (1000.0, 0.975, 1.9623390808264083),
            (100_000.0, 0.995, 2.575878469908375),
            (1e7, 0.975, 1.959964221767205),
            (1e12, 0.99, 2.3263478740445698),
            (2.5, 0.975, 3.5746548420036817),
            (0.5, 0.975, 164.55767348048818),
        ];
        for (df, p, t) in table {
            let q = student_t_quantile(p, df).unwrap();
            close_rel(q, t, 1e-9);
            close_rel(student_t_quantile(1.0 - p, df).unwrap(), -t, 1e-9);
        }
        close(student_t_quantile(0.975, 1.0).unwrap(), 12.706, 1e-4);
        close(student_t_quantile(0.975, 4.0).unwrap(), 2.776, 1e-3);
        close(student_t_quantile(0.975, 9.0).unwrap(), 2.262, 1e-3);
        close(student_t_quantile(0.975, 29.0).unwrap(), 2.045, 1e-3);
        close(student_t_quantile(0.975, 1000.0).unwrap(), 1.962, 1e-3);
        assert_eq!(student_t_quantile(0.5, 3.0), Some(0.0));
        assert_eq!(student_t_quantile(0.0, 3.0), None);
        assert_eq!(student_t_quantile(1.0, 3.0), None);
        assert_eq!(student_t_quantile(0.9, 0.0), None);
        assert_eq!(student_t_quantile(f64::NAN, 3.0), None);
        assert_eq!(student_t_quantile(0.9, f64::INFINITY), None);
    }

    #[test]
    fn normal_and_erfc_match_scipy() {
        // Reference: scipy.special.erfc and scipy.stats.norm.cdf.
        let erfc_table = [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028516),
            (1.2, 0.08968602177036462),
            (1.3, 0.06599205505934758),
            (2.0, 0.004677734981047266),
            (3.0, 2.2090496998585445e-05),
            (5.0, 1.5374597944280347e-12),
            (10.0, 2.0884875837625446e-45),
            (26.0, 5.663192408856145e-296),
            (-1.0, 1.8427007929497148),
        ];
        for (x, e) in erfc_table {
            close_rel(erfc(x), e, 1e-12);
        }
        assert_eq!(erfc(40.0), 0.0);
        assert_eq!(erfc(-40.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
        let cdf_table = [
            (-8.0, 6.22096057427174e-16),
            (-3.0, 0.0013498980316300933),
            (-1.96, 0.024997895148220435),
            (-0.5, 0.3085375387259869),
            (0.0, 0.5),
            (0.5, 0.6914624612740131),
            (1.96, 0.9750021048517795),
            (3.0, 0.9986501019683699),
        ];
        for (x, e) in cdf_table {
            close_rel(normal_cdf(x), e, 1e-12);
        }
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn f_distribution_matches_scipy() {
        // Reference: scipy.stats.f.sf(f, d1, d2).
        let table = [
            (5.0, 1.0, 3.0, 0.11136715471408383),
            (100.0, 1.0, 1.0, 0.06345103486110713),
            (2.5, 1.0, 8.0, 0.15250228520801445),
            (0.3, 1.0, 20.0, 0.5899435276257488),
        ];
        for (f, d1, d2, e) in table {
            close_rel(f_distribution_sf(f, d1, d2), e, 1e-10);
        }
        assert_eq!(f_distribution_sf(0.0, 1.0, 3.0), 1.0);
        assert_eq!(f_distribution_sf(f64::INFINITY, 1.0, 3.0), 0.0);
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        // Reference: scipy.stats.mannwhitneyu(x, y, alternative="two-sided",
        // method="asymptotic", use_continuity=True) (scipy 1.17).
        let x = [1.1, 2.3, 3.3, 4.5, 5.0, 6.2, 7.7, 8.1];
        let y = [3.0, 4.5, 6.0, 8.8, 9.1, 10.5, 11.0, 12.2, 13.4];
        let r = mann_whitney_u(&x, &y).unwrap();
        close(r.u, 13.5, 1e-12);
        close_rel(r.p_value, 0.03415395725471483, 1e-9);
        assert!(r.z < 0.0);
        // Many ties.
        let x = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0, 6.0];
        let y = [3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 6.0, 7.0, 7.0, 8.0, 9.0];
        let r = mann_whitney_u(&x, &y).unwrap();
        close(r.u, 17.5, 1e-12);
        close_rel(r.p_value, 0.008507986774119168, 1e-9);
        let swapped = mann_whitney_u(&y, &x).unwrap();
        close(swapped.u, 92.5, 1e-12);
        close_rel(swapped.p_value, r.p_value, 1e-12);
        close(swapped.z, -r.z, 1e-12);
        // |U - n1 n2 / 2| < 0.5: no evidence at all.
        let r = mann_whitney_u(&[1.0, 2.0, 3.0], &[1.5, 2.5]).unwrap();
        assert_eq!((r.u, r.z, r.p_value), (3.0, 0.0, 1.0));
    }

    #[test]
    fn mann_whitney_edge_cases() {
        let r = mann_whitney_u(&[1.0, 1.0], &[1.0, 1.0, 1.0]).unwrap();
        assert_eq!((r.u, r.z, r.p_value), (3.0, 0.0, 1.0));
        assert_eq!(mann_whitney_u(&[], &[1.0]), None);
        assert_eq!(mann_whitney_u(&[1.0], &[]), None);
        assert_eq!(mann_whitney_u(&[1.0, f64::NAN], &[1.0]), None);
        // Complete separation of 20 against 20: U = 0, tiny p-value.
        let a: Vec<f64> = (0..20).map(f64::from).collect();
        let b: Vec<f64> = (100..120).map(f64::from).collect();
        let r = mann_whitney_u(&a, &b).unwrap();
        assert_eq!(r.u, 0.0);
        assert!(r.p_value < 1e-6, "{r:?}");
    }

    #[test]
    fn bootstrap_is_deterministic() {
        let a = bootstrap_ci(&B, Statistic::Mean, 0.95, 2000, 42).unwrap();
        let b = bootstrap_ci(&B, Statistic::Mean, 0.95, 2000, 42).unwrap();
        assert_eq!(a, b);
        let c = bootstrap_ci(&B, Statistic::Mean, 0.95, 2000, 43).unwrap();
        assert_ne!(a, c);
        assert_eq!(a.level, 0.95);
        let m = bootstrap_ci(&B, Statistic::Median, 0.9, 2000, 42).unwrap();
        assert_eq!(
            m,
            bootstrap_ci(&B, Statistic::Median, 0.9, 2000, 42).unwrap()
        );
        assert!(m.lower <= 10.05 && 10.05 <= m.upper, "{m:?}");
        assert!(m.upper - m.lower < a.upper - a.lower);
    }

    #[test]
    fn bootstrap_covers_the_true_mean() {
        // 200 draws from uniform(0, 10) (true mean 5, sd 10 / sqrt(12)).
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let samples: Vec<f64> = (0..200).map(|_| rng.random_range(0.0..10.0)).collect();
        let ci = bootstrap_ci(&samples, Statistic::Mean, 0.95, 5000, 1).unwrap();
        assert!(ci.contains(5.0), "{ci:?}");
        assert!(ci.contains(mean(&samples).unwrap()), "{ci:?}");
        // The percentile interval is close to the t interval on such data.
        let t = mean_confidence_interval(&samples, 0.95).unwrap();
        let (w_boot, w_t) = (ci.upper - ci.lower, t.upper - t.lower);
        assert!((w_boot / w_t - 1.0).abs() < 0.1, "{w_boot} vs {w_t}");
        let med = bootstrap_ci(&samples, Statistic::Median, 0.95, 2000, 1).unwrap();
        assert!(med.contains(5.0), "{med:?}");
    }

    #[test]
    fn bootstrap_bad_input() {
        assert_eq!(bootstrap_ci(&[], Statistic::Mean, 0.95, 100, 0), None);
        assert_eq!(
            bootstrap_ci(&[1.0, f64::NAN], Statistic::Mean, 0.95, 100, 0),
            None
        );
        assert_eq!(bootstrap_ci(&[1.0], Statistic::Mean, 1.0, 100, 0), None);
        assert_eq!(bootstrap_ci(&[1.0], Statistic::Mean, 0.0, 100, 0), None);
        assert_eq!(
            bootstrap_ci(&[1.0], Statistic::Mean, f64::NAN, 100, 0),
            None
        );
        assert_eq!(bootstrap_ci(&[1.0], Statistic::Mean, 0.95, 0, 0), None);
        let one = bootstrap_ci(&[3.0], Statistic::Median, 0.95, 10, 0).unwrap();
        assert_eq!((one.lower, one.upper), (3.0, 3.0));
        assert_eq!(
            bootstrap_ratio_ci(&[0.0, 0.0], &[1.0], Statistic::Mean, 0.95, 10, 0),
            None
        );
        assert_eq!(
            bootstrap_ratio_ci(&[], &[1.0], Statistic::Mean, 0.95, 10, 0),
            None
        );
        assert_eq!(
            bootstrap_ratio_ci(&[1.0], &[1.0], Statistic::Mean, 0.95, 0, 0),
            None
        );
    }

    #[test]
    fn ratio_interval_and_comparison() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let base: Vec<f64> = (0..50).map(|_| rng.random_range(9.5..10.5)).collect();
        let head: Vec<f64> = (0..40).map(|_| rng.random_range(11.5..12.5)).collect();
        let ci = bootstrap_ratio_ci(&base, &head, Statistic::Mean, 0.95, 2000, 3).unwrap();
        assert!(ci.contains(1.2), "{ci:?}");
        assert!(ci.lower > 1.15 && ci.upper < 1.25, "{ci:?}");
        assert_eq!(
            ci,
            bootstrap_ratio_ci(&base, &head, Statistic::Mean, 0.95, 2000, 3).unwrap()
        );

        let config = CompareConfig {
            resamples: 2000,
            ..CompareConfig::default()
        };
        let c = compare_samples(&base, &head, &config).unwrap();
        close(c.ratio, mean(&head).unwrap() / mean(&base).unwrap(), 1e-12);
        assert!(c.ratio_ci.contains(c.ratio), "{c:?}");
        // Every resample is slower: the smallest p-value 2000 resamples give.
        close(c.p_value, 2.0 / 2001.0, 1e-12);
        // serde_json's default float parsing may differ in the last bit.
        let json = serde_json::to_string(&c).unwrap();
        let back: TwoSampleComparison = serde_json::from_str(&json).unwrap();
        close(back.ratio_ci.upper, c.ratio_ci.upper, 1e-15);

        // The same values in another order: ratio 1, U = n^2 / 2, p = 1.
        let other: Vec<f64> = base.iter().rev().copied().collect();
        let c = compare_samples(&base, &other, &config).unwrap();
        close(c.ratio, 1.0, 1e-12);
        assert!(c.ratio_ci.contains(1.0), "{c:?}");
        assert!(c.ratio_ci.upper - c.ratio_ci.lower < 0.05, "{c:?}");
        // The resamples fall on both sides of 1: far from significant.
        assert!(c.p_value > 0.5, "{c:?}");
        let median = CompareConfig {
            statistic: Statistic::Median,
            ..config
        };
        let c = compare_samples(&base, &head, &median).unwrap();
        close(
            c.ratio,
            self::median(&head).unwrap() / self::median(&base).unwrap(),
            1e-12,
        );

        // The p-value and the interval agree, whatever the data: below 5%
        // exactly where the 95% interval leaves 1 out.
        for seed in 0..40 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let shift = rng.random_range(0.97..1.03);
            let a: Vec<f64> = (0..8).map(|_| rng.random_range(0.9..1.1)).collect();
            let b: Vec<f64> = (0..8)
                .map(|_| {
                    shift
                        * rng.random_range(0.9..1.1)
                        * if rng.random_bool(0.1) { 3.0 } else { 1.0 }
                })
                .collect();
            let c = compare_samples(&a, &b, &config).unwrap();
            // Up to the resamples' resolution at the boundary itself.
            let at_boundary = (c.p_value - 0.05).abs() < 2.0 / 2001.0;
            assert!(
                at_boundary || (c.p_value < 0.05) != c.ratio_ci.contains(1.0),
                "seed {seed}: {c:?}"
            );
        }

        assert_eq!(compare_samples(&[], &head, &config), None);
        assert_eq!(compare_samples(&[0.0, 0.0], &head, &config), None);
        let bad = CompareConfig {
            level: 2.0,
            ..config
        };
        assert_eq!(compare_samples(&base, &head, &bad), None);
    }

    #[test]
    fn compare_config_defaults_and_serde() {
        let c = CompareConfig::default();
        assert_eq!(c.statistic, Statistic::Mean);
        assert_eq!((c.level, c.resamples, c.seed), (0.95, 10_000, 0x5eed));
        assert_eq!(
            serde_json::to_string(&Statistic::Median).unwrap(),
            "\"median\""
        );
        assert_eq!(
            serde_json::to_string(&OutlierClass::HighSevere).unwrap(),
            "\"high_severe\""
        );
        assert_eq!(Statistic::Mean.compute(&A), Some(5.0));
        assert_eq!(Statistic::Median.compute(&A), Some(4.5));
    }

    #[test]
    fn ratio_uncertainty_like_hyperfine() {
        // 2 ± 0.1 over 1 ± 0.05: ratio 2, relative errors 5% and 5%:
        // sd = 2 * sqrt(0.05^2 + 0.05^2).
        let (r, sd) = ratio_with_uncertainty(2.0, 0.1, 1.0, 0.05);
        close(r, 2.0, 1e-15);
        close(sd, 2.0 * (2.0 * 0.05_f64 * 0.05).sqrt(), 1e-14);
        let (r, sd) = ratio_with_uncertainty(3.0, 0.3, 6.0, 0.0);
        close(r, 0.5, 1e-15);
        close(sd, 0.05, 1e-15);
        // A zero numerator keeps a finite deviation.
        let (r, sd) = ratio_with_uncertainty(0.0, 0.2, 4.0, 1.0);
        assert_eq!(r, 0.0);
        close(sd, 0.05, 1e-15);
        let (r, _) = ratio_with_uncertainty(1.0, 0.1, 0.0, 0.1);
        assert!(!r.is_finite());
    }

    #[test]
    fn welch_on_summaries() {
        // Equal means: ratio 1, p 1, an interval around 1.
        let w = welch_ratio((10.0, 1.0, 20), (10.0, 1.0, 20), 0.95).unwrap();
        assert_eq!(w.ratio, 1.0);
        assert!((w.p_value - 1.0).abs() < 1e-12);
        assert!(w.ratio_ci.lower < 1.0 && w.ratio_ci.upper > 1.0);
        // A 10% shift with 1% noise over 20 rounds is far beyond chance.
        let w = welch_ratio((10.0, 0.1, 20), (11.0, 0.1, 20), 0.95).unwrap();
        assert!((w.ratio - 1.1).abs() < 1e-12);
        assert!(w.p_value < 1e-10, "{}", w.p_value);
        assert!(w.ratio_ci.lower > 1.09 && w.ratio_ci.upper < 1.11);
        // The textbook case: t = 1 with 2 + 2 observations of unit spread
        // and a difference of 1 (se = 1, df = 2): p = 0.4226.
        let w = welch_ratio((10.0, 1.0, 2), (11.0, 1.0, 2), 0.95).unwrap();
        assert!((w.p_value - 0.422_649_7).abs() < 1e-6, "{}", w.p_value);
        // Too few observations, or an impossible mean: no comparison.
        assert!(welch_ratio((10.0, 1.0, 1), (11.0, 1.0, 5), 0.95).is_none());
        assert!(welch_ratio((0.0, 1.0, 3), (11.0, 1.0, 5), 0.95).is_none());
        assert!(welch_ratio((1.0, f64::NAN, 3), (1.0, 1.0, 5), 0.95).is_none());
    }
}
