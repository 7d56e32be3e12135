//! Strategic merge patch with Kustomize's (kyaml `merge2`) semantics: patch elements of
//! associative lists first, `$patch` directives, `null` deletes, lists without a merge key
//! replaced wholesale.

use serde_json::{Map, Value};

use crate::Error;
use crate::openapi::Schema;
use crate::resource::Gvk;

/// Outcome of merging into a node.
enum Merged {
    Keep(Value),
    Delete,
}

/// Applies `patch` to `dest` (a whole resource). Returns `None` when the patch deletes the object.
pub fn apply(dest: Value, patch: &Value, gvk: &Gvk, schema: &Schema) -> Result<Option<Value>, Error> {
    let mut path = Vec::new();
    let cx = Cx { gvk, schema };
    match merge(Some(dest), patch, &cx, &mut path)? {
        Merged::Keep(v) => Ok(Some(v)),
        Merged::Delete => Ok(None),
    }
}

struct Cx<'a> {
    gvk: &'a Gvk,
    schema: &'a Schema,
}

fn directive(m: &Map<String, Value>) -> Option<&str> {
    m.get("$patch").and_then(|v| v.as_str())
}

fn merge(dest: Option<Value>, patch: &Value, gvk: &Cx<'_>, path: &mut Vec<String>) -> Result<Merged, Error> {
    if matches!(dest, Some(Value::Array(_))) {
        let got = match patch {
            Value::Object(_) => Some("MappingNode"),
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Some("ScalarNode"),
            _ => None,
        };
        if let Some(got) = got {
            return Err(Error::msg(format!(
                "wrong node kind: expected SequenceNode but got {got}: node contents:\n{}",
                tack_yaml::to_yaml(patch)
            )));
        }
    }
    match patch {
        Value::Object(pm) => {
            match directive(pm) {
                Some("delete") => return Ok(Merged::Delete),
                Some("replace") => {
                    let mut m = pm.clone();
                    m.remove("$patch");
                    return Ok(Merged::Keep(strip(&Value::Object(m))));
                }
                _ => {}
            }
            let mut out = match dest {
                Some(Value::Object(dm)) => dm,
                _ => Map::new(),
            };
            for (k, pv) in pm {
                if k == "$patch" {
                    continue;
                }
                if pv.is_null() {
                    out.remove(k);
                    continue;
                }
                path.push(k.clone());
                let r = merge(out.remove(k), pv, gvk, path);
                path.pop();
                match r? {
                    Merged::Keep(v) => {
                        out.insert(k.clone(), v);
                    }
                    Merged::Delete => {
                        out.remove(k);
                    }
                }
            }
            Ok(Merged::Keep(Value::Object(out)))
        }
        Value::Array(pl) => {
            // `$patch: replace` element replaces the list.
            let has_replace = pl.iter().any(|e| {
                e.as_object()
                    .is_some_and(|m| directive(m) == Some("replace") && m.len() == 1)
            });
            if has_replace {
                let items: Vec<Value> = pl
                    .iter()
                    .filter(|e| {
                        !e.as_object()
                            .is_some_and(|m| directive(m) == Some("replace") && m.len() == 1)
                    })
                    .map(strip)
                    .collect();
                return Ok(Merged::Keep(Value::Array(items)));
            }
            let keys = crate::openapi::merge_keys(gvk.schema, gvk.gvk, path);
            let dl = match dest {
                Some(Value::Array(d)) => d,
                _ => Vec::new(),
            };
            match keys {
                Some(keys) if keys.is_empty() => {
                    // A primitive list with the merge strategy (finalizers): patch values first,
                    // then the destination's other values.
                    let mut out: Vec<Value> = Vec::new();
                    for v in pl.iter().chain(dl.iter()) {
                        if !v.is_null() && !out.contains(v) {
                            out.push(v.clone());
                        }
                    }
                    Ok(Merged::Keep(Value::Array(out)))
                }
                Some(keys) if pl.iter().chain(dl.iter()).all(|e| e.is_object()) => {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    merge_assoc(dl, pl, &keys, gvk, path)
                }
                _ => Ok(Merged::Keep(strip(patch))),
            }
        }
        _ => Ok(Merged::Keep(patch.clone())),
    }
}

