//! Live diff: Git compared with the cluster, read only.

use std::collections::BTreeSet;

use tack_cluster::Cluster;
use tack_plan::{
    DiffOptions as TextOptions, IgnoreRule, ObjectId, compare, ignore_pointers_for, normalize_live,
    prune_allowed, prune_set,
};
use tack_render::{Manifest, Origin, PackedManifest, pack_all};

use crate::snapshot::snapshot;
use crate::sync::{InventoryStore, SyncError};

/// Context that shows every line of an object (for [`DiffOptions::context`]).
pub const WHOLE_OBJECT: usize = 1 << 20;

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
    /// Lines of context around each change (`None`: 3; [`WHOLE_OBJECT`]: every line).
    pub context: Option<usize>,
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffEntry {
    /// The object.
    pub id: ObjectId,
    /// Where Git declares it (file:line); `None` for an object that left Git.
    pub origin: Option<Origin>,
    /// The unified diff (Secret values masked).
    pub text: String,
}

/// The differences between Git and the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiffReport {
    /// The objects that differ, in plan order.
    pub entries: Vec<DiffEntry>,
    /// Objects compared.
    pub compared: usize,
    /// The inventory the objects that left Git were taken from (empty without [`DiffOptions::app`]).
    pub inventory: BTreeSet<ObjectId>,
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
    diff_packed(cluster, pack_all(manifests), opts, store.clone()).await
}

/// [`diff_with_inventory`] of manifests kept compact (see [`tack_render::render_packed`]); the inventory is
/// moved in, and given back in [`DiffReport::inventory`] (a large inventory is never copied).
pub async fn diff_packed(
    cluster: &Cluster,
    manifests: Vec<PackedManifest>,
    opts: &DiffOptions,
    store: InventoryStore,
) -> Result<DiffReport, SyncError> {
    let mut snap = snapshot(
        cluster,
        crate::hooks::without_hooks_packed(manifests),
        &opts.namespace,
        opts.app.as_deref().map(|a| (a, store)),
        false,
        16,
        &opts.ignore,
    )
    .await?;
    let text_opts = TextOptions {
        color: opts.color,
        context: opts.context.unwrap_or(3),
    };
    let mut report = DiffReport {
        entries: Vec::new(),
        compared: snap.desired.len(),
        inventory: BTreeSet::new(),
    };
    for (i, d) in snap.desired.iter().enumerate() {
        // Found equal to Git while it was read (and let go).
        if snap.is_unchanged(i) {
            continue;
        }
        let ignore = ignore_pointers_for(&opts.ignore, &d.id);
        let live = snap.live.get(&d.id);
        // Flux's `ssa: Ignore` objects are never applied, `IfNotPresent` ones only when absent.
        match d.options.apply {
            tack_plan::ApplyPolicy::Ignore => continue,
            tack_plan::ApplyPolicy::IfNotPresent if live.is_some() => continue,
            _ => {}
        }
        let n = compare(&d.object.value(), live, &ignore);
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
    let left_git = prune_set(&snap.inventory.ids, snap.desired.iter().map(|d| &d.id));
    for id in left_git {
        let Some(kind) = cluster.resolve_group_kind(&id.group, &id.kind).await? else {
            continue;
        };
        let Some(live) = cluster.get(&kind, &id.namespace, &id.name).await? else {
            continue;
        };
        if !prune_allowed(&live) || tack_plan::object_options(&live).ignore_extraneous {
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
    report.inventory = std::mem::take(&mut snap.inventory.ids);
    Ok(report)
}
