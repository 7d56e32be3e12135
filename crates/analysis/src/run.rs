//! AnalysisRun level: build a run's spec from templates, and advance a run with new measurements (pure).

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::Error;
use crate::args::{resolve_args, resolve_metric};
use crate::measure::{Phase, is_dry_run, next, run_phase};
use crate::spec::{
    AnalysisRunSpec, AnalysisRunStatus, AnalysisTemplate, Argument, Measurement, MetricResult, RunSummary,
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

/// What [`advance`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStep {
    /// The run's phase.
    pub phase: Phase,
    /// Metrics due for a measurement now.
    pub due: Vec<String>,
    /// When the next metric is due (`None` when the run is over).
    pub next_at: Option<Timestamp>,
}

/// Records `measurements` (metric name → measurement) into `status`, then computes every metric's phase, the
/// run's phase (dry-run metrics excluded), the summaries, the message naming the failing metric and its value,
/// and which metrics are due at `now`. A terminated run (`spec.terminate`) ends Successful unless a metric
/// already failed, as in Argo.
pub fn advance(
    spec: &AnalysisRunSpec,
    status: &mut AnalysisRunStatus,
    measurements: Vec<(String, Measurement)>,
    now: Timestamp,
) -> Result<RunStep, Error> {
    let started = *status.started_at.get_or_insert(now);
    for (name, _) in &measurements {
        if !spec.metrics.iter().any(|m| &m.name == name) {
            return Err(Error::Metric {
                metric: name.clone(),
                reason: "measurement for a metric the run does not have".into(),
            });
        }
    }
    let mut incoming = measurements;
    let mut phases = Vec::with_capacity(spec.metrics.len());
    let mut due = Vec::new();
    let mut next_at: Option<Timestamp> = None;
    let mut summary = RunSummary::default();
    let mut dry_summary = RunSummary::default();
    let mut message = None;
    for metric in &spec.metrics {
        let pos = match status.metric_results.iter().position(|r| r.name == metric.name) {
            Some(p) => p,
            None => {
                status.metric_results.push(MetricResult {
                    name: metric.name.clone(),
                    ..MetricResult::default()
                });
                status.metric_results.len() - 1
            }
        };
        let result = &mut status.metric_results[pos];
        result.dry_run = is_dry_run(&spec.dry_run, &metric.name);
        let mut step = next(metric, result, None, started)?;
        while let Some(i) = incoming.iter().position(|(n, _)| n == &metric.name) {
            let (_, m) = incoming.remove(i);
            step = next(metric, result, Some(m), started)?;
        }
        let mut phase = step.phase;
        if spec.terminate && matches!(phase, Phase::Pending | Phase::Running) {
            phase = Phase::Successful;
            result.phase = phase.as_str().into();
        } else if let Some(at) = step.next_measurement_at {
            if at <= now {
                due.push(metric.name.clone());
            }
            next_at = Some(next_at.map_or(at, |n: Timestamp| n.min(at)));
        }
        let s = if result.dry_run {
            &mut dry_summary
        } else {
            &mut summary
        };
        s.count += 1;
        match phase {
            Phase::Successful => s.successful += 1,
            Phase::Failed => s.failed += 1,
            Phase::Inconclusive => s.inconclusive += 1,
            Phase::Error => s.error += 1,
            Phase::Pending | Phase::Running => {}
        }
        if !result.dry_run
            && message.is_none()
            && matches!(phase, Phase::Failed | Phase::Error | Phase::Inconclusive)
        {
            let last = result.measurements.last();
            let detail = last
                .and_then(|m| m.message.clone())
                .or_else(|| {
                    last.and_then(|m| m.value.clone())
                        .map(|v| format!("measured {v}"))
                })
                .unwrap_or_default();
            message = Some(format!(
                "metric {:?} assessed {}: {detail}",
                metric.name,
                phase.as_str()
            ));
        }
        phases.push((metric.name.clone(), phase));
    }
    let phase = run_phase(&phases, &spec.dry_run);
    let over = !matches!(phase, Phase::Running | Phase::Pending);
    status.phase = Some(phase.as_str().into());
    status.message = message;
    status.run_summary = Some(summary);
    status.dry_run_summary = (dry_summary.count > 0).then_some(dry_summary);
    Ok(RunStep {
        phase,
        due: if over { Vec::new() } else { due },
        next_at: if over { None } else { next_at },
    })
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
                {"name": "sr", "interval": "1m", "count": 2, "successCondition": "result[0] >= 0.95"},
                {"name": "lat", "interval": "1m", "count": 2}
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
            Some("metric \"sr\" assessed Failed: measured [0.42]")
        );
        assert_eq!(st.run_summary.as_ref().map(|r| (r.count, r.failed)), Some((1, 1)));
        assert_eq!(
            st.dry_run_summary.as_ref().map(|r| (r.count, r.failed)),
            Some((1, 1))
        );
        assert_eq!((s.due.len(), s.next_at), (0, None));
        assert!(
            advance(
                &spec,
                &mut st,
                vec![("nope".into(), meas("Failed", "1", 60))],
                t(60)
            )
            .is_err()
        );
    }

    #[test]
    fn terminate_ends_running_metrics() {
        let mut spec: AnalysisRunSpec = serde_json::from_value(json!({
            "metrics": [{"name": "sr", "interval": "1m", "successCondition": "result > 1"}]
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
    }
}
