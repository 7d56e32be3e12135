//! Options of an evaluation (variables, library paths, limits) and of a directory source.

use std::path::PathBuf;
use std::time::Duration;

/// The value of an external variable or top-level argument: a string, or Jsonnet code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarValue {
    /// Bound as a Jsonnet string (`--ext-str`, `--tla-str`).
    Str(String),
    /// Evaluated as Jsonnet code (`--ext-code`, `--tla-code`).
    Code(String),
}

/// How one evaluation runs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// External variables (`std.extVar`).
    pub ext_vars: Vec<(String, VarValue)>,
    /// Top-level arguments, passed when the program is a function.
    pub tlas: Vec<(String, VarValue)>,
    /// Library search paths (`-J`), searched after the importing file's directory, the last one first.
    pub jpath: Vec<PathBuf>,
    /// When set, every imported file must resolve (symbolic links followed) inside this directory or one of
    /// `jpath`; absolute import paths are refused.
    pub confine: Option<PathBuf>,
    /// Files under this directory are named relative to it in error messages (the repository checkout).
    pub display_root: Option<PathBuf>,
    /// Maximum Jsonnet stack depth (go-jsonnet's default is 500).
    pub max_stack: usize,
    /// Wall-clock budget of the evaluation.
    pub timeout: Duration,
    /// Leave the evaluator's memory allocated after a successful evaluation (for a process that exits right after,
    /// such as `tack jsonnet`: freeing it object by object costs time). Never set it in a long-running process.
    pub leave_allocated: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            ext_vars: Vec::new(),
            tlas: Vec::new(),
            jpath: Vec::new(),
            confine: None,
            display_root: None,
            max_stack: 500,
            timeout: Duration::from_secs(60),
            leave_allocated: false,
        }
    }
}

/// Whether objects nested in the result are searched for Kubernetes objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Extract {
    /// Argo CD: an object is one manifest, an array a list of manifests.
    #[default]
    TopLevel,
    /// Tanka: every Kubernetes object (an object with `apiVersion` and `kind`) found in nested objects and arrays.
    Nested,
}

/// A Jsonnet directory source, as Argo CD's `spec.source.directory` with its `jsonnet` block.
#[derive(Debug, Clone, Default)]
pub struct JsonnetOptions {
    /// External variables.
    pub ext_vars: Vec<(String, VarValue)>,
    /// Top-level arguments.
    pub tlas: Vec<(String, VarValue)>,
    /// Library paths, relative to the repository root (for example `vendor`).
    pub libs: Vec<PathBuf>,
    /// Also evaluate `*.jsonnet` files in subdirectories.
    pub recurse: bool,
    /// Only files whose path relative to the directory matches this glob (`{a,b}` alternatives allowed).
    pub include: Option<String>,
    /// Leave out files whose path relative to the directory matches this glob.
    pub exclude: Option<String>,
    /// How Kubernetes objects are found in the result.
    pub extract: Extract,
    /// Time budget per file; `None` uses the default of [`EvalOptions`].
    pub timeout: Option<std::time::Duration>,
}
