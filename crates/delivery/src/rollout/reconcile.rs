//! One reconcile of one Rollout (see the module documentation of [`super`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, Patch, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tack_rollout::conditions;
use tack_rollout::history::{RunRecord, runs_to_delete};
use tack_rollout::restart::{RestartPod, RestartStep, restart_step};
use tack_rollout::spec::{Rollout, RolloutStatus};
use tack_rollout::{Action, Decision, Observed, POD_TEMPLATE_HASH_LABEL, SCALE_DOWN_DEADLINE_ANNOTATION};
use tack_traffic::Weights;

use super::analysis::{NewRun, create_run, terminate_run};
use super::observe::{
    observe_analysis_runs, observe_experiments, observe_replica_sets, owned_by, pod_failures,
    runs_of_revision,
};
use super::replicasets::{
    NewReplicaSet, hash, history_to_delete, new_replica_set, replica_set_name, revision,
};
use super::routers::{apply_routers, apply_services};
use super::{
    Context, Error, RESYNC, REVISION_ANNOTATION, analysis_run_resource, merge_params, rollout_resource,
};

/// Reconciles one Rollout; Warning Events carry the reason of a failure.
pub(crate) async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    match reconcile_inner(&obj, &ctx).await {
        Ok(a) => Ok(a),
        Err(e) => {
            if matches!(e, Error::Traffic { .. } | Error::InvalidSpec { .. }) {
                let reason = match e {
                    Error::Traffic { .. } => "TrafficRoutingError",
                    _ => "InvalidSpec",
                };
                publish(&ctx, &obj, EventType::Warning, reason, e.to_string()).await;
            }
            Err(e)
        }
    }
}

/// Conflicts retry at once; other failures after a few seconds.
pub(crate) fn error_policy(_obj: Arc<DynamicObject>, e: &Error, _ctx: Arc<Context>) -> Requeue {
    match e {
        Error::Conflict(_) => Requeue::requeue(Duration::from_millis(300)),
        other => {
            tracing::warn!("{other}");
            Requeue::requeue(Duration::from_secs(5))
        }
    }
}

async fn publish(ctx: &Context, obj: &DynamicObject, type_: EventType, reason: &str, note: String) {
    let ev = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1000).collect()),
        action: reason.to_string(),
        secondary: None,
    };
    if let Err(e) = ctx
        .recorder
        .publish(&ev, &obj.object_ref(&rollout_resource()))
        .await
    {
        tracing::debug!("cannot publish event {reason}: {e}");
    }
}

/// `k=v,k2=v2` of `spec.selector.matchLabels`.
fn selector_string(selector: Option<&Value>) -> String {
    selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Whether every field of `want` equals the live status (a `null` in `want` equals an absent field).
fn status_matches(live: Option<&Value>, want: &Value) -> bool {
    let Some(want) = want.as_object() else {
        return false;
    };
    want.iter().all(|(k, v)| {
        let l = live.and_then(|l| l.get(k)).unwrap_or(&Value::Null);
        strip_nulls(l) == strip_nulls(v)
    })
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// The Rollout being reconciled: the fresh object, its JSON, and its parsed spec (with `workloadRef` resolved).
struct Target<'a> {
    ctx: &'a Context,
    /// `metadata.generation` of the `workloadRef` Deployment whose template is used.
    workload_generation: Option<i64>,
    api: Api<DynamicObject>,
    obj: DynamicObject,
    raw: Value,
    rollout: Rollout,
    name: String,
    ns: String,
    uid: String,
}

impl Target<'_> {
    async fn publish(&self, type_: EventType, reason: &str, note: String) {
        publish(self.ctx, &self.obj, type_, reason, note).await;
    }

    fn client(&self) -> &kube::Client {
        &self.ctx.client
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.client().clone(), &self.ns)
    }
}

/// What the reconcile saw of the Rollout's ReplicaSets and AnalysisRuns.
struct Seen {
    owned: Vec<ReplicaSet>,
    /// Every AnalysisRun of the Rollout, of every revision.
    runs: Vec<DynamicObject>,
    observed: Observed,
    selector: String,
    /// The revision of the current template.
    revision: Option<String>,
}

/// One reconcile, as named steps: read → resolve `workloadRef` → observe → decide → restart pods → ReplicaSets
/// → actions → Services → status → traffic routers → history.
async fn reconcile_inner(cached: &DynamicObject, ctx: &Context) -> Result<Requeue, Error> {
    let mut t = match read_rollout(cached, ctx).await? {
        Read::Gone => return Ok(Requeue::await_change()),
        Read::Invalid(t, message) => return degraded(&t, message).await,
        Read::Rollout(t) => *t,
    };
    let seen = observe(&t).await?;
    set_revision(&mut t.rollout, seen.revision.as_deref());
    let mut decision = match tack_rollout::reconcile(&t.rollout, &seen.observed) {
        Ok(d) => d,
        Err(e) => return degraded(&t, e.to_string()).await,
    };
    decision.status.workload_observed_generation = t.workload_generation.map(|g| g.to_string());
    if t.rollout.spec.restart_at.is_some() {
        restart_pods(&t, &seen, &mut decision).await?;
    }
    match sync_replica_sets(&t, &seen.owned, &decision).await? {
        None => {}
        Some(Stop::Requeue(requeue)) => return Ok(requeue),
        Some(Stop::Invalid(message)) => return degraded(&t, message).await,
    }
    run_actions(&t, &seen.owned, &decision).await?;
    switch_services(&t, &decision).await?;
    write_status(&t, &decision, &seen.selector).await?;
    scale_down_workload(&t, seen.revision.as_deref(), &decision.status).await?;
    set_routers(&t, &decision).await?;
    prune_history(&t, &seen.owned, &decision).await?;
    prune_runs(&t, &seen, &decision).await?;
    annotate_revision(&t, seen.revision.as_deref()).await?;
    Ok(Requeue::requeue(
        decision.requeue_after.unwrap_or(RESYNC).min(RESYNC),
    ))
}

