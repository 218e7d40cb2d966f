//! Walking the calling thread's stack from inside the allocator, without
//! allocating: by frame pointers, or with the platform unwinder and the
//! binary's unwind tables when the program was built without them.

use super::Unwinder;
use super::counters::ThreadState;

/// Unwinder codes kept in an atomic.
pub(super) const FRAME_POINTERS: u8 = 1;
pub(super) const UNWIND_TABLES: u8 = 2;

/// Whether this target has a frame-pointer walker.
pub(super) const HAS_FRAME_POINTER_WALKER: bool = cfg!(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
));

/// The stack pointer of the calling frame (with the function inlined into
/// it), or, on targets without a reader here, the address of a local of it
/// (also at or above the stack pointer).
#[inline(always)]
pub(super) fn stack_pointer() -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let sp: usize;
        // SAFETY: reads one register, touches no memory.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            std::arch::asm!("mov {}, rsp", out(reg) sp,
                options(nomem, nostack, preserves_flags));
            #[cfg(target_arch = "aarch64")]
            std::arch::asm!("mov {}, sp", out(reg) sp,
                options(nomem, nostack, preserves_flags));
        }
        sp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let local = 0u8;
        std::ptr::addr_of!(local) as usize
    }
}

/// Fills `buf` with return addresses, leaf first; returns how many.
///
/// `marker` is the stack pointer of the allocator's `GlobalAlloc` method
/// (see [`stack_pointer`]), read in that method's frame, which is the
/// allocator shim's or, when the shim is inlined into its caller (the crate
/// that declares the global allocator may inline it), the caller's. Frames
/// called from that frame (the sampler, the walker) lie below it and are
/// skipped by address, whatever their names; the frame itself is kept,
/// since it may be the program's own, and its inlined allocator frames are
/// trimmed by name later. 0 keeps every frame.
#[inline(never)]
pub(super) fn walk(unwinder: u8, buf: &mut [usize], t: &ThreadState, marker: usize) -> usize {
    if unwinder == FRAME_POINTERS {
        let mut top = t.stack_top.get();
        if top == 0 {
            top = fp::stack_top();
            t.stack_top.set(top);
        }
        fp::walk(buf, top, marker)
    } else {
        walk_unwind_tables(buf, marker)
    }
}

/// `_Unwind_Backtrace`, through the backtrace crate: it reads the binary's
/// DWARF call frame information (present by default on Linux) and calls no
/// Rust allocator. Costs a few microseconds per sample, paid once per
/// `sample_interval_bytes` on average.
///
/// The unwinder reports each frame's stack pointer at its call into the
/// frame below (`_Unwind_GetCFA`, which in libgcc and LLVM's libunwind
/// alike is the callee's CFA): frames called from the marker's frame report
/// less than the marker, the marker's frame reports the marker itself (a
/// function's stack pointer does not move between its prologue and its
/// calls), its callers more.
fn walk_unwind_tables(buf: &mut [usize], marker: usize) -> usize {
    let mut n = 0;
    if buf.is_empty() {
        return 0;
    }
    // SAFETY: the unsynchronized variant only skips the crate's global lock,
    // which serializes symbolization caches and Windows' dbghelp; the
    // libunwind backend used on Unix is thread-safe. Not taking the lock
    // also means a sample can never wait on a thread that is symbolizing
    // (and allocating) under it.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            let ip = frame.ip() as usize;
            // The outermost frame of a thread reports address 0.
            if ip == 0 {
                return false;
            }
            let sp = frame.sp() as usize;
            // An unwinder that gives no stack pointer keeps every frame.
            if sp == 0 || sp >= marker {
                buf[n] = ip;
                n += 1;
            }
            n < buf.len()
        });
    }
    n
}

/// A walk with the unwind tables, for tests of the symbolizer.
#[cfg(test)]
pub(super) fn walk_for_tests(buf: &mut [usize]) -> usize {
    walk_unwind_tables(buf, 0)
}

