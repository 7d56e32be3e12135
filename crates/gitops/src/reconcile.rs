//! One reconcile of one GitOpsConfig: [`reconcile`] wires the steps of [`attempt`] (check the spec, wait for
//! dependencies, fetch and render, read the inventory, sync or compare, assess health) to the pure status
//! transition [`crate::status::next`], the status write and the Event.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tack_apply::{Action, DiffOptions, InventoryRef, InventoryStore, SyncOptions};
use tack_cluster::Cluster;
use tack_health::HealthStatus;
use tack_model::{GitOpsConfig, GitOpsConfigStatus, HealthStatus as HealthField, ResourceStatus, SyncState};
use tack_plan::{IgnoreRule, ObjectId};
use tack_render::{Head, PackedManifest};
use tack_source::{Credentials, Deadlines, Repository, Revision};

use crate::destination::{Destinations, Target};
use crate::drift::Drift;
use crate::events::{Note, Recorder};
use crate::lockdown;
use crate::resolution::Resolutions;
use crate::status::{self, Attempted, Failed, Observed, Outcome, backoff, interval, now};
use crate::{ControllerConfig, Error, STATUS_MANAGER, fetch};

/// While an application waits for its dependencies, it looks at them again this often.
const DEPENDENCY_RECHECK: Duration = Duration::from_secs(5);

/// While an application is not healthy yet, it is looked at again at least this often.
const UNHEALTHY_RECHECK: Duration = Duration::from_secs(5);

/// Shared by every reconcile.
pub struct Context {
    client: kube::Client,
    cluster: Cluster,
    config: ControllerConfig,
    /// Consecutive failures per `namespace/name`, for the backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Kubernetes Events on the GitOpsConfigs (repeats of a message are folded into a series).
    recorder: Recorder,
    metrics: Arc<crate::Metrics>,
    /// Watches of the managed objects, for drift detection.
    pub drift: Arc<Drift>,
    /// Set on shutdown: Git fetches in flight stop (within a second for `git://`), and reconciles stop waiting
    /// for them.
    pub interrupt: Arc<AtomicBool>,
    git_deadlines: Deadlines,
    /// The clusters applications are deployed to (this one, registered ones), with their impersonated
    /// ServiceAccounts.
    destinations: Destinations,
    /// The latest commit of each branch or tag fetched, shared by the applications following it.
    resolutions: Arc<Resolutions>,
    /// The field manager of status writes (`shard::writers`).
    status_manager: String,
}

impl Context {
    /// What every reconcile shares, for the controller's `client` and settings; also used to preview a sync
    /// ([`crate::preview`]) outside the controller.
    pub fn new(client: kube::Client, config: ControllerConfig, metrics: Arc<crate::Metrics>) -> Self {
        let cluster = Cluster::from_client(client.clone(), "default");
        // The same discovery cache as the syncs, which refresh it after applying CRDs.
        let drift = Arc::new(Drift::new(cluster.clone(), metrics.clone()));
        let destinations =
            Destinations::new(client.clone(), config.clusters_namespace.clone(), cluster.clone());
        Context {
            cluster: cluster.clone(),
            client: client.clone(),
            config,
            failures: Mutex::new(HashMap::new()),
            recorder: Recorder::new(client.clone(), crate::STATUS_MANAGER),
            metrics,
            drift,
            interrupt: Arc::default(),
            git_deadlines: Deadlines::default(),
            destinations,
            resolutions: Arc::default(),
            status_manager: STATUS_MANAGER.to_string(),
        }
    }

    /// Sets the field manager of status writes (one per controller when sharded, see `shard::writers`).
    pub fn with_status_manager(mut self, manager: String) -> Self {
        self.status_manager = manager;
        self
    }

    /// The cluster an application's requests go to (on `target`): as its ServiceAccount (see
    /// [`lockdown::service_account`]), or with the controller's identity; and the ServiceAccount's user name, if
    /// any.
    fn acting_for(&self, obj: &GitOpsConfig, target: &Target) -> Result<(Cluster, Option<String>), Error> {
        let Some(name) = lockdown::service_account(obj, &self.config.lockdown)? else {
            return Ok((target.cluster.clone(), None));
        };
        let namespace = obj.namespace().unwrap_or_default();
        let user = crate::impersonation::service_account_user(&namespace, &name);
        let cluster = target
            .identities
            .service_account(&namespace, &name)
            .ok_or_else(|| Error::InvalidSpec(format!("{user} cannot be sent as an impersonation header")))?;
        Ok((cluster, Some(user)))
    }

    /// Sets the deadlines of Git fetches.
    pub fn with_git_deadlines(mut self, deadlines: Deadlines) -> Self {
        self.git_deadlines = deadlines;
        self
    }

    /// Forgets an application that was deleted: its backoff and its drift watches.
    pub async fn forget(&self, app: &ObjectRef<GitOpsConfig>) {
        let key = format!("{}/{}", app.namespace.as_deref().unwrap_or_default(), app.name);
        self.failures(&key, false);
        self.drift.track(app, BTreeSet::new()).await;
    }

    /// Sets what `obj` manages for its drift watches, on the cluster it is deployed to.
    async fn track(&self, obj: &GitOpsConfig, app: &ObjectRef<GitOpsConfig>, ids: BTreeSet<ObjectId>) {
        let cluster = crate::destination::cluster_of(obj);
        match self.destinations.cached(cluster).filter(Target::is_remote) {
            Some(t) => {
                let on = (t.name.as_str(), t.version.as_str(), &t.cluster);
                self.drift.track_on(app, Some(on), ids).await;
            }
            None if cluster.is_none() => self.drift.track(app, ids).await,
            // Never resolved: nothing of it can be watched yet.
            None => {}
        }
    }

    fn failures(&self, key: &str, failed: bool) -> u32 {
        let mut map = match self.failures.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if failed {
            let n = map.entry(key.to_string()).or_insert(0);
            *n += 1;
            *n
        } else {
            map.remove(key);
            0
        }
    }
}

/// A failed attempt, with the revision when the fetch got that far.
pub(crate) struct Failure {
    pub(crate) revision: Option<String>,
    pub(crate) error: Box<Error>,
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            revision: None,
            error: Box::new(e.into()),
        }
    }
}

