//! Strategic merge never panics; an empty patch is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((a, b)) = text.split_once("\n---\n") else {
        return;
    };
    let (Ok(dest), Ok(patch)) = (tack_yaml::parse_one(a, "dest"), tack_yaml::parse_one(b, "patch")) else {
        return;
    };
    let _ = tack_kustomize::testing::smp_apply(&dest, &patch, "apps/v1", "Deployment");
    if dest.is_object() {
        let same = tack_kustomize::testing::smp_apply(&dest, &serde_json::json!({}), "apps/v1", "Deployment");
        assert!(matches!(same, Ok(Some(ref v)) if *v == dest));
    }
});
