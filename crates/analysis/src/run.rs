//! AnalysisRun level: build a run's spec from templates, and advance a run with new measurements (pure).

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::Error;
use crate::args::{resolve_args, resolve_metric};
use crate::measure::{Phase, failure_reason, is_dry_run, next_with, validate};
use crate::spec::{
    AnalysisRunSpec, AnalysisRunStatus, AnalysisTemplate, Argument, Measurement, Metric, MetricResult,
    RunSummary,
};

/// Merges templates into one AnalysisRun spec, as Argo does for `templates: [...]`: metrics, declared arguments,
/// dry-run and retention entries are concatenated; the Rollout's `args` fill or override the declared values.
/// Metrics keep their `{{args.NAME}}` placeholders (the AnalysisRun controller substitutes them before each
/// measurement, reading `valueFrom.secretKeyRef` values then, so secrets never land in the run's spec), but every
/// placeholder must name an argument that has a value or a `valueFrom`. Two metrics with the same name are an
/// error.
pub fn build_run_spec(templates: &[AnalysisTemplate], passed: &[Argument]) -> Result<AnalysisRunSpec, Error> {
    let mut declared: Vec<Argument> = Vec::new();
    let mut spec = AnalysisRunSpec::default();
    let mut names = BTreeSet::new();
    for t in templates {
        for a in &t.spec.args {
            match declared.iter_mut().find(|d| d.name == a.name) {
                Some(d) if d.value.is_none() && d.value_from.is_none() => {
                    d.value.clone_from(&a.value);
                    d.value_from.clone_from(&a.value_from);
                }
                // As in Argo: two templates may not give one argument different defaults.
                Some(d)
                    if (a.value.is_some() && d.value != a.value)
                        || (a.value_from.is_some() && d.value_from != a.value_from) =>
                {
                    return Err(Error::Arg {
                        name: a.name.clone(),
                        reason: "has different default values in the merged templates".into(),
                    });
                }
                Some(_) => {}
                None => declared.push(a.clone()),
            }
        }
        for m in &t.spec.metrics {
            if !names.insert(m.name.clone()) {
                return Err(Error::Metric {
                    metric: m.name.clone(),
                    reason: "defined by more than one template".into(),
                });
            }
            spec.metrics.push(m.clone());
        }
        spec.dry_run.extend(t.spec.dry_run.iter().cloned());
        spec.measurement_retention
            .extend(t.spec.measurement_retention.iter().cloned());
    }
    let args = resolve_args(&declared, passed)?;
    let placeholders = without_secrets(&args);
    for m in &spec.metrics {
        resolve_metric(m, &placeholders)?;
    }
    spec.args = args;
    Ok(spec)
}

/// The arguments with every `valueFrom` replaced by a placeholder value, to check a spec (Argo's
/// `getResolvedMetricsWithoutSecrets`) without reading any Secret.
pub fn without_secrets(args: &[Argument]) -> Vec<Argument> {
    args.iter()
        .map(|a| Argument {
            name: a.name.clone(),
            value: a
                .value
                .clone()
                .or_else(|| a.value_from.as_ref().map(|_| "value-from".to_string())),
            value_from: None,
        })
        .collect()
}

/// Argo's default number of measurements kept per metric.
pub const DEFAULT_MEASUREMENT_RETENTION: usize = 10;

/// What [`advance`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStep {
    /// The run's phase.
    pub phase: Phase,
    /// Metrics to work on now: take a new measurement, or resume (or, when terminating, stop) the unfinished
    /// one (a running Job).
    pub due: Vec<String>,
    /// When the next metric is due (`None` when nothing is scheduled).
    pub next_at: Option<Timestamp>,
    /// Some metric waits for an unfinished measurement without `resumeAt` (a running Job): look again when
    /// it changes, or after a short poll.
    pub waiting: bool,
}

/// Whether the run is terminating (Argo's `IsTerminating`): `spec.terminate`, or a metric that is not a dry run
/// already ended Failed, Error or Inconclusive. A terminating run takes no new measurement.
pub fn is_terminating(spec: &AnalysisRunSpec, status: &AnalysisRunStatus) -> bool {
    spec.terminate
        || status.metric_results.iter().any(|r| {
            !r.dry_run
                && matches!(
                    Phase::parse(&r.phase),
                    Some(Phase::Failed | Phase::Error | Phase::Inconclusive)
                )
        })
}

