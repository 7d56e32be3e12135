//! `tack render|diff|sync --decrypt-key` on SOPS-encrypted files made by the reference `sops`
//! (crates/sops/testdata): decrypted in memory, masked unless `--show-secrets`, refused without the right key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Result;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use tack_testkit::TestNamespace;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sops/testdata");
const PLAIN: &[&str] = &["hunter2-but-longer", "aHVudGVyMi1idXQtbG9uZ2Vy"];

fn key(name: &str) -> String {
    Path::new(TESTDATA).join(name).display().to_string()
}

/// A directory holding the encrypted Secret fixture as `secret.yaml`.
fn source() -> Result<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("app");
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(
        Path::new(TESTDATA).join("encrypted/secret.enc.yaml"),
        dir.join("secret.yaml"),
    )?;
    Ok((tmp, dir))
}

fn tack(args: &[&str]) -> Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_tack"))
        .args(args)
        .env("KUBECONFIG", tack_testkit::kubeconfig().unwrap_or_default())
        .env_remove("TACK_NAMESPACE")
        .env_remove("TACK_CONFIG")
        .output()?)
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_plaintext(o: &Output) {
    let text = all(o);
    for p in PLAIN {
        assert!(!text.contains(p), "{p:?} printed:\n{text}");
    }
}

#[test]
fn render_decrypts_masks_and_refuses() -> Result<()> {
    let (_tmp, dir) = source()?;
    let dir = dir.display().to_string();

    let out = tack(&["render", &dir])?;
    assert!(!out.status.success());
    assert!(
        all(&out).contains("secret.yaml: the file is SOPS-encrypted, but no age key was given"),
        "{}",
        all(&out)
    );

    let out = tack(&["render", &dir, "--decrypt-key", &key("test-only.agekey")])?;
    assert!(out.status.success(), "{}", all(&out));
    let stdout = String::from_utf8(out.stdout.clone())?;
    assert!(
        stdout.contains("password: ++++++++") && !stdout.contains("ENC["),
        "{stdout}"
    );
    assert!(stdout.contains("name: db-credentials"), "{stdout}");
    assert_no_plaintext(&out);
    let json = tack(&[
        "render",
        &dir,
        "--decrypt-key",
        &key("test-only.agekey"),
        "-o",
        "json",
    ])?;
    assert_no_plaintext(&json);

    let out = tack(&[
        "render",
        &dir,
        "--decrypt-key",
        &key("test-only.agekey"),
        "--show-secrets",
    ])?;
    assert!(out.status.success(), "{}", all(&out));
    assert!(String::from_utf8(out.stdout)?.contains("password: hunter2-but-longer"));

    let out = tack(&["render", &dir, "--decrypt-key", &key("test-only-other.agekey")])?;
    assert!(!out.status.success());
    assert!(
        all(&out).contains("no age identity matches the file's recipients"),
        "{}",
        all(&out)
    );
    assert_no_plaintext(&out);
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn sync_applies_decrypted_and_diff_masks() -> Result<()> {
    let client = tack_testkit::client().await?;
    let ns = TestNamespace::new(&client, "cli-sops").await?;
    let (_tmp, dir) = source()?;
    let dir = dir.display().to_string();
    let k = key("test-only.agekey");
    let out = tack(&[
        "sync",
        &dir,
        "--name",
        "sops",
        "-n",
        ns.name(),
        "--decrypt-key",
        &k,
    ])?;
    assert!(out.status.success(), "{}", all(&out));
    assert_no_plaintext(&out);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let data = secrets.get("db-credentials").await?.data.unwrap_or_default();
    assert_eq!(data["password"].0, b"hunter2-but-longer");

    // A changed value in the cluster: the diff shows a change, masked.
    let patch = serde_json::json!({"stringData": {"password": "changed-in-cluster"}});
    secrets
        .patch(
            "db-credentials",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await?;
    let out = tack(&["diff", &dir, "-n", ns.name(), "--decrypt-key", &k])?;
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("++++++++"), "{}", all(&out));
    assert_no_plaintext(&out);
    assert!(!all(&out).contains("changed-in-cluster"));
    Ok(())
}
