//! The pipeline's decisions as a pure step: [`next`] takes the previous status, what was observed (each stage's
//! deployed release, sync, health, test Job, approvals, requests) and the time, and returns the new status and
//! the actions to take (start a test Job, promote a release into a stage). No I/O: the controller observes and
//! acts; this module decides.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use tack_model::{GateStatus, PendingPromotion, PipelineSpec, PromotionRecord, StageStatus};

use crate::part::Kind;
use crate::release::Release;
use crate::window::{self, Verdict};

/// Gate phases.
pub const PASSED: &str = "Passed";
/// Gate phases.
pub const PENDING: &str = "Pending";
/// Gate phases.
pub const FAILED: &str = "Failed";

/// The outcome of a stage's test Job for its current release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Created, not finished.
    Running(String),
    /// Completed successfully (the Job's name).
    Succeeded(String),
    /// Failed (the Job's name and the reason).
    Failed(String, String),
}

/// The outcome of a stage's AnalysisRun for its current release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnalysisOutcome {
    /// Created, not finished (the run's name).
    Running(String),
    /// `Successful`.
    Successful(String),
    /// `Failed`, `Error` or `Inconclusive` (the name, the phase and the run's message).
    Failed(String, String, String),
}

/// What the controller observed for one stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The release in the configuration at the commit the application synced.
    pub release: Option<Release>,
    /// That commit.
    pub revision: Option<String>,
    /// The release at the head of the configuration branch (what the stage is about to run).
    pub head_release: Option<Release>,
    /// The application's sync status.
    pub sync: Option<String>,
    /// The application's health.
    pub health: Option<String>,
    /// The test Job of the current release, if one exists.
    pub test_job: Option<JobOutcome>,
    /// The release approved to enter this stage (`tack env approve`).
    pub approved: Option<String>,
    /// A release a person asked to promote into this stage (`tack env promote` / `rollback`).
    pub requested: Option<Release>,
    /// The AnalysisRun of the current release, if one exists.
    pub analysis: Option<AnalysisOutcome>,
    /// Review branches pushed for releases waiting to enter this stage: release → branch.
    pub open_reviews: BTreeMap<String, String>,
    /// Promotion commits found on the stage's branch that the history may lack (oldest first).
    pub recorded: Vec<PromotionRecord>,
    /// For the first stage: a newer release found in a registry ([`crate::discovery`]), and what found it
    /// (the commit's `Promoted-By`, e.g. `discovered: gb-frontend v1.3.0 (semver ^1)`).
    pub discovered: Option<(Release, String)>,
}

/// Something the controller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the test Job of `stage` for `release`.
    RunTestJob {
        /// Index of the stage.
        stage: usize,
        /// The release under test.
        release: Release,
    },
    /// Start the AnalysisRun of `stage` for `release`.
    RunAnalysis {
        /// Index of the stage.
        stage: usize,
        /// The release under analysis.
        release: Release,
    },
    /// Write `release` into the configuration of stage `to` (for a stage with `review: true`, into a new
    /// review branch).
    Promote {
        /// Index of the target stage.
        to: usize,
        /// Index of the stage it was verified in (none for a requested release).
        from: Option<usize>,
        /// The release.
        release: Release,
        /// Who decided.
        by: String,
    },
}

/// The result of one step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// The new status of every stage, in pipeline order (histories are carried over unchanged).
    pub stages: Vec<StageStatus>,
    /// What to do now.
    pub actions: Vec<Action>,
    /// When to look again even if nothing changes (a soak time running out).
    pub requeue_after: Option<Duration>,
}

/// One step of the pipeline: see the module documentation.
pub fn next(
    spec: &PipelineSpec,
    previous: &[StageStatus],
    observed: &[Observation],
    now: Timestamp,
) -> Decision {
    next_with_windows(spec, previous, observed, now, now)
}

