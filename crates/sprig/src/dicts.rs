//! Dictionary functions. Maps are Go maps: `set`, `unset`, `merge` and `mergeOverwrite` change the map
//! they are given (every holder sees the change) and return it; `merge` follows dario.cat/mergo (a deep
//! merge that keeps the destination's non-empty values).

use std::collections::BTreeMap;

use tack_gotemplate::{FuncError, Funcs, MapRef, Value};

use crate::convert::{arity, arity_min, is_empty, map_arg, str_arg, string_list, strval, type_name};

pub fn register(funcs: &mut Funcs) {
    funcs.insert("dict", |_, a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let key = strval(&pair[0]);
            m.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::string("")));
        }
        Ok(Value::map(m))
    });
    funcs.insert("get", |_, a| {
        arity("get", a, 2)?;
        let (m, k) = (map_arg(&a[0])?, str_arg(&a[1])?);
        let v = m.borrow().get(&*k).cloned();
        Ok(v.unwrap_or_else(|| Value::string("")))
    });
    funcs.insert("set", |_, a| {
        arity("set", a, 3)?;
        let (m, k) = (map_arg(&a[0])?, str_arg(&a[1])?);
        m.borrow_mut().insert(k.to_string(), a[2].clone());
        Ok(Value::Map(m))
    });
    funcs.insert("unset", |_, a| {
        arity("unset", a, 2)?;
        let (m, k) = (map_arg(&a[0])?, str_arg(&a[1])?);
        m.borrow_mut().remove(&*k);
        Ok(Value::Map(m))
    });
    funcs.insert("hasKey", |_, a| {
        arity("hasKey", a, 2)?;
        let (m, k) = (map_arg(&a[0])?, str_arg(&a[1])?);
        let has = m.borrow().contains_key(&*k);
        Ok(Value::Bool(has))
    });
    funcs.insert("pluck", |_, a| {
        arity_min("pluck", a, 1)?;
        let k = str_arg(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = map_arg(d)?.borrow().get(&*k) {
                out.push(v.clone());
            }
        }
        Ok(Value::list(out))
    });
    funcs.insert("keys", |_, a| {
        let mut out = Vec::new();
        for d in a {
            out.extend(map_arg(d)?.borrow().keys().cloned());
        }
        Ok(string_list(out))
    });
    funcs.insert("values", |_, a| {
        arity("values", a, 1)?;
        let v: Vec<Value> = map_arg(&a[0])?.borrow().values().cloned().collect();
        Ok(Value::list(v))
    });
    funcs.insert("pick", |_, a| {
        arity_min("pick", a, 1)?;
        let m = map_arg(&a[0])?;
        let m = m.borrow();
        let mut out = BTreeMap::new();
        for k in &a[1..] {
            let k = str_arg(k)?;
            if let Some(v) = m.get(&*k) {
                out.insert(k.to_string(), v.clone());
            }
        }
        Ok(Value::map(out))
    });
    funcs.insert("omit", |_, a| {
        arity_min("omit", a, 1)?;
        let m = map_arg(&a[0])?;
        let omit = a[1..].iter().map(str_arg).collect::<Result<Vec<_>, _>>()?;
        let out: BTreeMap<String, Value> = m
            .borrow()
            .iter()
            .filter(|(k, _)| !omit.iter().any(|o| &**o == k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Value::map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        funcs.insert(name, move |_, a| {
            arity_min(name, a, 1)?;
            let dst = map_arg(&a[0])?;
            let srcs = a[1..].iter().map(map_arg).collect::<Result<Vec<_>, _>>()?;
            for src in srcs {
                // A map merged into itself is left as it is (mergo visits it once).
                if std::rc::Rc::ptr_eq(&src, &dst) {
                    continue;
                }
                let src = src.borrow().clone();
                merge_into(&dst, &src, overwrite);
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        funcs.insert(name, move |_, a| {
            arity(name, a, 1)?;
            if matches!(a[0], Value::Nil) {
                return Err(FuncError::new(
                    "reflect: call of reflect.Value.Type on zero Value",
                ));
            }
            Ok(deep_copy(&a[0]))
        });
    }
    funcs.insert("dig", |_, a| dig(a));
}

/// mergo's `Merge` (`overwrite`: `MergeWithOverwrite`) of `src` into the map `dst`.
pub fn merge_into(dst: &MapRef, src: &BTreeMap<String, Value>, overwrite: bool) {
    merge_at(dst, src, overwrite, 0);
}

fn merge_at(dst: &MapRef, src: &BTreeMap<String, Value>, overwrite: bool, depth: usize) {
    if depth > crate::convert::MAX_DEPTH {
        return;
    }
    for (k, s) in src {
        let d = dst.borrow().get(k).cloned();
        if matches!(s, Value::Nil) {
            if overwrite {
                dst.borrow_mut().insert(k.clone(), Value::Nil);
            }
            continue;
        }
        if overwrite && matches!(s, Value::List(_)) {
            dst.borrow_mut().insert(k.clone(), s.clone());
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (s, &d)
            && !std::rc::Rc::ptr_eq(sm, dm)
        {
            let sm = sm.borrow().clone();
            merge_at(dm, &sm, overwrite, depth + 1);
        }
        if let Some(dv) = &d
            && !is_empty(dv)
            && (matches!(s, Value::List(_)) || matches!((s, dv), (Value::Map(_), Value::Map(_))))
        {
            continue;
        }
        if overwrite || d.as_ref().is_none_or(is_empty) {
            dst.borrow_mut().insert(k.clone(), s.clone());
        }
    }
}

/// mitchellh/copystructure's `Copy`: maps and lists copied all the way down.
pub fn deep_copy(v: &Value) -> Value {
    deep_copy_at(v, 0)
}

fn deep_copy_at(v: &Value, depth: usize) -> Value {
    if depth > crate::convert::MAX_DEPTH {
        return v.clone();
    }
    let deep_copy = |x: &Value| deep_copy_at(x, depth + 1);
    match v {
        Value::List(items) => Value::list(items.iter().map(deep_copy).collect()),
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn dig(a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 3 {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let dict = match &a[a.len() - 1] {
        Value::Map(m) => m.clone(),
        other => return Err(conversion_panic(other, "map[string]interface {}")),
    };
    let default = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.clone()),
            other => return Err(conversion_panic(other, "string")),
        }
    }
    let mut cur = dict;
    for (i, k) in keys.iter().enumerate() {
        let step = cur.borrow().get(&**k).cloned();
        let Some(step) = step else {
            return Ok(default);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        cur = match step {
            Value::Map(m) => m,
            other => return Err(conversion_panic(&other, "map[string]interface {}")),
        };
    }
    Ok(default)
}

/// The panic of a failed Go type assertion on an `interface{}`.
fn conversion_panic(v: &Value, want: &str) -> FuncError {
    let got = match v {
        Value::Nil => "nil".to_string(),
        other => type_name(other),
    };
    FuncError::new(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn merge_keeps_non_empty_destination_values_and_recurses() {
        let dst = m(&[
            ("a", Value::Int(1)),
            ("b", Value::string("")),
            ("n", m(&[("x", Value::Int(1))])),
        ]);
        let src = m(&[
            ("a", Value::Int(2)),
            ("b", Value::string("s")),
            ("c", Value::Int(3)),
            ("n", m(&[("y", Value::Int(2))])),
        ]);
        let (Value::Map(d), Value::Map(s)) = (&dst, &src) else {
            unreachable!()
        };
        merge_into(d, &s.borrow(), false);
        assert_eq!(crate::convert::fmt_v(&dst), "map[a:1 b:s c:3 n:map[x:1 y:2]]");
    }

    #[test]
    fn merge_overwrite_replaces() {
        let dst = m(&[("a", Value::Int(1)), ("l", Value::list(vec![Value::Int(1)]))]);
        let src = m(&[("a", Value::Int(2)), ("l", Value::list(vec![Value::Int(9)]))]);
        let (Value::Map(d), Value::Map(s)) = (&dst, &src) else {
            unreachable!()
        };
        merge_into(d, &s.borrow(), true);
        assert_eq!(crate::convert::fmt_v(&dst), "map[a:2 l:[9]]");
    }
}
