//! The last phase of a sync: deleting what left Git. Each candidate is read first: kept when its annotations say
//! so, held when only a confirmed sync may delete it (Namespaces, CRDs, `Prune=confirm`, or more than the share
//! of the application one sync may prune); the others are deleted step after step ([`tack_plan::prune_steps`]:
//! the highest wave first, and inside a wave namespaced objects, then cluster-scoped ones, then Namespaces and
//! CRDs), each step concurrently (bounded), with the sync's propagation policy.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};
use serde_json::Value;
use tack_cluster::{Cluster, ClusterError, Kind};
use tack_plan::{
    ObjectId, PrunePolicy, exceeds_share, needs_confirmation, object_options, prune_steps, wave_of,
};

use crate::sync::{Action, ObjectResult, SyncOptions};

/// What the prune did.
#[derive(Default)]
pub(crate) struct Pruned {
    pub results: Vec<ObjectResult>,
    /// One line per object that could not be deleted.
    pub failures: Vec<String>,
    /// Objects that stay in the inventory: left alone without `prune`, held, or not deleted because of a failure.
    pub kept: BTreeSet<ObjectId>,
}

fn result(id: ObjectId, action: Action) -> ObjectResult {
    ObjectResult {
        id,
        api_version: String::new(),
        origin: None,
        action,
    }
}

/// What to do with one candidate, from its live state (`None`: gone, or its kind is not served any more).
pub(crate) fn decide(id: &ObjectId, live: Option<&Value>, opts: &SyncOptions) -> Option<Action> {
    let live = live?;
    let o = object_options(live);
    Some(match o.prune {
        _ if !opts.prune && o.ignore_extraneous => Action::Extraneous,
        _ if !opts.prune => Action::PruneSkipped,
        PrunePolicy::Disabled => Action::Kept,
        PrunePolicy::Confirm if !opts.confirm => Action::PruneHeld,
        _ if needs_confirmation(id) && !opts.confirm => Action::PruneHeld,
        _ => Action::Pruned,
    })
}

/// Prunes `candidates` (see the module documentation); `total` is how many objects the application managed.
pub(crate) async fn run(
    cluster: &Cluster,
    candidates: Vec<ObjectId>,
    opts: &SyncOptions,
    total: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> Pruned {
    let conc = opts.concurrency.max(1);
    let mut out = Pruned::default();
    let read: Vec<(ObjectId, Result<Option<Found>, ClusterError>)> = stream::iter(candidates)
        .map(|id| async move {
            let r = read(cluster, &id).await;
            (id, r)
        })
        .buffered(conc)
        .collect()
        .await;
    let mut to_delete: Vec<(ObjectId, i64, Kind)> = Vec::new();
    for (id, r) in read {
        match r {
            Err(e) => {
                out.failures.push(format!("{}: {e}", id.human()));
                out.kept.insert(id);
            }
            Ok(None) => {}
            Ok(Some((kind, live))) => match decide(&id, Some(&live), opts) {
                Some(Action::Pruned) => to_delete.push((id, wave_of(&live).unwrap_or(0), kind)),
                Some(Action::Kept) => {
                    progress(&format!("{} {}", Action::Kept.as_str(), id.human()));
                    out.results.push(result(id, Action::Kept));
                }
                Some(action) => {
                    out.kept.insert(id.clone());
                    out.results.push(result(id, action));
                }
                None => {}
            },
        }
    }
    if !opts.confirm && !to_delete.is_empty() && exceeds_share(to_delete.len(), total, opts.max_prune_share) {
        progress(&format!(
            "prune held: {} of the application's {total} objects left Git, more than {:.0} % at once; nothing is \
             pruned until a confirmed sync (--prune --confirm)",
            to_delete.len(),
            opts.max_prune_share * 100.0
        ));
        for (id, _, _) in to_delete {
            out.kept.insert(id.clone());
            out.results.push(result(id, Action::PruneHeld));
        }
        return out;
    }
    for (id, _) in out
        .results
        .iter()
        .filter(|r| r.action == Action::PruneHeld)
        .map(|r| (&r.id, ()))
    {
        progress(&format!("{} {}", Action::PruneHeld.as_str(), id.human()));
    }
    let kinds: std::collections::HashMap<ObjectId, Kind> = to_delete
        .iter()
        .map(|(id, _, k)| (id.clone(), k.clone()))
        .collect();
    let steps = prune_steps(to_delete.into_iter().map(|(id, w, _)| (id, w)).collect());
    for step in steps {
        let mut done: Vec<(ObjectId, Result<bool, ClusterError>)> = stream::iter(step)
            .map(|id| {
                let kind = kinds.get(&id).cloned();
                async move {
                    let r = match kind {
                        Some(k) => {
                            cluster
                                .delete(&k, &id.namespace, &id.name, opts.propagation.clone())
                                .await
                        }
                        None => Ok(false),
                    };
                    (id, r)
                }
            })
            .buffer_unordered(conc)
            .collect()
            .await;
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, r) in done {
            match r {
                Ok(true) => {
                    progress(&format!("{} {}", Action::Pruned.as_str(), id.human()));
                    out.results.push(result(id, Action::Pruned));
                }
                Ok(false) => {}
                Err(e) => {
                    out.failures.push(format!("{}: {e}", id.human()));
                    out.kept.insert(id);
                }
            }
        }
    }
    out
}

/// A candidate's kind and live state.
type Found = (Kind, Value);

/// The kind and live state of a candidate; `None` when it is gone or its kind is not served any more.
async fn read(cluster: &Cluster, id: &ObjectId) -> Result<Option<Found>, ClusterError> {
    let Some(kind) = cluster.resolve_group_kind(&id.group, &id.kind).await? else {
        return Ok(None);
    };
    Ok(cluster
        .get(&kind, &id.namespace, &id.name)
        .await?
        .map(|live| (kind, live)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(annotations: Value) -> Value {
        json!({"metadata": {"name": "a", "annotations": annotations}})
    }

    #[test]
    fn decisions() {
        let cm = ObjectId::new("", "ConfigMap", "n", "a");
        let ns = ObjectId::new("", "Namespace", "", "n");
        let mut opts = SyncOptions::new("app", "n");
        assert_eq!(decide(&cm, None, &opts), None);
        assert_eq!(
            decide(&cm, Some(&live(json!({}))), &opts),
            Some(Action::PruneSkipped)
        );
        let extraneous = live(json!({"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}));
        assert_eq!(decide(&cm, Some(&extraneous), &opts), Some(Action::Extraneous));
        opts.prune = true;
        assert_eq!(decide(&cm, Some(&live(json!({}))), &opts), Some(Action::Pruned));
        assert_eq!(decide(&cm, Some(&extraneous), &opts), Some(Action::Pruned));
        assert_eq!(
            decide(&cm, Some(&live(json!({"tack.dev/prune": "disabled"}))), &opts),
            Some(Action::Kept)
        );
        let confirm = live(json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}));
        assert_eq!(decide(&cm, Some(&confirm), &opts), Some(Action::PruneHeld));
        assert_eq!(
            decide(&ns, Some(&live(json!({}))), &opts),
            Some(Action::PruneHeld)
        );
        opts.confirm = true;
        assert_eq!(decide(&cm, Some(&confirm), &opts), Some(Action::Pruned));
        assert_eq!(decide(&ns, Some(&live(json!({}))), &opts), Some(Action::Pruned));
        assert_eq!(
            decide(&ns, Some(&live(json!({"tack.dev/prune": "disabled"}))), &opts),
            Some(Action::Kept)
        );
    }
}
