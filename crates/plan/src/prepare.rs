//! From rendered manifests to an ordered list of objects to apply.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use tack_render::{Manifest, Origin, PackedManifest, PackedObject};

use crate::id::{ObjectId, group_of};
use crate::options::{ObjectOptions, object_options};

/// The annotation that orders objects in waves: an integer (negative allowed), default 0. Lower waves are
/// applied (and must be healthy) before higher ones.
pub const WAVE_ANNOTATION: &str = "tack.dev/sync-wave";
/// Argo CD's spelling of [`WAVE_ANNOTATION`] (tack's wins when both are set).
pub const ARGO_WAVE_ANNOTATION: &str = "argocd.argoproj.io/sync-wave";

/// Argo CD's kind order inside a wave (gitops-engine's `kindOrder`); other kinds come after these.
pub const KIND_ORDER: [&str; 35] = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// The rank of `kind` in [`KIND_ORDER`] (kinds not listed rank last).
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// The wave of `object`: [`WAVE_ANNOTATION`], else [`ARGO_WAVE_ANNOTATION`], else 0. `Err` holds the annotation
/// and the text that is not an integer.
pub fn wave_of(object: &Value) -> Result<i64, (&'static str, String)> {
    let annotations = object.pointer("/metadata/annotations");
    for key in [WAVE_ANNOTATION, ARGO_WAVE_ANNOTATION] {
        if let Some(v) = annotations.and_then(|a| a.get(key)) {
            return v
                .as_str()
                .map(str::trim)
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| v.as_i64())
                .ok_or_else(|| {
                    (
                        key,
                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                    )
                });
        }
    }
    Ok(0)
}

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
    /// No known kinds.
    pub fn new() -> Self {
        KindScopes::default()
    }
    /// Records whether `kind` of `group` is namespaced (replacing what was known).
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
    /// cluster-scoped ones; kept compact ([`PackedObject::value`] reads it).
    pub object: PackedObject,
    /// Where it came from.
    pub origin: Origin,
    /// Its wave ([`WAVE_ANNOTATION`]).
    pub wave: i64,
    /// Its stage inside the wave.
    pub stage: Stage,
    /// Whether its kind is namespaced.
    pub namespaced: bool,
    /// Its per-object sync options.
    pub options: ObjectOptions,
}

impl Desired {
    /// `apiVersion` of the object.
    pub fn api_version(&self) -> String {
        self.object.head().api_version
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
    /// A manifest's kind is not served by the cluster, nor defined by a CRD of the same sync.
    #[error(
        "{origin}: {kind} ({api_version}) is not a resource type this cluster serves; install its \
         CustomResourceDefinition first (or add the CRD to the same sync), or fix apiVersion/kind"
    )]
    UnknownKind {
        /// Where the manifest is (file:line).
        origin: Origin,
        /// The manifest's `apiVersion`.
        api_version: String,
        /// The manifest's `kind`.
        kind: String,
    },
    /// A sync-wave annotation is not an integer.
    #[error("{origin}: {id}: annotation {key}: `{value}` is not an integer; use a whole number such as \"-1\", \"0\" or \"5\"", id = id.human())]
    InvalidWave {
        /// Where the manifest is (file:line).
        origin: Origin,
        /// The object.
        id: Box<ObjectId>,
        /// The annotation: [`WAVE_ANNOTATION`] or [`ARGO_WAVE_ANNOTATION`].
        key: &'static str,
        /// The annotation's value as written.
        value: String,
    },
    /// Two manifests declare the same object.
    #[error("{second}: {id} is defined twice (first at {first}); remove one of them", id = id.human())]
    Duplicate {
        /// The object.
        id: Box<ObjectId>,
        /// Where it is declared first.
        first: Origin,
        /// Where it is declared again.
        second: Origin,
    },
    /// A manifest lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("{origin}: the object has no apiVersion, kind or metadata.name")]
    MissingIdentity {
        /// Where the manifest is (file:line).
        origin: Origin,
    },
    /// A namespaced object has no namespace: neither the manifest nor the command gives one.
    #[error(
        "{origin}: {id} is namespaced but neither the manifest nor the command gives a namespace; \
         set metadata.namespace or pass --namespace",
        id = id.human()
    )]
    NoNamespace {
        /// Where the manifest is (file:line).
        origin: Origin,
        /// The object.
        id: Box<ObjectId>,
    },
    /// Several of the problems above, one per manifest.
    #[error("{} problems:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Multiple(Vec<PlanError>),
}

