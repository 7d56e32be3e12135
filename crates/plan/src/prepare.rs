//! From rendered manifests to an ordered list of objects to apply.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use tack_render::{Manifest, Origin};

use crate::id::{ObjectId, group_of};

/// The annotation that orders objects in waves: an integer (negative allowed), default 0. Lower waves are
/// applied (and must be accepted by the API server) before higher ones.
pub const WAVE_ANNOTATION: &str = "tack.dev/sync-wave";

/// The stage of an object inside a wave: Namespaces and CustomResourceDefinitions first, then other
/// cluster-scoped objects, then namespaced objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Namespaces and CustomResourceDefinitions.
    Foundation,
    /// Other cluster-scoped objects (ClusterRoles, StorageClasses, ...).
    ClusterScoped,
    /// Everything that lives in a namespace.
    Namespaced,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Foundation => "namespaces and CRDs",
            Stage::ClusterScoped => "cluster-scoped objects",
            Stage::Namespaced => "namespaced objects",
        })
    }
}

/// Which kinds are namespaced: `(group, kind) → namespaced`, as discovery reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindScopes {
    map: BTreeMap<(String, String), bool>,
}

impl KindScopes {
    pub fn new() -> Self {
        KindScopes::default()
    }
    pub fn insert(&mut self, group: &str, kind: &str, namespaced: bool) {
        self.map.insert((group.to_string(), kind.to_string()), namespaced);
    }
    /// `Some(true)` for a namespaced kind, `Some(false)` for a cluster-scoped one, `None` when unknown.
    pub fn namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.map.get(&(group.to_string(), kind.to_string())).copied()
    }
    /// Adds the kinds defined by the CustomResourceDefinitions among `objects` (not yet served by the
    /// cluster when they are new).
    pub fn learn_from_crds<'a>(&mut self, objects: impl IntoIterator<Item = &'a Value>) {
        for o in objects {
            if let Some((group, kind, namespaced)) = crd_defines(o) {
                self.map.entry((group, kind)).or_insert(namespaced);
            }
        }
    }
}

/// `(group, kind, namespaced)` defined by `object` when it is a CustomResourceDefinition.
pub fn crd_defines(object: &Value) -> Option<(String, String, bool)> {
    if object.get("kind")?.as_str()? != "CustomResourceDefinition"
        || group_of(object.get("apiVersion")?.as_str()?) != "apiextensions.k8s.io"
    {
        return None;
    }
    let spec = object.get("spec")?;
    let group = spec.get("group")?.as_str()?;
    let kind = spec.get("names")?.get("kind")?.as_str()?;
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    Some((group.to_string(), kind.to_string(), namespaced))
}

/// One object ready to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// Its identity, with the namespace resolved.
    pub id: ObjectId,
    /// The object to send, with `metadata.namespace` set for namespaced kinds and removed for
    /// cluster-scoped ones.
    pub object: Value,
    /// Where it came from.
    pub origin: Origin,
    /// Its wave ([`WAVE_ANNOTATION`]).
    pub wave: i64,
    /// Its stage inside the wave.
    pub stage: Stage,
    /// Whether its kind is namespaced.
    pub namespaced: bool,
}

impl Desired {
    /// `apiVersion` of the object.
    pub fn api_version(&self) -> &str {
        self.object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    /// Whether this object is a CustomResourceDefinition.
    pub fn is_crd(&self) -> bool {
        self.id.group == "apiextensions.k8s.io" && self.id.kind == "CustomResourceDefinition"
    }
    /// `Kind/name (file:line)`, for messages.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.id.human(), self.origin)
    }
}

