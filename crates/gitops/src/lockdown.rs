//! The controller's lockdown flags applied to one application ([`crate::Lockdown`]): which ServiceAccount it
//! acts as, and the references it may not make across namespaces. Pure: the spec and the rendered manifests in,
//! a refusal naming the field out.

use kube::ResourceExt;
use serde_json::Value;
use tack_model::GitOpsConfig;

use crate::impersonation::valid_service_account_name;
use crate::{Error, Lockdown};

/// The ServiceAccount (of the application's namespace) the application acts as: `spec.serviceAccountName`,
/// else `--default-service-account`; `None` acts with the controller's own identity.
pub fn service_account(obj: &GitOpsConfig, lockdown: &Lockdown) -> Result<Option<String>, Error> {
    let (name, field) = match obj.spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => (n, "spec.serviceAccountName"),
        None => match lockdown.default_service_account.as_deref() {
            Some(n) => (n, "--default-service-account"),
            None => return Ok(None),
        },
    };
    if !valid_service_account_name(name) {
        return Err(Error::InvalidSpec(format!(
            "{field}: {name:?} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')"
        )));
    }
    Ok(Some(name.to_string()))
}

/// With `--no-cross-namespace-refs`: every `spec.dependsOn` entry names an application of the same namespace.
/// (Secrets are always read from the application's own namespace: their references hold a name only.)
pub fn check_spec_refs(obj: &GitOpsConfig, lockdown: &Lockdown) -> Result<(), Error> {
    if !lockdown.no_cross_namespace_refs {
        return Ok(());
    }
    let own = obj.namespace().unwrap_or_default();
    for (i, dep) in obj.spec.depends_on.iter().enumerate() {
        if let Some(ns) = dep.namespace.as_deref().filter(|n| !n.is_empty() && *n != own) {
            return Err(Error::PolicyViolation(format!(
                "spec.dependsOn[{i}].namespace: {ns}/{} is in another namespace than the application's ({own}), \
                 and the controller runs with --no-cross-namespace-refs; depend on applications of {own} only",
                dep.name
            )));
        }
    }
    Ok(())
}

/// With `--no-cross-namespace-refs`: no rendered Rollout, Experiment or AnalysisRun (`argoproj.io`) uses a
/// ClusterAnalysisTemplate (`clusterScope: true` on a template reference): analysis templates come from the
/// application's namespace only.
pub fn check_manifest_refs(objects: &[&Value], lockdown: &Lockdown) -> Result<(), Error> {
    if !lockdown.no_cross_namespace_refs {
        return Ok(());
    }
    for object in objects {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if !api_version.starts_with("argoproj.io/") {
            continue;
        }
        if let Some(at) = cluster_scope_at(object.get("spec").unwrap_or(&Value::Null), "spec") {
            let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
            return Err(Error::PolicyViolation(format!(
                "{}/{}: {at}.clusterScope uses a ClusterAnalysisTemplate, and the controller runs with \
                 --no-cross-namespace-refs; use an AnalysisTemplate of the application's namespace",
                text("/kind"),
                text("/metadata/name")
            )));
        }
    }
    Ok(())
}

/// The path of the first object under `value` that says `clusterScope: true`.
fn cluster_scope_at(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(map) => {
            if map.get("clusterScope").and_then(Value::as_bool) == Some(true) {
                return Some(path.to_string());
            }
            map.iter()
                .find_map(|(k, v)| cluster_scope_at(v, &format!("{path}.{k}")))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| cluster_scope_at(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tack_model::{DependencyRef, GitOpsConfigSpec};

    fn app(sa: Option<&str>, deps: &[(&str, Option<&str>)]) -> GitOpsConfig {
        let mut a = GitOpsConfig::new(
            "web",
            GitOpsConfigSpec {
                service_account_name: sa.map(String::from),
                depends_on: deps
                    .iter()
                    .map(|(n, ns)| DependencyRef {
                        name: n.to_string(),
                        namespace: ns.map(String::from),
                    })
                    .collect(),
                ..Default::default()
            },
        );
        a.metadata.namespace = Some("team-a".into());
        a
    }

    fn locked(default_sa: Option<&str>) -> Lockdown {
        Lockdown {
            default_service_account: default_sa.map(String::from),
            no_cross_namespace_refs: true,
            no_remote_bases: true,
        }
    }

    #[test]
    fn the_service_account_is_the_spec_s_else_the_default() {
        let open = Lockdown::default();
        assert_eq!(service_account(&app(None, &[]), &open).ok(), Some(None));
        assert_eq!(
            service_account(&app(Some("deployer"), &[]), &open).ok(),
            Some(Some("deployer".into()))
        );
        assert_eq!(
            service_account(&app(None, &[]), &locked(Some("tenant"))).ok(),
            Some(Some("tenant".into()))
        );
        assert_eq!(
            service_account(&app(Some("own"), &[]), &locked(Some("tenant"))).ok(),
            Some(Some("own".into()))
        );
        let err = service_account(&app(Some("a:b"), &[]), &open)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("spec.serviceAccountName")));
    }

    #[test]
    fn depends_on_stays_in_the_namespace() {
        let deps = app(
            None,
            &[
                ("db", None),
                ("cache", Some("team-a")),
                ("infra", Some("platform")),
            ],
        );
        assert!(check_spec_refs(&deps, &Lockdown::default()).is_ok());
        let err = check_spec_refs(&deps, &locked(None))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("spec.dependsOn[2].namespace"), "{err}");
        assert!(err.contains("platform/infra"), "{err}");
        let local = app(None, &[("db", None), ("cache", Some("team-a"))]);
        assert!(check_spec_refs(&local, &locked(None)).is_ok());
    }

    #[test]
    fn cluster_analysis_templates_are_cross_namespace() {
        let rollout = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"analysis": {"templates": [
                {"templateName": "rate", "clusterScope": true}]}}]}}}});
        let local = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
            "spec": {"strategy": {"canary": {"analysis": {"templates": [{"templateName": "rate"}]}}}}});
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "spec": {"clusterScope": true}});
        assert!(check_manifest_refs(&[&rollout], &Lockdown::default()).is_ok());
        let err = check_manifest_refs(&[&local, &rollout], &locked(None))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("Rollout/web: spec.strategy.canary.steps[1].analysis.templates[0].clusterScope"),
            "{err}"
        );
        assert!(check_manifest_refs(&[&local, &other], &locked(None)).is_ok());
    }
}
