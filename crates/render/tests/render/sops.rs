//! SOPS-encrypted files (made by the reference `sops`, crates/sops/testdata) decrypted in memory while
//! rendering: plain manifests, Kustomize resources and generator inputs, Helm values files. Errors never
//! carry a decrypted value.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tack_render::{RenderOptions, render};
use tack_sops::Identities;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sops/testdata")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(testdata().join("encrypted").join(name)).expect("fixture")
}

fn key(name: &str) -> Arc<Identities> {
    let text = std::fs::read_to_string(testdata().join(name)).expect("key");
    Arc::new(Identities::parse(&text, name).expect("identity"))
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn opts(root: &Path, ids: Option<Arc<Identities>>) -> RenderOptions {
    RenderOptions {
        display_root: Some(root.to_path_buf()),
        confine_to: Some(root.to_path_buf()),
        decrypt: ids,
        ..Default::default()
    }
}

/// Plain values of the fixtures that must never show in an error.
const PLAINTEXT: &[&str] = &[
    "hunter2-but-longer",
    "c2VjcmV0LXRva2VuLXZhbHVl",
    "s3cr3t!",
    "p@ss=word",
];

fn assert_no_plaintext(text: &str) {
    for p in PLAINTEXT {
        assert!(!text.contains(p), "plaintext {p:?} in: {text}");
    }
}

#[test]
fn plain_manifests_are_decrypted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: b\n";
    write(
        &root,
        &[
            ("app/secret.yaml", &fixture("secret.enc.yaml")),
            ("app/cm.yaml", cm),
            ("app/multi.yaml", &fixture("multi.enc.yaml")),
        ],
    );
    let out = render(&root.join("app"), &opts(&root, Some(key("test-only.agekey")))).expect("render");
    let secret = out
        .manifests
        .iter()
        .find(|m| m.object["metadata"]["name"] == "db-credentials")
        .expect("secret");
    assert_eq!(secret.object["stringData"]["password"], "hunter2-but-longer");
    assert_eq!(secret.object["data"]["token"], "c2VjcmV0LXRva2VuLXZhbHVl");
    assert!(secret.object.get("sops").is_none(), "the metadata is removed");
    assert_eq!(secret.origin.file, Path::new("app/secret.yaml"));
    let names: Vec<_> = out
        .manifests
        .iter()
        .map(|m| m.object["metadata"]["name"].to_string())
        .collect();
    assert_eq!(
        names,
        ["\"plain\"", "\"first\"", "\"second\"", "\"db-credentials\""]
    );
    assert!(!out.yaml.contains("ENC["), "{}", out.yaml);
}

#[test]
fn plain_refusals_name_the_file_not_the_value() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let tampered = fixture("secret.enc.yaml").replace("app: shop", "app: shop2");
    write(
        &root,
        &[
            ("ok/secret.yaml", &fixture("secret.enc.yaml")),
            ("bad/secret.yaml", &tampered),
        ],
    );
    let cases = [
        (
            "ok",
            None,
            "app: the file is SOPS-encrypted, but no age key was given",
        ),
        (
            "ok",
            Some(key("test-only-other.agekey")),
            "SOPS decryption failed: no age identity matches the file's recipients (age1",
        ),
        (
            "bad",
            Some(key("test-only.agekey")),
            "SOPS decryption failed: MAC mismatch: the file was modified after encryption",
        ),
    ];
    for (dir, ids, expected) in cases {
        let err = render(&root.join(dir), &opts(&root, ids))
            .expect_err(dir)
            .to_string();
        let expected = expected.replacen("app:", &format!("{dir}/secret.yaml:"), 1);
        assert!(err.contains(expected.trim_start_matches("app: ")), "{err}");
        assert!(err.contains(&format!("{dir}/secret.yaml")), "{err}");
        assert_no_plaintext(&err);
    }
}

#[test]
fn kustomize_resources_and_generators_are_decrypted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &[
            (
                "k/kustomization.yaml",
                "namePrefix: prod-\nresources: [secret.enc.yaml]\nsecretGenerator:\n- name: env\n  envs: [app.enc.env]\ngeneratorOptions:\n  disableNameSuffixHash: true\n",
            ),
            ("k/secret.enc.yaml", &fixture("secret.enc.yaml")),
            ("k/app.enc.env", &fixture("app.enc.env")),
        ],
    );
    let out = render(&root.join("k"), &opts(&root, Some(key("test-only.agekey")))).expect("render");
    let by_name = |n: &str| {
        out.manifests
            .iter()
            .find(|m| m.object["metadata"]["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {}", out.yaml))
    };
    assert_eq!(
        by_name("prod-db-credentials").object["stringData"]["username"],
        "admin"
    );
    // base64("p@ss=word")
    assert_eq!(by_name("prod-env").object["data"]["DB_PASSWORD"], "cEBzcz13b3Jk");
    let err = render(&root.join("k"), &opts(&root, None))
        .expect_err("no key")
        .to_string();
    assert!(err.contains("SOPS-encrypted"), "{err}");
    assert_no_plaintext(&err);
}

#[test]
fn helm_values_files_are_decrypted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &[
            ("chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n"),
            (
                "chart/templates/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {{ .Values.database.credentials.password | quote }}\n  port: {{ .Values.database.port | quote }}\n",
            ),
            ("envs/prod.enc.yaml", &fixture("values.enc.yaml")),
        ],
    );
    let o = RenderOptions {
        helm: Some(tack_helm::Options {
            value_files: vec!["../envs/prod.enc.yaml".to_string()],
            ..Default::default()
        }),
        ..opts(&root, Some(key("test-only.agekey")))
    };
    let out = render(&root.join("chart"), &o).expect("render");
    assert_eq!(out.manifests[0].object["stringData"]["password"], "s3cr3t!");
    assert_eq!(out.manifests[0].object["stringData"]["port"], "5432");
    let o = RenderOptions {
        decrypt: Some(key("test-only-other.agekey")),
        ..o
    };
    let err = render(&root.join("chart"), &o)
        .expect_err("wrong key")
        .to_string();
    assert!(err.contains("no age identity matches"), "{err}");
    assert_no_plaintext(&err);
}
