//! Progressive delivery without I/O: Argo Rollouts compatible `Rollout` types and the canary and blue/green
//! state machines, and the `Experiment` kind with its state machine ([`experiment`]).
//!
//! The controller observes the cluster (ReplicaSets of the Rollout, its AnalysisRuns), calls
//! [`reconcile`] with the Rollout, the observations and the current time, and carries out the returned
//! [`Decision`]: scale ReplicaSets, point Services at hashes, create AnalysisRuns, write the new status.
//! User commands (`promote`, `abort`, `retry`, …) are status/spec edits, as in Argo Rollouts: see [`commands`].
//!
//! ```
//! use tack_rollout::{Observed, ReplicaSetObservation, reconcile, spec::Rollout};
//! let rollout: Rollout = serde_json::from_value(serde_json::json!({
//!     "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}},
//!              "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}}
//! })).expect("valid rollout");
//! let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("time");
//! let d = reconcile(&rollout, &Observed { replica_sets: vec![], analysis_runs: vec![], experiments: vec![], now })
//!     .expect("decision");
//! // First deployment: the template becomes stable at once, with all replicas.
//! assert_eq!(d.replica_sets[0].replicas, 2);
//! assert_eq!(d.status.stable_rs.as_deref(), Some(d.pod_template_hash.as_str()));
//! ```

#![warn(missing_docs)]

pub mod affinity;
pub mod bluegreen;
pub mod canary;
pub mod commands;
pub mod conditions;
pub mod ephemeral;
pub mod experiment;
pub mod history;
pub mod restart;
pub mod spec;
mod util;
pub mod validate;
pub mod workload;

use std::time::Duration;

use jiff::Timestamp;
use spec::{RolloutCondition, RolloutStatus};

pub use bluegreen::reconcile_blue_green;
pub use canary::reconcile_canary;
pub use util::{parse_duration_seconds, pod_template_hash, resolve_fenceposts, stable_hash};

/// Label Argo Rollouts puts on ReplicaSets, pods and Service selectors.
pub const POD_TEMPLATE_HASH_LABEL: &str = "rollouts-pod-template-hash";
/// Annotation with the revision, on the Rollout (its current revision), its ReplicaSets and AnalysisRuns
/// (Argo's name).
pub const REVISION_ANNOTATION: &str = "rollout.argoproj.io/revision";
/// Annotation holding the time after which an old ReplicaSet is scaled to zero.
pub const SCALE_DOWN_DEADLINE_ANNOTATION: &str = "argo-rollouts.argoproj.io/scale-down-deadline";

/// Why a Rollout cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Neither `strategy.canary` nor `strategy.blueGreen` is set (or the wrong one for the function called).
    #[error("spec.strategy: {0}")]
    Strategy(&'static str),
    /// No pod template: the controller resolves `workloadRef` into `spec.template` before reconciling.
    #[error("spec.template is missing (resolve spec.workloadRef into a template first)")]
    NoTemplate,
    /// A duration that cannot be parsed.
    #[error("invalid duration {value:?}: {reason}")]
    InvalidDuration {
        /// The text as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another invalid field.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// One ReplicaSet of the Rollout as observed in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetObservation {
    /// Its `rollouts-pod-template-hash`.
    pub pod_template_hash: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// Parsed [`SCALE_DOWN_DEADLINE_ANNOTATION`], when present.
    pub scale_down_deadline: Option<Timestamp>,
    /// Its pods that crashed ([`PodFailure`]); the controller observes them for the canary (new)
    /// ReplicaSet only, and any entry aborts the update.
    pub failed_pods: Vec<PodFailure>,
    /// Its [`REVISION_ANNOTATION`], when present: orders the old ReplicaSets for
    /// `scaleDownDelayRevisionLimit` (newest first).
    pub revision: Option<i64>,
    /// Its `metadata.creationTimestamp`: a template whose ReplicaSet is older than the stable's is a rollback
    /// (`rollbackWindow`).
    pub created_at: Option<Timestamp>,
}

/// A pod that crashed: phase `Failed`, a container that terminated with a non-zero exit code (now or
/// before a restart), or a container in `CrashLoopBackOff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFailure {
    /// Pod name.
    pub pod: String,
    /// What happened, e.g. `container web exited with code 1`.
    pub reason: String,
    /// The pod's `metadata.creationTimestamp`: pods created before `status.abortedAt` belong to an aborted
    /// attempt and are ignored after `retry`.
    pub created_at: Timestamp,
}

