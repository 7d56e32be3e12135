//! From cluster objects to the state machine's observations (pure).

use k8s_openapi::api::apps::v1::ReplicaSet;
use kube::api::DynamicObject;
use tack_rollout::{
    AnalysisKind, AnalysisObservation, AnalysisPhase, POD_TEMPLATE_HASH_LABEL, ReplicaSetObservation,
    SCALE_DOWN_DEADLINE_ANNOTATION,
};

use super::{ROLLOUT_TYPE_LABEL, STEP_INDEX_LABEL};

/// Whether `owner_uid` is the controller owner of an object with these owner references.
pub(crate) fn owned_by(
    refs: Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>>,
    owner_uid: &str,
) -> bool {
    refs.is_some_and(|refs| refs.iter().any(|r| r.uid == owner_uid))
}

/// The Rollout's ReplicaSets (owned by `owner_uid` and labelled with a pod template hash).
pub fn observe_replica_sets(all: &[ReplicaSet], owner_uid: &str) -> Vec<ReplicaSetObservation> {
    all.iter()
        .filter(|rs| owned_by(rs.metadata.owner_references.as_ref(), owner_uid))
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .filter_map(|rs| {
            let hash = rs.metadata.labels.as_ref()?.get(POD_TEMPLATE_HASH_LABEL)?.clone();
            let status = rs.status.as_ref();
            let deadline = rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SCALE_DOWN_DEADLINE_ANNOTATION))
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            Some(ReplicaSetObservation {
                pod_template_hash: hash,
                replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
                scale_down_deadline: deadline,
            })
        })
        .collect()
}

/// The label value of [`ROLLOUT_TYPE_LABEL`] for `kind`.
pub(crate) fn kind_label(kind: AnalysisKind) -> &'static str {
    match kind {
        AnalysisKind::Step(_) => "Step",
        AnalysisKind::Background => "Background",
        AnalysisKind::PrePromotion => "PrePromotion",
        AnalysisKind::PostPromotion => "PostPromotion",
    }
}

fn parse_phase(p: Option<&str>) -> AnalysisPhase {
    match p {
        Some("Running") => AnalysisPhase::Running,
        Some("Successful") => AnalysisPhase::Successful,
        Some("Failed") => AnalysisPhase::Failed,
        Some("Error") => AnalysisPhase::Error,
        Some("Inconclusive") => AnalysisPhase::Inconclusive,
        _ => AnalysisPhase::Pending,
    }
}

/// The Rollout's AnalysisRuns (owned by `owner_uid`, labelled with a pod template hash and a rollout type).
pub fn observe_analysis_runs(all: &[DynamicObject], owner_uid: &str) -> Vec<AnalysisObservation> {
    all.iter()
        .filter(|r| owned_by(r.metadata.owner_references.as_ref(), owner_uid))
        .filter_map(|r| {
            let labels = r.metadata.labels.as_ref()?;
            let hash = labels.get(POD_TEMPLATE_HASH_LABEL)?.clone();
            let kind = match labels.get(ROLLOUT_TYPE_LABEL)?.as_str() {
                "Step" => AnalysisKind::Step(labels.get(STEP_INDEX_LABEL)?.parse().ok()?),
                "Background" => AnalysisKind::Background,
                "PrePromotion" => AnalysisKind::PrePromotion,
                "PostPromotion" => AnalysisKind::PostPromotion,
                _ => return None,
            };
            let status = r.data.get("status");
            let created_at = r
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0);
            Some(AnalysisObservation {
                kind,
                pod_template_hash: hash,
                name: r.metadata.name.clone()?,
                phase: parse_phase(status.and_then(|s| s.get("phase")).and_then(|p| p.as_str())),
                message: status
                    .and_then(|s| s.get("message"))
                    .and_then(|m| m.as_str())
                    .map(str::to_string),
                created_at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn replica_sets_of_the_owner_only() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "a", "labels": {POD_TEMPLATE_HASH_LABEL: "h1"},
                         "annotations": {SCALE_DOWN_DEADLINE_ANNOTATION: "2026-01-01T00:00:00Z"},
                         "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                              "name": "r", "uid": "u1"}]},
            "spec": {"replicas": 3, "selector": {}},
            "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 1}
        }))
        .expect("rs");
        let obs = observe_replica_sets(std::slice::from_ref(&rs), "u1");
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].pod_template_hash, "h1");
        assert_eq!((obs[0].replicas, obs[0].ready, obs[0].available), (3, 2, 1));
        assert!(obs[0].scale_down_deadline.is_some());
        assert!(observe_replica_sets(&[rs], "other").is_empty());
    }

    #[test]
    fn analysis_runs_with_kind_and_phase() {
        let run: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
            "metadata": {"name": "r-h1-2", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "labels": {POD_TEMPLATE_HASH_LABEL: "h1", ROLLOUT_TYPE_LABEL: "Step", STEP_INDEX_LABEL: "2"},
                         "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                              "name": "r", "uid": "u1"}]},
            "spec": {}, "status": {"phase": "Failed", "message": "metric x failed"}
        }))
        .expect("run");
        let obs = observe_analysis_runs(&[run], "u1");
        assert_eq!(obs[0].kind, AnalysisKind::Step(2));
        assert_eq!(obs[0].phase, AnalysisPhase::Failed);
        assert_eq!(obs[0].message.as_deref(), Some("metric x failed"));
        assert_eq!(kind_label(AnalysisKind::Step(2)), "Step");
    }
}