/// Wiring of one reconcile: attempt, status ([`crate::status::next`]), inventory adoption, Event, requeue.
pub async fn reconcile(obj: Arc<GitOpsConfig>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let key = format!("{namespace}/{name}");
    if obj.spec.suspend {
        tracing::info!(app = %key, "suspended; skipped");
        return Ok(Requeue::await_change());
    }
    let started = now();
    let clock = std::time::Instant::now();
    let result = attempt(&obj, &ctx).await;
    let automated = obj
        .spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated.is_some());
    ctx.metrics
        .observe_reconcile(clock.elapsed(), result.is_ok(), automated);
    let finished = now();
    let observed = Observed {
        name: &name,
        generation: obj.meta().generation,
        sync_requested: obj.annotations().get(crate::SYNC_ANNOTATION).map(String::as_str),
        rollback: obj.spec.rollback.as_ref().map(|r| r.revision.as_str()),
        started: &started,
    };
    let previous = obj.status.clone().unwrap_or_default();
    let app_ref = ObjectRef::new(&name).within(&namespace);
    let (status, note, requeue, adopted) = match result {
        Ok((out, ids)) => {
            ctx.failures(&key, false);
            ctx.metrics.set_objects_managed(&key, ids.len());
            tracing::info!(
                app = %key, revision = %out.revision, engine = out.engine, sync = ?out.sync,
                health = out.health.status.as_str(), "{}", out.summary
            );
            ctx.track(&obj, &app_ref, ids).await;
            let note = out.changed.then(|| Note {
                warning: false,
                reason: "Synced".into(),
                action: "Sync".into(),
                message: format!("{}: {}", short(&out.revision), out.summary),
            });
            let every = interval(&obj).unwrap_or(crate::DEFAULT_INTERVAL);
            let requeue = if out.health.status == HealthStatus::Healthy {
                every
            } else {
                every.min(UNHEALTHY_RECHECK)
            };
            let status = status::next(&previous, &observed, Attempted::Succeeded(&out), &finished);
            (status, note, requeue, out.adopted)
        }
        Err(Failure { revision, error }) => {
            let failed = failed(&obj, &ctx, &key, revision, &error);
            if let Some(ids) = &failed.inventory {
                let ids: BTreeSet<ObjectId> = ids.iter().filter_map(|i| i.parse().ok()).collect();
                ctx.track(&obj, &app_ref, ids).await;
            }
            let note = (!matches!(*error, Error::DependencyNotReady(_))).then(|| Note {
                warning: true,
                reason: error.reason().into(),
                action: "Reconcile".into(),
                message: failed.message.clone(),
            });
            let mut status = status::next(&previous, &observed, Attempted::Failed(&failed), &finished);
            if matches!(*error, Error::ClusterUnreachable { .. }) {
                crate::destination::health_unknown(&mut status, &failed.message);
            }
            (status, note, failed.retry_in, false)
        }
    };
    write_status(&ctx.client, &ctx.status_manager, &obj, &status).await?;
    if adopted {
        adopt_done(&ctx, &obj, &key).await;
    }
    if let Some(note) = note
        && let Err(e) = ctx.recorder.publish(&note, &obj.object_ref(&())).await
    {
        tracing::debug!(app = %key, "cannot publish an event: {e}");
    }
    Ok(Requeue::requeue(requeue))
}

/// How a failed attempt is told and retried.
fn failed(obj: &GitOpsConfig, ctx: &Context, key: &str, revision: Option<String>, error: &Error) -> Failed {
    let waiting = matches!(error, Error::DependencyNotReady(_));
    let failures = if waiting { 0 } else { ctx.failures(key, true) };
    if matches!(error, Error::Fetch { .. }) {
        ctx.metrics.git_fetch_error();
    }
    let limited = retry_limit_reached(obj, failures);
    let retry_in = if waiting {
        DEPENDENCY_RECHECK
    } else if limited {
        interval(obj).unwrap_or(crate::DEFAULT_INTERVAL)
    } else {
        backoff(obj, failures)
    };
    let mut message = error.to_string();
    if limited && !waiting {
        message.push_str(&format!(
            "; retry limit reached ({} failures): the next attempt comes with the interval or a change",
            failures
        ));
    }
    tracing::warn!(app = %key, reason = error.reason(), retry_in = ?retry_in, "{message}");
    // A sync that failed part-way still changed what the application manages.
    let inventory = match error {
        Error::Sync(
            tack_apply::SyncError::Apply { inventory, .. } | tack_apply::SyncError::Prune { inventory, .. },
        ) => Some(inventory.iter().map(ToString::to_string).collect()),
        _ => None,
    };
    Failed {
        revision,
        reason: error.reason(),
        message,
        stalled: error.is_stalled(),
        retry_in,
        inventory,
    }
}

/// `spec.syncPolicy.syncOptions`, read.
#[derive(Debug, Default, PartialEq)]
struct AppSyncOptions {
    create_namespace: bool,
    replace: bool,
    force: bool,
    propagation: Option<tack_apply::Propagation>,
}

/// Reads `spec.syncPolicy.syncOptions`; an option tack cannot honour is an invalid spec (never ignored).
fn app_sync_options(obj: &GitOpsConfig) -> Result<AppSyncOptions, Error> {
    use tack_apply::Propagation;
    let mut out = AppSyncOptions::default();
    let options = obj
        .spec
        .sync_policy
        .as_ref()
        .map(|p| p.sync_options.as_slice())
        .unwrap_or(&[]);
    for o in options.iter().map(|o| o.trim()) {
        match o {
            "CreateNamespace=true" => out.create_namespace = true,
            "Replace=true" => out.replace = true,
            "Force=true" => out.force = true,
            "PrunePropagationPolicy=foreground" => out.propagation = Some(Propagation::Foreground),
            "PrunePropagationPolicy=background" => out.propagation = Some(Propagation::Background),
            "PrunePropagationPolicy=orphan" => out.propagation = Some(Propagation::Orphan),
            "ServerSideApply=true" | "CreateNamespace=false" | "Replace=false" | "Force=false" => {}
            other => {
                return Err(Error::InvalidSpec(format!(
                    "spec.syncPolicy.syncOptions: `{other}` is not an option tack supports for a whole \
                     application (CreateNamespace=true, PrunePropagationPolicy=foreground|background|orphan, \
                     Replace=true, Force=true, ServerSideApply=true); per-object options go in the objects' \
                     argocd.argoproj.io/sync-options annotation"
                )));
            }
        }
    }
    Ok(out)
}

/// Whether `failures` consecutive failures exhausted `spec.syncPolicy.retry.limit` (default 5; negative: never):
/// then the application is tried again at its interval (or on a change), not with the backoff.
fn retry_limit_reached(obj: &GitOpsConfig, failures: u32) -> bool {
    let limit = obj
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.retry.as_ref())
        .and_then(|r| r.limit)
        .unwrap_or(5);
    limit >= 0 && i64::from(failures) > limit
}

