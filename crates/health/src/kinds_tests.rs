//! Table-driven tests: objects with status blocks as the API server and the built-in controllers write them.

use serde_json::{Value, json};

use crate::HealthStatus::{self, *};
use crate::assess;

struct Case {
    name: &'static str,
    object: Value,
    status: HealthStatus,
    message: &'static str,
}

fn case(name: &'static str, object: Value, status: HealthStatus, message: &'static str) -> Case {
    Case {
        name,
        object,
        status,
        message,
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let h = assess(&c.object);
        if h.status != c.status || !h.message.contains(c.message) {
            failures.push(format!(
                "{}: got {:?} {:?}, want {:?} with message containing {:?}",
                c.name, h.status, h.message, c.status, c.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn deployment(generation: i64, replicas: i64, paused: bool, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "frontend", "namespace": "guestbook", "generation": generation,
            "uid": "5b0c8f4e-0b1a-4c2e-9d8e-1f2a3b4c5d6e", "resourceVersion": "4711",
            "creationTimestamp": "2026-11-22T10:00:00Z",
            "annotations": {"deployment.kubernetes.io/revision": "2"}
        },
        "spec": {
            "replicas": replicas, "paused": paused,
            "selector": {"matchLabels": {"app": "guestbook", "tier": "frontend"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
            "template": {"metadata": {"labels": {"app": "guestbook", "tier": "frontend"}},
                "spec": {"containers": [{"name": "php-redis", "image": "gcr.io/google-samples/gb-frontend:v5"}]}}
        },
        "status": status
    })
}

fn available_cond(status: &str, reason: &str) -> Value {
    json!({"type": "Available", "status": status, "lastUpdateTime": "2026-11-22T10:00:05Z",
        "lastTransitionTime": "2026-11-22T10:00:05Z", "reason": reason,
        "message": if status == "True" { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." }})
}

fn progressing_cond(status: &str, reason: &str, message: &str) -> Value {
    json!({"type": "Progressing", "status": status, "lastUpdateTime": "2026-11-22T10:10:05Z",
        "lastTransitionTime": "2026-11-22T10:10:05Z", "reason": reason, "message": message})
}

#[test]
fn deployments() {
    run(vec![
        case(
            "rolled out",
            deployment(
                2,
                3,
                false,
                json!({
                    "observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                    "availableReplicas": 3,
                    "conditions": [available_cond("True", "MinimumReplicasAvailable"),
                        progressing_cond("True", "NewReplicaSetAvailable", "ReplicaSet \"frontend-7d9c6b8f5\" has successfully progressed.")]
                }),
            ),
            Healthy,
            "3 of 3 replicas available",
        ),
        case(
            "generation not observed yet",
            deployment(
                3,
                3,
                false,
                json!({
                    "observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                    "availableReplicas": 3
                }),
            ),
            Progressing,
            "observe generation 3 (observed 2)",
        ),
        case(
            "new replicas being created",
            deployment(
                3,
                3,
                false,
                json!({
                    "observedGeneration": 3, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3,
                    "availableReplicas": 3, "unavailableReplicas": 1,
                    "conditions": [available_cond("True", "MinimumReplicasAvailable"),
                        progressing_cond("True", "ReplicaSetUpdated", "ReplicaSet \"frontend-6f7b9c\" is progressing.")]
                }),
            ),
            Progressing,
            "1 of 3 replicas updated",
        ),
        case(
            "old replicas terminating",
            deployment(
                3,
                3,
                false,
                json!({
                    "observedGeneration": 3, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 4,
                    "availableReplicas": 4
                }),
            ),
            Progressing,
            "1 old replica pending termination",
        ),
        case(
            "updated but not available",
            deployment(
                1,
                3,
                false,
                json!({
                    "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 1,
                    "availableReplicas": 1, "unavailableReplicas": 2,
                    "conditions": [available_cond("False", "MinimumReplicasUnavailable"),
                        progressing_cond("True", "ReplicaSetUpdated", "ReplicaSet \"frontend-7d9c6b8f5\" is progressing.")]
                }),
            ),
            Progressing,
            "1 of 3 replicas available",
        ),
        case(
            "fresh, no status yet",
            deployment(1, 3, false, json!({})),
            Progressing,
            "0 of 3 replicas updated",
        ),
        case(
            "progress deadline exceeded",
            deployment(
                2,
                3,
                false,
                json!({
                    "observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3,
                    "availableReplicas": 3, "unavailableReplicas": 1,
                    "conditions": [available_cond("True", "MinimumReplicasAvailable"),
                        progressing_cond("False", "ProgressDeadlineExceeded", "ReplicaSet \"frontend-6f7b9c\" has timed out progressing.")]
                }),
            ),
            Degraded,
            "progress deadline exceeded: ProgressDeadlineExceeded: ReplicaSet \"frontend-6f7b9c\" has timed out progressing.",
        ),
        case(
            "replica failure (quota)",
            deployment(
                1,
                2,
                false,
                json!({
                    "observedGeneration": 1, "replicas": 0, "unavailableReplicas": 2,
                    "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                        "message": "pods \"frontend-7d9c6b8f5-x\" is forbidden: exceeded quota: compute-resources",
                        "lastUpdateTime": "2026-11-22T10:00:01Z", "lastTransitionTime": "2026-11-22T10:00:01Z"}]
                }),
            ),
            Degraded,
            "exceeded quota",
        ),
        case(
            "paused",
            deployment(
                4,
                3,
                true,
                json!({
                    "observedGeneration": 4, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 3,
                    "conditions": [progressing_cond("Unknown", "DeploymentPaused", "Deployment is paused")]
                }),
            ),
            Suspended,
            "Deployment is paused",
        ),
        case(
            "scaled to zero",
            deployment(5, 0, false, json!({"observedGeneration": 5})),
            Healthy,
            "0 of 0 replicas available",
        ),
    ]);
}

fn stateful_set(spec_extra: Value, status: Value) -> Value {
    let mut spec = json!({
        "replicas": 3, "serviceName": "redis",
        "selector": {"matchLabels": {"app": "redis"}},
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "template": {"metadata": {"labels": {"app": "redis"}},
            "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}}
    });
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "redis", "namespace": "db", "generation": 2},
        "spec": spec, "status": status
    })
}

#[test]
fn stateful_sets() {
    run(vec![
        case(
            "rolled out",
            stateful_set(
                json!({}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                    "updatedReplicas": 3, "availableReplicas": 3,
                    "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-5d8f7c9b6",
                    "collisionCount": 0
                }),
            ),
            Healthy,
            "3 of 3 replicas ready",
        ),
        case(
            "rolling update in progress",
            stateful_set(
                json!({}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                    "updatedReplicas": 1, "availableReplicas": 3,
                    "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-7f6d5c4b3"
                }),
            ),
            Progressing,
            "1 of 3 pods at revision redis-7f6d5c4b3",
        ),
        case(
            "pods not ready",
            stateful_set(
                json!({}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 1, "currentReplicas": 3,
                    "updatedReplicas": 3, "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-5d8f7c9b6"
                }),
            ),
            Progressing,
            "1 of 3 replicas ready",
        ),
        case(
            "partitioned roll out done",
            stateful_set(
                json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                    "updatedReplicas": 1, "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-7f6d5c4b3"
                }),
            ),
            Healthy,
            "partitioned roll out complete",
        ),
        case(
            "partitioned roll out pending",
            stateful_set(
                json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                    "updatedReplicas": 1, "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-7f6d5c4b3"
                }),
            ),
            Progressing,
            "1 of 2 pods above partition 1 updated",
        ),
        case(
            "on delete",
            stateful_set(
                json!({"updateStrategy": {"type": "OnDelete"}}),
                json!({
                    "observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
                    "currentRevision": "redis-5d8f7c9b6", "updateRevision": "redis-7f6d5c4b3"
                }),
            ),
            Healthy,
            "OnDelete",
        ),
        case(
            "generation pending",
            stateful_set(
                json!({}),
                json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3}),
            ),
            Progressing,
            "observe generation 2",
        ),
    ]);
}

