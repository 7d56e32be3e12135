//! Argo's ephemeral metadata: during an update the canary pods carry `canaryMetadata` and the stable pods
//! `stableMetadata` (blue/green: `previewMetadata` and `activeMetadata`); on promotion the same pods (no
//! restart) switch to the stable (active) metadata.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tack_delivery::rollout::commands;

use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

const ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      canaryMetadata: {labels: {role: canary}, annotations: {note: trial}}
      stableMetadata: {labels: {role: stable}}
      steps:
      - setWeight: 50
      - pause: {}
"#;

/// Pod name → (`role` label, `note` annotation) of the pods of `hash`.
async fn pods_of(env: &Env, hash: &str) -> Result<BTreeMap<String, (Option<String>, Option<String>)>> {
    let api: Api<Pod> = Api::namespaced(env.client.clone(), env.name());
    let list = api
        .list(&ListParams::default().labels(&format!("rollouts-pod-template-hash={hash}")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let role = p.metadata.labels.as_ref().and_then(|l| l.get("role").cloned());
            let note = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("note").cloned());
            (p.metadata.name.unwrap_or_default(), (role, note))
        })
        .collect())
}

async fn wait_pods(
    env: &Env,
    hash: &str,
    what: &str,
    check: impl Fn(&BTreeMap<String, (Option<String>, Option<String>)>) -> bool,
) -> Result<BTreeMap<String, (Option<String>, Option<String>)>> {
    let deadline = tokio::time::Instant::now() + MINUTE;
    loop {
        let pods = pods_of(env, hash).await?;
        if !pods.is_empty() && check(&pods) {
            return Ok(pods);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what}: pods of {hash}: {pods:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn canary_and_stable_metadata_follow_the_role_in_place() -> Result<()> {
    let env = Env::new("ro-meta").await?;
    let ns = env.name().to_string();
    env.apply_yaml(ROLLOUT).await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);
    let stable = (Some("stable".to_string()), None);
    wait_pods(&env, &v1, "first stable pods labelled stable", |p| {
        p.values().all(|m| *m == stable)
    })
    .await?;

    commands::set_image(&env.client, &ns, "web", "web", "web:2").await?;
    let r = env.wait_phase("web", "Paused", MINUTE, |r| step(r) == 1).await?;
    let v2 = current_hash(&r);
    let canary = (Some("canary".to_string()), Some("trial".to_string()));
    let before = wait_pods(&env, &v2, "canary pods labelled canary", |p| {
        p.values().all(|m| *m == canary)
    })
    .await?;
    wait_pods(&env, &v1, "stable pods still stable", |p| {
        p.values().all(|m| *m == stable)
    })
    .await?;

    // Promoted: the canary's pods become the stable and switch metadata in place (same pods).
    commands::promote(&env.client, &ns, "web").await?;
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    let after = wait_pods(&env, &v2, "promoted pods labelled stable, note removed", |p| {
        p.len() == 2 && p.values().all(|m| *m == stable)
    })
    .await?;
    for name in before.keys() {
        assert!(
            after.contains_key(name),
            "pod {name} was kept (metadata changed in place): {after:?}"
        );
    }
    Ok(())
}

const SERVICES: [&str; 2] = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: shop-active}\nspec: {selector: {app: shop}, ports: [{port: 80}]}\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: shop-preview}\nspec: {selector: {app: shop}, ports: [{port: 80}]}\n",
];

const BLUE_GREEN: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: shop, image: "shop:1"}]}
  strategy:
    blueGreen:
      activeService: shop-active
      previewService: shop-preview
      autoPromotionEnabled: false
      activeMetadata: {labels: {role: active}}
      previewMetadata: {labels: {role: preview}}
"#;

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn preview_and_active_metadata_follow_the_active_service() -> Result<()> {
    let env = Env::new("ro-meta-bg").await?;
    let ns = env.name().to_string();
    for s in SERVICES {
        env.apply_yaml(s).await?;
    }
    env.apply_yaml(BLUE_GREEN).await?;
    let r = env
        .wait_phase("shop", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);
    let active = (Some("active".to_string()), None);
    let preview = (Some("preview".to_string()), None);
    wait_pods(&env, &v1, "first pods active", |p| {
        p.values().all(|m| *m == active)
    })
    .await?;

    commands::set_image(&env.client, &ns, "shop", "shop", "shop:2").await?;
    let r = env
        .wait_phase("shop", "Paused", MINUTE, |r| {
            r["status"]["currentPodHash"] != v1.as_str()
        })
        .await?;
    let v2 = current_hash(&r);
    let before = wait_pods(&env, &v2, "preview pods labelled preview", |p| {
        p.len() == 2 && p.values().all(|m| *m == preview)
    })
    .await?;
    wait_pods(&env, &v1, "active pods still active", |p| {
        p.values().all(|m| *m == active)
    })
    .await?;

    commands::promote(&env.client, &ns, "shop").await?;
    env.wait_phase("shop", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    let after = wait_pods(&env, &v2, "promoted pods labelled active", |p| {
        p.len() == 2 && p.values().all(|m| *m == active)
    })
    .await?;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same pods, relabelled in place"
    );
    Ok(())
}
