//! The blue/green state machine (Argo Rollouts semantics).
//!
//! - The new ReplicaSet (preview) is scaled to `previewReplicaCount` (default `replicas`); the preview Service
//!   selects it while the active Service keeps the old hash.
//! - Once the preview is available, `prePromotionAnalysis` runs; then the Rollout either promotes at once
//!   (`autoPromotionEnabled`, default true), after `autoPromotionSeconds`, or pauses (`BlueGreenPause`) until
//!   `promote`. Before switching, a smaller preview is scaled to all replicas.
//! - The active Service switches to the new hash; `postPromotionAnalysis` runs; then the new hash is stable and
//!   the old ReplicaSet is scaled down after `scaleDownDelaySeconds` (default 30).
//! - Fast rollback: going back to a ReplicaSet still within its scale-down delay (all its pods available)
//!   switches the active Service at once, without pre-promotion analysis or pause.
//! - `rollbackWindow`: going back to one of the last `revisions` ReplicaSets (older than the stable) promotes
//!   at once, without analysis or pause (pauses and an abort are cleared), as Argo Rollouts does.
//! - Old ReplicaSets wait `scaleDownDelaySeconds`; at most `scaleDownDelayRevisionLimit` of them (newest
//!   revision first), the others are scaled down at once.
//! - A failed analysis, a crashed preview pod ([`crate::PodFailure`]) or `abort`: the active Service returns to (or stays on) the old hash, the preview is
//!   scaled down after `abortScaleDownDelaySeconds` (default 30), phase Degraded.

use crate::canary::{abort, analysis_reason};
use jiff::Timestamp;

use crate::spec::{BlueGreenStrategy, PauseCondition, Rollout, RolloutStatus};
use crate::{
    Action, AnalysisKind, AnalysisPhase, Decision, DesiredReplicaSet, Error, Observed, ReplicaSetObservation,
    Requeue, Role, count_replicas, delayed_scale_down, find_run, progress_deadline, reasons, run_ref,
};

const DEFAULT_DELAY_SECONDS: i32 = 30;
const DEFAULT_PROGRESS_DEADLINE: i32 = 600;

enum Gate {
    Open,
    Closed,
}

/// The blue/green spec of one reconcile, read and checked once.
struct Plan<'a> {
    rollout: &'a Rollout,
    bg: &'a BlueGreenStrategy,
    observed: &'a Observed,
    /// Hash of the current pod template (the preview while updating).
    hash: String,
    replicas: i32,
    now: Timestamp,
}

impl<'a> Plan<'a> {
    fn new(rollout: &'a Rollout, observed: &'a Observed) -> Result<Self, Error> {
        let bg = rollout
            .spec
            .strategy
            .blue_green
            .as_ref()
            .ok_or(Error::Strategy("strategy.blueGreen is not set"))?;
        if bg.active_service.is_empty() {
            return Err(Error::InvalidField {
                field: "strategy.blueGreen.activeService",
                reason: "required".into(),
            });
        }
        let template = rollout.spec.template.as_ref().ok_or(Error::NoTemplate)?;
        Ok(Plan {
            rollout,
            bg,
            observed,
            hash: crate::pod_template_hash(template),
            replicas: rollout.spec.replicas.unwrap_or(1).max(0),
            now: observed.now,
        })
    }

    fn find(&self, hash: &str) -> Option<&'a ReplicaSetObservation> {
        self.observed
            .replica_sets
            .iter()
            .find(|r| r.pod_template_hash == hash)
    }
}

/// What the reconcile changes as it goes.
struct Work {
    st: RolloutStatus,
    actions: Vec<Action>,
    requeue: Requeue,
    /// Hash of the stable ReplicaSet.
    stable: String,
    /// Hash the active Service selects.
    active: String,
    /// An update is in progress (the template is not the stable one).
    updating: bool,
    /// Desired size of the preview ReplicaSet.
    preview_target: i32,
    /// A rollback within `rollbackWindow`: no pause, no analysis, promoted at once.
    rollback: bool,
}

