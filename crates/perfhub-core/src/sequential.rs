//! Adaptive stopping for paired A/B rounds: more rounds only for the
//! benchmarks that are still undecided, a few planned looks, and the level
//! split across them so that looking more than once does not inflate false
//! alarms.
//!
//! Testing after every round and stopping at the first "significant" result
//! is the classic way to turn a 5% test into a 20% one: each look is another
//! chance for noise to cross the line. Here the rounds are only tested at
//! the looks of a [`LookPlan`], fixed before the run (at most
//! [`MAX_LOOKS`]), and each look tests at `α / K` for `K` planned looks
//! (Bonferroni's split of the level; an alpha-spending function with equal
//! shares). Whatever the stopping rule, the final p-value of a benchmark is
//! one of its p-values at the looks, so the chance that it is below `α / K`
//! for a benchmark without a change is at most `K · α / K = α`; Holm's
//! adjustment across benchmarks (in [`compare_paired`]) then holds the
//! family's false alarms at `α` as well. A run cut short by its time budget
//! takes its last look where it stops, in place of the next planned one,
//! so it never takes more than `K` looks.
//!
//! At a look, a benchmark is decided ([`Decision`]) when
//! - it changed: its verdict is a regression or an improvement, and its
//!   p-value stays below the look's level even multiplied by the number of
//!   benchmarks (Bonferroni, the strictest step of Holm's), so no later look
//!   of the others can take the verdict back; or
//! - its change is ruled out: the interval lies within the minimum effect on
//!   both sides (`1 - e < lower` and `upper < 1 + e`) and its verdict is
//!   `unchanged` (its minimum detectable effect is at most the minimum
//!   effect).
//!
//! A decided benchmark keeps the rounds it had; the others go on to the
//! next look, until the last planned look or the budget.
//! [`Sequential`] holds that state; `perfhub ab --time-budget` drives it.

use crate::compare::{Change, ChangeCriteria, ChangeSet, PairedSeries, Verdict, compare_paired};
use crate::signed_rank::pairs_needed;
use crate::units::Unit;

/// The most looks a plan takes.
pub const MAX_LOOKS: usize = 4;

/// The earliest round a plan first looks at: fewer rounds cannot tell much
/// at a split level.
pub const MIN_FIRST_LOOK: usize = 8;

/// The rounds after which an adaptive run tests its benchmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookPlan {
    looks: Vec<usize>,
}

impl LookPlan {
    /// One look after `rounds` rounds: the fixed design, at the full level.
    pub fn fixed(rounds: usize) -> LookPlan {
        LookPlan {
            looks: vec![rounds],
        }
    }

    /// Up to [`MAX_LOOKS`] looks, the last at `max_rounds`, the first at the
    /// fewest rounds from which the signed-rank test can reach the split
    /// level over `family` benchmarks (plus two, and at least
    /// [`MIN_FIRST_LOOK`]), the others spaced geometrically between. With
    /// too few rounds for two looks, one look at `max_rounds`.
    pub fn adaptive(level: f64, family: usize, max_rounds: usize) -> LookPlan {
        let alpha = 1.0 - level;
        let family = family.max(1);
        for k in (2..=MAX_LOOKS).rev() {
            let Some(needed) = pairs_needed(alpha / (k * family) as f64) else {
                continue;
            };
            let first = (needed + 2).max(MIN_FIRST_LOOK);
            if first + (k - 1) * 2 > max_rounds {
                continue;
            }
            let growth = (max_rounds as f64 / first as f64).powf(1.0 / (k - 1) as f64);
            let mut looks: Vec<usize> = Vec::with_capacity(k);
            for j in 0..k {
                let at = if j + 1 == k {
                    max_rounds
                } else {
                    (first as f64 * growth.powi(j as i32)).round() as usize
                };
                let at = at.max(looks.last().map_or(0, |l| l + 1));
                looks.push(at);
            }
            if looks.last() == Some(&max_rounds) && looks.windows(2).all(|w| w[0] < w[1]) {
                return LookPlan { looks };
            }
        }
        LookPlan::fixed(max_rounds)
    }

    /// The rounds after which the plan looks, ascending.
    pub fn looks(&self) -> &[usize] {
        &self.looks
    }

    /// The last look: the most rounds the plan runs.
    pub fn max_rounds(&self) -> usize {
        self.looks.last().copied().unwrap_or(0)
    }

    /// Whether the plan looks after `rounds` rounds.
    pub fn is_look(&self, rounds: usize) -> bool {
        self.looks.contains(&rounds)
    }

    /// The confidence level each look tests at: `1 - (1 - level) / K`.
    pub fn look_level(&self, level: f64) -> f64 {
        1.0 - (1.0 - level) / self.looks.len().max(1) as f64
    }

