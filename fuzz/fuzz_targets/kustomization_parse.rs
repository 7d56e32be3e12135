//! Kustomization decoding never panics, and a full build of an in-memory tree neither.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tack_kustomize::{MemFs, Options, build};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tack_kustomize::testing::parse_kustomization(text);
    let mut fs = MemFs::new();
    fs.add("k/kustomization.yaml", text.as_bytes().to_vec());
    fs.add(
        "k/r.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
    );
    let _ = build(&fs, std::path::Path::new("/k"), &Options::default());
});
