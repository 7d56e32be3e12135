//! ReplicaSet sizing fields of Argo Rollouts on the local control plane: `minPodsPerReplicaSet` and
//! `dynamicStableScale` with traffic routing, `scaleDownDelayRevisionLimit`, `rollbackWindow`.

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use serde_json::Value;
use tack_delivery::rollout::commands;

use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

fn rollout(name: &str, replicas: i32, image: &str, extra_spec: &str, strategy: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
{extra_spec}  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: "{image}"}}]}}
  strategy:
{strategy}
"#
    )
}

fn service(name: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{selector: {{app: {app}}}, ports: [{{port: 80}}]}}\n"
    )
}

fn canary_weight(r: &Value) -> i64 {
    r["status"]["canary"]["weights"]["canary"]["weight"]
        .as_i64()
        .unwrap_or(-1)
}

/// With NGINX traffic routing, `minPodsPerReplicaSet: 2` raises the 25 % canary (1 of 4) to 2 pods, and
/// `dynamicStableScale` scales the stable to its share of the traffic (3, then 2 at 75 % thanks to the
/// minimum); an abort scales the stable back to 4 before the traffic returns to it.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn min_pods_and_dynamic_stable_scale_follow_the_traffic() -> Result<()> {
    let env = Env::new("ro-dyn").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("dyn-stable", "dyn")).await?;
    env.apply_yaml(&service("dyn-canary", "dyn")).await?;
    env.apply_yaml(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: dyn}
spec:
  rules:
  - host: dyn.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: dyn-stable, port: {number: 80}}}}
"#,
    )
    .await?;
    let strategy = "    canary:\n      canaryService: dyn-canary\n      stableService: dyn-stable\n      dynamicStableScale: true\n      minPodsPerReplicaSet: 2\n      trafficRouting: {nginx: {stableIngress: dyn}}\n      steps: [{setWeight: 25}, {pause: {}}, {setWeight: 75}, {pause: {}}]\n";
    env.apply_yaml(&rollout("dyn", 4, "app:1", "", strategy)).await?;
    let r = env.wait_phase("dyn", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "dyn", "app", "app:2").await?;
    let r = env
        .wait_phase("dyn", "Paused", MINUTE, |r| {
            step(r) == 1 && canary_weight(r) == 25
        })
        .await?;
    let v2 = current_hash(&r);
    wait_sizes(&env, &[(&v2, 2), (&v1, 3)]).await?;

    commands::promote(&env.client, &ns, "dyn").await?;
    env.wait_phase("dyn", "Paused", MINUTE, |r| {
        step(r) == 3 && canary_weight(r) == 75
    })
    .await?;
    wait_sizes(&env, &[(&v2, 3), (&v1, 2)]).await?;

    commands::abort(&env.client, &ns, "dyn").await?;
    let r = env
        .wait_phase("dyn", "Degraded", MINUTE, |r| canary_weight(r) == 0)
        .await?;
    assert_eq!(r["status"]["canary"]["weights"]["stable"]["weight"], 100);
    let (stable, ready) = env.replicas_of(&v1).await?;
    assert_eq!(
        (stable, ready),
        (4, 4),
        "traffic back only once the stable is scaled up and ready"
    );
    // The canary shrank with its traffic (75 → 50 → 25 → 0 %, 3 → 2 → 1 pods, at least 2) and waits for
    // abortScaleDownDelaySeconds once the traffic left it.
    let canary = env.replicas_of(&v2).await?.0;
    assert!(
        (2..=3).contains(&canary),
        "the canary keeps its pods for abortScaleDownDelaySeconds: {canary}"
    );
    Ok(())
}

