//! The canary state machine (Argo Rollouts semantics).
//!
//! - A new pod template (or new steps) restarts at step 0; the first template of a Rollout becomes stable at once.
//! - `setWeight` without `trafficRouting` is approximated by replica counts: canary = ceil(weight × replicas /
//!   100), stable = replicas − canary, reached within `maxSurge` / `maxUnavailable`. The step is done when both
//!   ReplicaSets have their counts available. With `trafficRouting` the stable keeps all replicas and the canary
//!   gets ceil(weight × replicas / 100) (or `setCanaryScale`), and the weight goes to the router once those
//!   canary pods are available (until then the previous weight stays, as in Argo Rollouts).
//! - `minPodsPerReplicaSet` (with traffic routing): a canary or stable that has pods has at least that many.
//! - `dynamicStableScale` (with traffic routing): the stable is scaled to the larger of its share of the
//!   desired weight and of the weight the router has now, so it shrinks as traffic leaves it; on abort the
//!   stable is scaled back up first and traffic returns to it only as its pods become available, the canary
//!   keeping the pods for the traffic it still has.
//! - `rollbackWindow`: going back to one of the last `revisions` ReplicaSets (older than the stable) skips the
//!   steps and analyses and goes straight to full promotion; traffic stays where it is until the rolled-back
//!   ReplicaSet has all its pods.
//! - `pause` without duration waits for `promote`; with a duration it ends by itself (start time in
//!   `status.pauseConditions`).
//! - `analysis` steps create an AnalysisRun and wait for it; background analysis runs during the whole update.
//!   Failed or Error → abort; Inconclusive → paused until promoted.
//! - `experiment` steps create an Experiment from the canary and stable pod templates and wait for it:
//!   Successful ends the step, Failed or Error aborts, Inconclusive pauses until promoted. An Experiment whose
//!   step is no longer current (passed, aborted, superseded) is terminated.
//! - A crashed canary pod ([`crate::PodFailure`]: phase Failed, a non-zero exit code, CrashLoopBackOff) → abort,
//!   the message naming the pod and why.
//! - Abort: 100 % to stable at once; the canary is scaled down (after `abortScaleDownDelaySeconds`, default 30,
//!   with traffic routing; at once, within maxUnavailable, without). Phase Degraded.
//! - No progress for `progressDeadlineSeconds` (default 600) while waiting for pods → Degraded, and abort when
//!   `progressDeadlineAbort`.
//! - After the last step the canary scales to all replicas, becomes stable, and the old stable is scaled down
//!   (after `scaleDownDelaySeconds`, default 30, with traffic routing; by the replica arithmetic without).
//!   A previous stable keeps its delay during the next update; at most `scaleDownDelayRevisionLimit` old
//!   ReplicaSets wait for their delay (newest revision first), the others are scaled down at once.

use jiff::Timestamp;

use crate::conditions::Facts;
use crate::spec::PauseCondition;
use crate::spec::{CanaryStep, CanaryStrategy, Rollout, RolloutStatus, TrafficWeights, WeightDestination};
use crate::util::{parse_duration_seconds, replicas_for_weight, resolve_fenceposts, stable_hash};
use crate::{
    Action, AnalysisKind, AnalysisPhase, Decision, DesiredReplicaSet, Error, Idle, Observed, PauseOutcome,
    ReplicaSetObservation, Requeue, Role, count_replicas, delayed_scale_down, find_run, progress_deadline,
    reasons, run_ref,
};

const DEFAULT_DELAY_SECONDS: i64 = 30;
/// Message of a background AnalysisRun status whose Inconclusive result was accepted by `promote`.
const ACCEPTED: &str = "Inconclusive result accepted by promote";
const DEFAULT_PROGRESS_DEADLINE: i64 = 600;

/// Weight in effect at step `idx`: the last `setWeight` at or before it, 100 past the end, 0 before any.
pub fn weight_at(steps: &[CanaryStep], idx: usize) -> i32 {
    if idx >= steps.len() {
        return 100;
    }
    steps[..=idx]
        .iter()
        .rev()
        .find_map(|s| s.set_weight)
        .unwrap_or(0)
        .clamp(0, 100)
}

/// The canary spec of one reconcile, read and checked once.
struct Plan<'a> {
    rollout: &'a Rollout,
    canary: &'a CanaryStrategy,
    observed: &'a Observed,
    steps: &'a [CanaryStep],
    /// Hash of the current pod template.
    hash: String,
    /// Hash of the steps (a change restarts them).
    step_hash: String,
    replicas: i32,
    routed: bool,
    max_surge: i32,
    max_unavailable: i32,
    /// Seconds of each `pause` step with a duration.
    pause_durations: Vec<Option<i64>>,
    now: Timestamp,
}

