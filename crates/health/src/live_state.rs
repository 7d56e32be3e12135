//! Which objects need their live state to be assessed: objects of kinds that carry no status and have no rule
//! of their own (ConfigMaps, Secrets, RBAC, ...) are Healthy once they exist, so a controller that has just
//! applied them, or compared them with the cluster and found them, need not read them again.

use serde_json::Value;

use crate::object::str_at;

/// Kinds (API group, kind) whose objects have no `status` and no rule: [`crate::assess`] calls every such
/// object Healthy unless it is being deleted.
const STATELESS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "Endpoints"),
    ("", "LimitRange"),
    ("", "PodTemplate"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("networking.k8s.io", "IngressClass"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
];

/// Whether objects of this kind carry no status and have no health rule (Healthy once they exist, unless being
/// deleted). `group` is the API group (empty for the core group).
pub fn is_stateless_kind(group: &str, kind: &str) -> bool {
    STATELESS.iter().any(|(g, k)| *g == group && *k == kind)
}

/// Whether the health of an object declared as `desired` (the object as Git has it) depends on its live state:
/// false for the kinds of [`is_stateless_kind`] and for Services other than `type: LoadBalancer` (the only
/// Services whose health waits for something); true for every other kind, including unknown ones (custom
/// resources report their state in conditions).
pub fn needs_live_state(desired: &Value) -> bool {
    let kind = str_at(desired, &["kind"]).unwrap_or_default();
    let api_version = str_at(desired, &["apiVersion"]).unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    if is_stateless_kind(group, kind) {
        return false;
    }
    if group.is_empty() && kind == "Service" {
        return str_at(desired, &["spec", "type"]) == Some("LoadBalancer");
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{HealthStatus, assess};

    /// What tack says without reading must be what reading would say: every stateless kind, live with what the
    /// API server adds, is Healthy.
    #[test]
    fn stateless_kinds_are_healthy_once_they_exist() {
        for (group, kind) in STATELESS {
            let api_version = if group.is_empty() {
                "v1".to_string()
            } else {
                format!("{group}/v1")
            };
            let live = json!({
                "apiVersion": api_version, "kind": kind,
                "metadata": {"name": "x", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                             "creationTimestamp": "2026-01-01T00:00:00Z"},
                "data": {"k": "v"},
            });
            assert!(!needs_live_state(&live), "{kind}");
            assert_eq!(assess(&live).status, HealthStatus::Healthy, "{kind}");
        }
    }

    #[test]
    fn services_need_it_only_with_a_load_balancer() {
        let service = |type_: &str| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"type": type_, "ports": [{"port": 80}]}})
        };
        assert!(!needs_live_state(&service("ClusterIP")));
        assert!(!needs_live_state(&service("NodePort")));
        assert!(needs_live_state(&service("LoadBalancer")));
        assert!(!needs_live_state(
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}})
        ));
        // The same Service live, without an address yet, is only healthy when it is not a load balancer.
        assert_eq!(assess(&service("ClusterIP")).status, HealthStatus::Healthy);
        assert_eq!(assess(&service("LoadBalancer")).status, HealthStatus::Progressing);
    }

    #[test]
    fn kinds_with_a_rule_or_conditions_need_it() {
        for (api_version, kind) in [
            ("apps/v1", "Deployment"),
            ("batch/v1", "Job"),
            ("v1", "Pod"),
            ("v1", "PersistentVolumeClaim"),
            ("v1", "Namespace"),
            ("networking.k8s.io/v1", "Ingress"),
            ("policy/v1", "PodDisruptionBudget"),
            ("example.com/v1", "Widget"),
            // Same kind name, another group: not the stateless one.
            ("example.com/v1", "ConfigMap"),
        ] {
            let desired = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
            assert!(needs_live_state(&desired), "{api_version} {kind}");
        }
    }
}
