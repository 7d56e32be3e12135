//! SOPS-encrypted Secrets in Git (made by the reference `sops` with the test age key, crates/sops/testdata):
//! with `spec.decryption` the Secret is applied decrypted; a tampered file (MAC mismatch) and a wrong key are
//! refused with Ready=False and nothing of that commit applied; the plain value appears in no controller log,
//! Event, status, diff or error.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::{condition, install_crd, start_controller, status, stop_controller, wait_synced_healthy};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sops/testdata");

/// The encrypted password and username of `secret.enc.yaml`, in the clear and as the API stores them.
const PLAIN: &[&str] = &["hunter2-but-longer", "aHVudGVyMi1idXQtbG9uZ2Vy"];

fn testdata(path: &str) -> Result<String> {
    std::fs::read_to_string(Path::new(TESTDATA).join(path)).with_context(|| path.to_string())
}

fn assert_no_plaintext(what: &str, text: &str) {
    for p in PLAIN {
        assert!(
            !text.contains(p),
            "the plain value {p:?} appears in {what}:\n{text}"
        );
    }
}

async fn age_secret(client: &kube::Client, ns: &str, name: &str, key_file: &str) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"age.agekey": testdata(key_file)?},
    }))?;
    secrets.create(&PostParams::default(), &secret).await?;
    Ok(())
}

fn app(name: &str, ns: &str, url: &str, dest: &str, key_secret: &str) -> serde_json::Value {
    json!({
        "apiVersion": "gitops.tack.dev/v1alpha1",
        "kind": "GitOpsConfig",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "source": {"repoURL": url, "revision": "main", "path": "app"},
            "destination": {"namespace": dest},
            "decryption": {"provider": "sops", "secretRef": {"name": key_secret}},
            "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true}, "createNamespace": true},
        },
    })
}

