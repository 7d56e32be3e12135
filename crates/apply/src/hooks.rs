//! Sync hooks: objects annotated `argocd.argoproj.io/hook` or `helm.sh/hook` (classified by
//! [`tack_render::classify_hook`]) are taken out of the ordinary objects ([`split`]: never in the inventory, never
//! pruned) and run at their phase ([`run`]): per wave, each hook of the wave created (after deleting the previous
//! one under BeforeHookCreation; `generateName` hooks are created with a new name every time), then waited for
//! until it completes (tack-health: Healthy is success, Degraded is failure), then deleted as its delete policies
//! say.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::Value;
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind, Propagation};
use tack_health::{HealthStatus, assess_optional};
use tack_plan::ObjectId;
use tack_render::{
    DeletePolicy, HOOK_ANNOTATIONS, Hook, HookKind, HookPhase, Manifest, Origin, PackedManifest,
    classify_hook,
};

use crate::sync::SyncError;

/// One hook, ready to run.
#[derive(Clone, Debug)]
pub(crate) struct HookObject {
    pub object: Value,
    pub origin: Origin,
    pub hook: Hook,
    pub kind: Kind,
    pub namespace: String,
}

impl HookObject {
    fn name(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
    }
    fn kind_name(&self) -> &str {
        self.object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("object")
    }
    /// `Job/migrate` (or `Job/migrate-*` for a generateName hook not created yet).
    fn label(&self) -> String {
        match self.name() {
            Some(n) => format!("{}/{n}", self.kind_name()),
            None => format!(
                "{}/{}*",
                self.kind_name(),
                self.object
                    .pointer("/metadata/generateName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        }
    }
}

/// The hooks of a sync.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hooks {
    pub items: Vec<HookObject>,
}

impl Hooks {
    /// The waves of `phase`'s hooks, lowest first.
    pub fn waves(&self, phase: HookPhase) -> BTreeSet<i64> {
        self.items
            .iter()
            .filter(|h| h.hook.phases.contains(&phase))
            .map(|h| h.hook.wave)
            .collect()
    }
    pub fn has(&self, phase: HookPhase) -> bool {
        self.items.iter().any(|h| h.hook.phases.contains(&phase))
    }
}

/// How one hook ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookRun {
    /// The phase the hook ran in.
    pub phase: HookPhase,
    /// The hook object (with the name the API server gave a `generateName` hook).
    pub id: ObjectId,
    /// Where the hook is declared in Git (file:line).
    pub origin: Origin,
    /// `None`: succeeded; `Some(reason)`: failed.
    pub failure: Option<String>,
    /// Deleted after it ended (HookSucceeded, HookFailed).
    pub deleted: bool,
}

impl HookRun {
    /// `PreSync hook Job/migrate (file:line): failed: job failed: BackoffLimitExceeded: …`.
    pub fn line(&self) -> String {
        let what = match &self.failure {
            None => "succeeded".to_string(),
            Some(reason) => format!("failed: {reason}"),
        };
        let deleted = if self.deleted { " (deleted)" } else { "" };
        format!(
            "{} hook {} ({}): {what}{deleted}",
            self.phase.as_str(),
            self.id.human(),
            self.origin
        )
    }
}

/// A hook manifest and what its annotations say.
pub(crate) type HookManifest = (Manifest, Hook);

/// Takes the hooks out of `manifests`: ordinary objects, and hooks to run. Skipped and unsupported hooks are
/// dropped with a progress line; a hook annotation that is not understood is an error naming the file and line.
pub(crate) fn split(
    manifests: Vec<PackedManifest>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(Vec<PackedManifest>, Vec<HookManifest>), SyncError> {
    let mut ordinary = Vec::with_capacity(manifests.len());
    let mut hooks = Vec::new();
    let mut errors = Vec::new();
    for m in manifests {
        // An object that does not mention a hook annotation is not a hook: no need to read it back.
        if !HOOK_ANNOTATIONS.iter().any(|k| m.object.mentions(k)) {
            ordinary.push(m);
            continue;
        }
        match classify_hook(&m.object.value()) {
            Ok(None) => ordinary.push(m),
            Ok(Some(HookKind::Run(h))) => hooks.push((m.unpack(), h)),
            Ok(Some(HookKind::Skip { why })) => progress(&format!("{}: not applied ({why})", m.origin)),
            Ok(Some(HookKind::Unsupported { what })) => {
                progress(&format!("warning: {}: not applied: {what}", m.origin))
            }
            Err(e) => errors.push(format!("{}: {e}", m.origin)),
        }
    }
    if !errors.is_empty() {
        return Err(SyncError::HookSpec { failures: errors });
    }
    Ok((ordinary, hooks))
}

/// The manifests without their hooks (for comparisons: hooks are not compared with the cluster).
pub fn without_hooks(manifests: Vec<Manifest>) -> Vec<Manifest> {
    manifests
        .into_iter()
        .filter(|m| matches!(classify_hook(&m.object), Ok(None)))
        .collect()
}

/// [`without_hooks`] of manifests kept compact.
pub fn without_hooks_packed(manifests: Vec<PackedManifest>) -> Vec<PackedManifest> {
    manifests
        .into_iter()
        .filter(|m| {
            !HOOK_ANNOTATIONS.iter().any(|k| m.object.mentions(k))
                || matches!(classify_hook(&m.object.value()), Ok(None))
        })
        .collect()
}

/// Resolves each hook's kind and namespace (namespaced hooks without one go to `namespace`).
pub(crate) async fn resolve(
    cluster: &Cluster,
    hooks: Vec<HookManifest>,
    namespace: &str,
) -> Result<Hooks, SyncError> {
    let mut items = Vec::with_capacity(hooks.len());
    let mut errors = Vec::new();
    for (Manifest { mut object, origin }, hook) in hooks {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let kind_name = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let named = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty())
            || object
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
        if !named {
            errors.push(format!(
                "{origin}: the hook has neither metadata.name nor metadata.generateName"
            ));
            continue;
        }
        let Some(kind) = cluster.resolve(&api_version, &kind_name).await? else {
            errors.push(format!(
                "{origin}: hook {kind_name} ({api_version}) is not a resource type this cluster serves"
            ));
            continue;
        };
        let ns = if kind.namespaced {
            let ns = object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace)
                .to_string();
            object["metadata"]["namespace"] = Value::String(ns.clone());
            ns
        } else {
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            String::new()
        };
        items.push(HookObject {
            object,
            origin,
            hook,
            kind,
            namespace: ns,
        });
    }
    if !errors.is_empty() {
        return Err(SyncError::HookSpec { failures: errors });
    }
    Ok(Hooks { items })
}

