//! The seed blue/green Rollout as written: preview first, active after promote, old scaled down after the delay.

use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use tack_delivery::rollout::commands;

use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash};

async fn selected(env: &Env, svc: &str) -> Result<Option<String>> {
    let api: Api<Service> = Api::namespaced(env.client.clone(), env.name());
    let s = api.get(svc).await?;
    Ok(s.spec
        .and_then(|s| s.selector)
        .and_then(|s| s.get("rollouts-pod-template-hash").cloned()))
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn seed_blue_green_previews_then_switches_and_scales_down_after_the_delay() -> Result<()> {
    let env = Env::new("ro-bluegreen").await?;
    let ns = env.name().to_string();
    for f in [
        "active-service.yaml",
        "preview-service.yaml",
        "ingress.yaml",
        "blue-green-rollout.yaml",
    ] {
        env.apply_seed(&format!("bluegreen/{f}")).await?;
    }
    let name = "bluegreen-rollout";
    let r = env
        .wait_phase(name, "Healthy", MINUTE, |r| r["status"]["availableReplicas"] == 2)
        .await?;
    let v1 = stable_hash(&r);
    assert_eq!(
        selected(&env, "myapp-active").await?.as_deref(),
        Some(v1.as_str())
    );

    commands::set_image(&env.client, &ns, name, "myapp", "myapp:v2").await?;
    let r = env
        .wait_phase(name, "Paused", MINUTE, |r| {
            r["status"]["currentPodHash"] != v1.as_str()
                && r["status"]["blueGreen"]["previewSelector"].is_string()
        })
        .await?;
    let v2 = current_hash(&r);
    // The preview selects the new ReplicaSet, the active keeps the old one until promote.
    tack_testkit::eventually(MINUTE, "preview Service on the new ReplicaSet", || async {
        Ok((selected(&env, "myapp-preview").await?.as_deref() == Some(v2.as_str())).then_some(()))
    })
    .await?;
    assert_eq!(
        selected(&env, "myapp-active").await?.as_deref(),
        Some(v1.as_str())
    );
    tack_testkit::eventually(MINUTE, "preview pods ready", || async {
        Ok((env.replicas_of(&v2).await? == (2, 2)).then_some(()))
    })
    .await?;
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));
    // Still paused: nothing switches without promote.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        selected(&env, "myapp-active").await?.as_deref(),
        Some(v1.as_str())
    );

    commands::promote(&env.client, &ns, name).await?;
    tack_testkit::eventually(MINUTE, "active Service on the new ReplicaSet", || async {
        Ok((selected(&env, "myapp-active").await?.as_deref() == Some(v2.as_str())).then_some(()))
    })
    .await?;
    let switched = tokio::time::Instant::now();
    // The old ReplicaSet keeps its pods for scaleDownDelaySeconds (default 30), then goes to zero.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        env.replicas_of(&v1).await?.0,
        2,
        "old ReplicaSet scaled down before the delay"
    );
    tack_testkit::eventually(MINUTE, "old ReplicaSet scaled down", || async {
        Ok((env.replicas_of(&v1).await?.0 == 0).then_some(()))
    })
    .await?;
    let waited = switched.elapsed();
    assert!(waited >= Duration::from_secs(25), "scaled down after {waited:?}");
    let r = env
        .wait_phase(name, "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] == v2.as_str()
        })
        .await?;
    assert_eq!(r["status"]["blueGreen"]["activeSelector"], v2.as_str());
    Ok(())
}