/// The inventory is kept by the controller now: the ConfigMap of the one-shot sync is no longer used.
async fn adopt_done(ctx: &Context, obj: &GitOpsConfig, key: &str) {
    let name = obj.name_any();
    let destination = destination_of(obj).unwrap_or_default();
    match tack_apply::delete_inventory(&ctx.cluster, &name, &destination).await {
        Ok(_) => {
            tracing::info!(app = %key, "inventory adopted from ConfigMap {}", tack_apply::inventory_name(&name))
        }
        Err(e) => {
            tracing::warn!(app = %key, "inventory adopted, but its ConfigMap could not be deleted: {e}")
        }
    }
}

pub fn error_policy(obj: Arc<GitOpsConfig>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(app = %obj.name_any(), "cannot write the status: {error}");
    Requeue::requeue(Duration::from_secs(10))
}

async fn write_status(
    client: &kube::Client,
    manager: &str,
    obj: &GitOpsConfig,
    status: &GitOpsConfigStatus,
) -> Result<(), Error> {
    let api: Api<GitOpsConfig> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let apply = |status: &GitOpsConfigStatus| {
        let patch = json!({
            "apiVersion": tack_model::GitOpsConfig::api_version(&()),
            "kind": tack_model::GitOpsConfig::kind(&()),
            "status": status,
        });
        let (api, name) = (api.clone(), obj.name_any());
        async move {
            api.patch_status(&name, &PatchParams::apply(manager).force(), &Patch::Apply(&patch))
                .await
        }
    };
    let written = apply(status).await?;
    // Fields another controller wrote (before a handover) and this one does not set would stay: take them over.
    let others = crate::shard::writers::other_writers(written.managed_fields(), manager);
    if !others.is_empty() {
        let app = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
        let others = others.join(", ");
        match crate::shard::writers::take_over(&api, &written, status, manager).await {
            Ok(()) => tracing::info!(app = %app, "took the status over from {others}"),
            Err(e) => tracing::warn!(app = %app, "cannot take the status over from {others}: {e}"),
        }
    }
    Ok(())
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

async fn credentials(client: &kube::Client, obj: &GitOpsConfig) -> Result<Option<Credentials>, Error> {
    let Some(secret_ref) = &obj.spec.source.credentials_secret else {
        return Ok(None);
    };
    let (data, cred_err) = secret_data(client, obj, &secret_ref.name, "").await?;
    Credentials::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map_err(&cred_err)?
        .ok_or_else(|| cred_err("holds none of the keys username, password, token".into()))
        .map(Some)
}

/// The data of Secret `name` in the application's namespace, and how to report a problem with it (prefixed
/// with the spec field naming the Secret, if any); a Secret that cannot be read or does not exist is an error
/// saying which keys to create it with.
async fn secret_data(
    client: &kube::Client,
    obj: &GitOpsConfig,
    name: &str,
    field: &str,
) -> Result<
    (
        std::collections::BTreeMap<String, k8s_openapi::ByteString>,
        impl Fn(String) -> Error,
    ),
    Error,
> {
    let namespace = obj.namespace().unwrap_or_default();
    let (shown, field) = (format!("{namespace}/{name}"), field.to_string());
    let cred_err = move |message: String| Error::Credentials {
        name: shown.clone(),
        message: format!("{field}{message}"),
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| cred_err(format!("cannot be read: {e}")))?
        .ok_or_else(|| {
            cred_err("not found; create it with the keys username + password, or token (bearerToken)".into())
        })?;
    Ok((secret.data.unwrap_or_default(), cred_err))
}

/// The credentials of `spec.source.helm.chart.credentialsSecret`, read from the application's namespace.
async fn chart_credentials(
    client: &kube::Client,
    obj: &GitOpsConfig,
) -> Result<Option<tack_source::chart::ChartAuth>, Error> {
    let secret_ref = obj
        .spec
        .source
        .helm
        .as_ref()
        .and_then(|h| h.chart.as_ref())
        .and_then(|c| c.credentials_secret.as_ref());
    let Some(secret_ref) = secret_ref else {
        return Ok(None);
    };
    let field = "(spec.source.helm.chart.credentialsSecret) ";
    let (data, cred_err) = secret_data(client, obj, &secret_ref.name, field).await?;
    tack_source::chart::ChartAuth::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map_err(&cred_err)?
        .ok_or_else(|| cred_err("holds none of the keys username, password, bearerToken".into()))
        .map(Some)
}

/// A request of `tack app sync` not handled yet.
struct SyncRequest {
    prune: bool,
    /// `tack app sync --prune --confirm`: prune what only a confirmed sync may.
    confirm: bool,
}

fn sync_request(obj: &GitOpsConfig) -> Option<SyncRequest> {
    let value = obj.annotations().get(crate::SYNC_ANNOTATION)?;
    let handled = obj
        .status
        .as_ref()
        .and_then(|s| s.last_handled_sync_at.as_deref());
    (handled != Some(value.as_str())).then(|| SyncRequest {
        prune: value.split(',').skip(1).any(|o| o.trim() == "prune"),
        confirm: value.split(',').skip(1).any(|o| o.trim() == "confirm"),
    })
}

/// The namespace objects go to: `spec.destination.namespace`, else the GitOpsConfig's own.
fn destination_of(obj: &GitOpsConfig) -> Result<String, Error> {
    obj.spec
        .destination
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| obj.namespace())
        .ok_or_else(|| Error::InvalidSpec("no destination namespace".into()))
}

/// `Err(DependencyNotReady)` until every `spec.dependsOn` application is Ready (for its current generation)
/// and Healthy.
async fn check_dependencies(client: &kube::Client, obj: &GitOpsConfig) -> Result<(), Error> {
    let own = obj.namespace().unwrap_or_default();
    if !obj.spec.depends_on.is_empty()
        && let Some(cycle) = dependency_cycle(client, obj).await?
    {
        return Err(Error::InvalidSpec(format!(
            "spec.dependsOn forms a cycle: {}; remove one of these dependencies",
            cycle.join(" → ")
        )));
    }
    for dep in &obj.spec.depends_on {
        let ns = dep
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| own.clone());
        let api: Api<GitOpsConfig> = Api::namespaced(client.clone(), &ns);
        let who = format!("{ns}/{}", dep.name);
        let Some(other) = api.get_opt(&dep.name).await? else {
            return Err(Error::DependencyNotReady(format!(
                "waiting for dependency {who}: no such GitOpsConfig; create it or remove it from spec.dependsOn"
            )));
        };
        let s = other.status.clone().unwrap_or_default();
        let ready = s
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .filter(|c| c.status == "True");
        let current = s.observed_generation == other.metadata.generation;
        let healthy = s.health.as_ref().is_some_and(|h| h.status == "Healthy");
        if ready.is_none() || !current || !healthy {
            let why = s
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| format!("Ready={} ({}: {})", c.status, c.reason, c.message))
                .unwrap_or_else(|| "not reconciled yet".into());
            return Err(Error::DependencyNotReady(format!(
                "waiting for dependency {who}: {why}"
            )));
        }
    }
    Ok(())
}

