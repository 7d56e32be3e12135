//! Scenarios over the seed manifests, with a small simulated cluster: ReplicaSets take the desired sizes and
//! their pods become available unless their hash is marked bad.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::json;
use tack_rollout::spec::Rollout;
use tack_rollout::{
    Action, AnalysisKind, AnalysisObservation, AnalysisPhase, Decision, ExperimentObservation, Observed,
    PodFailure, ReplicaSetObservation, Role, commands, reconcile,
};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rollouts");

fn seed(path: &str) -> Rollout {
    let text = std::fs::read_to_string(format!("{SEED}/{path}")).expect("seed file readable");
    serde_saphyr::from_str(&text).expect("seed parses as a Rollout")
}

fn t0() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().expect("timestamp")
}

fn set_image(r: &mut Rollout, image: &str) {
    let t = r.spec.template.as_mut().expect("template");
    t["spec"]["containers"][0]["image"] = json!(image);
}

struct Sim {
    rollout: Rollout,
    rss: Vec<ReplicaSetObservation>,
    runs: Vec<AnalysisObservation>,
    experiments: Vec<ExperimentObservation>,
    now: Timestamp,
    bad: BTreeSet<String>,
}

impl Sim {
    fn new(rollout: Rollout) -> Self {
        Sim {
            rollout,
            rss: Vec::new(),
            runs: Vec::new(),
            experiments: Vec::new(),
            now: t0(),
            bad: BTreeSet::new(),
        }
    }

    fn observed(&self) -> Observed {
        Observed {
            replica_sets: self.rss.clone(),
            analysis_runs: self.runs.clone(),
            experiments: self.experiments.clone(),
            now: self.now,
        }
    }

    fn step(&mut self) -> Decision {
        let d = reconcile(&self.rollout, &self.observed()).expect("reconcile");
        self.rollout.status = Some(d.status.clone());
        for want in &d.replica_sets {
            let ok = !self.bad.contains(&want.pod_template_hash);
            match self
                .rss
                .iter_mut()
                .find(|r| r.pod_template_hash == want.pod_template_hash)
            {
                Some(r) => {
                    r.replicas = want.replicas;
                    r.ready = if ok { want.replicas } else { 0 };
                    r.available = r.ready;
                }
                None => self.rss.push(ReplicaSetObservation {
                    pod_template_hash: want.pod_template_hash.clone(),
                    replicas: want.replicas,
                    ready: if ok { want.replicas } else { 0 },
                    available: if ok { want.replicas } else { 0 },
                    scale_down_deadline: None,
                    failed_pods: vec![],
                    revision: Some(i64::try_from(self.rss.len()).expect("count") + 1),
                    created_at: Some(
                        Timestamp::from_second(
                            self.now.as_second() + i64::try_from(self.rss.len()).expect("count"),
                        )
                        .expect("time"),
                    ),
                }),
            }
        }
        for a in &d.actions {
            if let Action::SetScaleDownDeadline {
                pod_template_hash,
                at,
            } = a
                && let Some(r) = self
                    .rss
                    .iter_mut()
                    .find(|r| &r.pod_template_hash == pod_template_hash)
            {
                r.scale_down_deadline = Some(*at);
            }
        }
        d
    }

    /// Reconciles until nothing changes any more.
    fn settle(&mut self) -> Decision {
        let mut last = self.step();
        for _ in 0..30 {
            let before = (self.rss.clone(), self.rollout.status.clone());
            let d = self.step();
            if before == (self.rss.clone(), self.rollout.status.clone()) {
                return d;
            }
            last = d;
        }
        panic!("did not settle: {last:#?}");
    }

    fn replicas(&self, hash: &str) -> i32 {
        self.rss
            .iter()
            .find(|r| r.pod_template_hash == hash)
            .map_or(0, |r| r.replicas)
    }

    fn advance(&mut self, secs: i64) {
        self.now = Timestamp::from_second(self.now.as_second() + secs).expect("time");
    }
}

#[test]
fn seed_files_parse() {
    let c = seed("canary/canary-rollout.yaml");
    assert_eq!(c.kind, "Rollout");
    assert_eq!(c.api_version, "argoproj.io/v1alpha1");
    assert_eq!(c.spec.replicas, Some(4));
    let steps = &c.spec.strategy.canary.as_ref().expect("canary").steps;
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0].set_weight, Some(20));
    assert_eq!(
        steps[1].pause.as_ref().and_then(|p| p.duration.clone()),
        Some(tack_rollout::spec::IntOrString::String("48h".into()))
    );
    let e = seed("canary/example-rollout.yaml");
    assert_eq!(e.spec.replicas, Some(3));
    let b = seed("bluegreen/blue-green-rollout.yaml");
    let bg = b.spec.strategy.blue_green.as_ref().expect("blueGreen");
    assert_eq!(bg.active_service, "myapp-active");
    assert_eq!(bg.preview_service.as_deref(), Some("myapp-preview"));
    assert_eq!(bg.auto_promotion_enabled, Some(false));
}

#[test]
fn unknown_fields_are_tolerated_and_status_names_match_argo() {
    let r: Rollout = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "x"},
        "spec": {"someFutureField": 1, "strategy": {"canary": {"steps": [{"setWeight": 5, "newKind": {}}],
            "trafficRouting": {"nginx": {"stableIngress": "web"}, "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "r"}}}}}},
        "status": {"stableRS": "abc", "currentStepIndex": 2, "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}],
            "canary": {"weights": {"canary": {"weight": 20, "podTemplateHash": "h"}, "stable": {"weight": 80}}}, "observedGeneration": "3"}
    }))
    .expect("parses");
    let st = r.status.as_ref().expect("status");
    assert_eq!(st.stable_rs.as_deref(), Some("abc"));
    assert_eq!(st.canary.weights.as_ref().map(|w| w.canary.weight), Some(20));
    let back = serde_json::to_value(&r).expect("serializes");
    assert_eq!(back["status"]["stableRS"], "abc");
    assert_eq!(
        back["spec"]["strategy"]["canary"]["trafficRouting"]["nginx"]["stableIngress"],
        "web"
    );
}

