//! The render dispatch: one registry picks the renderer (Helm chart, Kustomize, plain); Git sources are
//! confined to their checkout, whatever the renderer reads.

use std::path::Path;

use tack_render::{RenderOptions, render, select};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: other-team\nstringData:\n  token: s3cr3t\n";
const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\ndata:\n  a: b\n";

fn confined(root: &Path) -> RenderOptions {
    RenderOptions {
        display_root: Some(root.to_path_buf()),
        confine_to: Some(root.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn the_most_specific_renderer_is_picked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        &[
            ("chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            ("chart/templates/cm.yaml", CM),
            ("kust/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("kust/cm.yaml", CM),
            ("plain/cm.yaml", CM),
        ],
    );
    assert_eq!(select(&tmp.path().join("chart")).name(), "helm");
    assert_eq!(select(&tmp.path().join("kust")).name(), "kustomize");
    assert_eq!(select(&tmp.path().join("plain")).name(), "plain");
    let out = render(&tmp.path().join("chart"), &RenderOptions::default()).expect("chart");
    assert_eq!(out.engine, "helm");
    assert_eq!(out.manifests.len(), 1);
    assert_eq!(out.yaml, format!("---\n# Source: c/templates/cm.yaml\n{CM}"));
    assert_eq!(
        out.manifests[0].origin.to_string(),
        format!("{}:1", tmp.path().join("chart/templates/cm.yaml").display())
    );
}

/// Two checkouts side by side in the tree cache, as the controller keeps them: application A's kustomization
/// names a base in application B's checkout. Refused, naming the rule; a base inside A's own checkout works.
#[test]
fn kustomize_bases_cannot_leave_the_checkout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let trees = tmp.path().join("trees");
    write(
        &trees,
        &[
            ("bbbb/app/kustomization.yaml", "resources: [secret.yaml]\n"),
            ("bbbb/app/secret.yaml", SECRET),
            (
                "aaaa/app/kustomization.yaml",
                "resources:\n- ../base\n- ../../bbbb/app\n",
            ),
            ("aaaa/base/kustomization.yaml", "resources: [cm.yaml]\n"),
            ("aaaa/base/cm.yaml", CM),
            ("aaaa/ok/kustomization.yaml", "resources: [../base]\n"),
            (
                "aaaa/far/kustomization.yaml",
                "resources: [../../../../../../../../../../etc]\n",
            ),
            (
                "aaaa/patch/kustomization.yaml",
                "resources: [../base]\npatches:\n- path: ../../bbbb/app/secret.yaml\n",
            ),
        ],
    );
    let root = trees.join("aaaa");
    let ok = render(&root.join("ok"), &confined(&root)).expect("a base inside the checkout");
    assert_eq!(ok.manifests.len(), 1);
    for dir in ["app", "far", "patch"] {
        let err = render(&root.join(dir), &confined(&root))
            .expect_err(dir)
            .to_string();
        assert!(err.contains(tack_render::confine::RULE), "{dir}: {err}");
        assert!(!err.contains("s3cr3t"), "{dir}: {err}");
    }
    // The same kustomization on the user's own disk (no checkout) reads as kubectl would.
    let local = render(&root.join("app"), &RenderOptions::default()).expect("local render is not confined");
    assert_eq!(local.manifests.len(), 2);
}

/// Helm values files and symbolic links are confined the same way.
#[cfg(unix)]
#[test]
fn chart_values_files_and_links_cannot_leave_the_checkout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("checkout");
    write(
        tmp.path(),
        &[
            ("outside-values.yaml", "name: stolen\n"),
            ("checkout/envs/qa.yaml", "name: qa\n"),
            (
                "checkout/chart/Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\n",
            ),
            (
                "checkout/chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
            ),
            ("checkout/plain/cm.yaml", CM),
        ],
    );
    let with_values = |file: &str| RenderOptions {
        helm: Some(tack_helm::Options {
            value_files: vec![file.to_string()],
            ..Default::default()
        }),
        ..confined(&root)
    };
    let out =
        render(&root.join("chart"), &with_values("../envs/qa.yaml")).expect("values inside the checkout");
    assert_eq!(out.manifests[0].object["metadata"]["name"], "qa");
    let err = render(&root.join("chart"), &with_values("../../outside-values.yaml"))
        .expect_err("values outside")
        .to_string();
    assert!(err.contains(tack_render::confine::RULE), "{err}");
    std::os::unix::fs::symlink(
        tmp.path().join("outside-values.yaml"),
        root.join("plain/link.yaml"),
    )
    .expect("link");
    assert!(render(&root.join("plain"), &confined(&root)).is_err());
}
