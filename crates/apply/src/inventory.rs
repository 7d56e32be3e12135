//! The inventory: the ids of the objects tack applied for one application, what prune compares with.
//!
//! It is kept in ConfigMaps. A one-shot `tack sync` keeps it in `tack-inventory-<app>` in the destination
//! namespace; the GitOps controller in a location of its own ([`InventoryRef`]). An inventory too large for one
//! ConfigMap (more than [`CHUNK_BYTES`] of ids, about 12 000 objects) is split: the head ConfigMap `<name>` holds
//! the first part and the number of parts (`chunks`), the others are `<name>.1`, `<name>.2`, ... (a dot cannot
//! appear in an application name, so no part is another inventory's head).
//!
//! ```yaml
//! apiVersion: v1
//! kind: ConfigMap
//! metadata:
//!   name: tack-inventory-guestbook
//!   namespace: guestbook
//!   labels: {app.kubernetes.io/managed-by: tack, tack.dev/inventory: guestbook}
//! data:
//!   chunks: "1"
//!   objects: |      # one object id per line, sorted: <namespace>_<name>_<group>_<kind>
//!     _guestbook__Namespace
//!     guestbook_frontend__Service
//!     guestbook_frontend_apps_Deployment
//! ```
//!
//! The parts are written before the head, and a reader takes the union of every part it finds: an interrupted
//! write may leave ids of an older inventory in, never leave ids out. Every id in an inventory is an object tack
//! applied, so a stale id can only cause the prune of an object tack created (or a no-op when it is gone).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tack_cluster::{ApplyOptions, Cluster, ClusterError, Kind, Propagation};
use tack_plan::ObjectId;

/// The key of a ConfigMap's data holding the ids.
pub const INVENTORY_KEY: &str = "objects";

/// The key of the head ConfigMap's data holding the number of parts.
pub const CHUNKS_KEY: &str = "chunks";

/// The most bytes of ids in one ConfigMap (a ConfigMap holds at most 1 MiB, and etcd refuses larger requests).
pub const CHUNK_BYTES: usize = 512 * 1024;

/// `tack-inventory-<app>`: the inventory of a one-shot `tack sync`.
pub fn inventory_name(app: &str) -> String {
    format!("tack-inventory-{app}")
}

/// Where an inventory is kept: the head ConfigMap's name and namespace, the application named in its labels, and
/// the owner references given to every part (so that the parts go with their owner).
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryRef {
    /// The head ConfigMap's name; further parts are named `<name>.1`, `<name>.2`, ...
    pub name: String,
    /// The namespace of every part.
    pub namespace: String,
    /// The application named in the parts' labels.
    pub app: String,
    /// Owner references given to every part (empty for a one-shot sync's inventory).
    pub owner_references: Vec<Value>,
}

impl InventoryRef {
    /// The inventory of a one-shot `tack sync` of `app` into `namespace`.
    pub fn one_shot(app: &str, namespace: &str) -> InventoryRef {
        InventoryRef {
            name: inventory_name(app),
            namespace: namespace.to_string(),
            app: app.to_string(),
            owner_references: Vec::new(),
        }
    }

    fn part_name(&self, index: usize) -> String {
        if index == 0 {
            self.name.clone()
        } else {
            format!("{}.{index}", self.name)
        }
    }
}

/// The ids tack applied for one application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The ids of the objects tack applied.
    pub ids: BTreeSet<ObjectId>,
    /// Lines that did not parse (kept, reported).
    pub invalid: Vec<String>,
}

