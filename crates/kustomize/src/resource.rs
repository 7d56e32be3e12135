//! Resources, their identities and field-spec traversal.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::Error;

/// Group, version, kind.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// Whether this GVK is selected by a (possibly partial) selector GVK.
    pub fn is_selected(&self, sel: &Gvk) -> bool {
        (sel.group.is_empty() || sel.group == self.group)
            && (sel.version.is_empty() || sel.version == self.version)
            && (sel.kind.is_empty() || sel.kind == self.kind)
    }

    /// Cluster-scoped kinds of the built-in Kubernetes (v1.21) schema.
    pub fn is_cluster_scoped(&self) -> bool {
        crate::openapi::is_cluster_scoped(&self.group, &self.kind)
    }
}

/// A resource identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

/// One object being built.
#[derive(Debug, Clone)]
pub struct Resource {
    pub obj: Map<String, Value>,
    /// Identities this resource had before renames, oldest first.
    pub prev_ids: Vec<ResId>,
    pub needs_hash: bool,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// `config.kubernetes.io/origin` text (build metadata).
    pub origin: Option<String>,
    /// `alpha.config.kubernetes.io/transformations` entries (build metadata).
    pub transformations: Vec<String>,
    /// Names of the `vars` bound to this resource (by the kustomization that declared them).
    pub ref_vars: Vec<String>,
    /// Fields that share one value, as Kustomize's YAML nodes do: a label or annotation that one
    /// transformer added at several fields of an object (metadata, selector, template) is one
    /// node, so a later in-place change of any of them (a label set again, a strategic-merge
    /// patch, a replacement) shows at all of them.
    pub links: Vec<Vec<Vec<Seg>>>,
}

/// One step of a concrete path in an object: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Idx(usize),
}

/// The node at a concrete path.
pub fn get_at<'a>(node: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut cur = node;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Idx(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The node at a concrete path, mutably.
pub fn get_at_mut<'a>(node: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = node;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Idx(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl Resource {
    pub fn new(obj: Map<String, Value>) -> Resource {
        Resource {
            obj,
            prev_ids: Vec::new(),
            needs_hash: false,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            origin: None,
            transformations: Vec::new(),
            ref_vars: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn str_at(&self, path: &[&str]) -> String {
        self.str_cow(path).into_owned()
    }

    /// Like [`Resource::str_at`], without copying string values.
    pub fn str_cow(&self, path: &[&str]) -> Cow<'_, str> {
        let mut cur = match self.obj.get(path[0]) {
            Some(v) => v,
            None => return Cow::Borrowed(""),
        };
        for p in &path[1..] {
            match cur.get(p) {
                Some(v) => cur = v,
                None => return Cow::Borrowed(""),
            }
        }
        match cur {
            Value::String(s) => Cow::Borrowed(s),
            Value::Null => Cow::Borrowed(""),
            other => Cow::Owned(other.to_string()),
        }
    }

    pub fn kind(&self) -> String {
        self.str_at(&["kind"])
    }
    pub fn name(&self) -> String {
        self.str_at(&["metadata", "name"])
    }
    pub fn namespace(&self) -> String {
        self.str_at(&["metadata", "namespace"])
    }
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(&self.str_cow(&["apiVersion"]), &self.str_cow(&["kind"]))
    }
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }
    /// Current and previous identities.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = vec![self.cur_id()];
        v.extend(self.prev_ids.iter().cloned());
        v
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        if !matches!(self.obj.get("metadata"), Some(Value::Object(_))) {
            self.obj.insert("metadata".into(), Value::Object(Map::new()));
        }
        match self.obj.get_mut("metadata") {
            Some(Value::Object(m)) => m,
            _ => unreachable!("metadata was just made an object"),
        }
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }
    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// Records the current id before a rename.
    pub fn store_prev_id(&mut self) {
        let id = self.cur_id();
        if self.prev_ids.last() != Some(&id) {
            self.prev_ids.push(id);
        }
    }

    /// `metadata.labels` when it is a map.
    pub fn labels_ref(&self) -> Option<&Map<String, Value>> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.as_object())
    }
    /// `metadata.annotations` when it is a map.
    pub fn annotations_ref(&self) -> Option<&Map<String, Value>> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|l| l.as_object())
    }

    pub fn labels(&self) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.as_object())
            .cloned()
            .unwrap_or_default()
    }
    pub fn annotations(&self) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|l| l.as_object())
            .cloned()
            .unwrap_or_default()
    }
}

/// A field spec: where in which kinds a transformer acts.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: Vec<String>,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            path: split_path(path),
            create,
        }
    }

    pub fn from_value(v: &Value) -> Result<FieldSpec, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::msg(format!("invalid field spec: {v}")))?;
        let s = |k: &str| m.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        Ok(FieldSpec {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            path: split_path(&s("path")),
            create: m.get("create").and_then(|x| x.as_bool()).unwrap_or(false),
        })
    }

    pub fn applies_to(&self, gvk: &Gvk) -> bool {
        gvk.is_selected(&self.gvk)
    }
}