    /// The plan in words: "looks after 8, 12, 18 and 27 rounds, each at
    /// 1.25% (5% split over 4 looks)".
    pub fn describe(&self, level: f64) -> String {
        let alpha = 1.0 - level;
        let k = self.looks.len();
        let rounds: Vec<String> = self.looks.iter().map(|n| n.to_string()).collect();
        let list = match rounds.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        if k <= 1 {
            return format!(
                "one look after {list} rounds, at {}",
                crate::compare::percent(alpha)
            );
        }
        format!(
            "looks after {list} rounds, each at {} ({} split over {k} looks)",
            crate::compare::percent(alpha / k as f64),
            crate::compare::percent(alpha)
        )
    }
}

/// Where a benchmark stands at a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Neither a change nor its absence is established: more rounds.
    Undecided,
    /// A change of at least the minimum effect, significant even under
    /// Bonferroni's adjustment over the benchmarks.
    Changed,
    /// A change of the minimum effect is ruled out: the interval lies
    /// within it on both sides, and the run could have seen it.
    RuledOut,
}

/// Where `change` stands at a look testing at `look_alpha` (the split
/// level) over `family` benchmarks (see the module's documentation).
pub fn decision(change: &Change, family: usize, look_alpha: f64) -> Decision {
    let changed = matches!(change.verdict, Verdict::Regressed | Verdict::Improved)
        && change
            .p_value
            .is_some_and(|p| p * (family.max(1) as f64) < look_alpha);
    if changed {
        return Decision::Changed;
    }
    let e = change.min_effect;
    let within = change.ratio_ci.lower > 1.0 - e && change.ratio_ci.upper < 1.0 + e;
    if within && change.verdict == Verdict::Unchanged {
        return Decision::RuledOut;
    }
    Decision::Undecided
}

/// Why a benchmark took no more rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Decided at a look after this many rounds.
    Decided {
        /// Changed or ruled out.
        decision: Decision,
        /// Its rounds.
        rounds: usize,
    },
    /// Still undecided when the time budget was spent.
    BudgetSpent {
        /// Its rounds.
        rounds: usize,
    },
    /// Still undecided at the plan's last look.
    MaxRounds {
        /// Its rounds.
        rounds: usize,
    },
    /// Still undecided when the run was interrupted.
    Interrupted {
        /// Its rounds.
        rounds: usize,
    },
}

impl Stop {
    /// The rounds the benchmark took.
    pub fn rounds(self) -> usize {
        match self {
            Stop::Decided { rounds, .. }
            | Stop::BudgetSpent { rounds }
            | Stop::MaxRounds { rounds }
            | Stop::Interrupted { rounds } => rounds,
        }
    }

    /// Why, for people: "decided after 12 rounds (changed)", "time budget
    /// spent after 20 rounds".
    pub fn describe(self) -> String {
        match self {
            Stop::Decided {
                decision: Decision::Changed,
                rounds,
            } => format!("decided after {rounds} rounds: changed by at least the minimum effect"),
            Stop::Decided { rounds, .. } => format!(
                "decided after {rounds} rounds: a change of the minimum effect is ruled out"
            ),
            Stop::BudgetSpent { rounds } => {
                format!("undecided when the time budget was spent, after {rounds} rounds")
            }
            Stop::MaxRounds { rounds } => {
                format!("undecided at the last planned look, after {rounds} rounds (max rounds)")
            }
            Stop::Interrupted { rounds } => {
                format!("undecided when the run stopped, after {rounds} rounds")
            }
        }
    }
}

/// How the rounds are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// Exactly this many rounds, one test at the end.
    Fixed(usize),
    /// At most this many rounds, with the looks of
    /// [`LookPlan::adaptive`] for the benchmarks there are after the first
    /// round.
    Adaptive(usize),
}

/// The state of a paired run with planned looks: the rounds so far, and
/// which benchmarks stopped.
#[derive(Debug, Clone)]
pub struct Sequential {
    design: Design,
    criteria: ChangeCriteria,
    plan: Option<LookPlan>,
    series: Vec<PairedSeries>,
    stops: Vec<Option<Stop>>,
    rounds: usize,
}

/// The end of a paired run with planned looks.
#[derive(Debug, Clone)]
pub struct SequentialOutcome {
    /// The comparison, at the level of the looks ([`LookPlan::look_level`]).
    pub changes: ChangeSet,
    /// The series compared, each with the rounds it took.
    pub series: Vec<PairedSeries>,
    /// Why each benchmark stopped, in the series' order.
    pub stops: Vec<(String, Stop)>,
    /// The plan the run followed.
    pub plan: LookPlan,
}