/// The first cycle through `obj` in the dependsOn graph (`ns/name` of each application, `obj` first and last),
/// looking at 64 applications at most.
async fn dependency_cycle(client: &kube::Client, obj: &GitOpsConfig) -> Result<Option<Vec<String>>, Error> {
    let key = |ns: &str, name: &str| format!("{ns}/{name}");
    let own_ns = obj.namespace().unwrap_or_default();
    let start = key(&own_ns, &obj.name_any());
    let refs = |ns: &str, deps: &[tack_model::DependencyRef]| -> Vec<String> {
        deps.iter()
            .map(|d| {
                key(
                    d.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(ns),
                    &d.name,
                )
            })
            .collect()
    };
    // Depth-first, with the path of each node.
    let mut stack: Vec<(String, Vec<String>)> = refs(&own_ns, &obj.spec.depends_on)
        .into_iter()
        .map(|k| (k, vec![start.clone()]))
        .collect();
    let mut visited = std::collections::HashSet::new();
    while let Some((node, mut path)) = stack.pop() {
        path.push(node.clone());
        if node == start {
            return Ok(Some(path));
        }
        if !visited.insert(node.clone()) || visited.len() > 64 {
            continue;
        }
        let Some((ns, name)) = node.split_once('/') else {
            continue;
        };
        let api: Api<GitOpsConfig> = Api::namespaced(client.clone(), ns);
        if let Some(other) = api.get_opt(name).await? {
            for next in refs(ns, &other.spec.depends_on) {
                stack.push((next, path.clone()));
            }
        }
    }
    Ok(None)
}

/// `spec.source.path` must stay inside the repository: a path that leaves it is an invalid spec, not a
/// failure to retry.
pub fn check_source_path(path: &str) -> Result<(), Error> {
    tack_source::relative_path(path)
        .map(|_| ())
        .map_err(|reason| Error::InvalidSpec(format!("spec.source.path {path:?} {reason}")))
}

/// Resolves and checks out the source with the controller's deadlines and interrupt flag: the commit, the
/// directory of `path` and the checkout's root.
/// A branch or tag is resolved through `shared` (`key`, asked at `asked`): a fetch of the same revision with the
/// same credentials that started after `asked` answers it, so one push to a monorepo is fetched a few times, not
/// once per application.
fn checkout(
    url: &str,
    (revision, path): (&str, &str),
    credentials: Option<Credentials>,
    cache: &std::path::Path,
    (deadlines, interrupt): (Deadlines, Arc<AtomicBool>),
    (shared, key, asked): (&Resolutions, crate::resolution::Key, std::time::Instant),
) -> Result<(String, std::path::PathBuf, std::path::PathBuf), Error> {
    let source_err = |source| Error::Fetch {
        url: url.to_string(),
        source,
    };
    let repo = Repository::new(url, cache)
        .map_err(source_err)?
        .with_credentials(credentials)
        .with_deadlines(deadlines)
        .with_interrupt(interrupt);
    let wanted = Revision::parse(revision);
    let checkout = match wanted {
        Revision::Commit(_) => repo.checkout(&wanted).map_err(source_err)?,
        _ => {
            let commit = shared.resolve(key, asked, || {
                repo.checkout(&wanted).map(|c| c.commit).map_err(source_err)
            })?;
            repo.checkout(&Revision::Commit(commit)).map_err(source_err)?
        }
    };
    let dir = checkout.path(path).map_err(source_err)?;
    Ok((checkout.commit.clone(), dir, checkout.root.clone()))
}

/// Fetches the source (on the blocking pool) and renders it. On shutdown the reconcile stops waiting at once.
/// What a source rendered to at one commit, kept compact.
pub(crate) struct Fetched {
    /// The full commit SHA.
    pub(crate) revision: String,
    /// The renderer's name.
    pub(crate) engine: &'static str,
    /// The rendered objects, each with the file (and line) it came from.
    pub(crate) manifests: Vec<PackedManifest>,
}

