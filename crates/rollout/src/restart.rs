//! `spec.restartAt` (Argo Rollouts semantics): once the time has come, the pods of the Rollout created before it
//! are deleted oldest first, never leaving more than `maxUnavailable` (at least 1) pods unavailable (canary:
//! its `maxUnavailable` with `maxSurge`; blue/green: `strategy.blueGreen.maxUnavailable`, default 25 %, rounded
//! down, as Argo Rollouts' `MaxUnavailable`); their ReplicaSets create replacements. When no pod older than `restartAt` is left,
//! `status.restartedAt` is set to `restartAt` and the restart is done.

use std::time::Duration;

use jiff::Timestamp;

use crate::Error;
use crate::spec::Rollout;
use crate::util::resolve_fenceposts;

/// One pod of the Rollout (any of its ReplicaSets), as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPod {
    /// Pod name.
    pub name: String,
    /// `metadata.creationTimestamp`.
    pub created_at: Timestamp,
    /// Ready (condition `Ready` True) and not being deleted.
    pub available: bool,
    /// Has a deletion timestamp.
    pub terminating: bool,
}

/// What to do about `spec.restartAt` now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartStep {
    /// No restart asked for, or it is done (`status.restartedAt` equals `spec.restartAt`).
    Idle,
    /// Wait this long (restartAt in the future, or too many pods unavailable), then look again.
    Wait(Duration),
    /// Delete this pod.
    Delete(String),
    /// Every pod is newer than `restartAt`: set `status.restartedAt` to it.
    Done(Timestamp),
}

/// The next step of the restart.
pub fn restart_step(rollout: &Rollout, pods: &[RestartPod], now: Timestamp) -> Result<RestartStep, Error> {
    let Some(at) = rollout.spec.restart_at else {
        return Ok(RestartStep::Idle);
    };
    if rollout.status.as_ref().and_then(|s| s.restarted_at) == Some(at) {
        return Ok(RestartStep::Idle);
    }
    if now < at {
        let secs = at.as_second().saturating_sub(now.as_second()).max(1);
        return Ok(RestartStep::Wait(Duration::from_secs(secs.unsigned_abs())));
    }
    let replicas = rollout.spec.replicas.unwrap_or(1).max(0);
    let max_unavailable = match &rollout.spec.strategy.canary {
        Some(c) => resolve_fenceposts(c.max_surge.as_ref(), c.max_unavailable.as_ref(), replicas)?.1,
        None => rollout
            .spec
            .strategy
            .blue_green
            .as_ref()
            .map(|b| {
                // Argo's `MaxUnavailable` for blue/green: `maxUnavailable` (default 25 %), rounded down.
                let m = b
                    .max_unavailable
                    .clone()
                    .unwrap_or(crate::spec::IntOrString::String("25%".into()));
                crate::util::scaled(&m, replicas, false, "strategy.blueGreen.maxUnavailable")
            })
            .transpose()?
            .unwrap_or(1)
            .min(replicas),
    }
    .max(1);
    let mut old: Vec<&RestartPod> = pods
        .iter()
        .filter(|p| !p.terminating && p.created_at < at)
        .collect();
    if old.is_empty() {
        return Ok(RestartStep::Done(at));
    }
    let unavailable = pods.iter().filter(|p| p.terminating || !p.available).count();
    if i32::try_from(unavailable).unwrap_or(i32::MAX) >= max_unavailable {
        return Ok(RestartStep::Wait(Duration::from_secs(1)));
    }
    old.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)));
    Ok(RestartStep::Delete(old[0].name.clone()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("time")
    }

    fn pod(name: &str, created: i64, available: bool, terminating: bool) -> RestartPod {
        RestartPod {
            name: name.into(),
            created_at: t(created),
            available,
            terminating,
        }
    }

    fn rollout(restart_at: Option<i64>, restarted_at: Option<i64>, max_unavailable: i32) -> Rollout {
        let mut r: Rollout = serde_json::from_value(json!({
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}},
                     "strategy": {"canary": {"maxUnavailable": max_unavailable, "steps": []}}}
        }))
        .expect("rollout");
        r.spec.restart_at = restart_at.map(t);
        r.status = Some(crate::spec::RolloutStatus {
            restarted_at: restarted_at.map(t),
            ..Default::default()
        });
        r
    }

    #[test]
    fn restarts_oldest_first_within_max_unavailable_then_records_it() {
        let pods = [
            pod("b", 2, true, false),
            pod("a", 1, true, false),
            pod("c", 3, true, false),
        ];
        assert_eq!(
            restart_step(&rollout(None, None, 1), &pods, t(10)),
            Ok(RestartStep::Idle)
        );
        assert_eq!(
            restart_step(&rollout(Some(20), None, 1), &pods, t(10)),
            Ok(RestartStep::Wait(Duration::from_secs(10)))
        );
        let r = rollout(Some(10), None, 1);
        assert_eq!(
            restart_step(&r, &pods, t(10)),
            Ok(RestartStep::Delete("a".into()))
        );
        // "a" is going away and its replacement not ready yet: wait (maxUnavailable 1).
        let during = [
            pod("a", 1, false, true),
            pod("b", 2, true, false),
            pod("c", 3, true, false),
            pod("d", 11, false, false),
        ];
        assert_eq!(
            restart_step(&r, &during, t(11)),
            Ok(RestartStep::Wait(Duration::from_secs(1)))
        );
        // With maxUnavailable 2 the next one goes at once.
        assert_eq!(
            restart_step(&rollout(Some(10), None, 2), &during[1..], t(11)),
            Ok(RestartStep::Delete("b".into()))
        );
        let after = [
            pod("d", 11, true, false),
            pod("e", 12, true, false),
            pod("f", 13, true, false),
        ];
        assert_eq!(restart_step(&r, &after, t(14)), Ok(RestartStep::Done(t(10))));
        assert_eq!(
            restart_step(&rollout(Some(10), Some(10), 1), &pods, t(14)),
            Ok(RestartStep::Idle)
        );
    }

    #[test]
    fn blue_green_max_unavailable_sets_how_many_pods_restart_at_once() {
        let bg = |max: Option<serde_json::Value>| {
            let mut r: Rollout = serde_json::from_value(json!({
                "spec": {"replicas": 8, "template": {}, "restartAt": "2027-01-15T08:00:10Z",
                         "strategy": {"blueGreen": {"activeService": "a", "maxUnavailable": max}}}
            }))
            .expect("rollout");
            r.spec.restart_at = Some(t(10));
            r
        };
        let pods: Vec<RestartPod> = (0..8).map(|i| pod(&format!("p{i}"), i, i >= 2, i == 0)).collect();
        // Two pods unavailable (one terminating, one not ready): 25 % of 8 = 2 → wait; 3 → the next one goes.
        assert_eq!(
            restart_step(&bg(None), &pods, t(11)),
            Ok(RestartStep::Wait(Duration::from_secs(1)))
        );
        assert_eq!(
            restart_step(&bg(Some(json!(3))), &pods, t(11)),
            Ok(RestartStep::Delete("p1".into()))
        );
        assert_eq!(
            restart_step(&bg(Some(json!("50%"))), &pods, t(11)),
            Ok(RestartStep::Delete("p1".into()))
        );
    }
}