async fn wait_sizes(env: &Env, want: &[(&str, i32)]) -> Result<()> {
    let deadline = Instant::now() + MINUTE;
    loop {
        let mut ok = true;
        for (hash, n) in want {
            ok &= env.replicas_of(hash).await? == (*n, *n);
        }
        if ok {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("sizes {want:?} not reached: {:?}", env.replica_sets().await?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `rollbackWindow: {revisions: 2}`: `undo` back to the previous revision skips the steps (no pause) and goes
/// straight to full promotion.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn rollback_within_the_window_skips_the_steps() -> Result<()> {
    let env = Env::new("ro-rbwin").await?;
    let ns = env.name().to_string();
    let strategy = "    canary:\n      steps: [{setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout(
        "rbw",
        2,
        "app:1",
        "  rollbackWindow: {revisions: 2}\n",
        strategy,
    ))
    .await?;
    let r = env.wait_phase("rbw", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    // Creation times have a resolution of one second; a rollback is a ReplicaSet created before the stable's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    commands::set_image(&env.client, &ns, "rbw", "app", "app:2").await?;
    env.wait_phase("rbw", "Paused", MINUTE, |r| step(r) == 1).await?;
    commands::promote_full(&env.client, &ns, "rbw").await?;
    env.wait_phase("rbw", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] != v1.as_str()
    })
    .await?;

    commands::undo(&env.client, &ns, "rbw", None).await?;
    let deadline = Instant::now() + MINUTE;
    loop {
        let r = env.rollout("rbw").await?;
        ensure!(
            r["status"]["phase"] != "Paused",
            "the rollback paused at a step: {}",
            r["status"]
        );
        if r["status"]["phase"] == "Healthy" && r["status"]["stableRS"] == v1.as_str() {
            break;
        }
        if Instant::now() > deadline {
            bail!("rollback not promoted: {}", r["status"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(env.replicas_of(&v1).await?, (2, 2));
    Ok(())
}

/// Blue/green `scaleDownDelayRevisionLimit: 1`: after two updates only the newest old ReplicaSet waits for
/// its scale-down delay, the older one is scaled down at once.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn scale_down_delay_revision_limit_keeps_one_old_replica_set() -> Result<()> {
    let env = Env::new("ro-sdlimit").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("lim-active", "lim")).await?;
    let strategy = "    blueGreen:\n      activeService: lim-active\n      scaleDownDelaySeconds: 120\n      scaleDownDelayRevisionLimit: 1\n";
    env.apply_yaml(&rollout("lim", 2, "app:1", "", strategy)).await?;
    let r = env.wait_phase("lim", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "lim", "app", "app:2").await?;
    let r = env
        .wait_phase("lim", "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] != v1.as_str()
        })
        .await?;
    let v2 = stable_hash(&r);
    assert_eq!(env.replicas_of(&v1).await?.0, 2, "v1 waits for its delay");
    commands::set_image(&env.client, &ns, "lim", "app", "app:3").await?;
    env.wait_phase("lim", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] != v1.as_str() && r["status"]["stableRS"] != v2.as_str()
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.replicas_of(&v1).await?.0 != 0 {
        ensure!(
            Instant::now() < deadline,
            "v1 beyond the revision limit kept: {:?}",
            env.replica_sets().await?
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        env.replicas_of(&v2).await?.0,
        2,
        "v2 (newest old) waits for its delay"
    );
    Ok(())
}

/// `antiAffinity.requiredDuringSchedulingIgnoredDuringExecution`: the canary ReplicaSet's pods carry a required
/// anti-affinity term against the stable's pods, so the scheduler puts them on other nodes (3 KWOK nodes, 1
/// stable pod, 1 canary pod at 50 %); the Rollout's template is unchanged.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn anti_affinity_keeps_the_canary_off_the_stable_nodes() -> Result<()> {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::core::v1::Pod;
    let env = Env::new("ro-antiaff").await?;
    let ns = env.name().to_string();
    let strategy = "    canary:\n      antiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {}}\n      steps: [{setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout("aff", 2, "app:1", "", strategy)).await?;
    let r = env.wait_phase("aff", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "aff", "app", "app:2").await?;
    let r = env.wait_phase("aff", "Paused", MINUTE, |r| step(r) == 1).await?;
    let v2 = current_hash(&r);
    // 50 % of 2: one canary and one stable pod (Argo's arithmetic).
    wait_sizes(&env, &[(&v2, 1), (&v1, 1)]).await?;

    let rs_api: kube::Api<ReplicaSet> = kube::Api::namespaced(env.client.clone(), &ns);
    let rs = serde_json::to_value(rs_api.get(&format!("aff-{v2}")).await?)?;
    let terms = &rs["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(
        terms[0]["labelSelector"]["matchExpressions"][0],
        serde_json::json!({"key": "rollouts-pod-template-hash", "operator": "In", "values": [v1.clone()]}),
        "{rs}"
    );
    assert_eq!(terms[0]["topologyKey"], "kubernetes.io/hostname");
    let stable_rs = serde_json::to_value(rs_api.get(&format!("aff-{v1}")).await?)?;
    assert!(
        stable_rs["spec"]["template"]["spec"].get("affinity").is_none(),
        "the first template is deployed as written"
    );
    let r = env.rollout("aff").await?;
    assert!(
        r["spec"]["template"]["spec"].get("affinity").is_none(),
        "the Rollout is not changed"
    );

    let pods: kube::Api<Pod> = kube::Api::namespaced(env.client.clone(), &ns);
    let nodes_of = |hash: &str| {
        let pods = pods.clone();
        let selector = format!("rollouts-pod-template-hash={hash}");
        async move {
            let list = pods
                .list(&kube::api::ListParams::default().labels(&selector))
                .await?;
            Ok::<Vec<String>, anyhow::Error>(
                list.items
                    .iter()
                    .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
                    .collect(),
            )
        }
    };
    let stable_nodes = nodes_of(&v1).await?;
    let canary_nodes = nodes_of(&v2).await?;
    ensure!(canary_nodes.len() == 1, "canary pod scheduled: {canary_nodes:?}");
    ensure!(
        !stable_nodes.contains(&canary_nodes[0]),
        "canary on {canary_nodes:?}, stable on {stable_nodes:?}"
    );
    Ok(())
}

/// `strategy.blueGreen.maxUnavailable` (Argo uses it for `restartAt`): accepted, and a restart replaces every
/// pod of the active ReplicaSet, several at a time, then records `status.restartedAt`.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn bluegreen_max_unavailable_paces_a_restart() -> Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, Patch, PatchParams};
    let env = Env::new("ro-bgrestart").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("bgr-active", "bgr")).await?;
    let strategy = "    blueGreen:\n      activeService: bgr-active\n      maxUnavailable: 2\n";
    env.apply_yaml(&rollout("bgr", 4, "app:1", "", strategy)).await?;
    let r = env
        .wait_phase("bgr", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 4
        })
        .await?;
    let hash = stable_hash(&r);
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &ns);
    let selector = format!("rollouts-pod-template-hash={hash}");
    let names =
        |list: &[Pod]| -> Vec<String> { list.iter().filter_map(|p| p.metadata.name.clone()).collect() };
    let before = names(&pods.list(&ListParams::default().labels(&selector)).await?.items);
    assert_eq!(before.len(), 4);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let at = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())?;
    tack_delivery::rollout::rollouts(&env.client, &ns)
        .patch(
            "bgr",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"restartAt": at.to_string()}})),
        )
        .await?;
    env.wait_rollout("bgr", "status.restartedAt set", MINUTE, |r| {
        r["status"]["restartedAt"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            == Some(at)
    })
    .await?;
    let r = env.rollout("bgr").await?;
    ensure!(r["status"]["phase"] != "Degraded", "{}", r["status"]);
    let after = names(&pods.list(&ListParams::default().labels(&selector)).await?.items);
    ensure!(
        before.iter().all(|p| !after.contains(p)),
        "every pod replaced: before {before:?}, after {after:?}"
    );
    Ok(())
}

