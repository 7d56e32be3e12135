//! Validation of single objects: the minimum every Kubernetes object needs before it can be applied.

use std::fmt;

use serde_json::Value;

/// The identity of an object within an application: API group (not version), kind, namespace, name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The API group from `apiVersion` (empty for the core group).
    pub group: String,
    /// `kind`.
    pub kind: String,
    /// `None` when the manifest does not set one (the destination namespace applies later).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// The key of `object`; `None` when it lacks `apiVersion`, `kind` or `metadata.name`.
    pub fn of(object: &Value) -> Option<ObjectKey> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        let metadata = object.get("metadata")?;
        let name = metadata.get("name")?.as_str()?;
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        Some(ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if let Some(ns) = &self.namespace {
            write!(f, " in namespace {ns}")?;
        }
        Ok(())
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Checks that `object` has what every Kubernetes object needs: a mapping with non-empty string
/// `apiVersion`, `kind` and `metadata.name`, and `metadata.namespace` a string when present. Returns the
/// problem (what is wrong and what to fix), without a location.
pub fn validate_object(object: &Value) -> Result<(), String> {
    let Some(map) = object.as_object() else {
        return Err(format!(
            "document is {}, not a Kubernetes object; each document must be a mapping with apiVersion, kind \
             and metadata",
            describe(object)
        ));
    };
    if let Some(Value::String(api_version)) = map.get("apiVersion")
        && api_version.starts_with("kustomize.config.k8s.io/")
    {
        return Err(crate::plain::KUSTOMIZE_HINT.into());
    }
    match map.get("apiVersion") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        None | Some(Value::Null) => {
            return Err(
                "object has no apiVersion; every Kubernetes object needs one, such as \
                        `apiVersion: v1` or `apiVersion: apps/v1`"
                    .to_string(),
            );
        }
        Some(Value::String(_)) => {
            return Err("apiVersion is empty; set it, such as `apiVersion: apps/v1`".into());
        }
        Some(other) => {
            return Err(format!(
                "apiVersion is {}, it must be a string such as `apiVersion: apps/v1`",
                describe(other)
            ));
        }
    }
    match map.get("kind") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        None | Some(Value::Null) => {
            return Err(
                "object has no kind; every Kubernetes object needs one, such as `kind: Deployment`".into(),
            );
        }
        Some(Value::String(_)) => return Err("kind is empty; set it, such as `kind: Deployment`".into()),
        Some(other) => {
            return Err(format!(
                "kind is {}, it must be a string such as `kind: Deployment`",
                describe(other)
            ));
        }
    }
    let metadata = match map.get("metadata") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => {
            return Err(
                "object has no metadata; every Kubernetes object needs `metadata:` with a `name:`".into(),
            );
        }
        Some(other) => {
            return Err(format!(
                "metadata is {}, it must be a mapping with at least `name:`",
                describe(other)
            ));
        }
    };
    match metadata.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        None | Some(Value::Null) => {
            let hint = if metadata.contains_key("generateName") {
                " (metadata.generateName is not supported: server-side apply needs a fixed name)"
            } else {
                ""
            };
            return Err(format!(
                "object has no metadata.name; every Kubernetes object needs a name{hint}"
            ));
        }
        Some(Value::String(_)) => {
            return Err("metadata.name is empty; every Kubernetes object needs a name".into());
        }
        Some(other) => {
            return Err(format!(
                "metadata.name is {}, it must be a string (quote it if it looks like a number)",
                describe(other)
            ));
        }
    }
    match metadata.get("namespace") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(other) => {
            return Err(format!(
                "metadata.namespace is {}, it must be a string (quote it if it looks like a number)",
                describe(other)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_object() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"}});
        assert_eq!(validate_object(&o), Ok(()));
        let key = ObjectKey::of(&o);
        assert_eq!(
            key.map(|k| k.to_string()),
            Some("ConfigMap/a in namespace b".to_string())
        );
    }

    #[test]
    fn problems_say_what_to_fix() {
        let cases = [
            (json!([1, 2]), "document is a list, not a Kubernetes object"),
            (
                json!({"kind": "A", "metadata": {"name": "a"}}),
                "object has no apiVersion",
            ),
            (
                json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}),
                "this is a Kustomize file",
            ),
            (
                json!({"apiVersion": 1, "kind": "A", "metadata": {"name": "a"}}),
                "apiVersion is a number",
            ),
            (
                json!({"apiVersion": "v1", "metadata": {"name": "a"}}),
                "object has no kind",
            ),
            (
                json!({"apiVersion": "v1", "kind": "", "metadata": {"name": "a"}}),
                "kind is empty",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A"}),
                "object has no metadata;",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A", "metadata": "x"}),
                "metadata is a string",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A", "metadata": {}}),
                "object has no metadata.name; every Kubernetes object needs a name",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A", "metadata": {"generateName": "x-"}}),
                "generateName is not supported",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A", "metadata": {"name": 12}}),
                "metadata.name is a number",
            ),
            (
                json!({"apiVersion": "v1", "kind": "A", "metadata": {"name": "a", "namespace": 1}}),
                "metadata.namespace is a number",
            ),
        ];
        for (object, want) in cases {
            match validate_object(&object) {
                Ok(()) => panic!("{object} should be invalid"),
                Err(m) => assert!(m.contains(want), "{object}: {m:?} should contain {want:?}"),
            }
        }
    }

    #[test]
    fn key_uses_group_not_version() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}});
        let b = json!({"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "a"}});
        assert_eq!(ObjectKey::of(&a), ObjectKey::of(&b));
        let core = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": ""}});
        let key = ObjectKey::of(&core);
        assert_eq!(key.as_ref().map(|k| k.group.as_str()), Some(""));
        assert_eq!(key.and_then(|k| k.namespace), None);
    }
}