fn daemon_set(strategy: &str, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "node-exporter", "namespace": "monitoring", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "node-exporter"}},
            "updateStrategy": {"type": strategy},
            "template": {"metadata": {"labels": {"app": "node-exporter"}},
                "spec": {"containers": [{"name": "node-exporter", "image": "prom/node-exporter:v1.8.2"}]}}},
        "status": status
    })
}

#[test]
fn daemon_sets() {
    run(vec![
        case(
            "all available",
            daemon_set(
                "RollingUpdate",
                json!({
                    "currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3,
                    "numberMisscheduled": 0, "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3
                }),
            ),
            Healthy,
            "3 of 3 pods available",
        ),
        case(
            "updating",
            daemon_set(
                "RollingUpdate",
                json!({
                    "currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3,
                    "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 1,
                    "numberUnavailable": 0
                }),
            ),
            Progressing,
            "1 of 3 pods updated",
        ),
        case(
            "not available",
            daemon_set(
                "RollingUpdate",
                json!({
                    "currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 2,
                    "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 3, "numberUnavailable": 1
                }),
            ),
            Progressing,
            "2 of 3 pods available",
        ),
        case(
            "on delete",
            daemon_set(
                "OnDelete",
                json!({
                    "desiredNumberScheduled": 3, "numberAvailable": 3, "observedGeneration": 1,
                    "updatedNumberScheduled": 0
                }),
            ),
            Healthy,
            "OnDelete",
        ),
    ]);
}

