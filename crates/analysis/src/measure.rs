//! Measurement bookkeeping: assessing one measurement against the conditions, updating a metric's counters,
//! the metric's phase under count / failureLimit / inconclusiveLimit / consecutiveErrorLimit, when to measure
//! next, and the run's phase with dry-run metrics left out. Pure, time injected.

use jiff::{SignedDuration, Timestamp};

use crate::Error;
use crate::expr::{Val, eval_condition};
use crate::spec::{DryRun, IntOrString, Measurement, Metric, MetricResult};

/// Argo's default for `consecutiveErrorLimit`.
pub const DEFAULT_CONSECUTIVE_ERROR_LIMIT: i64 = 4;
/// Retry delay after an errored measurement (Argo: 10 s, whatever the interval).
pub const DEFAULT_ERROR_RETRY_SECONDS: i64 = 10;

/// Phases of measurements, metrics and runs (Argo names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Nothing measured yet.
    Pending,
    /// Measuring.
    Running,
    /// Passed.
    Successful,
    /// Failed.
    Failed,
    /// Errored.
    Error,
    /// Neither passed nor failed.
    Inconclusive,
}

impl Phase {
    /// The Argo spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Successful => "Successful",
            Phase::Failed => "Failed",
            Phase::Error => "Error",
            Phase::Inconclusive => "Inconclusive",
        }
    }

    /// Parses the Argo spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Pending" => Phase::Pending,
            "Running" => Phase::Running,
            "Successful" => Phase::Successful,
            "Failed" => Phase::Failed,
            "Error" => Phase::Error,
            "Inconclusive" => Phase::Inconclusive,
            _ => return None,
        })
    }

    /// Whether the phase is final (Successful, Failed, Error, Inconclusive).
    pub fn completed(self) -> bool {
        matches!(
            self,
            Phase::Successful | Phase::Failed | Phase::Error | Phase::Inconclusive
        )
    }

    /// Argo's order of badness: Successful < Inconclusive < Error < Failed.
    fn badness(self) -> u8 {
        match self {
            Phase::Pending | Phase::Running => 0,
            Phase::Successful => 1,
            Phase::Inconclusive => 2,
            Phase::Error => 3,
            Phase::Failed => 4,
        }
    }

    /// Whether `self` is worse than `other` (Argo's `IsWorse`).
    pub fn worse_than(self, other: Phase) -> bool {
        self.badness() > other.badness()
    }
}

/// Assesses a measured value as Argo's `EvaluateResult`: no conditions → Successful; only a success condition
/// → Failed when it does not hold; only a failure condition → Successful when it does not hold; both → Failed
/// if the failure condition holds, Successful if the success one does, Inconclusive otherwise.
pub fn evaluate(metric: &Metric, result: &Val) -> Result<Phase, Error> {
    let cond = |c: &Option<String>| -> Result<Option<bool>, Error> {
        match c.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => eval_condition(c, result).map(Some).map_err(|e| Error::Condition {
                metric: metric.name.clone(),
                source: e,
            }),
        }
    };
    let success = cond(&metric.success_condition)?;
    let failure = cond(&metric.failure_condition)?;
    let (s, f) = match (success, failure) {
        (None, None) => return Ok(Phase::Successful),
        (Some(s), None) => (s, !s),
        (None, Some(f)) => (!f, f),
        (Some(s), Some(f)) => (s, f),
    };
    Ok(if f {
        Phase::Failed
    } else if s {
        Phase::Successful
    } else {
        Phase::Inconclusive
    })
}

/// Builds the measurement of a value (or of a provider error) started at `started` and finished at `finished`.
pub fn measurement_between(
    metric: &Metric,
    value: Result<Val, String>,
    started: Timestamp,
    finished: Timestamp,
) -> Measurement {
    let (phase, message, value) = match value {
        Ok(v) => match evaluate(metric, &v) {
            Ok(p) => (p, None, Some(v.to_string())),
            Err(e) => (Phase::Error, Some(e.to_string()), Some(v.to_string())),
        },
        Err(e) => (Phase::Error, Some(e), None),
    };
    Measurement {
        phase: phase.as_str().into(),
        message,
        started_at: Some(started),
        finished_at: Some(finished),
        value,
        ..Measurement::default()
    }
}

