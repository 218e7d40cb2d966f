//! Simulations of the paired comparison behind `perfhub ab`
//! (`stats::paired_ratio`: Hodges-Lehmann with the Wilcoxon signed-rank
//! interval and test), with deterministic seeds.
//!
//! - false alarms: with no effect, the share of benchmarks with p < 0.05
//!   stays at or below 5% (the exact test at 10 rounds has a size of
//!   2 * 25/1024 = 4.9%);
//! - power: +2% and +5% with 1% noise per round are detected at 10 rounds;
//! - robustness: +10% with one wild round is still detected where the t
//!   interval of the mean log ratio (the former method) is not.
//!
//! Run with `--nocapture` to see the figures.

use perfhub_core::compare::{ChangeCriteria, PairedSeries, Verdict, compare_paired};
use perfhub_core::report::metric;
use perfhub_core::stats::{ConfidenceInterval, mean_confidence_interval, paired_ratio};
use perfhub_core::units::Unit;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LEVEL: f64 = 0.95;

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `rounds` paired rounds: a drift shared by base and head within a round
/// (lognormal, sd 20%), lognormal noise of `sd` per measurement (so about
/// `sd * sqrt 2` per round's ratio), and head `effect` times base.
fn rounds(rng: &mut ChaCha8Rng, n: usize, effect: f64, sd: f64) -> (Vec<f64>, Vec<f64>) {
    let mut base = Vec::with_capacity(n);
    let mut head = Vec::with_capacity(n);
    for _ in 0..n {
        let drift = (0.2 * normal(rng)).exp();
        base.push(drift * (sd * normal(rng)).exp());
        head.push(drift * effect * (sd * normal(rng)).exp());
    }
    (base, head)
}

/// The former method: the t interval of the mean log ratio, exponentiated.
fn t_interval(base: &[f64], head: &[f64]) -> ConfidenceInterval {
    let logs: Vec<f64> = base.iter().zip(head).map(|(b, h)| (h / b).ln()).collect();
    let ci = mean_confidence_interval(&logs, LEVEL).unwrap();
    ConfidenceInterval {
        level: LEVEL,
        lower: ci.lower.exp(),
        upper: ci.upper.exp(),
    }
}

/// Significant as `compare`'s `decide` has it for one benchmark: the
/// interval excludes 1 and p is below 5%.
fn detected(base: &[f64], head: &[f64]) -> bool {
    let p = paired_ratio(base, head, LEVEL).unwrap();
    !p.ratio_ci.contains(1.0) && p.p_value < 1.0 - LEVEL
}

/// Three standard errors of a share `p` estimated from `n` draws.
fn slack(p: f64, n: usize) -> f64 {
    3.0 * (p * (1.0 - p) / n as f64).sqrt()
}

#[test]
fn false_alarms_under_no_effect_stay_at_the_level() {
    const BENCHMARKS: usize = 2000;
    let mut rng = ChaCha8Rng::seed_from_u64(0xa1a1);
    let (mut p_below, mut ci_excludes, mut flagged, mut t_flagged, mut covered) = (0, 0, 0, 0, 0);
    for _ in 0..BENCHMARKS {
        let (base, head) = rounds(&mut rng, 10, 1.0, 0.03);
        let p = paired_ratio(&base, &head, LEVEL).unwrap();
        p_below += usize::from(p.p_value < 0.05);
        ci_excludes += usize::from(!p.ratio_ci.contains(1.0));
        flagged += usize::from(detected(&base, &head));
        t_flagged += usize::from(!t_interval(&base, &head).contains(1.0));
        covered += usize::from(p.ratio_ci.contains(1.0));
        assert!(
            p.achieved_level >= LEVEL && p.achieved_level < 0.952,
            "{p:?}"
        );
    }
    let share = |k: usize| k as f64 / BENCHMARKS as f64;
    eprintln!(
        "no effect, 10 rounds, 3% lognormal noise, {BENCHMARKS} benchmarks: p < 0.05 in {:.2}%, \
         interval excludes 1 in {:.2}%, both in {:.2}%; t interval excludes 1 in {:.2}%",
        100.0 * share(p_below),
        100.0 * share(ci_excludes),
        100.0 * share(flagged),
        100.0 * share(t_flagged),
    );
    // The exact test's size at 10 rounds is 2 * 25/1024 = 4.88%.
    let bound = 0.05 + slack(0.05, BENCHMARKS);
    assert!(share(p_below) <= bound, "{}", share(p_below));
    assert!(share(ci_excludes) <= bound, "{}", share(ci_excludes));
    assert!(share(flagged) <= bound, "{}", share(flagged));
    // The intervals cover the true ratio (1) at about their level.
    assert!(share(covered) >= 0.95 - slack(0.05, BENCHMARKS));
}

