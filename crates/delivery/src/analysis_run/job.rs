//! The Job provider: a measurement creates a Kubernetes Job from the metric's `job {metadata, spec}`, owned by the
//! AnalysisRun, and stays `Running` until the Job ends: `Successful` when it completes, `Failed` when it fails.
//! The controller watches the Jobs it created, so a measurement is resumed as soon as its Job changes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};
use tack_analysis::measure::Phase;
use tack_analysis::spec::{JobMetric, Measurement};

/// Label on the Jobs: the AnalysisRun's name (Argo's).
pub const RUN_LABEL: &str = "analysisrun.argoproj.io/name";
/// Label on the Jobs: the metric's name (Argo's).
pub const METRIC_LABEL: &str = "analysisrun.argoproj.io/metric-name";
/// Measurement metadata key holding the Job's name (Argo's).
pub const JOB_NAME_KEY: &str = "job-name";
/// Measurement metadata key holding the Job's namespace (Argo's).
pub const JOB_NAMESPACE_KEY: &str = "job-namespace";

/// The AnalysisRun a Job belongs to.
pub struct Owner<'a> {
    /// Run name.
    pub name: &'a str,
    /// Run namespace.
    pub namespace: &'a str,
    /// Run UID.
    pub uid: &'a str,
}

/// The Job's name for measurement number `n` (1-based) of `metric`: `<run uid>.<metric>.<n>` as in Argo, or with
/// the metric replaced by a short hash when that would exceed the 63 characters a Job name may have.
pub fn job_name(run_uid: &str, metric: &str, n: i64) -> String {
    let name = format!("{run_uid}.{}.{n}", metric.to_ascii_lowercase());
    let valid = |s: &str| {
        s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !s.starts_with(['-', '.'])
    };
    if valid(&name) {
        return name;
    }
    // FNV-1a: stable across versions and platforms.
    let mut h: u32 = 0x811c_9dc5;
    for b in metric.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{run_uid}.m{h:08x}.{n}")
}

/// The Job object for a measurement: the metric's `metadata.labels/annotations` and `spec`, the run's labels,
/// and an owner reference to the run (deleted with it).
pub fn job_object(owner: &Owner<'_>, metric: &str, job: &JobMetric, name: &str) -> Value {
    let mut labels = job
        .metadata
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(RUN_LABEL.into(), json!(owner.name));
    labels.insert(METRIC_LABEL.into(), json!(metric));
    let mut meta = json!({
        "name": name,
        "namespace": owner.namespace,
        "labels": labels,
        "ownerReferences": [{
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "name": owner.name,
            "uid": owner.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }],
    });
    if let Some(a) = job.metadata.get("annotations").filter(|a| a.is_object()) {
        meta["annotations"] = a.clone();
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job.spec})
}

/// The outcome of a Job from its conditions: `Successful` (Complete), `Failed` (Failed, with the condition's
/// message), or `None` while it runs.
pub fn job_outcome(job: &Job) -> Option<(Phase, Option<String>)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    for c in conditions {
        if c.status != "True" {
            continue;
        }
        match c.type_.as_str() {
            "Complete" => return Some((Phase::Successful, None)),
            "Failed" => {
                let why = [c.reason.as_deref(), c.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                return Some((
                    Phase::Failed,
                    Some(if why.is_empty() {
                        "job failed".into()
                    } else {
                        format!("job failed: {why}")
                    }),
                ));
            }
            _ => {}
        }
    }
    None
}

fn ended(mut m: Measurement, phase: Phase, message: Option<String>, now: Timestamp) -> Measurement {
    m.phase = phase.as_str().into();
    m.message = message;
    m.finished_at = Some(now);
    m.resume_at = None;
    m
}

/// Starts a measurement: creates the Job (an existing one of the same name, left by a restart between creating
/// it and recording the measurement, is adopted).
pub async fn start(
    client: &kube::Client,
    owner: &Owner<'_>,
    metric: &str,
    job: &JobMetric,
    n: i64,
    now: Timestamp,
) -> Measurement {
    let name = job_name(owner.uid, metric, n);
    let mut m = Measurement {
        phase: Phase::Running.as_str().into(),
        started_at: Some(now),
        metadata: BTreeMap::from([
            (JOB_NAME_KEY.to_string(), name.clone()),
            (JOB_NAMESPACE_KEY.to_string(), owner.namespace.to_string()),
        ]),
        ..Measurement::default()
    };
    let obj: Job = match serde_json::from_value(job_object(owner, metric, job, &name)) {
        Ok(j) => j,
        Err(e) => {
            return ended(
                m,
                Phase::Error,
                Some(format!("metric {metric:?}: job spec is not a valid Job: {e}")),
                now,
            );
        }
    };
    let api: Api<Job> = Api::namespaced(client.clone(), owner.namespace);
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => m,
        Err(kube::Error::Api(s)) if s.code == 409 => m,
        Err(e) => {
            m.metadata.clear();
            ended(m, Phase::Error, Some(format!("creating Job {name}: {e}")), now)
        }
    }
}

