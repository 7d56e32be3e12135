//! The Kustomize edit has `kustomize edit set image` semantics: the edited overlay renders as the overlay
//! `kustomize edit set image` describes (newTag set, digest dropped, a missing entry added), compared with
//! `kubectl kustomize` (v5.5.0) output committed in tests/fixtures/kustomize/expected-e2e.yaml.

use std::path::Path;

use tack_promotion::kustomization::set_image;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kustomize");

#[test]
fn edited_overlay_renders_like_kubectl_kustomize_of_the_expected_overlay() {
    let tmp = tempfile::tempdir().expect("tmp");
    let base = tmp.path().join("base");
    std::fs::create_dir_all(&base).expect("mkdir");
    for f in ["kustomization.yaml", "deployment.yaml"] {
        std::fs::copy(Path::new(FIXTURES).join("base").join(f), base.join(f)).expect("copy");
    }
    let before = std::fs::read_to_string(Path::new(FIXTURES).join("e2e/kustomization.yaml")).expect("read");
    let edited = set_image(&before, "docker.io/redis", None, "7.2").expect("redis");
    let edited = set_image(
        &edited,
        "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend",
        None,
        "v6",
    )
    .expect("frontend");
    // Comments and the rest of the file are kept.
    assert!(
        edited.starts_with("# e2e overlay: promoted by tack\nresources:\n- ../base\n"),
        "{edited}"
    );
    assert!(
        edited.contains("  newTag: \"7.2\" # pinned by hand\n"),
        "{edited}"
    );
    assert!(!edited.contains("digest"), "{edited}");
    let overlay = tmp.path().join("e2e");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    std::fs::write(overlay.join("kustomization.yaml"), &edited).expect("write");
    let out = tack_kustomize::build(&tack_kustomize::DiskFs, &overlay, &Default::default()).expect("build");
    let expected = std::fs::read_to_string(Path::new(FIXTURES).join("expected-e2e.yaml")).expect("golden");
    assert_eq!(out.to_yaml(), expected);
}
