//! Evaluating any Jsonnet text never panics: on its own thread, with a short time budget, a small stack depth and
//! imports confined to an empty directory.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tack_jsonnet::{EvalOptions, Input};

fuzz_target!(|data: &[u8]| {
    let Ok(code) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(root) = std::env::current_dir() else {
        return;
    };
    let options = EvalOptions {
        confine: Some(root.join("target/jsonnet-fuzz-empty")),
        max_stack: 100,
        timeout: Duration::from_secs(2),
        ..EvalOptions::default()
    };
    if let Ok(value) = tack_jsonnet::evaluate(&Input::Snippet { name: "<fuzz>".into(), code: code.to_string() }, &options) {
        let _ = tack_jsonnet::manifest::to_json(&value);
    }
});
