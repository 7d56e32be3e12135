//! One-shot sync and live diff.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind, Propagation};
use tack_plan::{
    DIGEST_ANNOTATION, Desired, DiffOptions as TextOptions, IgnoreRule, KindScopes, ObjectId, PlanError,
    Stage, applied_digest, batches, compare, ignore_pointers_for, normalize_live, prepare, prune_allowed,
    prune_set,
};
use tack_render::{Manifest, Origin};

use crate::inventory::{self, Inventory};
use crate::live;

/// The namespace objects are dry-run in when their own namespace is created by the sync.
const STAND_IN: &str = "default";

/// How long to wait for a new CustomResourceDefinition to be Established.
const CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of [`sync`].
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// The application's name (names the inventory ConfigMap).
    pub app: String,
    /// The destination namespace, given to namespaced objects that set none; it holds the inventory.
    pub namespace: String,
    /// Delete objects of the previous inventory that are no longer desired.
    pub prune: bool,
    /// Create the destination namespace when it does not exist.
    pub create_namespace: bool,
    /// Take over fields owned by other field managers.
    pub force: bool,
    /// Plan and server-side dry run only: nothing is written.
    pub dry_run: bool,
    /// Fields left out of comparisons.
    pub ignore: Vec<IgnoreRule>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Where the inventory (what prune compares with) is read from and written to.
    pub inventory: InventoryStore,
}

/// Where [`sync`] keeps the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InventoryStore {
    /// The ConfigMap `tack-inventory-<app>` in the destination namespace, read before and written after the
    /// sync (the one-shot `tack sync`).
    #[default]
    ConfigMap,
    /// Kept by the caller (the controller keeps it in `status.inventory`): these are the ids of the previous
    /// sync; the new inventory is returned in [`SyncReport::inventory`] and nothing is written.
    Caller(BTreeSet<ObjectId>),
}

impl SyncOptions {
    pub fn new(app: impl Into<String>, namespace: impl Into<String>) -> Self {
        SyncOptions {
            app: app.into(),
            namespace: namespace.into(),
            prune: false,
            create_namespace: false,
            force: false,
            dry_run: false,
            ignore: Vec::new(),
            concurrency: 16,
            inventory: InventoryStore::ConfigMap,
        }
    }
}

/// What happened to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// It did not exist and was created (or would be, in a dry run).
    Created,
    /// It existed and was changed (or would be).
    Configured,
    /// It already equalled Git; no request was sent.
    Unchanged,
    /// It left Git and was deleted (or would be).
    Pruned,
    /// It left Git but is annotated `tack.dev/prune: disabled`: kept, and no longer managed.
    Kept,
    /// It left Git; without `--prune` it stays (and stays in the inventory).
    PruneSkipped,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
            Action::Kept => "kept (prune disabled)",
            Action::PruneSkipped => "not in Git any more (use --prune to delete)",
        }
    }
}

/// One object's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectResult {
    pub id: ObjectId,
    pub api_version: String,
    /// `None` for pruned objects and the namespace created by `--create-namespace`.
    pub origin: Option<Origin>,
    pub action: Action,
}

/// The outcome of a sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    pub results: Vec<ObjectResult>,
    /// Objects that could not be validated by the dry run because their namespace or CRD is created by this
    /// same sync.
    pub unvalidated: usize,
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// The inventory after the sync: every desired object plus what left Git and was not pruned.
    pub inventory: BTreeSet<ObjectId>,
}

impl SyncReport {
    pub fn count(&self, action: Action) -> usize {
        self.results.iter().filter(|r| r.action == action).count()
    }

    /// `created 3, configured 1, unchanged 10, pruned 2`, plus the kept and left-over counts when not zero.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "created {}, configured {}, unchanged {}, pruned {}",
            self.count(Action::Created),
            self.count(Action::Configured),
            self.count(Action::Unchanged),
            self.count(Action::Pruned)
        );
        let kept = self.count(Action::Kept);
        if kept > 0 {
            s.push_str(&format!(", kept {kept} (tack.dev/prune: disabled)"));
        }
        let left = self.count(Action::PruneSkipped);
        if left > 0 {
            s.push_str(&format!(", {left} no longer in Git (run with --prune to delete)"));
        }
        s
    }
}

