//! The Wilcoxon signed-rank test and the Hodges-Lehmann estimator of a
//! one-sample (or paired) location, with its distribution-free interval.
//!
//! Given differences `d` (for paired measurements, the per-pair log ratios):
//!
//! - [`signed_rank_test`] tests whether they are centred on 0: the
//!   statistic `W+` is the sum of the ranks of `|d|` over the positive
//!   differences (zeros dropped, ties given their mean rank), and its
//!   two-sided p-value comes from the exact null distribution (every sign
//!   equally likely) up to [`EXACT_MAX_N`] differences, from the normal
//!   approximation with tie and continuity corrections above;
//! - [`hodges_lehmann`] estimates the centre as the median of the Walsh
//!   averages `(d[i] + d[j]) / 2, i <= j`, and [`hodges_lehmann_interval`]
//!   gives the interval of the values the test would not reject: two order
//!   statistics of the Walsh averages, picked with the exact critical value
//!   of `W+` (normal approximation above [`EXACT_MAX_N`]).
//!
//! Neither assumes normality, only a distribution symmetric about its
//! centre, and one wild difference moves them by at most one rank: the
//! estimate and interval of 10 differences with one far off barely move,
//! where the mean and its t interval are dragged by it.
//!
//! The test is discrete: with `n` differences the smallest two-sided p-value
//! it can give is `2 / 2^n` ([`min_p_value`]): 0.0625 for 5, so with fewer
//! than 6 differences nothing is ever significant at 5%
//! ([`pairs_needed`]).
//!
//! The exact distributions are counted by dynamic programming over the
//! subset sums of the (doubled) ranks, `O(n^3)` for `n` differences: at most
//! 50 x 2550 steps. The counts, at most `2^50`, are exact in `u64`.

use crate::stats::{ConfidenceInterval, normal_sf};

/// Up to this many differences, p-values and critical values come from the
/// exact distribution of `W+`; above it, from the normal approximation.
pub const EXACT_MAX_N: usize = 50;

/// The result of a two-sided Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// The number of differences tested: those that are not 0.
    pub n: usize,
    /// The number of differences equal to 0, dropped from the test.
    pub zeros: usize,
    /// The sum of the ranks of `|d|` (mean ranks for ties) over the
    /// positive differences.
    pub w_plus: f64,
    /// The two-sided p-value; 1 when no difference is left.
    pub p_value: f64,
    /// Whether the p-value is exact (given the ties), rather than from the
    /// normal approximation.
    pub exact: bool,
}

/// The smallest two-sided p-value the signed-rank test can give with `n`
/// non-zero differences: `2 / 2^n` (all of one sign), 1 for `n <= 1`.
pub fn min_p_value(n: usize) -> f64 {
    if n <= 1 {
        1.0
    } else {
        // 2^(1 - n), 0 once it underflows.
        0.5_f64.powi(i32::try_from(n - 1).unwrap_or(i32::MAX))
    }
}

/// The fewest non-zero differences with which the two-sided signed-rank
/// test can give a p-value below `alpha` (for 0.05: 6, since
/// `2 / 2^6 = 0.031`). `None` unless `0 < alpha <= 1`.
pub fn pairs_needed(alpha: f64) -> Option<usize> {
    if !(alpha > 0.0 && alpha <= 1.0) {
        return None;
    }
    (2..=1100).find(|&n| min_p_value(n) < alpha)
}

/// The number of subsets of `scores` with each sum: `counts[s]` is the
/// number of subsets summing to `s`, for `s` in `0..=sum(scores)`.
///
/// Callers keep `scores.len() <= 63` so the counts (at most `2^len`) fit.
fn subset_sum_counts(scores: &[usize]) -> Vec<u64> {
    let total: usize = scores.iter().sum();
    let mut counts = vec![0_u64; total + 1];
    counts[0] = 1;
    let mut reached = 0;
    for &s in scores {
        reached += s;
        for w in (s..=reached).rev() {
            counts[w] += counts[w - s];
        }
    }
    counts
}

/// The exact null distribution of `W+` for `n` untied, non-zero
/// differences: `counts[w]` sign assignments of the `2^n` give `W+ = w`,
/// for `w` in `0..=n(n + 1)/2`. `None` above [`EXACT_MAX_N`].
pub fn signed_rank_counts(n: usize) -> Option<Vec<u64>> {
    if n > EXACT_MAX_N {
        return None;
    }
    let ranks: Vec<usize> = (1..=n).collect();
    Some(subset_sum_counts(&ranks))
}

