//! The cluster side of TenantPolicies and the lockdown flags: reading the policies that govern an
//! application's namespace, describing its rendered objects for the kind and destination rules
//! ([`crate::policy`] does the matching), and the checks of a reconcile before anything is fetched or written.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tack_cluster::Cluster;
use tack_model::TenantPolicy;
use tack_render::PackedManifest;

use crate::policy::{self, Deployed};
use crate::{Error, Lockdown, lockdown};

/// The TenantPolicies governing the applications of `namespace`. None when the TenantPolicy CRD is not
/// installed.
pub async fn governing(client: &kube::Client, namespace: &str) -> Result<Vec<TenantPolicy>, Error> {
    let api: Api<TenantPolicy> = Api::all(client.clone());
    let all = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        // Policies that cannot be read are not taken as none: the application waits until they can be.
        Err(kube::Error::Api(s)) if s.code == 403 => {
            return Err(Error::Forbidden(format!(
                "the controller may not list TenantPolicies ({}); run `tack install` again to grant it",
                s.message
            )));
        }
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

/// The application's repository, and the chart repository of `spec.source.helm.chart`, are allowed by every
/// policy (`sourceRepos`); checked before anything is fetched.
pub fn check_sources(policies: &[TenantPolicy], source: &tack_model::Source) -> Result<(), Error> {
    policy::check_repository(policies, &source.repo_url).map_err(Error::policy)?;
    if let Some(chart) = source.helm.as_ref().and_then(|h| h.chart.as_ref()) {
        policy::check_repository(policies, chart.repo_url.trim()).map_err(Error::policy)?;
    }
    Ok(())
}

/// The rendered objects as the rules see them: group, kind, name, namespace (the destination for namespaced
/// objects that set none) and scope, from the cluster's discovery, else from a CustomResourceDefinition of the
/// same source, else namespaced.
pub async fn deployed(
    cluster: &Cluster,
    objects: &[PackedManifest],
    destination: &str,
) -> Result<Vec<Deployed>, Error> {
    let text = |o: &Value, p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    // Kinds defined by CRDs of the same source: (group, kind) → namespaced.
    let defined: BTreeMap<(String, String), bool> = objects
        .iter()
        .filter(|m| m.object.mentions("CustomResourceDefinition"))
        .map(|m| m.object.value())
        .filter(|o| text(o, "/kind") == "CustomResourceDefinition")
        .map(|o| {
            let key = (text(&o, "/spec/group"), text(&o, "/spec/names/kind"));
            (key, text(&o, "/spec/scope") != "Cluster")
        })
        .collect();
    let mut out = Vec::with_capacity(objects.len());
    for m in objects {
        let head = m.object.head();
        let (api_version, kind) = (head.api_version, head.kind);
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
        let namespace = match (namespaced, head.namespace) {
            (false, _) => String::new(),
            (true, ns) if ns.is_empty() => destination.to_string(),
            (true, ns) => ns,
        };
        out.push(Deployed {
            group,
            name: head.name,
            kind,
            namespace,
            namespaced,
        });
    }
    Ok(out)
}

/// The Namespace `spec.syncPolicy.createNamespace` (or `CreateNamespace=true`) creates when it is missing.
fn created_namespace(destination: &str) -> Deployed {
    Deployed {
        group: String::new(),
        kind: "Namespace".into(),
        name: destination.to_string(),
        namespace: String::new(),
        namespaced: false,
    }
}

/// What an application rendered, as the checks before the sync see it.
pub struct Rendered<'a> {
    /// Every rendered object (hooks included), kept compact.
    pub objects: &'a [PackedManifest],
    /// The destination namespace.
    pub destination: &'a str,
    /// The destination cluster's name (`in-cluster` for the controller's own).
    pub cluster: &'a str,
    /// Whether the sync may create the destination namespace (`createNamespace`, `CreateNamespace=true`).
    pub create_namespace: bool,
}

