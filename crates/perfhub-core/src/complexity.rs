//! Empirical complexity: which of O(1) .. O(n^3) best explains cost against input size.
//!
//! [`fit_complexity`] takes `(n, cost)` points of a parameter scan, possibly
//! several per `n` (repeated runs), and fits every [`ComplexityClass`].
//!
//! # Method
//!
//! 1. **Aggregate.** The points are grouped by `n` and each group is reduced
//!    to its median cost, so that one slow run does not pull the fit and
//!    every size weighs the same however often it was run.
//! 2. **Fit.** For each class, `cost ≈ intercept + coefficient · f(n)` is
//!    fitted by weighted least squares on the medians. The intercept absorbs
//!    fixed costs such as process start-up. Timing noise is roughly
//!    proportional to the cost, so when every median is positive the
//!    residuals are weighted by `1 / cost²` (least squares on *relative*
//!    residuals); otherwise (a cost of 0, say) the fit is unweighted. A
//!    negative coefficient means cost does not grow like `f(n)` at all: that
//!    class is then fitted by the constant instead (coefficient 0).
//!    `r_squared` is the coefficient of determination under the same
//!    weights, so it ranks the fits exactly as their residual sums of
//!    squares (RSS) do.
//! 3. **Choose.** Every growing class has two parameters, so their RSS are
//!    compared directly: the smallest wins, except that a simpler class whose
//!    RSS is within [`RSS_TIE_TOLERANCE`] of the smallest is preferred.
//!    The constant model is nested in all the others (coefficient 0), which
//!    always fit at least as well; so O(1) is chosen unless the F-test of the
//!    winner against the constant rejects the constant at the
//!    [`CONSTANT_F_TEST_ALPHA`] level, that is, unless cost demonstrably
//!    grows.
//!
//! The log-log slope of cost against `n` is not used: a start-up intercept
//! bends it down by an amount that depends on the unknown intercept, which
//! the intercept-aware fits above handle directly.
//!
//! # Limitations
//!
//! The data must determine the class, and sometimes they do not:
//!
//! - O(n) against O(n log n): over a 16-fold range such as
//!   `1e5 ..= 1.6e6`, `log n` changes by only 1.24×, and a linear fit with a
//!   negative intercept follows `n log n` to within a few percent. Clean
//!   data are told apart; with a few percent of noise on such a range the
//!   two are confused now and then (about 3% of the time in simulation
//!   with ±2% noise, 5 runs per size and a start-up cost of a fifth of the
//!   largest work; more with a larger start-up cost). Scan a range of 1000×
//!   or more to tell them apart reliably.
//! - A start-up cost much larger than the work (say 3× the work at the
//!   largest `n`) hides the growth under the noise: classes are then
//!   confused, or O(1) is chosen.
//! - O(log n) changes slowly: on a narrow range, or under a large intercept,
//!   it cannot be told from O(1) (or from other slowly growing fits) when
//!   the noise is comparable to the change of `log n`.
//! - With only 3 distinct sizes the F-test has one degree of freedom and
//!   needs a very clean signal to reject O(1); use 5 or more sizes.
//! - Constant cost with noise is reported as growing about 2% of the time
//!   (the F-test's level, inflated by picking the best of five classes).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stats;

/// A complexity class that cost may grow by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplexityClass {
    /// O(1).
    Constant,
    /// O(log n).
    Logarithmic,
    /// O(n).
    Linear,
    /// O(n log n).
    Linearithmic,
    /// O(n^2).
    Quadratic,
    /// O(n^3).
    Cubic,
}

impl ComplexityClass {
    /// Every class, simplest first.
    pub const ALL: [ComplexityClass; 6] = [
        ComplexityClass::Constant,
        ComplexityClass::Logarithmic,
        ComplexityClass::Linear,
        ComplexityClass::Linearithmic,
        ComplexityClass::Quadratic,
        ComplexityClass::Cubic,
    ];