/// Splits a field path on `/` (honouring `\/`) and drops `[]` markers.
pub fn split_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    // A segment keeps its `[]` marker (a sequence field): such a field is never created.
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Applies `f` to every node at `path` (sequences are traversed transparently). With `create`,
/// missing map fields are created (`Null` at the leaf, maps on the way), except fields marked
/// as sequences (`name[]`), which Kustomize never creates.
pub fn visit_path(
    node: &mut Value,
    path: &[String],
    create: bool,
    f: &mut dyn FnMut(&mut Value) -> Result<(), Error>,
) -> Result<(), Error> {
    visit_path_at(node, path, create, &mut Vec::new(), &mut |n, _| f(n))
}

/// A callback given each node found at a path and its concrete path.
pub type PathVisitor<'a> = dyn FnMut(&mut Value, &[Seg]) -> Result<(), Error> + 'a;

/// [`visit_path`] that also tells `f` the concrete path of each node.
pub fn visit_path_at(
    node: &mut Value,
    path: &[String],
    create: bool,
    at: &mut Vec<Seg>,
    f: &mut PathVisitor<'_>,
) -> Result<(), Error> {
    if path.is_empty() {
        return f(node, at);
    }
    match node {
        Value::Array(items) => {
            for (i, it) in items.iter_mut().enumerate() {
                at.push(Seg::Idx(i));
                let r = visit_path_at(it, path, create, at, f);
                at.pop();
                r?;
            }
            Ok(())
        }
        Value::Object(m) => {
            let (key, is_seq) = match path[0].strip_suffix("[]") {
                Some(k) => (k, true),
                None => (path[0].as_str(), false),
            };
            if !m.contains_key(key) {
                if !create || is_seq {
                    return Ok(());
                }
                let v = if path.len() == 1 {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                };
                m.insert(key.to_string(), v);
            }
            match m.get_mut(key) {
                Some(child) => {
                    if child.is_null() && path.len() > 1 {
                        if !create || is_seq {
                            return Ok(());
                        }
                        *child = Value::Object(Map::new());
                    }
                    at.push(Seg::Key(key.to_string()));
                    let r = visit_path_at(child, &path[1..], create, at, f);
                    at.pop();
                    r
                }
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// A hashable form of a resource id with Kustomize's equality (namespace "" = "default",
/// ignored for cluster-scoped kinds).
pub fn id_key(id: &ResId) -> IdKey {
    let ns = if id.gvk.is_cluster_scoped() {
        String::new()
    } else if id.namespace.is_empty() {
        "default".to_string()
    } else {
        id.namespace.clone()
    };
    (
        id.gvk.group.clone(),
        id.gvk.version.clone(),
        id.gvk.kind.clone(),
        id.name.clone(),
        ns,
    )
}

pub type IdKey = (String, String, String, String, String);

/// Namespace equality with Kustomize's rule that "" means "default".
pub fn ns_equal(a: &str, b: &str) -> bool {
    let n = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    n(a) == n(b)
}

impl Resource {
    /// After an in-place change of the object (`before` is the object as it was), a linked field
    /// that changed gives its value to the fields linked with it; links to fields that are gone
    /// are dropped.
    pub fn sync_links(&mut self, before: &Map<String, Value>) {
        if self.links.is_empty() {
            return;
        }
        let before = Value::Object(before.clone());
        let mut obj = Value::Object(std::mem::take(&mut self.obj));
        for group in self.links.iter_mut() {
            group.retain(|p| get_at(&obj, p).is_some());
            let changed = group
                .iter()
                .filter(|p| get_at(&obj, p) != get_at(&before, p))
                .filter_map(|p| get_at(&obj, p).cloned())
                .next_back();
            if let Some(v) = changed.filter(|v| !v.is_object() && !v.is_array()) {
                for p in group.iter() {
                    if let Some(n) = get_at_mut(&mut obj, p) {
                        *n = v.clone();
                    }
                }
            }
        }
        self.links.retain(|g| g.len() > 1);
        if let Value::Object(m) = obj {
            self.obj = m;
        }
    }

    /// Sets the value at `path` and at every field linked with it.
    pub fn set_linked(obj: &mut Value, links: &[Vec<Vec<Seg>>], path: &[Seg], v: &Value) {
        if let Some(group) = links.iter().find(|g| g.iter().any(|p| p == path)) {
            for p in group {
                if let Some(n) = get_at_mut(obj, p) {
                    *n = v.clone();
                }
            }
        } else if let Some(n) = get_at_mut(obj, path) {
            *n = v.clone();
        }
    }
}
