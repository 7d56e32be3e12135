//! One reconcile of one GitOpsConfig.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tack_apply::{Action, DiffOptions, SyncOptions};
use tack_cluster::Cluster;
use tack_health::{Health, HealthStatus, ResourceHealth, aggregate, assess_optional};
use tack_model::{
    GitOpsConfig, GitOpsConfigStatus, HealthStatus as HealthField, Operation, ResourceStatus, SyncResult,
    SyncState, SyncStatus,
};
use tack_plan::{IgnoreRule, ObjectId};
use tack_source::Credentials;

use crate::status::{backoff, interval, now, record_history, set_condition};
use crate::{ControllerConfig, Error, STATUS_MANAGER, fetch};

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
}

impl Context {
    pub fn new(client: kube::Client, config: ControllerConfig, metrics: Arc<crate::Metrics>) -> Self {
        Context {
            cluster: Cluster::from_client(client.clone(), "default"),
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
    let requeue = match result {
        Ok(out) => {
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
            if automated {
                record_history(&mut status, &out.revision, SyncResult::Succeeded, &finished);
            }
            let (ready_reason, ready_message) = match (synced, healthy) {
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
            let failures = ctx.failures(&key, true);
            if matches!(*error, Error::Fetch { .. }) {
                ctx.metrics.git_fetch_error();
            }
            let delay = backoff(&obj, failures);
            let message = error.to_string();
            event = Some(Event {
                type_: EventType::Warning,
                reason: error.reason().into(),
                note: Some(truncate(&message)),
                action: "Reconcile".into(),
                secondary: None,
            });
            tracing::warn!(app = %key, reason = error.reason(), retry_in = ?delay, "{message}");
            let reason = error.reason();
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

async fn attempt(obj: &GitOpsConfig, ctx: &Context) -> Result<Outcome, Failure> {
    interval(obj)?;
    let app = obj.name_any();
    let destination = obj
        .spec
        .destination
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| obj.namespace())
        .ok_or_else(|| Error::InvalidSpec("no destination namespace".into()))?;
    let creds = credentials(&ctx.client, obj).await?;
    let url = obj.spec.source.repo_url.clone();
    let revision = obj.spec.source.revision.clone().unwrap_or_default();
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
    let policy = obj.spec.sync_policy.clone().unwrap_or_default();
    // Without selfHeal, a commit already synced (same spec) is only compared: drift is reported, not reverted.
    let already_synced = obj.status.as_ref().is_some_and(|s| {
        s.observed_generation == obj.meta().generation
            && s.sync.as_ref().and_then(|x| x.revision.as_deref()) == Some(revision.as_str())
    });
    let apply = policy
        .automated
        .as_ref()
        .filter(|auto| auto.self_heal || !already_synced);
    let (sync_state, summary, changed, objects, inventory) = match apply {
        Some(auto) => {
            let mut opts = SyncOptions::new(&app, &destination);
            opts.prune = auto.prune;
            // selfHeal: Git wins over fields another field manager changed.
            opts.force = auto.self_heal;
            opts.create_namespace = policy.create_namespace;
            opts.ignore = ignore;
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
            let inventory: Vec<String> = report
                .results
                .iter()
                .filter(|r| {
                    matches!(
                        r.action,
                        Action::Created | Action::Configured | Action::Unchanged | Action::PruneSkipped
                    )
                })
                .map(|r| r.id.to_string())
                .collect();
            let changed = report.count(Action::Created)
                + report.count(Action::Configured)
                + report.count(Action::Pruned)
                > 0;
            (state, report.summary(), changed, objects, inventory)
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
            let report = tack_apply::diff(&ctx.cluster, fetched.manifests, &opts)
                .await
                .map_err(|e| with_rev(e.into()))?;
            let state = if report.entries.is_empty() {
                SyncState::Synced
            } else {
                SyncState::OutOfSync
            };
            let why = if policy.automated.is_some() {
                "self-heal off, drift not reverted"
            } else {
                "automated sync off"
            };
            let summary = format!(
                "{why}: {} of {} objects differ from Git",
                report.entries.len(),
                report.compared
            );
            let inventory = status_inventory(obj);
            (state, summary, false, objects, inventory)
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
            status: Some(sync_state),
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
