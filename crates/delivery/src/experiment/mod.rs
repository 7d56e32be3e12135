//! The Experiment controller (`argoproj.io/v1alpha1`, Argo Rollouts compatible): for every Experiment, observe
//! its template ReplicaSets and AnalysisRuns, ask the [`tack_rollout::experiment`] state machine what to do,
//! and do it.
//!
//! One reconcile: read the Experiment → refuse a spec that cannot run (phase `Error`, message
//! `InvalidSpec: …`, Warning Event) → read each template's ReplicaSet `<experiment>-<template>` and each
//! AnalysisRun `<experiment>-<analysis>` it owns → [`tack_rollout::experiment::reconcile_experiment`] → create
//! and scale the ReplicaSets → template Services → AnalysisRuns (created from the referenced templates with
//! the Experiment's args, or terminated) → status (merge patch guarded by `resourceVersion`) → Events.
//! Everything it creates is owned by the Experiment, so deleting the Experiment deletes them.

pub mod objects;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tack_rollout::AnalysisPhase;
use tack_rollout::experiment::{
    Experiment, ExperimentDecision, ExperimentObserved, ExperimentRunObservation, NewExperimentRun,
    TemplateReplicaSet, invalid_spec, reconcile_experiment, replica_set_name, template_hash,
};
use tack_rollout::spec::RolloutAnalysis;

use crate::rollout::analysis::{add_rollout_options, load_templates};
use crate::rollout::{analysis_run_resource, merge_params};
use objects::Owner;

/// Reconcile again at least this often (picks up pods becoming available between ReplicaSet events).
const RESYNC: Duration = Duration::from_secs(60);

/// `argoproj.io/v1alpha1` `Experiment`.
pub fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Experiment"),
        "experiments",
    )
}

/// Why a reconcile failed (retried after a few seconds). Messages say which object; no Secret values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// An object could not be built or read.
    #[error("Experiment {name}: {reason}")]
    Invalid {
        /// Experiment name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Another write changed the Experiment first; the next reconcile starts from its new state.
    #[error("Experiment {0}: changed during the reconcile; retrying")]
    Conflict(String),
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Kube { what, source }
}

struct Context {
    client: kube::Client,
    recorder: Recorder,
}

/// Runs the Experiment controller (all namespaces, or only `namespace`) until `shutdown` completes.
pub async fn run(
    client: kube::Client,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let ar = resource();
    let run_ar = analysis_run_resource();
    let (api, rs_api, runs_api): (Api<DynamicObject>, Api<ReplicaSet>, Api<DynamicObject>) = match &namespace
    {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &ar),
            Api::namespaced(client.clone(), ns),
            Api::namespaced_with(client.clone(), ns, &run_ar),
        ),
        None => (
            Api::all_with(client.clone(), &ar),
            Api::all(client.clone()),
            Api::all_with(client.clone(), &run_ar),
        ),
    };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "tack-experiments".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let ctx = Arc::new(Context { client, recorder });
    tracing::info!(
        namespace = namespace.as_deref().unwrap_or("(all)"),
        "Experiment controller started"
    );
    Controller::new_with(api, watcher::Config::default(), ar)
        .owns_with(rs_api, (), watcher::Config::default())
        .owns_with(runs_api, run_ar, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(experiment = %obj, "reconciled"),
                Err(e) => tracing::debug!("Experiment reconcile failed: {e}"),
            }
        })
        .await;
    tracing::info!("Experiment controller stopped");
}

fn error_policy(_obj: Arc<DynamicObject>, e: &Error, _ctx: Arc<Context>) -> Action {
    match e {
        Error::Conflict(_) => Action::requeue(Duration::from_millis(300)),
        other => {
            tracing::warn!("{other}");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

/// The Experiment being reconciled.
struct Target<'a> {
    ctx: &'a Context,
    api: Api<DynamicObject>,
    obj: DynamicObject,
    ex: Experiment,
    name: String,
    ns: String,
    uid: String,
}

impl Target<'_> {
    fn owner(&self) -> Owner<'_> {
        Owner {
            name: &self.name,
            namespace: &self.ns,
            uid: &self.uid,
        }
    }

    async fn publish(&self, warning: bool, reason: &str, note: String) {
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_string(),
            note: Some(note.chars().take(1000).collect()),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(e) = self
            .ctx
            .recorder
            .publish(&ev, &self.obj.object_ref(&resource()))
            .await
        {
            tracing::debug!("cannot publish event {reason}: {e}");
        }
    }
}

