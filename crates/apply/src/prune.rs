//! The last phase of a sync: deleting what left Git, step after step ([`tack_plan::prune_stage`]: namespaced
//! objects, then cluster-scoped ones, then Namespaces and CRDs), each step concurrently (bounded).

use std::collections::BTreeSet;

use futures::{StreamExt, stream};
use tack_cluster::{Cluster, ClusterError, Propagation};
use tack_plan::{ObjectId, prune_allowed, prune_stage};

use crate::sync::{Action, ObjectResult};

/// What the prune did.
#[derive(Default)]
pub(crate) struct Pruned {
    pub results: Vec<ObjectResult>,
    /// One line per object that could not be deleted.
    pub failures: Vec<String>,
    /// Objects that stay in the inventory: left alone without `prune`, or not deleted because of a failure.
    pub kept: BTreeSet<ObjectId>,
}

impl Pruned {
    pub fn still_managed(&self) -> BTreeSet<ObjectId> {
        self.kept.clone()
    }
}

fn result(id: ObjectId, action: Action) -> ObjectResult {
    ObjectResult {
        id,
        api_version: String::new(),
        origin: None,
        action,
    }
}

/// Prunes `candidates` (in [`tack_plan::prune_set`] order) when `prune`; otherwise reports them as left behind.
pub(crate) async fn run(
    cluster: &Cluster,
    candidates: Vec<ObjectId>,
    prune: bool,
    concurrency: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> Pruned {
    let mut out = Pruned::default();
    if !prune {
        for id in candidates {
            out.kept.insert(id.clone());
            out.results.push(result(id, Action::PruneSkipped));
        }
        return out;
    }
    let mut steps: Vec<Vec<ObjectId>> = Vec::new();
    for id in candidates {
        match steps.last_mut() {
            Some(step) if step.last().is_some_and(|l| prune_stage(l) == prune_stage(&id)) => step.push(id),
            _ => steps.push(vec![id]),
        }
    }
    for step in steps {
        let mut done: Vec<(ObjectId, Result<Option<Action>, ClusterError>)> = stream::iter(step)
            .map(|id| async move {
                let r = prune_one(cluster, &id).await;
                (id, r)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, r) in done {
            match r {
                Ok(Some(action)) => {
                    progress(&format!("{} {}", action.as_str(), id.human()));
                    out.results.push(result(id, action));
                }
                Ok(None) => {}
                Err(e) => {
                    out.failures.push(format!("{}: {e}", id.human()));
                    out.kept.insert(id);
                }
            }
        }
    }
    out
}

/// `None`: gone (or its kind is not served any more); `Some(false)`: kept by annotation; `Some(true)`: may
/// be pruned.
pub(crate) async fn prune_decision(cluster: &Cluster, id: &ObjectId) -> Result<Option<bool>, ClusterError> {
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
