//! Argo Rollouts' documented behaviour, scenario by scenario, in the style of Argo's e2e suite: analysis runs
//! per revision, basic canary replica arithmetic, invalid and unsupported specs refused visibly, conditions
//! (`kubectl wait --for=condition=…`), blue/green counts and fast rollback, `workloadRef` changes.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tack_delivery::rollout::commands;

use crate::analysis_support::Exporter;
use crate::rollout_support::{Env, MINUTE, current_hash, stable_hash, step};

/// A Rollout `name` with `replicas` pods of `image` and the given strategy (YAML, indented under `strategy:`).
fn rollout(name: &str, replicas: i32, image: &str, strategy: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
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

/// The condition `type_` of a Rollout.
fn condition<'a>(r: &'a Value, type_: &str) -> Option<&'a Value> {
    r["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn condition_is(r: &Value, type_: &str, status: &str) -> bool {
    condition(r, type_).is_some_and(|c| c["status"] == status)
}

/// Reasons and notes of the Events about Rollout `name`.
async fn rollout_events(env: &Env, name: &str) -> Result<Vec<(String, String)>> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(env.client.clone(), env.name());
    Ok(events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some("Rollout") && r.name.as_deref() == Some(name))
        })
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect())
}

/// The Events of a Rollout once one of them satisfies `want`: the controller writes the status first and the
/// Event right after, so a test that saw the status waits a moment for the Event.
pub async fn wait_rollout_event(
    env: &Env,
    name: &str,
    want: impl Fn(&str, &str) -> bool,
) -> Result<Vec<(String, String)>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = rollout_events(env, name).await?;
        if events.iter().any(|(reason, note)| want(reason, note)) || Instant::now() > deadline {
            return Ok(events);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn analysis_runs(env: &Env) -> Result<Vec<Value>> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        env.client.clone(),
        env.name(),
        &tack_delivery::rollout::analysis_run_resource(),
    );
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect())
}

/// `kubectl wait --for=condition=<cond> rollout/<name>` against the test's control plane, when kubectl is
/// installed (the API-side check before it is what the test relies on).
fn kubectl_wait(env: &Env, name: &str, cond: &str) -> Result<()> {
    let Ok(kubeconfig) = tack_testkit::kubeconfig() else {
        return Ok(());
    };
    let out = match std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["-n", env.name(), "wait", &format!("--for=condition={cond}")])
        .args([&format!("rollouts.argoproj.io/{name}"), "--timeout=60s"])
        .output()
    {
        Ok(o) => o,
        // No kubectl on this machine.
        Err(_) => return Ok(()),
    };
    ensure!(
        out.status.success(),
        "kubectl wait --for=condition={cond}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

const WEB_TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: ok}
spec:
  args: [{name: url}]
  metrics:
  - name: ok
    successCondition: result == true
    failureLimit: 0
    provider:
      web: {url: "{{args.url}}", jsonPath: "{$.ok}"}
"#;

