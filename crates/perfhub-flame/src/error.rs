//! The error types of this crate: [`FlameError`], and [`ReadFileError`]
//! for a file.

use std::path::PathBuf;

/// Why a profile could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlameError {
    /// A line of folded stacks is malformed; nothing of the input is used.
    #[error("line {line}: {problem}")]
    Folded {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: FoldedProblem,
    },
    /// The bytes are not a protobuf `perftools.profiles.Profile`.
    #[error("not a pprof profile: {0}")]
    PprofDecode(String),
    /// The profile decodes, but refers to things it does not hold (a
    /// location, a function, a string) or holds values perfhub cannot use.
    #[error("invalid pprof profile: {0}")]
    InvalidPprof(String),
    /// The profile is larger than perfhub reads: a string longer than any
    /// name, a message or a whole profile too large for memory, as a
    /// decompression bomb is. Nothing of it is used.
    #[error("pprof profile too large: {0}")]
    PprofTooLarge(String),
    /// A gzip stream is corrupt or truncated.
    #[error("corrupt gzip stream")]
    Gzip(#[source] std::io::Error),
    /// There is nothing to draw: no stack has any weight.
    #[error("the profile has no samples")]
    EmptyProfile,
    /// Writing the output failed.
    #[error("cannot write the output")]
    Io(#[from] std::io::Error),
}

/// What is wrong with one line of folded stacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FoldedProblem {
    /// The line has no weight after the stack.
    #[error("no weight after the stack (expected `frame;frame;frame weight`)")]
    MissingWeight,
    /// The last field is not a non-negative whole number.
    #[error("weight `{0}` is not a non-negative whole number")]
    InvalidWeight(String),
    /// Nothing before the weight.
    #[error("empty stack before the weight")]
    EmptyStack,
    /// Two `;` with nothing between them, or one at either end of the stack.
    #[error("empty frame name in the stack")]
    EmptyFrame,
    /// The bytes of the line are not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// With this line's weight, the weights add up past what a profile
    /// holds.
    #[error("the weights add up past {}, the most a profile holds", u64::MAX)]
    WeightsOverflow,
}

/// Why [`read_profile_file`](crate::read_profile_file) read no profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadFileError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PROFILE_BYTES`](crate::MAX_PROFILE_BYTES).
    #[error(
        "{}: larger than the {} MiB perfhub reads as a profile",
        path.display(),
        crate::MAX_PROFILE_BYTES >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are no profile.
    #[error("{}", path.display())]
    Profile {
        /// The file.
        path: PathBuf,
        /// What is wrong with them.
        #[source]
        source: FlameError,
    },
}
