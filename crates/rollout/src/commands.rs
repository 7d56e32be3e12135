//! User commands as Argo Rollouts' kubectl plugin performs them: edits of `spec` and `status` that the state
//! machines then act on. The CLI applies them with a patch; nothing here does I/O.

use crate::spec::{Rollout, RolloutStatus};

fn status(rollout: &mut Rollout) -> &mut RolloutStatus {
    rollout.status.get_or_insert_with(RolloutStatus::default)
}

/// `promote`: ends the current pause (user or controller pause); when nothing is paused, skips the current
/// canary step (e.g. one waiting for replicas or an analysis).
pub fn promote(rollout: &mut Rollout) {
    let was_paused = rollout.spec.paused;
    rollout.spec.paused = false;
    let steps = rollout.spec.strategy.canary.as_ref().map(|c| c.steps.len());
    let st = status(rollout);
    if !st.pause_conditions.is_empty() {
        st.pause_conditions.clear();
    } else if !was_paused && let Some(n) = steps {
        let idx = st.current_step_index.unwrap_or(0);
        if usize::try_from(idx).is_ok_and(|i| i < n) {
            st.current_step_index = Some(idx + 1);
        }
    }
}

/// `promote --full`: skips every remaining step and analysis.
pub fn promote_full(rollout: &mut Rollout) {
    rollout.spec.paused = false;
    let st = status(rollout);
    st.pause_conditions.clear();
    st.promote_full = true;
}

/// `abort`: traffic back to stable and the update stopped until `retry` or a new template.
pub fn abort(rollout: &mut Rollout) {
    status(rollout).abort = true;
}

/// `retry`: starts an aborted update again from step 0. `abortedAt` is kept: AnalysisRuns created before it
/// belong to the aborted attempt and are ignored.
pub fn retry(rollout: &mut Rollout) {
    let st = status(rollout);
    st.abort = false;
    st.current_step_index = Some(0);
    st.pause_conditions.clear();
    st.controller_pause = false;
    st.canary.current_step_analysis_run_status = None;
    st.canary.current_background_analysis_run_status = None;
    st.blue_green.pre_promotion_analysis_run_status = None;
    st.blue_green.post_promotion_analysis_run_status = None;
}

/// `pause`: stops progression until `resume`/`promote`.
pub fn pause(rollout: &mut Rollout) {
    rollout.spec.paused = true;
}

/// `resume`: clears `spec.paused`.
pub fn resume(rollout: &mut Rollout) {
    rollout.spec.paused = false;
}
