//! Health: kstatus-like assessment of Kubernetes objects. Pure functions.
//!
//! [`assess`] looks at one live object (as the API server returns it, `serde_json::Value`) and returns a
//! [`Health`]: a [`HealthStatus`] plus a short message meant for people. [`aggregate`] folds the health of
//! every object of an application into one, worst first, with a message that names the objects that are not
//! healthy.
//!
//! The rules follow what `kubectl rollout status`, Argo CD's built-in checks and kstatus (cli-utils) do for
//! the same kinds; each rule is documented at its function. Nothing here reads a clock or talks to a cluster:
//! deadlines (such as a Deployment's `progressDeadlineSeconds`) are taken from the conditions that the
//! Kubernetes controllers already write.
//!
//! ```
//! use serde_json::json;
//! use tack_health::{HealthStatus, ResourceHealth, aggregate};
//!
//! let frontend = json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "frontend", "generation": 1},
//!     "spec": {"replicas": 3},
//!     "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}
//! });
//! let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "frontend"}});
//! let app = aggregate(&[ResourceHealth::of(&frontend), ResourceHealth::of(&service)]);
//! assert_eq!(app.status, HealthStatus::Progressing);
//! assert_eq!(app.message, "Deployment/frontend: 1 of 3 replicas available");
//! ```

#![warn(missing_docs)]

mod kinds;
mod live_state;
mod object;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use live_state::{is_stateless_kind, needs_live_state};

/// The health of one object or of an application.
///
/// The variants are declared from healthiest to least healthy, and the derived `Ord` follows that order, which
/// is Argo CD's (`gitops-engine/pkg/health`): `Healthy < Suspended < Progressing < Missing < Degraded <
/// Unknown`. `Unknown` is the worst because tack could not tell, and an application whose state cannot be told
/// must not look better than one that is known to be broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthStatus {
    /// The object is what its spec asks for.
    Healthy,
    /// The object is deliberately paused or suspended (a paused Deployment, a suspended CronJob or Job).
    Suspended,
    /// The object is moving towards its desired state (a rollout in progress, a pod starting).
    Progressing,
    /// The object is expected (it is in Git) but absent from the cluster.
    Missing,
    /// The object failed or cannot reach its desired state without help.
    Degraded,
    /// The state could not be assessed (for instance the object is not a Kubernetes object at all).
    Unknown,
}

impl HealthStatus {
    /// The status as written in the GitOpsConfig status and shown by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "Healthy",
            HealthStatus::Suspended => "Suspended",
            HealthStatus::Progressing => "Progressing",
            HealthStatus::Missing => "Missing",
            HealthStatus::Degraded => "Degraded",
            HealthStatus::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A health status with a human message (empty when there is nothing to say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// How healthy the object (or application) is.
    pub status: HealthStatus,
    /// Why, for people: which replicas, condition or phase the status comes from (may be empty).
    pub message: String,
}

impl Health {
    /// A health with the given status and explanation.
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        Health {
            status,
            message: message.into(),
        }
    }
    /// A [`HealthStatus::Healthy`] health with `message` as its explanation.
    pub fn healthy(message: impl Into<String>) -> Self {
        Health::new(HealthStatus::Healthy, message)
    }
    /// A [`HealthStatus::Progressing`] health: `message` says what is still under way.
    pub fn progressing(message: impl Into<String>) -> Self {
        Health::new(HealthStatus::Progressing, message)
    }
    /// A [`HealthStatus::Degraded`] health: `message` says what failed.
    pub fn degraded(message: impl Into<String>) -> Self {
        Health::new(HealthStatus::Degraded, message)
    }
    /// A [`HealthStatus::Suspended`] health: `message` says what is paused.
    pub fn suspended(message: impl Into<String>) -> Self {
        Health::new(HealthStatus::Suspended, message)
    }
    /// A [`HealthStatus::Unknown`] health: `message` says why it could not be told.
    pub fn unknown(message: impl Into<String>) -> Self {
        Health::new(HealthStatus::Unknown, message)
    }
    /// The health of an object that Git declares and the cluster does not have.
    pub fn missing() -> Self {
        Health::new(HealthStatus::Missing, "object does not exist in the cluster")
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{}: {}", self.status, self.message)
        }
    }
}

