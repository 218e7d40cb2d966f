//! perfhub: performance analysis and benchmarking.
//!
//! This façade re-exports perfhub's focused crates under one name:
//!
//! - [`core`]: the report model, units, statistics, histograms and budgets
//!   (always present);
//! - [`probe`]: the environment fingerprint and measured process spawning
//!   (feature `probe`);
//! - [`run`]: benchmarking of commands, as `perfhub run` does it (feature `run`).
#![deny(missing_docs)]

pub use perfhub_core as core;
pub use perfhub_core::{Report, budget, histogram, report, stats, units};
#[cfg(feature = "probe")]
pub use perfhub_probe as probe;
#[cfg(feature = "run")]
pub use perfhub_run as run;
