//! Patch and replacement target selectors: anchored regular expressions on group, version,
//! kind, name and namespace, plus label and annotation selectors.

use regex::Regex;
use serde_json::{Map, Value};

use crate::Error;
use crate::resource::Resource;

/// A compiled selector.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Req>,
    annotations: Vec<Req>,
}

#[derive(Debug, Clone)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn anchored(s: &str) -> Result<Option<Regex>, Error> {
    if s.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{s})$"))
        .map(Some)
        .map_err(|e| Error::msg(format!("invalid selector regex {s:?}: {e}")))
}

/// Parses a Kubernetes label selector (`a=b,c!=d,e in (x,y),!f,g`).
fn parse_label_selector(s: &str) -> Result<Vec<Req>, Error> {
    let mut reqs = Vec::new();
    // split on commas not inside parentheses
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if let Some(k) = p.strip_prefix('!') {
            reqs.push(Req::NotExists(k.trim().to_string()));
        } else if let Some((k, v)) = p.split_once("!=") {
            reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==") {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once('=') {
            reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
        } else if let Some(i) = p.find(" notin ") {
            reqs.push(Req::NotIn(p[..i].trim().into(), set(&p[i + 7..])?));
        } else if let Some(i) = p.find(" in ") {
            reqs.push(Req::In(p[..i].trim().into(), set(&p[i + 4..])?));
        } else {
            reqs.push(Req::Exists(p.to_string()));
        }
    }
    Ok(reqs)
}

fn set(s: &str) -> Result<Vec<String>, Error> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| Error::msg(format!("invalid label selector set {s:?}")))?;
    Ok(inner
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect())
}

fn val_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn reqs_match(reqs: &[Req], m: Option<&Map<String, Value>>) -> bool {
    if reqs.is_empty() {
        return true;
    }
    let empty = Map::new();
    let m = m.unwrap_or(&empty);
    reqs.iter().all(|r| match r {
        Req::Eq(k, v) => m.get(k).is_some_and(|x| val_str(x) == *v),
        Req::Ne(k, v) => m.get(k).is_none_or(|x| val_str(x) != *v),
        Req::In(k, vs) => m.get(k).is_some_and(|x| vs.contains(&val_str(x))),
        Req::NotIn(k, vs) => m.get(k).is_none_or(|x| !vs.contains(&val_str(x))),
        Req::Exists(k) => m.contains_key(k),
        Req::NotExists(k) => !m.contains_key(k),
    })
}

impl Selector {
    /// From a `target:`-style map.
    pub fn from_map(m: &Map<String, Value>) -> Result<Selector, Error> {
        let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        Ok(Selector {
            group: anchored(&s("group"))?,
            version: anchored(&s("version"))?,
            kind: anchored(&s("kind"))?,
            name: anchored(&s("name"))?,
            namespace: anchored(&s("namespace"))?,
            labels: parse_label_selector(&s("labelSelector"))?,
            annotations: parse_label_selector(&s("annotationSelector"))?,
        })
    }

    /// Whether the selector selects a resource (by its current or any previous identity for
    /// name and namespace, like Kustomize).
    pub fn matches(&self, r: &Resource) -> bool {
        let ok = |re: &Option<Regex>, v: &str| re.as_ref().is_none_or(|re| re.is_match(v));
        let api_version = r.str_cow(&["apiVersion"]);
        let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
        if !ok(&self.group, group) || !ok(&self.version, version) || !ok(&self.kind, &r.str_cow(&["kind"])) {
            return false;
        }
        let name_ok = self.name.is_none()
            || ok(&self.name, &r.str_cow(&["metadata", "name"]))
            || r.prev_ids.iter().any(|id| ok(&self.name, &id.name));
        let ns_ok = self.namespace.is_none()
            || ok(&self.namespace, &r.str_cow(&["metadata", "namespace"]))
            || r.prev_ids.iter().any(|id| ok(&self.namespace, &id.namespace));
        if !name_ok || !ns_ok {
            return false;
        }
        reqs_match(&self.labels, r.labels_ref()) && reqs_match(&self.annotations, r.annotations_ref())
    }
}