/// Which unwinder `requested` means here.
pub(super) fn resolve(requested: Unwinder) -> Unwinder {
    match requested {
        Unwinder::Auto if HAS_FRAME_POINTER_WALKER && fp::frame_pointers_work() => {
            Unwinder::FramePointers
        }
        Unwinder::Auto => Unwinder::UnwindTables,
        other => other,
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod fp {
    use std::arch::asm;
    use std::hint::black_box;
    use std::mem::MaybeUninit;

    /// The end (highest address) of the calling thread's stack, 0 if unknown.
    /// `pthread_getattr_np` may call the C allocator (for the main thread it
    /// reads /proc/self/maps), never the Rust one; called once per thread.
    pub(super) fn stack_top() -> usize {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        // SAFETY: `attr` is initialized by a successful call, used only then,
        // and destroyed after use.
        unsafe {
            if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
                return 0;
            }
            let mut addr = std::ptr::null_mut();
            let mut size = 0;
            let ok = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0;
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            if ok { addr as usize + size } else { 0 }
        }
    }

    /// Follows the chain of frame records (saved frame pointer, then return
    /// address, on x86_64 and aarch64 alike) from this function's frame.
    ///
    /// Code built without frame pointers leaves garbage in the register, so
    /// every record is checked before it is read: it must lie above the
    /// stack pointer and below the stack's top (memory that is always
    /// mapped), be aligned, and each record must be above the previous one.
    /// A bad chain ends the walk early; it never faults.
    ///
    /// A return address is kept when the frame it returns into is the
    /// marker's frame or above: its frame record (the next one) is then at
    /// or above the marker. Every frame called from the marker's frame lies,
    /// record included, below the stack pointer the marker was read from.
    #[inline(never)]
    pub(super) fn walk(buf: &mut [usize], stack_top: usize, marker: usize) -> usize {
        let mut fp: usize;
        let sp: usize;
        // SAFETY: reads two registers, touches no memory.
        unsafe {
            #[cfg(target_arch = "x86_64")]
            asm!("mov {}, rbp", "mov {}, rsp", out(reg) fp, out(reg) sp,
                options(nomem, nostack, preserves_flags));
            #[cfg(target_arch = "aarch64")]
            asm!("mov {}, x29", "mov {}, sp", out(reg) fp, out(reg) sp,
                options(nomem, nostack, preserves_flags));
        }
        let word = size_of::<usize>();
        let mut n = 0;
        let mut low = sp;
        while n < buf.len() {
            if fp < low || !fp.is_multiple_of(word) || fp.saturating_add(2 * word) > stack_top {
                break;
            }
            // SAFETY: [fp, fp + 16) lies between the stack pointer and the
            // top of this thread's stack, which is mapped and readable.
            let (next, ret) = unsafe {
                (
                    std::ptr::read_volatile(fp as *const usize),
                    std::ptr::read_volatile((fp + word) as *const usize),
                )
            };
            if ret == 0 {
                break;
            }
            if next >= marker {
                buf[n] = ret;
                n += 1;
            }
            if next <= fp {
                break;
            }
            low = fp + 2 * word;
            fp = next;
        }
        n
    }

    /// Whether this build keeps frame pointers: a walk from two known
    /// functions must return into each of them, in order. Without frame
    /// pointers the register holds some outer frame or garbage, and the walk
    /// misses them.
    pub(super) fn frame_pointers_work() -> bool {
        let top = stack_top();
        if top == 0 {
            return false;
        }
        let mut buf = [0usize; 4];
        let n = probe_outer(&mut buf, top);
        let within = |addr: usize, f: usize| addr > f && addr - f < 4096;
        n >= 2
            && within(
                buf[0],
                probe_inner as fn(&mut [usize; 4], usize) -> usize as usize,
            )
            && within(
                buf[1],
                probe_outer as fn(&mut [usize; 4], usize) -> usize as usize,
            )
    }

    #[inline(never)]
    fn probe_outer(buf: &mut [usize; 4], top: usize) -> usize {
        black_box(probe_inner(black_box(buf), top))
    }

    #[inline(never)]
    fn probe_inner(buf: &mut [usize; 4], top: usize) -> usize {
        black_box(walk(black_box(buf), top, 0))
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod fp {
    pub(super) fn stack_top() -> usize {
        0
    }

    pub(super) fn walk(_buf: &mut [usize], _stack_top: usize, _marker: usize) -> usize {
        0
    }

    pub(super) fn frame_pointers_work() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwind_tables_walk_finds_this_test() {
        let mut buf = [0usize; 64];
        let n = walk_unwind_tables(&mut buf, 0);
        assert!(n > 3, "{n} frames");
        assert!(buf[..n].iter().all(|&a| a != 0));
    }

    /// In a build without frame pointers the walk must stay safe (it may
    /// find nothing useful); with them, it must find the probe functions.
    #[test]
    fn frame_pointer_walk_is_safe_and_probe_is_consistent() {
        let top = fp::stack_top();
        let mut buf = [0usize; 64];
        let n = fp::walk(&mut buf, top, 0);
        assert!(n <= buf.len());
        if fp::frame_pointers_work() {
            assert!(n > 0);
        }
        assert_eq!(fp::walk(&mut buf, 0, 0), 0, "no stack bounds, no walk");
    }

    #[test]
    fn auto_resolves_to_a_concrete_unwinder() {
        assert_ne!(resolve(Unwinder::Auto), Unwinder::Auto);
        assert_eq!(resolve(Unwinder::UnwindTables), Unwinder::UnwindTables);
    }
}