/// The first crashed pod of `rs` that belongs to the current attempt (created after `status.abortedAt`).
pub(crate) fn crashed_pod<'a>(
    rs: Option<&'a ReplicaSetObservation>,
    status: &RolloutStatus,
) -> Option<&'a PodFailure> {
    rs?.failed_pods
        .iter()
        .find(|f| status.aborted_at.is_none_or(|a| f.created_at > a))
}

/// Which part of the rollout an AnalysisRun belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnalysisKind {
    /// An `analysis` canary step, by step index.
    Step(usize),
    /// `strategy.canary.analysis`.
    Background,
    /// `strategy.blueGreen.prePromotionAnalysis`.
    PrePromotion,
    /// `strategy.blueGreen.postPromotionAnalysis`.
    PostPromotion,
}

/// AnalysisRun phases (Argo names): the one definition, [`tack_analysis::measure::Phase`].
pub use tack_analysis::measure::Phase as AnalysisPhase;

/// One AnalysisRun of the Rollout as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisObservation {
    /// What it gates.
    pub kind: AnalysisKind,
    /// Hash of the ReplicaSet it analyses.
    pub pod_template_hash: String,
    /// AnalysisRun name.
    pub name: String,
    /// Its phase.
    pub phase: AnalysisPhase,
    /// Its message (e.g. which metric failed and the measured value).
    pub message: Option<String>,
    /// `metadata.creationTimestamp`: runs created before `status.abortedAt` belong to an aborted attempt and
    /// are ignored after `retry`.
    pub created_at: Timestamp,
}

/// One Experiment of the Rollout as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentObservation {
    /// Experiment name ([`experiment_name`]).
    pub name: String,
    /// Its phase (`status.phase`; the same names as an AnalysisRun's); `None` before its controller saw it.
    pub phase: Option<AnalysisPhase>,
    /// Its message.
    pub message: Option<String>,
}

/// Everything the state machines read besides the Rollout itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The Rollout's ReplicaSets.
    pub replica_sets: Vec<ReplicaSetObservation>,
    /// The Rollout's AnalysisRuns.
    pub analysis_runs: Vec<AnalysisObservation>,
    /// The Rollout's Experiments (created by `experiment` steps).
    pub experiments: Vec<ExperimentObservation>,
    /// The current time.
    pub now: Timestamp,
}

/// The role of a ReplicaSet in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The stable (canary) or active (blue/green) version.
    Stable,
    /// The canary version.
    Canary,
    /// The blue/green preview version.
    Preview,
    /// An older version being scaled down.
    Old,
}

/// Desired size of one ReplicaSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredReplicaSet {
    /// Its `rollouts-pod-template-hash`.
    pub pod_template_hash: String,
    /// What it is.
    pub role: Role,
    /// Desired `spec.replicas`.
    pub replicas: i32,
    /// It does not exist yet: create it from the Rollout's template.
    pub create: bool,
}

