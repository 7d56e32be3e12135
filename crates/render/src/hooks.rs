//! Hooks (Helm's `helm.sh/hook`, Argo CD's `argocd.argoproj.io/hook`): objects meant to run at a phase of a
//! sync (a migration Job before the upgrade, a smoke test after it), not to be applied as ordinary objects.
//! Until tack runs sync phases, a sync refuses them rather than applying them out of order.

use crate::{Manifest, Problem, RenderError};

/// The annotations that make an object a hook.
pub const HOOK_ANNOTATIONS: [&str; 2] = ["helm.sh/hook", "argocd.argoproj.io/hook"];

/// The hook annotation of `m` and its value, if it is a hook.
pub fn hook_of(m: &Manifest) -> Option<(&'static str, String)> {
    let annotations = m.object.get("metadata")?.get("annotations")?;
    HOOK_ANNOTATIONS.iter().find_map(|key| {
        annotations
            .get(*key)
            .and_then(|v| v.as_str())
            .map(|v| (*key, v.to_string()))
    })
}

/// Refuses manifests holding hooks, naming each one.
pub fn refuse_hooks(manifests: &[Manifest]) -> Result<(), RenderError> {
    let errors: Vec<RenderError> = manifests
        .iter()
        .filter_map(|m| {
            let (key, value) = hook_of(m)?;
            let kind = m.object.get("kind").and_then(|k| k.as_str()).unwrap_or("object");
            let name = m
                .object
                .get("metadata")
                .and_then(|md| md.get("name").or_else(|| md.get("generateName")))
                .and_then(|n| n.as_str())
                .unwrap_or("");
            let fix = if key == "helm.sh/hook" {
                "render the chart without hooks (`--no-hooks`, or spec.source.helm.skipHooks: true)"
            } else {
                "remove the annotation to apply it as an ordinary object"
            };
            Some(RenderError::Invalid(Problem {
                origin: m.origin.clone(),
                message: format!(
                    "{kind} {name} is a hook ({key}: {value}); tack does not run sync hooks yet, and will not \
                     apply a hook as an ordinary object: {fix}"
                ),
            }))
        })
        .collect();
    RenderError::from_many(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Origin;

    fn manifest(annotations: serde_json::Value) -> Manifest {
        Manifest {
            object: serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "migrate", "annotations": annotations}}),
            origin: Origin::new("chart/templates/job.yaml", 1),
        }
    }

    #[test]
    fn hooks_are_refused_with_their_name_and_the_way_out() {
        let err = refuse_hooks(&[manifest(serde_json::json!({"helm.sh/hook": "pre-upgrade"}))])
            .expect_err("a hook");
        let text = err.to_string();
        assert!(
            text.contains("chart/templates/job.yaml:1: Job migrate is a hook (helm.sh/hook: pre-upgrade)"),
            "{text}"
        );
        assert!(text.contains("--no-hooks"), "{text}");
        let err = refuse_hooks(&[manifest(
            serde_json::json!({"argocd.argoproj.io/hook": "PreSync"}),
        )])
        .expect_err("a hook");
        assert!(err.to_string().contains("argocd.argoproj.io/hook: PreSync"));
        assert!(refuse_hooks(&[manifest(serde_json::json!({"a": "b"}))]).is_ok());
    }
}
