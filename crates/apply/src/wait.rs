//! Waiting until applied objects are healthy.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use tack_cluster::Cluster;
use tack_health::{HealthStatus, ResourceHealth, aggregate, assess_optional};
use tack_plan::ObjectId;

use crate::sync::SyncError;

/// Polls `objects` (id + apiVersion) every second until tack-health assesses all of them Healthy, reporting
/// the aggregate message through `progress` whenever it changes. Fails after `timeout` with the objects that
/// are not healthy.
pub async fn wait_healthy(
    cluster: &Cluster,
    objects: &[(ObjectId, String)],
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), SyncError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let healths: Vec<ResourceHealth> = stream::iter(objects.iter().cloned())
            .map(|(id, api_version)| async move {
                let live = match cluster.resolve(&api_version, &id.kind).await? {
                    Some(k) => cluster.get(&k, &id.namespace, &id.name).await?,
                    None => None,
                };
                Ok::<_, SyncError>(ResourceHealth {
                    kind: id.kind.clone(),
                    name: id.name.clone(),
                    namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
                    health: assess_optional(live.as_ref()),
                })
            })
            .buffered(16)
            .try_collect()
            .await?;
        let h = aggregate(&healths);
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