/// `P(W+ <= w)` for `n` untied, non-zero differences under the null
/// hypothesis, exactly. `None` above [`EXACT_MAX_N`].
pub fn signed_rank_cdf(n: usize, w: usize) -> Option<f64> {
    let counts = signed_rank_counts(n)?;
    let below: u64 = counts.iter().take(w + 1).sum();
    Some(below as f64 / 2f64.powi(n as i32))
}

/// The two-sided critical value of `W+` at `alpha` for `n` untied
/// differences, as printed in tables: the largest `T` with
/// `P(W+ <= T) <= alpha / 2`, so that `min(W+, W-) <= T` rejects. For
/// example 8 for `n = 10` and `alpha = 0.05`, 52 for `n = 20`.
///
/// Exact up to [`EXACT_MAX_N`], from the continuity-corrected normal
/// approximation above. `None` when no value qualifies (too few
/// differences: `P(W+ = 0) = 2^-n` is already above `alpha / 2`) or when
/// `alpha` is not strictly between 0 and 1.
pub fn signed_rank_critical_value(n: usize, alpha: f64) -> Option<usize> {
    if !(alpha > 0.0 && alpha < 1.0) || n == 0 {
        return None;
    }
    let tail = alpha / 2.0;
    if let Some(counts) = signed_rank_counts(n) {
        let total = 2f64.powi(n as i32);
        let mut below = 0_u64;
        let mut critical = None;
        for (w, &c) in counts.iter().enumerate() {
            below += c;
            if below as f64 / total <= tail {
                critical = Some(w);
            } else {
                break;
            }
        }
        return critical;
    }
    // P(W+ <= w) ~ Φ((w + 0.5 - μ) / σ) <= tail  <=>  w <= μ - 0.5 - z σ.
    let (mu, sigma) = untied_moments(n);
    let z = normal_upper_quantile(tail);
    let w = (mu - 0.5 - z * sigma).floor();
    (w >= 0.0).then_some(w as usize)
}

/// The mean and standard deviation of `W+` for `n` untied differences.
fn untied_moments(n: usize) -> (f64, f64) {
    let nf = n as f64;
    let mu = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0;
    (mu, var.sqrt())
}

/// `P(W+ <= w)` by the continuity-corrected normal approximation, untied.
fn untied_normal_cdf(n: usize, w: f64) -> f64 {
    let (mu, sigma) = untied_moments(n);
    normal_sf(-(w + 0.5 - mu) / sigma)
}

/// The `z` with `P(Z > z) = tail`, `0 < tail < 1`, by bisection.
fn normal_upper_quantile(tail: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0_f64, 40.0_f64);
    for _ in 0..200 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if normal_sf(mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo + (hi - lo) / 2.0
}

