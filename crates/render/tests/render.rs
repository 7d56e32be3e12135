//! The plain renderer over the seed examples (`../shared/seed-examples`, beside the repository).

use std::path::{Path, PathBuf};

use tack_render::{Manifest, PlainRenderer, RenderError, RenderOptions, Renderer};

fn seed_examples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-examples");
    assert!(
        dir.is_dir(),
        "{} is missing: the seed examples live in shared/ beside the repository (CI has them)",
        dir.display()
    );
    dir.canonicalize().expect("canonical seed-examples path")
}

fn render(rel: &str) -> Result<Vec<Manifest>, RenderError> {
    let root = seed_examples();
    let opts = RenderOptions {
        display_root: Some(root.clone()),
    };
    PlainRenderer.render(&root.join(rel), &opts)
}

fn summary(manifests: &[Manifest]) -> Vec<String> {
    manifests
        .iter()
        .map(|m| {
            format!(
                "{} {}/{} @ {}",
                m.object["apiVersion"].as_str().unwrap_or("?"),
                m.object["kind"].as_str().unwrap_or("?"),
                m.object["metadata"]["name"].as_str().unwrap_or("?"),
                m.origin
            )
        })
        .collect()
}

#[test]
fn guestbook() {
    let out = render("guestbook").expect("guestbook renders");
    assert_eq!(
        summary(&out),
        [
            "apps/v1 Deployment/frontend @ guestbook/frontend-deployment.yaml:1",
            "v1 Service/frontend @ guestbook/frontend-service.yaml:1",
            "apps/v1 Deployment/redis-follower @ guestbook/redis-follower-deployment.yaml:1",
            "v1 Service/redis-follower @ guestbook/redis-follower-service.yaml:1",
            "apps/v1 Deployment/redis-leader @ guestbook/redis-leader-deployment.yaml:1",
            "v1 Service/redis-leader @ guestbook/redis-leader-service.yaml:1",
        ]
    );
    let frontend = &out[0].object;
    assert_eq!(frontend["spec"]["replicas"], 3);
    assert_eq!(
        frontend["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    assert!(PlainRenderer.detect(&seed_examples().join("guestbook")));
}

#[test]
fn network() {
    let out = render("network").expect("network renders");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].object["kind"], "NetworkPolicy");
    assert_eq!(
        out[0].origin.file,
        Path::new("network/block-other-namespace.yaml")
    );
}

#[test]
fn operator_crd_and_custom_resource() {
    let out = render("operator").expect("operator renders");
    let kinds: Vec<&str> = out.iter().filter_map(|m| m.object["kind"].as_str()).collect();
    assert_eq!(kinds, ["NginxConfig", "CustomResourceDefinition"]);
    assert_eq!(out[0].object["apiVersion"], "example.com/v1");
}

#[test]
fn rollouts_recursive() {
    let out = render("rollouts").expect("rollouts render");
    let s = summary(&out);
    assert_eq!(s.len(), 7, "{s:#?}");
    assert!(
        s.iter()
            .all(|l| l.contains(" @ rollouts/bluegreen/") || l.contains(" @ rollouts/canary/")),
        "{s:#?}"
    );
    // Byte order: bluegreen/ before canary/, files sorted within each.
    assert!(s[0].contains("rollouts/bluegreen/active-service.yaml"), "{s:#?}");
    assert!(s[6].contains("rollouts/canary/service.yaml"), "{s:#?}");
    let rollouts = out.iter().filter(|m| m.object["kind"] == "Rollout").count();
    assert_eq!(rollouts, 3);
    assert!(
        out.iter()
            .all(|m| m.object["apiVersion"] != "" && m.object["metadata"]["name"] != "")
    );
}

#[test]
fn kustomization_directory_is_refused_with_a_hint() {
    let err = render("kustomize-nginx/base").expect_err("plain cannot render a kustomization");
    let text = err.to_string();
    assert!(
        text.contains("kustomize-nginx/base/kustomization.yaml:1: this is a Kustomize file"),
        "{text}"
    );
}

#[test]
fn whole_tree_is_deterministic() {
    // kustomize-nginx holds kustomization files, so render the plain folders one by one, twice.
    for dir in [
        "guestbook",
        "network",
        "operator",
        "rollouts",
        "plain-canary",
        "plain-bluegreen",
    ] {
        let a = render(dir).expect("renders");
        let b = render(dir).expect("renders");
        assert_eq!(a, b, "{dir}");
        assert!(!a.is_empty(), "{dir}");
    }
}
