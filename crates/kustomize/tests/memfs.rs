//! Builds from an in-memory tree, and checks the API's error and warning behaviour.

use std::path::Path;

use tack_kustomize::{LoadRestrictor, MemFs, Options, build, is_kustomization_dir};

fn tree() -> MemFs {
    let mut fs = MemFs::new();
    fs.add(
        "app/base/kustomization.yaml",
        "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: cfg\n  literals: [foo=bar, baz=qux]\n",
    );
    fs.add(
        "app/base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: cfg\n",
    );
    fs.add(
        "app/prod/kustomization.yaml",
        "namePrefix: prod-\nbases:\n- ../base\n",
    );
    fs
}

#[test]
fn builds_overlay_from_memory() {
    let fs = tree();
    assert!(is_kustomization_dir(&fs, Path::new("/app/prod")));
    assert!(!is_kustomization_dir(&fs, Path::new("/app")));
    let out = build(&fs, Path::new("/app/prod"), &Options::default()).expect("build");
    let yaml = out.to_yaml();
    // The generated name carries Kustomize's hash of {foo: bar, baz: qux}, and the reference in
    // the Deployment follows the prefix and the hash.
    assert!(yaml.contains("name: prod-cfg-6b85g79g7g"), "{yaml}");
    assert!(yaml.contains("            name: prod-cfg-6b85g79g7g"), "{yaml}");
    // Legacy order: ConfigMap before Deployment; documents separated by `---`.
    assert!(yaml.find("kind: ConfigMap") < yaml.find("kind: Deployment"));
    assert_eq!(yaml.matches("\n---\n").count(), 1);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("'bases' is deprecated"));
}

#[test]
fn root_only_load_restriction() {
    let mut fs = MemFs::new();
    fs.add("k/kustomization.yaml", "resources:\n- ../outside.yaml\n");
    fs.add(
        "outside.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    assert!(build(&fs, Path::new("/k"), &Options::default()).is_err());
    let opts = Options {
        load_restrictor: LoadRestrictor::None,
        ..Default::default()
    };
    let out = build(&fs, Path::new("/k"), &opts).expect("build without restriction");
    assert_eq!(
        out.to_yaml(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    );
}

#[test]
fn errors_name_file_and_field() {
    let mut fs = MemFs::new();
    fs.add("k/kustomization.yaml", "namePrefixx: a-\n");
    let err = build(&fs, Path::new("/k"), &Options::default()).expect_err("unknown field");
    let msg = err.to_string();
    assert!(
        msg.contains("/k/kustomization.yaml") && msg.contains("namePrefixx"),
        "{msg}"
    );

    let mut fs = MemFs::new();
    fs.add("k/kustomization.yaml", "resources:\n- r.yaml\n");
    fs.add("k/r.yaml", "a: [\n");
    let msg = build(&fs, Path::new("/k"), &Options::default())
        .expect_err("yaml")
        .to_string();
    assert!(msg.contains("/k/r.yaml:"), "{msg}");

    let mut fs = MemFs::new();
    fs.add("k/kustomization.yaml", "helmCharts:\n- name: x\n");
    let msg = build(&fs, Path::new("/k"), &Options::default())
        .expect_err("helm")
        .to_string();
    assert!(msg.contains("helmCharts"), "{msg}");
}

#[test]
fn cycles_are_errors() {
    let mut fs = MemFs::new();
    fs.add("a/kustomization.yaml", "resources:\n- ../b\n");
    fs.add("b/kustomization.yaml", "resources:\n- ../a\n");
    let opts = Options {
        load_restrictor: LoadRestrictor::None,
        ..Default::default()
    };
    let msg = build(&fs, Path::new("/a"), &opts).expect_err("cycle").to_string();
    assert!(msg.contains("cycle"), "{msg}");
}
