//! perfhub's OS layer: everything that asks the operating system.
//!
//! - [`affinity`]: which CPU a process runs on;
//! - [`spawn`]: run a command and measure it ([`PreparedCommand::run`]):
//!   wall and CPU time, peak RSS, `/proc/<pid>/io`, context switches, page
//!   faults and perf_event counters;
//! - [`counters`]: perf_event counters, with the reasons a machine refuses them;
//! - [`perf_access`]: why the kernel refused `perf_event_open` (paranoid
//!   level, seccomp, capabilities), and what would fix it;
//! - [`env`](mod@env): the environment fingerprint that goes into every report;
//! - [`git`]: the commit, branch and dirty state of the checkout, read from
//!   the repository's files where that is exact;
//! - [`procfs`]: readers of `/proc` files;
//! - [`timeline`]: a resource timeline of a process tree, sampled from `/proc`;
//! - [`fs`]: atomic file writes.
#![deny(missing_docs)]

pub mod affinity;
pub mod counters;
pub mod env;
pub mod fs;
pub mod git;
pub mod perf_access;
pub mod priority;
pub mod procfs;
pub mod spawn;
pub mod timeline;

pub use spawn::{CommandSpec, Exit, PreparedCommand, ProcessRun, SpawnError};
