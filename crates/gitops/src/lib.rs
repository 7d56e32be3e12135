//! The GitOpsConfig controller: keeps every application equal to what Git says.
//!
//! One reconcile of a [`GitOpsConfig`]: fetch its source ([`tack_source`], blocking, on the blocking pool; trees
//! cached by commit under [`ControllerConfig::cache_dir`]) → render (Kustomize when the path holds a
//! kustomization, a Helm chart, Jsonnet, or plain manifests, as [`tack_render`] picks) → sync with [`tack_apply::sync`] (server-side dry run, ordered
//! server-side apply, prune of what left Git when `spec.syncPolicy.automated.prune`) → assess health of the
//! applied objects with [`tack_health`] → write the status (sync, health, resources, inventory, history,
//! conditions Ready / Reconciling / Stalled, last operation).
//!
//! Without `spec.syncPolicy.automated` nothing is written to the cluster: the controller compares Git with the
//! cluster ([`tack_apply::diff`]) and reports `Synced` or `OutOfSync`. `spec.suspend` skips the application
//! entirely. Successful reconciles requeue at `spec.syncPolicy.interval` (default 3m, sooner while the
//! application is not yet healthy); failed ones back off exponentially (`spec.syncPolicy.retry.backoff`, by
//! default 5 s doubling up to 5 min). Changing the spec, or the annotation [`REFRESH_ANNOTATION`], triggers a
//! reconcile at once; status writes do not.
//!
//! The inventory used by prune lives in the ConfigMaps `tack-gitops-inventory-<name>` (split in parts when large,
//! owned by the GitOpsConfig), written before each batch of a sync and after its prune; `status.inventory` shows
//! it up to 1 000 objects. The ConfigMap `tack-inventory-<name>` of a one-shot `tack sync` of the same name is
//! adopted the first time, then deleted. Drift: every object of every
//! inventory is watched (metadata watches per kind and namespace, shared, see `drift.rs`); an edit by another
//! field manager, or a deletion, reconciles its application at once — reverted with selfHeal, reported
//! `OutOfSync` naming the objects without. `spec.dependsOn` applications must be Ready and Healthy first.
//! `spec.rollback` (set by `tack app rollback`) pins a commit: it is synced once, then automated sync stays
//! suspended until `tack app resume` removes it.
//!
//! Remote clusters (docs/clusters.md): `spec.destination.cluster` sends every request on the application's
//! objects, drift watches included, to a cluster registered as a Secret (`destination.rs`); status, Events and
//! inventory stay here, and a cluster that does not answer fails only its own applications (`ClusterUnreachable`).
//!
//! Tenancy (docs/tenancy.md): with `spec.serviceAccountName` (or [`Lockdown::default_service_account`]) every
//! request on the application's objects is made as that ServiceAccount of its namespace (`impersonation.rs`;
//! its hooks are checked first, `access.rs`), while status, Events and inventory stay with the controller's
//! identity; the lockdown flags (`lockdown.rs`) and the TenantPolicies governing the namespace (`policy.rs`,
//! pure matching; `tenancy.rs`, reading them) refuse what they forbid before anything is fetched or written.
//!
//! Scale (docs/benchmarks.md): applications following the same branch share its fetches (`resolution.rs`);
//! [`ControllerConfig::shard`] splits applications between controllers by a stable hash of `namespace/name`, and
//! [`run_member`] between the live members of a shard group found through Leases (`shard/`); either way one gate
//! at the start of every reconcile ([`shard::Gate`]) lets each controller reconcile only its own.

#![warn(missing_docs)]

mod access;
mod decryption;
pub mod destination;
mod drift;
mod events;
mod fetch;
mod health;
mod impersonation;
pub mod lease;
mod lockdown;
pub mod metrics;
pub mod policy;
pub mod preview;
mod push_paths;
mod reconcile;
mod resolution;
pub mod shard;
pub mod status;
mod tenancy;
pub mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector;
use kube::runtime::watcher;
use kube::runtime::{PredicateConfig, WatchStreamExt};
pub use tack_model::GitOpsConfig;

