//! The errors of chart loading and rendering, worded like Helm's and naming the file, line and expression.

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chart could not be read (missing file, unreadable folder or archive).
    #[error("{0}")]
    Load(String),
    /// A path escapes the chart, a symbolic link points outside it, or a limit was exceeded.
    #[error("{0}")]
    Unsafe(String),
    /// A command-line style argument was not understood.
    #[error("{0}")]
    Args(String),
    /// A values file, `--set` argument or values document is invalid.
    #[error("{0}")]
    Values(String),
    /// The values do not satisfy a chart's values.schema.json.
    #[error("{0}")]
    Schema(String),
    /// A template could not be parsed: `parse error at (chart/templates/x.yaml:3): MESSAGE`.
    #[error("{message}")]
    Parse {
        /// The whole message in Helm's words.
        message: String,
        /// The template (`chart/templates/x.yaml`).
        template: String,
        /// 1-based line of the error in the template.
        line: usize,
    },
    /// A template failed while executing: `execution error at (chart/templates/x.yaml:3:12): MESSAGE` for
    /// `required` and `fail`, Go's own message otherwise.
    #[error("{message}")]
    Execute {
        /// The whole message in Helm's words.
        message: String,
        /// The template (`chart/templates/x.yaml`), when known.
        template: String,
        /// 1-based line of the failing action (0 when unknown).
        line: usize,
        /// Byte offset of the failing action within its line, as Go prints it (0 when unknown).
        column: usize,
        /// The failing expression as written, empty when unknown.
        expr: String,
    },
    /// A rendered document is not YAML: `YAML parse error on chart/templates/x.yaml: ...`.
    #[error("{0}")]
    Manifest(String),
    /// The chart's `kubeVersion` does not accept the Kubernetes version rendered for.
    #[error("{0}")]
    KubeVersion(String),
    /// `--show-only` named a template that produced nothing.
    #[error("could not find template {0} in chart")]
    ShowOnly(String),
}

/// A result whose error is the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