/// Something the controller does besides scaling and writing the status.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create an AnalysisRun from these templates for this ReplicaSet.
    CreateAnalysisRun {
        /// Deterministic name ([`analysis_run_name`]): creating it twice is harmless (AlreadyExists).
        name: String,
        /// What it gates.
        kind: AnalysisKind,
        /// Hash of the analysed ReplicaSet.
        pod_template_hash: String,
        /// The Rollout's analysis: templates to merge, arguments, and the `dryRun` and
        /// `measurementRetention` added to the templates'.
        analysis: spec::RolloutAnalysis,
    },
    /// Create the Experiment of a canary `experiment` step (its templates' `specRef` resolved by the controller
    /// to the canary and stable pod templates, see [`experiment::from_step`]).
    CreateExperiment {
        /// Deterministic name ([`experiment_name`]).
        name: String,
        /// Index of the step.
        step_index: usize,
        /// Hash of the canary ReplicaSet.
        pod_template_hash: String,
        /// The step.
        step: spec::RolloutExperimentStep,
    },
    /// Stop an Experiment that is no longer needed (`spec.terminate: true`).
    TerminateExperiment {
        /// Its name.
        name: String,
    },
    /// Stop an AnalysisRun that is no longer needed (`spec.terminate: true`).
    TerminateAnalysisRun {
        /// Its name.
        name: String,
    },
    /// Annotate the ReplicaSet with a scale-down deadline ([`SCALE_DOWN_DEADLINE_ANNOTATION`]).
    SetScaleDownDeadline {
        /// The ReplicaSet.
        pod_template_hash: String,
        /// When it may be scaled to zero.
        at: Timestamp,
    },
    /// The update was aborted in this reconcile (for an event and a notification).
    Aborted {
        /// Why.
        reason: String,
    },
    /// The update completed: this hash is now stable (for an event and a notification).
    Completed {
        /// The new stable hash.
        pod_template_hash: String,
    },
}

/// The outcome of one reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Hash of the Rollout's current pod template.
    pub pod_template_hash: String,
    /// Desired size of every ReplicaSet that should have pods or still has some.
    pub replica_sets: Vec<DesiredReplicaSet>,
    /// Traffic percentage for the canary (blue/green: the preview before promotion, always 0 here).
    pub canary_weight: i32,
    /// Traffic percentage for the stable (active).
    pub stable_weight: i32,
    /// Service name → hash its selector must carry (`canaryService`, `stableService`, `activeService`, …).
    pub services: Vec<(String, String)>,
    /// The status to write.
    pub status: RolloutStatus,
    /// Other work.
    pub actions: Vec<Action>,
    /// Reconcile again after this long at the latest (pause durations, scale-down delays, deadlines).
    pub requeue_after: Option<Duration>,
}

/// Dispatches on `spec.strategy`.
pub fn reconcile(rollout: &spec::Rollout, observed: &Observed) -> Result<Decision, Error> {
    let s = &rollout.spec.strategy;
    match (&s.canary, &s.blue_green) {
        (Some(_), None) => reconcile_canary(rollout, observed),
        (None, Some(_)) => reconcile_blue_green(rollout, observed),
        (Some(_), Some(_)) => Err(Error::Strategy("set either canary or blueGreen, not both")),
        (None, None) => Err(Error::Strategy("one of canary or blueGreen is required")),
    }
}

/// The Rollout's revision: its [`REVISION_ANNOTATION`] (the controller sets it to the revision of the current
/// template's ReplicaSet before reconciling, as Argo Rollouts does).
pub fn revision(rollout: &spec::Rollout) -> Option<&str> {
    rollout
        .metadata
        .get("annotations")
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .and_then(serde_json::Value::as_str)
        .filter(|r| !r.is_empty())
}

/// The name of the AnalysisRun for `kind` of ReplicaSet `hash`, as Argo Rollouts names them:
/// `<rollout>-<hash>-<revision>-<step index>`, `<rollout>-<hash>-<revision>` (background),
/// `<rollout>-<hash>-<revision>-pre` / `-post`; so a revision never reuses the run of another (an undo or a
/// re-deploy of the same template measures again). Without a known revision: `<rollout>-<hash>-<step index |
/// bg | pre | post>`. `-<abortedAt in Unix seconds>` is appended after a `retry`, so every attempt gets its own
/// run.
pub fn analysis_run_name(
    rollout: &spec::Rollout,
    hash: &str,
    kind: AnalysisKind,
    status: &RolloutStatus,
) -> String {
    let base = rollout
        .metadata
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("rollout");
    let what = match (kind, revision(rollout)) {
        (AnalysisKind::Step(i), Some(rev)) => format!("{rev}-{i}"),
        (AnalysisKind::Background, Some(rev)) => rev.to_string(),
        (AnalysisKind::PrePromotion, Some(rev)) => format!("{rev}-pre"),
        (AnalysisKind::PostPromotion, Some(rev)) => format!("{rev}-post"),
        (AnalysisKind::Step(i), None) => i.to_string(),
        (AnalysisKind::Background, None) => "bg".into(),
        (AnalysisKind::PrePromotion, None) => "pre".into(),
        (AnalysisKind::PostPromotion, None) => "post".into(),
    };
    match status.aborted_at {
        Some(t) => format!("{base}-{hash}-{what}-{}", t.as_second()),
        None => format!("{base}-{hash}-{what}"),
    }
}

