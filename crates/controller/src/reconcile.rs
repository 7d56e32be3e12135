//! One reconcile of one GitOpsConfig.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tack_apply::{Action, DiffOptions, InventoryStore, SyncOptions};
use tack_cluster::Cluster;
use tack_health::{Health, HealthStatus, ResourceHealth, aggregate, assess_optional};
use tack_model::{
    GitOpsConfig, GitOpsConfigStatus, HealthStatus as HealthField, Operation, ResourceStatus, SyncResult,
    SyncState, SyncStatus,
};
use tack_plan::{IgnoreRule, ObjectId};
use tack_source::Credentials;

use crate::drift::Drift;
use crate::status::{backoff, interval, now, record_history, set_condition};
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
    /// Kubernetes Events on the GitOpsConfigs (repeats are folded into a series).
    recorder: Recorder,
    metrics: Arc<crate::Metrics>,
    /// Watches of the managed objects, for drift detection.
    pub drift: Arc<Drift>,
}

impl Context {
    pub fn new(client: kube::Client, config: ControllerConfig, metrics: Arc<crate::Metrics>) -> Self {
        let cluster = Cluster::from_client(client.clone(), "default");
        Context {
            cluster: cluster.clone(),
            client: client.clone(),
            config,
            failures: Mutex::new(HashMap::new()),
            recorder: Recorder::new(
                client.clone(),
                Reporter {
                    controller: crate::STATUS_MANAGER.to_string(),
                    instance: None,
                },
            ),
            metrics,
            // The same discovery cache as the syncs, which refresh it after applying CRDs.
            drift: Arc::new(Drift::new(cluster.clone())),
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

/// What a successful attempt found.
struct Outcome {
    revision: String,
    engine: &'static str,
    sync: SyncState,
    /// What was done, e.g. `created 3, configured 1, unchanged 2, pruned 0`.
    summary: String,
    /// Whether objects were created, configured or pruned.
    changed: bool,
    health: Health,
    resources: Vec<ResourceStatus>,
    inventory: Vec<String>,
    /// Whether a sync ran (and so is recorded in the history).
    synced_now: bool,
    /// Whether the inventory was adopted from the ConfigMap of a one-shot `tack sync`.
    adopted: bool,
}

/// A failed attempt, with the revision when the fetch got that far.
struct Failure {
    revision: Option<String>,
    error: Box<Error>,
}

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            revision: None,
            error: Box::new(e.into()),
        }
    }
}

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
    let generation = obj.meta().generation;
    let mut status = obj.status.clone().unwrap_or_default();
    status.observed_generation = generation;

    let mut event = None;
    let mut adopted = false;
    let requeue = match result {
        Ok(out) => {
            adopted = out.adopted;
            // A sync request is handled once a sync succeeded (a failed one is retried with the backoff).
            if let Some(requested) = obj.annotations().get(crate::SYNC_ANNOTATION) {
                status.last_handled_sync_at = Some(requested.clone());
            }
            if out.changed {
                event = Some(Event {
                    type_: EventType::Normal,
                    reason: "Synced".into(),
                    note: Some(truncate(&format!("{}: {}", short(&out.revision), out.summary))),
                    action: "Sync".into(),
                    secondary: None,
                });
            }
            ctx.failures(&key, false);
            ctx.metrics.set_objects_managed(&key, out.inventory.len());
            tracing::info!(
                app = %key, revision = %out.revision, engine = out.engine, sync = ?out.sync,
                health = out.health.status.as_str(), "{}", out.summary
            );
            let healthy = out.health.status == HealthStatus::Healthy;
            let synced = out.sync == SyncState::Synced;
            status.sync = Some(SyncStatus {
                status: out.sync,
                revision: Some(out.revision.clone()),
            });
            status.health = Some(HealthField {
                status: out.health.status.as_str().to_string(),
                message: (!out.health.message.is_empty()).then(|| out.health.message.clone()),
            });
            status.resources = out.resources;
            status.inventory = out.inventory;
            let app_ref = ObjectRef::new(&name).within(&namespace);
            let ids: BTreeSet<ObjectId> = status.inventory.iter().filter_map(|i| i.parse().ok()).collect();
            ctx.drift.track(&app_ref, ids).await;
            if out.synced_now {
                record_history(&mut status, &out.revision, SyncResult::Succeeded, &finished);
            }
            let rolled_back = obj.spec.rollback.as_ref().map(|r| {
                format!(
                    "automated sync suspended after rollback to {}; run `tack app resume {name}`",
                    short(&r.revision)
                )
            });
            let (ready_reason, ready_message) = match (synced, healthy) {
                (true, true) if rolled_back.is_some() => {
                    ("RolledBack", rolled_back.clone().unwrap_or_default())
                }
                (true, true) => (
                    "Succeeded",
                    format!("synced {} and healthy", short(&out.revision)),
                ),
                (false, _) => (
                    "OutOfSync",
                    format!(
                        "the cluster differs from {}: {}",
                        short(&out.revision),
                        out.summary
                    ),
                ),
                (true, false) => (
                    "Progressing",
                    format!("{}: {}", out.health.status.as_str(), out.health.message),
                ),
            };
            set_condition(
                &mut status,
                "Ready",
                synced && healthy,
                ready_reason,
                &ready_message,
                generation,
                &finished,
            );
            set_condition(
                &mut status,
                "Reconciling",
                !healthy,
                if healthy { "Succeeded" } else { "Progressing" },
                "",
                generation,
                &finished,
            );
            set_condition(
                &mut status,
                "Stalled",
                false,
                "Succeeded",
                "",
                generation,
                &finished,
            );
            status.last_operation = Some(Operation {
                phase: SyncResult::Succeeded,
                revision: Some(out.revision.clone()),
                message: Some(out.summary.clone()),
                started_at: Some(started),
                finished_at: Some(finished),
            });
            let every = interval(&obj).unwrap_or(crate::DEFAULT_INTERVAL);
            if healthy {
                every
            } else {
                every.min(UNHEALTHY_RECHECK)
            }
        }
        Err(Failure { revision, error }) => {
            let waiting = matches!(*error, Error::DependencyNotReady(_));
            let failures = if waiting { 0 } else { ctx.failures(&key, true) };
            if matches!(*error, Error::Fetch { .. }) {
                ctx.metrics.git_fetch_error();
            }
            let delay = if waiting {
                DEPENDENCY_RECHECK
            } else {
                backoff(&obj, failures)
            };
            let message = error.to_string();
            event = (!waiting).then(|| Event {
                type_: EventType::Warning,
                reason: error.reason().into(),
                note: Some(truncate(&message)),
                action: "Reconcile".into(),
                secondary: None,
            });
            tracing::warn!(app = %key, reason = error.reason(), retry_in = ?delay, "{message}");
            let reason = error.reason();
            // A sync that failed part-way still changed what the application manages.
            if let Error::Sync(
                tack_apply::SyncError::Apply { inventory, .. }
                | tack_apply::SyncError::Prune { inventory, .. },
            ) = &*error
            {
                status.inventory = inventory.iter().map(ToString::to_string).collect();
                let app_ref = ObjectRef::new(&name).within(&namespace);
                ctx.drift.track(&app_ref, inventory.clone()).await;
            }
            if let Some(rev) = &revision {
                record_history(&mut status, rev, SyncResult::Failed, &finished);
            }
            if status.sync.is_none() {
                status.sync = Some(SyncStatus {
                    status: SyncState::Unknown,
                    revision: None,
                });
            }
            set_condition(
                &mut status,
                "Ready",
                false,
                reason,
                &message,
                generation,
                &finished,
            );
            set_condition(
                &mut status,
                "Reconciling",
                !error.is_stalled(),
                reason,
                &format!("retrying in {}", humantime::format_duration(delay)),
                generation,
                &finished,
            );
            set_condition(
                &mut status,
                "Stalled",
                error.is_stalled(),
                reason,
                if error.is_stalled() { &message } else { "" },
                generation,
                &finished,
            );
            status.last_operation = Some(Operation {
                phase: SyncResult::Failed,
                revision,
                message: Some(message),
                started_at: Some(started),
                finished_at: Some(finished),
            });
            delay
        }
    };
    write_status(&ctx.client, &obj, &status).await?;
    if adopted {
        // The status holds the inventory now; the ConfigMap of the one-shot sync is no longer used.
        let destination = destination_of(&obj).unwrap_or_default();
        match tack_apply::delete_inventory(&ctx.cluster, &name, &destination).await {
            Ok(_) => {
                tracing::info!(app = %key, "inventory adopted from ConfigMap {}", tack_apply::inventory_name(&name))
            }
            Err(e) => {
                tracing::warn!(app = %key, "inventory adopted, but its ConfigMap could not be deleted: {e}")
            }
        }
    }
    if let Some(event) = event
        && let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await
    {
        tracing::debug!(app = %key, "cannot publish an event: {e}");
    }
    Ok(Requeue::requeue(requeue))
}