/// Why a set of manifests cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error(
        "{origin}: {kind} ({api_version}) is not a resource type this cluster serves; install its \
         CustomResourceDefinition first (or add the CRD to the same sync), or fix apiVersion/kind"
    )]
    UnknownKind {
        origin: Origin,
        api_version: String,
        kind: String,
    },
    #[error("{origin}: {id}: annotation {WAVE_ANNOTATION}: `{value}` is not an integer; use a whole number such as \"-1\", \"0\" or \"5\"", id = id.human())]
    InvalidWave {
        origin: Origin,
        id: Box<ObjectId>,
        value: String,
    },
    #[error("{second}: {id} is defined twice (first at {first}); remove one of them", id = id.human())]
    Duplicate {
        id: Box<ObjectId>,
        first: Origin,
        second: Origin,
    },
    #[error("{origin}: the object has no apiVersion, kind or metadata.name")]
    MissingIdentity { origin: Origin },
    #[error(
        "{origin}: {id} is namespaced but neither the manifest nor the command gives a namespace; \
         set metadata.namespace or pass --namespace",
        id = id.human()
    )]
    NoNamespace { origin: Origin, id: Box<ObjectId> },
    #[error("{} problems:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Multiple(Vec<PlanError>),
}

/// Resolves namespaces, waves and stages, checks for duplicates, and returns the objects in apply order:
/// by wave, then stage, then kind, namespace and name.
///
/// Namespaced objects without `metadata.namespace` get `destination`; cluster-scoped objects lose any
/// namespace they carry. Kinds defined by CRDs in `manifests` count as known. Every problem is reported,
/// not only the first.
pub fn prepare(
    manifests: Vec<Manifest>,
    destination: Option<&str>,
    scopes: &KindScopes,
) -> Result<Vec<Desired>, PlanError> {
    let mut scopes = scopes.clone();
    scopes.learn_from_crds(manifests.iter().map(|m| &m.object));
    let mut errors = Vec::new();
    let mut seen: BTreeMap<ObjectId, Origin> = BTreeMap::new();
    let mut out = Vec::with_capacity(manifests.len());
    for Manifest { mut object, origin } in manifests {
        let Some(mut id) = ObjectId::of(&object) else {
            errors.push(PlanError::MissingIdentity { origin });
            continue;
        };
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(namespaced) = scopes.namespaced(&id.group, &id.kind) else {
            errors.push(PlanError::UnknownKind {
                origin,
                api_version,
                kind: id.kind,
            });
            continue;
        };
        if namespaced {
            if id.namespace.is_empty() {
                match destination {
                    Some(ns) if !ns.is_empty() => {
                        id.namespace = ns.to_string();
                        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                            meta.insert("namespace".into(), Value::String(ns.to_string()));
                        }
                    }
                    _ => {
                        errors.push(PlanError::NoNamespace {
                            origin,
                            id: Box::new(id),
                        });
                        continue;
                    }
                }
            }
        } else {
            id.namespace.clear();
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
        }
        let wave = match object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(WAVE_ANNOTATION))
        {
            None => 0,
            Some(v) => match v
                .as_str()
                .map(str::trim)
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| v.as_i64())
            {
                Some(w) => w,
                None => {
                    let value = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    errors.push(PlanError::InvalidWave {
                        origin,
                        id: Box::new(id),
                        value,
                    });
                    continue;
                }
            },
        };
        if let Some(first) = seen.get(&id) {
            errors.push(PlanError::Duplicate {
                id: Box::new(id),
                first: first.clone(),
                second: origin,
            });
            continue;
        }
        seen.insert(id.clone(), origin.clone());
        let stage = if (id.group.is_empty() && id.kind == "Namespace")
            || (id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition")
        {
            Stage::Foundation
        } else if namespaced {
            Stage::Namespaced
        } else {
            Stage::ClusterScoped
        };
        out.push(Desired {
            id,
            object,
            origin,
            wave,
            stage,
            namespaced,
        });
    }
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(PlanError::Multiple(errors)),
    }
    out.sort_by(|a, b| {
        (
            a.wave,
            a.stage,
            foundation_rank(a),
            &a.id.kind,
            &a.id.namespace,
            &a.id.name,
        )
            .cmp(&(
                b.wave,
                b.stage,
                foundation_rank(b),
                &b.id.kind,
                &b.id.namespace,
                &b.id.name,
            ))
    });
    Ok(out)
}

/// Namespaces before CRDs inside the foundation stage.
fn foundation_rank(d: &Desired) -> u8 {
    u8::from(!(d.id.group.is_empty() && d.id.kind == "Namespace"))
}

