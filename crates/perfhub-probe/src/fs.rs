//! Files written so that nothing is ever half-written.
//!
//! The helper lives in perfhub-core, which every crate depends on; it is
//! re-exported here for the callers that reach it as
//! `perfhub_probe::fs::write_atomic` (and `write_atomic_unsynced`).

pub use perfhub_core::fs::{write_atomic, write_atomic_unsynced};