/// Builds the measurement of a value (or of a provider error) taken at `now`.
pub fn measurement(metric: &Metric, value: Result<Val, String>, now: Timestamp) -> Measurement {
    measurement_between(metric, value, now, now)
}

fn limit(v: Option<&IntOrString>, default: i64, metric: &str, field: &'static str) -> Result<i64, Error> {
    match v {
        None => Ok(default),
        Some(IntOrString::Int(n)) => Ok(*n),
        Some(IntOrString::String(s)) => s.trim().parse().map_err(|_| Error::Metric {
            metric: metric.to_string(),
            reason: format!("{field} {s:?} is not a number"),
        }),
    }
}

/// Parses a metric duration field into a signed duration (`None` when absent or empty).
pub fn duration(d: Option<&str>, metric: &str, field: &'static str) -> Result<Option<SignedDuration>, Error> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => crate::parse_go_duration_millis(d)
            .map(|ms| Some(SignedDuration::from_millis(ms)))
            .map_err(|reason| Error::Metric {
                metric: metric.to_string(),
                reason: format!("{field} {d:?}: {reason}"),
            }),
    }
}

/// Checks the fields the controller interprets (durations, limits, count) so a broken metric fails the run at
/// once with a clear message, as Argo's `ValidateMetrics` does.
pub fn validate(metric: &Metric) -> Result<(), Error> {
    if metric.name.trim().is_empty() {
        return Err(Error::Metric {
            metric: metric.name.clone(),
            reason: "has no name".into(),
        });
    }
    duration(metric.interval.as_deref(), &metric.name, "interval")?;
    duration(metric.initial_delay.as_deref(), &metric.name, "initialDelay")?;
    limits(metric)?;
    let count = effective_count(metric)?;
    let has_interval = metric.interval.as_deref().is_some_and(|i| !i.trim().is_empty());
    if count.is_some_and(|c| c > 1) && !has_interval {
        return Err(Error::Metric {
            metric: metric.name.clone(),
            reason: format!(
                "count {} needs an interval between the measurements",
                count.unwrap_or_default()
            ),
        });
    }
    if let (Some(c), Ok(f)) = (
        count,
        limit(metric.failure_limit.as_ref(), 0, &metric.name, "failureLimit"),
    ) && f >= 0
        && c > 0
        && c < f
    {
        return Err(Error::Metric {
            metric: metric.name.clone(),
            reason: format!("count {c} must be >= failureLimit {f}"),
        });
    }
    let p = &metric.provider;
    let set = [
        p.prometheus.is_some(),
        p.web.is_some(),
        p.job.is_some(),
        p.datadog.is_some(),
        p.new_relic.is_some(),
        p.wavefront.is_some(),
        p.kayenta.is_some(),
        p.cloud_watch.is_some(),
        p.graphite.is_some(),
        p.influxdb.is_some(),
        p.skywalking.is_some(),
        p.plugin.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        return Err(Error::Metric {
            metric: metric.name.clone(),
            reason: format!("exactly one provider must be set, found {set}"),
        });
    }
    Ok(())
}

/// `failureLimit`, `inconclusiveLimit` and `consecutiveErrorLimit` with Argo's defaults (0, 0, 4); −1 means
/// unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed measurements tolerated.
    pub failure: i64,
    /// Inconclusive measurements tolerated.
    pub inconclusive: i64,
    /// Errors in a row tolerated.
    pub consecutive_error: i64,
}

/// The metric's limits.
pub fn limits(metric: &Metric) -> Result<Limits, Error> {
    Ok(Limits {
        failure: limit(metric.failure_limit.as_ref(), 0, &metric.name, "failureLimit")?,
        inconclusive: limit(
            metric.inconclusive_limit.as_ref(),
            0,
            &metric.name,
            "inconclusiveLimit",
        )?,
        consecutive_error: limit(
            metric.consecutive_error_limit.as_ref(),
            DEFAULT_CONSECUTIVE_ERROR_LIMIT,
            &metric.name,
            "consecutiveErrorLimit",
        )?,
    })
}