#[test]
fn replica_sets() {
    let rs = |replicas: i64, status: Value| {
        json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "frontend-7d9c6b8f5", "namespace": "guestbook", "generation": 1,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend",
                    "uid": "5b0c8f4e-0b1a-4c2e-9d8e-1f2a3b4c5d6e", "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "guestbook"}}},
            "status": status
        })
    };
    run(vec![
        case(
            "available",
            rs(
                3,
                json!({"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3,
                "availableReplicas": 3, "observedGeneration": 1}),
            ),
            Healthy,
            "3 of 3",
        ),
        case(
            "starting",
            rs(
                3,
                json!({"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 1,
                "availableReplicas": 1, "observedGeneration": 1}),
            ),
            Progressing,
            "1 of 3 replicas available",
        ),
        case(
            "failure",
            rs(
                3,
                json!({"replicas": 0, "observedGeneration": 1, "conditions": [{"type": "ReplicaFailure",
                "status": "True", "reason": "FailedCreate", "lastTransitionTime": "2026-11-22T10:00:00Z",
                "message": "pods \"frontend-7d9c6b8f5-abcde\" is forbidden: violates PodSecurity \"restricted:latest\""}]}),
            ),
            Degraded,
            "violates PodSecurity",
        ),
    ]);
}

fn pod(restart_policy: &str, status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "frontend-7d9c6b8f5-x2x9k", "namespace": "guestbook",
            "labels": {"app": "guestbook", "pod-template-hash": "7d9c6b8f5"}},
        "spec": {"restartPolicy": restart_policy, "nodeName": "kwok-node-0",
            "containers": [{"name": "php-redis", "image": "gcr.io/google-samples/gb-frontend:v5"}]},
        "status": status
    })
}

fn pod_conditions(ready: &str) -> Value {
    json!([
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-22T10:00:02Z"},
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-22T10:00:01Z"},
        {"type": "Ready", "status": ready, "lastProbeTime": null, "lastTransitionTime": "2026-11-22T10:00:03Z"},
        {"type": "ContainersReady", "status": ready, "lastProbeTime": null, "lastTransitionTime": "2026-11-22T10:00:03Z"},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-22T10:00:00Z"}
    ])
}

