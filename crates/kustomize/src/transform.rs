//! The built-in transformers: namespace, name prefix/suffix, labels, annotations, images,
//! replicas, and the final legacy sort.

use std::cmp::Ordering;
use std::path::Path;

use serde_json::{Map, Value};

use crate::Error;
use crate::kustomization::Image;
use crate::resource::{FieldSpec, Resource, Seg, get_at, get_at_mut, visit_path, visit_path_at};

/// Adds key/value pairs at every matching field spec (labels, annotations). Per object and
/// key, the fields this adds share one value (see [`Resource::links`]); a key that exists is set
/// in place, and so are the fields linked with it.
pub fn add_pairs(res: &mut [Resource], specs: &[FieldSpec], pairs: &[(String, String)]) -> Result<(), Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in res.iter_mut() {
        let gvk = r.gvk();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let mut maps: Vec<Vec<Seg>> = Vec::new();
        for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
            visit_path_at(&mut obj, &s.path, s.create, &mut Vec::new(), &mut |n, at| {
                if n.is_null() {
                    *n = Value::Object(Map::new());
                }
                if n.is_object() {
                    maps.push(at.to_vec());
                }
                Ok(())
            })?;
        }
        for (k, v) in pairs {
            let value = Value::String(v.clone());
            let mut added: Vec<Vec<Seg>> = Vec::new();
            for at in &maps {
                let mut field = at.clone();
                field.push(Seg::Key(k.clone()));
                let exists = get_at(&obj, &field).is_some();
                if exists {
                    Resource::set_linked(&mut obj, &r.links, &field, &value);
                } else if let Some(Value::Object(m)) = get_at_mut(&mut obj, at) {
                    m.insert(k.clone(), value.clone());
                    added.push(field);
                }
            }
            if added.len() > 1 {
                for g in r.links.iter_mut() {
                    g.retain(|p| !added.contains(p));
                }
                r.links.push(added);
            }
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
    }
    Ok(())
}

/// `namespace:`.
pub fn namespace(res: &mut [Resource], ns: &str) -> Result<(), Error> {
    namespace_with(res, ns, false, "defaultOnly")
}

/// The namespace transformer with its plugin options.
pub fn namespace_with(
    res: &mut [Resource],
    ns: &str,
    unset_only: bool,
    subject_mode: &str,
) -> Result<(), Error> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in res.iter_mut() {
        let gvk = r.gvk();
        r.store_prev_id();
        if gvk.kind == "Namespace" && gvk.group.is_empty() {
            r.set_name(ns);
        }
        if !gvk.is_cluster_scoped() && (!unset_only || r.namespace().is_empty()) {
            r.set_namespace(ns);
        }
        match (gvk.group.as_str(), gvk.kind.as_str()) {
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                if let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
                    for s in subjects {
                        if let Value::Object(sm) = s {
                            let is_sa = sm.get("kind").and_then(|k| k.as_str()) == Some("ServiceAccount");
                            let is_default = sm.get("name").and_then(|k| k.as_str()) == Some("default");
                            let apply = match subject_mode {
                                "allServiceAccounts" => is_sa,
                                "none" => false,
                                _ => is_sa && is_default,
                            };
                            if apply {
                                sm.insert("namespace".into(), Value::String(ns.into()));
                            }
                        }
                    }
                }
            }
            ("apiregistration.k8s.io", "APIService") => {
                if let Some(Value::Object(svc)) = r.obj.get_mut("spec").and_then(|s| s.get_mut("service")) {
                    svc.insert("namespace".into(), Value::String(ns.into()));
                }
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                if let Some(Value::Object(svc)) = r
                    .obj
                    .get_mut("spec")
                    .and_then(|s| s.pointer_mut("/conversion/webhook/clientConfig/service"))
                {
                    svc.insert("namespace".into(), Value::String(ns.into()));
                }
            }
            _ => {}
        }
    }
    check_unique(res, "namespace transformation produces ID conflict")
}

/// Fails when two resources have the same current id.
pub fn check_unique(res: &[Resource], what: &str) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for r in res {
        let id = r.cur_id();
        if !seen.insert(crate::resource::id_key(&id)) {
            return Err(Error::msg(format!(
                "{what}: {}/{} {} in namespace {:?}",
                id.gvk.kind, id.gvk.version, id.name, id.namespace
            )));
        }
    }
    Ok(())
}

fn skip_prefix(r: &Resource) -> bool {
    let g = r.gvk();
    matches!(
        (g.group.as_str(), g.kind.as_str()),
        (_, "CustomResourceDefinition") | ("apiregistration.k8s.io", "APIService") | ("", "Namespace")
    )
}

