//! `antiAffinity` (canary and blue/green), as Argo Rollouts' `GenerateReplicaSetAffinity`: while an update is
//! in progress, the new ReplicaSet's pod template gets a pod anti-affinity term against the pods of the stable
//! ReplicaSet (`rollouts-pod-template-hash In [<stable>]`, topology `kubernetes.io/hostname`, the Rollout's
//! namespace), preferred with the configured weight or required, appended to the template's own affinity.
//! The Rollout's template and its hash are unchanged.

use serde_json::{Value, json};

use crate::POD_TEMPLATE_HASH_LABEL;
use crate::spec::{AntiAffinity, Rollout};

/// The configured anti-affinity of the strategy, when one of its two rules is set.
pub fn strategy_anti_affinity(rollout: &Rollout) -> Option<&AntiAffinity> {
    let s = &rollout.spec.strategy;
    let a = s
        .canary
        .as_ref()
        .and_then(|c| c.anti_affinity.as_ref())
        .or_else(|| s.blue_green.as_ref().and_then(|b| b.anti_affinity.as_ref()))?;
    (a.preferred_during_scheduling_ignored_during_execution.is_some()
        || a.required_during_scheduling_ignored_during_execution.is_some())
    .then_some(a)
}

/// Why an `antiAffinity` block is invalid (Argo's validation), or `None`.
pub fn invalid(a: &AntiAffinity) -> Option<&'static str> {
    match (
        &a.preferred_during_scheduling_ignored_during_execution,
        &a.required_during_scheduling_ignored_during_execution,
    ) {
        (Some(_), Some(_)) => Some("AntiAffinity must have exactly one strategy listed"),
        (Some(p), None) if !(1..=100).contains(&p.weight) => {
            Some("AntiAffinity weight must be between 1-100")
        }
        _ => None,
    }
}

/// The `spec.affinity` of the pod template of ReplicaSet `hash`: the template's own affinity with the injected
/// anti-affinity term while `hash` is not the stable ReplicaSet (`stable`); `None` when nothing is injected
/// (the template is used as written).
pub fn replica_set_affinity(
    rollout: &Rollout,
    template: &Value,
    hash: &str,
    stable: Option<&str>,
    namespace: &str,
) -> Option<Value> {
    let a = strategy_anti_affinity(rollout)?;
    let stable = stable.filter(|s| !s.is_empty() && *s != hash)?;
    let term = json!({
        "labelSelector": {"matchExpressions": [
            {"key": POD_TEMPLATE_HASH_LABEL, "operator": "In", "values": [stable]}
        ]},
        "namespaces": [namespace],
        "topologyKey": "kubernetes.io/hostname",
    });
    let mut affinity = template
        .get("spec")
        .and_then(|s| s.get("affinity"))
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !affinity.get("podAntiAffinity").is_some_and(Value::is_object) {
        affinity["podAntiAffinity"] = json!({});
    }
    let (key, entry) = match &a.preferred_during_scheduling_ignored_during_execution {
        Some(p) => (
            "preferredDuringSchedulingIgnoredDuringExecution",
            json!({"weight": p.weight, "podAffinityTerm": term}),
        ),
        None => ("requiredDuringSchedulingIgnoredDuringExecution", term),
    };
    let list = &mut affinity["podAntiAffinity"][key];
    match list.as_array_mut() {
        Some(items) => items.push(entry),
        None => *list = json!([entry]),
    }
    Some(affinity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(strategy: Value, stable: Option<&str>) -> Rollout {
        serde_json::from_value(json!({"spec": {"strategy": strategy}, "status": {"stableRS": stable}}))
            .expect("rollout")
    }

    #[test]
    fn preferred_term_against_the_stable_is_appended_to_the_template_affinity() {
        let r = rollout(
            json!({"canary": {"antiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 40}}}}),
            Some("old"),
        );
        let template = json!({"spec": {"affinity": {"nodeAffinity": {"x": 1},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {}}]}}}});
        let a = replica_set_affinity(&r, &template, "new", Some("old"), "shop").expect("injected");
        assert_eq!(a["nodeAffinity"], json!({"x": 1}), "own affinity kept");
        let terms = a["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .expect("list");
        assert_eq!(terms.len(), 2);
        assert_eq!(
            terms[1],
            json!({"weight": 40, "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [
                    {"key": "rollouts-pod-template-hash", "operator": "In", "values": ["old"]}]},
                "namespaces": ["shop"], "topologyKey": "kubernetes.io/hostname"}})
        );
    }

    #[test]
    fn required_term_only_during_an_update() {
        let r = rollout(
            json!({"blueGreen": {"activeService": "a", "antiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}),
            Some("old"),
        );
        let a = replica_set_affinity(&r, &json!({}), "new", Some("old"), "ns").expect("injected");
        assert_eq!(
            a["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]["matchExpressions"]
                [0]["values"],
            json!(["old"])
        );
        // The stable itself, a first deployment, or no rule configured: nothing injected.
        assert_eq!(
            replica_set_affinity(&r, &json!({}), "old", Some("old"), "ns"),
            None
        );
        assert_eq!(replica_set_affinity(&r, &json!({}), "new", None, "ns"), None);
        let empty = rollout(json!({"canary": {"antiAffinity": {}}}), Some("old"));
        assert_eq!(
            replica_set_affinity(&empty, &json!({}), "new", Some("old"), "ns"),
            None
        );
    }

    #[test]
    fn argo_validation() {
        let both: AntiAffinity = serde_json::from_value(json!({
            "preferredDuringSchedulingIgnoredDuringExecution": {"weight": 1},
            "requiredDuringSchedulingIgnoredDuringExecution": {}}))
        .expect("parses");
        assert_eq!(
            invalid(&both),
            Some("AntiAffinity must have exactly one strategy listed")
        );
        let heavy: AntiAffinity = serde_json::from_value(
            json!({"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 101}}),
        )
        .expect("parses");
        assert_eq!(invalid(&heavy), Some("AntiAffinity weight must be between 1-100"));
    }
}