/// [`next`] with the promotion windows evaluated at `window_time` (tests give a fixed clock).
pub fn next_with_windows(
    spec: &PipelineSpec,
    previous: &[StageStatus],
    observed: &[Observation],
    now: Timestamp,
    window_time: Timestamp,
) -> Decision {
    let mut d = Decision::default();
    for (i, stage) in spec.stages.iter().enumerate() {
        let empty = Observation::default();
        let obs = observed.get(i).unwrap_or(&empty);
        let prev = previous.iter().find(|s| s.name == stage.name);
        let status = evaluate(spec, i, prev, obs, now, &mut d);
        d.stages.push(status);
    }
    if !spec.stages.is_empty() {
        let (pending, action) = promotion_into_first(&d.stages[0], observed.first());
        d.stages[0].pending = pending;
        d.actions.extend(action);
    }
    for i in 1..spec.stages.len() {
        let held = match window::parse(&spec.stages[i].promotion_windows) {
            Ok(w) => match window::verdict(&w, window_time) {
                Verdict::Open => None,
                Verdict::Held(reason) => Some(reason),
            },
            Err(e) => Some(e),
        };
        let ctx = Context {
            stages: &d.stages,
            observed,
            held: held.as_deref(),
        };
        let (pending, action) = promotion_into(spec, i, &ctx);
        d.stages[i].pending = pending;
        d.actions.extend(action);
    }
    d
}

/// The gates of stage `i` for its deployed release.
fn evaluate(
    spec: &PipelineSpec,
    i: usize,
    prev: Option<&StageStatus>,
    obs: &Observation,
    now: Timestamp,
    d: &mut Decision,
) -> StageStatus {
    let stage = &spec.stages[i];
    let release_text = obs.release.as_ref().map(|r| r.to_string());
    let same_release = prev.is_some_and(|p| p.release == release_text);
    let mut s = StageStatus {
        name: stage.name.clone(),
        release: release_text,
        images: references(obs, Kind::Image),
        charts: references(obs, Kind::Chart),
        bases: references(obs, Kind::Base),
        revision: obs.revision.clone(),
        sync: obs.sync.clone(),
        health: obs.health.clone(),
        history: prev.map(|p| p.history.clone()).unwrap_or_default(),
        ..Default::default()
    };
    crate::history::merge(&mut s.history, &obs.recorded);
    let Some(release) = obs.release.clone() else {
        s.gates.push(gate(
            "Release",
            PENDING,
            "no release found in the stage's configuration yet",
        ));
        return s;
    };
    let up_to_date = obs.head_release.as_ref().is_none_or(|h| *h == release);
    let synced = obs.sync.as_deref() == Some("Synced") && up_to_date;
    let sync_msg = match (&obs.sync, up_to_date) {
        (Some(st), true) => format!("{st} at {}", obs.revision.as_deref().map(short).unwrap_or("?")),
        (_, false) => "the configuration holds a newer release that is not synced yet".into(),
        (None, _) => "not reported yet".into(),
    };
    s.gates
        .push(gate("Synced", if synced { PASSED } else { PENDING }, &sync_msg));
    let health = obs.health.as_deref().unwrap_or("Unknown");
    let healthy = health == "Healthy";
    let health_phase = match health {
        "Healthy" => PASSED,
        "Degraded" | "Missing" => FAILED,
        _ => PENDING,
    };
    s.gates.push(gate("Healthy", health_phase, health));
    s.since = (synced && healthy).then(|| {
        prev.filter(|_| same_release)
            .and_then(|p| p.since.clone())
            .unwrap_or_else(|| now.to_string())
    });
    let soak = stage
        .gates
        .soak_time
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(Duration::ZERO);
    let soaked = soak_gate(&s, soak, now, d);
    s.gates.push(soaked);
    if stage.gates.test_job.is_some() {
        s.test_job_name = prev
            .filter(|_| same_release)
            .and_then(|p| p.test_job_name.clone());
        let g = match &obs.test_job {
            _ if !(synced && healthy) => gate(
                "TestJob",
                PENDING,
                "waits until the release is Synced and Healthy",
            ),
            None => {
                d.actions.push(Action::RunTestJob {
                    stage: i,
                    release: release.clone(),
                });
                gate("TestJob", PENDING, "starting the test Job")
            }
            Some(JobOutcome::Running(n)) => gate("TestJob", PENDING, &format!("Job {n} is running")),
            Some(JobOutcome::Succeeded(n)) => gate("TestJob", PASSED, &format!("Job {n} succeeded")),
            Some(JobOutcome::Failed(n, why)) => gate("TestJob", FAILED, &format!("Job {n} failed: {why}")),
        };
        s.gates.push(g);
    }
    if stage.gates.analysis.is_some() {
        s.analysis_run_name = prev
            .filter(|_| same_release)
            .and_then(|p| p.analysis_run_name.clone());
        let ready = synced && healthy && s.gates.iter().all(|g| g.phase == PASSED);
        let g = match &obs.analysis {
            _ if !ready => gate(
                "Analysis",
                PENDING,
                "waits until the release is Synced, Healthy and soaked",
            ),
            None => {
                d.actions.push(Action::RunAnalysis { stage: i, release });
                gate("Analysis", PENDING, "starting the AnalysisRun")
            }
            Some(AnalysisOutcome::Running(n)) => {
                gate("Analysis", PENDING, &format!("AnalysisRun {n} is running"))
            }
            Some(AnalysisOutcome::Successful(n)) => {
                gate("Analysis", PASSED, &format!("AnalysisRun {n} Successful"))
            }
            Some(AnalysisOutcome::Failed(n, phase, why)) => {
                gate("Analysis", FAILED, &format!("AnalysisRun {n} {phase}: {why}"))
            }
        };
        s.gates.push(g);
    }
    s.verified = s.gates.iter().all(|g| g.phase == PASSED);
    s
}

