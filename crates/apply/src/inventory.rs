//! The inventory of a one-shot sync: a ConfigMap `tack-inventory-<app>` in the destination namespace.
//!
//! ```yaml
//! apiVersion: v1
//! kind: ConfigMap
//! metadata:
//!   name: tack-inventory-guestbook
//!   namespace: guestbook
//!   labels: {app.kubernetes.io/managed-by: tack, tack.dev/inventory: guestbook}
//! data:
//!   objects: |      # one object id per line, sorted: <namespace>_<name>_<group>_<kind>
//!     _guestbook__Namespace
//!     guestbook_frontend__Service
//!     guestbook_frontend_apps_Deployment
//! ```

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tack_cluster::{ApplyOptions, Cluster, ClusterError};
use tack_plan::ObjectId;

/// The key of the ConfigMap's data holding the ids.
pub const INVENTORY_KEY: &str = "objects";

/// `tack-inventory-<app>`.
pub fn inventory_name(app: &str) -> String {
    format!("tack-inventory-{app}")
}

/// The ids tack applied for one application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub ids: BTreeSet<ObjectId>,
    /// Lines that did not parse (kept, reported).
    pub invalid: Vec<String>,
}

impl Inventory {
    /// Reads the inventory from a ConfigMap's data.
    pub fn from_configmap(cm: &Value) -> Inventory {
        let mut inv = Inventory::default();
        let text = cm
            .pointer(&format!("/data/{INVENTORY_KEY}"))
            .and_then(Value::as_str)
            .unwrap_or("");
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.parse::<ObjectId>() {
                Ok(id) => {
                    inv.ids.insert(id);
                }
                Err(_) => inv.invalid.push(line.to_string()),
            }
        }
        inv
    }

    /// The ConfigMap to apply.
    pub fn to_configmap(&self, app: &str, namespace: &str) -> Value {
        let mut lines: Vec<String> = self.ids.iter().map(ToString::to_string).collect();
        lines.sort();
        let text: String = lines.into_iter().map(|l| l + "\n").collect();
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": inventory_name(app),
                "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "tack", "tack.dev/inventory": app},
            },
            "data": {INVENTORY_KEY: text},
        })
    }
}

/// The inventory ConfigMap of `app` in `namespace` (empty when there is none). The controller adopts it when
/// an application moves from one-shot `tack sync` to a GitOpsConfig.
pub async fn read_inventory(
    cluster: &Cluster,
    app: &str,
    namespace: &str,
) -> Result<Inventory, ClusterError> {
    read(cluster, app, namespace).await
}

/// Deletes the inventory ConfigMap of `app` in `namespace`; `false` when there was none.
pub async fn delete_inventory(cluster: &Cluster, app: &str, namespace: &str) -> Result<bool, ClusterError> {
    let Some(kind) = cluster.resolve("v1", "ConfigMap").await? else {
        return Ok(false);
    };
    cluster
        .delete(
            &kind,
            namespace,
            &inventory_name(app),
            tack_cluster::Propagation::Background,
        )
        .await
}

pub(crate) async fn read(cluster: &Cluster, app: &str, namespace: &str) -> Result<Inventory, ClusterError> {
    let Some(kind) = cluster.resolve("v1", "ConfigMap").await? else {
        return Ok(Inventory::default());
    };
    Ok(cluster
        .get(&kind, namespace, &inventory_name(app))
        .await?
        .map(|cm| Inventory::from_configmap(&cm))
        .unwrap_or_default())
}

pub(crate) async fn write(
    cluster: &Cluster,
    app: &str,
    namespace: &str,
    inv: &Inventory,
) -> Result<(), ClusterError> {
    let Some(kind) = cluster.resolve("v1", "ConfigMap").await? else {
        return Ok(());
    };
    cluster
        .apply(
            &kind,
            &inv.to_configmap(app, namespace),
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await?;
    Ok(())
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
        assert_eq!(Inventory::from_configmap(&cm), inv);
    }
}
