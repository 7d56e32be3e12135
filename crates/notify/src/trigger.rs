//! Triggers: which state changes of an application, a Rollout, an AnalysisRun or a Pipeline are notified.
//!
//! Pure and edge-triggered: [`Tracker::observe`] compares an object's [`Facts`] with those seen before and
//! returns the triggers that just became true, once per state change. The first sight of an object (the
//! controller's start, or a new object) only records its state: states that already existed are not notified.
//! `out-of-sync` depends on time and on each subscription's duration: [`Tracker::out_of_sync_due`].

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value as Json;

/// A trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// An application synced a new revision.
    SyncSucceeded,
    /// An application's Ready condition turned False with a failure (`SyncFailed`, `RenderFailed`, …).
    SyncFailed,
    /// An application's health became Degraded.
    HealthDegraded,
    /// An application stayed OutOfSync for longer than the subscription's `outOfSyncAfter`.
    OutOfSync,
    /// A Rollout paused (each pause, at each step).
    RolloutPaused,
    /// A Rollout was aborted.
    RolloutAborted,
    /// A Rollout became Healthy after an update.
    RolloutCompleted,
    /// An AnalysisRun ended Failed or Error.
    AnalysisFailed,
    /// A Pipeline promoted a release to a stage (a new entry in a stage's promotion history).
    PromotionDone,
    /// A Pipeline's promotion is blocked: a gate of a stage failed (the set of failed gates changed).
    PromotionBlocked,
}

const ALL: [Trigger; 10] = [
    Trigger::SyncSucceeded,
    Trigger::SyncFailed,
    Trigger::HealthDegraded,
    Trigger::OutOfSync,
    Trigger::RolloutPaused,
    Trigger::RolloutAborted,
    Trigger::RolloutCompleted,
    Trigger::AnalysisFailed,
    Trigger::PromotionDone,
    Trigger::PromotionBlocked,
];

impl Trigger {
    /// The name used in the configuration and in templates' `.trigger`.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::SyncSucceeded => "sync-succeeded",
            Trigger::SyncFailed => "sync-failed",
            Trigger::HealthDegraded => "health-degraded",
            Trigger::OutOfSync => "out-of-sync",
            Trigger::RolloutPaused => "rollout-paused",
            Trigger::RolloutAborted => "rollout-aborted",
            Trigger::RolloutCompleted => "rollout-completed",
            Trigger::AnalysisFailed => "analysis-failed",
            Trigger::PromotionDone => "promotion-done",
            Trigger::PromotionBlocked => "promotion-blocked",
        }
    }

    /// The trigger of that name.
    pub fn parse(name: &str) -> Option<Trigger> {
        ALL.into_iter().find(|t| t.name() == name)
    }

    /// Every trigger's name.
    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|t| t.name()).collect()
    }

    /// Whether the trigger is about a GitOpsConfig (which has a commit).
    pub fn on_application(self) -> bool {
        matches!(
            self,
            Trigger::SyncSucceeded | Trigger::SyncFailed | Trigger::HealthDegraded | Trigger::OutOfSync
        )
    }

    /// The commit status it sets: `success`, `failure` or `pending`.
    pub fn commit_state(self) -> CommitState {
        match self {
            Trigger::SyncSucceeded | Trigger::RolloutCompleted | Trigger::PromotionDone => {
                CommitState::Success
            }
            Trigger::OutOfSync | Trigger::RolloutPaused => CommitState::Pending,
            _ => CommitState::Failure,
        }
    }
}

/// A commit status state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitState {
    /// Deployed and fine.
    Success,
    /// Failed or degraded.
    Failure,
    /// Not deployed yet.
    Pending,
}

/// The kinds of objects watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `gitops.tack.dev` GitOpsConfig.
    Application,
    /// `argoproj.io` Rollout.
    Rollout,
    /// `argoproj.io` AnalysisRun.
    AnalysisRun,
    /// `gitops.tack.dev` Pipeline.
    Pipeline,
}

impl Kind {
    /// The Kubernetes kind.
    pub fn kind(self) -> &'static str {
        match self {
            Kind::Application => "GitOpsConfig",
            Kind::Rollout => "Rollout",
            Kind::AnalysisRun => "AnalysisRun",
            Kind::Pipeline => "Pipeline",
        }
    }
}