/// Assesses one live object.
///
/// Kinds with a dedicated rule: Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, Job, CronJob, Service,
/// Ingress, PersistentVolumeClaim, CustomResourceDefinition, Namespace, HorizontalPodAutoscaler, and Argo
/// Rollouts' Rollout, AnalysisRun and Experiment (`argoproj.io`). Any other kind is judged by the generic kstatus rules:
/// an object being deleted, `metadata.generation` ahead of `status.observedGeneration`, and the standard
/// conditions `Stalled`, `Reconciling`, `Ready`, `Available`. An object with none of these is Healthy by
/// existence.
pub fn assess(object: &Value) -> Health {
    kinds::assess(object)
}

/// Assesses an object that may be absent: `None` is [`HealthStatus::Missing`].
pub fn assess_optional(object: Option<&Value>) -> Health {
    match object {
        Some(o) => assess(o),
        None => Health::missing(),
    }
}

/// One object of an application with its assessed health; the input of [`aggregate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceHealth {
    /// The object's `kind` (`Deployment`), without its group.
    pub kind: String,
    /// The object's `metadata.name`.
    pub name: String,
    /// The object's namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object's assessed health.
    pub health: Health,
}

impl ResourceHealth {
    /// Reads kind, name and namespace from `object` and assesses it.
    pub fn of(object: &Value) -> Self {
        let kind = object::str_at(object, &["kind"]).unwrap_or("").to_string();
        let name = object::str_at(object, &["metadata", "name"])
            .unwrap_or("")
            .to_string();
        let namespace = object::str_at(object, &["metadata", "namespace"]).map(str::to_string);
        ResourceHealth {
            kind,
            name,
            namespace,
            health: assess(object),
        }
    }

    /// An object that Git declares and the cluster does not have.
    pub fn missing(kind: impl Into<String>, name: impl Into<String>, namespace: Option<String>) -> Self {
        ResourceHealth {
            kind: kind.into(),
            name: name.into(),
            namespace,
            health: Health::missing(),
        }
    }

