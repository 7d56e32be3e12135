//! Errors of chart fetching. URLs in errors never carry credentials, and secrets never appear in them.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// The chart reference (repository URL, `oci://` reference, chart URL or version) cannot be used.
    #[error("invalid chart reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// The server answered with an error status.
    #[error("{url}: the server answered {status}{hint}")]
    Status { url: String, status: u16, hint: String },

    /// The server refused the credentials, or asked for credentials and none were given.
    #[error("{url}: authentication failed ({status}): {reason}")]
    Unauthorized {
        url: String,
        status: u16,
        reason: String,
    },

    /// The server could not be reached.
    #[error("{url}: server unreachable: {cause}")]
    Unreachable { url: String, cause: String },

    /// A deadline fired.
    #[error("{url}: no complete answer while {phase}: deadline of {after:?} reached")]
    Stalled {
        url: String,
        phase: &'static str,
        after: Duration,
    },

    /// A download is larger than allowed.
    #[error("{url}: {what} is larger than the limit of {limit} bytes")]
    TooLarge {
        url: String,
        what: &'static str,
        limit: u64,
    },

    /// A document (index.yaml, OCI manifest, token answer) could not be understood.
    #[error("{url}: invalid {what}: {reason}")]
    Invalid {
        url: String,
        what: &'static str,
        reason: String,
    },

    /// The repository has no chart of that name.
    #[error("{url}: no chart named {name:?} in the repository index")]
    ChartNotFound { url: String, name: String },

    /// No version of the chart satisfies the constraint.
    #[error("{url}: no version of chart {name:?} matches {constraint:?} (nearest available: {available})")]
    NoMatchingVersion {
        url: String,
        name: String,
        constraint: String,
        available: String,
    },

    /// The downloaded bytes do not have the digest announced for them.
    #[error("{url}: digest mismatch: expected {expected}, downloaded {actual}")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },

    /// Credentials would travel in clear text.
    #[error(
        "{url}: refusing to send credentials over plain http://; use https://, or allow it explicitly \
         (ChartFetcher::allow_insecure_http_credentials)"
    )]
    InsecureCredentials { url: String },

    /// The cache directory cannot be used.
    #[error("chart cache {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ChartError {
    /// Whether retrying later may succeed (the server was unreachable, stalled or failed).
    pub fn is_transient(&self) -> bool {
        match self {
            ChartError::Unreachable { .. } | ChartError::Stalled { .. } => true,
            ChartError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
