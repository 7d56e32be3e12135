//! The first phase of a sync or diff: the plan, the kinds, the live objects and the inventory, read once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use tack_cluster::{Cluster, ClusterError, Kind};
use tack_plan::{
    Change, DIGEST_ANNOTATION, Desired, IgnoreRule, KindScopes, ObjectId, Stage, applied_digest,
    classify_one, prepare_packed,
};
use tack_render::{Origin, PackedManifest, PackedObject};

use crate::inventory::{self, Inventory, InventoryRef};
use crate::live;
use crate::sync::{InventoryStore, SyncError};

/// What `sync` and `diff` share: the plan, kinds, live objects and inventory.
pub(crate) struct Snapshot {
    pub desired: Vec<Desired>,
    /// Index into `desired` of the Namespace added by `--create-namespace` (not in the inventory).
    pub auto_namespace: Option<usize>,
    /// The kind of each desired object (shared by the objects of one kind), `None` when the cluster does not
    /// serve it yet.
    pub kinds: Vec<Option<Arc<Kind>>>,
    /// The live objects that differ from Git (or may: those [`tack_plan::classify_one`] does not call unchanged).
    pub live: HashMap<ObjectId, Value>,
    /// Whether each desired object was found equal to Git ([`tack_plan::Change::Unchanged`]) while it was read
    /// (then it was not kept); by position in `desired`, possibly shorter.
    pub unchanged: Vec<bool>,
    pub inventory: Inventory,
    /// Namespaces that do not exist yet.
    pub missing_namespaces: BTreeSet<String>,
}

impl Snapshot {
    /// Whether `desired[i]` was found equal to Git while it was read.
    pub fn is_unchanged(&self, i: usize) -> bool {
        self.unchanged.get(i).copied().unwrap_or(false)
    }

    /// The ids the application manages after this sync: every desired object but the namespace added by
    /// `--create-namespace`.
    pub fn managed_ids(&self) -> BTreeSet<ObjectId> {
        self.desired
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.auto_namespace)
            .map(|(_, d)| d.id.clone())
            .collect()
    }
}

/// The kinds the cluster serves, as a scope table for [`tack_plan::prepare`].
async fn scopes(cluster: &Cluster) -> Result<KindScopes, ClusterError> {
    let mut s = KindScopes::new();
    for k in cluster.served_kinds().await? {
        s.insert(&k.group, &k.kind, k.namespaced);
    }
    Ok(s)
}

async fn resolve_all(cluster: &Cluster, desired: &[Desired]) -> Result<Vec<Option<Arc<Kind>>>, ClusterError> {
    let mut cache: HashMap<(String, String), Option<Arc<Kind>>> = HashMap::new();
    let mut out = Vec::with_capacity(desired.len());
    for d in desired {
        let key = (d.api_version(), d.id.kind.clone());
        if !cache.contains_key(&key) {
            let k = cluster.resolve(&key.0, &key.1).await?;
            cache.insert(key.clone(), k.map(Arc::new));
        }
        out.push(cache.get(&key).cloned().flatten());
    }
    Ok(out)
}

/// The namespaces `desired` uses (and `namespace`) that do not exist.
async fn missing_namespaces(
    cluster: &Cluster,
    desired: &[Desired],
    namespace: &str,
) -> Result<BTreeSet<String>, ClusterError> {
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
    let mut missing = BTreeSet::new();
    for ns in &namespaces {
        match cluster.get(&ns_kind, "", ns).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                missing.insert(ns.clone());
            }
            // An identity confined to namespaces (an impersonated ServiceAccount) may not read Namespace
            // objects: the namespace is taken to exist, and the dry run says otherwise if it does not.
            Err(ClusterError::Rejected { code: 403, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(missing)
}

/// Adds the Namespace of `--create-namespace` in front when `namespace` is missing and not in Git; its index.
fn add_namespace(desired: &mut Vec<Desired>, namespace: &str) -> usize {
    let wave = desired.iter().map(|d| d.wave).min().unwrap_or(0);
    let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    desired.insert(
        0,
        Desired {
            id: ObjectId::new("", "Namespace", "", namespace),
            object: object.into(),
            origin: Origin::new("--create-namespace", 0),
            wave,
            stage: Stage::Foundation,
            namespaced: false,
            options: Default::default(),
        },
    );
    0
}

/// Stamps each object with the digest of what is applied.
fn add_digests(desired: &mut [Desired]) {
    for d in desired.iter_mut() {
        let mut object = d.object.value();
        let digest = applied_digest(&object);
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(DIGEST_ANNOTATION.to_string(), Value::String(digest));
            }
        }
        d.object = PackedObject::from_value(object);
    }
}