    /// `Kind/name`, the way objects are named in aggregate messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// How many unhealthy objects an aggregate message names before it says "and N more".
pub const AGGREGATE_MESSAGE_LIMIT: usize = 10;

/// The health of an application: the worst status of its objects (Argo CD's order, see [`HealthStatus`]).
///
/// The message names the objects that are not Healthy, worst first and in input order within one status,
/// for example `Deployment/frontend: 1 of 3 replicas available; Service/web: waiting for a load balancer
/// address`. At most [`AGGREGATE_MESSAGE_LIMIT`] objects are named. An application without objects is Healthy.
pub fn aggregate<'a>(items: impl IntoIterator<Item = &'a ResourceHealth>) -> Health {
    let mut total = 0usize;
    let mut unhealthy: Vec<&ResourceHealth> = Vec::new();
    for item in items {
        total += 1;
        if item.health.status != HealthStatus::Healthy {
            unhealthy.push(item);
        }
    }
    if unhealthy.is_empty() {
        let message = match total {
            0 => "no objects".to_string(),
            1 => "1 object healthy".to_string(),
            n => format!("all {n} objects healthy"),
        };
        return Health::healthy(message);
    }
    // Stable sort: worst first, input order kept within one status.
    unhealthy.sort_by_key(|r| std::cmp::Reverse(r.health.status));
    let status = unhealthy[0].health.status;
    let mut parts: Vec<String> = unhealthy
        .iter()
        .take(AGGREGATE_MESSAGE_LIMIT)
        .map(|r| {
            if r.health.message.is_empty() {
                format!("{}: {}", r.display_name(), r.health.status)
            } else {
                format!("{}: {}", r.display_name(), r.health.message)
            }
        })
        .collect();
    if unhealthy.len() > AGGREGATE_MESSAGE_LIMIT {
        parts.push(format!("and {} more", unhealthy.len() - AGGREGATE_MESSAGE_LIMIT));
    }
    Health::new(status, parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rh(kind: &str, name: &str, status: HealthStatus, message: &str) -> ResourceHealth {
        ResourceHealth {
            kind: kind.into(),
            name: name.into(),
            namespace: Some("default".into()),
            health: Health::new(status, message),
        }
    }

    #[test]
    fn order_is_argo_cds() {
        use HealthStatus::*;
        let mut all = vec![Unknown, Degraded, Missing, Progressing, Suspended, Healthy];
        all.sort();
        assert_eq!(
            all,
            vec![Healthy, Suspended, Progressing, Missing, Degraded, Unknown]
        );
    }

    #[test]
    fn aggregate_of_nothing_is_healthy() {
        let h = aggregate(&[]);
        assert_eq!(h.status, HealthStatus::Healthy);
    }

    #[test]
    fn aggregate_all_healthy() {
        let items = vec![
            rh("Deployment", "a", HealthStatus::Healthy, ""),
            rh("Service", "a", HealthStatus::Healthy, ""),
        ];
        assert_eq!(aggregate(&items), Health::healthy("all 2 objects healthy"));
    }

    #[test]
    fn aggregate_worst_wins_and_names_objects() {
        let items = vec![
            rh(
                "Service",
                "web",
                HealthStatus::Progressing,
                "waiting for a load balancer address",
            ),
            rh("ConfigMap", "c", HealthStatus::Healthy, ""),
            rh(
                "Deployment",
                "frontend",
                HealthStatus::Degraded,
                "1 of 3 replicas available",
            ),
            rh(
                "CronJob",
                "nightly",
                HealthStatus::Suspended,
                "CronJob is suspended",
            ),
        ];
        let h = aggregate(&items);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert_eq!(
            h.message,
            "Deployment/frontend: 1 of 3 replicas available; Service/web: waiting for a load balancer \
             address; CronJob/nightly: CronJob is suspended"
        );
    }

    #[test]
    fn aggregate_missing_beats_progressing_and_unknown_beats_degraded() {
        let items = vec![
            rh("Deployment", "a", HealthStatus::Progressing, "x"),
            rh("Deployment", "b", HealthStatus::Missing, ""),
        ];
        assert_eq!(aggregate(&items).status, HealthStatus::Missing);
        let items = vec![
            rh("Deployment", "a", HealthStatus::Degraded, "x"),
            rh("Widget", "b", HealthStatus::Unknown, "y"),
        ];
        assert_eq!(aggregate(&items).status, HealthStatus::Unknown);
    }

    #[test]
    fn aggregate_message_is_bounded() {
        let items: Vec<_> = (0..15)
            .map(|i| rh("Pod", &format!("p{i}"), HealthStatus::Progressing, "starting"))
            .collect();
        let h = aggregate(&items);
        assert!(h.message.ends_with("; and 5 more"), "{}", h.message);
        assert_eq!(h.message.matches("Pod/").count(), AGGREGATE_MESSAGE_LIMIT);
    }

    #[test]
    fn missing_object() {
        assert_eq!(assess_optional(None).status, HealthStatus::Missing);
        let items = vec![
            rh("Service", "web", HealthStatus::Progressing, "waiting"),
            ResourceHealth::missing("Deployment", "frontend", Some("qa".into())),
        ];
        assert_eq!(
            aggregate(&items),
            Health::new(
                HealthStatus::Missing,
                "Deployment/frontend: object does not exist in the cluster; Service/web: waiting"
            )
        );
    }

    #[test]
    fn resource_health_of_reads_identity() {
        let obj = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "qa"}, "data": {}
        });
        let r = ResourceHealth::of(&obj);
        assert_eq!(r.display_name(), "ConfigMap/cfg");
        assert_eq!(r.namespace.as_deref(), Some("qa"));
        assert_eq!(r.health.status, HealthStatus::Healthy);
    }

    #[test]
    fn health_serializes_as_api_strings() {
        let h = Health::progressing("x");
        let v = serde_json::to_value(&h).ok();
        assert_eq!(
            v,
            Some(serde_json::json!({"status": "Progressing", "message": "x"}))
        );
    }
}