impl<'a> Plan<'a> {
    fn new(rollout: &'a Rollout, observed: &'a Observed) -> Result<Self, Error> {
        let canary = rollout
            .spec
            .strategy
            .canary
            .as_ref()
            .ok_or(Error::Strategy("strategy.canary is not set"))?;
        let template = rollout.spec.template.as_ref().ok_or(Error::NoTemplate)?;
        let replicas = rollout.spec.replicas.unwrap_or(1).max(0);
        let steps = canary.steps.as_slice();
        let step_hash = stable_hash(&serde_json::to_value(steps).map_err(|e| Error::InvalidField {
            field: "strategy.canary.steps",
            reason: e.to_string(),
        })?);
        let (max_surge, max_unavailable) = resolve_fenceposts(
            canary.max_surge.as_ref(),
            canary.max_unavailable.as_ref(),
            replicas,
        )?;
        let mut pause_durations = Vec::with_capacity(steps.len());
        for s in steps {
            pause_durations.push(match s.pause.as_ref().and_then(|p| p.duration.as_ref()) {
                Some(d) => Some(parse_duration_seconds(d)?),
                None => None,
            });
        }
        Ok(Plan {
            rollout,
            canary,
            observed,
            steps,
            hash: crate::pod_template_hash(template),
            step_hash,
            replicas,
            routed: canary.traffic_routing.is_some(),
            max_surge,
            max_unavailable,
            pause_durations,
            now: observed.now,
        })
    }

    fn n(&self) -> usize {
        self.steps.len()
    }

    fn find(&self, hash: &str) -> Option<&'a ReplicaSetObservation> {
        self.observed
            .replica_sets
            .iter()
            .find(|r| r.pod_template_hash == hash)
    }

    fn delay(&self, seconds: Option<i32>) -> i64 {
        i64::from(seconds.unwrap_or(DEFAULT_DELAY_SECONDS as i32))
    }

    /// `count` raised to `minPodsPerReplicaSet` when it is not zero and traffic routing is set (Argo's
    /// `CheckMinPodsPerReplicaSet`).
    fn min_pods(&self, count: i32) -> i32 {
        match self.canary.min_pods_per_replica_set {
            Some(m) if count > 0 && self.routed => count.max(m),
            _ => count,
        }
    }
}

/// What the reconcile changes as it goes: the status, the actions, the next requeue.
struct Work {
    st: RolloutStatus,
    actions: Vec<Action>,
    requeue: Requeue,
    /// A rollback within `rollbackWindow`: no steps, no analysis, straight to full promotion.
    rollback: bool,
}

impl Work {
    fn abort(&mut self, now: Timestamp, reason: String) {
        abort(&mut self.st, &mut self.actions, now, reason);
    }
}

/// Replica counts decided for the canary and stable ReplicaSets.
struct Sizes {
    sets: Vec<DesiredReplicaSet>,
    canary: i32,
    stable: i32,
    canary_obs: Option<ReplicaSetObservation>,
    stable_obs: Option<ReplicaSetObservation>,
}

/// Reconciles a canary Rollout: one function per rule of the module documentation, in this order.
pub fn reconcile_canary(rollout: &Rollout, observed: &Observed) -> Result<Decision, Error> {
    let plan = Plan::new(rollout, observed)?;
    let prev = rollout.status.clone().unwrap_or_default();
    let mut w = Work {
        st: prev.clone(),
        actions: Vec::new(),
        requeue: Requeue(None),
        rollback: false,
    };
    let stable = restart_on_change(&plan, &mut w.st);
    let mut updating = stable != plan.hash;
    w.rollback = updating && crate::rollback_within_window(rollout, observed, &plan.hash, &stable);
    let mut idx = if updating {
        usize::try_from(w.st.current_step_index.unwrap_or(0))
            .unwrap_or(0)
            .min(plan.n())
    } else {
        settle_stable(&mut w.st);
        plan.n()
    };
    // `promote` removed the pause conditions of a controller pause.
    let promoted = w.st.controller_pause && w.st.pause_conditions.is_empty();
    if updating && !w.st.abort {
        abort_on_crashed_pod(&plan, &mut w);
    }
    if updating && !w.st.abort {
        idx = run_steps(&plan, &mut w, idx);
    }
    w.st.current_step_index = Some(i32::try_from(idx).unwrap_or(i32::MAX));
    if updating && !w.st.abort && !w.rollback {
        background_analysis(&plan, &mut w, idx, promoted);
    }
    if updating && idx < plan.n() {
        forget_passed_step_analysis(&plan, &mut w.st, idx);
    }
    if updating && !w.st.abort && complete(&plan, &mut w, idx) {
        updating = false;
    }
    let stable = w.st.stable_rs.clone().unwrap_or_else(|| plan.hash.clone());
    if updating && w.st.abort && w.st.aborted_at.is_none() {
        // Aborted by the user (`status.abort` set by the CLI).
        w.st.aborted_at = Some(plan.now);
        w.actions.push(Action::Aborted {
            reason: "aborted by the user".into(),
        });
    }
    settle_experiment(&plan, &mut w, idx, updating);
    let sizes = replica_sets(&plan, &mut w, &stable, updating, idx);
    let (canary_weight, stable_weight) =
        weights(&plan, &mut w.st, &sizes, (&stable, updating, w.rollback), idx);
    let services = services(&plan, &w.st, &stable, updating, canary_weight);
    finish_status(&plan, &prev, &mut w, &sizes, updating);
    Ok(Decision {
        pod_template_hash: plan.hash,
        replica_sets: sizes.sets,
        canary_weight,
        stable_weight,
        services,
        status: w.st,
        actions: w.actions,
        requeue_after: w.requeue.0,
    })
}