/// Argo names AnalysisRuns with the revision and never reuses a run of another revision: an undo to an earlier
/// template measures again, and a re-deploy of a template whose analysis failed measures again too.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn analysis_runs_are_per_revision_undo_and_redeploy_measure_again() -> Result<()> {
    let env = Env::new("ro-runs").await?;
    let ns = env.name().to_string();
    let exporter = Exporter::start().await?;
    exporter.set_json(json!({"ok": true}));
    env.apply_yaml(WEB_TEMPLATE).await?;
    let strategy = format!(
        "    canary:\n      steps:\n      - setWeight: 50\n      - analysis: {{templates: [{{templateName: ok}}], args: [{{name: url, value: \"{}\"}}]}}\n",
        exporter.url("/json")
    );
    env.apply_yaml(&rollout("runs", 1, "app:1", &strategy)).await?;
    let r = env.wait_phase("runs", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);

    // Revision 2: measured once, promoted.
    commands::set_image(&env.client, &ns, "runs", "app", "app:2").await?;
    let r = env
        .wait_phase("runs", "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] != v1.as_str()
        })
        .await?;
    let v2 = stable_hash(&r);
    let runs = analysis_runs(&env).await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0]["metadata"]["name"],
        format!("runs-{v2}-2-1"),
        "named <rollout>-<hash>-<revision>-<step>"
    );
    let measured = exporter.json_requests().len();

    // Undo to revision 1: revision 3, a new run, measured again (the old one is not reused).
    commands::undo(&env.client, &ns, "runs", None).await?;
    env.wait_phase("runs", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v1.as_str()
    })
    .await?;
    let names: Vec<String> = analysis_runs(&env)
        .await?
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&format!("runs-{v1}-3-1")), "{names:?}");
    assert!(
        exporter.json_requests().len() > measured,
        "the undone template was measured again"
    );
    let r = env.rollout("runs").await?;
    assert_eq!(r["metadata"]["annotations"]["rollout.argoproj.io/revision"], "3");

    // Revision 4 fails its analysis and aborts.
    exporter.set_json(json!({"ok": false}));
    commands::set_image(&env.client, &ns, "runs", "app", "app:4").await?;
    let r = env.wait_phase("runs", "Degraded", MINUTE, |_| true).await?;
    let v4 = current_hash(&r);
    // The metric is good now: going back to stable and re-deploying the same template measures again and
    // completes, instead of aborting on the old failed run.
    exporter.set_json(json!({"ok": true}));
    commands::set_image(&env.client, &ns, "runs", "app", "app:1").await?;
    env.wait_phase("runs", "Healthy", MINUTE, |r| {
        r["status"]["currentPodHash"] == v1.as_str()
    })
    .await?;
    commands::set_image(&env.client, &ns, "runs", "app", "app:4").await?;
    let r = env
        .wait_phase("runs", "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] == v4.as_str()
        })
        .await?;
    assert_eq!(current_hash(&r), v4);
    let phases: Vec<(String, String)> = analysis_runs(&env)
        .await?
        .iter()
        .filter(|r| r["metadata"]["name"].as_str().is_some_and(|n| n.contains(&v4)))
        .map(|r| {
            (
                r["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                r["status"]["phase"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        phases.iter().any(|(_, p)| p == "Failed") && phases.iter().any(|(_, p)| p == "Successful"),
        "one failed run of the first attempt, one successful of the re-deploy: {phases:?}"
    );
    Ok(())
}

/// Argo's basic canary arithmetic rounds both sides up: 1 replica at setWeight 25 and 50 runs 1 stable and 1
/// canary pod (traffic split by pods), never all on the canary.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn basic_canary_with_one_replica_keeps_one_stable_and_one_canary() -> Result<()> {
    let env = Env::new("ro-one").await?;
    let ns = env.name().to_string();
    let strategy = "    canary:\n      steps: [{setWeight: 25}, {pause: {}}, {setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout("one", 1, "app:1", strategy)).await?;
    let r = env.wait_phase("one", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "one", "app", "app:2").await?;
    let r = env
        .wait_phase("one", "Paused", MINUTE, |r| {
            step(r) == 1 && r["status"]["readyReplicas"] == 2
        })
        .await?;
    let v2 = current_hash(&r);
    assert_eq!(
        env.replicas_of(&v2).await?,
        (1, 1),
        "setWeight 25: one canary pod"
    );
    assert_eq!(
        env.replicas_of(&v1).await?,
        (1, 1),
        "setWeight 25: the stable pod stays"
    );
    commands::promote(&env.client, &ns, "one").await?;
    env.wait_phase("one", "Paused", MINUTE, |r| {
        step(r) == 3 && r["status"]["readyReplicas"] == 2
    })
    .await?;
    assert_eq!(env.replicas_of(&v2).await?, (1, 1), "setWeight 50");
    assert_eq!(env.replicas_of(&v1).await?, (1, 1), "setWeight 50");
    commands::promote(&env.client, &ns, "one").await?;
    env.wait_phase("one", "Healthy", MINUTE, |r| {
        r["status"]["stableRS"] == v2.as_str()
    })
    .await?;
    Ok(())
}

/// Scaling 8 → 4 while paused at setWeight 50 (maxSurge 2, maxUnavailable 0): never more than the 8 pods
/// already running, and Argo's counts for 4 replicas (2 canary, 2 stable) are reached.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn basic_canary_scaled_down_during_the_update_respects_max_surge() -> Result<()> {
    let env = Env::new("ro-scale").await?;
    let ns = env.name().to_string();
    let strategy = "    canary:\n      maxSurge: 2\n      maxUnavailable: 0\n      steps: [{setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout("scale", 8, "app:1", strategy)).await?;
    let r = env
        .wait_phase("scale", "Healthy", MINUTE, |r| {
            r["status"]["availableReplicas"] == 8
        })
        .await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "scale", "app", "app:2").await?;
    let r = env
        .wait_phase("scale", "Paused", MINUTE, |r| {
            r["status"]["availableReplicas"] == 8 && step(r) == 1
        })
        .await?;
    let v2 = current_hash(&r);
    assert_eq!(env.replicas_of(&v2).await?.0, 4);
    assert_eq!(env.replicas_of(&v1).await?.0, 4);
    let api = tack_delivery::rollout::rollouts(&env.client, &ns);
    api.patch(
        "scale",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 4}})),
    )
    .await?;
    let deadline = Instant::now() + MINUTE;
    loop {
        let sets = env.replica_sets().await?;
        let total: i32 = sets.iter().map(|(_, r, _)| r).sum();
        assert!(total <= 8, "never above the pods already running: {sets:?}");
        if env.replicas_of(&v2).await?.0 == 2 && env.replicas_of(&v1).await?.0 == 2 {
            break;
        }
        if Instant::now() > deadline {
            bail!("not scaled to 2 canary + 2 stable: {sets:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = env
        .wait_phase("scale", "Paused", MINUTE, |r| {
            r["status"]["availableReplicas"] == 4
        })
        .await?;
    assert_eq!(step(&r), 1);
    Ok(())
}

/// A Rollout with both `workloadRef` and `template`, and one whose pod template the API server rejects: phase
/// Degraded, an InvalidSpec condition and a Warning Event (once), no ReplicaSet.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn invalid_specs_are_degraded_with_an_invalid_spec_condition_and_event() -> Result<()> {
    let env = Env::new("ro-invalid").await?;
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: both}
spec:
  replicas: 1
  selector: {matchLabels: {app: both}}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  template:
    metadata: {labels: {app: both}}
    spec: {containers: [{name: app, image: "app:1"}]}
  strategy: {canary: {steps: [{setWeight: 50}]}}
"#,
    )
    .await?;
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: noimage}
spec:
  replicas: 1
  selector: {matchLabels: {app: noimage}}
  template:
    metadata: {labels: {app: noimage}}
    spec: {containers: [{name: app}]}
  strategy: {canary: {steps: [{setWeight: 50}]}}
