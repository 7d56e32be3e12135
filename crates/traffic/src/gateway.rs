//! Gateway API through the `argoproj-labs/gatewayAPI` plugin config: `{httpRoute: NAME, namespace: NS}` (or
//! `httpRoutes: [{name}]`). The weights of the HTTPRoute `backendRefs` naming the canary and stable Services
//! follow the Rollout; everything else in the route is left as it is.

use serde_json::Value;

use crate::{Error, Weights};

/// One HTTPRoute the plugin config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRef {
    /// HTTPRoute name.
    pub name: String,
    /// Its namespace (`None`: the Rollout's).
    pub namespace: Option<String>,
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
    for rule in route
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
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
                namespace: Some("shop".into())
            }]
        );
        let c = json!({"httpRoutes": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(routes(&c).len(), 2);
    }
}
