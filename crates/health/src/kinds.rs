//! Per-kind health rules.

use serde_json::Value;

use crate::object::{Condition, array_at, at, bool_at, condition, generation_pending, group, i64_at, str_at};
use crate::{Health, HealthStatus};

pub(crate) fn assess(o: &Value) -> Health {
    if !o.is_object() {
        return Health::unknown("not a Kubernetes object (expected a JSON object)");
    }
    let Some(kind) = str_at(o, &["kind"]) else {
        return Health::unknown("object has no kind");
    };
    // kstatus: an object with a deletion timestamp is terminating, whatever its kind.
    if at(o, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null()) {
        return Health::progressing("being deleted");
    }
    match (group(o), kind) {
        ("apps" | "extensions", "Deployment") => deployment(o),
        ("apps", "StatefulSet") => stateful_set(o),
        ("apps" | "extensions", "DaemonSet") => daemon_set(o),
        ("apps" | "extensions", "ReplicaSet") => replica_set(o),
        ("", "Pod") => pod(o),
        ("batch", "Job") => job(o),
        ("batch", "CronJob") => cron_job(o),
        ("", "Service") => service(o),
        ("networking.k8s.io" | "extensions", "Ingress") => ingress(o),
        ("", "PersistentVolumeClaim") => persistent_volume_claim(o),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => custom_resource_definition(o),
        ("", "Namespace") => namespace(o),
        ("autoscaling", "HorizontalPodAutoscaler") => horizontal_pod_autoscaler(o),
        ("argoproj.io", "Rollout") => rollout(o),
        ("argoproj.io", "AnalysisRun") => run_phase(o, "analysis"),
        ("argoproj.io", "Experiment") => run_phase(o, "experiment"),
        _ => generic(o),
    }
}

fn generation_message(o: &Value) -> String {
    format!(
        "waiting for the controller to observe generation {} (observed {})",
        i64_at(o, &["metadata", "generation"]).unwrap_or(0),
        i64_at(o, &["status", "observedGeneration"]).unwrap_or(0)
    )
}

/// `spec.replicas`, which the API server defaults to 1.
fn spec_replicas(o: &Value) -> i64 {
    i64_at(o, &["spec", "replicas"]).unwrap_or(1)
}

fn count(o: &Value, field: &str) -> i64 {
    i64_at(o, &["status", field]).unwrap_or(0)
}

/// Deployment, following `kubectl rollout status` and Argo CD:
/// paused → Suspended; generation not yet observed → Progressing; `Progressing` condition with reason
/// `ProgressDeadlineExceeded`, or a `ReplicaFailure` condition → Degraded; fewer updated replicas than desired,
/// old replicas still terminating, or fewer available than updated → Progressing; else Healthy.
fn deployment(o: &Value) -> Health {
    if bool_at(o, &["spec", "paused"]) {
        return Health::suspended("Deployment is paused");
    }
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    if let Some(c) = condition(o, "Progressing")
        && c.reason == "ProgressDeadlineExceeded"
    {
        return Health::degraded(with_detail("progress deadline exceeded", &c));
    }
    if let Some(c) = condition(o, "ReplicaFailure")
        && c.is_true()
    {
        return Health::degraded(with_detail("replicas cannot be created", &c));
    }
    let desired = spec_replicas(o);
    let updated = count(o, "updatedReplicas");
    let total = count(o, "replicas");
    let available = count(o, "availableReplicas");
    if updated < desired {
        return Health::progressing(format!(
            "{updated} of {desired} replicas updated, {available} of {desired} replicas available"
        ));
    }
    if total > updated {
        let old = total - updated;
        return Health::progressing(format!(
            "{old} old {} pending termination",
            if old == 1 { "replica" } else { "replicas" }
        ));
    }
    if available < updated {
        return Health::progressing(format!("{available} of {desired} replicas available"));
    }
    Health::healthy(format!("{available} of {desired} replicas available"))
}