/// The metrics with their arguments substituted, `valueFrom` values replaced by a placeholder: what the run is
/// assessed with (limits and counts may be arguments). Secret values are only substituted for measuring.
pub fn assessed_metrics(spec: &AnalysisRunSpec) -> Result<Vec<Metric>, Error> {
    let args = without_secrets(&spec.args);
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(spec.metrics.len());
    for m in &spec.metrics {
        if !names.insert(m.name.as_str()) {
            return Err(Error::Metric {
                metric: m.name.clone(),
                reason: "appears more than once".into(),
            });
        }
        let r = resolve_metric(m, &args)?;
        validate(&r)?;
        out.push(r);
    }
    if out.is_empty() {
        return Err(Error::Metric {
            metric: String::new(),
            reason: "the run has no metrics (at least one is required)".into(),
        });
    }
    Ok(out)
}

fn retention(spec: &AnalysisRunSpec, metric: &str) -> usize {
    spec.measurement_retention
        .iter()
        .find(|r| r.metric_name == metric || r.metric_name == "*" || r.metric_name == ".*")
        .and_then(|r| usize::try_from(r.limit).ok())
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_MEASUREMENT_RETENTION)
}

/// The run's message for a metric that ended Failed, Error or Inconclusive: Argo's
/// `Metric "NAME" assessed PHASE due to REASON`, then the last measurement's error message and the value it
/// measured, e.g. `Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0): last result [0.42]`.
fn metric_message(name: &str, phase: Phase, reason: &str, result: &MetricResult) -> String {
    let mut msg = format!("Metric {name:?} assessed {} due to {reason}", phase.as_str());
    if let Some(m) = result.message.as_deref().filter(|m| !m.is_empty()) {
        msg.push_str(&format!(": \"Error Message: {m}\""));
    }
    if let Some(v) = result.measurements.last().and_then(|m| m.value.as_deref()) {
        msg.push_str(&format!(": last result {v}"));
    }
    msg
}

/// Records `measurements` (metric name → measurement; a measurement replaces an unfinished one) into `status`,
/// then computes every metric's phase (Argo's `assessMetricStatus`), the run's phase (the worst final phase of
/// the metrics that are not dry runs, once every metric is final or the run is terminating), the summaries,
/// the message naming the deciding metric with its measured value, which metrics are due at `now`, and when the
/// next one is. A terminated run (`spec.terminate`) ends Successful with the message `Run Terminated` unless a
/// metric already failed, as in Argo. Measurements beyond `measurementRetention` (default 10) are dropped,
/// oldest first. A run whose phase is already final is left as it is.
pub fn advance(
    spec: &AnalysisRunSpec,
    status: &mut AnalysisRunStatus,
    measurements: Vec<(String, Measurement)>,
    now: Timestamp,
) -> Result<RunStep, Error> {
    if let Some(p) = status
        .phase
        .as_deref()
        .and_then(Phase::parse)
        .filter(|p| p.completed())
    {
        return Ok(RunStep {
            phase: p,
            due: Vec::new(),
            next_at: None,
            waiting: false,
        });
    }
    let metrics = assessed_metrics(spec)?;
    let started = *status.started_at.get_or_insert(now);
    record_measurements(&metrics, status, measurements)?;
    for metric in &metrics {
        let pos = result_index(status, &metric.name);
        let r = &mut status.metric_results[pos];
        r.dry_run = is_dry_run(&spec.dry_run, &metric.name);
        next_with(metric, r, None, started, spec.terminate)?;
    }
    let terminating = is_terminating(spec, status);
    let mut tally = Tally::default();
    for metric in &metrics {
        let pos = result_index(status, &metric.name);
        let keep = retention(spec, &metric.name);
        let r = &mut status.metric_results[pos];
        let step = next_with(metric, r, None, started, terminating)?;
        tally.schedule(&metric.name, r, step.next_measurement_at, terminating, now);
        if r.measurements.len() > keep {
            let drop = r.measurements.len() - keep;
            r.measurements.drain(..drop);
        }
        tally.assess(metric, r, step.phase)?;
    }
    Ok(tally.conclude(spec, status, terminating, now))
}

