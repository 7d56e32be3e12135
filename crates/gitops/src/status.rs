//! The status of an application as a pure function of the previous status and what one reconcile found
//! ([`next`]), with its pieces: conditions, history, intervals and backoff.
//!
//! A status must stay writable however large the application: `status.inventory` lists the ids only up to
//! [`STATUS_INVENTORY_LIMIT`] (the complete inventory is always in the inventory ConfigMaps), and
//! `status.resources` lists at most [`STATUS_RESOURCES_LIMIT`] objects, those not Synced or not Healthy first.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use kube::ResourceExt;
use tack_health::{Health, HealthStatus};
use tack_model::{
    Condition, GitOpsConfig, GitOpsConfigStatus, HealthStatus as HealthField, Operation, ResourceStatus,
    SyncResult, SyncState, SyncStatus,
};

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

/// `status.inventory` lists the ids while there are at most this many.
pub const STATUS_INVENTORY_LIMIT: usize = 1000;

/// `status.resources` lists at most this many objects.
pub const STATUS_RESOURCES_LIMIT: usize = 1000;

/// What a successful attempt found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The full commit SHA rendered.
    pub revision: String,
    /// The renderer used (`plain`, `kustomize`, `helm`, `jsonnet`).
    pub engine: &'static str,
    /// Whether the cluster equals Git after the attempt.
    pub sync: SyncState,
    /// What was done, e.g. `created 3, configured 1, unchanged 2, pruned 0`.
    pub summary: String,
    /// Whether objects were created, configured or pruned.
    pub changed: bool,
    /// The aggregate health of the applied objects.
    pub health: Health,
    /// Each object's sync and health, for `status.resources`.
    pub resources: Vec<ResourceStatus>,
    /// The ids of the inventory after the attempt.
    pub inventory: Vec<String>,
    /// Whether a sync ran (and so is recorded in the history).
    pub synced_now: bool,
    /// Whether the inventory was adopted from the ConfigMap of a one-shot `tack sync`.
    pub adopted: bool,
}

/// A failed attempt, as the status tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failed {
    /// The commit, when the fetch got that far.
    pub revision: Option<String>,
    /// The reason, as conditions and events spell it (`FetchFailed`, `SyncFailed`, ...).
    pub reason: &'static str,
    /// What failed and what to do, without Secret values.
    pub message: String,
    /// Retrying cannot help until Git or the spec changes.
    pub stalled: bool,
    /// How long until the next attempt.
    pub retry_in: Duration,
    /// The inventory after a sync that failed part-way (it still changed what the application manages).
    pub inventory: Option<Vec<String>>,
}

/// What a reconcile saw of the application itself.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// The application's name.
    pub name: &'a str,
    /// Its `metadata.generation`, recorded as the status' `observedGeneration`.
    pub generation: Option<i64>,
    /// The value of the sync-request annotation, when set.
    pub sync_requested: Option<&'a str>,
    /// The commit pinned by `spec.rollback`.
    pub rollback: Option<&'a str>,
    /// When the reconcile started (RFC 3339).
    pub started: &'a str,
}