/// StatefulSet, following `kubectl rollout status`: generation not yet observed → Progressing; fewer ready
/// replicas than desired → Progressing; `OnDelete` strategy → Healthy once ready (pods change only when
/// deleted); with a `partition`, Healthy when the pods at or above the partition are updated; otherwise
/// Progressing until `currentRevision` equals `updateRevision`.
fn stateful_set(o: &Value) -> Health {
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    let desired = spec_replicas(o);
    let ready = count(o, "readyReplicas");
    if ready < desired {
        return Health::progressing(format!("{ready} of {desired} replicas ready"));
    }
    if str_at(o, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Health::healthy(format!(
            "{ready} of {desired} replicas ready (OnDelete update strategy: pods are updated when deleted)"
        ));
    }
    let updated = count(o, "updatedReplicas");
    let partition = i64_at(o, &["spec", "updateStrategy", "rollingUpdate", "partition"]).unwrap_or(0);
    if partition > 0 {
        let expected = (desired - partition).max(0);
        if updated < expected {
            return Health::progressing(format!(
                "partitioned roll out: {updated} of {expected} pods above partition {partition} updated"
            ));
        }
        return Health::healthy(format!(
            "partitioned roll out complete: {updated} of {desired} pods updated (partition {partition})"
        ));
    }
    let current_revision = str_at(o, &["status", "currentRevision"]);
    let update_revision = str_at(o, &["status", "updateRevision"]);
    if let (Some(current), Some(update)) = (current_revision, update_revision)
        && current != update
    {
        return Health::progressing(format!(
            "rolling update: {updated} of {desired} pods at revision {update}"
        ));
    }
    Health::healthy(format!("{ready} of {desired} replicas ready"))
}

/// DaemonSet, following `kubectl rollout status`: generation not yet observed → Progressing; `OnDelete` →
/// Healthy; fewer updated or available pods than desired → Progressing.
fn daemon_set(o: &Value) -> Health {
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    let desired = count(o, "desiredNumberScheduled");
    let available = count(o, "numberAvailable");
    if str_at(o, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Health::healthy(format!(
            "{available} of {desired} pods available (OnDelete update strategy: pods are updated when deleted)"
        ));
    }
    let updated = count(o, "updatedNumberScheduled");
    if updated < desired {
        return Health::progressing(format!("{updated} of {desired} pods updated"));
    }
    if available < desired {
        return Health::progressing(format!("{available} of {desired} pods available"));
    }
    Health::healthy(format!("{available} of {desired} pods available"))
}

/// ReplicaSet, as Argo CD: generation not yet observed → Progressing; `ReplicaFailure` → Degraded; fewer
/// available replicas than desired → Progressing.
fn replica_set(o: &Value) -> Health {
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    if let Some(c) = condition(o, "ReplicaFailure")
        && c.is_true()
    {
        return Health::degraded(with_detail("replicas cannot be created", &c));
    }
    let desired = spec_replicas(o);
    let available = count(o, "availableReplicas");
    if available < desired {
        return Health::progressing(format!("{available} of {desired} replicas available"));
    }
    Health::healthy(format!("{available} of {desired} replicas available"))
}

/// A container waiting for a reason that will not fix itself without a change (a crash loop, an image that
/// cannot be pulled, a bad configuration). Mirrors Argo CD's pod check.
fn is_failing_wait_reason(reason: &str) -> bool {
    reason.ends_with("BackOff")
        || reason.starts_with("Err")
        || reason.ends_with("Error")
        || reason == "InvalidImageName"
}