#[test]
fn pods() {
    run(vec![
        case(
            "running and ready",
            pod(
                "Always",
                json!({
                    "phase": "Running", "conditions": pod_conditions("True"), "hostIP": "10.0.0.1",
                    "podIP": "10.244.0.5", "startTime": "2026-11-22T10:00:00Z", "qosClass": "BestEffort",
                    "containerStatuses": [{"name": "php-redis", "ready": true, "started": true, "restartCount": 0,
                        "image": "gcr.io/google-samples/gb-frontend:v5", "imageID": "", "containerID": "containerd://abc",
                        "state": {"running": {"startedAt": "2026-11-22T10:00:02Z"}}, "lastState": {}}]
                }),
            ),
            Healthy,
            "running and ready",
        ),
        case(
            "pending unschedulable",
            pod(
                "Always",
                json!({
                    "phase": "Pending", "qosClass": "BestEffort",
                    "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                        "lastTransitionTime": "2026-11-22T10:00:00Z", "reason": "Unschedulable",
                        "message": "0/1 nodes are available: 1 Insufficient cpu."}]
                }),
            ),
            Progressing,
            "pod is not scheduled: Unschedulable: 0/1 nodes are available",
        ),
        case(
            "crash loop",
            pod(
                "Always",
                json!({
                    "phase": "Running", "conditions": pod_conditions("False"),
                    "containerStatuses": [{"name": "php-redis", "ready": false, "started": false, "restartCount": 5,
                        "image": "gcr.io/google-samples/gb-frontend:v5", "imageID": "",
                        "state": {"waiting": {"reason": "CrashLoopBackOff",
                            "message": "back-off 2m40s restarting failed container=php-redis pod=frontend-7d9c6b8f5-x2x9k_guestbook(1234)"}},
                        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                            "startedAt": "2026-11-22T10:04:00Z", "finishedAt": "2026-11-22T10:04:01Z", "containerID": "containerd://def"}}}]
                }),
            ),
            Degraded,
            "container php-redis: CrashLoopBackOff: back-off 2m40s",
        ),
        case(
            "image pull back-off",
            pod(
                "Always",
                json!({
                    "phase": "Pending", "conditions": pod_conditions("False"),
                    "containerStatuses": [{"name": "php-redis", "ready": false, "started": false, "restartCount": 0,
                        "image": "gcr.io/google-samples/gb-frontend:v99", "imageID": "",
                        "state": {"waiting": {"reason": "ImagePullBackOff",
                            "message": "Back-off pulling image \"gcr.io/google-samples/gb-frontend:v99\""}}, "lastState": {}}]
                }),
            ),
            Degraded,
            "ImagePullBackOff",
        ),
        case(
            "err image pull in init container",
            pod(
                "Always",
                json!({
                    "phase": "Pending",
                    "initContainerStatuses": [{"name": "init", "ready": false, "restartCount": 0, "image": "busybox:nope",
                        "imageID": "", "state": {"waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}}}],
                    "containerStatuses": [{"name": "php-redis", "ready": false, "restartCount": 0, "image": "x",
                        "imageID": "", "state": {"waiting": {"reason": "PodInitializing"}}}]
                }),
            ),
            Degraded,
            "container init: ErrImagePull",
        ),
        case(
            "container creating",
            pod(
                "Always",
                json!({
                    "phase": "Pending", "conditions": pod_conditions("False"),
                    "containerStatuses": [{"name": "php-redis", "ready": false, "restartCount": 0, "image": "x",
                        "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}]
                }),
            ),
            Progressing,
            "pod is pending",
        ),
        case(
            "running, restarted with error, not ready",
            pod(
                "Always",
                json!({
                    "phase": "Running", "conditions": pod_conditions("False"),
                    "containerStatuses": [{"name": "php-redis", "ready": false, "started": true, "restartCount": 1,
                        "image": "x", "imageID": "", "state": {"running": {"startedAt": "2026-11-22T10:05:00Z"}},
                        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                            "startedAt": "2026-11-22T10:00:00Z", "finishedAt": "2026-11-22T10:04:59Z"}}}]
                }),
            ),
            Degraded,
            "container php-redis terminated with exit code 137 (OOMKilled)",
        ),
        case(
            "running, starting",
            pod(
                "Always",
                json!({
                    "phase": "Running", "conditions": pod_conditions("False"),
                    "containerStatuses": [{"name": "php-redis", "ready": false, "started": true, "restartCount": 0,
                        "image": "x", "imageID": "", "state": {"running": {"startedAt": "2026-11-22T10:05:00Z"}},
                        "lastState": {}}]
                }),
            ),
            Progressing,
            "0 of 1 containers ready",
        ),
        case(
            "succeeded",
            pod(
                "Never",
                json!({
                    "phase": "Succeeded",
                    "containerStatuses": [{"name": "php-redis", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                            "startedAt": "2026-11-22T10:00:00Z", "finishedAt": "2026-11-22T10:00:10Z"}}}]
                }),
            ),
            Healthy,
            "pod completed",
        ),
        case(
            "failed",
            pod(
                "Never",
                json!({
                    "phase": "Failed",
                    "containerStatuses": [{"name": "php-redis", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
                        "state": {"terminated": {"exitCode": 2, "reason": "Error",
                            "startedAt": "2026-11-22T10:00:00Z", "finishedAt": "2026-11-22T10:00:10Z"}}}]
                }),
            ),
            Degraded,
            "pod failed: container php-redis terminated with exit code 2 (Error)",
        ),
        case(
            "evicted",
            pod(
                "Always",
                json!({
                    "phase": "Failed", "reason": "Evicted",
                    "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."
                }),
            ),
            Degraded,
            "pod failed: Evicted: The node was low on resource: memory",
        ),
        case(
            "job pod running",
            pod(
                "OnFailure",
                json!({
                    "phase": "Running", "conditions": pod_conditions("True"),
                    "containerStatuses": [{"name": "php-redis", "ready": true, "restartCount": 0, "image": "x",
                        "imageID": "", "state": {"running": {"startedAt": "2026-11-22T10:05:00Z"}}}]
                }),
            ),
            Progressing,
            "pod is running",
        ),
        case(
            "unknown phase",
            pod("Always", json!({"phase": "Unknown"})),
            Unknown,
            "pod phase is Unknown",
        ),
    ]);
}

