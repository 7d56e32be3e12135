//! YAML: multi-document parsing and the Kustomize-compatible emitter.
//!
//! * [`parse_documents`] reads a YAML (or JSON) stream into [`serde_json::Value`]s, resolving
//!   plain scalars as Kustomize does, with `file:line:col` in errors.
//! * [`to_yaml`] / [`to_yaml_stream`] print values byte-for-byte as `kubectl kustomize` does.

#![warn(missing_docs)]

mod emit;
mod fast;
mod number;
mod parse;

pub use emit::{go_format_g, key_cmp, number_text, to_yaml, to_yaml_stream};
pub use parse::{
    Document, ParseError, Schema, is_inf_or_nan, parse_documents, parse_documents_with, parse_one,
    resolve_plain, resolve_plain_yaml11,
};
pub use serde_json::{Map, Value};

/// Entry points for differential tests and fuzzing (not a stable API).
#[doc(hidden)]
pub mod testing {
    use crate::{Document, ParseError, Schema};

    /// The line-based fast reader alone: `None` when it leaves the text to the full parser.
    pub fn fast_parse(src: &str, schema: Schema) -> Option<Vec<Document>> {
        crate::fast::parse(src, schema)
    }

    /// The full YAML parser alone (no fast paths).
    pub fn full_parse(src: &str, file: &str, schema: Schema) -> Result<Vec<Document>, ParseError> {
        crate::parse::full_parse(src, file, schema)
    }
}