    /// The growth function `f(n)`: 1, ln n, n, n ln n, n², n³.
    pub fn eval(self, n: f64) -> f64 {
        match self {
            ComplexityClass::Constant => 1.0,
            ComplexityClass::Logarithmic => n.ln(),
            ComplexityClass::Linear => n,
            ComplexityClass::Linearithmic => n * n.ln(),
            ComplexityClass::Quadratic => n * n,
            ComplexityClass::Cubic => n * n * n,
        }
    }
}

impl fmt::Display for ComplexityClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComplexityClass::Constant => "O(1)",
            ComplexityClass::Logarithmic => "O(log n)",
            ComplexityClass::Linear => "O(n)",
            ComplexityClass::Linearithmic => "O(n log n)",
            ComplexityClass::Quadratic => "O(n^2)",
            ComplexityClass::Cubic => "O(n^3)",
        })
    }
}

/// The least-squares fit of one class: `cost ≈ intercept + coefficient * f(n)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComplexityFit {
    /// The class fitted.
    pub class: ComplexityClass,
    /// The multiplier of `f(n)`.
    pub coefficient: f64,
    /// The constant term.
    pub intercept: f64,
    /// Coefficient of determination of the fit.
    pub r_squared: f64,
}

/// The fits of every class over one parameter scan, and the best of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComplexityAnalysis {
    /// What was measured (a command, a benchmark); empty when not named.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// The parameter taken as the input size `n`.
    pub parameter: String,
    /// The metric whose cost was fitted.
    pub metric: String,
    /// The class that explains the data best.
    pub best: ComplexityClass,
    /// Every class's fit, best first.
    pub fits: Vec<ComplexityFit>,
}

impl ComplexityAnalysis {
    /// When O(1) was chosen although a growing class follows the data
    /// closely (R² of 0.9 or more): the growth was not significant at
    /// [`CONSTANT_F_TEST_ALPHA`], which with three or four sizes takes a
    /// very clean signal. That class, for a reader to be told that more
    /// sizes or runs would decide.
    pub fn growth_not_shown(&self) -> Option<&ComplexityFit> {
        if self.best != ComplexityClass::Constant {
            return None;
        }
        self.fits
            .iter()
            .filter(|f| f.class != ComplexityClass::Constant)
            .find(|f| f.r_squared >= 0.9)
    }
}

/// Why a scan could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ComplexityError {
    /// Fewer than [`MIN_DISTINCT_SIZES`] distinct values of `n`.
    #[error(
        "a complexity fit needs at least {MIN_DISTINCT_SIZES} distinct values of n, got {distinct}"
    )]
    TooFewSizes {
        /// The number of distinct values of `n` given.
        distinct: usize,
    },
    /// A point with a NaN or infinite `n` or cost.
    #[error("point (n = {n}, cost = {cost}) is not finite")]
    NonFinite {
        /// The point's `n`.
        n: f64,
        /// The point's cost.
        cost: f64,
    },
    /// A point with `n <= 0`.
    #[error("n must be positive, got {n}")]
    NonPositiveSize {
        /// The offending `n`.
        n: f64,
    },
    /// An `n` so large that `n^3` overflows.
    #[error("n = {n} is too large: n^3 overflows")]
    SizeTooLarge {
        /// The offending `n`.
        n: f64,
    },
}

/// The fewest distinct values of `n` that [`fit_complexity`] accepts.
pub const MIN_DISTINCT_SIZES: usize = 3;

/// The relative RSS margin within which a simpler class is preferred to the
/// best-fitting one.
pub const RSS_TIE_TOLERANCE: f64 = 0.02;

/// The significance level at which the F-test must reject O(1) for a growing
/// class to be chosen.
pub const CONSTANT_F_TEST_ALPHA: f64 = 0.01;

/// An RSS below this fraction of the weighted sum of squared costs is
/// rounding error: an exact fit.
const RSS_FLOOR: f64 = 1e-20;

