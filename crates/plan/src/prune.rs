//! What to delete: objects of the previous inventory that are no longer desired.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::id::ObjectId;
use crate::options::{PrunePolicy, object_options};

/// `tack.dev/prune: disabled` on a live object keeps it when it leaves Git.
pub const PRUNE_ANNOTATION: &str = "tack.dev/prune";

/// The inventory entries that are not desired any more, in deletion order: namespaced objects first, then
/// cluster-scoped ones, CustomResourceDefinitions and Namespaces last (the reverse of the apply order), each
/// group sorted by id. Whether each may really be deleted depends on its live annotations
/// ([`prune_allowed`]).
pub fn prune_set<'a>(
    inventory: impl IntoIterator<Item = &'a ObjectId>,
    desired: impl IntoIterator<Item = &'a ObjectId>,
) -> Vec<ObjectId> {
    let desired: BTreeSet<&ObjectId> = desired.into_iter().collect();
    let mut out: Vec<ObjectId> = inventory
        .into_iter()
        .filter(|id| !desired.contains(id))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    out.sort_by_key(|id| (prune_stage(id), id.clone()));
    out
}

/// The step of the prune an object belongs to: 0 namespaced objects, 1 other cluster-scoped objects, 2
/// Namespaces and CustomResourceDefinitions. Objects of one step may be deleted concurrently; steps run in order.
pub fn prune_stage(id: &ObjectId) -> u8 {
    let foundation = (id.group.is_empty() && id.kind == "Namespace")
        || (id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition");
    match (foundation, id.namespace.is_empty()) {
        (true, _) => 2,
        (false, true) => 1,
        (false, false) => 0,
    }
}

/// Whether a live object may be pruned: not when annotated `tack.dev/prune: disabled` (Flux's
/// `kustomize.toolkit.fluxcd.io/prune: disabled`, Argo CD's `argocd.argoproj.io/sync-options: Prune=false` or
/// `Delete=false` and Helm's `helm.sh/resource-policy: keep` are honoured too, for migrated manifests).
pub fn prune_allowed(live: &Value) -> bool {
    object_options(live).prune != PrunePolicy::Disabled
}

/// Whether deleting `id` needs a confirmed sync whatever its annotations: Namespaces (deleting one deletes
/// everything in it) and CustomResourceDefinitions (deleting one deletes every custom resource of its kind).
pub fn needs_confirmation(id: &ObjectId) -> bool {
    prune_stage(id) == 2
}

/// Whether pruning `count` objects of an application that managed `total` needs a confirmed sync: more than
/// `max_share` (0.0–1.0) of them at once, the mark of a commit that deleted a whole folder by mistake.
pub fn exceeds_share(count: usize, total: usize, max_share: f64) -> bool {
    total > 0 && count as f64 > max_share * total as f64
}

/// Groups prune candidates (with the wave each carried) into steps run one after the other: the highest wave
/// first (the reverse of the apply order), and inside a wave namespaced objects, then cluster-scoped ones, then
/// Namespaces and CustomResourceDefinitions ([`prune_stage`]). Objects of one step may be deleted concurrently.
pub fn prune_steps(mut candidates: Vec<(ObjectId, i64)>) -> Vec<Vec<ObjectId>> {
    candidates.sort_by(|(a, wa), (b, wb)| (-wa, prune_stage(a), a).cmp(&(-wb, prune_stage(b), b)));
    let mut out: Vec<Vec<ObjectId>> = Vec::new();
    let mut last: Option<(i64, u8)> = None;
    for (id, wave) in candidates {
        let key = (wave, prune_stage(&id));
        match out.last_mut() {
            Some(step) if last == Some(key) => step.push(id),
            _ => out.push(vec![id]),
        }
        last = Some(key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn inventory_minus_desired_in_deletion_order() {
        let inv = [
            ObjectId::new("", "Namespace", "", "n"),
            ObjectId::new("", "ConfigMap", "n", "a"),
            ObjectId::new("", "ConfigMap", "n", "b"),
            ObjectId::new("rbac.authorization.k8s.io", "ClusterRole", "", "r"),
        ];
        let desired = [ObjectId::new("", "ConfigMap", "n", "a")];
        let p = prune_set(&inv, &desired);
        let names: Vec<&str> = p.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["b", "r", "n"]);
    }

    #[test]
    fn annotations_that_keep_an_object() {
        assert!(prune_allowed(&json!({"metadata": {"name": "a"}})));
        assert!(!prune_allowed(
            &json!({"metadata": {"annotations": {PRUNE_ANNOTATION: "disabled"}}})
        ));
        assert!(prune_allowed(
            &json!({"metadata": {"annotations": {PRUNE_ANNOTATION: "enabled"}}})
        ));
        assert!(!prune_allowed(
            &json!({"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}}})
        ));
        assert!(!prune_allowed(
            &json!({"metadata": {"annotations": {"argocd.argoproj.io/sync-options": "Validate=false,Prune=false"}}})
        ));
    }

    #[test]
    fn steps_in_reverse_wave_order_then_stage() {
        let ns = ObjectId::new("", "Namespace", "", "n");
        let a = ObjectId::new("", "ConfigMap", "n", "a");
        let b = ObjectId::new("", "ConfigMap", "n", "b");
        let c = ObjectId::new("", "ConfigMap", "n", "c");
        let r = ObjectId::new("rbac.authorization.k8s.io", "ClusterRole", "", "r");
        let steps = prune_steps(vec![
            (ns.clone(), -1),
            (a.clone(), 0),
            (b.clone(), 2),
            (r.clone(), 0),
            (c.clone(), 0),
        ]);
        assert_eq!(steps, vec![vec![b], vec![a, c], vec![r], vec![ns.clone()]]);
        assert!(needs_confirmation(&ns));
        assert!(needs_confirmation(&ObjectId::new(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "",
            "x.y"
        )));
        assert!(!needs_confirmation(&ObjectId::new("", "ConfigMap", "n", "a")));
    }

    #[test]
    fn the_share_guard() {
        assert!(!exceeds_share(5, 10, 0.5));
        assert!(exceeds_share(6, 10, 0.5));
        assert!(exceeds_share(9, 10, 0.5));
        assert!(!exceeds_share(1, 0, 0.5));
        assert!(!exceeds_share(10, 10, 1.0));
        assert!(exceeds_share(1, 10, 0.0));
        assert!(!prune_allowed(
            &json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}})
        ));
        assert!(!prune_allowed(
            &json!({"metadata": {"annotations": {"argocd.argoproj.io/sync-options": "Delete=false"}}})
        ));
    }

    proptest! {
        #[test]
        fn prune_set_is_exactly_the_difference(inv in proptest::collection::btree_set("[a-e]", 0..6), des in proptest::collection::btree_set("[a-e]", 0..6)) {
            let id = |n: &String| ObjectId::new("", "ConfigMap", "ns", n);
            let inv: Vec<ObjectId> = inv.iter().map(id).collect();
            let des: Vec<ObjectId> = des.iter().map(id).collect();
            let p = prune_set(&inv, &des);
            for x in &p { prop_assert!(inv.contains(x) && !des.contains(x)); }
            for x in &inv { prop_assert!(des.contains(x) || p.contains(x)); }
        }
    }
}
