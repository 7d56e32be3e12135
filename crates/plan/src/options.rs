//! Per-object sync options, in Argo CD's and Flux's spellings: `argocd.argoproj.io/sync-options`,
//! `argocd.argoproj.io/compare-options`, `kustomize.toolkit.fluxcd.io/ssa`, `kustomize.toolkit.fluxcd.io/prune`,
//! tack's `tack.dev/prune`, and Helm's `helm.sh/resource-policy: keep`. Unknown options are warnings naming the
//! object, never silently dropped.

use serde_json::Value;

use crate::prune::PRUNE_ANNOTATION;

/// Argo CD's per-object sync options (`Key=value`, comma-separated).
pub const ARGO_SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Argo CD's per-object compare options.
pub const ARGO_COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// Flux's server-side apply policy of one object.
pub const FLUX_SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// Flux's prune opt-out.
pub const FLUX_PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Helm's `keep`: the object outlives its release.
pub const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Whether an object that left Git may be deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrunePolicy {
    /// Deleted by a sync with prune.
    #[default]
    Allowed,
    /// Kept, and no longer managed (`Prune=false`, `Delete=false`, `prune: disabled`, Helm `keep`).
    Disabled,
    /// Deleted only by a confirmed sync (`Prune=confirm`, `tack.dev/prune: confirm`).
    Confirm,
}

/// How an object is applied (Flux's `ssa` annotation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApplyPolicy {
    /// Server-side apply on every sync (Flux `Merge`, and tack's default).
    #[default]
    Apply,
    /// Created when absent, never changed afterwards (Flux `IfNotPresent`).
    IfNotPresent,
    /// Never applied (Flux `Ignore`).
    Ignore,
}

/// The options of one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectOptions {
    /// Whether and how the object may be pruned once it leaves Git.
    pub prune: PrunePolicy,
    /// Whether and when the object is applied.
    pub apply: ApplyPolicy,
    /// `Replace=true`: replaced (PUT, or created) instead of server-side applied.
    pub replace: bool,
    /// `Force=true`: server-side apply with force; with `Replace=true`, deleted and created again.
    pub force: bool,
    /// `SkipDryRunOnMissingResource=true`: a kind the cluster does not serve yet is not dry-run.
    pub skip_dry_run_on_missing: bool,
    /// `IgnoreExtraneous`: once out of Git, it does not make the application OutOfSync.
    pub ignore_extraneous: bool,
    /// Options not understood, for warnings.
    pub unknown: Vec<String>,
}

impl ObjectOptions {
    /// Warnings about options that are not understood, naming `what` (the object and its origin).
    pub fn warnings(&self, what: &str) -> Vec<String> {
        self.unknown
            .iter()
            .map(|u| format!("warning: {what}: {u} is not a sync option tack knows; it is ignored"))
            .collect()
    }
}