#[test]
fn seed_canary_20_then_50_then_full() {
    let mut r = seed("canary/canary-rollout.yaml");
    set_image(&mut r, "myapp:old-version");
    let mut sim = Sim::new(r);
    let d = sim.settle();
    let old = d.pod_template_hash.clone();
    assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
    assert_eq!(sim.replicas(&old), 4);

    // The image change of the seed.
    set_image(&mut sim.rollout, "myapp:new-version");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_ne!(new, old);
    assert_eq!(sim.replicas(&new), 1, "canary holds 1 of 4");
    // As Argo Rollouts: both sides rounded up, ceil(0.8) canary and ceil(3.2) stable.
    assert_eq!(sim.replicas(&old), 4);
    assert_eq!(d.canary_weight, 20);
    let st = &d.status;
    assert_eq!(st.phase.as_deref(), Some("Paused"));
    assert_eq!(st.current_step_index, Some(1));
    assert_eq!(st.pause_conditions[0].reason, "CanaryPauseStep");
    assert_eq!(st.pause_conditions[0].start_time, Some(t0()));
    assert_eq!(st.stable_rs.as_deref(), Some(old.as_str()));
    assert_eq!(st.updated_replicas, 1);
    assert_eq!(d.requeue_after, Some(std::time::Duration::from_secs(48 * 3600)));

    // An hour later it is still paused.
    sim.advance(3600);
    assert_eq!(sim.settle().status.current_step_index, Some(1));

    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.canary_weight, 50);
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (2, 2));
    assert_eq!(d.status.current_step_index, Some(3));
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));

    commands::promote_full(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.status.stable_rs.as_deref(), Some(new.as_str()));
    assert_eq!(
        d.status.phase.as_deref(),
        Some("Healthy"),
        "{:?}",
        d.status.message
    );
    assert_eq!(d.status.current_step_index, Some(4));
    assert!(!d.status.promote_full);
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (4, 0));
    assert_eq!(d.canary_weight, 0);
    assert_eq!(d.stable_weight, 100);
}

#[test]
fn timed_pause_ends_by_itself() {
    let mut r = seed("canary/example-rollout.yaml");
    set_image(&mut r, "a:1");
    let mut sim = Sim::new(r);
    sim.settle();
    set_image(&mut sim.rollout, "a:2");
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    sim.advance(3599);
    assert_eq!(sim.settle().status.phase.as_deref(), Some("Paused"));
    sim.advance(1);
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
    assert_eq!(sim.replicas(&d.pod_template_hash), 3);
    assert!(d.status.pause_conditions.is_empty());
}

#[test]
fn abort_returns_everything_to_stable_and_retry_restarts() {
    let mut r = seed("canary/canary-rollout.yaml");
    set_image(&mut r, "a:1");
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "a:2");
    let new = sim.settle().pod_template_hash;
    commands::promote(&mut sim.rollout);
    sim.settle();
    assert_eq!(sim.replicas(&new), 2);

    commands::abort(&mut sim.rollout);
    let first = sim.step();
    assert_eq!(first.canary_weight, 0);
    assert!(first.actions.iter().any(|a| matches!(a, Action::Aborted { .. })));
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert!(
        d.status
            .message
            .as_deref()
            .unwrap_or("")
            .starts_with("RolloutAborted")
    );
    assert_eq!(d.status.aborted_at, Some(t0()));
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 4));

    commands::retry(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    assert_eq!(d.status.current_step_index, Some(1));
    // As Argo Rollouts: 20 % of 4 rounds up on both sides.
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (1, 4));
}

fn with_analysis_step() -> Rollout {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
        "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"canary": {"steps": [
                {"setWeight": 20},
                {"analysis": {"templates": [{"templateName": "success-rate"}], "args": [{"name": "service", "value": "web"}]}},
                {"setWeight": 60}, {"pause": {}}]}}}
    }))
    .expect("rollout")
}

#[test]
fn failed_analysis_aborts() {
    let mut sim = Sim::new(with_analysis_step());
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!(d.status.current_step_index, Some(1));
    assert_eq!(d.status.phase.as_deref(), Some("Progressing"));
    let create = d.actions.iter().find_map(|a| match a {
        Action::CreateAnalysisRun {
            name, kind, analysis, ..
        } => Some((
            name.clone(),
            *kind,
            analysis.templates.clone(),
            analysis.args.clone(),
        )),
        _ => None,
    });
    let (name, kind, templates, args) = create.expect("an AnalysisRun is requested");
    assert_eq!(name, format!("web-{new}-1"));
    assert_eq!(kind, AnalysisKind::Step(1));
    assert_eq!(templates[0].template_name, "success-rate");
    assert_eq!(args[0].value.as_deref(), Some("web"));

    sim.runs.push(AnalysisObservation {
        kind,
        pod_template_hash: new.clone(),
        name: "web-run-1".into(),
        phase: AnalysisPhase::Running,
        message: None,
        created_at: sim.now,
    });
    let d = sim.settle();
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, Action::CreateAnalysisRun { .. }))
    );
    assert_eq!(
        d.status
            .canary
            .current_step_analysis_run_status
            .as_ref()
            .map(|r| r.status.as_str()),
        Some("Running")
    );

    sim.advance(60);
    sim.runs[0].phase = AnalysisPhase::Failed;
    sim.runs[0].message = Some("metric \"success-rate\" assessed Failed: result 0.42".into());
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    let msg = d.status.message.clone().unwrap_or_default();
    assert!(msg.contains("web-run-1") && msg.contains("0.42"), "{msg}");
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 5));

    // retry ignores the run of the aborted attempt and asks for a new one.
    sim.advance(60);
    commands::retry(&mut sim.rollout);
    let d = sim.settle();
    assert!(!d.status.abort);
    let aborted = d.status.aborted_at.expect("abortedAt kept").as_second();
    assert!(d.actions.iter().any(
        |a| matches!(a, Action::CreateAnalysisRun { name, .. } if *name == format!("web-{new}-1-{aborted}"))
    ));
    sim.runs.push(AnalysisObservation {
        kind,
        pod_template_hash: new.clone(),
        name: "web-run-2".into(),
        phase: AnalysisPhase::Successful,
        message: None,
        created_at: sim.now,
    });
    let d = sim.settle();
    assert_eq!(d.status.current_step_index, Some(3));
    assert_eq!(d.canary_weight, 60);
    assert_eq!(sim.replicas(&new), 3);
}