/// What triggers look at in one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The revision of `status.sync` while Synced.
    pub synced_revision: Option<String>,
    /// `reason@revision` while Ready is False with a `…Failed` reason.
    pub failure: Option<String>,
    /// Health Degraded.
    pub degraded: bool,
    /// Sync OutOfSync.
    pub out_of_sync: bool,
    /// The step (`step N`) while a Rollout is paused.
    pub paused: Option<String>,
    /// `status.abort` of a Rollout.
    pub aborted: bool,
    /// A Rollout's phase is Healthy.
    pub completed: bool,
    /// An AnalysisRun's phase is Failed or Error.
    pub analysis_failed: bool,
    /// A Pipeline's newest promotion of each stage, as `stage commit`.
    pub promotions: BTreeSet<String>,
    /// A Pipeline's failed gates (`stage: gate: message`, one per line), when any.
    pub blocked: Option<String>,
}

fn str_at<'a>(obj: &'a Json, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Json::as_str)
}

/// The revision an application is at: the synced one, else the one of the last operation.
pub fn revision(obj: &Json) -> Option<String> {
    str_at(obj, "/status/sync/revision")
        .or_else(|| str_at(obj, "/status/lastOperation/revision"))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// The facts of `obj`, an object of `kind` as JSON.
pub fn facts(kind: Kind, obj: &Json) -> Facts {
    match kind {
        Kind::Application => {
            let sync = str_at(obj, "/status/sync/status");
            let ready = obj
                .pointer("/status/conditions")
                .and_then(Json::as_array)
                .and_then(|c| c.iter().find(|c| str_at(c, "/type") == Some("Ready")));
            let failure = ready
                .filter(|c| str_at(c, "/status") == Some("False"))
                .and_then(|c| str_at(c, "/reason"))
                .filter(|r| r.ends_with("Failed"))
                .map(|r| format!("{r}@{}", revision(obj).unwrap_or_default()));
            Facts {
                synced_revision: (sync == Some("Synced"))
                    .then(|| str_at(obj, "/status/sync/revision").map(str::to_string))
                    .flatten(),
                failure,
                degraded: str_at(obj, "/status/health/status") == Some("Degraded"),
                out_of_sync: sync == Some("OutOfSync"),
                ..Facts::default()
            }
        }
        Kind::Rollout => {
            let phase = str_at(obj, "/status/phase");
            let aborted = obj.pointer("/status/abort").and_then(Json::as_bool) == Some(true);
            let step = obj
                .pointer("/status/currentStepIndex")
                .and_then(Json::as_i64)
                .unwrap_or(0);
            let paused_conditions = obj
                .pointer("/status/pauseConditions")
                .and_then(Json::as_array)
                .is_some_and(|p| !p.is_empty());
            Facts {
                paused: (phase == Some("Paused") || paused_conditions).then(|| format!("step {step}")),
                aborted,
                completed: phase == Some("Healthy") && !aborted,
                ..Facts::default()
            }
        }
        Kind::AnalysisRun => Facts {
            analysis_failed: matches!(str_at(obj, "/status/phase"), Some("Failed" | "Error")),
            ..Facts::default()
        },
        Kind::Pipeline => pipeline_facts(obj),
    }
}

/// The stages of a Pipeline's status.
fn stages(obj: &Json) -> &[Json] {
    obj.pointer("/status/stages")
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A Pipeline's newest promotion: the newest entry of every stage's history (`{release, images, time, commit,
/// from, by, replaced}`) with its `stage`, the newest by time; for templates.
pub fn latest_promotion(obj: &Json) -> Option<Json> {
    stages(obj)
        .iter()
        .filter_map(|stage| {
            let newest = newest_promotion(stage)?;
            let mut entry = newest.clone();
            entry["stage"] = stage.get("name").cloned().unwrap_or(Json::Null);
            Some(entry)
        })
        .max_by(|a, b| str_at(a, "/time").cmp(&str_at(b, "/time")))
}

/// The newest entry of a stage's promotion history (kept newest last).
fn newest_promotion(stage: &Json) -> Option<&Json> {
    stage
        .get("history")
        .and_then(Json::as_array)
        .and_then(|h| h.last())
}

fn pipeline_facts(obj: &Json) -> Facts {
    let mut promotions = BTreeSet::new();
    let mut failed = Vec::new();
    for stage in stages(obj) {
        let name = str_at(stage, "/name").unwrap_or_default();
        if let Some(newest) = newest_promotion(stage) {
            let mark = str_at(newest, "/commit")
                .filter(|c| !c.is_empty())
                .or_else(|| str_at(newest, "/time"))
                .unwrap_or_default();
            promotions.insert(format!("{name} {mark}"));
        }
        for gate in stage.get("gates").and_then(Json::as_array).into_iter().flatten() {
            if str_at(gate, "/phase") == Some("Failed") {
                let gate_name = str_at(gate, "/name").unwrap_or_default();
                let message = str_at(gate, "/message").unwrap_or_default();
                failed.push(format!("{name}: {gate_name}: {message}"));
            }
        }
    }
    Facts {
        promotions,
        blocked: (!failed.is_empty()).then(|| failed.join("\n")),
        ..Facts::default()
    }
}

/// Identifies an object: kind, namespace, name.
pub type ObjectKey = (Kind, String, String);

#[derive(Debug, Clone)]
struct Seen {
    facts: Facts,
    /// The last synced revision, kept while the application is out of sync.
    last_synced: Option<String>,
    /// Since when (seconds) the application is out of sync, and whether it already was at first sight.
    out_of_sync: Option<(u64, bool)>,
    /// Subscriptions notified of the current out-of-sync episode.
    out_of_sync_notified: BTreeSet<usize>,
}

/// The facts seen of every object.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<ObjectKey, Seen>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `facts` of `key` at `now` (seconds) and returns the triggers that fire (never `out-of-sync`).
    pub fn observe(&mut self, key: ObjectKey, facts: Facts, now: u64) -> Vec<Trigger> {
        let Some(seen) = self.seen.get_mut(&key) else {
            let out_of_sync = facts.out_of_sync.then_some((now, true));
            self.seen.insert(
                key,
                Seen {
                    last_synced: facts.synced_revision.clone(),
                    facts,
                    out_of_sync,
                    out_of_sync_notified: BTreeSet::new(),
                },
            );
            return Vec::new();
        };
        let p = &seen.facts;
        let c = &facts;
        let mut fired = Vec::new();
        if let Some(r) = &c.synced_revision
            && seen.last_synced.as_ref() != Some(r)
        {
            fired.push(Trigger::SyncSucceeded);
            seen.last_synced = Some(r.clone());
        }
        let rising = |now: bool, before: bool| now && !before;
        let changed = |now: &Option<String>, before: &Option<String>| now.is_some() && now != before;
        if changed(&c.failure, &p.failure) {
            fired.push(Trigger::SyncFailed);
        }
        if rising(c.degraded, p.degraded) {
            fired.push(Trigger::HealthDegraded);
        }
        if changed(&c.paused, &p.paused) {
            fired.push(Trigger::RolloutPaused);
        }
        if rising(c.aborted, p.aborted) {
            fired.push(Trigger::RolloutAborted);
        }
        if rising(c.completed, p.completed) {
            fired.push(Trigger::RolloutCompleted);
        }
        if rising(c.analysis_failed, p.analysis_failed) {
            fired.push(Trigger::AnalysisFailed);
        }
        if !c.promotions.is_subset(&p.promotions) {
            fired.push(Trigger::PromotionDone);
        }
        if changed(&c.blocked, &p.blocked) {
            fired.push(Trigger::PromotionBlocked);
        }
        match (c.out_of_sync, seen.out_of_sync) {
            (true, None) => seen.out_of_sync = Some((now, false)),
            (false, Some(_)) => {
                seen.out_of_sync = None;
                seen.out_of_sync_notified.clear();
            }
            _ => {}
        }
        seen.facts = facts;
        fired
    }

    /// Whether subscription `subscription` is due an `out-of-sync` notification for `key` (out of sync for at
    /// least `after` at `now`, not notified yet in this episode, and the episode began after first sight);
    /// records it as notified when so.
    pub fn out_of_sync_due(
        &mut self,
        key: &ObjectKey,
        subscription: usize,
        after: Duration,
        now: u64,
    ) -> bool {
        let Some(seen) = self.seen.get_mut(key) else {
            return false;
        };
        match seen.out_of_sync {
            Some((since, false)) if now.saturating_sub(since) >= after.as_secs() => {
                seen.out_of_sync_notified.insert(subscription)
            }
            _ => false,
        }
    }

    /// Forgets a deleted object.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.seen.remove(key);
    }

    /// The objects currently out of sync.
    pub fn out_of_sync_keys(&self) -> Vec<ObjectKey> {
        self.seen
            .iter()
            .filter(|(_, s)| s.out_of_sync.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(sync: &str, rev: &str, health: &str, ready: (&str, &str)) -> Json {
        json!({"status": {
            "sync": {"status": sync, "revision": rev},
            "health": {"status": health},
            "conditions": [{"type": "Ready", "status": ready.0, "reason": ready.1}],
        }})
    }

    fn key() -> ObjectKey {
        (Kind::Application, "ns".into(), "a".into())
    }

    #[test]
    fn application_triggers_fire_once_per_change() {
        let mut t = Tracker::new();
        let ok = ("True", "Synced");
        let f = |v: &Json| facts(Kind::Application, v);
        assert!(
            t.observe(key(), f(&app("Synced", "a1", "Healthy", ok)), 0)
                .is_empty()
        );
        assert!(
            t.observe(key(), f(&app("Synced", "a1", "Healthy", ok)), 1)
                .is_empty()
        );
        assert_eq!(
            t.observe(key(), f(&app("Synced", "b2", "Healthy", ok)), 2),
            [Trigger::SyncSucceeded]
        );
        assert!(
            t.observe(key(), f(&app("Synced", "b2", "Healthy", ok)), 3)
                .is_empty()
        );
        assert_eq!(
            t.observe(key(), f(&app("Synced", "b2", "Degraded", ok)), 4),
            [Trigger::HealthDegraded]
        );
        assert!(
            t.observe(key(), f(&app("Synced", "b2", "Degraded", ok)), 5)
                .is_empty()
        );
        let failed = ("False", "SyncFailed");
        assert_eq!(
            t.observe(key(), f(&app("OutOfSync", "c3", "Healthy", failed)), 6),
            [Trigger::SyncFailed]
        );
        assert!(
            t.observe(key(), f(&app("OutOfSync", "c3", "Healthy", failed)), 7)
                .is_empty()
        );
        // Back to the last synced revision (self-heal) is not a new sync.
        assert!(
            t.observe(key(), f(&app("Synced", "b2", "Healthy", ok)), 8)
                .is_empty()
        );
        assert_eq!(
            t.observe(key(), f(&app("Synced", "c3", "Healthy", ok)), 9),
            [Trigger::SyncSucceeded]
        );
        // Not-Ready for a reason that is no failure.
        assert!(
            t.observe(
                key(),
                f(&app("Synced", "c3", "Healthy", ("False", "Progressing"))),
                10
            )
            .is_empty()
        );
    }

    #[test]
    fn states_present_at_first_sight_are_not_notified() {
        let mut t = Tracker::new();
        let v = app("OutOfSync", "a1", "Degraded", ("False", "RenderFailed"));
        assert!(t.observe(key(), facts(Kind::Application, &v), 0).is_empty());
        assert!(!t.out_of_sync_due(&key(), 0, Duration::from_secs(60), 1000));
    }

    #[test]
    fn out_of_sync_fires_after_the_duration_once_per_episode_and_subscription() {
        let mut t = Tracker::new();
        let ok = ("True", "Synced");
        let f = |v: &Json| facts(Kind::Application, v);
        t.observe(key(), f(&app("Synced", "a1", "Healthy", ok)), 0);
        t.observe(key(), f(&app("OutOfSync", "a1", "Healthy", ok)), 100);
        let d = Duration::from_secs(60);
        assert!(!t.out_of_sync_due(&key(), 0, d, 159));
        assert!(t.out_of_sync_due(&key(), 0, d, 160));
        assert!(!t.out_of_sync_due(&key(), 0, d, 500));
        assert!(t.out_of_sync_due(&key(), 1, Duration::from_secs(300), 400));
        t.observe(key(), f(&app("Synced", "a1", "Healthy", ok)), 600);
        assert!(t.out_of_sync_keys().is_empty());
        t.observe(key(), f(&app("OutOfSync", "a1", "Healthy", ok)), 700);
        assert!(t.out_of_sync_due(&key(), 0, d, 760));
    }

    #[test]
    fn rollout_and_analysis_triggers() {
        let mut t = Tracker::new();
        let k = (Kind::Rollout, "ns".to_string(), "r".to_string());
        let r = |phase: &str, step: i64, abort: bool| {
            facts(
                Kind::Rollout,
                &json!({"status": {"phase": phase, "currentStepIndex": step, "abort": abort}}),
            )
        };
        t.observe(k.clone(), r("Healthy", 0, false), 0);
        assert!(t.observe(k.clone(), r("Progressing", 0, false), 1).is_empty());
        assert_eq!(
            t.observe(k.clone(), r("Paused", 1, false), 2),
            [Trigger::RolloutPaused]
        );
        assert!(t.observe(k.clone(), r("Paused", 1, false), 3).is_empty());
        assert_eq!(
            t.observe(k.clone(), r("Paused", 3, false), 4),
            [Trigger::RolloutPaused]
        );
        assert_eq!(
            t.observe(k.clone(), r("Healthy", 4, false), 5),
            [Trigger::RolloutCompleted]
        );
        t.observe(k.clone(), r("Progressing", 0, false), 6);
        assert_eq!(
            t.observe(k.clone(), r("Degraded", 1, true), 7),
            [Trigger::RolloutAborted]
        );
        assert!(t.observe(k.clone(), r("Degraded", 1, true), 8).is_empty());

        let k = (Kind::AnalysisRun, "ns".to_string(), "run".to_string());
        let a = |phase: &str| facts(Kind::AnalysisRun, &json!({"status": {"phase": phase}}));
        t.observe(k.clone(), a("Running"), 0);
        assert_eq!(t.observe(k.clone(), a("Failed"), 1), [Trigger::AnalysisFailed]);
        assert!(t.observe(k.clone(), a("Failed"), 2).is_empty());
    }

    fn pipeline(history: &[(&str, &str, &str)], failed_gate: Option<&str>) -> Json {
        let stages: Vec<Json> = ["qa", "e2e"]
            .iter()
            .map(|stage| {
                let entries: Vec<Json> = history
                    .iter()
                    .filter(|(s, _, _)| s == stage)
                    .map(|(_, release, commit)| {
                        json!({"release": release, "commit": commit, "time": format!("2026-12-05T10:00:0{}Z", commit.len() % 10), "by": "auto"})
                    })
                    .collect();
                let gates: Vec<Json> = failed_gate
                    .filter(|_| *stage == "qa")
                    .map(|m| json!({"name": "testJob", "phase": "Failed", "message": m}))
                    .into_iter()
                    .collect();
                json!({"name": stage, "history": entries, "gates": gates})
            })
            .collect();
        json!({"metadata": {"namespace": "shop", "name": "web"}, "status": {"stages": stages}})
    }

    #[test]
    fn promotions_and_blocked_gates_fire_once_per_change() {
        let mut t = Tracker::new();
        let key = (Kind::Pipeline, "shop".to_string(), "web".to_string());
        let mut observe = |obj: &Json, now| t.observe(key.clone(), facts(Kind::Pipeline, obj), now);
        let first = pipeline(&[("qa", "shop:v1", "c1")], None);
        assert!(
            observe(&first, 0).is_empty(),
            "the state at first sight is not notified"
        );
        assert!(observe(&first, 1).is_empty());
        let promoted = pipeline(&[("qa", "shop:v1", "c1"), ("e2e", "shop:v1", "c22")], None);
        assert_eq!(observe(&promoted, 2), vec![Trigger::PromotionDone]);
        assert!(observe(&promoted, 3).is_empty());
        let blocked = pipeline(
            &[("qa", "shop:v1", "c1"), ("e2e", "shop:v1", "c22")],
            Some("job failed"),
        );
        assert_eq!(observe(&blocked, 4), vec![Trigger::PromotionBlocked]);
        assert!(
            observe(&blocked, 5).is_empty(),
            "the same failure is not told twice"
        );
        let again = pipeline(
            &[("qa", "shop:v1", "c1"), ("e2e", "shop:v1", "c22")],
            Some("job failed: 2 tests"),
        );
        assert_eq!(observe(&again, 6), vec![Trigger::PromotionBlocked]);
        let latest = latest_promotion(&promoted).unwrap();
        assert_eq!(
            (latest["stage"].as_str(), latest["commit"].as_str()),
            (Some("e2e"), Some("c22"))
        );
        assert_eq!(Trigger::parse("promotion-done"), Some(Trigger::PromotionDone));
        assert!(!Trigger::PromotionBlocked.on_application());
    }
}
