//! Change detection between a base and a head: per benchmark, the change of
//! its primary metric with a confidence interval, and a verdict that needs
//! both statistical significance and a minimum effect size.
//!
//! Significance alone cries wolf: with a hundred samples, a 0.5% shift that
//! a busy neighbour caused is "significant". A minimum effect alone cries
//! wolf too: one noisy run moves a mean by 5%. A change is a regression
//! (or an improvement) only when its confidence interval excludes "no
//! change" *and* its point estimate moves by at least the minimum effect.
//!
//! Many benchmarks compared at once make some "significant" by chance: at
//! 95% confidence, one in twenty identical benchmarks. The p-values of one
//! comparison are therefore adjusted together (Holm's step-down method,
//! which bounds the chance of any false alarm among them by `1 - level`),
//! and a change is significant only when its interval excludes "no change"
//! and its adjusted p-value is below `1 - level`.
//!
//! Two ways in:
//! - [`compare_reports`]: two independent reports (a stored run against
//!   this one), each benchmark's raw samples resampled by the bootstrap;
//! - [`compare_paired`]: rounds of an interleaved A/B run, where each
//!   round's base and head ran back to back; the ratios of the pairs are
//!   tested ([`crate::stats::paired_ratio`]: Hodges-Lehmann and the Wilcoxon
//!   signed-rank test, robust to a disturbed round), so the drift of a
//!   shared machine cancels.

use serde::{Deserialize, Serialize};

use crate::report::{Benchmark, Comparison, Measurement, Note, Report, ReportKind, metric};
use crate::signed_rank::pairs_needed;
use crate::stats::{
    CompareConfig, ConfidenceInterval, PairedMethod, PairedRatio, Statistic, compare_samples,
    paired_ratio, welch_ratio,
};
use crate::units::Unit;

/// The default minimum effect size: 3%.
pub const DEFAULT_MIN_EFFECT: f64 = 0.03;

/// The power at which [`Change::mde`] is stated: 90%.
pub const MDE_POWER: f64 = 0.9;

/// The two-sided level the exact signed-rank test over `n` rounds really
/// attains at nominal `alpha`: `2 · P(W+ <= T)` at its critical value `T`.
/// `None` where the test is not exact (many rounds: the normal
/// approximation's level is `alpha` itself) or cannot reach `alpha`.
fn attainable_alpha(n: usize, alpha: f64) -> Option<f64> {
    let t = crate::signed_rank::signed_rank_critical_value(n, alpha)?;
    Some(2.0 * crate::signed_rank::signed_rank_cdf(n, t)?)
}

/// What a comparison could see, for people: "this run could have seen
/// changes of 1.8% or more" from its minimum detectable effect
/// ([`Change::mde`], [`Comparison::mde`](crate::report::Comparison::mde)).
pub fn detectable_sentence(mde: Option<f64>) -> String {
    match mde {
        Some(m) => format!(
            "this run could have seen changes of {} or more",
            percent_figure(m)
        ),
        None => "this run could not have seen any change (a single value, or too few rounds for the test)"
            .to_string(),
    }
}

/// A comparison's minimum detectable effect as a table cell: `at_least`
/// followed by the figure (`≥ 1.8%`), `none` when the run could not have
/// flagged any change, and `missing` when it was not worked out.
pub fn detectable_cell(c: &Comparison, at_least: &str, missing: &str) -> String {
    match (c.mde, c.verdict) {
        (Some(m), _) => format!("{at_least} {}", percent_figure(m)),
        (None, Some(Verdict::Inconclusive)) => "none".to_string(),
        (None, _) => missing.to_string(),
    }
}

/// A relative size as a percentage with two significant digits: `1.8%`,
/// `0.25%`, `12%`.
pub fn percent_figure(x: f64) -> String {
    let pct = x * 100.0;
    if !pct.is_finite() {
        return format!("{pct}%");
    }
    let decimals = if pct.abs() >= 10.0 {
        0
    } else if pct.abs() >= 1.0 {
        1
    } else {
        2
    };
    format!("{pct:.decimals$}%")
}

/// How noisy a comparison's estimate is, from which the comparison works out its
/// minimum detectable effect once the number of benchmarks tested together
/// is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// The standard error of the log ratio's estimate, as measured: read
    /// off the width of the comparison's own interval (`ln(upper / lower)`
    /// over twice the t quantile of its level), so it carries whatever the
    /// test behind the interval makes of the data (ranks for the paired
    /// rounds, resamples for the bootstrap).
    pub se_log: f64,
    /// Its degrees of freedom (for Student's t quantiles).
    pub df: f64,
    /// The smallest p-value the test can give with this many observations
    /// (`2 / 2^n` for the signed-rank test over `n` rounds, 0 for tests with
    /// a continuous p-value): when it cannot get below the adjusted level,
    /// no change is detectable at all.
    pub min_p_value: f64,
    /// For the exact signed-rank test, its number of rounds: its attainable
    /// levels are discrete (at 12 rounds the largest below 5% is 4.2%), and
    /// the power is worked out at the one the test really uses.
    pub signed_rank_rounds: Option<usize>,
}

impl Noise {
    /// The noise of an estimate whose interval is `ci`, with `df` degrees
    /// of freedom; `None` for an interval that is not finite and positive.
    pub fn of_interval(ci: &ConfidenceInterval, df: f64) -> Option<Noise> {
        let df = df.max(1.0);
        let width = (ci.upper / ci.lower).ln();
        if !(ci.lower > 0.0 && width.is_finite() && width >= 0.0) {
            return None;
        }
        let t = crate::stats::student_t_quantile(1.0 - (1.0 - ci.level) / 2.0, df)?;
        Some(Noise {
            se_log: width / (2.0 * t),
            df,
            min_p_value: 0.0,
            signed_rank_rounds: None,
        })
    }

