//! Services and traffic routers: the I/O side of [`tack_traffic`].

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use tack_rollout::spec::Rollout;
use tack_traffic::{GATEWAY_API_PLUGIN, MANAGED_BY_ANNOTATION, Weights, gateway, istio, nginx};

use super::{Error, FIELD_MANAGER, merge_params};

/// `gateway.networking.k8s.io/v1` `HTTPRoute`.
pub fn http_route_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    )
}

/// `networking.istio.io/v1beta1` `VirtualService`.
pub fn virtual_service_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.istio.io", "v1beta1", "VirtualService"),
        "virtualservices",
    )
}

fn traffic(rollout: &str, message: impl Into<String>) -> Error {
    Error::Traffic {
        rollout: rollout.to_string(),
        message: message.into(),
    }
}

/// Points each Service at its hash; returns the Services changed.
pub(crate) async fn apply_services(
    client: &kube::Client,
    namespace: &str,
    rollout: &str,
    services: &[(String, String)],
) -> Result<Vec<String>, Error> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let mut changed = Vec::new();
    for (name, hash) in services {
        let svc = api
            .get_opt(name)
            .await
            .map_err(Error::kube(format!("reading Service {name}")))?
            .ok_or_else(|| {
                traffic(
                    rollout,
                    format!("Service {name:?} not found in namespace {namespace}; create it or fix the Rollout's service names"),
                )
            })?;
        let value = serde_json::to_value(&svc).unwrap_or(Value::Null);
        let managed = value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(MANAGED_BY_ANNOTATION))
            .and_then(Value::as_str);
        if tack_traffic::selected_hash(&value) == Some(hash.as_str()) && managed == Some(rollout) {
            continue;
        }
        api.patch(
            name,
            &merge_params(),
            &Patch::Merge(&tack_traffic::service_selector_patch(rollout, hash)),
        )
        .await
        .map_err(Error::kube(format!("updating the selector of Service {name}")))?;
        changed.push(name.clone());
    }
    Ok(changed)
}

/// What setting the routers did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// A description of each object changed.
    pub(crate) changes: Vec<String>,
    /// Each router object and the canary weight read back from it as the API server stored it (`None`: no
    /// weight found).
    pub(crate) read_back: Vec<(String, Option<i32>)>,
}