/// The options of `object`, read from its annotations.
pub fn object_options(object: &Value) -> ObjectOptions {
    let mut o = ObjectOptions::default();
    let Some(annotations) = object.pointer("/metadata/annotations").and_then(Value::as_object) else {
        return o;
    };
    let get = |k: &str| annotations.get(k).and_then(Value::as_str).map(str::trim);
    let tighten = |o: &mut ObjectOptions, p: PrunePolicy| {
        // Disabled beats confirm beats allowed.
        o.prune = match (o.prune, p) {
            (PrunePolicy::Disabled, _) | (_, PrunePolicy::Disabled) => PrunePolicy::Disabled,
            (PrunePolicy::Confirm, _) | (_, PrunePolicy::Confirm) => PrunePolicy::Confirm,
            _ => PrunePolicy::Allowed,
        };
    };
    match get(PRUNE_ANNOTATION) {
        None | Some("enabled") => {}
        Some("disabled") => tighten(&mut o, PrunePolicy::Disabled),
        Some("confirm") => tighten(&mut o, PrunePolicy::Confirm),
        Some(v) => o
            .unknown
            .push(format!("{PRUNE_ANNOTATION}: `{v}` (disabled, confirm)")),
    }
    match get(FLUX_PRUNE) {
        None | Some("enabled") => {}
        Some("disabled") => tighten(&mut o, PrunePolicy::Disabled),
        Some(v) => o.unknown.push(format!("{FLUX_PRUNE}: `{v}` (disabled)")),
    }
    match get(HELM_RESOURCE_POLICY) {
        Some("keep") => tighten(&mut o, PrunePolicy::Disabled),
        None => {}
        Some(v) => o.unknown.push(format!("{HELM_RESOURCE_POLICY}: `{v}` (keep)")),
    }
    match get(FLUX_SSA) {
        None | Some("Merge" | "merge") => {}
        Some("IfNotPresent" | "ifnotpresent") => o.apply = ApplyPolicy::IfNotPresent,
        Some("Ignore" | "ignore") => o.apply = ApplyPolicy::Ignore,
        Some(v) => o
            .unknown
            .push(format!("{FLUX_SSA}: `{v}` (Merge, IfNotPresent, Ignore)")),
    }
    for opt in get(ARGO_SYNC_OPTIONS)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match opt {
            "Prune=false" | "Delete=false" => tighten(&mut o, PrunePolicy::Disabled),
            "Prune=confirm" | "Delete=confirm" => tighten(&mut o, PrunePolicy::Confirm),
            "Prune=true" | "Delete=true" | "Replace=false" | "Force=false" | "ServerSideApply=true"
            | "SkipDryRunOnMissingResource=false" | "Validate=true" => {}
            "Replace=true" => o.replace = true,
            "Force=true" => o.force = true,
            "SkipDryRunOnMissingResource=true" => o.skip_dry_run_on_missing = true,
            "ServerSideApply=false" => o.unknown.push(format!(
                "{ARGO_SYNC_OPTIONS}: ServerSideApply=false (tack always applies server-side; use Replace=true to replace)"
            )),
            other => o.unknown.push(format!("{ARGO_SYNC_OPTIONS}: {other}")),
        }
    }
    for opt in get(ARGO_COMPARE_OPTIONS)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match opt {
            "IgnoreExtraneous" => o.ignore_extraneous = true,
            other => o.unknown.push(format!("{ARGO_COMPARE_OPTIONS}: {other}")),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(annotations: Value) -> ObjectOptions {
        object_options(&json!({"metadata": {"name": "a", "annotations": annotations}}))
    }

    #[test]
    fn no_annotations_is_the_default() {
        assert_eq!(object_options(&json!({"metadata": {}})), ObjectOptions::default());
    }

    #[test]
    fn argo_cd_sync_options() {
        let o = with(
            json!({ARGO_SYNC_OPTIONS: "Replace=true, Force=true,SkipDryRunOnMissingResource=true,ServerSideApply=true"}),
        );
        assert!(o.replace && o.force && o.skip_dry_run_on_missing, "{o:?}");
        assert!(o.unknown.is_empty(), "{o:?}");
        assert_eq!(
            with(json!({ARGO_SYNC_OPTIONS: "Prune=false"})).prune,
            PrunePolicy::Disabled
        );
        assert_eq!(
            with(json!({ARGO_SYNC_OPTIONS: "Delete=false"})).prune,
            PrunePolicy::Disabled
        );
        assert_eq!(
            with(json!({ARGO_SYNC_OPTIONS: "Prune=confirm"})).prune,
            PrunePolicy::Confirm
        );
        assert!(with(json!({ARGO_COMPARE_OPTIONS: "IgnoreExtraneous"})).ignore_extraneous);
    }

    #[test]
    fn flux_tack_and_helm_spellings() {
        assert_eq!(
            with(json!({FLUX_SSA: "IfNotPresent"})).apply,
            ApplyPolicy::IfNotPresent
        );
        assert_eq!(with(json!({FLUX_SSA: "Ignore"})).apply, ApplyPolicy::Ignore);
        assert_eq!(with(json!({FLUX_SSA: "Merge"})).apply, ApplyPolicy::Apply);
        assert_eq!(with(json!({FLUX_PRUNE: "disabled"})).prune, PrunePolicy::Disabled);
        assert_eq!(
            with(json!({PRUNE_ANNOTATION: "disabled"})).prune,
            PrunePolicy::Disabled
        );
        assert_eq!(
            with(json!({PRUNE_ANNOTATION: "confirm"})).prune,
            PrunePolicy::Confirm
        );
        assert_eq!(
            with(json!({HELM_RESOURCE_POLICY: "keep"})).prune,
            PrunePolicy::Disabled
        );
        // Disabled wins over confirm, whatever the order.
        let o = with(json!({PRUNE_ANNOTATION: "confirm", ARGO_SYNC_OPTIONS: "Prune=false"}));
        assert_eq!(o.prune, PrunePolicy::Disabled);
    }

    #[test]
    fn unknown_options_are_warnings_naming_the_object() {
        let o = with(
            json!({ARGO_SYNC_OPTIONS: "Prune=false,Wobble=true", FLUX_SSA: "Sometimes",
            ARGO_COMPARE_OPTIONS: "IgnoreEverything"}),
        );
        assert_eq!(o.prune, PrunePolicy::Disabled);
        let w = o.warnings("ConfigMap/a (app.yaml:3)");
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w.iter().any(|l| l == "warning: ConfigMap/a (app.yaml:3): argocd.argoproj.io/sync-options: Wobble=true is not a sync option tack knows; it is ignored"),
            "{w:?}"
        );
        assert!(w.iter().any(|l| l.contains("`Sometimes`")), "{w:?}");
        assert!(w.iter().any(|l| l.contains("IgnoreEverything")), "{w:?}");
    }
}
