//! Services and traffic routers: the I/O side of [`tack_traffic`].

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use tack_rollout::spec::{
    IstioDestinationRule, IstioTrafficRouting, NginxTrafficRouting, Rollout, SmiTrafficRouting,
};
use tack_traffic::managed::{self, Action};
use tack_traffic::{GATEWAY_API_PLUGIN, MANAGED_BY_ANNOTATION, Weights, gateway, istio, nginx, smi};

use super::{Error, FIELD_MANAGER, merge_params};

/// `gateway.networking.k8s.io/v1` `HTTPRoute`.
pub fn http_route_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    )
}

/// `networking.istio.io/v1beta1` `DestinationRule`.
pub fn destination_rule_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("networking.istio.io", "v1beta1", "DestinationRule"),
        "destinationrules",
    )
}

/// `split.smi-spec.io/<version>` `TrafficSplit`.
pub fn traffic_split_resource(version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(smi::GROUP, version, "TrafficSplit"),
        "trafficsplits",
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
    let hashes = rollout.status.as_ref().and_then(|s| s.canary.weights.as_ref());
    let t = Target {
        client,
        namespace,
        name,
        uid,
        canary_svc,
        stable_svc,
        weights,
        canary_hash: hashes.and_then(|w| w.canary.pod_template_hash.as_deref()),
        stable_hash: hashes.and_then(|w| w.stable.pod_template_hash.as_deref()),
        managed: managed::active(rollout),
        managed_names: managed::names(rollout),
    };
    let mut out = Applied::default();
    if let Some(ng) = &routing.nginx {
        apply_nginx(&t, ng, &mut out).await?;
    }
    if let Some(config) = routing.plugins.get(GATEWAY_API_PLUGIN) {
        apply_gateway(&t, config, &mut out).await?;
    }
    if let Some(is) = &routing.istio {
        apply_istio(&t, is, &mut out).await?;
    }
    if let Some(split) = &routing.smi {
        apply_smi(&t, split, &mut out).await?;
    }
    Ok(out)
}

/// What every router is set for: the Rollout, its Services and the weights.
struct Target<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
    name: &'a str,
    uid: &'a str,
    canary_svc: &'a str,
    stable_svc: &'a str,
    weights: Weights,
    /// The hashes behind the canary and stable weights (`status.canary.weights`).
    canary_hash: Option<&'a str>,
    stable_hash: Option<&'a str>,
    /// The managed routes to carry now, and the names of all of them.
    managed: Vec<managed::Route>,
    managed_names: Vec<&'a str>,
}

impl Target<'_> {
    /// `; managed routes: a, b` (or `none`) for the Events of routers carrying managed routes (NGINX: the header
    /// routes only); empty without `managedRoutes`.
    fn managed_note(&self, headers_only: bool) -> String {
        if self.managed_names.is_empty() {
            return String::new();
        }
        let active: Vec<&str> = self
            .managed
            .iter()
            .filter(|r| !headers_only || matches!(r.action, Action::Header(_)))
            .map(|r| r.name.as_str())
            .collect();
        if active.is_empty() {
            "; managed routes: none".into()
        } else {
            format!("; managed routes: {}", active.join(", "))
        }
    }

    /// The match of the first active header route (NGINX routes by one header).
    fn header(&self) -> Option<&tack_rollout::spec::HeaderRoutingMatch> {
        self.managed.iter().find_map(|r| match &r.action {
            Action::Header(m) => m.first(),
            Action::Mirror { .. } => None,
        })
    }
}

