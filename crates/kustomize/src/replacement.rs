//! `replacements`: copy a field of one object into fields of others, by kyaml's field-path
//! rules (`a.b[name=x].c`, `*`, `create`, delimiters).

use std::path::Path;

use serde_json::{Map, Value};

use crate::Error;
use crate::build::Ctx;
use crate::resource::Resource;
use crate::selector::Selector;

impl Ctx<'_> {
    /// Runs a `replacements:` entry (inline, or a file of replacements).
    pub(crate) fn replacement(
        &self,
        dir: &Path,
        kfile: &str,
        rep: &Value,
        res: &mut [Resource],
    ) -> Result<(), Error> {
        let reps: Vec<Value> = if let Some(path) = rep.get("path").and_then(|p| p.as_str()) {
            let b = self.read_file(dir, path)?;
            let docs = tack_yaml::parse_documents(&crate::source_text::utf8_text(&b), path)?;
            let mut out = Vec::new();
            for d in docs {
                match d.value {
                    Value::Array(a) => out.extend(a),
                    Value::Null => {}
                    other => out.push(other),
                }
            }
            out
        } else {
            vec![rep.clone()]
        };
        for r in &reps {
            replace_one(r, res).map_err(|e| Error::msg(format!("{kfile}: replacements: {e}")))?;
        }
        Ok(())
    }
}

/// Runs one replacement.
fn replace_one(rep: &Value, res: &mut [Resource]) -> Result<(), Error> {
    let value = source_value(rep, res)?;
    let targets = rep
        .get("targets")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    for t in &targets {
        replace_in_target(t, &value, res)?;
    }
    Ok(())
}

/// The value a replacement copies: its source object's field (part of it with a delimiter).
fn source_value(rep: &Value, res: &[Resource]) -> Result<Value, Error> {
    let src = rep
        .get("source")
        .ok_or_else(|| Error::msg("replacement has no source"))?;
    let s = |k: &str| src.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let mut sel = Map::new();
    for k in ["group", "version", "kind", "name", "namespace"] {
        let v = s(k);
        if !v.is_empty() {
            sel.insert(k.into(), Value::String(regex::escape(&v)));
        }
    }
    let field_path = {
        let f = s("fieldPath");
        if f.is_empty() {
            "metadata.name".to_string()
        } else {
            f
        }
    };
    let selector = Selector::from_map(&sel)?;
    let found: Vec<&Resource> = res.iter().filter(|r| selector.matches(r)).collect();
    if found.len() != 1 {
        return Err(Error::msg(format!(
            "expected a single resource matching the source {src}, found {}",
            found.len()
        )));
    }
    let source_obj = Value::Object(found[0].obj.clone());
    let mut value = get_field(&source_obj, &field_path).ok_or_else(|| {
        Error::msg(format!(
            "fieldPath `{field_path}` is missing for replacement source {src}"
        ))
    })?;
    if let Some(opts) = src.get("options")
        && let (Some(delim), Value::String(sv)) = (opts.get("delimiter").and_then(|d| d.as_str()), &value)
    {
        let idx = opts.get("index").and_then(|i| i.as_i64()).unwrap_or(0);
        let parts: Vec<&str> = sv.split(delim).collect();
        if idx < 0 || idx as usize >= parts.len() {
            return Err(Error::msg(format!(
                "options.index {idx} is out of bounds for value {sv}"
            )));
        }
        value = Value::String(parts[idx as usize].to_string());
    }
    Ok(value)
}

