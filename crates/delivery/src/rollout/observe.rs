//! From cluster objects to the state machine's observations (pure).

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::DynamicObject;
use tack_rollout::{
    AnalysisKind, AnalysisObservation, AnalysisPhase, POD_TEMPLATE_HASH_LABEL, PodFailure,
    REVISION_ANNOTATION, ReplicaSetObservation, SCALE_DOWN_DEADLINE_ANNOTATION,
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
                failed_pods: Vec::new(),
                revision: rs
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REVISION_ANNOTATION))
                    .and_then(|r| r.parse::<i64>().ok()),
                created_at: rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
            })
        })
        .collect()
}

/// The crashed pods among `pods` owned by the ReplicaSet `rs_uid`: phase `Failed`, a container (or init
/// container) that terminated with a non-zero exit code, now or before its last restart, or one waiting in
/// `CrashLoopBackOff`. A pod that was evicted, preempted or deleted is not a crash of the release and is
/// left out (`Failed` with reason `Evicted`/`Preempting`, or a deletion timestamp while still running).
pub fn pod_failures(pods: &[Pod], rs_uid: &str) -> Vec<PodFailure> {
    let mut out: Vec<PodFailure> = pods
        .iter()
        .filter(|p| owned_by(p.metadata.owner_references.as_ref(), rs_uid))
        .filter_map(|p| {
            let name = p.metadata.name.clone()?;
            let status = p.status.as_ref()?;
            let created_at = p
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0);
            let failed = status.phase.as_deref() == Some("Failed");
            let evicted = matches!(status.reason.as_deref(), Some("Evicted" | "Preempting"));
            if evicted {
                return None;
            }
            let containers = status
                .init_container_statuses
                .iter()
                .flatten()
                .chain(status.container_statuses.iter().flatten());
            let why = containers.filter_map(container_crash).next().or_else(|| {
                failed.then(|| match (&status.reason, &status.message) {
                    (Some(r), Some(m)) => format!("pod phase Failed ({r}: {m})"),
                    (Some(r), None) => format!("pod phase Failed ({r})"),
                    (None, Some(m)) => format!("pod phase Failed ({m})"),
                    (None, None) => "pod phase Failed".to_string(),
                })
            })?;
            Some(PodFailure {
                pod: name,
                reason: why,
                created_at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.pod.cmp(&b.pod)));
    out
}

/// Why a container counts as crashed, if it does.
fn container_crash(c: &ContainerStatus) -> Option<String> {
    let state = c.state.as_ref();
    if let Some(w) = state.and_then(|s| s.waiting.as_ref())
        && w.reason.as_deref() == Some("CrashLoopBackOff")
    {
        return Some(format!("container {} is in CrashLoopBackOff", c.name));
    }
    let exited = |t: &k8s_openapi::api::core::v1::ContainerStateTerminated| {
        (t.exit_code != 0).then(|| match t.reason.as_deref() {
            Some(r) if r != "Error" && r != "Completed" => {
                format!("container {} exited with code {} ({r})", c.name, t.exit_code)
            }
            _ => format!("container {} exited with code {}", c.name, t.exit_code),
        })
    };
    state
        .and_then(|s| s.terminated.as_ref())
        .and_then(exited)
        .or_else(|| {
            c.last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(exited)
        })
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

/// The AnalysisRuns of `revision` (and those without a revision annotation): a run never gates another
/// revision, so an undo or a re-deploy of an earlier template measures again, as in Argo Rollouts.
pub(crate) fn runs_of_revision(runs: &[DynamicObject], revision: &str) -> Vec<DynamicObject> {
    runs.iter()
        .filter(|r| {
            r.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(super::REVISION_ANNOTATION))
                .is_none_or(|rev| rev == revision)
        })
        .cloned()
        .collect()
}

/// The Rollout's Experiments (owned by `owner_uid`), with their phase and message.
pub fn observe_experiments(
    all: &[DynamicObject],
    owner_uid: &str,
) -> Vec<tack_rollout::ExperimentObservation> {
    all.iter()
        .filter(|x| owned_by(x.metadata.owner_references.as_ref(), owner_uid))
        .filter_map(|x| {
            let status = x.data.get("status");
            Some(tack_rollout::ExperimentObservation {
                name: x.metadata.name.clone()?,
                phase: status
                    .and_then(|s| s.get("phase"))
                    .and_then(|p| p.as_str())
                    .and_then(AnalysisPhase::parse),
                message: status
                    .and_then(|s| s.get("message"))
                    .and_then(|m| m.as_str())
                    .map(str::to_string),
            })
        })
        .collect()
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
                phase: status
                    .and_then(|s| s.get("phase"))
                    .and_then(|p| p.as_str())
                    .and_then(AnalysisPhase::parse)
                    .unwrap_or(AnalysisPhase::Pending),
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
    fn crashed_pods_of_the_replica_set() {
        let owner = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-h1", "uid": "rs1"}]);
        let pod = |name: &str, status: serde_json::Value| -> Pod {
            serde_json::from_value(json!({
                "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z", "ownerReferences": owner},
                "status": status
            }))
            .expect("pod")
        };
        let pods = [
            pod(
                "ok",
                json!({"phase": "Running", "containerStatuses": [
                {"name": "web", "ready": true, "restartCount": 0, "image": "i", "imageID": "",
                 "state": {"running": {}}}]}),
            ),
            pod(
                "exited",
                json!({"phase": "Failed", "containerStatuses": [
                {"name": "web", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                 "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
            ),
            pod(
                "looping",
                json!({"phase": "Running", "containerStatuses": [
                {"name": "web", "ready": false, "restartCount": 3, "image": "i", "imageID": "",
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
            ),
            pod(
                "restarted",
                json!({"phase": "Running", "containerStatuses": [
                {"name": "web", "ready": true, "restartCount": 1, "image": "i", "imageID": "",
                 "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 2}}}]}),
            ),
            pod(
                "evicted",
                json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}),
            ),
        ];
        let f = pod_failures(&pods, "rs1");
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.pod.as_str(), f.reason.as_str())).collect();
        assert_eq!(
            got,
            [
                ("exited", "container web exited with code 1"),
                ("looping", "container web is in CrashLoopBackOff"),
                ("restarted", "container web exited with code 2"),
            ]
        );
        assert!(pod_failures(&pods, "other").is_empty());
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

    #[test]
    fn runs_of_other_revisions_are_left_out() {
        let run = |name: &str, rev: Option<&str>| -> DynamicObject {
            let mut meta = json!({"name": name});
            if let Some(rev) = rev {
                meta["annotations"] = json!({super::super::REVISION_ANNOTATION: rev});
            }
            serde_json::from_value(
                json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
                                          "metadata": meta}),
            )
            .expect("run")
        };
        let runs = [run("a", Some("1")), run("b", Some("3")), run("c", None)];
        let names: Vec<_> = runs_of_revision(&runs, "3")
            .into_iter()
            .filter_map(|r| r.metadata.name)
            .collect();
        assert_eq!(names, ["b", "c"]);
    }
}
