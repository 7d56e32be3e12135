//! `spec.workloadRef.scaleDown` (Argo Rollouts semantics): `never` (the default) leaves the referenced
//! Deployment alone; `onsuccess` scales it to zero once the Rollout's first revision is Healthy (the migration
//! from a Deployment is done; Argo does it for revision 1 only). `progressively` is refused by
//! [`crate::validate`].

use crate::spec::{Rollout, RolloutStatus};

/// `workloadRef.scaleDown: never`.
pub const NEVER: &str = "never";
/// `workloadRef.scaleDown: onsuccess`.
pub const ON_SUCCESS: &str = "onsuccess";
/// `workloadRef.scaleDown: progressively`.
pub const PROGRESSIVELY: &str = "progressively";

/// The replicas the referenced Deployment is to be scaled to now, if any: 0 for `onsuccess` once the first
/// revision (`revision`, the Rollout's revision annotation) is Healthy in `status`.
pub fn deployment_replicas(rollout: &Rollout, revision: Option<&str>, status: &RolloutStatus) -> Option<i32> {
    let w = rollout.spec.workload_ref.as_ref()?;
    (w.scale_down.as_deref() == Some(ON_SUCCESS)
        && revision == Some("1")
        && status.phase.as_deref() == Some("Healthy"))
    .then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(scale_down: Option<&str>) -> Rollout {
        serde_json::from_value(
            json!({"spec": {"workloadRef": {"kind": "Deployment", "name": "web", "scaleDown": scale_down},
                                               "strategy": {"canary": {}}}}),
        )
        .expect("rollout")
    }

    fn status(phase: &str) -> RolloutStatus {
        RolloutStatus {
            phase: Some(phase.into()),
            ..Default::default()
        }
    }

    #[test]
    fn on_success_scales_the_deployment_to_zero_once_the_first_revision_is_healthy() {
        let r = rollout(Some(ON_SUCCESS));
        assert_eq!(deployment_replicas(&r, Some("1"), &status("Healthy")), Some(0));
        assert_eq!(deployment_replicas(&r, Some("1"), &status("Progressing")), None);
        assert_eq!(
            deployment_replicas(&r, Some("2"), &status("Healthy")),
            None,
            "revision 1 only"
        );
        assert_eq!(
            deployment_replicas(&rollout(Some(NEVER)), Some("1"), &status("Healthy")),
            None
        );
        assert_eq!(
            deployment_replicas(&rollout(None), Some("1"), &status("Healthy")),
            None
        );
    }
}
