//! JSON 6902 application never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((a, b)) = text.split_once("\n---\n") else {
        return;
    };
    let (Ok(mut doc), Ok(ops)) = (tack_yaml::parse_one(a, "doc"), tack_yaml::parse_one(b, "ops")) else {
        return;
    };
    let _ = tack_kustomize::testing::json_patch_apply(&mut doc, &ops);
});