impl Inventory {
    /// Adds the ids of one ConfigMap's data.
    fn add_configmap(&mut self, cm: &Value) {
        let text = cm
            .pointer(&format!("/data/{INVENTORY_KEY}"))
            .and_then(Value::as_str)
            .unwrap_or("");
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.parse::<ObjectId>() {
                Ok(id) => {
                    self.ids.insert(id);
                }
                Err(_) => self.invalid.push(line.to_string()),
            }
        }
    }

    /// Reads the inventory from one ConfigMap's data (the head of a one-part inventory).
    pub fn from_configmap(cm: &Value) -> Inventory {
        let mut inv = Inventory::default();
        inv.add_configmap(cm);
        inv
    }

    /// The ConfigMaps holding this inventory at `at`, head first; each holds at most [`CHUNK_BYTES`] of ids.
    pub fn to_configmaps(&self, at: &InventoryRef) -> Vec<Value> {
        let mut parts: Vec<String> = vec![String::new()];
        // One id per line, sorted as text (the documented format).
        let mut lines: Vec<String> = self.ids.iter().map(|id| format!("{id}\n")).collect();
        lines.sort();
        for line in lines {
            if parts
                .last()
                .is_some_and(|p| !p.is_empty() && p.len() + line.len() > CHUNK_BYTES)
            {
                parts.push(String::new());
            }
            if let Some(last) = parts.last_mut() {
                last.push_str(&line);
            }
        }
        let count = parts.len();
        parts
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let mut data = json!({INVENTORY_KEY: text});
                if i == 0 {
                    data[CHUNKS_KEY] = json!(count.to_string());
                }
                let mut cm = json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": at.part_name(i),
                        "namespace": at.namespace,
                        "labels": {"app.kubernetes.io/managed-by": "tack", "tack.dev/inventory": at.app},
                    },
                    "data": data,
                });
                if !at.owner_references.is_empty() {
                    cm["metadata"]["ownerReferences"] = Value::Array(at.owner_references.clone());
                }
                cm
            })
            .collect()
    }

    /// The ConfigMap of a one-part inventory of `app` in `namespace` (the head of [`Inventory::to_configmaps`]).
    pub fn to_configmap(&self, app: &str, namespace: &str) -> Value {
        self.to_configmaps(&InventoryRef::one_shot(app, namespace))
            .into_iter()
            .next()
            .unwrap_or(Value::Null)
    }
}