fn job(suspend: bool, status: Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "db-migrate", "namespace": "guestbook", "generation": 1},
        "spec": {"suspend": suspend, "backoffLimit": 6, "completions": 1, "parallelism": 1,
            "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "migrate", "image": "migrate:v1"}]}}},
        "status": status
    })
}

#[test]
fn jobs() {
    run(vec![
        case(
            "complete",
            job(
                false,
                json!({
                    "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:00:30Z",
                    "succeeded": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": "2026-11-22T10:00:30Z",
                         "lastTransitionTime": "2026-11-22T10:00:30Z", "reason": "CompletionsReached",
                         "message": "Reached expected number of succeeded pods"},
                        {"type": "Complete", "status": "True", "lastProbeTime": "2026-11-22T10:00:30Z",
                         "lastTransitionTime": "2026-11-22T10:00:30Z", "reason": "CompletionsReached",
                         "message": "Reached expected number of succeeded pods"}]
                }),
            ),
            Healthy,
            "job completed",
        ),
        case(
            "failed",
            job(
                false,
                json!({
                    "startTime": "2026-11-22T10:00:00Z", "failed": 7, "ready": 0, "terminating": 0,
                    "conditions": [
                        {"type": "FailureTarget", "status": "True", "lastProbeTime": "2026-11-22T10:03:00Z",
                         "lastTransitionTime": "2026-11-22T10:03:00Z", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit"},
                        {"type": "Failed", "status": "True", "lastProbeTime": "2026-11-22T10:03:00Z",
                         "lastTransitionTime": "2026-11-22T10:03:00Z", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit"}]
                }),
            ),
            Degraded,
            "job failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
        ),
        case(
            "running",
            job(
                false,
                json!({"startTime": "2026-11-22T10:00:00Z", "active": 1, "ready": 1, "terminating": 0}),
            ),
            Progressing,
            "1 active, 0 succeeded, 0 failed",
        ),
        case(
            "suspended",
            job(
                true,
                json!({"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended",
                "message": "Job suspended", "lastProbeTime": "2026-11-22T10:00:00Z",
                "lastTransitionTime": "2026-11-22T10:00:00Z"}]}),
            ),
            Suspended,
            "Job is suspended",
        ),
    ]);
}

fn cron_job(suspend: bool, status: Value) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "guestbook", "generation": 1},
        "spec": {"schedule": "0 2 * * *", "suspend": suspend, "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                "containers": [{"name": "backup", "image": "backup:v1"}]}}}}},
        "status": status
    })
}

#[test]
fn cron_jobs() {
    run(vec![
        case(
            "never run",
            cron_job(false, json!({})),
            Healthy,
            "not scheduled yet",
        ),
        case(
            "last run succeeded",
            cron_job(
                false,
                json!({"lastScheduleTime": "2026-11-22T02:00:00Z",
                "lastSuccessfulTime": "2026-11-22T02:00:41Z"}),
            ),
            Healthy,
            "last run succeeded",
        ),
        case(
            "last run failed",
            cron_job(
                false,
                json!({"lastScheduleTime": "2026-11-22T02:00:00Z",
                "lastSuccessfulTime": "2026-11-21T02:00:37Z"}),
            ),
            Degraded,
            "2026-11-22T02:00:00Z did not complete successfully",
        ),
        case(
            "running",
            cron_job(
                false,
                json!({"lastScheduleTime": "2026-11-22T02:00:00Z",
                "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": "nightly-29400000",
                    "namespace": "guestbook", "resourceVersion": "1234", "uid": "a-b-c"}]}),
            ),
            Healthy,
            "1 active job(s)",
        ),
        case(
            "suspended",
            cron_job(true, json!({})),
            Suspended,
            "CronJob is suspended",
        ),
    ]);
}

