//! The `argoproj.io/v1alpha1` `Experiment`: its types (Argo Rollouts' field names) and its state machine,
//! without I/O and without reading a clock.
//!
//! The controller observes the Experiment's ReplicaSets (one per template, named `<experiment>-<template>`) and
//! its AnalysisRuns, calls [`reconcile_experiment`] with the current time, and carries out the returned
//! [`ExperimentDecision`]. The rules are Argo Rollouts':
//!
//! 1. Each template gets a ReplicaSet with `replicas` pods (default 1). A template is `Progressing` until all its
//!    pods are available, then `Running`; one that makes no progress for `progressDeadlineSeconds` (default
//!    600) is `Failed`, and fails the Experiment.
//! 2. When every template is `Running` the Experiment records `availableAt` and goes from `Pending` to
//!    `Running`; only then an AnalysisRun `<experiment>-<analysis>` is created for each of `spec.analyses`.
//! 3. After `duration` (counted from `availableAt`) the templates are `Successful` and the Experiment ends with
//!    the worst result of its analyses (`Successful` when there are none, or when they are still running: those
//!    are terminated).
//! 4. A Failed, Error or Inconclusive AnalysisRun ends the Experiment at once with that phase and its message.
//! 5. With `requiredForCompletion` analyses the Experiment ends `Successful` once all of them succeeded, even
//!    before `duration`, and not before they finished, even after it.
//! 6. Without `duration` and without required analyses it runs until `spec.terminate: true`.
//! 7. Once ended (or terminating) the ReplicaSets are scaled to zero, the template Services deleted, and
//!    AnalysisRuns still measuring are terminated.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use crate::spec::ObjectMetadata;
use crate::spec::{AnalysisRunArgument, DryRun, IntOrString, MeasurementRetention, RolloutCondition};
use crate::{AnalysisPhase, Error, Requeue, add_seconds, parse_duration_seconds};

/// Argo's default `progressDeadlineSeconds` of an Experiment.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i64 = 600;
/// Label on the Experiment's ReplicaSets and pods naming the template (tack's name; Argo has none).
pub const TEMPLATE_LABEL: &str = "experiments.argoproj.io/template";
/// Message of an Experiment that ended because its required analyses succeeded (Argo's text).
pub const REQUIRED_ANALYSIS_COMPLETED: &str = "Required AnalysisRuns completed";

/// A whole `Experiment` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Experiment {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `Experiment`.
    pub kind: String,
    /// Object metadata, kept as JSON.
    pub metadata: Value,
    /// What the user asks for.
    pub spec: ExperimentSpec,
    /// What the controller reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ExperimentStatus>,
}

/// `Experiment.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentSpec {
    /// Pod templates, each run as one ReplicaSet.
    pub templates: Vec<ExperimentTemplate>,
    /// How long the Experiment runs once every template is available (a Go duration or seconds); absent: until
    /// terminated or until the required analyses complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<IntOrString>,
    /// Seconds a template may go without progress before the Experiment fails (default 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
    /// Stop the Experiment now.
    pub terminate: bool,
    /// AnalysisRuns started once the templates are available.
    pub analyses: Vec<ExperimentAnalysis>,
    /// Metrics (of every analysis) run in dry-run mode.
    pub dry_run: Vec<DryRun>,
    /// Measurements kept per metric.
    pub measurement_retention: Vec<MeasurementRetention>,
    /// Labels and annotations added to the AnalysisRuns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis_run_metadata: Option<ObjectMetadata>,
    /// Delay before the ReplicaSets are scaled down (Argo's weighted experiments; refused by tack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i32>,
}

/// `spec.templates[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentTemplate {
    /// Template name; the ReplicaSet is `<experiment>-<name>`.
    pub name: String,
    /// Pods (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Seconds a pod must be ready before it counts as available.
    pub min_ready_seconds: i32,
    /// Label selector (kept as JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Value>,
    /// Pod template (kept as JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// Create a Service selecting the template's pods (named `name`, default the ReplicaSet's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<TemplateService>,
}

/// `spec.templates[].service`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TemplateService {
    /// Service name (default: the ReplicaSet's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `spec.analyses[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentAnalysis {
    /// Name within the Experiment; the AnalysisRun is `<experiment>-<name>`.
    pub name: String,
    /// The AnalysisTemplate (or ClusterAnalysisTemplate) to run.
    pub template_name: String,
    /// `templateName` names a ClusterAnalysisTemplate.
    pub cluster_scope: bool,
    /// Arguments; `{{templates.<name>.podTemplateHash}}` and `{{templates.<name>.replicaset.name}}` are
    /// replaced by the template's ReplicaSet hash and name.
    pub args: Vec<AnalysisRunArgument>,
    /// The Experiment does not end before this analysis completes.
    pub required_for_completion: bool,
}

/// `Experiment.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentStatus {
    /// `Pending`, `Running`, `Successful`, `Failed`, `Error` or `Inconclusive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why the phase is what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// One entry per template.
    pub template_statuses: Vec<TemplateStatus>,
    /// When every template became available (the start of `duration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_at: Option<Timestamp>,
    /// One entry per started analysis.
    pub analysis_runs: Vec<ExperimentAnalysisRunStatus>,
    /// Conditions (`Progressing`).
    pub conditions: Vec<RolloutCondition>,
}

/// `status.templateStatuses[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TemplateStatus {
    /// Template name.
    pub name: String,
    /// Pods of its ReplicaSet.
    pub replicas: i32,
    /// Pods of its ReplicaSet (all of the current template).
    pub updated_replicas: i32,
    /// Ready pods.
    pub ready_replicas: i32,
    /// Available pods.
    pub available_replicas: i32,
    /// `Progressing`, `Running`, `Successful`, `Failed` or `Error`.
    pub status: String,
    /// Why (e.g. the progress deadline passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last change of the pod counts or of `status` (the progress deadline counts from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Timestamp>,
    /// The template's Service, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `rollouts-pod-template-hash` of its ReplicaSet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_template_hash: Option<String>,
}

/// `status.analysisRuns[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentAnalysisRunStatus {
    /// Analysis name (`spec.analyses[].name`).
    pub name: String,
    /// AnalysisRun name.
    pub analysis_run: String,
    /// Its phase.
    pub phase: String,
    /// Its message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Template statuses (Argo's names).
