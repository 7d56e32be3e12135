//! The seed canary Rollout as written (no traffic routing: weights are replica counts), driven by the same
//! library functions as `tack rollout`.

use anyhow::Result;
use tack_delivery::rollout::commands;

use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn seed_canary_pauses_at_20_percent_and_promotes_to_full() -> Result<()> {
    let env = Env::new("ro-canary").await?;
    let ns = env.name().to_string();
    env.apply_seed("canary/service.yaml").await?;
    env.apply_seed("canary/canary-rollout.yaml").await?;
    let name = "myapp-rollout";

    // First template: stable at once with all 4 replicas.
    let r = env
        .wait_phase(name, "Healthy", MINUTE, |r| r["status"]["availableReplicas"] == 4)
        .await?;
    let v1 = stable_hash(&r);
    assert_eq!(current_hash(&r), v1);
    assert_eq!(env.replicas_of(&v1).await?, (4, 4));

    // New image: 1 canary pod for 20 % of 4, paused at step 1 (the 48h pause); as Argo Rollouts, the stable
    // keeps ceil(80 % of 4) = 4.
    commands::set_image(&env.client, &ns, name, "myapp", "myapp:v2").await?;
    let r = env
        .wait_phase(name, "Paused", MINUTE, |r| {
            step(r) == 1 && r["status"]["currentPodHash"] != v1.as_str()
        })
        .await?;
    let v2 = current_hash(&r);
    assert_eq!(stable_hash(&r), v1);
    assert_eq!(r["status"]["pauseConditions"][0]["reason"], "CanaryPauseStep");
    let r = env
        .wait_rollout(name, "canary 1 ready, stable 4 ready", MINUTE, |r| {
            r["status"]["readyReplicas"] == 5 && r["status"]["updatedReplicas"] == 1
        })
        .await?;
    assert_eq!(step(&r), 1);
    assert_eq!(env.replicas_of(&v2).await?, (1, 1));
    assert_eq!(env.replicas_of(&v1).await?, (4, 4));

    // promote: step 2 (setWeight 50) then the next pause at step 3 with 2 of 4.
    commands::promote(&env.client, &ns, name).await?;
    env.wait_phase(name, "Paused", MINUTE, |r| step(r) == 3).await?;
    env.wait_rollout(name, "2 canary pods ready", MINUTE, |r| {
        r["status"]["updatedReplicas"] == 2 && r["status"]["readyReplicas"] == 4
    })
    .await?;
    assert_eq!(env.replicas_of(&v2).await?, (2, 2));
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));

    // promote --full: the canary becomes stable with 4 pods, the old stable is scaled down.
    commands::promote_full(&env.client, &ns, name).await?;
    let r = env
        .wait_phase(name, "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] == v2.as_str() && r["status"]["availableReplicas"] == 4
        })
        .await?;
    assert_eq!(r["status"]["updatedReplicas"], 4);
    assert_eq!(env.replicas_of(&v2).await?, (4, 4));
    assert_eq!(env.replicas_of(&v1).await?.0, 0);

    // undo: the first template again, with its own ReplicaSet (same hash), through the steps.
    let rev = commands::undo(&env.client, &ns, name, None).await?;
    assert_eq!(rev, 1);
    let r = env
        .wait_phase(name, "Paused", MINUTE, |r| {
            step(r) == 1 && r["status"]["currentPodHash"] == v1.as_str()
        })
        .await?;
    assert_eq!(stable_hash(&r), v2);
    env.wait_rollout(name, "1 pod of the undone template", MINUTE, |r| {
        r["status"]["updatedReplicas"] == 1 && r["status"]["readyReplicas"] == 5
    })
    .await?;
    assert_eq!(env.replicas_of(&v1).await?, (1, 1));
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn workload_ref_takes_the_deployment_template() -> Result<()> {
    let env = Env::new("ro-workloadref").await?;
    env.apply_yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:7"}]}
"#,
    )
    .await?;
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
"#,
    )
    .await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let hash = stable_hash(&r);
    let rs: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        kube::Api::namespaced(env.client.clone(), env.name());
    let rs = rs.get(&format!("web-{hash}")).await?;
    let image = rs
        .spec
        .and_then(|s| s.template)
        .and_then(|t| t.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    assert_eq!(image.as_deref(), Some("web:7"));
    Ok(())
}