/// `namePrefix:` / `nameSuffix:`.
pub fn prefix_suffix(
    res: &mut [Resource],
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for r in res.iter_mut() {
        if skip_prefix(r) {
            continue;
        }
        let gvk = r.gvk();
        r.store_prev_id();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
            visit_path(&mut obj, &s.path, false, &mut |n| {
                if let Value::String(v) = n {
                    *v = format!("{prefix}{v}{suffix}");
                }
                Ok(())
            })?;
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_string());
        }
    }
    Ok(())
}

/// Splits an image reference into name, tag and digest like Kustomize.
pub fn split_image(image: &str) -> (String, String, String) {
    let (search, offset) = match image.find('/') {
        Some(i) if i > 0 => (&image[i..], i),
        _ => (image, 0),
    };
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (ic, Some(id)) if ic.is_none_or(|c| id < c) => {
            let id = id + offset;
            (
                image[..id].to_string(),
                String::new(),
                image[id + 1..].to_string(),
            )
        }
        (Some(ic), Some(id)) => {
            let (ic, id) = (ic + offset, id + offset);
            (
                image[..ic].to_string(),
                image[ic + 1..id].to_string(),
                image[id + 1..].to_string(),
            )
        }
        (Some(ic), None) => {
            let ic = ic + offset;
            (
                image[..ic].to_string(),
                image[ic + 1..].to_string(),
                String::new(),
            )
        }
        _ => (image.to_string(), String::new(), String::new()),
    }
}

/// An `images:` entry with its compiled name pattern.
struct ImageRule<'a> {
    im: &'a Image,
    re: Option<regex::Regex>,
}

impl<'a> ImageRule<'a> {
    fn new(im: &'a Image) -> ImageRule<'a> {
        // Kustomize builds this pattern from the unescaped name.
        let re = regex::Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            im.name
        ))
        .ok();
        ImageRule { im, re }
    }
}

fn update_image(value: &str, rule: &ImageRule<'_>) -> Option<String> {
    let im = rule.im;
    if !rule.re.as_ref().is_some_and(|re| re.is_match(value)) {
        return None;
    }
    let (mut name, mut tag, mut digest) = split_image(value);
    if !im.new_name.is_empty() {
        name = im.new_name.clone();
    }
    if !im.new_tag.is_empty() && !im.digest.is_empty() {
        tag = im.new_tag.clone();
        digest = im.digest.clone();
    } else if !im.new_tag.is_empty() {
        tag = im.new_tag.clone();
        digest = String::new();
    } else if !im.digest.is_empty() {
        tag = String::new();
        digest = im.digest.clone();
    }
    // Kustomize v5.5.0 appends `tagSuffix` only when neither `newTag` nor `digest` is set (and,
    // as built-in paths are visited twice, twice for those).
    if im.new_tag.is_empty() && im.digest.is_empty() && !im.tag_suffix.is_empty() {
        tag.push_str(&im.tag_suffix);
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    Some(out)
}

fn legacy_images(node: &mut Value, images: &[ImageRule<'_>]) {
    match node {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && v.is_array()
                    && let Value::Array(items) = v
                {
                    for it in items.iter_mut() {
                        if let Some(Value::String(img)) = it.get_mut("image") {
                            for im in images {
                                if let Some(n) = update_image(img, im) {
                                    *img = n;
                                    break;
                                }
                            }
                        }
                    }
                }
                legacy_images(v, images);
            }
        }
        Value::Array(a) => {
            for x in a {
                legacy_images(x, images);
            }
        }
        _ => {}
    }
}

/// `images:`.
pub fn images(res: &mut [Resource], images: &[Image], specs: &[FieldSpec]) -> Result<(), Error> {
    if images.is_empty() {
        return Ok(());
    }
    let images: Vec<ImageRule<'_>> = images.iter().map(ImageRule::new).collect();
    let images = images.as_slice();
    for r in res.iter_mut() {
        let gvk = r.gvk();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        for im in images {
            for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
                visit_path(&mut obj, &s.path, false, &mut |n| {
                    if let Value::String(v) = n
                        && let Some(u) = update_image(v, im)
                    {
                        *v = u;
                    }
                    Ok(())
                })?;
            }
        }
        legacy_images(&mut obj, images);
        if let Value::Object(m) = obj {
            r.obj = m;
        }
    }
    Ok(())
}

