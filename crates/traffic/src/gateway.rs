//! Gateway API through the `argoproj-labs/gatewayAPI` plugin config: `{httpRoute: NAME, namespace: NS}` (or
//! `httpRoutes: [{name}]`). The weights of the HTTPRoute `backendRefs` naming the canary and stable Services
//! follow the Rollout; everything else in the route is left as it is.
//!
//! Managed routes ([`crate::managed`]), on the single `httpRoute` and on the `httpRoutes` entries with
//! `useHeaderRoutes: true`, as the plugin builds them, after all the other rules, in `managedRoutes` order:
//! - a header route: a rule with the weighed rule's matches (path, query parameters) plus the header matches
//!   (`Exact`, or `RegularExpression` for `regex` and `prefix`), its filters, and one backend: the canary Service on
//!   the port of the canary backend;
//! - a mirror route (the plugin's `mirrorMode: rule`, so `match` is honoured): a rule with the step's matches
//!   (method, path, headers), the weighed rule's backends and filters, and a `RequestMirror` filter to the canary
//!   Service with the step's `percentage`.
//!
//! The plugin records its rules in a ConfigMap; tack records them in the HTTPRoute's annotation
//! `tack.dev/managed-routes` (the names of the last rules, which are the Rollout's), written together with the rules.

use serde_json::{Value, json};

use crate::managed::{Action, Route};
use crate::{Error, Weights};

/// The annotation naming the managed rules at the end of an HTTPRoute's rules (a JSON list of names).
pub const MANAGED_ROUTES_ANNOTATION: &str = "tack.dev/managed-routes";

/// One HTTPRoute the plugin config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRef {
    /// HTTPRoute name.
    pub name: String,
    /// Its namespace (`None`: the Rollout's).
    pub namespace: Option<String>,
    /// Whether it carries the managed routes (`httpRoute`, or `useHeaderRoutes: true`).
    pub use_header_routes: bool,
}

/// The HTTPRoutes of a plugin config.
pub fn routes(config: &Value) -> Vec<RouteRef> {
    let namespace = config
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut out = Vec::new();
    if let Some(name) = config.get("httpRoute").and_then(Value::as_str) {
        out.push(RouteRef {
            name: name.to_string(),
            namespace: namespace.clone(),
            use_header_routes: true,
        });
    }
    for r in config
        .get("httpRoutes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = r.get("name").and_then(Value::as_str) {
            out.push(RouteRef {
                name: name.to_string(),
                namespace: namespace.clone(),
                use_header_routes: r.get("useHeaderRoutes").and_then(Value::as_bool) == Some(true),
            });
        }
    }
    out
}

/// `spec.rules` of `route` with the canary and stable backend weights set; `None` when they already are.
pub fn weighted_rules(
    route: &Value,
    canary_service: &str,
    stable_service: &str,
    weights: Weights,
) -> Result<Option<Value>, Error> {
    let name = route
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut rules = route.pointer("/spec/rules").cloned().unwrap_or(Value::Null);
    let (mut canary_found, mut stable_found, mut changed) = (false, false, false);
    for rule in rules.as_array_mut().into_iter().flatten() {
        for b in rule
            .get_mut("backendRefs")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let want = match b.get("name").and_then(Value::as_str) {
                Some(n) if n == canary_service => {
                    canary_found = true;
                    weights.canary
                }
                Some(n) if n == stable_service => {
                    stable_found = true;
                    weights.stable
                }
                _ => continue,
            };
            if b.get("weight").and_then(Value::as_i64) != Some(i64::from(want)) {
                b["weight"] = Value::from(want);
                changed = true;
            }
        }
    }
    if !canary_found || !stable_found {
        return Err(Error::Router {
            kind: "HTTPRoute",
            name: name.to_string(),
            reason: format!(
                "no rule has backendRefs for both the canary Service {canary_service:?} and the stable Service \
                 {stable_service:?}; add both to the route"
            ),
        });
    }
    Ok(changed.then_some(rules))
}

/// The `(canary, stable)` weights a route carries for these Services (first match of each).
pub fn weights_of(route: &Value, canary_service: &str, stable_service: &str) -> Option<Weights> {
    let mut canary = None;
    let mut stable = None;
    let (own, _) = split_managed(route);
    for rule in own.iter() {
        for b in rule
            .get("backendRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let w = b
                .get("weight")
                .and_then(Value::as_i64)
                .and_then(|w| i32::try_from(w).ok())
                .unwrap_or(1);
            match b.get("name").and_then(Value::as_str) {
                Some(n) if n == canary_service && canary.is_none() => canary = Some(w),
                Some(n) if n == stable_service && stable.is_none() => stable = Some(w),
                _ => {}
            }
        }
    }
    Some(Weights {
        canary: canary?,
        stable: stable?,
    })
}