/// A canary whose pods crash (KWOK ends pods labelled `tack.dev/simulate: crash` with exit code 1) is aborted
/// as soon as the first one fails: no traffic or replicas left on it, Degraded, the pod named in the status.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn crashing_canary_is_aborted_when_its_first_pod_fails() -> Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, Patch, PatchParams};

    let env = Env::new("ro-crash").await?;
    let ns = env.name().to_string();
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
"#,
    )
    .await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 2
        })
        .await?;
    let v1 = stable_hash(&r);

    // The bad release: a new image whose pods crash.
    let rollouts = tack_delivery::rollout::rollouts(&env.client, &ns);
    rollouts
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"template": {
                "metadata": {"labels": {"app": "web", "tack.dev/simulate": "crash"}},
                "spec": {"containers": [{"name": "web", "image": "web:2"}]}}}})),
        )
        .await?;
    let r = env
        .wait_phase("web", "Degraded", MINUTE, |r| r["status"]["abort"] == true)
        .await?;
    let v2 = current_hash(&r);
    assert_ne!(v2, v1);
    let msg = r["status"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.starts_with(&format!("RolloutAborted: canary pod web-{v2}-"))
            && msg.contains("failed: container web exited with code 1"),
        "{msg}"
    );
    assert_eq!(stable_hash(&r), v1);

    // Caught within seconds of the first failure (not by the 600 s progress deadline).
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &ns);
    let list = pods
        .list(&ListParams::default().labels(&format!("rollouts-pod-template-hash={v2}")))
        .await?;
    let first_exit = list
        .items
        .iter()
        .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0)
        .min()
        .expect("a terminated canary container");
    let aborted_at: jiff::Timestamp = r["status"]["abortedAt"]
        .as_str()
        .expect("status.abortedAt")
        .parse()?;
    let lag = aborted_at.as_second() - first_exit.as_second();
    assert!(lag <= 10, "aborted {lag} s after the first canary pod exited");

    // Everything back on the stable: the canary scaled down, the stable at full size.
    env.wait_rollout("web", "canary scaled down", MINUTE, |r| {
        r["status"]["updatedReplicas"] == 0 && r["status"]["readyReplicas"] == 2
    })
    .await?;
    assert_eq!(env.replicas_of(&v2).await?.0, 0);
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));
    Ok(())
}

/// `spec.restartAt`: every pod created before it is replaced, one at a time, then `status.restartedAt` records it.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn restart_at_replaces_older_pods_and_records_restarted_at() -> Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, Patch, PatchParams};

    let env = Env::new("ro-restart").await?;
    let ns = env.name().to_string();
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
  strategy:
    canary:
      maxUnavailable: 1
      steps: [{setWeight: 50}, {pause: {}}]
"#,
    )
    .await?;
    let r = env
        .wait_phase("web", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 3
        })
        .await?;
    let hash = stable_hash(&r);
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &ns);
    let selector = format!("rollouts-pod-template-hash={hash}");
    let before: Vec<String> = pods
        .list(&ListParams::default().labels(&selector))
        .await?
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(before.len(), 3);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let at = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())?;
    let rollouts = tack_delivery::rollout::rollouts(&env.client, &ns);
    rollouts
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"restartAt": at.to_string()}})),
        )
        .await?;
    let r = env
        .wait_rollout("web", "status.restartedAt set", MINUTE, |r| {
            r["status"]["restartedAt"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                == Some(at)
        })
        .await?;
    assert_eq!(stable_hash(&r), hash, "a restart is not a new revision");
    // The replacement of the last pod may still be on its way: wait for 3 live pods, then check them.
    let deadline = tokio::time::Instant::now() + MINUTE;
    let live: Vec<Pod> = loop {
        let live: Vec<Pod> = pods
            .list(&ListParams::default().labels(&selector))
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        if live.len() == 3 || tokio::time::Instant::now() > deadline {
            break live;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let names: Vec<_> = live.iter().map(|p| p.metadata.name.clone()).collect();
    assert_eq!(live.len(), 3, "{names:?}");
    for p in &live {
        let name = p.metadata.name.clone().unwrap_or_default();
        assert!(!before.contains(&name), "pod {name} was not restarted");
        let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        assert!(created.is_some_and(|c| c >= at), "pod {name} created {created:?}");
    }
    env.wait_phase("web", "Healthy", MINUTE, |r| {
        r["status"]["availableReplicas"] == 3
    })
    .await?;
    Ok(())
}
