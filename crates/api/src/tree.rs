//! The resource tree of an application: the objects it manages, and under them what Kubernetes created for
//! them (ReplicaSets under Deployments and Rollouts, Pods under ReplicaSets, StatefulSets, DaemonSets and Jobs,
//! Jobs under CronJobs), linked by owner references. [`build`] is pure; [`children`] reads the owned kinds of
//! the namespaces involved.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use tack_model::ResourceStatus;

/// Children drawn under one parent at most; the rest are counted.
pub const CHILD_LIMIT: usize = 50;

/// An object created for another one (owner reference `owner_kind/owner_name` in the same namespace).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owned {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The kind of its controller owner.
    pub owner_kind: String,
    /// The name of its controller owner.
    pub owner_name: String,
    /// A short state: a Pod's phase (`Running`, `Pending`, …, `NotReady` when running but not ready), a
    /// ReplicaSet's `ready/desired`, a Job's `Complete` / `Failed` / `Running`.
    pub state: String,
}

/// One node of the tree.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Kind.
    pub kind: String,
    /// Namespace (absent for cluster-scoped objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// For managed objects: `Synced` / `OutOfSync`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// For managed objects: the health status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// For created objects: their short state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// What was created for this object (at most [`CHILD_LIMIT`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
    /// How many children were not drawn.
    #[serde(skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The tree: each managed object with its owned objects nested under it.
pub fn build(resources: &[ResourceStatus], owned: &[Owned]) -> Vec<Node> {
    let mut by_owner: BTreeMap<(&str, &str, &str), Vec<&Owned>> = BTreeMap::new();
    for o in owned {
        by_owner
            .entry((o.namespace.as_str(), o.owner_kind.as_str(), o.owner_name.as_str()))
            .or_default()
            .push(o);
    }
    resources
        .iter()
        .map(|r| {
            let ns = r.namespace.clone().unwrap_or_default();
            let (children, more) = nested(&by_owner, &ns, &r.kind, &r.name, 0);
            Node {
                kind: r.kind.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                sync: r.status.map(|s| format!("{s:?}")),
                health: r.health.as_ref().map(|h| h.status.clone()),
                state: None,
                children,
                more,
            }
        })
        .collect()
}

fn nested(
    by_owner: &BTreeMap<(&str, &str, &str), Vec<&Owned>>,
    ns: &str,
    kind: &str,
    name: &str,
    depth: usize,
) -> (Vec<Node>, usize) {
    // Deployment → ReplicaSet → Pod and CronJob → Job → Pod are the deepest chains.
    let Some(list) = by_owner.get(&(ns, kind, name)).filter(|_| depth < 3) else {
        return (Vec::new(), 0);
    };
    let mut list = list.clone();
    list.sort();
    let more = list.len().saturating_sub(CHILD_LIMIT);
    let nodes = list
        .into_iter()
        .take(CHILD_LIMIT)
        .map(|o| {
            let (children, more) = nested(by_owner, ns, &o.kind, &o.name, depth + 1);
            Node {
                kind: o.kind.clone(),
                namespace: Some(o.namespace.clone()),
                name: o.name.clone(),
                sync: None,
                health: None,
                state: Some(o.state.clone()),
                children,
                more,
            }
        })
        .collect();
    (nodes, more)
}

/// The controller owner of an object, as (kind, name).
fn owner<K: Resource>(o: &K) -> Option<(String, String)> {
    o.meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| (r.kind.clone(), r.name.clone()))
}

fn owned<K: Resource + ResourceExt>(o: &K, kind: &str, state: String) -> Option<Owned> {
    let (owner_kind, owner_name) = owner(o)?;
    Some(Owned {
        kind: kind.to_string(),
        namespace: o.namespace().unwrap_or_default(),
        name: o.name_any(),
        owner_kind,
        owner_name,
        state,
    })
}

fn pod_state(p: &Pod) -> String {
    let status = p.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Pending".into());
    let ready = status
        .conditions
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    if phase == "Running" && !ready {
        "NotReady".into()
    } else {
        phase
    }
}

fn job_state(j: &Job) -> String {
    let status = j.status.clone().unwrap_or_default();
    let done = |t: &str| {
        status
            .conditions
            .as_ref()
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == t && c.status == "True"))
    };
    if done("Complete") {
        "Complete".into()
    } else if done("Failed") {
        "Failed".into()
    } else {
        "Running".into()
    }
}

/// The ReplicaSets, Pods and Jobs of `namespaces` that have a controller owner.
pub async fn children(
    client: &kube::Client,
    namespaces: &BTreeSet<String>,
) -> Result<Vec<Owned>, kube::Error> {
    let mut out = Vec::new();
    for ns in namespaces {
        let lp = ListParams::default();
        for rs in Api::<ReplicaSet>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
        {
            let status = rs.status.clone().unwrap_or_default();
            let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let state = format!("{}/{desired} ready", status.ready_replicas.unwrap_or(0));
            out.extend(owned(&rs, "ReplicaSet", state));
        }
        for p in Api::<Pod>::namespaced(client.clone(), ns).list(&lp).await? {
            out.extend(owned(&p, "Pod", pod_state(&p)));
        }
        for j in Api::<Job>::namespaced(client.clone(), ns).list(&lp).await? {
            out.extend(owned(&j, "Job", job_state(&j)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::{HealthStatus, SyncState};

    fn o(kind: &str, name: &str, owner_kind: &str, owner_name: &str) -> Owned {
        Owned {
            kind: kind.into(),
            namespace: "qa".into(),
            name: name.into(),
            owner_kind: owner_kind.into(),
            owner_name: owner_name.into(),
            state: "Running".into(),
        }
    }

    #[test]
    fn deployments_get_their_replica_sets_and_pods() {
        let resources = vec![
            ResourceStatus {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into(),
                namespace: Some("qa".into()),
                name: "web".into(),
                status: Some(SyncState::Synced),
                health: Some(HealthStatus {
                    status: "Healthy".into(),
                    message: None,
                }),
            },
            ResourceStatus {
                group: String::new(),
                version: "v1".into(),
                kind: "Service".into(),
                namespace: Some("qa".into()),
                name: "web".into(),
                status: None,
                health: None,
            },
        ];
        let mut owned = vec![
            o("ReplicaSet", "web-1", "Deployment", "web"),
            o("Pod", "web-1-a", "ReplicaSet", "web-1"),
            o("Pod", "web-1-b", "ReplicaSet", "web-1"),
            // Same name, another kind: not a child of the Service.
            o("ReplicaSet", "other", "Deployment", "api"),
        ];
        for i in 0..60 {
            owned.push(o("Pod", &format!("many-{i:02}"), "ReplicaSet", "web-2"));
        }
        owned.push(o("ReplicaSet", "web-2", "Deployment", "web"));
        let tree = build(&resources, &owned);
        assert_eq!(tree.len(), 2);
        let web = &tree[0];
        assert_eq!(
            (web.sync.as_deref(), web.health.as_deref()),
            (Some("Synced"), Some("Healthy"))
        );
        let names: Vec<&str> = web.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["web-1", "web-2"]);
        assert_eq!(web.children[0].children.len(), 2);
        assert_eq!(web.children[1].children.len(), CHILD_LIMIT);
        assert_eq!(web.children[1].more, 10);
        assert!(tree[1].children.is_empty());
    }
}