/// Sets the routers of `trafficRouting` to `weights` and reads the weights back from the stored objects.
pub(crate) async fn apply_routers(
    client: &kube::Client,
    namespace: &str,
    rollout: &Rollout,
    uid: &str,
    weights: Weights,
) -> Result<Applied, Error> {
    let name = tack_traffic::rollout_name(rollout);
    let Some(routing) = rollout
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
    else {
        return Ok(Applied::default());
    };
    let (canary_svc, stable_svc) =
        tack_traffic::canary_and_stable_services(rollout).map_err(|e| traffic(name, e.to_string()))?;
    let mut changed = Vec::new();
    let mut read_back = Vec::new();

    if let Some(ng) = &routing.nginx {
        let api: Api<Ingress> = Api::namespaced(client.clone(), namespace);
        for stable_name in nginx::stable_ingresses(ng) {
            let stable = api
                .get_opt(stable_name)
                .await
                .map_err(Error::kube(format!("reading Ingress {stable_name}")))?
                .ok_or_else(|| {
                    traffic(
                        name,
                        format!("stable Ingress {stable_name:?} not found in namespace {namespace}"),
                    )
                })?;
            let stable = serde_json::to_value(&stable).unwrap_or(Value::Null);
            let desired = nginx::canary_ingress(&nginx::CanaryIngressInput {
                rollout: name,
                rollout_uid: uid,
                nginx: ng,
                stable_ingress: &stable,
                stable_service: stable_svc,
                canary_service: canary_svc,
                weight: weights.canary,
            })
            .map_err(|e| traffic(name, e.to_string()))?;
            let canary_name = nginx::canary_ingress_name(name, stable_name);
            let live = api
                .get_opt(&canary_name)
                .await
                .map_err(Error::kube(format!("reading Ingress {canary_name}")))?
                .map(|i| serde_json::to_value(&i).unwrap_or(Value::Null));
            let same = live.as_ref().is_some_and(|l| {
                l.get("spec") == desired.get("spec")
                    && desired["metadata"]["annotations"]
                        .as_object()
                        .is_some_and(|want| {
                            want.iter().all(|(k, v)| {
                                l.pointer("/metadata/annotations").and_then(|a| a.get(k)) == Some(v)
                            })
                        })
            });
            let stored = if same {
                live.unwrap_or(Value::Null)
            } else {
                let stored = api
                    .patch(
                        &canary_name,
                        &PatchParams::apply(FIELD_MANAGER).force(),
                        &Patch::Apply(&desired),
                    )
                    .await
                    .map_err(Error::kube(format!("applying the canary Ingress {canary_name}")))?;
                changed.push(format!("Ingress {canary_name} canary-weight {}", weights.canary));
                serde_json::to_value(&stored).unwrap_or(Value::Null)
            };
            read_back.push((format!("Ingress {canary_name}"), nginx::weight_of(&stored, ng)));
        }
    }

    if let Some(config) = routing.plugins.get(GATEWAY_API_PLUGIN) {
        for r in gateway::routes(config) {
            let ns = r.namespace.as_deref().unwrap_or(namespace);
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &http_route_resource());
            let live = api
                .get_opt(&r.name)
                .await
                .map_err(Error::kube(format!("reading HTTPRoute {ns}/{}", r.name)))?
                .ok_or_else(|| {
                    traffic(
                        name,
                        format!("HTTPRoute {:?} not found in namespace {ns}", r.name),
                    )
                })?;
            let mut value = serde_json::to_value(&live).unwrap_or(Value::Null);
            if let Some(rules) = gateway::weighted_rules(&value, canary_svc, stable_svc, weights)
                .map_err(|e| traffic(name, e.to_string()))?
            {
                let patch = json!({
                    "metadata": {"resourceVersion": live.metadata.resource_version},
                    "spec": {"rules": rules},
                });
                let stored = api
                    .patch(&r.name, &merge_params(), &Patch::Merge(&patch))
                    .await
                    .map_err(Error::kube(format!(
                        "setting the weights of HTTPRoute {ns}/{}",
                        r.name
                    )))?;
                value = serde_json::to_value(&stored).unwrap_or(Value::Null);
                changed.push(format!(
                    "HTTPRoute {} canary {} stable {}",
                    r.name, weights.canary, weights.stable
                ));
            }
            read_back.push((
                format!("HTTPRoute {}", r.name),
                gateway::weights_of(&value, canary_svc, stable_svc).map(|w| w.canary),
            ));
        }
    }

    if let Some(is) = &routing.istio {
        for vs in istio::virtual_services(is) {
            let (vs_name, vs_ns) = istio::split_name(&vs.name);
            let ns = vs_ns.unwrap_or(namespace);
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), ns, &virtual_service_resource());
            let live = api
                .get_opt(vs_name)
                .await
                .map_err(Error::kube(format!("reading VirtualService {ns}/{vs_name}")))?
                .ok_or_else(|| {
                    traffic(
                        name,
                        format!("VirtualService {vs_name:?} not found in namespace {ns}"),
                    )
                })?;
            let mut value = serde_json::to_value(&live).unwrap_or(Value::Null);
            if let Some(http) = istio::weighted_http(&value, &vs.routes, canary_svc, stable_svc, weights)
                .map_err(|e| traffic(name, e.to_string()))?
            {
                let patch = json!({
                    "metadata": {"resourceVersion": live.metadata.resource_version},
                    "spec": {"http": http},
                });
                let stored = api
                    .patch(vs_name, &merge_params(), &Patch::Merge(&patch))
                    .await
                    .map_err(Error::kube(format!(
                        "setting the weights of VirtualService {ns}/{vs_name}"
                    )))?;
                value = serde_json::to_value(&stored).unwrap_or(Value::Null);
                changed.push(format!(
                    "VirtualService {vs_name} canary {} stable {}",
                    weights.canary, weights.stable
                ));
            }
            read_back.push((
                format!("VirtualService {vs_name}"),
                istio::weights_of(&value, &vs.routes, canary_svc, stable_svc).map(|w| w.canary),
            ));
        }
    }
    Ok(Applied {
        changes: changed,
        read_back,
    })
}

/// Whether every router carries `canary` as read back (`Some(false)` names the first that does not), `None`
/// without routers.
pub(crate) fn verify(read_back: &[(String, Option<i32>)], canary: i32) -> Option<Result<(), String>> {
    if read_back.is_empty() {
        return None;
    }
    Some(match read_back.iter().find(|(_, w)| *w != Some(canary)) {
        None => Ok(()),
        Some((what, Some(w))) => Err(format!("{what} carries canary weight {w}, not {canary}")),
        Some((what, None)) => Err(format!("{what} carries no canary weight (expected {canary})")),
    })
}