/// A new template or new steps restart the steps; the first template becomes stable at once. Returns the
/// stable hash.
fn restart_on_change(plan: &Plan<'_>, st: &mut RolloutStatus) -> String {
    if st.current_pod_hash.as_deref() != Some(plan.hash.as_str()) {
        st.abort = false;
        st.aborted_at = None;
        st.promote_full = false;
        restart_steps(st);
    } else if st.current_step_hash.as_deref() != Some(plan.step_hash.as_str()) {
        restart_steps(st);
    }
    st.current_pod_hash = Some(plan.hash.clone());
    st.current_step_hash = Some(plan.step_hash.clone());
    st.stable_rs.get_or_insert_with(|| plan.hash.clone()).clone()
}

/// Nothing to update: no pause, no abort, no analysis.
fn settle_stable(st: &mut RolloutStatus) {
    st.abort = false;
    st.promote_full = false;
    st.controller_pause = false;
    st.pause_conditions.clear();
    st.canary.current_step_analysis_run_status = None;
    st.canary.current_background_analysis_run_status = None;
}

/// A crashed canary pod aborts the update.
fn abort_on_crashed_pod(plan: &Plan<'_>, w: &mut Work) {
    if let Some(f) = crate::crashed_pod(plan.find(&plan.hash), &w.st) {
        w.abort(plan.now, format!("canary pod {} failed: {}", f.pod, f.reason));
    }
}

/// Moves through the steps as far as they allow in this reconcile; returns the new step index.
fn run_steps(plan: &Plan<'_>, w: &mut Work, mut idx: usize) -> usize {
    let n = plan.n();
    if w.st.promote_full || w.rollback {
        idx = n;
        w.st.pause_conditions.clear();
        w.st.controller_pause = false;
    }
    let blocked = plan.rollout.spec.paused
        || w.st
            .pause_conditions
            .iter()
            .any(|c| c.reason != reasons::CANARY_PAUSE_STEP);
    while !blocked && idx < n && !w.st.abort {
        let step = &plan.steps[idx];
        let done = if step.set_weight.is_some() {
            set_weight_reached(plan, &w.st, idx)
        } else if step.pause.is_some() {
            matches!(
                pause_step(&mut w.st, plan.pause_durations[idx], plan.now, &mut w.requeue),
                PauseOutcome::Done
            )
        } else if let Some(a) = &step.analysis {
            step_analysis(plan, w, idx, a)
        } else if let Some(e) = &step.experiment {
            step_experiment(plan, w, idx, e)
        } else {
            // setCanaryScale takes effect through `targets`.
            true
        };
        if !done {
            break;
        }
        idx += 1;
    }
    idx
}

/// A `setWeight` step is done when the canary (and, without traffic routing, the stable) has its pods.
fn set_weight_reached(plan: &Plan<'_>, st: &RolloutStatus, idx: usize) -> bool {
    let (c, s) = targets(plan, st, idx);
    let stable = st.stable_rs.as_deref().unwrap_or(plan.hash.as_str());
    reached(plan.find(&plan.hash), c) && (plan.routed || reached(plan.find(stable), s))
}

/// An `analysis` step: creates its run, or reads its phase. Returns whether the step is done.
fn step_analysis(plan: &Plan<'_>, w: &mut Work, idx: usize, a: &crate::spec::RolloutAnalysis) -> bool {
    let kind = AnalysisKind::Step(idx);
    let Some(run) = find_run(plan.observed, &w.st, kind, &plan.hash) else {
        w.actions
            .push(create_run(plan.rollout, &plan.hash, kind, &w.st, a));
        return false;
    };
    w.st.canary.current_step_analysis_run_status = Some(run_ref(run));
    match run.phase {
        AnalysisPhase::Successful => true,
        AnalysisPhase::Failed | AnalysisPhase::Error => {
            w.abort(plan.now, analysis_reason(run));
            false
        }
        AnalysisPhase::Inconclusive => {
            if w.st.controller_pause && w.st.pause_conditions.is_empty() {
                // Promoted by the user after an inconclusive result.
                w.st.controller_pause = false;
                return true;
            }
            inconclusive(&mut w.st, plan.now);
            false
        }
        AnalysisPhase::Pending | AnalysisPhase::Running => false,
    }
}

/// An `experiment` step: creates its Experiment, or reads its phase. Successful ends the step, Failed or Error
/// aborts the update, Inconclusive pauses it until promoted. Returns whether the step is done.
fn step_experiment(
    plan: &Plan<'_>,
    w: &mut Work,
    idx: usize,
    step: &crate::spec::RolloutExperimentStep,
) -> bool {
    let name = crate::experiment_name(plan.rollout, &plan.hash, idx, &w.st);
    w.st.canary.current_experiment = Some(name.clone());
    let Some(ex) = plan.observed.experiments.iter().find(|x| x.name == name) else {
        w.actions.push(Action::CreateExperiment {
            name,
            step_index: idx,
            pod_template_hash: plan.hash.clone(),
            step: step.clone(),
        });
        return false;
    };
    match ex.phase {
        Some(AnalysisPhase::Successful) => true,
        Some(p @ (AnalysisPhase::Failed | AnalysisPhase::Error)) => {
            let why = match ex.message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => format!("Experiment {:?} {}: {m}", ex.name, p.as_str()),
                None => format!("Experiment {:?} {}", ex.name, p.as_str()),
            };
            w.abort(plan.now, why);
            false
        }
        Some(AnalysisPhase::Inconclusive) => {
            if w.st.controller_pause && w.st.pause_conditions.is_empty() {
                // Promoted by the user after an inconclusive result.
                w.st.controller_pause = false;
                return true;
            }
            pause_for(&mut w.st, reasons::INCONCLUSIVE_EXPERIMENT, plan.now);
            false
        }
        Some(AnalysisPhase::Pending | AnalysisPhase::Running) | None => false,
    }
}