pub(crate) async fn fetch_rendered(
    obj: &GitOpsConfig,
    ctx: &Context,
    remote: tack_render::RemoteBaseCheck,
) -> Result<Fetched, Failure> {
    let creds = credentials(&ctx.client, obj).await?;
    let url = obj.spec.source.repo_url.clone();
    // A rollback pins the commit.
    let revision = match &obj.spec.rollback {
        Some(r) => r.revision.clone(),
        None => obj.spec.source.revision.clone().unwrap_or_default(),
    };
    let path = obj.spec.source.path.clone().unwrap_or_default();
    let how = fetch::SourceRender::of(&obj.name_any(), &destination_of(obj)?, &obj.spec.source)?
        .with_chart_auth(chart_credentials(&ctx.client, obj).await?)
        .with_remote_bases(remote)
        .with_decryption(crate::decryption::identities(&ctx.client, obj).await?);
    let cache = ctx.config.cache_dir.clone();
    let (deadlines, interrupt) = (ctx.git_deadlines, ctx.interrupt.clone());
    let shared = ctx.resolutions.clone();
    let secret = obj
        .spec
        .source
        .credentials_secret
        .as_ref()
        .map(|s| s.name.as_str());
    let key = (
        url.clone(),
        revision.clone(),
        secret.map_or(String::new(), |s| {
            format!("{}/{s}", obj.namespace().unwrap_or_default())
        }),
    );
    let asked = std::time::Instant::now();
    let task = tokio::task::spawn_blocking(move || -> Result<Fetched, Failure> {
        let (commit, dir, root) = checkout(
            &url,
            (&revision, &path),
            creds,
            &cache,
            (deadlines, interrupt),
            (&shared, key, asked),
        )?;
        match fetch::render_source_packed(&dir, &root, &how) {
            Ok((engine, manifests)) => Ok(Fetched {
                revision: commit,
                engine,
                manifests,
            }),
            Err(error) => Err(Failure {
                revision: Some(commit),
                error: Box::new(error),
            }),
        }
    });
    let interrupted = async {
        while !ctx.interrupt.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::select! {
        done = task => done.map_err(|e| Error::Internal(format!("fetch task: {e}")))?,
        () = interrupted => Err(Error::Internal("shutting down: the fetch was interrupted".into()).into()),
    }
}

pub(crate) fn ignore_rules(obj: &GitOpsConfig) -> Vec<IgnoreRule> {
    obj.spec
        .ignore_differences
        .iter()
        .map(|d| IgnoreRule {
            group: d.group.clone(),
            kind: d.kind.clone(),
            name: d.name.clone(),
            namespace: d.namespace.clone(),
            json_pointers: d.json_pointers.clone(),
        })
        .collect()
}

/// Where the controller keeps the inventory of `obj`: ConfigMaps `tack-gitops-inventory-<name>` in the
/// application's namespace, owned by the GitOpsConfig (they go when it is deleted).
pub fn inventory_at(obj: &GitOpsConfig) -> InventoryRef {
    let name = obj.name_any();
    InventoryRef {
        name: format!("tack-gitops-inventory-{name}"),
        namespace: obj.namespace().unwrap_or_default(),
        app: name,
        owner_references: obj
            .controller_owner_ref(&())
            .and_then(|o| serde_json::to_value(o).ok())
            .into_iter()
            .collect(),
    }
}

/// The inventory before this reconcile, whether its ConfigMaps hold it already, and whether it was adopted from
/// a one-shot `tack sync`. Read from the inventory ConfigMaps (with what an older status lists), else from the
/// status, else, the first time, from the ConfigMap of a one-shot `tack sync` of the same name in the
/// destination namespace (adopted, then deleted).
pub(crate) async fn previous_inventory(
    ctx: &Context,
    obj: &GitOpsConfig,
    destination: &str,
) -> Result<(BTreeSet<ObjectId>, bool, bool), Error> {
    let from_status: BTreeSet<ObjectId> = status_inventory(obj)
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect();
    if let Some(stored) = tack_apply::read_at(&ctx.cluster, &inventory_at(obj)).await? {
        let in_store = from_status.is_subset(&stored.ids);
        let mut ids = stored.ids;
        ids.extend(from_status);
        return Ok((ids, in_store, false));
    }
    if !from_status.is_empty() {
        return Ok((from_status, false, false));
    }
    let cm = tack_apply::read_inventory(&ctx.cluster, &obj.name_any(), destination).await?;
    let adopted = !cm.ids.is_empty();
    Ok((cm.ids, false, adopted))
}

/// How this reconcile applies Git (`None`: it only compares).
fn apply_policy(obj: &GitOpsConfig, revision: &str) -> Option<tack_model::Automated> {
    let policy = obj.spec.sync_policy.clone().unwrap_or_default();
    // Without selfHeal, a commit already synced (same spec) is only compared: drift is reported, not reverted.
    // A rollback is synced once, then only compared until `tack app resume`.
    let already_synced = obj.status.as_ref().is_some_and(|s| {
        s.observed_generation == obj.meta().generation
            && s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(revision)
    });
    // A sync request (`tack app sync`) not handled yet: apply once, taking drifted fields back.
    let request = sync_request(obj);
    match (&obj.spec.rollback, &policy.automated) {
        _ if request.is_some() => Some(tack_model::Automated {
            prune: request.as_ref().is_some_and(|r| r.prune)
                || policy.automated.as_ref().is_some_and(|a| a.prune),
            self_heal: true,
        }),
        (Some(_), auto) if !already_synced => Some(auto.clone().unwrap_or_default()),
        (Some(_), _) => None,
        (None, Some(auto)) if auto.self_heal || !already_synced => Some(auto.clone()),
        (None, _) => None,
    }
}

/// Whether a progress line of a sync is worth telling beyond the debug log: `Some("status")` for a phase or wave
/// (the current step, shown in `status.lastOperation`), `Some("event")` for a wave that applies objects, a hook
/// that ran, or a prune held back (also Events).
fn sync_phase_line(line: &str) -> Option<&'static str> {
    if line.starts_with("phase ") {
        Some("status")
    } else if (line.starts_with("wave ") && line.contains(": applying "))
        || line.contains(" hook ")
        || line.starts_with("prune held")
        || line.starts_with("warning:")
    {
        Some("event")
    } else {
        None
    }
}

/// How long a sync runs before its current step is shown in `status.lastOperation`, and how often it is
/// updated after that: a sync of a few objects ends before it and writes the status once, at its end.
const PHASE_SHOWN_AFTER: Duration = Duration::from_secs(1);

/// The phase lines of a running sync, shown in `status.lastOperation` once the sync has run for
/// [`PHASE_SHOWN_AFTER`] and then at most once per that time (the latest line wins).
struct PhaseShown {
    /// When the next line may be written.
    next: tokio::time::Instant,
    /// The latest line not written yet.
    pending: Option<String>,
}

impl PhaseShown {
    fn new() -> Self {
        PhaseShown {
            next: tokio::time::Instant::now() + PHASE_SHOWN_AFTER,
            pending: None,
        }
    }

    /// Takes a line; it is written when [`PhaseShown::due`] says so.
    fn take(&mut self, line: &str) {
        self.pending = Some(line.to_string());
    }

    /// The line to write now, if one waits and its time has come.
    fn due(&mut self, now: tokio::time::Instant) -> Option<String> {
        if now < self.next {
            return None;
        }
        let line = self.pending.take()?;
        self.next = now + PHASE_SHOWN_AFTER;
        Some(line)
    }
}

/// Writes one phase line of a running sync into `status.lastOperation` (Running).
async fn show_phase(ctx: &Context, obj: &GitOpsConfig, (revision, started): (&str, &str), line: &str) {
    let api: Api<GitOpsConfig> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({"status": {"lastOperation": {
        "phase": "Running", "revision": revision, "message": line, "startedAt": started, "finishedAt": null}}});
    let params = PatchParams {
        field_manager: Some(ctx.status_manager.clone()),
        ..PatchParams::default()
    };
    if let Err(e) = api
        .patch_status(&obj.name_any(), &params, &Patch::Merge(&patch))
        .await
    {
        tracing::debug!(app = %obj.name_any(), "cannot report the sync phase: {e}");
    }
}