/// One class's fit, in normalized units, with its RSS.
struct RawFit {
    class: ComplexityClass,
    coefficient: f64,
    intercept: f64,
    r_squared: f64,
    rss: f64,
}

/// Fits every [`ComplexityClass`] to the `(n, cost)` points of a scan over
/// `parameter`, measuring `metric`, and chooses the best as described in the
/// [module documentation](self).
///
/// Several points may share an `n` (repeated runs): their median is fitted.
///
/// # Errors
///
/// [`ComplexityError`] when a point is not finite, when an `n` is not
/// positive or so large that `n^3` overflows, or when there are fewer than
/// [`MIN_DISTINCT_SIZES`] distinct values of `n`.
pub fn fit_complexity(
    parameter: &str,
    metric: &str,
    points: &[(f64, f64)],
) -> Result<ComplexityAnalysis, ComplexityError> {
    for &(n, cost) in points {
        if !n.is_finite() || !cost.is_finite() {
            return Err(ComplexityError::NonFinite { n, cost });
        }
        if n <= 0.0 {
            return Err(ComplexityError::NonPositiveSize { n });
        }
    }
    let (ns, costs) = medians_by_size(points);
    if ns.len() < MIN_DISTINCT_SIZES {
        return Err(ComplexityError::TooFewSizes { distinct: ns.len() });
    }
    let n_max = ns[ns.len() - 1];
    if !ComplexityClass::Cubic.eval(n_max).is_finite() {
        return Err(ComplexityError::SizeTooLarge { n: n_max });
    }

    // Normalize costs so that squares cannot overflow.
    let scale = costs.iter().fold(0.0_f64, |m, c| m.max(c.abs()));
    let ys: Vec<f64> = if scale > 0.0 {
        costs.iter().map(|c| c / scale).collect()
    } else {
        costs.clone()
    };
    let weights: Vec<f64> = if ys.iter().all(|&y| y > 0.0) {
        ys.iter().map(|y| 1.0 / (y * y)).collect()
    } else {
        vec![1.0; ys.len()]
    };
    let floor = RSS_FLOOR
        * ys.iter()
            .zip(&weights)
            .map(|(y, w)| w * y * y)
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);

    let mut fits: Vec<RawFit> = ComplexityClass::ALL
        .iter()
        .map(|&class| fit_class(class, &ns, &ys, &weights, floor))
        .collect();
    let best = choose(&fits, ns.len(), floor);

    // Best first, then by RSS; the sort is stable, so exact ties stay
    // simplest first.
    fits.sort_by(|a, b| {
        (b.class == best)
            .cmp(&(a.class == best))
            .then(a.rss.max(floor).total_cmp(&b.rss.max(floor)))
    });
    let fits = fits
        .into_iter()
        .map(|f| ComplexityFit {
            class: f.class,
            coefficient: f.coefficient * scale_or_one(scale),
            intercept: f.intercept * scale_or_one(scale),
            r_squared: f.r_squared,
        })
        .collect();
    Ok(ComplexityAnalysis {
        subject: String::new(),
        parameter: parameter.to_string(),
        metric: metric.to_string(),
        best,
        fits,
    })
}

fn scale_or_one(scale: f64) -> f64 {
    if scale > 0.0 { scale } else { 1.0 }
}

/// The distinct sizes, ascending, and the median cost at each. The points
/// must be finite.
fn medians_by_size(points: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ns = Vec::new();
    let mut costs = Vec::new();
    let mut group = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let n = sorted[i].0;
        group.clear();
        while i < sorted.len() && sorted[i].0 == n {
            group.push(sorted[i].1);
            i += 1;
        }
        if let Some(m) = stats::median(&group) {
            ns.push(n);
            costs.push(m);
        }
    }
    (ns, costs)
}