/// The name of the Experiment of canary step `step_index` for ReplicaSet `hash`, as Argo Rollouts names it:
/// `<rollout>-<hash>-<revision>-<step index>` (`<rollout>-<hash>-<step index>` without a known revision), with
/// `-<abortedAt in Unix seconds>` after a `retry`, so every attempt runs its own Experiment.
pub fn experiment_name(
    rollout: &spec::Rollout,
    hash: &str,
    step_index: usize,
    status: &RolloutStatus,
) -> String {
    let base = rollout
        .metadata
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("rollout");
    let name = match revision(rollout) {
        Some(rev) => format!("{base}-{hash}-{rev}-{step_index}"),
        None => format!("{base}-{hash}-{step_index}"),
    };
    match status.aborted_at {
        Some(t) => format!("{name}-{}", t.as_second()),
        None => name,
    }
}

/// Message of a `Progressing` condition while the update waits for something other than pods.
const IDLE_UPDATED: &str = "Rollout is waiting for its steps";

/// Pause condition reasons (Argo names).
pub mod reasons {
    /// A canary `pause` step.
    pub const CANARY_PAUSE_STEP: &str = "CanaryPauseStep";
    /// Blue/green waiting for promotion.
    pub const BLUE_GREEN_PAUSE: &str = "BlueGreenPause";
    /// An AnalysisRun ended Inconclusive.
    pub const INCONCLUSIVE_ANALYSIS: &str = "InconclusiveAnalysisRun";
    /// The Experiment of an `experiment` step ended Inconclusive.
    pub const INCONCLUSIVE_EXPERIMENT: &str = "InconclusiveExperiment";
}

pub(crate) enum PauseOutcome {
    Done,
    Waiting,
}

pub(crate) struct Requeue(pub Option<Duration>);

impl Requeue {
    pub(crate) fn at(&mut self, now: Timestamp, at: Timestamp) {
        let secs = at.as_second().saturating_sub(now.as_second()).max(1);
        let d = Duration::from_secs(secs.unsigned_abs());
        self.0 = Some(self.0.map_or(d, |old| old.min(d)));
    }
}