pub(crate) async fn snapshot(
    cluster: &Cluster,
    manifests: Vec<PackedManifest>,
    namespace: &str,
    app: Option<(&str, InventoryStore)>,
    create_namespace: bool,
    concurrency: usize,
    ignore: &[IgnoreRule],
) -> Result<Snapshot, SyncError> {
    let scopes = scopes(cluster).await?;
    let mut desired = prepare_packed(manifests, Some(namespace), &scopes)?;
    let missing_namespaces = missing_namespaces(cluster, &desired, namespace).await?;
    let in_git = desired
        .iter()
        .any(|d| d.id.group.is_empty() && d.id.kind == "Namespace" && d.id.name == namespace);
    let auto_namespace = (create_namespace && missing_namespaces.contains(namespace) && !in_git)
        .then(|| add_namespace(&mut desired, namespace));
    add_digests(&mut desired);
    let kinds = resolve_all(cluster, &desired).await?;
    // Every desired object by position; those in namespaces that do not exist are not read.
    let wanted: Vec<live::Wanted<'_>> = desired
        .iter()
        .zip(&kinds)
        .map(|(d, k)| {
            let read = !missing_namespaces.contains(&d.id.namespace);
            (&d.id, k.clone().filter(|_| read))
        })
        .collect();
    // Objects equal to Git are let go as they are read: a large application that changed little holds little.
    let unchanged =
        |i: usize, live: &Value| classify_one(&desired[i], Some(live), ignore) == Change::Unchanged;
    let live = live::fetch_dropping(cluster, &wanted, concurrency, &unchanged).await?;
    drop(wanted);
    let mut found_equal = vec![false; desired.len()];
    for i in live.dropped {
        found_equal[i] = true;
    }
    let inventory = match app {
        Some((_, InventoryStore::Caller(ids) | InventoryStore::Stored { previous: ids, .. })) => Inventory {
            ids,
            invalid: Vec::new(),
        },
        Some((app, InventoryStore::ConfigMap)) if !missing_namespaces.contains(namespace) => {
            inventory::read_at(cluster, &InventoryRef::one_shot(app, namespace))
                .await?
                .unwrap_or_default()
        }
        _ => Inventory::default(),
    };
    Ok(Snapshot {
        desired,
        auto_namespace,
        kinds,
        live: live.objects,
        unchanged: found_equal,
        inventory,
        missing_namespaces,
    })
}

/// Every namespace used must exist or be created by this sync (a dry run may target a namespace it would
/// create).
pub(crate) fn check_namespaces(snap: &Snapshot, namespace: &str, dry_run: bool) -> Result<(), SyncError> {
    let created_here: BTreeSet<&str> = snap
        .desired
        .iter()
        .filter(|d| d.id.group.is_empty() && d.id.kind == "Namespace")
        .map(|d| d.id.name.as_str())
        .collect();
    let unknown: Vec<String> = snap
        .missing_namespaces
        .iter()
        .filter(|ns| !created_here.contains(ns.as_str()))
        .cloned()
        .collect();
    let uses_unknown = snap
        .desired
        .iter()
        .any(|d| d.namespaced && unknown.contains(&d.id.namespace));
    if uses_unknown || (unknown.iter().any(|n| n == namespace) && !dry_run) {
        return Err(SyncError::NamespaceMissing { namespaces: unknown });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(group: &str, kind: &str, namespace: &str, name: &str, namespaced: bool) -> Desired {
        Desired {
            id: ObjectId::new(group, kind, namespace, name),
            object: json!({}).into(),
            origin: Origin::new("app.yaml", 1),
            wave: 0,
            stage: Stage::Namespaced,
            namespaced,
            options: Default::default(),
        }
    }

    fn snap(desired: Vec<Desired>, missing: &[&str]) -> Snapshot {
        Snapshot {
            kinds: vec![None; desired.len()],
            desired,
            auto_namespace: None,
            live: HashMap::new(),
            unchanged: Vec::new(),
            inventory: Inventory::default(),
            missing_namespaces: missing.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_namespace_must_exist_or_be_created_by_the_sync() {
        let cm = desired("", "ConfigMap", "shop", "a", true);
        let s = snap(vec![cm.clone()], &["shop"]);
        assert!(matches!(
            check_namespaces(&s, "shop", false),
            Err(SyncError::NamespaceMissing { namespaces }) if namespaces == vec!["shop".to_string()]
        ));
        let ns = desired("", "Namespace", "", "shop", false);
        assert!(check_namespaces(&snap(vec![ns, cm], &["shop"]), "shop", false).is_ok());
        // A dry run may target a destination that only a real sync would create; objects in it may not.
        let s = snap(vec![desired("", "ConfigMap", "other", "b", true)], &["shop"]);
        assert!(check_namespaces(&s, "shop", true).is_ok());
        assert!(check_namespaces(&s, "shop", false).is_err());
    }

    #[test]
    fn the_namespace_of_create_namespace_is_not_managed() {
        let mut s = snap(vec![desired("", "ConfigMap", "shop", "a", true)], &["shop"]);
        let mut d = std::mem::take(&mut s.desired);
        s.auto_namespace = Some(add_namespace(&mut d, "shop"));
        s.desired = d;
        assert_eq!(s.desired[0].id.kind, "Namespace");
        let ids = s.managed_ids();
        assert_eq!(ids.len(), 1);
        assert!(ids.iter().all(|id| id.kind == "ConfigMap"));
    }
}