pub fn error_policy(obj: Arc<GitOpsConfig>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(app = %obj.name_any(), "cannot write the status: {error}");
    Requeue::requeue(Duration::from_secs(10))
}

async fn write_status(
    client: &kube::Client,
    obj: &GitOpsConfig,
    status: &GitOpsConfigStatus,
) -> Result<(), Error> {
    let api: Api<GitOpsConfig> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": tack_model::GitOpsConfig::api_version(&()),
        "kind": tack_model::GitOpsConfig::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Event notes are limited to 1 kB.
fn truncate(text: &str) -> String {
    const LIMIT: usize = 1000;
    if text.len() <= LIMIT {
        return text.to_string();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

async fn credentials(client: &kube::Client, obj: &GitOpsConfig) -> Result<Option<Credentials>, Error> {
    let Some(secret_ref) = &obj.spec.source.credentials_secret else {
        return Ok(None);
    };
    let namespace = obj.namespace().unwrap_or_default();
    let cred_err = |message: String| Error::Credentials {
        name: format!("{namespace}/{}", secret_ref.name),
        message,
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = api
        .get_opt(&secret_ref.name)
        .await
        .map_err(|e| cred_err(format!("cannot be read: {e}")))?
        .ok_or_else(|| cred_err("not found; create it with the keys username + password, or token".into()))?;
    let data = secret.data.unwrap_or_default();
    Credentials::from_secret_data(data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice())))
        .map_err(cred_err)?
        .ok_or_else(|| cred_err("holds none of the keys username, password, token".into()))
        .map(Some)
}

/// A request of `tack app sync` not handled yet.
struct SyncRequest {
    prune: bool,
}

fn sync_request(obj: &GitOpsConfig) -> Option<SyncRequest> {
    let value = obj.annotations().get(crate::SYNC_ANNOTATION)?;
    let handled = obj
        .status
        .as_ref()
        .and_then(|s| s.last_handled_sync_at.as_deref());
    (handled != Some(value.as_str())).then(|| SyncRequest {
        prune: value.split(',').skip(1).any(|o| o.trim() == "prune"),
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

async fn attempt(obj: &GitOpsConfig, ctx: &Context) -> Result<Outcome, Failure> {
    interval(obj)?;
    check_dependencies(&ctx.client, obj).await?;
    let app = obj.name_any();
    let destination = destination_of(obj)?;
    let creds = credentials(&ctx.client, obj).await?;
    let url = obj.spec.source.repo_url.clone();
    // A rollback pins the commit.
    let revision = match &obj.spec.rollback {
        Some(r) => r.revision.clone(),
        None => obj.spec.source.revision.clone().unwrap_or_default(),
    };
    let path = obj.spec.source.path.clone().unwrap_or_default();
    let cache = ctx.config.cache_dir.clone();
    let fetched = tokio::task::spawn_blocking(move || -> Result<fetch::Fetched, Failure> {
        let (commit, dir, root) = fetch::checkout(&url, &revision, &path, creds, &cache)?;
        match fetch::render_dir(&dir, &root) {
            Ok((engine, manifests)) => Ok(fetch::Fetched {
                revision: commit,
                engine,
                manifests,
            }),
            Err(error) => Err(Failure {
                revision: Some(commit),
                error: Box::new(error),
            }),
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("fetch task: {e}")))??;
    let revision = fetched.revision.clone();
    let with_rev = |error: Error| Failure {
        revision: Some(revision.clone()),
        error: Box::new(error),
    };
    let ignore: Vec<IgnoreRule> = obj
        .spec
        .ignore_differences
        .iter()
        .map(|d| IgnoreRule {
            group: d.group.clone(),
            kind: d.kind.clone(),
            name: d.name.clone(),
            namespace: d.namespace.clone(),
            json_pointers: d.json_pointers.clone(),
        })
        .collect();
    // The inventory: the status's, or, the first time, the ConfigMap of a one-shot `tack sync` of the same
    // name in the destination namespace (adopted, then deleted).
    let mut previous: BTreeSet<ObjectId> = status_inventory(obj)
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect();
    let mut adopted = false;
    if previous.is_empty() {
        let cm = tack_apply::read_inventory(&ctx.cluster, &app, &destination)
            .await
            .map_err(|e| with_rev(e.into()))?;
        if !cm.ids.is_empty() {
            previous = cm.ids;
            adopted = true;
        }
    }
    let policy = obj.spec.sync_policy.clone().unwrap_or_default();
    // Without selfHeal, a commit already synced (same spec) is only compared: drift is reported, not reverted.
    // A rollback is synced once, then only compared until `tack app resume`.
    let already_synced = obj.status.as_ref().is_some_and(|s| {
        s.observed_generation == obj.meta().generation
            && s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(revision.as_str())
    });
    // A sync request (`tack app sync`) not handled yet: apply once, taking drifted fields back.
    let request = sync_request(obj);
    let apply = match (&obj.spec.rollback, &policy.automated) {
        _ if request.is_some() => Some(tack_model::Automated {
            prune: request.as_ref().is_some_and(|r| r.prune)
                || policy.automated.as_ref().is_some_and(|a| a.prune),
            self_heal: true,
        }),
        (Some(_), auto) if !already_synced => Some(auto.clone().unwrap_or_default()),
        (Some(_), _) => None,
        (None, Some(auto)) if auto.self_heal || !already_synced => Some(auto.clone()),
        (None, _) => None,
    };
    let synced_now = apply.is_some();
    let (sync_state, summary, changed, objects, inventory, drifted) = match apply {
        Some(auto) => {
            let mut opts = SyncOptions::new(&app, &destination);
            opts.prune = auto.prune;
            // selfHeal: Git wins over fields another field manager changed.
            opts.force = auto.self_heal;
            opts.create_namespace = policy.create_namespace;
            opts.ignore = ignore;
            opts.inventory = InventoryStore::Caller(previous);
            let progress = |line: &str| tracing::debug!(app = %opts.app, "{line}");
            let report = tack_apply::sync(&ctx.cluster, fetched.manifests, &opts, &progress)
                .await
                .map_err(|e| with_rev(e.into()))?;
            let left = report.count(Action::PruneSkipped);
            let state = if left > 0 {
                SyncState::OutOfSync
            } else {
                SyncState::Synced
            };
            let objects: Vec<(ObjectId, String)> = report
                .results
                .iter()
                .filter(|r| matches!(r.action, Action::Created | Action::Configured | Action::Unchanged))
                .map(|r| (r.id.clone(), r.api_version.clone()))
                .collect();
            let inventory: Vec<String> = report.inventory.iter().map(ToString::to_string).collect();
            let changed = report.count(Action::Created)
                + report.count(Action::Configured)
                + report.count(Action::Pruned)
                > 0;
            (
                state,
                report.summary(),
                changed,
                objects,
                inventory,
                BTreeSet::new(),
            )
        }
        None => {
            let objects: Vec<(ObjectId, String)> = fetched
                .manifests
                .iter()
                .map(|m| desired_id(&m.object, &destination))
                .collect();
            let opts = DiffOptions {
                namespace: destination.clone(),
                app: Some(app.clone()),
                ignore,
                color: false,
            };
            let inventory: Vec<String> = previous.iter().map(ToString::to_string).collect();
            let report = tack_apply::diff_with_inventory(
                &ctx.cluster,
                fetched.manifests,
                &opts,
                &InventoryStore::Caller(previous),
            )
            .await
            .map_err(|e| with_rev(e.into()))?;
            let state = if report.entries.is_empty() {
                SyncState::Synced
            } else {
                SyncState::OutOfSync
            };
            let why = if obj.spec.rollback.is_some() {
                "automated sync suspended after rollback"
            } else if policy.automated.is_some() {
                "self-heal off, drift not reverted"
            } else {
                "automated sync off"
            };
            let drifted: BTreeSet<ObjectId> = report.entries.iter().map(|e| e.id.clone()).collect();
            let mut summary = format!(
                "{why}: {} of {} objects differ from Git",
                report.entries.len(),
                report.compared
            );
            if !drifted.is_empty() {
                let names: Vec<String> = drifted.iter().take(10).map(ObjectId::human).collect();
                summary.push_str(&format!(": {}", names.join(", ")));
                if drifted.len() > 10 {
                    summary.push_str(&format!(" and {} more", drifted.len() - 10));
                }
            }
            (state, summary, false, objects, inventory, drifted)
        }
    };
    let healths = assess(&ctx.cluster, &objects)
        .await
        .map_err(|e| with_rev(e.into()))?;
    let health = aggregate(&healths);
    let resources = objects
        .iter()
        .zip(&healths)
        .map(|((id, api_version), h)| ResourceStatus {
            group: id.group.clone(),
            version: api_version.rsplit('/').next().unwrap_or(api_version).to_string(),
            kind: id.kind.clone(),
            namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
            name: id.name.clone(),
            // When the diff named the objects that differ, the others are Synced.
            status: Some(if drifted.contains(id) {
                SyncState::OutOfSync
            } else if drifted.is_empty() {
                sync_state
            } else {
                SyncState::Synced
            }),
            health: Some(HealthField {
                status: h.health.status.as_str().to_string(),
                message: (!h.health.message.is_empty()).then(|| h.health.message.clone()),
            }),
        })
        .collect();
    Ok(Outcome {
        revision,
        engine: fetched.engine,
        sync: sync_state,
        summary,
        changed,
        health,
        resources,
        inventory,
        synced_now,
        adopted,
    })
}

fn status_inventory(obj: &GitOpsConfig) -> Vec<String> {
    obj.status
        .as_ref()
        .map(|s| s.inventory.clone())
        .unwrap_or_default()
}

/// The id and apiVersion of a rendered object (namespaced objects without a namespace go to `destination`;
/// cluster-scoped kinds ignore it on reads).
fn desired_id(object: &serde_json::Value, destination: &str) -> (ObjectId, String) {
    let text = |p: &str| object.pointer(p).and_then(|v| v.as_str()).unwrap_or("");
    let api_version = text("/apiVersion");
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let namespace = match text("/metadata/namespace") {
        "" => destination,
        ns => ns,
    };
    (
        ObjectId::new(group, text("/kind"), namespace, text("/metadata/name")),
        api_version.to_string(),
    )
}

async fn assess(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
) -> Result<Vec<ResourceHealth>, tack_cluster::ClusterError> {
    // Owned items: a closure over borrowed items makes the reconcile future fail the `Send` bound.
    stream::iter(objects.to_vec())
        .map(|(id, api_version)| async move {
            let live = match cluster.resolve(&api_version, &id.kind).await? {
                Some(k) => cluster.get(&k, &id.namespace, &id.name).await?,
                None => None,
            };
            Ok(ResourceHealth {
                kind: id.kind.clone(),
                name: id.name.clone(),
                namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
                health: assess_optional(live.as_ref()),
            })
        })
        .buffered(16)
        .try_collect()
        .await
}
