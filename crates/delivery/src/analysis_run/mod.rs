//! The AnalysisRun controller (`argoproj.io/v1alpha1`, Argo Rollouts compatible): takes each metric's
//! measurements at its `interval` (after `initialDelay`, up to `count`) through the Prometheus, web and Job
//! providers, assesses them with the metric's conditions and limits ([`tack_analysis::run::advance`]), and writes
//! `status` with Argo's field names. The Rollout controller creates the runs and reads `status.phase` and
//! `status.message`.
//!
//! Scheduling: each reconcile asks to be requeued exactly when the next metric is due (the last measurement's
//! `finishedAt` plus the interval), so a restarted controller neither measures twice nor waits a full interval.
//! Before measuring, the run is read again from the API server and the status is written with its
//! `resourceVersion`: a measurement recorded by another reconcile (or another replica) is never repeated.

mod job;
pub mod providers;
mod secrets;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use providers::{measure_now, now_millis};
use serde_json::{Value, json};
use tack_analysis::args::resolve_metric;
use tack_analysis::measure::Phase;
use tack_analysis::run::{RunStep, advance, expires_at, is_terminating};
use tack_analysis::spec::{AnalysisRun, AnalysisRunStatus, Measurement, Metric, MetricResult};

pub use job::{METRIC_LABEL, RUN_LABEL};
pub use secrets::REDACTED;
pub use tack_analysis::run::build_run_spec;

/// Field manager of the status writes.
pub use tack_cluster::FIELD_MANAGER;
/// How often a run waiting for a Job is looked at even without a Job event.
pub const JOB_POLL: Duration = Duration::from_secs(10);
/// Wait before looking again after a status write lost to a concurrent one.
pub const CONFLICT_RETRY: Duration = Duration::from_millis(300);
/// Runs reconciled at once (measurements of one run are taken concurrently too).
pub const CONCURRENCY: u16 = 64;

/// Why a reconcile failed (retried with a short delay).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// An argument could not be resolved (never contains a secret value).
    #[error("{0}")]
    Args(String),
    /// The object could not be (de)serialised.
    #[error("AnalysisRun {name}: {reason}")]
    Invalid {
        /// Run name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// `argoproj.io/v1alpha1` `AnalysisRun`.
pub fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AnalysisRun"),
        "analysisruns",
    )
}

struct Context {
    client: kube::Client,
    http: providers::Clients,
    recorder: Recorder,
}

/// Runs the AnalysisRun controller (all namespaces, or only `namespace`) until `shutdown` completes;
/// reconciles in flight are finished first.
pub async fn run(
    client: kube::Client,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // reqwest is built without a default TLS provider; `Clients::new` installs ring, which the Kubernetes
    // client uses too.
    let http = match providers::Clients::new() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("AnalysisRun controller not started: building the HTTP client: {e}");
            return;
        }
    };
    let ar = resource();
    let (runs, jobs): (Api<DynamicObject>, Api<k8s_openapi::api::batch::v1::Job>) = match &namespace {
        Some(ns) => (
            Api::namespaced_with(client.clone(), ns, &ar),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all_with(client.clone(), &ar), Api::all(client.clone())),
    };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "tack-analysis".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let ctx = Arc::new(Context {
        client,
        http,
        recorder,
    });
    tracing::info!(
        namespace = namespace.as_deref().unwrap_or("(all)"),
        "AnalysisRun controller started"
    );
    Controller::new_with(runs, watcher::Config::default(), ar)
        .owns_with(jobs, (), watcher::Config::default().labels(RUN_LABEL))
        .with_config(kube::runtime::controller::Config::default().concurrency(CONCURRENCY))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::trace!(analysisrun = %obj, "reconciled"),
                Err(e) => tracing::debug!("AnalysisRun reconcile failed: {e}"),
            }
        })
        .await;
    tracing::info!("AnalysisRun controller stopped");
}

fn error_policy(_obj: Arc<DynamicObject>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!("AnalysisRun: {err}");
    Action::requeue(Duration::from_secs(5))
}

fn parse(obj: &DynamicObject) -> Result<AnalysisRun, String> {
    let v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    serde_json::from_value(v).map_err(|e| format!("not a valid AnalysisRun: {e}"))
}

