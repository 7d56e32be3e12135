//! What to delete: objects of the previous inventory that are no longer desired.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::id::ObjectId;

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
/// `kustomize.toolkit.fluxcd.io/prune: disabled` and Argo CD's `argocd.argoproj.io/sync-options:
/// Prune=false` are honoured too, for migrated manifests).
pub fn prune_allowed(live: &Value) -> bool {
    let Some(annotations) = live.pointer("/metadata/annotations").and_then(Value::as_object) else {
        return true;
    };
    let get = |k: &str| annotations.get(k).and_then(Value::as_str).map(str::trim);
    if get(PRUNE_ANNOTATION) == Some("disabled")
        || get("kustomize.toolkit.fluxcd.io/prune") == Some("disabled")
    {
        return false;
    }
    if let Some(opts) = get("argocd.argoproj.io/sync-options")
        && opts.split(',').any(|o| o.trim() == "Prune=false")
    {
        return false;
    }
    true
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