/// The two-sided Wilcoxon signed-rank test of differences `d` against 0.
///
/// Differences equal to 0 are dropped (Wilcoxon's convention, scipy's
/// default `zero_method="wilcox"`); the others are ranked by absolute
/// value, exactly equal ones sharing their mean rank. With at most
/// [`EXACT_MAX_N`] of them the p-value is exact: the distribution of `W+`
/// over the `2^n` sign assignments of these very ranks (ties included),
/// counted on doubled ranks, and `p = 2 min(P(W+ <= w), P(W+ >= w))`
/// capped at 1 (as scipy's `method="exact"` without ties). Above, the normal
/// approximation with the tie correction of the variance and a continuity
/// correction of 0.5.
///
/// `None` when `d` is empty or has a value that is not finite.
pub fn signed_rank_test(d: &[f64]) -> Option<SignedRank> {
    if d.is_empty() || !d.iter().all(|x| x.is_finite()) {
        return None;
    }
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let zeros = d.len() - nonzero.len();
    let n = nonzero.len();
    if n == 0 {
        return Some(SignedRank {
            n,
            zeros,
            w_plus: 0.0,
            p_value: 1.0,
            exact: true,
        });
    }
    nonzero.sort_unstable_by(|a, b| a.abs().total_cmp(&b.abs()));
    // Doubled mean ranks: samples i..j tied share rank (i + 1 + j) / 2.
    let mut doubled = vec![0_usize; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && nonzero[j].abs() == nonzero[i].abs() {
            j += 1;
        }
        for r in &mut doubled[i..j] {
            *r = i + 1 + j;
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let w2: usize = nonzero
        .iter()
        .zip(&doubled)
        .filter(|(x, _)| **x > 0.0)
        .map(|(_, r)| r)
        .sum();
    let w_plus = w2 as f64 / 2.0;
    if n <= EXACT_MAX_N {
        let counts = subset_sum_counts(&doubled);
        let total = 2f64.powi(n as i32);
        let below: u64 = counts[..=w2].iter().sum();
        let above: u64 = counts[w2..].iter().sum();
        let tail = below.min(above) as f64 / total;
        return Some(SignedRank {
            n,
            zeros,
            w_plus,
            p_value: (2.0 * tail).min(1.0),
            exact: true,
        });
    }
    let nf = n as f64;
    let mu = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    let diff = w_plus - mu;
    let p_value = if var > 0.0 {
        let z = (diff.abs() - 0.5).max(0.0) / var.sqrt();
        (2.0 * normal_sf(z)).min(1.0)
    } else {
        1.0
    };
    Some(SignedRank {
        n,
        zeros,
        w_plus,
        p_value,
        exact: false,
    })
}

/// The Walsh averages `(d[i] + d[j]) / 2` for `i <= j`, sorted ascending:
/// `n(n + 1)/2` of them.
fn walsh_averages(d: &[f64]) -> Vec<f64> {
    let n = d.len();
    let mut w = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            // Halves first: no overflow for finite values.
            w.push(d[i] / 2.0 + d[j] / 2.0);
        }
    }
    w.sort_unstable_by(f64::total_cmp);
    w
}

/// The median of values sorted ascending (not empty).
fn median_sorted(sorted: &[f64]) -> f64 {
    let m = sorted.len();
    if m % 2 == 1 {
        sorted[m / 2]
    } else {
        let (a, b) = (sorted[m / 2 - 1], sorted[m / 2]);
        a + (b - a) / 2.0
    }
}

/// The Hodges-Lehmann estimate of the centre of `d`: the median of its
/// Walsh averages `(d[i] + d[j]) / 2, i <= j`. `None` when `d` is empty or
/// has a value that is not finite.
pub fn hodges_lehmann(d: &[f64]) -> Option<f64> {
    if d.is_empty() || !d.iter().all(|x| x.is_finite()) {
        return None;
    }
    Some(median_sorted(&walsh_averages(d)))
}

/// The Hodges-Lehmann estimate with its distribution-free interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HodgesLehmann {
    /// The median of the Walsh averages.
    pub estimate: f64,
    /// The interval at the requested level (its `level` field).
    pub ci: ConfidenceInterval,
    /// The interval's actual confidence: the distribution of `W+` is
    /// discrete, so this is the attainable level nearest at or above the one
    /// asked; below it when there are too few values to reach it (then the
    /// interval is the widest there is, from the smallest to the largest
    /// value).
    pub achieved_level: f64,
    /// Whether the critical value is exact rather than from the normal
    /// approximation.
    pub exact: bool,
}

