//! The cluster side of TenantPolicies: reading the policies that govern an application's namespace, and
//! describing its rendered objects for the kind and destination rules ([`crate::policy`] does the matching).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tack_cluster::Cluster;
use tack_model::TenantPolicy;

use crate::Error;
use crate::policy::{self, Deployed};

/// The TenantPolicies governing the applications of `namespace`. None when the TenantPolicy CRD is not
/// installed.
pub async fn governing(client: &kube::Client, namespace: &str) -> Result<Vec<TenantPolicy>, Error> {
    let api: Api<TenantPolicy> = Api::all(client.clone());
    let all = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    if all.is_empty() {
        return Ok(all);
    }
    let labels: BTreeMap<String, String> = if all.iter().any(|p| p.spec.namespace_selector.is_some()) {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .get_opt(namespace)
            .await?
            .and_then(|n| n.metadata.labels)
            .unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    Ok(all
        .into_iter()
        .filter(|p| policy::governs(p, namespace, &labels))
        .collect())
}

/// The rendered objects as the rules see them: group, kind, name, namespace (the destination for namespaced
/// objects that set none) and scope, from the cluster's discovery, else from a CustomResourceDefinition of the
/// same source, else namespaced.
pub async fn deployed(
    cluster: &Cluster,
    objects: &[&Value],
    destination: &str,
) -> Result<Vec<Deployed>, Error> {
    let text = |o: &Value, p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    // Kinds defined by CRDs of the same source: (group, kind) → namespaced.
    let defined: BTreeMap<(String, String), bool> = objects
        .iter()
        .filter(|o| text(o, "/kind") == "CustomResourceDefinition")
        .map(|o| {
            let key = (text(o, "/spec/group"), text(o, "/spec/names/kind"));
            (key, text(o, "/spec/scope") != "Cluster")
        })
        .collect();
    let mut out = Vec::with_capacity(objects.len());
    for o in objects {
        let (api_version, kind) = (text(o, "/apiVersion"), text(o, "/kind"));
        let group = api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
            .to_string();
        let namespaced = match cluster.resolve(&api_version, &kind).await? {
            Some(k) => k.namespaced,
            None => defined
                .get(&(group.clone(), kind.clone()))
                .copied()
                .unwrap_or(true),
        };
        let namespace = match (namespaced, text(o, "/metadata/namespace")) {
            (false, _) => String::new(),
            (true, ns) if ns.is_empty() => destination.to_string(),
            (true, ns) => ns,
        };
        out.push(Deployed {
            group,
            name: text(o, "/metadata/name"),
            kind,
            namespace,
            namespaced,
        });
    }
    Ok(out)
}
