//! Properties of the state machines over random Rollouts, statuses and observations.

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;
use tack_rollout::spec::{IntOrString, PauseCondition, Rollout, RolloutStatus};
use tack_rollout::{
    AnalysisKind, AnalysisObservation, AnalysisPhase, Observed, ReplicaSetObservation, Role, reconcile,
};

#[derive(Debug, Clone)]
struct Case {
    rollout: Rollout,
    observed: Observed,
    surge: i32,
}

fn step_strategy() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (0..=100i32).prop_map(|w| json!({"setWeight": w})),
        Just(json!({"pause": {}})),
        (0..3600i64).prop_map(|d| json!({"pause": {"duration": d}})),
        (0..6i32).prop_map(|r| json!({"setCanaryScale": {"replicas": r}})),
        Just(json!({"analysis": {"templates": [{"templateName": "t"}]}})),
    ]
}

fn phase_strategy() -> impl Strategy<Value = AnalysisPhase> {
    prop_oneof![
        Just(AnalysisPhase::Running),
        Just(AnalysisPhase::Successful),
        Just(AnalysisPhase::Failed),
        Just(AnalysisPhase::Inconclusive),
    ]
}

prop_compose! {
    fn case()(
        replicas in 1..12i32,
        steps in prop::collection::vec(step_strategy(), 0..6),
        routed in any::<bool>(),
        surge in 0..4i64,
        unavailable in 0..4i64,
        pct in any::<bool>(),
        index in 0..7i32,
        abort in any::<bool>(),
        promote_full in any::<bool>(),
        paused in any::<bool>(),
        pause_started in prop::option::of(0..4000i64),
        controller_pause in any::<bool>(),
        same_hash in any::<bool>(),
        stable in prop::option::of((0..14i32, 0..14i32)),
        canary in prop::option::of((0..14i32, 0..14i32)),
        run in prop::option::of((0..6usize, phase_strategy())),
        background in prop::option::of((phase_strategy(), 0..3i32, any::<bool>())),
        now in 0..10_000i64,
        deadline in prop::option::of(1..3000i32),
        deadline_abort in any::<bool>(),
    ) -> Case {
        let (ms, mu) = if pct {
            (json!(format!("{}%", surge * 25)), json!(format!("{}%", unavailable * 25)))
        } else {
            (json!(surge), json!(unavailable))
        };
        let mut canary_spec = json!({"steps": steps, "maxSurge": ms, "maxUnavailable": mu,
            "canaryService": "c", "stableService": "s"});
        if routed {
            canary_spec["trafficRouting"] = json!({"nginx": {"stableIngress": "web"}});
        }
        if let Some((_, start, _)) = background {
            canary_spec["analysis"] = json!({"templates": [{"templateName": "bg"}], "startingStep": start});
        }
        let mut rollout: Rollout = serde_json::from_value(json!({
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}},
                     "paused": paused, "progressDeadlineSeconds": deadline, "progressDeadlineAbort": deadline_abort,
                     "strategy": {"canary": canary_spec}}
        })).expect("rollout");
        let hash = tack_rollout::pod_template_hash(rollout.spec.template.as_ref().expect("template"));
        let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).expect("time");
        rollout.status = Some(RolloutStatus {
            stable_rs: Some("stablehash".into()),
            current_pod_hash: if same_hash { Some(hash.clone()) } else { None },
            current_step_index: Some(index),
            abort,
            promote_full,
            controller_pause,
            pause_conditions: pause_started
                .map(|s| vec![PauseCondition { reason: "CanaryPauseStep".into(), start_time: Some(t(s)) }])
                .unwrap_or_default(),
            ..RolloutStatus::default()
        });
        let mut replica_sets = Vec::new();
        if let Some((r, a)) = stable {
            replica_sets.push(ReplicaSetObservation {
                pod_template_hash: "stablehash".into(), replicas: r, ready: a.min(r), available: a.min(r),
                scale_down_deadline: None, failed_pods: vec![], revision: None, created_at: None,
            });
        }
        if let Some((r, a)) = canary {
            replica_sets.push(ReplicaSetObservation {
                pod_template_hash: hash.clone(), replicas: r, ready: a.min(r), available: a.min(r),
                scale_down_deadline: None, failed_pods: vec![], revision: None, created_at: None,
            });
        }
        let mut analysis_runs: Vec<AnalysisObservation> = run
            .map(|(i, phase)| vec![AnalysisObservation {
                kind: AnalysisKind::Step(i), pod_template_hash: hash.clone(), name: "run".into(), phase,
                message: None, created_at: t(0),
            }])
            .unwrap_or_default();
        if let Some((phase, _, accepted)) = background {
            analysis_runs.push(AnalysisObservation {
                kind: AnalysisKind::Background, pod_template_hash: hash.clone(), name: "bg".into(), phase,
                message: None, created_at: t(0),
            });
            if accepted && let Some(st) = rollout.status.as_mut() {
                st.canary.current_background_analysis_run_status = Some(tack_rollout::spec::AnalysisRunStatusRef {
                    name: "bg".into(), status: "Inconclusive".into(),
                    message: Some("Inconclusive result accepted by promote".into()),
                });
            }
        }
        let (s, _) = tack_rollout::resolve_fenceposts(
            Some(&if pct { IntOrString::String(format!("{}%", surge * 25)) } else { IntOrString::Int(surge) }),
            Some(&if pct { IntOrString::String(format!("{}%", unavailable * 25)) } else { IntOrString::Int(unavailable) }),
            replicas,
        ).expect("fenceposts");
        Case { rollout, observed: Observed { replica_sets, analysis_runs, experiments: vec![], now: t(now) }, surge: s }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn weights_always_sum_to_100(c in case()) {
        let d = reconcile(&c.rollout, &c.observed).expect("reconcile");
        prop_assert_eq!(d.canary_weight + d.stable_weight, 100);
        prop_assert!((0..=100).contains(&d.canary_weight));
        if let Some(w) = &d.status.canary.weights {
            prop_assert_eq!(w.canary.weight + w.stable.weight, 100);
        }
    }

    #[test]
    fn basic_canary_never_exceeds_replicas_plus_surge(mut c in case()) {
        if let Some(canary) = c.rollout.spec.strategy.canary.as_mut() {
            canary.traffic_routing = None;
        }
        let replicas = c.rollout.spec.replicas.unwrap_or(1);
        // Start from a state within the bound (shrink the observed ReplicaSets until it holds).
        while c.observed.replica_sets.iter().map(|r| r.replicas).sum::<i32>() > replicas + c.surge {
            if let Some(r) = c.observed.replica_sets.iter_mut().max_by_key(|r| r.replicas) {
                r.replicas -= 1;
                r.ready = r.ready.min(r.replicas);
                r.available = r.available.min(r.replicas);
            }
        }
        let d = reconcile(&c.rollout, &c.observed).expect("reconcile");
        let total: i32 = d.replica_sets.iter().map(|r| r.replicas).sum();
        // As Argo Rollouts: one more pod when canary and stable are both rounded up.
        let extra = rounding_extra(&c.rollout, &d, replicas);
        prop_assert!(total <= replicas + c.surge + extra, "total {} > {} + {}: {:?}", total, replicas, c.surge, d.replica_sets);
        prop_assert!(d.replica_sets.iter().all(|r| r.replicas >= 0));
    }

    #[test]
    fn abort_always_yields_100_percent_stable(mut c in case()) {
        if let Some(st) = c.rollout.status.as_mut() {
            st.abort = true;
            st.current_pod_hash = Some(tack_rollout::pod_template_hash(
                c.rollout.spec.template.as_ref().expect("template")));
        }
        let d = reconcile(&c.rollout, &c.observed).expect("reconcile");
        prop_assert_eq!(d.canary_weight, 0);
        prop_assert_eq!(d.stable_weight, 100);
        prop_assert_eq!(d.status.phase.as_deref(), Some("Degraded"));
        let stable = d.replica_sets.iter().find(|r| r.role == Role::Stable).expect("stable set");
        prop_assert_eq!(stable.pod_template_hash.as_str(), "stablehash");
        prop_assert!(d.services.iter().all(|(_, h)| h == "stablehash"));
    }

    #[test]
    fn reconcile_is_idempotent(c in case()) {
        let a = reconcile(&c.rollout, &c.observed).expect("reconcile");
        let b = reconcile(&c.rollout, &c.observed).expect("reconcile");
        prop_assert_eq!(&a, &b);
        // Writing the decided status and reconciling again with the same observations changes nothing more.
        let mut again = c.rollout.clone();
        again.status = Some(a.status.clone());
        let d = reconcile(&again, &c.observed).expect("reconcile");
        prop_assert_eq!(&d.status, &a.status);
        prop_assert_eq!(&d.replica_sets, &a.replica_sets);
        prop_assert_eq!(d.canary_weight, a.canary_weight);
    }
}

