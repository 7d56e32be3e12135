//! Errors of the source crate. URLs in errors never carry credentials, and secrets are scrubbed from causes.

use std::path::PathBuf;

/// Why a Git repository could not be fetched or checked out, or a path in it used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The repository URL cannot be used. The URL itself is not repeated, as it may hold credentials.
    #[error("invalid repository URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// The revision is not a valid branch, tag or commit name.
    #[error("{url}: invalid revision {revision:?}: {reason}")]
    InvalidRevision {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// What is wrong, in words.
        reason: String,
    },

    /// The server has no such branch, tag or commit.
    #[error("{url}: revision {revision} not found{hint}")]
    RevisionNotFound {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// Advice appended to the message (`; check the branch or tag name`, ...); may be empty.
        hint: String,
    },

    /// The server refused the credentials, or asked for credentials and none were given.
    #[error("{url}: authentication failed while fetching {revision}: {reason}")]
    AuthenticationFailed {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// What the server or the credential check said.
        reason: String,
    },

    /// The server could not be reached (connection refused, DNS failure, timeout, no repository at a local
    /// path).
    #[error("{url}: server unreachable while fetching {revision}: {cause}")]
    Unreachable {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// The underlying error, with secrets scrubbed.
        cause: String,
    },

    /// A deadline fired: the server accepted but did not answer in time, or the fetch took too long.
    #[error(
        "{url}: fetching {revision} stalled while {phase}: deadline of {after:?} reached; it is retried later \
         (check that the Git server answers)"
    )]
    Stalled {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// The phase that stalled: connecting, waiting for data, the whole fetch.
        phase: String,
        /// The deadline that fired.
        after: std::time::Duration,
    },

    /// Any other failure while talking to the server or writing the fetched objects.
    #[error("{url}: fetching {revision} failed: {cause}")]
    Fetch {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// The underlying error, with secrets scrubbed.
        cause: String,
    },

    /// Credentials would travel in clear text.
    #[error(
        "{url}: refusing to send credentials over plain http://; use https://, or allow it explicitly \
         (Repository::allow_insecure_http_credentials)"
    )]
    InsecureCredentials {
        /// The repository URL, without credentials.
        url: String,
    },

    /// The HTTPS server's certificate could not be verified.
    #[error(
        "{url}: the server's TLS certificate is not trusted while fetching {revision}: {cause}; if a private CA \
         signed it, provide that CA certificate"
    )]
    UntrustedCertificate {
        /// The repository URL, without credentials.
        url: String,
        /// The branch, tag or commit asked for.
        revision: String,
        /// The underlying error, with secrets scrubbed.
        cause: String,
    },

    /// The CA certificates given for HTTPS cannot be read.
    #[error("{url}: invalid CA certificates: {reason}")]
    InvalidCertificate {
        /// The repository URL, without credentials.
        url: String,
        /// Why the certificates cannot be used.
        reason: String,
    },

    /// The fetched commit could not be written out as a tree.
    #[error("{url}: checking out commit {commit} failed: {cause}")]
    Checkout {
        /// The repository URL, without credentials.
        url: String,
        /// The commit (full hash).
        commit: String,
        /// The underlying error, with secrets scrubbed.
        cause: String,
    },

    /// The cache directory cannot be used.
    #[error("cache directory {}: {source}", path.display())]
    Cache {
        /// The cache directory.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: std::io::Error,
    },

    /// The `path` inside the repository is invalid or absent.
    #[error("{url} at {commit}: path {path:?} {reason}")]
    Path {
        /// The repository URL, without credentials.
        url: String,
        /// The commit (full hash).
        commit: String,
        /// The path as given.
        path: String,
        /// What is wrong with it (`does not exist in the repository at this commit`, ...).
        reason: String,
    },
}

impl Error {
    /// Whether retrying later may succeed (the server was unreachable or the transfer failed).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. } | Error::Fetch { .. } | Error::Stalled { .. }
        )
    }
}