pub use decryption::{AGE_KEY_SUFFIX, identities_from_secret_data};
pub use fetch::{
    Fetched, SourceRender, checkout, fetch_and_render, render_dir, render_source, render_source_packed,
};
pub use impersonation::{Identities, service_account_user, valid_service_account_name};
/// The ServiceAccount an application acts as (`spec.serviceAccountName`, else `--default-service-account`):
/// also the identity of what other controllers (promotion) create on the application's behalf.
pub use lockdown::service_account as application_service_account;
pub use metrics::Metrics;
pub use reconcile::{Context, check_source_path, inventory_at};
pub use shard::Shard;
pub use status::{parse_interval, trigger_hash};

/// Set (to any new value, e.g. a timestamp) to make the controller reconcile an application now.
pub const REFRESH_ANNOTATION: &str = "tack.dev/refresh";

/// The merge patch that asks for a refresh: [`REFRESH_ANNOTATION`] set to `value` (a new value each time).
pub fn refresh_patch(value: &str) -> serde_json::Value {
    serde_json::json!({"metadata": {"annotations": {REFRESH_ANNOTATION: value}}})
}

/// Asks the controller to reconcile the GitOpsConfig `namespace/name` now, by applying `patch` (from
/// [`refresh_patch`]) as field manager `manager`: what a push webhook and a promotion do.
pub async fn request_refresh(
    client: &kube::Client,
    (namespace, name): (&str, &str),
    patch: &serde_json::Value,
    manager: &str,
) -> Result<(), kube::Error> {
    let params = kube::api::PatchParams {
        field_manager: Some(manager.to_string()),
        ..Default::default()
    };
    kube::Api::<tack_model::GitOpsConfig>::namespaced(client.clone(), namespace)
        .patch(name, &params, &kube::api::Patch::Merge(patch))
        .await
        .map(|_| ())
}

/// Set (to a new value: the time of the request, with `,prune` appended to also prune) to make the controller
/// sync an application now, even without `syncPolicy.automated` or after drift with selfHeal off: Git is applied
/// once, taking over drifted fields. `status.lastHandledSyncAt` records the value handled.
pub const SYNC_ANNOTATION: &str = "tack.dev/sync-requested-at";

/// The interval of applications that set none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(180);

/// The field manager of status writes; a controller that reconciles only some applications (sharding) writes
/// as `tack-controller/<identity>` or `tack-controller/shard-<index>` (see [`shard::writers`]).
pub const STATUS_MANAGER: &str = "tack-controller";

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Where Git mirrors and checked-out trees are kept.
    pub cache_dir: PathBuf,
    /// Watch only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    /// Applications reconciled at once.
    pub concurrency: u16,
    /// How far applications are confined (impersonation default, references, remote bases).
    pub lockdown: Lockdown,
    /// Where the Secrets of registered clusters (`spec.destination.cluster`) are read.
    pub clusters_namespace: String,
    /// Reconcile only the applications of this shard (`None`: all of them).
    pub shard: Option<Shard>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            cache_dir: default_cache_dir(),
            namespace: None,
            concurrency: 4,
            lockdown: Lockdown::default(),
            clusters_namespace: destination::DEFAULT_CLUSTERS_NAMESPACE.to_string(),
            shard: None,
        }
    }
}

/// The controller's lockdown flags, as Flux's multi-tenancy lockdown (docs/tenancy.md). The default confines
/// nothing beyond what each application asks for with `spec.serviceAccountName`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lockdown {
    /// `--default-service-account`: applications that name no ServiceAccount are impersonated as this one of
    /// their own namespace.
    pub default_service_account: Option<String>,
    /// `--no-cross-namespace-refs`: `spec.dependsOn` and the analysis templates of rendered Rollouts and
    /// Experiments may only name objects of the application's own namespace (Secrets always are).
    pub no_cross_namespace_refs: bool,
    /// `--no-remote-bases`: Kustomize remote bases are refused.
    pub no_remote_bases: bool,
}

pub use tack_source::default_cache_dir;

/// `fetching URL: why`, or only `why` when it begins with the URL already.
fn fetch_message(url: &str, source: &tack_source::Error) -> String {
    let why = source.to_string();
    if why.starts_with(url) {
        why
    } else {
        format!("fetching {url}: {why}")
    }
}