/// Looks at the Job of an unfinished measurement: ends it when the Job did, else returns it unchanged.
pub async fn resume(client: &kube::Client, m: Measurement, now: Timestamp) -> Measurement {
    let (Some(name), Some(ns)) = (
        m.metadata.get(JOB_NAME_KEY).cloned(),
        m.metadata.get(JOB_NAMESPACE_KEY).cloned(),
    ) else {
        return ended(
            m,
            Phase::Error,
            Some("unfinished job measurement without job-name metadata".into()),
            now,
        );
    };
    let api: Api<Job> = Api::namespaced(client.clone(), &ns);
    match api.get_opt(&name).await {
        Ok(Some(job)) => match job_outcome(&job) {
            Some((phase, message)) => ended(m, phase, message, now),
            None => m,
        },
        Ok(None) => ended(
            m,
            Phase::Error,
            Some(format!("Job {ns}/{name} no longer exists")),
            now,
        ),
        // A transient read error: look again later.
        Err(_) => m,
    }
}

/// Stops the Job of an unfinished measurement of a terminating run: the Job is deleted and the measurement
/// ends Successful with `Metric Terminated`, as in Argo.
pub async fn terminate(client: &kube::Client, m: Measurement, now: Timestamp) -> Measurement {
    if let (Some(name), Some(ns)) = (m.metadata.get(JOB_NAME_KEY), m.metadata.get(JOB_NAMESPACE_KEY)) {
        let api: Api<Job> = Api::namespaced(client.clone(), ns);
        if let Err(e) = crate::unless_gone(api.delete(name, &DeleteParams::background()).await) {
            tracing::warn!(job = %name, namespace = %ns, "deleting the Job of a terminated run: {e}")
        }
    }
    ended(m, Phase::Successful, Some("Metric Terminated".into()), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_63_characters() {
        let uid = "0f3b9c1e-6a8d-4c1f-9b2e-7d5a4e3c2b1a";
        assert_eq!(job_name(uid, "smoke", 1), format!("{uid}.smoke.1"));
        let long = job_name(uid, "a-very-long-metric-name-for-a-job", 12);
        assert!(long.len() <= 63, "{long}");
        assert_eq!(long, job_name(uid, "a-very-long-metric-name-for-a-job", 12));
        assert_ne!(long, job_name(uid, "a-very-long-metric-name-for-a-jo2", 12));
        assert!(job_name(uid, "Under_Score", 1).contains(".m"));
    }

    #[test]
    fn job_objects_are_owned_and_labelled() {
        let job: JobMetric = serde_json::from_value(json!({
            "metadata": {"labels": {"app": "smoke"}, "annotations": {"a": "b"}},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "t", "image": "busybox"}]}}}
        }))
        .expect("job");
        let owner = Owner {
            name: "run",
            namespace: "ns",
            uid: "u",
        };
        let o = job_object(&owner, "smoke", &job, "u.smoke.1");
        assert_eq!(o["metadata"]["labels"]["app"], "smoke");
        assert_eq!(o["metadata"]["labels"][RUN_LABEL], "run");
        assert_eq!(o["metadata"]["labels"][METRIC_LABEL], "smoke");
        assert_eq!(o["metadata"]["annotations"]["a"], "b");
        assert_eq!(o["metadata"]["ownerReferences"][0]["uid"], "u");
        assert_eq!(o["spec"]["backoffLimit"], 0);
        assert!(serde_json::from_value::<Job>(o).is_ok());
    }

    #[test]
    fn outcomes_follow_conditions() {
        let job = |conds: Value| -> Job {
            serde_json::from_value(json!({"status": {"conditions": conds}})).expect("job")
        };
        assert_eq!(job_outcome(&job(json!([]))), None);
        assert_eq!(
            job_outcome(&job(json!([{"type": "Complete", "status": "True"}]))),
            Some((Phase::Successful, None))
        );
        assert_eq!(
            job_outcome(&job(
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit"}])
            )),
            Some((
                Phase::Failed,
                Some("job failed: BackoffLimitExceeded: Job has reached the specified backoff limit".into())
            ))
        );
        assert_eq!(
            job_outcome(&job(json!([{"type": "Failed", "status": "False"}]))),
            None
        );
    }
}