fn service(type_: &str, status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "frontend", "namespace": "guestbook"},
        "spec": {"type": type_, "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"],
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "guestbook", "tier": "frontend"}, "sessionAffinity": "None"},
        "status": status
    })
}

#[test]
fn services_and_ingresses() {
    let ingress = |status: Value| {
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "frontend", "namespace": "guestbook", "generation": 1},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "guestbook.example", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "frontend", "port": {"number": 80}}}}]}}]},
            "status": status
        })
    };
    run(vec![
        case(
            "cluster ip",
            service("ClusterIP", json!({"loadBalancer": {}})),
            Healthy,
            "",
        ),
        case(
            "load balancer pending",
            service("LoadBalancer", json!({"loadBalancer": {}})),
            Progressing,
            "waiting for a load balancer address",
        ),
        case(
            "load balancer with ip",
            service(
                "LoadBalancer",
                json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}),
            ),
            Healthy,
            "",
        ),
        case(
            "load balancer with hostname",
            service(
                "LoadBalancer",
                json!({"loadBalancer": {"ingress": [
                {"hostname": "a1b2c3-123.eu-west-1.elb.amazonaws.com"}]}}),
            ),
            Healthy,
            "",
        ),
        case(
            "ingress without address",
            ingress(json!({"loadBalancer": {}})),
            Progressing,
            "publish an address",
        ),
        case(
            "ingress with address",
            ingress(json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.20"}]}})),
            Healthy,
            "",
        ),
    ]);
}

#[test]
fn claims_crds_namespaces() {
    let pvc = |phase: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-redis-0", "namespace": "db"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "standard", "volumeMode": "Filesystem"},
            "status": {"phase": phase, "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}})
    };
    let crd = |conditions: Value| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "nginxconfigs.example.com", "generation": 1},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "NginxConfig", "plural": "nginxconfigs", "singular": "nginxconfig", "listKind": "NginxConfigList"},
                "versions": [{"name": "v1", "served": true, "storage": true}]},
            "status": {"acceptedNames": {"kind": "NginxConfig", "plural": "nginxconfigs"}, "storedVersions": ["v1"],
                "conditions": conditions}})
    };
    let ns = |phase: &str| {
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "guestbook-qa", "labels": {"kubernetes.io/metadata.name": "guestbook-qa"}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": phase}})
    };
    run(vec![
        case("pvc bound", pvc("Bound"), Healthy, "volume bound"),
        case("pvc pending", pvc("Pending"), Progressing, "waiting for a volume"),
        case("pvc lost", pvc("Lost"), Degraded, "lost"),
        case(
            "crd established",
            crd(json!([
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": "2026-11-22T10:00:00Z"}])),
            Healthy,
            "established",
        ),
        case(
            "crd names conflict",
            crd(json!([
                {"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
                 "message": "\"NginxConfigList\" is already in use", "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "Established", "status": "False", "reason": "NotAccepted",
                 "message": "not all names are accepted", "lastTransitionTime": "2026-11-22T10:00:00Z"}])),
            Degraded,
            "names not accepted: ListKindConflict",
        ),
        case(
            "crd just created",
            crd(json!([
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "Established", "status": "False", "reason": "Installing",
                 "message": "the initial names have been accepted", "lastTransitionTime": "2026-11-22T10:00:00Z"}])),
            Progressing,
            "established",
        ),
        case("namespace active", ns("Active"), Healthy, ""),
        case(
            "namespace terminating",
            ns("Terminating"),
            Progressing,
            "terminating",
        ),
    ]);
}

fn custom(generation: i64, status: Value) -> Value {
    json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "guestbook-tls", "namespace": "guestbook", "generation": generation},
        "spec": {"secretName": "guestbook-tls", "dnsNames": ["guestbook.example"],
            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
        "status": status})
}

