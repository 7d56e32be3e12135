//! Sync phases against the local control plane: waves applied in order and healthy one after the other, PreSync,
//! Sync, PostSync and SyncFail hooks with their delete policies, Helm hooks in weight order.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tack_apply::{Action, SyncError, SyncOptions, sync};
use tack_cluster::Cluster;
use tack_render::{Manifest, Origin};

use super::setup;

pub fn manifests(objects: &[Value]) -> Vec<Manifest> {
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| Manifest {
            object: o.clone(),
            origin: Origin::new("app.yaml", (i * 10 + 1) as u64),
        })
        .collect()
}

/// Progress lines kept for assertions.
#[derive(Default)]
pub struct Lines(Mutex<Vec<String>>);

impl Lines {
    pub fn push(&self, l: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(l.to_string());
        }
    }
    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
    /// The index of the first line containing `needle`.
    pub fn position(&self, needle: &str) -> Option<usize> {
        self.all().iter().position(|l| l.contains(needle))
    }
}

pub fn cm(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": annotations}, "data": {"k": "v"}})
}

pub fn deployment(name: &str, image: &str, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

/// A Job hook; `crash` makes its pod fail (KWOK stage), and with `backoffLimit: 0` the Job fails.
pub fn job(name: &str, annotations: Value, crash: bool) -> Value {
    let labels = if crash {
        json!({"tack.dev/simulate": "crash"})
    } else {
        json!({})
    };
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
}

pub async fn get(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<Option<Value>> {
    let k = cluster.resolve(api_version, kind).await?.context("kind")?;
    Ok(cluster.get(&k, ns, name).await?)
}

fn rv(o: &Value) -> u64 {
    o.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn image(d: &Value) -> &str {
    d.pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn opts(ns: &str) -> SyncOptions {
    SyncOptions {
        wave_timeout: Duration::from_secs(90),
        ..SyncOptions::new("phases", ns)
    }
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn waves_are_applied_in_order_each_healthy_before_the_next() -> Result<()> {
    let (cluster, ns) = setup("sync-waves").await?;
    let wave = |w: &str| json!({"argocd.argoproj.io/sync-wave": w});
    let objects = [
        cm("marker-2", wave("2")),
        deployment("app-1", "nginx:1", json!({"tack.dev/sync-wave": "1"})),
        cm("marker-1", wave("1")),
        deployment("app-0", "nginx:1", json!({})),
        cm("marker-0", json!({})),
        cm("marker-minus-1", wave("-1")),
    ];
    let lines = Lines::default();
    let report = sync(&cluster, manifests(&objects), &opts(ns.name()), &|l: &str| {
        lines.push(l)
    })
    .await?;
    assert_eq!(report.count(Action::Created), 6, "{report:#?}");
    let n = ns.name();
    let m = |name: &'static str| get(&cluster, "v1", "ConfigMap", n, name);
    let d = |name: &'static str| get(&cluster, "apps/v1", "Deployment", n, name);
    let (m_1, m0, m1, m2) = (
        m("marker-minus-1").await?.context("m-1")?,
        m("marker-0").await?.context("m0")?,
        m("marker-1").await?.context("m1")?,
        m("marker-2").await?.context("m2")?,
    );
    let (d0, d1) = (d("app-0").await?.context("d0")?, d("app-1").await?.context("d1")?);
    // The API server's revisions order every write: each wave was created after the previous one, and each
    // Deployment's last write (its status becoming Available) came before the next wave was created.
    assert!(rv(&m_1) < rv(&m0), "wave -1 before wave 0");
    assert!(
        rv(&d0) < rv(&m1),
        "app-0 ({}) healthy before wave 1 ({})",
        rv(&d0),
        rv(&m1)
    );
    assert!(
        rv(&d1) < rv(&m2),
        "app-1 ({}) healthy before wave 2 ({})",
        rv(&d1),
        rv(&m2)
    );
    let created = |o: &Value| {
        o.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    assert!(created(&m_1) <= created(&m0) && created(&m0) <= created(&m1) && created(&m1) <= created(&m2));
    for o in [&d0, &d1] {
        assert_eq!(
            tack_health::assess(o).status,
            tack_health::HealthStatus::Healthy,
            "{o:#}"
        );
    }
    // The output names each phase and wave, in order.
    let order = [
        "phase Sync, wave -1",
        "phase Sync, wave 0",
        "phase Sync, wave 0: healthy",
        "phase Sync, wave 1",
        "phase Sync, wave 1: healthy",
        "phase Sync, wave 2",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|o| {
            lines
                .position(o)
                .with_context(|| format!("no line `{o}` in {:#?}", lines.all()))
        })
        .collect::<Result<_>>()?;
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{:#?}", lines.all());
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_presync_hook_runs_before_the_deployment_changes_and_is_deleted_when_it_succeeded() -> Result<()> {
    let (cluster, ns) = setup("sync-presync").await?;
    let o = opts(ns.name());
    sync(
        &cluster,
        manifests(&[deployment("web", "nginx:1", json!({}))]),
        &o,
        &|_: &str| {},
    )
    .await?;
    let hook = job(
        "migrate",
        json!({"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
        false,
    );
    let lines = Lines::default();
    let report = sync(
        &cluster,
        manifests(&[deployment("web", "nginx:2", json!({})), hook]),
        &o,
        &|l: &str| lines.push(l),
    )
    .await?;
    assert_eq!(report.hooks.len(), 1, "{report:#?}");
    assert!(
        report.hooks[0].failure.is_none() && report.hooks[0].deleted,
        "{report:#?}"
    );
    assert_eq!(report.count(Action::Configured), 1);
    let ran = lines
        .position("PreSync hook Job.batch/migrate")
        .context("hook line")?;
    let changed = lines
        .position("configured Deployment.apps/web")
        .context("apply line")?;
    assert!(ran < changed, "{:#?}", lines.all());
    assert!(
        lines.all()[ran].contains("succeeded (deleted)"),
        "{:#?}",
        lines.all()
    );
    assert!(
        get(&cluster, "batch/v1", "Job", ns.name(), "migrate")
            .await?
            .is_none(),
        "hook not deleted"
    );
    let web = get(&cluster, "apps/v1", "Deployment", ns.name(), "web")
        .await?
        .context("web")?;
    assert_eq!(image(&web), "nginx:2");
    // Hooks are not part of the inventory.
    assert!(
        report.inventory.iter().all(|id| id.kind != "Job"),
        "{:?}",
        report.inventory
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_failing_presync_hook_leaves_the_deployment_unchanged_and_runs_the_syncfail_hook() -> Result<()> {
    let (cluster, ns) = setup("sync-presync-fail").await?;
    let o = opts(ns.name());
    sync(
        &cluster,
        manifests(&[deployment("web", "nginx:1", json!({}))]),
        &o,
        &|_: &str| {},
    )
    .await?;
    let objects = [
        deployment("web", "nginx:2", json!({})),
        job("migrate", json!({"argocd.argoproj.io/hook": "PreSync"}), true),
        job("notify", json!({"argocd.argoproj.io/hook": "SyncFail"}), false),
    ];
    let err = sync(&cluster, manifests(&objects), &o, &|_: &str| {})
        .await
        .expect_err("the PreSync hook fails");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            SyncError::Hook {
                phase: "PreSync",
                applied: false,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("PreSync hook Job.batch/migrate") && text.contains("app.yaml:11"),
        "{text}"
    );
    assert!(
        text.contains("BackoffLimitExceeded") || text.contains("job failed"),
        "{text}"
    );
    assert!(
        text.contains("SyncFail hook Job.batch/notify") && text.contains("succeeded"),
        "{text}"
    );
    let web = get(&cluster, "apps/v1", "Deployment", ns.name(), "web")
        .await?
        .context("web")?;
    assert_eq!(image(&web), "nginx:1", "the Deployment changed");
    let notify = get(&cluster, "batch/v1", "Job", ns.name(), "notify")
        .await?
        .context("SyncFail hook")?;
    assert_eq!(
        tack_health::assess(&notify).status,
        tack_health::HealthStatus::Healthy
    );
    // BeforeHookCreation (the default): the failed hook stays until the next sync replaces it.
    assert!(
        get(&cluster, "batch/v1", "Job", ns.name(), "migrate")
            .await?
            .is_some()
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn a_postsync_hook_runs_after_every_wave_is_healthy() -> Result<()> {
    let (cluster, ns) = setup("sync-postsync").await?;
    let objects = [
        deployment("app", "nginx:1", json!({})),
        deployment("late", "nginx:1", json!({"argocd.argoproj.io/sync-wave": "3"})),
        job("smoke", json!({"argocd.argoproj.io/hook": "PostSync"}), false),
    ];
    let lines = Lines::default();
    let report = sync(&cluster, manifests(&objects), &opts(ns.name()), &|l: &str| {
        lines.push(l)
    })
    .await?;
    assert_eq!(report.hooks.len(), 1, "{report:#?}");
    let smoke = get(&cluster, "batch/v1", "Job", ns.name(), "smoke")
        .await?
        .context("smoke")?;
    let late = get(&cluster, "apps/v1", "Deployment", ns.name(), "late")
        .await?
        .context("late")?;
    assert_eq!(
        tack_health::assess(&smoke).status,
        tack_health::HealthStatus::Healthy
    );
    assert_eq!(
        tack_health::assess(&late).status,
        tack_health::HealthStatus::Healthy
    );
    // The hook was created after the last wave became Available (the API server's timestamps, to the second).
    let available = late
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Available"))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .context("Available")?
        .to_string();
    let created = smoke
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .context("created")?;
    assert!(available.as_str() <= created, "{available} > {created}");
    let healthy = lines
        .position("phase Sync, wave 3: healthy")
        .context("wave 3 healthy")?;
    let post = lines
        .position("PostSync hooks, wave 0: running Job/smoke")
        .context("PostSync line")?;
    assert!(healthy < post, "{:#?}", lines.all());
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn before_hook_creation_replaces_the_previous_hook_and_generate_name_hooks_are_new_each_time()
-> Result<()> {
    let (cluster, ns) = setup("sync-bhc").await?;
    let mut seed = job("", json!({"argocd.argoproj.io/hook": "Sync"}), false);
    seed["metadata"]
        .as_object_mut()
        .context("metadata")?
        .remove("name");
    seed["metadata"]["generateName"] = json!("seed-");
    let objects = [
        cm("config", json!({})),
        job("migrate", json!({"argocd.argoproj.io/hook": "PreSync"}), false),
        seed,
    ];
    let o = opts(ns.name());
    let first = sync(&cluster, manifests(&objects), &o, &|_: &str| {}).await?;
    let uid = |j: &Value| {
        j.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let before = get(&cluster, "batch/v1", "Job", ns.name(), "migrate")
        .await?
        .context("migrate")?;
    let second = sync(&cluster, manifests(&objects), &o, &|_: &str| {}).await?;
    let after = get(&cluster, "batch/v1", "Job", ns.name(), "migrate")
        .await?
        .context("migrate")?;
    assert_ne!(uid(&before), uid(&after), "the hook was not created again");
    assert_eq!(
        tack_health::assess(&after).status,
        tack_health::HealthStatus::Healthy
    );
    let generated = |r: &tack_apply::SyncReport| {
        r.hooks
            .iter()
            .find(|h| h.id.name.starts_with("seed-"))
            .map(|h| h.id.name.clone())
    };
    let (a, b) = (
        generated(&first).context("seed 1")?,
        generated(&second).context("seed 2")?,
    );
    assert_ne!(a, b);
    assert!(get(&cluster, "batch/v1", "Job", ns.name(), &a).await?.is_some());
    Ok(())
}

#[tokio::test]
#[ignore = "needs the local control plane"]
async fn helm_hooks_run_in_weight_order_at_their_phase() -> Result<()> {
    let (cluster, ns) = setup("sync-helm-hooks").await?;
    // As `helm template` renders a chart's hooks: annotations only, no Argo CD ones.
    let objects = [
        job(
            "heavy",
            json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "5"}),
            false,
        ),
        job(
            "light",
            json!({"helm.sh/hook": "pre-upgrade,pre-install", "helm.sh/hook-weight": "-1",
            "helm.sh/hook-delete-policy": "hook-succeeded"}),
            false,
        ),
        job("after", json!({"helm.sh/hook": "post-install"}), false),
        job("test", json!({"helm.sh/hook": "test"}), false),
        cm("config", json!({})),
    ];
    let report = sync(&cluster, manifests(&objects), &opts(ns.name()), &|_: &str| {}).await?;
    let order: Vec<(String, &str)> = report
        .hooks
        .iter()
        .map(|h| (h.id.name.clone(), h.phase.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("light".to_string(), "PreSync"),
            ("heavy".to_string(), "PreSync"),
            ("after".to_string(), "PostSync")
        ]
    );
    assert!(
        get(&cluster, "batch/v1", "Job", ns.name(), "light")
            .await?
            .is_none(),
        "hook-succeeded"
    );
    assert!(
        get(&cluster, "batch/v1", "Job", ns.name(), "heavy")
            .await?
            .is_some()
    );
    assert!(
        get(&cluster, "batch/v1", "Job", ns.name(), "test")
            .await?
            .is_none(),
        "test hooks are not run"
    );
    Ok(())
}