"#,
    )
    .await?;
    for (name, says) in [
        ("both", "template must be empty for workload ref rollout"),
        ("noimage", "image"),
    ] {
        let r = env
            .wait_phase(name, "Degraded", MINUTE, |r| {
                condition_is(r, "InvalidSpec", "True")
            })
            .await?;
        let c = condition(&r, "InvalidSpec").context("condition")?;
        assert_eq!(c["reason"], "InvalidSpec");
        assert!(c["message"].as_str().is_some_and(|m| m.contains(says)), "{c}");
        assert!(
            r["status"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("InvalidSpec: ")),
            "{}",
            r["status"]
        );
        let events = wait_rollout_event(&env, name, |reason, _| reason == "InvalidSpec").await?;
        let invalid: Vec<_> = events
            .iter()
            .filter(|(reason, _)| reason == "InvalidSpec")
            .collect();
        assert!(!invalid.is_empty(), "{events:?}");
    }
    // The controller keeps refusing without repeating itself.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let events = rollout_events(&env, "both").await?;
    assert_eq!(
        events.iter().filter(|(r, _)| r == "InvalidSpec").count(),
        1,
        "{events:?}"
    );
    let rs: Api<k8s_openapi::api::apps::v1::ReplicaSet> = Api::namespaced(env.client.clone(), env.name());
    assert!(
        rs.list(&ListParams::default()).await?.items.is_empty(),
        "nothing created"
    );

    // Fixed: the condition goes away and the Rollout becomes Healthy.
    let api = tack_delivery::rollout::rollouts(&env.client, env.name());
    api.patch(
        "noimage",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}),
        ),
    )
    .await?;
    let r = env.wait_phase("noimage", "Healthy", MINUTE, |_| true).await?;
    assert!(condition(&r, "InvalidSpec").is_none(), "{}", r["status"]);
    Ok(())
}

