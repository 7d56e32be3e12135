//! NGINX Ingress: a canary Ingress beside each stable Ingress, as Argo Rollouts generates it.
//!
//! The canary Ingress `<rollout>-<stable ingress>-canary` copies the stable Ingress's class and rules, with every
//! backend that points at the stable Service switched to the canary Service, and carries
//! `<prefix>/canary: "true"` and `<prefix>/canary-weight: "<weight>"` (prefix `nginx.ingress.kubernetes.io` unless
//! `annotationPrefix` says otherwise) plus `additionalIngressAnnotations` (`canary-by-header`, …, under the same
//! prefix) and `canaryIngressAnnotations` (verbatim). The Rollout owns it, so it goes away with the Rollout.
//!
//! A `setHeaderRoute` step ([`crate::managed`]) becomes `canary-by-header: <name>` with `canary-by-header-value`
//! (an `exact` match) or `canary-by-header-pattern` (a `regex`, or `^<prefix>.*` for a `prefix`): ingress-nginx routes
//! one header to the canary, so a step with several matches is refused before any traffic moves. Argo Rollouts
//! leaves NGINX header routes to `additionalIngressAnnotations`; tack drives the same annotations from the steps.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tack_rollout::spec::{HeaderRoutingMatch, NginxTrafficRouting};

use crate::Error;

/// The default annotation prefix of ingress-nginx.
pub const DEFAULT_PREFIX: &str = "nginx.ingress.kubernetes.io";

/// The stable Ingresses named by `stableIngress` and `stableIngresses`, without duplicates.
pub fn stable_ingresses(nginx: &NginxTrafficRouting) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for name in nginx.stable_ingress.iter().chain(nginx.stable_ingresses.iter()) {
        if !name.is_empty() && !out.contains(&name.as_str()) {
            out.push(name);
        }
    }
    out
}

/// `<rollout>-<stable ingress>-canary`, cut to the 253 characters an object name may have.
pub fn canary_ingress_name(rollout: &str, stable_ingress: &str) -> String {
    let mut name = format!("{rollout}-{stable_ingress}-canary");
    if name.len() > 253 {
        let keep = 253 - "-canary".len();
        let mut base = format!("{rollout}-{stable_ingress}");
        base.truncate(keep);
        name = format!("{}-canary", base.trim_end_matches('-'));
    }
    name
}

/// What the canary Ingress is built from.
#[derive(Debug, Clone, Copy)]
pub struct CanaryIngressInput<'a> {
    /// Rollout name.
    pub rollout: &'a str,
    /// Rollout UID (for the owner reference).
    pub rollout_uid: &'a str,
    /// `trafficRouting.nginx`.
    pub nginx: &'a NginxTrafficRouting,
    /// The live stable Ingress.
    pub stable_ingress: &'a Value,
    /// `stableService`.
    pub stable_service: &'a str,
    /// `canaryService`.
    pub canary_service: &'a str,
    /// Canary weight in percent.
    pub weight: i32,
    /// The header of the active header route, if any.
    pub header: Option<&'a HeaderRoutingMatch>,
}

/// The annotations (without prefix) a header route sets: `canary-by-header` and the value or pattern.
pub const HEADER_ANNOTATIONS: [&str; 3] = [
    "canary-by-header",
    "canary-by-header-value",
    "canary-by-header-pattern",
];

/// `canary-by-header*` annotations (without prefix) for a header match.
pub fn header_annotations(header: &HeaderRoutingMatch) -> Vec<(&'static str, String)> {
    let mut out = vec![("canary-by-header", header.header_name.clone())];
    match header.header_value.as_ref().and_then(|v| v.one()) {
        Some(("exact", v)) => out.push(("canary-by-header-value", v.to_string())),
        Some(("prefix", v)) => out.push(("canary-by-header-pattern", format!("^{}.*", escape_regex(v)))),
        Some((_, v)) => out.push(("canary-by-header-pattern", v.to_string())),
        None => {}
    }
    out
}

/// `text` with the regular-expression metacharacters escaped.
fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The annotation prefix of `nginx` (`annotationPrefix`, default [`DEFAULT_PREFIX`]).
pub fn prefix(nginx: &NginxTrafficRouting) -> &str {
    nginx
        .annotation_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PREFIX)
}