prop_compose! {
    fn bg_case()(
        replicas in 1..8i32,
        preview in prop::option::of(0..8i32),
        auto in prop::option::of(any::<bool>()),
        auto_secs in prop::option::of(0..120i32),
        abort in any::<bool>(),
        switched in any::<bool>(),
        controller_pause in any::<bool>(),
        pause_started in prop::option::of(0..200i64),
        stable in prop::option::of((0..10i32, 0..10i32, prop::option::of(0..300i64))),
        new in prop::option::of((0..10i32, 0..10i32)),
        pre in prop::option::of(phase_strategy()),
        post in prop::option::of(phase_strategy()),
        now in 0..400i64,
    ) -> (Rollout, Observed) {
        let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).expect("time");
        let mut rollout: Rollout = serde_json::from_value(json!({
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "a", "image": "a:2"}]}},
                     "strategy": {"blueGreen": {"activeService": "active", "previewService": "preview",
                        "previewReplicaCount": preview, "autoPromotionEnabled": auto, "autoPromotionSeconds": auto_secs,
                        "prePromotionAnalysis": {"templates": [{"templateName": "pre"}]},
                        "postPromotionAnalysis": {"templates": [{"templateName": "post"}]}}}}
        })).expect("rollout");
        let hash = tack_rollout::pod_template_hash(rollout.spec.template.as_ref().expect("template"));
        let mut st = RolloutStatus {
            stable_rs: Some("stablehash".into()),
            current_pod_hash: Some(hash.clone()),
            abort,
            controller_pause,
            pause_conditions: pause_started
                .map(|s| vec![PauseCondition { reason: "BlueGreenPause".into(), start_time: Some(t(s)) }])
                .unwrap_or_default(),
            ..RolloutStatus::default()
        };
        st.blue_green.active_selector = Some(if switched { hash.clone() } else { "stablehash".into() });
        rollout.status = Some(st);
        let mut replica_sets = Vec::new();
        if let Some((r, a, dl)) = stable {
            replica_sets.push(ReplicaSetObservation {
                pod_template_hash: "stablehash".into(), replicas: r, ready: a.min(r), available: a.min(r),
                scale_down_deadline: dl.map(t), failed_pods: vec![], revision: None, created_at: None,
            });
        }
        if let Some((r, a)) = new {
            replica_sets.push(ReplicaSetObservation {
                pod_template_hash: hash.clone(), replicas: r, ready: a.min(r), available: a.min(r),
                scale_down_deadline: None, failed_pods: vec![], revision: None, created_at: None,
            });
        }
        let mut analysis_runs = Vec::new();
        for (kind, phase) in [(AnalysisKind::PrePromotion, pre), (AnalysisKind::PostPromotion, post)] {
            if let Some(phase) = phase {
                analysis_runs.push(AnalysisObservation {
                    kind, pod_template_hash: hash.clone(), name: format!("{kind:?}"), phase, message: None,
                    created_at: t(0),
                });
            }
        }
        (rollout, Observed { replica_sets, analysis_runs, experiments: vec![], now: t(now) })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn blue_green_is_idempotent_and_abort_keeps_the_old_active((rollout, observed) in bg_case()) {
        let a = reconcile(&rollout, &observed).expect("reconcile");
        prop_assert_eq!(a.canary_weight + a.stable_weight, 100);
        let mut again = rollout.clone();
        again.status = Some(a.status.clone());
        let d = reconcile(&again, &observed).expect("reconcile");
        prop_assert_eq!(&d.status, &a.status);
        prop_assert_eq!(&d.replica_sets, &a.replica_sets);
        if a.status.abort {
            prop_assert_eq!(a.status.blue_green.active_selector.as_deref(), Some("stablehash"));
            prop_assert!(a.services.iter().any(|(n, h)| n == "active" && h == "stablehash"));
            prop_assert_eq!(a.stable_weight, 100);
        }
        let stable = a.replica_sets.iter().find(|r| r.role == Role::Stable).expect("stable");
        prop_assert_eq!(stable.replicas, rollout.spec.replicas.unwrap_or(1));
    }
}