enum Read<'a> {
    /// Deleted, or being deleted.
    Gone,
    /// A spec the controller cannot act on, with the message for the Degraded status.
    Invalid(Box<Target<'a>>, String),
    Rollout(Box<Target<'a>>),
}

/// A fresh read (decisions and router weights never come from a stale cache), parsed, with the `workloadRef`
/// Deployment's pod template (and selector, when the Rollout has none) filled in.
async fn read_rollout<'a>(cached: &DynamicObject, ctx: &'a Context) -> Result<Read<'a>, Error> {
    let name = cached.name_any();
    let ns = cached.namespace().unwrap_or_default();
    let api = super::rollouts(&ctx.client, &ns);
    let Some(obj) = api
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!("reading Rollout {ns}/{name}")))?
    else {
        return Ok(Read::Gone);
    };
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Read::Gone);
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let raw = serde_json::to_value(&obj).map_err(|e| Error::InvalidSpec {
        name: name.clone(),
        message: e.to_string(),
    })?;
    let parsed: Result<Rollout, _> = serde_json::from_value(raw.clone());
    let mut t = Box::new(Target {
        ctx,
        workload_generation: None,
        api,
        obj,
        raw,
        rollout: Rollout::default(),
        name,
        ns,
        uid,
    });
    t.rollout = match parsed {
        Ok(r) => r,
        Err(e) => return Ok(Read::Invalid(t, e.to_string())),
    };
    // Refused before anything is created and before any traffic moves.
    if let Some(message) = tack_rollout::validate::invalid_spec(&t.rollout) {
        return Ok(Read::Invalid(t, message));
    }
    if let Some(st) = t.rollout.status.as_mut() {
        conditions::remove(st, conditions::types::INVALID_SPEC);
    }
    if let Err(message) = resolve_workload_ref(&mut t).await? {
        return Ok(Read::Invalid(t, message));
    }
    Ok(Read::Rollout(t))
}

/// `workloadRef`: the Deployment's pod template, and its selector when the Rollout has none. The inner error
/// is the message of a spec that cannot be acted on.
async fn resolve_workload_ref(t: &mut Target<'_>) -> Result<Result<(), String>, Error> {
    if t.rollout.spec.template.is_some() {
        return Ok(Ok(()));
    }
    let Some(w) = t.rollout.spec.workload_ref.clone() else {
        return Ok(Ok(()));
    };
    let ns = &t.ns;
    let deployments: Api<Deployment> = Api::namespaced(t.client().clone(), ns);
    let Some(dep) = deployments
        .get_opt(&w.name)
        .await
        .map_err(Error::kube(format!("reading Deployment {ns}/{}", w.name)))?
    else {
        return Ok(Err(format!(
            "workloadRef Deployment {:?} not found in namespace {ns}",
            w.name
        )));
    };
    t.workload_generation = dep.metadata.generation;
    let spec = dep.spec.unwrap_or_default();
    t.rollout.spec.template = Some(serde_json::to_value(&spec.template).unwrap_or(Value::Null));
    if t.rollout.spec.selector.is_none() {
        t.rollout.spec.selector = serde_json::to_value(&spec.selector).ok();
    }
    Ok(Ok(()))
}

