//! Hooks (Argo CD's `argocd.argoproj.io/hook`, Helm's `helm.sh/hook`): objects meant to run at a phase of a
//! sync (a migration Job before the upgrade, a smoke test after it), not applied as ordinary objects.
//! [`classify_hook`] reads the annotations into a [`Hook`]: its phases, delete policies and wave, with Helm's
//! annotations mapped as Argo CD maps them (pre-install/pre-upgrade → PreSync, post-install/post-upgrade →
//! PostSync, `helm.sh/hook-weight` → wave, Helm delete policies → Argo CD's). Running them is the sync's job.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::Manifest;

/// The annotations that make an object a hook.
pub const HOOK_ANNOTATIONS: [&str; 2] = ["helm.sh/hook", "argocd.argoproj.io/hook"];

const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
const ARGO_DELETE: &str = "argocd.argoproj.io/hook-delete-policy";
const HELM_HOOK: &str = "helm.sh/hook";
const HELM_DELETE: &str = "helm.sh/hook-delete-policy";
const HELM_WEIGHT: &str = "helm.sh/hook-weight";
const WAVES: [&str; 2] = ["tack.dev/sync-wave", "argocd.argoproj.io/sync-wave"];

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookPhase {
    /// Before anything is applied (after the whole-commit dry run).
    PreSync,
    /// With the ordinary objects, after those of its wave.
    Sync,
    /// After every wave is applied and healthy, and the prune.
    PostSync,
    /// When the sync fails.
    SyncFail,
}

impl HookPhase {
    /// The phase as Argo CD spells it (`PreSync`), in messages and annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::PreSync => "PreSync",
            HookPhase::Sync => "Sync",
            HookPhase::PostSync => "PostSync",
            HookPhase::SyncFail => "SyncFail",
        }
    }
}

/// When a hook object is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeletePolicy {
    /// Before the hook is created again (the default, as in Argo CD and Helm).
    BeforeHookCreation,
    /// Once it succeeded.
    HookSucceeded,
    /// Once it failed.
    HookFailed,
}

/// What the hook annotations of one object say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookKind {
    /// Run at these phases.
    Run(Hook),
    /// Never applied: Argo CD's `Skip`, Helm's test hooks.
    Skip {
        /// Why it is skipped, for the sync report.
        why: String,
    },
    /// A phase tack does not run (PostDelete, pre-delete, post-delete, rollback hooks): not applied.
    Unsupported {
        /// The hook annotation and why tack does not run it (`argocd.argoproj.io/hook: PostDelete (...)`).
        what: String,
    },
}

/// A hook to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// The phases it runs in.
    pub phases: BTreeSet<HookPhase>,
    /// When it is deleted (Argo CD's `hook-delete-policy`, or Helm's `helm.sh/hook-delete-policy`).
    pub delete_policies: BTreeSet<DeletePolicy>,
    /// Its wave inside each phase (`argocd.argoproj.io/sync-wave`, `tack.dev/sync-wave`, else Helm's weight).
    pub wave: i64,
}