/// Why a reconcile failed. Messages say what failed and what to do; they never hold Secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Git source could not be fetched or checked out (the URL is said once: most source errors begin with
    /// it).
    #[error("{}", fetch_message(url, source))]
    Fetch {
        /// The repository URL, without credentials.
        url: String,
        /// Why.
        #[source]
        source: tack_source::Error,
    },
    /// A Helm chart from a chart repository or OCI registry (`spec.source.helm.chart`) could not be fetched.
    #[error("spec.source.helm.chart: fetching {chart}: {source}{hint}")]
    ChartFetch {
        /// The chart: repository or reference, name and version, without credentials.
        chart: String,
        /// Why.
        #[source]
        source: Box<tack_source::chart::ChartError>,
        /// What to change in the spec, when the failure says it (credentials, plain HTTP).
        hint: &'static str,
    },
    /// The source could not be rendered into manifests.
    #[error("{message}")]
    Render {
        /// The renderer's message, naming the file.
        message: String,
    },
    /// The sync (dry run, apply, prune, hooks or waves) failed.
    #[error(transparent)]
    Sync(#[from] tack_apply::SyncError),
    /// The Secret named for credentials is missing or unusable.
    #[error("credentials Secret {name}: {message}")]
    Credentials {
        /// The Secret's name.
        name: String,
        /// What is wrong with it (never its values).
        message: String,
    },
    /// The GitOpsConfig's spec cannot be acted on; retrying cannot help until it changes.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A request of tack-cluster failed.
    #[error(transparent)]
    Cluster(#[from] tack_cluster::ClusterError),
    /// A direct Kubernetes API request failed (reading Secrets, writing the status, ...).
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The fetch task died or was interrupted by shutdown.
    #[error("internal: {0}")]
    Internal(String),
    /// A `spec.dependsOn` application is not Ready and Healthy yet (retried every few seconds).
    #[error("{0}")]
    DependencyNotReady(String),
    /// A request the application needs is forbidden, found before anything is written: a hook its ServiceAccount
    /// may not run, or TenantPolicies the controller may not read.
    #[error("{0}")]
    Forbidden(String),
    /// The application breaks a rule of the controller's lockdown flags or of a TenantPolicy; the message names
    /// the rule and the field or object.
    #[error("{0}")]
    PolicyViolation(String),
    /// `spec.destination.cluster` names a cluster that is not registered, or whose Secret cannot be used.
    #[error("destination cluster {cluster}: {message}")]
    ClusterInvalid {
        /// The cluster's name.
        cluster: String,
        /// What is wrong (never a value of its Secret).
        message: String,
    },
    /// The destination cluster does not answer; only its applications wait (retried with the backoff).
    #[error("destination cluster {cluster} is unreachable: {message}")]
    ClusterUnreachable {
        /// The cluster's name.
        cluster: String,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Fetch { .. } | Error::ChartFetch { .. } => "FetchFailed",
            Error::Render { .. } => "RenderFailed",
            Error::Sync(_) => "SyncFailed",
            Error::Credentials { .. } => "CredentialsInvalid",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Cluster(_) | Error::Kube(_) => "ClusterError",
            Error::Internal(_) => "InternalError",
            Error::DependencyNotReady(_) => "DependencyNotReady",
            Error::PolicyViolation(_) => "PolicyViolation",
            Error::Forbidden(_) => "Forbidden",
            Error::ClusterInvalid { .. } => "ClusterInvalid",
            Error::ClusterUnreachable { .. } => "ClusterUnreachable",
        }
    }

    /// A broken TenantPolicy rule.
    pub(crate) fn policy(v: policy::Violation) -> Error {
        Error::PolicyViolation(v.to_string())
    }

    /// Whether retrying cannot help until Git or the spec changes.
    pub fn is_stalled(&self) -> bool {
        matches!(
            self,
            Error::Render { .. }
                | Error::InvalidSpec(_)
                | Error::Credentials { .. }
                | Error::PolicyViolation(_)
        )
    }
}