/// Number of measurements after which the metric is done: `count`, or 1 without interval and count; `None`
/// means unlimited (an interval and no count, or count 0).
pub fn effective_count(metric: &Metric) -> Result<Option<i64>, Error> {
    let count = limit(metric.count.as_ref(), 0, &metric.name, "count")?;
    let has_interval = metric.interval.as_deref().is_some_and(|i| !i.trim().is_empty());
    Ok(match (count, has_interval) {
        (0, false) => Some(1),
        (0, true) => None,
        (n, _) => Some(n),
    })
}

/// Adds a measurement to the metric: a finished one updates the counters; an unfinished one (a running Job)
/// is only listed. A measurement replaces the last one when that one was still unfinished (a resumed Job).
pub fn record(result: &mut MetricResult, m: Measurement) {
    if m.finished_at.is_some() {
        match Phase::parse(&m.phase) {
            Some(Phase::Successful) => {
                result.successful += 1;
                result.consecutive_error = 0;
                result.count += 1;
            }
            Some(Phase::Failed) => {
                result.failed += 1;
                result.consecutive_error = 0;
                result.count += 1;
            }
            Some(Phase::Inconclusive) => {
                result.inconclusive += 1;
                result.consecutive_error = 0;
                result.count += 1;
            }
            Some(Phase::Error) => {
                result.error += 1;
                result.consecutive_error += 1;
            }
            _ => {}
        }
    }
    match result.measurements.last_mut() {
        Some(last) if last.finished_at.is_none() => *last = m,
        _ => result.measurements.push(m),
    }
}

/// Why a metric is Failed, Inconclusive or Error (Argo's `assessMetricFailureInconclusiveOrError`), e.g.
/// `failed (1) > failureLimit (0)`; `None` while within its limits.
pub fn failure_reason(metric: &Metric, result: &MetricResult) -> Result<Option<(Phase, String)>, Error> {
    let l = limits(metric)?;
    let mut out = None;
    if l.failure >= 0 && i64::from(result.failed) > l.failure {
        out = Some((
            Phase::Failed,
            format!("failed ({}) > failureLimit ({})", result.failed, l.failure),
        ));
    }
    if l.inconclusive >= 0 && i64::from(result.inconclusive) > l.inconclusive {
        out = Some((
            Phase::Inconclusive,
            format!(
                "inconclusive ({}) > inconclusiveLimit ({})",
                result.inconclusive, l.inconclusive
            ),
        ));
    }
    if l.consecutive_error >= 0 && i64::from(result.consecutive_error) > l.consecutive_error {
        out = Some((
            Phase::Error,
            format!(
                "consecutiveErrors ({}) > consecutiveErrorLimit ({})",
                result.consecutive_error, l.consecutive_error
            ),
        ));
    }
    Ok(out)
}

/// The metric's phase from its counters (Argo's `assessMetricStatus`). A phase once final stays.
pub fn assess(metric: &Metric, result: &MetricResult, terminating: bool) -> Result<Phase, Error> {
    if let Some(p) = Phase::parse(&result.phase).filter(|p| p.completed()) {
        return Ok(p);
    }
    let Some(last) = result.measurements.last() else {
        return Ok(if terminating {
            Phase::Successful
        } else {
            Phase::Pending
        });
    };
    if last.finished_at.is_none() {
        return Ok(Phase::Running);
    }
    if let Some((phase, _)) = failure_reason(metric, result)? {
        return Ok(phase);
    }
    if effective_count(metric)?.is_some_and(|c| i64::from(result.count) >= c) || terminating {
        return Ok(Phase::Successful);
    }
    Ok(Phase::Running)
}

fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(t)
}

