//! YAML: multi-document parsing and the Kustomize-compatible emitter.
//!
//! * [`parse_documents`] reads a YAML (or JSON) stream into [`serde_json::Value`]s, resolving
//!   plain scalars as Kustomize does, with `file:line:col` in errors.
//! * [`to_yaml`] / [`to_yaml_stream`] print values byte-for-byte as `kubectl kustomize` does.

mod emit;
mod number;
mod parse;

pub use emit::{go_format_g, key_cmp, number_text, to_yaml, to_yaml_stream};
pub use parse::{
    Document, ParseError, Schema, parse_documents, parse_documents_with, parse_one, resolve_plain,
    resolve_plain_yaml11,
};
pub use serde_json::{Map, Value};
