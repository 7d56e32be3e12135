//! Istio: the destinations of the named HTTP routes of a VirtualService whose `host` is the canary or the stable
//! Service get the Rollout's weights. Hosts may be short names or FQDNs (`web-canary.shop.svc.cluster.local`).

use serde_json::Value;
use tack_rollout::spec::{IstioTrafficRouting, IstioVirtualService};

use crate::{Error, Weights};

/// The VirtualServices named by `virtualService` and `virtualServices`.
pub fn virtual_services(istio: &IstioTrafficRouting) -> Vec<&IstioVirtualService> {
    istio
        .virtual_service
        .iter()
        .chain(istio.virtual_services.iter())
        .filter(|v| !v.name.is_empty())
        .collect()
}

/// `name` or `name.namespace`: the VirtualService name and an optional namespace.
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once('.') {
        Some((n, ns)) => (n, Some(ns)),
        None => (name, None),
    }
}

fn host_is(host: &str, service: &str) -> bool {
    host == service || host.split('.').next() == Some(service)
}

/// `spec.http` of `vs` with the weights set on the routes in `routes` (all routes when only one exists and none
/// is named); `None` when they already are.
pub fn weighted_http(
    vs: &Value,
    routes: &[String],
    canary_service: &str,
    stable_service: &str,
    weights: Weights,
) -> Result<Option<Value>, Error> {
    let name = vs
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let err = |reason: String| Error::Router {
        kind: "VirtualService",
        name: name.clone(),
        reason,
    };
    let mut http = vs.pointer("/spec/http").cloned().unwrap_or(Value::Null);
    let all = http.as_array().map_or(0, Vec::len);
    if routes.is_empty() && all != 1 {
        return Err(err(format!(
            "has {all} HTTP routes; name the ones to weigh in trafficRouting.istio.virtualService.routes"
        )));
    }
    let mut changed = false;
    let mut seen = Vec::new();
    for route in http.as_array_mut().into_iter().flatten() {
        let rname = route
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !routes.is_empty() && !routes.contains(&rname) {
            continue;
        }
        let (mut c, mut s) = (false, false);
        for d in route
            .get_mut("route")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let host = d
                .pointer("/destination/host")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let want = if host_is(host, canary_service) {
                c = true;
                weights.canary
            } else if host_is(host, stable_service) {
                s = true;
                weights.stable
            } else {
                continue;
            };
            if d.get("weight").and_then(Value::as_i64) != Some(i64::from(want)) {
                d["weight"] = Value::from(want);
                changed = true;
            }
        }
        if !(c && s) {
            return Err(err(format!(
                "HTTP route {rname:?} needs destinations for both the canary Service {canary_service:?} and the \
                 stable Service {stable_service:?}"
            )));
        }
        seen.push(rname);
    }
    if let Some(missing) = routes.iter().find(|r| !seen.contains(r)) {
        return Err(err(format!("has no HTTP route named {missing:?}")));
    }
    Ok(changed.then_some(http))
}

/// The weights of the first weighed route (`None` when it has no canary and stable destinations).
pub fn weights_of(
    vs: &Value,
    routes: &[String],
    canary_service: &str,
    stable_service: &str,
) -> Option<Weights> {
    let http = vs.pointer("/spec/http")?.as_array()?;
    let route = http.iter().find(|r| {
        routes.is_empty()
            || routes
                .iter()
                .any(|n| r.get("name").and_then(Value::as_str) == Some(n))
    })?;
    let mut c = None;
    let mut s = None;
    for d in route.get("route")?.as_array()? {
        let host = d
            .pointer("/destination/host")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let w = d
            .get("weight")
            .and_then(Value::as_i64)
            .and_then(|w| i32::try_from(w).ok())
            .unwrap_or(0);
        if host_is(host, canary_service) {
            c = Some(w);
        } else if host_is(host, stable_service) {
            s = Some(w);
        }
    }
    Some(Weights {
        canary: c?,
        stable: s?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vs() -> Value {
        json!({"metadata": {"name": "web-vs"}, "spec": {"hosts": ["web"], "http": [
            {"name": "primary", "route": [
                {"destination": {"host": "web-stable"}, "weight": 100},
                {"destination": {"host": "web-canary.shop.svc.cluster.local"}, "weight": 0}]},
            {"name": "other", "route": [{"destination": {"host": "x"}, "weight": 100}]}]}})
    }

    #[test]
    fn sets_named_route_weights() {
        let v = vs();
        let routes = vec!["primary".to_string()];
        let http = weighted_http(
            &v,
            &routes,
            "web-canary",
            "web-stable",
            Weights {
                canary: 50,
                stable: 50,
            },
        )
        .expect("ok")
        .expect("changed");
        assert_eq!(http[0]["route"][0]["weight"], 50);
        assert_eq!(http[0]["route"][1]["weight"], 50);
        assert_eq!(http[1]["route"][0]["weight"], 100);
        let mut v2 = v.clone();
        v2["spec"]["http"] = http;
        assert_eq!(
            weights_of(&v2, &routes, "web-canary", "web-stable"),
            Some(Weights {
                canary: 50,
                stable: 50
            })
        );
        assert_eq!(
            weighted_http(
                &v2,
                &routes,
                "web-canary",
                "web-stable",
                Weights {
                    canary: 50,
                    stable: 50
                }
            ),
            Ok(None)
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let v = vs();
        let e = weighted_http(
            &v,
            &[],
            "web-canary",
            "web-stable",
            Weights {
                canary: 1,
                stable: 99,
            },
        )
        .expect_err("two routes, none named");
        assert!(e.to_string().contains("routes"), "{e}");
        let e = weighted_http(
            &v,
            &["nope".into()],
            "web-canary",
            "web-stable",
            Weights {
                canary: 1,
                stable: 99,
            },
        )
        .expect_err("unknown route");
        assert!(e.to_string().contains("nope"), "{e}");
        let e = weighted_http(
            &v,
            &["other".into()],
            "web-canary",
            "web-stable",
            Weights {
                canary: 1,
                stable: 99,
            },
        )
        .expect_err("no canary destination");
        assert!(e.to_string().contains("other"), "{e}");
    }

    #[test]
    fn names() {
        assert_eq!(split_name("vs.ns"), ("vs", Some("ns")));
        assert_eq!(split_name("vs"), ("vs", None));
    }
}
