//! Profiling a region of the running program: CPU samples, allocations and I/O.
//!
//! - [`alloc`]: the [`Tracking`](alloc::Tracking) global allocator, exact
//!   allocation counts and sampled allocation call sites;
//! - [`cpu`]: sampling every thread with perf_event_open, no signal handlers;
#![deny(missing_docs)]

pub mod alloc;
pub mod cpu;