/// Why a sync failed. The messages name each object with its file:line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(
        "namespace {} does not exist; pass --create-namespace, or add a Namespace manifest",
        .namespaces.join(", ")
    )]
    NamespaceMissing { namespaces: Vec<String> },
    #[error("the server-side dry run refused {} object(s); nothing was applied:\n{}", .failures.len(), indent(.failures))]
    DryRun { failures: Vec<String> },
    #[error(
        "{} object(s) could not be applied ({applied} applied before the failure, later waves not started):\n{}",
        .failures.len(), indent(.failures)
    )]
    Apply {
        failures: Vec<String>,
        applied: usize,
        /// The inventory after the failure: the previous one plus what was applied (written to the ConfigMap,
        /// or for the caller to keep with [`InventoryStore::Caller`]).
        inventory: BTreeSet<ObjectId>,
    },
    #[error("{} object(s) could not be pruned (they stay in the inventory):\n{}", .failures.len(), indent(.failures))]
    Prune {
        failures: Vec<String>,
        /// The inventory after the sync, still holding what could not be pruned.
        inventory: BTreeSet<ObjectId>,
    },
    #[error("{message}")]
    Wait { message: String },
}

fn indent(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The kinds the cluster serves, as a scope table for [`tack_plan::prepare`].
async fn scopes(cluster: &Cluster) -> Result<KindScopes, ClusterError> {
    let mut s = KindScopes::new();
    for k in cluster.served_kinds().await? {
        s.insert(&k.group, &k.kind, k.namespaced);
    }
    Ok(s)
}

async fn resolve_all(cluster: &Cluster, desired: &[Desired]) -> Result<Vec<Option<Kind>>, ClusterError> {
    let mut cache: HashMap<(String, String), Option<Kind>> = HashMap::new();
    let mut out = Vec::with_capacity(desired.len());
    for d in desired {
        let key = (d.api_version().to_string(), d.id.kind.clone());
        if !cache.contains_key(&key) {
            let k = cluster.resolve(&key.0, &key.1).await?;
            cache.insert(key.clone(), k);
        }
        out.push(cache.get(&key).cloned().flatten());
    }
    Ok(out)
}

fn failure(d: &Desired, e: &ClusterError) -> String {
    format!("{}: {e}", d.origin)
}

/// What `sync` and `diff` share: the plan, kinds, live objects and inventory.
struct Snapshot {
    desired: Vec<Desired>,
    /// Index into `desired` of the Namespace added by `--create-namespace` (not in the inventory).
    auto_namespace: Option<usize>,
    kinds: Vec<Option<Kind>>,
    live: HashMap<ObjectId, Value>,
    inventory: Inventory,
    /// Namespaces that do not exist yet.
    missing_namespaces: BTreeSet<String>,
}

async fn snapshot(
    cluster: &Cluster,
    manifests: Vec<Manifest>,
    namespace: &str,
    app: Option<(&str, &InventoryStore)>,
    create_namespace: bool,
    concurrency: usize,
) -> Result<Snapshot, SyncError> {
    let scopes = scopes(cluster).await?;
    let mut desired = prepare(manifests, Some(namespace), &scopes)?;
    let ns_kind = cluster
        .resolve("v1", "Namespace")
        .await?
        .ok_or_else(|| ClusterError::Discovery {
            message: "the cluster serves no v1 Namespace".into(),
        })?;
    let mut namespaces: BTreeSet<String> = desired
        .iter()
        .filter(|d| d.namespaced)
        .map(|d| d.id.namespace.clone())
        .collect();
    namespaces.insert(namespace.to_string());
    let mut missing_namespaces = BTreeSet::new();
    for ns in &namespaces {
        if cluster.get(&ns_kind, "", ns).await?.is_none() {
            missing_namespaces.insert(ns.clone());
        }
    }
    let mut auto_namespace = None;
    let in_git = |ns: &str, desired: &[Desired]| {
        desired
            .iter()
            .any(|d| d.id.group.is_empty() && d.id.kind == "Namespace" && d.id.name == ns)
    };
    if create_namespace && missing_namespaces.contains(namespace) && !in_git(namespace, &desired) {
        let wave = desired.iter().map(|d| d.wave).min().unwrap_or(0);
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
        desired.insert(
            0,
            Desired {
                id: ObjectId::new("", "Namespace", "", namespace),
                object,
                origin: Origin::new("--create-namespace", 0),
                wave,
                stage: Stage::Foundation,
                namespaced: false,
            },
        );
        auto_namespace = Some(0);
    }
    for d in desired.iter_mut() {
        let digest = applied_digest(&d.object);
        if let Some(meta) = d.object.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(DIGEST_ANNOTATION.to_string(), Value::String(digest));
            }
        }
    }
    let kinds = resolve_all(cluster, &desired).await?;
    let wanted: Vec<(ObjectId, Option<Kind>)> = desired
        .iter()
        .zip(&kinds)
        .filter(|(d, _)| !missing_namespaces.contains(&d.id.namespace))
        .map(|(d, k)| (d.id.clone(), k.clone()))
        .collect();
    let live = live::fetch(cluster, &wanted, concurrency).await?;
    let inventory = match app {
        Some((_, InventoryStore::Caller(ids))) => Inventory {
            ids: ids.clone(),
            invalid: Vec::new(),
        },
        Some((app, InventoryStore::ConfigMap)) if !missing_namespaces.contains(namespace) => {
            inventory::read(cluster, app, namespace).await?
        }
        _ => Inventory::default(),
    };
    Ok(Snapshot {
        desired,
        auto_namespace,
        kinds,
        live,
        inventory,
        missing_namespaces,
    })
}

