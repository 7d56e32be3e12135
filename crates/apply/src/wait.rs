//! The health of applied objects: assessing them once ([`assess_objects`], from one read of their live state)
//! and waiting until they are all Healthy ([`wait_healthy`]). The GitOps controller assesses once per
//! reconciliation; the one-shot sync and its waves wait.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tack_cluster::{Cluster, ClusterError};
use tack_health::{HealthStatus, ResourceHealth, aggregate, assess_optional};
use tack_plan::ObjectId;

use crate::live::read_live;
use crate::sync::SyncError;

/// How many reads [`assess_objects`] keeps in flight at once.
const READ_CONCURRENCY: usize = 16;

/// The health of each of `objects` (id and apiVersion), in their order, from one read of their live state (a
/// LIST per kind and namespace when many share them, rather than one GET per object). An object absent from
/// the cluster, or of a kind the cluster does not serve, is [`HealthStatus::Missing`]. Fails when the API
/// server cannot be read.
pub async fn assess_objects(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
) -> Result<Vec<ResourceHealth>, ClusterError> {
    let live = read_live(cluster, objects, READ_CONCURRENCY).await?;
    Ok(resource_healths(objects, &live))
}

/// The health of each of `objects`, in their order, given their live state keyed by id (absent: Missing).
fn resource_healths(objects: &[(ObjectId, String)], live: &HashMap<ObjectId, Value>) -> Vec<ResourceHealth> {
    objects
        .iter()
        .map(|(id, _)| ResourceHealth {
            kind: id.kind.clone(),
            name: id.name.clone(),
            namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
            health: assess_optional(live.get(id)),
        })
        .collect()
}

/// Polls `objects` (id + apiVersion) every second until tack-health assesses all of them Healthy, reporting
/// the aggregate message through `progress` whenever it changes. Fails after `timeout` with the objects that
/// are not healthy, or as soon as the API server cannot be read.
pub async fn wait_healthy(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), SyncError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let h = aggregate(&assess_objects(cluster, objects).await?);
        if h.status == HealthStatus::Healthy {
            progress("healthy: every object is Healthy");
            return Ok(());
        }
        let line = format!("{}: {}", h.status, h.message);
        if line != last {
            progress(&format!("waiting: {line}"));
            last = line;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SyncError::Wait {
                message: format!(
                    "not healthy after {timeout:?}: {}: {}; inspect the objects named",
                    h.status, h.message
                ),
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(group: &str, kind: &str, namespace: &str, name: &str) -> (ObjectId, String) {
        let api_version = if group.is_empty() {
            "v1".to_string()
        } else {
            format!("{group}/v1")
        };
        (ObjectId::new(group, kind, namespace, name), api_version)
    }

    #[test]
    fn each_object_is_assessed_in_order_and_absent_ones_are_missing() {
        let objects = [
            object("apps", "Deployment", "qa", "web"),
            object("", "Namespace", "", "qa"),
            object("", "ConfigMap", "qa", "settings"),
        ];
        let live = HashMap::from([
            (
                objects[0].0.clone(),
                json!({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "qa", "generation": 2},
                    "spec": {"replicas": 2},
                    "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}
                }),
            ),
            (
                objects[1].0.clone(),
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "qa"},
                       "status": {"phase": "Active"}}),
            ),
        ]);
        let healths = resource_healths(&objects, &live);
        let seen: Vec<(String, Option<&str>, HealthStatus)> = healths
            .iter()
            .map(|r| (r.display_name(), r.namespace.as_deref(), r.health.status))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "Deployment/web".to_string(),
                    Some("qa"),
                    HealthStatus::Progressing
                ),
                ("Namespace/qa".to_string(), None, HealthStatus::Healthy),
                (
                    "ConfigMap/settings".to_string(),
                    Some("qa"),
                    HealthStatus::Missing
                ),
            ]
        );
        assert_eq!(healths[0].health.message, "1 of 2 replicas available");
        assert_eq!(aggregate(&healths).status, HealthStatus::Missing);
    }

    #[test]
    fn no_objects_no_healths() {
        assert!(resource_healths(&[], &HashMap::new()).is_empty());
    }
}