/// When to look at the run again after `step`, counted from `now`.
pub fn requeue_after(step: &RunStep, now: Timestamp) -> Option<Duration> {
    let until = step.next_at.map(|at| {
        let d = now.duration_until(at);
        Duration::try_from(d).unwrap_or(Duration::ZERO)
    });
    match (until, step.waiting) {
        (Some(d), true) => Some(d.min(JOB_POLL)),
        (None, true) => Some(JOB_POLL),
        (d, false) => d,
    }
}

fn action(step: &RunStep, now: Timestamp) -> Action {
    match requeue_after(step, now) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    }
}

/// One pass over an AnalysisRun: advance it from its cached copy; when measurements are due, take them on a
/// fresh copy and record them.
async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let Some(ns) = obj.metadata.namespace.clone() else {
        return Ok(Action::await_change());
    };
    if obj.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &resource());
    let run = match parse(&obj) {
        Ok(r) => r,
        Err(reason) => return refuse(&ctx, &api, &obj, format!("Analysis spec invalid: {reason}")).await,
    };
    let original = run.status.clone().unwrap_or_default();
    if is_completed(&original) {
        return expire(&api, &name, &run).await;
    }
    let now = now_millis();
    let mut status = original.clone();
    let step = match advance(&run.spec, &mut status, Vec::new(), now) {
        Ok(s) => s,
        Err(e) => return refuse(&ctx, &api, &obj, format!("Analysis spec invalid: {e}")).await,
    };
    if !step.due.is_empty() {
        return measure_due(&ctx, &api, &name, &ns).await;
    }
    if status != original {
        match write_status(&api, &name, obj.metadata.resource_version.as_deref(), &status).await {
            Ok(()) => {}
            // The cached copy is behind: look again once the watch has caught up.
            Err(e) if is_conflict(&e) => return Ok(Action::requeue(CONFLICT_RETRY)),
            Err(e) => return Err(e),
        }
    }
    Ok(action(&step, now))
}

/// Whether the run has reached a final phase.
fn is_completed(status: &AnalysisRunStatus) -> bool {
    status
        .phase
        .as_deref()
        .and_then(Phase::parse)
        .is_some_and(Phase::completed)
}

/// Marks the run as an Error with `message` (an invalid spec, arguments that cannot be resolved) and waits for
/// it to change.
async fn refuse(
    ctx: &Context,
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    message: String,
) -> Result<Action, Error> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    write_error(ctx, api, obj, &name, message).await?;
    Ok(Action::await_change())
}

/// Takes the measurements that are due. The run is read again first so that a measurement recorded since the
/// cache was filled is not repeated.
async fn measure_due(ctx: &Context, api: &Api<DynamicObject>, name: &str, ns: &str) -> Result<Action, Error> {
    let fresh = api.get_opt(name).await.map_err(|source| Error::Kube {
        what: format!("reading AnalysisRun {ns}/{name}"),
        source,
    })?;
    let Some(fresh) = fresh else {
        return Ok(Action::await_change());
    };
    let run = parse(&fresh).map_err(|reason| Error::Invalid {
        name: name.to_string(),
        reason,
    })?;
    let status = run.status.clone().unwrap_or_default();
    if is_completed(&status) {
        return Ok(Action::await_change());
    }
    let now = now_millis();
    let mut probe = status.clone();
    let step = match advance(&run.spec, &mut probe, Vec::new(), now) {
        Ok(s) => s,
        Err(e) => return refuse(ctx, api, &fresh, format!("Analysis spec invalid: {e}")).await,
    };
    if step.due.is_empty() {
        return Ok(action(&step, now));
    }
    let resolved = match secrets::resolve(&ctx.client, ns, &run.spec.args).await {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                ctx,
                api,
                &fresh,
                format!("Unable to resolve metric arguments: {e}"),
            )
            .await;
        }
    };
    let owner = job::Owner {
        name,
        namespace: ns,
        uid: fresh.metadata.uid.as_deref().unwrap_or_default(),
    };
    let terminating = is_terminating(&run.spec, &probe);
    let tasks = step.due.iter().filter_map(|metric_name| {
        let metric = run.spec.metrics.iter().find(|m| &m.name == metric_name)?;
        let result = probe.metric_results.iter().find(|r| &r.name == metric_name);
        Some(measure_metric(
            ctx,
            &owner,
            metric,
            result,
            &resolved,
            terminating,
        ))
    });
    let measurements: Vec<(String, Measurement)> = futures::future::join_all(tasks).await;
    log_measurements(name, ns, &measurements);
    record(ctx, api, &fresh, &run, &probe, measurements).await
}

