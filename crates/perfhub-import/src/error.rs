//! [`ImportError`]: every way an input can fail to import, each naming the
//! file (and line) and, for JSON, the field.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Format;

/// Where in the input a problem is: a file, and a line for line-based formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the caller named it.
    pub path: PathBuf,
    /// The line, from 1, for line-based formats.
    pub line: Option<usize>,
}

impl Location {
    /// The whole of the file at `path`.
    pub fn file(path: &Path) -> Self {
        Location {
            path: path.to_path_buf(),
            line: None,
        }
    }

    /// Line `line` (from 1) of the file at `path`.
    pub fn line(path: &Path, line: usize) -> Self {
        Location {
            path: path.to_path_buf(),
            line: Some(line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// Why an input cannot be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file or directory the format needs is not there.
    #[error("{}: no such file or directory{}", path.display(), expected_by(.expected))]
    Missing {
        /// The path that is not there.
        path: PathBuf,
        /// What the format would have there, if worth saying.
        expected: Option<String>,
    },
    /// A file or directory cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file (or a line of a JSON-lines file) is not valid JSON.
    #[error("{location}: invalid JSON: {message}")]
    Json {
        /// Where.
        location: Location,
        /// What the JSON parser found.
        message: String,
    },
    /// A JSON field is missing, or has the wrong type or an impossible value.
    #[error("{location}: field `{field}`: {problem}")]
    Field {
        /// Where.
        location: Location,
        /// The field's path within the document, such as `mean.point_estimate`
        /// or `results[2].times[0]`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A line that looks like a result but cannot be read.
    #[error("{location}: {problem}")]
    Line {
        /// Where.
        location: Location,
        /// What is wrong with it.
        problem: String,
    },
    /// Two results have the same name, which a report cannot hold.
    #[error("{location}: benchmark `{name}` appears twice (first at {first})")]
    Duplicate {
        /// Where the second one is.
        location: Location,
        /// Where the first one is.
        first: Location,
        /// The name.
        name: String,
    },
    /// A criterion directory with no benchmark results in it.
    #[error(
        "{}: no criterion benchmarks found (no `<benchmark>/new/benchmark.json` below it); run `cargo bench` first, and pass the `target/criterion` directory",
        path.display()
    )]
    NoCriterionBenchmarks {
        /// The directory.
        path: PathBuf,
    },
    /// No criterion benchmark has the requested baseline.
    #[error(
        "{}: no benchmark has a baseline named `{baseline}` (baselines found: {})",
        path.display(),
        found.join(", ")
    )]
    UnknownBaseline {
        /// The criterion directory.
        path: PathBuf,
        /// The baseline asked for.
        baseline: String,
        /// The baselines that are there, sorted.
        found: Vec<String>,
    },
    /// A file in a known format holds no results.
    #[error("{}: no benchmark results: {hint}", path.display())]
    NoResults {
        /// The file.
        path: PathBuf,
        /// What was expected and how to produce it.
        hint: String,
    },
    /// [`detect`](crate::detect) cannot tell which format a file is in.
    #[error(
        "{}: cannot tell which format this is (auto reads criterion, cargo-criterion, libtest, hyperfine, goose, k6, pytest-benchmark, pyperf, asv, Google Benchmark, go test -bench, JMH, tinybench/vitest, benchmark.js, iai-callgrind and Bencher Metric Format results); name the format instead of `auto` (`perfhub import --help` lists them)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// Values that each look like a number but together make an impossible
    /// measurement, found in the report the input became (see
    /// [`Report::check_values`](perfhub_core::Report::check_values)).
    #[error(
        "{}: {invalid}; the file is damaged or was edited: run the benchmarks again",
        path.display()
    )]
    Invalid {
        /// The file or directory imported.
        path: PathBuf,
        /// Which benchmark and metric, and what is wrong.
        invalid: perfhub_core::report::InvalidMeasurement,
    },
    /// A baseline was given for a format that has none.
    #[error("{setting}")]
    BaselineNotApplicable {
        /// The format imported.
        format: Format,
        /// The baseline asked for.
        baseline: String,
        /// The message, which names the `` `baseline` `` setting.
        #[source]
        setting: perfhub_core::setting::ConfigError,
    },
    /// A load tool's report (goose, k6) cannot be imported; the message
    /// names the place in it (a JSON path, or a line and column).
    #[error("{}: {message}", path.display())]
    LoadReport {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
}

fn expected_by(expected: &Option<String>) -> String {
    match expected {
        Some(e) => format!(" ({e})"),
        None => String::new(),
    }
}

impl ImportError {
    /// The error for an I/O failure on `path`, with not-found as [`ImportError::Missing`].
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            ImportError::Missing {
                path: path.to_path_buf(),
                expected: None,
            }
        } else {
            ImportError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// The location the error is about, where it is about one.
    pub fn location(&self) -> Option<Location> {
        match self {
            ImportError::Json { location, .. }
            | ImportError::Field { location, .. }
            | ImportError::Line { location, .. }
            | ImportError::Duplicate { location, .. } => Some(location.clone()),
            ImportError::Missing { path, .. }
            | ImportError::Read { path, .. }
            | ImportError::NoCriterionBenchmarks { path }
            | ImportError::UnknownBaseline { path, .. }
            | ImportError::NoResults { path, .. }
            | ImportError::UnknownFormat { path }
            | ImportError::Invalid { path, .. }
            | ImportError::LoadReport { path, .. } => Some(Location::file(path)),
            ImportError::BaselineNotApplicable { .. } => None,
        }
    }
}

impl ImportError {
    /// A baseline given for a format that has none.
    pub(crate) fn baseline_not_applicable(format: Format, baseline: &str) -> ImportError {
        let setting = perfhub_core::setting::ConfigError::naming(&["baseline"], |n| {
            format!(
                "{} `{baseline}` applies only to criterion directories, not to {format} output",
                n[0]
            )
        });
        ImportError::BaselineNotApplicable {
            format,
            baseline: baseline.to_string(),
            setting,
        }
    }
}
