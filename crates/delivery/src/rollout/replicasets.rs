//! ReplicaSets of a Rollout: built from its pod template (pure), and the history kept after an update.

use k8s_openapi::api::apps::v1::ReplicaSet;
use serde_json::{Value, json};
use tack_rollout::POD_TEMPLATE_HASH_LABEL;

use super::{REVISION_ANNOTATION, TEMPLATE_ANNOTATION};

/// `<rollout>-<hash>`.
pub(crate) fn replica_set_name(rollout: &str, hash: &str) -> String {
    format!("{rollout}-{hash}")
}

/// What a new ReplicaSet is made from.
pub(crate) struct NewReplicaSet<'a> {
    pub(crate) rollout: &'a str,
    pub(crate) rollout_uid: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) template: &'a Value,
    pub(crate) selector: Option<&'a Value>,
    pub(crate) hash: &'a str,
    pub(crate) replicas: i32,
    pub(crate) revision: i64,
    pub(crate) min_ready_seconds: i32,
    /// Ephemeral labels and annotations of its pods (`canaryMetadata` / `stableMetadata`), recorded in
    /// [`tack_rollout::ephemeral::EPHEMERAL_METADATA_ANNOTATION`].
    pub(crate) ephemeral: Option<&'a tack_rollout::spec::ObjectMetadata>,
    /// The pod template's `spec.affinity` with the injected anti-affinity term
    /// ([`tack_rollout::affinity::replica_set_affinity`]); not recorded in the template annotation.
    pub(crate) affinity: Option<Value>,
}

/// The ReplicaSet for pod template hash `hash`: template labels and selector extended with the hash, owned by
/// the Rollout, annotated with the revision.
pub(crate) fn new_replica_set(n: &NewReplicaSet<'_>) -> Value {
    let original = serde_json::to_string(n.template).unwrap_or_default();
    let mut template = n.template.clone();
    if !template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"] = json!({});
    }
    if !template["metadata"].get("labels").is_some_and(Value::is_object) {
        template["metadata"]["labels"] = json!({});
    }
    template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(n.hash);
    let labels = template["metadata"]["labels"].clone();
    if let Some(a) = &n.affinity {
        if !template.get("spec").is_some_and(Value::is_object) {
            template["spec"] = json!({});
        }
        template["spec"]["affinity"] = a.clone();
    }
    if let Some(e) = n.ephemeral {
        for (k, v) in &e.labels {
            template["metadata"]["labels"][k] = json!(v);
        }
        if !e.annotations.is_empty()
            && !template["metadata"]
                .get("annotations")
                .is_some_and(Value::is_object)
        {
            template["metadata"]["annotations"] = json!({});
        }
        for (k, v) in &e.annotations {
            template["metadata"]["annotations"][k] = json!(v);
        }
    }
    let mut annotations = json!({REVISION_ANNOTATION: n.revision.to_string(), TEMPLATE_ANNOTATION: original});
    if let Some(e) = n.ephemeral {
        annotations[tack_rollout::ephemeral::EPHEMERAL_METADATA_ANNOTATION] =
            json!(tack_rollout::ephemeral::record(e));
    }
    let mut selector = n
        .selector
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"matchLabels": labels.clone()}));
    if !selector.get("matchLabels").is_some_and(Value::is_object) {
        selector["matchLabels"] = json!({});
    }
    selector["matchLabels"][POD_TEMPLATE_HASH_LABEL] = json!(n.hash);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": replica_set_name(n.rollout, n.hash),
            "namespace": n.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [tack_traffic::owner_reference(n.rollout, n.rollout_uid)],
        },
        "spec": {
            "replicas": n.replicas,
            "minReadySeconds": n.min_ready_seconds,
            "selector": selector,
            "template": template,
        }
    })
}

/// The revision annotation of a ReplicaSet (0 when absent).
pub(crate) fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The pod template hash label of a ReplicaSet.
pub(crate) fn hash(rs: &ReplicaSet) -> Option<&str> {
    rs.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
        .map(String::as_str)
}