/// Runs the controller until `shutdown` completes; reconciles in flight are finished first. Metrics go to
/// [`Metrics::global`].
pub async fn run(
    client: kube::Client,
    config: ControllerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    run_with_metrics(client, config, Metrics::global(), shutdown).await;
}

/// [`run`], recording into `metrics`.
pub async fn run_with_metrics(
    client: kube::Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    run_with_deadlines(
        client,
        config,
        metrics,
        tack_source::Deadlines::default(),
        shutdown,
    )
    .await;
}

/// [`run_with_metrics`], with the deadlines of Git fetches (connect, idle, whole fetch).
pub async fn run_with_deadlines(
    client: kube::Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    git_deadlines: tack_source::Deadlines,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    run_gated(client, config, metrics, git_deadlines, None, shutdown).await;
}

/// [`run_with_metrics`] as a member of an automatic shard group: only the applications `ownership` owns, once
/// their handover settled ([`shard::members::run_member`] gives the `ownership`). [`ControllerConfig::shard`] must
/// be `None`.
pub async fn run_member(
    client: kube::Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    ownership: shard::members::Ownership,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let deadlines = tack_source::Deadlines::default();
    run_gated(client, config, metrics, deadlines, Some(ownership), shutdown).await;
}

async fn run_gated(
    client: kube::Client,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    git_deadlines: tack_source::Deadlines,
    ownership: Option<shard::members::Ownership>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<GitOpsConfig> = match &config.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let concurrency = config.concurrency.max(1);
    let gate = match (ownership, config.shard) {
        (Some(ownership), _) => shard::Gate::Auto(ownership),
        (None, Some(shard)) => shard::Gate::Static(shard),
        (None, None) => shard::Gate::All,
    };
    let (reader, writer) = reflector::store();
    // Series of deleted applications leave `tack_objects_managed`.
    let forget = tokio::spawn(metrics::forget_deleted(
        reader.clone(),
        metrics.clone(),
        config.namespace.clone(),
    ));
    // Each controller writes the status under its own name when applications are split between controllers.
    let status_manager = match &gate {
        shard::Gate::Auto(ownership) => shard::writers::status_manager(&ownership.identity()),
        shard::Gate::Static(shard) => shard::writers::static_shard_manager(shard.index()),
        shard::Gate::All => STATUS_MANAGER.to_string(),
    };
    let ctx = Arc::new(
        reconcile::Context::new(client, config, metrics.clone())
            .with_git_deadlines(git_deadlines)
            .with_status_manager(status_manager),
    );
    // Shutdown interrupts Git fetches in flight (a silent server must not hold it up).
    let interrupt = ctx.interrupt.clone();
    let shutdown = async move {
        shutdown.await;
        interrupt.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    // Spec changes (generation) and refresh requests trigger a reconcile; status writes do not. A deleted
    // application is forgotten at once (its drift watches stop).
    let on_delete = ctx.clone();
    // Applications this controller reconciled, when sharded: only those have anything to forget when they turn out
    // to be another controller's.
    let reconciled: Arc<std::sync::Mutex<std::collections::HashSet<String>>> = Arc::default();
    let deleted = reconciled.clone();
    // The store keeps every application without `metadata.managedFields` (a tree per field manager, often larger
    // than the rest of the object once the status lists its resources): nothing reads them from the store (the
    // status writers read them from the answer of their write).
    let trigger = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|app| kube::ResourceExt::managed_fields_mut(app).clear())
        .reflect(writer)
        .then(move |event| {
            let (ctx, deleted) = (on_delete.clone(), deleted.clone());
            async move {
                if let Ok(watcher::Event::Delete(app)) = &event {
                    let app_ref = reflector::ObjectRef::from_obj(app);
                    let key = format!(
                        "{}/{}",
                        app_ref.namespace.as_deref().unwrap_or_default(),
                        app_ref.name
                    );
                    match deleted.lock() {
                        Ok(mut s) => s.remove(&key),
                        Err(poisoned) => poisoned.into_inner().remove(&key),
                    };
                    ctx.forget(&app_ref).await;
                }
                event
            }
        })
        .applied_objects()
        .predicate_filter(trigger_hash, PredicateConfig::default());
    // Edits and deletions of managed objects (drift) trigger a reconcile of their application.
    let drifted = ctx.drift.triggers(reader.clone());
    // With automatic sharding, the applications whose owner changed.
    let handed_over = match &gate {
        shard::Gate::Auto(ownership) => ownership.triggers(reader.clone()).boxed(),
        _ => futures::stream::empty().boxed(),
    };
    match &gate {
        shard::Gate::Static(s) => tracing::info!("controller started: {s}"),
        shard::Gate::Auto(o) => tracing::info!(
            "controller started: member {} of an automatic shard group",
            o.identity()
        ),
        shard::Gate::All => tracing::info!("controller started"),
    }
    let gated = gated_reconcile(gate, metrics, reconciled);
    Controller::for_stream(trigger, reader)
        .reconcile_on(drifted)
        .reconcile_on(handed_over)
        .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(gated, reconcile::error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(app = %obj, "reconciled"),
                // A reconcile asked for (by drift, or a requeue) just before its application was deleted.
                Err(kube::runtime::controller::Error::ObjectNotFound(obj)) => {
                    tracing::debug!(app = %obj, "deleted; not reconciled")
                }
                Err(e) => tracing::warn!("reconcile failed: {e}"),
            }
        })
        .await;
    forget.abort();
    tracing::info!("controller stopped");
}

