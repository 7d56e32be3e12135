//! Ephemeral metadata (Argo Rollouts' `canaryMetadata` / `stableMetadata`, `activeMetadata` /
//! `previewMetadata`): labels and annotations a Rollout puts on the pods of a ReplicaSet according to its role,
//! changed in place (no pod restart) when the role changes: the canary's pods carry `canaryMetadata` during the
//! update and `stableMetadata` once they are the stable; blue/green preview pods carry `previewMetadata` until
//! the active Service selects them, then `activeMetadata`. They are not part of the pod template hash. What was applied is recorded on the ReplicaSet
//! ([`EPHEMERAL_METADATA_ANNOTATION`], Argo's name), so keys that are no longer wanted can be removed.

use serde_json::{Map, Value, json};

use crate::Role;
use crate::spec::{ObjectMetadata, Rollout, RolloutStatus};

/// ReplicaSet annotation recording the ephemeral metadata applied to its pods (JSON `{labels, annotations}`).
pub const EPHEMERAL_METADATA_ANNOTATION: &str = "rollout.argoproj.io/ephemeral-metadata";

/// Whether a ReplicaSet's ephemeral metadata is managed: the canary and the stable (canary strategy), the
/// preview and the active (blue/green). Older ReplicaSets keep what they have.
pub fn managed(role: Role) -> bool {
    !matches!(role, Role::Old)
}

/// The ephemeral metadata of the ReplicaSet `hash` in `role`, given the status being written: `canaryMetadata`
/// for the canary, `stableMetadata` for the stable; `activeMetadata` for the ReplicaSet the active Service
/// selects (`status.blueGreen.activeSelector`), `previewMetadata` for the preview. `None` when the strategy
/// sets none for that role.
pub fn for_replica_set<'a>(
    rollout: &'a Rollout,
    status: &RolloutStatus,
    role: Role,
    hash: &str,
) -> Option<&'a ObjectMetadata> {
    let s = &rollout.spec.strategy;
    if let Some(c) = &s.canary {
        return match role {
            Role::Canary => c.canary_metadata.as_ref(),
            Role::Stable => c.stable_metadata.as_ref(),
            Role::Preview | Role::Old => None,
        };
    }
    let bg = s.blue_green.as_ref()?;
    let active = status.blue_green.active_selector.as_deref() == Some(hash);
    match role {
        _ if active => bg.active_metadata.as_ref(),
        Role::Stable => bg.active_metadata.as_ref(),
        Role::Preview | Role::Canary => bg.preview_metadata.as_ref(),
        Role::Old => None,
    }
}

/// Whether the Rollout uses ephemeral metadata at all.
pub fn in_use(rollout: &Rollout) -> bool {
    let s = &rollout.spec.strategy;
    s.canary
        .as_ref()
        .is_some_and(|c| c.canary_metadata.is_some() || c.stable_metadata.is_some())
        || s.blue_green
            .as_ref()
            .is_some_and(|b| b.active_metadata.is_some() || b.preview_metadata.is_some())
}

/// The recorded metadata of a ReplicaSet's [`EPHEMERAL_METADATA_ANNOTATION`] (empty when absent or unreadable).
pub fn recorded(annotation: Option<&str>) -> ObjectMetadata {
    annotation
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default()
}

/// The merge patch of a pod's (or pod template's) `metadata` that turns the ephemeral metadata `applied` into
/// `want`: new and changed keys set, keys no longer wanted removed (or set back to the value the Rollout's own
/// pod template has, from `template_meta`). `None` when nothing changes.
pub fn metadata_patch(
    applied: &ObjectMetadata,
    want: &ObjectMetadata,
    template_meta: Option<&Value>,
) -> Option<Value> {
    let mut out = Map::new();
    for (field, old, new) in [
        ("labels", &applied.labels, &want.labels),
        ("annotations", &applied.annotations, &want.annotations),
    ] {
        let mut m = Map::new();
        for (k, v) in new {
            if old.get(k) != Some(v) {
                m.insert(k.clone(), json!(v));
            }
        }
        for k in old.keys().filter(|k| !new.contains_key(*k)) {
            let own = template_meta
                .and_then(|t| t.get(field))
                .and_then(|l| l.get(k))
                .cloned();
            m.insert(k.clone(), own.unwrap_or(Value::Null));
        }
        if !m.is_empty() {
            out.insert(field.to_string(), Value::Object(m));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// `want` as the value of [`EPHEMERAL_METADATA_ANNOTATION`].
pub fn record(want: &ObjectMetadata) -> String {
    serde_json::to_string(want).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> ObjectMetadata {
        ObjectMetadata {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn canary_to_stable_swaps_the_keys() {
        let canary = meta(&[("role", "canary"), ("track", "new")], &[("a", "1")]);
        let stable = meta(&[("role", "stable")], &[]);
        let tpl = json!({"labels": {"app": "web", "track": "main"}});
        let p = metadata_patch(&canary, &stable, Some(&tpl)).expect("changes");
        assert_eq!(
            p,
            json!({"labels": {"role": "stable", "track": "main"}, "annotations": {"a": null}})
        );
        assert_eq!(metadata_patch(&stable, &stable, None), None);
        assert_eq!(
            metadata_patch(&ObjectMetadata::default(), &stable, None),
            Some(json!({"labels": {"role": "stable"}}))
        );
    }

    #[test]
    fn roles_and_records() {
        let r: Rollout = serde_json::from_value(json!({"spec": {"strategy": {"canary": {
            "canaryMetadata": {"labels": {"role": "canary"}}, "stableMetadata": {"annotations": {"s": "1"}}}}}}))
        .expect("rollout");
        let st = RolloutStatus::default();
        assert!(in_use(&r));
        assert_eq!(
            for_replica_set(&r, &st, Role::Canary, "c"),
            Some(&meta(&[("role", "canary")], &[]))
        );
        assert_eq!(
            for_replica_set(&r, &st, Role::Stable, "s"),
            Some(&meta(&[], &[("s", "1")]))
        );
        assert_eq!(for_replica_set(&r, &st, Role::Old, "o"), None);
        assert!(!managed(Role::Old));
        let want = meta(&[("role", "canary")], &[]);
        assert_eq!(recorded(Some(&record(&want))), want);
        assert_eq!(recorded(Some("not json")), ObjectMetadata::default());
    }

    #[test]
    fn blue_green_preview_becomes_active_when_the_active_service_selects_it() {
        let r: Rollout = serde_json::from_value(json!({"spec": {"strategy": {"blueGreen": {
            "activeService": "a", "activeMetadata": {"labels": {"role": "active"}},
            "previewMetadata": {"labels": {"role": "preview"}}}}}}))
        .expect("rollout");
        assert!(in_use(&r));
        let mut st = RolloutStatus::default();
        st.blue_green.active_selector = Some("old".into());
        assert_eq!(
            for_replica_set(&r, &st, Role::Preview, "new"),
            Some(&meta(&[("role", "preview")], &[]))
        );
        assert_eq!(
            for_replica_set(&r, &st, Role::Stable, "old"),
            Some(&meta(&[("role", "active")], &[]))
        );
        // Switched, post-promotion analysis still running: the new ReplicaSet is active.
        st.blue_green.active_selector = Some("new".into());
        assert_eq!(
            for_replica_set(&r, &st, Role::Preview, "new"),
            Some(&meta(&[("role", "active")], &[]))
        );
    }
}