/// The Hodges-Lehmann estimate of the centre of `d` and the interval that
/// inverts the two-sided signed-rank test at `level` (Hollander and Wolfe,
/// as R's `wilcox.test(d, conf.int = TRUE)`): with the Walsh averages sorted
/// `A(1) <= ... <= A(M)`, `M = n(n + 1)/2`, the interval is
/// `[A(k), A(M + 1 - k)]` where `k - 1` is the critical value
/// ([`signed_rank_critical_value`] at `1 - level`), its confidence
/// `1 - 2 P(W+ <= k - 1)`. With too few values to reach `level`, `k = 1`.
///
/// Every value counts, zeros included (the interval is that of the
/// location of `d`, not a test of 0). The critical value is exact up to
/// [`EXACT_MAX_N`] values (as for continuous data, without a tie
/// correction) and from the normal approximation above.
///
/// `None` when `d` is empty or has a value that is not finite, or when
/// `level` is not strictly between 0 and 1.
pub fn hodges_lehmann_interval(d: &[f64], level: f64) -> Option<HodgesLehmann> {
    if d.is_empty() || !d.iter().all(|x| x.is_finite()) || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let n = d.len();
    let walsh = walsh_averages(d);
    let m = walsh.len();
    let estimate = median_sorted(&walsh);
    let alpha = 1.0 - level;
    let exact = n <= EXACT_MAX_N;
    let critical = signed_rank_critical_value(n, alpha);
    // k - 1 = the critical value, at most (M - 1) / 2 so that k <= M + 1 - k.
    let k = critical.map_or(1, |c| (c + 1).min(m.div_ceil(2)));
    let below = if exact {
        signed_rank_cdf(n, k - 1)?
    } else {
        untied_normal_cdf(n, (k - 1) as f64)
    };
    Some(HodgesLehmann {
        estimate,
        ci: ConfidenceInterval {
            level,
            lower: walsh[k - 1],
            upper: walsh[m - k],
        },
        achieved_level: (1.0 - 2.0 * below).max(0.0),
        exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "{actual} is not within {tol} of {expected}"
        );
    }

    #[test]
    fn exact_distribution_small_n() {
        // n = 3: sign assignments give W+ = 0, 1, 2, 3, 3, 4, 5, 6.
        assert_eq!(signed_rank_counts(3).unwrap(), vec![1, 1, 1, 2, 1, 1, 1]);
        assert_eq!(signed_rank_counts(0).unwrap(), vec![1]);
        for n in 1..=EXACT_MAX_N {
            let c = signed_rank_counts(n).unwrap();
            assert_eq!(c.len(), n * (n + 1) / 2 + 1);
            assert_eq!(c.iter().sum::<u64>(), 1_u64 << n);
            // Symmetric about n(n + 1)/4.
            assert!(c.iter().eq(c.iter().rev()), "n = {n}");
        }
        assert!(signed_rank_counts(EXACT_MAX_N + 1).is_none());
        // Counted by enumeration (R's psignrank gives the same):
        // P(W+ <= 8 | n = 10) = 25 / 1024, P(W+ <= 52 | n = 20) =
        // 25 397 / 2^20.
        close(signed_rank_cdf(10, 8).unwrap(), 25.0 / 1024.0, 1e-15);
        close(signed_rank_cdf(10, 9).unwrap(), 33.0 / 1024.0, 1e-15);
        close(
            signed_rank_cdf(20, 52).unwrap(),
            0.024_220_466_613_769_53,
            1e-15,
        );
        close(signed_rank_cdf(5, 0).unwrap(), 1.0 / 32.0, 1e-15);
    }

    #[test]
    fn critical_values_match_tables() {
        // Two-sided 5% critical values of the signed-rank statistic (e.g.
        // Hollander and Wolfe, table A.4; any statistics text).
        let table_05 = [
            (6, 0),
            (7, 2),
            (8, 3),
            (9, 5),
            (10, 8),
            (11, 10),
            (12, 13),
            (13, 17),
            (14, 21),
            (15, 25),
            (16, 29),
            (17, 34),
            (18, 40),
            (19, 46),
            (20, 52),
            (25, 89),
            (30, 137),
        ];
        for (n, t) in table_05 {
            assert_eq!(signed_rank_critical_value(n, 0.05), Some(t), "n = {n}");
        }
        // Two-sided 1%.
        let table_01 = [(8, 0), (10, 3), (15, 15), (20, 37), (30, 109)];
        for (n, t) in table_01 {
            assert_eq!(signed_rank_critical_value(n, 0.01), Some(t), "n = {n}");
        }
        // Too few differences: nothing can be significant.
        assert_eq!(signed_rank_critical_value(5, 0.05), None);
        assert_eq!(signed_rank_critical_value(7, 0.01), None);
        assert_eq!(signed_rank_critical_value(10, 0.0), None);
        assert_eq!(signed_rank_critical_value(10, 1.0), None);
        // The normal approximation continues the exact values smoothly:
        // within one or two of the exact critical value at n = 50.
        let exact = signed_rank_critical_value(50, 0.05).unwrap();
        assert_eq!(exact, 434);
        let (mu, sigma) = untied_moments(50);
        let approx = (mu - 0.5 - 1.959_963_984_540_054 * sigma).floor() as usize;
        assert!(exact.abs_diff(approx) <= 2, "{exact} vs {approx}");
        // n = 100 (normal): μ = 2525, σ = 290.84; 2525 - 0.5 - 1.96 σ = 1954.5.
        assert_eq!(signed_rank_critical_value(100, 0.05), Some(1954));
    }

    #[test]
    fn smallest_p_values_and_rounds_needed() {
        assert_eq!(min_p_value(5), 0.0625);
        assert_eq!(min_p_value(6), 0.03125);
        assert_eq!(min_p_value(1), 1.0);
        assert_eq!(pairs_needed(1.0 - 0.95), Some(6));
        assert_eq!(pairs_needed(0.01), Some(8));
        assert_eq!(pairs_needed(0.0625), Some(6));
        assert_eq!(pairs_needed(0.0), None);
        // All of one sign gives exactly the smallest p-value.
        let d = [0.1, 0.2, 0.3, 0.4, 0.5];
        assert_eq!(signed_rank_test(&d).unwrap().p_value, 0.0625);
    }

    #[test]
    fn signed_rank_test_matches_scipy() {
        // By hand (scipy.stats.wilcoxon(d, method="exact") agrees).
        // d ranked by |d|: 0.5 (1), -1 (2), 1.5 (3), 2 (4), 3 (5), -4 (6),
        // 5 (7), 6 (8): W+ = 1 + 3 + 4 + 5 + 7 + 8 = 28, W- = 8;
        // p = 2 P(W+ <= 8 | n = 8) = 2 * 25 / 256.
        let d = [2.0, -1.0, 3.0, 0.5, 6.0, -4.0, 1.5, 5.0];
        let r = signed_rank_test(&d).unwrap();
        assert_eq!((r.n, r.zeros, r.w_plus, r.exact), (8, 0, 28.0, true));
        close(r.p_value, 50.0 / 256.0, 1e-15);
        // Symmetric in the sign.
        let neg: Vec<f64> = d.iter().map(|x| -x).collect();
        let r2 = signed_rank_test(&neg).unwrap();
        assert_eq!(r2.w_plus, 8.0);
        assert_eq!(r2.p_value, r.p_value);
        // Zeros are dropped; ties share their mean rank and the exact
        // p-value is that of the tied ranks: |d| = 1, 1, 2 with ranks 1.5,
        // 1.5, 3, all positive: W+ = 6, P(W+ >= 6) = 1/8, p = 1/4.
        let r = signed_rank_test(&[1.0, 0.0, 1.0, 2.0, 0.0]).unwrap();
        assert_eq!((r.n, r.zeros, r.w_plus), (3, 2, 6.0));
        close(r.p_value, 0.25, 1e-15);
        // Ties across signs: 1, -1, 2: ranks 1.5, 1.5, 3, W+ = 4.5; the
        // doubled ranks 3, 3, 6 give subset sums 0, 3, 3, 6, 6, 9, 9, 12
        // (doubled W+ 9): P(W+ >= 4.5) = 3/8, p = 3/4.
        let r = signed_rank_test(&[1.0, -1.0, 2.0]).unwrap();
        assert_eq!(r.w_plus, 4.5);
        assert_eq!(r.p_value, 0.75);
        // Nothing but zeros: no evidence.
        let r = signed_rank_test(&[0.0, 0.0]).unwrap();
        assert_eq!((r.n, r.p_value), (0, 1.0));
        assert!(signed_rank_test(&[]).is_none());
        assert!(signed_rank_test(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn signed_rank_normal_approximation() {
        // 60 differences 1..=60, the first 20 negative: W+ = sum(21..=60) =
        // 1620, μ = 915, σ² = 60 * 61 * 121 / 24 = 18452.5;
        // z = (705 - 0.5) / 135.84 = 5.186, p = 2 Φ(-z) = 2.1457e-7 (as
        // scipy.stats.wilcoxon(d, method="approx", correction=True)).
        let d: Vec<f64> = (1..=60)
            .map(|i| if i <= 20 { -f64::from(i) } else { f64::from(i) })
            .collect();
        let r = signed_rank_test(&d).unwrap();
        assert!(!r.exact);
        assert_eq!(r.w_plus, 1620.0);
        let z: f64 = 704.5 / 18452.5_f64.sqrt();
        close(r.p_value, 2.0 * normal_sf(z), 1e-18);
        assert!((r.p_value - 2.1457e-7).abs() < 0.0001e-7, "{}", r.p_value);
    }

    #[test]
    fn hodges_lehmann_small_examples() {
        // d = 1, 2, 9: Walsh averages 1, 1.5, 2, 5, 5.5, 9: median 3.5
        // (the mean is 4, the median 2).
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 9.0]), Some(3.5));
        // d = 1, 3: averages 1, 2, 3.
        assert_eq!(hodges_lehmann(&[3.0, 1.0]), Some(2.0));
        assert_eq!(hodges_lehmann(&[7.0]), Some(7.0));
        // Symmetric data: the centre.
        assert_eq!(hodges_lehmann(&[-2.0, -1.0, 0.0, 1.0, 2.0]), Some(0.0));
        // One wild value does not move it here (the averages it is part of
        // were above the median already), where the mean goes from 5.5 to
        // 14.5: 1..=9 and 100 instead of 10.
        let mut d: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(hodges_lehmann(&d), Some(5.5));
        d[9] = 100.0;
        assert_eq!(hodges_lehmann(&d), Some(5.5));
        assert!(hodges_lehmann(&[]).is_none());
        assert!(hodges_lehmann(&[f64::INFINITY]).is_none());
    }

    #[test]
    fn hodges_lehmann_interval_of_known_sets() {
        // n = 10: the 5% critical value is 8, so k = 9: the interval runs
        // from the 9th to the 47th of the 55 Walsh averages, at confidence
        // 1 - 2 * 25/1024 = 0.9512 (as R's wilcox.test(conf.int = TRUE)).
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        let hl = hodges_lehmann_interval(&d, 0.95).unwrap();
        // Walsh averages of 1..=10 sorted: 1, 1.5, 2, 2, 2.5, 2.5, 3, 3, 3
        // (9th), ...; by symmetry the 47th is 11 - 3 = 8.
        assert_eq!(hl.estimate, 5.5);
        assert_eq!((hl.ci.lower, hl.ci.upper, hl.ci.level), (3.0, 8.0, 0.95));
        close(hl.achieved_level, 1.0 - 50.0 / 1024.0, 1e-15);
        assert!(hl.exact);
        // Too few values for 95%: the widest interval, at 1 - 2/2^4.
        let hl = hodges_lehmann_interval(&[1.0, 2.0, 4.0, 8.0], 0.95).unwrap();
        assert_eq!((hl.ci.lower, hl.ci.upper), (1.0, 8.0));
        assert_eq!(hl.achieved_level, 0.875);
        // The interval excludes 0 exactly when the test rejects at 5%.
        let d = [0.3, -0.1, 0.5, 0.2, 0.4, 0.25, 0.35, 0.15];
        let hl = hodges_lehmann_interval(&d, 0.95).unwrap();
        let p = signed_rank_test(&d).unwrap().p_value;
        assert!(p < 0.05 && hl.ci.lower > 0.0, "{p} {hl:?}");
        let d = [0.3, -0.1, 0.5, -0.2, 0.4, 0.25, 0.35, 0.15];
        let hl = hodges_lehmann_interval(&d, 0.95).unwrap();
        let p = signed_rank_test(&d).unwrap().p_value;
        assert!(p >= 0.05 && hl.ci.contains(0.0), "{p} {hl:?}");
        // One value: the point.
        let hl = hodges_lehmann_interval(&[2.0], 0.95).unwrap();
        assert_eq!((hl.ci.lower, hl.ci.upper, hl.estimate), (2.0, 2.0, 2.0));
        assert!(hodges_lehmann_interval(&[1.0, 2.0], 1.0).is_none());
        assert!(hodges_lehmann_interval(&[], 0.95).is_none());
    }

    #[test]
    fn hodges_lehmann_interval_large_n_uses_the_normal_critical_value() {
        let d: Vec<f64> = (0..100).map(|i| f64::from(i) / 10.0).collect();
        let hl = hodges_lehmann_interval(&d, 0.95).unwrap();
        assert!(!hl.exact);
        assert!((hl.achieved_level - 0.95).abs() < 0.002, "{hl:?}");
        close(hl.estimate, 4.95, 1e-12);
        assert!(hl.ci.lower < 4.95 && hl.ci.upper > 4.95);
        // Symmetric data, symmetric interval.
        close(hl.ci.upper - 4.95, 4.95 - hl.ci.lower, 1e-12);
    }
}