/// Reconciles a blue/green Rollout: one function per rule of the module documentation, in this order.
pub fn reconcile_blue_green(rollout: &Rollout, observed: &Observed) -> Result<Decision, Error> {
    let plan = Plan::new(rollout, observed)?;
    let prev = rollout.status.clone().unwrap_or_default();
    let mut w = start(&plan, prev.clone());
    w.rollback = w.updating && crate::rollback_within_window(rollout, observed, &plan.hash, &w.stable);
    if w.rollback {
        // As Argo Rollouts: a rollback within rollbackWindow clears pauses and an abort and promotes at once.
        w.st.abort = false;
        w.st.aborted_at = None;
        w.st.pause_conditions.clear();
        w.st.controller_pause = false;
    }
    if w.updating && !w.st.abort {
        abort_on_crashed_pod(&plan, &mut w);
    }
    w.preview_target = if fast_rollback(&plan) || w.rollback {
        plan.replicas
    } else {
        preview_size(&plan, &w.st)
    };
    let preview_ready = reached(plan.find(&plan.hash), w.preview_target);
    if w.updating && !w.st.abort && w.active != plan.hash && preview_ready {
        pre_promotion(&plan, &mut w);
    }
    if w.updating && !w.st.abort && w.active == plan.hash {
        post_promotion(&plan, &mut w);
    }
    if w.updating && w.st.abort {
        w.active = w.stable.clone();
        if w.st.aborted_at.is_none() {
            // Aborted by the user (`status.abort` set by the CLI).
            w.st.aborted_at = Some(plan.now);
            w.actions.push(Action::Aborted {
                reason: "aborted by the user".into(),
            });
        }
    }
    w.st.blue_green.active_selector = Some(w.active.clone());
    w.st.blue_green.preview_selector = Some(if w.updating {
        plan.hash.clone()
    } else {
        w.active.clone()
    });
    let (sets, preview_want) = replica_sets(&plan, &mut w);
    let canary_weight = if w.updating && w.active == plan.hash {
        100
    } else {
        0
    };
    let mut services = services(&plan, &w);
    finish_status(&plan, &prev, &mut w, &sets, preview_want, &mut services);
    let canary_weight = if w.st.abort { 0 } else { canary_weight };
    Ok(Decision {
        pod_template_hash: plan.hash,
        replica_sets: sets,
        canary_weight,
        stable_weight: 100 - canary_weight,
        services,
        status: w.st,
        actions: w.actions,
        requeue_after: w.requeue.0,
    })
}

/// A new template resets the update; the first template becomes stable and active at once.
fn start(plan: &Plan<'_>, mut st: RolloutStatus) -> Work {
    let hash = &plan.hash;
    if st.current_pod_hash.as_deref() != Some(hash.as_str()) {
        st.abort = false;
        st.aborted_at = None;
        st.promote_full = false;
        st.pause_conditions.clear();
        st.controller_pause = false;
        st.blue_green.scale_up_preview_check_point = false;
        st.blue_green.pre_promotion_analysis_run_status = None;
        st.blue_green.post_promotion_analysis_run_status = None;
    }
    st.current_pod_hash = Some(hash.clone());
    let stable = st.stable_rs.get_or_insert_with(|| hash.clone()).clone();
    let mut active = st
        .blue_green
        .active_selector
        .clone()
        .unwrap_or_else(|| stable.clone());
    if active != stable && active != *hash {
        active = stable.clone();
    }
    let updating = *hash != stable;
    if !updating {
        active = hash.clone();
        st.abort = false;
        st.promote_full = false;
        st.pause_conditions.clear();
        st.controller_pause = false;
        st.blue_green.scale_up_preview_check_point = false;
    }
    Work {
        st,
        actions: Vec::new(),
        requeue: Requeue(None),
        stable,
        active,
        updating,
        preview_target: 0,
        rollback: false,
    }
}

/// A crashed preview pod aborts the update.
fn abort_on_crashed_pod(plan: &Plan<'_>, w: &mut Work) {
    if let Some(f) = crate::crashed_pod(plan.find(&plan.hash), &w.st) {
        abort(
            &mut w.st,
            &mut w.actions,
            plan.now,
            format!("preview pod {} failed: {}", f.pod, f.reason),
        );
    }
}

/// `previewReplicaCount` before promotion, all replicas once promoted.
fn preview_size(plan: &Plan<'_>, st: &RolloutStatus) -> i32 {
    if st.blue_green.scale_up_preview_check_point || st.promote_full {
        plan.replicas
    } else {
        plan.bg
            .preview_replica_count
            .unwrap_or(plan.replicas)
            .clamp(0, plan.replicas)
    }
}

