//! `status.conditions` as Argo Rollouts writes them, so `kubectl wait --for=condition=<Type>=True` works the
//! same: `Progressing` (kept by the progress deadline), `Available`, `Healthy`, `Completed`, `Paused`, and
//! `InvalidSpec` for a spec the controller refuses. Pure; the time is passed in.

use jiff::Timestamp;

use crate::spec::{RolloutCondition, RolloutStatus};

/// Condition types (Argo names).
pub mod types {
    /// The update makes progress, is complete, paused, aborted or timed out.
    pub const PROGRESSING: &str = "Progressing";
    /// At least `replicas` pods are available (blue/green: in the active ReplicaSet).
    pub const AVAILABLE: &str = "Available";
    /// Every pod updated and available, every step done, the old pods gone.
    pub const HEALTHY: &str = "Healthy";
    /// The current template is the stable one.
    pub const COMPLETED: &str = "Completed";
    /// The Rollout is paused (by a step, by the user, or waiting for promotion).
    pub const PAUSED: &str = "Paused";
    /// The spec cannot be acted on.
    pub const INVALID_SPEC: &str = "InvalidSpec";
}

/// The condition of `type_`, when present.
pub fn get<'a>(status: &'a RolloutStatus, type_: &str) -> Option<&'a RolloutCondition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Sets a condition as Argo's `SetRolloutCondition` does: unchanged status, reason and message change
/// nothing (so a repeated reconcile writes nothing); a new status moves `lastTransitionTime`.
pub fn set(
    status: &mut RolloutStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let cond = RolloutCondition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_update_time: Some(now),
        last_transition_time: Some(now),
    };
    match status.conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) if c.status == cond.status && c.reason == cond.reason && c.message == cond.message => {}
        Some(c) => {
            let transition = if c.status == cond.status {
                c.last_transition_time
            } else {
                Some(now)
            };
            *c = RolloutCondition {
                last_transition_time: transition,
                ..cond
            };
        }
        None => status.conditions.push(cond),
    }
}

/// Removes the condition of `type_`.
pub fn remove(status: &mut RolloutStatus, type_: &str) {
    status.conditions.retain(|c| c.type_ != type_);
}

/// What the state machine found out, for the conditions besides `Progressing`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// `spec.paused` or a pause condition.
    pub(crate) paused: bool,
    /// Argo's `RolloutHealthy`.
    pub(crate) healthy: bool,
    /// Argo's minimum availability.
    pub(crate) available: bool,
    /// The current template is stable.
    pub(crate) completed: bool,
}

/// Writes `Paused`, `Healthy`, `Available` and `Completed` from `facts`.
pub(crate) fn update(status: &mut RolloutStatus, facts: Facts, now: Timestamp) {
    if facts.paused {
        set(
            status,
            types::PAUSED,
            "True",
            "RolloutPaused",
            "Rollout is paused",
            now,
        );
    } else if get(status, types::PAUSED).is_some() {
        set(
            status,
            types::PAUSED,
            "False",
            "RolloutResumed",
            "Rollout is resumed",
            now,
        );
    }
    if !facts.paused && facts.healthy {
        set(
            status,
            types::HEALTHY,
            "True",
            "RolloutHealthy",
            "Rollout is healthy",
            now,
        );
    } else {
        set(
            status,
            types::HEALTHY,
            "False",
            "RolloutHealthy",
            "Rollout is not healthy",
            now,
        );
    }
    if facts.available {
        set(
            status,
            types::AVAILABLE,
            "True",
            "AvailableReason",
            "Rollout has minimum availability",
            now,
        );
    } else {
        set(
            status,
            types::AVAILABLE,
            "False",
            "AvailableReason",
            "Rollout does not have minimum availability",
            now,
        );
    }
    let completed = if facts.completed { "True" } else { "False" };
    set(
        status,
        types::COMPLETED,
        completed,
        "RolloutCompleted",
        "RolloutCompleted",
        now,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    #[test]
    fn unchanged_conditions_keep_their_times() {
        let mut st = RolloutStatus::default();
        let facts = Facts {
            paused: false,
            healthy: true,
            available: true,
            completed: true,
        };
        update(&mut st, facts, t(0));
        let first = st.clone();
        update(&mut st, facts, t(10));
        assert_eq!(st, first);
        assert_eq!(get(&st, types::HEALTHY).map(|c| c.status.as_str()), Some("True"));
        assert!(
            get(&st, types::PAUSED).is_none(),
            "never paused: no Paused condition"
        );
        update(
            &mut st,
            Facts {
                paused: true,
                ..facts
            },
            t(20),
        );
        let h = get(&st, types::HEALTHY).expect("healthy");
        assert_eq!(
            (h.status.as_str(), h.last_transition_time),
            ("False", Some(t(20)))
        );
        assert_eq!(get(&st, types::PAUSED).map(|c| c.status.as_str()), Some("True"));
        update(&mut st, facts, t(30));
        let p = get(&st, types::PAUSED).expect("paused");
        assert_eq!(
            (p.status.as_str(), p.reason.as_deref()),
            ("False", Some("RolloutResumed"))
        );
    }
}