/// When the metric should be measured next, or `None` when it is done or waits for an unfinished measurement
/// without a `resumeAt` (a running Job, resumed when the Job changes). Times follow Argo: `initialDelay` after
/// the run started, then `interval` after the last measurement finished, 10 s after an error.
pub fn next_measurement_at(
    metric: &Metric,
    result: &MetricResult,
    run_started: Timestamp,
) -> Result<Option<Timestamp>, Error> {
    let Some(last) = result.measurements.last() else {
        let delay = duration(metric.initial_delay.as_deref(), &metric.name, "initialDelay")?;
        return Ok(Some(add(run_started, delay.unwrap_or(SignedDuration::ZERO))));
    };
    let Some(finished) = last.finished_at else {
        return Ok(last.resume_at);
    };
    if effective_count(metric)?.is_some_and(|c| i64::from(result.count) >= c) {
        return Ok(None);
    }
    if last.phase == Phase::Error.as_str() {
        return Ok(Some(add(
            finished,
            SignedDuration::from_secs(DEFAULT_ERROR_RETRY_SECONDS),
        )));
    }
    let interval = duration(metric.interval.as_deref(), &metric.name, "interval")?;
    Ok(interval.map(|i| add(finished, i)))
}

/// The outcome of [`next`]: the metric's phase and when to measure again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricStep {
    /// The metric's phase after the measurement.
    pub phase: Phase,
    /// When to measure next; `None` once the metric is done.
    pub next_measurement_at: Option<Timestamp>,
}

/// Records `measurement` (if any) into `state` and returns the metric's phase and next measurement time
/// (`run_started` anchors `initialDelay`; later times follow from the measurements' own timestamps).
/// A metric that reached a terminal phase asks for no further measurement.
pub fn next(
    metric: &Metric,
    state: &mut MetricResult,
    measurement: Option<Measurement>,
    run_started: Timestamp,
) -> Result<MetricStep, Error> {
    next_with(metric, state, measurement, run_started, false)
}

/// [`next`] for a run that is terminating (`spec.terminate`, or another metric already failed): a metric
/// that is not done ends Successful, as in Argo.
pub fn next_with(
    metric: &Metric,
    state: &mut MetricResult,
    measurement: Option<Measurement>,
    run_started: Timestamp,
    terminating: bool,
) -> Result<MetricStep, Error> {
    if let Some(m) = measurement {
        record(state, m);
    }
    let phase = assess(metric, state, terminating)?;
    if phase.as_str() != state.phase {
        if phase.completed() {
            state.message = state.measurements.last().and_then(|m| m.message.clone());
        }
        state.phase = phase.as_str().into();
    }
    let next_at = if matches!(phase, Phase::Pending | Phase::Running) {
        next_measurement_at(metric, state, run_started)?
    } else {
        None
    };
    Ok(MetricStep {
        phase,
        next_measurement_at: next_at,
    })
}

/// Whether `metric` runs in dry-run mode (`metricName` equal, or `*` / `.*` for all).
pub fn is_dry_run(dry_run: &[DryRun], metric: &str) -> bool {
    dry_run
        .iter()
        .any(|d| d.metric_name == metric || d.metric_name == "*" || d.metric_name == ".*")
}