fn parts_of(head: &Value) -> usize {
    head.pointer(&format!("/data/{CHUNKS_KEY}"))
        .and_then(Value::as_str)
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

async fn configmap_kind(cluster: &Cluster) -> Result<Option<Kind>, ClusterError> {
    cluster.resolve("v1", "ConfigMap").await
}

/// The inventory at `at`, `None` when its head ConfigMap does not exist. A missing part is an error (reading
/// half an inventory would leave objects behind without a word).
pub async fn read_at(cluster: &Cluster, at: &InventoryRef) -> Result<Option<Inventory>, ClusterError> {
    let Some(kind) = configmap_kind(cluster).await? else {
        return Ok(None);
    };
    let Some(head) = cluster.get(&kind, &at.namespace, &at.name).await? else {
        return Ok(None);
    };
    let mut inv = Inventory::default();
    inv.add_configmap(&head);
    for i in 1..parts_of(&head) {
        let name = at.part_name(i);
        match cluster.get(&kind, &at.namespace, &name).await? {
            Some(part) => inv.add_configmap(&part),
            None => {
                return Err(ClusterError::Api {
                    what: format!("ConfigMap {}/{name}", at.namespace),
                    code: 404,
                    message: format!(
                        "part {i} of the inventory {} is missing; the objects it listed cannot be pruned until a \
                         sync rewrites it",
                        at.name
                    ),
                });
            }
        }
    }
    Ok(Some(inv))
}

/// Writes `ids` at `at`: the other parts first, then the head, then removes parts left over from a larger
/// inventory.
pub async fn write_at(
    cluster: &Cluster,
    at: &InventoryRef,
    ids: &BTreeSet<ObjectId>,
) -> Result<(), ClusterError> {
    let Some(kind) = configmap_kind(cluster).await? else {
        return Ok(());
    };
    let inv = Inventory {
        ids: ids.clone(),
        invalid: Vec::new(),
    };
    let parts = inv.to_configmaps(at);
    let opts = ApplyOptions {
        dry_run: false,
        force: true,
    };
    for part in parts.iter().skip(1) {
        cluster.apply(&kind, part, opts).await?;
    }
    let previous_parts = match cluster.get(&kind, &at.namespace, &at.name).await? {
        Some(head) => parts_of(&head),
        None => 1,
    };
    if let Some(head) = parts.first() {
        cluster.apply(&kind, head, opts).await?;
    }
    for i in parts.len()..previous_parts {
        cluster
            .delete(&kind, &at.namespace, &at.part_name(i), Propagation::Background)
            .await?;
    }
    Ok(())
}

/// Deletes every part of the inventory at `at`; `false` when there was none.
pub async fn delete_at(cluster: &Cluster, at: &InventoryRef) -> Result<bool, ClusterError> {
    let Some(kind) = configmap_kind(cluster).await? else {
        return Ok(false);
    };
    let parts = match cluster.get(&kind, &at.namespace, &at.name).await? {
        Some(head) => parts_of(&head),
        None => return Ok(false),
    };
    for i in (1..parts).rev() {
        cluster
            .delete(&kind, &at.namespace, &at.part_name(i), Propagation::Background)
            .await?;
    }
    cluster
        .delete(&kind, &at.namespace, &at.name, Propagation::Background)
        .await
}

/// The inventory of a one-shot `tack sync` of `app` in `namespace` (empty when there is none). The controller
/// adopts it when an application moves from one-shot `tack sync` to a GitOpsConfig.
pub async fn read_inventory(
    cluster: &Cluster,
    app: &str,
    namespace: &str,
) -> Result<Inventory, ClusterError> {
    Ok(read_at(cluster, &InventoryRef::one_shot(app, namespace))
        .await?
        .unwrap_or_default())
}

/// Deletes the inventory of a one-shot `tack sync` of `app` in `namespace`; `false` when there was none.
pub async fn delete_inventory(cluster: &Cluster, app: &str, namespace: &str) -> Result<bool, ClusterError> {
    delete_at(cluster, &InventoryRef::one_shot(app, namespace)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted() {
        let mut inv = Inventory::default();
        inv.ids.insert(ObjectId::new("apps", "Deployment", "ns", "web"));
        inv.ids.insert(ObjectId::new("", "ConfigMap", "ns", "a"));
        let cm = inv.to_configmap("shop", "ns");
        assert_eq!(cm["metadata"]["name"], "tack-inventory-shop");
        assert_eq!(cm["data"]["objects"], "ns_a__ConfigMap\nns_web_apps_Deployment\n");
        assert_eq!(cm["data"]["chunks"], "1");
        assert_eq!(Inventory::from_configmap(&cm), inv);
    }

    #[test]
    fn large_inventories_are_split_into_parts_under_the_limit() {
        let mut inv = Inventory::default();
        for i in 0..30_000 {
            inv.ids.insert(ObjectId::new(
                "",
                "ConfigMap",
                "bulk-namespace",
                &format!("config-{i:06}"),
            ));
        }
        let mut at = InventoryRef::one_shot("bulk", "bulk-namespace");
        at.owner_references = vec![
            json!({"apiVersion": "gitops.tack.dev/v1alpha1", "kind": "GitOpsConfig",
            "name": "bulk", "uid": "u"}),
        ];
        let parts = inv.to_configmaps(&at);
        assert_eq!(
            parts.len(),
            3,
            "30 000 ids of 39 bytes are 1.1 MiB: three parts of at most 512 KiB"
        );
        assert_eq!(parts[0]["data"]["chunks"], "3");
        assert_eq!(parts[1]["metadata"]["name"], "tack-inventory-bulk.1");
        assert_eq!(parts[2]["metadata"]["name"], "tack-inventory-bulk.2");
        let mut back = Inventory::default();
        for p in &parts {
            let text = p["data"]["objects"].as_str().unwrap_or("");
            assert!(text.len() <= CHUNK_BYTES, "{}", text.len());
            assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "GitOpsConfig");
            back.add_configmap(p);
        }
        assert_eq!(back, inv);
        assert_eq!(parts_of(&parts[0]), 3);
    }

    #[test]
    fn an_empty_inventory_is_one_empty_part() {
        let parts = Inventory::default().to_configmaps(&InventoryRef::one_shot("a", "ns"));
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0]["data"], json!({"objects": "", "chunks": "1"}));
    }
}