impl Sequential {
    /// A run of `design`, judged by `criteria`.
    pub fn new(design: Design, criteria: ChangeCriteria) -> Sequential {
        let plan = match design {
            Design::Fixed(n) => Some(LookPlan::fixed(n)),
            Design::Adaptive(_) => None,
        };
        Sequential {
            design,
            criteria,
            plan,
            series: Vec::new(),
            stops: Vec::new(),
            rounds: 0,
        }
    }

    /// The plan: set from the start for a fixed design, after the first
    /// round for an adaptive one.
    pub fn plan(&self) -> Option<&LookPlan> {
        self.plan.as_ref()
    }

    /// The rounds completed.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// The most rounds the run may take.
    pub fn max_rounds(&self) -> usize {
        match (&self.plan, self.design) {
            (Some(p), _) => p.max_rounds(),
            (None, Design::Fixed(n) | Design::Adaptive(n)) => n,
        }
    }

    /// Whether `benchmark` still takes rounds (a benchmark not seen yet
    /// does).
    pub fn is_active(&self, benchmark: &str) -> bool {
        match self.series.iter().position(|s| s.benchmark == benchmark) {
            Some(i) => self.stops[i].is_none(),
            None => true,
        }
    }

    /// Whether every benchmark seen has stopped (false before any).
    pub fn all_decided(&self) -> bool {
        !self.stops.is_empty() && self.stops.iter().all(Option::is_some)
    }

    /// Adds one round's pair of `benchmark`; ignored once it has stopped.
    pub fn push(&mut self, benchmark: &str, metric: &str, unit: Unit, base: f64, head: f64) {
        let i = match self.series.iter().position(|s| s.benchmark == benchmark) {
            Some(i) => i,
            None => {
                self.series.push(PairedSeries {
                    benchmark: benchmark.to_string(),
                    metric: metric.to_string(),
                    unit,
                    base: Vec::new(),
                    head: Vec::new(),
                });
                self.stops.push(None);
                self.series.len() - 1
            }
        };
        if self.stops[i].is_some() {
            return;
        }
        self.series[i].base.push(base);
        self.series[i].head.push(head);
    }

    /// Ends a round; at a planned look, compares and stops the benchmarks
    /// decided, returning them with their stop.
    pub fn end_round(&mut self) -> Vec<(String, Stop)> {
        self.rounds += 1;
        if self.plan.is_none()
            && let Design::Adaptive(max) = self.design
        {
            self.plan = Some(LookPlan::adaptive(
                self.criteria.level,
                self.series.len(),
                max,
            ));
        }
        let adaptive = matches!(self.design, Design::Adaptive(_));
        let at_look = self.plan.as_ref().is_some_and(|p| p.is_look(self.rounds));
        if !(adaptive && at_look) {
            return Vec::new();
        }
        self.look(|rounds| Stop::MaxRounds { rounds }, false)
    }

