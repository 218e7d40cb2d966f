//! When to try a request again: the one backoff policy the network
//! adapters share (exponential, capped, with jitter) and the server's
//! `Retry-After`, in seconds or as an HTTP date.
//!
//! Whether a failure may be retried at all (a request that may have been
//! applied must not be sent twice) is each adapter's decision; how long to
//! wait is this module's.

use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng};

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts after the first, at most.
    pub retries: u32,
    /// The wait's ceiling before the first retry; it doubles after each.
    pub base: Duration,
    /// The longest wait, whatever the attempt or the server asks.
    pub max: Duration,
}

impl Default for Backoff {
    /// Three retries, from 500 ms, at most 10 s apart.
    fn default() -> Self {
        Backoff {
            retries: 3,
            base: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// Whether another attempt may follow `attempts` made so far.
    pub fn allows(&self, attempts: u32) -> bool {
        attempts <= self.retries
    }

    /// The wait after failed attempt number `attempt` (1 for the first):
    /// "equal jitter", uniform between half and all of `base ×
    /// 2^(attempt-1)` (capped at `max`), so that clients failing together
    /// do not come back together yet each waits at least half its share;
    /// never less than the server's `retry_after`, itself capped at `max`.
    /// `unit` is a number in [0, 1) that picks the point ([`jitter`] draws
    /// one).
    pub fn wait(&self, attempt: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max);
        let drawn = ceiling / 2 + (ceiling / 2).mul_f64(unit.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => drawn.max(asked.min(self.max)),
            None => drawn,
        }
    }
}

/// A number in [0, 1) for [`Backoff::wait`], different in every call and
/// every process.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    // std's RandomState is seeded from the OS once per thread and advanced
    // for each new one: enough to spread retries, no generator kept.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    rand_chacha::ChaCha8Rng::seed_from_u64(h.finish()).random::<f64>()
}

/// The wait a `Retry-After` header asks for, at `now`: delta-seconds
/// (`120`), or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the two
/// obsolete forms RFC 9110 requires a reader to accept); a date in the past
/// means no wait. `None` for a value that is neither.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_are_jittered_and_capped() {
        let b = Backoff {
            retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        // The ceiling doubles: 100, 200, 400, 800 ms, then the cap.
        let top = |a| b.wait(a, 0.999_999, None);
        assert!(top(1) <= Duration::from_millis(100) && top(1) > Duration::from_millis(99));
        assert!(top(2) > Duration::from_millis(199) && top(2) <= Duration::from_millis(200));
        assert!(top(4) > Duration::from_millis(799));
        assert_eq!(b.wait(9, 1.0, None), Duration::from_secs(1));
        assert_eq!(b.wait(60, 1.0, None), Duration::from_secs(1));
        // Equal jitter: from half the ceiling up.
        assert_eq!(b.wait(3, 0.0, None), Duration::from_millis(200));
        assert_eq!(b.wait(3, 0.5, None), Duration::from_millis(300));
        // The server's wish is a floor, under the cap.
        assert_eq!(
            b.wait(1, 0.0, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            b.wait(1, 0.0, Some(Duration::from_millis(10))),
            Duration::from_millis(50)
        );
        assert_eq!(
            b.wait(1, 0.0, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
        assert!(b.allows(5) && !b.allows(6));
    }

    #[test]
    fn jitter_is_a_unit_fraction_that_varies() {
        let draws: Vec<f64> = (0..64).map(|_| jitter()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mut distinct = draws.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        assert!(distinct.len() > 60, "{} distinct of 64", distinct.len());
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = Some(Duration::from_secs(60));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), later);
        assert_eq!(retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), later);
        assert_eq!(retry_after("Sun Nov  6 08:50:37 1994", now), later);
        // A date already past: no wait.
        assert_eq!(
            retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-5", "1.5", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
        // More seconds than fit is still a (very long) wait, capped by Backoff.
        assert!(retry_after("99999999999999999999999", now).is_some());
    }
}