/// `replicas:`.
pub fn replicas(res: &mut [Resource], reps: &[(String, i64)], specs: &[FieldSpec]) -> Result<(), Error> {
    for (name, count) in reps {
        let mut found = false;
        for r in res.iter_mut() {
            if !r.all_ids().iter().any(|id| &id.name == name) {
                continue;
            }
            let gvk = r.gvk();
            let mut obj = Value::Object(std::mem::take(&mut r.obj));
            for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
                found = true;
                visit_path(&mut obj, &s.path, true, &mut |n| {
                    *n = Value::Number((*count).into());
                    Ok(())
                })?;
            }
            if let Value::Object(m) = obj {
                r.obj = m;
            }
        }
        if !found {
            return Err(Error::msg(format!(
                "replicas: resource with name {name} does not match a config with the following GVK [Deployment ReplicationController ReplicaSet StatefulSet]"
            )));
        }
    }
    Ok(())
}

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/// Legacy ordering with the given first/last kind lists.
pub fn legacy_sort(res: &mut [Resource], first: &[String], last: &[String]) {
    let idx = |k: &str| -> i64 {
        if let Some(i) = first.iter().position(|x| x == k) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|x| x == k) {
            return i as i64 + 1;
        }
        0
    };
    let t = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    let keyed: Vec<(i64, String, String, bool, bool)> = res
        .iter()
        .map(|r| {
            let g = r.gvk();
            let gvk_str = format!(
                "{}_{}_{}",
                t(&g.group, "~G"),
                t(&g.version, "~V"),
                t(&g.kind, "~K")
            );
            let id_str = format!(
                "{}_{}_{}|{}|{}",
                g.kind,
                g.version,
                g.group,
                t(&r.namespace(), "~X"),
                t(&r.name(), "~N")
            );
            (
                idx(&g.kind),
                gvk_str,
                id_str,
                g.kind == "Namespace",
                g.group.is_empty(),
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..res.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&keyed[i], &keyed[j]);
        if a.0 != b.0 {
            return a.0.cmp(&b.0);
        }
        if a.1 != b.1 {
            let c = a.1.cmp(&b.1);
            if a.3 && b.3 && (a.4 || b.4) {
                return c.reverse();
            }
            return c;
        }
        a.2.cmp(&b.2).then(Ordering::Equal)
    });
    let mut taken: Vec<Option<Resource>> = res
        .iter_mut()
        .map(|r| Some(std::mem::replace(r, Resource::new(Map::new()))))
        .collect();
    for (slot, &i) in res.iter_mut().zip(order.iter()) {
        if let Some(r) = taken[i].take() {
            *slot = r;
        }
    }
}

/// The default legacy kind lists.
pub fn default_order() -> (Vec<String>, Vec<String>) {
    (
        ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
        ORDER_LAST.iter().map(|s| s.to_string()).collect(),
    )
}

/// Orders the output by `sortOptions` (legacy kind order when absent).
pub fn sort(res: &mut [Resource], so: Option<&Value>, dir: &Path) -> Result<(), Error> {
    let Some(so) = so else {
        let (f, l) = default_order();
        legacy_sort(res, &f, &l);
        return Ok(());
    };
    let order = so.get("order").and_then(|v| v.as_str()).unwrap_or("");
    let lso = so.get("legacySortOptions");
    match order {
        "fifo" => {
            if lso.is_some_and(|v| !v.is_null()) {
                return Err(Error::msg(format!(
                    "{}: the field 'sortOptions.legacySortOptions' is set but 'sortOptions.order' is not 'legacy'",
                    dir.display()
                )));
            }
            Ok(())
        }
        "" => Err(Error::msg(
            "the field 'sortOptions.order' must be one of [fifo, legacy]".to_string(),
        )),
        "legacy" => {
            let (mut f, mut l) = default_order();
            if let Some(lso) = lso {
                let list = |k: &str| -> Vec<String> {
                    lso.get(k)
                        .and_then(|v| v.as_array())
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                        .unwrap_or_default()
                };
                let of = list("orderFirst");
                let ol = list("orderLast");
                if !of.is_empty() || !ol.is_empty() {
                    f = of;
                    l = ol;
                }
            }
            legacy_sort(res, &f, &l);
            Ok(())
        }
        other => Err(Error::msg(format!(
            "{}: unknown sortOptions.order {other:?}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_split() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("nginx:1.2"),
            ("nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            split_image("localhost:5000/a/b:t@sha256:x"),
            ("localhost:5000/a/b".into(), "t".into(), "sha256:x".into())
        );
        assert_eq!(
            split_image("a@sha256:x"),
            ("a".into(), "".into(), "sha256:x".into())
        );
    }
}