/// Logs each measurement: successes and running ones at debug level, the others (failed, inconclusive, error)
/// with their message.
fn log_measurements(name: &str, ns: &str, measurements: &[(String, Measurement)]) {
    for (metric, m) in measurements {
        if m.phase == Phase::Successful.as_str() || m.phase == Phase::Running.as_str() {
            tracing::debug!(
                analysisrun = %name, namespace = %ns, metric = %metric, phase = %m.phase,
                value = m.value.as_deref().unwrap_or(""), "measurement"
            );
            continue;
        }
        tracing::info!(
            analysisrun = %name, namespace = %ns, metric = %metric, phase = %m.phase,
            "measurement {}", m.message.as_deref().unwrap_or("taken")
        );
    }
}

/// Advances the run with the measurements just taken, writes its status when it changed and publishes the
/// Events of what completed (`probe` is the status advanced without them, for comparison).
async fn record(
    ctx: &Context,
    api: &Api<DynamicObject>,
    fresh: &DynamicObject,
    run: &AnalysisRun,
    probe: &AnalysisRunStatus,
    measurements: Vec<(String, Measurement)>,
) -> Result<Action, Error> {
    let name = fresh.metadata.name.clone().unwrap_or_default();
    let mut status = run.status.clone().unwrap_or_default();
    let now = now_millis();
    let step = match advance(&run.spec, &mut status, measurements, now) {
        Ok(s) => s,
        Err(e) => return refuse(ctx, api, fresh, format!("Analysis spec invalid: {e}")).await,
    };
    // A running Job looked at and still running changes nothing: no write (and no watch event to wake us).
    if Some(&status) != run.status.as_ref() {
        match write_status(api, &name, fresh.metadata.resource_version.as_deref(), &status).await {
            Ok(()) => {}
            // Someone else wrote the run meanwhile: start over from what they wrote.
            Err(e) if is_conflict(&e) => return Ok(Action::requeue(CONFLICT_RETRY)),
            Err(e) => return Err(e),
        }
    }
    for (reason, type_, note) in transitions(probe, &status) {
        publish(ctx, fresh, type_, &reason, note).await;
    }
    if step.phase.completed() {
        tracing::info!(
            analysisrun = %name, namespace = fresh.metadata.namespace.as_deref().unwrap_or_default(), phase = step.phase.as_str(),
            "analysis completed: {}", status.message.as_deref().unwrap_or("")
        );
    }
    Ok(action(&step, now))
}

/// Events for what changed between two statuses, as Argo names them: `Metric<Phase>` when a metric completes
/// (`Metric 'NAME' Completed. Result: PHASE`), `AnalysisRun<Phase>` when the run does (with its message).
/// Failed and Error are warnings.
fn transitions(before: &AnalysisRunStatus, after: &AnalysisRunStatus) -> Vec<(String, EventType, String)> {
    let kind = |p: Phase| match p {
        Phase::Failed | Phase::Error => EventType::Warning,
        _ => EventType::Normal,
    };
    let mut out = Vec::new();
    for r in &after.metric_results {
        let Some(p) = Phase::parse(&r.phase).filter(|p| p.completed()) else {
            continue;
        };
        let was = before
            .metric_results
            .iter()
            .find(|b| b.name == r.name)
            .map(|b| b.phase.as_str());
        if was != Some(r.phase.as_str()) {
            out.push((
                format!("Metric{}", p.as_str()),
                kind(p),
                format!("Metric '{}' Completed. Result: {}", r.name, p.as_str()),
            ));
        }
    }
    if let Some(p) = after
        .phase
        .as_deref()
        .and_then(Phase::parse)
        .filter(|p| p.completed())
        && before.phase != after.phase
    {
        let mut note = format!("Analysis Completed. Result: {}", p.as_str());
        if let Some(m) = after.message.as_deref().filter(|m| !m.is_empty()) {
            note.push_str(&format!(": {m}"));
        }
        out.push((format!("AnalysisRun{}", p.as_str()), kind(p), note));
    }
    out
}