/// Scaled-down ReplicaSets beyond the newest `limit` (by revision), never the current or stable one.
pub(crate) fn history_to_delete<'a>(
    owned: &'a [ReplicaSet],
    keep: &[&str],
    limit: usize,
) -> Vec<&'a ReplicaSet> {
    let mut old: Vec<&ReplicaSet> = owned
        .iter()
        .filter(|rs| hash(rs).is_some_and(|h| !keep.contains(&h)))
        .filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0) == 0)
        .filter(|rs| rs.status.as_ref().is_none_or(|s| s.replicas == 0))
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    old.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    old.into_iter().skip(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_set_carries_the_hash_everywhere() {
        let template = json!({"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let selector = json!({"matchLabels": {"app": "web"}});
        let rs = new_replica_set(&NewReplicaSet {
            rollout: "web",
            rollout_uid: "u",
            namespace: "ns",
            template: &template,
            selector: Some(&selector),
            hash: "abc",
            replicas: 2,
            revision: 3,
            min_ready_seconds: 0,
            ephemeral: None,
            affinity: Some(
                json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}}),
            ),
        });
        assert_eq!(rs["metadata"]["name"], "web-abc");
        assert_eq!(rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL], "abc");
        assert_eq!(rs["spec"]["selector"]["matchLabels"]["app"], "web");
        assert_eq!(
            rs["spec"]["selector"]["matchLabels"][POD_TEMPLATE_HASH_LABEL],
            "abc"
        );
        assert_eq!(
            rs["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL],
            "abc"
        );
        assert_eq!(rs["metadata"]["annotations"][REVISION_ANNOTATION], "3");
        assert_eq!(rs["metadata"]["ownerReferences"][0]["controller"], true);
        assert!(rs["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"].is_object());
        let recorded: Value = serde_json::from_str(
            rs["metadata"]["annotations"][TEMPLATE_ANNOTATION]
                .as_str()
                .expect("template annotation"),
        )
        .expect("json");
        assert_eq!(
            recorded, template,
            "the Rollout's template is recorded without the injected affinity"
        );
        let parsed: ReplicaSet = serde_json::from_value(rs).expect("valid ReplicaSet");
        assert_eq!(parsed.spec.and_then(|s| s.replicas), Some(2));
    }

    #[test]
    fn ephemeral_metadata_goes_on_the_pods_not_the_selector() {
        let template = json!({"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let e: tack_rollout::spec::ObjectMetadata =
            serde_json::from_value(json!({"labels": {"role": "canary"}, "annotations": {"a": "1"}}))
                .expect("meta");
        let rs = new_replica_set(&NewReplicaSet {
            rollout: "web",
            rollout_uid: "u",
            namespace: "ns",
            template: &template,
            selector: None,
            hash: "abc",
            replicas: 1,
            revision: 2,
            min_ready_seconds: 0,
            ephemeral: Some(&e),
            affinity: None,
        });
        assert_eq!(rs["spec"]["template"]["metadata"]["labels"]["role"], "canary");
        assert_eq!(rs["spec"]["template"]["metadata"]["annotations"]["a"], "1");
        assert!(rs["spec"]["selector"]["matchLabels"].get("role").is_none());
        assert!(rs["metadata"]["labels"].get("role").is_none());
        let recorded = rs["metadata"]["annotations"][tack_rollout::ephemeral::EPHEMERAL_METADATA_ANNOTATION]
            .as_str()
            .map(|a| tack_rollout::ephemeral::recorded(Some(a)));
        assert_eq!(recorded, Some(e));
        let original = rs["metadata"]["annotations"][TEMPLATE_ANNOTATION]
            .as_str()
            .unwrap_or_default();
        assert!(
            !original.contains("canary"),
            "the recorded Rollout template has no ephemeral metadata"
        );
    }

    #[test]
    fn history_keeps_the_newest() {
        let mk = |h: &str, rev: i64, replicas: i32| -> ReplicaSet {
            serde_json::from_value(json!({
                "metadata": {"name": h, "labels": {POD_TEMPLATE_HASH_LABEL: h},
                             "annotations": {REVISION_ANNOTATION: rev.to_string()}},
                "spec": {"replicas": replicas, "selector": {}}
            }))
            .expect("rs")
        };
        let all = vec![
            mk("a", 1, 0),
            mk("b", 2, 0),
            mk("c", 3, 0),
            mk("d", 4, 2),
            mk("e", 5, 0),
        ];
        let gone: Vec<_> = history_to_delete(&all, &["e"], 1)
            .into_iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
        assert_eq!(gone, ["b", "a"]);
    }
}
