//! What can go wrong when evaluating Jsonnet or rendering a Jsonnet directory.

use std::path::PathBuf;
use std::time::Duration;

/// An evaluation or rendering error. `Evaluation` carries go-jsonnet's text (`RUNTIME ERROR: …` or
/// `STATIC ERROR: …` with the file, line and column and a trimmed stack trace).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Jsonnet program failed: the text is what go-jsonnet's `jsonnet` command prints.
    #[error("{0}")]
    Evaluation(String),
    /// The evaluation did not finish within its time budget.
    #[error("Jsonnet evaluation of {input} did not finish within {budget:?}")]
    Timeout {
        /// The name of the input being evaluated.
        input: String,
        /// The time budget it exceeded.
        budget: Duration,
    },
    /// The evaluation thread could not be started or died.
    #[error("Jsonnet evaluation thread failed: {0}")]
    Thread(String),
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The result has a shape the caller cannot use (for example a string where manifests are expected).
    #[error("{file}: {message}")]
    Shape {
        /// The file whose result it is, as shown to the user.
        file: String,
        /// What is wrong with the shape.
        message: String,
    },
    /// An include or exclude pattern is not a valid glob.
    #[error("invalid glob {pattern:?}: {message}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// Why it is not valid.
        message: String,
    },
}