    /// Compares at the look level and stops the decided benchmarks; with
    /// `all`, stops the others too with `otherwise`.
    fn look(&mut self, otherwise: impl Fn(usize) -> Stop, all: bool) -> Vec<(String, Stop)> {
        let (set, level) = self.compare();
        let family = set.changes.len();
        let look_alpha = 1.0 - level;
        let mut stopped = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            if self.stops[i].is_some() {
                continue;
            }
            let rounds = s.base.len();
            let d = set
                .changes
                .iter()
                .find(|c| c.benchmark == s.benchmark)
                .map_or(Decision::Undecided, |c| decision(c, family, look_alpha));
            let stop = match d {
                Decision::Undecided if all => otherwise(rounds),
                Decision::Undecided => continue,
                d => Stop::Decided {
                    decision: d,
                    rounds,
                },
            };
            self.stops[i] = Some(stop);
            stopped.push((s.benchmark.clone(), stop));
        }
        stopped
    }

    fn compare(&self) -> (ChangeSet, f64) {
        let level = self
            .plan
            .as_ref()
            .map_or(self.criteria.level, |p| p.look_level(self.criteria.level));
        let criteria = ChangeCriteria {
            level,
            ..self.criteria.clone()
        };
        (compare_paired(&self.series, &criteria), level)
    }

    /// Ends the run: a last look for the benchmarks still going (in place
    /// of the next planned one, so no more than the plan's looks are ever
    /// taken), those still undecided stopped with `undecided`, and the
    /// final comparison at the looks' level.
    pub fn finish(mut self, undecided: impl Fn(usize) -> Stop) -> SequentialOutcome {
        if self.plan.is_none() {
            let max = self.max_rounds();
            self.plan = Some(match self.design {
                Design::Fixed(n) => LookPlan::fixed(n),
                Design::Adaptive(_) => {
                    LookPlan::adaptive(self.criteria.level, self.series.len(), max)
                }
            });
        }
        if matches!(self.design, Design::Adaptive(_)) {
            self.look(&undecided, true);
        } else {
            for (i, s) in self.series.iter().enumerate() {
                self.stops[i].get_or_insert(undecided(s.base.len()));
            }
        }
        let (changes, _) = self.compare();
        let stops = self
            .series
            .iter()
            .zip(&self.stops)
            .map(|(s, stop)| {
                (
                    s.benchmark.clone(),
                    stop.unwrap_or(Stop::MaxRounds {
                        rounds: s.base.len(),
                    }),
                )
            })
            .collect();
        SequentialOutcome {
            changes,
            series: self.series,
            stops,
            plan: self.plan.unwrap_or_else(|| LookPlan::fixed(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metric;

    #[test]
    fn plans_split_the_level_over_their_looks() {
        let p = LookPlan::adaptive(0.95, 3, 40);
        assert_eq!(p.looks().len(), 4, "{p:?}");
        assert_eq!(*p.looks().last().unwrap(), 40);
        assert!(p.looks().windows(2).all(|w| w[0] < w[1]), "{p:?}");
        // 5% / (4 looks x 3 benchmarks) needs 9 rounds; first look 2 later.
        assert_eq!(p.looks()[0], 11);
        assert!((p.look_level(0.95) - 0.9875).abs() < 1e-12);
        assert_eq!(
            p.describe(0.95),
            "looks after 11, 17, 26 and 40 rounds, each at 1.25% (5% split over 4 looks)"
        );
        // Too few rounds for several looks: one, at the full level.
        let one = LookPlan::adaptive(0.95, 3, 10);
        assert_eq!(one.looks(), &[10]);
        assert_eq!(one.look_level(0.95), 0.95);
        assert_eq!(one.describe(0.95), "one look after 10 rounds, at 5%");
        // Fewer looks when only some fit.
        let few = LookPlan::adaptive(0.95, 1, 12);
        assert!(few.looks().len() >= 2 && few.looks().len() < 4, "{few:?}");
        assert_eq!(*few.looks().last().unwrap(), 12);
    }

    fn drive(effect: f64, design: Design, budget_rounds: usize) -> SequentialOutcome {
        let mut s = Sequential::new(design, ChangeCriteria::default());
        for r in 0..budget_rounds {
            if s.rounds() >= s.max_rounds() || s.all_decided() {
                break;
            }
            let wobble = 1.0005 + 0.004 * ((r * 7 % 5) as f64 - 2.0);
            for (name, e) in [("same", 1.0), ("slower", effect)] {
                if s.is_active(name) {
                    s.push(name, metric::WALL_TIME, Unit::Seconds, 1.0, e * wobble);
                }
            }
            s.end_round();
        }
        let budget = s.rounds() < s.max_rounds() && !s.all_decided();
        s.finish(|rounds| {
            if budget {
                Stop::BudgetSpent { rounds }
            } else {
                Stop::MaxRounds { rounds }
            }
        })
    }

    #[test]
    fn a_clear_change_and_a_clear_absence_stop_at_the_first_look() {
        let out = drive(1.2, Design::Adaptive(40), 100);
        let first = out.plan.looks()[0];
        assert_eq!(
            out.stops,
            vec![
                (
                    "same".to_string(),
                    Stop::Decided {
                        decision: Decision::RuledOut,
                        rounds: first
                    }
                ),
                (
                    "slower".to_string(),
                    Stop::Decided {
                        decision: Decision::Changed,
                        rounds: first
                    }
                ),
            ]
        );
        assert_eq!(out.changes.changes[0].verdict, Verdict::Unchanged);
        assert_eq!(out.changes.changes[1].verdict, Verdict::Regressed);
        assert!((out.changes.changes[1].ratio_ci.level - 0.9875).abs() < 1e-12);
        assert_eq!(out.series[1].base.len(), first);
    }

    #[test]
    fn a_budget_spent_between_looks_takes_the_last_look_there() {
        // Five rounds cannot decide anything at a split level.
        let out = drive(1.2, Design::Adaptive(40), 5);
        assert!(
            out.stops
                .iter()
                .all(|(_, s)| matches!(s, Stop::BudgetSpent { rounds: 5 })),
            "{:?}",
            out.stops
        );
        assert_eq!(out.series[0].base.len(), 5);
        assert!(
            Stop::BudgetSpent { rounds: 5 }
                .describe()
                .contains("time budget")
        );
    }

    #[test]
    fn a_fixed_design_never_stops_early_and_tests_at_the_full_level() {
        let out = drive(1.2, Design::Fixed(10), 100);
        assert!(
            out.stops
                .iter()
                .all(|(_, s)| *s == Stop::MaxRounds { rounds: 10 })
        );
        assert_eq!(out.changes.changes[1].ratio_ci.level, 0.95);
        assert_eq!(out.changes.changes[1].verdict, Verdict::Regressed);
    }
}