/// The Experiment of a step that is no longer current (passed, aborted, a new template, completed) is
/// terminated when it still runs, and forgotten.
fn settle_experiment(plan: &Plan<'_>, w: &mut Work, idx: usize, updating: bool) {
    let Some(name) = w.st.canary.current_experiment.clone() else {
        return;
    };
    let current = updating
        && !w.st.abort
        && idx < plan.n()
        && plan.steps[idx].experiment.is_some()
        && crate::experiment_name(plan.rollout, &plan.hash, idx, &w.st) == name;
    if current {
        return;
    }
    let ended = plan
        .observed
        .experiments
        .iter()
        .find(|x| x.name == name)
        .is_some_and(|x| x.phase.is_some_and(AnalysisPhase::completed));
    if !ended {
        w.actions.push(Action::TerminateExperiment { name });
    }
    w.st.canary.current_experiment = None;
}

/// The action creating the AnalysisRun of `kind` for `hash` from `analysis`.
pub(crate) fn create_run(
    rollout: &Rollout,
    hash: &str,
    kind: AnalysisKind,
    st: &RolloutStatus,
    analysis: &crate::spec::RolloutAnalysis,
) -> Action {
    Action::CreateAnalysisRun {
        name: crate::analysis_run_name(rollout, hash, kind, st),
        kind,
        pod_template_hash: hash.to_string(),
        analysis: analysis.clone(),
    }
}

/// Background analysis, once the steps have moved as far as they can in this reconcile.
fn background_analysis(plan: &Plan<'_>, w: &mut Work, idx: usize, promoted: bool) {
    let Some(bg) = &plan.canary.analysis else {
        return;
    };
    let start = usize::try_from(bg.starting_step.unwrap_or(0)).unwrap_or(0);
    if idx < start {
        return;
    }
    let kind = AnalysisKind::Background;
    let Some(run) = find_run(plan.observed, &w.st, kind, &plan.hash) else {
        w.actions
            .push(create_run(plan.rollout, &plan.hash, kind, &w.st, &bg.analysis));
        return;
    };
    let accepted =
        w.st.canary
            .current_background_analysis_run_status
            .as_ref()
            .is_some_and(|r| {
                r.name == run.name && r.status == "Inconclusive" && r.message.as_deref() == Some(ACCEPTED)
            });
    if !accepted || run.phase != AnalysisPhase::Inconclusive {
        w.st.canary.current_background_analysis_run_status = Some(run_ref(run));
    }
    if matches!(run.phase, AnalysisPhase::Failed | AnalysisPhase::Error) {
        w.abort(plan.now, analysis_reason(run));
    } else if run.phase == AnalysisPhase::Inconclusive && !accepted {
        if promoted {
            // Promoted after the inconclusive result: remember it so the run does not pause the Rollout
            // again (the same promote also passed a pause step in progress).
            if let Some(r) = w.st.canary.current_background_analysis_run_status.as_mut() {
                r.message = Some(ACCEPTED.into());
            }
            if w.st.pause_conditions.is_empty() {
                w.st.controller_pause = false;
            }
        } else {
            inconclusive(&mut w.st, plan.now);
        }
    }
}

/// Leaving a step's analysis behind: forget its status reference.
fn forget_passed_step_analysis(plan: &Plan<'_>, st: &mut RolloutStatus, idx: usize) {
    if let Some(r) = &st.canary.current_step_analysis_run_status
        && plan.steps[idx].analysis.is_none()
        && r.status == "Successful"
    {
        st.canary.current_step_analysis_run_status = None;
    }
}

/// Completion: every step done and the canary fully available; the canary becomes stable.
fn complete(plan: &Plan<'_>, w: &mut Work, idx: usize) -> bool {
    let replicas = plan.replicas;
    if idx < plan.n()
        || !plan
            .find(&plan.hash)
            .is_some_and(|r| r.available >= replicas && r.replicas >= replicas)
    {
        return false;
    }
    let st = &mut w.st;
    st.stable_rs = Some(plan.hash.clone());
    st.promote_full = false;
    st.pause_conditions.clear();
    st.controller_pause = false;
    if let Some(r) = &st.canary.current_background_analysis_run_status {
        w.actions
            .push(Action::TerminateAnalysisRun { name: r.name.clone() });
    }
    st.canary.current_step_analysis_run_status = None;
    st.canary.current_background_analysis_run_status = None;
    w.actions.push(Action::Completed {
        pod_template_hash: plan.hash.clone(),
    });
    true
}

