//! What tack refuses in a Rollout spec, before anything is created or any traffic moves: fields Argo Rollouts
//! defines that tack does not implement, and combinations Argo itself rejects. A refused Rollout gets phase
//! `Degraded`, an `InvalidSpec` condition naming the field and a Warning Event; nothing is silently ignored.

use serde_json::Value;

use crate::spec::{CanaryStrategy, Rollout, RolloutExperimentStep, TrafficRouting};

/// The traffic router plugin tack implements.
const GATEWAY_API_PLUGIN: &str = "argoproj-labs/gatewayAPI";

/// The fields of the Gateway API plugin's config tack implements (`configMap`, where the plugin records its
/// managed rules, and `disableInProgressLabel` have nothing to do: tack records the rules in the HTTPRoute and
/// puts no in-progress label on it).
const GATEWAY_API_FIELDS: [&str; 6] = [
    "httpRoute",
    "httpRoutes",
    "namespace",
    "configMap",
    "disableInProgressLabel",
    "mirrorMode",
];

/// Why the spec is refused (the first reason), or `None` when tack can act on it.
pub fn invalid_spec(rollout: &Rollout) -> Option<String> {
    let spec = &rollout.spec;
    if spec.workload_ref.is_some() && spec.template.is_some() {
        return Some(
            "spec.template: template must be empty for workload ref rollout (set either template or workloadRef)"
                .into(),
        );
    }
    if let Some(c) = &spec.strategy.canary {
        if let Some(why) = canary_combinations(c).or_else(|| route_steps(c)) {
            return Some(why);
        }
        for (i, s) in c.steps.iter().enumerate() {
            let Some(e) = &s.experiment else { continue };
            if e.templates.is_empty() {
                return Some(format!(
                    "spec.strategy.canary.steps[{i}].experiment.templates: at least one template is required"
                ));
            }
            for (j, t) in e.templates.iter().enumerate() {
                if t.name.is_empty() || !matches!(t.spec_ref.as_str(), "canary" | "stable") {
                    return Some(format!(
                        "spec.strategy.canary.steps[{i}].experiment.templates[{j}]: name is required and specRef \
                         must be canary or stable (got {:?})",
                        t.spec_ref
                    ));
                }
            }
        }
    }
    if let Some(mode) = spec.workload_ref.as_ref().and_then(|w| w.scale_down.as_deref())
        && !matches!(
            mode,
            crate::workload::NEVER | crate::workload::ON_SUCCESS | crate::workload::PROGRESSIVELY
        )
    {
        return Some(format!(
            "spec.workloadRef.scaleDown: {mode:?} is not one of never, onsuccess, progressively"
        ));
    }
    let anti_affinity = [
        (
            "canary",
            spec.strategy
                .canary
                .as_ref()
                .and_then(|c| c.anti_affinity.as_ref()),
        ),
        (
            "blueGreen",
            spec.strategy
                .blue_green
                .as_ref()
                .and_then(|b| b.anti_affinity.as_ref()),
        ),
    ];
    for (strategy, a) in anti_affinity {
        if let Some(why) = a.and_then(crate::affinity::invalid) {
            return Some(format!("spec.strategy.{strategy}.antiAffinity: {why}"));
        }
    }
    unsupported(rollout).into_iter().next()
}

/// Combinations of canary fields Argo Rollouts rejects (its validation messages).
fn canary_combinations(c: &CanaryStrategy) -> Option<String> {
    let p = "spec.strategy.canary";
    if c.dynamic_stable_scale && c.traffic_routing.is_none() {
        return Some(format!(
            "{p}.dynamicStableScale: Canary dynamicStableScale can only be used with traffic routing"
        ));
    }
    if c.dynamic_stable_scale && c.scale_down_delay_seconds.is_some() {
        return Some(format!(
            "{p}.dynamicStableScale: Canary dynamicStableScale cannot be used with scaleDownDelaySeconds"
        ));
    }
    if c.min_pods_per_replica_set.is_some_and(|m| m < 1) {
        return Some(format!("{p}.minPodsPerReplicaSet: must be at least 1"));
    }
    if c.scale_down_delay_revision_limit.is_some_and(|l| l < 0) {
        return Some(format!("{p}.scaleDownDelayRevisionLimit: must not be negative"));
    }
    let dr = c
        .traffic_routing
        .as_ref()
        .and_then(|t| t.istio.as_ref())
        .and_then(|i| i.destination_rule.as_ref());
    if dr.is_some_and(|d| {
        d.name.is_empty() || d.canary_subset_name.is_empty() || d.stable_subset_name.is_empty()
    }) {
        return Some(format!(
            "{p}.trafficRouting.istio.destinationRule: name, canarySubsetName and stableSubsetName are required"
        ));
    }
    None
}