async fn ready_false_with(apps: &Api<GitOpsConfig>, name: &str, text: &str) -> Result<String> {
    eventually(
        Duration::from_secs(45),
        &format!("{name} Ready=False: {text}"),
        || async {
            let s = status(apps, name).await?;
            Ok(condition(&s, "Ready")
                .filter(|c| c.status == "False" && c.message.contains(text))
                .map(|c| c.message.clone()))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn sops_secrets_are_applied_decrypted_and_tampering_or_a_wrong_key_refused() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let log = super::drift::log();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "sops").await?;
    let other_dest = format!("{}-wrong", ns.name());
    age_secret(&client, ns.name(), "sops-age", "test-only.agekey").await?;
    age_secret(&client, ns.name(), "other-age", "test-only-other.agekey").await?;

    let repo = tack_testkit::GitRepo::new()?;
    let dir = repo.work().join("app");
    std::fs::create_dir_all(&dir)?;
    let encrypted = testdata("encrypted/secret.enc.yaml")?;
    let cm = |color: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: {color}\n")
    };
    std::fs::write(dir.join("secret.yaml"), &encrypted)?;
    std::fs::write(dir.join("settings.yaml"), cm("blue"))?;
    repo.commit("main", "an encrypted Secret")?;

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let pp = PatchParams::apply("tack-test");
    apps.patch(
        "secrets",
        &pp,
        &Patch::Apply(&app("secrets", ns.name(), &repo.url(), ns.name(), "sops-age")),
    )
    .await?;

    // 1. Applied decrypted: the API holds the plaintext, no trace of SOPS.
    wait_synced_healthy(&apps, "secrets", 1, Duration::from_secs(90)).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let live = secrets.get("db-credentials").await?;
    let data = live.data.clone().context("data")?;
    assert_eq!(data["password"].0, b"hunter2-but-longer");
    assert_eq!(data["username"].0, b"admin");
    assert_eq!(data["token"].0, b"secret-token-value");
    let live_json = serde_json::to_string(&live)?;
    assert!(
        !live_json.contains("ENC[") && !live_json.contains("\"sops\""),
        "{live_json}"
    );

    // 2. A wrong key: refused naming the recipients, nothing applied in its destination.
    apps.patch(
        "wrong-key",
        &pp,
        &Patch::Apply(&app(
            "wrong-key",
            ns.name(),
            &repo.url(),
            &other_dest,
            "other-age",
        )),
    )
    .await?;
    let message = ready_false_with(
        &apps,
        "wrong-key",
        "no age identity matches the file's recipients (age1",
    )
    .await?;
    assert!(message.contains("app/secret.yaml"), "{message}");
    let other_cms: Api<ConfigMap> = Api::namespaced(client.clone(), &other_dest);
    assert!(
        other_cms.get_opt("settings").await.ok().flatten().is_none(),
        "nothing of a refused render is applied"
    );

    // 3. A tampered file (an unencrypted label changed) with a ConfigMap change in the same commit: the MAC
    // mismatch refuses the commit, and neither change reaches the cluster.
    std::fs::write(
        dir.join("secret.yaml"),
        encrypted.replace("app: shop", "app: shop-tampered"),
    )?;
    std::fs::write(dir.join("settings.yaml"), cm("red"))?;
    repo.commit("main", "tampered")?;
    let message = ready_false_with(
        &apps,
        "secrets",
        "MAC mismatch: the file was modified after encryption",
    )
    .await?;
    assert!(message.contains("app/secret.yaml"), "{message}");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let settings = cms.get("settings").await?;
    assert_eq!(
        settings.data.context("data")?["color"],
        "blue",
        "the tampered commit was applied"
    );
    let live = secrets.get("db-credentials").await?;
    assert_eq!(live.metadata.labels.context("labels")?["app"], "shop");

    // 4. A diff of the decrypted source against the cluster (desired password changed) masks both values.
    let ids =
        tack_gitops::identities_from_secret_data([("age.agekey", testdata("test-only.agekey")?.as_bytes())])
            .map_err(anyhow::Error::msg)?;
    let good = tempfile::tempdir()?;
    std::fs::create_dir_all(good.path().join("app"))?;
    std::fs::write(
        good.path().join("app/secret.yaml"),
        testdata("encrypted/secret.enc.yaml")?,
    )?;
    let how = tack_gitops::SourceRender::default().with_decryption(Some(std::sync::Arc::new(ids)));
    let (_, mut manifests) = tack_gitops::render_source(&good.path().join("app"), good.path(), &how)?;
    for m in &mut manifests {
        m.object["metadata"]["namespace"] = json!(ns.name());
        m.object["stringData"]["username"] = json!("someone-else");
    }
    let cluster = tack_cluster::Cluster::from_client(client.clone(), ns.name());
    let opts = tack_apply::DiffOptions {
        namespace: ns.name().to_string(),
        app: None,
        ignore: Vec::new(),
        color: false,
        context: None,
    };
    let report = tack_apply::diff(&cluster, manifests, &opts).await?;
    let diff_text: String = report.entries.iter().map(|e| e.text.clone()).collect();
    assert!(diff_text.contains(tack_plan::MASK), "{diff_text}");
    assert_no_plaintext("the diff", &diff_text);

    // 5. Nowhere else either: statuses, Events, controller log.
    for name in ["secrets", "wrong-key"] {
        assert_no_plaintext(
            &format!("{name}'s status"),
            &serde_json::to_string(&status(&apps, name).await?)?,
        );
    }
    let events: Api<Event> = Api::namespaced(client.clone(), ns.name());
    let events = serde_json::to_string(&events.list(&ListParams::default()).await?.items)?;
    assert!(
        events.contains("MAC mismatch"),
        "the refusal is an Event: {events}"
    );
    assert_no_plaintext("the Events", &events);
    stop_controller(stop, handle).await?;
    let log_text =
        String::from_utf8_lossy(&log.lock().map_err(|_| anyhow::anyhow!("log lock"))?).into_owned();
    assert!(
        log_text.contains("MAC mismatch"),
        "the controller logs the refusal"
    );
    assert_no_plaintext("the controller log", &log_text);

    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(&other_dest, &Default::default()).await;
    Ok(())
}