#[test]
fn generic_conditions() {
    run(vec![
        case("no status", custom(1, json!({})), Healthy, ""),
        case(
            "ready",
            custom(
                1,
                json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                "message": "Certificate is up to date and has not expired", "observedGeneration": 1,
                "lastTransitionTime": "2026-11-22T10:00:00Z"}], "notAfter": "2027-02-20T10:00:00Z"}),
            ),
            Healthy,
            "up to date",
        ),
        case(
            "not ready",
            custom(
                1,
                json!({"conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist",
                "message": "Issuing certificate as Secret does not exist", "observedGeneration": 1,
                "lastTransitionTime": "2026-11-22T10:00:00Z"}]}),
            ),
            Degraded,
            "not ready: DoesNotExist: Issuing certificate as Secret does not exist",
        ),
        case(
            "ready unknown",
            custom(
                1,
                json!({"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing",
                "message": "reconciliation in progress", "lastTransitionTime": "2026-11-22T10:00:00Z"}]}),
            ),
            Progressing,
            "reconciliation in progress",
        ),
        case(
            "flux style reconciling",
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 2},
                "spec": {"url": "https://example.invalid/podinfo", "interval": "1m"},
                "status": {"observedGeneration": 2, "conditions": [
                    {"type": "Reconciling", "status": "True", "reason": "Progressing",
                     "message": "building artifact", "observedGeneration": 2, "lastTransitionTime": "2026-11-22T10:00:00Z"},
                    {"type": "Ready", "status": "False", "reason": "Progressing",
                     "message": "building artifact", "observedGeneration": 2, "lastTransitionTime": "2026-11-22T10:00:00Z"}]}}),
            Progressing,
            "reconciling: Progressing: building artifact",
        ),
        case(
            "flux style stalled",
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
                "status": {"observedGeneration": 1, "conditions": [
                    {"type": "Stalled", "status": "True", "reason": "BuildFailed",
                     "message": "kustomization path not found", "lastTransitionTime": "2026-11-22T10:00:00Z"},
                    {"type": "Ready", "status": "False", "reason": "BuildFailed",
                     "message": "kustomization path not found", "lastTransitionTime": "2026-11-22T10:00:00Z"}]}}),
            Degraded,
            "stalled: BuildFailed: kustomization path not found",
        ),
        case(
            "observed generation behind",
            custom(
                3,
                json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}),
            ),
            Progressing,
            "observe generation 3 (observed 2)",
        ),
        case(
            "api service unavailable",
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": "v1beta1.metrics.k8s.io"},
                "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "service": {"name": "metrics-server", "namespace": "kube-system"}},
                "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints",
                    "message": "endpoints for service/metrics-server in \"kube-system\" have no addresses",
                    "lastTransitionTime": "2026-11-22T10:00:00Z"}]}}),
            Degraded,
            "not available: MissingEndpoints",
        ),
        case(
            "config map exists",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "b"}}),
            Healthy,
            "",
        ),
        case(
            "being deleted",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n",
                "deletionTimestamp": "2026-11-22T10:00:00Z", "finalizers": ["example.com/keep"]}}),
            Progressing,
            "being deleted",
        ),
        case(
            "not an object",
            json!("Deployment"),
            Unknown,
            "not a Kubernetes object",
        ),
        case("no kind", json!({"metadata": {"name": "x"}}), Unknown, "no kind"),
    ]);
}

#[test]
fn aggregate_over_assessed_objects() {
    let frontend = deployment(
        1,
        3,
        false,
        json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1
        }),
    );
    let svc = service("ClusterIP", json!({}));
    let items = vec![
        crate::ResourceHealth::of(&svc),
        crate::ResourceHealth::of(&frontend),
    ];
    let h = crate::aggregate(&items);
    assert_eq!(h.status, Progressing);
    assert_eq!(h.message, "Deployment/frontend: 1 of 3 replicas available");
}

