//! One reconcile of one Rollout (see the module documentation of [`super`]).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, Patch, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tack_rollout::restart::{RestartPod, RestartStep, restart_step};
use tack_rollout::spec::{Rollout, RolloutStatus};
use tack_rollout::{Action, Decision, Observed, POD_TEMPLATE_HASH_LABEL, SCALE_DOWN_DEADLINE_ANNOTATION};
use tack_traffic::Weights;

use super::analysis::{NewRun, RunInputs, create_run, terminate_run};
use super::observe::{observe_analysis_runs, observe_replica_sets, owned_by, pod_failures};
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

async fn reconcile_inner(cached: &DynamicObject, ctx: &Context) -> Result<Requeue, Error> {
    let name = cached.name_any();
    let ns = cached.namespace().unwrap_or_default();
    let client = &ctx.client;
    let api = super::rollouts(client, &ns);
    // A fresh read: decisions and router weights never come from a stale cache.
    let Some(obj) = api
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!("reading Rollout {ns}/{name}")))?
    else {
        return Ok(Requeue::await_change());
    };
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Requeue::await_change());
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let raw = serde_json::to_value(&obj).map_err(|e| Error::InvalidSpec {
        name: name.clone(),
        message: e.to_string(),
    })?;
    let parsed: Result<Rollout, _> = serde_json::from_value(raw.clone());
    let mut rollout = match parsed {
        Ok(r) => r,
        Err(e) => return degraded(ctx, &api, &obj, &raw, format!("InvalidSpec: {e}")).await,
    };

    // workloadRef: the Deployment's pod template (and selector, when the Rollout has none).
    if rollout.spec.template.is_none()
        && let Some(w) = rollout.spec.workload_ref.clone()
    {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        let Some(dep) = deployments
            .get_opt(&w.name)
            .await
            .map_err(Error::kube(format!("reading Deployment {ns}/{}", w.name)))?
        else {
            let msg = format!(
                "InvalidSpec: workloadRef Deployment {:?} not found in namespace {ns}",
                w.name
            );
            return degraded(ctx, &api, &obj, &raw, msg).await;
        };
        let spec = dep.spec.unwrap_or_default();
        rollout.spec.template = Some(serde_json::to_value(&spec.template).unwrap_or(Value::Null));
        if rollout.spec.selector.is_none() {
            rollout.spec.selector = serde_json::to_value(&spec.selector).ok();
        }
    }

    // Observe.
    let selector = selector_string(rollout.spec.selector.as_ref());
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let owned: Vec<ReplicaSet> = rs_api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(Error::kube(format!("listing ReplicaSets of Rollout {ns}/{name}")))?
        .items
        .into_iter()
        .filter(|rs| owned_by(rs.metadata.owner_references.as_ref(), &uid))
        .collect();
    let runs_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &analysis_run_resource());
    let runs = runs_api
        .list(&ListParams::default().labels(POD_TEMPLATE_HASH_LABEL))
        .await
        .map_err(Error::kube(format!(
            "listing AnalysisRuns of Rollout {ns}/{name}"
        )))?
        .items;
    let mut replica_sets = observe_replica_sets(&owned, &uid);
    // Crashed pods of the new (canary / preview) ReplicaSet abort the update.
    if let Some(template) = rollout.spec.template.as_ref() {
        let current = tack_rollout::pod_template_hash(template);
        let updating = rollout
            .status
            .as_ref()
            .and_then(|s| s.stable_rs.as_deref())
            .is_some_and(|s| s != current);
        let rs = owned.iter().find(|rs| hash(rs) == Some(current.as_str()));
        if updating
            && let Some(rs_uid) = rs.and_then(|rs| rs.metadata.uid.clone())
            && let Some(obs) = replica_sets.iter_mut().find(|o| o.pod_template_hash == current)
        {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let list = pods
                .list(&ListParams::default().labels(&format!("{POD_TEMPLATE_HASH_LABEL}={current}")))
                .await
                .map_err(Error::kube(format!("listing pods of Rollout {ns}/{name}")))?;
            obs.failed_pods = pod_failures(&list.items, &rs_uid);
        }
    }
    let observed = Observed {
        replica_sets,
        analysis_runs: observe_analysis_runs(&runs, &uid),
        now: jiff::Timestamp::now(),
    };
    let mut decision = match tack_rollout::reconcile(&rollout, &observed) {
        Ok(d) => d,
        Err(e) => return degraded(ctx, &api, &obj, &raw, format!("InvalidSpec: {e}")).await,
    };

    // spec.restartAt: one pod at a time.
    if rollout.spec.restart_at.is_some() {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let rs_uids: Vec<&str> = owned.iter().filter_map(|rs| rs.metadata.uid.as_deref()).collect();
        let list = pods
            .list(&ListParams::default().labels(&selector))
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
        let step = restart_step(&rollout, &restart_pods, observed.now).map_err(|e| Error::InvalidSpec {
            name: name.clone(),
            message: e.to_string(),
        })?;
        let soon = |d: Duration| Some(decision.requeue_after.map_or(d, |r| r.min(d)));
        match step {
            RestartStep::Idle => {}
            RestartStep::Wait(d) => decision.requeue_after = soon(d),
            RestartStep::Delete(pod) => {
                match pods.delete(&pod, &Default::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(Error::Kube {
                            what: format!("restarting pod {ns}/{pod}"),
                            source: e,
                        });
                    }
                }
                publish(
                    ctx,
                    &obj,
                    EventType::Normal,
                    "RestartingPod",
                    format!("Restarting pod {pod} (created before spec.restartAt)"),
                )
                .await;
                decision.requeue_after = soon(Duration::from_secs(1));
            }
            RestartStep::Done(at) => decision.status.restarted_at = Some(at),
        }
    }

    // ReplicaSets.
    let max_rev = owned.iter().map(revision).max().unwrap_or(0);
    for want in &decision.replica_sets {
        let live = owned
            .iter()
            .find(|rs| hash(rs) == Some(want.pod_template_hash.as_str()));
        match live {
            None if want.pod_template_hash == decision.pod_template_hash => {
                let Some(template) = rollout.spec.template.as_ref() else {
                    continue;
                };
                let rs = new_replica_set(&NewReplicaSet {
                    rollout: &name,
                    rollout_uid: &uid,
                    namespace: &ns,
                    template,
                    selector: rollout.spec.selector.as_ref(),
                    hash: &want.pod_template_hash,
                    replicas: want.replicas,
                    revision: max_rev + 1,
                    min_ready_seconds: rollout.spec.min_ready_seconds,
                });
                let rs: ReplicaSet = serde_json::from_value(rs).map_err(|e| Error::InvalidSpec {
                    name: name.clone(),
                    message: format!("spec.template: {e}"),
                })?;
                let rs_name = replica_set_name(&name, &want.pod_template_hash);
                match rs_api.create(&PostParams::default(), &rs).await {
                    Ok(_) => {
                        publish(
                            ctx,
                            &obj,
                            EventType::Normal,
                            "NewReplicaSetCreated",
                            format!(
                                "Created ReplicaSet {rs_name} (revision {}) with {} replicas",
                                max_rev + 1,
                                want.replicas
                            ),
                        )
                        .await;
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        // Exists but was not listed (another owner, or a race): the next reconcile sees it.
                        return Ok(Requeue::requeue(Duration::from_secs(1)));
                    }
                    Err(e) => {
                        return Err(Error::Kube {
                            what: format!("creating ReplicaSet {ns}/{rs_name}"),
                            source: e,
                        });
                    }
                }
            }
            None => {}
            Some(rs) => {
                let current = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let rs_name = rs.name_any();
                if current != want.replicas {
                    rs_api
                        .patch(
                            &rs_name,
                            &merge_params(),
                            &Patch::Merge(json!({"spec": {"replicas": want.replicas}})),
                        )
                        .await
                        .map_err(Error::kube(format!("scaling ReplicaSet {ns}/{rs_name}")))?;
                    publish(
                        ctx,
                        &obj,
                        EventType::Normal,
                        "ScalingReplicaSet",
                        format!("Scaled ReplicaSet {rs_name} from {current} to {}", want.replicas),
                    )
                    .await;
                }
                // A template seen before (undo) becomes the newest revision again.
                if want.pod_template_hash == decision.pod_template_hash && revision(rs) < max_rev {
                    let patch = json!({"metadata": {"annotations": {REVISION_ANNOTATION: (max_rev + 1).to_string()}}});
                    rs_api
                        .patch(&rs_name, &merge_params(), &Patch::Merge(patch))
                        .await
                        .map_err(Error::kube(format!("annotating ReplicaSet {ns}/{rs_name}")))?;
                }
            }
        }
    }

    // Actions.
    let rollout_revision = owned
        .iter()
        .find(|rs| hash(rs) == Some(decision.pod_template_hash.as_str()))
        .map_or(max_rev + 1, revision)
        .to_string();
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
                    rs_api
                        .patch(&rs.name_any(), &merge_params(), &Patch::Merge(patch))
                        .await
                        .map_err(Error::kube(format!(
                            "annotating ReplicaSet {ns}/{}",
                            rs.name_any()
                        )))?;
                }
            }
            Action::CreateAnalysisRun {
                name: run,
                kind,
                pod_template_hash,
                templates,
                args,
                dry_run,
                measurement_retention,
            } => {
                let created = create_run(
                    client,
                    &NewRun {
                        name: run,
                        namespace: &ns,
                        rollout: &name,
                        rollout_uid: &uid,
                        kind: *kind,
                        hash: pod_template_hash,
                        revision: Some(&rollout_revision),
                    },
                    &raw,
                    &rollout,
                    &RunInputs {
                        templates,
                        args,
                        dry_run,
                        measurement_retention,
                    },
                )
                .await?;
                if created {
                    publish(
                        ctx,
                        &obj,
                        EventType::Normal,
                        "AnalysisRunCreated",
                        format!("Created AnalysisRun {run}"),
                    )
                    .await;
                }
            }
            Action::TerminateAnalysisRun { name: run } => terminate_run(client, &ns, run).await?,
            Action::Aborted { reason } => {
                publish(ctx, &obj, EventType::Warning, "RolloutAborted", reason.clone()).await;
            }
            Action::Completed { pod_template_hash } => {
                publish(
                    ctx,
                    &obj,
                    EventType::Normal,
                    "RolloutCompleted",
                    format!("Rollout completed update to revision {rollout_revision} ({pod_template_hash}): now stable"),
                )
                .await;
            }
        }
    }

    // Services.
    for svc in apply_services(client, &ns, &name, &decision.services).await? {
        let hash = decision
            .services
            .iter()
            .find(|(n, _)| *n == svc)
            .map(|(_, h)| h.as_str())
            .unwrap_or_default();
        publish(
            ctx,
            &obj,
            EventType::Normal,
            "SwitchService",
            format!("Switched selector of Service {svc} to {POD_TEMPLATE_HASH_LABEL}={hash}"),
        )
        .await;
    }

    // Status.
    let prev: RolloutStatus = rollout.status.clone().unwrap_or_default();
    let status = status_json(&decision, &selector)?;
    if !status_matches(raw.get("status"), &status) {
        let patch = json!({
            "metadata": {"resourceVersion": obj.metadata.resource_version},
            "status": status,
        });
        match api
            .patch_status(&name, &merge_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => return Err(Error::Conflict(name)),
            Err(e) => {
                return Err(Error::Kube {
                    what: format!("writing the status of Rollout {ns}/{name}"),
                    source: e,
                });
            }
        }
        transition_events(ctx, &obj, &rollout, &prev, &decision.status).await;
    }

    // Traffic routers, from the status just persisted.
    let mut persisted = rollout.clone();
    persisted.status = Some(decision.status.clone());
    for change in apply_routers(client, &ns, &persisted, &uid, Weights::from_status(&persisted)).await? {
        publish(ctx, &obj, EventType::Normal, "TrafficWeightUpdated", change).await;
    }

    // History.
    let mut keep: Vec<&str> = vec![decision.pod_template_hash.as_str()];
    keep.extend(decision.status.stable_rs.as_deref());
    keep.extend(
        decision
            .replica_sets
            .iter()
            .filter(|d| d.replicas > 0)
            .map(|d| d.pod_template_hash.as_str()),
    );
    let limit = usize::try_from(rollout.spec.revision_history_limit.unwrap_or(10).max(0)).unwrap_or(10);
    for rs in history_to_delete(&owned, &keep, limit) {
        let rs_name = rs.name_any();
        match rs_api.delete(&rs_name, &Default::default()).await {
            Ok(_) => tracing::debug!(replicaset = %rs_name, "deleted beyond revisionHistoryLimit"),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(Error::Kube {
                    what: format!("deleting old ReplicaSet {ns}/{rs_name}"),
                    source: e,
                });
            }
        }
    }

    Ok(Requeue::requeue(
        decision.requeue_after.unwrap_or(RESYNC).min(RESYNC),
    ))
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

/// Writes `phase: Degraded` with `message` (a spec the controller cannot act on) and waits for a change.
async fn degraded(
    ctx: &Context,
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    raw: &Value,
    message: String,
) -> Result<Requeue, Error> {
    let want = json!({"phase": "Degraded", "message": message});
    if !status_matches(raw.get("status"), &want) {
        api.patch_status(
            &obj.name_any(),
            &merge_params(),
            &Patch::Merge(json!({"status": want})),
        )
        .await
        .map_err(Error::kube(format!(
            "writing the status of Rollout {}",
            obj.name_any()
        )))?;
        publish(ctx, obj, EventType::Warning, "InvalidSpec", message).await;
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
