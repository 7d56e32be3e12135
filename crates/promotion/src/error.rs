//! Errors of promotion: configuration edits, Git reads and writes.

/// What went wrong while preparing or writing a promotion. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stage's configuration does not reference the promoted image, so the edit would not change what runs.
    #[error("image {image:?} does not appear in the configuration at {path:?}; nothing was written")]
    UnknownImage {
        /// The image name.
        image: String,
        /// The configuration folder.
        path: String,
    },
    /// The stage's configuration does not reference a promoted chart or base.
    #[error(
        "{kind} {name:?} does not appear in the configuration at {path:?} (looked for {wanted}); nothing was written"
    )]
    UnknownPart {
        /// `chart` or `base`.
        kind: &'static str,
        /// The chart name or base repository.
        name: String,
        /// The configuration folder.
        path: String,
        /// Where the part was looked for.
        wanted: &'static str,
    },
    /// A Helm values key path that the values file does not have.
    #[error("the values file has no scalar key {0:?}; nothing was written")]
    UnknownKey(String),
    /// The configuration cannot be edited as it is written.
    #[error("{0}")]
    Config(String),
    /// A release string that does not name the pipeline's images.
    #[error("invalid release {release:?}: {reason}")]
    Release {
        /// The release as given.
        release: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Reading the repository failed.
    #[error(transparent)]
    Source(#[from] tack_source::Error),
    /// A local Git operation (objects, refs) failed.
    #[error("{url}: {message}")]
    Git {
        /// The repository URL (without credentials).
        url: String,
        /// What failed.
        message: String,
    },
    /// The server refused the push for another reason than a concurrent commit.
    #[error("{url}: the server rejected the push to {branch}: {reason}; nothing was written")]
    Rejected {
        /// The repository URL (without credentials).
        url: String,
        /// The branch.
        branch: String,
        /// The server's words.
        reason: String,
    },
    /// Every attempt lost the race against concurrent commits.
    #[error("{url}: {branch} kept moving during {attempts} attempts; try again")]
    Contention {
        /// The repository URL (without credentials).
        url: String,
        /// The branch.
        branch: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// The URL scheme cannot be pushed to.
    #[error("{0}: promotion pushes over http(s):// or to file:// repositories only")]
    UnsupportedScheme(String),
}
