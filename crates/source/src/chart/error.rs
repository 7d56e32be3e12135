//! Errors of chart fetching. URLs in errors never carry credentials, and secrets never appear in them.

use std::path::PathBuf;
use std::time::Duration;

/// Why a chart could not be fetched, from a chart repository, an OCI registry, a URL or the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// The chart reference (repository URL, `oci://` reference, chart URL or version) cannot be used.
    #[error("invalid chart reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The server answered with an error status.
    #[error("{url}: the server answered {status}{hint}")]
    Status {
        /// The URL requested, without credentials.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// Advice appended to the message; may be empty.
        hint: String,
    },

    /// The server refused the credentials, or asked for credentials and none were given.
    #[error("{url}: authentication failed ({status}): {reason}")]
    Unauthorized {
        /// The URL requested, without credentials.
        url: String,
        /// The HTTP status code (401, 403).
        status: u16,
        /// What the server said, or why it cannot be understood.
        reason: String,
    },

    /// The server could not be reached.
    #[error("{url}: server unreachable: {cause}")]
    Unreachable {
        /// The URL requested, without credentials.
        url: String,
        /// The connection error.
        cause: String,
    },

    /// A deadline fired.
    #[error("{url}: no complete answer while {phase}: deadline of {after:?} reached")]
    Stalled {
        /// The URL requested, without credentials.
        url: String,
        /// What was under way: `connecting` or `downloading`.
        phase: &'static str,
        /// The deadline that fired.
        after: Duration,
    },

    /// A download is larger than allowed.
    #[error("{url}: {what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL requested, without credentials.
        url: String,
        /// What was downloaded (`index.yaml`, `chart archive`, ...).
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
    },

    /// A document (index.yaml, OCI manifest, token answer) could not be understood.
    #[error("{url}: invalid {what}: {reason}")]
    Invalid {
        /// The URL requested, without credentials.
        url: String,
        /// What could not be understood (`index.yaml`, `OCI manifest`, ...).
        what: &'static str,
        /// Why.
        reason: String,
    },

    /// The repository has no chart of that name.
    #[error("{url}: no chart named {name:?} in the repository index")]
    ChartNotFound {
        /// The repository URL, without credentials.
        url: String,
        /// The chart name asked for.
        name: String,
    },

    /// No version of the chart satisfies the constraint.
    #[error("{url}: no version of chart {name:?} matches {constraint:?} (nearest available: {available})")]
    NoMatchingVersion {
        /// The URL requested, without credentials.
        url: String,
        /// The chart name.
        name: String,
        /// The version or constraint asked for.
        constraint: String,
        /// The versions nearest to it, newest first.
        available: String,
    },

    /// The downloaded bytes do not have the digest announced for them.
    #[error("{url}: digest mismatch: expected {expected}, downloaded {actual}")]
    DigestMismatch {
        /// The URL requested, without credentials.
        url: String,
        /// The digest announced (`sha256:<hex>`).
        expected: String,
        /// The digest of the bytes downloaded.
        actual: String,
    },

    /// Credentials would travel in clear text.
    #[error(
        "{url}: refusing to send credentials over plain http://; use https://, or allow it explicitly \
         (ChartFetcher::allow_insecure_http_credentials)"
    )]
    InsecureCredentials {
        /// The URL credentials would have been sent to.
        url: String,
    },

    /// The cache directory cannot be used.
    #[error("chart cache {}: {source}", path.display())]
    Cache {
        /// The cache directory.
        path: PathBuf,
        /// Why it cannot be used.
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
