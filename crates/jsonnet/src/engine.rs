//! The evaluator seam: tack's own trait, so the Jsonnet engine can be swapped.

use std::path::PathBuf;

use crate::{Error, EvalOptions};

/// What to evaluate.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file; its path as given names it in errors and `std.thisFile`.
    File(PathBuf),
    /// Code given inline (`-e`); `name` names it in errors (go-jsonnet uses `<cmdline>`).
    Snippet {
        /// The name errors and `std.thisFile` use.
        name: String,
        /// The Jsonnet source text.
        code: String,
    },
}

impl Input {
    /// The name errors use for this input.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Snippet { name, .. } => name.clone(),
        }
    }
}

/// A Jsonnet evaluator. Implementations need not be `Send`: callers run them on a thread of their own.
pub trait Engine {
    /// Evaluates `input` (calling it with the top-level arguments when it is a function) to JSON.
    fn evaluate(&self, input: &Input, options: &EvalOptions) -> Result<serde_json::Value, Error>;

    /// Evaluates several inputs with the same options, in order, stopping at the first error. Engines that can
    /// share work between them (the standard library, imported files) override it.
    fn evaluate_all(&self, inputs: &[Input], options: &EvalOptions) -> Result<Vec<serde_json::Value>, Error> {
        inputs.iter().map(|input| self.evaluate(input, options)).collect()
    }

    /// Evaluates `input` to go-jsonnet's JSON text (as [`crate::manifest::to_json`] writes it, without the final
    /// newline). Engines that can write it from their own values override it.
    fn evaluate_json_text(&self, input: &Input, options: &EvalOptions) -> Result<String, Error> {
        self.evaluate(input, options)
            .map(|value| crate::manifest::to_json(&value))
    }
}