#[test]
fn never_ready_canary_passes_the_progress_deadline() {
    for abort in [false, true] {
        let mut r = with_analysis_step();
        r.spec.progress_deadline_seconds = Some(60);
        r.spec.progress_deadline_abort = abort;
        let mut sim = Sim::new(r);
        let old = sim.settle().pod_template_hash;
        set_image(&mut sim.rollout, "web:crashing");
        let new = tack_rollout::pod_template_hash(sim.rollout.spec.template.as_ref().expect("template"));
        sim.bad.insert(new.clone());
        let d = sim.settle();
        assert_eq!(d.status.phase.as_deref(), Some("Progressing"));
        sim.advance(59);
        assert_eq!(sim.settle().status.phase.as_deref(), Some("Progressing"));
        sim.advance(1);
        let d = sim.settle();
        assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
        let msg = d.status.message.clone().unwrap_or_default();
        assert_eq!(d.status.abort, abort, "{msg}");
        if abort {
            assert!(msg.contains("timed out"), "{msg}");
            assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 5));
        } else {
            assert!(msg.starts_with("ProgressDeadlineExceeded"), "{msg}");
            assert_eq!(sim.replicas(&new), 1);
        }
    }
}

#[test]
fn crashed_canary_pod_aborts_at_once_and_retry_ignores_the_old_crash() {
    let mut sim = Sim::new(with_analysis_step());
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:crashing");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!(d.status.phase.as_deref(), Some("Progressing"));
    assert_eq!(sim.replicas(&new), 1);

    sim.advance(2);
    let crashed_at = sim.now;
    let canary = sim
        .rss
        .iter_mut()
        .find(|r| r.pod_template_hash == new)
        .expect("canary ReplicaSet");
    canary.failed_pods.push(PodFailure {
        pod: format!("web-{new}-abcde"),
        reason: "container web exited with code 1".into(),
        created_at: crashed_at,
    });
    let d = sim.step();
    assert!(d.status.abort);
    assert_eq!(d.canary_weight, 0);
    let want = format!("canary pod web-{new}-abcde failed: container web exited with code 1");
    assert!(
        d.actions
            .iter()
            .any(|a| matches!(a, Action::Aborted { reason } if *reason == want)),
        "{:?}",
        d.actions
    );
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert_eq!(
        d.status.message.as_deref(),
        Some(format!("RolloutAborted: {want}").as_str())
    );
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 5));

    // The crashed pod of the aborted attempt does not abort the retry; a new crash does.
    sim.advance(5);
    commands::retry(&mut sim.rollout);
    let d = sim.settle();
    assert!(!d.status.abort);
    assert_eq!(sim.replicas(&new), 1);
    sim.advance(1);
    let now = sim.now;
    let canary = sim
        .rss
        .iter_mut()
        .find(|r| r.pod_template_hash == new)
        .expect("canary ReplicaSet");
    canary.failed_pods.push(PodFailure {
        pod: format!("web-{new}-fghij"),
        reason: "container web is in CrashLoopBackOff".into(),
        created_at: now,
    });
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert!(
        d.status
            .message
            .as_deref()
            .is_some_and(|m| m.contains("fghij") && m.contains("CrashLoopBackOff")),
        "{:?}",
        d.status.message
    );
}

#[test]
fn traffic_routing_weights_and_delayed_scale_downs() {
    let mut r: Rollout = serde_json::from_value(json!({
        "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"canary": {"canaryService": "web-canary", "stableService": "web-stable",
                "trafficRouting": {"nginx": {"stableIngress": "web"}},
                "steps": [{"setWeight": 10}, {"pause": {}}, {"setCanaryScale": {"replicas": 4}}, {"setWeight": 30}, {"pause": {}}]}}}
    }))
    .expect("rollout");
    r.spec.replicas = Some(4);
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    let w = d
        .status
        .canary
        .weights
        .clone()
        .expect("weights with traffic routing");
    assert_eq!((w.canary.weight, w.stable.weight), (10, 90));
    assert_eq!(w.canary.pod_template_hash.as_deref(), Some(new.as_str()));
    assert_eq!(
        (sim.replicas(&new), sim.replicas(&old)),
        (1, 4),
        "stable keeps all replicas"
    );
    assert!(d.services.contains(&("web-canary".into(), new.clone())));
    assert!(d.services.contains(&("web-stable".into(), old.clone())));

    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.canary_weight, 30);
    assert_eq!(sim.replicas(&new), 4, "setCanaryScale replicas");

    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.status.stable_rs.as_deref(), Some(new.as_str()));
    assert_eq!(
        sim.replicas(&old),
        4,
        "old stable waits for scaleDownDelaySeconds"
    );
    sim.advance(30);
    sim.settle();
    assert_eq!(sim.replicas(&old), 0);

    // Abort with traffic routing: weight 0 at once, canary kept for abortScaleDownDelaySeconds.
    set_image(&mut sim.rollout, "web:3");
    let d = sim.settle();
    let third = d.pod_template_hash.clone();
    assert_eq!(sim.replicas(&third), 1);
    commands::abort(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(
        d.status.canary.weights.as_ref().map(|w| w.stable.weight),
        Some(100)
    );
    assert_eq!(sim.replicas(&third), 1);
    sim.advance(30);
    sim.settle();
    assert_eq!(sim.replicas(&third), 0);
}