/// Argo's conditions, so `kubectl wait --for=condition=…` works: Healthy, Completed, Available, Paused and
/// Progressing through an update, pause, promotion and completion.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn conditions_follow_argo_and_kubectl_wait_works() -> Result<()> {
    let env = Env::new("ro-conditions").await?;
    let ns = env.name().to_string();
    let strategy = "    canary:\n      steps: [{setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout("cond", 2, "app:1", strategy)).await?;
    let r = env
        .wait_phase("cond", "Healthy", MINUTE, |r| condition_is(r, "Healthy", "True"))
        .await?;
    for (c, s) in [
        ("Completed", "True"),
        ("Available", "True"),
        ("Progressing", "True"),
    ] {
        assert!(condition_is(&r, c, s), "{c}={s}: {}", r["status"]["conditions"]);
    }
    assert_eq!(
        condition(&r, "Progressing").map(|c| c["reason"].clone()),
        Some(json!("NewReplicaSetAvailable"))
    );
    kubectl_wait(&env, "cond", "Healthy=True")?;
    kubectl_wait(&env, "cond", "Completed=True")?;

    commands::set_image(&env.client, &ns, "cond", "app", "app:2").await?;
    let r = env
        .wait_phase("cond", "Paused", MINUTE, |r| condition_is(r, "Paused", "True"))
        .await?;
    assert!(
        condition_is(&r, "Completed", "False"),
        "{}",
        r["status"]["conditions"]
    );
    assert!(
        condition_is(&r, "Healthy", "False"),
        "{}",
        r["status"]["conditions"]
    );
    assert_eq!(
        condition(&r, "Progressing").map(|c| c["reason"].clone()),
        Some(json!("RolloutPaused"))
    );
    kubectl_wait(&env, "cond", "Paused=True")?;

    commands::promote(&env.client, &ns, "cond").await?;
    let r = env
        .wait_phase("cond", "Healthy", MINUTE, |r| condition_is(r, "Healthy", "True"))
        .await?;
    assert!(
        condition_is(&r, "Paused", "False"),
        "{}",
        r["status"]["conditions"]
    );
    assert!(
        condition_is(&r, "Completed", "True"),
        "{}",
        r["status"]["conditions"]
    );
    kubectl_wait(&env, "cond", "Healthy=True")?;
    Ok(())
}

/// A traffic-routed canary is Healthy right after promotion: the old stable keeps its pods for
/// scaleDownDelaySeconds without traffic, and the phase does not stay Progressing through the delay.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn traffic_routed_canary_is_healthy_during_the_scale_down_delay() -> Result<()> {
    let env = Env::new("ro-delay").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("delay-stable", "delay")).await?;
    env.apply_yaml(&service("delay-canary", "delay")).await?;
    env.apply_yaml(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: delay}
spec:
  rules:
  - host: delay.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: delay-stable, port: {number: 80}}}}
"#,
    )
    .await?;
    let strategy = "    canary:\n      canaryService: delay-canary\n      stableService: delay-stable\n      scaleDownDelaySeconds: 60\n      trafficRouting: {nginx: {stableIngress: delay}}\n      steps: [{setWeight: 50}, {pause: {}}]\n";
    env.apply_yaml(&rollout("delay", 2, "app:1", strategy)).await?;
    let r = env.wait_phase("delay", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "delay", "app", "app:2").await?;
    env.wait_phase("delay", "Paused", MINUTE, |r| step(r) == 1)
        .await?;
    commands::promote(&env.client, &ns, "delay").await?;
    let started = Instant::now();
    let r = env
        .wait_phase("delay", "Healthy", Duration::from_secs(30), |r| {
            r["status"]["stableRS"] != v1.as_str()
        })
        .await?;
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(r["status"]["canary"]["weights"]["canary"]["weight"], 0);
    assert_eq!(
        env.replicas_of(&v1).await?.0,
        2,
        "the old stable waits for its scale-down delay"
    );
    Ok(())
}

