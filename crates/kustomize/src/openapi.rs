//! The parts of the built-in Kubernetes (v1.21) schema that Kustomize uses: namespace scope and
//! strategic-merge list keys.

use crate::resource::Gvk;

/// Cluster-scoped kinds of the built-in schema.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    let cluster: &[(&str, &str)] = &[
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("extensions", "PodSecurityPolicy"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("networking.k8s.io", "IngressClass"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
    ];
    cluster.iter().any(|(g, k)| *g == group && *k == kind)
}

/// Where the pod spec sits in a kind, for built-in kinds.
fn pod_spec_prefix(gvk: &Gvk) -> Option<&'static [&'static str]> {
    match (gvk.group.as_str(), gvk.kind.as_str()) {
        ("", "Pod") => Some(&["spec"]),
        ("", "PodTemplate") => Some(&["template", "spec"]),
        ("", "ReplicationController") => Some(&["spec", "template", "spec"]),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
        | ("extensions", "Deployment" | "ReplicaSet" | "DaemonSet")
        | ("batch", "Job") => Some(&["spec", "template", "spec"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

fn is_builtin_group(group: &str) -> bool {
    matches!(
        group,
        "" | "apps"
            | "batch"
            | "extensions"
            | "policy"
            | "networking.k8s.io"
            | "rbac.authorization.k8s.io"
            | "storage.k8s.io"
            | "autoscaling"
            | "admissionregistration.k8s.io"
            | "apiextensions.k8s.io"
            | "scheduling.k8s.io"
            | "coordination.k8s.io"
            | "discovery.k8s.io"
            | "certificates.k8s.io"
            | "node.k8s.io"
            | "apiregistration.k8s.io"
            | "events.k8s.io"
            | "flowcontrol.apiserver.k8s.io"
    )
}

/// The schema used for strategic-merge list keys.
#[derive(Debug, Clone, Default)]
pub enum Schema {
    /// Kubernetes v1.21 built-in types.
    #[default]
    Builtin,
    /// A user schema (`openapi: {path: ...}`), replacing the built-in one.
    Custom(serde_json::Value),
}

/// The merge keys of an associative list at `path` under `schema`.
pub fn merge_keys(schema: &Schema, gvk: &Gvk, path: &[String]) -> Option<Vec<String>> {
    match schema {
        Schema::Builtin => list_merge_keys(gvk, path).map(|v| v.into_iter().map(str::to_string).collect()),
        Schema::Custom(doc) => custom_merge_keys(doc, gvk, path),
    }
}

fn custom_merge_keys(doc: &serde_json::Value, gvk: &Gvk, path: &[String]) -> Option<Vec<String>> {
    let defs = doc.get("definitions")?.as_object()?;
    let resolve = |v: &serde_json::Value| -> Option<serde_json::Value> {
        match v.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => defs.get(r.trim_start_matches("#/definitions/")).cloned(),
            None => Some(v.clone()),
        }
    };
    let root = defs.values().find(|d| {
        d.get("x-kubernetes-group-version-kind")
            .and_then(|g| g.as_array())
            .is_some_and(|a| {
                a.iter().any(|g| {
                    let s = |k: &str| g.get(k).and_then(|x| x.as_str()).unwrap_or("");
                    s("group") == gvk.group && s("version") == gvk.version && s("kind") == gvk.kind
                })
            })
    })?;
    let mut cur = root.clone();
    for (i, seg) in path.iter().enumerate() {
        if cur.get("type").and_then(|t| t.as_str()) == Some("array") {
            cur = resolve(cur.get("items")?)?;
        }
        let prop = cur.get("properties")?.get(seg)?;
        if i == path.len() - 1 {
            let strategy = prop
                .get("x-kubernetes-patch-strategy")
                .and_then(|s| s.as_str())
                .unwrap_or("");
            let key = prop
                .get("x-kubernetes-patch-merge-key")
                .and_then(|s| s.as_str())?;
            if !strategy.split(',').any(|s| s == "merge") {
                return None;
            }
            return Some(vec![key.to_string()]);
        }
        cur = resolve(prop)?;
    }
    None
}

/// The merge keys of an associative list at `path` (field names from the object root), or
/// `None` when the list is replaced as a whole.
pub fn list_merge_keys(gvk: &Gvk, path: &[String]) -> Option<Vec<&'static str>> {
    if !is_builtin_group(&gvk.group) {
        return None;
    }
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    if p == ["metadata", "ownerReferences"] {
        return Some(vec!["uid"]);
    }
    if p == ["metadata", "finalizers"] {
        // A primitive list with the merge strategy.
        return Some(vec![]);
    }
    if gvk.group.is_empty() && gvk.kind == "Service" && p == ["spec", "ports"] {
        return Some(vec!["port", "protocol"]);
    }
    if gvk.group == "admissionregistration.k8s.io"
        && (gvk.kind == "MutatingWebhookConfiguration" || gvk.kind == "ValidatingWebhookConfiguration")
        && p == ["webhooks"]
    {
        return Some(vec!["name"]);
    }
    let prefix = pod_spec_prefix(gvk)?;
    if p.len() <= prefix.len() || p[..prefix.len()] != *prefix {
        return None;
    }
    let rel = &p[prefix.len()..];
    let is_container = |s: &str| matches!(s, "containers" | "initContainers" | "ephemeralContainers");
    match rel {
        [c] if is_container(c) => Some(vec!["name"]),
        ["volumes"] | ["imagePullSecrets"] => Some(vec!["name"]),
        ["hostAliases"] => Some(vec!["ip"]),
        ["topologySpreadConstraints"] => Some(vec!["topologyKey", "whenUnsatisfiable"]),
        [c, "ports"] if is_container(c) => Some(vec!["containerPort", "protocol"]),
        [c, "env"] if is_container(c) => Some(vec!["name"]),
        [c, "volumeMounts"] if is_container(c) => Some(vec!["mountPath"]),
        [c, "volumeDevices"] if is_container(c) => Some(vec!["devicePath"]),
        _ => None,
    }
}