#[test]
fn seed_blue_green_switches_on_promote() {
    let mut r = seed("bluegreen/blue-green-rollout.yaml");
    set_image(&mut r, "myapp:v1");
    let mut sim = Sim::new(r);
    let d = sim.settle();
    let old = d.pod_template_hash.clone();
    assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
    assert_eq!(d.status.blue_green.active_selector.as_deref(), Some(old.as_str()));

    set_image(&mut sim.rollout, "myapp:v2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (2, 2));
    assert!(d.services.contains(&("myapp-active".into(), old.clone())));
    assert!(d.services.contains(&("myapp-preview".into(), new.clone())));
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    assert_eq!(d.status.pause_conditions[0].reason, "BlueGreenPause");
    sim.advance(3600);
    assert_eq!(
        sim.settle().status.blue_green.active_selector.as_deref(),
        Some(old.as_str())
    );

    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert!(d.services.contains(&("myapp-active".into(), new.clone())));
    assert_eq!(d.status.stable_rs.as_deref(), Some(new.as_str()));
    assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
    assert_eq!(sim.replicas(&old), 2, "kept for scaleDownDelaySeconds");
    sim.advance(29);
    sim.settle();
    assert_eq!(sim.replicas(&old), 2);
    sim.advance(1);
    sim.settle();
    assert_eq!(sim.replicas(&old), 0);
}

#[test]
fn blue_green_auto_promotion_preview_count_and_analysis() {
    let mut r: Rollout = serde_json::from_value(json!({
        "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"blueGreen": {"activeService": "a", "previewService": "p", "autoPromotionSeconds": 60,
                "previewReplicaCount": 1, "scaleDownDelaySeconds": 10,
                "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]}}}}
    }))
    .expect("rollout");
    r.spec.replicas = Some(4);
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!(sim.replicas(&new), 1, "previewReplicaCount");
    assert!(d.actions.iter().any(|a| matches!(
        a,
        Action::CreateAnalysisRun {
            kind: AnalysisKind::PrePromotion,
            ..
        }
    )));
    sim.runs.push(AnalysisObservation {
        kind: AnalysisKind::PrePromotion,
        pod_template_hash: new.clone(),
        name: "smoke-1".into(),
        phase: AnalysisPhase::Successful,
        message: None,
        created_at: sim.now,
    });
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    sim.advance(60);
    let d = sim.settle();
    assert_eq!(d.status.blue_green.active_selector.as_deref(), Some(new.as_str()));
    assert_eq!(sim.replicas(&new), 4, "preview scaled to full before the switch");
    assert_eq!(sim.replicas(&old), 4);
    sim.advance(10);
    sim.settle();
    assert_eq!(sim.replicas(&old), 0);

    // A failed pre-promotion analysis aborts: active stays, preview scaled down after the abort delay.
    set_image(&mut sim.rollout, "web:3");
    let d = sim.settle();
    let third = d.pod_template_hash.clone();
    sim.runs.push(AnalysisObservation {
        kind: AnalysisKind::PrePromotion,
        pod_template_hash: third.clone(),
        name: "smoke-2".into(),
        phase: AnalysisPhase::Failed,
        message: Some("result 0".into()),
        created_at: sim.now,
    });
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert!(d.services.contains(&("a".into(), new.clone())));
    assert_eq!(sim.replicas(&third), 1);
    sim.advance(30);
    sim.settle();
    assert_eq!(sim.replicas(&third), 0);
    let roles: Vec<Role> = d.replica_sets.iter().map(|s| s.role).collect();
    assert!(roles.contains(&Role::Stable));
}

#[test]
fn background_analysis_inconclusive_pauses_once_and_failure_aborts() {
    let mut r: Rollout = serde_json::from_value(json!({
        "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"canary": {"analysis": {"templates": [{"templateName": "bg"}], "startingStep": 1},
                "steps": [{"setWeight": 25}, {"setWeight": 50}, {"pause": {"duration": "1h"}}, {"setWeight": 75}, {"pause": {}}]}}}
    }))
    .expect("rollout");
    r.spec.replicas = Some(4);
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.step();
    let new = d.pod_template_hash.clone();
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, Action::CreateAnalysisRun { .. })),
        "startingStep 1"
    );
    let d = sim.settle();
    assert!(d.actions.iter().any(|a| matches!(
        a,
        Action::CreateAnalysisRun {
            kind: AnalysisKind::Background,
            ..
        }
    )));
    sim.runs.push(AnalysisObservation {
        kind: AnalysisKind::Background,
        pod_template_hash: new.clone(),
        name: "bg-1".into(),
        phase: AnalysisPhase::Inconclusive,
        message: None,
        created_at: sim.now,
    });
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    assert!(
        d.status
            .pause_conditions
            .iter()
            .any(|p| p.reason == "InconclusiveAnalysisRun")
    );
    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(
        d.status.phase.as_deref(),
        Some("Paused"),
        "{:?}",
        d.status.pause_conditions
    );
    assert_eq!(d.status.pause_conditions.len(), 1);
    assert_eq!(d.status.pause_conditions[0].reason, "CanaryPauseStep");
    assert_eq!(d.status.current_step_index, Some(4));
    assert_eq!(sim.replicas(&new), 3);
    // The run fails later: abort.
    sim.runs[0].phase = AnalysisPhase::Failed;
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 4));
}

#[test]
fn traffic_shifts_only_once_the_canary_pods_are_available() {
    let r: Rollout = serde_json::from_value(json!({
        "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"canary": {"canaryService": "web-canary", "stableService": "web-stable",
                "trafficRouting": {"nginx": {"stableIngress": "web"}},
                "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]}}}
    }))
    .expect("rollout");
    let mut sim = Sim::new(r);
    sim.settle();
    set_image(&mut sim.rollout, "web:2");
    // The canary's pods never become ready: its weight stays 0 while the step waits for them.
    sim.bad.insert(tack_rollout::pod_template_hash(
        sim.rollout.spec.template.as_ref().expect("template"),
    ));
    let d = sim.settle();
    assert_eq!(d.status.current_step_index, Some(0));
    assert_eq!(sim.replicas(&d.pod_template_hash), 1);
    assert_eq!(d.canary_weight, 0);
    // Once they are ready the weight moves to 25 and the rollout pauses.
    sim.bad.clear();
    let d = sim.settle();
    assert_eq!(d.canary_weight, 25);
    assert_eq!(d.status.current_step_index, Some(1));
    // At the next setWeight the previous weight stays until 2 canary pods are available.
    let hash = d.pod_template_hash.clone();
    commands::promote(&mut sim.rollout);
    sim.bad.insert(hash.clone());
    let d = sim.step();
    assert_eq!(d.status.current_step_index, Some(2));
    assert_eq!(d.canary_weight, 25);
    sim.bad.clear();
    let d = sim.settle();
    assert_eq!(d.canary_weight, 50);
}