/// `workloadRef.scaleDown: onsuccess`: the referenced Deployment scaled to zero once the first revision is
/// Healthy ([`tack_rollout::workload::deployment_replicas`]).
async fn scale_down_workload(
    t: &Target<'_>,
    revision: Option<&str>,
    status: &RolloutStatus,
) -> Result<(), Error> {
    let (Some(w), Some(replicas)) = (
        t.rollout.spec.workload_ref.as_ref(),
        tack_rollout::workload::deployment_replicas(&t.rollout, revision, status),
    ) else {
        return Ok(());
    };
    let ns = &t.ns;
    let deployments: Api<Deployment> = Api::namespaced(t.client().clone(), ns);
    let Some(dep) = deployments
        .get_opt(&w.name)
        .await
        .map_err(Error::kube(format!("reading Deployment {ns}/{}", w.name)))?
    else {
        return Ok(());
    };
    let current = dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if current == replicas {
        return Ok(());
    }
    deployments
        .patch(
            &w.name,
            &merge_params(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .map_err(Error::kube(format!("scaling Deployment {ns}/{}", w.name)))?;
    t.publish(
        EventType::Normal,
        "ScalingDeployment",
        format!(
            "Scaled Deployment {} from {current} to {replicas} (workloadRef.scaleDown: onsuccess)",
            w.name
        ),
    )
    .await;
    Ok(())
}

/// The Rollout's ReplicaSets and AnalysisRuns, and the crashed pods of the new (canary / preview) ReplicaSet.
async fn observe(t: &Target<'_>) -> Result<Seen, Error> {
    let (ns, name) = (&t.ns, &t.name);
    let selector = selector_string(t.rollout.spec.selector.as_ref());
    let owned: Vec<ReplicaSet> = t
        .rs_api()
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(Error::kube(format!("listing ReplicaSets of Rollout {ns}/{name}")))?
        .items
        .into_iter()
        .filter(|rs| owned_by(rs.metadata.owner_references.as_ref(), &t.uid))
        .collect();
    let runs_api: Api<DynamicObject> = Api::namespaced_with(t.client().clone(), ns, &analysis_run_resource());
    let runs = runs_api
        .list(&ListParams::default().labels(POD_TEMPLATE_HASH_LABEL))
        .await
        .map_err(Error::kube(format!(
            "listing AnalysisRuns of Rollout {ns}/{name}"
        )))?
        .items;
    let ex_api: Api<DynamicObject> =
        Api::namespaced_with(t.client().clone(), ns, &crate::experiment::resource());
    let experiments = ex_api
        .list(&ListParams::default().labels(POD_TEMPLATE_HASH_LABEL))
        .await
        .map_err(Error::kube(format!("listing Experiments of Rollout {ns}/{name}")))?
        .items;
    let experiments = observe_experiments(&experiments, &t.uid);
    let mut replica_sets = observe_replica_sets(&owned, &t.uid);
    let revision = t
        .rollout
        .spec
        .template
        .as_ref()
        .map(|tpl| current_revision(&owned, &tack_rollout::pod_template_hash(tpl)).to_string());
    let runs: Vec<DynamicObject> = runs
        .into_iter()
        .filter(|r| owned_by(r.metadata.owner_references.as_ref(), &t.uid))
        .collect();
    let of_revision = match &revision {
        Some(rev) => runs_of_revision(&runs, rev),
        None => runs.clone(),
    };
    if let Some(template) = t.rollout.spec.template.as_ref() {
        let current = tack_rollout::pod_template_hash(template);
        let updating = t
            .rollout
            .status
            .as_ref()
            .and_then(|s| s.stable_rs.as_deref())
            .is_some_and(|s| s != current);
        let rs = owned.iter().find(|rs| hash(rs) == Some(current.as_str()));
        if updating
            && let Some(rs_uid) = rs.and_then(|rs| rs.metadata.uid.clone())
            && let Some(obs) = replica_sets.iter_mut().find(|o| o.pod_template_hash == current)
        {
            let pods: Api<Pod> = Api::namespaced(t.client().clone(), ns);
            let list = pods
                .list(&ListParams::default().labels(&format!("{POD_TEMPLATE_HASH_LABEL}={current}")))
                .await
                .map_err(Error::kube(format!("listing pods of Rollout {ns}/{name}")))?;
            obs.failed_pods = pod_failures(&list.items, &rs_uid);
        }
    }
    let observed = Observed {
        replica_sets,
        analysis_runs: observe_analysis_runs(&of_revision, &t.uid),
        experiments,
        now: jiff::Timestamp::now(),
    };
    Ok(Seen {
        owned,
        runs,
        observed,
        selector,
        revision,
    })
}

/// `spec.restartAt`: one pod at a time.
async fn restart_pods(t: &Target<'_>, seen: &Seen, decision: &mut Decision) -> Result<(), Error> {
    let (ns, name) = (&t.ns, &t.name);
    let pods: Api<Pod> = Api::namespaced(t.client().clone(), ns);
    let rs_uids: Vec<&str> = seen
        .owned
        .iter()
        .filter_map(|rs| rs.metadata.uid.as_deref())
        .collect();
    let list = pods
        .list(&ListParams::default().labels(&seen.selector))
        .await
        .map_err(Error::kube(format!("listing pods of Rollout {ns}/{name}")))?;
    let restart_pods: Vec<RestartPod> = list
        .items
        .iter()
        .filter(|p| {
            rs_uids
                .iter()
                .any(|u| owned_by(p.metadata.owner_references.as_ref(), u))
        })
        .filter_map(|p| {
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let terminating = p.metadata.deletion_timestamp.is_some();
            Some(RestartPod {
                name: p.metadata.name.clone()?,
                created_at: p.metadata.creation_timestamp.as_ref()?.0,
                available: ready && !terminating,
                terminating,
            })
        })
        .collect();
    let step =
        restart_step(&t.rollout, &restart_pods, seen.observed.now).map_err(|e| Error::InvalidSpec {
            name: name.clone(),
            message: e.to_string(),
        })?;
    let soon = |d: Duration| Some(decision.requeue_after.map_or(d, |r| r.min(d)));
    match step {
        RestartStep::Idle => {}
        RestartStep::Wait(d) => decision.requeue_after = soon(d),
        RestartStep::Delete(pod) => {
            crate::unless_gone(pods.delete(&pod, &Default::default()).await).map_err(|source| {
                Error::Kube {
                    what: format!("restarting pod {ns}/{pod}"),
                    source,
                }
            })?;
            t.publish(
                EventType::Normal,
                "RestartingPod",
                format!("Restarting pod {pod} (created before spec.restartAt)"),
            )
            .await;
            decision.requeue_after = soon(Duration::from_secs(1));
        }
        RestartStep::Done(at) => decision.status.restarted_at = Some(at),
    }
    Ok(())
}

/// Why the reconcile stops after the ReplicaSets.
enum Stop {
    /// A ReplicaSet to create already exists but was not listed (another owner, or a race): the next
    /// reconcile sees it.
    Requeue(Requeue),
    /// The API server refused the ReplicaSet of the pod template: the spec is invalid.
    Invalid(String),
}

/// Creates and scales the ReplicaSets as decided; a template seen before (undo) becomes the newest revision
/// again.
async fn sync_replica_sets(
    t: &Target<'_>,
    owned: &[ReplicaSet],
    decision: &Decision,
) -> Result<Option<Stop>, Error> {
    let max_rev = owned.iter().map(revision).max().unwrap_or(0);
    for want in &decision.replica_sets {
        let live = owned
            .iter()
            .find(|rs| hash(rs) == Some(want.pod_template_hash.as_str()));
        match live {
            None if want.pod_template_hash == decision.pod_template_hash => {
                if let Some(stop) = create_replica_set(t, want, &decision.status, max_rev + 1).await? {
                    return Ok(Some(stop));
                }
            }
            None => {}
            Some(rs) => {
                scale_replica_set(t, rs, want.replicas).await?;
                sync_ephemeral_metadata(t, rs, want, &decision.status).await?;
                // Only the stable (active) version is kept at full size for good: a canary scaled down after an
                // abort, or a preview, keeps the deadline the strategy set on it.
                if want.role == tack_rollout::Role::Stable {
                    clear_scale_down_deadline(t, rs).await?;
                }
                if want.pod_template_hash == decision.pod_template_hash && revision(rs) < max_rev {
                    let patch = json!({"metadata": {"annotations": {REVISION_ANNOTATION: (max_rev + 1).to_string()}}});
                    let rs_name = rs.name_any();
                    t.rs_api()
                        .patch(&rs_name, &merge_params(), &Patch::Merge(patch))
                        .await
                        .map_err(Error::kube(format!("annotating ReplicaSet {}/{rs_name}", t.ns)))?;
                }
            }
        }
    }
    Ok(None)
}

/// Creates the ReplicaSet of the current template.
async fn create_replica_set(
    t: &Target<'_>,
    want: &tack_rollout::DesiredReplicaSet,
    status: &RolloutStatus,
    revision: i64,
) -> Result<Option<Stop>, Error> {
    let Some(template) = t.rollout.spec.template.as_ref() else {
        return Ok(None);
    };
    let rs = new_replica_set(&NewReplicaSet {
        rollout: &t.name,
        rollout_uid: &t.uid,
        namespace: &t.ns,
        template,
        selector: t.rollout.spec.selector.as_ref(),
        hash: &want.pod_template_hash,
        replicas: want.replicas,
        revision,
        min_ready_seconds: t.rollout.spec.min_ready_seconds,
        ephemeral: tack_rollout::ephemeral::for_replica_set(
            &t.rollout,
            status,
            want.role,
            &want.pod_template_hash,
        ),
        affinity: tack_rollout::affinity::replica_set_affinity(
            &t.rollout,
            template,
            &want.pod_template_hash,
            status.stable_rs.as_deref(),
            &t.ns,
        ),
    });
    let rs: ReplicaSet = match serde_json::from_value(rs) {
        Ok(rs) => rs,
        Err(e) => return Ok(Some(Stop::Invalid(format!("spec.template: {e}")))),
    };
    let rs_name = replica_set_name(&t.name, &want.pod_template_hash);
    match t.rs_api().create(&PostParams::default(), &rs).await {
        Ok(_) => {
            t.publish(
                EventType::Normal,
                "NewReplicaSetCreated",
                format!(
                    "Created ReplicaSet {rs_name} (revision {revision}) with {} replicas",
                    want.replicas
                ),
            )
            .await;
            Ok(None)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            Ok(Some(Stop::Requeue(Requeue::requeue(Duration::from_secs(1)))))
        }
        // The pod template does not validate (e.g. a container without an image).
        Err(kube::Error::Api(s)) if s.code == 422 || s.code == 400 => Ok(Some(Stop::Invalid(format!(
            "spec.template: the API server refused the ReplicaSet: {}",
            s.message
        )))),
        Err(e) => Err(Error::Kube {
            what: format!("creating ReplicaSet {}/{rs_name}", t.ns),
            source: e,
        }),
    }
}

/// `canaryMetadata` / `stableMetadata` / `activeMetadata` / `previewMetadata`: the ReplicaSet's pod template
/// and its existing pods get the ephemeral labels and annotations of its role, in place (no restart), and lose
/// those of its former role.
async fn sync_ephemeral_metadata(
    t: &Target<'_>,
    rs: &ReplicaSet,
    want: &tack_rollout::DesiredReplicaSet,
    status: &RolloutStatus,
) -> Result<(), Error> {
    use tack_rollout::ephemeral::{
        EPHEMERAL_METADATA_ANNOTATION, for_replica_set, in_use, managed, metadata_patch, record, recorded,
    };
    if !managed(want.role) {
        return Ok(());
    }
    let annotation = rs
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(EPHEMERAL_METADATA_ANNOTATION));
    if !in_use(&t.rollout) && annotation.is_none() {
        return Ok(());
    }
    let want = for_replica_set(&t.rollout, status, want.role, &want.pod_template_hash)
        .cloned()
        .unwrap_or_default();
    let applied = recorded(annotation.map(String::as_str));
    let template_meta = t
        .rollout
        .spec
        .template
        .as_ref()
        .and_then(|tpl| tpl.get("metadata"));
    let Some(patch) = metadata_patch(&applied, &want, template_meta) else {
        return Ok(());
    };
    let rs_name = rs.name_any();
    let rs_patch = json!({
        "metadata": {"annotations": {EPHEMERAL_METADATA_ANNOTATION: record(&want)}},
        "spec": {"template": {"metadata": patch}},
    });
    t.rs_api()
        .patch(&rs_name, &merge_params(), &Patch::Merge(&rs_patch))
        .await
        .map_err(Error::kube(format!(
            "updating the pod metadata of ReplicaSet {}/{rs_name}",
            t.ns
        )))?;
    let (Some(rs_uid), Some(h)) = (rs.metadata.uid.as_deref(), hash(rs)) else {
        return Ok(());
    };
    let pods: Api<Pod> = Api::namespaced(t.client().clone(), &t.ns);
    let list = pods
        .list(&ListParams::default().labels(&format!("{POD_TEMPLATE_HASH_LABEL}={h}")))
        .await
        .map_err(Error::kube(format!(
            "listing pods of ReplicaSet {}/{rs_name}",
            t.ns
        )))?;
    let pod_patch = json!({"metadata": patch});
    for pod in list
        .items
        .iter()
        .filter(|p| owned_by(p.metadata.owner_references.as_ref(), rs_uid))
    {
        let pod_name = pod.name_any();
        let patched = pods
            .patch(&pod_name, &merge_params(), &Patch::Merge(&pod_patch))
            .await;
        crate::unless_gone(patched).map_err(|source| Error::Kube {
            what: format!("updating the metadata of pod {}/{pod_name}", t.ns),
            source,
        })?;
    }
    Ok(())
}

/// A ReplicaSet in use again (a fast rollback, an undo) loses the scale-down deadline of its former delay.
async fn clear_scale_down_deadline(t: &Target<'_>, rs: &ReplicaSet) -> Result<(), Error> {
    let has = rs
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(SCALE_DOWN_DEADLINE_ANNOTATION));
    if !has {
        return Ok(());
    }
    let rs_name = rs.name_any();
    let patch = json!({"metadata": {"annotations": {SCALE_DOWN_DEADLINE_ANNOTATION: null}}});
    t.rs_api()
        .patch(&rs_name, &merge_params(), &Patch::Merge(patch))
        .await
        .map_err(Error::kube(format!("annotating ReplicaSet {}/{rs_name}", t.ns)))?;
    Ok(())
}