/// Pod: a container waiting for a failing reason (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
/// CreateContainerConfigError, ...) → Degraded; phase Pending → Progressing; Succeeded → Healthy; Failed →
/// Degraded; Running with restartPolicy Always → Healthy when the `Ready` condition is True, Degraded when a
/// not-ready container last terminated with an error, else Progressing; Running with restartPolicy
/// OnFailure/Never → Progressing (it runs to completion), Degraded if a container terminated with an error
/// under `Never`; any other phase → Unknown.
fn pod(o: &Value) -> Health {
    let statuses: Vec<&Value> = array_at(o, &["status", "initContainerStatuses"])
        .iter()
        .chain(array_at(o, &["status", "containerStatuses"]))
        .collect();
    for cs in &statuses {
        if let Some(reason) = str_at(cs, &["state", "waiting", "reason"])
            && is_failing_wait_reason(reason)
        {
            let name = str_at(cs, &["name"]).unwrap_or("?");
            let message = str_at(cs, &["state", "waiting", "message"]).unwrap_or("");
            return Health::degraded(if message.is_empty() {
                format!("container {name}: {reason}")
            } else {
                format!("container {name}: {reason}: {message}")
            });
        }
    }
    let restart_policy = str_at(o, &["spec", "restartPolicy"]).unwrap_or("Always");
    match str_at(o, &["status", "phase"]).unwrap_or("Pending") {
        "Pending" => {
            if let Some(c) = condition(o, "PodScheduled")
                && c.is_false()
            {
                return Health::progressing(with_detail("pod is not scheduled", &c));
            }
            Health::progressing("pod is pending")
        }
        "Succeeded" => Health::healthy("pod completed"),
        "Failed" => {
            let detail = [
                str_at(o, &["status", "reason"]),
                str_at(o, &["status", "message"]),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
            if !detail.is_empty() {
                return Health::degraded(format!("pod failed: {detail}"));
            }
            match terminated_with_error(&statuses, false) {
                Some(m) => Health::degraded(format!("pod failed: {m}")),
                None => Health::degraded("pod failed"),
            }
        }
        "Running" => {
            if restart_policy == "Always" {
                if condition(o, "Ready").is_some_and(|c| c.is_true()) {
                    return Health::healthy("pod is running and ready");
                }
                if let Some(m) = terminated_with_error(&statuses, true) {
                    return Health::degraded(m);
                }
                let ready = statuses.iter().filter(|cs| bool_at(cs, &["ready"])).count();
                Health::progressing(format!(
                    "{ready} of {} containers ready",
                    array_at(o, &["status", "containerStatuses"]).len()
                ))
            } else {
                if restart_policy == "Never"
                    && let Some(m) = terminated_with_error(&statuses, false)
                {
                    return Health::degraded(m);
                }
                Health::progressing("pod is running")
            }
        }
        other => Health::unknown(format!("pod phase is {other}")),
    }
}

/// The first container (not ready, when `not_ready_only`) whose current or last state is terminated with a
/// non-zero exit code.
fn terminated_with_error(statuses: &[&Value], not_ready_only: bool) -> Option<String> {
    for cs in statuses {
        if not_ready_only && bool_at(cs, &["ready"]) {
            continue;
        }
        for state in ["state", "lastState"] {
            let Some(t) = at(cs, &[state, "terminated"]) else {
                continue;
            };
            let code = i64_at(t, &["exitCode"]).unwrap_or(0);
            if code != 0 {
                let name = str_at(cs, &["name"]).unwrap_or("?");
                let reason = str_at(t, &["reason"]).unwrap_or("Error");
                let mut m = format!("container {name} terminated with exit code {code} ({reason})");
                if let Some(msg) = str_at(t, &["message"]).filter(|s| !s.is_empty()) {
                    m.push_str(": ");
                    m.push_str(msg.trim());
                }
                return Some(m);
            }
        }
    }
    None
}

/// Job: `Failed` (or the `FailureTarget` that precedes it) → Degraded; `Complete` (or `SuccessCriteriaMet`)
/// → Healthy; `spec.suspend` → Suspended; otherwise Progressing.
fn job(o: &Value) -> Health {
    for failed in ["Failed", "FailureTarget"] {
        if let Some(c) = condition(o, failed)
            && c.is_true()
        {
            return Health::degraded(with_detail("job failed", &c));
        }
    }
    for done in ["Complete", "SuccessCriteriaMet"] {
        if condition(o, done).is_some_and(|c| c.is_true()) {
            return Health::healthy("job completed");
        }
    }
    if bool_at(o, &["spec", "suspend"]) {
        return Health::suspended("Job is suspended");
    }
    Health::progressing(format!(
        "job running: {} active, {} succeeded, {} failed",
        count(o, "active"),
        count(o, "succeeded"),
        count(o, "failed")
    ))
}

/// CronJob: `spec.suspend` → Suspended; the last scheduled run finished without success (no active job and
/// `lastSuccessfulTime` older than `lastScheduleTime`) → Degraded, as Argo CD; otherwise Healthy.
fn cron_job(o: &Value) -> Health {
    if bool_at(o, &["spec", "suspend"]) {
        return Health::suspended("CronJob is suspended");
    }
    let active = array_at(o, &["status", "active"]).len();
    if active > 0 {
        return Health::healthy(format!("{active} active job(s)"));
    }
    // The API server writes RFC 3339 UTC timestamps (`2026-11-22T10:00:00Z`) that order lexically.
    match (
        str_at(o, &["status", "lastScheduleTime"]),
        str_at(o, &["status", "lastSuccessfulTime"]),
    ) {
        (None, _) => Health::healthy("not scheduled yet"),
        (Some(scheduled), Some(succeeded)) if succeeded >= scheduled => {
            Health::healthy(format!("last run succeeded at {succeeded}"))
        }
        (Some(scheduled), _) => Health::degraded(format!(
            "the job scheduled at {scheduled} did not complete successfully"
        )),
    }
}

fn has_load_balancer_address(o: &Value) -> bool {
    array_at(o, &["status", "loadBalancer", "ingress"])
        .iter()
        .any(|i| {
            i.get("ip").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
                || i.get("hostname")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty())
        })
}

