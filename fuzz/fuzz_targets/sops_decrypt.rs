//! SOPS parsing and decryption on arbitrary input: YAML, JSON and dotenv, with the test age key, must return
//! an error or a plaintext, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tack_sops::{Format, Identities, decrypt, is_encrypted};

const KEY: &str = include_str!("../../crates/sops/testdata/test-only.agekey");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ids) = Identities::parse(KEY, "test-only.agekey") else {
        return;
    };
    for format in [Format::Yaml, Format::Json, Format::Dotenv] {
        let _ = is_encrypted(text, format);
        if let Ok(plain) = decrypt(text, format, &ids) {
            let _ = plain.to_text();
        }
    }
});