async fn scale_replica_set(t: &Target<'_>, rs: &ReplicaSet, replicas: i32) -> Result<(), Error> {
    let current = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if current == replicas {
        return Ok(());
    }
    let rs_name = rs.name_any();
    t.rs_api()
        .patch(
            &rs_name,
            &merge_params(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .map_err(Error::kube(format!("scaling ReplicaSet {}/{rs_name}", t.ns)))?;
    t.publish(
        EventType::Normal,
        "ScalingReplicaSet",
        format!("Scaled ReplicaSet {rs_name} from {current} to {replicas}"),
    )
    .await;
    Ok(())
}

/// Puts the revision into the parsed Rollout's annotations, where the state machine reads it.
fn set_revision(rollout: &mut Rollout, revision: Option<&str>) {
    let Some(rev) = revision else {
        return;
    };
    if !rollout.metadata.is_object() {
        rollout.metadata = json!({});
    }
    if !rollout.metadata.get("annotations").is_some_and(Value::is_object) {
        rollout.metadata["annotations"] = json!({});
    }
    rollout.metadata["annotations"][REVISION_ANNOTATION] = json!(rev);
}

/// Records the revision on the Rollout object, as Argo Rollouts does (`kubectl argo rollouts get` and
/// `tack rollout get` show it).
async fn annotate_revision(t: &Target<'_>, revision: Option<&str>) -> Result<(), Error> {
    let Some(rev) = revision else {
        return Ok(());
    };
    let live = t
        .obj
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION));
    if live.map(String::as_str) == Some(rev) {
        return Ok(());
    }
    let patch = json!({"metadata": {"annotations": {REVISION_ANNOTATION: rev}}});
    t.api
        .patch(&t.name, &merge_params(), &Patch::Merge(&patch))
        .await
        .map_err(Error::kube(format!("annotating Rollout {}/{}", t.ns, t.name)))?;
    Ok(())
}

