//! Pure pieces of the status: conditions, history, intervals and backoff.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use kube::ResourceExt;
use tack_model::{Condition, GitOpsConfig, GitOpsConfigStatus, SyncResult};

use crate::{DEFAULT_INTERVAL, Error, REFRESH_ANNOTATION, SYNC_ANNOTATION};

/// The hash that decides whether a watch event triggers a reconcile: the generation (spec changes) and the
/// refresh and sync-request annotations. Status writes change neither.
pub fn trigger_hash(obj: &GitOpsConfig) -> Option<u64> {
    let mut h = DefaultHasher::new();
    obj.metadata.generation.hash(&mut h);
    obj.annotations().get(REFRESH_ANNOTATION).hash(&mut h);
    obj.annotations().get(SYNC_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// Parses `30s`, `3m`, `1h30m`; refuses zero.
pub fn parse_interval(text: &str) -> Result<Duration, Error> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| Error::InvalidSpec(format!("duration {text:?}: {e}; write it like 30s, 3m or 1h")))?;
    if d.is_zero() {
        return Err(Error::InvalidSpec(format!(
            "duration {text:?} is zero; give a positive duration like 30s"
        )));
    }
    Ok(d)
}

/// `spec.syncPolicy.interval`, or [`DEFAULT_INTERVAL`].
pub fn interval(obj: &GitOpsConfig) -> Result<Duration, Error> {
    match obj.spec.sync_policy.as_ref().and_then(|p| p.interval.as_deref()) {
        Some(text) => parse_interval(text),
        None => Ok(DEFAULT_INTERVAL),
    }
}

/// The delay before retry number `failures` (1-based): `duration × factor^(failures-1)`, at most `maxDuration`
/// (defaults 5 s, 2, 5 min; from `spec.syncPolicy.retry.backoff`).
pub fn backoff(obj: &GitOpsConfig, failures: u32) -> Duration {
    let b = obj
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.retry.as_ref())
        .and_then(|r| r.backoff.as_ref());
    let base = b
        .and_then(|b| b.duration.as_deref())
        .and_then(|d| parse_interval(d).ok())
        .unwrap_or(Duration::from_secs(5));
    let factor = b.and_then(|b| b.factor).unwrap_or(2).clamp(1, 16) as u32;
    let max = b
        .and_then(|b| b.max_duration.as_deref())
        .and_then(|d| parse_interval(d).ok())
        .unwrap_or(Duration::from_secs(300));
    let exp = failures.saturating_sub(1).min(20);
    let mult = factor.checked_pow(exp).unwrap_or(u32::MAX);
    base.checked_mul(mult).unwrap_or(max).min(max)
}

/// Now, as RFC 3339 with seconds.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Sets condition `type_`, keeping its transition time when the status does not change.
pub fn set_condition(
    status: &mut GitOpsConfigStatus,
    type_: &str,
    value: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    time: &str,
) {
    let value = if value { "True" } else { "False" };
    let transition = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == value)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| time.to_string());
    status.conditions.retain(|c| c.type_ != type_);
    status.conditions.push(Condition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: Some(transition),
        observed_generation: generation,
    });
    status.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
}

/// Adds a history entry unless the last one has the same revision and result (a periodic re-sync of an
/// unchanged commit, or the same failure retried, is not a new entry).
pub fn record_history(status: &mut GitOpsConfigStatus, revision: &str, result: SyncResult, time: &str) {
    if status
        .history
        .last()
        .is_some_and(|h| h.revision == revision && h.result == result)
    {
        return;
    }
    status.push_history(revision, time, result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::{Backoff, GitOpsConfigSpec, Retry, SyncPolicy};

    fn app(policy: Option<SyncPolicy>) -> GitOpsConfig {
        GitOpsConfig::new(
            "a",
            GitOpsConfigSpec {
                sync_policy: policy,
                ..Default::default()
            },
        )
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("2s").ok(), Some(Duration::from_secs(2)));
        assert_eq!(parse_interval("1h30m").ok(), Some(Duration::from_secs(5400)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
        assert_eq!(interval(&app(None)).ok(), Some(DEFAULT_INTERVAL));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let a = app(None);
        assert_eq!(backoff(&a, 1), Duration::from_secs(5));
        assert_eq!(backoff(&a, 2), Duration::from_secs(10));
        assert_eq!(backoff(&a, 30), Duration::from_secs(300));
        let custom = app(Some(SyncPolicy {
            retry: Some(Retry {
                limit: None,
                backoff: Some(Backoff {
                    duration: Some("1s".into()),
                    factor: Some(3),
                    max_duration: Some("20s".into()),
                }),
            }),
            ..Default::default()
        }));
        assert_eq!(backoff(&custom, 3), Duration::from_secs(9));
        assert_eq!(backoff(&custom, 4), Duration::from_secs(20));
    }

    #[test]
    fn conditions_keep_transition_time_while_unchanged() {
        let mut s = GitOpsConfigStatus::default();
        set_condition(&mut s, "Ready", true, "Synced", "", Some(1), "t1");
        set_condition(&mut s, "Ready", true, "Synced", "again", Some(2), "t2");
        assert_eq!(s.conditions[0].last_transition_time.as_deref(), Some("t1"));
        set_condition(&mut s, "Ready", false, "RenderFailed", "x.yaml:3", Some(2), "t3");
        assert_eq!(s.conditions[0].last_transition_time.as_deref(), Some("t3"));
        assert_eq!(s.conditions.len(), 1);
    }

    #[test]
    fn history_skips_repeats() {
        let mut s = GitOpsConfigStatus::default();
        record_history(&mut s, "abc", SyncResult::Succeeded, "t1");
        record_history(&mut s, "abc", SyncResult::Succeeded, "t2");
        record_history(&mut s, "def", SyncResult::Failed, "t3");
        record_history(&mut s, "def", SyncResult::Failed, "t4");
        record_history(&mut s, "def", SyncResult::Succeeded, "t5");
        let ids: Vec<_> = s.history.iter().map(|h| (h.id, h.revision.as_str())).collect();
        assert_eq!(ids, vec![(1, "abc"), (2, "def"), (3, "def")]);
    }

    #[test]
    fn status_writes_do_not_trigger() {
        let mut a = app(None);
        a.metadata.generation = Some(1);
        let before = trigger_hash(&a);
        a.status = Some(GitOpsConfigStatus {
            observed_generation: Some(1),
            ..Default::default()
        });
        assert_eq!(trigger_hash(&a), before);
        a.annotations_mut()
            .insert(REFRESH_ANNOTATION.into(), "now".into());
        assert_ne!(trigger_hash(&a), before);
    }
}
