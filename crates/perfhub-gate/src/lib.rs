//! The interleaved A/B regression gate.
//!
//! Comparing a pull request's benchmarks with numbers stored from an earlier
//! run compares two moments of a shared machine as much as two versions of
//! the code: on CI runners the drift between runs of identical code is
//! several percent to 30%. [`run_ab`] builds base and head side by side and
//! runs them alternately, round after round in a random order, so both see
//! the same drift, and decides from the paired per-round ratios (see
//! [`perfhub_core::compare::compare_paired`]) with a minimum effect size on
//! top of significance. For criterion suites the rounds are per benchmark:
//! each benchmark of base and head runs alone for a short slice, back to
//! back ([`Interleave::Slices`], [`SliceConfig`]). With a time budget, rounds
//! go on only for the benchmarks still undecided, tested at a few planned
//! looks with the level split across them ([`LookPlan`], [`Stop`]).
#![deny(missing_docs)]

use std::path::PathBuf;

mod ab;
mod git;
mod instructions;
mod paired;
mod slices;

pub use ab::{
    AbConfig, AbOutcome, AbProgress, CriterionVerdicts, Interleave, MEASURING_NICE, NoProgress,
    ResultFormat, Rounds, Side, run_ab,
};
pub use git::{Checkout, Worktree};
pub use instructions::{InstructionCounter, count_instructions};
pub use paired::{
    DEFAULT_BATCH, DEFAULT_TIME, PairedConfig, PairedOutcome, PairedProgress, run_paired,
};
pub use perfhub_core::sequential::{Decision, LookPlan, Stop};
pub use slices::SliceConfig;

pub use perfhub_core::setting::ConfigError;

/// Why an A/B run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// The settings cannot work: its message names them by their names in
    /// [`AbConfig`], [`SliceConfig`] and [`PairedConfig`] (`` `rounds` ``,
    /// `` `slice.sample_size` ``, `` `format.path` `` for a results file),
    /// and `` `run_paired` `` for the paired mode.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The directory is not inside a git checkout.
    #[error(
        "{}: not inside a git repository ({message}); `perfhub ab` checks the base out with `git worktree`",
        dir.display()
    )]
    NotARepository {
        /// The directory.
        dir: PathBuf,
        /// git's message.
        message: String,
    },
    /// The base revision does not name a commit.
    #[error(
        "unknown revision {rev:?}: give a commit, branch or tag that `git rev-parse` knows (in CI, fetch it first, e.g. `actions/checkout` with `fetch-depth: 0`)"
    )]
    UnknownRevision {
        /// The revision.
        rev: String,
    },
    /// A git command failed.
    #[error("git {command}: {message}")]
    Git {
        /// The arguments.
        command: String,
        /// git's message.
        message: String,
    },
    /// A command could not be started.
    #[error("cannot start `{command}` ({side}): {message}")]
    Spawn {
        /// The command.
        command: String,
        /// `base` or `head`.
        side: &'static str,
        /// Why.
        message: String,
    },
    /// A command failed.
    #[error("`{command}` failed ({side}, {status}); its last lines:\n{tail}")]
    CommandFailed {
        /// The command.
        command: String,
        /// `base` or `head`.
        side: &'static str,
        /// Its exit status.
        status: String,
        /// The end of its output.
        tail: String,
    },
    /// A run's results could not be read.
    #[error("reading the {side} run's results: {message}")]
    Import {
        /// `base` or `head`.
        side: &'static str,
        /// The importer's message.
        message: String,
    },
    /// The user interrupted the run before two rounds were complete.
    #[error("interrupted after {rounds} complete round(s); at least 2 are needed to compare")]
    Interrupted {
        /// The rounds completed.
        rounds: usize,
    },
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl GateError {
    /// A configuration error that names no setting.
    fn config(message: impl Into<String>) -> GateError {
        GateError::Config(ConfigError::new(message))
    }

    /// A configuration error whose message `message(names)` names `settings`.
    fn naming(settings: &[&'static str], message: impl FnOnce(&[String]) -> String) -> GateError {
        GateError::Config(ConfigError::naming(settings, message))
    }
}