/// Publishes a phase line that is also an Event: hooks, applying waves and held prunes.
async fn publish_phase(ctx: &Context, obj: &GitOpsConfig, line: &str) {
    let failed = line.contains(": failed") || line.starts_with("warning:") || line.starts_with("prune held");
    let note = Note {
        warning: failed,
        reason: if line.contains(" hook ") {
            "Hook"
        } else if line.starts_with("wave ") {
            "Wave"
        } else {
            "Prune"
        }
        .into(),
        action: "Sync".into(),
        message: line.to_string(),
    };
    if let Err(e) = ctx.recorder.publish(&note, &obj.object_ref(&())).await {
        tracing::debug!(app = %obj.name_any(), "cannot publish an event: {e}");
    }
}

/// What syncing or comparing found.
struct Found {
    sync: SyncState,
    summary: String,
    changed: bool,
    /// The objects to assess (id, apiVersion).
    objects: Vec<(ObjectId, String)>,
    inventory: BTreeSet<ObjectId>,
    /// The objects that differ from Git (compare only).
    drifted: BTreeSet<ObjectId>,
}

/// The inputs of syncing or comparing.
struct Plan {
    app: String,
    destination: String,
    ignore: Vec<IgnoreRule>,
    previous: BTreeSet<ObjectId>,
    in_store: bool,
    /// The commit being synced or compared.
    revision: String,
    /// Who reads and writes the application's objects (its ServiceAccount, or the controller).
    cluster: Cluster,
    /// Set while impersonating: the inventory is written with the controller's identity.
    inventory_writer: Option<Cluster>,
    /// The impersonated ServiceAccount's user name, if any.
    user: Option<String>,
}

async fn sync_now(
    ctx: &Context,
    obj: &GitOpsConfig,
    auto: tack_model::Automated,
    manifests: Vec<PackedManifest>,
    plan: Plan,
) -> Result<Found, Error> {
    if let Some(user) = &plan.user {
        crate::access::check_hooks(&plan.cluster, &manifests, &plan.destination, user).await?;
    }
    let mut opts = SyncOptions::new(&plan.app, &plan.destination);
    let (revision, started) = (plan.revision.as_str(), now());
    opts.prune = auto.prune;
    // selfHeal: Git wins over fields another field manager changed.
    opts.force = auto.self_heal;
    opts.create_namespace = obj.spec.sync_policy.as_ref().is_some_and(|p| p.create_namespace);
    opts.ignore = plan.ignore;
    opts.inventory = InventoryStore::Stored {
        at: inventory_at(obj),
        previous: plan.previous,
        in_store: plan.in_store,
    };
    opts.confirm = sync_request(obj).is_some_and(|r| r.confirm);
    let app_options = app_sync_options(obj)?;
    opts.create_namespace |= app_options.create_namespace;
    opts.force |= app_options.force;
    opts.replace = app_options.replace;
    if let Some(p) = app_options.propagation {
        opts.propagation = p;
    }
    opts.inventory_writer = plan.inventory_writer.clone();
    // The status, the Events and the log show counts and what changed, never every object.
    opts.detail = tack_apply::Detail::Sample;
    let app = opts.app.clone();
    // Phases, waves and hooks go to the log, to `status.lastOperation` (Running) and, when the sync applies
    // something or runs a hook, to Events; the rest of the progress is debug detail.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let progress = move |line: &str| {
        if let Some(kind) = sync_phase_line(line) {
            tracing::info!(app = %app, "{line}");
            let _ = tx.send(format!("{kind}\u{0}{line}"));
        } else {
            tracing::debug!(app = %app, "{line}");
        }
    };
    let run = tack_apply::sync_packed(&plan.cluster, manifests, &opts, &progress);
    tokio::pin!(run);
    let mut shown = PhaseShown::new();
    let report = loop {
        let wake = shown.next;
        tokio::select! {
            r = &mut run => break r,
            Some(tagged) = rx.recv() => {
                let (kind, line) = tagged.split_once('\u{0}').unwrap_or(("status", &tagged));
                if kind == "event" {
                    publish_phase(ctx, obj, line).await;
                }
                shown.take(line);
            }
            () = tokio::time::sleep_until(wake), if shown.pending.is_some() => {}
        }
        if let Some(line) = shown.due(tokio::time::Instant::now()) {
            show_phase(ctx, obj, (revision, &started), &line).await;
        }
    };
    // The status written after the sync tells its end; the Events of its last lines are still published.
    while let Ok(tagged) = rx.try_recv() {
        if let Some(("event", line)) = tagged.split_once('\u{0}') {
            publish_phase(ctx, obj, line).await;
        }
    }
    let mut report = report?;
    let state = if report.count(Action::PruneSkipped) + report.count(Action::PruneHeld) > 0 {
        SyncState::OutOfSync
    } else {
        SyncState::Synced
    };
    let objects = report.take_objects();
    let changed =
        report.count(Action::Created) + report.count(Action::Configured) + report.count(Action::Pruned) > 0;
    Ok(Found {
        sync: state,
        summary: report.summary(),
        changed,
        objects,
        inventory: report.inventory,
        drifted: BTreeSet::new(),
    })
}

async fn compare_only(
    obj: &GitOpsConfig,
    manifests: Vec<PackedManifest>,
    plan: Plan,
) -> Result<Found, Error> {
    let manifests = tack_apply::without_hooks_packed(manifests);
    let objects: Vec<(ObjectId, String)> = manifests
        .iter()
        .map(|m| desired_id(&m.object.head(), &plan.destination))
        .collect();
    let opts = DiffOptions {
        namespace: plan.destination.clone(),
        app: Some(plan.app.clone()),
        ignore: plan.ignore,
        color: false,
        context: None,
    };
    let store = InventoryStore::Caller(plan.previous);
    let mut report = tack_apply::diff_packed(&plan.cluster, manifests, &opts, store).await?;
    let inventory = std::mem::take(&mut report.inventory);
    let state = if report.entries.is_empty() {
        SyncState::Synced
    } else {
        SyncState::OutOfSync
    };
    let why = if obj.spec.rollback.is_some() {
        "automated sync suspended after rollback"
    } else if obj
        .spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated.is_some())
    {
        "self-heal off, drift not reverted"
    } else {
        "automated sync off"
    };
    let drifted: BTreeSet<ObjectId> = report.entries.iter().map(|e| e.id.clone()).collect();
    let mut summary = difference_summary(why, &report);
    if !drifted.is_empty() {
        let names: Vec<String> = drifted.iter().take(10).map(ObjectId::human).collect();
        summary.push_str(&format!(": {}", names.join(", ")));
        if drifted.len() > 10 {
            summary.push_str(&format!(" and {} more", drifted.len() - 10));
        }
    }
    Ok(Found {
        sync: state,
        summary,
        changed: false,
        objects,
        inventory,
        drifted,
    })
}

