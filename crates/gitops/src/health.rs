//! The health of an application's objects, reading from the cluster only the objects whose health depends on
//! their live state (see [`tack_health::needs_live_state`]): the others — ConfigMaps, Secrets, RBAC, Services
//! without a load balancer, ... — are Healthy once they exist, which the sync that just applied them, or the
//! comparison that just found them equal to Git, has shown. An application of 100 000 ConfigMaps is therefore
//! not read a second time on every reconcile.

use std::collections::{BTreeSet, HashMap, HashSet};

use tack_cluster::{Cluster, ClusterError};
use tack_health::{Health, ResourceHealth, aggregate, is_stateless_kind, needs_live_state};
use tack_plan::{ApplyPolicy, ObjectId};
use tack_render::PackedObject;

/// The objects of an application whose own declaration overrides what their kind says about reading them.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// Objects of kinds that usually need their live state, but not as declared (Services without a load
    /// balancer).
    skipped: HashSet<ObjectId>,
    /// Objects of stateless kinds that tack never applies, or applies only when absent: they may be missing, so
    /// they are read.
    forced: HashSet<ObjectId>,
}

impl Reads {
    /// From the desired objects (id as the reconcile names them, and the object as Git has it). Objects are
    /// read back from their text only where their declaration can matter.
    pub(crate) fn of<'a>(desired: impl IntoIterator<Item = (ObjectId, &'a PackedObject)>) -> Reads {
        let mut reads = Reads::default();
        for (id, object) in desired {
            if is_stateless_kind(&id.group, &id.kind) {
                // The apply policy is Flux's annotation alone.
                if object.mentions(tack_plan::FLUX_SSA)
                    && tack_plan::object_options(&object.value()).apply != ApplyPolicy::Apply
                {
                    reads.forced.insert(id);
                }
            } else if !needs_live_state(&object.value()) {
                reads.skipped.insert(id);
            }
        }
        reads
    }

    /// Whether the health of `id` needs a read: always for objects that differ from Git (they may be missing),
    /// else by its kind and declaration. `destination` is the namespace that namespace-less ids were given.
    pub(crate) fn needed(&self, id: &ObjectId, drifted: &BTreeSet<ObjectId>, destination: &str) -> bool {
        // Cluster-scoped objects are named without a namespace once applied, with `destination` before.
        let also = id.namespace.is_empty().then(|| {
            let mut with = id.clone();
            with.namespace = destination.to_string();
            with
        });
        let listed =
            |set: &HashSet<ObjectId>| set.contains(id) || also.as_ref().is_some_and(|a| set.contains(a));
        if drifted.contains(id) || listed(&self.forced) {
            return true;
        }
        !(is_stateless_kind(&id.group, &id.kind) || listed(&self.skipped))
    }
}

/// The health of an application's objects: those that were read, by position; the others are Healthy (nothing
/// is kept for them, so an application of many ConfigMaps holds nothing per object here).
#[derive(Debug, Default)]
pub(crate) struct Assessed {
    read: HashMap<usize, ResourceHealth>,
    count: usize,
}

impl Assessed {
    /// The health of object `i` when it was read; `None`: Healthy.
    pub(crate) fn read(&self, i: usize) -> Option<&Health> {
        self.read.get(&i).map(|r| &r.health)
    }

    /// The application's health ([`tack_health::aggregate`] of every object).
    pub(crate) fn aggregate(&self) -> Health {
        let healthy = ResourceHealth {
            kind: String::new(),
            name: String::new(),
            namespace: None,
            health: Health::healthy(""),
        };
        aggregate((0..self.count).map(|i| self.read.get(&i).unwrap_or(&healthy)))
    }
}

/// The health of each of `objects` (id, apiVersion), by position: assessed from one read of their live state
/// ([`tack_apply::assess_objects`]) where [`Reads::needed`] says so; the others are Healthy.
pub(crate) async fn assess(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
    drifted: &BTreeSet<ObjectId>,
    reads: &Reads,
    destination: &str,
) -> Result<Assessed, ClusterError> {
    let needed: Vec<bool> = objects
        .iter()
        .map(|(id, _)| reads.needed(id, drifted, destination))
        .collect();
    let wanted: Vec<(ObjectId, String)> = objects
        .iter()
        .zip(&needed)
        .filter(|(_, n)| **n)
        .map(|(o, _)| o.clone())
        .collect();
    let assessed = tack_apply::assess_objects(cluster, &wanted).await?;
    let positions = needed.iter().enumerate().filter(|(_, n)| **n).map(|(i, _)| i);
    Ok(Assessed {
        read: positions.zip(assessed).collect(),
        count: objects.len(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_objects_whose_health_can_change_are_read() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let ignored = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "annotations": {"kustomize.toolkit.fluxcd.io/ssa": "Ignore"}}});
        let web = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "ClusterIP"}});
        let lb = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer"}});
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}});
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
        let id = |g: &str, k: &str, n: &str| ObjectId::new(g, k, "ns", n);
        let packed: Vec<PackedObject> = [&cm, &ignored, &web, &lb, &role, &deploy]
            .into_iter()
            .map(PackedObject::pack)
            .collect();
        let reads = Reads::of([
            (id("", "ConfigMap", "c"), &packed[0]),
            (id("", "Secret", "s"), &packed[1]),
            (id("", "Service", "web"), &packed[2]),
            (id("", "Service", "lb"), &packed[3]),
            (id("rbac.authorization.k8s.io", "ClusterRole", "r"), &packed[4]),
            (id("apps", "Deployment", "d"), &packed[5]),
        ]);
        let none = BTreeSet::new();
        assert!(!reads.needed(&id("", "ConfigMap", "c"), &none, "ns"));
        assert!(
            reads.needed(&id("", "Secret", "s"), &none, "ns"),
            "never applied: may be missing"
        );
        assert!(!reads.needed(&id("", "Service", "web"), &none, "ns"));
        assert!(reads.needed(&id("", "Service", "lb"), &none, "ns"));
        // Applied cluster-scoped objects lose the destination namespace.
        let applied_role = ObjectId::new("rbac.authorization.k8s.io", "ClusterRole", "", "r");
        assert!(!reads.needed(&applied_role, &none, "ns"));
        assert!(reads.needed(&id("apps", "Deployment", "d"), &none, "ns"));
        // A Service not seen in Git (another namespace) is read.
        assert!(reads.needed(&ObjectId::new("", "Service", "other", "web"), &none, "ns"));
        // What differs from Git may be missing: read.
        let drifted: BTreeSet<ObjectId> = [id("", "ConfigMap", "c")].into();
        assert!(reads.needed(&id("", "ConfigMap", "c"), &drifted, "ns"));
    }
}