#[test]
fn status_does_not_change_with_time_alone() {
    // Paused at a pause step and Healthy: later reconciles with the same observations decide the same status,
    // so the controller writes nothing (a changing timestamp would make every reconcile write and trigger the
    // next one).
    let mut sim = Sim::new(seed("canary/canary-rollout.yaml"));
    let d = sim.settle();
    sim.advance(7);
    assert_eq!(
        sim.step().status,
        d.status,
        "Healthy status changed with time alone"
    );
    set_image(&mut sim.rollout, "myapp:v2");
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    sim.advance(5);
    assert_eq!(
        sim.step().status,
        d.status,
        "Paused status changed with time alone"
    );
    sim.advance(60);
    assert_eq!(sim.step().status, d.status);
}

#[test]
fn analysis_dry_run_and_measurement_retention_go_to_the_run() {
    let mut r: Rollout = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
            "strategy": {"canary": {
                "analysis": {"templates": [{"templateName": "bg"}],
                             "dryRun": [{"metricName": "latency"}],
                             "measurementRetention": [{"metricName": "*", "limit": 3}]},
                "steps": [{"setWeight": 50},
                          {"analysis": {"templates": [{"templateName": "step"}],
                                        "dryRun": [{"metricName": "errors"}],
                                        "measurementRetention": [{"metricName": "errors", "limit": 7}]}}]}}}
    }))
    .expect("rollout");
    set_image(&mut r, "web:1");
    let mut sim = Sim::new(r);
    sim.settle();
    set_image(&mut sim.rollout, "web:2");
    let mut seen = Vec::new();
    for _ in 0..5 {
        let d = sim.step();
        for a in d.actions {
            if let Action::CreateAnalysisRun { kind, analysis, .. } = a {
                let dry: Vec<String> = analysis.dry_run.into_iter().map(|d| d.metric_name).collect();
                let keep: Vec<(String, i32)> = analysis
                    .measurement_retention
                    .into_iter()
                    .map(|m| (m.metric_name, m.limit))
                    .collect();
                seen.push((kind, dry, keep));
            }
        }
    }
    assert!(
        seen.contains(&(
            AnalysisKind::Background,
            vec!["latency".into()],
            vec![("*".into(), 3)]
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            AnalysisKind::Step(1),
            vec!["errors".into()],
            vec![("errors".into(), 7)]
        )),
        "{seen:?}"
    );
}

fn canary_rollout(replicas: i32, canary: serde_json::Value) -> Rollout {
    serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas,
                 "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
                 "strategy": {"canary": canary}}
    }))
    .expect("rollout")
}

/// Argo's `CalculateReplicaCountsForBasicCanary`: both sides rounded up, so 1 replica at 25 % runs one
/// stable and one canary pod.
#[test]
fn basic_canary_with_one_replica_rounds_both_sides_up() {
    let mut sim = Sim::new(canary_rollout(
        1,
        json!({"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]}),
    ));
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (1, 1));
    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.status.current_step_index, Some(3));
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (1, 1));
}

/// Scaled 8 → 4 while paused at 50 % with maxSurge 2: never more pods than before, ends at 2 + 2.
#[test]
fn basic_canary_scaled_down_during_the_update() {
    let mut sim = Sim::new(canary_rollout(
        8,
        json!({"maxSurge": 2, "maxUnavailable": 0, "steps": [{"setWeight": 50}, {"pause": {}}]}),
    ));
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let new = sim.settle().pod_template_hash;
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (4, 4));
    sim.rollout.spec.replicas = Some(4);
    for _ in 0..10 {
        sim.step();
        let total: i32 = sim.rss.iter().map(|r| r.replicas).sum();
        assert!(total <= 8, "{:?}", sim.rss);
    }
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (2, 2));
}

/// With the revision known (the controller annotates the Rollout), run names carry it, as Argo's do.
#[test]
fn analysis_run_names_carry_the_revision() {
    let mut r = canary_rollout(
        2,
        json!({"steps": [{"setWeight": 50}, {"analysis": {"templates": [{"templateName": "t"}]}}],
               "analysis": {"templates": [{"templateName": "bg"}]}}),
    );
    r.metadata["annotations"] = json!({tack_rollout::REVISION_ANNOTATION: "3"});
    let mut sim = Sim::new(r);
    sim.settle();
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let names: Vec<String> = d
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateAnalysisRun { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let h = &d.pod_template_hash;
    assert!(names.contains(&format!("web-{h}-3-1")), "{names:?}");
    assert!(names.contains(&format!("web-{h}-3")), "{names:?}");
}

/// Blue/green fast rollback: back to the ReplicaSet within its scale-down delay, the active Service switches
/// at once, no promotion pause.
#[test]
fn bluegreen_fast_rollback_switches_at_once() {
    let r: Rollout = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2,
                 "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
                 "strategy": {"blueGreen": {"activeService": "a", "previewService": "p",
                                            "autoPromotionEnabled": false, "scaleDownDelaySeconds": 120}}}
    }))
    .expect("rollout");
    let mut sim = Sim::new(r);
    let v1 = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    let v2 = d.pod_template_hash.clone();
    assert_eq!(d.status.stable_rs.as_deref(), Some(v2.as_str()));
    assert_eq!(sim.replicas(&v1), 2, "v1 waits for its scale-down delay");
    set_image(&mut sim.rollout, "web:1");
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
    assert_eq!(d.status.blue_green.active_selector.as_deref(), Some(v1.as_str()));
    assert_eq!(d.status.stable_rs.as_deref(), Some(v1.as_str()));
}