/// Blue/green: ready and available count the active ReplicaSet, as Argo does, not the preview pods.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn bluegreen_counts_the_active_replica_set() -> Result<()> {
    let env = Env::new("ro-bgcount").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("bgc-active", "bgc")).await?;
    env.apply_yaml(&service("bgc-preview", "bgc")).await?;
    let strategy = "    blueGreen:\n      activeService: bgc-active\n      previewService: bgc-preview\n      autoPromotionEnabled: false\n";
    env.apply_yaml(&rollout("bgc", 2, "app:1", strategy)).await?;
    env.wait_phase("bgc", "Healthy", MINUTE, |_| true).await?;
    commands::set_image(&env.client, &ns, "bgc", "app", "app:2").await?;
    let r = env
        .wait_phase("bgc", "Paused", MINUTE, |r| r["status"]["updatedReplicas"] == 2)
        .await?;
    // Let the preview pods become ready, then look again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r2 = env.rollout("bgc").await?;
    let sets = env.replica_sets().await?;
    assert_eq!(sets.iter().map(|(_, _, ready)| ready).sum::<i32>(), 4, "{sets:?}");
    assert_eq!(r2["status"]["readyReplicas"], 2, "{}", r2["status"]);
    assert_eq!(r2["status"]["availableReplicas"], 2, "{}", r2["status"]);
    assert!(
        condition_is(&r, "Available", "True"),
        "{}",
        r["status"]["conditions"]
    );
    Ok(())
}

/// Blue/green fast rollback: going back to the ReplicaSet still within its scale-down delay switches the
/// active Service at once, without pausing for promotion again.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn bluegreen_fast_rollback_within_the_scale_down_delay() -> Result<()> {
    let env = Env::new("ro-bgfast").await?;
    let ns = env.name().to_string();
    env.apply_yaml(&service("fast-active", "fast")).await?;
    env.apply_yaml(&service("fast-preview", "fast")).await?;
    let strategy = "    blueGreen:\n      activeService: fast-active\n      previewService: fast-preview\n      autoPromotionEnabled: false\n      scaleDownDelaySeconds: 120\n";
    env.apply_yaml(&rollout("fast", 2, "app:1", strategy)).await?;
    let r = env.wait_phase("fast", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    commands::set_image(&env.client, &ns, "fast", "app", "app:2").await?;
    env.wait_phase("fast", "Paused", MINUTE, |_| true).await?;
    commands::promote(&env.client, &ns, "fast").await?;
    let r = env
        .wait_phase("fast", "Healthy", MINUTE, |r| {
            r["status"]["stableRS"] != v1.as_str()
        })
        .await?;
    let v2 = stable_hash(&r);
    assert_eq!(env.replicas_of(&v1).await?.0, 2, "v1 within its scale-down delay");

    commands::undo(&env.client, &ns, "fast", None).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = env.rollout("fast").await?;
        ensure!(r["status"]["phase"] != "Paused", "paused again: {}", r["status"]);
        if r["status"]["phase"] == "Healthy" && r["status"]["stableRS"] == v1.as_str() {
            assert_eq!(r["status"]["blueGreen"]["activeSelector"], v1.as_str());
            break;
        }
        if Instant::now() > deadline {
            bail!("no fast rollback: {}", r["status"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(env.replicas_of(&v2).await?.0, 2, "v2 now waits for its own delay");
    Ok(())
}

/// `workloadRef`: a change of the Deployment's template is picked up within seconds (the Deployment is
/// watched), and `status.workloadObservedGeneration` records the generation used.
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn workload_ref_changes_are_picked_up_in_seconds() -> Result<()> {
    let env = Env::new("ro-wref").await?;
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
    spec: {containers: [{name: web, image: "web:1"}]}
"#,
    )
    .await?;
    env.apply_yaml(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
"#,
    )
    .await?;
    let r = env.wait_phase("web", "Healthy", MINUTE, |_| true).await?;
    let v1 = stable_hash(&r);
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), env.name());
    let generation =
        |d: &k8s_openapi::api::apps::v1::Deployment| d.metadata.generation.unwrap_or(0).to_string();
    assert_eq!(
        r["status"]["workloadObservedGeneration"],
        generation(&deployments.get("web").await?)
    );
    let dep = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}),
            ),
        )
        .await?;
    let started = Instant::now();
    let r = env
        .wait_rollout(
            "web",
            "the new Deployment template",
            Duration::from_secs(15),
            |r| !current_hash(r).is_empty() && current_hash(r) != v1,
        )
        .await?;
    assert!(started.elapsed() < Duration::from_secs(15));
    let r = env
        .wait_rollout(
            "web",
            "workloadObservedGeneration",
            Duration::from_secs(15),
            |r| r["status"]["workloadObservedGeneration"] == generation(&dep),
        )
        .await
        .unwrap_or(r);
    assert_eq!(r["status"]["workloadObservedGeneration"], generation(&dep));
    Ok(())
}