/// The revision of the current template: its ReplicaSet's, or the next one when it is new or comes back.
fn current_revision(owned: &[ReplicaSet], pod_template_hash: &str) -> i64 {
    let max_rev = owned.iter().map(revision).max().unwrap_or(0);
    owned
        .iter()
        .find(|rs| hash(rs) == Some(pod_template_hash))
        .map(revision)
        .filter(|r| *r == max_rev)
        .unwrap_or(max_rev + 1)
}

/// Scale-down deadlines, AnalysisRuns to create or stop, and the Events of aborts and completions.
async fn run_actions(t: &Target<'_>, owned: &[ReplicaSet], decision: &Decision) -> Result<(), Error> {
    let rollout_revision = current_revision(owned, &decision.pod_template_hash).to_string();
    for action in &decision.actions {
        match action {
            Action::SetScaleDownDeadline {
                pod_template_hash,
                at,
            } => {
                if let Some(rs) = owned
                    .iter()
                    .find(|rs| hash(rs) == Some(pod_template_hash.as_str()))
                {
                    let patch = json!({"metadata": {"annotations": {SCALE_DOWN_DEADLINE_ANNOTATION: at.to_string()}}});
                    t.rs_api()
                        .patch(&rs.name_any(), &merge_params(), &Patch::Merge(patch))
                        .await
                        .map_err(Error::kube(format!(
                            "annotating ReplicaSet {}/{}",
                            t.ns,
                            rs.name_any()
                        )))?;
                }
            }
            Action::CreateAnalysisRun {
                name: run,
                kind,
                pod_template_hash,
                analysis,
            } => {
                let new = NewRun {
                    name: run,
                    namespace: &t.ns,
                    rollout: &t.name,
                    rollout_uid: &t.uid,
                    kind: *kind,
                    hash: pod_template_hash,
                    revision: Some(&rollout_revision),
                };
                if create_run(t.client(), &new, &t.raw, &t.rollout, analysis).await? {
                    t.publish(
                        EventType::Normal,
                        "AnalysisRunCreated",
                        format!("Created AnalysisRun {run}"),
                    )
                    .await;
                }
            }
            Action::TerminateAnalysisRun { name: run } => terminate_run(t.client(), &t.ns, run).await?,
            Action::CreateExperiment {
                name: ex,
                pod_template_hash,
                step,
                ..
            } => {
                let created = create_experiment(t, owned, ex, pod_template_hash, step).await?;
                if created {
                    t.publish(
                        EventType::Normal,
                        "ExperimentCreated",
                        format!("Created Experiment {ex}"),
                    )
                    .await;
                }
            }
            Action::TerminateExperiment { name: ex } => terminate_experiment(t, ex).await?,
            Action::Aborted { reason } => {
                t.publish(EventType::Warning, "RolloutAborted", reason.clone())
                    .await;
            }
            Action::Completed { pod_template_hash } => {
                t.publish(
                    EventType::Normal,
                    "RolloutCompleted",
                    format!("Rollout completed update to revision {rollout_revision} ({pod_template_hash}): now stable"),
                )
                .await;
            }
        }
    }
    Ok(())
}