/// Service: type LoadBalancer is Progressing until `status.loadBalancer.ingress` has an IP or hostname; any
/// other type is Healthy.
fn service(o: &Value) -> Health {
    if str_at(o, &["spec", "type"]) == Some("LoadBalancer") && !has_load_balancer_address(o) {
        return Health::progressing("waiting for a load balancer address");
    }
    Health::healthy("")
}

/// Ingress: Progressing until an ingress controller publishes an address in `status.loadBalancer.ingress`
/// (Argo CD's rule).
fn ingress(o: &Value) -> Health {
    if has_load_balancer_address(o) {
        Health::healthy("")
    } else {
        Health::progressing("waiting for the ingress controller to publish an address")
    }
}

/// PersistentVolumeClaim: Bound → Healthy, Pending → Progressing, Lost → Degraded.
fn persistent_volume_claim(o: &Value) -> Health {
    match str_at(o, &["status", "phase"]) {
        Some("Bound") => Health::healthy("volume bound"),
        Some("Lost") => Health::degraded("the bound volume was lost"),
        Some("Pending") | None => Health::progressing("waiting for a volume to be bound"),
        Some(other) => Health::unknown(format!("claim phase is {other}")),
    }
}

/// CustomResourceDefinition: `NamesAccepted` False → Degraded (a name conflicts with another CRD);
/// `Established` True → Healthy; otherwise Progressing.
fn custom_resource_definition(o: &Value) -> Health {
    if let Some(c) = condition(o, "NamesAccepted")
        && c.is_false()
    {
        return Health::degraded(with_detail("names not accepted", &c));
    }
    if condition(o, "Established").is_some_and(|c| c.is_true()) {
        return Health::healthy("established");
    }
    Health::progressing("waiting for the CRD to be established")
}

/// Namespace: Terminating → Progressing; Active (or no phase yet) → Healthy.
fn namespace(o: &Value) -> Health {
    match str_at(o, &["status", "phase"]) {
        Some("Terminating") => Health::progressing("namespace is terminating"),
        _ => Health::healthy(""),
    }
}

/// HorizontalPodAutoscaler (as Argo CD): `AbleToScale` False, or `ScalingActive` False for a `Failed*` reason
/// (metrics unavailable, scale target missing) → Degraded; no conditions yet → Progressing; otherwise Healthy
/// (`ScalingLimited` is normal operation).
fn horizontal_pod_autoscaler(o: &Value) -> Health {
    if let Some(c) = condition(o, "AbleToScale")
        && c.is_false()
    {
        return Health::degraded(with_detail("cannot scale", &c));
    }
    if let Some(c) = condition(o, "ScalingActive")
        && c.is_false()
        && c.reason.starts_with("Failed")
    {
        return Health::degraded(with_detail("scaling inactive", &c));
    }
    if array_at(o, &["status", "conditions"]).is_empty() {
        return Health::progressing("waiting for the autoscaler's first evaluation");
    }
    Health::healthy(format!(
        "{} current, {} desired replicas",
        count(o, "currentReplicas"),
        count(o, "desiredReplicas")
    ))
}