fn soak_gate(s: &StageStatus, soak: Duration, now: Timestamp, d: &mut Decision) -> GateStatus {
    let Some(since) = s.since.as_deref().and_then(|t| t.parse::<Timestamp>().ok()) else {
        return gate(
            "Soak",
            PENDING,
            &format!("{} once Synced and Healthy", human(soak)),
        );
    };
    let elapsed = Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO);
    if elapsed >= soak {
        return gate(
            "Soak",
            PASSED,
            &format!("Synced and Healthy since {since} ({} required)", human(soak)),
        );
    }
    let left = soak - elapsed;
    d.requeue_after = Some(d.requeue_after.map_or(left, |r| r.min(left)));
    gate(
        "Soak",
        PENDING,
        &format!("{} left of {}", human(left), human(soak)),
    )
}

/// The first stage receives releases from outside: a person's request (`tack env promote --to FIRST --release
/// R`) or a release discovered in a registry. Either is written into its configuration at once (no gate precedes
/// the first stage); with `review: true`, through a review branch.
fn promotion_into_first(
    status: &StageStatus,
    obs: Option<&Observation>,
) -> (Option<PendingPromotion>, Option<Action>) {
    let Some(obs) = obs else {
        return (None, None);
    };
    let head = obs.head_release.clone().or(obs.release.clone());
    let (release, by) = match (&obs.requested, &obs.discovered) {
        (Some(r), _) => (r.clone(), "tack env promote".to_string()),
        (None, Some((r, found))) => (r.clone(), found.clone()),
        (None, None) => return (None, None),
    };
    if head.as_ref() == Some(&release) {
        return (None, None);
    }
    // A discovered release the stage was rolled back from is not written again by the registry's say.
    if obs.requested.is_none() && status.history.iter().any(|r| r.release == release.to_string()) {
        return (
            pending(
                &release,
                "discovered upstream, but promoted here before and since replaced (rollback); promote it by hand",
            ),
            None,
        );
    }
    if let Some(branch) = obs_review(Some(obs), &release) {
        return (pending(&release, &waiting_review(&branch)), None);
    }
    let action = Action::Promote {
        to: 0,
        from: None,
        release,
        by,
    };
    (None, Some(action))
}

/// What [`promotion_into`] decides from.
struct Context<'a> {
    stages: &'a [StageStatus],
    observed: &'a [Observation],
    /// Why the stage's promotion windows hold automatic promotions now, if they do.
    held: Option<&'a str>,
}