/// The run's phase from its metrics' phases, worst first: Failed, Error, Inconclusive, then Running/Pending,
/// else Successful. Dry-run metrics are left out.
pub fn run_phase(metrics: &[(String, Phase)], dry_run: &[DryRun]) -> Phase {
    let live: Vec<Phase> = metrics
        .iter()
        .filter(|(name, _)| !is_dry_run(dry_run, name))
        .map(|(_, p)| *p)
        .collect();
    for p in [
        Phase::Failed,
        Phase::Error,
        Phase::Inconclusive,
        Phase::Running,
        Phase::Pending,
    ] {
        if live.contains(&p) {
            return if p == Phase::Pending { Phase::Running } else { p };
        }
    }
    Phase::Successful
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("ts")
    }

    fn metric(v: serde_json::Value) -> Metric {
        serde_json::from_value(v).expect("metric")
    }

    #[test]
    fn evaluate_follows_argo() {
        let only_success = metric(serde_json::json!({"name": "m", "successCondition": "result >= 0.95"}));
        assert_eq!(
            evaluate(&only_success, &Val::Num(0.97)).ok(),
            Some(Phase::Successful)
        );
        assert_eq!(evaluate(&only_success, &Val::Num(0.5)).ok(), Some(Phase::Failed));
        let only_failure = metric(serde_json::json!({"name": "m", "failureCondition": "result > 5"}));
        assert_eq!(evaluate(&only_failure, &Val::Num(6.0)).ok(), Some(Phase::Failed));
        assert_eq!(
            evaluate(&only_failure, &Val::Num(1.0)).ok(),
            Some(Phase::Successful)
        );
        let both = metric(
            serde_json::json!({"name": "m", "successCondition": "result > 10", "failureCondition": "result < 2"}),
        );
        assert_eq!(evaluate(&both, &Val::Num(5.0)).ok(), Some(Phase::Inconclusive));
        let no_interval =
            metric(serde_json::json!({"name": "m", "count": 3, "provider": {"web": {"url": "u"}}}));
        assert!(validate(&no_interval).is_err_and(|e| e.to_string().contains("count 3 needs an interval")));
        let none = metric(serde_json::json!({"name": "m"}));
        assert_eq!(evaluate(&none, &Val::Null).ok(), Some(Phase::Successful));
        let e = evaluate(&only_success, &Val::Str("x".into())).expect_err("type error");
        assert!(e.to_string().contains("metric \"m\""), "{e}");
        let m = measurement(&only_success, Err("connection refused".into()), ts(0));
        assert_eq!(m.phase, "Error");
        let m = measurement(&only_success, Ok(Val::List(vec![Val::Num(0.5)])), ts(0));
        assert_eq!(m.phase, "Error", "comparing a list to a number is an error");
        assert_eq!(m.value.as_deref(), Some("[0.5]"));
    }

    fn feed(metric: &Metric, phases: &[&str]) -> (MetricResult, Vec<MetricStep>) {
        let mut st = MetricResult::default();
        let mut steps = Vec::new();
        for (i, p) in phases.iter().enumerate() {
            let m = Measurement {
                phase: (*p).into(),
                finished_at: Some(ts(60 * i as i64)),
                started_at: Some(ts(60 * i as i64)),
                ..Measurement::default()
            };
            steps.push(next(metric, &mut st, Some(m), ts(0)).expect("next"));
        }
        (st, steps)
    }

    #[test]
    fn count_interval_and_limits() {
        let m = metric(serde_json::json!({"name": "m", "interval": "1m", "count": 3, "failureLimit": 1}));
        let (st, steps) = feed(&m, &["Successful", "Failed", "Successful"]);
        assert_eq!(steps[0].phase, Phase::Running);
        assert_eq!(steps[0].next_measurement_at, Some(ts(60)));
        assert_eq!(
            steps[1].phase,
            Phase::Running,
            "one failure is within failureLimit 1"
        );
        assert_eq!(steps[2].phase, Phase::Successful);
        assert_eq!(steps[2].next_measurement_at, None);
        assert_eq!((st.count, st.successful, st.failed), (3, 2, 1));

        let (_, steps) = feed(&m, &["Failed", "Failed"]);
        assert_eq!(steps[1].phase, Phase::Failed);

        let default_limit = metric(serde_json::json!({"name": "m", "interval": "30s"}));
        let (_, steps) = feed(&default_limit, &["Successful", "Successful", "Failed"]);
        assert_eq!(
            steps[1].phase,
            Phase::Running,
            "no count with an interval: unlimited"
        );
        assert_eq!(steps[2].phase, Phase::Failed, "failureLimit defaults to 0");

        let once = metric(serde_json::json!({"name": "m"}));
        assert_eq!(feed(&once, &["Successful"]).1[0].phase, Phase::Successful);

        let inc = metric(serde_json::json!({"name": "m", "interval": "1m", "inconclusiveLimit": 1}));
        let (_, steps) = feed(&inc, &["Inconclusive", "Inconclusive"]);
        assert_eq!(
            (steps[0].phase, steps[1].phase),
            (Phase::Running, Phase::Inconclusive)
        );
    }

    #[test]
    fn consecutive_errors() {
        let m = metric(serde_json::json!({"name": "m", "interval": "1m", "consecutiveErrorLimit": 2}));
        let (st, steps) = feed(&m, &["Error", "Error", "Successful", "Error", "Error", "Error"]);
        assert_eq!(steps[1].phase, Phase::Running);
        assert_eq!(
            steps[1].next_measurement_at,
            Some(ts(60 + DEFAULT_ERROR_RETRY_SECONDS)),
            "an error is retried after 10 s whatever the interval (Argo)"
        );
        assert_eq!(steps[4].phase, Phase::Running, "the success reset the streak");
        assert_eq!(steps[5].phase, Phase::Error);
        assert_eq!(st.error, 5);
        let no_interval = metric(serde_json::json!({"name": "m", "count": 2}));
        let (_, steps) = feed(&no_interval, &["Error"]);
        assert_eq!(
            steps[0].next_measurement_at,
            Some(ts(DEFAULT_ERROR_RETRY_SECONDS))
        );
        let default_limit = metric(serde_json::json!({"name": "m", "count": 10, "interval": "1s"}));
        let (_, steps) = feed(&default_limit, &["Error"; 5]);
        assert_eq!((steps[3].phase, steps[4].phase), (Phase::Running, Phase::Error));
    }

    #[test]
    fn initial_delay_and_bad_fields() {
        let m = metric(serde_json::json!({"name": "m", "initialDelay": "5m", "interval": "1m"}));
        let mut st = MetricResult::default();
        let s = next(&m, &mut st, None, ts(0)).expect("next");
        assert_eq!((s.phase, s.next_measurement_at), (Phase::Pending, Some(ts(300))));
        let bad =
            metric(serde_json::json!({"name": "m", "interval": "soon", "provider": {"web": {"url": "u"}}}));
        let e = validate(&bad).expect_err("bad interval");
        assert!(e.to_string().contains("interval \"soon\""), "{e}");
        let fine =
            metric(serde_json::json!({"name": "m", "interval": "500ms", "provider": {"web": {"url": "u"}}}));
        assert!(validate(&fine).is_ok());
        let m = Measurement {
            phase: "Successful".into(),
            finished_at: Some(ts(0)),
            ..Measurement::default()
        };
        let mut st = MetricResult::default();
        let s = next(&fine, &mut st, Some(m), ts(0)).expect("next");
        assert_eq!(
            s.next_measurement_at,
            ts(0).checked_add(SignedDuration::from_millis(500)).ok(),
            "sub-second intervals are exact"
        );
        let no_interval =
            metric(serde_json::json!({"name": "m", "count": 3, "provider": {"web": {"url": "u"}}}));
        assert!(validate(&no_interval).is_err_and(|e| e.to_string().contains("count 3 needs an interval")));
        let none = metric(serde_json::json!({"name": "m"}));
        assert!(validate(&none).is_err_and(|e| e.to_string().contains("exactly one provider")));
        let bad = metric(serde_json::json!({"name": "m", "failureLimit": "{{args.x}}"}));
        assert!(feed_err(&bad).contains("failureLimit"));
    }

    fn feed_err(m: &Metric) -> String {
        let mut st = MetricResult::default();
        let meas = Measurement {
            phase: "Failed".into(),
            finished_at: Some(ts(0)),
            ..Measurement::default()
        };
        next(m, &mut st, Some(meas), ts(0))
            .expect_err("error")
            .to_string()
    }

    #[test]
    fn run_phase_and_dry_run() {
        let dry = vec![DryRun {
            metric_name: "experimental".into(),
        }];
        let phases = vec![
            ("sr".to_string(), Phase::Successful),
            ("experimental".to_string(), Phase::Failed),
        ];
        assert_eq!(run_phase(&phases, &dry), Phase::Successful);
        assert_eq!(run_phase(&phases, &[]), Phase::Failed);
        let phases = vec![
            ("a".to_string(), Phase::Running),
            ("b".to_string(), Phase::Inconclusive),
        ];
        assert_eq!(run_phase(&phases, &[]), Phase::Inconclusive);
        assert_eq!(run_phase(&[("a".into(), Phase::Pending)], &[]), Phase::Running);
        assert!(is_dry_run(
            &[DryRun {
                metric_name: "*".into()
            }],
            "x"
        ));
    }
}