/// Records the measurements just taken. All are recorded before any metric is assessed, so a metric failing now
/// terminates the others in the same pass.
fn record_measurements(
    metrics: &[Metric],
    status: &mut AnalysisRunStatus,
    measurements: Vec<(String, Measurement)>,
) -> Result<(), Error> {
    for (name, _) in &measurements {
        if !metrics.iter().any(|m| &m.name == name) {
            return Err(Error::Metric {
                metric: name.clone(),
                reason: "measurement for a metric the run does not have".into(),
            });
        }
    }
    for (name, m) in measurements {
        let pos = result_index(status, &name);
        crate::measure::record(&mut status.metric_results[pos], m);
    }
    Ok(())
}

/// What one pass over a run's metrics found: what to measure and when, the summaries, the worst outcome.
struct Tally {
    due: Vec<String>,
    next_at: Option<Timestamp>,
    /// A measurement waits for something outside (a Job): no time to come back at.
    waiting: bool,
    summary: RunSummary,
    dry_summary: RunSummary,
    /// The worst phase of the metrics that count (not dry-run), with its message.
    worst: Option<(Phase, String)>,
    all_final: bool,
    in_flight: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            due: Vec::new(),
            next_at: None,
            waiting: false,
            summary: RunSummary::default(),
            dry_summary: RunSummary::default(),
            worst: None,
            all_final: true,
            in_flight: false,
        }
    }
}

impl Tally {
    fn wake_at(&mut self, at: Timestamp) {
        self.next_at = Some(self.next_at.map_or(at, |n| n.min(at)));
    }

    /// Schedules a metric: resume (or, terminating, stop) its unfinished measurement, or take the next one when
    /// it is due.
    fn schedule(
        &mut self,
        name: &str,
        r: &MetricResult,
        next_measurement_at: Option<Timestamp>,
        terminating: bool,
        now: Timestamp,
    ) {
        let unfinished = r.measurements.last().is_some_and(|m| m.finished_at.is_none());
        if unfinished {
            self.in_flight = true;
            match r.measurements.last().and_then(|m| m.resume_at) {
                Some(at) if !terminating && at > now => self.wake_at(at),
                None if !terminating => {
                    self.waiting = true;
                    self.due.push(name.to_string());
                }
                _ => self.due.push(name.to_string()),
            }
        } else if !terminating && let Some(at) = next_measurement_at {
            if at <= now {
                self.due.push(name.to_string());
            } else {
                self.wake_at(at);
            }
        }
    }

    /// Counts a metric's phase in its summary; a completed metric that counts may become the worst outcome, a
    /// dry-run one only gets its own message.
    fn assess(&mut self, metric: &Metric, r: &mut MetricResult, phase: Phase) -> Result<(), Error> {
        let s = if r.dry_run {
            &mut self.dry_summary
        } else {
            &mut self.summary
        };
        s.count += 1;
        if !phase.completed() {
            self.all_final = false;
            return Ok(());
        }
        match phase {
            Phase::Successful => s.successful += 1,
            Phase::Failed => s.failed += 1,
            Phase::Inconclusive => s.inconclusive += 1,
            Phase::Error => s.error += 1,
            Phase::Pending | Phase::Running => {}
        }
        let reason = failure_reason(metric, r)?;
        if r.dry_run {
            if let Some((p, why)) = reason {
                r.message = Some(format!("Metric assessed {} due to {why}", p.as_str()));
            }
            return Ok(());
        }
        if self.worst.as_ref().is_none_or(|(w, _)| phase.worse_than(*w)) {
            let msg = match reason {
                Some((p, why)) => metric_message(&metric.name, p, &why, r),
                None => String::new(),
            };
            self.worst = Some((phase, msg));
        }
        Ok(())
    }

    /// The run's phase and message from what was found, written into `status`.
    fn conclude(
        self,
        spec: &AnalysisRunSpec,
        status: &mut AnalysisRunStatus,
        terminating: bool,
        now: Timestamp,
    ) -> RunStep {
        let phase = if (terminating && !self.in_flight) || self.all_final {
            self.worst.as_ref().map_or(Phase::Successful, |(p, _)| *p)
        } else {
            Phase::Running
        };
        let over = phase.completed();
        let message = match self.worst {
            Some((_, m)) if over && !m.is_empty() => Some(m),
            _ if spec.terminate => Some("Run Terminated".to_string()),
            _ => None,
        };
        status.phase = Some(phase.as_str().into());
        status.message = message;
        status.run_summary = Some(self.summary);
        status.dry_run_summary = (self.dry_summary.count > 0).then_some(self.dry_summary);
        if over {
            status.completed_at.get_or_insert(now);
        }
        RunStep {
            phase,
            due: if over { Vec::new() } else { self.due },
            next_at: if over { None } else { self.next_at },
            waiting: !over && self.waiting,
        }
    }
}