/// Desired sizes of the stable, the canary and the older ReplicaSets.
fn replica_sets(plan: &Plan<'_>, w: &mut Work, stable: &str, updating: bool, idx: usize) -> Sizes {
    let (canary_target, stable_target) = if !updating || w.st.abort {
        (0, plan.replicas)
    } else {
        targets(plan, &w.st, idx)
    };
    let old: Vec<&ReplicaSetObservation> = plan
        .observed
        .replica_sets
        .iter()
        .filter(|r| r.pod_template_hash != stable && (!updating || r.pod_template_hash != plan.hash))
        .collect();
    let stable_cur = plan.find(stable).cloned();
    let canary_cur = if updating {
        plan.find(&plan.hash).cloned()
    } else {
        None
    };
    let (c, s) = if plan.routed {
        routed_counts(
            plan,
            w,
            (canary_target, stable_target),
            canary_cur.as_ref(),
            updating,
        )
    } else {
        let old_spec: i32 = old.iter().map(|r| r.replicas).sum();
        let old_avail: i32 = old.iter().map(|r| r.available).sum();
        basic_counts(
            plan.replicas,
            plan.max_surge,
            plan.max_unavailable,
            (canary_target, stable_target),
            canary_cur.as_ref(),
            stable_cur.as_ref(),
            (old_spec, old_avail),
        )
    };
    let mut sets = vec![DesiredReplicaSet {
        pod_template_hash: stable.to_string(),
        role: Role::Stable,
        replicas: s,
        create: stable_cur.is_none(),
    }];
    if updating && (c > 0 || canary_cur.is_some()) {
        sets.push(DesiredReplicaSet {
            pod_template_hash: plan.hash.clone(),
            role: Role::Canary,
            replicas: c,
            create: canary_cur.is_none(),
        });
    }
    old_replica_sets(plan, w, &old, updating, &mut sets);
    Sizes {
        sets,
        canary: c,
        stable: s,
        canary_obs: canary_cur,
        stable_obs: stable_cur,
    }
}

/// With traffic routing: the targets, or after an abort the stable back to all replicas and the canary scaled
/// down after `abortScaleDownDelaySeconds` (with `dynamicStableScale`, once its traffic left it).
fn routed_counts(
    plan: &Plan<'_>,
    w: &mut Work,
    (canary_target, stable_target): (i32, i32),
    canary_cur: Option<&ReplicaSetObservation>,
    updating: bool,
) -> (i32, i32) {
    if !(updating && w.st.abort) {
        return (canary_target, stable_target);
    }
    let held = aborted_canary_hold(plan, &w.st);
    let delay = plan.delay(plan.canary.abort_scale_down_delay_seconds);
    let c = if held > 0 {
        held
    } else {
        canary_cur.map_or(0, |r| {
            delayed_scale_down(r, delay, plan.now, &mut w.actions, &mut w.requeue)
        })
    };
    let stable = if plan.canary.dynamic_stable_scale {
        plan.min_pods(plan.replicas)
    } else {
        plan.replicas
    };
    (c, stable)
}

/// Older ReplicaSets: within an update an older canary goes away at once; a previous stable waits for its
/// `scaleDownDelaySeconds` (with traffic routing), also during the next update, and at most
/// `scaleDownDelayRevisionLimit` of them (newest revision first) wait.
fn old_replica_sets(
    plan: &Plan<'_>,
    w: &mut Work,
    old: &[&ReplicaSetObservation],
    updating: bool,
    sets: &mut Vec<DesiredReplicaSet>,
) {
    let old_delay = if plan.routed {
        plan.delay(plan.canary.scale_down_delay_seconds)
    } else {
        0
    };
    let delay_of = |r: &ReplicaSetObservation| {
        if !updating || (plan.routed && r.scale_down_deadline.is_some()) {
            old_delay
        } else {
            0
        }
    };
    let delayed: Vec<&ReplicaSetObservation> = old
        .iter()
        .copied()
        .filter(|r| r.replicas > 0 && delay_of(r) > 0)
        .collect();
    let beyond = crate::beyond_revision_limit(&delayed, plan.canary.scale_down_delay_revision_limit);
    for r in old.iter().filter(|r| r.replicas > 0) {
        let delay = if beyond.contains(&r.pod_template_hash) {
            0
        } else {
            delay_of(r)
        };
        let want = delayed_scale_down(r, delay, plan.now, &mut w.actions, &mut w.requeue);
        sets.push(DesiredReplicaSet {
            pod_template_hash: r.pod_template_hash.clone(),
            role: Role::Old,
            replicas: want,
            create: false,
        });
    }
}

