//! `vars`: values read from objects of the build and substituted for `$(NAME)` in the fields
//! of the `varReference` configuration.

use serde_json::Value;

use crate::Error;
use crate::accumulator::Acc;
use crate::replacement::get_field;
use crate::resource::{Gvk, ns_equal};

/// Declares a kustomization's `vars`: each is bound to the one resource of the accumulator its
/// `objref` names (by any of its ids; the namespace compared only when given), as Kustomize does
/// when it merges a kustomization's vars. A name already declared is an error.
pub(crate) fn declare(acc: &mut Acc, vars: &[Value], kfile: &str) -> Result<(), Error> {
    for v in vars {
        let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
        if acc.vars.iter().any(|x| var_name(x) == name) {
            return Err(Error::msg(format!("{kfile}: var '{name}' already encountered")));
        }
        let objref = v.get("objref").cloned().unwrap_or(Value::Null);
        let s = |k: &str| objref.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let want = Gvk::from_api_version(&s("apiVersion"), &s("kind"));
        let (oname, ons) = (s("name"), s("namespace"));
        let matched: Vec<usize> = acc
            .res
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.all_ids().iter().any(|id| {
                    id.gvk.kind == want.kind
                        && (want.version.is_empty() || id.gvk.version == want.version)
                        && (want.group.is_empty() && want.version.is_empty() || id.gvk.group == want.group)
                        && id.name == oname
                        && (ons.is_empty() && !id.gvk.is_cluster_scoped() || ns_equal(&id.namespace, &ons))
                })
            })
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(Error::msg(format!(
                "{kfile}: merging vars: found {} resId matches for var {name} (unable to disambiguate)",
                matched.len()
            )));
        }
        if let Some(&i) = matched.first() {
            acc.res[i].ref_vars.push(name);
        }
        acc.vars.push(v.clone());
    }
    Ok(())
}

/// Adds the vars of a base; a name already declared is an error.
pub(crate) fn merge(into: &mut Vec<Value>, from: Vec<Value>, origin: &str) -> Result<(), Error> {
    for v in from {
        let name = var_name(&v);
        if into.iter().any(|x| var_name(x) == name) {
            return Err(Error::msg(format!("{origin}: var '{name}' already encountered")));
        }
        into.push(v);
    }
    Ok(())
}

fn var_name(v: &Value) -> &str {
    v.get("name").and_then(|n| n.as_str()).unwrap_or("")
}

/// Resolves `vars:` (`$(NAME)` in the allowed fields).
pub(crate) fn resolve_vars(acc: &mut Acc) -> Result<(), Error> {
    if acc.vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for v in &acc.vars {
        let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
        let field = v
            .get("fieldref")
            .and_then(|f| f.as_object())
            .and_then(|f| {
                f.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("fieldPath"))
                    .map(|(_, v)| v)
            })
            .and_then(|f| f.as_str())
            .unwrap_or("metadata.name")
            .to_string();
        let found = acc.res.iter().find(|r| r.ref_vars.contains(&name));
        let Some(found) = found else {
            return Err(Error::msg(format!(
                "var '{name}' cannot be mapped to a field in the set of known resources"
            )));
        };
        let val = get_field(&Value::Object(found.obj.clone()), &field).ok_or_else(|| {
            Error::msg(format!(
                "field specified in var '{name}' not found in corresponding resource"
            ))
        })?;
        values.push((name, val));
    }
    let specs = acc.config.var_reference.clone();
    for r in acc.res.iter_mut() {
        let gvk = r.gvk();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        for s in specs.iter().filter(|s| s.applies_to(&gvk)) {
            crate::resource::visit_path(&mut obj, &s.path, false, &mut |n| {
                subst(n, &values);
                Ok(())
            })?;
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
    }
    Ok(())
}

/// Kubernetes `$(VAR)` expansion: `$$` escapes, unknown variables stay as written.
fn expand_vars(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(end) => {
                        let name = &rest[1..end];
                        match lookup(name) {
                            Some(v) => out.push_str(&v),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        end + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or('$');
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

fn subst(n: &mut Value, values: &[(String, Value)]) {
    match n {
        Value::String(s) => {
            if !s.contains('$') {
                return;
            }
            // A field that is exactly one variable takes the variable's value and type.
            if let Some(name) = s.strip_prefix("$(").and_then(|x| x.strip_suffix(')'))
                && let Some((_, v)) = values.iter().find(|(k, _)| k == name)
                && !v.is_string()
                && !name.contains(')')
            {
                *n = v.clone();
                return;
            }
            let lookup = |name: &str| -> Option<String> {
                values.iter().find(|(k, _)| k == name).map(|(_, v)| match v {
                    Value::String(x) => x.clone(),
                    Value::Number(num) => tack_yaml::number_text(num),
                    other => other.to_string(),
                })
            };
            *s = expand_vars(s, &lookup);
        }
        Value::Array(a) => {
            for x in a {
                subst(x, values);
            }
        }
        Value::Object(m) => {
            for (_, x) in m.iter_mut() {
                subst(x, values);
            }
        }
        _ => {}
    }
}