    /// The smallest relative change (such as 0.018 for 1.8%) that a test at
    /// two-sided level `alpha` detects with probability [`MDE_POWER`]:
    /// `exp((t₁₋α/₂ + t_power) · se) − 1`; `None` when the test cannot reach
    /// `alpha` at all.
    pub fn mde(&self, alpha: f64) -> Option<f64> {
        if !(alpha > 0.0 && alpha < 1.0) || self.min_p_value >= alpha {
            return None;
        }
        if self.se_log == 0.0 {
            return Some(0.0);
        }
        let alpha = match self.signed_rank_rounds {
            Some(n) => attainable_alpha(n, alpha).unwrap_or(alpha),
            None => alpha,
        };
        let df = self.df.max(1.0);
        let q = crate::stats::student_t_quantile(1.0 - alpha / 2.0, df)?
            + crate::stats::student_t_quantile(MDE_POWER, df)?;
        let log = q * self.se_log;
        log.is_finite().then(|| log.exp() - 1.0)
    }
}

/// What a change means for the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly better, by at least the minimum effect.
    Improved,
    /// Not significant, or smaller than the minimum effect, in a run that
    /// could have seen a change of the minimum effect (its
    /// [`Change::mde`] is at most the minimum effect).
    Unchanged,
    /// Significantly worse, by at least the minimum effect.
    Regressed,
    /// Not significant, in a run too noisy (or too short) to have seen a
    /// change of the minimum effect: "unchanged" would claim more than the
    /// run showed. Never a failure of the gate; more rounds or a quieter
    /// machine decide it.
    Inconclusive,
}

impl Verdict {
    /// The verdict's name, as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "regressed",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// How changes are judged.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeCriteria {
    /// The smallest relative change that counts, such as 0.03 for 3%.
    pub min_effect: f64,
    /// Per-benchmark minimum effects: the first pattern that matches a
    /// benchmark's name wins (see [`pattern_matches`]).
    pub overrides: Vec<(String, f64)>,
    /// The confidence level of the intervals; a change is significant when
    /// its interval excludes a ratio of 1.
    pub level: f64,
    /// The statistic compared between independent reports.
    pub statistic: Statistic,
    /// Bootstrap resamples, for independent reports.
    pub resamples: usize,
    /// The bootstrap's seed.
    pub seed: u64,
}

impl Default for ChangeCriteria {
    fn default() -> Self {
        let c = CompareConfig::default();
        ChangeCriteria {
            min_effect: DEFAULT_MIN_EFFECT,
            overrides: Vec::new(),
            level: c.level,
            statistic: c.statistic,
            resamples: c.resamples,
            seed: c.seed,
        }
    }
}

impl ChangeCriteria {
    /// The minimum effect for `benchmark`.
    pub fn min_effect_for(&self, benchmark: &str) -> f64 {
        self.overrides
            .iter()
            .find(|(p, _)| pattern_matches(p, benchmark))
            .map_or(self.min_effect, |(_, e)| *e)
    }
}

/// Parses a minimum effect size: a percentage such as `3%`, or a fraction
/// such as `0.03`; at least 0% and below 100%.
pub fn parse_min_effect(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{s:?} is not an effect size: write a percentage such as 3%"))?;
    if !(0.0..1.0).contains(&v) {
        return Err(format!(
            "{s:?}: the effect size must be at least 0% and below 100%"
        ));
    }
    Ok(v)
}

/// Whether `pattern` matches `name`: `*` matches any run of characters
/// (slashes included), everything else matches itself.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    // Both cuts fall on character boundaries: `first` is a prefix and
    // `last` a suffix of `name`.
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether a smaller value of `metric_name` is better, for a metric whose
/// measurement does not say ([`Measurement::smaller_is_better`] asks it
/// first): the metrics perfhub writes by name, else a guess. Larger is
/// better only for names of throughputs, scores, speeds per second and hit
/// rates; everything else (times, sizes, counts, error and miss rates) is
/// better smaller.
///
/// [`Measurement::smaller_is_better`]: crate::report::Measurement::smaller_is_better
pub fn smaller_is_better(metric_name: &str) -> bool {
    if let Some(b) = metric::better(metric_name) {
        return b == crate::report::Better::Lower;
    }
    let n = metric_name.to_ascii_lowercase();
    !(n.contains("throughput")
        || n.contains("score")
        || n.contains("per_second")
        || n.contains("per_sec")
        || n.ends_with("_ops")
        || n.contains("hit_rate")
        || n.contains("hit_ratio")
        || n.contains("speedup"))
}

/// One benchmark's change from base to head.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The benchmark's name.
    pub benchmark: String,
    /// The metric compared (the head's primary metric).
    pub metric: String,
    /// The metric's unit.
    pub unit: Unit,
    /// The base's central value (the compared statistic).
    pub base: f64,
    /// The head's central value.
    pub head: f64,
    /// `head / base`.
    pub ratio: f64,
    /// The interval of `ratio`.
    pub ratio_ci: ConfidenceInterval,
    /// The p-value of the test behind the interval, where there is one.
    pub p_value: Option<f64>,
    /// `p_value` adjusted for the number of benchmarks compared together
    /// (Holm).
    pub p_adjusted: Option<f64>,
    /// The minimum effect applied.
    pub min_effect: f64,
    /// Whether smaller values are better for this metric.
    pub smaller_is_better: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// How the change was estimated, for people: "bootstrap of 100 + 100
    /// samples", "12 paired rounds".
    pub method: String,
    /// How noisy the estimate is; `None` for single values, which carry no
    /// measure of their noise.
    pub noise: Option<Noise>,
    /// The minimum detectable effect: the smallest relative change this run
    /// would have flagged with 90% power ([`MDE_POWER`]) at the level
    /// adjusted for the benchmarks tested together (Bonferroni's `α / m`,
    /// the first and strictest step of Holm's), for the noise actually
    /// measured. `None` when no change could have been flagged (a single
    /// value, or too few rounds for the test). Set by the comparison.
    pub mde: Option<f64>,
}