/// The reconciler behind the gate: [`reconcile::reconcile`] when `gate` admits the application; when it is another
/// controller's, nothing, after forgetting what this one kept of it (drift watches, backoff, `tack_objects_managed`),
/// if it reconciled it before (`reconciled`, kept only when sharded).
fn gated_reconcile(
    gate: shard::Gate,
    metrics: Arc<Metrics>,
    reconciled: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
) -> impl FnMut(
    Arc<GitOpsConfig>,
    Arc<reconcile::Context>,
) -> futures::future::BoxFuture<'static, Result<kube::runtime::controller::Action, Error>> {
    let sharded = !matches!(gate, shard::Gate::All);
    move |app: Arc<GitOpsConfig>, ctx: Arc<reconcile::Context>| {
        let app_ref = reflector::ObjectRef::from_obj(app.as_ref());
        let key = format!(
            "{}/{}",
            app_ref.namespace.as_deref().unwrap_or_default(),
            app_ref.name
        );
        let decision = gate.admit(app_ref.namespace.as_deref().unwrap_or_default(), &app_ref.name);
        let mut seen = match reconciled.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let forget = match &decision {
            shard::Decision::Start(_) => {
                if sharded {
                    seen.insert(key.clone());
                }
                false
            }
            shard::Decision::Wait => false,
            shard::Decision::NotOurs => seen.remove(&key),
        };
        drop(seen);
        let metrics = metrics.clone();
        Box::pin(async move {
            match decision {
                shard::Decision::Start(admitted) => {
                    let result = reconcile::reconcile(app, ctx).await;
                    drop(admitted);
                    result
                }
                shard::Decision::Wait => Ok(kube::runtime::controller::Action::await_change()),
                shard::Decision::NotOurs => {
                    if forget {
                        ctx.forget(&app_ref).await;
                        metrics.retain_apps(|k| k != key);
                    }
                    Ok(kube::runtime::controller::Action::await_change())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetch_error_says_the_url_once() {
        let url = "git://127.0.0.1:9418/repo.git";
        let unreachable = tack_source::Error::Unreachable {
            url: url.to_string(),
            revision: "main".to_string(),
            cause: "Connection refused".to_string(),
        };
        let e = Error::Fetch {
            url: url.to_string(),
            source: unreachable,
        };
        assert_eq!(e.to_string().matches(url).count(), 1, "{e}");
        let cache = tack_source::Error::Cache {
            path: "/cache/mirrors/x".into(),
            source: std::io::Error::other("No space left on device"),
        };
        let e = Error::Fetch {
            url: url.to_string(),
            source: cache,
        };
        assert!(
            e.to_string()
                .starts_with(&format!("fetching {url}: cache directory")),
            "{e}"
        );
    }
}