/// 1 when the weight of the decided step (or of the step before, whose pods may still run) does not split
/// `replicas` evenly (Argo rounds both sides up and allows one pod more than `replicas + maxSurge`), else 0.
fn rounding_extra(rollout: &Rollout, d: &tack_rollout::Decision, replicas: i32) -> i32 {
    let Some(c) = rollout.spec.strategy.canary.as_ref() else {
        return 0;
    };
    let idx = usize::try_from(d.status.current_step_index.unwrap_or(0)).unwrap_or(0);
    let uneven = |i: usize| (replicas * tack_rollout::canary::weight_at(&c.steps, i)) % 100 != 0;
    i32::from(uneven(idx) || idx.checked_sub(1).is_some_and(uneven))
}

/// Applies decisions to a simulated cluster: ReplicaSets take the decided sizes at once; their pods become
/// available at once unless the hash is bad.
fn apply(rss: &mut Vec<ReplicaSetObservation>, d: &tack_rollout::Decision, bad: Option<&str>) {
    for want in &d.replica_sets {
        let up = if bad == Some(want.pod_template_hash.as_str()) {
            0
        } else {
            want.replicas
        };
        match rss
            .iter_mut()
            .find(|r| r.pod_template_hash == want.pod_template_hash)
        {
            Some(r) => {
                r.replicas = want.replicas;
                r.ready = up;
                r.available = up;
            }
            None => rss.push(ReplicaSetObservation {
                pod_template_hash: want.pod_template_hash.clone(),
                replicas: want.replicas,
                ready: up,
                available: up,
                scale_down_deadline: None,
                failed_pods: vec![],
                revision: None,
                created_at: None,
            }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A whole basic canary update, promoted whenever it pauses: pods stay within replicas + maxSurge, available
    /// pods never drop below replicas − maxUnavailable, and a good canary always ends stable with every pod.
    #[test]
    fn basic_canary_update_keeps_availability_and_completes(
        replicas in 1..10i32,
        weights in prop::collection::vec(prop::option::of(0..=100i32), 0..5),
        surge in 0..3i64,
        unavailable in 0..3i64,
        bad in any::<bool>(),
    ) {
        let steps: Vec<serde_json::Value> = weights
            .iter()
            .map(|w| w.map_or(json!({"pause": {}}), |w| json!({"setWeight": w})))
            .collect();
        let mut rollout: Rollout = serde_json::from_value(json!({
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "a", "image": "a:1"}]}},
                     "strategy": {"canary": {"steps": steps, "maxSurge": surge, "maxUnavailable": unavailable}}}
        })).expect("rollout");
        let (max_surge, max_unavailable) = tack_rollout::resolve_fenceposts(
            Some(&IntOrString::Int(surge)), Some(&IntOrString::Int(unavailable)), replicas).expect("fenceposts");
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        let mut rss = Vec::new();
        for _ in 0..3 {
            let d = reconcile(&rollout, &Observed { replica_sets: rss.clone(), analysis_runs: vec![], experiments: vec![], now })
                .expect("reconcile");
            rollout.status = Some(d.status.clone());
            apply(&mut rss, &d, None);
        }
        rollout.spec.template = Some(json!({"spec": {"containers": [{"name": "a", "image": "a:2"}]}}));
        let new = tack_rollout::pod_template_hash(rollout.spec.template.as_ref().expect("template"));
        let bad_hash = bad.then_some(new.as_str());
        let mut last = None;
        for _ in 0..60 {
            let d = reconcile(&rollout, &Observed { replica_sets: rss.clone(), analysis_runs: vec![], experiments: vec![], now })
                .expect("reconcile");
            rollout.status = Some(d.status.clone());
            apply(&mut rss, &d, bad_hash);
            let total: i32 = rss.iter().map(|r| r.replicas).sum();
            let available: i32 = rss.iter().map(|r| r.available).sum();
            // As Argo Rollouts: one more pod when canary and stable are both rounded up.
            let extra = rounding_extra(&rollout, &d, replicas);
            prop_assert!(total <= replicas + max_surge + extra, "total {} > {} + {}", total, replicas, max_surge);
            prop_assert!(available >= replicas - max_unavailable,
                "available {} < {} - {}: {:?}", available, replicas, max_unavailable, rss);
            if d.status.phase.as_deref() == Some("Paused") {
                tack_rollout::commands::promote(&mut rollout);
            }
            last = Some(d);
        }
        let d = last.expect("reconciled");
        if !bad {
            prop_assert_eq!(d.status.stable_rs.as_deref(), Some(new.as_str()));
            prop_assert_eq!(d.status.phase.as_deref(), Some("Healthy"));
            for r in &rss {
                prop_assert_eq!(r.replicas, if r.pod_template_hash == new { replicas } else { 0 });
            }
        } else {
            prop_assert_ne!(d.status.stable_rs.as_deref(), Some(new.as_str()));
        }
    }
}