/// Every Rollout field tack does not implement is refused before anything runs: Degraded, an InvalidSpec
/// condition naming the field, a Warning Event, and no ReplicaSet (so no traffic moves).
#[tokio::test]
#[ignore = "needs the local control plane"]
async fn unsupported_features_are_refused_visibly() -> Result<()> {
    let env = Env::new("ro-refused").await?;
    let canary =
        |extra: &str| format!("    canary:\n      canaryService: c\n      stableService: s\n{extra}");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            // Works with traffic routing; without it Argo's validation refuses it.
            "dynamic-stable-basic",
            canary("      dynamicStableScale: true\n      steps: [{setWeight: 50}]\n"),
            "dynamicStableScale: Canary dynamicStableScale can only be used with traffic routing",
        ),
        (
            // Works with one rule; both at once are refused as Argo refuses them.
            "anti-affinity-both",
            canary(
                "      antiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: {weight: 1}, requiredDuringSchedulingIgnoredDuringExecution: {}}\n      steps: [{setWeight: 50}]\n",
            ),
            "antiAffinity: AntiAffinity must have exactly one strategy listed",
        ),
        (
            "alb",
            canary(
                "      trafficRouting: {alb: {ingress: i, servicePort: 80}}\n      steps: [{setWeight: 50}]\n",
            ),
            "trafficRouting.alb",
        ),
        (
            // Header routes work with managedRoutes naming them; without, Argo's validation refuses the step.
            "header-route",
            canary(
                "      trafficRouting: {nginx: {stableIngress: i}}\n      steps: [{setHeaderRoute: {name: h, match: [{headerName: x, headerValue: {exact: 'y'}}]}}]\n",
            ),
            "Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes'",
        ),
        (
            // Mirroring works with Istio and the Gateway API; NGINX cannot mirror.
            "mirror-route",
            canary(
                "      trafficRouting: {managedRoutes: [{name: m}], nginx: {stableIngress: i}}\n      steps: [{setMirrorRoute: {name: m, percentage: 10, match: [{method: {exact: GET}}]}}]\n",
            ),
            "setMirrorRoute: SetMirrorRoute requires TrafficRouting, supports Istio and the Gateway API plugin in tack (NGINX has no mirroring)",
        ),
        (
            "experiment-weight",
            canary(
                "      steps: [{experiment: {templates: [{name: baseline, specRef: stable, weight: 5}]}}]\n",
            ),
            "weight (traffic to experiment pods is not implemented by tack)",
        ),
    ];
    for (name, strategy, _) in &cases {
        env.apply_yaml(&rollout(name, 1, "app:1", strategy)).await?;
    }
    let all = cases.iter().map(|(n, _, f)| (n.to_string(), f.to_string()));
    for (name, field) in all {
        let r = env
            .wait_phase(&name, "Degraded", MINUTE, |r| {
                condition_is(r, "InvalidSpec", "True")
            })
            .await?;
        let c = condition(&r, "InvalidSpec").context("condition")?;
        assert!(
            c["message"].as_str().is_some_and(|m| m.contains(&field)),
            "{name}: the condition names {field}: {c}"
        );
        let events = wait_rollout_event(&env, &name, |reason, note| {
            reason == "InvalidSpec" && note.contains(&field)
        })
        .await?;
        assert!(
            events
                .iter()
                .any(|(reason, note)| reason == "InvalidSpec" && note.contains(&field)),
            "{name}: {events:?}"
        );
    }
    let rs: Api<k8s_openapi::api::apps::v1::ReplicaSet> = Api::namespaced(env.client.clone(), env.name());
    assert!(
        rs.list(&ListParams::default()).await?.items.is_empty(),
        "no ReplicaSet for a refused Rollout"
    );
    Ok(())
}