#[test]
fn false_alarms_with_heavy_tailed_noise_stay_at_the_level() {
    // One measurement in ten disturbed by up to +100% (symmetric between
    // base and head, so there is still no effect): the t interval's
    // normality fails, the signed-rank test needs only symmetry.
    const BENCHMARKS: usize = 2000;
    let mut rng = ChaCha8Rng::seed_from_u64(0xbeef);
    let (mut flagged, mut t_flagged) = (0, 0);
    for _ in 0..BENCHMARKS {
        let (mut base, mut head) = rounds(&mut rng, 10, 1.0, 0.01);
        for x in base.iter_mut().chain(head.iter_mut()) {
            if rng.random::<f64>() < 0.1 {
                *x *= 1.0 + rng.random::<f64>();
            }
        }
        flagged += usize::from(detected(&base, &head));
        t_flagged += usize::from(!t_interval(&base, &head).contains(1.0));
    }
    let share = |k: usize| k as f64 / BENCHMARKS as f64;
    eprintln!(
        "no effect, 10 rounds, 1% noise + 10% of measurements up to x2: flagged {:.2}% \
         (t interval: {:.2}%)",
        100.0 * share(flagged),
        100.0 * share(t_flagged),
    );
    assert!(share(flagged) <= 0.05 + slack(0.05, BENCHMARKS));
}

#[test]
fn power_at_two_and_five_percent() {
    const SIMULATIONS: usize = 2000;
    // 1% per round's ratio: 0.01 / sqrt 2 per measurement.
    let sd = 0.01 / std::f64::consts::SQRT_2;
    let mut results = Vec::new();
    for (effect, seed, at_least) in [(1.02, 2, 0.95), (1.05, 5, 0.999)] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut hits, mut t_hits, mut estimates) = (0, 0, Vec::new());
        for _ in 0..SIMULATIONS {
            let (base, head) = rounds(&mut rng, 10, effect, sd);
            hits += usize::from(detected(&base, &head));
            t_hits += usize::from(t_interval(&base, &head).lower > 1.0);
            estimates.push(paired_ratio(&base, &head, LEVEL).unwrap().ratio);
        }
        let power = hits as f64 / SIMULATIONS as f64;
        let t_power = t_hits as f64 / SIMULATIONS as f64;
        let mean_estimate = estimates.iter().sum::<f64>() / SIMULATIONS as f64;
        eprintln!(
            "+{:.0}%, 1% noise per round, 10 rounds: detected in {:.2}% of {SIMULATIONS} \
             (t interval: {:.2}%), mean estimate {:.4}",
            100.0 * (effect - 1.0),
            100.0 * power,
            100.0 * t_power,
            mean_estimate
        );
        assert!(power >= at_least, "+{effect}: {power}");
        // The estimate is unbiased for the ratio.
        assert!(
            (mean_estimate / effect - 1.0).abs() < 0.001,
            "{mean_estimate}"
        );
        results.push(power);
    }
    // Noisier rounds, for the record: 3% per round's ratio.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let sd3 = 0.03 / std::f64::consts::SQRT_2;
    for effect in [1.02, 1.05] {
        let hits = (0..SIMULATIONS)
            .filter(|_| {
                let (base, head) = rounds(&mut rng, 10, effect, sd3);
                detected(&base, &head)
            })
            .count();
        eprintln!(
            "+{:.0}%, 3% noise per round, 10 rounds: detected in {:.2}%",
            100.0 * (effect - 1.0),
            100.0 * hits as f64 / SIMULATIONS as f64
        );
    }
    assert!(results[1] >= results[0]);
}

