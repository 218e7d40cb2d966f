//! Profiling a region of the running program: CPU samples, allocations and I/O.
//!
//! - [`alloc`]: the [`Tracking`](alloc::Tracking) global allocator, exact
//!   allocation counts and sampled allocation call sites;
//! - [`cpu`]: sampling every thread with perf_event_open, no signal handlers;
//! - [`io`]: bytes and syscalls of the region, per process and per thread;
//! - [`process`]: sampling another command and everything it starts;
//! - [`Profiler`]: all of it for one region, summarized as a perfhub report,
//!   written as a flame graph, folded stacks, pprof or speedscope;
//! - `criterion` (feature `criterion`): a flame graph per criterion benchmark.
#![deny(missing_docs)]

pub mod alloc;
pub mod cpu;
#[cfg(feature = "criterion")]
pub mod criterion;
pub mod io;
pub mod process;
mod profiler;

pub use profiler::{Profile, ProfileConfig, ProfileError, Profiler, WriteError};
