//! Ctrl-C stops a run after the current command instead of killing perfhub,
//! so the runs completed so far are still reported and exported.
//!
//! A handler (not `SIG_IGN`) is installed: handlers are reset on `exec`, so
//! the benchmarked commands still get the default action and stop at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT and SIGTERM handlers.
pub fn install() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Whether an interrupt arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