/// The hook annotation of `m` and its value, if it is a hook.
pub fn hook_of(m: &Manifest) -> Option<(&'static str, String)> {
    let annotations = m.object.get("metadata")?.get("annotations")?;
    HOOK_ANNOTATIONS.iter().rev().find_map(|key| {
        annotations
            .get(*key)
            .and_then(|v| v.as_str())
            .map(|v| (*key, v.to_string()))
    })
}

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/annotations")?
        .get(key)?
        .as_str()
        .map(str::trim)
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Reads the hook annotations of `object`: `Ok(None)` for an ordinary object; an error names the value that
/// is not understood. Argo CD's annotations win over Helm's, as in Argo CD.
pub fn classify_hook(object: &Value) -> Result<Option<HookKind>, String> {
    let (phases, deletes, helm) = match (annotation(object, ARGO_HOOK), annotation(object, HELM_HOOK)) {
        (Some(argo), _) => (argo_phases(argo)?, ARGO_DELETE, false),
        (None, Some(helm)) => (helm_phases(helm)?, HELM_DELETE, true),
        (None, None) => return Ok(None),
    };
    let phases = match phases {
        Phases::Run(p) if p.is_empty() => return Ok(None),
        Phases::Run(p) => p,
        Phases::Skip(why) => return Ok(Some(HookKind::Skip { why })),
        Phases::Unsupported(what) => return Ok(Some(HookKind::Unsupported { what })),
    };
    let mut delete_policies = BTreeSet::new();
    let policy_value = annotation(object, deletes)
        .or_else(|| (!helm).then(|| annotation(object, HELM_DELETE)).flatten())
        .unwrap_or("");
    for p in list(policy_value) {
        delete_policies.insert(match p {
            "BeforeHookCreation" | "before-hook-creation" => DeletePolicy::BeforeHookCreation,
            "HookSucceeded" | "hook-succeeded" => DeletePolicy::HookSucceeded,
            "HookFailed" | "hook-failed" => DeletePolicy::HookFailed,
            other => {
                return Err(format!(
                    "hook delete policy `{other}` is not one of BeforeHookCreation, HookSucceeded, HookFailed \
                     (Helm: before-hook-creation, hook-succeeded, hook-failed)"
                ));
            }
        });
    }
    if delete_policies.is_empty() {
        delete_policies.insert(DeletePolicy::BeforeHookCreation);
    }
    let wave_text = WAVES
        .iter()
        .find_map(|k| annotation(object, k).map(|v| (*k, v)))
        .or_else(|| annotation(object, HELM_WEIGHT).map(|v| (HELM_WEIGHT, v)));
    let wave = match wave_text {
        None => 0,
        Some((key, v)) => v
            .parse::<i64>()
            .map_err(|_| format!("annotation {key}: `{v}` is not an integer"))?,
    };
    Ok(Some(HookKind::Run(Hook {
        phases,
        delete_policies,
        wave,
    })))
}

enum Phases {
    Run(BTreeSet<HookPhase>),
    Skip(String),
    Unsupported(String),
}

fn argo_phases(value: &str) -> Result<Phases, String> {
    let mut out = BTreeSet::new();
    for p in list(value) {
        out.insert(match p {
            "PreSync" => HookPhase::PreSync,
            "Sync" => HookPhase::Sync,
            "PostSync" => HookPhase::PostSync,
            "SyncFail" => HookPhase::SyncFail,
            "Skip" => return Ok(Phases::Skip(format!("{ARGO_HOOK}: Skip"))),
            "PostDelete" => {
                return Ok(Phases::Unsupported(format!(
                    "{ARGO_HOOK}: PostDelete (tack does not run deletion hooks yet)"
                )));
            }
            other => {
                return Err(format!(
                    "{ARGO_HOOK}: `{other}` is not one of PreSync, Sync, PostSync, SyncFail, Skip, PostDelete"
                ));
            }
        });
    }
    Ok(Phases::Run(out))
}

