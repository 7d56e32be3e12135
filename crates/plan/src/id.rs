//! Object identity.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The identity of an object in a cluster: API group (not version), kind, namespace (empty for
/// cluster-scoped objects) and name.
///
/// Its text form, used in the inventory, is the one of kubectl ApplySet / cli-utils and Flux's
/// `status.inventory`: `<namespace>_<name>_<group>_<kind>`, e.g. `shop_frontend_apps_Deployment`,
/// `shop_config__ConfigMap` (core group) or `_shop__Namespace` (cluster-scoped). None of the four parts can
/// contain `_` (names and namespaces are DNS names, groups are DNS subdomains, kinds are CamelCase), so the
/// form parses back unambiguously.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// The API group (`apps`; empty for the core group), without the version.
    pub group: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// The namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectId {
    /// The id of the object `name` of `kind` in `group` (empty for core) and `namespace` (empty for
    /// cluster-scoped objects).
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> Self {
        ObjectId {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The identity of `object` as it stands (its own `metadata.namespace`, empty when unset).
    pub fn of(object: &Value) -> Option<ObjectId> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        let meta = object.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        let namespace = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
        Some(ObjectId::new(group_of(api_version), kind, namespace, name))
    }

    /// Whether the object is a Secret (the core group's), whose values are never shown.
    pub fn is_secret(&self) -> bool {
        self.group.is_empty() && self.kind == "Secret"
    }

    /// `Kind/name` or `Kind/name -n namespace`, for messages; the group is added when it is not the core one.
    pub fn human(&self) -> String {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        if self.namespace.is_empty() {
            format!("{kind}/{}", self.name)
        } else {
            format!("{kind}/{} (namespace {})", self.name, self.namespace)
        }
    }
}

/// The group part of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}_{}", self.namespace, self.name, self.group, self.kind)
    }
}

/// An inventory entry that is not `<namespace>_<name>_<group>_<kind>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inventory entry `{0}` is not of the form <namespace>_<name>_<group>_<kind>")]
pub struct ParseIdError(pub String);

impl FromStr for ObjectId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        let parts: Vec<&str> = s.split('_').collect();
        match parts.as_slice() {
            [ns, name, group, kind] if !name.is_empty() && !kind.is_empty() => {
                Ok(ObjectId::new(group, kind, ns, name))
            }
            _ => Err(ParseIdError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_form() {
        assert_eq!(
            ObjectId::new("apps", "Deployment", "shop", "web").to_string(),
            "shop_web_apps_Deployment"
        );
        assert_eq!(
            ObjectId::new("", "Namespace", "", "shop").to_string(),
            "_shop__Namespace"
        );
        assert!("a_b_c".parse::<ObjectId>().is_err());
        assert!("a_b_c_d_e".parse::<ObjectId>().is_err());
    }

    #[test]
    fn of_object() {
        let o = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}});
        assert_eq!(
            ObjectId::of(&o),
            Some(ObjectId::new("apps", "Deployment", "", "w"))
        );
    }

    proptest! {
        #[test]
        fn text_form_round_trips(ns in "[a-z0-9-]{0,12}", name in "[a-z0-9.-]{1,20}", group in "[a-z0-9.]{0,12}", kind in "[A-Z][A-Za-z]{0,12}") {
            let id = ObjectId::new(&group, &kind, &ns, &name);
            prop_assert_eq!(id.to_string().parse::<ObjectId>(), Ok(id));
        }
    }
}