/// Argo's conditions through an update: Paused while paused, Healthy and Completed once done.
#[test]
fn conditions_follow_the_update() {
    let cond = |d: &Decision, t: &str| {
        d.status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
    };
    let mut sim = Sim::new(canary_rollout(
        2,
        json!({"steps": [{"setWeight": 50}, {"pause": {}}]}),
    ));
    let d = sim.settle();
    assert_eq!(
        cond(&d, "Healthy"),
        Some(("True".into(), "RolloutHealthy".into()))
    );
    assert_eq!(cond(&d, "Completed").map(|c| c.0), Some("True".into()));
    assert_eq!(cond(&d, "Available").map(|c| c.0), Some("True".into()));
    assert_eq!(
        cond(&d, "Progressing"),
        Some(("True".into(), "NewReplicaSetAvailable".into()))
    );
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    assert_eq!(cond(&d, "Paused").map(|c| c.0), Some("True".into()));
    assert_eq!(cond(&d, "Healthy").map(|c| c.0), Some("False".into()));
    assert_eq!(cond(&d, "Completed").map(|c| c.0), Some("False".into()));
    assert_eq!(
        cond(&d, "Progressing"),
        Some(("Unknown".into(), "RolloutPaused".into()))
    );
    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(
        cond(&d, "Paused"),
        Some(("False".into(), "RolloutResumed".into()))
    );
    assert_eq!(cond(&d, "Healthy").map(|c| c.0), Some("True".into()));
}

fn with_experiment_step() -> Rollout {
    let mut r = seed("canary/canary-rollout.yaml");
    r.metadata = json!({"name": "web"});
    set_image(&mut r, "myapp:v1");
    let c = r.spec.strategy.canary.as_mut().expect("canary");
    c.steps = serde_json::from_value(json!([
        {"setWeight": 25},
        {"experiment": {"duration": "1m", "templates": [{"name": "baseline", "specRef": "stable"},
                                                       {"name": "canary", "specRef": "canary"}]}},
        {"setWeight": 50},
        {"pause": {}}
    ]))
    .expect("steps");
    r
}

fn set_experiment(sim: &mut Sim, name: &str, phase: AnalysisPhase, message: Option<&str>) {
    sim.experiments.retain(|e| e.name != name);
    sim.experiments.push(ExperimentObservation {
        name: name.to_string(),
        phase: Some(phase),
        message: message.map(str::to_string),
    });
}

#[test]
fn experiment_step_gates_the_update_until_the_experiment_succeeds() {
    let mut sim = Sim::new(with_experiment_step());
    sim.settle();
    set_image(&mut sim.rollout, "myapp:new-version");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    let name = format!("web-{new}-1");
    assert_eq!(
        d.status.current_step_index,
        Some(1),
        "waits at the experiment step"
    );
    assert_eq!(d.status.canary.current_experiment.as_deref(), Some(name.as_str()));
    let created = d.actions.iter().find_map(|a| match a {
        Action::CreateExperiment {
            name,
            step_index,
            step,
            ..
        } => Some((name.clone(), *step_index, step.templates.len())),
        _ => None,
    });
    assert_eq!(created, Some((name.clone(), 1, 2)));
    assert_eq!(d.status.phase.as_deref(), Some("Progressing"));

    set_experiment(&mut sim, &name, AnalysisPhase::Running, None);
    sim.advance(30);
    let d = sim.settle();
    assert_eq!(d.status.current_step_index, Some(1));
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, Action::CreateExperiment { .. }))
    );

    set_experiment(&mut sim, &name, AnalysisPhase::Successful, None);
    let d = sim.settle();
    assert_eq!(
        d.status.current_step_index,
        Some(3),
        "past the experiment and setWeight 50, paused"
    );
    assert_eq!(d.status.canary.current_experiment, None);
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
}

#[test]
fn failed_experiment_aborts_and_a_new_template_terminates_a_running_one() {
    let mut sim = Sim::new(with_experiment_step());
    sim.settle();
    set_image(&mut sim.rollout, "myapp:new-version");
    let new = sim.settle().pod_template_hash.clone();
    let name = format!("web-{new}-1");
    set_experiment(
        &mut sim,
        &name,
        AnalysisPhase::Failed,
        Some("metric \"errors\" assessed Failed"),
    );
    let d = sim.step();
    assert!(d.status.abort);
    assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
    assert_eq!(
        d.status.message.as_deref(),
        Some(
            format!("RolloutAborted: Experiment {name:?} Failed: metric \"errors\" assessed Failed").as_str()
        )
    );
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, Action::TerminateExperiment { .. })),
        "an ended Experiment is not terminated again"
    );
    assert_eq!(sim.settle().canary_weight, 0);

    // A running Experiment of a superseded template is terminated.
    set_image(&mut sim.rollout, "myapp:v3");
    let d = sim.settle();
    let v3 = format!("web-{}-1", d.pod_template_hash);
    set_experiment(&mut sim, &v3, AnalysisPhase::Running, None);
    sim.settle();
    set_image(&mut sim.rollout, "myapp:v4");
    let d = sim.step();
    assert!(
        d.actions
            .iter()
            .any(|a| matches!(a, Action::TerminateExperiment { name } if *name == v3)),
        "{:?}",
        d.actions
    );
}

#[test]
fn inconclusive_experiment_pauses_until_promoted() {
    let mut sim = Sim::new(with_experiment_step());
    sim.settle();
    set_image(&mut sim.rollout, "myapp:new-version");
    let new = sim.settle().pod_template_hash.clone();
    set_experiment(
        &mut sim,
        &format!("web-{new}-1"),
        AnalysisPhase::Inconclusive,
        None,
    );
    let d = sim.settle();
    assert_eq!(d.status.phase.as_deref(), Some("Paused"));
    assert_eq!(d.status.pause_conditions[0].reason, "InconclusiveExperiment");
    commands::promote(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(d.status.current_step_index, Some(3));
}

fn routed(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"canaryService": "web-canary", "stableService": "web-stable",
                       "trafficRouting": {"nginx": {"stableIngress": "web"}}});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
}

