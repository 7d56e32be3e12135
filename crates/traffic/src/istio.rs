//! Istio: the destinations of a VirtualService's weighed routes whose `host` is the canary or the stable Service get
//! the Rollout's weights. Hosts may be short names or FQDNs (`web-canary.shop.svc.cluster.local`).
//!
//! The weighed routes, as Argo Rollouts picks them, in each of `spec.http`, `spec.tls` and `spec.tcp`:
//! - HTTP: the routes named in `routes`;
//! - TLS: the routes whose match blocks all name the entry's `port` and whose SNI hosts are exactly the entry's
//!   `sniHosts`, for each `tlsRoutes` entry;
//! - TCP: the routes whose match blocks all name the entry's `port`, for each `tcpRoutes` entry;
//! - a section the Rollout names nothing in: its only route (an error when it has several).
//!
//! Managed routes ([`crate::managed`]): the HTTP routes named in `managedRoutes` are the Rollout's own. They are left
//! out when the weighed routes are picked, and rebuilt on every change as Argo Rollouts builds them, before all the
//! other routes in `managedRoutes` order: a header route sends its matches to the canary (weight 100), a mirror
//! route sends its matches where the (first) weighed route sends them, with `mirror` (the canary) and
//! `mirrorPercentage`. The canary destination is the canary Service (the DestinationRule's host and canary subset
//! with subset-level splitting), on the port of the weighed route's first destination.

use serde_json::Value;
use tack_rollout::POD_TEMPLATE_HASH_LABEL;
#[cfg(test)]
use tack_rollout::spec::Rollout;
use tack_rollout::spec::{IstioDestinationRule, IstioTrafficRouting, IstioVirtualService};

use crate::managed::{Action, Route};
use crate::{Error, MANAGED_BY_ANNOTATION, Weights};

/// The managed routes of a VirtualService: the names it strips and the routes it puts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Managed<'a> {
    /// `trafficRouting.managedRoutes` names.
    pub names: &'a [&'a str],
    /// The routes to carry now ([`crate::managed::active`]).
    pub routes: &'a [Route],
    /// The DestinationRule's `spec.host` (with subset-level splitting).
    pub canary_host: Option<&'a str>,
}

impl Managed<'_> {
    /// No managed routes.
    pub const NONE: Managed<'static> = Managed {
        names: &[],
        routes: &[],
        canary_host: None,
    };
}

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
    !service.is_empty() && (host == service || host.split('.').next() == Some(service))
}

/// What the destinations of a weighed route are matched against: the canary and stable Services (`host`, short
/// name or FQDN) and, with a DestinationRule, the canary and stable subsets (`subset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends<'a> {
    /// `canaryService` (empty when not set).
    pub canary_service: &'a str,
    /// `stableService` (empty when not set).
    pub stable_service: &'a str,
    /// `destinationRule.canarySubsetName` and `stableSubsetName`.
    pub subsets: Option<(&'a str, &'a str)>,
    /// The managed routes.
    pub managed: Managed<'a>,
}

impl<'a> Backends<'a> {
    /// The backends of `istio` with the Rollout's Services.
    pub fn new(istio: &'a IstioTrafficRouting, canary_service: &'a str, stable_service: &'a str) -> Self {
        Backends {
            canary_service,
            stable_service,
            subsets: istio
                .destination_rule
                .as_ref()
                .map(|d| (d.canary_subset_name.as_str(), d.stable_subset_name.as_str())),
            managed: Managed::NONE,
        }
    }

    /// The same backends with managed routes.
    pub fn with_managed(self, managed: Managed<'a>) -> Self {
        Backends { managed, ..self }
    }

