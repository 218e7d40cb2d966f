//! Simulations of the adaptive stopping behind `perfhub ab --time-budget`
//! (`sequential::Sequential`: planned looks, the level split across them,
//! undecided benchmarks only going on), with deterministic seeds.
//!
//! - false alarms: with no change, the share of benchmarks with a
//!   regression or improvement verdict stays at or below 5%, with heavy
//!   drift between rounds and outlier rounds injected, while testing after
//!   every round without a correction does not;
//! - power and rounds used for +2%, +5% and +10% with realistic noise.
//!
//! The figures at these seeds: no change, 1% noise and 5% outliers, 0.00%
//! false alarms (mean 19.8 rounds); 3% noise and 15% outliers, 0.92% (39.8
//! rounds: rarely ruled out, so the runs take all 40); testing after every
//! round at 5% instead, about 20% of unchanged benchmarks flagged. +2%:
//! 3.3% regressed (below the 3% minimum effect, by design), +5%: 100% in a
//! mean of 15.4 rounds, +10%: 100% in 15.5.
//!
//! Run with `--nocapture` to see the figures.

use perfhub_core::compare::{ChangeCriteria, Verdict};
use perfhub_core::report::metric;
use perfhub_core::sequential::{Design, Sequential, Stop};
use perfhub_core::stats::paired_ratio;
use perfhub_core::units::Unit;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Benchmarks per simulated run (adjusted together, as `perfhub ab` does).
const FAMILY: usize = 3;
/// The most rounds an adaptive run takes.
const MAX_ROUNDS: usize = 40;

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// How the simulated machine behaves.
#[derive(Clone, Copy)]
struct Noise {
    /// Lognormal noise per measurement (a round's ratio has about
    /// `sd * sqrt 2`).
    sd: f64,
    /// The share of measurements disturbed by an outlier, up to x2, on
    /// either side alike (so still no change).
    outliers: f64,
}

/// One round's pair: a drift shared within the round (lognormal, 20%), the
/// measurement noise, head `effect` times base, and maybe an outlier.
fn pair(rng: &mut ChaCha8Rng, effect: f64, noise: Noise) -> (f64, f64) {
    let drift = (0.2 * normal(rng)).exp();
    let mut base = drift * (noise.sd * normal(rng)).exp();
    let mut head = drift * effect * (noise.sd * normal(rng)).exp();
    for x in [&mut base, &mut head] {
        if rng.random::<f64>() < noise.outliers {
            *x *= 1.0 + rng.random::<f64>();
        }
    }
    (base, head)
}

/// One adaptive run of `FAMILY` benchmarks with the same `effect`: the
/// verdict and rounds of each.
fn adaptive_run(rng: &mut ChaCha8Rng, effect: f64, noise: Noise) -> Vec<(Verdict, usize)> {
    let mut s = Sequential::new(Design::Adaptive(MAX_ROUNDS), ChangeCriteria::default());
    let names: Vec<String> = (0..FAMILY).map(|i| format!("b{i}")).collect();
    while s.rounds() < s.max_rounds() && !s.all_decided() {
        for n in &names {
            if s.is_active(n) {
                let (b, h) = pair(rng, effect, noise);
                s.push(n, metric::WALL_TIME, Unit::Seconds, b, h);
            }
        }
        s.end_round();
    }
    let out = s.finish(|rounds| Stop::MaxRounds { rounds });
    out.changes
        .changes
        .iter()
        .zip(&out.stops)
        .map(|(c, (_, stop))| (c.verdict, stop.rounds()))
        .collect()
}

/// The naive rule, for contrast: one benchmark tested at 5% after every
/// round from the 6th, stopped at the first significant result.
fn naive_run(rng: &mut ChaCha8Rng, noise: Noise) -> bool {
    let (mut base, mut head) = (Vec::new(), Vec::new());
    for round in 1..=MAX_ROUNDS {
        let (b, h) = pair(rng, 1.0, noise);
        base.push(b);
        head.push(h);
        if round >= 6 {
            let p = paired_ratio(&base, &head, 0.95).unwrap();
            if p.p_value < 0.05 && !p.ratio_ci.contains(1.0) {
                return true;
            }
        }
    }
    false
}

/// Three standard errors of a share `p` estimated from `n` draws.
fn slack(p: f64, n: usize) -> f64 {
    3.0 * (p * (1.0 - p) / n as f64).sqrt()
}

const REALISTIC: Noise = Noise {
    sd: 0.01,
    outliers: 0.05,
};

#[test]
fn false_alarms_with_adaptive_stopping_stay_at_the_level() {
    const RUNS: usize = 400;
    for (noise, seed, label) in [
        (REALISTIC, 0x5e9, "1% noise, 5% outliers"),
        (
            Noise {
                sd: 0.03,
                outliers: 0.15,
            },
            0x5ea,
            "3% noise, 15% outliers",
        ),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut alarms, mut benchmarks, mut rounds) = (0usize, 0usize, 0usize);
        for _ in 0..RUNS {
            for (verdict, r) in adaptive_run(&mut rng, 1.0, noise) {
                benchmarks += 1;
                rounds += r;
                alarms += usize::from(matches!(verdict, Verdict::Regressed | Verdict::Improved));
            }
        }
        let share = alarms as f64 / benchmarks as f64;
        let naive = (0..RUNS).filter(|_| naive_run(&mut rng, noise)).count() as f64 / RUNS as f64;
        eprintln!(
            "no change, {label}, adaptive up to {MAX_ROUNDS} rounds, {benchmarks} benchmarks: \
             false alarms {:.2}%, mean rounds {:.1}; testing after every round at 5%: {:.2}%",
            100.0 * share,
            rounds as f64 / benchmarks as f64,
            100.0 * naive
        );
        assert!(share <= 0.05 + slack(0.05, benchmarks), "{label}: {share}");
        // Looking after every round without a correction inflates them.
        assert!(naive > 0.08, "{label}: {naive}");
    }
}

#[test]
fn power_and_rounds_for_two_five_and_ten_percent() {
    const RUNS: usize = 200;
    let mut figures = Vec::new();
    for (effect, seed) in [(1.02, 2u64), (1.05, 5), (1.10, 10)] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut hits, mut benchmarks, mut rounds) = (0usize, 0usize, 0usize);
        for _ in 0..RUNS {
            for (verdict, r) in adaptive_run(&mut rng, effect, REALISTIC) {
                benchmarks += 1;
                rounds += r;
                hits += usize::from(verdict == Verdict::Regressed);
            }
        }
        let power = hits as f64 / benchmarks as f64;
        let mean_rounds = rounds as f64 / benchmarks as f64;
        eprintln!(
            "+{:.0}%, 1% noise per measurement, 5% outliers, adaptive up to {MAX_ROUNDS} rounds: \
             regressed in {:.1}% of {benchmarks}, mean rounds {mean_rounds:.1}",
            100.0 * (effect - 1.0),
            100.0 * power
        );
        figures.push((power, mean_rounds));
    }
    // +2% sits below the 3% minimum effect: a regression verdict needs the
    // estimate at 3% or more, so it is rarely flagged, by design.
    assert!(figures[0].0 < 0.5, "{figures:?}");
    // +5% and +10% are found nearly always, and decided at the first or
    // second look (11 and 17 rounds; an outlier round against the change
    // can put off the first) rather than after all 40 rounds.
    assert!(figures[1].0 >= 0.95, "{figures:?}");
    assert!(figures[2].0 >= 0.98, "{figures:?}");
    assert!(figures[1].1 < 20.0 && figures[2].1 < 20.0, "{figures:?}");
}