/// `setHeaderRoute` and `setMirrorRoute` steps, checked as Argo Rollouts checks them (its messages), plus what the
/// routers tack drives can express: NGINX routes by one header and cannot mirror.
fn route_steps(c: &CanaryStrategy) -> Option<String> {
    let p = "spec.strategy.canary";
    let t = c.traffic_routing.as_ref();
    let istio = t.is_some_and(|t| t.istio.is_some());
    let gateway = t.is_some_and(|t| t.plugins.contains_key(GATEWAY_API_PLUGIN));
    let nginx = t.is_some_and(|t| t.nginx.is_some());
    let managed: Vec<&str> = t
        .map(|t| t.managed_routes.iter().map(|m| m.name.as_str()).collect())
        .unwrap_or_default();
    let named = |step: &str, name: &str| -> Option<String> {
        if managed.is_empty() {
            return Some(format!(
                "{p}.trafficRouting.managedRoutes: Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes' (needed by {step})"
            ));
        }
        (!managed.contains(&name)).then(|| {
            format!(
                "{step}: {name:?}: Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes"
            )
        })
    };
    let value = |at: String, m: Option<&crate::spec::StringMatch>| -> Option<String> {
        let m = m.cloned().unwrap_or_default();
        let n = [&m.exact, &m.regex, &m.prefix]
            .iter()
            .filter(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
            .count();
        match n {
            1 => None,
            0 => Some(format!(
                "{at}: StringMatch value missed, match value must have one of the following: exact, regex, prefix"
            )),
            _ => Some(format!(
                "{at}: StringMatch match value must have exactly one of the following: exact, regex, prefix"
            )),
        }
    };
    for (i, s) in c.steps.iter().enumerate() {
        let step = format!("{p}.steps[{i}]");
        if let Some(h) = &s.set_header_route {
            let at = format!("{step}.setHeaderRoute");
            if !(istio || gateway || nginx) {
                return Some(format!(
                    "{at}: SetHeaderRoute requires TrafficRouting, supports Istio, NGINX and the Gateway API plugin in tack"
                ));
            }
            let matches = h.matches.as_deref().unwrap_or_default();
            for (j, m) in matches.iter().enumerate() {
                if let Some(why) = value(format!("{at}.match[{j}]"), m.header_value.as_ref()) {
                    return Some(why);
                }
            }
            if nginx && matches.len() > 1 {
                return Some(format!(
                    "{at}.match: NGINX routes to the canary by one header only (canary-by-header); this step has {}",
                    matches.len()
                ));
            }
            if let Some(why) = named(&at, &h.name) {
                return Some(why);
            }
        }
        if let Some(m) = &s.set_mirror_route {
            let at = format!("{step}.setMirrorRoute");
            if !(istio || gateway) {
                return Some(format!(
                    "{at}: SetMirrorRoute requires TrafficRouting, supports Istio and the Gateway API plugin in tack (NGINX has no mirroring)"
                ));
            }
            if m.percentage.is_some_and(|p| !(0..=100).contains(&p)) {
                return Some(format!("{at}.percentage: must be between 0 and 100"));
            }
            for (j, r) in m.matches.as_deref().unwrap_or_default().iter().enumerate() {
                let at = format!("{at}.match[{j}]");
                let fields = [("method", r.method.as_ref()), ("path", r.path.as_ref())];
                for (field, v) in fields.into_iter().filter(|(_, v)| v.is_some()) {
                    if let Some(why) = value(format!("{at}.{field}"), v) {
                        return Some(why);
                    }
                }
                for (h, v) in &r.headers {
                    if let Some(why) = value(format!("{at}.headers.{h}"), Some(v)) {
                        return Some(why);
                    }
                }
            }
            if let Some(why) = named(&at, &m.name) {
                return Some(why);
            }
        }
    }
    let smi = t.is_some_and(|t| t.smi.is_some());
    if smi
        && (c.canary_service.as_deref().unwrap_or_default().is_empty()
            || c.stable_service.as_deref().unwrap_or_default().is_empty())
    {
        return Some(format!(
            "{p}.canaryService: Canary service and Stable service must to be set to use Traffic Routing"
        ));
    }
    None
}

/// Every field of the spec that tack does not implement, each as `<path> is not supported by tack …`.
pub fn unsupported(rollout: &Rollout) -> Vec<String> {
    let spec = &rollout.spec;
    let mut out = Vec::new();
    let mut refuse = |path: &str, set: bool| {
        if set {
            out.push(format!("{path} is not supported by tack; remove it"));
        }
    };
    refuse(
        "spec.workloadRef.scaleDown: progressively",
        spec.workload_ref
            .as_ref()
            .is_some_and(|w| w.scale_down.as_deref() == Some(crate::workload::PROGRESSIVELY)),
    );
    if let Some(c) = &spec.strategy.canary {
        canary(c, &mut refuse);
    }
    out
}

fn canary(c: &CanaryStrategy, refuse: &mut impl FnMut(&str, bool)) {
    let p = "spec.strategy.canary";
    refuse(&format!("{p}.pingPong"), c.ping_pong.is_some());
    refuse(
        &format!("{p}.replicaProgressThreshold"),
        c.replica_progress_threshold.is_some(),
    );
    for (i, s) in c.steps.iter().enumerate() {
        let step = format!("{p}.steps[{i}]");
        if let Some(e) = &s.experiment {
            experiment_step(&step, e, refuse);
        }
        refuse(&format!("{step}.plugin"), s.plugin.is_some());
        refuse(
            &format!("{step}.setCanaryScale without trafficRouting"),
            s.set_canary_scale.is_some() && c.traffic_routing.is_none(),
        );
    }
    if let Some(t) = &c.traffic_routing {
        traffic_routing(t, refuse);
    }
}

fn experiment_step(step: &str, e: &RolloutExperimentStep, refuse: &mut impl FnMut(&str, bool)) {
    for (j, t) in e.templates.iter().enumerate() {
        let p = format!("{step}.experiment.templates[{j}]");
        refuse(
            &format!("{p}.weight (traffic to experiment pods is not implemented by tack)"),
            t.weight.is_some(),
        );
    }
}

fn traffic_routing(t: &TrafficRouting, refuse: &mut impl FnMut(&str, bool)) {
    let p = "spec.strategy.canary.trafficRouting";
    let set = |v: &Option<Value>| v.is_some();
    refuse(&format!("{p}.alb"), set(&t.alb));
    refuse(&format!("{p}.traefik"), set(&t.traefik));
    refuse(&format!("{p}.ambassador"), set(&t.ambassador));
    refuse(&format!("{p}.appMesh"), set(&t.app_mesh));
    refuse(&format!("{p}.apisix"), set(&t.apisix));
    for name in t.plugins.keys().filter(|k| k.as_str() != GATEWAY_API_PLUGIN) {
        refuse(&format!("{p}.plugins.{name}"), true);
    }
    if let Some(config) = t.plugins.get(GATEWAY_API_PLUGIN).and_then(Value::as_object) {
        // The plugin's other route kinds, route discovery by selector and in-progress labels.
        for key in config
            .keys()
            .filter(|k| !GATEWAY_API_FIELDS.contains(&k.as_str()))
        {
            refuse(&format!("{p}.plugins.{GATEWAY_API_PLUGIN}.{key}"), true);
        }
        refuse(
            &format!("{p}.plugins.{GATEWAY_API_PLUGIN}.mirrorMode other than rule"),
            config
                .get("mirrorMode")
                .is_some_and(|m| m.as_str() != Some("rule")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(spec: Value) -> Rollout {
        serde_json::from_value(json!({"spec": spec})).expect("rollout")
    }

    #[test]
    fn supported_specs_pass() {
        let r = rollout(json!({"template": {}, "strategy": {"canary": {
            "canaryService": "c", "stableService": "s",
            "steps": [{"setWeight": 20}, {"pause": {}}, {"analysis": {"templates": [{"templateName": "t"}]}}],
            "trafficRouting": {"nginx": {"stableIngress": "i"}, "plugins": {"argoproj-labs/gatewayAPI": {}},
                               "istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}}}}}));
        assert_eq!(invalid_spec(&r), None);
    }

    #[test]
    fn each_unsupported_field_is_named() {
        let r = rollout(json!({"template": {}, "strategy": {"canary": {
            "antiAffinity": {},
            "steps": [{"experiment": {"templates": [{"name": "c", "specRef": "canary", "weight": 5}]}}],
            "trafficRouting": {"smi": {}, "alb": {"ingress": "i"},
                               "istio": {"virtualService": {"name": "vs", "tlsRoutes": [{"port": 443}]},
                                         "destinationRule": {"name": "dr"}}}}}}));
        let all = unsupported(&r).join("\n");
        assert!(!all.contains("tlsRoutes"), "TLS routes are supported:\n{all}");
        assert!(!all.contains("smi"), "SMI is supported:\n{all}");
        for field in [
            "steps[0].experiment.templates[0].weight (traffic to experiment pods is not implemented by tack)",
            "trafficRouting.alb",
        ] {
            assert!(all.contains(field), "{field} missing from:\n{all}");
        }
    }

    #[test]
    fn experiment_steps_are_accepted_without_weight_and_need_a_spec_ref() {
        let ok = rollout(
            json!({"template": {}, "strategy": {"canary": {"steps": [{"experiment": {
            "duration": "1m", "templates": [{"name": "b", "specRef": "stable"}, {"name": "c", "specRef": "canary"}],
            "analyses": [{"name": "a", "templateName": "t", "requiredForCompletion": true}]}}]}}}),
        );
        assert_eq!(invalid_spec(&ok), None);
        let bad = rollout(
            json!({"template": {}, "strategy": {"canary": {"steps": [{"experiment": {
            "templates": [{"name": "b", "specRef": "preview"}]}}]}}}),
        );
        assert!(invalid_spec(&bad).is_some_and(|m| m.contains("specRef must be canary or stable")));
    }

    #[test]
    fn workload_ref_with_a_template_is_invalid() {
        let r = rollout(
            json!({"template": {}, "workloadRef": {"kind": "Deployment", "name": "web"},
                               "strategy": {"canary": {}}}),
        );
        assert!(
            invalid_spec(&r).is_some_and(|m| m.contains("template must be empty for workload ref rollout"))
        );
    }

    #[test]
    fn scaling_fields_work_and_argo_combinations_are_checked() {
        let ok = rollout(
            json!({"template": {}, "rollbackWindow": {"revisions": 2}, "strategy": {"canary": {
            "canaryService": "c", "stableService": "s", "dynamicStableScale": true, "minPodsPerReplicaSet": 2,
            "scaleDownDelayRevisionLimit": 1, "trafficRouting": {"nginx": {"stableIngress": "i"}},
            "steps": [{"setWeight": 20}]}}}),
        );
        assert_eq!(invalid_spec(&ok), None);
        let bg = rollout(json!({"template": {}, "strategy": {"blueGreen": {
            "activeService": "a", "scaleDownDelayRevisionLimit": 0}}}));
        assert_eq!(invalid_spec(&bg), None);
        let basic = rollout(json!({"template": {}, "strategy": {"canary": {"dynamicStableScale": true}}}));
        assert!(invalid_spec(&basic).is_some_and(|m| m.contains("can only be used with traffic routing")));
        let delayed = rollout(json!({"template": {}, "strategy": {"canary": {
            "dynamicStableScale": true, "scaleDownDelaySeconds": 60,
            "trafficRouting": {"nginx": {"stableIngress": "i"}}}}}));
        assert!(
            invalid_spec(&delayed).is_some_and(|m| m.contains("cannot be used with scaleDownDelaySeconds"))
        );
    }

    #[test]
    fn workload_ref_scale_down_modes() {
        let with = |mode: &str| {
            rollout(
                json!({"workloadRef": {"kind": "Deployment", "name": "web", "scaleDown": mode},
                           "strategy": {"canary": {}}}),
            )
        };
        assert_eq!(invalid_spec(&with("never")), None);
        assert_eq!(invalid_spec(&with("onsuccess")), None);
        assert!(invalid_spec(&with("progressively")).is_some_and(|m| {
            m.contains("spec.workloadRef.scaleDown: progressively is not supported by tack")
        }));
        assert!(
            invalid_spec(&with("sometimes")).is_some_and(|m| m.contains("is not one of never, onsuccess"))
        );
    }

    #[test]
    fn destination_rule_needs_its_name_and_both_subsets() {
        let with = |dr: Value| {
            rollout(
                json!({"template": {}, "strategy": {"canary": {"steps": [{"setWeight": 20}],
                "trafficRouting": {"istio": {"virtualService": {"name": "vs"}, "destinationRule": dr}}}}}),
            )
        };
        let ok = with(json!({"name": "dr", "canarySubsetName": "canary", "stableSubsetName": "stable"}));
        assert_eq!(invalid_spec(&ok), None);
        assert!(unsupported(&ok).is_empty(), "{:?}", unsupported(&ok));
        let bad = with(json!({"name": "dr", "canarySubsetName": "canary"}));
        assert!(
            invalid_spec(&bad).is_some_and(
                |m| m.contains("istio.destinationRule: name, canarySubsetName and stableSubsetName")
            ),
            "{:?}",
            invalid_spec(&bad)
        );
    }

    fn routed(routing: Value, steps: Value) -> Rollout {
        rollout(json!({"template": {}, "strategy": {"canary": {
            "canaryService": "c", "stableService": "s", "trafficRouting": routing, "steps": steps}}}))
    }

    #[test]
    fn header_and_mirror_steps_are_checked_as_argo_checks_them() {
        let istio = json!({"istio": {"virtualService": {"name": "vs"}}, "managedRoutes": [{"name": "h"}, {"name": "m"}]});
        let header = json!({"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"exact": "y"}}]}});
        let mirror = json!({"setMirrorRoute": {"name": "m", "percentage": 20, "match": [{"method": {"exact": "GET"}}]}});
        assert_eq!(
            invalid_spec(&routed(
                istio.clone(),
                json!([header, mirror, {"setHeaderRoute": {"name": "h"}}])
            )),
            None
        );
        let why = |routing: Value, steps: Value| invalid_spec(&routed(routing, steps)).unwrap_or_default();
        // managedRoutes missing, or not naming the route.
        let bare = json!({"istio": {"virtualService": {"name": "vs"}}});
        assert!(
            why(bare, json!([header]))
                .contains("Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes'")
        );
        let other = json!({"istio": {"virtualService": {"name": "vs"}}, "managedRoutes": [{"name": "x"}]});
        assert!(why(other, json!([mirror])).contains(
            "steps[0].setMirrorRoute: \"m\": Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes"));
        // Exactly one of exact, regex, prefix.
        let two = json!({"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"exact": "y", "regex": "z"}}]}});
        assert!(
            why(istio.clone(), json!([two]))
                .contains("StringMatch match value must have exactly one of the following")
        );
        let none = json!({"setHeaderRoute": {"name": "h", "match": [{"headerName": "x"}]}});
        assert!(why(istio.clone(), json!([none])).contains("StringMatch value missed"));
        // NGINX: one header, no mirror; SMI alone: no header routes.
        let nginx = json!({"nginx": {"stableIngress": "i"}, "managedRoutes": [{"name": "h"}, {"name": "m"}]});
        assert_eq!(why(nginx.clone(), json!([header])), "");
        let two_headers = json!({"setHeaderRoute": {"name": "h", "match": [
            {"headerName": "x", "headerValue": {"exact": "y"}}, {"headerName": "z", "headerValue": {"exact": "y"}}]}});
        assert!(
            why(nginx.clone(), json!([two_headers]))
                .contains("NGINX routes to the canary by one header only")
        );
        assert!(why(nginx, json!([mirror])).contains("SetMirrorRoute requires TrafficRouting, supports Istio and the Gateway API plugin in tack (NGINX has no mirroring)"));
        let smi = json!({"smi": {}, "managedRoutes": [{"name": "h"}]});
        assert!(why(smi, json!([header])).contains("SetHeaderRoute requires TrafficRouting"));
        let gateway = json!({"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "r", "mirrorMode": "rule"}}, "managedRoutes": [{"name": "h"}, {"name": "m"}]});
        assert_eq!(why(gateway, json!([header, mirror])), "");
    }

    #[test]
    fn smi_needs_both_services() {
        let r = rollout(json!({"template": {}, "strategy": {"canary": {
            "stableService": "s", "trafficRouting": {"smi": {"rootService": "r"}}, "steps": [{"setWeight": 5}]}}}));
        assert!(
            invalid_spec(&r).is_some_and(|m| m.contains("Canary service and Stable service must to be set"))
        );
        let ok = routed(
            json!({"smi": {"trafficSplitName": "t"}}),
            json!([{"setWeight": 5}]),
        );
        assert_eq!(invalid_spec(&ok), None);
    }

    #[test]
    fn gateway_api_plugin_fields_tack_does_not_implement_are_refused() {
        let r = routed(
            json!({"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "r", "grpcRoute": "g",
                "inProgressLabelKey": "k", "mirrorMode": "filter"}}}),
            json!([{"setWeight": 5}]),
        );
        let all = unsupported(&r).join("\n");
        for field in [
            "gatewayAPI.grpcRoute",
            "gatewayAPI.inProgressLabelKey",
            "gatewayAPI.mirrorMode other than rule",
        ] {
            assert!(all.contains(field), "{field} missing from:\n{all}");
        }
        let ok = routed(
            json!({"plugins": {"argoproj-labs/gatewayAPI": {"httpRoutes": [{"name": "r", "useHeaderRoutes": true}],
                "namespace": "n", "configMap": "c"}}}),
            json!([{"setWeight": 5}]),
        );
        assert!(unsupported(&ok).is_empty(), "{:?}", unsupported(&ok));
    }
}