/// Resolves namespaces, waves and stages, checks for duplicates, and returns the objects in apply order:
/// by wave, then stage (Namespaces and CRDs must exist before what uses them), then Argo CD's kind order
/// ([`KIND_ORDER`]), then name.
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
    prepare_each(manifests.into_iter(), destination, &scopes)
}

/// [`prepare`] of manifests kept compact: each is read back one at a time, so the trees of a large application
/// are never held at once.
pub fn prepare_packed(
    manifests: Vec<PackedManifest>,
    destination: Option<&str>,
    scopes: &KindScopes,
) -> Result<Vec<Desired>, PlanError> {
    let mut scopes = scopes.clone();
    for m in manifests
        .iter()
        .filter(|m| m.object.mentions("CustomResourceDefinition"))
    {
        scopes.learn_from_crds([&m.object.value()]);
    }
    prepare_each(manifests.into_iter().map(|m| m.unpack()), destination, &scopes)
}

fn prepare_each(
    manifests: impl ExactSizeIterator<Item = Manifest>,
    destination: Option<&str>,
    scopes: &KindScopes,
) -> Result<Vec<Desired>, PlanError> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<ObjectId, Origin> = BTreeMap::new();
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        match desired(m, destination, scopes, &mut seen) {
            Ok(d) => out.push(d),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(PlanError::Multiple(errors)),
    }
    out.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    Ok(out)
}

/// The apply order: wave, stage, Argo CD's kind order, kind, name, namespace.
fn order_key(d: &Desired) -> (i64, Stage, usize, &str, &str, &str) {
    (
        d.wave,
        d.stage,
        kind_rank(&d.id.kind),
        &d.id.kind,
        &d.id.name,
        &d.id.namespace,
    )
}

/// One manifest as a desired object: identity, scope (a namespace from `destination` when namespaced and
/// none is given; none when cluster-scoped), wave, stage and options. `seen` catches duplicates.
fn desired(
    m: Manifest,
    destination: Option<&str>,
    scopes: &KindScopes,
    seen: &mut BTreeMap<ObjectId, Origin>,
) -> Result<Desired, PlanError> {
    let Manifest { mut object, origin } = m;
    let Some(mut id) = ObjectId::of(&object) else {
        return Err(PlanError::MissingIdentity { origin });
    };
    let options = object_options(&object);
    // A kind not served yet, marked SkipDryRunOnMissingResource, is taken as namespaced when the manifest
    // gives a namespace or no scope is known, and resolved when it is applied.
    let namespaced = match scopes.namespaced(&id.group, &id.kind) {
        Some(n) => n,
        None if options.skip_dry_run_on_missing => true,
        None => {
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            return Err(PlanError::UnknownKind {
                origin,
                api_version,
                kind: id.kind,
            });
        }
    };
    if let Err(origin) = set_scope(&mut id, &mut object, namespaced, destination, origin.clone()) {
        return Err(PlanError::NoNamespace {
            origin,
            id: Box::new(id),
        });
    }
    let wave = match wave_of(&object) {
        Ok(w) => w,
        Err((key, value)) => {
            return Err(PlanError::InvalidWave {
                origin,
                id: Box::new(id),
                key,
                value,
            });
        }
    };
    if let Some(first) = seen.get(&id) {
        return Err(PlanError::Duplicate {
            id: Box::new(id),
            first: first.clone(),
            second: origin,
        });
    }
    seen.insert(id.clone(), origin.clone());
    let stage = stage_of(&id, namespaced);
    Ok(Desired {
        id,
        object: PackedObject::from_value(object),
        origin,
        wave,
        stage,
        namespaced,
        options,
    })
}

