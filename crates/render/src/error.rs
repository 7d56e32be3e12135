//! Render errors. Every message names the file (and line, when known) and says what to fix.

use std::fmt;
use std::path::PathBuf;

use crate::Origin;

/// One problem with one object or document, located at `origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where the object or document is.
    pub origin: Origin,
    /// What is wrong and what to do about it, without the location.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Why a directory could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The directory to render does not exist or is not a directory.
    #[error("{}: no such directory; check the path (for a Git source, the `path` inside the repository)", path.display())]
    NoSuchDirectory {
        /// The path as given.
        path: PathBuf,
    },

    /// A file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },

    /// A file is not valid YAML or JSON.
    #[error("{origin}: {message}")]
    Syntax {
        /// The file and line of the document.
        origin: Origin,
        /// The parser's message.
        message: String,
    },

    /// An object failed validation.
    #[error("{0}")]
    Invalid(Problem),

    /// Several of the errors above, in file order. Each is displayed on its own line.
    #[error("{}", display_many(.0))]
    Multiple(Vec<RenderError>),

    /// An error from another rendering engine (Kustomize, Helm, Jsonnet), with its own message.
    #[error("{engine}: {source}")]
    Engine {
        /// The engine's name (`kustomize`, `helm`, `jsonnet`).
        engine: &'static str,
        /// The engine's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn display_many(errors: &[RenderError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("{} problems:\n{}", errors.len(), lines.join("\n"))
}

impl RenderError {
    /// Folds a list of errors: none → `Ok(())`, one → itself, more → [`RenderError::Multiple`].
    pub fn from_many(mut errors: Vec<RenderError>) -> Result<(), RenderError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(RenderError::Multiple(errors)),
        }
    }

    /// The individual errors (one element unless this is [`RenderError::Multiple`]).
    pub fn errors(&self) -> Vec<&RenderError> {
        match self {
            RenderError::Multiple(v) => v.iter().collect(),
            other => vec![other],
        }
    }

    /// The location of the (first) error, when it has one.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            RenderError::Syntax { origin, .. } => Some(origin),
            RenderError::Invalid(p) => Some(&p.origin),
            RenderError::Multiple(v) => v.iter().find_map(RenderError::origin),
            _ => None,
        }
    }
}