    /// Whether HTTP route `route` is a managed one.
    fn is_managed(&self, route: &Value) -> bool {
        route
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| self.managed.names.contains(&n))
    }

    /// The destination of managed routes: the canary Service (or the DestinationRule's host and canary subset), on
    /// `port`.
    fn canary_destination(&self, port: Option<&Value>) -> Value {
        let host = match self.subsets {
            Some(_) => self.managed.canary_host.unwrap_or(self.canary_service),
            None => self.canary_service,
        };
        let mut d = serde_json::json!({"host": host});
        if let Some(p) = port.filter(|p| p.get("number").is_some_and(|n| n.as_i64().unwrap_or(0) > 0)) {
            d["port"] = serde_json::json!({"number": p["number"]});
        }
        if let Some((canary, _)) = self.subsets.filter(|(c, _)| !c.is_empty()) {
            d["subset"] = Value::from(canary);
        }
        d
    }

    /// `Some(true)` for a canary destination, `Some(false)` for a stable one (by host, else by subset, as Argo
    /// Rollouts matches them), `None` for any other.
    fn is_canary(&self, destination: &Value) -> Option<bool> {
        let host = destination
            .pointer("/destination/host")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let subset = destination
            .pointer("/destination/subset")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let (canary_subset, stable_subset) = self.subsets.unzip();
        if host_is(host, self.canary_service) || (subset.is_some() && subset == canary_subset) {
            Some(true)
        } else if host_is(host, self.stable_service) || (subset.is_some() && subset == stable_subset) {
            Some(false)
        } else {
            None
        }
    }

    /// Why a route lacks its canary or stable destination.
    fn missing(&self) -> String {
        match self.subsets {
            Some((c, s)) => {
                format!("needs destinations with the canary subset {c:?} and the stable subset {s:?}")
            }
            None => format!(
                "needs destinations for both the canary Service {:?} and the stable Service {:?}",
                self.canary_service, self.stable_service
            ),
        }
    }
}

/// One section of a VirtualService's routes: `spec.http`, `spec.tls` or `spec.tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Http,
    Tls,
    Tcp,
}

impl Section {
    const ALL: [Section; 3] = [Section::Http, Section::Tls, Section::Tcp];

    fn key(self) -> &'static str {
        match self {
            Section::Http => "http",
            Section::Tls => "tls",
            Section::Tcp => "tcp",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::Http => "HTTP",
            Section::Tls => "TLS",
            Section::Tcp => "TCP",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Section::Http => "routes",
            Section::Tls => "tlsRoutes",
            Section::Tcp => "tcpRoutes",
        }
    }

    /// Whether the Rollout names routes of this section.
    fn named(self, spec: &IstioVirtualService) -> bool {
        match self {
            Section::Http => !spec.routes.is_empty(),
            Section::Tls => !spec.tls_routes.is_empty(),
            Section::Tcp => !spec.tcp_routes.is_empty(),
        }
    }
}

/// The port a TLS or TCP route matches: its `match[].port` when all its match blocks agree (0 without a port),
/// `None` when they name different ports (such a route never matches, as in Argo Rollouts).
fn route_port(route: &Value) -> Option<i64> {
    let mut ports: Vec<i64> = route
        .get("match")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| m.get("port").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    match ports.as_slice() {
        [] => Some(0),
        [p] => Some(*p),
        _ => None,
    }
}

