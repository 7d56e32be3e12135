//! The resource accumulator: the objects a kustomization has gathered so far, with the
//! transformer configuration and `vars` its bases brought, and the rules for adding to it
//! (resource files expanded into objects, unique ids, generated objects created, merged or
//! replaced).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Error;
use crate::config::TransformerConfig;
use crate::resource::{IdKey, Resource, id_key, ns_equal};

/// Accumulated state of one kustomization.
pub(crate) struct Acc {
    pub res: Vec<Resource>,
    pub config: Arc<TransformerConfig>,
    pub vars: Vec<Value>,
}

impl Acc {
    pub fn new() -> Acc {
        Acc {
            res: Vec::new(),
            config: TransformerConfig::builtin_shared(),
            vars: Vec::new(),
        }
    }

    /// Adds a base's accumulated state: its objects (ids must stay unique), its extra transformer
    /// configuration and its vars.
    pub fn absorb(&mut self, sub: Acc, seen: &mut HashSet<IdKey>, origin: &str) -> Result<(), Error> {
        append(&mut self.res, seen, sub.res, origin)?;
        if !TransformerConfig::is_builtin(&sub.config) {
            Arc::make_mut(&mut self.config).merge_extra(&sub.config);
        }
        crate::vars::merge(&mut self.vars, sub.vars, origin)
    }
}

pub(crate) fn append(
    acc: &mut Vec<Resource>,
    seen: &mut HashSet<IdKey>,
    new: Vec<Resource>,
    origin: &str,
) -> Result<(), Error> {
    for r in new {
        let id = r.cur_id();
        if !seen.insert(id_key(&id)) {
            return Err(Error::msg(format!(
                "{origin}: may not add resource with an already registered id: {}.{}.{}/{}.{}",
                id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
            )));
        }
        acc.push(r);
    }
    Ok(())
}

/// Turns one parsed document into resources (`List` kinds into their items).
pub(crate) fn expand(m: Map<String, Value>, file: &str, out: &mut Vec<Resource>) -> Result<(), Error> {
    let kind = m.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_string();
    if kind.is_empty() {
        return Err(Error::msg(format!(
            "{file}: missing kind in object {}",
            Value::Object(m)
        )));
    }
    if kind == "Kustomization" || kind == "Component" {
        let av = m.get("apiVersion").and_then(|k| k.as_str()).unwrap_or("");
        if av.starts_with("kustomize.config.k8s.io") {
            return Err(Error::msg(format!(
                "{file}: a kustomization file cannot be used as a resource"
            )));
        }
    }
    if kind.ends_with("List")
        && let Some(items) = m.get("items")
    {
        if let Value::Array(items) = items {
            for it in items {
                match it {
                    Value::Object(im) => expand(im.clone(), file, out)?,
                    _ => return Err(Error::msg(format!("{file}: list item is not an object"))),
                }
            }
        }
        return Ok(());
    }
    if m.get("metadata")
        .and_then(|md| md.get("name"))
        .is_none_or(|n| n.as_str().is_none_or(str::is_empty))
    {
        return Err(Error::msg(format!(
            "{file}: missing metadata.name in object of kind {kind}"
        )));
    }
    out.push(Resource::new(m));
    Ok(())
}

/// Places a generated object: create, merge or replace.
pub(crate) fn merge_generated(
    res: &mut Vec<Resource>,
    mut r: Resource,
    behavior: &str,
    kfile: &str,
) -> Result<(), Error> {
    let id = r.cur_id();
    let matching: Vec<usize> = res
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.all_ids().iter().any(|x| {
                x.gvk.kind == id.gvk.kind && x.name == id.name && ns_equal(&x.namespace, &id.namespace)
            })
        })
        .map(|(i, _)| i)
        .collect();
    if matching.len() > 1 && !behavior.is_empty() && behavior != "create" {
        return Err(Error::msg(format!(
            "{kfile}: merging from generator: found multiple objects that could accept merge of {}.{}.{}/{}.{}",
            id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
        )));
    }
    let pos = matching.first().copied();
    match behavior {
        "" | "create" => {
            if let Some(i) = pos {
                let _ = i;
                return Err(Error::msg(format!(
                    "{kfile}: may not add resource with an already registered id: {}.{}.{}/{}.{}",
                    id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
                )));
            }
            res.push(r);
            Ok(())
        }
        "merge" | "replace" => {
            let Some(i) = pos else {
                return Err(Error::msg(format!(
                    "{kfile}: id {}.{}.{}/{}.{} does not exist; cannot merge or replace",
                    id.gvk.kind, id.gvk.version, id.gvk.group, id.name, id.namespace
                )));
            };
            let old = res[i].clone();
            // Metadata: labels and annotations merged, name and identity kept from the old one.
            let merge_map = |key: &str, old: &Resource, new: &mut Resource| {
                let mut m = match key {
                    "labels" => old.labels(),
                    _ => old.annotations(),
                };
                let nm = match key {
                    "labels" => new.labels(),
                    _ => new.annotations(),
                };
                for (k, v) in nm {
                    m.insert(k, v);
                }
                if !m.is_empty() {
                    new.metadata_mut().insert(key.into(), Value::Object(m));
                }
            };
            merge_map("labels", &old, &mut r);
            merge_map("annotations", &old, &mut r);
            r.set_name(&old.name());
            let ns = old.namespace();
            if !ns.is_empty() {
                r.set_namespace(&ns);
            }
            if behavior == "merge" {
                for key in ["data", "binaryData"] {
                    if let Some(Value::Object(od)) = old.obj.get(key) {
                        let mut m = od.clone();
                        if let Some(Value::Object(nd)) = r.obj.get(key) {
                            for (k, v) in nd {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        r.obj.insert(key.into(), Value::Object(m));
                    }
                }
                if old.obj.contains_key("type") && r.kind() == "Secret" {
                    // the new type wins (it is always set on generated secrets)
                }
            }
            r.prev_ids = old.prev_ids.clone();
            r.ref_vars = old.ref_vars.clone();
            if behavior == "merge" {
                r.origin = old.origin.clone();
            }
            r.transformations = old.transformations.clone();
            r.prefixes = old.prefixes.clone();
            r.suffixes = old.suffixes.clone();
            r.needs_hash = r.needs_hash && old.needs_hash;
            res[i] = r;
            Ok(())
        }
        other => Err(Error::msg(format!(
            "{kfile}: unknown generator behavior {other:?}"
        ))),
    }
}
