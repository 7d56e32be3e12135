//! The canary state machine (Argo Rollouts semantics).
//!
//! - A new pod template (or new steps) restarts at step 0; the first template of a Rollout becomes stable at once.
//! - `setWeight` without `trafficRouting` is approximated by replica counts: canary = ceil(weight × replicas /
//!   100), stable = replicas − canary, reached within `maxSurge` / `maxUnavailable`. The step is done when both
//!   ReplicaSets have their counts available. With `trafficRouting` the stable keeps all replicas and the canary
//!   gets ceil(weight × replicas / 100) (or `setCanaryScale`), and the weight goes to the router once those
//!   canary pods are available (until then the previous weight stays, as in Argo Rollouts).
//! - `pause` without duration waits for `promote`; with a duration it ends by itself (start time in
//!   `status.pauseConditions`).
//! - `analysis` steps create an AnalysisRun and wait for it; background analysis runs during the whole update.
//!   Failed or Error → abort; Inconclusive → paused until promoted.
//! - A crashed canary pod ([`crate::PodFailure`]: phase Failed, a non-zero exit code, CrashLoopBackOff) → abort,
//!   the message naming the pod and why.
//! - Abort: 100 % to stable at once; the canary is scaled down (after `abortScaleDownDelaySeconds`, default 30,
//!   with traffic routing; at once, within maxUnavailable, without). Phase Degraded.
//! - No progress for `progressDeadlineSeconds` (default 600) while waiting for pods → Degraded, and abort when
//!   `progressDeadlineAbort`.
//! - After the last step the canary scales to all replicas, becomes stable, and the old stable is scaled down
//!   (after `scaleDownDelaySeconds`, default 30, with traffic routing; by the replica arithmetic without).