/// NGINX: one canary Ingress beside each stable Ingress, applied only when its spec or annotations differ.
async fn apply_nginx(t: &Target<'_>, ng: &NginxTrafficRouting, out: &mut Applied) -> Result<(), Error> {
    let api: Api<Ingress> = Api::namespaced(t.client.clone(), t.namespace);
    for stable_name in nginx::stable_ingresses(ng) {
        let stable = api
            .get_opt(stable_name)
            .await
            .map_err(Error::kube(format!("reading Ingress {stable_name}")))?
            .ok_or_else(|| {
                traffic(
                    t.name,
                    format!(
                        "stable Ingress {stable_name:?} not found in namespace {}",
                        t.namespace
                    ),
                )
            })?;
        let stable = serde_json::to_value(&stable).unwrap_or(Value::Null);
        let desired = nginx::canary_ingress(&nginx::CanaryIngressInput {
            rollout: t.name,
            rollout_uid: t.uid,
            nginx: ng,
            stable_ingress: &stable,
            stable_service: t.stable_svc,
            canary_service: t.canary_svc,
            weight: t.weights.canary,
            header: t.header(),
        })
        .map_err(|e| traffic(t.name, e.to_string()))?;
        let prefix = nginx::prefix(ng);
        let canary_name = nginx::canary_ingress_name(t.name, stable_name);
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
                && nginx::HEADER_ANNOTATIONS.iter().all(|k| {
                    let k = format!("{prefix}/{k}");
                    l.pointer("/metadata/annotations").and_then(|a| a.get(&k))
                        == desired["metadata"]["annotations"].get(&k)
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
            out.changes.push(format!(
                "Ingress {canary_name} canary-weight {}{}",
                t.weights.canary,
                t.managed_note(true)
            ));
            serde_json::to_value(&stored).unwrap_or(Value::Null)
        };
        out.read_back
            .push((format!("Ingress {canary_name}"), nginx::weight_of(&stored, ng)));
    }
    Ok(())
}

/// Gateway API: the weights of the backend references in each HTTPRoute's rules.
async fn apply_gateway(t: &Target<'_>, config: &Value, out: &mut Applied) -> Result<(), Error> {
    for r in gateway::routes(config) {
        let ns = r.namespace.as_deref().unwrap_or(t.namespace);
        let api: Api<DynamicObject> = Api::namespaced_with(t.client.clone(), ns, &http_route_resource());
        let live = api
            .get_opt(&r.name)
            .await
            .map_err(Error::kube(format!("reading HTTPRoute {ns}/{}", r.name)))?
            .ok_or_else(|| {
                traffic(
                    t.name,
                    format!("HTTPRoute {:?} not found in namespace {ns}", r.name),
                )
            })?;
        let mut value = serde_json::to_value(&live).unwrap_or(Value::Null);
        if let Some(mut patch) = gateway::route_patch(
            &value,
            t.canary_svc,
            t.stable_svc,
            t.weights,
            &t.managed,
            r.use_header_routes,
        )
        .map_err(|e| traffic(t.name, e.to_string()))?
        {
            patch["metadata"]["resourceVersion"] = json!(live.metadata.resource_version);
            let stored = api
                .patch(&r.name, &merge_params(), &Patch::Merge(&patch))
                .await
                .map_err(Error::kube(format!(
                    "setting the weights of HTTPRoute {ns}/{}",
                    r.name
                )))?;
            value = serde_json::to_value(&stored).unwrap_or(Value::Null);
            out.changes.push(format!(
                "HTTPRoute {} canary {} stable {}{}",
                r.name,
                t.weights.canary,
                t.weights.stable,
                if r.use_header_routes {
                    t.managed_note(false)
                } else {
                    String::new()
                }
            ));
        }
        out.read_back.push((
            format!("HTTPRoute {}", r.name),
            gateway::weights_of(&value, t.canary_svc, t.stable_svc).map(|w| w.canary),
        ));
    }
    Ok(())
}

/// Istio: the weights of the destinations in each VirtualService's HTTP, TLS and TCP routes.
async fn apply_istio(t: &Target<'_>, is: &IstioTrafficRouting, out: &mut Applied) -> Result<(), Error> {
    let mut dr_host = None;
    if let Some(dr) = &is.destination_rule {
        dr_host = apply_destination_rule(t, dr, out).await?;
    }
    let backends = istio::Backends::new(is, t.canary_svc, t.stable_svc).with_managed(istio::Managed {
        names: &t.managed_names,
        routes: &t.managed,
        canary_host: dr_host.as_deref(),
    });
    for vs in istio::virtual_services(is) {
        let (vs_name, vs_ns) = istio::split_name(&vs.name);
        let ns = vs_ns.unwrap_or(t.namespace);
        let api: Api<DynamicObject> = Api::namespaced_with(t.client.clone(), ns, &virtual_service_resource());
        let live = api
            .get_opt(vs_name)
            .await
            .map_err(Error::kube(format!("reading VirtualService {ns}/{vs_name}")))?
            .ok_or_else(|| {
                traffic(
                    t.name,
                    format!("VirtualService {vs_name:?} not found in namespace {ns}"),
                )
            })?;
        let mut value = serde_json::to_value(&live).unwrap_or(Value::Null);
        if let Some(sections) =
            istio::weighted(&value, vs, &backends, t.weights).map_err(|e| traffic(t.name, e.to_string()))?
        {
            let patch = json!({
                "metadata": {"resourceVersion": live.metadata.resource_version},
                "spec": sections,
            });
            let stored = api
                .patch(vs_name, &merge_params(), &Patch::Merge(&patch))
                .await
                .map_err(Error::kube(format!(
                    "setting the weights of VirtualService {ns}/{vs_name}"
                )))?;
            value = serde_json::to_value(&stored).unwrap_or(Value::Null);
            out.changes.push(format!(
                "VirtualService {vs_name} canary {} stable {}{}",
                t.weights.canary,
                t.weights.stable,
                t.managed_note(false)
            ));
        }
        for (route, w) in istio::weights_of(&value, vs, &backends) {
            out.read_back
                .push((format!("VirtualService {vs_name} {route}"), w.map(|w| w.canary)));
        }
    }
    Ok(())
}

/// Istio subset-level splitting: the canary and stable subsets of the DestinationRule select the hashes behind
/// the weights, written before the VirtualService's weights. Returns the DestinationRule's `spec.host`.
async fn apply_destination_rule(
    t: &Target<'_>,
    dr: &IstioDestinationRule,
    out: &mut Applied,
) -> Result<Option<String>, Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), t.namespace, &destination_rule_resource());
    let live = api
        .get_opt(&dr.name)
        .await
        .map_err(Error::kube(format!(
            "reading DestinationRule {}/{}",
            t.namespace, dr.name
        )))?
        .ok_or_else(|| {
            traffic(
                t.name,
                format!(
                    "DestinationRule {:?} not found in namespace {}",
                    dr.name, t.namespace
                ),
            )
        })?;
    let value = serde_json::to_value(&live).unwrap_or(Value::Null);
    let host = value
        .pointer("/spec/host")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(mut patch) = istio::destination_rule_patch(&value, dr, t.name, t.canary_hash, t.stable_hash)
        .map_err(|e| traffic(t.name, e.to_string()))?
    else {
        return Ok(host);
    };
    patch["metadata"]["resourceVersion"] = json!(live.metadata.resource_version);
    api.patch(&dr.name, &merge_params(), &Patch::Merge(&patch))
        .await
        .map_err(Error::kube(format!(
            "setting the subsets of DestinationRule {}/{}",
            t.namespace, dr.name
        )))?;
    out.changes.push(format!(
        "DestinationRule {} subset updated ({}: {}, {}: {})",
        dr.name,
        dr.canary_subset_name,
        t.canary_hash.unwrap_or_default(),
        dr.stable_subset_name,
        t.stable_hash.unwrap_or_default()
    ));
    Ok(host)
}

