//! SMI: the TrafficSplit `trafficSplitName` (default: the Rollout's name), owned by the Rollout, whose root Service
//! `rootService` (default: `stableService`) is split between the canary and the stable Service, as Argo Rollouts
//! writes it: `backends: [{service: <canary>, weight: <w>}, {service: <stable>, weight: 100 - w}]`.
//!
//! The API versions `split.smi-spec.io/v1alpha1` (weights as quantities, written `"20"`), `v1alpha2` and
//! `v1alpha3` (integer weights). Argo Rollouts picks one for the whole controller (`v1alpha1` unless configured);
//! tack takes `v1alpha1` when the cluster serves it, else the newest of the other two it serves.

use serde_json::{Value, json};
use tack_rollout::spec::SmiTrafficRouting;

use crate::Weights;

/// The TrafficSplit API group.
pub const GROUP: &str = "split.smi-spec.io";

/// The versions tack writes, in order of preference.
pub const VERSIONS: [&str; 3] = ["v1alpha1", "v1alpha3", "v1alpha2"];

/// The first of [`VERSIONS`] among the versions the cluster serves.
pub fn pick_version<'a>(served: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    let served: Vec<&str> = served.into_iter().collect();
    VERSIONS.into_iter().find(|v| served.contains(v))
}

/// The TrafficSplit's name: `trafficSplitName`, else the Rollout's.
pub fn split_name<'a>(smi: &'a SmiTrafficRouting, rollout: &'a str) -> &'a str {
    smi.traffic_split_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(rollout)
}

/// What the TrafficSplit is built from.
#[derive(Debug, Clone, Copy)]
pub struct SplitInput<'a> {
    /// `trafficRouting.smi`.
    pub smi: &'a SmiTrafficRouting,
    /// The API version (`v1alpha1`, `v1alpha2`, `v1alpha3`).
    pub version: &'a str,
    /// Rollout name.
    pub rollout: &'a str,
    /// Rollout UID (owner reference).
    pub rollout_uid: &'a str,
    /// `canaryService`.
    pub canary_service: &'a str,
    /// `stableService`.
    pub stable_service: &'a str,
    /// The weights.
    pub weights: Weights,
}

/// The whole TrafficSplit, ready for server-side apply.
pub fn traffic_split(input: &SplitInput<'_>) -> Value {
    let root = input
        .smi
        .root_service
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(input.stable_service);
    let weight = |w: i32| match input.version {
        "v1alpha1" => Value::from(w.to_string()),
        _ => Value::from(w),
    };
    json!({
        "apiVersion": format!("{GROUP}/{}", input.version),
        "kind": "TrafficSplit",
        "metadata": {
            "name": split_name(input.smi, input.rollout),
            "ownerReferences": [crate::owner_reference(input.rollout, input.rollout_uid)],
        },
        "spec": {
            "service": root,
            "backends": [
                {"service": input.canary_service, "weight": weight(input.weights.canary)},
                {"service": input.stable_service, "weight": weight(input.weights.stable)},
            ],
        },
    })
}

/// Whether the stored TrafficSplit already has the desired spec (weights compared as numbers).
pub fn up_to_date(stored: &Value, desired: &Value) -> bool {
    let root = |v: &Value| v.pointer("/spec/service").cloned();
    root(stored) == root(desired) && backends(stored) == backends(desired) && owned_by(stored, desired)
}

fn owned_by(stored: &Value, desired: &Value) -> bool {
    let uid = |v: &Value| {
        v.pointer("/metadata/ownerReferences/0/uid")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let desired_uid = uid(desired);
    stored
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|o| o.get("uid").and_then(Value::as_str).map(str::to_string) == desired_uid)
}

/// `(service, weight)` of each backend; a weight written as a string (`"20"`) or a number reads the same.
fn backends(split: &Value) -> Vec<(String, Option<i64>)> {
    split
        .pointer("/spec/backends")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|b| {
            let service = b
                .get("service")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let weight = match b.get("weight") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(v) => v.as_i64(),
                None => None,
            };
            (service, weight)
        })
        .collect()
}

/// The canary and stable weights a stored TrafficSplit carries (`None` when a backend is missing).
pub fn weights_of(split: &Value, canary_service: &str, stable_service: &str) -> Option<Weights> {
    let all = backends(split);
    let find = |svc: &str| {
        all.iter()
            .find(|(s, _)| s == svc)
            .and_then(|(_, w)| *w)
            .and_then(|w| i32::try_from(w).ok())
    };
    Some(Weights {
        canary: find(canary_service)?,
        stable: find(stable_service)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(smi: &'a SmiTrafficRouting, version: &'a str) -> SplitInput<'a> {
        SplitInput {
            smi,
            version,
            rollout: "web",
            rollout_uid: "uid-1",
            canary_service: "web-canary",
            stable_service: "web-stable",
            weights: Weights {
                canary: 20,
                stable: 80,
            },
        }
    }

    #[test]
    fn split_as_argo_writes_it() {
        let smi = SmiTrafficRouting::default();
        let ts = traffic_split(&input(&smi, "v1alpha1"));
        assert_eq!(ts["apiVersion"], "split.smi-spec.io/v1alpha1");
        assert_eq!(ts["metadata"]["name"], "web", "default name: the Rollout's");
        assert_eq!(ts["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(
            ts["spec"]["service"], "web-stable",
            "default root: the stable Service"
        );
        assert_eq!(
            ts["spec"]["backends"],
            json!([{"service": "web-canary", "weight": "20"}, {"service": "web-stable", "weight": "80"}])
        );
        let smi = SmiTrafficRouting {
            root_service: Some("web".into()),
            traffic_split_name: Some("web-split".into()),
        };
        let ts3 = traffic_split(&input(&smi, "v1alpha3"));
        assert_eq!(ts3["apiVersion"], "split.smi-spec.io/v1alpha3");
        assert_eq!(ts3["metadata"]["name"], "web-split");
        assert_eq!(ts3["spec"]["service"], "web");
        assert_eq!(ts3["spec"]["backends"][0]["weight"], 20);
        assert_eq!(
            weights_of(&ts3, "web-canary", "web-stable"),
            Some(Weights {
                canary: 20,
                stable: 80
            })
        );
        assert_eq!(
            weights_of(&ts, "web-canary", "web-stable").map(|w| w.canary),
            Some(20)
        );
        assert_eq!(weights_of(&ts, "other", "web-stable"), None);
    }

    #[test]
    fn up_to_date_compares_weights_as_numbers_and_the_owner() {
        let smi = SmiTrafficRouting::default();
        let desired = traffic_split(&input(&smi, "v1alpha1"));
        let mut stored = desired.clone();
        stored["spec"]["backends"][0]["weight"] = json!(20);
        stored["metadata"]["resourceVersion"] = json!("7");
        assert!(up_to_date(&stored, &desired));
        stored["spec"]["backends"][0]["weight"] = json!("30");
        assert!(!up_to_date(&stored, &desired));
        let mut foreign = desired.clone();
        foreign["metadata"]["ownerReferences"] = json!([]);
        assert!(!up_to_date(&foreign, &desired));
    }

    #[test]
    fn version_preference() {
        assert_eq!(pick_version(["v1alpha2", "v1alpha1"]), Some("v1alpha1"));
        assert_eq!(pick_version(["v1alpha2", "v1alpha3"]), Some("v1alpha3"));
        assert_eq!(pick_version(["v1alpha2"]), Some("v1alpha2"));
        assert_eq!(pick_version(["v1"]), None);
    }
}