/// How many objects differ: those in Git against the objects in Git, and apart from them those that left Git
/// and are still in the cluster (an object to prune is not one of the objects compared).
fn difference_summary(why: &str, report: &tack_apply::DiffReport) -> String {
    let left = report.entries.iter().filter(|e| e.origin.is_none()).count();
    let in_git = report.entries.len() - left;
    let mut summary = format!("{why}: {in_git} of {} objects differ from Git", report.compared);
    if left > 0 {
        summary.push_str(&format!(
            "; {left} {} left Git and {} still in the cluster",
            if left == 1 { "object" } else { "objects" },
            if left == 1 { "is" } else { "are" },
        ));
    }
    summary
}

/// The status lines of the objects found, as `status.resources` shows them ([`status::shown_resources`]): at
/// most [`status::STATUS_RESOURCES_LIMIT`], those not Synced or not Healthy first, in their order otherwise.
/// Only the lines shown are made, so a large application holds no line per object.
fn resource_statuses(found: &Found, healths: &crate::health::Assessed) -> Vec<ResourceStatus> {
    let healthy = tack_health::Health::healthy("");
    let sync_of = |id: &ObjectId| {
        // When the diff named the objects that differ, the others are Synced.
        if found.drifted.contains(id) {
            SyncState::OutOfSync
        } else if found.drifted.is_empty() {
            found.sync
        } else {
            SyncState::Synced
        }
    };
    let fine = |i: usize, id: &ObjectId| {
        sync_of(id) == SyncState::Synced && healths.read(i).is_none_or(|h| h.status == HealthStatus::Healthy)
    };
    let line = |i: usize, (id, api_version): &(ObjectId, String)| {
        let h = healths.read(i).unwrap_or(&healthy);
        ResourceStatus {
            group: id.group.clone(),
            version: api_version.rsplit('/').next().unwrap_or(api_version).to_string(),
            kind: id.kind.clone(),
            namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
            name: id.name.clone(),
            status: Some(sync_of(id)),
            health: Some(HealthField {
                status: h.status.as_str().to_string(),
                message: (!h.message.is_empty()).then(|| h.message.clone()),
            }),
        }
    };
    let all = found.objects.iter().enumerate();
    if found.objects.len() <= status::STATUS_RESOURCES_LIMIT {
        return all.map(|(i, o)| line(i, o)).collect();
    }
    let not_fine = all.clone().filter(|(i, (id, _))| !fine(*i, id));
    let then_fine = all.filter(|(i, (id, _))| fine(*i, id));
    not_fine
        .chain(then_fine)
        .take(status::STATUS_RESOURCES_LIMIT)
        .map(|(i, o)| line(i, o))
        .collect()
}

/// What an application may do and where, checked before anything is fetched (the spec, the tenant
/// policies, the destination and who acts there).
pub(crate) struct Admitted {
    policies: Vec<tack_model::TenantPolicy>,
    pub(crate) destination: String,
    target: Target,
    /// The cluster requests go to, as whoever acts for the application.
    pub(crate) acting: Cluster,
    /// The impersonated ServiceAccount's user name, if any.
    user: Option<String>,
    pub(crate) remote: tack_render::RemoteBaseCheck,
}

/// Checks the spec and the policies governing `obj`, and resolves its destination (never contacting a
/// cluster the policies do not allow).
pub(crate) async fn admit(obj: &GitOpsConfig, ctx: &Context) -> Result<Admitted, Failure> {
    interval(obj)?;
    app_sync_options(obj)?;
    check_source_path(obj.spec.source.path.as_deref().unwrap_or_default())?;
    lockdown::check_spec_refs(obj, &ctx.config.lockdown)?;
    let policies = crate::tenancy::governing(&ctx.client, &obj.namespace().unwrap_or_default()).await?;
    crate::tenancy::check_sources(&policies, &obj.spec.source)?;
    let destination = destination_of(obj)?;
    let cluster_name = crate::destination::cluster_of(obj).unwrap_or(crate::policy::IN_CLUSTER);
    crate::policy::check_objects(&policies, &destination, cluster_name, &[]).map_err(Error::policy)?;
    let target = ctx.destinations.resolve(obj).await?;
    let (acting, user) = ctx.acting_for(obj, &target)?;
    let remote = crate::tenancy::remote_base_check(&ctx.config.lockdown, &policies);
    Ok(Admitted {
        policies,
        destination,
        target,
        acting,
        user,
        remote,
    })
}

/// Checks what Git declares against the policies and what the acting identity may do.
pub(crate) async fn admit_rendered(
    obj: &GitOpsConfig,
    ctx: &Context,
    admitted: &Admitted,
    fetched: &Fetched,
) -> Result<(), Error> {
    let create_namespace = obj.spec.sync_policy.as_ref().is_some_and(|p| p.create_namespace)
        || app_sync_options(obj).is_ok_and(|o| o.create_namespace);
    if admitted.user.is_some() {
        crate::impersonation::refresh_if_unknown(&admitted.acting, &fetched.manifests).await?;
    }
    let rendered = crate::tenancy::Rendered {
        objects: &fetched.manifests,
        destination: &admitted.destination,
        cluster: &admitted.target.name,
        create_namespace,
    };
    crate::tenancy::check_rendered(
        &admitted.acting,
        &ctx.config.lockdown,
        &admitted.policies,
        &rendered,
    )
    .await
}