impl Change {
    /// The relative change `ratio - 1`: +0.05 is 5% more.
    pub fn relative(&self) -> f64 {
        self.ratio - 1.0
    }
}

/// The verdict for a ratio, given whether it is significant.
pub fn verdict(ratio: f64, significant: bool, min_effect: f64, smaller_is_better: bool) -> Verdict {
    let large = (ratio - 1.0).abs() >= min_effect;
    if !(significant && large) {
        return Verdict::Unchanged;
    }
    if (ratio > 1.0) == smaller_is_better {
        Verdict::Regressed
    } else {
        Verdict::Improved
    }
}

/// Holm's step-down adjustment of `p` (family-wise error control): sorted
/// ascending, the i-th of m is multiplied by `m - i`, made monotone, and
/// capped at 1. Returned in the input's order.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (i, &k) in order.iter().enumerate() {
        let v = ((m - i) as f64 * p[k]).min(1.0);
        running = running.max(v);
        adjusted[k] = running;
    }
    adjusted
}

/// Adjusts the p-values of the set together and sets every verdict:
/// significant when the interval excludes 1 and the adjusted p-value is
/// below `1 - level`.
fn decide(set: &mut ChangeSet, level: f64) {
    let tested: Vec<usize> = (0..set.changes.len())
        .filter(|&i| set.changes[i].p_value.is_some())
        .collect();
    let p: Vec<f64> = tested
        .iter()
        .map(|&i| set.changes[i].p_value.unwrap_or(1.0))
        .collect();
    for (&i, adj) in tested.iter().zip(holm_adjust(&p)) {
        set.changes[i].p_adjusted = Some(adj);
    }
    let alpha = (1.0 - level) / tested.len().max(1) as f64;
    for c in &mut set.changes {
        let significant =
            !c.ratio_ci.contains(1.0) && c.p_adjusted.is_some_and(|p| p < 1.0 - level);
        c.mde = c.noise.and_then(|n| n.mde(alpha));
        c.verdict = verdict(c.ratio, significant, c.min_effect, c.smaller_is_better);
        if !significant && c.mde.is_none_or(|m| m > c.min_effect) {
            c.verdict = Verdict::Inconclusive;
        }
    }
}

/// The result of comparing a base with a head.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeSet {
    /// The benchmarks found in both, in the head's order.
    pub changes: Vec<Change>,
    /// Benchmarks of the base that the head lacks.
    pub only_in_base: Vec<String>,
    /// Benchmarks of the head that the base lacks.
    pub only_in_head: Vec<String>,
    /// Benchmarks in both that could not be compared, and why.
    pub skipped: Vec<(String, String)>,
}

impl ChangeSet {
    /// Why benchmarks could not be compared, for people: `NAME: WHY` of
    /// each of [`skipped`](Self::skipped), joined by `; `.
    pub fn skipped_reasons(&self) -> String {
        let why: Vec<String> = self
            .skipped
            .iter()
            .map(|(n, w)| format!("{n}: {w}"))
            .collect();
        why.join("; ")
    }

    /// The changes with this verdict.
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.verdict == verdict)
    }

    /// Whether some benchmark regressed.
    pub fn regressed(&self) -> bool {
        self.with_verdict(Verdict::Regressed).next().is_some()
    }

    /// The comparison as a perfhub report of kind `compare`: the head's
    /// benchmarks with one [`Comparison`] each (reference `base`) carrying
    /// the verdict, and notes for what could not be compared.
    pub fn to_report(&self, head: &Report, created: crate::time::UtcTime) -> Report {
        let mut report = Report::new(ReportKind::Compare, created);
        report.environment = head.environment.clone();
        report.benchmarks = head
            .benchmarks
            .iter()
            .filter(|b| self.changes.iter().any(|c| c.benchmark == b.name))
            .cloned()
            .collect();
        report.comparisons = self
            .changes
            .iter()
            .map(|c| Comparison {
                benchmark: c.benchmark.clone(),
                reference: "base".to_string(),
                metric: c.metric.clone(),
                ratio: c.ratio,
                ratio_stddev: None,
                ratio_ci: Some(c.ratio_ci),
                p_value: c.p_value,
                p_adjusted: c.p_adjusted,
                verdict: Some(c.verdict),
                min_effect: Some(c.min_effect),
                mde: c.mde,
                base_value: Some(c.base),
                head_value: Some(c.head),
                method: Some(c.method.clone()),
            })
            .collect();
        for name in &self.only_in_base {
            report.notes.push(Note::warning(
                "benchmark_missing_in_head",
                format!("{name}: in the base but not in the head, not compared"),
            ));
        }
        for name in &self.only_in_head {
            report.notes.push(Note::info(
                "benchmark_new_in_head",
                format!("{name}: new in the head, nothing to compare with"),
            ));
        }
        for (name, why) in &self.skipped {
            report.notes.push(Note::warning(
                "benchmark_not_compared",
                format!("{name}: not compared: {why}"),
            ));
        }
        report
    }
}

/// The measurement compared for a benchmark: its primary metric.
fn primary(b: &Benchmark) -> Option<&Measurement> {
    b.primary()
}

/// The values of a measurement: its samples, else its single value.
fn values(m: &Measurement) -> Vec<f64> {
    if !m.samples.is_empty() {
        m.samples.clone()
    } else if let Some(v) = m.value {
        vec![v]
    } else if let Some(s) = &m.summary {
        vec![s.mean]
    } else {
        Vec::new()
    }
}

