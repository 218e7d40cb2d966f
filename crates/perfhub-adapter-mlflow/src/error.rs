//! Errors of an upload to MLflow.

use std::time::Duration;

/// Why an upload to MLflow failed.
///
/// No variant ever holds the auth token: every text that came from the
/// server or the HTTP stack is scrubbed of it before it is stored here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (an empty experiment name, a tracking
    /// URI that is not `http://` or `https://`).
    #[error("invalid MLflow configuration: {0}")]
    Config(String),
    /// No connection could be made, after every retry.
    #[error("cannot reach the MLflow tracking server at {url} ({attempts} attempts): {message}")]
    Unreachable {
        /// The tracking URI, without any credentials.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// What the last attempt ran into.
        message: String,
    },
    /// The server did not answer in time, after every retry that was safe.
    #[error(
        "the MLflow tracking server at {url} did not answer {endpoint} within {timeout:?} ({attempts} attempts)"
    )]
    Timeout {
        /// The tracking URI, without any credentials.
        url: String,
        /// The REST endpoint, such as `POST runs/log-batch`.
        endpoint: String,
        /// The per-request timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The server refused the request (HTTP 4xx other than 429): not retried.
    #[error("MLflow refused {endpoint} with HTTP {status} {error_code}: {message}")]
    Rejected {
        /// The REST endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code`, such as `INVALID_PARAMETER_VALUE`.
        error_code: String,
        /// MLflow's `message`.
        message: String,
    },
    /// The server failed (HTTP 5xx or 429) on every attempt.
    #[error(
        "the MLflow tracking server failed {endpoint} with HTTP {status} ({attempts} attempts): {message}"
    )]
    Server {
        /// The REST endpoint.
        endpoint: String,
        /// The last HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// MLflow's message or the start of the body.
        message: String,
    },
    /// The connection broke mid-request, after every retry that was safe.
    #[error(
        "the connection to the MLflow tracking server broke during {endpoint} ({attempts} attempts): {message}"
    )]
    Transport {
        /// The REST endpoint.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// What the HTTP stack reported.
        message: String,
    },
    /// The server answered 2xx with something that is not MLflow's answer.
    #[error("unexpected answer from MLflow to {endpoint}: {message}")]
    Protocol {
        /// The REST endpoint.
        endpoint: String,
        /// What was wrong with it.
        message: String,
    },
    /// The experiment exists but is deleted: MLflow keeps its name reserved.
    #[error(
        "MLflow experiment {name:?} (id {experiment_id}) is deleted; restore it or choose another experiment name"
    )]
    ExperimentDeleted {
        /// The experiment name.
        name: String,
        /// Its id.
        experiment_id: String,
    },
    /// The run was created but not every value reached it; the adapter
    /// tried to mark it `FAILED`.
    #[error(
        "MLflow run {run_id} is incomplete (marked FAILED where the server allowed it): {source}"
    )]
    Incomplete {
        /// The run that holds part of the report.
        run_id: String,
        /// What stopped the upload.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// MLflow's `error_code` when the server refused a request.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Rejected { error_code, .. } => Some(error_code),
            Error::Incomplete { source, .. } => source.error_code(),
            _ => None,
        }
    }
}