/// +10% in every round with 1% noise per round, then `wild` applied to the
/// head of round `at`.
fn with_wild_round(rng: &mut ChaCha8Rng, n: usize, at: usize, wild: f64) -> (Vec<f64>, Vec<f64>) {
    let (base, mut head) = rounds(rng, n, 1.10, 0.01 / std::f64::consts::SQRT_2);
    head[at] *= wild;
    (base, head)
}

#[test]
fn one_wild_round_does_not_hide_a_ten_percent_regression() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x0bad);
    // A disturbed round of 10: its ratio 1.8 or 2.5 times the others'.
    for wild in [1.8, 2.5] {
        let (base, head) = with_wild_round(&mut rng, 10, 3, wild);
        let p = paired_ratio(&base, &head, LEVEL).unwrap();
        let t = t_interval(&base, &head);
        eprintln!(
            "+10%, one round x{wild}, 10 rounds: Hodges-Lehmann {:+.1}% [{:+.1}%, {:+.1}%], \
             p = {:.4}; t interval of the mean {:+.1}% [{:+.1}%, {:+.1}%]",
            100.0 * (p.ratio - 1.0),
            100.0 * (p.ratio_ci.lower - 1.0),
            100.0 * (p.ratio_ci.upper - 1.0),
            p.p_value,
            100.0 * (t_mean(&base, &head) - 1.0),
            100.0 * (t.lower - 1.0),
            100.0 * (t.upper - 1.0),
        );
        assert!(p.ratio_ci.lower > 1.08, "{p:?}");
        assert!((p.ratio - 1.10).abs() < 0.01, "{p:?}");
        assert!(p.p_value < 0.01, "{p:?}");
        // The gate's verdict, as `perfhub ab` takes it.
        let series = [PairedSeries {
            benchmark: "b".into(),
            metric: metric::WALL_TIME.into(),
            unit: Unit::Seconds,
            base: base.clone(),
            head: head.clone(),
        }];
        let set = compare_paired(&series, &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Regressed, "{set:?}");
        if wild == 2.5 {
            // The former method misses it.
            assert!(t.contains(1.0), "{t:?}");
        }
    }
    // Over 500 simulations, the wild round anywhere.
    const SIMULATIONS: usize = 500;
    for wild in [1.8, 2.5] {
        let (mut hits, mut t_hits) = (0, 0);
        for i in 0..SIMULATIONS {
            let (base, head) = with_wild_round(&mut rng, 10, i % 10, wild);
            hits += usize::from(detected(&base, &head));
            t_hits += usize::from(t_interval(&base, &head).lower > 1.0);
        }
        let share = hits as f64 / SIMULATIONS as f64;
        let t_share = t_hits as f64 / SIMULATIONS as f64;
        eprintln!(
            "+10%, one round x{wild}, 10 rounds: detected in {:.1}% of {SIMULATIONS} (t \
             interval: {:.1}%)",
            100.0 * share,
            100.0 * t_share
        );
        assert!(share >= 0.99, "{share}");
        if wild == 2.5 {
            assert!(t_share < 0.5, "{t_share}");
        }
    }
}

fn t_mean(base: &[f64], head: &[f64]) -> f64 {
    let logs: Vec<f64> = base.iter().zip(head).map(|(b, h)| (h / b).ln()).collect();
    (logs.iter().sum::<f64>() / logs.len() as f64).exp()
}

