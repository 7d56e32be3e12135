//! Patches: strategic merge (by id or by target) and JSON 6902, from files or inline.

use std::path::Path;

use serde_json::{Map, Value};

use crate::Error;
use crate::build::Ctx;
use crate::fs::normalize;
use crate::kustomization::PatchEntry;
use crate::resource::{ResId, Resource, ns_equal};
use crate::selector::Selector;

impl Ctx<'_> {
    /// A patch entry's text and a name for it in errors.
    fn patch_text(&self, dir: &Path, kfile: &str, p: &PatchEntry) -> Result<(String, String), Error> {
        match (&p.path, &p.patch) {
            (Some(_), Some(_)) => Err(Error::msg(format!(
                "{kfile}: unable to parse SM or JSON patch from [{}]: patch and path can't be set at the same time",
                p.path.clone().unwrap_or_default()
            ))),
            (Some(path), None) => {
                let b = self.read_file(dir, path)?;
                Ok((
                    crate::source_text::strip_final_block(&crate::source_text::utf8_text(&b)).into_owned(),
                    normalize(&dir.join(path)).display().to_string(),
                ))
            }
            (None, Some(t)) => Ok((t.clone(), format!("{kfile} (inline patch)"))),
            (None, None) => Err(Error::msg(format!("{kfile}: a patch needs 'path' or 'patch'"))),
        }
    }

    pub(crate) fn apply_patch(
        &self,
        dir: &Path,
        kfile: &str,
        p: &PatchEntry,
        res: &mut Vec<Resource>,
        smp_only: bool,
    ) -> Result<(), Error> {
        let (text, origin) = self.patch_text(dir, kfile, p)?;
        let docs = tack_yaml::parse_documents(&text, &origin)?;
        let docs: Vec<Value> = docs
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        let is_json = docs.len() == 1 && docs[0].is_array();
        if is_json && !smp_only {
            let Some(t) = &p.target else {
                return Err(Error::msg(format!(
                    "{origin}: unable to apply JSON patch: missing target"
                )));
            };
            return apply_json6902(res, t, &docs[0], &origin);
        }
        for d in &docs {
            if !d.is_object() {
                return Err(Error::msg(format!("{origin}: unable to parse SM or JSON patch")));
            }
        }
        if let Some(t) = &p.target {
            if docs.len() != 1 {
                return Err(Error::msg(format!(
                    "{origin}: multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field"
                )));
            }
            return self.apply_smp_to_target(res, t, &docs[0], p, &origin);
        }
        for d in &docs {
            self.apply_smp_by_id(res, d, p, &origin)?;
        }
        Ok(())
    }

    /// A strategic-merge patch applied to every object its `target` selects; the patch's own
    /// name and kind do not matter.
    fn apply_smp_to_target(
        &self,
        res: &mut Vec<Resource>,
        t: &Map<String, Value>,
        doc: &Value,
        p: &PatchEntry,
        origin: &str,
    ) -> Result<(), Error> {
        let sel = Selector::from_map(t)?;
        let mut i = 0;
        while i < res.len() {
            if sel.matches(&res[i]) {
                let mut patch = doc.clone();
                // The patch's own name/kind do not matter with a target.
                if let Value::Object(pm) = &mut patch {
                    let r = &res[i];
                    if !p.allow_kind_change {
                        pm.insert(
                            "apiVersion".into(),
                            r.obj.get("apiVersion").cloned().unwrap_or(Value::Null),
                        );
                        pm.insert("kind".into(), r.obj.get("kind").cloned().unwrap_or(Value::Null));
                    }
                    if let Some(Value::Object(md)) = pm.get_mut("metadata") {
                        if !p.allow_name_change {
                            md.insert("name".into(), Value::String(r.name()));
                        }
                        if md.contains_key("namespace") {
                            let ns = r.namespace();
                            if ns.is_empty() {
                                md.remove("namespace");
                            } else {
                                md.insert("namespace".into(), Value::String(ns));
                            }
                        }
                    }
                }
                if !apply_smp(res, i, &patch, p, origin, &self.schema)? {
                    continue;
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// A strategic-merge patch applied to the one object with the patch's id.
    fn apply_smp_by_id(
        &self,
        res: &mut Vec<Resource>,
        d: &Value,
        p: &PatchEntry,
        origin: &str,
    ) -> Result<(), Error> {
        let pr = Resource::new(d.as_object().cloned().unwrap_or_default());
        let pid = pr.cur_id();
        let matches: Vec<usize> = res
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.all_ids().iter().any(|id| {
                    id.gvk.kind == pid.gvk.kind
                        && (pid.gvk.group.is_empty() && pid.gvk.version.is_empty() || id.gvk == pid.gvk)
                        && id.name == pid.name
                        && (pid.namespace.is_empty() && id.namespace.is_empty()
                            || ns_equal(&id.namespace, &pid.namespace)
                            || pid.namespace.is_empty())
                })
            })
            .map(|(i, _)| i)
            .collect();
        let matches: Vec<usize> = if matches.len() > 1 && !pid.namespace.is_empty() {
            matches
                .into_iter()
                .filter(|&i| ns_equal(&res[i].namespace(), &pid.namespace))
                .collect()
        } else {
            matches
        };
        match matches.len() {
            0 => {
                return Err(Error::msg(format!(
                    "{origin}: no resource matches strategic merge patch \"{}.{}.{}/{}.{}\": no matches for Id {}.{}.{}/{}.{}; failed to find unique target for patch",
                    pid.gvk.kind,
                    pid.gvk.version,
                    pid.gvk.group,
                    pid.name,
                    pid.namespace,
                    pid.gvk.kind,
                    pid.gvk.version,
                    pid.gvk.group,
                    pid.name,
                    pid.namespace
                )));
            }
            1 => {
                apply_smp(res, matches[0], d, p, origin, &self.schema)?;
            }
            _ => {
                return Err(Error::msg(format!(
                    "{origin}: multiple matches for Id {}/{}; failed to find unique target for patch",
                    pid.gvk.kind, pid.name
                )));
            }
        }
        Ok(())
    }
}

/// A JSON 6902 patch applied to every object `t` selects.
fn apply_json6902(
    res: &mut [Resource],
    t: &Map<String, Value>,
    ops: &Value,
    origin: &str,
) -> Result<(), Error> {
    let sel = Selector::from_map(t)?;
    for r in res.iter_mut() {
        if !sel.matches(r) {
            continue;
        }
        let old = r.cur_id();
        // Kustomize keeps internal annotations on every object while it builds, so
        // `metadata.annotations` always exists for JSON patches.
        let added_annotations = r
            .obj
            .get("metadata")
            .is_none_or(|m| m.get("annotations").is_none());
        if added_annotations {
            r.metadata_mut()
                .insert("annotations".into(), Value::Object(Map::new()));
        }
        // A JSON patch goes through JSON text in Kustomize: no field shares a node afterwards.
        r.links.clear();
        let mut v = Value::Object(std::mem::take(&mut r.obj));
        let out = crate::jsonpatch::apply(&mut v, ops);
        if let Value::Object(m) = v {
            r.obj = m;
        }
        if added_annotations
            && let Some(Value::Object(md)) = r.obj.get_mut("metadata")
            && md
                .get("annotations")
                .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
        {
            md.remove("annotations");
        }
        out.map_err(|e| {
            Error::msg(format!(
                "{origin}: unable to apply JSON patch to {}: {e}",
                old.name
            ))
        })?;
        if r.cur_id() != old && r.prev_ids.last() != Some(&old) {
            r.prev_ids.push(old);
        }
    }
    Ok(())
}

/// Applies an SMP to `res[i]`; returns false when the resource was deleted.
fn apply_smp(
    res: &mut Vec<Resource>,
    i: usize,
    patch: &Value,
    p: &PatchEntry,
    origin: &str,
    schema: &crate::openapi::Schema,
) -> Result<bool, Error> {
    let gvk = res[i].gvk();
    let old = res[i].cur_id();
    let before = (!res[i].links.is_empty()).then(|| res[i].obj.clone());
    let cur = Value::Object(std::mem::take(&mut res[i].obj));
    match crate::smp::apply(cur, patch, &gvk, schema).map_err(|e| Error::msg(format!("{origin}: {e}")))? {
        Some(Value::Object(m)) => {
            res[i].obj = m;
            let r = &mut res[i];
            if !p.allow_kind_change {
                let av = if old.gvk.group.is_empty() {
                    old.gvk.version.clone()
                } else {
                    format!("{}/{}", old.gvk.group, old.gvk.version)
                };
                if av.is_empty() {
                    r.obj.remove("apiVersion");
                } else {
                    r.obj.insert("apiVersion".into(), Value::String(av));
                }
                r.obj.insert("kind".into(), Value::String(old.gvk.kind.clone()));
            }
            if !p.allow_name_change {
                r.set_name(&old.name);
            }
            if old.namespace.is_empty() {
                if let Some(Value::Object(md)) = r.obj.get_mut("metadata") {
                    md.remove("namespace");
                }
            } else {
                r.set_namespace(&old.namespace);
            }
            check_rename(r, &old, p, origin)?;
            if let Some(before) = before {
                r.sync_links(&before);
            }
            Ok(true)
        }
        Some(_) => Err(Error::msg(format!("{origin}: patch produced a non-object"))),
        None => {
            res.remove(i);
            Ok(false)
        }
    }
}

fn check_rename(r: &mut Resource, old: &ResId, p: &PatchEntry, origin: &str) -> Result<(), Error> {
    let new = r.cur_id();
    if new.name != old.name {
        if !p.allow_name_change {
            return Err(Error::msg(format!(
                "{origin}: name change not allowed: {} -> {}",
                old.name, new.name
            )));
        }
        if r.prev_ids.last() != Some(old) {
            r.prev_ids.push(old.clone());
        }
    }
    if new.gvk.kind != old.gvk.kind {
        if !p.allow_kind_change {
            return Err(Error::msg(format!(
                "{origin}: kind change not allowed: {} -> {}",
                old.gvk.kind, new.gvk.kind
            )));
        }
        if r.prev_ids.last() != Some(old) {
            r.prev_ids.push(old.clone());
        }
    }
    Ok(())
}
