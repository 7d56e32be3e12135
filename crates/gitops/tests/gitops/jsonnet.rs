//! Jsonnet sources: the guestbook as Jsonnet (examples/jsonnet-guestbook, with its vendored `k.libsonnet`), one
//! application per environment selected by top-level arguments: each Synced and Healthy with its own settings; a
//! change in Git is applied; an evaluation error leaves the cluster untouched with Ready=False naming the file
//! and line; an option tack cannot honour is refused as an invalid spec.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tack_model::GitOpsConfig;
use tack_testkit::{TestNamespace, eventually};

use super::{condition, install_crd, start_controller, status, stop_controller, wait_synced_healthy};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/jsonnet-guestbook");

/// Copies the directory `from` to `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

async fn frontend(deployments: &Api<Deployment>) -> Result<i32> {
    let d = deployments.get("frontend").await?;
    Ok(d.spec.context("spec")?.replicas.unwrap_or(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local control plane"]
async fn the_jsonnet_guestbook_deploys_one_environment_per_top_level_argument() -> Result<()> {
    tack_cluster::install_crypto_provider();
    let client = tack_testkit::client().await?;
    install_crd(&client).await?;
    let ns = TestNamespace::new(&client, "jsonnet").await?;
    let qa = format!("{}-qa", ns.name());
    let e2e = format!("{}-e2e", ns.name());
    let repo = tack_testkit::GitRepo::new()?;
    let app_dir = repo.work().join("guestbook");
    copy_dir(Path::new(EXAMPLE), &app_dir)?;
    repo.commit("main", "guestbook in Jsonnet")?;
    let main = std::fs::read_to_string(app_dir.join("main.jsonnet"))?;

    let cache = tempfile::tempdir()?;
    let (stop, handle) = start_controller(&client, ns.name(), cache.path());
    let apps: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns.name());
    let env_app = |name: &str, env: &str, dest: &str| {
        json!({
            "apiVersion": "gitops.tack.dev/v1alpha1",
            "kind": "GitOpsConfig",
            "metadata": {"name": name, "namespace": ns.name()},
            "spec": {
                "source": {"repoURL": repo.url(), "revision": "main", "path": "guestbook", "jsonnet": {
                    "libs": ["guestbook/vendor"],
                    "tlas": [{"name": "env", "value": env}, {"name": "namespace", "value": dest}],
                }},
                "destination": {"namespace": dest},
                "syncPolicy": {"interval": "2s", "automated": {"prune": true, "selfHeal": true},
                               "createNamespace": true},
            },
        })
    };
    for (name, env, dest) in [("guestbook-qa", "qa", &qa), ("guestbook-e2e", "e2e", &e2e)] {
        apps.patch(
            name,
            &PatchParams::apply("tack-test"),
            &Patch::Apply(&env_app(name, env, dest)),
        )
        .await?;
    }
    for name in ["guestbook-qa", "guestbook-e2e"] {
        let s = wait_synced_healthy(&apps, name, 1, Duration::from_secs(90)).await?;
        assert_eq!(s.inventory.len(), 4, "{name}: {:?}", s.inventory);
    }
    // Each environment has its own settings: qa one replica on port 80, e2e two on port 8080.
    let qa_deployments: Api<Deployment> = Api::namespaced(client.clone(), &qa);
    let e2e_deployments: Api<Deployment> = Api::namespaced(client.clone(), &e2e);
    assert_eq!(frontend(&qa_deployments).await?, 1);
    assert_eq!(frontend(&e2e_deployments).await?, 2);
    let e2e_services: Api<Service> = Api::namespaced(client.clone(), &e2e);
    let port = e2e_services
        .get("frontend")
        .await?
        .spec
        .context("spec")?
        .ports
        .context("ports")?[0]
        .port;
    assert_eq!(port, 8080);

    // A change in Git reaches its environment.
    let scaled = main.replace(
        "qa: { namespace: 'guestbook-qa', replicas: 1 }",
        "qa: { namespace: 'guestbook-qa', replicas: 3 }",
    );
    assert_ne!(
        scaled, main,
        "the example's qa environment has changed: update this test"
    );
    std::fs::write(app_dir.join("main.jsonnet"), &scaled)?;
    repo.commit("main", "qa: 3 replicas")?;
    eventually(Duration::from_secs(45), "qa scaled to 3 from Git", || async {
        Ok((frontend(&qa_deployments).await? == 3).then_some(()))
    })
    .await?;

    // An evaluation error: nothing applied, Ready=False names the file and the line.
    let broken = scaled.replace(
        "qa: { namespace: 'guestbook-qa', replicas: 3 }",
        "qa: { namespace: 'guestbook-qa', replicas: error 'qa replicas must be set' }",
    );
    std::fs::write(app_dir.join("main.jsonnet"), &broken)?;
    repo.commit("main", "broken")?;
    let s = eventually(Duration::from_secs(45), "qa RenderFailed", || async {
        let s = status(&apps, "guestbook-qa").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.status == "False" && c.reason == "RenderFailed")
            .then_some(s))
    })
    .await?;
    let message = &condition(&s, "Ready").context("Ready")?.message;
    assert!(message.contains("guestbook/main.jsonnet:6:"), "{message}");
    assert!(message.contains("qa replicas must be set"), "{message}");
    assert_eq!(
        frontend(&qa_deployments).await?,
        3,
        "a commit with an evaluation error must leave the cluster untouched"
    );

    // An option tack cannot honour is refused, not ignored.
    let mut odd = env_app("odd", "qa", &qa);
    odd["spec"]["source"]["jsonnet"]["extract"] = json!("deep");
    apps.patch("odd", &PatchParams::apply("tack-test"), &Patch::Apply(&odd))
        .await?;
    eventually(Duration::from_secs(30), "odd InvalidSpec", || async {
        let s = status(&apps, "odd").await?;
        Ok(condition(&s, "Ready")
            .is_some_and(|c| c.reason == "InvalidSpec" && c.message.contains("spec.source.jsonnet.extract"))
            .then_some(()))
    })
    .await?;

    stop_controller(stop, handle).await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for dest in [&qa, &e2e] {
        let _ = namespaces.delete(dest, &Default::default()).await;
    }
    Ok(())
}