/// Whether and why a release waits to enter stage `i`, or the promotion to make.
fn promotion_into(
    spec: &PipelineSpec,
    i: usize,
    ctx: &Context<'_>,
) -> (Option<PendingPromotion>, Option<Action>) {
    let Context {
        stages,
        observed,
        held,
    } = *ctx;
    let stage = &spec.stages[i];
    let review_of = |r: &Release| obs_review(observed.get(i), r);
    let obs = observed.get(i);
    let head = obs.and_then(|o| o.head_release.clone().or(o.release.clone()));
    let approved_for = |r: &Release| obs.and_then(|o| o.approved.as_deref()) == Some(r.to_string().as_str());
    if let Some(requested) = obs.and_then(|o| o.requested.clone()) {
        if head.as_ref() == Some(&requested) {
            return (None, None);
        }
        if let Some(branch) = review_of(&requested) {
            return (pending(&requested, &waiting_review(&branch)), None);
        }
        // A person asked for this release: the request is the decision (approval included). When it is the
        // release verified upstream, the commit names that stage and its evidence.
        let upstream = &stages[i - 1];
        let verified_upstream = upstream.verified && upstream.release == Some(requested.to_string());
        let action = Action::Promote {
            to: i,
            from: verified_upstream.then_some(i - 1),
            release: requested,
            by: "tack env promote".into(),
        };
        return (None, Some(action));
    }
    let upstream = &stages[i - 1];
    let upstream_obs = observed.get(i - 1);
    let Some(candidate) = upstream_obs.and_then(|o| o.release.clone()) else {
        return (None, None);
    };
    if head.as_ref() == Some(&candidate) {
        return (None, None);
    }
    if !upstream.verified {
        return (pending(&candidate, &blocked_reason(upstream)), None);
    }
    if stages[i]
        .history
        .iter()
        .any(|r| r.release == candidate.to_string())
    {
        return (
            pending(
                &candidate,
                "promoted here before and since replaced (rollback); promote it by hand",
            ),
            None,
        );
    }
    if !stage.auto_promote {
        return (pending(&candidate, "autoPromote is off: tack env promote"), None);
    }
    if stage.require_approval && !approved_for(&candidate) {
        return (
            pending(&candidate, "waiting for approval: tack env approve"),
            None,
        );
    }
    if let Some(branch) = review_of(&candidate) {
        return (pending(&candidate, &waiting_review(&branch)), None);
    }
    if let Some(why) = held {
        return (pending(&candidate, why), None);
    }
    let by = if stage.require_approval {
        "auto, approved"
    } else {
        "auto"
    };
    let action = Action::Promote {
        to: i,
        from: Some(i - 1),
        release: candidate,
        by: by.into(),
    };
    (None, Some(action))
}

/// How a pending promotion's reason starts when the stage before is not verified.
pub const BLOCKED: &str = "blocked: ";

/// Why a release of `upstream` may not leave it: its gates that did not pass, with their messages
/// (`blocked: TestJob failed in qa: Job … failed: BackoffLimitExceeded`).
pub fn blocked_reason(upstream: &StageStatus) -> String {
    let blocked: Vec<String> = upstream
        .gates
        .iter()
        .filter(|g| g.phase != PASSED)
        .map(|g| {
            format!(
                "{} {} in {}: {}",
                g.name,
                g.phase.to_lowercase(),
                upstream.name,
                g.message
            )
        })
        .collect();
    format!("{BLOCKED}{}", blocked.join("; "))
}

fn obs_review(obs: Option<&Observation>, r: &Release) -> Option<String> {
    obs?.open_reviews.get(&r.to_string()).cloned()
}

fn waiting_review(branch: &str) -> String {
    format!("waiting for review: merge branch {branch} into the stage's branch")
}

fn pending(r: &Release, reason: &str) -> Option<PendingPromotion> {
    Some(PendingPromotion {
        release: r.to_string(),
        reason: reason.into(),
    })
}

fn gate(name: &str, phase: &str, message: &str) -> GateStatus {
    GateStatus {
        name: name.into(),
        phase: phase.into(),
        message: message.into(),
    }
}

