//! Round values for chart axes: ticks on steps of 1, 2 or 5 (and 2.5)
//! times a power of ten.
//!
//! Two shapes, for the two ways perfhub draws axes: [`nice_ticks`] keeps
//! every tick within the data's range (the report page, which labels the
//! data it draws), [`nice_ticks_covering`] reaches one tick past each end
//! (the history chart, whose axis runs from its first tick to its last).

/// The smallest of `mantissas` times a power of ten (then ten times that
/// power) that is at least `raw`.
fn nice_step(raw: f64, mantissas: &[f64]) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    mantissas
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Round tick values within `lo..=hi`, about `target` of them, on steps of
/// 1, 2 or 5 times a power of ten; a multiple of the step too small to tell
/// from zero is zero. An empty or non-finite range gives `[lo]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / target.max(1) as f64, &[1.0, 2.0, 5.0, 10.0]);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    let mut ticks = Vec::new();
    let mut i = first;
    while i <= last + 1e-9 && ticks.len() < 50 {
        // Multiplying the index avoids accumulating rounding errors.
        let v = i * step;
        ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        i += 1.0;
    }
    ticks
}

/// Round tick values covering `lo..=hi`, about `count` of them, on steps of
/// 1, 2, 2.5 or 5 times a power of ten: the first at or below `lo`, the last
/// at or above `hi`. A flat range is widened around its value (to `0..=1`
/// at zero); a range no step fits (non-finite) gives its two ends.
pub fn nice_ticks_covering(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        let pad = lo.abs() * 0.1;
        (lo - pad, hi + pad)
    };
    let step = nice_step((hi - lo) / count.max(1) as f64, &[1.0, 2.0, 2.5, 5.0, 10.0]);
    if !step.is_finite() || step <= 0.0 {
        return vec![lo, hi];
    }
    let first = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    let mut i = 0.0;
    loop {
        let t = first + i * step;
        ticks.push(t);
        if t >= hi || ticks.len() > 4 * count + 2 {
            break;
        }
        i += 1.0;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_within_are_round_and_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(0.013, 0.031, 4), vec![0.015, 0.02, 0.025, 0.03]);
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5).len(), 1);
        assert_eq!(nice_ticks(0.0, f64::INFINITY, 5), vec![0.0]);
        // Crossing zero: a tick at zero, every tick inside.
        let t = nice_ticks(-0.3, 0.3, 6);
        assert!(t.contains(&0.0), "{t:?}");
        assert!(t.iter().all(|v| (-0.3..=0.3).contains(v)), "{t:?}");
    }

    #[test]
    fn covering_ticks_are_round_and_cover_the_range() {
        let t = nice_ticks_covering(0.0123, 0.0191, 5);
        assert!(
            t.first().unwrap() <= &0.0123 && t.last().unwrap() >= &0.0191,
            "{t:?}"
        );
        assert!(t.len() >= 3 && t.len() <= 12, "{t:?}");
        let t = nice_ticks_covering(3.0, 3.0, 5);
        assert!(
            t.first().unwrap() < &3.0 && t.last().unwrap() > &3.0,
            "{t:?}"
        );
        assert_eq!(nice_ticks_covering(0.0, 0.0, 5).first(), Some(&0.0));
        // Steps of 2.5: 0 to 10 in four.
        assert_eq!(
            nice_ticks_covering(0.0, 10.0, 4),
            vec![0.0, 2.5, 5.0, 7.5, 10.0]
        );
        assert_eq!(
            nice_ticks_covering(f64::NEG_INFINITY, 1.0, 5),
            vec![f64::NEG_INFINITY, 1.0]
        );
    }
}