/// The result of one reconcile.
#[derive(Clone, Copy, Debug)]
pub enum Attempted<'a> {
    /// The attempt got to the end: fetched, rendered, compared (and synced when automated), assessed.
    Succeeded(&'a Outcome),
    /// The attempt failed at some step.
    Failed(&'a Failed),
}

/// The status after a reconcile: `previous` updated with what `attempt` found, at `now`. Pure.
pub fn next(
    previous: &GitOpsConfigStatus,
    app: &Observed<'_>,
    attempt: Attempted<'_>,
    now: &str,
) -> GitOpsConfigStatus {
    let mut status = previous.clone();
    status.observed_generation = app.generation;
    match attempt {
        Attempted::Succeeded(out) => succeeded(&mut status, app, out, now),
        Attempted::Failed(f) => failed(&mut status, app, f, now),
    }
    status
}

/// The ids shown in the status: all of them up to [`STATUS_INVENTORY_LIMIT`], none beyond.
pub fn shown_inventory(ids: &[String]) -> Vec<String> {
    if ids.len() <= STATUS_INVENTORY_LIMIT {
        ids.to_vec()
    } else {
        Vec::new()
    }
}

/// At most [`STATUS_RESOURCES_LIMIT`] resources, those not Synced or not Healthy first, in their order otherwise.
pub fn shown_resources(mut resources: Vec<ResourceStatus>) -> Vec<ResourceStatus> {
    if resources.len() <= STATUS_RESOURCES_LIMIT {
        return resources;
    }
    let fine = |r: &ResourceStatus| {
        r.status == Some(SyncState::Synced) && r.health.as_ref().is_some_and(|h| h.status == "Healthy")
    };
    resources.sort_by_key(|r| fine(r));
    resources.truncate(STATUS_RESOURCES_LIMIT);
    resources
}

fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// The reason and message of Ready after a successful attempt.
fn ready_of(app: &Observed<'_>, out: &Outcome) -> (&'static str, String) {
    let healthy = out.health.status == HealthStatus::Healthy;
    match (out.sync == SyncState::Synced, healthy) {
        (true, true) => match app.rollback {
            Some(r) => (
                "RolledBack",
                format!(
                    "automated sync suspended after rollback to {}; run `tack app resume {}`",
                    short(r),
                    app.name
                ),
            ),
            None => (
                "Succeeded",
                format!("synced {} and healthy", short(&out.revision)),
            ),
        },
        (false, _) => (
            "OutOfSync",
            format!(
                "the cluster differs from {}: {}",
                short(&out.revision),
                out.summary
            ),
        ),
        (true, false) => (
            "Progressing",
            format!("{}: {}", out.health.status.as_str(), out.health.message),
        ),
    }
}

fn succeeded(status: &mut GitOpsConfigStatus, app: &Observed<'_>, out: &Outcome, now: &str) {
    // A sync request is handled once a sync succeeded (a failed one is retried with the backoff).
    if let Some(requested) = app.sync_requested {
        status.last_handled_sync_at = Some(requested.to_string());
    }
    let healthy = out.health.status == HealthStatus::Healthy;
    let synced = out.sync == SyncState::Synced;
    status.sync = Some(SyncStatus {
        status: out.sync,
        revision: Some(out.revision.clone()),
    });
    status.health = Some(HealthField {
        status: out.health.status.as_str().to_string(),
        message: (!out.health.message.is_empty()).then(|| out.health.message.clone()),
    });
    status.resources = shown_resources(out.resources.clone());
    status.inventory = shown_inventory(&out.inventory);
    if out.synced_now {
        record_history(status, &out.revision, SyncResult::Succeeded, now);
    }
    let (reason, message) = ready_of(app, out);
    let generation = app.generation;
    set_condition(
        status,
        "Ready",
        synced && healthy,
        reason,
        &message,
        generation,
        now,
    );
    let progress = if healthy { "Succeeded" } else { "Progressing" };
    set_condition(status, "Reconciling", !healthy, progress, "", generation, now);
    set_condition(status, "Stalled", false, "Succeeded", "", generation, now);
    status.last_operation = Some(Operation {
        phase: SyncResult::Succeeded,
        revision: Some(out.revision.clone()),
        message: Some(out.summary.clone()),
        started_at: Some(app.started.to_string()),
        finished_at: Some(now.to_string()),
    });
}

fn failed(status: &mut GitOpsConfigStatus, app: &Observed<'_>, f: &Failed, now: &str) {
    if let Some(inventory) = &f.inventory {
        status.inventory = shown_inventory(inventory);
    }
    if let Some(rev) = &f.revision {
        record_history(status, rev, SyncResult::Failed, now);
    }
    if status.sync.is_none() {
        status.sync = Some(SyncStatus {
            status: SyncState::Unknown,
            revision: None,
        });
    }
    let generation = app.generation;
    let retry = format!("retrying in {}", humantime::format_duration(f.retry_in));
    set_condition(status, "Ready", false, f.reason, &f.message, generation, now);
    set_condition(
        status,
        "Reconciling",
        !f.stalled,
        f.reason,
        &retry,
        generation,
        now,
    );
    let stalled_message = if f.stalled { f.message.as_str() } else { "" };
    set_condition(
        status,
        "Stalled",
        f.stalled,
        f.reason,
        stalled_message,
        generation,
        now,
    );
    status.last_operation = Some(Operation {
        phase: SyncResult::Failed,
        revision: f.revision.clone(),
        message: Some(f.message.clone()),
        started_at: Some(app.started.to_string()),
        finished_at: Some(now.to_string()),
    });
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

    fn observed(generation: i64) -> Observed<'static> {
        Observed {
            name: "shop",
            generation: Some(generation),
            sync_requested: None,
            rollback: None,
            started: "t0",
        }
    }

    fn outcome(revision: &str, health: HealthStatus) -> Outcome {
        Outcome {
            revision: revision.into(),
            engine: "plain",
            sync: SyncState::Synced,
            summary: "created 2, configured 0, unchanged 0, pruned 0".into(),
            changed: true,
            health: Health::new(health, ""),
            resources: Vec::new(),
            inventory: vec!["ns_a__ConfigMap".into(), "ns_b__ConfigMap".into()],
            synced_now: true,
            adopted: false,
        }
    }

    fn condition<'a>(s: &'a GitOpsConfigStatus, type_: &str) -> &'a Condition {
        s.conditions
            .iter()
            .find(|c| c.type_ == type_)
            .expect("condition present")
    }

    #[test]
    fn a_healthy_sync_is_ready_and_recorded() {
        let rev = "0123456789abcdef0123456789abcdef01234567";
        let s = next(
            &GitOpsConfigStatus::default(),
            &observed(3),
            Attempted::Succeeded(&outcome(rev, HealthStatus::Healthy)),
            "t1",
        );
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(condition(&s, "Ready").status, "True");
        assert_eq!(condition(&s, "Ready").message, "synced 0123456789ab and healthy");
        assert_eq!(condition(&s, "Reconciling").status, "False");
        assert_eq!(s.inventory.len(), 2);
        assert_eq!(s.history.len(), 1);
        let op = s.last_operation.as_ref().expect("operation");
        assert_eq!(
            (op.started_at.as_deref(), op.finished_at.as_deref()),
            (Some("t0"), Some("t1"))
        );
    }

    #[test]
    fn a_failure_keeps_the_last_sync_and_says_whether_it_is_stalled() {
        let ok = next(
            &GitOpsConfigStatus::default(),
            &observed(1),
            Attempted::Succeeded(&outcome("abc", HealthStatus::Healthy)),
            "t1",
        );
        let failure = Failed {
            revision: Some("def".into()),
            reason: "InvalidSpec",
            message: "invalid spec: spec.source.path".into(),
            stalled: true,
            retry_in: Duration::from_secs(5),
            inventory: None,
        };
        let s = next(&ok, &observed(2), Attempted::Failed(&failure), "t2");
        assert_eq!(s.sync.as_ref().and_then(|x| x.revision.as_deref()), Some("abc"));
        assert_eq!(
            s.inventory, ok.inventory,
            "a failure before the sync keeps the inventory"
        );
        assert_eq!(condition(&s, "Ready").reason, "InvalidSpec");
        assert_eq!(condition(&s, "Stalled").status, "True");
        assert_eq!(condition(&s, "Reconciling").status, "False");
        assert_eq!(s.history.last().map(|h| h.result), Some(SyncResult::Failed));
        let transient = Failed {
            stalled: false,
            reason: "FetchFailed",
            ..failure
        };
        let s = next(&ok, &observed(2), Attempted::Failed(&transient), "t3");
        assert_eq!(condition(&s, "Stalled").status, "False");
        assert_eq!(condition(&s, "Reconciling").message, "retrying in 5s");
    }

    #[test]
    fn large_applications_keep_a_writable_status() {
        let mut out = outcome("abc", HealthStatus::Healthy);
        out.inventory = (0..20_000).map(|i| format!("ns_cm-{i}__ConfigMap")).collect();
        out.resources = (0..20_000)
            .map(|i| ResourceStatus {
                version: "v1".into(),
                kind: "ConfigMap".into(),
                name: format!("cm-{i}"),
                status: Some(SyncState::Synced),
                health: Some(HealthField {
                    status: if i == 19_999 { "Degraded" } else { "Healthy" }.into(),
                    message: None,
                }),
                ..Default::default()
            })
            .collect();
        let s = next(
            &GitOpsConfigStatus::default(),
            &observed(1),
            Attempted::Succeeded(&out),
            "t1",
        );
        assert!(s.inventory.is_empty(), "the inventory is in its ConfigMaps");
        assert_eq!(s.resources.len(), STATUS_RESOURCES_LIMIT);
        assert_eq!(s.resources[0].name, "cm-19999", "what is not healthy comes first");
        let bytes = serde_json::to_vec(&s).map(|v| v.len()).unwrap_or(usize::MAX);
        assert!(bytes < 256 * 1024, "{bytes} bytes");
    }

    #[test]
    fn rollback_is_reported_with_the_pinned_commit() {
        let mut app = observed(1);
        app.rollback = Some("fedcba9876543210fedcba9876543210fedcba98");
        let s = next(
            &GitOpsConfigStatus::default(),
            &app,
            Attempted::Succeeded(&outcome("fedcba9876543210", HealthStatus::Healthy)),
            "t1",
        );
        assert_eq!(condition(&s, "Ready").reason, "RolledBack");
        assert!(condition(&s, "Ready").message.contains("tack app resume shop"));
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