/// Runs the hooks of `phase` in `waves` (every wave when `None`), wave after wave; the hooks of one wave run
/// concurrently. Stops after the first wave with a failed hook; returns every hook run, and whether one failed.
pub(crate) async fn run(
    cluster: &Cluster,
    hooks: &Hooks,
    phase: HookPhase,
    waves: Option<&[i64]>,
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> (Vec<HookRun>, bool) {
    let mut runs = Vec::new();
    for wave in hooks.waves(phase) {
        if waves.is_some_and(|w| !w.contains(&wave)) {
            continue;
        }
        let batch: Vec<&HookObject> = hooks
            .items
            .iter()
            .filter(|h| h.hook.wave == wave && h.hook.phases.contains(&phase))
            .collect();
        let labels: Vec<String> = batch.iter().map(|h| h.label()).collect();
        progress(&format!(
            "{} hooks, wave {wave}: running {}",
            phase.as_str(),
            labels.join(", ")
        ));
        // The hooks of one wave are few: all at once.
        let done: Vec<HookRun> =
            futures::future::join_all(batch.into_iter().map(|h| run_one(cluster, h, phase, timeout))).await;
        let failed = done.iter().any(|r| r.failure.is_some());
        for r in &done {
            progress(&r.line());
        }
        runs.extend(done);
        if failed {
            return (runs, true);
        }
    }
    (runs, false)
}

async fn run_one(cluster: &Cluster, h: &HookObject, phase: HookPhase, timeout: Duration) -> HookRun {
    let mut run = HookRun {
        phase,
        id: ObjectId::new(
            &h.kind.resource.group,
            h.kind_name(),
            &h.namespace,
            h.name().unwrap_or_default(),
        ),
        origin: h.origin.clone(),
        failure: None,
        deleted: false,
    };
    let outcome = async {
        let name = create(cluster, h, timeout).await?;
        run.id.name = name.clone();
        wait(cluster, h, &name, timeout).await
    }
    .await;
    run.failure = match outcome {
        Ok(result) => result,
        Err(e) => Some(e.to_string()),
    };
    let delete = match run.failure {
        None => h.hook.delete_policies.contains(&DeletePolicy::HookSucceeded),
        Some(_) => h.hook.delete_policies.contains(&DeletePolicy::HookFailed),
    };
    if delete && !run.id.name.is_empty() {
        match cluster
            .delete(&h.kind, &h.namespace, &run.id.name, Propagation::Background)
            .await
        {
            Ok(_) => run.deleted = true,
            Err(e) => {
                let note = format!("could not be deleted: {e}");
                run.failure = Some(match run.failure.take() {
                    Some(f) => format!("{f}; {note}"),
                    None => note,
                });
            }
        }
    }
    run
}

/// Creates the hook (deleting the previous one first under BeforeHookCreation); its name.
async fn create(cluster: &Cluster, h: &HookObject, timeout: Duration) -> Result<String, ClusterError> {
    let Some(name) = h.name() else {
        let api: Api<DynamicObject> = if h.kind.namespaced {
            Api::namespaced_with(cluster.client().clone(), &h.namespace, &h.kind.resource)
        } else {
            Api::all_with(cluster.client().clone(), &h.kind.resource)
        };
        let object: DynamicObject =
            serde_json::from_value(h.object.clone()).map_err(|e| ClusterError::Decode {
                what: h.label(),
                message: e.to_string(),
            })?;
        let created = api
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| crate::waves::kube_error(e, &h.label(), false))?;
        return Ok(created.metadata.name.unwrap_or_default());
    };
    if h.hook.delete_policies.contains(&DeletePolicy::BeforeHookCreation)
        && cluster
            .delete(&h.kind, &h.namespace, name, Propagation::Background)
            .await?
    {
        let deadline = tokio::time::Instant::now() + timeout;
        while cluster.get(&h.kind, &h.namespace, name).await?.is_some() {
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("the previous {} to be deleted", h.label()),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    cluster
        .apply(
            &h.kind,
            &h.object,
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await?;
    Ok(name.to_string())
}

/// Waits until the hook completes: `Ok(None)` when it succeeded, `Ok(Some(reason))` when it failed or did not
/// finish in time.
async fn wait(
    cluster: &Cluster,
    h: &HookObject,
    name: &str,
    timeout: Duration,
) -> Result<Option<String>, ClusterError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let live = cluster.get(&h.kind, &h.namespace, name).await?;
        let Some(live) = live else {
            return Ok(Some("deleted before it completed".into()));
        };
        let health = assess_optional(Some(&live));
        match health.status {
            HealthStatus::Healthy => return Ok(None),
            HealthStatus::Degraded => return Ok(Some(health.message)),
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Some(format!(
                "not completed after {timeout:?} ({}: {})",
                health.status.as_str(),
                health.message
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The hooks a dry run would run, one line per phase.
pub(crate) fn planned(hooks: &Hooks) -> Vec<String> {
    [
        HookPhase::PreSync,
        HookPhase::Sync,
        HookPhase::PostSync,
        HookPhase::SyncFail,
    ]
    .into_iter()
    .filter(|p| hooks.has(*p))
    .map(|p| {
        let names: Vec<String> = hooks
            .items
            .iter()
            .filter(|h| h.hook.phases.contains(&p))
            .map(|h| format!("{} (wave {})", h.label(), h.hook.wave))
            .collect();
        format!("{} hooks that would run: {}", p.as_str(), names.join(", "))
    })
    .collect()
}
