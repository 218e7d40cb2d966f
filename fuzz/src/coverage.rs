//! Coverage feedback on the stable toolchain: LLVM's SanitizerCoverage with
//! inline 8-bit counters (`-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-inline-8bit-counters`,
//! as `cargo xtask fuzz` builds the campaign) gives every instrumented
//! edge a byte counter and announces each module's counters through
//! [`__sanitizer_cov_8bit_counters_init`]. Without those flags nothing
//! calls it, and the campaign runs unguided.

use std::sync::Mutex;

/// The counter ranges announced, as (start, end) addresses.
static RANGES: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Called by every instrumented module's constructor with its counters.
///
/// # Safety
///
/// `start..end` must be the module's counter array, alive for the whole
/// process (LLVM emits it as a static section).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sanitizer_cov_8bit_counters_init(start: *mut u8, end: *mut u8) {
    if start < end
        && let Ok(mut r) = RANGES.lock()
    {
        r.push((start as usize, end as usize));
    }
}

/// Called by modules built with `-sanitizer-coverage-pc-table`; unused.
///
/// # Safety
///
/// Does nothing with its arguments.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sanitizer_cov_pcs_init(_start: *const usize, _end: *const usize) {}

fn with_counters(mut f: impl FnMut(&mut [u8])) {
    let ranges = RANGES.lock().map(|r| r.clone()).unwrap_or_default();
    for (start, end) in ranges {
        // SAFETY: the instrumented modules gave these ranges for the
        // process's lifetime; the counters are plain bytes that the
        // instrumented code increments on this same thread.
        let counters = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, end - start) };
        f(counters);
    }
}

/// Whether this binary was built with coverage counters.
pub fn available() -> bool {
    RANGES.lock().is_ok_and(|r| !r.is_empty())
}

/// Sets every counter to zero, before a case.
pub fn reset() {
    with_counters(|c| c.fill(0));
}

/// AFL's buckets: a counter's hit count as one of eight classes, so that a
/// loop run 5 or 6 times is no news but one run 100 times is.
fn bucket(count: u8) -> u8 {
    match count {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        4..=7 => 8,
        8..=15 => 16,
        16..=31 => 32,
        32..=127 => 64,
        _ => 128,
    }
}

/// The buckets every counter has reached so far.
#[derive(Default)]
pub struct Seen {
    buckets: Vec<u8>,
}

impl Seen {
    /// Folds in the counters of the case that just ran; returns how many
    /// counters reached a bucket they had not before (0: nothing new).
    pub fn update(&mut self) -> u32 {
        let mut new = 0;
        let mut i = 0;
        with_counters(|counters| {
            if self.buckets.len() < i + counters.len() {
                self.buckets.resize(i + counters.len(), 0);
            }
            for &c in counters.iter() {
                if c != 0 {
                    let b = bucket(c);
                    if self.buckets[i] & b == 0 {
                        self.buckets[i] |= b;
                        new += 1;
                    }
                }
                i += 1;
            }
        });
        new
    }

    /// How many edges any case has reached.
    pub fn edges(&self) -> usize {
        self.buckets.iter().filter(|&&b| b != 0).count()
    }
}