/// The pod template a ReplicaSet was made from: the Rollout's template it records, else its own.
fn replica_set_template(rs: &ReplicaSet) -> Option<Value> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(super::TEMPLATE_ANNOTATION))
        .and_then(|t| serde_json::from_str(t).ok())
        .or_else(|| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| serde_json::to_value(t).ok())
        })
}

/// Creates the Experiment of an `experiment` step (AlreadyExists is success), owned by the Rollout; `specRef:
/// stable` runs the stable ReplicaSet's pod template, `canary` the Rollout's current one.
async fn create_experiment(
    t: &Target<'_>,
    owned: &[ReplicaSet],
    name: &str,
    hash: &str,
    step: &tack_rollout::spec::RolloutExperimentStep,
) -> Result<bool, Error> {
    let invalid = |message: String| Error::InvalidSpec {
        name: t.name.clone(),
        message,
    };
    let canary = t
        .rollout
        .spec
        .template
        .clone()
        .ok_or_else(|| invalid("spec.template is missing".into()))?;
    let stable_hash = t.rollout.status.as_ref().and_then(|s| s.stable_rs.clone());
    let stable = owned
        .iter()
        .find(|rs| stable_hash.is_some() && hash_of(rs) == stable_hash.as_deref())
        .and_then(replica_set_template)
        .unwrap_or_else(|| canary.clone());
    let src = tack_rollout::experiment::StepSources {
        canary_template: &canary,
        stable_template: &stable,
        selector: t.rollout.spec.selector.as_ref(),
        min_ready_seconds: t.rollout.spec.min_ready_seconds,
    };
    let mut obj = tack_rollout::experiment::from_step(&t.rollout, name, hash, step, src).map_err(invalid)?;
    obj["metadata"]["namespace"] = json!(t.ns);
    obj["metadata"]["ownerReferences"] = json!([tack_traffic::owner_reference(&t.name, &t.uid)]);
    let obj: DynamicObject = serde_json::from_value(obj).map_err(|e| invalid(e.to_string()))?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client().clone(), &t.ns, &crate::experiment::resource());
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(Error::Kube {
            what: format!("creating Experiment {}/{name}", t.ns),
            source: e,
        }),
    }
}

fn hash_of(rs: &ReplicaSet) -> Option<&str> {
    hash(rs)
}