/// The SNI hosts of all the match blocks of a TLS route, sorted and without duplicates.
fn route_sni_hosts(route: &Value) -> Vec<String> {
    let mut hosts: Vec<String> = route
        .get("match")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("sniHosts").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Whether a VirtualService route matches one `tlsRoutes` / `tcpRoutes` entry of the Rollout: the route's single
/// port equals the entry's `port` (0 when absent) and, for TLS, its SNI hosts are exactly the entry's `sniHosts`.
fn matches(section: Section, wanted: &Value, route: &Value) -> bool {
    let port = wanted.get("port").and_then(Value::as_i64).unwrap_or(0);
    if route_port(route) != Some(port) {
        return false;
    }
    if section != Section::Tls {
        return true;
    }
    let mut sni: Vec<String> = wanted
        .get("sniHosts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    sni.sort();
    sni.dedup();
    sni == route_sni_hosts(route)
}

/// The indexes of the routes of `section` the Rollout weighs: those named (`routes`) or matched (`tlsRoutes`,
/// `tcpRoutes`), else the only route of the section. An empty list when the Rollout names none and the
/// VirtualService has no such section.
fn selected(
    section: Section,
    spec: &IstioVirtualService,
    routes: Option<&Vec<Value>>,
) -> Result<Vec<usize>, String> {
    let (label, field) = (section.label(), section.field());
    let Some(routes) = routes else {
        return if section.named(spec) {
            Err(format!(
                "has no {label} routes, but the Rollout names some in {field}"
            ))
        } else {
            Ok(Vec::new())
        };
    };
    if !section.named(spec) {
        return match routes.len() {
            1 => Ok(vec![0]),
            n => Err(format!(
                "has {n} {label} routes; name the ones to weigh in trafficRouting.istio.virtualService.{field}"
            )),
        };
    }
    let mut out = Vec::new();
    match section {
        Section::Http => {
            for name in &spec.routes {
                let i = routes
                    .iter()
                    .position(|r| r.get("name").and_then(Value::as_str) == Some(name))
                    .ok_or_else(|| format!("has no HTTP route named {name:?}"))?;
                out.push(i);
            }
        }
        Section::Tls | Section::Tcp => {
            let wanted = if section == Section::Tls {
                &spec.tls_routes
            } else {
                &spec.tcp_routes
            };
            for w in wanted {
                let found: Vec<usize> = (0..routes.len())
                    .filter(|&i| matches(section, w, &routes[i]))
                    .collect();
                if found.is_empty() {
                    return Err(format!("has no {label} route matching {field} entry {w}"));
                }
                out.extend(found);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A human name for route `i` of `section`: `HTTP route "primary"`, `TLS route 0`.
fn route_label(section: Section, i: usize, route: &Value) -> String {
    match route.get("name").and_then(Value::as_str) {
        Some(n) => format!("{} route {n:?}", section.label()),
        None => format!("{} route {i}", section.label()),
    }
}

/// Sets the weights on the canary and stable destinations of one route; whether anything changed.
fn weigh_route(route: &mut Value, backends: &Backends<'_>, weights: Weights) -> Result<bool, String> {
    let (mut c, mut s, mut changed) = (false, false, false);
    for d in route
        .get_mut("route")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let want = match backends.is_canary(d) {
            Some(true) => {
                c = true;
                weights.canary
            }
            Some(false) => {
                s = true;
                weights.stable
            }
            None => continue,
        };
        if d.get("weight").and_then(Value::as_i64) != Some(i64::from(want)) {
            d["weight"] = Value::from(want);
            changed = true;
        }
    }
    if !(c && s) {
        return Err(backends.missing());
    }
    Ok(changed)
}

/// The sections of `vs.spec` (`http`, `tls`, `tcp`) with the weights set on the routes the Rollout weighs (see
/// [`selected`]), as a merge patch of `spec` holding only the sections that changed; `None` when none did.
pub fn weighted(
    vs: &Value,
    spec: &IstioVirtualService,
    backends: &Backends<'_>,
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
    let mut patch = serde_json::Map::new();
    let mut weighed = 0;
    for section in Section::ALL {
        let live = vs.pointer(&format!("/spec/{}", section.key()));
        let mut routes = live.cloned();
        if section == Section::Http
            && let Some(list) = routes.as_mut().and_then(Value::as_array_mut)
        {
            list.retain(|r| !backends.is_managed(r));
        }
        let picked = selected(section, spec, routes.as_ref().and_then(Value::as_array)).map_err(&err)?;
        let Some(list) = routes.as_mut().and_then(Value::as_array_mut) else {
            if section == Section::Http && !backends.managed.routes.is_empty() {
                return Err(err(format!(
                    "has no HTTP routes for the managed route {:?}",
                    backends.managed.routes[0].name
                )));
            }
            continue;
        };
        let mut changed = false;
        for &i in &picked {
            let label = route_label(section, i, &list[i]);
            changed |=
                weigh_route(&mut list[i], backends, weights).map_err(|e| err(format!("{label} {e}")))?;
            weighed += 1;
        }
        if section == Section::Http {
            let first = picked.first().map(|&i| list[i].clone());
            let mut all = managed_routes(backends, first.as_ref());
            all.append(list);
            *list = all;
            changed = live.and_then(Value::as_array) != Some(&*list);
        }
        if changed {
            patch.insert(section.key().to_string(), Value::Array(list.clone()));
        }
    }
    if weighed == 0 {
        return Err(err("has no HTTP, TLS or TCP route to weigh".into()));
    }
    Ok((!patch.is_empty()).then_some(Value::Object(patch)))
}

/// The managed HTTP routes, built from the first weighed route (its destinations, the port of its first one).
fn managed_routes(backends: &Backends<'_>, weighed: Option<&Value>) -> Vec<Value> {
    let destinations = weighed
        .and_then(|r| r.get("route"))
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()));
    let port = destinations.pointer("/0/destination/port");
    let canary = backends.canary_destination(port);
    backends
        .managed
        .routes
        .iter()
        .map(|r| match &r.action {
            Action::Header(matches) => serde_json::json!({
                "name": r.name,
                "match": matches.iter().map(|m| {
                    let mut value = serde_json::Map::new();
                    if let Some((kind, v)) = m.header_value.as_ref().and_then(|v| v.one()) {
                        value.insert(kind.to_string(), Value::from(v));
                    }
                    serde_json::json!({"headers": {m.header_name.clone(): value}})
                }).collect::<Vec<_>>(),
                "route": [{"destination": canary, "weight": 100}],
            }),
            Action::Mirror { matches, percentage } => serde_json::json!({
                "name": r.name,
                "match": matches.iter().map(mirror_match).collect::<Vec<_>>(),
                "route": destinations,
                "mirror": canary,
                "mirrorPercentage": {"value": percentage.unwrap_or(100)},
            }),
        })
        .collect()
}

/// An Istio `HTTPMatchRequest` from a `setMirrorRoute` match: `method`, `uri`, `headers`.
fn mirror_match(m: &tack_rollout::spec::RouteMatch) -> Value {
    let one = |s: &tack_rollout::spec::StringMatch| {
        s.one()
            .map(|(k, v)| serde_json::json!({k: v}))
            .unwrap_or_else(|| serde_json::json!({}))
    };
    let mut out = serde_json::Map::new();
    if let Some(method) = &m.method {
        out.insert("method".into(), one(method));
    }
    if let Some(path) = &m.path {
        out.insert("uri".into(), one(path));
    }
    if !m.headers.is_empty() {
        let headers: serde_json::Map<String, Value> =
            m.headers.iter().map(|(k, v)| (k.clone(), one(v))).collect();
        out.insert("headers".into(), Value::Object(headers));
    }
    Value::Object(out)
}

/// The weights of one route (`None` when it has no canary and stable destinations).
fn route_weights(route: &Value, backends: &Backends<'_>) -> Option<Weights> {
    let mut c = None;
    let mut s = None;
    for d in route.get("route")?.as_array()? {
        let w = d
            .get("weight")
            .and_then(Value::as_i64)
            .and_then(|w| i32::try_from(w).ok())
            .unwrap_or(0);
        match backends.is_canary(d) {
            Some(true) => c = Some(w),
            Some(false) => s = Some(w),
            None => {}
        }
    }
    Some(Weights {
        canary: c?,
        stable: s?,
    })
}

/// The weights each weighed route of `vs` carries, read back from the object: one entry per route, named as in
/// [`route_label`] (`None` when the route has no canary and stable destinations, or cannot be selected).
pub fn weights_of(
    vs: &Value,
    spec: &IstioVirtualService,
    backends: &Backends<'_>,
) -> Vec<(String, Option<Weights>)> {
    let mut out = Vec::new();
    for section in Section::ALL {
        let routes: Option<Vec<Value>> = vs
            .pointer(&format!("/spec/{}", section.key()))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter(|r| section != Section::Http || !backends.is_managed(r))
                    .cloned()
                    .collect()
            });
        let routes = routes.as_ref();
        match selected(section, spec, routes) {
            Ok(picked) => {
                for i in picked {
                    let route = routes.and_then(|r| r.get(i)).unwrap_or(&Value::Null);
                    out.push((route_label(section, i, route), route_weights(route, backends)));
                }
            }
            Err(_) => out.push((format!("{} routes", section.label()), None)),
        }
    }
    out
}

/// The merge patch making the canary and stable subsets of DestinationRule `dr` select the pods of `canary_hash`
/// and `stable_hash` (the label removed when there is no hash), the object annotated as managed by `rollout`;
/// `None` when it already is. Other subsets and fields are kept.
pub fn destination_rule_patch(
    dr: &Value,
    spec: &IstioDestinationRule,
    rollout: &str,
    canary_hash: Option<&str>,
    stable_hash: Option<&str>,
) -> Result<Option<Value>, Error> {
    let err = |reason: String| Error::Router {
        kind: "DestinationRule",
        name: spec.name.clone(),
        reason,
    };
    let mut subsets = dr
        .pointer("/spec/subsets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for (name, hash) in [
        (&spec.canary_subset_name, canary_hash),
        (&spec.stable_subset_name, stable_hash),
    ] {
        let subset = subsets
            .iter_mut()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| err(format!("has no subset named {name:?}")))?;
        let current = subset
            .pointer(&format!("/labels/{POD_TEMPLATE_HASH_LABEL}"))
            .and_then(Value::as_str);
        if current == hash {
            continue;
        }
        changed = true;
        if !subset.get("labels").is_some_and(Value::is_object) {
            subset["labels"] = Value::Object(serde_json::Map::new());
        }
        if let Some(labels) = subset.get_mut("labels").and_then(Value::as_object_mut) {
            match hash {
                Some(h) => labels.insert(POD_TEMPLATE_HASH_LABEL.to_string(), Value::from(h)),
                None => labels.remove(POD_TEMPLATE_HASH_LABEL),
            };
        }
    }
    let managed = dr
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MANAGED_BY_ANNOTATION))
        .and_then(Value::as_str);
    if !changed && managed == Some(rollout) {
        return Ok(None);
    }
    Ok(Some(serde_json::json!({
        "metadata": {"annotations": {MANAGED_BY_ANNOTATION: rollout}},
        "spec": {"subsets": subsets},
    })))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SVC: Backends<'static> = Backends {
        canary_service: "web-canary",
        stable_service: "web-stable",
        subsets: None,
        managed: Managed::NONE,
    };

    const W20: Weights = Weights {
        canary: 20,
        stable: 80,
    };

    fn vs() -> Value {
        json!({"metadata": {"name": "web-vs"}, "spec": {"hosts": ["web"], "http": [
            {"name": "primary", "route": [
                {"destination": {"host": "web-stable"}, "weight": 100},
                {"destination": {"host": "web-canary.shop.svc.cluster.local"}, "weight": 0}]},
            {"name": "other", "route": [{"destination": {"host": "x"}, "weight": 100}]}]}})
    }

    fn spec(v: Value) -> IstioVirtualService {
        serde_json::from_value(v).expect("spec")
    }

    fn pair(stable: i64, canary: i64) -> Value {
        json!([{"destination": {"host": "web-stable", "port": {"number": 443}}, "weight": stable},
               {"destination": {"host": "web-canary"}, "weight": canary}])
    }

    /// A VirtualService with TLS routes on ports 443 (two SNI sets) and 8443, and TCP routes on 5432 and 6379.
    fn l4() -> Value {
        json!({"metadata": {"name": "db-vs"}, "spec": {
            "tls": [
                {"match": [{"port": 443, "sniHosts": ["a.example", "b.example"]}], "route": pair(100, 0)},
                {"match": [{"port": 443, "sniHosts": ["c.example"]}], "route": pair(100, 0)},
                {"match": [{"port": 8443, "sniHosts": ["a.example"]}, {"port": 9443}], "route": pair(100, 0)}],
            "tcp": [
                {"match": [{"port": 5432}], "route": pair(100, 0)},
                {"match": [{"port": 6379}], "route": pair(100, 0)}]}})
    }

    fn apply(v: &Value, patch: Value) -> Value {
        let mut out = v.clone();
        for (k, section) in patch.as_object().expect("object") {
            out["spec"][k] = section.clone();
        }
        out
    }

    #[test]
    fn sets_named_route_weights() {
        let v = vs();
        let s = spec(json!({"name": "web-vs", "routes": ["primary"]}));
        let w = Weights {
            canary: 50,
            stable: 50,
        };
        let patch = weighted(&v, &s, &SVC, w).expect("ok").expect("changed");
        assert_eq!(patch["http"][0]["route"][0]["weight"], 50);
        assert_eq!(patch["http"][0]["route"][1]["weight"], 50);
        assert_eq!(patch["http"][1]["route"][0]["weight"], 100);
        assert!(patch.get("tls").is_none() && patch.get("tcp").is_none());
        let v2 = apply(&v, patch);
        assert_eq!(
            weights_of(&v2, &s, &SVC),
            vec![("HTTP route \"primary\"".to_string(), Some(w))]
        );
        assert_eq!(weighted(&v2, &s, &SVC, w), Ok(None));
    }

    #[test]
    fn tls_routes_match_port_and_exact_sni_hosts() {
        let v = l4();
        // SNI hosts in another order still match; the 443 route for c.example is left alone.
        let s = spec(json!({"name": "db-vs",
            "tlsRoutes": [{"port": 443, "sniHosts": ["b.example", "a.example"]}],
            "tcpRoutes": [{"port": 6379}]}));
        let patch = weighted(&v, &s, &SVC, W20).expect("ok").expect("changed");
        assert_eq!(patch["tls"][0]["route"], pair(80, 20));
        assert_eq!(patch["tls"][1]["route"], pair(100, 0));
        assert_eq!(patch["tls"][2]["route"], pair(100, 0));
        assert_eq!(patch["tcp"][0]["route"], pair(100, 0));
        assert_eq!(patch["tcp"][1]["route"], pair(80, 20));
        // Other fields of the route (the match blocks, the destination port) are kept.
        assert_eq!(patch["tls"][0]["match"], v["spec"]["tls"][0]["match"]);
        let v2 = apply(&v, patch);
        assert_eq!(
            weights_of(&v2, &s, &SVC),
            vec![
                ("TLS route 0".to_string(), Some(W20)),
                ("TCP route 1".to_string(), Some(W20))
            ]
        );
        assert_eq!(weighted(&v2, &s, &SVC, W20), Ok(None));
    }

    #[test]
    fn a_subset_of_the_sni_hosts_or_a_route_with_two_ports_does_not_match() {
        let v = l4();
        for (entry, why) in [
            (
                json!({"port": 443, "sniHosts": ["a.example"]}),
                "subset of SNI hosts",
            ),
            (
                json!({"port": 8443, "sniHosts": ["a.example"]}),
                "route with ports 8443 and 9443",
            ),
            (json!({"port": 444, "sniHosts": ["c.example"]}), "other port"),
        ] {
            let s = spec(json!({"name": "db-vs", "tlsRoutes": [entry], "tcpRoutes": [{"port": 5432}]}));
            let e = weighted(&v, &s, &SVC, W20).expect_err(why);
            assert!(
                e.to_string().contains("no TLS route matching tlsRoutes entry"),
                "{why}: {e}"
            );
        }
    }

    #[test]
    fn a_section_not_named_weighs_its_only_route() {
        let v = json!({"metadata": {"name": "vs"}, "spec": {
            "tls": [{"match": [{"port": 443, "sniHosts": ["a.example"]}], "route": pair(100, 0)}],
            "tcp": [{"match": [{"port": 5432}], "route": pair(100, 0)}]}});
        let s = spec(json!({"name": "vs"}));
        let patch = weighted(&v, &s, &SVC, W20).expect("ok").expect("changed");
        assert_eq!(patch["tls"][0]["route"], pair(80, 20));
        assert_eq!(patch["tcp"][0]["route"], pair(80, 20));
        // Several TCP routes and none named: the Rollout must say which.
        let e = weighted(
            &l4(),
            &spec(json!({"name": "db-vs", "tlsRoutes": [{"port": 443, "sniHosts": ["c.example"]}]})),
            &SVC,
            W20,
        )
        .expect_err("two tcp routes");
        assert!(
            e.to_string().contains("has 2 TCP routes") && e.to_string().contains("tcpRoutes"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let v = vs();
        let named = |routes: Value| spec(json!({"name": "web-vs", "routes": routes}));
        let e = weighted(&v, &named(json!([])), &SVC, W20).expect_err("two routes, none named");
        assert!(e.to_string().contains("routes"), "{e}");
        let e = weighted(&v, &named(json!(["nope"])), &SVC, W20).expect_err("unknown route");
        assert!(e.to_string().contains("nope"), "{e}");
        let e = weighted(&v, &named(json!(["other"])), &SVC, W20).expect_err("no canary destination");
        assert!(e.to_string().contains("\"other\""), "{e}");
        let s = spec(json!({"name": "web-vs", "routes": ["primary"], "tcpRoutes": [{"port": 1}]}));
        let e = weighted(&v, &s, &SVC, W20).expect_err("no tcp section");
        assert!(e.to_string().contains("has no TCP routes"), "{e}");
        let e = weighted(
            &json!({"metadata": {"name": "e"}, "spec": {}}),
            &spec(json!({"name": "e"})),
            &SVC,
            W20,
        )
        .expect_err("nothing to weigh");
        assert!(e.to_string().contains("no HTTP, TLS or TCP route"), "{e}");
    }

    #[test]
    fn names() {
        assert_eq!(split_name("vs.ns"), ("vs", Some("ns")));
        assert_eq!(split_name("vs"), ("vs", None));
    }

    #[test]
    fn subsets_are_weighed_and_get_the_hashes() {
        let v = json!({"metadata": {"name": "vs"}, "spec": {"http": [{"name": "primary", "route": [
            {"destination": {"host": "web", "subset": "stable"}, "weight": 100},
            {"destination": {"host": "web", "subset": "canary"}, "weight": 0}]}]}});
        let istio: IstioTrafficRouting = serde_json::from_value(json!({
            "virtualService": {"name": "vs", "routes": ["primary"]},
            "destinationRule": {"name": "dr", "canarySubsetName": "canary", "stableSubsetName": "stable"}}))
        .expect("istio");
        let backends = Backends::new(&istio, "", "");
        let s = istio.virtual_service.clone().expect("vs");
        let patch = weighted(&v, &s, &backends, W20).expect("ok").expect("changed");
        assert_eq!(patch["http"][0]["route"][0]["weight"], 80);
        assert_eq!(patch["http"][0]["route"][1]["weight"], 20);
        assert_eq!(
            weights_of(&apply(&v, patch), &s, &backends),
            vec![("HTTP route \"primary\"".to_string(), Some(W20))]
        );
        // Routes to the Services rather than the subsets do not carry the split.
        let e = weighted(
            &vs(),
            &spec(json!({"name": "web-vs", "routes": ["primary"]})),
            &backends,
            W20,
        )
        .expect_err("no subsets");
        assert!(e.to_string().contains("canary subset \"canary\""), "{e}");

        let dr_spec = istio.destination_rule.clone().expect("dr");
        let dr = json!({"metadata": {"name": "dr"}, "spec": {"host": "web", "subsets": [
            {"name": "stable", "labels": {"app": "web"}},
            {"name": "canary", "labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: "old"}},
            {"name": "extra", "labels": {"v": "x"}, "trafficPolicy": {}}]}});
        let patch = destination_rule_patch(&dr, &dr_spec, "web", Some("h2"), Some("h1"))
            .expect("ok")
            .expect("changed");
        assert_eq!(patch["metadata"]["annotations"][MANAGED_BY_ANNOTATION], "web");
        assert_eq!(
            patch["spec"]["subsets"],
            json!([
                {"name": "stable", "labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: "h1"}},
                {"name": "canary", "labels": {"app": "web", POD_TEMPLATE_HASH_LABEL: "h2"}},
                {"name": "extra", "labels": {"v": "x"}, "trafficPolicy": {}}])
        );
        let mut stored = dr.clone();
        stored["metadata"] = patch["metadata"].clone();
        stored["spec"]["subsets"] = patch["spec"]["subsets"].clone();
        assert_eq!(
            destination_rule_patch(&stored, &dr_spec, "web", Some("h2"), Some("h1")),
            Ok(None)
        );
        // No canary hash: the label is removed.
        let patch = destination_rule_patch(&stored, &dr_spec, "web", None, Some("h1"))
            .expect("ok")
            .expect("changed");
        assert_eq!(
            patch["spec"]["subsets"][1],
            json!({"name": "canary", "labels": {"app": "web"}})
        );
        let mut missing = dr_spec.clone();
        missing.stable_subset_name = "primary".into();
        let e = destination_rule_patch(&dr, &missing, "web", Some("h2"), Some("h1")).expect_err("no subset");
        assert!(
            e.to_string()
                .contains("DestinationRule dr: has no subset named \"primary\""),
            "{e}"
        );
    }

    fn active(steps: Value, dr: bool) -> (Rollout, Vec<Route>) {
        let mut istio = json!({"virtualService": {"name": "vs"}});
        if dr {
            istio["destinationRule"] =
                json!({"name": "dr", "canarySubsetName": "canary", "stableSubsetName": "stable"});
        }
        let r: Rollout = serde_json::from_value(json!({
            "spec": {"strategy": {"canary": {
                "trafficRouting": {"managedRoutes": [{"name": "mirror"}, {"name": "header"}], "istio": istio},
                "steps": steps}}},
            "status": {"currentStepIndex": 2, "currentPodHash": "new", "stableRS": "old"}}))
        .expect("rollout");
        let routes = crate::managed::active(&r);
        (r, routes)
    }

    #[test]
    fn header_and_mirror_routes_are_put_first_in_managed_routes_order() {
        let v = json!({"metadata": {"name": "vs"}, "spec": {"http": [{"route": [
            {"destination": {"host": "web-stable", "port": {"number": 8080}}, "weight": 100},
            {"destination": {"host": "web-canary", "port": {"number": 8080}}, "weight": 0}]}]}});
        let (_, routes) = active(
            json!([
                {"setHeaderRoute": {"name": "header", "match": [
                    {"headerName": "x-canary", "headerValue": {"exact": "yes"}},
                    {"headerName": "x-user", "headerValue": {"regex": "^b.*"}}]}},
                {"setMirrorRoute": {"name": "mirror", "percentage": 35, "match": [
                    {"method": {"exact": "GET"}, "path": {"prefix": "/api"}, "headers": {"x-m": {"exact": "1"}}}]}},
                {"pause": {}}]),
            false,
        );
        let names = ["mirror", "header"];
        let backends = SVC.with_managed(Managed {
            names: &names,
            routes: &routes,
            canary_host: None,
        });
        let s = spec(json!({"name": "vs"}));
        let patch = weighted(&v, &s, &backends, W20).expect("ok").expect("changed");
        let http = patch["http"].as_array().expect("http");
        assert_eq!(http.len(), 3);
        assert_eq!(
            http[0],
            json!({"name": "mirror",
                   "match": [{"method": {"exact": "GET"}, "uri": {"prefix": "/api"}, "headers": {"x-m": {"exact": "1"}}}],
                   "route": [
                       {"destination": {"host": "web-stable", "port": {"number": 8080}}, "weight": 80},
                       {"destination": {"host": "web-canary", "port": {"number": 8080}}, "weight": 20}],
                   "mirror": {"host": "web-canary", "port": {"number": 8080}},
                   "mirrorPercentage": {"value": 35}})
        );
        assert_eq!(
            http[1],
            json!({"name": "header",
                   "match": [{"headers": {"x-canary": {"exact": "yes"}}}, {"headers": {"x-user": {"regex": "^b.*"}}}],
                   "route": [{"destination": {"host": "web-canary", "port": {"number": 8080}}, "weight": 100}]})
        );
        assert_eq!(http[2]["route"][1]["weight"], 20);
        // Stored: the unnamed route is still the one weighed, nothing more to write.
        let stored = apply(&v, patch.clone());
        assert_eq!(weighted(&stored, &s, &backends, W20), Ok(None));
        assert_eq!(
            weights_of(&stored, &s, &backends),
            vec![("HTTP route 0".to_string(), Some(W20))]
        );
        // The managed routes go when none is active.
        let none = SVC.with_managed(Managed {
            names: &names,
            routes: &[],
            canary_host: None,
        });
        let patch = weighted(&stored, &s, &none, W20).expect("ok").expect("changed");
        assert_eq!(patch["http"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn header_route_with_subsets_goes_to_the_destination_rule_host_and_canary_subset() {
        let v = json!({"metadata": {"name": "vs"}, "spec": {"http": [{"name": "primary", "route": [
            {"destination": {"host": "web", "subset": "stable"}, "weight": 100},
            {"destination": {"host": "web", "subset": "canary"}, "weight": 0}]}]}});
        let (r, routes) = active(
            json!([{"setHeaderRoute": {"name": "header", "match": [
                {"headerName": "x-canary", "headerValue": {"prefix": "y"}}]}}, {"pause": {}}, {"pause": {}}]),
            true,
        );
        let istio = r
            .spec
            .strategy
            .canary
            .as_ref()
            .and_then(|c| c.traffic_routing.as_ref())
            .and_then(|t| t.istio.as_ref())
            .expect("istio");
        let names = ["mirror", "header"];
        let backends = Backends::new(istio, "", "").with_managed(Managed {
            names: &names,
            routes: &routes,
            canary_host: Some("web.shop.svc.cluster.local"),
        });
        let s = spec(json!({"name": "vs", "routes": ["primary"]}));
        let patch = weighted(&v, &s, &backends, W20).expect("ok").expect("changed");
        assert_eq!(
            patch["http"][0]["route"],
            json!([{"destination": {"host": "web.shop.svc.cluster.local", "subset": "canary"}, "weight": 100}])
        );
        assert_eq!(
            patch["http"][0]["match"],
            json!([{"headers": {"x-canary": {"prefix": "y"}}}])
        );
    }
}