/// Gives a namespaced object without a namespace the destination's (in its id and its metadata), and removes
/// the namespace of a cluster-scoped one. A namespaced object with neither is an error (`origin` returned).
fn set_scope(
    id: &mut ObjectId,
    object: &mut Value,
    namespaced: bool,
    destination: Option<&str>,
    origin: Origin,
) -> Result<(), Origin> {
    if !namespaced {
        id.namespace.clear();
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
        return Ok(());
    }
    if !id.namespace.is_empty() {
        return Ok(());
    }
    match destination {
        Some(ns) if !ns.is_empty() => {
            id.namespace = ns.to_string();
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(ns.to_string()));
            }
            Ok(())
        }
        _ => Err(origin),
    }
}

/// Namespaces and CRDs first (later objects need them), then namespaced objects, then cluster-scoped ones.
fn stage_of(id: &ObjectId, namespaced: bool) -> Stage {
    if (id.group.is_empty() && id.kind == "Namespace")
        || (id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition")
    {
        Stage::Foundation
    } else if namespaced {
        Stage::Namespaced
    } else {
        Stage::ClusterScoped
    }
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
        assert_eq!(out[1].object.value()["metadata"]["namespace"], "dest");
        assert!(out[0].object.value()["metadata"].get("namespace").is_none());
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
    fn argo_cd_waves_and_kind_order() {
        let obj = |kind: &str, api: &str, name: &str, wave: Option<&str>| {
            let mut o = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
            if let Some(w) = wave {
                o["metadata"]["annotations"] = json!({ARGO_WAVE_ANNOTATION: w});
            }
            o
        };
        let mut s = scopes();
        s.insert("", "Service", true);
        s.insert("", "ServiceAccount", true);
        s.insert("", "Secret", true);
        let out = prepare(
            vec![
                m(obj("Deployment", "apps/v1", "a", Some("1")), 1),
                m(obj("Service", "v1", "b", None), 2),
                m(obj("ConfigMap", "v1", "c", Some("2")), 3),
                m(obj("ServiceAccount", "v1", "z", None), 4),
                m(obj("Secret", "v1", "y", Some("0")), 5),
                m(obj("ConfigMap", "v1", "d", Some("-1")), 6),
                m(obj("Deployment", "apps/v1", "b", None), 7),
            ],
            Some("dest"),
            &s,
        )
        .expect("plan");
        let order: Vec<String> = out
            .iter()
            .map(|d| format!("{}:{}/{}", d.wave, d.id.kind, d.id.name))
            .collect();
        assert_eq!(
            order,
            [
                "-1:ConfigMap/d",
                "0:ServiceAccount/z",
                "0:Secret/y",
                "0:Service/b",
                "0:Deployment/b",
                "1:Deployment/a",
                "2:ConfigMap/c"
            ]
        );
        // tack's annotation wins over Argo CD's.
        let both = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x",
            "annotations": {WAVE_ANNOTATION: "3", ARGO_WAVE_ANNOTATION: "9"}}});
        assert_eq!(wave_of(&both), Ok(3));
        let bad = obj("ConfigMap", "v1", "e", Some("x"));
        let err = prepare(vec![m(bad, 9)], Some("d"), &scopes()).expect_err("invalid wave");
        assert!(
            err.to_string()
                .contains("annotation argocd.argoproj.io/sync-wave: `x`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_kind_with_skip_dry_run_on_missing_resource_is_planned() {
        let o = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g",
            "annotations": {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}}});
        let out = prepare(vec![m(o, 1)], Some("d"), &scopes()).expect("planned");
        assert_eq!(out[0].id.namespace, "d");
        assert!(out[0].options.skip_dry_run_on_missing);
    }

    #[test]
    fn batches_of_empty_is_empty() {
        assert!(batches(&[]).is_empty());
    }
}