/// The preview is available: pre-promotion analysis, then promotion (automatic, after
/// `autoPromotionSeconds`, or by `promote`); a smaller preview is scaled to all replicas before the switch.
fn pre_promotion(plan: &Plan<'_>, w: &mut Work) {
    let fast_rollback = fast_rollback(plan) || w.rollback;
    let pre = if w.st.blue_green.scale_up_preview_check_point || fast_rollback {
        // Already promoted (only waiting for the preview to reach full size), or a fast rollback.
        Gate::Open
    } else {
        gate(plan, w, AnalysisKind::PrePromotion)
    };
    if !matches!(pre, Gate::Open) || w.st.abort || !(fast_rollback || promotion(plan, w)) {
        return;
    }
    if w.preview_target < plan.replicas {
        w.st.blue_green.scale_up_preview_check_point = true;
        w.preview_target = plan.replicas;
    }
    if reached(plan.find(&plan.hash), plan.replicas) {
        w.active = plan.hash.clone();
        w.st.pause_conditions.clear();
        w.st.controller_pause = false;
    }
}

/// Fast rollback (as Argo Rollouts): back to a ReplicaSet still within its scale-down delay, with all its
/// pods available, the active Service switches at once, without pre-promotion analysis or pause.
fn fast_rollback(plan: &Plan<'_>) -> bool {
    plan.find(&plan.hash).is_some_and(|r| {
        r.scale_down_deadline.is_some_and(|at| at > plan.now)
            && r.replicas >= plan.replicas
            && r.available >= plan.replicas
    })
}

/// Whether the Rollout promotes now: `promote --full`, auto-promotion (after its delay) or a `promote` that
/// removed the `BlueGreenPause`; otherwise the pause is (or stays) set.
fn promotion(plan: &Plan<'_>, w: &mut Work) -> bool {
    let (st, now) = (&mut w.st, plan.now);
    let auto = plan.bg.auto_promotion_enabled.unwrap_or(true);
    let secs = i64::from(plan.bg.auto_promotion_seconds.unwrap_or(0).max(0));
    if st.promote_full || st.blue_green.scale_up_preview_check_point {
        return true;
    }
    if plan.rollout.spec.paused {
        return false;
    }
    let pos = st
        .pause_conditions
        .iter()
        .position(|c| c.reason == reasons::BLUE_GREEN_PAUSE);
    match pos {
        Some(i) if auto && secs > 0 => {
            let end = crate::add_seconds(st.pause_conditions[i].start_time.unwrap_or(now), secs);
            if now >= end {
                st.pause_conditions.remove(i);
                st.controller_pause = false;
                true
            } else {
                w.requeue.at(now, end);
                false
            }
        }
        Some(_) => false,
        None if st.controller_pause => {
            // The pause condition was removed: `promote`.
            st.controller_pause = false;
            true
        }
        None if auto && secs == 0 => true,
        None => {
            st.pause_conditions.push(PauseCondition {
                reason: reasons::BLUE_GREEN_PAUSE.into(),
                start_time: Some(now),
            });
            st.controller_pause = true;
            if auto {
                w.requeue.at(now, crate::add_seconds(now, secs));
            }
            false
        }
    }
}

/// The active Service switched: post-promotion analysis, then the new hash is stable.
fn post_promotion(plan: &Plan<'_>, w: &mut Work) {
    w.preview_target = plan.replicas;
    let post = if w.rollback {
        Gate::Open
    } else {
        gate(plan, w, AnalysisKind::PostPromotion)
    };
    if !matches!(post, Gate::Open) || w.st.abort {
        return;
    }
    let st = &mut w.st;
    st.stable_rs = Some(plan.hash.clone());
    w.stable = plan.hash.clone();
    st.promote_full = false;
    st.blue_green.scale_up_preview_check_point = false;
    st.pause_conditions.clear();
    st.controller_pause = false;
    w.actions.push(Action::Completed {
        pod_template_hash: plan.hash.clone(),
    });
    w.updating = false;
}