/// The noise of paired rounds, from their interval: the signed-rank test
/// can reach no p-value below `2 / 2^n`, and identical rounds (exact
/// counts) are decided without it.
fn paired_noise(p: &PairedRatio) -> Option<Noise> {
    let mut noise = Noise::of_interval(&p.ratio_ci, p.pairs as f64 - 1.0)?;
    if p.method != PairedMethod::Identical {
        noise.min_p_value = 2.0 / 2f64.powi(p.pairs.min(1000) as i32);
        noise.signed_rank_rounds = Some(p.pairs);
    }
    Some(noise)
}

/// Both sides' summaries, when neither keeps samples but both summarize at
/// least two observations with a known spread.
fn summaries<'a>(
    base: &'a Measurement,
    head: &'a Measurement,
) -> Option<(&'a crate::stats::Summary, &'a crate::stats::Summary)> {
    // A side with raw samples has their summary; compared with a side
    // that has only a tool's summary, both are taken as summaries.
    let usable = |m: &'a Measurement| m.summary.as_ref().filter(|s| s.n >= 2 && !s.spread_unknown);
    Some((usable(base)?, usable(head)?))
}

/// Compares two independent reports benchmark by benchmark (matched by
/// name), on the head's primary metric.
///
/// With raw samples on both sides, the ratio of the chosen statistic gets a
/// bootstrap interval and a Mann-Whitney p-value. With a single value on
/// either side (a libtest line), no interval can be computed: the interval
/// is the point, and the verdict is `unchanged` whatever the ratio, since
/// one value cannot show significance; the method says so. Where a side
/// keeps only a tool's summary statistics (mean, standard deviation and
/// count, as pytest-benchmark without its raw data), Welch's t-test
/// compares the means (the other side's from its samples, if it has them),
/// whatever `statistic` asks for, and the method says so.
pub fn compare_reports(base: &Report, head: &Report, criteria: &ChangeCriteria) -> ChangeSet {
    let mut set = ChangeSet::default();
    for hb in &head.benchmarks {
        let Some(bb) = base.benchmark(&hb.name) else {
            set.only_in_head.push(hb.name.clone());
            continue;
        };
        let Some(hm) = primary(hb) else {
            set.skipped.push((
                hb.name.clone(),
                "the head has no primary measurement".into(),
            ));
            continue;
        };
        let Some(bm) = bb.measurement(&hm.metric) else {
            set.skipped.push((
                hb.name.clone(),
                format!("the base has no `{}` measurement", hm.metric),
            ));
            continue;
        };
        if bm.unit != hm.unit {
            set.skipped.push((
                hb.name.clone(),
                format!(
                    "units differ: {:?} in the base, {:?} in the head",
                    bm.unit, hm.unit
                ),
            ));
            continue;
        }
        if let Some((side, problem)) = [("base", bm), ("head", hm)]
            .into_iter()
            .find_map(|(side, m)| m.check_values().err().map(|p| (side, p)))
        {
            set.skipped.push((
                hb.name.clone(),
                format!("the {side}'s `{}` is invalid: {problem}", hm.metric),
            ));
            continue;
        }
        let (bv, hv) = (values(bm), values(hm));
        let min_effect = criteria.min_effect_for(&hb.name);
        let sib = hm.smaller_is_better();
        let (Some(b), Some(h)) = (
            criteria.statistic.compute(&bv),
            criteria.statistic.compute(&hv),
        ) else {
            set.skipped
                .push((hb.name.clone(), "no finite values".into()));
            continue;
        };
        if b <= 0.0 {
            set.skipped
                .push((hb.name.clone(), "the base's value is not positive".into()));
            continue;
        }
        let stat_name = match criteria.statistic {
            Statistic::Mean => "mean",
            Statistic::Median => "median",
        };
        let change = if bv.len() >= 2 && hv.len() >= 2 {
            let cfg = CompareConfig {
                statistic: criteria.statistic,
                level: criteria.level,
                resamples: criteria.resamples,
                seed: criteria.seed,
            };
            match compare_samples(&bv, &hv, &cfg) {
                Some(c) => Change {
                    benchmark: hb.name.clone(),
                    metric: hm.metric.clone(),
                    unit: hm.unit,
                    base: b,
                    head: h,
                    ratio: c.ratio,
                    verdict: Verdict::Unchanged,
                    noise: Noise::of_interval(&c.ratio_ci, (bv.len().min(hv.len()) - 1) as f64),
                    mde: None,
                    ratio_ci: c.ratio_ci,
                    p_value: Some(c.p_value),
                    p_adjusted: None,
                    min_effect,
                    smaller_is_better: sib,
                    method: format!(
                        "bootstrap of the {stat_name}, {} base and {} head samples",
                        bv.len(),
                        hv.len()
                    ),
                },
                None => {
                    set.skipped
                        .push((hb.name.clone(), "the samples cannot be compared".into()));
                    continue;
                }
            }
        } else if let Some((bs, hs)) = summaries(bm, hm)
            && let Some(w) = welch_ratio(
                (bs.mean, bs.stddev, bs.n),
                (hs.mean, hs.stddev, hs.n),
                criteria.level,
            )
        {
            // A tool that keeps only its summary statistics: Welch's test
            // of the means, with no samples invented.
            Change {
                benchmark: hb.name.clone(),
                metric: hm.metric.clone(),
                unit: hm.unit,
                base: bs.mean,
                head: hs.mean,
                ratio: w.ratio,
                ratio_ci: w.ratio_ci,
                p_value: Some(w.p_value),
                p_adjusted: None,
                min_effect,
                smaller_is_better: sib,
                verdict: Verdict::Unchanged,
                noise: Noise::of_interval(&w.ratio_ci, w.df),
                mde: None,
                method: format!(
                    "Welch's t-test of the means from the tools' summaries (n = {} and {}; {})",
                    bs.n,
                    hs.n,
                    if bv.len() >= 2 || hv.len() >= 2 {
                        "raw samples on one side only"
                    } else {
                        "no raw samples"
                    }
                ),
            }
        } else {
            let ratio = h / b;
            Change {
                benchmark: hb.name.clone(),
                metric: hm.metric.clone(),
                unit: hm.unit,
                base: b,
                head: h,
                ratio,
                ratio_ci: ConfidenceInterval {
                    level: criteria.level,
                    lower: ratio,
                    upper: ratio,
                },
                p_value: None,
                p_adjusted: None,
                min_effect,
                smaller_is_better: sib,
                verdict: Verdict::Unchanged,
                noise: None,
                mde: None,
                method: "single values: no significance test possible, so never a regression"
                    .to_string(),
            }
        };
        set.changes.push(change);
    }
    for bb in &base.benchmarks {
        if head.benchmark(&bb.name).is_none() {
            set.only_in_base.push(bb.name.clone());
        }
    }
    decide(&mut set, criteria.level);
    set
}

