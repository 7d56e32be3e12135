//! Jsonnet, natively: evaluation behind a small trait of tack's own ([`Engine`]), imports confined to a root
//! directory, go-jsonnet-compatible output ([`manifest`]), Argo CD-style directory sources ([`render_dir`]) and
//! Tanka-style object extraction.
//!
//! Evaluations run on their own thread with a time budget and a Jsonnet stack-depth limit; `std.native` has no
//! functions behind it.

#![warn(missing_docs)]

mod budget;
pub mod cli;
mod engine;
mod error;
mod extent;
mod format;
mod gomath;
pub mod huge_pages;
mod import;
mod jrsonnet;
mod jrsonnet_manifest;
mod jrsonnet_msg;
pub mod manifest;
mod manifest_depth;
mod options;
mod parse_yaml;
mod render;
mod stdlib;
mod toml_doc;
mod yaml_doc;

pub use engine::{Engine, Input};
pub use error::Error;
pub use jrsonnet::JrSonnet;
pub use options::{EvalOptions, Extract, JsonnetOptions, VarValue};
pub use render::{FileManifest, check_glob, detect, render_dir, render_manifests};

/// Evaluates `input` with the default engine on its own thread, within `options`' time budget.
pub fn evaluate(input: &Input, options: &EvalOptions) -> Result<serde_json::Value, Error> {
    budget::run_with_budget(JrSonnet, input.clone(), options.clone())
}

/// Evaluates `inputs` in order with the default engine, in one evaluator on its own thread (the standard library
/// and imported files parsed once), within `options`' time budget per input; stops at the first error.
pub fn evaluate_all(inputs: Vec<Input>, options: &EvalOptions) -> Result<Vec<serde_json::Value>, Error> {
    budget::run_all_with_budget(JrSonnet, inputs, options.clone())
}

/// Evaluates `input` with the default engine on the calling thread, without a time budget (`options.timeout` is
/// not used): for a one-shot command such as `tack jsonnet`, which go-jsonnet's `jsonnet` runs without a budget
/// too. On the main thread the allocator serves the evaluation from its main arena, markedly faster for large
/// programs than from a thread's own heap.
pub fn evaluate_here(input: &Input, options: &EvalOptions) -> Result<serde_json::Value, Error> {
    JrSonnet.evaluate(input, options)
}

/// As [`evaluate_here`], to go-jsonnet's JSON text (without the final newline), written by the engine from its
/// own values.
pub fn evaluate_here_json(input: &Input, options: &EvalOptions) -> Result<String, Error> {
    JrSonnet.evaluate_json_text(input, options)
}