/// The route's rules without the managed ones at the end, and the names of those (from the annotation).
fn split_managed(route: &Value) -> (Vec<Value>, Vec<String>) {
    let mut rules: Vec<Value> = route
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = route
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MANAGED_ROUTES_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let keep = rules.len().saturating_sub(names.len());
    rules.truncate(keep);
    (rules, names)
}

/// Whether every field of `want` has the same value in `have` (arrays element by element, same length): the API
/// server may add defaults (`weight: 1`, `kind: Service`, …) to what tack wrote.
fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => {
            w.iter().all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v)))
        }
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        _ => have == want,
    }
}

/// A Gateway API header match from a Rollout string match: `Exact`, or `RegularExpression` for `regex` and
/// `prefix` (`<prefix>.*`, the prefix escaped).
fn header_match(name: &str, value: Option<&tack_rollout::spec::StringMatch>) -> Value {
    match value.and_then(|v| v.one()) {
        Some(("exact", v)) => json!({"name": name, "type": "Exact", "value": v}),
        Some(("prefix", v)) => {
            json!({"name": name, "type": "RegularExpression", "value": format!("{}.*", escape(v))})
        }
        Some((_, v)) => json!({"name": name, "type": "RegularExpression", "value": v}),
        None => json!({"name": name}),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An `HTTPRouteMatch` from a `setMirrorRoute` match.
fn mirror_match(m: &tack_rollout::spec::RouteMatch) -> Value {
    let mut out = serde_json::Map::new();
    if let Some((_, v)) = m.method.as_ref().and_then(|v| v.one()) {
        out.insert("method".into(), Value::from(v));
    }
    if let Some((kind, v)) = m.path.as_ref().and_then(|v| v.one()) {
        let t = match kind {
            "exact" => "Exact",
            "prefix" => "PathPrefix",
            _ => "RegularExpression",
        };
        out.insert("path".into(), json!({"type": t, "value": v}));
    }
    if !m.headers.is_empty() {
        let headers: Vec<Value> = m.headers.iter().map(|(k, v)| header_match(k, Some(v))).collect();
        out.insert("headers".into(), Value::Array(headers));
    }
    Value::Object(out)
}

/// The managed rules, built from the weighed rule (the first with both the canary and the stable backend).
fn managed_rules(
    rules: &[Value],
    canary_service: &str,
    stable_service: &str,
    managed: &[Route],
) -> Vec<Value> {
    let refs = |r: &Value| -> Vec<Value> {
        r.get("backendRefs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let named = |b: &Value, n: &str| b.get("name").and_then(Value::as_str) == Some(n);
    let Some(weighed) = rules.iter().find(|r| {
        let b = refs(r);
        b.iter().any(|b| named(b, canary_service)) && b.iter().any(|b| named(b, stable_service))
    }) else {
        return Vec::new();
    };
    let canary_port = refs(weighed)
        .into_iter()
        .find(|b| named(b, canary_service))
        .and_then(|b| b.get("port").cloned());
    let mut canary_ref = json!({"group": "", "kind": "Service", "name": canary_service});
    if let Some(p) = &canary_port {
        canary_ref["port"] = p.clone();
    }
    let filters = weighed
        .get("filters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let own_matches = weighed
        .get("matches")
        .and_then(Value::as_array)
        .cloned()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| vec![json!({})]);
    managed
        .iter()
        .map(|r| {
            let mut rule = match &r.action {
                Action::Header(matches) => {
                    let headers: Vec<Value> = matches
                        .iter()
                        .map(|m| header_match(&m.header_name, m.header_value.as_ref()))
                        .collect();
                    let matches: Vec<Value> = own_matches
                        .iter()
                        .map(|m| {
                            let mut out = json!({"headers": headers});
                            for k in ["path", "queryParams"] {
                                if let Some(v) = m.get(k) {
                                    out[k] = v.clone();
                                }
                            }
                            out
                        })
                        .collect();
                    json!({"matches": matches, "backendRefs": [canary_ref]})
                }
                Action::Mirror { matches, percentage } => {
                    let mut mirror = json!({"backendRef": {"name": canary_service}});
                    if let Some(p) = &canary_port {
                        mirror["backendRef"]["port"] = p.clone();
                    }
                    if let Some(p) = percentage {
                        mirror["percent"] = json!(p);
                    }
                    let mut f = filters.clone();
                    f.push(json!({"type": "RequestMirror", "requestMirror": mirror}));
                    json!({
                        "matches": matches.iter().map(mirror_match).collect::<Vec<_>>(),
                        "backendRefs": refs(weighed),
                        "filters": f,
                    })
                }
            };
            if matches!(r.action, Action::Header(_)) && !filters.is_empty() {
                rule["filters"] = Value::Array(filters.clone());
            }
            rule
        })
        .collect()
}

/// The merge patch of an HTTPRoute: its own rules weighed, then the managed rules (when `use_managed`), and the
/// annotation naming them; `None` when the stored route already is so.
pub fn route_patch(
    route: &Value,
    canary_service: &str,
    stable_service: &str,
    weights: Weights,
    managed: &[Route],
    use_managed: bool,
) -> Result<Option<Value>, Error> {
    let (own, old_names) = split_managed(route);
    let mut bare = route.clone();
    bare["spec"]["rules"] = Value::Array(own);
    let weighed = weighted_rules(&bare, canary_service, stable_service, weights)?
        .unwrap_or_else(|| bare["spec"]["rules"].clone());
    let mut rules = weighed.as_array().cloned().unwrap_or_default();
    let managed: &[Route] = if use_managed { managed } else { &[] };
    let extra = managed_rules(&rules, canary_service, stable_service, managed);
    let names: Vec<&str> = managed.iter().map(|r| r.name.as_str()).collect();
    rules.extend(extra);
    let rules = Value::Array(rules);
    let live = route.pointer("/spec/rules").cloned().unwrap_or(Value::Null);
    let names_same = old_names.iter().map(String::as_str).eq(names.iter().copied());
    if names_same && contains(&live, &rules) {
        return Ok(None);
    }
    let annotation = if names.is_empty() {
        Value::Null
    } else {
        Value::from(serde_json::to_string(&names).unwrap_or_default())
    };
    Ok(Some(json!({
        "metadata": {"annotations": {MANAGED_ROUTES_ANNOTATION: annotation}},
        "spec": {"rules": rules},
    })))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn route() -> Value {
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
               "metadata": {"name": "web"},
               "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [
                   {"name": "web-stable", "port": 80, "weight": 100},
                   {"name": "web-canary", "port": 80, "weight": 0}]}]}})
    }

    #[test]
    fn sets_backend_weights() {
        let r = route();
        let rules = weighted_rules(
            &r,
            "web-canary",
            "web-stable",
            Weights {
                canary: 20,
                stable: 80,
            },
        )
        .expect("ok")
        .expect("changed");
        assert_eq!(rules[0]["backendRefs"][0]["weight"], 80);
        assert_eq!(rules[0]["backendRefs"][1]["weight"], 20);
        assert_eq!(rules[0]["backendRefs"][1]["port"], 80);
        let mut r2 = r.clone();
        r2["spec"]["rules"] = rules;
        assert_eq!(
            weights_of(&r2, "web-canary", "web-stable"),
            Some(Weights {
                canary: 20,
                stable: 80
            })
        );
        // Same weights again: nothing to write.
        assert_eq!(
            weighted_rules(
                &r2,
                "web-canary",
                "web-stable",
                Weights {
                    canary: 20,
                    stable: 80
                }
            ),
            Ok(None)
        );
    }

    #[test]
    fn missing_backend_is_an_error() {
        let e = weighted_rules(
            &route(),
            "other",
            "web-stable",
            Weights {
                canary: 1,
                stable: 99,
            },
        )
        .expect_err("no canary backend");
        assert!(e.to_string().contains("HTTPRoute web"), "{e}");
    }

    #[test]
    fn plugin_config() {
        let c = json!({"httpRoute": "web", "namespace": "shop"});
        assert_eq!(
            routes(&c),
            vec![RouteRef {
                name: "web".into(),
                namespace: Some("shop".into()),
                use_header_routes: true,
            }]
        );
        let c = json!({"httpRoutes": [{"name": "a"}, {"name": "b", "useHeaderRoutes": true}]});
        let r = routes(&c);
        assert_eq!(r.len(), 2);
        assert!(!r[0].use_header_routes && r[1].use_header_routes);
    }

    fn managed(v: Value) -> Vec<Route> {
        let r: tack_rollout::spec::Rollout = serde_json::from_value(json!({
            "spec": {"strategy": {"canary": {
                "trafficRouting": {"managedRoutes": [{"name": "header"}, {"name": "mirror"}]},
                "steps": v}}},
            "status": {"currentStepIndex": 2, "currentPodHash": "new", "stableRS": "old"}}))
        .expect("rollout");
        crate::managed::active(&r)
    }

    fn apply(route: &Value, patch: &Value) -> Value {
        let mut out = route.clone();
        out["spec"]["rules"] = patch["spec"]["rules"].clone();
        match &patch["metadata"]["annotations"][MANAGED_ROUTES_ANNOTATION] {
            Value::Null => {
                if let Some(a) = out
                    .pointer_mut("/metadata/annotations")
                    .and_then(Value::as_object_mut)
                {
                    a.remove(MANAGED_ROUTES_ANNOTATION);
                }
            }
            v => out["metadata"]["annotations"] = json!({MANAGED_ROUTES_ANNOTATION: v}),
        }
        out
    }

    #[test]
    fn header_and_mirror_rules_follow_the_managed_routes() {
        let mut r = route();
        r["spec"]["rules"][0]["matches"] = json!([{"path": {"type": "PathPrefix", "value": "/api"}}]);
        let steps = json!([
            {"setHeaderRoute": {"name": "header", "match": [
                {"headerName": "x-canary", "headerValue": {"exact": "yes"}},
                {"headerName": "x-user", "headerValue": {"prefix": "beta."}}]}},
            {"setMirrorRoute": {"name": "mirror", "percentage": 25, "match": [
                {"method": {"exact": "GET"}, "path": {"prefix": "/api"}}]}},
            {"pause": {}}]);
        let active = managed(steps);
        let p = route_patch(&r, "web-canary", "web-stable", W20, &active, true)
            .expect("ok")
            .expect("changed");
        assert_eq!(
            p["metadata"]["annotations"][MANAGED_ROUTES_ANNOTATION],
            r#"["header","mirror"]"#
        );
        let rules = p["spec"]["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0]["backendRefs"][1]["weight"], 20, "own rule weighed");
        assert_eq!(
            rules[1],
            json!({"matches": [{"path": {"type": "PathPrefix", "value": "/api"}, "headers": [
                       {"name": "x-canary", "type": "Exact", "value": "yes"},
                       {"name": "x-user", "type": "RegularExpression", "value": "beta\\..*"}]}],
                   "backendRefs": [{"group": "", "kind": "Service", "name": "web-canary", "port": 80}]})
        );
        assert_eq!(
            rules[2]["matches"],
            json!([{"method": "GET", "path": {"type": "PathPrefix", "value": "/api"}}])
        );
        assert_eq!(rules[2]["backendRefs"], rules[0]["backendRefs"]);
        assert_eq!(
            rules[2]["filters"],
            json!([{"type": "RequestMirror", "requestMirror": {
                "backendRef": {"name": "web-canary", "port": 80}, "percent": 25}}])
        );
        // Stored (with a server default added): nothing more to write; weights read from the own rule.
        let mut stored = apply(&r, &p);
        stored["spec"]["rules"][1]["backendRefs"][0]["weight"] = json!(1);
        assert_eq!(
            route_patch(&stored, "web-canary", "web-stable", W20, &active, true),
            Ok(None)
        );
        assert_eq!(weights_of(&stored, "web-canary", "web-stable"), Some(W20));
        // Without managed routes (end of the update) the rules go and the annotation is removed.
        let p = route_patch(&stored, "web-canary", "web-stable", W20, &[], true)
            .expect("ok")
            .expect("changed");
        assert_eq!(p["spec"]["rules"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            p["metadata"]["annotations"][MANAGED_ROUTES_ANNOTATION],
            Value::Null
        );
        // A route not using header routes gets none.
        let p = route_patch(&r, "web-canary", "web-stable", W20, &active, false)
            .expect("ok")
            .expect("changed");
        assert_eq!(p["spec"]["rules"].as_array().map(Vec::len), Some(1));
    }

    const W20: Weights = Weights {
        canary: 20,
        stable: 80,
    };
}