/// One benchmark's values over the rounds of an interleaved A/B run.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedSeries {
    /// The benchmark's name.
    pub benchmark: String,
    /// The metric.
    pub metric: String,
    /// Its unit.
    pub unit: Unit,
    /// The base's value in each round.
    pub base: Vec<f64>,
    /// The head's value in each round, in the same order.
    pub head: Vec<f64>,
}

/// Compares paired rounds (see [`paired_ratio`]): the Hodges-Lehmann
/// estimate of the per-round ratio, the interval that inverts the Wilcoxon
/// signed-rank test, its p-value (Holm-adjusted across the series), and the
/// verdict. `base` and `head` of a change are the geometric means of the
/// rounds.
///
/// The signed-rank test needs enough rounds: with `n` rounds (that differ)
/// its smallest p-value is `2 / 2^n`, so at 95% fewer than 6 rounds can never
/// show a change, and with `m` series adjusted together the smallest needs
/// `m * 2 / 2^n` below 5%. A change whose rounds cannot reach the level says
/// so in its `method` (such as "Wilcoxon signed-rank, n=4: cannot reach 5%
/// with fewer than 6 rounds") rather than silently never regressing.
///
/// Series with fewer than two complete rounds, or with values that are not
/// positive, are skipped with the reason.
pub fn compare_paired(series: &[PairedSeries], criteria: &ChangeCriteria) -> ChangeSet {
    let mut set = ChangeSet::default();
    let mut tests: Vec<PairedRatio> = Vec::new();
    for s in series {
        let Some(p) = paired_ratio(&s.base, &s.head, criteria.level) else {
            let why = if s.base.len() != s.head.len() {
                format!(
                    "{} base rounds but {} head rounds",
                    s.base.len(),
                    s.head.len()
                )
            } else if s.base.len() < 2 {
                format!("{} complete round(s); at least 2 are needed", s.base.len())
            } else {
                "a round's value is not a positive number".to_string()
            };
            set.skipped.push((s.benchmark.clone(), why));
            continue;
        };
        let min_effect = criteria.min_effect_for(&s.benchmark);
        let sib = smaller_is_better(&s.metric);
        let gm = |v: &[f64]| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp();
        set.changes.push(Change {
            benchmark: s.benchmark.clone(),
            metric: s.metric.clone(),
            unit: s.unit,
            base: gm(&s.base),
            head: gm(&s.head),
            ratio: p.ratio,
            ratio_ci: p.ratio_ci,
            p_value: Some(p.p_value),
            p_adjusted: None,
            min_effect,
            smaller_is_better: sib,
            verdict: Verdict::Unchanged,
            noise: paired_noise(&p),
            mde: None,
            method: String::new(),
        });
        tests.push(p);
    }
    let family = tests.len();
    for (c, p) in set.changes.iter_mut().zip(&tests) {
        c.method = paired_method(p, criteria.level, family);
    }
    decide(&mut set, criteria.level);
    set
}

/// The `method` of a paired change, saying when its rounds are too few for
/// the signed-rank test to reach `1 - level`, alone or after Holm's
/// adjustment over `family` series.
fn paired_method(p: &PairedRatio, level: f64, family: usize) -> String {
    let rounds = format!("{} paired rounds", p.pairs);
    let how = match p.method {
        PairedMethod::Identical => return format!("{rounds}, all with the same ratio"),
        PairedMethod::Exact => "Hodges-Lehmann, exact Wilcoxon signed-rank",
        PairedMethod::Normal => "Hodges-Lehmann, Wilcoxon signed-rank (normal approximation)",
    };
    let alpha = 1.0 - level;
    let n = p.tested_pairs;
    let dropped = p.pairs - n;
    let untested = if dropped > 0 {
        format!(" ({dropped} round(s) with a ratio of exactly 1 left out)")
    } else {
        String::new()
    };
    let family = family.max(1);
    if p.min_p_value >= alpha {
        let needed = pairs_needed(alpha)
            .map_or_else(String::new, |k| format!(" with fewer than {k} rounds"));
        return format!(
            "{rounds}; Wilcoxon signed-rank, n={n}{untested}: cannot reach {}{needed}",
            percent(alpha)
        );
    }
    if family > 1 && p.min_p_value * family as f64 >= alpha {
        let needed = pairs_needed(alpha / family as f64)
            .map_or_else(String::new, |k| format!(" with fewer than {k} rounds"));
        return format!(
            "{rounds}; Wilcoxon signed-rank, n={n}{untested}: cannot reach {} after Holm's adjustment over {family} benchmarks{needed}",
            percent(alpha)
        );
    }
    format!("{rounds}, {how}{untested}")
}