/// Syncs `manifests` into the cluster (see the crate documentation for the steps). `progress` receives
/// one line per step and per object changed.
pub async fn sync(
    cluster: &Cluster,
    manifests: Vec<Manifest>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SyncReport, SyncError> {
    let conc = opts.concurrency.max(1);
    let snap = snapshot(
        cluster,
        manifests,
        &opts.namespace,
        Some((&opts.app, &opts.inventory)),
        opts.create_namespace,
        conc,
    )
    .await?;
    let Snapshot {
        desired,
        auto_namespace,
        kinds,
        live,
        inventory,
        missing_namespaces,
    } = snap;

    // Every namespace used must exist or be created by this sync.
    let created_here: BTreeSet<&str> = desired
        .iter()
        .filter(|d| d.id.group.is_empty() && d.id.kind == "Namespace")
        .map(|d| d.id.name.as_str())
        .collect();
    let unknown: Vec<String> = missing_namespaces
        .iter()
        .filter(|ns| !created_here.contains(ns.as_str()))
        .cloned()
        .collect();
    let uses_unknown = desired
        .iter()
        .any(|d| d.namespaced && unknown.contains(&d.id.namespace));
    if uses_unknown || (unknown.contains(&opts.namespace) && !opts.dry_run) {
        return Err(SyncError::NamespaceMissing { namespaces: unknown });
    }

    // What changes.
    let mut actions = Vec::with_capacity(desired.len());
    for d in &desired {
        let action = match live.get(&d.id) {
            None => Action::Created,
            Some(l) => {
                let digest_same = l
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(DIGEST_ANNOTATION))
                    == d.object
                        .pointer("/metadata/annotations")
                        .and_then(|a| a.get(DIGEST_ANNOTATION));
                let ignore = ignore_pointers_for(&opts.ignore, &d.id);
                if digest_same && !compare(&d.object, Some(l), &ignore).differs() {
                    Action::Unchanged
                } else {
                    Action::Configured
                }
            }
        };
        actions.push(action);
    }
    let changing: Vec<usize> = (0..desired.len())
        .filter(|i| actions[*i] != Action::Unchanged)
        .collect();
    progress(&format!(
        "plan: {} objects in {} batches; {} to create, {} to configure, {} unchanged",
        desired.len(),
        batches(&desired).len(),
        actions.iter().filter(|a| **a == Action::Created).count(),
        actions.iter().filter(|a| **a == Action::Configured).count(),
        actions.iter().filter(|a| **a == Action::Unchanged).count(),
    ));

    // Server-side dry run of everything that changes, before the first write.
    // Objects in a namespace this sync creates cannot be dry-run there; they are dry-run in the `default`
    // namespace instead (a stand-in: validation does not depend on the namespace), unless an object of the
    // same name exists there (a dry run would then patch it and could fail for unrelated reasons).
    let mut unvalidated = 0;
    let mut to_validate: Vec<(usize, Kind, bool)> = Vec::new();
    let mut stand_in_candidates = Vec::new();
    for &i in &changing {
        let d = &desired[i];
        match &kinds[i] {
            Some(k) if !missing_namespaces.contains(&d.id.namespace) => {
                to_validate.push((i, k.clone(), false))
            }
            Some(k) if d.namespaced => stand_in_candidates.push((i, k.clone())),
            _ => unvalidated += 1,
        }
    }
    if !stand_in_candidates.is_empty() {
        let ns_kind = cluster.resolve("v1", "Namespace").await?;
        let default_exists = match &ns_kind {
            Some(k) => cluster.get(k, "", STAND_IN).await?.is_some(),
            None => false,
        };
        if default_exists {
            let wanted: Vec<(ObjectId, Option<Kind>)> = stand_in_candidates
                .iter()
                .map(|(i, k)| {
                    let mut id = desired[*i].id.clone();
                    id.namespace = STAND_IN.to_string();
                    (id, Some(k.clone()))
                })
                .collect();
            let taken = live::fetch(cluster, &wanted, conc).await?;
            for ((i, k), (id, _)) in stand_in_candidates.into_iter().zip(wanted) {
                if taken.contains_key(&id) {
                    unvalidated += 1;
                } else {
                    to_validate.push((i, k, true));
                }
            }
        } else {
            unvalidated += stand_in_candidates.len();
        }
    }
    if !to_validate.is_empty() {
        progress(&format!(
            "dry run: validating {} objects on the API server",
            to_validate.len()
        ));
    }
    let dry = ApplyOptions {
        dry_run: true,
        force: opts.force,
    };
    let mut failures: Vec<(usize, String)> = stream::iter(to_validate)
        .map(|(i, k, stand_in)| {
            let d = &desired[i];
            async move {
                match stand_in.then_some(STAND_IN) {
                    None => cluster
                        .apply(&k, &d.object, dry)
                        .await
                        .err()
                        .map(|e| (i, failure(d, &e))),
                    Some(ns) => {
                        let mut object = d.object.clone();
                        object["metadata"]["namespace"] = Value::String(ns.to_string());
                        match cluster.apply(&k, &object, dry).await {
                            Ok(_) => None,
                            // Field ownership in the stand-in namespace says nothing about the real one.
                            Err(e) if !e.conflicts().is_empty() => None,
                            Err(e) => Some((
                                i,
                                failure(d, &e).replace(
                                    &format!("in namespace {ns}"),
                                    &format!("in namespace {}", d.id.namespace),
                                ),
                            )),
                        }
                    }
                }
            }
        })
        .buffer_unordered(conc)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    if !failures.is_empty() {
        failures.sort();
        return Err(SyncError::DryRun {
            failures: failures.into_iter().map(|(_, f)| f).collect(),
        });
    }
    if unvalidated > 0 {
        progress(&format!(
            "dry run: {unvalidated} objects are validated when applied (their namespace or CRD is created by this sync)"
        ));
    }

    // Prune candidates.
    let desired_ids: BTreeSet<ObjectId> = desired
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != auto_namespace)
        .map(|(_, d)| d.id.clone())
        .collect();
    let candidates = prune_set(&inventory.ids, &desired_ids);

    let mut results: Vec<ObjectResult> = Vec::new();
    let result_of = |i: usize, action: Action| ObjectResult {
        id: desired[i].id.clone(),
        api_version: desired[i].api_version().to_string(),
        origin: (Some(i) != auto_namespace).then(|| desired[i].origin.clone()),
        action,
    };

    if opts.dry_run {
        for (i, a) in actions.iter().enumerate() {
            results.push(result_of(i, *a));
        }
        for id in candidates {
            let keep = prune_decision(cluster, &id).await?;
            let action = match keep {
                None => continue,
                Some(false) => Action::Kept,
                Some(true) if opts.prune => Action::Pruned,
                Some(true) => Action::PruneSkipped,
            };
            results.push(ObjectResult {
                id,
                api_version: String::new(),
                origin: None,
                action,
            });
        }
        return Ok(SyncReport {
            results,
            unvalidated,
            dry_run: true,
            inventory: inventory.ids,
        });
    }

    // Apply, batch after batch.
    let apply_opts = ApplyOptions {
        dry_run: false,
        force: opts.force,
    };
    let mut applied_ids: BTreeSet<ObjectId> = BTreeSet::new();
    let mut kinds = kinds;
    let mut offset = 0;
    for batch in batches(&desired) {
        let range = offset..offset + batch.len();
        offset += batch.len();
        // Kinds defined by CRDs of earlier batches are known now.
        if range.clone().any(|i| kinds[i].is_none()) {
            cluster.refresh_discovery().await?;
            for i in range.clone() {
                if kinds[i].is_none() {
                    kinds[i] = cluster
                        .resolve(desired[i].api_version(), &desired[i].id.kind)
                        .await?;
                }
            }
        }
        let work: Vec<usize> = range
            .clone()
            .filter(|i| actions[*i] != Action::Unchanged)
            .collect();
        for i in range.clone().filter(|i| actions[*i] == Action::Unchanged) {
            applied_ids.insert(desired[i].id.clone());
            results.push(result_of(i, Action::Unchanged));
        }
        if work.is_empty() {
            continue;
        }
        let first = &desired[range.start];
        progress(&format!(
            "wave {}, {}: applying {} objects",
            first.wave,
            first.stage,
            work.len()
        ));
        let outcomes: Vec<(usize, Result<(), String>)> = stream::iter(work)
            .map(|i| {
                let d = &desired[i];
                let k = kinds[i].clone();
                async move {
                    let r = match k {
                        Some(k) => cluster
                            .apply(&k, &d.object, apply_opts)
                            .await
                            .map(|_| ())
                            .map_err(|e| failure(d, &e)),
                        None => Err(format!(
                            "{}: {} ({}) is not served by the cluster; install its CustomResourceDefinition",
                            d.origin,
                            d.id.human(),
                            d.api_version()
                        )),
                    };
                    (i, r)
                }
            })
            .buffer_unordered(conc)
            .collect()
            .await;
        let mut failures = Vec::new();
        let mut crds = Vec::new();
        let mut outcomes = outcomes;
        outcomes.sort_by_key(|(i, _)| *i);
        for (i, r) in outcomes {
            match r {
                Ok(()) => {
                    let d = &desired[i];
                    progress(&format!(
                        "{} {} from {}",
                        actions[i].as_str(),
                        d.id.human(),
                        d.origin
                    ));
                    applied_ids.insert(d.id.clone());
                    results.push(result_of(i, actions[i]));
                    if d.is_crd() {
                        crds.push(d.id.name.clone());
                    }
                }
                Err(e) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            let applied = results
                .iter()
                .filter(|r| matches!(r.action, Action::Created | Action::Configured))
                .count();
            let mut inv = inventory.clone();
            inv.ids
                .extend(applied_ids.into_iter().filter(|id| desired_ids.contains(id)));
            if opts.inventory == InventoryStore::ConfigMap
                && let Err(e) = inventory::write(cluster, &opts.app, &opts.namespace, &inv).await
            {
                failures.push(format!("inventory: {e}"));
            }
            return Err(SyncError::Apply {
                failures,
                applied,
                inventory: inv.ids,
            });
        }
        if !crds.is_empty() {
            for name in &crds {
                cluster.wait_crd_established(name, CRD_TIMEOUT).await?;
            }
            progress(&format!("{} CustomResourceDefinition(s) established", crds.len()));
            cluster.refresh_discovery().await?;
        }
    }

    // Prune.
    let mut inv = Inventory {
        ids: desired_ids.clone(),
        invalid: Vec::new(),
    };
    let mut prune_failures = Vec::new();
    for id in candidates {
        if !opts.prune {
            inv.ids.insert(id.clone());
            results.push(ObjectResult {
                id,
                api_version: String::new(),
                origin: None,
                action: Action::PruneSkipped,
            });
            continue;
        }
        match prune_one(cluster, &id).await {
            Ok(Some(action)) => {
                progress(&format!("{} {}", action.as_str(), id.human()));
                results.push(ObjectResult {
                    id,
                    api_version: String::new(),
                    origin: None,
                    action,
                });
            }
            Ok(None) => {}
            Err(e) => {
                prune_failures.push(format!("{}: {e}", id.human()));
                inv.ids.insert(id);
            }
        }
    }
    if opts.inventory == InventoryStore::ConfigMap {
        inventory::write(cluster, &opts.app, &opts.namespace, &inv).await?;
    }
    if !prune_failures.is_empty() {
        return Err(SyncError::Prune {
            failures: prune_failures,
            inventory: inv.ids,
        });
    }
    Ok(SyncReport {
        results,
        unvalidated,
        dry_run: false,
        inventory: inv.ids,
    })
}