/// The whole canary Ingress, ready for server-side apply.
pub fn canary_ingress(input: &CanaryIngressInput<'_>) -> Result<Value, Error> {
    let stable = input.stable_ingress;
    let stable_name = stable
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let err = |reason: String| Error::Router {
        kind: "Ingress",
        name: stable_name.clone(),
        reason,
    };
    let mut spec = Map::new();
    if let Some(class) = stable.pointer("/spec/ingressClassName") {
        spec.insert("ingressClassName".into(), class.clone());
    }
    let mut switched = 0usize;
    if let Some(backend) = stable.pointer("/spec/defaultBackend") {
        let mut b = backend.clone();
        switched += switch_backend(&mut b, input.stable_service, input.canary_service);
        spec.insert("defaultBackend".into(), b);
    }
    let mut rules = stable
        .pointer("/spec/rules")
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()));
    if let Some(rules) = rules.as_array_mut() {
        for rule in rules {
            if let Some(paths) = rule.pointer_mut("/http/paths").and_then(Value::as_array_mut) {
                for path in paths {
                    if let Some(b) = path.get_mut("backend") {
                        switched += switch_backend(b, input.stable_service, input.canary_service);
                    }
                }
            }
        }
    }
    if switched == 0 {
        return Err(err(format!(
            "no backend points at the stable Service {:?}; point the stable Ingress at stableService",
            input.stable_service
        )));
    }
    spec.insert("rules".into(), rules);

    let prefix = input
        .nginx
        .annotation_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PREFIX);
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    if let Some(class) = stable
        .pointer("/metadata/annotations/kubernetes.io~1ingress.class")
        .and_then(Value::as_str)
    {
        annotations.insert("kubernetes.io/ingress.class".into(), class.to_string());
    }
    for (k, v) in &input.nginx.canary_ingress_annotations {
        annotations.insert(k.clone(), v.clone());
    }
    for (k, v) in &input.nginx.additional_ingress_annotations {
        // As Argo Rollouts: the prefix is added unless the key already starts with it.
        let key = if k.starts_with(prefix) {
            k.clone()
        } else {
            format!("{prefix}/{k}")
        };
        annotations.insert(key, v.clone());
    }
    if let Some(h) = input.header {
        for k in HEADER_ANNOTATIONS {
            annotations.remove(&format!("{prefix}/{k}"));
        }
        for (k, v) in header_annotations(h) {
            annotations.insert(format!("{prefix}/{k}"), v);
        }
    }
    annotations.insert(format!("{prefix}/canary"), "true".into());
    annotations.insert(
        format!("{prefix}/canary-weight"),
        input.weight.clamp(0, 100).to_string(),
    );

    let mut metadata = json!({
        "name": canary_ingress_name(input.rollout, &stable_name),
        "annotations": annotations,
        "ownerReferences": [crate::owner_reference(input.rollout, input.rollout_uid)],
    });
    if let Some(ns) = stable.pointer("/metadata/namespace") {
        metadata["namespace"] = ns.clone();
    }
    Ok(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// Points `backend` at the canary Service when it points at the stable one; returns 1 when switched.
fn switch_backend(backend: &mut Value, stable: &str, canary: &str) -> usize {
    match backend.pointer_mut("/service/name") {
        Some(name) if name.as_str() == Some(stable) => {
            *name = Value::String(canary.to_string());
            1
        }
        _ => 0,
    }
}

/// The canary weight an existing canary Ingress carries (`None` when it has no weight annotation).
pub fn weight_of(ingress: &Value, nginx: &NginxTrafficRouting) -> Option<i32> {
    let prefix = nginx
        .annotation_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PREFIX);
    ingress
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(format!("{prefix}/canary-weight")))
        .and_then(Value::as_str)
        .and_then(|w| w.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stable() -> Value {
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop",
                         "annotations": {"kubernetes.io/ingress.class": "nginx", "other": "x"}},
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a"]}], "rules": [
                {"host": "a.example", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix",
                     "backend": {"service": {"name": "web-stable", "port": {"number": 80}}}},
                    {"path": "/other", "pathType": "Prefix",
                     "backend": {"service": {"name": "other", "port": {"number": 80}}}}]}}]}
        })
    }

    fn input<'a>(nginx: &'a NginxTrafficRouting, stable: &'a Value, weight: i32) -> CanaryIngressInput<'a> {
        CanaryIngressInput {
            rollout: "web",
            rollout_uid: "uid-1",
            nginx,
            stable_ingress: stable,
            stable_service: "web-stable",
            canary_service: "web-canary",
            weight,
            header: None,
        }
    }

    #[test]
    fn canary_ingress_switches_stable_backends_and_carries_the_weight() {
        let nginx = NginxTrafficRouting {
            stable_ingress: Some("web".into()),
            additional_ingress_annotations: [("canary-by-header".to_string(), "X-Canary".to_string())].into(),
            ..Default::default()
        };
        let s = stable();
        let c = canary_ingress(&input(&nginx, &s, 20)).expect("canary ingress");
        assert_eq!(c["metadata"]["name"], "web-web-canary");
        assert_eq!(c["metadata"]["namespace"], "shop");
        let a = &c["metadata"]["annotations"];
        assert_eq!(a["nginx.ingress.kubernetes.io/canary"], "true");
        assert_eq!(a["nginx.ingress.kubernetes.io/canary-weight"], "20");
        assert_eq!(a["nginx.ingress.kubernetes.io/canary-by-header"], "X-Canary");
        assert_eq!(a["kubernetes.io/ingress.class"], "nginx");
        assert!(a.get("other").is_none());
        let paths = &c["spec"]["rules"][0]["http"]["paths"];
        assert_eq!(paths[0]["backend"]["service"]["name"], "web-canary");
        assert_eq!(paths[1]["backend"]["service"]["name"], "other");
        assert_eq!(c["spec"]["ingressClassName"], "nginx");
        assert!(c["spec"].get("tls").is_none());
        assert_eq!(c["metadata"]["ownerReferences"][0]["kind"], "Rollout");
        assert_eq!(c["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(weight_of(&c, &nginx), Some(20));
    }

    #[test]
    fn custom_prefix() {
        let nginx = NginxTrafficRouting {
            annotation_prefix: Some("custom.nginx.org".into()),
            ..Default::default()
        };
        let s = stable();
        let c = canary_ingress(&input(&nginx, &s, 0)).expect("canary ingress");
        assert_eq!(
            c["metadata"]["annotations"]["custom.nginx.org/canary-weight"],
            "0"
        );
        assert_eq!(weight_of(&c, &nginx), Some(0));
    }

    #[test]
    fn stable_ingress_without_the_stable_service_is_an_error() {
        let nginx = NginxTrafficRouting::default();
        let s = stable();
        let mut i = input(&nginx, &s, 10);
        i.stable_service = "nope";
        let e = canary_ingress(&i).expect_err("no stable backend");
        assert!(e.to_string().contains("Ingress web"), "{e}");
    }

    #[test]
    fn names_and_lists() {
        assert_eq!(canary_ingress_name("r", "i"), "r-i-canary");
        let long = "x".repeat(300);
        let n = canary_ingress_name(&long, "i");
        assert_eq!(n.len(), 253);
        assert!(n.ends_with("-canary"));
        let nginx = NginxTrafficRouting {
            stable_ingress: Some("a".into()),
            stable_ingresses: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(stable_ingresses(&nginx), vec!["a", "b"]);
    }

    #[test]
    fn header_route_sets_the_canary_by_header_annotations() {
        let nginx = NginxTrafficRouting {
            stable_ingress: Some("web".into()),
            additional_ingress_annotations: [("canary-by-header".to_string(), "X-Old".to_string())].into(),
            ..Default::default()
        };
        let s = stable();
        let h = |v: Value| -> HeaderRoutingMatch {
            serde_json::from_value(json!({"headerName": "X-Canary", "headerValue": v})).expect("match")
        };
        let exact = h(json!({"exact": "yes"}));
        let mut i = input(&nginx, &s, 10);
        i.header = Some(&exact);
        let c = canary_ingress(&i).expect("canary ingress");
        let a = &c["metadata"]["annotations"];
        assert_eq!(a["nginx.ingress.kubernetes.io/canary-by-header"], "X-Canary");
        assert_eq!(a["nginx.ingress.kubernetes.io/canary-by-header-value"], "yes");
        assert!(
            a.get("nginx.ingress.kubernetes.io/canary-by-header-pattern")
                .is_none()
        );
        assert_eq!(a["nginx.ingress.kubernetes.io/canary-weight"], "10");
        let prefix = h(json!({"prefix": "beta.1"}));
        assert_eq!(
            header_annotations(&prefix),
            vec![
                ("canary-by-header", "X-Canary".to_string()),
                ("canary-by-header-pattern", "^beta\\.1.*".to_string())
            ]
        );
        let regex = h(json!({"regex": "^(a|b)$"}));
        assert_eq!(
            header_annotations(&regex)[1],
            ("canary-by-header-pattern", "^(a|b)$".to_string())
        );
        // A key already carrying the prefix keeps it once.
        let prefixed = NginxTrafficRouting {
            additional_ingress_annotations: [(
                "nginx.ingress.kubernetes.io/canary-by-cookie".to_string(),
                "beta".to_string(),
            )]
            .into(),
            ..nginx.clone()
        };
        let c = canary_ingress(&input(&prefixed, &s, 10)).expect("canary ingress");
        assert_eq!(
            c["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-cookie"],
            "beta"
        );
        // Without a header route the additional annotations stay as written.
        let c = canary_ingress(&input(&nginx, &s, 10)).expect("canary ingress");
        assert_eq!(
            c["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-header"],
            "X-Old"
        );
    }
}