fn key_values(e: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| match e.get(*k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect()
}

fn matches(e: &Value, keys: &[&str], vals: &[String]) -> bool {
    let ev = key_values(e, keys);
    keys.iter()
        .enumerate()
        .all(|(i, _)| vals[i].is_empty() || ev[i] == vals[i])
}

fn merge_assoc(
    mut dl: Vec<Value>,
    pl: &[Value],
    keys: &[&str],
    gvk: &Cx<'_>,
    path: &mut Vec<String>,
) -> Result<Merged, Error> {
    // Kustomize v5.5.0 empties the list when a patch element sets its merge key(s) to null.
    if pl.iter().any(|e| {
        e.as_object()
            .is_some_and(|m| keys.iter().all(|k| matches!(m.get(*k), Some(Value::Null))))
    }) {
        return Ok(Merged::Keep(Value::Array(Vec::new())));
    }
    // Several merge keys, all set on every destination element (Service ports with protocols):
    // matching elements merge in place, new ones come first, and a patch element that gives
    // only some keys but matches existing elements is dropped (what Kustomize v5.5.0 prints).
    // Otherwise (secondary keys missing) patch elements come first, in patch order.
    let full = |e: &Value| keys.iter().all(|k| e.get(*k).is_some_and(|v| !v.is_null()));
    let multi = keys.len() > 1 && !dl.is_empty() && dl.iter().all(full);
    let mut result: Vec<Value> = Vec::new();
    let mut merged_in_place: Vec<(usize, Value)> = Vec::new();
    let mut handled = vec![false; dl.len()];
    for pe in pl {
        let vals = key_values(pe, keys);
        if vals.iter().all(|v| v.is_empty()) {
            result.push(strip(pe));
            continue;
        }
        let pos = dl
            .iter()
            .enumerate()
            .position(|(i, d)| !handled[i] && matches(d, keys, &vals));
        let is_delete = pe.as_object().is_some_and(|m| directive(m) == Some("delete"));
        if multi && !full(pe) && pos.is_some() {
            continue;
        }
        if pe.as_object().is_some_and(|m| directive(m) == Some("replace")) {
            // An element-level `$patch: replace` is a no-op in Kustomize v5.5.0.
            continue;
        }
        match pos {
            Some(i) => {
                handled[i] = true;
                if is_delete {
                    dl[i] = Value::Null;
                    continue;
                }
                match merge(Some(std::mem::take(&mut dl[i])), pe, gvk, path)? {
                    Merged::Keep(v) => {
                        if multi {
                            merged_in_place.push((i, v));
                        } else {
                            result.push(v);
                            dl[i] = Value::Null;
                        }
                    }
                    Merged::Delete => {}
                }
            }
            None => {
                if is_delete {
                    continue;
                }
                if let Merged::Keep(v) = merge(None, pe, gvk, path)? {
                    result.push(v);
                }
            }
        }
    }
    for (i, v) in merged_in_place {
        dl[i] = v;
    }
    result.extend(dl.into_iter().filter(|v| !v.is_null()));
    Ok(Merged::Keep(Value::Array(result)))
}

/// Removes directives and nulls from a value copied from a patch.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if k == "$patch" || x.is_null() {
                    continue;
                }
                out.insert(k.clone(), strip(x));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| e.as_object().is_none_or(|m| directive(m) != Some("delete")))
                .map(strip)
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep() -> Gvk {
        Gvk {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
        }
    }

    #[test]
    fn empty_patch_is_identity() {
        let d = json!({"a": {"b": [1, 2]}, "c": "x"});
        assert_eq!(
            apply(d.clone(), &json!({}), &dep(), &Schema::Builtin)
                .ok()
                .flatten(),
            Some(d)
        );
    }

    #[test]
    fn associative_order_patch_first() {
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "b:1"}]}}}});
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c"}]}}}});
        let r = apply(d.clone(), &p, &dep(), &Schema::Builtin).ok().flatten();
        assert_eq!(
            r,
            Some(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c"}, {"name": "a"}]}}}})
            )
        );
    }

    #[test]
    fn null_deletes_and_delete_directive() {
        let d = json!({"a": 1, "b": {"c": 2}});
        assert_eq!(
            apply(d.clone(), &json!({"a": null}), &dep(), &Schema::Builtin)
                .ok()
                .flatten(),
            Some(json!({"b": {"c": 2}}))
        );
        assert_eq!(
            apply(
                d.clone(),
                &json!({"b": {"$patch": "delete"}}),
                &dep(),
                &Schema::Builtin
            )
            .ok()
            .flatten(),
            Some(json!({"a": 1}))
        );
        assert!(matches!(
            apply(d.clone(), &json!({"$patch": "delete"}), &dep(), &Schema::Builtin),
            Ok(None)
        ));
    }
}