/// Canary and stable traffic weights; with traffic routing they are recorded in `status.canary.weights`.
fn weights(
    plan: &Plan<'_>,
    st: &mut RolloutStatus,
    sizes: &Sizes,
    (stable, updating, rollback): (&str, bool, bool),
    idx: usize,
) -> (i32, i32) {
    let (steps, n) = (plan.steps, plan.n());
    let canary_weight = if updating && !st.abort {
        // As Argo Rollouts does: a setWeight step (or the end of the steps) shifts traffic only once the canary
        // has the pods for it; until then the previous step's weight stays. A full promotion (or a rollback
        // within rollbackWindow) keeps the current weight until the canary has every pod (with
        // dynamicStableScale: the share of the pods it has available).
        let waiting_for_pods = plan.routed
            && (idx >= n || steps[idx].set_weight.is_some())
            && !reached(sizes.canary_obs.as_ref(), sizes.canary);
        let w = if waiting_for_pods && idx >= n && (st.promote_full || rollback) {
            if plan.canary.dynamic_stable_scale {
                let avail = sizes.canary_obs.as_ref().map_or(0, |r| r.available);
                (100 * avail / plan.replicas.max(1)).clamp(0, 100)
            } else {
                st.canary.weights.as_ref().map_or(0, |w| w.canary.weight)
            }
        } else if waiting_for_pods {
            idx.checked_sub(1).map_or(0, |i| weight_at(steps, i))
        } else {
            weight_at(steps, idx)
        };
        plan.canary
            .traffic_routing
            .as_ref()
            .and_then(|t| t.max_traffic_weight)
            .map_or(w, |m| w.min(m.clamp(0, 100)))
    } else if updating && plan.canary.dynamic_stable_scale {
        aborted_weight(plan, st, sizes.stable_obs.as_ref())
    } else {
        0
    };
    let stable_weight = 100 - canary_weight;
    if plan.routed {
        // `verified` (the controller read these weights back from the routers) holds while they stay the same.
        let verified = st
            .canary
            .weights
            .as_ref()
            .filter(|w| w.canary.weight == canary_weight && w.stable.weight == stable_weight)
            .and_then(|w| w.verified);
        st.canary.weights = Some(TrafficWeights {
            canary: WeightDestination {
                weight: canary_weight,
                pod_template_hash: Some(if updating {
                    plan.hash.clone()
                } else {
                    stable.to_string()
                }),
                service_name: plan.canary.canary_service.clone(),
            },
            stable: WeightDestination {
                weight: stable_weight,
                pod_template_hash: Some(stable.to_string()),
                service_name: plan.canary.stable_service.clone(),
            },
            additional: Vec::new(),
            verified,
        });
    }
    (canary_weight, stable_weight)
}

/// The hash each of `canaryService` and `stableService` selects.
fn services(
    plan: &Plan<'_>,
    st: &RolloutStatus,
    stable: &str,
    updating: bool,
    canary_weight: i32,
) -> Vec<(String, String)> {
    let mut services = Vec::new();
    if let Some(name) = &plan.canary.canary_service {
        // After an abort with dynamicStableScale the canary Service stays on the canary until its traffic is
        // back on the stable.
        let target = if updating && (!st.abort || canary_weight > 0) {
            plan.hash.as_str()
        } else {
            stable
        };
        services.push((name.clone(), target.to_string()));
    }
    if let Some(name) = &plan.canary.stable_service {
        services.push((name.clone(), stable.to_string()));
    }
    services
}

/// Replica counts, the progress deadline, the phase and its message, the conditions, the observed generation.
fn finish_status(plan: &Plan<'_>, prev: &RolloutStatus, w: &mut Work, sizes: &Sizes, updating: bool) {
    let rollout = plan.rollout;
    count_replicas(&mut w.st, plan.observed, &plan.hash);
    let paused = rollout.spec.paused || !w.st.pause_conditions.is_empty();
    let settled =
        reached(sizes.canary_obs.as_ref(), sizes.canary) && reached(sizes.stable_obs.as_ref(), sizes.stable);
    let waiting = updating && !w.st.abort && !paused && !settled;
    let deadline = i64::from(
        rollout
            .spec
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE as i32),
    );
    let done =
        !updating && w.st.updated_replicas == plan.replicas && w.st.available_replicas >= plan.replicas;
    let idle = idle(&w.st, paused, done);
    let timed_out = progress_deadline(
        prev,
        &mut w.st,
        (waiting, idle),
        deadline,
        plan.now,
        &mut w.requeue,
    );
    if timed_out && rollout.spec.progress_deadline_abort && !w.st.abort {
        let hash = &plan.hash;
        w.abort(
            plan.now,
            format!("ReplicaSet {hash:?} has timed out progressing."),
        );
    }
    let (phase, message) = phase_of(plan, &w.st, sizes, timed_out, paused, updating);
    w.st.phase = Some(phase.to_string());
    w.st.message = (!message.is_empty()).then_some(message);
    w.st.observed_generation = rollout
        .metadata
        .get("generation")
        .and_then(serde_json::Value::as_i64)
        .map(|g| g.to_string())
        .or(w.st.observed_generation.take());
    let st = &w.st;
    let replicas = plan.replicas;
    let facts = Facts {
        paused,
        // Argo's RolloutHealthy: every step done, the current template stable, all pods updated and
        // available, no old pods left.
        healthy: !updating
            && st.stable_rs.as_deref() == Some(plan.hash.as_str())
            && st.updated_replicas == replicas
            && st.available_replicas == replicas
            && st.replicas == replicas,
        available: st.available_replicas >= replicas,
        completed: st.stable_rs.as_deref() == Some(plan.hash.as_str()),
    };
    crate::conditions::update(&mut w.st, facts, plan.now);
}

/// Why the update does not wait for pods, for the `Progressing` condition; `done`: no update in progress and
/// every pod of the template updated and available.
pub(crate) fn idle(st: &RolloutStatus, paused: bool, done: bool) -> Idle {
    if st.abort {
        Idle::Aborted
    } else if paused {
        Idle::Paused
    } else if done {
        Idle::Complete
    } else {
        Idle::Other
    }
}

