//! Managed routes: the header and mirror routes that `setHeaderRoute` and `setMirrorRoute` steps put on the routers.
//!
//! Which routes a router carries follows from the Rollout's spec and persisted status alone, so a restarted
//! controller computes the same routes:
//! - while an update is in progress (a canary that is not the stable, not aborted, not promoted with `--full`, a
//!   step still ahead), each route named in `trafficRouting.managedRoutes` takes the last `setHeaderRoute` /
//!   `setMirrorRoute` step of that name already passed; a step without `match` removes the route;
//! - otherwise (no update, all steps done, abort, full promotion) there is none, as Argo Rollouts removes the
//!   managed routes at those points.
//!
//! The routes come back in the order of `managedRoutes`, which is the priority order Argo Rollouts gives them.

use tack_rollout::spec::{HeaderRoutingMatch, Rollout, RouteMatch};

/// What a managed route does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Requests whose headers all match go to the canary.
    Header(Vec<HeaderRoutingMatch>),
    /// Requests matching any block go where the weighed route sends them and are copied to the canary.
    Mirror {
        /// The request matches.
        matches: Vec<RouteMatch>,
        /// Share mirrored, in percent (`None`: 100 %).
        percentage: Option<i32>,
    },
}

/// One managed route a router must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route's name (from `managedRoutes`).
    pub name: String,
    /// Header or mirror route.
    pub action: Action,
}

/// The names in `trafficRouting.managedRoutes`, in order.
pub fn names(rollout: &Rollout) -> Vec<&str> {
    rollout
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .map(|t| t.managed_routes.iter().map(|m| m.name.as_str()).collect())
        .unwrap_or_default()
}

/// The managed routes the routers must carry now (see the module documentation), in `managedRoutes` order.
pub fn active(rollout: &Rollout) -> Vec<Route> {
    let Some(c) = rollout.spec.strategy.canary.as_ref() else {
        return Vec::new();
    };
    let Some(st) = rollout.status.as_ref() else {
        return Vec::new();
    };
    let idx = st
        .current_step_index
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0);
    let updating =
        st.current_pod_hash.is_some() && st.stable_rs.is_some() && st.current_pod_hash != st.stable_rs;
    if !updating || st.abort || st.promote_full || idx >= c.steps.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for name in names(rollout) {
        let mut last = None;
        for step in &c.steps[..idx] {
            if let Some(h) = step.set_header_route.as_ref().filter(|h| h.name == name) {
                last = h.matches.clone().filter(|m| !m.is_empty()).map(Action::Header);
            }
            if let Some(m) = step.set_mirror_route.as_ref().filter(|m| m.name == name) {
                last = m
                    .matches
                    .clone()
                    .filter(|m| !m.is_empty())
                    .map(|matches| Action::Mirror {
                        matches,
                        percentage: m.percentage,
                    });
            }
        }
        if let Some(action) = last {
            out.push(Route {
                name: name.to_string(),
                action,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn rollout(status: Value) -> Rollout {
        serde_json::from_value(json!({
            "spec": {"strategy": {"canary": {
                "trafficRouting": {"managedRoutes": [{"name": "mirror"}, {"name": "header"}],
                                   "istio": {"virtualService": {"name": "vs"}}},
                "steps": [
                    {"setWeight": 10},
                    {"setHeaderRoute": {"name": "header", "match": [
                        {"headerName": "x-canary", "headerValue": {"exact": "yes"}}]}},
                    {"setMirrorRoute": {"name": "mirror", "percentage": 30,
                                        "match": [{"method": {"exact": "GET"}}]}},
                    {"pause": {}},
                    {"setHeaderRoute": {"name": "header"}},
                    {"pause": {}},
                ]}}},
            "status": status,
        }))
        .expect("rollout")
    }

    fn at(step: i32) -> Rollout {
        rollout(json!({"currentStepIndex": step, "currentPodHash": "new", "stableRS": "old"}))
    }

    #[test]
    fn routes_follow_the_passed_steps_in_managed_routes_order() {
        assert_eq!(active(&at(0)), vec![]);
        assert_eq!(active(&at(1)), vec![]);
        let two = active(&at(2));
        assert_eq!(two.len(), 1);
        assert_eq!(two[0].name, "header");
        assert!(matches!(&two[0].action, Action::Header(m) if m[0].header_name == "x-canary"));
        let three = active(&at(3));
        assert_eq!(
            three.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["mirror", "header"],
            "managedRoutes order"
        );
        assert!(
            matches!(&three[0].action, Action::Mirror { percentage: Some(30), matches } if matches.len() == 1)
        );
        // `setHeaderRoute` without `match` removes the route.
        let five = active(&at(5));
        assert_eq!(
            five.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["mirror"]
        );
    }

    #[test]
    fn no_routes_without_an_update_after_the_steps_on_abort_or_full_promotion() {
        assert_eq!(active(&at(6)), vec![], "all steps done");
        let base = json!({"currentStepIndex": 4, "currentPodHash": "new", "stableRS": "old"});
        let with = |k: &str| {
            let mut s = base.clone();
            s[k] = json!(true);
            rollout(s)
        };
        assert_eq!(active(&with("abort")), vec![]);
        assert_eq!(active(&with("promoteFull")), vec![]);
        let stable = rollout(json!({"currentStepIndex": 4, "currentPodHash": "old", "stableRS": "old"}));
        assert_eq!(active(&stable), vec![]);
        assert_eq!(active(&rollout(Value::Null)), vec![]);
        assert_eq!(active(&at(4)).len(), 2);
    }
}
