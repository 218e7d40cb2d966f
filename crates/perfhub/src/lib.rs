//! perfhub: performance analysis and benchmarking.
//!
//! This façade re-exports perfhub's focused crates under one name:
//!
//! - [`core`]: the report model, units, statistics, histograms and budgets
//!   (always present);
//! - [`probe`]: the environment fingerprint and measured process spawning
//!   (feature `probe`);
//! - [`run`]: benchmarking of commands, as `perfhub run` does it (feature `run`);
//! - [`profile`], [`alloc`] and [`flame`]: profiling a region of this program
//!   (CPU samples, allocations, I/O) and flame graphs (feature `profile`).
#![deny(missing_docs)]

pub use perfhub_core as core;
pub use perfhub_core::{Report, budget, histogram, report, stats, units};
#[cfg(feature = "profile")]
pub use perfhub_flame as flame;
#[cfg(feature = "probe")]
pub use perfhub_probe as probe;
#[cfg(feature = "profile")]
pub use perfhub_profile as profile;
#[cfg(feature = "profile")]
pub use perfhub_profile::alloc;
#[cfg(feature = "run")]
pub use perfhub_run as run;