/// The rendered objects against `--no-cross-namespace-refs` and every governing TenantPolicy (destinations,
/// denied kinds, cluster-scoped objects), before anything is written. Scopes are resolved through `cluster`
/// (the application's identity).
pub async fn check_rendered(
    cluster: &Cluster,
    lockdown: &Lockdown,
    policies: &[TenantPolicy],
    rendered: &Rendered<'_>,
) -> Result<(), Error> {
    if lockdown.no_cross_namespace_refs {
        // Only Argo Rollouts objects can refer to cluster-scoped templates.
        for m in rendered
            .objects
            .iter()
            .filter(|m| m.object.mentions("argoproj.io/"))
        {
            lockdown::check_manifest_refs(&[&m.object.value()], lockdown)?;
        }
    }
    if policies.is_empty() {
        return Ok(());
    }
    let mut objects = deployed(cluster, rendered.objects, rendered.destination).await?;
    if rendered.create_namespace {
        objects.push(created_namespace(rendered.destination));
    }
    policy::check_objects(policies, rendered.destination, rendered.cluster, &objects).map_err(Error::policy)
}

/// Which Kustomize remote bases an application may fetch: none with `--no-remote-bases`, else those of
/// repositories every governing TenantPolicy allows.
pub fn remote_base_check(lockdown: &Lockdown, policies: &[TenantPolicy]) -> tack_render::RemoteBaseCheck {
    if lockdown.no_remote_bases {
        return tack_render::RemoteBaseCheck::new(|_| {
            Err("refused: remote bases are disabled (the controller runs with --no-remote-bases); vendor the \
                 base into the repository"
                .into())
        });
    }
    if policies.iter().all(|p| p.spec.source_repos.is_none()) {
        return tack_render::RemoteBaseCheck::default();
    }
    let policies = policies.to_vec();
    tack_render::RemoteBaseCheck::new(move |url| {
        policy::check_repository(&policies, url).map_err(|v| format!("refused: {v}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tack_model::TenantPolicySpec;

    #[test]
    fn chart_repositories_are_sources_too() {
        let policy = TenantPolicy::new(
            "team-a",
            TenantPolicySpec {
                source_repos: Some(vec!["https://git.example.com/team-a/*".into()]),
                ..Default::default()
            },
        );
        let mut source = tack_model::Source {
            repo_url: "https://git.example.com/team-a/web".into(),
            ..Default::default()
        };
        assert!(check_sources(std::slice::from_ref(&policy), &source).is_ok());
        source.helm = Some(tack_model::HelmOptions {
            chart: Some(tack_model::HelmChartRef {
                repo_url: "oci://registry.example.com/charts".into(),
                name: "web".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let err = check_sources(&[policy], &source)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("repository oci://registry.example.com/charts matches none"),
            "{err}"
        );
    }

    #[test]
    fn remote_bases_follow_the_flag_and_the_policies() {
        let url = "https://github.com/kubernetes-sigs/kustomize";
        let open = Lockdown::default();
        assert!(remote_base_check(&open, &[]).check(url).is_ok());
        let locked = Lockdown {
            no_remote_bases: true,
            ..Lockdown::default()
        };
        let err = remote_base_check(&locked, &[])
            .check(url)
            .err()
            .unwrap_or_default();
        assert!(err.contains("--no-remote-bases"), "{err}");
        let policy = TenantPolicy::new(
            "team-a",
            TenantPolicySpec {
                source_repos: Some(vec!["https://git.example.com/team-a/*".into()]),
                ..Default::default()
            },
        );
        let check = remote_base_check(&open, std::slice::from_ref(&policy));
        assert!(check.check("https://git.example.com/team-a/bases").is_ok());
        let err = check.check(url).err().unwrap_or_default();
        assert!(err.contains("TenantPolicy team-a: rule sourceRepos"), "{err}");
    }
}