async fn reconcile(cached: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = cached.name_any();
    let ns = cached.namespace().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &resource());
    let Some(obj) = api
        .get_opt(&name)
        .await
        .map_err(kube_err(format!("reading Experiment {ns}/{name}")))?
    else {
        return Ok(Action::await_change());
    };
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let raw = serde_json::to_value(&obj).map_err(|e| Error::Invalid {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    let parsed: Result<Experiment, _> = serde_json::from_value(raw);
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let mut t = Target {
        ctx: &ctx,
        api,
        obj,
        ex: Experiment::default(),
        name,
        ns,
        uid,
    };
    t.ex = match parsed {
        Ok(ex) => ex,
        Err(e) => return refuse(&t, e.to_string()).await,
    };
    if let Some(message) = invalid_spec(&t.ex) {
        return refuse(&t, message).await;
    }
    let observed = observe(&t).await?;
    let decision = reconcile_experiment(&t.ex, &observed).map_err(|e| Error::Invalid {
        name: t.name.clone(),
        reason: e.to_string(),
    })?;
    sync_replica_sets(&t, &observed, &decision).await?;
    sync_services(&t, &observed, &decision).await?;
    sync_runs(&t, &decision).await?;
    write_status(&t, &decision).await?;
    for e in &decision.events {
        t.publish(e.warning, &e.reason, e.message.clone()).await;
    }
    Ok(Action::requeue(
        decision.requeue_after.unwrap_or(RESYNC).min(RESYNC),
    ))
}

/// A spec that cannot run: phase `Error`, message `InvalidSpec: …`, a Warning Event (once).
async fn refuse(t: &Target<'_>, message: String) -> Result<Action, Error> {
    let message = format!("InvalidSpec: {message}");
    let live = t.obj.data.get("status");
    let same = live.and_then(|s| s.get("phase")).and_then(Value::as_str) == Some("Error")
        && live.and_then(|s| s.get("message")).and_then(Value::as_str) == Some(message.as_str());
    if !same {
        let patch = json!({"status": {"phase": "Error", "message": message}});
        t.api
            .patch_status(&t.name, &merge_params(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err(format!(
                "writing the status of Experiment {}/{}",
                t.ns, t.name
            )))?;
        t.publish(true, "InvalidSpec", message).await;
    }
    Ok(Action::await_change())
}

/// Each template's ReplicaSet (by name, owned by the Experiment) and each analysis's AnalysisRun.
async fn observe(t: &Target<'_>) -> Result<ExperimentObserved, Error> {
    let rs_api: Api<ReplicaSet> = Api::namespaced(t.ctx.client.clone(), &t.ns);
    let mut replica_sets = Vec::new();
    for tpl in &t.ex.spec.templates {
        let rs_name = replica_set_name(&t.name, &tpl.name);
        let Some(rs) = rs_api
            .get_opt(&rs_name)
            .await
            .map_err(kube_err(format!("reading ReplicaSet {}/{rs_name}", t.ns)))?
        else {
            continue;
        };
        if !owned_by(rs.metadata.owner_references.as_deref(), &t.uid) {
            return Err(Error::Invalid {
                name: t.name.clone(),
                reason: format!(
                    "ReplicaSet {rs_name} exists and is not owned by the Experiment; delete or rename it"
                ),
            });
        }
        let status = rs.status.as_ref();
        replica_sets.push(TemplateReplicaSet {
            template: tpl.name.clone(),
            pod_template_hash: rs
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(tack_rollout::POD_TEMPLATE_HASH_LABEL))
                .cloned()
                .unwrap_or_else(|| template_hash(&t.name, tpl)),
            replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            current: status.map_or(0, |s| s.replicas),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        });
    }
    let runs_api: Api<DynamicObject> =
        Api::namespaced_with(t.ctx.client.clone(), &t.ns, &analysis_run_resource());
    let mut analysis_runs = Vec::new();
    let status = t.ex.status.clone().unwrap_or_default();
    for r in &status.analysis_runs {
        let Some(run) = runs_api.get_opt(&r.analysis_run).await.map_err(kube_err(format!(
            "reading AnalysisRun {}/{}",
            t.ns, r.analysis_run
        )))?
        else {
            continue;
        };
        if !owned_by(run.metadata.owner_references.as_deref(), &t.uid) {
            continue;
        }
        let phase = run
            .data
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .and_then(AnalysisPhase::parse)
            .unwrap_or(AnalysisPhase::Pending);
        analysis_runs.push(ExperimentRunObservation {
            name: r.analysis_run.clone(),
            phase,
            message: run
                .data
                .pointer("/status/message")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    Ok(ExperimentObserved {
        replica_sets,
        analysis_runs,
        now: jiff::Timestamp::now(),
    })
}

fn owned_by(
    refs: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]>,
    uid: &str,
) -> bool {
    refs.is_some_and(|r| r.iter().any(|o| o.uid == uid))
}

/// Creates the missing ReplicaSets and scales the others.
async fn sync_replica_sets(
    t: &Target<'_>,
    observed: &ExperimentObserved,
    d: &ExperimentDecision,
) -> Result<(), Error> {
    let rs_api: Api<ReplicaSet> = Api::namespaced(t.ctx.client.clone(), &t.ns);
    for scale in &d.replica_sets {
        let Some(tpl) = t.ex.spec.templates.iter().find(|x| x.name == scale.template) else {
            continue;
        };
        let rs_name = replica_set_name(&t.name, &tpl.name);
        if scale.create {
            let hash = template_hash(&t.name, tpl);
            let rs: ReplicaSet =
                serde_json::from_value(objects::replica_set(&t.owner(), tpl, &hash, scale.replicas))
                    .map_err(|e| Error::Invalid {
                        name: t.name.clone(),
                        reason: format!("template {:?}: {e}", tpl.name),
                    })?;
            match rs_api.create(&PostParams::default(), &rs).await {
                Ok(_) => {
                    t.publish(
                        false,
                        "ReplicaSetCreated",
                        format!("Created ReplicaSet {rs_name} ({} replicas)", scale.replicas),
                    )
                    .await;
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => {
                    // Argo marks the template Error; tack reports it and retries.
                    t.publish(
                        true,
                        "TemplateError",
                        format!("Failed to create ReplicaSet for template '{}': {e}", tpl.name),
                    )
                    .await;
                    return Err(Error::Kube {
                        what: format!("creating ReplicaSet {}/{rs_name}", t.ns),
                        source: e,
                    });
                }
            }
            continue;
        }
        let current = observed
            .replica_sets
            .iter()
            .find(|r| r.template == scale.template);
        if current.is_some_and(|r| r.replicas != scale.replicas) {
            let patch = json!({"spec": {"replicas": scale.replicas}});
            rs_api
                .patch(&rs_name, &merge_params(), &Patch::Merge(&patch))
                .await
                .map_err(kube_err(format!("scaling ReplicaSet {}/{rs_name}", t.ns)))?;
            t.publish(
                false,
                "ScalingReplicaSet",
                format!("Scaled ReplicaSet {rs_name} to {}", scale.replicas),
            )
            .await;
        }
    }
    Ok(())
}

/// Creates the template Services that must exist and deletes those whose pods are gone.
async fn sync_services(
    t: &Target<'_>,
    observed: &ExperimentObserved,
    d: &ExperimentDecision,
) -> Result<(), Error> {
    let api: Api<Service> = Api::namespaced(t.ctx.client.clone(), &t.ns);
    for (template, svc_name) in &d.services {
        let (Some(tpl), Some(rs)) = (
            t.ex.spec.templates.iter().find(|x| &x.name == template),
            observed.replica_sets.iter().find(|r| &r.template == template),
        ) else {
            continue;
        };
        if api
            .get_opt(svc_name)
            .await
            .map_err(kube_err(format!("reading Service {}/{svc_name}", t.ns)))?
            .is_some()
        {
            continue;
        }
        let Some(svc) = objects::service(&t.owner(), tpl, &rs.pod_template_hash, svc_name) else {
            continue;
        };
        let svc: Service = serde_json::from_value(svc).map_err(|e| Error::Invalid {
            name: t.name.clone(),
            reason: e.to_string(),
        })?;
        match api.create(&PostParams::default(), &svc).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                return Err(Error::Kube {
                    what: format!("creating Service {}/{svc_name}", t.ns),
                    source: e,
                });
            }
        }
    }
    for svc_name in &d.delete_services {
        crate::unless_gone(api.delete(svc_name, &Default::default()).await).map_err(|source| {
            Error::Kube {
                what: format!("deleting Service {}/{svc_name}", t.ns),
                source,
            }
        })?;
    }
    Ok(())
}

/// Creates and terminates AnalysisRuns.
async fn sync_runs(t: &Target<'_>, d: &ExperimentDecision) -> Result<(), Error> {
    for new in &d.create_runs {
        create_run(t, new).await?;
    }
    for name in &d.terminate_runs {
        crate::rollout::analysis::terminate_run(&t.ctx.client, &t.ns, name)
            .await
            .map_err(|e| Error::Invalid {
                name: t.name.clone(),
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

/// Creates one AnalysisRun from the analysis's template (AlreadyExists is success). When the templates
/// cannot be read or merged, or the arguments not resolved, the run is created without metrics and marked
/// `Error` with the reason, so the Experiment ends with it and says why.
async fn create_run(t: &Target<'_>, new: &NewExperimentRun) -> Result<(), Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(t.ctx.client.clone(), &t.ns, &analysis_run_resource());
    if api
        .get_metadata_opt(&new.name)
        .await
        .map_err(kube_err(format!("reading AnalysisRun {}/{}", t.ns, new.name)))?
        .is_some()
    {
        return Ok(());
    }
    let refs = [tack_rollout::spec::AnalysisTemplateRef {
        template_name: new.analysis.template_name.clone(),
        cluster_scope: new.analysis.cluster_scope,
    }];
    let built = async {
        let args = new.args.clone()?;
        let tpls = load_templates(&t.ctx.client, &t.ns, &refs).await?;
        let mut spec = tack_analysis::run::build_run_spec(&tpls, &args).map_err(|e| e.to_string())?;
        add_rollout_options(
            &mut spec,
            &RolloutAnalysis {
                dry_run: t.ex.spec.dry_run.clone(),
                measurement_retention: t.ex.spec.measurement_retention.clone(),
                ..Default::default()
            },
        );
        serde_json::to_value(&spec).map_err(|e| e.to_string())
    }
    .await;
    let (spec, failure) = match built {
        Ok(spec) => (spec, None),
        Err(message) => (json!({"metrics": []}), Some(message)),
    };
    let obj = objects::analysis_run(
        &t.owner(),
        &new.name,
        t.ex.spec.analysis_run_metadata.as_ref(),
        spec,
    );
    let obj: DynamicObject = serde_json::from_value(obj).map_err(|e| Error::Invalid {
        name: t.name.clone(),
        reason: e.to_string(),
    })?;
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {
            t.publish(
                false,
                "AnalysisRunCreated",
                format!("Created AnalysisRun {}", new.name),
            )
            .await;
        }
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(()),
        Err(e) => {
            return Err(Error::Kube {
                what: format!("creating AnalysisRun {}/{}", t.ns, new.name),
                source: e,
            });
        }
    }
    if let Some(message) = failure {
        let patch = json!({"status": {"phase": "Error", "message": message}});
        api.patch_status(&new.name, &merge_params(), &Patch::Merge(&patch))
            .await
            .map_err(kube_err(format!("marking AnalysisRun {} as Error", new.name)))?;
    }
    Ok(())
}

/// Writes the status when it changed (merge patch guarded by `resourceVersion`).
async fn write_status(t: &Target<'_>, d: &ExperimentDecision) -> Result<(), Error> {
    let status = serde_json::to_value(&d.status).map_err(|e| Error::Invalid {
        name: t.name.clone(),
        reason: e.to_string(),
    })?;
    let live = t.obj.data.get("status").cloned().unwrap_or(Value::Null);
    let current: Option<tack_rollout::experiment::ExperimentStatus> = serde_json::from_value(live).ok();
    if current.as_ref() == Some(&d.status) {
        return Ok(());
    }
    // `null` for fields the new status no longer has (a merge patch keeps absent fields).
    let mut status = status;
    for field in ["message", "availableAt", "phase"] {
        if status.get(field).is_none() {
            status[field] = Value::Null;
        }
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
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(Error::Conflict(t.name.clone())),
        Err(e) => Err(Error::Kube {
            what: format!("writing the status of Experiment {}/{}", t.ns, t.name),
            source: e,
        }),
    }
}
