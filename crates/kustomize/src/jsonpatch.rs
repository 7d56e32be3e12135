//! JSON Patch (RFC 6902) as Kustomize applies it (evanphx/json-patch v4): `replace` of a missing
//! object member adds it instead of failing; everything else follows the RFC.

use serde_json::Value;

use crate::Error;

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<Vec<String>, Error> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| Error::msg(format!("JSON pointer must start with '/': {path}")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn get_mut<'a>(doc: &'a mut Value, toks: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => {
                let i: usize = t.parse().ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn get<'a>(doc: &'a Value, toks: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => {
                let i: usize = t.parse().ok()?;
                a.get(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, toks: &[String], v: Value, replace: bool) -> Result<(), Error> {
    let Some((last, parent)) = toks.split_last() else {
        *doc = v;
        return Ok(());
    };
    let p = get_mut(doc, parent).ok_or_else(|| {
        Error::msg(format!(
            "add operation does not apply: doc is missing path: \"/{}\"",
            toks.join("/")
        ))
    })?;
    match p {
        Value::Object(m) => {
            m.insert(last.clone(), v);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(v);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| Error::msg(format!("invalid array index {last}")))?;
            if replace {
                if i >= a.len() {
                    return Err(Error::msg(format!(
                        "replace operation does not apply: index {i} out of bounds"
                    )));
                }
                a[i] = v;
            } else {
                if i > a.len() {
                    return Err(Error::msg(format!(
                        "add operation does not apply: index {i} out of bounds"
                    )));
                }
                a.insert(i, v);
            }
            Ok(())
        }
        _ => Err(Error::msg(format!(
            "add operation does not apply: doc is missing path: \"/{}\"",
            toks.join("/")
        ))),
    }
}

fn remove(doc: &mut Value, toks: &[String]) -> Result<Value, Error> {
    let Some((last, parent)) = toks.split_last() else {
        return Err(Error::msg("cannot remove the whole document"));
    };
    let missing = || {
        Error::msg(format!(
            "remove operation does not apply: doc is missing path: \"/{}\"",
            toks.join("/")
        ))
    };
    let p = get_mut(doc, parent).ok_or_else(missing)?;
    match p {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing())?;
            if i >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// Applies a list of operations.
pub fn apply(doc: &mut Value, ops: &Value) -> Result<(), Error> {
    let ops = ops
        .as_array()
        .ok_or_else(|| Error::msg("a JSON patch must be a list of operations"))?;
    for op in ops {
        let o = op
            .as_object()
            .ok_or_else(|| Error::msg(format!("invalid JSON patch operation: {op}")))?;
        let name = o.get("op").and_then(|v| v.as_str()).unwrap_or("");
        let path = o
            .get("path")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::msg(format!("operation has no path: {op}")))?;
        let toks = split(path)?;
        match name {
            "add" => {
                let v = o.get("value").cloned().unwrap_or(Value::Null);
                add(doc, &toks, v, false)?;
            }
            "remove" => {
                remove(doc, &toks)?;
            }
            "replace" => {
                let v = o.get("value").cloned().unwrap_or(Value::Null);
                if toks.is_empty() {
                    *doc = v;
                } else {
                    add(doc, &toks, v, true)?;
                }
            }
            "move" | "copy" => {
                let from = o
                    .get("from")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| Error::msg(format!("{name} needs from: {op}")))?;
                let ft = split(from)?;
                let v = if name == "move" {
                    remove(doc, &ft)?
                } else {
                    get(doc, &ft).cloned().ok_or_else(|| {
                        Error::msg(format!(
                            "copy operation does not apply: doc is missing from path: {from}"
                        ))
                    })?
                };
                add(doc, &toks, v, false)?;
            }
            "test" => {
                let want = o.get("value").cloned().unwrap_or(Value::Null);
                match get(doc, &toks) {
                    Some(v) if *v == want => {}
                    _ => return Err(Error::msg(format!("testing value {path} failed: test failed"))),
                }
            }
            other => return Err(Error::msg(format!("unexpected JSON patch operation: {other:?}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_ops_and_kustomize_replace() {
        let mut d = json!({"a": {"b": [1, 2]}});
        let ops = json!([
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "replace", "path": "/a/missing", "value": "x"},
            {"op": "copy", "from": "/a/missing", "path": "/c"},
            {"op": "move", "from": "/c", "path": "/d"},
            {"op": "remove", "path": "/a/b/0"},
            {"op": "test", "path": "/d", "value": "x"}
        ]);
        assert!(apply(&mut d, &ops).is_ok());
        assert_eq!(d, json!({"a": {"b": [2, 3], "missing": "x"}, "d": "x"}));
        assert!(apply(&mut d, &json!([{"op": "remove", "path": "/zz"}])).is_err());
        assert!(apply(&mut d, &json!([{"op": "add", "path": "/x/y", "value": 1}])).is_err());
        assert!(apply(&mut d, &json!([{"op": "test", "path": "/d", "value": "y"}])).is_err());
    }
}