/// Argo's `CheckMinPodsPerReplicaSet`: with traffic routing a canary that has pods has at least
/// `minPodsPerReplicaSet`; `setCanaryScale.replicas` is taken as written.
#[test]
fn min_pods_per_replica_set_raises_the_canary_with_traffic_routing() {
    let r = canary_rollout(
        10,
        routed(json!({"minPodsPerReplicaSet": 2, "steps": [
            {"setWeight": 5}, {"pause": {}}, {"setCanaryScale": {"replicas": 1}}, {"pause": {}},
            {"setCanaryScale": {"weight": 30}}, {"pause": {}},
            {"setCanaryScale": {"weight": 5}}, {"pause": {}}]})),
    );
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    let new = d.pod_template_hash.clone();
    assert_eq!(d.canary_weight, 5);
    assert_eq!(
        sim.replicas(&new),
        2,
        "ceil(5 % of 10) = 1, raised to minPodsPerReplicaSet"
    );
    assert_eq!(sim.replicas(&old), 10, "stable keeps every replica");
    commands::promote(&mut sim.rollout);
    sim.settle();
    assert_eq!(sim.replicas(&new), 1, "setCanaryScale replicas as written");
    commands::promote(&mut sim.rollout);
    sim.settle();
    assert_eq!(sim.replicas(&new), 3, "setCanaryScale weight 30 % of 10");
    commands::promote(&mut sim.rollout);
    sim.settle();
    assert_eq!(
        sim.replicas(&new),
        2,
        "setCanaryScale weight 5 % of 10 raised to the minimum"
    );

    // Without traffic routing the field has no effect (as in Argo): 5 % of 10 is one canary pod.
    let basic = canary_rollout(
        10,
        json!({"minPodsPerReplicaSet": 2, "steps": [{"setWeight": 5}, {"pause": {}}]}),
    );
    let mut sim = Sim::new(basic);
    sim.settle();
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    assert_eq!(sim.replicas(&d.pod_template_hash), 1);
}

/// `dynamicStableScale`: the stable shrinks only after traffic left it; on abort it is scaled back up first and
/// traffic returns as its pods become available, the canary keeping its pods until then.
#[test]
fn dynamic_stable_scale_follows_the_router_weight_and_aborts_safely() {
    let r = canary_rollout(
        4,
        routed(json!({"dynamicStableScale": true, "minPodsPerReplicaSet": 1,
                      "steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 75}, {"pause": {}}]})),
    );
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    // First reconcile: the canary is created; the stable keeps all pods while it has all the traffic.
    let d = sim.step();
    let new = d.pod_template_hash.clone();
    assert_eq!(d.canary_weight, 0);
    assert_eq!(sim.replicas(&old), 4);
    let d = sim.settle();
    assert_eq!(d.canary_weight, 25);
    assert_eq!(
        (sim.replicas(&new), sim.replicas(&old)),
        (1, 3),
        "stable at 75 % once traffic moved"
    );

    commands::promote(&mut sim.rollout);
    let d = sim.step();
    assert_eq!(d.canary_weight, 25, "traffic waits for the canary pods");
    assert_eq!(
        sim.replicas(&old),
        3,
        "stable keeps the pods for the traffic it still has"
    );
    let d = sim.settle();
    assert_eq!(d.canary_weight, 75);
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (3, 1));

    // Abort: the stable is scaled back up before traffic shifts back.
    commands::abort(&mut sim.rollout);
    let d = sim.step();
    assert_eq!(
        d.canary_weight, 75,
        "stable has 1 of 4 pods available: traffic stays"
    );
    assert_eq!(sim.replicas(&old), 4, "stable scaled back up at once");
    assert_eq!(sim.replicas(&new), 3, "canary keeps the pods for its traffic");
    assert!(d.services.contains(&("web-canary".into(), new.clone())));
    let d = sim.step();
    assert_eq!(d.canary_weight, 0, "stable available again: all traffic back");
    let d = sim.settle();
    assert_eq!(d.canary_weight, 0);
    assert!(d.services.contains(&("web-canary".into(), old.clone())));
    assert_eq!(
        sim.replicas(&new),
        3,
        "canary waits for abortScaleDownDelaySeconds"
    );
    sim.advance(30);
    sim.settle();
    assert_eq!((sim.replicas(&new), sim.replicas(&old)), (0, 4));
}

/// `dynamicStableScale` with a full promotion: traffic moves with the canary's available share.
#[test]
fn dynamic_stable_scale_full_promotion_moves_traffic_with_the_canary_pods() {
    let r = canary_rollout(
        4,
        routed(json!({"dynamicStableScale": true, "steps": [{"setWeight": 25}, {"pause": {}}]})),
    );
    let mut sim = Sim::new(r);
    let old = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let new = sim.settle().pod_template_hash;
    let bad = new.clone();
    sim.bad.insert(bad);
    commands::promote_full(&mut sim.rollout);
    let d = sim.settle();
    assert_eq!(sim.replicas(&new), 4);
    assert_eq!(
        d.canary_weight, 0,
        "no canary pod available beyond the first: 100 × 0 / 4"
    );
    assert_eq!(
        sim.replicas(&old),
        4,
        "stable keeps its pods while it has the traffic"
    );
    sim.bad.clear();
    let d = sim.settle();
    assert_eq!(d.status.stable_rs.as_deref(), Some(new.as_str()));
}

/// `scaleDownDelayRevisionLimit`: at most that many old ReplicaSets wait for their scale-down delay, newest
/// revision first; the others are scaled down at once.
#[test]
fn scale_down_delay_revision_limit_keeps_only_the_newest_old_replica_sets() {
    for (limit, v1_kept) in [(None, 4), (Some(1), 0)] {
        let mut extra = json!({"scaleDownDelaySeconds": 100, "steps": []});
        if let Some(l) = limit {
            extra["scaleDownDelayRevisionLimit"] = json!(l);
        }
        let mut sim = Sim::new(canary_rollout(4, routed(extra)));
        let v1 = sim.settle().pod_template_hash;
        set_image(&mut sim.rollout, "web:2");
        let v2 = sim.settle().pod_template_hash;
        assert_eq!(sim.replicas(&v1), 4, "v1 waits for its delay");
        set_image(&mut sim.rollout, "web:3");
        let d = sim.settle();
        assert_eq!(d.status.stable_rs.as_deref(), Some(d.pod_template_hash.as_str()));
        assert_eq!(
            sim.replicas(&v2),
            4,
            "the newest old ReplicaSet waits for its delay ({limit:?})"
        );
        assert_eq!(sim.replicas(&v1), v1_kept, "limit {limit:?}");
        sim.advance(100);
        sim.settle();
        assert_eq!((sim.replicas(&v1), sim.replicas(&v2)), (0, 0));
    }
    // Blue/green, limit 0: the previous active is scaled down at once after the switch.
    let r: Rollout = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
                 "strategy": {"blueGreen": {"activeService": "a", "scaleDownDelayRevisionLimit": 0}}}
    }))
    .expect("rollout");
    let mut sim = Sim::new(r);
    let v1 = sim.settle().pod_template_hash;
    set_image(&mut sim.rollout, "web:2");
    let d = sim.settle();
    assert_eq!(d.status.stable_rs.as_deref(), Some(d.pod_template_hash.as_str()));
    assert_eq!(sim.replicas(&v1), 0);
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, Action::SetScaleDownDeadline { .. }))
    );
}