/// When a completed run is to be deleted under `spec.ttlStrategy` (`None`: kept): `secondsAfterSuccess` for a
/// Successful run, `secondsAfterFailure` for a Failed or Error one, else `secondsAfterCompletion`, counted from
/// `status.completedAt`.
pub fn expires_at(spec: &AnalysisRunSpec, status: &AnalysisRunStatus) -> Option<Timestamp> {
    let ttl = spec.ttl_strategy.as_ref()?;
    let phase = status
        .phase
        .as_deref()
        .and_then(Phase::parse)
        .filter(|p| p.completed())?;
    let completed = status.completed_at?;
    let specific = match phase {
        Phase::Successful => ttl.seconds_after_success,
        Phase::Failed | Phase::Error => ttl.seconds_after_failure,
        _ => None,
    };
    let secs = specific.or(ttl.seconds_after_completion)?;
    completed
        .checked_add(jiff::SignedDuration::from_secs(i64::from(secs.max(0))))
        .ok()
}

fn result_index(status: &mut AnalysisRunStatus, name: &str) -> usize {
    match status.metric_results.iter().position(|r| r.name == name) {
        Some(p) => p,
        None => {
            status.metric_results.push(MetricResult {
                name: name.to_string(),
                phase: Phase::Pending.as_str().into(),
                ..MetricResult::default()
            });
            status.metric_results.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    fn template(v: serde_json::Value) -> AnalysisTemplate {
        serde_json::from_value(v).expect("template")
    }

    fn meas(phase: &str, value: &str, at: i64) -> Measurement {
        Measurement {
            phase: phase.into(),
            value: Some(value.into()),
            started_at: Some(t(at)),
            finished_at: Some(t(at)),
            ..Measurement::default()
        }
    }

    #[test]
    fn builds_from_templates() {
        let a = template(
            json!({"spec": {"args": [{"name": "svc"}], "metrics": [{"name": "sr",
            "successCondition": "result[0] > 0.9", "provider": {"prometheus": {"address": "http://p", "query": "q{s=\"{{args.svc}}\"}"}}}]}}),
        );
        let b = template(
            json!({"spec": {"args": [{"name": "svc"}], "dryRun": [{"metricName": "lat"}],
            "metrics": [{"name": "lat", "provider": {"web": {"url": "http://w/{{args.svc}}"}}}]}}),
        );
        let passed = vec![Argument {
            name: "svc".into(),
            value: Some("web".into()),
            value_from: None,
        }];
        let spec = build_run_spec(&[a.clone(), b], &passed).expect("spec");
        assert_eq!(spec.metrics.len(), 2);
        assert_eq!(
            spec.metrics[0]
                .provider
                .prometheus
                .as_ref()
                .map(|p| p.query.as_str()),
            Some("q{s=\"{{args.svc}}\"}"),
            "placeholders stay until measurement time, as in Argo"
        );
        assert_eq!(spec.args.len(), 1);
        assert_eq!(spec.args[0].value.as_deref(), Some("web"));
        let resolved = crate::args::resolve_metric(&spec.metrics[1], &spec.args).expect("resolved");
        assert_eq!(
            resolved.provider.web.as_ref().map(|w| w.url.as_str()),
            Some("http://w/web")
        );
        let undeclared = template(json!({"spec": {"metrics": [{"name": "x",
            "provider": {"web": {"url": "http://w/{{args.nope}}"}}}]}}));
        assert!(
            build_run_spec(&[undeclared], &[])
                .is_err_and(|e| e.to_string().contains("\"nope\" is used but not declared"))
        );
        let secret = template(json!({"spec": {"args": [{"name": "token",
            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            "metrics": [{"name": "x", "provider": {"web": {"url": "http://w/",
            "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}]}}}]}}));
        let one = template(json!({"spec": {"args": [{"name": "limit", "value": "1"}], "metrics": []}}));
        let two = template(json!({"spec": {"args": [{"name": "limit", "value": "2"}], "metrics": []}}));
        assert!(
            build_run_spec(&[one.clone(), two], &[])
                .is_err_and(|e| e.to_string().contains("different default values"))
        );
        assert!(
            build_run_spec(&[one.clone(), one], &[]).is_ok(),
            "the same default twice is fine"
        );
        let later = build_run_spec(&[secret], &[]).expect("a secret argument is resolved later");
        assert!(later.args[0].value.is_none() && later.args[0].value_from.is_some());
        assert_eq!(spec.dry_run.len(), 1);
        assert!(
            build_run_spec(&[a.clone(), a.clone()], &passed)
                .is_err_and(|e| e.to_string().contains("more than one"))
        );
        assert!(build_run_spec(&[a], &[]).is_err_and(|e| e.to_string().contains("\"svc\"")));
    }

    #[test]
    fn advances_a_run() {
        let spec: AnalysisRunSpec = serde_json::from_value(json!({
            "metrics": [
                {"name": "sr", "interval": "1m", "count": 2, "successCondition": "result[0] >= 0.95",
                 "provider": {"web": {"url": "http://w"}}},
                {"name": "lat", "interval": "1m", "count": 2, "provider": {"web": {"url": "http://w"}}}
            ],
            "dryRun": [{"metricName": "lat"}]
        }))
        .expect("spec");
        let mut st = AnalysisRunStatus::default();
        let s = advance(&spec, &mut st, vec![], t(0)).expect("advance");
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(s.due, vec!["sr".to_string(), "lat".to_string()]);
        let s = advance(
            &spec,
            &mut st,
            vec![
                ("sr".into(), meas("Successful", "[0.99]", 0)),
                ("lat".into(), meas("Failed", "[900]", 0)),
            ],
            t(0),
        )
        .expect("advance");
        assert_eq!(s.phase, Phase::Running, "the failed metric is a dry run");
        assert!(s.due.is_empty());
        assert_eq!(s.next_at, Some(t(60)));
        let s = advance(
            &spec,
            &mut st,
            vec![("sr".into(), meas("Failed", "[0.42]", 60))],
            t(60),
        )
        .expect("advance");
        assert_eq!(s.phase, Phase::Failed);
        assert_eq!(st.phase.as_deref(), Some("Failed"));
        assert_eq!(
            st.message.as_deref(),
            Some("Metric \"sr\" assessed Failed due to failed (1) > failureLimit (0): last result [0.42]")
        );
        assert!(st.completed_at.is_some());
        assert_eq!(st.run_summary.as_ref().map(|r| (r.count, r.failed)), Some((1, 1)));
        assert_eq!(
            st.dry_run_summary.as_ref().map(|r| (r.count, r.failed)),
            Some((1, 1))
        );
        assert_eq!((s.due.len(), s.next_at), (0, None));
        assert!(
            advance(
                &spec,
                &mut AnalysisRunStatus::default(),
                vec![("nope".into(), meas("Failed", "1", 60))],
                t(60)
            )
            .is_err()
        );
        let before = st.clone();
        advance(&spec, &mut st, vec![], t(120)).expect("a final run");
        assert_eq!(st, before, "a final run is left as it is");
    }

    #[test]
    fn ttl_strategy() {
        let spec = |ttl: serde_json::Value| -> AnalysisRunSpec {
            serde_json::from_value(json!({"ttlStrategy": ttl})).expect("spec")
        };
        let st = |phase: &str| AnalysisRunStatus {
            phase: Some(phase.into()),
            completed_at: Some(t(100)),
            ..AnalysisRunStatus::default()
        };
        let s = spec(json!({"secondsAfterCompletion": 60, "secondsAfterFailure": 600}));
        assert_eq!(expires_at(&s, &st("Successful")), Some(t(160)));
        assert_eq!(expires_at(&s, &st("Failed")), Some(t(700)));
        assert_eq!(expires_at(&s, &st("Inconclusive")), Some(t(160)));
        assert_eq!(expires_at(&s, &st("Running")), None);
        assert_eq!(
            expires_at(&spec(json!({"secondsAfterSuccess": 5})), &st("Error")),
            None
        );
        assert_eq!(expires_at(&AnalysisRunSpec::default(), &st("Successful")), None);
    }

    #[test]
    fn a_failed_metric_ends_the_others() {
        let spec: AnalysisRunSpec = serde_json::from_value(json!({
            "metrics": [
                {"name": "a", "interval": "10s", "successCondition": "result > 1", "provider": {"web": {"url": "u"}}},
                {"name": "b", "interval": "1m", "failureLimit": "{{args.limit}}", "successCondition": "result > 1",
                 "provider": {"web": {"url": "u"}}}
            ],
            "args": [{"name": "limit", "value": "3"}]
        }))
        .expect("spec");
        let mut st = AnalysisRunStatus::default();
        let s = advance(
            &spec,
            &mut st,
            vec![
                ("a".into(), meas("Successful", "2", 0)),
                ("b".into(), meas("Failed", "0", 0)),
            ],
            t(0),
        )
        .expect("advance");
        assert_eq!(
            (s.phase, s.next_at),
            (Phase::Running, Some(t(10))),
            "failureLimit comes from an argument (3)"
        );
        let s = advance(&spec, &mut st, vec![("a".into(), meas("Failed", "0", 10))], t(10)).expect("advance");
        assert_eq!((s.phase, s.due.len(), s.next_at), (Phase::Failed, 0, None));
        let phases: Vec<_> = st.metric_results.iter().map(|r| r.phase.as_str()).collect();
        assert_eq!(
            phases,
            ["Failed", "Successful"],
            "the other metric stops, as in Argo"
        );
    }

    #[test]
    fn unfinished_measurements_and_retention() {
        let spec: AnalysisRunSpec = serde_json::from_value(json!({
            "metrics": [{"name": "job", "interval": "1s", "count": 15, "provider": {"job": {"spec": {}}}}],
            "measurementRetention": [{"metricName": "job", "limit": 3}]
        }))
        .expect("spec");
        let mut st = AnalysisRunStatus::default();
        let running = Measurement {
            phase: "Running".into(),
            started_at: Some(t(0)),
            ..Measurement::default()
        };
        let s = advance(&spec, &mut st, vec![("job".into(), running)], t(0)).expect("advance");
        assert_eq!(
            (s.phase, s.waiting, s.due.clone()),
            (Phase::Running, true, vec!["job".to_string()])
        );
        assert_eq!(
            st.metric_results[0].count, 0,
            "an unfinished measurement does not count"
        );
        let s = advance(
            &spec,
            &mut st,
            vec![("job".into(), meas("Successful", "", 2))],
            t(2),
        )
        .expect("advance");
        assert!(!s.waiting);
        assert_eq!(
            st.metric_results[0].measurements.len(),
            1,
            "the finished measurement replaced the running one"
        );
        assert_eq!(s.next_at, Some(t(3)));
        for i in 3..8 {
            advance(
                &spec,
                &mut st,
                vec![("job".into(), meas("Successful", "", i))],
                t(i),
            )
            .expect("advance");
        }
        let r = &st.metric_results[0];
        assert_eq!(
            (r.count, r.measurements.len()),
            (6, 3),
            "only the last 3 measurements are kept"
        );
        assert_eq!(r.measurements[0].finished_at, Some(t(5)));
        let mut terminated = spec.clone();
        terminated.terminate = true;
        let s = advance(&terminated, &mut st, vec![], t(8)).expect("advance");
        assert_eq!(s.phase, Phase::Successful);
        assert_eq!(st.message.as_deref(), Some("Run Terminated"));
    }

    #[test]
    fn terminate_ends_running_metrics() {
        let mut spec: AnalysisRunSpec = serde_json::from_value(json!({
            "metrics": [{"name": "sr", "interval": "1m", "successCondition": "result > 1",
                         "provider": {"prometheus": {"address": "http://p", "query": "q"}}}]
        }))
        .expect("spec");
        let mut st = AnalysisRunStatus::default();
        advance(
            &spec,
            &mut st,
            vec![("sr".into(), meas("Successful", "2", 0))],
            t(0),
        )
        .expect("advance");
        spec.terminate = true;
        let s = advance(&spec, &mut st, vec![], t(30)).expect("advance");
        assert_eq!((s.phase, s.next_at), (Phase::Successful, None));
        assert_eq!(st.message.as_deref(), Some("Run Terminated"));
    }
}