fn helm_phases(value: &str) -> Result<Phases, String> {
    let mut out = BTreeSet::new();
    let mut unsupported = Vec::new();
    for p in list(value) {
        match p {
            "pre-install" | "pre-upgrade" => {
                out.insert(HookPhase::PreSync);
            }
            "post-install" | "post-upgrade" => {
                out.insert(HookPhase::PostSync);
            }
            // Applied as an ordinary object, as Argo CD does (CRDs are handled by the ordinary order).
            "crd-install" => {}
            "test" | "test-success" | "test-failure" => {
                return Ok(Phases::Skip(format!(
                    "{HELM_HOOK}: {p} (Helm test hooks are not run)"
                )));
            }
            "pre-delete" | "post-delete" | "pre-rollback" | "post-rollback" => unsupported.push(p),
            other => {
                return Err(format!(
                    "{HELM_HOOK}: `{other}` is not a Helm hook (pre-install, pre-upgrade, post-install, \
                     post-upgrade, pre-delete, post-delete, pre-rollback, post-rollback, test)"
                ));
            }
        }
    }
    if out.is_empty() && !unsupported.is_empty() {
        return Ok(Phases::Unsupported(format!(
            "{HELM_HOOK}: {} (tack does not run deletion or rollback hooks yet)",
            unsupported.join(",")
        )));
    }
    Ok(Phases::Run(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "annotations": annotations}})
    }

    fn run(annotations: Value) -> Hook {
        match classify_hook(&job(annotations)) {
            Ok(Some(HookKind::Run(h))) => h,
            other => panic!("not a hook to run: {other:?}"),
        }
    }

    #[test]
    fn ordinary_objects_are_not_hooks() {
        assert_eq!(classify_hook(&job(json!({"a": "b"}))), Ok(None));
        assert_eq!(classify_hook(&json!({"kind": "ConfigMap"})), Ok(None));
        // Helm's crd-install is an ordinary object, as in Argo CD.
        assert_eq!(classify_hook(&job(json!({HELM_HOOK: "crd-install"}))), Ok(None));
    }

    #[test]
    fn argo_cd_phases_delete_policies_and_waves() {
        let h = run(json!({ARGO_HOOK: "PreSync"}));
        assert_eq!(h.phases, BTreeSet::from([HookPhase::PreSync]));
        assert_eq!(
            h.delete_policies,
            BTreeSet::from([DeletePolicy::BeforeHookCreation])
        );
        assert_eq!(h.wave, 0);
        let h = run(
            json!({ARGO_HOOK: "Sync, PostSync", ARGO_DELETE: "HookSucceeded,HookFailed",
            "argocd.argoproj.io/sync-wave": "-2"}),
        );
        assert_eq!(h.phases, BTreeSet::from([HookPhase::Sync, HookPhase::PostSync]));
        assert_eq!(
            h.delete_policies,
            BTreeSet::from([DeletePolicy::HookSucceeded, DeletePolicy::HookFailed])
        );
        assert_eq!(h.wave, -2);
        assert!(matches!(
            classify_hook(&job(json!({ARGO_HOOK: "Skip"}))),
            Ok(Some(HookKind::Skip { .. }))
        ));
        assert!(matches!(
            classify_hook(&job(json!({ARGO_HOOK: "PostDelete"}))),
            Ok(Some(HookKind::Unsupported { .. }))
        ));
        let err = classify_hook(&job(json!({ARGO_HOOK: "Later"}))).expect_err("unknown phase");
        assert!(err.contains("`Later`"), "{err}");
        let err =
            classify_hook(&job(json!({ARGO_HOOK: "PreSync", ARGO_DELETE: "Never"}))).expect_err("policy");
        assert!(err.contains("`Never`"), "{err}");
    }

    #[test]
    fn helm_hooks_map_as_argo_cd_maps_them() {
        let h = run(json!({HELM_HOOK: "pre-install,pre-upgrade", HELM_WEIGHT: "5",
            HELM_DELETE: "before-hook-creation,hook-succeeded"}));
        assert_eq!(h.phases, BTreeSet::from([HookPhase::PreSync]));
        assert_eq!(h.wave, 5);
        assert_eq!(
            h.delete_policies,
            BTreeSet::from([DeletePolicy::BeforeHookCreation, DeletePolicy::HookSucceeded])
        );
        let h = run(json!({HELM_HOOK: "post-install", HELM_DELETE: "hook-failed"}));
        assert_eq!(h.phases, BTreeSet::from([HookPhase::PostSync]));
        assert_eq!(h.delete_policies, BTreeSet::from([DeletePolicy::HookFailed]));
        // A delete hook paired with an install hook runs at install; alone it is not run.
        let h = run(json!({HELM_HOOK: "post-install,post-delete"}));
        assert_eq!(h.phases, BTreeSet::from([HookPhase::PostSync]));
        assert!(matches!(
            classify_hook(&job(json!({HELM_HOOK: "pre-delete"}))),
            Ok(Some(HookKind::Unsupported { .. }))
        ));
        assert!(matches!(
            classify_hook(&job(json!({HELM_HOOK: "test"}))),
            Ok(Some(HookKind::Skip { .. }))
        ));
        // Argo CD's annotations win over Helm's; an Argo CD wave wins over the Helm weight.
        let h = run(
            json!({HELM_HOOK: "pre-install", ARGO_HOOK: "PostSync", HELM_WEIGHT: "3",
            "argocd.argoproj.io/sync-wave": "1"}),
        );
        assert_eq!(h.phases, BTreeSet::from([HookPhase::PostSync]));
        assert_eq!(h.wave, 1);
        let err =
            classify_hook(&job(json!({HELM_HOOK: "pre-install", HELM_WEIGHT: "heavy"}))).expect_err("weight");
        assert!(err.contains("helm.sh/hook-weight: `heavy`"), "{err}");
    }
}