fn with_rollback_window(revisions: Option<i32>) -> Rollout {
    let mut r = canary_rollout(
        4,
        json!({"steps": [{"setWeight": 25}, {"pause": {}},
                         {"analysis": {"templates": [{"templateName": "t"}]}}]}),
    );
    if let Some(n) = revisions {
        r.spec.rollback_window = Some(tack_rollout::spec::RollbackWindow { revisions: Some(n) });
    }
    r
}

/// `rollbackWindow`: going back to one of the last N revisions skips the steps and analyses.
#[test]
fn rollback_within_the_window_skips_the_steps() {
    for (revisions, skipped) in [(None, false), (Some(2), true), (Some(1), false)] {
        let mut sim = Sim::new(with_rollback_window(revisions));
        let v1 = sim.settle().pod_template_hash;
        for image in ["web:2", "web:3"] {
            set_image(&mut sim.rollout, image);
            sim.settle();
            commands::promote_full(&mut sim.rollout);
            let d = sim.settle();
            assert_eq!(d.status.phase.as_deref(), Some("Healthy"), "{image}");
        }
        // Back to web:1: one ReplicaSet (web:2) between it and the stable (web:3).
        set_image(&mut sim.rollout, "web:1");
        let d = sim.settle();
        assert_eq!(d.pod_template_hash, v1);
        let created_run = d
            .actions
            .iter()
            .any(|a| matches!(a, Action::CreateAnalysisRun { .. }));
        assert!(!created_run);
        if skipped {
            assert_eq!(d.status.phase.as_deref(), Some("Healthy"), "window {revisions:?}");
            assert_eq!(d.status.stable_rs.as_deref(), Some(v1.as_str()));
            assert_eq!(sim.replicas(&v1), 4);
        } else {
            assert_eq!(d.status.phase.as_deref(), Some("Paused"), "window {revisions:?}");
            assert_eq!(d.status.current_step_index, Some(1));
        }
    }
}

/// `rollbackWindow` with blue/green: a rollback promotes at once, without pre-promotion analysis or pause.
#[test]
fn bluegreen_rollback_within_the_window_promotes_at_once() {
    for (window, waits) in [(false, true), (true, false)] {
        let mut r: Rollout = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
                     "strategy": {"blueGreen": {"activeService": "a", "autoPromotionEnabled": false}}}
        }))
        .expect("rollout");
        if window {
            r.spec.rollback_window = Some(tack_rollout::spec::RollbackWindow { revisions: Some(3) });
        }
        let mut sim = Sim::new(r);
        let v1 = sim.settle().pod_template_hash;
        set_image(&mut sim.rollout, "web:2");
        sim.settle();
        commands::promote_full(&mut sim.rollout);
        sim.settle();
        sim.advance(60);
        sim.settle();
        assert_eq!(
            sim.replicas(&v1),
            0,
            "past the scale-down delay: no fast rollback"
        );
        // From now on a pre-promotion analysis gates every update (the simulation never completes runs).
        if let Some(bg) = sim.rollout.spec.strategy.blue_green.as_mut() {
            bg.pre_promotion_analysis = Some(
                serde_json::from_value(json!({"templates": [{"templateName": "t"}]})).expect("analysis"),
            );
        }
        set_image(&mut sim.rollout, "web:1");
        let d = sim.settle();
        let promoted = d.status.blue_green.active_selector.as_deref() == Some(v1.as_str());
        assert_eq!(promoted, !waits, "window {window}");
        if window {
            assert_eq!(d.status.blue_green.active_selector.as_deref(), Some(v1.as_str()));
            assert_eq!(d.status.stable_rs.as_deref(), Some(v1.as_str()));
            assert!(
                !d.actions
                    .iter()
                    .any(|a| matches!(a, Action::CreateAnalysisRun { .. }))
            );
        }
    }
}

/// A canary of 1 000 steps (weights 1–100 % over and over) runs through every step to the end in bounded time
/// (measured in a debug build: 228 reconciles in 12 s, about 55 ms each; 250 steps: 13 ms each — a reconcile
/// costs more than linearly in the number of steps, see docs/reliability.md).
#[test]
fn a_thousand_steps_run_to_the_end_in_bounded_time() {
    let n: usize = 1000;
    let steps: Vec<_> = (0..n).map(|i| json!({"setWeight": i % 100 + 1})).collect();
    let mut r: Rollout = serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "long"},
        "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "long"}},
            "template": {"metadata": {"labels": {"app": "long"}},
                "spec": {"containers": [{"name": "long", "image": "long:1"}]}},
            "strategy": {"canary": {"steps": steps}}},
    }))
    .expect("rollout");
    let mut sim = Sim::new(r.clone());
    sim.settle();
    set_image(&mut r, "long:2");
    r.status = sim.rollout.status.clone();
    sim.rollout = r;
    let started = std::time::Instant::now();
    let mut reconciles = 0;
    loop {
        sim.step();
        reconciles += 1;
        let s = sim.rollout.status.clone().expect("status");
        if s.stable_rs.is_some() && s.stable_rs == s.current_pod_hash {
            assert_eq!(s.current_step_index, Some(i32::try_from(n).expect("n")), "{s:#?}");
            break;
        }
        assert!(
            reconciles < 5000,
            "not at the end after {reconciles} reconciles: {s:#?}"
        );
    }
    let took = started.elapsed();
    eprintln!("1 000 steps: {reconciles} reconciles in {took:?}");
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
}