/// Blue/green `antiAffinity` (preferred, weight 100): the preview ReplicaSet's pod template carries the
/// preferred term against the active pods.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn bluegreen_anti_affinity_is_injected_into_the_preview() -> Result<()> {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    let env = Env::new("ro-bgaff").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("bga-active", "bga")).await?;
    let strategy = "    blueGreen:\n      activeService: bga-active\n      autoPromotionEnabled: false\n      antiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: {weight: 100}}\n";
    env.apply_yaml(&rollout("bga", 1, "app:1", "", strategy)).await?;
    let r = env.wait_phase("bga", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "bga", "app", "app:2").await?;
    let r = env.wait_phase("bga", "Paused", MINUTE, |_| true).await?;
    let v2 = current_hash(&r);
    let rs_api: kube::Api<ReplicaSet> = kube::Api::namespaced(env.client.clone(), &ns);
    let rs = serde_json::to_value(rs_api.get(&format!("bga-{v2}")).await?)?;
    let term = &rs["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        [0];
    assert_eq!(term["weight"], 100, "{rs}");
    assert_eq!(
        term["podAffinityTerm"]["labelSelector"]["matchExpressions"][0]["values"],
        serde_json::json!([v1]),
        "{rs}"
    );
    assert_eq!(term["podAffinityTerm"]["namespaces"], serde_json::json!([ns]));
    Ok(())
}

/// `workloadRef.scaleDown: onsuccess`: once the Rollout's first revision is Healthy the referenced Deployment is
/// scaled to zero (the migration from a Deployment, as Argo does it); its pods are no longer needed.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn workload_ref_scale_down_on_success() -> Result<()> {
    use k8s_openapi::api::apps::v1::Deployment;
    let env = Env::new("ro-wrefdown").await?;
    env.apply_yaml(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: mig}
spec:
  replicas: 2
  selector: {matchLabels: {app: mig}}
  template:
    metadata: {labels: {app: mig}}
    spec: {containers: [{name: web, image: "web:1"}]}
"#,
    )
    .await?;
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: mig}
spec:
  replicas: 2
  selector: {matchLabels: {app: mig}}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: mig, scaleDown: onsuccess}
  strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
"#,
    )
    .await?;
    env.wait_phase("mig", "Healthy", MINUTE, |_| true).await?;
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(env.client.clone(), env.name());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = deployments.get("mig").await?;
        if d.spec.as_ref().and_then(|s| s.replicas) == Some(0) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "Deployment not scaled down: {:?}",
            d.spec.map(|s| s.replicas)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = env.rollout("mig").await?;
    assert_eq!(r["status"]["phase"], "Healthy", "{}", r["status"]);
    Ok(())
}
