//! A counting global allocator with a cap, so that an input that makes a
//! parser allocate without bound fails the fuzz test (or the campaign's
//! worker) instead of eating the machine.
//!
//! Each thread counts its own live bytes (a parser runs on one thread), and
//! [`watch`] brackets one case: it records the peak above the live bytes at
//! its start. Past [`HARD_CAP`] above that start the allocator does not
//! return: it prints the target and the input to standard error and aborts
//! the process, because an allocator may not unwind and a few more such
//! allocations would take the machine down. Below it, the peak is only
//! measured; the caller compares it with [`SOFT_CAP`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;

/// The most one case may have live at once before it counts as a failure
/// (checked after the case): the bound for decoding a 1 MB pprof.
pub const SOFT_CAP: usize = 512 << 20;

/// The most one case may have live at once before the process aborts.
pub const HARD_CAP: usize = 1536 << 20;

/// The fuzz binaries' allocator: [`System`], counted per thread.
pub struct CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The live bytes at which this thread aborts; `isize::MAX` outside a case.
    static LIMIT: Cell<isize> = const { Cell::new(isize::MAX) };
    /// What runs, for the abort message.
    static CONTEXT: Cell<(&'static str, *const u8, usize)> =
        const { Cell::new(("", std::ptr::null(), 0)) };
}

fn grow(delta: isize) -> bool {
    LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        if delta > 0 {
            PEAK.with(|p| p.set(p.get().max(now)));
            if now > LIMIT.with(Cell::get) {
                return false;
            }
        }
        true
    })
    .unwrap_or(true)
}

// SAFETY: every call forwards to `System` with the same arguments; the
// counting around it only reads and writes this thread's cells.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size() as isize) {
            over_cap(layout.size());
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !grow(layout.size() as isize) {
            over_cap(layout.size());
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grow(-(layout.size() as isize));
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !grow(new_size as isize - layout.size() as isize) {
            over_cap(new_size);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` (one case of `target` on `input`) and returns its result with
/// the most bytes it had live at once.
pub fn watch<R>(target: &'static str, input: &[u8], f: impl FnOnce() -> R) -> (R, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let old_limit = LIMIT.with(|l| l.replace(start.saturating_add(HARD_CAP as isize)));
    let old_context = CONTEXT.with(|c| c.replace((target, input.as_ptr(), input.len())));
    let r = f();
    LIMIT.with(|l| l.set(old_limit));
    CONTEXT.with(|c| c.set(old_context));
    let peak = PEAK.with(Cell::get).saturating_sub(start).max(0) as usize;
    (r, peak)
}

/// A writer to standard error through a buffer on the stack: the allocator
/// must not allocate while it reports.
struct Stderr {
    buf: [u8; 512],
    len: usize,
}

impl Stderr {
    fn flush(&mut self) {
        let mut done = 0;
        while done < self.len {
            // SAFETY: writes initialized bytes of our own buffer to fd 2.
            let n = unsafe { libc::write(2, self.buf[done..].as_ptr().cast(), self.len - done) };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        self.len = 0;
    }
}

impl std::fmt::Write for Stderr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

#[cold]
fn over_cap(size: usize) -> ! {
    let (target, ptr, len) = CONTEXT.with(Cell::get);
    let mut err = Stderr {
        buf: [0; 512],
        len: 0,
    };
    let _ = write!(
        err,
        "\nperfhub-fuzz: target `{target}`: allocating {size} bytes takes this case past {} MiB live; aborting before the machine runs out of memory.\ninput ({len} bytes, first 4096 escaped): b\"",
        HARD_CAP >> 20
    );
    if !ptr.is_null() {
        // SAFETY: `watch` set this from a slice that outlives the case,
        // and the case is still running.
        let input = unsafe { std::slice::from_raw_parts(ptr, len) };
        for &b in &input[..len.min(4096)] {
            let _ = write!(err, "{}", std::ascii::escape_default(b));
        }
    }
    let _ = err.write_str("\"\n");
    err.flush();
    std::process::abort()
}
