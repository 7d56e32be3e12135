//! What a sync does to each desired object, decided from the live state: create it, configure it, or leave it.

use std::collections::HashMap;

use serde_json::Value;

use crate::compare::{DIGEST_ANNOTATION, IgnoreRule, compare, ignore_pointers_for};
use crate::id::ObjectId;
use crate::prepare::Desired;

/// The change one desired object needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// It does not exist yet.
    Create,
    /// It exists and differs from Git (or was last applied from a different manifest).
    Configure,
    /// It exists, was applied from the same manifest (same digest annotation) and equals Git on the fields Git
    /// sets: no request is needed.
    Unchanged,
}

/// The change each of `desired` needs (same order), given the live objects found (absent: not in the cluster)
/// and the fields left out of comparisons.
pub fn classify(desired: &[Desired], live: &HashMap<ObjectId, Value>, ignore: &[IgnoreRule]) -> Vec<Change> {
    desired
        .iter()
        .map(|d| classify_one(d, live.get(&d.id), ignore))
        .collect()
}

/// The change one desired object needs, given its live state (absent: not in the cluster); what [`classify`]
/// decides for each object.
pub fn classify_one(d: &Desired, live: Option<&Value>, ignore: &[IgnoreRule]) -> Change {
    let Some(l) = live else {
        return Change::Create;
    };
    let digest = |v: &Value| {
        v.pointer("/metadata/annotations")
            .and_then(|a| a.get(DIGEST_ANNOTATION))
            .cloned()
    };
    let ignored = ignore_pointers_for(ignore, &d.id);
    let object = d.object.value();
    if digest(l) == digest(&object) && !compare(&object, Some(l), &ignored).differs() {
        Change::Unchanged
    } else {
        Change::Configure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::Stage;
    use serde_json::json;
    use tack_render::Origin;

    fn desired(name: &str, data: &str) -> Desired {
        Desired {
            id: ObjectId::new("", "ConfigMap", "ns", name),
            object: json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "ns", "annotations": {DIGEST_ANNOTATION: data}},
                "data": {"k": data}})
            .into(),
            origin: Origin::new("cm.yaml", 1),
            wave: 0,
            stage: Stage::Namespaced,
            namespaced: true,
            options: Default::default(),
        }
    }

    #[test]
    fn absent_differing_and_equal_objects() {
        let d = vec![
            desired("new", "1"),
            desired("edited", "2"),
            desired("same", "3"),
            desired("redigested", "4"),
        ];
        let mut live = HashMap::new();
        let mut edited = d[1].object.value();
        edited["data"]["k"] = json!("other");
        live.insert(d[1].id.clone(), edited);
        live.insert(d[2].id.clone(), d[2].object.value());
        // Equal fields, but applied from another manifest: configured (the digest is rewritten).
        let mut other_digest = d[3].object.value();
        other_digest["metadata"]["annotations"][DIGEST_ANNOTATION] = json!("old");
        live.insert(d[3].id.clone(), other_digest);
        assert_eq!(
            classify(&d, &live, &[]),
            vec![
                Change::Create,
                Change::Configure,
                Change::Unchanged,
                Change::Configure
            ]
        );
    }

    #[test]
    fn ignored_fields_do_not_make_a_change() {
        let d = vec![desired("a", "1")];
        let mut live = HashMap::new();
        let mut l = d[0].object.value();
        l["data"]["k"] = json!("scaled");
        live.insert(d[0].id.clone(), l);
        let rule = IgnoreRule {
            group: String::new(),
            kind: "ConfigMap".into(),
            name: None,
            namespace: None,
            json_pointers: vec!["/data/k".into()],
        };
        assert_eq!(classify(&d, &live, &[rule]), vec![Change::Unchanged]);
    }
}