/// Desired sizes: the active (stable) with all replicas, the preview, older ReplicaSets after their delay.
fn replica_sets(plan: &Plan<'_>, w: &mut Work) -> (Vec<DesiredReplicaSet>, i32) {
    let (hash, bg, now) = (&plan.hash, plan.bg, plan.now);
    let preview_obs = plan.find(hash);
    let mut sets = vec![DesiredReplicaSet {
        pod_template_hash: w.stable.clone(),
        role: Role::Stable,
        replicas: plan.replicas,
        create: plan.find(&w.stable).is_none(),
    }];
    let mut preview_want = 0;
    if w.updating {
        preview_want = if w.st.abort {
            let delay = i64::from(bg.abort_scale_down_delay_seconds.unwrap_or(DEFAULT_DELAY_SECONDS));
            preview_obs.map_or(0, |r| {
                delayed_scale_down(r, delay, now, &mut w.actions, &mut w.requeue)
            })
        } else {
            w.preview_target
        };
        if preview_want > 0 || preview_obs.is_some() {
            sets.push(DesiredReplicaSet {
                pod_template_hash: hash.clone(),
                role: Role::Preview,
                replicas: preview_want,
                create: preview_obs.is_none(),
            });
        }
    }
    let delay = i64::from(bg.scale_down_delay_seconds.unwrap_or(DEFAULT_DELAY_SECONDS));
    let old: Vec<&ReplicaSetObservation> = plan
        .observed
        .replica_sets
        .iter()
        .filter(|r| r.pod_template_hash != w.stable && r.pod_template_hash != *hash && r.replicas > 0)
        .collect();
    // Every older ReplicaSet (the previous active, a superseded preview) waits for the delay, as in Argo; at
    // most scaleDownDelayRevisionLimit of them (newest first), the others are scaled down at once.
    let beyond = crate::beyond_revision_limit(&old, bg.scale_down_delay_revision_limit);
    for r in old {
        let delay = if beyond.contains(&r.pod_template_hash) {
            0
        } else {
            delay
        };
        let want = delayed_scale_down(r, delay, now, &mut w.actions, &mut w.requeue);
        sets.push(DesiredReplicaSet {
            pod_template_hash: r.pod_template_hash.clone(),
            role: Role::Old,
            replicas: want,
            create: false,
        });
    }
    (sets, preview_want)
}

/// The hash each of `activeService` and `previewService` selects.
fn services(plan: &Plan<'_>, w: &Work) -> Vec<(String, String)> {
    let mut services = vec![(plan.bg.active_service.clone(), w.active.clone())];
    if let Some(p) = &plan.bg.preview_service {
        services.push((
            p.clone(),
            w.st.blue_green.preview_selector.clone().unwrap_or_default(),
        ));
    }
    services
}

/// Replica counts, the progress deadline (an abort on it sends the active Service back), phase and message.
fn finish_status(
    plan: &Plan<'_>,
    prev: &RolloutStatus,
    w: &mut Work,
    sets: &[DesiredReplicaSet],
    preview_want: i32,
    services: &mut [(String, String)],
) {
    let (rollout, hash) = (plan.rollout, &plan.hash);
    count_replicas(&mut w.st, plan.observed, hash);
    // As Argo Rollouts: ready and available pods are those of the active ReplicaSet.
    if let Some(active) = plan.find(&w.active) {
        w.st.ready_replicas = active.ready;
        w.st.available_replicas = active.available;
    }
    let stable_obs = plan.find(&w.stable);
    let paused = rollout.spec.paused || !w.st.pause_conditions.is_empty();
    let settled = reached(plan.find(hash), preview_want) && reached(stable_obs, plan.replicas);
    let waiting = w.updating && !w.st.abort && !paused && !settled;
    let deadline = i64::from(
        rollout
            .spec
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE),
    );
    let done =
        !w.updating && w.st.updated_replicas == plan.replicas && w.st.available_replicas >= plan.replicas;
    let idle = crate::canary::idle(&w.st, paused, done);
    let timed_out = progress_deadline(
        prev,
        &mut w.st,
        (waiting, idle),
        deadline,
        plan.now,
        &mut w.requeue,
    );
    if timed_out && rollout.spec.progress_deadline_abort && !w.st.abort {
        abort(
            &mut w.st,
            &mut w.actions,
            plan.now,
            format!("ReplicaSet {hash:?} has timed out progressing."),
        );
        w.st.blue_green.active_selector = Some(w.stable.clone());
        if let Some(s) = services.first_mut() {
            s.1 = w.stable.clone();
        }
    }
    let (phase, message) = phase_of(
        rollout,
        &w.st,
        w.updating,
        timed_out,
        stable_obs,
        plan.replicas,
        sets,
        hash,
    );
    w.st.phase = Some(phase.to_string());
    w.st.message = (!message.is_empty()).then_some(message);
    let st = &w.st;
    let replicas = plan.replicas;
    let active_obs = plan.find(&w.active);
    let preview_done =
        plan.bg.preview_service.is_none() || st.blue_green.preview_selector.as_deref() == Some(hash.as_str());
    let facts = crate::conditions::Facts {
        paused,
        // Argo's RolloutHealthy: active (and preview) on the current template, all pods updated and available.
        healthy: !w.updating
            && w.active == *hash
            && preview_done
            && st.updated_replicas == replicas
            && st.available_replicas == replicas,
        // Argo: the active ReplicaSet is saturated.
        available: active_obs.is_some_and(|r| r.replicas == replicas && r.available >= replicas),
        completed: st.stable_rs.as_deref() == Some(hash.as_str()),
    };
    crate::conditions::update(&mut w.st, facts, plan.now);
}

