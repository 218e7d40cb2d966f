//! The percentile spectrum of a latency histogram, as HdrHistogram plots it.
//!
//! The x axis is `log10(1 / (1 - p))`: 0 is the 0th percentile, 1 is 90%,
//! 2 is 99%, 3 is 99.9%, so each "nine" gets the same width and the tail,
//! where latency problems live, is not squeezed into the last pixel.

use perfhub_core::histogram::{HISTOGRAM_UNIT_SECONDS, LatencyHistogram};

/// Points per decade of `1 / (1 - p)`.
const STEPS_PER_DECADE: u32 = 40;

/// One point of a spectrum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// `log10(1 / (1 - p))`.
    pub x: f64,
    /// The quantile, 0 to 1.
    pub p: f64,
    /// The latency at `p`, in seconds.
    pub value: f64,
}

/// The axis position of quantile `p` (0 to 1, exclusive of 1).
pub fn x_of(p: f64) -> f64 {
    -(1.0 - p).log10()
}

/// The quantile at axis position `x`.
pub fn p_of(x: f64) -> f64 {
    1.0 - 10f64.powf(-x)
}

/// The label of the tick at `x = k`: `0%`, `90%`, `99%`, `99.9%`, ...
pub fn tick_label(k: u32) -> String {
    if k == 0 {
        return "0%".to_string();
    }
    let decimals = k.saturating_sub(2) as usize;
    let nines = 100.0 - 100.0 / 10f64.powi(k as i32);
    format!("{nines:.decimals$}%")
}

/// The spectrum of `h`: from the 0th percentile to `1 - 1/n` (the rank of
/// the last sample, beyond which percentiles are the maximum), with every
/// integer `x` (90%, 99%, ...) among the points, then the maximum.
pub fn points(h: &LatencyHistogram) -> Vec<Point> {
    if h.is_empty() {
        return Vec::new();
    }
    let end = (h.len() as f64).log10().max(1.0);
    let last = (end * f64::from(STEPS_PER_DECADE)).floor() as u32;
    let secs = |nanos: u64| nanos as f64 * HISTOGRAM_UNIT_SECONDS;
    let mut pts: Vec<Point> = (0..=last)
        .map(|i| {
            let x = f64::from(i) / f64::from(STEPS_PER_DECADE);
            let p = p_of(x);
            Point {
                x,
                p,
                value: secs(h.value_at_quantile_nanos(p)),
            }
        })
        .collect();
    pts.push(Point {
        x: end,
        p: 1.0,
        value: secs(h.max_nanos()),
    });
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_puts_each_nine_one_decade_apart() {
        for (p, x) in [
            (0.0, 0.0),
            (0.9, 1.0),
            (0.99, 2.0),
            (0.999, 3.0),
            (0.9999, 4.0),
        ] {
            assert!((x_of(p) - x).abs() < 1e-9, "x_of({p})");
            assert!((p_of(x) - p).abs() < 1e-12, "p_of({x})");
        }
        let labels: Vec<String> = (0..6).map(tick_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    }

    #[test]
    fn the_spectrum_reads_hdrhistogram_percentiles_at_the_ticks() {
        // 1..=100_000 µs: the percentile p is p * 100 ms, to 3 digits.
        let mut h = LatencyHistogram::new();
        for us in 1..=100_000u64 {
            h.record_nanos(us * 1000);
        }
        let pts = points(&h);
        for (k, expect_ms) in [(1u32, 90.0), (2, 99.0), (3, 99.9), (4, 99.99)] {
            let at = pts
                .iter()
                .find(|p| p.x == f64::from(k))
                .expect("a point at every tick");
            let q = p_of(f64::from(k));
            assert_eq!(at.value, h.value_at_quantile_nanos(q) as f64 * 1e-9);
            assert!(
                (at.value * 1e3 / expect_ms - 1.0).abs() < 1e-3,
                "{k}: {}",
                at.value
            );
        }
        // The curve ends at log10(n) = 5 with the maximum, and never falls.
        let last = pts.last().unwrap();
        assert_eq!((last.x, last.value), (5.0, h.max_nanos() as f64 * 1e-9));
        assert!(
            pts.windows(2)
                .all(|w| w[0].value <= w[1].value && w[0].x < w[1].x + 1e-12)
        );
        assert_eq!(pts[0].value, h.min_nanos() as f64 * 1e-9);
        assert!(points(&LatencyHistogram::new()).is_empty());
    }
}