/// SMI: the TrafficSplit, created or re-applied when its root Service or backends differ; refused when another
/// object owns it.
async fn apply_smi(t: &Target<'_>, split: &SmiTrafficRouting, out: &mut Applied) -> Result<(), Error> {
    let group = kube::discovery::group(t.client, smi::GROUP).await.map_err(|_| {
        traffic(
            t.name,
            format!(
                "the SMI TrafficSplit kind ({}) is not served by the cluster; install the SMI CRDs",
                smi::GROUP
            ),
        )
    })?;
    let version = smi::pick_version(group.versions()).ok_or_else(|| {
        traffic(
            t.name,
            format!(
                "{} serves none of the TrafficSplit versions {}",
                smi::GROUP,
                smi::VERSIONS.join(", ")
            ),
        )
    })?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), t.namespace, &traffic_split_resource(version));
    let desired = smi::traffic_split(&smi::SplitInput {
        smi: split,
        version,
        rollout: t.name,
        rollout_uid: t.uid,
        canary_service: t.canary_svc,
        stable_service: t.stable_svc,
        weights: t.weights,
    });
    let name = smi::split_name(split, t.name).to_string();
    let live = api
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!(
            "reading TrafficSplit {}/{name}",
            t.namespace
        )))?
        .map(|o| serde_json::to_value(&o).unwrap_or(Value::Null));
    if let Some(l) = &live {
        let owned = l
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|o| o.get("uid").and_then(Value::as_str) == Some(t.uid));
        if !owned {
            return Err(traffic(
                t.name,
                format!(
                    "Rollout does not own TrafficSplit `{name}`; delete it or name another in trafficSplitName"
                ),
            ));
        }
    }
    let stored = match live {
        Some(l) if smi::up_to_date(&l, &desired) => l,
        _ => {
            let stored = api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&desired),
                )
                .await
                .map_err(Error::kube(format!(
                    "applying TrafficSplit {}/{name}",
                    t.namespace
                )))?;
            out.changes.push(format!(
                "TrafficSplit {name} canary {} stable {}",
                t.weights.canary, t.weights.stable
            ));
            serde_json::to_value(&stored).unwrap_or(Value::Null)
        }
    };
    out.read_back.push((
        format!("TrafficSplit {name}"),
        smi::weights_of(&stored, t.canary_svc, t.stable_svc).map(|w| w.canary),
    ));
    Ok(())
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