#[allow(clippy::too_many_arguments)]
fn phase_of(
    rollout: &Rollout,
    st: &RolloutStatus,
    updating: bool,
    timed_out: bool,
    stable_obs: Option<&ReplicaSetObservation>,
    replicas: i32,
    sets: &[DesiredReplicaSet],
    hash: &str,
) -> (&'static str, String) {
    if let Some(degraded) = crate::degraded_phase(rollout, st, timed_out, hash) {
        degraded
    } else if rollout.spec.paused {
        ("Paused", "manually paused".into())
    } else if !st.pause_conditions.is_empty() {
        let why = st
            .pause_conditions
            .iter()
            .map(|p| p.reason.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ("Paused", why)
    } else if updating {
        (
            "Progressing",
            "waiting for the preview ReplicaSet and promotion".into(),
        )
    } else if stable_obs.is_some_and(|r| r.available >= replicas && r.replicas == replicas) {
        if sets.iter().any(|d| d.role == Role::Old && d.replicas > 0) {
            ("Healthy", "old ReplicaSet waits for its scale-down delay".into())
        } else {
            ("Healthy", String::new())
        }
    } else {
        (
            "Progressing",
            "updated replicas are still becoming available".into(),
        )
    }
}

fn reached(rs: Option<&ReplicaSetObservation>, target: i32) -> bool {
    match rs {
        Some(r) => r.replicas == target && r.available >= target,
        None => target == 0,
    }
}

/// A pre- or post-promotion analysis gate.
fn gate(plan: &Plan<'_>, w: &mut Work, kind: AnalysisKind) -> Gate {
    let analysis = if kind == AnalysisKind::PrePromotion {
        plan.bg.pre_promotion_analysis.as_ref()
    } else {
        plan.bg.post_promotion_analysis.as_ref()
    };
    let Some(a) = analysis.filter(|a| !a.templates.is_empty()) else {
        return Gate::Open;
    };
    let (st, now) = (&mut w.st, plan.now);
    let Some(run) = find_run(plan.observed, st, kind, &plan.hash) else {
        w.actions
            .push(crate::canary::create_run(plan.rollout, &plan.hash, kind, st, a));
        return Gate::Closed;
    };
    let r = Some(run_ref(run));
    if kind == AnalysisKind::PrePromotion {
        st.blue_green.pre_promotion_analysis_run_status = r;
    } else {
        st.blue_green.post_promotion_analysis_run_status = r;
    }
    match run.phase {
        AnalysisPhase::Successful => Gate::Open,
        AnalysisPhase::Failed | AnalysisPhase::Error => {
            abort(st, &mut w.actions, now, analysis_reason(run));
            Gate::Closed
        }
        AnalysisPhase::Inconclusive => {
            if st.controller_pause && st.pause_conditions.is_empty() {
                // Promoted after the inconclusive result. The flag is left for the promotion pause (pre) or
                // cleared on completion (post), so one `promote` passes both.
                return Gate::Open;
            }
            crate::canary::inconclusive(st, now);
            Gate::Closed
        }
        AnalysisPhase::Pending | AnalysisPhase::Running => Gate::Closed,
    }
}