/// Sets `spec.terminate: true` on an Experiment that is no longer needed.
async fn terminate_experiment(t: &Target<'_>, name: &str) -> Result<(), Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client().clone(), &t.ns, &crate::experiment::resource());
    let patch = json!({"spec": {"terminate": true}});
    match api.patch(name, &merge_params(), &Patch::Merge(&patch)).await {
        Ok(_) => {
            t.publish(
                EventType::Normal,
                "ExperimentTerminated",
                format!("Terminated Experiment {name}"),
            )
            .await;
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Kube {
            what: format!("terminating Experiment {}/{name}", t.ns),
            source: e,
        }),
    }
}

/// Points the Services at their hashes.
async fn switch_services(t: &Target<'_>, decision: &Decision) -> Result<(), Error> {
    for svc in apply_services(t.client(), &t.ns, &t.name, &decision.services).await? {
        let hash = decision
            .services
            .iter()
            .find(|(n, _)| *n == svc)
            .map(|(_, h)| h.as_str())
            .unwrap_or_default();
        t.publish(
            EventType::Normal,
            "SwitchService",
            format!("Switched selector of Service {svc} to {POD_TEMPLATE_HASH_LABEL}={hash}"),
        )
        .await;
    }
    Ok(())
}

/// Writes the status when it changed (merge patch guarded by `resourceVersion`), with its transition Events.
async fn write_status(t: &Target<'_>, decision: &Decision, selector: &str) -> Result<(), Error> {
    let prev: RolloutStatus = t.rollout.status.clone().unwrap_or_default();
    let status = status_json(decision, selector)?;
    if status_matches(t.raw.get("status"), &status) {
        return Ok(());
    }
    let patch = json!({
        "metadata": {"resourceVersion": t.obj.metadata.resource_version},
        "status": status,
    });
    match t
        .api
        .patch_status(&t.name, &merge_params(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => return Err(Error::Conflict(t.name.clone())),
        Err(e) => {
            return Err(Error::Kube {
                what: format!("writing the status of Rollout {}/{}", t.ns, t.name),
                source: e,
            });
        }
    }
    transition_events(t.ctx, &t.obj, &t.rollout, &prev, &decision.status).await;
    Ok(())
}

/// Traffic routers, from the status just persisted; then the weights read back from the router objects
/// decide `status.canary.weights.verified` (a Warning Event when a router does not carry them).
async fn set_routers(t: &Target<'_>, decision: &Decision) -> Result<(), Error> {
    let mut persisted = t.rollout.clone();
    persisted.status = Some(decision.status.clone());
    let weights = Weights::from_status(&persisted);
    let applied = apply_routers(t.client(), &t.ns, &persisted, &t.uid, weights).await?;
    for change in applied.changes {
        t.publish(EventType::Normal, "TrafficWeightUpdated", change).await;
    }
    let Some(verdict) = super::routers::verify(&applied.read_back, weights.canary) else {
        return Ok(());
    };
    let verified = verdict.is_ok();
    let recorded = decision.status.canary.weights.as_ref().and_then(|w| w.verified);
    if recorded == Some(verified) {
        return Ok(());
    }
    if let Err(why) = verdict {
        t.publish(EventType::Warning, "TrafficWeightNotApplied", why)
            .await;
    }
    let patch = json!({"status": {"canary": {"weights": {"verified": verified}}}});
    match t
        .api
        .patch_status(&t.name, &merge_params(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Kube {
            what: format!("writing the status of Rollout {}/{}", t.ns, t.name),
            source: e,
        }),
    }
}

/// Deletes old ReplicaSets beyond `revisionHistoryLimit` (never one with pods, the current or the stable).
async fn prune_history(t: &Target<'_>, owned: &[ReplicaSet], decision: &Decision) -> Result<(), Error> {
    let mut keep: Vec<&str> = vec![decision.pod_template_hash.as_str()];
    keep.extend(decision.status.stable_rs.as_deref());
    keep.extend(
        decision
            .replica_sets
            .iter()
            .filter(|d| d.replicas > 0)
            .map(|d| d.pod_template_hash.as_str()),
    );
    let limit = usize::try_from(t.rollout.spec.revision_history_limit.unwrap_or(10).max(0)).unwrap_or(10);
    for rs in history_to_delete(owned, &keep, limit) {
        let rs_name = rs.name_any();
        let deleted =
            crate::unless_gone(t.rs_api().delete(&rs_name, &Default::default()).await).map_err(|source| {
                Error::Kube {
                    what: format!("deleting old ReplicaSet {}/{rs_name}", t.ns),
                    source,
                }
            })?;
        if deleted.is_some() {
            tracing::debug!(replicaset = %rs_name, "deleted beyond revisionHistoryLimit");
        }
    }
    Ok(())
}

/// Deletes completed AnalysisRuns beyond `spec.analysis` (`successfulRunHistoryLimit`,
/// `unsuccessfulRunHistoryLimit`, 5 each by default) and those of ReplicaSets that no longer exist; the runs
/// the new status refers to and runs in progress are kept.
async fn prune_runs(t: &Target<'_>, seen: &Seen, decision: &Decision) -> Result<(), Error> {
    let records: Vec<RunRecord> = seen
        .runs
        .iter()
        .filter_map(|r| {
            Some(RunRecord {
                name: r.metadata.name.clone()?,
                pod_template_hash: r
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
                    .cloned()
                    .unwrap_or_default(),
                phase: r
                    .data
                    .pointer("/status/phase")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                created: r.metadata.creation_timestamp.as_ref().map(|t| t.0),
            })
        })
        .collect();
    let status = &decision.status;
    let current: BTreeSet<String> = [
        &status.canary.current_step_analysis_run_status,
        &status.canary.current_background_analysis_run_status,
        &status.blue_green.pre_promotion_analysis_run_status,
        &status.blue_green.post_promotion_analysis_run_status,
    ]
    .into_iter()
    .flatten()
    .map(|r| r.name.clone())
    .collect();
    let hashes: BTreeSet<String> = seen.owned.iter().filter_map(hash).map(str::to_string).collect();
    let api: Api<DynamicObject> = Api::namespaced_with(t.client().clone(), &t.ns, &analysis_run_resource());
    for name in runs_to_delete(&records, &current, &hashes, t.rollout.spec.analysis.as_ref()) {
        let deleted = crate::unless_gone(api.delete(&name, &Default::default()).await).map_err(|source| {
            Error::Kube {
                what: format!("deleting old AnalysisRun {}/{name}", t.ns),
                source,
            }
        })?;
        if deleted.is_some() {
            tracing::debug!(analysisrun = %name, "deleted beyond the run history limits");
        }
    }
    Ok(())
}

/// The status as written: the decision's status plus the scale subresource fields.
fn status_json(decision: &Decision, selector: &str) -> Result<Value, Error> {
    let mut status = serde_json::to_value(&decision.status).map_err(|e| Error::InvalidSpec {
        name: String::new(),
        message: e.to_string(),
    })?;
    if decision.status.selector.is_none() && !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    status["HPAReplicas"] = json!(decision.status.replicas);
    Ok(status)
}

fn step_text(rollout: &Rollout, idx: i32) -> String {
    let step = rollout
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| usize::try_from(idx).ok().and_then(|i| c.steps.get(i)));
    step.and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| {
            v.as_object().map(|m| {
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        })
        .unwrap_or_default()
}

async fn transition_events(
    ctx: &Context,
    obj: &DynamicObject,
    rollout: &Rollout,
    prev: &RolloutStatus,
    next: &RolloutStatus,
) {
    let steps = rollout.spec.strategy.canary.as_ref().map_or(0, |c| c.steps.len());
    if next.current_step_index != prev.current_step_index
        && let (Some(i), Some(p)) = (next.current_step_index, prev.current_step_index)
        && i > p
    {
        publish(
            ctx,
            obj,
            EventType::Normal,
            "RolloutStepCompleted",
            format!("Rollout step {p}/{steps} completed ({})", step_text(rollout, p)),
        )
        .await;
    }
    if next.phase != prev.phase {
        let phase = next.phase.as_deref().unwrap_or_default();
        let (type_, reason) = match phase {
            "Paused" => (EventType::Normal, "RolloutPaused"),
            "Degraded" => (EventType::Warning, "RolloutDegraded"),
            "Healthy" => (EventType::Normal, "RolloutHealthy"),
            _ => (EventType::Normal, "RolloutProgressing"),
        };
        let note = match &next.message {
            Some(m) => format!("Rollout is {phase}: {m}"),
            None => format!("Rollout is {phase}"),
        };
        publish(ctx, obj, type_, reason, note).await;
    }
}

/// A spec the controller cannot act on: phase `Degraded`, message `InvalidSpec: <message>`, an `InvalidSpec`
/// condition and a Warning Event (once, when the status changes); then waits for a change of the Rollout.
async fn degraded(t: &Target<'_>, message: String) -> Result<Requeue, Error> {
    let mut status: RolloutStatus = t
        .raw
        .get("status")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    let now = jiff::Timestamp::now();
    conditions::set(
        &mut status,
        conditions::types::INVALID_SPEC,
        "True",
        "InvalidSpec",
        &message,
        now,
    );
    let want = json!({
        "phase": "Degraded",
        "message": format!("InvalidSpec: {message}"),
        "conditions": status.conditions,
    });
    if !status_matches(t.raw.get("status"), &want) {
        t.api
            .patch_status(&t.name, &merge_params(), &Patch::Merge(json!({"status": want})))
            .await
            .map_err(Error::kube(format!("writing the status of Rollout {}", t.name)))?;
        t.publish(
            EventType::Warning,
            "InvalidSpec",
            format!("InvalidSpec: {message}"),
        )
        .await;
    }
    Ok(Requeue::requeue(RESYNC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_comparison_ignores_nulls_and_unknown_live_fields() {
        let live = json!({"phase": "Paused", "extra": 1, "canary": {"weights": {"canary": {"weight": 20}}}});
        let want = json!({"phase": "Paused", "message": null, "canary": {"weights": {"canary": {"weight": 20, "serviceName": null}}}});
        assert!(status_matches(Some(&live), &want));
        let want2 = json!({"phase": "Healthy"});
        assert!(!status_matches(Some(&live), &want2));
        assert!(!status_matches(None, &want2));
    }

    #[test]
    fn selector_strings() {
        assert_eq!(
            selector_string(Some(&json!({"matchLabels": {"app": "web", "tier": "fe"}}))),
            "app=web,tier=fe"
        );
        assert_eq!(selector_string(None), "");
    }
}