/// Weighted least squares of `ys ≈ intercept + coefficient * f(n)` with a
/// non-negative coefficient, in the normalized cost units of `ys`.
fn fit_class(class: ComplexityClass, ns: &[f64], ys: &[f64], ws: &[f64], floor: f64) -> RawFit {
    let sw: f64 = ws.iter().sum();
    let y_mean = ys.iter().zip(ws).map(|(y, w)| w * y).sum::<f64>() / sw;
    let tss: f64 = ys
        .iter()
        .zip(ws)
        .map(|(y, w)| w * (y - y_mean) * (y - y_mean))
        .sum();
    let r_squared = |rss: f64| {
        if tss > floor {
            (1.0 - rss / tss).clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    if class == ComplexityClass::Constant {
        // f(n) = 1: the level is the coefficient.
        return RawFit {
            class,
            coefficient: y_mean,
            intercept: 0.0,
            r_squared: r_squared(tss),
            rss: tss,
        };
    }
    // Features scaled to at most 1 in magnitude, for conditioning.
    let raw: Vec<f64> = ns.iter().map(|&n| class.eval(n)).collect();
    let f_scale = raw.iter().fold(0.0_f64, |m, f| m.max(f.abs()));
    let flat = RawFit {
        class,
        coefficient: 0.0,
        intercept: y_mean,
        r_squared: r_squared(tss),
        rss: tss,
    };
    if !(f_scale > 0.0 && f_scale.is_finite()) {
        return flat;
    }
    let gs: Vec<f64> = raw.iter().map(|f| f / f_scale).collect();
    let g_mean = gs.iter().zip(ws).map(|(g, w)| w * g).sum::<f64>() / sw;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for ((g, y), w) in gs.iter().zip(ys).zip(ws) {
        sxx += w * (g - g_mean) * (g - g_mean);
        sxy += w * (g - g_mean) * (y - y_mean);
    }
    let slope = sxy / sxx;
    if sxx.is_nan() || sxx <= 0.0 || !slope.is_finite() || slope <= 0.0 {
        return flat;
    }
    let intercept = y_mean - slope * g_mean;
    let rss: f64 = gs
        .iter()
        .zip(ys)
        .zip(ws)
        .map(|((g, y), w)| {
            let r = y - intercept - slope * g;
            w * r * r
        })
        .sum();
    RawFit {
        class,
        coefficient: slope / f_scale,
        intercept,
        r_squared: r_squared(rss),
        rss,
    }
}

/// The best class: see the module documentation.
fn choose(fits: &[RawFit], sizes: usize, floor: f64) -> ComplexityClass {
    let rss = |f: &RawFit| f.rss.max(floor);
    let constant = &fits[0];
    let growing = &fits[1..];
    let min = growing.iter().map(rss).fold(f64::INFINITY, f64::min);
    let Some(candidate) = growing
        .iter()
        .find(|f| rss(f) <= min * (1.0 + RSS_TIE_TOLERANCE))
    else {
        return ComplexityClass::Constant;
    };
    let (rss_c, rss_x) = (rss(constant), rss(candidate));
    if rss_c <= rss_x * (1.0 + RSS_TIE_TOLERANCE) {
        return ComplexityClass::Constant;
    }
    let df = (sizes - 2) as f64;
    let f = (rss_c - rss_x) / (rss_x / df);
    if stats::f_distribution_sf(f, 1.0, df) > CONSTANT_F_TEST_ALPHA {
        ComplexityClass::Constant
    } else {
        candidate.class
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use ComplexityClass::*;

    /// `count` sizes from `from`, each `factor` times the previous.
    fn geometric(from: f64, factor: f64, count: usize) -> Vec<f64> {
        (0..count).map(|i| from * factor.powi(i as i32)).collect()
    }

    /// Synthetic scan of `class`: `intercept + f(n) / f(max n)` (so the work
    /// at the largest size is 1; for O(1) the cost is `intercept + 1`),
    /// `runs` runs per size, each multiplied by `1 + u` with `u` uniform in
    /// `±noise`.
    fn scan(
        class: ComplexityClass,
        sizes: &[f64],
        intercept: f64,
        runs: usize,
        noise: f64,
        seed: u64,
    ) -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let top = class.eval(sizes[sizes.len() - 1]);
        let mut points = Vec::new();
        for &n in sizes {
            let cost = intercept + class.eval(n) / top;
            for _ in 0..runs {
                let u = if noise > 0.0 {
                    rng.random_range(-noise..noise)
                } else {
                    0.0
                };
                points.push((n, cost * (1.0 + u)));
            }
        }
        points
    }

    #[track_caller]
    fn assert_best(points: &[(f64, f64)], expected: ComplexityClass) -> ComplexityAnalysis {
        let analysis = fit_complexity("n", "wall_time", points).unwrap();
        assert_eq!(analysis.best, expected, "{analysis:#?}");
        analysis
    }

    #[test]
    fn eval_and_all() {
        assert_eq!(ComplexityClass::ALL.len(), 6);
        assert_eq!(ComplexityClass::ALL[0], Constant);
        assert_eq!(ComplexityClass::ALL[5], Cubic);
        let e = std::f64::consts::E;
        assert_eq!(Constant.eval(123.0), 1.0);
        assert!((Logarithmic.eval(e * e) - 2.0).abs() < 1e-15);
        assert_eq!(Linear.eval(7.0), 7.0);
        assert!((Linearithmic.eval(e) - e).abs() < 1e-15);
        assert_eq!(Quadratic.eval(3.0), 9.0);
        assert_eq!(Cubic.eval(3.0), 27.0);
        assert_eq!(Linearithmic.to_string(), "O(n log n)");
    }

    #[test]
    fn clean_data_on_a_narrow_range() {
        // The real use: a command timed at 1e5 .. 1.6e6 with start-up cost.
        // log n changes by only 1.24x here, yet clean O(n) and O(n log n)
        // are told apart.
        let sizes = geometric(1e5, 2.0, 5);
        for class in ComplexityClass::ALL {
            for intercept in [0.0, 0.05, 0.5, 2.0] {
                let analysis = assert_best(&scan(class, &sizes, intercept, 1, 0.0, 0), class);
                let best = &analysis.fits[0];
                assert_eq!(best.class, class);
                assert!(
                    best.r_squared > 0.999_999 || class == Constant,
                    "{analysis:#?}"
                );
            }
        }
    }

    #[test]
    fn noisy_data_on_a_wide_range() {
        // 1000 .. 1 024 000, 5 runs per size, ±2% noise, start-up cost 20%
        // of the largest work; ten seeds per class.
        let sizes = geometric(1000.0, 2.0, 11);
        for class in ComplexityClass::ALL {
            for seed in 0..10 {
                assert_best(&scan(class, &sizes, 0.2, 5, 0.02, seed), class);
            }
        }
    }

    #[test]
    fn noisy_data_with_a_small_start_up_cost() {
        // Start-up cost 1% of the largest work: it dominates the small sizes.
        let sizes = geometric(1000.0, 10.0_f64.sqrt(), 7);
        for class in ComplexityClass::ALL {
            for seed in 0..10 {
                assert_best(&scan(class, &sizes, 0.01, 5, 0.02, seed), class);
            }
        }
    }

    #[test]
    fn noisy_data_on_a_small_range() {
        // 10 .. 1000, where log n still changes 3x.
        let sizes = geometric(10.0, 100.0_f64.powf(1.0 / 7.0), 8);
        for class in ComplexityClass::ALL {
            for seed in 0..10 {
                assert_best(&scan(class, &sizes, 0.3, 5, 0.02, seed), class);
            }
        }
    }

    #[test]
    fn noisy_data_on_a_narrow_range() {
        // Only the classes the data determine here: O(n) against O(n log n)
        // is a coin toss now and then on this range with this noise (see the
        // module documentation).
        let sizes = geometric(1e5, 2.0, 5);
        for class in [Constant, Logarithmic, Quadratic, Cubic] {
            for seed in 0..10 {
                assert_best(&scan(class, &sizes, 0.2, 5, 0.02, seed), class);
            }
        }
    }

    #[test]
    fn coefficients_are_recovered() {
        // cost = 3 + 2e-6 n exactly.
        let points: Vec<(f64, f64)> = geometric(1000.0, 2.0, 8)
            .into_iter()
            .map(|n| (n, 3.0 + 2e-6 * n))
            .collect();
        let analysis = assert_best(&points, Linear);
        assert_eq!(analysis.parameter, "n");
        assert_eq!(analysis.metric, "wall_time");
        let fit = &analysis.fits[0];
        assert!((fit.coefficient - 2e-6).abs() < 1e-15, "{fit:?}");
        assert!((fit.intercept - 3.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        // Every class is reported once, the rest by decreasing r².
        assert_eq!(analysis.fits.len(), 6);
        for class in ComplexityClass::ALL {
            assert_eq!(analysis.fits.iter().filter(|f| f.class == class).count(), 1);
        }
        for pair in analysis.fits[1..].windows(2) {
            assert!(pair[0].r_squared >= pair[1].r_squared, "{analysis:#?}");
        }
        for fit in &analysis.fits {
            assert!((0.0..=1.0).contains(&fit.r_squared), "{fit:?}");
            assert!(fit.coefficient >= 0.0, "{fit:?}");
        }
        // cost = 5 n^2 + 100 in other units.
        let points: Vec<(f64, f64)> = [10.0, 20.0, 30.0, 40.0]
            .iter()
            .map(|&n| (n, 100.0 + 5.0 * n * n))
            .collect();
        let fit = &assert_best(&points, Quadratic).fits[0];
        assert!((fit.coefficient - 5.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.intercept - 100.0).abs() < 1e-7, "{fit:?}");
    }

    #[test]
    fn decreasing_cost_is_constant() {
        // No class grows down: every coefficient falls back to 0.
        let points: Vec<(f64, f64)> = geometric(1000.0, 2.0, 6)
            .into_iter()
            .map(|n| (n, 10.0 - n.ln()))
            .collect();
        let analysis = assert_best(&points, Constant);
        for fit in &analysis.fits {
            assert!(fit.coefficient >= 0.0, "{fit:?}");
            if fit.class != Constant {
                assert_eq!(fit.coefficient, 0.0, "{fit:?}");
            }
        }
    }

    #[test]
    fn flat_and_zero_costs() {
        let flat: Vec<(f64, f64)> = [1.0, 2.0, 3.0].iter().map(|&n| (n, 4.0)).collect();
        let analysis = assert_best(&flat, Constant);
        assert_eq!(analysis.fits[0].coefficient, 4.0);
        let zero: Vec<(f64, f64)> = [1.0, 2.0, 3.0].iter().map(|&n| (n, 0.0)).collect();
        let analysis = assert_best(&zero, Constant);
        for fit in &analysis.fits {
            assert!(fit.coefficient == 0.0 && fit.intercept == 0.0, "{fit:?}");
            assert_eq!(fit.r_squared, 1.0);
        }
        // A cost of 0 at the smallest size: the unweighted fit still works.
        let points: Vec<(f64, f64)> = geometric(1000.0, 2.0, 6)
            .into_iter()
            .map(|n| (n, n - 1000.0))
            .collect();
        assert_best(&points, Linear);
        // Fractional sizes, where ln n < 0.
        let points: Vec<(f64, f64)> = [0.25, 0.5, 1.0, 2.0, 4.0]
            .iter()
            .map(|&n| (n, 1.0 + n * n))
            .collect();
        assert_best(&points, Quadratic);
    }

    #[test]
    fn repeated_runs_are_reduced_to_medians() {
        let sizes = geometric(1000.0, 2.0, 8);
        let mut points = scan(Linear, &sizes, 0.1, 5, 0.01, 3);
        // Two wild runs at different sizes do not move the medians much.
        points[0].1 *= 20.0;
        points[17].1 *= 0.05;
        assert_best(&points, Linear);
        // Order does not matter.
        points.reverse();
        assert_best(&points, Linear);
    }

    #[test]
    fn errors() {
        let err = fit_complexity("n", "m", &[]).unwrap_err();
        assert_eq!(err, ComplexityError::TooFewSizes { distinct: 0 });
        let two = [(1.0, 1.0), (1.0, 1.1), (2.0, 2.0), (2.0, 2.1)];
        let err = fit_complexity("n", "m", &two).unwrap_err();
        assert_eq!(err, ComplexityError::TooFewSizes { distinct: 2 });
        assert_eq!(
            err.to_string(),
            "a complexity fit needs at least 3 distinct values of n, got 2"
        );
        let err = fit_complexity("n", "m", &[(1.0, 1.0), (0.0, 1.0), (2.0, 1.0)]).unwrap_err();
        assert_eq!(err, ComplexityError::NonPositiveSize { n: 0.0 });
        assert_eq!(err.to_string(), "n must be positive, got 0");
        let err = fit_complexity("n", "m", &[(-3.0, 1.0)]).unwrap_err();
        assert_eq!(err, ComplexityError::NonPositiveSize { n: -3.0 });
        let err = fit_complexity("n", "m", &[(1.0, f64::NAN)]).unwrap_err();
        assert!(matches!(err, ComplexityError::NonFinite { n, .. } if n == 1.0));
        assert_eq!(err.to_string(), "point (n = 1, cost = NaN) is not finite");
        let err = fit_complexity("n", "m", &[(f64::INFINITY, 1.0)]).unwrap_err();
        assert!(matches!(err, ComplexityError::NonFinite { .. }));
        let huge = [(1.0, 1.0), (2.0, 2.0), (1e200, 3.0)];
        let err = fit_complexity("n", "m", &huge).unwrap_err();
        assert_eq!(err, ComplexityError::SizeTooLarge { n: 1e200 });
        // Large but representable sizes and costs are fine.
        let big: Vec<(f64, f64)> = [1e90, 2e90, 4e90, 8e90]
            .iter()
            .map(|&n| (n, 1e300 * (n / 8e90)))
            .collect();
        assert_best(&big, Linear);
    }

    #[test]
    fn analysis_serializes() {
        let sizes = geometric(1000.0, 2.0, 6);
        let analysis = assert_best(&scan(Quadratic, &sizes, 0.1, 1, 0.0, 0), Quadratic);
        let json = serde_json::to_value(&analysis).unwrap();
        assert_eq!(json["best"], "quadratic");
        assert_eq!(json["fits"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn a_clean_line_on_three_sizes_may_not_show_growth_and_says_so() {
        // Three sizes, one slightly off the line: O(n) explains nearly
        // everything, yet one degree of freedom cannot reject O(1) at 1%.
        let a = fit_complexity("d", "wall_time", &[(1.0, 10.0), (2.0, 20.6), (3.0, 30.0)]).unwrap();
        assert_eq!(a.best, ComplexityClass::Constant, "{a:#?}");
        let f = a.growth_not_shown().expect("a growing class fits well");
        assert!(f.r_squared >= 0.9, "{f:?}");
        // Once growth is shown, there is nothing to say.
        let a = fit_complexity(
            "d",
            "wall_time",
            &[
                (1.0, 10.0),
                (2.0, 20.0),
                (3.0, 30.0),
                (4.0, 40.0),
                (5.0, 50.0),
            ],
        )
        .unwrap();
        assert_eq!(a.best, ComplexityClass::Linear);
        assert!(a.growth_not_shown().is_none());
    }
}