fn phase_of(
    plan: &Plan<'_>,
    st: &RolloutStatus,
    sizes: &Sizes,
    timed_out: bool,
    paused: bool,
    updating: bool,
) -> (&'static str, String) {
    let replicas = plan.replicas;
    if let Some(degraded) = crate::degraded_phase(plan.rollout, st, timed_out, &plan.hash) {
        degraded
    } else if paused {
        let why = if plan.rollout.spec.paused {
            "manually paused".to_string()
        } else {
            st.pause_conditions
                .iter()
                .map(|p| p.reason.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        ("Paused", why)
    } else if updating {
        ("Progressing", "more replicas need to be updated".to_string())
    } else if sizes
        .stable_obs
        .as_ref()
        .is_some_and(|r| r.available >= replicas && r.replicas == replicas)
        && (plan.routed
            || sizes
                .sets
                .iter()
                .all(|d| d.role == Role::Stable || d.replicas == 0))
    {
        // As Argo Rollouts: with traffic routing the old stable keeps its pods for scaleDownDelaySeconds
        // while no traffic reaches them; the Rollout is Healthy meanwhile.
        ("Healthy", String::new())
    } else if sizes.stable_obs.as_ref().is_some_and(|r| r.available >= replicas) {
        ("Progressing", "old replicas are pending termination".to_string())
    } else {
        (
            "Progressing",
            "updated replicas are still becoming available".to_string(),
        )
    }
}

fn restart_steps(st: &mut RolloutStatus) {
    st.current_step_index = Some(0);
    st.pause_conditions.clear();
    st.controller_pause = false;
    st.canary.current_step_analysis_run_status = None;
    st.canary.current_background_analysis_run_status = None;
}

fn reached(rs: Option<&ReplicaSetObservation>, target: i32) -> bool {
    match rs {
        Some(r) => r.replicas == target && r.available >= target,
        None => target == 0,
    }
}

/// Canary and stable replica targets at step `idx` while updating. Without traffic routing both are rounded
/// up, as Argo Rollouts does, so neither side drops to zero while the weight is strictly between 0 and 100
/// (1 replica at 25 % runs 1 stable and 1 canary pod). With traffic routing (Argo's
/// `CalculateReplicaCountsForTrafficRoutedCanary`): the canary gets ceil(weight × replicas / 100), at least
/// `minPodsPerReplicaSet`, or `setCanaryScale`'s replicas as written; the stable keeps every replica, or with
/// `dynamicStableScale` the larger of its share of the desired weight and of the weight the router has now
/// (so it shrinks only after traffic left it), at least `minPodsPerReplicaSet`.
fn targets(plan: &Plan<'_>, st: &RolloutStatus, idx: usize) -> (i32, i32) {
    let (replicas, steps) = (plan.replicas, plan.steps);
    if !plan.routed {
        let weight = weight_at(steps, idx);
        let c = replicas_for_weight(weight, replicas);
        return (c, replicas_for_weight(100 - weight, replicas));
    }
    let scale = if idx < steps.len() {
        steps[..=idx]
            .iter()
            .rev()
            .find_map(|s| s.set_canary_scale.as_ref())
            .filter(|sc| !sc.match_traffic_weight)
    } else {
        None
    };
    let fixed = scale.and_then(|sc| sc.replicas);
    let desired_weight = match (fixed, scale.and_then(|sc| sc.weight)) {
        (Some(_), _) => 0,
        (None, Some(w)) => w.clamp(0, 100),
        (None, None) => weight_at(steps, idx),
    };
    let canary = match fixed {
        Some(n) => n.max(0),
        None => plan.min_pods(replicas_for_weight(desired_weight, replicas)),
    };
    if !plan.canary.dynamic_stable_scale {
        return (canary, replicas);
    }
    let mut stable = replicas_for_weight(100 - desired_weight, replicas);
    if let Some(w) = &st.canary.weights {
        stable = stable.max(replicas_for_weight(w.stable.weight.clamp(0, 100), replicas));
    }
    (plan.min_pods(canary), plan.min_pods(stable))
}

/// With `dynamicStableScale`, the canary pods an aborted update keeps: as many as the traffic the router
/// still sends to the canary needs (Argo Rollouts scales the canary down only after the traffic left it).
fn aborted_canary_hold(plan: &Plan<'_>, st: &RolloutStatus) -> i32 {
    if !plan.canary.dynamic_stable_scale {
        return 0;
    }
    let weight = st.canary.weights.as_ref().map_or(0, |w| w.canary.weight);
    plan.min_pods(replicas_for_weight(weight.clamp(0, 100), plan.replicas))
}

/// With `dynamicStableScale`, the canary weight after an abort: traffic goes back to the stable only as fast
/// as the stable has pods available for it (100 − its available share), never up again (Argo Rollouts'
/// `calculateDesiredWeightOnAbortOrStableRollback`).
fn aborted_weight(plan: &Plan<'_>, st: &RolloutStatus, stable: Option<&ReplicaSetObservation>) -> i32 {
    let avail = stable.map_or(0, |r| r.available);
    let mut w = 100 - (100 * avail / plan.replicas.max(1));
    if let Some(prev) = &st.canary.weights {
        w = w.min(prev.canary.weight);
    }
    w.clamp(0, 100)
}

/// Replicas of a ReplicaSet that count when scaling down: its spec when it is already shrinking or when
/// availability may be ignored, else its available pods (Argo's `GetReplicasForScaleDown`).
fn replicas_for_scale_down(rs: Option<&ReplicaSetObservation>, ignore_availability: bool) -> i32 {
    match rs {
        None => 0,
        Some(r) if r.replicas < r.available || ignore_availability => r.replicas,
        Some(r) => r.available,
    }
}

/// Argo Rollouts' replica arithmetic for a canary without traffic routing
/// (`CalculateReplicaCountsForBasicCanary`): scale up within `replicas + maxSurge` (one more when both
/// sides were rounded up), the stable first; while older ReplicaSets still have pods nothing is scaled down;
/// then scale down within `replicas − maxUnavailable` available pods, the canary first.
fn basic_counts(
    replicas: i32,
    max_surge: i32,
    max_unavailable: i32,
    (canary_target, stable_target): (i32, i32),
    canary: Option<&ReplicaSetObservation>,
    stable: Option<&ReplicaSetObservation>,
    (old_spec, _old_avail): (i32, i32),
) -> (i32, i32) {
    let mut c = canary.map_or(0, |r| r.replicas.max(0));
    let mut s = stable.map_or(0, |r| r.replicas.max(0));
    let (c_spec, s_spec) = (c, s);
    let extra = i32::from(canary_target + stable_target > replicas);
    let max_total = replicas + max_surge + extra;
    let mut scale_up = max_total - (c_spec + s_spec + old_spec);
    if s_spec < stable_target && scale_up > 0 {
        let up = (stable_target - s_spec).min(scale_up);
        s = s_spec + up;
        scale_up -= up;
    }
    if c_spec < canary_target && scale_up > 0 {
        c = c_spec + (canary_target - c_spec).min(scale_up);
    }
    if old_spec > 0 {
        // Older ReplicaSets are scaled down first.
        return (c, s);
    }
    let min_available = replicas - max_unavailable;
    let increasing = canary.is_none() || canary_target >= c_spec;
    let countable =
        replicas_for_scale_down(canary, !increasing) + replicas_for_scale_down(stable, increasing);
    if countable <= min_available {
        return (c, s);
    }
    let mut scale_down = countable - min_available;
    if canary.is_some() && c_spec > canary_target {
        let down = (c_spec - canary_target).min(scale_down);
        c = c_spec - down;
        scale_down -= down;
    }
    if stable.is_some() && s_spec > stable_target {
        s = s_spec - (s_spec - stable_target).min(scale_down);
    }
    (c, s)
}

fn pause_step(
    st: &mut RolloutStatus,
    duration: Option<i64>,
    now: jiff::Timestamp,
    requeue: &mut Requeue,
) -> PauseOutcome {
    let pos = st
        .pause_conditions
        .iter()
        .position(|c| c.reason == reasons::CANARY_PAUSE_STEP);
    match pos {
        Some(i) => {
            let Some(d) = duration else {
                return PauseOutcome::Waiting;
            };
            let start = st.pause_conditions[i].start_time.unwrap_or(now);
            let end = crate::add_seconds(start, d);
            if now >= end {
                st.pause_conditions.remove(i);
                st.controller_pause = false;
                PauseOutcome::Done
            } else {
                requeue.at(now, end);
                PauseOutcome::Waiting
            }
        }
        None if st.controller_pause => {
            // The pause condition was removed while the controller had paused: `promote`.
            st.controller_pause = false;
            PauseOutcome::Done
        }
        None if duration == Some(0) => PauseOutcome::Done,
        None => {
            st.pause_conditions.push(PauseCondition {
                reason: reasons::CANARY_PAUSE_STEP.into(),
                start_time: Some(now),
            });
            st.controller_pause = true;
            if let Some(d) = duration {
                requeue.at(now, crate::add_seconds(now, d));
            }
            PauseOutcome::Waiting
        }
    }
}

/// Pauses the Rollout for a human after an Inconclusive AnalysisRun (once; the condition is not repeated).
pub(crate) fn inconclusive(st: &mut RolloutStatus, now: jiff::Timestamp) {
    pause_for(st, reasons::INCONCLUSIVE_ANALYSIS, now);
}

/// Pauses the Rollout with pause condition `reason` (once; the condition is not repeated).
fn pause_for(st: &mut RolloutStatus, reason: &str, now: jiff::Timestamp) {
    if !st.pause_conditions.iter().any(|c| c.reason == reason) {
        st.pause_conditions.push(PauseCondition {
            reason: reason.into(),
            start_time: Some(now),
        });
    }
    st.controller_pause = true;
}

pub(crate) fn analysis_reason(run: &crate::AnalysisObservation) -> String {
    match &run.message {
        Some(m) if !m.is_empty() => format!("AnalysisRun {:?} {}: {m}", run.name, run.phase.as_str()),
        _ => format!("AnalysisRun {:?} {}", run.name, run.phase.as_str()),
    }
}

pub(crate) fn abort(st: &mut RolloutStatus, actions: &mut Vec<Action>, now: jiff::Timestamp, reason: String) {
    st.abort = true;
    st.aborted_at = Some(now);
    st.pause_conditions.clear();
    st.controller_pause = false;
    st.message = Some(format!("RolloutAborted: {reason}"));
    actions.push(Action::Aborted { reason });
}