pub mod template_status {
    /// Pods are being created or are not all available yet.
    pub const PROGRESSING: &str = "Progressing";
    /// Every pod is available.
    pub const RUNNING: &str = "Running";
    /// Ran for the whole duration (or until terminated).
    pub const SUCCESSFUL: &str = "Successful";
    /// Passed its progress deadline.
    pub const FAILED: &str = "Failed";
    /// Something went wrong creating or scaling its objects.
    pub const ERROR: &str = "Error";
}

/// The ReplicaSet of one template as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateReplicaSet {
    /// Template name.
    pub template: String,
    /// Its `rollouts-pod-template-hash`.
    pub pod_template_hash: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.replicas`.
    pub current: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// One AnalysisRun of the Experiment as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRunObservation {
    /// AnalysisRun name.
    pub name: String,
    /// Its phase.
    pub phase: AnalysisPhase,
    /// Its message.
    pub message: Option<String>,
}

/// Everything [`reconcile_experiment`] reads besides the Experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentObserved {
    /// The Experiment's ReplicaSets.
    pub replica_sets: Vec<TemplateReplicaSet>,
    /// The Experiment's AnalysisRuns.
    pub analysis_runs: Vec<ExperimentRunObservation>,
    /// The current time.
    pub now: Timestamp,
}

/// Desired size of one template's ReplicaSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateScale {
    /// Template name.
    pub template: String,
    /// Desired `spec.replicas`.
    pub replicas: i32,
    /// It does not exist yet: create it ([`replica_set_name`], hash [`template_hash`]).
    pub create: bool,
}

/// An AnalysisRun to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExperimentRun {
    /// Its name, `<experiment>-<analysis>`.
    pub name: String,
    /// The analysis it comes from (templates, `clusterScope`, `requiredForCompletion`).
    pub analysis: ExperimentAnalysis,
    /// The arguments with `{{templates.…}}` resolved, or why they cannot be (the run is then created in
    /// phase Error with this message).
    pub args: Result<Vec<AnalysisRunArgument>, String>,
}

/// Something to record as an Event on the Experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentEvent {
    /// Warning rather than Normal.
    pub warning: bool,
    /// Reason, e.g. `TemplateRunning`, `AnalysisRunFailed`.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// The outcome of one reconcile of an Experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentDecision {
    /// Desired size of every template's ReplicaSet.
    pub replica_sets: Vec<TemplateScale>,
    /// Template name → Service name, for templates whose Service must exist.
    pub services: Vec<(String, String)>,
    /// Services to delete (their templates were scaled to zero).
    pub delete_services: Vec<String>,
    /// AnalysisRuns to create.
    pub create_runs: Vec<NewExperimentRun>,
    /// AnalysisRuns to terminate (`spec.terminate: true`).
    pub terminate_runs: Vec<String>,
    /// The status to write.
    pub status: ExperimentStatus,
    /// Events of template and analysis transitions and of the end of the Experiment.
    pub events: Vec<ExperimentEvent>,
    /// Reconcile again after this long at the latest (duration, progress deadline).
    pub requeue_after: Option<Duration>,
}

/// The Experiment's name (`metadata.name`).
pub fn name(ex: &Experiment) -> &str {
    ex.metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("experiment")
}

/// `<experiment>-<template>`, the name of a template's ReplicaSet (and default name of its Service).
pub fn replica_set_name(experiment: &str, template: &str) -> String {
    format!("{experiment}-{template}")
}

/// The AnalysisRun of analysis `analysis`: `<experiment>-<analysis>`.
pub fn analysis_run_name(experiment: &str, analysis: &str) -> String {
    format!("{experiment}-{analysis}")
}

/// `rollouts-pod-template-hash` of a template's pods: a hash of the pod template together with the Experiment
/// and template names, so that (as in Argo Rollouts) it differs from the hash of the Rollout's ReplicaSet with
/// the same pod spec and the Experiment's pods can be queried apart.
pub fn template_hash(experiment: &str, template: &ExperimentTemplate) -> String {
    crate::stable_hash(&json!({
        "experiment": experiment,
        "template": template.name,
        "pod": template.template.clone().unwrap_or(Value::Null),
    }))
}

fn phase_of(s: Option<&str>) -> Option<AnalysisPhase> {
    s.and_then(AnalysisPhase::parse)
}

/// Whether the Experiment ended.
pub fn finished(status: Option<&ExperimentStatus>) -> bool {
    status
        .and_then(|s| phase_of(s.phase.as_deref()))
        .is_some_and(AnalysisPhase::completed)
}

/// Argo's `RequiredAnalysisRunsSuccessful`: there are required analyses and all of them succeeded.
fn required_runs_successful(ex: &Experiment, st: &ExperimentStatus) -> bool {
    let required: Vec<&ExperimentAnalysis> = ex
        .spec
        .analyses
        .iter()
        .filter(|a| a.required_for_completion)
        .collect();
    !required.is_empty()
        && required.iter().all(|a| {
            st.analysis_runs
                .iter()
                .any(|r| r.name == a.name && r.phase == AnalysisPhase::Successful.as_str())
        })
}

/// Argo's `IsTerminating`: terminated by the user, ended, a template failed, an analysis did not succeed, or
/// every required analysis succeeded.
pub fn is_terminating(ex: &Experiment, st: &ExperimentStatus) -> bool {
    ex.spec.terminate
        || finished(Some(st))
        || st
            .template_statuses
            .iter()
            .any(|t| t.status == template_status::FAILED || t.status == template_status::ERROR)
        || st.analysis_runs.iter().any(|r| {
            matches!(
                AnalysisPhase::parse(&r.phase),
                Some(AnalysisPhase::Failed | AnalysisPhase::Error | AnalysisPhase::Inconclusive)
            )
        })
        || required_runs_successful(ex, st)
}

/// What is wrong with an Experiment spec that the controller cannot act on (before anything is created).
pub fn invalid_spec(ex: &Experiment) -> Option<String> {
    if ex.spec.templates.is_empty() {
        return Some("spec.templates: at least one template is required".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in ex.spec.templates.iter().enumerate() {
        if t.name.is_empty() {
            return Some(format!("spec.templates[{i}].name is required"));
        }
        if !seen.insert(t.name.as_str()) {
            return Some(format!("spec.templates[{i}].name {:?} is used twice", t.name));
        }
        if t.template.is_none() {
            return Some(format!("spec.templates[{i}].template is required"));
        }
        if t.replicas.is_some_and(|r| r < 0) {
            return Some(format!("spec.templates[{i}].replicas must not be negative"));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, a) in ex.spec.analyses.iter().enumerate() {
        if a.name.is_empty() || a.template_name.is_empty() {
            return Some(format!("spec.analyses[{i}]: name and templateName are required"));
        }
        if !names.insert(a.name.as_str()) {
            return Some(format!("spec.analyses[{i}].name {:?} is used twice", a.name));
        }
    }
    if let Some(d) = &ex.spec.duration
        && let Err(e) = parse_duration_seconds(d)
    {
        return Some(format!("spec.duration: {e}"));
    }
    if ex.spec.scale_down_delay_seconds.is_some() {
        return Some("spec.scaleDownDelaySeconds is not supported by tack; remove it".into());
    }
    None
}

/// Reconciles an Experiment: templates, then analyses, then the phase (Argo's `calculateStatus`).
pub fn reconcile_experiment(
    ex: &Experiment,
    observed: &ExperimentObserved,
) -> Result<ExperimentDecision, Error> {
    let prev = ex.status.clone().unwrap_or_default();
    let duration = ex
        .spec
        .duration
        .as_ref()
        .map(parse_duration_seconds)
        .transpose()?;
    let mut w = ExWork {
        ex,
        observed,
        now: observed.now,
        terminating: is_terminating(ex, &prev),
        passed_duration: passed_duration(duration, prev.available_at, observed.now),
        st: prev.clone(),
        decision_sets: Vec::new(),
        services: Vec::new(),
        delete_services: Vec::new(),
        create_runs: Vec::new(),
        terminate_runs: Vec::new(),
        events: Vec::new(),
        requeue: Requeue(None),
    };
    for t in &ex.spec.templates {
        w.template(t);
    }
    for a in &ex.spec.analyses {
        w.analysis(a);
    }
    w.phase();
    w.requeue_for(duration);
    Ok(ExperimentDecision {
        replica_sets: w.decision_sets,
        services: w.services,
        delete_services: w.delete_services,
        create_runs: w.create_runs,
        terminate_runs: w.terminate_runs,
        status: w.st,
        events: w.events,
        requeue_after: w.requeue.0,
    })
}

fn passed_duration(duration: Option<i64>, available_at: Option<Timestamp>, now: Timestamp) -> bool {
    match (duration, available_at) {
        (Some(d), Some(at)) => now >= add_seconds(at, d),
        _ => false,
    }
}

struct ExWork<'a> {
    ex: &'a Experiment,
    observed: &'a ExperimentObserved,
    now: Timestamp,
    terminating: bool,
    passed_duration: bool,
    st: ExperimentStatus,
    decision_sets: Vec<TemplateScale>,
    services: Vec<(String, String)>,
    delete_services: Vec<String>,
    create_runs: Vec<NewExperimentRun>,
    terminate_runs: Vec<String>,
    events: Vec<ExperimentEvent>,
    requeue: Requeue,
}

impl ExWork<'_> {
    fn event(&mut self, warning: bool, reason: String, message: String) {
        self.events.push(ExperimentEvent {
            warning,
            reason,
            message,
        });
    }

    fn deadline_seconds(&self) -> i64 {
        self.ex
            .spec
            .progress_deadline_seconds
            .map_or(DEFAULT_PROGRESS_DEADLINE_SECONDS, i64::from)
    }

    /// One template: its ReplicaSet's size and Service, its counts and its status (Argo's `reconcileTemplate`).
    fn template(&mut self, t: &ExperimentTemplate) {
        let now = self.now;
        let prev = self
            .st
            .template_statuses
            .iter()
            .find(|s| s.name == t.name)
            .cloned()
            .unwrap_or_else(|| TemplateStatus {
                name: t.name.clone(),
                ..Default::default()
            });
        let mut ts = prev.clone();
        let desired = if finished(self.ex.status.as_ref()) {
            0
        } else {
            t.replicas.unwrap_or(1).max(0)
        };
        let rs = self.observed.replica_sets.iter().find(|r| r.template == t.name);
        match rs {
            None => {
                if desired > 0 {
                    self.decision_sets.push(TemplateScale {
                        template: t.name.clone(),
                        replicas: desired,
                        create: true,
                    });
                    ts.last_transition_time = Some(now);
                }
            }
            Some(r) => {
                self.template_service(t, &mut ts, desired, r);
                if r.replicas != desired {
                    ts.last_transition_time = Some(now);
                }
                self.decision_sets.push(TemplateScale {
                    template: t.name.clone(),
                    replicas: desired,
                    create: false,
                });
            }
        }
        ts.pod_template_hash = rs.map(|r| r.pod_template_hash.clone());
        ts.replicas = rs.map_or(0, |r| r.current);
        ts.updated_replicas = ts.replicas;
        ts.ready_replicas = rs.map_or(0, |r| r.ready);
        ts.available_replicas = rs.map_or(0, |r| r.available);
        if (prev.replicas, prev.ready_replicas, prev.available_replicas)
            != (ts.replicas, ts.ready_replicas, ts.available_replicas)
        {
            ts.last_transition_time = Some(now);
        }
        if !template_completed(&ts.status) {
            self.assess_template(t, &mut ts, desired);
        }
        if prev.status != ts.status {
            let mut msg = format!(
                "Template '{}' transitioned from {} -> {}",
                t.name,
                if prev.status.is_empty() {
                    "\"\""
                } else {
                    prev.status.as_str()
                },
                ts.status
            );
            if let Some(m) = &ts.message {
                msg = format!("{msg}: {m}");
            }
            let warning = ts.status == template_status::FAILED || ts.status == template_status::ERROR;
            self.event(warning, format!("Template{}", ts.status), msg);
        }
        match self.st.template_statuses.iter_mut().find(|s| s.name == t.name) {
            Some(s) => *s = ts,
            None => self.st.template_statuses.push(ts),
        }
    }

    /// The template's Service exists while it has pods, and goes once they are gone.
    fn template_service(
        &mut self,
        t: &ExperimentTemplate,
        ts: &mut TemplateStatus,
        desired: i32,
        rs: &TemplateReplicaSet,
    ) {
        let Some(svc) = &t.service else {
            return;
        };
        let experiment = name(self.ex);
        let svc_name = svc
            .name
            .clone()
            .unwrap_or_else(|| replica_set_name(experiment, &t.name));
        if desired != 0 {
            self.services.push((t.name.clone(), svc_name.clone()));
            ts.service_name = Some(svc_name);
        } else if rs.available == 0 && ts.service_name.is_some() {
            self.delete_services.push(svc_name);
            ts.service_name = None;
        }
    }

    /// Argo's template assessment: Running once every pod is available (Successful after the duration or
    /// when terminating); otherwise Progressing until the progress deadline, then Failed.
    fn assess_template(&mut self, t: &ExperimentTemplate, ts: &mut TemplateStatus, desired: i32) {
        if desired == ts.available_replicas {
            ts.status = if self.passed_duration || self.terminating {
                template_status::SUCCESSFUL
            } else {
                template_status::RUNNING
            }
            .into();
            return;
        }
        let from = ts.last_transition_time.unwrap_or(self.now);
        let deadline = self.deadline_seconds();
        let at = add_seconds(from, deadline);
        if self.now > at {
            ts.status = template_status::FAILED.into();
            ts.message = Some(format!(
                "Template '{}' exceeded its progressDeadlineSeconds ({deadline})",
                t.name
            ));
        } else if self.terminating {
            ts.status = template_status::SUCCESSFUL.into();
        } else {
            ts.status = template_status::PROGRESSING.into();
            self.requeue.at(self.now, add_seconds(at, 1));
        }
    }

    /// One analysis: created once the Experiment is available, then followed (Argo's `reconcileAnalysisRun`).
    fn analysis(&mut self, a: &ExperimentAnalysis) {
        if self.st.available_at.is_none() {
            return;
        }
        let prev = self.st.analysis_runs.iter().find(|r| r.name == a.name).cloned();
        let experiment = name(self.ex);
        let mut next = match prev.clone() {
            None if self.terminating => return,
            None => {
                let run = analysis_run_name(experiment, &a.name);
                self.create_runs.push(NewExperimentRun {
                    name: run.clone(),
                    analysis: a.clone(),
                    args: resolve_args(experiment, &self.ex.spec.templates, &self.st, &a.args),
                });
                ExperimentAnalysisRunStatus {
                    name: a.name.clone(),
                    analysis_run: run,
                    phase: AnalysisPhase::Pending.as_str().into(),
                    message: None,
                }
            }
            Some(p) if AnalysisPhase::parse(&p.phase).is_some_and(AnalysisPhase::completed) => return,
            Some(p) => {
                let mut n = p.clone();
                match self
                    .observed
                    .analysis_runs
                    .iter()
                    .find(|r| r.name == p.analysis_run)
                {
                    None => {
                        n.phase = AnalysisPhase::Error.as_str().into();
                        n.message = Some(format!("AnalysisRun {:?} not found", p.analysis_run));
                    }
                    Some(run) if self.terminating => {
                        if !run.phase.completed() {
                            self.terminate_runs.push(run.name.clone());
                            self.event(
                                false,
                                "AnalysisRunTerminating".into(),
                                format!("Terminating {} ({})", a.name, run.name),
                            );
                        }
                    }
                    Some(run) => {
                        n.phase = run.phase.as_str().into();
                        n.message = run.message.clone();
                    }
                }
                n
            }
        };
        let prev_phase = prev.as_ref().map(|p| p.phase.clone()).unwrap_or_default();
        if prev_phase != next.phase {
            let mut msg = format!(
                "AnalysisRun '{}' transitioned from {} -> {}",
                a.name,
                if prev_phase.is_empty() {
                    "\"\""
                } else {
                    prev_phase.as_str()
                },
                next.phase
            );
            if let Some(m) = &next.message {
                msg = format!("{msg}: {m}");
            }
            let warning = matches!(next.phase.as_str(), "Failed" | "Error" | "Inconclusive");
            self.event(warning, format!("AnalysisRun{}", next.phase), msg);
        }
        if next.message.as_deref() == Some("") {
            next.message = None;
        }
        match self.st.analysis_runs.iter_mut().find(|r| r.name == a.name) {
            Some(r) => *r = next,
            None => self.st.analysis_runs.push(next),
        }
    }

    /// The Experiment's phase from its templates and analyses (Argo's `calculateStatus`).
    fn phase(&mut self) {
        let before = self.st.phase.clone();
        match phase_of(self.st.phase.as_deref()) {
            None => {
                self.st.phase = Some(AnalysisPhase::Pending.as_str().into());
            }
            Some(AnalysisPhase::Pending | AnalysisPhase::Running) => self.assess(),
            Some(_) => {}
        }
        self.progressing_condition();
        if before != self.st.phase {
            let phase = self.st.phase.clone().unwrap_or_default();
            let warning = matches!(phase.as_str(), "Failed" | "Error" | "Inconclusive");
            let msg = match &self.st.message {
                Some(m) if !m.is_empty() => format!("Experiment is {phase}: {m}"),
                _ => format!("Experiment is {phase}"),
            };
            self.event(warning, format!("Experiment{phase}"), msg);
        }
    }

    fn assess(&mut self) {
        let (templates, template_msg) = self.assess_templates();
        let (analyses, analyses_msg) = self.assess_analyses();
        if templates == AnalysisPhase::Running && self.st.available_at.is_none() {
            self.st.available_at = Some(self.now);
        }
        let (phase, message) = if templates.completed() {
            let defer =
                analyses.completed() || self.ex.spec.analyses.iter().any(|a| a.required_for_completion);
            if templates == AnalysisPhase::Successful && defer {
                (analyses, analyses_msg)
            } else {
                (templates, template_msg)
            }
        } else if (analyses.completed() && analyses != AnalysisPhase::Successful)
            || required_runs_successful(self.ex, &self.st)
        {
            (analyses, analyses_msg)
        } else {
            (templates, template_msg)
        };
        self.st.phase = Some(phase.as_str().into());
        self.st.message = message.filter(|m| !m.is_empty());
    }

    /// The worst template status as an Experiment phase (Progressing → Pending).
    fn assess_templates(&self) -> (AnalysisPhase, Option<String>) {
        let order = |s: &str| match s {
            template_status::SUCCESSFUL => 0,
            template_status::RUNNING => 1,
            template_status::ERROR => 3,
            template_status::FAILED => 4,
            _ => 2,
        };
        let mut worst = template_status::SUCCESSFUL;
        let mut message = None;
        for t in &self.ex.spec.templates {
            match self.st.template_statuses.iter().find(|s| s.name == t.name) {
                None => {
                    if order(worst) < 2 {
                        worst = template_status::PROGRESSING;
                    }
                }
                Some(s) if order(&s.status) > order(worst) => {
                    worst = match s.status.as_str() {
                        template_status::RUNNING => template_status::RUNNING,
                        template_status::ERROR => template_status::ERROR,
                        template_status::FAILED => template_status::FAILED,
                        _ => template_status::PROGRESSING,
                    };
                    message = s.message.clone();
                }
                Some(_) => {}
            }
        }
        let phase = match worst {
            template_status::PROGRESSING => AnalysisPhase::Pending,
            template_status::FAILED => AnalysisPhase::Failed,
            template_status::ERROR => AnalysisPhase::Error,
            template_status::SUCCESSFUL => AnalysisPhase::Successful,
            _ => AnalysisPhase::Running,
        };
        (phase, message)
    }

    /// The worst analysis phase (Successful < Running < Pending < Inconclusive < Error < Failed); Pending is
    /// reported as Running, and the required analyses having succeeded as Successful.
    fn assess_analyses(&self) -> (AnalysisPhase, Option<String>) {
        let order = |p: AnalysisPhase| match p {
            AnalysisPhase::Successful => 0,
            AnalysisPhase::Running => 1,
            AnalysisPhase::Pending => 2,
            AnalysisPhase::Inconclusive => 3,
            AnalysisPhase::Error => 4,
            AnalysisPhase::Failed => 5,
        };
        let mut worst = AnalysisPhase::Successful;
        let mut message = None;
        for a in &self.ex.spec.analyses {
            let Some(r) = self.st.analysis_runs.iter().find(|r| r.name == a.name) else {
                continue;
            };
            if let Some(p) = AnalysisPhase::parse(&r.phase)
                && order(p) > order(worst)
            {
                worst = p;
                message = r.message.clone();
            }
        }
        if required_runs_successful(self.ex, &self.st) && order(worst) <= order(AnalysisPhase::Pending) {
            return (
                AnalysisPhase::Successful,
                Some(REQUIRED_ANALYSIS_COMPLETED.into()),
            );
        }
        if worst == AnalysisPhase::Pending {
            worst = AnalysisPhase::Running;
        }
        (worst, message)
    }

    /// `Progressing`: True while pending or running, False once ended (Argo's reasons).
    fn progressing_condition(&mut self) {
        let phase = self.st.phase.clone().unwrap_or_default();
        let (status, reason, message) = match phase.as_str() {
            "Pending" => (
                "True",
                "ReplicaSetUpdated",
                "Experiment is progressing".to_string(),
            ),
            "Running" => ("True", "ReplicaSetUpdated", "Experiment is running".to_string()),
            _ => (
                "False",
                "ExperimentCompleted",
                format!("Experiment \"{}\" has completed", name(self.ex)),
            ),
        };
        let now = self.now;
        let pos = self.st.conditions.iter().position(|c| c.type_ == "Progressing");
        let unchanged = pos.is_some_and(|i| {
            let c = &self.st.conditions[i];
            c.status == status
                && c.reason.as_deref() == Some(reason)
                && c.message.as_deref() == Some(&message)
        });
        if unchanged {
            return;
        }
        let cond = RolloutCondition {
            type_: "Progressing".into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_update_time: Some(now),
            last_transition_time: match pos {
                Some(i) if self.st.conditions[i].status == status => {
                    self.st.conditions[i].last_transition_time
                }
                _ => Some(now),
            },
        };
        match pos {
            Some(i) => self.st.conditions[i] = cond,
            None => self.st.conditions.push(cond),
        }
    }

    /// Requeue at the end of the duration (progress deadlines were added by the templates).
    fn requeue_for(&mut self, duration: Option<i64>) {
        if is_terminating(self.ex, &self.st) {
            self.requeue.0 = None;
            return;
        }
        if let (Some(d), Some(at)) = (duration, self.st.available_at) {
            let end = add_seconds(at, d);
            if self.now < end {
                self.requeue.at(self.now, end);
            }
        }
    }
}

fn template_completed(status: &str) -> bool {
    matches!(
        status,
        template_status::SUCCESSFUL | template_status::FAILED | template_status::ERROR
    )
}

/// Replaces `{{templates.<name>.podTemplateHash}}`, `{{templates.<name>.replicaset.name}}` and
/// `{{experiment.availableAt}}` in the arguments' values (Argo's `ResolveExperimentArgsValue`); other
/// placeholders are left to the AnalysisRun. A template without a ReplicaSet yet is an error.
pub fn resolve_args(
    experiment: &str,
    templates: &[ExperimentTemplate],
    st: &ExperimentStatus,
    args: &[AnalysisRunArgument],
) -> Result<Vec<AnalysisRunArgument>, String> {
    args.iter()
        .map(|a| {
            let mut out = a.clone();
            if let Some(v) = &a.value {
                out.value = Some(resolve_value(experiment, templates, st, v)?);
            }
            if a.value_from.as_ref().is_some_and(|v| v.pod_template_hash_value.is_some() || v.field_ref.is_some()) {
                return Err(format!(
                    "argument {:?}: valueFrom.podTemplateHashValue and valueFrom.fieldRef are for Rollouts; use \
                     {{{{templates.<name>.podTemplateHash}}}} in an Experiment",
                    a.name
                ));
            }
            Ok(out)
        })
        .collect()
}

fn resolve_value(
    experiment: &str,
    templates: &[ExperimentTemplate],
    st: &ExperimentStatus,
    value: &str,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        match placeholder(experiment, templates, st, inner)? {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn placeholder(
    experiment: &str,
    templates: &[ExperimentTemplate],
    st: &ExperimentStatus,
    inner: &str,
) -> Result<Option<String>, String> {
    if inner == "experiment.availableAt" {
        return Ok(st.available_at.map(|t| t.to_string()));
    }
    let Some(path) = inner.strip_prefix("templates.") else {
        return Ok(None);
    };
    let (template, field) = path
        .split_once('.')
        .ok_or_else(|| format!("{{{{{inner}}}}}: expected templates.<name>.podTemplateHash"))?;
    if !templates.iter().any(|t| t.name == template) {
        return Err(format!(
            "{{{{{inner}}}}}: the Experiment has no template {template:?}"
        ));
    }
    match field {
        "podTemplateHash" => st
            .template_statuses
            .iter()
            .find(|t| t.name == template)
            .and_then(|t| t.pod_template_hash.clone())
            .map(Some)
            .ok_or_else(|| format!("{{{{{inner}}}}}: template {template:?} has no ReplicaSet yet")),
        "replicaset.name" => Ok(Some(replica_set_name(experiment, template))),
        other => Err(format!(
            "{{{{{inner}}}}}: unknown field {other:?} (podTemplateHash or replicaset.name)"
        )),
    }
}

/// The pod templates a Rollout's `experiment` step refers to with `specRef`.
#[derive(Debug, Clone, Copy)]
pub struct StepSources<'a> {
    /// The Rollout's current pod template (`specRef: canary`).
    pub canary_template: &'a Value,
    /// The stable ReplicaSet's pod template (`specRef: stable`).
    pub stable_template: &'a Value,
    /// The Rollout's selector.
    pub selector: Option<&'a Value>,
    /// The Rollout's `minReadySeconds`.
    pub min_ready_seconds: i32,
}

/// The Experiment a canary `experiment` step creates (Argo's `GetExperimentFromTemplate`): each template runs
/// the canary or stable pod template (`specRef`) with its own `metadata` added, the Rollout's selector (or the
/// template's), both without `rollouts-pod-template-hash`; `duration`, `analyses`, `dryRun`,
/// `measurementRetention`, `analysisRunMetadata` and the Rollout's `progressDeadlineSeconds` are copied. The
/// object is labelled with the canary hash and annotated with the revision; the caller adds the namespace and
/// the owner reference.
pub fn from_step(
    rollout: &crate::spec::Rollout,
    name: &str,
    hash: &str,
    step: &crate::spec::RolloutExperimentStep,
    src: StepSources<'_>,
) -> Result<Value, String> {
    let mut templates = Vec::new();
    for t in &step.templates {
        let pod = match t.spec_ref.as_str() {
            "canary" => src.canary_template,
            "stable" => src.stable_template,
            other => {
                return Err(format!(
                    "experiment template {:?}: specRef {other:?} must be canary or stable",
                    t.name
                ));
            }
        };
        let mut pod = pod.clone();
        if !pod.get("metadata").is_some_and(Value::is_object) {
            pod["metadata"] = json!({});
        }
        for (field, add) in [
            ("labels", t.metadata.as_ref().map(|m| &m.labels)),
            ("annotations", t.metadata.as_ref().map(|m| &m.annotations)),
        ] {
            if !pod["metadata"].get(field).is_some_and(Value::is_object) {
                pod["metadata"][field] = json!({});
            }
            for (k, v) in add.into_iter().flatten() {
                pod["metadata"][field][k] = json!(v);
            }
        }
        if let Some(labels) = pod["metadata"]["labels"].as_object_mut() {
            labels.remove(crate::POD_TEMPLATE_HASH_LABEL);
        }
        let mut selector = t
            .selector
            .clone()
            .or_else(|| src.selector.cloned())
            .unwrap_or_else(|| json!({"matchLabels": pod["metadata"]["labels"].clone()}));
        if let Some(m) = selector.get_mut("matchLabels").and_then(Value::as_object_mut) {
            m.remove(crate::POD_TEMPLATE_HASH_LABEL);
        }
        let mut template = json!({
            "name": t.name,
            "minReadySeconds": src.min_ready_seconds,
            "selector": selector,
            "template": pod,
        });
        if let Some(r) = t.replicas {
            template["replicas"] = json!(r);
        }
        if let Some(s) = &t.service {
            template["service"] = serde_json::to_value(s).map_err(|e| e.to_string())?;
        }
        templates.push(template);
    }
    let mut spec = json!({
        "templates": templates,
        "analyses": step.analyses,
    });
    if let Some(d) = &step.duration {
        spec["duration"] = serde_json::to_value(d).map_err(|e| e.to_string())?;
    }
    if let Some(p) = rollout.spec.progress_deadline_seconds {
        spec["progressDeadlineSeconds"] = json!(p);
    }
    if !step.dry_run.is_empty() {
        spec["dryRun"] = json!(step.dry_run);
    }
    if !step.measurement_retention.is_empty() {
        spec["measurementRetention"] = json!(step.measurement_retention);
    }
    if let Some(m) = &step.analysis_run_metadata {
        spec["analysisRunMetadata"] = json!(m);
    }
    let mut meta = json!({"name": name, "labels": {crate::POD_TEMPLATE_HASH_LABEL: hash}});
    if let Some(rev) = crate::revision(rollout) {
        meta["annotations"] = json!({crate::REVISION_ANNOTATION: rev});
    }
    Ok(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": meta,
        "spec": spec,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + secs).expect("time")
    }

    fn experiment(spec: Value) -> Experiment {
        serde_json::from_value(json!({"metadata": {"name": "ex"}, "spec": spec})).expect("experiment")
    }

    fn two_templates(extra: Value) -> Experiment {
        let mut spec = json!({"templates": [
            {"name": "baseline", "replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}}},
            {"name": "canary", "template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}},
        ]});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        experiment(spec)
    }

    /// A simulated cluster: ReplicaSets take their desired sizes (pods available unless `slow`), runs are
    /// created Pending and take the phases in `runs`.
    struct Sim {
        ex: Experiment,
        rss: Vec<TemplateReplicaSet>,
        runs: Vec<ExperimentRunObservation>,
        now: Timestamp,
        slow: bool,
        terminated: Vec<String>,
        created: Vec<NewExperimentRun>,
    }

    impl Sim {
        fn new(ex: Experiment) -> Self {
            Sim {
                ex,
                rss: vec![],
                runs: vec![],
                now: t(0),
                slow: false,
                terminated: vec![],
                created: vec![],
            }
        }

        fn step(&mut self) -> ExperimentDecision {
            let observed = ExperimentObserved {
                replica_sets: self.rss.clone(),
                analysis_runs: self.runs.clone(),
                now: self.now,
            };
            let d = reconcile_experiment(&self.ex, &observed).expect("reconcile");
            self.ex.status = Some(d.status.clone());
            for s in &d.replica_sets {
                let avail = if self.slow { 0 } else { s.replicas };
                match self.rss.iter_mut().find(|r| r.template == s.template) {
                    Some(r) => {
                        (r.replicas, r.current, r.ready, r.available) =
                            (s.replicas, s.replicas, avail, avail);
                    }
                    None => self.rss.push(TemplateReplicaSet {
                        template: s.template.clone(),
                        pod_template_hash: format!("h-{}", s.template),
                        replicas: s.replicas,
                        current: s.replicas,
                        ready: avail,
                        available: avail,
                    }),
                }
            }
            for r in &d.create_runs {
                self.runs.push(ExperimentRunObservation {
                    name: r.name.clone(),
                    phase: AnalysisPhase::Pending,
                    message: None,
                });
                self.created.push(r.clone());
            }
            self.terminated.extend(d.terminate_runs.iter().cloned());
            d
        }

        fn phase(&self) -> String {
            self.ex
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default()
        }

        fn set_run(&mut self, name: &str, phase: AnalysisPhase, message: Option<&str>) {
            let r = self.runs.iter_mut().find(|r| r.name == name).expect("run exists");
            r.phase = phase;
            r.message = message.map(str::to_string);
        }

        fn replicas(&self) -> Vec<i32> {
            self.rss.iter().map(|r| r.replicas).collect()
        }
    }

    #[test]
    fn pending_until_available_then_running_then_successful_after_the_duration() {
        let mut sim = Sim::new(two_templates(json!({"duration": "1m"})));
        let d = sim.step();
        assert_eq!(sim.phase(), "Pending");
        assert_eq!(
            d.replica_sets
                .iter()
                .map(|s| (s.template.as_str(), s.replicas, s.create))
                .collect::<Vec<_>>(),
            [("baseline", 2, true), ("canary", 1, true)]
        );
        sim.step();
        assert_eq!(sim.phase(), "Running");
        let st = sim.ex.status.clone().expect("status");
        assert_eq!(st.available_at, Some(t(0)));
        assert!(st.template_statuses.iter().all(|s| s.status == "Running"));
        assert_eq!(st.template_statuses[0].available_replicas, 2);
        assert_eq!(
            st.template_statuses[0].pod_template_hash.as_deref(),
            Some("h-baseline")
        );
        let d = sim.step();
        assert_eq!(d.requeue_after, Some(Duration::from_secs(60)));
        sim.now = t(59);
        sim.step();
        assert_eq!(sim.phase(), "Running");
        sim.now = t(60);
        let d = sim.step();
        assert_eq!(sim.phase(), "Successful");
        assert!(d.events.iter().any(|e| e.reason == "ExperimentSuccessful"));
        assert_eq!(
            sim.replicas(),
            [2, 1],
            "scaled down by the next reconcile, as Argo does"
        );
        sim.step();
        assert_eq!(sim.replicas(), [0, 0]);
        assert_eq!(sim.phase(), "Successful");
    }

    #[test]
    fn analyses_start_once_available_and_a_failure_fails_the_experiment() {
        let mut sim = Sim::new(two_templates(json!({"analyses": [
            {"name": "ok", "templateName": "t"},
            {"name": "bad", "templateName": "t", "args": [
                {"name": "hash", "value": "{{templates.canary.podTemplateHash}}"},
                {"name": "rs", "value": "rs={{templates.baseline.replicaset.name}}"}]}]})));
        sim.step();
        sim.step();
        assert!(
            sim.created.is_empty(),
            "no AnalysisRun before the templates are available"
        );
        assert!(sim.ex.status.as_ref().is_some_and(|s| s.available_at.is_some()));
        sim.step();
        let names: Vec<&str> = sim.created.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["ex-ok", "ex-bad"]);
        let args = sim.created[1].args.clone().expect("resolved");
        assert_eq!(args[0].value.as_deref(), Some("h-canary"));
        assert_eq!(args[1].value.as_deref(), Some("rs=ex-baseline"));
        sim.set_run("ex-ok", AnalysisPhase::Running, None);
        sim.step();
        assert_eq!(sim.phase(), "Running");
        sim.set_run(
            "ex-bad",
            AnalysisPhase::Failed,
            Some("metric \"m\" assessed Failed"),
        );
        sim.step();
        assert_eq!(sim.phase(), "Failed");
        let st = sim.ex.status.clone().expect("status");
        assert_eq!(st.message.as_deref(), Some("metric \"m\" assessed Failed"));
        sim.step();
        assert_eq!(sim.replicas(), [0, 0]);
        assert_eq!(sim.terminated, ["ex-ok"], "the run still measuring is terminated");
    }

    #[test]
    fn required_analyses_end_the_experiment_and_hold_it_past_the_duration() {
        let mut sim = Sim::new(two_templates(json!({"duration": "10s", "analyses": [
            {"name": "req", "templateName": "t", "requiredForCompletion": true},
            {"name": "other", "templateName": "t"}]})));
        sim.step();
        sim.step();
        sim.step();
        sim.set_run("ex-req", AnalysisPhase::Running, None);
        sim.set_run("ex-other", AnalysisPhase::Running, None);
        sim.now = t(30);
        sim.step();
        assert_eq!(
            sim.phase(),
            "Running",
            "a required analysis still running holds the Experiment"
        );
        sim.set_run("ex-req", AnalysisPhase::Successful, None);
        sim.step();
        assert_eq!(sim.phase(), "Successful");
        assert_eq!(
            sim.ex.status.as_ref().and_then(|s| s.message.as_deref()),
            Some(REQUIRED_ANALYSIS_COMPLETED)
        );
        sim.step();
        assert_eq!(sim.terminated, ["ex-other"]);
    }

    #[test]
    fn required_analysis_success_ends_before_the_duration() {
        let mut sim = Sim::new(two_templates(json!({"duration": "1h", "analyses": [
            {"name": "req", "templateName": "t", "requiredForCompletion": true}]})));
        sim.step();
        sim.step();
        sim.step();
        sim.set_run("ex-req", AnalysisPhase::Successful, None);
        sim.now = t(5);
        sim.step();
        assert_eq!(sim.phase(), "Successful");
    }

    #[test]
    fn without_duration_it_runs_until_terminated() {
        let mut sim = Sim::new(two_templates(json!({})));
        sim.step();
        sim.step();
        sim.now = t(100_000);
        let d = sim.step();
        assert_eq!(sim.phase(), "Running");
        assert_eq!(d.requeue_after, None);
        sim.ex.spec.terminate = true;
        sim.step();
        assert_eq!(sim.phase(), "Successful");
        sim.step();
        assert_eq!(sim.replicas(), [0, 0]);
    }

    #[test]
    fn a_template_without_progress_fails_at_its_deadline() {
        let mut sim = Sim::new(two_templates(json!({"progressDeadlineSeconds": 30})));
        sim.slow = true;
        sim.step();
        let d = sim.step();
        assert_eq!(sim.phase(), "Pending");
        assert_eq!(d.requeue_after, Some(Duration::from_secs(31)));
        sim.now = t(31);
        sim.step();
        assert_eq!(sim.phase(), "Failed");
        let st = sim.ex.status.clone().expect("status");
        assert_eq!(
            st.message.as_deref(),
            Some("Template 'baseline' exceeded its progressDeadlineSeconds (30)")
        );
    }

    #[test]
    fn inconclusive_and_error_runs_end_the_experiment_with_their_phase() {
        for phase in [AnalysisPhase::Inconclusive, AnalysisPhase::Error] {
            let mut sim = Sim::new(two_templates(
                json!({"duration": "1h", "analyses": [{"name": "a", "templateName": "t"}]}),
            ));
            sim.step();
            sim.step();
            sim.step();
            sim.set_run("ex-a", phase, None);
            sim.step();
            assert_eq!(sim.phase(), phase.as_str());
        }
    }

    #[test]
    fn template_services_follow_the_pods() {
        let mut ex = two_templates(json!({"duration": "5s"}));
        ex.spec.templates[0].service = Some(TemplateService::default());
        ex.spec.templates[1].service = Some(TemplateService {
            name: Some("canary-svc".into()),
        });
        let mut sim = Sim::new(ex);
        sim.step();
        let d = sim.step();
        assert_eq!(
            d.services,
            [
                ("baseline".to_string(), "ex-baseline".to_string()),
                ("canary".to_string(), "canary-svc".to_string())
            ]
        );
        sim.now = t(10);
        sim.step();
        sim.step();
        let d = sim.step();
        assert_eq!(d.delete_services, ["ex-baseline", "canary-svc"]);
        assert!(
            sim.ex
                .status
                .as_ref()
                .is_some_and(|s| s.template_statuses.iter().all(|t| t.service_name.is_none()))
        );
    }

    #[test]
    fn unknown_template_in_args_is_an_error() {
        let st = ExperimentStatus::default();
        let args = vec![AnalysisRunArgument {
            name: "h".into(),
            value: Some("{{templates.nope.podTemplateHash}}".into()),
            value_from: None,
        }];
        let err = resolve_args("ex", &[], &st, &args).expect_err("unknown template");
        assert!(err.contains("no template \"nope\""), "{err}");
    }

    #[test]
    fn specs_that_cannot_run_are_refused() {
        assert!(invalid_spec(&experiment(json!({"templates": []}))).is_some());
        let dup =
            experiment(json!({"templates": [{"name": "a", "template": {}}, {"name": "a", "template": {}}]}));
        assert!(invalid_spec(&dup).is_some_and(|m| m.contains("used twice")));
        assert_eq!(invalid_spec(&two_templates(json!({"duration": "20m"}))), None);
        assert!(invalid_spec(&two_templates(json!({"duration": "soon"}))).is_some());
    }

    #[test]
    fn from_step_resolves_spec_refs_and_drops_the_rollout_hash() {
        let rollout: crate::spec::Rollout = serde_json::from_value(json!({
            "metadata": {"name": "web", "annotations": {crate::REVISION_ANNOTATION: "2"}},
            "spec": {"progressDeadlineSeconds": 120, "strategy": {"canary": {}}}
        }))
        .expect("rollout");
        let step: crate::spec::RolloutExperimentStep = serde_json::from_value(json!({
            "duration": "5m",
            "templates": [{"name": "baseline", "specRef": "stable"},
                          {"name": "canary", "specRef": "canary", "replicas": 2,
                           "metadata": {"labels": {"role": "exp"}}}],
            "analyses": [{"name": "a", "templateName": "t", "requiredForCompletion": true}]
        }))
        .expect("step");
        let canary = json!({"metadata": {"labels": {"app": "web", crate::POD_TEMPLATE_HASH_LABEL: "c1"}},
                            "spec": {"containers": [{"name": "a", "image": "a:2"}]}});
        let stable = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}});
        let selector = json!({"matchLabels": {"app": "web"}});
        let v = from_step(
            &rollout,
            "web-c1-2-0",
            "c1",
            &step,
            StepSources {
                canary_template: &canary,
                stable_template: &stable,
                selector: Some(&selector),
                min_ready_seconds: 3,
            },
        )
        .expect("experiment");
        let ex: Experiment = serde_json::from_value(v.clone()).expect("parses as an Experiment");
        assert_eq!(v["metadata"]["labels"][crate::POD_TEMPLATE_HASH_LABEL], "c1");
        assert_eq!(v["metadata"]["annotations"][crate::REVISION_ANNOTATION], "2");
        assert_eq!(ex.spec.progress_deadline_seconds, Some(120));
        assert_eq!(
            ex.spec.templates[0]
                .template
                .as_ref()
                .map(|t| t["spec"]["containers"][0]["image"].clone()),
            Some(json!("a:1"))
        );
        let c = ex.spec.templates[1].template.clone().expect("template");
        assert_eq!(c["metadata"]["labels"], json!({"app": "web", "role": "exp"}));
        assert_eq!(ex.spec.templates[1].replicas, Some(2));
        assert_eq!(ex.spec.templates[1].min_ready_seconds, 3);
        assert!(ex.spec.analyses[0].required_for_completion);
        assert_eq!(invalid_spec(&ex), None);
    }
}
