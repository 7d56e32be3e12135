//! Traffic routing for Rollouts, without I/O: given a Rollout, its traffic-routing spec and the weights the
//! state machine decided, compute the objects and patches the controller applies to the routers.
//!
//! - [`service_selector_patch`]: `canaryService` / `stableService` / `activeService` / `previewService` select
//!   one ReplicaSet through the `rollouts-pod-template-hash` label.
//! - [`nginx`]: the canary Ingress `<rollout>-<stable ingress>-canary`, a copy of the stable Ingress whose
//!   backends point at the canary Service, annotated `canary: "true"` and `canary-weight: "<weight>"`.
//! - [`gateway`]: the `argoproj-labs/gatewayAPI` plugin: weights of the HTTPRoute `backendRefs` that point at the
//!   canary and stable Services.
//! - [`istio`]: weights of the destinations of the weighed HTTP, TLS and TCP routes of a VirtualService, and the
//!   canary and stable subsets of a DestinationRule.
//! - [`managed`]: the header and mirror routes of `setHeaderRoute` / `setMirrorRoute` steps, which the routers
//!   above carry (NGINX: one header, as `canary-by-header` annotations).
//! - [`smi`]: the SMI TrafficSplit `<trafficSplitName>` with the canary and stable backends.
//!
//! The weights given to these functions come from the Rollout's persisted status (`status.canary.weights`, where
//! the state machine already capped the canary at `maxTrafficWeight`), so the same status always yields the same
//! router objects: a restarted controller writes nothing new.

#![warn(missing_docs)]

use serde_json::{Value, json};
use tack_rollout::POD_TEMPLATE_HASH_LABEL;
use tack_rollout::spec::Rollout;

pub mod gateway;
pub mod istio;
pub mod managed;
pub mod nginx;
pub mod smi;

/// Annotation Argo Rollouts puts on the Services it manages (value: the Rollout name).
pub const MANAGED_BY_ANNOTATION: &str = "argo-rollouts.argoproj.io/managed-by-rollouts";

/// The name of the Gateway API traffic router plugin.
pub const GATEWAY_API_PLUGIN: &str = "argoproj-labs/gatewayAPI";

/// Why a router change cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The Rollout's traffic routing is incomplete (e.g. no `canaryService`).
    #[error("spec.strategy.canary.{field}: {reason}")]
    Spec {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A router object does not have the shape the Rollout expects.
    #[error("{kind} {name}: {reason}")]
    Router {
        /// `Ingress`, `HTTPRoute`, `VirtualService`.
        kind: &'static str,
        /// Object name.
        name: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// Canary and stable traffic percentages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    /// Percentage to the canary Service.
    pub canary: i32,
    /// Percentage to the stable Service.
    pub stable: i32,
}

impl Weights {
    /// The weights persisted in `status.canary.weights` (all to stable when none were written yet).
    pub fn from_status(rollout: &Rollout) -> Weights {
        rollout
            .status
            .as_ref()
            .and_then(|s| s.canary.weights.as_ref())
            .map_or(
                Weights {
                    canary: 0,
                    stable: 100,
                },
                |w| Weights {
                    canary: w.canary.weight,
                    stable: w.stable.weight,
                },
            )
    }
}

/// The names of the canary and stable Services, required by every traffic router except Istio with a
/// DestinationRule alone (subset-level splitting, as in Argo Rollouts), where a missing one is empty.
pub fn canary_and_stable_services(rollout: &Rollout) -> Result<(&str, &str), Error> {
    let c = rollout.spec.strategy.canary.as_ref().ok_or(Error::Spec {
        field: "trafficRouting",
        reason: "traffic routing needs the canary strategy".into(),
    })?;
    let subsets_only = c.traffic_routing.as_ref().is_some_and(|t| {
        t.istio.as_ref().is_some_and(|i| i.destination_rule.is_some())
            && t.nginx.is_none()
            && t.smi.is_none()
            && t.plugins.is_empty()
    });
    if subsets_only {
        return Ok((
            c.canary_service.as_deref().unwrap_or_default(),
            c.stable_service.as_deref().unwrap_or_default(),
        ));
    }
    let canary = c.canary_service.as_deref().ok_or(Error::Spec {
        field: "canaryService",
        reason: "required with trafficRouting".into(),
    })?;
    let stable = c.stable_service.as_deref().ok_or(Error::Spec {
        field: "stableService",
        reason: "required with trafficRouting".into(),
    })?;
    Ok((canary, stable))
}

/// The Rollout's `metadata.name`.
pub fn rollout_name(rollout: &Rollout) -> &str {
    rollout
        .metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// JSON merge patch pointing a Service at the pods of ReplicaSet `hash`, marked as managed by `rollout`.
pub fn service_selector_patch(rollout: &str, hash: &str) -> Value {
    json!({
        "metadata": {"annotations": {MANAGED_BY_ANNOTATION: rollout}},
        "spec": {"selector": {POD_TEMPLATE_HASH_LABEL: hash}},
    })
}

/// The hash a Service currently selects (`None` when its selector has no pod-template-hash).
pub fn selected_hash(service: &Value) -> Option<&str> {
    service
        .pointer("/spec/selector")
        .and_then(|s| s.get(POD_TEMPLATE_HASH_LABEL))
        .and_then(Value::as_str)
}

/// An owner reference making the Rollout the controller of a generated object.
pub fn owner_reference(rollout: &str, uid: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": rollout,
        "uid": uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(v: Value) -> Rollout {
        serde_json::from_value(v).expect("rollout")
    }

    #[test]
    fn weights_from_status_default_to_stable() {
        let r = rollout(json!({"spec": {}}));
        assert_eq!(
            Weights::from_status(&r),
            Weights {
                canary: 0,
                stable: 100
            }
        );
        let r = rollout(json!({"spec": {}, "status": {"canary": {"weights": {
            "canary": {"weight": 20}, "stable": {"weight": 80}}}}}));
        assert_eq!(
            Weights::from_status(&r),
            Weights {
                canary: 20,
                stable: 80
            }
        );
    }

    #[test]
    fn selector_patch_and_read_back() {
        let p = service_selector_patch("app", "abc123");
        assert_eq!(selected_hash(&p), Some("abc123"));
        assert_eq!(p["metadata"]["annotations"][MANAGED_BY_ANNOTATION], "app");
        assert_eq!(selected_hash(&json!({"spec": {"selector": {"app": "x"}}})), None);
    }

    #[test]
    fn services_are_required() {
        let r = rollout(json!({"spec": {"strategy": {"canary": {"canaryService": "c"}}}}));
        assert!(matches!(
            canary_and_stable_services(&r),
            Err(Error::Spec {
                field: "stableService",
                ..
            })
        ));
        let r =
            rollout(json!({"spec": {"strategy": {"canary": {"canaryService": "c", "stableService": "s"}}}}));
        assert_eq!(canary_and_stable_services(&r), Ok(("c", "s")));
        let dr = json!({"name": "dr", "canarySubsetName": "canary", "stableSubsetName": "stable"});
        let r = rollout(json!({"spec": {"strategy": {"canary": {"trafficRouting": {
            "istio": {"virtualService": {"name": "vs"}, "destinationRule": dr}}}}}}));
        assert_eq!(canary_and_stable_services(&r), Ok(("", "")));
        let r = rollout(json!({"spec": {"strategy": {"canary": {"trafficRouting": {
            "nginx": {"stableIngress": "i"}, "istio": {"virtualService": {"name": "vs"}, "destinationRule": dr}}}}}}));
        assert!(canary_and_stable_services(&r).is_err());
    }
}
