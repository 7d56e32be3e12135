//! `crds:` files: OpenAPI definitions whose `x-kubernetes-object-ref-*` extensions add name
//! references to the transformer configuration.

use serde_json::{Map, Value};

use crate::Error;
use crate::config::{NameRef, TransformerConfig};
use crate::resource::{FieldSpec, Gvk};

/// Adds the name references declared by one `crds:` file.
pub(crate) fn crd_config(v: &Value, cfg: &mut TransformerConfig) -> Result<(), Error> {
    let defs = match v.get("definitions").and_then(|d| d.as_object()) {
        Some(d) => d.clone(),
        None => v.as_object().cloned().unwrap_or_default(),
    };
    let schema = |d: &Value| d.get("Schema").cloned().unwrap_or_else(|| d.clone());
    for (name, def) in defs.iter() {
        let def = schema(def);
        let props = def.get("properties").and_then(|p| p.as_object());
        // Only top-level kinds (with apiVersion/kind/metadata) are referrers.
        if !props.is_some_and(|p| p.contains_key("kind") && p.contains_key("apiVersion")) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name).to_string();
        let referrer = Gvk {
            kind,
            ..Default::default()
        };
        walk_crd_props(&def, &defs, &referrer, &mut Vec::new(), cfg, 0);
    }
    Ok(())
}

fn walk_crd_props(
    def: &Value,
    defs: &Map<String, Value>,
    referrer: &Gvk,
    path: &mut Vec<String>,
    cfg: &mut TransformerConfig,
    depth: usize,
) {
    if depth > 10 {
        return;
    }
    let Some(props) = def.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, prop) in props {
        path.push(name.clone());
        if let Some(kind) = prop.get("x-kubernetes-object-ref-kind").and_then(|k| k.as_str()) {
            let target = Gvk {
                group: String::new(),
                version: prop
                    .get("x-kubernetes-object-ref-api-version")
                    .and_then(|k| k.as_str())
                    .unwrap_or("")
                    .to_string(),
                kind: kind.to_string(),
            };
            let key = prop
                .get("x-kubernetes-object-ref-name-key")
                .and_then(|k| k.as_str())
                .unwrap_or("name");
            let mut p = path.clone();
            p.push(key.to_string());
            let spec = FieldSpec {
                gvk: referrer.clone(),
                path: p,
                create: false,
            };
            if let Some(e) = cfg
                .name_reference
                .iter_mut()
                .find(|n| n.target.kind == target.kind)
            {
                e.referrers.push(spec);
            } else {
                cfg.name_reference.push(NameRef {
                    target,
                    referrers: vec![spec],
                });
            }
        }
        if let Some(r) = prop.get("$ref").and_then(|r| r.as_str())
            && let Some(sub) = defs.get(r.trim_start_matches("#/definitions/"))
        {
            let sub = sub.get("Schema").cloned().unwrap_or_else(|| sub.clone());
            walk_crd_props(&sub, defs, referrer, path, cfg, depth + 1);
        }
        path.pop();
    }
}