/// Splits ordered objects into batches of equal (wave, stage). Objects of one batch are independent and
/// may be applied concurrently; batches are applied one after the other.
pub fn batches(objects: &[Desired]) -> Vec<&[Desired]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=objects.len() {
        if i == objects.len()
            || (objects[i].wave, objects[i].stage) != (objects[start].wave, objects[start].stage)
        {
            if i > start {
                out.push(&objects[start..i]);
            }
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(object: Value, line: u64) -> Manifest {
        Manifest {
            object,
            origin: Origin::new("app.yaml", line),
        }
    }

    fn scopes() -> KindScopes {
        let mut s = KindScopes::new();
        s.insert("", "Namespace", false);
        s.insert("", "ConfigMap", true);
        s.insert("apps", "Deployment", true);
        s.insert("rbac.authorization.k8s.io", "ClusterRole", false);
        s.insert("apiextensions.k8s.io", "CustomResourceDefinition", false);
        s
    }

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    }

    #[test]
    fn defaults_namespace_for_namespaced_kinds_only() {
        let out = prepare(
            vec![
                m(cm("a"), 1),
                m(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other"}}), 5),
                m(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}}), 9),
            ],
            Some("dest"),
            &scopes(),
        )
        .expect("plan");
        let ids: Vec<String> = out.iter().map(|d| d.id.to_string()).collect();
        assert_eq!(
            ids,
            [
                "_r_rbac.authorization.k8s.io_ClusterRole",
                "dest_a__ConfigMap",
                "other_b__ConfigMap"
            ]
        );
        assert_eq!(out[1].object["metadata"]["namespace"], "dest");
        assert!(out[0].object["metadata"].get("namespace").is_none());
    }

    #[test]
    fn namespaced_object_without_any_namespace_is_an_error() {
        let err = prepare(vec![m(cm("a"), 3)], None, &scopes()).expect_err("no namespace");
        assert!(
            err.to_string()
                .starts_with("app.yaml:3: ConfigMap/a is namespaced"),
            "{err}"
        );
    }

    #[test]
    fn order_namespaces_crds_cluster_scoped_then_rest_within_waves() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"}}});
        let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let early = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "early", "annotations": {WAVE_ANNOTATION: "-1"}}});
        let out = prepare(
            vec![
                m(widget, 1),
                m(cm("z"), 2),
                m(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}), 3),
                m(crd, 4),
                m(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dest"}}), 5),
                m(early, 6),
            ],
            Some("dest"),
            &scopes(),
        )
        .expect("plan");
        let order: Vec<&str> = out.iter().map(|d| d.id.name.as_str()).collect();
        assert_eq!(order, ["early", "dest", "widgets.example.com", "r", "z", "w"]);
        let b = batches(&out);
        let sizes: Vec<usize> = b.iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [1, 2, 1, 2]);
        assert_eq!(
            out[5].id.namespace, "dest",
            "custom resource of a namespaced CRD gets the namespace"
        );
    }

    #[test]
    fn invalid_wave_names_object_and_file() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "annotations": {WAVE_ANNOTATION: "soon"}}});
        let err = prepare(vec![m(o, 7)], Some("d"), &scopes()).expect_err("invalid wave");
        let text = err.to_string();
        assert!(
            text.contains("app.yaml:7") && text.contains("ConfigMap/a") && text.contains("`soon`"),
            "{text}"
        );
    }

    #[test]
    fn unknown_kind_and_duplicates_are_all_reported() {
        let err = prepare(
            vec![
                m(
                    json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}),
                    1,
                ),
                m(cm("a"), 2),
                m(cm("a"), 8),
            ],
            Some("d"),
            &scopes(),
        )
        .expect_err("errors");
        let text = err.to_string();
        assert!(text.starts_with("2 problems"), "{text}");
        assert!(
            text.contains("app.yaml:1: Gadget (example.com/v1) is not a resource type"),
            "{text}"
        );
        assert!(
            text.contains("app.yaml:8: ConfigMap/a (namespace d) is defined twice (first at app.yaml:2)"),
            "{text}"
        );
    }

    #[test]
    fn batches_of_empty_is_empty() {
        assert!(batches(&[]).is_empty());
    }
}
