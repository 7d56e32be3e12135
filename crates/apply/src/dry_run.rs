//! The server-side dry run of everything a sync changes, before its first write, and the report of a sync run
//! with `dry_run` (nothing written).
//!
//! Objects in a namespace this sync creates cannot be dry-run there; they are dry-run in the `default` namespace
//! instead (a stand-in: validation does not depend on the namespace), unless an object of the same name exists
//! there (a dry run would then patch it and could fail for unrelated reasons).

use std::sync::Arc;

use futures::{StreamExt, stream};
use serde_json::Value;
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind};
use tack_plan::{Change, Desired, ObjectId, exceeds_share};

use crate::live;
use crate::outcome::Outcome;
use crate::prune::decide;
use crate::snapshot::Snapshot;
use crate::sync::{Action, ObjectResult, SyncError, SyncOptions, SyncReport, result_of};

/// The namespace objects are dry-run in when their own namespace is created by the sync.
const STAND_IN: &str = "default";

pub(crate) fn failure(d: &Desired, e: &ClusterError) -> String {
    format!("{}: {e}", d.origin)
}

/// Which changing objects can be validated, and where: `(index, kind, in the stand-in namespace)`, plus how
/// many cannot be validated before they are applied.
async fn targets(
    cluster: &Cluster,
    snap: &Snapshot,
    changes: &[Change],
    conc: usize,
) -> Result<(Vec<(usize, Arc<Kind>, bool)>, usize), SyncError> {
    let mut unvalidated = 0;
    let mut to_validate = Vec::new();
    let mut stand_in_candidates = Vec::new();
    for (i, d) in snap.desired.iter().enumerate() {
        if changes[i] == Change::Unchanged {
            continue;
        }
        match &snap.kinds[i] {
            Some(k) if !snap.missing_namespaces.contains(&d.id.namespace) => {
                to_validate.push((i, k.clone(), false))
            }
            Some(k) if d.namespaced => stand_in_candidates.push((i, k.clone())),
            _ => unvalidated += 1,
        }
    }
    if stand_in_candidates.is_empty() {
        return Ok((to_validate, unvalidated));
    }
    let default_exists = match cluster.resolve("v1", "Namespace").await? {
        Some(k) => match cluster.get(&k, "", STAND_IN).await {
            Ok(ns) => ns.is_some(),
            // An identity that may not read Namespaces (an impersonated ServiceAccount): no stand-in.
            Err(ClusterError::Rejected { code: 403, .. }) => false,
            Err(e) => return Err(e.into()),
        },
        None => false,
    };
    if !default_exists {
        return Ok((to_validate, unvalidated + stand_in_candidates.len()));
    }
    let ids: Vec<ObjectId> = stand_in_candidates
        .iter()
        .map(|(i, _)| {
            let mut id = snap.desired[*i].id.clone();
            id.namespace = STAND_IN.to_string();
            id
        })
        .collect();
    let wanted: Vec<live::Wanted<'_>> = ids
        .iter()
        .zip(&stand_in_candidates)
        .map(|(id, (_, k))| (id, Some(k.clone())))
        .collect();
    let taken = live::fetch(cluster, &wanted, conc).await?;
    drop(wanted);
    for ((i, k), id) in stand_in_candidates.into_iter().zip(ids) {
        if taken.contains_key(&id) {
            unvalidated += 1;
        } else {
            to_validate.push((i, k, true));
        }
    }
    Ok((to_validate, unvalidated))
}

/// Dry-runs one object; the failure line when the server refuses it.
async fn check_one(
    cluster: &Cluster,
    d: &Desired,
    kind: &Kind,
    stand_in: bool,
    force: bool,
) -> Option<String> {
    let dry = ApplyOptions { dry_run: true, force };
    if !stand_in {
        return cluster
            .apply(kind, &d.object.value(), dry)
            .await
            .err()
            .map(|e| failure(d, &e));
    }
    let mut object = d.object.value();
    object["metadata"]["namespace"] = Value::String(STAND_IN.to_string());
    match cluster.apply(kind, &object, dry).await {
        Ok(_) => None,
        // Field ownership in the stand-in namespace says nothing about the real one.
        Err(e) if !e.conflicts().is_empty() => None,
        Err(e) => Some(failure(d, &e).replace(
            &format!("in namespace {STAND_IN}"),
            &format!("in namespace {}", d.id.namespace),
        )),
    }
}

/// Dry-runs every object that changes; nothing is written if any is refused. Returns how many objects could
/// not be validated (their namespace or CRD is created by this sync).
pub(crate) async fn validate(
    cluster: &Cluster,
    snap: &Snapshot,
    changes: &[Change],
    opts: &SyncOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<usize, SyncError> {
    let conc = opts.concurrency.max(1);
    let (to_validate, unvalidated) = targets(cluster, snap, changes, conc).await?;
    if !to_validate.is_empty() {
        progress(&format!(
            "dry run: validating {} objects on the API server",
            to_validate.len()
        ));
    }
    let mut failures: Vec<(usize, String)> = stream::iter(to_validate)
        .map(|(i, k, stand_in)| async move {
            let d = &snap.desired[i];
            // Force=true takes fields over; a replace (Replace=true) sets every field whoever owned it.
            let force = opts.force || d.options.force || d.options.replace;
            check_one(cluster, d, &k, stand_in, force).await.map(|f| (i, f))
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
    Ok(unvalidated)
}

/// The report of a dry run: what each object would become, and what would be pruned (or held).
pub(crate) async fn report(
    cluster: &Cluster,
    snap: &Snapshot,
    changes: &[Change],
    candidates: Vec<ObjectId>,
    opts: &SyncOptions,
    total: usize,
    unvalidated: usize,
) -> Result<SyncReport, SyncError> {
    let mut results: Vec<ObjectResult> = Vec::new();
    let mut pruned = Vec::new();
    for id in candidates {
        let live = match cluster.resolve_group_kind(&id.group, &id.kind).await? {
            Some(kind) => cluster.get(&kind, &id.namespace, &id.name).await?,
            None => None,
        };
        let Some(action) = decide(&id, live.as_ref(), opts) else {
            continue;
        };
        if action == Action::Pruned {
            pruned.push(results.len());
        }
        results.push(ObjectResult {
            id,
            api_version: String::new(),
            origin: None,
            action,
        });
    }
    if !opts.confirm && !pruned.is_empty() && exceeds_share(pruned.len(), total, opts.max_prune_share) {
        for i in pruned {
            results[i].action = Action::PruneHeld;
        }
    }
    let mut outcome = Outcome::new(opts.detail);
    outcome.extend(
        changes
            .iter()
            .enumerate()
            .map(|(i, c)| result_of(snap, i, Action::of(*c))),
    );
    outcome.extend(results);
    Ok(SyncReport {
        unvalidated,
        dry_run: true,
        ..SyncReport::new(outcome, snap.inventory.ids.clone(), Vec::new())
    })
}