async fn publish(ctx: &Context, obj: &DynamicObject, type_: EventType, reason: &str, note: String) {
    let ev = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1000).collect()),
        action: "Analyze".to_string(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &obj.object_ref(&resource())).await {
        tracing::debug!("cannot publish event {reason}: {e}");
    }
}

/// A completed run: deleted once its `ttlStrategy` expires, else left alone.
async fn expire(api: &Api<DynamicObject>, name: &str, run: &AnalysisRun) -> Result<Action, Error> {
    let Some(at) = run.status.as_ref().and_then(|st| expires_at(&run.spec, st)) else {
        return Ok(Action::await_change());
    };
    let now = now_millis();
    if at > now {
        let wait = Duration::try_from(now.duration_until(at)).unwrap_or(Duration::ZERO);
        return Ok(Action::requeue(wait));
    }
    tracing::info!(analysisrun = %name, "deleting the run: its ttlStrategy expired");
    match api.delete(name, &kube::api::DeleteParams::background()).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::await_change()),
        Err(source) => Err(Error::Kube {
            what: format!("deleting AnalysisRun {name} after its ttlStrategy"),
            source,
        }),
    }
}

/// Takes (or resumes, or stops) one measurement of `metric`.
async fn measure_metric(
    ctx: &Context,
    owner: &job::Owner<'_>,
    metric: &Metric,
    result: Option<&MetricResult>,
    resolved: &secrets::ResolvedArgs,
    terminating: bool,
) -> (String, Measurement) {
    let name = metric.name.clone();
    let unfinished = result
        .and_then(|r| r.measurements.last())
        .filter(|m| m.finished_at.is_none())
        .cloned();
    let mut m = match unfinished {
        Some(m) if terminating => job::terminate(&ctx.client, m, now_millis()).await,
        Some(m) => job::resume(&ctx.client, m, now_millis()).await,
        None => match resolve_metric(metric, &resolved.args) {
            Err(e) => {
                let now = now_millis();
                Measurement {
                    phase: Phase::Error.as_str().into(),
                    message: Some(e.to_string()),
                    started_at: Some(now),
                    finished_at: Some(now),
                    ..Measurement::default()
                }
            }
            Ok(resolved_metric) => {
                if let Some(j) = &resolved_metric.provider.job {
                    let n = result.map_or(0, |r| i64::from(r.count) + i64::from(r.error)) + 1;
                    job::start(&ctx.client, owner, &name, j, n, now_millis()).await
                } else if resolved_metric.provider.prometheus.is_some()
                    || resolved_metric.provider.web.is_some()
                {
                    measure_now(ctx.http.for_metric(&resolved_metric), &resolved_metric).await
                } else {
                    let now = now_millis();
                    Measurement {
                        phase: Phase::Error.as_str().into(),
                        message: Some(format!(
                            "metric {name:?}: provider {} is not supported (use prometheus, web or job)",
                            provider_name(metric)
                        )),
                        started_at: Some(now),
                        finished_at: Some(now),
                        ..Measurement::default()
                    }
                }
            }
        },
    };
    secrets::redact_measurement(&mut m, &resolved.secrets);
    (name, m)
}

fn provider_name(metric: &Metric) -> &'static str {
    let p = &metric.provider;
    [
        (p.datadog.is_some(), "datadog"),
        (p.new_relic.is_some(), "newRelic"),
        (p.wavefront.is_some(), "wavefront"),
        (p.kayenta.is_some(), "kayenta"),
        (p.cloud_watch.is_some(), "cloudWatch"),
        (p.graphite.is_some(), "graphite"),
        (p.influxdb.is_some(), "influxdb"),
        (p.skywalking.is_some(), "skywalking"),
        (p.plugin.is_some(), "plugin"),
    ]
    .into_iter()
    .find_map(|(set, n)| set.then_some(n))
    .unwrap_or("(none)")
}

/// The status as a merge patch: `message` is always present (null clears an old one).
fn status_patch(
    status: &AnalysisRunStatus,
    resource_version: Option<&str>,
) -> Result<Value, serde_json::Error> {
    let mut s = serde_json::to_value(status)?;
    if let Some(o) = s.as_object_mut() {
        o.entry("message").or_insert(Value::Null);
    }
    let mut patch = json!({"status": s});
    if let Some(rv) = resource_version {
        patch["metadata"] = json!({"resourceVersion": rv});
    }
    Ok(patch)
}

