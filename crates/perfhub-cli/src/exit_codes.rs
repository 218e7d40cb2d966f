//! The exit codes of `perfhub`, in one place. Documented in README.md.

/// Everything ran and every budget held.
pub const SUCCESS: i32 = 0;
/// perfhub itself failed: bad input, a missing command, an unwritable file.
pub const ERROR: i32 = 1;
/// The command line could not be parsed (clap's own code).
pub const USAGE: i32 = 2;
/// The measurements were taken, and at least one budget was breached.
pub const BUDGET_BREACHED: i32 = 3;
/// A benchmarked command failed (non-zero exit or a signal) without `--ignore-failure`.
pub const COMMAND_FAILED: i32 = 4;
/// A comparison (`perfhub compare`, `perfhub ab`) found a benchmark that
/// regressed: significantly slower by at least the minimum effect.
pub const REGRESSED: i32 = 5;
/// The user interrupted the run (Ctrl-C); what was measured was still reported.
pub const INTERRUPTED: i32 = 130;
