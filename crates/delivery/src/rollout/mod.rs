//! The Rollout controller: for every `argoproj.io/v1alpha1` Rollout, observe its ReplicaSets and AnalysisRuns,
//! ask the [`tack_rollout`] state machine what to do, and do it.
//!
//! One reconcile: resolve `workloadRef` → list the owned ReplicaSets, AnalysisRuns and Experiments →
//! [`tack_rollout::reconcile`] → create and scale ReplicaSets (labelled and selected by
//! `rollouts-pod-template-hash`, owned by the Rollout) → scale-down deadlines → AnalysisRuns (create from
//! templates with the Rollout's args, or terminate) → Experiments of `experiment` steps (create, or
//! terminate) → Service
//! selectors → status (status subresource, merge patch guarded by `resourceVersion`) → traffic routers, with the
//! weights of the status just persisted → old ReplicaSets beyond `revisionHistoryLimit` and completed AnalysisRuns
//! beyond `spec.analysis`'s history limits deleted → Events.
//!
//! The router weights are always those of the persisted `status.canary.weights`: after a restart the same status
//! gives the same weights, so a restarted controller resumes at the same step without moving traffic.

pub mod analysis;
pub mod commands;
pub mod crds;
mod observe;
mod reconcile;
mod replicasets;
mod routers;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::controller::Controller;
use kube::runtime::watcher;

pub use observe::{observe_analysis_runs, observe_experiments, observe_replica_sets};

/// Field manager of every write.
pub use tack_cluster::FIELD_MANAGER;

/// Patch parameters naming [`FIELD_MANAGER`] (for merge patches).
pub(crate) fn merge_params() -> kube::api::PatchParams {
    kube::api::PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

/// ReplicaSet (and Rollout, AnalysisRun) annotation holding the revision (Argo's name).
pub use tack_rollout::REVISION_ANNOTATION;

/// ReplicaSet annotation holding the Rollout's pod template it was made from (compact JSON), so that `undo`
/// restores the template exactly (the ReplicaSet's own template carries the API server's defaults, which would
/// change the pod template hash).
pub const TEMPLATE_ANNOTATION: &str = "tack.dev/pod-template";

/// AnalysisRun label naming what it gates: `Step`, `Background`, `PrePromotion`, `PostPromotion` (Argo's names).
pub const ROLLOUT_TYPE_LABEL: &str = "rollout-type";

/// AnalysisRun label with the step index of a step analysis (Argo's name).
pub const STEP_INDEX_LABEL: &str = "step-index";

/// `argoproj.io/v1alpha1` `Rollout`.
pub fn rollout_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

/// `argoproj.io/v1alpha1` `AnalysisRun`.
pub fn analysis_run_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AnalysisRun"),
        "analysisruns",
    )
}

/// `argoproj.io/v1alpha1` `AnalysisTemplate`.
pub fn analysis_template_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AnalysisTemplate"),
        "analysistemplates",
    )
}

/// `argoproj.io/v1alpha1` `ClusterAnalysisTemplate`.
pub fn cluster_analysis_template_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "ClusterAnalysisTemplate"),
        "clusteranalysistemplates",
    )
}

/// An API for Rollouts of `namespace`.
pub fn rollouts(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &rollout_resource())
}

/// Why a reconcile failed. Messages say which object and what to do; no Secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Rollout cannot be read as an Argo Rollout.
    #[error("Rollout {name}: {message}")]
    InvalidSpec {
        /// Rollout name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// The call, e.g. `creating ReplicaSet web-5f7c`.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A Service or traffic router named by the Rollout is missing or has the wrong shape.
    #[error("Rollout {rollout}: {message}")]
    Traffic {
        /// Rollout name.
        rollout: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Another write changed the Rollout first; the next reconcile starts from its new state.
    #[error("Rollout {0}: changed during the reconcile; retrying")]
    Conflict(String),
}

impl Error {
    pub(crate) fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let what = what.into();
        move |source| Error::Kube { what, source }
    }
}

/// Shared state of the reconciles.
pub(crate) struct Context {
    pub(crate) client: kube::Client,
    pub(crate) recorder: kube::runtime::events::Recorder,
}

/// Runs the Rollout controller until `shutdown` completes; reconciles in flight are finished first.
pub async fn run(
    client: kube::Client,
    namespace: Option<String>,
    concurrency: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let ar = rollout_resource();
    let api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let rs_api: Api<k8s_openapi::api::apps::v1::ReplicaSet> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let run_ar = analysis_run_resource();
    let runs_api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &run_ar),
        None => Api::all_with(client.clone(), &run_ar),
    };
    let ex_ar = crate::experiment::resource();
    let experiments_api: Api<DynamicObject> = match &namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ex_ar),
        None => Api::all_with(client.clone(), &ex_ar),
    };
    let recorder = kube::runtime::events::Recorder::new(
        client.clone(),
        kube::runtime::events::Reporter {
            controller: "tack-rollouts".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder,
    });
    tracing::info!(
        namespace = namespace.as_deref().unwrap_or("(all)"),
        "Rollout controller started"
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let controller = Controller::new_with(api, watcher::Config::default(), ar.clone());
    let rollouts = controller.store();
    controller
        .owns_with(rs_api, (), watcher::Config::default())
        .owns_with(runs_api, run_ar, watcher::Config::default())
        .owns_with(experiments_api, ex_ar, watcher::Config::default())
        // A change of a `workloadRef` Deployment reconciles the Rollouts that reference it at once.
        .watches_with(deployments, (), watcher::Config::default(), move |dep| {
            referencing_rollouts(&rollouts.state(), &dep, &ar)
        })
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency.max(1)))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(rollout = %obj, "reconciled"),
                Err(e) => tracing::debug!("reconcile failed: {e}"),
            }
        })
        .await;
    tracing::info!("Rollout controller stopped");
}

/// The Rollouts of `deployment`'s namespace whose `spec.workloadRef` names it.
fn referencing_rollouts(
    rollouts: &[Arc<DynamicObject>],
    deployment: &k8s_openapi::api::apps::v1::Deployment,
    ar: &ApiResource,
) -> Vec<kube::runtime::reflector::ObjectRef<DynamicObject>> {
    use kube::ResourceExt;
    let (ns, name) = (deployment.namespace(), deployment.name_any());
    rollouts
        .iter()
        .filter(|r| r.namespace() == ns)
        .filter(|r| {
            let w = r.data.pointer("/spec/workloadRef");
            w.and_then(|w| w.get("name")).and_then(serde_json::Value::as_str) == Some(name.as_str())
                && w.and_then(|w| w.get("kind")).and_then(serde_json::Value::as_str) == Some("Deployment")
        })
        .map(|r| kube::runtime::reflector::ObjectRef::from_obj_with(r.as_ref(), ar.clone()))
        .collect()
}

/// Default requeue when the state machine asks for none: picks up changes of things not watched (a
/// `workloadRef` Deployment, router objects edited by hand).
pub(crate) const RESYNC: Duration = Duration::from_secs(120);