use crate::spec::PauseCondition;
use crate::spec::{CanaryStep, Rollout, RolloutStatus, TrafficWeights, WeightDestination};
use crate::util::{parse_duration_seconds, replicas_for_weight, resolve_fenceposts, stable_hash};
use crate::{
    Action, AnalysisKind, AnalysisPhase, Decision, DesiredReplicaSet, Error, Observed, PauseOutcome,
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

/// Reconciles a canary Rollout.
pub fn reconcile_canary(rollout: &Rollout, observed: &Observed) -> Result<Decision, Error> {
    let canary = rollout
        .spec
        .strategy
        .canary
        .as_ref()
        .ok_or(Error::Strategy("strategy.canary is not set"))?;
    let template = rollout.spec.template.as_ref().ok_or(Error::NoTemplate)?;
    let hash = crate::pod_template_hash(template);
    let replicas = rollout.spec.replicas.unwrap_or(1).max(0);
    let now = observed.now;
    let steps = &canary.steps;
    let n = steps.len();
    let step_hash = stable_hash(&serde_json::to_value(steps).map_err(|e| Error::InvalidField {
        field: "strategy.canary.steps",
        reason: e.to_string(),
    })?);
    let routed = canary.traffic_routing.is_some();
    let (max_surge, max_unavailable) = resolve_fenceposts(
        canary.max_surge.as_ref(),
        canary.max_unavailable.as_ref(),
        replicas,
    )?;
    let mut pause_durations = Vec::with_capacity(n);
    for s in steps {
        pause_durations.push(match s.pause.as_ref().and_then(|p| p.duration.as_ref()) {
            Some(d) => Some(parse_duration_seconds(d)?),
            None => None,
        });
    }

    let prev = rollout.status.clone().unwrap_or_default();
    let mut st = prev.clone();
    let mut actions = Vec::new();
    let mut requeue = Requeue(None);

    // A new template or new steps restart the steps.
    if st.current_pod_hash.as_deref() != Some(hash.as_str()) {
        st.abort = false;
        st.aborted_at = None;
        st.promote_full = false;
        restart_steps(&mut st);
    } else if st.current_step_hash.as_deref() != Some(step_hash.as_str()) {
        restart_steps(&mut st);
    }
    st.current_pod_hash = Some(hash.clone());
    st.current_step_hash = Some(step_hash);
    let stable = st.stable_rs.get_or_insert_with(|| hash.clone()).clone();

    let find = |h: &str| observed.replica_sets.iter().find(|r| r.pod_template_hash == h);
    let canary_obs = find(&hash);
    let stable_obs = find(&stable);
    let mut idx = usize::try_from(st.current_step_index.unwrap_or(0))
        .unwrap_or(0)
        .min(n);
    let mut updating = stable != hash;

    if !updating {
        idx = n;
        st.abort = false;
        st.promote_full = false;
        st.controller_pause = false;
        st.pause_conditions.clear();
        st.canary.current_step_analysis_run_status = None;
        st.canary.current_background_analysis_run_status = None;
    }

    // `promote` removed the pause conditions of a controller pause.
    let promoted = st.controller_pause && st.pause_conditions.is_empty();
    if updating
        && !st.abort
        && let Some(f) = crate::crashed_pod(canary_obs, &st)
    {
        abort(
            &mut st,
            &mut actions,
            now,
            format!("canary pod {} failed: {}", f.pod, f.reason),
        );
    }
    if updating && !st.abort {
        if st.promote_full {
            idx = n;
            st.pause_conditions.clear();
            st.controller_pause = false;
        }
        let blocked = rollout.spec.paused
            || st
                .pause_conditions
                .iter()
                .any(|c| c.reason != reasons::CANARY_PAUSE_STEP);
        while !blocked && idx < n && !st.abort {
            let step = &steps[idx];
            if step.set_weight.is_some() {
                let (c, s) = targets(canary, routed, replicas, steps, idx);
                if reached(canary_obs, c) && (routed || reached(stable_obs, s)) {
                    idx += 1;
                    continue;
                }
                break;
            } else if step.pause.is_some() {
                match pause_step(&mut st, pause_durations[idx], now, &mut requeue) {
                    PauseOutcome::Done => {
                        idx += 1;
                        continue;
                    }
                    PauseOutcome::Waiting => break,
                }
            } else if let Some(a) = &step.analysis {
                let kind = AnalysisKind::Step(idx);
                match find_run(observed, &st, kind, &hash) {
                    None => {
                        actions.push(Action::CreateAnalysisRun {
                            name: crate::analysis_run_name(rollout, &hash, kind, &st),
                            kind,
                            pod_template_hash: hash.clone(),
                            templates: a.templates.clone(),
                            args: a.args.clone(),
                            dry_run: a.dry_run.clone(),
                            measurement_retention: a.measurement_retention.clone(),
                        });
                        break;
                    }
                    Some(run) => {
                        st.canary.current_step_analysis_run_status = Some(run_ref(run));
                        match run.phase {
                            AnalysisPhase::Successful => {
                                idx += 1;
                                continue;
                            }
                            AnalysisPhase::Failed | AnalysisPhase::Error => {
                                abort(&mut st, &mut actions, now, analysis_reason(run));
                                break;
                            }
                            AnalysisPhase::Inconclusive => {
                                if st.controller_pause && st.pause_conditions.is_empty() {
                                    // Promoted by the user after an inconclusive result.
                                    st.controller_pause = false;
                                    idx += 1;
                                    continue;
                                }
                                inconclusive(&mut st, now);
                                break;
                            }
                            AnalysisPhase::Pending | AnalysisPhase::Running => break,
                        }
                    }
                }
            } else {
                // setCanaryScale takes effect through `targets`; experiment, header/mirror routes and plugin
                // steps are not interpreted yet and pass.
                idx += 1;
            }
        }
    }
    st.current_step_index = Some(i32::try_from(idx).unwrap_or(i32::MAX));
    if updating && !st.abort {
        // Background analysis, once the steps have moved as far as they can in this reconcile.
        if let Some(bg) = &canary.analysis {
            let start = usize::try_from(bg.starting_step.unwrap_or(0)).unwrap_or(0);
            if idx >= start {
                match find_run(observed, &st, AnalysisKind::Background, &hash) {
                    None => actions.push(Action::CreateAnalysisRun {
                        name: crate::analysis_run_name(rollout, &hash, AnalysisKind::Background, &st),
                        kind: AnalysisKind::Background,
                        pod_template_hash: hash.clone(),
                        templates: bg.templates.clone(),
                        args: bg.args.clone(),
                        dry_run: bg.dry_run.clone(),
                        measurement_retention: bg.measurement_retention.clone(),
                    }),
                    Some(run) => {
                        let accepted = st
                            .canary
                            .current_background_analysis_run_status
                            .as_ref()
                            .is_some_and(|r| {
                                r.name == run.name
                                    && r.status == "Inconclusive"
                                    && r.message.as_deref() == Some(ACCEPTED)
                            });
                        if !accepted || run.phase != AnalysisPhase::Inconclusive {
                            st.canary.current_background_analysis_run_status = Some(run_ref(run));
                        }
                        if matches!(run.phase, AnalysisPhase::Failed | AnalysisPhase::Error) {
                            abort(&mut st, &mut actions, now, analysis_reason(run));
                        } else if run.phase == AnalysisPhase::Inconclusive && !accepted {
                            if promoted {
                                // Promoted after the inconclusive result: remember it so the run does not pause
                                // the Rollout again (the same promote also passed a pause step in progress).
                                if let Some(r) = st.canary.current_background_analysis_run_status.as_mut() {
                                    r.message = Some(ACCEPTED.into());
                                }
                                if st.pause_conditions.is_empty() {
                                    st.controller_pause = false;
                                }
                            } else {
                                inconclusive(&mut st, now);
                            }
                        }
                    }
                }
            }
        }
    }

    if updating && idx < n {
        // Leaving a step's analysis behind: forget its status reference.
        if let Some(r) = &st.canary.current_step_analysis_run_status
            && steps[idx].analysis.is_none()
            && r.status == "Successful"
        {
            st.canary.current_step_analysis_run_status = None;
        }
    }

    // Completion: every step done and the canary fully available.
    if updating
        && !st.abort
        && idx >= n
        && canary_obs.is_some_and(|r| r.available >= replicas && r.replicas >= replicas)
    {
        st.stable_rs = Some(hash.clone());
        st.promote_full = false;
        st.pause_conditions.clear();
        st.controller_pause = false;
        if let Some(r) = &st.canary.current_background_analysis_run_status {
            actions.push(Action::TerminateAnalysisRun { name: r.name.clone() });
        }
        st.canary.current_step_analysis_run_status = None;
        st.canary.current_background_analysis_run_status = None;
        actions.push(Action::Completed {
            pod_template_hash: hash.clone(),
        });
        updating = false;
    }
    let stable = st.stable_rs.clone().unwrap_or_else(|| hash.clone());

    if updating && st.abort && st.aborted_at.is_none() {
        // Aborted by the user (`status.abort` set by the CLI).
        st.aborted_at = Some(now);
        actions.push(Action::Aborted {
            reason: "aborted by the user".into(),
        });
    }

    // Replica targets.
    let mut sets = Vec::new();
    let (canary_target, stable_target) = if !updating || st.abort {
        (0, replicas)
    } else {
        targets(canary, routed, replicas, steps, idx)
    };
    let old: Vec<&ReplicaSetObservation> = observed
        .replica_sets
        .iter()
        .filter(|r| r.pod_template_hash != stable && (!updating || r.pod_template_hash != hash))
        .collect();
    let stable_cur = stable_obs_for(observed, &stable);
    let canary_cur = if updating { find(&hash).cloned() } else { None };
    let (mut c, s);
    if routed {
        s = stable_target;
        c = canary_target;
        if updating && st.abort {
            let delay = i64::from(
                canary
                    .abort_scale_down_delay_seconds
                    .unwrap_or(DEFAULT_DELAY_SECONDS as i32),
            );
            c = canary_cur.as_ref().map_or(0, |r| {
                delayed_scale_down(r, delay, now, &mut actions, &mut requeue)
            });
        }
    } else {
        let old_spec: i32 = old.iter().map(|r| r.replicas).sum();
        let old_avail: i32 = old.iter().map(|r| r.available).sum();
        (c, s) = basic_counts(
            replicas,
            max_surge,
            max_unavailable,
            (canary_target, stable_target),
            canary_cur.as_ref(),
            stable_cur.as_ref(),
            (old_spec, old_avail),
        );
    }
    sets.push(DesiredReplicaSet {
        pod_template_hash: stable.clone(),
        role: Role::Stable,
        replicas: s,
        create: stable_cur.is_none(),
    });
    if updating && (c > 0 || canary_cur.is_some()) {
        sets.push(DesiredReplicaSet {
            pod_template_hash: hash.clone(),
            role: Role::Canary,
            replicas: c,
            create: canary_cur.is_none(),
        });
    }
    let old_delay = if routed {
        i64::from(
            canary
                .scale_down_delay_seconds
                .unwrap_or(DEFAULT_DELAY_SECONDS as i32),
        )
    } else {
        0
    };
    for r in old {
        if r.replicas == 0 {
            continue;
        }
        // Within an update an older canary goes away at once; the previous stable waits for its delay.
        let delay = if updating { 0 } else { old_delay };
        let want = delayed_scale_down(r, delay, now, &mut actions, &mut requeue);
        sets.push(DesiredReplicaSet {
            pod_template_hash: r.pod_template_hash.clone(),
            role: Role::Old,
            replicas: want,
            create: false,
        });
    }

    // Weights.
    let canary_weight = if updating && !st.abort {
        // As Argo Rollouts does: a setWeight step shifts traffic only once the canary has the pods for it;
        // until then the previous step's weight stays.
        let waiting_for_pods =
            routed && idx < n && steps[idx].set_weight.is_some() && !reached(canary_cur.as_ref(), c);
        let w = if waiting_for_pods {
            idx.checked_sub(1).map_or(0, |i| weight_at(steps, i))
        } else {
            weight_at(steps, idx)
        };
        canary
            .traffic_routing
            .as_ref()
            .and_then(|t| t.max_traffic_weight)
            .map_or(w, |m| w.min(m.clamp(0, 100)))
    } else {
        0
    };
    let stable_weight = 100 - canary_weight;
    if routed {
        st.canary.weights = Some(TrafficWeights {
            canary: WeightDestination {
                weight: canary_weight,
                pod_template_hash: Some(if updating { hash.clone() } else { stable.clone() }),
                service_name: canary.canary_service.clone(),
            },
            stable: WeightDestination {
                weight: stable_weight,
                pod_template_hash: Some(stable.clone()),
                service_name: canary.stable_service.clone(),
            },
            additional: Vec::new(),
            verified: None,
        });
    }
    let mut services = Vec::new();
    if let Some(name) = &canary.canary_service {
        let target = if updating && !st.abort { &hash } else { &stable };
        services.push((name.clone(), target.clone()));
    }
    if let Some(name) = &canary.stable_service {
        services.push((name.clone(), stable.clone()));
    }

    // Status, deadline, phase.
    count_replicas(&mut st, observed, &hash);
    let paused = rollout.spec.paused || !st.pause_conditions.is_empty();
    let settled = reached(canary_cur.as_ref(), c) && reached(stable_cur.as_ref(), s);
    let waiting = updating && !st.abort && !paused && !settled;
    let deadline = i64::from(
        rollout
            .spec
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE as i32),
    );
    let timed_out = progress_deadline(&prev, &mut st, waiting, deadline, now, &mut requeue);
    if timed_out && rollout.spec.progress_deadline_abort && !st.abort {
        abort(
            &mut st,
            &mut actions,
            now,
            format!("ReplicaSet {hash:?} has timed out progressing."),
        );
    }
    let (phase, message) = if let Some(degraded) = crate::degraded_phase(&st, timed_out, &hash) {
        degraded
    } else if paused {
        let why = if rollout.spec.paused {
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
    } else if stable_cur
        .as_ref()
        .is_some_and(|r| r.available >= replicas && r.replicas == replicas)
        && sets.iter().all(|d| d.role == Role::Stable || d.replicas == 0)
    {
        ("Healthy", String::new())
    } else if stable_cur.as_ref().is_some_and(|r| r.available >= replicas) {
        ("Progressing", "old replicas are pending termination".to_string())
    } else {
        (
            "Progressing",
            "updated replicas are still becoming available".to_string(),
        )
    };
    st.phase = Some(phase.to_string());
    st.message = (!message.is_empty()).then_some(message);
    st.observed_generation = rollout
        .metadata
        .get("generation")
        .and_then(serde_json::Value::as_i64)
        .map(|g| g.to_string())
        .or(st.observed_generation);

    Ok(Decision {
        pod_template_hash: hash,
        replica_sets: sets,
        canary_weight,
        stable_weight,
        services,
        status: st,
        actions,
        requeue_after: requeue.0,
    })
}

fn restart_steps(st: &mut RolloutStatus) {
    st.current_step_index = Some(0);
    st.pause_conditions.clear();
    st.controller_pause = false;
    st.canary.current_step_analysis_run_status = None;
    st.canary.current_background_analysis_run_status = None;
}

fn stable_obs_for(observed: &Observed, stable: &str) -> Option<ReplicaSetObservation> {
    observed
        .replica_sets
        .iter()
        .find(|r| r.pod_template_hash == stable)
        .cloned()
}

fn reached(rs: Option<&ReplicaSetObservation>, target: i32) -> bool {
    match rs {
        Some(r) => r.replicas == target && r.available >= target,
        None => target == 0,
    }
}

/// Canary and stable replica targets at step `idx` while updating.
fn targets(
    canary: &crate::spec::CanaryStrategy,
    routed: bool,
    replicas: i32,
    steps: &[CanaryStep],
    idx: usize,
) -> (i32, i32) {
    let weight = weight_at(steps, idx);
    if !routed {
        let c = replicas_for_weight(weight, replicas);
        return (c, replicas - c);
    }
    let mut c = replicas_for_weight(weight, replicas);
    if idx < steps.len() {
        let scale = steps[..=idx]
            .iter()
            .rev()
            .find_map(|s| s.set_canary_scale.as_ref());
        if let Some(sc) = scale
            && !sc.match_traffic_weight
        {
            if let Some(r) = sc.replicas {
                c = r.max(0);
            } else if let Some(w) = sc.weight {
                c = replicas_for_weight(w, replicas);
            }
        }
    }
    let _ = canary;
    (c, replicas)
}

/// Moves canary and stable counts toward their targets without exceeding `replicas + maxSurge` pods in total
/// and without dropping below `replicas − maxUnavailable` available pods.
fn basic_counts(
    replicas: i32,
    max_surge: i32,
    max_unavailable: i32,
    (canary_target, stable_target): (i32, i32),
    canary: Option<&ReplicaSetObservation>,
    stable: Option<&ReplicaSetObservation>,
    (old_spec, old_avail): (i32, i32),
) -> (i32, i32) {
    let (mut c, c_avail) = canary.map_or((0, 0), |r| (r.replicas.max(0), r.available.max(0)));
    let (mut s, s_avail) = stable.map_or((0, 0), |r| (r.replicas.max(0), r.available.max(0)));
    let min_available = replicas - max_unavailable;
    let mut budget = (c_avail.min(c) + s_avail.min(s) + old_avail - min_available).max(0);
    s = shrink(s, stable_target, s_avail, &mut budget);
    c = shrink(c, canary_target, c_avail, &mut budget);
    let mut room = (replicas + max_surge - (c + s + old_spec)).max(0);
    if c < canary_target {
        let up = (canary_target - c).min(room);
        c += up;
        room -= up;
    }
    if s < stable_target {
        s += (stable_target - s).min(room);
    }
    (c, s)
}

fn shrink(cur: i32, target: i32, available: i32, budget: &mut i32) -> i32 {
    if cur <= target {
        return cur;
    }
    let want = cur - target;
    let free = want.min((cur - available).max(0));
    let more = (want - free).min(*budget);
    *budget -= more;
    cur - free - more
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
    if !st
        .pause_conditions
        .iter()
        .any(|c| c.reason == reasons::INCONCLUSIVE_ANALYSIS)
    {
        st.pause_conditions.push(PauseCondition {
            reason: reasons::INCONCLUSIVE_ANALYSIS.into(),
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