fn is_conflict(e: &Error) -> bool {
    matches!(e, Error::Kube { source: kube::Error::Api(s), .. } if s.code == 409)
}

async fn write_status(
    api: &Api<DynamicObject>,
    name: &str,
    resource_version: Option<&str>,
    status: &AnalysisRunStatus,
) -> Result<(), Error> {
    let patch = status_patch(status, resource_version).map_err(|e| Error::Invalid {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    api.patch_status(
        name,
        &PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| Error::Kube {
        what: format!("writing the status of AnalysisRun {name}"),
        source,
    })?;
    Ok(())
}

/// Ends the run in `Error` with `message` (a spec that cannot be measured).
async fn write_error(
    ctx: &Context,
    api: &Api<DynamicObject>,
    obj: &DynamicObject,
    name: &str,
    message: String,
) -> Result<(), Error> {
    tracing::warn!(analysisrun = %name, "{message}");
    publish(
        ctx,
        obj,
        EventType::Warning,
        "AnalysisRunError",
        format!("Analysis Completed. Result: Error: {message}"),
    )
    .await;
    let mut status = obj
        .data
        .get("status")
        .cloned()
        .and_then(|s| serde_json::from_value::<AnalysisRunStatus>(s).ok())
        .unwrap_or_default();
    let now = now_millis();
    status.phase = Some(Phase::Error.as_str().into());
    status.message = Some(message);
    status.started_at.get_or_insert(now);
    status.completed_at.get_or_insert(now);
    match write_status(api, name, obj.metadata.resource_version.as_deref(), &status).await {
        Err(e) if is_conflict(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    #[test]
    fn requeue_at_the_next_measurement() {
        let step = |next_at: Option<Timestamp>, waiting: bool| RunStep {
            phase: Phase::Running,
            due: Vec::new(),
            next_at,
            waiting,
        };
        assert_eq!(
            requeue_after(&step(Some(t(30)), false), t(0)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            requeue_after(&step(Some(t(-5)), false), t(0)),
            Some(Duration::ZERO),
            "overdue: now"
        );
        assert_eq!(requeue_after(&step(None, false), t(0)), None);
        assert_eq!(requeue_after(&step(None, true), t(0)), Some(JOB_POLL));
        assert_eq!(
            requeue_after(&step(Some(t(3)), true), t(0)),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn events_for_completed_metrics_and_runs() {
        let st = |run: Option<&str>, metric: &str| AnalysisRunStatus {
            phase: run.map(str::to_string),
            message: Some("Metric \"sr\" assessed Failed due to failed (1) > failureLimit (0)".into()),
            metric_results: vec![MetricResult {
                name: "sr".into(),
                phase: metric.into(),
                ..MetricResult::default()
            }],
            ..AnalysisRunStatus::default()
        };
        assert!(transitions(&st(Some("Running"), "Running"), &st(Some("Running"), "Running")).is_empty());
        let ev = transitions(&st(Some("Running"), "Running"), &st(Some("Failed"), "Failed"));
        let reasons: Vec<_> = ev.iter().map(|(r, t, _)| (r.as_str(), *t)).collect();
        assert_eq!(
            reasons,
            [
                ("MetricFailed", EventType::Warning),
                ("AnalysisRunFailed", EventType::Warning)
            ]
        );
        assert_eq!(ev[0].2, "Metric 'sr' Completed. Result: Failed");
        assert!(
            ev[1]
                .2
                .starts_with("Analysis Completed. Result: Failed: Metric \"sr\"")
        );
        let ok = transitions(
            &st(Some("Running"), "Running"),
            &st(Some("Successful"), "Successful"),
        );
        assert!(ok.iter().all(|(_, t, _)| *t == EventType::Normal));
    }

    #[test]
    fn status_patches_clear_the_message() {
        let st = AnalysisRunStatus {
            phase: Some("Running".into()),
            ..AnalysisRunStatus::default()
        };
        let p = status_patch(&st, Some("42")).expect("patch");
        assert_eq!(p["status"]["message"], Value::Null);
        assert!(p["status"].get("message").is_some());
        assert_eq!(p["metadata"]["resourceVersion"], "42");
    }
}