fn short(rev: &str) -> &str {
    rev.get(..12).unwrap_or(rev)
}

/// Parses a Go-style duration (`90s`, `5m`, `1h30m`, `500ms`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|&n| n > 0)?;
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(value * unit);
        rest = &rest[u..];
    }
    (!s.is_empty()).then_some(total)
}

fn human(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// The references of the observed release's parts of `kind`.
fn references(obs: &Observation, kind: Kind) -> Vec<String> {
    obs.release
        .as_ref()
        .map(|r| r.references_of(kind))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use tack_model::{Gates, LocalObjectReference, PromotedImage, Stage, TestJob};

    use super::*;

    fn spec(auto: bool, approval: bool, test_job: bool) -> PipelineSpec {
        let stage = |name: &str, gates: Gates| Stage {
            name: name.into(),
            application: LocalObjectReference {
                name: format!("app-{name}"),
            },
            gates,
            auto_promote: auto,
            require_approval: approval,
            ..Default::default()
        };
        let qa_gates = Gates {
            soak_time: Some("60s".into()),
            test_job: test_job.then(|| TestJob {
                spec: serde_json::json!({}),
            }),
            ..Default::default()
        };
        PipelineSpec {
            images: vec![PromotedImage {
                name: "app".into(),
                ..Default::default()
            }],
            stages: vec![stage("qa", qa_gates), stage("e2e", Gates::default())],
            ..Default::default()
        }
    }

    fn rel(tag: &str) -> Release {
        Release::of_images([("app", tag)])
    }

    fn running(tag: &str, sync: &str, health: &str) -> Observation {
        Observation {
            release: Some(rel(tag)),
            revision: Some("a".repeat(40)),
            head_release: Some(rel(tag)),
            sync: Some(sync.into()),
            health: Some(health.into()),
            ..Default::default()
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("time")
    }

    #[test]
    fn soak_then_promote() {
        let spec = spec(true, false, false);
        let obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        let d = next(&spec, &[], &obs, at(0));
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert!(!d.stages[0].verified);
        assert_eq!(d.requeue_after, Some(Duration::from_secs(60)));
        let reason = &d.stages[1].pending.as_ref().expect("pending").reason;
        assert!(reason.contains("Soak pending in qa: 60s left"), "{reason}");
        // 61 s later, the same observation: verified, promoted.
        let d = next(&spec, &d.stages, &obs, at(61));
        assert!(d.stages[0].verified);
        assert_eq!(
            d.actions,
            vec![Action::Promote {
                to: 1,
                from: Some(0),
                release: rel("v2"),
                by: "auto".into()
            }]
        );
        // Once e2e's branch holds v2 (even before it syncs), nothing more is done.
        let mut obs2 = obs.clone();
        obs2[1].head_release = Some(rel("v2"));
        let d = next(&spec, &d.stages, &obs2, at(62));
        assert!(d.actions.is_empty());
        assert!(
            d.stages[1]
                .gates
                .iter()
                .any(|g| g.name == "Synced" && g.phase == PENDING)
        );
    }

    #[test]
    fn a_new_release_restarts_the_soak_and_unhealthy_blocks() {
        let spec = spec(true, false, false);
        let d = next(
            &spec,
            &[],
            &[
                running("v2", "Synced", "Healthy"),
                running("v1", "Synced", "Healthy"),
            ],
            at(0),
        );
        let d = next(
            &spec,
            &d.stages,
            &[
                running("v3", "Synced", "Healthy"),
                running("v1", "Synced", "Healthy"),
            ],
            at(100),
        );
        assert!(d.actions.is_empty());
        assert_eq!(d.stages[0].since.as_deref(), Some(at(100).to_string().as_str()));
        let d = next(
            &spec,
            &d.stages,
            &[
                running("v3", "Synced", "Degraded"),
                running("v1", "Synced", "Healthy"),
            ],
            at(200),
        );
        assert!(d.actions.is_empty());
        let reason = &d.stages[1].pending.as_ref().expect("pending").reason;
        assert!(reason.contains("Healthy failed in qa: Degraded"), "{reason}");
    }

    #[test]
    fn test_job_failure_blocks_with_the_reason() {
        let spec = spec(true, false, true);
        let mut obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        let d = next(&spec, &[], &obs, at(0));
        assert_eq!(
            d.actions,
            vec![Action::RunTestJob {
                stage: 0,
                release: rel("v2")
            }]
        );
        obs[0].test_job = Some(JobOutcome::Failed(
            "qa-test".into(),
            "BackoffLimitExceeded".into(),
        ));
        let d = next(&spec, &d.stages, &obs, at(120));
        assert!(d.actions.is_empty());
        let reason = &d.stages[1].pending.as_ref().expect("pending").reason;
        assert!(
            reason.contains("TestJob failed in qa: Job qa-test failed: BackoffLimitExceeded"),
            "{reason}"
        );
        obs[0].test_job = Some(JobOutcome::Succeeded("qa-test".into()));
        let d = next(&spec, &d.stages, &obs, at(121));
        assert_eq!(d.actions.len(), 1);
    }

    #[test]
    fn approval_manual_promotion_and_requests() {
        let obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        let manual = spec(false, false, false);
        let d = next(&manual, &[], &obs, at(0));
        let d = next(&manual, &d.stages, &obs, at(100));
        assert!(d.actions.is_empty());
        assert!(
            d.stages[1]
                .pending
                .as_ref()
                .expect("p")
                .reason
                .contains("autoPromote is off")
        );

        let gated = spec(true, true, false);
        let d = next(&gated, &[], &obs, at(0));
        let d = next(&gated, &d.stages, &obs, at(100));
        assert!(
            d.stages[1]
                .pending
                .as_ref()
                .expect("p")
                .reason
                .contains("waiting for approval")
        );
        let mut approved = obs.clone();
        approved[1].approved = Some("v2".into());
        let d = next(&gated, &d.stages, &approved, at(101));
        assert_eq!(d.actions.len(), 1);

        // A request (rollback to v0) ignores autoPromote and the gates.
        let mut req = obs.clone();
        req[1].requested = Some(rel("v0"));
        let d = next(&manual, &[], &req, at(0));
        assert_eq!(
            d.actions,
            vec![Action::Promote {
                to: 1,
                from: None,
                release: rel("v0"),
                by: "tack env promote".into()
            }]
        );

        // The first stage: a request is written at once; a release found in a registry too, unless a request
        // is there; nothing once the configuration holds it.
        let mut first = obs.clone();
        first[0].requested = Some(rel("v3"));
        first[0].discovered = Some((rel("v4"), "discovered: app v4".into()));
        let d = next(&manual, &[], &first, at(0));
        assert_eq!(
            d.actions,
            vec![Action::Promote {
                to: 0,
                from: None,
                release: rel("v3"),
                by: "tack env promote".into()
            }]
        );
        first[0].requested = None;
        let d = next(&manual, &[], &first, at(0));
        assert_eq!(
            d.actions,
            vec![Action::Promote {
                to: 0,
                from: None,
                release: rel("v4"),
                by: "discovered: app v4".into()
            }]
        );
        first[0].head_release = Some(rel("v4"));
        assert!(next(&manual, &[], &first, at(0)).actions.is_empty());

        // Rolled back from v4 (in the history, no longer at the head): the registry's v4 waits for a person.
        first[0].head_release = Some(rel("v3"));
        let mut previous = next(&manual, &[], &first, at(0)).stages;
        previous[0].history.push(PromotionRecord {
            release: "v4".into(),
            ..Default::default()
        });
        let d = next(&manual, &previous, &first, at(1));
        assert!(d.actions.is_empty());
        let waiting = d.stages[0].pending.as_ref().expect("pending");
        assert!(waiting.reason.contains("rollback"), "{}", waiting.reason);
    }

    #[test]
    fn promotion_windows_hold_then_release() {
        let mut spec = spec(true, false, false);
        spec.stages[1].promotion_windows = vec![tack_model::PromotionWindow {
            kind: None,
            schedule: "0 9-16 * * 1-5".into(),
            duration: "1h".into(),
            time_zone: Some("UTC".into()),
        }];
        let obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        // Saturday 2026-12-12 10:00 UTC: verified in qa, held by the window.
        let saturday: Timestamp = "2026-12-12T10:00:00Z".parse().expect("t");
        let d = next_with_windows(&spec, &[], &obs, at(0), saturday);
        let d = next_with_windows(&spec, &d.stages, &obs, at(100), saturday);
        assert!(d.stages[0].verified);
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        let reason = &d.stages[1].pending.as_ref().expect("pending").reason;
        assert_eq!(
            reason,
            "outside the promotion windows: allow 0 9-16 * * 1-5 for 1h (UTC) opens at 2026-12-14T09:00:00Z"
        );
        // Monday 09:30: released.
        let monday: Timestamp = "2026-12-14T09:30:00Z".parse().expect("t");
        let d = next_with_windows(&spec, &d.stages, &obs, at(101), monday);
        assert_eq!(d.actions.len(), 1, "{:?}", d.stages[1].pending);
        assert!(d.stages[1].pending.is_none());
        // A person's request is not held by the window.
        let mut req = obs.clone();
        req[1].requested = Some(rel("v0"));
        let d = next_with_windows(&spec, &[], &req, at(0), saturday);
        assert_eq!(d.actions.len(), 1);
    }

    #[test]
    fn analysis_gate_runs_after_the_other_gates() {
        let mut spec = spec(true, false, false);
        spec.stages[0].gates.analysis = Some(tack_model::StageAnalysis {
            templates: vec![tack_model::AnalysisTemplateRef {
                template_name: "smoke".into(),
                cluster_scope: false,
            }],
            args: vec![],
        });
        let mut obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        let d = next(&spec, &[], &obs, at(0));
        assert!(d.actions.is_empty(), "soak first: {:?}", d.actions);
        let d = next(&spec, &d.stages, &obs, at(61));
        assert_eq!(
            d.actions,
            vec![Action::RunAnalysis {
                stage: 0,
                release: rel("v2")
            }]
        );
        obs[0].analysis = Some(AnalysisOutcome::Failed(
            "run-1".into(),
            "Failed".into(),
            "metric \"http\" assessed Failed".into(),
        ));
        let d = next(&spec, &d.stages, &obs, at(62));
        assert!(d.actions.is_empty());
        let reason = &d.stages[1].pending.as_ref().expect("pending").reason;
        assert!(
            reason.contains("Analysis failed in qa: AnalysisRun run-1 Failed: metric"),
            "{reason}"
        );
        obs[0].analysis = Some(AnalysisOutcome::Successful("run-1".into()));
        let d = next(&spec, &d.stages, &obs, at(63));
        assert!(d.stages[0].verified);
        assert!(matches!(d.actions.as_slice(), [Action::Promote { to: 1, .. }]));
    }

    #[test]
    fn an_open_review_branch_waits_for_its_merge() {
        let mut spec = spec(true, false, false);
        spec.stages[1].review = true;
        let mut obs = [
            running("v2", "Synced", "Healthy"),
            running("v1", "Synced", "Healthy"),
        ];
        let d = next(&spec, &[], &obs, at(0));
        let d = next(&spec, &d.stages, &obs, at(61));
        assert_eq!(d.actions.len(), 1, "the review branch is pushed");
        obs[1]
            .open_reviews
            .insert("v2".into(), "tack/promote/p/e2e/v2".into());
        let d = next(&spec, &d.stages, &obs, at(62));
        assert!(d.actions.is_empty());
        assert_eq!(
            d.stages[1].pending.as_ref().expect("pending").reason,
            "waiting for review: merge branch tack/promote/p/e2e/v2 into the stage's branch"
        );
        // Merged: the stage's branch holds v2.
        obs[1].head_release = Some(rel("v2"));
        let d = next(&spec, &d.stages, &obs, at(63));
        assert!(d.actions.is_empty());
        assert!(d.stages[1].pending.is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("abc"), None);
    }
}