/// `0.05` as `5%`, `0.001` as `0.1%`.
pub(crate) fn percent(x: f64) -> String {
    format!("{}%", crate::text::decimal(x * 100.0, 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(benches: &[(&str, Vec<f64>)]) -> Report {
        let mut r = Report::new(ReportKind::Bench, "2026-01-01T00:00:00Z".parse().unwrap());
        for (name, samples) in benches {
            let mut b = Benchmark::new(*name, metric::WALL_TIME);
            b.measurements.push(Measurement::from_samples(
                metric::WALL_TIME,
                Unit::Seconds,
                samples.clone(),
            ));
            r.benchmarks.push(b);
        }
        r
    }

    /// Deterministic jittered samples around `center` (±2%).
    fn around(center: f64, n: usize, phase: usize) -> Vec<f64> {
        (0..n)
            .map(|i| center * (1.0 + 0.02 * (((i * 7 + phase) % 13) as f64 / 6.0 - 1.0)))
            .collect()
    }

    #[test]
    fn a_large_significant_slowdown_regresses() {
        let base = report(&[("a", around(1.0, 50, 0))]);
        let head = report(&[("a", around(1.10, 50, 3))]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.changes.len(), 1);
        let c = &set.changes[0];
        assert_eq!(c.verdict, Verdict::Regressed);
        assert!((c.ratio - 1.10).abs() < 0.01, "{}", c.ratio);
        assert!(c.ratio_ci.lower > 1.0);
        assert!(set.regressed());
    }

    #[test]
    fn a_significant_change_below_the_minimum_effect_is_unchanged() {
        let base = report(&[("a", around(1.0, 200, 0))]);
        let head = report(&[("a", around(1.015, 200, 0))]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        let c = &set.changes[0];
        assert!(!c.ratio_ci.contains(1.0), "significant: {:?}", c.ratio_ci);
        assert_eq!(c.verdict, Verdict::Unchanged);
        // A per-benchmark threshold of 1% makes it count.
        let strict = ChangeCriteria {
            overrides: vec![("a*".into(), 0.01)],
            ..ChangeCriteria::default()
        };
        let set = compare_reports(&base, &head, &strict);
        assert_eq!(set.changes[0].verdict, Verdict::Regressed);
        assert_eq!(set.changes[0].min_effect, 0.01);
    }

    #[test]
    fn a_large_but_noisy_change_is_inconclusive() {
        let base = report(&[("a", vec![1.0, 2.0, 0.5, 1.5])]);
        let head = report(&[("a", vec![1.2, 2.1, 0.6, 1.6])]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Inconclusive);
    }

    #[test]
    fn faster_is_improved_and_throughput_is_inverted() {
        let base = report(&[("a", around(1.0, 50, 0))]);
        let head = report(&[("a", around(0.8, 50, 0))]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Improved);
        assert!(smaller_is_better(metric::WALL_TIME));
        assert!(!smaller_is_better(metric::THROUGHPUT));
        assert!(smaller_is_better(metric::ERROR_RATE));
        // A rate is not better larger by being a rate.
        assert!(smaller_is_better("cache_miss_rate"));
        assert!(!smaller_is_better("cache_hit_rate"));
        assert!(!smaller_is_better("requests_per_second"));
        assert!(!smaller_is_better("performance_score"));
    }

    #[test]
    fn missing_and_new_benchmarks_are_listed() {
        let base = report(&[("a", around(1.0, 10, 0)), ("gone", around(1.0, 10, 0))]);
        let head = report(&[("a", around(1.0, 10, 0)), ("new", around(1.0, 10, 0))]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.only_in_base, vec!["gone".to_string()]);
        assert_eq!(set.only_in_head, vec!["new".to_string()]);
        let r = set.to_report(&head, "2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(r.comparisons.len(), 1);
        assert_eq!(r.comparisons[0].verdict, Some(Verdict::Unchanged));
        assert!(
            r.notes
                .iter()
                .any(|n| n.code == "benchmark_missing_in_head")
        );
        // The report round-trips through JSON.
        let back = Report::from_json(&r.to_json()).unwrap();
        assert_eq!(back.comparisons[0].verdict, Some(Verdict::Unchanged));
    }

    #[test]
    fn impossible_values_are_skipped_with_the_reason() {
        let base = report(&[("a", around(1e-3, 20, 0)), ("b", around(1e-3, 20, 0))]);
        let mut head = report(&[("a", around(1e-3, 20, 1)), ("b", around(1e-3, 20, 1))]);
        head.benchmarks[0].measurements[0].samples[3] = -2.0;
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.changes.len(), 1);
        assert_eq!(set.changes[0].benchmark, "b");
        assert_eq!(set.skipped.len(), 1);
        let (name, why) = &set.skipped[0];
        assert_eq!(name, "a");
        assert!(
            why.contains("the head's `wall_time` is invalid: sample 3 is -2"),
            "{why}"
        );
    }

    /// A report whose one benchmark keeps only a tool's summary.
    fn summary_report(mean: f64, stddev: f64, n: usize) -> Report {
        let mut r = Report::new(ReportKind::Bench, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("parse", metric::WALL_TIME);
        let mut m = Measurement::from_value(metric::WALL_TIME, Unit::Seconds, mean);
        m.value = None;
        let mut s = crate::stats::Summary::of(&[mean]).unwrap();
        (s.n, s.stddev) = (n, stddev);
        m.summary = Some(s);
        b.measurements.push(m);
        r.benchmarks.push(b);
        r
    }

    #[test]
    fn raw_samples_against_a_summary_are_compared_by_welch() {
        // The base from a file with raw timings, the head from one without:
        // 20% slower with 1% noise is a regression either way round.
        let mut sampled = Report::new(ReportKind::Bench, "2026-01-01T00:00:00Z".parse().unwrap());
        let mut b = Benchmark::new("parse", metric::WALL_TIME);
        let samples: Vec<f64> = (0..10)
            .map(|i| 1e-3 * (1.0 + 0.01 * (i % 3) as f64))
            .collect();
        b.measurements.push(Measurement::from_samples(
            metric::WALL_TIME,
            Unit::Seconds,
            samples,
        ));
        sampled.benchmarks.push(b);
        let summary = summary_report(1.2e-3, 1e-5, 10);
        let set = compare_reports(&sampled, &summary, &ChangeCriteria::default());
        let c = &set.changes[0];
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!(
            c.method.contains("raw samples on one side only"),
            "{}",
            c.method
        );
        assert!(
            c.ratio_ci.lower < c.ratio && c.ratio < c.ratio_ci.upper,
            "{c:?}"
        );
        let set = compare_reports(&summary, &sampled, &ChangeCriteria::default());
        assert_eq!(
            set.changes[0].verdict,
            Verdict::Improved,
            "{:?}",
            set.changes[0]
        );
    }

    #[test]
    fn summaries_without_samples_are_compared_by_welch() {
        let criteria = ChangeCriteria::default();
        // 20% slower, 1% noise over 10 rounds on each side: a regression.
        let set = compare_reports(
            &summary_report(1e-3, 1e-5, 10),
            &summary_report(1.2e-3, 1e-5, 10),
            &criteria,
        );
        let c = &set.changes[0];
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!(c.method.starts_with("Welch"), "{}", c.method);
        assert!((c.ratio - 1.2).abs() < 1e-12);
        assert!(c.ratio_ci.lower > 1.15 && c.ratio_ci.upper < 1.25, "{c:?}");
        // The same shift drowned in 50% noise over 3 rounds: unchanged.
        let set = compare_reports(
            &summary_report(1e-3, 5e-4, 3),
            &summary_report(1.2e-3, 5e-4, 3),
            &criteria,
        );
        assert_eq!(set.changes[0].verdict, Verdict::Inconclusive);
        assert!(set.changes[0].p_value.unwrap() > 0.05);
        // A summary of one observation cannot be tested.
        let set = compare_reports(
            &summary_report(1e-3, 0.0, 1),
            &summary_report(2e-3, 0.0, 1),
            &criteria,
        );
        assert!(set.changes[0].method.starts_with("single values"));
    }

    #[test]
    fn single_values_never_regress_and_are_inconclusive() {
        let base = report(&[("a", vec![1.0])]);
        let head = report(&[("a", vec![2.0])]);
        let set = compare_reports(&base, &head, &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Inconclusive);
        assert!(set.changes[0].method.contains("single values"));
    }

    #[test]
    fn paired_rounds_cancel_shared_drift() {
        // The machine drifts by ±30% between rounds, but head is 5% slower
        // than base within every round.
        let drift = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.75, 1.05];
        let base: Vec<f64> = drift.iter().map(|d| d * 1.0).collect();
        let head: Vec<f64> = drift
            .iter()
            .enumerate()
            .map(|(i, d)| d * 1.05 * (1.0 + 0.002 * (i % 3) as f64))
            .collect();
        let series = [PairedSeries {
            benchmark: "a".into(),
            metric: metric::WALL_TIME.into(),
            unit: Unit::Seconds,
            base: base.clone(),
            head,
        }];
        let set = compare_paired(&series, &ChangeCriteria::default());
        let c = &set.changes[0];
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!((c.ratio - 1.052).abs() < 0.005);
        // Unpaired, the same numbers show nothing.
        let set = compare_reports(
            &report(&[("a", base)]),
            &report(&[("a", series[0].head.clone())]),
            &ChangeCriteria::default(),
        );
        assert_eq!(set.changes[0].verdict, Verdict::Inconclusive);
    }

    #[test]
    fn identical_paired_rounds_are_unchanged() {
        let v = vec![5.0e6, 5.0e6, 5.0e6];
        let series = [PairedSeries {
            benchmark: "instr".into(),
            metric: metric::INSTRUCTIONS.into(),
            unit: Unit::Count,
            base: v.clone(),
            head: v,
        }];
        let set = compare_paired(&series, &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Unchanged);
        assert_eq!(set.changes[0].p_value, Some(1.0));
    }

    #[test]
    fn paired_series_with_too_few_rounds_are_skipped_with_the_reason() {
        let series = [PairedSeries {
            benchmark: "a".into(),
            metric: metric::WALL_TIME.into(),
            unit: Unit::Seconds,
            base: vec![1.0],
            head: vec![1.0],
        }];
        let set = compare_paired(&series, &ChangeCriteria::default());
        assert!(set.changes.is_empty());
        assert!(set.skipped[0].1.contains("at least 2"));
    }

    #[test]
    fn holm() {
        let adj = holm_adjust(&[0.01, 0.04, 0.03, 0.5]);
        // Sorted: 0.01 * 4, 0.03 * 3, 0.04 * 2, 0.5 * 1, made monotone.
        assert_eq!(adj, vec![0.04, 0.09, 0.09, 0.5]);
        assert!(holm_adjust(&[]).is_empty());
        assert_eq!(holm_adjust(&[0.6, 0.6]), vec![1.0, 1.0]);
    }

    #[test]
    fn a_borderline_change_among_many_is_not_significant_after_adjustment() {
        // One benchmark 4% slower with p just under 0.05 on its own (of 8
        // rounds, the two smallest changes are faster: W- = 1 + 2 = 3, the
        // 5% critical value, p = 2 * 5/256 = 0.039), among nine unchanged
        // ones: after Holm's adjustment it is not a regression.
        let drift = [1.0, 1.02, 0.99, 1.01, 0.98, 1.0, 1.03, 0.97];
        let ratios = |i: usize| -> [f64; 8] {
            if i == 0 {
                [1.04, 1.05, 0.995, 1.03, 1.06, 0.99, 1.045, 1.035]
            } else {
                let e = 0.01 * (i % 3) as f64;
                [1.0 + e, 1.0 - e, 1.01, 0.99, 1.0, 1.005, 0.995, 1.0]
            }
        };
        let series: Vec<PairedSeries> = (0..10)
            .map(|i| PairedSeries {
                benchmark: format!("b{i}"),
                metric: metric::WALL_TIME.into(),
                unit: Unit::Seconds,
                base: drift.to_vec(),
                head: drift.iter().zip(ratios(i)).map(|(d, r)| d * r).collect(),
            })
            .collect();
        let set = compare_paired(&series, &ChangeCriteria::default());
        let first = &set.changes[0];
        assert!(
            (first.p_value.unwrap() - 10.0 / 256.0).abs() < 1e-12,
            "{first:?}"
        );
        assert!(!first.ratio_ci.contains(1.0), "{first:?}");
        assert!(first.p_adjusted.unwrap() >= 0.05, "{first:?}");
        assert_eq!(first.verdict, Verdict::Inconclusive);
        // Alone, it regresses.
        let set = compare_paired(&series[..1], &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Regressed, "{set:?}");
        assert_eq!(
            set.changes[0].method,
            "8 paired rounds, Hodges-Lehmann, exact Wilcoxon signed-rank"
        );
    }

    #[test]
    fn too_few_rounds_say_so_in_the_method() {
        let drift = [1.0, 1.02, 0.99, 1.01, 0.98, 1.0, 1.03, 0.97, 1.01, 0.99];
        let series = |rounds: usize, name: &str| PairedSeries {
            benchmark: name.into(),
            metric: metric::WALL_TIME.into(),
            unit: Unit::Seconds,
            base: drift[..rounds].to_vec(),
            head: drift[..rounds]
                .iter()
                .enumerate()
                .map(|(i, d)| d * (1.2 + 0.01 * i as f64))
                .collect(),
        };
        // 20% slower in each of 4 rounds: the best p-value is 2/16.
        let set = compare_paired(&[series(4, "a")], &ChangeCriteria::default());
        let c = &set.changes[0];
        assert_eq!(c.p_value, Some(0.125));
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(
            c.method,
            "4 paired rounds; Wilcoxon signed-rank, n=4: cannot reach 5% with fewer than 6 rounds"
        );
        // 6 rounds are enough alone...
        let set = compare_paired(&[series(6, "a")], &ChangeCriteria::default());
        assert_eq!(set.changes[0].verdict, Verdict::Regressed);
        // ... but not for two benchmarks adjusted together (2 * 2/64 > 5%).
        let set = compare_paired(
            &[series(6, "a"), series(6, "b")],
            &ChangeCriteria::default(),
        );
        assert_eq!(set.changes[0].verdict, Verdict::Inconclusive);
        assert_eq!(
            set.changes[0].method,
            "6 paired rounds; Wilcoxon signed-rank, n=6: cannot reach 5% after Holm's \
             adjustment over 2 benchmarks with fewer than 7 rounds"
        );
        let set = compare_paired(
            &[series(7, "a"), series(7, "b")],
            &ChangeCriteria::default(),
        );
        assert!(set.changes.iter().all(|c| c.verdict == Verdict::Regressed));
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(1.0 - 0.99), "1%");
        assert_eq!(percent(0.001), "0.1%");
    }

    #[test]
    fn one_disturbed_round_does_not_hide_a_regression() {
        // 10% slower in 10 rounds (±1%), one round disturbed to 2.5 times
        // its ratio: the mean and t interval of the log ratios give +20.6%
        // [-2.0%, +48.3%], no regression; the rank-based estimate stays at
        // +10.1% with an interval of [+9.5%, +73.4%]: the upper bound is
        // one of the 10 Walsh averages with the wild round (only 9 are cut
        // at 10 rounds), but the lower bound and the verdict hold.
        let ratios = [
            1.10,
            1.11,
            1.09,
            1.105,
            1.095,
            1.10 * 2.5,
            1.102,
            1.098,
            1.107,
            1.093,
        ];
        let drift = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.75, 1.05, 1.0, 0.95];
        let series = [PairedSeries {
            benchmark: "a".into(),
            metric: metric::WALL_TIME.into(),
            unit: Unit::Seconds,
            base: drift.to_vec(),
            head: drift.iter().zip(ratios).map(|(d, r)| d * r).collect(),
        }];
        let set = compare_paired(&series, &ChangeCriteria::default());
        let c = &set.changes[0];
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!((c.ratio - 1.10).abs() < 0.005, "{c:?}");
        assert!(c.ratio_ci.lower > 1.09, "{c:?}");
        let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
        let t = crate::stats::mean_confidence_interval(&logs, 0.95).unwrap();
        assert!(t.lower < 0.0, "{t:?}");
        assert!((t.lower.exp() - 0.9798).abs() < 1e-4, "{t:?}");
        assert!((t.upper.exp() - 1.4833).abs() < 1e-4, "{t:?}");
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("fib/*", "fib/20"));
        assert!(pattern_matches("*sort*", "group/sort_1000"));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("fib/*", "sort/20"));
        assert!(!pattern_matches("a*b", "ab_"));
        assert!(pattern_matches("*", "anything"));
        // A suffix that does not match must not cut inside a character.
        assert!(!pattern_matches("parse*x", "parse_ü"));
        assert!(pattern_matches("parse*ü", "parse_ü"));
    }

    #[test]
    fn min_effects_as_percentages_or_fractions() {
        assert_eq!(parse_min_effect("3%").unwrap(), 0.03);
        assert_eq!(parse_min_effect("0.05").unwrap(), 0.05);
        assert_eq!(parse_min_effect(" 2.5 % ").unwrap(), 0.025);
        assert!(parse_min_effect("x").is_err());
        assert!(parse_min_effect("150%").is_err());
        assert!(parse_min_effect("-1%").is_err());
    }
}