#[test]
fn a_wild_round_against_the_effect_needs_twelve_rounds() {
    // A round whose ratio is halved goes against a +10% effect and has the
    // largest |log ratio|: its rank n counts against the others. At 10
    // rounds W- = 10 exceeds the 5% critical value 8, so the signed-rank
    // test cannot see the regression (p = 2 * 43/1024 = 0.084) -- nor can
    // the t interval. From 12 rounds (critical value 13 >= 12) it can.
    const SIMULATIONS: usize = 500;
    let mut rng = ChaCha8Rng::seed_from_u64(0x5a5a);
    let mut figures = Vec::new();
    for n in [10, 12, 15] {
        let (mut hits, mut t_hits) = (0, 0);
        for i in 0..SIMULATIONS {
            let (base, head) = with_wild_round(&mut rng, n, i % n, 0.5);
            hits += usize::from(detected(&base, &head));
            t_hits += usize::from(t_interval(&base, &head).lower > 1.0);
        }
        let share = hits as f64 / SIMULATIONS as f64;
        let t_share = t_hits as f64 / SIMULATIONS as f64;
        eprintln!(
            "+10%, one round x0.5, {n} rounds: detected in {:.1}% of {SIMULATIONS} (t interval: \
             {:.1}%)",
            100.0 * share,
            100.0 * t_share
        );
        figures.push((n, share, t_share));
    }
    assert_eq!(figures[0].1, 0.0);
    assert!(figures[1].1 >= 0.99 && figures[2].1 >= 0.99, "{figures:?}");
    assert!(figures.iter().all(|f| f.2 < 0.5), "{figures:?}");
    // One fixed case at 12 rounds, for the record.
    let (base, head) = with_wild_round(&mut rng, 12, 4, 0.5);
    let p = paired_ratio(&base, &head, LEVEL).unwrap();
    let t = t_interval(&base, &head);
    eprintln!(
        "+10%, one round x0.5, 12 rounds: Hodges-Lehmann {:+.1}% [{:+.1}%, {:+.1}%], p = {:.4}; \
         t interval of the mean {:+.1}% [{:+.1}%, {:+.1}%]",
        100.0 * (p.ratio - 1.0),
        100.0 * (p.ratio_ci.lower - 1.0),
        100.0 * (p.ratio_ci.upper - 1.0),
        p.p_value,
        100.0 * (t_mean(&base, &head) - 1.0),
        100.0 * (t.lower - 1.0),
        100.0 * (t.upper - 1.0),
    );
    assert!(p.ratio_ci.lower > 1.05 && p.p_value < 0.05, "{p:?}");
    assert!(t.contains(1.0), "{t:?}");
}

/// The minimum detectable effect a run states is one it detects about 90%
/// of the time (its definition), and an A/A run too noisy to see the
/// minimum effect is inconclusive, never unchanged.
#[test]
fn the_stated_minimum_detectable_effect_is_detected_nine_times_in_ten() {
    const RUNS: usize = 400;
    let criteria = ChangeCriteria::default();
    let series = |base: Vec<f64>, head: Vec<f64>| PairedSeries {
        benchmark: "a".into(),
        metric: metric::WALL_TIME.into(),
        unit: Unit::Seconds,
        base,
        head,
    };
    // The MDE stated by no-effect runs of 12 rounds with 1% noise.
    let mut rng = ChaCha8Rng::seed_from_u64(0x3de);
    let mut mdes: Vec<f64> = (0..RUNS)
        .map(|_| {
            let (b, h) = rounds(&mut rng, 12, 1.0, 0.01);
            compare_paired(&[series(b, h)], &criteria).changes[0]
                .mde
                .unwrap()
        })
        .collect();
    mdes.sort_by(f64::total_cmp);
    let typical = mdes[RUNS / 2];
    // 1% noise per measurement is about 1.4% per round's ratio: the MDE is
    // a few percent, not a fraction of one nor tens.
    assert!(typical > 0.01 && typical < 0.04, "{typical}");
    // Runs with that effect are significant about 90% of the time (a
    // verdict also needs the minimum effect).
    let hits = (0..RUNS)
        .filter(|_| {
            let (b, h) = rounds(&mut rng, 12, 1.0 + typical, 0.01);
            let c = &compare_paired(&[series(b, h)], &criteria).changes[0];
            !c.ratio_ci.contains(1.0) && c.p_adjusted.unwrap() < 1.0 - LEVEL
        })
        .count();
    let rate = hits as f64 / RUNS as f64;
    println!(
        "stated MDE {:.2}% detected in {:.1}% of runs",
        typical * 100.0,
        rate * 100.0
    );
    assert!((0.8..=0.98).contains(&rate), "{rate}");
    // With 5% noise and 6 rounds nothing under the 3% minimum effect can be
    // seen: not significant means inconclusive.
    let mut inconclusive = 0;
    for _ in 0..100 {
        let (b, h) = rounds(&mut rng, 6, 1.0, 0.05);
        let c = &compare_paired(&[series(b, h)], &criteria).changes[0];
        assert!(c.mde.is_none_or(|m| m > criteria.min_effect), "{c:?}");
        inconclusive += usize::from(c.verdict == Verdict::Inconclusive);
        assert!(c.mde.unwrap() > criteria.min_effect, "{c:?}");
    }
    assert!(inconclusive >= 90, "{inconclusive}");
}