/// Writes the value into the fields of every object one replacement target selects.
fn replace_in_target(t: &Value, value: &Value, res: &mut [Resource]) -> Result<(), Error> {
    let select = t
        .get("select")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default();
    let mut sel = Map::new();
    for (k, v) in &select {
        if let Value::String(sv) = v {
            let v = if k == "labelSelector" || k == "annotationSelector" {
                sv.clone()
            } else {
                regex::escape(sv)
            };
            sel.insert(k.clone(), Value::String(v));
        }
    }
    let selector = Selector::from_map(&sel)?;
    let rejects: Vec<Selector> = t
        .get("reject")
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_object())
                .map(|m| {
                    let mut mm = Map::new();
                    for (k, v) in m {
                        if let Value::String(sv) = v {
                            mm.insert(k.clone(), Value::String(regex::escape(sv)));
                        }
                    }
                    Selector::from_map(&mm)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let paths: Vec<String> = t
        .get("fieldPaths")
        .and_then(|x| x.as_array())
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let topts = t.get("options");
    let create = topts
        .and_then(|o| o.get("create"))
        .and_then(|c| c.as_bool())
        .unwrap_or(false);
    for r in res.iter_mut() {
        if !selector.matches(r) || rejects.iter().any(|rj| rj.matches(r)) {
            continue;
        }
        let before = (!r.links.is_empty()).then(|| r.obj.clone());
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let mut err = None;
        for fp in &paths {
            let mut v = value.clone();
            if let Some(o) = topts
                && let Some(delim) = o.get("delimiter").and_then(|d| d.as_str())
            {
                let idx = o.get("index").and_then(|i| i.as_i64()).unwrap_or(0);
                let cur = get_field(&obj, fp)
                    .and_then(|c| c.as_str().map(str::to_string))
                    .unwrap_or_default();
                let mut parts: Vec<String> = cur.split(delim).map(str::to_string).collect();
                let vs = match &v {
                    Value::String(s) => s.clone(),
                    other => tack_yaml::to_yaml(other).trim_end().to_string(),
                };
                if idx < 0 {
                    parts.insert(0, vs);
                } else if idx as usize >= parts.len() {
                    parts.push(vs);
                } else {
                    parts[idx as usize] = vs;
                }
                v = Value::String(parts.join(delim));
            }
            if let Err(e) = set_field(&mut obj, fp, v, create) {
                err = Some(e);
                break;
            }
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
        if let Some(e) = err {
            return Err(e);
        }
        if let Some(before) = before {
            r.sync_links(&before);
        }
    }
    Ok(())
}

fn split_field_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in p.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth -= 1;
                cur.push(c)
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    // `ports[0]` → `ports`, `[0]`
    let mut norm = Vec::new();
    for seg in out {
        match seg.find('[') {
            Some(i) if i > 0 && seg.ends_with(']') => {
                norm.push(seg[..i].to_string());
                norm.push(seg[i..].to_string());
            }
            _ => norm.push(seg),
        }
    }
    norm
}

fn seg_match<'a>(node: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        if let Ok(i) = inner.parse::<usize>() {
            return node.as_array()?.get(i);
        }
        let (k, v) = inner.split_once('=')?;
        return node
            .as_array()?
            .iter()
            .find(|e| e.get(k).is_some_and(|x| scalar_str(x) == v));
    }
    match node {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn scalar_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn get_field(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj;
    for seg in split_field_path(path) {
        cur = seg_match(cur, &seg)?;
    }
    Some(cur.clone())
}

/// Replaces a target value the way kyaml does: a scalar keeps the target's type, only the text
/// is copied.
fn assign(cur: &mut Value, v: Value) {
    let scalar = |x: &Value| matches!(x, Value::String(_) | Value::Number(_) | Value::Bool(_));
    if scalar(cur) && scalar(&v) {
        let text = match &v {
            Value::String(s) => s.clone(),
            Value::Number(n) => tack_yaml::number_text(n),
            other => other.to_string(),
        };
        *cur = if cur.is_string() {
            Value::String(text)
        } else {
            tack_yaml::resolve_plain(&text)
        };
    } else {
        *cur = v;
    }
}

fn get_mut_segs<'a>(node: &'a mut Value, segs: &[String]) -> Option<&'a mut Value> {
    let mut cur = node;
    for seg in segs {
        if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let Value::Array(a) = cur else { return None };
            cur = match inner.split_once('=') {
                Some((k, val)) => a
                    .iter_mut()
                    .find(|e| e.get(k).is_some_and(|x| scalar_str(x) == val))?,
                None => a.get_mut(inner.parse::<usize>().ok()?)?,
            };
            continue;
        }
        cur = match cur {
            Value::Object(m) => m.get_mut(seg.as_str())?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn set_field(obj: &mut Value, path: &str, v: Value, create: bool) -> Result<(), Error> {
    let segs = split_field_path(path);
    if let Some(star) = segs.iter().position(|s| s == "*") {
        let rest = segs[star + 1..].join(".");
        let node = get_mut_segs(obj, &segs[..star])
            .ok_or_else(|| Error::msg(format!("unable to find field \"{path}\" in replacement target")))?;
        match node {
            Value::Array(items) => {
                for it in items {
                    set_field(it, &rest, v.clone(), create)?;
                }
            }
            Value::Object(m) => {
                for (_, it) in m.iter_mut() {
                    set_field(it, &rest, v.clone(), create)?;
                }
            }
            _ => {}
        }
        return Ok(());
    }
    let mut cur = obj;
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (k, val) = inner
                .split_once('=')
                .ok_or_else(|| Error::msg(format!("invalid path segment {seg}")))?;
            if cur.is_null() && create {
                *cur = Value::Array(Vec::new());
            }
            let Value::Array(a) = cur else {
                return Err(Error::msg(format!("unable to find field {path}")));
            };
            let pos = a
                .iter()
                .position(|e| e.get(k).is_some_and(|x| scalar_str(x) == val));
            let pos = match pos {
                Some(p) => p,
                None if create => {
                    let mut m = Map::new();
                    m.insert(k.to_string(), Value::String(val.to_string()));
                    a.push(Value::Object(m));
                    a.len() - 1
                }
                None => {
                    return Err(Error::msg(format!(
                        "unable to find field {path} in replacement target"
                    )));
                }
            };
            cur = &mut a[pos];
            if last {
                assign(cur, v);
                return Ok(());
            }
            continue;
        }
        match cur {
            Value::Object(m) => {
                if !m.contains_key(seg.as_str()) {
                    if !create {
                        return Err(Error::msg(format!(
                            "unable to find field \"{path}\" in replacement target"
                        )));
                    }
                    let next_is_list = segs
                        .get(i + 1)
                        .is_some_and(|n| n.starts_with('[') || n.parse::<usize>().is_ok());
                    let fresh = if last {
                        Value::Null
                    } else if next_is_list {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                    m.insert(seg.clone(), fresh);
                }
                let Some(next) = m.get_mut(seg.as_str()) else {
                    return Ok(());
                };
                cur = next;
                if last {
                    assign(cur, v);
                    return Ok(());
                }
                if cur.is_null() && create {
                    *cur = Value::Object(Map::new());
                }
            }
            Value::Array(a) => {
                let idx: usize = seg
                    .parse()
                    .map_err(|_| Error::msg(format!("unable to find field {path}")))?;
                let Some(next) = a.get_mut(idx) else {
                    return Err(Error::msg(format!("unable to find field {path}")));
                };
                cur = next;
                if last {
                    assign(cur, v);
                    return Ok(());
                }
            }
            _ => return Err(Error::msg(format!("unable to find field {path}"))),
        }
    }
    Ok(())
}