/// The Degraded phase and its message when the update was aborted or passed its progress deadline;
/// shared by the canary and blue/green state machines.
pub(crate) fn degraded_phase(
    rollout: &spec::Rollout,
    st: &RolloutStatus,
    timed_out: bool,
    hash: &str,
) -> Option<(&'static str, String)> {
    if st.abort {
        let rev = revision(rollout).unwrap_or(hash);
        let why = st
            .message
            .as_deref()
            .filter(|m| m.starts_with("RolloutAborted"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("RolloutAborted: Rollout aborted update to revision {rev}"));
        Some(("Degraded", why))
    } else if timed_out {
        Some((
            "Degraded",
            format!("ProgressDeadlineExceeded: ReplicaSet {hash:?} has timed out progressing."),
        ))
    } else {
        None
    }
}

pub(crate) fn add_seconds(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(t.as_second().saturating_add(secs)).unwrap_or(Timestamp::MAX)
}

/// Desired replicas of an old ReplicaSet that waits `delay` seconds before going to zero.
pub(crate) fn delayed_scale_down(
    rs: &ReplicaSetObservation,
    delay: i64,
    now: Timestamp,
    actions: &mut Vec<Action>,
    requeue: &mut Requeue,
) -> i32 {
    if rs.replicas == 0 || delay <= 0 {
        return 0;
    }
    match rs.scale_down_deadline {
        Some(at) if now >= at => 0,
        Some(at) => {
            requeue.at(now, at);
            rs.replicas
        }
        None => {
            let at = add_seconds(now, delay);
            actions.push(Action::SetScaleDownDeadline {
                pod_template_hash: rs.pod_template_hash.clone(),
                at,
            });
            requeue.at(now, at);
            rs.replicas
        }
    }
}

/// Hashes of the old ReplicaSets scaled down at once although their scale-down delay still runs:
/// `scaleDownDelayRevisionLimit` (unset: no limit) keeps the delay for that many of them, newest revision
/// first (as Argo Rollouts' `scaleDownDelayHelper`); `delayed` are the old ReplicaSets that wait for a delay.
pub(crate) fn beyond_revision_limit(delayed: &[&ReplicaSetObservation], limit: Option<i32>) -> Vec<String> {
    let Some(limit) = limit else {
        return Vec::new();
    };
    let keep = usize::try_from(limit.max(0)).unwrap_or(0);
    let mut by_revision: Vec<&&ReplicaSetObservation> = delayed.iter().filter(|r| r.replicas > 0).collect();
    // Newest revision first; ReplicaSets without a revision last.
    by_revision.sort_by_key(|r| std::cmp::Reverse(r.revision));
    by_revision
        .into_iter()
        .skip(keep)
        .map(|r| r.pod_template_hash.clone())
        .collect()
}

/// `spec.rollbackWindow.revisions`: the current template's ReplicaSet is older than the stable's (a rollback)
/// and fewer than `revisions` ReplicaSets were created between the two, so the update skips its steps and
/// analyses and goes straight to full promotion (Argo Rollouts' `isRollbackWithinWindow`).
pub fn rollback_within_window(
    rollout: &spec::Rollout,
    observed: &Observed,
    current: &str,
    stable: &str,
) -> bool {
    let Some(window) = rollout.spec.rollback_window.as_ref().and_then(|w| w.revisions) else {
        return false;
    };
    if current == stable {
        return false;
    }
    let created = |hash: &str| {
        observed
            .replica_sets
            .iter()
            .find(|r| r.pod_template_hash == hash)
            .and_then(|r| r.created_at)
    };
    let (Some(new), Some(old)) = (created(current), created(stable)) else {
        return false;
    };
    if new >= old {
        return false;
    }
    let between = observed
        .replica_sets
        .iter()
        .filter(|r| r.created_at.is_some_and(|t| t > new && t < old))
        .count();
    i64::try_from(between).unwrap_or(i64::MAX) < i64::from(window)
}

/// Fills replicas/updated/ready/available from the observed ReplicaSets.
pub(crate) fn count_replicas(status: &mut RolloutStatus, observed: &Observed, current_hash: &str) {
    status.replicas = observed.replica_sets.iter().map(|r| r.replicas).sum();
    status.ready_replicas = observed.replica_sets.iter().map(|r| r.ready).sum();
    status.available_replicas = observed.replica_sets.iter().map(|r| r.available).sum();
    status.updated_replicas = observed
        .replica_sets
        .iter()
        .filter(|r| r.pod_template_hash == current_hash)
        .map(|r| r.replicas)
        .sum();
}

/// Why a Rollout is not waiting for pods, for the `Progressing` condition (Argo's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Paused: `Unknown`, `RolloutPaused`.
    Paused,
    /// Aborted: `False`, `RolloutAborted`.
    Aborted,
    /// Every pod of the current template is available: `True`, `NewReplicaSetAvailable`.
    Complete,
    /// Waiting for something else (an analysis, a promotion in progress): `True`, `ReplicaSetUpdated`.
    Other,
}