#[test]
fn argo_rollouts() {
    let rollout = |paused: bool, status: Value| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "myapp-rollout", "namespace": "guestbook-qa", "generation": 3},
            "spec": {"replicas": 5, "paused": paused, "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {"duration": "48h"}}, {"setWeight": 50}]}}},
            "status": status})
    };
    let run_ = |phase: &str, message: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
            "metadata": {"name": "myapp-rollout-7d9c6b8f5-3", "namespace": "guestbook-qa"},
            "status": {"phase": phase, "message": message}})
    };
    run(vec![
        case(
            "healthy",
            rollout(
                false,
                json!({"phase": "Healthy", "observedGeneration": "3", "replicas": 5,
                "availableReplicas": 5, "stableRS": "7d9c6b8f5", "currentPodHash": "7d9c6b8f5"}),
            ),
            Healthy,
            "",
        ),
        case(
            "paused at a step",
            rollout(
                false,
                json!({"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-22T10:00:00Z"}]}),
            ),
            Suspended,
            "CanaryPauseStep",
        ),
        case(
            "progressing",
            rollout(
                false,
                json!({"phase": "Progressing", "message": "more replicas need to be updated"}),
            ),
            Progressing,
            "more replicas need to be updated",
        ),
        case(
            "aborted",
            rollout(
                false,
                json!({"phase": "Degraded",
                "message": "RolloutAborted: Rollout aborted update to revision 2: Metric \"success-rate\" assessed Failed"}),
            ),
            Degraded,
            "RolloutAborted",
        ),
        case(
            "no phase yet",
            rollout(false, json!({})),
            Progressing,
            "report a phase",
        ),
        case(
            "paused before any status",
            rollout(true, json!({})),
            Suspended,
            "paused",
        ),
        case(
            "analysis successful",
            run_("Successful", ""),
            Healthy,
            "analysis successful",
        ),
        case(
            "analysis failed",
            run_("Failed", "Metric \"success-rate\" assessed Failed"),
            Degraded,
            "success-rate",
        ),
        case("analysis running", run_("Running", ""), Progressing, "running"),
        case(
            "analysis inconclusive",
            run_("Inconclusive", ""),
            Unknown,
            "inconclusive",
        ),
    ]);
    let experiment = |phase: &str, message: &str| {
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment",
            "metadata": {"name": "myapp-rollout-7d9c6b8f5-3-1", "namespace": "guestbook-qa"},
            "status": {"phase": phase, "message": message}})
    };
    run(vec![
        case(
            "experiment successful",
            experiment("Successful", ""),
            Healthy,
            "experiment successful",
        ),
        case(
            "experiment failed",
            experiment("Failed", "Metric \"latency\" assessed Failed"),
            Degraded,
            "latency",
        ),
        case(
            "experiment error",
            experiment("Error", "InvalidSpec"),
            Degraded,
            "experiment errored",
        ),
        case(
            "experiment pending",
            experiment("Pending", ""),
            Progressing,
            "experiment pending",
        ),
        case(
            "experiment running",
            experiment("Running", ""),
            Progressing,
            "running",
        ),
        case(
            "experiment inconclusive",
            experiment("Inconclusive", ""),
            Unknown,
            "inconclusive",
        ),
    ]);
}

#[test]
fn horizontal_pod_autoscalers() {
    let hpa = |conditions: Value| {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "frontend", "namespace": "guestbook"},
            "spec": {"minReplicas": 2, "maxReplicas": 10,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "frontend"},
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}]},
            "status": {"currentReplicas": 2, "desiredReplicas": 2, "conditions": conditions}})
    };
    run(vec![
        case(
            "scaling normally",
            hpa(json!([
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                 "message": "recommended size matches current size", "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                 "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization",
                 "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
                 "message": "the desired replica count is less than the minimum replica count",
                 "lastTransitionTime": "2026-11-22T10:00:00Z"}])),
            Healthy,
            "2 current, 2 desired replicas",
        ),
        case(
            "no metrics",
            hpa(json!([
                {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale",
                 "message": "the HPA controller was able to get the target's current scale",
                 "lastTransitionTime": "2026-11-22T10:00:00Z"},
                {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                 "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu",
                 "lastTransitionTime": "2026-11-22T10:00:00Z"}])),
            Degraded,
            "scaling inactive: FailedGetResourceMetric",
        ),
        case(
            "target missing",
            hpa(
                json!([{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
                "message": "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"frontend\" not found",
                "lastTransitionTime": "2026-11-22T10:00:00Z"}]),
            ),
            Degraded,
            "cannot scale: FailedGetScale",
        ),
        case("fresh", hpa(json!([])), Progressing, "first evaluation"),
    ]);
}
