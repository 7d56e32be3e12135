//! Differential: whenever the line-based fast reader accepts a text, the full YAML parser accepts it
//! too and gives the same documents (values and lines), under both scalar schemas.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tack_yaml::Schema;
use tack_yaml::testing::{fast_parse, full_parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for schema in [Schema::Core, Schema::Yaml11] {
        let Some(fast) = fast_parse(text, schema) else {
            continue;
        };
        let full = full_parse(text, "in", schema);
        let Ok(full) = full else {
            panic!("fast reader accepted a text the parser rejects: {text:?}");
        };
        assert_eq!(fast.len(), full.len(), "document count for {text:?}");
        for (a, b) in fast.iter().zip(full.iter()) {
            assert_eq!(a.value, b.value, "value for {text:?}");
            assert_eq!(a.line, b.line, "line for {text:?}");
        }
    }
});