/// The steps of one reconcile, up to what the status needs; and the inventory after it.
async fn attempt(obj: &GitOpsConfig, ctx: &Context) -> Result<(Outcome, BTreeSet<ObjectId>), Failure> {
    let admitted = admit(obj, ctx).await?;
    check_dependencies(&ctx.client, obj).await?;
    let fetched = fetch_rendered(obj, ctx, admitted.remote.clone()).await?;
    let revision = fetched.revision.clone();
    let with_rev = |error: Error| Failure {
        revision: Some(revision.clone()),
        error: Box::new(error),
    };
    admit_rendered(obj, ctx, &admitted, &fetched)
        .await
        .map_err(with_rev)?;
    let Admitted {
        destination,
        acting,
        user,
        target,
        ..
    } = admitted;
    // Which objects' health needs a read, from what Git declares (before the manifests are consumed).
    let reads = crate::health::Reads::of(
        fetched
            .manifests
            .iter()
            .map(|m| (desired_id(&m.object.head(), &destination).0, &m.object)),
    );
    let (previous, in_store, adopted) = previous_inventory(ctx, obj, &destination)
        .await
        .map_err(with_rev)?;
    let plan = Plan {
        app: obj.name_any(),
        destination: destination.clone(),
        ignore: ignore_rules(obj),
        previous,
        in_store,
        revision: revision.clone(),
        cluster: acting.clone(),
        inventory_writer: (user.is_some() || target.is_remote()).then(|| ctx.cluster.clone()),
        user,
    };
    let apply = apply_policy(obj, &revision);
    let synced_now = apply.is_some();
    let found = match apply {
        Some(auto) => sync_now(ctx, obj, auto, fetched.manifests, plan).await,
        None => compare_only(obj, fetched.manifests, plan).await,
    }
    .map_err(with_rev)?;
    let healths = crate::health::assess(&acting, &found.objects, &found.drifted, &reads, &destination)
        .await
        .map_err(|e| with_rev(e.into()))?;
    let outcome = Outcome {
        revision: revision.clone(),
        engine: fetched.engine,
        sync: found.sync,
        health: healths.aggregate(),
        resources: resource_statuses(&found, &healths),
        summary: found.summary,
        changed: found.changed,
        // The status lists the ids of small inventories only (the ConfigMaps hold every one).
        inventory: match found.inventory.len() {
            n if n <= status::STATUS_INVENTORY_LIMIT => {
                found.inventory.iter().map(ToString::to_string).collect()
            }
            _ => Vec::new(),
        },
        synced_now,
        adopted,
    };
    Ok((outcome, found.inventory))
}

fn status_inventory(obj: &GitOpsConfig) -> Vec<String> {
    obj.status
        .as_ref()
        .map(|s| s.inventory.clone())
        .unwrap_or_default()
}

/// The id and apiVersion of a rendered object (namespaced objects without a namespace go to `destination`;
/// cluster-scoped kinds ignore it on reads).
fn desired_id(head: &Head, destination: &str) -> (ObjectId, String) {
    let api_version = head.api_version.as_str();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let namespace = match head.namespace.as_str() {
        "" => destination,
        ns => ns,
    };
    (
        ObjectId::new(group, &head.kind, namespace, &head.name),
        api_version.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::{GitOpsConfigSpec, Retry, SyncPolicy};

    fn app(limit: Option<i64>) -> GitOpsConfig {
        GitOpsConfig::new(
            "a",
            GitOpsConfigSpec {
                sync_policy: Some(SyncPolicy {
                    retry: Some(Retry { limit, backoff: None }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_short_sync_shows_no_phase_and_a_long_one_its_latest_once_a_second() {
        let start = tokio::time::Instant::now();
        let mut shown = PhaseShown {
            next: start + PHASE_SHOWN_AFTER,
            pending: None,
        };
        // Within the first second: nothing written, the latest line kept.
        shown.take("phase Sync");
        shown.take("phase Sync, wave 0");
        assert_eq!(shown.due(start + Duration::from_millis(500)), None);
        // After it: the latest line, once.
        let later = start + Duration::from_millis(1100);
        assert_eq!(shown.due(later).as_deref(), Some("phase Sync, wave 0"));
        assert_eq!(shown.due(later), None);
        // A new line within the next second waits for it.
        shown.take("phase PostSync");
        assert_eq!(shown.due(later + Duration::from_millis(900)), None);
        assert_eq!(
            shown.due(later + Duration::from_millis(1000)).as_deref(),
            Some("phase PostSync")
        );
        // Nothing pending: nothing to write, whatever the time.
        assert_eq!(shown.due(later + Duration::from_secs(60)), None);
    }

    #[test]
    fn objects_that_left_git_are_not_counted_against_the_objects_in_git() {
        let entry = |name: &str, in_git: bool| tack_apply::DiffEntry {
            id: ObjectId::new("", "ConfigMap", "ns", name),
            origin: in_git.then(|| tack_render::Origin {
                file: "cm.yaml".into(),
                line: 1,
            }),
            text: String::new(),
        };
        let mut report = tack_apply::DiffReport {
            entries: vec![entry("a", true), entry("b", false), entry("c", false)],
            compared: 2,
            ..Default::default()
        };
        assert_eq!(
            difference_summary("automated sync off", &report),
            "automated sync off: 1 of 2 objects differ from Git; 2 objects left Git and are still in the cluster"
        );
        report.entries.truncate(2);
        report.entries.remove(0);
        assert_eq!(
            difference_summary("x", &report),
            "x: 0 of 2 objects differ from Git; 1 object left Git and is still in the cluster"
        );
        report.entries.clear();
        assert_eq!(
            difference_summary("x", &report),
            "x: 0 of 2 objects differ from Git"
        );
    }

    #[test]
    fn the_retry_limit_ends_the_backoff() {
        assert!(!retry_limit_reached(&app(None), 5));
        assert!(retry_limit_reached(&app(None), 6));
        assert!(!retry_limit_reached(&app(Some(2)), 2));
        assert!(retry_limit_reached(&app(Some(2)), 3));
        assert!(retry_limit_reached(&app(Some(0)), 1));
        assert!(!retry_limit_reached(&app(Some(-1)), 1000));
    }

    #[test]
    fn application_sync_options() {
        let with = |opts: &[&str]| {
            let mut a = app(None);
            if let Some(p) = a.spec.sync_policy.as_mut() {
                p.sync_options = opts.iter().map(ToString::to_string).collect();
            }
            app_sync_options(&a)
        };
        assert_eq!(with(&[]).ok(), Some(AppSyncOptions::default()));
        let o = with(&[
            "CreateNamespace=true",
            "PrunePropagationPolicy=orphan",
            "Replace=true",
            "ServerSideApply=true",
        ])
        .ok()
        .unwrap_or_default();
        assert!(o.create_namespace && o.replace && !o.force);
        assert!(matches!(o.propagation, Some(tack_apply::Propagation::Orphan)));
        let err = with(&["ApplyOutOfSyncOnly=true"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`ApplyOutOfSyncOnly=true`"), "{err}");
    }

    #[test]
    fn phase_lines_worth_telling() {
        assert_eq!(sync_phase_line("phase Sync, wave 1: healthy"), Some("status"));
        assert_eq!(
            sync_phase_line("wave 1, namespaced objects: applying 2 objects"),
            Some("event")
        );
        assert_eq!(
            sync_phase_line("PreSync hook Job.batch/m (a.yaml:1): succeeded"),
            Some("event")
        );
        assert_eq!(sync_phase_line("configured ConfigMap/a from a.yaml:1"), None);
    }
}