/// Updates the `Progressing` condition and tells whether the progress deadline has passed.
///
/// Progress is a change of step, of pod template or of stable, a change of the updated replica count, or more
/// ready or available replicas than in the previous status; while
/// `waiting` is false (paused, aborted, nothing to wait for) the clock restarts and `idle` says why.
pub(crate) fn progress_deadline(
    prev: &RolloutStatus,
    status: &mut RolloutStatus,
    (waiting, idle): (bool, Idle),
    deadline_seconds: i64,
    now: Timestamp,
    requeue: &mut Requeue,
) -> bool {
    // As Argo Rollouts (and Deployments) measure it: more updated, ready or available replicas, a new step,
    // template or stable. Pods that come and go (a crash loop) are no progress.
    let progressed = prev.current_step_index != status.current_step_index
        || prev.current_pod_hash != status.current_pod_hash
        || prev.updated_replicas != status.updated_replicas
        || status.ready_replicas > prev.ready_replicas
        || status.available_replicas > prev.available_replicas
        || prev.stable_rs != status.stable_rs;
    let pos = status.conditions.iter().position(|c| c.type_ == "Progressing");
    if !waiting
        && !progressed
        && pos.is_some_and(|i| status.conditions[i].reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        // Stopped (aborted or paused) after the deadline passed: keep the record of it.
        return false;
    }
    let last = pos.and_then(|i| status.conditions[i].last_update_time);
    let was_waiting = pos.is_some_and(|i| {
        matches!(
            status.conditions[i].reason.as_deref(),
            Some("ReplicaSetUpdated" | "ProgressDeadlineExceeded")
        ) && status.conditions[i].message.as_deref() != Some(IDLE_UPDATED)
    });
    let since = match last {
        Some(t) if !progressed && was_waiting && waiting => t,
        // Still not waiting (paused, aborted, complete): the condition is unchanged, so is its time; otherwise
        // every reconcile would write a new status.
        Some(t) if !was_waiting && !waiting => t,
        _ => now,
    };
    let timed_out = waiting && now >= add_seconds(since, deadline_seconds);
    let hash = status.current_pod_hash.clone().unwrap_or_default();
    let (st, reason, message) = if timed_out {
        (
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet {hash:?} has timed out progressing."),
        )
    } else if waiting {
        (
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet {hash:?} is progressing."),
        )
    } else {
        match idle {
            Idle::Paused => ("Unknown", "RolloutPaused", "Rollout is paused".to_string()),
            Idle::Aborted => (
                "False",
                "RolloutAborted",
                format!("Rollout aborted update to revision {hash}"),
            ),
            Idle::Complete => (
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet {hash:?} has successfully progressed."),
            ),
            Idle::Other => ("True", "ReplicaSetUpdated", IDLE_UPDATED.to_string()),
        }
    };
    if waiting && !timed_out {
        requeue.at(now, add_seconds(since, deadline_seconds));
    }
    let cond = RolloutCondition {
        type_: "Progressing".into(),
        status: st.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(since),
        last_transition_time: match pos {
            Some(i) if status.conditions[i].status == st => status.conditions[i].last_transition_time,
            _ => Some(now),
        },
    };
    match pos {
        Some(i) => status.conditions[i] = cond,
        None => status.conditions.push(cond),
    }
    timed_out
}

/// The latest AnalysisRun of `kind` for `hash`, ignoring runs of an attempt that was aborted before a retry.
pub(crate) fn find_run<'a>(
    observed: &'a Observed,
    status: &RolloutStatus,
    kind: AnalysisKind,
    hash: &str,
) -> Option<&'a AnalysisObservation> {
    observed
        .analysis_runs
        .iter()
        .filter(|r| r.kind == kind && r.pod_template_hash == hash)
        .filter(|r| status.abort || status.aborted_at.is_none_or(|a| r.created_at > a))
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)))
}

pub(crate) fn run_ref(run: &AnalysisObservation) -> spec::AnalysisRunStatusRef {
    spec::AnalysisRunStatusRef {
        name: run.name.clone(),
        status: run.phase.as_str().to_string(),
        message: run.message.clone(),
    }
}