/// `None`: gone (or its kind is not served any more); `Some(false)`: kept by annotation; `Some(true)`: may
/// be pruned.
async fn prune_decision(cluster: &Cluster, id: &ObjectId) -> Result<Option<bool>, ClusterError> {
    let Some(kind) = cluster.resolve_group_kind(&id.group, &id.kind).await? else {
        return Ok(None);
    };
    Ok(cluster
        .get(&kind, &id.namespace, &id.name)
        .await?
        .map(|live| prune_allowed(&live)))
}

async fn prune_one(cluster: &Cluster, id: &ObjectId) -> Result<Option<Action>, ClusterError> {
    let Some(kind) = cluster.resolve_group_kind(&id.group, &id.kind).await? else {
        return Ok(None);
    };
    let Some(live) = cluster.get(&kind, &id.namespace, &id.name).await? else {
        return Ok(None);
    };
    if !prune_allowed(&live) {
        return Ok(Some(Action::Kept));
    }
    Ok(cluster
        .delete(&kind, &id.namespace, &id.name, Propagation::Background)
        .await?
        .then_some(Action::Pruned))
}

/// Options of [`diff`].
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// The destination namespace.
    pub namespace: String,
    /// When set, objects of this application's inventory that left Git are shown as deletions.
    pub app: Option<String>,
    /// Fields left out of comparisons.
    pub ignore: Vec<IgnoreRule>,
    /// ANSI colors.
    pub color: bool,
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffEntry {
    pub id: ObjectId,
    pub origin: Option<Origin>,
    /// The unified diff (Secret values masked).
    pub text: String,
}

