//! What an impersonated ServiceAccount may do with the hooks of a commit, asked of the API server before the
//! sync. Ordinary objects are covered by the server-side dry run of the whole commit; hooks are not dry-run
//! (they are created at their phase, PostSync ones after everything else is applied), so each verb the sync
//! will use on a hook is checked first with a SelfSubjectAccessReview made as the ServiceAccount: a hook it may
//! not run stops the commit before anything is written.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use serde_json::Value;
use tack_cluster::Cluster;
use tack_render::{HOOK_ANNOTATIONS, HookKind, PackedManifest, classify_hook};

use crate::Error;

/// The verbs a sync uses on a hook: created (server-side apply for a named hook: `patch` and `create`; a
/// `generateName` hook: `create`), watched (`get`), and deleted when a delete policy says so, or before it is
/// created again (named hooks).
fn verbs(named: bool, deleted: bool) -> Vec<&'static str> {
    let mut out = vec!["create", "get"];
    if named {
        out.push("patch");
    }
    if named || deleted {
        out.push("delete");
    }
    out
}

/// Every hook of `manifests` can be run by `cluster`'s identity (the ServiceAccount `user`), else an error naming
/// the hook, the verb and the ServiceAccount. Hooks of kinds the cluster does not serve, or that are not run, are
/// left to the sync to report.
pub async fn check_hooks(
    cluster: &Cluster,
    manifests: &[PackedManifest],
    destination: &str,
    user: &str,
) -> Result<(), Error> {
    let text = |o: &Value, p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    for m in manifests {
        // An object that does not mention a hook annotation is not a hook: not read back.
        if !HOOK_ANNOTATIONS.iter().any(|k| m.object.mentions(k)) {
            continue;
        }
        let object = m.object.value();
        let Ok(Some(HookKind::Run(hook))) = classify_hook(&object) else {
            continue;
        };
        let (api_version, kind) = (text(&object, "/apiVersion"), text(&object, "/kind"));
        let Some(resolved) = cluster.resolve(&api_version, &kind).await? else {
            continue;
        };
        let namespace = match (resolved.namespaced, text(&object, "/metadata/namespace")) {
            (false, _) => String::new(),
            (true, ns) if ns.is_empty() => destination.to_string(),
            (true, ns) => ns,
        };
        let name = text(&object, "/metadata/name");
        for verb in verbs(!name.is_empty(), !hook.delete_policies.is_empty()) {
            let attributes = ResourceAttributes {
                verb: Some(verb.to_string()),
                group: Some(resolved.resource.group.clone()),
                resource: Some(resolved.resource.plural.clone()),
                namespace: (!namespace.is_empty()).then(|| namespace.clone()),
                name: (!name.is_empty() && verb != "create").then(|| name.clone()),
                ..Default::default()
            };
            if !allowed(cluster.client(), attributes).await? {
                let shown = if name.is_empty() {
                    text(&object, "/metadata/generateName") + "*"
                } else {
                    name.clone()
                };
                let place = if namespace.is_empty() {
                    "at the cluster scope".to_string()
                } else {
                    format!("in the namespace \"{namespace}\"")
                };
                return Err(Error::Forbidden(format!(
                    "{}: hook {kind}/{shown}: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\" \
                     {place}; nothing was applied (hooks are checked before the sync)",
                    m.origin, resolved.resource.plural, resolved.resource.group
                )));
            }
        }
    }
    Ok(())
}

/// Whether the client's identity may do what `attributes` say.
async fn allowed(client: &kube::Client, attributes: ResourceAttributes) -> Result<bool, Error> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(attributes),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_of_a_hook() {
        assert_eq!(verbs(true, true), ["create", "get", "patch", "delete"]);
        assert_eq!(verbs(true, false), ["create", "get", "patch", "delete"]);
        assert_eq!(verbs(false, true), ["create", "get", "delete"]);
        assert_eq!(verbs(false, false), ["create", "get"]);
    }
}
