//! The blue/green state machine (Argo Rollouts semantics).
//!
//! - The new ReplicaSet (preview) is scaled to `previewReplicaCount` (default `replicas`); the preview Service
//!   selects it while the active Service keeps the old hash.
//! - Once the preview is available, `prePromotionAnalysis` runs; then the Rollout either promotes at once
//!   (`autoPromotionEnabled`, default true), after `autoPromotionSeconds`, or pauses (`BlueGreenPause`) until
//!   `promote`. Before switching, a smaller preview is scaled to all replicas.
//! - The active Service switches to the new hash; `postPromotionAnalysis` runs; then the new hash is stable and
//!   the old ReplicaSet is scaled down after `scaleDownDelaySeconds` (default 30).
//! - A failed analysis, a crashed preview pod ([`crate::PodFailure`]) or `abort`: the active Service returns to (or stays on) the old hash, the preview is
//!   scaled down after `abortScaleDownDelaySeconds` (default 30), phase Degraded.

use crate::canary::{abort, analysis_reason};
use crate::spec::{PauseCondition, Rollout, RolloutAnalysis, RolloutStatus};
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

/// Reconciles a blue/green Rollout.
pub fn reconcile_blue_green(rollout: &Rollout, observed: &Observed) -> Result<Decision, Error> {
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
    let hash = crate::pod_template_hash(template);
    let replicas = rollout.spec.replicas.unwrap_or(1).max(0);
    let now = observed.now;
    let prev = rollout.status.clone().unwrap_or_default();
    let mut st = prev.clone();
    let mut actions = Vec::new();
    let mut requeue = Requeue(None);

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
    let mut stable = st.stable_rs.get_or_insert_with(|| hash.clone()).clone();
    let mut active = st
        .blue_green
        .active_selector
        .clone()
        .unwrap_or_else(|| stable.clone());
    if active != stable && active != hash {
        active = stable.clone();
    }
    let mut updating = hash != stable;
    if !updating {
        active = hash.clone();
        st.abort = false;
        st.promote_full = false;
        st.pause_conditions.clear();
        st.controller_pause = false;
        st.blue_green.scale_up_preview_check_point = false;
    }
    let find = |h: &str| observed.replica_sets.iter().find(|r| r.pod_template_hash == h);
    let preview_obs = find(&hash);
    if updating
        && !st.abort
        && let Some(f) = crate::crashed_pod(preview_obs, &st)
    {
        abort(
            &mut st,
            &mut actions,
            now,
            format!("preview pod {} failed: {}", f.pod, f.reason),
        );
    }
    let full = st.blue_green.scale_up_preview_check_point || st.promote_full;
    let mut preview_target = if full {
        replicas
    } else {
        bg.preview_replica_count.unwrap_or(replicas).clamp(0, replicas)
    };

    if updating && !st.abort && active != hash && reached(preview_obs, preview_target) {
        let pre = if st.blue_green.scale_up_preview_check_point {
            // Already promoted; only waiting for the preview to reach full size.
            Gate::Open
        } else {
            gate(
                &crate::analysis_run_name(rollout, &hash, AnalysisKind::PrePromotion, &st),
                bg.pre_promotion_analysis.as_ref(),
                AnalysisKind::PrePromotion,
                &hash,
                observed,
                &mut st,
                &mut actions,
                now,
            )
        };
        if matches!(pre, Gate::Open) && !st.abort {
            let auto = bg.auto_promotion_enabled.unwrap_or(true);
            let secs = i64::from(bg.auto_promotion_seconds.unwrap_or(0).max(0));
            let promote = if st.promote_full || st.blue_green.scale_up_preview_check_point {
                true
            } else if rollout.spec.paused {
                false
            } else {
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
                            requeue.at(now, end);
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
                            requeue.at(now, crate::add_seconds(now, secs));
                        }
                        false
                    }
                }
            };
            if promote {
                if preview_target < replicas {
                    st.blue_green.scale_up_preview_check_point = true;
                    preview_target = replicas;
                }
                if reached(preview_obs, replicas) {
                    active = hash.clone();
                    st.pause_conditions.clear();
                    st.controller_pause = false;
                }
            }
        }
    }

    if updating && !st.abort && active == hash {
        preview_target = replicas;
        let post = gate(
            &crate::analysis_run_name(rollout, &hash, AnalysisKind::PostPromotion, &st),
            bg.post_promotion_analysis.as_ref(),
            AnalysisKind::PostPromotion,
            &hash,
            observed,
            &mut st,
            &mut actions,
            now,
        );
        if matches!(post, Gate::Open) && !st.abort {
            st.stable_rs = Some(hash.clone());
            stable = hash.clone();
            st.promote_full = false;
            st.blue_green.scale_up_preview_check_point = false;
            st.pause_conditions.clear();
            st.controller_pause = false;
            actions.push(Action::Completed {
                pod_template_hash: hash.clone(),
            });
            updating = false;
        }
    }
    if updating && st.abort {
        active = stable.clone();
        if st.aborted_at.is_none() {
            st.aborted_at = Some(now);
            actions.push(Action::Aborted {
                reason: "aborted by the user".into(),
            });
        }
    }
    st.blue_green.active_selector = Some(active.clone());
    st.blue_green.preview_selector = Some(if updating { hash.clone() } else { active.clone() });

    // ReplicaSets.
    let stable_obs = find(&stable);
    let mut sets = vec![DesiredReplicaSet {
        pod_template_hash: stable.clone(),
        role: Role::Stable,
        replicas,
        create: stable_obs.is_none(),
    }];
    let mut preview_want = 0;
    if updating {
        preview_want = if st.abort {
            let delay = i64::from(bg.abort_scale_down_delay_seconds.unwrap_or(DEFAULT_DELAY_SECONDS));
            preview_obs.map_or(0, |r| {
                delayed_scale_down(r, delay, now, &mut actions, &mut requeue)
            })
        } else {
            preview_target
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
    for r in observed
        .replica_sets
        .iter()
        .filter(|r| r.pod_template_hash != stable && r.pod_template_hash != hash && r.replicas > 0)
    {
        // Every older ReplicaSet (the previous active, a superseded preview) waits for the delay, as in Argo.
        let want = delayed_scale_down(r, delay, now, &mut actions, &mut requeue);
        sets.push(DesiredReplicaSet {
            pod_template_hash: r.pod_template_hash.clone(),
            role: Role::Old,
            replicas: want,
            create: false,
        });
    }

    let canary_weight = if updating && active == hash { 100 } else { 0 };
    let mut services = vec![(bg.active_service.clone(), active.clone())];
    if let Some(p) = &bg.preview_service {
        services.push((
            p.clone(),
            st.blue_green.preview_selector.clone().unwrap_or_default(),
        ));
    }

    count_replicas(&mut st, observed, &hash);
    let paused = rollout.spec.paused || !st.pause_conditions.is_empty();
    let settled = reached(preview_obs, preview_want) && reached(stable_obs, replicas);
    let waiting = updating && !st.abort && !paused && !settled;
    let deadline = i64::from(
        rollout
            .spec
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE),
    );
    let timed_out = progress_deadline(&prev, &mut st, waiting, deadline, now, &mut requeue);
    if timed_out && rollout.spec.progress_deadline_abort && !st.abort {
        abort(
            &mut st,
            &mut actions,
            now,
            format!("ReplicaSet {hash:?} has timed out progressing."),
        );
        st.blue_green.active_selector = Some(stable.clone());
        if let Some(s) = services.first_mut() {
            s.1 = stable.clone();
        }
    }
    let (phase, message) = phase_of(
        rollout, &st, updating, timed_out, stable_obs, replicas, &sets, &hash,
    );
    st.phase = Some(phase.to_string());
    st.message = (!message.is_empty()).then_some(message);
    let canary_weight = if st.abort { 0 } else { canary_weight };

    Ok(Decision {
        pod_template_hash: hash,
        replica_sets: sets,
        canary_weight,
        stable_weight: 100 - canary_weight,
        services,
        status: st,
        actions,
        requeue_after: requeue.0,
    })
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
    if let Some(degraded) = crate::degraded_phase(st, timed_out, hash) {
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
#[allow(clippy::too_many_arguments)]
fn gate(
    run_name: &str,
    analysis: Option<&RolloutAnalysis>,
    kind: AnalysisKind,
    hash: &str,
    observed: &Observed,
    st: &mut RolloutStatus,
    actions: &mut Vec<Action>,
    now: jiff::Timestamp,
) -> Gate {
    let Some(a) = analysis.filter(|a| !a.templates.is_empty()) else {
        return Gate::Open;
    };
    let Some(run) = find_run(observed, st, kind, hash) else {
        actions.push(Action::CreateAnalysisRun {
            name: run_name.to_string(),
            kind,
            pod_template_hash: hash.to_string(),
            templates: a.templates.clone(),
            args: a.args.clone(),
            dry_run: a.dry_run.clone(),
            measurement_retention: a.measurement_retention.clone(),
        });
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
            abort(st, actions, now, analysis_reason(run));
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