/// Argo Rollouts `Rollout`: its controller writes `status.phase` (Healthy, Progressing, Paused, Degraded) and
/// `status.message`, as Argo CD reads it. Paused (`spec.paused` or phase Paused) → Suspended. Before the
/// controller reports a phase, Progressing.
fn rollout(o: &Value) -> Health {
    let message = str_at(o, &["status", "message"]).unwrap_or("").to_string();
    let or = |m: String, default: &str| if m.is_empty() { default.to_string() } else { m };
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    match str_at(o, &["status", "phase"]) {
        Some("Healthy") => Health::healthy(message),
        Some("Degraded") => Health::degraded(or(message, "rollout is degraded")),
        Some("Paused") => Health::suspended(or(message, "rollout is paused")),
        Some("Progressing") => Health::progressing(or(message, "rollout in progress")),
        _ if bool_at(o, &["spec", "paused"]) => Health::suspended("rollout is paused"),
        Some(other) => Health::unknown(format!("rollout phase is {other}")),
        None => Health::progressing("waiting for the rollout controller to report a phase"),
    }
}

/// Argo Rollouts `AnalysisRun` and `Experiment` (`noun` names which in messages): Successful → Healthy;
/// Failed or Error → Degraded; Pending or Running → Progressing; Inconclusive → Unknown (a person has to
/// decide), as Argo CD.
fn run_phase(o: &Value, noun: &str) -> Health {
    let message = str_at(o, &["status", "message"]).unwrap_or("").to_string();
    let with = |default: &str| {
        if message.is_empty() {
            default.to_string()
        } else {
            format!("{default}: {message}")
        }
    };
    match str_at(o, &["status", "phase"]) {
        Some("Successful") => Health::healthy(with(&format!("{noun} successful"))),
        Some("Failed") => Health::degraded(with(&format!("{noun} failed"))),
        Some("Error") => Health::degraded(with(&format!("{noun} errored"))),
        Some("Inconclusive") => Health::unknown(with(&format!("{noun} inconclusive"))),
        Some("Running") => Health::progressing(with(&format!("{noun} running"))),
        _ => Health::progressing(with(&format!("{noun} pending"))),
    }
}

/// Any other kind, by the kstatus conventions: generation not yet observed → Progressing; `Stalled` True →
/// Degraded; `Reconciling` True → Progressing; `Ready` or `Available` False → Degraded (Progressing while
/// `Reconciling`); Unknown → Progressing; True → Healthy. Without any of these, Healthy by existence.
pub(crate) fn generic(o: &Value) -> Health {
    if generation_pending(o) {
        return Health::progressing(generation_message(o));
    }
    if let Some(c) = condition(o, "Stalled")
        && c.is_true()
    {
        return Health::degraded(with_detail("stalled", &c));
    }
    if let Some(c) = condition(o, "Reconciling")
        && c.is_true()
    {
        return Health::progressing(with_detail("reconciling", &c));
    }
    for type_ in ["Ready", "Available"] {
        if let Some(c) = condition(o, type_) {
            let what = if type_ == "Ready" {
                "not ready"
            } else {
                "not available"
            };
            return match c.status {
                "True" => Health::healthy(c.message),
                "False" => Health::degraded(with_detail(what, &c)),
                _ => Health::progressing(with_detail(what, &c)),
            };
        }
    }
    Health::new(HealthStatus::Healthy, "")
}

fn with_detail(prefix: &str, c: &Condition<'_>) -> String {
    let detail = c.describe();
    if detail.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}: {detail}")
    }
}

#[cfg(test)]
#[path = "kinds_tests.rs"]
mod tests;