/// The differences between Git and the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiffReport {
    pub entries: Vec<DiffEntry>,
    /// Objects compared.
    pub compared: usize,
}

/// Compares `manifests` with the live objects (on the fields the manifests set, see
/// [`tack_plan::compare`]). Reads only; never writes.
pub async fn diff(
    cluster: &Cluster,
    manifests: Vec<Manifest>,
    opts: &DiffOptions,
) -> Result<DiffReport, SyncError> {
    diff_with_inventory(cluster, manifests, opts, &InventoryStore::ConfigMap).await
}

/// [`diff`] with the inventory kept by the caller (the controller's `status.inventory`) when `store` is
/// [`InventoryStore::Caller`]; objects of it that left Git show as deletions when `opts.app` is set.
pub async fn diff_with_inventory(
    cluster: &Cluster,
    manifests: Vec<Manifest>,
    opts: &DiffOptions,
    store: &InventoryStore,
) -> Result<DiffReport, SyncError> {
    let snap = snapshot(
        cluster,
        manifests,
        &opts.namespace,
        opts.app.as_deref().map(|a| (a, store)),
        false,
        16,
    )
    .await?;
    let text_opts = TextOptions {
        color: opts.color,
        context: 3,
    };
    let mut report = DiffReport {
        entries: Vec::new(),
        compared: snap.desired.len(),
    };
    let mut desired_ids = BTreeSet::new();
    for d in &snap.desired {
        desired_ids.insert(d.id.clone());
        let ignore = ignore_pointers_for(&opts.ignore, &d.id);
        let n = compare(&d.object, snap.live.get(&d.id), &ignore);
        if n.differs()
            && let Some(text) = tack_plan::diff(&d.id, Some(&n.desired), n.live.as_ref(), text_opts)
        {
            report.entries.push(DiffEntry {
                id: d.id.clone(),
                origin: Some(d.origin.clone()),
                text,
            });
        }
    }
    for id in prune_set(&snap.inventory.ids, &desired_ids) {
        let Some(kind) = cluster.resolve_group_kind(&id.group, &id.kind).await? else {
            continue;
        };
        let Some(live) = cluster.get(&kind, &id.namespace, &id.name).await? else {
            continue;
        };
        if !prune_allowed(&live) {
            continue;
        }
        if let Some(text) = tack_plan::diff(&id, None, Some(&normalize_live(&live)), text_opts) {
            report.entries.push(DiffEntry {
                id,
                origin: None,
                text,
            });
        }
    }
    Ok(report)
}
